/* im2col + GEMM convolution (THNN's SpatialConvolutionMM), split by image
 * over the session's intra-op threads.
 *
 * Per image, the receptive field of every output position becomes a row of
 * a [P, K] matrix (P = out_height * out_width, K = filter_height *
 * filter_width * in_channels, ordered as the filter's HWIO layout), so the
 * filter reads as a [K, oc] matrix and one GEMM per image gives the output.
 * The backprop ops are the same two matrices transposed, with col2im
 * scattering the input gradient. NHWC and NCHW differ only in the strides
 * im2col reads with and in which side of the GEMM is transposed.
 *
 * Each thread has its own im2col buffer in the op's scratch. Images are
 * independent for the forward op and the input gradient, so those give the
 * same bits whatever the thread count. The filter gradient sums over
 * images: each chunk of images sums into its own partial [K, oc] (chunk 0
 * straight into the output), and the partials are added in chunk order. */
#include "nn_conv_kernels.h"

#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* ---- OpenBLAS's threads ---------------------------------------------------------
 * When a convolution's GEMMs already run one per intra-op thread, OpenBLAS
 * splitting each of them again over its own threads oversubscribes the
 * CPUs, and its idle threads keep spinning after each call, taking cycles
 * from the threads with work. Measured on the 2-vCPU machine of
 * bench/README.md (mnist_cnn training step, OPENBLAS_CORETYPE=Haswell, 2
 * intra-op threads): 72 to 94 ms per step with OpenBLAS at 1 thread against
 * 87 to 109 ms with OpenBLAS left at its default of 2, and 100 to 105
 * against 110 to 114 ms while another process kept one CPU busy. So the
 * first convolution that runs on more than one thread sets
 * OpenBLAS to one thread. This is process-wide (OpenBLAS 0.3.21 has no
 * per-thread setting); a session with one intra-op thread leaves OpenBLAS
 * as the user configured it (OPENBLAS_NUM_THREADS). */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_one_thread(void) { openblas_set_num_threads(1); }

void tg__blas_single_threaded(void) { pthread_once(&blas_once, blas_one_thread); }

