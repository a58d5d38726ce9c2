/* The scope stack: name scopes, variable scopes and control-dependency
 * blocks share one stack so that their interleaving is undone in order.
 * Each entry saves the state it replaced; popping restores it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

static tg__scope_entry *push_entry(tg_graph *g, tg__scope_kind kind) {
    if (!tg__grow((void **)&g->stack, &g->cap_stack, g->depth + 1, sizeof *g->stack)) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    tg__scope_entry *e = &g->stack[g->depth++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->saved_name_scope = g->name_scope;
    e->saved_var_scope = g->var_scope;
    e->saved_cond = g->cond_ctx;
    return e;
}

/* TF's name_scope(name): "" resets to the root, "a/b/" re-enters exactly,
 * anything else is made unique under the current scope. */
static const char *enter_name_scope(tg_graph *g, const char *name) {
    if (!name || !*name) return "";
    size_t len = strlen(name);
    if (name[len - 1] == '/') return tg__arena_strdup(&g->arena, name);
    const char *u = tg__unique_name(g, name, true);
    return u ? tg__arena_printf(&g->arena, "%s/", u) : NULL;
}

static bool valid_scope_name(tg_graph *g, const char *what, const char *name) {
    if (!name || !*name) return true;
    char tmp[512];
    size_t len = strlen(name);
    if (len >= sizeof tmp) len = sizeof tmp - 1;
    memcpy(tmp, name, len);
    tmp[len] = '\0';
    if (len && tmp[len - 1] == '/') tmp[len - 1] = '\0';
    if (tg__valid_name(tmp)) return true;
    tg__fail(g, TG_INVALID_ARGUMENT, "'%s' is not a valid %s name", name, what);
    return false;
}

int tg_name_scope_push(tg_graph *g, const char *name) {
    if (!g) return 0;
    if (g->code != TG_OK || !valid_scope_name(g, "scope", name)) return g->depth;
    const char *ns = enter_name_scope(g, name);
    if (!ns) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return g->depth;
    }
    int tok = g->depth;
    if (push_entry(g, TG__SCOPE_NAME)) g->name_scope = ns;
    return tok;
}

const char *tg_graph_name_scope(const tg_graph *g) { return g ? g->name_scope : ""; }
int tg_scope_depth(const tg_graph *g) { return g ? g->depth : 0; }

const tg__var_scope *tg__current_var_scope(const tg_graph *g) { return &g->var_scope; }
const char *tg_variable_scope_name(const tg_graph *g) { return g ? g->var_scope.name : ""; }
tg_reuse tg_variable_scope_reuse(const tg_graph *g) {
    return g ? g->var_scope.reuse : TG_REUSE_INHERIT;
}

static int scope_count(const tg_graph *g, const char *name) {
    return (int)(intptr_t)tg__strmap_get(&g->var_scope_counts, name);
}

/* TF's _get_unique_variable_scope: "dense", "dense_1", ... among the scopes
 * opened so far under the current one. */
static const char *unique_var_scope(tg_graph *g, const char *prefix) {
    const char *parent = g->var_scope.name;
    const char *base = *parent ? tg__arena_printf(&g->arena, "%s/%s", parent, prefix)
                               : tg__arena_strdup(&g->arena, prefix);
    if (!base) return NULL;
    if (scope_count(g, base) == 0) return prefix;
    for (int i = 1;; i++) {
        const char *cand = tg__arena_printf(&g->arena, "%s_%d", base, i);
        if (!cand) return NULL;
        if (scope_count(g, cand) == 0) return tg__arena_printf(&g->arena, "%s_%d", prefix, i);
    }
}

/* A scope's initializer is None (all zero) or made by a constructor: a
 * literal with fields but no kind would otherwise be read as None. */
static bool initializer_ok(tg_graph *g, const tg_initializer *init) {
    bool none = init->kind == TG_INIT_DEFAULT && !init->value && !init->minval && !init->maxval && !init->mean &&
                !init->stddev && !init->scale && !init->mode && !init->distribution && !init->seed;
    if (init->tg__init == TG__TAG_tg_initializer || none) return true;
    tg__fail(g, TG_INVALID_ARGUMENT,
             "variable_scope: option 'initializer' not made by a tg_*_initializer() constructor (a literal's "
             "missing fields would be 0: stddev 0, no seed)");
    return false;
}

