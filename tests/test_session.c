/* test_session.c: tf.Session semantics and runtime arrays.
 *
 * Covers pruning (an assign_add the fetch does not need never runs), the
 * at-most-once rule for ops reachable by two paths, feeding an intermediate
 * tensor (its producer does not run), placeholder errors (unfed, wrong dtype,
 * wrong shape), tensors of another graph, failed runs leaving pending
 * variable updates undone and the session usable, placeholder_with_default,
 * output array reuse, persistence of variables, run counts, a graph freed
 * before its session, run-time shape errors, callables (make_callable:
 * same values and errors as tg_session_run, argument checks, a plan kept
 * while the session's plans grow, run options, freeing order), and the
 * tg_array API. */
#include "tg_check.h"

/* A float counter variable (0) and inc = assign_add(counter, one). */
static tg_variable *make_counter(tg_graph *g, const char *name, tg_tensor **inc)
{
    TG_OPTS(tg_get_variable_opts, opts, .initializer = tg_zeros_initializer());
    tg_variable *c = tg_get_variable(g, name, TG_FLOAT32, TG_SCALAR, &opts);
    tg_tensor *one = tg_constant_scalar(g, TG_FLOAT32, 1, "one");
    *inc = tg_assign_add(g, tg_variable_ref(c), one, "inc");
    return c;
}

static tg_session *init_session(tg_graph *g)
{
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    ck_assert_ptr_nonnull(s);
    tgc_run_target(s, init);
    return s;
}

static tg_array *f32_array(tg_shape shape, const float *data)
{
    tg_array *a = tg_array_new_from(TG_FLOAT32, shape.rank, shape.dims, data);
    ck_assert_ptr_nonnull(a);
    return a;
}

