/* tf.train.GradientDescentOptimizer: one ApplyGradientDescent op per
 * variable, var -= grad * lr. */
#include "optimizer_impl.h"

typedef struct gd {
    tg_optimizer base;
    double learning_rate;
    tg_tensor *learning_rate_t; /* the caller's tensor, or NULL */
    tg_tensor *lr;              /* made by prepare */
} gd;

static bool gd_prepare(tg_optimizer *o) {
    gd *s = (gd *)o;
    s->lr = tg__optim_hyper(o->g, s->learning_rate_t, s->learning_rate, "learning_rate");
    return s->lr != NULL;
}

static tg_tensor *gd_apply(tg_optimizer *o, tg_tensor *grad, tg_variable *var) {
    gd *s = (gd *)o;
    tg_graph *g = o->g;
    tg_tensor *lr = tg__optim_cast(g, s->lr, tg_variable_dtype(var));
    return tg_raw_ops_apply_gradient_descent(g, tg_variable_ref(var), lr, grad, "ApplyGradientDescent");
}

static const tg__optim_class gd_class = {
    .default_name = "GradientDescent",
    .prepare = gd_prepare,
    .apply_dense = gd_apply,
};

static tg_optimizer *gd_new(tg_graph *g, double learning_rate, tg_tensor *learning_rate_t,
                           const tg_train_gradient_descent_opts *o) {
    gd *s = (gd *)tg__optim_new(g, sizeof(gd), &gd_class, o->name);
    if (!s) return NULL;
    s->learning_rate = learning_rate;
    s->learning_rate_t = learning_rate_t;
    return &s->base;
}

tg_optimizer *tg_train_gradient_descent_optimizer_new(tg_graph *g, double learning_rate,
                                                      const tg_train_gradient_descent_opts *opts) {
    const tg_train_gradient_descent_opts o = opts ? *opts : (tg_train_gradient_descent_opts){0};
    if (tg_graph_status(g) != TG_OK || !tg__optim_check_scalar(g, o.learning_rate_t, "learning_rate")) return NULL;
    return gd_new(g, learning_rate, o.learning_rate_t, &o);
}

tg_optimizer *tg_train_gradient_descent_optimizer_new_t(tg_graph *g, tg_tensor *learning_rate,
                                                        const tg_train_gradient_descent_opts *opts) {
    const tg_train_gradient_descent_opts o = opts ? *opts : (tg_train_gradient_descent_opts){0};
    if (!tg__optim_check_rate_arg(g, learning_rate, o.learning_rate_t, "tg_train_gradient_descent_optimizer_new_t"))
        return NULL;
    return gd_new(g, 0, learning_rate, &o);
}