int tg_variable_scope_push(tg_graph *g, const char *name, const tg_variable_scope_opts *opts) {
    if (!g) return 0;
    int tok = g->depth;
    if (g->code != TG_OK) return tok;
    const tg_variable_scope_opts o = opts ? *opts : (tg_variable_scope_opts){0};
    if ((unsigned)o.reuse > TG_AUTO_REUSE) {
        tg__fail(g, TG_INVALID_ARGUMENT, "The reuse parameter must be True or False or None.");
        return tok;
    }
    if (!initializer_ok(g, &o.initializer)) return tok;
    const char *rel, *ns;
    if (name) {
        if (!valid_scope_name(g, "variable scope", name)) return tok;
        rel = name;
        ns = enter_name_scope(g, name);
    } else {
        if (!o.default_name) {
            tg__fail(g, TG_INVALID_ARGUMENT, "If default_name is None then name_or_scope is required");
            return tok;
        }
        if (o.reuse != TG_REUSE_INHERIT) { /* TF tests `if reuse:`, and AUTO_REUSE is truthy */
            tg__fail(g, TG_INVALID_ARGUMENT, "reuse=True cannot be used without a name_or_scope");
            return tok;
        }
        if (!valid_scope_name(g, "variable scope", o.default_name)) return tok;
        ns = enter_name_scope(g, o.default_name);
        rel = ns ? unique_var_scope(g, o.default_name) : NULL;
    }
    const char *parent = g->var_scope.name;
    const char *full = !rel ? NULL
                       : *parent ? tg__arena_printf(&g->arena, "%s/%s", parent, rel)
                                 : tg__arena_strdup(&g->arena, rel);
    if (!ns || !full || !tg__map_put(g, &g->var_scope_counts, full,
                                        (void *)(intptr_t)(scope_count(g, full) + 1))) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return tok;
    }
    tg__scope_entry *e = push_entry(g, TG__SCOPE_VAR);
    if (!e) return tok;
    e->opened_var_scope = full;
    tg__var_scope vs = g->var_scope;
    vs.name = full;
    if (o.reuse != TG_REUSE_INHERIT) vs.reuse = o.reuse;
    if (o.initializer.kind != TG_INIT_DEFAULT) vs.initializer = o.initializer;
    if (o.regularizer.fn) vs.regularizer = o.regularizer;
    g->var_scope = vs;
    g->name_scope = ns;
    return tok;
}

/* The union of every active control input at the top of the stack. */
static const tg__scope_entry *top_control(const tg_graph *g) {
    for (int d = g->depth - 1; d >= 0; d--)
        if (g->stack[d].kind == TG__SCOPE_CONTROL) return &g->stack[d];
    return NULL;
}

int tg_graph_control_dependencies(const tg_graph *g, tg_op *const **ops) {
    const tg__scope_entry *e = g ? top_control(g) : NULL;
    if (ops) *ops = e ? e->all : NULL;
    return e ? e->n_all : 0;
}

int tg_control_dependencies_push(tg_graph *g, tg_op *const *ops, int n) {
    if (!g) return 0;
    int tok = g->depth;
    if (g->code != TG_OK) return tok;
    if (n < 0 || (n > 0 && !ops)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "control_dependencies: bad op list (n = %d)", n);
        return tok;
    }
    for (int i = 0; i < n; i++) {
        if (!ops[i]) {
            tg__fail(g, TG_INVALID_ARGUMENT, "control_dependencies: op %d of %d is NULL", i, n);
            return tok;
        }
        if (ops[i]->g != g) {
            tg__fail(g, TG_INVALID_ARGUMENT, "control_dependencies: op '%s' is from another graph",
                     ops[i]->name);
            return tok;
        }
    }
    bool clear = !ops && n == 0;
    const tg__scope_entry *prev = clear ? NULL : top_control(g);
    int n_prev = prev ? prev->n_all : 0;
    tg_op **all = tg__arena_alloc(&g->arena, (size_t)(n_prev + n + 1) * sizeof *all);
    tg_op **own = tg__arena_alloc(&g->arena, (size_t)(n + 1) * sizeof *own);
    if (!all || !own) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return tok;
    }
    int n_all = 0, n_own = 0;
    for (int i = 0; i < n_prev; i++) all[n_all++] = prev->all[i];
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < n_all && !seen; j++) seen = all[j] == ops[i];
        if (seen) continue;
        all[n_all++] = ops[i];
        own[n_own++] = ops[i];
    }
    tg__scope_entry *e = push_entry(g, TG__SCOPE_CONTROL);
    if (!e) return tok;
    e->clear = clear;
    if (clear) g->cond_ctx = NULL;
    e->start_op_id = g->n_ops;
    e->ops = own;
    e->n_ops = n_own;
    e->all = all;
    e->n_all = n_all;
    return tok;
}