START_TEST(test_pruning)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *inc = NULL;
    tg_variable *c = make_counter(g, "counter", &inc);
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 3, "x");
    tg_tensor *y = tg_multiply(g, x, tg_constant_scalar(g, TG_FLOAT32, 2, "two"), "y");
    tg_session *s = init_session(g);
    for (int i = 0; i < 3; i++)
        ck_assert_close(tgc_fetch_scalar(s, y), 6.0, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(inc)), 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_graph_op(g, "one")), 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(y)), 3);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(c)), 0.0, 0);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_at_most_once)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *inc = NULL;
    tg_variable *c = make_counter(g, "counter", &inc);
    tg_tensor *y1 = tg_identity(g, inc, "y1");
    tg_tensor *y2 = tg_multiply(g, inc, tg_constant_scalar(g, TG_FLOAT32, 10, NULL), "y2");
    tg_session *s = init_session(g);
    tg_tensor *fetch[] = {y1, y2};
    tg_array *out[2] = {NULL, NULL};
    ck_assert_int_eq(tg_session_run(s, NULL, 0, fetch, 2, out, NULL, 0), TG_OK);
    ck_assert_close(tg_array_get(out[0], 0), 1.0, 0);
    ck_assert_close(tg_array_get(out[1], 0), 10.0, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(inc)), 1);
    /* the same op as a fetch and as a target: still once */
    tg_tensor *fetch3[] = {y1, y2, inc};
    tg_array *out3[3] = {NULL, NULL, NULL};
    tg_op *target = tg_tensor_op(inc);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, fetch3, 3, out3, &target, 1), TG_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_close(tg_array_get(out3[i], 0), i == 1 ? 20.0 : 2.0, 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(c)), 2.0, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(inc)), 2);
    tg_array_free(out[0]), tg_array_free(out[1]);
    for (int i = 0; i < 3; i++)
        tg_array_free(out3[i]);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_feed_intermediate)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *inc = NULL;
    tg_variable *c = make_counter(g, "counter", &inc);
    tg_tensor *y = tg_multiply(g, inc, tg_constant_scalar(g, TG_FLOAT32, 2, "two"), "y");
    tg_session *s = init_session(g);
    tg_array *ten = tg_array_scalar_f32(10);
    tg_feed feed = {inc, ten};
    tg_array *a = tgc_fetch(s, y, &feed, 1);
    ck_assert_array(a, TG_FLOAT32, TG_SCALAR, ((double[]){20}), 0);
    tg_array_free(a);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(inc)), 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_graph_op(g, "one")), 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(c)), 0.0, 0);
    /* without the feed the producer runs */
    ck_assert_close(tgc_fetch_scalar(s, y), 2.0, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(inc)), 1);
    tg_array_free(ten);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_placeholder_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3), "images");
    tg_tensor *y = tg_multiply(g, x, tg_constant_scalar(g, TG_FLOAT32, 2, NULL), "y");
    ck_assert_tg_ok(g);
    ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(-1, 3));
    tg_session *s = tg_session_new(g);
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &y, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "'images'");
    ck_assert_ptr_null(out);

    tg_array *ints = tg_array_new(TG_INT32, 2, (int64_t[]){2, 3});
    tg_feed feed = {x, ints};
    ck_assert_int_eq(tg_session_run(s, &feed, 1, &y, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "images");
    tg_array *wide = tg_array_new(TG_FLOAT32, 2, (int64_t[]){2, 4});
    feed.value = wide;
    ck_assert_int_eq(tg_session_run(s, &feed, 1, &y, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "images");
    tg_array *flat = tg_array_new(TG_FLOAT32, 1, (int64_t[]){3});
    feed.value = flat;
    ck_assert_int_eq(tg_session_run(s, &feed, 1, &y, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);

    /* any batch size fits (?, 3) */
    tg_array *good = f32_array(TG_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    feed.value = good;
    out = tgc_fetch(s, y, &feed, 1);
    ck_assert_array(out, TG_FLOAT32, TG_SHAPE(2, 3), ((double[]){2, 4, 6, 8, 10, 12}), 0);
    ck_assert_str_eq(tg_session_message(s), "");
    tg_array_free(out);
    tg_array_free(ints), tg_array_free(wide), tg_array_free(flat), tg_array_free(good);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_other_graph)
{
    tg_graph *g = tg_graph_new(), *h = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_tensor *foreign = tg_constant_scalar(h, TG_FLOAT32, 2, "foreign");
    ck_assert_tg_ok(h);
    tg_session *s = tg_session_new(g);
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &foreign, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    tg_array *v = tg_array_scalar_f32(5);
    tg_feed feed = {foreign, v};
    ck_assert_int_eq(tg_session_run(s, &feed, 1, &x, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    tg_op *target = tg_tensor_op(foreign);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, NULL, 0, NULL, &target, 1), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_session_op_run_count(s, target), -1);
    /* still usable */
    ck_assert_close(tgc_fetch_scalar(s, x), 1.0, 0);
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);
    tg_graph_free(h);
}
END_TEST

/* bad = p1 + p2 (shapes unknown until run time); inc_b runs only after bad
 * (control dependency). A failing bad must leave b untouched. */
START_TEST(test_failed_run_leaves_state)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p1 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE_UNKNOWN, "p1");
    tg_tensor *p2 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE_UNKNOWN, "p2");
    tg_tensor *bad = tg_add(g, p1, p2, "bad");
    tg_tensor *inc_b = NULL;
    tg_variable *b = NULL;
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer());
    b = tg_get_variable(g, "b", TG_FLOAT32, TG_SCALAR, &vo);
    TG_WITH_CONTROL_DEPENDENCIES(g, ((tg_op *[]){tg_tensor_op(bad)}), 1)
    {
        tg_tensor *one = tg_constant_scalar(g, TG_FLOAT32, 1, NULL);
        inc_b = tg_assign_add(g, tg_variable_ref(b), one, NULL);
    }
    tg_session *s = init_session(g);
    tg_array *two = f32_array(TG_SHAPE(2), (float[]){1, 2});
    tg_array *three = f32_array(TG_SHAPE(3), (float[]){1, 2, 3});
    tg_array *out = tg_array_scalar_f32(-42);
    tg_array *kept = out;
    tg_feed feeds[2] = {{p1, two}, {p2, three}};
    ck_assert_int_eq(tg_session_run(s, feeds, 2, &inc_b, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_ne(tg_session_message(s), "");
    /* the output holds what it held on entry */
    ck_assert_ptr_eq(out, kept);
    ck_assert_array(out, TG_FLOAT32, TG_SCALAR, ((double[]){-42}), 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(inc_b)), 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(b)), 0.0, 0);
    /* the session is usable: a good feed runs the update */
    feeds[1].value = two;
    ck_assert_int_eq(tg_session_run(s, feeds, 2, &inc_b, 1, &out, NULL, 0), TG_OK);
    ck_assert_str_eq(tg_session_message(s), "");
    ck_assert_array(out, TG_FLOAT32, TG_SCALAR, ((double[]){1}), 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(b)), 1.0, 0);
    tg_array_free(out), tg_array_free(two), tg_array_free(three);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_placeholder_with_default)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *d = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "d");
    tg_tensor *p = tg_placeholder_with_default(g, d, TG_SHAPE(-1), "p");
    tg_tensor *y = tg_add(g, p, tg_constant_scalar(g, TG_FLOAT32, 0.5, NULL), "y");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_type(tg_tensor_op(p)), "PlaceholderWithDefault");
    ck_assert_shape_eq(tg_tensor_shape(p), TG_SHAPE(-1));
    ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(-1));
    tg_session *s = tg_session_new(g);
    tg_array *a = tgc_fetch(s, y, NULL, 0);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(2), ((double[]){1.5, 2.5}), 0);
    tg_array_free(a);
    tg_array *fed = f32_array(TG_SHAPE(3), (float[]){5, 6, 7});
    tg_feed feed = {p, fed};
    a = tgc_fetch(s, y, &feed, 1);
    ck_assert_array(a, TG_FLOAT32, TG_SHAPE(3), ((double[]){5.5, 6.5, 7.5}), 0);
    tg_array_free(a);
    tg_array_free(fed);
    tg_session_free(s);
    /* a shape that does not fit the default's is a construction error */
    ck_assert_ptr_null(tg_placeholder_with_default(g, d, TG_SHAPE(3), "bad"));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_output_arrays)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_ones_initializer());
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2, 3), &vo);
    tg_tensor *ones = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 3),
                                       (float[]){1, 1, 1, 1, 1, 1}, NULL);
    tg_tensor *inc = tg_assign_add(g, tg_variable_ref(v), ones, NULL);
    tg_tensor *val = tg_variable_value(v);
    tg_session *s = init_session(g);

    tg_array *first = tgc_fetch(s, val, NULL, 0); /* a NULL entry gets a new array */
    tg_array *reused = first;
    tgc_run_target(s, tg_tensor_op(inc));
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &val, 1, &reused, NULL, 0), TG_OK);
    ck_assert_ptr_eq(reused, first);
    ck_assert_array(reused, TG_FLOAT32, TG_SHAPE(2, 3), ((double[]){2, 2, 2, 2, 2, 2}), 0);

    /* a copy stays valid after later runs */
    tg_array *copy = tgc_fetch(s, val, NULL, 0);
    tgc_run_target(s, tg_tensor_op(inc));
    ck_assert_array(copy, TG_FLOAT32, TG_SHAPE(2, 3), ((double[]){2, 2, 2, 2, 2, 2}), 0);

    /* a smaller array of another dtype is overwritten in place */
    tg_array *small = tg_array_new(TG_INT32, 0, NULL);
    tg_array *small_kept = small;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &val, 1, &small, NULL, 0), TG_OK);
    ck_assert_ptr_eq(small, small_kept);
    ck_assert_array(small, TG_FLOAT32, TG_SHAPE(2, 3), ((double[]){3, 3, 3, 3, 3, 3}), 0);
    ck_assert_uint_eq(tg_array_nbytes(small), 6 * sizeof(float));

    tg_array_free(first), tg_array_free(copy), tg_array_free(small);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_values_persist_and_counts)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *inc = NULL;
    tg_variable *c = make_counter(g, "counter", &inc);
    tg_session *s = init_session(g);
    for (int i = 1; i <= 3; i++)
        ck_assert_close(tgc_fetch_scalar(s, inc), i, 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(c)), 3, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(inc)), 3);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_variable_initializer(c)), 1);
    /* a second session has its own variable values */
    tg_session *s2 = init_session(g);
    ck_assert_close(tgc_fetch_scalar(s2, inc), 1, 0);
    ck_assert_int_eq(tg_session_op_run_count(s2, tg_tensor_op(inc)), 1);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(c)), 3, 0);
    tg_session_free(s2);
    /* ops added after the session was made can run */
    tg_tensor *two = tg_constant_scalar(g, TG_FLOAT32, 2, NULL);
    tg_tensor *twice = tg_multiply(g, tg_variable_value(c), two, NULL);
    ck_assert_tg_ok(g);
    ck_assert_close(tgc_fetch_scalar(s, twice), 6, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(twice)), 1);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_graph_freed_before_session)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *inc = NULL;
    make_counter(g, "counter", &inc);
    tg_session *s = init_session(g);
    tg_graph_free(g); /* the session keeps it alive */
    ck_assert_close(tgc_fetch_scalar(s, inc), 1, 0);
    ck_assert_close(tgc_fetch_scalar(s, inc), 2, 0);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(inc)), "inc");
    tg_session_free(s);
}
END_TEST

