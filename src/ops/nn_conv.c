/* Convolution: Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter, BiasAdd
 * and BiasAddGrad, with TF 1.15's shape functions, padding arithmetic and
 * gradient builders.
 *
 * The three convolution ops check their inputs, size their outputs and the
 * per-session scratch here, and run as im2col + GEMM in nn_conv_kernels.c.
 * The scratch is per-session op state that only grows, so a steady-state
 * run does not allocate. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "nn_conv_kernels.h"

/* ---- attrs, strings, window arithmetic ------------------------------------- */

typedef struct {
    int strides[4];
    int dilations[4];
    int padding;     /* tg_padding */
    int data_format; /* tg_data_format */
} conv_attrs;

tg_padding tg_padding_from_string(tg_graph *g, const char *s) {
    if (s && strcmp(s, "SAME") == 0) return TG_PADDING_SAME;
    if (s && strcmp(s, "VALID") == 0) return TG_PADDING_VALID;
    if (g && tg_graph_status(g) == TG_OK)
        tg__fail(g, TG_INVALID_ARGUMENT,
                 "Value for attr 'padding' of \"%s\" is not in the list of allowed values: \"SAME\", \"VALID\"",
                 s ? s : "(null)");
    return (tg_padding)0;
}

tg_data_format tg_data_format_from_string(tg_graph *g, const char *s) {
    if (s && strcmp(s, "NHWC") == 0) return TG_NHWC;
    if (s && strcmp(s, "NCHW") == 0) return TG_NCHW;
    if (g && tg_graph_status(g) == TG_OK)
        tg__fail(g, TG_INVALID_ARGUMENT,
                 "Value for attr 'data_format' of \"%s\" is not in the list of allowed values: \"NHWC\", \"NCHW\"",
                 s ? s : "(null)");
    return TG_DATA_FORMAT_INVALID;
}

bool tg__windowed_size(int64_t in, int64_t k, int64_t dilation, int64_t stride, int padding, int64_t *out,
                       int64_t *pad_before, char *err, size_t n) {
    *out = -1;
    *pad_before = 0;
    if (in < 0) return true;
    if (k < 0) {
        if (padding == TG_PADDING_SAME) *out = (in + stride - 1) / stride; /* TF's shape fn: k does not matter */
        return true;
    }
    if (k > 1 && k - 1 > (INT64_MAX / 2) / dilation) {
        snprintf(err, n, "window of %lld with dilation %lld is too large", (long long)k, (long long)dilation);
        return false;
    }
    int64_t eff = (k - 1) * dilation + 1;
    if (padding == TG_PADDING_VALID) {
        *out = (in - eff + stride) / stride;
    } else {
        *out = (in + stride - 1) / stride;
        int64_t need = (*out - 1) * stride + eff - in;
        *pad_before = need > 0 ? need / 2 : 0;
    }
    if (*out < 0) {
        snprintf(err, n,
                 "Computed output size would be negative: %lld [input_size: %lld, effective_filter_size: %lld, "
                 "stride: %lld]",
                 (long long)*out, (long long)in, (long long)eff, (long long)stride);
        *out = -1;
        return false;
    }
    return true;
}

/* Positions of H, W and C in a 4-D shape of the given format. */
static void hwc_index(int fmt, int *h, int *w, int *c) {
    *h = fmt == TG_NCHW ? 2 : 1;
    *w = fmt == TG_NCHW ? 3 : 2;
    *c = fmt == TG_NCHW ? 1 : 3;
}

static void format4(const int *v, char *buf, size_t n) { snprintf(buf, n, "[%d, %d, %d, %d]", v[0], v[1], v[2], v[3]); }

/* TF's Conv2D attr checks; the message goes to err. */
static bool check_conv_attrs(const conv_attrs *a, char *err, size_t n) {
    char b[64];
    if (a->padding != TG_PADDING_SAME && a->padding != TG_PADDING_VALID) {
        snprintf(err, n, "padding must be SAME or VALID");
        return false;
    }
    if (a->data_format != TG_NHWC && a->data_format != TG_NCHW) {
        snprintf(err, n, "data_format must be NHWC or NCHW");
        return false;
    }
    int hi, wi, ci;
    hwc_index(a->data_format, &hi, &wi, &ci);
    for (int i = 0; i < 4; i++) {
        if (a->strides[i] < 1) {
            format4(a->strides, b, sizeof b);
            snprintf(err, n, "strides must be positive, not %s", b);
            return false;
        }
        if (a->dilations[i] < 1) {
            format4(a->dilations, b, sizeof b);
            snprintf(err, n, "dilations must be positive, not %s", b);
            return false;
        }
    }
    if (a->strides[0] != 1 || a->strides[ci] != 1) {
        snprintf(err, n, "Current implementation does not yet support strides in the batch and depth dimensions.");
        return false;
    }
    if (a->dilations[0] != 1 || a->dilations[ci] != 1) {
        snprintf(err, n, "Current implementation does not yet support dilations in the batch and depth dimensions.");
        return false;
    }
    return true;
}

