/* Binary elementwise ops with NumPy broadcasting: arithmetic (Add, Sub,
 * Mul, RealDiv, Maximum, Minimum, Pow), comparisons (Equal, NotEqual, Less,
 * LessEqual, Greater, GreaterEqual -> bool) and LogicalAnd / LogicalOr. */
#include <math.h>

#include "ops_internal.h"

/* ---- broadcasting ------------------------------------------------------------ */

typedef enum { ANY_NUMERIC, FLOAT_ONLY, BOOL_ONLY, COMPARE } operand_kind;

/* TF's BroadcastBinaryOpShapeFn: aligned from the right; 1 stretches; an
 * unknown dimension takes the other's when that is > 1. */
static tg_code broadcast_shape(tg__infer_ctx *c, tg_dtype out_dtype) {
    const tg_shape *a = &c->in[0]->shape, *b = &c->in[1]->shape;
    c->out[0].dtype = out_dtype;
    if (a->rank < 0 || b->rank < 0) {
        c->out[0].shape = TG_SHAPE_UNKNOWN;
        return TG_OK;
    }
    int r = a->rank > b->rank ? a->rank : b->rank;
    tg_shape o = {.rank = r};
    for (int i = 0; i < r; i++) {
        int ia = a->rank - r + i, ib = b->rank - r + i;
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db) o.dims[i] = da;
        else if (da == 1) o.dims[i] = db;
        else if (db == 1) o.dims[i] = da;
        else if (da < 0) o.dims[i] = db > 1 ? db : -1;
        else if (db < 0) o.dims[i] = da > 1 ? da : -1;
        else {
            char sa[128], sb[128];
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "Incompatible shapes: %s vs. %s", tg_shape_format(a, sa, sizeof sa),
                                  tg_shape_format(b, sb, sizeof sb));
        }
    }
    c->out[0].shape = o;
    return TG_OK;
}

static tg_code binary_infer(tg__infer_ctx *c, operand_kind kind) {
    tg_dtype dx = c->in[0]->dtype, dy = c->in[1]->dtype;
    if (dx != dy)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "inputs have different dtypes: %s vs. %s", tg_dtype_name(dx),
                              tg_dtype_name(dy));
    bool is_float = dx == TG_FLOAT32 || dx == TG_FLOAT64;
    if ((kind == ANY_NUMERIC && dx == TG_BOOL) || (kind == FLOAT_ONLY && !is_float) ||
        (kind == BOOL_ONLY && dx != TG_BOOL))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "dtype %s is not supported", tg_dtype_name(dx));
    return broadcast_shape(c, kind == COMPARE || kind == BOOL_ONLY ? TG_BOOL : dx);
}

static tg_code numeric_infer(tg__infer_ctx *c) { return binary_infer(c, ANY_NUMERIC); }
static tg_code float_infer(tg__infer_ctx *c) { return binary_infer(c, FLOAT_ONLY); }
static tg_code bool_infer(tg__infer_ctx *c) { return binary_infer(c, BOOL_ONLY); }
static tg_code compare_infer(tg__infer_ctx *c) { return binary_infer(c, COMPARE); }

/* Output dims and per-input strides (0 along broadcast axes). */
typedef struct {
    int rank;
    int64_t dims[TG_MAX_RANK], sx[TG_MAX_RANK], sy[TG_MAX_RANK];
} bcast;

static tg_code plan_broadcast(tg__kernel_ctx *c, bcast *p, tg_dtype out_dtype) {
    const tg_array *x = c->in[0], *y = c->in[1];
    int r = x->rank > y->rank ? x->rank : y->rank;
    p->rank = r;
    int64_t stx = 1, sty = 1;
    for (int i = r - 1; i >= 0; i--) {
        int ix = x->rank - r + i, iy = y->rank - r + i;
        int64_t dx = ix >= 0 ? x->dims[ix] : 1, dy = iy >= 0 ? y->dims[iy] : 1;
        if (dx != dy && dx != 1 && dy != 1) {
            char a[128], b[128];
            tg_shape xs = tg_array_shape(x), ys = tg_array_shape(y);
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Incompatible shapes: %s vs. %s", tg_shape_format(&xs, a, sizeof a),
                                   tg_shape_format(&ys, b, sizeof b));
        }
        p->dims[i] = dx == 1 ? dy : dx;
        p->sx[i] = dx == 1 ? 0 : stx;
        p->sy[i] = dy == 1 ? 0 : sty;
        stx *= dx;
        sty *= dy;
    }
    return tg__out_alloc(c, 0, out_dtype, r, p->dims);
}

