/* Reductions over any set of axes: Sum and Mean. The axes are a Const int32
 * input ("reduction_indices"), as in TF, so the output shape is static. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops_internal.h"

typedef struct {
    bool keep_dims;
} reduce_attrs;

/* Which axes of a rank-r input are reduced; false (and an error) for an
 * axis out of range or listed twice. */
static bool reduced_axes(const tg_array *axes, int rank, bool out[TG_MAX_RANK], char *err, size_t n) {
    memset(out, 0, TG_MAX_RANK * sizeof *out);
    if (axes->rank > 1) {
        snprintf(err, n, "reduction_indices must be a scalar or vector");
        return false;
    }
    const int32_t *ax = axes->data;
    for (int64_t i = 0; i < axes->size; i++) {
        int a = ax[i] < 0 ? ax[i] + rank : ax[i];
        if (a < 0 || a >= rank) {
            snprintf(err, n, "Invalid reduction dimension %d for input with %d dimensions", ax[i], rank);
            return false;
        }
        if (out[a]) {
            snprintf(err, n, "axis %d is listed twice", ax[i]);
            return false;
        }
        out[a] = true;
    }
    return true;
}

static tg_code reduce_infer(tg__infer_ctx *c) {
    const reduce_attrs *a = c->attrs;
    const tg_tensor *x = c->in[0];
    const tg_array *axes = tg__const_value(c->in[1]);
    if (x->dtype == TG_BOOL) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "bool input is not supported");
    if (c->in[1]->dtype != TG_INT32 || c->in[1]->shape.rank > 1)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "reduction_indices must be an int32 scalar or vector");
    c->out[0].dtype = x->dtype;
    if (x->shape.rank < 0 || !axes) {
        /* Axes known only at run time: with keep_dims the rank stays. */
        c->out[0].shape = TG_SHAPE_UNKNOWN;
        if (a->keep_dims && x->shape.rank >= 0) {
            c->out[0].shape.rank = x->shape.rank;
            for (int i = 0; i < x->shape.rank; i++) c->out[0].shape.dims[i] = -1;
        }
        return TG_OK;
    }
    bool red[TG_MAX_RANK];
    char err[160];
    if (!reduced_axes(axes, x->shape.rank, red, err, sizeof err))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    tg_shape o = {.rank = 0};
    for (int i = 0; i < x->shape.rank; i++) {
        if (!red[i]) o.dims[o.rank++] = x->shape.dims[i];
        else if (a->keep_dims) o.dims[o.rank++] = 1;
    }
    c->out[0].shape = o;
    return TG_OK;
}

/* Where each input element lands once the reduced axes are dropped:
 * ostride[i] is the output stride of input axis i (0 when reduced). */
typedef struct {
    int64_t ostride[TG_MAX_RANK];
    int64_t count; /* input elements per output element */
} reduce_plan;

static tg_code plan_reduce(tg__kernel_ctx *c, reduce_plan *p, tg_dtype out_dtype, bool alloc) {
    const reduce_attrs *a = c->attrs;
    const tg_array *x = c->in[0];
    bool red[TG_MAX_RANK];
    char err[160];
    if (!reduced_axes(c->in[1], x->rank, red, err, sizeof err)) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    int64_t odims[TG_MAX_RANK], s = 1;
    int orank = 0;
    p->count = 1;
    for (int i = 0; i < x->rank; i++) {
        if (!red[i]) odims[orank++] = x->dims[i];
        else if (a->keep_dims) odims[orank++] = 1;
        if (red[i]) p->count *= x->dims[i];
    }
    for (int i = x->rank - 1; i >= 0; i--) {
        p->ostride[i] = red[i] ? 0 : s;
        if (!red[i]) s *= x->dims[i];
    }
    return alloc ? tg__out_alloc(c, 0, out_dtype, orank, odims) : TG_OK;
}

/* Visits every input element i with o, the output element it reduces into. */
#define FOR_EACH_ELEMENT(x, p, ...)                                                    \
    do {                                                                                \
        int64_t idx_[TG_MAX_RANK] = {0}, o = 0;                                         \
        for (int64_t i = 0; i < (x)->size; i++) {                                       \
            __VA_ARGS__;                                                                \
            for (int d_ = (x)->rank - 1; d_ >= 0; d_--) {                               \
                o += (p).ostride[d_];                                                   \
                if (++idx_[d_] < (x)->dims[d_]) break;                                  \
                o -= (p).ostride[d_] * (x)->dims[d_];                                   \
                idx_[d_] = 0;                                                           \
            }                                                                           \
        }                                                                               \
    } while (0)

