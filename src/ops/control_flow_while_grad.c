/* Gradients through tf.while_loop, as TF 1.x builds them
 * (control_flow_ops.py's GradLoopState, control_flow_grad.py): a gradient
 * loop in a frame of its own runs once per forward iteration, last first.
 * The forward loop gets a counter (f_count) whose final value starts the
 * gradient loop's countdown (b_count); every forward value a gradient op
 * reads is pushed on a stack in each forward iteration and popped in the
 * matching gradient iteration. Loop variables carry their gradients from
 * one gradient iteration to the next (b_exit, b_switch); tensors from
 * outside the loop sum theirs over the iterations (b_acc).
 *
 * TF builds the gradient loop piece by piece as its gradient walk meets the
 * loop's Exit, Switch, Merge, Enter and NextIteration ops; tgraph builds it
 * in one go when its walk reaches the loop, which gives the same ops. */
#include <stdlib.h>

#include "control_flow_while.h"

/* ---- the forward side ---------------------------------------------------------------- */

/* TF's WhileContext.AddForwardLoopCounter: a loop variable counting the
 * iterations that ran the body. Added once per loop. */
static bool forward_counter(tg_graph *g, tg__cond_ctx *f) {
    tg__while_impl *w = f->impl;
    if (w->f_total) return true;
    int tok = tg_control_dependencies_push(g, NULL, 0);
    tg_tensor *zero = tg_constant_scalar(g, TG_INT32, 0, "f_count");
    tg_tensor *e = zero ? tg__while_enter(g, f, zero, false, "f_count") : NULL;
    g->cond_ctx = f;
    tg_op *m = NULL, *next = NULL, *sw = NULL, *total = NULL;
    tg_tensor *index = NULL;
    if (e) {
        tg_tensor *pair[2] = {e, e};
        tg__op_args a = {.def = &tg__op_merge, .name = "f_count", .inputs = pair, .n_inputs = 2};
        m = tg__add_op(g, &a);
    }
    if (m) sw = tg__switch_op(g, &m->outputs[0], &f->loop_cond->outputs[0]);
    tg_tensor *one = sw ? tg_constant_scalar(g, TG_INT32, 1, NULL) : NULL;
    if (one) index = tg_add(g, &sw->outputs[1], one, NULL);
    if (index && tg__while_back_edge(g, m, index, &next)) {
        tg__op_args a = {.def = &tg__op_exit, .name = "f_count", .inputs = (tg_tensor *[]){&sw->outputs[0]}, .n_inputs = 1};
        total = tg__add_op(g, &a);
    }
    tg_scope_pop(g, tok);
    if (!total) return false;
    total->no_fetch = false;
    w->f_index = index->op;
    w->f_total = &total->outputs[0];
    return true;
}

/* A new op (a clone of a constant) made in ctx outside any control block. */
static tg_tensor *clone_const(tg_graph *g, tg__cond_ctx *ctx, const tg_tensor *t) {
    const tg_array *v = tg__const_value(t);
    int tok = tg_control_dependencies_push(g, NULL, 0);
    g->cond_ctx = ctx;
    tg_tensor *c = tg_constant_data(g, v->dtype, tg_array_shape(v), v->data, NULL);
    tg_scope_pop(g, tok);
    return c;
}

/* TF's AddForwardAccumulator and AddBackpropAccumulatedValue: a stack made
 * outside both loops, pushed by the forward loop (after which its counter
 * waits, so that the gradient loop, started by the counter's total, sees
 * every push) and popped by the gradient loop. */
static tg_tensor *stacked(tg_graph *g, tg__cond_ctx *grad, tg__cond_ctx *fwd, tg_tensor *t) {
    tg__while_impl *fw = fwd->impl;
    if (!forward_counter(g, fwd)) return NULL;
    int tok = tg_control_dependencies_push(g, NULL, 0);
    tg_tensor *h = tg__stack_v2(g, t->dtype, "f_acc"), *pop = NULL;
    g->cond_ctx = fwd;
    tg_tensor *hf = h ? fwd->add_value(g, fwd, h) : NULL;
    tg_tensor *push = hf ? tg__stack_push(g, hf, t) : NULL;
    /* A value of the loop's condition is live in the last, body-less
     * iteration too: waiting for the body's pivot pushes it once per body
     * run, as the pops expect. */
    if (push && tg__op_add_control_input(push->op, fwd->pivot) && tg__op_add_control_input(fw->f_index, push->op)) {
        g->cond_ctx = grad;
        tg_tensor *hg = grad->add_value(g, grad, h);
        pop = hg ? tg__stack_pop(g, hg, t->dtype, t->shape) : NULL;
    }
    tg_scope_pop(g, tok);
    return pop;
}