/* The flat cases on the intra-op threads: both sides full (side 0), y a
 * scalar (1), x a scalar (2). */
typedef struct binary_job {
    const void *x, *y;
    void *z;
    int side;
} binary_job;

/* The common cases (same shape, a scalar side) run as flat loops, split
 * over the threads; the rest walks the output with an odometer over the
 * strided inputs. */
#define BINARY_KERNEL(NAME, TI, TO, OUT_DTYPE, EXPR)                                    \
    TG__CLONES static void NAME##_range(void *ctx, int64_t lo, int64_t hi, int chunk, int slot) { \
        (void)chunk, (void)slot;                                                        \
        const binary_job *j = ctx;                                                      \
        const TI *x = j->x, *y = j->y;                                                  \
        TO *z = j->z;                                                                   \
        if (j->side == 0) {                                                             \
            TG__SIMD                                                                    \
            for (int64_t i = lo; i < hi; i++) { TI a = x[i], b = y[i]; z[i] = (EXPR); } \
        } else if (j->side == 1) {                                                      \
            TI b = y[0];                                                                \
            TG__SIMD                                                                    \
            for (int64_t i = lo; i < hi; i++) { TI a = x[i]; z[i] = (EXPR); }           \
        } else {                                                                        \
            TI a = x[0];                                                                \
            TG__SIMD                                                                    \
            for (int64_t i = lo; i < hi; i++) { TI b = y[i]; z[i] = (EXPR); }           \
        }                                                                               \
    }                                                                                   \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        bcast p;                                                                        \
        tg_code rc = plan_broadcast(c, &p, OUT_DTYPE(c->in[0]->dtype));                 \
        if (rc != TG_OK) return rc;                                                     \
        const TI *x = c->in[0]->data, *y = c->in[1]->data;                              \
        TO *z = c->out[0]->data;                                                        \
        int64_t n = c->out[0]->size, nx = c->in[0]->size, ny = c->in[1]->size;          \
        int side = nx == n && ny == n ? 0 : ny == 1 && nx == n ? 1 : nx == 1 && ny == n ? 2 : -1; \
        if (side >= 0) {                                                                \
            binary_job j = {x, y, z, side};                                             \
            tg__parallel_for(c, 0, n, TG__ELEMENTWISE_GRAIN, NAME##_range, &j);                  \
            return TG_OK;                                                               \
        }                                                                               \
        int64_t idx[TG_MAX_RANK] = {0}, ox = 0, oy = 0;                                 \
        for (int64_t i = 0; i < n; i++) {                                               \
            TI a = x[ox], b = y[oy];                                                    \
            z[i] = (EXPR);                                                              \
            for (int d = p.rank - 1; d >= 0; d--) {                                     \
                ox += p.sx[d];                                                          \
                oy += p.sy[d];                                                          \
                if (++idx[d] < p.dims[d]) break;                                        \
                ox -= p.sx[d] * p.dims[d];                                              \
                oy -= p.sy[d] * p.dims[d];                                              \
                idx[d] = 0;                                                             \
            }                                                                           \
        }                                                                               \
        return TG_OK;                                                                   \
    }

#define SAME_DTYPE(d) (d)
#define BOOL_DTYPE(d) ((void)(d), TG_BOOL)

/* Integer kernels compute in unsigned arithmetic: TF's int ops wrap on
 * overflow, and signed overflow in C is undefined. */
