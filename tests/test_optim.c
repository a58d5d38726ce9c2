/* test_optim.c: tf.train optimizers and schedules. One step (several for
 * the stateful ones) of each optimizer against its update computed here by
 * hand in float32, in the kernel's order; slot and op names, collections;
 * convergence on linear regression and XOR; the learning rate as a tensor;
 * exponential_decay and piecewise_constant; the global step; variables
 * without gradients; the errors; constraints; control dependencies; the
 * fused Apply* ops on their own and against the compositions they replaced;
 * the *_new_t constructors. */
#include "tg_check.h"

/* A float32 variable holding `data` once its setter op has run. */
static tg_variable *fvar(tg_graph *g, const char *name, tg_shape shape, const float *data, tg_op **set)
{
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer());
    tg_variable *v = tg_get_variable(g, name, TG_FLOAT32, shape, &vo);
    *set = tg_tensor_op(tg_assign(g, tg_variable_ref(v), tg_constant_data(g, TG_FLOAT32, shape, data, NULL), NULL));
    return v;
}

/* A session with every variable initialized and the setters run. */
static tg_session *start(tg_graph *g, tg_op *const *setters, int n)
{
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    ck_assert_ptr_nonnull(s);
    tgc_run_target(s, init);
    for (int i = 0; i < n; i++) tgc_run_target(s, setters[i]);
    return s;
}

/* Runs `op` feeding placeholder p with a float32 vector. */
static void run_fed(tg_session *s, tg_op *op, tg_tensor *p, const float *v, int64_t n)
{
    tg_array *a = tg_array_new_from(TG_FLOAT32, 1, &n, v);
    tg_feed f = {p, a};
    tg_code rc = tg_session_run(s, &f, 1, NULL, 0, NULL, &op, 1);
    ck_assert_msg(rc == TG_OK, "%s", tg_session_message(s));
    tg_array_free(a);
}

static void check_var(tg_session *s, tg_variable *v, const float *want, int n, double tol)
{
    tg_array *a = tgc_fetch(s, tg_variable_value(v), NULL, 0);
    ck_assert_int_eq(tg_array_size(a), n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabs(tg_array_get(a, i) - want[i]) <= tol, "%s[%d] = %.9g, want %.9g", tg_variable_name(v), i,
                      tg_array_get(a, i), (double)want[i]);
    tg_array_free(a);
}

static bool in_collection(tg_graph *g, const char *key, tg_variable *v)
{
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(g, key, NULL, &vars);
    bool found = false;
    for (int i = 0; i < n; i++) found |= vars[i] == v;
    tg_free(vars);
    return found;
}

/* A global variable by name. beta1_power and beta2_power are tf.Variables,
 * outside the variable store, so tg_graph_variable does not find them (as
 * TF's get_variable would not). */
static tg_variable *find_global(tg_graph *g, const char *name)
{
    tg_variable **vars = NULL, *found = NULL;
    int n = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vars);
    for (int i = 0; i < n && !found; i++)
        if (strcmp(tg_variable_name(vars[i]), name) == 0) found = vars[i];
    tg_free(vars);
    return found;
}

/* A slot: named `name`, not trainable, in GLOBAL_VARIABLES only. */
static void check_slot(tg_graph *g, tg_variable *slot, const char *name)
{
    ck_assert_ptr_nonnull(slot);
    ck_assert_str_eq(tg_variable_name(slot), name);
    ck_assert(!tg_variable_trainable(slot));
    ck_assert(in_collection(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, slot));
    ck_assert(!in_collection(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, slot));
}

/* ---- one step by hand ---------------------------------------------------------------- */

/* loss = sum(x * w^2): dloss/dw = 2 x w. */
START_TEST(test_gradient_descent_step)
{
    tg_graph *g = tg_graph_new();
    tg_op *set;
    tg_variable *w = fvar(g, "w", TG_SHAPE(2), (float[]){1, -2}, &set);
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){3, 4}, "x");
    tg_tensor *loss = tg_reduce_sum(g, tg_multiply(g, x, tg_square(g, tg_variable_value(w), NULL), NULL),
                                    &(tg_reduce_opts){.name = "loss"});
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    ck_assert_str_eq(tg_optimizer_name(opt), "GradientDescent");
    tg_op *train = tg_optimizer_minimize(opt, loss, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(train), "GradientDescent");
    ck_assert_str_eq(tg_op_type(train), "NoOp");
    tg_op *upd = tg_graph_op(g, "GradientDescent/update_w/ApplyGradientDescent");
    ck_assert_ptr_nonnull(upd);
    ck_assert_str_eq(tg_op_type(upd), "ApplyGradientDescent");
    ck_assert_ptr_eq(tg_op_control_input(train, 0), upd);
    ck_assert_ptr_nonnull(tg_graph_op(g, "GradientDescent/learning_rate"));
    tg_op **train_ops = NULL;
    ck_assert_int_eq(tg_get_collection_ops(g, TG_GRAPHKEYS_TRAIN_OP, NULL, &train_ops), 1);
    ck_assert_ptr_eq(train_ops[0], train);
    tg_free(train_ops);
    ck_assert_int_eq(tg_optimizer_variables(opt, NULL), 0);
    ck_assert_int_eq(tg_optimizer_get_slot_names(opt, NULL), 0);

    tg_session *s = start(g, &set, 1);
    tgc_run_target(s, train);
    float lr = 0.1f, w0 = 1, w1 = -2;
    float want[2] = {w0 - 2 * 3 * w0 * lr, w1 - 2 * 4 * w1 * lr};
    check_var(s, w, want, 2, 1e-6);
    tgc_run_target(s, train);
    float want2[2] = {want[0] - 2 * 3 * want[0] * lr, want[1] - 2 * 4 * want[1] * lr};
    check_var(s, w, want2, 2, 1e-6);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}
END_TEST

/* A var, a fed gradient and the train op of `opt` for it. */
typedef struct fed {
    tg_graph *g;
    tg_variable *w;
    tg_op *set, *train;
    tg_tensor *grad;
    tg_optimizer *opt;
} fed;

static fed fed_setup(tg_optimizer *(*make)(tg_graph *, void *), void *arg, const float *w0)
{
    fed f = {.g = tg_graph_new()};
    f.w = fvar(f.g, "w", TG_SHAPE(2), w0, &f.set);
    f.grad = tg_placeholder(f.g, TG_FLOAT32, TG_SHAPE(2), "grad");
    f.opt = make(f.g, arg);
    f.train = tg_optimizer_apply_gradients(f.opt, &f.grad, &f.w, 1, NULL, NULL);
    ck_assert_tg_ok(f.g);
    return f;
}

static void fed_free(fed *f)
{
    tg_optimizer_free(f->opt);
    tg_graph_free(f->g);
}

static tg_optimizer *make_momentum(tg_graph *g, void *nesterov)
{
    return tg_train_momentum_optimizer_new(g, 0.1, 0.9, &(tg_train_momentum_opts){.use_nesterov = nesterov != NULL});
}

START_TEST(test_momentum_steps)
{
    static const float grads[3][2] = {{0.5f, -1}, {0.25f, 2}, {-1, 0.125f}};
    for (int nesterov = 0; nesterov < 2; nesterov++) {
        fed f = fed_setup(make_momentum, nesterov ? &nesterov : NULL, (float[]){1, 2});
        tg_variable *acc = tg_optimizer_get_slot(f.opt, f.w, "momentum");
        check_slot(f.g, acc, "w/Momentum");
        ck_assert_str_eq(tg_op_name(f.train), "Momentum");
        ck_assert_ptr_nonnull(tg_graph_op(f.g, "Momentum/update_w/ApplyMomentum"));
        ck_assert_ptr_nonnull(tg_graph_op(f.g, "Momentum/momentum"));
        ck_assert_ptr_nonnull(tg_graph_op(f.g, "w/Momentum/Initializer/zeros"));
        tg_session *s = start(f.g, &f.set, 1);
        float lr = 0.1f, mom = 0.9f, w[2] = {1, 2}, a[2] = {0, 0};
        for (int step = 0; step < 3; step++) {
            run_fed(s, f.train, f.grad, grads[step], 2);
            for (int i = 0; i < 2; i++) {
                float g = grads[step][i];
                a[i] = a[i] * mom + g;
                if (nesterov)
                    w[i] -= g * lr + a[i] * mom * lr;
                else
                    w[i] -= a[i] * lr;
            }
            check_var(s, f.w, w, 2, 1e-6);
            check_var(s, acc, a, 2, 1e-6);
        }
        tg_session_free(s);
        fed_free(&f);
    }
}
END_TEST

static tg_optimizer *make_adam(tg_graph *g, void *arg)
{
    (void)arg;
    return tg_train_adam_optimizer_new(g, 0.01, NULL);
}

/* Four steps, so the bias correction (beta powers) changes each time. */
START_TEST(test_adam_steps)
{
    static const float grads[4][2] = {{0.1f, -0.2f}, {0.3f, 0.5f}, {-0.4f, 0.2f}, {1.5f, -0.05f}};
    fed f = fed_setup(make_adam, NULL, (float[]){1, -1});
    tg_graph *g = f.g;
    tg_variable *m = tg_optimizer_get_slot(f.opt, f.w, "m"), *v = tg_optimizer_get_slot(f.opt, f.w, "v");
    check_slot(g, m, "w/Adam");
    check_slot(g, v, "w/Adam_1");
    tg_variable *p1 = find_global(g, "beta1_power"), *p2 = find_global(g, "beta2_power");
    check_slot(g, p1, "beta1_power");
    check_slot(g, p2, "beta2_power");
    ck_assert_ptr_nonnull(tg_graph_op(g, "w/Adam/Initializer/zeros"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "Adam/update_w/ApplyAdam"));
    for (const char *const *n = (const char *const[]){"Adam/learning_rate", "Adam/beta1", "Adam/beta2",
                                                       "Adam/epsilon", NULL};
         *n; n++)
        ck_assert_msg(tg_graph_op(g, *n) != NULL, "missing %s", *n);
    ck_assert_str_eq(tg_op_name(f.train), "Adam");
    ck_assert_ptr_nonnull(tg_graph_op(g, "Adam/mul"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "Adam/mul_1"));
    /* the train op groups the update and the two power updates, which run after it */
    ck_assert_int_eq(tg_op_num_control_inputs(f.train), 3);
    tg_op *upd = tg_graph_op(g, "Adam/update_w/ApplyAdam");
    ck_assert_str_eq(tg_op_type(upd), "ApplyAdam"); /* TF's fused op, not a composition */
    for (int i = 1; i < 3; i++) {
        tg_op *pu = tg_op_control_input(f.train, i);
        ck_assert_str_eq(tg_op_type(pu), "Assign");
        ck_assert_ptr_eq(tg_op_control_input(tg_tensor_op(tg_op_input(pu, 1)), 0), upd); /* the Mul */
    }
    const char **names = NULL;
    ck_assert_int_eq(tg_optimizer_get_slot_names(f.opt, &names), 2);
    ck_assert_str_eq(names[0], "m");
    ck_assert_str_eq(names[1], "v");
    tg_free(names);
    tg_variable **ov = NULL;
    ck_assert_int_eq(tg_optimizer_variables(f.opt, &ov), 4);
    ck_assert_str_eq(tg_variable_name(ov[0]), "beta1_power");
    ck_assert_str_eq(tg_variable_name(ov[1]), "beta2_power");
    ck_assert_str_eq(tg_variable_name(ov[2]), "w/Adam");
    ck_assert_str_eq(tg_variable_name(ov[3]), "w/Adam_1");
    tg_free(ov);

    tg_session *s = start(g, &f.set, 1);
    float lr = 0.01f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, b1p = b1, b2p = b2;
    float w[2] = {1, -1}, mm[2] = {0, 0}, vv[2] = {0, 0};
    for (int step = 0; step < 4; step++) {
        run_fed(s, f.train, f.grad, grads[step], 2);
        float alpha = lr * sqrtf(1 - b2p) / (1 - b1p);
        for (int i = 0; i < 2; i++) {
            float gr = grads[step][i];
            mm[i] += (gr - mm[i]) * (1 - b1);
            vv[i] += (gr * gr - vv[i]) * (1 - b2);
            w[i] -= mm[i] * alpha / (sqrtf(vv[i]) + eps);
        }
        b1p *= b1;
        b2p *= b2;
        check_var(s, f.w, w, 2, 2e-7);
        check_var(s, m, mm, 2, 1e-7);
        check_var(s, v, vv, 2, 1e-8);
        check_var(s, p1, &b1p, 1, 1e-7);
        check_var(s, p2, &b2p, 1, 1e-7);
    }
    tg_session_free(s);
    fed_free(&f);
}
END_TEST

