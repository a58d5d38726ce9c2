/* test_layers_contrib.c: tf.contrib.layers' functional layers
 * (fully_connected, conv2d, flatten, max_pool2d, avg_pool2d, dropout):
 * scopes and their numbering, variable names, shapes and collections,
 * reuse, the normalizer hook, activation None and the no-bias sentinel,
 * regularizers, outputs collections, and forward values computed by hand. */
#include "tg_check.h"

/* ---- helpers ------------------------------------------------------------------------ */

static int count(tg_graph *g, const char *key)
{
    tg_item *items = NULL;
    int n = tg_get_collection(g, key, NULL, &items);
    tg_free(items);
    return n;
}

/* The variable at position i of collection key, or NULL. */
static tg_variable *var_at(tg_graph *g, const char *key, int i)
{
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(g, key, NULL, &vars);
    tg_variable *v = i < n ? vars[i] : NULL;
    tg_free(vars);
    return v;
}

static tg_tensor *tensor_at(tg_graph *g, const char *key, int i)
{
    tg_tensor **ts = NULL;
    int n = tg_get_collection_tensors(g, key, NULL, &ts);
    tg_tensor *t = i < n ? ts[i] : NULL;
    tg_free(ts);
    return t;
}

static bool in_collection(tg_graph *g, const char *key, const tg_variable *v)
{
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(g, key, NULL, &vars);
    bool found = false;
    for (int i = 0; i < n; i++) found = found || vars[i] == v;
    tg_free(vars);
    return found;
}

static tg_variable *var(tg_graph *g, const char *name)
{
    tg_variable *v = tg_graph_variable(g, name);
    ck_assert_msg(v != NULL, "no variable %s", name);
    return v;
}

/* Runs the global initializer, the optional extra targets, then fetches t. */
static tg_array *init_fetch(tg_graph *g, tg_tensor *t, const tg_feed *feeds, int n_feeds, tg_op **targets,
                            int n_targets)
{
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    for (int i = 0; i < n_targets; i++) tgc_run_target(s, targets[i]);
    tg_array *a = tgc_fetch(s, t, feeds, n_feeds);
    tg_session_free(s);
    return a;
}

static tg_tensor *c32(tg_graph *g, tg_shape s, const float *v) { return tg_constant_data(g, TG_FLOAT32, s, v, NULL); }

/* Initializers come only from their constructors, which are not constant
 * expressions, so these are filled in by a fixture before each test case. */
static tg_initializer ONE, HALF, TWO;
static void make_initializers(void)
{
    ONE = tg_constant_initializer(1);
    HALF = tg_constant_initializer(0.5);
    TWO = tg_constant_initializer(2);
}

/* A normalizer for the tests: records what it saw and returns 2 * x; it
 * also makes a variable, to show it runs inside the layer's scope. */
typedef struct test_norm {
    int calls;
    char name_scope[128], var_scope[128];
    tg_tensor *in, *out;
} test_norm;

static tg_tensor *test_normalizer(tg_graph *g, tg_tensor *x, const void *params)
{
    test_norm *p = (test_norm *)(uintptr_t)params;
    p->calls++;
    snprintf(p->name_scope, sizeof p->name_scope, "%s", tg_graph_name_scope(g));
    snprintf(p->var_scope, sizeof p->var_scope, "%s", tg_variable_scope_name(g));
    TG_OPTS(tg_get_variable_opts, vo, .trainable = false);
    tg_get_variable(g, "norm_var", TG_FLOAT32, TG_SCALAR, &vo);
    p->in = x;
    p->out = tg_multiply(g, x, tg_constant_scalar(g, tg_tensor_dtype(x), 2, "two"), "normalized");
    return p->out;
}

static tg_tensor *failing_normalizer(tg_graph *g, tg_tensor *x, const void *params)
{
    (void)g, (void)x, (void)params;
    return NULL;
}

/* ---- fully_connected -------------------------------------------------------------- */

START_TEST(test_fc_defaults)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3), "x");
    tg_tensor *y = tg_layers_fully_connected(g, x, 4, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(y), "fully_connected/Relu:0");
    ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(-1, 4));
    tg_op *bias_add = tg_tensor_op(tg_op_input(tg_tensor_op(y), 0));
    ck_assert_str_eq(tg_op_name(bias_add), "fully_connected/BiasAdd");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(tg_op_input(bias_add, 0))), "MatMul");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(tg_op_input(bias_add, 0))), "fully_connected/MatMul");
    tg_variable *w = var(g, "fully_connected/weights"), *b = var(g, "fully_connected/biases");
    ck_assert_shape_eq(tg_variable_shape(w), TG_SHAPE(3, 4));
    ck_assert_shape_eq(tg_variable_shape(b), TG_SHAPE(4));
    ck_assert_ptr_eq(tg_op_input(tg_tensor_op(tg_op_input(bias_add, 0)), 1), tg_variable_value(w));
    ck_assert_ptr_eq(tg_op_input(bias_add, 1), tg_variable_value(b));
    /* model variables: GLOBAL + MODEL + TRAINABLE, weights first */
    const char *keys[] = {TG_GRAPHKEYS_GLOBAL_VARIABLES, TG_GRAPHKEYS_MODEL_VARIABLES,
                          TG_GRAPHKEYS_TRAINABLE_VARIABLES};
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(count(g, keys[k]), 2);
        ck_assert_ptr_eq(var_at(g, keys[k], 0), w);
        ck_assert_ptr_eq(var_at(g, keys[k], 1), b);
    }
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 0);
    /* default numbering, and an explicit scope */
    tg_tensor *y1 = tg_layers_fully_connected(g, y, 2, NULL);
    TG_OPTS(tg_layers_fc_opts, fco, .scope = "fc");
    tg_tensor *y2 = tg_layers_fully_connected(g, y1, 5, &fco);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(y1), "fully_connected_1/Relu:0");
    ck_assert_str_eq(tg_tensor_name(y2), "fc/Relu:0");
    ck_assert_shape_eq(tg_variable_shape(var(g, "fully_connected_1/weights")), TG_SHAPE(4, 2));
    ck_assert_shape_eq(tg_variable_shape(var(g, "fc/weights")), TG_SHAPE(2, 5));
    ck_assert_shape_eq(tg_variable_shape(var(g, "fc/biases")), TG_SHAPE(5));
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_MODEL_VARIABLES), 6);
    /* xavier: U(-sqrt(6 / (3 + 4)), +...); biases zero */
    tg_array *wv = init_fetch(g, tg_variable_value(w), NULL, 0, NULL, 0);
    double limit = sqrt(6.0 / 7.0), sum_abs = 0;
    for (int64_t i = 0; i < tg_array_size(wv); i++) {
        ck_assert(fabs(tg_array_get(wv, i)) <= limit);
        sum_abs += fabs(tg_array_get(wv, i));
    }
    ck_assert(sum_abs > 0);
    tg_array_free(wv);
    tg_array *bv = init_fetch(g, tg_variable_value(b), NULL, 0, NULL, 0);
    ck_assert_array(bv, TG_FLOAT32, TG_SHAPE(4), ((double[]){0, 0, 0, 0}), 0);
    tg_array_free(bv);
    tg_graph_free(g);
}
END_TEST

