/* test_ops_tf15.c: issue 15, the ops a TF 1.x user expects. Values
 * against TF's documented examples or closed forms computed here, TF's
 * op and tensor names, and the error cases naming the op or argument:
 * one_hot, gather (and unsorted_segment_sum, its gradient), top_k,
 * in_top_k, cos/sin, div_no_nan, clip_by_norm, global_norm,
 * clip_by_global_norm, polynomial_decay, cosine_decay, tf.metrics.mean and
 * accuracy with the local-variables initializer, and
 * batch_norm_with_global_normalization on ranks other than 4. Gradients
 * are checked against finite differences (gradcheck.h) or by hand. */
#include <math.h>

#include "gradcheck.h"

#define PI 3.14159265358979323846

static tg_tensor *const_i32(tg_graph *g, tg_shape s, const int32_t *v) {
    return tg_constant_data(g, TG_INT32, s, v, NULL);
}
static tg_tensor *const_f32(tg_graph *g, tg_shape s, const float *v) {
    return tg_constant_data(g, TG_FLOAT32, s, v, NULL);
}
static tg_tensor *const_f64(tg_graph *g, tg_shape s, const double *v) {
    return tg_constant_data(g, TG_FLOAT64, s, v, NULL);
}

/* Runs t with one feed and returns the run's code; *out gets the value. */
static tg_code run_fed(tg_session *s, tg_tensor *t, tg_tensor *ph, const tg_array *v, tg_array **out) {
    tg_feed f = {ph, v};
    *out = NULL;
    return tg_session_run(s, &f, ph ? 1 : 0, &t, 1, out, NULL, 0);
}

/* ---- one_hot ------------------------------------------------------------------- */

START_TEST(test_one_hot_values)
{
    tg_graph *g = tg_graph_new();
    /* TF's doc: indices [0, 2, -1, 1], depth 3, on 5, off 0 */
    tg_tensor *idx = const_i32(g, TG_SHAPE(4), (const int32_t[]){0, 2, -1, 1});
    tg_tensor *y = tg_one_hot(g, idx, 3, 5.0, 0.0, -1, TG_FLOAT32, NULL);
    tg_tensor *y0 = tg_one_hot(g, idx, 3, 5.0, 0.0, 0, TG_FLOAT32, NULL);
    /* axis -1 on 2-D indices [[0, 2], [1, -1]], int32 output */
    tg_tensor *idx2 = const_i32(g, TG_SHAPE(2, 2), (const int32_t[]){0, 2, 1, -1});
    tg_tensor *y2 = tg_one_hot(g, idx2, 3, 1, 0, -1, TG_INT32, NULL);
    /* depth beyond every index, and an index past depth */
    tg_tensor *y3 = tg_one_hot(g, const_i32(g, TG_SHAPE(2), (const int32_t[]){7, 1}), 2, 1, -1, -1, TG_FLOAT64, "oh");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(y), "one_hot:0");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(y)), "OneHot");
    ck_assert_str_eq(tg_tensor_name(y0), "one_hot_1:0");
    ck_assert_str_eq(tg_tensor_name(y3), "oh:0");
    ck_assert_ptr_nonnull(tg_graph_op(g, "one_hot/depth"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "one_hot/on_value"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "one_hot/off_value"));
    ck_assert_shape_eq(tg_tensor_shape(y0), TG_SHAPE(3, 4));
    tg_session *s = tg_session_new(g);
    ck_assert_fetch(s, y, TG_FLOAT32, TG_SHAPE(4, 3), ((double[]){5, 0, 0, 0, 0, 5, 0, 0, 0, 0, 5, 0}), 0);
    ck_assert_fetch(s, y0, TG_FLOAT32, TG_SHAPE(3, 4), ((double[]){5, 0, 0, 0, 0, 0, 0, 5, 0, 5, 0, 0}), 0);
    ck_assert_fetch(s, y2, TG_INT32, TG_SHAPE(2, 2, 3), ((double[]){1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0}), 0);
    ck_assert_fetch(s, y3, TG_FLOAT64, TG_SHAPE(2, 2), ((double[]){-1, -1, -1, 1}), 0);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_one_hot_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *idx = tg_placeholder(g, TG_INT64, TG_SHAPE(4), "idx");
    tg_tensor *fidx = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4), "fidx");
    int n0 = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_one_hot(g, idx, -1, 1, 0, -1, TG_FLOAT32, NULL));
    ck_assert_str_contains(tg_graph_message(g), "one_hot: OneHot: depth must be non-negative, got: -1");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_one_hot(g, idx, 3, 1, 0, 2, TG_FLOAT32, NULL));
    ck_assert_str_contains(tg_graph_message(g), "Expected axis to be -1 or between [0, 2).  But received: 2");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_one_hot(g, idx, 3, 1, 0, -2, TG_FLOAT32, NULL));
    ck_assert_str_contains(tg_graph_message(g), "axis must be >= -1");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_one_hot(g, fidx, 3, 1, 0, -1, TG_FLOAT32, NULL));
    ck_assert_str_contains(tg_graph_message(g), "indices must be int32 or int64, not float32");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n0);
    tg_graph_free(g);
}
END_TEST

/* ---- gather and unsorted_segment_sum ----------------------------------------------- */

