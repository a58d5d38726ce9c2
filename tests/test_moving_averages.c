/* test_moving_averages.c: assign_moving_average (plain and zero-debiased,
 * decay as a number and as a tensor; the options variant with its
 * defaults, a run-time condition and the debias variables' collections),
 * weighted_moving_average and tf.train.ExponentialMovingAverage (variables
 * and tensors, num_updates, zero_debias, control dependencies, applying
 * twice, average and average_name). Values after several updates are computed here by hand in
 * the variable's dtype, in TF's order of operations; names, collections and
 * errors are TF 1.15's. */
#include "tg_check.h"

/* A float32 variable (get_variable, zeros) and the op setting it to `data`. */
static tg_variable *fvar(tg_graph *g, const char *name, tg_shape shape, const float *data, tg_op **set)
{
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer());
    tg_variable *v = tg_get_variable(g, name, TG_FLOAT32, shape, &vo);
    *set = tg_tensor_op(tg_assign(g, tg_variable_ref(v), tg_constant_data(g, TG_FLOAT32, shape, data, NULL), NULL));
    return v;
}

/* A session with every variable initialized. */
static tg_session *start(tg_graph *g)
{
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    ck_assert_ptr_nonnull(s);
    tgc_run_target(s, init);
    return s;
}

/* Runs `op` feeding the float32 placeholder p (shape (n,), or a scalar when
 * n == 0) with v. */
static void run_fed(tg_session *s, tg_op *op, tg_tensor *p, const float *v, int64_t n)
{
    tg_array *a = n ? tg_array_new_from(TG_FLOAT32, 1, &n, v) : tg_array_scalar_f32(v[0]);
    tg_feed f = {p, a};
    tg_code rc = tg_session_run(s, &f, 1, NULL, 0, NULL, &op, 1);
    ck_assert_msg(rc == TG_OK, "%s", tg_session_message(s));
    tg_array_free(a);
}

static void check_var(tg_session *s, tg_variable *v, const double *want, int n, double tol)
{
    tg_array *a = tgc_fetch(s, tg_variable_value(v), NULL, 0);
    ck_assert_int_eq(tg_array_size(a), n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabs(tg_array_get(a, i) - want[i]) <= tol, "%s[%d] = %.9g, want %.9g", tg_variable_name(v), i,
                      tg_array_get(a, i), want[i]);
    tg_array_free(a);
}

/* float32 values computed here: within a few ulps (pow may round apart). */
static void check_varf(tg_session *s, tg_variable *v, const float *want, int n)
{
    tg_array *a = tgc_fetch(s, tg_variable_value(v), NULL, 0);
    ck_assert_int_eq(tg_array_size(a), n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabs(tg_array_get(a, i) - want[i]) <= 1e-6 * (1 + fabs(want[i])), "%s[%d] = %.9g, want %.9g",
                      tg_variable_name(v), i, tg_array_get(a, i), (double)want[i]);
    tg_array_free(a);
}

static int count_in(tg_graph *g, const char *key, tg_variable *v)
{
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(g, key, NULL, &vars), found = 0;
    for (int i = 0; i < n; i++) found += vars[i] == v;
    tg_free(vars);
    return found;
}

static int collection_size(tg_graph *g, const char *key)
{
    tg_item *items = NULL;
    int n = tg_get_collection(g, key, NULL, &items);
    tg_free(items);
    return n;
}

/* A global variable by name (tf.Variables are not in the store). */
static tg_variable *find_global(tg_graph *g, const char *name)
{
    tg_variable **vars = NULL, *found = NULL;
    int n = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vars);
    for (int i = 0; i < n && !found; i++)
        if (strcmp(tg_variable_name(vars[i]), name) == 0) found = vars[i];
    tg_free(vars);
    return found;
}

/* A helper variable: named `name`, not trainable, in GLOBAL_VARIABLES only. */
static void check_helper(tg_graph *g, tg_variable *v, const char *name, tg_dtype dtype, tg_shape shape)
{
    ck_assert_msg(v != NULL, "no variable %s", name);
    ck_assert_str_eq(tg_variable_name(v), name);
    ck_assert_int_eq(tg_variable_dtype(v), dtype);
    ck_assert_shape_eq(tg_variable_shape(v), shape);
    ck_assert(!tg_variable_trainable(v));
    ck_assert_int_eq(count_in(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, v), 1);
    ck_assert_int_eq(count_in(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, v), 0);
    ck_assert_int_eq(count_in(g, TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES, v), 0);
}

/* The number of ops of type `type`. */
static int count_ops(tg_graph *g, const char *type)
{
    int n = 0;
    for (int i = 0, m = tg_graph_num_ops(g); i < m; i++) n += strcmp(tg_op_type(tg_graph_op_at(g, i)), type) == 0;
    return n;
}

static void check_op(tg_graph *g, const char *name, const char *type)
{
    tg_op *op = tg_graph_op(g, name);
    ck_assert_msg(op != NULL, "no op %s", name);
    ck_assert_str_eq(tg_op_type(op), type);
}

/* ---- assign_moving_average ----------------------------------------------------------- */

