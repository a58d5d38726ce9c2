/* formats_internal.h: what the files of src/formats share: error messages,
 * CRC32C, the SSTable (LevelDB table) reader and builder, and the order in
 * which names sort in a table.
 *
 * TensorFlow's tensor bundle index is a LevelDB table whose blocks carry a
 * masked CRC32C; the same checksum covers each tensor's bytes in the data
 * file. Nothing here knows about tensors: bundle_read.c and bundle_write.c
 * put BundleEntryProto values in the table. */
#ifndef TG_FORMATS_INTERNAL_H
#define TG_FORMATS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tgraph/base.h"

/* Writes the formatted message into err (truncated to err_size; err may be
 * NULL) and returns code, so a failure is one `return tg__ferr(...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
tg_code tg__ferr(char *err, size_t err_size, tg_code code, const char *fmt, ...);

/* ---- CRC32C (Castagnoli), as LevelDB and TensorFlow use it ---------------- */

/* The CRC32C of data[0..n) continuing from crc (0 to start). */
uint32_t tg__crc32c_extend(uint32_t crc, const void *data, size_t n);
/* What the files store: the CRC rotated right by 15 bits plus a constant, so
 * that a CRC computed over bytes that embed CRCs stays well distributed
 * (TF's crc32c::Mask); tg__crc32c_unmask undoes it. */
uint32_t tg__crc32c_mask(uint32_t crc);
uint32_t tg__crc32c_unmask(uint32_t masked);

/* ---- little-endian fixed-width integers and varints ------------------------ */

uint32_t tg__get_u32le(const uint8_t *p);
uint64_t tg__get_u64le(const uint8_t *p);
void tg__put_u32le(uint8_t *p, uint32_t v);
void tg__put_u64le(uint8_t *p, uint64_t v);
/* Decodes a varint of at most max_bits bits (32 or 64) from [*p, end): on
 * success advances *p and returns true; false for a varint that runs past
 * end, is longer than the type allows, or overflows it. */
bool tg__get_varint(const uint8_t **p, const uint8_t *end, unsigned max_bits, uint64_t *v);

/* ---- a growable byte buffer ------------------------------------------------ */

typedef struct tg__buf {
    uint8_t *data;
    size_t len, cap;
    bool oom; /* an append failed: the buffer keeps what it had */
} tg__buf;

void tg__buf_append(tg__buf *b, const void *data, size_t n);
void tg__buf_put_varint(tg__buf *b, uint64_t v);
void tg__buf_put_u32le(tg__buf *b, uint32_t v);
void tg__buf_free(tg__buf *b);

/* ---- SSTable reader ------------------------------------------------------- */

/* The constants of LevelDB's table format (TF's core/lib/io/format.h). */
#define TG__SST_FOOTER_SIZE 48u     /* two block handles padded to 40 bytes, then the magic */
#define TG__SST_TRAILER_SIZE 5u     /* after each block: type byte, masked CRC32C */
#define TG__SST_MAGIC 0xdb4775248b80fb57ull
#define TG__SST_NO_COMPRESSION 0
#define TG__SST_SNAPPY 1

/* Called for each entry of a table in key order. key and value point into
 * the reader's buffers and are valid during the call only. A non-OK return
 * stops the scan and is returned by tg__sst_scan (the callee has written
 * err). */
typedef tg_code (*tg__sst_visit)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value,
                                 size_t value_len);

/* Walks every entry of the table held in file[0..size) (the whole file, read
 * by the caller): the footer, the index block, each data block it points to
 * (CRC32C checked, Snappy blocks uncompressed). Keys must rise strictly
 * (bytewise) across the whole table. path names the file in messages.
 * Errors (DATA_LOSS unless said): a file shorter than the footer, a bad
 * magic, a block handle or entry outside its bounds, a checksum mismatch, an
 * unknown block type, a corrupt Snappy block, bad restart points, keys out of
 * order; RESOURCE_EXHAUSTED when out of memory; or what visit returns. */
tg_code tg__sst_scan(const uint8_t *file, size_t size, const char *path, tg__sst_visit visit, void *ctx,
                     char *err, size_t err_size);

/* ---- SSTable builder ------------------------------------------------------ */

/* Builds a table in memory exactly as TF's table::TableBuilder does with
 * TF's options (256 KiB blocks, a restart point every 16 keys, 1 in the index
 * block) and no compression, TF's choice for bundle indexes
 * (tensor_bundle.cc: readers older than TF 1.1 cannot read Snappy tables). */
typedef struct tg__sst_builder {
    tg__buf out;           /* the table so far */
    tg__buf block;         /* the data block being filled: entries */
    tg__buf restarts;      /* ... and its restart offsets (u32 LE each) */
    int since_restart;     /* entries since the last restart point */
    tg__buf index;         /* the index block's entries */
    tg__buf index_restarts;
    tg__buf last_key;
    bool pending_index;    /* a block was written; its index entry waits for the next key */
    uint64_t pending_offset, pending_size;
    int64_t entries;
} tg__sst_builder;

/* Adds key -> value; keys must rise strictly (the caller sorts them). An
 * allocation failure is remembered (tg__sst_finish reports it). */
void tg__sst_add(tg__sst_builder *b, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len);
/* Writes the last data block, the (empty) metaindex block, the index block
 * and the footer. On success the table is b->out.data[0..b->out.len) (still
 * owned by b). Errors: RESOURCE_EXHAUSTED (message in err). */
tg_code tg__sst_finish(tg__sst_builder *b, char *err, size_t err_size);
/* Frees everything b holds; b may be zeroed again and reused. */
void tg__sst_builder_free(tg__sst_builder *b);

/* ---- names in a table ---------------------------------------------------- */

/* LevelDB's bytewise comparator: memcmp, then the shorter first. */
int tg__bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

#endif
