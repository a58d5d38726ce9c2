/* TF's fused optimizer kernels (training_ops): ApplyGradientDescent,
 * ApplyMomentum, ApplyAdam, ApplyRMSProp, ApplyCenteredRMSProp and
 * ApplyAdagrad. One pass over the variable, its slots and the gradient
 * instead of a chain of elementwise ops with their temporaries: on the MNIST
 * CNN's 3.2M-weight fully connected layer the composite Adam moved some
 * 150 MB per step. Each kernel computes TF's functor (training_ops.cc) in
 * its order and in T, so results are those of the composition of public ops
 * with the same arithmetic, bit for bit. */
#include <math.h>

#include "ops_internal.h"

/* TF's Eigen kernels round every product before the sum; clang would fuse
 * a * b + c into one FMA on targets that have it, and the optimizers'
 * results would then depend on the target. (GCC does not contract in ISO C
 * mode, which the build uses.) */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- what the Apply* ops share ----------------------------------------------- */

/* The kinds of input of an Apply* op: a variable reference it writes in
 * place (var and the slots: TF's Ref(T) inputs), a scalar hyper-parameter,
 * or the gradient. References and the gradient have var's shape. */
enum { APPLY_REF, APPLY_SCALAR, APPLY_GRAD };

typedef struct apply_sig {
    int n;
    const char *const *names;
    const unsigned char *kinds;
} apply_sig;

/* TF's shape functions for these ops, with their messages. */
static tg_code apply_infer(tg__infer_ctx *c, const apply_sig *s) {
    const tg_tensor *var = c->in[0];
    tg_dtype dt = var->dtype;
    if (dt != TG_FLOAT32 && dt != TG_FLOAT64)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "var must be float32 or float64, not %s", tg_dtype_name(dt));
    for (int i = 0; i < s->n; i++) {
        const tg_tensor *t = c->in[i];
        if (s->kinds[i] == APPLY_REF && !(t->op->def->flags & TG__OPF_VARIABLE))
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s '%s' is not a variable reference", s->names[i],
                                  t->name);
        if (t->dtype != dt)
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s has dtype %s, var has %s", s->names[i],
                                  tg_dtype_name(t->dtype), tg_dtype_name(dt));
        char b1[128], b2[128];
        if (s->kinds[i] != APPLY_SCALAR && !tg__shape_compatible(&t->shape, &var->shape))
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "var and %s do not have the same shape: %s and %s",
                                  s->names[i], tg_shape_format(&var->shape, b1, sizeof b1),
                                  tg_shape_format(&t->shape, b2, sizeof b2));
        if (s->kinds[i] == APPLY_SCALAR && t->shape.rank > 0)
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s is not a scalar: %s", s->names[i],
                                  tg_shape_format(&t->shape, b1, sizeof b1));
    }
    c->out[0].dtype = dt;
    c->out[0].shape = var->shape;
    return TG_OK;
}

/* The run-time half of the checks: static shapes may have been partial. */
static tg_code apply_check(tg__kernel_ctx *c, const apply_sig *s) {
    const tg_array *var = c->refs[0];
    tg_shape vs = tg_array_shape(var);
    for (int i = 1; i < s->n; i++) {
        if (s->kinds[i] == APPLY_SCALAR) continue;
        const tg_array *a = s->kinds[i] == APPLY_REF ? c->refs[i] : c->in[i];
        if (tg__array_matches_shape(a, &vs)) continue;
        char b1[128], b2[128];
        tg_shape os = tg_array_shape(a);
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "var and %s do not have the same shape: %s and %s",
                               s->names[i], tg_shape_format(&vs, b1, sizeof b1), tg_shape_format(&os, b2, sizeof b2));
    }
    for (int i = 1; i < s->n; i++)
        if (s->kinds[i] == APPLY_SCALAR && c->in[i]->size != 1)
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s is not a scalar", s->names[i]);
    return TG_OK;
}

/* Scalar input i, exactly (a float widens to double without rounding). */
static double scalar_in(const tg__kernel_ctx *c, int i) {
    const tg_array *a = c->in[i];
    return a->dtype == TG_FLOAT32 ? (double)((const float *)a->data)[0] : ((const double *)a->data)[0];
}

/* One kernel run: var and its slots, the gradient, and the scalars, each an
 * exact value of type T. The range functions read g[i] before storing
 * anything at i, so a gradient that is a view of the variable (an Identity
 * of its value) sees the old value, as it did when the update was composed
 * of separate ops. */
