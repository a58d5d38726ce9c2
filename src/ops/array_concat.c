/* Joining and splitting along an axis: ConcatV2 (with ConcatOffset for its
 * gradient), Split, Pack and Unpack. As in TF, ConcatV2 takes its axis as a
 * last Const input "concat/axis" and Split as a first Const input
 * "split/split_dim"; Pack and Unpack keep theirs as attrs. Every kernel
 * moves bytes, so one kernel serves every dtype. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "ops_internal.h"

static const char *fmt_shape(const tg_shape *s, char *buf, size_t n) { return tg_shape_format(s, buf, n); }

/* An int32/int64 scalar (or one-element vector). */
static bool read_scalar(const tg_array *a, int64_t *v) {
    if (a->size != 1 || a->rank > 1) return false;
    if (a->dtype == TG_INT32) *v = *(const int32_t *)a->data;
    else if (a->dtype == TG_INT64) *v = *(const int64_t *)a->data;
    else return false;
    return true;
}

/* An int scalar input: int32 or int64, rank 0 (or one element). */
static bool is_int_scalar(const tg_tensor *t) {
    if (t->dtype != TG_INT32 && t->dtype != TG_INT64) return false;
    if (t->shape.rank > 1) return false;
    return !(t->shape.rank == 1 && t->shape.dims[0] >= 0 && t->shape.dims[0] != 1);
}

/* Product of dims[from..to). */
static int64_t prod(const int64_t *dims, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= dims[i];
    return p;
}

/* ---- ConcatV2 ------------------------------------------------------------------ */

/* TF's ConcatShapeHelper on n static shapes; axis < INT64_MIN/2 means not
 * known. Ranks must agree, the axis be in [-rank, rank), other dims merge. */
#define AXIS_UNKNOWN INT64_MIN
static bool concat_shape(const tg_shape *const *s, int n, int64_t axis, tg_shape *out, char *err, size_t len) {
    int rank = -1;
    for (int i = 0; i < n; i++) {
        if (s[i]->rank < 0) continue;
        if (rank < 0) {
            rank = s[i]->rank;
        } else if (s[i]->rank != rank) {
            snprintf(err, len, "Shape must be rank %d but is rank %d for input %d", rank, s[i]->rank, i);
            return false;
        }
    }
    if (rank == 0) {
        snprintf(err, len, "Can't concatenate scalars (use tf.stack instead)");
        return false;
    }
    if (axis != AXIS_UNKNOWN && rank > 0 && (axis < -rank || axis >= rank)) {
        snprintf(err, len, "ConcatOp : Expected concatenating dimensions in the range [%d, %d), but got %lld", -rank,
                 rank, (long long)axis);
        return false;
    }
    *out = TG_SHAPE_UNKNOWN;
    if (rank < 0) return true;
    out->rank = rank;
    if (axis == AXIS_UNKNOWN) {
        for (int d = 0; d < rank; d++) out->dims[d] = -1;
        return true;
    }
    int ax = (int)(axis < 0 ? axis + rank : axis);
    for (int d = 0; d < rank; d++) {
        int64_t v = d == ax ? 0 : -1;
        int from = -1;
        for (int i = 0; i < n; i++) {
            if (s[i]->rank < 0) {
                if (d == ax) v = -1;
                continue;
            }
            int64_t di = s[i]->dims[d];
            if (d == ax) {
                v = (v < 0 || di < 0) ? -1 : v + di;
            } else if (di >= 0) {
                if (v >= 0 && v != di) {
                    char a[128], b[128];
                    snprintf(err, len, "Dimension %d in both shapes must be equal, but are %lld and %lld. Shapes are %s and %s.",
                             d, (long long)v, (long long)di, fmt_shape(s[from], a, sizeof a), fmt_shape(s[i], b, sizeof b));
                    return false;
                }
                v = di, from = i;
            }
        }
        out->dims[d] = v;
    }
    return true;
}

