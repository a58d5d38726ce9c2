/* test_nn_math.c: matmul, max/min/prod/argmax reductions, comparisons and
 * casts, activations, cross-entropy losses, l2_loss and dropout: forward
 * values computed here by hand or in closed form, and gradient checks
 * against finite differences (float64, relative error < 1e-6), including a
 * Hessian-vector product of a small MLP. */
#include "gradcheck.h"

static const double TOL = 1e-6;

static tg_tensor *c64(tg_graph *g, tg_shape s, const double *v) { return tg_constant_data(g, TG_FLOAT64, s, v, NULL); }

static void expect(tg_graph *g, tg_tensor *t, const double *want, int64_t n, double tol)
{
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *a = tgc_fetch(s, t, NULL, 0);
    ck_assert_int_eq(tg_array_size(a), n);
    for (int64_t i = 0; i < n; i++) ck_assert_close(tg_array_get(a, i), want[i], tol);
    tg_array_free(a);
    tg_session_free(s);
}

START_TEST(test_matmul_forward_and_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = c64(g, TG_SHAPE(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    tg_tensor *b = c64(g, TG_SHAPE(3, 2), (double[]){7, 8, 9, 10, 11, 12});
    expect(g, tg_matmul(g, a, b, NULL), (double[]){58, 64, 139, 154}, 4, 0);
    /* a^T a: [[17,22,27],[22,29,36],[27,36,45]] */
    expect(g, tg_matmul(g, a, a, &(tg_matmul_opts){.transpose_a = true}), (double[]){17, 22, 27, 22, 29, 36, 27, 36, 45}, 9, 0);
    ck_assert_ptr_null(tg_matmul(g, a, a, &(tg_matmul_opts){.name = "bad"}));
    ck_assert_str_contains(tg_graph_message(g), "bad: inner dimensions 3 and 2 do not match");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_matmul_grads)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            tg_graph *g = tg_graph_new();
            tg_shape sa = ta ? TG_SHAPE(3, 2) : TG_SHAPE(2, 3), sb = tb ? TG_SHAPE(4, 3) : TG_SHAPE(3, 4);
            tg_tensor *a = tg_placeholder(g, TG_FLOAT64, sa, "a"), *b = tg_placeholder(g, TG_FLOAT64, sb, "b");
            tg_tensor *y = tg_matmul(g, a, b, &(tg_matmul_opts){.transpose_a = ta, .transpose_b = tb});
            ck_assert_tg_ok(g);
            tg_array *va = gc_random(sa, -1, 1, 11), *vb = gc_random(sb, -1, 1, 12);
            tg_tensor *xs[2] = {a, b};
            tg_array *vals[2] = {va, vb};
            gc_check(g, y, xs, 2, vals, TOL);
            tg_array_free(va);
            tg_array_free(vb);
            tg_graph_free(g);
        }
}
END_TEST

START_TEST(test_max_min_prod_argmax)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c64(g, TG_SHAPE(2, 3), (double[]){1, 5, 5, -2, 0, 3});
    int ax1 = 1, ax0 = 0;
    expect(g, tg_reduce_max(g, x, &(tg_reduce_opts){.axes = &ax1, .n_axes = 1}), (double[]){5, 3}, 2, 0);
    expect(g, tg_reduce_min(g, x, &(tg_reduce_opts){.axes = &ax0, .n_axes = 1}), (double[]){-2, 0, 3}, 3, 0);
    expect(g, tg_reduce_prod(g, x, &(tg_reduce_opts){.axes = &ax1, .n_axes = 1}), (double[]){25, 0}, 2, 0);
    tg_tensor *am = tg_argmax(g, x, 1, NULL);
    ck_assert_int_eq(tg_tensor_dtype(am), TG_INT64);
    expect(g, am, (double[]){1, 2}, 2, 0); /* first of the tied 5s */
    expect(g, tg_argmin(g, x, -2, NULL), (double[]){1, 1, 1}, 3, 0);
    ck_assert_ptr_null(tg_argmax(g, x, 2, "am"));
    ck_assert_str_contains(tg_graph_message(g), "Expected dimension in the range [-2, 2), but got 2");
    tg_graph_free(g);
}
END_TEST

