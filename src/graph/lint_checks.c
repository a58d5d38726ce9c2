/* The built-in lint checks after update_ops (lint.c): each names the ops or
 * variables and ends with the one-line fix. What they need to know about
 * how the graph was built is noted while it is built (tg__lint_note_*). */
#include <stdlib.h>
#include <string.h>

#include "lint_internal.h"

/* ---- notes taken while the graph is built ------------------------------------- */

void tg__lint_note_empty_block(tg_graph *g, tg_op *const *ops, int n) {
    tg__strbuf b = {0};
    for (int i = 0; i < n && i < 8; i++) tg__strbuf_printf(&b, "%s%s", i ? ", " : "", ops[i]->name);
    if (n > 8) tg__strbuf_printf(&b, ", ... (%d ops)", n);
    const char *names = b.failed ? NULL : tg__arena_strdup(&g->arena, b.data);
    tg__strbuf_free(&b);
    if (names && tg__grow((void **)&g->empty_blocks, &g->cap_empty_blocks, g->n_empty_blocks + 1, sizeof(char *)))
        g->empty_blocks[g->n_empty_blocks++] = names;
}

void tg__lint_note_initializer(tg_graph *g, const tg_op *op, int n_vars) {
    if (tg__grow((void **)&g->inits, &g->cap_inits, g->n_inits + 1, sizeof *g->inits))
        g->inits[g->n_inits++] = (struct tg__init_note){op, n_vars};
}

/* ---- empty_control_dependencies -------------------------------------------------- */

static void check_empty_blocks(tg_lint_run *r) {
    for (int i = 0; i < r->g->n_empty_blocks; i++)
        tg_lint_report(r, "empty_control_dependencies",
                       "a control-dependencies block on {%s} ended without creating an op, so nothing waits for "
                       "them (using a tensor made outside the block, as with y = x, creates no op). Fix: create "
                       "the op inside the block, e.g. y = tg_identity(g, x, NULL) (TF: y = tf.identity(x))",
                       r->g->empty_blocks[i]);
}

/* ---- stale_collection ---------------------------------------------------------------- */

/* UPDATE_OPS read whole as ops (TF's get_collection) while it was smaller
 * than now, in a run that trains and leaves out ops added after that read:
 * the list the train op was built with was taken too early. */
static void check_stale_update_ops(tg_lint_run *r) {
    const tg_graph *g = r->g;
    const tg__collection *c = NULL;
    for (int i = 0; i < g->n_colls && !c; i++)
        if (strcmp(g->colls[i].key, TG_GRAPHKEYS_UPDATE_OPS) == 0) c = &g->colls[i];
    int read = atomic_load(&g->update_ops_read);
    if (!c || read < 0 || read >= c->n || !tg__lint_first_train(g, r->needed)) return;
    tg__strbuf b = {0};
    int missed = 0;
    for (int i = read; i < c->n; i++) {
        const tg_op *u = tg__item_op(&c->items[i]);
        if (u->id < r->n_needed && r->needed[u->id]) continue;
        tg__strbuf_printf(&b, "%s%s", missed++ ? ", " : "", u->name);
    }
    if (missed && !b.failed)
        tg_lint_report(r, "stale_collection",
                       "UPDATE_OPS was read (tg_get_collection_ops) when it held %d op%s and holds %d now; the ops "
                       "added after that read are in no list taken from it, and this training run leaves them out: "
                       "%s. Fix: read UPDATE_OPS after the whole model is built, just before building the train op",
                       read, read == 1 ? "" : "s", c->n, b.data);
    if (b.failed) r->out.failed = true;
    tg__strbuf_free(&b);
}

/* ---- init_before_variables ------------------------------------------------------------ */

static void check_init_coverage(tg_lint_run *r) {
    int covered = -1;
    const tg_op *init = NULL;
    for (int i = 0; i < r->g->n_inits; i++) {
        const struct tg__init_note *n = &r->g->inits[i];
        if (!tg_lint_run_executes(r, n->op) || n->n_vars <= covered) continue;
        covered = n->n_vars;
        init = n->op;
    }
    if (!init) return;
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(r->g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vars);
    if (n < 0) r->out.failed = true;
    if (n > covered) {
        tg__strbuf b = {0};
        for (int i = covered; i < n && i < covered + 8; i++)
            tg__strbuf_printf(&b, "%s%s", i > covered ? ", " : "", vars[i]->name);
        if (n > covered + 8) tg__strbuf_printf(&b, ", ...");
        tg_lint_report(r, "init_before_variables",
                       "'%s' was built when %d global variables existed; the %d created after it (%s) are not in it "
                       "and stay uninitialized. Fix: build tg_global_variables_initializer after the model and the "
                       "optimizer (after minimize), or run tg_variables_initializer on the new ones",
                       init->name, covered, n - covered, b.failed ? "?" : b.data);
        tg__strbuf_free(&b);
    }
    free(vars);
}