static tg_code concat_infer(tg__infer_ctx *c) {
    int n = c->n_in - 1;
    if (n < 1) return tg__shape_fail(c, "ConcatV2", TG_INVALID_ARGUMENT, "needs at least one value and the axis");
    const tg_tensor *ax = c->in[n];
    if (!is_int_scalar(ax)) return tg__shape_fail(c, "ConcatV2", TG_INVALID_ARGUMENT, "axis must be an int32 or int64 scalar");
    const tg_shape *shapes[64], **sp = n <= 64 ? shapes : malloc((size_t)n * sizeof *sp);
    if (!sp) return tg__shape_fail(c, "ConcatV2", TG_RESOURCE_EXHAUSTED, "out of memory");
    tg_code rc = TG_OK;
    for (int i = 0; i < n && rc == TG_OK; i++) {
        sp[i] = &c->in[i]->shape;
        if (c->in[i]->dtype != c->in[0]->dtype)
            rc = tg__shape_fail(c, "ConcatV2", TG_INVALID_ARGUMENT, "values[%d] has dtype %s, not %s like values[0]", i,
                                tg_dtype_name(c->in[i]->dtype), tg_dtype_name(c->in[0]->dtype));
    }
    if (rc == TG_OK) {
        const tg_array *av = tg__const_value(ax);
        int64_t axis = AXIS_UNKNOWN;
        if (av && !read_scalar(av, &axis)) axis = AXIS_UNKNOWN;
        char err[400];
        c->out[0].dtype = c->in[0]->dtype;
        if (!concat_shape(sp, n, axis, &c->out[0].shape, err, sizeof err))
            rc = tg__shape_fail(c, "ConcatV2", TG_INVALID_ARGUMENT, "%s", err);
    }
    if (sp != shapes) free(sp);
    return rc;
}

static tg_code concat_kernel(tg__kernel_ctx *c) {
    int n = c->n_in - 1;
    const tg_array *x0 = c->in[0];
    int64_t axis;
    if (!read_scalar(c->in[n], &axis)) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "axis must be an int scalar");
    int r = x0->rank;
    if (r == 0) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Can't concatenate scalars (use tf.stack instead)");
    if (axis < -r || axis >= r)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT,
                               "ConcatOp : Expected concatenating dimensions in the range [%d, %d), but got %lld", -r, r,
                               (long long)axis);
    int ax = (int)(axis < 0 ? axis + r : axis);
    int64_t odims[TG_MAX_RANK];
    memcpy(odims, x0->dims, sizeof odims);
    odims[ax] = 0;
    for (int i = 0; i < n; i++) {
        const tg_array *x = c->in[i];
        bool ok = x->rank == r;
        for (int d = 0; ok && d < r; d++) ok = d == ax || x->dims[d] == x0->dims[d];
        if (!ok) {
            char a[128], b[128];
            tg_shape s0 = tg_array_shape(x0), si = tg_array_shape(x);
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT,
                                   "ConcatOp : Dimensions of inputs should match: shape[0] = %s vs. shape[%d] = %s",
                                   fmt_shape(&s0, a, sizeof a), i, fmt_shape(&si, b, sizeof b));
        }
        odims[ax] += x->dims[ax];
    }
    tg_code rc = tg__out_alloc(c, 0, x0->dtype, r, odims);
    if (rc != TG_OK || c->out[0]->size == 0) return rc;
    size_t es = tg_dtype_size(x0->dtype);
    int64_t outer = prod(odims, 0, ax), inner = prod(odims, ax + 1, r) * (int64_t)es;
    char *o = c->out[0]->data;
    for (int64_t k = 0; k < outer; k++) {
        for (int i = 0; i < n; i++) {
            const tg_array *x = c->in[i];
            int64_t chunk = x->dims[ax] * inner;
            if (chunk) memcpy(o, (const char *)x->data + k * chunk, (size_t)chunk);
            o += chunk;
        }
    }
    return TG_OK;
}

/* ---- ConcatOffset: where each input of a concat starts (for its gradient) -- */

static tg_code concat_offset_infer(tg__infer_ctx *c) {
    if (c->n_in < 2 || c->n_out != c->n_in - 1)
        return tg__shape_fail(c, "ConcatOffset", TG_INVALID_ARGUMENT, "needs the axis and one shape per output");
    if (!is_int_scalar(c->in[0])) return tg__shape_fail(c, "ConcatOffset", TG_INVALID_ARGUMENT, "concat_dim must be an int scalar");
    for (int i = 1; i < c->n_in; i++) {
        if (c->in[i]->dtype != TG_INT32 || c->in[i]->shape.rank > 1)
            return tg__shape_fail(c, "ConcatOffset", TG_INVALID_ARGUMENT, "shape %d must be an int32 vector", i - 1);
        c->out[i - 1].dtype = TG_INT32;
        c->out[i - 1].shape = c->in[i]->shape.rank == 1 ? c->in[i]->shape : TG_SHAPE(-1);
    }
    return TG_OK;
}