/* tf.raw_ops.ApplyAdam on its own: one float64 step against the formula,
 * the argument checks, and an uninitialized slot. */
static tg_variable *vec3(tg_graph *g, const char *name)
{
    return tg_variable_new(g, name, TG_FLOAT64, TG_SHAPE(3), NULL);
}

static tg_op *set3(tg_graph *g, tg_variable *v, const double *x)
{
    return tg_tensor_op(tg_assign(g, tg_variable_ref(v), tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), x, NULL), NULL));
}

START_TEST(test_apply_adam_op)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = vec3(g, "w"), *m = vec3(g, "m"), *v = vec3(g, "v"), *late = vec3(g, "late");
    const double g0[3] = {0.5, -1, 2}, w0[3] = {1, -2, 0.5}, m0[3] = {0.1, 0, -0.3}, v0[3] = {0.04, 0, 0.5};
    tg_op *sets[3] = {set3(g, w, w0), set3(g, m, m0), set3(g, v, v0)};
#define K(x) tg_constant_scalar(g, TG_FLOAT64, (x), NULL)
    tg_tensor *grad = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), g0, NULL);
    tg_tensor *out = tg_raw_ops_apply_adam(g, tg_variable_ref(w), tg_variable_ref(m), tg_variable_ref(v), K(0.81),
                                           K(0.998001), K(0.1), K(0.9), K(0.999), K(1e-8), grad, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(out)), "ApplyAdam");
    tg_session *s = tg_session_new(g);
    for (int i = 0; i < 3; i++) tgc_run_target(s, sets[i]);
    tg_array *r = tgc_fetch(s, out, NULL, 0);
    const double alpha = 0.1 * sqrt(1 - 0.998001) / (1 - 0.81);
    for (int i = 0; i < 3; i++) {
        double mi = m0[i] + (g0[i] - m0[i]) * 0.1, vi = v0[i] + (g0[i] * g0[i] - v0[i]) * (1 - 0.999);
        ck_assert_close(tg_array_get(r, i), w0[i] - mi * alpha / (sqrt(vi) + 1e-8), 1e-15);
    }
    tg_array_free(r);
    /* a slot that was never initialized: TF's message */
    tg_tensor *bad = tg_raw_ops_apply_adam(g, tg_variable_ref(w), tg_variable_ref(late), tg_variable_ref(v), K(0.81),
                                           K(0.998001), K(0.1), K(0.9), K(0.999), K(1e-8), grad, "bad");
    tg_array *o = NULL;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &bad, 1, &o, NULL, 0), TG_FAILED_PRECONDITION);
    ck_assert_str_contains(tg_session_message(s), "uninitialized value late");
    tg_session_free(s);
    /* argument checks, each naming the op and the input */
    ck_assert_ptr_null(tg_raw_ops_apply_adam(g, tg_variable_value(w), tg_variable_ref(m), tg_variable_ref(v), K(0.81),
                                             K(0.9), K(0.1), K(0.9), K(0.999), K(1e-8), grad, "e1"));
    ck_assert_str_contains(tg_graph_message(g), "e1");
    ck_assert_str_contains(tg_graph_message(g), "is not a variable reference");
    tg_graph_free(g);

    const char *want[3] = {"var and grad do not have the same shape: (3,) and (2,)", "lr is not a scalar: (2,)",
                           "epsilon has dtype float32, var has float64"};
    for (int k = 0; k < 3; k++) {
        g = tg_graph_new();
        w = vec3(g, "w");
        tg_tensor *r3 = tg_variable_ref(w), *two = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), (double[]){1, 2}, NULL);
        grad = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), g0, NULL);
        tg_tensor *lr = k == 1 ? two : K(0.1), *eps = k == 2 ? tg_constant_scalar(g, TG_FLOAT32, 1, NULL) : K(1e-8);
        ck_assert_ptr_null(tg_raw_ops_apply_adam(g, r3, r3, r3, K(0.81), K(0.9), lr, K(0.9), K(0.999), eps,
                                                 k == 0 ? two : grad, "adam_e"));
        ck_assert_str_contains(tg_graph_message(g), "adam_e");
        ck_assert_str_contains(tg_graph_message(g), want[k]);
        tg_graph_free(g);
    }
#undef K
}
END_TEST

static tg_optimizer *make_rmsprop(tg_graph *g, void *centered)
{
    TG_OPTS(tg_train_rmsprop_opts, rmo, .momentum = 0.5, .epsilon = 1e-3, .centered = centered != NULL);
    return tg_train_rmsprop_optimizer_new(g, 0.01, &rmo);
}

START_TEST(test_rmsprop_steps)
{
    static const float grads[3][2] = {{0.1f, -0.2f}, {0.3f, 0.5f}, {-0.4f, 0.2f}};
    for (int centered = 0; centered < 2; centered++) {
        fed f = fed_setup(make_rmsprop, centered ? &centered : NULL, (float[]){1, -1});
        tg_variable *ms = tg_optimizer_get_slot(f.opt, f.w, "rms");
        tg_variable *mom = tg_optimizer_get_slot(f.opt, f.w, "momentum");
        tg_variable *mg = tg_optimizer_get_slot(f.opt, f.w, "mg");
        check_slot(f.g, ms, "w/RMSProp");
        if (centered) {
            check_slot(f.g, mg, "w/RMSProp_1");
            check_slot(f.g, mom, "w/RMSProp_2");
            ck_assert_ptr_nonnull(tg_graph_op(f.g, "RMSProp/update_w/ApplyCenteredRMSProp"));
        } else {
            ck_assert_ptr_null(mg);
            check_slot(f.g, mom, "w/RMSProp_1");
            ck_assert_ptr_nonnull(tg_graph_op(f.g, "RMSProp/update_w/ApplyRMSProp"));
        }
        for (const char *const *n = (const char *const[]){"RMSProp/learning_rate", "RMSProp/decay",
                                                           "RMSProp/momentum", "RMSProp/epsilon", NULL};
             *n; n++)
            ck_assert_msg(tg_graph_op(f.g, *n) != NULL, "missing %s", *n);
        tg_session *s = start(f.g, &f.set, 1);
        check_var(s, ms, (float[]){1, 1}, 2, 0); /* TF starts ms at ones */
        float lr = 0.01f, rho = 0.9f, mo = 0.5f, eps = 1e-3f;
        float w[2] = {1, -1}, r[2] = {1, 1}, gm[2] = {0, 0}, p[2] = {0, 0};
        for (int step = 0; step < 3; step++) {
            run_fed(s, f.train, f.grad, grads[step], 2);
            for (int i = 0; i < 2; i++) {
                float gr = grads[step][i];
                r[i] += (gr * gr - r[i]) * (1 - rho);
                float denom = r[i] + eps;
                if (centered) {
                    gm[i] += (gr - gm[i]) * (1 - rho);
                    denom = (r[i] - gm[i] * gm[i]) + eps;
                }
                p[i] = p[i] * mo + (gr * lr) / sqrtf(denom);
                w[i] -= p[i];
            }
            check_var(s, f.w, w, 2, 1e-7);
            check_var(s, ms, r, 2, 1e-7);
            check_var(s, mom, p, 2, 1e-7);
            if (centered) check_var(s, mg, gm, 2, 1e-7);
        }
        tg_session_free(s);
        fed_free(&f);
    }
}
END_TEST

static tg_optimizer *make_adagrad(tg_graph *g, void *arg)
{
    (void)arg;
    return tg_train_adagrad_optimizer_new(g, 0.5, NULL);
}

START_TEST(test_adagrad_steps)
{
    static const float grads[3][2] = {{0.1f, -0.2f}, {0.3f, 0.5f}, {-0.4f, 0.2f}};
    fed f = fed_setup(make_adagrad, NULL, (float[]){1, -1});
    tg_variable *acc = tg_optimizer_get_slot(f.opt, f.w, "accumulator");
    check_slot(f.g, acc, "w/Adagrad");
    ck_assert_ptr_nonnull(tg_graph_op(f.g, "Adagrad/update_w/ApplyAdagrad"));
    tg_session *s = start(f.g, &f.set, 1);
    check_var(s, acc, (float[]){0.1f, 0.1f}, 2, 0);
    float lr = 0.5f, w[2] = {1, -1}, a[2] = {0.1f, 0.1f};
    for (int step = 0; step < 3; step++) {
        run_fed(s, f.train, f.grad, grads[step], 2);
        for (int i = 0; i < 2; i++) {
            float gr = grads[step][i];
            a[i] += gr * gr;
            w[i] -= gr * lr * (1 / sqrtf(a[i]));
        }
        check_var(s, f.w, w, 2, 2e-7);
        check_var(s, acc, a, 2, 1e-7);
    }
    tg_session_free(s);
    fed_free(&f);
    /* a custom initial value, and TF's check that it is positive */
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_train_adagrad_opts, ago, .initial_accumulator_value = 0);
    tg_optimizer *o = tg_train_adagrad_optimizer_new(g, 0.1, &ago);
    ck_assert_ptr_null(o);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "initial_accumulator_value must be positive: 0");
    tg_graph_free(g);
}
END_TEST

