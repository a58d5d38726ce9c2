/* Indexing by a tensor of indices: GatherV2 (tf.gather) and its adjoint
 * UnsortedSegmentSum (tf.math.unsorted_segment_sum), each the other's
 * gradient. tgraph has no IndexedSlices, so gather's gradient is what TF
 * gives once its IndexedSlices gradient is made dense (TF's
 * _IndexedSlicesToTensor, used by every optimizer here): the gradient rows
 * summed into params' shape by UnsortedSegmentSum. */
#include <stdio.h>
#include <string.h>

#include "ops_internal.h"

static bool is_index_dtype(tg_dtype d) { return d == TG_INT32 || d == TG_INT64; }

static int64_t index_at(const tg_array *a, int64_t i) {
    return a->dtype == TG_INT64 ? ((const int64_t *)a->data)[i] : ((const int32_t *)a->data)[i];
}

static int64_t prod(const int64_t *dims, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= dims[i];
    return p;
}

/* TF's SliceDebugString: element `flat` of shape as "[i,j,...]" ("" for a
 * scalar), so an error names the bad index where the user wrote it. */
static void slice_debug(const tg_array *a, int64_t flat, char *buf, size_t n) {
    int64_t idx[TG_MAX_RANK];
    for (int d = a->rank - 1; d >= 0; d--) {
        idx[d] = a->dims[d] ? flat % a->dims[d] : 0;
        flat = a->dims[d] ? flat / a->dims[d] : 0;
    }
    size_t len = 0;
    buf[0] = '\0';
    for (int d = 0; d < a->rank && len < n; d++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld%s", d ? "," : "[", (long long)idx[d],
                                d == a->rank - 1 ? "]" : "");
}

/* ---- GatherV2(params, indices, axis) ------------------------------------------ */

/* The axis of a rank-r params, normalized; false with TF's message. */
static bool gather_axis(int64_t axis, int r, int *out, char *err, size_t n) {
    if (r < 1) {
        snprintf(err, n, "Shape must be at least rank 1 but is rank %d", r);
        return false;
    }
    if (axis < -r || axis >= r) {
        snprintf(err, n, "Expected axis in the range [%d, %d), but got %lld", -r, r, (long long)axis);
        return false;
    }
    *out = (int)(axis < 0 ? axis + r : axis);
    return true;
}

/* params[:axis] + indices.shape + params[axis+1:], or false with why. */
static bool gather_shape(const tg_shape *p, const tg_shape *idx, int64_t axis, tg_shape *o, char *err, size_t n) {
    *o = TG_SHAPE_UNKNOWN;
    if (p->rank < 0 || idx->rank < 0) return p->rank < 0 || gather_axis(axis, p->rank, &(int){0}, err, n);
    int a;
    if (!gather_axis(axis, p->rank, &a, err, n)) return false;
    if (p->rank - 1 + idx->rank > TG_MAX_RANK) {
        snprintf(err, n, "result would have rank %d, more than %d", p->rank - 1 + idx->rank, TG_MAX_RANK);
        return false;
    }
    o->rank = 0;
    for (int i = 0; i < a; i++) o->dims[o->rank++] = p->dims[i];
    for (int i = 0; i < idx->rank; i++) o->dims[o->rank++] = idx->dims[i];
    for (int i = a + 1; i < p->rank; i++) o->dims[o->rank++] = p->dims[i];
    return true;
}

static tg_code gather_infer(tg__infer_ctx *c) {
    const tg_tensor *p = c->in[0], *idx = c->in[1], *ax = c->in[2];
    if (!is_index_dtype(idx->dtype))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "indices must be int32 or int64, not %s",
                              tg_dtype_name(idx->dtype));
    if (!is_index_dtype(ax->dtype) || ax->shape.rank > 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "axis must be an int32 or int64 scalar");
    c->out[0].dtype = p->dtype;
    c->out[0].shape = TG_SHAPE_UNKNOWN;
    const tg_array *av = tg__const_value(ax);
    if (!av) return TG_OK;
    char err[200];
    if (!gather_shape(&p->shape, &idx->shape, index_at(av, 0), &c->out[0].shape, err, sizeof err))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    return TG_OK;
}