START_TEST(test_amv_plain)
{
    tg_graph *g = tg_graph_new();
    tg_op *set;
    tg_variable *v = fvar(g, "v", TG_SHAPE(2), (float[]){1, 2}, &set);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "x");
    tg_tensor *up = tg_train_assign_moving_average(g, v, x, 0.9, false, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(up)), "AssignMovingAvg");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(up)), "AssignSub");
    check_op(g, "AssignMovingAvg/decay", "Const");
    check_op(g, "AssignMovingAvg/sub", "Sub");
    check_op(g, "AssignMovingAvg/mul", "Mul");
    ck_assert_ptr_null(tg_graph_op(g, "AssignMovingAvg/Cast"));
    /* a second call gets its own scope; a name replaces the default */
    tg_tensor *up2 = tg_train_assign_moving_average(g, v, x, 0.5, false, NULL);
    tg_tensor *up3 = tg_train_assign_moving_average(g, v, x, 0.5, false, "my_avg");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(up2)), "AssignMovingAvg_1");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(up3)), "my_avg");
    /* no variable besides v: zero_debias is off */
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 1);

    tg_session *s = start(g);
    tgc_run_target(s, set);
    static const float xs[3][2] = {{3, 4}, {-1, 0.5f}, {10, -8}};
    float d = (float)(1.0 - 0.9), w[2] = {1, 2};
    for (int step = 0; step < 3; step++) {
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){2}, xs[step]), *out = NULL;
        tg_feed f = {x, xa};
        ck_assert_int_eq(tg_session_run(s, &f, 1, &up, 1, &out, NULL, 0), TG_OK);
        for (int i = 0; i < 2; i++) w[i] -= (w[i] - xs[step][i]) * d;
        for (int i = 0; i < 2; i++) ck_assert_close(tg_array_get(out, i), w[i], 1e-6); /* the new value */
        check_varf(s, v, w, 2);
        tg_array_free(out);
        tg_array_free(xa);
    }
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* decay as a tensor: "sub" holds 1.0 - decay; a float64 variable gets a Cast. */
START_TEST(test_amv_decay_tensor)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_constant_initializer(4));
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT64, TG_SCALAR, &vo);
    tg_tensor *decay = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "decay");
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT64, 1, "x");
    tg_tensor *up = tg_train_assign_moving_average_t(g, v, x, decay, false, NULL);
    ck_assert_tg_ok(g);
    check_op(g, "AssignMovingAvg/sub/x", "Const");
    check_op(g, "AssignMovingAvg/sub", "Sub");   /* 1.0 - decay */
    check_op(g, "AssignMovingAvg/Cast", "Cast"); /* to float64 */
    check_op(g, "AssignMovingAvg/sub_1", "Sub"); /* v - value */
    ck_assert_ptr_null(tg_graph_op(g, "AssignMovingAvg/decay"));
    ck_assert_int_eq(tg_tensor_dtype(up), TG_FLOAT64);

    tg_session *s = start(g);
    static const float decays[3] = {0.5f, 0.8f, 0.0f};
    double w = 4;
    for (int step = 0; step < 3; step++) {
        run_fed(s, tg_tensor_op(up), decay, &decays[step], 0);
        double d = (double)(1.0f - decays[step]); /* computed in float32, then cast */
        w -= (w - 1) * d;
        check_var(s, v, &w, 1, 1e-12);
    }
    ck_assert_close(w, 1, 1e-12); /* decay 0 takes the value */
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_amv_zero_debias)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = NULL;
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "x"), *up = NULL, *up2 = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "outer", NULL)
    {
        TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer());
        v = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2), &vo);
        up = tg_train_assign_moving_average(g, v, x, 0.9, true, NULL);
        up2 = tg_train_assign_moving_average(g, v, x, 0.5, true, NULL);
    }
    ck_assert_tg_ok(g);
    /* variable_scope(<v's name>) nested in the current variable scope */
    tg_variable *biased = tg_graph_variable(g, "outer/outer/v/biased");
    tg_variable *step = tg_graph_variable(g, "outer/outer/v/local_step");
    check_helper(g, biased, "outer/outer/v/biased", TG_FLOAT32, TG_SHAPE(2));
    check_helper(g, step, "outer/outer/v/local_step", TG_FLOAT32, TG_SCALAR);
    /* a second call in the same scope gets its own pair */
    tg_variable *biased1 = tg_graph_variable(g, "outer/outer/v/biased_1");
    check_helper(g, biased1, "outer/outer/v/biased_1", TG_FLOAT32, TG_SHAPE(2));
    check_helper(g, tg_graph_variable(g, "outer/outer/v/local_step_1"), "outer/outer/v/local_step_1", TG_FLOAT32,
                 TG_SCALAR);
    /* op layout of _zero_debias */
    ck_assert_str_eq(tg_op_name(tg_tensor_op(up)), "outer/AssignMovingAvg");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(up)), "Assign");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(up2)), "outer/AssignMovingAvg_1");
    check_op(g, "outer/AssignMovingAvg/decay", "Const");
    check_op(g, "outer/AssignMovingAvg/sub", "Sub");
    check_op(g, "outer/AssignMovingAvg/mul", "Mul");
    check_op(g, "outer/AssignMovingAvg/AssignSub", "AssignSub");
    check_op(g, "outer/AssignMovingAvg/AssignAdd", "AssignAdd");
    check_op(g, "outer/AssignMovingAvg/AssignAdd/value", "Const");
    check_op(g, "outer/AssignMovingAvg/sub_1/x", "Const");
    check_op(g, "outer/AssignMovingAvg/sub_1", "Sub");
    check_op(g, "outer/AssignMovingAvg/Pow", "Pow");
    check_op(g, "outer/AssignMovingAvg/sub_2", "Sub");
    check_op(g, "outer/AssignMovingAvg/truediv", "RealDiv");

    tg_session *s = start(g);
    /* a constant input is reproduced exactly after every step */
    for (int k = 0; k < 3; k++) {
        run_fed(s, tg_tensor_op(up), x, (float[]){5, -2}, 2);
        check_var(s, v, (double[]){5, -2}, 2, 1e-5);
    }
    /* varying inputs by hand, on the second pair (fresh) */
    static const float xs[3][2] = {{1, 2}, {3, -4}, {0.5f, 8}};
    float d = (float)(1.0 - 0.5), base = 1.0f - d, b[2] = {0, 0}, t = 0;
    for (int k = 0; k < 3; k++) {
        run_fed(s, tg_tensor_op(up2), x, xs[k], 2);
        t += 1;
        float factor = 1.0f - powf(base, t), want[2];
        for (int i = 0; i < 2; i++) {
            b[i] -= (b[i] - xs[k][i]) * d;
            want[i] = b[i] / factor;
        }
        check_varf(s, v, want, 2);
        check_varf(s, biased1, b, 2);
    }
    check_var(s, step, (double[]){3}, 1, 0); /* the first pair ran three times too */
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* Under a reusing scope the plain names are used, so calls share a pair. */
START_TEST(test_amv_zero_debias_reuse)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "x");
    TG_WITH_VARIABLE_SCOPE(g, "s", &(tg_variable_scope_opts){.reuse = TG_AUTO_REUSE})
    {
        tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
        tg_train_assign_moving_average(g, w, x, 0.9, true, NULL);
        tg_train_assign_moving_average(g, w, x, 0.9, true, NULL);
    }
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(tg_graph_variable(g, "s/s/w/biased"));
    ck_assert_ptr_null(tg_graph_variable(g, "s/s/w/biased_1"));
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 3);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_amv_errors)
{
    tg_graph *g = tg_graph_new(), *other = tg_graph_new();
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
    tg_variable *iv = tg_get_variable(g, "i", TG_INT32, TG_SHAPE(2), NULL);
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "x");
    tg_tensor *x64 = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), (double[]){1, 2}, "x64");
    tg_tensor *x3 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){1, 2, 3}, "x3");
    tg_tensor *vec = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "vec");
    tg_tensor *ix = tg_constant_scalar(g, TG_INT32, 1, "ix");
    tg_tensor *foreign = tg_constant_scalar(other, TG_FLOAT32, 1, "foreign");
    ck_assert_tg_ok(g);
    int n_ops = tg_graph_num_ops(g), n_vars = collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES);

    /* a NULL input (an earlier builder failed) adds nothing and records nothing */
    ck_assert_ptr_null(tg_train_assign_moving_average(g, NULL, x, 0.9, true, NULL));
    ck_assert_ptr_null(tg_train_assign_moving_average(g, w, NULL, 0.9, true, NULL));
    ck_assert_ptr_null(tg_train_assign_moving_average_t(g, w, x, NULL, true, NULL));
    ck_assert_ptr_null(tg_train_assign_moving_average(NULL, w, x, 0.9, true, NULL));
    ck_assert_tg_ok(g);

    struct {
        tg_variable *v;
        tg_tensor *value, *decay;
        const char *msg;
    } cases[] = {
        {iv, ix, NULL, "variable 'i' must be float32 or float64, not int32"},
        {w, x64, NULL, "Tensor conversion requested dtype float32 for Tensor with dtype float64: 'x64:0'"},
        {w, x3, NULL, "does not broadcast to variable 'w'"},
        {w, x, vec, "decay must be a float scalar"},
        {w, x, ix, "decay must be a float scalar"},
        {w, foreign, NULL, "is from another graph"},
        {w, x, foreign, "is from another graph"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int debias = 0; debias < 2; debias++) {
            tg_tensor *r = cases[i].decay
                               ? tg_train_assign_moving_average_t(g, cases[i].v, cases[i].value, cases[i].decay,
                                                                  debias, NULL)
                               : tg_train_assign_moving_average(g, cases[i].v, cases[i].value, 0.9, debias, NULL);
            ck_assert_ptr_null(r);
            ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
            ck_assert_str_contains(tg_graph_message(g), cases[i].msg);
            tg_graph_clear_status(g);
            ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
            ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), n_vars);
        }
    }
    /* a variable of another graph */
    tg_variable *ow = tg_get_variable(other, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
    ck_assert_ptr_null(tg_train_assign_moving_average(g, ow, x, 0.9, false, NULL));
    ck_assert_str_contains(tg_graph_message(g), "variable 'w' is from another graph");
    /* a graph in error builds nothing */
    ck_assert_ptr_null(tg_train_assign_moving_average(g, w, x, 0.9, false, NULL));
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    /* a value that broadcasts is fine: a scalar, as TF's `v - value` */
    ck_assert_ptr_nonnull(tg_train_assign_moving_average(g, w, tg_constant_scalar(g, TG_FLOAT32, 3, NULL), 0.9,
                                                         false, NULL));
    /* TF does not check the decay's range */
    ck_assert_ptr_nonnull(tg_train_assign_moving_average(g, w, x, 1.5, false, NULL));
    ck_assert_tg_ok(g);
    tg_graph_free(other);
    tg_graph_free(g);
}
END_TEST