static tg_code concat_offset_kernel(tg__kernel_ctx *c) {
    int64_t axis;
    if (!read_scalar(c->in[0], &axis)) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "concat_dim must be an int scalar");
    const tg_array *s0 = c->in[1];
    int64_t r = s0->size;
    if (axis < -r || axis >= r)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Concat dim is out of range: %lld vs. %lld", (long long)axis,
                               (long long)r);
    int64_t ax = axis < 0 ? axis + r : axis, off = 0;
    for (int i = 1; i < c->n_in; i++) {
        const tg_array *s = c->in[i];
        if (s->rank != 1 || s->size != r)
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "input %d should contain %lld elements, but got %lld", i - 1,
                                   (long long)r, (long long)s->size);
        tg_code rc = tg__out_alloc(c, i - 1, TG_INT32, 1, &r);
        if (rc != TG_OK) return rc;
        const int32_t *sv = s->data, *s0v = s0->data;
        int32_t *o = c->out[i - 1]->data;
        for (int64_t d = 0; d < r; d++) {
            if (d == ax) {
                o[d] = (int32_t)off;
                off += sv[d];
            } else if (sv[d] != s0v[d]) {
                return tg__kernel_fail(c, TG_INVALID_ARGUMENT,
                                       "All dimensions except %lld must match. Input %d has dimension %lld of size %d "
                                       "and doesn't match input 0 (size %d)",
                                       (long long)ax, i - 1, (long long)d, sv[d], s0v[d]);
            } else {
                o[d] = 0;
            }
        }
    }
    return TG_OK;
}

const tg__op_def tg__op_concat_offset = {
    .type = "ConcatOffset",
    .n_inputs = -1,
    .n_outputs = -1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .infer = concat_offset_infer,
    .kernel = {[TG_INT32] = concat_offset_kernel, [TG_INT64] = concat_offset_kernel},
};

/* d concat(xs)/dx_i: the slice of dy where x_i landed. With every shape
 * and the axis known, begin and size are Consts; otherwise ConcatOffset and
 * Shape compute them when the gradient runs (TF's _ConcatGradHelper). */
static tg_code concat_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    const tg_op *op = c->op;
    int n = op->n_inputs - 1;
    tg_tensor *dy = c->dy[0], *axt = op->inputs[n];
    c->dx[n] = NULL;
    const tg_array *av = tg__const_value(axt);
    int64_t axis;
    bool known = av && read_scalar(av, &axis);
    for (int i = 0; i < n && known; i++) known = tg_shape_num_elements(&op->inputs[i]->shape) >= 0;
    if (known) {
        int r = op->inputs[0]->shape.rank;
        int ax = (int)(axis < 0 ? axis + r : axis);
        int64_t begin[TG_MAX_RANK] = {0}, size[TG_MAX_RANK];
        for (int i = 0; i < n; i++) {
            memcpy(size, op->inputs[i]->shape.dims, sizeof size);
            c->dx[i] = tg_slice(g, dy, begin, size, r, NULL);
            begin[ax] += size[ax];
        }
        return tg_graph_status(g);
    }
    if (axt->dtype != TG_INT32)
        return tg__fail(g, TG_UNIMPLEMENTED, "%s: the gradient of ConcatV2 with unknown shapes needs an int32 axis",
                        op->name);
    tg_tensor **in = malloc((size_t)(n + 1) * sizeof *in);
    if (!in) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
    in[0] = axt;
    for (int i = 0; i < n; i++) in[i + 1] = tg_shape_of(g, op->inputs[i], NULL);
    tg__op_args a = {.def = &tg__op_concat_offset, .inputs = in, .n_inputs = n + 1, .n_outputs = n};
    tg_op *offs = tg_graph_status(g) == TG_OK ? tg__add_op(g, &a) : NULL;
    for (int i = 0; offs && i < n; i++) {
        tg_tensor *sin[3] = {dy, &offs->outputs[i], in[i + 1]};
        c->dx[i] = tg__simple_op(g, &tg__op_slice, NULL, sin, 3, NULL);
    }
    free(in);
    return tg_graph_status(g);
}

const tg__op_def tg__op_concat_v2 = {
    .type = "ConcatV2",
    .n_inputs = -1,
    .n_outputs = 1,
    .infer = concat_infer,
    .kernel = TG__ALL_DTYPES(concat_kernel),
    .grad = concat_grad,
};

