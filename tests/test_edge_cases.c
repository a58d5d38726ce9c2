/* test_edge_cases.c: corner cases of TF1 semantics found in review.
 *
 * Control dependencies and ops built under control_dependencies(None) (as
 * variables are), a fed tensor whose producer still runs, a variable whose
 * op name was taken, fetching an uninitialized variable reference, feeding a
 * variable reference, an output array that is also a feed, AUTO_REUSE
 * without a scope name, impossible shapes, the default variance_scaling
 * distribution, and Python-style seed truncation. */
#include "tg_check.h"

static tg_tensor *f32(tg_graph *g, double v, const char *name)
{
    return tg_constant_scalar(g, TG_FLOAT32, v, name);
}

/* TF: controllers only "see" ops made while they are on the current stack,
 * and a variable is built under control_dependencies(None). So an op reading
 * a variable created inside a block still gets the block's control input. */
START_TEST(test_control_deps_see_past_none_blocks)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *c = f32(g, 1, "c");
    tg_op *dep = tg_tensor_op(c);
    tg_tensor *y = NULL, *z = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &dep, 1) {
        tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, NULL);
        y = tg_identity(g, tg_variable_value(w), "y");
        tg_tensor *inner = tg_identity(g, c, "inner"); /* made in the block: implies dep */
        z = tg_identity(g, inner, "z");
    }
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_op_num_control_inputs(tg_tensor_op(y)), 1);
    ck_assert_ptr_eq(tg_op_control_input(tg_tensor_op(y), 0), dep);
    ck_assert_int_eq(tg_op_num_control_inputs(tg_tensor_op(z)), 0);
    tg_graph_free(g);
}
END_TEST

/* A fed tensor keeps the fed value even when its producer runs for another
 * reason (here: it is a target itself). A control edge on the producer is
 * satisfied by the feed, as TF's FeedInputs moves it to the feed (so a
 * tg_group or tg_tuple over a fed placeholder runs). */
START_TEST(test_feed_survives_running_producer)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = f32(g, 1, "a");
    tg_tensor *t = tg_identity(g, a, "t");
    tg_tensor *v = tg_identity(g, t, "v");
    tg_op *grp = tg_group(g, (tg_op *[]){tg_tensor_op(t)}, 1, "grp");
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *five = tg_array_scalar_f32(5);
    tg_feed feed = {t, five};
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, &feed, 1, &v, 1, &out, &grp, 1), TG_OK);
    ck_assert_close(tg_array_get(out, 0), 5.0, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(t)), 0);
    tg_op *t_op = tg_tensor_op(t);
    ck_assert_int_eq(tg_session_run(s, &feed, 1, &v, 1, &out, &t_op, 1), TG_OK);
    ck_assert_close(tg_array_get(out, 0), 5.0, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(t)), 1);
    tg_array_free(out);
    tg_array_free(five);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* The store keeps the requested name even when the op name was taken. */
START_TEST(test_variable_name_taken_by_op)
{
    tg_graph *g = tg_graph_new();
    f32(g, 0, "x");
    tg_variable *v = tg_get_variable(g, "x", TG_FLOAT32, TG_SCALAR, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_variable_name(v), "x_1");
    ck_assert_ptr_eq(tg_graph_variable(g, "x"), v);
    TG_OPTS(tg_get_variable_opts, ro, .reuse = TG_AUTO_REUSE);
    tg_variable *again = tg_get_variable(g, "x", TG_FLOAT32, TG_SCALAR, &ro);
    ck_assert_ptr_eq(again, v);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_fetch_uninitialized_ref)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_tensor *ref = tg_variable_ref(w);
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &ref, 1, &out, NULL, 0), TG_FAILED_PRECONDITION);
    ck_assert_str_contains(tg_session_message(s), "Attempting to use uninitialized value w");
    ck_assert_ptr_null(out);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* Feeding the reference replaces the value its readers see, as TF's
 * feed_dict={v: ...} does, without initializing the variable. */
START_TEST(test_feed_variable_ref)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, NULL);
    tg_tensor *y = tg_multiply(g, tg_variable_value(w), f32(g, 2, NULL), "y");
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *three = tg_array_scalar_f32(3);
    tg_feed feed = {tg_variable_ref(w), three};
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, &feed, 1, &y, 1, &out, NULL, 0), TG_OK);
    ck_assert_close(tg_array_get(out, 0), 6.0, 0);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &y, 1, &out, NULL, 0), TG_FAILED_PRECONDITION);
    tg_array_free(out);
    tg_array_free(three);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* An RNN-style loop: the state array is fed and receives the new state;
 * the other fetch must still see the fed state, not the overwritten one. */
