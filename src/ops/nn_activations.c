/* Activations: Relu, Relu6, Elu, LeakyRelu, Sigmoid, Tanh, Softplus, and
 * Softmax / LogSoftmax over the last axis. Gradients are compositions of
 * differentiable ops (TF uses fused *Grad kernels; the math is the same),
 * so second derivatives work; relu's alone is TF's fused ReluGrad, because
 * it runs on every activation of a CNN each step, and ReluGrad has its own
 * gradient as in TF. */
#include <math.h>

#include "unary_util.h"

typedef struct {
    double alpha;
} leaky_attrs;

TG__FLOAT_UNARY(relu, a > 0 ? a : 0, a > 0 ? a : 0)
TG__FLOAT_UNARY(relu6, a > 0 ? (a < 6 ? a : 6) : 0, a > 0 ? (a < 6 ? a : 6) : 0)
TG__FLOAT_UNARY(elu, a > 0 ? a : expm1f(a), a > 0 ? a : expm1(a))
TG__FLOAT_UNARY(sigmoid, 1.0f / (1.0f + expf(-a)), 1.0 / (1.0 + exp(-a)))
TG__FLOAT_UNARY(tanh, tanhf(a), tanh(a))
/* log(1 + e^x) without overflow for large x */
TG__FLOAT_UNARY(softplus, a > 0 ? a + log1pf(expf(-a)) : log1pf(expf(a)), a > 0 ? a + log1p(exp(-a)) : log1p(exp(a)))

#define LEAKY_KERNEL(NAME, T)                                                           \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *x = c->in[0];                                                   \
        const T alpha = (T)((const leaky_attrs *)c->attrs)->alpha;                      \
        tg_code rc = tg__out_alloc(c, 0, x->dtype, x->rank, x->dims);                   \
        if (rc != TG_OK) return rc;                                                     \
        const T *in = x->data;                                                          \
        T *out = c->out[0]->data;                                                       \
        for (int64_t i = 0; i < x->size; i++) out[i] = in[i] > 0 ? in[i] : alpha * in[i]; \
        return TG_OK;                                                                   \
    }
LEAKY_KERNEL(leaky_f32, float)
LEAKY_KERNEL(leaky_f64, double)

/* Softmax and LogSoftmax over the last axis, shifted by the row maximum. */
#define SOFTMAX_KERNEL(NAME, T, EXP, LOG, IS_LOG)                                       \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *x = c->in[0];                                                   \
        if (x->rank < 1) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "logits must have rank >= 1"); \
        tg_code rc = tg__out_alloc(c, 0, x->dtype, x->rank, x->dims);                   \
        if (rc != TG_OK) return rc;                                                     \
        int64_t n = x->dims[x->rank - 1], rows = n ? x->size / n : 0;                   \
        for (int64_t r = 0; r < rows; r++) {                                            \
            const T *in = (const T *)x->data + r * n;                                   \
            T *out = (T *)c->out[0]->data + r * n, m = in[0], s = 0;                    \
            for (int64_t j = 1; j < n; j++) m = in[j] > m ? in[j] : m;                  \
            for (int64_t j = 0; j < n; j++) s += EXP(in[j] - m);                        \
            for (int64_t j = 0; j < n; j++)                                             \
                out[j] = IS_LOG ? in[j] - m - LOG(s) : EXP(in[j] - m) / s;              \
        }                                                                               \
        return TG_OK;                                                                   \
    }
SOFTMAX_KERNEL(softmax_f32, float, expf, logf, 0)
SOFTMAX_KERNEL(softmax_f64, double, exp, log, 0)
SOFTMAX_KERNEL(log_softmax_f32, float, expf, logf, 1)
SOFTMAX_KERNEL(log_softmax_f64, double, exp, log, 1)

/* ---- gradients ------------------------------------------------------------------ */

static tg_tensor *k(tg_graph *g, tg_tensor *like, double v) { return tg_constant_scalar(g, like->dtype, v, NULL); }

