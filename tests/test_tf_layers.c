/* test_tf_layers.c: tf.layers Layer objects and functional forms (Dense,
 * Conv2D, pooling, Flatten, Dropout): TF 1.15's layer and scope names,
 * collections, reuse, the Layer API before and after build, a layer applied
 * twice, updates and losses with get_*_for, and forward values computed by
 * hand. */
#include "tg_check.h"

static tg_tensor *ph(tg_graph *g, tg_shape s, const char *name) { return tg_placeholder(g, TG_FLOAT32, s, name); }
static tg_tensor *c32(tg_graph *g, tg_shape s, const float *v) { return tg_constant_data(g, TG_FLOAT32, s, v, NULL); }
static int coll(const tg_graph *g, const char *key) { return tg_get_collection(g, key, NULL, NULL); }

/* A session with every global variable initialized. */
static tg_session *init_session(tg_graph *g) {
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    return s;
}

/* Sets a float32 variable's value in s. */
static void set_var(tg_graph *g, tg_session *s, tg_variable *v, const float *vals) {
    tg_tensor *a = tg_assign(g, tg_variable_ref(v), c32(g, tg_variable_shape(v), vals), NULL);
    ck_assert_tg_ok(g);
    tgc_run_target(s, tg_tensor_op(a));
}

static const char *op_name(const tg_tensor *t) { return tg_op_name(tg_tensor_op(t)); }

/* The message the graph holds, then clears it (expecting `code`). */
static void expect_graph_error(tg_graph *g, tg_code code, const char *text) {
    ck_assert_tg_code(g, code);
    ck_assert_str_contains(tg_graph_message(g), text);
    tg_graph_clear_status(g);
}

static tg_variable *weight(const tg_layer *l, int i) {
    tg_variable *const *w = NULL;
    int n = tg_layer_weights(l, &w);
    ck_assert_int_gt(n, i);
    return w[i];
}

/* ---- names, scopes and collections --------------------------------------------- */

START_TEST(test_dense_names_and_collections)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = ph(g, TG_SHAPE(-1, 3), "x");
    TG_OPTS(tg_tf_layers_dense_opts, relu, .activation = tg_nn_relu);
    tg_layer *l1 = tg_tf_layers_dense_new(g, 2, &relu);
    ck_assert_str_eq(tg_layer_name(l1), "dense_1"); /* tf.layers count from 1 ... */
    ck_assert_ptr_null(tg_layer_scope_name(l1));
    tg_tensor *y = tg_layer_apply(l1, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_layer_scope_name(l1), "dense"); /* ... their scopes from "dense" */
    ck_assert_str_eq(op_name(y), "dense/Relu");
    ck_assert_ptr_nonnull(tg_graph_op(g, "dense/MatMul"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "dense/BiasAdd"));
    ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(-1, 2));
    ck_assert_str_eq(tg_variable_name(weight(l1, 0)), "dense/kernel");
    ck_assert_str_eq(tg_variable_name(weight(l1, 1)), "dense/bias");
    ck_assert_shape_eq(tg_variable_shape(weight(l1, 0)), TG_SHAPE(3, 2));
    ck_assert_shape_eq(tg_variable_shape(weight(l1, 1)), TG_SHAPE(2));
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_graph_op(g, "dense/MatMul"), 1)), "dense/kernel/read:0");
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 2);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 0);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 0);

    tg_layer *l2 = tg_tf_layers_dense_new(g, 2, NULL);
    ck_assert_str_eq(tg_layer_name(l2), "dense_2");
    tg_layer_apply(l2, x, NULL);
    ck_assert_str_eq(tg_layer_scope_name(l2), "dense_1");
    ck_assert_str_eq(tg_variable_name(weight(l2, 0)), "dense_1/kernel");
    /* the functional form takes a layer name too, and the next scope */
    tg_tensor *yf = tg_tf_layers_dense(g, x, 2, NULL);
    ck_assert_str_eq(op_name(yf), "dense_2/BiasAdd");
    ck_assert_ptr_nonnull(tg_graph_variable(g, "dense_2/kernel"));
    tg_layer *l3 = tg_tf_layers_dense_new(g, 2, NULL);
    ck_assert_str_eq(tg_layer_name(l3), "dense_4");
    tg_layer_apply(l3, x, NULL);
    ck_assert_str_eq(tg_layer_scope_name(l3), "dense_3");

    /* a class layer's name is the default name of its scope */
    TG_OPTS(tg_tf_layers_dense_opts, my, .name = "my_dense");
    tg_layer *m1 = tg_tf_layers_dense_new(g, 2, &my);
    tg_layer *m2 = tg_tf_layers_dense_new(g, 2, &my);
    ck_assert_str_eq(tg_layer_name(m2), "my_dense");
    tg_layer_apply(m1, x, NULL);
    tg_layer_apply(m2, x, NULL);
    ck_assert_str_eq(tg_layer_scope_name(m1), "my_dense");
    ck_assert_str_eq(tg_layer_scope_name(m2), "my_dense_1");
    ck_assert_ptr_nonnull(tg_graph_variable(g, "my_dense_1/bias"));

    /* variable scopes prefix the layer's; name scopes do not */
    tg_layer *in_scope = tg_tf_layers_dense_new(g, 2, NULL);
    tg_tensor *ys = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "outer", NULL) { ys = tg_layer_apply(in_scope, x, NULL); }
    ck_assert_str_eq(tg_layer_scope_name(in_scope), "outer/dense");
    ck_assert_str_eq(op_name(ys), "outer/dense/BiasAdd");
    ck_assert_ptr_nonnull(tg_graph_variable(g, "outer/dense/kernel"));
    tg_layer *in_ns = tg_tf_layers_dense_new(g, 2, NULL);
    TG_WITH_NAME_SCOPE(g, "some_name_scope") { tg_layer_apply(in_ns, x, NULL); }
    ck_assert_str_eq(tg_layer_scope_name(in_ns), "dense_4");

    /* other classes count on their own */
    tg_layer *c = tg_tf_layers_conv2d_new(g, 1, TG_KERNEL(1, 1), NULL);
    ck_assert_str_eq(tg_layer_name(c), "conv2d_1");
    tg_layer *p = tg_tf_layers_max_pooling2d_new(g, TG_KERNEL(2, 2), NULL, NULL);
    ck_assert_str_eq(tg_layer_name(p), "max_pooling2d_1");
    ck_assert_tg_ok(g);
    tg_layer *layers[] = {l1, l2, l3, m1, m2, in_scope, in_ns, c, p};
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) tg_layer_free(layers[i]);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_dense_functional_reuse)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = ph(g, TG_SHAPE(5, 3), "x");
    TG_OPTS(tg_tf_layers_dense_opts, myr, .name = "my_dense", .activation = tg_nn_relu);
    tg_tensor *y = tg_tf_layers_dense(g, x, 2, &myr);
    ck_assert_str_eq(op_name(y), "my_dense/Relu");
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 2);
    /* the same name again without reuse: TF's error, nothing added */
    int n_ops = tg_graph_num_ops(g);
    TG_OPTS(tg_tf_layers_dense_opts, my, .name = "my_dense");
    ck_assert_ptr_null(tg_tf_layers_dense(g, x, 2, &my));
    expect_graph_error(g, TG_INVALID_ARGUMENT,
                       "Variable my_dense/kernel already exists, disallowed. Did you mean to set reuse=True or "
                       "reuse=tf.AUTO_REUSE in VarScope?");
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    /* with reuse the variables are shared; ops go to a new name scope */
    TG_OPTS(tg_tf_layers_dense_opts, myt, .name = "my_dense", .reuse = TG_REUSE_TRUE);
    tg_tensor *y2 = tg_tf_layers_dense(g, x, 2, &myt);
    ck_assert_tg_ok(g);
    /* (the failed call above took name scope "my_dense_1", as in TF) */
    ck_assert_str_eq(op_name(y2), "my_dense_2/BiasAdd");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_graph_op(g, "my_dense_2/MatMul"), 1)), "my_dense/kernel/read:0");
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 2);
    TG_OPTS(tg_tf_layers_dense_opts, mya, .name = "my_dense", .reuse = TG_AUTO_REUSE);
    tg_tf_layers_dense(g, x, 2, &mya);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2);
    /* reuse of nothing */
    TG_OPTS(tg_tf_layers_dense_opts, nothing, .name = "nothing", .reuse = TG_REUSE_TRUE);
    ck_assert_ptr_null(tg_tf_layers_dense(g, x, 2, &nothing));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Variable nothing/kernel does not exist, or was not created with tf.get_variable()");

    /* without a name: new scopes each time; reuse=True means the scope "dense" */
    tg_tf_layers_dense(g, x, 2, NULL);
    tg_tf_layers_dense(g, x, 2, NULL);
    ck_assert_ptr_nonnull(tg_graph_variable(g, "dense/kernel"));
    ck_assert_ptr_nonnull(tg_graph_variable(g, "dense_1/kernel"));
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 6);
    TG_OPTS(tg_tf_layers_dense_opts, reuse, .reuse = TG_REUSE_TRUE);
    tg_tf_layers_dense(g, x, 2, &reuse);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 6);

    /* reuse inherited from an enclosing variable scope */
    TG_OPTS(tg_tf_layers_dense_opts, dn, .name = "d");
    TG_WITH_VARIABLE_SCOPE(g, "scope", NULL) { tg_tf_layers_dense(g, x, 2, &dn); }
    TG_WITH_VARIABLE_SCOPE(g, "scope", &(tg_variable_scope_opts){.reuse = TG_REUSE_TRUE}) {
        tg_tf_layers_dense(g, x, 2, &dn);
    }
    ck_assert_tg_ok(g);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 8);
    ck_assert_ptr_nonnull(tg_graph_variable(g, "scope/d/kernel"));

    /* the kernel takes the scope's initializer; the bias keeps zeros */
    TG_WITH_VARIABLE_SCOPE(g, "init", &(tg_variable_scope_opts){.initializer = tg_ones_initializer()}) {
        tg_tf_layers_dense(g, x, 2, NULL);
    }
    tg_session *s = init_session(g);
    ck_assert_fetch(s, tg_variable_value(tg_graph_variable(g, "init/dense/kernel")), TG_FLOAT32, TG_SHAPE(3, 2),
                    ((double[]){1, 1, 1, 1, 1, 1}), 0);
    ck_assert_fetch(s, tg_variable_value(tg_graph_variable(g, "init/dense/bias")), TG_FLOAT32, TG_SHAPE(2),
                    ((double[]){0, 0}), 0);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- values ------------------------------------------------------------------------ */

