/* test_nn_batch_norm.c: tf.nn.batch_normalization, tf.nn.fused_batch_norm
 * (FusedBatchNormV3 and FusedBatchNormGradV3) and the legacy
 * BatchNormWithGlobalNormalization.
 *
 * Values against reference loops written here (two-pass mean and variance
 * per channel, as NumPy would compute them) in training and inference,
 * NHWC and NCHW, float32 and float64: the biased variance inside y, the
 * Bessel-corrected batch_variance output, the epsilon clamp. The fused op
 * against the composed ops (moments + batch_normalization) within 1e-5
 * relative. Gradient checks in float64 for the fused op in both modes and
 * formats, for its gradient op (second derivatives), for the composition and
 * for the legacy op; TF's op names; construction and run-time errors. */
#include "gradcheck.h"

/* ---- helpers ------------------------------------------------------------------ */

/* Deterministic values in [lo, hi). */
static void fill(double *v, int64_t n, double lo, double hi, unsigned seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = lo + (hi - lo) * (double)((seed >> 8) % 10000) / 10000.0;
    }
}

/* A Const of dtype dt from doubles. */
static tg_tensor *konst(tg_graph *g, tg_dtype dt, tg_shape s, const double *v, const char *name)
{
    if (dt == TG_FLOAT64) return tg_constant_data(g, dt, s, v, name);
    int64_t n = tg_shape_num_elements(&s);
    float *f = malloc((size_t)(n ? n : 1) * sizeof *f);
    for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
    tg_tensor *t = tg_constant_data(g, dt, s, f, name);
    free(f);
    return t;
}

typedef struct {
    int n, h, w, c;
} dims4;

static int64_t count4(dims4 d) { return (int64_t)d.n * d.h * d.w * d.c; }

static tg_shape shape_in(tg_data_format fmt, dims4 d)
{
    return fmt == TG_NCHW ? TG_SHAPE(d.n, d.c, d.h, d.w) : TG_SHAPE(d.n, d.h, d.w, d.c);
}

/* NHWC <-> the given format (a copy for NHWC). */
static void nhwc_to(tg_data_format fmt, dims4 d, const double *src, double *dst)
{
    for (int b = 0; b < d.n; b++)
        for (int y = 0; y < d.h; y++)
            for (int x = 0; x < d.w; x++)
                for (int k = 0; k < d.c; k++) {
                    int64_t i = (((int64_t)b * d.h + y) * d.w + x) * d.c + k;
                    int64_t j = fmt == TG_NCHW ? (((int64_t)b * d.c + k) * d.h + y) * d.w + x : i;
                    dst[j] = src[i];
                }
}

static void to_nhwc(tg_data_format fmt, dims4 d, const double *src, double *dst)
{
    for (int b = 0; b < d.n; b++)
        for (int y = 0; y < d.h; y++)
            for (int x = 0; x < d.w; x++)
                for (int k = 0; k < d.c; k++) {
                    int64_t i = (((int64_t)b * d.h + y) * d.w + x) * d.c + k;
                    int64_t j = fmt == TG_NCHW ? (((int64_t)b * d.c + k) * d.h + y) * d.w + x : i;
                    dst[i] = src[j];
                }
}

/* Reference batch norm on NHWC data: two-pass statistics per channel over
 * N*H*W; y normalised with the given (mean, var) or, in training, with the
 * batch mean and the biased variance. var_u gets the Bessel-corrected one. */
static void ref_bn(dims4 d, const double *x, const double *scale, const double *offset, double eps, bool training,
                   const double *mean_in, const double *var_in, double *y, double *mean, double *var_b, double *var_u)
{
    int64_t rows = (int64_t)d.n * d.h * d.w;
    for (int k = 0; k < d.c; k++) {
        double s = 0, q = 0;
        for (int64_t r = 0; r < rows; r++) s += x[r * d.c + k];
        double m = s / (double)rows;
        for (int64_t r = 0; r < rows; r++) q += (x[r * d.c + k] - m) * (x[r * d.c + k] - m);
        double vb = q / (double)rows;
        if (mean) mean[k] = m;
        if (var_b) var_b[k] = vb;
        if (var_u) var_u[k] = rows > 1 ? q / (double)(rows - 1) : vb;
        double mu = training ? m : mean_in[k], v = training ? vb : var_in[k];
        for (int64_t r = 0; r < rows; r++)
            y[r * d.c + k] = (x[r * d.c + k] - mu) / sqrt(v + eps) * scale[k] + offset[k];
    }
}

static void assert_near(const double *got, const double *want, int64_t n, double rel, const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        double tol = rel * (fabs(want[i]) > 1 ? fabs(want[i]) : 1);
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "%s[%lld] = %.10g, want %.10g", what, (long long)i, got[i],
                      want[i]);
    }
}

static void to_doubles(const tg_array *a, double *out)
{
    for (int64_t i = 0; i < tg_array_size(a); i++) out[i] = tg_array_get(a, i);
}