START_TEST(test_runtime_shape_error)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p1 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE_UNKNOWN, "p1");
    tg_tensor *p2 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "p2");
    tg_tensor *sum = tg_add(g, p1, p2, "sum");
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_tensor_shape(sum).rank, -1);
    tg_session *s = tg_session_new(g);
    tg_array *a2 = f32_array(TG_SHAPE(2), (float[]){1, 2});
    tg_array *a3 = f32_array(TG_SHAPE(3), (float[]){10, 20, 30});
    tg_array *m23 = f32_array(TG_SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    tg_array *out = NULL;
    tg_feed feeds[2] = {{p1, a2}, {p2, a3}};
    ck_assert_int_eq(tg_session_run(s, feeds, 2, &sum, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "sum");
    ck_assert_ptr_null(out);
    /* (2, 3) + (3,) broadcasts at run time: hand-computed */
    feeds[0].value = m23;
    out = tgc_fetch(s, sum, feeds, 2);
    ck_assert_array(out, TG_FLOAT32, TG_SHAPE(2, 3), ((double[]){11, 22, 33, 14, 25, 36}), 0);
    tg_array_free(out);
    tg_array_free(a2), tg_array_free(a3), tg_array_free(m23);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_array_api)
{
    int64_t dims[] = {2, 3};
    double data[] = {1.5, -2, 3, 4, 5, 6.25};
    tg_array *a = tg_array_new_from(TG_FLOAT64, 2, dims, data);
    ck_assert_int_eq(tg_array_dtype(a), TG_FLOAT64);
    ck_assert_int_eq(tg_array_rank(a), 2);
    ck_assert_int_eq(tg_array_dim(a, 0), 2);
    ck_assert_int_eq(tg_array_dim(a, 1), 3);
    ck_assert_int_eq(tg_array_dim(a, 2), -1);
    ck_assert_int_eq(tg_array_size(a), 6);
    ck_assert_uint_eq(tg_array_nbytes(a), 6 * sizeof(double));
    ck_assert_shape_eq(tg_array_shape(a), TG_SHAPE(2, 3));
    ck_assert_array(a, TG_FLOAT64, TG_SHAPE(2, 3), data, 0);
    ck_assert_close(tg_array_get(a, 6), 0, 0);
    ((double *)tg_array_data(a))[1] = 8;
    ck_assert_close(((const double *)tg_array_cdata(a))[1], 8, 0);
    tg_array_free(a);

    tg_array *z = tg_array_new(TG_INT64, 1, (int64_t[]){4});
    ck_assert_array(z, TG_INT64, TG_SHAPE(4), ((double[]){0, 0, 0, 0}), 0);
    tg_array_free(z);
    tg_array *s = tg_array_scalar_i32(-7);
    ck_assert_array(s, TG_INT32, TG_SCALAR, ((double[]){-7}), 0);
    tg_array_free(s);
    s = tg_array_scalar_bool(true);
    ck_assert_array(s, TG_BOOL, TG_SCALAR, ((double[]){1}), 0);
    tg_array_free(s);
    s = tg_array_scalar_f64(0.1);
    ck_assert_array(s, TG_FLOAT64, TG_SCALAR, ((double[]){0.1}), 0);
    tg_array_free(s);
    s = tg_array_scalar_i64(INT64_C(1) << 40);
    ck_assert_array(s, TG_INT64, TG_SCALAR, ((double[]){1099511627776.0}), 0);
    tg_array_free(s);

    ck_assert_ptr_null(tg_array_new(TG_DTYPE_COUNT, 0, NULL));
    ck_assert_ptr_null(tg_array_new(TG_FLOAT32, TG_MAX_RANK + 1, NULL));
    ck_assert_ptr_null(tg_array_new(TG_FLOAT32, -1, NULL));
    ck_assert_ptr_null(tg_array_new(TG_FLOAT32, 1, (int64_t[]){-2}));
    ck_assert_uint_eq(tg_dtype_size(TG_FLOAT32), 4);
    ck_assert_uint_eq(tg_dtype_size(TG_FLOAT64), 8);
    ck_assert_str_eq(tg_dtype_name(TG_INT32), "int32");
    ck_assert_str_eq(tg_code_name(TG_FAILED_PRECONDITION), "FAILED_PRECONDITION");
}
END_TEST

/* ---- callables (Session.make_callable) ---------------------------------- */

/* z = x * y + 1 and its sum, with a counter as a target: small enough to
 * compute by hand. */
typedef struct callable_graph {
    tg_graph *g;
    tg_tensor *x, *y, *z, *sum, *inc;
    tg_variable *counter;
} callable_graph;

static callable_graph make_callable_graph(void)
{
    callable_graph m = {.g = tg_graph_new()};
    m.counter = make_counter(m.g, "counter", &m.inc);
    m.x = tg_placeholder(m.g, TG_FLOAT32, TG_SHAPE(2), "x");
    m.y = tg_placeholder(m.g, TG_FLOAT32, TG_SCALAR, "y");
    tg_tensor *one = tg_constant_scalar(m.g, TG_FLOAT32, 1, NULL);
    m.z = tg_add(m.g, tg_multiply(m.g, m.x, m.y, NULL), one, "z");
    m.sum = tg_reduce_sum(m.g, m.z, NULL);
    ck_assert_tg_ok(m.g);
    return m;
}

START_TEST(test_callable_matches_run)
{
    callable_graph m = make_callable_graph();
    tg_session *s = init_session(m.g);
    tg_tensor *feeds[] = {m.x, m.y};
    tg_tensor *fetches[] = {m.z, m.sum};
    tg_op *inc = tg_tensor_op(m.inc);
    tg_callable *c = tg_session_make_callable(s, feeds, 2, fetches, 2, &inc, 1);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(tg_session_message(s), "");

    tg_array *x = f32_array(TG_SHAPE(2), (float[]){1, 2});
    tg_array *y = tg_array_scalar_f32(3);
    const tg_array *values[] = {x, y};
    tg_array *out[2] = {NULL, NULL};
    ck_assert_int_eq(tg_callable_run(c, values, 2, out), TG_OK);
    ck_assert_array(out[0], TG_FLOAT32, TG_SHAPE(2), ((double[]){4, 7}), 0);
    ck_assert_array(out[1], TG_FLOAT32, TG_SCALAR, ((double[]){11}), 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(m.counter)), 1.0, 0);

    /* tg_session_run with the same lists gives the same values and runs the
     * same target */
    tg_feed feed[] = {{m.x, x}, {m.y, y}};
    tg_array *ref[2] = {NULL, NULL};
    ck_assert_int_eq(tg_session_run(s, feed, 2, fetches, 2, ref, &inc, 1), TG_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(tg_array_nbytes(ref[i]), tg_array_nbytes(out[i]));
        ck_assert_mem_eq(tg_array_cdata(ref[i]), tg_array_cdata(out[i]), tg_array_nbytes(out[i]));
    }
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(m.counter)), 2.0, 0);

    /* outputs are overwritten in place, as with tg_session_run */
    tg_array *x2 = f32_array(TG_SHAPE(2), (float[]){0.5f, -1});
    tg_array *y2 = tg_array_scalar_f32(2);
    const tg_array *values2[] = {x2, y2};
    tg_array *kept[2] = {out[0], out[1]};
    ck_assert_int_eq(tg_callable_run(c, values2, 2, out), TG_OK);
    ck_assert_ptr_eq(out[0], kept[0]);
    ck_assert_ptr_eq(out[1], kept[1]);
    ck_assert_array(out[0], TG_FLOAT32, TG_SHAPE(2), ((double[]){2, -1}), 0);
    ck_assert_array(out[1], TG_FLOAT32, TG_SCALAR, ((double[]){1}), 0);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(m.counter)), 3.0, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, inc), 3);

    /* no feeds, no targets: a plain fetch */
    tg_tensor *value = tg_variable_value(m.counter);
    tg_callable *read = tg_session_make_callable(s, NULL, 0, &value, 1, NULL, 0);
    ck_assert_ptr_nonnull(read);
    tg_array *v = NULL;
    ck_assert_int_eq(tg_callable_run(read, NULL, 0, &v), TG_OK);
    ck_assert_array(v, TG_FLOAT32, TG_SCALAR, ((double[]){3}), 0);
    /* targets only: no outputs list needed */
    tg_callable *step = tg_session_make_callable(s, NULL, 0, NULL, 0, &inc, 1);
    ck_assert_int_eq(tg_callable_run(step, NULL, 0, NULL), TG_OK);
    ck_assert_int_eq(tg_callable_run(read, NULL, 0, &v), TG_OK);
    ck_assert_array(v, TG_FLOAT32, TG_SCALAR, ((double[]){4}), 0);

    /* an output array that is also a feed: values are staged, as in
     * tg_session_run */
    tg_tensor *z_then_x[] = {m.z, m.x};
    tg_callable *alias = tg_session_make_callable(s, feeds, 2, z_then_x, 2, NULL, 0);
    ck_assert_ptr_nonnull(alias);
    tg_array *in_place[2] = {x2, NULL};
    ck_assert_int_eq(tg_callable_run(alias, values2, 2, in_place), TG_OK);
    ck_assert_ptr_eq(in_place[0], x2);
    ck_assert_array(in_place[0], TG_FLOAT32, TG_SHAPE(2), ((double[]){2, -1}), 0);
    ck_assert_array(in_place[1], TG_FLOAT32, TG_SHAPE(2), ((double[]){0.5, -1}), 0);
    tg_array_free(in_place[1]);

    for (int i = 0; i < 2; i++) tg_array_free(out[i]), tg_array_free(ref[i]);
    tg_array_free(v);
    tg_array_free(x), tg_array_free(y), tg_array_free(x2), tg_array_free(y2);
    tg_callable_free(c);
    /* the others are freed by the session */
    tg_session_free(s);
    tg_graph_free(m.g);
}
END_TEST

