/* bundle.h: what the tensor bundle reader (bundle_read.c, bundle_load.c)
 * and writer (bundle_write.c) share: TF's dtypes, file names, the reader's
 * insides, and opening files as untrusted input. */
#ifndef TG_FORMATS_BUNDLE_H
#define TG_FORMATS_BUNDLE_H

#include "formats_internal.h"
#include "tgraph/checkpoint.h"

/* TF's DataType numbers that tgraph has (types.proto). */
#define TG__DT_FLOAT 1
#define TG__DT_DOUBLE 2
#define TG__DT_INT32 3
#define TG__DT_STRING 7
#define TG__DT_INT64 9
#define TG__DT_BOOL 10
#define TG__DT_MAX 23 /* DT_UINT64, the last one a checkpoint can hold */

/* TensorShape::MaxDimensions(): TF refuses more. */
#define TG__TF_MAX_RANK 254

typedef struct tg__tf_dtype_info {
    const char *name; /* tf.DType.name */
    unsigned size;    /* bytes per element; 0 for string, resource, variant (variable length) */
    unsigned unit;    /* bytes swapped as one number when the byte order differs (a complex's half) */
    int tg;           /* tgraph's tg_dtype, or -1 */
} tg__tf_dtype_info;

/* The description of TF's DataType number d, or NULL for a number that is
 * not one (0, DT_INVALID, included). */
const tg__tf_dtype_info *tg__tf_dtype(int d);
/* TF's number for one of tgraph's dtypes. */
int tg__tf_dtype_of(tg_dtype d);

/* "<prefix>.index" and "<prefix>.data-%05d-of-%05d" (TF's MetaFilename and
 * DataFilename), malloc'ed; NULL when out of memory. */
char *tg__index_path(const char *prefix);
char *tg__data_path(const char *prefix, int shard, int num_shards);

/* TF's mapping of errno to a code (platform/errors.cc), and a message
 * "<what> <path>: <strerror>" with it. */
tg_code tg__errno_code(int e);
tg_code tg__errno_fail(int e, const char *what, const char *path, char *err, size_t err_size);

/* Opens path for reading, refusing (without blocking on a FIFO) anything but
 * a regular file. On success *fd is open and *size is the file's size. */
tg_code tg__open_regular(const char *path, int *fd, uint64_t *size, char *err, size_t err_size);

/* Reads n bytes at offset, retrying short reads. Returns 0 (then *got < n
 * means the file ended) or errno. */
int tg__pread_full(int fd, void *buf, size_t n, uint64_t offset, size_t *got);

/* Where a tensor's bytes are. */
typedef struct tg__bundle_loc {
    int shard;
    uint64_t offset, size;
    uint32_t crc; /* unmasked */
} tg__bundle_loc;

struct tg_checkpoint_reader {
    char *prefix;
    char *index_path;
    int n;
    tg_checkpoint_var *vars; /* one allocation: entries, then dims, then names (what list hands out) */
    tg__bundle_loc *loc;     /* loc[i] is vars[i]'s */
    int num_shards;
    int *fds;                /* per shard; -1 for shards no entry uses */
    bool swap;               /* the file's byte order is not this machine's */
};

#endif