/* values..., axis: a ConcatV2 with a tensor axis (gradients). */
static tg_tensor *concat_t(tg_graph *g, tg_tensor *const *values, int n, tg_tensor *axis) {
    tg_tensor **in = malloc((size_t)(n + 1) * sizeof *in);
    if (!in) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"), NULL;
    memcpy(in, values, (size_t)n * sizeof *in);
    in[n] = axis;
    tg__op_args a = {.def = &tg__op_concat_v2, .name = "concat", .inputs = in, .n_inputs = n + 1};
    tg_tensor *out = tg__out0(tg__add_op(g, &a));
    free(in);
    return out;
}

/* The checks tg_concat and tg_stack share before building anything: at
 * least one tensor, one dtype, and shapes that `shape_fn` accepts. */
typedef bool (*values_shape_fn)(const tg_shape *const *s, int n, int64_t axis, tg_shape *out, char *err, size_t len);

static bool check_values(tg_graph *g, const char *who, const char *type, tg_tensor *const *tensors, int n, int axis,
                         values_shape_fn shape_fn) {
    if (!tg__graph_ready(g, NULL, 0)) return false;
    if (n < 1 || !tensors) {
        tg__arg_fail(g, who, type, "needs at least one tensor");
        return false;
    }
    if (!tg__graph_ready_in(g, tensors, n, type)) return false;
    const tg_shape *shapes[64], **sp = n <= 64 ? shapes : malloc((size_t)n * sizeof *sp);
    if (!sp) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"), false;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        sp[i] = &tensors[i]->shape;
        if (tensors[i]->dtype != tensors[0]->dtype) {
            tg__arg_fail(g, who, type, "values[%d] has dtype %s, not %s like values[0]", i,
                         tg_dtype_name(tensors[i]->dtype), tg_dtype_name(tensors[0]->dtype));
            ok = false;
        }
    }
    tg_shape o;
    char err[400];
    if (ok && !shape_fn(sp, n, axis, &o, err, sizeof err)) {
        tg__arg_fail(g, who, type, "%s", err);
        ok = false;
    }
    if (sp != shapes) free(sp);
    return ok;
}

/* TF's concat(values, axis, name="concat"): "concat" with "concat/axis";
 * one value gives Identity "concat" after converting the axis as
 * "concat/concat_dim", as TF does. */
tg_tensor *tg_concat(tg_graph *g, tg_tensor *const *tensors, int n, int axis, const char *name) {
    if (!check_values(g, name ? name : "concat", "ConcatV2", tensors, n, axis, concat_shape)) return NULL;
    const char *scope;
    int tok = tg__builder_scope(g, name, "concat", &scope);
    int32_t av = axis;
    tg_tensor *out = NULL;
    if (n == 1) {
        tg_constant_data(g, TG_INT32, TG_SCALAR, &av, "concat_dim");
        tg__op_args a = {.def = &tg__op_identity, .name = scope, .exact_name = true, .inputs = tensors, .n_inputs = 1};
        out = tg__out0(tg__add_op(g, &a));
    } else {
        tg_tensor **in = malloc((size_t)(n + 1) * sizeof *in);
        if (!in) {
            tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        } else {
            memcpy(in, tensors, (size_t)n * sizeof *in);
            in[n] = tg_constant_data(g, TG_INT32, TG_SCALAR, &av, "axis");
            tg__op_args a = {.def = &tg__op_concat_v2, .name = scope, .exact_name = true, .inputs = in, .n_inputs = n + 1};
            out = tg__out0(tg__add_op(g, &a));
            free(in);
        }
    }
    tg_scope_pop(g, tok);
    return out;
}

/* ---- Split: num_split equal pieces along split_dim ----------------------------------- */

typedef struct {
    int num_split;
} split_attrs;

static bool split_shape(const tg_shape *x, int64_t axis, int num, tg_shape *out, char *err, size_t len) {
    if (num < 1) {
        snprintf(err, len, "Number of ways to split should be > 0, but got %d", num);
        return false;
    }
    *out = *x;
    if (x->rank < 0) return true;
    int r = x->rank;
    if (axis == AXIS_UNKNOWN) {
        for (int d = 0; d < r; d++) out->dims[d] = -1;
        return true;
    }
    if (axis < -r || axis >= r) {
        snprintf(err, len, "-input rank(-%d) <= split_dim < input rank (%d), but got %lld", r, r, (long long)axis);
        return false;
    }
    int ax = (int)(axis < 0 ? axis + r : axis);
    int64_t d = x->dims[ax];
    if (d >= 0 && d % num != 0) {
        snprintf(err, len,
                 "Number of ways to split should evenly divide the split dimension, but got split_dim %d (size = %lld) "
                 "and num_split %d",
                 ax, (long long)d, num);
        return false;
    }
    out->dims[ax] = d < 0 ? -1 : d / num;
    return true;
}

