/* test_control_deps.c: tf.control_dependencies, tf.group and tf.no_op.
 *
 * Covers control inputs of ops created in a block, nested blocks (union),
 * control_dependencies(None) clearing, ops created before the block being
 * unaffected (and the identity trick), de-duplication, skipping deps implied
 * by a data input created in the block, variables created in a block having
 * no control inputs, errors, and the run-time meaning: an assign_add under
 * a control dependency of a fetched identity runs exactly once per run. */
#include "tg_check.h"

static tg_op *op_of(tg_tensor *t)
{
    return t ? tg_tensor_op(t) : NULL;
}

static void assert_controls(tg_op *op, tg_op *const *want, int n)
{
    ck_assert_ptr_nonnull(op);
    ck_assert_msg(tg_op_num_control_inputs(op) == n, "%s has %d control inputs, want %d",
                  tg_op_name(op), tg_op_num_control_inputs(op), n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(tg_op_control_input(op, i) == want[i], "%s control input %d is %s, want %s",
                      tg_op_name(op), i,
                      tg_op_control_input(op, i) ? tg_op_name(tg_op_control_input(op, i)) : "NULL",
                      tg_op_name(want[i]));
}

START_TEST(test_block_adds_control_inputs)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_op *a = tg_no_op(g, "a");
    tg_tensor *y = NULL;
    tg_op *n = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &a, 1)
    {
        tg_op *const *list = NULL;
        ck_assert_int_eq(tg_graph_control_dependencies(g, &list), 1);
        ck_assert_ptr_eq(list[0], a);
        y = tg_identity(g, x, "y");
        n = tg_no_op(g, "n");
    }
    tg_tensor *after = tg_identity(g, x, "after");
    ck_assert_tg_ok(g);
    assert_controls(op_of(y), &a, 1);
    assert_controls(n, &a, 1);
    assert_controls(op_of(after), NULL, 0);
    ck_assert_int_eq(tg_graph_control_dependencies(g, NULL), 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_nested_blocks_accumulate)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_op *a = tg_no_op(g, "a"), *b = tg_no_op(g, "b");
    tg_tensor *outer = NULL, *inner = NULL, *back = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &a, 1)
    {
        outer = tg_identity(g, x, "outer");
        TG_WITH_CONTROL_DEPENDENCIES(g, &b, 1)
        {
            ck_assert_int_eq(tg_graph_control_dependencies(g, NULL), 2);
            inner = tg_identity(g, x, "inner");
        }
        back = tg_identity(g, x, "back");
    }
    ck_assert_tg_ok(g);
    assert_controls(op_of(outer), &a, 1);
    assert_controls(op_of(inner), (tg_op *[]){a, b}, 2);
    assert_controls(op_of(back), &a, 1);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_none_clears)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_op *a = tg_no_op(g, "a"), *b = tg_no_op(g, "b");
    tg_tensor *cleared = NULL, *only_b = NULL, *restored = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &a, 1)
    {
        TG_WITH_CONTROL_DEPENDENCIES(g, NULL, 0)
        {
            ck_assert_int_eq(tg_graph_control_dependencies(g, NULL), 0);
            cleared = tg_identity(g, x, "cleared");
            TG_WITH_CONTROL_DEPENDENCIES(g, &b, 1) { only_b = tg_identity(g, x, "only_b"); }
        }
        restored = tg_identity(g, x, "restored");
    }
    ck_assert_tg_ok(g);
    assert_controls(op_of(cleared), NULL, 0);
    assert_controls(op_of(only_b), &b, 1);
    assert_controls(op_of(restored), &a, 1);
    tg_graph_free(g);
}
END_TEST

/* Using an existing tensor inside the block adds nothing to its op; an op
 * created in the block that consumes it does get the control input. */
