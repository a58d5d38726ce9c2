/* Shape and Reshape. Reshape is a view: it re-labels its input's data. Its
 * target shape may be a Const (static), the output of a Shape op (the shape
 * of that op's input is then known statically too, as TF's constant_value
 * partial shapes give), or any int32/int64 vector computed at run time. */
#include "ops_internal.h"

/* ---- Shape: the dims of x as an int32 vector -------------------------------- */

static tg_code shape_infer(tg__infer_ctx *c) {
    int r = c->in[0]->shape.rank;
    c->out[0].dtype = TG_INT32;
    c->out[0].shape = r < 0 ? TG_SHAPE(-1) : TG_SHAPE(r);
    return TG_OK;
}

static tg_code shape_kernel(tg__kernel_ctx *c) {
    const tg_array *x = c->in[0];
    int64_t n = x->rank;
    tg_code rc = tg__out_alloc(c, 0, TG_INT32, 1, &n);
    if (rc != TG_OK) return rc;
    int32_t *o = c->out[0]->data;
    for (int i = 0; i < x->rank; i++) {
        if (x->dims[i] > INT32_MAX) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "dimension %d does not fit int32", i);
        o[i] = (int32_t)x->dims[i];
    }
    return TG_OK;
}

const tg__op_def tg__op_shape = {
    .type = "Shape",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .infer = shape_infer,
    .kernel = TG__ALL_DTYPES(shape_kernel),
};

tg_tensor *tg_shape_of(tg_graph *g, tg_tensor *x, const char *name) {
    return tg__simple_op(g, &tg__op_shape, name, &x, 1, NULL);
}

/* ---- Reshape ------------------------------------------------------------------------ */

/* Resolves one -1 against the element count n (n < 0: unknown). */
static bool resolve(int rank, int64_t *dims, int64_t n, char *err, size_t len) {
    int unknown = -1;
    int64_t known = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == -1) {
            if (unknown >= 0) {
                snprintf(err, len, "only one input size may be -1, not both %d and %d", unknown, i);
                return false;
            }
            unknown = i;
        } else if (dims[i] < 0) {
            snprintf(err, len, "size %d must be non-negative, not %lld", i, (long long)dims[i]);
            return false;
        } else {
            if (dims[i] > 0 && known > INT64_MAX / dims[i]) {
                snprintf(err, len, "the shape has too many elements");
                return false;
            }
            known *= dims[i];
        }
    }
    if (n < 0) return true;
    if (unknown >= 0) {
        if (known == 0 || n % known != 0) {
            snprintf(err, len, "cannot reshape a tensor with %lld elements to a shape with -1 and %lld known elements",
                     (long long)n, (long long)known);
            return false;
        }
        dims[unknown] = n / known;
    } else if (known != n) {
        snprintf(err, len, "Cannot reshape a tensor with %lld elements to shape requiring %lld elements",
                 (long long)n, (long long)known);
        return false;
    }
    return true;
}

static tg_code reshape_infer(tg__infer_ctx *c) {
    const tg_tensor *x = c->in[0], *sh = c->in[1];
    if (sh->dtype != TG_INT32 && sh->dtype != TG_INT64)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "shape must be int32 or int64, not %s", tg_dtype_name(sh->dtype));
    c->out[0].dtype = x->dtype;
    const tg_array *v = tg__const_value(sh);
    if (v) {
        if (v->rank != 1 || v->size > TG_MAX_RANK)
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "shape must be a vector of at most %d sizes", TG_MAX_RANK);
        tg_shape o = {.rank = (int)v->size};
        for (int i = 0; i < o.rank; i++)
            o.dims[i] = (int64_t)tg_array_get(v, i);
        char err[200];
        int64_t n = tg_shape_num_elements(&x->shape);
        if (!resolve(o.rank, o.dims, n, err, sizeof err)) {
            char a[128];
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s (input shape %s)", err,
                                  tg_shape_format(&x->shape, a, sizeof a));
        }
        c->out[0].shape = o;
        return TG_OK;
    }
    if (sh->op->def == &tg__op_shape) {
        c->out[0].shape = sh->op->inputs[0]->shape;
        return TG_OK;
    }
    c->out[0].shape = TG_SHAPE_UNKNOWN;
    if (sh->shape.rank == 1 && sh->shape.dims[0] >= 0 && sh->shape.dims[0] <= TG_MAX_RANK) {
        c->out[0].shape.rank = (int)sh->shape.dims[0];
        for (int i = 0; i < c->out[0].shape.rank; i++) c->out[0].shape.dims[i] = -1;
    }
    return TG_OK;
}

static tg_code reshape_kernel(tg__kernel_ctx *c) {
    const tg_array *x = c->in[0], *sh = c->in[1];
    if (sh->rank != 1 || sh->size > TG_MAX_RANK)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "shape must be a vector of at most %d sizes", TG_MAX_RANK);
    int64_t dims[TG_MAX_RANK];
    for (int i = 0; i < sh->size; i++) dims[i] = (int64_t)tg_array_get(sh, i);
    char err[200];
    if (!resolve((int)sh->size, dims, x->size, err, sizeof err)) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    tg__out_view(c, 0, x, (int)sh->size, dims);
    return TG_OK;
}