static tg_code split_infer(tg__infer_ctx *c) {
    const split_attrs *a = c->attrs;
    const tg_tensor *sd = c->in[0], *x = c->in[1];
    if (sd->dtype != TG_INT32 || !is_int_scalar(sd))
        return tg__shape_fail(c, "Split", TG_INVALID_ARGUMENT, "split_dim must be an int32 scalar");
    if (c->n_out != a->num_split)
        return tg__shape_fail(c, "Split", TG_INTERNAL, "%d outputs for num_split %d", c->n_out, a->num_split);
    const tg_array *av = tg__const_value(sd);
    int64_t axis = AXIS_UNKNOWN;
    if (av && !read_scalar(av, &axis)) axis = AXIS_UNKNOWN;
    tg_shape o;
    char err[300];
    if (!split_shape(&x->shape, axis, a->num_split, &o, err, sizeof err))
        return tg__shape_fail(c, "Split", TG_INVALID_ARGUMENT, "%s", err);
    for (int i = 0; i < c->n_out; i++) c->out[i].dtype = x->dtype, c->out[i].shape = o;
    return TG_OK;
}

static tg_code split_kernel(tg__kernel_ctx *c) {
    const split_attrs *a = c->attrs;
    const tg_array *x = c->in[1];
    int64_t axis;
    if (!read_scalar(c->in[0], &axis)) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "split_dim must be an int scalar");
    tg_shape xs = tg_array_shape(x), o;
    char err[300];
    if (x->rank == 0) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Can't split a scalar");
    if (!split_shape(&xs, axis, a->num_split, &o, err, sizeof err))
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    int r = x->rank, ax = (int)(axis < 0 ? axis + r : axis);
    for (int i = 0; i < c->n_out; i++) {
        tg_code rc = tg__out_alloc(c, i, x->dtype, r, o.dims);
        if (rc != TG_OK) return rc;
    }
    if (x->size == 0) return TG_OK;
    size_t es = tg_dtype_size(x->dtype);
    int64_t outer = prod(x->dims, 0, ax), chunk = o.dims[ax] * prod(x->dims, ax + 1, r) * (int64_t)es;
    const char *src = x->data;
    for (int64_t k = 0; k < outer; k++)
        for (int i = 0; i < c->n_out; i++, src += chunk) memcpy((char *)c->out[i]->data + k * chunk, src, (size_t)chunk);
    return TG_OK;
}

/* d split(x)/dx: the dys concatenated along split_dim (TF's _SplitGrad;
 * outputs without a gradient already got zeros). */
static tg_code split_grad(tg__grad_ctx *c) {
    int n = c->op->n_outputs;
    c->dx[0] = NULL;
    c->dx[1] = NULL;
    for (int i = 0; i < n; i++)
        if (!c->dy[i]) return TG_OK;
    c->dx[1] = concat_t(c->g, c->dy, n, c->op->inputs[0]);
    return tg_graph_status(c->g);
}

static void split_format(const void *attrs, tg__strbuf *out) {
    tg__strbuf_printf(out, "num_split=%d", ((const split_attrs *)attrs)->num_split);
}

const tg__op_def tg__op_split = {
    .type = "Split",
    .n_inputs = 2,
    .n_outputs = -1,
    .attr_size = sizeof(split_attrs),
    .infer = split_infer,
    .kernel = TG__ALL_DTYPES(split_kernel), /* indexed by split_dim's dtype */
    .grad = split_grad,
    .format_attrs = split_format,
};

/* TF's split(value, num_split, axis, name="split"): "split" with
 * "split/split_dim", outputs "split:0".."split:<n-1>". */