/* Runs the fused op on NHWC data in fmt/dt; y comes back in NHWC. eps 0.001 is TF's default. */
static void run_fused(tg_data_format fmt, tg_dtype dt, bool training, dims4 d, const double *x, const double *scale,
                      const double *offset, const double *mean, const double *var, double eps, double *y,
                      double *bmean, double *bvar)
{
    int64_t nx = count4(d);
    double *xl = malloc((size_t)nx * sizeof *xl), *yl = malloc((size_t)nx * sizeof *yl);
    nhwc_to(fmt, d, x, xl);
    tg_graph *g = tg_graph_new();
    tg_tensor *xt = konst(g, dt, shape_in(fmt, d), xl, "x");
    tg_tensor *st = konst(g, dt, TG_SHAPE(d.c), scale, "scale");
    tg_tensor *ot = konst(g, dt, TG_SHAPE(d.c), offset, "offset");
    tg_tensor *mt = training ? NULL : konst(g, dt, TG_SHAPE(d.c), mean, "mean");
    tg_tensor *vt = training ? NULL : konst(g, dt, TG_SHAPE(d.c), var, "variance");
    tg_tensor *out[3];
    TG_OPTS(tg_fused_batch_norm_opts, o, .epsilon = eps, .data_format = fmt, .is_training = training);
    ck_assert_int_eq(tg_nn_fused_batch_norm(g, xt, st, ot, mt, vt, &o, &out[0], &out[1], &out[2]), TG_OK);
    ck_assert_tg_ok(g);
    ck_assert_shape_eq(tg_tensor_shape(out[0]), shape_in(fmt, d));
    ck_assert_shape_eq(tg_tensor_shape(out[1]), TG_SHAPE(d.c));
    tg_session *s = tg_session_new(g);
    tg_array *a[3] = {NULL, NULL, NULL};
    ck_assert_int_eq(tg_session_run(s, NULL, 0, out, 3, a, NULL, 0), TG_OK);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(tg_array_dtype(a[i]), dt);
    to_doubles(a[0], yl);
    to_nhwc(fmt, d, yl, y);
    to_doubles(a[1], bmean);
    to_doubles(a[2], bvar);
    for (int i = 0; i < 3; i++) tg_array_free(a[i]);
    tg_session_free(s);
    tg_graph_free(g);
    free(xl);
    free(yl);
}

static const tg_data_format FORMATS[2] = {TG_NHWC, TG_NCHW};
static const tg_dtype DTYPES[2] = {TG_FLOAT32, TG_FLOAT64};

/* ---- FusedBatchNormV3 values ---------------------------------------------------- */

START_TEST(test_fused_hand_cases)
{
    /* x = [1, 3] in one channel: mean 2, biased variance 1, Bessel 2. */
    dims4 d = {1, 1, 2, 1};
    double x[2] = {1, 3}, one = 1, zero = 0, y[2], m, v;
    run_fused(TG_NHWC, TG_FLOAT64, true, d, x, &one, &zero, NULL, NULL, 0.001, y, &m, &v);
    ck_assert_close(m, 2, 1e-12);
    ck_assert_close(v, 2, 1e-12); /* n / (n - 1) = 2 */
    ck_assert_close(y[0], -1 / sqrt(1 + (double)0.001f), 1e-12);
    ck_assert_close(y[1], 1 / sqrt(1 + (double)0.001f), 1e-12);
    /* epsilon 0 is raised to 1.001e-5 */
    run_fused(TG_NHWC, TG_FLOAT64, true, d, x, &one, &zero, NULL, NULL, 0, y, &m, &v);
    ck_assert_close(y[1], 1 / sqrt(1 + (double)1.001e-5f), 1e-12);
    /* one element per channel: variance 0 and no Bessel factor; y = offset */
    dims4 d1 = {1, 1, 1, 2};
    double x1[2] = {4, -7}, sc[2] = {2, 3}, of[2] = {0.5, -0.25}, y1[2], m1[2], v1[2];
    run_fused(TG_NHWC, TG_FLOAT32, true, d1, x1, sc, of, NULL, NULL, 0.001, y1, m1, v1);
    ck_assert_close(v1[0], 0, 0);
    ck_assert_close(v1[1], 0, 0);
    ck_assert_close(m1[1], -7, 0);
    ck_assert_close(y1[0], 0.5, 1e-7);
    ck_assert_close(y1[1], -0.25, 1e-7);
}
END_TEST

START_TEST(test_fused_training_reference)
{
    dims4 d = {3, 2, 4, 3};
    int64_t nx = count4(d), rows = (int64_t)d.n * d.h * d.w;
    double *x = malloc((size_t)nx * sizeof *x), *y = malloc((size_t)nx * sizeof *y);
    double *want = malloc((size_t)nx * sizeof *want);
    double sc[3], of[3], m[3], vb[3], vu[3], gm[3], gv[3];
    fill(x, nx, 3, 7, 11); /* mean about 5: the shift matters */
    fill(sc, 3, 0.5, 2, 12);
    fill(of, 3, -1, 1, 13);
    ref_bn(d, x, sc, of, (double)0.001f, true, NULL, NULL, want, m, vb, vu);
    for (int f = 0; f < 2; f++)
        for (int t = 0; t < 2; t++) {
            double tol = DTYPES[t] == TG_FLOAT32 ? 2e-6 : 1e-12;
            run_fused(FORMATS[f], DTYPES[t], true, d, x, sc, of, NULL, NULL, 0.001, y, gm, gv);
            assert_near(y, want, nx, tol, "y");
            assert_near(gm, m, 3, tol, "batch_mean");
            assert_near(gv, vu, 3, tol, "batch_variance");
            /* the output is the unbiased variance, y used the biased one */
            for (int k = 0; k < 3; k++)
                ck_assert_close(gv[k] / vb[k], (double)rows / (double)(rows - 1), tol * 10);
        }
    free(x);
    free(y);
    free(want);
}
END_TEST

