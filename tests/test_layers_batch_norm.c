/* test_layers_batch_norm.c: tf.contrib.layers.batch_norm (TF 1.15) as
 * tg_layers_batch_norm, against reference loops written here (NumPy-style:
 * per-channel mean, biased and Bessel-corrected variance, the moving
 * averages and their zero-debiased form), for the three implementations
 * TF dispatches to (fused F, core layer L, legacy N):
 * - outputs and moving statistics after several steps, for updates wired
 *   through UPDATE_OPS to a train op and for in-place updates;
 * - zero-debias, batch_weights, NHWC vs NCHW, fused vs non-fused;
 * - is_training as a placeholder_with_default (an inference run changes no
 *   variable), static inference; a run-time is_training goes through TF's
 *   cond: the run trace shows one kernel and no update in an inference run;
 * - variable names, shapes, dtypes and collections for the argument matrix
 *   of the dispatch, variables_collections, regularizers, scope numbering,
 *   the normalizer hook of conv2d / fully_connected, reuse;
 * - every error case, and training-mode gradients by finite differences;
 * - batch renormalization (the core layer's): outputs and the five moving
 *   variables after 3 steps against a reference loop (r, d, clipping,
 *   moving_variance from moving_stddev), names, collections, UPDATE_OPS,
 *   run-time is_training, and its training-mode gradients. */
#include "gradcheck.h"

/* ---- helpers ------------------------------------------------------------------------ */

static int count(tg_graph *g, const char *key)
{
    tg_item *items = NULL;
    int n = tg_get_collection(g, key, NULL, &items);
    tg_free(items);
    return n;
}

static bool in_collection(tg_graph *g, const char *key, const tg_variable *v)
{
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(g, key, NULL, &vars);
    bool found = false;
    for (int i = 0; i < n; i++) found = found || vars[i] == v;
    tg_free(vars);
    return found;
}

static tg_variable *var(tg_graph *g, const char *name)
{
    tg_variable *v = tg_graph_variable(g, name);
    ck_assert_msg(v != NULL, "no variable %s", name);
    return v;
}

/* Asserts that collection key holds exactly the variables names[0..n), in order. */
static void assert_vars(tg_graph *g, const char *key, const char *const *names, int n)
{
    tg_variable **vars = NULL;
    int got = tg_get_collection_variables(g, key, NULL, &vars);
    char list[1024] = "";
    for (int i = 0; i < got; i++) {
        strncat(list, tg_variable_name(vars[i]), sizeof list - strlen(list) - 2);
        strncat(list, " ", sizeof list - strlen(list) - 1);
    }
    ck_assert_msg(got == n, "%s holds %d variables (%s), want %d", key, got, list, n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(strcmp(tg_variable_name(vars[i]), names[i]) == 0, "%s[%d] = %s, want %s (all: %s)", key, i,
                      tg_variable_name(vars[i]), names[i], list);
    tg_free(vars);
}

/* Deterministic data in [lo, hi). */
static void fill(float *d, int64_t n, unsigned seed, double lo, double hi)
{
    seed = seed * 2654435761u + 12345u;
    for (int64_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        d[i] = (float)(lo + (hi - lo) * (double)(seed % 100000) / 100000.0);
    }
}

static tg_session *init_session(tg_graph *g)
{
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    return s;
}

/* One run: fetches[0..nf) into out (new arrays), optional target. */
static void run(tg_session *s, const tg_feed *feeds, int n_feeds, tg_tensor **fetches, int nf, tg_array **out,
                tg_op *target)
{
    for (int i = 0; i < nf; i++) out[i] = NULL;
    tg_code rc = tg_session_run(s, feeds, n_feeds, fetches, nf, out, target ? &target : NULL, target ? 1 : 0);
    ck_assert_msg(rc == TG_OK, "run: %s: %s", tg_code_name(rc), tg_session_message(s));
}

static void free_all(tg_array **a, int n)
{
    for (int i = 0; i < n; i++) tg_array_free(a[i]);
}

static void assert_close_arrays(const tg_array *a, const double *want, int64_t n, double tol, const char *what)
{
    ck_assert_int_eq(tg_array_size(a), n);
    for (int64_t i = 0; i < n; i++) {
        double v = tg_array_get(a, i);
        ck_assert_msg(fabs(v - want[i]) <= tol * (1 + fabs(want[i])), "%s[%lld] = %.9g, want %.9g", what,
                      (long long)i, v, want[i]);
    }
}

/* ---- the reference ------------------------------------------------------------------ */

#define MAXN 256
#define MAXC 8

typedef struct layout {
    int rank;
    int64_t dims[TG_MAX_RANK];
    bool nchw;
    int64_t n, c, inner, per_row;
} layout;

static layout make_layout(int rank, const int64_t *dims, bool nchw)
{
    layout L = {.rank = rank, .nchw = nchw, .n = 1, .inner = 1};
    for (int i = 0; i < rank; i++) L.dims[i] = dims[i], L.n *= dims[i];
    L.c = nchw ? dims[1] : dims[rank - 1];
    for (int i = 2; i < rank; i++) L.inner *= dims[i];
    L.per_row = L.n / dims[0];
    ck_assert(L.n <= MAXN && L.c <= MAXC);
    return L;
}

static int64_t chan(const layout *L, int64_t i) { return L->nchw ? (i / L->inner) % L->c : i % L->c; }

/* Per-channel (weighted) mean and biased variance, and the element count
 * per channel n (for the Bessel factor n / (n - 1)). */
static void ref_moments(const layout *L, const float *x, const float *w, double *mean, double *var, double *n)
{
    double sw[MAXC] = {0}, sx[MAXC] = {0}, sd[MAXC] = {0}, cnt[MAXC] = {0};
    for (int64_t i = 0; i < L->n; i++) {
        int64_t c = chan(L, i);
        double wi = w ? w[i / L->per_row] : 1.0;
        sw[c] += wi, sx[c] += wi * x[i], cnt[c] += 1;
    }
    for (int64_t c = 0; c < L->c; c++) mean[c] = sx[c] / sw[c];
    for (int64_t i = 0; i < L->n; i++) {
        int64_t c = chan(L, i);
        double wi = w ? w[i / L->per_row] : 1.0, dx = x[i] - mean[c];
        sd[c] += wi * dx * dx;
    }
    for (int64_t c = 0; c < L->c; c++) var[c] = sd[c] / sw[c], n[c] = cnt[c];
}

static void ref_normalize(const layout *L, const float *x, const double *mean, const double *var, double beta,
                          double gamma, double eps, double *y)
{
    for (int64_t i = 0; i < L->n; i++) {
        int64_t c = chan(L, i);
        y[i] = (x[i] - mean[c]) / sqrt(var[c] + eps) * gamma + beta;
    }
}

/* ---- training cases: outputs and moving statistics after N steps ----------------------- */

static const char *const MY_UPDATES[] = {"my_updates"};

typedef struct tcase {
    const char *what;
    int rank;
    int64_t dims[TG_MAX_RANK];
    tg_layers_batch_norm_opts o; /* data_format, fused, scale, updates, zero_debias, ... */
    bool bessel;      /* moving_variance receives n / (n - 1) * var (fused kernels) */
    bool float_decay; /* the core layer's fused kernel: 1 - decay computed in float32 */
    bool weights;     /* batch_weights fed */
    bool dynamic;     /* is_training a placeholder_with_default(true), plus an inference run per step */
    const char *path; /* an op the path must have built, e.g. "BatchNorm/FusedBatchNormV3" */
    double decay;     /* the decay the case trains with; 0: 0.9 */
} tcase;

/* The tables start each case's options from TG_LAYERS_BATCH_NORM_OPTS_INIT
 * (DEFAULTS, in the member's place) and set the case's fields with
 * `.o.field = v` designators at the end of the entry (O_INPLACE, O_NCHW).
 * Overriding a field of a member initialised before is defined C (C11
 * 6.7.9p19) that -Wextra warns about, so the warning is off for the tables
 * only (TABLE_BEGIN ... TABLE_END), as TG_OPTS does. */
#define DEFAULTS TG_LAYERS_BATCH_NORM_OPTS_INIT
#if defined(__clang__)
#define TABLE_BEGIN \
    _Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Winitializer-overrides\"")
#define TABLE_END _Pragma("clang diagnostic pop")
#else
#define TABLE_BEGIN _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Woverride-init\"")
#define TABLE_END _Pragma("GCC diagnostic pop")
#endif

#define NHWC4 4, {2, 2, 2, 3}
#define NCHW4 4, {2, 3, 2, 2}
/* updates_collections=None: in place (no list, so no count) */
#define INPLACE .updates_collections = NULL, .n_updates_collections = 0
#define NCHW .data_format = TG_NCHW
#define O_INPLACE .o.updates_collections = NULL, .o.n_updates_collections = 0
#define O_NCHW .o.data_format = TG_NCHW
#define O_MY_UPDATES .o.updates_collections = MY_UPDATES, .o.n_updates_collections = 1
#define FUSED_OP "BatchNorm/FusedBatchNormV3"
/* contrib's _fused_batch_norm under a run-time is_training: the kernels in
 * smart_cond's tf.cond, "cond/FusedBatchNormV3" (training) and
 * "cond/FusedBatchNormV3_1" (inference) */
#define FUSED_COND_OP "BatchNorm/cond/FusedBatchNormV3"
#define MOMENTS_OP "BatchNorm/moments/mean"
#define WMOMENTS_OP "BatchNorm/weighted_moments/weighted_input_sum"

TABLE_BEGIN
static const tcase cases[] = {
    {"F rank 2 defaults", 2, {6, 3}, DEFAULTS, true, false, false, false, FUSED_OP, .decay = 0.999},
    {"F rank 2 in place", 2, {5, 4}, DEFAULTS, true, false, false, false, FUSED_OP, .o.scale = true, O_INPLACE},
    {"F rank 2 NCHW", 2, {5, 4}, DEFAULTS, true, false, false, false, FUSED_OP, .o.scale = true, O_NCHW},
    {"F rank 4 NHWC in place", NHWC4, DEFAULTS, true, false, false, false, FUSED_OP, .o.scale = true, O_INPLACE},
    {"F rank 4 NCHW in place", NCHW4, DEFAULTS, true, false, false, false, FUSED_OP, .o.scale = true, O_INPLACE,
     O_NCHW},
    {"F rank 4 custom collection", NHWC4, DEFAULTS, true, false, false, false, FUSED_OP, O_MY_UPDATES},
    {"F zero-debias", NHWC4, DEFAULTS, true, false, false, false, FUSED_OP, .o.scale = true,
     .o.zero_debias_moving_mean = true},
    {"F zero-debias rank 2 in place", 2, {4, 3}, DEFAULTS, true, false, false, false, FUSED_OP,
     .o.zero_debias_moving_mean = true, O_INPLACE},
    {"F no center", 2, {4, 3}, DEFAULTS, true, false, false, false, FUSED_OP, .o.center = false, .o.scale = true},
    {"L fused NHWC", NHWC4, DEFAULTS, true, true, false, false, FUSED_OP, .o.scale = true},
    {"L fused NCHW", NCHW4, DEFAULTS, true, true, false, false, FUSED_OP, .o.scale = true, O_NCHW},
    {"L fused no center", NHWC4, DEFAULTS, true, true, false, false, FUSED_OP, .o.center = false},
    {"L non-fused NHWC", NHWC4, DEFAULTS, false, false, false, false, MOMENTS_OP, .o.scale = true,
     .o.fused = false},
    {"L non-fused NCHW", NCHW4, DEFAULTS, false, false, false, false, MOMENTS_OP, .o.scale = true,
     .o.fused = false, O_NCHW},
    {"L non-fused rank 2", 2, {6, 3}, DEFAULTS, false, false, false, false, MOMENTS_OP, .o.fused = false},
    {"L rank 3", 3, {2, 3, 2}, DEFAULTS, false, false, false, false, MOMENTS_OP, .o.scale = true},
    {"N in place NHWC", NHWC4, DEFAULTS, false, false, false, false, MOMENTS_OP, .o.scale = true, .o.fused = false,
     O_INPLACE},
    {"N in place NCHW", NCHW4, DEFAULTS, false, false, false, false, MOMENTS_OP, .o.scale = true, .o.fused = false,
     O_INPLACE, O_NCHW},
    {"N rank 3 NCHW in place", 3, {3, 2, 2}, DEFAULTS, false, false, false, false, MOMENTS_OP, .o.fused = false,
     O_INPLACE, O_NCHW},
    {"N zero-debias", NHWC4, DEFAULTS, false, false, false, false, MOMENTS_OP, .o.scale = true, .o.fused = false,
     .o.zero_debias_moving_mean = true},
    {"N no center", NHWC4, DEFAULTS, false, false, false, false, MOMENTS_OP, .o.center = false, .o.fused = false,
     O_INPLACE},
    {"N batch_weights rank 2", 2, {5, 3}, DEFAULTS, false, false, true, false, WMOMENTS_OP, .o.scale = true},
    {"N batch_weights NCHW", NCHW4, DEFAULTS, false, false, true, false, WMOMENTS_OP, .o.scale = true, O_NCHW,
     O_INPLACE},
    /* is_training decided at run time */
    {"F rank 2 dynamic", 2, {6, 3}, DEFAULTS, true, false, false, true, FUSED_COND_OP, .o.scale = true},
    {"F in place dynamic", NCHW4, DEFAULTS, true, false, false, true, FUSED_COND_OP, O_INPLACE, O_NCHW},
    {"F zero-debias dynamic", NHWC4, DEFAULTS, true, false, false, true, FUSED_COND_OP, .o.zero_debias_moving_mean = true},
    {"F zero-debias in place dynamic", 2, {4, 3}, DEFAULTS, true, false, false, true, FUSED_COND_OP,
     .o.zero_debias_moving_mean = true, O_INPLACE},
    /* the core layer's fused kernels go through smart_cond too (TF's "cond" in its scope) */
    {"L fused dynamic", NHWC4, DEFAULTS, true, true, false, true, FUSED_COND_OP, .o.scale = true},
    {"L non-fused dynamic", NCHW4, DEFAULTS, false, false, false, true, MOMENTS_OP, .o.fused = false, O_NCHW},
    {"N in place dynamic", NHWC4, DEFAULTS, false, false, false, true, MOMENTS_OP, .o.fused = false, O_INPLACE,
     .o.scale = true},
    {"N zero-debias in place dynamic", NCHW4, DEFAULTS, false, false, false, true, MOMENTS_OP, .o.fused = false,
     .o.zero_debias_moving_mean = true, O_INPLACE, O_NCHW},
    {"N batch_weights dynamic", 2, {5, 3}, DEFAULTS, false, false, true, true, WMOMENTS_OP, .o.scale = true},
};
TABLE_END
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

