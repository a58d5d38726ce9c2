/* teach.h: what the teaching programs share: a small two-class problem on
 * which batch norm's moving statistics matter, its model and training loop,
 * and drawing a graph to PNG when Graphviz is installed. Header-only so that
 * each program stays one file plus this. */
#ifndef TGRAPH_EXAMPLES_TEACH_H
#define TGRAPH_EXAMPLES_TEACH_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* popen under -std=c11; include this header first */
#endif

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <tgraph.h>

#ifndef TEACH_SEED
#define TEACH_SEED 2
#endif

enum { TEACH_BATCH = 64, TEACH_EVAL = 1000 };

/* Two features around 12 (far from batch norm's initial moving mean 0 and
 * variance 1, so statistics that never moved show); the class is whether
 * the first exceeds the second. */
static inline void teach_data(int n, uint64_t seed, tg_array **x, tg_array **y) {
    *x = tg_array_new(TG_FLOAT32, 2, (int64_t[]){n, 2});
    *y = tg_array_new(TG_INT64, 1, (int64_t[]){n});
    float *xv = tg_array_data(*x);
    int64_t *yv = tg_array_data(*y);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 2; j++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            xv[2 * i + j] = 12.0f + 4.0f * (float)(seed >> 40) / (float)(1 << 24);
        }
        yv[i] = xv[2 * i] > xv[2 * i + 1];
    }
}

enum { TEACH_FEATURES = 4, TEACH_OFFSET = 20 };

/* A standard normal draw (Box-Muller on a 64-bit LCG). */
static inline double teach_gaussian(uint64_t *s) {
    double u[2];
    for (int i = 0; i < 2; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        u[i] = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

/* Features ~ TEACH_OFFSET + N(0, 2), far from 0 as raw inputs often are;
 * the label is 1 when (x0 - OFFSET) + (x1 - OFFSET) > (x2 - OFFSET) +
 * (x3 - OFFSET). x holds n * TEACH_FEATURES values, y n labels. */
static inline void teach_blobs(uint64_t *seed, int n, float *x, int64_t *y) {
    for (int i = 0; i < n; i++) {
        double d = 0;
        for (int j = 0; j < TEACH_FEATURES; j++) {
            x[i * TEACH_FEATURES + j] = (float)(TEACH_OFFSET + 2 * teach_gaussian(seed));
            d += (j < 2 ? 1 : -1) * (x[i * TEACH_FEATURES + j] - TEACH_OFFSET);
        }
        y[i] = d > 0;
    }
}

typedef struct teach_model {
    tg_graph *g;
    tg_tensor *x, *y, *is_training, *logits, *loss, *accuracy;
} teach_model;

/* x -> fully_connected(16, batch_norm(decay), relu) -> fully_connected(2):
 * slim's normalizer_fn pattern, the update ops in UPDATE_OPS. */
static inline teach_model teach_bn_model(tg_graph *g, double decay) {
    teach_model m = {.g = g};
    /* the same initial weights on every run of the program */
    tg_graph_set_random_seed(g, TEACH_SEED);
    m.x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2), "x");
    m.y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "y");
    m.is_training =
        tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "is_training");
    TG_OPTS(tg_layers_batch_norm_opts, bn, .decay = decay, .is_training_t = m.is_training);
    TG_OPTS(tg_layers_fc_opts, hidden, .scope = "hidden", .normalizer_fn = tg_layers_batch_norm_fn,
            .normalizer_params = &bn);
    tg_tensor *h = tg_layers_fully_connected(g, m.x, 16, &hidden);
    TG_OPTS(tg_layers_fc_opts, out, .scope = "logits", .activation_fn = NULL);
    m.logits = tg_layers_fully_connected(g, h, 2, &out);
    m.loss = tg_losses_sparse_softmax_cross_entropy(g, m.y, m.logits, NULL);
    tg_tensor *hit = tg_cast(g, tg_equal(g, tg_argmax(g, m.logits, 1, NULL), m.y, NULL), TG_FLOAT32, NULL);
    m.accuracy = tg_reduce_mean(g, hit, NULL);
    return m;
}

/* The model of decay and saver_trainable: TEACH_FEATURES inputs ->
 * fully_connected(16, batch_norm(decay), relu) "fc1" -> 2 logits, trained by
 * gradient descent (0.1) under a control dependency on UPDATE_OPS. */
typedef struct teach_net {
    tg_graph *g;
    tg_tensor *x, *y, *phase, *logits, *moving_mean;
    tg_op *train, *init;
} teach_net;

