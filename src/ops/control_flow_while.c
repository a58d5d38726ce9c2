/* tf.while_loop in graph mode, as TF 1.15 builds it (control_flow_ops.py's
 * WhileContext): Enter / Merge / Switch / LoopCond / NextIteration / Exit,
 * and the context that makes a tensor from outside usable in every
 * iteration (a constant Enter). The executor's side is
 * src/graph/session_frames.c; gradients are control_flow_while_grad.c. */
#include <stdlib.h>
#include <string.h>

#include "control_flow_while.h"

/* ---- the frame ops --------------------------------------------------------------- */

static tg_code same_infer(tg__infer_ctx *c) {
    c->out[0] = (tg__out_info){c->in[0]->dtype, c->in[0]->shape};
    return TG_OK;
}

static tg_code forward_kernel(tg__kernel_ctx *c) {
    tg__out_alias(c, 0, c->in[0]);
    return TG_OK;
}

/* Enter: input 0 made available in the frame. Its shape may be replaced
 * by a shape invariant after it is made. */
const tg__op_def tg__op_enter = {
    .type = "Enter",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_ENTER,
    .attr_size = sizeof(tg__enter_attrs),
    .infer = same_infer,
    .kernel = TG__ALL_DTYPES(forward_kernel),
};

/* TF's RefEnter: a variable reference stays one inside the loop, so an
 * assign in the body writes the variable itself (as RefSwitch does for a
 * cond). Reads go through the variable's "read" Identity and a plain
 * Enter, so gradients never cross it. */
const tg__op_def tg__op_ref_enter = {
    .type = "RefEnter",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_ENTER | TG__OPF_VARIABLE | TG__OPF_INIT_REF | TG__OPF_NOT_DIFFERENTIABLE,
    .attr_size = sizeof(tg__enter_attrs),
    .infer = same_infer,
    .kernel = TG__ALL_DTYPES(forward_kernel),
};

const tg__op_def tg__op_exit = {
    .type = "Exit",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_EXIT,
    .infer = same_infer,
    .kernel = TG__ALL_DTYPES(forward_kernel),
};

static tg_code loop_cond_infer(tg__infer_ctx *c) {
    const tg_tensor *p = c->in[0];
    if (p->dtype != TG_BOOL)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT,
                              "Input 'input' of 'LoopCond' Op has type %s that does not match expected type of bool.",
                              tg_dtype_name(p->dtype));
    if (p->shape.rank > 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "Shape must be rank 0 but is rank %d", p->shape.rank);
    c->out[0] = (tg__out_info){TG_BOOL, TG_SCALAR};
    return TG_OK;
}

const tg__op_def tg__op_loop_cond = {
    .type = "LoopCond",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_LOOP_COND | TG__OPF_NOT_DIFFERENTIABLE,
    .infer = loop_cond_infer,
    .kernel = {[TG_BOOL] = forward_kernel},
};

/* Two buffers used in turn: the Merges of this iteration read the one the
 * previous iteration wrote, while this iteration's values are copied into
 * the other (a body may return its loop variables swapped). */
typedef struct next_state {
    tg_array buf[2];
    int which;
} next_state;

static void next_state_free(void *state) {
    next_state *st = state;
    tg__array_release(&st->buf[0]);
    tg__array_release(&st->buf[1]);
}

static tg_code next_kernel(tg__kernel_ctx *c) {
    next_state *st = c->state;
    const tg_array *in = c->in[0];
    st->which ^= 1;
    tg_array *b = &st->buf[st->which];
    if (!tg__array_reshape(b, in->dtype, in->rank, in->dims))
        return tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "out of memory");
    memcpy(b->data, in->data, tg__array_nbytes(b));
    tg__out_alias(c, 0, b);
    return TG_OK;
}

const tg__op_def tg__op_next_iteration = {
    .type = "NextIteration",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_NEXT_ITERATION,
    .state_size = sizeof(next_state),
    .state_free = next_state_free,
    .infer = same_infer,
    .kernel = TG__ALL_DTYPES(next_kernel),
};