/* A float64 variable: the float32 hyper-parameters are cast to float64. */
START_TEST(test_float64_variable)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_constant_initializer(1));
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT64, TG_SHAPE(2), &vo);
    tg_tensor *x = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), (double[]){3, -4}, NULL);
    tg_tensor *loss = tg_reduce_sum(g, tg_multiply(g, x, tg_variable_value(w), NULL), NULL);
    tg_optimizer *opt = tg_train_adam_optimizer_new(g, 0.1, NULL);
    tg_op *train = tg_optimizer_minimize(opt, loss, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_variable_dtype(tg_optimizer_get_slot(opt, w, "m")), TG_FLOAT64);
    ck_assert_ptr_nonnull(tg_graph_op(g, "Adam/update_w/Cast"));
    tg_session *s = start(g, NULL, 0);
    tgc_run_target(s, train);
    /* first Adam step: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1 */
    double lr = (float)0.1, b1 = (float)0.9, b2 = (float)0.999, eps = (float)1e-8;
    double want[2];
    for (int i = 0; i < 2; i++) {
        double gr = i ? -4 : 3, m = gr * (1 - b1), v = gr * gr * (1 - b2);
        double alpha = lr * sqrt(1 - (double)(float)b2) / (1 - (double)(float)b1);
        want[i] = 1 - m * alpha / (sqrt(v) + eps);
    }
    tg_array *a = tgc_fetch(s, tg_variable_value(w), NULL, 0);
    ck_assert_close(tg_array_get(a, 0), want[0], 1e-12);
    ck_assert_close(tg_array_get(a, 1), want[1], 1e-12);
    ck_assert_close(tg_array_get(a, 0), 1 - 0.1, 1e-6); /* about lr * sign(g) */
    tg_array_free(a);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}
END_TEST

/* ---- names, scopes and slot reuse ---------------------------------------------------------- */

START_TEST(test_names_and_slot_reuse)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL) {
        TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_ones_initializer());
        w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), &vo);
    }
    tg_tensor *loss = tg_reduce_sum(g, tg_square(g, tg_variable_value(w), NULL), NULL);
    tg_optimizer *mo = tg_train_momentum_optimizer_new(g, 0.1, 0.9, NULL);
    tg_op *t1 = tg_optimizer_minimize(mo, loss, NULL);
    tg_op *t2 = tg_optimizer_minimize(mo, loss, &(tg_minimize_opts){.name = "again"});
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(t1), "Momentum");
    ck_assert_str_eq(tg_op_name(t2), "again");
    ck_assert_ptr_nonnull(tg_graph_op(g, "Momentum/update_net/w/ApplyMomentum"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "again/update_net/w/ApplyMomentum"));
    /* the slot is made once and shared by both train ops */
    check_slot(g, tg_optimizer_get_slot(mo, w, "momentum"), "net/w/Momentum");
    ck_assert_ptr_null(tg_graph_variable(g, "net/w/Momentum_1"));
    ck_assert_int_eq(tg_optimizer_variables(mo, NULL), 1);
    /* a second Adam on the same variable: new slots and powers */
    tg_optimizer *a1 = tg_train_adam_optimizer_new(g, 0.1, NULL);
    tg_optimizer *a2 = tg_train_adam_optimizer_new(g, 0.1, NULL);
    tg_op *t3 = tg_optimizer_minimize(a1, loss, NULL);
    tg_op *t4 = tg_optimizer_minimize(a2, loss, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(t3), "Adam");
    ck_assert_str_eq(tg_op_name(t4), "Adam_1");
    check_slot(g, tg_optimizer_get_slot(a1, w, "m"), "net/w/Adam");
    check_slot(g, tg_optimizer_get_slot(a1, w, "v"), "net/w/Adam_1");
    check_slot(g, tg_optimizer_get_slot(a2, w, "m"), "net/w/Adam_2");
    check_slot(g, tg_optimizer_get_slot(a2, w, "v"), "net/w/Adam_3");
    ck_assert_ptr_nonnull(find_global(g, "beta1_power"));
    ck_assert_ptr_nonnull(find_global(g, "beta1_power_1"));
    ck_assert_ptr_nonnull(find_global(g, "beta2_power_1"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "Adam_1/update_net/w/ApplyAdam"));
    /* the powers are tf.Variables: named by the caller's name scope */
    tg_optimizer *a3 = tg_train_adam_optimizer_new(g, 0.1, NULL);
    TG_WITH_NAME_SCOPE(g, "train") { tg_optimizer_minimize(a3, loss, NULL); }
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(find_global(g, "train/beta1_power"));
    ck_assert_ptr_nonnull(find_global(g, "train/beta2_power"));
    ck_assert_ptr_null(tg_graph_variable(g, "train/beta1_power"));
    tg_optimizer_free(a3);
    /* a custom optimizer name names the slots too */
    tg_optimizer *named = tg_train_gradient_descent_optimizer_new(g, 0.1, &(tg_train_gradient_descent_opts){.name = "sgd"});
    ck_assert_str_eq(tg_op_name(tg_optimizer_minimize(named, loss, NULL)), "sgd");
    TG_OPTS(tg_train_adagrad_opts, ago, .name = "ada");
    tg_optimizer *ag = tg_train_adagrad_optimizer_new(g, 0.1, &ago);
    tg_optimizer_minimize(ag, loss, NULL);
    check_slot(g, tg_optimizer_get_slot(ag, w, "accumulator"), "net/w/ada");
    ck_assert_tg_ok(g);
    /* every train op landed in TRAIN_OP (seven minimize/apply calls) */
    ck_assert_int_eq(tg_get_collection_ops(g, TG_GRAPHKEYS_TRAIN_OP, NULL, NULL), 7);
    /* the update runs: w = 1 - 0.1 * 2 = 0.8 after one momentum step */
    tg_session *s = start(g, NULL, 0);
    tgc_run_target(s, t1);
    check_var(s, w, (float[]){0.8f, 0.8f}, 2, 1e-6);
    tg_session_free(s);
    tg_optimizer_free(mo);
    tg_optimizer_free(a1);
    tg_optimizer_free(a2);
    tg_optimizer_free(named);
    tg_optimizer_free(ag);
    tg_graph_free(g);
}
END_TEST

/* ---- convergence ------------------------------------------------------------------------------- */

typedef tg_optimizer *(*make_fn)(tg_graph *g);
static tg_optimizer *lr_gd(tg_graph *g) { return tg_train_gradient_descent_optimizer_new(g, 0.2, NULL); }
static tg_optimizer *lr_momentum(tg_graph *g) { return tg_train_momentum_optimizer_new(g, 0.05, 0.9, NULL); }
static tg_optimizer *lr_nesterov(tg_graph *g)
{
    return tg_train_momentum_optimizer_new(g, 0.05, 0.9, &(tg_train_momentum_opts){.use_nesterov = true});
}
static tg_optimizer *lr_adam(tg_graph *g) { return tg_train_adam_optimizer_new(g, 0.05, NULL); }
static tg_optimizer *lr_rmsprop(tg_graph *g) { return tg_train_rmsprop_optimizer_new(g, 0.01, NULL); }
static tg_optimizer *lr_rmsprop_c(tg_graph *g)
{
    TG_OPTS(tg_train_rmsprop_opts, rmo, .momentum = 0.5, .centered = true);
    return tg_train_rmsprop_optimizer_new(g, 0.01, &rmo);
}
static tg_optimizer *lr_adagrad(tg_graph *g) { return tg_train_adagrad_optimizer_new(g, 0.5, NULL); }

static const make_fn makers[] = {lr_gd, lr_momentum, lr_nesterov, lr_adam, lr_rmsprop, lr_rmsprop_c, lr_adagrad};

/* y = 2x + 1 on 16 points of [-1, 1], fitted by w x + b from zeros. */
START_TEST(test_linear_regression_converges)
{
    const make_fn make = makers[_i];
    tg_graph *g = tg_graph_new();
    float xs[16], ys[16];
    for (int i = 0; i < 16; i++) {
        xs[i] = -1 + 2 * i / 15.0f;
        ys[i] = 2 * xs[i] + 1;
    }
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(16), xs, "x");
    tg_tensor *y = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(16), ys, "y");
    TG_OPTS(tg_get_variable_opts, zeros, .initializer = tg_zeros_initializer());
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &zeros);
    tg_variable *b = tg_get_variable(g, "b", TG_FLOAT32, TG_SCALAR, &zeros);
    tg_tensor *pred = tg_add(g, tg_multiply(g, tg_variable_value(w), x, NULL), tg_variable_value(b), NULL);
    tg_tensor *loss = tg_reduce_mean(g, tg_square(g, tg_subtract(g, pred, y, NULL), NULL), NULL);
    tg_optimizer *opt = make(g);
    tg_op *train = tg_optimizer_minimize(opt, loss, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = start(g, NULL, 0);
    double first = tgc_fetch_scalar(s, loss);
    for (int step = 0; step < 600; step++) tgc_run_target(s, train);
    double last = tgc_fetch_scalar(s, loss);
    ck_assert_msg(last < 1e-3 && last < first / 1000, "%s: loss %g -> %g", tg_optimizer_name(opt), first, last);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(w)), 2, 0.05);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(b)), 1, 0.05);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}
END_TEST

/* A 2-8-1 tanh/sigmoid MLP learns XOR with minimize and a global step. */
START_TEST(test_mlp_learns_xor)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 7);
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(4, 2), (float[]){0, 0, 0, 1, 1, 0, 1, 1}, "x");
    tg_tensor *y = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(4, 1), (float[]){0, 1, 1, 0}, "y");
    tg_tensor *h = NULL, *out = NULL;
    TG_OPTS(tg_get_variable_opts, zeros, .initializer = tg_zeros_initializer());
    TG_WITH_VARIABLE_SCOPE(g, "hidden", NULL) {
        tg_variable *w1 = tg_get_variable(g, "weights", TG_FLOAT32, TG_SHAPE(2, 8), NULL);
        tg_variable *b1 = tg_get_variable(g, "biases", TG_FLOAT32, TG_SHAPE(8), &zeros);
        h = tg_tanh(g, tg_add(g, tg_matmul(g, x, tg_variable_value(w1), NULL), tg_variable_value(b1), NULL), NULL);
    }
    TG_WITH_VARIABLE_SCOPE(g, "out", NULL) {
        tg_variable *w2 = tg_get_variable(g, "weights", TG_FLOAT32, TG_SHAPE(8, 1), NULL);
        tg_variable *b2 = tg_get_variable(g, "biases", TG_FLOAT32, TG_SHAPE(1), &zeros);
        out = tg_sigmoid(g, tg_add(g, tg_matmul(g, h, tg_variable_value(w2), NULL), tg_variable_value(b2), NULL), NULL);
    }
    tg_tensor *loss = tg_reduce_mean(g, tg_square(g, tg_subtract(g, out, y, NULL), NULL), NULL);
    tg_variable *gs = tg_train_get_or_create_global_step(g);
    tg_optimizer *opt = tg_train_adam_optimizer_new(g, 0.05, NULL);
    tg_op *train = tg_optimizer_minimize(opt, loss, &(tg_minimize_opts){.global_step = gs});
    ck_assert_tg_ok(g);
    /* four trainable variables, two slots each, plus the two powers */
    ck_assert_int_eq(tg_optimizer_variables(opt, NULL), 10);
    tg_session *s = start(g, NULL, 0);
    for (int step = 0; step < 500; step++) tgc_run_target(s, train);
    ck_assert_int_eq((int)tgc_fetch_scalar(s, tg_variable_value(gs)), 500);
    ck_assert_double_lt(tgc_fetch_scalar(s, loss), 0.01);
    tg_array *p = tgc_fetch(s, out, NULL, 0);
    static const double want[4] = {0, 1, 1, 0};
    for (int i = 0; i < 4; i++) ck_assert_msg(fabs(tg_array_get(p, i) - want[i]) < 0.2, "xor %d: %g", i, tg_array_get(p, i));
    tg_array_free(p);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}