/* Moves bytes only, so one kernel serves every dtype of params. */
static tg_code gather_kernel(tg__kernel_ctx *c) {
    const tg_array *p = c->in[0], *idx = c->in[1];
    char err[200];
    int a;
    if (!gather_axis(index_at(c->in[2], 0), p->rank, &a, err, sizeof err))
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    int64_t limit = p->dims[a];
    for (int64_t i = 0; i < idx->size; i++) {
        int64_t v = index_at(idx, i);
        if (v < 0 || v >= limit) {
            slice_debug(idx, i, err, sizeof err);
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "indices%s = %lld is not in [0, %lld)", err, (long long)v,
                                   (long long)limit);
        }
    }
    tg_shape ps = tg_array_shape(p), is = tg_array_shape(idx), os;
    if (!gather_shape(&ps, &is, a, &os, err, sizeof err)) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    tg_code rc = tg__out_alloc(c, 0, p->dtype, os.rank, os.dims);
    if (rc != TG_OK || c->out[0]->size == 0) return rc;
    size_t row = (size_t)prod(p->dims, a + 1, p->rank) * tg_dtype_size(p->dtype);
    int64_t outer = prod(p->dims, 0, a);
    char *o = c->out[0]->data;
    const char *src = p->data;
    for (int64_t k = 0; k < outer; k++)
        for (int64_t i = 0; i < idx->size; i++, o += row)
            memcpy(o, src + ((size_t)k * (size_t)limit + (size_t)index_at(idx, i)) * row, row);
    return TG_OK;
}

static tg_tensor *segment_sum_t(tg_graph *g, tg_tensor *data, tg_tensor *ids, tg_tensor *num_segments);

/* Dense form of TF's _GatherV2Grad: the gradient viewed as [outer, n, inner]
 * (n = indices' size), moved to [n, outer, inner] when the axis is not the
 * first, summed by index into [N, outer, inner], moved back, reshaped to
 * params. The views need params' shape; TF can leave it to run time. */
static tg_code gather_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *p = c->op->inputs[0], *idx = c->op->inputs[1];
    c->dx[1] = c->dx[2] = NULL;
    const tg_array *av = tg__const_value(c->op->inputs[2]);
    int a = 0;
    char err[200];
    if (!av || tg_shape_num_elements(&p->shape) < 0)
        return tg__fail(g, TG_UNIMPLEMENTED, "%s: the gradient of GatherV2 needs a constant axis and params of a "
                        "known shape", c->op->name);
    if (!gather_axis(index_at(av, 0), p->shape.rank, &a, err, sizeof err))
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s", c->op->name, err);
    int64_t outer = prod(p->shape.dims, 0, a), n = p->shape.dims[a];
    int64_t inner = prod(p->shape.dims, a + 1, p->shape.rank);
    tg_tensor *ids = tg_reshape(g, idx, TG_SHAPE(-1), NULL);
    tg_tensor *num = tg_constant_scalar(g, TG_INT32, (double)n, "num_segments");
    tg_tensor *dx;
    if (a == 0) {
        tg_tensor *v = tg_reshape(g, c->dy[0], TG_SHAPE(-1, inner), NULL);
        dx = segment_sum_t(g, v, ids, num);
    } else {
        static const int swap[3] = {1, 0, 2};
        tg_tensor *v = tg_reshape(g, c->dy[0], TG_SHAPE(outer, -1, inner), NULL);
        dx = tg_transpose(g, segment_sum_t(g, tg_transpose(g, v, swap, 3, NULL), ids, num), swap, 3, NULL);
    }
    c->dx[0] = tg_reshape(g, dx, p->shape, NULL);
    return tg_graph_status(g);
}

const tg__op_def tg__op_gather_v2 = {
    .type = "GatherV2",
    .n_inputs = 3,
    .n_outputs = 1,
    .infer = gather_infer,
    .kernel = TG__ALL_DTYPES(gather_kernel),
    .grad = gather_grad,
};

tg_tensor *tg_gather(tg_graph *g, tg_tensor *params, tg_tensor *indices, int axis, const char *name) {
    tg_tensor *in[2] = {params, indices};
    const char *who = name ? name : "GatherV2";
    if (!tg__graph_ready_in(g, in, 2, who)) return NULL;
    /* checked before the axis Const exists, so a refusal leaves nothing */
    if (!is_index_dtype(indices->dtype))
        return tg__arg_fail(g, who, "GatherV2", "indices must be int32 or int64, not %s",
                            tg_dtype_name(indices->dtype)), NULL;
    tg_shape o;
    char err[200];
    if (!gather_shape(&params->shape, &indices->shape, axis, &o, err, sizeof err))
        return tg__arg_fail(g, who, "GatherV2", "%s", err), NULL;
    const char *scope;
    int tok = tg__builder_scope(g, name, "GatherV2", &scope);
    int32_t av = axis;
    tg_tensor *args[3] = {params, indices, tg_constant_data(g, TG_INT32, TG_SCALAR, &av, "axis")};
    tg__op_args a = {.def = &tg__op_gather_v2, .name = scope, .exact_name = true, .inputs = args, .n_inputs = 3};
    tg_tensor *out = tg__out0(tg__add_op(g, &a));
    tg_scope_pop(g, tok);
    return out;
}