START_TEST(test_callable_errors)
{
    callable_graph m = make_callable_graph();
    tg_session *s = init_session(m.g);
    tg_tensor *feeds[] = {m.x, m.y};
    tg_callable *c = tg_session_make_callable(s, feeds, 2, &m.z, 1, NULL, 0);
    ck_assert_ptr_nonnull(c);
    tg_array *x = f32_array(TG_SHAPE(2), (float[]){1, 2});
    tg_array *y = tg_array_scalar_f32(3);
    tg_array *out = NULL;

    /* a values list of the wrong length */
    const tg_array *one[] = {x};
    ck_assert_int_eq(tg_callable_run(c, one, 1, &out), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "1 feed values given, the callable has 2 feeds");
    const tg_array *three[] = {x, y, y};
    ck_assert_int_eq(tg_callable_run(c, three, 3, &out), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_callable_run(c, NULL, 2, &out), TG_INVALID_ARGUMENT);
    const tg_array *holes[] = {x, NULL};
    ck_assert_int_eq(tg_callable_run(c, holes, 2, &out), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "'y:0'");
    const tg_array *both[] = {x, y};
    ck_assert_int_eq(tg_callable_run(c, both, 2, NULL), TG_INVALID_ARGUMENT);
    /* a feed of the wrong dtype: tg_session_run's error */
    tg_array *ints = tg_array_scalar_i32(3);
    const tg_array *wrong[] = {x, ints};
    ck_assert_int_eq(tg_callable_run(c, wrong, 2, &out), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "Cannot feed value of dtype int32");
    ck_assert_ptr_null(out);
    /* the callable still works after its failures */
    ck_assert_int_eq(tg_callable_run(c, both, 2, &out), TG_OK);
    ck_assert_array(out, TG_FLOAT32, TG_SHAPE(2), ((double[]){4, 7}), 0);
    ck_assert_str_eq(tg_session_message(s), "");

    /* an unfed placeholder: tg_session_run's error, word for word */
    tg_feed fx = {m.x, x};
    tg_array *none = NULL;
    ck_assert_int_eq(tg_session_run(s, &fx, 1, &m.z, 1, &none, NULL, 0), TG_INVALID_ARGUMENT);
    char want[512];
    snprintf(want, sizeof want, "%s", tg_session_message(s));
    ck_assert_str_contains(want, "You must feed a value for placeholder tensor 'y'");
    tg_callable *half = tg_session_make_callable(s, &m.x, 1, &m.z, 1, NULL, 0);
    ck_assert_ptr_nonnull(half);
    ck_assert_int_eq(tg_callable_run(half, one, 1, &none), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_session_message(s), want);
    ck_assert_ptr_null(none);
    /* and again: a failed plan is not kept */
    ck_assert_int_eq(tg_callable_run(half, one, 1, &none), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_session_message(s), want);

    /* an uninitialized variable */
    tg_variable *w = tg_get_variable(m.g, "w", TG_FLOAT32, TG_SCALAR, NULL);
    tg_tensor *wv = tg_variable_value(w);
    tg_callable *read_w = tg_session_make_callable(s, NULL, 0, &wv, 1, NULL, 0);
    ck_assert_ptr_nonnull(read_w);
    ck_assert_int_eq(tg_callable_run(read_w, NULL, 0, &none), TG_FAILED_PRECONDITION);
    ck_assert_str_contains(tg_session_message(s), "Attempting to use uninitialized value w");

    /* making one: bad lists, NULL entries, another graph, a tensor fed twice */
    ck_assert_ptr_null(tg_session_make_callable(NULL, feeds, 2, &m.z, 1, NULL, 0));
    ck_assert_ptr_null(tg_session_make_callable(s, feeds, -1, &m.z, 1, NULL, 0));
    ck_assert_str_contains(tg_session_message(s), "bad argument lists");
    ck_assert_ptr_null(tg_session_make_callable(s, feeds, 2, NULL, 1, NULL, 0));
    ck_assert_ptr_null(tg_session_make_callable(s, feeds, 2, &m.z, 1, NULL, -2));
    tg_tensor *null_feed[] = {m.x, NULL};
    ck_assert_ptr_null(tg_session_make_callable(s, null_feed, 2, &m.z, 1, NULL, 0));
    ck_assert_str_contains(tg_session_message(s), "feed 1 is NULL");
    tg_tensor *null_fetch[] = {m.z, NULL};
    ck_assert_ptr_null(tg_session_make_callable(s, feeds, 2, null_fetch, 2, NULL, 0));
    ck_assert_str_contains(tg_session_message(s), "fetch 1 is NULL");
    tg_op *null_target = NULL;
    ck_assert_ptr_null(tg_session_make_callable(s, feeds, 2, &m.z, 1, &null_target, 1));
    ck_assert_str_contains(tg_session_message(s), "target 0 is NULL");
    tg_tensor *twice[] = {m.x, m.x};
    ck_assert_ptr_null(tg_session_make_callable(s, twice, 2, &m.z, 1, NULL, 0));
    ck_assert_str_contains(tg_session_message(s), "fed twice");

    tg_graph *other = tg_graph_new();
    tg_tensor *ox = tg_placeholder(other, TG_FLOAT32, TG_SCALAR, "ox");
    tg_tensor *oy = tg_identity(other, ox, "oy");
    tg_op *oop = tg_no_op(other, "oop");
    ck_assert_tg_ok(other);
    ck_assert_ptr_null(tg_session_make_callable(s, &ox, 1, &m.z, 1, NULL, 0));
    ck_assert_str_contains(tg_session_message(s), "feed 'ox:0' is from another graph");
    ck_assert_ptr_null(tg_session_make_callable(s, feeds, 2, &oy, 1, NULL, 0));
    ck_assert_str_contains(tg_session_message(s), "fetch 'oy:0' is from another graph");
    ck_assert_ptr_null(tg_session_make_callable(s, feeds, 2, &m.z, 1, &oop, 1));
    ck_assert_str_contains(tg_session_message(s), "target 'oop' is from another graph");
    tg_graph_free(other);

    ck_assert_int_eq(tg_callable_run(NULL, both, 2, &out), TG_INVALID_ARGUMENT);
    tg_callable_free(NULL);
    /* the session is still usable */
    ck_assert_int_eq(tg_callable_run(c, both, 2, &out), TG_OK);
    ck_assert_str_eq(tg_session_message(s), "");

    tg_array_free(out);
    tg_array_free(x), tg_array_free(y), tg_array_free(ints);
    tg_session_free(s);
    tg_graph_free(m.g);
}
END_TEST

