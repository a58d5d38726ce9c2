/* Building a LevelDB table in memory the way TensorFlow's
 * table::TableBuilder does (core/lib/io/table_builder.cc), so that the index
 * of a bundle written here is byte for byte what TF writes for the same
 * entries: the same block boundaries, restart points, index keys
 * (shortened separators), empty metaindex block and footer. */
#include <string.h>

#include "formats_internal.h"

/* TF's table::Options defaults (core/lib/io/table_options.h). */
#define BLOCK_SIZE 262144u
#define RESTART_INTERVAL 16
/* An entry this many times the block size gets a block of its own. */
#define OVERLY_LARGE_RATIO 2u
/* A block handle is two varint64s, at most 10 bytes each. */
#define MAX_HANDLE 20u

/* The bytes a block would take if finished now (TF's CurrentSizeEstimate). */
static size_t block_estimate(const tg__sst_builder *b) { return b->block.len + b->restarts.len + 4; }

/* One entry into a block: the key's bytes shared with the previous key of
 * the block (none at a restart point), then the rest, then the value. */
static void block_add(tg__buf *block, tg__buf *restarts, int *since_restart, int interval, const tg__buf *prev,
                      const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    size_t shared = 0;
    if (restarts->len == 0 || *since_restart >= interval) {
        tg__buf_put_u32le(restarts, (uint32_t)block->len);
        *since_restart = 0;
    } else {
        size_t n = prev->len < key_len ? prev->len : key_len;
        while (shared < n && prev->data[shared] == key[shared]) shared++;
    }
    tg__buf_put_varint(block, shared);
    tg__buf_put_varint(block, key_len - shared);
    tg__buf_put_varint(block, value_len);
    tg__buf_append(block, key + shared, key_len - shared);
    tg__buf_append(block, value, value_len);
    (*since_restart)++;
}

/* Appends the finished block (entries, restart offsets, their count) and its
 * trailer (type byte, masked CRC32C of block and type) to the table, then
 * empties entries and restarts. *off and *size locate it, for a handle. */
static void write_block(tg__sst_builder *b, tg__buf *entries, tg__buf *restarts, uint64_t *off, uint64_t *size)
{
    if (restarts->len == 0) tg__buf_put_u32le(restarts, 0); /* an empty block still has one restart point */
    if (entries->oom || restarts->oom) b->out.oom = true;
    size_t start = b->out.len;
    tg__buf_append(&b->out, entries->data, entries->len);
    tg__buf_append(&b->out, restarts->data, restarts->len);
    tg__buf_put_u32le(&b->out, (uint32_t)(restarts->len / 4));
    if (b->out.oom) return;
    *off = start;
    *size = b->out.len - start;
    uint8_t trailer[TG__SST_TRAILER_SIZE] = {TG__SST_NO_COMPRESSION};
    uint32_t crc = tg__crc32c_extend(0, b->out.data + start, (size_t)*size);
    tg__put_u32le(trailer + 1, tg__crc32c_mask(tg__crc32c_extend(crc, trailer, 1)));
    tg__buf_append(&b->out, trailer, sizeof trailer);
    entries->len = restarts->len = 0;
}

/* The shortest key k with start <= k < limit when start's first differing
 * byte can be raised by one and stay below limit's (TF's
 * FindShortestSeparator): a shorter index key, same lookups. */
static void shortest_separator(tg__buf *start, const uint8_t *limit, size_t limit_len)
{
    size_t n = start->len < limit_len ? start->len : limit_len, i = 0;
    while (i < n && start->data[i] == limit[i]) i++;
    if (i >= n) return; /* one is a prefix of the other */
    uint8_t d = start->data[i];
    if (d < 0xff && d + 1 < limit[i]) {
        start->data[i]++;
        start->len = i + 1;
    }
}

/* The shortest key >= key (TF's FindShortSuccessor): the first byte that is
 * not 0xff, raised by one, ends it. */
static void short_successor(tg__buf *key)
{
    for (size_t i = 0; i < key->len; i++)
        if (key->data[i] != 0xff) {
            key->data[i]++;
            key->len = i + 1;
            return;
        }
}

/* The index entry of the block written last: its key lies between that
 * block's last key and the next block's first. */
static void add_index_entry(tg__sst_builder *b)
{
    tg__buf handle = {0};
    tg__buf_put_varint(&handle, b->pending_offset);
    tg__buf_put_varint(&handle, b->pending_size);
    /* Restart interval 1 (TF's index_block_options): every index entry is a
     * restart point and keeps its key whole, so the count is always full. */
    int since = 1;
    tg__buf none = {0};
    block_add(&b->index, &b->index_restarts, &since, 1, &none, b->last_key.data, b->last_key.len, handle.data,
              handle.len);
    if (handle.oom) b->out.oom = true;
    tg__buf_free(&handle);
    b->pending_index = false;
}

static void flush(tg__sst_builder *b)
{
    if (b->block.len == 0) return;
    write_block(b, &b->block, &b->restarts, &b->pending_offset, &b->pending_size);
    b->pending_index = true;
}

void tg__sst_add(tg__sst_builder *b, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    if (b->entries > 0 && key_len + value_len >= OVERLY_LARGE_RATIO * BLOCK_SIZE) flush(b);
    if (b->pending_index) {
        shortest_separator(&b->last_key, key, key_len);
        add_index_entry(b);
    }
    block_add(&b->block, &b->restarts, &b->since_restart, RESTART_INTERVAL, &b->last_key, key, key_len, value,
              value_len);
    b->last_key.len = 0;
    tg__buf_append(&b->last_key, key, key_len);
    if (b->last_key.oom) b->out.oom = true;
    b->entries++;
    if (block_estimate(b) >= BLOCK_SIZE) flush(b);
}

tg_code tg__sst_finish(tg__sst_builder *b, char *err, size_t err_size)
{
    flush(b);
    uint64_t meta_off = 0, meta_size = 0, index_off = 0, index_size = 0;
    tg__buf empty = {0}, empty_restarts = {0};
    write_block(b, &empty, &empty_restarts, &meta_off, &meta_size);
    tg__buf_free(&empty_restarts);
    if (b->pending_index) {
        short_successor(&b->last_key);
        add_index_entry(b);
    }
    write_block(b, &b->index, &b->index_restarts, &index_off, &index_size);
    tg__buf footer = {0};
    tg__buf_put_varint(&footer, meta_off);
    tg__buf_put_varint(&footer, meta_size);
    tg__buf_put_varint(&footer, index_off);
    tg__buf_put_varint(&footer, index_size);
    static const uint8_t zeros[2 * MAX_HANDLE] = {0};
    if (!footer.oom) tg__buf_append(&footer, zeros, 2 * MAX_HANDLE - footer.len);
    uint8_t magic[8];
    tg__put_u64le(magic, TG__SST_MAGIC);
    tg__buf_append(&footer, magic, sizeof magic);
    if (footer.oom) b->out.oom = true;
    tg__buf_append(&b->out, footer.data, footer.len);
    tg__buf_free(&footer);
    if (b->out.oom) return tg__ferr(err, err_size, TG_RESOURCE_EXHAUSTED, "out of memory building the index");
    return TG_OK;
}

void tg__sst_builder_free(tg__sst_builder *b)
{
    tg__buf_free(&b->out);
    tg__buf_free(&b->block);
    tg__buf_free(&b->restarts);
    tg__buf_free(&b->index);
    tg__buf_free(&b->index_restarts);
    tg__buf_free(&b->last_key);
    *b = (tg__sst_builder){0};
}
