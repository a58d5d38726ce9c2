/* The compute loops of FusedBatchNormV3, FusedBatchNormGradV3 and
 * BatchNormWithGlobalNormalization.
 *
 * Channels-last values (inner == 1: NHWC, or any layout with H*W == 1) are
 * walked row by row with the channel loop innermost and one accumulator per
 * channel, so the loops are contiguous and vectorize; the rows are split
 * over the session's intra-op threads. Other layouts ([N, C, H*W] with
 * H*W > 1) keep one contiguous run per (image, channel) and run on the
 * calling thread.
 *
 * Sums are taken in double, relative to each channel's first element (a
 * shift that keeps the sum of squares from cancelling when the mean is large
 * next to the spread). For channels-last values the rows are summed in
 * blocks whose size depends only on the channel count, and the block sums are
 * added in block order afterwards: the statistics, and so every forward
 * value and every gradient of the op, are the same bits whatever the number
 * of threads. */
#include "nn_batch_norm_kernels.h"

#include <math.h>

/* About this many elements per statistics block: small enough that the
 * partial sums (2 * C doubles per block) stay a few percent of the input. */
enum { STAT_BLOCK_ELEMS = 8192, STATS_GRAIN_ELEMS = 65536, ROWS_GRAIN_ELEMS = 32768 };

static int64_t block_rows(int64_t C) { return C > 0 && C < STAT_BLOCK_ELEMS ? STAT_BLOCK_ELEMS / C : 1; }

static int64_t n_blocks(const tg__bn_layout *L) {
    if (L->inner != 1) return 0;
    int64_t rb = block_rows(L->c);
    return (L->outer + rb - 1) / rb;
}

static int64_t at_least_1(int64_t v) { return v > 0 ? v : 1; }

size_t tg__bn_train_scratch(const tg__bn_layout *L) { return (size_t)((3 + 2 * n_blocks(L)) * at_least_1(L->c)); }
size_t tg__bn_infer_scratch(const tg__bn_layout *L) { return (size_t)(3 * at_least_1(L->c)); }
size_t tg__bn_backward_scratch(const tg__bn_layout *L) { return (size_t)((4 + 2 * n_blocks(L)) * at_least_1(L->c)); }

/* One channels-last pass: rows of C elements, per-channel arrays m, a, b, q
 * (their meaning depends on the pass) and the per-block partial sums. */
typedef struct {
    int64_t C, rows, rb;
    const void *x, *g; /* x, and dy for the backward */
    void *y;
    const double *m, *a, *b, *q;
    double *part; /* block i: sums at part[2*C*i], second sums C further */
} bn_job;

/* Visits x as [outer, c, inner]: BODY sees channel k and the run p[0..inner). */
#define FOR_CHANNEL_RUNS(L, ...)                           \
    for (int64_t o_ = 0; o_ < (L)->outer; o_++)            \
        for (int64_t k = 0; k < (L)->c; k++) {             \
            int64_t base = (o_ * (L)->c + k) * (L)->inner; \
            __VA_ARGS__                                    \
        }