/* z[o] = COMBINE(z[o], v[i]) from INIT; U is the type sums run in
 * (unsigned for ints, which wrap as in TF). MEAN divides by the count. */
#define REDUCE_KERNEL(NAME, T, U, INIT, COMBINE, MEAN)                                  \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *x = c->in[0];                                                   \
        reduce_plan p;                                                                  \
        tg_code rc = plan_reduce(c, &p, x->dtype, true);                                \
        if (rc != TG_OK) return rc;                                                     \
        int64_t n_out = c->out[0]->size;                                                \
        T *z = c->out[0]->data;                                                         \
        const T *v = x->data;                                                           \
        for (int64_t k = 0; k < n_out; k++) z[k] = (INIT);                              \
        FOR_EACH_ELEMENT(x, p, { U acc = (U)z[o], val = (U)v[i]; z[o] = (T)(COMBINE); }); \
        /* floats divide even by 0 (NaN, as TF); ints cannot */                       \
        if (MEAN && (p.count > 0 || (T)0.5 != 0))                                       \
            for (int64_t k = 0; k < n_out; k++) z[k] = (T)(z[k] / (T)p.count);          \
        return TG_OK;                                                                   \
    }

#define SUM_LIKE(name, MEAN)                                                            \
    REDUCE_KERNEL(name##_f32, float, float, 0, acc + val, MEAN)                         \
    REDUCE_KERNEL(name##_f64, double, double, 0, acc + val, MEAN)                       \
    REDUCE_KERNEL(name##_i32, int32_t, uint32_t, 0, acc + val, MEAN)                    \
    REDUCE_KERNEL(name##_i64, int64_t, uint64_t, 0, acc + val, MEAN)
SUM_LIKE(sum, 0)
SUM_LIKE(mean, 1)
REDUCE_KERNEL(prod_f32, float, float, 1, acc * val, 0)
REDUCE_KERNEL(prod_f64, double, double, 1, acc * val, 0)
REDUCE_KERNEL(prod_i32, int32_t, uint32_t, 1, acc * val, 0)
REDUCE_KERNEL(prod_i64, int64_t, uint64_t, 1, acc * val, 0)
/* The identity of max is the lowest value (-inf for floats), as in TF. */
REDUCE_KERNEL(max_f32, float, float, -INFINITY, val > acc ? val : acc, 0)
REDUCE_KERNEL(max_f64, double, double, -INFINITY, val > acc ? val : acc, 0)
REDUCE_KERNEL(max_i32, int32_t, int32_t, INT32_MIN, val > acc ? val : acc, 0)
REDUCE_KERNEL(max_i64, int64_t, int64_t, INT64_MIN, val > acc ? val : acc, 0)
REDUCE_KERNEL(min_f32, float, float, INFINITY, val < acc ? val : acc, 0)
REDUCE_KERNEL(min_f64, double, double, INFINITY, val < acc ? val : acc, 0)
REDUCE_KERNEL(min_i32, int32_t, int32_t, INT32_MAX, val < acc ? val : acc, 0)
REDUCE_KERNEL(min_i64, int64_t, int64_t, INT64_MAX, val < acc ? val : acc, 0)

/* ---- ProdOthers: each element's product of the others in its group ------
 * The gradient of Prod. Counting zeros per group keeps it exact where x has
 * zeros (one zero: only that element gets the product of the rest). It has
 * no gradient of its own, so second derivatives through Prod report one. */
#define PROD_OTHERS_KERNEL(NAME, T)                                                     \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *x = c->in[0];                                                   \
        reduce_plan p;                                                                  \
        tg_code rc = plan_reduce(c, &p, x->dtype, false);                               \
        if (rc == TG_OK) rc = tg__out_alloc(c, 0, x->dtype, x->rank, x->dims);          \
        if (rc != TG_OK) return rc;                                                     \
        int64_t groups = p.count ? x->size / p.count : 0;                               \
        double *nz = calloc((size_t)groups + 1, sizeof *nz);                            \
        int64_t *zeros = calloc((size_t)groups + 1, sizeof *zeros);                     \
        if (!nz || !zeros) {                                                            \
            free(nz);                                                                   \
            free(zeros);                                                                \
            return tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "out of memory");          \
        }                                                                               \
        for (int64_t k = 0; k < groups; k++) nz[k] = 1;                                 \
        const T *v = x->data;                                                           \
        T *z = c->out[0]->data;                                                         \
        FOR_EACH_ELEMENT(x, p, { if (v[i] == 0) zeros[o]++; else nz[o] *= v[i]; });     \
        FOR_EACH_ELEMENT(x, p, {                                                        \
            z[i] = (T)(zeros[o] == 0 ? nz[o] / v[i] : zeros[o] == 1 && v[i] == 0 ? nz[o] : 0); \
        });                                                                             \
        free(nz);                                                                       \
        free(zeros);                                                                    \
        return TG_OK;                                                                   \
    }
PROD_OTHERS_KERNEL(prod_others_f32, float)
PROD_OTHERS_KERNEL(prod_others_f64, double)

static tg_code prod_others_infer(tg__infer_ctx *c) {
    c->out[0].dtype = c->in[0]->dtype;
    c->out[0].shape = c->in[0]->shape;
    return TG_OK;
}

const tg__op_def tg__op_prod_others = {
    .type = "ProdOthers",
    .n_inputs = 2,
    .n_outputs = 1,
    .attr_size = sizeof(reduce_attrs),
    .infer = prod_others_infer,
    .kernel = TG__NUMERIC(prod_others_f32, prod_others_f64, NULL, NULL),
};

/* ---- ReducedShape: x's shape with 1 at the reduced axes ------------------
 * tgraph's stand-in for TF's math_ops.reduced_shape (built there from
 * DynamicStitch): the shape a reduction's gradient is reshaped to. */
static tg_code reduced_shape_infer(tg__infer_ctx *c) {
    c->out[0].dtype = TG_INT32;
    c->out[0].shape = c->in[0]->shape;
    return TG_OK;
}

static tg_code reduced_shape_kernel(tg__kernel_ctx *c) {
    const tg_array *shp = c->in[0];
    if (shp->rank != 1 || shp->size > TG_MAX_RANK)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "input 0 must be a shape vector");
    bool red[TG_MAX_RANK];
    char err[160];
    if (!reduced_axes(c->in[1], (int)shp->size, red, err, sizeof err))
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    int64_t n = shp->size;
    tg_code rc = tg__out_alloc(c, 0, TG_INT32, 1, &n);
    if (rc != TG_OK) return rc;
    const int32_t *in = shp->data;
    int32_t *o = c->out[0]->data;
    for (int i = 0; i < n; i++) o[i] = red[i] ? 1 : in[i];
    return TG_OK;
}

const tg__op_def tg__op_reduced_shape = {
    .type = "ReducedShape",
    .n_inputs = 2,
    .n_outputs = 1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .infer = reduced_shape_infer,
    .kernel = {[TG_INT32] = reduced_shape_kernel},
};

/* dy of a reduction, reshaped to x's rank with 1 at the reduced axes and
 * broadcast to x's shape (by adding zeros shaped like x, whose own
 * gradient undoes the broadcast, so this differentiates again). */
static tg_tensor *spread(tg_graph *g, const tg_op *op, tg_tensor *dy) {
    tg_tensor *x = op->inputs[0], *axes = op->inputs[1];
    const tg_array *av = tg__const_value(axes);
    tg_tensor *kept;
    if (av && x->shape.rank >= 0 && tg_shape_num_elements(&x->shape) >= 0) {
        bool red[TG_MAX_RANK];
        char err[160];
        if (!reduced_axes(av, x->shape.rank, red, err, sizeof err)) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s", op->name, err);
            return NULL;
        }
        tg_shape k = x->shape;
        for (int i = 0; i < k.rank; i++)
            if (red[i]) k.dims[i] = 1;
        kept = tg_reshape(g, dy, k, NULL);
    } else {
        tg_tensor *in[2] = {tg_shape_of(g, x, NULL), axes};
        tg__op_args a = {.def = &tg__op_reduced_shape, .inputs = in, .n_inputs = 2};
        kept = tg_reshape_t(g, dy, tg__out0(tg__add_op(g, &a)), NULL);
    }
    return tg_add(g, kept, tg_zeros_like(g, x, NULL), NULL);
}

