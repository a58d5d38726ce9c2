/* Unary elementwise math: Neg, Square, Sqrt, Rsqrt, Exp, Log, Abs, Sign,
 * LogicalNot and Cast. Each gradient is built from differentiable ops. */
#include <math.h>

#include "unary_util.h"

static tg_code like_input(tg__infer_ctx *c, bool allow_int) {
    tg_dtype d = c->in[0]->dtype;
    bool ok = d == TG_FLOAT32 || d == TG_FLOAT64 || (allow_int && (d == TG_INT32 || d == TG_INT64));
    if (!ok) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "dtype %s is not supported", tg_dtype_name(d));
    c->out[0].dtype = d;
    c->out[0].shape = c->in[0]->shape;
    return TG_OK;
}
tg_code tg__float_unary_infer(tg__infer_ctx *c) { return like_input(c, false); }
static tg_code numeric_unary_infer(tg__infer_ctx *c) { return like_input(c, true); }

/* Integer negation and squaring wrap, as in TF (unsigned arithmetic). */
TG__FLOAT_UNARY(neg, -a, -a)
TG__UNARY_KERNEL(neg_i32, int32_t, int32_t, TG_INT32, (int32_t)(0u - (uint32_t)a))
TG__UNARY_KERNEL(neg_i64, int64_t, int64_t, TG_INT64, (int64_t)(0u - (uint64_t)a))
TG__FLOAT_UNARY(square, a * a, a * a)
TG__UNARY_KERNEL(square_i32, int32_t, int32_t, TG_INT32, (int32_t)((uint32_t)a * (uint32_t)a))
TG__UNARY_KERNEL(square_i64, int64_t, int64_t, TG_INT64, (int64_t)((uint64_t)a * (uint64_t)a))
TG__FLOAT_UNARY(sqrt, sqrtf(a), sqrt(a))
TG__FLOAT_UNARY(rsqrt, 1.0f / sqrtf(a), 1.0 / sqrt(a))
TG__FLOAT_UNARY(exp, expf(a), exp(a))
TG__FLOAT_UNARY(log, logf(a), log(a))
TG__FLOAT_UNARY(abs, fabsf(a), fabs(a))
TG__UNARY_KERNEL(abs_i32, int32_t, int32_t, TG_INT32, a < 0 ? (int32_t)(0u - (uint32_t)a) : a)
TG__UNARY_KERNEL(abs_i64, int64_t, int64_t, TG_INT64, a < 0 ? (int64_t)(0u - (uint64_t)a) : a)
TG__FLOAT_UNARY(sign, (a > 0) - (a < 0), (a > 0) - (a < 0))
TG__UNARY_KERNEL(sign_i32, int32_t, int32_t, TG_INT32, (a > 0) - (a < 0))
TG__UNARY_KERNEL(sign_i64, int64_t, int64_t, TG_INT64, (a > 0) - (a < 0))
TG__UNARY_KERNEL(not_b, bool, bool, TG_BOOL, !a)

static tg_tensor *scalar_like(tg_graph *g, tg_tensor *x, double v) { return tg_constant_scalar(g, x->dtype, v, NULL); }

/* y = -x */
static tg_code neg_grad(tg__grad_ctx *c) {
    c->dx[0] = tg_negative(c->g, c->dy[0], NULL);
    return tg_graph_status(c->g);
}
/* y = x^2: dy/dx = 2x */
static tg_code square_grad(tg__grad_ctx *c) {
    tg_tensor *x = c->op->inputs[0];
    c->dx[0] = tg_multiply(c->g, c->dy[0], tg_multiply(c->g, scalar_like(c->g, x, 2), x, NULL), NULL);
    return tg_graph_status(c->g);
}
/* y = sqrt(x): dy/dx = 0.5 / y */
static tg_code sqrt_grad(tg__grad_ctx *c) {
    tg_tensor *y = &c->op->outputs[0];
    c->dx[0] = tg_divide(c->g, tg_multiply(c->g, c->dy[0], scalar_like(c->g, y, 0.5), NULL), y, NULL);
    return tg_graph_status(c->g);
}
/* y = x^(-1/2): dy/dx = -0.5 y^3 */
static tg_code rsqrt_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *y = &c->op->outputs[0];
    tg_tensor *y3 = tg_multiply(g, y, tg_square(g, y, NULL), NULL);
    c->dx[0] = tg_multiply(g, c->dy[0], tg_multiply(g, scalar_like(g, y, -0.5), y3, NULL), NULL);
    return tg_graph_status(g);
}
/* y = e^x: dy/dx = y */
static tg_code exp_grad(tg__grad_ctx *c) {
    c->dx[0] = tg_multiply(c->g, c->dy[0], &c->op->outputs[0], NULL);
    return tg_graph_status(c->g);
}
/* y = log x: dy/dx = 1/x */
static tg_code log_grad(tg__grad_ctx *c) {
    c->dx[0] = tg_divide(c->g, c->dy[0], c->op->inputs[0], NULL);
    return tg_graph_status(c->g);
}
/* y = |x|: dy/dx = sign(x) */
static tg_code abs_grad(tg__grad_ctx *c) {
    c->dx[0] = tg_multiply(c->g, c->dy[0], tg_sign(c->g, c->op->inputs[0], NULL), NULL);
    return tg_graph_status(c->g);
}
/* y = sign(x): zero almost everywhere */
static tg_code sign_grad(tg__grad_ctx *c) {
    c->dx[0] = tg_zeros_like(c->g, c->op->inputs[0], NULL);
    return tg_graph_status(c->g);
}