/* Max/min gradients split dy among ties; prod's is exact with zeros. */
START_TEST(test_reduction_grads_with_ties_and_zeros)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 3), "x");
    int ax = 1;
    tg_tensor *mx = tg_reduce_max(g, x, &(tg_reduce_opts){.axes = &ax, .n_axes = 1});
    tg_tensor *pr = tg_reduce_prod(g, x, &(tg_reduce_opts){.axes = &ax, .n_axes = 1});
    tg_tensor *dmx = NULL, *dpr = NULL;
    ck_assert_int_eq(tg_gradients(g, &mx, 1, &x, 1, &dmx, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &pr, 1, &x, 1, &dpr, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    tg_array *v = tg_array_new_from(TG_FLOAT64, 2, (int64_t[]){2, 3}, (double[]){1, 5, 5, 2, 0, 3});
    tg_array *a = tgc_fetch(s, dmx, &(tg_feed){x, v}, 1);
    double want_max[6] = {0, 0.5, 0.5, 0, 0, 1};
    for (int i = 0; i < 6; i++) ck_assert_close(tg_array_get(a, i), want_max[i], 1e-12);
    tg_array_free(a);
    a = tgc_fetch(s, dpr, &(tg_feed){x, v}, 1);
    /* row 0: products of the others (25, 5, 5); row 1 has one zero: only it gets 2*3 */
    double want_prod[6] = {25, 5, 5, 0, 6, 0};
    for (int i = 0; i < 6; i++) ck_assert_close(tg_array_get(a, i), want_prod[i], 1e-12);
    tg_array_free(a);
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);

    int axes[2] = {0, 1};
    tg_reduce_opts all = {.axes = axes, .n_axes = 2};
    tg_tensor *(*fns[3])(tg_graph *, tg_tensor *, const tg_reduce_opts *) = {tg_reduce_max, tg_reduce_min, tg_reduce_prod};
    for (int f = 0; f < 3; f++) {
        g = tg_graph_new();
        x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 3), "x");
        tg_tensor *y = tg_reshape(g, fns[f](g, x, f == 2 ? NULL : &all), TG_SHAPE(1), NULL);
        ck_assert_tg_ok(g);
        v = gc_random(TG_SHAPE(2, 3), 0.5, 2, 13 + (unsigned)f);
        gc_check(g, y, &x, 1, &v, TOL);
        tg_array_free(v);
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(test_compare_cast_logical)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c64(g, TG_SHAPE(4), (double[]){-1.5, 0, 2.7, 3});
    tg_tensor *three = tg_constant_scalar(g, TG_FLOAT64, 3, NULL);
    tg_tensor *lt = tg_less(g, x, three, NULL);
    ck_assert_int_eq(tg_tensor_dtype(lt), TG_BOOL);
    expect(g, lt, (double[]){1, 1, 1, 0}, 4, 0);
    expect(g, tg_logical_not(g, tg_greater_equal(g, x, three, NULL), NULL), (double[]){1, 1, 1, 0}, 4, 0);
    expect(g, tg_cast(g, x, TG_INT32, NULL), (double[]){-1, 0, 2, 3}, 4, 0); /* toward zero */
    expect(g, tg_cast(g, x, TG_BOOL, NULL), (double[]){1, 0, 1, 1}, 4, 0);
    expect(g, tg_logical_and(g, lt, tg_not_equal(g, x, tg_zeros_like(g, x, NULL), NULL), NULL), (double[]){1, 0, 1, 0}, 4, 0);
    expect(g, tg_where(g, lt, x, tg_negative(g, x, NULL), NULL), (double[]){-1.5, 0, 2.7, -3}, 4, 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_activation_values)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c64(g, TG_SHAPE(4), (double[]){-2, -0.5, 1, 7});
    expect(g, tg_nn_relu(g, x, NULL), (double[]){0, 0, 1, 7}, 4, 0);
    expect(g, tg_nn_relu6(g, x, NULL), (double[]){0, 0, 1, 6}, 4, 0);
    expect(g, tg_nn_elu(g, x, NULL), (double[]){exp(-2) - 1, exp(-0.5) - 1, 1, 7}, 4, 1e-15);
    expect(g, tg_nn_leaky_relu(g, x, TG_LEAKY_RELU_ALPHA, NULL), (double[]){-0.4, -0.1, 1, 7}, 4, 1e-15);
    expect(g, tg_sigmoid(g, x, NULL), (double[]){1 / (1 + exp(2)), 1 / (1 + exp(0.5)), 1 / (1 + exp(-1)), 1 / (1 + exp(-7))}, 4, 1e-15);
    expect(g, tg_nn_softplus(g, x, NULL), (double[]){log1p(exp(-2)), log1p(exp(-0.5)), log1p(exp(1)), log1p(exp(7))}, 4, 1e-14);
    /* softmax of [1000, 1000, 1000 + log 2] is [1/4, 1/4, 1/2]: no overflow */
    tg_tensor *big = c64(g, TG_SHAPE(1, 3), (double[]){1000, 1000, 1000 + log(2)});
    expect(g, tg_nn_softmax(g, big, NULL), (double[]){0.25, 0.25, 0.5}, 3, 1e-12);
    expect(g, tg_nn_log_softmax(g, big, NULL), (double[]){log(0.25), log(0.25), log(0.5)}, 3, 1e-12);
    tg_graph_free(g);
}
END_TEST

