/* test_mpi_sync_bn.c: tg_layers_batch_norm's sync option (Horovod's
 * SyncBatchNormalization). P ranks with local batches of LB and sync BN,
 * trained with the DistributedOptimizer, against one process on the whole
 * batch of P * LB with the fused kernel (an independent implementation of
 * the same statistics: batch moments, Bessel-corrected moving variance);
 * the first step's moving statistics against moments computed here. */
#include <stdlib.h>

#include "test_mpi.h"

enum { LB = 32, NI = 3, NH = 4, STEPS = 20, MAXV = 8, MAXG = 64, MAXROWS = 8 * LB };
enum kind { WHOLE, SYNC, LOCAL };
/* Exact in float32: the fused kernel's epsilon is a float attribute and
 * assign_moving_average casts the decay from a float32 constant (as TF), so
 * other values would part the paths by float32 rounding, not by BN. */
static const double DECAY = 0.875, EPS = 1.0 / 1024, LR = 0.1;

/* Rows whose mean and spread change with the row, so that every rank's
 * share of the batch has other moments than the whole batch. */
static double xin(int i, int j) { return sin(0.37 * i + 1.3 * j) + 0.04 * i * (j + 1); }
static double target(int i) { return cos(0.21 * i); }
static double w1_init(int k) { return 0.3 * sin(1.7 * k + 0.5); }
static double w2_init(int k) { return 0.5 * cos(0.9 * k); }

typedef struct model {
    tg_graph *g;
    tg_tensor *x, *t, *loss, **grads;
    tg_variable **vars, *mm, *mv;
    tg_tensor *gathered[2]; /* allgathers of the moving mean and variance (not WHOLE) */
    int n;
    tg_op *step, *set, *init, **ups;
    int nu;
} model;

static tg_variable *var(tg_graph *g, const char *name, int64_t rows, int64_t cols) {
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer());
    return tg_get_variable(g, name, TG_FLOAT64, cols ? TG_SHAPE(rows, cols) : TG_SHAPE(rows), &vo);
}

static tg_tensor *matrix(tg_graph *g, int rows, int cols, double (*f)(int)) {
    double v[NI * NH];
    for (int k = 0; k < rows * cols; k++) v[k] = f(k);
    tg_array *a = tg_array_new_from(TG_FLOAT64, 2, (int64_t[]){rows, cols}, v);
    tg_tensor *t = tg_constant(g, a, NULL);
    tg_array_free(a);
    return t;
}

static tg_variable *find_var(tg_graph *g, const char *name) {
    tg_variable **vs = NULL, *found = NULL;
    int n = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vs);
    for (int i = 0; i < n; i++)
        if (strcmp(tg_variable_name(vs[i]), name) == 0) found = vs[i];
    tg_free(vs);
    return found;
}

/* x -> x w1 -> batch_norm (scale, center) -> tanh -> . w2 + b2, MSE. */
static tg_tensor *forward(model *m, enum kind k) {
    tg_graph *g = m->g;
    tg_variable *w1 = var(g, "w1", NI, NH), *w2 = var(g, "w2", NH, 1), *b2 = var(g, "b2", 1, 0);
    tg_tensor *h = tg_matmul(g, m->x, tg_variable_value(w1), NULL);
    TG_OPTS(tg_layers_batch_norm_opts, bo, .scale = true, .decay = DECAY, .epsilon = EPS, .scope = "bn", .sync = k == SYNC,
            .fused = k == WHOLE);
    tg_tensor *y = tg_tanh(g, tg_layers_batch_norm(g, h, &bo), NULL);
    tg_tensor *out = tg_add(g, tg_matmul(g, y, tg_variable_value(w2), NULL), tg_variable_value(b2), NULL);
    tg_tensor *sets[2] = {tg_assign(g, tg_variable_ref(w1), matrix(g, NI, NH, w1_init), NULL),
                          tg_assign(g, tg_variable_ref(w2), matrix(g, NH, 1, w2_init), NULL)};
    tg_op *so[2] = {tg_tensor_op(sets[0]), tg_tensor_op(sets[1])};
    m->set = tg_group(g, so, 2, "set");
    return tg_reduce_mean(g, tg_square(g, tg_subtract(g, out, m->t, NULL), NULL), NULL);
}

