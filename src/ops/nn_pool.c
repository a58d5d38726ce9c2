/* Pooling: MaxPool, AvgPool and their gradient ops MaxPoolGrad, AvgPoolGrad
 * and MaxPoolGradGrad, with TF 1.15's shape functions and CPU semantics:
 * padded positions never take part (a max ignores them, a mean divides by
 * the valid count), and a max window's gradient goes to its first maximal
 * element in row-major order. Windows are scanned directly (no im2col), so
 * these kernels need no scratch memory. The padding arithmetic is shared
 * with Conv2D (tg__windowed_size in nn_conv.c).
 *
 * NHWC values take channels-last loops: the C channels of one position are
 * contiguous, so each window is scanned once with the channel loop
 * innermost, and the compare-and-select of the max and the sums of the mean
 * vectorize. They split output rows (forward) or whole images (the
 * gradients that scatter into x's shape, whose windows may overlap) over
 * the session's threads; every output is computed by the same arithmetic in
 * the same order as the one-element-at-a-time loops, which NCHW keeps. */
#include <stdint.h>
#include <string.h>

#include "ops_internal.h"

typedef struct {
    int ksize[4];
    int strides[4];
    int padding;     /* tg_padding */
    int data_format; /* tg_data_format */
} pool_attrs;

static void hwc_index(int fmt, int *h, int *w, int *c) {
    *h = fmt == TG_NCHW ? 2 : 1;
    *w = fmt == TG_NCHW ? 3 : 2;
    *c = fmt == TG_NCHW ? 1 : 3;
}

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

/* Options to attrs: all-zero strides are 1s; ksize has no default. */
static pool_attrs pool_attrs_of(const tg_pool_opts *opts) {
    tg_pool_opts o = opts ? *opts : (tg_pool_opts){0};
    pool_attrs a = {.padding = (int)o.padding, .data_format = (int)o.data_format};
    bool zs = true;
    for (int i = 0; i < 4; i++) zs &= o.strides[i] == 0;
    for (int i = 0; i < 4; i++) {
        a.ksize[i] = o.ksize[i];
        a.strides[i] = zs ? 1 : o.strides[i];
    }
    return a;
}

static void pool_format_attrs(const void *attrs, tg__strbuf *out) {
    const pool_attrs *a = attrs;
    tg__strbuf_printf(out, "ksize=[%d,%d,%d,%d] strides=[%d,%d,%d,%d] padding=%s data_format=%s", a->ksize[0],
                      a->ksize[1], a->ksize[2], a->ksize[3], a->strides[0], a->strides[1], a->strides[2],
                      a->strides[3], a->padding == TG_PADDING_SAME ? "SAME" : "VALID",
                      a->data_format == TG_NCHW ? "NCHW" : "NHWC");
}

/* MaxPool and AvgPool: the same attributes in TF's op registry. */
static void pool_export(const tg_op *op, tg__attr_list *out) {
    const pool_attrs *a = op->attrs;
    tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype;
    tg__export_ints4(out, "ksize", a->ksize);
    tg__export_ints4(out, "strides", a->strides);
    tg__attr_add(out, "padding", TG__ATTR_STRING)->u.s = a->padding == TG_PADDING_SAME ? "SAME" : "VALID";
    tg__export_format(out, a->data_format);
}

/* ---- shape functions ------------------------------------------------------------- */

static tg_code pool_attrs_ok(tg__infer_ctx *c, const pool_attrs *a) {
    if (a->padding != TG_PADDING_SAME && a->padding != TG_PADDING_VALID)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "padding must be SAME or VALID");
    if (a->data_format != TG_NHWC && a->data_format != TG_NCHW)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "data_format must be NHWC or NCHW");
    for (int i = 0; i < 4; i++)
        if (a->ksize[i] < 1 || a->strides[i] < 1)
            return tg__infer_fail(c, TG_INVALID_ARGUMENT,
                                  "ksize and strides must have 4 positive values, not ksize [%d, %d, %d, %d], "
                                  "strides [%d, %d, %d, %d]",
                                  a->ksize[0], a->ksize[1], a->ksize[2], a->ksize[3], a->strides[0], a->strides[1],
                                  a->strides[2], a->strides[3]);
    int hi, wi, ci;
    hwc_index(a->data_format, &hi, &wi, &ci);
    if (a->ksize[0] != 1 || a->strides[0] != 1)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "Pooling is not yet supported on the batch dimension.");
    if (a->ksize[ci] != 1 || a->strides[ci] != 1)
        return tg__infer_fail(c, TG_UNIMPLEMENTED, "Pooling across the depth dimension is not supported.");
    return TG_OK;
}

static tg_code shape4(tg__infer_ctx *c, const tg_tensor *t, const char *what, tg_shape *s) {
    if (!is_float(t->dtype))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s must be float32 or float64, not %s", what,
                              tg_dtype_name(t->dtype));
    return tg__shape4(c, t, what, s);
}

/* The pooled shape of x, where known. */
static tg_code pooled(tg__infer_ctx *c, const pool_attrs *a, const tg_shape *x, tg_shape *y) {
    int hi, wi, ci;
    hwc_index(a->data_format, &hi, &wi, &ci);
    *y = *x;
    int64_t pad;
    char err[256];
    if (!tg__windowed_size(x->dims[hi], a->ksize[hi], 1, a->strides[hi], a->padding, &y->dims[hi], &pad, err,
                           sizeof err) ||
        !tg__windowed_size(x->dims[wi], a->ksize[wi], 1, a->strides[wi], a->padding, &y->dims[wi], &pad, err,
                           sizeof err))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    return TG_OK;
}