/* The callable keeps its plan while the session's plan list grows and
 * moves; run options set on the session apply to it. */
START_TEST(test_callable_plans_and_options)
{
    callable_graph m = make_callable_graph();
    tg_session *s = init_session(m.g);
    tg_tensor *feeds[] = {m.x, m.y};
    tg_callable *c = tg_session_make_callable(s, feeds, 2, &m.sum, 1, NULL, 0);
    tg_array *x = f32_array(TG_SHAPE(2), (float[]){1, 2});
    tg_array *y = tg_array_scalar_f32(3);
    const tg_array *values[] = {x, y};
    tg_array *out = NULL;
    ck_assert_int_eq(tg_callable_run(c, values, 2, &out), TG_OK);
    ck_assert_close(tg_array_get(out, 0), 11.0, 0);

    /* many other combinations, each a new plan */
    tg_tensor *consts[40];
    for (int i = 0; i < 40; i++) {
        consts[i] = tg_constant_scalar(m.g, TG_FLOAT32, i, NULL);
        ck_assert_close(tgc_fetch_scalar(s, consts[i]), (double)i, 0);
    }
    ck_assert_tg_ok(m.g);
    ck_assert_int_eq(tg_callable_run(c, values, 2, &out), TG_OK);
    ck_assert_close(tg_array_get(out, 0), 11.0, 0);

    /* a trace asked for with tg_session_set_run_options covers the
     * callable's runs */
    tg_op *const *ops = NULL;
    ck_assert_int_eq(tg_session_trace(s, &ops), 0);
    tg_session_set_run_options(s, &(tg_run_options){.trace = true});
    ck_assert_int_eq(tg_callable_run(c, values, 2, &out), TG_OK);
    int n = tg_session_trace(s, &ops);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_eq(ops[n - 1], tg_tensor_op(m.sum));
    tg_session_set_run_options(s, NULL);

    tg_array_free(out);
    tg_array_free(x), tg_array_free(y);
    tg_session_free(s);
    tg_graph_free(m.g);
}
END_TEST

