/* tg_explain: why an op did or did not run in a run. A run executes what
 * its fetches and targets reach through data and control inputs, stopping
 * at fed tensors, and skips what a cond's untaken branch holds; so the
 * answer is a path from a fetch or target to the op, the feed that cut
 * every such path, the branch, or the absence of any path. */
#include <stdlib.h>
#include <string.h>

#include "lint_internal.h"
#include "session_internal.h"

typedef struct walk {
    const tg_graph *g;
    int *parent;   /* per op id: the op that pulled it in, -2 a root, -1 not reached */
    char *by;      /* per op id: 'd' data or 'c' control edge from the parent */
    const int *cut; /* per tensor id: fed (NULL: nothing fed) */
    int cut_at;    /* a fed tensor the walk stopped at on its way, or -1 */
} walk;

static bool walk_run(walk *w, tg_tensor *const *fetches, int nf, tg_op *const *targets, int nt) {
    const tg_graph *g = w->g;
    int *queue = malloc(((size_t)g->n_ops + 1) * sizeof *queue), head = 0, tail = 0;
    if (!queue) return false;
    for (int i = 0; i < g->n_ops; i++) w->parent[i] = -1;
    w->cut_at = -1;
    for (int i = 0; i < nf + nt; i++) {
        const tg_op *op = i < nf ? fetches[i]->op : targets[i - nf];
        if (i < nf && w->cut && w->cut[fetches[i]->id]) continue;
        if (w->parent[op->id] == -1) w->parent[op->id] = -2, queue[tail++] = op->id;
    }
    while (head < tail) {
        const tg_op *op = g->ops[queue[head++]];
        for (int i = 0; i < op->n_inputs + op->n_control; i++) {
            bool data = i < op->n_inputs;
            const tg_op *in = data ? op->inputs[i]->op : op->control[i - op->n_inputs];
            if (data && w->cut && w->cut[op->inputs[i]->id]) {
                w->cut_at = op->inputs[i]->id;
                continue;
            }
            if (w->parent[in->id] != -1) continue;
            w->parent[in->id] = op->id;
            w->by[in->id] = data ? 'd' : 'c';
            queue[tail++] = in->id;
        }
    }
    free(queue);
    return true;
}

/* "train_op <-control- Momentum/update <-data- ... <-data- op" */
static void write_path(tg__strbuf *b, const walk *w, const tg_op *op) {
    int chain[64], n = 0;
    for (int id = op->id; id >= 0 && n < 64; id = w->parent[id]) chain[n++] = id;
    for (int i = n - 1; i >= 0; i--) {
        tg__strbuf_printf(b, "'%s'", w->g->ops[chain[i]]->name);
        if (i > 0) tg__strbuf_printf(b, w->by[chain[i - 1]] == 'd' ? " <-data- " : " <-control- ");
    }
}

static void write_roots(tg__strbuf *b, tg_tensor *const *fetches, int nf, tg_op *const *targets, int nt) {
    tg__strbuf_printf(b, "{");
    for (int i = 0; i < nf + nt; i++)
        tg__strbuf_printf(b, "%s%s", i ? ", " : "", i < nf ? fetches[i]->name : targets[i - nf]->name);
    tg__strbuf_printf(b, "}");
}

/* The plan of the last run with these fetches and targets (any feeds). */
static const plan *last_plan(const tg_session *s, tg_tensor *const *fetches, int nf, tg_op *const *targets, int nt) {
    for (int k = 0; k < s->n_plans; k++) {
        const plan *p = s->plans[(s->last - k + s->n_plans) % s->n_plans];
        bool same = p->n_fetches == nf && p->n_targets == nt;
        for (int i = 0; same && i < nf; i++) same = p->fetch_ids[i] == fetches[i]->id;
        for (int i = 0; same && i < nt; i++) same = p->target_ids[i] == targets[i]->id;
        if (same) return p;
    }
    return NULL;
}

static bool in_update_ops(const tg_graph *g, const tg_op *op) {
    for (int i = 0; i < g->n_colls; i++) {
        if (strcmp(g->colls[i].key, TG_GRAPHKEYS_UPDATE_OPS) != 0) continue;
        for (int j = 0; j < g->colls[i].n; j++)
            if (tg__item_op(&g->colls[i].items[j]) == op) return true;
    }
    return false;
}