/* Merges what is known of one shape from two sources. */
static tg_code merge(tg__infer_ctx *c, tg_shape *s, const tg_shape *t, const char *what) {
    for (int i = 0; i < 4; i++) {
        if (s->dims[i] >= 0 && t->dims[i] >= 0 && s->dims[i] != t->dims[i]) {
            char b1[128], b2[128];
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s has shape %s, but the pooling gives %s", what,
                                  tg_shape_format(t, b1, sizeof b1), tg_shape_format(s, b2, sizeof b2));
        }
        if (s->dims[i] < 0) s->dims[i] = t->dims[i];
    }
    return TG_OK;
}

/* MaxPool, AvgPool: y = the max / mean of each window of x */
static tg_code pool_infer(tg__infer_ctx *c) {
    tg_shape x, y;
    tg_code rc = pool_attrs_ok(c, c->attrs);
    if (rc == TG_OK) rc = shape4(c, c->in[0], "value", &x);
    if (rc == TG_OK) rc = pooled(c, c->attrs, &x, &y);
    if (rc != TG_OK) return rc;
    c->out[0].dtype = c->in[0]->dtype;
    c->out[0].shape = y;
    return TG_OK;
}

/* MaxPoolGrad (out_is_input) and MaxPoolGradGrad: inputs orig_input,
 * orig_output and a gradient shaped like orig_output (MaxPoolGrad) or like
 * orig_input (MaxPoolGradGrad). */
static tg_code max_grads_infer(tg__infer_ctx *c, bool out_is_input) {
    tg_shape x, y, gr, want;
    tg_code rc = pool_attrs_ok(c, c->attrs);
    if (rc == TG_OK) rc = shape4(c, c->in[0], "orig_input", &x);
    if (rc == TG_OK) rc = shape4(c, c->in[1], "orig_output", &y);
    if (rc == TG_OK) rc = shape4(c, c->in[2], "grad", &gr);
    if (rc != TG_OK) return rc;
    for (int i = 1; i < 3; i++)
        if (c->in[i]->dtype != c->in[0]->dtype)
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "inputs must have the same dtype: %s vs. %s",
                                  tg_dtype_name(c->in[0]->dtype), tg_dtype_name(c->in[i]->dtype));
    if (!out_is_input) rc = merge(c, &x, &gr, "grad");
    if (rc == TG_OK) rc = pooled(c, c->attrs, &x, &want);
    if (rc == TG_OK) rc = merge(c, &want, &y, "orig_output");
    if (rc == TG_OK && out_is_input) rc = merge(c, &want, &gr, "grad");
    if (rc != TG_OK) return rc;
    c->out[0].dtype = c->in[0]->dtype;
    c->out[0].shape = out_is_input ? x : want;
    return TG_OK;
}

static tg_code max_pool_grad_infer(tg__infer_ctx *c) { return max_grads_infer(c, true); }
static tg_code max_pool_grad_grad_infer(tg__infer_ctx *c) { return max_grads_infer(c, false); }

/* AvgPoolGrad: orig_input_shape (int32 [4]) and grad. */
static tg_code avg_pool_grad_infer(tg__infer_ctx *c) {
    const tg_tensor *sz = c->in[0];
    tg_shape x = TG_SHAPE(-1, -1, -1, -1), gr, want;
    tg_code rc = pool_attrs_ok(c, c->attrs);
    if (rc == TG_OK) rc = shape4(c, c->in[1], "grad", &gr);
    if (rc != TG_OK) return rc;
    if (sz->dtype != TG_INT32 || (sz->shape.rank >= 0 && sz->shape.rank != 1) ||
        (sz->shape.rank == 1 && sz->shape.dims[0] >= 0 && sz->shape.dims[0] != 4))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "orig_input_shape must be an int32 vector of 4 sizes");
    const tg_array *v = tg__const_value(sz);
    if (v) {
        const int32_t *d = v->data;
        for (int i = 0; i < 4; i++) {
            if (d[i] < 0)
                return tg__infer_fail(c, TG_INVALID_ARGUMENT, "orig_input_shape[%d] is negative (%d)", i, d[i]);
            x.dims[i] = d[i];
        }
    } else if (sz->op->def == &tg__op_shape && sz->op->inputs[0]->shape.rank == 4) {
        x = sz->op->inputs[0]->shape;
    }
    if ((rc = pooled(c, c->attrs, &x, &want)) != TG_OK) return rc;
    if ((rc = merge(c, &want, &gr, "grad")) != TG_OK) return rc;
    c->out[0].dtype = c->in[1]->dtype;
    c->out[0].shape = x;
    return TG_OK;
}

/* ---- kernels ------------------------------------------------------------------------- */

typedef struct {
    int64_t n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw;
    int64_t hs, ws, cs;     /* input element strides in one image */
    int64_t ohs, ows, ocs;  /* output element strides in one image */
    bool nhwc_fast;         /* NHWC with positions that fit an int32: the channels-last loops */
} pgeom;

