/* Batch normalization: tf.nn.batch_normalization (a composition, as TF),
 * FusedBatchNormV3 with its gradient FusedBatchNormGradV3 (dedicated
 * kernels), and the legacy BatchNormWithGlobalNormalization.
 *
 * The kernels here check their inputs and shape their outputs; the loops
 * themselves (one pass for the statistics, one to write y; the same for the
 * gradient) are in nn_batch_norm_kernels.c. Per-channel accumulators live
 * in a grow-only per-session buffer, so a steady-state run does not
 * allocate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_batch_norm_kernels.h"

/* ---- attrs --------------------------------------------------------------------- */

typedef struct {
    float epsilon; /* TF's attr is a float; the builder clamps it */
    int data_format;
    bool is_training;
} fbn_attrs;

static void fbn_format_attrs(const void *attrs, tg__strbuf *out) {
    const fbn_attrs *a = attrs;
    tg__strbuf_printf(out, "epsilon=%g data_format=%s is_training=%s", (double)a->epsilon,
                      a->data_format == TG_NCHW ? "NCHW" : "NHWC", a->is_training ? "true" : "false");
}

typedef struct {
    float variance_epsilon;
    bool scale_after_normalization;
} bngn_attrs;

static void bngn_format_attrs(const void *attrs, tg__strbuf *out) {
    const bngn_attrs *a = attrs;
    tg__strbuf_printf(out, "variance_epsilon=%g scale_after_normalization=%s", (double)a->variance_epsilon,
                      a->scale_after_normalization ? "true" : "false");
}

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }
static bool format_ok(int f) { return f == TG_NHWC || f == TG_NCHW; }
static int channel_axis(int fmt) { return fmt == TG_NCHW ? 1 : 3; }

/* ---- static checks shared by shape functions and builders -----------------------
 * They write the message to err and return false; callers prefix the op
 * name (tg__infer_fail) or the requested name (builders). */

static bool check_dtype(const tg_tensor *t, const char *what, tg_dtype want, char *err, size_t n) {
    if (t->dtype == want) return true;
    snprintf(err, n, "%s must have dtype %s like the input, not %s", what, tg_dtype_name(want),
             tg_dtype_name(t->dtype));
    return false;
}

/* x must be a float 4-D tensor (unknown rank passes, as four unknown dims). */
static bool check_input4(const tg_tensor *x, const char *what, tg_shape *s, char *err, size_t n) {
    char b[128];
    if (!is_float(x->dtype)) {
        snprintf(err, n, "%s must be float32 or float64, not %s", what, tg_dtype_name(x->dtype));
        return false;
    }
    if (x->shape.rank < 0) {
        *s = TG_SHAPE(-1, -1, -1, -1);
        return true;
    }
    if (x->shape.rank != 4) {
        snprintf(err, n, "%s must be 4-dimensional, not shape %s", what, tg_shape_format(&x->shape, b, sizeof b));
        return false;
    }
    *s = x->shape;
    return true;
}

/* v must be 1-D with *ch elements where both are known; merges them. */
static bool check_channels(const tg_tensor *v, const char *what, int64_t *ch, char *err, size_t n) {
    char b[128];
    if (v->shape.rank < 0) return true;
    if (v->shape.rank != 1) {
        snprintf(err, n, "%s must be 1-dimensional, not shape %s", what, tg_shape_format(&v->shape, b, sizeof b));
        return false;
    }
    int64_t d = v->shape.dims[0];
    if (d >= 0 && *ch >= 0 && d != *ch) {
        snprintf(err, n, "%s must have the same number of elements as the channels of x, got %lld and %lld", what,
                 (long long)d, (long long)*ch);
        return false;
    }
    if (*ch < 0) *ch = d;
    return true;
}

static const char *const FBN_NAMES[5] = {"input", "scale", "offset", "estimated_mean", "estimated_variance"};

/* FusedBatchNormV3's inputs (x, scale, offset, mean, variance); mean and
 * variance may be NULL (the builder checks before making them). On success
 * *xs is x's 4-D shape with the channel count filled in. */
