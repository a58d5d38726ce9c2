/* test_data.c: the IDX reader and the batch iterator (tgraph/data.h).
 *
 * Small IDX files are crafted in a mkdtemp directory: good ones, raw and
 * gzip'd, and every malformed case (wrong magic, dimensions that do not match
 * the size, truncated, trailing bytes, truncated or corrupt gzip, counts that
 * differ, missing files), each of which must fail with a message naming the
 * file. The gzip files are written here by hand (stored deflate blocks, our
 * own CRC32), so the reader is checked against an independent writer; the
 * real Fashion-MNIST files, when installed, exercise compressed streams.
 *
 * Hostile files (issue 12): a FIFO, /dev/zero, a gzip bomb behind a header
 * that claims one pixel, headers that claim more than the file can hold or
 * more than TG_IDX_MAX_BYTES. Built again with TG_ALLOC_WATCH
 * (test_data_alloc), these run with the allocator wrapped and also prove
 * that no request grew past what the file's bytes justify. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_check.h"
#include "tg_files.h"

/* ---- allocation watch -------------------------------------------------------- */

#include "tg_alloc_watch.h"

/* Asserts no request since tgw_reset exceeded limit bytes. */
#define TGW_EXPECT_MAX(limit)                                                                                       \
    ck_assert_msg(tgw_peak() <= (limit), "line %d: an allocation of %zu bytes, over %zu", __LINE__, tgw_peak(), \
                  (size_t)(limit))

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* ---- files ------------------------------------------------------------------ */

typedef struct {
    uint8_t *p;
    size_t n;
} bytes;