END_TEST

/* ---- learning rate as a tensor, schedules -------------------------------------------------------- */

START_TEST(test_learning_rate_tensor)
{
    tg_graph *g = tg_graph_new();
    tg_op *set;
    tg_variable *w = fvar(g, "w", TG_SHAPE(2), (float[]){1, 2}, &set);
    tg_tensor *lr = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "lr");
    tg_tensor *loss = tg_reduce_sum(g, tg_variable_value(w), NULL); /* gradient ones */
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 123, &(tg_train_gradient_descent_opts){.learning_rate_t = lr});
    tg_op *train = tg_optimizer_minimize(opt, loss, NULL);
    ck_assert_tg_ok(g);
    ck_assert_ptr_null(tg_graph_op(g, "GradientDescent/learning_rate")); /* the tensor is used as is */
    tg_session *s = start(g, &set, 1);
    tg_array *a = tg_array_scalar_f32(0.25f);
    tg_feed f = {lr, a};
    ck_assert_int_eq(tg_session_run(s, &f, 1, NULL, 0, NULL, &train, 1), TG_OK);
    check_var(s, w, (float[]){0.75f, 1.75f}, 2, 1e-7);
    /* without the feed the run fails and changes nothing */
    ck_assert_int_eq(tg_session_run(s, NULL, 0, NULL, 0, NULL, &train, 1), TG_INVALID_ARGUMENT);
    check_var(s, w, (float[]){0.75f, 1.75f}, 2, 1e-7);
    tg_array_free(a);
    tg_session_free(s);
    tg_optimizer_free(opt);
    /* a non-scalar or integer learning rate is refused */
    tg_tensor *bad = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "bad");
    TG_OPTS(tg_train_adam_opts, ao, .learning_rate_t = bad);
    ck_assert_ptr_null(tg_train_adam_optimizer_new(g, 0, &ao));
    ck_assert_str_contains(tg_graph_message(g), "learning_rate must be a float scalar");
    tg_graph_clear_status(g);
    tg_tensor *ibad = tg_constant_scalar(g, TG_INT32, 1, "ibad");
    ck_assert_ptr_null(tg_train_momentum_optimizer_new(g, 0, 0.9, &(tg_train_momentum_opts){.momentum_t = ibad}));
    ck_assert_str_contains(tg_graph_message(g), "momentum must be a float scalar");
    tg_graph_free(g);
}
END_TEST

static double eval_at(tg_session *s, tg_tensor *t, tg_tensor *step, int64_t v)
{
    tg_array *a = tg_array_scalar_i64(v), *out = NULL;
    tg_feed f = {step, a};
    tg_code rc = tg_session_run(s, &f, 1, &t, 1, &out, NULL, 0);
    ck_assert_msg(rc == TG_OK, "%s", tg_session_message(s));
    double r = tg_array_get(out, 0);
    tg_array_free(out);
    tg_array_free(a);
    return r;
}

START_TEST(test_exponential_decay)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *step = tg_placeholder(g, TG_INT64, TG_SCALAR, "step");
    tg_tensor *smooth = tg_train_exponential_decay(g, 0.1, step, 10, 0.5, false, NULL);
    tg_tensor *stair = tg_train_exponential_decay(g, 0.1, step, 10, 0.5, true, NULL);
    tg_tensor *named = tg_train_exponential_decay(g, 1.0, step, 3, 0.1, true, "lr");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(smooth), "ExponentialDecay:0");
    ck_assert_str_eq(tg_tensor_name(stair), "ExponentialDecay_1:0");
    ck_assert_str_eq(tg_tensor_name(named), "lr:0");
    ck_assert_int_eq(tg_tensor_dtype(smooth), TG_FLOAT32);
    tg_session *s = tg_session_new(g);
    static const int64_t steps[] = {0, 1, 5, 9, 10, 15, 20, 25, 100};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        int64_t k = steps[i];
        ck_assert_close(eval_at(s, smooth, step, k), 0.1 * pow(0.5, k / 10.0), 1e-7);
        ck_assert_close(eval_at(s, stair, step, k), 0.1 * pow(0.5, (double)(k / 10)), 1e-7);
        ck_assert_close(eval_at(s, named, step, k), pow(0.1, (double)(k / 3)), 1e-6 * pow(0.1, (double)(k / 3)));
    }
    tg_session_free(s);
    ck_assert_ptr_null(tg_train_exponential_decay(g, 0.1, NULL, 10, 0.5, false, NULL));
    ck_assert_str_contains(tg_graph_message(g), "global_step is required for exponential_decay.");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_piecewise_constant)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *step = tg_placeholder(g, TG_INT64, TG_SCALAR, "step");
    tg_tensor *lr = tg_train_piecewise_constant(g, step, (double[]){10, 20}, (double[]){1.0, 0.5, 0.1}, 2, NULL);
    tg_tensor *one = tg_train_piecewise_constant(g, step, (double[]){3}, (double[]){0.3, 0.7}, 1, "one");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(lr), "PiecewiseConstant:0");
    ck_assert_str_eq(tg_tensor_name(one), "one:0");
    ck_assert_int_eq(tg_tensor_dtype(lr), TG_FLOAT32);
    tg_session *s = tg_session_new(g);
    static const int64_t steps[] = {-5, 0, 10, 11, 19, 20, 21, 1000};
    static const double want[] = {1, 1, 1, 0.5, 0.5, 0.5, 0.1, 0.1};
    for (int i = 0; i < 8; i++) {
        ck_assert_close(eval_at(s, lr, step, steps[i]), want[i], 1e-7);
        ck_assert_close(eval_at(s, one, step, steps[i]), steps[i] <= 3 ? 0.3 : 0.7, 1e-7);
    }
    tg_session_free(s);
    /* a float x with float boundaries */
    tg_tensor *fx = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "fx");
    tg_tensor *fl = tg_train_piecewise_constant(g, fx, (double[]){0.5}, (double[]){2, 3}, 1, NULL);
    ck_assert_tg_ok(g);
    s = tg_session_new(g);
    tg_array *a = tg_array_scalar_f32(0.75f), *out = NULL;
    tg_feed f = {fx, a};
    ck_assert_int_eq(tg_session_run(s, &f, 1, &fl, 1, &out, NULL, 0), TG_OK);
    ck_assert_close(tg_array_get(out, 0), 3, 0);
    tg_array_free(out);
    tg_array_free(a);
    tg_session_free(s);
    /* TF's errors */
    ck_assert_ptr_null(tg_train_piecewise_constant(g, step, (double[]){1.5}, (double[]){1, 2}, 1, NULL));
    ck_assert_str_contains(tg_graph_message(g), "Boundaries (float32) must have the same dtype as x (int64).");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_train_piecewise_constant(g, step, NULL, (double[]){1}, 0, NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_free(g);
}
END_TEST

/* A schedule as an optimizer's learning rate, driven by the global step
 * that the same train op increments. */
START_TEST(test_schedule_drives_optimizer)
{
    tg_graph *g = tg_graph_new();
    tg_op *set;
    tg_variable *w = fvar(g, "w", TG_SCALAR, (float[]){0}, &set);
    tg_variable *gs = tg_train_get_or_create_global_step(g);
    tg_tensor *lr = tg_train_piecewise_constant(g, tg_variable_value(gs), (double[]){1}, (double[]){1.0, 0.25}, 1, NULL);
    tg_tensor *loss = tg_negative(g, tg_variable_value(w), NULL); /* gradient -1: w += lr */
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0, &(tg_train_gradient_descent_opts){.learning_rate_t = lr});
    tg_op *train = tg_optimizer_minimize(opt, loss, &(tg_minimize_opts){.global_step = gs});
    ck_assert_tg_ok(g);
    tg_session *s = start(g, &set, 1);
    /* steps 0 and 1 use 1.0, then 0.25 */
    static const float want[] = {1, 2, 2.25f, 2.5f};
    for (int i = 0; i < 4; i++) {
        tgc_run_target(s, train);
        check_var(s, w, &want[i], 1, 1e-7);
    }
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}
END_TEST

/* ---- global step, skipped variables ---------------------------------------------------------------- */

