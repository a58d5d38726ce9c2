/* tg_gradients: TF's symbolic differentiation. It walks the ops between
 * xs and ys in reverse creation order, sums the gradients each tensor
 * receives (AddN), and calls each op's gradient builder, which adds
 * ordinary ops. Undoing broadcasts is shared by the builders through
 * tg__grad_unbroadcast, built from BroadcastGradientArgs, Sum and Reshape
 * when shapes are only known at run time. */
#include <stdlib.h>
#include <string.h>

#include "ops_internal.h"

/* ---- BroadcastGradientArgs: the axes each side was broadcast along ------ */

static tg_code bga_infer(tg__infer_ctx *c) {
    for (int i = 0; i < 2; i++) {
        if (c->in[i]->dtype != TG_INT32)
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "shapes must be int32 vectors");
        c->out[i].dtype = TG_INT32;
        c->out[i].shape = TG_SHAPE(-1);
    }
    return TG_OK;
}

static tg_code bga_kernel(tg__kernel_ctx *c) {
    const tg_array *a = c->in[0], *b = c->in[1];
    if (a->rank != 1 || b->rank != 1 || a->size > TG_MAX_RANK || b->size > TG_MAX_RANK)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "inputs must be shape vectors");
    const int32_t *sa = a->data, *sb = b->data;
    int r = (int)(a->size > b->size ? a->size : b->size);
    int32_t ra[TG_MAX_RANK], rb[TG_MAX_RANK];
    int na = 0, nb = 0;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - (int)a->size), ib = i - (r - (int)b->size);
        int32_t da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Incompatible shapes at axis %d: %d vs. %d", i, da, db);
        if (da == 1 && db != 1) ra[na++] = i;
        if (db == 1 && da != 1) rb[nb++] = i;
        if (da == 1 && db == 1) ra[na++] = i, rb[nb++] = i;
    }
    int64_t la = na, lb = nb;
    tg_code rc = tg__out_alloc(c, 0, TG_INT32, 1, &la);
    if (rc == TG_OK) rc = tg__out_alloc(c, 1, TG_INT32, 1, &lb);
    if (rc != TG_OK) return rc;
    memcpy(c->out[0]->data, ra, (size_t)na * sizeof *ra);
    memcpy(c->out[1]->data, rb, (size_t)nb * sizeof *rb);
    return TG_OK;
}

const tg__op_def tg__op_broadcast_gradient_args = {
    .type = "BroadcastGradientArgs",
    .n_inputs = 2,
    .n_outputs = 2,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .infer = bga_infer,
    .kernel = {[TG_INT32] = bga_kernel},
};

/* Sums dy down to x's shape. Static shapes decide it at construction when
 * both are fully known; otherwise the axes are computed at run time. */
tg_tensor *tg__grad_unbroadcast(tg_graph *g, tg_tensor *dy, tg_tensor *x) {
    if (!tg__graph_ready(g, (tg_tensor *[]){dy, x}, 2)) return NULL;
    const tg_shape *sx = &x->shape, *sd = &dy->shape;
    if (tg_shape_num_elements(sx) >= 0 && tg_shape_num_elements(sd) >= 0) {
        int axes[TG_MAX_RANK], n = 0;
        for (int i = 0; i < sd->rank; i++) {
            int ix = i - (sd->rank - sx->rank);
            if (ix < 0 || (sx->dims[ix] == 1 && sd->dims[i] != 1)) axes[n++] = i;
        }
        if (n == 0 && sx->rank == sd->rank) return dy;
        tg_tensor *s = n ? tg_reduce_sum(g, dy, &(tg_reduce_opts){.axes = axes, .n_axes = n}) : dy;
        return tg__reshape_like(g, s, x);
    }
    tg_tensor *shx = tg_shape_of(g, x, NULL);
    tg_tensor *in[2] = {shx, tg_shape_of(g, dy, NULL)};
    tg__op_args a = {.def = &tg__op_broadcast_gradient_args, .inputs = in, .n_inputs = 2};
    tg_tensor *rx = tg__out0(tg__add_op(g, &a));
    return tg_reshape_t(g, tg__reduce_sum_t(g, dy, rx, false), shx, NULL);
}

/* ---- tg_gradients ------------------------------------------------------------ */

bool tg__grad_push(tg__grad_list *l, tg_tensor *t) {
    if (!tg__grow((void **)&l->items, &l->cap, l->n + 1, sizeof *l->items)) return false;
    l->items[l->n++] = t;
    return true;
}

tg_tensor *tg__grad_sum(tg_graph *g, const tg__grad_list *l) {
    if (l->n == 0) return NULL;
    if (l->n == 1) return l->items[0];
    return tg_add_n(g, l->items, l->n, NULL);
}

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

static bool ctx_within(const tg__cond_ctx *c, const tg__cond_ctx *outer) {
    if (!outer) return true;
    for (; c; c = c->outer)
        if (c == outer) return true;
    return false;
}

/* The cond context an op's gradient is built in: the op's own, so that it
 * reads its inputs through the branch's Switches and runs only when the
 * branch was taken. A Switch's gradient merges what both sides of the
 * branch give, which must be live either way: it belongs just outside the
 * branch, where the switched tensor lives. Never outside the context
 * tg_gradients was called in (a branch function differentiating). */