typedef struct apply_job {
    void *var, *slot[3];
    const void *grad;
    double h[4];
    bool use_nesterov;
} apply_job;

/* Items per chunk: below this, waking threads costs more than the loop. */
enum { APPLY_GRAIN = 1 << 14 };

/* Every Apply* op writes through its references and has no gradient. */
#define APPLY_FLAGS (TG__OPF_VIEWS | TG__OPF_STATEFUL | TG__OPF_REF_INPUT0 | TG__OPF_REF_INPUTS | TG__OPF_NOT_DIFFERENTIABLE)

static void apply_run(tg__kernel_ctx *c, apply_job *j, tg__range_fn f32, tg__range_fn f64) {
    const tg_array *var = c->refs[0];
    tg__parallel_for(c, 0, var->size, APPLY_GRAIN, var->dtype == TG_FLOAT32 ? f32 : f64, j);
    tg__out_alias(c, 0, var);
}

/* ---- ApplyGradientDescent(var, alpha, delta): var -= delta * alpha ---------- */

static const char *const GD_INPUTS[3] = {"var", "alpha", "delta"};
static const unsigned char GD_KINDS[3] = {APPLY_REF, APPLY_SCALAR, APPLY_GRAD};
static const apply_sig GD_SIG = {3, GD_INPUTS, GD_KINDS};

static tg_code apply_gd_infer(tg__infer_ctx *c) { return apply_infer(c, &GD_SIG); }

#define GD_RANGE(T)                                                                    \
    TG__CLONES static void gd_range_##T(void *ctx, int64_t b, int64_t e, int chunk, int slot) { \
        (void)chunk, (void)slot;                                                       \
        const apply_job *j = ctx;                                                      \
        T *var = j->var;                                                               \
        const T *g = j->grad;                                                          \
        const T alpha = (T)j->h[0];                                                    \
        TG__SIMD                                                                       \
        for (int64_t i = b; i < e; i++) var[i] -= g[i] * alpha;                        \
    }
GD_RANGE(float)
GD_RANGE(double)

static tg_code apply_gd_kernel(tg__kernel_ctx *c) {
    tg_code rc = apply_check(c, &GD_SIG);
    if (rc != TG_OK) return rc;
    apply_job j = {.var = c->refs[0]->data, .grad = c->in[2]->data, .h = {scalar_in(c, 1)}};
    apply_run(c, &j, gd_range_float, gd_range_double);
    return TG_OK;
}

const tg__op_def tg__op_apply_gradient_descent = {
    .type = "ApplyGradientDescent",
    .n_inputs = 3,
    .n_outputs = 1,
    .flags = APPLY_FLAGS,
    .infer = apply_gd_infer,
    .kernel = TG__NUMERIC(apply_gd_kernel, apply_gd_kernel, NULL, NULL),
};

tg_tensor *tg_raw_ops_apply_gradient_descent(tg_graph *g, tg_tensor *var, tg_tensor *alpha, tg_tensor *delta,
                                             const char *name) {
    tg_tensor *in[3] = {var, alpha, delta};
    if (!tg__graph_ready(g, in, 3)) return NULL;
    return tg__simple_op(g, &tg__op_apply_gradient_descent, name ? name : "ApplyGradientDescent", in, 3, NULL);
}

/* ---- ApplyMomentum(var, accum, lr, grad, momentum), attr use_nesterov --------
 *   accum = accum * momentum + grad
 *   var -= accum * lr,  or with Nesterov  var -= grad * lr + accum * momentum * lr */

static const char *const MOM_INPUTS[5] = {"var", "accum", "lr", "grad", "momentum"};
static const unsigned char MOM_KINDS[5] = {APPLY_REF, APPLY_REF, APPLY_SCALAR, APPLY_GRAD, APPLY_SCALAR};
static const apply_sig MOM_SIG = {5, MOM_INPUTS, MOM_KINDS};

typedef struct momentum_attrs {
    bool use_nesterov;
} momentum_attrs;

static tg_code apply_momentum_infer(tg__infer_ctx *c) { return apply_infer(c, &MOM_SIG); }

