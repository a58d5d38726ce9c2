/* test_train_loop.c: a whole graph-mode training loop, end to end.
 *
 * Linear regression by hand-written gradient ops, run as a train target
 * many times; the result must match the least-squares line computed here in
 * closed form, which gradient descent converges to. */
#include "tg_check.h"

enum { N = 40 };

START_TEST(test_gradient_descent_reaches_least_squares)
{
    float xs[N], ys[N];
    for (int i = 0; i < N; i++) {
        xs[i] = (float)i / N - 0.5f;
        ys[i] = -1.5f * xs[i] + 0.25f + 0.05f * (float)((i * 7) % 5 - 2);
    }
    /* Closed form: w = cov(x, y) / var(x), b = mean(y) - w mean(x). */
    double mx = 0, my = 0, sxy = 0, sxx = 0;
    for (int i = 0; i < N; i++) mx += xs[i] / (double)N, my += ys[i] / (double)N;
    for (int i = 0; i < N; i++) sxy += (xs[i] - mx) * (ys[i] - my), sxx += (xs[i] - mx) * (xs[i] - mx);
    double w_ls = sxy / sxx, b_ls = my - w_ls * mx;

    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "x");
    tg_tensor *y = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "y");
    TG_OPTS(tg_get_variable_opts, zeros, .initializer = tg_zeros_initializer());
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &zeros);
    tg_variable *b = tg_get_variable(g, "b", TG_FLOAT32, TG_SCALAR, &zeros);
    tg_tensor *err = tg_subtract(g, tg_add(g, tg_multiply(g, tg_variable_value(w), x, NULL), tg_variable_value(b), NULL), y, NULL);
    tg_tensor *lr2 = tg_constant_scalar(g, TG_FLOAT32, 2 * 0.5, "lr2");
    tg_tensor *dw = tg_multiply(g, lr2, tg_reduce_mean(g, tg_multiply(g, err, x, NULL), NULL), NULL);
    tg_tensor *db = tg_multiply(g, lr2, tg_reduce_mean(g, err, NULL), NULL);
    tg_op *upd[2] = {tg_tensor_op(tg_assign_sub(g, tg_variable_ref(w), dw, NULL)),
                     tg_tensor_op(tg_assign_sub(g, tg_variable_ref(b), db, NULL))};
    tg_op *train = tg_group(g, upd, 2, "train");
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);

    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){N}, xs);
    tg_array *ya = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){N}, ys);
    tg_feed feeds[2] = {{x, xa}, {y, ya}};
    for (int step = 0; step < 2000; step++)
        ck_assert_int_eq(tg_session_run(s, feeds, 2, NULL, 0, NULL, &train, 1), TG_OK);
    ck_assert_int_eq(tg_session_op_run_count(s, train), 2000);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(w)), w_ls, 1e-4);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(b)), b_ls, 1e-4);
    tg_array_free(xa);
    tg_array_free(ya);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("train_loop");
    TCase *tc = tcase_create("train_loop");
    tcase_add_test(tc, test_gradient_descent_reaches_least_squares);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(suite)