/* ---- assign_moving_average with options -------------------------------------------- */

/* NULL opts are TF's defaults: zero-debiased, "AssignMovingAvg", the same
 * op layout as tg_train_assign_moving_average(..., true, NULL); name,
 * decay_t and zero_debias FALSE as documented. */
START_TEST(test_amv_opts_defaults)
{
    tg_graph *g = tg_graph_new();
    tg_op *set;
    tg_variable *v = fvar(g, "v", TG_SHAPE(2), (float[]){1, 2}, &set);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "x");
    tg_tensor *up = tg_train_assign_moving_average_opts(g, v, x, 0.5, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(up)), "AssignMovingAvg");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(up)), "Assign");
    tg_variable *biased = tg_graph_variable(g, "v/biased"), *step = tg_graph_variable(g, "v/local_step");
    check_helper(g, biased, "v/biased", TG_FLOAT32, TG_SHAPE(2));
    check_helper(g, step, "v/local_step", TG_FLOAT32, TG_SCALAR);
    check_op(g, "AssignMovingAvg/decay", "Const");
    check_op(g, "AssignMovingAvg/AssignSub", "AssignSub");
    check_op(g, "AssignMovingAvg/AssignAdd", "AssignAdd");
    check_op(g, "AssignMovingAvg/AssignAdd/value", "Const");
    check_op(g, "AssignMovingAvg/sub_1/x", "Const");
    check_op(g, "AssignMovingAvg/Pow", "Pow");
    check_op(g, "AssignMovingAvg/sub_2", "Sub");
    check_op(g, "AssignMovingAvg/truediv", "RealDiv");
    ck_assert_int_eq(count_ops(g, "Select"), 0); /* no condition: nothing selected */
    /* zero_debias FALSE and a name: the plain update, no new variable */
    TG_OPTS(tg_assign_moving_average_opts, amo, .name = "plain", .zero_debias = false);
    tg_tensor *plain = tg_train_assign_moving_average_opts(g, v, x, 0.5, &amo);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(plain)), "plain");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(plain)), "AssignSub");
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 3);
    /* decay_t wins over the number */
    tg_tensor *decay = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "decay");
    TG_OPTS(tg_assign_moving_average_opts, amo2, .decay_t = decay, .zero_debias = false);
    tg_tensor *up_t = tg_train_assign_moving_average_opts(g, v, x, 0.999, &amo2);
    ck_assert_tg_ok(g);
    check_op(g, "AssignMovingAvg_1/sub", "Sub"); /* 1.0 - decay_t */
    ck_assert_ptr_null(tg_graph_op(g, "AssignMovingAvg_1/decay"));

    tg_session *s = start(g);
    /* the debiased average of constant input is that input, from step 1 */
    for (int k = 0; k < 2; k++) {
        run_fed(s, tg_tensor_op(up), x, (float[]){5, -2}, 2);
        check_var(s, v, (double[]){5, -2}, 2, 1e-5);
    }
    check_var(s, step, (double[]){2}, 1, 0);
    tgc_run_target(s, set);
    run_fed(s, tg_tensor_op(plain), x, (float[]){3, 4}, 2);
    check_var(s, v, (double[]){2, 3}, 2, 1e-6);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){2}, (float[]){0, 0});
    tg_array *da = tg_array_scalar_f32(0.75f);
    tg_feed f[2] = {{x, xa}, {decay, da}};
    tg_op *op = tg_tensor_op(up_t);
    ck_assert_int_eq(tg_session_run(s, f, 2, NULL, 0, NULL, &op, 1), TG_OK);
    check_var(s, v, (double[]){2 * 0.75, 3 * 0.75}, 2, 1e-6);
    tg_array_free(xa);
    tg_array_free(da);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* A run-time condition: when false nothing changes (the variable, and
 * zero-debias' biased and local_step) and the result is the current value;
 * when true the update of TF's formulas. */
START_TEST(test_amv_condition)
{
    for (int debias = 0; debias < 2; debias++) {
        tg_graph *g = tg_graph_new();
        tg_op *set;
        tg_variable *v = fvar(g, "v", TG_SHAPE(2), (float[]){1, 2}, &set);
        tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "x");
        tg_tensor *cond = tg_placeholder(g, TG_BOOL, TG_SCALAR, "cond");
        TG_OPTS(tg_assign_moving_average_opts, amo, .zero_debias = debias, .condition = cond);
        tg_tensor *up = tg_train_assign_moving_average_opts(g, v, x, 0.8, &amo);
        ck_assert_tg_ok(g);
        ck_assert_str_eq(tg_op_name(tg_tensor_op(up)), "AssignMovingAvg");
        ck_assert_str_eq(tg_op_type(tg_tensor_op(up)), debias ? "Assign" : "AssignSub");
        tg_variable *biased = NULL, *step = NULL;
        if (debias) {
            biased = tg_graph_variable(g, "v/biased");
            step = tg_graph_variable(g, "v/local_step");
            check_helper(g, biased, "v/biased", TG_FLOAT32, TG_SHAPE(2));
            check_helper(g, step, "v/local_step", TG_FLOAT32, TG_SCALAR);
            check_op(g, "AssignMovingAvg/AssignAdd/value", "Cast"); /* += condition */
            check_op(g, "AssignMovingAvg/truediv", "RealDiv");
        }
        ck_assert_int_ge(count_ops(g, "Select"), 1);
        tg_session *s = start(g);
        tgc_run_target(s, set);
        /* the runs: false first (a zero-debias step count of 0 must not
         * leak 0 / 0), then true and false in turn */
        static const bool conds[5] = {false, true, false, true, true};
        static const float xs[5][2] = {{7, 7}, {3, 4}, {100, -100}, {-1, 0.5f}, {10, -8}};
        float d = (float)(1.0 - 0.8), base = 1.0f - d, w[2] = {1, 2}, b[2] = {0, 0}, t = 0;
        for (int k = 0; k < 5; k++) {
            tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){2}, xs[k]);
            tg_array *ca = tg_array_scalar_bool(conds[k]), *out = NULL;
            tg_feed f[2] = {{x, xa}, {cond, ca}};
            ck_assert_int_eq(tg_session_run(s, f, 2, &up, 1, &out, NULL, 0), TG_OK);
            if (conds[k]) {
                if (debias) {
                    t += 1;
                    for (int i = 0; i < 2; i++) {
                        b[i] -= (b[i] - xs[k][i]) * d;
                        w[i] = b[i] / (1.0f - powf(base, t));
                    }
                } else {
                    for (int i = 0; i < 2; i++) w[i] -= (w[i] - xs[k][i]) * d;
                }
            }
            for (int i = 0; i < 2; i++) /* the new value, or the current one */
                ck_assert_close(tg_array_get(out, i), w[i], 1e-6 * (1 + fabs(w[i])));
            check_varf(s, v, w, 2);
            if (debias) {
                check_varf(s, biased, b, 2);
                check_var(s, step, (double[]){t}, 1, 0);
            }
            tg_array_free(out);
            tg_array_free(ca);
            tg_array_free(xa);
        }
        tg_session_free(s);
        tg_graph_free(g);
    }
}
END_TEST