/* Writes b to dir/name; returns the path (caller frees). */
static char *write_file(const char *dir, const char *name, bytes b)
{
    char *p = tgf_path_join(dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    if (b.n) ck_assert_uint_eq(fwrite(b.p, 1, b.n, f), b.n);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Pixel k of image i in the crafted images: distinct, and 255 occurs. */
static uint8_t pixel(int64_t i, int64_t k) { return (uint8_t)(i * 7 + k * 13 + (k == 0 ? 0 : 1)); }

/* An IDX images file of n images of rows x cols; image i's first pixel is
 * i (so examples can be told apart), pixel 1 of image 0 is 255. */
static bytes idx_images(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols)
{
    size_t len = 16 + (size_t)n * rows * cols;
    bytes b = {malloc(len), len};
    ck_assert_ptr_nonnull(b.p);
    put32(b.p, magic);
    put32(b.p + 4, n);
    put32(b.p + 8, rows);
    put32(b.p + 12, cols);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < rows * cols; k++)
            b.p[16 + (size_t)i * rows * cols + k] = k == 0 ? (uint8_t)i : pixel(i, k);
    if (n && rows * cols > 1) b.p[17] = 255;
    return b;
}

/* Labels: label i is (i * 3) % 256, so values above 9 occur. */
static bytes idx_labels(uint32_t magic, uint32_t n)
{
    bytes b = {malloc(8 + (size_t)n), 8 + (size_t)n};
    ck_assert_ptr_nonnull(b.p);
    put32(b.p, magic);
    put32(b.p + 4, n);
    for (uint32_t i = 0; i < n; i++) b.p[8 + i] = (uint8_t)((i * 3) % 256);
    return b;
}

static uint32_t crc32_own(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

/* A gzip member of raw: stored deflate blocks of at most 65535 bytes. */
static bytes gzip_stored(bytes raw)
{
    size_t blocks = raw.n / 65535 + 1;
    size_t cap = 10 + raw.n + blocks * 5 + 8;
    bytes g = {malloc(cap), 0};
    ck_assert_ptr_nonnull(g.p);
    const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    memcpy(g.p, head, 10);
    g.n = 10;
    size_t pos = 0;
    do {
        size_t len = raw.n - pos > 65535 ? 65535 : raw.n - pos;
        bool last = pos + len == raw.n;
        g.p[g.n++] = last ? 1 : 0;
        g.p[g.n++] = (uint8_t)len;
        g.p[g.n++] = (uint8_t)(len >> 8);
        g.p[g.n++] = (uint8_t)~len;
        g.p[g.n++] = (uint8_t)(~len >> 8);
        memcpy(g.p + g.n, raw.p + pos, len);
        g.n += len;
        pos += len;
    } while (pos < raw.n);
    uint32_t crc = crc32_own(raw.p, raw.n), size = (uint32_t)raw.n;
    for (int i = 0; i < 4; i++) g.p[g.n++] = (uint8_t)(crc >> (8 * i));
    for (int i = 0; i < 4; i++) g.p[g.n++] = (uint8_t)(size >> (8 * i));
    ck_assert_uint_le(g.n, cap);
    return g;
}

/* ---- loading ------------------------------------------------------------------ */

static void check_good(const tg_idx_dataset *d, uint32_t n, uint32_t rows, uint32_t cols)
{
    ck_assert_int_eq(tg_idx_dataset_count(d), n);
    ck_assert_int_eq(tg_idx_dataset_rows(d), rows);
    ck_assert_int_eq(tg_idx_dataset_cols(d), cols);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_int_eq(tg_idx_dataset_label(d, i), (int)((i * 3) % 256));
        const uint8_t *im = tg_idx_dataset_image(d, i);
        ck_assert_ptr_nonnull(im);
        ck_assert_ptr_eq(im, tg_idx_dataset_image(d, 0) + (size_t)i * rows * cols);
        ck_assert_uint_eq(im[0], (uint8_t)i);
        for (uint32_t k = 1; k < rows * cols; k++)
            ck_assert_uint_eq(im[k], (i == 0 && k == 1) ? 255 : pixel(i, k));
    }
    ck_assert_int_eq(tg_idx_dataset_labels(d)[n - 1], (int)(((n - 1) * 3) % 256));
    ck_assert_int_eq(tg_idx_dataset_label(d, -1), -1);
    ck_assert_int_eq(tg_idx_dataset_label(d, n), -1);
    ck_assert_ptr_null(tg_idx_dataset_image(d, n));
}

START_TEST(test_load_raw_and_gzip)
{
    char *dir = tgf_make_tmpdir("tg_data");
    char err[512];
    bytes im = idx_images(0x803, 7, 3, 4), lb = idx_labels(0x801, 7);
    char *ip = write_file(dir, "im", im), *lp = write_file(dir, "lb", lb);
    bytes img = gzip_stored(im), lbg = gzip_stored(lb);
    char *igp = write_file(dir, "im.gz", img), *lgp = write_file(dir, "lb.gz", lbg);

    const char *pairs[4][2] = {{ip, lp}, {igp, lgp}, {ip, lgp}, {igp, lp}};
    for (int k = 0; k < 4; k++) {
        tg_idx_dataset *d = NULL;
        tg_code c = tg_data_load_idx(pairs[k][0], pairs[k][1], &d, err, sizeof err);
        ck_assert_msg(c == TG_OK, "%s", err);
        ck_assert_str_eq(err, "");
        check_good(d, 7, 3, 4);
        tg_idx_dataset_free(d);
    }

    /* Several stored blocks (over 64 KiB) and two concatenated gzip members. */
    bytes big = idx_images(0x803, 30, 50, 50), bigl = idx_labels(0x801, 30);
    bytes bigg = gzip_stored(big);
    bytes half1 = {big.p, 1000}, half2 = {big.p + 1000, big.n - 1000};
    bytes m1 = gzip_stored(half1), m2 = gzip_stored(half2);
    bytes two = {malloc(m1.n + m2.n), m1.n + m2.n};
    memcpy(two.p, m1.p, m1.n);
    memcpy(two.p + m1.n, m2.p, m2.n);
    char *bp = write_file(dir, "big.gz", bigg), *tp = write_file(dir, "two.gz", two);
    char *blp = write_file(dir, "bigl", bigl);
    const char *bigs[2] = {bp, tp};
    for (int k = 0; k < 2; k++) {
        tg_idx_dataset *d = NULL;
        tg_code c = tg_data_load_idx(bigs[k], blp, &d, err, sizeof err);
        ck_assert_msg(c == TG_OK, "%s", err);
        check_good(d, 30, 50, 50);
        tg_idx_dataset_free(d);
    }

    /* An empty data set is valid. */
    bytes e = idx_images(0x803, 0, 28, 28), el = idx_labels(0x801, 0);
    char *ep = write_file(dir, "e", e), *elp = write_file(dir, "el", el);
    tg_idx_dataset *d = NULL;
    ck_assert_int_eq(tg_data_load_idx(ep, elp, &d, err, sizeof err), TG_OK);
    ck_assert_int_eq(tg_idx_dataset_count(d), 0);
    ck_assert_ptr_null(tg_idx_dataset_image(d, 0));
    ck_assert_ptr_null(tg_idx_dataset_labels(d));
    tg_idx_dataset_free(d);

    /* NULL handles. */
    tg_idx_dataset_free(NULL);
    ck_assert_int_eq(tg_idx_dataset_count(NULL), 0);
    ck_assert_int_eq(tg_idx_dataset_label(NULL, 0), -1);
    ck_assert_ptr_null(tg_idx_dataset_image(NULL, 0));

    free(im.p); free(lb.p); free(img.p); free(lbg.p); free(big.p); free(bigl.p);
    free(bigg.p); free(m1.p); free(m2.p); free(two.p); free(e.p); free(el.p);
    free(ip); free(lp); free(igp); free(lgp); free(bp); free(tp); free(blp); free(ep); free(elp);
    tgf_remove_tree(dir);
    free(dir);
}
END_TEST

/* Loads (images, labels), expects code, NULL out, and a message that names
 * `names` and contains `what`. */
static void expect_fail(const char *images, const char *labels, tg_code code, const char *names,
                        const char *what)
{
    char err[512];
    tg_idx_dataset *d = (tg_idx_dataset *)&err; /* must be reset to NULL */
    tg_code c = tg_data_load_idx(images, labels, &d, err, sizeof err);
    ck_assert_msg(c == code, "got %s, want %s: %s", tg_code_name(c), tg_code_name(code), err);
    ck_assert_ptr_null(d);
    ck_assert_str_contains(err, names);
    ck_assert_str_contains(err, what);
}

START_TEST(test_malformed)
{
    char *dir = tgf_make_tmpdir("tg_data");
    bytes im = idx_images(0x803, 5, 4, 4), lb = idx_labels(0x801, 5);
    char *ip = write_file(dir, "good-im", im), *lp = write_file(dir, "good-lb", lb);
    char *p;

    /* Wrong magic: each file with the other's magic, and garbage. */
    bytes w = idx_images(0x801, 5, 4, 4);
    p = write_file(dir, "magic-im", w);
    expect_fail(p, lp, TG_INVALID_ARGUMENT, p, "bad magic 0x00000801, want 0x00000803");
    free(p);
    free(w.p);
    w = idx_labels(0x803, 5);
    p = write_file(dir, "magic-lb", w);
    expect_fail(ip, p, TG_INVALID_ARGUMENT, p, "bad magic 0x00000803, want 0x00000801");
    free(p);
    free(w.p);

    /* Dimensions vs size: one byte short, one byte more, header cut, empty. */
    p = write_file(dir, "short-im", (bytes){im.p, im.n - 1});
    expect_fail(p, lp, TG_DATA_LOSS, p, "truncated");
    free(p);
    bytes longer = {malloc(im.n + 1), im.n + 1};
    memcpy(longer.p, im.p, im.n);
    longer.p[im.n] = 0;
    p = write_file(dir, "long-im", longer);
    expect_fail(p, lp, TG_DATA_LOSS, p, "trailing bytes");
    free(p);
    p = write_file(dir, "short-lb", (bytes){lb.p, lb.n - 2});
    expect_fail(ip, p, TG_DATA_LOSS, p, "header says 5 labels");
    free(p);
    p = write_file(dir, "head-im", (bytes){im.p, 10});
    expect_fail(p, lp, TG_DATA_LOSS, p, "IDX header");
    free(p);
    p = write_file(dir, "empty-im", (bytes){im.p, 0});
    expect_fail(p, lp, TG_DATA_LOSS, p, "truncated");
    free(p);
    bytes huge = idx_images(0x803, 5, 4, 4);
    put32(huge.p + 4, 0xFFFFFFFFu); /* 4 billion images claimed */
    p = write_file(dir, "huge-im", huge);
    expect_fail(p, lp, TG_DATA_LOSS, p, "4294967295 images of 4x4");
    free(p);
    put32(huge.p + 4, 5);
    put32(huge.p + 8, 0);
    p = write_file(dir, "zero-im", huge);
    expect_fail(p, lp, TG_INVALID_ARGUMENT, p, "dimension 1 is 0");
    free(p);
    free(huge.p);

    /* gzip: truncated stream, corrupt data (CRC), corrupt header, trailing
     * garbage, and a valid stream whose content is a truncated IDX file. */
    bytes g = gzip_stored(im);
    p = write_file(dir, "cut-im.gz", (bytes){g.p, g.n / 2});
    expect_fail(p, lp, TG_DATA_LOSS, p, "truncated gzip stream");
    free(p);
    p = write_file(dir, "cut8-im.gz", (bytes){g.p, g.n - 3});
    expect_fail(p, lp, TG_DATA_LOSS, p, "truncated gzip stream");
    free(p);
    g.p[40] ^= 0x5a;
    p = write_file(dir, "crc-im.gz", g);
    expect_fail(p, lp, TG_DATA_LOSS, p, "corrupt gzip stream");
    free(p);
    g.p[40] ^= 0x5a;
    g.p[2] = 7; /* compression method */
    p = write_file(dir, "method-im.gz", g);
    expect_fail(p, lp, TG_DATA_LOSS, p, "corrupt gzip stream");
    free(p);
    g.p[2] = 8;
    g.p[10] = 0x07; /* block type 3 (reserved) */
    p = write_file(dir, "btype-im.gz", g);
    expect_fail(p, lp, TG_DATA_LOSS, p, "corrupt gzip stream");
    free(p);
    g.p[10] = 0x01;
    bytes gt = {malloc(g.n + 3), g.n + 3};
    memcpy(gt.p, g.p, g.n);
    memcpy(gt.p + g.n, "xyz", 3);
    p = write_file(dir, "tail-im.gz", gt);
    expect_fail(p, lp, TG_DATA_LOSS, p, "trailing data after the gzip stream");
    free(p);
    free(gt.p);
    bytes gs = gzip_stored((bytes){lb.p, lb.n - 1});
    p = write_file(dir, "short-lb.gz", gs);
    expect_fail(ip, p, TG_DATA_LOSS, p, "decompressed file has 12 bytes (truncated)");
    free(p);
    free(gs.p);
    p = write_file(dir, "tiny.gz", (bytes){g.p, 2}); /* only the magic */
    expect_fail(p, lp, TG_DATA_LOSS, p, "truncated gzip stream");
    free(p);
    free(g.p);

    /* Counts that differ: both names in the message. */
    bytes lb6 = idx_labels(0x801, 6);
    p = write_file(dir, "six-lb", lb6);
    expect_fail(ip, p, TG_INVALID_ARGUMENT, ip, "has 5 images but");
    expect_fail(ip, p, TG_INVALID_ARGUMENT, p, "has 6 labels");
    free(p);
    free(lb6.p);

    /* Missing files and a directory. */
    char *missing = tgf_path_join(dir, "nope");
    expect_fail(missing, lp, TG_NOT_FOUND, missing, "cannot open");
    expect_fail(ip, missing, TG_NOT_FOUND, missing, "cannot open");
    expect_fail(dir, lp, TG_INVALID_ARGUMENT, dir, "is a directory");
    free(missing);

    /* NULL arguments; a NULL or tiny err buffer is fine. */
    tg_idx_dataset *d = NULL;
    ck_assert_int_eq(tg_data_load_idx(NULL, lp, &d, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_data_load_idx(ip, NULL, &d, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_data_load_idx(ip, lp, NULL, NULL, 0), TG_INVALID_ARGUMENT);
    char one[1] = {'x'};
    ck_assert_int_eq(tg_data_load_idx(ip, ip, &d, one, sizeof one), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(one[0], '\0');
    ck_assert_ptr_null(d);

    free(im.p); free(lb.p); free(longer.p); free(ip); free(lp);
    tgf_remove_tree(dir);
    free(dir);
}
END_TEST

START_TEST(test_load_dir)
{
    char *dir = tgf_make_tmpdir("tg_data");
    char err[512];
    bytes im = idx_images(0x803, 4, 2, 2), lb = idx_labels(0x801, 4);
    bytes lbg = gzip_stored(lb);
    char *a = write_file(dir, "train-images-idx3-ubyte", im);
    char *b = write_file(dir, "train-labels-idx1-ubyte.gz", lbg);
    tg_idx_dataset *d = NULL;
    ck_assert_msg(tg_data_load_idx_dir(dir, "train", &d, err, sizeof err) == TG_OK, "%s", err);
    check_good(d, 4, 2, 2);
    tg_idx_dataset_free(d);

    d = NULL;
    ck_assert_int_eq(tg_data_load_idx_dir(dir, "t10k", &d, err, sizeof err), TG_NOT_FOUND);
    ck_assert_ptr_null(d);
    ck_assert_str_contains(err, dir);
    ck_assert_str_contains(err, "t10k-images-idx3-ubyte.gz");

    /* Only the images of t10k: the labels name is reported. */
    char *c = write_file(dir, "t10k-images-idx3-ubyte.gz", lbg);
    ck_assert_int_eq(tg_data_load_idx_dir(dir, "t10k", &d, err, sizeof err), TG_NOT_FOUND);
    ck_assert_str_contains(err, "t10k-labels-idx1-ubyte");
    /* Both present, the images file being a labels file: its path is named. */
    char *e = write_file(dir, "t10k-labels-idx1-ubyte", lb);
    ck_assert_int_eq(tg_data_load_idx_dir(dir, "t10k", &d, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(err, c);
    ck_assert_ptr_null(d);

    ck_assert_int_eq(tg_data_load_idx_dir(dir, "", &d, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_data_load_idx_dir(dir, "../x", &d, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_data_load_idx_dir(NULL, "train", &d, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_data_load_idx_dir("/nonexistent-tg", "train", &d, err, sizeof err),
                     TG_NOT_FOUND);
    ck_assert_str_contains(err, "/nonexistent-tg");

    free(im.p); free(lb.p); free(lbg.p); free(a); free(b); free(c); free(e);
    tgf_remove_tree(dir);
    free(dir);
}
END_TEST

/* ---- batches ------------------------------------------------------------------ */

/* A data set of n images of 3 x 2 built in a temporary directory. */
static tg_idx_dataset *small_set(uint32_t n)
{
    char *dir = tgf_make_tmpdir("tg_data");
    char err[512];
    bytes im = idx_images(0x803, n, 3, 2), lb = idx_labels(0x801, n);
    char *ip = write_file(dir, "im", im), *lp = write_file(dir, "lb", lb);
    tg_idx_dataset *d = NULL;
    ck_assert_msg(tg_data_load_idx(ip, lp, &d, err, sizeof err) == TG_OK, "%s", err);
    free(im.p); free(lb.p); free(ip); free(lp);
    tgf_remove_tree(dir);
    free(dir);
    return d;
}

/* One epoch: checks shapes and values, records the order of examples (by
 * their first pixel) in order[], returns the number of batches. */
static int run_epoch(tg_batch_iter *it, const tg_idx_dataset *d, tg_data_format fmt, int bs,
                     int64_t *order, tg_array **im, tg_array **lb)
{
    int64_t n = tg_idx_dataset_count(d), seen = 0;
    int batches = 0;
    while (tg_batch_iter_next(it, im, lb)) {
        int64_t b = n - seen < bs ? n - seen : bs;
        ck_assert_int_eq(tg_array_dtype(*im), TG_FLOAT32);
        ck_assert_int_eq(tg_array_dtype(*lb), TG_INT64);
        tg_shape want = fmt == TG_NHWC ? TG_SHAPE(b, 3, 2, 1) : TG_SHAPE(b, 1, 3, 2);
        tg_shape got = tg_array_shape(*im);
        ck_assert_msg(tgc_shape_eq(&got, &want), "images shape rank %d dim0 %lld", got.rank,
                      (long long)got.dims[0]);
        ck_assert_int_eq(tg_array_rank(*lb), 1);
        ck_assert_int_eq(tg_array_dim(*lb, 0), b);
        const float *px = tg_array_data(*im);
        const int64_t *l = tg_array_data(*lb);
        for (int64_t k = 0; k < b; k++) {
            int64_t ex = (int64_t)(px[k * 6] * 255.0f + 0.5f);
            const uint8_t *src = tg_idx_dataset_image(d, ex);
            ck_assert_ptr_nonnull(src);
            for (int p = 0; p < 6; p++) {
                ck_assert_float_eq(px[k * 6 + p], (float)src[p] / 255.0f);
                ck_assert(px[k * 6 + p] >= 0.0f && px[k * 6 + p] <= 1.0f);
            }
            ck_assert_int_eq(l[k], tg_idx_dataset_label(d, ex));
            order[seen + k] = ex;
        }
        seen += b;
        batches++;
    }
    ck_assert_int_eq(seen, n);
    ck_assert_int_eq(tg_batch_iter_status(it), TG_OK);
    /* Every example exactly once. */
    char *hit = calloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++) {
        ck_assert(order[i] >= 0 && order[i] < n);
        ck_assert_int_eq(hit[order[i]], 0);
        hit[order[i]] = 1;
    }
    free(hit);
    return batches;
}

START_TEST(test_batches)
{
    enum { N = 23, BS = 5 };
    tg_idx_dataset *d = small_set(N);
    int64_t o[N], o2[N];
    for (int f = 0; f < 2; f++) {
        tg_data_format fmt = f ? TG_NCHW : TG_NHWC;
        tg_batch_iter *it = tg_batch_iter_new(d, BS, false, 0, fmt);
        ck_assert_ptr_nonnull(it);
        tg_array *im = NULL, *lb = NULL;
        ck_assert_int_eq(run_epoch(it, d, fmt, BS, o, &im, &lb), 5);
        for (int i = 0; i < N; i++) ck_assert_int_eq(o[i], i); /* file order */
        /* The last partial batch had 3 examples; after the end, false again. */
        ck_assert_int_eq(tg_array_dim(im, 0), 3);
        ck_assert_int_eq(tg_array_dim(lb, 0), 3);
        tg_array *keep = im;
        ck_assert(!tg_batch_iter_next(it, &im, &lb));
        ck_assert_ptr_eq(im, keep);
        ck_assert_int_eq(tg_batch_iter_epoch(it), 0);
        tg_batch_iter_reset(it);
        ck_assert_int_eq(tg_batch_iter_epoch(it), 1);
        ck_assert_int_eq(run_epoch(it, d, fmt, BS, o2, &im, &lb), 5);
        ck_assert_mem_eq(o, o2, sizeof o);
        tg_array_free(im);
        tg_array_free(lb);
        tg_batch_iter_free(it);
    }

    /* Pixel 255 becomes exactly 1, 0 exactly 0. */
    tg_batch_iter *it = tg_batch_iter_new(d, 1, false, 0, TG_NHWC);
    tg_array *im = NULL, *lb = NULL;
    ck_assert(tg_batch_iter_next(it, &im, &lb));
    ck_assert_float_eq(((float *)tg_array_data(im))[0], 0.0f);
    ck_assert_float_eq(((float *)tg_array_data(im))[1], 1.0f);
    /* Arrays reused: full batches keep the same arrays. */
    tg_array *im0 = im, *lb0 = lb;
    ck_assert(tg_batch_iter_next(it, &im, &lb));
    ck_assert_ptr_eq(im, im0);
    ck_assert_ptr_eq(lb, lb0);
    tg_array_free(im);
    tg_array_free(lb);
    tg_batch_iter_free(it);

    /* Caller-made arrays of the right shape are filled in place; others replaced. */
    it = tg_batch_iter_new(d, 4, true, 9, TG_NCHW);
    im = tg_array_new(TG_FLOAT32, 4, (int64_t[]){4, 1, 3, 2});
    lb = tg_array_new(TG_FLOAT32, 1, (int64_t[]){4}); /* wrong dtype */
    im0 = im;
    ck_assert(tg_batch_iter_next(it, &im, &lb));
    ck_assert_ptr_eq(im, im0);
    ck_assert_int_eq(tg_array_dtype(lb), TG_INT64);
    tg_array_free(im);
    tg_array_free(lb);
    tg_batch_iter_free(it);

    /* Batch larger than the data set: one partial batch. */
    it = tg_batch_iter_new(d, 100, true, 1, TG_NHWC);
    im = lb = NULL;
    ck_assert_int_eq(run_epoch(it, d, TG_NHWC, 100, o, &im, &lb), 1);
    tg_array_free(im);
    tg_array_free(lb);
    tg_batch_iter_free(it);

    /* Bad arguments. */
    ck_assert_ptr_null(tg_batch_iter_new(NULL, 5, false, 0, TG_NHWC));
    ck_assert_ptr_null(tg_batch_iter_new(d, 0, false, 0, TG_NHWC));
    ck_assert_ptr_null(tg_batch_iter_new(d, 5, false, 0, TG_DATA_FORMAT_INVALID));
    ck_assert_ptr_null(tg_batch_iter_new(d, 5, false, 0, (tg_data_format)7));
    it = tg_batch_iter_new(d, 5, false, 0, TG_NHWC);
    ck_assert(!tg_batch_iter_next(it, NULL, &lb));
    ck_assert_int_eq(tg_batch_iter_status(it), TG_INVALID_ARGUMENT);
    ck_assert(!tg_batch_iter_next(NULL, &im, &lb));
    tg_batch_iter_free(it);
    tg_batch_iter_free(NULL);
    tg_batch_iter_reset(NULL);
    ck_assert_int_eq(tg_batch_iter_epoch(NULL), -1);

    tg_idx_dataset_free(d);
}
END_TEST

START_TEST(test_shuffle)
{
    enum { N = 50, BS = 8 };
    tg_idx_dataset *d = small_set(N);
    int64_t a[3][N], b[3][N], c[N];
    tg_array *im = NULL, *lb = NULL;
    tg_batch_iter *x = tg_batch_iter_new(d, BS, true, 42, TG_NHWC);
    tg_batch_iter *y = tg_batch_iter_new(d, BS, true, 42, TG_NCHW);
    for (int e = 0; e < 3; e++) {
        if (e) {
            tg_batch_iter_reset(x);
            tg_batch_iter_reset(y);
        }
        run_epoch(x, d, TG_NHWC, BS, a[e], &im, &lb);
        run_epoch(y, d, TG_NCHW, BS, b[e], &im, &lb);
        /* Same seed, same epoch: same order. */
        ck_assert_mem_eq(a[e], b[e], sizeof a[e]);
        bool identity = true;
        for (int i = 0; i < N; i++) identity = identity && a[e][i] == i;
        ck_assert(!identity);
    }
    /* Different epochs: different orders. */
    ck_assert(memcmp(a[0], a[1], sizeof a[0]) != 0);
    ck_assert(memcmp(a[1], a[2], sizeof a[0]) != 0);
    ck_assert(memcmp(a[0], a[2], sizeof a[0]) != 0);
    /* A fresh iterator with the same seed repeats epoch 0 and epoch 1. */
    tg_batch_iter *z = tg_batch_iter_new(d, 3, true, 42, TG_NHWC);
    run_epoch(z, d, TG_NHWC, 3, c, &im, &lb);
    ck_assert_mem_eq(c, a[0], sizeof c);
    tg_batch_iter_reset(z);
    run_epoch(z, d, TG_NHWC, 3, c, &im, &lb);
    ck_assert_mem_eq(c, a[1], sizeof c);
    tg_batch_iter_free(z);
    /* Another seed: another order. */
    z = tg_batch_iter_new(d, BS, true, 43, TG_NHWC);
    run_epoch(z, d, TG_NHWC, BS, c, &im, &lb);
    ck_assert(memcmp(c, a[0], sizeof c) != 0);
    tg_batch_iter_free(z);
    tg_batch_iter_free(x);
    tg_batch_iter_free(y);
    tg_array_free(im);
    tg_array_free(lb);
    tg_idx_dataset_free(d);
}
END_TEST

/* The examples (by first pixel) of the batches the iterator gives until the
 * end of the epoch, in ids[]; their number. sizes[] gets each batch's size. */
static int shard_epoch(tg_batch_iter *it, int64_t *ids, int *sizes, int *n_batches)
{
    tg_array *im = NULL, *lb = NULL;
    int k = 0;
    *n_batches = 0;
    while (tg_batch_iter_next(it, &im, &lb)) {
        const float *px = tg_array_data(im);
        for (int64_t e = 0; e < tg_array_dim(im, 0); e++) ids[k++] = (int64_t)(px[e * 6] * 255.0f + 0.5f);
        sizes[(*n_batches)++] = (int)tg_array_dim(im, 0);
    }
    tg_array_free(im);
    tg_array_free(lb);
    return k;
}

/* Rank r of size gets batches r, r + size, ... of the unsharded epoch's
 * batches (the same seed: the same permutation), every epoch. */
START_TEST(test_shard)
{
    enum { N = 23, BS = 5, NB = 5 }; /* batches of 5, 5, 5, 5, 3 */
    tg_idx_dataset *d = small_set(N);
    int64_t whole[2][N], ids[N];
    int sizes[NB], nb;
    tg_batch_iter *it = tg_batch_iter_new(d, BS, true, 7, TG_NHWC);
    for (int e = 0; e < 2; e++) {
        if (e) tg_batch_iter_reset(it);
        ck_assert_int_eq(shard_epoch(it, whole[e], sizes, &nb), N);
    }
    tg_batch_iter_free(it);
    for (int size = 1; size <= 4; size++) {
        int seen = 0;
        for (int r = 0; r < size; r++) {
            it = tg_batch_iter_new(d, BS, true, 7, TG_NHWC);
            ck_assert_int_eq(tg_batch_iter_shard(it, r, size), TG_OK);
            for (int e = 0; e < 2; e++) {
                if (e) tg_batch_iter_reset(it);
                int got = shard_epoch(it, ids, sizes, &nb), k = 0, want_nb = 0;
                for (int b = r; b < NB; b += size, want_nb++)
                    for (int i = b * BS; i < N && i < (b + 1) * BS; i++, k++)
                        ck_assert_int_eq(ids[k], whole[e][i]);
                ck_assert_int_eq(got, k);
                ck_assert_int_eq(nb, want_nb);
                if (e == 0) seen += got;
            }
            tg_batch_iter_free(it);
        }
        ck_assert_int_eq(seen, N); /* the shards together: every example once */
    }
    /* Sharding mid-epoch restarts it; size 1 undoes it. */
    it = tg_batch_iter_new(d, BS, true, 7, TG_NHWC);
    tg_array *im = NULL, *lb = NULL;
    ck_assert(tg_batch_iter_next(it, &im, &lb));
    ck_assert_int_eq(tg_batch_iter_shard(it, 1, 2), TG_OK);
    ck_assert_int_eq(shard_epoch(it, ids, sizes, &nb), 2 * BS);
    ck_assert_int_eq(ids[0], whole[0][BS]);
    ck_assert_int_eq(tg_batch_iter_shard(it, 0, 1), TG_OK);
    ck_assert_int_eq(shard_epoch(it, ids, sizes, &nb), N);
    ck_assert_mem_eq(ids, whole[0], sizeof ids);
    /* Bad arguments leave it as it was. */
    ck_assert_int_eq(tg_batch_iter_shard(NULL, 0, 1), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_batch_iter_shard(it, 0, 0), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_batch_iter_shard(it, 2, 2), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_batch_iter_shard(it, -1, 2), TG_INVALID_ARGUMENT);
    tg_array_free(im);
    tg_array_free(lb);
    tg_batch_iter_free(it);
    tg_idx_dataset_free(d);
}
END_TEST

/* ---- hostile files ---------------------------------------------------------------- */

/* expect_fail, with no allocation over `limit` bytes (in the watch build). */
static void expect_fail_within(const char *images, const char *labels, tg_code code, const char *names,
                               const char *what, size_t limit)
{
    tgw_reset();
    expect_fail(images, labels, code, names, what);
    TGW_EXPECT_MAX(limit);
}

/* #5, #8: a FIFO would block open() forever (no writer comes); /dev/zero
 * would be read until memory runs out. Both are refused at once. */
START_TEST(test_not_regular_files)
{
    char *dir = tgf_make_tmpdir("tg_data");
    bytes im = idx_images(0x803, 2, 2, 2), lb = idx_labels(0x801, 2);
    char *ip = write_file(dir, "im", im), *lp = write_file(dir, "lb", lb);
    char *fifo = tgf_path_join(dir, "fifo");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    expect_fail_within(fifo, lp, TG_INVALID_ARGUMENT, fifo, "not a regular file (a FIFO)", 4096);
    expect_fail_within(ip, fifo, TG_INVALID_ARGUMENT, fifo, "not a regular file (a FIFO)", 4096);
    expect_fail_within("/dev/zero", lp, TG_INVALID_ARGUMENT, "/dev/zero", "not a regular file (a character device)",
                       4096);
    expect_fail_within(ip, "/dev/zero", TG_INVALID_ARGUMENT, "/dev/zero", "not a regular file", 4096);
    char *link = tgf_path_join(dir, "zero-link");
    ck_assert_int_eq(symlink("/dev/zero", link), 0);
    expect_fail_within(link, lp, TG_INVALID_ARGUMENT, link, "not a regular file (a character device)", 4096);

    /* Under the standard names, through the directory loader. */
    char *std = tgf_path_join(dir, "train-images-idx3-ubyte");
    ck_assert_int_eq(mkfifo(std, 0600), 0);
    free(write_file(dir, "train-labels-idx1-ubyte", lb));
    char err[512];
    tg_idx_dataset *d = NULL;
    ck_assert_int_eq(tg_data_load_idx_dir(dir, "train", &d, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(d);
    ck_assert_str_contains(err, std);
    ck_assert_str_contains(err, "a FIFO");

    /* The regular files still load. */
    ck_assert_msg(tg_data_load_idx(ip, lp, &d, err, sizeof err) == TG_OK, "%s", err);
    check_good(d, 2, 2, 2);
    tg_idx_dataset_free(d);
    free(im.p); free(lb.p); free(ip); free(lp); free(fifo); free(link); free(std);
    tgf_remove_tree(dir);
    free(dir);
}
END_TEST

/* LSB-first bits into a deflate stream (RFC 1951 3.1.1). */
typedef struct {
    uint8_t *p;
    size_t n;
    unsigned bit;
} bitw;

static void put_bits(bitw *w, uint32_t v, int nbits)
{
    for (int i = 0; i < nbits; i++) {
        if (w->bit == 0) w->p[w->n++] = 0;
        w->p[w->n - 1] |= (uint8_t)(((v >> i) & 1u) << w->bit);
        w->bit = (w->bit + 1) & 7u;
    }
}

/* A Huffman code goes most significant bit first. */
static void put_code(bitw *w, uint32_t code, int len)
{
    for (int i = len - 1; i >= 0; i--) put_bits(w, code >> i, 1);
}

/* CRC-32 of n zero bytes appended to a running crc (pre/post-conditioned as zlib's). */
static uint32_t crc32_zeros(uint32_t crc, uint64_t n)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
            table[i] = c;
        }
    uint32_t c = crc ^ 0xFFFFFFFFu;
    for (uint64_t i = 0; i < n; i++) c = (c >> 8) ^ table[c & 0xFF];
    return c ^ 0xFFFFFFFFu;
}

/* A valid gzip file whose data is an IDX header for one 1 x cols image,
 * one zero pixel, then `matches` * 258 more zero bytes (fixed-Huffman
 * copies of length 258 at distance 1: 13 bits each, about 160:1). */
static bytes gzip_bomb(uint32_t matches, uint32_t cols)
{
    size_t cap = 10 + 5 + 17 + (size_t)matches * 13 / 8 + 16 + 8;
    bytes g = {calloc(cap, 1), 0};
    ck_assert_ptr_nonnull(g.p);
    const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    memcpy(g.p, head, 10);
    uint8_t idx[17] = {0};
    put32(idx, 0x803);
    put32(idx + 4, 1);
    put32(idx + 8, 1);
    put32(idx + 12, cols);
    const uint8_t stored[5] = {0 /* not final, stored */, 17, 0, (uint8_t)~17, 0xff};
    memcpy(g.p + 10, stored, 5);
    memcpy(g.p + 15, idx, 17);
    bitw w = {g.p, 32, 0};
    put_bits(&w, 1, 1); /* final */
    put_bits(&w, 1, 2); /* fixed Huffman */
    for (uint32_t i = 0; i < matches; i++) {
        put_code(&w, 0xC5, 8); /* length symbol 285: 258 */
        put_code(&w, 0, 5);    /* distance code 0: 1 */
    }
    put_code(&w, 0, 7); /* end of block */
    uint64_t out = 17 + (uint64_t)matches * 258;
    uint32_t crc = crc32_zeros(crc32_own(idx, 17), out - 17);
    for (int i = 0; i < 4; i++) w.p[w.n++] = (uint8_t)(crc >> (8 * i));
    for (int i = 0; i < 4; i++) w.p[w.n++] = (uint8_t)(out >> (8 * i));
    ck_assert_uint_le(w.n, cap);
    g.n = w.n;
    return g;
}

/* #4: a gzip file was inflated in full before its header was read: 200 KB
 * that claim one 1x1 image took 32 MB (1 MB took 1 GiB). Now the header is
 * inflated first, the one pixel next, and the first byte past it is the
 * error. Headers claiming more than the compressed size can inflate to, or
 * more than TG_IDX_MAX_BYTES, are refused before anything is allocated. */
START_TEST(test_gzip_bomb)
{
    char *dir = tgf_make_tmpdir("tg_data");
    bytes lb = idx_labels(0x801, 1);
    char *lp = write_file(dir, "lb", lb);
    bytes bomb = gzip_bomb(130000, 1); /* 33,540,017 bytes inflated */
    char *bp = write_file(dir, "bomb.gz", bomb);
    expect_fail_within(bp, lp, TG_DATA_LOSS, bp,
                       "header says 1 images of 1x1 (17 bytes) but the decompressed file has more than 17 bytes "
                       "(trailing bytes)", (size_t)64 << 10);

    /* The hand-made stream is valid gzip: with a header that matches it, it loads. */
    bytes small = gzip_bomb(3, 1 + 3 * 258);
    char *sp = write_file(dir, "small.gz", small);
    char err[512];
    tg_idx_dataset *d = NULL;
    ck_assert_msg(tg_data_load_idx(sp, lp, &d, err, sizeof err) == TG_OK, "%s", err);
    ck_assert_int_eq(tg_idx_dataset_cols(d), 775);
    for (int k = 0; k < 775; k++) ck_assert_uint_eq(tg_idx_dataset_image(d, 0)[k], 0);
    tg_idx_dataset_free(d);

    /* 1000 images of 1000x1000 in a 66-byte gzip file: deflate cannot. */
    bytes im = idx_images(0x803, 1, 2, 2);
    put32(im.p + 4, 1000);
    put32(im.p + 8, 1000);
    put32(im.p + 12, 1000);
    bytes g = gzip_stored(im);
    char *gp = write_file(dir, "claims.gz", g);
    expect_fail_within(gp, lp, TG_DATA_LOSS, gp, "inflate to at most", 4096);

    /* 16 MiB claimed, 17,000 bytes there (within deflate's ratio): truncated,
     * and the buffer grew to no more than its first 1 MiB. */
    bytes part = idx_images(0x803, 1, 1, 17000);
    put32(part.p + 8, 4096);
    put32(part.p + 12, 4096);
    bytes g2 = gzip_stored(part);
    char *g2p = write_file(dir, "short.gz", g2);
    expect_fail_within(g2p, lp, TG_DATA_LOSS, g2p,
                       "header says 1 images of 4096x4096 (16777232 bytes) but the decompressed file has 17016 bytes "
                       "(truncated)", (size_t)1 << 20);

    free(lb.p); free(bomb.p); free(small.p); free(im.p); free(g.p); free(part.p); free(g2.p);
    free(lp); free(bp); free(sp); free(gp); free(g2p);
    tgf_remove_tree(dir);
    free(dir);
}
END_TEST

/* A raw file whose header and size agree but claim more than
 * TG_IDX_MAX_BYTES (sparse: no disk is used) is refused before its data is
 * read or allocated. */
START_TEST(test_size_limit)
{
    char *dir = tgf_make_tmpdir("tg_data");
    bytes lb = idx_labels(0x801, 1);
    char *lp = write_file(dir, "lb", lb);
    uint8_t head[16];
    put32(head, 0x803);
    put32(head + 4, 32769); /* 32769 * 256 * 256 = 2 GiB + 64 KiB */
    put32(head + 8, 256);
    put32(head + 12, 256);
    char *ip = write_file(dir, "huge", (bytes){head, sizeof head});
    int fd = open(ip, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)(16 + (uint64_t)32769 * 65536)), 0);
    ck_assert_int_eq(close(fd), 0);
    expect_fail_within(ip, lp, TG_RESOURCE_EXHAUSTED, ip,
                       "header says 32769 images of 256x256 (2147549184 bytes of data), more than "
                       "TG_IDX_MAX_BYTES (2147483648)", 4096);
    free(lb.p); free(lp); free(ip);
    tgf_remove_tree(dir);
    free(dir);
}
END_TEST

/* The labels header is read and its count checked before its data. */
START_TEST(test_count_before_data)
{
    char *dir = tgf_make_tmpdir("tg_data");
    bytes im = idx_images(0x803, 3, 2, 2), lb = idx_labels(0x801, 3);
    put32(lb.p + 4, 0x7FFFFFFF); /* and the file ends after 3 labels */
    char *ip = write_file(dir, "im", im), *lp = write_file(dir, "lb", lb);
    expect_fail_within(ip, lp, TG_DATA_LOSS, lp, "header says 2147483647 labels", 4096);
    bytes lbg = gzip_stored(lb);
    char *lgp = write_file(dir, "lb.gz", lbg);
    expect_fail_within(ip, lgp, TG_DATA_LOSS, lgp, "inflate to at most", 4096);
    put32(lb.p + 4, 4);
    bytes lbg4 = gzip_stored(lb);
    char *l4p = write_file(dir, "lb4.gz", lbg4);
    expect_fail_within(ip, l4p, TG_INVALID_ARGUMENT, l4p, "has 3 images but", 4096);
    free(im.p); free(lb.p); free(lbg.p); free(lbg4.p); free(ip); free(lp); free(lgp); free(l4p);
    tgf_remove_tree(dir);
    free(dir);
}
END_TEST

/* ---- real data ------------------------------------------------------------------ */

START_TEST(test_fashion_mnist)
{
    struct stat st;
    if (stat(FASHION_DIR, &st) != 0) {
        printf("test_fashion_mnist: SKIPPED: %s not found (Debian package "
               "dataset-fashion-mnist)\n", FASHION_DIR);
        return;
    }
    char err[512];
    tg_idx_dataset *d = NULL;
    ck_assert_msg(tg_data_load_idx_dir(FASHION_DIR, "t10k", &d, err, sizeof err) == TG_OK, "%s",
                  err);
    ck_assert_int_eq(tg_idx_dataset_count(d), 10000);
    ck_assert_int_eq(tg_idx_dataset_rows(d), 28);
    ck_assert_int_eq(tg_idx_dataset_cols(d), 28);
    int hist[10] = {0};
    for (int64_t i = 0; i < 10000; i++) {
        int l = tg_idx_dataset_label(d, i);
        ck_assert(l >= 0 && l <= 9);
        hist[l]++;
    }
    for (int k = 0; k < 10; k++) ck_assert_int_eq(hist[k], 1000);

    /* One epoch in batches of 128: 79 batches, the last of 16. */
    tg_batch_iter *it = tg_batch_iter_new(d, 128, true, 1, TG_NHWC);
    tg_array *im = NULL, *lb = NULL;
    int batches = 0;
    int64_t total = 0;
    double maxv = 0;
    while (tg_batch_iter_next(it, &im, &lb)) {
        batches++;
        total += tg_array_dim(im, 0);
        ck_assert_int_eq(tg_array_dim(im, 1), 28);
        const float *px = tg_array_data(im);
        for (int64_t i = 0; i < tg_array_size(im); i++) maxv = px[i] > maxv ? px[i] : maxv;
    }
    ck_assert_int_eq(batches, 79);
    ck_assert_int_eq(total, 10000);
    ck_assert_int_eq(tg_array_dim(im, 0), 16);
    ck_assert_float_eq(maxv, 1.0);
    tg_array_free(im);
    tg_array_free(lb);
    tg_batch_iter_free(it);
    tg_idx_dataset_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("data");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    if (!TGW_WATCHING) { /* the watch build runs the hostile files only */
        tcase_add_test(tc, test_load_raw_and_gzip);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_load_dir);
        tcase_add_test(tc, test_batches);
        tcase_add_test(tc, test_shuffle);
        tcase_add_test(tc, test_shard);
        tcase_add_test(tc, test_fashion_mnist);
    }
    tcase_add_test(tc, test_not_regular_files);
    tcase_add_test(tc, test_gzip_bomb);
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_count_before_data);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