START_TEST(test_gather_values)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p = const_f32(g, TG_SHAPE(3, 2), (const float[]){1, 2, 3, 4, 5, 6});
    tg_tensor *rows = tg_gather(g, p, const_i32(g, TG_SHAPE(2), (const int32_t[]){2, 0}), 0, NULL);
    tg_tensor *cols = tg_gather(g, p, const_i32(g, TG_SHAPE(1, 2), (const int32_t[]){1, 0}), 1, NULL);
    tg_tensor *last = tg_gather(g, p, tg_constant_scalar(g, TG_INT64, 1, NULL), -1, "g");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(rows), "GatherV2:0");
    ck_assert_ptr_nonnull(tg_graph_op(g, "GatherV2/axis"));
    ck_assert_shape_eq(tg_tensor_shape(cols), TG_SHAPE(3, 1, 2));
    ck_assert_shape_eq(tg_tensor_shape(last), TG_SHAPE(3));
    tg_session *s = tg_session_new(g);
    ck_assert_fetch(s, rows, TG_FLOAT32, TG_SHAPE(2, 2), ((double[]){5, 6, 1, 2}), 0);
    ck_assert_fetch(s, cols, TG_FLOAT32, TG_SHAPE(3, 1, 2), ((double[]){2, 1, 4, 3, 6, 5}), 0);
    ck_assert_fetch(s, last, TG_FLOAT32, TG_SHAPE(3), ((double[]){2, 4, 6}), 0);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_gather_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p = const_f32(g, TG_SHAPE(3, 2), (const float[]){1, 2, 3, 4, 5, 6});
    tg_tensor *idx = tg_placeholder(g, TG_INT32, TG_SHAPE(2, 2), "idx");
    int n0 = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_gather(g, p, idx, 2, NULL));
    ck_assert_str_contains(tg_graph_message(g), "GatherV2: Expected axis in the range [-2, 2), but got 2");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_gather(g, p, p, 0, "gth"));
    ck_assert_str_contains(tg_graph_message(g), "gth: GatherV2: indices must be int32 or int64, not float32");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n0);
    /* an index out of range is the run's error, naming it as TF does */
    tg_tensor *y = tg_gather(g, p, idx, 0, NULL);
    tg_session *s = tg_session_new(g);
    tg_array *v = tg_array_new_from(TG_INT32, 2, (const int64_t[]){2, 2}, (const int32_t[]){0, 1, 3, 0}), *out;
    ck_assert_int_eq(run_fed(s, y, idx, v, &out), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "indices[1,0] = 3 is not in [0, 3)");
    ((int32_t *)tg_array_data(v))[2] = -1;
    ck_assert_int_eq(run_fed(s, y, idx, v, &out), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "indices[1,0] = -1 is not in [0, 3)");
    ((int32_t *)tg_array_data(v))[2] = 2;
    ck_assert_int_eq(run_fed(s, y, idx, v, &out), TG_OK);
    ck_assert_array(out, TG_FLOAT32, TG_SHAPE(2, 2, 2), ((double[]){1, 2, 3, 4, 5, 6, 1, 2}), 0);
    tg_array_free(out);
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* The dense gradient: repeated indices add up, unused rows get 0. */
START_TEST(test_gather_gradient)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3, 2), "p");
    tg_tensor *w = const_f64(g, TG_SHAPE(3, 2), (const double[]){1, 2, 3, 4, 5, 6});
    tg_tensor *gth = tg_gather(g, p, const_i32(g, TG_SHAPE(3), (const int32_t[]){2, 0, 2}), 0, NULL);
    tg_tensor *y = tg_reduce_sum(g, tg_multiply(g, gth, w, NULL), NULL), *dp = NULL;
    ck_assert_int_eq(tg_gradients(g, &y, 1, &p, 1, &dp, NULL), TG_OK);
    ck_assert_shape_eq(tg_tensor_shape(dp), TG_SHAPE(3, 2));
    tg_array *pv = gc_random(TG_SHAPE(3, 2), -1, 1, 5), *out;
    tg_session *s = tg_session_new(g);
    ck_assert_int_eq(run_fed(s, dp, p, pv, &out), TG_OK);
    /* row 0 from w's row 1; row 2 from w's rows 0 and 2 */
    ck_assert_array(out, TG_FLOAT64, TG_SHAPE(3, 2), ((double[]){3, 4, 0, 0, 6, 8}), 0);
    tg_array_free(out);
    tg_session_free(s);
    /* along axis 1, against finite differences */
    tg_tensor *p3 = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 3, 2), "p3");
    tg_tensor *y3 = tg_gather(g, p3, const_i32(g, TG_SHAPE(2, 2), (const int32_t[]){1, 1, 0, 2}), 1, NULL);
    tg_array *v3 = gc_random(TG_SHAPE(2, 3, 2), -1, 1, 6);
    gc_check(g, tg_square(g, y3, NULL), &p3, 1, &v3, 1e-6);
    tg_array_free(v3);
    tg_array_free(pv);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_unsorted_segment_sum)
{
    tg_graph *g = tg_graph_new();
    /* TF's doc: c = [[1,2,3,4],[5,6,7,8],[4,3,2,1]], ids [0, 1, 0], 2 segments */
    tg_tensor *c = const_f32(g, TG_SHAPE(3, 4), (const float[]){1, 2, 3, 4, 5, 6, 7, 8, 4, 3, 2, 1});
    tg_tensor *y = tg_unsorted_segment_sum(g, c, const_i32(g, TG_SHAPE(3), (const int32_t[]){0, 1, 0}), 2, NULL);
    /* a negative id drops its row; an empty segment is 0 */
    tg_tensor *y2 = tg_unsorted_segment_sum(g, c, const_i32(g, TG_SHAPE(3), (const int32_t[]){-1, 2, 2}), 4, NULL);
    tg_tensor *ids = tg_placeholder(g, TG_INT32, TG_SHAPE(3), "ids");
    tg_tensor *y3 = tg_unsorted_segment_sum(g, c, ids, 2, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(y), "UnsortedSegmentSum:0");
    tg_session *s = tg_session_new(g);
    ck_assert_fetch(s, y, TG_FLOAT32, TG_SHAPE(2, 4), ((double[]){5, 5, 5, 5, 5, 6, 7, 8}), 0);
    ck_assert_fetch(s, y2, TG_FLOAT32, TG_SHAPE(4, 4), ((double[]){0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 0, 0, 0, 0}), 0);
    tg_array *v = tg_array_new_from(TG_INT32, 1, (const int64_t[]){3}, (const int32_t[]){0, 5, 1}), *out;
    ck_assert_int_eq(run_fed(s, y3, ids, v, &out), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "segment_ids[1] = 5 is out of range [0, 2)");
    tg_array_free(v);
    tg_session_free(s);
    int n0 = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_unsorted_segment_sum(g, c, const_i32(g, TG_SHAPE(2), (const int32_t[]){0, 1}), 2, NULL));
    ck_assert_str_contains(tg_graph_message(g), "UnsortedSegmentSum: data.shape does not start with segment_ids.shape");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n0 + 1); /* the ids Const made above */
    tg_graph_free(g);
}
END_TEST