START_TEST(test_output_array_is_a_feed)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *state = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "state");
    tg_tensor *next = tg_add(g, state, f32(g, 1, NULL), "next");
    tg_tensor *old = tg_identity(g, state, "old");
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *st = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){2}, (float[]){10, 20});
    tg_array *seen = NULL;
    tg_tensor *fetch[2] = {next, old};
    for (int step = 0; step < 3; step++) {
        tg_feed feed = {state, st};
        tg_array *out[2] = {st, seen};
        ck_assert_int_eq(tg_session_run(s, &feed, 1, fetch, 2, out, NULL, 0), TG_OK);
        seen = out[1];
        ck_assert_ptr_eq(out[0], st);
        ck_assert_close(tg_array_get(seen, 0), 10.0 + step, 0);
        ck_assert_close(tg_array_get(seen, 1), 20.0 + step, 0);
        ck_assert_close(tg_array_get(st, 0), 11.0 + step, 0);
        ck_assert_close(tg_array_get(st, 1), 21.0 + step, 0);
    }
    tg_array_free(seen);
    tg_array_free(st);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_auto_reuse_needs_scope_name)
{
    tg_graph *g = tg_graph_new();
    tg_variable_scope_push(g, NULL, &(tg_variable_scope_opts){.default_name = "d", .reuse = TG_AUTO_REUSE});
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "reuse=True cannot be used without a name_or_scope");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_impossible_shapes)
{
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_null(tg_get_variable(g, "huge", TG_FLOAT32, TG_SHAPE((int64_t)1 << 62, 4), NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "huge");
    ck_assert_int_eq(tg_graph_num_ops(g), 0);
    ck_assert_ptr_null(tg_array_new(TG_FLOAT32, 2, (int64_t[]){(int64_t)1 << 62, 4}));
    ck_assert_ptr_null(tg_array_new(TG_FLOAT32, 1, (int64_t[]){-1}));
    tg_shape big = TG_SHAPE((int64_t)1 << 40, (int64_t)1 << 40);
    ck_assert_int_eq(tg_shape_num_elements(&big), -1);
    tg_graph_free(g);
}
END_TEST

/* variance_scaling(scale, FAN_IN) with TF's default truncated normal: the
 * untruncated stddev is sqrt(scale/fan_in)/0.8796..., so samples lie within
 * 2 of those and, truncated, have stddev sqrt(scale/fan_in) exactly in
 * expectation. With 20000 samples the standard error of the sample stddev
 * is about 0.5%; the bound below is 5%. */
START_TEST(test_variance_scaling_truncated)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 3);
    TG_OPTS(tg_get_variable_opts, wo,
            .initializer = tg_variance_scaling_initializer(2.0, TG_FAN_IN, TG_DIST_TRUNCATED_NORMAL));
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(100, 200), &wo);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(tg_graph_op(g, "w/Initializer/truncated_normal/TruncatedNormal"));
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    tg_array *a = tgc_fetch(s, tg_variable_value(w), NULL, 0);
    double target = sqrt(2.0 / 100), bound = 2 * target / 0.87962566103423978;
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < tg_array_size(a); i++) {
        double v = tg_array_get(a, i);
        ck_assert(fabs(v) < bound + 1e-6);
        sum += v;
        sq += v * v;
    }
    double n = (double)tg_array_size(a), mean = sum / n;
    ck_assert_close(mean, 0.0, 0.05 * target);
    ck_assert_close(sqrt(sq / n - mean * mean), target, 0.05 * target);
    tg_array_free(a);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* TF truncates seeds with Python's %, so -5 and 2**31 - 1 - 5 are the same
 * seed and give the same values. */
static tg_array *uniform_with_graph_seed(int64_t seed)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, seed);
    TG_OPTS(tg_random_opts, ro, .seed = -7);
    tg_tensor *r = tg_random_uniform(g, TG_SHAPE(16), &ro);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *a = tgc_fetch(s, r, NULL, 0);
    tg_session_free(s);
    tg_graph_free(g);
    return a;
}

START_TEST(test_negative_seeds_truncate_like_python)
{
    tg_array *a = uniform_with_graph_seed(-5);
    tg_array *b = uniform_with_graph_seed(2147483647 - 5);
    tg_array *c = uniform_with_graph_seed(5);
    ck_assert_mem_eq(tg_array_data(a), tg_array_data(b), tg_array_nbytes(a));
    ck_assert(memcmp(tg_array_data(a), tg_array_data(c), tg_array_nbytes(a)) != 0);
    tg_array_free(a);
    tg_array_free(b);
    tg_array_free(c);
}
END_TEST

/* TF's slot pattern: get_variable("") in variable_scope(None,
 * default_name="w/Momentum") names the variable after the scope. TF's full
 * name is then "w/Momentum/", which re-enters the scope's name scope
 * exactly, so the op is "w/Momentum" even at the root. */
START_TEST(test_variable_named_after_scope)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = NULL, *v2 = NULL;
    TG_WITH_VARIABLE_SCOPE(g, NULL, &(tg_variable_scope_opts){.default_name = "w/Momentum"}) {
        v = tg_get_variable(g, "", TG_FLOAT32, TG_SHAPE(2), NULL);
    }
    TG_WITH_VARIABLE_SCOPE(g, NULL, &(tg_variable_scope_opts){.default_name = "w/Momentum"}) {
        v2 = tg_get_variable(g, "", TG_FLOAT32, TG_SHAPE(2), NULL);
    }
    ck_assert_ptr_nonnull(tg_graph_op(g, "w/Momentum/Assign"));
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_variable_name(v), "w/Momentum");
    ck_assert_str_eq(tg_variable_name(v2), "w/Momentum_1");
    ck_assert_ptr_null(tg_get_variable(g, "", TG_FLOAT32, TG_SHAPE(2), NULL));
    ck_assert_str_contains(tg_graph_message(g), "'' is not a valid variable name");
    tg_graph_free(g);
}
END_TEST