static bool fbn_check(tg_tensor *const *in, const fbn_attrs *a, tg_shape *xs, char *err, size_t n) {
    if (!format_ok(a->data_format)) {
        snprintf(err, n, "Invalid data format %d: must be NHWC or NCHW", a->data_format);
        return false;
    }
    if (!check_input4(in[0], "input", xs, err, n)) return false;
    int ci = channel_axis(a->data_format);
    int64_t ch = xs->dims[ci];
    for (int i = 1; i < 5; i++) {
        if (!in[i]) continue;
        if (!check_dtype(in[i], FBN_NAMES[i], in[0]->dtype, err, n)) return false;
        if (i < 3 || !a->is_training) {
            if (!check_channels(in[i], FBN_NAMES[i], &ch, err, n)) return false;
        } else if (tg_shape_num_elements(&in[i]->shape) > 0) {
            char b[128];
            snprintf(err, n, "%s must be empty for training, not shape %s", FBN_NAMES[i],
                     tg_shape_format(&in[i]->shape, b, sizeof b));
            return false;
        }
    }
    xs->dims[ci] = ch;
    return true;
}

static tg_code fbn_infer(tg__infer_ctx *c) {
    const fbn_attrs *a = c->attrs;
    tg_shape xs;
    char err[512];
    if (!fbn_check(c->in, a, &xs, err, sizeof err)) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    tg_dtype dt = c->in[0]->dtype;
    for (int i = 0; i < 6; i++) c->out[i].dtype = dt;
    c->out[0].shape = xs;
    for (int i = 1; i < 5; i++) c->out[i].shape = TG_SHAPE(xs.dims[channel_axis(a->data_format)]);
    c->out[5].shape = TG_SCALAR; /* TF's CPU kernel: an unused scalar */
    return TG_OK;
}

/* ---- kernel helpers ------------------------------------------------------------ */

static tg__bn_layout layout_of(const tg_array *x, int fmt) {
    tg__bn_layout l;
    if (fmt == TG_NCHW) l = (tg__bn_layout){x->dims[0], x->dims[1], x->dims[2] * x->dims[3], 0};
    else l = (tg__bn_layout){x->dims[0] * x->dims[1] * x->dims[2], x->dims[3], 1, 0};
    l.count = l.outer * l.inner;
    return l;
}

typedef struct {
    double *buf;
    size_t cap; /* doubles */
} bn_state;

static void bn_state_free(void *state) { free(((bn_state *)state)->buf); }

/* The op's grow-only buffer of `need` doubles. */
static double *scratch(tg__kernel_ctx *c, size_t need, tg_code *rc) {
    bn_state *st = c->state;
    *rc = TG_OK;
    if (!st) {
        *rc = tg__kernel_fail(c, TG_INTERNAL, "no op state");
        return NULL;
    }
    if (need > st->cap) {
        double *p = realloc(st->buf, need * sizeof *p);
        if (!p) {
            *rc = tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "out of memory for %zu channel accumulators", need);
            return NULL;
        }
        st->buf = p;
        st->cap = need;
    }
    return st->buf;
}

static tg_code kernel_rank4(tg__kernel_ctx *c, const tg_array *x, const char *what) {
    if (x->rank == 4) return TG_OK;
    tg_shape s = tg_array_shape(x);
    char b[128];
    return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s must be 4-dimensional, not shape %s", what,
                           tg_shape_format(&s, b, sizeof b));
}

static tg_code kernel_channels(tg__kernel_ctx *c, const tg_array *v, const char *what, int64_t ch) {
    if (v->rank == 1 && v->dims[0] == ch) return TG_OK;
    tg_shape s = tg_array_shape(v);
    char b[128];
    return tg__kernel_fail(c, TG_INVALID_ARGUMENT,
                           "%s must have the same number of elements as the channels of x, got shape %s and %lld",
                           what, tg_shape_format(&s, b, sizeof b), (long long)ch);
}