/* loss = -sum(labels * log_softmax(logits)), by hand for one row. */
START_TEST(test_cross_entropy_values)
{
    tg_graph *g = tg_graph_new();
    double lg[6] = {1, 2, 3, 1000, 0, 0};
    tg_tensor *logits = c64(g, TG_SHAPE(2, 3), lg);
    tg_tensor *labels = c64(g, TG_SHAPE(2, 3), (double[]){0.2, 0.3, 0.5, 0, 1, 0});
    double lse0 = log(exp(1) + exp(2) + exp(3));
    double want[2] = {0.2 * (lse0 - 1) + 0.3 * (lse0 - 2) + 0.5 * (lse0 - 3), 1000};
    expect(g, tg_nn_softmax_cross_entropy_with_logits(g, labels, logits, NULL), want, 2, 1e-9);
    tg_tensor *sparse = tg_constant_data(g, TG_INT32, TG_SHAPE(2), (int32_t[]){2, 0}, NULL);
    expect(g, tg_nn_sparse_softmax_cross_entropy_with_logits(g, sparse, logits, NULL), (double[]){lse0 - 3, 0}, 2, 1e-9);
    expect(g, tg_nn_l2_loss(g, logits, NULL), (double[]){(1 + 4 + 9 + 1e6) / 2}, 1, 1e-6);
    /* a label out of range fails at run time with TF's message */
    tg_tensor *bad = tg_constant_data(g, TG_INT32, TG_SHAPE(2), (int32_t[]){3, 0}, NULL);
    tg_tensor *l = tg_nn_sparse_softmax_cross_entropy_with_logits(g, bad, logits, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &l, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "Received a label value of 3 which is outside the valid range of [0, 3).");
    /* issue 12 #10: int64 labels are read as int64 (through a double,
     * INT64_MAX was undefined behaviour, which UBSan reports) */
    tg_tensor *huge = tg_constant_data(g, TG_INT64, TG_SHAPE(2), (int64_t[]){INT64_MAX, 0}, NULL);
    tg_tensor *lh = tg_nn_sparse_softmax_cross_entropy_with_logits(g, huge, logits, NULL);
    tg_tensor *l64 = tg_nn_sparse_softmax_cross_entropy_with_logits(
        g, tg_constant_data(g, TG_INT64, TG_SHAPE(2), (int64_t[]){2, 0}, NULL), logits, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &lh, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "Received a label value of 9223372036854775807 which is outside");
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &l64, 1, &out, NULL, 0), TG_OK);
    ck_assert_double_eq_tol(tg_array_get(out, 0), lse0 - 3, 1e-9);
    tg_array_free(out);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_loss_grads)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *logits = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3, 4), "logits");
    tg_tensor *labels = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3, 4), "labels");
    tg_tensor *y = tg_nn_softmax_cross_entropy_with_logits_v2(g, labels, logits, NULL);
    tg_array *vl = gc_random(TG_SHAPE(3, 4), -2, 2, 21), *vb = gc_random(TG_SHAPE(3, 4), 0.1, 1, 22);
    /* TF's backprop (softmax - labels) is the gradient for label rows that
     * are distributions, which the op requires: normalize them. The
     * numeric derivative in the labels stays exact for any values. */
    double *lb = tg_array_data(vb);
    for (int r = 0; r < 3; r++) {
        double sum = 0;
        for (int j = 0; j < 4; j++) sum += lb[r * 4 + j];
        for (int j = 0; j < 4; j++) lb[r * 4 + j] /= sum;
    }
    tg_tensor *xs[2] = {logits, labels};
    tg_array *vals[2] = {vl, vb};
    gc_check(g, y, xs, 2, vals, TOL);
    /* v1 stops the gradient into the labels */
    tg_tensor *y1 = tg_nn_softmax_cross_entropy_with_logits(g, labels, logits, NULL), *d[2];
    ck_assert_int_eq(tg_gradients(g, &y1, 1, xs, 2, d, NULL), TG_OK);
    ck_assert_ptr_nonnull(d[0]);
    ck_assert_ptr_null(d[1]);
    tg_graph_free(g);

    g = tg_graph_new();
    logits = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3, 4), "logits");
    tg_tensor *sl = tg_constant_data(g, TG_INT64, TG_SHAPE(3), (int64_t[]){0, 3, 1}, NULL);
    tg_tensor *ys = tg_add(g, tg_nn_sparse_softmax_cross_entropy_with_logits(g, sl, logits, NULL),
                           tg_nn_l2_loss(g, logits, NULL), NULL);
    gc_check(g, ys, &logits, 1, &vl, TOL);
    tg_array_free(vl);
    tg_array_free(vb);
    tg_graph_free(g);
}
END_TEST