START_TEST(test_existing_ops_unaffected)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_op *a = tg_no_op(g, "a");
    tg_tensor *id = NULL, *sum = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &a, 1)
    {
        id = tg_identity(g, x, "id");
        sum = tg_add(g, x, x, "sum");
    }
    ck_assert_tg_ok(g);
    assert_controls(op_of(x), NULL, 0);
    assert_controls(op_of(id), &a, 1);
    assert_controls(op_of(sum), &a, 1);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_dedupe)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_op *a = tg_no_op(g, "a"), *b = tg_no_op(g, "b");
    tg_tensor *twice = NULL, *nested = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, ((tg_op *[]){a, a}), 2)
    {
        twice = tg_identity(g, x, "twice");
        TG_WITH_CONTROL_DEPENDENCIES(g, ((tg_op *[]){a, b}), 2)
        {
            ck_assert_int_eq(tg_graph_control_dependencies(g, NULL), 2);
            nested = tg_identity(g, x, "nested");
        }
    }
    ck_assert_tg_ok(g);
    assert_controls(op_of(twice), &a, 1);
    assert_controls(op_of(nested), (tg_op *[]){a, b}, 2);
    tg_graph_free(g);
}
END_TEST

/* TF skips a block's control inputs for an op whose data input was created
 * in that block (implied transitively), and a control input that is also a
 * data input. */
START_TEST(test_implied_by_data_input)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_tensor *c = tg_constant_scalar(g, TG_FLOAT32, 2, "c");
    tg_op *a = tg_no_op(g, "a");
    tg_tensor *y = NULL, *z = NULL, *w = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &a, 1)
    {
        y = tg_identity(g, x, "y");
        z = tg_identity(g, y, "z");
    }
    TG_WITH_CONTROL_DEPENDENCIES(g, ((tg_op *[]){op_of(c)}), 1) { w = tg_add(g, c, x, "w"); }
    ck_assert_tg_ok(g);
    assert_controls(op_of(y), &a, 1);
    assert_controls(op_of(z), NULL, 0);
    assert_controls(op_of(w), NULL, 0);
    tg_graph_free(g);
}
END_TEST

/* tf.get_variable creates its ops outside any control-dependency block. */
START_TEST(test_variable_ops_have_no_control_inputs)
{
    tg_graph *g = tg_graph_new();
    tg_op *a = tg_no_op(g, "a");
    tg_variable *v = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &a, 1)
    {
        v = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2), NULL);
        ck_assert_int_eq(tg_graph_control_dependencies(g, NULL), 1);
    }
    ck_assert_tg_ok(g);
    assert_controls(tg_variable_op(v), NULL, 0);
    assert_controls(op_of(tg_variable_value(v)), NULL, 0);
    assert_controls(tg_variable_initializer(v), NULL, 0);
    assert_controls(op_of(tg_variable_initial_value(v)), NULL, 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_errors)
{
    tg_graph *g = tg_graph_new(), *other = tg_graph_new();
    tg_op *a = tg_no_op(g, "a");
    tg_op *foreign = tg_no_op(other, "foreign");
    int depth = tg_scope_depth(g);
    tg_control_dependencies_push(g, ((tg_op *[]){a, NULL}), 2);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    tg_scope_pop(g, depth);
    tg_control_dependencies_push(g, &foreign, 1);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    tg_scope_pop(g, depth);
    ck_assert_ptr_null(tg_group(g, ((tg_op *[]){a, NULL}), 2, NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_control_dependencies(g, NULL), 0);
    ck_assert_int_eq(tg_graph_num_ops(g), 1);
    tg_graph_free(g);
    tg_graph_free(other);
}
END_TEST

START_TEST(test_no_op_and_group)
{
    tg_graph *g = tg_graph_new();
    tg_op *n = tg_no_op(g, NULL);
    tg_op *a = tg_no_op(g, "a"), *b = tg_no_op(g, "b");
    tg_op *grp = tg_group(g, ((tg_op *[]){a, b}), 2, NULL);
    tg_op *grp2 = tg_group(g, &a, 1, NULL);
    tg_op *named = tg_group(g, &b, 1, "train");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(n), "NoOp");
    ck_assert_str_eq(tg_op_type(n), "NoOp");
    ck_assert_int_eq(tg_op_num_inputs(n), 0);
    ck_assert_int_eq(tg_op_num_outputs(n), 0);
    ck_assert_str_eq(tg_op_name(grp), "group_deps");
    ck_assert_str_eq(tg_op_type(grp), "NoOp");
    ck_assert_int_eq(tg_op_num_outputs(grp), 0);
    assert_controls(grp, (tg_op *[]){a, b}, 2);
    ck_assert_str_eq(tg_op_name(grp2), "group_deps_1");
    ck_assert_str_eq(tg_op_name(named), "train");
    tg_graph_free(g);
}
END_TEST

