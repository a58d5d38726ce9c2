/* test_tf_layers_batch_norm.c: tf.layers.BatchNormalization, its functional
 * form and tf.compat.v1.keras.layers.BatchNormalization against NumPy-style
 * reference loops written here: outputs in training and inference, moving
 * statistics after several steps (Bessel-corrected variance on the fused
 * path, biased on the non-fused one), NHWC vs NCHW, fused vs non-fused,
 * ghost batches, batch renormalization with clipping, multi-axis variables,
 * names, collections and the Layer API, reuse, a run-time training tensor
 * (values, and which update ops a run executes, from its trace), and
 * gradients checked against finite differences. */
#include "gradcheck.h"

/* ---- helpers ------------------------------------------------------------------------ */

static int coll(const tg_graph *g, const char *key) { return tg_get_collection(g, key, NULL, NULL); }
static const char *op_name(const tg_tensor *t) { return tg_op_name(tg_tensor_op(t)); }

static void expect_graph_error(tg_graph *g, tg_code code, const char *text) {
    ck_assert_tg_code(g, code);
    ck_assert_str_contains(tg_graph_message(g), text);
    tg_graph_clear_status(g);
}

static int count_ops(const tg_graph *g, const char *type) {
    int n = 0;
    for (int i = 0; i < tg_graph_num_ops(g); i++) n += strcmp(tg_op_type(tg_graph_op_at(g, i)), type) == 0;
    return n;
}

static tg_variable *weight(const tg_layer *l, int i) {
    tg_variable *const *w = NULL;
    int n = tg_layer_weights(l, &w);
    ck_assert_int_gt(n, i);
    return w[i];
}

/* Deterministic data in [lo, hi). */
static void fill(double *v, int64_t n, unsigned seed, double lo, double hi) {
    seed = seed * 2654435761u + 12345u;
    for (int64_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        v[i] = lo + (hi - lo) * (double)(seed % 100003) / 100003.0;
    }
}

static tg_array *arr(tg_dtype dt, tg_shape s, const double *v) {
    tg_array *a = tg_array_new(dt, s.rank, s.dims);
    ck_assert_ptr_nonnull(a);
    for (int64_t i = 0; i < tg_array_size(a); i++) {
        if (dt == TG_FLOAT64) ((double *)tg_array_data(a))[i] = v[i];
        else ((float *)tg_array_data(a))[i] = (float)v[i];
    }
    return a;
}

static int64_t numel(tg_shape s) { return tg_shape_num_elements(&s); }

/* |got - want| <= tol * max(1, |want|) elementwise. */
static void check_values(const tg_array *a, const double *want, int64_t n, double tol, const char *what) {
    ck_assert_int_eq(tg_array_size(a), n);
    for (int64_t i = 0; i < n; i++) {
        double got = tg_array_get(a, i), w = want[i];
        double scale = fabs(w) > 1 ? fabs(w) : 1;
        ck_assert_msg(fabs(got - w) <= tol * scale, "%s[%lld] = %.9g, want %.9g", what, (long long)i, got, w);
    }
}

static tg_array *fetch(tg_session *s, tg_tensor *t, tg_feed *feeds, int nf) { return tgc_fetch(s, t, feeds, nf); }

/* Runs ops[0..n) as targets with the feeds. */
static void run_ops(tg_session *s, tg_op *const *ops, int n, const tg_feed *feeds, int nf) {
    tg_code rc = tg_session_run(s, feeds, nf, NULL, 0, NULL, ops, n);
    ck_assert_msg(rc == TG_OK, "run: %s", tg_session_message(s));
}

/* The variable's value, as doubles into out (n elements). */
static void read_var(tg_session *s, tg_variable *v, double *out) {
    tg_array *a = fetch(s, tg_variable_value(v), NULL, 0);
    for (int64_t i = 0; i < tg_array_size(a); i++) out[i] = tg_array_get(a, i);
    tg_array_free(a);
}

static void check_var(tg_session *s, tg_variable *v, const double *want, double tol) {
    tg_array *a = fetch(s, tg_variable_value(v), NULL, 0);
    check_values(a, want, tg_array_size(a), tol, tg_variable_name(v));
    tg_array_free(a);
}

static tg_session *init_session(tg_graph *g) {
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    return s;
}

/* Sets v to vals in s (an Assign built now). */
static void set_var(tg_graph *g, tg_session *s, tg_variable *v, const double *vals) {
    tg_shape sh = tg_variable_shape(v);
    tg_array *a = arr(tg_variable_dtype(v), sh, vals);
    tg_tensor *c = tg_constant(g, a, NULL);
    tg_array_free(a);
    tg_tensor *as = tg_assign(g, tg_variable_ref(v), c, NULL);
    ck_assert_tg_ok(g);
    tgc_run_target(s, tg_tensor_op(as));
}

/* ---- reference loops -------------------------------------------------------------- */

/* The channel of flat element i: its coordinates along the flagged axes,
 * flattened row-major. */
static int64_t chan_of(int64_t i, const int64_t *dims, int rank, const bool *is_axis) {
    int64_t c = 0, stride = 1;
    for (int k = rank - 1; k >= 0; k--) {
        int64_t coord = i % dims[k];
        i /= dims[k];
        if (is_axis[k]) {
            c += coord * stride;
            stride *= dims[k];
        }
    }
    return c;
}

/* Batch mean and BIASED variance per channel; returns the count per channel. */
static int64_t ref_moments(const double *x, const int64_t *dims, int rank, const bool *is_axis, double *mean,
                           double *var) {
    int64_t n = 1, nc = 1;
    for (int k = 0; k < rank; k++) {
        n *= dims[k];
        if (is_axis[k]) nc *= dims[k];
    }
    double *cnt = calloc((size_t)nc, sizeof *cnt);
    for (int64_t c = 0; c < nc; c++) mean[c] = var[c] = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = chan_of(i, dims, rank, is_axis);
        mean[c] += x[i];
        cnt[c] += 1;
    }
    for (int64_t c = 0; c < nc; c++) mean[c] /= cnt[c];
    for (int64_t i = 0; i < n; i++) {
        int64_t c = chan_of(i, dims, rank, is_axis);
        var[c] += (x[i] - mean[c]) * (x[i] - mean[c]);
    }
    for (int64_t c = 0; c < nc; c++) var[c] /= cnt[c];
    int64_t per = (int64_t)cnt[0];
    free(cnt);
    return per;
}

/* y = (x - mean) / sqrt(var + eps) * gamma + beta per channel (gamma/beta
 * NULL: 1/0). */
static void ref_normalize(const double *x, const int64_t *dims, int rank, const bool *is_axis, const double *mean,
                          const double *var, const double *gamma, const double *beta, double eps, double *y) {
    int64_t n = 1;
    for (int k = 0; k < rank; k++) n *= dims[k];
    for (int64_t i = 0; i < n; i++) {
        int64_t c = chan_of(i, dims, rank, is_axis);
        y[i] = (x[i] - mean[c]) / sqrt(var[c] + eps) * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
    }
}

static const bool LAST2[] = {false, true};
static const bool NHWC[] = {false, false, false, true};
static const bool NCHW[] = {false, true, false, false};

/* NHWC [N,H,W,C] data transposed to NCHW [N,C,H,W]. */
static void to_nchw(const double *x, int64_t N, int64_t H, int64_t W, int64_t C, double *out) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t w = 0; w < W; w++)
                for (int64_t c = 0; c < C; c++) out[((n * C + c) * H + h) * W + w] = x[((n * H + h) * W + w) * C + c];
}

/* ---- names, collections and the Layer API --------------------------------------------- */