/* Mean and variance of the kept fraction: each element is 0 or x/(1-rate);
 * over 20000 draws the kept fraction's standard error is 0.0035, the bound
 * is 0.02. training=FALSE is the identity; a fed training flag switches. */
START_TEST(test_dropout)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 1);
    tg_tensor *x = tg_ones_like(g, tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1, 100), "x"), NULL);
    tg_tensor *flag = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "training");
    TG_OPTS(tg_dropout_opts, q, .rate = 0.25);
    tg_tensor *d = tg_nn_dropout(g, x, &q);
    TG_OPTS(tg_dropout_opts, qt, .rate = 0.25, .training_t = flag);
    tg_tensor *dt = tg_nn_dropout(g, x, &qt);
    TG_OPTS(tg_dropout_opts, off, .rate = 0.25, .training = false);
    ck_assert_ptr_eq(tg_nn_dropout(g, x, &off), x);
    /* TF 1.15's tf.nn.dropout has no default rate: leaving it out (NULL
     * options included) is TF's error, whatever else is set */
    tg_dropout_opts d0 = TG_DROPOUT_OPTS_INIT;
    ck_assert(isnan(d0.rate));
    TG_OPTS(tg_dropout_opts, seed_only, .seed = 3);
    TG_OPTS(tg_dropout_opts, off_only, .training = false);
    const tg_dropout_opts *no_rate[] = {NULL, &d0, &seed_only, &off_only};
    int n_ops = tg_graph_num_ops(g);
    for (size_t i = 0; i < sizeof no_rate / sizeof no_rate[0]; i++) {
        ck_assert_ptr_null(tg_nn_dropout(g, x, no_rate[i]));
        ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
        ck_assert_str_eq(tg_graph_message(g), "tg_nn_dropout: You must provide a rate to dropout.");
        tg_graph_clear_status(g);
    }
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    TG_OPTS(tg_dropout_opts, all, .rate = 1.0);
    ck_assert_ptr_null(tg_nn_dropout(g, x, &all));
    ck_assert_str_contains(tg_graph_message(g), "range [0, 1)");
    tg_graph_clear_status(g);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_new(TG_FLOAT64, 2, (int64_t[]){200, 100});
    tg_array *a = tgc_fetch(s, d, &(tg_feed){tg_graph_tensor(g, "x:0"), xv}, 1);
    double kept = 0;
    for (int64_t i = 0; i < tg_array_size(a); i++) {
        double v = tg_array_get(a, i);
        ck_assert(v == 0 || fabs(v - 1 / 0.75) < 1e-12);
        kept += v != 0;
    }
    ck_assert_close(kept / (double)tg_array_size(a), 0.75, 0.02);
    tg_array_free(a);
    a = tgc_fetch(s, dt, &(tg_feed){tg_graph_tensor(g, "x:0"), xv}, 1);
    for (int64_t i = 0; i < tg_array_size(a); i++) ck_assert_close(tg_array_get(a, i), 1.0, 0);
    tg_array_free(a);
    tg_array *on = tg_array_scalar_bool(true);
    tg_feed feeds[2] = {{tg_graph_tensor(g, "x:0"), xv}, {flag, on}};
    a = tgc_fetch(s, dt, feeds, 2);
    kept = 0;
    for (int64_t i = 0; i < tg_array_size(a); i++) kept += tg_array_get(a, i) != 0;
    ck_assert_close(kept / (double)tg_array_size(a), 0.75, 0.02);
    tg_array_free(a);
    tg_array_free(on);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* Hessian-vector product of an MLP loss, H v = d/dp (grad(p) . v), against
 * (grad(p + h v) - grad(p - h v)) / 2h. */
