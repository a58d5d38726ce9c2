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
    tg_optimizer *opt = tg_train_momentum_optimizer_new(g, 0.02, 0.9, NULL);
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, n) { train = tg_optimizer_minimize(opt, m.loss, NULL); }
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g)) return puts(tg_graph_message(g)), 1;
    tg_session *s = tg_session_new(g);
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    tg_session_set_run_options(s, &(tg_run_options){.trace = !fixed});
    if (!rc) rc = teach_train(s, &m, train, 300);
    if (!rc && !fixed) teach_draw(g, s, 2, "stale_update_ops.png");
    tg_session_set_run_options(s, NULL);
    if (!rc)
        printf("%s: accuracy in inference mode after training %.2f\n", fixed ? "fixed" : "bug",
               teach_accuracy(s, &m, false, TEACH_EVAL));
    if (!rc && !fixed) {
        char *report = NULL;
        tg_graph_lint(g, &m.loss, 1, &train, 1, &report);
        printf("lint:\n%s", report ? report : "(nothing)\n");
        tg_free(report);
    }
    if (rc) puts(tg_session_message(s));
    tg_free(updates);
    tg_session_free(s);
    tg_graph_free(g);
    return rc != TG_OK;
}

int main(void) { return run(false) || run(true); }
