/* test_gradients.c: tg_gradients and the gradients of the elementwise,
 * activation and reduction ops, against central finite differences in
 * float64 (relative error < 1e-6 unless a test says otherwise), plus the
 * engine's rules: fan-out sums, None for unconnected xs, stop_gradient,
 * integer tensors, name scopes, control dependencies, second order. */
#include "gradcheck.h"

static const double TOL = 1e-6;

typedef tg_tensor *(*binary_fn)(tg_graph *, tg_tensor *, tg_tensor *, const char *);
typedef tg_tensor *(*unary_fn)(tg_graph *, tg_tensor *, const char *);

static void check_binary(binary_fn f, tg_shape sx, tg_shape sy, double lo, double hi)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, sx, "x");
    tg_tensor *y = tg_placeholder(g, TG_FLOAT64, sy, "y");
    tg_tensor *z = f(g, x, y, "z");
    ck_assert_tg_ok(g);
    tg_array *vx = gc_random(sx, lo, hi, 1), *vy = gc_random(sy, lo, hi, 2);
    tg_tensor *xs[2] = {x, y};
    tg_array *vals[2] = {vx, vy};
    gc_check(g, z, xs, 2, vals, TOL);
    tg_array_free(vx);
    tg_array_free(vy);
    tg_graph_free(g);
}

static void check_unary(unary_fn f, double lo, double hi)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 3), "x");
    tg_tensor *y = f(g, x, "y");
    ck_assert_tg_ok(g);
    tg_array *vx = gc_random(TG_SHAPE(2, 3), lo, hi, 3);
    gc_check(g, y, &x, 1, &vx, TOL);
    tg_array_free(vx);
    tg_graph_free(g);
}

START_TEST(test_binary_broadcast_grads)
{
    binary_fn fns[] = {tg_add, tg_subtract, tg_multiply, tg_divide};
    for (int i = 0; i < 4; i++) {
        check_binary(fns[i], TG_SHAPE(2, 3), TG_SHAPE(3), 0.5, 2);
        check_binary(fns[i], TG_SHAPE(2, 1), TG_SHAPE(1, 3), 0.5, 2);
        check_binary(fns[i], TG_SCALAR, TG_SHAPE(2, 3), 0.5, 2);
        check_binary(fns[i], TG_SHAPE(2, 3), TG_SHAPE(2, 3), 0.5, 2);
    }
    /* distinct random values: no ties, where max/min are not differentiable */
    check_binary(tg_maximum, TG_SHAPE(2, 3), TG_SHAPE(3), -1, 1);
    check_binary(tg_minimum, TG_SHAPE(2, 1), TG_SHAPE(1, 3), -1, 1);
    check_binary(tg_pow, TG_SHAPE(2, 3), TG_SHAPE(3), 0.5, 2);
    check_binary(tg_squared_difference, TG_SHAPE(2, 1), TG_SHAPE(3), -1, 1);
}
END_TEST

START_TEST(test_unary_grads)
{
    check_unary(tg_negative, -2, 2);
    check_unary(tg_square, -2, 2);
    check_unary(tg_sqrt, 0.5, 3);
    check_unary(tg_rsqrt, 0.5, 3);
    check_unary(tg_exp, -2, 2);
    check_unary(tg_log, 0.5, 3);
    check_unary(tg_abs, 0.1, 2);
    check_unary(tg_abs, -2, -0.1);
    check_unary(tg_sign, 0.1, 2);
}
END_TEST

static tg_tensor *leaky(tg_graph *g, tg_tensor *x, const char *name) { return tg_nn_leaky_relu(g, x, 0.3, name); }

