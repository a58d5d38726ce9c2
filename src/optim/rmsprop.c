/* tf.train.RMSPropOptimizer: one ApplyRMSProp op per variable, or
 * ApplyCenteredRMSProp when centered, as TF 1.15, whose kernels compute,
 * in this order:
 *   ms += (g^2 - ms) * (1 - decay)
 *   [mg += (g - mg) * (1 - decay)]                        centered
 *   mom = mom * momentum + g * lr / sqrt(ms + epsilon)    (ms - mg^2 + epsilon)
 *   var -= mom
 * The ms slot starts at ones, as in TF. */
#include "optimizer_impl.h"

typedef struct rmsprop {
    tg_optimizer base;
    double learning_rate, decay, momentum, epsilon;
    bool centered;
    tg_tensor *learning_rate_t;
    tg_tensor *lr, *decay_t, *momentum_t, *epsilon_t;
} rmsprop;

static bool rms_create_slots(tg_optimizer *o, tg_variable *const *vars, int n) {
    rmsprop *s = (rmsprop *)o;
    for (int i = 0; i < n; i++) {
        if (!tg__optim_slot(o, vars[i], "rms", tg_ones_initializer())) return false;
        if (s->centered && !tg__optim_slot(o, vars[i], "mg", tg_zeros_initializer())) return false;
        if (!tg__optim_slot(o, vars[i], "momentum", tg_zeros_initializer())) return false;
    }
    return true;
}

static bool rms_prepare(tg_optimizer *o) {
    rmsprop *s = (rmsprop *)o;
    tg_graph *g = o->g;
    s->lr = tg__optim_hyper(g, s->learning_rate_t, s->learning_rate, "learning_rate");
    s->decay_t = tg__optim_hyper(g, NULL, s->decay, "decay");
    s->momentum_t = tg__optim_hyper(g, NULL, s->momentum, "momentum");
    s->epsilon_t = tg__optim_hyper(g, NULL, s->epsilon, "epsilon");
    return s->lr && s->decay_t && s->momentum_t && s->epsilon_t;
}

static tg_tensor *rms_apply(tg_optimizer *o, tg_tensor *grad, tg_variable *var) {
    rmsprop *s = (rmsprop *)o;
    tg_graph *g = o->g;
    tg_dtype dt = tg_variable_dtype(var);
    tg_variable *ms = tg__optim_get_slot(o, var, "rms"), *mom = tg__optim_get_slot(o, var, "momentum");
    tg_variable *mg = s->centered ? tg__optim_get_slot(o, var, "mg") : NULL;
    if (!ms || !mom || (s->centered && !mg)) return NULL;
    tg_tensor *lr = tg__optim_cast(g, s->lr, dt), *rho = tg__optim_cast(g, s->decay_t, dt);
    tg_tensor *momentum = tg__optim_cast(g, s->momentum_t, dt), *eps = tg__optim_cast(g, s->epsilon_t, dt);
    if (s->centered)
        return tg_raw_ops_apply_centered_rms_prop(g, tg_variable_ref(var), tg_variable_ref(mg), tg_variable_ref(ms),
                                                  tg_variable_ref(mom), lr, rho, momentum, eps, grad,
                                                  "ApplyCenteredRMSProp");
    return tg_raw_ops_apply_rms_prop(g, tg_variable_ref(var), tg_variable_ref(ms), tg_variable_ref(mom), lr, rho,
                                     momentum, eps, grad, "ApplyRMSProp");
}

static const tg__optim_class rms_class = {
    .default_name = "RMSProp",
    .create_slots = rms_create_slots,
    .prepare = rms_prepare,
    .apply_dense = rms_apply,
};

static tg_optimizer *rms_new(tg_graph *g, double learning_rate, tg_tensor *learning_rate_t,
                            const tg_train_rmsprop_opts *o) {
    rmsprop *s = (rmsprop *)tg__optim_new(g, sizeof(rmsprop), &rms_class, o->name);
    if (!s) return NULL;
    s->learning_rate = learning_rate;
    s->learning_rate_t = learning_rate_t;
    s->decay = o->decay;
    s->momentum = o->momentum;
    s->epsilon = o->epsilon;
    s->centered = o->centered;
    return &s->base;
}

tg_optimizer *tg_train_rmsprop_optimizer_new(tg_graph *g, double learning_rate, const tg_train_rmsprop_opts *opts) {
    tg_train_rmsprop_opts o;
    if (tg_graph_status(g) != TG_OK ||
        !TG__OPTS_RESOLVE(g, "tg_train_rmsprop_optimizer_new", tg_train_rmsprop_opts, TG_TRAIN_RMSPROP_OPTS_INIT,
                          opts, o) ||
        !tg__optim_check_scalar(g, o.learning_rate_t, "learning_rate"))
        return NULL;
    return rms_new(g, learning_rate, o.learning_rate_t, &o);
}

tg_optimizer *tg_train_rmsprop_optimizer_new_t(tg_graph *g, tg_tensor *learning_rate,
                                               const tg_train_rmsprop_opts *opts) {
    const char *fn = "tg_train_rmsprop_optimizer_new_t";
    tg_train_rmsprop_opts o;
    if (tg_graph_status(g) != TG_OK ||
        !TG__OPTS_RESOLVE(g, fn, tg_train_rmsprop_opts, TG_TRAIN_RMSPROP_OPTS_INIT, opts, o) ||
        !tg__optim_check_rate_arg(g, learning_rate, o.learning_rate_t, fn))
        return NULL;
    return rms_new(g, 0, learning_rate, &o);
}