START_TEST(test_names_collections_and_updates)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x1 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3), "x1");
    tg_tensor *x2 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3), "x2");
    TG_OPTS(tg_layer_call_opts, call_tr, .training = TG_OPT_TRUE);
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, NULL);
    ck_assert_str_eq(tg_layer_name(l), "batch_normalization_1");
    int64_t count = 0;
    ck_assert_int_eq(tg_layer_count_params(l, &count), TG_FAILED_PRECONDITION);
    ck_assert_str_contains(tg_layer_message(l), "You tried to call `count_params` on batch_normalization_1");
    tg_tensor *y1 = tg_layer_call(l, x1, &call_tr);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_layer_scope_name(l), "batch_normalization");
    ck_assert_str_eq(op_name(y1), "batch_normalization/batchnorm/add_1");
    ck_assert_ptr_nonnull(tg_graph_op(g, "batch_normalization/moments/mean"));
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), 0);

    /* gamma before beta, then the moving statistics */
    const char *names[] = {"batch_normalization/gamma", "batch_normalization/beta", "batch_normalization/moving_mean",
                           "batch_normalization/moving_variance"};
    ck_assert_int_eq(tg_layer_weights(l, NULL), 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(tg_variable_name(weight(l, i)), names[i]);
        ck_assert_shape_eq(tg_variable_shape(weight(l, i)), TG_SHAPE(3));
        ck_assert_int_eq(tg_variable_trainable(weight(l, i)), i < 2);
    }
    tg_variable *const *tw = NULL, *const *ntw = NULL;
    ck_assert_int_eq(tg_layer_trainable_weights(l, &tw), 2);
    ck_assert_str_eq(tg_variable_name(tw[0]), names[0]);
    ck_assert_int_eq(tg_layer_non_trainable_weights(l, &ntw), 2);
    ck_assert_str_eq(tg_variable_name(ntw[0]), names[2]);
    ck_assert_str_eq(tg_variable_name(ntw[1]), names[3]);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 4);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 2);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_MODEL_VARIABLES), 0);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES), 0);
    ck_assert_int_eq(tg_layer_count_params(l, &count), TG_OK);
    ck_assert_int_eq(count, 12);

    /* two update ops, mean first, in layer.updates and UPDATE_OPS */
    tg_op *const *ups = NULL;
    ck_assert_int_eq(tg_layer_updates(l, &ups), 2);
    ck_assert_str_eq(tg_op_name(ups[0]), "batch_normalization/AssignMovingAvg");
    ck_assert_str_eq(tg_op_name(ups[1]), "batch_normalization/AssignMovingAvg_1");
    tg_op **uo = NULL;
    ck_assert_int_eq(tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &uo), 2);
    ck_assert_ptr_eq(uo[0], ups[0]);
    ck_assert_ptr_eq(uo[1], ups[1]);
    tg_free(uo);

    /* applied to a second input: two more, found per input */
    tg_layer_call(l, x2, &call_tr);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_layer_updates(l, &ups), 4);
    /* a built layer re-enters its first name scope (TF 1.15's original_name_scope) */
    ck_assert_str_eq(tg_op_name(ups[2]), "batch_normalization/AssignMovingAvg_2");
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 4);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 4);
    tg_op **got = NULL;
    ck_assert_int_eq(tg_layer_get_updates_for(l, &x1, 1, &got), 2);
    ck_assert_ptr_eq(got[0], ups[0]);
    ck_assert_ptr_eq(got[1], ups[1]);
    tg_free(got);
    ck_assert_int_eq(tg_layer_get_updates_for(l, &x2, 1, &got), 2);
    ck_assert_ptr_eq(got[0], ups[2]);
    ck_assert_ptr_eq(got[1], ups[3]);
    tg_free(got);
    ck_assert_int_eq(tg_layer_get_updates_for(l, NULL, 0, &got), 0);
    ck_assert_int_eq(tg_layer_num_inbound_nodes(l), 2);

    /* a static training=False apply (tf.layers' default) adds no update */
    tg_tensor *yi = tg_layer_apply(l, x1, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_layer_updates(l, NULL), 4);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 4);
    ck_assert_str_eq(op_name(yi), "batch_normalization/batchnorm_2/add_1");
    ck_assert_ptr_null(tg_graph_op(g, "batch_normalization/moments_2/mean"));

    /* a second layer gets the next scope */
    tg_layer *l2 = tg_tf_layers_batch_normalization_new(g, NULL);
    ck_assert_str_eq(tg_layer_name(l2), "batch_normalization_2");
    tg_layer_apply(l2, x1, NULL);
    ck_assert_str_eq(tg_layer_scope_name(l2), "batch_normalization_1");
    ck_assert_ptr_nonnull(tg_graph_variable(g, "batch_normalization_1/moving_variance"));
    tg_layer_free(l2);
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_not_trainable_center_scale_off)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2, 2, 3), "x");
    TG_OPTS(tg_layer_call_opts, call_tr, .training = TG_OPT_TRUE);
    TG_OPTS(tg_tf_layers_batch_norm_opts, nt, .trainable = false);
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &nt);
    tg_tensor *y = tg_layer_call(l, x, &call_tr);
    ck_assert_ptr_nonnull(y);
    ck_assert_tg_ok(g);
    /* the variables are all non-trainable; no update is exposed (TF) */
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 0);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 4);
    ck_assert_int_eq(tg_layer_trainable_weights(l, NULL), 0);
    tg_variable *const *ntw = NULL;
    ck_assert_int_eq(tg_layer_non_trainable_weights(l, &ntw), 4);
    ck_assert_str_eq(tg_variable_name(ntw[0]), "batch_normalization/gamma");
    ck_assert_int_eq(tg_layer_updates(l, NULL), 0);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 0);
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), 1); /* still normalized with batch statistics */
    tg_layer_free(l);

    /* center/scale off: only the moving statistics; the fused path uses
     * constants in their place */
    TG_OPTS(tg_tf_layers_batch_norm_opts, ncs, .center = false, .scale = false);
    tg_layer *l2 = tg_tf_layers_batch_normalization_new(g, &ncs);
    tg_tensor *y2 = tg_layer_call(l2, x, &call_tr);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_layer_weights(l2, NULL), 2);
    ck_assert_str_eq(tg_variable_name(weight(l2, 0)), "batch_normalization_1/moving_mean");
    int64_t count = 0;
    ck_assert_int_eq(tg_layer_count_params(l2, &count), TG_OK);
    ck_assert_int_eq(count, 6);
    ck_assert_int_eq(tg_layer_updates(l2, NULL), 2);
    tg_session *s = init_session(g);
    double xv[24], want[24], m[3], v[3];
    fill(xv, 24, 7, -2, 3);
    tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(2, 2, 2, 3), xv);
    tg_feed f = {x, xa};
    ref_moments(xv, (int64_t[]){2, 2, 2, 3}, 4, NHWC, m, v);
    ref_normalize(xv, (int64_t[]){2, 2, 2, 3}, 4, NHWC, m, v, NULL, NULL, 1e-3, want);
    tg_array *ya = fetch(s, y2, &f, 1);
    check_values(ya, want, 24, 2e-5, "y");
    tg_array_free(ya);
    tg_array_free(xa);
    tg_session_free(s);
    tg_layer_free(l2);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_build_errors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x4 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2, 2, 3), "x4");
    struct {
        int axis[3], n;
        const char *msg;
    } cases[] = {
        {{1, 4}, 2, "Invalid axis: 4"},
        {{-5, 1}, 2, "Invalid axis: -1"},
        {{1, 2, 1}, 3, "Duplicate axis: [1, 2, 1]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TG_OPTS(tg_tf_layers_batch_norm_opts, o, .n_axis = cases[i].n);
        memcpy(o.axis, cases[i].axis, sizeof cases[i].axis);
        tg_layer *l = tg_tf_layers_batch_normalization_new(g, &o);
        ck_assert_ptr_null(tg_layer_apply(l, x4, NULL));
        expect_graph_error(g, TG_INVALID_ARGUMENT, cases[i].msg);
        ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 0);
        tg_layer_free(l);
    }
    tg_tensor *unknown = tg_placeholder(g, TG_FLOAT32, TG_SHAPE_UNKNOWN, "u");
    ck_assert_ptr_null(tg_tf_layers_batch_normalization(g, unknown, NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Input has undefined rank: None");
    tg_tensor *nochan = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, -1), "nochan");
    ck_assert_ptr_null(tg_tf_layers_batch_normalization(g, nochan, NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Input has undefined `axis` dimension. Input shape: [4, None]");
    tg_tensor *xi = tg_placeholder(g, TG_INT32, TG_SHAPE(4, 3), "xi");
    ck_assert_ptr_null(tg_tf_layers_batch_normalization(g, xi, NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "floating point");
    /* virtual batch errors */
    TG_OPTS(tg_tf_layers_batch_norm_opts, vneg, .virtual_batch_size = -2);
    ck_assert_ptr_null(tg_tf_layers_batch_normalization(g, x4, &vneg));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "virtual_batch_size must be a positive integer");
    TG_OPTS(tg_tf_layers_batch_norm_opts, vax0, .virtual_batch_size = 2, .axis = {0}, .n_axis = 1);
    ck_assert_ptr_null(tg_tf_layers_batch_normalization(g, x4, &vax0));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "the batch dimension must be 0 and thus axis cannot include 0");
    /* the training tensor must be a bool scalar */
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, NULL);
    tg_tensor *bad = tg_placeholder(g, TG_INT32, TG_SCALAR, "bad");
    ck_assert_ptr_null(tg_layer_apply(l, x4, bad));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "training must be a bool scalar tensor");
    /* the input spec after build */
    ck_assert_ptr_nonnull(tg_layer_apply(l, x4, NULL));
    tg_tensor *x5 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2, 2, 5), "x5");
    ck_assert_ptr_null(tg_layer_apply(l, x5, NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "expected axis 3 of input shape to have value 3");
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

/* axis[] and n_axis written the natural ways: the INIT default is TF's
 * axis=-1 as {-1} with n_axis 1, so `.axis = {1}` alone is axis=1; axes
 * beyond n_axis would be dropped silently, so they are refused naming both
 * fields; n_axis 0 is axis=-1 only when axis[] is all zeros. */
START_TEST(test_axis_spellings)
{
    tg_tf_layers_batch_norm_opts d = TG_TF_LAYERS_BATCH_NORM_OPTS_INIT;
    ck_assert_int_eq(d.n_axis, 1);
    ck_assert_int_eq(d.axis[0], -1);
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3, 4), "x");
    TG_OPTS(tg_tf_layers_batch_norm_opts, a1, .axis = {1});
    TG_OPTS(tg_tf_layers_batch_norm_opts, a12, .axis = {1, 2}, .n_axis = 2);
    TG_OPTS(tg_tf_layers_batch_norm_opts, zeros, .n_axis = 0);
    memset(zeros.axis, 0, sizeof zeros.axis);
    struct {
        const tg_tf_layers_batch_norm_opts *o;
        tg_shape want;
    } good[] = {{&a1, TG_SHAPE(3)}, {&a12, TG_SHAPE(1, 3, 4)}, {&zeros, TG_SHAPE(4)}, {NULL, TG_SHAPE(4)}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        tg_layer *l = tg_tf_layers_batch_normalization_new(g, good[i].o);
        ck_assert_ptr_nonnull(tg_layer_apply(l, x, NULL));
        ck_assert_tg_ok(g);
        ck_assert_shape_eq(tg_variable_shape(weight(l, 0)), good[i].want);
        tg_layer_free(l);
        l = tg_keras_layers_batch_normalization_new(g, good[i].o);
        ck_assert_ptr_nonnull(tg_layer_apply(l, x, NULL));
        ck_assert_tg_ok(g);
        ck_assert_shape_eq(tg_variable_shape(weight(l, 0)), good[i].want);
        tg_layer_free(l);
    }

    TG_OPTS(tg_tf_layers_batch_norm_opts, two_one, .axis = {1, 2});
    TG_OPTS(tg_tf_layers_batch_norm_opts, n0, .n_axis = 0);
    TG_OPTS(tg_tf_layers_batch_norm_opts, late, .n_axis = 0);
    memset(late.axis, 0, sizeof late.axis);
    late.axis[TG_MAX_RANK - 1] = 2;
    TG_OPTS(tg_tf_layers_batch_norm_opts, fused_two, .axis = {1, 3}, .fused = TG_OPT_TRUE);
    struct {
        const tg_tf_layers_batch_norm_opts *o;
        int n;
    } bad[] = {{&two_one, 1}, {&n0, 0}, {&late, 0}, {&fused_two, 1}};
    int n_ops = tg_graph_num_ops(g), n_vars = coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[160];
        snprintf(msg, sizeof msg, "option 'axis' has entries beyond n_axis (%d); set n_axis", bad[i].n);
        ck_assert_ptr_null(tg_tf_layers_batch_normalization_new(g, bad[i].o));
        expect_graph_error(g, TG_INVALID_ARGUMENT, msg);
        ck_assert_ptr_null(tg_keras_layers_batch_normalization_new(g, bad[i].o));
        expect_graph_error(g, TG_INVALID_ARGUMENT, msg);
        ck_assert_ptr_null(tg_tf_layers_batch_normalization(g, x, bad[i].o));
        expect_graph_error(g, TG_INVALID_ARGUMENT, msg);
    }
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), n_vars);
    tg_graph_free(g);
}
END_TEST

/* TF's BatchNormalization(training=...) is a TypeError: training belongs to
 * the call. The class constructors refuse the functional form's fields
 * instead of dropping them (Keras also has no reuse). */
START_TEST(test_constructor_refuses_functional_fields)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *flag = tg_placeholder(g, TG_BOOL, TG_SCALAR, "flag");
    TG_OPTS(tg_tf_layers_batch_norm_opts, tr, .training = true);
    TG_OPTS(tg_tf_layers_batch_norm_opts, trt, .training_t = flag);
    TG_OPTS(tg_tf_layers_batch_norm_opts, reuse, .reuse = TG_REUSE_TRUE);
    TG_OPTS(tg_tf_layers_batch_norm_opts, auto_reuse, .reuse = TG_AUTO_REUSE);
    int n_ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_tf_layers_batch_normalization_new(g, &tr));
    expect_graph_error(g, TG_INVALID_ARGUMENT,
                       "tg_tf_layers_batch_normalization_new: option 'training' is the functional form's; pass "
                       "training when applying the layer (tg_layer_call)");
    ck_assert_ptr_null(tg_tf_layers_batch_normalization_new(g, &trt));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "tg_tf_layers_batch_normalization_new: option 'training_t'");
    ck_assert_ptr_null(tg_keras_layers_batch_normalization_new(g, &tr));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "tg_keras_layers_batch_normalization_new: option 'training' is");
    ck_assert_ptr_null(tg_keras_layers_batch_normalization_new(g, &trt));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "tg_keras_layers_batch_normalization_new: option 'training_t'");
    ck_assert_ptr_null(tg_keras_layers_batch_normalization_new(g, &reuse));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "tg_keras_layers_batch_normalization_new: option 'reuse'");
    ck_assert_ptr_null(tg_keras_layers_batch_normalization_new(g, &auto_reuse));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "tg_keras_layers_batch_normalization_new: option 'reuse'");
    ck_assert_int_eq(tg_graph_num_ops(g), n_ops);
    /* the defaults, spelled out, are accepted; tf.layers' class takes reuse
     * as TF's _reuse */
    TG_OPTS(tg_tf_layers_batch_norm_opts, plain, .training = false, .training_t = NULL, .reuse = TG_REUSE_INHERIT);
    tg_layer *l = tg_keras_layers_batch_normalization_new(g, &plain);
    ck_assert_ptr_nonnull(l);
    tg_layer_free(l);
    l = tg_tf_layers_batch_normalization_new(g, &reuse);
    ck_assert_ptr_nonnull(l);
    tg_layer_free(l);
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

/* ---- values: non-fused, fused, formats ------------------------------------------------ */

/* One layer trained `steps` times on different batches (momentum 0.9),
 * checked against the reference: output in training, moving statistics
 * (Bessel-corrected iff fused), then the inference output. */