/* d reshape(x)/dx: the gradient reshaped back to x's shape. */
static tg_code reshape_grad(tg__grad_ctx *c) {
    tg_tensor *x = c->op->inputs[0];
    c->dx[0] = tg__reshape_like(c->g, c->dy[0], x);
    c->dx[1] = NULL;
    return tg_graph_status(c->g);
}

/* T is the data's dtype, Tshape the shape tensor's (int32 or int64). */
static void reshape_export(const tg_op *op, tg__attr_list *out) {
    tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype;
    tg__attr_add(out, "Tshape", TG__ATTR_TYPE)->u.type = op->inputs[1]->dtype;
}

const tg__op_def tg__op_reshape = {
    .type = "Reshape",
    .flags = TG__OPF_VIEWS,
    .n_inputs = 2,
    .n_outputs = 1,
    .infer = reshape_infer,
    .kernel = TG__ALL_DTYPES(reshape_kernel),
    .grad = reshape_grad,
    .export_attrs = reshape_export,
};

tg_tensor *tg_reshape_t(tg_graph *g, tg_tensor *x, tg_tensor *shape, const char *name) {
    tg_tensor *in[2] = {x, shape};
    return tg__simple_op(g, &tg__op_reshape, name, in, 2, NULL);
}

/* TF converts the Python list inside the op's name scope ("Reshape/shape"). */
tg_tensor *tg_reshape(tg_graph *g, tg_tensor *x, tg_shape shape, const char *name) {
    if (!tg__graph_ready(g, &x, 1)) return NULL;
    if (shape.rank < 0 || shape.rank > TG_MAX_RANK) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: the target shape needs a known rank", name ? name : "Reshape");
        return NULL;
    }
    int32_t dims[TG_MAX_RANK];
    for (int i = 0; i < shape.rank; i++) {
        if (shape.dims[i] < -1 || shape.dims[i] > INT32_MAX) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: bad size %lld", name ? name : "Reshape", (long long)shape.dims[i]);
            return NULL;
        }
        dims[i] = (int32_t)shape.dims[i];
    }
    /* Checked first so that a bad shape leaves no Const behind. */
    char err[200];
    int64_t d64[TG_MAX_RANK];
    for (int i = 0; i < shape.rank; i++) d64[i] = shape.dims[i];
    if (!resolve(shape.rank, d64, tg_shape_num_elements(&x->shape), err, sizeof err)) {
        char a[128];
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s (input shape %s)", name ? name : "Reshape", err,
                 tg_shape_format(&x->shape, a, sizeof a));
        return NULL;
    }
    const char *scope;
    int tok = tg__builder_scope(g, name, "Reshape", &scope);
    tg_tensor *in[2] = {x, tg__const_i32(g, dims, shape.rank, "shape")};
    tg__op_args a = {.def = &tg__op_reshape, .name = scope, .exact_name = true, .inputs = in, .n_inputs = 2};
    tg_tensor *out = tg__out0(tg__add_op(g, &a));
    tg_scope_pop(g, tok);
    return out;
}

/* x reshaped to like's shape: a Const shape when like's is fully known,
 * else Shape(like) at run time. */
tg_tensor *tg__reshape_like(tg_graph *g, tg_tensor *x, tg_tensor *like) {
    if (!tg__graph_ready(g, (tg_tensor *[]){x, like}, 2)) return NULL;
    if (tg_shape_num_elements(&like->shape) >= 0) {
        if (x->shape.rank == like->shape.rank) {
            bool same = true;
            for (int i = 0; i < x->shape.rank && same; i++) same = x->shape.dims[i] == like->shape.dims[i];
            if (same) return x;
        }
        return tg_reshape(g, x, like->shape, NULL);
    }
    return tg_reshape_t(g, x, tg_shape_of(g, like, NULL), NULL);
}

/* ---- Size and Rank: int32 scalars --------------------------------------------- */

static tg_code scalar_i32_infer(tg__infer_ctx *c) {
    c->out[0].dtype = TG_INT32;
    c->out[0].shape = TG_SCALAR;
    return TG_OK;
}

static tg_code size_kernel(tg__kernel_ctx *c) {
    if (c->in[0]->size > INT32_MAX) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "size does not fit int32");
    tg_code rc = tg__out_alloc(c, 0, TG_INT32, 0, NULL);
    if (rc == TG_OK) *(int32_t *)c->out[0]->data = (int32_t)c->in[0]->size;
    return rc;
}

static tg_code rank_kernel(tg__kernel_ctx *c) {
    tg_code rc = tg__out_alloc(c, 0, TG_INT32, 0, NULL);
    if (rc == TG_OK) *(int32_t *)c->out[0]->data = c->in[0]->rank;
    return rc;
}

const tg__op_def tg__op_size = {
    .type = "Size",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .infer = scalar_i32_infer,
    .kernel = TG__ALL_DTYPES(size_kernel),
};

const tg__op_def tg__op_rank = {
    .type = "Rank",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .infer = scalar_i32_infer,
    .kernel = TG__ALL_DTYPES(rank_kernel),
};

tg_tensor *tg_size(tg_graph *g, tg_tensor *x, const char *name) {
    return tg__simple_op(g, &tg__op_size, name, &x, 1, NULL);
}

tg_tensor *tg_rank(tg_graph *g, tg_tensor *x, const char *name) {
    return tg__simple_op(g, &tg__op_rank, name, &x, 1, NULL);
}