#define BETA0 0.25
#define GAMMA0 1.5
#define MEAN0 0.1
#define VAR0 2.0

START_TEST(test_training_cases)
{
    const tcase *tc = &cases[_i];
    tg_graph *g = tg_graph_new();
    tg_layers_batch_norm_opts o = tc->o;
    bool nchw = o.data_format == TG_NCHW, center = o.center, scale = o.scale;
    bool zd = o.zero_debias_moving_mean, in_place = o.updates_collections == NULL;
    double decay = tc->decay ? tc->decay : 0.9;
    o.decay = decay;
    o.param_initializers = (tg_layers_batch_norm_initializers){
        .beta = tg_constant_initializer(BETA0),
        .gamma = tg_constant_initializer(GAMMA0),
        .moving_mean = tg_constant_initializer(MEAN0),
        .moving_variance = tg_constant_initializer(VAR0),
    };
    layout L = make_layout(tc->rank, tc->dims, nchw);
    tg_shape xs = {.rank = tc->rank};
    for (int i = 0; i < tc->rank; i++) xs.dims[i] = tc->dims[i];
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, xs, "x"), *w = NULL, *t = NULL;
    if (tc->weights) o.batch_weights = w = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(tc->dims[0]), "w");
    if (tc->dynamic)
        o.is_training_t = t = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 1, NULL), TG_SCALAR,
                                                          "is_training");
    tg_tensor *y = tg_layers_batch_norm(g, x, &o);
    ck_assert_tg_ok(g);
    ck_assert_msg(tg_graph_op(g, tc->path) != NULL, "%s: no op %s", tc->what, tc->path);
    ck_assert_shape_eq(tg_tensor_shape(y), xs);
    tg_op *train = NULL;
    const char *key = o.updates_collections && !in_place ? o.updates_collections[0] : TG_GRAPHKEYS_UPDATE_OPS;
    /* A run-time is_training on contrib's own paths (F, N): the updates are
     * built in a branch of smart_cond's tf.cond, "cond_1" after F's outputs'
     * "cond", "cond" on N, and updates_collections get the cond's Merges.
     * Path L's non-fused core layer makes one cond per update ("cond" and
     * "cond_1" pick the statistics, "cond_2" and "cond_3" update) and
     * registers their Merges; its fused kernel updates outside the cond. */
    const char *cond = !tc->dynamic || tc->what[0] == 'L' ? NULL : tc->what[0] == 'F' ? "BatchNorm/cond_1/"
                                                                                         : "BatchNorm/cond/";
    bool layer_conds = tc->dynamic && tc->what[0] == 'L' && !tc->bessel;
    char name[64];
    if (cond) {
        snprintf(name, sizeof name, "%sAssignMovingAvg", cond);
        ck_assert_msg(tg_graph_op(g, name) != NULL, "%s: no op %s", tc->what, name);
        snprintf(name, sizeof name, "%sAssignMovingAvg_1", cond);
        ck_assert_msg(tg_graph_op(g, name) != NULL, "%s: no op %s", tc->what, name);
        ck_assert_ptr_null(tg_graph_op(g, "BatchNorm/AssignMovingAvg"));
    }
    if (layer_conds) {
        ck_assert_ptr_nonnull(tg_graph_op(g, "BatchNorm/cond_2/AssignMovingAvg"));
        ck_assert_ptr_nonnull(tg_graph_op(g, "BatchNorm/cond_3/AssignMovingAvg"));
        ck_assert_ptr_null(tg_graph_op(g, "BatchNorm/AssignMovingAvg"));
    }
    if (in_place) {
        ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 0);
    } else {
        tg_op **ups = NULL;
        int nu = tg_get_collection_ops(g, key, NULL, &ups);
        ck_assert_int_eq(nu, 2);
        snprintf(name, sizeof name, "%s%s", cond ? cond : "BatchNorm/", cond ? "Merge" : "AssignMovingAvg");
        ck_assert_str_eq(tg_op_name(ups[0]), layer_conds ? "BatchNorm/cond_2/Merge" : name);
        snprintf(name, sizeof name, "%s%s", cond ? cond : "BatchNorm/", cond ? "Merge_1" : "AssignMovingAvg_1");
        ck_assert_str_eq(tg_op_name(ups[1]), layer_conds ? "BatchNorm/cond_3/Merge" : name);
        TG_WITH_CONTROL_DEPENDENCIES(g, ups, nu) { train = tg_no_op(g, "train"); }
        tg_free(ups);
    }
    tg_tensor *stats[4] = {tg_variable_value(var(g, "BatchNorm/moving_mean")),
                           tg_variable_value(var(g, "BatchNorm/moving_variance"))};
    int n_stats = 2;
    if (zd) {
        stats[2] = tg_variable_value(var(g, "BatchNorm/BatchNorm/moving_mean/biased"));
        stats[3] = tg_variable_value(var(g, "BatchNorm/BatchNorm/moving_mean/local_step"));
        n_stats = 4;
    }
    tg_session *s = init_session(g);

    double d = tc->float_decay ? (double)(1.0f - (float)decay) : (double)(float)(1.0 - decay);
    double base = (double)(1.0f - (float)d); /* zero-debias: 1 - (1 - decay) in float32 */
    double rm[MAXC], rv[MAXC], rb[MAXC], step = 0;
    for (int c = 0; c < L.c; c++) rm[c] = MEAN0, rv[c] = VAR0, rb[c] = 0;
    double beta = center ? BETA0 : 0, gamma = scale ? GAMMA0 : 1, eps = 0.001;
    float xd[MAXN], wd[MAXN];
    double mean[MAXC], varb[MAXC], n[MAXC], yref[MAXN];
    tg_array *xa = NULL, *wa = NULL, *out[4];
    tg_array *t_false = tg_array_scalar_bool(false);
    for (int k = 0; k < 3; k++) {
        fill(xd, L.n, 100 * (unsigned)_i + (unsigned)k, -2.0, 3.0);
        fill(wd, tc->dims[0], 7 + (unsigned)k, 0.5, 2.0);
        xa = tg_array_new_from(TG_FLOAT32, L.rank, L.dims, xd);
        wa = tg_array_new_from(TG_FLOAT32, 1, L.dims, wd);
        tg_feed feeds[3] = {{x, xa}};
        int nfeeds = 1;
        if (tc->weights) feeds[nfeeds++] = (tg_feed){w, wa};
        feeds[nfeeds] = (tg_feed){t, t_false}; /* only for the inference runs */
        /* a training step: fetch the output, run the train op */
        run(s, feeds, nfeeds, &y, 1, out, train);
        ref_moments(&L, xd, tc->weights ? wd : NULL, mean, varb, n);
        ref_normalize(&L, xd, mean, varb, beta, gamma, eps, yref);
        assert_close_arrays(out[0], yref, L.n, 2e-5, tc->what);
        tg_array_free(out[0]);
        for (int c = 0; c < L.c; c++) {
            double vm = tc->bessel ? varb[c] * n[c] / (n[c] - 1) : varb[c];
            if (zd) {
                rb[c] = rb[c] - (rb[c] - mean[c]) * d;
                rm[c] = rb[c] / (1 - pow(base, step + 1));
            } else {
                rm[c] = rm[c] - (rm[c] - mean[c]) * d;
            }
            rv[c] = rv[c] - (rv[c] - vm) * d;
        }
        step += 1;
        run(s, NULL, 0, stats, n_stats, out, NULL);
        assert_close_arrays(out[0], rm, L.c, 1e-5, "moving_mean");
        assert_close_arrays(out[1], rv, L.c, 1e-5, "moving_variance");
        if (zd) {
            assert_close_arrays(out[2], rb, L.c, 1e-5, "biased");
            ck_assert_close(tg_array_get(out[3], 0), step, 0);
        }
        free_all(out, n_stats);
        if (tc->dynamic) {
            /* inference: the moving statistics, and no variable changes */
            run(s, feeds, nfeeds + 1, &y, 1, out, train);
            ref_normalize(&L, xd, rm, rv, beta, gamma, eps, yref);
            assert_close_arrays(out[0], yref, L.n, 2e-5, "inference output");
            tg_array_free(out[0]);
            run(s, NULL, 0, stats, n_stats, out, NULL);
            assert_close_arrays(out[0], rm, L.c, 1e-6, "moving_mean after inference");
            assert_close_arrays(out[1], rv, L.c, 1e-6, "moving_variance after inference");
            if (zd) {
                assert_close_arrays(out[2], rb, L.c, 1e-6, "biased after inference");
                ck_assert_close(tg_array_get(out[3], 0), step, 0);
            }
            free_all(out, n_stats);
        }
        tg_array_free(xa);
        tg_array_free(wa);
    }
    tg_array_free(t_false);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- run-time is_training: one branch runs (TF's smart_cond) ------------------------------- */

typedef struct ccase {
    const char *what;
    bool fused, in_place, zero_debias;
    const char *updates; /* the cond the updates are built in */
} ccase;

static const ccase ccases[] = {
    {"F UPDATE_OPS", true, false, false, "BatchNorm/cond_1/"},
    {"F in place, zero-debias", true, true, true, "BatchNorm/cond_1/"},
    {"N my_updates, zero-debias", false, false, true, "BatchNorm/cond/"},
    {"N in place", false, true, false, "BatchNorm/cond/"},
};

/* One traced run of y (and the train target); checks, over the trace, that
 * the ops of the kernel that matches `training` and the update ops ran
 * exactly when they should and the others were skipped. */
static void traced_run(tg_session *s, const ccase *cc, tg_feed *feeds, tg_tensor *y, tg_op *train, bool training)
{
    tg_array *out = NULL;
    tg_code rc = tg_session_run_opts(s, feeds, 2, &y, 1, &out, train ? &train : NULL, train ? 1 : 0,
                                     &(tg_run_options){.trace = true});
    ck_assert_msg(rc == TG_OK, "%s: %s", cc->what, tg_session_message(s));
    tg_array_free(out);
    tg_op *const *ops = NULL;
    int n = tg_session_trace(s, &ops), fused_ran = 0, fused_skipped = 0, upd_ran = 0, upd_skipped = 0;
    size_t ul = strlen(cc->updates);
    for (int i = 0; i < n; i++) {
        const char *name = tg_op_name(ops[i]), *type = tg_op_type(ops[i]);
        bool skipped = tg_session_trace_skipped(s, i);
        if (strcmp(type, "FusedBatchNormV3") == 0) {
            fused_ran += !skipped, fused_skipped += skipped;
            /* the kernel that ran is the branch's: training or inference */
            if (!skipped)
                ck_assert_str_eq(name, training ? "BatchNorm/cond/FusedBatchNormV3" : "BatchNorm/cond/FusedBatchNormV3_1");
        }
        /* every op of the updates: the AssignMovingAvg scopes (zero-debias'
         * ops too), but the Switches that bring outside tensors into the
         * branch: a Switch runs whichever branch is taken (one output dead). */
        if (strstr(name, "AssignMovingAvg") && strcmp(type, "Switch") != 0 && strcmp(type, "RefSwitch") != 0) {
            ck_assert_msg(strncmp(name, cc->updates, ul) == 0, "%s: %s outside %s", cc->what, name, cc->updates);
            ck_assert_msg(skipped == !training, "%s: %s %s", cc->what, name, skipped ? "skipped" : "ran");
            upd_ran += !skipped, upd_skipped += skipped;
        }
    }
    if (cc->fused) {
        ck_assert_int_eq(fused_ran, 1);
        ck_assert_int_eq(fused_skipped, 1);
    } else {
        ck_assert_int_eq(fused_ran + fused_skipped, 0);
    }
    /* at least the two assignments */
    ck_assert_int_ge(training ? upd_ran : upd_skipped, 2);
    ck_assert_int_eq(training ? upd_skipped : upd_ran, 0);
    ck_assert_int_gt(n, 0);
}

START_TEST(test_runtime_training_runs_one_branch)
{
    const ccase *cc = &ccases[_i];
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(6, 3), "x");
    tg_tensor *t = tg_placeholder(g, TG_BOOL, TG_SCALAR, "is_training");
    TG_OPTS(tg_layers_batch_norm_opts, o, .is_training_t = t, .fused = cc->fused, .scale = true, .decay = 0.9,
            .zero_debias_moving_mean = cc->zero_debias);
    if (cc->in_place) o.updates_collections = NULL, o.n_updates_collections = 0;
    else if (!cc->fused) o.updates_collections = MY_UPDATES, o.n_updates_collections = 1;
    tg_tensor *y = tg_layers_batch_norm(g, x, &o);
    ck_assert_tg_ok(g);
    /* TF's cond build: no kernel or update outside the conds */
    ck_assert_ptr_null(tg_graph_op(g, "BatchNorm/FusedBatchNormV3"));
    ck_assert_ptr_null(tg_graph_op(g, "BatchNorm/AssignMovingAvg"));
    ck_assert_ptr_nonnull(tg_graph_op(g, cc->fused ? "BatchNorm/cond/FusedBatchNormV3_1" : MOMENTS_OP));
    tg_op *train = NULL;
    if (!cc->in_place) {
        tg_op **ups = NULL;
        int nu = tg_get_collection_ops(g, cc->fused ? TG_GRAPHKEYS_UPDATE_OPS : MY_UPDATES[0], NULL, &ups);
        ck_assert_int_eq(nu, 2);
        ck_assert_str_eq(tg_op_type(ups[0]), "Merge");
        TG_WITH_CONTROL_DEPENDENCIES(g, ups, nu) { train = tg_no_op(g, "train"); }
        tg_free(ups);
    }
    tg_tensor *stats[2] = {tg_variable_value(var(g, "BatchNorm/moving_mean")),
                           tg_variable_value(var(g, "BatchNorm/moving_variance"))};
    tg_session *s = init_session(g);
    float xd[18];
    fill(xd, 18, 5 + (unsigned)_i, -2.0, 3.0);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){6, 3}, xd);
    tg_array *no = tg_array_scalar_bool(false), *yes = tg_array_scalar_bool(true), *st[2];
    tg_feed feeds[2] = {{x, xa}, {t, no}};

    /* inference: one kernel ran, every update skipped, nothing changed */
    traced_run(s, cc, feeds, y, train, false);
    run(s, NULL, 0, stats, 2, st, NULL);
    for (int c = 0; c < 3; c++) {
        ck_assert_double_eq(tg_array_get(st[0], c), 0.0);
        ck_assert_double_eq(tg_array_get(st[1], c), 1.0);
    }
    free_all(st, 2);

    /* training: the training kernel and the updates ran */
    feeds[1].value = yes;
    traced_run(s, cc, feeds, y, train, true);
    run(s, NULL, 0, stats, 2, st, NULL);
    bool moved = false;
    for (int c = 0; c < 3; c++) moved = moved || tg_array_get(st[0], c) != 0.0;
    ck_assert_msg(moved, "%s: training run left moving_mean at 0", cc->what);
    free_all(st, 2);

    tg_array_free(xa);
    tg_array_free(no);
    tg_array_free(yes);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* Gradients through the cond: with is_training fed true, d(sum(y * k)) by
 * x, gamma and beta equal the static training build's. */