START_TEST(test_fused_inference_reference)
{
    dims4 d = {2, 3, 2, 4};
    int64_t nx = count4(d);
    double *x = malloc((size_t)nx * sizeof *x), *y = malloc((size_t)nx * sizeof *y);
    double *want = malloc((size_t)nx * sizeof *want);
    double sc[4], of[4], mean[4], var[4], gm[4], gv[4];
    fill(x, nx, -2, 2, 21);
    fill(sc, 4, 0.5, 2, 22);
    fill(of, 4, -1, 1, 23);
    fill(mean, 4, -0.5, 0.5, 24);
    fill(var, 4, 0.2, 3, 25);
    ref_bn(d, x, sc, of, (double)0.01f, false, mean, var, want, NULL, NULL, NULL);
    for (int f = 0; f < 2; f++)
        for (int t = 0; t < 2; t++) {
            double tol = DTYPES[t] == TG_FLOAT32 ? 2e-6 : 1e-12;
            run_fused(FORMATS[f], DTYPES[t], false, d, x, sc, of, mean, var, 0.01, y, gm, gv);
            assert_near(y, want, nx, tol, "y");
            assert_near(gm, mean, 4, tol, "batch_mean"); /* the given statistics pass through */
            assert_near(gv, var, 4, tol, "batch_variance");
        }
    free(x);
    free(y);
    free(want);
}
END_TEST

/* Fused against moments + batch_normalization, float32, both modes. */
START_TEST(test_fused_matches_composed)
{
    dims4 d = {4, 3, 5, 3};
    int64_t nx = count4(d);
    double *xn = malloc((size_t)nx * sizeof *xn), *xl = malloc((size_t)nx * sizeof *xl);
    double sc[3], of[3], mean[3], var[3];
    fill(xn, nx, -3, 5, 31);
    fill(sc, 3, 0.5, 2, 32);
    fill(of, 3, -1, 1, 33);
    fill(mean, 3, -0.5, 0.5, 34);
    fill(var, 3, 0.5, 2, 35);
    for (int f = 0; f < 2; f++)
        for (int training = 0; training < 2; training++) {
            tg_data_format fmt = FORMATS[f];
            nhwc_to(fmt, d, xn, xl);
            tg_graph *g = tg_graph_new();
            tg_tensor *x = konst(g, TG_FLOAT32, shape_in(fmt, d), xl, "x");
            tg_tensor *s1 = konst(g, TG_FLOAT32, TG_SHAPE(3), sc, NULL);
            tg_tensor *o1 = konst(g, TG_FLOAT32, TG_SHAPE(3), of, NULL);
            tg_tensor *m1 = training ? NULL : konst(g, TG_FLOAT32, TG_SHAPE(3), mean, NULL);
            tg_tensor *v1 = training ? NULL : konst(g, TG_FLOAT32, TG_SHAPE(3), var, NULL);
            tg_tensor *fused;
            TG_OPTS(tg_fused_batch_norm_opts, o, .data_format = fmt, .is_training = training);
            ck_assert_int_eq(tg_nn_fused_batch_norm(g, x, s1, o1, m1, v1, &o, &fused, NULL, NULL), TG_OK);
            /* composed: parameters shaped to broadcast against the format */
            tg_shape ps = fmt == TG_NCHW ? TG_SHAPE(1, 3, 1, 1) : TG_SHAPE(3);
            tg_tensor *s2 = konst(g, TG_FLOAT32, ps, sc, NULL), *o2 = konst(g, TG_FLOAT32, ps, of, NULL);
            tg_tensor *m2, *v2;
            if (training) {
                const int *axes = fmt == TG_NCHW ? (const int[]){0, 2, 3} : (const int[]){0, 1, 2};
                ck_assert_int_eq(tg_nn_moments(g, x, axes, 3, fmt == TG_NCHW, &m2, &v2, NULL), TG_OK);
            } else {
                m2 = konst(g, TG_FLOAT32, ps, mean, NULL);
                v2 = konst(g, TG_FLOAT32, ps, var, NULL);
            }
            tg_tensor *comp = tg_nn_batch_normalization(g, x, m2, v2, o2, s2, (double)0.001f, NULL);
            ck_assert_tg_ok(g);
            tg_session *s = tg_session_new(g);
            tg_tensor *f2[2] = {fused, comp};
            tg_array *a[2] = {NULL, NULL};
            ck_assert_int_eq(tg_session_run(s, NULL, 0, f2, 2, a, NULL, 0), TG_OK);
            double *ya = malloc((size_t)nx * sizeof *ya), *yb = malloc((size_t)nx * sizeof *yb);
            to_doubles(a[0], ya);
            to_doubles(a[1], yb);
            assert_near(ya, yb, nx, 1e-5, training ? "fused vs composed (training)" : "fused vs composed (inference)");
            free(ya);
            free(yb);
            tg_array_free(a[0]);
            tg_array_free(a[1]);
            tg_session_free(s);
            tg_graph_free(g);
        }
    free(xn);
    free(xl);
}
END_TEST

