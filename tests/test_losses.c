/* test_losses.c: tf.losses (values by hand, reductions, weights, label
 * smoothing, names, the LOSSES collection), the contrib l1/l2/l1_l2
 * regularizers through tg_get_variable, total losses, and the global step. */
#include "tg_check.h"

static double fetch1(tg_graph *g, tg_tensor *t)
{
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_op *init = tg_global_variables_initializer(g);
    tgc_run_target(s, init);
    double v = tgc_fetch_scalar(s, t);
    tg_session_free(s);
    return v;
}

static tg_tensor *c32(tg_graph *g, tg_shape s, const float *v) { return tg_constant_data(g, TG_FLOAT32, s, v, NULL); }

/* xent of logits (1, 2, 3) against label c: log(e + e^2 + e^3) - x_c */
static double xent(int c) { return log(exp(1) + exp(2) + exp(3)) - (c + 1); }

START_TEST(test_softmax_cross_entropy)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *logits = c32(g, TG_SHAPE(3, 3), (float[]){1, 2, 3, 1, 2, 3, 1, 2, 3});
    tg_tensor *onehot = c32(g, TG_SHAPE(3, 3), (float[]){1, 0, 0, 0, 1, 0, 0, 0, 1});
    tg_tensor *l = tg_losses_softmax_cross_entropy(g, onehot, logits, NULL);
    ck_assert_str_eq(tg_tensor_name(l), "softmax_cross_entropy_loss/value:0");
    ck_assert_close(fetch1(g, l), (xent(0) + xent(1) + xent(2)) / 3, 1e-5);
    tg_tensor **losses = NULL;
    ck_assert_int_eq(tg_get_collection_tensors(g, TG_GRAPHKEYS_LOSSES, NULL, &losses), 1);
    ck_assert_ptr_eq(losses[0], l);
    tg_free(losses);
    /* weights (1, 0, 2): SUM_BY_NONZERO_WEIGHTS divides by the 2 non-zero */
    tg_tensor *w = c32(g, TG_SHAPE(3), (float[]){1, 0, 2});
    TG_OPTS(tg_loss_opts, lo, .weights = w);
    tg_tensor *lw = tg_losses_softmax_cross_entropy(g, onehot, logits, &lo);
    ck_assert_close(fetch1(g, lw), (xent(0) + 2 * xent(2)) / 2, 1e-5);
    TG_OPTS(tg_loss_opts, lo2, .weights = w, .reduction = TG_REDUCTION_SUM);
    tg_tensor *ls = tg_losses_softmax_cross_entropy(g, onehot, logits, &lo2);
    ck_assert_close(fetch1(g, ls), xent(0) + 2 * xent(2), 1e-5);
    TG_OPTS(tg_loss_opts, lo3, .weights = w, .reduction = TG_REDUCTION_MEAN);
    tg_tensor *lm = tg_losses_softmax_cross_entropy(g, onehot, logits, &lo3);
    ck_assert_close(fetch1(g, lm), (xent(0) + 2 * xent(2)) / 3, 1e-5);
    /* label smoothing 0.3 over 3 classes: labels 0.7 * onehot + 0.1 */
    TG_OPTS(tg_loss_opts, lo4, .label_smoothing = 0.3, .loss_collection = NULL);
    tg_tensor *sm = tg_losses_softmax_cross_entropy(g, onehot, logits, &lo4);
    double want = 0;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) want += ((r == c) * 0.7 + 0.1) * xent(c) / 3;
    ck_assert_close(fetch1(g, sm), want, 1e-5);
    ck_assert_int_eq(tg_get_collection_tensors(g, TG_GRAPHKEYS_LOSSES, NULL, NULL), 4);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_sparse_and_mse)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *logits = c32(g, TG_SHAPE(2, 3), (float[]){1, 2, 3, 1, 2, 3});
    tg_tensor *labels = tg_constant_data(g, TG_INT32, TG_SHAPE(2, 1), (int32_t[]){2, 0}, NULL);
    tg_tensor *l = tg_losses_sparse_softmax_cross_entropy(g, labels, logits, NULL);
    ck_assert_str_eq(tg_tensor_name(l), "sparse_softmax_cross_entropy_loss/value:0");
    ck_assert_close(fetch1(g, l), (xent(2) + xent(0)) / 2, 1e-5);
    /* weights [2, 1] against labels [2]: squeezed as TF does, not broadcast */
    tg_tensor *w21 = c32(g, TG_SHAPE(2, 1), (float[]){0, 2});
    TG_OPTS(tg_loss_opts, lo, .weights = w21);
    tg_tensor *lw = tg_losses_sparse_softmax_cross_entropy(g, labels, logits, &lo);
    ck_assert_close(fetch1(g, lw), 2 * xent(0) / 1, 1e-5);
    /* weights that cannot broadcast to the losses are an error, as TF */
    tg_tensor *w3 = c32(g, TG_SHAPE(3), (float[]){1, 1, 1});
    TG_OPTS(tg_loss_opts, lo2, .weights = w3);
    ck_assert_ptr_null(tg_losses_sparse_softmax_cross_entropy(g, labels, logits, &lo2));
    ck_assert_str_contains(tg_graph_message(g), "weights can not be broadcast to values. Mismatch at dim 0.");
    tg_graph_clear_status(g);
    tg_tensor *p = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2, 2), (double[]){1, 2, 3, 4}, NULL);
    tg_tensor *y = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2, 2), (double[]){1, 0, 0, 4}, NULL);
    tg_tensor *mse = tg_losses_mean_squared_error(g, y, p, NULL);
    ck_assert_int_eq(tg_tensor_dtype(mse), TG_FLOAT32); /* TF computes it in float32 */
    ck_assert_close(fetch1(g, mse), (0 + 4 + 9 + 0) / 4.0, 1e-6);
    TG_OPTS(tg_loss_opts, lo3, .reduction = TG_REDUCTION_NONE);
    tg_tensor *none = tg_losses_mean_squared_error(g, y, p, &lo3);
    ck_assert_int_eq(tg_tensor_shape(none).rank, 2);
    tg_tensor *wbad = c32(g, TG_SHAPE(2), (float[]){1, 1});
    TG_OPTS(tg_loss_opts, lo4, .weights = wbad);
    ck_assert_ptr_null(tg_losses_mean_squared_error(g, y, p, &lo4));
    ck_assert_str_contains(tg_graph_message(g), "values.rank=2. weights.rank=1.");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_losses_mean_squared_error(g, p, c32(g, TG_SHAPE(3), (float[]){1, 2, 3}), NULL));
    ck_assert_str_contains(tg_graph_message(g), "mean_squared_error: Shapes");
    tg_graph_free(g);
}
END_TEST