static void bn_grads(bool fused, bool dynamic, const float *xd, tg_array **out)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(6, 3), "x");
    tg_tensor *t = dynamic ? tg_placeholder(g, TG_BOOL, TG_SCALAR, "is_training") : NULL;
    TG_OPTS(tg_layers_batch_norm_opts, o, .is_training_t = t, .fused = fused, .scale = true,
            .param_initializers.gamma = tg_constant_initializer(GAMMA0),
            .param_initializers.beta = tg_constant_initializer(BETA0));
    if (!fused) o.updates_collections = MY_UPDATES, o.n_updates_collections = 1; /* path N */
    tg_tensor *y = tg_layers_batch_norm(g, x, &o);
    float kd[18];
    fill(kd, 18, 99, -1.0, 1.0);
    tg_tensor *loss = tg_reduce_sum(g, tg_multiply(g, y, tg_constant_data(g, TG_FLOAT32, TG_SHAPE(6, 3), kd, "k"),
                                                   NULL), NULL);
    tg_tensor *wrt[3] = {x, tg_variable_value(var(g, "BatchNorm/gamma")), tg_variable_value(var(g, "BatchNorm/beta"))};
    tg_tensor *d[3] = {NULL};
    ck_assert_int_eq(tg_gradients(g, &loss, 1, wrt, 3, d, NULL), TG_OK);
    ck_assert_tg_ok(g);
    if (dynamic) ck_assert_ptr_nonnull(tg_graph_op(g, fused ? "BatchNorm/cond/FusedBatchNormV3" : "BatchNorm/cond/Merge"));
    tg_session *s = init_session(g);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){6, 3}, xd), *yes = tg_array_scalar_bool(true);
    tg_feed feeds[2] = {{x, xa}, {t, yes}};
    run(s, feeds, dynamic ? 2 : 1, d, 3, out, NULL);
    tg_array_free(xa);
    tg_array_free(yes);
    tg_session_free(s);
    tg_graph_free(g);
}

START_TEST(test_runtime_training_gradients)
{
    float xd[18];
    fill(xd, 18, 31 + (unsigned)_i, -2.0, 3.0);
    tg_array *st[3], *dy[3];
    bn_grads(_i == 0, false, xd, st);
    bn_grads(_i == 0, true, xd, dy);
    for (int k = 0; k < 3; k++) {
        double want[18];
        int64_t n = tg_array_size(st[k]);
        for (int64_t i = 0; i < n; i++) want[i] = tg_array_get(st[k], i);
        assert_close_arrays(dy[k], want, n, 1e-6, "gradient through the cond");
    }
    free_all(st, 3);
    free_all(dy, 3);
}
END_TEST

/* ---- UPDATE_OPS wired to a train op ------------------------------------------------------ */

START_TEST(test_train_op_with_update_ops)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "x");
    TG_OPTS(tg_layers_batch_norm_opts, bo, .decay = 0.5);
    tg_tensor *y = tg_layers_batch_norm(g, x, &bo);
    float wv[12];
    fill(wv, 12, 3, -1, 1);
    tg_tensor *loss = tg_reduce_sum(g, tg_multiply(g, y, tg_constant_data(g, TG_FLOAT32, TG_SHAPE(4, 3), wv, "W"),
                                                   NULL), NULL);
    /* the classic pattern: snapshot UPDATE_OPS after the model, then
     * minimize under a control dependency on it */
    tg_op **ups = NULL;
    int nu = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &ups);
    ck_assert_int_eq(nu, 2);
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_op *train = NULL, *stale = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, ups, nu) { train = tg_optimizer_minimize(opt, loss, NULL); }
    tg_free(ups);
    stale = tg_optimizer_minimize(opt, loss, &(tg_minimize_opts){.name = "stale_train"});
    ck_assert_tg_ok(g);
    tg_variable *beta_v = var(g, "BatchNorm/beta");
    tg_tensor *stats[3] = {tg_variable_value(beta_v), tg_variable_value(var(g, "BatchNorm/moving_mean")),
                           tg_variable_value(var(g, "BatchNorm/moving_variance"))};
    tg_session *s = init_session(g);
    layout L = make_layout(2, (int64_t[]){4, 3}, false);
    double beta[3] = {0, 0, 0}, rm[3] = {0, 0, 0}, rv[3] = {1, 1, 1}, d = (double)(float)0.5;
    float xd[12];
    double mean[3], vb[3], n[3], yref[12];
    tg_array *out[3];
    for (int k = 0; k < 3; k++) {
        fill(xd, 12, 40 + (unsigned)k, -1, 4);
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, L.dims, xd);
        tg_feed feed = {x, xa};
        /* fetching the output alone runs no update (pitfall 1) */
        run(s, &feed, 1, &y, 1, out, NULL);
        ref_moments(&L, xd, NULL, mean, vb, n);
        for (int64_t i = 0; i < 12; i++) yref[i] = (xd[i] - mean[i % 3]) / sqrt(vb[i % 3] + 0.001) + beta[i % 3];
        assert_close_arrays(out[0], yref, 12, 2e-5, "output");
        tg_array_free(out[0]);
        run(s, NULL, 0, stats, 3, out, NULL);
        assert_close_arrays(out[1], rm, 3, 1e-6, "moving_mean before the step");
        assert_close_arrays(out[2], rv, 3, 1e-6, "moving_variance before the step");
        free_all(out, 3);
        /* the train op runs both updates once, with the Bessel-corrected variance */
        run(s, &feed, 1, NULL, 0, NULL, train);
        for (int c = 0; c < 3; c++) {
            double wsum = 0;
            for (int b = 0; b < 4; b++) wsum += wv[b * 3 + c];
            beta[c] -= 0.1 * wsum;
            rm[c] -= (rm[c] - mean[c]) * d;
            rv[c] -= (rv[c] - vb[c] * 4.0 / 3.0) * d;
        }
        run(s, NULL, 0, stats, 3, out, NULL);
        assert_close_arrays(out[0], beta, 3, 1e-5, "beta");
        assert_close_arrays(out[1], rm, 3, 1e-5, "moving_mean");
        assert_close_arrays(out[2], rv, 3, 1e-5, "moving_variance");
        free_all(out, 3);
        tg_array_free(xa);
    }
    ck_assert_int_eq(tg_session_op_run_count(s, tg_graph_op(g, "BatchNorm/AssignMovingAvg")), 3);
    /* a train op without the dependency leaves them stale, and the check says so */
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, L.dims, xd);
    tg_feed feed = {x, xa};
    tg_code rc = tg_session_run_opts(s, &feed, 1, NULL, 0, NULL, &stale, 1,
                                     &(tg_run_options){.check_update_ops = true});
    ck_assert_int_eq(rc, TG_OK);
    ck_assert_str_contains(tg_session_warnings(s), "BatchNorm/AssignMovingAvg");
    run(s, NULL, 0, stats, 3, out, NULL);
    assert_close_arrays(out[1], rm, 3, 1e-5, "moving_mean after the stale step");
    free_all(out, 3);
    tg_array_free(xa);
    tg_optimizer_free(opt);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- static inference ------------------------------------------------------------------- */

