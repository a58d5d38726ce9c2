/* tf.train.AdamOptimizer: one ApplyAdam op per variable, as TF 1.15, whose
 * kernel computes, in this order:
 *   alpha = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
 *   m += (g - m) * (1 - beta1);  v += (g^2 - v) * (1 - beta2)
 *   var -= m * alpha / (sqrt(v) + epsilon)
 * then, after every variable's update, beta1_power *= beta1 and
 * beta2_power *= beta2 (Adam._finish). */
#include <stdlib.h>

#include "optimizer_impl.h"

typedef struct adam {
    tg_optimizer base;
    double learning_rate, beta1, beta2, epsilon;
    tg_tensor *learning_rate_t;
    tg_tensor *lr, *beta1_t, *beta2_t, *epsilon_t;
} adam;

static bool adam_create_slots(tg_optimizer *o, tg_variable *const *vars, int n) {
    adam *s = (adam *)o;
    if (!tg__optim_non_slot(o, "beta1_power", s->beta1) || !tg__optim_non_slot(o, "beta2_power", s->beta2))
        return false;
    for (int i = 0; i < n; i++) {
        if (!tg__optim_slot(o, vars[i], "m", tg_zeros_initializer())) return false;
        if (!tg__optim_slot(o, vars[i], "v", tg_zeros_initializer())) return false;
    }
    return true;
}

static bool adam_prepare(tg_optimizer *o) {
    adam *s = (adam *)o;
    tg_graph *g = o->g;
    s->lr = tg__optim_hyper(g, s->learning_rate_t, s->learning_rate, "learning_rate");
    s->beta1_t = tg__optim_hyper(g, NULL, s->beta1, "beta1");
    s->beta2_t = tg__optim_hyper(g, NULL, s->beta2, "beta2");
    s->epsilon_t = tg__optim_hyper(g, NULL, s->epsilon, "epsilon");
    return s->lr && s->beta1_t && s->beta2_t && s->epsilon_t;
}

static tg_tensor *adam_apply(tg_optimizer *o, tg_tensor *grad, tg_variable *var) {
    adam *s = (adam *)o;
    tg_graph *g = o->g;
    tg_dtype dt = tg_variable_dtype(var);
    tg_variable *m = tg__optim_get_slot(o, var, "m"), *v = tg__optim_get_slot(o, var, "v");
    tg_variable *p1 = tg__optim_get_non_slot(o, "beta1_power"), *p2 = tg__optim_get_non_slot(o, "beta2_power");
    if (!m || !v || !p1 || !p2) return NULL;
    tg_tensor *b1p = tg__optim_cast(g, tg_variable_value(p1), dt);
    tg_tensor *b2p = tg__optim_cast(g, tg_variable_value(p2), dt);
    tg_tensor *lr = tg__optim_cast(g, s->lr, dt), *b1 = tg__optim_cast(g, s->beta1_t, dt);
    tg_tensor *b2 = tg__optim_cast(g, s->beta2_t, dt), *eps = tg__optim_cast(g, s->epsilon_t, dt);
    return tg_raw_ops_apply_adam(g, tg_variable_ref(var), tg_variable_ref(m), tg_variable_ref(v), b1p, b2p, lr, b1,
                                 b2, eps, grad, "ApplyAdam");
}

/* Adam._finish: the power accumulators advance after every update. */
static tg_op *adam_finish(tg_optimizer *o, tg_op *const *updates, int n, const char *name) {
    adam *s = (adam *)o;
    tg_graph *g = o->g;
    tg_variable *p1 = tg__optim_get_non_slot(o, "beta1_power"), *p2 = tg__optim_get_non_slot(o, "beta2_power");
    if (!p1 || !p2) return NULL;
    tg_op **all = malloc((size_t)(n + 2) * sizeof *all);
    if (!all) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) all[i] = updates[i];
    tg_tensor *u1 = NULL, *u2 = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, n) {
        /* TF's "beta1_power * beta1_t" is op "mul" */
        u1 = tg_assign(g, tg_variable_ref(p1), tg_multiply(g, tg_variable_value(p1), s->beta1_t, "mul"), NULL);
        u2 = tg_assign(g, tg_variable_ref(p2), tg_multiply(g, tg_variable_value(p2), s->beta2_t, "mul"), NULL);
    }
    tg_op *result = NULL;
    if (u1 && u2) {
        all[n] = tg_tensor_op(u1);
        all[n + 1] = tg_tensor_op(u2);
        result = tg_group(g, all, n + 2, name);
    }
    free(all);
    return result;
}

static const tg__optim_class adam_class = {
    .default_name = "Adam",
    .create_slots = adam_create_slots,
    .prepare = adam_prepare,
    .apply_dense = adam_apply,
    .finish = adam_finish,
};

static tg_optimizer *adam_new(tg_graph *g, double learning_rate, tg_tensor *learning_rate_t,
                             const tg_train_adam_opts *o) {
    adam *s = (adam *)tg__optim_new(g, sizeof(adam), &adam_class, o->name);
    if (!s) return NULL;
    s->learning_rate = learning_rate;
    s->learning_rate_t = learning_rate_t;
    s->beta1 = o->beta1;
    s->beta2 = o->beta2;
    s->epsilon = o->epsilon;
    return &s->base;
}

tg_optimizer *tg_train_adam_optimizer_new(tg_graph *g, double learning_rate, const tg_train_adam_opts *opts) {
    tg_train_adam_opts o;
    if (tg_graph_status(g) != TG_OK ||
        !TG__OPTS_RESOLVE(g, "tg_train_adam_optimizer_new", tg_train_adam_opts, TG_TRAIN_ADAM_OPTS_INIT, opts, o) ||
        !tg__optim_check_scalar(g, o.learning_rate_t, "learning_rate"))
        return NULL;
    return adam_new(g, learning_rate, o.learning_rate_t, &o);
}

tg_optimizer *tg_train_adam_optimizer_new_t(tg_graph *g, tg_tensor *learning_rate, const tg_train_adam_opts *opts) {
    const char *fn = "tg_train_adam_optimizer_new_t";
    tg_train_adam_opts o;
    if (tg_graph_status(g) != TG_OK ||
        !TG__OPTS_RESOLVE(g, fn, tg_train_adam_opts, TG_TRAIN_ADAM_OPTS_INIT, opts, o) ||
        !tg__optim_check_rate_arg(g, learning_rate, o.learning_rate_t, fn))
        return NULL;
    return adam_new(g, 0, learning_rate, &o);
}