/* Options to attrs: all-zero strides and dilations are TF's 1s. */
static conv_attrs conv_attrs_of(const tg_conv2d_opts *opts) {
    tg_conv2d_opts o = opts ? *opts : (tg_conv2d_opts){0};
    conv_attrs a = {.padding = (int)o.padding, .data_format = (int)o.data_format};
    bool zs = true, zd = true;
    for (int i = 0; i < 4; i++) zs &= o.strides[i] == 0, zd &= o.dilations[i] == 0;
    for (int i = 0; i < 4; i++) {
        a.strides[i] = zs ? 1 : o.strides[i];
        a.dilations[i] = zd ? 1 : o.dilations[i];
    }
    return a;
}

static void conv_format_attrs(const void *attrs, tg__strbuf *out) {
    const conv_attrs *a = attrs;
    tg__strbuf_printf(out, "strides=[%d,%d,%d,%d] padding=%s data_format=%s", a->strides[0], a->strides[1],
                      a->strides[2], a->strides[3], a->padding == TG_PADDING_SAME ? "SAME" : "VALID",
                      a->data_format == TG_NCHW ? "NCHW" : "NHWC");
    if (a->dilations[0] * a->dilations[1] * a->dilations[2] * a->dilations[3] != 1)
        tg__strbuf_printf(out, " dilations=[%d,%d,%d,%d]", a->dilations[0], a->dilations[1], a->dilations[2],
                          a->dilations[3]);
}

/* TF 1.15's Conv2D lists explicit_paddings (empty unless padding is
 * EXPLICIT, which tgraph lacks) and use_cudnn_on_gpu (true, tf.nn.conv2d's
 * default), so both are written as TF writes them. */
static void conv2d_export(const tg_op *op, tg__attr_list *out) {
    const conv_attrs *a = op->attrs;
    tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype;
    tg__export_ints4(out, "strides", a->strides);
    tg__export_ints4(out, "dilations", a->dilations);
    tg__attr_add(out, "padding", TG__ATTR_STRING)->u.s = a->padding == TG_PADDING_SAME ? "SAME" : "VALID";
    tg__export_format(out, a->data_format);
    tg__attr_add(out, "explicit_paddings", TG__ATTR_INTS)->u.ints.n = 0;
    tg__attr_add(out, "use_cudnn_on_gpu", TG__ATTR_BOOL)->u.b = true;
}

/* ---- shape-function helpers -------------------------------------------------- */

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

/* A rank-4 shape for t: its own, or four unknown dims when its rank is
 * unknown. Fails for a known rank other than 4. (Shared with nn_pool.c.) */
tg_code tg__shape4(tg__infer_ctx *c, const tg_tensor *t, const char *what, tg_shape *s) {
    if (t->shape.rank < 0) {
        *s = TG_SHAPE(-1, -1, -1, -1);
        return TG_OK;
    }
    if (t->shape.rank != 4) {
        char b[128];
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s must be 4-dimensional, not shape %s", what,
                              tg_shape_format(&t->shape, b, sizeof b));
    }
    *s = t->shape;
    return TG_OK;
}

static tg_code same_float(tg__infer_ctx *c, const tg_tensor *x, const char *xn, const tg_tensor *y, const char *yn) {
    if (!is_float(x->dtype))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s must be float32 or float64, not %s", xn,
                              tg_dtype_name(x->dtype));
    if (y->dtype != x->dtype)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s (%s) and %s (%s) must have the same dtype", xn,
                              tg_dtype_name(x->dtype), yn, tg_dtype_name(y->dtype));
    return TG_OK;
}

/* The 4-D shape an int32 sizes input stands for: a Const's values, the
 * input of a Shape op, or unknown dims. */
static tg_code sizes_shape(tg__infer_ctx *c, const tg_tensor *t, const char *what, tg_shape *s) {
    if (t->dtype != TG_INT32 || (t->shape.rank >= 0 && t->shape.rank != 1) ||
        (t->shape.rank == 1 && t->shape.dims[0] >= 0 && t->shape.dims[0] != 4))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s must be an int32 vector of 4 sizes", what);
    *s = TG_SHAPE(-1, -1, -1, -1);
    const tg_array *v = tg__const_value(t);
    if (v) {
        const int32_t *d = v->data;
        for (int i = 0; i < 4; i++) {
            if (d[i] < 0) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s[%d] is negative (%d)", what, i, d[i]);
            s->dims[i] = d[i];
        }
    } else if (t->op->def == &tg__op_shape && t->op->inputs[0]->shape.rank == 4) {
        *s = t->op->inputs[0]->shape;
    }
    return TG_OK;
}

/* Merges two views of one dimension: -1 is unknown; known values must agree. */
static tg_code merge_dim(tg__infer_ctx *c, int64_t *d, int64_t other, const char *fmt) {
    if (other < 0) return TG_OK;
    if (*d >= 0 && *d != other) return tg__infer_fail(c, TG_INVALID_ARGUMENT, fmt, (long long)*d, (long long)other);
    *d = other;
    return TG_OK;
}