/* ---- the while context ------------------------------------------------------------- */

/* The nearest pivot of an enclosing context (TF's control_pivot search). */
static tg_op *outer_pivot(const tg__cond_ctx *ctx) {
    for (const tg__cond_ctx *c = ctx->outer; c; c = c->outer)
        if (c->pivot) return c->pivot;
    return NULL;
}

tg_tensor *tg__while_enter(tg_graph *g, tg__cond_ctx *ctx, tg_tensor *x, bool is_constant, const char *name) {
    const tg__while_impl *w = ctx->impl;
    tg__enter_attrs attrs = {w->frame_name, is_constant, w->parallel_iterations};
    bool ref = (x->op->def->flags & TG__OPF_VARIABLE) != 0;
    tg__op_args a = {.def = ref ? &tg__op_ref_enter : &tg__op_enter, .name = name, .inputs = &x, .n_inputs = 1,
                     .attrs = &attrs};
    /* made outside every context and control block, then moved in */
    int tok = tg_control_dependencies_push(g, NULL, 0);
    tg_op *op = tg__add_op(g, &a);
    tg_scope_pop(g, tok);
    if (!op) return NULL;
    op->ctx = ctx;
    op->no_fetch = true;
    if (ref) op->variable = x->op->variable;
    /* An outer loop's invariant is live even in the outer iteration that
     * ends the loop; the pivot keeps this loop's variables from starting
     * then (TF's _BuildLoop; this loop's invariants need no such edge). */
    tg_op *pivot = !is_constant && tg__is_loop_constant_enter(x->op) ? outer_pivot(ctx) : NULL;
    if (pivot && !tg__op_add_control_input(op, pivot)) return NULL;
    return &op->outputs[0];
}

/* TF's WhileContext.AddValue: a tensor from outside the loop enters it
 * once, as a constant Enter; a gradient loop gets its forward loop's
 * values from stacks instead. */
static tg_tensor *while_add_value(tg_graph *g, tg__cond_ctx *ctx, tg_tensor *t) {
    tg__while_impl *w = ctx->impl;
    if (t->op->ctx && tg__op_in_ctx(t->op, ctx)) return t;
    tg_tensor *known = tg__value_map_get(&w->values, t);
    if (known) return known;
    if (w->forward && tg__op_frame(t->op) && tg__op_in_ctx(t->op, w->forward)) return tg__while_grad_value(g, ctx, t);
    if (!tg__check_usable(g, t, ctx, "Enter")) return NULL;
    tg_tensor *real = t;
    if (ctx->outer && !(real = ctx->outer->add_value(g, ctx->outer, t))) return NULL;
    tg_tensor *e = tg__while_enter(g, ctx, real, true, "Enter");
    if (!e || !tg__value_map_put(g, &w->values, t, e)) return NULL;
    return e;
}

bool tg__is_while_ctx(const tg__cond_ctx *ctx) { return ctx && ctx->add_value == while_add_value; }

tg__cond_ctx *tg__while_ctx_new(tg_graph *g, const char *frame_name, int parallel_iterations, bool back_prop) {
    tg__cond_ctx *ctx = tg__graph_alloc(g, sizeof *ctx);
    tg__while_impl *w = tg__graph_alloc(g, sizeof *w);
    if (!ctx || !w) return NULL;
    *w = (tg__while_impl){.frame_name = frame_name, .parallel_iterations = parallel_iterations, .back_prop = back_prop};
    *ctx = (tg__cond_ctx){.outer = g->cond_ctx, .add_value = while_add_value, .impl = w, .is_loop = true};
    return ctx;
}

/* ---- building a loop --------------------------------------------------------------- */

/* TF's _ShapeLessThanOrEqual: a is at least as specific as b. */
static bool shape_le(const tg_shape *a, const tg_shape *b) {
    if (b->rank < 0) return true;
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (b->dims[i] >= 0 && a->dims[i] != b->dims[i]) return false;
    return true;
}

