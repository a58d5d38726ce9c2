/* tf.train.AdagradOptimizer: one ApplyAdagrad op per variable,
 * accum += grad^2; var -= grad * lr * rsqrt(accum). */
#include "optimizer_impl.h"

typedef struct adagrad {
    tg_optimizer base;
    double learning_rate, initial_accumulator_value;
    tg_tensor *learning_rate_t;
    tg_tensor *lr;
} adagrad;

static bool adagrad_create_slots(tg_optimizer *o, tg_variable *const *vars, int n) {
    adagrad *s = (adagrad *)o;
    for (int i = 0; i < n; i++)
        if (!tg__optim_slot(o, vars[i], "accumulator", tg_constant_initializer(s->initial_accumulator_value)))
            return false;
    return true;
}

static bool adagrad_prepare(tg_optimizer *o) {
    adagrad *s = (adagrad *)o;
    s->lr = tg__optim_hyper(o->g, s->learning_rate_t, s->learning_rate, "learning_rate");
    return s->lr != NULL;
}

static tg_tensor *adagrad_apply(tg_optimizer *o, tg_tensor *grad, tg_variable *var) {
    adagrad *s = (adagrad *)o;
    tg_graph *g = o->g;
    tg_tensor *lr = tg__optim_cast(g, s->lr, tg_variable_dtype(var));
    tg_variable *acc = tg__optim_get_slot(o, var, "accumulator");
    if (!acc) return NULL;
    return tg_raw_ops_apply_adagrad(g, tg_variable_ref(var), tg_variable_ref(acc), lr, grad, "ApplyAdagrad");
}

static const tg__optim_class adagrad_class = {
    .default_name = "Adagrad",
    .create_slots = adagrad_create_slots,
    .prepare = adagrad_prepare,
    .apply_dense = adagrad_apply,
};

static tg_optimizer *adagrad_new(tg_graph *g, double learning_rate, tg_tensor *learning_rate_t,
                                const tg_train_adagrad_opts *o) {
    double init = o->initial_accumulator_value;
    if (!(init > 0)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "initial_accumulator_value must be positive: %g", init);
        return NULL;
    }
    adagrad *s = (adagrad *)tg__optim_new(g, sizeof(adagrad), &adagrad_class, o->name);
    if (!s) return NULL;
    s->learning_rate = learning_rate;
    s->learning_rate_t = learning_rate_t;
    s->initial_accumulator_value = init;
    return &s->base;
}

tg_optimizer *tg_train_adagrad_optimizer_new(tg_graph *g, double learning_rate, const tg_train_adagrad_opts *opts) {
    tg_train_adagrad_opts o;
    if (tg_graph_status(g) != TG_OK ||
        !TG__OPTS_RESOLVE(g, "tg_train_adagrad_optimizer_new", tg_train_adagrad_opts, TG_TRAIN_ADAGRAD_OPTS_INIT,
                          opts, o) ||
        !tg__optim_check_scalar(g, o.learning_rate_t, "learning_rate"))
        return NULL;
    return adagrad_new(g, learning_rate, o.learning_rate_t, &o);
}

tg_optimizer *tg_train_adagrad_optimizer_new_t(tg_graph *g, tg_tensor *learning_rate,
                                               const tg_train_adagrad_opts *opts) {
    const char *fn = "tg_train_adagrad_optimizer_new_t";
    tg_train_adagrad_opts o;
    if (tg_graph_status(g) != TG_OK ||
        !TG__OPTS_RESOLVE(g, fn, tg_train_adagrad_opts, TG_TRAIN_ADAGRAD_OPTS_INIT, opts, o) ||
        !tg__optim_check_rate_arg(g, learning_rate, o.learning_rate_t, fn))
        return NULL;
    return adagrad_new(g, 0, learning_rate, &o);
}