/* A shape known only at run time, fed twice with different channel counts
 * (the per-channel buffer grows). */
START_TEST(test_fused_run_time_shapes)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE_UNKNOWN, "x");
    tg_tensor *sc = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1), "scale");
    tg_tensor *of = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1), "offset");
    tg_tensor *y, *bv;
    TG_OPTS(tg_fused_batch_norm_opts, o, .data_format = TG_NCHW);
    ck_assert_int_eq(tg_nn_fused_batch_norm(g, x, sc, of, NULL, NULL, &o, &y, NULL, &bv), TG_OK);
    ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(-1, -1, -1, -1));
    tg_session *s = tg_session_new(g);
    for (int rep = 0; rep < 2; rep++) {
        dims4 d = rep ? (dims4){2, 3, 2, 6} : (dims4){3, 2, 2, 2};
        int64_t nx = count4(d);
        double *xn = malloc((size_t)nx * sizeof *xn), *xl = malloc((size_t)nx * sizeof *xl);
        double *want = malloc((size_t)nx * sizeof *want), *got = malloc((size_t)nx * sizeof *got);
        double scv[6], ofv[6], vu[6];
        fill(xn, nx, -1, 1, 41 + (unsigned)rep);
        fill(scv, d.c, 0.5, 1.5, 43);
        fill(ofv, d.c, -1, 1, 44);
        ref_bn(d, xn, scv, ofv, (double)0.001f, true, NULL, NULL, want, NULL, NULL, vu);
        nhwc_to(TG_NCHW, d, xn, xl);
        tg_array *xa = tg_array_new_from(TG_FLOAT64, 4, (int64_t[]){d.n, d.c, d.h, d.w}, xl);
        tg_array *sa = tg_array_new_from(TG_FLOAT64, 1, (int64_t[]){d.c}, scv);
        tg_array *oa = tg_array_new_from(TG_FLOAT64, 1, (int64_t[]){d.c}, ofv);
        tg_feed feeds[3] = {{x, xa}, {sc, sa}, {of, oa}};
        tg_tensor *f[2] = {y, bv};
        tg_array *a[2] = {NULL, NULL};
        ck_assert_int_eq(tg_session_run(s, feeds, 3, f, 2, a, NULL, 0), TG_OK);
        to_doubles(a[0], xl);
        to_nhwc(TG_NCHW, d, xl, got);
        assert_near(got, want, nx, 1e-12, "y");
        to_doubles(a[1], got);
        assert_near(got, vu, d.c, 1e-12, "batch_variance");
        tg_array_free(a[0]);
        tg_array_free(a[1]);
        tg_array_free(xa);
        tg_array_free(sa);
        tg_array_free(oa);
        free(xn);
        free(xl);
        free(want);
        free(got);
    }
    /* a 3-D value is refused when the op runs */
    tg_array *bad = tg_array_new(TG_FLOAT64, 3, (int64_t[]){2, 2, 2});
    tg_array *sa = tg_array_new(TG_FLOAT64, 1, (int64_t[]){2});
    tg_feed feeds[3] = {{x, bad}, {sc, sa}, {of, sa}};
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, feeds, 3, &y, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "input must be 4-dimensional");
    ck_assert_ptr_null(out);
    tg_array_free(bad);
    tg_array_free(sa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- names, shapes, errors ------------------------------------------------------ */

START_TEST(test_fused_names_and_shapes)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 4, 4, 3), "x");
    tg_tensor *sc = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3), "scale");
    tg_tensor *y, *m, *v;
    ck_assert_int_eq(tg_nn_fused_batch_norm(g, x, sc, sc, NULL, NULL, NULL, &y, &m, &v), TG_OK);
    tg_op *op = tg_tensor_op(y);
    ck_assert_str_eq(tg_op_name(op), "FusedBatchNormV3");
    ck_assert_str_eq(tg_op_type(op), "FusedBatchNormV3");
    ck_assert_int_eq(tg_op_num_outputs(op), 6);
    ck_assert_ptr_eq(tg_op_output(op, 1), m);
    ck_assert_ptr_eq(tg_op_output(op, 2), v);
    /* the empty mean and variance, as TF's constant([]) */
    ck_assert_str_eq(tg_op_name(tg_tensor_op(tg_op_input(op, 3))), "Const");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(tg_op_input(op, 4))), "Const_1");
    ck_assert_shape_eq(tg_tensor_shape(tg_op_input(op, 3)), TG_SHAPE(0));
    ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(-1, 4, 4, 3));
    ck_assert_shape_eq(tg_tensor_shape(m), TG_SHAPE(3));
    ck_assert_shape_eq(tg_tensor_shape(v), TG_SHAPE(3));
    tg_tensor *y2;
    ck_assert_int_eq(tg_nn_fused_batch_norm(g, x, sc, sc, NULL, NULL, NULL, &y2, NULL, NULL), TG_OK);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(y2)), "FusedBatchNormV3_1");
    /* NCHW with an unknown rank takes C from scale; a name */
    tg_tensor *xu = tg_placeholder(g, TG_FLOAT32, TG_SHAPE_UNKNOWN, "xu");
    TG_OPTS(tg_fused_batch_norm_opts, o, .name = "bn", .data_format = TG_NCHW, .is_training = false);
    ck_assert_int_eq(tg_nn_fused_batch_norm(g, xu, sc, sc, sc, sc, &o, &y, NULL, NULL), TG_OK);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(y)), "bn");
    ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(-1, 3, -1, -1));
    /* the gradient op under TF's name */
    tg_tensor *dx = NULL;
    ck_assert_int_eq(tg_gradients(g, &y2, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_str_eq(tg_op_type(tg_tensor_op(dx)), "FusedBatchNormGradV3");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(dx)), "gradients/FusedBatchNormV3_1_grad/FusedBatchNormGradV3");
    ck_assert_shape_eq(tg_tensor_shape(dx), TG_SHAPE(-1, 4, 4, 3));
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