#define MOMENTUM_RANGE(T)                                                                    \
    TG__CLONES static void momentum_range_##T(void *ctx, int64_t b, int64_t e, int chunk, int slot) { \
        (void)chunk, (void)slot;                                                             \
        const apply_job *j = ctx;                                                            \
        T *var = j->var, *accum = j->slot[0];                                                \
        const T *g = j->grad;                                                                \
        const T lr = (T)j->h[0], mom = (T)j->h[1];                                           \
        if (j->use_nesterov) {                                                               \
            TG__SIMD                                                                         \
            for (int64_t i = b; i < e; i++) {                                                \
                const T gi = g[i];                                                           \
                accum[i] = accum[i] * mom + gi;                                              \
                var[i] -= gi * lr + accum[i] * mom * lr;                                     \
            }                                                                                \
        } else {                                                                             \
            TG__SIMD                                                                         \
            for (int64_t i = b; i < e; i++) {                                                \
                accum[i] = accum[i] * mom + g[i];                                            \
                var[i] -= accum[i] * lr;                                                     \
            }                                                                                \
        }                                                                                    \
    }
MOMENTUM_RANGE(float)
MOMENTUM_RANGE(double)

static tg_code apply_momentum_kernel(tg__kernel_ctx *c) {
    tg_code rc = apply_check(c, &MOM_SIG);
    if (rc != TG_OK) return rc;
    const momentum_attrs *a = c->attrs;
    apply_job j = {.var = c->refs[0]->data,
                   .slot = {c->refs[1]->data},
                   .grad = c->in[3]->data,
                   .h = {scalar_in(c, 2), scalar_in(c, 4)},
                   .use_nesterov = a->use_nesterov};
    apply_run(c, &j, momentum_range_float, momentum_range_double);
    return TG_OK;
}

static void momentum_format(const void *attrs, tg__strbuf *out) {
    const momentum_attrs *a = attrs;
    tg__strbuf_printf(out, "use_nesterov=%s", a->use_nesterov ? "true" : "false");
}

const tg__op_def tg__op_apply_momentum = {
    .type = "ApplyMomentum",
    .n_inputs = 5,
    .n_outputs = 1,
    .flags = APPLY_FLAGS,
    .attr_size = sizeof(momentum_attrs),
    .infer = apply_momentum_infer,
    .kernel = TG__NUMERIC(apply_momentum_kernel, apply_momentum_kernel, NULL, NULL),
    .format_attrs = momentum_format,
};

tg_tensor *tg_raw_ops_apply_momentum(tg_graph *g, tg_tensor *var, tg_tensor *accum, tg_tensor *lr, tg_tensor *grad,
                                     tg_tensor *momentum, bool use_nesterov, const char *name) {
    tg_tensor *in[5] = {var, accum, lr, grad, momentum};
    if (!tg__graph_ready(g, in, 5)) return NULL;
    momentum_attrs a = {.use_nesterov = use_nesterov};
    return tg__simple_op(g, &tg__op_apply_momentum, name ? name : "ApplyMomentum", in, 5, &a);
}

/* ---- ApplyAdam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad) -- */

static const char *const ADAM_INPUTS[10] = {"var",  "m",     "v",     "beta1_power", "beta2_power",
                                            "lr",   "beta1", "beta2", "epsilon",     "grad"};
static const unsigned char ADAM_KINDS[10] = {APPLY_REF,    APPLY_REF,    APPLY_REF,    APPLY_SCALAR, APPLY_SCALAR,
                                             APPLY_SCALAR, APPLY_SCALAR, APPLY_SCALAR, APPLY_SCALAR, APPLY_GRAD};
static const apply_sig ADAM_SIG = {10, ADAM_INPUTS, ADAM_KINDS};

static tg_code apply_adam_infer(tg__infer_ctx *c) { return apply_infer(c, &ADAM_SIG); }

/* TF's kernel, in its order and in T (h: alpha, 1 - beta1, 1 - beta2, epsilon):
 *   m += (g - m) * (1 - beta1);  v += (g^2 - v) * (1 - beta2)
 *   var -= m * alpha / (sqrt(v) + epsilon) */
#define ADAM_RANGE(T, SQRT)                                                                    \
    TG__CLONES static void adam_range_##T(void *ctx, int64_t b, int64_t e, int chunk, int slot) {         \
        (void)chunk, (void)slot;                                                               \
        const apply_job *j = ctx;                                                              \
        T *var = j->var, *m = j->slot[0], *v = j->slot[1];                                     \
        const T *g = j->grad;                                                                  \
        const T alpha = (T)j->h[0], b1 = (T)j->h[1], b2 = (T)j->h[2], eps = (T)j->h[3];        \
        TG__SIMD                                                                               \
        for (int64_t i = b; i < e; i++) {                                                      \
            const T gi = g[i];                                                                 \
            m[i] += (gi - m[i]) * b1;                                                          \
            v[i] += (gi * gi - v[i]) * b2;                                                     \
            var[i] -= m[i] * alpha / (SQRT(v[i]) + eps);                                       \
        }                                                                                      \
    }