START_TEST(test_static_inference)
{
    /* is_training=False: moving statistics, no moments, no update ops */
    TABLE_BEGIN
    static const struct {
        int rank;
        int64_t dims[4];
        tg_layers_batch_norm_opts o;
        const char *op;
    } cs[] = {
        {2, {4, 3}, DEFAULTS, "BatchNorm/FusedBatchNormV3", .o.is_training = false, .o.scale = true},
        {4, {2, 2, 2, 3}, DEFAULTS, "BatchNorm/FusedBatchNormV3", .o.is_training = false},
        {4, {2, 3, 2, 2}, DEFAULTS, "BatchNorm/batchnorm/add_1", .o.is_training = false, .o.fused = false,
         .o.data_format = TG_NCHW},
        {3, {2, 2, 3}, DEFAULTS, "BatchNorm/batchnorm/add_1", .o.is_training = false, .o.fused = false, O_INPLACE},
        {4, {2, 2, 2, 3}, DEFAULTS, "BatchNorm/FusedBatchNormV3", .o.is_training = false, O_INPLACE,
         .o.zero_debias_moving_mean = true},
    };
    TABLE_END
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        tg_graph *g = tg_graph_new();
        tg_shape xs = {.rank = cs[k].rank};
        for (int i = 0; i < cs[k].rank; i++) xs.dims[i] = cs[k].dims[i];
        float xd[24];
        fill(xd, 24, (unsigned)k, -2, 2);
        tg_tensor *x = tg_constant_data(g, TG_FLOAT32, xs, xd, "x");
        tg_tensor *y = tg_layers_batch_norm(g, x, &cs[k].o);
        ck_assert_tg_ok(g);
        ck_assert_ptr_nonnull(tg_graph_op(g, cs[k].op));
        ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 0);
        ck_assert_ptr_null(tg_graph_op(g, "BatchNorm/AssignMovingAvg"));
        ck_assert_ptr_null(tg_graph_op(g, "BatchNorm/moments/mean"));
        ck_assert_ptr_null(tg_graph_variable(g, "BatchNorm/BatchNorm/moving_mean/biased"));
        tg_session *s = init_session(g);
        tg_array *out = tgc_fetch(s, y, NULL, 0);
        int64_t n = tg_shape_num_elements(&xs);
        double want[24];
        for (int i = 0; i < n; i++) want[i] = xd[i] / sqrt(1.001); /* moving 0 / 1, beta 0, gamma 1 */
        assert_close_arrays(out, want, n, 1e-5, "inference output");
        tg_array_free(out);
        tg_session_free(s);
        tg_graph_free(g);
    }
}
END_TEST

/* ---- NHWC vs NCHW, fused vs non-fused ------------------------------------------------------ */

/* Builds one batch_norm for a [2, 3, 3, 2] (NHWC) or [2, 2, 3, 3] (NCHW)
 * input in its own graph, runs two training steps (through UPDATE_OPS or
 * in place) and returns the last output (NHWC order) and the moving
 * statistics. */
static void train_two_steps(tg_layers_batch_norm_opts o, bool nchw, double *y, double *mm, double *mv)
{
    tg_graph *g = tg_graph_new();
    o.data_format = nchw ? TG_NCHW : TG_NHWC;
    o.scale = true;
    o.decay = 0.8;
    o.param_initializers.beta = tg_constant_initializer(0.3);
    o.param_initializers.gamma = tg_constant_initializer(1.7);
    int64_t nhwc[4] = {2, 3, 3, 2}, nchw_d[4] = {2, 2, 3, 3};
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, nchw ? TG_SHAPE(2, 2, 3, 3) : TG_SHAPE(2, 3, 3, 2), "x");
    tg_tensor *out = tg_layers_batch_norm(g, x, &o);
    tg_op *train = NULL;
    if (o.updates_collections != NULL) {
        tg_op **ups = NULL;
        int nu = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &ups);
        ck_assert_int_eq(nu, 2);
        TG_WITH_CONTROL_DEPENDENCIES(g, ups, nu) { train = tg_no_op(g, "train"); }
        tg_free(ups);
    }
    tg_tensor *stats[2] = {tg_variable_value(var(g, "BatchNorm/moving_mean")),
                           tg_variable_value(var(g, "BatchNorm/moving_variance"))};
    tg_session *s = init_session(g);
    float src[36], xd[36];
    tg_array *res[2];
    for (int k = 0; k < 2; k++) {
        fill(src, 36, 90 + (unsigned)k, -3, 1); /* NHWC order */
        for (int i = 0; i < 36; i++) {
            int b = i / 18, h = (i / 6) % 3, w = (i / 2) % 3, c = i % 2;
            xd[nchw ? ((b * 2 + c) * 3 + h) * 3 + w : i] = src[i];
        }
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, nchw ? nchw_d : nhwc, xd);
        tg_feed feed = {x, xa};
        run(s, &feed, 1, &out, 1, res, train);
        for (int i = 0; i < 36; i++) {
            int b = i / 18, h = (i / 6) % 3, w = (i / 2) % 3, c = i % 2;
            y[i] = tg_array_get(res[0], nchw ? ((b * 2 + c) * 3 + h) * 3 + w : i);
        }
        tg_array_free(res[0]);
        tg_array_free(xa);
    }
    run(s, NULL, 0, stats, 2, res, NULL);
    for (int c = 0; c < 2; c++) mm[c] = tg_array_get(res[0], c), mv[c] = tg_array_get(res[1], c);
    free_all(res, 2);
    tg_session_free(s);
    tg_graph_free(g);
}

TABLE_BEGIN
static const tg_layers_batch_norm_opts variants[] = {
    [0] = DEFAULTS, [0].scale = false,                                         /* L fused */
    [1] = DEFAULTS, [1].fused = false,                                         /* L non-fused */
    [2] = DEFAULTS, [2].updates_collections = NULL, [2].n_updates_collections = 0, /* F */
    [3] = DEFAULTS, [3].updates_collections = NULL, [3].n_updates_collections = 0,
    [3].fused = false,                                                         /* N */
    [4] = DEFAULTS, [4].updates_collections = NULL, [4].n_updates_collections = 0,
    [4].zero_debias_moving_mean = true,                                        /* F, debiased */
};
TABLE_END

START_TEST(test_nhwc_equals_nchw)
{
    double y1[36], y2[36], m1[2], m2[2], v1[2], v2[2];
    train_two_steps(variants[_i], false, y1, m1, v1);
    train_two_steps(variants[_i], true, y2, m2, v2);
    for (int i = 0; i < 36; i++) ck_assert_close(y1[i], y2[i], 1e-5 * (1 + fabs(y1[i])));
    for (int c = 0; c < 2; c++) {
        ck_assert_close(m1[c], m2[c], 1e-6);
        ck_assert_close(v1[c], v2[c], 1e-6);
    }
}
END_TEST

START_TEST(test_fused_equals_non_fused)
{
    /* core layer: fused kernel vs composed ops; contrib: F vs N */
    tg_layers_batch_norm_opts fused = variants[_i * 2], plain = variants[_i * 2 + 1];
    double y1[36], y2[36], m1[2], m2[2], v1[2], v2[2];
    train_two_steps(fused, _i == 1, y1, m1, v1);
    train_two_steps(plain, _i == 1, y2, m2, v2);
    for (int i = 0; i < 36; i++) ck_assert_close(y1[i], y2[i], 1e-5 * (1 + fabs(y1[i])));
    /* the same moving mean; the moving variance differs by the Bessel
     * factor, which the reference loops of test_training_cases pin down */
    for (int c = 0; c < 2; c++) {
        ck_assert_close(m1[c], m2[c], 1e-6);
        ck_assert_msg(v1[c] > v2[c], "fused moving_variance %g should exceed the non-fused %g", v1[c], v2[c]);
    }
}
END_TEST

/* ---- variables and collections for the dispatch matrix -------------------------------------- */

#define B_ "BatchNorm/"
#define BETA B_ "beta"
#define GAMMA B_ "gamma"
#define MM B_ "moving_mean"
#define MV B_ "moving_variance"
#define BIASED B_ "BatchNorm/moving_mean/biased"
#define STEP B_ "BatchNorm/moving_mean/local_step"

typedef struct vcase {
    const char *what;
    int rank;
    int64_t dims[4];
    tg_dtype dtype;
    tg_layers_batch_norm_opts o;
    bool weights;
    const char *global[6];
    int n_global, n_model; /* MODEL_VARIABLES = the first n_model of global */
    const char *trainable[2];
    int n_trainable, n_updates;
} vcase;

TABLE_BEGIN
static const vcase vcases[] = {
    {"rank 2 defaults (F)", 2, {4, 3}, TG_FLOAT32, DEFAULTS, false, {BETA, MM, MV}, 3, 3, {BETA}, 1, 2,
     .o.scale = false},
    {"rank 2 scale (F)", 2, {4, 3}, TG_FLOAT32, DEFAULTS, false, {BETA, GAMMA, MM, MV}, 4, 4, {BETA, GAMMA}, 2, 2,
     .o.scale = true},
    {"rank 4 scale (L, gamma first)", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, false, {GAMMA, BETA, MM, MV}, 4, 4,
     {GAMMA, BETA}, 2, 2, .o.scale = true},
    {"rank 4 scale fused=False (L)", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, false, {GAMMA, BETA, MM, MV}, 4, 4,
     {GAMMA, BETA}, 2, 2, .o.scale = true, .o.fused = false},
    {"rank 4 in place (F)", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, false, {BETA, GAMMA, MM, MV}, 4, 4,
     {BETA, GAMMA}, 2, 0, .o.scale = true, O_INPLACE},
    {"rank 4 in place fused=False (N)", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, false, {BETA, GAMMA, MM, MV}, 4, 4,
     {BETA, GAMMA}, 2, 0, .o.scale = true, O_INPLACE, .o.fused = false},
    {"zero-debias (F)", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, false, {BETA, GAMMA, MM, MV, BIASED, STEP}, 6, 4,
     {BETA, GAMMA}, 2, 2, .o.scale = true, .o.zero_debias_moving_mean = true},
    {"zero-debias fused=False (N)", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, false,
     {BETA, GAMMA, MM, MV, BIASED, STEP}, 6, 6, {BETA, GAMMA}, 2, 2, .o.scale = true,
     .o.zero_debias_moving_mean = true, .o.fused = false},
    {"batch_weights (N)", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, true, {BETA, GAMMA, MM, MV}, 4, 4, {BETA, GAMMA},
     2, 2, .o.scale = true},
    {"rank 3 (L)", 3, {2, 2, 3}, TG_FLOAT32, DEFAULTS, false, {BETA, MM, MV}, 3, 3, {BETA}, 1, 2, .o.scale = false},
    {"no center, no scale (L)", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, false, {MM, MV}, 2, 2, {0}, 0, 2,
     .o.center = false},
    {"not trainable (F)", 2, {4, 3}, TG_FLOAT32, DEFAULTS, false, {BETA, GAMMA, MM, MV}, 4, 4, {0}, 0, 2,
     .o.trainable = false, .o.scale = true},
    {"not trainable (L): no update ops exposed", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, false,
     {GAMMA, BETA, MM, MV}, 4, 4, {0}, 0, 0, .o.trainable = false, .o.scale = true},
    {"not trainable (N)", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, true, {BETA, MM, MV}, 3, 3, {0}, 0, 2,
     .o.trainable = false},
    {"float64 (F)", 2, {4, 3}, TG_FLOAT64, DEFAULTS, false, {BETA, GAMMA, MM, MV}, 4, 4, {BETA, GAMMA}, 2, 2,
     .o.scale = true},
    {"float64 (L)", 4, {2, 2, 2, 3}, TG_FLOAT64, DEFAULTS, false, {BETA, MM, MV}, 3, 3, {BETA}, 1, 2,
     .o.fused = false},
    {"float64 (N)", 4, {2, 2, 2, 3}, TG_FLOAT64, DEFAULTS, false, {BETA, MM, MV, BIASED, STEP}, 5, 5, {BETA}, 1, 0,
     O_INPLACE, .o.fused = false, .o.zero_debias_moving_mean = true},
    {"is_training=False (L)", 4, {2, 2, 2, 3}, TG_FLOAT32, DEFAULTS, false, {BETA, MM, MV}, 3, 3, {BETA}, 1, 0,
     .o.is_training = false},
    {"NCHW (L)", 4, {2, 3, 2, 2}, TG_FLOAT32, DEFAULTS, false, {BETA, MM, MV}, 3, 3, {BETA}, 1, 2, O_NCHW},
};
TABLE_END

