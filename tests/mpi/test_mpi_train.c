/* test_mpi_train.c: gradients of the collectives (closed forms over the
 * ranks), broadcast_global_variables, the DistributedOptimizer against one
 * process on the whole batch, and no allocation in steady-state runs. */
#include <stdlib.h>

#include "test_mpi.h"

/* Allocations so far (tg_alloc_count.h's counter, in test_mpi.c). */
long tga_count(void);

static tg_tensor *const_of(tg_graph *g, tg_dtype dtype, int rank, const int64_t *dims, const double *v) {
    tg_array *a = tg_array_new_from(TG_FLOAT64, rank, dims, v);
    tg_tensor *t = tg_constant(g, a, NULL);
    tg_array_free(a);
    return dtype == TG_FLOAT64 ? t : tg_cast(g, t, dtype, NULL);
}

/* sum(w * y) with w a constant of y's shape ([rows, cols], or [rows] when
 * cols is 0), w[i] = scale * (i + 1). */
static tg_tensor *weighted_sum(tg_graph *g, tg_tensor *y, int rows, int cols, double scale) {
    int n = cols ? rows * cols : rows; /* cols 0: a vector of rows */
    double *w = malloc((size_t)n * sizeof *w);
    for (int i = 0; i < n; i++) w[i] = scale * (i + 1);
    tg_tensor *c = const_of(g, TG_FLOAT64, cols ? 2 : 1, (int64_t[]){rows, cols}, w);
    free(w);
    return tg_reduce_sum(g, tg_multiply(g, c, y, NULL), NULL);
}

static tg_tensor *grad(tg_graph *g, tg_tensor *loss, tg_tensor *x) {
    tg_tensor *dx = NULL;
    tg_code rc = tg_gradients(g, &loss, 1, &x, 1, &dx, NULL);
    CHECK(rc == TG_OK && dx, "tg_gradients: %s", tg_graph_message(g));
    return dx;
}

static void check_fetch(tg_session *s, tg_tensor *t, const double *want, int n, double tol, const char *what) {
    tg_array *a = fetch1(s, NULL, 0, t);
    CHECK(a && tg_array_size(a) == n, "%s: size", what);
    for (int i = 0; a && i < n && i < tg_array_size(a); i++)
        CHECK(fabs(tg_array_get(a, i) - want[i]) <= tol, "%s[%d] = %.17g, want %.17g", what, i, tg_array_get(a, i),
              want[i]);
    tg_array_free(a);
}

/* Rank r's loss is c_r times something of the collective's output, with
 * c_r = r + 1; the gradient the rank computes is that of the sum of every
 * rank's loss, which the closed forms below give. T = sum of c_r. */