START_TEST(test_activation_grads)
{
    check_unary(tg_nn_relu, 0.1, 2);
    check_unary(tg_nn_relu, -2, -0.1);
    check_unary(tg_nn_relu6, 0.1, 5.9);
    check_unary(tg_nn_relu6, 6.1, 8);
    check_unary(tg_nn_elu, -2, -0.1);
    check_unary(tg_nn_elu, 0.1, 2);
    check_unary(leaky, -2, -0.1);
    check_unary(tg_sigmoid, -3, 3);
    check_unary(tg_tanh, -2, 2);
    check_unary(tg_nn_softplus, -3, 3);
    check_unary(tg_nn_softmax, -2, 2);
    check_unary(tg_nn_log_softmax, -2, 2);
}
END_TEST

START_TEST(test_where_and_clip_grads)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 3), "x");
    tg_tensor *y = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 3), "y");
    bool cv[6] = {true, false, true, false, false, true};
    tg_tensor *cond = tg_constant_data(g, TG_BOOL, TG_SHAPE(2, 3), cv, "cond");
    tg_tensor *w = tg_where(g, cond, tg_square(g, x, NULL), tg_multiply(g, y, x, NULL), "w");
    tg_tensor *lo = tg_constant_scalar(g, TG_FLOAT64, -0.5, NULL), *hi = tg_constant_scalar(g, TG_FLOAT64, 0.5, NULL);
    tg_tensor *clipped = tg_clip_by_value(g, tg_add(g, w, x, NULL), lo, hi, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(clipped)), "clip_by_value");
    tg_array *vx = gc_random(TG_SHAPE(2, 3), -1, 1, 5), *vy = gc_random(TG_SHAPE(2, 3), -1, 1, 6);
    tg_tensor *xs[2] = {x, y};
    tg_array *vals[2] = {vx, vy};
    gc_check(g, clipped, xs, 2, vals, TOL);
    tg_array_free(vx);
    tg_array_free(vy);
    tg_graph_free(g);
}
END_TEST

static void check_reduce(bool mean, const int *axes, int n, bool keep, bool unknown_batch)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, unknown_batch ? TG_SHAPE(-1, 3, 4) : TG_SHAPE(2, 3, 4), "x");
    tg_reduce_opts o = {.axes = axes, .n_axes = n, .keep_dims = keep};
    tg_tensor *r = mean ? tg_reduce_mean(g, x, &o) : tg_reduce_sum(g, x, &o);
    /* gc_check needs a static output shape: reshape to the known result */
    int64_t out = 1;
    bool red[3] = {false, false, false};
    if (!axes) red[0] = red[1] = red[2] = true;
    for (int i = 0; i < n; i++) red[axes[i] < 0 ? axes[i] + 3 : axes[i]] = true;
    int64_t dims[3] = {2, 3, 4};
    for (int i = 0; i < 3; i++) out *= red[i] ? 1 : dims[i];
    tg_tensor *flat = tg_reshape(g, r, TG_SHAPE(out), NULL);
    ck_assert_tg_ok(g);
    tg_array *vx = gc_random(TG_SHAPE(2, 3, 4), -1, 1, 7);
    gc_check(g, flat, &x, 1, &vx, TOL);
    tg_array_free(vx);
    tg_graph_free(g);
}

START_TEST(test_reduce_grads)
{
    int a1[] = {1}, a02[] = {0, 2}, am1[] = {-1};
    for (int mean = 0; mean < 2; mean++)
        for (int unk = 0; unk < 2; unk++) {
            check_reduce(mean, NULL, 0, false, unk);
            check_reduce(mean, a1, 1, false, unk);
            check_reduce(mean, a02, 2, true, unk);
            check_reduce(mean, am1, 1, true, unk);
        }
}
END_TEST

