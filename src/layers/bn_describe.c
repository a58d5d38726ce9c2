/* tg_describe_batch_norm and the batch-norm lints, on the records the
 * builders leave (bn_record.c). Three BN questions puzzle TF 1.x users
 * most: which statistics a run normalizes with (the mode), whether the
 * moving statistics ever move (the updates), and how far they have moved
 * (decay^t, the weight the initial value still has after t updates). The
 * table answers them per layer; the lints say it when a run gets them
 * wrong. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bn_record.h"

/* ---- a growing string ------------------------------------------------------------------ */

typedef struct text {
    char *s;
    size_t n, cap;
    bool failed;
} text;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(text *t, const char *fmt, ...) {
    if (t->failed) return;
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        t->failed = true;
        return;
    }
    if (t->n + (size_t)len + 1 > t->cap) {
        size_t cap = (t->n + (size_t)len + 1) * 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->failed = true;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->n, (size_t)len + 1, fmt, ap);
    va_end(ap);
    t->n += (size_t)len;
}

/* ---- the table ------------------------------------------------------------------------- */

enum { N_COLS = 14, CELL = 160 };

static const char *const headers[N_COLS] = {"layer", "api",   "mode",    "normalizes", "updates", "gamma",  "beta",
                                            "decay", "epsilon", "t",     "decay^t",    "variance", "layout", "axis"};

static const char *param_text(const tg_variable *v) {
    return !v ? "-" : tg_variable_trainable(v) ? "trainable" : "frozen";
}

static const char *updates_text(const tg_batch_norm_info *in) {
    switch (in->updates) {
    case TG_BN_UPDATES_IN_PLACE: return "in place";
    case TG_BN_UPDATES_LAYER: return "layer.updates";
    case TG_BN_UPDATES_COLLECTION:
        return strcmp(in->collection, TG_GRAPHKEYS_UPDATE_OPS) == 0 ? "UPDATE_OPS" : in->collection;
    default: return "none";
    }
}

static void row(const tg_batch_norm_info *in, char cells[N_COLS][CELL]) {
    snprintf(cells[0], CELL, "%s", in->name);
    snprintf(cells[1], CELL, "%s", in->api);
    if (in->training >= 0) snprintf(cells[2], CELL, "%s", in->training ? "true" : "false");
    else snprintf(cells[2], CELL, "tensor %s", tg_tensor_name(in->training_t));
    snprintf(cells[3], CELL, "%s", in->training < 0 ? "per run" : in->training ? "batch" : "moving");
    snprintf(cells[4], CELL, "%s", updates_text(in));
    snprintf(cells[5], CELL, "%s", param_text(in->gamma));
    snprintf(cells[6], CELL, "%s", param_text(in->beta));
    snprintf(cells[7], CELL, "%g", in->decay);
    snprintf(cells[8], CELL, "%g", in->epsilon);
    if (in->t < 0) {
        snprintf(cells[9], CELL, "-");
        snprintf(cells[10], CELL, "-");
    } else {
        snprintf(cells[9], CELL, "%lld", (long long)in->t);
        snprintf(cells[10], CELL, "%.3f", in->initial_weight);
    }
    snprintf(cells[11], CELL, "%s%s", in->bessel ? "Bessel" : "biased", in->zero_debias ? ", mean debiased" : "");
    snprintf(cells[12], CELL, "%s", in->layout);
    size_t k = 0;
    cells[13][0] = '\0';
    for (int i = 0; i < in->n_axis && k < CELL; i++)
        k += (size_t)snprintf(cells[13] + k, CELL - k, "%s%d", i ? "," : "", in->axis[i]);
}

static void put_row(text *t, char cells[N_COLS][CELL], const int *width) {
    for (int c = 0; c + 1 < N_COLS; c++) put(t, "%-*s  ", width[c], cells[c]);
    put(t, "%s\n", cells[N_COLS - 1]);
}