void case_gradients(void) {
    tg_graph *g = tg_graph_new();
    double c = R + 1, T = P * (P + 1) / 2.0, v3[3] = {1, 2, 3}, v4[4] = {1, 2, 3, 4};
    tg_tensor *x = const_of(g, TG_FLOAT64, 1, (int64_t[]){3}, v3);
    tg_tensor *d_sum = grad(g, weighted_sum(g, tg_mpi_allreduce(g, x, TG_MPI_SUM, NULL), 3, 0, c), x);
    tg_tensor *d_avg = grad(g, weighted_sum(g, tg_mpi_allreduce(g, x, TG_MPI_AVERAGE, NULL), 3, 0, c), x);
    tg_tensor *gx[2] = {x, const_of(g, TG_FLOAT64, 1, (int64_t[]){4}, v4)}, *gy[2], *dg[2];
    tg_mpi_grouped_allreduce(g, gx, 2, TG_MPI_SUM, gy, NULL);
    tg_tensor *gl = tg_add(g, weighted_sum(g, gy[0], 3, 0, c), weighted_sum(g, gy[1], 4, 0, 2 * c), NULL);
    CHECK(tg_gradients(g, &gl, 1, gx, 2, dg, NULL) == TG_OK, "%s", tg_graph_message(g));
    tg_tensor *d_b0 = grad(g, weighted_sum(g, tg_mpi_broadcast(g, x, 0, NULL), 3, 0, c), x);
    tg_tensor *d_bl = grad(g, weighted_sum(g, tg_mpi_broadcast(g, x, P - 1, NULL), 3, 0, c), x);
    /* allgather: rank r gives r + 1 rows of 2, at row offset r (r + 1) / 2 */
    int rows = 0, off = R * (R + 1) / 2;
    for (int q = 0; q < P; q++) rows += q + 1;
    double xr[8] = {0};
    for (int k = 0; k < 2 * (R + 1); k++) xr[k] = 0.5 + k + R;
    tg_tensor *xa = const_of(g, TG_FLOAT64, 2, (int64_t[]){R + 1, 2}, xr);
    tg_tensor *ya = tg_mpi_allgather(g, xa, NULL);
    tg_tensor *d_ag = grad(g, weighted_sum(g, ya, rows, 2, c), xa);
    /* twice: L = c * sum(y^2) gives dL/dx = 2 T x; L2 = sum(dL/dx * V)
     * gives dL2/dx = 2 T V (through TgMpiAllgatherGrad's gradient) */
    tg_tensor *g1 = grad(g, tg_multiply(g, tg_constant_scalar(g, TG_FLOAT64, c, NULL),
                                        tg_reduce_sum(g, tg_square(g, ya, NULL), NULL), NULL), xa);
    tg_tensor *g2 = grad(g, weighted_sum(g, g1, R + 1, 2, 1), xa);
    CHECK_OK(g);
    tg_session *s = tg_session_new(g);
    /* the weights are c_r (i + 1), so each closed form has a factor i + 1 */
    double ws[4], wa[4], w2[4], w0[4], wl[4];
    for (int i = 0; i < 4; i++) {
        ws[i] = T * (i + 1);
        wa[i] = T * (i + 1) / P;
        w2[i] = 2 * T * (i + 1);
        w0[i] = R == 0 ? T * (i + 1) : 0;
        wl[i] = R == P - 1 ? T * (i + 1) : 0;
    }
    check_fetch(s, d_sum, ws, 3, 0, "d allreduce sum");
    check_fetch(s, d_avg, wa, 3, 1e-12, "d allreduce average");
    check_fetch(s, dg[0], ws, 3, 0, "d grouped 0");
    check_fetch(s, dg[1], w2, 4, 0, "d grouped 1");
    check_fetch(s, d_b0, w0, 3, 0, "d broadcast from 0");
    check_fetch(s, d_bl, wl, 3, 0, "d broadcast from the last rank");
    double want[8], want1[8], want2[8];
    for (int k = 0; k < 2 * (R + 1); k++) {
        want[k] = T * (2 * off + k + 1);
        want1[k] = 2 * T * xr[k];
        want2[k] = 2 * T * (k + 1);
    }
    check_fetch(s, d_ag, want, 2 * (R + 1), 0, "d allgather");
    check_fetch(s, g1, want1, 2 * (R + 1), 1e-12, "d allgather of c sum(y^2)");
    check_fetch(s, g2, want2, 2 * (R + 1), 1e-12, "second derivative through TgMpiAllgatherGrad");
    tg_session_free(s);
    tg_graph_free(g);
}

/* Different graph seeds, different initial values; after the broadcast
 * every rank holds rank 0's. */
