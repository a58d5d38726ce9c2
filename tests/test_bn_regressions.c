/* test_bn_regressions.c: batch-norm behaviours found in review.
 *
 * The fused tf.layers path decays in float32 as TF's keras code does; a
 * constant training tensor is decided at construction (smart_cond), so no
 * update ops are made; the UPDATE_OPS check ignores runs that only assign
 * (initializers, restores) instead of stepping variables. */
#include "tg_check.h"

/* All inputs 12.25: the batch mean is 12.25 and one step from zero gives
 * 12.25 * (1 - 0.999f) computed in float32. */
START_TEST(test_fused_decay_is_float32)
{
    tg_graph *g = tg_graph_new();
    float xs[8];
    for (int i = 0; i < 8; i++) xs[i] = 12.25f;
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 2, 2, 1), xs, NULL);
    TG_OPTS(tg_tf_layers_batch_norm_opts, bo, .momentum = 0.999, .training = true);
    tg_tensor *y = tg_tf_layers_batch_normalization(g, x, &bo);
    ck_assert_tg_ok(g);
    tg_op **upd = NULL;
    int n = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &upd);
    ck_assert_int_eq(n, 2);
    tg_variable *mm = tg_graph_variable(g, "batch_normalization/moving_mean");
    ck_assert_ptr_nonnull(mm);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, tg_global_variables_initializer(g));
    tg_op *targets[3] = {upd[0], upd[1], tg_tensor_op(y)};
    ck_assert_int_eq(tg_session_run(s, NULL, 0, NULL, 0, NULL, targets, 3), TG_OK);
    float d = 1.0f - 0.999f;
    float want = 0.0f - (0.0f - 12.25f) * d;
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(mm)), want, 1e-10);
    ck_assert(fabs(want - 12.25 * 0.001) > 1e-8); /* the double form would differ */
    tg_free(upd);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_constant_training_tensor_is_static)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3), "x");
    tg_tensor *no = tg_constant_scalar(g, TG_BOOL, 0, "no");
    TG_OPTS(tg_layers_batch_norm_opts, co, .is_training_t = no);
    tg_layers_batch_norm(g, x, &co);
    TG_OPTS(tg_tf_layers_batch_norm_opts, to, .training_t = no);
    tg_tf_layers_batch_normalization(g, x, &to);
    ck_assert_tg_ok(g);
    /* folded to False: no moments, no update ops (TF's smart_cond) */
    ck_assert_int_eq(tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, NULL), 0);
    for (int i = 0; i < tg_graph_num_ops(g); i++)
        ck_assert_msg(strstr(tg_op_name(tg_graph_op_at(g, i)), "moments") == NULL, "unexpected %s",
                      tg_op_name(tg_graph_op_at(g, i)));
    bool v = true;
    ck_assert(tg_tensor_static_bool(no, &v));
    ck_assert(!v);
    ck_assert(!tg_tensor_static_bool(x, NULL));
    tg_graph_free(g);
}
END_TEST

START_TEST(test_assign_runs_do_not_train)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, NULL);
    TG_OPTS(tg_get_variable_opts, mo, .trainable = false);
    tg_variable *m = tg_get_variable(g, "m", TG_FLOAT32, TG_SCALAR, &mo);
    tg_op *upd = tg_tensor_op(tg_assign_add(g, tg_variable_ref(m), tg_constant_scalar(g, TG_FLOAT32, 1, NULL), NULL));
    tg_add_to_collection(g, TG_GRAPHKEYS_UPDATE_OPS, TG_ITEM_OF_OP(upd));
    tg_op *set = tg_tensor_op(tg_assign(g, tg_variable_ref(w), tg_constant_scalar(g, TG_FLOAT32, 5, NULL), "set"));
    tg_op *step = tg_tensor_op(tg_assign_sub(g, tg_variable_ref(w), tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "step"));
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_session_set_run_options(s, &(tg_run_options){.check_update_ops = true});
    tgc_run_target(s, init);
    tgc_run_target(s, set);
    ck_assert_str_eq(tg_session_warnings(s), "");
    tgc_run_target(s, step);
    ck_assert_str_contains(tg_session_warnings(s), "'step'");
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static Suite *bn_regressions_suite(void)
{
    Suite *s = suite_create("bn_regressions");
    TCase *tc = tcase_create("bn_regressions");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_fused_decay_is_float32);
    tcase_add_test(tc, test_constant_training_tensor_is_static);
    tcase_add_test(tc, test_assign_runs_do_not_train);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(bn_regressions_suite)