START_TEST(test_global_step_increment)
{
    tg_graph *g = tg_graph_new();
    tg_op *set;
    tg_variable *w = fvar(g, "w", TG_SHAPE(2), (float[]){1, 2}, &set);
    tg_variable *gs = tg_train_get_or_create_global_step(g);
    tg_tensor *loss = tg_reduce_sum(g, tg_square(g, tg_variable_value(w), NULL), NULL);
    tg_optimizer *opt = tg_train_adam_optimizer_new(g, 0.1, NULL);
    tg_op *train = tg_optimizer_minimize(opt, loss, &(tg_minimize_opts){.global_step = gs});
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(train), "Adam");
    ck_assert_str_eq(tg_op_type(train), "AssignAdd");
    tg_op *update = tg_graph_op(g, "Adam/update");
    ck_assert_ptr_nonnull(update);
    ck_assert_str_eq(tg_op_type(update), "NoOp");
    /* the increment runs after the updates: its constant input carries the
     * control dependency, as in TF */
    tg_op *one = tg_graph_op(g, "Adam/value");
    ck_assert_ptr_eq(tg_tensor_op(tg_op_input(train, 1)), one);
    ck_assert_ptr_eq(tg_op_control_input(one, 0), update);
    tg_op **train_ops = NULL;
    ck_assert_int_eq(tg_get_collection_ops(g, TG_GRAPHKEYS_TRAIN_OP, NULL, &train_ops), 1);
    ck_assert_ptr_eq(train_ops[0], train);
    tg_free(train_ops);
    /* apply_gradients with the same step: a second train op */
    tg_tensor **grads = NULL;
    tg_variable **vars = NULL;
    int n = tg_optimizer_compute_gradients(opt, loss, NULL, 0, &grads, &vars);
    ck_assert_int_eq(n, 1);
    ck_assert_ptr_eq(vars[0], w);
    ck_assert_str_contains(tg_tensor_name(grads[0]), "gradients_1/");
    tg_op *train2 = tg_optimizer_apply_gradients(opt, grads, vars, n, gs, "second");
    tg_free(grads);
    tg_free(vars);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(train2), "second");
    tg_session *s = start(g, &set, 1);
    for (int i = 1; i <= 3; i++) {
        tgc_run_target(s, train);
        ck_assert_int_eq((int)tgc_fetch_scalar(s, tg_variable_value(gs)), i);
    }
    tgc_run_target(s, train2);
    ck_assert_int_eq((int)tgc_fetch_scalar(s, tg_variable_value(gs)), 4);
    ck_assert_int_eq(tg_session_op_run_count(s, train), 3);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_graph_op(g, "Adam/update_w/ApplyAdam")), 3);
    /* both train ops share the optimizer's beta powers: 4 steps so far */
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(find_global(g, "beta1_power"))), pow(0.9f, 5), 1e-6);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_variables_without_gradient_skipped)
{
    tg_graph *g = tg_graph_new();
    tg_op *set[3];
    tg_variable *w = fvar(g, "w", TG_SHAPE(2), (float[]){1, 2}, &set[0]);
    tg_variable *u = fvar(g, "u", TG_SHAPE(2), (float[]){5, 6}, &set[1]);
    tg_variable *k = tg_get_variable(g, "k", TG_INT32, TG_SCALAR, NULL); /* not trainable for lack of a gradient */
    set[2] = tg_variable_initializer(k);
    tg_tensor *loss = tg_reduce_sum(g, tg_variable_value(w), NULL);
    tg_optimizer *opt = tg_train_momentum_optimizer_new(g, 0.5, 0.9, NULL);
    tg_tensor **grads = NULL;
    tg_variable **vars = NULL;
    int n = tg_optimizer_compute_gradients(opt, loss, (tg_variable *[]){w, u, k}, 3, &grads, &vars);
    ck_assert_int_eq(n, 3);
    ck_assert_ptr_nonnull(grads[0]);
    ck_assert_ptr_null(grads[1]);
    ck_assert_ptr_null(grads[2]);
    ck_assert_ptr_eq(vars[1], u);
    tg_op *train = tg_optimizer_apply_gradients(opt, grads, vars, n, NULL, NULL);
    tg_free(grads);
    tg_free(vars);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_op_num_control_inputs(train), 1);
    ck_assert_ptr_null(tg_graph_op(g, "Momentum/update_u/ApplyMomentum"));
    ck_assert_ptr_null(tg_optimizer_get_slot(opt, u, "momentum")); /* no slot either */
    ck_assert_ptr_null(tg_graph_variable(g, "u/Momentum"));
    /* minimize over TRAINABLE_VARIABLES (w, u; k is trainable by default too) */
    tg_op *train2 = tg_optimizer_minimize(opt, loss, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = start(g, set, 3);
    tgc_run_target(s, train);
    tgc_run_target(s, train2);
    check_var(s, w, (float[]){1 - 0.5f - 0.5f * 1.9f, 2 - 0.5f - 0.5f * 1.9f}, 2, 1e-6);
    check_var(s, u, (float[]){5, 6}, 2, 0);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------------------ */

START_TEST(test_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *c = tg_constant_scalar(g, TG_FLOAT32, 1, "c");
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    /* no trainable variables at all */
    ck_assert_ptr_null(tg_optimizer_minimize(opt, c, NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_graph_message(g), "No variables to optimize.");
    tg_graph_clear_status(g);
    /* an explicit empty list */
    tg_variable *u = tg_get_variable(g, "u", TG_FLOAT32, TG_SHAPE(2), NULL);
    ck_assert_ptr_null(tg_optimizer_minimize(opt, c, &(tg_minimize_opts){.var_list = (tg_variable *[]){u}, .n_vars = 0}));
    ck_assert_str_eq(tg_graph_message(g), "No variables to optimize.");
    tg_graph_clear_status(g);
    /* a loss that depends on no variable */
    tg_tensor *loss = tg_multiply(g, c, c, "loss");
    ck_assert_ptr_null(tg_optimizer_minimize(opt, loss, NULL));
    ck_assert_str_eq(tg_graph_message(g),
                     "No gradients provided for any variable, check your graph for ops that do not support "
                     "gradients, between variables [\"<tf.Variable 'u:0' shape=(2,) dtype=float32_ref>\"] and loss "
                     "Tensor(\"loss:0\", shape=(), dtype=float32).");
    tg_graph_clear_status(g);
    /* apply_gradients with no gradient, and with none at all */
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(3, 2), NULL);
    ck_assert_ptr_null(tg_optimizer_apply_gradients(opt, (tg_tensor *[]){NULL, NULL}, (tg_variable *[]){u, v}, 2, NULL, NULL));
    ck_assert_str_eq(tg_graph_message(g),
                     "No gradients provided for any variable: [\"<tf.Variable 'u:0' shape=(2,) dtype=float32_ref>\", "
                     "\"<tf.Variable 'v:0' shape=(3, 2) dtype=float32_ref>\"].");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_optimizer_apply_gradients(opt, NULL, NULL, 0, NULL, NULL));
    ck_assert_str_eq(tg_graph_message(g), "No variables provided.");
    tg_graph_clear_status(g);
    /* a gradient of the wrong shape */
    tg_tensor *g3 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){1, 2, 3}, "g3");
    ck_assert_ptr_null(tg_optimizer_apply_gradients(opt, &g3, &u, 1, NULL, NULL));
    ck_assert_str_contains(tg_graph_message(g), "does not match variable 'u'");
    tg_graph_clear_status(g);
    /* an integer loss */
    tg_tensor *il = tg_constant_scalar(g, TG_INT32, 1, "il");
    ck_assert_int_eq(tg_optimizer_compute_gradients(opt, il, NULL, 0, NULL, NULL), -1);
    ck_assert_str_eq(tg_graph_message(g), "Invalid type int32 for il:0, expected: [float32, float64].");
    tg_graph_clear_status(g);
    /* an empty optimizer name */
    TG_OPTS(tg_train_adam_opts, ao, .name = "");
    ck_assert_ptr_null(tg_train_adam_optimizer_new(g, 0.1, &ao));
    ck_assert_str_eq(tg_graph_message(g), "Must specify the optimizer name");
    tg_graph_clear_status(g);
    /* a variable of another graph */
    tg_graph *g2 = tg_graph_new();
    tg_variable *other = tg_get_variable(g2, "o", TG_FLOAT32, TG_SCALAR, NULL);
    ck_assert_ptr_null(tg_optimizer_minimize(opt, loss, &(tg_minimize_opts){.var_list = &other, .n_vars = 1}));
    ck_assert_str_contains(tg_graph_message(g), "from another graph");
    tg_graph_clear_status(g);
    tg_graph_free(g2);
    /* the failed calls left no train op behind */
    ck_assert_int_eq(tg_get_collection_ops(g, TG_GRAPHKEYS_TRAIN_OP, NULL, NULL), 0);
    /* NULL arguments and a graph in error: NULL back, nothing added */
    ck_assert_ptr_null(tg_train_gradient_descent_optimizer_new(NULL, 0.1, NULL));
    ck_assert_ptr_null(tg_optimizer_minimize(NULL, loss, NULL));
    ck_assert_ptr_null(tg_optimizer_minimize(opt, NULL, NULL));
    ck_assert_tg_ok(g);
    tg_graph_fail(g, TG_INTERNAL, "earlier");
    int n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_train_momentum_optimizer_new(g, 0.1, 0.9, NULL));
    tg_tensor *wl = tg_reduce_sum(g, tg_variable_value(u), NULL);
    ck_assert_ptr_null(tg_optimizer_minimize(opt, wl, NULL));
    ck_assert_ptr_null(tg_train_exponential_decay(g, 0.1, c, 1, 0.5, false, NULL));
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    ck_assert_str_eq(tg_graph_message(g), "earlier");
    tg_optimizer_free(opt);
    tg_optimizer_free(NULL);
    tg_graph_free(g);
}
END_TEST

/* ---- constraints, control dependencies --------------------------------------------------------------- */

static tg_tensor *halve(tg_graph *g, tg_tensor *value, const void *params)
{
    (void)params;
    return tg_multiply(g, value, tg_constant_scalar(g, TG_FLOAT32, 0.5, NULL), NULL);
}

START_TEST(test_constraint_after_update)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_constant_initializer(1), .constraint = {.fn = halve});
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), &vo);
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){2, -2}, "x");
    tg_tensor *loss = tg_reduce_sum(g, tg_multiply(g, x, tg_variable_value(w), NULL), NULL);
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.25, NULL);
    tg_op *train = tg_optimizer_minimize(opt, loss, NULL);
    ck_assert_tg_ok(g);
    tg_op *assign = tg_graph_op(g, "GradientDescent/update_w/Assign");
    ck_assert_ptr_nonnull(assign);
    ck_assert_ptr_eq(tg_op_control_input(train, 0), assign);
    tg_session *s = start(g, NULL, 0);
    tgc_run_target(s, train);
    /* (1 - 0.25 * 2) / 2 and (1 + 0.25 * 2) / 2: halved after the update */
    check_var(s, w, (float[]){0.25f, 0.75f}, 2, 1e-7);
    tgc_run_target(s, train);
    check_var(s, w, (float[]){(0.25f - 0.5f) / 2, (0.75f + 0.5f) / 2}, 2, 1e-7);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}
END_TEST

/* minimize inside control_dependencies([bump, set_lr]): the train op runs
 * them first. set_lr sets the learning rate variable that the update reads,
 * so the update sees 0.5 only if it runs after it. */
START_TEST(test_minimize_in_control_dependencies)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, zeros, .initializer = tg_zeros_initializer(), .trainable = false);
    tg_variable *counter = tg_get_variable(g, "counter", TG_FLOAT32, TG_SCALAR, &zeros);
    tg_variable *lr = tg_get_variable(g, "lr", TG_FLOAT32, TG_SCALAR, &zeros);
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_ones_initializer());
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &vo);
    tg_tensor *loss = tg_multiply(g, tg_variable_value(w), tg_constant_scalar(g, TG_FLOAT32, 3, NULL), "loss");
    tg_op *deps[2];
    deps[0] = tg_tensor_op(tg_assign_add(g, tg_variable_ref(counter), tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "bump"));
    deps[1] = tg_tensor_op(tg_assign(g, tg_variable_ref(lr), tg_constant_scalar(g, TG_FLOAT32, 0.5, NULL), "set_lr"));
    tg_optimizer *opt = tg_train_momentum_optimizer_new(g, 0, 0.0, &(tg_train_momentum_opts){.learning_rate_t = tg_variable_value(lr)});
    tg_op *train = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, deps, 2) { train = tg_optimizer_minimize(opt, loss, NULL); }
    ck_assert_tg_ok(g);
    /* the slot's initializer stays outside the block */
    ck_assert_int_eq(tg_op_num_control_inputs(tg_variable_initializer(tg_optimizer_get_slot(opt, w, "momentum"))), 0);
    tg_session *s = start(g, NULL, 0);
    tgc_run_target(s, train);
    ck_assert_int_eq(tg_session_op_run_count(s, deps[0]), 1);
    ck_assert_int_eq(tg_session_op_run_count(s, deps[1]), 1);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(counter)), 1, 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(w)), 1 - 0.5 * 3, 1e-7);
    tgc_run_target(s, train);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(counter)), 2, 0);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}
END_TEST

/* ---- the fused update ops on their own (tf.raw_ops.Apply*) ---------------------------------------------- */

enum { OP_GD, OP_MOMENTUM, OP_NESTEROV, OP_RMSPROP, OP_CENTERED, OP_ADAGRAD, N_APPLY };
static const char *const APPLY_TYPE[N_APPLY] = {"ApplyGradientDescent", "ApplyMomentum", "ApplyMomentum",
                                                "ApplyRMSProp", "ApplyCenteredRMSProp", "ApplyAdagrad"};