void case_broadcast_variables(void) {
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 100 + R);
    TG_OPTS(tg_get_variable_opts, wo, .initializer = tg_random_normal_initializer(0, 1));
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT64, TG_SHAPE(3, 2), &wo);
    TG_OPTS(tg_get_variable_opts, bo, .initializer = tg_random_uniform_initializer(-1, 1));
    tg_variable *b = tg_get_variable(g, "b", TG_FLOAT32, TG_SHAPE(2), &bo);
    tg_tensor *both = tg_concat(g, (tg_tensor *[]){tg_reshape(g, tg_variable_value(w), TG_SHAPE(1, 6), NULL),
                                                   tg_reshape(g, tg_cast(g, tg_variable_value(b), TG_FLOAT64, NULL),
                                                              TG_SHAPE(1, 2), NULL)},
                                2, 1, NULL);
    tg_tensor *all = tg_mpi_allgather(g, both, NULL); /* [P, 8]: every rank's values */
    tg_op *init = tg_global_variables_initializer(g);
    tg_op *sync = tg_mpi_broadcast_global_variables(g, 0);
    CHECK_OK(g);
    CHECK(sync && strcmp(tg_op_name(sync), "broadcast_global_variables") == 0 && strcmp(tg_op_type(sync), "NoOp") == 0,
          "the op: %s", sync ? tg_op_name(sync) : "NULL");
    tg_session *s = tg_session_new(g);
    run_target(s, init);
    tg_array *before = fetch1(s, NULL, 0, all);
    run_target(s, sync);
    tg_array *after = fetch1(s, NULL, 0, all);
    bool differ = false;
    for (int j = 0; before && j < 8; j++) differ |= tg_array_get(before, j) != tg_array_get(before, 8 + j);
    CHECK(differ, "ranks 0 and 1 drew the same values with different seeds");
    for (int q = 0; before && after && q < P; q++)
        for (int j = 0; j < 8; j++)
            CHECK(tg_array_get(after, 8 * q + j) == tg_array_get(before, j), "rank %d value %d is not rank 0's", q,
                  j);
    tg_array_free(before);
    tg_array_free(after);
    tg_session_free(s);
    tg_graph_free(g);
}

/* ---- DistributedOptimizer against one process --------------------------------- */

enum { B = 12, NI = 3, NH = 4, NO = 2, STEPS = 20, NV = 4 };

static double xin(int i, int j) { return sin(0.7 * i + 1.3 * j); }
static double init_value(int v, int k) { return 0.3 * sin(1.0 + 2.1 * k + 0.37 * v); }
static double target(int i, int j) { return cos(0.5 * i - 0.9 * j); }

/* A two-layer tanh MLP with fixed initial values; the loss is the mean
 * squared error over the rows fed (no batch norm: a rank's mean over its
 * share, averaged over equal shares, is the whole batch's mean). */
static tg_tensor *mlp(tg_graph *g, tg_dtype dt, tg_tensor **x, tg_tensor **t, tg_variable **vars, tg_op **set) {
    static const int64_t shapes[NV][2] = {{NI, NH}, {1, NH}, {NH, NO}, {1, NO}};
    static const char *const names[NV] = {"w1", "b1", "w2", "b2"};
    tg_op *assigns[NV];
    for (int v = 0; v < NV; v++) {
        TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer());
        vars[v] = tg_get_variable(g, names[v], dt, TG_SHAPE(shapes[v][0], shapes[v][1]), &vo);
        double init[NI * NH];
        for (int k = 0; k < shapes[v][0] * shapes[v][1]; k++) init[k] = init_value(v, k);
        assigns[v] = tg_tensor_op(tg_assign(g, tg_variable_ref(vars[v]), const_of(g, dt, 2, shapes[v], init), NULL));
    }
    *set = tg_group(g, assigns, NV, "set");
    *x = tg_placeholder(g, dt, TG_SHAPE(-1, NI), "x");
    *t = tg_placeholder(g, dt, TG_SHAPE(-1, NO), "t");
    tg_tensor *h = tg_tanh(g, tg_add(g, tg_matmul(g, *x, tg_variable_value(vars[0]), NULL),
                                     tg_variable_value(vars[1]), NULL), NULL);
    tg_tensor *y = tg_add(g, tg_matmul(g, h, tg_variable_value(vars[2]), NULL), tg_variable_value(vars[3]), NULL);
    return tg_reduce_mean(g, tg_square(g, tg_subtract(g, y, *t, NULL), NULL), NULL);
}