/* ---- top_k and in_top_k ------------------------------------------------------------ */

START_TEST(test_top_k_values)
{
    tg_graph *g = tg_graph_new();
    /* ties: the lower index first */
    tg_tensor *x = const_f32(g, TG_SHAPE(2, 4), (const float[]){1, 3, 3, 2, -1, -5, 7, 7});
    tg_tensor *v = NULL, *i = NULL, *v1 = NULL;
    ck_assert_int_eq(tg_nn_top_k(g, x, 3, true, &v, &i, NULL), TG_OK);
    ck_assert_int_eq(tg_nn_top_k(g, const_i32(g, TG_SHAPE(3), (const int32_t[]){4, 9, 4}), 1, false, &v1, NULL, "tk"),
                     TG_OK);
    ck_assert_str_eq(tg_tensor_name(v), "TopKV2:0");
    ck_assert_str_eq(tg_tensor_name(i), "TopKV2:1");
    ck_assert_ptr_nonnull(tg_graph_op(g, "TopKV2/k"));
    ck_assert_str_eq(tg_tensor_name(v1), "tk:0");
    ck_assert_int_eq(tg_tensor_dtype(i), TG_INT32);
    tg_session *s = tg_session_new(g);
    ck_assert_fetch(s, v, TG_FLOAT32, TG_SHAPE(2, 3), ((double[]){3, 3, 2, 7, 7, -1}), 0);
    ck_assert_fetch(s, i, TG_INT32, TG_SHAPE(2, 3), ((double[]){1, 2, 3, 2, 3, 0}), 0);
    ck_assert_fetch(s, v1, TG_INT32, TG_SHAPE(1), ((double[]){9}), 0);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_top_k_gradient_and_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 3), "x"), *v = NULL;
    ck_assert_int_eq(tg_nn_top_k(g, x, 2, true, &v, NULL, NULL), TG_OK);
    tg_tensor *w = const_f64(g, TG_SHAPE(2, 2), (const double[]){10, 20, 30, 40});
    tg_tensor *y = tg_reduce_sum(g, tg_multiply(g, v, w, NULL), NULL), *dx = NULL;
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK);
    tg_array *xv = tg_array_new_from(TG_FLOAT64, 2, (const int64_t[]){2, 3}, (const double[]){0.5, 0.1, 0.9, 3, 1, 2});
    tg_array *out;
    tg_session *s = tg_session_new(g);
    ck_assert_int_eq(run_fed(s, dx, x, xv, &out), TG_OK);
    /* row 0: 0.9 (index 2) gets 10, 0.5 (index 0) 20; row 1: 3 gets 30, 2 gets 40 */
    ck_assert_array(out, TG_FLOAT64, TG_SHAPE(2, 3), ((double[]){20, 0, 10, 30, 0, 40}), 0);
    tg_array_free(out);
    tg_array_free(xv);
    tg_session_free(s);
    int n0 = tg_graph_num_ops(g);
    ck_assert_int_eq(tg_nn_top_k(g, x, 4, true, &v, NULL, NULL), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(v);
    ck_assert_str_contains(tg_graph_message(g), "TopKV2: input must have last dimension >= k = 4 but is 3");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_nn_top_k(g, x, -1, true, &v, NULL, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "Need k >= 0, got -1");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n0);
    /* a last dimension known only at run time */
    tg_tensor *u = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(1, -1), "u");
    ck_assert_int_eq(tg_nn_top_k(g, u, 3, true, &v, NULL, NULL), TG_OK);
    s = tg_session_new(g);
    tg_array *uv = tg_array_new_from(TG_FLOAT32, 2, (const int64_t[]){1, 2}, (const float[]){1, 2});
    ck_assert_int_eq(run_fed(s, v, u, uv, &out), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "input must have at least k columns. Had 2, needed 3");
    tg_array_free(uv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_in_top_k)
{
    tg_graph *g = tg_graph_new();
    float inf = INFINITY, nan = NAN;
    tg_tensor *p = const_f32(g, TG_SHAPE(6, 3),
                             (const float[]){0.1f, 0.8f, 0.1f, /* target 1 is the top */
                                             0.3f, 0.3f, 0.4f, /* target 0 is second, tied */
                                             0.5f, 0.5f, 0.2f, /* target 1 ties the first */
                                             inf, 0, 0,        /* a non-finite target */
                                             1, 2, 3,          /* target out of range */
                                             nan, 1, 0});      /* a NaN elsewhere is never above */
    tg_tensor *t = const_i32(g, TG_SHAPE(6), (const int32_t[]){1, 0, 1, 0, 3, 1});
    tg_tensor *k1 = tg_nn_in_top_k(g, p, t, 1, NULL);
    tg_tensor *k2 = tg_nn_in_top_k(g, p, t, 2, "acc");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(k1), "in_top_k/InTopKV2:0");
    ck_assert_ptr_nonnull(tg_graph_op(g, "in_top_k/InTopKV2/k"));
    ck_assert_str_eq(tg_tensor_name(k2), "acc/acc:0");
    tg_session *s = tg_session_new(g);
    ck_assert_fetch(s, k1, TG_BOOL, TG_SHAPE(6), ((double[]){1, 0, 1, 0, 0, 1}), 0);
    ck_assert_fetch(s, k2, TG_BOOL, TG_SHAPE(6), ((double[]){1, 1, 1, 0, 0, 1}), 0);
    tg_session_free(s);
    int n0 = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_nn_in_top_k(g, p, const_i32(g, TG_SHAPE(2), (const int32_t[]){0, 1}), 1, NULL));
    ck_assert_str_contains(tg_graph_message(g), "First dimension of predictions 6 must match length of targets 2");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n0 + 1);
    tg_graph_free(g);
}
END_TEST