/* y = relu(x @ W + b) with W assigned by hand. */
START_TEST(test_fc_values)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(2, 3), (float[]){1, 2, 3, -4, -5, -6});
    TG_OPTS(tg_layers_fc_opts, yo, .biases_initializer = &HALF);
    tg_tensor *y = tg_layers_fully_connected(g, x, 2, &yo);
    TG_OPTS(tg_layers_fc_opts, lo, .scope = "lin", .activation_fn = tg_linear, .biases_initializer = &HALF);
    tg_tensor *lin = tg_layers_fully_connected(g, x, 2, &lo);
    ck_assert_str_eq(tg_tensor_name(lin), "lin/BiasAdd:0"); /* activation None: no op after BiasAdd */
    tg_tensor *wv = c32(g, TG_SHAPE(3, 2), (float[]){1, 2, 3, 4, 5, 6});
    tg_op *assign[2] = {tg_tensor_op(tg_assign(g, tg_variable_ref(var(g, "fully_connected/weights")), wv, NULL)),
                        tg_tensor_op(tg_assign(g, tg_variable_ref(var(g, "lin/weights")), wv, NULL))};
    /* x @ W = [[22, 28], [-49, -64]] */
    tg_array *a = init_fetch(g, y, NULL, 0, assign, 2);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(2, 2), ((double[]){22.5, 28.5, 0, 0}), 1e-5);
    tg_array_free(a);
    a = init_fetch(g, lin, NULL, 0, assign, 2);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(2, 2), ((double[]){22.5, 28.5, -48.5, -63.5}), 1e-5);
    tg_array_free(a);
    /* other activations, float64 variables */
    tg_tensor *x64 = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(1, 2), (double[]){1, -3}, NULL);
    TG_OPTS(tg_layers_fc_opts, to, .activation_fn = tg_tanh, .weights_initializer = &ONE);
    tg_tensor *t = tg_layers_fully_connected(g, x64, 1, &to);
    ck_assert_str_eq(tg_tensor_name(t), "fully_connected_1/Tanh:0");
    ck_assert_int_eq(tg_variable_dtype(var(g, "fully_connected_1/weights")), TG_FLOAT64);
    ck_assert_int_eq(tg_variable_dtype(var(g, "fully_connected_1/biases")), TG_FLOAT64);
    a = init_fetch(g, t, NULL, 0, NULL, 0);
    ck_assert_array(a, TG_FLOAT64, TG_SHAPE(1, 1), ((double[]){tanh(-2.0)}), 1e-12);
    tg_array_free(a);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_fc_no_bias)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(1, 2), (float[]){1, 2});
    TG_OPTS(tg_layers_fc_opts, o, .biases_initializer = NULL, .biases_regularizer = tg_layers_l1_regularizer(1),
            .activation_fn = tg_linear, .weights_initializer = &TWO);
    tg_tensor *y = tg_layers_fully_connected(g, x, 3, &o);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(y), "fully_connected/MatMul:0");
    ck_assert_ptr_null(tg_graph_variable(g, "fully_connected/biases"));
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 1);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 0);
    tg_array *a = init_fetch(g, y, NULL, 0, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1, 3), ((double[]){6, 6, 6}), 1e-6);
    tg_array_free(a);
    tg_graph_free(g);
}
END_TEST

/* TF's weights_initializer=None: the enclosing scope's initializer; the
 * default xavier and zeros override it. */
START_TEST(test_fc_initializer_none_uses_scope)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(1, 2), (float[]){1, 2});
    tg_tensor *y = NULL, *z = NULL;
    tg_variable_scope_opts net = {.initializer = tg_constant_initializer(3)};
    TG_WITH_VARIABLE_SCOPE(g, "net", &net)
    {
        TG_OPTS(tg_layers_fc_opts, yo, .weights_initializer = NULL, .activation_fn = tg_linear);
        y = tg_layers_fully_connected(g, x, 1, &yo);
        TG_OPTS(tg_layers_fc_opts, zo, .activation_fn = tg_linear);
        z = tg_layers_fully_connected(g, x, 1, &zo);
    }
    ck_assert_str_eq(tg_variable_name(var(g, "net/fully_connected/weights")), "net/fully_connected/weights");
    tg_array *a = init_fetch(g, y, NULL, 0, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1, 1), ((double[]){9}), 1e-6); /* 3*1 + 3*2 + bias 0 */
    tg_array_free(a);
    a = init_fetch(g, tg_variable_value(var(g, "net/fully_connected_1/biases")), NULL, 0, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1), ((double[]){0}), 0);
    tg_array_free(a);
    a = init_fetch(g, tg_variable_value(var(g, "net/fully_connected_1/weights")), NULL, 0, NULL, 0);
    ck_assert(fabs(tg_array_get(a, 0) - 3) > 1e-6 || fabs(tg_array_get(a, 1) - 3) > 1e-6);
    tg_array_free(a);
    (void)z;
    tg_graph_free(g);
}
END_TEST

START_TEST(test_fc_normalizer)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(2, 2), (float[]){1, 2, -1, -2});
    test_norm p = {0};
    TG_OPTS(tg_layers_fc_opts, o, .normalizer_fn = test_normalizer, .normalizer_params = &p,
            .biases_initializer = &ONE, .biases_regularizer = tg_layers_l2_regularizer(1),
            .weights_initializer = &ONE);
    tg_tensor *y = tg_layers_fully_connected(g, x, 2, &o);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(p.calls, 1);
    /* no bias: the normalizer gets the MatMul, inside the layer's scopes */
    ck_assert_ptr_null(tg_graph_variable(g, "fully_connected/biases"));
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 0);
    ck_assert_str_eq(tg_op_type(tg_tensor_op(p.in)), "MatMul");
    ck_assert_str_eq(p.name_scope, "fully_connected/");
    ck_assert_str_eq(p.var_scope, "fully_connected");
    ck_assert_ptr_nonnull(tg_graph_variable(g, "fully_connected/norm_var"));
    ck_assert_str_eq(tg_op_name(tg_tensor_op(p.out)), "fully_connected/normalized");
    /* the activation comes after the normalizer */
    ck_assert_str_eq(tg_tensor_name(y), "fully_connected/Relu:0");
    ck_assert_ptr_eq(tg_op_input(tg_tensor_op(y), 0), p.out);
    tg_array *a = init_fetch(g, y, NULL, 0, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(2, 2), ((double[]){6, 6, 0, 0}), 1e-6);
    tg_array_free(a);
    /* a normalizer that fails without saying why */
    TG_OPTS(tg_layers_fc_opts, fo, .normalizer_fn = failing_normalizer);
    ck_assert_ptr_null(tg_layers_fully_connected(g, x, 2, &fo));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "fully_connected_1/normalizer_fn returned NULL");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_fc_reuse)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(1, 3), (float[]){1, 2, 3});
    TG_OPTS(tg_layers_fc_opts, fc, .scope = "fc");
    TG_OPTS(tg_layers_fc_opts, fc_reuse, .scope = "fc", .reuse = TG_REUSE_TRUE);
    tg_tensor *y1 = tg_layers_fully_connected(g, x, 4, &fc);
    tg_tensor *y2 = tg_layers_fully_connected(g, x, 4, &fc_reuse);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(y1), "fc/Relu:0");
    ck_assert_str_eq(tg_tensor_name(y2), "fc_1/Relu:0"); /* a fresh name scope, the same variables */
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_MODEL_VARIABLES), 2);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 2);
    tg_op *mm2 = tg_graph_op(g, "fc_1/MatMul");
    ck_assert_ptr_nonnull(mm2);
    ck_assert_ptr_eq(tg_op_input(mm2, 1), tg_variable_value(var(g, "fc/weights")));
    ck_assert_ptr_eq(tg_op_input(tg_graph_op(g, "fc_1/BiasAdd"), 1), tg_variable_value(var(g, "fc/biases")));
    tg_array *a1 = init_fetch(g, y1, NULL, 0, NULL, 0);
    tg_op *init = tg_global_variables_initializer(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    tg_array *b1 = tgc_fetch(s, y1, NULL, 0), *b2 = tgc_fetch(s, y2, NULL, 0);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(tg_array_get(b1, i), tg_array_get(b2, i));
    tg_array_free(a1);
    tg_array_free(b1);
    tg_array_free(b2);
    tg_session_free(s);
    /* AUTO_REUSE creates, then shares */
    TG_OPTS(tg_layers_fc_opts, autoo, .scope = "auto", .reuse = TG_AUTO_REUSE);
    tg_layers_fully_connected(g, x, 2, &autoo);
    tg_layers_fully_connected(g, x, 2, &autoo);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 4);
    /* reuse without a scope */
    int n_ops = tg_graph_num_ops(g);
    TG_OPTS(tg_layers_fc_opts, noscope, .reuse = TG_REUSE_TRUE);
    ck_assert_ptr_null(tg_layers_fully_connected(g, x, 4, &noscope));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "reuse=True cannot be used without a name_or_scope");
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    tg_graph_clear_status(g);
    /* the same scope without reuse */
    ck_assert_ptr_null(tg_layers_fully_connected(g, x, 4, &fc));
    ck_assert_str_contains(tg_graph_message(g), "Variable fc/weights already exists, disallowed.");
    tg_graph_clear_status(g);
    /* reuse of a scope that has no variables */
    TG_OPTS(tg_layers_fc_opts, nope, .scope = "nope", .reuse = TG_REUSE_TRUE);
    ck_assert_ptr_null(tg_layers_fully_connected(g, x, 4, &nope));
    ck_assert_str_contains(tg_graph_message(g), "Variable nope/weights does not exist");
    tg_graph_clear_status(g);
    /* reuse with another shape */
    ck_assert_ptr_null(tg_layers_fully_connected(g, x, 5, &fc_reuse));
    ck_assert_str_contains(tg_graph_message(g), "Trying to share variable fc/weights");
    tg_graph_clear_status(g);
    /* reusing a layer built with biases, without biases: only the weights are read */
    TG_OPTS(tg_layers_fc_opts, nbo, .scope = "fc", .reuse = TG_REUSE_TRUE, .biases_initializer = NULL);
    tg_tensor *nb = tg_layers_fully_connected(g, x, 4, &nbo);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_type(tg_tensor_op(tg_op_input(tg_tensor_op(nb), 0))), "MatMul");
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 4);
    tg_graph_free(g);
}
END_TEST

