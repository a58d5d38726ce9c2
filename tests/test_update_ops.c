/* test_update_ops.c: the UPDATE_OPS check and run traces.
 *
 * A train op that does not depend on the ops in UPDATE_OPS leaves moving
 * statistics stale (TF1's classic mistake): the check names the left-out
 * ops and the fix, through tg_session_warnings and the warning callback,
 * only for runs that train; wiring the train op under a control dependency
 * on UPDATE_OPS silences it, and a trace shows the update before the step. */
#include "tg_check.h"

typedef struct {
    tg_graph *g;
    tg_variable *w, *moving;
    tg_op *update, *init;
    tg_tensor *loss;
} model;

static model build(void)
{
    model m = {.g = tg_graph_new()};
    tg_graph *g = m.g;
    TG_OPTS(tg_get_variable_opts, ones, .initializer = tg_ones_initializer());
    m.w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &ones);
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer(), .trainable = false);
    m.moving = tg_get_variable(g, "bn/moving_mean", TG_FLOAT32, TG_SCALAR, &vo);
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 3, "x");
    /* moving -= (moving - x) * 0.5 */
    tg_tensor *delta = tg_multiply(g, tg_subtract(g, tg_variable_value(m.moving), x, NULL),
                                   tg_constant_scalar(g, TG_FLOAT32, 0.5, NULL), NULL);
    m.update = tg_tensor_op(tg_assign_sub(g, tg_variable_ref(m.moving), delta, "bn/AssignMovingAvg"));
    tg_add_to_collection(g, TG_GRAPHKEYS_UPDATE_OPS, TG_ITEM_OF_OP(m.update));
    m.loss = tg_square(g, tg_multiply(g, tg_variable_value(m.w), x, NULL), "loss");
    return m;
}

static tg_op *sgd_step(tg_graph *g, model *m)
{
    tg_tensor *dw = NULL;
    tg_tensor *wv = tg_variable_value(m->w);
    tg_gradients(g, &m->loss, 1, &wv, 1, &dw, NULL);
    return tg_tensor_op(tg_assign_sub(g, tg_variable_ref(m->w), tg_multiply(g, dw, tg_constant_scalar(g, TG_FLOAT32, 0.01, NULL), NULL),
                                      "train"));
}

static int calls;
static char last[1024];
static void on_warning(const char *message, void *user)
{
    (void)user;
    calls++;
    snprintf(last, sizeof last, "%s", message);
}

START_TEST(test_stale_update_ops_are_named)
{
    model m = build();
    tg_op *train = sgd_step(m.g, &m);
    m.init = tg_global_variables_initializer(m.g);
    ck_assert_tg_ok(m.g);
    tg_session *s = tg_session_new(m.g);
    tg_session_set_run_options(s, &(tg_run_options){.check_update_ops = true});
    tg_session_set_warning_callback(s, on_warning, NULL);
    calls = 0;
    tgc_run_target(s, m.init); /* initializers do not train */
    ck_assert_str_eq(tg_session_warnings(s), "");
    tg_array *l = tgc_fetch(s, m.loss, NULL, 0); /* evaluation does not train */
    tg_array_free(l);
    ck_assert_str_eq(tg_session_warnings(s), "");
    ck_assert_int_eq(calls, 0);
    for (int i = 0; i < 3; i++) tgc_run_target(s, train);
    ck_assert_int_eq(calls, 1); /* once per feeds/fetches/targets set */
    ck_assert_str_contains(tg_session_warnings(s), "bn/AssignMovingAvg");
    ck_assert_str_contains(tg_session_warnings(s), "'train'");
    ck_assert_str_contains(tg_session_warnings(s), "tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS))");
    ck_assert_str_eq(last, tg_session_warnings(s));
    /* the same check on demand, without a session run */
    char *msg = NULL;
    ck_assert_int_eq(tg_graph_check_update_ops(m.g, NULL, 0, &train, 1, &msg), 1);
    ck_assert_str_eq(msg, tg_session_warnings(s));
    tg_free(msg);
    ck_assert_int_eq(tg_graph_check_update_ops(m.g, &m.loss, 1, NULL, 0, &msg), 0);
    ck_assert_ptr_null(msg);
    ck_assert_int_eq(tg_graph_check_update_ops(NULL, NULL, 0, &train, 1, &msg), -1);
    /* the mistake itself: the moving statistic never moved */
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(m.moving)), 0, 0);
    /* off: no warning */
    ck_assert_int_eq(tg_session_run_opts(s, NULL, 0, NULL, 0, NULL, &train, 1, &(tg_run_options){0}), TG_OK);
    ck_assert_str_eq(tg_session_warnings(s), "");
    /* fetching the update ops in the same run also silences it */
    tg_op *both[2] = {train, m.update};
    ck_assert_int_eq(tg_session_run(s, NULL, 0, NULL, 0, NULL, both, 2), TG_OK);
    ck_assert_str_eq(tg_session_warnings(s), "");
    tg_session_free(s);
    tg_graph_free(m.g);
}
END_TEST

START_TEST(test_wired_train_op_and_trace)
{
    model m = build();
    tg_op **updates = NULL;
    int n = tg_get_collection_ops(m.g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    tg_op *train = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(m.g, updates, n) { train = sgd_step(m.g, &m); }
    tg_free(updates);
    m.init = tg_global_variables_initializer(m.g);
    ck_assert_tg_ok(m.g);
    tg_session *s = tg_session_new(m.g);
    tgc_run_target(s, m.init);
    calls = 0;
    tg_session_set_warning_callback(s, on_warning, NULL);
    ck_assert_int_eq(tg_session_run_opts(s, NULL, 0, NULL, 0, NULL, &train, 1,
                                         &(tg_run_options){.check_update_ops = true, .trace = true}),
                     TG_OK);
    ck_assert_str_eq(tg_session_warnings(s), "");
    ck_assert_int_eq(calls, 0);
    /* moving = 0 - (0 - 3) * 0.5 = 1.5 after one step */
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(m.moving)), 1.5, 0);
    /* the trace: the update runs before the step, each once */
    tg_op *const *ops;
    int k = tg_session_trace(s, &ops), at_update = -1, at_train = -1;
    for (int i = 0; i < k; i++) {
        if (ops[i] == m.update) at_update = i;
        if (ops[i] == train) at_train = i;
    }
    ck_assert_int_ge(at_update, 0);
    ck_assert_int_gt(at_train, at_update);
    FILE *f = tmpfile();
    ck_assert_int_eq(tg_session_write_trace(s, f), TG_OK);
    rewind(f);
    char buf[4096] = {0};
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    ck_assert_int_gt((int)got, 0);
    ck_assert_str_contains(buf, "bn/AssignMovingAvg (AssignSub)");
    ck_assert_str_contains(buf, "after: bn/AssignMovingAvg");
    tg_session_free(s);
    tg_graph_free(m.g);
}
END_TEST

static Suite *update_ops_suite(void)
{
    Suite *s = suite_create("update_ops");
    TCase *tc = tcase_create("update_ops");
    tcase_add_test(tc, test_stale_update_ops_are_named);
    tcase_add_test(tc, test_wired_train_op_and_trace);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(update_ops_suite)