/* Checks a conv's geometry where known: in (x, NHWC/NCHW), filter f (HWIO)
 * and, when given, the output y. Fills y's known dims back. */
static tg_code conv_shapes(tg__infer_ctx *c, const conv_attrs *a, tg_shape *x, tg_shape *f, tg_shape *y) {
    int hi, wi, ci;
    hwc_index(a->data_format, &hi, &wi, &ci);
    tg_code rc = merge_dim(c, &x->dims[ci], f->dims[2], "input depth %lld does not match filter in_channels %lld");
    if (rc != TG_OK) return rc;
    f->dims[2] = x->dims[ci];
    int64_t o[2], pad;
    char err[256];
    for (int i = 0; i < 2; i++) {
        int xi = i == 0 ? hi : wi;
        if (!tg__windowed_size(x->dims[xi], f->dims[i], a->dilations[xi], a->strides[xi], a->padding, &o[i], &pad,
                               err, sizeof err))
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    }
    tg_shape want = {.rank = 4};
    want.dims[0] = x->dims[0];
    want.dims[hi] = o[0];
    want.dims[wi] = o[1];
    want.dims[ci] = f->dims[3];
    for (int i = 0; i < 4; i++) {
        if (y->dims[i] >= 0 && want.dims[i] >= 0 && y->dims[i] != want.dims[i]) {
            char b1[128], b2[128];
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "out_backprop has shape %s, but the convolution gives %s",
                                  tg_shape_format(y, b1, sizeof b1), tg_shape_format(&want, b2, sizeof b2));
        }
        if (y->dims[i] < 0) y->dims[i] = want.dims[i];
    }
    /* The output knows the batch and out_channels when the inputs do not. */
    if (x->dims[0] < 0) x->dims[0] = y->dims[0];
    if (f->dims[3] < 0) f->dims[3] = y->dims[ci];
    return TG_OK;
}

static tg_code conv_attrs_ok(tg__infer_ctx *c, const conv_attrs *a) {
    char err[256];
    if (!check_conv_attrs(a, err, sizeof err)) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    return TG_OK;
}

/* ---- kernel geometry and scratch ---------------------------------------------- */

typedef tg__conv_geom geom;

/* Logical (n, h, w, c) of a 4-D shape in the given format. */
static void nhwc_of(const int64_t *d, int fmt, int64_t o[4]) {
    int hi, wi, ci;
    hwc_index(fmt, &hi, &wi, &ci);
    o[0] = d[0], o[1] = d[hi], o[2] = d[wi], o[3] = d[ci];
}

static void dims_of(const int64_t l[4], int fmt, int64_t d[4]) {
    int hi, wi, ci;
    hwc_index(fmt, &hi, &wi, &ci);
    d[0] = l[0], d[hi] = l[1], d[wi] = l[2], d[ci] = l[3];
}

/* Geometry from logical input dims x and filter dims f (HWIO). */
static tg_code make_geom(tg__kernel_ctx *c, const conv_attrs *a, const int64_t x[4], const int64_t f[4], geom *g) {
    if (x[3] != f[2])
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "input depth %lld does not match filter in_channels %lld",
                               (long long)x[3], (long long)f[2]);
    int hi, wi, ci;
    hwc_index(a->data_format, &hi, &wi, &ci);
    *g = (geom){.n = x[0], .h = x[1], .w = x[2], .c = x[3], .kh = f[0], .kw = f[1], .oc = f[3],
                .sh = a->strides[hi], .sw = a->strides[wi], .dh = a->dilations[hi], .dw = a->dilations[wi],
                .nchw = a->data_format == TG_NCHW};
    char err[256];
    if (!tg__windowed_size(g->h, g->kh, g->dh, g->sh, a->padding, &g->oh, &g->ph, err, sizeof err) ||
        !tg__windowed_size(g->w, g->kw, g->dw, g->sw, a->padding, &g->ow, &g->pw, err, sizeof err))
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    g->hs = g->nchw ? g->w : g->w * g->c;
    g->ws = g->nchw ? 1 : g->c;
    g->cs = g->nchw ? g->h * g->w : 1;
    g->P = g->oh * g->ow;
    g->K = g->kh * g->kw * g->c;
    /* Dims are at most 2^59 elements in all, so the products above hold;
     * BLAS takes int sizes. */
    if (g->P > INT_MAX || g->K > INT_MAX || g->oc > INT_MAX || g->P * g->K > TG__MAX_ELEMENTS)
        return tg__kernel_fail(c, TG_UNIMPLEMENTED, "convolution too large for one GEMM (P=%lld, K=%lld)",
                               (long long)g->P, (long long)g->K);
    g->direct = !g->nchw && g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
    return TG_OK;
}

typedef struct {
    void *buf;
    size_t cap;
} conv_state;

static void conv_state_free(void *state) { free(((conv_state *)state)->buf); }