static tg_code fbn_kernel(tg__kernel_ctx *c) {
    const fbn_attrs *a = c->attrs;
    const tg_array *x = c->in[0];
    tg_code rc = kernel_rank4(c, x, "input");
    if (rc != TG_OK) return rc;
    if (!format_ok(a->data_format)) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Invalid data format");
    tg__bn_layout L = layout_of(x, a->data_format);
    for (int i = 1; i < 5 && rc == TG_OK; i++) {
        if (i < 3 || !a->is_training) rc = kernel_channels(c, c->in[i], FBN_NAMES[i], L.c);
        else if (c->in[i]->size != 0)
            rc = tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s must be empty for training", FBN_NAMES[i]);
    }
    if (rc != TG_OK) return rc;
    tg_dtype dt = x->dtype;
    double *w = scratch(c, a->is_training ? tg__bn_train_scratch(&L) : tg__bn_infer_scratch(&L), &rc);
    /* inference normalizes element by element, so it may write over x
     * when nothing else reads it (the plan decides) */
    bool over = rc == TG_OK && !a->is_training && tg__out_inplace(c);
    if (rc == TG_OK && !over) rc = tg__out_alloc(c, 0, dt, 4, x->dims);
    if (rc == TG_OK) rc = tg__out_alloc(c, 5, dt, 0, NULL);
    if (rc != TG_OK) return rc;
    memset(c->out[5]->data, 0, tg_dtype_size(dt));
    double eps = (double)a->epsilon;
    const void *xs = x->data, *sc = c->in[1]->data, *of = c->in[2]->data;
    if (a->is_training) {
        for (int i = 1; i < 5 && rc == TG_OK; i++) rc = tg__out_alloc(c, i, dt, 1, &L.c);
        if (rc != TG_OK) return rc;
        void *o[5];
        for (int i = 0; i < 5; i++) o[i] = c->out[i]->data;
        tg__bn_train(c, dt, &L, xs, sc, of, eps, o[0], o[1], o[2], o[3], o[4], w);
        return TG_OK;
    }
    /* Inference: the statistics outputs pass the given ones through (TF's
     * CPU kernel leaves them unset; finite values keep a moving-average
     * update with factor 0 harmless). */
    const tg_array *mean = c->in[3], *var = c->in[4];
    tg__bn_infer(c, dt, &L, xs, sc, of, mean->data, var->data, eps, c->out[0]->data, w);
    tg__out_alias(c, 1, mean);
    tg__out_alias(c, 2, var);
    tg__out_alias(c, 3, mean);
    tg__out_alias(c, 4, var);
    return TG_OK;
}

/* ---- FusedBatchNormGradV3(y_backprop, x, scale, reserve_space_1..3) ----------- */

static const char *const GRAD_NAMES[6] = {"y_backprop", "x", "scale", "reserve_space_1", "reserve_space_2",
                                          "reserve_space_3"};

static tg_code fbn_grad_infer(tg__infer_ctx *c) {
    const fbn_attrs *a = c->attrs;
    char err[512];
    tg_shape ys, xs;
    if (!format_ok(a->data_format))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "Invalid data format %d: must be NHWC or NCHW", a->data_format);
    if (!check_input4(c->in[0], GRAD_NAMES[0], &ys, err, sizeof err) ||
        !check_input4(c->in[1], GRAD_NAMES[1], &xs, err, sizeof err) ||
        !check_dtype(c->in[1], GRAD_NAMES[1], c->in[0]->dtype, err, sizeof err))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    for (int i = 0; i < 4; i++) {
        if (ys.dims[i] >= 0 && xs.dims[i] >= 0 && ys.dims[i] != xs.dims[i]) {
            char b1[128], b2[128];
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "x and y_backprop must have same shape, but x has shape %s "
                                  "and y_backprop has shape %s", tg_shape_format(&xs, b1, sizeof b1),
                                  tg_shape_format(&ys, b2, sizeof b2));
        }
        if (xs.dims[i] < 0) xs.dims[i] = ys.dims[i];
    }
    int ci = channel_axis(a->data_format);
    int64_t ch = xs.dims[ci];
    for (int i = 2; i < 5; i++)
        if (!check_dtype(c->in[i], GRAD_NAMES[i], c->in[0]->dtype, err, sizeof err) ||
            !check_channels(c->in[i], GRAD_NAMES[i], &ch, err, sizeof err))
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    xs.dims[ci] = ch;
    for (int i = 0; i < 5; i++) c->out[i].dtype = c->in[0]->dtype;
    c->out[0].shape = xs;
    c->out[1].shape = c->out[2].shape = TG_SHAPE(ch);
    c->out[3].shape = c->out[4].shape = TG_SHAPE(0); /* reserve_space_4, _5: unused */
    return TG_OK;
}

/* Training (batch statistics m, v from the forward op):
 *   dx = scale * rsqrt(v + eps) * [dy - mean(dy) - (x - m) * mean(dy * (x - m)) / (v + eps)]
 * Inference (population statistics): dx = dy * scale * rsqrt(v + eps).
 * Both: dscale = sum(dy * (x - m)) * rsqrt(v + eps), doffset = sum(dy). */
