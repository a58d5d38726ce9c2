/* init_order: the initializer built before the optimizer.
 *
 *     logits = model(x)
 *     init = tf.global_variables_initializer()      # too early
 *     train_op = tf.train.MomentumOptimizer(...).minimize(loss)   # makes slots
 *     sess.run(init); sess.run(train_op)
 *     # FailedPreconditionError: Attempting to use uninitialized value .../Momentum
 *
 * global_variables_initializer() covers the variables that exist when it is
 * built; the optimizer creates its slot variables inside minimize(), after
 * it. The run fails naming a slot, the lint says why, and building the
 * initializer last fixes it. */
#include "teach.h"

static int run(bool fixed) {
    tg_graph *g = tg_graph_new();
    teach_model m = teach_bn_model(g, 0.9);
    tg_op *init = fixed ? NULL : tg_global_variables_initializer(g);
    tg_optimizer *opt = tg_train_momentum_optimizer_new(g, 0.02, 0.9, NULL);
    tg_op **updates = NULL, *train = NULL;
    int n = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, n) { train = tg_optimizer_minimize(opt, m.loss, NULL); }
    tg_free(updates);
    if (fixed) init = tg_global_variables_initializer(g);
    if (tg_graph_status(g)) return puts(tg_graph_message(g)), 1;
    tg_session *s = tg_session_new(g);
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    if (!rc) rc = teach_train(s, &m, train, 20);
    printf("%s: %s\n", fixed ? "fixed (initializer built last)" : "bug (initializer built before minimize)",
           rc ? tg_session_message(s) : "20 training steps ran");
    if (fixed) teach_draw(g, NULL, 1, "init_order.png");
    if (!fixed) {
        char *report = NULL;
        tg_graph_lint(g, NULL, 0, &init, 1, &report);
        printf("lint of the initialization run:\n%s", report ? report : "(nothing)\n");
        tg_free(report);
    }
    tg_session_free(s);
    tg_graph_free(g);
    return fixed && rc != TG_OK;
}

int main(void) { return run(false) || run(true); }