tg_tensor *tg__while_grad_value(tg_graph *g, tg__cond_ctx *ctx, tg_tensor *t) {
    tg__while_impl *w = ctx->impl;
    tg_tensor *v;
    if (tg__const_value(t)) {
        /* TF clones a constant rather than stacking it */
        v = clone_const(g, ctx, t);
    } else if (tg__is_loop_constant_enter(t->op) && t->op->ctx == w->forward) {
        /* an invariant: the gradient loop enters the outside value itself */
        v = ctx->add_value(g, ctx, t->op->inputs[0]);
    } else {
        v = stacked(g, ctx, w->forward, t);
    }
    return v && tg__value_map_put(g, &w->values, t, v) ? v : NULL;
}

/* ---- the gradient loop --------------------------------------------------------------- */

typedef struct grad_loop {
    tg__cond_ctx *fwd, *ctx;
    tg_tensor *pred;         /* the gradient loop's LoopCond */
    tg_op **merge, **sw;     /* per forward loop variable; NULL: not float */
    tg__grad_list *local;    /* gradients inside one gradient iteration, by forward tensor id */
    int n_local;
} grad_loop;

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

/* TF's AddBackpropLoopCounter: count = f_total; while count >= 1: count -= 1.
 * Sets the context's pivots as the forward loop's are set. */
static bool grad_counter(tg_graph *g, grad_loop *l) {
    tg__while_impl *fw = l->fwd->impl;
    tg_tensor *one = tg_constant_scalar(g, TG_INT32, 1, "b_count");
    tg_tensor *e = one ? tg__while_enter(g, l->ctx, fw->f_total, false, "b_count") : NULL;
    if (!e) return false;
    g->cond_ctx = l->ctx;
    tg_tensor *pair[2] = {e, e};
    tg__op_args a = {.def = &tg__op_merge, .name = "b_count", .inputs = pair, .n_inputs = 2};
    tg_op *m = tg__add_op(g, &a), *next = NULL, *sw = NULL;
    if (!m) return false;
    l->ctx->pivot = m;
    tg_tensor *ge = tg_greater_equal(g, &m->outputs[0], one, NULL);
    tg__op_args lc = {.def = &tg__op_loop_cond, .name = "b_count", .inputs = &ge, .n_inputs = 1};
    if (!ge || !(l->ctx->loop_cond = tg__add_op(g, &lc))) return false;
    l->pred = &l->ctx->loop_cond->outputs[0];
    if (!(sw = tg__switch_op(g, &m->outputs[0], l->pred))) return false;
    tg_tensor *index = tg_subtract(g, &sw->outputs[1], one, NULL);
    if (!index) return false;
    l->ctx->pivot = index->op; /* TF's pivot_for_body */
    return tg__while_back_edge(g, m, index, &next);
}

/* A gradient loop variable starting at init (made outside the loop):
 * Enter, Merge and Switch; the body's value comes with close_var. */
static bool open_var(tg_graph *g, grad_loop *l, tg_tensor *init, const char *enter_name, const char *merge_name,
                     tg_op **merge, tg_op **sw) {
    tg__cond_ctx *saved = g->cond_ctx;
    g->cond_ctx = l->ctx->outer;
    tg_tensor *e = tg__while_enter(g, l->ctx, init, false, enter_name);
    g->cond_ctx = l->ctx;
    tg_tensor *pair[2] = {e, e};
    tg__op_args a = {.def = &tg__op_merge, .name = merge_name, .inputs = pair, .n_inputs = 2};
    *merge = e ? tg__add_op(g, &a) : NULL;
    *sw = *merge ? tg__switch_op(g, &(*merge)->outputs[0], l->pred) : NULL;
    g->cond_ctx = saved;
    return *sw != NULL;
}

/* The back edge and the Exit of a gradient loop variable; the Exit's value
 * is added to acc at forward tensor x. No shape invariant: TF does not
 * enforce one on gradients. */
