/* Train, save, restore, evaluate: an MLP built from tf.contrib.layers,
 * trained with Adam's minimize on a synthetic classification problem,
 * saved with the Saver, then rebuilt in a fresh graph and session, restored
 * and evaluated. The restored model must give exactly the accuracy and
 * loss the trained one gave.
 *
 *   mlp_checkpoint [--steps N] [--checkpoint PATH]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgraph.h"
#include "example_lint.h"

enum { N = 512, FEATURES = 4, CLASSES = 3 };

typedef struct {
    tg_graph *g;
    tg_tensor *x, *labels, *loss, *accuracy;
    tg_op *train, *init;
    tg_saver *saver;
    tg_optimizer *opt;
} model;

/* The same graph for training and for the restored copy: variable names
 * (fully_connected/weights, ...) are what the checkpoint matches on. */
static bool build(model *m, bool for_training) {
    tg_graph *g = m->g = tg_graph_new();
    tg_graph_set_random_seed(g, 7);
    m->x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, FEATURES), "x");
    m->labels = tg_placeholder(g, TG_INT32, TG_SHAPE(-1), "labels");
    tg_tensor *h = tg_layers_fully_connected(g, m->x, 16, NULL);
    h = tg_layers_fully_connected(g, h, 16, NULL);
    TG_OPTS(tg_layers_fc_opts, linear, .activation_fn = NULL);
    tg_tensor *logits = tg_layers_fully_connected(g, h, CLASSES, &linear);
    m->loss = tg_losses_sparse_softmax_cross_entropy(g, m->labels, logits, NULL);
    tg_tensor *hit = tg_equal(g, tg_cast(g, tg_argmax(g, logits, 1, NULL), TG_INT32, NULL), m->labels, NULL);
    m->accuracy = tg_reduce_mean(g, tg_cast(g, hit, TG_FLOAT32, NULL), &(tg_reduce_opts){.name = "accuracy"});
    if (for_training) {
        tg_variable *step = tg_train_get_or_create_global_step(g);
        m->opt = tg_train_adam_optimizer_new(g, 0.01, NULL);
        m->train = tg_optimizer_minimize(m->opt, m->loss, &(tg_minimize_opts){.global_step = step});
    }
    m->init = tg_global_variables_initializer(g);
    /* The restored graph has no optimizer, so save only the model's own
     * variables: TRAINABLE_VARIABLES here. */
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, NULL, &vars);
    m->saver = tg_train_saver_new(g, vars, n, NULL);
    tg_free(vars);
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, "graph error: %s\n", tg_graph_message(g));
        return false;
    }
    return true;
}

static void destroy(model *m) {
    tg_saver_free(m->saver);
    tg_optimizer_free(m->opt);
    tg_graph_free(m->g);
}

/* Three Gaussian blobs in 4-D, from a fixed generator. */
static void make_data(float *xs, int32_t *ys) {
    unsigned s = 2024;
    const float centers[CLASSES][FEATURES] = {{1, 1, 0, 0}, {-1, 0, 1, 0}, {0, -1, -1, 1}};
    for (int i = 0; i < N; i++) {
        int c = i % CLASSES;
        ys[i] = c;
        for (int f = 0; f < FEATURES; f++) {
            s = s * 1103515245u + 12345u;
            float u1 = ((float)((s >> 8) & 0xffff) + 1) / 65537.0f;
            s = s * 1103515245u + 12345u;
            float u2 = (float)((s >> 8) & 0xffff) / 65536.0f;
            xs[i * FEATURES + f] = centers[c][f] + 0.6f * sqrtf(-2 * logf(u1)) * cosf(6.2831853f * u2);
        }
    }
}

static bool evaluate(tg_session *s, const model *m, tg_feed *feeds, double *loss, double *acc) {
    tg_tensor *fetch[2] = {m->loss, m->accuracy};
    tg_array *out[2] = {NULL, NULL};
    bool ok = tg_session_run(s, feeds, 2, fetch, 2, out, NULL, 0) == TG_OK;
    if (ok) *loss = tg_array_get(out[0], 0), *acc = tg_array_get(out[1], 0);
    else fprintf(stderr, "run error: %s\n", tg_session_message(s));
    tg_array_free(out[0]);
    tg_array_free(out[1]);
    return ok;
}

int main(int argc, char **argv) {
    int steps = 300;
    const char *path = "mlp_checkpoint.ckpt";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--checkpoint") == 0 && i + 1 < argc) path = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--steps N] [--checkpoint PATH]\n", argv[0]);
            return 2;
        }
    }
    static float xs[N * FEATURES];
    static int32_t ys[N];
    make_data(xs, ys);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){N, FEATURES}, xs);
    tg_array *ya = tg_array_new_from(TG_INT32, 1, (int64_t[]){N}, ys);
    int rc = 1;
    double loss0 = 0, acc0 = 0, loss1 = 0, acc1 = 0;

    model trained = {0};
    tg_session *s = NULL;
    if (!build(&trained, true)) goto done;
    s = tg_session_new(trained.g);
    example_lint_on(s);
    tg_feed feeds[2] = {{trained.x, xa}, {trained.labels, ya}};
    if (tg_session_run(s, NULL, 0, NULL, 0, NULL, &trained.init, 1) != TG_OK) goto run_error;
    for (int step = 0; step < steps; step++) {
        if (tg_session_run(s, feeds, 2, NULL, 0, NULL, &trained.train, 1) != TG_OK) goto run_error;
        if (step % 100 == 0 && evaluate(s, &trained, feeds, &loss0, &acc0))
            printf("step %4d  loss %.4f  accuracy %.3f\n", step, loss0, acc0);
    }
    if (!evaluate(s, &trained, feeds, &loss0, &acc0)) goto done;
    printf("trained:  loss %.6f  accuracy %.4f\n", loss0, acc0);
    if (tg_saver_save(trained.saver, s, path) != TG_OK) {
        fprintf(stderr, "save: %s\n", tg_saver_message(trained.saver));
        goto done;
    }
    printf("saved %s\n", path);

    /* A fresh graph and session: nothing shared with the trained model. */
    model restored = {0};
    tg_session *s2 = NULL;
    if (build(&restored, false)) {
        s2 = tg_session_new(restored.g);
        example_lint_on(s2);
        tg_feed feeds2[2] = {{restored.x, xa}, {restored.labels, ya}};
        if (tg_saver_restore(restored.saver, s2, path) != TG_OK)
            fprintf(stderr, "restore: %s\n", tg_saver_message(restored.saver));
        else if (evaluate(s2, &restored, feeds2, &loss1, &acc1)) {
            printf("restored: loss %.6f  accuracy %.4f\n", loss1, acc1);
            rc = loss1 == loss0 && acc1 == acc0 ? 0 : 1;
            if (rc) fprintf(stderr, "the restored model does not reproduce the trained one\n");
        }
    }
    tg_session_free(s2);
    destroy(&restored);
    goto done;
run_error:
    fprintf(stderr, "run error: %s\n", tg_session_message(s));
done:
    tg_session_free(s);
    destroy(&trained);
    tg_array_free(xa);
    tg_array_free(ya);
    return rc;
}
