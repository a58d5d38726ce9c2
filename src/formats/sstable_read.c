/* Reading a LevelDB table (TensorFlow's core/lib/io/table.cc, block.cc and
 * format.cc describe the same format): a footer at the end points to the
 * index block, whose entries point to the data blocks. Each block is
 * followed by a type byte and the masked CRC32C of the block and that byte.
 *
 * A block's entries share key prefixes: each stores how many bytes of the
 * previous key it keeps, the bytes that follow, and its value. Every 16th
 * entry (a "restart point", listed at the block's end) keeps none, so a
 * reader may start there; this reader walks blocks from the start and only
 * checks that each restart point lands on an entry that keeps nothing.
 * The metaindex block (empty in TF's tables: no filters) is checked like
 * the others, though nothing in it is used, so that no byte of the file
 * but the footer's padding goes unchecked.
 *
 * The file is untrusted: every offset and length is checked against the
 * bytes there are before it is used, and a Snappy block may claim no more
 * than Snappy's format can expand to before memory is taken for it. */
#include <snappy-c.h>
#include <stdlib.h>

#include "formats_internal.h"

/* Snappy's densest element is a 3-byte copy of 64 bytes: a block cannot
 * expand more than this many times, whatever its header claims. */
#define SNAPPY_MAX_RATIO 22u

typedef struct scan {
    const uint8_t *file;
    size_t size;
    const char *path;
    char *err;
    size_t err_size;
    tg__buf key;      /* the key being decoded (prefix-shared with the previous one) */
    tg__buf last_key; /* the previous entry's key in the table, for the order check */
    bool any;         /* an entry was seen (last_key is meaningful) */
    tg__sst_visit visit;
    void *ctx;
} scan;

#define CORRUPT(c, ...) tg__ferr((c)->err, (c)->err_size, TG_DATA_LOSS, __VA_ARGS__)

/* A block's bytes, after its trailer is checked and Snappy undone. *owned
 * is what to free afterwards (NULL when the bytes are the file's). */
static tg_code read_block(scan *c, uint64_t off, uint64_t n, const char *what, const uint8_t **data, size_t *len,
                          uint8_t **owned)
{
    *owned = NULL;
    uint64_t room = c->size - TG__SST_FOOTER_SIZE;
    if (off > room || n > room - off || TG__SST_TRAILER_SIZE > room - off - n)
        return CORRUPT(c, "%s: %s block (offset %llu, %llu bytes) lies outside the file's %zu bytes", c->path, what,
                       (unsigned long long)off, (unsigned long long)n, c->size);
    const uint8_t *b = c->file + off;
    uint32_t stored = tg__crc32c_unmask(tg__get_u32le(b + n + 1));
    uint32_t actual = tg__crc32c_extend(0, b, (size_t)n + 1);
    if (stored != actual)
        return CORRUPT(c, "%s: %s block at offset %llu: block checksum mismatch (stored %08x, computed %08x)", c->path,
                       what, (unsigned long long)off, stored, actual);
    if (b[n] == TG__SST_NO_COMPRESSION) {
        *data = b;
        *len = (size_t)n;
        return TG_OK;
    }
    if (b[n] != TG__SST_SNAPPY)
        return CORRUPT(c, "%s: %s block at offset %llu: bad block type %u", c->path, what, (unsigned long long)off,
                       b[n]);
    size_t out_len = 0;
    if (snappy_uncompressed_length((const char *)b, (size_t)n, &out_len) != SNAPPY_OK ||
        out_len / SNAPPY_MAX_RATIO > n)
        return CORRUPT(c, "%s: %s block at offset %llu: corrupted compressed block contents", c->path, what,
                       (unsigned long long)off);
    uint8_t *out = malloc(out_len ? out_len : 1);
    if (!out) return tg__ferr(c->err, c->err_size, TG_RESOURCE_EXHAUSTED, "%s: out of memory", c->path);
    size_t got = out_len;
    if (snappy_uncompress((const char *)b, (size_t)n, (char *)out, &got) != SNAPPY_OK || got != out_len) {
        free(out);
        return CORRUPT(c, "%s: %s block at offset %llu: corrupted compressed block contents", c->path, what,
                       (unsigned long long)off);
    }
    *data = *owned = out;
    *len = out_len;
    return TG_OK;
}

/* One entry at [*p, end): its key (rebuilt in c->key) and value. */
static tg_code next_entry(scan *c, const char *what, const uint8_t **p, const uint8_t *end, bool *shares,
                          const uint8_t **value, size_t *value_len)
{
    uint64_t shared, unshared, vlen;
    const uint8_t *q = *p;
    if (!tg__get_varint(&q, end, 32, &shared) || !tg__get_varint(&q, end, 32, &unshared) ||
        !tg__get_varint(&q, end, 32, &vlen) || shared > c->key.len || unshared > (uint64_t)(end - q) ||
        vlen > (uint64_t)(end - q) - unshared)
        return CORRUPT(c, "%s: %s block: bad entry in block", c->path, what);
    c->key.len = (size_t)shared;
    tg__buf_append(&c->key, q, (size_t)unshared);
    if (c->key.oom) return tg__ferr(c->err, c->err_size, TG_RESOURCE_EXHAUSTED, "%s: out of memory", c->path);
    *shares = shared > 0;
    *value = q + unshared;
    *value_len = (size_t)vlen;
    *p = q + unshared + vlen;
    return TG_OK;
}