/* A float counter variable c (0) and inc = assign_add(c, 1). */
static tg_variable *make_counter(tg_graph *g, const char *name, tg_tensor **inc)
{
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer(), .trainable = false);
    tg_variable *c = tg_get_variable(g, name, TG_FLOAT32, TG_SCALAR, &vo);
    *inc = tg_assign_add(g, tg_variable_ref(c), tg_constant_scalar(g, TG_FLOAT32, 1, NULL), NULL);
    return c;
}

START_TEST(test_update_runs_once_per_run)
{
    enum { N = 5 };
    tg_graph *g = tg_graph_new();
    tg_tensor *inc = NULL, *y = NULL;
    tg_variable *c = make_counter(g, "counter", &inc);
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 4, "x");
    TG_WITH_CONTROL_DEPENDENCIES(g, ((tg_op *[]){op_of(inc)}), 1) { y = tg_identity(g, x, "y"); }
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    for (int i = 0; i < N; i++)
        ck_assert_close(tgc_fetch_scalar(s, y), 4.0, 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(c)), N, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, op_of(inc)), N);
    /* fetching x itself (created before the block) does not trigger it */
    ck_assert_close(tgc_fetch_scalar(s, x), 4.0, 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(c)), N, 0);
    /* fetching y and inc together still runs inc once */
    tg_tensor *both[] = {y, inc};
    tg_array *out[2] = {NULL, NULL};
    ck_assert_int_eq(tg_session_run(s, NULL, 0, both, 2, out, NULL, 0), TG_OK);
    ck_assert_close(tg_array_get(out[0], 0), 4.0, 0);
    ck_assert_close(tg_array_get(out[1], 0), N + 1, 0);
    tg_array_free(out[0]);
    tg_array_free(out[1]);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(c)), N + 1, 0);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_group_runs_members)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *inc_a = NULL, *inc_b = NULL;
    tg_variable *a = make_counter(g, "a", &inc_a);
    tg_variable *b = make_counter(g, "b", &inc_b);
    tg_op *grp = tg_group(g, ((tg_op *[]){op_of(inc_a), op_of(inc_b)}), 2, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    tgc_run_target(s, grp);
    tgc_run_target(s, grp);
    tgc_run_target(s, grp);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(a)), 3, 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(b)), 3, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, grp), 3);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static Suite *control_deps_suite(void)
{
    Suite *s = suite_create("control_deps");
    TCase *tc = tcase_create("construction");
    tcase_add_test(tc, test_block_adds_control_inputs);
    tcase_add_test(tc, test_nested_blocks_accumulate);
    tcase_add_test(tc, test_none_clears);
    tcase_add_test(tc, test_existing_ops_unaffected);
    tcase_add_test(tc, test_dedupe);
    tcase_add_test(tc, test_implied_by_data_input);
    tcase_add_test(tc, test_variable_ops_have_no_control_inputs);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_no_op_and_group);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);

    tc = tcase_create("runtime");
    tcase_add_test(tc, test_update_runs_once_per_run);
    tcase_add_test(tc, test_group_runs_members);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(control_deps_suite)