static tg_code fbn_grad_kernel(tg__kernel_ctx *c) {
    const fbn_attrs *a = c->attrs;
    const tg_array *dy = c->in[0], *x = c->in[1];
    tg_code rc = kernel_rank4(c, dy, "y_backprop");
    if (rc == TG_OK) rc = kernel_rank4(c, x, "x");
    if (rc != TG_OK) return rc;
    if (!format_ok(a->data_format)) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Invalid data format");
    if (memcmp(dy->dims, x->dims, 4 * sizeof *x->dims) != 0)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "x and y_backprop must have same shape");
    tg__bn_layout L = layout_of(x, a->data_format);
    for (int i = 2; i < 5 && rc == TG_OK; i++) rc = kernel_channels(c, c->in[i], GRAD_NAMES[i], L.c);
    if (rc != TG_OK) return rc;
    tg_dtype dt = x->dtype;
    int64_t zero = 0;
    double *w = scratch(c, tg__bn_backward_scratch(&L), &rc);
    if (rc == TG_OK) rc = tg__out_alloc(c, 0, dt, 4, x->dims);
    for (int i = 1; i < 3 && rc == TG_OK; i++) rc = tg__out_alloc(c, i, dt, 1, &L.c);
    for (int i = 3; i < 5 && rc == TG_OK; i++) rc = tg__out_alloc(c, i, dt, 1, &zero);
    if (rc != TG_OK) return rc;
    const void *g = dy->data, *xs = x->data, *sc = c->in[2]->data, *m = c->in[3]->data, *v = c->in[4]->data;
    void *o0 = c->out[0]->data, *o1 = c->out[1]->data, *o2 = c->out[2]->data;
    tg__bn_backward(c, dt, &L, g, xs, sc, m, v, a->epsilon, a->is_training, o0, o1, o2, w);
    return TG_OK;
}

/* ---- gradients ---------------------------------------------------------------------- */

/* TF's _FusedBatchNormV3Grad: FusedBatchNormGradV3 with the saved batch
 * statistics (training) or the population ones (inference). Gradients of
 * batch_mean and batch_variance are ignored, and mean/variance get none. */
static tg_code fbn_grad(tg__grad_ctx *c) {
    const fbn_attrs *a = c->op->attrs;
    tg_op *op = c->op;
    tg_tensor *in[6] = {c->dy[0], op->inputs[0], op->inputs[1], a->is_training ? &op->outputs[3] : op->inputs[3],
                        a->is_training ? &op->outputs[4] : op->inputs[4], &op->outputs[5]};
    tg__op_args args = {.def = &tg__op_fused_batch_norm_grad_v3, .inputs = in, .n_inputs = 6, .attrs = a};
    tg_op *gop = tg__add_op(c->g, &args);
    if (!gop) return tg_graph_status(c->g);
    for (int i = 0; i < 3; i++) c->dx[i] = &gop->outputs[i];
    return TG_OK;
}

/* TF's _BatchNormGrad: the gradient FusedBatchNormGradV3 computes, from
 * ordinary ops (so it can be differentiated). out[] = dx, dscale, doffset. */