char *tg_describe_batch_norm(const tg_graph *g, const tg_session *s) {
    tg_batch_norm_info *in = NULL;
    int n = tg_batch_norm_layers(g, s, &in);
    if (n < 0) return NULL;
    char (*cells)[N_COLS][CELL] = malloc((size_t)(n + 1) * sizeof *cells);
    if (!cells) {
        free(in);
        return NULL;
    }
    int width[N_COLS];
    for (int c = 0; c < N_COLS; c++) snprintf(cells[0][c], CELL, "%s", headers[c]);
    for (int i = 0; i < n; i++) row(&in[i], cells[i + 1]);
    for (int c = 0; c < N_COLS; c++) {
        width[c] = 0;
        for (int i = 0; i <= n; i++) {
            int w = (int)strlen(cells[i][c]);
            if (w > width[c]) width[c] = w;
        }
    }
    text t = {0};
    for (int i = 0; i <= n; i++) put_row(&t, cells[i], width);
    if (n == 0) put(&t, "(no batch-norm layer on this graph)\n");
    if (s)
        put(&t, "decay^t: the weight the initial values still have in the moving statistics after t updates "
                "(moving = decay * moving + (1 - decay) * batch); above 0.5, inference mostly uses the initial "
                "values.\n");
    else
        put(&t, "t and decay^t: '-' without a session (the update counts are a session's).\n");
    free(cells);
    free(in);
    if (t.failed) {
        free(t.s);
        return NULL;
    }
    return t.s;
}

/* ---- the lints ------------------------------------------------------------------------- */

static bool is_trainer_type(const char *type) {
    return strcmp(type, "AssignSub") == 0 || strcmp(type, "AssignAdd") == 0 || strncmp(type, "Apply", 5) == 0 ||
           strncmp(type, "ResourceApply", 13) == 0 || strncmp(type, "SparseApply", 11) == 0;
}

/* Does the run train: execute an optimizer's Apply* op, or an AssignSub /
 * AssignAdd, on a trainable variable (the update_ops check's rule)? -1
 * when out of memory. */
static int run_trains(const tg_lint_run *r, const tg_graph *g) {
    tg_variable **vars = NULL;
    int nv = tg_trainable_variables(g, &vars);
    if (nv < 0) return -1;
    int trains = 0;
    for (int i = 0, n = tg_graph_num_ops(g); i < n && !trains && nv > 0; i++) {
        tg_op *op = tg_graph_op_at(g, i);
        if (!is_trainer_type(tg_op_type(op)) || !tg_lint_run_executes(r, op)) continue;
        tg_op *target = tg_tensor_op(tg_op_input(op, 0));
        for (int v = 0; v < nv && !trains; v++) trains = tg_variable_op(vars[v]) == target;
    }
    tg_free(vars);
    return trains;
}

/* A layer as findings name it: the scope of its statistics ("bn2" for
 * "bn2/moving_mean"), the same for every application sharing them. */
static const char *layer_name(const tg__bn_record *rec, char *buf, size_t size) {
    const char *v = tg_variable_name(rec->info.moving_mean), *slash = strrchr(v, '/');
    snprintf(buf, size, "%.*s", slash ? (int)(slash - v) : (int)strlen(v), v);
    return buf;
}

static bool executes(const tg__bn_record *rec, const tg_lint_run *r) {
    return tg_lint_run_executes(r, tg_tensor_op(rec->output));
}

void tg__bn_lint_training_at_eval(tg_lint_run *r, void *user) {
    (void)user;
    tg_graph *g = tg_lint_run_graph(r);
    tg__bn_record *const *recs;
    int n = tg__bn_records(g, &recs);
    text names = {0};
    int found = 0;
    bool in_place = false;
    for (int i = 0; i < n; i++) {
        if (!executes(recs[i], r) || tg__bn_run_mode(recs[i], r) != 1) continue;
        char name[256];
        put(&names, "%s%s", found ? ", " : "", layer_name(recs[i], name, sizeof name));
        in_place |= recs[i]->info.updates == TG_BN_UPDATES_IN_PLACE;
        found++;
    }
    if (found && !names.failed && run_trains(r, g) == 0)
        tg_lint_report(r, "batch_norm_training_at_eval",
                       "evaluating in training mode: %s normalize%s with the batch's statistics, so outputs "
                       "depend on the rest of the batch%s. Fix: evaluate with is_training false (tf.layers, "
                       "Keras: training false), or with the training tensor fed false (TF: is_training=False "
                       "in the evaluation graph)",
                       names.s, found == 1 ? "s" : "",
                       in_place ? ", and this run moves the moving statistics (updates in place)" : "");
    free(names.s);
}