static tg_tensor *mask(tg_graph *g, tg_tensor *cond, tg_dtype dtype) { return tg_cast(g, cond, dtype, NULL); }

/* ---- ReluGrad(gradients, features) = gradients * (features > 0) ---------------------- */

static tg_code relu_grad_op_infer(tg__infer_ctx *c) {
    const tg_tensor *dy = c->in[0], *x = c->in[1];
    if (dy->dtype != x->dtype)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "gradients and features must have the same dtype, not %s and %s",
                              tg_dtype_name(dy->dtype), tg_dtype_name(x->dtype));
    tg_code rc = tg__float_unary_infer(c);
    if (rc != TG_OK) return rc;
    if (!tg__shape_compatible(&dy->shape, &x->shape)) {
        char b1[128], b2[128];
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "gradients and features must have the same shape, not %s and %s",
                              tg_shape_format(&dy->shape, b1, sizeof b1), tg_shape_format(&x->shape, b2, sizeof b2));
    }
    /* The output has dy's shape; dims dy leaves unknown come from x. */
    for (int i = 0; dy->shape.rank >= 0 && i < x->shape.rank; i++)
        if (c->out[0].shape.dims[i] < 0) c->out[0].shape.dims[i] = x->shape.dims[i];
    return TG_OK;
}

/* TF multiplies by the mask, so a NaN or infinite gradient gives NaN where
 * the unit is off. Computing that value unconditionally and selecting lets
 * GCC vectorize the loop (a product with a 0/1 mask became a branch). */
typedef struct relu_grad_job {
    const void *g, *f;
    void *out;
} relu_grad_job;

#define RELU_GRAD_KERNEL(NAME, T)                                                                          \
    TG__CLONES static void NAME##_range(void *ctx, int64_t b, int64_t e, int chunk, int slot) {            \
        (void)chunk, (void)slot;                                                                           \
        const relu_grad_job *j = ctx;                                                                      \
        const T *g = j->g, *f = j->f;                                                                      \
        T *out = j->out;                                                                                   \
        TG__SIMD                                                                                           \
        for (int64_t i = b; i < e; i++) {                                                                  \
            T off = g[i] - g[i]; /* g * 0 up to the sign of zero: NaN for NaN and inf */                   \
            out[i] = f[i] > 0 ? g[i] : off;                                                                \
        }                                                                                                  \
    }                                                                                                      \
    static tg_code NAME(tg__kernel_ctx *c) {                                                               \
        const tg_array *dy = c->in[0], *x = c->in[1];                                                      \
        tg_shape xs = tg_array_shape(x);                                                                   \
        if (!tg__array_matches_shape(dy, &xs))                                                             \
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "gradients and features must have the same shape"); \
        tg_code rc = tg__out_alloc(c, 0, x->dtype, x->rank, x->dims);                                      \
        if (rc != TG_OK) return rc;                                                                        \
        relu_grad_job j = {dy->data, x->data, c->out[0]->data};                                            \
        tg__parallel_for(c, 0, x->size, TG__ELEMENTWISE_GRAIN, NAME##_range, &j);                          \
        return TG_OK;                                                                                      \
    }
RELU_GRAD_KERNEL(relu_grad_op_f32, float)
RELU_GRAD_KERNEL(relu_grad_op_f64, double)

static tg_tensor *relu_grad_node(tg_graph *g, tg_tensor *dy, tg_tensor *features) {
    tg_tensor *in[2] = {dy, features};
    return tg__simple_op(g, &tg__op_relu_grad, NULL, in, 2, NULL);
}

/* TF's _ReluGradGrad: linear in the gradients; the mask is piecewise
 * constant in the features, so their gradient is zero (None here). */
static tg_code relu_grad_op_grad(tg__grad_ctx *c) {
    c->dx[0] = relu_grad_node(c->g, c->dy[0], c->op->inputs[1]);
    return tg_graph_status(c->g);
}

