/* eval_training_mode: evaluating a model whose batch norm is in training mode.
 *
 *     h = slim.fully_connected(x, 16, normalizer_fn=slim.batch_norm)   # is_training=True: contrib's default
 *     ... train, then sess.run(prob, {x: test_examples})                # the same graph
 *
 * In training mode batch norm normalizes with the statistics of the batch
 * it is given, so an example's output depends on the rest of the batch:
 * alone (a batch of 1) every hidden unit is x - mean(x) = 0, the output is
 * the same for every example, and accuracy falls to a coin's; in a batch of
 * 100 the answer changes again with the batch. The lint names the layer.
 * The fix is an evaluation tower with is_training False sharing the
 * variables (variable scope reuse), which normalizes with the moving
 * statistics: an example gets one answer whatever else is in its batch. */
#include "teach.h"

#include <math.h>

#ifndef SEED
#define SEED 1
#endif

enum { BATCH = 64, STEPS = 200, TEST = 1000 };

/* The model's logits and P(class 1); reuse builds a second tower on the
 * same variables. */
static tg_tensor *model(tg_graph *g, tg_tensor *x, bool is_training, tg_reuse reuse, tg_tensor **logits_out) {
    TG_OPTS(tg_layers_batch_norm_opts, bn, .decay = 0.9, .is_training = is_training);
    TG_OPTS(tg_layers_fc_opts, h, .scope = "fc1", .reuse = reuse, .normalizer_fn = tg_layers_batch_norm_fn,
            .normalizer_params = &bn);
    TG_OPTS(tg_layers_fc_opts, o, .scope = "logits", .reuse = reuse, .activation_fn = NULL);
    tg_tensor *logits = tg_layers_fully_connected(g, tg_layers_fully_connected(g, x, 16, &h), 2, &o);
    if (logits_out) *logits_out = logits;
    return tg_slice(g, tg_nn_softmax(g, logits, NULL), (int64_t[]){0, 1}, (int64_t[]){-1, 1}, 2, "prob");
}

static tg_code probs(tg_session *s, tg_tensor *x, tg_tensor *prob, const float *xs, int n, tg_array **out) {
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){n, TEACH_FEATURES}, xs);
    tg_code rc = tg_session_run(s, &(tg_feed){x, xa}, 1, &prob, 1, out, NULL, 0);
    tg_array_free(xa);
    return rc;
}

/* Accuracy on the test set, fed `per_run` examples at a time. */
static tg_code accuracy(tg_session *s, tg_tensor *x, tg_tensor *prob, const float *xs, const int64_t *ys,
                        int per_run, double *acc) {
    int right = 0;
    tg_code rc = TG_OK;
    for (int i = 0; i < TEST && !rc; i += per_run) {
        tg_array *p = NULL;
        rc = probs(s, x, prob, xs + i * TEACH_FEATURES, per_run, &p);
        for (int k = 0; !rc && k < per_run; k++) right += (tg_array_get(p, k) > 0.5) == ys[i + k];
        tg_array_free(p);
    }
    *acc = (double)right / TEST;
    return rc;
}

static tg_code report(tg_session *s, tg_tensor *x, tg_tensor *prob, const float *xt, const int64_t *yt,
                      const char *mode) {
    tg_array *alone = NULL, *in100 = NULL;
    double acc1 = 0, acc100 = 0;
    tg_code rc = probs(s, x, prob, xt, 1, &alone);
    if (!rc) rc = probs(s, x, prob, xt, 100, &in100);
    if (!rc) rc = accuracy(s, x, prob, xt, yt, 1, &acc1);
    if (!rc) rc = accuracy(s, x, prob, xt, yt, 100, &acc100);
    if (!rc) {
        printf("%s: example 0 alone: P(class 1) = %.3f; in a batch of 100: %.3f\n", mode, tg_array_get(alone, 0),
               tg_array_get(in100, 0));
        printf("%s: accuracy one example per run %.2f, 100 per run %.2f\n", mode, acc1, acc100);
    }
    tg_array_free(alone);
    tg_array_free(in100);
    return rc;
}

int main(void) {
    static float xb[BATCH * TEACH_FEATURES], xt[TEST * TEACH_FEATURES];
    static int64_t yb[BATCH], yt[TEST];
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, SEED); /* the same numbers every run */
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, TEACH_FEATURES), "x");
    tg_tensor *y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "y");
    tg_tensor *logits = NULL;
    tg_tensor *prob = model(g, x, true, TG_REUSE_INHERIT, &logits);
    tg_tensor *loss = tg_losses_sparse_softmax_cross_entropy(g, y, logits, NULL);
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_op **updates = NULL, *train = NULL;
    int k = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, k) { train = tg_optimizer_minimize(opt, loss, NULL); }
    tg_free(updates);
    /* the fix, built now so one session serves both: the evaluation tower */
    tg_tensor *prob_eval = model(g, x, false, TG_REUSE_TRUE, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g)) return puts(tg_graph_message(g)), 1;

    tg_session *s = tg_session_new(g);
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    uint64_t seed = 7;
    for (int i = 0; i < STEPS && !rc; i++) {
        teach_blobs(&seed, BATCH, xb, yb);
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){BATCH, TEACH_FEATURES}, xb);
        tg_array *ya = tg_array_new_from(TG_INT64, 1, (int64_t[]){BATCH}, yb);
        rc = tg_session_run(s, (tg_feed[]){{x, xa}, {y, ya}}, 2, NULL, 0, NULL, &train, 1);
        tg_array_free(xa);
        tg_array_free(ya);
    }
    teach_blobs(&seed, TEST, xt, yt);
    puts("== the bug: evaluating the training graph (is_training True) ==");
    if (!rc) rc = report(s, x, prob, xt, yt, "training mode");
    char *lint = NULL;
    if (!rc && tg_graph_lint(g, &prob, 1, NULL, 0, &lint) >= 0)
        printf("\nthe lint on that run:\n%s\n", lint ? lint : "(nothing)\n");
    tg_free(lint);
    puts("== the fix: an evaluation tower with is_training False (reuse) ==");
    if (!rc) rc = report(s, x, prob_eval, xt, yt, "inference mode");
    if (!rc && tg_graph_lint(g, &prob_eval, 1, NULL, 0, &lint) == 0) puts("the lint on that run: (nothing)");
    tg_free(lint);
    if (rc) puts(tg_session_message(s));
    tg_session_free(s);
    teach_draw(g, NULL, 2, "eval_training_mode.png");
    tg_graph_free(g);
    return rc != TG_OK;
}