static tg_code rank4(tg__kernel_ctx *c, const tg_array *a, const char *what) {
    if (a->rank == 4) return TG_OK;
    return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s must be 4-dimensional, not rank %d", what, a->rank);
}

/* Geometry from the input's dims (in its data format); *ydims gets the
 * pooled dims in the same format. */
static tg_code make_pgeom(tg__kernel_ctx *c, const int64_t *xd, pgeom *g, int64_t ydims[4]) {
    const pool_attrs *a = c->attrs;
    int hi, wi, ci;
    hwc_index(a->data_format, &hi, &wi, &ci);
    *g = (pgeom){.n = xd[0], .h = xd[hi], .w = xd[wi], .c = xd[ci], .kh = a->ksize[hi], .kw = a->ksize[wi],
                 .sh = a->strides[hi], .sw = a->strides[wi]};
    char err[256];
    if (!tg__windowed_size(g->h, g->kh, 1, g->sh, a->padding, &g->oh, &g->ph, err, sizeof err) ||
        !tg__windowed_size(g->w, g->kw, 1, g->sw, a->padding, &g->ow, &g->pw, err, sizeof err))
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    bool nchw = a->data_format == TG_NCHW;
    g->hs = nchw ? g->w : g->w * g->c;
    g->ws = nchw ? 1 : g->c;
    g->cs = nchw ? g->h * g->w : 1;
    g->ohs = nchw ? g->ow : g->ow * g->c;
    g->ows = nchw ? 1 : g->c;
    g->ocs = nchw ? g->oh * g->ow : 1;
    ydims[0] = g->n, ydims[hi] = g->oh, ydims[wi] = g->ow, ydims[ci] = g->c;
    g->nhwc_fast = !nchw && g->h * g->w <= INT32_MAX;
    return TG_OK;
}

static bool same_dims(const tg_array *a, const int64_t d[4]) {
    return a->rank == 4 && a->dims[0] == d[0] && a->dims[1] == d[1] && a->dims[2] == d[2] && a->dims[3] == d[3];
}

static tg_code shape_fail(tg__kernel_ctx *c, const char *what, const tg_array *a, const int64_t d[4]) {
    char b1[128], b2[128];
    tg_shape s = tg_array_shape(a), t = TG_SHAPE(d[0], d[1], d[2], d[3]);
    return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s has shape %s, expected %s", what,
                           tg_shape_format(&s, b1, sizeof b1), tg_shape_format(&t, b2, sizeof b2));
}

/* The valid part [y0, y1) x [x0, x1) of output (oy, ox)'s window. */
static void window(const pgeom *g, int64_t oy, int64_t ox, int64_t *y0, int64_t *y1, int64_t *x0, int64_t *x1) {
    int64_t ys = oy * g->sh - g->ph, xs = ox * g->sw - g->pw;
    *y0 = ys < 0 ? 0 : ys;
    *x0 = xs < 0 ? 0 : xs;
    *y1 = ys + g->kh < g->h ? ys + g->kh : g->h;
    *x1 = xs + g->kw < g->w ? xs + g->kw : g->w;
}

/* Every (image, output position, channel): base offsets of x and y. */
#define FOR_EACH_OUTPUT(g, xo, yo, y0, y1, x0, x1, BODY)                                          \
    for (int64_t b_ = 0; b_ < (g)->n; b_++)                                                       \
        for (int64_t oy_ = 0; oy_ < (g)->oh; oy_++)                                               \
            for (int64_t ox_ = 0; ox_ < (g)->ow; ox_++) {                                         \
                int64_t y0, y1, x0, x1;                                                           \
                window((g), oy_, ox_, &y0, &y1, &x0, &x1);                                        \
                for (int64_t ch_ = 0; ch_ < (g)->c; ch_++) {                                      \
                    int64_t xo = b_ * (g)->h * (g)->w * (g)->c + ch_ * (g)->cs;                   \
                    int64_t yo = b_ * (g)->oh * (g)->ow * (g)->c + oy_ * (g)->ohs + ox_ * (g)->ows + \
                                 ch_ * (g)->ocs;                                                  \
                    BODY                                                                          \
                }                                                                                 \
            }