typedef tg_code (*entry_fn)(scan *c, const uint8_t *value, size_t value_len);

/* Walks the entries of one block's contents, calling fn for each. */
static tg_code walk_block(scan *c, const char *what, const uint8_t *b, size_t n, entry_fn fn)
{
    if (n < 4) return CORRUPT(c, "%s: %s block: bad block contents (%zu bytes)", c->path, what, n);
    uint32_t nrestarts = tg__get_u32le(b + n - 4);
    if (nrestarts > (n - 4) / 4) return CORRUPT(c, "%s: %s block: bad block contents (restart count)", c->path, what);
    size_t limit = n - 4 - 4 * (size_t)nrestarts;
    const uint8_t *restarts = b + limit, *p = b, *end = b + limit;
    uint32_t ri = 0;
    c->key.len = 0;
    while (p < end) {
        size_t at = (size_t)(p - b);
        bool is_restart = ri < nrestarts && tg__get_u32le(restarts + 4 * ri) == at;
        if (ri < nrestarts && !is_restart && tg__get_u32le(restarts + 4 * ri) < at) break;
        const uint8_t *value = NULL;
        size_t value_len = 0;
        bool shares = false;
        tg_code code = next_entry(c, what, &p, end, &shares, &value, &value_len);
        if (code != TG_OK) return code;
        if (is_restart && shares) break;
        ri += is_restart;
        if ((code = fn(c, value, value_len)) != TG_OK) return code;
    }
    /* An empty block keeps one restart point, at 0. */
    bool empty_ok = limit == 0 && (nrestarts == 0 || (nrestarts == 1 && tg__get_u32le(restarts) == 0));
    if (p != end || (ri != nrestarts && !empty_ok))
        return CORRUPT(c, "%s: %s block: bad restart points", c->path, what);
    return TG_OK;
}

static tg_code meta_entry(scan *c, const uint8_t *value, size_t value_len)
{
    (void)c, (void)value, (void)value_len;
    return TG_OK;
}

static tg_code data_entry(scan *c, const uint8_t *value, size_t value_len)
{
    if (c->any && tg__bytes_cmp(c->key.data, c->key.len, c->last_key.data, c->last_key.len) <= 0)
        return CORRUPT(c, "%s: keys out of order", c->path);
    c->any = true;
    c->last_key.len = 0;
    tg__buf_append(&c->last_key, c->key.data, c->key.len);
    if (c->last_key.oom) return tg__ferr(c->err, c->err_size, TG_RESOURCE_EXHAUSTED, "%s: out of memory", c->path);
    return c->visit(c->ctx, c->key.data ? c->key.data : (const uint8_t *)"", c->key.len, value, value_len);
}

static bool get_handle(const uint8_t **p, const uint8_t *end, uint64_t *off, uint64_t *n)
{
    return tg__get_varint(p, end, 64, off) && tg__get_varint(p, end, 64, n);
}

/* An index entry: its value is the handle of a data block, walked now. The
 * index block's own key is saved and restored around it (blocks share the
 * key buffer). */
static tg_code index_entry(scan *c, const uint8_t *value, size_t value_len)
{
    uint64_t off, n;
    const uint8_t *p = value, *end = value + value_len;
    if (!get_handle(&p, end, &off, &n) || p != end) return CORRUPT(c, "%s: bad block handle in the index", c->path);
    const uint8_t *data;
    size_t len;
    uint8_t *owned;
    tg_code code = read_block(c, off, n, "data", &data, &len, &owned);
    if (code != TG_OK) return code;
    tg__buf saved = c->key;
    c->key = (tg__buf){0};
    code = walk_block(c, "data", data, len, data_entry);
    tg__buf_free(&c->key);
    c->key = saved;
    free(owned);
    return code;
}

tg_code tg__sst_scan(const uint8_t *file, size_t size, const char *path, tg__sst_visit visit, void *ctx,
                     char *err, size_t err_size)
{
    scan c = {.file = file, .size = size, .path = path, .err = err, .err_size = err_size, .visit = visit, .ctx = ctx};
    if (size < TG__SST_FOOTER_SIZE)
        return CORRUPT(&c, "%s: file is too short (%zu bytes) to be an sstable", path, size);
    const uint8_t *footer = file + size - TG__SST_FOOTER_SIZE, *p = footer;
    if (tg__get_u64le(footer + TG__SST_FOOTER_SIZE - 8) != TG__SST_MAGIC)
        return CORRUPT(&c, "%s: not an sstable (bad magic number)", path);
    uint64_t meta_off, meta_n, index_off, index_n;
    const uint8_t *handles_end = footer + TG__SST_FOOTER_SIZE - 8;
    if (!get_handle(&p, handles_end, &meta_off, &meta_n) || !get_handle(&p, handles_end, &index_off, &index_n))
        return CORRUPT(&c, "%s: bad block handle in the footer", path);
    const uint8_t *data;
    size_t len;
    uint8_t *owned;
    tg_code code = read_block(&c, meta_off, meta_n, "metaindex", &data, &len, &owned);
    if (code == TG_OK) code = walk_block(&c, "metaindex", data, len, meta_entry);
    free(owned);
    owned = NULL;
    if (code == TG_OK) code = read_block(&c, index_off, index_n, "index", &data, &len, &owned);
    if (code == TG_OK) code = walk_block(&c, "index", data, len, index_entry);
    free(owned);
    tg__buf_free(&c.key);
    tg__buf_free(&c.last_key);
    return code;
}