/* The session's grow-only scratch buffer of this op for a run of kind on g;
 * never NULL on success, even when g needs no scratch. */
static void *scratch(tg__kernel_ctx *c, tg__conv_kind kind, const geom *g, tg_dtype dt, tg_code *rc) {
    conv_state *st = c->state;
    size_t bytes = tg__conv_scratch_bytes(c, kind, g, dt);
    if (bytes == 0) bytes = 64;
    *rc = TG_OK;
    if (!st) {
        *rc = tg__kernel_fail(c, TG_INTERNAL, "no op state");
        return NULL;
    }
    if (bytes > st->cap) {
        void *p = realloc(st->buf, bytes);
        if (!p) {
            *rc = tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "out of memory for %zu bytes of im2col buffers", bytes);
            return NULL;
        }
        st->buf = p;
        st->cap = bytes;
    }
    return st->buf;
}

/* Shapes out[0]; `empty` (nothing to sum: a zero-sized K, P or oc) zero-fills
 * it too, since the GEMMs that would write it do not run. */
static tg_code alloc_out(tg__kernel_ctx *c, tg_dtype dt, const int64_t d[4], bool empty) {
    tg_code rc = tg__out_alloc(c, 0, dt, 4, d);
    if (rc == TG_OK && empty && c->out[0]->size)
        memset(c->out[0]->data, 0, (size_t)c->out[0]->size * tg_dtype_size(dt));
    return rc;
}

static tg_code rank4(tg__kernel_ctx *c, const tg_array *a, const char *what) {
    if (a->rank == 4) return TG_OK;
    return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s must be 4-dimensional, not rank %d", what, a->rank);
}

/* An int32 sizes input: 4 non-negative sizes. */
static tg_code read_sizes(tg__kernel_ctx *c, const tg_array *s, const char *what, int64_t d[4]) {
    if (s->dtype != TG_INT32 || s->rank != 1 || s->size != 4)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s must be an int32 vector of 4 sizes", what);
    const int32_t *v = s->data;
    for (int i = 0; i < 4; i++) {
        if (v[i] < 0) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s[%d] is negative (%d)", what, i, v[i]);
        d[i] = v[i];
    }
    return TG_OK;
}

/* out_backprop must have the shape Conv2D gives for g. */
static tg_code check_dy(tg__kernel_ctx *c, const geom *g, const tg_array *dy, int fmt) {
    tg_code rc = rank4(c, dy, "out_backprop");
    if (rc != TG_OK) return rc;
    int64_t l[4];
    nhwc_of(dy->dims, fmt, l);
    if (l[0] != g->n || l[1] != g->oh || l[2] != g->ow || l[3] != g->oc)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT,
                               "out_backprop is [N=%lld, H=%lld, W=%lld, C=%lld], but the convolution gives "
                               "[N=%lld, H=%lld, W=%lld, C=%lld]",
                               (long long)l[0], (long long)l[1], (long long)l[2], (long long)l[3], (long long)g->n,
                               (long long)g->oh, (long long)g->ow, (long long)g->oc);
    return TG_OK;
}

/* ---- Conv2D ---------------------------------------------------------------------- */

/* y[b, oy, ox, o] = sum over ky, kx, ci of
 *   x[b, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw, ci] * w[ky, kx, ci, o] */
static tg_code conv2d_infer(tg__infer_ctx *c) {
    const conv_attrs *a = c->attrs;
    tg_shape x, f, y = TG_SHAPE(-1, -1, -1, -1);
    tg_code rc = conv_attrs_ok(c, a);
    if (rc == TG_OK) rc = same_float(c, c->in[0], "input", c->in[1], "filter");
    if (rc == TG_OK) rc = tg__shape4(c, c->in[0], "input", &x);
    if (rc == TG_OK) rc = tg__shape4(c, c->in[1], "filter", &f);
    if (rc == TG_OK) rc = conv_shapes(c, a, &x, &f, &y);
    if (rc != TG_OK) return rc;
    c->out[0].dtype = c->in[0]->dtype;
    c->out[0].shape = y;
    return TG_OK;
}

static tg_code conv2d_kernel(tg__kernel_ctx *c) {
    const conv_attrs *a = c->attrs;
    const tg_array *x = c->in[0], *f = c->in[1];
    tg_code rc = rank4(c, x, "input");
    if (rc == TG_OK) rc = rank4(c, f, "filter");
    if (rc != TG_OK) return rc;
    int64_t xl[4], yl[4], yd[4];
    nhwc_of(x->dims, a->data_format, xl);
    geom g;
    if ((rc = make_geom(c, a, xl, f->dims, &g)) != TG_OK) return rc;
    yl[0] = g.n, yl[1] = g.oh, yl[2] = g.ow, yl[3] = g.oc;
    dims_of(yl, a->data_format, yd);
    tg_dtype dt = x->dtype;
    bool empty = g.K == 0;
    if ((rc = alloc_out(c, dt, yd, empty)) != TG_OK) return rc;
    if (c->out[0]->size == 0 || empty) return TG_OK;
    void *buf = scratch(c, TG__CONV_FORWARD, &g, dt, &rc);
    if (rc != TG_OK) return rc;
    tg__conv2d_forward(c, dt, &g, x->data, f->data, c->out[0]->data, buf);
    return TG_OK;
}