/* An array of dtype dt (float32 or float64) from doubles. */
static tg_array *array_of(tg_dtype dt, int64_t rows, int64_t cols, const double *v) {
    tg_array *a = tg_array_new(dt, 2, (int64_t[]){rows, cols});
    void *p = tg_array_data(a);
    for (int64_t k = 0; k < rows * cols; k++) {
        if (dt == TG_FLOAT64)
            ((double *)p)[k] = v[k];
        else
            ((float *)p)[k] = (float)v[k];
    }
    return a;
}

/* Rows [from, to) of the batch as feeds of dtype dt. */
static void batch(tg_dtype dt, int from, int to, tg_array **xa, tg_array **ta) {
    double xv[B * NI], tv[B * NO];
    for (int i = from; i < to; i++) {
        for (int j = 0; j < NI; j++) xv[(i - from) * NI + j] = xin(i, j);
        for (int j = 0; j < NO; j++) tv[(i - from) * NO + j] = target(i, j);
    }
    *xa = array_of(dt, to - from, NI, xv);
    *ta = array_of(dt, to - from, NO, tv);
}

static int count_type(tg_graph *g, const char *type) {
    int n = 0;
    for (int i = 0; i < tg_graph_num_ops(g); i++) n += strcmp(tg_op_type(tg_graph_op_at(g, i)), type) == 0;
    return n;
}

/* STEPS of Adam on rows [from, to); the variables' values after them, in
 * out (NI*NH + NH + NH*NO + NO doubles). threshold < 0: no MPI at all. */
static void train(tg_dtype dt, int64_t threshold, int from, int to, double *out) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x, *t;
    tg_variable *vars[NV];
    tg_op *set;
    tg_tensor *loss = mlp(g, dt, &x, &t, vars, &set);
    tg_optimizer *opt = tg_train_adam_optimizer_new(g, 0.05, NULL);
    if (threshold >= 0) opt = tg_mpi_distributed_optimizer(opt, NULL, threshold);
    tg_op *step = tg_optimizer_minimize(opt, loss, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    CHECK_OK(g);
    if (threshold >= 0) {
        CHECK(strcmp(tg_optimizer_name(opt), "DistributedAdam") == 0, "name %s", tg_optimizer_name(opt));
        CHECK(tg_optimizer_get_slot(opt, vars[0], "m") != NULL, "the wrapper's slots are Adam's");
        CHECK(tg_graph_op(g, "Adam/update_w1/ApplyAdam") != NULL, "Adam's update names");
        int fused = count_type(g, "HorovodGroupedAllreduce"), single = count_type(g, "HorovodAllreduce");
        CHECK(threshold == 0 ? fused == 1 && single == 0 : fused == 0 && single == NV,
              "threshold %lld: %d grouped, %d single allreduces", (long long)threshold, fused, single);
        CHECK(threshold != 0 || tg_graph_op(g, "DistributedAdam_Allreduce/HorovodGroupedAllreduce"), "fused op name");
    }
    tg_session *s = tg_session_new(g);
    run_target(s, init);
    run_target(s, set);
    tg_array *xa, *ta;
    batch(dt, from, to, &xa, &ta);
    tg_feed feeds[2] = {{x, xa}, {t, ta}};
    for (int i = 0; i < STEPS; i++) {
        tg_code rc = tg_session_run(s, feeds, 2, NULL, 0, NULL, &step, 1);
        CHECK(rc == TG_OK, "step %d: %s", i, tg_session_message(s));
    }
    int k = 0;
    for (int v = 0; v < NV; v++) {
        tg_array *a = fetch1(s, NULL, 0, tg_variable_value(vars[v]));
        for (int64_t e = 0; a && e < tg_array_size(a); e++) out[k++] = tg_array_get(a, e);
        tg_array_free(a);
    }
    tg_array_free(xa);
    tg_array_free(ta);
    tg_session_free(s);
    tg_graph_free(g);
}