/* y = x^2 + x: the two paths through x are summed (AddN): dy/dx = 2x + 1. */
START_TEST(test_fan_out_sums)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3), "x");
    tg_tensor *y = tg_add(g, tg_multiply(g, x, x, NULL), x, NULL);
    tg_tensor *dx = NULL;
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_ptr_nonnull(tg_graph_op(g, "gradients/AddN"));
    tg_session *s = tg_session_new(g);
    tg_array *v = tg_array_new_from(TG_FLOAT64, 1, (int64_t[]){3}, (double[]){1, -2, 0.5});
    tg_array *out = tgc_fetch(s, dx, &(tg_feed){x, v}, 1);
    double want[3] = {3, -3, 2};
    for (int i = 0; i < 3; i++) ck_assert_close(tg_array_get(out, i), want[i], 1e-12);
    tg_array_free(out);
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_unconnected_stop_gradient_and_ints)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "x");
    tg_tensor *u = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "u");
    /* y = x * stop_gradient(x) + cast(cast(x, int32), float64) * x */
    tg_tensor *through_int = tg_cast(g, tg_cast(g, x, TG_INT32, NULL), TG_FLOAT64, NULL);
    tg_tensor *y = tg_add(g, tg_multiply(g, x, tg_stop_gradient(g, x, NULL), NULL),
                          tg_multiply(g, through_int, x, NULL), NULL);
    tg_tensor *xs[2] = {x, u}, *dx[2];
    ck_assert_int_eq(tg_gradients(g, &y, 1, xs, 2, dx, NULL), TG_OK);
    ck_assert_ptr_nonnull(dx[0]);
    ck_assert_ptr_null(dx[1]); /* TF's None */
    tg_tensor *dz[2];
    ck_assert_int_eq(tg_gradients(g, &y, 1, xs, 2, dz, &(tg_gradients_opts){.unconnected_zeros = true}), TG_OK);
    ck_assert_str_eq(tg_op_type(tg_tensor_op(dz[1])), "ZerosLike");
    ck_assert_str_eq(tg_graph_name_scope(g), "");
    ck_assert_ptr_nonnull(tg_graph_op(g, "gradients_1/grad_ys_0"));
    tg_session *s = tg_session_new(g);
    tg_array *v = tg_array_scalar_f64(2.5), *w = tg_array_scalar_f64(1);
    tg_feed feeds[2] = {{x, v}, {u, w}};
    tg_array *out = tgc_fetch(s, dx[0], feeds, 2);
    /* d/dx [x * c1 + c2 * x] with c1 = 2.5, c2 = 2 */
    ck_assert_close(tg_array_get(out, 0), 4.5, 1e-12);
    tg_array_free(out);
    tg_array_free(v);
    tg_array_free(w);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* Identity, PlaceholderWithDefault and Cast between floats pass the
 * gradient through: y = sum(cast(identity(pwd(x)), float32)) * 3 gives 3s. */