/* ---- UnsortedSegmentSum(data, segment_ids, num_segments) ------------------------ */

/* ids' shape must be a prefix of data's (dims unknown on either side pass). */
static bool ids_prefix(const tg_shape *d, const tg_shape *ids) {
    if (d->rank < 0 || ids->rank < 0) return true;
    if (ids->rank > d->rank) return false;
    for (int i = 0; i < ids->rank; i++)
        if (d->dims[i] >= 0 && ids->dims[i] >= 0 && d->dims[i] != ids->dims[i]) return false;
    return true;
}

static tg_code segment_infer(tg__infer_ctx *c) {
    const tg_tensor *d = c->in[0], *ids = c->in[1], *num = c->in[2];
    if (d->dtype == TG_BOOL) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "data of dtype bool is not supported");
    if (!is_index_dtype(ids->dtype) || !is_index_dtype(num->dtype))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "segment_ids and num_segments must be int32 or int64");
    if (num->shape.rank > 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "num_segments should be a scalar, not rank %d", num->shape.rank);
    if (!ids_prefix(&d->shape, &ids->shape)) {
        char a[128], b[128];
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "data.shape = %s does not start with segment_ids.shape = %s",
                              tg_shape_format(&d->shape, a, sizeof a), tg_shape_format(&ids->shape, b, sizeof b));
    }
    const tg_array *nv = tg__const_value(num);
    if (nv && index_at(nv, 0) < 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "Input num_segments == %lld must not be negative.",
                              (long long)index_at(nv, 0));
    c->out[0].dtype = d->dtype;
    c->out[0].shape = TG_SHAPE_UNKNOWN;
    if (d->shape.rank < 0 || ids->shape.rank < 0) return TG_OK;
    tg_shape o = {.rank = 1 + d->shape.rank - ids->shape.rank, .dims = {nv ? index_at(nv, 0) : -1}};
    for (int i = ids->shape.rank; i < d->shape.rank; i++) o.dims[1 + i - ids->shape.rank] = d->shape.dims[i];
    c->out[0].shape = o;
    return TG_OK;
}

/* Checks and shapes the output; *row gets the elements per segment. */
static tg_code segment_plan(tg__kernel_ctx *c, int64_t *n_seg, int64_t *row) {
    const tg_array *d = c->in[0], *ids = c->in[1], *num = c->in[2];
    tg_shape ds = tg_array_shape(d), is = tg_array_shape(ids);
    if (num->size != 1 || num->rank > 0)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "num_segments should be a scalar, not rank %d", num->rank);
    if (!ids_prefix(&ds, &is)) {
        char a[128], b[128];
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "data.shape = %s does not start with segment_ids.shape = %s",
                               tg_shape_format(&ds, a, sizeof a), tg_shape_format(&is, b, sizeof b));
    }
    *n_seg = index_at(num, 0);
    if (*n_seg < 0)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Input num_segments == %lld must not be negative.",
                               (long long)*n_seg);
    int64_t odims[TG_MAX_RANK] = {*n_seg};
    for (int i = ids->rank; i < d->rank; i++) odims[1 + i - ids->rank] = d->dims[i];
    *row = prod(d->dims, ids->rank, d->rank);
    return tg__out_alloc(c, 0, d->dtype, 1 + d->rank - ids->rank, odims);
}

/* Negative ids are dropped (TF's CPU kernel); ids past the end are errors.
 * Integer sums wrap, through the unsigned type U. */