static void build(model *m, enum kind k) {
    tg_graph *g = m->g = tg_graph_new();
    m->x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1, NI), "x");
    m->t = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1, 1), "t");
    m->loss = forward(m, k);
    m->mm = find_var(g, "bn/moving_mean");
    m->mv = find_var(g, "bn/moving_variance");
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, LR, NULL);
    if (k != WHOLE) {
        opt = tg_mpi_distributed_optimizer(opt, NULL, 0);
        /* the loss of the whole batch: the ranks' shares are equal */
        m->loss = tg_mpi_allreduce(g, m->loss, TG_MPI_AVERAGE, NULL);
    }
    m->n = tg_optimizer_compute_gradients(opt, m->loss, NULL, 0, &m->grads, &m->vars);
    m->step = tg_optimizer_apply_gradients(opt, m->grads, m->vars, m->n, NULL, NULL);
    m->nu = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &m->ups);
    if (k != WHOLE && m->mm && m->mv) {
        m->gathered[0] = tg_mpi_allgather(g, tg_expand_dims(g, tg_variable_value(m->mm), 0, NULL), NULL);
        m->gathered[1] = tg_mpi_allgather(g, tg_expand_dims(g, tg_variable_value(m->mv), 0, NULL), NULL);
    }
    m->init = tg_global_variables_initializer(g);
    CHECK_OK(g);
    CHECK(m->mm && m->mv && m->n == 5 && m->nu == 2, "model: %d gradients, %d update ops", m->n, m->nu);
}

static void free_model(model *m) {
    tg_free(m->grads), tg_free(m->vars), tg_free(m->ups);
    tg_graph_free(m->g);
}

static tg_array *rows(int from, int to, bool targets) {
    double v[MAXROWS * NI];
    int cols = targets ? 1 : NI;
    for (int i = from; i < to; i++)
        for (int j = 0; j < cols; j++) v[(i - from) * cols + j] = targets ? target(i) : xin(i, j);
    return tg_array_new_from(TG_FLOAT64, 2, (int64_t[]){to - from, cols}, v);
}

/* What one training run records: per step the loss and the gradients
 * (flattened); at the end the variables, moving statistics last. */
typedef struct trace {
    double loss[STEPS], grads[STEPS][MAXG], vars[MAXG], first_mm[NH], first_mv[NH];
    int n_grads, n_vars;
} trace;

static void append(double *dst, int *k, tg_array *a) {
    for (int64_t e = 0; a && e < tg_array_size(a) && *k < MAXG; e++) dst[(*k)++] = tg_array_get(a, e);
}

static void fetch_vec(tg_session *s, tg_variable *v, double *dst) {
    tg_array *a = fetch1(s, NULL, 0, tg_variable_value(v));
    for (int64_t e = 0; a && e < NH; e++) dst[e] = tg_array_get(a, e);
    tg_array_free(a);
}

static void train_steps(model *m, tg_session *s, const tg_feed *feeds, trace *tr) {
    tg_op *targets[3] = {m->step, m->ups[0], m->ups[1]};
    tg_tensor *fetches[1 + MAXV];
    fetches[0] = m->loss;
    for (int i = 0; i < m->n; i++) fetches[1 + i] = m->grads[i];
    for (int st = 0; st < STEPS; st++) {
        tg_array *out[1 + MAXV] = {NULL};
        tg_code rc = run(s, feeds, 2, fetches, 1 + m->n, out, targets, 3);
        CHECK(rc == TG_OK, "step %d: %s", st, tg_session_message(s));
        tr->loss[st] = out[0] ? tg_array_get(out[0], 0) : NAN;
        tr->n_grads = 0;
        for (int i = 0; i < m->n; i++) append(tr->grads[st], &tr->n_grads, out[1 + i]);
        for (int i = 0; i <= m->n; i++) tg_array_free(out[i]);
        if (st == 0) fetch_vec(s, m->mm, tr->first_mm), fetch_vec(s, m->mv, tr->first_mv);
    }
}

/* Trains kind k on rows [from, to) for STEPS steps into tr; gathered gets
 * every rank's moving mean and variance (P x NH each) when not WHOLE. */