/* Building twice under variable_scope("net") with default layer names:
 * the second time, with reuse, the names restart and the variables are
 * shared (TF resets the default-name counters when "net" is exited). */
START_TEST(test_fc_reuse_in_named_scope)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(1, 3), (float[]){1, 2, 3});
    tg_tensor *a = NULL, *b = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL) { a = tg_layers_fully_connected(g, tg_layers_fully_connected(g, x, 4, NULL), 2, NULL); }
    TG_WITH_VARIABLE_SCOPE(g, "net", &(tg_variable_scope_opts){.reuse = TG_REUSE_TRUE})
    {
        b = tg_layers_fully_connected(g, tg_layers_fully_connected(g, x, 4, NULL), 2, NULL);
    }
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(a), "net/fully_connected_1/Relu:0");
    ck_assert_str_eq(tg_tensor_name(b), "net_1/fully_connected_1/Relu:0");
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 4);
    ck_assert_ptr_nonnull(tg_graph_variable(g, "net/fully_connected_1/weights"));
    tg_graph_free(g);
}
END_TEST

START_TEST(test_fc_regularizers)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(1, 3), (float[]){1, 2, 3});
    TG_OPTS(tg_layers_fc_opts, o, .scope = "fc", .weights_initializer = &TWO,
            .weights_regularizer = tg_layers_l2_regularizer(0.1), .biases_initializer = &ONE,
            .biases_regularizer = tg_layers_l1_regularizer(0.5));
    tg_layers_fully_connected(g, x, 4, &o);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 2);
    tg_tensor *lw = tensor_at(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, 0);
    tg_tensor *lb = tensor_at(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, 1);
    /* TF's core layers name the scopes after kernel/bias */
    ck_assert_str_eq(tg_tensor_name(lw), "fc/kernel/Regularizer/l2_regularizer:0");
    ck_assert_str_eq(tg_tensor_name(lb), "fc/bias/Regularizer/l1_regularizer:0");
    tg_array *a = init_fetch(g, lw, NULL, 0, NULL, 0);
    ck_assert_close(tg_array_get(a, 0), 0.1 * 12 * 4 / 2, 1e-5); /* 0.1 * l2_loss(2 * ones(3, 4)) */
    tg_array_free(a);
    a = init_fetch(g, lb, NULL, 0, NULL, 0);
    ck_assert_close(tg_array_get(a, 0), 0.5 * 4, 1e-5);
    tg_array_free(a);
    /* reuse adds no loss */
    o.reuse = TG_REUSE_TRUE;
    tg_layers_fully_connected(g, x, 4, &o);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 2);
    /* a scope regularizer is applied by get_variable, to both variables */
    TG_WITH_VARIABLE_SCOPE(g, "net", &(tg_variable_scope_opts){.regularizer = tg_layers_l1_regularizer(1)})
    {
        tg_layers_fully_connected(g, x, 2, NULL);
    }
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 4);
    ck_assert_str_eq(tg_tensor_name(tensor_at(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, 2)),
                     "net/fully_connected/weights/Regularizer/l1_regularizer:0");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_fc_collections)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(1, 3), (float[]){1, 2, 3});
    const char *mine[] = {"my_vars"}, *wonly[] = {"w_only"}, *bonly[] = {"b_only", "my_vars"};
    const char *outs[] = {"outs", "outs", "more"};
    TG_OPTS(tg_layers_fc_opts, o, .scope = "fc", .variables_collections = mine, .n_variables_collections = 1,
            .weights_collections = wonly, .n_weights_collections = 1, .biases_collections = bonly,
            .n_biases_collections = 2, .outputs_collections = outs, .n_outputs_collections = 3);
    tg_tensor *y = tg_layers_fully_connected(g, x, 4, &o);
    ck_assert_tg_ok(g);
    tg_variable *w = var(g, "fc/weights"), *b = var(g, "fc/biases");
    ck_assert_int_eq(count(g, "my_vars"), 2); /* biases listed twice, added once */
    ck_assert_ptr_eq(var_at(g, "my_vars", 0), w);
    ck_assert_ptr_eq(var_at(g, "my_vars", 1), b);
    ck_assert_int_eq(count(g, "w_only"), 1);
    ck_assert_ptr_eq(var_at(g, "w_only", 0), w);
    ck_assert_int_eq(count(g, "b_only"), 1);
    ck_assert_ptr_eq(var_at(g, "b_only", 0), b);
    ck_assert_int_eq(count(g, "outs"), 1);
    ck_assert_ptr_eq(tensor_at(g, "outs", 0), y);
    ck_assert_ptr_eq(tensor_at(g, "more", 0), y);
    /* reuse: the variables are not added again, the new output is */
    o.reuse = TG_REUSE_TRUE;
    tg_tensor *y2 = tg_layers_fully_connected(g, x, 4, &o);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count(g, "my_vars"), 2);
    ck_assert_int_eq(count(g, "w_only"), 1);
    ck_assert_int_eq(count(g, "outs"), 2);
    ck_assert_ptr_eq(tensor_at(g, "outs", 1), y2);
    /* trainable = false: model variables that are not trainable */
    TG_OPTS(tg_layers_fc_opts, frozen, .scope = "frozen", .trainable = false);
    tg_layers_fully_connected(g, x, 2, &frozen);
    ck_assert_tg_ok(g);
    tg_variable *fw = var(g, "frozen/weights");
    ck_assert(!tg_variable_trainable(fw));
    ck_assert(in_collection(g, TG_GRAPHKEYS_MODEL_VARIABLES, fw));
    ck_assert(in_collection(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, fw));
    ck_assert(!in_collection(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, fw));
    ck_assert(!in_collection(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, var(g, "frozen/biases")));
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 2);
    tg_graph_free(g);
}
END_TEST