static void train_and_check(tg_tf_layers_batch_norm_opts o, tg_shape xs, const bool *is_axis, bool expect_fused,
                            int steps) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, xs, "x");
    o.momentum = 0.9;
    o.gamma_initializer = tg_constant_initializer(1.5);
    o.beta_initializer = tg_constant_initializer(-0.5);
    TG_OPTS(tg_layer_call_opts, call_tr, .training = TG_OPT_TRUE);
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &o);
    tg_tensor *yt = tg_layer_call(l, x, &call_tr);
    tg_tensor *yi = tg_layer_apply(l, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), expect_fused ? 2 : 0);
    tg_variable *mm = weight(l, 2), *mv = weight(l, 3);
    tg_shape ps = tg_variable_shape(mm);
    int64_t nc = numel(ps), n = numel(xs);
    double *xv = malloc((size_t)n * sizeof *xv), *want = malloc((size_t)n * sizeof *want);
    double *m = calloc((size_t)nc, sizeof *m), *v = calloc((size_t)nc, sizeof *v);
    double *rm = calloc((size_t)nc, sizeof *rm), *rv = calloc((size_t)nc, sizeof *rv);
    double *gam = malloc((size_t)nc * sizeof *gam), *bet = malloc((size_t)nc * sizeof *bet);
    for (int64_t c = 0; c < nc; c++) rv[c] = 1, gam[c] = 1.5, bet[c] = -0.5;
    tg_session *s = init_session(g);
    tg_op *const *ups = NULL;
    ck_assert_int_eq(tg_layer_updates(l, &ups), 2);
    for (int step = 0; step < steps; step++) {
        fill(xv, n, 100 + (unsigned)step, -2 + step, 3 + 2 * step);
        tg_array *xa = arr(TG_FLOAT32, xs, xv);
        tg_feed f = {x, xa};
        int64_t cnt = ref_moments(xv, xs.dims, xs.rank, is_axis, m, v);
        ref_normalize(xv, xs.dims, xs.rank, is_axis, m, v, gam, bet, 1e-3, want);
        tg_array *ya = fetch(s, yt, &f, 1);
        check_values(ya, want, n, 2e-5, "training output");
        tg_array_free(ya);
        run_ops(s, ups, 2, &f, 1);
        double bessel = expect_fused ? (double)cnt / (double)(cnt - 1) : 1.0;
        for (int64_t c = 0; c < nc; c++) {
            rm[c] = rm[c] * 0.9 + m[c] * 0.1;
            rv[c] = rv[c] * 0.9 + v[c] * bessel * 0.1;
        }
        tg_array_free(xa);
    }
    check_var(s, mm, rm, 1e-5);
    check_var(s, mv, rv, 1e-5);
    fill(xv, n, 999, -1, 1);
    tg_array *xa = arr(TG_FLOAT32, xs, xv);
    tg_feed f = {x, xa};
    ref_normalize(xv, xs.dims, xs.rank, is_axis, rm, rv, gam, bet, 1e-3, want);
    tg_array *ya = fetch(s, yi, &f, 1);
    check_values(ya, want, n, 2e-5, "inference output");
    tg_array_free(ya);
    tg_array_free(xa);
    free(xv), free(want), free(m), free(v), free(rm), free(rv), free(gam), free(bet);
    tg_session_free(s);
    tg_layer_free(l);
    tg_graph_free(g);
}

START_TEST(test_values_non_fused_rank2)
{
    tg_tf_layers_batch_norm_opts d = TG_TF_LAYERS_BATCH_NORM_OPTS_INIT;
    train_and_check(d, TG_SHAPE(6, 3), LAST2, false, 3);
}
END_TEST

START_TEST(test_values_fused_nhwc_nchw)
{
    /* n = N*H*W = 8 per channel: the fused moving variance is var * 8/7 */
    tg_tf_layers_batch_norm_opts d = TG_TF_LAYERS_BATCH_NORM_OPTS_INIT;
    TG_OPTS(tg_tf_layers_batch_norm_opts, a1, .axis = {1}, .n_axis = 1);
    TG_OPTS(tg_tf_layers_batch_norm_opts, am3, .axis = {-3}, .n_axis = 1, .fused = TG_OPT_TRUE);
    train_and_check(d, TG_SHAPE(2, 2, 2, 3), NHWC, true, 3);
    train_and_check(a1, TG_SHAPE(2, 3, 2, 2), NCHW, true, 3);
    train_and_check(am3, TG_SHAPE(2, 3, 2, 2), NCHW, true, 2);
}
END_TEST

START_TEST(test_values_non_fused_4d_and_rank3)
{
    TG_OPTS(tg_tf_layers_batch_norm_opts, nf, .fused = TG_OPT_FALSE);
    train_and_check(nf, TG_SHAPE(2, 2, 2, 3), NHWC, false, 3);
    /* NCHW non-fused: parameters broadcast as [1, C, 1, 1] */
    TG_OPTS(tg_tf_layers_batch_norm_opts, a1nf, .axis = {1}, .n_axis = 1, .fused = TG_OPT_FALSE);
    train_and_check(a1nf, TG_SHAPE(2, 3, 2, 2), NCHW, false, 3);
    static const bool AX1_OF3[] = {false, true, false};
    TG_OPTS(tg_tf_layers_batch_norm_opts, a1, .axis = {1}, .n_axis = 1);
    train_and_check(a1, TG_SHAPE(4, 3, 2), AX1_OF3, false, 2);
    /* axis 2 of a 4-D input cannot be fused */
    static const bool AX2[] = {false, false, true, false};
    TG_OPTS(tg_tf_layers_batch_norm_opts, a2f, .axis = {2}, .n_axis = 1, .fused = TG_OPT_TRUE);
    train_and_check(a2f, TG_SHAPE(2, 2, 3, 2), AX2, false, 2);
}
END_TEST

START_TEST(test_multi_axis)
{
    static const bool AX12[] = {false, true, true};
    TG_OPTS(tg_tf_layers_batch_norm_opts, a12, .axis = {1, 2}, .n_axis = 2);
    train_and_check(a12, TG_SHAPE(5, 4, 3), AX12, false, 2);
    static const bool AX13[] = {false, true, false, true};
    TG_OPTS(tg_tf_layers_batch_norm_opts, a1m1, .axis = {1, -1}, .n_axis = 2);
    train_and_check(a1m1, TG_SHAPE(3, 2, 2, 3), AX13, false, 2);
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 4, 3), "x");
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &a12);
    tg_layer_apply(l, x, NULL);
    ck_assert_tg_ok(g);
    for (int i = 0; i < 4; i++) ck_assert_shape_eq(tg_variable_shape(weight(l, i)), TG_SHAPE(1, 4, 3));
    int64_t count = 0;
    ck_assert_int_eq(tg_layer_count_params(l, &count), TG_OK);
    ck_assert_int_eq(count, 48);
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

/* NHWC and NCHW layers, fused and not, on the same data: equal outputs and
 * moving statistics (fused vs non-fused: outputs within 1e-5 relative). */
START_TEST(test_formats_and_fused_agree)
{
    tg_graph *g = tg_graph_new();
    const int64_t N = 3, H = 2, W = 3, C = 4;
    tg_tensor *xh = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N, H, W, C), "xh");
    tg_tensor *xc = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N, C, H, W), "xc");
    TG_OPTS(tg_tf_layers_batch_norm_opts, oh, .momentum = 0.5);
    TG_OPTS(tg_tf_layers_batch_norm_opts, oc, .momentum = 0.5, .axis = {1}, .n_axis = 1);
    tg_layer *lh = tg_tf_layers_batch_normalization_new(g, &oh);
    tg_layer *lc = tg_tf_layers_batch_normalization_new(g, &oc);
    oh.fused = oc.fused = TG_OPT_FALSE;
    tg_layer *uh = tg_tf_layers_batch_normalization_new(g, &oh);
    tg_layer *uc = tg_tf_layers_batch_normalization_new(g, &oc);
    TG_OPTS(tg_layer_call_opts, tr, .training = TG_OPT_TRUE);
    tg_tensor *y[4] = {tg_layer_call(lh, xh, &tr), tg_layer_call(lc, xc, &tr), tg_layer_call(uh, xh, &tr),
                       tg_layer_call(uc, xc, &tr)};
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), 2);
    tg_session *s = init_session(g);
    double xv[72], xcv[72];
    fill(xv, 72, 3, -4, 6);
    to_nchw(xv, N, H, W, C, xcv);
    tg_array *ah = arr(TG_FLOAT32, TG_SHAPE(N, H, W, C), xv), *ac = arr(TG_FLOAT32, TG_SHAPE(N, C, H, W), xcv);
    tg_feed f[2] = {{xh, ah}, {xc, ac}};
    tg_array *out[4];
    for (int i = 0; i < 4; i++) out[i] = fetch(s, y[i], f, 2);
    double yh[72], yc[72], yhu[72], ycu[72];
    for (int i = 0; i < 72; i++) yh[i] = tg_array_get(out[0], i), yhu[i] = tg_array_get(out[2], i);
    double tmp[72];
    for (int i = 0; i < 72; i++) tmp[i] = tg_array_get(out[1], i);
    /* compare NCHW outputs in NHWC order */
    for (int64_t n = 0; n < N; n++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t w = 0; w < W; w++)
                for (int64_t c = 0; c < C; c++) {
                    int64_t i = ((n * H + h) * W + w) * C + c, j = ((n * C + c) * H + h) * W + w;
                    yc[i] = tmp[j];
                    ycu[i] = tg_array_get(out[3], j);
                }
    check_values(out[0], yc, 72, 1e-5, "NHWC vs NCHW (fused)");
    check_values(out[2], ycu, 72, 1e-5, "NHWC vs NCHW (non-fused)");
    check_values(out[0], yhu, 72, 1e-5, "fused vs non-fused (NHWC)");
    (void)yh;
    for (int i = 0; i < 4; i++) tg_array_free(out[i]);
    /* updates: fused moving variance = non-fused one with n/(n-1), n = 18 */
    tg_layer *ls[4] = {lh, lc, uh, uc};
    for (int i = 0; i < 4; i++) {
        tg_op *const *ups = NULL;
        ck_assert_int_eq(tg_layer_updates(ls[i], &ups), 2);
        run_ops(s, ups, 2, f, 2);
    }
    double mv[4][4], mm[4][4];
    for (int i = 0; i < 4; i++) {
        read_var(s, weight(ls[i], 2), mm[i]);
        read_var(s, weight(ls[i], 3), mv[i]);
    }
    for (int c = 0; c < C; c++) {
        for (int i = 1; i < 4; i++) ck_assert_close(mm[i][c], mm[0][c], 1e-5);
        ck_assert_close(mv[1][c], mv[0][c], 1e-5);
        ck_assert_close(mv[3][c], mv[2][c], 1e-5);
        /* 0.5 + 0.5 v_u vs 0.5 + 0.5 v_b */
        ck_assert_close((mv[0][c] - 0.5), (mv[2][c] - 0.5) * 18.0 / 17.0, 1e-5);
    }
    tg_array_free(ah);
    tg_array_free(ac);
    tg_session_free(s);
    for (int i = 0; i < 4; i++) tg_layer_free(ls[i]);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_float64_and_initializers)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1, 2), "x");
    TG_OPTS(tg_tf_layers_batch_norm_opts, o,
            .epsilon = 0.5,
            .moving_mean_initializer = tg_constant_initializer(2),
            .moving_variance_initializer = tg_constant_initializer(3.5));
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &o);
    tg_tensor *y = tg_layer_apply(l, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_variable_dtype(weight(l, 0)), TG_FLOAT64);
    ck_assert_int_eq(tg_tensor_dtype(y), TG_FLOAT64);
    tg_session *s = init_session(g);
    double xv[4] = {1, 2, -3, 4}, want[4];
    for (int i = 0; i < 4; i++) want[i] = (xv[i] - 2) / sqrt(3.5 + 0.5);
    tg_array *xa = arr(TG_FLOAT64, TG_SHAPE(2, 2), xv);
    tg_feed f = {x, xa};
    tg_array *ya = fetch(s, y, &f, 1);
    check_values(ya, want, 4, 1e-12, "y");
    tg_array_free(ya);
    tg_array_free(xa);
    tg_session_free(s);
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