/* d sum(x)/dx: dy spread over the reduced axes. */
static tg_code sum_grad(tg__grad_ctx *c) {
    c->dx[0] = spread(c->g, c->op, c->dy[0]);
    return tg_graph_status(c->g);
}

/* d mean(x)/dx: the sum's gradient divided by the number of elements
 * averaged, size(x) / size(mean(x)). */
static tg_code mean_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0], *y = &c->op->outputs[0];
    tg_tensor *dx = spread(g, c->op, c->dy[0]);
    int64_t nx = tg_shape_num_elements(&x->shape), ny = tg_shape_num_elements(&y->shape);
    tg_tensor *count;
    if (nx >= 0 && ny > 0) {
        count = tg_constant_scalar(g, x->dtype, (double)nx / (double)ny, "count");
    } else {
        count = tg_divide(g, tg_cast(g, tg_size(g, x, NULL), x->dtype, NULL), tg_cast(g, tg_size(g, y, NULL), x->dtype, NULL),
                          "count");
    }
    c->dx[0] = tg_divide(g, dx, count, NULL);
    return tg_graph_status(g);
}

const tg__op_def tg__op_sum = {
    .type = "Sum",
    .n_inputs = 2,
    .n_outputs = 1,
    .attr_size = sizeof(reduce_attrs),
    .infer = reduce_infer,
    .kernel = TG__NUMERIC(sum_f32, sum_f64, sum_i32, sum_i64),
    .grad = sum_grad,
};