#define POOL_LOOPS(T)                                                                             \
    /* Offset of the window's first maximum from xo (TF's CPU argmax: a later                     \
     * element wins only when strictly greater); -1 for an empty window. */                     \
    static int64_t argmax_##T(const pgeom *g, const T *x, int64_t y0, int64_t y1, int64_t x0,     \
                              int64_t x1) {                                                       \
        int64_t best = -1;                                                                        \
        for (int64_t y = y0; y < y1; y++)                                                         \
            for (int64_t xx = x0; xx < x1; xx++) {                                                \
                int64_t o = y * g->hs + xx * g->ws;                                               \
                if (best < 0 || x[best] < x[o]) best = o;                                         \
            }                                                                                     \
        return best;                                                                              \
    }                                                                                             \
    static void max_pool_##T(const pgeom *g, const T *x, T *y) {                                  \
        FOR_EACH_OUTPUT(g, xo, yo, y0, y1, x0, x1, {                                              \
            int64_t m = argmax_##T(g, x + xo, y0, y1, x0, x1);                                    \
            y[yo] = m < 0 ? (T)0 : x[xo + m];                                                     \
        })                                                                                        \
    }                                                                                             \
    static void max_pool_grad_##T(const pgeom *g, const T *x, const T *dy, T *dx) {               \
        FOR_EACH_OUTPUT(g, xo, yo, y0, y1, x0, x1, {                                              \
            int64_t m = argmax_##T(g, x + xo, y0, y1, x0, x1);                                    \
            if (m >= 0) dx[xo + m] += dy[yo];                                                     \
        })                                                                                        \
    }                                                                                             \
    static void max_pool_grad_grad_##T(const pgeom *g, const T *x, const T *gx, T *gy) {          \
        FOR_EACH_OUTPUT(g, xo, yo, y0, y1, x0, x1, {                                              \
            int64_t m = argmax_##T(g, x + xo, y0, y1, x0, x1);                                    \
            gy[yo] = m < 0 ? (T)0 : gx[xo + m];                                                   \
        })                                                                                        \
    }                                                                                             \
    static void avg_pool_##T(const pgeom *g, const T *x, T *y) {                                  \
        FOR_EACH_OUTPUT(g, xo, yo, y0, y1, x0, x1, {                                              \
            T s = 0;                                                                              \
            for (int64_t yy = y0; yy < y1; yy++)                                                  \
                for (int64_t xx = x0; xx < x1; xx++) s += x[xo + yy * g->hs + xx * g->ws];        \
            int64_t n = (y1 - y0) * (x1 - x0);                                                    \
            y[yo] = n > 0 ? s / (T)n : (T)0;                                                      \
        })                                                                                        \
    }                                                                                             \
    static void avg_pool_grad_##T(const pgeom *g, const T *dy, T *dx) {                           \
        FOR_EACH_OUTPUT(g, xo, yo, y0, y1, x0, x1, {                                              \
            int64_t n = (y1 - y0) * (x1 - x0);                                                    \
            if (n == 0) continue;                                                                 \
            T v = dy[yo] / (T)n;                                                                  \
            for (int64_t yy = y0; yy < y1; yy++)                                                  \
                for (int64_t xx = x0; xx < x1; xx++) dx[xo + yy * g->hs + xx * g->ws] += v;       \
        })                                                                                        \
    }
POOL_LOOPS(float)
POOL_LOOPS(double)

/* ---- channels-last (NHWC) loops ---------------------------------------------------------- */

enum { TILE = 64, POOL_GRAIN = 16384 };

typedef struct {
    const pgeom *g;
    const void *x; /* the pooled input (NULL for AvgPoolGrad) */
    const void *a; /* dy, or gx for MaxPoolGradGrad */
    void *out;
} pool_job;

