/* stale_update_ops: UPDATE_OPS read before the model exists.
 *
 *     update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)   # too early
 *     logits = model(x, is_training)                            # adds the BN updates
 *     with tf.control_dependencies(update_ops):                 # [] -- nothing
 *         train_op = opt.minimize(loss)
 *
 * get_collection returns a snapshot: the list read before the batch-norm
 * layers were built is empty, so the train op waits for nothing and the
 * moving statistics never move (TF's docs: "be sure to add any
 * batch_normalization ops before getting the update_ops collection"). The
 * lint sees the read and what was added after it; read after the model, the
 * same program works. */
#include "teach.h"

static int run(bool fixed) {
    tg_graph *g = tg_graph_new();
    tg_op **updates = NULL, *train = NULL;
    int n = fixed ? 0 : tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    teach_model m = teach_bn_model(g, 0.9);
    if (fixed) n = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    printf("%s: the list read from UPDATE_OPS holds %d ops\n", fixed ? "fixed" : "bug", n);
    tg_session *s = teach_fit(&m, updates, n, &train, fixed ? NULL : "stale_update_ops.png");
    if (s)
        printf("%s: accuracy in inference mode after training %.2f\n", fixed ? "fixed" : "bug",
               teach_accuracy(s, &m, false, TEACH_EVAL));
    if (s && !fixed) {
        char *report = NULL;
        tg_graph_lint(g, &m.loss, 1, &train, 1, &report);
        printf("lint:\n%s", report ? report : "(nothing)\n");
        tg_free(report);
    }
    tg_free(updates);
    tg_session_free(s);
    tg_graph_free(g);
    return s == NULL;
}

int main(void) { return run(false) || run(true); }