#define SEGMENT_KERNEL(NAME, T, U)                                                      \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        int64_t n_seg = 0, row = 0;                                                     \
        tg_code rc = segment_plan(c, &n_seg, &row);                                     \
        if (rc != TG_OK) return rc;                                                     \
        const tg_array *ids = c->in[1];                                                 \
        const T *d = c->in[0]->data;                                                    \
        T *o = c->out[0]->data;                                                         \
        if (c->out[0]->size) memset(o, 0, (size_t)c->out[0]->size * sizeof(T));         \
        for (int64_t i = 0; i < ids->size; i++) {                                       \
            int64_t j = index_at(ids, i);                                               \
            if (j < 0) continue;                                                        \
            if (j >= n_seg) {                                                           \
                char where[160];                                                        \
                slice_debug(ids, i, where, sizeof where);                               \
                return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "segment_ids%s = %lld is out of range [0, %lld)", \
                                       where, (long long)j, (long long)n_seg);          \
            }                                                                           \
            for (int64_t k = 0; k < row; k++) o[j * row + k] = (T)((U)o[j * row + k] + (U)d[i * row + k]); \
        }                                                                               \
        return TG_OK;                                                                   \
    }
SEGMENT_KERNEL(segment_f32, float, float)
SEGMENT_KERNEL(segment_f64, double, double)
SEGMENT_KERNEL(segment_i32, int32_t, uint32_t)
SEGMENT_KERNEL(segment_i64, int64_t, uint64_t)

/* TF's _UnsortedSegmentSumGrad (_GatherDropNegatives): the gradient rows
 * gathered back by id; rows of negative ids, which the sum dropped, get 0. */
static tg_code segment_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *d = c->op->inputs[0], *ids = c->op->inputs[1];
    c->dx[1] = c->dx[2] = NULL;
    if (d->shape.rank < 0 || ids->shape.rank < 0)
        return tg__fail(g, TG_UNIMPLEMENTED, "%s: the gradient of UnsortedSegmentSum needs data and segment_ids of "
                        "known ranks", c->op->name);
    tg_tensor *zero = tg_constant_scalar(g, ids->dtype, 0, NULL);
    tg_tensor *rows = tg_gather(g, c->dy[0], tg_maximum(g, ids, zero, NULL), 0, NULL);
    tg_tensor *keep = tg_cast(g, tg_greater_equal(g, ids, zero, NULL), d->dtype, NULL);
    for (int i = ids->shape.rank; i < d->shape.rank; i++) keep = tg_expand_dims(g, keep, -1, NULL);
    c->dx[0] = tg_multiply(g, rows, keep, NULL);
    return tg_graph_status(g);
}

const tg__op_def tg__op_unsorted_segment_sum = {
    .type = "UnsortedSegmentSum",
    .n_inputs = 3,
    .n_outputs = 1,
    .infer = segment_infer,
    .kernel = TG__NUMERIC(segment_f32, segment_f64, segment_i32, segment_i64),
    .grad = segment_grad,
};

static tg_tensor *segment_sum_t(tg_graph *g, tg_tensor *data, tg_tensor *ids, tg_tensor *num_segments) {
    tg_tensor *in[3] = {data, ids, num_segments};
    return tg__simple_op(g, &tg__op_unsorted_segment_sum, NULL, in, 3, NULL);
}

tg_tensor *tg_unsorted_segment_sum(tg_graph *g, tg_tensor *data, tg_tensor *segment_ids, int64_t num_segments,
                                   const char *name) {
    tg_tensor *in[2] = {data, segment_ids};
    const char *who = name ? name : "UnsortedSegmentSum";
    if (!tg__graph_ready_in(g, in, 2, who)) return NULL;
    /* what the shape function would refuse, refused before the Const exists */
    const char *why = NULL;
    if (data->dtype == TG_BOOL) why = "data of dtype bool is not supported";
    else if (!is_index_dtype(segment_ids->dtype)) why = "segment_ids must be int32 or int64";
    else if (!ids_prefix(&data->shape, &segment_ids->shape)) why = "data.shape does not start with segment_ids.shape";
    else if (num_segments < 0 || num_segments > INT32_MAX) why = "num_segments must be in [0, 2^31)";
    if (why) return tg__arg_fail(g, who, "UnsortedSegmentSum", "%s", why), NULL;
    const char *scope;
    int tok = tg__builder_scope(g, name, "UnsortedSegmentSum", &scope);
    int32_t nv = (int32_t)num_segments;
    tg_tensor *args[3] = {data, segment_ids, tg_constant_data(g, TG_INT32, TG_SCALAR, &nv, "num_segments")};
    tg__op_args a = {.def = &tg__op_unsorted_segment_sum, .name = scope, .exact_name = true, .inputs = args,
                     .n_inputs = 3};
    tg_tensor *out = tg__out0(tg__add_op(g, &a));
    tg_scope_pop(g, tok);
    return out;
}