/* ---- cos, sin, div_no_nan ------------------------------------------------------------ */

START_TEST(test_trig_div_no_nan)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = const_f64(g, TG_SHAPE(3), (const double[]){0, 1, -2.5});
    tg_tensor *c = tg_cos(g, x, NULL), *sn = tg_sin(g, x, NULL);
    tg_tensor *a = const_f32(g, TG_SHAPE(2, 3), (const float[]){1, 0, 3, NAN, 4, -6});
    tg_tensor *b = const_f32(g, TG_SHAPE(3), (const float[]){0, 0, 2});
    tg_tensor *q = tg_div_no_nan(g, a, b, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(c), "Cos:0");
    ck_assert_str_eq(tg_tensor_name(q), "DivNoNan:0");
    tg_session *s = tg_session_new(g);
    ck_assert_fetch(s, c, TG_FLOAT64, TG_SHAPE(3), ((double[]){1, cos(1.0), cos(-2.5)}), 1e-15);
    ck_assert_fetch(s, sn, TG_FLOAT64, TG_SHAPE(3), ((double[]){0, sin(1.0), sin(-2.5)}), 1e-15);
    ck_assert_fetch(s, q, TG_FLOAT32, TG_SHAPE(2, 3), ((double[]){0, 0, 1.5, 0, 0, -3}), 0);
    tg_session_free(s);
    ck_assert_ptr_null(tg_div_no_nan(g, a, x, NULL));
    ck_assert_str_contains(tg_graph_message(g), "DivNoNan");
    tg_graph_free(g);
}
END_TEST

/* ---- clip_by_norm, global_norm, clip_by_global_norm ------------------------------------- */