ADAM_RANGE(float, sqrtf)
ADAM_RANGE(double, sqrt)

static tg_code apply_adam_kernel(tg__kernel_ctx *c) {
    tg_code rc = apply_check(c, &ADAM_SIG);
    if (rc != TG_OK) return rc;
    apply_job j = {.var = c->refs[0]->data, .slot = {c->refs[1]->data, c->refs[2]->data}, .grad = c->in[9]->data};
    /* The scalars are computed in T, as TF does, then carried exactly. */
    if (c->refs[0]->dtype == TG_FLOAT32) {
        float b1p = (float)scalar_in(c, 3), b2p = (float)scalar_in(c, 4), lr = (float)scalar_in(c, 5);
        j.h[0] = lr * sqrtf(1.0f - b2p) / (1.0f - b1p);
        j.h[1] = 1.0f - (float)scalar_in(c, 6);
        j.h[2] = 1.0f - (float)scalar_in(c, 7);
    } else {
        j.h[0] = scalar_in(c, 5) * sqrt(1.0 - scalar_in(c, 4)) / (1.0 - scalar_in(c, 3));
        j.h[1] = 1.0 - scalar_in(c, 6);
        j.h[2] = 1.0 - scalar_in(c, 7);
    }
    j.h[3] = scalar_in(c, 8);
    apply_run(c, &j, adam_range_float, adam_range_double);
    return TG_OK;
}

const tg__op_def tg__op_apply_adam = {
    .type = "ApplyAdam",
    .n_inputs = 10,
    .n_outputs = 1,
    .flags = APPLY_FLAGS,
    .infer = apply_adam_infer,
    .kernel = TG__NUMERIC(apply_adam_kernel, apply_adam_kernel, NULL, NULL),
};

tg_tensor *tg_raw_ops_apply_adam(tg_graph *g, tg_tensor *var, tg_tensor *m, tg_tensor *v, tg_tensor *beta1_power,
                                 tg_tensor *beta2_power, tg_tensor *lr, tg_tensor *beta1, tg_tensor *beta2,
                                 tg_tensor *epsilon, tg_tensor *grad, const char *name) {
    tg_tensor *in[10] = {var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad};
    if (!tg__graph_ready(g, in, 10)) return NULL;
    return tg__simple_op(g, &tg__op_apply_adam, name ? name : "ApplyAdam", in, 10, NULL);
}

/* ---- ApplyRMSProp(var, ms, mom, lr, rho, momentum, epsilon, grad) and
 * ApplyCenteredRMSProp(var, mg, ms, mom, lr, rho, momentum, epsilon, grad) ----
 *   ms += (g^2 - ms) * (1 - rho)
 *   [mg += (g - mg) * (1 - rho)]                                  centered
 *   mom = mom * momentum + g * lr / sqrt(ms + epsilon)            (ms - mg^2 + epsilon)
 *   var -= mom */

static const char *const RMS_INPUTS[8] = {"var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"};
static const unsigned char RMS_KINDS[8] = {APPLY_REF,    APPLY_REF,    APPLY_REF,    APPLY_SCALAR,
                                           APPLY_SCALAR, APPLY_SCALAR, APPLY_SCALAR, APPLY_GRAD};
static const apply_sig RMS_SIG = {8, RMS_INPUTS, RMS_KINDS};
static const char *const CRMS_INPUTS[9] = {"var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"};
static const unsigned char CRMS_KINDS[9] = {APPLY_REF,    APPLY_REF,    APPLY_REF,    APPLY_REF, APPLY_SCALAR,
                                            APPLY_SCALAR, APPLY_SCALAR, APPLY_SCALAR, APPLY_GRAD};
static const apply_sig CRMS_SIG = {9, CRMS_INPUTS, CRMS_KINDS};

static tg_code apply_rms_infer(tg__infer_ctx *c) { return apply_infer(c, &RMS_SIG); }
static tg_code apply_crms_infer(tg__infer_ctx *c) { return apply_infer(c, &CRMS_SIG); }