static void explain_not_reached(tg__strbuf *b, walk *w, const tg_op *op, tg_tensor *const *fetches, int nf,
                                tg_op *const *targets, int nt) {
    /* reachable without the feeds: some feed cut every path */
    const int *cut = w->cut;
    w->cut = NULL;
    bool ok = walk_run(w, fetches, nf, targets, nt);
    w->cut = cut;
    if (ok && w->parent[op->id] != -1) {
        tg__strbuf_printf(b, "'%s' did not run: it is reached only through fed tensors (a fed tensor replaces the "
                             "op that makes it, and what that op needs). Unfed, the path would be: ", op->name);
        write_path(b, w, op);
        for (int id = op->id; id >= 0; id = w->parent[id]) {
            int p = w->parent[id];
            if (p < 0 || w->by[id] != 'd') continue;
            for (int i = 0; i < w->g->ops[p]->n_inputs; i++) {
                const tg_tensor *t = w->g->ops[p]->inputs[i];
                if (t->op->id == id && cut[t->id]) tg__strbuf_printf(b, "; fed: '%s'", t->name);
            }
        }
        return;
    }
    tg__strbuf_printf(b, "'%s' did not run: no data or control path leads to it from ", op->name);
    write_roots(b, fetches, nf, targets, nt);
    if (in_update_ops(w->g, op))
        tg__strbuf_printf(b, ". It is in UPDATE_OPS, but the train op was not built inside "
                             "TG_WITH_CONTROL_DEPENDENCIES on that collection (and no fetch reads it)");
    tg__strbuf_printf(b, ". A run executes only what its fetches and targets need; fetch it, add it as a target, "
                         "or build what you fetch inside TG_WITH_CONTROL_DEPENDENCIES(g, &op, 1)");
}

static void explain(tg__strbuf *b, walk *w, const plan *p, const tg_op *op, tg_tensor *const *fetches, int nf,
                    tg_op *const *targets, int nt) {
    if (w->parent[op->id] == -1) {
        explain_not_reached(b, w, op, fetches, nf, targets, nt);
        return;
    }
    if (p && p->op_dead && op->id < p->n_op_ids && p->op_dead[op->id]) {
        tg__strbuf_printf(b, "'%s' was in the run but skipped: it is in a tg_cond branch that was not taken (or "
                             "reads one), so its inputs were dead. Pulled in by: ", op->name);
        write_path(b, w, op);
        return;
    }
    tg__strbuf_printf(b, "'%s' %s: ", op->name, p ? "ran" : "would run");
    write_path(b, w, op);
    tg__strbuf_printf(b, " (each op waits for the one after it, through the edge shown)");
}

char *tg_explain(tg_session *s, tg_tensor *const *fetches, int n_fetches, tg_op *const *targets, int n_targets,
                 const tg_op *op) {
    if (!s || !op || op->g != s->g || n_fetches < 0 || n_targets < 0 || (n_fetches && !fetches) ||
        (n_targets && !targets))
        return NULL;
    for (int i = 0; i < n_fetches + n_targets; i++) {
        const tg_op *r = i < n_fetches ? (fetches[i] ? fetches[i]->op : NULL) : targets[i - n_fetches];
        if (!r || r->g != s->g) return NULL;
    }
    pthread_mutex_lock(&s->run_lock);
    const tg_graph *g = s->g;
    const plan *p = last_plan(s, fetches, n_fetches, targets, n_targets);
    walk w = {.g = g, .parent = malloc(((size_t)g->n_ops + 1) * sizeof(int)), .by = malloc((size_t)g->n_ops + 1)};
    int *cut = p && p->n_feeds ? calloc((size_t)g->n_tensors + 1, sizeof *cut) : NULL;
    for (int i = 0; cut && i < p->n_feeds; i++) cut[p->feed_ids[i]] = 1;
    w.cut = cut;
    tg__strbuf b = {0};
    bool ok = w.parent && w.by && (!p || !p->n_feeds || cut) && walk_run(&w, fetches, n_fetches, targets, n_targets);
    if (ok) explain(&b, &w, p, op, fetches, n_fetches, targets, n_targets);
    pthread_mutex_unlock(&s->run_lock);
    free(w.parent);
    free(w.by);
    free(cut);
    if (!ok || b.failed) {
        tg__strbuf_free(&b);
        return NULL;
    }
    return b.data;
}