START_TEST(test_pass_through_grads)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2), "x");
    tg_tensor *p = tg_placeholder_with_default(g, x, TG_SHAPE(-1), NULL);
    tg_tensor *c = tg_cast(g, tg_identity(g, p, NULL), TG_FLOAT32, NULL);
    tg_tensor *y = tg_multiply(g, tg_reduce_sum(g, c, NULL), tg_constant_scalar(g, TG_FLOAT32, 3, NULL), NULL);
    tg_tensor *dx = NULL;
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_int_eq(tg_tensor_dtype(dx), TG_FLOAT64);
    tg_session *s = tg_session_new(g);
    tg_array *v = tg_array_new_from(TG_FLOAT64, 1, (int64_t[]){2}, (double[]){0.25, -7});
    tg_array *out = tgc_fetch(s, dx, &(tg_feed){x, v}, 1);
    ck_assert_close(tg_array_get(out, 0), 3, 0);
    ck_assert_close(tg_array_get(out, 1), 3, 0);
    tg_array_free(out);
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* d2/dx2 x^3 = 6x, through the gradient graph itself. */
START_TEST(test_second_order)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3), "x");
    tg_tensor *y = tg_multiply(g, tg_multiply(g, x, x, NULL), x, NULL);
    tg_tensor *d1 = NULL, *d2 = NULL;
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &d1, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &d1, 1, &x, 1, &d2, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    tg_array *v = tg_array_new_from(TG_FLOAT64, 1, (int64_t[]){3}, (double[]){1, -2, 0.25});
    tg_array *out = tgc_fetch(s, d2, &(tg_feed){x, v}, 1);
    double want[3] = {6, -12, 1.5};
    for (int i = 0; i < 3; i++) ck_assert_close(tg_array_get(out, i), want[i], 1e-12);
    tg_array_free(out);
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_names_and_control_deps)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2), "x");
    tg_tensor *y = NULL;
    TG_WITH_NAME_SCOPE(g, "layer") { y = tg_exp(g, x, "act"); }
    tg_op *dep = tg_no_op(g, "dep");
    tg_tensor *dx = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &dep, 1) { ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK); }
    ck_assert_ptr_nonnull(tg_graph_op(g, "gradients/layer/act_grad/Mul"));
    tg_op *ones = tg_graph_op(g, "gradients/grad_ys_0");
    ck_assert_int_eq(tg_op_num_control_inputs(ones), 1);
    ck_assert_ptr_eq(tg_op_control_input(ones, 0), dep);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2), "x");
    tg_tensor *i = tg_cast(g, x, TG_INT32, "i");
    tg_tensor *dx = x;
    ck_assert_int_eq(tg_gradients(g, &i, 1, &x, 1, &dx, NULL), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(dx);
    ck_assert_str_contains(tg_graph_message(g), "'i:0' has dtype int32");
    tg_graph_clear_status(g);
    tg_tensor *bad = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3), "bad");
    tg_tensor *y = tg_exp(g, x, NULL);
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, &(tg_gradients_opts){.grad_ys = &bad}), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "grad_ys[0]");
    ck_assert_int_eq(tg_gradients(NULL, &y, 1, &x, 1, &dx, NULL), TG_INVALID_ARGUMENT);
    tg_graph_free(g);
}
END_TEST

/* Relu's gradient is the fused ReluGrad op; its own gradient (for second
 * order) is checked by finite differences of the first derivative, and in
 * closed form: for y = sum(relu(x)^2), dy/dx = 2 relu(x), and the gradient of
 * sum(c * dy/dx) is 2 c where x > 0, 0 elsewhere. */
START_TEST(test_relu_grad_grad)
{
    for (int side = 0; side < 2; side++) {
        tg_graph *g = tg_graph_new();
        tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 3), "x");
        tg_tensor *r = tg_nn_relu(g, x, NULL);
        tg_tensor *y = tg_reduce_sum(g, tg_multiply(g, r, r, NULL), NULL), *d1 = NULL, *d2 = NULL;
        ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &d1, NULL), TG_OK);
        ck_assert_str_eq(tg_op_type(tg_tensor_op(d1)), "ReluGrad");
        tg_array *vx = gc_random(TG_SHAPE(2, 3), side ? 0.1 : -2, side ? 2 : -0.1, 5);
        gc_check(g, d1, &x, 1, &vx, TOL);
        tg_tensor *c = tg_constant_scalar(g, TG_FLOAT64, 1.5, NULL);
        tg_tensor *z = tg_reduce_sum(g, tg_multiply(g, d1, c, NULL), NULL);
        ck_assert_int_eq(tg_gradients(g, &z, 1, &x, 1, &d2, NULL), TG_OK);
        tg_session *s = tg_session_new(g);
        tg_array *a = tgc_fetch(s, d1, &(tg_feed){x, vx}, 1), *b = tgc_fetch(s, d2, &(tg_feed){x, vx}, 1);
        for (int i = 0; i < 6; i++) {
            double xi = tg_array_get(vx, i);
            ck_assert_close(tg_array_get(a, i), xi > 0 ? 2 * xi : 0, 1e-12);
            ck_assert_close(tg_array_get(b, i), xi > 0 ? 3.0 : 0, 1e-12);
        }
        tg_array_free(a);
        tg_array_free(b);
        tg_array_free(vx);
        tg_session_free(s);
        tg_graph_free(g);
    }
}
END_TEST