static tg_tensor *clip_constraint(tg_graph *g, tg_tensor *v, const void *params) {
    (void)params;
    return tg_clip_by_value(g, v, tg_constant_scalar(g, TG_FLOAT32, 0, NULL), tg_constant_scalar(g, TG_FLOAT32, 1, NULL),
                            NULL);
}

START_TEST(test_regularizers_and_constraints)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3), "x");
    TG_OPTS(tg_tf_layers_batch_norm_opts, o,
            .beta_regularizer = tg_layers_l2_regularizer(0.1),
            .beta_initializer = tg_constant_initializer(2),
            .gamma_constraint = {.fn = clip_constraint});
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &o);
    tg_layer_apply(l, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 1);
    tg_tensor *const *losses = NULL;
    ck_assert_int_eq(tg_layer_losses(l, &losses), 1);
    ck_assert_str_contains(op_name(losses[0]), "batch_normalization/beta/Regularizer/");
    tg_session *s = init_session(g);
    ck_assert_close(tgc_fetch_scalar(s, losses[0]), 0.1 * 3 * 4 / 2, 1e-6);
    tg_session_free(s);
    ck_assert(tg_variable_constraint(weight(l, 0)).fn == clip_constraint);
    ck_assert(tg_variable_constraint(weight(l, 1)).fn == NULL);
    tg_layer_free(l);

    o.gamma_regularizer = tg_layers_l1_regularizer(0.5);
    tg_layer *l2 = tg_tf_layers_batch_normalization_new(g, &o);
    tg_layer_apply(l2, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_layer_losses(l2, NULL), 2);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 3);
    tg_layer_free(l2);
    tg_graph_free(g);
}
END_TEST

/* ---- ghost batches (virtual_batch_size) ---------------------------------------------- */

/* Reference for ghost batches: row r of x [B, rest] belongs to ghost r mod
 * (B / vbs); each ghost is normalized with its own statistics; the moving
 * statistics move towards the mean over ghosts of the ghost means and
 * biased variances. */
static void ref_ghosts(const double *x, const int64_t *dims, int rank, const bool *is_axis, int vbs, double eps,
                       double *y, double *mean_of_means, double *mean_of_vars, int64_t nc) {
    int64_t B = dims[0], G = B / vbs, row = 1;
    for (int k = 1; k < rank; k++) row *= dims[k];
    int64_t gd[TG_MAX_RANK];
    memcpy(gd, dims, (size_t)rank * sizeof *gd);
    gd[0] = vbs;
    double *gx = malloc((size_t)(vbs * row) * sizeof *gx), *gy = malloc((size_t)(vbs * row) * sizeof *gy);
    double *m = malloc((size_t)nc * sizeof *m), *v = malloc((size_t)nc * sizeof *v);
    for (int64_t c = 0; c < nc; c++) mean_of_means[c] = mean_of_vars[c] = 0;
    for (int64_t gi = 0; gi < G; gi++) {
        for (int64_t k = 0; k < vbs; k++) memcpy(gx + k * row, x + (k * G + gi) * row, (size_t)row * sizeof *gx);
        ref_moments(gx, gd, rank, is_axis, m, v);
        ref_normalize(gx, gd, rank, is_axis, m, v, NULL, NULL, eps, gy);
        for (int64_t k = 0; k < vbs; k++) memcpy(y + (k * G + gi) * row, gy + k * row, (size_t)row * sizeof *gy);
        for (int64_t c = 0; c < nc; c++) mean_of_means[c] += m[c] / (double)G, mean_of_vars[c] += v[c] / (double)G;
    }
    free(gx), free(gy), free(m), free(v);
}

static void ghost_case(tg_shape xs, const bool *is_axis, int vbs, tg_shape want_param_shape) {
    tg_graph *g = tg_graph_new();
    tg_shape phs = xs;
    phs.dims[0] = -1;
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, phs, "x");
    TG_OPTS(tg_layer_call_opts, call_tr, .training = TG_OPT_TRUE);
    TG_OPTS(tg_tf_layers_batch_norm_opts, vo, .virtual_batch_size = vbs, .momentum = 0.9);
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &vo);
    tg_tensor *y = tg_layer_call(l, x, &call_tr);
    tg_tensor *yi = tg_layer_apply(l, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), 0);
    ck_assert_shape_eq(tg_tensor_shape(y), phs);
    for (int i = 0; i < 4; i++) ck_assert_shape_eq(tg_variable_shape(weight(l, i)), want_param_shape);
    int64_t n = numel(xs), nc = numel(want_param_shape);
    double *xv = malloc((size_t)n * sizeof *xv), *want = malloc((size_t)n * sizeof *want);
    double mm[8], mv[8], rm[8], rv[8];
    fill(xv, n, 11, -3, 4);
    ref_ghosts(xv, xs.dims, xs.rank, is_axis, vbs, 1e-3, want, mm, mv, nc);
    tg_session *s = init_session(g);
    tg_array *xa = arr(TG_FLOAT32, xs, xv);
    tg_feed f = {x, xa};
    tg_array *ya = fetch(s, y, &f, 1);
    check_values(ya, want, n, 2e-5, "ghost-batch output");
    tg_array_free(ya);
    tg_op *const *ups = NULL;
    ck_assert_int_eq(tg_layer_updates(l, &ups), 2);
    run_ops(s, ups, 2, &f, 1);
    for (int64_t c = 0; c < nc; c++) rm[c] = 0.1 * mm[c], rv[c] = 0.9 + 0.1 * mv[c];
    check_var(s, weight(l, 2), rm, 1e-5);
    check_var(s, weight(l, 3), rv, 1e-5);
    /* inference: the moving statistics, shared by every ghost batch */
    ref_normalize(xv, xs.dims, xs.rank, is_axis, rm, rv, NULL, NULL, 1e-3, want);
    ya = fetch(s, yi, &f, 1);
    check_values(ya, want, n, 2e-5, "ghost-batch inference");
    tg_array_free(ya);
    tg_array_free(xa);
    free(xv), free(want);
    tg_session_free(s);
    tg_layer_free(l);
    tg_graph_free(g);
}

START_TEST(test_virtual_batch)
{
    ghost_case(TG_SHAPE(6, 2), LAST2, 3, TG_SHAPE(1, 1, 2));
    ghost_case(TG_SHAPE(8, 2), LAST2, 2, TG_SHAPE(1, 1, 2));
    ghost_case(TG_SHAPE(4, 2, 2, 3), NHWC, 2, TG_SHAPE(1, 1, 1, 1, 3));
    static const bool AX1_OF3[] = {false, true, false};
    /* axis 1 of [B, 3, 2]: parameters [1, 1, 3, 1] */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3, 2), "x");
    TG_OPTS(tg_layer_call_opts, call_tr, .training = TG_OPT_TRUE);
    TG_OPTS(tg_tf_layers_batch_norm_opts, vo, .virtual_batch_size = 2, .axis = {1}, .n_axis = 1);
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &vo);
    tg_tensor *y = tg_layer_call(l, x, &call_tr);
    ck_assert_tg_ok(g);
    ck_assert_shape_eq(tg_variable_shape(weight(l, 0)), TG_SHAPE(1, 1, 3, 1));
    double xv[24], want[24], m[3], v[3];
    fill(xv, 24, 5, -1, 2);
    ref_ghosts(xv, (int64_t[]){4, 3, 2}, 3, AX1_OF3, 2, 1e-3, want, m, v, 3);
    tg_session *s = init_session(g);
    tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(4, 3, 2), xv);
    tg_feed f = {x, xa};
    tg_array *ya = fetch(s, y, &f, 1);
    check_values(ya, want, 24, 2e-5, "ghost-batch axis 1");
    tg_array_free(ya);
    tg_array_free(xa);
    /* a batch the ghost size does not divide fails when run */
    double odd[6] = {1, 2, 3, 4, 5, 6};
    tg_array *oa = arr(TG_FLOAT32, TG_SHAPE(1, 3, 2), odd);
    tg_feed fo = {x, oa};
    tg_array *out = NULL;
    ck_assert_int_ne(tg_session_run(s, &fo, 1, &y, 1, &out, NULL, 0), TG_OK);
    ck_assert_ptr_null(out);
    tg_array_free(oa);
    tg_session_free(s);
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

/* ---- batch renormalization ---------------------------------------------------------- */

typedef struct renorm_state {
    double rmean[4], rstd[4], mm[4], mstd[4], mv[4];
} renorm_state;

/* One training step of TF 1.15's renorm on x [B, C] (gamma, beta given);
 * writes y and advances the state. Missing clip values are NAN. */
static void ref_renorm_step(const double *x, int64_t B, int64_t C, double eps, double mom, double rmom, double rmin,
                            double rmax, double dmax, double gamma, double beta, renorm_state *st, double *y) {
    double mean[4], var[4];
    ref_moments(x, (int64_t[]){B, C}, 2, LAST2, mean, var);
    for (int64_t c = 0; c < C; c++) {
        double s = sqrt(var[c] + eps), rs = fmax(st->rstd[c], sqrt(eps));
        double r = s / rs, d = (mean[c] - st->rmean[c]) / rs;
        if (!isnan(rmin)) r = fmax(r, rmin);
        if (!isnan(rmax)) r = fmin(r, rmax);
        if (!isnan(dmax)) d = fmin(fmax(d, -dmax), dmax);
        for (int64_t b = 0; b < B; b++) y[b * C + c] = ((x[b * C + c] - mean[c]) / s * r + d) * gamma + beta;
        st->rmean[c] -= (st->rmean[c] - mean[c]) * (1 - rmom);
        st->rstd[c] -= (st->rstd[c] - s) * (1 - rmom);
        st->mm[c] -= (st->mm[c] - mean[c]) * (1 - mom);
        st->mstd[c] -= (st->mstd[c] - s) * (1 - mom);
        st->mv[c] = fmax(st->mstd[c] * st->mstd[c] - eps, 0);
    }
}

