/* update_ops_missing: TF 1.x's best-known batch-norm mistake.
 *
 *     h = slim.fully_connected(x, 16, normalizer_fn=slim.batch_norm,
 *                              normalizer_params={'is_training': is_training})
 *     train_op = opt.minimize(loss)          # no dependency on UPDATE_OPS
 *
 * Training looks fine (training mode normalizes with the batch's own
 * statistics), but the ops that update the moving mean and variance sit in
 * UPDATE_OPS and nothing the train op needs reaches them, so the run never
 * executes them: evaluation, which normalizes with the moving statistics,
 * still uses their initial values 0 and 1. The lint names the left-out ops
 * and the fix; tg_explain says why one did not run; with the train op built
 * inside a control dependency on UPDATE_OPS the same training works. */
#include "teach.h"

static int run(bool fixed) {
    tg_graph *g = tg_graph_new();
    teach_model m = teach_bn_model(g, 0.9);
    tg_op **updates = NULL, *train = NULL;
    int n = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    tg_session *s = teach_fit(&m, updates, fixed ? n : 0, &train, fixed ? NULL : "update_ops_missing.png");
    if (s)
        printf("%s: accuracy in training mode %.2f, in inference mode %.2f; moving_mean ran %lld updates\n",
               fixed ? "fixed" : "bug", teach_accuracy(s, &m, true, TEACH_EVAL),
               teach_accuracy(s, &m, false, TEACH_EVAL), (long long)tg_session_op_run_count(s, updates[0]));
    if (s && !fixed) {
        char *report = NULL;
        tg_graph_lint(g, &m.loss, 1, &train, 1, &report);
        printf("lint:\n%s", report ? report : "(nothing)\n");
        char *why = tg_explain(s, NULL, 0, &train, 1, updates[0]);
        printf("explain: %s\n", why ? why : "?");
        tg_free(report), tg_free(why);
    }
    tg_free(updates);
    tg_session_free(s);
    tg_graph_free(g);
    return s == NULL;
}

int main(void) { return run(false) || run(true); }