#define NHWC_LOOPS(T)                                                                                        \
    /* Per channel of [k0, k0 + n): the first maximum of the window (a later                                 \
     * element wins only when strictly greater) and its position yy * w + xx. */                             \
    static void nhwc_argmax_##T(const pgeom *g, const T *xi, int64_t y0, int64_t y1, int64_t x0, int64_t x1, \
                                int64_t k0, int n, T *restrict best, int32_t *restrict at) {                 \
        const int64_t C = g->c;                                                                              \
        int32_t p0 = (int32_t)(y0 * g->w + x0);                                                              \
        for (int k = 0; k < n; k++) best[k] = xi[p0 * C + k0 + k], at[k] = p0;                               \
        for (int64_t yy = y0; yy < y1; yy++)                                                                 \
            for (int64_t xx = x0; xx < x1; xx++) {                                                           \
                int32_t p = (int32_t)(yy * g->w + xx);                                                       \
                const T *restrict v = xi + p * C + k0;                                                       \
                /* Branch-free, so that it vectorizes: the select is a max                                   \
                 * instruction, the position update an and with the mask. */                                 \
                for (int k = 0; k < n; k++) {                                                                \
                    T b = best[k], x = v[k];                                                                 \
                    int32_t gt = -(int32_t)(x > b);                                                          \
                    best[k] = x > b ? x : b;                                                                 \
                    at[k] += gt & (p - at[k]);                                                               \
                }                                                                                            \
            }                                                                                                \
    }                                                                                                        \
    /* Output rows r = image * oh + oy. */                                                                   \
    static void nhwc_max_##T(void *ctx, int64_t r0, int64_t r1, int chunk, int slot) {                       \
        (void)chunk, (void)slot;                                                                             \
        const pool_job *j = ctx;                                                                             \
        const pgeom *g = j->g;                                                                               \
        const int64_t C = g->c;                                                                              \
        for (int64_t r = r0; r < r1; r++) {                                                                  \
            const T *xi = (const T *)j->x + (r / g->oh) * g->h * g->w * C;                                   \
            for (int64_t ox = 0; ox < g->ow; ox++) {                                                         \
                T *restrict yo = (T *)j->out + (r * g->ow + ox) * C;                                         \
                int64_t y0, y1, x0, x1;                                                                      \
                window(g, r % g->oh, ox, &y0, &y1, &x0, &x1);                                                \
                if (y0 >= y1 || x0 >= x1) {                                                                  \
                    for (int64_t k = 0; k < C; k++) yo[k] = 0;                                               \
                    continue;                                                                                \
                }                                                                                            \
                const T *first = xi + (y0 * g->w + x0) * C;                                                  \
                for (int64_t k = 0; k < C; k++) yo[k] = first[k];                                            \
                for (int64_t yy = y0; yy < y1; yy++)                                                         \
                    for (int64_t xx = x0; xx < x1; xx++) {                                                   \
                        const T *restrict v = xi + (yy * g->w + xx) * C;                                     \
                        for (int64_t k = 0; k < C; k++) yo[k] = v[k] > yo[k] ? v[k] : yo[k];                 \
                    }                                                                                        \
            }                                                                                                \
        }                                                                                                    \
    }                                                                                                        \
    static void nhwc_avg_##T(void *ctx, int64_t r0, int64_t r1, int chunk, int slot) {                       \
        (void)chunk, (void)slot;                                                                             \
        const pool_job *j = ctx;                                                                             \
        const pgeom *g = j->g;                                                                               \
        const int64_t C = g->c;                                                                              \
        for (int64_t r = r0; r < r1; r++) {                                                                  \
            const T *xi = (const T *)j->x + (r / g->oh) * g->h * g->w * C;                                   \
            for (int64_t ox = 0; ox < g->ow; ox++) {                                                         \
                T *restrict yo = (T *)j->out + (r * g->ow + ox) * C;                                         \
                int64_t y0, y1, x0, x1;                                                                      \
                window(g, r % g->oh, ox, &y0, &y1, &x0, &x1);                                                \
                for (int64_t k = 0; k < C; k++) yo[k] = 0;                                                   \
                for (int64_t yy = y0; yy < y1; yy++)                                                         \
                    for (int64_t xx = x0; xx < x1; xx++) {                                                   \
                        const T *restrict v = xi + (yy * g->w + xx) * C;                                     \
                        for (int64_t k = 0; k < C; k++) yo[k] += v[k];                                       \
                    }                                                                                        \
                int64_t n = (y1 - y0) * (x1 - x0);                                                           \
                if (n > 0)                                                                                   \
                    for (int64_t k = 0; k < C; k++) yo[k] /= (T)n;                                           \
            }                                                                                                \
        }                                                                                                    \
    }                                                                                                        \
    /* Output rows; gy = gx at each window's first maximum. */                                               \
    static void nhwc_max_grad_grad_##T(void *ctx, int64_t r0, int64_t r1, int chunk, int slot) {             \
        (void)chunk, (void)slot;                                                                             \
        const pool_job *j = ctx;                                                                             \
        const pgeom *g = j->g;                                                                               \
        const int64_t C = g->c;                                                                              \
        T best[TILE];                                                                                        \
        int32_t at[TILE];                                                                                    \
        for (int64_t r = r0; r < r1; r++) {                                                                  \
            int64_t img = (r / g->oh) * g->h * g->w * C;                                                     \
            const T *xi = (const T *)j->x + img, *gi = (const T *)j->a + img;                                \
            for (int64_t ox = 0; ox < g->ow; ox++) {                                                         \
                T *yo = (T *)j->out + (r * g->ow + ox) * C;                                                  \
                int64_t y0, y1, x0, x1;                                                                      \
                window(g, r % g->oh, ox, &y0, &y1, &x0, &x1);                                                \
                for (int64_t k0 = 0; k0 < C; k0 += TILE) {                                                   \
                    int n = C - k0 < TILE ? (int)(C - k0) : TILE;                                            \
                    if (y0 >= y1 || x0 >= x1) {                                                              \
                        for (int k = 0; k < n; k++) yo[k0 + k] = 0;                                          \
                        continue;                                                                            \
                    }                                                                                        \
                    nhwc_argmax_##T(g, xi, y0, y1, x0, x1, k0, n, best, at);                                 \
                    for (int k = 0; k < n; k++) yo[k0 + k] = gi[at[k] * C + k0 + k];                         \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
    }                                                                                                        \
    /* Whole images b; dx (zeroed here) gets dy at each window's first maximum. */                           \
    static void nhwc_max_grad_##T(void *ctx, int64_t b0, int64_t b1, int chunk, int slot) {                  \
        (void)chunk, (void)slot;                                                                             \
        const pool_job *j = ctx;                                                                             \
        const pgeom *g = j->g;                                                                               \
        const int64_t C = g->c, hwc = g->h * g->w * C;                                                       \
        T best[TILE];                                                                                        \
        int32_t at[TILE];                                                                                    \
        for (int64_t b = b0; b < b1; b++) {                                                                  \
            const T *xi = (const T *)j->x + b * hwc;                                                         \
            T *dxi = (T *)j->out + b * hwc;                                                                  \
            memset(dxi, 0, (size_t)hwc * sizeof(T));                                                         \
            for (int64_t oy = 0; oy < g->oh; oy++)                                                           \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                                     \
                    const T *dyo = (const T *)j->a + ((b * g->oh + oy) * g->ow + ox) * C;                    \
                    int64_t y0, y1, x0, x1;                                                                  \
                    window(g, oy, ox, &y0, &y1, &x0, &x1);                                                   \
                    if (y0 >= y1 || x0 >= x1) continue;                                                      \
                    for (int64_t k0 = 0; k0 < C; k0 += TILE) {                                               \
                        int n = C - k0 < TILE ? (int)(C - k0) : TILE;                                        \
                        nhwc_argmax_##T(g, xi, y0, y1, x0, x1, k0, n, best, at);                             \
                        for (int k = 0; k < n; k++) dxi[at[k] * C + k0 + k] += dyo[k0 + k];                  \
                    }                                                                                        \
                }                                                                                            \
        }                                                                                                    \
    }                                                                                                        \
    /* Whole images b; dx (zeroed here) gets dy / (valid count) over each window. */                         \
    static void nhwc_avg_grad_##T(void *ctx, int64_t b0, int64_t b1, int chunk, int slot) {                  \
        (void)chunk, (void)slot;                                                                             \
        const pool_job *j = ctx;                                                                             \
        const pgeom *g = j->g;                                                                               \
        const int64_t C = g->c, hwc = g->h * g->w * C;                                                       \
        T v[TILE];                                                                                           \
        for (int64_t b = b0; b < b1; b++) {                                                                  \
            T *dxi = (T *)j->out + b * hwc;                                                                  \
            memset(dxi, 0, (size_t)hwc * sizeof(T));                                                         \
            for (int64_t oy = 0; oy < g->oh; oy++)                                                           \
                for (int64_t ox = 0; ox < g->ow; ox++) {                                                     \
                    const T *dyo = (const T *)j->a + ((b * g->oh + oy) * g->ow + ox) * C;                    \
                    int64_t y0, y1, x0, x1;                                                                  \
                    window(g, oy, ox, &y0, &y1, &x0, &x1);                                                   \
                    int64_t cnt = (y1 - y0) * (x1 - x0);                                                     \
                    if (cnt <= 0) continue;                                                                  \
                    for (int64_t k0 = 0; k0 < C; k0 += TILE) {                                               \
                        int n = C - k0 < TILE ? (int)(C - k0) : TILE;                                        \
                        for (int k = 0; k < n; k++) v[k] = dyo[k0 + k] / (T)cnt;                             \
                        for (int64_t yy = y0; yy < y1; yy++)                                                 \
                            for (int64_t xx = x0; xx < x1; xx++) {                                           \
                                T *restrict d = dxi + (yy * g->w + xx) * C + k0;                             \
                                for (int k = 0; k < n; k++) d[k] += v[k];                                    \
                            }                                                                                \
                    }                                                                                        \
                }                                                                                            \
        }                                                                                                    \
    }