START_TEST(test_mlp_hessian_vector_product)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *w1 = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3, 4), "w1");
    tg_tensor *w2 = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(4, 2), "w2");
    tg_tensor *v1 = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3, 4), "v1");
    tg_tensor *v2 = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(4, 2), "v2");
    tg_tensor *x = c64(g, TG_SHAPE(5, 3), (double[]){0.1, -0.4, 0.9, 1.2, 0.3, -0.7, -0.2, 0.8, 0.5, 0.6, -1.1, 0.2, -0.9, 0.4, 0.3});
    tg_tensor *labels = tg_constant_data(g, TG_INT32, TG_SHAPE(5), (int32_t[]){0, 1, 1, 0, 1}, NULL);
    tg_tensor *h = tg_tanh(g, tg_matmul(g, x, w1, NULL), NULL);
    tg_tensor *logits = tg_matmul(g, h, w2, NULL);
    tg_tensor *loss = tg_reduce_mean(g, tg_nn_sparse_softmax_cross_entropy_with_logits(g, labels, logits, NULL), NULL);
    tg_tensor *ws[2] = {w1, w2}, *gr[2], *hv[2];
    ck_assert_int_eq(tg_gradients(g, &loss, 1, ws, 2, gr, NULL), TG_OK);
    tg_tensor *dot = tg_add(g, tg_reduce_sum(g, tg_multiply(g, gr[0], v1, NULL), NULL),
                            tg_reduce_sum(g, tg_multiply(g, gr[1], v2, NULL), NULL), NULL);
    ck_assert_int_eq(tg_gradients(g, &dot, 1, ws, 2, hv, NULL), TG_OK);
    ck_assert_tg_ok(g);

    tg_array *p1 = gc_random(TG_SHAPE(3, 4), -1, 1, 31), *p2 = gc_random(TG_SHAPE(4, 2), -1, 1, 32);
    tg_array *d1 = gc_random(TG_SHAPE(3, 4), -1, 1, 33), *d2 = gc_random(TG_SHAPE(4, 2), -1, 1, 34);
    tg_session *s = tg_session_new(g);
    tg_feed feeds[4] = {{w1, p1}, {w2, p2}, {v1, d1}, {v2, d2}};
    tg_array *an[2] = {NULL, NULL};
    ck_assert_int_eq(tg_session_run(s, feeds, 4, hv, 2, an, NULL, 0), TG_OK);
    const double step = 1e-5;
    tg_array *gp[2] = {NULL, NULL}, *gm[2] = {NULL, NULL};
    for (int sign = 1; sign >= -1; sign -= 2) {
        for (int k = 0; k < 2; k++) {
            double *p = tg_array_data(k ? p2 : p1);
            const double *d = tg_array_cdata(k ? d2 : d1);
            for (int64_t i = 0; i < tg_array_size(k ? p2 : p1); i++) p[i] += sign * step * d[i];
        }
        ck_assert_int_eq(tg_session_run(s, feeds, 4, gr, 2, sign > 0 ? gp : gm, NULL, 0), TG_OK);
        for (int k = 0; k < 2; k++) {
            double *p = tg_array_data(k ? p2 : p1);
            const double *d = tg_array_cdata(k ? d2 : d1);
            for (int64_t i = 0; i < tg_array_size(k ? p2 : p1); i++) p[i] -= sign * step * d[i];
        }
    }
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < tg_array_size(an[k]); i++) {
            double num = (tg_array_get(gp[k], i) - tg_array_get(gm[k], i)) / (2 * step);
            double a = tg_array_get(an[k], i);
            ck_assert_msg(fabs(a - num) <= 1e-6 * fmax(1, fmax(fabs(a), fabs(num))), "Hv[%d][%lld]: %.10g vs %.10g", k,
                          (long long)i, a, num);
        }
    for (int k = 0; k < 2; k++) {
        tg_array_free(an[k]);
        tg_array_free(gp[k]);
        tg_array_free(gm[k]);
    }
    tg_array_free(p1);
    tg_array_free(p2);
    tg_array_free(d1);
    tg_array_free(d2);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* Over axis 0 of [[1, 2], [3, 6], [5, 10]]: mean (3, 6), population
 * variance (8/3, 32/3). Weights (1, 1, 2) on the rows: mean (3.5, 7),
 * variance ((6.25 + .25 + 2 * 2.25) / 4, (25 + 1 + 2 * 9) / 4). */