/* K = [[1, 2], [3, 4], [5, 6]], b = [0.5, -1]; relu(x K + b) by hand. */
START_TEST(test_dense_values)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(2, 3), (float[]){1, 0, -1, 2, 1, 0});
    tg_tensor *x3 = c32(g, TG_SHAPE(2, 2, 3), (float[]){1, 0, -1, 2, 1, 0, 0, 0, 0, 1, 1, 1});
    tg_tensor *xu = ph(g, TG_SHAPE(-1, -1, 3), "xu");
    TG_OPTS(tg_tf_layers_dense_opts, relu, .activation = tg_nn_relu);
    tg_layer *l = tg_tf_layers_dense_new(g, 2, &relu);
    tg_tensor *y = tg_layer_apply(l, x, NULL);
    tg_tensor *y3 = tg_layer_apply(l, x3, NULL); /* rank 3: contracted on the last axis */
    tg_tensor *yu = tg_layer_apply(l, xu, NULL); /* two unknown dims: shape from Shape */
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(tg_graph_op(g, "dense/Tensordot"));
    ck_assert_shape_eq(tg_tensor_shape(y3), TG_SHAPE(2, 2, 2));
    ck_assert_int_eq(tg_tensor_shape(yu).rank, 3);
    tg_session *s = init_session(g);
    set_var(g, s, weight(l, 0), (float[]){1, 2, 3, 4, 5, 6});
    set_var(g, s, weight(l, 1), (float[]){0.5f, -1});
    ck_assert_fetch(s, y, TG_FLOAT32, TG_SHAPE(2, 2), ((double[]){0, 0, 5.5, 7}), 1e-6);
    ck_assert_fetch(s, y3, TG_FLOAT32, TG_SHAPE(2, 2, 2), ((double[]){0, 0, 5.5, 7, 0.5, 0, 9.5, 11}), 1e-6);
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 3, (int64_t[]){1, 2, 3}, (float[]){1, 0, -1, 1, 1, 1});
    tg_array *out = tgc_fetch(s, yu, &(tg_feed){xu, xv}, 1);
    ck_assert_array(out, TG_FLOAT32, TG_SHAPE(1, 2, 2), ((double[]){0, 0, 9.5, 11}), 1e-6);
    tg_array_free(out);
    tg_array_free(xv);
    tg_session_free(s);

    /* no bias: the MatMul is the output */
    TG_OPTS(tg_tf_layers_dense_opts, nbo, .use_bias = false, .name = "nb");
    tg_layer *nb = tg_tf_layers_dense_new(g, 2, &nbo);
    tg_tensor *ynb = tg_layer_apply(nb, x, NULL);
    ck_assert_str_eq(op_name(ynb), "nb/MatMul");
    ck_assert_int_eq(tg_layer_weights(nb, NULL), 1);
    /* float64 inputs give float64 weights */
    tg_tensor *x64 = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(1, 2), (double[]){1, 2}, NULL);
    TG_OPTS(tg_tf_layers_dense_opts, k1, .kernel_initializer = tg_ones_initializer());
    tg_layer *d64 = tg_tf_layers_dense_new(g, 1, &k1);
    tg_tensor *y64 = tg_layer_apply(d64, x64, NULL);
    ck_assert_int_eq(tg_layer_dtype(d64), TG_FLOAT64);
    ck_assert_int_eq(tg_variable_dtype(weight(d64, 0)), TG_FLOAT64);
    s = init_session(g);
    ck_assert_fetch(s, y64, TG_FLOAT64, TG_SHAPE(1, 1), ((double[]){3}), 0);
    tg_session_free(s);
    tg_layer_free(l);
    tg_layer_free(nb);
    tg_layer_free(d64);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_dense_errors)
{
    tg_graph *g = tg_graph_new();
    char want[256];
    ck_assert_ptr_null(tg_tf_layers_dense_new(g, 0, NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT,
                       "Received an invalid value for `units`, expected a positive integer. Received: units=0");
    tg_layer *l = tg_tf_layers_dense_new(g, 2, NULL);
    int n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_layer_apply(l, ph(g, TG_SHAPE_UNKNOWN, "u"), NULL));
    snprintf(want, sizeof want,
             "Input 0 of layer %s is incompatible with the layer: its rank is undefined, but the layer requires "
             "a defined rank.",
             tg_layer_name(l));
    ck_assert_str_eq(tg_graph_message(g), want);
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops + 1); /* only the placeholder */
    ck_assert_ptr_null(tg_layer_apply(l, ph(g, TG_SHAPE(3), "r1"), NULL));
    snprintf(want, sizeof want,
             "Input 0 of layer %s is incompatible with the layer: expected min_ndim=2, found ndim=1. Full shape "
             "received: [3]",
             tg_layer_name(l));
    ck_assert_str_eq(tg_graph_message(g), want);
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_layer_apply(l, ph(g, TG_SHAPE(-1, -1), "nn"), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT,
                       "The last dimension of the inputs to `Dense` should be defined. Found `None`.");
    ck_assert(!tg_layer_built(l));
    /* the dtype comes from the first input that reaches build */
    tg_layer *li = tg_tf_layers_dense_new(g, 2, NULL);
    ck_assert_ptr_null(tg_layer_apply(li, tg_placeholder(g, TG_INT32, TG_SHAPE(2, 3), "i"), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Unable to build `Dense` layer with non-floating point dtype int32");
    ck_assert_int_eq(tg_layer_dtype(li), TG_INT32);
    tg_layer_free(li);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 0);

    /* built for a last dimension of 3, then given 4 */
    TG_OPTS(tg_tf_layers_dense_opts, dn, .name = "d");
    tg_layer *d = tg_tf_layers_dense_new(g, 2, &dn);
    ck_assert_ptr_nonnull(tg_layer_apply(d, ph(g, TG_SHAPE(5, 3), "a"), NULL));
    ck_assert_ptr_null(tg_layer_apply(d, ph(g, TG_SHAPE(5, 4), "b"), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT,
                       "Input 0 of layer d is incompatible with the layer: expected axis -1 of input shape to have "
                       "value 3 but received input with shape [5, 4]");
    ck_assert_int_eq(tg_layer_num_inbound_nodes(d), 1);

    /* an input of another graph; NULL inputs; a graph in error */
    tg_graph *other = tg_graph_new();
    ck_assert_ptr_null(tg_layer_apply(d, ph(other, TG_SHAPE(5, 3), "o"), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Layer d: the input is from another graph");
    ck_assert_ptr_null(tg_layer_apply(d, NULL, NULL));
    ck_assert_tg_ok(g);
    tg_tensor *x = ph(g, TG_SHAPE(5, 3), "x");
    tg_graph_fail(g, TG_INTERNAL, "earlier failure");
    n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_layer_apply(d, x, NULL));
    ck_assert_ptr_null(tg_tf_layers_dense_new(g, 2, NULL));
    ck_assert_ptr_null(tg_tf_layers_dense(g, x, 2, NULL));
    ck_assert_ptr_null(tg_tf_layers_conv2d_new(g, 2, TG_KERNEL(3, 3), NULL));
    ck_assert_ptr_null(tg_tf_layers_flatten(g, x, NULL));
    ck_assert_ptr_null(tg_tf_layers_dropout_new(g, NULL));
    ck_assert_ptr_null(tg_layer_add_variable(d, "v", TG_FLOAT32, TG_SHAPE(1), NULL));
    ck_assert_int_eq(tg_layer_build(l, TG_SHAPE(1, 2)), TG_INTERNAL);
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    ck_assert_str_eq(tg_graph_message(g), "earlier failure");
    ck_assert_ptr_null(tg_tf_layers_dense_new(NULL, 2, NULL));
    ck_assert_ptr_null(tg_tf_layers_max_pooling2d(NULL, x, TG_KERNEL(2, 2), NULL, NULL));
    ck_assert_ptr_null(tg_layer_apply(NULL, x, NULL));
    ck_assert_ptr_null(tg_layer_name(NULL));
    ck_assert_int_eq(tg_layer_weights(NULL, NULL), 0);
    ck_assert_int_eq(tg_layer_count_params(NULL, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_layer_message(NULL), "");
    tg_layer_free(NULL);
    tg_layer_free(l);
    tg_layer_free(d);
    tg_graph_free(other);
    tg_graph_free(g);
}
END_TEST

/* ---- the Layer API ------------------------------------------------------------------ */

START_TEST(test_properties_before_and_after_build)
{
    tg_graph *g = tg_graph_new();
    tg_layer *l = tg_tf_layers_dense_new(g, 16, NULL);
    int64_t count = -1;
    tg_tensor *t = NULL;
    tg_shape shape;
    ck_assert(!tg_layer_built(l));
    ck_assert(tg_layer_trainable(l));
    ck_assert_ptr_eq(tg_layer_graph(l), g);
    ck_assert_int_eq(tg_layer_dtype(l), TG_DTYPE_COUNT);
    ck_assert_int_eq(tg_layer_weights(l, NULL), 0);
    ck_assert_int_eq(tg_layer_updates(l, NULL), 0);
    ck_assert_int_eq(tg_layer_losses(l, NULL), 0);
    ck_assert_int_eq(tg_layer_num_inbound_nodes(l), 0);
    ck_assert_int_eq(tg_layer_count_params(l, &count), TG_FAILED_PRECONDITION);
    ck_assert_str_eq(tg_layer_message(l),
                     "You tried to call `count_params` on dense_1, but the layer isn't built. You can build it "
                     "manually via: `dense_1.build(batch_input_shape)`.");
    ck_assert_int_eq(count, -1);
    ck_assert_int_eq(tg_layer_input(l, &t), TG_FAILED_PRECONDITION);
    ck_assert_str_eq(tg_layer_message(l), "Layer dense_1 is not connected, no input to return.");
    ck_assert_int_eq(tg_layer_output(l, &t), TG_FAILED_PRECONDITION);
    ck_assert_str_eq(tg_layer_message(l), "Layer dense_1 has no inbound nodes.");
    ck_assert_int_eq(tg_layer_input_shape(l, &shape), TG_FAILED_PRECONDITION);
    ck_assert_str_eq(tg_layer_message(l), "The layer has never been called and thus has no defined input shape.");
    ck_assert_int_eq(tg_layer_output_shape(l, &shape), TG_FAILED_PRECONDITION);
    ck_assert_str_eq(tg_layer_message(l), "The layer has never been called and thus has no defined output shape.");
    ck_assert_int_eq(tg_layer_get_input_at(l, 0, &t), TG_FAILED_PRECONDITION);
    ck_assert_str_eq(tg_layer_message(l), "The layer has never been called and thus has no defined input.");
    ck_assert_int_eq(tg_layer_get_output_shape_at(l, 0, &shape), TG_FAILED_PRECONDITION);
    ck_assert_str_eq(tg_layer_message(l), "The layer has never been called and thus has no defined output shape.");
    ck_assert_ptr_null(t);
    ck_assert_tg_ok(g); /* queries never touch the graph's status */

    /* build(input_shape) without applying: TF's count_params test */
    ck_assert_int_eq(tg_layer_build(l, TG_SHAPE(-1, 4)), TG_OK);
    ck_assert(tg_layer_built(l));
    ck_assert_int_eq(tg_layer_dtype(l), TG_FLOAT32);
    ck_assert_str_eq(tg_layer_scope_name(l), "dense");
    ck_assert_int_eq(tg_layer_count_params(l, &count), TG_OK);
    ck_assert_int_eq(count, 16 * 4 + 16);
    ck_assert_str_eq(tg_layer_message(l), "");
    tg_variable *const *w = NULL;
    ck_assert_int_eq(tg_layer_weights(l, &w), 2);
    ck_assert_str_eq(tg_variable_name(w[0]), "dense/kernel");
    ck_assert_int_eq(tg_layer_trainable_weights(l, &w), 2);
    ck_assert_int_eq(tg_layer_non_trainable_weights(l, &w), 0);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(tg_layer_variables(l, NULL), 2);
    ck_assert_int_eq(tg_layer_trainable_variables(l, NULL), 2);
    ck_assert_int_eq(tg_layer_non_trainable_variables(l, NULL), 0);
    ck_assert_int_eq(tg_layer_build(l, TG_SHAPE(-1, 4)), TG_OK); /* already built: nothing */
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2);
    ck_assert_int_eq(tg_layer_input(l, &t), TG_FAILED_PRECONDITION);

    tg_tensor *x = ph(g, TG_SHAPE(-1, 4), "x");
    tg_tensor *y = tg_layer_apply(l, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name(y), "dense/BiasAdd");
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2);
    ck_assert_int_eq(tg_layer_input(l, &t), TG_OK);
    ck_assert_ptr_eq(t, x);
    ck_assert_int_eq(tg_layer_output(l, &t), TG_OK);
    ck_assert_ptr_eq(t, y);
    ck_assert_int_eq(tg_layer_input_shape(l, &shape), TG_OK);
    ck_assert_shape_eq(shape, TG_SHAPE(-1, 4));
    ck_assert_int_eq(tg_layer_output_shape(l, &shape), TG_OK);
    ck_assert_shape_eq(shape, TG_SHAPE(-1, 16));
    ck_assert_int_eq(tg_layer_get_input_at(l, 0, &t), TG_OK);
    ck_assert_ptr_eq(t, x);
    ck_assert_int_eq(tg_layer_get_input_at(l, 1, &t), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_layer_message(l), "Asked to get input at node 1, but the layer has only 1 inbound nodes.");
    ck_assert_int_eq(tg_layer_get_output_shape_at(l, -1, &shape), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_layer_input(l, NULL), TG_INVALID_ARGUMENT);
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_apply_twice)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x1 = ph(g, TG_SHAPE(-1, 2), "x1");
    tg_tensor *x2 = c32(g, TG_SHAPE(4, 2), (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    tg_layer *l = tg_tf_layers_dense_new(g, 3, NULL);
    tg_tensor *y1 = tg_layer_apply(l, x1, NULL);
    tg_tensor *y2 = tg_layer_apply(l, x2, NULL);
    ck_assert_tg_ok(g);
    /* one set of weights; the second apply re-enters the name scope */
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2);
    ck_assert_int_eq(tg_layer_weights(l, NULL), 2);
    ck_assert_str_eq(op_name(y1), "dense/BiasAdd");
    ck_assert_str_eq(op_name(y2), "dense/BiasAdd_1");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_graph_op(g, "dense/MatMul_1"), 1)), "dense/kernel/read:0");
    ck_assert_int_eq(tg_layer_num_inbound_nodes(l), 2);

    tg_tensor *t = NULL;
    tg_shape s;
    ck_assert_int_eq(tg_layer_input(l, &t), TG_FAILED_PRECONDITION);
    ck_assert_str_eq(tg_layer_message(l),
                     "Layer dense_1 has multiple inbound nodes, hence the notion of \"layer input\" is ill-defined. "
                     "Use `get_input_at(node_index)` instead.");
    ck_assert_int_eq(tg_layer_output(l, &t), TG_FAILED_PRECONDITION);
    ck_assert_str_eq(tg_layer_message(l),
                     "Layer dense_1 has multiple inbound nodes, hence the notion of \"layer output\" is ill-defined. "
                     "Use `get_output_at(node_index)` instead.");
    ck_assert_int_eq(tg_layer_output_shape(l, &s), TG_FAILED_PRECONDITION);
    ck_assert_str_eq(tg_layer_message(l),
                     "The layer \"dense_1\" has multiple inbound nodes, with different output shapes. Hence the "
                     "notion of \"output shape\" is ill-defined for the layer. Use "
                     "`get_output_shape_at(node_index)` instead.");
    ck_assert_int_eq(tg_layer_input_shape(l, &s), TG_FAILED_PRECONDITION);
    ck_assert_str_contains(tg_layer_message(l), "has multiple inbound nodes, with different input shapes.");
    ck_assert_int_eq(tg_layer_get_output_at(l, 0, &t), TG_OK);
    ck_assert_ptr_eq(t, y1);
    ck_assert_int_eq(tg_layer_get_output_at(l, 1, &t), TG_OK);
    ck_assert_ptr_eq(t, y2);
    ck_assert_int_eq(tg_layer_get_input_at(l, 1, &t), TG_OK);
    ck_assert_ptr_eq(t, x2);
    ck_assert_int_eq(tg_layer_get_input_shape_at(l, 1, &s), TG_OK);
    ck_assert_shape_eq(s, TG_SHAPE(4, 2));
    ck_assert_int_eq(tg_layer_get_output_shape_at(l, 0, &s), TG_OK);
    ck_assert_shape_eq(s, TG_SHAPE(-1, 3));
    ck_assert_int_eq(tg_layer_get_output_at(l, 2, &t), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_layer_message(l), "Asked to get output at node 2, but the layer has only 2 inbound nodes.");

    /* shapes that agree are still well defined */
    tg_layer *same = tg_tf_layers_dense_new(g, 3, NULL);
    tg_layer_apply(same, x1, NULL);
    tg_layer_apply(same, ph(g, TG_SHAPE(-1, 2), "x3"), NULL);
    ck_assert_int_eq(tg_layer_input_shape(same, &s), TG_OK);
    ck_assert_shape_eq(s, TG_SHAPE(-1, 2));
    ck_assert_int_eq(tg_layer_output_shape(same, &s), TG_OK);
    ck_assert_shape_eq(s, TG_SHAPE(-1, 3));
    ck_assert_int_eq(tg_layer_input(same, &t), TG_FAILED_PRECONDITION);

    /* the shared weights give the same values for the same data */
    tg_session *sess = init_session(g);
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){4, 2}, (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    tg_array *out[2] = {NULL, NULL};
    tg_tensor *fetch[2] = {y1, y2};
    ck_assert_int_eq(tg_session_run(sess, &(tg_feed){x1, xv}, 1, fetch, 2, out, NULL, 0), TG_OK);
    for (int i = 0; i < 12; i++) ck_assert_close(tg_array_get(out[0], i), tg_array_get(out[1], i), 0);
    tg_array_free(out[0]);
    tg_array_free(out[1]);
    tg_array_free(xv);
    tg_session_free(sess);
    tg_layer_free(l);
    tg_layer_free(same);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_non_trainable)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = ph(g, TG_SHAPE(5, 2), "x");
    TG_OPTS(tg_tf_layers_dense_opts, frozen, .trainable = false, .name = "my_dense");
    tg_layer *l = tg_tf_layers_dense_new(g, 2, &frozen);
    tg_layer_apply(l, x, NULL);
    tg_variable *const *w = NULL;
    ck_assert_int_eq(tg_layer_trainable_weights(l, &w), 0);
    ck_assert_int_eq(tg_layer_non_trainable_weights(l, &w), 2);
    ck_assert_str_eq(tg_variable_name(w[0]), "my_dense/kernel");
    ck_assert_str_eq(tg_variable_name(w[1]), "my_dense/bias");
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 0);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 2);
    ck_assert(!tg_variable_trainable(w[0]));
    /* the trainable flag changes the lists, not the variables */
    tg_layer_set_trainable(l, true);
    ck_assert_int_eq(tg_layer_trainable_weights(l, NULL), 0);
    ck_assert_int_eq(tg_layer_non_trainable_weights(l, NULL), 2);

    tg_layer *t = tg_tf_layers_dense_new(g, 2, NULL);
    tg_layer_apply(t, x, NULL);
    tg_layer_set_trainable(t, false);
    ck_assert(!tg_layer_trainable(t));
    ck_assert_int_eq(tg_layer_trainable_weights(t, NULL), 0);
    ck_assert_int_eq(tg_layer_non_trainable_weights(t, &w), 2);
    ck_assert_str_eq(tg_variable_name(w[0]), "dense/kernel");
    ck_assert_int_eq(tg_layer_weights(t, &w), 2);
    ck_assert_str_eq(tg_variable_name(w[1]), "dense/bias");
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 2);
    tg_layer_free(l);
    tg_layer_free(t);
    tg_graph_free(g);
}
END_TEST