/* debias_collections: the collections of biased and local_step (a custom
 * getter's), never TRAINABLE_VARIABLES; the uniquified second pair too. */
START_TEST(test_amv_debias_collections)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "x");
    static const char *const global_model[] = {TG_GRAPHKEYS_GLOBAL_VARIABLES, TG_GRAPHKEYS_MODEL_VARIABLES};
    static const char *const mine[] = {"mine"};
    TG_WITH_VARIABLE_SCOPE(g, "bn", NULL)
    {
        tg_variable *m = tg_get_variable(g, "m", TG_FLOAT32, TG_SHAPE(2), NULL);
        TG_OPTS(tg_assign_moving_average_opts, amo, .debias_collections = global_model, .n_debias_collections = 2);
        tg_train_assign_moving_average_opts(g, m, x, 0.9, &amo);
        TG_OPTS(tg_assign_moving_average_opts, amo2, .debias_collections = mine, .n_debias_collections = 1);
        tg_train_assign_moving_average_opts(g, m, x, 0.9, &amo2);
    }
    ck_assert_tg_ok(g);
    tg_variable *biased = tg_graph_variable(g, "bn/bn/m/biased"), *step = tg_graph_variable(g, "bn/bn/m/local_step");
    ck_assert_ptr_nonnull(biased);
    ck_assert_ptr_nonnull(step);
    tg_variable *model[2] = {biased, step};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(count_in(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, model[i]), 1);
        ck_assert_int_eq(count_in(g, TG_GRAPHKEYS_MODEL_VARIABLES, model[i]), 1);
        ck_assert_int_eq(count_in(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, model[i]), 0);
        ck_assert(!tg_variable_trainable(model[i]));
    }
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_MODEL_VARIABLES), 2);
    /* exactly the listed collections: the second pair (uniquified against
     * the first, which is in GLOBAL_VARIABLES) is in "mine" only */
    tg_variable *b1 = tg_graph_variable(g, "bn/bn/m/biased_1");
    ck_assert_ptr_nonnull(b1);
    ck_assert_int_eq(count_in(g, "mine", b1), 1);
    ck_assert_int_eq(count_in(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, b1), 0);
    ck_assert_int_eq(count_in(g, TG_GRAPHKEYS_MODEL_VARIABLES, b1), 0);
    ck_assert_int_eq(collection_size(g, "mine"), 2);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_amv_opts_errors)
{
    tg_graph *g = tg_graph_new(), *other = tg_graph_new();
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "x");
    tg_tensor *x64 = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), (double[]){1, 2}, "x64");
    tg_tensor *icond = tg_placeholder(g, TG_INT32, TG_SCALAR, "icond");
    tg_tensor *vcond = tg_placeholder(g, TG_BOOL, TG_SHAPE(2), "vcond");
    tg_tensor *ocond = tg_placeholder(other, TG_BOOL, TG_SCALAR, "ocond");
    tg_tensor *vec = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "vec");
    static const char *const null_key[] = {TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL};
    ck_assert_tg_ok(g);
    int n_ops = tg_graph_num_ops(g), n_vars = collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES);
    /* NULL inputs add nothing and record nothing */
    ck_assert_ptr_null(tg_train_assign_moving_average_opts(g, NULL, x, 0.9, NULL));
    ck_assert_ptr_null(tg_train_assign_moving_average_opts(g, w, NULL, 0.9, NULL));
    ck_assert_ptr_null(tg_train_assign_moving_average_opts(NULL, w, x, 0.9, NULL));
    ck_assert_tg_ok(g);
    TG_OPTS(tg_assign_moving_average_opts, o_icond, .condition = icond);
    TG_OPTS(tg_assign_moving_average_opts, o_vcond, .condition = vcond);
    TG_OPTS(tg_assign_moving_average_opts, o_ocond, .condition = ocond);
    TG_OPTS(tg_assign_moving_average_opts, o_neg, .n_debias_collections = -1);
    TG_OPTS(tg_assign_moving_average_opts, o_nolist, .n_debias_collections = 1);
    TG_OPTS(tg_assign_moving_average_opts, o_nocount, .debias_collections = null_key); /* count left at 0 */
    TG_OPTS(tg_assign_moving_average_opts, o_nullkey, .debias_collections = null_key, .n_debias_collections = 2);
    TG_OPTS(tg_assign_moving_average_opts, o_vec, .decay_t = vec);
    TG_OPTS(tg_assign_moving_average_opts, o_c, .condition = tg_placeholder(g, TG_BOOL, TG_SCALAR, "c"));
    struct {
        tg_tensor *value;
        const tg_assign_moving_average_opts *o;
        const char *msg;
    } cases[] = {
        {x, &o_icond, "condition must be a bool scalar, got 'icond:0' of dtype int32"},
        {x, &o_vcond, "condition must be a bool scalar"},
        {x, &o_ocond, "condition 'ocond:0' is from another graph"},
        {x, &o_neg, "option 'debias_collections' is NULL with n_debias_collections -1"},
        {x, &o_nolist, "option 'debias_collections' is NULL with n_debias_collections 1"},
        {x, &o_nocount, "option 'debias_collections' is given with n_debias_collections 0"},
        {x, &o_nullkey, "collection 1 of 2 is NULL"},
        /* options not started from the INIT macro are refused */
        {x, &(tg_assign_moving_average_opts){.zero_debias = true}, "TG_ASSIGN_MOVING_AVERAGE_OPTS_INIT"},
        {x, &o_vec, "decay must be a float scalar"},
        {x64, &o_c, "Tensor conversion requested dtype float32 for Tensor with dtype float64: 'x64:0'"},
    };
    n_ops = tg_graph_num_ops(g);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_ptr_null(tg_train_assign_moving_average_opts(g, w, cases[i].value, 0.9, cases[i].o));
        ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
        ck_assert_str_contains(tg_graph_message(g), cases[i].msg);
        tg_graph_clear_status(g);
        ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
        ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), n_vars);
    }
    /* a graph in error builds nothing */
    tg_graph_fail(g, TG_INTERNAL, "earlier");
    ck_assert_ptr_null(tg_train_assign_moving_average_opts(g, w, x, 0.9, NULL));
    ck_assert_str_eq(tg_graph_message(g), "earlier");
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    tg_graph_free(other);
    tg_graph_free(g);
}
END_TEST

/* ---- weighted_moving_average ------------------------------------------------------------ */