static tg__cond_ctx *grad_ctx(const tg_op *op, tg__cond_ctx *cur) {
    tg__cond_ctx *c = op->ctx;
    if (c && (op->def->flags & TG__OPF_SWITCH)) c = c->outer;
    return ctx_within(c, cur) ? c : cur;
}

static tg_code backprop_in_ctx(tg_graph *g, tg_op *op, tg__grad_list *acc, const char *dep);

/* Backpropagates through one op: gathers its output gradients, calls its
 * builder in "<op>_grad/" and in the op's cond context, and hands each
 * input its share. */
tg_code tg__backprop_op(tg_graph *g, tg_op *op, tg__grad_list *acc, const char *dep) {
    bool any = false;
    for (int i = 0; i < op->n_outputs; i++) any |= acc[op->outputs[i].id].n > 0;
    if (!any) return TG_OK;
    if (!op->def->grad) {
        if (op->def->flags & TG__OPF_NOT_DIFFERENTIABLE) return TG_OK;
        return tg__fail(g, TG_INVALID_ARGUMENT, "No gradient defined for operation '%s' (op type: %s)", op->name,
                        op->def->type);
    }
    tg__cond_ctx *saved = g->cond_ctx;
    g->cond_ctx = grad_ctx(op, saved);
    tg_code rc = backprop_in_ctx(g, op, acc, dep);
    g->cond_ctx = saved;
    return rc;
}

static tg_code backprop_in_ctx(tg_graph *g, tg_op *op, tg__grad_list *acc, const char *dep) {
    /* Per-op arrays: ops such as ConcatV2 or AddN may have any number of
     * inputs. They live in the graph arena, like the ops built here. */
    tg_tensor **dy = tg__graph_alloc(g, (size_t)(op->n_outputs + 1) * sizeof *dy);
    tg_tensor **dx = tg__graph_alloc(g, (size_t)(op->n_inputs + 1) * sizeof *dx);
    bool *has_dy = tg__graph_alloc(g, (size_t)(op->n_outputs + 1) * sizeof *has_dy);
    if (!dy || !dx || !has_dy) return tg_graph_status(g);
    for (int i = 0; i < op->n_outputs; i++) {
        tg_tensor *t = &op->outputs[i];
        dy[i] = tg__grad_sum(g, &acc[t->id]);
        has_dy[i] = dy[i] != NULL;
        if (!dy[i] && is_float(t->dtype)) dy[i] = tg_zeros_like(g, t, NULL);
    }
    for (int i = 0; i < op->n_inputs; i++) dx[i] = NULL;
    char *scope = tg__arena_printf(&g->arena, "%s_grad", op->name);
    if (!scope) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
    int tok = tg_name_scope_push(g, scope);
    if (tg_graph_status(g) == TG_OK) {
        tg__grad_ctx c = {g, op, dy, dx, has_dy};
        op->def->grad(&c);
    }
    tg_scope_pop(g, tok);
    if (tg_graph_status(g) != TG_OK) return tg_graph_status(g);
    for (int i = 0; i < op->n_inputs; i++) {
        tg_tensor *in = op->inputs[i];
        if (!dx[i] || !dep[in->id] || !is_float(in->dtype)) continue;
        if (dx[i]->dtype != in->dtype)
            return tg__fail(g, TG_INTERNAL, "%s: gradient for input %d has dtype %s, not %s", op->name, i,
                            tg_dtype_name(dx[i]->dtype), tg_dtype_name(in->dtype));
        if (!tg__grad_push(&acc[in->id], dx[i])) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
    }
    return TG_OK;
}

static tg_code check_args(tg_graph *g, tg_tensor *const *ys, int ny, tg_tensor *const *xs, int nx,
                          const tg_gradients_opts *o) {
    if (ny < 1 || nx < 1 || !ys || !xs)
        return tg__fail(g, TG_INVALID_ARGUMENT, "gradients: needs at least one y and one x");
    for (int i = 0; i < ny; i++)
        if (!ys[i]) return tg__fail(g, TG_INVALID_ARGUMENT, "gradients: y %d is NULL", i);
    for (int i = 0; i < nx; i++)
        if (!xs[i]) return tg__fail(g, TG_INVALID_ARGUMENT, "gradients: x %d is NULL", i);
    if (!tg__graph_ready_in(g, ys, ny, "tg_gradients (ys)") || !tg__graph_ready_in(g, xs, nx, "tg_gradients (xs)"))
        return tg__not_ready_code(g);
    for (int i = 0; i < ny; i++) {
        if (!is_float(ys[i]->dtype))
            return tg__fail(g, TG_INVALID_ARGUMENT, "gradients: y '%s' has dtype %s; only float tensors can be differentiated",
                            ys[i]->name, tg_dtype_name(ys[i]->dtype));
        /* a NULL entry is TF's None: ones like y */
        tg_tensor *gy = o->grad_ys ? o->grad_ys[i] : NULL;
        if (!gy) continue;
        if (!tg__graph_ready(g, &gy, 1)) return tg_graph_status(g);
        if (gy->dtype != ys[i]->dtype || !tg__shape_compatible(&gy->shape, &ys[i]->shape)) {
            char a[128], b[128];
            return tg__fail(g, TG_INVALID_ARGUMENT, "gradients: grad_ys[%d] (%s %s) does not match y '%s' (%s %s)", i,
                            tg_dtype_name(gy->dtype), tg_shape_format(&gy->shape, a, sizeof a), ys[i]->name,
                            tg_dtype_name(ys[i]->dtype), tg_shape_format(&ys[i]->shape, b, sizeof b));
        }
    }
    return TG_OK;
}