void case_distributed_optimizer(void) {
    enum { N = NI * NH + NH + NH * NO + NO };
    int share = B / P;
    CHECK(B % P == 0, "the batch of %d does not split over %d ranks", B, P);
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_FLOAT32 : TG_FLOAT64;
        double tol = d ? 2e-5 : 1e-12, whole[N], fused[N], split[N], moved = 0;
        train(dt, -1, 0, B, whole);
        train(dt, 0, R * share, (R + 1) * share, fused);
        train(dt, 1, R * share, (R + 1) * share, split);
        static const int sizes[NV] = {NI * NH, NH, NH * NO, NO};
        for (int v = 0, k = 0; v < NV; v++)
            for (int e = 0; e < sizes[v]; e++, k++) moved = fmax(moved, fabs(whole[k] - init_value(v, e)));
        for (int k = 0; k < N; k++) {
            CHECK(fabs(fused[k] - whole[k]) <= tol, "%s fused: variable element %d = %.17g, one process %.17g",
                  tg_dtype_name(dt), k, fused[k], whole[k]);
            CHECK(fabs(split[k] - whole[k]) <= tol, "%s unfused: variable element %d = %.17g, one process %.17g",
                  tg_dtype_name(dt), k, split[k], whole[k]);
        }
        CHECK(moved > 0.01, "training did not move the variables");
    }
}

/* ---- steady state ----------------------------------------------------------------- */

/* Every MPI op in one plan: a training step through an allgather (its
 * gradient is TgMpiAllgatherGrad) with the gradients fused and averaged,
 * plus an allreduce, a grouped allreduce and a broadcast fetched. After
 * the first run, runs allocate nothing. */
void case_steady_state(void) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2), "x");
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_ones_initializer());
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2, 1), &vo);
    tg_variable *b = tg_get_variable(g, "b", TG_FLOAT32, TG_SHAPE(1), &vo);
    tg_tensor *y = tg_mpi_allgather(g, tg_add(g, tg_matmul(g, x, tg_variable_value(w), NULL), tg_variable_value(b),
                                              NULL), NULL);
    tg_tensor *loss = tg_reduce_mean(g, tg_square(g, tg_subtract(g, y, tg_constant_scalar(g, TG_FLOAT32, 2, NULL),
                                                                 NULL), NULL), NULL);
    tg_optimizer *opt = tg_mpi_distributed_optimizer(tg_train_gradient_descent_optimizer_new(g, 0.01, NULL), NULL, 0);
    tg_op *step = tg_optimizer_minimize(opt, loss, NULL);
    tg_tensor *gi[3] = {loss, x, tg_variable_value(w)}, *go[3];
    tg_mpi_grouped_allreduce(g, gi, 3, TG_MPI_SUM, go, NULL);
    tg_tensor *bc = tg_mpi_broadcast(g, x, 0, NULL);
    tg_tensor *ar = tg_mpi_allreduce(g, loss, TG_MPI_AVERAGE, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    CHECK_OK(g);
    tg_session *s = tg_session_new(g);
    run_target(s, init);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){2, 2}, (float[]){1, (float)R, 2, 1});
    tg_feed feed = {x, xa};
    tg_tensor *f[5] = {go[0], go[1], go[2], bc, ar};
    tg_array *o[5] = {NULL};
    tg_code rc = tg_session_run(s, &feed, 1, f, 5, o, &step, 1);
    CHECK(rc == TG_OK, "first run: %s", tg_session_message(s));
    double first = rc == TG_OK ? tg_array_get(o[4], 0) : 0;
    int failed = 0;
    long before = tga_count();
    for (int i = 0; i < 20; i++) failed += tg_session_run(s, &feed, 1, f, 5, o, &step, 1) != TG_OK;
    long during = tga_count() - before;
    CHECK(failed == 0, "%d runs failed: %s", failed, tg_session_message(s));
    CHECK(during == 0, "20 steady-state runs allocated %ld times", during);
    CHECK(o[4] && tg_array_get(o[4], 0) < first, "the loss did not fall: %g, then %g", first,
          o[4] ? tg_array_get(o[4], 0) : 0.0);
    for (int i = 0; i < 5; i++) tg_array_free(o[i]);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