START_TEST(test_clip_by_norm)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *t = const_f32(g, TG_SHAPE(2), (const float[]){3, 4});
    tg_tensor *lo = tg_constant_scalar(g, TG_FLOAT32, 2.5, NULL), *hi = tg_constant_scalar(g, TG_FLOAT32, 10, NULL);
    tg_tensor *y = tg_clip_by_norm(g, t, lo, NULL, 0, NULL);
    tg_tensor *same = tg_clip_by_norm(g, t, hi, NULL, 0, NULL);
    /* per row: [3, 4] has norm 5, [0, 0] stays 0 (no NaN) */
    tg_tensor *m = const_f32(g, TG_SHAPE(2, 2), (const float[]){3, 4, 0, 0});
    tg_tensor *rows = tg_clip_by_norm(g, m, tg_constant_scalar(g, TG_FLOAT32, 1, NULL), (const int[]){1}, 1, "rows");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(y), "clip_by_norm:0");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(y)), "Identity");
    ck_assert_str_eq(tg_tensor_name(rows), "rows:0");
    tg_session *s = tg_session_new(g);
    ck_assert_fetch(s, y, TG_FLOAT32, TG_SHAPE(2), ((double[]){1.5, 2}), 1e-6);
    ck_assert_fetch(s, same, TG_FLOAT32, TG_SHAPE(2), ((double[]){3, 4}), 1e-6);
    ck_assert_fetch(s, rows, TG_FLOAT32, TG_SHAPE(2, 2), ((double[]){0.6, 0.8, 0, 0}), 1e-6);
    tg_session_free(s);
    /* the gradient: finite differences where the norm is above clip_norm, and
     * clip_norm / clip_norm = 1 at zero (TF's two-tap where) */
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 3), "x");
    tg_tensor *cy = tg_clip_by_norm(g, x, tg_constant_scalar(g, TG_FLOAT64, 0.5, NULL), NULL, 0, NULL);
    tg_array *xv = gc_random(TG_SHAPE(2, 3), -1, 1, 11);
    gc_check(g, cy, &x, 1, &xv, 1e-6);
    tg_tensor *sum = tg_reduce_sum(g, cy, NULL), *dx = NULL;
    ck_assert_int_eq(tg_gradients(g, &sum, 1, &x, 1, &dx, NULL), TG_OK);
    tg_array *zero = tg_array_new(TG_FLOAT64, 2, (const int64_t[]){2, 3}), *out;
    s = tg_session_new(g);
    ck_assert_int_eq(run_fed(s, dx, x, zero, &out), TG_OK);
    ck_assert_array(out, TG_FLOAT64, TG_SHAPE(2, 3), ((double[]){1, 1, 1, 1, 1, 1}), 0);
    tg_array_free(out);
    tg_array_free(zero);
    tg_array_free(xv);
    tg_session_free(s);
    int n0 = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_clip_by_norm(g, t, tg_constant_scalar(g, TG_FLOAT64, 1, NULL), NULL, 0, NULL));
    ck_assert_str_contains(tg_graph_message(g), "clip_by_norm: clip_norm has dtype float64, but t has float32");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_clip_by_norm(g, t, lo, (const int[]){3}, 1, NULL));
    ck_assert_str_contains(tg_graph_message(g),
                           "clip_by_norm: Invalid reduction dimension 3 for input with 1 dimensions");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n0 + 1);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_global_norm_and_clip)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = const_f32(g, TG_SHAPE(2), (const float[]){3, 4});
    tg_tensor *b = const_f32(g, TG_SHAPE(1, 1), (const float[]){12});
    tg_tensor *list[3] = {a, NULL, b};
    tg_tensor *norm = tg_global_norm(g, list, 3, NULL);
    tg_tensor *clipped[3], *used = NULL, *kept[3], *nan_out[3];
    ck_assert_int_eq(tg_clip_by_global_norm(g, list, 3, tg_constant_scalar(g, TG_FLOAT32, 6.5, NULL), NULL, clipped,
                                            &used, NULL),
                     TG_OK);
    ck_assert_int_eq(tg_clip_by_global_norm(g, list, 3, tg_constant_scalar(g, TG_FLOAT32, 20, NULL), norm, kept, NULL,
                                            "big"),
                     TG_OK);
    ck_assert_int_eq(tg_clip_by_global_norm(g, list, 3, tg_constant_scalar(g, TG_FLOAT32, 1, NULL),
                                            tg_constant_scalar(g, TG_FLOAT32, INFINITY, NULL), nan_out, NULL, NULL),
                     TG_OK);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(norm), "global_norm/global_norm:0");
    ck_assert_str_eq(tg_tensor_name(used), "global_norm_1/global_norm:0");
    ck_assert_str_eq(tg_tensor_name(clipped[0]), "clip_by_global_norm/clip_by_global_norm/_0:0");
    ck_assert_str_eq(tg_tensor_name(clipped[2]), "clip_by_global_norm/clip_by_global_norm/_2:0");
    ck_assert_ptr_null(clipped[1]);
    ck_assert_str_eq(tg_tensor_name(kept[0]), "big/big/_0:0");
    tg_session *s = tg_session_new(g);
    /* sqrt(9 + 16 + 144) = 13; clip 6.5 halves everything */
    ck_assert_fetch(s, norm, TG_FLOAT32, TG_SCALAR, ((double[]){13}), 1e-5);
    ck_assert_fetch(s, used, TG_FLOAT32, TG_SCALAR, ((double[]){13}), 1e-5);
    ck_assert_fetch(s, clipped[0], TG_FLOAT32, TG_SHAPE(2), ((double[]){1.5, 2}), 1e-6);
    ck_assert_fetch(s, clipped[2], TG_FLOAT32, TG_SHAPE(1, 1), ((double[]){6}), 1e-5);
    ck_assert_fetch(s, kept[0], TG_FLOAT32, TG_SHAPE(2), ((double[]){3, 4}), 1e-6);
    tg_array *nv = tgc_fetch(s, nan_out[2], NULL, 0);
    ck_assert(isnan(tg_array_get(nv, 0)));
    tg_array_free(nv);
    tg_session_free(s);
    int n0 = tg_graph_num_ops(g);
    tg_tensor *none[2] = {NULL, NULL}, *mixed[2] = {a, const_f64(g, TG_SHAPE(1), (const double[]){1})};
    n0++;
    ck_assert_ptr_null(tg_global_norm(g, none, 2, NULL));
    ck_assert_str_contains(tg_graph_message(g), "global_norm: List argument 'values' to 'Pack' Op with length 0");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_clip_by_global_norm(g, mixed, 2, tg_constant_scalar(g, TG_FLOAT32, 1, NULL), NULL, clipped,
                                            NULL, NULL),
                     TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "clip_by_global_norm: t_list[1] has dtype float64");
    ck_assert_ptr_null(clipped[0]);
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n0 + 1);
    tg_graph_free(g);
}
END_TEST