/* Row-major C = op(A) op(B) (+ C when acc); every size is positive. */
static void gemm(tg_dtype dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                 const void *b, int64_t ldb, bool acc, void *c, int64_t ldc) {
    enum CBLAS_TRANSPOSE tA = ta ? CblasTrans : CblasNoTrans, tB = tb ? CblasTrans : CblasNoTrans;
    if (dt == TG_FLOAT32)
        cblas_sgemm(CblasRowMajor, tA, tB, (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb, acc ? 1.0f : 0.0f,
                    c, (int)ldc);
    else
        cblas_dgemm(CblasRowMajor, tA, tB, (int)m, (int)n, (int)k, 1.0, a, (int)lda, b, (int)ldb, acc ? 1.0 : 0.0, c,
                    (int)ldc);
}

/* ---- im2col and col2im ------------------------------------------------------------
 * Row (oy, ox) of cols holds the window at that output position: column
 * (ky * kw + kx) * c + ci is input (iy, ix, ci), or 0 in the padding. With
 * NHWC and no dilation along W, the valid kx of one filter row are one
 * contiguous run of the input, copied (or, in col2im, added) as a block. */
#define IM2COL(T)                                                                                      \
    static void im2col_##T(const tg__conv_geom *g, const T *x, T *cols) {                              \
        const int64_t c = g->c, kwc = g->kw * c;                                                       \
        const bool runs = !g->nchw && g->dw == 1;                                                      \
        for (int64_t oy = 0; oy < g->oh; oy++)                                                         \
            for (int64_t ox = 0; ox < g->ow; ox++) {                                                   \
                T *row = cols + (oy * g->ow + ox) * g->K;                                              \
                int64_t ix0 = ox * g->sw - g->pw;                                                      \
                for (int64_t ky = 0; ky < g->kh; ky++) {                                               \
                    int64_t iy = oy * g->sh - g->ph + ky * g->dh;                                      \
                    T *restrict dst = row + ky * kwc;                                                  \
                    if (iy < 0 || iy >= g->h) {                                                        \
                        for (int64_t i = 0; i < kwc; i++) dst[i] = 0;                                  \
                        continue;                                                                      \
                    }                                                                                  \
                    const T *restrict src = x + iy * g->hs;                                            \
                    if (runs) {                                                                        \
                        int64_t k0 = ix0 < 0 ? -ix0 : 0, k1 = g->w - ix0 < g->kw ? g->w - ix0 : g->kw; \
                        if (k1 < k0) k1 = k0;                                                          \
                        for (int64_t i = 0; i < k0 * c; i++) dst[i] = 0;                               \
                        const T *restrict s = src + (ix0 + k0) * c;                                    \
                        for (int64_t i = k0 * c; i < k1 * c; i++) dst[i] = s[i - k0 * c];              \
                        for (int64_t i = k1 * c; i < kwc; i++) dst[i] = 0;                             \
                        continue;                                                                      \
                    }                                                                                  \
                    for (int64_t kx = 0; kx < g->kw; kx++) {                                           \
                        int64_t ix = ix0 + kx * g->dw;                                                 \
                        T *d = dst + kx * c;                                                           \
                        if (ix < 0 || ix >= g->w) {                                                    \
                            for (int64_t ci = 0; ci < c; ci++) d[ci] = 0;                              \
                            continue;                                                                  \
                        }                                                                              \
                        const T *s = src + ix * g->ws;                                                 \
                        for (int64_t ci = 0; ci < c; ci++) d[ci] = s[ci * g->cs];                      \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
    }                                                                                                  \
    /* The adjoint: every column entry adds into the input element it came from. */                    \
    static void col2im_##T(const tg__conv_geom *g, const T *cols, T *x) {                              \
        const int64_t c = g->c, kwc = g->kw * c;                                                       \
        const bool runs = !g->nchw && g->dw == 1;                                                      \
        for (int64_t i = 0; i < g->h * g->w * c; i++) x[i] = 0;                                        \
        for (int64_t oy = 0; oy < g->oh; oy++)                                                         \
            for (int64_t ox = 0; ox < g->ow; ox++) {                                                   \
                const T *row = cols + (oy * g->ow + ox) * g->K;                                        \
                int64_t ix0 = ox * g->sw - g->pw;                                                      \
                for (int64_t ky = 0; ky < g->kh; ky++) {                                               \
                    int64_t iy = oy * g->sh - g->ph + ky * g->dh;                                      \
                    if (iy < 0 || iy >= g->h) continue;                                                \
                    const T *restrict src = row + ky * kwc;                                            \
                    T *restrict dst = x + iy * g->hs;                                                  \
                    if (runs) {                                                                        \
                        int64_t k0 = ix0 < 0 ? -ix0 : 0, k1 = g->w - ix0 < g->kw ? g->w - ix0 : g->kw; \
                        T *restrict d = dst + (ix0 + k0) * c;                                          \
                        for (int64_t i = k0 * c; i < k1 * c; i++) d[i - k0 * c] += src[i];             \
                        continue;                                                                      \
                    }                                                                                  \
                    for (int64_t kx = 0; kx < g->kw; kx++) {                                           \
                        int64_t ix = ix0 + kx * g->dw;                                                 \
                        if (ix < 0 || ix >= g->w) continue;                                            \
                        const T *s = src + kx * c;                                                     \
                        T *d = dst + ix * g->ws;                                                       \
                        for (int64_t ci = 0; ci < c; ci++) d[ci * g->cs] += s[ci];                     \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
    }
IM2COL(float)
IM2COL(double)

static void im2col(tg_dtype dt, const tg__conv_geom *g, const void *x, void *cols) {
    if (dt == TG_FLOAT32) im2col_float(g, x, cols);
    else im2col_double(g, x, cols);
}

static void col2im(tg_dtype dt, const tg__conv_geom *g, const void *cols, void *x) {
    if (dt == TG_FLOAT32) col2im_float(g, cols, x);
    else col2im_double(g, cols, x);
}

/* ---- scratch layout ------------------------------------------------------------------ */

/* A multiple of 64 bytes, so chunks never share a cache line; SIZE_MAX on
 * overflow (the allocation then fails cleanly). */
static size_t padded(int64_t elems, size_t es) {
    if (elems < 0 || (uint64_t)elems > (SIZE_MAX - 64) / es) return SIZE_MAX;
    return ((size_t)elems * es + 63) & ~(size_t)63;
}

/* Images lowered together into one GEMM (NHWC): their patch rows are
 * consecutive, so B images make one [B*P, K] x [K, oc] product, which
 * runs far faster than B thin ones; B keeps the patch buffer near 2 MiB
 * (about the L2 cache) so that it is still warm when the GEMM reads it,
 * and the batch in 8 groups or more.
 * NCHW keeps one image per GEMM (its output rows are not consecutive). */
static int64_t group_of(const tg__conv_geom *g, size_t es) {
    if (g->nchw) return 1;
    int64_t per = g->P * g->K * (int64_t)es;
    int64_t b = per > 0 ? ((int64_t)2 << 20) / per : 1;
    /* at least 8 groups when the batch allows, so that threads share the
     * work evenly (a function of the batch only, never of the threads) */
    if (b > g->n / 8) b = g->n / 8;
    return b < 1 ? 1 : b > 64 ? 64 : b;
}

static size_t cols_bytes(const tg__conv_geom *g, size_t es) {
    return g->direct ? 0 : padded(group_of(g, es) * g->P * g->K, es);
}

/* The work is split by groups of images, never inside one, so a group's
 * GEMM (and so each output's bits) is the same for every thread count. */
static int64_t groups_of(const tg__conv_geom *g, size_t es) {
    int64_t b = group_of(g, es);
    return (g->n + b - 1) / b;
}

static int chunks_of(const tg__kernel_ctx *c, const tg__conv_geom *g, size_t es) {
    return tg__kernel_chunks(c, groups_of(g, es), 1);
}

/* [one im2col buffer per thread][one partial dw per chunk after the first] */
size_t tg__conv_scratch_bytes(const tg__kernel_ctx *c, tg__conv_kind kind, const tg__conv_geom *g, tg_dtype dt) {
    size_t es = tg_dtype_size(dt), t = (size_t)tg__kernel_threads(c), cb = cols_bytes(g, es);
    int chunks = chunks_of(c, g, es);
    size_t parts = kind == TG__CONV_BP_FILTER && chunks > 1 ? (size_t)chunks - 1 : 0;
    size_t pb = parts ? padded(g->K * g->oc, es) : 0;
    if (cb == SIZE_MAX || pb == SIZE_MAX || cb > SIZE_MAX / t || (parts && pb > SIZE_MAX / parts) ||
        cb * t > SIZE_MAX - pb * parts)
        return SIZE_MAX;
    return cb * t + pb * parts;
}

/* ---- the three ops, one chunk of images at a time ----------------------------------- */

typedef struct {
    const tg__conv_geom *g;
    tg_dtype dt;
    size_t es, cols_bytes, part_bytes;
    int64_t group; /* images per GEMM (group_of) */
    const char *x, *f, *dy;
    char *out, *scratch, *parts;
} conv_job;

static size_t x_step(const conv_job *j) { return (size_t)(j->g->h * j->g->w * j->g->c) * j->es; }
static size_t y_step(const conv_job *j) { return (size_t)(j->g->P * j->g->oc) * j->es; }

/* The patch rows of images [b, b + nb) as one [nb*P, K] matrix: x itself
 * for a direct (1x1) convolution, else lowered into cols. */
static const char *lowered(const conv_job *j, char *cols, int64_t b, int64_t nb) {
    const char *x = j->x + (size_t)b * x_step(j);
    if (j->g->direct) return x;
    size_t per = (size_t)(j->g->P * j->g->K) * j->es;
    for (int64_t i = 0; i < nb; i++) im2col(j->dt, j->g, x + (size_t)i * x_step(j), cols + (size_t)i * per);
    return cols;
}

static void forward_images(void *ctx, int64_t g0, int64_t g1, int chunk, int slot) {
    (void)chunk;
    const conv_job *j = ctx;
    const tg__conv_geom *g = j->g;
    char *cols = j->scratch + (size_t)slot * j->cols_bytes;
    for (int64_t b = g0 * j->group, end = g1 * j->group < g->n ? g1 * j->group : g->n; b < end; b += j->group) {
        int64_t nb = end - b < j->group ? end - b : j->group;
        const char *m = lowered(j, cols, b, nb);
        char *yb = j->out + (size_t)b * y_step(j);
        if (g->nchw) /* y_b [oc, P] = w^T [oc, K] . cols^T [K, P] */
            gemm(j->dt, true, true, g->oc, g->P, g->K, j->f, g->oc, m, g->K, false, yb, g->P);
        else /* y [nb*P, oc] = cols [nb*P, K] . w [K, oc] */
            gemm(j->dt, false, false, nb * g->P, g->oc, g->K, m, g->K, j->f, g->oc, false, yb, g->oc);
    }
}

static void bp_input_images(void *ctx, int64_t g0, int64_t g1, int chunk, int slot) {
    (void)chunk;
    const conv_job *j = ctx;
    const tg__conv_geom *g = j->g;
    char *cols = j->scratch + (size_t)slot * j->cols_bytes;
    size_t per = (size_t)(g->P * g->K) * j->es;
    for (int64_t b = g0 * j->group, end = g1 * j->group < g->n ? g1 * j->group : g->n; b < end; b += j->group) {
        int64_t nb = end - b < j->group ? end - b : j->group;
        const char *yb = j->dy + (size_t)b * y_step(j);
        char *xb = j->out + (size_t)b * x_step(j);
        char *m = g->direct ? xb : cols;
        if (g->nchw) /* dcols [P, K] = dy_b^T [P, oc] . w^T [oc, K] */
            gemm(j->dt, true, true, g->P, g->K, g->oc, yb, g->P, j->f, g->oc, false, m, g->K);
        else /* dcols [nb*P, K] = dy [nb*P, oc] . w^T [oc, K] */
            gemm(j->dt, false, true, nb * g->P, g->K, g->oc, yb, g->oc, j->f, g->oc, false, m, g->K);
        for (int64_t i = 0; !g->direct && i < nb; i++)
            col2im(j->dt, g, cols + (size_t)i * per, xb + (size_t)i * x_step(j));
    }
}

static void bp_filter_images(void *ctx, int64_t g0, int64_t g1, int chunk, int slot) {
    const conv_job *j = ctx;
    const tg__conv_geom *g = j->g;
    char *cols = j->scratch + (size_t)slot * j->cols_bytes;
    char *dw = chunk == 0 ? j->out : j->parts + (size_t)(chunk - 1) * j->part_bytes;
    for (int64_t b = g0 * j->group, end = g1 * j->group < g->n ? g1 * j->group : g->n; b < end; b += j->group) {
        int64_t nb = end - b < j->group ? end - b : j->group;
        const char *m = lowered(j, cols, b, nb), *yb = j->dy + (size_t)b * y_step(j);
        if (g->nchw) /* dw [K, oc] += cols^T [K, P] . dy_b^T [P, oc] */
            gemm(j->dt, true, true, g->K, g->oc, g->P, m, g->K, yb, g->P, b > g0 * j->group, dw, g->oc);
        else /* dw [K, oc] += cols^T [K, nb*P] . dy [nb*P, oc] */
            gemm(j->dt, true, false, g->K, g->oc, nb * g->P, m, g->K, yb, g->oc, b > g0 * j->group, dw, g->oc);
    }
}

static conv_job job_of(const tg__kernel_ctx *c, tg__conv_kind kind, tg_dtype dt, const tg__conv_geom *g,
                       void *scratch) {
    size_t es = tg_dtype_size(dt);
    conv_job j = {.g = g, .dt = dt, .es = es, .cols_bytes = cols_bytes(g, es), .group = group_of(g, es),
                  .scratch = scratch};
    j.parts = j.scratch + (size_t)tg__kernel_threads(c) * j.cols_bytes;
    if (kind == TG__CONV_BP_FILTER) j.part_bytes = padded(g->K * g->oc, es);
    if (chunks_of(c, g, es) > 1) tg__blas_single_threaded();
    return j;
}

void tg__conv2d_forward(const tg__kernel_ctx *c, tg_dtype dt, const tg__conv_geom *g, const void *x, const void *f,
                        void *y, void *scratch) {
    conv_job j = job_of(c, TG__CONV_FORWARD, dt, g, scratch);
    j.x = x, j.f = f, j.out = y;
    tg__parallel_for(c, 0, groups_of(g, j.es), 1, forward_images, &j);
}

void tg__conv2d_backprop_input(const tg__kernel_ctx *c, tg_dtype dt, const tg__conv_geom *g, const void *f,
                               const void *dy, void *dx, void *scratch) {
    conv_job j = job_of(c, TG__CONV_BP_INPUT, dt, g, scratch);
    j.f = f, j.dy = dy, j.out = dx;
    tg__parallel_for(c, 0, groups_of(g, j.es), 1, bp_input_images, &j);
}

void tg__conv2d_backprop_filter(const tg__kernel_ctx *c, tg_dtype dt, const tg__conv_geom *g, const void *x,
                                const void *dy, void *dw, void *scratch) {
    conv_job j = job_of(c, TG__CONV_BP_FILTER, dt, g, scratch);
    j.x = x, j.dy = dy, j.out = dw;
    tg__parallel_for(c, 0, groups_of(g, j.es), 1, bp_filter_images, &j);
    int64_t n = g->K * g->oc;
    for (int i = 1, chunks = chunks_of(c, g, tg_dtype_size(dt)); i < chunks; i++) {
        const char *part = j.parts + (size_t)(i - 1) * j.part_bytes;
        if (dt == TG_FLOAT32) {
            float *o = dw;
            const float *p = (const float *)part;
            for (int64_t e = 0; e < n; e++) o[e] += p[e];
        } else {
            double *o = dw;
            const double *p = (const double *)part;
            for (int64_t e = 0; e < n; e++) o[e] += p[e];
        }
    }
}
