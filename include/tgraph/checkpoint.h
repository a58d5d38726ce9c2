/* tgraph/checkpoint.h: TensorFlow's own checkpoints, the "tensor bundle V2"
 * format that tf.train.Saver writes (TF 1.x, write_version=V2, the
 * default): for a prefix P (the path given to saver.save, "model.ckpt-100"),
 *
 *   P.index                 a LevelDB table (SSTable): key "" holds a
 *                           BundleHeaderProto (shard count, byte order,
 *                           format version), every other key a tensor's
 *                           name and its BundleEntryProto (dtype, shape,
 *                           shard, offset, size, masked CRC32C of the bytes);
 *   P.data-00000-of-00001   the tensors' raw bytes, back to back (one file
 *                           per shard: P.data-0000i-of-0000n).
 *
 * docs/tf-mapping.md lists the TF functions these stand for. tgraph's own
 * Saver format is another one (tgraph/saver.h, docs/checkpoint-format.md).
 *
 * Errors: every call returns a tg_code and writes the message into the
 * caller's err buffer (truncated to err_size; err may be NULL). A message
 * names the file ("P.index", "P.data-00000-of-00001") and, where one is at
 * fault, the entry ("entry 'dense/kernel'"). Codes: NOT_FOUND for a missing
 * file or name; DATA_LOSS for a corrupt or truncated file (a checksum
 * mismatch, an entry outside its data file, a bad SSTable block); INVALID_ARGUMENT
 * for bad arguments and format versions TF would refuse; UNIMPLEMENTED for
 * what the format allows but tgraph does not read (partitioned variables,
 * string tensors as values); RESOURCE_EXHAUSTED when out of memory; a code
 * from errno otherwise, with strerror's text.
 *
 * Files are untrusted: only regular files are read (a FIFO is refused
 * without blocking), the index is read whole only when it is at most
 * TG_CHECKPOINT_MAX_INDEX_BYTES, every length, offset and count in it is
 * checked against the bytes there are before it sizes an allocation, and
 * every entry is checked against its data file's size when the reader
 * opens, so a read allocates no more than the entry's bytes, which exist.
 *
 * Threads: a reader is not changed by reads, so several threads may read
 * from one reader at once; open and free are not concurrent with reads. */
#ifndef TGRAPH_CHECKPOINT_H
#define TGRAPH_CHECKPOINT_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest index file read (1 GiB): an index of a million variables
 * takes about 60 MB. A bigger file is refused (RESOURCE_EXHAUSTED) before
 * it is read. */
#define TG_CHECKPOINT_MAX_INDEX_BYTES ((uint64_t)1 << 30)
/* The most data files (shards) a header may declare. */
#define TG_CHECKPOINT_MAX_SHARDS 65536

/* One tensor of a checkpoint, as listed. */
typedef struct tg_checkpoint_var {
    const char *name;       /* the key: the variable's name, "dense/kernel" */
    int tf_dtype;           /* TF's DataType number (types.proto): 1 DT_FLOAT, 2 DT_DOUBLE, 3 DT_INT32,
                             * 7 DT_STRING, 9 DT_INT64, 10 DT_BOOL, ... up to 23 DT_UINT64 */
    const char *dtype_name; /* tf.DType.name: "float32", "float64", "int32", "string", "bfloat16", ... */
    bool loadable;          /* dtype is one of tgraph's and rank <= TG_MAX_RANK: tg_checkpoint_reader_load works */
    tg_dtype dtype;         /* tgraph's dtype when loadable, else TG_DTYPE_COUNT */
    int rank;               /* 0 for a scalar; up to 254 (TF's limit) */
    const int64_t *dims;    /* rank dimensions, each >= 0; NULL for a scalar */
    uint64_t nbytes;        /* the value's bytes in its data file */
} tg_checkpoint_var;

typedef struct tg_checkpoint_reader tg_checkpoint_reader;

/* Whether prefix names a V2 checkpoint: "<prefix>.index" exists and is a
 * regular file (TF's CheckpointReader makes the same test to choose the V2
 * reader). Nothing is read or validated. Errors: false for NULL. */
TG_API bool tg_checkpoint_is_v2(const char *prefix);

/* Opens the checkpoint at prefix and validates all of it but the tensor
 * bytes: the whole index (every block's CRC32C, every entry), the header
 * (shard count, byte order, TF's version rules), every entry (a known
 * dtype, a valid shape, a byte count that matches dtype and shape, a shard
 * that exists, offset + size within that data file). Data files are opened
 * (and kept open) for the shards that entries use. Big-endian checkpoints
 * are read too: values are swapped to this machine's order on reading.
 * Ownership: on success *out is a new reader the caller frees with
 * tg_checkpoint_reader_free; on failure *out is NULL.
 * Errors: INVALID_ARGUMENT (NULL or empty prefix, NULL out; a version TF
 * refuses: "Checkpoint min consumer version 2 above current version 1");
 * NOT_FOUND ("<prefix>.index" or a data file an entry uses is missing);
 * INVALID_ARGUMENT for a path that is not a regular file; DATA_LOSS (a
 * corrupt index, a missing or unparseable header or entry, an invalid
 * dtype, shape or size, an entry past the end of its data file);
 * UNIMPLEMENTED (a partitioned variable: an entry with slices);
 * RESOURCE_EXHAUSTED (an index over TG_CHECKPOINT_MAX_INDEX_BYTES, out of
 * memory); errno's code for other open or read failures. */