/* A builder call that must fail with INVALID_ARGUMENT, a message containing
 * want, and no op added. */
#define EXPECT_FBN_ERROR(g, want, ...)                                                     \
    do {                                                                                   \
        int n0_ = tg_graph_num_ops(g);                                                     \
        tg_tensor *y_ = (tg_tensor *)1;                                                    \
        ck_assert_int_eq(tg_nn_fused_batch_norm(g, __VA_ARGS__, &y_, NULL, NULL), TG_INVALID_ARGUMENT); \
        ck_assert_ptr_null(y_);                                                            \
        ck_assert_str_contains(tg_graph_message(g), want);                                 \
        ck_assert_int_eq(tg_graph_num_ops(g), n0_);                                        \
        tg_graph_clear_status(g);                                                          \
    } while (0)

START_TEST(test_fused_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x4 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 2, 2, 3), "x4");
    tg_tensor *x2 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "x2");
    tg_tensor *c3 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3), "c3");
    tg_tensor *c2 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "c2");
    tg_tensor *d3 = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3), "d3");
    ck_assert_tg_ok(g);
    EXPECT_FBN_ERROR(g, "input must be 4-dimensional, not shape (4, 3)", x2, c3, c3, NULL, NULL, NULL);
    TG_OPTS(tg_fused_batch_norm_opts, f7, .data_format = (tg_data_format)7);
    EXPECT_FBN_ERROR(g, "Invalid data format", x4, c3, c3, NULL, NULL, &f7);
    TG_OPTS(tg_fused_batch_norm_opts, finv, .data_format = TG_DATA_FORMAT_INVALID);
    EXPECT_FBN_ERROR(g, "Invalid data format", x4, c3, c3, NULL, NULL, &finv);
    EXPECT_FBN_ERROR(g, "FusedBatchNormV3: Both 'mean' and 'variance' must be None if is_training is True.", x4, c3,
                     c3, c3, NULL, NULL);
    TG_OPTS(tg_fused_batch_norm_opts, inf, .is_training = false);
    EXPECT_FBN_ERROR(g, "estimated_mean must have the same number of elements as the channels of x, got 0 and 3", x4,
                     c3, c3, NULL, c3, &inf);
    EXPECT_FBN_ERROR(g, "estimated_variance must have the same number", x4, c3, c3, c3, NULL, &inf);
    EXPECT_FBN_ERROR(g, "scale must have the same number of elements as the channels of x, got 2 and 3", x4, c2, c3,
                     NULL, NULL, NULL);
    TG_OPTS(tg_fused_batch_norm_opts, infbn, .name = "bn", .is_training = false);
    EXPECT_FBN_ERROR(g, "bn: estimated_mean must have the same number of elements as the channels of x, got 2 and 3",
                     x4, c3, c3, c2, c3, &infbn);
    EXPECT_FBN_ERROR(g, "offset must have dtype float32 like the input, not float64", x4, c3, d3, NULL, NULL, NULL);
    EXPECT_FBN_ERROR(g, "scale must be 1-dimensional", x4, x2, c3, NULL, NULL, NULL);
    /* the string form reports TF's attr error */
    ck_assert_int_eq(tg_data_format_from_string(g, "NCDHW"), TG_DATA_FORMAT_INVALID);
    ck_assert_str_contains(tg_graph_message(g), "not in the list of allowed values");
    /* a graph in error: nothing is built, the first error stays */
    tg_tensor *y = (tg_tensor *)1;
    ck_assert_int_eq(tg_nn_fused_batch_norm(g, x4, c3, c3, NULL, NULL, NULL, &y, NULL, NULL), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(y);
    ck_assert_str_contains(tg_graph_message(g), "NCDHW");
    tg_graph_clear_status(g);
    /* NULL inputs */
    ck_assert_int_ne(tg_nn_fused_batch_norm(g, NULL, c3, c3, NULL, NULL, NULL, &y, NULL, NULL), TG_OK);
    tg_graph_free(g);
}
END_TEST

/* ---- gradients of FusedBatchNormV3 -------------------------------------------------- */

/* d(sum(w * y))/d(x, scale, offset) in float64 for one mode and format. */
static void grad_case(tg_data_format fmt, bool training, unsigned seed)
{
    dims4 d = {2, 2, 3, 2};
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, shape_in(fmt, d), "x");
    tg_tensor *sc = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2), "scale");
    tg_tensor *of = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2), "offset");
    double mv[2] = {0.3, -0.2}, vv[2] = {0.7, 1.4};
    tg_tensor *m = training ? NULL : tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), mv, "mean");
    tg_tensor *v = training ? NULL : tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), vv, "variance");
    tg_tensor *y;
    TG_OPTS(tg_fused_batch_norm_opts, o, .data_format = fmt, .is_training = training);
    ck_assert_int_eq(tg_nn_fused_batch_norm(g, x, sc, of, m, v, &o, &y, NULL, NULL), TG_OK);
    tg_array *vals[3] = {gc_random(shape_in(fmt, d), -2, 2, seed), gc_random(TG_SHAPE(2), 0.5, 1.5, seed + 1),
                         gc_random(TG_SHAPE(2), -1, 1, seed + 2)};
    tg_tensor *xs[3] = {x, sc, of};
    gc_check(g, y, xs, 3, vals, 1e-6);
    for (int i = 0; i < 3; i++) tg_array_free(vals[i]);
    tg_graph_free(g);
}

