/* The lint: TF1's classic graph-mode mistakes, found in the run they spoil
 * and named with their fix. This file is the framework (the run a check
 * sees, findings, checks added by layers and optimizers, tg_graph_lint)
 * and the UPDATE_OPS check; lint_checks.c has the other built-in checks. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lint_internal.h"

/* ---- the run a check sees ---------------------------------------------------- */

tg_graph *tg_lint_run_graph(const tg_lint_run *r) { return r ? r->g : NULL; }

bool tg_lint_run_executes(const tg_lint_run *r, const tg_op *op) {
    return r && op && op->g == r->g && op->id < r->n_needed && r->needed[op->id];
}

tg_tensor *const *tg_lint_run_fetches(const tg_lint_run *r, int *n) {
    if (n) *n = r ? r->n_fetches : 0;
    return r ? r->fetches : NULL;
}

tg_op *const *tg_lint_run_targets(const tg_lint_run *r, int *n) {
    if (n) *n = r ? r->n_targets : 0;
    return r ? r->targets : NULL;
}

tg_session *tg_lint_run_session(const tg_lint_run *r) { return r ? r->s : NULL; }

void tg_lint_report(tg_lint_run *r, const char *check, const char *fmt, ...) {
    if (!r || !check || !fmt) return;
    tg__strbuf_printf(&r->out, "[%s] ", check);
    va_list ap;
    va_start(ap, fmt);
    char line[1024];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) {
        r->out.failed = true;
        return;
    }
    if ((size_t)n < sizeof line) {
        tg__strbuf_printf(&r->out, "%s\n", line);
    } else {
        /* a long list of op names: format again into a buffer that fits */
        char *big = malloc((size_t)n + 1);
        if (!big) {
            r->out.failed = true;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        tg__strbuf_printf(&r->out, "%s\n", big);
        free(big);
    }
    r->found++;
}

tg_code tg_graph_add_lint(tg_graph *g, const char *name, tg_lint_fn fn, void *user) {
    if (!g) return TG_INVALID_ARGUMENT;
    if (!name || !fn) return tg__fail(g, TG_INVALID_ARGUMENT, "tg_graph_add_lint: %s is NULL", name ? "fn" : "name");
    const char *k = tg__arena_strdup(&g->arena, name);
    if (!k || !tg__grow((void **)&g->lints, &g->cap_lints, g->n_lints + 1, sizeof *g->lints))
        return tg__fail(g, TG_RESOURCE_EXHAUSTED, "tg_graph_add_lint: out of memory");
    g->lints[g->n_lints++] = (struct tg__lint_hook){k, fn, user};
    return TG_OK;
}

/* ---- the UPDATE_OPS check ------------------------------------------------------ */

const tg_op *tg__lint_trains(const tg_op *op) {
    unsigned f = op->def->flags;
    if (!(f & TG__OPF_REF_INPUT0) || (f & TG__OPF_INIT_REF)) return NULL;
    const tg_variable *v = op->inputs[0]->op->variable;
    return v && v->trainable ? op : NULL;
}

const tg_op *tg__lint_first_train(const tg_graph *g, const char *needed) {
    for (int id = 0; id < g->n_ops; id++)
        if (needed[id] && tg__lint_trains(g->ops[id])) return g->ops[id];
    return NULL;
}