/* kernel 0.5, bias 1, x = [[1, 0, -1], [2, 1, 0]]: y = [[1, 1], [2.5, 2.5]] */
START_TEST(test_regularizers)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(2, 3), (float[]){1, 0, -1, 2, 1, 0});
    TG_OPTS(tg_tf_layers_dense_opts, o,
            .kernel_initializer = tg_constant_initializer(0.5),
            .bias_initializer = tg_constant_initializer(1),
            .kernel_regularizer = tg_layers_l2_regularizer(0.1),
            .bias_regularizer = tg_layers_l1_regularizer(0.2),
            .activity_regularizer = tg_layers_l2_regularizer(0.01));
    tg_layer *l = tg_tf_layers_dense_new(g, 2, &o);
    tg_tensor *y = tg_layer_apply(l, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 3);
    tg_tensor *const *losses = NULL;
    ck_assert_int_eq(tg_layer_losses(l, &losses), 3);
    /* add_loss'd (activity) terms first, then the weight regularizers */
    ck_assert_str_eq(op_name(losses[0]), "dense/ActivityRegularizer/truediv");
    ck_assert_str_eq(op_name(losses[1]), "dense/kernel/Regularizer/l2_regularizer");
    ck_assert_str_eq(op_name(losses[2]), "dense/bias/Regularizer/l1_regularizer");
    tg_tensor **got = NULL;
    ck_assert_int_eq(tg_layer_get_losses_for(l, NULL, 0, &got), 2);
    ck_assert_ptr_eq(got[0], losses[1]);
    ck_assert_ptr_eq(got[1], losses[2]);
    tg_free(got);
    ck_assert_int_eq(tg_layer_get_losses_for(l, &x, 1, &got), 1);
    ck_assert_ptr_eq(got[0], losses[0]);
    tg_free(got);
    tg_session *s = init_session(g);
    ck_assert_fetch(s, y, TG_FLOAT32, TG_SHAPE(2, 2), ((double[]){1, 1, 2.5, 2.5}), 1e-6);
    ck_assert_close(tgc_fetch_scalar(s, losses[0]), 0.01 * 7.25 / 2, 1e-6); /* l2_loss(y) / batch */
    ck_assert_close(tgc_fetch_scalar(s, losses[1]), 0.1 * 6 * 0.25 / 2, 1e-6);
    ck_assert_close(tgc_fetch_scalar(s, losses[2]), 0.2 * 2, 1e-6);
    tg_session_free(s);

    /* a second apply adds an activity term conditional on its input */
    tg_tensor *x2 = c32(g, TG_SHAPE(1, 3), (float[]){0, 0, 0});
    tg_layer_apply(l, x2, NULL);
    ck_assert_int_eq(tg_layer_losses(l, NULL), 4);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 4);
    ck_assert_int_eq(tg_layer_get_losses_for(l, &x2, 1, &got), 1);
    ck_assert_str_eq(op_name(got[0]), "dense/ActivityRegularizer_1/truediv");
    tg_free(got);
    ck_assert_int_eq(tg_layer_get_losses_for(l, (tg_tensor *[]){x, x2}, 2, &got), 2);
    tg_free(got);
    ck_assert_int_eq(tg_layer_get_losses_for(l, NULL, 0, &got), 2);
    tg_free(got);

    /* functional reuse adds no second regularizer term */
    tg_graph *g2 = tg_graph_new();
    tg_tensor *x3 = ph(g2, TG_SHAPE(5, 3), "x");
    TG_OPTS(tg_tf_layers_dense_opts, r, .name = "my_dense", .kernel_regularizer = tg_layers_l2_regularizer(1e-3));
    tg_tf_layers_dense(g2, x3, 2, &r);
    ck_assert_int_eq(coll(g2, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 1);
    r.reuse = TG_REUSE_TRUE;
    tg_tf_layers_dense(g2, x3, 2, &r);
    ck_assert_tg_ok(g2);
    ck_assert_int_eq(coll(g2, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 1);
    tg_layer_free(l);
    tg_graph_free(g2);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_updates_and_losses)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x1 = ph(g, TG_SHAPE(-1, 2), "x1");
    tg_tensor *x2 = ph(g, TG_SHAPE(-1, 2), "x2");
    tg_layer *l = tg_tf_layers_dense_new(g, 2, NULL);
    tg_layer_apply(l, x1, NULL);
    tg_tensor *y2 = tg_layer_apply(l, x2, NULL);
    TG_OPTS(tg_get_variable_opts, zo, .initializer = tg_zeros_initializer());
    tg_variable *counter = tg_get_variable(g, "counter", TG_FLOAT32, TG_SCALAR, &zo);
    /* depends on x1 through data; on nothing; on x2 through a control edge */
    tg_op *u1 = tg_tensor_op(tg_assign_add(g, tg_variable_ref(counter), tg_reduce_sum(g, x1, NULL), NULL));
    tg_op *u0 = tg_tensor_op(tg_assign_add(g, tg_variable_ref(counter), tg_constant_scalar(g, TG_FLOAT32, 1, NULL), NULL));
    tg_op *u2 = NULL;
    tg_op *after[] = {tg_tensor_op(y2)};
    TG_WITH_CONTROL_DEPENDENCIES(g, after, 1) { u2 = tg_no_op(g, "after_y2"); }
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_layer_add_update(l, u1), TG_OK);
    ck_assert_int_eq(tg_layer_add_update(l, u0), TG_OK);
    ck_assert_int_eq(tg_layer_add_update(l, u2), TG_OK);
    tg_op *const *ups = NULL;
    ck_assert_int_eq(tg_layer_updates(l, &ups), 3);
    ck_assert_ptr_eq(ups[0], u1);
    tg_op **got = NULL;
    ck_assert_int_eq(tg_layer_get_updates_for(l, NULL, 0, &got), 1);
    ck_assert_ptr_eq(got[0], u0);
    tg_free(got);
    ck_assert_int_eq(tg_layer_get_updates_for(l, &x1, 1, &got), 1);
    ck_assert_ptr_eq(got[0], u1);
    tg_free(got);
    ck_assert_int_eq(tg_layer_get_updates_for(l, &x2, 1, &got), 1);
    ck_assert_ptr_eq(got[0], u2);
    tg_free(got);
    ck_assert_int_eq(tg_layer_get_updates_for(l, (tg_tensor *[]){x1, x2}, 2, &got), 2);
    tg_free(got);
    /* UPDATE_OPS gets them at the end of the next apply, once each */
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 0);
    tg_tensor *x3 = ph(g, TG_SHAPE(-1, 2), "x3");
    tg_layer_apply(l, x3, NULL);
    tg_layer_apply(l, x3, NULL);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 3);
    ck_assert_int_eq(tg_layer_get_updates_for(l, &x3, 1, &got), 0);
    ck_assert_ptr_null(got);
    /* a layer that is not trainable exposes no updates */
    tg_layer_set_trainable(l, false);
    ck_assert_int_eq(tg_layer_updates(l, NULL), 0);
    ck_assert_int_eq(tg_layer_get_updates_for(l, NULL, 0, &got), 0);
    tg_layer_set_trainable(l, true);

    /* losses: conditional when given inputs; both go to REGULARIZATION_LOSSES */
    tg_tensor *lc = tg_reduce_sum(g, x1, NULL);
    tg_tensor *lu = tg_constant_scalar(g, TG_FLOAT32, 2, "unconditional");
    ck_assert_int_eq(tg_layer_add_loss(l, lc, &x1, 1), TG_OK);
    ck_assert_int_eq(tg_layer_add_loss(l, lu, NULL, 0), TG_OK);
    ck_assert_int_eq(tg_layer_add_loss(l, lu, NULL, 0), TG_OK); /* listed twice, collected once */
    ck_assert_int_eq(tg_layer_losses(l, NULL), 3);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 2);
    tg_tensor **gl = NULL;
    ck_assert_int_eq(tg_layer_get_losses_for(l, &x1, 1, &gl), 1);
    ck_assert_ptr_eq(gl[0], lc);
    tg_free(gl);
    ck_assert_int_eq(tg_layer_get_losses_for(l, &x2, 1, &gl), 0);
    ck_assert_int_eq(tg_layer_get_losses_for(l, NULL, 0, &gl), 2);
    ck_assert_ptr_eq(gl[0], lu);
    tg_free(gl);

    /* bad arguments */
    ck_assert_int_eq(tg_layer_add_update(l, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_layer_message(l), "Layer dense_1: update is NULL");
    ck_assert_int_eq(tg_layer_add_loss(l, NULL, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_layer_add_loss(l, lu, NULL, -1), TG_INVALID_ARGUMENT);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_layer_get_updates_for(l, NULL, 0, NULL), -1);
    tg_graph *other = tg_graph_new();
    ck_assert_int_eq(tg_layer_add_update(l, tg_no_op(other, NULL)), TG_INVALID_ARGUMENT);
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Layer dense_1: the update is from another graph");
    tg_graph_fail(g, TG_INTERNAL, "earlier failure");
    ck_assert_int_eq(tg_layer_add_update(l, u0), TG_INTERNAL);
    ck_assert_int_eq(tg_layer_updates(l, NULL), 3);
    tg_graph_free(other);
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_add_variable)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_tf_layers_dense_opts, mine, .name = "my_layer");
    tg_layer *l = tg_tf_layers_dense_new(g, 2, &mine);
    TG_OPTS(tg_layer_add_variable_opts, zeros, .initializer = tg_zeros_initializer());
    tg_variable *v = tg_layer_add_variable(l, "my_var", TG_FLOAT32, TG_SHAPE(2, 2), &zeros);
    ck_assert_str_eq(tg_variable_name(v), "my_layer/my_var");
    ck_assert_str_eq(tg_layer_scope_name(l), "my_layer");
    ck_assert(!tg_layer_built(l));
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 1);
    TG_OPTS(tg_layer_add_variable_opts, frozen, .trainable = false);
    tg_variable *v2 = tg_layer_add_variable(l, "non_trainable_var", TG_FLOAT32, TG_SHAPE(2, 2), &frozen);
    tg_variable *const *w = NULL;
    ck_assert_int_eq(tg_layer_trainable_weights(l, &w), 1);
    ck_assert_ptr_eq(w[0], v);
    ck_assert_int_eq(tg_layer_non_trainable_weights(l, &w), 1);
    ck_assert_ptr_eq(w[0], v2);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 1);
    TG_OPTS(tg_layer_add_variable_opts, reg, .initializer = tg_ones_initializer(),
            .regularizer = tg_layers_l2_regularizer(0.1));
    tg_variable *v3 = tg_layer_add_variable(l, "reg_var", TG_FLOAT32, TG_SHAPE(2, 2), &reg);
    ck_assert_int_eq(tg_layer_losses(l, NULL), 1);
    ck_assert_ptr_nonnull(tg_graph_op(g, "my_layer/reg_var/Regularizer/l2_regularizer"));
    /* apply builds in the scope chosen above, from the root */
    tg_tensor *y = tg_layer_apply(l, ph(g, TG_SHAPE(5, 3), "x"), NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name(y), "my_layer/BiasAdd");
    ck_assert_int_eq(tg_layer_weights(l, &w), 5);
    ck_assert_ptr_eq(w[0], v);
    ck_assert_ptr_eq(w[1], v3);
    ck_assert_str_eq(tg_variable_name(w[2]), "my_layer/kernel");
    ck_assert_str_eq(tg_variable_name(w[3]), "my_layer/bias");
    ck_assert_ptr_eq(w[4], v2);
    int64_t count = 0;
    ck_assert_int_eq(tg_layer_count_params(l, &count), TG_OK);
    ck_assert_int_eq(count, 4 + 4 + 4 + 6 + 2);
    /* once built, the scope is entered with reuse: new names fail, as in TF */
    ck_assert_ptr_null(tg_layer_add_variable(l, "late", TG_FLOAT32, TG_SHAPE(1), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Variable my_layer/late does not exist");

    /* a scope chosen at the root cannot be re-entered from another scope */
    TG_OPTS(tg_tf_layers_dense_opts, oo, .name = "other");
    tg_layer *o = tg_tf_layers_dense_new(g, 2, &oo);
    tg_layer_add_variable(o, "a", TG_FLOAT32, TG_SHAPE(1), NULL);
    TG_WITH_VARIABLE_SCOPE(g, "elsewhere", NULL) { ck_assert_ptr_null(tg_layer_apply(o, ph(g, TG_SHAPE(1, 2), "z"), NULL)); }
    expect_graph_error(g, TG_UNIMPLEMENTED, "Layer other: cannot create other/kernel from variable scope 'elsewhere'");
    ck_assert_ptr_null(tg_layer_add_variable(o, NULL, TG_FLOAT32, TG_SHAPE(1), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "add_variable needs a variable name");
    tg_layer_free(o);
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

/* ---- Conv2D and pooling ---------------------------------------------------------- */

static const float GRID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

START_TEST(test_conv2d)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(1, 4, 4, 1), GRID);
    TG_OPTS(tg_tf_layers_conv2d_opts, ones, .kernel_initializer = tg_ones_initializer());
    tg_layer *c = tg_tf_layers_conv2d_new(g, 2, TG_KERNEL(3, 3), &ones);
    tg_tensor *y = tg_layer_apply(c, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name(y), "conv2d/BiasAdd");
    ck_assert_ptr_nonnull(tg_graph_op(g, "conv2d/Conv2D"));
    ck_assert_str_eq(tg_variable_name(weight(c, 0)), "conv2d/kernel");
    ck_assert_str_eq(tg_variable_name(weight(c, 1)), "conv2d/bias");
    ck_assert_shape_eq(tg_variable_shape(weight(c, 0)), TG_SHAPE(3, 3, 1, 2));
    ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(1, 2, 2, 2)); /* padding 'valid' by default */
    int64_t count = 0;
    ck_assert_int_eq(tg_layer_count_params(c, &count), TG_OK);
    ck_assert_int_eq(count, 3 * 3 * 1 * 2 + 2);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 2);
    /* SAME with strides 2: one row/column of padding after */
    tg_tf_layers_conv2d_opts same = ones;
    same.padding = TG_PADDING_SAME;
    same.strides[0] = same.strides[1] = 2;
    same.activation = tg_nn_relu;
    tg_tensor *ys = tg_tf_layers_conv2d(g, x, 2, TG_KERNEL(3, 3), &same);
    ck_assert_str_eq(op_name(ys), "conv2d_1/Relu");
    /* channels first */
    tg_tf_layers_conv2d_opts nchw = ones;
    nchw.data_format = TG_NCHW;
    tg_tensor *yc = tg_tf_layers_conv2d(g, c32(g, TG_SHAPE(1, 1, 4, 4), GRID), 2, TG_KERNEL(3, 3), &nchw);
    ck_assert_shape_eq(tg_tensor_shape(yc), TG_SHAPE(1, 2, 2, 2));
    /* functional with a name and reuse */
    TG_OPTS(tg_tf_layers_conv2d_opts, reuse, .name = "conv2d", .reuse = TG_REUSE_TRUE);
    tg_tensor *yr = tg_tf_layers_conv2d(g, x, 2, TG_KERNEL(3, 3), &reuse);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_tensor_op(tg_op_input(tg_tensor_op(yr), 0)), 1)),
                     "conv2d/kernel/read:0");
    tg_session *s = init_session(g);
    ck_assert_fetch(s, y, TG_FLOAT32, TG_SHAPE(1, 2, 2, 2), ((double[]){54, 54, 63, 63, 90, 90, 99, 99}), 1e-4);
    ck_assert_fetch(s, ys, TG_FLOAT32, TG_SHAPE(1, 2, 2, 2), ((double[]){54, 54, 45, 45, 72, 72, 54, 54}), 1e-4);
    ck_assert_fetch(s, yc, TG_FLOAT32, TG_SHAPE(1, 2, 2, 2), ((double[]){54, 63, 90, 99, 54, 63, 90, 99}), 1e-4);
    tg_session_free(s);

    /* errors */
    char want[256];
    tg_layer *bad = tg_tf_layers_conv2d_new(g, 2, TG_KERNEL(3, 3), NULL);
    ck_assert_ptr_null(tg_layer_apply(bad, ph(g, TG_SHAPE(4, 4, 1), "r3"), NULL));
    snprintf(want, sizeof want,
             "Input 0 of layer %s is incompatible with the layer: expected ndim=4, found ndim=3. Full shape "
             "received: [4, 4, 1]",
             tg_layer_name(bad));
    ck_assert_str_eq(tg_graph_message(g), want);
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_layer_apply(bad, ph(g, TG_SHAPE(-1, 4, 4, -1), "nc"), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "The channel dimension of the inputs should be defined. Found `None`.");
    ck_assert_ptr_nonnull(tg_layer_apply(bad, ph(g, TG_SHAPE(-1, 4, 4, 3), "c3"), NULL));
    ck_assert_ptr_null(tg_layer_apply(bad, ph(g, TG_SHAPE(-1, 4, 4, 1), "c1"), NULL));
    snprintf(want, sizeof want,
             "Input 0 of layer %s is incompatible with the layer: expected axis -1 of input shape to have value 3 "
             "but received input with shape [None, 4, 4, 1]",
             tg_layer_name(bad));
    ck_assert_str_eq(tg_graph_message(g), want);
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_tf_layers_conv2d_new(g, 0, TG_KERNEL(3, 3), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Received filters=0.");
    ck_assert_ptr_null(tg_tf_layers_conv2d_new(g, 1, NULL, NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "The `kernel_size` argument must be a tuple of 2 integers >= 1. Received: None");
    ck_assert_ptr_null(tg_tf_layers_conv2d_new(g, 1, TG_KERNEL(3, 0), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Received: (3, 0)");
    TG_OPTS(tg_tf_layers_conv2d_opts, pad7, .padding = (tg_padding)7);
    ck_assert_ptr_null(tg_tf_layers_conv2d_new(g, 1, TG_KERNEL(3, 3), &pad7));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "The `padding` argument must be one of \"valid\", \"same\"");
    TG_OPTS(tg_tf_layers_conv2d_opts, badfmt, .data_format = TG_DATA_FORMAT_INVALID);
    ck_assert_ptr_null(tg_tf_layers_conv2d_new(g, 1, TG_KERNEL(3, 3), &badfmt));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "The `data_format` argument must be one of \"channels_first\"");
    TG_OPTS(tg_tf_layers_conv2d_opts, both, .strides = {2, 2}, .dilation_rate = {2, 2});
    ck_assert_ptr_null(tg_tf_layers_conv2d_new(g, 1, TG_KERNEL(3, 3), &both));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "strides > 1 not supported in conjunction with dilation_rate > 1");
    /* a dilated kernel: 2x2 with rate 2 spans 3x3 */
    TG_OPTS(tg_tf_layers_conv2d_opts, dil, .dilation_rate = {2, 2}, .kernel_initializer = tg_ones_initializer());
    tg_tensor *yd = tg_tf_layers_conv2d(g, c32(g, TG_SHAPE(1, 4, 4, 1), GRID), 1, TG_KERNEL(2, 2), &dil);
    ck_assert_shape_eq(tg_tensor_shape(yd), TG_SHAPE(1, 2, 2, 1));
    s = init_session(g);
    ck_assert_fetch(s, yd, TG_FLOAT32, TG_SHAPE(1, 2, 2, 1), ((double[]){1 + 3 + 9 + 11, 2 + 4 + 10 + 12,
                                                                       5 + 7 + 13 + 15, 6 + 8 + 14 + 16}), 1e-4);
    tg_session_free(s);
    tg_layer_free(c);
    tg_layer_free(bad);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_pooling)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c32(g, TG_SHAPE(1, 4, 4, 1), GRID);
    tg_tensor *m = tg_tf_layers_max_pooling2d(g, x, TG_KERNEL(2, 2), TG_STRIDES(2, 2), NULL);
    tg_tensor *m2 = tg_tf_layers_max_pooling2d(g, x, TG_KERNEL(2, 2), NULL, NULL); /* strides: pool_size */
    tg_tensor *a = tg_tf_layers_average_pooling2d(g, x, TG_KERNEL(2, 2), TG_STRIDES(2, 2), NULL);
    tg_tensor *ms = tg_tf_layers_max_pooling2d(g, x, TG_KERNEL(3, 3), TG_STRIDES(1, 1),
                                               &(tg_tf_layers_pooling2d_opts){.padding = TG_PADDING_SAME});
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name(m), "max_pooling2d/MaxPool");
    ck_assert_str_eq(op_name(m2), "max_pooling2d_1/MaxPool");
    ck_assert_str_eq(op_name(a), "average_pooling2d/AvgPool");
    ck_assert_shape_eq(tg_tensor_shape(ms), TG_SHAPE(1, 4, 4, 1));
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 0);
    tg_layer *p = tg_tf_layers_average_pooling2d_new(g, TG_KERNEL(2, 2), NULL,
                                                     &(tg_tf_layers_pooling2d_opts){.data_format = TG_NCHW});
    tg_tensor *pc = tg_layer_apply(p, c32(g, TG_SHAPE(1, 1, 4, 4), GRID), NULL);
    ck_assert_shape_eq(tg_tensor_shape(pc), TG_SHAPE(1, 1, 2, 2));
    int64_t count = -1;
    ck_assert_int_eq(tg_layer_count_params(p, &count), TG_OK);
    ck_assert_int_eq(count, 0);
    ck_assert_int_eq(tg_layer_weights(p, NULL), 0);
    tg_session *s = init_session(g);
    ck_assert_fetch(s, m, TG_FLOAT32, TG_SHAPE(1, 2, 2, 1), ((double[]){6, 8, 14, 16}), 0);
    ck_assert_fetch(s, m2, TG_FLOAT32, TG_SHAPE(1, 2, 2, 1), ((double[]){6, 8, 14, 16}), 0);
    ck_assert_fetch(s, a, TG_FLOAT32, TG_SHAPE(1, 2, 2, 1), ((double[]){3.5, 5.5, 11.5, 13.5}), 1e-6);
    ck_assert_fetch(s, pc, TG_FLOAT32, TG_SHAPE(1, 1, 2, 2), ((double[]){3.5, 5.5, 11.5, 13.5}), 1e-6);
    tg_session_free(s);
    ck_assert_ptr_null(tg_tf_layers_max_pooling2d(g, x, TG_KERNEL(0, 2), NULL, NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "The `pool_size` argument must be a tuple of 2 integers >= 1. Received: (0, 2)");
    ck_assert_ptr_null(tg_tf_layers_max_pooling2d(g, x, TG_KERNEL(2, 2), TG_STRIDES(-1, 1), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "The `strides` argument");
    ck_assert_ptr_null(tg_tf_layers_max_pooling2d(g, c32(g, TG_SHAPE(4, 4), GRID), TG_KERNEL(2, 2), NULL, NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "expected ndim=4, found ndim=2. Full shape received: [4, 4]");
    tg_layer_free(p);
    tg_graph_free(g);
}
END_TEST

/* ---- Flatten and Dropout -------------------------------------------------------------- */

START_TEST(test_flatten)
{
    tg_graph *g = tg_graph_new();
    float v[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    tg_tensor *f = tg_tf_layers_flatten(g, c32(g, TG_SHAPE(2, 2, 3), v), NULL);
    ck_assert_str_eq(op_name(f), "flatten/Reshape");
    ck_assert_shape_eq(tg_tensor_shape(f), TG_SHAPE(2, 6));
    tg_layer *l = tg_tf_layers_flatten_new(g, NULL);
    tg_tensor *fb = tg_layer_apply(l, ph(g, TG_SHAPE(-1, 2, 3), "b"), NULL);
    ck_assert_shape_eq(tg_tensor_shape(fb), TG_SHAPE(-1, 6));
    ck_assert_str_eq(op_name(fb), "flatten_1/Reshape");
    tg_tensor *fk = tg_layer_apply(l, ph(g, TG_SHAPE(2, -1), "k"), NULL);
    ck_assert_shape_eq(tg_tensor_shape(fk), TG_SHAPE(2, -1));
    tg_tensor *xu = ph(g, TG_SHAPE(-1, -1, 2), "u");
    tg_tensor *fu = tg_layer_apply(l, xu, NULL);
    ck_assert_int_eq(tg_tensor_shape(fu).rank, 2);
    tg_tensor *f1 = tg_layer_apply(l, c32(g, TG_SHAPE(4), v), NULL);
    ck_assert_shape_eq(tg_tensor_shape(f1), TG_SHAPE(4, 1));
    tg_tensor *fc = tg_tf_layers_flatten(g, c32(g, TG_SHAPE(1, 2, 2, 2), v),
                                         &(tg_tf_layers_flatten_opts){.data_format = TG_NCHW});
    ck_assert_tg_ok(g);
    tg_session *s = init_session(g);
    ck_assert_fetch(s, f, TG_FLOAT32, TG_SHAPE(2, 6), ((double[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), 0);
    ck_assert_fetch(s, fc, TG_FLOAT32, TG_SHAPE(1, 8), ((double[]){0, 4, 1, 5, 2, 6, 3, 7}), 0);
    tg_array *uv = tg_array_new_from(TG_FLOAT32, 3, (int64_t[]){2, 3, 2}, v);
    tg_array *out = tgc_fetch(s, fu, &(tg_feed){xu, uv}, 1);
    ck_assert_array(out, TG_FLOAT32, TG_SHAPE(2, 6), ((double[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), 0);
    tg_array_free(out);
    tg_array_free(uv);
    tg_session_free(s);
    ck_assert_ptr_null(tg_layer_apply(l, ph(g, TG_SHAPE_UNKNOWN, "r"), NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "its rank is undefined, but the layer requires a defined rank.");
    ck_assert_ptr_null(tg_tf_layers_flatten_new(g, &(tg_tf_layers_flatten_opts){.data_format = (tg_data_format)5}));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "The `data_format` argument");
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_dropout)
{
    tg_graph *g = tg_graph_new();
    float ones[100];
    for (int i = 0; i < 100; i++) ones[i] = 1;
    tg_tensor *x = c32(g, TG_SHAPE(100), ones);
    TG_OPTS(tg_tf_layers_dropout_opts, seeded, .seed = 3);
    tg_layer *d = tg_tf_layers_dropout_new(g, &seeded);
    ck_assert_str_eq(tg_layer_name(d), "dropout_1");
    tg_tensor *off = tg_layer_apply(d, x, NULL); /* tf.layers: training=False */
    ck_assert_str_eq(op_name(off), "dropout/Identity");
    TG_OPTS(tg_layer_call_opts, training, .training = TG_OPT_TRUE);
    tg_tensor *on = tg_layer_call(d, x, &training);
    tg_tensor *tr = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "training");
    tg_tensor *dyn = tg_layer_apply(d, x, tr);
    TG_OPTS(tg_tf_layers_dropout_opts, quarter, .rate = 0.25, .training = true);
    tg_tensor *fq = tg_tf_layers_dropout(g, x, &quarter);
    TG_OPTS(tg_tf_layers_dropout_opts, all, .rate = 1);
    tg_tensor *ff = tg_tf_layers_dropout(g, x, &all); /* never checked */
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_layer_weights(d, NULL), 0);
    tg_session *s = init_session(g);
    tg_array *a = tgc_fetch(s, off, NULL, 0);
    for (int i = 0; i < 100; i++) ck_assert_close(tg_array_get(a, i), 1, 0);
    tg_array_free(a);
    a = tgc_fetch(s, ff, NULL, 0);
    ck_assert_close(tg_array_get(a, 0), 1, 0);
    tg_array_free(a);
    int zeros = 0;
    a = tgc_fetch(s, on, NULL, 0);
    for (int i = 0; i < 100; i++) {
        double v = tg_array_get(a, i);
        ck_assert(v == 0 || fabs(v - 2) < 1e-6);
        zeros += v == 0;
    }
    tg_array_free(a);
    ck_assert(zeros > 10 && zeros < 90);
    a = tgc_fetch(s, fq, NULL, 0);
    for (int i = 0; i < 100; i++) ck_assert(tg_array_get(a, i) == 0 || fabs(tg_array_get(a, i) - 1 / 0.75) < 1e-5);
    tg_array_free(a);
    a = tgc_fetch(s, dyn, NULL, 0); /* training defaults to false */
    for (int i = 0; i < 100; i++) ck_assert_close(tg_array_get(a, i), 1, 0);
    tg_array_free(a);
    tg_array *t = tg_array_scalar_bool(true);
    a = tgc_fetch(s, dyn, &(tg_feed){tr, t}, 1);
    zeros = 0;
    for (int i = 0; i < 100; i++) zeros += tg_array_get(a, i) == 0;
    ck_assert(zeros > 10 && zeros < 90);
    tg_array_free(a);
    tg_array_free(t);
    tg_session_free(s);
    /* rate 1 with training: tg_nn_dropout's error */
    TG_OPTS(tg_tf_layers_dropout_opts, all_on, .rate = 1, .training = true);
    ck_assert_ptr_null(tg_tf_layers_dropout(g, x, &all_on));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    /* TF's Dropout(training=...) is a TypeError: the class refuses the
     * functional form's fields instead of dropping them */
    int n_ops = tg_graph_num_ops(g);
    TG_OPTS(tg_tf_layers_dropout_opts, ctor_tr, .training = true);
    ck_assert_ptr_null(tg_tf_layers_dropout_new(g, &ctor_tr));
    expect_graph_error(g, TG_INVALID_ARGUMENT,
                       "tg_tf_layers_dropout_new: option 'training' is the functional form's; pass training when "
                       "applying the layer (tg_layer_call)");
    TG_OPTS(tg_tf_layers_dropout_opts, ctor_trt, .training_t = tr);
    ck_assert_ptr_null(tg_tf_layers_dropout_new(g, &ctor_trt));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "tg_tf_layers_dropout_new: option 'training_t'");
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    TG_OPTS(tg_tf_layers_dropout_opts, ctor_off, .training = false, .training_t = NULL);
    tg_layer *d_off = tg_tf_layers_dropout_new(g, &ctor_off);
    ck_assert_ptr_nonnull(d_off);
    tg_layer_free(d_off);
    /* a training argument means nothing to Dense */
    tg_layer *dense = tg_tf_layers_dense_new(g, 1, NULL);
    ck_assert_ptr_nonnull(tg_layer_apply(dense, c32(g, TG_SHAPE(1, 2), ones), tr));
    tg_layer_free(dense);
    tg_layer_free(d);
    tg_graph_free(g);
}
END_TEST

static Suite *tf_layers_suite(void) {
    Suite *s = suite_create("tf_layers");
    TCase *names = tcase_create("names");
    tcase_add_test(names, test_dense_names_and_collections);
    tcase_add_test(names, test_dense_functional_reuse);
    suite_add_tcase(s, names);
    TCase *dense = tcase_create("dense");
    tcase_add_test(dense, test_dense_values);
    tcase_add_test(dense, test_dense_errors);
    tcase_add_test(dense, test_non_trainable);
    tcase_add_test(dense, test_regularizers);
    suite_add_tcase(s, dense);
    TCase *api = tcase_create("layer_api");
    tcase_add_test(api, test_properties_before_and_after_build);
    tcase_add_test(api, test_apply_twice);
    tcase_add_test(api, test_updates_and_losses);
    tcase_add_test(api, test_add_variable);
    suite_add_tcase(s, api);
    TCase *conv = tcase_create("conv_pool");
    tcase_add_test(conv, test_conv2d);
    tcase_add_test(conv, test_pooling);
    suite_add_tcase(s, conv);
    TCase *misc = tcase_create("flatten_dropout");
    tcase_add_test(misc, test_flatten);
    tcase_add_test(misc, test_dropout);
    suite_add_tcase(s, misc);
    return s;
}

TGC_MAIN(tf_layers_suite)