static const int APPLY_SLOTS[N_APPLY] = {0, 1, 1, 2, 3, 1};
/* TF's names of the learning rate and the gradient inputs, for the messages */
static const char *const APPLY_LR[N_APPLY] = {"alpha", "lr", "lr", "lr", "lr", "lr"};
static const char *const APPLY_GRAD[N_APPLY] = {"delta", "grad", "grad", "grad", "grad", "grad"};

/* Op k on var with its slots (in TF's input order); h: lr, then momentum
 * (ApplyMomentum) or rho, momentum, epsilon (the RMSProps). */
static tg_tensor *build_apply(tg_graph *g, int k, tg_tensor *var, tg_tensor *const *slot, tg_tensor *const *h,
                              tg_tensor *grad, const char *name)
{
    switch (k) {
    case OP_GD:
        return tg_raw_ops_apply_gradient_descent(g, var, h[0], grad, name);
    case OP_MOMENTUM:
    case OP_NESTEROV:
        return tg_raw_ops_apply_momentum(g, var, slot[0], h[0], grad, h[1], k == OP_NESTEROV, name);
    case OP_RMSPROP:
        return tg_raw_ops_apply_rms_prop(g, var, slot[0], slot[1], h[0], h[1], h[2], h[3], grad, name);
    case OP_CENTERED:
        return tg_raw_ops_apply_centered_rms_prop(g, var, slot[0], slot[1], slot[2], h[0], h[1], h[2], h[3], grad,
                                                  name);
    default:
        return tg_raw_ops_apply_adagrad(g, var, slot[0], h[0], grad, name);
    }
}

/* The scalars of op k: lr 0.1; momentum 0.9 or rho 0.9, momentum 0.5,
 * epsilon 1e-3. */
static void apply_scalars(tg_graph *g, int k, tg_dtype dt, tg_tensor **h)
{
    h[0] = tg_constant_scalar(g, dt, 0.1, NULL);
    h[1] = tg_constant_scalar(g, dt, 0.9, NULL);
    h[2] = tg_constant_scalar(g, dt, k == OP_MOMENTUM || k == OP_NESTEROV ? 0.9 : 0.5, NULL);
    h[3] = tg_constant_scalar(g, dt, 1e-3, NULL);
}

/* One element of op k's update, written from TF's documentation of the op:
 * w and the slots s (in the op's input order) are updated in place. */
static void apply_by_hand(int k, double g, double *w, double *s)
{
    const double lr = 0.1, mom = 0.9, rho = 0.9, rms_mom = 0.5, eps = 1e-3;
    switch (k) {
    case OP_GD:
        *w = *w - lr * g;
        break;
    case OP_MOMENTUM:
        s[0] = mom * s[0] + g;
        *w = *w - lr * s[0];
        break;
    case OP_NESTEROV:
        s[0] = mom * s[0] + g;
        *w = *w - lr * (g + mom * s[0]);
        break;
    case OP_RMSPROP:
        s[0] = rho * s[0] + (1 - rho) * g * g;
        s[1] = rms_mom * s[1] + lr * g / sqrt(s[0] + eps);
        *w = *w - s[1];
        break;
    case OP_CENTERED: /* mg, ms, mom */
        s[1] = rho * s[1] + (1 - rho) * g * g;
        s[0] = rho * s[0] + (1 - rho) * g;
        s[2] = rms_mom * s[2] + lr * g / sqrt(s[1] - s[0] * s[0] + eps);
        *w = *w - s[2];
        break;
    default:
        s[0] = s[0] + g * g;
        *w = *w - lr * g / sqrt(s[0]);
        break;
    }
}

/* One float64 step of each op against the formula, with slots that do not
 * start at zero, and the op's type and default name. */
START_TEST(test_apply_ops)
{
    const int k = _i;
    static const double g0[3] = {0.5, -1, 2}, w0[3] = {1, -2, 0.5};
    static const double s0[3][3] = {{0.3, 0.2, 0.1}, {0.5, 0.4, 1.0}, {0.05, 0, -0.3}};
    tg_graph *g = tg_graph_new();
    tg_variable *w = vec3(g, "w"), *sv[3] = {NULL, NULL, NULL};
    tg_op *sets[4] = {set3(g, w, w0)};
    tg_tensor *slot[3] = {NULL, NULL, NULL}, *h[4];
    for (int j = 0; j < APPLY_SLOTS[k]; j++) {
        sv[j] = vec3(g, (const char *[]){"s0", "s1", "s2"}[j]);
        sets[j + 1] = set3(g, sv[j], s0[j]);
        slot[j] = tg_variable_ref(sv[j]);
    }
    apply_scalars(g, k, TG_FLOAT64, h);
    tg_tensor *grad = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), g0, NULL);
    tg_tensor *out = build_apply(g, k, tg_variable_ref(w), slot, h, grad, NULL);
    tg_tensor *named = build_apply(g, k, tg_variable_ref(w), slot, h, grad, "step");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_type(tg_tensor_op(out)), APPLY_TYPE[k]);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(out)), APPLY_TYPE[k]);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(named)), "step");
    ck_assert_int_eq(tg_tensor_dtype(out), TG_FLOAT64);
    tg_shape os = tg_tensor_shape(out);
    ck_assert_shape_eq(os, TG_SHAPE(3));
    tg_session *s = tg_session_new(g);
    for (int j = 0; j <= APPLY_SLOTS[k]; j++) tgc_run_target(s, sets[j]);
    tg_array *r = tgc_fetch(s, out, NULL, 0);
    double want_w[3], want_s[3][3];
    for (int i = 0; i < 3; i++) {
        double si[3] = {s0[0][i], s0[1][i], s0[2][i]};
        want_w[i] = w0[i];
        apply_by_hand(k, g0[i], &want_w[i], si);
        for (int j = 0; j < 3; j++) want_s[j][i] = si[j];
        ck_assert_close(tg_array_get(r, i), want_w[i], 1e-14);
    }
    tg_array_free(r);
    /* the op wrote the variable and its slots in place */
    r = tgc_fetch(s, tg_variable_value(w), NULL, 0);
    for (int i = 0; i < 3; i++) ck_assert_close(tg_array_get(r, i), want_w[i], 1e-14);
    tg_array_free(r);
    for (int j = 0; j < APPLY_SLOTS[k]; j++) {
        r = tgc_fetch(s, tg_variable_value(sv[j]), NULL, 0);
        for (int i = 0; i < 3; i++) ck_assert_close(tg_array_get(r, i), want_s[j][i], 1e-14);
        tg_array_free(r);
    }
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* The same op on float32 with shapes only known at run time: the kernel's
 * own checks, and an uninitialized slot. */
START_TEST(test_apply_ops_run_time_errors)
{
    const int k = _i;
    tg_graph *g = tg_graph_new();
    tg_variable *w = tg_variable_new(g, "w", TG_FLOAT32, TG_SHAPE(3), NULL);
    tg_op *set = tg_tensor_op(
        tg_assign(g, tg_variable_ref(w), tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){1, 2, 3}, NULL), NULL));
    tg_tensor *slot[3] = {NULL, NULL, NULL}, *h[4];
    tg_variable *late[3];
    for (int j = 0; j < APPLY_SLOTS[k]; j++) {
        late[j] = tg_variable_new(g, j == 0 ? "late" : j == 1 ? "late1" : "late2", TG_FLOAT32, TG_SHAPE(3), NULL);
        slot[j] = tg_variable_ref(late[j]);
    }
    apply_scalars(g, k, TG_FLOAT32, h);
    tg_tensor *grad = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "grad");
    tg_tensor *lr = tg_placeholder(g, TG_FLOAT32, TG_SHAPE_UNKNOWN, "lr");
    h[0] = lr;
    tg_tensor *out = build_apply(g, k, tg_variable_ref(w), slot, h, grad, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, set);
    tg_array *g2 = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){2}, (float[]){1, 2});
    tg_array *g3 = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){3}, (float[]){1, 2, 3});
    tg_array *lr1 = tg_array_scalar_f32(0.1f);
    tg_array *lr2 = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){2}, (float[]){1, 2});
    tg_array *o = NULL;
    char want[96];
    if (APPLY_SLOTS[k] > 0) {
        /* TF's message for a slot never initialized */
        tg_feed f[2] = {{grad, g3}, {lr, lr1}};
        ck_assert_int_eq(tg_session_run(s, f, 2, &out, 1, &o, NULL, 0), TG_FAILED_PRECONDITION);
        ck_assert_str_contains(tg_session_message(s), "Attempting to use uninitialized value late");
        for (int j = 0; j < APPLY_SLOTS[k]; j++)
            tgc_run_target(s, tg_variable_initializer(late[j]));
    }
    tg_feed f[2] = {{grad, g2}, {lr, lr1}};
    ck_assert_int_eq(tg_session_run(s, f, 2, &out, 1, &o, NULL, 0), TG_INVALID_ARGUMENT);
    snprintf(want, sizeof want, "var and %s do not have the same shape: (3,) and (2,)", APPLY_GRAD[k]);
    ck_assert_str_contains(tg_session_message(s), want);
    f[0].value = g3;
    f[1].value = lr2;
    ck_assert_int_eq(tg_session_run(s, f, 2, &out, 1, &o, NULL, 0), TG_INVALID_ARGUMENT);
    snprintf(want, sizeof want, "%s is not a scalar", APPLY_LR[k]);
    ck_assert_str_contains(tg_session_message(s), want);
    /* the failed runs changed nothing */
    check_var(s, w, (float[]){1, 2, 3}, 3, 0);
    f[1].value = lr1;
    ck_assert_int_eq(tg_session_run(s, f, 2, &out, 1, &o, NULL, 0), TG_OK);
    ck_assert_int_eq(tg_array_size(o), 3);
    tg_array_free(o);
    tg_array_free(g2);
    tg_array_free(g3);
    tg_array_free(lr1);
    tg_array_free(lr2);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* The argument checks of each op, each naming the op and the input and
 * leaving nothing behind. */