/* Rank > 2 inputs are contracted on the last axis (TF 1.15's tensordot). */
START_TEST(test_fc_rank3)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2, 3), "x");
    TG_OPTS(tg_layers_fc_opts, lin, .activation_fn = tg_linear);
    tg_tensor *y = tg_layers_fully_connected(g, x, 2, &lin);
    ck_assert_tg_ok(g);
    ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(-1, 2, 2));
    ck_assert_str_eq(tg_tensor_name(y), "fully_connected/BiasAdd:0");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_tensor_op(y), 0)), "fully_connected/Tensordot:0");
    ck_assert_ptr_nonnull(tg_graph_op(g, "fully_connected/Tensordot/MatMul"));
    tg_tensor *wv = c32(g, TG_SHAPE(3, 2), (float[]){1, 0, 0, 1, 1, 1});
    tg_op *assign = tg_tensor_op(tg_assign(g, tg_variable_ref(var(g, "fully_connected/weights")), wv, NULL));
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 3, (int64_t[]){1, 2, 3}, (float[]){1, 2, 3, 4, 5, 6});
    tg_array *a = init_fetch(g, y, &(tg_feed){x, xv}, 1, &assign, 1);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1, 2, 2), ((double[]){4, 5, 10, 11}), 1e-6);
    tg_array_free(a);
    /* two unknown leading dimensions: the shape is read at run time */
    tg_tensor *x2 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, -1, 3), "x2");
    TG_OPTS(tg_layers_fc_opts, fc2, .scope = "fc2", .activation_fn = tg_linear);
    tg_tensor *y2 = tg_layers_fully_connected(g, x2, 2, &fc2);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_tensor_shape(y2).rank, 3);
    tg_op *assign2 = tg_tensor_op(tg_assign(g, tg_variable_ref(var(g, "fc2/weights")), wv, NULL));
    a = init_fetch(g, y2, &(tg_feed){x2, xv}, 1, &assign2, 1);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1, 2, 2), ((double[]){4, 5, 10, 11}), 1e-6);
    tg_array_free(a);
    tg_array_free(xv);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_fc_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *v = c32(g, TG_SHAPE(3), (float[]){1, 2, 3});
    tg_tensor *u = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, -1), "u");
    tg_tensor *r = tg_placeholder(g, TG_FLOAT32, TG_SHAPE_UNKNOWN, "r");
    tg_tensor *i = tg_placeholder(g, TG_INT32, TG_SHAPE(2, 2), "i");
    tg_tensor *ok = c32(g, TG_SHAPE(1, 1), (float[]){1});
    int n_ops = tg_graph_num_ops(g);
    struct {
        tg_tensor *x;
        int n;
        const char *msg;
    } cases[] = {
        {v, 2, "Input 0 of layer fully_connected is incompatible with the layer: expected min_ndim=2, found ndim=1. "
               "Full shape received: [3]"},
        {u, 2, "The last dimension of the inputs to `Dense` should be defined. Found `None`."},
        {r, 2, "The last dimension of the inputs to `Dense` should be defined. Found `None`."},
        {i, 2, "Unable to build `Dense` layer with non-floating point dtype int32"},
        {ok, -1, "num_outputs must be non-negative, got -1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ck_assert_ptr_null(tg_layers_fully_connected(g, cases[k].x, cases[k].n, NULL));
        ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
        ck_assert_str_contains(tg_graph_message(g), cases[k].msg);
        tg_graph_clear_status(g);
    }
    /* nothing was left behind: no op, no variable, and the default name is free */
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 0);
    ck_assert_str_eq(tg_tensor_name(tg_layers_fully_connected(g, ok, 1, NULL)), "fully_connected/Relu:0");
    /* a bad collection list */
    TG_OPTS(tg_layers_fc_opts, badc, .n_outputs_collections = 1);
    ck_assert_ptr_null(tg_layers_fully_connected(g, ok, 1, &badc));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    /* NULL graph and input: NULL, no error; a graph in error: NULL */
    ck_assert_ptr_null(tg_layers_fully_connected(NULL, ok, 1, NULL));
    ck_assert_ptr_null(tg_layers_fully_connected(g, NULL, 1, NULL));
    ck_assert_tg_ok(g);
    tg_graph_fail(g, TG_INTERNAL, "earlier");
    n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_layers_fully_connected(g, ok, 1, NULL));
    ck_assert_ptr_null(tg_layers_conv2d(g, ok, 1, TG_KERNEL(1, 1), NULL));
    ck_assert_ptr_null(tg_layers_flatten(g, ok, NULL));
    ck_assert_ptr_null(tg_layers_max_pool2d(g, ok, TG_KERNEL(1, 1), NULL));
    ck_assert_ptr_null(tg_layers_avg_pool2d(g, ok, TG_KERNEL(1, 1), NULL));
    ck_assert_ptr_null(tg_layers_dropout(g, ok, NULL));
    ck_assert_ptr_null(tg_linear(g, ok, NULL));
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    ck_assert_str_eq(tg_graph_message(g), "earlier");
    tg_graph_free(g);
}
END_TEST

/* ---- conv2d --------------------------------------------------------------------- */

/* The conv2d fields the table-driven tests vary; conv_opts puts them over
 * TG_LAYERS_CONV2D_OPTS_INIT (zero stride/rate components: the default). */
typedef struct conv_fields {
    const char *scope;
    int stride[2];
    tg_padding padding;
    tg_data_format data_format;
    int rate[2];
} conv_fields;

static tg_layers_conv2d_opts conv_opts(const conv_fields *f)
{
    tg_layers_conv2d_opts o = TG_LAYERS_CONV2D_OPTS_INIT;
    o.scope = f->scope;
    o.stride[0] = f->stride[0];
    o.stride[1] = f->stride[1];
    o.padding = f->padding;
    o.data_format = f->data_format;
    o.rate[0] = f->rate[0];
    o.rate[1] = f->rate[1];
    return o;
}

START_TEST(test_conv_defaults_and_shapes)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 8, 8, 3), "x");
    tg_tensor *y = tg_layers_conv2d(g, x, 16, TG_KERNEL(3, 3), NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(y), "Conv/Relu:0");
    ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(-1, 8, 8, 16)); /* SAME by default */
    ck_assert_ptr_nonnull(tg_graph_op(g, "Conv/Conv2D"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "Conv/BiasAdd"));
    tg_variable *w = var(g, "Conv/weights"), *b = var(g, "Conv/biases");
    ck_assert_shape_eq(tg_variable_shape(w), TG_SHAPE(3, 3, 3, 16));
    ck_assert_shape_eq(tg_variable_shape(b), TG_SHAPE(16));
    ck_assert(in_collection(g, TG_GRAPHKEYS_MODEL_VARIABLES, w) && in_collection(g, TG_GRAPHKEYS_MODEL_VARIABLES, b));
    ck_assert(in_collection(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, w));
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2);
    struct {
        conv_fields o;
        int k[2];
        tg_shape want;
        const char *scope;
    } cases[] = {
        {{.stride = {2, 2}}, {3, 3}, TG_SHAPE(-1, 4, 4, 5), "Conv_1"},
        {{.padding = TG_PADDING_VALID}, {3, 3}, TG_SHAPE(-1, 6, 6, 5), "Conv_2"},
        {{.padding = TG_PADDING_VALID, .stride = {2, 2}}, {3, 3}, TG_SHAPE(-1, 3, 3, 5), "Conv_3"},
        {{.padding = TG_PADDING_VALID, .stride = {1, 2}}, {3, 1}, TG_SHAPE(-1, 6, 4, 5), "Conv_4"},
        {{.padding = TG_PADDING_VALID, .rate = {2, 2}}, {3, 3}, TG_SHAPE(-1, 4, 4, 5), "Conv_5"},
        {{.rate = {2, 2}}, {3, 3}, TG_SHAPE(-1, 8, 8, 5), "Conv_6"},
        /* a lone first component is TF's int form: stride=3 is (3, 3) */
        {{.scope = "conv1", .stride = {3, 0}}, {2, 2}, TG_SHAPE(-1, 3, 3, 5), "conv1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tg_layers_conv2d_opts o = conv_opts(&cases[k].o);
        tg_tensor *t = tg_layers_conv2d(g, x, 5, cases[k].k, &o);
        ck_assert_tg_ok(g);
        ck_assert_shape_eq(tg_tensor_shape(t), cases[k].want);
        char name[64];
        snprintf(name, sizeof name, "%s/weights", cases[k].scope);
        ck_assert_shape_eq(tg_variable_shape(var(g, name)), TG_SHAPE(cases[k].k[0], cases[k].k[1], 3, 5));
    }
    /* NCHW: channels in dimension 1, BiasAdd in NCHW */
    tg_tensor *xc = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3, 8, 8), "xc");
    TG_OPTS(tg_layers_conv2d_opts, nchw, .data_format = TG_NCHW, .scope = "nchw");
    tg_tensor *yc = tg_layers_conv2d(g, xc, 4, TG_KERNEL(3, 3), &nchw);
    ck_assert_tg_ok(g);
    ck_assert_shape_eq(tg_tensor_shape(yc), TG_SHAPE(-1, 4, 8, 8));
    ck_assert_shape_eq(tg_variable_shape(var(g, "nchw/weights")), TG_SHAPE(3, 3, 3, 4));
    tg_graph_free(g);
}
END_TEST