/* ---- Conv2DBackpropInput --------------------------------------------------------- */

static tg_code bp_input_infer(tg__infer_ctx *c) {
    const conv_attrs *a = c->attrs;
    tg_shape x, f, y;
    tg_code rc = conv_attrs_ok(c, a);
    if (rc == TG_OK) rc = same_float(c, c->in[1], "filter", c->in[2], "out_backprop");
    if (rc == TG_OK) rc = sizes_shape(c, c->in[0], "input_sizes", &x);
    if (rc == TG_OK) rc = tg__shape4(c, c->in[1], "filter", &f);
    if (rc == TG_OK) rc = tg__shape4(c, c->in[2], "out_backprop", &y);
    if (rc == TG_OK) rc = conv_shapes(c, a, &x, &f, &y);
    if (rc != TG_OK) return rc;
    c->out[0].dtype = c->in[1]->dtype;
    c->out[0].shape = x;
    return TG_OK;
}

/* dx = col2im(dy . w^T), image by image. */
static tg_code bp_input_kernel(tg__kernel_ctx *c) {
    const conv_attrs *a = c->attrs;
    const tg_array *f = c->in[1], *dy = c->in[2];
    int64_t xd[4], xl[4];
    tg_code rc = read_sizes(c, c->in[0], "input_sizes", xd);
    if (rc == TG_OK) rc = rank4(c, f, "filter");
    if (rc != TG_OK) return rc;
    nhwc_of(xd, a->data_format, xl);
    geom g;
    if ((rc = make_geom(c, a, xl, f->dims, &g)) != TG_OK) return rc;
    if ((rc = check_dy(c, &g, dy, a->data_format)) != TG_OK) return rc;
    tg_dtype dt = f->dtype;
    bool empty = g.K == 0 || g.P == 0 || g.oc == 0;
    if ((rc = alloc_out(c, dt, xd, empty)) != TG_OK) return rc;
    if (c->out[0]->size == 0 || empty) return TG_OK;
    void *buf = scratch(c, TG__CONV_BP_INPUT, &g, dt, &rc);
    if (rc != TG_OK) return rc;
    tg__conv2d_backprop_input(c, dt, &g, f->data, dy->data, c->out[0]->data, buf);
    return TG_OK;
}

/* ---- Conv2DBackpropFilter -------------------------------------------------------- */

static tg_code bp_filter_infer(tg__infer_ctx *c) {
    const conv_attrs *a = c->attrs;
    tg_shape x, f, y;
    tg_code rc = conv_attrs_ok(c, a);
    if (rc == TG_OK) rc = same_float(c, c->in[0], "input", c->in[2], "out_backprop");
    if (rc == TG_OK) rc = tg__shape4(c, c->in[0], "input", &x);
    if (rc == TG_OK) rc = sizes_shape(c, c->in[1], "filter_sizes", &f);
    if (rc == TG_OK) rc = tg__shape4(c, c->in[2], "out_backprop", &y);
    if (rc == TG_OK) rc = conv_shapes(c, a, &x, &f, &y);
    if (rc != TG_OK) return rc;
    c->out[0].dtype = c->in[0]->dtype;
    c->out[0].shape = f;
    return TG_OK;
}

/* dw = sum over images of im2col(x_b)^T . dy_b. */
static tg_code bp_filter_kernel(tg__kernel_ctx *c) {
    const conv_attrs *a = c->attrs;
    const tg_array *x = c->in[0], *dy = c->in[2];
    int64_t fd[4], xl[4];
    tg_code rc = rank4(c, x, "input");
    if (rc == TG_OK) rc = read_sizes(c, c->in[1], "filter_sizes", fd);
    if (rc != TG_OK) return rc;
    nhwc_of(x->dims, a->data_format, xl);
    geom g;
    if ((rc = make_geom(c, a, xl, fd, &g)) != TG_OK) return rc;
    if ((rc = check_dy(c, &g, dy, a->data_format)) != TG_OK) return rc;
    tg_dtype dt = x->dtype;
    bool empty = g.P == 0 || g.n == 0;
    if ((rc = alloc_out(c, dt, fd, empty)) != TG_OK) return rc;
    if (c->out[0]->size == 0 || empty) return TG_OK;
    void *buf = scratch(c, TG__CONV_BP_FILTER, &g, dt, &rc);
    if (rc != TG_OK) return rc;
    tg__conv2d_backprop_filter(c, dt, &g, x->data, dy->data, c->out[0]->data, buf);
    return TG_OK;
}

/* ---- gradients (TF's _Conv2DGrad, _Conv2DBackpropInputGrad,
 *      _Conv2DBackpropFilterGrad) --------------------------------------------------- */

