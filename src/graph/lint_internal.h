/* The lint's private side (lint.c, lint_checks.c, session_lint.c): the
 * run a check sees and the helpers the built-in checks share. */
#ifndef TG_LINT_INTERNAL_H
#define TG_LINT_INTERNAL_H

#include "graph_internal.h"

struct tg_lint_run {
    tg_graph *g;
    const char *needed; /* per op id below n_needed: the run executes it */
    int n_needed;
    tg_tensor *const *fetches;
    int n_fetches;
    tg_op *const *targets;
    int n_targets;
    tg_session *s; /* NULL for tg_graph_lint */
    tg__strbuf out;
    int found;
};

/* op, when it steps a trainable variable (an optimizer's Apply* op,
 * AssignSub, AssignAdd): what makes a run a training step. Plain Assign
 * ops (initializers, restores, manual sets) do not count. NULL otherwise. */
const tg_op *tg__lint_trains(const tg_op *op);
/* The first op of the run that trains, or NULL. */
const tg_op *tg__lint_first_train(const tg_graph *g, const char *needed);

/* The op of a collection item (a tensor's or a variable's op). */
static inline const tg_op *tg__item_op(const tg_item *it) {
    return it->kind == TG_ITEM_OP       ? it->u.op
           : it->kind == TG_ITEM_TENSOR ? it->u.tensor->op
                                        : it->u.variable->op;
}

/* Whether op (an UPDATE_OPS op) belongs to another network than the one
 * the run trains: its top-level scope has trainable variables and the run
 * trains none of them (a GAN's generator in the discriminator's step). */
bool tg__lint_other_network(const tg_graph *g, const char *needed, int n, const tg_op *op);

/* lint_checks.c: every built-in check after update_ops. */
void tg__lint_builtin(tg_lint_run *r);

/* Runs every check on r and hands over the report as tg_graph_lint does;
 * r->out must be empty. */
int tg__lint_run_all(tg_lint_run *r, char **report);

#endif
