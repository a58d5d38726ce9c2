/* saver_trainable: a checkpoint of the trainable variables only.
 *
 *     saver = tf.train.Saver(tf.trainable_variables())   # "only what we train"
 *     ... train, save; later: init, saver.restore(sess, path), evaluate
 *
 * Batch norm's moving mean and variance are not trainable (no gradient
 * moves them; their update ops do), so this checkpoint leaves them out. A
 * restore sets the weights but leaves the statistics at their initial
 * values (0 and 1), and evaluation, which normalizes with them, collapses.
 * The Saver's lint names the variables the evaluation reads but the
 * checkpoint omits; a Saver of the global variables (TF's default
 * tf.train.Saver()) fixes it.
 * usage: saver_trainable [checkpoint path]   (default: saver_trainable.ckpt) */
#include "teach.h"

#include <math.h>

#ifndef SEED
#define SEED 1
#endif

enum { BATCH = 64, STEPS = 150, TEST = 1000 };

typedef teach_net net;

static net build(void) { return teach_bn_net(0.9, SEED); }

static tg_code train(tg_session *s, const net *n) {
    static float xb[BATCH * TEACH_FEATURES];
    static int64_t yb[BATCH];
    uint64_t seed = 3;
    tg_array *ph = tg_array_scalar_bool(true);
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, (tg_op *const *)&n->init, 1);
    for (int i = 0; i < STEPS && !rc; i++) {
        teach_blobs(&seed, BATCH, xb, yb);
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){BATCH, TEACH_FEATURES}, xb);
        tg_array *ya = tg_array_new_from(TG_INT64, 1, (int64_t[]){BATCH}, yb);
        rc = tg_session_run(s, (tg_feed[]){{n->x, xa}, {n->y, ya}, {n->phase, ph}}, 3, NULL, 0, NULL,
                            (tg_op *const *)&n->train, 1);
        tg_array_free(xa);
        tg_array_free(ya);
    }
    tg_array_free(ph);
    return rc;
}

/* A fresh session: initialize, restore with saver, evaluate; prints the
 * accuracy and the restored moving mean of the first hidden unit. */
static tg_code restore_and_evaluate(const net *n, tg_saver *saver, const char *path, const char *what) {
    static float xt[TEST * TEACH_FEATURES];
    static int64_t yt[TEST];
    uint64_t seed = 99;
    teach_blobs(&seed, TEST, xt, yt);
    tg_session *s = tg_session_new(n->g);
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, (tg_op *const *)&n->init, 1);
    if (!rc) rc = tg_saver_restore(saver, s, path);
    if (rc) printf("restore: %s\n", tg_saver_message(saver));
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){TEST, TEACH_FEATURES}, xt);
    tg_array *out[2] = {NULL, NULL};
    if (!rc)
        rc = tg_session_run(s, &(tg_feed){n->x, xa}, 1, (tg_tensor *[]){n->logits, n->moving_mean}, 2, out, NULL, 0);
    int right = 0;
    for (int i = 0; !rc && i < TEST; i++)
        right += (tg_array_get(out[0], 2 * i + 1) > tg_array_get(out[0], 2 * i)) == yt[i];
    if (!rc)
        printf("%s: restored fc1/BatchNorm/moving_mean[0] = %.3f, evaluation accuracy %.2f\n", what,
               tg_array_get(out[1], 0), (double)right / TEST);
    else
        puts(tg_session_message(s));
    tg_array_free(out[0]);
    tg_array_free(out[1]);
    tg_array_free(xa);
    tg_session_free(s);
    return rc;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "saver_trainable.ckpt";
    net n = build();
    tg_variable **trainable = NULL;
    int nt = tg_trainable_variables(n.g, &trainable);
    tg_saver *bad = tg_train_saver_new(n.g, trainable, nt, "save_trainable");
    tg_free(trainable);
    if (tg_graph_status(n.g) || !n.moving_mean) return puts(tg_graph_message(n.g)), 1;

    tg_session *s = tg_session_new(n.g);
    tg_code rc = train(s, &n);
    tg_array *trained = NULL;
    if (!rc) rc = tg_session_run(s, NULL, 0, &n.moving_mean, 1, &trained, NULL, 0);
    if (!rc) printf("after training: fc1/BatchNorm/moving_mean[0] = %.3f\n", tg_array_get(trained, 0));
    tg_array_free(trained);
    if (rc) puts(tg_session_message(s));
    tg_session_free(s);
    if (rc) return 1;

    puts("== the bug: Saver(tf.trainable_variables()) ==");
    s = tg_session_new(n.g);
    rc = train(s, &n);
    if (!rc) rc = tg_saver_save(bad, s, path);
    tg_session_free(s);
    if (!rc) rc = restore_and_evaluate(&n, bad, path, "trainable-only checkpoint");
    char *lint = NULL;
    if (!rc && tg_graph_lint(n.g, &n.logits, 1, NULL, 0, &lint) >= 0)
        printf("\nthe lint on the evaluation run:\n%s\n", lint ? lint : "(nothing)\n");
    tg_free(lint);

    puts("== the fix: a Saver of the global variables ==");
    tg_saver_free(bad); /* the lint looks at every live Saver */
    tg_variable **all = NULL;
    int na = tg_global_variables(n.g, &all);
    tg_saver *good = tg_train_saver_new(n.g, all, na, "save_global");
    tg_free(all);
    s = tg_session_new(n.g);
    if (!rc) rc = train(s, &n);
    if (!rc) rc = tg_saver_save(good, s, path);
    tg_session_free(s);
    if (!rc) rc = restore_and_evaluate(&n, good, path, "global-variables checkpoint");
    if (!rc && tg_graph_lint(n.g, &n.logits, 1, NULL, 0, &lint) == 0) puts("the lint on the evaluation run: (nothing)");
    tg_free(lint);
    remove(path);
    teach_draw(n.g, NULL, 2, "saver_trainable.png");
    tg_graph_free(n.g);
    return rc != TG_OK;
}