START_TEST(test_renorm_clipping)
{
    tg_graph *g = tg_graph_new();
    const int64_t B = 5, C = 2;
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(B, C), "x");
    TG_OPTS(tg_tf_layers_batch_norm_opts, o,
            .renorm = true,
            .renorm_clipping.rmax = 1.3, .renorm_clipping.rmin = 0.9, .renorm_clipping.dmax = 0.4,
            .momentum = 0.9,
            .renorm_momentum = 0.8,
            .gamma_initializer = tg_constant_initializer(2),
            .beta_initializer = tg_constant_initializer(0.5),
            .fused = TG_OPT_TRUE /* a hint: renorm is never fused */);
    TG_OPTS(tg_layer_call_opts, call_tr, .training = TG_OPT_TRUE);
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &o);
    tg_tensor *y = tg_layer_call(l, x, &call_tr);
    tg_tensor *yi = tg_layer_apply(l, x, NULL);
    ck_assert_tg_ok(g);
    const char *names[] = {"gamma", "beta", "moving_mean", "moving_variance", "moving_stddev", "renorm_mean",
                           "renorm_stddev"};
    ck_assert_int_eq(tg_layer_weights(l, NULL), 7);
    for (int i = 0; i < 7; i++) {
        char full[64];
        snprintf(full, sizeof full, "batch_normalization/%s", names[i]);
        ck_assert_str_eq(tg_variable_name(weight(l, i)), full);
    }
    ck_assert_int_eq(tg_layer_non_trainable_weights(l, NULL), 5);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 7);
    tg_op *const *ups = NULL;
    ck_assert_int_eq(tg_layer_updates(l, &ups), 2);
    ck_assert_str_eq(tg_op_name(ups[0]), "batch_normalization/AssignMovingAvg_2");
    ck_assert_str_eq(tg_op_name(ups[1]), "batch_normalization/AssignNewValue");
    ck_assert_ptr_nonnull(tg_graph_op(g, "batch_normalization/renorm_r"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "batch_normalization/renorm_d"));
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), 0);

    tg_session *s = init_session(g);
    renorm_state st = {{0, 0}, {1, 1}, {0, 0}, {1, 1}, {1, 1}};
    double xv[10], want[10];
    for (int step = 0; step < 3; step++) {
        /* channel 0 narrow (r clipped at rmin), channel 1 wide and off-centre
         * (r at rmax, d at dmax) in the first step */
        for (int64_t b = 0; b < B; b++) {
            double u[2];
            fill(u, 2, (unsigned)(step * 10 + b), 0, 1);
            xv[b * C] = -0.5 + u[0];
            xv[b * C + 1] = 1.0 + 5 * u[1];
        }
        ref_renorm_step(xv, B, C, 1e-3, 0.9, 0.8, 0.9, 1.3, 0.4, 2, 0.5, &st, want);
        tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(B, C), xv);
        tg_feed f = {x, xa};
        /* output and updates in one run: r and d use the pre-update values */
        tg_array *ya = NULL;
        ck_assert_int_eq(tg_session_run(s, &f, 1, &y, 1, &ya, ups, 2), TG_OK);
        check_values(ya, want, B * C, 2e-5, "renorm output");
        tg_array_free(ya);
        tg_array_free(xa);
        check_var(s, weight(l, 2), st.mm, 1e-5);
        check_var(s, weight(l, 3), st.mv, 1e-5);
        check_var(s, weight(l, 4), st.mstd, 1e-5);
        check_var(s, weight(l, 5), st.rmean, 1e-5);
        check_var(s, weight(l, 6), st.rstd, 1e-5);
    }
    /* inference: (x - moving_mean) / sqrt(moving_variance + eps) * gamma + beta */
    double mm[2] = {st.mm[0], st.mm[1]}, mv[2] = {st.mv[0], st.mv[1]}, gm[2] = {2, 2}, bt[2] = {0.5, 0.5};
    ref_normalize(xv, (int64_t[]){B, C}, 2, LAST2, mm, mv, gm, bt, 1e-3, want);
    tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(B, C), xv);
    tg_feed f = {x, xa};
    tg_array *ya = fetch(s, yi, &f, 1);
    check_values(ya, want, B * C, 2e-5, "renorm inference");
    tg_array_free(ya);
    tg_array_free(xa);
    tg_session_free(s);
    tg_layer_free(l);

    /* the stddev variables start at sqrt(moving_variance_initializer) */
    TG_OPTS(tg_tf_layers_batch_norm_opts, r4, .renorm = true, .moving_variance_initializer = tg_constant_initializer(4));
    tg_layer *l2 = tg_tf_layers_batch_normalization_new(g, &r4);
    tg_layer_apply(l2, x, NULL);
    ck_assert_tg_ok(g);
    s = init_session(g);
    check_var(s, weight(l2, 3), (double[]){4, 4}, 1e-6);
    check_var(s, weight(l2, 4), (double[]){2, 2}, 1e-6);
    check_var(s, weight(l2, 6), (double[]){2, 2}, 1e-6);
    tg_session_free(s);
    tg_layer_free(l2);
    /* a random one has no square root initializer */
    TG_OPTS(tg_tf_layers_batch_norm_opts, rr, .renorm = true,
            .moving_variance_initializer = tg_random_uniform_initializer(1, 2));
    tg_layer *l3 = tg_tf_layers_batch_normalization_new(g, &rr);
    ck_assert_ptr_null(tg_layer_apply(l3, x, NULL));
    expect_graph_error(g, TG_UNIMPLEMENTED, "renorm");
    tg_layer_free(l3);
    tg_graph_free(g);
}
END_TEST

/* TF's testRenormNoClippingSameMomentumGivesSameTestTrain: with a training
 * placeholder, renorm_momentum == momentum and no clipping, the training and
 * inference outputs coincide after the first step; runs with training false
 * also run the updates, which must change nothing. */
START_TEST(test_renorm_same_momentum_train_test)
{
    tg_graph *g = tg_graph_new();
    const int64_t B = 4, C = 3;
    const double momentum = 0.9, gamma = 2, beta = 3, eps = 0.001;
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(B, C), "x");
    tg_tensor *training = tg_placeholder(g, TG_BOOL, TG_SCALAR, "training");
    TG_OPTS(tg_tf_layers_batch_norm_opts, ro,
            .axis = {1},
            .n_axis = 1,
            .gamma_initializer = tg_constant_initializer(gamma),
            .beta_initializer = tg_constant_initializer(beta),
            .epsilon = eps,
            .momentum = momentum,
            .renorm = true,
            .renorm_momentum = momentum);
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &ro);
    tg_tensor *yt = tg_layer_apply(l, x, training);
    ck_assert_tg_ok(g);
    tg_op *const *ups = NULL;
    ck_assert_int_eq(tg_layer_updates(l, &ups), 2);
    tg_session *s = init_session(g);
    double moving_mean[3] = {0, 0, 0}, moving_stddev[3] = {1, 1, 1}, renorm_mean[3] = {0, 0, 0},
           renorm_stddev[3] = {1, 1, 1};
    for (int step = 0; step < 6; step++) {
        double xv[12], mean[3], var[3], y_train[12], y_test[12];
        fill(xv, 12, 40 + (unsigned)step, 0, 1);
        ref_moments(xv, (int64_t[]){B, C}, 2, LAST2, mean, var);
        for (int c = 0; c < C; c++) {
            double stddev = sqrt(var[c] + eps);
            double r = stddev / renorm_stddev[c], d = (mean[c] - renorm_mean[c]) / renorm_stddev[c];
            for (int b = 0; b < B; b++) /* before this step's updates */
                y_test[b * C + c] = (xv[b * C + c] - moving_mean[c]) / moving_stddev[c] * gamma + beta;
            renorm_mean[c] += (mean[c] - renorm_mean[c]) * (1 - momentum);
            renorm_stddev[c] += (stddev - renorm_stddev[c]) * (1 - momentum);
            moving_mean[c] += (mean[c] - moving_mean[c]) * (1 - momentum);
            moving_stddev[c] += (stddev - moving_stddev[c]) * (1 - momentum);
            for (int b = 0; b < B; b++) {
                y_train[b * C + c] = ((xv[b * C + c] - mean[c]) / stddev * r + d) * gamma + beta;
            }
        }
        tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(B, C), xv);
        tg_array *ta = tg_array_scalar_bool(true), *fa = tg_array_scalar_bool(false);
        tg_feed ft[2] = {{x, xa}, {training, ta}}, ff[2] = {{x, xa}, {training, fa}};
        tg_array *train_val = NULL, *test_val = NULL;
        /* the test values first, before the training run moves the averages */
        ck_assert_int_eq(tg_session_run(s, ff, 2, &yt, 1, &test_val, ups, 2), TG_OK);
        ck_assert_int_eq(tg_session_run(s, ft, 2, &yt, 1, &train_val, ups, 2), TG_OK);
        double atol = step == 0 ? eps * 1.5 : 1e-5;
        for (int i = 0; i < 12; i++) {
            ck_assert_close(tg_array_get(train_val, i), y_train[i], 1e-5);
            ck_assert_close(tg_array_get(test_val, i), y_test[i], atol);
            ck_assert_close(tg_array_get(train_val, i), tg_array_get(test_val, i), atol);
        }
        tg_array_free(train_val), tg_array_free(test_val), tg_array_free(xa), tg_array_free(ta), tg_array_free(fa);
    }
    tg_session_free(s);
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

/* ---- adjustment ---------------------------------------------------------------------------- */

static const double ADJ_SCALE[3] = {0.6, 1.3, 0.9}, ADJ_BIAS[3] = {-0.15, 0.1, 0.05};

static tg_code adjustment(tg_graph *g, tg_tensor *shape, const void *params, tg_tensor **scale, tg_tensor **bias) {
    int *calls = (int *)params;
    ck_assert_int_eq(tg_tensor_dtype(shape), TG_INT32);
    (*calls)++;
    float sv[3], bv[3];
    for (int i = 0; i < 3; i++) sv[i] = (float)ADJ_SCALE[i], bv[i] = (float)ADJ_BIAS[i];
    *scale = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), sv, "adjust_scale");
    *bias = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), bv, "adjust_bias");
    return TG_OK;
}

/* TF's testAdjustment: training runs adjust x_hat, inference runs do not. */
START_TEST(test_adjustment)
{
    tg_graph *g = tg_graph_new();
    const int64_t B = 4, C = 3;
    const double momentum = 0.99, gamma = 2, beta = 3, eps = 0.001;
    int calls = 0;
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(B, C), "x");
    tg_tensor *training = tg_placeholder(g, TG_BOOL, TG_SCALAR, "training");
    TG_OPTS(tg_tf_layers_batch_norm_opts, ao,
            .axis = {1},
            .n_axis = 1,
            .gamma_initializer = tg_constant_initializer(gamma),
            .beta_initializer = tg_constant_initializer(beta),
            .epsilon = eps,
            .momentum = momentum,
            .adjustment = {.fn = adjustment, .params = &calls});
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &ao);
    tg_tensor *yt = tg_layer_apply(l, x, training);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(calls, 1);
    tg_op *const *ups = NULL;
    ck_assert_int_eq(tg_layer_updates(l, &ups), 2);
    tg_session *s = init_session(g);
    double moving_mean[3] = {0, 0, 0}, moving_variance[3] = {1, 1, 1};
    for (int step = 0; step < 5; step++) {
        double xv[12], mean[3], var[3], y_train[12], y_test[12];
        fill(xv, 12, 60 + (unsigned)step, 0, 1);
        ref_moments(xv, (int64_t[]){B, C}, 2, LAST2, mean, var);
        for (int c = 0; c < C; c++) {
            moving_mean[c] += (mean[c] - moving_mean[c]) * (1 - momentum);
            moving_variance[c] += (var[c] - moving_variance[c]) * (1 - momentum);
            for (int b = 0; b < B; b++) {
                double xh = (xv[b * C + c] - mean[c]) / sqrt(var[c] + eps);
                y_train[b * C + c] = (xh * ADJ_SCALE[c] + ADJ_BIAS[c]) * gamma + beta;
                y_test[b * C + c] = (xv[b * C + c] - moving_mean[c]) / sqrt(moving_variance[c] + eps) * gamma + beta;
            }
        }
        tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(B, C), xv);
        tg_array *ta = tg_array_scalar_bool(true), *fa = tg_array_scalar_bool(false);
        tg_feed ft[2] = {{x, xa}, {training, ta}}, ff[2] = {{x, xa}, {training, fa}};
        tg_array *train_val = NULL, *test_val = NULL;
        ck_assert_int_eq(tg_session_run(s, ft, 2, &yt, 1, &train_val, ups, 2), TG_OK);
        ck_assert_int_eq(tg_session_run(s, ff, 2, &yt, 1, &test_val, ups, 2), TG_OK);
        check_values(train_val, y_train, 12, 1e-5, "adjusted training output");
        check_values(test_val, y_test, 12, 1e-5, "inference output");
        tg_array_free(train_val), tg_array_free(test_val), tg_array_free(xa), tg_array_free(ta), tg_array_free(fa);
    }
    tg_session_free(s);
    tg_layer_free(l);
    /* no fused kernel with an adjustment; none with ghost batches either */
    tg_tensor *x4 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 2, 2, 3), "x4");
    TG_OPTS(tg_tf_layers_batch_norm_opts, at, .training = true, .adjustment = {.fn = adjustment, .params = &calls});
    tg_tf_layers_batch_normalization(g, x4, &at);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), 0);
    TG_OPTS(tg_tf_layers_batch_norm_opts, av, .virtual_batch_size = 1, .adjustment = {.fn = adjustment, .params = &calls});
    ck_assert_ptr_null(tg_tf_layers_batch_normalization(g, x4, &av));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "When using virtual_batch_size, adjustment cannot be specified");
    TG_OPTS(tg_tf_layers_batch_norm_opts, af, .fused = TG_OPT_TRUE, .adjustment = {.fn = adjustment, .params = &calls});
    ck_assert_ptr_null(tg_keras_layers_batch_normalization_new(g, &af));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Passing fused=True is unsupported when adjustment is specified.");
    tg_graph_free(g);
}
END_TEST