#define UNARY_DEF(var, TYPE, INFER, KERNELS, GRAD, FLAGS) \
    const tg__op_def var = {.type = TYPE, .n_inputs = 1, .n_outputs = 1, .flags = FLAGS, \
                            .infer = INFER, .kernel = KERNELS, .grad = GRAD};
#define NUM(n) TG__NUMERIC(n##_f32, n##_f64, n##_i32, n##_i64)
#define FLT(n) TG__NUMERIC(n##_f32, n##_f64, NULL, NULL)

UNARY_DEF(tg__op_neg, "Neg", numeric_unary_infer, NUM(neg), neg_grad, 0)
UNARY_DEF(tg__op_square, "Square", numeric_unary_infer, NUM(square), square_grad, 0)
UNARY_DEF(tg__op_sqrt, "Sqrt", tg__float_unary_infer, FLT(sqrt), sqrt_grad, 0)
UNARY_DEF(tg__op_rsqrt, "Rsqrt", tg__float_unary_infer, FLT(rsqrt), rsqrt_grad, 0)
UNARY_DEF(tg__op_exp, "Exp", tg__float_unary_infer, FLT(exp), exp_grad, 0)
UNARY_DEF(tg__op_log, "Log", tg__float_unary_infer, FLT(log), log_grad, 0)
UNARY_DEF(tg__op_abs, "Abs", numeric_unary_infer, NUM(abs), abs_grad, 0)
UNARY_DEF(tg__op_sign, "Sign", numeric_unary_infer, NUM(sign), sign_grad, 0)

static tg_code not_infer(tg__infer_ctx *c) {
    if (c->in[0]->dtype != TG_BOOL) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "input must be bool");
    c->out[0].dtype = TG_BOOL;
    c->out[0].shape = c->in[0]->shape;
    return TG_OK;
}
UNARY_DEF(tg__op_logical_not, "LogicalNot", not_infer, {[TG_BOOL] = not_b}, NULL, TG__OPF_NOT_DIFFERENTIABLE)

#define UNARY_BUILDER(fn, var) \
    tg_tensor *fn(tg_graph *g, tg_tensor *x, const char *name) { return tg__simple_op(g, &var, name, &x, 1, NULL); }
UNARY_BUILDER(tg_negative, tg__op_neg)
UNARY_BUILDER(tg_square, tg__op_square)
UNARY_BUILDER(tg_sqrt, tg__op_sqrt)
UNARY_BUILDER(tg_rsqrt, tg__op_rsqrt)
UNARY_BUILDER(tg_exp, tg__op_exp)
UNARY_BUILDER(tg_log, tg__op_log)
UNARY_BUILDER(tg_abs, tg__op_abs)
UNARY_BUILDER(tg_sign, tg__op_sign)
UNARY_BUILDER(tg_logical_not, tg__op_logical_not)

/* ---- Cast ------------------------------------------------------------------------------ */

typedef struct {
    tg_dtype to;
} cast_attrs;

static tg_code cast_infer(tg__infer_ctx *c) {
    const cast_attrs *a = c->attrs;
    c->out[0].dtype = a->to;
    c->out[0].shape = c->in[0]->shape;
    return TG_OK;
}

/* Every (from, to) pair; float to int truncates toward zero and to bool
 * tests != 0, as TF. Out-of-range float to int is undefined in C, so it
 * saturates here. */