const tg__op_def tg__op_mean = {
    .type = "Mean",
    .n_inputs = 2,
    .n_outputs = 1,
    .attr_size = sizeof(reduce_attrs),
    .infer = reduce_infer,
    .kernel = TG__NUMERIC(mean_f32, mean_f64, mean_i32, mean_i64),
    .grad = mean_grad,
};

/* TF's _MinOrMaxGrad: dy is shared equally among the elements that equal
 * the extreme value of their group. */
static tg_code min_max_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0], *axes = c->op->inputs[1], *y = &c->op->outputs[0];
    tg_tensor *hit = tg_cast(g, tg_equal(g, spread(g, c->op, y), x, NULL), x->dtype, NULL);
    const reduce_attrs *a = c->op->attrs;
    tg_tensor *n = spread(g, c->op, tg__reduce_sum_t(g, hit, axes, a->keep_dims));
    c->dx[0] = tg_multiply(g, tg_divide(g, hit, n, NULL), spread(g, c->op, c->dy[0]), NULL);
    return tg_graph_status(g);
}

/* d prod(x)/dx_i: the product of the group's other elements. */
static tg_code prod_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *in[2] = {c->op->inputs[0], c->op->inputs[1]};
    tg__op_args args = {.def = &tg__op_prod_others, .inputs = in, .n_inputs = 2, .attrs = c->op->attrs};
    tg_tensor *others = tg__out0(tg__add_op(g, &args));
    c->dx[0] = tg_multiply(g, spread(g, c->op, c->dy[0]), others, NULL);
    return tg_graph_status(g);
}

#define REDUCE_DEF(var, TYPE, n, GRAD)                                                   \
    const tg__op_def var = {.type = TYPE, .n_inputs = 2, .n_outputs = 1, .attr_size = sizeof(reduce_attrs), \
                            .infer = reduce_infer, .kernel = TG__NUMERIC(n##_f32, n##_f64, n##_i32, n##_i64), \
                            .grad = GRAD};
REDUCE_DEF(tg__op_max, "Max", max, min_max_grad)
REDUCE_DEF(tg__op_min, "Min", min, min_max_grad)
REDUCE_DEF(tg__op_prod, "Prod", prod, prod_grad)

/* ---- ArgMax / ArgMin: int64 index of the extreme along one axis ---------- */

typedef struct {
    bool is_min;
} arg_attrs;

static tg_code arg_infer(tg__infer_ctx *c) {
    const tg_tensor *x = c->in[0];
    const tg_array *ax = tg__const_value(c->in[1]);
    if (x->dtype == TG_BOOL) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "bool input is not supported");
    if (!ax || ax->dtype != TG_INT32 || ax->rank != 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "dimension must be a constant int32 scalar");
    c->out[0].dtype = TG_INT64;
    c->out[0].shape = TG_SHAPE_UNKNOWN;
    if (x->shape.rank < 0) return TG_OK;
    int r = x->shape.rank, axis = *(const int32_t *)ax->data;
    if (axis < -r || axis >= r || r == 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "Expected dimension in the range [%d, %d), but got %d", -r, r, axis);
    if (axis < 0) axis += r;
    tg_shape o = {.rank = 0};
    for (int i = 0; i < r; i++)
        if (i != axis) o.dims[o.rank++] = x->shape.dims[i];
    c->out[0].shape = o;
    return TG_OK;
}