tg_code tg_gradients(tg_graph *g, tg_tensor *const *ys, int n_ys, tg_tensor *const *xs, int n_xs, tg_tensor **dxs,
                     const tg_gradients_opts *opts) {
    for (int i = 0; dxs && i < n_xs; i++) dxs[i] = NULL;
    if (!g) return TG_INVALID_ARGUMENT;
    if (g->code != TG_OK) return g->code;
    if (!dxs) return tg__fail(g, TG_INVALID_ARGUMENT, "gradients: dxs is NULL");
    const tg_gradients_opts o = opts ? *opts : (tg_gradients_opts){0};
    tg_code rc = check_args(g, ys, n_ys, xs, n_xs, &o);
    if (rc != TG_OK) return rc;

    /* The ops that matter lie on a path from an x to a y. Ops created from
     * here on are gradient ops and are never visited. */
    int n_ops = g->n_ops, n_t = g->n_tensors;
    char *dep = calloc((size_t)n_t + 1, 1), *need = calloc((size_t)n_ops + 1, 1);
    tg__grad_list *acc = calloc((size_t)n_t + 1, sizeof *acc);
    tg_op **stack = malloc(((size_t)n_ops + 1) * sizeof *stack);
    if (!dep || !need || !acc || !stack) {
        rc = tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_xs; i++) dep[xs[i]->id] = 1;
    /* A loop's back edge feeds a Merge from an op made after it: repeat
     * until nothing changes (once more than the loops' nesting). */
    for (bool changed = true; changed;) {
        changed = false;
        for (int id = 0; id < n_ops; id++) {
            const tg_op *op = g->ops[id];
            bool d = false;
            for (int i = 0; i < op->n_inputs && !d; i++) d = dep[op->inputs[i]->id];
            for (int i = 0; d && i < op->n_outputs; i++)
                if (!dep[op->outputs[i].id]) dep[op->outputs[i].id] = 1, changed = true;
        }
    }
    int sp = 0;
    for (int i = 0; i < n_ys; i++)
        if (!need[ys[i]->op->id]) need[ys[i]->op->id] = 1, stack[sp++] = ys[i]->op;
    while (sp > 0) {
        tg_op *op = stack[--sp];
        for (int i = 0; i < op->n_inputs; i++) {
            tg_op *p = op->inputs[i]->op;
            if (!need[p->id]) need[p->id] = 1, stack[sp++] = p;
        }
    }

    int tok = tg_name_scope_push(g, o.name ? o.name : "gradients");
    for (int i = 0; i < n_ys && rc == TG_OK; i++) {
        tg_tensor *gy = o.grad_ys ? o.grad_ys[i] : NULL;
        if (!gy) {
            char nm[32];
            snprintf(nm, sizeof nm, "grad_ys_%d", i);
            gy = tg_ones_like(g, ys[i], nm);
        }
        if (!gy || !tg__grad_push(&acc[ys[i]->id], gy)) rc = tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
    }
    tg__cond_ctx *here = g->cond_ctx;
    for (int id = n_ops - 1; id >= 0 && rc == TG_OK; id--) {
        tg_op *op = g->ops[id];
        /* A loop's ops are differentiated together, by a gradient loop,
         * when the walk reaches the loop's first Exit: every op that reads
         * the loop's outputs has been visited by then. */
        tg__cond_ctx *frame = tg__op_frame(op);
        if (frame && !tg__op_in_ctx_chain(here, frame)) {
            rc = tg__while_grad(g, op, acc, dep);
            continue;
        }
        bool between = need[id];
        bool d = false;
        for (int i = 0; i < op->n_inputs && !d; i++) d = dep[op->inputs[i]->id];
        if (between && d) rc = tg__backprop_op(g, op, acc, dep);
    }
    for (int i = 0; i < n_xs && rc == TG_OK; i++) {
        dxs[i] = tg__grad_sum(g, &acc[xs[i]->id]);
        if (!dxs[i] && o.unconnected_zeros) dxs[i] = tg_zeros_like(g, xs[i], NULL);
    }
    tg_scope_pop(g, tok);
    if (rc == TG_OK) rc = tg_graph_status(g);
    if (rc != TG_OK)
        for (int i = 0; i < n_xs; i++) dxs[i] = NULL;
done:
    if (acc)
        for (int i = 0; i < n_t; i++) free(acc[i].items);
    free(acc);
    free(dep);
    free(need);
    free(stack);
    return rc;
}