START_TEST(test_moments)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c64(g, TG_SHAPE(3, 2), (double[]){1, 2, 3, 6, 5, 10});
    int ax = 0;
    tg_tensor *m, *v, *mk, *vk, *wm, *wv;
    ck_assert_int_eq(tg_nn_moments(g, x, &ax, 1, false, &m, &v, NULL), TG_OK);
    ck_assert_int_eq(tg_nn_moments(g, x, &ax, 1, true, &mk, &vk, NULL), TG_OK);
    ck_assert_ptr_nonnull(tg_graph_op(g, "moments/mean"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "moments/variance"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "moments/StopGradient"));
    ck_assert_int_eq(tg_tensor_shape(m).rank, 1);
    ck_assert_int_eq(tg_tensor_shape(mk).rank, 2);
    expect(g, m, (double[]){3, 6}, 2, 1e-12);
    expect(g, vk, (double[]){8.0 / 3, 32.0 / 3}, 2, 1e-12);
    tg_tensor *w = c64(g, TG_SHAPE(3, 1), (double[]){1, 1, 2});
    ck_assert_int_eq(tg_nn_weighted_moments(g, x, &ax, 1, w, false, &wm, &wv, NULL), TG_OK);
    expect(g, wm, (double[]){3.5, 7}, 2, 1e-12);
    expect(g, wv, (double[]){(6.25 + 0.25 + 2 * 2.25) / 4, (25 + 1 + 2 * 9) / 4.0}, 2, 1e-12);
    int bad = 2;
    ck_assert_int_eq(tg_nn_moments(g, x, &bad, 1, false, &m, &v, NULL), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(m);
    tg_graph_free(g);

    /* gradients through both, x of unknown batch */
    g = tg_graph_new();
    tg_tensor *p = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1, 3), "p");
    int axes[1] = {0};
    ck_assert_int_eq(tg_nn_moments(g, p, axes, 1, false, &m, &v, NULL), TG_OK);
    tg_tensor *y = tg_add(g, tg_multiply(g, m, m, NULL), v, NULL);
    tg_tensor *y3 = tg_reshape(g, y, TG_SHAPE(3), NULL);
    tg_array *val = gc_random(TG_SHAPE(4, 3), -1, 1, 41);
    gc_check(g, y3, &p, 1, &val, TOL);
    tg_array_free(val);
    tg_graph_free(g);
}
END_TEST

/* Reshape: one -1 resolved from the element count; impossible targets
 * fail at construction when the count is known, else when the op runs. */
