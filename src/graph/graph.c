/* Graphs and ops: creation, TF's name uniquification, the atomic add-op
 * path every builder goes through, and look-ups. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

bool tg__grow(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return true;
    int n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    void *p = realloc(*arr, (size_t)n * elem);
    if (!p) return false;
    *arr = p;
    *cap = n;
    return true;
}

tg_graph *tg_graph_new(void) {
    tg_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->refs = 1;
    g->update_ops_read = -1;
    g->name_scope = "";
    g->var_scope.name = "";
    return g;
}

void tg__graph_ref(tg_graph *g) { atomic_fetch_add(&g->refs, 1); }

bool tg__build_begin(tg_graph *g, const char *what) {
    atomic_fetch_add(&g->building, 1);
    if (atomic_load(&g->running) == 0) return true;
    atomic_fetch_sub(&g->building, 1);
    tg__fail(g, TG_FAILED_PRECONDITION,
             "%s: a session is running this graph on another thread; build the graph before running it (or "
             "after the run returns)",
             what);
    return false;
}

void tg__build_end(tg_graph *g) { atomic_fetch_sub(&g->building, 1); }

bool tg__run_begin(tg_graph *g) {
    atomic_fetch_add(&g->running, 1);
    if (atomic_load(&g->building) == 0) return true;
    atomic_fetch_sub(&g->running, 1);
    return false;
}

void tg__run_end(tg_graph *g) { atomic_fetch_sub(&g->running, 1); }

void tg_graph_free(tg_graph *g) {
    if (!g || atomic_fetch_sub(&g->refs, 1) > 1) return;
    /* Newest first: a layer made by another object goes before its maker.
     * Popped one at a time, since a free_fn may free (and so disown)
     * another owned object. */
    while (g->n_owned > 0) {
        struct tg__owned e = g->owned[--g->n_owned];
        e.free_fn(e.obj);
    }
    free(g->owned);
    free(g->undo);
    free(g->message);
    free(g->ops);
    free(g->stack);
    free(g->vars);
    for (int i = 0; i < g->n_colls; i++) free(g->colls[i].items);
    free(g->colls);
    free(g->lints);
    free(g->empty_blocks);
    free(g->inits);
    tg__strmap_free(&g->op_by_name);
    for (size_t i = 0; i < g->names_in_use.cap; i++) free((char *)g->names_in_use.keys[i]);
    tg__strmap_free(&g->names_in_use);
    tg__strmap_free(&g->var_scope_counts);
    tg__strmap_free(&g->var_by_name);
    tg__strmap_free(&g->coll_by_key);
    tg__strmap_free(&g->object_uids);
    tg__arena_free(&g->arena);
    free(g);
}

void tg_graph_set_random_seed(tg_graph *g, int64_t seed) {
    if (!g) return;
    g->has_seed = true;
    g->seed = seed;
}

int tg_graph_unique_object_name(tg_graph *g, const char *base, bool zero_based, char *buf, size_t size) {
    if (!g || !base || !buf || size == 0) return -1;
    intptr_t n = (intptr_t)tg__strmap_get(&g->object_uids, base);
    const char *key = n ? base : tg__arena_strdup(&g->arena, base);
    if (!key || !tg__map_put(g, &g->object_uids, key, (void *)(n + 1))) return -1;
    int len = zero_based && n == 0 ? snprintf(buf, size, "%s", base)
                                   : snprintf(buf, size, "%s_%ld", base, (long)(zero_based ? n : n + 1));
    return len;
}

int64_t tg__graph_seed(const tg_graph *g, bool *has_seed) {
    *has_seed = g->has_seed;
    return g->seed;
}

void *tg__graph_alloc(tg_graph *g, size_t size) {
    void *p = tg__arena_alloc(&g->arena, size);
    if (!p) tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
    return p;
}