/* x = 1..9 as a 3x3 image, 2x2 kernel of ones, bias 0.5. */
START_TEST(test_conv_values)
{
    tg_graph *g = tg_graph_new();
    float img[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    tg_tensor *x = c32(g, TG_SHAPE(1, 3, 3, 1), img);
    TG_OPTS(tg_layers_conv2d_opts, o, .weights_initializer = &ONE, .biases_initializer = &HALF,
            .activation_fn = tg_linear);
    tg_tensor *same = tg_layers_conv2d(g, x, 1, TG_KERNEL(2, 2), &o);
    o.padding = TG_PADDING_VALID;
    tg_tensor *valid = tg_layers_conv2d(g, x, 1, TG_KERNEL(2, 2), &o);
    o.rate[0] = o.rate[1] = 2;
    tg_tensor *dilated = tg_layers_conv2d(g, x, 1, TG_KERNEL(2, 2), &o);
    const tg_initializer minus13 = tg_constant_initializer(-13);
    TG_OPTS(tg_layers_conv2d_opts, r, .weights_initializer = &ONE, .biases_initializer = &minus13,
            .padding = TG_PADDING_VALID);
    tg_tensor *relu = tg_layers_conv2d(g, x, 1, TG_KERNEL(2, 2), &r);
    tg_tensor *xc = c32(g, TG_SHAPE(1, 1, 3, 3), img);
    TG_OPTS(tg_layers_conv2d_opts, c, .weights_initializer = &ONE, .biases_initializer = &HALF,
            .activation_fn = tg_linear, .data_format = TG_NCHW);
    tg_tensor *nchw = tg_layers_conv2d(g, xc, 1, TG_KERNEL(2, 2), &c);
    ck_assert_tg_ok(g);
    /* SAME with an even kernel pads after: out[i][j] = sum x[i..i+1][j..j+1] */
    double want_same[] = {12.5, 16.5, 9.5, 24.5, 28.5, 15.5, 15.5, 17.5, 9.5};
    tg_array *a = init_fetch(g, same, NULL, 0, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1, 3, 3, 1), want_same, 1e-5);
    tg_array_free(a);
    a = init_fetch(g, valid, NULL, 0, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1, 2, 2, 1), ((double[]){12.5, 16.5, 24.5, 28.5}), 1e-5);
    tg_array_free(a);
    a = init_fetch(g, dilated, NULL, 0, NULL, 0); /* the four corners */
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1, 1, 1, 1), ((double[]){20.5}), 1e-5);
    tg_array_free(a);
    a = init_fetch(g, relu, NULL, 0, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1, 2, 2, 1), ((double[]){0, 3, 11, 15}), 1e-5);
    tg_array_free(a);
    a = init_fetch(g, nchw, NULL, 0, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1, 1, 3, 3), want_same, 1e-5);
    tg_array_free(a);
    /* two input channels, two filters assigned by hand (VALID 1x1 = a matmul per pixel) */
    tg_tensor *x2 = c32(g, TG_SHAPE(1, 1, 2, 2), (float[]){1, 2, 3, 4});
    TG_OPTS(tg_layers_conv2d_opts, mix, .scope = "mix", .activation_fn = tg_linear);
    tg_tensor *y2 = tg_layers_conv2d(g, x2, 2, TG_KERNEL(1, 1), &mix);
    tg_tensor *wv = c32(g, TG_SHAPE(1, 1, 2, 2), (float[]){1, 10, 100, 1000});
    tg_op *assign = tg_tensor_op(tg_assign(g, tg_variable_ref(var(g, "mix/weights")), wv, NULL));
    a = init_fetch(g, y2, NULL, 0, &assign, 1);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(1, 1, 2, 2), ((double[]){201, 2010, 403, 4030}), 1e-3);
    tg_array_free(a);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_conv_normalizer_and_reuse)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 4, 4, 3), "x");
    test_norm p = {0};
    TG_OPTS(tg_layers_conv2d_opts, o, .scope = "c1", .normalizer_fn = test_normalizer, .normalizer_params = &p);
    tg_tensor *y = tg_layers_conv2d(g, x, 8, TG_KERNEL(3, 3), &o);
    ck_assert_tg_ok(g);
    ck_assert_ptr_null(tg_graph_variable(g, "c1/biases"));
    ck_assert_str_eq(tg_op_type(tg_tensor_op(p.in)), "Conv2D");
    ck_assert_str_eq(p.var_scope, "c1");
    ck_assert_ptr_eq(tg_op_input(tg_tensor_op(y), 0), p.out);
    ck_assert_str_eq(tg_tensor_name(y), "c1/Relu:0");
    /* reuse: the conv and the normalizer's variables are shared */
    o.reuse = TG_REUSE_TRUE;
    tg_tensor *y2 = tg_layers_conv2d(g, x, 8, TG_KERNEL(3, 3), &o);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(p.calls, 2);
    ck_assert_str_eq(p.name_scope, "c1_1/");
    ck_assert_str_eq(tg_tensor_name(y2), "c1_1/Relu:0");
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2); /* c1/weights, c1/norm_var */
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_MODEL_VARIABLES), 1);
    ck_assert_ptr_eq(tg_op_input(tg_graph_op(g, "c1_1/Conv2D"), 1), tg_variable_value(var(g, "c1/weights")));
    /* default names keep counting: Conv, Conv_1 */
    tg_layers_conv2d(g, x, 2, TG_KERNEL(1, 1), NULL);
    tg_layers_conv2d(g, x, 2, TG_KERNEL(1, 1), NULL);
    ck_assert_ptr_nonnull(tg_graph_variable(g, "Conv_1/biases"));
    TG_OPTS(tg_layers_conv2d_opts, noscope, .reuse = TG_REUSE_TRUE);
    ck_assert_ptr_null(tg_layers_conv2d(g, x, 2, TG_KERNEL(1, 1), &noscope));
    ck_assert_str_contains(tg_graph_message(g), "reuse=True cannot be used without a name_or_scope");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_conv_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(1, 4, 4, 3), "x");
    tg_tensor *r3 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 4, 3), "r3");
    tg_tensor *ru = tg_placeholder(g, TG_FLOAT32, TG_SHAPE_UNKNOWN, "ru");
    tg_tensor *uc = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(1, 4, 4, -1), "uc");
    tg_tensor *xi = tg_placeholder(g, TG_INT32, TG_SHAPE(1, 4, 4, 3), "xi");
    int n_ops = tg_graph_num_ops(g);
    struct {
        tg_tensor *x;
        int k[2];
        conv_fields o;
        const char *msg;
    } cases[] = {
        {r3, {3, 3}, {0}, "Convolution expects input with rank 4, got 3"},
        {ru, {3, 3}, {0}, "Convolution expects input with rank 4, got None"},
        {uc, {3, 3}, {0}, "The channel dimension of the inputs should be defined. Found `None`."},
        {x, {3, 3}, {.data_format = TG_DATA_FORMAT_INVALID}, "Invalid data_format"},
        {x, {3, 3}, {.stride = {2, 2}, .rate = {2, 1}},
         "strides > 1 not supported in conjunction with dilation_rate > 1"},
        {x, {0, 3}, {0}, "kernel_size must be positive"},
        {x, {3, 3}, {.stride = {-1, 1}}, "stride must be positive"},
        {x, {3, 3}, {.padding = (tg_padding)7}, "padding must be SAME or VALID"},
        {xi, {3, 3}, {0}, "inputs must be float32 or float64, got int32"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tg_layers_conv2d_opts o = conv_opts(&cases[k].o);
        ck_assert_ptr_null(tg_layers_conv2d(g, cases[k].x, 2, cases[k].k, &o));
        ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
        ck_assert_str_contains(tg_graph_message(g), cases[k].msg);
        tg_graph_clear_status(g);
    }
    ck_assert_ptr_null(tg_layers_conv2d(g, x, 2, NULL, NULL));
    ck_assert_str_contains(tg_graph_message(g), "Conv: kernel_size is NULL");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_layers_max_pool2d(g, x, NULL, NULL));
    ck_assert_str_contains(tg_graph_message(g), "MaxPool2D: kernel_size is NULL");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 0);
    /* the op's own check: a VALID window larger than the input */
    TG_OPTS(tg_layers_conv2d_opts, valid, .padding = TG_PADDING_VALID);
    ck_assert_ptr_null(tg_layers_conv2d(g, x, 2, TG_KERNEL(6, 6), &valid));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "Conv/Conv2D");
    tg_graph_free(g);
}
END_TEST

