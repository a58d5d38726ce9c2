/* tf.train.MomentumOptimizer: one ApplyMomentum op per variable,
 * accum = accum * momentum + grad; var -= accum * lr, or with Nesterov
 * var -= grad * lr + accum * momentum * lr. */
#include "optimizer_impl.h"

typedef struct momentum {
    tg_optimizer base;
    double learning_rate, momentum;
    tg_tensor *learning_rate_t, *momentum_t;
    bool use_nesterov;
    tg_tensor *lr, *mom;
} momentum;

static bool mom_create_slots(tg_optimizer *o, tg_variable *const *vars, int n) {
    for (int i = 0; i < n; i++)
        if (!tg__optim_slot(o, vars[i], "momentum", tg_zeros_initializer())) return false;
    return true;
}

static bool mom_prepare(tg_optimizer *o) {
    momentum *s = (momentum *)o;
    s->lr = tg__optim_hyper(o->g, s->learning_rate_t, s->learning_rate, "learning_rate");
    s->mom = tg__optim_hyper(o->g, s->momentum_t, s->momentum, "momentum");
    return s->lr && s->mom;
}

static tg_tensor *mom_apply(tg_optimizer *o, tg_tensor *grad, tg_variable *var) {
    momentum *s = (momentum *)o;
    tg_graph *g = o->g;
    tg_dtype dt = tg_variable_dtype(var);
    tg_tensor *lr = tg__optim_cast(g, s->lr, dt), *mom = tg__optim_cast(g, s->mom, dt);
    tg_variable *accum = tg__optim_get_slot(o, var, "momentum");
    if (!accum) return NULL;
    return tg_raw_ops_apply_momentum(g, tg_variable_ref(var), tg_variable_ref(accum), lr, grad, mom, s->use_nesterov,
                                     "ApplyMomentum");
}

static const tg__optim_class mom_class = {
    .default_name = "Momentum",
    .create_slots = mom_create_slots,
    .prepare = mom_prepare,
    .apply_dense = mom_apply,
};

static tg_optimizer *mom_new(tg_graph *g, double learning_rate, tg_tensor *learning_rate_t, double momentum_value,
                             const tg_train_momentum_opts *o) {
    momentum *s = (momentum *)tg__optim_new(g, sizeof(momentum), &mom_class, o->name);
    if (!s) return NULL;
    s->learning_rate = learning_rate;
    s->momentum = momentum_value;
    s->learning_rate_t = learning_rate_t;
    s->momentum_t = o->momentum_t;
    s->use_nesterov = o->use_nesterov;
    return &s->base;
}

tg_optimizer *tg_train_momentum_optimizer_new(tg_graph *g, double learning_rate, double momentum_value,
                                              const tg_train_momentum_opts *opts) {
    const tg_train_momentum_opts o = opts ? *opts : (tg_train_momentum_opts){0};
    if (tg_graph_status(g) != TG_OK || !tg__optim_check_scalar(g, o.learning_rate_t, "learning_rate") ||
        !tg__optim_check_scalar(g, o.momentum_t, "momentum"))
        return NULL;
    return mom_new(g, learning_rate, o.learning_rate_t, momentum_value, &o);
}

tg_optimizer *tg_train_momentum_optimizer_new_t(tg_graph *g, tg_tensor *learning_rate, double momentum_value,
                                                const tg_train_momentum_opts *opts) {
    const tg_train_momentum_opts o = opts ? *opts : (tg_train_momentum_opts){0};
    if (!tg__optim_check_rate_arg(g, learning_rate, o.learning_rate_t, "tg_train_momentum_optimizer_new_t") ||
        !tg__optim_check_scalar(g, o.momentum_t, "momentum"))
        return NULL;
    return mom_new(g, 0, learning_rate, momentum_value, &o);
}