tg_code tg_split(tg_graph *g, tg_tensor *x, int num_split, int axis, tg_tensor **outputs, const char *name) {
    if (outputs)
        for (int i = 0; i < num_split; i++) outputs[i] = NULL;
    if (!tg__graph_ready(g, &x, 1)) return tg__not_ready_code(g);
    const char *who = name ? name : "split";
    if (!outputs) return tg__arg_fail(g, who, "Split", "outputs is NULL");
    tg_shape o;
    char err[300];
    if (x->shape.rank == 0) return tg__arg_fail(g, who, "Split", "Can't split a scalar");
    if (!split_shape(&x->shape, axis, num_split, &o, err, sizeof err))
        return tg__arg_fail(g, who, "Split", "%s", err);
    const char *scope;
    int tok = tg__builder_scope(g, name, "split", &scope);
    int32_t av = axis;
    tg_tensor *in[2] = {tg_constant_data(g, TG_INT32, TG_SCALAR, &av, "split_dim"), x};
    split_attrs a = {num_split};
    tg__op_args args = {.def = &tg__op_split, .name = scope, .exact_name = true, .inputs = in, .n_inputs = 2,
                        .attrs = &a, .n_outputs = num_split};
    tg_op *op = tg__add_op(g, &args);
    tg_scope_pop(g, tok);
    if (!op) return tg_graph_status(g);
    for (int i = 0; i < num_split; i++) outputs[i] = &op->outputs[i];
    return TG_OK;
}

/* ---- Pack and Unpack ------------------------------------------------------------------ */

typedef struct {
    int axis;
    int n; /* Pack: N; Unpack: num */
} pack_attrs;

/* TF's PackShapeFn: the inputs' merged shape with n inserted at axis. */
static bool pack_shape(const tg_shape *const *s, int n, int64_t axis, tg_shape *out, char *err, size_t len) {
    tg_shape m = TG_SHAPE_UNKNOWN;
    int from = 0;
    for (int i = 0; i < n; i++) {
        if (s[i]->rank < 0) continue;
        if (m.rank < 0) {
            m = *s[i], from = i;
            continue;
        }
        bool ok = s[i]->rank == m.rank;
        for (int d = 0; ok && d < m.rank; d++) {
            int64_t a = m.dims[d], b = s[i]->dims[d];
            if (a >= 0 && b >= 0 && a != b) ok = false;
            else if (a < 0) m.dims[d] = b;
        }
        if (!ok) {
            char a[128], b[128];
            snprintf(err, len, "Shapes of all inputs must match: values[%d].shape = %s != values[%d].shape = %s", from,
                     fmt_shape(s[from], a, sizeof a), i, fmt_shape(s[i], b, sizeof b));
            return false;
        }
    }
    *out = TG_SHAPE_UNKNOWN;
    if (m.rank < 0) return true;
    int r = m.rank + 1;
    if (axis < -r || axis >= r) {
        snprintf(err, len, "axis = %lld not in [%d, %d)", (long long)axis, -r, r);
        return false;
    }
    if (r > TG_MAX_RANK) {
        snprintf(err, len, "the result would have rank %d; at most %d is supported", r, TG_MAX_RANK);
        return false;
    }
    int ax = (int)(axis < 0 ? axis + r : axis);
    out->rank = r;
    for (int d = 0, k = 0; d < r; d++) out->dims[d] = d == ax ? n : m.dims[k++];
    return true;
}

static tg_code pack_infer(tg__infer_ctx *c) {
    const pack_attrs *a = c->attrs;
    int n = c->n_in;
    if (n < 1 || n != a->n) return tg__shape_fail(c, "Pack", TG_INVALID_ARGUMENT, "needs N >= 1 values");
    const tg_shape *shapes[64], **sp = n <= 64 ? shapes : malloc((size_t)n * sizeof *sp);
    if (!sp) return tg__shape_fail(c, "Pack", TG_RESOURCE_EXHAUSTED, "out of memory");
    tg_code rc = TG_OK;
    for (int i = 0; i < n && rc == TG_OK; i++) {
        sp[i] = &c->in[i]->shape;
        if (c->in[i]->dtype != c->in[0]->dtype)
            rc = tg__shape_fail(c, "Pack", TG_INVALID_ARGUMENT, "values[%d] has dtype %s, not %s like values[0]", i,
                                tg_dtype_name(c->in[i]->dtype), tg_dtype_name(c->in[0]->dtype));
    }
    char err[400];
    c->out[0].dtype = c->in[0]->dtype;
    if (rc == TG_OK && !pack_shape(sp, n, a->axis, &c->out[0].shape, err, sizeof err))
        rc = tg__shape_fail(c, "Pack", TG_INVALID_ARGUMENT, "%s", err);
    if (sp != shapes) free(sp);
    return rc;
}