START_TEST(test_variables_matrix)
{
    const vcase *vc = &vcases[_i];
    tg_graph *g = tg_graph_new();
    tg_shape xs = {.rank = vc->rank};
    for (int i = 0; i < vc->rank; i++) xs.dims[i] = vc->dims[i];
    tg_layers_batch_norm_opts o = vc->o;
    if (vc->weights) o.batch_weights = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(vc->dims[0]), "w");
    tg_tensor *y = tg_layers_batch_norm(g, tg_placeholder(g, vc->dtype, xs, "x"), &o);
    ck_assert_msg(tg_graph_status(g) == TG_OK, "%s: %s", vc->what, tg_graph_message(g));
    ck_assert_int_eq(tg_tensor_dtype(y), vc->dtype);
    assert_vars(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, vc->global, vc->n_global);
    assert_vars(g, TG_GRAPHKEYS_MODEL_VARIABLES, vc->global, vc->n_model);
    assert_vars(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, vc->trainable, vc->n_trainable);
    int64_t c = o.data_format == TG_NCHW ? vc->dims[1] : vc->dims[vc->rank - 1];
    for (int i = 0; i < vc->n_global; i++) {
        tg_variable *v = var(g, vc->global[i]);
        ck_assert_int_eq(tg_variable_dtype(v), vc->dtype);
        if (strstr(vc->global[i], "local_step"))
            ck_assert_shape_eq(tg_variable_shape(v), TG_SCALAR);
        else
            ck_assert_shape_eq(tg_variable_shape(v), TG_SHAPE(c));
    }
    ck_assert_msg(count(g, TG_GRAPHKEYS_UPDATE_OPS) == vc->n_updates, "%s: %d update ops, want %d", vc->what,
                  count(g, TG_GRAPHKEYS_UPDATE_OPS), vc->n_updates);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES), 0);
    /* the variables are initialised as TF's defaults: zeros, ones, zeros, ones */
    tg_session *s = init_session(g);
    for (int i = 0; i < vc->n_global; i++) {
        if (strstr(vc->global[i], "local_step")) continue;
        tg_array *a = tgc_fetch(s, tg_variable_value(var(g, vc->global[i])), NULL, 0);
        bool one = strstr(vc->global[i], "gamma") || strstr(vc->global[i], "variance");
        for (int64_t k = 0; k < c; k++) ck_assert_close(tg_array_get(a, k), one ? 1 : 0, 0);
        tg_array_free(a);
    }
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_update_op_kinds)
{
    /* F and N append the update tensors; the core layer appends ops */
    tg_graph *g = tg_graph_new();
    tg_layers_batch_norm(g, tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "x"), NULL);
    tg_layers_batch_norm(g, tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 2, 2, 3), "x4"), NULL);
    ck_assert_tg_ok(g);
    tg_item *items = NULL;
    ck_assert_int_eq(tg_get_collection(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &items), 4);
    ck_assert_int_eq(items[0].kind, TG_ITEM_TENSOR);
    ck_assert_str_eq(tg_tensor_name(items[0].u.tensor), "BatchNorm/AssignMovingAvg:0");
    ck_assert_str_eq(tg_tensor_name(items[1].u.tensor), "BatchNorm/AssignMovingAvg_1:0");
    ck_assert_int_eq(items[2].kind, TG_ITEM_OP);
    ck_assert_str_eq(tg_op_name(items[2].u.op), "BatchNorm_1/AssignMovingAvg");
    ck_assert_str_eq(tg_op_name(items[3].u.op), "BatchNorm_1/AssignMovingAvg_1");
    tg_free(items);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_variables_collections)
{
    static const char *const mine[] = {"my_vars"}, *const betas[] = {"betas"}, *const mvs[] = {"mvs", "more"};
    TG_OPTS(tg_layers_batch_norm_opts, o, .scale = true, .variables_collections = mine, .n_variables_collections = 1);
    /* F: passed to get_variable, in creation order */
    tg_graph *g = tg_graph_new();
    tg_layers_batch_norm(g, tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "x"), &o);
    ck_assert_tg_ok(g);
    assert_vars(g, "my_vars", (const char *[]){BETA, GAMMA, MM, MV}, 4);
    tg_graph_free(g);
    /* L: added after the call, moving statistics first; once each under reuse */
    g = tg_graph_new();
    o.scope = "BatchNorm";
    tg_tensor *x4 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 2, 2, 3), "x");
    tg_layers_batch_norm(g, x4, &o);
    o.reuse = TG_REUSE_TRUE;
    tg_layers_batch_norm(g, x4, &o);
    ck_assert_tg_ok(g);
    assert_vars(g, "my_vars", (const char *[]){MM, MV, BETA, GAMMA}, 4);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 4);
    tg_graph_free(g);
    /* the dict form, on N */
    g = tg_graph_new();
    TG_OPTS(tg_layers_batch_norm_opts, od, .scale = true, .fused = false, INPLACE, .beta_collections = betas,
            .n_beta_collections = 1, .moving_variance_collections = mvs, .n_moving_variance_collections = 2);
    tg_layers_batch_norm(g, tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 2, 2, 3), "x"), &od);
    ck_assert_tg_ok(g);
    assert_vars(g, "betas", (const char *[]){BETA}, 1);
    assert_vars(g, "mvs", (const char *[]){MV}, 1);
    assert_vars(g, "more", (const char *[]){MV}, 1);
    ck_assert(in_collection(g, TG_GRAPHKEYS_MODEL_VARIABLES, var(g, BETA)));
    tg_graph_free(g);
}
END_TEST

START_TEST(test_regularizers)
{
    TG_OPTS(tg_layers_batch_norm_opts, o, .scale = true,
            .param_initializers = {.beta = tg_constant_initializer(0.25), .gamma = tg_constant_initializer(2)},
            .param_regularizers = {.beta = tg_layers_l2_regularizer(0.1), .gamma = tg_layers_l2_regularizer(0.2)});
    for (int path = 0; path < 3; path++) {
        tg_graph *g = tg_graph_new();
        tg_layers_batch_norm_opts oo = o;
        tg_shape xs = TG_SHAPE(4, 3); /* F */
        if (path == 1) xs = TG_SHAPE(2, 2, 2, 3); /* L */
        if (path == 2) oo.fused = false, oo.updates_collections = NULL, oo.n_updates_collections = 0; /* N */
        tg_layers_batch_norm(g, tg_placeholder(g, TG_FLOAT32, xs, "x"), &oo);
        ck_assert_tg_ok(g);
        tg_tensor **losses = NULL;
        int n = tg_get_collection_tensors(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, NULL, &losses);
        if (path == 2) {
            ck_assert_int_eq(n, 0); /* ignored on the legacy path, as TF */
            tg_graph_free(g);
            continue;
        }
        ck_assert_int_eq(n, 2);
        /* F creates beta first, the core layer gamma first */
        tg_tensor *lb = losses[path == 0 ? 0 : 1], *lg = losses[path == 0 ? 1 : 0];
        ck_assert_str_contains(tg_tensor_name(lb), "BatchNorm/beta/Regularizer/");
        ck_assert_str_contains(tg_tensor_name(lg), "BatchNorm/gamma/Regularizer/");
        tg_session *s = init_session(g);
        ck_assert_close(tgc_fetch_scalar(s, lb), 0.1 * 3 * 0.0625 / 2, 1e-7);
        ck_assert_close(tgc_fetch_scalar(s, lg), 0.2 * 3 * 4 / 2, 1e-6);
        tg_session_free(s);
        tg_free(losses);
        tg_graph_free(g);
    }
}
END_TEST

/* ---- scopes, the normalizer hook, reuse ------------------------------------------------------ */

START_TEST(test_scope_numbering)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "x");
    tg_tensor *y0 = tg_layers_batch_norm(g, x, NULL);
    tg_tensor *y1 = tg_layers_batch_norm(g, x, NULL);
    TG_OPTS(tg_layers_batch_norm_opts, bn, .scope = "bn");
    tg_tensor *y2 = tg_layers_batch_norm(g, x, &bn);
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(tg_graph_variable(g, "BatchNorm/beta"));
    ck_assert_ptr_nonnull(tg_graph_variable(g, "BatchNorm_1/beta"));
    ck_assert_ptr_nonnull(tg_graph_variable(g, "bn/moving_variance"));
    /* rank 2: the fused kernel on the reshaped input, reshaped back */
    ck_assert_str_eq(tg_op_type(tg_tensor_op(y0)), "Reshape");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(y0)), "BatchNorm/Reshape_1");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(y1)), "BatchNorm_1/Reshape_1");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(y2)), "bn/Reshape_1");
    ck_assert_shape_eq(tg_tensor_shape(y0), TG_SHAPE(4, 3));
    ck_assert_ptr_nonnull(tg_graph_op(g, "BatchNorm/FusedBatchNormV3"));
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 9);
    /* the legacy path's output is tf.nn.batch_normalization's */
    TG_OPTS(tg_layers_batch_norm_opts, legacy, .fused = false, INPLACE);
    tg_tensor *y3 = tg_layers_batch_norm(g, x, &legacy);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(y3)), "BatchNorm_2/batchnorm/add_1");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_normalizer_fn)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 4, 4, 3), "x");
    TG_OPTS(tg_layers_conv2d_opts, co, .normalizer_fn = tg_layers_batch_norm_fn);
    tg_tensor *c0 = tg_layers_conv2d(g, x, 5, TG_KERNEL(3, 3), &co);
    tg_tensor *c1 = tg_layers_conv2d(g, c0, 5, TG_KERNEL(3, 3), &co);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(c0), "Conv/Relu:0");
    ck_assert_str_eq(tg_tensor_name(c1), "Conv_1/Relu:0");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(tg_op_input(tg_tensor_op(c0), 0))), "Conv/BatchNorm/FusedBatchNormV3");
    assert_vars(g, TG_GRAPHKEYS_GLOBAL_VARIABLES,
                (const char *[]){"Conv/weights", "Conv/BatchNorm/beta", "Conv/BatchNorm/moving_mean",
                                 "Conv/BatchNorm/moving_variance", "Conv_1/weights", "Conv_1/BatchNorm/beta",
                                 "Conv_1/BatchNorm/moving_mean", "Conv_1/BatchNorm/moving_variance"},
                8);
    ck_assert_ptr_null(tg_graph_variable(g, "Conv/biases"));
    ck_assert_shape_eq(tg_variable_shape(var(g, "Conv/BatchNorm/beta")), TG_SHAPE(5));
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 4);
    /* reusing the first conv reuses its BatchNorm (the counters below a
     * re-entered named scope restart) */
    co.scope = "Conv";
    co.reuse = TG_REUSE_TRUE;
    tg_layers_conv2d(g, x, 5, TG_KERNEL(3, 3), &co);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 8);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 6);
    /* fully_connected with parameters: rank 2, so the fused contrib path */
    TG_OPTS(tg_layers_batch_norm_opts, bn, .scale = true, INPLACE);
    TG_OPTS(tg_layers_fc_opts, fo, .normalizer_fn = tg_layers_batch_norm_fn, .normalizer_params = &bn);
    tg_tensor *f = tg_layers_fully_connected(g, tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "z"), 2, &fo);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(f), "fully_connected/Relu:0");
    ck_assert_ptr_nonnull(tg_graph_variable(g, "fully_connected/BatchNorm/gamma"));
    ck_assert_ptr_null(tg_graph_variable(g, "fully_connected/biases"));
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 6);
    /* it trains: the conv stack's output is normalized per channel (before the relu) */
    tg_session *s = init_session(g);
    float xd[96];
    fill(xd, 96, 5, -1, 1);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){2, 4, 4, 3}, xd);
    tg_tensor *fetch[2] = {tg_op_input(tg_tensor_op(c0), 0), tg_graph_tensor(g, "Conv/Conv2D:0")};
    ck_assert_ptr_nonnull(fetch[1]);
    tg_array *out[2];
    run(s, &(tg_feed){x, xa}, 1, fetch, 2, out, NULL);
    for (int c = 0; c < 5; c++) {
        double m = 0, v = 0, mc = 0, vc = 0;
        for (int i = c; i < 160; i += 5) m += tg_array_get(out[0], i) / 32, mc += tg_array_get(out[1], i) / 32;
        for (int i = c; i < 160; i += 5)
            v += pow(tg_array_get(out[0], i) - m, 2) / 32, vc += pow(tg_array_get(out[1], i) - mc, 2) / 32;
        ck_assert_close(m, 0, 1e-5);
        ck_assert_close(v, vc / (vc + 0.001), 1e-4);
    }
    free_all(out, 2);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_reuse)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "x");
    TG_OPTS(tg_layers_batch_norm_opts, o, .scope = "bn", .decay = 0.5);
    tg_tensor *train_y = tg_layers_batch_norm(g, x, &o);
    /* an evaluation branch sharing the variables */
    o.reuse = TG_REUSE_TRUE;
    o.is_training = false;
    tg_tensor *eval_y = tg_layers_batch_norm(g, x, &o);
    o.is_training = true; /* TF's default */
    tg_layers_batch_norm(g, x, &o); /* a second training branch */
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 3);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 4);
    ck_assert_ptr_nonnull(tg_graph_op(g, "bn_1/FusedBatchNormV3"));
    tg_op **ups = NULL;
    int nu = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &ups);
    tg_op *train = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, ups, 2) { train = tg_no_op(g, "train"); }
    tg_free(ups);
    ck_assert_int_eq(nu, 4);
    tg_session *s = init_session(g);
    float xd[12];
    fill(xd, 12, 77, 0, 4);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){4, 3}, xd);
    tg_feed feed = {x, xa};
    tg_array *out[1];
    run(s, &feed, 1, &train_y, 1, out, train);
    tg_array_free(out[0]);
    /* the evaluation branch reads the moving statistics the training one updated */
    layout L = make_layout(2, (int64_t[]){4, 3}, false);
    double mean[3], vb[3], n[3], mm[3], mv[3], want[12];
    ref_moments(&L, xd, NULL, mean, vb, n);
    for (int c = 0; c < 3; c++) mm[c] = mean[c] * 0.5, mv[c] = 1 - (1 - vb[c] * 4 / 3) * 0.5;
    ref_normalize(&L, xd, mm, mv, 0, 1, 0.001, want);
    run(s, &feed, 1, &eval_y, 1, out, NULL);
    assert_close_arrays(out[0], want, 12, 1e-5, "evaluation output");
    tg_array_free(out[0]);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);

    /* the core layer path: gamma first; AUTO_REUSE creates, then shares */
    g = tg_graph_new();
    tg_tensor *x4 = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 2, 2, 3), "x");
    TG_OPTS(tg_layers_batch_norm_opts, a, .scope = "auto", .reuse = TG_AUTO_REUSE, .scale = true);
    tg_layers_batch_norm(g, x4, &a);
    tg_layers_batch_norm(g, x4, &a);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 4);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 4);
    TG_OPTS(tg_layers_batch_norm_opts, plain, .scope = "auto", .scale = true);
    tg_layers_batch_norm(g, x4, &plain);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "Variable auto/gamma already exists, disallowed.");
    tg_graph_free(g);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------ */