/* t's shape as an int32 vector: a Const when static, else Shape(t). */
static tg_tensor *sizes_of(tg_graph *g, tg_tensor *t) {
    if (tg_shape_num_elements(&t->shape) >= 0 && t->shape.rank == 4) {
        int32_t d[4];
        bool fits = true;
        for (int i = 0; i < 4; i++) fits &= t->shape.dims[i] <= INT32_MAX, d[i] = (int32_t)t->shape.dims[i];
        if (fits) return tg__const_i32(g, d, 4, NULL);
    }
    return tg_shape_of(g, t, NULL);
}

static tg_tensor *conv_op(tg_graph *g, const tg__op_def *def, tg_tensor *a, tg_tensor *b, tg_tensor *c,
                          const conv_attrs *at) {
    tg_tensor *in[3] = {a, b, c};
    return tg__simple_op(g, def, NULL, in, def->n_inputs, at);
}

static tg_code conv2d_grad(tg__grad_ctx *c) {
    const conv_attrs *a = c->op->attrs;
    tg_tensor *x = c->op->inputs[0], *w = c->op->inputs[1], *dy = c->dy[0];
    c->dx[0] = conv_op(c->g, &tg__op_conv2d_backprop_input, sizes_of(c->g, x), w, dy, a);
    c->dx[1] = conv_op(c->g, &tg__op_conv2d_backprop_filter, x, sizes_of(c->g, w), dy, a);
    return tg_graph_status(c->g);
}

/* Conv2DBackpropInput is linear in filter and out_backprop. */
static tg_code bp_input_grad(tg__grad_ctx *c) {
    const conv_attrs *a = c->op->attrs;
    tg_tensor *w = c->op->inputs[1], *dy = c->op->inputs[2], *g2 = c->dy[0];
    c->dx[0] = NULL;
    c->dx[1] = conv_op(c->g, &tg__op_conv2d_backprop_filter, g2, sizes_of(c->g, w), dy, a);
    c->dx[2] = conv_op(c->g, &tg__op_conv2d, g2, w, NULL, a);
    return tg_graph_status(c->g);
}

/* Conv2DBackpropFilter is linear in input and out_backprop. */
static tg_code bp_filter_grad(tg__grad_ctx *c) {
    const conv_attrs *a = c->op->attrs;
    tg_tensor *x = c->op->inputs[0], *dy = c->op->inputs[2], *g2 = c->dy[0];
    c->dx[0] = conv_op(c->g, &tg__op_conv2d_backprop_input, sizes_of(c->g, x), g2, dy, a);
    c->dx[1] = NULL;
    c->dx[2] = conv_op(c->g, &tg__op_conv2d, x, g2, NULL, a);
    return tg_graph_status(c->g);
}

const tg__op_def tg__op_conv2d = {
    .type = "Conv2D",
    .n_inputs = 2,
    .n_outputs = 1,
    .attr_size = sizeof(conv_attrs),
    .state_size = sizeof(conv_state),
    .state_free = conv_state_free,
    .infer = conv2d_infer,
    .kernel = {[TG_FLOAT32] = conv2d_kernel, [TG_FLOAT64] = conv2d_kernel},
    .grad = conv2d_grad,
    .format_attrs = conv_format_attrs,
    .export_attrs = conv2d_export,
};

/* Indexed by input 0, the int32 input_sizes; the float type is the filter's. */
const tg__op_def tg__op_conv2d_backprop_input = {
    .type = "Conv2DBackpropInput",
    .n_inputs = 3,
    .n_outputs = 1,
    .attr_size = sizeof(conv_attrs),
    .state_size = sizeof(conv_state),
    .state_free = conv_state_free,
    .infer = bp_input_infer,
    .kernel = {[TG_INT32] = bp_input_kernel},
    .grad = bp_input_grad,
    .format_attrs = conv_format_attrs,
};

const tg__op_def tg__op_conv2d_backprop_filter = {
    .type = "Conv2DBackpropFilter",
    .n_inputs = 3,
    .n_outputs = 1,
    .attr_size = sizeof(conv_attrs),
    .state_size = sizeof(conv_state),
    .state_free = conv_state_free,
    .infer = bp_filter_infer,
    .kernel = {[TG_FLOAT32] = bp_filter_kernel, [TG_FLOAT64] = bp_filter_kernel},
    .grad = bp_filter_grad,
    .format_attrs = conv_format_attrs,
};

tg_tensor *tg_nn_conv2d(tg_graph *g, tg_tensor *input, tg_tensor *filter, const tg_conv2d_opts *opts) {
    conv_attrs a = conv_attrs_of(opts);
    tg_tensor *in[2] = {input, filter};
    return tg__simple_op(g, &tg__op_conv2d, opts ? opts->name : NULL, in, 2, &a);
}

