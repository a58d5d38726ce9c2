/* ExpandDims and Squeeze: views of their input with a size-1 dimension
 * added or removed (no copy). ExpandDims takes its axis as a Const input
 * "ExpandDims/dim" as TF converts it; Squeeze keeps its axes as the attr
 * squeeze_dims. Both gradients reshape dy back to the input's shape. */
#include <stdio.h>
#include <string.h>

#include "ops_internal.h"

/* ---- ExpandDims ------------------------------------------------------------- */

/* The output shape of inserting a 1 at dim (TF's range [-rank-1, rank]). */
static bool expand_shape(const tg_shape *x, int64_t dim, tg_shape *out, char *err, size_t len) {
    int r = x->rank;
    if (dim < -r - 1 || dim > r) {
        snprintf(err, len, "Tried to expand dim index %lld for tensor with %d dimensions.", (long long)dim, r);
        return false;
    }
    if (r + 1 > TG_MAX_RANK) {
        snprintf(err, len, "the result would have rank %d; at most %d is supported", r + 1, TG_MAX_RANK);
        return false;
    }
    int d = (int)(dim < 0 ? dim + r + 1 : dim);
    out->rank = r + 1;
    for (int i = 0, k = 0; i <= r; i++) out->dims[i] = i == d ? 1 : x->dims[k++];
    return true;
}

/* The axis from a scalar or one-element int32/int64 array. */
static bool read_dim(const tg_array *a, int64_t *dim) {
    if (a->size != 1 || a->rank > 1) return false;
    if (a->dtype == TG_INT32) *dim = *(const int32_t *)a->data;
    else if (a->dtype == TG_INT64) *dim = *(const int64_t *)a->data;
    else return false;
    return true;
}

static tg_code expand_dims_infer(tg__infer_ctx *c) {
    const tg_tensor *x = c->in[0], *d = c->in[1];
    if (d->dtype != TG_INT32 && d->dtype != TG_INT64)
        return tg__shape_fail(c, "ExpandDims", TG_INVALID_ARGUMENT, "dim must be int32 or int64, not %s", tg_dtype_name(d->dtype));
    if (d->shape.rank > 1 || (d->shape.rank == 1 && d->shape.dims[0] >= 0 && d->shape.dims[0] != 1))
        return tg__shape_fail(c, "ExpandDims", TG_INVALID_ARGUMENT, "dim must be a scalar (or a vector of one element)");
    c->out[0].dtype = x->dtype;
    c->out[0].shape = TG_SHAPE_UNKNOWN;
    if (x->shape.rank < 0) return TG_OK;
    const tg_array *v = tg__const_value(d);
    int64_t dim;
    char err[160];
    if (!v || !read_dim(v, &dim)) {
        /* dim known only at run time: the rank grows by one */
        if (x->shape.rank + 1 > TG_MAX_RANK)
            return tg__shape_fail(c, "ExpandDims", TG_INVALID_ARGUMENT, "the result would have rank %d; at most %d is supported",
                                  x->shape.rank + 1, TG_MAX_RANK);
        c->out[0].shape.rank = x->shape.rank + 1;
        for (int i = 0; i <= x->shape.rank; i++) c->out[0].shape.dims[i] = -1;
        return TG_OK;
    }
    if (!expand_shape(&x->shape, dim, &c->out[0].shape, err, sizeof err))
        return tg__shape_fail(c, "ExpandDims", TG_INVALID_ARGUMENT, "%s", err);
    return TG_OK;
}

static tg_code expand_dims_kernel(tg__kernel_ctx *c) {
    const tg_array *x = c->in[0];
    int64_t dim;
    if (!read_dim(c->in[1], &dim))
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "dim must be an int32 or int64 scalar");
    tg_shape xs = tg_array_shape(x), o;
    char err[160];
    if (!expand_shape(&xs, dim, &o, err, sizeof err)) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    tg__out_view(c, 0, x, o.rank, o.dims);
    return TG_OK;
}

/* d expand_dims(x)/dx and d squeeze(x)/dx: dy reshaped to x's shape. */
static tg_code reshape_back_grad(tg__grad_ctx *c) {
    c->dx[0] = tg__reshape_like(c->g, c->dy[0], c->op->inputs[0]);
    if (c->op->n_inputs > 1) c->dx[1] = NULL;
    return tg_graph_status(c->g);
}

const tg__op_def tg__op_expand_dims = {
    .type = "ExpandDims",
    .flags = TG__OPF_VIEWS,
    .n_inputs = 2,
    .n_outputs = 1,
    .infer = expand_dims_infer,
    .kernel = TG__ALL_DTYPES(expand_dims_kernel),
    .grad = reshape_back_grad,
};

/* TF's expand_dims(input, axis, name): "ExpandDims" with "ExpandDims/dim". */
tg_tensor *tg_expand_dims(tg_graph *g, tg_tensor *x, int axis, const char *name) {
    if (!tg__graph_ready(g, &x, 1)) return NULL;
    const char *who = name ? name : "ExpandDims";
    if (x->shape.rank >= 0) {
        tg_shape o;
        char err[160];
        if (!expand_shape(&x->shape, axis, &o, err, sizeof err)) {
            tg__arg_fail(g, who, "ExpandDims", "%s", err);
            return NULL;
        }
    }
    const char *scope;
    int tok = tg__builder_scope(g, name, "ExpandDims", &scope);
    int32_t v = axis;
    tg_tensor *in[2] = {x, tg_constant_data(g, TG_INT32, TG_SCALAR, &v, "dim")};
    tg__op_args a = {.def = &tg__op_expand_dims, .name = scope, .exact_name = true, .inputs = in, .n_inputs = 2};
    tg_tensor *out = tg__out0(tg__add_op(g, &a));
    tg_scope_pop(g, tok);
    return out;
}