typedef struct ecase {
    const char *what;
    tg_shape shape;
    tg_dtype dtype;
    tg_layers_batch_norm_opts o;
    int extra; /* 1: batch_weights [4]; 2: batch_weights [3]; 3: is_training_t int32; 4: is_training_t [2] */
    tg_code code;
    const char *message;
} ecase;

static const char *const EMPTY[] = {"x"};
#define RENORM_MSG "renorm is not supported with batch_weights, updates_collections or zero_debias_moving_mean"

TABLE_BEGIN
static const ecase ecases[] = {
    {"data_format (F)", {2, {4, 3}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "data_format has to be either NCHW or NHWC.", .o.data_format = (tg_data_format)7},
    {"data_format (L)", {4, {2, 2, 2, 3}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "data_format has to be either NCHW or NHWC.", .o.data_format = TG_DATA_FORMAT_INVALID},
    {"data_format (N)", {4, {2, 2, 2, 3}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "data_format has to be either NCHW or NHWC.", .o.data_format = (tg_data_format)2, .o.fused = false, O_INPLACE},
    {"undefined rank (L)", {-1, {0}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT, "Input has undefined rank: None",
     .o.scale = false},
    {"undefined rank (N)", {-1, {0}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT, "Inputs x:0 has undefined rank.",
     O_INPLACE},
    {"undefined C rank 2 (F)", {2, {4, -1}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "`C` dimension must be known but is None", .o.scale = false},
    {"undefined C rank 4 (F)", {4, {2, 2, 2, -1}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "Inputs x:0 has undefined `C` dimension (?,).", O_INPLACE},
    {"undefined C NCHW (F)", {4, {2, -1, 2, 2}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "Inputs x:0 has undefined `C` dimension (?,).", O_INPLACE, O_NCHW},
    {"undefined C (L)", {4, {2, 2, 2, -1}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "Input has undefined `axis` dimension. Input shape: [2, 2, 2, None]", .o.scale = false},
    {"undefined C (N)", {3, {2, 2, -1}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "Inputs x:0 has undefined channels dimension (?,).", .o.fused = false, O_INPLACE},
    {"renorm + batch_weights", {2, {4, 3}}, TG_FLOAT32, DEFAULTS, 1, TG_INVALID_ARGUMENT, RENORM_MSG,
     .o.renorm = true},
    {"renorm + updates_collections", {2, {4, 3}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT, RENORM_MSG,
     .o.renorm = true, O_INPLACE},
    {"renorm + custom collections", {2, {4, 3}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT, RENORM_MSG,
     .o.renorm = true, O_MY_UPDATES},
    {"renorm + zero_debias", {4, {2, 2, 2, 3}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT, RENORM_MSG,
     .o.renorm = true, .o.zero_debias_moving_mean = true},
    {"reuse without scope", {2, {4, 3}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "reuse=True cannot be used without a name_or_scope", .o.reuse = TG_REUSE_TRUE},
    {"auto reuse without scope", {4, {2, 2, 2, 3}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "reuse=True cannot be used without a name_or_scope", .o.reuse = TG_AUTO_REUSE},
    {"reuse of nothing", {2, {4, 3}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT,
     "Variable nope/beta does not exist", .o.reuse = TG_REUSE_TRUE, .o.scope = "nope"},
    {"int input", {2, {4, 3}}, TG_INT32, DEFAULTS, 0, TG_INVALID_ARGUMENT, "float32 or float64", .o.scale = false},
    {"rank 1", {1, {4}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT, "2 or more dimensions", .o.scale = false},
    {"batch_weights of another batch", {2, {4, 3}}, TG_FLOAT32, DEFAULTS, 2, TG_INVALID_ARGUMENT,
     "Shapes (4,) and (3,) are incompatible", .o.scale = false},
    {"is_training not bool", {2, {4, 3}}, TG_FLOAT32, DEFAULTS, 3, TG_INVALID_ARGUMENT,
     "is_training must be a bool scalar", .o.scale = false},
    {"is_training not scalar", {4, {2, 2, 2, 3}}, TG_FLOAT32, DEFAULTS, 4, TG_INVALID_ARGUMENT,
     "is_training must be a bool scalar", .o.scale = false},
    /* a list given with no collection in it (n_updates_collections 0) */
    {"empty updates_collections", {2, {4, 3}}, TG_FLOAT32, DEFAULTS, 0, TG_INVALID_ARGUMENT, "updates_collections",
     .o.updates_collections = EMPTY, .o.n_updates_collections = 0},
    /* options not started from the INIT macro (as a compound literal
     * would be): refused, naming the macro */
    {"options without TG_LAYERS_BATCH_NORM_OPTS_INIT", {2, {4, 3}}, TG_FLOAT32, {.fused = true}, 0,
     TG_INVALID_ARGUMENT, "TG_LAYERS_BATCH_NORM_OPTS_INIT"},
};
TABLE_END

START_TEST(test_errors)
{
    const ecase *ec = &ecases[_i];
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, ec->dtype, ec->shape, "x");
    tg_layers_batch_norm_opts o = ec->o;
    if (ec->extra == 1) o.batch_weights = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4), "w");
    if (ec->extra == 2) o.batch_weights = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3), "w");
    if (ec->extra == 3) o.is_training_t = tg_placeholder(g, TG_INT32, TG_SCALAR, "t");
    if (ec->extra == 4) o.is_training_t = tg_placeholder(g, TG_BOOL, TG_SHAPE(2), "t");
    ck_assert_tg_ok(g);
    int ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_layers_batch_norm(g, x, &o));
    ck_assert_msg(tg_graph_status(g) == ec->code, "%s: %s, want %s (%s)", ec->what, tg_code_name(tg_graph_status(g)),
                  tg_code_name(ec->code), tg_graph_message(g));
    ck_assert_str_contains(tg_graph_message(g), ec->message);
    /* a rejected call leaves nothing behind: no op, no variable, no scope */
    if (ec->o.scope == NULL) {
        ck_assert_int_eq(tg_graph_num_ops(g), ops);
        ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 0);
        tg_graph_clear_status(g);
        tg_layers_batch_norm(g, tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "ok"), NULL);
        ck_assert_tg_ok(g);
        ck_assert_ptr_nonnull(tg_graph_variable(g, "BatchNorm/beta"));
    }
    tg_graph_free(g);
}
END_TEST

START_TEST(test_null_and_failed_graph)
{
    ck_assert_ptr_null(tg_layers_batch_norm(NULL, NULL, NULL));
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_null(tg_layers_batch_norm(g, NULL, NULL));
    ck_assert_tg_ok(g);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4, 3), "x");
    tg_graph_fail(g, TG_INTERNAL, "earlier failure");
    int ops = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_layers_batch_norm(g, x, NULL));
    ck_assert_ptr_null(tg_layers_batch_norm_fn(g, x, NULL));
    ck_assert_int_eq(tg_graph_num_ops(g), ops);
    ck_assert_str_eq(tg_graph_message(g), "earlier failure");
    tg_graph_free(g);
    /* an input of another graph */
    tg_graph *g1 = tg_graph_new(), *g2 = tg_graph_new();
    tg_tensor *x1 = tg_placeholder(g1, TG_FLOAT32, TG_SHAPE(4, 3), "x");
    ck_assert_ptr_null(tg_layers_batch_norm(g2, x1, NULL));
    ck_assert_tg_code(g2, TG_INVALID_ARGUMENT);
    tg_graph_free(g1);
    tg_graph_free(g2);
}
END_TEST

/* ---- activation and outputs collections ---------------------------------------------------- */

START_TEST(test_activation_and_outputs)
{
    static const char *const outs[] = {"outs", "more_outs"};
    for (int path = 0; path < 3; path++) {
        tg_graph *g = tg_graph_new();
        tg_shape xs = path == 1 ? TG_SHAPE(2, 2, 2, 3) : TG_SHAPE(4, 3);
        float xd[24];
        fill(xd, 24, 9, -2, 2);
        tg_tensor *x = tg_constant_data(g, TG_FLOAT32, xs, xd, "x");
        TG_OPTS(tg_layers_batch_norm_opts, o, .activation_fn = tg_nn_relu, .outputs_collections = outs,
                .n_outputs_collections = 2);
        if (path == 2) o.fused = false;
        tg_tensor *y = tg_layers_batch_norm(g, x, &o);
        ck_assert_tg_ok(g);
        ck_assert_str_eq(tg_tensor_name(y), "BatchNorm/Relu:0");
        tg_tensor **ts = NULL;
        ck_assert_int_eq(tg_get_collection_tensors(g, "outs", NULL, &ts), 1);
        ck_assert_ptr_eq(ts[0], y);
        tg_free(ts);
        ck_assert_int_eq(count(g, "more_outs"), 1);
        tg_session *s = init_session(g);
        tg_array *a = tgc_fetch(s, y, NULL, 0);
        int64_t n = tg_array_size(a);
        int zeros = 0;
        for (int64_t i = 0; i < n; i++) {
            ck_assert(tg_array_get(a, i) >= 0);
            zeros += tg_array_get(a, i) == 0;
        }
        ck_assert_int_gt(zeros, 0);
        tg_array_free(a);
        tg_session_free(s);
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(test_epsilon)
{
    /* epsilon 0: the fused kernel raises it to 1.001e-5, the composed ops do not */
    for (int fused = 0; fused < 2; fused++) {
        tg_graph *g = tg_graph_new();
        float xd[6] = {1, 2, 3, 5, 6, 9};
        tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3, 2), xd, "x");
        TG_OPTS(tg_layers_batch_norm_opts, eo, .epsilon = 0, .fused = fused != 0, INPLACE);
        tg_tensor *y = tg_layers_batch_norm(g, x, &eo);
        ck_assert_tg_ok(g);
        ck_assert_ptr_nonnull(tg_graph_op(g, fused ? "BatchNorm/FusedBatchNormV3" : "BatchNorm/batchnorm/add_1"));
        tg_session *s = init_session(g);
        tg_array *a = tgc_fetch(s, y, NULL, 0);
        double eps = fused ? 1.001e-5 : 0, m0 = 10.0 / 3, v0 = (pow(1 - m0, 2) + pow(3 - m0, 2) + pow(6 - m0, 2)) / 3;
        ck_assert_close(tg_array_get(a, 0), (1 - m0) / sqrt(v0 + eps), 1e-6);
        tg_array_free(a);
        tg_session_free(s);
        tg_graph_free(g);
    }
}
END_TEST

/* ---- training-mode gradients --------------------------------------------------------------- */

typedef struct gcase {
    const char *what;
    int rank;
    int64_t dims[4];
    tg_layers_batch_norm_opts o;
    bool weights;
    const char *op;
} gcase;

TABLE_BEGIN
static const gcase gcases[] = {
    {"F rank 2", 2, {4, 3}, DEFAULTS, false, FUSED_OP, .o.scale = true},
    {"F rank 4 NHWC", NHWC4, DEFAULTS, false, FUSED_OP, .o.scale = true, O_MY_UPDATES},
    {"F rank 4 NCHW no center", NCHW4, DEFAULTS, false, FUSED_OP, .o.center = false, .o.scale = true, O_MY_UPDATES,
     O_NCHW},
    {"L fused NHWC", NHWC4, DEFAULTS, false, FUSED_OP, .o.scale = true},
    {"L fused NCHW", NCHW4, DEFAULTS, false, FUSED_OP, .o.scale = true, O_NCHW},
    {"L fused no scale", NHWC4, DEFAULTS, false, FUSED_OP, .o.scale = false},
    {"L non-fused NHWC", NHWC4, DEFAULTS, false, MOMENTS_OP, .o.scale = true, .o.fused = false},
    {"L non-fused NCHW", NCHW4, DEFAULTS, false, MOMENTS_OP, .o.fused = false, O_NCHW},
    {"L rank 3", 3, {2, 3, 2}, DEFAULTS, false, MOMENTS_OP, .o.scale = true},
    {"N NHWC", NHWC4, DEFAULTS, false, MOMENTS_OP, .o.scale = true, .o.fused = false, O_MY_UPDATES},
    {"N NCHW no center", NCHW4, DEFAULTS, false, MOMENTS_OP, .o.center = false, .o.scale = true, .o.fused = false,
     O_MY_UPDATES, O_NCHW},
    {"N neither", 2, {5, 2}, DEFAULTS, false, MOMENTS_OP, .o.center = false, .o.fused = false, O_MY_UPDATES},
    {"N batch_weights", 2, {5, 3}, DEFAULTS, true, WMOMENTS_OP, .o.scale = true},
    {"N batch_weights NCHW", NCHW4, DEFAULTS, true, WMOMENTS_OP, .o.scale = true, O_NCHW},
};
TABLE_END

START_TEST(test_gradients)
{
    const gcase *gc = &gcases[_i];
    tg_graph *g = tg_graph_new();
    tg_shape xs = {.rank = gc->rank};
    for (int i = 0; i < gc->rank; i++) xs.dims[i] = gc->dims[i];
    tg_layers_batch_norm_opts o = gc->o;
    if (gc->weights) {
        double wd[5] = {0.5, 1.5, 1.0, 2.0, 0.75};
        o.batch_weights = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(gc->dims[0]), wd, "w");
    }
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, xs, "x");
    tg_tensor *y = tg_layers_batch_norm(g, x, &o);
    ck_assert_tg_ok(g);
    ck_assert_msg(tg_graph_op(g, gc->op) != NULL, "%s: no %s", gc->what, gc->op);
    int64_t c = o.data_format == TG_NCHW ? gc->dims[1] : gc->dims[gc->rank - 1];
    tg_tensor *xs_[3] = {x};
    tg_array *vals[3] = {gc_random(xs, -2, 2, (unsigned)_i)};
    int n = 1;
    if (o.center) {
        xs_[n] = tg_variable_value(var(g, "BatchNorm/beta"));
        vals[n++] = gc_random(TG_SHAPE(c), -1, 1, 50 + (unsigned)_i);
    }
    if (o.scale) {
        xs_[n] = tg_variable_value(var(g, "BatchNorm/gamma"));
        vals[n++] = gc_random(TG_SHAPE(c), 0.5, 2, 60 + (unsigned)_i);
    }
    gc_check(g, y, xs_, n, vals, 1e-6);
    for (int i = 0; i < n; i++) tg_array_free(vals[i]);
    tg_graph_free(g);
}
END_TEST

/* ---- batch renormalization: the core layer's (TF 1.15, §4.6) ------------------------------- */

#define RENORM_GLOBAL_MAX 7

typedef struct rcase {
    const char *what;
    int rank;
    int64_t dims[TG_MAX_RANK];
    tg_layers_batch_norm_opts o; /* renorm, renorm_clipping, renorm_decay, data_format, center, scale */
    bool dynamic;                /* is_training a placeholder_with_default(true), plus inference runs */
} rcase;

TABLE_BEGIN
static const rcase rcases[] = {
    {"rank 2, clipped both sides, renorm_decay", 2, {5, 3}, DEFAULTS, false, .o.scale = true,
     .o.renorm_clipping.rmax = 1.3, .o.renorm_clipping.rmin = 0.9, .o.renorm_clipping.dmax = 0.4,
     .o.renorm_decay = 0.8},
    {"rank 4 NHWC, rmax only, default renorm_decay", NHWC4, DEFAULTS, false, .o.scale = true,
     .o.renorm_clipping.rmax = 1.2},
    {"rank 4 NCHW, no clipping, no center", NCHW4, DEFAULTS, false, .o.center = false, .o.scale = true, O_NCHW,
     .o.fused = true},
    {"rank 3, dmax only, dynamic", 3, {2, 3, 2}, DEFAULTS, true, .o.renorm_clipping.dmax = 0.3,
     .o.renorm_decay = 0.5},
    {"rank 4 NCHW, clipped, dynamic", NCHW4, DEFAULTS, true, .o.scale = true, O_NCHW,
     .o.renorm_clipping.rmin = 0.95, .o.renorm_clipping.rmax = 1.05, .o.renorm_clipping.dmax = 0.1},
};
TABLE_END

/* One renorm training step of TF 1.15 per channel, on the statistics of
 * the step: writes y and advances the five moving variables. */
typedef struct rstate {
    double rmean[MAXC], rstd[MAXC], mm[MAXC], mstd[MAXC], mv[MAXC];
} rstate;

static void ref_renorm_step(const layout *L, const float *x, const tg_renorm_clipping *clip, double d_mom,
                            double d_renorm, double beta, double gamma, double eps, rstate *st, double *y)
{
    double mean[MAXC], var[MAXC], n[MAXC], r[MAXC], d[MAXC], s[MAXC];
    ref_moments(L, x, NULL, mean, var, n);
    for (int64_t c = 0; c < L->c; c++) {
        s[c] = sqrt(var[c] + eps);
        double rs = fmax(st->rstd[c], sqrt(eps)); /* the pre-update values */
        r[c] = s[c] / rs;
        d[c] = (mean[c] - st->rmean[c]) / rs;
        /* the keys left out are rmin 0, rmax and dmax inf: no clipping */
        r[c] = fmin(fmax(r[c], clip->rmin), clip->rmax);
        d[c] = fmin(fmax(d[c], -clip->dmax), clip->dmax);
    }
    for (int64_t i = 0; i < L->n; i++) {
        int64_t c = chan(L, i);
        y[i] = ((x[i] - mean[c]) / s[c] * r[c] + d[c]) * gamma + beta;
    }
    for (int64_t c = 0; c < L->c; c++) {
        st->rmean[c] -= (st->rmean[c] - mean[c]) * d_renorm;
        st->rstd[c] -= (st->rstd[c] - s[c]) * d_renorm;
        st->mm[c] -= (st->mm[c] - mean[c]) * d_mom;
        st->mstd[c] -= (st->mstd[c] - s[c]) * d_mom;
        st->mv[c] = fmax(st->mstd[c] * st->mstd[c] - eps, 0); /* relu(moving_stddev^2 - eps) */
    }
}

/* Data whose channels differ in spread and centre, so that r and d reach
 * both sides of the clipping. */
static void renorm_data(const layout *L, unsigned seed, float *x)
{
    fill(x, L->n, seed, -2.0, 3.0);
    for (int64_t i = 0; i < L->n; i++) {
        int64_t c = chan(L, i);
        x[i] = x[i] * (float)(0.3 + c) + (float)(c - 1);
    }
}

START_TEST(test_renorm_training)
{
    const rcase *rc = &rcases[_i];
    tg_graph *g = tg_graph_new();
    tg_layers_batch_norm_opts o = rc->o;
    o.renorm = true;
    o.decay = 0.9;
    o.param_initializers = (tg_layers_batch_norm_initializers){
        .beta = tg_constant_initializer(BETA0),
        .gamma = tg_constant_initializer(GAMMA0),
        .moving_mean = tg_constant_initializer(MEAN0),
        .moving_variance = tg_constant_initializer(VAR0),
    };
    bool nchw = o.data_format == TG_NCHW, center = o.center, scale = o.scale;
    layout L = make_layout(rc->rank, rc->dims, nchw);
    tg_shape xs = {.rank = rc->rank};
    for (int i = 0; i < rc->rank; i++) xs.dims[i] = rc->dims[i];
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, xs, "x"), *t = NULL;
    if (rc->dynamic)
        o.is_training_t = t = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 1, NULL), TG_SCALAR,
                                                          "is_training");
    tg_tensor *y = tg_layers_batch_norm(g, x, &o);
    ck_assert_msg(tg_graph_status(g) == TG_OK, "%s: %s", rc->what, tg_graph_message(g));
    ck_assert_shape_eq(tg_tensor_shape(y), xs);

    /* TF's names and collections: the core layer's variables in contrib's
     * scope, all model variables, the renorm statistics not trainable */
    const char *global[RENORM_GLOBAL_MAX], *trainable[2];
    int ng = 0, nt = 0;
    if (scale) global[ng++] = trainable[nt++] = GAMMA;
    if (center) global[ng++] = trainable[nt++] = BETA;
    global[ng++] = MM, global[ng++] = MV;
    global[ng++] = B_ "moving_stddev", global[ng++] = B_ "renorm_mean", global[ng++] = B_ "renorm_stddev";
    assert_vars(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, global, ng);
    assert_vars(g, TG_GRAPHKEYS_MODEL_VARIABLES, global, ng);
    assert_vars(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, trainable, nt);
    for (int i = nt; i < ng; i++) ck_assert(!tg_variable_trainable(var(g, global[i])));
    ck_assert_ptr_nonnull(tg_graph_op(g, "BatchNorm/renorm_r"));
    ck_assert_ptr_nonnull(tg_graph_op(g, "BatchNorm/renorm_d"));
    ck_assert_ptr_nonnull(tg_graph_op(g, MOMENTS_OP));
    ck_assert_ptr_null(tg_graph_op(g, FUSED_OP)); /* renorm is never fused */
    /* UPDATE_OPS: the layer's two update ops (the renorm_mean and
     * renorm_stddev updates run as their dependencies) */
    tg_item *items = NULL;
    ck_assert_int_eq(tg_get_collection(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &items), 2);
    ck_assert_int_eq(items[0].kind, TG_ITEM_OP);
    ck_assert_int_eq(items[1].kind, TG_ITEM_OP);
    /* a run-time is_training: the Merges of the last two conds (r, d and the
     * renorm updates are cond .. cond_5, after the statistics' two) */
    ck_assert_str_eq(tg_op_name(items[0].u.op), rc->dynamic ? "BatchNorm/cond_6/Merge" : "BatchNorm/AssignMovingAvg_2");
    ck_assert_str_eq(tg_op_name(items[1].u.op), rc->dynamic ? "BatchNorm/cond_7/Merge" : "BatchNorm/AssignNewValue");
    tg_op *ups[2] = {items[0].u.op, items[1].u.op}, *train = NULL;
    tg_free(items);
    TG_WITH_CONTROL_DEPENDENCIES(g, ups, 2) { train = tg_no_op(g, "train"); }
    /* a static evaluation branch sharing the variables adds no update */
    tg_tensor *eval_y = NULL;
    if (!rc->dynamic) {
        tg_layers_batch_norm_opts eo = o;
        eo.scope = "BatchNorm", eo.reuse = TG_REUSE_TRUE, eo.is_training = false;
        eval_y = tg_layers_batch_norm(g, x, &eo);
        ck_assert_tg_ok(g);
        ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 2);
        ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), ng);
    }
    tg_tensor *stats[5];
    for (int i = 0; i < 5; i++) stats[i] = tg_variable_value(var(g, global[ng - 5 + i]));
    tg_session *s = init_session(g);

    double eps = 0.001, beta = center ? BETA0 : 0, gamma = scale ? GAMMA0 : 1;
    double d_mom = (double)(float)(1.0 - 0.9);
    double d_renorm = (double)(float)(1.0 - o.renorm_decay); /* default 0.99 */
    rstate st;
    for (int c = 0; c < L.c; c++) {
        st.mm[c] = st.rmean[c] = MEAN0;
        st.mv[c] = VAR0;
        st.mstd[c] = st.rstd[c] = sqrt(VAR0); /* sqrt(moving_variance_initializer) */
    }
    float xd[MAXN];
    double yref[MAXN];
    tg_array *out[5], *t_false = tg_array_scalar_bool(false);
    for (int k = 0; k < 3; k++) {
        renorm_data(&L, 300 + 10 * (unsigned)_i + (unsigned)k, xd);
        tg_array *xa = tg_array_new_from(TG_FLOAT32, L.rank, L.dims, xd);
        tg_feed feeds[2] = {{x, xa}, {t, t_false}};
        /* output and updates in one run: r and d read the pre-update averages */
        run(s, feeds, 1, &y, 1, out, train);
        ref_renorm_step(&L, xd, &o.renorm_clipping, d_mom, d_renorm, beta, gamma, eps, &st, yref);
        assert_close_arrays(out[0], yref, L.n, 2e-5, rc->what);
        tg_array_free(out[0]);
        run(s, NULL, 0, stats, 5, out, NULL);
        assert_close_arrays(out[0], st.mm, L.c, 1e-5, "moving_mean");
        assert_close_arrays(out[1], st.mv, L.c, 1e-5, "moving_variance");
        assert_close_arrays(out[2], st.mstd, L.c, 1e-5, "moving_stddev");
        assert_close_arrays(out[3], st.rmean, L.c, 1e-5, "renorm_mean");
        assert_close_arrays(out[4], st.rstd, L.c, 1e-5, "renorm_stddev");
        free_all(out, 5);
        /* inference: the moving statistics (r = 1, d = 0) and, when the
         * flag is run-time, update ops that change nothing */
        double bm[MAXC], bv[MAXC];
        for (int c = 0; c < L.c; c++) bm[c] = st.mm[c], bv[c] = st.mv[c];
        ref_normalize(&L, xd, bm, bv, beta, gamma, eps, yref);
        if (rc->dynamic) {
            run(s, feeds, 2, &y, 1, out, train);
            assert_close_arrays(out[0], yref, L.n, 2e-5, "inference output");
            tg_array_free(out[0]);
            run(s, NULL, 0, stats, 5, out, NULL);
            assert_close_arrays(out[0], st.mm, L.c, 1e-6, "moving_mean after inference");
            assert_close_arrays(out[1], st.mv, L.c, 1e-6, "moving_variance after inference");
            assert_close_arrays(out[2], st.mstd, L.c, 1e-6, "moving_stddev after inference");
            assert_close_arrays(out[3], st.rmean, L.c, 1e-6, "renorm_mean after inference");
            assert_close_arrays(out[4], st.rstd, L.c, 1e-6, "renorm_stddev after inference");
            free_all(out, 5);
        } else {
            run(s, feeds, 1, &eval_y, 1, out, NULL);
            assert_close_arrays(out[0], yref, L.n, 2e-5, "evaluation branch");
            tg_array_free(out[0]);
        }
        tg_array_free(xa);
    }
    tg_array_free(t_false);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_renorm_collections)
{
    static const char *const mine[] = {"my_vars"};
    tg_shape xs = TG_SHAPE(2, 2, 2, 3);
    /* variables_collections: the four core variables (moving statistics
     * first), not the renorm ones */
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_layers_batch_norm_opts, o, .renorm = true, .scale = true, .variables_collections = mine,
            .n_variables_collections = 1);
    tg_layers_batch_norm(g, tg_placeholder(g, TG_FLOAT32, xs, "x"), &o);
    ck_assert_tg_ok(g);
    assert_vars(g, "my_vars", (const char *[]){MM, MV, BETA, GAMMA}, 4);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_MODEL_VARIABLES), 7);
    tg_graph_free(g);

    /* not trainable: nothing trainable, no update ops exposed */
    g = tg_graph_new();
    TG_OPTS(tg_layers_batch_norm_opts, frozen, .renorm = true, .trainable = false);
    tg_layers_batch_norm(g, tg_placeholder(g, TG_FLOAT32, xs, "x"), &frozen);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), 0);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_MODEL_VARIABLES), 6);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 0);
    tg_graph_free(g);

    /* reuse shares all seven variables and adds two more update ops;
     * param_regularizers are honoured once */
    g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, xs, "x");
    TG_OPTS(tg_layers_batch_norm_opts, r, .renorm = true, .scale = true, .scope = "bn",
            .param_regularizers = {.beta = tg_layers_l2_regularizer(0.1), .gamma = tg_layers_l2_regularizer(0.2)});
    tg_layers_batch_norm(g, x, &r);
    r.reuse = TG_REUSE_TRUE;
    tg_layers_batch_norm(g, x, &r);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_GLOBAL_VARIABLES), 7);
    ck_assert_int_eq(count(g, TG_GRAPHKEYS_UPDATE_OPS), 4);
    ck_assert_ptr_nonnull(tg_graph_op(g, "bn_1/AssignNewValue"));
    tg_tensor **losses = NULL;
    ck_assert_int_eq(tg_get_collection_tensors(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, NULL, &losses), 2);
    ck_assert_str_contains(tg_tensor_name(losses[0]), "bn/gamma/Regularizer/");
    ck_assert_str_contains(tg_tensor_name(losses[1]), "bn/beta/Regularizer/");
    tg_free(losses);
    /* without reuse the first variable created is gamma */
    r.reuse = TG_REUSE_INHERIT;
    ck_assert_ptr_null(tg_layers_batch_norm(g, x, &r));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "Variable bn/gamma already exists, disallowed.");
    tg_graph_free(g);

    /* moving_stddev starts at sqrt(moving_variance_initializer): a random
     * one has no such initializer */
    g = tg_graph_new();
    TG_OPTS(tg_layers_batch_norm_opts, ro, .renorm = true);
    ro.param_initializers.moving_variance = tg_random_uniform_initializer(1, 2);
    ck_assert_ptr_null(tg_layers_batch_norm(g, tg_placeholder(g, TG_FLOAT32, xs, "x"), &ro));
    ck_assert_tg_code(g, TG_UNIMPLEMENTED);
    ck_assert_str_contains(tg_graph_message(g), "renorm");
    tg_graph_free(g);
}
END_TEST