START_TEST(test_weighted_moving_average)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "x");
    tg_tensor *wt = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "wt");
    tg_tensor *avg = tg_train_weighted_moving_average(g, x, 0.75, wt, NULL);
    tg_tensor *avg2 = tg_train_weighted_moving_average(g, x, 0.75, wt, &(tg_weighted_moving_average_opts){.name = "wma"});
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(avg)), "WeightedMovingAvg/WeightedMovingAvg");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(avg)), "RealDiv");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(avg2)), "wma/wma");
    tg_variable *vxw = tg_graph_variable(g, "WeightedMovingAvg/value_x_weight");
    tg_variable *wv = tg_graph_variable(g, "WeightedMovingAvg/weight");
    check_helper(g, vxw, "WeightedMovingAvg/value_x_weight", TG_FLOAT32, TG_SHAPE(2));
    check_helper(g, wv, "WeightedMovingAvg/weight", TG_FLOAT32, TG_SCALAR);
    check_op(g, "WeightedMovingAvg/mul", "Mul");
    check_op(g, "WeightedMovingAvg/AssignMovingAvg", "AssignSub");
    check_op(g, "WeightedMovingAvg/AssignMovingAvg_1", "AssignSub");
    ck_assert_ptr_nonnull(tg_graph_variable(g, "wma/weight"));

    tg_session *s = start(g);
    static const float xs[3][2] = {{1, 2}, {4, -2}, {0, 6}}, ws[3] = {1, 3, 0.5f};
    float d = (float)(1.0 - 0.75), num[2] = {0, 0}, den = 0;
    for (int k = 0; k < 3; k++) {
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){2}, xs[k]), *wa = tg_array_scalar_f32(ws[k]);
        tg_feed f[2] = {{x, xa}, {wt, wa}};
        tg_array *out = NULL;
        ck_assert_int_eq(tg_session_run(s, f, 2, &avg, 1, &out, NULL, 0), TG_OK);
        den -= (den - ws[k]) * d;
        for (int i = 0; i < 2; i++) {
            num[i] -= (num[i] - xs[k][i] * ws[k]) * d;
            ck_assert_close(tg_array_get(out, i), num[i] / den, 1e-6);
        }
        tg_array_free(out);
        tg_array_free(xa);
        tg_array_free(wa);
    }
    tg_session_free(s);

    /* collections and errors */
    static const char *const mine[] = {"mine"};
    tg_train_weighted_moving_average(g, x, 0.5, wt,
                                     &(tg_weighted_moving_average_opts){.collections = mine, .n_collections = 1});
    ck_assert_tg_ok(g);
    ck_assert_int_eq(collection_size(g, "mine"), 2);
    tg_tensor *ph = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "ph");
    int n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_train_weighted_moving_average(g, ph, 0.5, wt, NULL));
    ck_assert_str_contains(tg_graph_message(g), "fully defined shape");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    tg_tensor *w64 = tg_constant_scalar(g, TG_FLOAT64, 1, "w64");
    n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_train_weighted_moving_average(g, x, 0.5, w64, NULL));
    ck_assert_str_contains(tg_graph_message(g), "different dtypes");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    tg_graph_free(g);
}
END_TEST

/* ---- ExponentialMovingAverage --------------------------------------------------------------- */

/* Two variables averaged; names, collections, values by hand. */
START_TEST(test_ema_variables)
{
    tg_graph *g = tg_graph_new();
    tg_op *set_w, *set_b;
    tg_variable *w = fvar(g, "w", TG_SHAPE(2), (float[]){1, 2}, &set_w);
    tg_variable *b = fvar(g, "b", TG_SCALAR, (float[]){-1}, &set_b);
    tg_variable *other = tg_get_variable(g, "other", TG_FLOAT32, TG_SCALAR, NULL);
    tg_ema *ema = tg_train_ema_new(g, 0.75, NULL);
    ck_assert_str_eq(tg_ema_name(ema), "ExponentialMovingAverage");
    ck_assert_str_eq(tg_ema_average_name(ema, w), "w/ExponentialMovingAverage"); /* before apply */
    ck_assert_ptr_null(tg_ema_average(ema, w));
    tg_op *apply = tg_ema_apply(ema, (tg_variable *[]){w, b}, 2);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(apply), "ExponentialMovingAverage");
    ck_assert_str_eq(tg_op_type(apply), "NoOp");
    ck_assert_int_eq(tg_op_num_control_inputs(apply), 2);
    check_op(g, "ExponentialMovingAverage/decay", "Const");
    check_op(g, "ExponentialMovingAverage/AssignMovingAvg", "AssignSub");
    check_op(g, "ExponentialMovingAverage/AssignMovingAvg/sub", "Sub"); /* 1.0 - decay */
    check_op(g, "ExponentialMovingAverage/AssignMovingAvg/sub_1", "Sub");
    check_op(g, "ExponentialMovingAverage/AssignMovingAvg_1", "AssignSub");
    ck_assert_ptr_eq(tg_op_control_input(apply, 0), tg_graph_op(g, "ExponentialMovingAverage/AssignMovingAvg"));

    tg_variable *aw = tg_ema_average(ema, w), *ab = tg_ema_average(ema, b);
    check_helper(g, aw, "w/ExponentialMovingAverage", TG_FLOAT32, TG_SHAPE(2));
    check_helper(g, ab, "b/ExponentialMovingAverage", TG_FLOAT32, TG_SCALAR);
    ck_assert_ptr_eq(tg_graph_variable(g, "w/ExponentialMovingAverage"), aw);
    ck_assert_str_eq(tg_ema_average_name(ema, w), "w/ExponentialMovingAverage");
    ck_assert_ptr_null(tg_ema_average(ema, other));
    ck_assert_str_eq(tg_ema_average_name(ema, other), "other/ExponentialMovingAverage");
    /* the averaged variables (not the shadows) are in MOVING_AVERAGE_VARIABLES */
    tg_variable **mav = NULL;
    ck_assert_int_eq(tg_get_collection_variables(g, TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES, NULL, &mav), 2);
    ck_assert_ptr_eq(mav[0], w);
    ck_assert_ptr_eq(mav[1], b);
    tg_free(mav);
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 3);
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 5);
    /* no zero-debias helpers for variables, even with zero_debias */
    ck_assert_ptr_null(find_global(g, "w/ExponentialMovingAverage/biased"));
    tg_tensor *new_w = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "new_w");
    tg_op *assign_w = tg_tensor_op(tg_assign(g, tg_variable_ref(w), new_w, NULL));

    tg_session *s = start(g);
    /* the shadows start at the variables' initial values (zeros here; see
     * test_ema_initial_values) */
    check_varf(s, aw, (float[]){0, 0}, 2);
    check_varf(s, ab, (float[]){0}, 1);
    tgc_run_target(s, set_w);
    tgc_run_target(s, set_b);
    float d = 1.0f - 0.75f; /* decay is a float32 Const, 1.0 - decay in float32 */
    float sw[2] = {0, 0}, sb = 0, vw[2] = {1, 2}, vb = -1;
    static const float ws[3][2] = {{1, 2}, {3, -1}, {0.25f, 4}};
    for (int k = 0; k < 3; k++) {
        run_fed(s, assign_w, new_w, ws[k], 2);
        vw[0] = ws[k][0];
        vw[1] = ws[k][1];
        tgc_run_target(s, apply);
        for (int i = 0; i < 2; i++) sw[i] -= (sw[i] - vw[i]) * d;
        sb -= (sb - vb) * d;
        check_varf(s, aw, sw, 2);
        check_varf(s, ab, &sb, 1);
        check_varf(s, w, vw, 2); /* the variable itself is untouched */
    }
    tg_session_free(s);
    tg_ema_free(ema);
    tg_graph_free(g);
}
END_TEST

