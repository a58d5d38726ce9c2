/* decay: batch norm's moving averages after a short training run.
 *
 *     bn = {'is_training': is_training, 'decay': 0.999}      # contrib's default
 *     h = slim.fully_connected(x, 16, normalizer_fn=slim.batch_norm, normalizer_params=bn)
 *     ... 100 training steps, then evaluate with is_training False
 *
 * Each training step moves the moving statistics a (1 - decay) of the way
 * to the batch's: after t steps the initial values (mean 0, variance 1)
 * still weigh decay^t. With 0.999 and 100 steps that is 0.905, so the
 * evaluation normalizes with statistics that are 90% initial value, far
 * from the data's (the features sit around 20), and its accuracy collapses
 * while training-mode accuracy is fine. tg_describe_batch_norm shows t and
 * decay^t, the session's lint names the layer, and decay 0.9 (0.9^100 is
 * 3e-5) fixes it. */
#include "teach.h"

#include <math.h>

#ifndef SEED
#define SEED 3
#endif

enum { BATCH = 64, STEPS = 100, TEST = 1000 };

typedef teach_net net;

/* fully_connected(16, relu, batch_norm) -> fully_connected(2); is_training
 * a placeholder_with_default(False) fed True for training steps. */
static net build(double decay) { return teach_bn_net(decay, SEED); }

/* Accuracy of the logits for x (training mode when `training`) and each
 * example's P(class 1) into p. */
static tg_code accuracy(tg_session *s, const net *n, const float *x, const int64_t *y, int count, bool training,
                        double *acc, double *p) {
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){count, TEACH_FEATURES}, x);
    tg_array *ph = tg_array_scalar_bool(training);
    tg_array *out = NULL;
    tg_code rc = tg_session_run(s, (tg_feed[]){{n->x, xa}, {n->phase, ph}}, training ? 2 : 1, &n->logits, 1, &out,
                                NULL, 0);
    int right = 0;
    for (int i = 0; !rc && i < count; i++) {
        double l0 = tg_array_get(out, 2 * i), l1 = tg_array_get(out, 2 * i + 1);
        right += (l1 > l0) == y[i];
        p[i] = 1 / (1 + exp(l0 - l1));
    }
    *acc = (double)right / count;
    tg_array_free(out);
    tg_array_free(xa);
    tg_array_free(ph);
    return rc;
}

/* Trains STEPS steps and evaluates; prints the numbers, and the table and
 * the lint's findings when `explain`. */
static int run(double decay, bool explain) {
    static float xb[BATCH * TEACH_FEATURES], xt[TEST * TEACH_FEATURES];
    static int64_t yb[BATCH], yt[TEST];
    net n = build(decay);
    if (tg_graph_status(n.g)) return puts(tg_graph_message(n.g)), 1;
    tg_session *s = tg_session_new(n.g);
    tg_session_set_run_options(s, &(tg_run_options){.lint = true, .trace = true});
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &n.init, 1);
    uint64_t seed = 42;
    tg_array *ph = tg_array_scalar_bool(true);
    for (int i = 0; i < STEPS && !rc; i++) {
        teach_blobs(&seed, BATCH, xb, yb);
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){BATCH, TEACH_FEATURES}, xb);
        tg_array *ya = tg_array_new_from(TG_INT64, 1, (int64_t[]){BATCH}, yb);
        rc = tg_session_run(s, (tg_feed[]){{n.x, xa}, {n.y, ya}, {n.phase, ph}}, 3, NULL, 0, NULL, &n.train, 1);
        tg_array_free(xa);
        tg_array_free(ya);
    }
    tg_array_free(ph);
    teach_blobs(&seed, TEST, xt, yt);
    static double p_train[TEST], p_eval[TEST];
    double acc_train = 0, acc_eval = 0, gap = 0;
    if (!rc) rc = accuracy(s, &n, xt, yt, TEST, true, &acc_train, p_train);
    if (!rc) rc = accuracy(s, &n, xt, yt, TEST, false, &acc_eval, p_eval);
    for (int i = 0; i < TEST; i++) gap += fabs(p_train[i] - p_eval[i]) / TEST;
    if (rc) {
        puts(tg_session_message(s));
    } else {
        printf("decay %g, %d training steps: training-mode accuracy %.2f, evaluation accuracy %.2f, "
               "P(class 1) differs by %.2f on average between the two\n",
               decay, STEPS, acc_train, acc_eval, gap);
        if (explain) {
            const char *w = tg_session_warnings(s);
            printf("\nthe lint on the evaluation run:\n%s", *w ? w : "(nothing)\n");
            char *table = tg_describe_batch_norm(n.g, s);
            printf("\ntg_describe_batch_norm:\n%s\n", table ? table : "(out of memory)\n");
            tg_free(table);
            teach_draw(n.g, s, 2, "decay.png");
        }
    }
    tg_session_free(s);
    tg_graph_free(n.g);
    return rc != TG_OK;
}

int main(void) {
    puts("== the bug: decay 0.999 (contrib's default) and a short training run ==");
    if (run(0.999, true)) return 1;
    puts("== the fix: decay 0.9 ==");
    return run(0.9, false);
}