/* Training-mode gradients of contrib renorm. r and d are stop_gradient'ed:
 * clipped to constants (r = 1.1; d = 0.05 with renorm_mean far below the
 * batch means) they hide nothing from the finite differences. */
START_TEST(test_renorm_gradients)
{
    static const struct {
        int rank;
        int64_t dims[4];
        bool nchw;
    } cs[] = {{2, {6, 3}, false}, {4, {2, 3, 2, 2}, true}, {3, {3, 2, 2}, false}};
    tg_graph *g = tg_graph_new();
    tg_shape xs = {.rank = cs[_i].rank};
    for (int i = 0; i < xs.rank; i++) xs.dims[i] = cs[_i].dims[i];
    TG_OPTS(tg_layers_batch_norm_opts, o, .renorm = true, .scale = true, .data_format = cs[_i].nchw ? TG_NCHW : TG_NHWC,
            .renorm_clipping.rmin = 1.1, .renorm_clipping.rmax = 1.1, .renorm_clipping.dmax = 0.05,
            .param_initializers = {.moving_mean = tg_constant_initializer(-5)});
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, xs, "x");
    tg_tensor *y = tg_layers_batch_norm(g, x, &o);
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(tg_graph_op(g, "BatchNorm/renorm_r"));
    int64_t c = cs[_i].nchw ? xs.dims[1] : xs.dims[xs.rank - 1];
    tg_tensor *xs_[3] = {x, tg_variable_value(var(g, BETA)), tg_variable_value(var(g, GAMMA))};
    tg_array *vals[3] = {gc_random(xs, -1, 3, 70 + (unsigned)_i), gc_random(TG_SHAPE(c), -1, 1, 80 + (unsigned)_i),
                         gc_random(TG_SHAPE(c), 0.5, 2, 90 + (unsigned)_i)};
    gc_check_ex(g, y, xs_, 3, vals, 1e-6, true);
    for (int i = 0; i < 3; i++) tg_array_free(vals[i]);
    tg_graph_free(g);
}
END_TEST