/* h: lr, 1 - rho, momentum, epsilon; slots: ms, mom[, mg]. */
#define RMS_RANGE(T, SQRT)                                                                   \
    TG__CLONES static void rms_range_##T(void *ctx, int64_t b, int64_t e, int chunk, int slot) {       \
        (void)chunk, (void)slot;                                                             \
        const apply_job *j = ctx;                                                            \
        T *var = j->var, *ms = j->slot[0], *mom = j->slot[1];                                \
        const T *g = j->grad;                                                                \
        const T lr = (T)j->h[0], one_minus_rho = (T)j->h[1], momentum = (T)j->h[2];         \
        const T eps = (T)j->h[3];                                                            \
        TG__SIMD                                                                             \
        for (int64_t i = b; i < e; i++) {                                                    \
            const T gi = g[i];                                                               \
            ms[i] += (gi * gi - ms[i]) * one_minus_rho;                                      \
            mom[i] = mom[i] * momentum + gi * lr / SQRT(ms[i] + eps);                        \
            var[i] -= mom[i];                                                                \
        }                                                                                    \
    }                                                                                        \
    TG__CLONES static void crms_range_##T(void *ctx, int64_t b, int64_t e, int chunk, int slot) {      \
        (void)chunk, (void)slot;                                                             \
        const apply_job *j = ctx;                                                            \
        T *var = j->var, *ms = j->slot[0], *mom = j->slot[1], *mg = j->slot[2];              \
        const T *g = j->grad;                                                                \
        const T lr = (T)j->h[0], one_minus_rho = (T)j->h[1], momentum = (T)j->h[2];         \
        const T eps = (T)j->h[3];                                                            \
        TG__SIMD                                                                             \
        for (int64_t i = b; i < e; i++) {                                                    \
            const T gi = g[i];                                                               \
            ms[i] += (gi * gi - ms[i]) * one_minus_rho;                                      \
            mg[i] += (gi - mg[i]) * one_minus_rho;                                           \
            mom[i] = mom[i] * momentum + gi * lr / SQRT(ms[i] - mg[i] * mg[i] + eps);        \
            var[i] -= mom[i];                                                                \
        }                                                                                    \
    }
RMS_RANGE(float, sqrtf)
RMS_RANGE(double, sqrt)

/* The scalars from input `first` on: lr, rho, momentum, epsilon. */
static void rms_scalars(const tg__kernel_ctx *c, int first, apply_job *j) {
    j->h[0] = scalar_in(c, first);
    /* 1 - rho in T, as TF's static_cast<T>(1) - rho() */
    if (c->refs[0]->dtype == TG_FLOAT32)
        j->h[1] = 1.0f - (float)scalar_in(c, first + 1);
    else
        j->h[1] = 1.0 - scalar_in(c, first + 1);
    j->h[2] = scalar_in(c, first + 2);
    j->h[3] = scalar_in(c, first + 3);
}

static tg_code apply_rms_kernel(tg__kernel_ctx *c) {
    tg_code rc = apply_check(c, &RMS_SIG);
    if (rc != TG_OK) return rc;
    apply_job j = {.var = c->refs[0]->data, .slot = {c->refs[1]->data, c->refs[2]->data}, .grad = c->in[7]->data};
    rms_scalars(c, 3, &j);
    apply_run(c, &j, rms_range_float, rms_range_double);
    return TG_OK;
}

static tg_code apply_crms_kernel(tg__kernel_ctx *c) {
    tg_code rc = apply_check(c, &CRMS_SIG);
    if (rc != TG_OK) return rc;
    apply_job j = {.var = c->refs[0]->data,
                   .slot = {c->refs[2]->data, c->refs[3]->data, c->refs[1]->data},
                   .grad = c->in[8]->data};
    rms_scalars(c, 4, &j);
    apply_run(c, &j, crms_range_float, crms_range_double);
    return TG_OK;
}

const tg__op_def tg__op_apply_rms_prop = {
    .type = "ApplyRMSProp",
    .n_inputs = 8,
    .n_outputs = 1,
    .flags = APPLY_FLAGS,
    .infer = apply_rms_infer,
    .kernel = TG__NUMERIC(apply_rms_kernel, apply_rms_kernel, NULL, NULL),
};

const tg__op_def tg__op_apply_centered_rms_prop = {
    .type = "ApplyCenteredRMSProp",
    .n_inputs = 9,
    .n_outputs = 1,
    .flags = APPLY_FLAGS,
    .infer = apply_crms_infer,
    .kernel = TG__NUMERIC(apply_crms_kernel, apply_crms_kernel, NULL, NULL),
};