START_TEST(test_reshape_values_and_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = c64(g, TG_SHAPE(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    tg_tensor *r = tg_reshape(g, x, TG_SHAPE(3, -1), NULL);
    ck_assert_int_eq(tg_tensor_shape(r).dims[1], 2);
    expect(g, r, (double[]){1, 2, 3, 4, 5, 6}, 6, 0);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(r)), "Reshape");
    ck_assert_ptr_nonnull(tg_graph_op(g, "Reshape/shape"));
    int ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_reshape(g, x, TG_SHAPE(4), "bad"));
    ck_assert_str_contains(tg_graph_message(g), "bad: Cannot reshape a tensor with 6 elements to shape requiring 4 elements");
    ck_assert_int_eq(tg_graph_num_ops(g), ops);
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_reshape(g, x, TG_SHAPE(-1, -1), NULL));
    ck_assert_str_contains(tg_graph_message(g), "only one input size may be -1");
    tg_graph_clear_status(g);
    tg_tensor *p = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1, 3), "p");
    tg_tensor *q = tg_reshape(g, p, TG_SHAPE(-1, 2), "q");
    ck_assert_int_eq(tg_tensor_shape(q).dims[0], -1);
    tg_tensor *q4 = tg_reshape(g, p, TG_SHAPE(4), "q4");
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *v = tg_array_new(TG_FLOAT64, 2, (int64_t[]){3, 3}), *out = NULL;
    tg_feed f = {p, v};
    ck_assert_int_eq(tg_session_run(s, &f, 1, &q4, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "q4: Cannot reshape a tensor with 9 elements");
    ck_assert_int_eq(tg_session_run(s, &f, 1, &q, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "q: cannot reshape a tensor with 9 elements");
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* Empty tensors: no out-of-bounds reads, TF's results and errors. */
START_TEST(test_empty_edge_cases)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *lg = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1, -1), "logits");
    tg_tensor *xent = tg_nn_softmax_cross_entropy_with_logits_v2(g, lg, lg, NULL);
    tg_tensor *e = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1), "e");
    tg_tensor *mean = tg_reduce_mean(g, e, NULL);
    tg_tensor *c = tg_placeholder(g, TG_BOOL, TG_SHAPE(-1, -1), "c");
    tg_tensor *m = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1, -1), "m");
    tg_tensor *sel = tg_where(g, c, m, m, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *z = tg_array_new(TG_FLOAT64, 2, (int64_t[]){2, 0}), *out = NULL;
    tg_feed f = {lg, z};
    ck_assert_int_eq(tg_session_run(s, &f, 1, &xent, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "Must have at least one class");
    tg_array *none = tg_array_new(TG_FLOAT64, 1, (int64_t[]){0});
    tg_feed fe = {e, none};
    ck_assert_int_eq(tg_session_run(s, &fe, 1, &mean, 1, &out, NULL, 0), TG_OK);
    ck_assert(isnan(tg_array_get(out, 0))); /* 0/0, as TF */
    tg_array *cb = tg_array_new(TG_BOOL, 2, (int64_t[]){0, 3}), *mv = tg_array_new(TG_FLOAT64, 2, (int64_t[]){0, 3});
    tg_feed fs[2] = {{c, cb}, {m, mv}};
    ck_assert_int_eq(tg_session_run(s, fs, 2, &sel, 1, &out, NULL, 0), TG_OK);
    ck_assert_int_eq(tg_array_size(out), 0);
    tg_array *cb2 = tg_array_new(TG_BOOL, 2, (int64_t[]){2, 3}), *mv2 = tg_array_new(TG_FLOAT64, 2, (int64_t[]){3, 2});
    tg_feed fs2[2] = {{c, cb2}, {m, mv2}};
    ck_assert_int_eq(tg_session_run(s, fs2, 2, &sel, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "condition does not fit x");
    tg_tensor *empty = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(0), NULL, NULL);
    ck_assert_ptr_null(tg_reshape(g, empty, TG_SHAPE(2147483647, 2147483647, 2147483647, 0), NULL));
    ck_assert_str_contains(tg_graph_message(g), "too many elements");
    tg_array *arrays[6] = {z, none, cb, mv, cb2, mv2};
    for (int i = 0; i < 6; i++) tg_array_free(arrays[i]);
    tg_array_free(out);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static Suite *nn_math_suite(void)
{
    Suite *s = suite_create("nn_math");
    TCase *tc = tcase_create("nn_math");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_matmul_forward_and_errors);
    tcase_add_test(tc, test_matmul_grads);
    tcase_add_test(tc, test_max_min_prod_argmax);
    tcase_add_test(tc, test_reduction_grads_with_ties_and_zeros);
    tcase_add_test(tc, test_compare_cast_logical);
    tcase_add_test(tc, test_activation_values);
    tcase_add_test(tc, test_cross_entropy_values);
    tcase_add_test(tc, test_loss_grads);
    tcase_add_test(tc, test_dropout);
    tcase_add_test(tc, test_mlp_hessian_vector_product);
    tcase_add_test(tc, test_moments);
    tcase_add_test(tc, test_reshape_values_and_errors);
    tcase_add_test(tc, test_empty_edge_cases);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(nn_math_suite)