/* ---- flatten -------------------------------------------------------------------- */

START_TEST(test_flatten)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2, 3, 4), "x");
    tg_tensor *f = tg_layers_flatten(g, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(f), "Flatten/flatten/Reshape:0");
    ck_assert_shape_eq(tg_tensor_shape(f), TG_SHAPE(-1, 24));
    tg_tensor *f1 = tg_layers_flatten(g, x, NULL);
    ck_assert_str_eq(tg_tensor_name(f1), "Flatten_1/flatten/Reshape:0");
    const char *outs[] = {"flat_outs"};
    tg_tensor *f2 = tg_layers_flatten(g, x, &(tg_layers_flatten_opts){.scope = "flat", .outputs_collections = outs,
                                                                      .n_outputs_collections = 1});
    ck_assert_str_eq(tg_tensor_name(f2), "flat/flatten/Reshape:0");
    ck_assert_ptr_eq(tensor_at(g, "flat_outs", 0), f2);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 0);
    /* values keep their row-major order */
    tg_tensor *c = c32(g, TG_SHAPE(2, 2, 2), (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    tg_tensor *fc = tg_layers_flatten(g, c, NULL);
    tg_array *a = init_fetch(g, fc, NULL, 0, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(2, 4), ((double[]){1, 2, 3, 4, 5, 6, 7, 8}), 0);
    tg_array_free(a);
    /* rank 1: [batch, 1] */
    tg_tensor *v = tg_layers_flatten(g, c32(g, TG_SHAPE(3), (float[]){1, 2, 3}), NULL);
    ck_assert_shape_eq(tg_tensor_shape(v), TG_SHAPE(3, 1));
    /* unknown inner dimensions: known batch static, unknown batch at run time */
    tg_tensor *kb = tg_layers_flatten(g, tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, -1, 3), "kb"), NULL);
    ck_assert_shape_eq(tg_tensor_shape(kb), TG_SHAPE(2, -1));
    tg_tensor *ub = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, -1, 3), "ub");
    tg_tensor *fu = tg_layers_flatten(g, ub, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_tensor_shape(fu).rank, 2);
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 3, (int64_t[]){2, 2, 3}, (float[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    a = init_fetch(g, fu, &(tg_feed){ub, xv}, 1, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(2, 6), ((double[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), 0);
    tg_array_free(a);
    tg_array_free(xv);
    /* errors leave nothing */
    int n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_layers_flatten(g, tg_placeholder(g, TG_FLOAT32, TG_SHAPE_UNKNOWN, "ur"), NULL));
    ck_assert_str_contains(tg_graph_message(g), "as_list() is not defined on an unknown TensorShape.");
    tg_graph_clear_status(g);
    n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_layers_flatten(g, c32(g, TG_SCALAR, (float[]){1}), NULL));
    ck_assert_str_contains(tg_graph_message(g), "expected min_ndim=1, found ndim=0");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops + 1); /* the scalar constant only */
    tg_graph_free(g);
}
END_TEST

/* ---- pooling -------------------------------------------------------------------- */