static tg_code close_var(tg_graph *g, grad_loop *l, tg_op *merge, tg_op *sw, tg_tensor *v, const char *exit_name,
                         tg__grad_list *acc, const char *dep, const tg_tensor *x) {
    g->cond_ctx = l->ctx;
    tg__op_args nx = {.def = &tg__op_next_iteration, .name = "NextIteration", .inputs = &v, .n_inputs = 1};
    tg_op *next = tg__add_op(g, &nx);
    if (!next || !tg__op_update_input(merge, 1, &next->outputs[0])) return tg_graph_status(g);
    tg__op_args ex = {.def = &tg__op_exit, .name = exit_name, .inputs = (tg_tensor *[]){&sw->outputs[0]}, .n_inputs = 1};
    tg_op *exit = tg__add_op(g, &ex);
    g->cond_ctx = l->ctx->outer;
    if (!exit) return tg_graph_status(g);
    exit->no_fetch = l->ctx->outer != NULL;
    if (dep[x->id] && !tg__grad_push(&acc[x->id], &exit->outputs[0]))
        return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
    return TG_OK;
}

static bool structural(const tg__while_impl *w, const tg_op *op) {
    if (op->def->flags & (TG__OPF_ENTER | TG__OPF_EXIT | TG__OPF_NEXT_ITERATION | TG__OPF_LOOP_COND)) return true;
    for (int j = 0; j < w->n; j++)
        if (op == w->merge[j] || op == w->sw[j] || op == w->ident[j]) return true;
    return false;
}

static bool has_local(const grad_loop *l, const tg_op *op) {
    for (int i = 0; i < op->n_outputs; i++)
        if (op->outputs[i].id < l->n_local && l->local[op->outputs[i].id].n) return true;
    return false;
}

/* One gradient iteration: the body's ops last to first, from the gradients
 * of the body's results to those of the variables' Identities and of the
 * invariants' Enters. */
static tg_code body_grads(tg_graph *g, grad_loop *l, const char *dep) {
    tg__while_impl *w = l->fwd->impl;
    for (int id = w->exit[0]->id - 1; id > w->enter[0]->id; id--) {
        tg_op *op = g->ops[id];
        if (!tg__op_in_ctx(op, l->fwd) || structural(w, op) || !has_local(l, op)) continue;
        if (op->ctx != l->fwd)
            return tg__fail(g, TG_UNIMPLEMENTED,
                            "gradients: '%s' is inside a tg_cond or tg_while_loop within the body of while loop "
                            "'%s'; gradients through control flow nested in a while loop are not supported",
                            op->name, w->frame_name);
        g->cond_ctx = l->ctx;
        tg_code rc = tg__backprop_op(g, op, l->local, dep);
        g->cond_ctx = l->ctx->outer;
        if (rc != TG_OK) return rc;
    }
    return TG_OK;
}

static tg_tensor *local_sum(tg_graph *g, grad_loop *l, const tg_tensor *t) {
    g->cond_ctx = l->ctx;
    tg_tensor *s = tg__grad_sum(g, &l->local[t->id]);
    g->cond_ctx = l->ctx->outer;
    return s;
}

/* A loop variable's gradient from one iteration: what reached the body's
 * Identity of it, plus what reached its Merge through the condition's ops
 * (a value computed in cond and used by the body). NULL: none. */
static tg_tensor *iteration_grad(tg_graph *g, grad_loop *l, const tg_op *merge, const tg_op *ident) {
    const tg__grad_list *a = &l->local[ident->outputs[0].id], *b = &l->local[merge->outputs[0].id];
    if (!b->n) return local_sum(g, l, &ident->outputs[0]);
    tg__grad_list both = {0};
    for (int i = 0; i < a->n; i++) tg__grad_push(&both, a->items[i]);
    for (int i = 0; i < b->n; i++) tg__grad_push(&both, b->items[i]);
    tg_tensor *s = NULL;
    if (both.n != a->n + b->n) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
    } else {
        g->cond_ctx = l->ctx;
        s = tg__grad_sum(g, &both);
        g->cond_ctx = l->ctx->outer;
    }
    free(both.items);
    return s;
}

/* TF's AddBackpropAccumulator: an invariant's gradient summed over the
 * gradient iterations, from zeros. */
static tg_code invariant_grads(tg_graph *g, grad_loop *l, int last_op, tg__grad_list *acc, const char *dep) {
    tg__while_impl *w = l->fwd->impl;
    for (int id = w->enter[0]->id; id < last_op && tg_graph_status(g) == TG_OK; id++) {
        tg_op *op = g->ops[id];
        if (op->ctx != l->fwd || !tg__is_loop_constant_enter(op) || !is_float(op->outputs[0].dtype) ||
            !has_local(l, op))
            continue;
        tg_tensor *x = op->inputs[0], *grad = local_sum(g, l, &op->outputs[0]);
        tg_tensor *zeros = grad ? tg_zeros_like(g, x, "b_acc") : NULL;
        tg_op *m, *sw;
        if (!zeros || !open_var(g, l, zeros, "b_acc", "b_acc", &m, &sw)) break;
        g->cond_ctx = l->ctx;
        tg_tensor *sum = tg_add(g, &sw->outputs[1], grad, NULL);
        g->cond_ctx = l->ctx->outer;
        if (!sum) break;
        close_var(g, l, m, sw, sum, "b_acc", acc, dep, x);
    }
    return tg_graph_status(g);
}