/* ---- a training tensor ----------------------------------------------------------------- */

/* One layer applied with a placeholder_with_default(False), with a static
 * True and a static False: the placeholder's branches equal the static
 * outputs; its updates leave every variable unchanged when it is false and
 * do what the static updates do when it is fed true. */
static void dynamic_case(tg_tf_layers_batch_norm_opts o, tg_shape xs, int expect_fused_ops) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, xs, "x");
    tg_tensor *tr = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "is_training");
    o.momentum = 0.7;
    TG_OPTS(tg_layer_call_opts, call_tr, .training = TG_OPT_TRUE);
    TG_OPTS(tg_layer_call_opts, call_inf, .training = TG_OPT_FALSE);
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &o);
    tg_tensor *yd = tg_layer_apply(l, x, tr);
    tg_tensor *yt = tg_layer_call(l, x, &call_tr);
    tg_tensor *yf = tg_layer_call(l, x, &call_inf);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), expect_fused_ops);
    tg_op *const *ups = NULL;
    ck_assert_int_eq(tg_layer_updates(l, &ups), 4);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 4);
    tg_op *dyn[2] = {ups[0], ups[1]}, *stat[2] = {ups[2], ups[3]};
    tg_session *s = init_session(g);
    /* a non-trivial starting state */
    int nw = tg_layer_weights(l, NULL);
    double s0[8][64], s1[8][64], cur[64];
    for (int i = 0; i < nw; i++) {
        tg_shape ps = tg_variable_shape(weight(l, i));
        fill(s0[i], numel(ps), 70 + (unsigned)i, 0.5, 1.5);
        set_var(g, s, weight(l, i), s0[i]);
    }
    int64_t n = numel(xs);
    double *xv = calloc((size_t)n, sizeof *xv);
    fill(xv, n, 8, -2, 3);
    tg_array *xa = arr(TG_FLOAT32, xs, xv);
    tg_array *ta = tg_array_scalar_bool(true);
    tg_feed f1 = {x, xa}, ft[2] = {{x, xa}, {tr, ta}};
    /* unfed: inference */
    tg_array *a = fetch(s, yd, &f1, 1), *b = fetch(s, yf, &f1, 1);
    for (int64_t i = 0; i < n; i++) ck_assert_close(tg_array_get(a, i), tg_array_get(b, i), 1e-6);
    tg_array_free(a), tg_array_free(b);
    run_ops(s, dyn, 2, &f1, 1);
    for (int i = 0; i < nw; i++) {
        read_var(s, weight(l, i), cur);
        for (int64_t k = 0; k < numel(tg_variable_shape(weight(l, i))); k++)
            ck_assert_msg(cur[k] == (double)(float)s0[i][k], "%s changed by an inference run",
                          tg_variable_name(weight(l, i)));
    }
    /* fed true: training */
    a = fetch(s, yd, ft, 2), b = fetch(s, yt, &f1, 1);
    for (int64_t i = 0; i < n; i++) ck_assert_close(tg_array_get(a, i), tg_array_get(b, i), 1e-5);
    tg_array_free(a), tg_array_free(b);
    run_ops(s, dyn, 2, ft, 2);
    for (int i = 0; i < nw; i++) read_var(s, weight(l, i), s1[i]);
    for (int i = 0; i < nw; i++) set_var(g, s, weight(l, i), s0[i]);
    run_ops(s, stat, 2, &f1, 1);
    bool moved = false;
    for (int i = 0; i < nw; i++) {
        read_var(s, weight(l, i), cur);
        for (int64_t k = 0; k < numel(tg_variable_shape(weight(l, i))); k++) {
            ck_assert_close(cur[k], s1[i][k], 1e-6);
            moved |= fabs(cur[k] - s0[i][k]) > 1e-4;
        }
    }
    ck_assert(moved);
    tg_array_free(xa), tg_array_free(ta);
    free(xv);
    tg_session_free(s);
    tg_layer_free(l);
    tg_graph_free(g);
}

START_TEST(test_training_tensor)
{
    tg_tf_layers_batch_norm_opts d = TG_TF_LAYERS_BATCH_NORM_OPTS_INIT;
    TG_OPTS(tg_tf_layers_batch_norm_opts, a1, .axis = {1}, .n_axis = 1);
    TG_OPTS(tg_tf_layers_batch_norm_opts, a1nf, .axis = {1}, .n_axis = 1, .fused = TG_OPT_FALSE);
    TG_OPTS(tg_tf_layers_batch_norm_opts, v2, .virtual_batch_size = 2);
    TG_OPTS(tg_tf_layers_batch_norm_opts, a12, .axis = {1, 2}, .n_axis = 2);
    TG_OPTS(tg_tf_layers_batch_norm_opts, rc, .renorm = true, .renorm_clipping.rmax = 1.1, .renorm_clipping.dmax = 0.2);
    TG_OPTS(tg_tf_layers_batch_norm_opts, rv3, .renorm = true, .virtual_batch_size = 3);
    dynamic_case(d, TG_SHAPE(6, 3), 0);
    dynamic_case(d, TG_SHAPE(2, 2, 2, 3), 4);
    dynamic_case(a1, TG_SHAPE(2, 3, 2, 2), 4);
    dynamic_case(a1nf, TG_SHAPE(2, 3, 2, 2), 0);
    dynamic_case(v2, TG_SHAPE(6, 3), 0);
    dynamic_case(a12, TG_SHAPE(4, 3, 2), 0);
    dynamic_case(rc, TG_SHAPE(6, 3), 0);
    dynamic_case(rv3, TG_SHAPE(6, 2), 0);
}
END_TEST

/* ---- a run-time training tensor runs one branch (smart_cond) ---------------------------- */

/* A bool placeholder as training, the layer's UPDATE_OPS as control inputs
 * of a gradient-descent step on sum(y^2), and the moving statistics set to
 * a non-trivial state. */
typedef struct cond_step {
    tg_graph *g;
    tg_tensor *x, *training;
    tg_op *train;
    tg_variable *mm, *mv;
    tg_session *s;
} cond_step;

static cond_step cond_step_new(tg_shape xs, const double *mm0, const double *mv0) {
    cond_step c = {.g = tg_graph_new()};
    tg_graph *g = c.g;
    c.x = tg_placeholder(g, TG_FLOAT32, xs, "x");
    c.training = tg_placeholder(g, TG_BOOL, TG_SCALAR, "is_training");
    TG_OPTS(tg_tf_layers_batch_norm_opts, o, .training_t = c.training, .momentum = 0.8);
    tg_tensor *y = tg_tf_layers_batch_normalization(g, c.x, &o);
    tg_tensor *loss = tg_reduce_sum(g, tg_square(g, y, NULL), NULL);
    tg_op **uo = NULL;
    int nu = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &uo);
    ck_assert_int_eq(nu, 2);
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.01, NULL);
    TG_WITH_CONTROL_DEPENDENCIES(g, uo, nu) { c.train = tg_optimizer_minimize(opt, loss, NULL); }
    tg_free(uo);
    ck_assert_tg_ok(g);
    c.mm = tg_graph_variable(g, "batch_normalization/moving_mean");
    c.mv = tg_graph_variable(g, "batch_normalization/moving_variance");
    c.s = init_session(g);
    set_var(g, c.s, c.mm, mm0);
    set_var(g, c.s, c.mv, mv0);
    return c;
}

/* One traced train step with training fed as given. */
static void cond_step_run(cond_step *c, const tg_array *xa, bool training) {
    tg_array *ta = tg_array_scalar_bool(training);
    tg_feed f[2] = {{c->x, (tg_array *)xa}, {c->training, ta}};
    tg_code rc = tg_session_run_opts(c->s, f, 2, NULL, 0, NULL, &c->train, 1, &(tg_run_options){.trace = true});
    ck_assert_msg(rc == TG_OK, "run: %s", tg_session_message(c->s));
    tg_array_free(ta);
}

/* The op's entry in the last trace; -1 when it is not there. */
static int trace_index(const tg_session *s, const tg_op *op) {
    tg_op *const *ops = NULL;
    int n = tg_session_trace(s, &ops);
    for (int i = 0; i < n; i++)
        if (ops[i] == op) return i;
    return -1;
}

/* op ran `runs` (0 or 1) times in the last traced run: skipped in the trace
 * when 0, and `total` times in the session so far. */
static void expect_ran(const tg_session *s, const tg_op *op, int runs, int64_t total) {
    int i = trace_index(s, op);
    ck_assert_msg(i >= 0, "%s not in the trace", tg_op_name(op));
    ck_assert_msg(tg_session_trace_skipped(s, i) == (runs == 0), "%s: skipped %d", tg_op_name(op),
                  (int)tg_session_trace_skipped(s, i));
    ck_assert_int_eq(tg_session_trace_run_count(s, i), runs);
    ck_assert_int_eq(tg_session_op_run_count(s, op), total);
}

static void cond_step_free(cond_step *c) {
    tg_session_free(c->s);
    tg_graph_free(c->g); /* frees the optimizer and the layer */
}

/* The non-fused path (2-D input): each moving-average update is an
 * AssignSub made inside the true branch of its own cond, whose Merge is the
 * update op, so a step with training false skips both assigns. */
START_TEST(test_training_tensor_non_fused_cond_skips_updates)
{
    const int64_t N = 4, C = 3;
    const double mm0[3] = {0.5, -0.25, 1.0}, mv0[3] = {2.0, 0.5, 1.5}, mom = 0.8;
    cond_step c = cond_step_new(TG_SHAPE(N, C), mm0, mv0);
    tg_graph *g = c.g;
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), 0);
    tg_op *avg[2] = {tg_graph_op(g, "batch_normalization/cond_2/AssignMovingAvg"),
                     tg_graph_op(g, "batch_normalization/cond_3/AssignMovingAvg")};
    ck_assert_int_eq(count_ops(g, "AssignSub"), 2);
    tg_op **uo = NULL;
    ck_assert_int_eq(tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &uo), 2);
    for (int k = 0; k < 2; k++) {
        ck_assert_ptr_nonnull(avg[k]);
        ck_assert_str_eq(tg_op_type(avg[k]), "AssignSub");
        ck_assert_str_eq(tg_op_type(uo[k]), "Merge");
    }
    ck_assert_str_eq(tg_op_name(uo[0]), "batch_normalization/cond_2/Merge");
    ck_assert_str_eq(tg_op_name(uo[1]), "batch_normalization/cond_3/Merge");
    double xv[12];
    fill(xv, N * C, 31, -2, 3);
    for (int i = 0; i < N * C; i++) xv[i] = (float)xv[i]; /* what the float32 feed holds */
    tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(N, C), xv);

    /* (a) inference: both assigns skipped, the statistics untouched */
    cond_step_run(&c, xa, false);
    for (int k = 0; k < 2; k++) {
        expect_ran(c.s, avg[k], 0, 0);
        expect_ran(c.s, uo[k], 1, 1); /* the Merge forwards the false branch's variable */
    }
    check_var(c.s, c.mm, (double[]){(float)mm0[0], (float)mm0[1], (float)mm0[2]}, 0);
    check_var(c.s, c.mv, (double[]){(float)mv0[0], (float)mv0[1], (float)mv0[2]}, 0);

    /* (b) training: each assign once, moving = momentum * old + (1 - momentum) * batch */
    cond_step_run(&c, xa, true);
    for (int k = 0; k < 2; k++) expect_ran(c.s, avg[k], 1, 1);
    double want_m[3], want_v[3];
    for (int ch = 0; ch < C; ch++) {
        double mean = 0, var = 0;
        for (int n = 0; n < N; n++) mean += xv[n * C + ch] / N;
        for (int n = 0; n < N; n++) var += (xv[n * C + ch] - mean) * (xv[n * C + ch] - mean) / N;
        want_m[ch] = mom * mm0[ch] + (1 - mom) * mean;
        want_v[ch] = mom * mv0[ch] + (1 - mom) * var;
    }
    check_var(c.s, c.mm, want_m, 1e-6);
    check_var(c.s, c.mv, want_v, 1e-6);
    tg_free(uo);
    tg_array_free(xa);
    cond_step_free(&c);
}
END_TEST

