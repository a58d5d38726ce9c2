/* OneHot (tf.one_hot): a new axis of `depth` entries, on_value where the
 * index is, off_value elsewhere. An index outside [0, depth), negative ones
 * included, gives a row of off_value, as in TF (that is how -1 is used as
 * "no class"). Not differentiable, as in TF: the indices are integers and
 * on/off_value are usually constants. */
#include <string.h>

#include "ops_internal.h"

typedef struct {
    int axis; /* -1: last */
} one_hot_attrs;

static bool is_index_dtype(tg_dtype d) { return d == TG_INT32 || d == TG_INT64; }

static int64_t index_at(const tg_array *a, int64_t i) {
    return a->dtype == TG_INT64 ? ((const int64_t *)a->data)[i] : ((const int32_t *)a->data)[i];
}

/* The output shape for indices of shape s; false when the axis does not fit
 * (TF's kernel message). depth < 0: not known. */
static bool one_hot_shape(const tg_shape *s, int axis, int64_t depth, tg_shape *o, char *err, size_t n) {
    *o = TG_SHAPE_UNKNOWN;
    if (axis < -1) {
        snprintf(err, n, "axis must be >= -1");
        return false;
    }
    if (s->rank < 0) return true;
    if (axis > s->rank || s->rank + 1 > TG_MAX_RANK) {
        snprintf(err, n, "Expected axis to be -1 or between [0, %d).  But received: %d", s->rank + 1, axis);
        return false;
    }
    int a = axis == -1 ? s->rank : axis;
    o->rank = s->rank + 1;
    for (int i = 0, j = 0; i < o->rank; i++) o->dims[i] = i == a ? depth : s->dims[j++];
    return true;
}

static tg_code one_hot_infer(tg__infer_ctx *c) {
    const one_hot_attrs *a = c->attrs;
    const tg_tensor *idx = c->in[0], *depth = c->in[1], *on = c->in[2], *off = c->in[3];
    if (!is_index_dtype(idx->dtype))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "indices must be int32 or int64, not %s",
                              tg_dtype_name(idx->dtype));
    if (depth->dtype != TG_INT32 || depth->shape.rank > 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "depth must be an int32 scalar");
    if (on->shape.rank > 0 || off->shape.rank > 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "Shape must be rank 0 but is rank %d",
                              on->shape.rank > 0 ? on->shape.rank : off->shape.rank);
    if (on->dtype != off->dtype)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "dtype %s of on_value does not match dtype %s of off_value",
                              tg_dtype_name(on->dtype), tg_dtype_name(off->dtype));
    const tg_array *dv = tg__const_value(depth);
    int64_t d = dv ? index_at(dv, 0) : -1;
    if (dv && d < 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "depth must be non-negative, got: %lld", (long long)d);
    char err[160];
    c->out[0].dtype = on->dtype;
    if (!one_hot_shape(&idx->shape, a->axis, d, &c->out[0].shape, err, sizeof err))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    return TG_OK;
}

/* Copies element bytes, so one kernel serves every output dtype; it is
 * picked by the indices' dtype (input 0). */
static tg_code one_hot_kernel(tg__kernel_ctx *c) {
    const one_hot_attrs *a = c->attrs;
    const tg_array *idx = c->in[0], *on = c->in[2], *off = c->in[3];
    if (c->in[1]->size != 1 || on->size != 1 || off->size != 1)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "depth, on_value and off_value must be scalars");
    int64_t depth = index_at(c->in[1], 0);
    if (depth < 0)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "depth must be non-negative, got: %lld", (long long)depth);
    tg_shape s = tg_array_shape(idx), o;
    char err[160];
    if (!one_hot_shape(&s, a->axis, depth, &o, err, sizeof err))
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    tg_code rc = tg__out_alloc(c, 0, on->dtype, o.rank, o.dims);
    if (rc != TG_OK || c->out[0]->size == 0) return rc;
    int ax = a->axis == -1 ? idx->rank : a->axis;
    int64_t prefix = 1, suffix = 1;
    for (int i = 0; i < idx->rank; i++) *(i < ax ? &prefix : &suffix) *= idx->dims[i];
    size_t es = tg_dtype_size(on->dtype);
    char *out = c->out[0]->data;
    /* output[p, d, s] = on where indices[p, s] == d */
    for (int64_t p = 0; p < prefix; p++)
        for (int64_t d = 0; d < depth; d++)
            for (int64_t q = 0; q < suffix; q++, out += es)
                memcpy(out, index_at(idx, p * suffix + q) == d ? on->data : off->data, es);
    return TG_OK;
}

const tg__op_def tg__op_one_hot = {
    .type = "OneHot",
    .n_inputs = 4,
    .n_outputs = 1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .attr_size = sizeof(one_hot_attrs),
    .infer = one_hot_infer,
    .kernel = {[TG_INT32] = one_hot_kernel, [TG_INT64] = one_hot_kernel},
};

tg_tensor *tg_one_hot(tg_graph *g, tg_tensor *indices, int64_t depth, double on_value, double off_value, int axis,
                      tg_dtype dtype, const char *name) {
    const char *who = name ? name : "one_hot";
    if (!tg__graph_ready_in(g, &indices, 1, who)) return NULL;
    /* every refusal before the first Const, so none stays behind */
    tg_shape o;
    char err[160];
    if ((unsigned)dtype >= TG_DTYPE_COUNT)
        return tg__arg_fail(g, who, "OneHot", "invalid dtype %d", (int)dtype), NULL;
    if (!is_index_dtype(indices->dtype))
        return tg__arg_fail(g, who, "OneHot", "indices must be int32 or int64, not %s",
                            tg_dtype_name(indices->dtype)), NULL;
    if (depth < 0 || depth > INT32_MAX)
        return tg__arg_fail(g, who, "OneHot", "depth must be non-negative, got: %lld", (long long)depth), NULL;
    if (!one_hot_shape(&indices->shape, axis, depth, &o, err, sizeof err))
        return tg__arg_fail(g, who, "OneHot", "%s", err), NULL;
    const char *scope;
    int tok = tg__builder_scope(g, name, "one_hot", &scope);
    int32_t dv = (int32_t)depth;
    tg_tensor *on = tg_constant_scalar(g, dtype, on_value, "on_value");
    tg_tensor *off = tg_constant_scalar(g, dtype, off_value, "off_value");
    tg_tensor *in[4] = {indices, tg_constant_data(g, TG_INT32, TG_SCALAR, &dv, "depth"), on, off};
    one_hot_attrs at = {axis};
    tg__op_args args = {.def = &tg__op_one_hot, .name = scope, .exact_name = true, .inputs = in, .n_inputs = 4,
                        .attrs = &at};
    tg_tensor *out = tg__out0(tg__add_op(g, &args));
    tg_scope_pop(g, tok);
    return out;
}