typedef struct loop_build {
    tg_while_cond_fn cond;
    tg_while_body_fn body;
    void *user;
    tg_tensor *max_iter; /* NULL, or the limit: vars[0] is then the counter */
    const tg_shape *inv; /* per user variable, or NULL */
} loop_build;

static tg_tensor *call_cond(tg_graph *g, const loop_build *b, tg_tensor *const *vars, int n) {
    int k = b->max_iter ? 1 : 0;
    /* TF's lambda i, lv: logical_and(i < maximum_iterations, cond(*lv)):
     * the counter's test is made first */
    tg_tensor *below = k ? tg_less(g, vars[0], b->max_iter, NULL) : NULL;
    if (k && !below) return NULL;
    tg_tensor *p = b->cond(g, b->user, vars + k, n - k);
    if (g->code != TG_OK) return NULL;
    if (!p) return tg__fail(g, TG_INVALID_ARGUMENT, "while: cond returned NULL"), NULL;
    return k ? tg_logical_and(g, below, p, NULL) : p;
}

static bool call_body(tg_graph *g, const loop_build *b, const char *scope, tg_tensor *const *vars, tg_tensor **next,
                      int n) {
    int k = b->max_iter ? 1 : 0;
    for (int i = 0; i < n; i++) next[i] = NULL;
    if (k) { /* TF's lambda i, lv: (i + 1, body(*lv)): the count first */
        tg_tensor *one = tg_constant_scalar(g, vars[0]->dtype, 1, NULL);
        if (!(next[0] = one ? tg_add(g, vars[0], one, NULL) : NULL)) return false;
    }
    int got = b->body(g, b->user, vars + k, next + k, n - k);
    if (g->code != TG_OK) return false;
    if (got < 0) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: body failed without saying why", scope), false;
    /* TF counts the maximum_iterations counter on both sides */
    if (got != n - k)
        return tg__fail(g, TG_INVALID_ARGUMENT,
                        "%s: Number of inputs and outputs of body must match loop_vars: %d, %d", scope, n, got + k),
               false;
    for (int i = k; i < n; i++)
        if (!next[i]) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: body returned NULL as output %d", scope, i - k), false;
    return true;
}

/* Enter, Merge, LoopCond, Switch, Identity of every variable, then the
 * body, NextIteration with the back edge, and Exit (TF's _BuildLoop). */