tg_tensor *tg_nn_conv2d_backprop_input(tg_graph *g, tg_tensor *input_sizes, tg_tensor *filter, tg_tensor *out_backprop,
                                       const tg_conv2d_opts *opts) {
    conv_attrs a = conv_attrs_of(opts);
    tg_tensor *in[3] = {input_sizes, filter, out_backprop};
    return tg__simple_op(g, &tg__op_conv2d_backprop_input, opts ? opts->name : NULL, in, 3, &a);
}

tg_tensor *tg_nn_conv2d_backprop_filter(tg_graph *g, tg_tensor *input, tg_tensor *filter_sizes,
                                        tg_tensor *out_backprop, const tg_conv2d_opts *opts) {
    conv_attrs a = conv_attrs_of(opts);
    tg_tensor *in[3] = {input, filter_sizes, out_backprop};
    return tg__simple_op(g, &tg__op_conv2d_backprop_filter, opts ? opts->name : NULL, in, 3, &a);
}

/* ---- BiasAdd and BiasAddGrad ------------------------------------------------------- */

typedef struct {
    int data_format;
} bias_attrs;

/* The channel axis: the last for NHWC, 1 for NCHW (TF's kernel). */
static int bias_axis(int fmt, int rank) { return fmt == TG_NCHW ? 1 : rank - 1; }

static tg_code bias_value_ok(tg__infer_ctx *c, const tg_tensor *v) {
    const bias_attrs *a = c->attrs;
    if (a->data_format != TG_NHWC && a->data_format != TG_NCHW)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "data_format must be NHWC or NCHW");
    if (!is_float(v->dtype))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "value must be float32 or float64, not %s",
                              tg_dtype_name(v->dtype));
    int min = a->data_format == TG_NCHW ? 3 : 2;
    if (v->shape.rank >= 0 && v->shape.rank < min) {
        char b[128];
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "value must be at least %d-dimensional for %s, not shape %s", min,
                              a->data_format == TG_NCHW ? "NCHW" : "NHWC", tg_shape_format(&v->shape, b, sizeof b));
    }
    return TG_OK;
}

/* out = value + bias along the channel axis */
static tg_code bias_add_infer(tg__infer_ctx *c) {
    const bias_attrs *a = c->attrs;
    const tg_tensor *v = c->in[0], *b = c->in[1];
    tg_code rc = bias_value_ok(c, v);
    if (rc == TG_OK) rc = same_float(c, v, "value", b, "bias");
    if (rc != TG_OK) return rc;
    if (b->shape.rank >= 0 && b->shape.rank != 1) {
        char s[128];
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "bias must be 1-dimensional, not shape %s",
                              tg_shape_format(&b->shape, s, sizeof s));
    }
    tg_shape o = v->shape;
    if (o.rank >= 0 && b->shape.rank == 1) {
        int ax = bias_axis(a->data_format, o.rank);
        rc = merge_dim(c, &o.dims[ax], b->shape.dims[0],
                       "Must provide as many biases as the channel dimension of the input tensor: %lld vs. %lld");
        if (rc != TG_OK) return rc;
    }
    c->out[0].dtype = v->dtype;
    c->out[0].shape = o;
    return TG_OK;
}

/* Splits a value's dims around the channel axis: outer * C * inner. */
static tg_code bias_split(tg__kernel_ctx *c, const tg_array *v, int64_t *outer, int64_t *ch, int64_t *inner) {
    const bias_attrs *a = c->attrs;
    int min = a->data_format == TG_NCHW ? 3 : 2;
    if (v->rank < min)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "value must be at least %d-dimensional, not rank %d", min,
                               v->rank);
    int ax = bias_axis(a->data_format, v->rank);
    *outer = 1, *inner = 1, *ch = v->dims[ax];
    for (int i = 0; i < ax; i++) *outer *= v->dims[i];
    for (int i = ax + 1; i < v->rank; i++) *inner *= v->dims[i];
    return TG_OK;
}

#define BIAS_LOOPS(T)                                                                               \
    static void bias_add_##T(const T *v, const T *b, T *o, int64_t outer, int64_t ch, int64_t inner) { \
        for (int64_t i = 0; i < outer; i++)                                                         \
            for (int64_t k = 0; k < ch; k++, v += inner, o += inner)                                \
                for (int64_t j = 0; j < inner; j++) o[j] = v[j] + b[k];                             \
    }                                                                                               \
    static void bias_sum_##T(const T *v, T *o, int64_t outer, int64_t ch, int64_t inner) {          \
        for (int64_t k = 0; k < ch; k++) o[k] = 0;                                                  \
        for (int64_t i = 0; i < outer; i++)                                                         \
            for (int64_t k = 0; k < ch; k++, v += inner)                                            \
                for (int64_t j = 0; j < inner; j++) o[k] += v[j];                                   \
    }
BIAS_LOOPS(float)
BIAS_LOOPS(double)