/* Keras' unique_object_name: per base name, apart from op names. */
START_TEST(test_unique_object_names)
{
    tg_graph *g = tg_graph_new();
    char buf[32];
    ck_assert_int_eq(tg_graph_unique_object_name(g, "dense", false, buf, sizeof buf), 7);
    ck_assert_str_eq(buf, "dense_1");
    tg_graph_unique_object_name(g, "dense", false, buf, sizeof buf);
    ck_assert_str_eq(buf, "dense_2");
    tg_graph_unique_object_name(g, "conv", true, buf, sizeof buf);
    ck_assert_str_eq(buf, "conv");
    tg_graph_unique_object_name(g, "conv", true, buf, sizeof buf);
    ck_assert_str_eq(buf, "conv_1");
    ck_assert_int_eq(tg_graph_num_ops(g), 0);
    ck_assert_int_eq(tg_graph_unique_object_name(NULL, "x", false, buf, sizeof buf), -1);
    tg_graph_free(g);
}
END_TEST

/* TF's initializer=<Tensor>: a variable starting at another's initial
 * value shares its value after one initializer run; a tensor that does not
 * fit is refused, leaving nothing behind. */
START_TEST(test_tensor_initial_value)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 1);
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(3), NULL);
    TG_OPTS(tg_get_variable_opts, co, .initial_value = tg_variable_initial_value(w));
    tg_variable *copy = tg_get_variable(g, "copy", TG_FLOAT32, TG_SHAPE(3), &co);
    ck_assert_tg_ok(g);
    ck_assert_ptr_null(tg_graph_op(g, "copy/Initializer/random_uniform"));
    int ops = tg_graph_num_ops(g);
    TG_OPTS(tg_get_variable_opts, bo, .initial_value = tg_variable_initial_value(w));
    ck_assert_ptr_null(tg_get_variable(g, "bad", TG_FLOAT32, TG_SHAPE(4), &bo));
    ck_assert_str_contains(tg_graph_message(g), "does not fit dtype float32 and shape (4,)");
    ck_assert_int_eq(tg_graph_num_ops(g), ops);
    tg_graph_clear_status(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, tg_global_variables_initializer(g));
    tg_array *a = tgc_fetch(s, tg_variable_value(w), NULL, 0), *b = tgc_fetch(s, tg_variable_value(copy), NULL, 0);
    ck_assert_mem_eq(tg_array_data(a), tg_array_data(b), tg_array_nbytes(a));
    tg_array_free(a);
    tg_array_free(b);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST


/* Issue 12: a shape whose element count overflows is "too many elements",
 * not "must be fully defined" (every dimension is known). */
START_TEST(test_overflowing_shapes_say_so)
{
    tg_set_log_callback(NULL, NULL);
    tg_shape huge = TG_SHAPE((int64_t)1 << 40, (int64_t)1 << 40);
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_null(tg_random_uniform(g, huge, NULL));
    ck_assert_str_contains(tg_graph_message(g), "shape (1099511627776, 1099511627776) has too many elements");
    tg_graph_free(g);
    g = tg_graph_new();
    ck_assert_ptr_null(tg_constant_data(g, TG_FLOAT32, huge, NULL, "c"));
    ck_assert_str_contains(tg_graph_message(g), "c: the constant's shape (1099511627776, 1099511627776) has too many");
    tg_graph_free(g);
    g = tg_graph_new();
    ck_assert_ptr_null(tg_random_uniform(g, TG_SHAPE(-1, 3), NULL));
    ck_assert_str_contains(tg_graph_message(g), "must be fully defined");
    tg_graph_free(g);
    tg_set_log_callback(tg_log_stderr, NULL);
}
END_TEST

static Suite *edge_suite(void)
{
    Suite *s = suite_create("edge_cases");
    TCase *tc = tcase_create("edge_cases");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_control_deps_see_past_none_blocks);
    tcase_add_test(tc, test_feed_survives_running_producer);
    tcase_add_test(tc, test_variable_name_taken_by_op);
    tcase_add_test(tc, test_fetch_uninitialized_ref);
    tcase_add_test(tc, test_feed_variable_ref);
    tcase_add_test(tc, test_output_array_is_a_feed);
    tcase_add_test(tc, test_auto_reuse_needs_scope_name);
    tcase_add_test(tc, test_impossible_shapes);
    tcase_add_test(tc, test_variance_scaling_truncated);
    tcase_add_test(tc, test_negative_seeds_truncate_like_python);
    tcase_add_test(tc, test_variable_named_after_scope);
    tcase_add_test(tc, test_unique_object_names);
    tcase_add_test(tc, test_tensor_initial_value);
    tcase_add_test(tc, test_overflowing_shapes_say_so);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(edge_suite)
