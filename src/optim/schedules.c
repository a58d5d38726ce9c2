/* tf.train's learning-rate schedules (TF 1.15's legacy_learning_rate_decay
 * over learning_rate_schedule): exponential_decay, piecewise_constant,
 * polynomial_decay and cosine_decay, float32 tensors computed from the step
 * at every run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optimizer_impl.h"

static bool numeric_scalar(tg_graph *g, tg_tensor *t, const char *who, const char *what) {
    if (tg_op_graph(tg_tensor_op(t)) != g) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: %s '%s' is from another graph", who, what, tg_tensor_name(t));
        return false;
    }
    tg_shape s = tg_tensor_shape(t);
    if (tg_tensor_dtype(t) == TG_BOOL || s.rank > 0) {
        char buf[160];
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: %s must be a numeric scalar, got '%s' of dtype %s and shape %s",
                      who, what, tg_tensor_name(t), tg_dtype_name(tg_tensor_dtype(t)),
                      tg_shape_format(&s, buf, sizeof buf));
        return false;
    }
    return true;
}

/* A copy of the current name scope ("ExponentialDecay/"), which names an
 * op exactly after its scope. */
static char *scope_copy(tg_graph *g) {
    const char *ns = tg_graph_name_scope(g);
    char *s = malloc(strlen(ns) + 1);
    if (!s) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    return strcpy(s, ns);
}

/* floor(x) for float32 from the public ops (there is no Floor op):
 * truncate toward zero, then step down where that rounded up. */
static tg_tensor *floor_f32(tg_graph *g, tg_tensor *x) {
    tg_tensor *out = NULL;
    TG_WITH_NAME_SCOPE(g, "Floor") {
        tg_tensor *t = tg_cast(g, tg_cast(g, x, TG_INT64, NULL), TG_FLOAT32, NULL);
        out = tg_subtract(g, t, tg_cast(g, tg_less(g, x, t, NULL), TG_FLOAT32, NULL), NULL);
    }
    return out;
}

tg_tensor *tg_train_exponential_decay(tg_graph *g, double learning_rate, tg_tensor *global_step, int64_t decay_steps,
                                      double decay_rate, bool staircase, const char *name) {
    if (tg_graph_status(g) != TG_OK) return NULL;
    if (!global_step) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "global_step is required for exponential_decay.");
        return NULL;
    }
    if (!numeric_scalar(g, global_step, "exponential_decay", "global_step")) return NULL;
    tg_tensor *out = NULL;
    TG_WITH_NAME_SCOPE(g, name ? name : "ExponentialDecay") {
        char *scope = scope_copy(g);
        tg_tensor *lr = tg_constant_scalar(g, TG_FLOAT32, learning_rate, "initial_learning_rate");
        tg_tensor *steps = tg_constant_scalar(g, TG_FLOAT32, (double)decay_steps, "decay_steps");
        tg_tensor *rate = tg_constant_scalar(g, TG_FLOAT32, decay_rate, "decay_rate");
        tg_tensor *p = tg_divide(g, tg__optim_cast(g, global_step, TG_FLOAT32), steps, "truediv");
        if (staircase) p = floor_f32(g, p);
        if (scope) out = tg_multiply(g, lr, tg_pow(g, rate, p, NULL), scope);
        free(scope);
    }
    return out;
}

/* A boundary in x's dtype; integer dtypes must hold it exactly, as TF only
 * promotes int32 boundaries to int64 and rejects float boundaries. */
static bool boundary_fits(tg_dtype dt, double b) {
    switch (dt) {
    case TG_INT32: return b == floor(b) && b >= -2147483648.0 && b <= 2147483647.0;
    case TG_INT64: return b == floor(b) && b >= -9223372036854775808.0 && b < 9223372036854775808.0;
    default: return true;
    }
}

tg_tensor *tg_train_piecewise_constant(tg_graph *g, tg_tensor *x, const double *boundaries, const double *values,
                                       int n_boundaries, const char *name) {
    if (tg_graph_status(g) != TG_OK || !x) return NULL;
    if (n_boundaries < 1 || !boundaries || !values) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "piecewise_constant: needs at least one boundary and one more value than boundaries");
        return NULL;
    }
    if (!numeric_scalar(g, x, "piecewise_constant", "x")) return NULL;
    tg_dtype dt = tg_tensor_dtype(x);
    for (int i = 0; i < n_boundaries; i++) {
        if (!boundary_fits(dt, boundaries[i])) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Boundaries (float32) must have the same dtype as x (%s).",
                          tg_dtype_name(dt));
            return NULL;
        }
    }
    tg_tensor *out = NULL;
    TG_WITH_NAME_SCOPE(g, name ? name : "PiecewiseConstant") {
        char *scope = scope_copy(g);
        if (scope) {
            /* The first boundary at or above x picks the value; none picks the last. */
            out = tg_constant_scalar(g, TG_FLOAT32, values[n_boundaries], NULL);
            for (int i = n_boundaries - 1; i >= 0; i--) {
                tg_tensor *b = tg_constant_scalar(g, dt, boundaries[i], NULL);
                tg_tensor *v = tg_constant_scalar(g, TG_FLOAT32, values[i], NULL);
                out = tg_where(g, tg_less_equal(g, x, b, NULL), v, out, i == 0 ? scope : NULL);
            }
            free(scope);
        }
    }
    return out;
}

