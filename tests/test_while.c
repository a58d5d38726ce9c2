/* test_while.c: tf.while_loop in graph mode (TF 1.15's Enter / Merge /
 * Switch / LoopCond / NextIteration / Exit frames) and its gradient loop.
 * Expected values are worked out by hand (closed forms of the loops);
 * gradients are also checked against central finite differences in
 * float64. The cases follow TF 1.15's control_flow_ops_py_test. */
#include "tg_check.h"
#include "gradcheck.h"

static double run_scalar(tg_session *s, tg_tensor *t, const tg_feed *feeds, int nf)
{
    tg_array *a = tgc_fetch(s, t, feeds, nf);
    double v = tg_array_get(a, 0);
    tg_array_free(a);
    return v;
}

static int count_type(const tg_graph *g, const char *type)
{
    int n = 0;
    for (int i = 0; i < tg_graph_num_ops(g); i++) n += strcmp(tg_op_type(tg_graph_op_at(g, i)), type) == 0;
    return n;
}

/* ---- while i < limit: (i + 1, x * k) -------------------------------------------- */

typedef struct doubling {
    double limit, k;
    tg_op *body_mul; /* what the body made */
} doubling;

static tg_tensor *i_below(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    const doubling *d = user;
    (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, tg_tensor_dtype(v[0]), d->limit, "limit"), NULL);
}

static int step_times_k(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    doubling *d = user;
    (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, tg_tensor_dtype(v[0]), 1, NULL), NULL);
    next[1] = tg_multiply(g, v[1], tg_constant_scalar(g, tg_tensor_dtype(v[1]), d->k, "k"), "mul");
    d->body_mul = tg_tensor_op(next[1]);
    return 2;
}

START_TEST(test_values_and_structure)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), x}, *out[2] = {NULL, NULL};
    doubling d = {10, 2, NULL};
    ck_assert_int_eq(tg_while_loop(g, i_below, step_times_k, &d, vars, 2, out, NULL), TG_OK);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(out[0]), "while/Exit:0");
    ck_assert_str_eq(tg_tensor_name(out[1]), "while/Exit_1:0");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/Enter")), "Enter");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/Merge_1")), "Merge");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/LoopCond")), "LoopCond");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/Switch_1")), "Switch");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/Identity_1")), "Identity");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/NextIteration_1")), "NextIteration");
    ck_assert_str_eq(tg_op_name(d.body_mul), "while/mul");
    /* the back edge: Merge reads its Enter and the NextIteration made after it */
    tg_op *m = tg_graph_op(g, "while/Merge_1");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(m, 0)), "while/Enter_1:0");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(m, 1)), "while/NextIteration_1:0");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_graph_op(g, "while/LoopCond"), 0)), "while/Less:0");
    /* constants made in the body wait for the body's pivot */
    tg_op *k = tg_graph_op(g, "while/k");
    ck_assert_int_eq(tg_op_num_control_inputs(k), 1);
    ck_assert_str_eq(tg_op_name(tg_op_control_input(k, 0)), "while/Identity");
    /* in cond, for the pivot_for_pred */
    ck_assert_str_eq(tg_op_name(tg_op_control_input(tg_graph_op(g, "while/limit"), 0)), "while/Merge");

    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(1.5f);
    tg_feed f = {x, xv};
    tg_array *res[2] = {NULL, NULL};
    tg_code rc = tg_session_run(s, &f, 1, out, 2, res, NULL, 0);
    ck_assert_msg(rc == TG_OK, "%s", tg_session_message(s));
    ck_assert_int_eq((int)tg_array_get(res[0], 0), 10);
    ck_assert_close(tg_array_get(res[1], 0), 1.5 * 1024, 0);
    /* the body ran 10 times, the condition 11 */
    ck_assert_int_eq((int)tg_session_op_run_count(s, d.body_mul), 10);
    ck_assert_int_eq((int)tg_session_op_run_count(s, tg_graph_op(g, "while/Less")), 11);
    ck_assert_int_eq((int)tg_session_op_run_count(s, tg_graph_op(g, "while/Enter_1")), 1);
    ck_assert_int_eq((int)tg_session_op_run_count(s, tg_graph_op(g, "while/Exit_1")), 1);
    /* again: the plan is reused and restarts the loop */
    ck_assert_int_eq(tg_session_run(s, &f, 1, out, 2, res, NULL, 0), TG_OK);
    ck_assert_close(tg_array_get(res[1], 0), 1.5 * 1024, 0);
    ck_assert_int_eq((int)tg_session_op_run_count(s, d.body_mul), 20);
    tg_array_free(res[0]);
    tg_array_free(res[1]);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_gradient_1024)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "x");
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), x}, *out[2] = {NULL, NULL};
    doubling d = {10, 2, NULL};
    ck_assert_int_eq(tg_while_loop(g, i_below, step_times_k, &d, vars, 2, out, NULL), TG_OK);
    tg_tensor *dx = NULL;
    ck_assert_int_eq(tg_gradients(g, &out[1], 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_tg_ok(g);
    /* TF's structure: a counter added to the forward loop, a gradient loop
     * counting it down, and one stack for each forward value it reads */
    ck_assert_int_eq(count_type(g, "LoopCond"), 2);
    ck_assert_int_eq(count_type(g, "StackV2"), count_type(g, "StackPopV2"));
    ck_assert_int_eq(count_type(g, "StackV2"), count_type(g, "StackPushV2"));
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f64(0.75);
    tg_feed f = {x, xv};
    ck_assert_close(run_scalar(s, dx, &f, 1), 1024, 0);
    ck_assert_close(run_scalar(s, dx, &f, 1), 1024, 0);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static Suite *while_suite(void)
{
    Suite *s = suite_create("while");
    TCase *tc = tcase_create("while");
    tcase_add_test(tc, test_values_and_structure);
    tcase_add_test(tc, test_gradient_1024);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(while_suite)