bool tg__graph_ready_in(tg_graph *g, tg_tensor *const *tensors, int n, const char *who) {
    if (!g || g->code != TG_OK) return false;
    for (int i = 0; i < n; i++) {
        if (!tensors[i]) return false; /* an earlier builder failed and said why */
        if (tensors[i]->op->g != g) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: input %d, tensor '%s', is from another graph", who, i,
                     tensors[i]->name);
            return false;
        }
    }
    return true;
}

tg_code tg__not_ready_code(const tg_graph *g) {
    return g && g->code != TG_OK ? g->code : TG_INVALID_ARGUMENT;
}

bool tg__valid_name(const char *name) {
    if (!name || !*name) return false;
    if (!isalnum((unsigned char)name[0]) && name[0] != '.') return false;
    for (const char *p = name + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-/", *p)) return false;
    return true;
}

static char *lowered(tg__arena *a, const char *s) {
    char *l = tg__arena_strdup(a, s);
    if (l)
        for (char *p = l; *p; p++) *p = (char)tolower((unsigned char)*p);
    return l;
}

static int in_use(const tg_graph *g, const char *key) {
    return (int)(intptr_t)tg__strmap_get(&g->names_in_use, key);
}

/* The map owns these keys (malloc, freed with the graph), so rolling the
 * arena back after a failure can never leave a key dangling. */
static bool set_in_use(tg_graph *g, const char *key, int count) {
    tg__strmap *m = &g->names_in_use;
    if (tg__strmap_has(m, key)) return tg__map_put(g, m, key, (void *)(intptr_t)count);
    size_t len = strlen(key) + 1;
    char *k = malloc(len);
    if (!k) return false;
    memcpy(k, key, len);
    if (tg__map_put(g, m, k, (void *)(intptr_t)count)) return true;
    free(k);
    return false;
}

/* TF's Graph.unique_name, with `prefix` ("" or "a/b/") in place of the name
 * stack. Case-insensitive: "Dense" after "dense" becomes "Dense_1". */
static const char *unique_in(tg_graph *g, const char *prefix, const char *name, bool mark) {
    tg__arena *a = &g->arena;
    const char *full = tg__arena_printf(a, "%s%s", prefix, name);
    char *key = full ? lowered(a, full) : NULL;
    if (!key) return NULL;
    int i = in_use(g, key);
    if (mark && !set_in_use(g, key, i + 1)) return NULL;
    if (i == 0) return full;
    char *cand = NULL;
    do {
        cand = tg__arena_printf(a, "%s_%d", key, i++);
        if (!cand) return NULL;
    } while (in_use(g, cand));
    if (mark && !set_in_use(g, cand, 1)) return NULL;
    return tg__arena_printf(a, "%s_%d", full, i - 1);
}

const char *tg__unique_name(tg_graph *g, const char *name, bool mark) {
    return unique_in(g, g->name_scope, name, mark);
}

/* Marks the committed name used: a uniquified name as unique_name does; an
 * exact name only if nothing (such as its own name scope) marked it before. */
static bool mark_used(tg_graph *g, const tg__op_args *a, const char *req) {
    if (!a->exact_name) return unique_in(g, g->name_scope, req, true) != NULL;
    char *key = lowered(&g->arena, req);
    return key && (in_use(g, key) || set_in_use(g, key, 1));
}

static bool contains_op(tg_op *const *ops, int n, const tg_op *op) {
    for (int i = 0; i < n; i++)
        if (ops[i] == op) return true;
    return false;
}

/* TF's _control_dependencies_for_inputs: walk the active blocks (down to a
 * control_dependencies(None)); a block that created one of the data inputs
 * adds nothing, since the op already depends on it through that input. */
static int control_base(const tg_graph *g) {
    for (int d = g->depth - 1; d >= 0; d--)
        if (g->stack[d].kind == TG__SCOPE_CONTROL && g->stack[d].clear) return d;
    return -1;
}

/* As TF's controllers record the ops they see: a block saw an op when the
 * op was made inside it and no control_dependencies(None) stood between. */
static bool block_saw(const tg__scope_entry *e, int d, const tg_op *x) {
    return x->id >= e->start_op_id && d >= x->ctl_base;
}

bool tg__op_in_ctx(const tg_op *op, const tg__cond_ctx *ctx) {
    if (!ctx) return true;
    for (const tg__cond_ctx *c = op->ctx; c; c = c->outer)
        if (c == ctx) return true;
    return false;
}

tg__cond_ctx *tg__ctx_frame(tg__cond_ctx *ctx) {
    while (ctx && !ctx->is_loop) ctx = ctx->outer;
    return ctx;
}

tg__cond_ctx *tg__op_frame(const tg_op *op) { return tg__ctx_frame(op->ctx); }

bool tg__is_loop_constant_enter(const tg_op *op) {
    return (op->def->flags & TG__OPF_ENTER) && ((const tg__enter_attrs *)op->attrs)->is_constant;
}

bool tg__op_in_ctx_chain(const tg__cond_ctx *chain, const tg__cond_ctx *ctx) {
    for (; chain; chain = chain->outer)
        if (chain == ctx) return true;
    return false;
}

bool tg__check_usable(tg_graph *g, const tg_tensor *t, const tg__cond_ctx *ctx, const char *consumer) {
    const tg_op *p = t->op;
    tg__cond_ctx *f = tg__op_frame(p);
    if (f && (p->def->flags & TG__OPF_EXIT)) f = tg__ctx_frame(f->outer);
    if (!f || tg__op_in_ctx_chain(ctx, f)) return true;
    if (tg__ctx_frame((tg__cond_ctx *)ctx))
        tg__fail(g, TG_INVALID_ARGUMENT, "Cannot use '%s' as input to '%s' because they are in different while loops.",
                 p->name, consumer);
    else
        tg__fail(g, TG_INVALID_ARGUMENT,
                 "Cannot use '%s' as input to '%s' because '%s' is in a while loop. (Only the loop's Exit outputs, "
                 "the results of tg_while_loop, can be used outside it.)",
                 p->name, consumer, p->name);
    return false;
}

/* TF's CheckInputFromValidContext for while loops: a value made in a loop
 * exists once per iteration, so only the loop's Exits may leave it. Enter
 * and Switch are made outside every context by the contexts' add_value,
 * which check against the context they are moved into. */
static bool input_context_ok(tg_graph *g, const tg__op_args *a, const char *req, tg_tensor *const *in, int n) {
    if (a->def->flags & (TG__OPF_ENTER | TG__OPF_SWITCH)) return true;
    for (int i = 0; i < n; i++)
        if (!tg__check_usable(g, in[i], g->cond_ctx, req)) return false;
    return true;
}

/* TF's control pivot rule (CondContext and WhileContext._AddOpInternal,
 * _MaybeAddControlDependency): an op that nothing inside the context
 * orders (no inputs, or in a loop only loop invariants, and no control
 * input from inside) would run whether or not the branch or iteration is
 * live, so it waits for the context's pivot. */
static bool wants_pivot(const tg__cond_ctx *ctx, const tg_op *op, tg_op *const *ctl, int n_ctl) {
    for (int i = 0; i < n_ctl; i++)
        if (ctl[i]->ctx && tg__op_in_ctx(ctl[i], ctx)) return false;
    if (op->n_inputs == 0) return true;
    if (!ctx->is_loop) return false;
    for (int i = 0; i < op->n_inputs; i++)
        if (!tg__is_loop_constant_enter(op->inputs[i]->op)) return false;
    return true;
}

static tg_op **grow_ops(tg_graph *g, tg_op *const *old, int n, tg_op *extra) {
    tg_op **list = tg__arena_alloc(&g->arena, (size_t)(n + 1) * sizeof *list);
    if (!list) return NULL;
    for (int i = 0; i < n; i++) list[i] = old[i];
    list[n] = extra;
    return list;
}

bool tg__op_add_control_input(tg_op *op, tg_op *c) {
    for (int i = 0; i < op->n_control; i++)
        if (op->control[i] == c) return true;
    tg_op **list = grow_ops(op->g, op->control, op->n_control, c);
    if (!list) return tg__fail(op->g, TG_RESOURCE_EXHAUSTED, "out of memory"), false;
    op->control = list;
    op->n_control++;
    return true;
}

bool tg__op_update_input(tg_op *op, int i, tg_tensor *t) {
    if (i < 0 || i >= op->n_inputs || t->dtype != op->inputs[i]->dtype)
        return tg__fail(op->g, TG_INTERNAL, "%s: cannot replace input %d", op->name, i), false;
    op->inputs[i] = t;
    return true;
}

/* `in` are the inputs asked for: a cond context may have rewritten
 * op->inputs to Switch outputs, but TF decides control inputs first. */
static bool apply_control_deps(tg_graph *g, tg_op *op, tg_tensor *const *in) {
    int n = 0, cap = 0;
    tg_op **list = NULL;
    op->ctl_base = control_base(g);
    for (int d = op->ctl_base < 0 ? 0 : op->ctl_base; d < g->depth; d++) {
        const tg__scope_entry *e = &g->stack[d];
        if (e->kind != TG__SCOPE_CONTROL) continue;
        bool dominated = false;
        for (int i = 0; i < op->n_inputs && !dominated; i++)
            dominated = block_saw(e, d, in[i]->op);
        if (!dominated) {
            for (int j = 0; j < e->n_ops; j++) {
                tg_op *c = e->ops[j];
                bool is_input = false;
                for (int i = 0; i < op->n_inputs; i++) is_input |= in[i]->op == c;
                if (is_input || contains_op(list, n, c)) continue;
                if (!tg__grow((void **)&list, &cap, n + 1, sizeof *list)) {
                    free(list);
                    return false;
                }
                list[n++] = c;
            }
        }
    }
    /* TF's CondContext._AddOpInternal: an op without inputs would run
     * whichever branch is taken, so it waits for the branch's pivot unless
     * a control input already puts it inside the context. */
    tg__cond_ctx *ctx = g->cond_ctx;
    if (ctx && ctx->pivot) {
        if (wants_pivot(ctx, op, list, n)) {
            if (!tg__grow((void **)&list, &cap, n + 1, sizeof *list)) {
                free(list);
                return false;
            }
            list[n++] = ctx->pivot;
        }
    }
    if (n) {
        op->control = tg__arena_alloc(&g->arena, (size_t)n * sizeof *op->control);
        if (!op->control) {
            free(list);
            return false;
        }
        for (int i = 0; i < n; i++) op->control[i] = list[i];
        op->n_control = n;
    }
    free(list);
    return true;
}

static tg_op *add_op_with(tg_graph *g, const tg__op_args *a, const char *req, tg_tensor *const *inputs);

static tg_op *rollback(tg_graph *g, tg__arena_mark m, tg_code code, const char *what) {
    tg__arena_rollback(&g->arena, m);
    if (g->code == TG_OK) tg__fail(g, code, "%s", what);
    return NULL;
}

/* The shape function on the inputs as asked for, before a cond context
 * adds Switch ops for them: a builder that fails must leave none behind. */
static bool infer_before_switch(tg_graph *g, const tg__op_args *a, const char *req) {
    if (!a->def->infer) return true;
    int n_out = a->def->n_outputs >= 0 ? a->def->n_outputs : a->n_outputs;
    tg__arena_mark m = tg__arena_get_mark(&g->arena);
    const char *name = a->exact_name ? req : unique_in(g, g->name_scope, req, false);
    tg__out_info *info = n_out ? tg__arena_alloc(&g->arena, (size_t)n_out * sizeof *info) : NULL;
    if (!name || (n_out && !info)) return rollback(g, m, TG_RESOURCE_EXHAUSTED, "out of memory"), false;
    for (int i = 0; i < n_out; i++) info[i].shape = TG_SHAPE_UNKNOWN;
    tg__infer_ctx ic = {g, name, a->attrs, a->inputs, a->n_inputs, info, n_out};
    tg_code rc = a->def->infer(&ic);
    tg__arena_rollback(&g->arena, m);
    if (rc != TG_OK) return rollback(g, m, rc, "shape inference failed"), false;
    return true;
}

/* TF's CondContext.AddOp: inputs from outside the current cond context
 * are replaced by what ctx->add_value gives (Switch outputs). *moved is
 * NULL when nothing had to change, else a malloc'd copy of the inputs. */
static bool enter_inputs(tg_graph *g, const tg__op_args *a, const char *req, tg_tensor ***moved) {
    tg__cond_ctx *ctx = g->cond_ctx;
    *moved = NULL;
    bool outside = false;
    for (int i = 0; i < a->n_inputs && !outside; i++) outside = !tg__op_in_ctx(a->inputs[i]->op, ctx);
    if (!outside) return true;
    if (!infer_before_switch(g, a, req)) return false;
    tg_tensor **in = malloc((size_t)a->n_inputs * sizeof *in);
    if (!in) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"), false;
    for (int i = 0; i < a->n_inputs; i++) {
        in[i] = a->inputs[i];
        if (!tg__op_in_ctx(in[i]->op, ctx) && !(in[i] = ctx->add_value(g, ctx, in[i]))) {
            free(in);
            return false;
        }
    }
    *moved = in;
    return true;
}

tg_op *tg__add_op(tg_graph *g, const tg__op_args *a) {
    if (!tg__graph_ready_in(g, a->inputs, a->n_inputs, a->name ? a->name : a->def->type)) return NULL;
    const tg__op_def *def = a->def;
    const char *req = a->name ? a->name : def->type;
    tg__op_args exact;
    size_t len = strlen(req);
    char stripped[512];
    if (len > 1 && req[len - 1] == '/' && len < sizeof stripped) {
        /* TF: a name ending in '/' (a name scope's own name) is taken as the
         * op's exact name, which is how a composite builder names its
         * result after its scope. */
        memcpy(stripped, req, len - 1);
        stripped[len - 1] = '\0';
        exact = *a;
        exact.name = req = stripped;
        exact.exact_name = true;
        a = &exact;
    }
    if (!tg__valid_name(req))
        return tg__fail(g, TG_INVALID_ARGUMENT, "'%s' is not a valid op name", req), NULL;
    if (def->n_inputs >= 0 && a->n_inputs != def->n_inputs)
        return tg__fail(g, TG_INTERNAL, "%s takes %d inputs, got %d", def->type, def->n_inputs,
                        a->n_inputs),
               NULL;
    if (a->exact_name && tg__strmap_has(&g->op_by_name, req))
        return tg__fail(g, TG_ALREADY_EXISTS, "Duplicate node name in graph: '%s'", req), NULL;
    if (!tg__build_begin(g, req)) return NULL;
    tg_tensor **moved = NULL;
    tg_op *op = NULL;
    if ((!g->cond_ctx || enter_inputs(g, a, req, &moved)) &&
        input_context_ok(g, a, req, moved ? moved : a->inputs, a->n_inputs))
        op = add_op_with(g, a, req, moved ? moved : a->inputs);
    free(moved);
    tg__build_end(g);
    return op;
}

static tg_op *add_op_with(tg_graph *g, const tg__op_args *a, const char *req, tg_tensor *const *inputs) {
    const tg__op_def *def = a->def;
    tg__arena_mark m = tg__arena_get_mark(&g->arena);
    const char *name = a->exact_name ? tg__arena_strdup(&g->arena, req)
                                     : unique_in(g, g->name_scope, req, false);
    tg_op *op = tg__arena_alloc(&g->arena, sizeof *op);
    if (!name || !op) return rollback(g, m, TG_RESOURCE_EXHAUSTED, "out of memory");
    op->g = g;
    op->def = def;
    op->name = name;
    op->id = g->n_ops;
    op->n_inputs = a->n_inputs;
    if (a->n_inputs) {
        op->inputs = tg__arena_memdup(&g->arena, inputs, (size_t)a->n_inputs * sizeof(tg_tensor *));
        if (!op->inputs) return rollback(g, m, TG_RESOURCE_EXHAUSTED, "out of memory");
    }
    if (def->attr_size) {
        op->attrs = tg__arena_memdup(&g->arena, a->attrs, def->attr_size);
        if (!op->attrs) return rollback(g, m, TG_RESOURCE_EXHAUSTED, "out of memory");
    }
    op->ctx = g->cond_ctx;
    op->no_fetch = op->ctx != NULL;
    if (!apply_control_deps(g, op, a->inputs))
        return rollback(g, m, TG_RESOURCE_EXHAUSTED, "out of memory");

    int n_out = def->n_outputs >= 0 ? def->n_outputs : a->n_outputs;
    tg__out_info *info = n_out ? tg__arena_alloc(&g->arena, (size_t)n_out * sizeof *info) : NULL;
    op->outputs = n_out ? tg__arena_alloc(&g->arena, (size_t)n_out * sizeof *op->outputs) : NULL;
    if (n_out && (!info || !op->outputs)) return rollback(g, m, TG_RESOURCE_EXHAUSTED, "out of memory");
    for (int i = 0; i < n_out; i++) info[i].shape = TG_SHAPE_UNKNOWN;
    tg__infer_ctx ic = {g, name, op->attrs, op->inputs, op->n_inputs, info, n_out};
    tg_code rc = def->infer ? def->infer(&ic) : TG_OK;
    if (rc != TG_OK) return rollback(g, m, rc, "shape inference failed");
    op->n_outputs = n_out;
    for (int i = 0; i < n_out; i++) {
        tg_tensor *t = &op->outputs[i];
        t->op = op;
        t->index = i;
        t->id = g->n_tensors + i;
        t->dtype = info[i].dtype;
        t->shape = info[i].shape;
        t->name = tg__arena_printf(&g->arena, "%s:%d", name, i);
        if (!t->name) return rollback(g, m, TG_RESOURCE_EXHAUSTED, "out of memory");
    }
    /* Commit: nothing below may fail half-way in a way that leaves a trace. */
    if (!tg__grow((void **)&g->ops, &g->cap_ops, g->n_ops + 1, sizeof *g->ops) ||
        !mark_used(g, a, req) || !tg__map_put(g, &g->op_by_name, name, op))
        return rollback(g, m, TG_RESOURCE_EXHAUSTED, "out of memory");
    g->ops[g->n_ops++] = op;
    g->n_tensors += n_out;
    return op;
}

/* ---- accessors ----------------------------------------------------------- */

const char *tg_op_name(const tg_op *op) { return op ? op->name : NULL; }
const char *tg_op_type(const tg_op *op) { return op ? op->def->type : NULL; }
int tg_op_num_inputs(const tg_op *op) { return op ? op->n_inputs : 0; }
tg_tensor *tg_op_input(const tg_op *op, int i) {
    return op && i >= 0 && i < op->n_inputs ? op->inputs[i] : NULL;
}
int tg_op_num_control_inputs(const tg_op *op) { return op ? op->n_control : 0; }
tg_op *tg_op_control_input(const tg_op *op, int i) {
    return op && i >= 0 && i < op->n_control ? op->control[i] : NULL;
}
int tg_op_num_outputs(const tg_op *op) { return op ? op->n_outputs : 0; }
tg_tensor *tg_op_output(const tg_op *op, int i) {
    return op && i >= 0 && i < op->n_outputs ? &op->outputs[i] : NULL;
}
tg_graph *tg_op_graph(const tg_op *op) { return op ? op->g : NULL; }

const char *tg_tensor_name(const tg_tensor *t) { return t ? t->name : NULL; }
tg_op *tg_tensor_op(const tg_tensor *t) { return t ? t->op : NULL; }
int tg_tensor_index(const tg_tensor *t) { return t ? t->index : -1; }
tg_dtype tg_tensor_dtype(const tg_tensor *t) { return t ? t->dtype : TG_DTYPE_COUNT; }
tg_shape tg_tensor_shape(const tg_tensor *t) { return t ? t->shape : TG_SHAPE_UNKNOWN; }

const tg__op_def *tg__op_def_of(const tg_op *op) { return op->def; }
const void *tg__op_attrs(const tg_op *op) { return op->attrs; }
int tg__op_id(const tg_op *op) { return op->id; }
tg_variable *tg__op_variable(const tg_op *op) { return op->variable; }

tg_op *tg_graph_op(const tg_graph *g, const char *name) {
    return g && name ? tg__strmap_get(&g->op_by_name, name) : NULL;
}

tg_tensor *tg_graph_tensor(const tg_graph *g, const char *name) {
    if (!g || !name) return NULL;
    const char *colon = strrchr(name, ':');
    if (!colon || !colon[1]) return NULL;
    char *end;
    long idx = strtol(colon + 1, &end, 10);
    if (*end || idx < 0) return NULL;
    size_t len = (size_t)(colon - name);
    char *buf = malloc(len + 1);
    if (!buf) return NULL;
    memcpy(buf, name, len);
    buf[len] = '\0';
    tg_op *op = tg_graph_op(g, buf);
    free(buf);
    return op && idx < op->n_outputs ? &op->outputs[idx] : NULL;
}

int tg_graph_num_ops(const tg_graph *g) { return g ? g->n_ops : 0; }
tg_op *tg_graph_op_at(const tg_graph *g, int i) {
    return g && i >= 0 && i < g->n_ops ? g->ops[i] : NULL;
}

bool tg_graph_own(tg_graph *g, void *obj, void (*free_fn)(void *obj)) {
    if (!g || !obj || !free_fn) return false;
    for (int i = 0; i < g->n_owned; i++)
        if (g->owned[i].obj == obj) return false; /* freeing it twice would follow */
    if (!tg__grow((void **)&g->owned, &g->cap_owned, g->n_owned + 1, sizeof *g->owned)) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return false;
    }
    g->owned[g->n_owned++] = (struct tg__owned){obj, free_fn};
    return true;
}