START_TEST(test_fused_gradient_training)
{
    grad_case(TG_NHWC, true, 51);
    grad_case(TG_NCHW, true, 52);
}
END_TEST

START_TEST(test_fused_gradient_inference)
{
    grad_case(TG_NHWC, false, 61);
    grad_case(TG_NCHW, false, 62);
}
END_TEST

/* Second derivatives: the outputs of FusedBatchNormGradV3 (dx, dscale) as
 * functions of x, scale and the incoming gradient u. */
static void grad_grad_case(tg_data_format fmt, bool training, int which, unsigned seed)
{
    dims4 d = {2, 2, 2, 3};
    tg_graph *g = tg_graph_new();
    tg_array *xv = gc_random(shape_in(fmt, d), -2, 2, seed), *sv = gc_random(TG_SHAPE(3), 0.5, 1.5, seed + 1);
    tg_array *uv = gc_random(shape_in(fmt, d), -1, 1, seed + 2);
    /* which input each output depends on: dx (training) all three, dx
     * (inference) scale and u (x is then a Const: the op still reads it),
     * dscale x and u (scale is then a Const) */
    bool x_free = which == 1 || training, s_free = which == 0;
    tg_tensor *x = x_free ? tg_placeholder(g, TG_FLOAT64, shape_in(fmt, d), "x") : tg_constant(g, xv, "x");
    tg_tensor *sc = s_free ? tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3), "scale") : tg_constant(g, sv, "scale");
    tg_tensor *u = tg_placeholder(g, TG_FLOAT64, shape_in(fmt, d), "u");
    double ov[3] = {0.1, -0.3, 0.2}, mv[3] = {0.3, -0.2, 0.1}, vv[3] = {0.7, 1.4, 0.9};
    tg_tensor *of = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), ov, "offset");
    tg_tensor *m = training ? NULL : tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), mv, "mean");
    tg_tensor *v = training ? NULL : tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), vv, "variance");
    tg_tensor *y, *dd[2];
    TG_OPTS(tg_fused_batch_norm_opts, o, .data_format = fmt, .is_training = training);
    ck_assert_int_eq(tg_nn_fused_batch_norm(g, x, sc, of, m, v, &o, &y, NULL, NULL), TG_OK);
    tg_tensor *wrt[2] = {x, sc};
    ck_assert_int_eq(tg_gradients(g, &y, 1, wrt, 2, dd, &(tg_gradients_opts){.grad_ys = &u}), TG_OK);
    ck_assert_str_eq(tg_op_type(tg_tensor_op(dd[0])), "FusedBatchNormGradV3");
    tg_tensor *xs[3];
    tg_array *vals[3];
    int n = 0;
    if (x_free) xs[n] = x, vals[n++] = xv;
    if (s_free) xs[n] = sc, vals[n++] = sv;
    xs[n] = u, vals[n++] = uv;
    gc_check(g, dd[which], xs, n, vals, 1e-6);
    tg_array_free(xv);
    tg_array_free(sv);
    tg_array_free(uv);
    tg_graph_free(g);
}

START_TEST(test_fused_gradient_of_gradient)
{
    for (int f = 0; f < 2; f++)
        for (int training = 0; training < 2; training++)
            for (int which = 0; which < 2; which++)
                grad_grad_case(FORMATS[f], training, which, 70 + (unsigned)(f * 4 + training * 2 + which));
}
END_TEST

/* ---- tf.nn.batch_normalization --------------------------------------------------------- */

static void assert_op(tg_graph *g, const char *name, const char *type)
{
    tg_op *op = tg_graph_op(g, name);
    ck_assert_msg(op != NULL, "no op named %s", name);
    ck_assert_str_eq(tg_op_type(op), type);
}