NHWC_LOOPS(float)
NHWC_LOOPS(double)

typedef enum { P_MAX, P_AVG, P_MAX_GRAD, P_MAX_GRAD_GRAD, P_AVG_GRAD } pool_kind;

/* Runs one pooling op. out must be shaped; the gradient ops that scatter
 * (P_MAX_GRAD, P_AVG_GRAD) zero it themselves. */
static void run_pool(tg__kernel_ctx *c, pool_kind kind, tg_dtype dt, const pgeom *g, const void *x, const void *a,
                     void *out) {
    bool f32 = dt == TG_FLOAT32;
    if (!g->nhwc_fast) {
        if (kind == P_MAX_GRAD || kind == P_AVG_GRAD)
            memset(out, 0, (size_t)(g->n * g->h * g->w * g->c) * tg_dtype_size(dt));
        switch (kind) {
        case P_MAX: f32 ? max_pool_float(g, x, out) : max_pool_double(g, x, out); break;
        case P_AVG: f32 ? avg_pool_float(g, x, out) : avg_pool_double(g, x, out); break;
        case P_MAX_GRAD: f32 ? max_pool_grad_float(g, x, a, out) : max_pool_grad_double(g, x, a, out); break;
        case P_MAX_GRAD_GRAD:
            f32 ? max_pool_grad_grad_float(g, x, a, out) : max_pool_grad_grad_double(g, x, a, out);
            break;
        case P_AVG_GRAD: f32 ? avg_pool_grad_float(g, a, out) : avg_pool_grad_double(g, a, out); break;
        }
        return;
    }
    pool_job j = {g, x, a, out};
    static const tg__range_fn fns[5][2] = {
        [P_MAX] = {nhwc_max_float, nhwc_max_double},
        [P_AVG] = {nhwc_avg_float, nhwc_avg_double},
        [P_MAX_GRAD] = {nhwc_max_grad_float, nhwc_max_grad_double},
        [P_MAX_GRAD_GRAD] = {nhwc_max_grad_grad_float, nhwc_max_grad_grad_double},
        [P_AVG_GRAD] = {nhwc_avg_grad_float, nhwc_avg_grad_double},
    };
    tg__range_fn fn = fns[kind][f32 ? 0 : 1];
    int64_t window = g->kh * g->kw;
    if (kind == P_MAX_GRAD || kind == P_AVG_GRAD) {
        int64_t per_image = g->oh * g->ow * g->c * window + g->h * g->w * g->c;
        tg__parallel_for(c, 0, g->n, per_image > 0 ? POOL_GRAIN / per_image + 1 : g->n, fn, &j);
    } else {
        int64_t per_row = g->ow * g->c * window;
        tg__parallel_for(c, 0, g->n * g->oh, per_row > 0 ? POOL_GRAIN / per_row + 1 : g->n * g->oh, fn, &j);
    }
}

static tg_code max_pool_kernel(tg__kernel_ctx *c) {
    const tg_array *x = c->in[0];
    int64_t yd[4];
    pgeom g;
    tg_code rc = rank4(c, x, "value");
    if (rc == TG_OK) rc = make_pgeom(c, x->dims, &g, yd);
    if (rc == TG_OK) rc = tg__out_alloc(c, 0, x->dtype, 4, yd);
    if (rc != TG_OK) return rc;
    run_pool(c, P_MAX, x->dtype, &g, x->data, NULL, c->out[0]->data);
    return TG_OK;
}