/* The fused path (4-D input): TF keeps the update outside the cond and
 * conds the momentum instead (smart_cond(training, momentum, 1.0)), so with
 * training false the assigns run with decay 0, only the momentum's 1.0
 * branch runs, and the statistics stay as they were. */
START_TEST(test_training_tensor_fused_momentum_cond)
{
    const int64_t N = 2, H = 2, W = 2, C = 3, n = N * H * W;
    const double mm0[3] = {0.5, -0.25, 1.0}, mv0[3] = {2.0, 0.5, 1.5};
    cond_step c = cond_step_new(TG_SHAPE(N, H, W, C), mm0, mv0);
    tg_graph *g = c.g;
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), 2);
    tg_op *fused_training = tg_graph_op(g, "batch_normalization/cond/FusedBatchNormV3");
    tg_op *mom_training = tg_graph_op(g, "batch_normalization/cond_1/Const");
    tg_op *mom_frozen = tg_graph_op(g, "batch_normalization/cond_1/Const_1");
    tg_op *avg[2] = {tg_graph_op(g, "batch_normalization/AssignMovingAvg"),
                     tg_graph_op(g, "batch_normalization/AssignMovingAvg_1")};
    ck_assert_ptr_nonnull(fused_training);
    ck_assert_ptr_nonnull(mom_training);
    ck_assert_ptr_nonnull(mom_frozen);
    for (int k = 0; k < 2; k++) ck_assert_str_eq(tg_op_type(avg[k]), "AssignSub");
    double xv[24];
    fill(xv, n * C, 37, -1, 4);
    for (int i = 0; i < n * C; i++) xv[i] = (float)xv[i];
    tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(N, H, W, C), xv);

    /* (a) inference: the momentum's training branch and kernel skipped */
    cond_step_run(&c, xa, false);
    expect_ran(c.s, mom_training, 0, 0);
    expect_ran(c.s, mom_frozen, 1, 1);
    expect_ran(c.s, fused_training, 0, 0);
    for (int k = 0; k < 2; k++) expect_ran(c.s, avg[k], 1, 1);
    check_var(c.s, c.mm, (double[]){(float)mm0[0], (float)mm0[1], (float)mm0[2]}, 0);
    check_var(c.s, c.mv, (double[]){(float)mv0[0], (float)mv0[1], (float)mv0[2]}, 0);

    /* (b) training: momentum 0.8 in float32; the kernel's variance is
     * Bessel-corrected (n / (n - 1)) */
    cond_step_run(&c, xa, true);
    expect_ran(c.s, mom_training, 1, 1);
    expect_ran(c.s, mom_frozen, 0, 1);
    expect_ran(c.s, fused_training, 1, 1);
    double d = 1.0 - (double)0.8f, want_m[3], want_v[3];
    for (int ch = 0; ch < C; ch++) {
        double mean = 0, var = 0;
        for (int i = 0; i < n; i++) mean += xv[i * C + ch] / n;
        for (int i = 0; i < n; i++) var += (xv[i * C + ch] - mean) * (xv[i * C + ch] - mean) / (n - 1);
        want_m[ch] = mm0[ch] - (mm0[ch] - mean) * d;
        want_v[ch] = mv0[ch] - (mv0[ch] - var) * d;
    }
    check_var(c.s, c.mm, want_m, 1e-6);
    check_var(c.s, c.mv, want_v, 1e-6);
    tg_array_free(xa);
    cond_step_free(&c);
}
END_TEST

/* ---- the functional form ------------------------------------------------------------- */

START_TEST(test_functional_reuse)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3), "x");
    /* training defaults to False: inference, no updates */
    tg_tensor *y0 = tg_tf_layers_batch_normalization(g, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name(y0), "batch_normalization/batchnorm/add_1");
    ck_assert_ptr_null(tg_graph_op(g, "batch_normalization/moments/mean"));
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 0);
    tg_tf_layers_batch_normalization(g, x, NULL);
    ck_assert_ptr_nonnull(tg_graph_variable(g, "batch_normalization_1/gamma"));

    TG_OPTS(tg_tf_layers_batch_norm_opts, o, .name = "bn", .training = true, .momentum = 0.5);
    tg_tensor *yt = tg_tf_layers_batch_normalization(g, x, &o);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name(yt), "bn/batchnorm/add_1");
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 2);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 12);
    ck_assert_ptr_null(tg_tf_layers_batch_normalization(g, x, &o));
    expect_graph_error(g, TG_INVALID_ARGUMENT,
                       "Variable bn/gamma already exists, disallowed. Did you mean to set reuse=True or "
                       "reuse=tf.AUTO_REUSE in VarScope?");
    o.scale = false;
    ck_assert_ptr_null(tg_tf_layers_batch_normalization(g, x, &o));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Variable bn/beta already exists");
    o.scale = true;
    /* an evaluation branch sharing the variables */
    o.reuse = TG_REUSE_TRUE;
    o.training = false;
    tg_tensor *ye = tg_tf_layers_batch_normalization(g, x, &o);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name(ye), "bn_3/batchnorm/add_1"); /* the failed calls opened bn_1, bn_2 */
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 12);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 2);
    o.training = true;
    tg_tf_layers_batch_normalization(g, x, &o);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 4);
    o.name = "bn2";
    ck_assert_ptr_null(tg_tf_layers_batch_normalization(g, x, &o));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Variable bn2/gamma does not exist, or was not created with "
                                               "tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in VarScope?");
    /* rebuilt in a reusing scope: default names restart (counter reset) */
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL) { tg_tf_layers_batch_normalization(g, x, NULL); }
    TG_WITH_VARIABLE_SCOPE(g, "net", &(tg_variable_scope_opts){.reuse = TG_REUSE_TRUE}) {
        tg_tf_layers_batch_normalization(g, x, NULL);
    }
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(tg_graph_variable(g, "net/batch_normalization/moving_mean"));
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 16);

    /* the evaluation branch sees what the training branch's updates did */
    tg_session *s = init_session(g);
    double xv[6] = {1, 2, 3, 3, 6, 9}, want[6];
    tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(2, 3), xv);
    tg_feed f = {x, xa};
    tg_op **uo = NULL;
    ck_assert_int_eq(tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, "bn/", &uo), 2);
    run_ops(s, uo, 2, &f, 1);
    tg_free(uo);
    double mm[3] = {1, 2, 3}, mv[3] = {0.5 + 0.5 * 1, 0.5 + 0.5 * 4, 0.5 + 0.5 * 9};
    ref_normalize(xv, (int64_t[]){2, 3}, 2, LAST2, mm, mv, NULL, NULL, 1e-3, want);
    tg_array *ya = fetch(s, ye, &f, 1);
    check_values(ya, want, 6, 1e-5, "evaluation branch");
    tg_array_free(ya);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- gradients ---------------------------------------------------------------------------- */

/* gc_check (gradcheck.h) on a session whose variables are initialized
 * first (renorm reads its moving averages). */
static void gc_check_init(tg_graph *g, tg_tensor *y, tg_tensor *const *xs, int n, tg_array *const *vals, double tol) {
    tg_shape ys = tg_tensor_shape(y);
    int64_t ny = numel(ys);
    double *w = malloc((size_t)ny * sizeof *w);
    fill(w, ny, 99, 0.5, 1.5);
    tg_array *wa = arr(TG_FLOAT64, ys, w);
    free(w);
    tg_tensor *f = tg_reduce_sum(g, tg_multiply(g, y, tg_constant(g, wa, NULL), NULL), NULL);
    tg_array_free(wa);
    tg_tensor *dx[3] = {0};
    ck_assert_int_eq(tg_gradients(g, &f, 1, xs, n, dx, NULL), TG_OK);
    tg_session *s = init_session(g);
    tg_feed feeds[3];
    for (int i = 0; i < n; i++) feeds[i] = (tg_feed){xs[i], vals[i]};
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(dx[i]);
        tg_array *an = fetch(s, dx[i], feeds, n);
        double *xv = tg_array_data(vals[i]);
        for (int64_t k = 0; k < tg_array_size(vals[i]); k++) {
            double x0 = xv[k], h = 1e-5 * (fabs(x0) > 1 ? fabs(x0) : 1);
            xv[k] = x0 + h;
            tg_array *fp = fetch(s, f, feeds, n);
            xv[k] = x0 - h;
            tg_array *fm = fetch(s, f, feeds, n);
            xv[k] = x0;
            double num = (tg_array_get(fp, 0) - tg_array_get(fm, 0)) / (2 * h), a = tg_array_get(an, k);
            double scale = fmax(1, fmax(fabs(a), fabs(num)));
            ck_assert_msg(fabs(a - num) / scale <= tol, "d/d%s[%lld]: analytic %.10g, numeric %.10g",
                          tg_tensor_name(xs[i]), (long long)k, a, num);
            tg_array_free(fp), tg_array_free(fm);
        }
        tg_array_free(an);
    }
    tg_session_free(s);
}

static void grad_case(bool nchw, bool center, bool scale, tg_optional_bool fused, bool renorm, int vbs) {
    tg_graph *g = tg_graph_new();
    tg_shape xs = renorm || vbs ? TG_SHAPE(6, 3) : nchw ? TG_SHAPE(2, 3, 2, 2) : TG_SHAPE(2, 2, 2, 3);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, xs, "x");
    TG_OPTS(tg_tf_layers_batch_norm_opts, o,
            .center = center,
            .scale = scale,
            .fused = fused,
            .renorm = renorm,
            /* r and d clipped to constants: their stop_gradient then hides
             * nothing from the finite differences */
            .renorm_clipping.rmin = 1.1, .renorm_clipping.rmax = 1.1, .renorm_clipping.dmax = 0.05,
            .virtual_batch_size = vbs);
    if (nchw) o.axis[0] = 1, o.n_axis = 1;
    TG_OPTS(tg_layer_call_opts, call_tr, .training = TG_OPT_TRUE);
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, &o);
    tg_tensor *y = tg_layer_call(l, x, &call_tr);
    ck_assert_tg_ok(g);
    bool want_fused = xs.rank == 4 && fused != TG_OPT_FALSE;
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), want_fused);
    tg_tensor *xs_t[3] = {x};
    tg_array *vals[3] = {renorm ? gc_random(xs, -1, 3, 17) : gc_random(xs, -2, 2, 17)};
    int n = 1;
    if (scale) {
        xs_t[n] = tg_variable_value(weight(l, 0));
        vals[n++] = gc_random(tg_variable_shape(weight(l, 0)), 0.5, 1.5, 23);
    }
    if (center) {
        xs_t[n] = tg_variable_value(weight(l, scale ? 1 : 0));
        vals[n++] = gc_random(tg_variable_shape(weight(l, scale ? 1 : 0)), -1, 1, 29);
    }
    if (renorm) gc_check_init(g, y, xs_t, n, vals, 1e-5);
    else gc_check(g, y, xs_t, n, vals, 1e-5);
    for (int i = 0; i < n; i++) tg_array_free(vals[i]);
    tg_layer_free(l);
    tg_graph_free(g);
}