#define ARG_KERNEL(NAME, T)                                                             \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const bool is_min = ((const arg_attrs *)c->attrs)->is_min;                      \
        const tg_array *x = c->in[0];                                                   \
        int axis = *(const int32_t *)c->in[1]->data, r = x->rank;                       \
        if (axis < -r || axis >= r || r == 0)                                           \
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "dimension %d out of range for rank %d", axis, r); \
        if (axis < 0) axis += r;                                                        \
        if (x->dims[axis] == 0) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Reduction axis %d is empty", axis); \
        int64_t odims[TG_MAX_RANK] = {0}, outer = 1, inner = 1, n = x->dims[axis];      \
        int orank = 0;                                                                  \
        for (int i = 0; i < r; i++) {                                                   \
            if (i != axis) odims[orank++] = x->dims[i];                                 \
            if (i < axis) outer *= x->dims[i];                                          \
            if (i > axis) inner *= x->dims[i];                                          \
        }                                                                               \
        tg_code rc = tg__out_alloc(c, 0, TG_INT64, orank, odims);                       \
        if (rc != TG_OK) return rc;                                                     \
        const T *v = x->data;                                                           \
        int64_t *z = c->out[0]->data;                                                   \
        for (int64_t a = 0; a < outer; a++)                                             \
            for (int64_t b = 0; b < inner; b++) {                                       \
                const T *row = v + a * n * inner + b;                                   \
                int64_t best = 0;                                                       \
                for (int64_t j = 1; j < n; j++)                                         \
                    if (is_min ? row[j * inner] < row[best * inner] : row[j * inner] > row[best * inner]) best = j; \
                z[a * inner + b] = best;                                                \
            }                                                                           \
        return TG_OK;                                                                   \
    }
ARG_KERNEL(arg_f32, float)
ARG_KERNEL(arg_f64, double)
ARG_KERNEL(arg_i32, int32_t)
ARG_KERNEL(arg_i64, int64_t)

#define ARG_DEF(var, TYPE)                                                               \
    const tg__op_def var = {.type = TYPE, .n_inputs = 2, .n_outputs = 1, .attr_size = sizeof(arg_attrs), \
                            .flags = TG__OPF_NOT_DIFFERENTIABLE, .infer = arg_infer,    \
                            .kernel = TG__NUMERIC(arg_f32, arg_f64, arg_i32, arg_i64)};
ARG_DEF(tg__op_arg_max, "ArgMax")
ARG_DEF(tg__op_arg_min, "ArgMin")

/* tf.argmax(input, axis): the axis is a Const "dimension" in the op's scope. */
static tg_tensor *arg_builder(tg_graph *g, const tg__op_def *def, tg_tensor *x, int axis, const char *name) {
    if (!tg__graph_ready_in(g, &x, 1, name ? name : def->type)) return NULL;
    /* refused before the "dimension" Const exists, so nothing stays */
    if (x->dtype == TG_BOOL) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: bool input is not supported", def->type), NULL;
    int r = x->shape.rank;
    if (r >= 0 && (axis < -r || axis >= r || r == 0)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: Expected dimension in the range [%d, %d), but got %d", name ? name : def->type,
                 -r, r, axis);
        return NULL;
    }
    arg_attrs a = {def == &tg__op_arg_min};
    const char *scope;
    int tok = tg__builder_scope(g, name, def->type, &scope);
    int32_t ax = axis;
    tg_tensor *in[2] = {x, tg_constant_data(g, TG_INT32, TG_SCALAR, &ax, "dimension")};
    tg__op_args args = {.def = def, .name = scope, .exact_name = true, .inputs = in, .n_inputs = 2, .attrs = &a};
    tg_tensor *out = tg__out0(tg__add_op(g, &args));
    tg_scope_pop(g, tok);
    return out;
}

tg_tensor *tg_argmax(tg_graph *g, tg_tensor *x, int axis, const char *name) {
    return arg_builder(g, &tg__op_arg_max, x, axis, name);
}
tg_tensor *tg_argmin(tg_graph *g, tg_tensor *x, int axis, const char *name) {
    return arg_builder(g, &tg__op_arg_min, x, axis, name);
}