/* ---- unordered_variable_access ------------------------------------------------------- */

/* Whether `from` is among the ops `to` waits for (data or control), within
 * the run. seen is scratch of n_needed bytes, cleared here. */
static bool waits_for(const tg_lint_run *r, const tg_op *to, const tg_op *from, char *seen, const tg_op **stack) {
    memset(seen, 0, (size_t)r->n_needed);
    int sp = 0;
    stack[sp++] = to;
    seen[to->id] = 1;
    while (sp > 0) {
        const tg_op *op = stack[--sp];
        if (op == from) return true;
        for (int i = 0; i < op->n_inputs + op->n_control; i++) {
            const tg_op *in = i < op->n_inputs ? op->inputs[i]->op : op->control[i - op->n_inputs];
            if (in->id < r->n_needed && r->needed[in->id] && !seen[in->id]) seen[in->id] = 1, stack[sp++] = in;
        }
    }
    return false;
}

/* The Switch whose output a cond branch's pivot reads, and which output. */
static const tg_op *branch_switch(const tg__cond_ctx *c, int *index) {
    const tg_op *p = c->pivot;
    if (!p || p->n_inputs < 1 || !(p->inputs[0]->op->def->flags & TG__OPF_SWITCH)) return NULL;
    *index = p->inputs[0]->index;
    return p->inputs[0]->op;
}

/* Two ops in opposite branches of conds on one predicate never both run
 * (BN's update and its moving-statistics read under a training tensor). */
static bool exclusive(const tg_op *a, const tg_op *b) {
    for (const tg__cond_ctx *x = a->ctx; x; x = x->outer) {
        int ix = 0;
        const tg_op *sx = x->is_loop ? NULL : branch_switch(x, &ix);
        for (const tg__cond_ctx *y = b->ctx; sx && y; y = y->outer) {
            int iy = 0;
            const tg_op *sy = y->is_loop ? NULL : branch_switch(y, &iy);
            if (sy && sy->inputs[1] == sx->inputs[1] && iy != ix) return true;
        }
    }
    return false;
}

static bool writes_var(const tg_op *op, const tg_op *var_op) {
    unsigned f = op->def->flags;
    if ((f & TG__OPF_REF_INPUT0) && op->inputs[0]->op == var_op) return true;
    for (int i = 0; (f & TG__OPF_REF_INPUTS) && i < op->n_inputs; i++)
        if (op->inputs[i]->op == var_op) return true;
    return false;
}

/* An op that passes its input's memory on and reads nothing itself
 * (Identity, Switch, Merge, Reshape, ...): a view op that computes
 * (batch norm in place) or has effects (Print, a stack push) reads. */
static bool forwards(const tg_op *op) {
    unsigned f = op->def->flags;
    return (f & TG__OPF_VIEWS) && !(f & (TG__OPF_INPLACE | TG__OPF_STATEFUL));
}

/* Marks in `reader` the ops of the run that read v's value. A view of the
 * variable (its read Identity, a Switch of it: TG__OPF_VIEWS) reads
 * nothing when it runs, it aliases the storage; its consumers read, when
 * they run. A view that is fetched is read by the fetch, after every op. */
static void value_readers(const tg_lint_run *r, const tg_variable *v, char *view, char *reader) {
    memset(view, 0, (size_t)r->n_needed);
    memset(reader, 0, (size_t)r->n_needed);
    view[v->op->id] = 1;
    for (int k = v->op->id + 1; k < r->n_needed; k++) {
        const tg_op *op = r->g->ops[k];
        bool takes = false;
        for (int i = 0; i < op->n_inputs && !takes; i++) takes = view[op->inputs[i]->op->id];
        if (!takes || !r->needed[k] || writes_var(op, v->op)) continue;
        if (forwards(op)) view[k] = 1;
        else reader[k] = 1;
    }
}