START_TEST(test_batch_normalization)
{
    double xv[6] = {1, -2, 3, 0.5, 4, -1}, mv[3] = {0.5, 1, -1}, vv[3] = {1, 4, 0.25}, ov[3] = {0.1, 0.2, 0.3},
           sv[3] = {2, 0.5, -1};
    for (int variant = 0; variant < 4; variant++) {
        bool with_offset = variant & 1, with_scale = variant & 2;
        tg_graph *g = tg_graph_new();
        tg_tensor *x = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2, 3), xv, "x");
        tg_tensor *m = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), mv, "m");
        tg_tensor *v = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), vv, "v");
        tg_tensor *o = with_offset ? tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), ov, "o") : NULL;
        tg_tensor *s = with_scale ? tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), sv, "s") : NULL;
        tg_tensor *y = tg_nn_batch_normalization(g, x, m, v, o, s, 0.001, NULL);
        ck_assert_tg_ok(g);
        ck_assert_str_eq(tg_tensor_name(y), "batchnorm/add_1:0");
        assert_op(g, "batchnorm/add", "Add");
        assert_op(g, "batchnorm/add/y", "Const");
        assert_op(g, "batchnorm/Rsqrt", "Rsqrt");
        assert_op(g, "batchnorm/add_1", "Add");
        if (with_scale) assert_op(g, "batchnorm/mul", "Mul"); /* inv * scale */
        const char *xmul = with_scale ? "batchnorm/mul_1" : "batchnorm/mul";
        const char *mmul = with_scale ? "batchnorm/mul_2" : "batchnorm/mul_1";
        ck_assert_ptr_eq(tg_op_input(tg_graph_op(g, xmul), 0), x);
        assert_op(g, mmul, "Mul");
        if (with_offset) assert_op(g, "batchnorm/sub", "Sub");
        else assert_op(g, "batchnorm/Neg", "Neg");
        ck_assert_ptr_null(tg_graph_op(g, with_scale ? "batchnorm/mul_3" : "batchnorm/mul_2"));
        double want[6];
        for (int i = 0; i < 6; i++) {
            int k = i % 3;
            double inv = 1 / sqrt(vv[k] + 0.001) * (with_scale ? sv[k] : 1);
            want[i] = xv[i] * inv + ((with_offset ? ov[k] : 0) - mv[k] * inv);
        }
        tg_array *a = tgc_eval(g, y);
        ck_assert_array(a, TG_FLOAT64, TG_SHAPE(2, 3), want, 1e-12);
        tg_array_free(a);
        /* a second call gets its own scope; a name replaces "batchnorm" */
        tg_tensor *y2 = tg_nn_batch_normalization(g, x, m, v, o, s, 0.001, NULL);
        ck_assert_str_eq(tg_tensor_name(y2), "batchnorm_1/add_1:0");
        tg_tensor *y3 = tg_nn_batch_normalization(g, x, m, v, o, s, 0.001, "bn");
        ck_assert_str_eq(tg_tensor_name(y3), "bn/add_1:0");
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(test_batch_normalization_gradient)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *xs[5];
    const char *names[5] = {"x", "mean", "variance", "offset", "scale"};
    tg_shape shapes[5] = {TG_SHAPE(3, 2), TG_SHAPE(2), TG_SHAPE(2), TG_SHAPE(2), TG_SHAPE(2)};
    for (int i = 0; i < 5; i++) xs[i] = tg_placeholder(g, TG_FLOAT64, shapes[i], names[i]);
    tg_tensor *y = tg_nn_batch_normalization(g, xs[0], xs[1], xs[2], xs[3], xs[4], 0.01, NULL);
    tg_array *vals[5];
    for (int i = 0; i < 5; i++) vals[i] = gc_random(shapes[i], i == 2 ? 0.5 : -1, 1.5, 80 + (unsigned)i);
    gc_check(g, y, xs, 5, vals, 1e-6);
    for (int i = 0; i < 5; i++) tg_array_free(vals[i]);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_batch_normalization_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 3), "x");
    tg_tensor *c3 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3), "c3");
    tg_tensor *c4 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4), "c4");
    tg_tensor *d3 = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3), "d3");
    tg_tensor *i3 = tg_placeholder(g, TG_INT32, TG_SHAPE(3), "i3");
    int n0 = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_nn_batch_normalization(g, x, c3, d3, NULL, NULL, 0.001, NULL));
    ck_assert_str_contains(tg_graph_message(g), "batchnorm: variance has dtype float64, but x has float32");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_nn_batch_normalization(g, x, c3, c3, c4, NULL, 0.001, NULL));
    ck_assert_str_contains(tg_graph_message(g), "do not broadcast");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_nn_batch_normalization(g, i3, i3, i3, NULL, NULL, 0.001, "bn"));
    ck_assert_str_contains(tg_graph_message(g), "bn: x must be float32 or float64");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_nn_batch_normalization(g, x, NULL, c3, NULL, NULL, 0.001, NULL));
    ck_assert_int_eq(tg_graph_num_ops(g), n0);
    tg_graph_free(g);
}
END_TEST

/* ---- BatchNormWithGlobalNormalization ------------------------------------------------- */