/* Callables freed one by one in any order, the rest by the session, also
 * after the graph's own reference is gone. */
START_TEST(test_callable_freeing)
{
    callable_graph m = make_callable_graph();
    tg_session *s = init_session(m.g);
    tg_tensor *value = tg_variable_value(m.counter);
    tg_op *inc = tg_tensor_op(m.inc);
    tg_callable *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = tg_session_make_callable(s, NULL, 0, &value, 1, &inc, 1);
        ck_assert_ptr_nonnull(c[i]);
    }
    tg_array *out = NULL;
    ck_assert_int_eq(tg_callable_run(c[2], NULL, 0, &out), TG_OK);
    tg_callable_free(c[1]); /* middle */
    tg_callable_free(c[3]); /* the newest */
    ck_assert_int_eq(tg_callable_run(c[0], NULL, 0, &out), TG_OK);
    ck_assert_int_eq(tg_callable_run(c[2], NULL, 0, &out), TG_OK);
    ck_assert_close(tg_array_get(out, 0), 3.0, 0);
    tg_callable_free(c[0]); /* the oldest */
    c[1] = tg_session_make_callable(s, NULL, 0, &value, 1, NULL, 0);
    tg_graph_free(m.g);
    ck_assert_int_eq(tg_callable_run(c[1], NULL, 0, &out), TG_OK);
    ck_assert_close(tg_array_get(out, 0), 3.0, 0);
    tg_array_free(out);
    /* c[1] and c[2] go with the session */
    tg_session_free(s);
}
END_TEST