const tg__op_def tg__op_relu_grad = {
    .type = "ReluGrad",
    .n_inputs = 2,
    .n_outputs = 1,
    .infer = relu_grad_op_infer,
    .kernel = TG__NUMERIC(relu_grad_op_f32, relu_grad_op_f64, NULL, NULL),
    .grad = relu_grad_op_grad,
};

/* relu: dy where y > 0 (TF passes the output, as here; equal to x > 0) */
static tg_code relu_grad(tg__grad_ctx *c) {
    c->dx[0] = relu_grad_node(c->g, c->dy[0], &c->op->outputs[0]);
    return tg_graph_status(c->g);
}
/* relu6: dy where 0 < x < 6 */
static tg_code relu6_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0];
    tg_tensor *in = tg_logical_and(g, tg_greater(g, x, k(g, x, 0), NULL), tg_less(g, x, k(g, x, 6), NULL), NULL);
    c->dx[0] = tg_multiply(g, c->dy[0], mask(g, in, x->dtype), NULL);
    return tg_graph_status(g);
}
/* elu: dy where x > 0, dy (y + 1) elsewhere */
static tg_code elu_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0], *y = &c->op->outputs[0], *dy = c->dy[0];
    tg_tensor *neg = tg_multiply(g, dy, tg_add(g, y, k(g, y, 1), NULL), NULL);
    c->dx[0] = tg_where(g, tg_greater(g, x, k(g, x, 0), NULL), dy, neg, NULL);
    return tg_graph_status(g);
}
/* leaky relu: dy where x > 0, alpha dy elsewhere */
static tg_code leaky_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0], *dy = c->dy[0];
    const leaky_attrs *a = c->op->attrs;
    tg_tensor *neg = tg_multiply(g, dy, k(g, x, a->alpha), NULL);
    c->dx[0] = tg_where(g, tg_greater(g, x, k(g, x, 0), NULL), dy, neg, NULL);
    return tg_graph_status(g);
}
/* sigmoid: dy y (1 - y) */
static tg_code sigmoid_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *y = &c->op->outputs[0];
    tg_tensor *d = tg_multiply(g, y, tg_subtract(g, k(g, y, 1), y, NULL), NULL);
    c->dx[0] = tg_multiply(g, c->dy[0], d, NULL);
    return tg_graph_status(g);
}
/* tanh: dy (1 - y^2) */
static tg_code tanh_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *y = &c->op->outputs[0];
    c->dx[0] = tg_multiply(g, c->dy[0], tg_subtract(g, k(g, y, 1), tg_square(g, y, NULL), NULL), NULL);
    return tg_graph_status(g);
}
/* softplus: dy sigmoid(x) */
static tg_code softplus_grad(tg__grad_ctx *c) {
    c->dx[0] = tg_multiply(c->g, c->dy[0], tg_sigmoid(c->g, c->op->inputs[0], NULL), NULL);
    return tg_graph_status(c->g);
}

static tg_tensor *sum_last(tg_graph *g, tg_tensor *x) {
    int axis = -1;
    return tg_reduce_sum(g, x, &(tg_reduce_opts){.axes = &axis, .n_axes = 1, .keep_dims = true});
}
/* softmax: (dy - sum(dy y)) y */
static tg_code softmax_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *y = &c->op->outputs[0], *dy = c->dy[0];
    c->dx[0] = tg_multiply(g, tg_subtract(g, dy, sum_last(g, tg_multiply(g, dy, y, NULL)), NULL), y, NULL);
    return tg_graph_status(g);
}
/* log_softmax: dy - sum(dy) softmax(x), softmax = exp(y) */
static tg_code log_softmax_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *y = &c->op->outputs[0], *dy = c->dy[0];
    c->dx[0] = tg_subtract(g, dy, tg_multiply(g, sum_last(g, dy), tg_exp(g, y, NULL), NULL), NULL);
    return tg_graph_status(g);
}