/* As TF's reduce_sum(x, axis, keepdims, name): the reduction is named
 * "Sum"/"Mean" (or name); explicit axes become "<op>/reduction_indices",
 * while axis=None becomes a "Const" of every axis in the current scope. */
static tg_tensor *reduce(tg_graph *g, const tg__op_def *def, tg_tensor *x, const tg_reduce_opts *opts) {
    if (!tg__graph_ready_in(g, &x, 1, opts && opts->name ? opts->name : def->type)) return NULL;
    const tg_reduce_opts o = opts ? *opts : (tg_reduce_opts){0};
    const char *who = o.name ? o.name : def->type;
    /* refused before the axes' Const exists, so nothing stays */
    if (x->dtype == TG_BOOL) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: bool input is not supported", def->type), NULL;
    if (o.n_axes < 0 || o.n_axes > TG_MAX_RANK || (o.n_axes > 0 && !o.axes) || (o.n_axes == 0 && o.axes)) {
        /* axes without n_axes would be TF's axis=[] (no reduction): never what was meant */
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: option 'axes' is %s with n_axes %d (TG_INT_LIST sets both)", who,
                 o.axes ? "given" : "NULL", o.n_axes);
        return NULL;
    }
    int32_t axes[TG_MAX_RANK];
    int n = o.n_axes;
    if (n == 0 && !o.axes) {
        /* axis=None: every axis, which needs the rank */
        if (x->shape.rank < 0) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: reducing every axis needs a known rank", who);
            return NULL;
        }
        n = x->shape.rank;
        for (int i = 0; i < n; i++) axes[i] = i;
    } else {
        for (int i = 0; i < n; i++) axes[i] = o.axes[i];
    }
    /* Checked here as well as in the shape function so that a bad axis
     * leaves no Const behind. */
    if (x->shape.rank >= 0) {
        bool red[TG_MAX_RANK];
        char err[160];
        tg_array ax = {.dtype = TG_INT32, .rank = 1, .dims = {n}, .size = n, .data = axes};
        if (!reduced_axes(&ax, x->shape.rank, red, err, sizeof err)) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s", who, err);
            return NULL;
        }
    }
    reduce_attrs a = {o.keep_dims};
    if (!o.axes) {
        tg_tensor *in[2] = {x, tg__const_i32(g, axes, n, "Const")};
        return tg__simple_op(g, def, o.name, in, 2, &a);
    }
    /* Explicit axes are converted inside the op's own name scope. */
    const char *scope;
    int tok = tg__builder_scope(g, o.name, def->type, &scope);
    tg_tensor *in[2] = {x, tg__const_i32(g, axes, n, "reduction_indices")};
    tg__op_args args = {.def = def, .name = scope, .exact_name = true, .inputs = in, .n_inputs = 2, .attrs = &a};
    tg_tensor *out = tg__out0(tg__add_op(g, &args));
    tg_scope_pop(g, tok);
    return out;
}

tg_tensor *tg_reduce_sum(tg_graph *g, tg_tensor *x, const tg_reduce_opts *opts) {
    return reduce(g, &tg__op_sum, x, opts);
}
tg_tensor *tg_reduce_mean(tg_graph *g, tg_tensor *x, const tg_reduce_opts *opts) {
    return reduce(g, &tg__op_mean, x, opts);
}
tg_tensor *tg_reduce_max(tg_graph *g, tg_tensor *x, const tg_reduce_opts *opts) {
    return reduce(g, &tg__op_max, x, opts);
}
tg_tensor *tg_reduce_min(tg_graph *g, tg_tensor *x, const tg_reduce_opts *opts) {
    return reduce(g, &tg__op_min, x, opts);
}
tg_tensor *tg_reduce_prod(tg_graph *g, tg_tensor *x, const tg_reduce_opts *opts) {
    return reduce(g, &tg__op_prod, x, opts);
}

tg_tensor *tg__reduce_sum_t(tg_graph *g, tg_tensor *x, tg_tensor *axes, bool keep_dims) {
    reduce_attrs a = {keep_dims};
    tg_tensor *in[2] = {x, axes};
    return tg__simple_op(g, &tg__op_sum, NULL, in, 2, &a);
}