static tg_code pack_kernel(tg__kernel_ctx *c) {
    const pack_attrs *a = c->attrs;
    int n = c->n_in;
    const tg_array *x0 = c->in[0];
    for (int i = 1; i < n; i++) {
        const tg_array *x = c->in[i];
        bool ok = x->rank == x0->rank;
        for (int d = 0; ok && d < x0->rank; d++) ok = x->dims[d] == x0->dims[d];
        if (!ok) {
            char s0[128], s1[128];
            tg_shape h0 = tg_array_shape(x0), h1 = tg_array_shape(x);
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT,
                                   "Shapes of all inputs must match: values[0].shape = %s != values[%d].shape = %s",
                                   fmt_shape(&h0, s0, sizeof s0), i, fmt_shape(&h1, s1, sizeof s1));
        }
    }
    int r = x0->rank + 1;
    if (a->axis < -r || a->axis >= r || r > TG_MAX_RANK)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "axis = %d not in [%d, %d)", a->axis, -r, r);
    int ax = a->axis < 0 ? a->axis + r : a->axis;
    int64_t odims[TG_MAX_RANK];
    for (int d = 0, k = 0; d < r; d++) odims[d] = d == ax ? n : x0->dims[k++];
    tg_code rc = tg__out_alloc(c, 0, x0->dtype, r, odims);
    if (rc != TG_OK || c->out[0]->size == 0) return rc;
    size_t es = tg_dtype_size(x0->dtype);
    int64_t outer = prod(x0->dims, 0, ax), chunk = prod(x0->dims, ax, x0->rank) * (int64_t)es;
    char *o = c->out[0]->data;
    for (int64_t k = 0; k < outer; k++)
        for (int i = 0; i < n; i++, o += chunk) memcpy(o, (const char *)c->in[i]->data + k * chunk, (size_t)chunk);
    return TG_OK;
}

/* Unpack: the static shape of each output, x's without axis. */
static bool unpack_shape(const tg_shape *x, int num, int64_t axis, tg_shape *out, char *err, size_t len) {
    *out = TG_SHAPE_UNKNOWN;
    if (x->rank < 0) return true;
    int r = x->rank;
    if (axis < -r || axis >= r) {
        snprintf(err, len, "axis = %lld not in [%d, %d)", (long long)axis, -r, r);
        return false;
    }
    int ax = (int)(axis < 0 ? axis + r : axis);
    if (x->dims[ax] >= 0 && x->dims[ax] != num) {
        snprintf(err, len, "Dimension must be %d but is %lld", num, (long long)x->dims[ax]);
        return false;
    }
    out->rank = r - 1;
    for (int d = 0, k = 0; d < r; d++)
        if (d != ax) out->dims[k++] = x->dims[d];
    return true;
}

static tg_code unpack_infer(tg__infer_ctx *c) {
    const pack_attrs *a = c->attrs;
    if (c->n_out != a->n) return tg__shape_fail(c, "Unpack", TG_INTERNAL, "%d outputs for num %d", c->n_out, a->n);
    tg_shape o;
    char err[300];
    if (!unpack_shape(&c->in[0]->shape, a->n, a->axis, &o, err, sizeof err))
        return tg__shape_fail(c, "Unpack", TG_INVALID_ARGUMENT, "%s", err);
    for (int i = 0; i < c->n_out; i++) c->out[i].dtype = c->in[0]->dtype, c->out[i].shape = o;
    return TG_OK;
}

static tg_code unpack_kernel(tg__kernel_ctx *c) {
    const pack_attrs *a = c->attrs;
    const tg_array *x = c->in[0];
    int r = x->rank;
    if (a->axis < -r || a->axis >= r)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "axis = %d not in [%d, %d)", a->axis, -r, r);
    int ax = a->axis < 0 ? a->axis + r : a->axis;
    if (x->dims[ax] != a->n) {
        char s[128];
        tg_shape xs = tg_array_shape(x);
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Input shape axis %d must equal %d, got shape %s", ax, a->n,
                               fmt_shape(&xs, s, sizeof s));
    }
    int64_t odims[TG_MAX_RANK];
    for (int d = 0, k = 0; d < r; d++)
        if (d != ax) odims[k++] = x->dims[d];
    for (int i = 0; i < a->n; i++) {
        tg_code rc = tg__out_alloc(c, i, x->dtype, r - 1, odims);
        if (rc != TG_OK) return rc;
    }
    if (x->size == 0) return TG_OK;
    size_t es = tg_dtype_size(x->dtype);
    int64_t outer = prod(x->dims, 0, ax), chunk = prod(x->dims, ax + 1, r) * (int64_t)es;
    const char *src = x->data;
    for (int64_t k = 0; k < outer; k++)
        for (int i = 0; i < a->n; i++, src += chunk) memcpy((char *)c->out[i]->data + k * chunk, src, (size_t)chunk);
    return TG_OK;
}