/* ---- Squeeze ---------------------------------------------------------------------- */

typedef struct {
    int n; /* 0: every size-1 dimension */
    int axes[TG_MAX_RANK];
} squeeze_attrs;

/* TF's SqueezeShapeFn: listed dims must be 1 (an unknown one is assumed
 * to be); squeezing every dim with one unknown gives an unknown shape.
 * Works on run-time shapes too (no unknown dims there). */
static bool squeeze_shape(const tg_shape *x, const squeeze_attrs *a, tg_shape *out, char *err, size_t len) {
    if (x->rank < 0) {
        *out = TG_SHAPE_UNKNOWN;
        return true;
    }
    int r = x->rank;
    bool listed[TG_MAX_RANK] = {false};
    for (int i = 0; i < a->n; i++) {
        int d = a->axes[i];
        if (d < -r || d >= r) {
            snprintf(err, len, "Tried to squeeze dim index %d for tensor with %d dimensions.", d, r);
            return false;
        }
        listed[d < 0 ? d + r : d] = true;
    }
    tg_shape o = {.rank = 0};
    for (int i = 0; i < r; i++) {
        int64_t d = x->dims[i];
        if (a->n > 0) {
            if (!listed[i]) {
                o.dims[o.rank++] = d;
            } else if (d >= 0 && d != 1) {
                snprintf(err, len, "Can not squeeze dim[%d], expected a dimension of 1, got %lld", i, (long long)d);
                return false;
            }
        } else if (d < 0) {
            *out = TG_SHAPE_UNKNOWN;
            return true;
        } else if (d != 1) {
            o.dims[o.rank++] = d;
        }
    }
    *out = o;
    return true;
}

static tg_code squeeze_infer(tg__infer_ctx *c) {
    char err[160];
    c->out[0].dtype = c->in[0]->dtype;
    if (!squeeze_shape(&c->in[0]->shape, c->attrs, &c->out[0].shape, err, sizeof err))
        return tg__shape_fail(c, "Squeeze", TG_INVALID_ARGUMENT, "%s", err);
    return TG_OK;
}

static tg_code squeeze_kernel(tg__kernel_ctx *c) {
    const tg_array *x = c->in[0];
    tg_shape xs = tg_array_shape(x), o;
    char err[160];
    if (!squeeze_shape(&xs, c->attrs, &o, err, sizeof err)) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    tg__out_view(c, 0, x, o.rank, o.dims);
    return TG_OK;
}

static void squeeze_format(const void *attrs, tg__strbuf *out) {
    const squeeze_attrs *a = attrs;
    tg__strbuf_printf(out, "squeeze_dims=[");
    for (int i = 0; i < a->n; i++) tg__strbuf_printf(out, "%s%d", i ? "," : "", a->axes[i]);
    tg__strbuf_printf(out, "]");
}

/* squeeze_dims: [] (TF's default) squeezes every size-1 dimension. */
static void squeeze_export(const tg_op *op, tg__attr_list *out) {
    const squeeze_attrs *a = op->attrs;
    tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype;
    tg__attr *d = tg__attr_add(out, "squeeze_dims", TG__ATTR_INTS);
    d->u.ints.n = a->n;
    for (int i = 0; i < a->n; i++) d->u.ints.v[i] = a->axes[i];
}

const tg__op_def tg__op_squeeze = {
    .type = "Squeeze",
    .flags = TG__OPF_VIEWS,
    .n_inputs = 1,
    .n_outputs = 1,
    .attr_size = sizeof(squeeze_attrs),
    .infer = squeeze_infer,
    .kernel = TG__ALL_DTYPES(squeeze_kernel),
    .grad = reshape_back_grad,
    .format_attrs = squeeze_format,
    .export_attrs = squeeze_export,
};

/* TF's squeeze(input, axis=None, name): "Squeeze" with attr squeeze_dims. */
tg_tensor *tg_squeeze(tg_graph *g, tg_tensor *x, const int *axes, int n, const char *name) {
    if (!tg__graph_ready(g, &x, 1)) return NULL;
    const char *who = name ? name : "Squeeze";
    if (n < 0 || n > TG_MAX_RANK || (n > 0 && !axes)) {
        tg__arg_fail(g, who, "Squeeze", "axes must list 0 to %d dims", TG_MAX_RANK);
        return NULL;
    }
    squeeze_attrs a = {.n = n};
    for (int i = 0; i < n; i++) a.axes[i] = axes[i];
    tg_shape o;
    char err[160];
    if (!squeeze_shape(&x->shape, &a, &o, err, sizeof err)) {
        tg__arg_fail(g, who, "Squeeze", "%s", err);
        return NULL;
    }
    return tg__simple_op(g, &tg__op_squeeze, name, &x, 1, &a);
}