/* ---- the suite ------------------------------------------------------------------------- */

static Suite *make_suite(void)
{
    Suite *s = suite_create("layers_batch_norm");
    TCase *train = tcase_create("training");
    tcase_set_timeout(train, TGC_TIMEOUT);
    tcase_add_loop_test(train, test_training_cases, 0, N_CASES);
    tcase_add_test(train, test_train_op_with_update_ops);
    tcase_add_loop_test(train, test_runtime_training_runs_one_branch, 0, (int)(sizeof ccases / sizeof ccases[0]));
    tcase_add_test(train, test_static_inference);
    tcase_add_loop_test(train, test_nhwc_equals_nchw, 0, (int)(sizeof variants / sizeof variants[0]));
    tcase_add_loop_test(train, test_fused_equals_non_fused, 0, 2);
    suite_add_tcase(s, train);

    TCase *vars = tcase_create("variables");
    tcase_set_timeout(vars, TGC_TIMEOUT);
    tcase_add_loop_test(vars, test_variables_matrix, 0, (int)(sizeof vcases / sizeof vcases[0]));
    tcase_add_test(vars, test_update_op_kinds);
    tcase_add_test(vars, test_variables_collections);
    tcase_add_test(vars, test_regularizers);
    tcase_add_test(vars, test_scope_numbering);
    tcase_add_test(vars, test_normalizer_fn);
    tcase_add_test(vars, test_reuse);
    tcase_add_test(vars, test_activation_and_outputs);
    tcase_add_test(vars, test_epsilon);
    suite_add_tcase(s, vars);

    TCase *errors = tcase_create("errors");
    tcase_set_timeout(errors, TGC_TIMEOUT);
    tcase_add_loop_test(errors, test_errors, 0, (int)(sizeof ecases / sizeof ecases[0]));
    tcase_add_test(errors, test_null_and_failed_graph);
    suite_add_tcase(s, errors);

    TCase *grads = tcase_create("gradients");
    tcase_set_timeout(grads, TGC_TIMEOUT);
    tcase_add_loop_test(grads, test_gradients, 0, (int)(sizeof gcases / sizeof gcases[0]));
    tcase_add_loop_test(grads, test_runtime_training_gradients, 0, 2);
    tcase_add_loop_test(grads, test_renorm_gradients, 0, 3);
    suite_add_tcase(s, grads);

    TCase *renorm = tcase_create("renorm");
    tcase_set_timeout(renorm, TGC_TIMEOUT);
    tcase_add_loop_test(renorm, test_renorm_training, 0, (int)(sizeof rcases / sizeof rcases[0]));
    tcase_add_test(renorm, test_renorm_collections);
    suite_add_tcase(s, renorm);
    return s;
}

TGC_MAIN(make_suite)