/* w = ones(2, 2): l1 = s * 4, l2 = s * 4 / 2 */
START_TEST(test_regularizers)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, o, .initializer = tg_ones_initializer(), .regularizer = tg_layers_l2_regularizer(0.5));
    tg_get_variable(g, "a", TG_FLOAT32, TG_SHAPE(2, 2), &o);
    o.regularizer = tg_layers_l1_regularizer(0.25);
    tg_get_variable(g, "b", TG_FLOAT32, TG_SHAPE(2, 2), &o);
    o.regularizer = tg_layers_l1_l2_regularizer(0.25, 0.5);
    tg_get_variable(g, "c", TG_FLOAT32, TG_SHAPE(2, 2), &o);
    o.regularizer = tg_layers_l2_regularizer(0);
    tg_get_variable(g, "d", TG_FLOAT32, TG_SHAPE(2, 2), &o);
    ck_assert_tg_ok(g);
    tg_tensor **r = NULL;
    ck_assert_int_eq(tg_get_collection_tensors(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, NULL, &r), 3);
    ck_assert_str_eq(tg_tensor_name(r[0]), "a/Regularizer/l2_regularizer:0");
    ck_assert_str_eq(tg_tensor_name(r[1]), "b/Regularizer/l1_regularizer:0");
    ck_assert_str_eq(tg_tensor_name(r[2]), "c/Regularizer/l1_l2_regularizer:0");
    ck_assert_close(fetch1(g, r[0]), 1.0, 1e-6);
    ck_assert_close(fetch1(g, r[1]), 1.0, 1e-6);
    ck_assert_close(fetch1(g, r[2]), 2.0, 1e-6);
    tg_free(r);
    tg_tensor *total = tg_losses_get_regularization_loss(g, NULL, NULL);
    ck_assert_str_eq(tg_tensor_name(total), "total_regularization_loss:0");
    ck_assert_close(fetch1(g, total), 4.0, 1e-6);
    ck_assert_close(fetch1(g, tg_losses_get_regularization_loss(g, "b", NULL)), 1.0, 1e-6);
    o.regularizer = tg_layers_l1_regularizer(-1);
    ck_assert_ptr_null(tg_get_variable(g, "e", TG_FLOAT32, TG_SHAPE(2), &o));
    ck_assert_str_contains(tg_graph_message(g), "Setting a scale less than 0 on a regularizer: -1");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_total_loss)
{
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_null(tg_losses_get_total_loss(g, true, NULL));
    ck_assert_str_contains(tg_graph_message(g), "No losses to add");
    tg_graph_clear_status(g);
    ck_assert_close(fetch1(g, tg_losses_get_regularization_loss(g, NULL, NULL)), 0.0, 0);
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_constant_initializer(2), .regularizer = tg_layers_l2_regularizer(1));
    tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), &vo);
    tg_tensor *p = c32(g, TG_SHAPE(2), (float[]){1, 3});
    tg_losses_mean_squared_error(g, c32(g, TG_SHAPE(2), (float[]){0, 0}), p, NULL);
    tg_tensor *t = tg_losses_get_total_loss(g, true, NULL);
    ck_assert_str_eq(tg_tensor_name(t), "total_loss:0");
    ck_assert_close(fetch1(g, t), 5.0 + 4.0, 1e-5); /* mse (1 + 9) / 2, l2 (4 + 4) / 2 */
    ck_assert_close(fetch1(g, tg_losses_get_total_loss(g, false, "data_loss")), 5.0, 1e-5);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_global_step)
{
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_null(tg_train_get_global_step(g));
    tg_op *dep = tg_no_op(g, "dep");
    tg_variable *gs = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &dep, 1) { gs = tg_train_get_or_create_global_step(g); }
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_variable_name(gs), "global_step");
    ck_assert_int_eq(tg_variable_dtype(gs), TG_INT64);
    ck_assert(!tg_variable_trainable(gs));
    ck_assert_int_eq(tg_op_num_control_inputs(tg_variable_op(gs)), 0);
    ck_assert_ptr_eq(tg_train_get_or_create_global_step(g), gs);
    ck_assert_ptr_eq(tg_train_get_global_step(g), gs);
    ck_assert_int_eq(tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_STEP, NULL, NULL), 1);
    ck_assert_int_eq(tg_get_collection_variables(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, NULL, NULL), 0);
    tg_tensor *inc = tg_assign_add(g, tg_variable_ref(gs), tg_constant_scalar(g, TG_INT64, 1, NULL), NULL);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, tg_global_variables_initializer(g));
    for (int i = 0; i < 3; i++) tgc_run_target(s, tg_tensor_op(inc));
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(gs)), 3, 0);
    tg_session_free(s);
    tg_graph_free(g);

    g = tg_graph_new();
    tg_get_variable(g, "global_step", TG_FLOAT32, TG_SCALAR, NULL);
    ck_assert_ptr_null(tg_train_get_or_create_global_step(g));
    ck_assert_str_contains(tg_graph_message(g), "does not have integer type");
    tg_graph_free(g);
}
END_TEST

static Suite *losses_suite(void)
{
    Suite *s = suite_create("losses");
    TCase *tc = tcase_create("losses");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_softmax_cross_entropy);
    tcase_add_test(tc, test_sparse_and_mse);
    tcase_add_test(tc, test_regularizers);
    tcase_add_test(tc, test_total_loss);
    tcase_add_test(tc, test_global_step);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(losses_suite)