/* TF's close_variable_subscopes: default names under `scope` restart. */
static void reset_subscope_counts(tg_graph *g, const char *scope) {
    size_t len = strlen(scope);
    tg__strmap *m = &g->var_scope_counts;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] && strncmp(m->keys[i], scope, len) == 0 && m->keys[i][len] == '/')
            m->vals[i] = (void *)(intptr_t)0;
}

void tg_scope_pop(tg_graph *g, int token) {
    if (!g) return;
    if (token < 0 || token > g->depth) {
        tg__fail(g, TG_FAILED_PRECONDITION,
                 "tg_scope_pop: token %d is not on the scope stack (depth %d); "
                 "was this block already popped?",
                 token, g->depth);
        return;
    }
    while (g->depth > token) {
        tg__scope_entry *e = &g->stack[--g->depth];
        g->name_scope = e->saved_name_scope;
        g->var_scope = e->saved_var_scope;
        if (e->opened_var_scope) reset_subscope_counts(g, e->opened_var_scope);
        if (e->kind == TG__SCOPE_CONTROL && e->clear) g->cond_ctx = e->saved_cond;
        if (e->kind == TG__SCOPE_CONTROL && e->n_ops > 0 && g->n_ops == e->start_op_id)
            tg__lint_note_empty_block(g, e->ops, e->n_ops);
    }
}

tg__with_block tg__with_begin(tg_graph *g, int token, bool ref) {
    if (g && ref) tg__graph_ref(g);
    return (tg__with_block){g, token, false, g && ref};
}

void tg__with_end(tg__with_block *b) {
    b->done = true;
    tg_scope_pop(b->g, b->token);
}

void tg__with_cleanup(tg__with_block *b) {
    /* An early exit: pop unless an outer pop or the user already did. */
    if (!b->done && b->g && b->token <= b->g->depth) tg_scope_pop(b->g, b->token);
    b->done = true;
    if (b->ref) tg_graph_free(b->g); /* the block's reference; the user's may be gone */
    b->ref = false;
}

/* "variable scope 'layer1'" for stack entry i: what the entry opened is the
 * state saved by the entry above it, or the current state for the top. */
static void describe_entry(const tg_graph *g, int i, char *buf, size_t size) {
    const tg__scope_entry *e = &g->stack[i];
    bool top = i + 1 == g->depth;
    switch (e->kind) {
    case TG__SCOPE_NAME:
        snprintf(buf, size, "name scope '%s'", top ? g->name_scope : g->stack[i + 1].saved_name_scope);
        break;
    case TG__SCOPE_VAR:
        snprintf(buf, size, "variable scope '%s'", top ? g->var_scope.name : g->stack[i + 1].saved_var_scope.name);
        break;
    case TG__SCOPE_CONTROL:
        snprintf(buf, size, "control_dependencies block on %d op(s)", e->n_all);
        break;
    }
}

int tg__open_scopes_message(const tg_graph *g, char *buf, size_t size) {
    if (!g || g->depth == 0) return 0;
    char what[512];
    describe_entry(g, 0, what, sizeof what);
    snprintf(buf, size,
             "%d scope(s) still open, the outermost %s: a TG_WITH_* block was left by return, break or goto "
             "on a compiler without __attribute__((cleanup)), or a push has no tg_scope_pop",
             g->depth, what);
    return g->depth;
}

tg_code tg_graph_check_scopes(tg_graph *g) {
    if (!g) return TG_INVALID_ARGUMENT;
    char msg[1024];
    if (tg__open_scopes_message(g, msg, sizeof msg))
        tg__fail(g, TG_FAILED_PRECONDITION, "tg_graph_check_scopes: %s", msg);
    return g->code;
}