static void composed_bn_grad(tg_graph *g, tg_tensor *dy, tg_tensor *x, tg_tensor *scale, tg_tensor *pm,
                             tg_tensor *pv, const fbn_attrs *a, tg_tensor **out) {
    bool nchw = a->data_format == TG_NCHW;
    const int axes_nhwc[3] = {0, 1, 2}, axes_nchw[3] = {0, 2, 3};
    const int *axes = nchw ? axes_nchw : axes_nhwc;
    tg_tensor *eps = tg_constant_scalar(g, x->dtype, (double)a->epsilon, "epsilon");
    tg_reduce_opts keep = {.axes = axes, .n_axes = 3, .keep_dims = nchw}, flat = {.axes = axes, .n_axes = 3};
    const tg_shape bshape = TG_SHAPE(1, -1, 1, 1);
    if (a->is_training) {
        if (nchw) scale = tg_reshape(g, scale, bshape, NULL);
        tg_tensor *mean_dy = tg_reduce_mean(g, dy, &keep);
        tg_tensor *mean_x = tg_reduce_mean(g, x, &keep);
        tg_tensor *var_x =
            tg_reduce_mean(g, tg_squared_difference(g, x, tg_stop_gradient(g, mean_x, NULL), NULL), &keep);
        tg_tensor *dy_off = tg_subtract(g, dy, mean_dy, NULL);
        tg_tensor *x_off = tg_subtract(g, x, mean_x, NULL);
        tg_tensor *dy_x = tg_multiply(g, dy, x_off, NULL);
        tg_tensor *mean = tg_reduce_mean(g, dy_x, &keep);
        tg_tensor *ve = tg_add(g, var_x, eps, NULL);
        tg_tensor *rs = tg_rsqrt(g, ve, NULL);
        tg_tensor *recip = tg_divide(g, tg_constant_scalar(g, x->dtype, 1, NULL), ve, NULL);
        tg_tensor *inner =
            tg_subtract(g, dy_off, tg_multiply(g, tg_multiply(g, recip, mean, NULL), x_off, NULL), NULL);
        out[0] = tg_multiply(g, tg_multiply(g, scale, rs, NULL), inner, NULL);
        out[1] = tg_multiply(g, rs, tg_reduce_sum(g, dy_x, &keep), NULL);
        if (nchw) out[1] = tg_squeeze(g, out[1], (const int[]){0, 2, 3}, 3, NULL);
        out[2] = tg_reduce_sum(g, dy, &flat);
        return;
    }
    if (nchw) {
        pm = tg_reshape(g, pm, bshape, NULL);
        pv = tg_reshape(g, pv, bshape, NULL);
        scale = tg_reshape(g, scale, bshape, NULL);
    }
    out[2] = tg_reduce_sum(g, dy, &flat);
    tg_tensor *rs = tg_rsqrt(g, tg_add(g, pv, eps, NULL), NULL);
    out[1] = tg_reduce_sum(g, tg_multiply(g, tg_multiply(g, dy, tg_subtract(g, x, pm, NULL), NULL), rs, NULL), &flat);
    out[0] = tg_multiply(g, tg_multiply(g, dy, scale, NULL), rs, NULL);
}

/* TF's _FusedBatchNormGradGrad: differentiate the composed gradient with
 * respect to y_backprop, x and scale (on fresh stand-ins, so that only the
 * composition is differentiated, as TF's GradientTape does). */
static tg_code fbn_grad_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_op *op = c->op;
    const fbn_attrs *a = op->attrs;
    tg_tensor *w[3], *r[3], *ys[3], *gys[3], *d[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) w[i] = tg_identity(g, op->inputs[i], NULL);
    composed_bn_grad(g, w[0], w[1], w[2], op->inputs[3], op->inputs[4], a, r);
    if (tg_graph_status(g) != TG_OK) return tg_graph_status(g);
    int n = 0;
    for (int i = 0; i < 3; i++)
        if (c->has_dy[i]) ys[n] = r[i], gys[n++] = c->dy[i];
    if (n > 0) {
        tg_code rc = tg_gradients(g, ys, n, w, 3, d, &(tg_gradients_opts){.grad_ys = gys});
        if (rc != TG_OK) return rc;
    }
    for (int i = 0; i < 3; i++) c->dx[i] = d[i];
    return TG_OK;
}

/* T is x's dtype, U the statistics' (scale, input 1). */
static void fbn_export(const tg_op *op, tg__attr_list *out) {
    const fbn_attrs *a = op->attrs;
    tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype;
    tg__attr_add(out, "U", TG__ATTR_TYPE)->u.type = op->inputs[1]->dtype;
    tg__attr_add(out, "epsilon", TG__ATTR_FLOAT)->u.f = a->epsilon;
    tg__attr_add(out, "data_format", TG__ATTR_STRING)->u.s = a->data_format == TG_NCHW ? "NCHW" : "NHWC";
    tg__attr_add(out, "is_training", TG__ATTR_BOOL)->u.b = a->is_training;
}

const tg__op_def tg__op_fused_batch_norm_v3 = {
    .type = "FusedBatchNormV3",
    .n_inputs = 5,
    .n_outputs = 6,
    .flags = TG__OPF_VIEWS | TG__OPF_INPLACE, /* inference only: fbn_kernel */
    .attr_size = sizeof(fbn_attrs),
    .state_size = sizeof(bn_state),
    .state_free = bn_state_free,
    .infer = fbn_infer,
    .kernel = {[TG_FLOAT32] = fbn_kernel, [TG_FLOAT64] = fbn_kernel},
    .grad = fbn_grad,
    .format_attrs = fbn_format_attrs,
    .export_attrs = fbn_export,
};