/* d stack(xs)/dx_i = unstack(dy)[i]; d unstack(x)/dx = stack(dys). */
static tg_code pack_grad(tg__grad_ctx *c) {
    const pack_attrs *a = c->op->attrs;
    for (int i = 0; i < c->op->n_inputs; i++) c->dx[i] = NULL;
    tg_code rc = tg_unstack(c->g, c->dy[0], a->n, a->axis, c->dx, NULL);
    if (rc != TG_OK)
        for (int i = 0; i < c->op->n_inputs; i++) c->dx[i] = NULL;
    return rc;
}

static tg_code unpack_grad(tg__grad_ctx *c) {
    const pack_attrs *a = c->op->attrs;
    c->dx[0] = NULL;
    for (int i = 0; i < c->op->n_outputs; i++)
        if (!c->dy[i]) return TG_OK;
    if (c->op->n_outputs == 0) return TG_OK;
    c->dx[0] = tg_stack(c->g, c->dy, c->op->n_outputs, a->axis, NULL);
    return tg_graph_status(c->g);
}

static void pack_format(const void *attrs, tg__strbuf *out) {
    const pack_attrs *a = attrs;
    tg__strbuf_printf(out, "N=%d axis=%d", a->n, a->axis);
}

static void unpack_format(const void *attrs, tg__strbuf *out) {
    const pack_attrs *a = attrs;
    tg__strbuf_printf(out, "num=%d axis=%d", a->n, a->axis);
}

const tg__op_def tg__op_pack = {
    .type = "Pack",
    .n_inputs = -1,
    .n_outputs = 1,
    .attr_size = sizeof(pack_attrs),
    .infer = pack_infer,
    .kernel = TG__ALL_DTYPES(pack_kernel),
    .grad = pack_grad,
    .format_attrs = pack_format,
};

const tg__op_def tg__op_unpack = {
    .type = "Unpack",
    .n_inputs = 1,
    .n_outputs = -1,
    .attr_size = sizeof(pack_attrs),
    .infer = unpack_infer,
    .kernel = TG__ALL_DTYPES(unpack_kernel),
    .grad = unpack_grad,
    .format_attrs = unpack_format,
};

/* TF's stack(values, axis=0, name="stack"): "stack", a Pack op. */
tg_tensor *tg_stack(tg_graph *g, tg_tensor *const *tensors, int n, int axis, const char *name) {
    if (!check_values(g, name ? name : "stack", "Pack", tensors, n, axis, pack_shape)) return NULL;
    pack_attrs a = {axis, n};
    return tg__simple_op(g, &tg__op_pack, name ? name : "stack", tensors, n, &a);
}

/* TF's unstack(value, num=None, axis=0, name="unstack"). */
tg_code tg_unstack(tg_graph *g, tg_tensor *x, int num, int axis, tg_tensor **outputs, const char *name) {
    if (!tg__graph_ready(g, &x, 1)) return tg__not_ready_code(g);
    const char *who = name ? name : "unstack";
    if (!outputs) return tg__arg_fail(g, who, "Unpack", "outputs is NULL");
    int r = x->shape.rank;
    if (num < 0) {
        int ax = r >= 0 && axis < 0 ? axis + r : axis;
        if (r < 0 || ax < 0 || ax >= r || x->shape.dims[ax] < 0 || x->shape.dims[ax] > INT32_MAX) {
            char s[128];
            if (r >= 0 && (ax < 0 || ax >= r))
                return tg__arg_fail(g, who, "Unpack", "axis = %d not in [%d, %d)", axis, -r, r);
            return tg__arg_fail(g, who, "Unpack", "Cannot infer num from shape %s",
                            tg_shape_format(&x->shape, s, sizeof s));
        }
        num = (int)x->shape.dims[ax];
    }
    for (int i = 0; i < num; i++) outputs[i] = NULL;
    tg_shape o;
    char err[300];
    if (!unpack_shape(&x->shape, num, axis, &o, err, sizeof err)) return tg__arg_fail(g, who, "Unpack", "%s", err);
    pack_attrs a = {axis, num};
    tg__op_args args = {.def = &tg__op_unpack, .name = name ? name : "unstack", .inputs = &x, .n_inputs = 1,
                        .attrs = &a, .n_outputs = num};
    tg_op *op = tg__add_op(g, &args);
    if (!op) return tg_graph_status(g);
    for (int i = 0; i < num; i++) outputs[i] = &op->outputs[i];
    return TG_OK;
}
