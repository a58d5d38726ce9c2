/* The compute side of Conv2D and its two backprop ops: im2col, col2im and
 * the per-image GEMMs, split over the session's intra-op threads by image.
 * nn_conv.c holds the ops (shape functions, checks, gradients) and calls
 * these once the geometry is validated and the buffers are sized. */
#ifndef TG_NN_CONV_KERNELS_H
#define TG_NN_CONV_KERNELS_H

#include "ops_internal.h"

typedef struct tg__conv_geom {
    int64_t n, h, w, c;      /* input */
    int64_t kh, kw, oc;      /* filter [kh, kw, c, oc] */
    int64_t oh, ow;          /* output */
    int64_t sh, sw, dh, dw;  /* strides, dilations */
    int64_t ph, pw;          /* padding before */
    int64_t hs, ws, cs;      /* element strides of H, W, C in one input image */
    int64_t P, K;            /* im2col matrix [P, K] */
    bool nchw;
    bool direct;             /* 1x1, stride 1, NHWC: the image is its own im2col matrix */
} tg__conv_geom;

typedef enum { TG__CONV_FORWARD, TG__CONV_BP_INPUT, TG__CONV_BP_FILTER } tg__conv_kind;

/* Bytes of scratch the op needs for g on this session's threads: one
 * im2col buffer per chunk of images, plus, for the filter gradient, one
 * partial [K, oc] sum per chunk after the first. */
size_t tg__conv_scratch_bytes(const tg__kernel_ctx *c, tg__conv_kind kind, const tg__conv_geom *g, tg_dtype dt);

/* The three ops' math on validated, allocated arrays (every size of g
 * positive). Conv2D: y from x and f. Conv2DBackpropInput: dx from f and dy.
 * Conv2DBackpropFilter: dw from x and dy, the per-chunk partial sums added
 * in chunk order, so a given thread count always gives the same bits. */
void tg__conv2d_forward(const tg__kernel_ctx *c, tg_dtype dt, const tg__conv_geom *g, const void *x, const void *f,
                        void *y, void *scratch);
void tg__conv2d_backprop_input(const tg__kernel_ctx *c, tg_dtype dt, const tg__conv_geom *g, const void *f,
                               const void *dy, void *dx, void *scratch);
void tg__conv2d_backprop_filter(const tg__kernel_ctx *c, tg_dtype dt, const tg__conv_geom *g, const void *x,
                                const void *dy, void *dw, void *scratch);

#endif