#define ARITH_KERNELS(name, OP)                                                          \
    BINARY_KERNEL(name##_f32, float, float, SAME_DTYPE, a OP b)                          \
    BINARY_KERNEL(name##_f64, double, double, SAME_DTYPE, a OP b)                        \
    BINARY_KERNEL(name##_i32, int32_t, int32_t, SAME_DTYPE, (int32_t)((uint32_t)a OP(uint32_t) b)) \
    BINARY_KERNEL(name##_i64, int64_t, int64_t, SAME_DTYPE, (int64_t)((uint64_t)a OP(uint64_t) b))
ARITH_KERNELS(add, +)
ARITH_KERNELS(sub, -)
ARITH_KERNELS(mul, *)

BINARY_KERNEL(sqdiff_f32, float, float, SAME_DTYPE, (a - b) * (a - b))
BINARY_KERNEL(sqdiff_f64, double, double, SAME_DTYPE, (a - b) * (a - b))
BINARY_KERNEL(div_f32, float, float, SAME_DTYPE, a / b)
BINARY_KERNEL(div_f64, double, double, SAME_DTYPE, a / b)
BINARY_KERNEL(pow_f32, float, float, SAME_DTYPE, powf(a, b))
BINARY_KERNEL(pow_f64, double, double, SAME_DTYPE, pow(a, b))

#define EACH_NUMERIC(name, T_EXPR)                                                       \
    BINARY_KERNEL(name##_f32, float, float, SAME_DTYPE, T_EXPR)                          \
    BINARY_KERNEL(name##_f64, double, double, SAME_DTYPE, T_EXPR)                        \
    BINARY_KERNEL(name##_i32, int32_t, int32_t, SAME_DTYPE, T_EXPR)                      \
    BINARY_KERNEL(name##_i64, int64_t, int64_t, SAME_DTYPE, T_EXPR)
EACH_NUMERIC(max, a > b ? a : b)
EACH_NUMERIC(min, a < b ? a : b)

#define COMPARE_KERNELS(name, OP)                                                        \
    BINARY_KERNEL(name##_f32, float, bool, BOOL_DTYPE, a OP b)                           \
    BINARY_KERNEL(name##_f64, double, bool, BOOL_DTYPE, a OP b)                          \
    BINARY_KERNEL(name##_i32, int32_t, bool, BOOL_DTYPE, a OP b)                         \
    BINARY_KERNEL(name##_i64, int64_t, bool, BOOL_DTYPE, a OP b)                         \
    BINARY_KERNEL(name##_b, bool, bool, BOOL_DTYPE, a OP b)
COMPARE_KERNELS(eq, ==)
COMPARE_KERNELS(ne, !=)
COMPARE_KERNELS(lt, <)
COMPARE_KERNELS(le, <=)
COMPARE_KERNELS(gt, >)
COMPARE_KERNELS(ge, >=)
BINARY_KERNEL(and_b, bool, bool, BOOL_DTYPE, a && b)
BINARY_KERNEL(or_b, bool, bool, BOOL_DTYPE, a || b)

/* ---- gradients ------------------------------------------------------------------- */

static tg_tensor *unb(tg__grad_ctx *c, tg_tensor *d, int input) {
    return tg__grad_unbroadcast(c->g, d, c->op->inputs[input]);
}

/* z = x + y */
static tg_code add_grad(tg__grad_ctx *c) {
    c->dx[0] = unb(c, c->dy[0], 0);
    c->dx[1] = unb(c, c->dy[0], 1);
    return tg_graph_status(c->g);
}

/* z = x - y */
static tg_code sub_grad(tg__grad_ctx *c) {
    c->dx[0] = unb(c, c->dy[0], 0);
    c->dx[1] = unb(c, tg_negative(c->g, c->dy[0], NULL), 1);
    return tg_graph_status(c->g);
}

/* z = x * y */
static tg_code mul_grad(tg__grad_ctx *c) {
    tg_tensor *x = c->op->inputs[0], *y = c->op->inputs[1];
    c->dx[0] = unb(c, tg_multiply(c->g, c->dy[0], y, NULL), 0);
    c->dx[1] = unb(c, tg_multiply(c->g, x, c->dy[0], NULL), 1);
    return tg_graph_status(c->g);
}

/* z = x / y: dz/dx = 1/y, dz/dy = -x/y^2 */
static tg_code div_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0], *y = c->op->inputs[1], *dy = c->dy[0];
    c->dx[0] = unb(c, tg_divide(g, dy, y, NULL), 0);
    tg_tensor *t = tg_divide(g, tg_divide(g, tg_negative(g, x, NULL), y, NULL), y, NULL);
    c->dx[1] = unb(c, tg_multiply(g, dy, t, NULL), 1);
    return tg_graph_status(g);
}

/* z = (x - y)^2: dz/dx = 2 (x - y) = -dz/dy */
static tg_code sqdiff_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0], *y = c->op->inputs[1];
    tg_tensor *two = tg_constant_scalar(g, x->dtype, 2, NULL);
    tg_tensor *d = tg_multiply(g, c->dy[0], tg_multiply(g, two, tg_subtract(g, x, y, NULL), NULL), NULL);
    c->dx[0] = unb(c, d, 0);
    c->dx[1] = unb(c, tg_negative(g, d, NULL), 1);
    return tg_graph_status(g);
}

/* max/min: the gradient goes to the side that was selected (x on ties, as
 * TF's x >= y / x <= y masks). */
static tg_code select_side_grad(tg__grad_ctx *c, bool is_max) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0], *y = c->op->inputs[1], *dy = c->dy[0];
    tg_tensor *mask = is_max ? tg_greater_equal(g, x, y, NULL) : tg_less_equal(g, x, y, NULL);
    /* the mask has the broadcast shape, like dy */
    tg_tensor *zeros = tg_zeros_like(g, dy, NULL);
    c->dx[0] = unb(c, tg_where(g, mask, dy, zeros, NULL), 0);
    c->dx[1] = unb(c, tg_where(g, mask, zeros, dy, NULL), 1);
    return tg_graph_status(g);
}
static tg_code maximum_grad(tg__grad_ctx *c) { return select_side_grad(c, true); }
static tg_code minimum_grad(tg__grad_ctx *c) { return select_side_grad(c, false); }

/* z = x^y: dz/dx = y x^(y-1), dz/dy = z log(x) where x > 0, else 0 (TF). */
static tg_code pow_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0], *y = c->op->inputs[1], *z = &c->op->outputs[0], *dy = c->dy[0];
    tg_tensor *one = tg_constant_scalar(g, x->dtype, 1, NULL);
    tg_tensor *dzdx = tg_multiply(g, y, tg_pow(g, x, tg_subtract(g, y, one, NULL), NULL), NULL);
    c->dx[0] = unb(c, tg_multiply(g, dy, dzdx, NULL), 0);
    tg_tensor *pos = tg_greater(g, x, tg_zeros_like(g, x, NULL), NULL);
    tg_tensor *safe_x = tg_where(g, pos, x, tg_ones_like(g, x, NULL), NULL);
    tg_tensor *log_x = tg_where(g, pos, tg_log(g, safe_x, NULL), tg_zeros_like(g, x, NULL), NULL);
    c->dx[1] = unb(c, tg_multiply(g, dy, tg_multiply(g, z, log_x, NULL), NULL), 1);
    return tg_graph_status(g);
}

/* ---- op definitions and builders --------------------------------------------------- */

#define NUMERIC_KERNELS(name) TG__NUMERIC(name##_f32, name##_f64, name##_i32, name##_i64)
#define ALL_KERNELS(name) {name##_f32, name##_f64, name##_i32, name##_i64, name##_b}

#define DEF(var, TYPE, INFER, KERNELS, GRAD, FLAGS) \
    const tg__op_def var = {.type = TYPE, .n_inputs = 2, .n_outputs = 1, .flags = FLAGS, \
                            .infer = INFER, .kernel = KERNELS, .grad = GRAD};

/* GraphDef export: TF's "T" is input 0's dtype. */
static void export_t(const tg_op *op, tg__attr_list *out) { tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype; }

/* The binary ops GraphDef export knows (tg_graph_to_graph_def): T alone. */
#define DEF_EXPORTED(var, TYPE, INFER, KERNELS, GRAD) \
    const tg__op_def var = {.type = TYPE, .n_inputs = 2, .n_outputs = 1, .infer = INFER, .kernel = KERNELS, \
                            .grad = GRAD, .export_attrs = export_t};

DEF_EXPORTED(tg__op_add, "Add", numeric_infer, NUMERIC_KERNELS(add), add_grad)
DEF_EXPORTED(tg__op_sub, "Sub", numeric_infer, NUMERIC_KERNELS(sub), sub_grad)
DEF_EXPORTED(tg__op_mul, "Mul", numeric_infer, NUMERIC_KERNELS(mul), mul_grad)
DEF_EXPORTED(tg__op_real_div, "RealDiv", float_infer, TG__NUMERIC(div_f32, div_f64, NULL, NULL), div_grad)
DEF(tg__op_squared_difference, "SquaredDifference", float_infer, TG__NUMERIC(sqdiff_f32, sqdiff_f64, NULL, NULL),
    sqdiff_grad, 0)
DEF(tg__op_maximum, "Maximum", numeric_infer, NUMERIC_KERNELS(max), maximum_grad, 0)
DEF(tg__op_minimum, "Minimum", numeric_infer, NUMERIC_KERNELS(min), minimum_grad, 0)
DEF(tg__op_pow, "Pow", float_infer, TG__NUMERIC(pow_f32, pow_f64, NULL, NULL), pow_grad, 0)
DEF(tg__op_equal, "Equal", compare_infer, ALL_KERNELS(eq), NULL, TG__OPF_NOT_DIFFERENTIABLE)
DEF(tg__op_not_equal, "NotEqual", compare_infer, ALL_KERNELS(ne), NULL, TG__OPF_NOT_DIFFERENTIABLE)
DEF(tg__op_less, "Less", compare_infer, ALL_KERNELS(lt), NULL, TG__OPF_NOT_DIFFERENTIABLE)
DEF(tg__op_less_equal, "LessEqual", compare_infer, ALL_KERNELS(le), NULL, TG__OPF_NOT_DIFFERENTIABLE)
DEF(tg__op_greater, "Greater", compare_infer, ALL_KERNELS(gt), NULL, TG__OPF_NOT_DIFFERENTIABLE)
DEF(tg__op_greater_equal, "GreaterEqual", compare_infer, ALL_KERNELS(ge), NULL, TG__OPF_NOT_DIFFERENTIABLE)
DEF(tg__op_logical_and, "LogicalAnd", bool_infer, {[TG_BOOL] = and_b}, NULL, TG__OPF_NOT_DIFFERENTIABLE)
DEF(tg__op_logical_or, "LogicalOr", bool_infer, {[TG_BOOL] = or_b}, NULL, TG__OPF_NOT_DIFFERENTIABLE)

static tg_tensor *binary(tg_graph *g, const tg__op_def *def, tg_tensor *x, tg_tensor *y, const char *name) {
    tg_tensor *in[2] = {x, y};
    return tg__simple_op(g, def, name, in, 2, NULL);
}

#define BUILDER(fn, var) \
    tg_tensor *fn(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name) { return binary(g, &var, x, y, name); }

BUILDER(tg_add, tg__op_add)
BUILDER(tg_subtract, tg__op_sub)
BUILDER(tg_multiply, tg__op_mul)
BUILDER(tg_divide, tg__op_real_div)
BUILDER(tg_squared_difference, tg__op_squared_difference)
BUILDER(tg_maximum, tg__op_maximum)
BUILDER(tg_minimum, tg__op_minimum)
BUILDER(tg_pow, tg__op_pow)
BUILDER(tg_equal, tg__op_equal)
BUILDER(tg_not_equal, tg__op_not_equal)
BUILDER(tg_less, tg__op_less)
BUILDER(tg_less_equal, tg__op_less_equal)
BUILDER(tg_greater, tg__op_greater)
BUILDER(tg_greater_equal, tg__op_greater_equal)
BUILDER(tg_logical_and, tg__op_logical_and)
BUILDER(tg_logical_or, tg__op_logical_or)