/* Issue 12: tg_run_options.check_numerics names the first op that made a
 * NaN or an Inf; without it the run returns them as TF does. */
START_TEST(test_check_numerics_run_option)
{
    tg_set_log_callback(NULL, NULL);
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3), "x");
    tg_tensor *y = tg_multiply(g, tg_log(g, x, "logx"), tg_constant_scalar(g, TG_FLOAT32, 2, NULL), "twice");
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){3}, (float[]){1, 0, 4}), *out = NULL;
    tg_feed f = {x, xa};
    /* off: log(0) = -inf flows through, as in TF */
    ck_assert_int_eq(tg_session_run(s, &f, 1, &y, 1, &out, NULL, 0), TG_OK);
    ck_assert(isinf(tg_array_get(out, 1)));
    tg_run_options ro = {.check_numerics = true};
    ck_assert_int_eq(tg_session_run_opts(s, &f, 1, &y, 1, &out, NULL, 0, &ro), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "logx (Log) produced Inf in output 0 (element 1 of 3)");
    float *xd = tg_array_data(xa);
    xd[1] = -1;
    ck_assert_int_eq(tg_session_run_opts(s, &f, 1, &y, 1, &out, NULL, 0, &ro), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "logx (Log) produced NaN in output 0 (element 1 of 3)");
    xd[1] = 2;
    ck_assert_int_eq(tg_session_run_opts(s, &f, 1, &y, 1, &out, NULL, 0, &ro), TG_OK);
    ck_assert_double_eq_tol(tg_array_get(out, 2), 2 * log(4.0), 1e-6);
    /* tf.debugging.check_numerics: one tensor, TF's words */
    tg_tensor *checked = tg_check_numerics(g, tg_log(g, x, NULL), "log of x", "check");
    /* the gradient of log(check_numerics(x)) is checked on its way to x */
    tg_tensor *y2 = tg_log(g, tg_check_numerics(g, x, "x itself", NULL), NULL), *dx = NULL;
    ck_assert_int_eq(tg_gradients(g, &y2, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_type(tg_tensor_op(checked)), "CheckNumerics");
    xd[1] = 0;
    ck_assert_int_eq(tg_session_run(s, &f, 1, &checked, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "check: log of x : Tensor had Inf values");
    xd[1] = -1;
    ck_assert_int_eq(tg_session_run(s, &f, 1, &checked, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "check: log of x : Tensor had NaN values");
    xd[1] = 2;
    ck_assert_int_eq(tg_session_run(s, &f, 1, &dx, 1, &out, NULL, 0), TG_OK);
    ck_assert_double_eq_tol(tg_array_get(out, 2), 0.25, 1e-7); /* d log x / dx = 1/x */
    /* the gradient is checked too: 1/x is Inf at 0 */
    xd[1] = 0;
    ck_assert_int_eq(tg_session_run(s, &f, 1, &dx, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "Not a number (NaN) or infinity (Inf) values detected in gradient. "
                                                  "x itself : Tensor had Inf values");
    tg_array_free(out);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
    tg_set_log_callback(tg_log_stderr, NULL);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("run");
    tcase_add_test(tc, test_pruning);
    tcase_add_test(tc, test_at_most_once);
    tcase_add_test(tc, test_feed_intermediate);
    tcase_add_test(tc, test_placeholder_errors);
    tcase_add_test(tc, test_other_graph);
    tcase_add_test(tc, test_failed_run_leaves_state);
    tcase_add_test(tc, test_placeholder_with_default);
    tcase_add_test(tc, test_output_arrays);
    tcase_add_test(tc, test_values_persist_and_counts);
    tcase_add_test(tc, test_graph_freed_before_session);
    tcase_add_test(tc, test_runtime_shape_error);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);

    tc = tcase_create("callables");
    tcase_add_test(tc, test_callable_matches_run);
    tcase_add_test(tc, test_callable_errors);
    tcase_add_test(tc, test_callable_plans_and_options);
    tcase_add_test(tc, test_callable_freeing);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);

    tc = tcase_create("arrays");
    tcase_add_test(tc, test_array_api);
    tcase_add_test(tc, test_check_numerics_run_option);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(session_suite)