static bool build_loop(tg_graph *g, tg__cond_ctx *ctx, const loop_build *b, const char *scope, tg_tensor **vars,
                       int n, tg_tensor **outputs) {
    tg__while_impl *w = ctx->impl;
    tg_op **ops = tg__graph_alloc(g, 6 * (size_t)n * sizeof *ops);
    tg_tensor **tmp = malloc(2 * (size_t)n * sizeof *tmp);
    if (!ops || !tmp) {
        free(tmp);
        return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"), false;
    }
    w->n = n;
    w->enter = ops, w->merge = ops + n, w->sw = ops + 2 * n, w->ident = ops + 3 * n, w->next = ops + 4 * n,
    w->exit = ops + 5 * n;
    tg_tensor **cur = tmp, **next = tmp + n;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        tg_tensor *real = ctx->outer ? ctx->outer->add_value(g, ctx->outer, vars[i]) : vars[i];
        tg_tensor *e = real ? tg__while_enter(g, ctx, real, false, "Enter") : NULL;
        ok = e != NULL;
        if (ok && b->inv && (!b->max_iter || i > 0)) e->shape = b->inv[b->max_iter ? i - 1 : i];
        if (ok) w->enter[i] = e->op;
    }
    tg__cond_ctx *saved = g->cond_ctx;
    g->cond_ctx = ctx;
    for (int i = 0; i < n && ok; i++) {
        tg_tensor *pair[2] = {&w->enter[i]->outputs[0], &w->enter[i]->outputs[0]};
        tg__op_args a = {.def = &tg__op_merge, .name = "Merge", .inputs = pair, .n_inputs = 2};
        ok = (w->merge[i] = tg__add_op(g, &a)) != NULL;
        if (ok) cur[i] = &w->merge[i]->outputs[0];
    }
    if (ok) ctx->pivot = w->merge[0]; /* TF's pivot_for_pred */
    tg_tensor *pred = ok ? call_cond(g, b, cur, n) : NULL;
    tg__op_args lc = {.def = &tg__op_loop_cond, .name = "LoopCond", .inputs = &pred, .n_inputs = 1};
    ok = pred && (ctx->loop_cond = tg__add_op(g, &lc)) != NULL;
    for (int i = 0; i < n && ok; i++) {
        ok = (w->sw[i] = tg__switch_op(g, &w->merge[i]->outputs[0], &ctx->loop_cond->outputs[0])) != NULL;
        tg_tensor *id = ok ? tg_identity(g, &w->sw[i]->outputs[1], "Identity") : NULL;
        ok = id != NULL;
        if (ok) w->ident[i] = id->op, cur[i] = id;
    }
    if (ok) ctx->pivot = w->ident[0]; /* TF's pivot_for_body */
    ok = ok && call_body(g, b, scope, cur, next, n);
    for (int i = 0; i < n && ok; i++) ok = tg__while_back_edge(g, w->merge[i], next[i], &w->next[i]);
    for (int i = 0; i < n && ok; i++) {
        tg__op_args a = {.def = &tg__op_exit, .name = "Exit", .inputs = (tg_tensor *[]){&w->sw[i]->outputs[0]}, .n_inputs = 1};
        ok = (w->exit[i] = tg__add_op(g, &a)) != NULL;
        if (ok) w->exit[i]->no_fetch = ctx->outer != NULL;
    }
    g->cond_ctx = saved;
    for (int i = 0; i < n && ok; i++) outputs[i] = &w->exit[i]->outputs[0];
    free(tmp);
    return ok;
}

/* TF's _AddNextAndBackEdge with _EnforceShapeInvariant: the body's value
 * for a variable becomes the Merge's second input. */
bool tg__while_back_edge(tg_graph *g, tg_op *merge, tg_tensor *v, tg_op **next) {
    tg_tensor *m = &merge->outputs[0];
    if (v->dtype != m->dtype)
        return tg__fail(g, TG_INVALID_ARGUMENT,
                        "%s: the body returns %s (%s) for a loop variable of dtype %s", merge->name, v->name,
                        tg_dtype_name(v->dtype), tg_dtype_name(m->dtype)),
               false;
    if (!shape_le(&v->shape, &m->shape)) {
        char a[96], b[96];
        const tg_tensor *in = merge->inputs[0]->op->inputs[0];
        return tg__fail(g, TG_INVALID_ARGUMENT,
                        "Input tensor '%s' enters the loop with shape %s, but has shape %s after one iteration. To "
                        "allow the shape to vary across iterations, use the `shape_invariants` argument of "
                        "tf.while_loop to specify a less-specific shape.",
                        in->name, tg_shape_format(&in->shape, a, sizeof a), tg_shape_format(&v->shape, b, sizeof b)),
               false;
    }
    tg__op_args a = {.def = &tg__op_next_iteration, .name = "NextIteration", .inputs = &v, .n_inputs = 1};
    *next = tg__add_op(g, &a);
    return *next && tg__op_update_input(merge, 1, &(*next)->outputs[0]);
}