static tg_code bias_add_kernel(tg__kernel_ctx *c) {
    const tg_array *v = c->in[0], *b = c->in[1];
    int64_t outer = 0, ch = 0, inner = 0;
    tg_code rc = bias_split(c, v, &outer, &ch, &inner);
    if (rc != TG_OK) return rc;
    if (b->rank != 1 || b->dims[0] != ch)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT,
                               "Must provide as many biases as the channel dimension of the input tensor: %lld vs. %lld",
                               (long long)ch, (long long)(b->rank == 1 ? b->dims[0] : b->size));
    if ((rc = tg__out_alloc(c, 0, v->dtype, v->rank, v->dims)) != TG_OK) return rc;
    if (v->dtype == TG_FLOAT32) bias_add_float(v->data, b->data, c->out[0]->data, outer, ch, inner);
    else bias_add_double(v->data, b->data, c->out[0]->data, outer, ch, inner);
    return TG_OK;
}

/* d(value + bias)/d(value, bias) = (dy, dy summed to the channel axis) */
static tg_code bias_add_grad(tg__grad_ctx *c) {
    const bias_attrs *a = c->op->attrs;
    c->dx[0] = c->dy[0];
    c->dx[1] = tg__simple_op(c->g, &tg__op_bias_add_grad, NULL, &c->dy[0], 1, a);
    return tg_graph_status(c->g);
}

static tg_code bias_add_grad_infer(tg__infer_ctx *c) {
    const bias_attrs *a = c->attrs;
    const tg_tensor *v = c->in[0];
    tg_code rc = bias_value_ok(c, v);
    if (rc != TG_OK) return rc;
    c->out[0].dtype = v->dtype;
    c->out[0].shape = TG_SHAPE(v->shape.rank >= 0 ? v->shape.dims[bias_axis(a->data_format, v->shape.rank)] : -1);
    return TG_OK;
}

static tg_code bias_add_grad_kernel(tg__kernel_ctx *c) {
    const tg_array *v = c->in[0];
    int64_t outer = 0, ch = 0, inner = 0;
    tg_code rc = bias_split(c, v, &outer, &ch, &inner);
    if (rc == TG_OK) rc = tg__out_alloc(c, 0, v->dtype, 1, &ch);
    if (rc != TG_OK) return rc;
    if (v->dtype == TG_FLOAT32) bias_sum_float(v->data, c->out[0]->data, outer, ch, inner);
    else bias_sum_double(v->data, c->out[0]->data, outer, ch, inner);
    return TG_OK;
}

/* TF's _BiasAddGradGrad: the [C] gradient broadcast back over the value,
 * here as reshape to [1, .., C, .., 1] plus zeros shaped like the value
 * (the Add's own gradient sums it down again, so this differentiates too). */
static tg_code bias_add_grad_grad(tg__grad_ctx *c) {
    const bias_attrs *a = c->op->attrs;
    tg_tensor *v = c->op->inputs[0];
    int r = v->shape.rank;
    if (r < 0)
        return tg__fail(c->g, TG_UNIMPLEMENTED, "%s: the gradient of BiasAddGrad needs an input of known rank",
                        c->op->name);
    tg_shape k = {.rank = r};
    for (int i = 0; i < r; i++) k.dims[i] = 1;
    k.dims[bias_axis(a->data_format, r)] = -1;
    c->dx[0] = tg_add(c->g, tg_reshape(c->g, c->dy[0], k, NULL), tg_zeros_like(c->g, v, NULL), NULL);
    return tg_graph_status(c->g);
}

static void bias_add_export(const tg_op *op, tg__attr_list *out) {
    const bias_attrs *a = op->attrs;
    tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype;
    tg__export_format(out, a->data_format);
}

const tg__op_def tg__op_bias_add = {
    .type = "BiasAdd",
    .n_inputs = 2,
    .n_outputs = 1,
    .attr_size = sizeof(bias_attrs),
    .infer = bias_add_infer,
    .kernel = {[TG_FLOAT32] = bias_add_kernel, [TG_FLOAT64] = bias_add_kernel},
    .grad = bias_add_grad,
    .export_attrs = bias_add_export,
};

const tg__op_def tg__op_bias_add_grad = {
    .type = "BiasAddGrad",
    .n_inputs = 1,
    .n_outputs = 1,
    .attr_size = sizeof(bias_attrs),
    .infer = bias_add_grad_infer,
    .kernel = {[TG_FLOAT32] = bias_add_grad_kernel, [TG_FLOAT64] = bias_add_grad_kernel},
    .grad = bias_add_grad_grad,
};

tg_tensor *tg_nn_bias_add(tg_graph *g, tg_tensor *value, tg_tensor *bias, tg_data_format data_format,
                          const char *name) {
    bias_attrs a = {(int)data_format};
    tg_tensor *in[2] = {value, bias};
    return tg__simple_op(g, &tg__op_bias_add, name, in, 2, &a);
}

tg_tensor *tg_nn_bias_add_grad(tg_graph *g, tg_tensor *out_backprop, tg_data_format data_format, const char *name) {
    bias_attrs a = {(int)data_format};
    return tg__simple_op(g, &tg__op_bias_add_grad, name, &out_backprop, 1, &a);
}