/* No limit on inputs per op: d/dx of sum(concat of 70 copies of x * i)
 * is sum(i) = 2415 per element, and x used 70 times aggregates by AddN. */
START_TEST(test_many_inputs_and_uses)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2), "x");
    tg_tensor *parts[70];
    for (int i = 0; i < 70; i++) parts[i] = tg_multiply(g, x, tg_constant_scalar(g, TG_FLOAT64, i, NULL), NULL);
    tg_tensor *y = tg_reduce_sum(g, tg_square(g, tg_concat(g, parts, 70, 0, NULL), NULL), NULL);
    tg_tensor *d1 = NULL, *d2 = NULL;
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &d1, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &d1, 1, &x, 1, &d2, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    tg_array *v = tg_array_new_from(TG_FLOAT64, 1, (int64_t[]){2}, (double[]){1, -0.5});
    /* y = sum_i i^2 (x0^2 + x1^2) with sum_{i<70} i^2 = 111895 */
    tg_array *a = tgc_fetch(s, d1, &(tg_feed){x, v}, 1), *b = tgc_fetch(s, d2, &(tg_feed){x, v}, 1);
    ck_assert_close(tg_array_get(a, 0), 2 * 111895.0, 1e-6);
    ck_assert_close(tg_array_get(a, 1), -111895.0, 1e-6);
    ck_assert_close(tg_array_get(b, 0), 2 * 111895.0, 1e-6);
    tg_array_free(a);
    tg_array_free(b);
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_null_entries)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2), "x");
    tg_tensor *y1 = tg_exp(g, x, NULL), *y2 = tg_square(g, x, NULL);
    tg_tensor *ys[2] = {y1, y2}, *gys[2] = {NULL, tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), (double[]){0, 10}, NULL)};
    tg_tensor *dx = NULL;
    ck_assert_int_eq(tg_gradients(g, ys, 2, &x, 1, &dx, &(tg_gradients_opts){.grad_ys = gys}), TG_OK);
    tg_session *s = tg_session_new(g);
    tg_array *v = tg_array_new_from(TG_FLOAT64, 1, (int64_t[]){2}, (double[]){0, 1});
    tg_array *a = tgc_fetch(s, dx, &(tg_feed){x, v}, 1);
    ck_assert_close(tg_array_get(a, 0), 1.0, 1e-12);          /* e^0 + 0 */
    ck_assert_close(tg_array_get(a, 1), exp(1) + 20, 1e-12); /* e^1 + 10 * 2 */
    tg_array_free(a);
    tg_array_free(v);
    tg_session_free(s);
    /* a mismatched grad_ys after a NULL one is still checked */
    tg_tensor *bad[2] = {NULL, tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 1}, NULL)};
    ck_assert_int_eq(tg_gradients(g, ys, 2, &x, 1, &dx, &(tg_gradients_opts){.grad_ys = bad}), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "grad_ys[1]");
    tg_graph_clear_status(g);
    tg_tensor *nul[1] = {NULL};
    ck_assert_int_eq(tg_gradients(g, nul, 1, &x, 1, &dx, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "y 0 is NULL");
    tg_graph_free(g);
}
END_TEST

static Suite *gradients_suite(void)
{
    Suite *s = suite_create("gradients");
    TCase *tc = tcase_create("gradients");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_binary_broadcast_grads);
    tcase_add_test(tc, test_unary_grads);
    tcase_add_test(tc, test_activation_grads);
    tcase_add_test(tc, test_where_and_clip_grads);
    tcase_add_test(tc, test_reduce_grads);
    tcase_add_test(tc, test_fan_out_sums);
    tcase_add_test(tc, test_unconnected_stop_gradient_and_ints);
    tcase_add_test(tc, test_pass_through_grads);
    tcase_add_test(tc, test_second_order);
    tcase_add_test(tc, test_relu_grad_grad);
    tcase_add_test(tc, test_names_and_control_deps);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_many_inputs_and_uses);
    tcase_add_test(tc, test_null_entries);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(gradients_suite)