START_TEST(test_pool_shapes)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 8, 8, 3), "x");
    tg_tensor *m = tg_layers_max_pool2d(g, x, TG_KERNEL(2, 2), NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(m), "MaxPool2D/MaxPool:0");
    ck_assert_shape_eq(tg_tensor_shape(m), TG_SHAPE(-1, 4, 4, 3));
    ck_assert_str_eq(tg_tensor_name(tg_layers_max_pool2d(g, x, TG_KERNEL(2, 2), NULL)), "MaxPool2D_1/MaxPool:0");
    tg_tensor *a = tg_layers_avg_pool2d(g, x, TG_KERNEL(2, 2), NULL);
    ck_assert_str_eq(tg_tensor_name(a), "AvgPool2D/AvgPool:0");
    ck_assert_shape_eq(tg_tensor_shape(a), TG_SHAPE(-1, 4, 4, 3));
    struct {
        int k[2];
        tg_layers_pool2d_opts o;
        tg_shape want;
    } cases[] = {
        {{3, 3}, {0}, TG_SHAPE(-1, 3, 3, 3)},                             /* stride 2, VALID */
        {{3, 3}, {.padding = TG_PADDING_SAME}, TG_SHAPE(-1, 4, 4, 3)},
        {{2, 2}, {.stride = {1, 1}}, TG_SHAPE(-1, 7, 7, 3)},
        {{2, 1}, {.stride = {1, 0}}, TG_SHAPE(-1, 7, 8, 3)},               /* stride=1: (1, 1) */
        {{2, 1}, {.stride = {0, 1}}, TG_SHAPE(-1, 4, 8, 3)},               /* (default 2, 1) */
        {{8, 8}, {0}, TG_SHAPE(-1, 1, 1, 3)},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ck_assert_shape_eq(tg_tensor_shape(tg_layers_max_pool2d(g, x, cases[k].k, &cases[k].o)), cases[k].want);
        ck_assert_shape_eq(tg_tensor_shape(tg_layers_avg_pool2d(g, x, cases[k].k, &cases[k].o)), cases[k].want);
    }
    tg_tensor *xc = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3, 8, 8), "xc");
    tg_tensor *mc = tg_layers_max_pool2d(g, xc, TG_KERNEL(2, 2), &(tg_layers_pool2d_opts){.data_format = TG_NCHW});
    ck_assert_shape_eq(tg_tensor_shape(mc), TG_SHAPE(-1, 3, 4, 4));
    const char *outs[] = {"pools"};
    tg_tensor *p1 = tg_layers_max_pool2d(g, x, TG_KERNEL(2, 2),
                                         &(tg_layers_pool2d_opts){.scope = "pool1", .outputs_collections = outs,
                                                                  .n_outputs_collections = 1});
    ck_assert_str_eq(tg_tensor_name(p1), "pool1/MaxPool:0");
    ck_assert_ptr_eq(tensor_at(g, "pools", 0), p1);
    ck_assert_tg_ok(g);
    /* errors */
    int n_ops = tg_graph_num_ops(g);
    tg_tensor *r3 = c32(g, TG_SHAPE(2, 2, 1), (float[]){1, 2, 3, 4});
    ck_assert_ptr_null(tg_layers_max_pool2d(g, r3, TG_KERNEL(2, 2), NULL));
    ck_assert_str_contains(tg_graph_message(g),
                           "Input 0 of layer max_pooling2d is incompatible with the layer: expected ndim=4, found ndim=3");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_layers_avg_pool2d(g, x, TG_KERNEL(2, 2), &(tg_layers_pool2d_opts){.data_format = TG_DATA_FORMAT_INVALID}));
    ck_assert_str_contains(tg_graph_message(g), "data_format has to be either NCHW or NHWC.");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_layers_avg_pool2d(g, x, TG_KERNEL(0, 2), NULL));
    ck_assert_str_contains(tg_graph_message(g), "kernel_size must be positive");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops + 1);
    ck_assert_ptr_null(tg_layers_max_pool2d(g, x, TG_KERNEL(12, 12), NULL)); /* the op's own check */
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_pool_values)
{
    tg_graph *g = tg_graph_new();
    float v[16];
    for (int i = 0; i < 16; i++) v[i] = (float)(i + 1);
    tg_tensor *x = c32(g, TG_SHAPE(1, 4, 4, 1), v);
    tg_tensor *m = tg_layers_max_pool2d(g, x, TG_KERNEL(2, 2), NULL);
    tg_tensor *a = tg_layers_avg_pool2d(g, x, TG_KERNEL(2, 2), NULL);
    tg_tensor *as = tg_layers_avg_pool2d(g, x, TG_KERNEL(3, 3), &(tg_layers_pool2d_opts){.padding = TG_PADDING_SAME});
    tg_array *r = init_fetch(g, m, NULL, 0, NULL, 0);
    ck_assert_array(r, TG_FLOAT32, TG_SHAPE(1, 2, 2, 1), ((double[]){6, 8, 14, 16}), 0);
    tg_array_free(r);
    r = init_fetch(g, a, NULL, 0, NULL, 0);
    ck_assert_array(r, TG_FLOAT32, TG_SHAPE(1, 2, 2, 1), ((double[]){3.5, 5.5, 11.5, 13.5}), 1e-6);
    tg_array_free(r);
    /* SAME 3x3 stride 2 on 4x4: pad 0 before, 1 after; means over valid cells */
    r = init_fetch(g, as, NULL, 0, NULL, 0);
    ck_assert_array(r, TG_FLOAT32, TG_SHAPE(1, 2, 2, 1),
                    ((double[]){(1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11) / 9.0, (3 + 4 + 7 + 8 + 11 + 12) / 6.0,
                                (9 + 10 + 11 + 13 + 14 + 15) / 6.0, (11 + 12 + 15 + 16) / 4.0}),
                    1e-5);
    tg_array_free(r);
    tg_graph_free(g);
}
END_TEST

/* ---- dropout -------------------------------------------------------------------- */

START_TEST(test_dropout)
{
    tg_graph *g = tg_graph_new();
    float v[64];
    for (int i = 0; i < 64; i++) v[i] = (float)(i + 1);
    tg_tensor *x = c32(g, TG_SHAPE(8, 8), v);
    /* not training: the identity, as an Identity op in the layer's scope */
    TG_OPTS(tg_layers_dropout_opts, not_training, .is_training = false);
    tg_tensor *off = tg_layers_dropout(g, x, &not_training);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(off), "Dropout/Identity:0");
    tg_array *r = init_fetch(g, off, NULL, 0, NULL, 0);
    for (int i = 0; i < 64; i++) ck_assert_float_eq(tg_array_get(r, i), v[i]);
    tg_array_free(r);
    /* training (the default): kept values scaled by 1 / keep_prob, others 0 */
    TG_OPTS(tg_layers_dropout_opts, seeded, .seed = 3);
    tg_tensor *on = tg_layers_dropout(g, x, &seeded);
    ck_assert_tg_ok(g);
    ck_assert_shape_eq(tg_tensor_shape(on), TG_SHAPE(8, 8));
    ck_assert_int_eq(strncmp(tg_tensor_name(on), "Dropout_1/dropout/", 18), 0);
    r = init_fetch(g, on, NULL, 0, NULL, 0);
    int kept = 0;
    for (int i = 0; i < 64; i++) {
        double y = tg_array_get(r, i);
        ck_assert(y == 0 || fabs(y - 2 * v[i]) < 1e-4);
        kept += y != 0;
    }
    ck_assert(kept > 8 && kept < 56);
    tg_array_free(r);
    /* keep_prob 1 keeps everything */
    TG_OPTS(tg_layers_dropout_opts, keep, .keep_prob = 1, .scope = "keep");
    tg_tensor *all = tg_layers_dropout(g, x, &keep);
    ck_assert_int_eq(strncmp(tg_tensor_name(all), "keep/dropout/", 13), 0);
    r = init_fetch(g, all, NULL, 0, NULL, 0);
    for (int i = 0; i < 64; i++) ck_assert_float_eq_tol(tg_array_get(r, i), v[i], 1e-5);
    tg_array_free(r);
    /* is_training as a tensor: decided at run time */
    tg_tensor *training = tg_placeholder(g, TG_BOOL, TG_SCALAR, "training");
    const char *outs[] = {"drop_outs"};
    TG_OPTS(tg_layers_dropout_opts, dyno, .is_training_t = training, .keep_prob = 0.25, .outputs_collections = outs,
            .n_outputs_collections = 1);
    tg_tensor *dyn = tg_layers_dropout(g, x, &dyno);
    ck_assert_tg_ok(g);
    ck_assert_ptr_eq(tensor_at(g, "drop_outs", 0), dyn);
    tg_array *f = tg_array_scalar_bool(false), *t = tg_array_scalar_bool(true);
    r = init_fetch(g, dyn, &(tg_feed){training, f}, 1, NULL, 0);
    for (int i = 0; i < 64; i++) ck_assert_float_eq(tg_array_get(r, i), v[i]);
    tg_array_free(r);
    r = init_fetch(g, dyn, &(tg_feed){training, t}, 1, NULL, 0);
    for (int i = 0; i < 64; i++) {
        double y = tg_array_get(r, i);
        ck_assert(y == 0 || fabs(y - 4 * v[i]) < 1e-3);
    }
    tg_array_free(r);
    tg_array_free(f);
    tg_array_free(t);
    /* errors: keep_prob 0 when training (fine when not), a float is_training */
    int n_ops = tg_graph_num_ops(g);
    TG_OPTS(tg_layers_dropout_opts, keep0, .keep_prob = 0);
    ck_assert_ptr_null(tg_layers_dropout(g, x, &keep0));
    ck_assert_str_contains(tg_graph_message(g), "rate must be a scalar tensor or a float in the range [0, 1), got 1");
    tg_graph_clear_status(g);
    TG_OPTS(tg_layers_dropout_opts, float_training, .is_training_t = x);
    ck_assert_ptr_null(tg_layers_dropout(g, x, &float_training));
    ck_assert_str_contains(tg_graph_message(g), "is_training must be a bool scalar");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    TG_OPTS(tg_layers_dropout_opts, keep0_off, .keep_prob = 0, .is_training = false);
    ck_assert_ptr_nonnull(tg_layers_dropout(g, x, &keep0_off));
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

