/* test_explain.c: tg_explain says why an op ran or did not: the path that
 * pulled it in, the UPDATE_OPS op no path reaches, the feed that cut it
 * off, the cond branch not taken. The expected paths are read off the
 * graphs built here. */
#include "tg_check.h"

static tg_variable *scalar_var(tg_graph *g, const char *name, bool trainable) {
    TG_OPTS(tg_get_variable_opts, o, .initializer = tg_ones_initializer(), .trainable = trainable);
    return tg_get_variable(g, name, TG_FLOAT32, TG_SCALAR, &o);
}

START_TEST(test_update_op_reached_or_not)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = scalar_var(g, "w", true), *m = scalar_var(g, "bn/moving_mean", false);
    tg_op *update = tg_tensor_op(tg_assign_sub(g, tg_variable_ref(m), tg_constant_scalar(g, TG_FLOAT32, 0.5, NULL),
                                               "bn/AssignMovingAvg"));
    tg_add_to_collection(g, TG_GRAPHKEYS_UPDATE_OPS, TG_ITEM_OF_OP(update));
    tg_tensor *step = tg_constant_scalar(g, TG_FLOAT32, 0.1, NULL);
    tg_op *bad = tg_tensor_op(tg_assign_sub(g, tg_variable_ref(w), step, "train_bad"));
    tg_op *good = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &update, 1) { good = tg_tensor_op(tg_assign_sub(g, tg_variable_ref(w), step, "train")); }
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    tgc_run_target(s, bad);
    char *why = tg_explain(s, NULL, 0, &bad, 1, update);
    ck_assert_str_contains(why, "'bn/AssignMovingAvg' did not run: no data or control path leads to it from "
                                "{train_bad}. It is in UPDATE_OPS");
    tg_free(why);
    tgc_run_target(s, good);
    why = tg_explain(s, NULL, 0, &good, 1, update);
    ck_assert_str_contains(why, "'bn/AssignMovingAvg' ran: 'train' <-control- 'bn/AssignMovingAvg'");
    tg_free(why);
    /* through data: the train op reads the step constant */
    why = tg_explain(s, NULL, 0, &good, 1, tg_tensor_op(step));
    ck_assert_str_contains(why, "'Const_1' ran: 'train' <-data- 'Const_1'"); /* the second Const made */
    tg_free(why);
    ck_assert_ptr_null(tg_explain(s, NULL, 0, &good, 1, NULL));
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* b = exp(a) + 1 with exp's output fed: Exp is cut off. */
START_TEST(test_cut_off_by_feed)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_constant_scalar(g, TG_FLOAT32, 2, "a");
    tg_tensor *e = tg_exp(g, a, "e");
    tg_tensor *b = tg_add(g, e, tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "b");
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *v = tg_array_scalar_f32(5), *out = NULL;
    tg_feed f = {e, v};
    ck_assert_int_eq(tg_session_run(s, &f, 1, &b, 1, &out, NULL, 0), TG_OK);
    ck_assert_float_eq(tg_array_get(out, 0), 6);
    char *why = tg_explain(s, &b, 1, NULL, 0, tg_tensor_op(a));
    ck_assert_str_contains(why, "'a' did not run: it is reached only through fed tensors");
    ck_assert_str_contains(why, "'b' <-data- 'e' <-data- 'a'; fed: 'e:0'");
    tg_free(why);
    tg_array_free(out);
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static int branch_exp(tg_graph *g, void *user, tg_tensor **outs, int n) {
    (void)n;
    outs[0] = tg_exp(g, (tg_tensor *)user, "in_true");
    return 1;
}

static int branch_neg(tg_graph *g, void *user, tg_tensor **outs, int n) {
    (void)n;
    outs[0] = tg_negative(g, (tg_tensor *)user, "in_false");
    return 1;
}

START_TEST(test_untaken_branch)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 0, "x"), *y = NULL;
    ck_assert_int_eq(tg_cond(g, p, branch_exp, branch_neg, x, &y, 1, NULL), TG_OK);
    ck_assert_tg_ok(g);
    tg_op *t = tg_graph_op(g, "cond/in_true"), *f = tg_graph_op(g, "cond/in_false");
    ck_assert_ptr_nonnull(t);
    tg_session *s = tg_session_new(g);
    tg_array *no = tg_array_scalar_bool(false), *out = NULL;
    tg_feed feed = {p, no};
    ck_assert_int_eq(tg_session_run(s, &feed, 1, &y, 1, &out, NULL, 0), TG_OK);
    ck_assert_float_eq(tg_array_get(out, 0), 0);
    char *why = tg_explain(s, &y, 1, NULL, 0, t);
    ck_assert_str_contains(why, "'cond/in_true' was in the run but skipped: it is in a tg_cond branch that was not taken");
    tg_free(why);
    why = tg_explain(s, &y, 1, NULL, 0, f);
    ck_assert_str_contains(why, "'cond/in_false' ran: ");
    tg_free(why);
    tg_array_free(out);
    tg_array_free(no);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static Suite *explain_suite(void) {
    Suite *s = suite_create("explain");
    TCase *tc = tcase_create("explain");
    tcase_add_test(tc, test_update_op_reached_or_not);
    tcase_add_test(tc, test_cut_off_by_feed);
    tcase_add_test(tc, test_untaken_branch);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(explain_suite)