const tg__op_def tg__op_fused_batch_norm_grad_v3 = {
    .type = "FusedBatchNormGradV3",
    .n_inputs = 6,
    .n_outputs = 5,
    .attr_size = sizeof(fbn_attrs),
    .state_size = sizeof(bn_state),
    .state_free = bn_state_free,
    .infer = fbn_grad_infer,
    .kernel = {[TG_FLOAT32] = fbn_grad_kernel, [TG_FLOAT64] = fbn_grad_kernel},
    .grad = fbn_grad_grad,
    .format_attrs = fbn_format_attrs,
};

/* ---- tf.nn.fused_batch_norm -------------------------------------------------------- */

tg_code tg_nn_fused_batch_norm(tg_graph *g, tg_tensor *x, tg_tensor *scale, tg_tensor *offset, tg_tensor *mean,
                               tg_tensor *variance, const tg_fused_batch_norm_opts *opts, tg_tensor **y,
                               tg_tensor **batch_mean, tg_tensor **batch_var) {
    if (y) *y = NULL;
    if (batch_mean) *batch_mean = NULL;
    if (batch_var) *batch_var = NULL;
    tg_tensor *req[3] = {x, scale, offset};
    /* NULL inputs (an earlier builder failed) add nothing and record nothing */
    if (!tg__graph_ready(g, req, 3) || (mean && !tg__graph_ready(g, &mean, 1)) ||
        (variance && !tg__graph_ready(g, &variance, 1)))
        return tg_graph_status(g) != TG_OK ? tg_graph_status(g) : TG_INVALID_ARGUMENT;
    tg_fused_batch_norm_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_nn_fused_batch_norm", tg_fused_batch_norm_opts, TG_FUSED_BATCH_NORM_OPTS_INIT,
                          opts, o))
        return tg_graph_status(g);
    const char *who = o.name ? o.name : "FusedBatchNormV3";
    bool training = o.is_training;
    if (training && (mean || variance))
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: Both 'mean' and 'variance' must be None if is_training is True.",
                        who);
    /* cuDNN's minimum, applied by TF's wrapper on every device */
    double eps = o.epsilon;
    if (!(eps > 1.001e-5)) eps = 1.001e-5;
    fbn_attrs a = {(float)eps, (int)o.data_format, training};
    tg_tensor *in[5] = {x, scale, offset, mean, variance};
    tg_shape xs;
    char err[512];
    if (!fbn_check(in, &a, &xs, err, sizeof err))
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s", who, err);
    if (!training && (!mean || !variance)) {
        long long ch = (long long)xs.dims[channel_axis(a.data_format)];
        return tg__fail(g, TG_INVALID_ARGUMENT,
                        "%s: %s must have the same number of elements as the channels of x, got 0 and %lld "
                        "(mean and variance are required when is_training is False)",
                        who, mean ? FBN_NAMES[4] : FBN_NAMES[3], ch);
    }
    /* TF's constant_op.constant([]) for a missing mean / variance */
    if (!mean) in[3] = tg_constant_data(g, x->dtype, TG_SHAPE(0), NULL, NULL);
    if (!variance) in[4] = tg_constant_data(g, x->dtype, TG_SHAPE(0), NULL, NULL);
    tg__op_args args = {.def = &tg__op_fused_batch_norm_v3, .name = o.name, .inputs = in, .n_inputs = 5, .attrs = &a};
    tg_op *op = tg__add_op(g, &args);
    if (!op) return tg_graph_status(g);
    if (y) *y = &op->outputs[0];
    if (batch_mean) *batch_mean = &op->outputs[1];
    if (batch_var) *batch_var = &op->outputs[2];
    return TG_OK;
}

/* ---- tf.nn.batch_normalization ------------------------------------------------------ */

/* NumPy broadcasting of two static shapes where known; false on a clash. */
static bool broadcast(const tg_shape *a, const tg_shape *b, tg_shape *o) {
    if (a->rank < 0 || b->rank < 0) {
        *o = TG_SHAPE_UNKNOWN;
        return true;
    }
    int r = a->rank > b->rank ? a->rank : b->rank;
    o->rank = r;
    for (int i = 0; i < r; i++) {
        int ia = a->rank - r + i, ib = b->rank - r + i;
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1) o->dims[i] = da;
        else if (da == 1) o->dims[i] = db;
        else if (da < 0 || db < 0) o->dims[i] = -1;
        else return false;
    }
    return true;
}

/* TF's `t + python_float`: name scope "add" holding the Const "y", and the
 * Add named after the scope. */