START_TEST(test_apply_ops_errors)
{
    const int k = _i;
    enum { E_VAR_NOT_REF, E_SLOT_NOT_REF, E_GRAD_SHAPE, E_SLOT_SHAPE, E_LR_DTYPE, E_GRAD_DTYPE, E_LR_SHAPE,
           E_INT_VAR, N_ERR };
    for (int e = 0; e < N_ERR; e++) {
        if ((e == E_SLOT_NOT_REF || e == E_SLOT_SHAPE) && APPLY_SLOTS[k] == 0) continue;
        tg_graph *g = tg_graph_new();
        tg_dtype dt = e == E_INT_VAR ? TG_INT32 : TG_FLOAT64;
        tg_variable *w = tg_variable_new(g, "w", dt, TG_SHAPE(3), NULL);
        tg_variable *other = tg_variable_new(g, "other", TG_FLOAT64, TG_SHAPE(2), NULL);
        tg_tensor *slot[3], *h[4];
        tg_variable *sv[3];
        for (int j = 0; j < 3; j++) {
            sv[j] = tg_variable_new(g, j == 0 ? "a" : j == 1 ? "b" : "c", dt, TG_SHAPE(3), NULL);
            slot[j] = tg_variable_ref(sv[j]);
        }
        apply_scalars(g, k, dt, h);
        tg_tensor *grad = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), (double[]){1, 2, 3}, "g");
        if (dt == TG_INT32) grad = tg_constant_data(g, TG_INT32, TG_SHAPE(3), (int32_t[]){1, 2, 3}, "gi");
        tg_tensor *var = tg_variable_ref(w);
        const char *want = NULL;
        char buf[128];
        const char *slot0 = k == OP_CENTERED ? "mg" : k == OP_RMSPROP ? "ms" : "accum";
        switch (e) {
        case E_VAR_NOT_REF:
            var = tg_variable_value(w);
            want = "var 'w/read:0' is not a variable reference";
            break;
        case E_SLOT_NOT_REF:
            slot[0] = tg_variable_value(sv[0]);
            snprintf(buf, sizeof buf, "%s 'a/read:0' is not a variable reference", slot0);
            want = buf;
            break;
        case E_GRAD_SHAPE:
            grad = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), (double[]){1, 2}, "g2");
            snprintf(buf, sizeof buf, "var and %s do not have the same shape: (3,) and (2,)", APPLY_GRAD[k]);
            want = buf;
            break;
        case E_SLOT_SHAPE:
            slot[0] = tg_variable_ref(other);
            snprintf(buf, sizeof buf, "var and %s do not have the same shape: (3,) and (2,)", slot0);
            want = buf;
            break;
        case E_LR_DTYPE:
            h[0] = tg_constant_scalar(g, TG_FLOAT32, 0.1, NULL);
            snprintf(buf, sizeof buf, "%s has dtype float32, var has float64", APPLY_LR[k]);
            want = buf;
            break;
        case E_GRAD_DTYPE:
            grad = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){1, 2, 3}, "g32");
            snprintf(buf, sizeof buf, "%s has dtype float32, var has float64", APPLY_GRAD[k]);
            want = buf;
            break;
        case E_LR_SHAPE:
            h[0] = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), (double[]){1, 2}, NULL);
            snprintf(buf, sizeof buf, "%s is not a scalar: (2,)", APPLY_LR[k]);
            want = buf;
            break;
        default:
            want = "var must be float32 or float64, not int32";
            break;
        }
        ck_assert_tg_ok(g);
        int n_ops = tg_graph_num_ops(g);
        ck_assert_ptr_null(build_apply(g, k, var, slot, h, grad, "bad"));
        ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
        ck_assert_str_contains(tg_graph_message(g), "bad");
        ck_assert_str_contains(tg_graph_message(g), want);
        ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
        tg_graph_free(g);
    }
    /* a NULL input (an earlier builder failed) and a graph in error: NULL, nothing added */
    tg_graph *g = tg_graph_new();
    tg_variable *w = vec3(g, "w");
    tg_tensor *slot[3] = {tg_variable_ref(vec3(g, "a")), tg_variable_ref(vec3(g, "b")), tg_variable_ref(vec3(g, "c"))};
    tg_tensor *h[4];
    apply_scalars(g, k, TG_FLOAT64, h);
    int n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(build_apply(g, k, tg_variable_ref(w), slot, h, NULL, NULL));
    ck_assert_tg_ok(g);
    ck_assert_ptr_null(build_apply(NULL, k, tg_variable_ref(w), slot, h, NULL, NULL));
    tg_graph_fail(g, TG_INTERNAL, "earlier");
    tg_tensor *grad = tg_variable_value(w);
    ck_assert_ptr_null(build_apply(g, k, tg_variable_ref(w), slot, h, grad, NULL));
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    ck_assert_str_eq(tg_graph_message(g), "earlier");
    tg_graph_free(g);
}
END_TEST

/* ---- the optimizers' fused updates equal the composition they replace -------------------------------------- */

/* The update as tgraph composed it from public ops before the fused ops,
 * with TF's arithmetic in the kernel's order; slots in TF's input order. */
static tg_tensor *composite_update(tg_graph *g, int k, tg_variable *w, tg_variable *const *sv, tg_tensor *grad)
{
    tg_tensor *lr = tg_constant_scalar(g, TG_FLOAT32, k == OP_ADAGRAD ? 0.5 : 0.01, NULL);
    tg_tensor *mom = tg_constant_scalar(g, TG_FLOAT32, 0.9, NULL);
    tg_tensor *delta = NULL;
    switch (k) {
    case OP_GD:
        delta = tg_multiply(g, grad, lr, NULL);
        break;
    case OP_MOMENTUM:
    case OP_NESTEROV: {
        tg_tensor *a = tg_assign(g, tg_variable_ref(sv[0]),
                                 tg_add(g, tg_multiply(g, tg_variable_value(sv[0]), mom, NULL), grad, NULL), NULL);
        delta = k == OP_NESTEROV ? tg_add(g, tg_multiply(g, grad, lr, NULL),
                                          tg_multiply(g, tg_multiply(g, a, mom, NULL), lr, NULL), NULL)
                                 : tg_multiply(g, a, lr, NULL);
        break;
    }
    case OP_RMSPROP:
    case OP_CENTERED: {
        bool c = k == OP_CENTERED;
        tg_variable *ms = sv[c], *mo = sv[c + 1];
        tg_tensor *one_minus_rho = tg_subtract(g, tg_constant_scalar(g, TG_FLOAT32, 1, NULL),
                                               tg_constant_scalar(g, TG_FLOAT32, 0.9, NULL), NULL);
        tg_tensor *eps = tg_constant_scalar(g, TG_FLOAT32, 1e-3, NULL);
        tg_tensor *ms_t = tg_assign_add(
            g, tg_variable_ref(ms),
            tg_multiply(g, tg_subtract(g, tg_square(g, grad, NULL), tg_variable_value(ms), NULL), one_minus_rho, NULL),
            NULL);
        tg_tensor *denom = tg_add(g, ms_t, eps, NULL);
        if (c) {
            tg_tensor *mg_t = tg_assign_add(
                g, tg_variable_ref(sv[0]),
                tg_multiply(g, tg_subtract(g, grad, tg_variable_value(sv[0]), NULL), one_minus_rho, NULL), NULL);
            denom = tg_add(g, tg_subtract(g, ms_t, tg_square(g, mg_t, NULL), NULL), eps, NULL);
        }
        tg_tensor *rms_mom = tg_constant_scalar(g, TG_FLOAT32, 0.5, NULL);
        delta = tg_assign(g, tg_variable_ref(mo),
                          tg_add(g, tg_multiply(g, tg_variable_value(mo), rms_mom, NULL),
                                 tg_divide(g, tg_multiply(g, grad, lr, NULL), tg_sqrt(g, denom, NULL), NULL), NULL),
                          NULL);
        break;
    }
    default: {
        tg_tensor *a = tg_assign_add(g, tg_variable_ref(sv[0]), tg_square(g, grad, NULL), NULL);
        delta = tg_multiply(g, tg_multiply(g, grad, lr, NULL), tg_rsqrt(g, a, NULL), NULL);
        break;
    }
    }
    return tg_assign_sub(g, tg_variable_ref(w), delta, NULL);
}

static tg_optimizer *fused_optimizer(tg_graph *g, int k)
{
    switch (k) {
    case OP_GD:
        return tg_train_gradient_descent_optimizer_new(g, 0.01, NULL);
    case OP_MOMENTUM:
    case OP_NESTEROV:
        return tg_train_momentum_optimizer_new(g, 0.01, 0.9,
                                               &(tg_train_momentum_opts){.use_nesterov = k == OP_NESTEROV});
    case OP_RMSPROP:
    case OP_CENTERED: {
        TG_OPTS(tg_train_rmsprop_opts, ro, .momentum = 0.5, .epsilon = 1e-3, .centered = k == OP_CENTERED);
        return tg_train_rmsprop_optimizer_new(g, 0.01, &ro);
    }
    default:
        return tg_train_adagrad_optimizer_new(g, 0.5, NULL);
    }
}

/* Asserts that variables a and b hold the same bits. */
static void check_same(tg_session *s, tg_variable *a, tg_variable *b)
{
    tg_array *x = tgc_fetch(s, tg_variable_value(a), NULL, 0), *y = tgc_fetch(s, tg_variable_value(b), NULL, 0);
    int64_t n = tg_array_size(x), bad = -1;
    ck_assert_int_eq(tg_array_size(y), n);
    for (int64_t i = 0; i < n && bad < 0; i++)
        if (tg_array_get(x, i) != tg_array_get(y, i)) bad = i;
    ck_assert_msg(bad < 0, "%s[%lld] = %.9g, %s has %.9g", tg_variable_name(a), (long long)bad,
                  bad < 0 ? 0 : tg_array_get(x, bad), tg_variable_name(b), bad < 0 ? 0 : tg_array_get(y, bad));
    tg_array_free(x);
    tg_array_free(y);
}

/* Three steps of each optimizer on weights of varied sizes, bit for bit
 * against the old composition on a copy of the variable and its slots, on
 * three intra-op threads with enough weights for the kernel to split them;
 * and the update op's name and type. */
START_TEST(test_fused_equals_composite)
{
    enum { N = 40000 };
    const int k = _i;
    static const char *const opt_name[N_APPLY] = {"GradientDescent", "Momentum", "Momentum",
                                                  "RMSProp",         "RMSProp",  "Adagrad"};
    static const char *const slot_name[N_APPLY][3] = {
        {NULL}, {"momentum"}, {"momentum"}, {"rms", "momentum"}, {"mg", "rms", "momentum"}, {"accumulator"}};
    float *w0 = malloc(N * sizeof *w0), *gr = malloc(N * sizeof *gr);
    ck_assert(w0 && gr);
    for (int i = 0; i < N; i++) w0[i] = (float)(sin(i * 1.7) * pow(10, i % 5 - 2));
    tg_graph *g = tg_graph_new();
    tg_op *set[2];
    tg_variable *w = fvar(g, "w", TG_SHAPE(N), w0, &set[0]);
    tg_variable *wc = fvar(g, "wc", TG_SHAPE(N), w0, &set[1]);
    tg_tensor *grad = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N), "grad");
    tg_optimizer *opt = fused_optimizer(g, k);
    tg_op *train = tg_optimizer_apply_gradients(opt, &grad, &w, 1, NULL, NULL);
    ck_assert_tg_ok(g);
    char name[64];
    snprintf(name, sizeof name, "%s/update_w/%s", opt_name[k], APPLY_TYPE[k]);
    tg_op *upd = tg_graph_op(g, name);
    ck_assert_msg(upd != NULL, "no %s", name);
    ck_assert_str_eq(tg_op_type(upd), APPLY_TYPE[k]);
    ck_assert_ptr_eq(tg_op_control_input(train, 0), upd);
    /* the copies of the slots start as the optimizer's do */
    tg_variable *slot[3] = {NULL, NULL, NULL}, *copy[3] = {NULL, NULL, NULL};
    for (int j = 0; j < APPLY_SLOTS[k]; j++) {
        slot[j] = tg_optimizer_get_slot(opt, w, slot_name[k][j]);
        ck_assert_ptr_nonnull(slot[j]);
        TG_OPTS(tg_get_variable_opts, vo, .initial_value = tg_variable_initial_value(slot[j]));
        copy[j] = tg_variable_new(g, (const char *[]){"copy0", "copy1", "copy2"}[j], TG_FLOAT32, TG_SHAPE(N), &vo);
    }
    tg_op *composite = tg_tensor_op(composite_update(g, k, wc, copy, grad));
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    TG_OPTS(tg_session_options, so, .intra_op_parallelism_threads = 3);
    tg_session *s = tg_session_new_opts(g, &so);
    ck_assert_ptr_nonnull(s);
    tgc_run_target(s, init);
    tgc_run_target(s, set[0]);
    tgc_run_target(s, set[1]);
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < N; i++) gr[i] = (float)(cos(i * 0.9 + step) * pow(10, (i + step) % 4 - 1.5));
        run_fed(s, train, grad, gr, N);
        run_fed(s, composite, grad, gr, N);
        check_same(s, w, wc);
        for (int j = 0; j < APPLY_SLOTS[k]; j++) check_same(s, slot[j], copy[j]);
    }
    ck_assert(tgc_fetch_scalar(s, tg_variable_value(w)) != w0[0]);
    tg_session_free(s);
    tg_graph_free(g);
    free(w0);
    free(gr);
}
END_TEST