TG_API tg_code tg_checkpoint_reader_open(const char *prefix, tg_checkpoint_reader **out, char *err, size_t err_size);

/* The number of tensors (the header entry is not one); 0 for NULL. */
TG_API int tg_checkpoint_reader_count(const tg_checkpoint_reader *r);

/* All tensors, sorted by name bytewise (the index's order, and the order of
 * tf.train.list_variables). Ownership: borrowed from r, valid until
 * tg_checkpoint_reader_free. Errors: NULL for NULL (or no tensors). */
TG_API const tg_checkpoint_var *tg_checkpoint_reader_vars(const tg_checkpoint_reader *r);

/* The tensor called name, or NULL when there is none (or for NULL).
 * O(log n). Ownership: borrowed from r, as tg_checkpoint_reader_vars. */
TG_API const tg_checkpoint_var *tg_checkpoint_reader_find(const tg_checkpoint_reader *r, const char *name);

/* Reads the bytes of tensor name into buf[0..nbytes), which must be its
 * nbytes exactly (row-major, this machine's byte order), and checks them
 * against the entry's CRC32C. Works for every fixed-size dtype, tgraph's or
 * not (bfloat16, uint8, complex64, ...).
 * Ownership: buf is the caller's; nothing is kept.
 * Errors: INVALID_ARGUMENT (a NULL argument, nbytes not the tensor's size);
 * NOT_FOUND ("Key w not found in checkpoint <prefix>"); UNIMPLEMENTED (a
 * string, resource or variant tensor); DATA_LOSS (checksum mismatch, a data
 * file shorter than when the reader opened, a bool byte not 0 or 1); errno's
 * code for a read failure. On error buf's content is unspecified. */
TG_API tg_code tg_checkpoint_reader_read(const tg_checkpoint_reader *r, const char *name, void *buf, size_t nbytes,
                                         char *err, size_t err_size);

/* tf.train.load_variable on an open reader: tensor name as a new tg_array
 * of its dtype and shape.
 * Ownership: on success *out is the caller's (tg_array_free); on failure
 * *out is NULL.
 * Errors: as tg_checkpoint_reader_read, and UNIMPLEMENTED for a tensor that
 * is not loadable (a dtype tgraph lacks, rank over TG_MAX_RANK). */
TG_API tg_code tg_checkpoint_reader_load(const tg_checkpoint_reader *r, const char *name, tg_array **out, char *err,
                                         size_t err_size);

/* Closes the data files and frees the reader and its lists. NULL is ignored. */
TG_API void tg_checkpoint_reader_free(tg_checkpoint_reader *r);

/* tf.train.list_variables(prefix): every tensor of the checkpoint with its
 * dtype and shape, sorted by name, after the validation of
 * tg_checkpoint_reader_open (a corrupt checkpoint lists nothing).
 * Ownership: on success *vars is one allocation holding the entries, their
 * names and dimensions, freed with tg_free(*vars) (NULL when there are no
 * tensors); on failure *vars is NULL and *n 0.
 * Errors: those of tg_checkpoint_reader_open; INVALID_ARGUMENT for NULL vars
 * or n. */
TG_API tg_code tg_train_list_variables(const char *prefix, tg_checkpoint_var **vars, int *n, char *err,
                                       size_t err_size);

/* tf.train.load_variable(prefix, name): opens, loads one tensor, closes.
 * Ownership and errors: those of tg_checkpoint_reader_open and
 * tg_checkpoint_reader_load. */
TG_API tg_code tg_train_load_variable(const char *prefix, const char *name, tg_array **out, char *err,
                                      size_t err_size);

/* Writes values[i] under names[i], i < n, as the V2 checkpoint that
 * tf.train.Saver writes for those tensors: "<prefix>.data-00000-of-00001"
 * with the values in name order, then "<prefix>.index" with the header
 * entry (one shard, this machine's byte order, version producer 1) and one
 * entry per name in bytewise order with its CRC32C, uncompressed as TF
 * writes it. For the same tensors the files are byte for byte TF's.
 * Each file is written to "<file>.tempstate<pid>" (".<k>" added if that
 * exists), fsync'ed and renamed over the file, data first: a failure
 * leaves no temporary file and the old files as they were, unless it
 * happens between the two renames (then the old index and the new data
 * disagree, which a reader reports as DATA_LOSS). The prefix's directory
 * must exist. n == 0 writes a checkpoint with the header alone.
 * Ownership: nothing is kept; names and values are only read.
 * Errors: INVALID_ARGUMENT (NULL or empty prefix, n < 0, names or values NULL
 * with n > 0, a NULL or empty name ("" is the header's key), a NULL value,
 * a name given twice: "Adding duplicate key: w"); RESOURCE_EXHAUSTED (out of
 * memory, disk full); errno's code for a failure to write, with strerror's
 * text and the path (NOT_FOUND for a missing directory). */
TG_API tg_code tg_checkpoint_write(const char *prefix, int n, const char *const *names,
                                   const tg_array *const *values, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif
#endif