static inline teach_net teach_bn_net(double decay, int64_t seed) {
    teach_net n = {.g = tg_graph_new()};
    tg_graph *g = n.g;
    tg_graph_set_random_seed(g, seed); /* the same numbers every run */
    n.x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, TEACH_FEATURES), "x");
    n.y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "y");
    n.phase = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "is_training");
    TG_OPTS(tg_layers_batch_norm_opts, bn, .decay = decay, .is_training_t = n.phase);
    TG_OPTS(tg_layers_fc_opts, h, .scope = "fc1", .normalizer_fn = tg_layers_batch_norm_fn, .normalizer_params = &bn);
    TG_OPTS(tg_layers_fc_opts, o, .scope = "logits", .activation_fn = NULL);
    n.logits = tg_layers_fully_connected(g, tg_layers_fully_connected(g, n.x, 16, &h), 2, &o);
    tg_tensor *loss = tg_losses_sparse_softmax_cross_entropy(g, n.y, n.logits, NULL);
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_op **updates = NULL;
    int k = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, k) { n.train = tg_optimizer_minimize(opt, loss, NULL); }
    tg_free(updates);
    tg_variable *mm = tg_graph_variable(g, "fc1/BatchNorm/moving_mean");
    n.moving_mean = mm ? tg_variable_value(mm) : NULL;
    n.init = tg_global_variables_initializer(g);
    return n;
}

/* Runs steps training steps of train_op on fresh batches, in training mode. */
static inline tg_code teach_train(tg_session *s, const teach_model *m, tg_op *train_op, int steps) {
    tg_array *on = tg_array_scalar_bool(true);
    tg_code rc = TG_OK;
    for (int i = 0; i < steps && rc == TG_OK; i++) {
        tg_array *x, *y;
        teach_data(TEACH_BATCH, 1000 + (uint64_t)i, &x, &y);
        tg_feed f[3] = {{m->x, x}, {m->y, y}, {m->is_training, on}};
        rc = tg_session_run(s, f, 3, NULL, 0, NULL, &train_op, 1);
        tg_array_free(x), tg_array_free(y);
    }
    tg_array_free(on);
    return rc;
}

/* Accuracy on a held-out set, in training mode (batch statistics) or not
 * (moving statistics); -1 when the run fails. */
static inline double teach_accuracy(tg_session *s, const teach_model *m, bool training, int batch) {
    tg_array *x, *y, *mode = tg_array_scalar_bool(training), *acc = NULL;
    teach_data(batch, 7, &x, &y);
    tg_feed f[3] = {{m->x, x}, {m->y, y}, {m->is_training, mode}};
    tg_code rc = tg_session_run(s, f, 3, &m->accuracy, 1, &acc, NULL, 0);
    double a = rc == TG_OK ? tg_array_get(acc, 0) : -1;
    tg_array_free(x), tg_array_free(y), tg_array_free(mode), tg_array_free(acc);
    return a;
}

/* Draws to png with Graphviz's dot, when it is installed: s's last traced
 * run over its graph (tg_session_write_dot: what ran filled, what was
 * pruned hollow, untaken branches grey) when s is given, else g alone;
 * name scopes below max_depth collapsed, UPDATE_OPS as a cluster. Says
 * where it drew, or why it did not. */
static inline void teach_draw(const tg_graph *g, const tg_session *s, int max_depth, const char *png) {
    if (system("command -v dot >/dev/null 2>&1") != 0) {
        printf("(Graphviz not installed: %s not drawn)\n", png);
        return;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "dot -Tpng -o '%s'", png);
    FILE *p = popen(cmd, "w");
    const char *keys[] = {TG_GRAPHKEYS_UPDATE_OPS};
    tg_dot_options o = {.max_depth = max_depth, .collections = keys, .n_collections = 1, .legend = true};
    tg_code rc = !p ? TG_INTERNAL : s ? tg_session_write_dot(s, p, &o) : tg_graph_write_dot_opts(g, p, &o);
    int st = p ? pclose(p) : -1;
    printf(rc == TG_OK && st == 0 ? "graph drawn: %s\n" : "(drawing %s failed)\n", png);
}

/* Minimizes m's loss with momentum (0.02, 0.9) inside a control
 * dependency on deps[0..n), initializes, and trains 300 steps; the
 * training runs are traced and drawn to png when png is not NULL. Returns
 * the session (NULL after printing why it failed); *train gets the op. */
static inline tg_session *teach_fit(const teach_model *m, tg_op *const *deps, int n, tg_op **train,
                                    const char *png) {
    tg_graph *g = m->g;
    tg_optimizer *opt = tg_train_momentum_optimizer_new(g, 0.02, 0.9, NULL);
    TG_WITH_CONTROL_DEPENDENCIES(g, deps, n) { *train = tg_optimizer_minimize(opt, m->loss, NULL); }
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g)) return puts(tg_graph_message(g)), NULL;
    tg_session *s = tg_session_new(g);
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    tg_session_set_run_options(s, &(tg_run_options){.trace = png != NULL});
    if (!rc) rc = teach_train(s, m, *train, 300);
    if (!rc && png) teach_draw(g, s, 2, png);
    tg_session_set_run_options(s, NULL);
    if (rc) {
        puts(tg_session_message(s));
        tg_session_free(s);
        return NULL;
    }
    return s;
}

#endif