static tg_code avg_pool_kernel(tg__kernel_ctx *c) {
    const tg_array *x = c->in[0];
    int64_t yd[4];
    pgeom g;
    tg_code rc = rank4(c, x, "value");
    if (rc == TG_OK) rc = make_pgeom(c, x->dims, &g, yd);
    if (rc == TG_OK) rc = tg__out_alloc(c, 0, x->dtype, 4, yd);
    if (rc != TG_OK) return rc;
    run_pool(c, P_AVG, x->dtype, &g, x->data, NULL, c->out[0]->data);
    return TG_OK;
}

/* Checks orig_input / orig_output / grad of the max-pool gradient ops. */
static tg_code max_grads_geom(tg__kernel_ctx *c, pgeom *g, bool grad_like_input) {
    const tg_array *x = c->in[0], *y = c->in[1], *gr = c->in[2];
    int64_t yd[4];
    tg_code rc = rank4(c, x, "orig_input");
    if (rc == TG_OK) rc = make_pgeom(c, x->dims, g, yd);
    if (rc != TG_OK) return rc;
    if (!same_dims(y, yd)) return shape_fail(c, "orig_output", y, yd);
    const int64_t *gd = grad_like_input ? x->dims : yd;
    if (!same_dims(gr, gd)) return shape_fail(c, "grad", gr, gd);
    return TG_OK;
}

static tg_code max_pool_grad_kernel(tg__kernel_ctx *c) {
    const tg_array *x = c->in[0], *dy = c->in[2];
    pgeom g;
    tg_code rc = max_grads_geom(c, &g, false);
    if (rc == TG_OK) rc = tg__out_alloc(c, 0, x->dtype, 4, x->dims);
    if (rc != TG_OK) return rc;
    run_pool(c, P_MAX_GRAD, x->dtype, &g, x->data, dy->data, c->out[0]->data);
    return TG_OK;
}

static tg_code max_pool_grad_grad_kernel(tg__kernel_ctx *c) {
    const tg_array *x = c->in[0], *y = c->in[1], *gx = c->in[2];
    pgeom g;
    tg_code rc = max_grads_geom(c, &g, true);
    if (rc == TG_OK) rc = tg__out_alloc(c, 0, x->dtype, 4, y->dims);
    if (rc != TG_OK) return rc;
    run_pool(c, P_MAX_GRAD_GRAD, x->dtype, &g, x->data, gx->data, c->out[0]->data);
    return TG_OK;
}

/* Registered under int32 (input 0 is orig_input_shape); grad gives the type. */
static tg_code avg_pool_grad_kernel(tg__kernel_ctx *c) {
    const tg_array *sz = c->in[0], *dy = c->in[1];
    if (sz->dtype != TG_INT32 || sz->rank != 1 || sz->size != 4)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "orig_input_shape must be an int32 vector of 4 sizes");
    if (!is_float(dy->dtype))
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "grad must be float32 or float64, not %s",
                               tg_dtype_name(dy->dtype));
    int64_t xd[4], yd[4];
    const int32_t *v = sz->data;
    for (int i = 0; i < 4; i++) {
        if (v[i] < 0) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "orig_input_shape[%d] is negative (%d)", i, v[i]);
        xd[i] = v[i];
    }
    pgeom g;
    tg_code rc = make_pgeom(c, xd, &g, yd);
    if (rc != TG_OK) return rc;
    if (!same_dims(dy, yd)) return shape_fail(c, "grad", dy, yd);
    if ((rc = tg__out_alloc(c, 0, dy->dtype, 4, xd)) != TG_OK) return rc;
    run_pool(c, P_AVG_GRAD, dy->dtype, &g, NULL, dy->data, c->out[0]->data);
    return TG_OK;
}

/* ---- gradients ------------------------------------------------------------------------ */

static tg_tensor *pool_op(tg_graph *g, const tg__op_def *def, tg_tensor *a, tg_tensor *b, tg_tensor *c,
                          const pool_attrs *at) {
    tg_tensor *in[3] = {a, b, c};
    return tg__simple_op(g, def, NULL, in, def->n_inputs, at);
}

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

static tg_code max_pool_grad(tg__grad_ctx *c) {
    tg_op *op = c->op;
    c->dx[0] = pool_op(c->g, &tg__op_max_pool_grad, op->inputs[0], &op->outputs[0], c->dy[0], op->attrs);
    return tg_graph_status(c->g);
}

static tg_code avg_pool_grad(tg__grad_ctx *c) {
    tg_op *op = c->op;
    c->dx[0] = pool_op(c->g, &tg__op_avg_pool_grad, sizes_of(c->g, op->inputs[0]), c->dy[0], NULL, op->attrs);
    return tg_graph_status(c->g);
}

/* TF's _MaxPoolGradGrad / _MaxPoolGradGradGrad: the routing is piecewise
 * constant in orig_input and orig_output (zeros), linear in grad. */
static tg_code max_pool_grad_grad(tg__grad_ctx *c) {
    tg_op *op = c->op;
    c->dx[0] = tg_zeros_like(c->g, op->inputs[0], NULL);
    c->dx[1] = tg_zeros_like(c->g, op->inputs[1], NULL);
    c->dx[2] = pool_op(c->g, &tg__op_max_pool_grad_grad, op->inputs[0], op->inputs[1], c->dy[0], op->attrs);
    return tg_graph_status(c->g);
}