static void check_var_races(tg_lint_run *r, const tg_variable *v, char *seen, const tg_op **stack, char *view,
                            char *reader) {
    const tg_graph *g = r->g;
    bool found = false;
    for (int w = v->op->id + 1; w < r->n_needed && !found; w++) {
        const tg_op *W = g->ops[w];
        /* optimizers' Apply* ops (REF_INPUTS) race with the gradients that
         * read the weight (TF 1.x's minimize has no order there either, and
         * no user can add one); the checks are for the writes users make */
        if (!r->needed[w] || !writes_var(W, v->op) || W == v->initializer || (W->def->flags & TG__OPF_REF_INPUTS))
            continue;
        if (!found) value_readers(r, v, view, reader);
        found = true;
        for (int k = v->op->id + 1; k < r->n_needed; k++) {
            const tg_op *R = g->ops[k];
            if (!reader[k] || exclusive(R, W) || waits_for(r, W, R, seen, stack) || waits_for(r, R, W, seen, stack))
                continue;
            tg_lint_report(r, "unordered_variable_access",
                           "'%s' reads variable '%s' and '%s' writes it in the same run with no data or control "
                           "path between them: the value read depends on the order the executor picks (run with "
                           "tg_run_options.race_seed to see it change). Fix: build the read inside "
                           "TG_WITH_CONTROL_DEPENDENCIES(g, &write_op, 1) to read the new value, or the write "
                           "inside one on the read to read the old",
                           R->name, v->name, W->name);
        }
    }
}

/* Initializers do not count: a run that initializes a variable and reads
 * it is refused at run time anyway. */
static void check_unordered_access(tg_lint_run *r) {
    size_t n = (size_t)r->n_needed + 1;
    char *seen = malloc(n), *view = malloc(n), *reader = malloc(n);
    const tg_op **stack = malloc(n * sizeof *stack);
    bool ok = seen && view && reader && stack;
    if (!ok) r->out.failed = true;
    for (int i = 0; ok && i < r->g->n_vars; i++) {
        const tg_variable *v = r->g->vars[i];
        if (v->op && v->op->id < r->n_needed && r->needed[v->op->id]) check_var_races(r, v, seen, stack, view, reader);
    }
    free(seen);
    free(view);
    free(reader);
    free(stack);
}

/* ---- update_ops_other_scope ---------------------------------------------------------- */

static size_t top_len(const char *name) {
    const char *s = strchr(name, '/');
    return s ? (size_t)(s - name) : strlen(name);
}

/* Whether the run (needed[0..n)) trains a trainable variable under
 * top-level scope name[0..len), and whether there is any. */
static void scope_training(const tg_graph *g, const char *needed, int n, const char *name, size_t len, bool *any,
                           bool *trained) {
    *any = *trained = false;
    for (int i = 0; i < g->n_vars; i++) {
        const tg_variable *v = g->vars[i];
        if (!v->trainable || top_len(v->name) != len || strncmp(v->name, name, len) != 0) continue;
        *any = true;
        for (int k = v->op->id + 1; k < n && !*trained; k++)
            *trained = needed[k] && writes_var(g->ops[k], v->op) && tg__lint_trains(g->ops[k]);
    }
}

bool tg__lint_other_network(const tg_graph *g, const char *needed, int n, const tg_op *op) {
    bool any, trained;
    scope_training(g, needed, n, op->name, top_len(op->name), &any, &trained);
    return any && !trained;
}

/* A training run that runs UPDATE_OPS of a scope whose trainable variables
 * it does not train: the GAN mistake (one global UPDATE_OPS list attached
 * to both train ops). */
static void check_update_scopes(tg_lint_run *r) {
    const tg_op *train = tg__lint_first_train(r->g, r->needed);
    tg_item *items = NULL;
    int n = train ? tg_get_collection(r->g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &items) : 0;
    if (n < 0) r->out.failed = true;
    for (int i = 0; i < n; i++) {
        const tg_op *u = tg__item_op(&items[i]);
        if (!r->needed[u->id]) continue;
        size_t len = top_len(u->name);
        bool reported = false;
        for (int j = 0; j < i && !reported; j++) {
            const tg_op *p = tg__item_op(&items[j]);
            reported = r->needed[p->id] && top_len(p->name) == len && strncmp(p->name, u->name, len) == 0;
        }
        if (reported || !tg__lint_other_network(r->g, r->needed, r->n_needed, u)) continue;
        tg_lint_report(r, "update_ops_other_scope",
                       "this run trains '%s' (via '%s') but also runs '%s', an UPDATE_OPS op of scope '%.*s/' whose "
                       "trainable variables it does not train: that network's moving statistics move with the "
                       "other network's batches. Fix: depend only on the updates of the scope trained: "
                       "tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, \"<scope>/\", &ops)",
                       train->inputs[0]->op->variable->name, train->name, u->name, (int)len, u->name);
    }
    free(items);
}

void tg__lint_builtin(tg_lint_run *r) {
    check_empty_blocks(r);
    check_stale_update_ops(r);
    check_init_coverage(r);
    check_unordered_access(r);
    check_update_scopes(r);
}