void tg_graph_disown(tg_graph *g, void *obj) {
    if (!g || !obj) return;
    for (int i = g->n_owned - 1; i >= 0; i--)
        if (g->owned[i].obj == obj) {
            memmove(&g->owned[i], &g->owned[i + 1], (size_t)(g->n_owned - i - 1) * sizeof *g->owned);
            g->n_owned--;
            return;
        }
}

/* ---- attachments ------------------------------------------------------------------------ */

/* An attachment rides on the owned list (freed in its order, with the
 * graph), wrapped with its key, so the graph needs no table of its own. */
typedef struct attachment {
    char *key;
    void *obj;
    void (*free_fn)(void *obj);
} attachment;

static void attachment_free(void *p) {
    attachment *a = p;
    a->free_fn(a->obj);
    free(a->key);
    free(a);
}

static attachment *find_attachment(const tg_graph *g, const char *key) {
    for (int i = 0; i < g->n_owned; i++) {
        if (g->owned[i].free_fn != attachment_free) continue;
        attachment *a = g->owned[i].obj;
        if (strcmp(a->key, key) == 0) return a;
    }
    return NULL;
}

bool tg_graph_attach(tg_graph *g, const char *key, void *obj, void (*free_fn)(void *obj)) {
    if (!g || !key || !obj || !free_fn || find_attachment(g, key)) return false;
    for (int i = 0; i < g->n_owned; i++) /* one owner, one free */
        if (g->owned[i].obj == obj ||
            (g->owned[i].free_fn == attachment_free && ((attachment *)g->owned[i].obj)->obj == obj))
            return false;
    attachment *a = malloc(sizeof *a);
    char *k = malloc(strlen(key) + 1);
    if (!a || !k) {
        free(a);
        free(k);
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return false;
    }
    strcpy(k, key);
    *a = (attachment){k, obj, free_fn};
    if (!tg_graph_own(g, a, attachment_free)) {
        free(k);
        free(a);
        return false;
    }
    return true;
}

void *tg_graph_attachment(const tg_graph *g, const char *key) {
    attachment *a = g && key ? find_attachment(g, key) : NULL;
    return a ? a->obj : NULL;
}
