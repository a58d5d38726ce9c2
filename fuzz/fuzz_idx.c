/* fuzz_idx.c: libFuzzer harness for the IDX reader (tg_data_load_idx) and
 * the batch iterator over what it loads.
 *
 * Input: a little-endian u32 n, then the images file (its first n bytes, or
 * all that is left), then the labels file (the rest). Either may be raw or
 * gzip'd. Checked besides the sanitizers: a success holds no more data than
 * the input could inflate to and every byte of it can be read; a failure
 * leaves *out NULL and a message that names a file. */
#define _GNU_SOURCE

#include <string.h>

#include "fuzz_file.h"
#include "tgraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every pixel and label and walks one shuffled epoch of batches. */
static void use(const tg_idx_dataset *d, size_t input_size)
{
    int64_t n = tg_idx_dataset_count(d), px = (int64_t)tg_idx_dataset_rows(d) * tg_idx_dataset_cols(d);
    FUZZ_CHECK((uint64_t)(n * px + n) <= (uint64_t)input_size * 1032, "%lld examples of %lld pixels", (long long)n,
               (long long)px);
    unsigned sum = 0;
    const uint8_t *all = tg_idx_dataset_image(d, 0), *labels = tg_idx_dataset_labels(d);
    for (int64_t i = 0; i < n * px; i++) sum += all[i];
    for (int64_t i = 0; i < n; i++) sum += labels[i];
    FUZZ_CHECK(n > 0 || (!all && !labels), "an empty data set with data");
    tg_batch_iter *it = tg_batch_iter_new(d, 3, true, sum, (sum & 1) ? TG_NCHW : TG_NHWC);
    FUZZ_CHECK(it != NULL, "no iterator");
    tg_array *im = NULL, *lb = NULL;
    int64_t seen = 0;
    while (tg_batch_iter_next(it, &im, &lb)) seen += tg_array_dim(lb, 0);
    FUZZ_CHECK(seen == n && tg_batch_iter_status(it) == TG_OK, "an epoch of %lld of %lld", (long long)seen,
               (long long)n);
    tg_array_free(im);
    tg_array_free(lb);
    tg_batch_iter_free(it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    uint32_t want = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    size_t rest = size - 4, n = want < rest ? want : rest;
    const char *images = fuzz_file(0, data + 4, n), *labels = fuzz_file(1, data + 4 + n, rest - n);
    FUZZ_CHECK(images && labels, "cannot write the input files");
    char err[1024];
    tg_idx_dataset *d = (tg_idx_dataset *)err; /* must come back NULL on failure */
    tg_code c = tg_data_load_idx(images, labels, &d, err, sizeof err);
    if (c == TG_OK) {
        FUZZ_CHECK(d != NULL && err[0] == '\0', "success with %s", err);
        use(d, size);
    } else {
        FUZZ_CHECK(d == NULL, "failure (%s) with a data set", err);
        FUZZ_CHECK(strstr(err, images) || strstr(err, labels), "message without a path: %s", err);
    }
    tg_idx_dataset_free(d);
    return 0;
}