static void train(enum kind k, int from, int to, trace *tr, double gathered[2][MAXG]) {
    model m = {0};
    build(&m, k);
    if (tg_graph_status(m.g) != TG_OK || m.nu != 2) {
        free_model(&m);
        return;
    }
    tg_session *s = tg_session_new(m.g);
    run_target(s, m.init);
    run_target(s, m.set);
    tg_array *xa = rows(from, to, false), *ta = rows(from, to, true);
    tg_feed feeds[2] = {{m.x, xa}, {m.t, ta}};
    train_steps(&m, s, feeds, tr);
    tr->n_vars = 0;
    tg_variable *all[MAXV];
    for (int i = 0; i < m.n; i++) all[i] = m.vars[i];
    all[m.n] = m.mm, all[m.n + 1] = m.mv;
    for (int i = 0; i < m.n + 2; i++) {
        tg_array *a = fetch1(s, NULL, 0, tg_variable_value(all[i]));
        append(tr->vars, &tr->n_vars, a);
        tg_array_free(a);
    }
    for (int q = 0; q < 2 && k != WHOLE; q++) {
        tg_array *a = fetch1(s, NULL, 0, m.gathered[q]);
        int n = 0;
        append(gathered[q], &n, a);
        tg_array_free(a);
    }
    tg_array_free(xa), tg_array_free(ta);
    tg_session_free(s);
    free_model(&m);
}

/* The first step's moving statistics, from moments computed here: h = x w1
 * over the whole batch, mean and Bessel-corrected variance per channel. */
static void first_moments(int n, double mm[NH], double mv[NH]) {
    for (int c = 0; c < NH; c++) {
        double s = 0, ss = 0;
        for (int i = 0; i < n; i++) {
            double h = 0;
            for (int j = 0; j < NI; j++) h += xin(i, j) * w1_init(j * NH + c);
            s += h, ss += h * h;
        }
        double mean = s / n, var = (ss - n * mean * mean) / (n - 1);
        mm[c] = (1 - DECAY) * mean;
        mv[c] = DECAY * 1.0 + (1 - DECAY) * var;
    }
}

static double max_diff(const double *a, const double *b, int n) {
    double d = 0;
    for (int i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

void case_sync_batch_norm(void) {
    static trace whole, sync, local;
    double gs[2][MAXG] = {{0}}, gl[2][MAXG] = {{0}}, unused[2][MAXG];
    int n = LB * P;
    if (n > MAXROWS || P * NH > MAXG) {
        CHECK(false, "%d ranks: more than the test's buffers hold", P);
        return;
    }
    train(WHOLE, 0, n, &whole, unused);
    train(SYNC, R * LB, (R + 1) * LB, &sync, gs);
    train(LOCAL, R * LB, (R + 1) * LB, &local, gl);
    double mm[NH], mv[NH];
    first_moments(n, mm, mv);
    CHECK(max_diff(sync.first_mm, mm, NH) <= 1e-12, "sync: first moving mean off by %g", max_diff(sync.first_mm, mm, NH));
    CHECK(max_diff(sync.first_mv, mv, NH) <= 1e-12, "sync: first moving variance off by %g",
          max_diff(sync.first_mv, mv, NH));
    CHECK(max_diff(whole.first_mv, mv, NH) <= 1e-12, "whole: first moving variance off");
    CHECK(sync.n_grads == whole.n_grads && sync.n_vars == whole.n_vars && whole.n_vars == NI * NH + 5 * NH + 1,
          "sizes: %d/%d gradients, %d/%d variables", sync.n_grads, whole.n_grads, sync.n_vars, whole.n_vars);
    for (int st = 0; st < STEPS; st++) {
        CHECK(fabs(sync.loss[st] - whole.loss[st]) <= 1e-10, "step %d: loss %.17g, one process %.17g", st,
              sync.loss[st], whole.loss[st]);
        double d = max_diff(sync.grads[st], whole.grads[st], whole.n_grads);
        CHECK(d <= 1e-10, "step %d: gradients off by %g", st, d);
    }
    CHECK(whole.loss[STEPS - 1] < 0.9 * whole.loss[0], "the loss did not fall: %g, then %g", whole.loss[0],
          whole.loss[STEPS - 1]);
    double dv = max_diff(sync.vars, whole.vars, whole.n_vars);
    CHECK(dv <= 1e-10, "variables after %d steps off by %g", STEPS, dv);
    /* across ranks: equal with sync, apart without */
    double same = 0, apart = 0;
    for (int q = 0; q < 2; q++)
        for (int r = 1; r < P; r++) {
            same = fmax(same, max_diff(gs[q], gs[q] + r * NH, NH));
            apart = fmax(apart, max_diff(gl[q], gl[q] + r * NH, NH));
        }
    CHECK(same <= 1e-12, "sync: the ranks' moving statistics differ by %g", same);
    CHECK(apart > 1e-2, "without sync the ranks' moving statistics should differ, by %g only", apart);
    CHECK(max_diff(local.vars + NI * NH + 2 * NH + NH + 1, whole.vars + NI * NH + 2 * NH + NH + 1, 2 * NH) > 1e-3,
          "without sync the moving statistics equal one process's");
}