/* The legacy functions' check: a global step that is a numeric scalar of g.
 * decay_steps 0 is not refused: TF divides by it too (inf or NaN). */
static bool decay_args(tg_graph *g, tg_tensor *global_step, const char *fn) {
    if (tg_graph_status(g) != TG_OK) return false;
    if (!global_step) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "global_step is required for %s.", fn);
        return false;
    }
    return numeric_scalar(g, global_step, fn, "global_step");
}

/* ceil(x) = -floor(-x), from floor_f32's public ops. */
static tg_tensor *ceil_f32(tg_graph *g, tg_tensor *x) {
    return tg_negative(g, floor_f32(g, tg_negative(g, x, NULL)), NULL);
}

/* TF's PolynomialDecay with cycle: decay_steps times the first multiple of
 * it at or above the step, 1 at step 0 (TF's cond, as a Select). */
static tg_tensor *cycled_steps(tg_graph *g, tg_tensor *step, tg_tensor *steps) {
    tg_tensor *zero = tg_constant_scalar(g, TG_FLOAT32, 0, NULL), *one = tg_constant_scalar(g, TG_FLOAT32, 1, NULL);
    tg_tensor *up = ceil_f32(g, tg_divide(g, step, steps, NULL));
    tg_tensor *mult = tg_where(g, tg_equal(g, step, zero, NULL), one, up, NULL);
    return tg_multiply(g, steps, mult, NULL);
}

tg_tensor *tg_train_polynomial_decay(tg_graph *g, double learning_rate, tg_tensor *global_step, int64_t decay_steps,
                                     double end_learning_rate, double power, bool cycle, const char *name) {
    if (!decay_args(g, global_step, "polynomial_decay")) return NULL;
    tg_tensor *out = NULL;
    TG_WITH_NAME_SCOPE(g, name ? name : "PolynomialDecay") {
        char *scope = scope_copy(g);
        tg_tensor *lr = tg_constant_scalar(g, TG_FLOAT32, learning_rate, "learning_rate");
        tg_tensor *end = tg_constant_scalar(g, TG_FLOAT32, end_learning_rate, "Cast");
        tg_tensor *pw = tg_constant_scalar(g, TG_FLOAT32, power, "Cast_1");
        tg_tensor *step = tg__optim_cast(g, global_step, TG_FLOAT32);
        tg_tensor *steps = tg_constant_scalar(g, TG_FLOAT32, (double)decay_steps, "Cast_3");
        if (cycle) steps = cycled_steps(g, step, steps);
        else step = tg_minimum(g, step, tg_constant_scalar(g, TG_FLOAT32, (double)decay_steps, NULL), NULL);
        tg_tensor *p = tg_divide(g, step, steps, "truediv");
        tg_tensor *one = tg_constant_scalar(g, TG_FLOAT32, 1, NULL);
        tg_tensor *left = tg_pow(g, tg_subtract(g, one, p, NULL), pw, NULL);
        tg_tensor *body = tg_multiply(g, tg_subtract(g, lr, end, NULL), left, NULL);
        if (scope) out = tg_add(g, body, end, scope);
        free(scope);
    }
    return out;
}

tg_tensor *tg_train_cosine_decay(tg_graph *g, double learning_rate, tg_tensor *global_step, int64_t decay_steps,
                                 double alpha, const char *name) {
    if (!decay_args(g, global_step, "cosine_decay")) return NULL;
    tg_tensor *out = NULL;
    TG_WITH_NAME_SCOPE(g, name ? name : "CosineDecay") {
        tg_tensor *lr = tg_constant_scalar(g, TG_FLOAT32, learning_rate, "initial_learning_rate");
        tg_tensor *steps = tg_constant_scalar(g, TG_FLOAT32, (double)decay_steps, "Cast");
        tg_tensor *step = tg_minimum(g, tg__optim_cast(g, global_step, TG_FLOAT32), steps, NULL);
        tg_tensor *frac = tg_divide(g, step, steps, "truediv");
        tg_tensor *pi = tg_constant_scalar(g, TG_FLOAT32, 3.14159265358979323846, "Const");
        tg_tensor *one = tg_constant_scalar(g, TG_FLOAT32, 1, NULL);
        /* TF's Python operators name their ops "mul" and "add"; only the last
         * product is math_ops.multiply, "Mul" */
        tg_tensor *cosine = tg_multiply(g, tg_constant_scalar(g, TG_FLOAT32, 0.5, NULL),
                                        tg_add(g, one, tg_cos(g, tg_multiply(g, pi, frac, "mul"), NULL), "add"), "mul");
        tg_tensor *kept = tg_multiply(g, tg_constant_scalar(g, TG_FLOAT32, 1 - alpha, NULL), cosine, "mul");
        tg_tensor *decayed = tg_add(g, kept, tg_constant_scalar(g, TG_FLOAT32, alpha, NULL), "add");
        out = tg_multiply(g, lr, decayed, NULL);
    }
    return out;
}