START_TEST(test_bngn_values)
{
    dims4 d = {2, 2, 3, 3};
    int64_t nx = count4(d);
    double *t = malloc((size_t)nx * sizeof *t), *want = malloc((size_t)nx * sizeof *want);
    double m[3], v[3], beta[3], gamma[3], ones[3] = {1, 1, 1};
    fill(t, nx, -2, 2, 91);
    fill(m, 3, -0.5, 0.5, 92);
    fill(v, 3, 0.3, 2, 93);
    fill(beta, 3, -1, 1, 94);
    fill(gamma, 3, 0.5, 2, 95);
    for (int scale_after = 0; scale_after < 2; scale_after++)
        for (int t_ = 0; t_ < 2; t_++) {
            tg_dtype dt = DTYPES[t_];
            ref_bn(d, t, scale_after ? gamma : ones, beta, (double)0.001f, false, m, v, want, NULL, NULL, NULL);
            tg_graph *g = tg_graph_new();
            tg_tensor *tt = konst(g, dt, TG_SHAPE(2, 2, 3, 3), t, "t");
            tg_tensor *in[4];
            const double *p[4] = {m, v, beta, gamma};
            for (int i = 0; i < 4; i++) in[i] = konst(g, dt, TG_SHAPE(3), p[i], NULL);
            tg_tensor *y = tg_nn_batch_norm_with_global_normalization(g, tt, in[0], in[1], in[2], in[3], 0.001,
                                                                      scale_after, NULL);
            ck_assert_tg_ok(g);
            ck_assert_str_eq(tg_tensor_name(y), "BatchNormWithGlobalNormalization:0");
            ck_assert_shape_eq(tg_tensor_shape(y), TG_SHAPE(2, 2, 3, 3));
            /* the same as batch_normalization with gamma only when scaling */
            tg_tensor *comp =
                tg_nn_batch_normalization(g, tt, in[0], in[1], in[2], scale_after ? in[3] : NULL, (double)0.001f, NULL);
            tg_session *s = tg_session_new(g);
            tg_tensor *f[2] = {y, comp};
            tg_array *a[2] = {NULL, NULL};
            ck_assert_int_eq(tg_session_run(s, NULL, 0, f, 2, a, NULL, 0), TG_OK);
            double *got = malloc((size_t)nx * sizeof *got), *got2 = malloc((size_t)nx * sizeof *got2);
            to_doubles(a[0], got);
            to_doubles(a[1], got2);
            double tol = dt == TG_FLOAT32 ? 2e-6 : 1e-12;
            assert_near(got, want, nx, tol, "batch_norm_with_global_normalization");
            assert_near(got, got2, nx, 1e-5, "legacy op vs batch_normalization");
            free(got);
            free(got2);
            tg_array_free(a[0]);
            tg_array_free(a[1]);
            tg_session_free(s);
            tg_graph_free(g);
        }
    free(t);
    free(want);
}
END_TEST

START_TEST(test_bngn_gradient)
{
    for (int scale_after = 0; scale_after < 2; scale_after++) {
        tg_graph *g = tg_graph_new();
        tg_shape shapes[5] = {TG_SHAPE(2, 2, 2, 3), TG_SHAPE(3), TG_SHAPE(3), TG_SHAPE(3), TG_SHAPE(3)};
        const char *names[5] = {"t", "m", "v", "beta", "gamma"};
        tg_tensor *xs[5];
        for (int i = 0; i < 5; i++) xs[i] = tg_placeholder(g, TG_FLOAT64, shapes[i], names[i]);
        tg_tensor *y = tg_nn_batch_norm_with_global_normalization(g, xs[0], xs[1], xs[2], xs[3], xs[4], 0.01,
                                                                  scale_after, "bn");
        ck_assert_tg_ok(g);
        tg_array *vals[5];
        for (int i = 0; i < 5; i++) vals[i] = gc_random(shapes[i], i == 2 ? 0.5 : -1.5, 1.5, 100 + (unsigned)i);
        /* without scaling gamma gets zeros, which the check confirms too */
        gc_check(g, y, xs, 5, vals, 1e-6);
        for (int i = 0; i < 5; i++) tg_array_free(vals[i]);
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(test_bngn_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *t2 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "t2");
    tg_tensor *t4 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(1, 2, 2, 3), "t4");
    tg_tensor *c3 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3), "c3");
    tg_tensor *c2 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "c2");
    tg_tensor *d3 = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3), "d3");
    int n0 = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_nn_batch_norm_with_global_normalization(g, t4, c3, c2, c3, c3, 0.001, true, "bn"));
    ck_assert_str_contains(tg_graph_message(g), "bn: var must have the same number of elements as the channels");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_nn_batch_norm_with_global_normalization(g, t4, c3, c3, d3, c3, 0.001, false, NULL));
    ck_assert_str_contains(tg_graph_message(g), "beta must have dtype float32");
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n0);
    /* other ranks compose batch_normalization, as TF 1.15's function does
     * (values: test_ops_tf15) */
    ck_assert_ptr_nonnull(tg_nn_batch_norm_with_global_normalization(g, t2, c3, c3, c3, c3, 0.001, true, NULL));
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

static Suite *batch_norm_suite(void)
{
    Suite *s = suite_create("nn_batch_norm");
    TCase *tc = tcase_create("fused");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_fused_hand_cases);
    tcase_add_test(tc, test_fused_training_reference);
    tcase_add_test(tc, test_fused_inference_reference);
    tcase_add_test(tc, test_fused_matches_composed);
    tcase_add_test(tc, test_fused_run_time_shapes);
    tcase_add_test(tc, test_fused_names_and_shapes);
    tcase_add_test(tc, test_fused_errors);
    tcase_add_test(tc, test_fused_gradient_training);
    tcase_add_test(tc, test_fused_gradient_inference);
    tcase_add_test(tc, test_fused_gradient_of_gradient);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("composed_and_legacy");
    tcase_set_timeout(tb, TGC_TIMEOUT);
    tcase_add_test(tb, test_batch_normalization);
    tcase_add_test(tb, test_batch_normalization_gradient);
    tcase_add_test(tb, test_batch_normalization_errors);
    tcase_add_test(tb, test_bngn_values);
    tcase_add_test(tb, test_bngn_gradient);
    tcase_add_test(tb, test_bngn_errors);
    suite_add_tcase(s, tb);
    return s;
}

TGC_MAIN(batch_norm_suite)