static bool check_args(tg_graph *g, const char *who, tg_while_cond_fn cond, tg_while_body_fn body,
                       tg_tensor *const *loop_vars, int n, tg_tensor **outputs, const tg_while_loop_opts *o) {
    if (n < 1 || !loop_vars) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: No loop variables provided", who), false;
    if (!cond) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: cond must be callable.", who), false;
    if (!body) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: body must be callable.", who), false;
    if (!outputs) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: outputs is NULL", who), false;
    for (int i = 0; i < n; i++)
        if (!loop_vars[i]) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: loop variable %d is NULL", who, i), false;
    if (!tg__graph_ready_in(g, loop_vars, n, "tg_while_loop")) return false;
    if (o->parallel_iterations < 1)
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: parallel_iterations must be a positive integer.", who), false;
    tg_tensor *m = o->maximum_iterations;
    if (m) {
        char s[96];
        if (!tg__graph_ready_in(g, &m, 1, "tg_while_loop")) return false;
        if (m->dtype == TG_BOOL)
            return tg__fail(g, TG_INVALID_ARGUMENT, "%s: maximum_iterations must be a number, not bool", who), false;
        if (m->shape.rank != 0)
            return tg__fail(g, TG_INVALID_ARGUMENT, "%s: maximum_iterations must be a scalar, saw shape: %s", who,
                            tg_shape_format(&m->shape, s, sizeof s)),
                   false;
    }
    if (o->shape_invariants || o->n_shape_invariants) {
        if (!o->shape_invariants || o->n_shape_invariants != n)
            return tg__fail(g, TG_INVALID_ARGUMENT,
                            "%s: option 'shape_invariants' is given with n_shape_invariants %d for %d loop variables (TG_SHAPE_LIST sets both)",
                            who, o->shape_invariants ? o->n_shape_invariants : 0, n),
                   false;
        for (int i = 0; i < n; i++)
            if (!shape_le(&loop_vars[i]->shape, &o->shape_invariants[i])) {
                char a[96], b[96];
                return tg__fail(g, TG_INVALID_ARGUMENT,
                                "The shape invariant specified for %s is not compatible with the initial shape of the "
                                "loop variable. It enters the loop with shape %s, but the specified shape invariant "
                                "is %s.",
                                loop_vars[i]->name, tg_shape_format(&loop_vars[i]->shape, a, sizeof a),
                                tg_shape_format(&o->shape_invariants[i], b, sizeof b)),
                       false;
            }
    }
    return true;
}

tg_code tg_while_loop(tg_graph *g, tg_while_cond_fn cond, tg_while_body_fn body, void *ctx,
                      tg_tensor *const *loop_vars, int n, tg_tensor **outputs, const tg_while_loop_opts *opts) {
    for (int i = 0; outputs && i < n; i++) outputs[i] = NULL;
    if (!tg__graph_ready(g, NULL, 0)) return tg__not_ready_code(g);
    tg_while_loop_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_while_loop", tg_while_loop_opts, TG_WHILE_LOOP_OPTS_INIT, opts, o)) return g->code;
    const char *who = o.name ? o.name : "while";
    if (!check_args(g, who, cond, body, loop_vars, n, outputs, &o)) return g->code;
    const char *scope;
    int tok = tg__builder_scope(g, o.name, "while", &scope);
    int k = o.maximum_iterations ? 1 : 0;
    tg_tensor **vars = malloc(2 * ((size_t)n + 1) * sizeof *vars), **outs = vars ? vars + n + 1 : NULL;
    const char *frame = tg__unique_name(g, "while_context", true);
    tg__cond_ctx *wctx = frame ? tg__while_ctx_new(g, frame, o.parallel_iterations, o.back_prop) : NULL;
    if (!vars || !wctx) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "%s: out of memory", who);
    } else {
        if (k) vars[0] = tg_constant_scalar(g, o.maximum_iterations->dtype, 0, "iteration_counter");
        for (int i = 0; i < n; i++) vars[k + i] = loop_vars[i];
        loop_build b = {cond, body, ctx, o.maximum_iterations, o.shape_invariants};
        if ((!k || vars[0]) && build_loop(g, wctx, &b, scope, vars, n + k, outs))
            for (int i = 0; i < n; i++) outputs[i] = outs[k + i];
    }
    free(vars);
    tg_scope_pop(g, tok);
    return g->code;
}
