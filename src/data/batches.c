/* batches.c: float batches from a uint8 IDX data set, shuffled per epoch. */
#include <stdlib.h>
#include <string.h>

#include "tgraph/data.h"
#include "tgraph/session.h"

struct tg_batch_iter {
    const tg_idx_dataset *d;
    int batch_size;
    bool shuffle;
    uint64_t seed;
    tg_data_format format;
    int64_t epoch;
    int64_t pos;    /* next example in order[] */
    int64_t *order; /* this epoch's permutation */
    tg_code status;
    int shard_rank, shard_size; /* batch k of the epoch is this iterator's when k % size == rank */
    float scale[256]; /* v / 255 for every pixel value, so 255 is exactly 1 */
};

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n >= 1, without modulo bias. */
static uint64_t below(uint64_t *state, uint64_t n)
{
    uint64_t limit = (uint64_t)0 - ((uint64_t)0 - n) % n; /* a multiple of n, or 0 for 2^64 */
    for (;;) {
        uint64_t r = splitmix64(state);
        if (limit == 0 || r < limit) return r % n;
    }
}

/* This epoch's order: identity, then Fisher-Yates from (seed, epoch) only. */
static void make_order(tg_batch_iter *it)
{
    int64_t n = tg_idx_dataset_count(it->d);
    for (int64_t i = 0; i < n; i++) it->order[i] = i;
    if (it->shuffle) {
        uint64_t state = it->seed;
        uint64_t mix = splitmix64(&state) ^ ((uint64_t)it->epoch * 0xD1B54A32D192ED03ull);
        state = mix;
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)below(&state, (uint64_t)i + 1);
            int64_t t = it->order[i];
            it->order[i] = it->order[j];
            it->order[j] = t;
        }
    }
    it->pos = 0;
}

tg_batch_iter *tg_batch_iter_new(const tg_idx_dataset *d, int batch_size, bool shuffle,
                                 uint64_t seed, tg_data_format format)
{
    if (!d || batch_size < 1 || (format != TG_NHWC && format != TG_NCHW)) return NULL;
    tg_batch_iter *it = calloc(1, sizeof *it);
    if (!it) return NULL;
    int64_t n = tg_idx_dataset_count(d);
    it->order = malloc((size_t)(n > 0 ? n : 1) * sizeof *it->order);
    if (!it->order) {
        free(it);
        return NULL;
    }
    it->d = d;
    it->batch_size = batch_size;
    it->shuffle = shuffle;
    it->seed = seed;
    it->format = format;
    it->shard_size = 1;
    for (int v = 0; v < 256; v++) it->scale[v] = (float)v / 255.0f;
    make_order(it);
    return it;
}

/* a itself when it already has dtype and shape, else a new array (NULL when
 * out of memory); a is not freed here. */
static tg_array *fit(tg_array *a, tg_dtype dtype, int rank, const int64_t *dims)
{
    if (a && tg_array_dtype(a) == dtype && tg_array_rank(a) == rank) {
        bool same = true;
        for (int i = 0; i < rank; i++) same = same && tg_array_dim(a, i) == dims[i];
        if (same) return a;
    }
    return tg_array_new(dtype, rank, dims);
}

/* pos always starts a batch of the whole epoch's order (every batch but
 * the last is full), so batches are cut the same way on every shard. */
static void skip_to_own_batch(tg_batch_iter *it)
{
    int64_t n = tg_idx_dataset_count(it->d);
    if (it->pos >= n) return; /* the partial last batch left pos unaligned */
    int64_t k = it->pos / it->batch_size, size = it->shard_size;
    k += ((int64_t)it->shard_rank - k % size + size) % size;
    it->pos = k > n / it->batch_size ? n : k * it->batch_size; /* past the end: stay there */
}

tg_code tg_batch_iter_shard(tg_batch_iter *it, int rank, int size)
{
    if (!it || size < 1 || rank < 0 || rank >= size) return TG_INVALID_ARGUMENT;
    it->shard_rank = rank;
    it->shard_size = size;
    it->pos = 0;
    it->status = TG_OK;
    return TG_OK;
}

bool tg_batch_iter_next(tg_batch_iter *it, tg_array **images, tg_array **labels)
{
    if (!it) return false;
    if (!images || !labels) {
        it->status = TG_INVALID_ARGUMENT;
        return false;
    }
    it->status = TG_OK;
    int64_t n = tg_idx_dataset_count(it->d);
    skip_to_own_batch(it);
    if (it->pos >= n) return false;
    int64_t b = n - it->pos < it->batch_size ? n - it->pos : it->batch_size;
    int64_t rows = tg_idx_dataset_rows(it->d), cols = tg_idx_dataset_cols(it->d);
    int64_t idims[4] = {b, rows, cols, 1};
    if (it->format == TG_NCHW) {
        idims[1] = 1;
        idims[2] = rows;
        idims[3] = cols;
    }
    /* Both replacements are made before either old array is freed, so a
     * failure leaves the caller's arrays as they were. */
    tg_array *img = fit(*images, TG_FLOAT32, 4, idims);
    tg_array *lab = img ? fit(*labels, TG_INT64, 1, &b) : NULL;
    if (!img || !lab) {
        if (img != *images) tg_array_free(img);
        it->status = TG_RESOURCE_EXHAUSTED;
        return false;
    }
    if (img != *images) tg_array_free(*images);
    if (lab != *labels) tg_array_free(*labels);
    *images = img;
    *labels = lab;

    /* One channel: NHWC and NCHW share the same memory layout. */
    float *px = tg_array_data(img);
    int64_t *lb = tg_array_data(lab);
    size_t per = (size_t)rows * (size_t)cols;
    for (int64_t k = 0; k < b; k++) {
        int64_t ex = it->order[it->pos + k];
        const uint8_t *src = tg_idx_dataset_image(it->d, ex);
        float *dst = px + (size_t)k * per;
        for (size_t p = 0; p < per; p++) dst[p] = it->scale[src[p]];
        lb[k] = tg_idx_dataset_label(it->d, ex);
    }
    it->pos += b;
    return true;
}

void tg_batch_iter_reset(tg_batch_iter *it)
{
    if (!it) return;
    it->epoch++;
    it->status = TG_OK;
    make_order(it);
}

int64_t tg_batch_iter_epoch(const tg_batch_iter *it) { return it ? it->epoch : -1; }

tg_code tg_batch_iter_status(const tg_batch_iter *it) { return it ? it->status : TG_INVALID_ARGUMENT; }

void tg_batch_iter_free(tg_batch_iter *it)
{
    if (!it) return;
    free(it->order);
    free(it);
}