/* Shadows start at the variable's initial value, random ones included;
 * no "Initializer" ops of their own. */
START_TEST(test_ema_initial_values)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_constant_initializer(3));
    tg_variable *c = tg_get_variable(g, "c", TG_FLOAT32, TG_SHAPE(2), &vo);
    TG_OPTS(tg_get_variable_opts, vo2, .initializer = tg_random_uniform_initializer(-1, 1));
    tg_variable *r = tg_get_variable(g, "r", TG_FLOAT64, TG_SHAPE(3), &vo2);
    tg_ema *ema = tg_train_ema_new(g, 0.5, NULL);
    tg_op *apply = tg_ema_apply(ema, (tg_variable *[]){c, r}, 2);
    ck_assert_tg_ok(g);
    ck_assert_ptr_null(tg_graph_op(g, "c/ExponentialMovingAverage/Initializer/zeros"));
    ck_assert_ptr_eq(tg_op_input(tg_variable_initializer(tg_ema_average(ema, c)), 1), tg_variable_initial_value(c));
    tg_session *s = start(g);
    check_varf(s, tg_ema_average(ema, c), (float[]){3, 3}, 2);
    tg_array *rv = tgc_fetch(s, tg_variable_value(r), NULL, 0);
    double want[3];
    for (int i = 0; i < 3; i++) want[i] = tg_array_get(rv, i);
    tg_array_free(rv);
    check_var(s, tg_ema_average(ema, r), want, 3, 0);
    tgc_run_target(s, apply); /* an average of equal values stays */
    check_var(s, tg_ema_average(ema, r), want, 3, 1e-15);
    tg_session_free(s);
    tg_ema_free(ema);
    tg_graph_free(g);
}
END_TEST

/* decay = min(decay, (1 + n) / (10 + n)) with n the global step. */
START_TEST(test_ema_num_updates)
{
    tg_graph *g = tg_graph_new();
    tg_op *set;
    tg_variable *w = fvar(g, "w", TG_SCALAR, (float[]){8}, &set);
    tg_variable *gs = tg_train_get_or_create_global_step(g);
    tg_ema *ema = tg_train_ema_new(g, 0.9, &(tg_ema_opts){.num_updates = tg_variable_value(gs)});
    tg_op *apply = tg_ema_apply(ema, &w, 1);
    tg_tensor *inc = tg_assign_add(g, tg_variable_ref(gs), tg_constant_scalar(g, TG_INT64, 50, NULL), NULL);
    ck_assert_tg_ok(g);
    check_op(g, "ExponentialMovingAverage/num_updates", "Cast");
    check_op(g, "ExponentialMovingAverage/add/x", "Const");
    check_op(g, "ExponentialMovingAverage/add", "Add");
    check_op(g, "ExponentialMovingAverage/add_1/x", "Const");
    check_op(g, "ExponentialMovingAverage/add_1", "Add");
    check_op(g, "ExponentialMovingAverage/truediv", "RealDiv");
    check_op(g, "ExponentialMovingAverage/Minimum", "Minimum");

    tg_session *s = start(g);
    tgc_run_target(s, set);
    tg_variable *avg = tg_ema_average(ema, w);
    float sw = 0;
    for (int k = 0; k < 4; k++) { /* num_updates 0, 50, 100, 150 */
        float n = (float)(50 * k), dyn = (1.0f + n) / (10.0f + n), decay = dyn < 0.9f ? dyn : 0.9f;
        tgc_run_target(s, apply);
        sw -= (sw - 8) * (1.0f - decay);
        check_varf(s, avg, &sw, 1);
        tgc_run_target(s, tg_tensor_op(inc));
    }
    tg_session_free(s);
    tg_ema_free(ema);

    /* a float32 num_updates is used as it is (no Cast) */
    tg_tensor *nu = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "nu");
    ema = tg_train_ema_new(g, 0.25, &(tg_ema_opts){.num_updates = nu, .name = "e2"});
    tg_op *apply2 = tg_ema_apply(ema, &w, 1);
    ck_assert_tg_ok(g);
    ck_assert_ptr_null(tg_graph_op(g, "e2/num_updates"));
    s = start(g);
    tgc_run_target(s, set);
    run_fed(s, apply2, nu, (float[]){1}, 0);
    float want = 8 * (1.0f - 2.0f / 11.0f); /* min(0.25, 2/11) */
    check_varf(s, tg_ema_average(ema, w), &want, 1);
    tg_session_free(s);
    tg_ema_free(ema);
    tg_graph_free(g);
}
END_TEST

/* decay as a tensor, float64 variable: per update "sub" and "Cast". */
START_TEST(test_ema_decay_tensor)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_constant_initializer(3));
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT64, TG_SCALAR, &vo);
    tg_tensor *decay = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "decay");
    tg_ema *ema = tg_train_ema_new(g, 0, &(tg_ema_opts){.decay_t = decay});
    tg_op *apply = tg_ema_apply(ema, &w, 1);
    ck_assert_tg_ok(g);
    ck_assert_ptr_null(tg_graph_op(g, "ExponentialMovingAverage/decay"));
    check_op(g, "ExponentialMovingAverage/AssignMovingAvg/sub", "Sub");
    check_op(g, "ExponentialMovingAverage/AssignMovingAvg/Cast", "Cast");
    check_helper(g, tg_ema_average(ema, w), "w/ExponentialMovingAverage", TG_FLOAT64, TG_SCALAR);
    tg_op *set = tg_tensor_op(tg_assign(g, tg_variable_ref(w), tg_constant_scalar(g, TG_FLOAT64, 5, NULL), NULL));
    tg_session *s = start(g);
    tgc_run_target(s, set);
    double sw = 3; /* the variable's initial value */
    static const float decays[2] = {0.5f, 0.9f};
    for (int k = 0; k < 2; k++) {
        run_fed(s, apply, decay, &decays[k], 0);
        sw -= (sw - 5) * (double)(1.0f - decays[k]);
        check_var(s, tg_ema_average(ema, w), &sw, 1, 1e-12);
    }
    tg_session_free(s);
    tg_ema_free(ema);
    tg_graph_free(g);
}
END_TEST