/* clip_by_global_norm differentiates through the norm too */
START_TEST(test_clip_by_global_norm_gradient)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x[2] = {tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 2), "x0"),
                       tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3), "x1")};
    tg_tensor *out[2];
    ck_assert_int_eq(tg_clip_by_global_norm(g, x, 2, tg_constant_scalar(g, TG_FLOAT64, 0.7, NULL), NULL, out, NULL,
                                            NULL),
                     TG_OK);
    tg_tensor *y = tg_add(g, tg_reduce_sum(g, tg_square(g, out[0], NULL), NULL),
                          tg_reduce_sum(g, tg_multiply(g, out[1], out[1], NULL), NULL), NULL);
    y = tg_add(g, y, tg_reduce_sum(g, out[1], NULL), NULL);
    tg_array *v[2] = {gc_random(TG_SHAPE(2, 2), -1, 1, 21), gc_random(TG_SHAPE(3), -1, 1, 22)};
    gc_check(g, y, x, 2, v, 1e-6);
    tg_array_free(v[0]);
    tg_array_free(v[1]);
    tg_graph_free(g);
}
END_TEST

/* ---- polynomial_decay, cosine_decay ----------------------------------------------------- */

static double decay_at(tg_session *s, tg_tensor *lr, tg_tensor *step, int32_t at) {
    tg_array *v = tg_array_scalar_i32(at), *out = NULL;
    ck_assert_int_eq(run_fed(s, lr, step, v, &out), TG_OK);
    double r = tg_array_get(out, 0);
    tg_array_free(out);
    tg_array_free(v);
    return r;
}

START_TEST(test_polynomial_decay)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *step = tg_placeholder(g, TG_INT32, TG_SCALAR, "step");
    tg_tensor *lr = tg_train_polynomial_decay(g, 0.1, step, 10, 0.01, 0.5, false, NULL);
    tg_tensor *cyc = tg_train_polynomial_decay(g, 0.1, step, 10, 0.01, 0.5, true, "cyc");
    tg_tensor *lin = tg_train_polynomial_decay(g, 0.1, step, 10, 0.0001, 1.0, false, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(lr), "PolynomialDecay:0");
    ck_assert_str_eq(tg_tensor_name(cyc), "cyc:0");
    tg_session *s = tg_session_new(g);
    for (int at = 0; at <= 25; at += 5) {
        double p = (at < 10 ? at : 10) / 10.0;
        ck_assert_double_eq_tol(decay_at(s, lr, step, at), 0.09 * sqrt(1 - p) + 0.01, 1e-6);
        ck_assert_double_eq_tol(decay_at(s, lin, step, at), (0.1 - 0.0001) * (1 - p) + 0.0001, 1e-6);
        /* cycle: decay_steps becomes 10 * ceil(step / 10), 10 at step 0 */
        double steps = at == 0 ? 10 : 10 * ceil(at / 10.0);
        ck_assert_double_eq_tol(decay_at(s, cyc, step, at), 0.09 * sqrt(1 - at / steps) + 0.01, 1e-6);
    }
    ck_assert_double_eq_tol(decay_at(s, cyc, step, 15), 0.055, 1e-6);
    tg_session_free(s);
    ck_assert_ptr_null(tg_train_polynomial_decay(g, 0.1, NULL, 10, 0.01, 1, false, NULL));
    ck_assert_str_eq(tg_graph_message(g), "global_step is required for polynomial_decay.");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_cosine_decay)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *step = tg_placeholder(g, TG_INT64, TG_SCALAR, "step");
    tg_tensor *lr = tg_train_cosine_decay(g, 0.1, step, 10, 0.2, NULL);
    tg_tensor *plain = tg_train_cosine_decay(g, 0.1, step, 10, 0.0, NULL);
    ck_assert_tg_ok(g);
    /* TF's three Python products are "mul", "mul_1", "mul_2"; names are
     * unique regardless of case, so math_ops.multiply's "Mul" is "Mul_3" */
    ck_assert_str_eq(tg_tensor_name(lr), "CosineDecay/Mul_3:0");
    ck_assert_str_eq(tg_tensor_name(plain), "CosineDecay_1/Mul_3:0");
    tg_session *s = tg_session_new(g);
    for (int at = 0; at <= 14; at += 2) {
        tg_array *v = tg_array_scalar_i64(at), *out[2] = {NULL, NULL};
        tg_feed f = {step, v};
        tg_tensor *fetch[2] = {lr, plain};
        ck_assert_int_eq(tg_session_run(s, &f, 1, fetch, 2, out, NULL, 0), TG_OK);
        double c = 0.5 * (1 + cos(PI * (at < 10 ? at : 10) / 10.0));
        ck_assert_double_eq_tol(tg_array_get(out[0], 0), 0.1 * (0.8 * c + 0.2), 1e-6);
        ck_assert_double_eq_tol(tg_array_get(out[1], 0), 0.1 * c, 1e-6);
        tg_array_free(out[0]);
        tg_array_free(out[1]);
        tg_array_free(v);
    }
    tg_session_free(s);
    ck_assert_ptr_null(tg_train_cosine_decay(g, 0.1, NULL, 10, 0, NULL));
    ck_assert_str_eq(tg_graph_message(g), "global_step is required for cosine_decay.");
    tg_graph_free(g);
}
END_TEST

/* ---- tf.metrics ----------------------------------------------------------------------- */

static void feed_run(tg_session *s, tg_tensor *ph, const tg_array *v, tg_tensor *t, double want) {
    tg_array *out = NULL;
    ck_assert_int_eq(run_fed(s, t, ph, v, &out), TG_OK);
    ck_assert_double_eq_tol(tg_array_get(out, 0), want, 1e-6);
    tg_array_free(out);
}