static double load(const tg_array *x, int64_t i) { return tg_array_get(x, i); }

/* Casts to a float type from bool, int32 or a float type are exact or
 * rounded by C's conversion alone, so they get plain loops the compiler
 * vectorizes: the relu and pooling gradients cast whole activation-sized
 * masks every step. Returns false for the other pairs. */
#define CAST_TO_FLOAT(TO)                                                                          \
    static bool cast_to_##TO(const tg_array *x, TO *o) {                                           \
        int64_t n = x->size;                                                                       \
        switch (x->dtype) {                                                                        \
        case TG_BOOL: for (int64_t i = 0; i < n; i++) o[i] = (TO)((const bool *)x->data)[i]; return true;  \
        case TG_INT32: for (int64_t i = 0; i < n; i++) o[i] = (TO)((const int32_t *)x->data)[i]; return true; \
        case TG_FLOAT32: for (int64_t i = 0; i < n; i++) o[i] = (TO)((const float *)x->data)[i]; return true; \
        case TG_FLOAT64: for (int64_t i = 0; i < n; i++) o[i] = (TO)((const double *)x->data)[i]; return true; \
        default: return false;                                                                     \
        }                                                                                          \
    }
CAST_TO_FLOAT(float)
CAST_TO_FLOAT(double)

static tg_code cast_kernel(tg__kernel_ctx *c) {
    const cast_attrs *a = c->attrs;
    const tg_array *x = c->in[0];
    tg_code rc = tg__out_alloc(c, 0, a->to, x->rank, x->dims);
    if (rc != TG_OK) return rc;
    void *o = c->out[0]->data;
    if (a->to == TG_FLOAT32 && cast_to_float(x, o)) return TG_OK;
    if (a->to == TG_FLOAT64 && cast_to_double(x, o)) return TG_OK;
    bool exact64 = x->dtype == TG_INT64 && a->to == TG_INT64;
    for (int64_t i = 0; i < x->size; i++) {
        double v = load(x, i);
        switch (a->to) {
        case TG_FLOAT32: ((float *)o)[i] = x->dtype == TG_INT64 ? (float)((const int64_t *)x->data)[i] : (float)v; break;
        case TG_FLOAT64: ((double *)o)[i] = x->dtype == TG_INT64 ? (double)((const int64_t *)x->data)[i] : v; break;
        case TG_INT32:
            if (x->dtype == TG_INT64) ((int32_t *)o)[i] = (int32_t)(uint32_t)((const int64_t *)x->data)[i];
            else ((int32_t *)o)[i] = v != v ? 0 : v >= 2147483647.0 ? INT32_MAX : v <= -2147483648.0 ? INT32_MIN : (int32_t)v;
            break;
        case TG_INT64:
            if (exact64) ((int64_t *)o)[i] = ((const int64_t *)x->data)[i];
            else ((int64_t *)o)[i] = v != v ? 0 : v >= 9.2233720368547758e18 ? INT64_MAX : v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v;
            break;
        case TG_BOOL: ((bool *)o)[i] = x->dtype == TG_INT64 ? ((const int64_t *)x->data)[i] != 0 : v != 0; break;
        case TG_DTYPE_COUNT: break;
        }
    }
    return TG_OK;
}

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

/* Between float dtypes the gradient is cast back; otherwise None (TF). */
static tg_code cast_grad(tg__grad_ctx *c) {
    tg_tensor *x = c->op->inputs[0];
    if (is_float(x->dtype) && is_float(c->op->outputs[0].dtype)) c->dx[0] = tg_cast(c->g, c->dy[0], x->dtype, NULL);
    return tg_graph_status(c->g);
}

const tg__op_def tg__op_cast = {
    .type = "Cast",
    .n_inputs = 1,
    .n_outputs = 1,
    .attr_size = sizeof(cast_attrs),
    .infer = cast_infer,
    .kernel = TG__ALL_DTYPES(cast_kernel),
    .grad = cast_grad,
};

tg_tensor *tg_cast(tg_graph *g, tg_tensor *x, tg_dtype dtype, const char *name) {
    if (!tg__graph_ready(g, &x, 1)) return NULL;
    if ((unsigned)dtype >= TG_DTYPE_COUNT) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: invalid dtype %d", name ? name : "Cast", (int)dtype);
        return NULL;
    }
    cast_attrs a = {dtype};
    return tg__simple_op(g, &tg__op_cast, name, &x, 1, &a);
}