/* Tensors: shadows start at zeros; zero_debias only for them. */
START_TEST(test_ema_tensors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "x");
    tg_tensor *t = tg_add(g, x, x, "add");
    tg_op *set;
    tg_variable *w = fvar(g, "w", TG_SCALAR, (float[]){2}, &set);
    tg_ema *ema = tg_train_ema_new(g, 0.5, &(tg_ema_opts){.zero_debias = true});
    tg_op *apply = tg_ema_apply_items(ema, (tg_item[]){TG_ITEM_OF_TENSOR(t), TG_ITEM_OF_VARIABLE(w)}, 2);
    ck_assert_tg_ok(g);
    tg_variable *at = tg_ema_average_tensor(ema, t);
    check_helper(g, at, "add/ExponentialMovingAverage", TG_FLOAT32, TG_SHAPE(2));
    check_helper(g, tg_graph_variable(g, "add/ExponentialMovingAverage/biased"), "add/ExponentialMovingAverage/biased",
                 TG_FLOAT32, TG_SHAPE(2));
    check_helper(g, tg_graph_variable(g, "add/ExponentialMovingAverage/local_step"),
                 "add/ExponentialMovingAverage/local_step", TG_FLOAT32, TG_SCALAR);
    ck_assert_ptr_null(tg_graph_variable(g, "w/ExponentialMovingAverage/biased")); /* variables: never */
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES), 1); /* w only */
    check_op(g, "ExponentialMovingAverage/AssignMovingAvg", "Assign");      /* debiased */
    check_op(g, "ExponentialMovingAverage/AssignMovingAvg_1", "AssignSub"); /* w */

    tg_session *s = start(g);
    check_varf(s, at, (float[]){0, 0}, 2);
    tgc_run_target(s, set);
    static const float xs[3][2] = {{1, 2}, {-3, 4}, {0.5f, 0}};
    float d = 1.0f - 0.5f, base = 1.0f - d, bias[2] = {0, 0};
    for (int k = 0; k < 3; k++) {
        run_fed(s, apply, x, xs[k], 2);
        float factor = 1.0f - powf(base, (float)(k + 1)), want[2];
        for (int i = 0; i < 2; i++) {
            bias[i] -= (bias[i] - 2 * xs[k][i]) * d;
            want[i] = bias[i] / factor;
        }
        check_varf(s, at, want, 2);
    }
    tg_session_free(s);

    /* applying the tensor again reuses its shadow; as in TF 1.15 the new
     * update is not debiased (the debias set is per apply call) */
    int n_vars = collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES);
    tg_op *again = tg_ema_apply_tensors(ema, &t, 1);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(again), "ExponentialMovingAverage_1");
    check_op(g, "ExponentialMovingAverage_1/AssignMovingAvg", "AssignSub");
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), n_vars);
    ck_assert_ptr_eq(tg_ema_average_tensor(ema, t), at);
    tg_ema_free(ema);

    /* without zero_debias, in variable scope "scope2" */
    tg_ema *plain = tg_train_ema_new(g, 0.5, &(tg_ema_opts){.name = "foo"});
    tg_op *apply2 = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "scope2", NULL) { apply2 = tg_ema_apply_tensors(plain, &t, 1); }
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(apply2), "scope2/foo");
    tg_variable *at2 = tg_ema_average_tensor(plain, t);
    check_helper(g, at2, "scope2/add/foo", TG_FLOAT32, TG_SHAPE(2));
    ck_assert_ptr_null(find_global(g, "scope2/scope2/add/foo/biased"));
    s = start(g);
    run_fed(s, apply2, x, (float[]){1, 2}, 2);
    check_varf(s, at2, (float[]){(0 - (0 - 2.0f) * d), (0 - (0 - 4.0f) * d)}, 2);
    tg_session_free(s);
    tg_ema_free(plain);

    /* zero_debias inside a variable scope: helpers under <scope>/<shadow> */
    tg_ema *deb = tg_train_ema_new(g, 0.5, &(tg_ema_opts){.name = "bar", .zero_debias = true});
    TG_WITH_VARIABLE_SCOPE(g, "scope2", NULL) { tg_ema_apply_tensors(deb, &t, 1); }
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(tg_graph_variable(g, "scope2/scope2/add/bar/biased"));
    ck_assert_ptr_nonnull(tg_graph_variable(g, "scope2/scope2/add/bar/local_step"));
    tg_ema_free(deb);
    tg_graph_free(g);
}
END_TEST

/* Applied inside a control-dependency block: the shadows are made outside
 * it (init_scope), the update runs after the block's op. */
START_TEST(test_ema_control_dependencies)
{
    tg_graph *g = tg_graph_new();
    tg_op *set;
    tg_variable *w = fvar(g, "w", TG_SCALAR, (float[]){4}, &set);
    tg_op *pre = tg_no_op(g, "pre");
    tg_ema *ema = tg_train_ema_new(g, 0.5, NULL);
    tg_op *apply = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &pre, 1) { apply = tg_ema_apply(ema, &w, 1); }
    ck_assert_tg_ok(g);
    tg_variable *avg = tg_ema_average(ema, w);
    ck_assert_ptr_nonnull(avg);
    ck_assert_int_eq(tg_op_num_control_inputs(tg_variable_op(avg)), 0);
    ck_assert_int_eq(tg_op_num_control_inputs(tg_variable_initializer(avg)), 0);
    ck_assert_int_eq(tg_op_num_control_inputs(tg_tensor_op(tg_variable_value(avg))), 0);
    tg_op *decay = tg_graph_op(g, "ExponentialMovingAverage/decay");
    ck_assert_int_eq(tg_op_num_control_inputs(decay), 1);
    ck_assert_ptr_eq(tg_op_control_input(decay, 0), pre);
    tg_session *s = start(g);
    tgc_run_target(s, set);
    ck_assert_int_eq(tg_session_op_run_count(s, pre), 0);
    tgc_run_target(s, apply);
    ck_assert_int_eq(tg_session_op_run_count(s, pre), 1);
    check_varf(s, avg, (float[]){2}, 1);
    tg_session_free(s);
    tg_ema_free(ema);
    tg_graph_free(g);
}
END_TEST

/* Applying twice reuses the shadow; a second EMA of the same name gets
 * "_1"; vars NULL means the trainable variables. */
START_TEST(test_ema_apply_twice)
{
    tg_graph *g = tg_graph_new();
    tg_op *set;
    tg_variable *w = fvar(g, "w", TG_SCALAR, (float[]){8}, &set);
    tg_ema *ema = tg_train_ema_new(g, 0.5, NULL);
    tg_op *a1 = tg_ema_apply(ema, &w, 1);
    tg_variable *avg = tg_ema_average(ema, w);
    tg_op *a2 = tg_ema_apply(ema, &w, 1);
    ck_assert_tg_ok(g);
    ck_assert_ptr_eq(tg_ema_average(ema, w), avg);
    ck_assert_str_eq(tg_op_name(a1), "ExponentialMovingAverage");
    ck_assert_str_eq(tg_op_name(a2), "ExponentialMovingAverage_1");
    check_op(g, "ExponentialMovingAverage_1/AssignMovingAvg", "AssignSub");
    check_op(g, "ExponentialMovingAverage_1/decay", "Const");
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2);
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES), 1);

    /* another EMA with the same name: the slot scope is taken */
    tg_ema *ema2 = tg_train_ema_new(g, 0.5, NULL);
    tg_op *b1 = tg_ema_apply(ema2, NULL, 0); /* TRAINABLE_VARIABLES: w */
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(b1), "ExponentialMovingAverage_2");
    check_helper(g, tg_ema_average(ema2, w), "w/ExponentialMovingAverage_1", TG_FLOAT32, TG_SCALAR);
    ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES), 2); /* TF appends again */

    /* an empty list: a NoOp with nothing to do */
    tg_op *empty = tg_ema_apply(ema, (tg_variable *[]){w}, 0);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(empty), "ExponentialMovingAverage_3");
    ck_assert_int_eq(tg_op_num_control_inputs(empty), 0);

    tg_session *s = start(g);
    tgc_run_target(s, set);
    tgc_run_target(s, a1);
    tgc_run_target(s, a2);
    float want = 0;
    want -= (want - 8) * 0.5f;
    want -= (want - 8) * 0.5f;
    check_varf(s, avg, &want, 1);
    tg_session_free(s);
    tg_ema_free(ema);
    tg_ema_free(ema2);
    tg_graph_free(g);
}
END_TEST