tg_tensor *tg_raw_ops_apply_rms_prop(tg_graph *g, tg_tensor *var, tg_tensor *ms, tg_tensor *mom, tg_tensor *lr,
                                     tg_tensor *rho, tg_tensor *momentum, tg_tensor *epsilon, tg_tensor *grad,
                                     const char *name) {
    tg_tensor *in[8] = {var, ms, mom, lr, rho, momentum, epsilon, grad};
    if (!tg__graph_ready(g, in, 8)) return NULL;
    return tg__simple_op(g, &tg__op_apply_rms_prop, name ? name : "ApplyRMSProp", in, 8, NULL);
}

tg_tensor *tg_raw_ops_apply_centered_rms_prop(tg_graph *g, tg_tensor *var, tg_tensor *mg, tg_tensor *ms,
                                              tg_tensor *mom, tg_tensor *lr, tg_tensor *rho, tg_tensor *momentum,
                                              tg_tensor *epsilon, tg_tensor *grad, const char *name) {
    tg_tensor *in[9] = {var, mg, ms, mom, lr, rho, momentum, epsilon, grad};
    if (!tg__graph_ready(g, in, 9)) return NULL;
    return tg__simple_op(g, &tg__op_apply_centered_rms_prop, name ? name : "ApplyCenteredRMSProp", in, 9, NULL);
}

/* ---- ApplyAdagrad(var, accum, lr, grad): accum += g^2; var -= g * lr * rsqrt(accum) ---- */

static const char *const ADAGRAD_INPUTS[4] = {"var", "accum", "lr", "grad"};
static const unsigned char ADAGRAD_KINDS[4] = {APPLY_REF, APPLY_REF, APPLY_SCALAR, APPLY_GRAD};
static const apply_sig ADAGRAD_SIG = {4, ADAGRAD_INPUTS, ADAGRAD_KINDS};

static tg_code apply_adagrad_infer(tg__infer_ctx *c) { return apply_infer(c, &ADAGRAD_SIG); }

/* rsqrt as the Rsqrt op computes it: 1 / sqrt(x), rounded twice. */
#define ADAGRAD_RANGE(T, SQRT)                                                                \
    TG__CLONES static void adagrad_range_##T(void *ctx, int64_t b, int64_t e, int chunk, int slot) {    \
        (void)chunk, (void)slot;                                                              \
        const apply_job *j = ctx;                                                             \
        T *var = j->var, *accum = j->slot[0];                                                 \
        const T *g = j->grad;                                                                 \
        const T lr = (T)j->h[0];                                                              \
        TG__SIMD                                                                              \
        for (int64_t i = b; i < e; i++) {                                                     \
            const T gi = g[i];                                                                \
            accum[i] += gi * gi;                                                              \
            var[i] -= gi * lr * ((T)1 / SQRT(accum[i]));                                      \
        }                                                                                     \
    }
ADAGRAD_RANGE(float, sqrtf)
ADAGRAD_RANGE(double, sqrt)

static tg_code apply_adagrad_kernel(tg__kernel_ctx *c) {
    tg_code rc = apply_check(c, &ADAGRAD_SIG);
    if (rc != TG_OK) return rc;
    apply_job j = {.var = c->refs[0]->data, .slot = {c->refs[1]->data}, .grad = c->in[3]->data, .h = {scalar_in(c, 2)}};
    apply_run(c, &j, adagrad_range_float, adagrad_range_double);
    return TG_OK;
}

const tg__op_def tg__op_apply_adagrad = {
    .type = "ApplyAdagrad",
    .n_inputs = 4,
    .n_outputs = 1,
    .flags = APPLY_FLAGS,
    .infer = apply_adagrad_infer,
    .kernel = TG__NUMERIC(apply_adagrad_kernel, apply_adagrad_kernel, NULL, NULL),
};

tg_tensor *tg_raw_ops_apply_adagrad(tg_graph *g, tg_tensor *var, tg_tensor *accum, tg_tensor *lr, tg_tensor *grad,
                                    const char *name) {
    tg_tensor *in[4] = {var, accum, lr, grad};
    if (!tg__graph_ready(g, in, 4)) return NULL;
    return tg__simple_op(g, &tg__op_apply_adagrad, name ? name : "ApplyAdagrad", in, 4, NULL);
}