START_TEST(test_gradients)
{
    for (int nchw = 0; nchw < 2; nchw++)
        for (int f = 0; f < 2; f++)
            for (int cs = 0; cs < 4; cs++)
                grad_case(nchw, cs & 1, cs & 2, f ? TG_OPT_FALSE : TG_OPT_NONE, false, 0);
    grad_case(false, true, true, TG_OPT_NONE, false, 3);
    grad_case(false, true, true, TG_OPT_NONE, true, 0);
    grad_case(false, false, true, TG_OPT_NONE, true, 2);
}
END_TEST

/* ---- UPDATE_OPS wired to a train op ------------------------------------------------------- */

START_TEST(test_update_ops_with_train_op)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 2), "x");
    TG_OPTS(tg_tf_layers_batch_norm_opts, bt, .training = true);
    tg_tensor *h = tg_tf_layers_batch_normalization(g, x, &bt);
    tg_tensor *loss = tg_reduce_sum(g, tg_square(g, tg_subtract(g, h, tg_constant_scalar(g, TG_FLOAT32, 1, NULL), NULL), NULL), NULL);
    tg_op **uo = NULL;
    int nu = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &uo);
    ck_assert_int_eq(nu, 2);
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_op *train = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, uo, nu) { train = tg_optimizer_minimize(opt, loss, NULL); }
    tg_free(uo);
    ck_assert_tg_ok(g);
    tg_session *s = init_session(g);
    double xv[8] = {1, 0, 2, 0, 3, 4, 6, 4}, mm[2] = {0.01 * 3, 0.01 * 2};
    tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(4, 2), xv);
    tg_feed f = {x, xa};
    run_ops(s, &train, 1, &f, 1);
    check_var(s, tg_graph_variable(g, "batch_normalization/moving_mean"), mm, 1e-6);
    /* beta moved by the step: d loss / d beta = sum 2 (y - 1) = -8 per channel */
    check_var(s, tg_graph_variable(g, "batch_normalization/beta"), (double[]){0.8, 0.8}, 1e-5);
    tg_array_free(xa);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}
END_TEST

/* ---- tf.compat.v1.keras.layers.BatchNormalization ------------------------------------------- */

START_TEST(test_keras_layer)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3), "x");
    TG_OPTS(tg_layer_call_opts, call_tr, .training = TG_OPT_TRUE);
    TG_OPTS(tg_layer_call_opts, call_inf, .training = TG_OPT_FALSE);
    TG_OPTS(tg_tf_layers_batch_norm_opts, ko, .momentum = 0.9, .beta_regularizer = tg_layers_l2_regularizer(0.1));
    tg_layer *k = tg_keras_layers_batch_normalization_new(g, &ko);
    ck_assert_str_eq(tg_layer_name(k), "batch_normalization"); /* Keras counts from 0 */
    tg_layer *k1 = tg_keras_layers_batch_normalization_new(g, NULL);
    ck_assert_str_eq(tg_layer_name(k1), "batch_normalization_1");
    ck_assert_ptr_null(tg_graph_op(g, "keras_learning_phase"));
    tg_tensor *y = tg_layer_apply(k, x, NULL); /* training=None: the learning phase */
    ck_assert_tg_ok(g);
    tg_op *lp = tg_graph_op(g, "keras_learning_phase");
    ck_assert_ptr_nonnull(lp);
    ck_assert_str_eq(tg_op_type(lp), "PlaceholderWithDefault");
    ck_assert_ptr_eq(tg_keras_backend_learning_phase(g), tg_op_output(lp, 0));
    ck_assert_str_eq(tg_variable_name(weight(k, 0)), "batch_normalization/gamma");
    ck_assert_str_eq(tg_variable_name(weight(k, 3)), "batch_normalization/moving_variance");
    ck_assert_ptr_null(tg_graph_variable(g, "batch_normalization/gamma")); /* not in the variable store */
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 4);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 2);
    ck_assert_int_eq(tg_layer_non_trainable_weights(k, NULL), 2);
    /* updates and losses stay on the layer */
    ck_assert_int_eq(tg_layer_updates(k, NULL), 2);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_UPDATE_OPS), 0);
    ck_assert_int_eq(tg_layer_losses(k, NULL), 1);
    ck_assert_int_eq(coll(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 0);
    tg_op **got = NULL;
    ck_assert_int_eq(tg_layer_get_updates_for(k, &x, 1, &got), 2);
    tg_free(got);

    tg_session *s = init_session(g);
    double xv[6] = {1, -2, 0.5, 3, 2, -1.5}, want[6], m[3], v[3], zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
    tg_array *xa = arr(TG_FLOAT32, TG_SHAPE(2, 3), xv);
    tg_array *ta = tg_array_scalar_bool(true);
    tg_feed f1 = {x, xa}, ft[2] = {{x, xa}, {tg_op_output(lp, 0), ta}};
    /* unfed: the moving statistics; the updates change nothing */
    ref_normalize(xv, (int64_t[]){2, 3}, 2, LAST2, zero, one, NULL, NULL, 1e-3, want);
    tg_array *ya = fetch(s, y, &f1, 1);
    check_values(ya, want, 6, 1e-5, "keras inference");
    tg_array_free(ya);
    tg_op *const *ups = NULL;
    tg_layer_updates(k, &ups);
    run_ops(s, ups, 2, &f1, 1);
    check_var(s, weight(k, 2), zero, 0);
    check_var(s, weight(k, 3), one, 0);
    /* learning phase fed true: batch statistics, and moving = moving *
     * momentum + batch * (1 - momentum) */
    ref_moments(xv, (int64_t[]){2, 3}, 2, LAST2, m, v);
    ref_normalize(xv, (int64_t[]){2, 3}, 2, LAST2, m, v, NULL, NULL, 1e-3, want);
    ya = fetch(s, y, ft, 2);
    check_values(ya, want, 6, 1e-5, "keras training");
    tg_array_free(ya);
    double rm[3] = {0, 0, 0}, rv[3] = {1, 1, 1};
    for (int step = 0; step < 3; step++) {
        run_ops(s, ups, 2, ft, 2);
        for (int c = 0; c < 3; c++) rm[c] = rm[c] * 0.9 + m[c] * (1 - 0.9), rv[c] = rv[c] * 0.9 + v[c] * (1 - 0.9);
    }
    check_var(s, weight(k, 2), rm, 1e-6);
    check_var(s, weight(k, 3), rv, 1e-6);
    tg_array_free(ta);
    tg_array_free(xa);
    tg_session_free(s);

    /* a static training argument builds one branch */
    tg_layer_call(k1, x, &call_inf);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_layer_updates(k1, NULL), 0);
    ck_assert_str_eq(tg_variable_name(weight(k1, 0)), "batch_normalization_1/gamma");
    tg_layer_free(k1);
    tg_layer_free(k);

    /* Keras' fused: TRUE is fused or an error; DEFAULT fused when possible */
    TG_OPTS(tg_tf_layers_batch_norm_opts, b0, .fused = TG_OPT_TRUE, .renorm = true);
    TG_OPTS(tg_tf_layers_batch_norm_opts, b1, .fused = TG_OPT_TRUE, .axis = {2}, .n_axis = 1);
    TG_OPTS(tg_tf_layers_batch_norm_opts, b2, .fused = TG_OPT_TRUE, .axis = {1, 3}, .n_axis = 2);
    TG_OPTS(tg_tf_layers_batch_norm_opts, b3, .fused = TG_OPT_TRUE, .virtual_batch_size = 2);
    struct {
        tg_tf_layers_batch_norm_opts o;
        const char *msg;
    } bad[] = {
        {b0, "Passing both fused=True and renorm=True is unsupported"},
        {b1, "Passing fused=True is only supported when axis is 1 or 3"},
        {b2, "Passing fused=True is only supported when axis is 1 or 3"},
        {b3, "Passing fused=True is unsupported when virtual_batch_size is specified."},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_ptr_null(tg_keras_layers_batch_normalization_new(g, &bad[i].o));
        expect_graph_error(g, TG_INVALID_ARGUMENT, bad[i].msg);
    }
    TG_OPTS(tg_tf_layers_batch_norm_opts, fo, .fused = TG_OPT_TRUE);
    tg_layer *kf = tg_keras_layers_batch_normalization_new(g, &fo);
    ck_assert_ptr_nonnull(kf);
    ck_assert_ptr_null(tg_layer_apply(kf, x, NULL));
    expect_graph_error(g, TG_INVALID_ARGUMENT, "Batch normalization layers with fused=True only support 4D input tensors.");
    tg_layer_free(kf);
    int before = count_ops(g, "FusedBatchNormV3");
    tg_tensor *x4 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3, 2, 2), "x4");
    TG_OPTS(tg_tf_layers_batch_norm_opts, ka1, .axis = {1}, .n_axis = 1);
    tg_layer *kd = tg_keras_layers_batch_normalization_new(g, &ka1);
    tg_layer_apply(kd, x4, NULL);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), before + 2); /* both branches of the learning phase */
    tg_layer_free(kd);
    tg_layer *kt = tg_keras_layers_batch_normalization_new(g, &fo);
    tg_tensor *x4h = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2, 2, 3), "x4h");
    tg_layer_call(kt, x4h, &call_tr);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count_ops(g, "FusedBatchNormV3"), before + 3);
    tg_layer_free(kt);
    tg_graph_free(g);
}
END_TEST

/* ---- suite ----------------------------------------------------------------------------------- */

static Suite *make_suite(void) {
    Suite *s = suite_create("tf_layers_batch_norm");
    TCase *api = tcase_create("names_and_api");
    tcase_add_test(api, test_names_collections_and_updates);
    tcase_add_test(api, test_not_trainable_center_scale_off);
    tcase_add_test(api, test_build_errors);
    tcase_add_test(api, test_axis_spellings);
    tcase_add_test(api, test_constructor_refuses_functional_fields);
    tcase_add_test(api, test_regularizers_and_constraints);
    tcase_add_test(api, test_functional_reuse);
    suite_add_tcase(s, api);
    TCase *values = tcase_create("values");
    tcase_set_timeout(values, TGC_TIMEOUT);
    tcase_add_test(values, test_values_non_fused_rank2);
    tcase_add_test(values, test_values_fused_nhwc_nchw);
    tcase_add_test(values, test_values_non_fused_4d_and_rank3);
    tcase_add_test(values, test_multi_axis);
    tcase_add_test(values, test_formats_and_fused_agree);
    tcase_add_test(values, test_float64_and_initializers);
    tcase_add_test(values, test_update_ops_with_train_op);
    suite_add_tcase(s, values);
    TCase *extra = tcase_create("ghost_batches_and_renorm");
    tcase_set_timeout(extra, TGC_TIMEOUT);
    tcase_add_test(extra, test_virtual_batch);
    tcase_add_test(extra, test_renorm_clipping);
    tcase_add_test(extra, test_renorm_same_momentum_train_test);
    tcase_add_test(extra, test_training_tensor);
    tcase_add_test(extra, test_training_tensor_non_fused_cond_skips_updates);
    tcase_add_test(extra, test_training_tensor_fused_momentum_cond);
    tcase_add_test(extra, test_adjustment);
    suite_add_tcase(s, extra);
    TCase *grad = tcase_create("gradients");
    tcase_set_timeout(grad, TGC_TIMEOUT);
    tcase_add_test(grad, test_gradients);
    suite_add_tcase(s, grad);
    TCase *keras = tcase_create("keras");
    tcase_add_test(keras, test_keras_layer);
    suite_add_tcase(s, keras);
    return s;
}

TGC_MAIN(make_suite)