static int count_of(tg_graph *g, const char *key) {
    tg_item *items = NULL;
    int n = tg_get_collection(g, key, NULL, &items);
    tg_free(items);
    return n;
}

START_TEST(test_metrics_mean)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "x");
    tg_tensor *w = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1), "w");
    tg_tensor *v = NULL, *u = NULL, *wv = NULL, *wu = NULL;
    static const char *const mkeys[1] = {"my_metrics"}, *const ukeys[1] = {"my_updates"};
    ck_assert_int_eq(tg_metrics_mean(g, x, NULL, mkeys, 1, ukeys, 1, NULL, &v, &u), TG_OK);
    ck_assert_int_eq(tg_metrics_mean(g, x, w, NULL, 0, NULL, 0, NULL, &wv, &wu), TG_OK);
    ck_assert_str_eq(tg_tensor_name(v), "mean/value:0");
    ck_assert_str_eq(tg_tensor_name(u), "mean/update_op:0");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(v)), "DivNoNan");
    ck_assert_str_eq(tg_tensor_name(wv), "mean_1/value:0");
    ck_assert_ptr_nonnull(tg_graph_op(g, "mean/total"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "mean_1/count"));
    ck_assert_int_eq(tg_local_variables(g, NULL), 4);
    ck_assert_int_eq(count_of(g, TG_GRAPHKEYS_METRIC_VARIABLES), 4);
    ck_assert_int_eq(tg_global_variables(g, NULL), 0);
    ck_assert_int_eq(tg_trainable_variables(g, NULL), 0);
    ck_assert_int_eq(count_of(g, "my_metrics"), 1);
    ck_assert_int_eq(count_of(g, "my_updates"), 1);
    tg_op *init = tg_local_variables_initializer(g);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(init), "init");
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    ck_assert_double_eq_tol(tgc_fetch_scalar(s, v), 0, 1e-12); /* div_no_nan: 0 before any update */
    tg_array *b1 = tg_array_new_from(TG_FLOAT32, 1, (const int64_t[]){3}, (const float[]){1, 2, 3});
    tg_array *b2 = tg_array_new_from(TG_FLOAT32, 1, (const int64_t[]){2}, (const float[]){5, 7});
    feed_run(s, x, b1, u, 2);
    feed_run(s, x, b2, u, 18.0 / 5);
    ck_assert_double_eq_tol(tgc_fetch_scalar(s, v), 3.6, 1e-6);
    /* weighted: (1*1 + 2*0 + 3*2) / 3 */
    tg_array *wts = tg_array_new_from(TG_FLOAT64, 1, (const int64_t[]){3}, (const double[]){1, 0, 2}), *out[1] = {NULL};
    tg_feed f[2] = {{x, b1}, {w, wts}};
    ck_assert_int_eq(tg_session_run(s, f, 2, &wu, 1, out, NULL, 0), TG_OK);
    ck_assert_double_eq_tol(tg_array_get(out[0], 0), 7.0 / 3, 1e-6);
    tg_array_free(out[0]);
    /* the initializer resets */
    tgc_run_target(s, init);
    ck_assert_double_eq_tol(tgc_fetch_scalar(s, v), 0, 1e-12);
    tg_array_free(b1);
    tg_array_free(b2);
    tg_array_free(wts);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_metrics_accuracy)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *labels = tg_placeholder(g, TG_INT32, TG_SHAPE(4), "labels");
    tg_tensor *pred = tg_placeholder(g, TG_INT64, TG_SHAPE(4, 1), "pred");
    tg_tensor *w = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 1), "w");
    tg_tensor *v = NULL, *u = NULL, *wv = NULL, *wu = NULL;
    ck_assert_int_eq(tg_metrics_accuracy(g, labels, pred, NULL, NULL, 0, NULL, 0, NULL, &v, &u), TG_OK);
    ck_assert_int_eq(tg_metrics_accuracy(g, labels, pred, w, NULL, 0, NULL, 0, "wacc", &wv, &wu), TG_OK);
    ck_assert_str_eq(tg_tensor_name(v), "accuracy/value:0");
    ck_assert_str_eq(tg_tensor_name(u), "accuracy/update_op:0");
    ck_assert_ptr_nonnull(tg_graph_op(g, "accuracy/total"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "accuracy/count"));
    ck_assert_str_eq(tg_tensor_name(wv), "wacc/value:0");
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, tg_local_variables_initializer(g));
    tg_array *l = tg_array_new_from(TG_INT32, 1, (const int64_t[]){4}, (const int32_t[]){1, 2, 3, 4});
    tg_array *p = tg_array_new_from(TG_INT64, 2, (const int64_t[]){4, 1}, (const int64_t[]){1, 2, 0, 4});
    tg_array *wt = tg_array_new_from(TG_FLOAT32, 2, (const int64_t[]){4, 1}, (const float[]){1, 1, 2, 0});
    tg_feed f[3] = {{labels, l}, {pred, p}, {w, wt}};
    tg_tensor *fetch[2] = {u, wu};
    tg_array *out[2] = {NULL, NULL};
    ck_assert_int_eq(tg_session_run(s, f, 3, fetch, 2, out, NULL, 0), TG_OK);
    ck_assert_double_eq_tol(tg_array_get(out[0], 0), 0.75, 1e-6);
    ck_assert_double_eq_tol(tg_array_get(out[1], 0), 2.0 / 4, 1e-6); /* (1 + 1 + 0 + 0) / (1 + 1 + 2 + 0) */
    /* a second batch, the same again: the running value stays */
    ck_assert_int_eq(tg_session_run(s, f, 3, fetch, 2, out, NULL, 0), TG_OK);
    ck_assert_double_eq_tol(tgc_fetch_scalar(s, v), 0.75, 1e-6);
    tg_array_free(out[0]);
    tg_array_free(out[1]);
    tg_array_free(l);
    tg_array_free(p);
    tg_array_free(wt);
    tg_session_free(s);
    /* refusals add nothing */
    int n0 = tg_graph_num_ops(g), nv = tg_local_variables(g, NULL);
    tg_tensor *l3 = tg_placeholder(g, TG_INT32, TG_SHAPE(3), "l3");
    tg_tensor *w2 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "w2");
    n0 += 2;
    ck_assert_int_eq(tg_metrics_accuracy(g, l3, pred, NULL, NULL, 0, NULL, 0, NULL, &v, &u), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(v);
    ck_assert_str_contains(tg_graph_message(g), "accuracy: Shapes (4,) and (3,) are incompatible");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_metrics_accuracy(g, labels, pred, w2, NULL, 0, NULL, 0, NULL, &v, &u), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "accuracy: weights can not be broadcast to values. values.rank=1. "
                                                "weights.rank=1.");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_metrics_mean(g, labels, NULL, NULL, 2, NULL, 0, "m", &v, &u), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "m: metrics_collections is NULL with n 2");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n0);
    ck_assert_int_eq(tg_local_variables(g, NULL), nv);
    tg_graph_free(g);
}
END_TEST