static tg_tensor *add_scalar(tg_graph *g, tg_tensor *t, double v) {
    const char *scope;
    int tok = tg__builder_scope(g, NULL, "add", &scope);
    tg_tensor *in[2] = {t, tg_constant_scalar(g, t->dtype, v, "y")};
    tg__op_args args = {.def = &tg__op_add, .name = scope, .exact_name = true, .inputs = in, .n_inputs = 2};
    tg_tensor *out = tg__out0(tg__add_op(g, &args));
    tg_scope_pop(g, tok);
    return out;
}

tg_tensor *tg_nn_batch_normalization(tg_graph *g, tg_tensor *x, tg_tensor *mean, tg_tensor *variance,
                                     tg_tensor *offset, tg_tensor *scale, double variance_epsilon, const char *name) {
    tg_tensor *req[3] = {x, mean, variance};
    if (!tg__graph_ready(g, req, 3)) return NULL;
    if ((offset && !tg__graph_ready(g, &offset, 1)) || (scale && !tg__graph_ready(g, &scale, 1))) return NULL;
    const char *who = name ? name : "batchnorm";
    /* Checked up front so that a rejected call leaves no op behind. */
    tg_tensor *all[5] = {x, mean, variance, offset, scale};
    static const char *const names[5] = {"x", "mean", "variance", "offset", "scale"};
    if (!is_float(x->dtype)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: x must be float32 or float64, not %s", who, tg_dtype_name(x->dtype));
        return NULL;
    }
    for (int i = 1; i < 5; i++)
        if (all[i] && all[i]->dtype != x->dtype) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s has dtype %s, but x has %s", who, names[i],
                     tg_dtype_name(all[i]->dtype), tg_dtype_name(x->dtype));
            return NULL;
        }
    tg_shape inv, t1, t2, t3;
    bool ok = broadcast(&variance->shape, scale ? &scale->shape : &variance->shape, &inv) &&
              broadcast(&x->shape, &inv, &t1) && broadcast(&mean->shape, &inv, &t2) &&
              broadcast(offset ? &offset->shape : &t2, &t2, &t3) && broadcast(&t1, &t3, &t2);
    if (!ok) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: x, mean, variance, offset and scale do not broadcast together", who);
        return NULL;
    }
    int tok = tg_name_scope_push(g, who);
    tg_tensor *r = tg_rsqrt(g, add_scalar(g, variance, variance_epsilon), "Rsqrt");
    if (scale) r = tg_multiply(g, r, scale, "mul");
    tg_tensor *xr = tg_multiply(g, x, r, "mul");
    tg_tensor *shift = offset ? tg_subtract(g, offset, tg_multiply(g, mean, r, "mul"), "sub")
                              : tg_multiply(g, tg_negative(g, mean, "Neg"), r, "mul");
    tg_tensor *y = tg_add(g, xr, shift, "add");
    tg_scope_pop(g, tok);
    return y;
}

/* ---- BatchNormWithGlobalNormalization ------------------------------------------------ */

static const char *const BNGN_NAMES[5] = {"input", "mean", "var", "beta", "gamma"};

static bool bngn_check(tg_tensor *const *in, tg_shape *ts, char *err, size_t n) {
    if (!check_input4(in[0], "input", ts, err, n)) return false;
    int64_t ch = ts->dims[3];
    for (int i = 1; i < 5; i++)
        if (!check_dtype(in[i], BNGN_NAMES[i], in[0]->dtype, err, n) ||
            !check_channels(in[i], BNGN_NAMES[i], &ch, err, n))
            return false;
    ts->dims[3] = ch;
    return true;
}

static tg_code bngn_infer(tg__infer_ctx *c) {
    tg_shape ts;
    char err[512];
    if (!bngn_check(c->in, &ts, err, sizeof err)) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    c->out[0].dtype = c->in[0]->dtype;
    c->out[0].shape = ts;
    return TG_OK;
}