/* Reported already: an earlier record of this run sharing the variable. */
static bool seen_before(tg__bn_record *const *recs, int i, const tg_lint_run *r) {
    for (int j = 0; j < i; j++)
        if (recs[j]->info.moving_mean == recs[i]->info.moving_mean && executes(recs[j], r) &&
            tg__bn_run_mode(recs[j], r) == 0)
            return true;
    return false;
}

static void report_decay(tg_lint_run *r, const tg__bn_record *rec, int64_t t) {
    char buf[256];
    const char *name = layer_name(rec, buf, sizeof buf), *init = tg__bn_initial_text(rec);
    if (t == 0) {
        tg_lint_report(r, "bn_decay",
                       "%s: 0 updates: the moving statistics are still their initial values (%s), and this "
                       "evaluation normalizes with them. Fix: run the update ops in the training step (build the "
                       "train op under control dependencies on UPDATE_OPS, or use updates_collections NULL)",
                       name, init);
        return;
    }
    tg_lint_report(r, "bn_decay",
                   "%s: %lld update%s at decay %g: the moving statistics are still %.0f%% their initial values "
                   "(%s). Fix: train longer or lower decay (0.9-0.99)",
                   name, (long long)t, t == 1 ? "" : "s", rec->info.decay, 100.0 * pow(rec->info.decay, (double)t),
                   init);
}

static bool is_counter(tg__bn_record *const *recs, int n, const tg_op *op) {
    for (int i = 0; i < n; i++)
        if (recs[i]->counter == op) return true;
    return false;
}

/* Was the moving mean set in s other than by its initializer and its
 * averages (a Saver's restore, a manual assign)? Then its value did not
 * come from t updates and decay^t says nothing about it. (A zero-debiased
 * mean's average is itself an Assign: a counter.) */
static bool assigned_in(const tg_graph *g, const tg_session *s, tg__bn_record *const *recs, int n_recs,
                        const tg_variable *v) {
    for (int i = 0, n = tg_graph_num_ops(g); i < n; i++) {
        tg_op *op = tg_graph_op_at(g, i);
        if (strcmp(tg_op_type(op), "Assign") == 0 && op != tg_variable_initializer(v) &&
            tg_tensor_op(tg_op_input(op, 0)) == tg_variable_op(v) && !is_counter(recs, n_recs, op) &&
            tg_session_op_run_count(s, op) > 0)
            return true;
    }
    return false;
}

void tg__bn_lint_decay(tg_lint_run *r, void *user) {
    (void)user;
    tg_graph *g = tg_lint_run_graph(r);
    tg_session *s = tg_lint_run_session(r);
    tg__bn_record *const *recs;
    int n = tg__bn_records(g, &recs);
    if (!s || n == 0) return;
    int trains = -2;
    for (int i = 0; i < n; i++) {
        if (!executes(recs[i], r) || tg__bn_run_mode(recs[i], r) != 0 || seen_before(recs, i, r)) continue;
        int64_t t = tg__bn_updates_applied(g, recs[i], s);
        if (t < 0 || pow(recs[i]->info.decay, (double)t) <= 0.5) continue;
        if (assigned_in(g, s, recs, n, recs[i]->info.moving_mean)) continue;
        if (trains == -2) trains = run_trains(r, g);
        if (trains != 0) return;
        report_decay(r, recs[i], t);
    }
}