/* ---- batch_norm_with_global_normalization on any rank ------------------------------------ */

START_TEST(test_bngn_any_rank)
{
    static const double t2[6] = {1, -2, 0.5, 3, 4, -1}, t3[12] = {1, 2, 3, -1, -2, -3, 0.5, 0, 4, 2, 1, -4};
    static const double m[3] = {0.5, -1, 2}, var[3] = {1, 4, 0.25}, beta[3] = {0.1, 0.2, -0.3}, gam[3] = {2, 0.5, 3};
    const double eps = 0.001;
    for (int rank = 2; rank <= 3; rank++)
        for (int scale = 0; scale < 2; scale++) {
            tg_graph *g = tg_graph_new();
            const double *t = rank == 2 ? t2 : t3;
            int n = rank == 2 ? 6 : 12;
            tg_tensor *tt = const_f64(g, rank == 2 ? TG_SHAPE(2, 3) : TG_SHAPE(2, 2, 3), t);
            tg_tensor *y = tg_nn_batch_norm_with_global_normalization(
                g, tt, const_f64(g, TG_SHAPE(3), m), const_f64(g, TG_SHAPE(3), var), const_f64(g, TG_SHAPE(3), beta),
                const_f64(g, TG_SHAPE(3), gam), eps, scale, NULL);
            ck_assert_tg_ok(g);
            ck_assert_str_eq(tg_tensor_name(y), "batchnorm/add_1:0");
            double want[12];
            for (int i = 0; i < n; i++) {
                int c = i % 3;
                want[i] = (t[i] - m[c]) / sqrt(var[c] + eps) * (scale ? gam[c] : 1) + beta[c];
            }
            tg_array *a = tgc_eval(g, y);
            tgc_check_array(a, TG_FLOAT64, rank == 2 ? TG_SHAPE(2, 3) : TG_SHAPE(2, 2, 3), want, n, 1e-12, __FILE__,
                            __LINE__);
            tg_array_free(a);
            tg_graph_free(g);
        }
    /* parameters that do not broadcast are still refused, naming the scope */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "x");
    tg_tensor *c2 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "c2");
    int n0 = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_nn_batch_norm_with_global_normalization(g, x, c2, c2, c2, c2, 0.001, true, NULL));
    ck_assert_str_contains(tg_graph_message(g), "batchnorm: x, mean, variance, offset and scale do not broadcast");
    ck_assert_int_eq(tg_graph_num_ops(g), n0);
    tg_graph_free(g);
}
END_TEST

static Suite *tf15_suite(void) {
    Suite *s = suite_create("ops_tf15");
    TCase *tc = tcase_create("ops_tf15");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_one_hot_values);
    tcase_add_test(tc, test_one_hot_errors);
    tcase_add_test(tc, test_gather_values);
    tcase_add_test(tc, test_gather_errors);
    tcase_add_test(tc, test_gather_gradient);
    tcase_add_test(tc, test_unsorted_segment_sum);
    tcase_add_test(tc, test_top_k_values);
    tcase_add_test(tc, test_top_k_gradient_and_errors);
    tcase_add_test(tc, test_in_top_k);
    tcase_add_test(tc, test_trig_div_no_nan);
    tcase_add_test(tc, test_clip_by_norm);
    tcase_add_test(tc, test_global_norm_and_clip);
    tcase_add_test(tc, test_clip_by_global_norm_gradient);
    tcase_add_test(tc, test_polynomial_decay);
    tcase_add_test(tc, test_cosine_decay);
    tcase_add_test(tc, test_metrics_mean);
    tcase_add_test(tc, test_metrics_accuracy);
    tcase_add_test(tc, test_bngn_any_rank);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(tf15_suite)
