/* The compute loops of the fused batch norm ops; nn_batch_norm.c holds the
 * ops (checks, shapes, gradients) and calls these once everything is
 * validated and allocated. */
#ifndef TG_NN_BATCH_NORM_KERNELS_H
#define TG_NN_BATCH_NORM_KERNELS_H

#include "ops_internal.h"

/* A 4-D value as [outer, c, inner]: NHWC is [N*H*W, C, 1], NCHW is
 * [N, C, H*W]; count = outer * inner elements per channel. */
typedef struct tg__bn_layout {
    int64_t outer, c, inner, count;
} tg__bn_layout;

/* Doubles of scratch w each entry point needs for L. */
size_t tg__bn_train_scratch(const tg__bn_layout *L);
size_t tg__bn_infer_scratch(const tg__bn_layout *L);
size_t tg__bn_backward_scratch(const tg__bn_layout *L);

/* Training forward: batch mean and variance per channel, y normalized with
 * the biased variance; bmean/bvar get the mean and the Bessel-corrected
 * variance, rs1/rs2 the mean and the biased variance (TF's reserve spaces).
 * dt is TG_FLOAT32 or TG_FLOAT64 for every array. */
void tg__bn_train(const tg__kernel_ctx *c, tg_dtype dt, const tg__bn_layout *L, const void *x, const void *scale,
                  const void *offset, double eps, void *y, void *bmean, void *bvar, void *rs1, void *rs2, double *w);

/* y = (x - mean) * scale / sqrt(var + eps) + offset; scale NULL means 1. */
void tg__bn_infer(const tg__kernel_ctx *c, tg_dtype dt, const tg__bn_layout *L, const void *x, const void *scale,
                  const void *offset, const void *mean, const void *var, double eps, void *y, double *w);

/* FusedBatchNormGradV3's math (see nn_batch_norm.c): dx, dscale, doffset
 * from dy, x and the saved statistics. */
void tg__bn_backward(const tg__kernel_ctx *c, tg_dtype dt, const tg__bn_layout *L, const void *dy, const void *x,
                     const void *scale, const void *mean, const void *var, double eps, bool training, void *dx,
                     void *dscale, void *doffset, double *w);

#endif