/* ---- the learning rate as a constructor argument (*_new_t) -------------------------------------------------- */

enum { T_GD, T_MOMENTUM, T_ADAM, T_RMSPROP, T_ADAGRAD, N_T };
static const char *const T_FN[N_T] = {
    "tg_train_gradient_descent_optimizer_new_t", "tg_train_momentum_optimizer_new_t", "tg_train_adam_optimizer_new_t",
    "tg_train_rmsprop_optimizer_new_t", "tg_train_adagrad_optimizer_new_t"};
static const char *const T_NAME[N_T] = {"GradientDescent", "Momentum", "Adam", "RMSProp", "Adagrad"};

/* Optimizer k with the rate as a number (as_tensor false) or as the tensor
 * lr_t (*_new_t); from_opts goes into opts' learning_rate_t. */
static tg_optimizer *make_k(tg_graph *g, int k, bool as_tensor, double lr, tg_tensor *lr_t, tg_tensor *from_opts)
{
    switch (k) {
    case T_GD: {
        tg_train_gradient_descent_opts o = {.learning_rate_t = from_opts};
        return as_tensor ? tg_train_gradient_descent_optimizer_new_t(g, lr_t, &o)
                         : tg_train_gradient_descent_optimizer_new(g, lr, &o);
    }
    case T_MOMENTUM: {
        tg_train_momentum_opts o = {.learning_rate_t = from_opts, .use_nesterov = true};
        return as_tensor ? tg_train_momentum_optimizer_new_t(g, lr_t, 0.9, &o)
                         : tg_train_momentum_optimizer_new(g, lr, 0.9, &o);
    }
    case T_ADAM: {
        TG_OPTS(tg_train_adam_opts, o, .learning_rate_t = from_opts, .beta1 = 0.8);
        return as_tensor ? tg_train_adam_optimizer_new_t(g, lr_t, &o) : tg_train_adam_optimizer_new(g, lr, &o);
    }
    case T_RMSPROP: {
        TG_OPTS(tg_train_rmsprop_opts, o, .learning_rate_t = from_opts, .momentum = 0.5, .centered = true);
        return as_tensor ? tg_train_rmsprop_optimizer_new_t(g, lr_t, &o) : tg_train_rmsprop_optimizer_new(g, lr, &o);
    }
    default: {
        TG_OPTS(tg_train_adagrad_opts, o, .learning_rate_t = from_opts, .initial_accumulator_value = 0.2);
        return as_tensor ? tg_train_adagrad_optimizer_new_t(g, lr_t, &o) : tg_train_adagrad_optimizer_new(g, lr, &o);
    }
    }
}

static void run_feeds(tg_session *s, tg_op *op, const tg_feed *f, int n)
{
    tg_code rc = tg_session_run(s, f, n, NULL, 0, NULL, &op, 1);
    ck_assert_msg(rc == TG_OK, "%s", tg_session_message(s));
}

/* Each optimizer with its rate as a fed tensor takes the same steps, bit for
 * bit, as with the number, and makes no learning_rate constant. */
START_TEST(test_rate_tensor_constructors)
{
    const int k = _i;
    tg_graph *g = tg_graph_new();
    tg_op *set[2];
    const float w0[3] = {1, -0.5f, 2};
    tg_variable *wn = fvar(g, "wn", TG_SHAPE(3), w0, &set[0]);
    tg_variable *wt = fvar(g, "wt", TG_SHAPE(3), w0, &set[1]);
    tg_tensor *grad = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3), "grad");
    tg_tensor *lr = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "lr");
    tg_optimizer *on = make_k(g, k, false, 0.05, NULL, NULL);
    tg_optimizer *ot = make_k(g, k, true, 0, lr, NULL);
    tg_op *tn = tg_optimizer_apply_gradients(on, &grad, &wn, 1, NULL, NULL);
    tg_op *tt = tg_optimizer_apply_gradients(ot, &grad, &wt, 1, NULL, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_optimizer_name(ot), T_NAME[k]);
    char name[64];
    snprintf(name, sizeof name, "%s/learning_rate", T_NAME[k]);
    ck_assert_ptr_nonnull(tg_graph_op(g, name));
    snprintf(name, sizeof name, "%s_1/learning_rate", T_NAME[k]);
    ck_assert_ptr_null(tg_graph_op(g, name)); /* the tensor is used as is */
    tg_session *s = start(g, set, 2);
    tg_array *lra = tg_array_scalar_f32(0.05f);
    for (int step = 0; step < 3; step++) {
        float gr[3] = {0.5f + step, 0.25f * step, -1.5f + 0.75f * step};
        tg_array *ga = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){3}, gr);
        tg_feed f[2] = {{grad, ga}, {lr, lra}};
        run_feeds(s, tn, f, 1);
        run_feeds(s, tt, f, 2);
        tg_array_free(ga);
        tg_array *a = tgc_fetch(s, tg_variable_value(wn), NULL, 0);
        float want[3];
        for (int i = 0; i < 3; i++) want[i] = (float)tg_array_get(a, i);
        tg_array_free(a);
        ck_assert(want[0] != w0[0]);
        check_var(s, wt, want, 3, 0);
    }
    tg_array_free(lra);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_rate_tensor_constructor_errors)
{
    const int k = _i;
    char want[160];
    tg_graph *g = tg_graph_new();
    /* a NULL rate: named after the function, nothing added */
    int n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(make_k(g, k, true, 0, NULL, NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    snprintf(want, sizeof want, "%s: learning_rate is NULL", T_FN[k]);
    ck_assert_str_eq(tg_graph_message(g), want);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    tg_graph_clear_status(g);
    /* a rate that is not a float scalar */
    tg_tensor *ir = tg_constant_scalar(g, TG_INT32, 1, "ir");
    ck_assert_ptr_null(make_k(g, k, true, 0, ir, NULL));
    ck_assert_str_contains(tg_graph_message(g), "learning_rate must be a float scalar, got 'ir:0'");
    tg_graph_clear_status(g);
    /* two different rates; the same one twice is fine */
    tg_tensor *a = tg_constant_scalar(g, TG_FLOAT32, 0.1, "a"), *b = tg_constant_scalar(g, TG_FLOAT32, 0.2, "b");
    ck_assert_ptr_null(make_k(g, k, true, 0, a, b));
    snprintf(want, sizeof want, "%s: learning_rate 'a:0' and opts->learning_rate_t 'b:0' differ", T_FN[k]);
    ck_assert_str_eq(tg_graph_message(g), want);
    tg_graph_clear_status(g);
    ck_assert_ptr_nonnull(make_k(g, k, true, 0, a, a));
    ck_assert_tg_ok(g);
    /* a rate of another graph */
    tg_graph *g2 = tg_graph_new();
    ck_assert_ptr_null(make_k(g, k, true, 0, tg_constant_scalar(g2, TG_FLOAT32, 0.1, "o"), NULL));
    ck_assert_str_contains(tg_graph_message(g), "learning_rate tensor 'o:0' is from another graph");
    tg_graph_clear_status(g);
    tg_graph_free(g2);
    /* a NULL graph, and a graph in error: NULL, the first error kept */
    ck_assert_ptr_null(make_k(NULL, k, true, 0, a, NULL));
    tg_graph_fail(g, TG_INTERNAL, "earlier");
    ck_assert_ptr_null(make_k(g, k, true, 0, NULL, NULL));
    ck_assert_ptr_null(make_k(g, k, true, 0, a, NULL));
    ck_assert_str_eq(tg_graph_message(g), "earlier");
    tg_graph_clear_status(g);
    /* options not started from their macro: named after the _t function */
    if (k == T_ADAM) {
        tg_train_adam_opts zero;
        memset(&zero, 0, sizeof zero);
        ck_assert_ptr_null(tg_train_adam_optimizer_new_t(g, a, &zero));
        ck_assert_str_contains(tg_graph_message(g), "tg_train_adam_optimizer_new_t: options not started from");
    }
    tg_graph_free(g);
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *su = suite_create("optim");
    TCase *tc = tcase_create("steps");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_gradient_descent_step);
    tcase_add_test(tc, test_momentum_steps);
    tcase_add_test(tc, test_adam_steps);
    tcase_add_test(tc, test_apply_adam_op);
    tcase_add_test(tc, test_rmsprop_steps);
    tcase_add_test(tc, test_adagrad_steps);
    tcase_add_test(tc, test_float64_variable);
    suite_add_tcase(su, tc);
    tc = tcase_create("fused");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_loop_test(tc, test_apply_ops, 0, N_APPLY);
    tcase_add_loop_test(tc, test_apply_ops_run_time_errors, 0, N_APPLY);
    tcase_add_loop_test(tc, test_apply_ops_errors, 0, N_APPLY);
    tcase_add_loop_test(tc, test_fused_equals_composite, 0, N_APPLY);
    suite_add_tcase(su, tc);
    tc = tcase_create("graph");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_names_and_slot_reuse);
    tcase_add_test(tc, test_global_step_increment);
    tcase_add_test(tc, test_variables_without_gradient_skipped);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_constraint_after_update);
    tcase_add_test(tc, test_minimize_in_control_dependencies);
    suite_add_tcase(su, tc);
    tc = tcase_create("schedules");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_learning_rate_tensor);
    tcase_add_loop_test(tc, test_rate_tensor_constructors, 0, N_T);
    tcase_add_loop_test(tc, test_rate_tensor_constructor_errors, 0, N_T);
    tcase_add_test(tc, test_exponential_decay);
    tcase_add_test(tc, test_piecewise_constant);
    tcase_add_test(tc, test_schedule_drives_optimizer);
    suite_add_tcase(su, tc);
    tc = tcase_create("training");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_loop_test(tc, test_linear_regression_converges, 0, (int)(sizeof makers / sizeof *makers));
    tcase_add_test(tc, test_mlp_learns_xor);
    suite_add_tcase(su, tc);
    return su;
}

TGC_MAIN(optim_suite)