/* out = (t - m) * (rsqrt(v + eps) [* gamma]) + beta along the last axis. */
static tg_code bngn_kernel(tg__kernel_ctx *c) {
    const bngn_attrs *a = c->attrs;
    const tg_array *t = c->in[0];
    tg_code rc = kernel_rank4(c, t, "input");
    if (rc != TG_OK) return rc;
    tg__bn_layout L = layout_of(t, TG_NHWC);
    for (int i = 1; i < 5 && rc == TG_OK; i++) rc = kernel_channels(c, c->in[i], BNGN_NAMES[i], L.c);
    double *w = rc == TG_OK ? scratch(c, tg__bn_infer_scratch(&L), &rc) : NULL;
    if (rc == TG_OK) rc = tg__out_alloc(c, 0, t->dtype, 4, t->dims);
    if (rc != TG_OK) return rc;
    const void *m = c->in[1]->data, *v = c->in[2]->data, *b = c->in[3]->data, *gm = c->in[4]->data;
    const void *scale = a->scale_after_normalization ? gm : NULL;
    tg__bn_infer(c, t->dtype, &L, t->data, scale, b, m, v, a->variance_epsilon, c->out[0]->data, w);
    return TG_OK;
}

/* The math of TF's BatchNormWithGlobalNormalizationGrad kernel, from
 * ordinary (differentiable) ops; k = rsqrt(v + eps) [* gamma]:
 *   dx = dy * k, db = sum(dy), dm = -db * k,
 *   dv = sum(dy * (t - m)) * k * -0.5 / (v + eps),
 *   dg = sum(dy * (t - m)) * rsqrt(v + eps), or zeros without scaling. */
static tg_code bngn_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    const bngn_attrs *a = c->op->attrs;
    tg_tensor *t = c->op->inputs[0], *m = c->op->inputs[1], *v = c->op->inputs[2], *gamma = c->op->inputs[4];
    tg_tensor *dy = c->dy[0];
    tg_dtype dt = t->dtype;
    tg_reduce_opts sum = {.axes = (const int[]){0, 1, 2}, .n_axes = 3};
    tg_tensor *ve = tg_add(g, v, tg_constant_scalar(g, dt, (double)a->variance_epsilon, "variance_epsilon"), NULL);
    tg_tensor *inv = tg_rsqrt(g, ve, NULL);
    tg_tensor *k = a->scale_after_normalization ? tg_multiply(g, inv, gamma, NULL) : inv;
    tg_tensor *db = tg_reduce_sum(g, dy, &sum);
    tg_tensor *s2 = tg_reduce_sum(g, tg_multiply(g, dy, tg_subtract(g, t, m, NULL), NULL), &sum);
    c->dx[0] = tg_multiply(g, dy, k, NULL);
    c->dx[1] = tg_multiply(g, tg_negative(g, db, NULL), k, NULL);
    tg_tensor *half = tg_constant_scalar(g, dt, -0.5, NULL);
    c->dx[2] = tg_multiply(g, s2, tg_divide(g, tg_multiply(g, k, half, NULL), ve, NULL), NULL);
    c->dx[3] = db;
    c->dx[4] = a->scale_after_normalization ? tg_multiply(g, s2, inv, NULL) : tg_zeros_like(g, gamma, NULL);
    return tg_graph_status(g);
}

const tg__op_def tg__op_batch_norm_with_global_normalization = {
    .type = "BatchNormWithGlobalNormalization",
    .n_inputs = 5,
    .n_outputs = 1,
    .attr_size = sizeof(bngn_attrs),
    .state_size = sizeof(bn_state),
    .state_free = bn_state_free,
    .infer = bngn_infer,
    .kernel = {[TG_FLOAT32] = bngn_kernel, [TG_FLOAT64] = bngn_kernel},
    .grad = bngn_grad,
    .format_attrs = bngn_format_attrs,
};

tg_tensor *tg_nn_batch_norm_with_global_normalization(tg_graph *g, tg_tensor *t, tg_tensor *m, tg_tensor *v,
                                                      tg_tensor *beta, tg_tensor *gamma, double variance_epsilon,
                                                      bool scale_after_normalization, const char *name) {
    tg_tensor *in[5] = {t, m, v, beta, gamma};
    /* TF 1.15's Python function composes batch_normalization for any rank;
     * the legacy op (4-D only) stays for 4-D t, where the values agree. */
    if (t && t->shape.rank >= 0 && t->shape.rank != 4) {
        if (!tg__graph_ready_in(g, in, 5, name ? name : "batchnorm")) return NULL;
        return tg_nn_batch_normalization(g, t, m, v, beta, scale_after_normalization ? gamma : NULL,
                                         variance_epsilon, name);
    }
    bngn_attrs a = {(float)variance_epsilon, scale_after_normalization};
    return tg__simple_op(g, &tg__op_batch_norm_with_global_normalization, name, in, 5, &a);
}
