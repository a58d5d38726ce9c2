/* The UPDATE_OPS check: TF1's classic silent mistake is a train op that
 * does not depend on the batch-norm moving-average updates in UPDATE_OPS,
 * so the moving statistics never change. Given the set of ops a run
 * executes, this names the update ops it leaves out when the run trains. */
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

/* An op that steps a trainable variable (an optimizer's Apply* op, or
 * AssignSub / AssignAdd): what makes a run a training step. Plain Assign
 * ops (initializers, checkpoint restores, manual sets) do not count. */
static const tg_op *trains(const tg_op *op) {
    unsigned f = op->def->flags;
    if (!(f & TG__OPF_REF_INPUT0) || (f & TG__OPF_INIT_REF)) return NULL;
    const tg_variable *v = op->inputs[0]->op->variable;
    return v && v->trainable ? op : NULL;
}

char *tg__lint_update_ops(const tg_graph *g, const char *needed, int *n_stale) {
    *n_stale = 0;
    const tg_op *train = NULL;
    for (int id = 0; id < g->n_ops && !train; id++)
        if (needed[id]) train = trains(g->ops[id]);
    if (!train) return NULL;
    tg_op **updates = NULL;
    int n = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    if (n < 0) {
        *n_stale = -1;
        return NULL;
    }
    tg__strbuf b = {0};
    int stale = 0;
    for (int i = 0; i < n; i++) {
        if (needed[updates[i]->id]) continue;
        if (stale == 0)
            tg__strbuf_printf(&b, "this run trains (it runs '%s', which updates trainable variable '%s') but ops in "
                                  "UPDATE_OPS will not run, so their moving averages stay stale:",
                              train->name, train->inputs[0]->op->variable->name);
        tg__strbuf_printf(&b, " %s", updates[i]->name);
        stale++;
    }
    free(updates);
    if (b.failed) *n_stale = -1;
    if (stale == 0 || b.failed) {
        tg__strbuf_free(&b);
        return NULL;
    }
    tg__strbuf_printf(&b, ". Fix: build the train op inside TG_WITH_CONTROL_DEPENDENCIES(g, update_ops, n) with "
                          "update_ops from tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &update_ops) "
                          "(TF: with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)): "
                          "train_op = opt.minimize(loss)), or fetch the update ops in the same run.");
    *n_stale = b.failed ? -1 : stale;
    return b.failed ? (tg__strbuf_free(&b), NULL) : b.data;
}

/* The check on demand, without a session: the ops the fetches and targets
 * need through data and control inputs (no feeds cut the walk). */
int tg_graph_check_update_ops(const tg_graph *g, tg_tensor *const *fetches, int n_fetches, tg_op *const *targets,
                              int n_targets, char **message) {
    if (message) *message = NULL;
    if (!g || n_fetches < 0 || n_targets < 0 || (n_fetches && !fetches) || (n_targets && !targets)) return -1;
    char *needed = calloc((size_t)g->n_ops + 1, 1);
    tg_op **stack = malloc(((size_t)g->n_ops + 1) * sizeof *stack);
    int sp = 0, n_stale = -1;
    if (!needed || !stack) goto done;
    for (int i = 0; i < n_fetches + n_targets; i++) {
        tg_op *op = i < n_fetches ? (fetches[i] ? fetches[i]->op : NULL) : targets[i - n_fetches];
        if (!op || op->g != g) goto done;
        if (!needed[op->id]) needed[op->id] = 1, stack[sp++] = op;
    }
    while (sp > 0) {
        tg_op *op = stack[--sp];
        for (int i = 0; i < op->n_inputs; i++)
            if (!needed[op->inputs[i]->op->id]) needed[op->inputs[i]->op->id] = 1, stack[sp++] = op->inputs[i]->op;
        for (int i = 0; i < op->n_control; i++)
            if (!needed[op->control[i]->id]) needed[op->control[i]->id] = 1, stack[sp++] = op->control[i];
    }
    char *msg = tg__lint_update_ops(g, needed, &n_stale);
    if (message) *message = msg;
    else free(msg);
done:
    free(needed);
    free(stack);
    return n_stale;
}