/* A small CNN through every layer: shapes line up and it runs. */
START_TEST(test_small_cnn)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 1);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 8, 8, 1), "x");
    tg_tensor *h = tg_layers_conv2d(g, x, 4, TG_KERNEL(3, 3), NULL);
    h = tg_layers_max_pool2d(g, h, TG_KERNEL(2, 2), NULL);
    h = tg_layers_conv2d(g, h, 8, TG_KERNEL(3, 3), NULL);
    h = tg_layers_avg_pool2d(g, h, TG_KERNEL(2, 2), NULL);
    h = tg_layers_flatten(g, h, NULL);
    ck_assert_shape_eq(tg_tensor_shape(h), TG_SHAPE(-1, 32));
    h = tg_layers_fully_connected(g, h, 16, NULL);
    TG_OPTS(tg_layers_dropout_opts, not_training, .is_training = false);
    h = tg_layers_dropout(g, h, &not_training);
    TG_OPTS(tg_layers_fc_opts, lin, .activation_fn = tg_linear);
    tg_tensor *logits = tg_layers_fully_connected(g, h, 10, &lin);
    ck_assert_tg_ok(g);
    ck_assert_shape_eq(tg_tensor_shape(logits), TG_SHAPE(-1, 10));
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_MODEL_VARIABLES), 8);
    float img[2 * 64];
    for (int i = 0; i < 128; i++) img[i] = (float)((i * 7) % 11) / 11.0f;
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){2, 8, 8, 1}, img);
    tg_array *r = init_fetch(g, logits, &(tg_feed){x, xv}, 1, NULL, 0);
    ck_assert_shape_eq(tg_array_shape(r), TG_SHAPE(2, 10));
    for (int i = 0; i < 20; i++) ck_assert(isfinite(tg_array_get(r, i)));
    tg_array_free(r);
    tg_array_free(xv);
    tg_graph_free(g);
}
END_TEST


/* Issue 12 #9: a layer rejected half-way (here its activation refuses)
 * leaves nothing behind: no op, no variable, no collection item, no used
 * name; after tg_graph_clear_status a corrected retry builds exactly the
 * names a first build would ("c/weights", not "c_1/weights" or "Variable
 * c/weights already exists"). */
static tg_tensor *refusing_activation(tg_graph *g, tg_tensor *x, const char *name)
{
    (void)x, (void)name;
    tg_graph_fail(g, TG_INVALID_ARGUMENT, "this activation refuses");
    return NULL;
}

static int n_items(tg_graph *g, const char *key)
{
    tg_item *items = NULL;
    int n = tg_get_collection(g, key, NULL, &items);
    tg_free(items);
    return n;
}

START_TEST(test_rejected_layer_leaves_nothing)
{
    tg_set_log_callback(NULL, NULL);
    for (int kind = 0; kind < 3; kind++) {
        tg_graph *g = tg_graph_new();
        tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 6, 6, 3), "x");
        int ops0 = tg_graph_num_ops(g);
        tg_tensor *y = NULL;
        TG_OPTS(tg_layers_conv2d_opts, bad_c, .scope = "c", .activation_fn = refusing_activation,
                .normalizer_fn = tg_layers_batch_norm_fn);
        TG_OPTS(tg_layers_fc_opts, bad_f, .scope = "c", .activation_fn = refusing_activation);
        TG_OPTS(tg_layers_batch_norm_opts, bad_b, .scope = "c", .activation_fn = refusing_activation);
        if (kind == 0) y = tg_layers_conv2d(g, x, 4, TG_KERNEL(3, 3), &bad_c);
        if (kind == 1) y = tg_layers_fully_connected(g, x, 4, &bad_f);
        if (kind == 2) y = tg_layers_batch_norm(g, x, &bad_b);
        ck_assert_ptr_null(y);
        ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
        ck_assert_str_contains(tg_graph_message(g), "this activation refuses");
        ck_assert_int_eq(tg_graph_num_ops(g), ops0);
        ck_assert_int_eq(n_items(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 0);
        ck_assert_int_eq(n_items(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 0);
        ck_assert_int_eq(n_items(g, TG_GRAPHKEYS_UPDATE_OPS), 0);
        ck_assert_ptr_null(tg_graph_variable(g, kind == 2 ? "c/beta" : "c/weights"));
        tg_graph_clear_status(g);
        TG_OPTS(tg_layers_conv2d_opts, good_c, .scope = "c", .normalizer_fn = tg_layers_batch_norm_fn);
        TG_OPTS(tg_layers_fc_opts, good_f, .scope = "c");
        TG_OPTS(tg_layers_batch_norm_opts, good_b, .scope = "c");
        if (kind == 0) y = tg_layers_conv2d(g, x, 4, TG_KERNEL(3, 3), &good_c);
        if (kind == 1) y = tg_layers_fully_connected(g, x, 4, &good_f);
        if (kind == 2) y = tg_layers_batch_norm(g, x, &good_b);
        ck_assert_tg_ok(g);
        ck_assert_ptr_nonnull(y);
        if (kind < 2) {
            ck_assert_ptr_nonnull(tg_graph_variable(g, "c/weights"));
            ck_assert_ptr_nonnull(tg_graph_op(g, "c/weights"));
        } else {
            ck_assert_ptr_nonnull(tg_graph_variable(g, "c/beta"));
            ck_assert_ptr_nonnull(tg_graph_op(g, "c/moving_mean"));
        }
        /* and it runs */
        tg_op *init = tg_global_variables_initializer(g);
        tg_session *s = tg_session_new(g);
        tgc_run_target(s, init);
        float xv[2 * 6 * 6 * 3];
        for (int i = 0; i < 2 * 6 * 6 * 3; i++) xv[i] = (float)(i % 7) - 3;
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){2, 6, 6, 3}, xv);
        tg_feed f = {x, xa};
        tg_array *out = tgc_fetch(s, y, &f, 1);
        tg_array_free(out);
        tg_array_free(xa);
        tg_session_free(s);
        tg_graph_free(g);
    }
    tg_set_log_callback(tg_log_stderr, NULL);
}
END_TEST

static Suite *layers_contrib_suite(void)
{
    Suite *s = suite_create("layers_contrib");
    TCase *fc = tcase_create("fully_connected");
    tcase_set_timeout(fc, TGC_TIMEOUT);
    tcase_add_unchecked_fixture(fc, make_initializers, NULL);
    tcase_add_test(fc, test_fc_defaults);
    tcase_add_test(fc, test_fc_values);
    tcase_add_test(fc, test_fc_no_bias);
    tcase_add_test(fc, test_fc_initializer_none_uses_scope);
    tcase_add_test(fc, test_fc_normalizer);
    tcase_add_test(fc, test_fc_reuse);
    tcase_add_test(fc, test_fc_reuse_in_named_scope);
    tcase_add_test(fc, test_fc_regularizers);
    tcase_add_test(fc, test_fc_collections);
    tcase_add_test(fc, test_fc_rank3);
    tcase_add_test(fc, test_fc_errors);
    suite_add_tcase(s, fc);
    TCase *conv = tcase_create("conv2d");
    tcase_set_timeout(conv, TGC_TIMEOUT);
    tcase_add_unchecked_fixture(conv, make_initializers, NULL);
    tcase_add_test(conv, test_conv_defaults_and_shapes);
    tcase_add_test(conv, test_conv_values);
    tcase_add_test(conv, test_conv_normalizer_and_reuse);
    tcase_add_test(conv, test_conv_errors);
    suite_add_tcase(s, conv);
    TCase *other = tcase_create("flatten_pool_dropout");
    tcase_set_timeout(other, TGC_TIMEOUT);
    tcase_add_unchecked_fixture(other, make_initializers, NULL);
    tcase_add_test(other, test_flatten);
    tcase_add_test(other, test_pool_shapes);
    tcase_add_test(other, test_pool_values);
    tcase_add_test(other, test_dropout);
    tcase_add_test(other, test_small_cnn);
    tcase_add_test(other, test_rejected_layer_leaves_nothing);
    suite_add_tcase(s, other);
    return s;
}

TGC_MAIN(layers_contrib_suite)