static tg_code max_pool_grad_grad_grad(tg__grad_ctx *c) {
    tg_op *op = c->op;
    c->dx[0] = tg_zeros_like(c->g, op->inputs[0], NULL);
    c->dx[1] = tg_zeros_like(c->g, op->inputs[1], NULL);
    c->dx[2] = pool_op(c->g, &tg__op_max_pool_grad, op->inputs[0], op->inputs[1], c->dy[0], op->attrs);
    return tg_graph_status(c->g);
}

/* TF's _AvgPoolGradGrad: AvgPoolGrad is linear in grad, and its adjoint is
 * AvgPool. */
static tg_code avg_pool_grad_grad(tg__grad_ctx *c) {
    c->dx[0] = NULL;
    c->dx[1] = pool_op(c->g, &tg__op_avg_pool, c->dy[0], NULL, NULL, c->op->attrs);
    return tg_graph_status(c->g);
}

/* ---- definitions and builders ------------------------------------------------------------- */

const tg__op_def tg__op_max_pool = {
    .type = "MaxPool",
    .n_inputs = 1,
    .n_outputs = 1,
    .attr_size = sizeof(pool_attrs),
    .infer = pool_infer,
    .kernel = {[TG_FLOAT32] = max_pool_kernel, [TG_FLOAT64] = max_pool_kernel},
    .grad = max_pool_grad,
    .format_attrs = pool_format_attrs,
    .export_attrs = pool_export,
};

const tg__op_def tg__op_avg_pool = {
    .type = "AvgPool",
    .n_inputs = 1,
    .n_outputs = 1,
    .attr_size = sizeof(pool_attrs),
    .infer = pool_infer,
    .kernel = {[TG_FLOAT32] = avg_pool_kernel, [TG_FLOAT64] = avg_pool_kernel},
    .grad = avg_pool_grad,
    .format_attrs = pool_format_attrs,
    .export_attrs = pool_export,
};

const tg__op_def tg__op_max_pool_grad = {
    .type = "MaxPoolGrad",
    .n_inputs = 3,
    .n_outputs = 1,
    .attr_size = sizeof(pool_attrs),
    .infer = max_pool_grad_infer,
    .kernel = {[TG_FLOAT32] = max_pool_grad_kernel, [TG_FLOAT64] = max_pool_grad_kernel},
    .grad = max_pool_grad_grad,
    .format_attrs = pool_format_attrs,
};

const tg__op_def tg__op_max_pool_grad_grad = {
    .type = "MaxPoolGradGrad",
    .n_inputs = 3,
    .n_outputs = 1,
    .attr_size = sizeof(pool_attrs),
    .infer = max_pool_grad_grad_infer,
    .kernel = {[TG_FLOAT32] = max_pool_grad_grad_kernel, [TG_FLOAT64] = max_pool_grad_grad_kernel},
    .grad = max_pool_grad_grad_grad,
    .format_attrs = pool_format_attrs,
};

const tg__op_def tg__op_avg_pool_grad = {
    .type = "AvgPoolGrad",
    .n_inputs = 2,
    .n_outputs = 1,
    .attr_size = sizeof(pool_attrs),
    .infer = avg_pool_grad_infer,
    .kernel = {[TG_INT32] = avg_pool_grad_kernel},
    .grad = avg_pool_grad_grad,
    .format_attrs = pool_format_attrs,
};

static tg_tensor *pool(tg_graph *g, const tg__op_def *def, tg_tensor *a, tg_tensor *b, tg_tensor *c,
                       const tg_pool_opts *opts) {
    pool_attrs at = pool_attrs_of(opts);
    tg_tensor *in[3] = {a, b, c};
    return tg__simple_op(g, def, opts ? opts->name : NULL, in, def->n_inputs, &at);
}

tg_tensor *tg_nn_max_pool(tg_graph *g, tg_tensor *value, const tg_pool_opts *opts) {
    return pool(g, &tg__op_max_pool, value, NULL, NULL, opts);
}

tg_tensor *tg_nn_avg_pool(tg_graph *g, tg_tensor *value, const tg_pool_opts *opts) {
    return pool(g, &tg__op_avg_pool, value, NULL, NULL, opts);
}

tg_tensor *tg_nn_max_pool_grad(tg_graph *g, tg_tensor *orig_input, tg_tensor *orig_output, tg_tensor *grad,
                               const tg_pool_opts *opts) {
    return pool(g, &tg__op_max_pool_grad, orig_input, orig_output, grad, opts);
}

tg_tensor *tg_nn_max_pool_grad_grad(tg_graph *g, tg_tensor *orig_input, tg_tensor *orig_output, tg_tensor *grad,
                                    const tg_pool_opts *opts) {
    return pool(g, &tg__op_max_pool_grad_grad, orig_input, orig_output, grad, opts);
}

tg_tensor *tg_nn_avg_pool_grad(tg_graph *g, tg_tensor *orig_input_shape, tg_tensor *grad, const tg_pool_opts *opts) {
    return pool(g, &tg__op_avg_pool_grad, orig_input_shape, grad, NULL, opts);
}