static tg_code build(tg_graph *g, grad_loop *l, tg__grad_list *acc, const char *dep) {
    tg__while_impl *w = l->fwd->impl;
    const int last_op = g->n_ops;
    if (!forward_counter(g, l->fwd) || !grad_counter(g, l)) return tg_graph_status(g);
    g->cond_ctx = l->ctx->outer;
    for (int j = 0; j < w->n; j++) {
        tg_tensor *x = &w->exit[j]->outputs[0];
        if (!is_float(x->dtype)) continue;
        tg_tensor *dy = tg__grad_sum(g, &acc[x->id]);
        if (!dy) dy = tg_zeros_like(g, x, NULL);
        if (!dy || !open_var(g, l, dy, "b_exit", "b_switch", &l->merge[j], &l->sw[j])) return tg_graph_status(g);
        const tg_tensor *result = w->next[j]->inputs[0];
        if (!tg__grad_push(&l->local[result->id], &l->sw[j]->outputs[1]))
            return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
    }
    tg_code rc = body_grads(g, l, dep);
    for (int j = 0; j < w->n && rc == TG_OK; j++) {
        if (!l->merge[j]) continue;
        tg_tensor *v = iteration_grad(g, l, w->merge[j], w->ident[j]);
        if (!v) {
            g->cond_ctx = l->ctx;
            v = tg_zeros_like(g, &l->sw[j]->outputs[1], NULL);
            g->cond_ctx = l->ctx->outer;
        }
        rc = v ? close_var(g, l, l->merge[j], l->sw[j], v, "b_exit", acc, dep, w->enter[j]->inputs[0])
               : tg_graph_status(g);
    }
    return rc == TG_OK ? invariant_grads(g, l, last_op, acc, dep) : rc;
}

static bool wants_grad(const tg__while_impl *w, const tg__grad_list *acc) {
    for (int j = 0; j < w->n; j++)
        if (is_float(w->exit[j]->outputs[0].dtype) && acc[w->exit[j]->outputs[0].id].n) return true;
    return false;
}

tg_code tg__while_grad(tg_graph *g, tg_op *op, tg__grad_list *acc, const char *dep) {
    tg__cond_ctx *fwd = op->ctx;
    if (!(op->def->flags & TG__OPF_EXIT) || !tg__is_while_ctx(fwd)) return TG_OK;
    tg__while_impl *w = fwd->impl;
    if (w->forward) {
        if (acc[op->outputs[0].id].n)
            return tg__fail(g, TG_UNIMPLEMENTED, "gradients: '%s' belongs to a gradient loop; gradients of "
                            "gradients through a while loop are not supported", op->name);
        return TG_OK;
    }
    if (w->n == 0 || op != w->exit[0] || !w->back_prop || !wants_grad(w, acc)) return TG_OK;
    if (fwd->outer)
        return tg__fail(g, TG_UNIMPLEMENTED, "gradients: while loop '%s' is inside a tg_cond branch or another "
                        "while loop; gradients through such a loop are not supported", w->frame_name);
    grad_loop l = {.fwd = fwd, .n_local = g->n_tensors};
    l.merge = calloc((size_t)w->n, sizeof *l.merge);
    l.sw = calloc((size_t)w->n, sizeof *l.sw);
    l.local = calloc((size_t)l.n_local, sizeof *l.local);
    tg__cond_ctx *saved = g->cond_ctx;
    const char *frame = tg__unique_name(g, "while_context", true);
    if (!l.merge || !l.sw || !l.local || !frame || !(l.ctx = tg__while_ctx_new(g, frame, w->parallel_iterations, true))) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
    } else {
        ((tg__while_impl *)l.ctx->impl)->forward = fwd;
        build(g, &l, acc, dep);
    }
    g->cond_ctx = saved;
    for (int i = 0; l.local && i < l.n_local; i++) free(l.local[i].items);
    free(l.local);
    free(l.merge);
    free(l.sw);
    return tg_graph_status(g);
}