/* average_name before apply: the current name scope as prefix, "_1" once
 * an op holds the name; the EMA's own name. */
START_TEST(test_ema_average_name)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, NULL);
    tg_ema *ema = tg_train_ema_new(g, 0.5, &(tg_ema_opts){.name = "avg"});
    ck_assert_str_eq(tg_ema_average_name(ema, w), "w/avg");
    TG_WITH_NAME_SCOPE(g, "eval") { ck_assert_str_eq(tg_ema_average_name(ema, w), "eval/w/avg"); }
    tg_no_op(g, "w/avg");
    ck_assert_str_eq(tg_ema_average_name(ema, w), "w/avg_1");
    ck_assert_ptr_null(tg_ema_average_name(NULL, w));
    ck_assert_ptr_null(tg_ema_average_name(ema, NULL));
    ck_assert_ptr_null(tg_ema_average(NULL, w));
    tg_ema_free(ema);
    tg_ema_free(NULL);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_ema_errors)
{
    tg_graph *g = tg_graph_new(), *other = tg_graph_new();
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, NULL);
    tg_variable *iv = tg_get_variable(g, "i", TG_INT32, TG_SCALAR, NULL);
    tg_variable *ow = tg_get_variable(other, "ow", TG_FLOAT32, TG_SCALAR, NULL);
    tg_tensor *it = tg_constant_scalar(g, TG_INT64, 1, "it");
    tg_tensor *ph = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "ph");
    tg_tensor *vec = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "vec");
    tg_tensor *d64 = tg_constant_scalar(g, TG_FLOAT64, 0.5, "d64");
    tg_tensor *flag = tg_constant_scalar(g, TG_BOOL, 1, "flag");
    ck_assert_tg_ok(g);
    int n_ops = tg_graph_num_ops(g), n_vars = collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES);
    tg_ema *ema = tg_train_ema_new(g, 0.9, NULL);

#define EXPECT_FAIL(call, text)                                                        \
    do {                                                                               \
        ck_assert_ptr_null(call);                                                      \
        ck_assert_tg_code(g, TG_INVALID_ARGUMENT);                                     \
        ck_assert_str_contains(tg_graph_message(g), text);                             \
        tg_graph_clear_status(g);                                                      \
        ck_assert_int_eq(tg_graph_num_ops(g), n_ops);                                  \
        ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), n_vars);   \
        ck_assert_int_eq(collection_size(g, TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES), 0); \
    } while (0)

    /* TF's TypeError, checked before any shadow is made */
    EXPECT_FAIL(tg_ema_apply(ema, (tg_variable *[]){w, iv}, 2), "The variables must be half, float, or double: i:0");
    EXPECT_FAIL(tg_ema_apply_tensors(ema, &it, 1), "The variables must be half, float, or double: it:0");
    EXPECT_FAIL(tg_ema_apply_tensors(ema, &ph, 1), "must be fully defined");
    EXPECT_FAIL(tg_ema_apply(ema, (tg_variable *[]){w, NULL}, 2), "element 1 is NULL");
    EXPECT_FAIL(tg_ema_apply(ema, &ow, 1), "'ow' is from another graph");
    EXPECT_FAIL(tg_ema_apply(ema, &w, -1), "n is -1");
    EXPECT_FAIL(tg_ema_apply_tensors(ema, NULL, 2), "tensors is NULL");
    EXPECT_FAIL(tg_ema_apply_items(ema, (tg_item[]){TG_ITEM_OF_OP(tg_variable_op(w))}, 1),
                "element 0 is not a variable or tensor");
    ck_assert_ptr_null(tg_ema_average(ema, w));
    /* construction */
    EXPECT_FAIL(tg_train_ema_new(g, 0.9, &(tg_ema_opts){.name = ""}), "name must not be empty");
    EXPECT_FAIL(tg_train_ema_new(g, 0.9, &(tg_ema_opts){.decay_t = vec}), "decay must be a float scalar");
    EXPECT_FAIL(tg_train_ema_new(g, 0.9, &(tg_ema_opts){.num_updates = flag}), "num_updates must be a numeric scalar");
    EXPECT_FAIL(tg_train_ema_new(g, 0.9, &(tg_ema_opts){.num_updates = vec}), "num_updates must be a numeric scalar");
    EXPECT_FAIL(tg_train_ema_new(g, 0.9, &(tg_ema_opts){.decay_t = d64, .num_updates = it}),
                "the decay tensor must be float32");
    EXPECT_FAIL(tg_train_ema_new(g, 0.9, &(tg_ema_opts){.decay_t = tg_constant_scalar(other, TG_FLOAT32, 1, NULL)}),
                "from another graph");
#undef EXPECT_FAIL

    /* NULL object, NULL or erroneous graph */
    ck_assert_ptr_null(tg_train_ema_new(NULL, 0.9, NULL));
    ck_assert_ptr_null(tg_ema_apply(NULL, &w, 1));
    tg_graph_fail(g, TG_INTERNAL, "earlier failure");
    ck_assert_ptr_null(tg_train_ema_new(g, 0.9, NULL));
    ck_assert_ptr_null(tg_ema_apply(ema, &w, 1));
    ck_assert_str_eq(tg_graph_message(g), "earlier failure");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);

    /* a float64 decay tensor without num_updates is fine; TF does not
     * check the decay's range either */
    tg_ema *e64 = tg_train_ema_new(g, 0, &(tg_ema_opts){.decay_t = d64});
    tg_ema *big = tg_train_ema_new(g, 1.5, NULL);
    ck_assert_ptr_nonnull(tg_ema_apply(e64, &w, 1));
    ck_assert_ptr_nonnull(tg_ema_apply(big, &w, 1));
    ck_assert_tg_ok(g);
    tg_ema_free(e64);
    tg_ema_free(big);
    tg_ema_free(ema);
    tg_graph_free(other);
    tg_graph_free(g);
}
END_TEST

static Suite *moving_averages_suite(void)
{
    Suite *s = suite_create("moving_averages");
    TCase *amv = tcase_create("assign_moving_average");
    tcase_set_timeout(amv, TGC_TIMEOUT);
    tcase_add_test(amv, test_amv_plain);
    tcase_add_test(amv, test_amv_decay_tensor);
    tcase_add_test(amv, test_amv_zero_debias);
    tcase_add_test(amv, test_amv_zero_debias_reuse);
    tcase_add_test(amv, test_amv_errors);
    tcase_add_test(amv, test_amv_opts_defaults);
    tcase_add_test(amv, test_amv_condition);
    tcase_add_test(amv, test_amv_debias_collections);
    tcase_add_test(amv, test_amv_opts_errors);
    tcase_add_test(amv, test_weighted_moving_average);
    suite_add_tcase(s, amv);
    TCase *ema = tcase_create("ExponentialMovingAverage");
    tcase_set_timeout(ema, TGC_TIMEOUT);
    tcase_add_test(ema, test_ema_variables);
    tcase_add_test(ema, test_ema_initial_values);
    tcase_add_test(ema, test_ema_num_updates);
    tcase_add_test(ema, test_ema_decay_tensor);
    tcase_add_test(ema, test_ema_tensors);
    tcase_add_test(ema, test_ema_control_dependencies);
    tcase_add_test(ema, test_ema_apply_twice);
    tcase_add_test(ema, test_ema_average_name);
    tcase_add_test(ema, test_ema_errors);
    suite_add_tcase(s, ema);
    return s;
}

TGC_MAIN(moving_averages_suite)