static tg_code softmax_infer(tg__infer_ctx *c) {
    if (c->in[0]->shape.rank == 0) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "logits must have rank >= 1");
    return tg__float_unary_infer(c);
}

/* GraphDef export: TF's "T" is input 0's dtype. */
static void export_t(const tg_op *op, tg__attr_list *out) { tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype; }

#define ACT_DEF(var, TYPE, INFER, n, GRAD, ATTR) \
    const tg__op_def var = {.type = TYPE, .n_inputs = 1, .n_outputs = 1, .attr_size = ATTR, .infer = INFER, \
                            .kernel = TG__NUMERIC(n##_f32, n##_f64, NULL, NULL), .grad = GRAD};
/* Relu writes over its input when nothing else reads it (the plan decides):
 * a CNN's largest buffers are the activations around it. */
const tg__op_def tg__op_relu = {.type = "Relu", .n_inputs = 1, .n_outputs = 1, .flags = TG__OPF_INPLACE,
                                .infer = tg__float_unary_infer, .kernel = TG__NUMERIC(relu_f32, relu_f64, NULL, NULL),
                                .grad = relu_grad, .export_attrs = export_t};
/* The activations GraphDef export knows (tg_graph_to_graph_def): T alone. */
#define ACT_DEF_EXPORTED(var, TYPE, INFER, n, GRAD) \
    const tg__op_def var = {.type = TYPE, .n_inputs = 1, .n_outputs = 1, .infer = INFER, \
                            .kernel = TG__NUMERIC(n##_f32, n##_f64, NULL, NULL), .grad = GRAD, \
                            .export_attrs = export_t};
ACT_DEF_EXPORTED(tg__op_relu6, "Relu6", tg__float_unary_infer, relu6, relu6_grad)
ACT_DEF_EXPORTED(tg__op_elu, "Elu", tg__float_unary_infer, elu, elu_grad)
ACT_DEF(tg__op_leaky_relu, "LeakyRelu", tg__float_unary_infer, leaky, leaky_grad, sizeof(leaky_attrs))
ACT_DEF_EXPORTED(tg__op_sigmoid, "Sigmoid", tg__float_unary_infer, sigmoid, sigmoid_grad)
ACT_DEF_EXPORTED(tg__op_tanh, "Tanh", tg__float_unary_infer, tanh, tanh_grad)
ACT_DEF(tg__op_softplus, "Softplus", tg__float_unary_infer, softplus, softplus_grad, 0)
ACT_DEF_EXPORTED(tg__op_softmax, "Softmax", softmax_infer, softmax, softmax_grad)
ACT_DEF_EXPORTED(tg__op_log_softmax, "LogSoftmax", softmax_infer, log_softmax, log_softmax_grad)

#define ACT_BUILDER(fn, var) \
    tg_tensor *fn(tg_graph *g, tg_tensor *x, const char *name) { return tg__simple_op(g, &var, name, &x, 1, NULL); }
ACT_BUILDER(tg_nn_relu, tg__op_relu)
ACT_BUILDER(tg_nn_relu6, tg__op_relu6)
ACT_BUILDER(tg_nn_elu, tg__op_elu)
ACT_BUILDER(tg_sigmoid, tg__op_sigmoid)
ACT_BUILDER(tg_tanh, tg__op_tanh)
ACT_BUILDER(tg_nn_softplus, tg__op_softplus)
ACT_BUILDER(tg_nn_softmax, tg__op_softmax)
ACT_BUILDER(tg_nn_log_softmax, tg__op_log_softmax)

/* tf.nn.leaky_relu(features, alpha=0.2) */
tg_tensor *tg_nn_leaky_relu(tg_graph *g, tg_tensor *x, double alpha, const char *name) {
    leaky_attrs a = {alpha};
    return tg__simple_op(g, &tg__op_leaky_relu, name, &x, 1, &a);
}