#define BN_KERNELS(T)                                                                                               \
    /* Block sums of d = x - shift and of d^2. */                                                                   \
    static void fwd_stats_##T(void *ctx, int64_t b0, int64_t b1, int chunk, int slot) {                             \
        (void)chunk, (void)slot;                                                                                    \
        const bn_job *j = ctx;                                                                                      \
        const int64_t C = j->C;                                                                                     \
        const double *restrict sh = j->m;                                                                           \
        for (int64_t blk = b0; blk < b1; blk++) {                                                                   \
            double *restrict p1 = j->part + 2 * C * blk, *restrict p2 = p1 + C;                                     \
            for (int64_t k = 0; k < C; k++) p1[k] = p2[k] = 0;                                                      \
            int64_t r1 = (blk + 1) * j->rb < j->rows ? (blk + 1) * j->rb : j->rows;                                 \
            for (int64_t r = blk * j->rb; r < r1; r++) {                                                            \
                const T *restrict xr = (const T *)j->x + r * C;                                                     \
                for (int64_t k = 0; k < C; k++) {                                                                   \
                    double d = (double)xr[k] - sh[k];                                                               \
                    p1[k] += d;                                                                                     \
                    p2[k] += d * d;                                                                                 \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
    }                                                                                                               \
    /* y = (x - m) * a + b per channel. */                                                                          \
    static void fwd_norm_##T(void *ctx, int64_t r0, int64_t r1, int chunk, int slot) {                              \
        (void)chunk, (void)slot;                                                                                    \
        const bn_job *j = ctx;                                                                                      \
        const int64_t C = j->C;                                                                                     \
        const double *restrict m = j->m, *restrict a = j->a, *restrict b = j->b;                                    \
        for (int64_t r = r0; r < r1; r++) {                                                                         \
            /* no restrict: inference may write y over x (the same element) */                                      \
            const T *xr = (const T *)j->x + r * C;                                                                  \
            T *yr = (T *)j->y + r * C;                                                                              \
            TG__SIMD                                                                                                \
            for (int64_t k = 0; k < C; k++) yr[k] = (T)(((double)xr[k] - m[k]) * a[k] + b[k]);                      \
        }                                                                                                           \
    }                                                                                                               \
    /* Block sums of dy and of dy * (x - mean). */                                                                  \
    static void bwd_stats_##T(void *ctx, int64_t b0, int64_t b1, int chunk, int slot) {                             \
        (void)chunk, (void)slot;                                                                                    \
        const bn_job *j = ctx;                                                                                      \
        const int64_t C = j->C;                                                                                     \
        const double *restrict m = j->m;                                                                            \
        for (int64_t blk = b0; blk < b1; blk++) {                                                                   \
            double *restrict p1 = j->part + 2 * C * blk, *restrict p2 = p1 + C;                                     \
            for (int64_t k = 0; k < C; k++) p1[k] = p2[k] = 0;                                                      \
            int64_t r1 = (blk + 1) * j->rb < j->rows ? (blk + 1) * j->rb : j->rows;                                 \
            for (int64_t r = blk * j->rb; r < r1; r++) {                                                            \
                const T *restrict xr = (const T *)j->x + r * C, *restrict gr = (const T *)j->g + r * C;             \
                for (int64_t k = 0; k < C; k++) {                                                                   \
                    double g = (double)gr[k];                                                                       \
                    p1[k] += g;                                                                                     \
                    p2[k] += g * ((double)xr[k] - m[k]);                                                            \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
    }                                                                                                               \
    /* Training: dx = a * (dy - b - (x - m) * q); with q NULL (inference): dx = dy * a. */                          \
    static void bwd_dx_##T(void *ctx, int64_t r0, int64_t r1, int chunk, int slot) {                                \
        (void)chunk, (void)slot;                                                                                    \
        const bn_job *j = ctx;                                                                                      \
        const int64_t C = j->C;                                                                                     \
        const double *restrict m = j->m, *restrict a = j->a, *restrict b = j->b, *restrict q = j->q;                \
        for (int64_t r = r0; r < r1; r++) {                                                                         \
            const T *restrict xr = (const T *)j->x + r * C, *restrict gr = (const T *)j->g + r * C;                 \
            T *restrict dr = (T *)j->y + r * C;                                                                     \
            if (q)                                                                                                  \
                for (int64_t k = 0; k < C; k++)                                                                     \
                    dr[k] = (T)(a[k] * ((double)gr[k] - b[k] - ((double)xr[k] - m[k]) * q[k]));                     \
            else                                                                                                    \
                for (int64_t k = 0; k < C; k++) dr[k] = (T)((double)gr[k] * a[k]);                                  \
        }                                                                                                           \
    }                                                                                                               \
    /* Sums of d and d^2 per channel into s1, s2 (shift already set). */                                            \
    static void train_sums_##T(const tg__kernel_ctx *c, const tg__bn_layout *L, const T *x, const double *shift,    \
                               double *s1, double *s2, double *part) {                                              \
        const int64_t C = L->c;                                                                                     \
        for (int64_t k = 0; k < C; k++) s1[k] = s2[k] = 0;                                                          \
        if (L->inner == 1) {                                                                                        \
            bn_job j = {.C = C, .rows = L->outer, .rb = block_rows(C), .x = x, .m = shift, .part = part};           \
            int64_t nb = n_blocks(L);                                                                               \
            tg__parallel_for(c, 0, nb, at_least_1(STATS_GRAIN_ELEMS / (j.rb * at_least_1(C))),                      \
                             fwd_stats_##T, &j);                                                                    \
            for (int64_t blk = 0; blk < nb; blk++)                                                                  \
                for (int64_t k = 0; k < C; k++) s1[k] += part[2 * C * blk + k], s2[k] += part[2 * C * blk + C + k]; \
            return;                                                                                                 \
        }                                                                                                           \
        FOR_CHANNEL_RUNS(L, {                                                                                       \
            double sh = shift[k], a1 = 0, a2 = 0;                                                                   \
            for (int64_t i = 0; i < L->inner; i++) {                                                                \
                double d = (double)x[base + i] - sh;                                                                \
                a1 += d, a2 += d * d;                                                                               \
            }                                                                                                       \
            s1[k] += a1, s2[k] += a2;                                                                               \
        })                                                                                                          \
    }                                                                                                               \
    /* y = (x - m[k]) * a[k] + b[k]. */                                                                             \
    static void normalize_##T(const tg__kernel_ctx *c, const tg__bn_layout *L, const T *x, const double *m,         \
                              const double *a, const double *b, T *y) {                                             \
        if (L->inner == 1) {                                                                                        \
            bn_job j = {.C = L->c, .rows = L->outer, .x = x, .y = y, .m = m, .a = a, .b = b};                       \
            tg__parallel_for(c, 0, L->outer, at_least_1(ROWS_GRAIN_ELEMS / at_least_1(L->c)), fwd_norm_##T, &j);    \
            return;                                                                                                 \
        }                                                                                                           \
        FOR_CHANNEL_RUNS(L, {                                                                                       \
            double mk = m[k], ak = a[k], bk = b[k];                                                                 \
            for (int64_t i = 0; i < L->inner; i++) y[base + i] = (T)(((double)x[base + i] - mk) * ak + bk);         \
        })                                                                                                          \
    }                                                                                                               \
    static void train_##T(const tg__kernel_ctx *c, const tg__bn_layout *L, const T *x, const T *scale,              \
                          const T *offset, double eps, T *y, T *bmean, T *bvar, T *rs1, T *rs2, double *w) {        \
        int64_t C = L->c, n = L->count;                                                                             \
        double *shift = w, *s1 = w + C, *s2 = w + 2 * C;                                                            \
        for (int64_t k = 0; k < C; k++) shift[k] = n > 0 ? (double)x[k * L->inner] : 0;                             \
        train_sums_##T(c, L, x, shift, s1, s2, w + 3 * C);                                                          \
        double dn = (double)n, bessel = n > 1 ? dn / (dn - 1) : 1;                                                  \
        for (int64_t k = 0; k < C; k++) {                                                                           \
            double m1 = s1[k] / dn, mean = shift[k] + m1, var = s2[k] / dn - m1 * m1;                               \
            if (var < 0) var = 0;                                                                                   \
            bmean[k] = rs1[k] = (T)mean;                                                                            \
            rs2[k] = (T)var;                                                                                        \
            bvar[k] = (T)(var * bessel);                                                                            \
            shift[k] = mean;                                                                                        \
            s1[k] = (double)scale[k] / sqrt(var + eps);                                                             \
            s2[k] = (double)offset[k];                                                                              \
        }                                                                                                           \
        normalize_##T(c, L, x, shift, s1, s2, y);                                                                   \
    }                                                                                                               \
    static void infer_##T(const tg__kernel_ctx *c, const tg__bn_layout *L, const T *x, const T *scale,              \
                          const T *offset, const T *mean, const T *var, double eps, T *y, double *w) {              \
        int64_t C = L->c;                                                                                           \
        double *m = w, *a = w + C, *b = w + 2 * C;                                                                  \
        for (int64_t k = 0; k < C; k++) {                                                                           \
            m[k] = (double)mean[k];                                                                                 \
            a[k] = (scale ? (double)scale[k] : 1.0) / sqrt((double)var[k] + eps);                                   \
            b[k] = (double)offset[k];                                                                               \
        }                                                                                                           \
        normalize_##T(c, L, x, m, a, b, y);                                                                         \
    }                                                                                                               \
    static void backward_##T(const tg__kernel_ctx *c, const tg__bn_layout *L, const T *dy, const T *x,              \
                             const T *scale, const T *mean, const T *var, double eps, bool training, T *dx,         \
                             T *dscale, T *doffset, double *w) {                                                    \
        int64_t C = L->c;                                                                                           \
        double dn = (double)L->count, *m = w, *sdy = w + C, *sdx = w + 2 * C, *k1 = w + 3 * C;                      \
        for (int64_t k = 0; k < C; k++) m[k] = (double)mean[k], sdy[k] = sdx[k] = 0;                                \
        bn_job j = {.C = C, .rows = L->outer, .rb = block_rows(C), .x = x, .g = dy, .y = dx, .m = m,                \
                    .part = w + 4 * C};                                                                             \
        if (L->inner == 1) {                                                                                        \
            int64_t nb = n_blocks(L);                                                                               \
            tg__parallel_for(c, 0, nb, at_least_1(STATS_GRAIN_ELEMS / (j.rb * at_least_1(C))),                      \
                             bwd_stats_##T, &j);                                                                    \
            for (int64_t blk = 0; blk < nb; blk++)                                                                  \
                for (int64_t k = 0; k < C; k++)                                                                     \
                    sdy[k] += j.part[2 * C * blk + k], sdx[k] += j.part[2 * C * blk + C + k];                       \
        } else {                                                                                                    \
            FOR_CHANNEL_RUNS(L, {                                                                                   \
                double mk = m[k], a1 = 0, a2 = 0;                                                                   \
                for (int64_t i = 0; i < L->inner; i++) {                                                            \
                    double g = (double)dy[base + i];                                                                \
                    a1 += g, a2 += g * ((double)x[base + i] - mk);                                                  \
                }                                                                                                   \
                sdy[k] += a1, sdx[k] += a2;                                                                         \
            })                                                                                                      \
        }                                                                                                           \
        for (int64_t k = 0; k < C; k++) {                                                                           \
            double ve = (double)var[k] + eps, inv = 1 / sqrt(ve);                                                   \
            dscale[k] = (T)(sdx[k] * inv);                                                                          \
            doffset[k] = (T)sdy[k];                                                                                 \
            k1[k] = (double)scale[k] * inv;                                                                         \
            sdy[k] /= dn;                                                                                           \
            sdx[k] /= dn * ve;                                                                                      \
        }                                                                                                           \
        if (L->inner == 1) {                                                                                        \
            j.a = k1, j.b = sdy, j.q = training ? sdx : NULL;                                                       \
            tg__parallel_for(c, 0, L->outer, at_least_1(ROWS_GRAIN_ELEMS / at_least_1(C)), bwd_dx_##T, &j);         \
        } else if (training) {                                                                                      \
            FOR_CHANNEL_RUNS(L, {                                                                                   \
                double mk = m[k], a = k1[k], b = sdy[k], q = sdx[k];                                                \
                for (int64_t i = 0; i < L->inner; i++)                                                              \
                    dx[base + i] = (T)(a * ((double)dy[base + i] - b - ((double)x[base + i] - mk) * q));            \
            })                                                                                                      \
        } else {                                                                                                    \
            FOR_CHANNEL_RUNS(L, {                                                                                   \
                double a = k1[k];                                                                                   \
                for (int64_t i = 0; i < L->inner; i++) dx[base + i] = (T)((double)dy[base + i] * a);                \
            })                                                                                                      \
        }                                                                                                           \
    }
BN_KERNELS(float)
BN_KERNELS(double)

void tg__bn_train(const tg__kernel_ctx *c, tg_dtype dt, const tg__bn_layout *L, const void *x, const void *scale,
                  const void *offset, double eps, void *y, void *bmean, void *bvar, void *rs1, void *rs2, double *w) {
    if (dt == TG_FLOAT32) train_float(c, L, x, scale, offset, eps, y, bmean, bvar, rs1, rs2, w);
    else train_double(c, L, x, scale, offset, eps, y, bmean, bvar, rs1, rs2, w);
}

void tg__bn_infer(const tg__kernel_ctx *c, tg_dtype dt, const tg__bn_layout *L, const void *x, const void *scale,
                  const void *offset, const void *mean, const void *var, double eps, void *y, double *w) {
    if (dt == TG_FLOAT32) infer_float(c, L, x, scale, offset, mean, var, eps, y, w);
    else infer_double(c, L, x, scale, offset, mean, var, eps, y, w);
}

void tg__bn_backward(const tg__kernel_ctx *c, tg_dtype dt, const tg__bn_layout *L, const void *dy, const void *x,
                     const void *scale, const void *mean, const void *var, double eps, bool training, void *dx,
                     void *dscale, void *doffset, double *w) {
    if (dt == TG_FLOAT32) backward_float(c, L, dy, x, scale, mean, var, eps, training, dx, dscale, doffset, w);
    else backward_double(c, L, dy, x, scale, mean, var, eps, training, dx, dscale, doffset, w);
}