char *tg__lint_update_ops(const tg_graph *g, const char *needed, int *n_stale) {
    *n_stale = 0;
    const tg_op *train = tg__lint_first_train(g, needed);
    if (!train) return NULL;
    tg_item *updates = NULL;
    /* tg_get_collection, not _ops: reads made by the library are no user's
     * snapshot (the stale_collection check counts those) */
    int n = tg_get_collection(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    if (n < 0) {
        *n_stale = -1;
        return NULL;
    }
    tg__strbuf b = {0};
    int stale = 0;
    for (int i = 0; i < n; i++) {
        const tg_op *u = tg__item_op(&updates[i]);
        /* another network's updates belong to its own train op */
        if (needed[u->id] || tg__lint_other_network(g, needed, g->n_ops, u)) continue;
        if (stale == 0)
            tg__strbuf_printf(&b, "this run trains (it runs '%s', which updates trainable variable '%s') but ops in "
                                  "UPDATE_OPS will not run, so their moving averages stay stale:",
                              train->name, train->inputs[0]->op->variable->name);
        tg__strbuf_printf(&b, " %s", u->name);
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

static void check_update_ops(tg_lint_run *r) {
    int n = 0;
    char *msg = tg__lint_update_ops(r->g, r->needed, &n);
    if (n < 0) r->out.failed = true;
    if (msg) tg_lint_report(r, "update_ops", "%s", msg);
    free(msg);
}

/* ---- running the checks ---------------------------------------------------------- */

/* The ops the fetches and targets need through data and control inputs
 * (no feeds cut the walk); NULL when out of memory or for a bad argument. */
static char *needed_ops(const tg_graph *g, tg_tensor *const *fetches, int nf, tg_op *const *targets, int nt) {
    char *needed = calloc((size_t)g->n_ops + 1, 1);
    tg_op **stack = malloc(((size_t)g->n_ops + 1) * sizeof *stack);
    int sp = 0;
    bool ok = needed && stack;
    for (int i = 0; ok && i < nf + nt; i++) {
        tg_op *op = i < nf ? (fetches[i] ? fetches[i]->op : NULL) : targets[i - nf];
        ok = op && op->g == g;
        if (ok && !needed[op->id]) needed[op->id] = 1, stack[sp++] = op;
    }
    while (ok && sp > 0) {
        tg_op *op = stack[--sp];
        for (int i = 0; i < op->n_inputs; i++)
            if (!needed[op->inputs[i]->op->id]) needed[op->inputs[i]->op->id] = 1, stack[sp++] = op->inputs[i]->op;
        for (int i = 0; i < op->n_control; i++)
            if (!needed[op->control[i]->id]) needed[op->control[i]->id] = 1, stack[sp++] = op->control[i];
    }
    free(stack);
    if (!ok) free(needed);
    return ok ? needed : NULL;
}

int tg__lint_run_all(tg_lint_run *r, char **report) {
    if (report) *report = NULL;
    check_update_ops(r);
    tg__lint_builtin(r);
    for (int i = 0; i < r->g->n_lints; i++) r->g->lints[i].fn(r, r->g->lints[i].user);
    if (r->out.failed) {
        tg__strbuf_free(&r->out);
        return -1;
    }
    if (report && r->found) *report = r->out.data;
    else tg__strbuf_free(&r->out);
    return r->found;
}

int tg_graph_lint(tg_graph *g, tg_tensor *const *fetches, int n_fetches, tg_op *const *targets, int n_targets,
                  char **report) {
    if (report) *report = NULL;
    if (!g || n_fetches < 0 || n_targets < 0 || (n_fetches && !fetches) || (n_targets && !targets)) return -1;
    char *needed = needed_ops(g, fetches, n_fetches, targets, n_targets);
    if (!needed) return -1;
    tg_lint_run r = {.g = g, .needed = needed, .n_needed = g->n_ops, .fetches = fetches, .n_fetches = n_fetches,
                     .targets = targets, .n_targets = n_targets};
    int n = tg__lint_run_all(&r, report);
    free(needed);
    return n;
}

/* The check on demand, without a session, as tg_graph_lint's first check. */
int tg_graph_check_update_ops(const tg_graph *g, tg_tensor *const *fetches, int n_fetches, tg_op *const *targets,
                              int n_targets, char **message) {
    if (message) *message = NULL;
    if (!g || n_fetches < 0 || n_targets < 0 || (n_fetches && !fetches) || (n_targets && !targets)) return -1;
    char *needed = needed_ops(g, fetches, n_fetches, targets, n_targets);
    if (!needed) return -1;
    int n_stale = -1;
    char *msg = tg__lint_update_ops(g, needed, &n_stale);
    if (message) *message = msg;
    else free(msg);
    free(needed);
    return n_stale;
}
