/* tf.cond in graph mode, as TF 1.15 builds it (control_flow_ops.py): Switch
 * and Merge ops, and the CondContext that routes every tensor a branch
 * reads from outside through a Switch, so that at run time the branch not
 * taken gets dead inputs and the executor skips it. */
#include <stdlib.h>
#include <string.h>

#include "ops_internal.h"

/* ---- Switch ------------------------------------------------------------------------ */

static tg_code pred_check(tg__infer_ctx *c, const tg_tensor *pred) {
    if (pred->dtype != TG_BOOL)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT,
                              "Input 'pred' of 'Switch' Op has type %s that does not match expected type of bool.",
                              tg_dtype_name(pred->dtype));
    if (pred->shape.rank > 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "Shape must be rank 0 but is rank %d", pred->shape.rank);
    return TG_OK;
}

static tg_code switch_infer(tg__infer_ctx *c) {
    tg_code rc = pred_check(c, c->in[1]);
    if (rc != TG_OK) return rc;
    for (int i = 0; i < 2; i++) c->out[i] = (tg__out_info){c->in[0]->dtype, c->in[0]->shape};
    return TG_OK;
}

/* Output 1 (output_true) carries the data when pred holds, output 0
 * (output_false) otherwise; the other is dead. */
static tg_code switch_kernel(tg__kernel_ctx *c) {
    int taken = *(const bool *)c->in[1]->data ? 1 : 0;
    tg__out_alias(c, taken, c->in[0]);
    tg__out_set_dead(c, 1 - taken);
    return TG_OK;
}

/* TF's _SwitchGrad in a CondContext: tg_gradients builds it just outside
 * the Switch's branch and has filled the output no gradient reached with
 * zeros like it, which are live exactly when the branch is not taken; the
 * Merge then always yields one live value: the taken branch's gradient or
 * those zeros. The pred's gradient is None. */
static tg_code switch_grad(tg__grad_ctx *c) {
    tg_tensor *pair[2] = {c->dy[0], c->dy[1]};
    tg__op_args a = {.def = &tg__op_merge, .name = "cond_grad", .inputs = pair, .n_inputs = 2};
    c->dx[0] = tg__out0(tg__add_op(c->g, &a));
    return tg_graph_status(c->g);
}

const tg__op_def tg__op_switch = {
    .type = "Switch",
    .n_inputs = 2,
    .n_outputs = 2,
    .flags = TG__OPF_VIEWS | TG__OPF_SWITCH,
    .infer = switch_infer,
    .kernel = TG__ALL_DTYPES(switch_kernel),
    .grad = switch_grad,
};

/* ---- Merge ------------------------------------------------------------------------- */

static tg_code merge_infer(tg__infer_ctx *c) {
    if (c->n_in < 1) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "Merge needs at least one input");
    tg_shape s = c->in[0]->shape;
    for (int i = 1; i < c->n_in; i++) {
        const tg_tensor *t = c->in[i];
        if (t->dtype != c->in[0]->dtype)
            return tg__infer_fail(c, TG_INVALID_ARGUMENT,
                                  "Inputs to Merge must have the same data type: %s and %s",
                                  tg_dtype_name(c->in[0]->dtype), tg_dtype_name(t->dtype));
        /* TF's MergeShape: the most specific shape both inputs have */
        if (s.rank < 0) continue;
        if (t->shape.rank != s.rank) {
            s = TG_SHAPE_UNKNOWN;
            continue;
        }
        for (int d = 0; d < s.rank; d++)
            if (s.dims[d] != t->shape.dims[d]) s.dims[d] = -1;
    }
    c->out[0] = (tg__out_info){c->in[0]->dtype, s};
    c->out[1] = (tg__out_info){TG_INT32, TG_SCALAR};
    return TG_OK;
}

/* Forwards the first live input and its index; the executor runs it only
 * when one is live. */
static tg_code merge_kernel(tg__kernel_ctx *c) {
    int live = 0;
    while (live < c->n_in - 1 && tg__in_dead(c, live)) live++;
    tg__out_alias(c, 0, c->in[live]);
    tg_code rc = tg__out_alloc(c, 1, TG_INT32, 0, NULL);
    if (rc == TG_OK) *(int32_t *)c->out[1]->data = live;
    return rc;
}

static tg_code merge_grad(tg__grad_ctx *c);

const tg__op_def tg__op_merge = {
    .type = "Merge",
    .n_inputs = -1,
    .n_outputs = 2,
    .flags = TG__OPF_VIEWS | TG__OPF_MERGE,
    .infer = merge_infer,
    .kernel = TG__ALL_DTYPES(merge_kernel),
    .grad = merge_grad,
};

/* TF's RefSwitch (_SwitchRefOrTensor): a variable reference stays one on
 * the live side, so an assign inside a branch writes the variable itself.
 * It carries the variable like VariableV2 and, as TF's, does not need it
 * initialized. Not differentiable: a branch reads a variable's value
 * through its "read" Identity, which gets a plain Switch, so gradients
 * never need to cross a RefSwitch; only the reference an assign writes
 * goes through one (TF registers _SwitchGrad for it, which matters only
 * for math on raw refs). */
const tg__op_def tg__op_ref_switch = {
    .type = "RefSwitch",
    .n_inputs = 2,
    .n_outputs = 2,
    .flags = TG__OPF_VIEWS | TG__OPF_SWITCH | TG__OPF_VARIABLE | TG__OPF_INIT_REF | TG__OPF_NOT_DIFFERENTIABLE,
    .infer = switch_infer,
    .kernel = TG__ALL_DTYPES(switch_kernel),
};

tg_op *tg__switch_op(tg_graph *g, tg_tensor *data, tg_tensor *pred) {
    tg_tensor *in[2] = {data, pred};
    bool ref = (data->op->def->flags & TG__OPF_VARIABLE) != 0;
    tg__op_args a = {.def = ref ? &tg__op_ref_switch : &tg__op_switch, .name = ref ? "RefSwitch" : "Switch",
                     .inputs = in, .n_inputs = 2};
    tg_op *op = tg__add_op(g, &a);
    if (op && ref) op->variable = data->op->variable;
    return op;
}

/* ---- the cond context ---------------------------------------------------------------- */

typedef struct cond_impl {
    tg_tensor *pred; /* pred_id */
    int branch;      /* 1: the true branch */
    tg__value_map values; /* the Switch output used for each outside tensor */
} cond_impl;

bool tg__value_map_put(tg_graph *g, tg__value_map *m, tg_tensor *from, tg_tensor *to) {
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        tg_tensor **f = tg__graph_alloc(g, (size_t)cap * sizeof *f), **t = tg__graph_alloc(g, (size_t)cap * sizeof *t);
        if (!f || !t) return false;
        if (m->n) {
            memcpy(f, m->from, (size_t)m->n * sizeof *f);
            memcpy(t, m->to, (size_t)m->n * sizeof *t);
        }
        m->from = f, m->to = t, m->cap = cap;
    }
    m->from[m->n] = from;
    m->to[m->n++] = to;
    return true;
}

tg_tensor *tg__value_map_get(const tg__value_map *m, const tg_tensor *t) {
    for (int i = 0; i < m->n; i++)
        if (m->from[i] == t) return m->to[i];
    return NULL;
}

/* TF's CondContext.AddValue: an outer context first makes t usable in
 * itself, then this context switches that on its predicate. The Switch is
 * made outside every context and control block, as TF's
 * control_dependencies(None) does, and then belongs to this context. */
static tg_tensor *add_value(tg_graph *g, tg__cond_ctx *ctx, tg_tensor *t) {
    cond_impl *c = ctx->impl;
    if (t->op->ctx && tg__op_in_ctx(t->op, ctx)) return t;
    tg_tensor *known = tg__value_map_get(&c->values, t);
    if (known) return known;
    if (!tg__check_usable(g, t, ctx, "Switch")) return NULL;
    tg_tensor *real = t;
    if (ctx->outer && !(real = ctx->outer->add_value(g, ctx->outer, t))) return NULL;
    int tok = tg_control_dependencies_push(g, NULL, 0);
    tg_op *sw = tg__switch_op(g, real, c->pred);
    tg_scope_pop(g, tok);
    if (!sw) return NULL;
    sw->ctx = ctx;
    sw->no_fetch = true;
    if (!tg__value_map_put(g, &c->values, t, &sw->outputs[c->branch])) return NULL;
    return &sw->outputs[c->branch];
}

/* TF's _MergeGrad in a CondContext: Switch(grad, pred), whose output i
 * goes to the Merge's input i, so each branch's gradient is live only when
 * that branch was taken. The gradient ops of each branch are then built
 * inside its context, where this output already is switched on the
 * branch's pred: noting that keeps them from switching it a second time. */
static tg_code merge_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_op *op = c->op;
    tg__cond_ctx *in_ctx[2] = {NULL, NULL};
    for (int i = 0; i < op->n_inputs && i < 2; i++) in_ctx[i] = op->inputs[i]->op->ctx;
    /* tg_cond makes every Merge: (false result, true result), each made in
     * its branch's context */
    if (op->n_inputs != 2 || !in_ctx[0] || !in_ctx[1] || in_ctx[0]->add_value != add_value ||
        in_ctx[1]->add_value != add_value || ((cond_impl *)in_ctx[0]->impl)->branch != 0 ||
        ((cond_impl *)in_ctx[1]->impl)->branch != 1) {
        /* TF's _MergeGrad outside a cond context (a gradient's own Merge,
         * met when differentiating again): input i gets the gradient when
         * the Merge forwarded input i */
        for (int i = 0; i < op->n_inputs; i++) {
            tg_tensor *idx = tg_constant_scalar(g, TG_INT32, i, NULL);
            tg_tensor *in[2] = {c->dy[0], tg_equal(g, &op->outputs[1], idx, NULL)};
            if (!in[1]) return tg_graph_status(g);
            tg__op_args a = {.def = &tg__op_switch, .name = "Switch", .inputs = in, .n_inputs = 2};
            tg_op *sw = tg__add_op(g, &a);
            if (!sw) return tg_graph_status(g);
            c->dx[i] = &sw->outputs[1];
        }
        return TG_OK;
    }
    tg_tensor *pred = ((cond_impl *)in_ctx[0]->impl)->pred;
    tg_tensor *in[2] = {c->dy[0], pred};
    tg__op_args a = {.def = &tg__op_switch, .name = "cond_grad", .inputs = in, .n_inputs = 2};
    tg_op *sw = tg__add_op(g, &a);
    if (!sw) return tg_graph_status(g);
    for (int i = 0; i < 2; i++) {
        cond_impl *branch = in_ctx[i]->impl;
        if (!tg__value_map_put(g, &branch->values, &sw->outputs[i], &sw->outputs[i])) return tg_graph_status(g);
        c->dx[i] = &sw->outputs[i];
    }
    return TG_OK;
}

static tg__cond_ctx *new_ctx(tg_graph *g, tg_tensor *pred, tg_tensor *pivot, int branch) {
    tg__cond_ctx *ctx = tg__graph_alloc(g, sizeof *ctx);
    cond_impl *c = tg__graph_alloc(g, sizeof *c);
    if (!ctx || !c) return NULL;
    *c = (cond_impl){.pred = pred, .branch = branch};
    *ctx = (tg__cond_ctx){.outer = g->cond_ctx, .add_value = add_value, .pivot = pivot->op, .impl = c};
    /* TF sets the pivot's context after making it: it is the branch's root */
    pivot->op->ctx = ctx;
    return ctx;
}

/* Calls fn with its outputs checked as TF's cond checks them; returns how
 * many it gave, -1 after recording an error. */
static int call_branch(tg_graph *g, const char *scope, const char *which, tg_cond_fn fn, void *user,
                       tg_tensor **res, int n) {
    for (int i = 0; i < n; i++) res[i] = NULL;
    int got = fn(g, user, res, n);
    if (tg_graph_status(g) != TG_OK) return -1;
    if (got < 0) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s failed without saying why", scope, which), -1;
    if (got == 0) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s must have a return value.", scope, which), -1;
    if (got > n)
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s returned %d tensors, n_outputs is %d", scope, which, got,
                        n),
               -1;
    for (int i = 0; i < got; i++)
        if (!res[i]) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s returned NULL as output %d", scope, which, i), -1;
    /* TF's BuildCondBranch: an identity inside the branch, so that a tensor
     * from outside ("lambda: x") also goes through the branch's Switch */
    for (int i = 0; i < got; i++)
        if (!(res[i] = tg_identity(g, res[i], NULL))) return -1;
    return got;
}

static int build_branch(tg_graph *g, tg__cond_ctx *ctx, const char *scope, const char *which, tg_cond_fn fn,
                        void *user, tg_tensor **res, int n) {
    g->cond_ctx = ctx;
    int got = call_branch(g, scope, which, fn, user, res, n);
    g->cond_ctx = ctx->outer;
    return got;
}

tg_code tg_cond(tg_graph *g, tg_tensor *pred, tg_cond_fn true_fn, tg_cond_fn false_fn, void *ctx,
                tg_tensor **outputs, int n_outputs, const char *name) {
    for (int i = 0; outputs && i < n_outputs; i++) outputs[i] = NULL;
    if (!tg__graph_ready(g, &pred, 1)) return tg__not_ready_code(g);
    if (!true_fn || !false_fn || !outputs || n_outputs < 1)
        return tg__fail(g, TG_INVALID_ARGUMENT,
                        "%s: true_fn and false_fn must be given, with an outputs array of n_outputs >= 1",
                        name ? name : "cond");
    const char *scope;
    int tok = tg__builder_scope(g, name, "cond", &scope);
    tg_tensor **res = malloc(2 * (size_t)n_outputs * sizeof *res);
    tg__cond_ctx *ctx_t, *ctx_f;
    if (!res) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    tg_tensor **res_t = res, **res_f = res + n_outputs;
    tg_op *sw = tg__switch_op(g, pred, pred);
    tg_tensor *pivot_t = sw ? tg_identity(g, &sw->outputs[1], "switch_t") : NULL;
    tg_tensor *pivot_f = pivot_t ? tg_identity(g, &sw->outputs[0], "switch_f") : NULL;
    tg_tensor *pred_id = pivot_f ? tg_identity(g, pred, "pred_id") : NULL;
    if (!pred_id) goto done;
    /* TF's prevent_fetching: these are dead in one branch or the other */
    sw->no_fetch = pivot_t->op->no_fetch = pivot_f->op->no_fetch = pred_id->op->no_fetch = true;

    if (!(ctx_t = new_ctx(g, pred_id, pivot_t, 1))) goto done;
    int n_t = build_branch(g, ctx_t, scope, "true_fn", true_fn, ctx, res_t, n_outputs);
    if (n_t < 0 || !(ctx_f = new_ctx(g, pred_id, pivot_f, 0))) goto done;
    int n_f = build_branch(g, ctx_f, scope, "false_fn", false_fn, ctx, res_f, n_outputs);
    if (n_f < 0) goto done;
    if (n_t != n_f) {
        tg__fail(g, TG_INVALID_ARGUMENT,
                 "%s: Incompatible return values of true_fn and false_fn: true_fn returned %d tensors, "
                 "false_fn %d",
                 scope, n_t, n_f);
        goto done;
    }
    if (n_t != n_outputs) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: the branches returned %d tensors, n_outputs is %d", scope, n_t,
                 n_outputs);
        goto done;
    }
    tg_tensor **merged = malloc((size_t)n_outputs * sizeof *merged);
    if (!merged) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    bool ok = true;
    for (int i = 0; i < n_outputs && ok; i++) {
        tg_tensor *pair[2] = {res_f[i], res_t[i]};
        tg__op_args a = {.def = &tg__op_merge, .name = "Merge", .inputs = pair, .n_inputs = 2};
        merged[i] = tg__out0(tg__add_op(g, &a));
        ok = merged[i] != NULL;
    }
    if (ok)
        for (int i = 0; i < n_outputs; i++) outputs[i] = merged[i];
    free(merged);
done:
    free(res);
    tg_scope_pop(g, tok);
    return g->code;
}

tg_code tg_smart_cond(tg_graph *g, tg_tensor *pred, tg_cond_fn true_fn, tg_cond_fn false_fn, void *ctx,
                      tg_tensor **outputs, int n_outputs, const char *name) {
    bool value;
    if (!pred || !tg_tensor_static_bool(pred, &value))
        return tg_cond(g, pred, true_fn, false_fn, ctx, outputs, n_outputs, name);
    for (int i = 0; outputs && i < n_outputs; i++) outputs[i] = NULL;
    if (!tg__graph_ready(g, &pred, 1)) return tg__not_ready_code(g);
    tg_cond_fn fn = value ? true_fn : false_fn;
    const char *which = value ? "true_fn" : "false_fn", *who = name ? name : "smart_cond";
    if (!fn || !outputs || n_outputs < 1)
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s must be given, with an outputs array of n_outputs >= 1",
                        who, which);
    int got = fn(g, ctx, outputs, n_outputs);
    if (g->code != TG_OK) {
        for (int i = 0; i < n_outputs; i++) outputs[i] = NULL;
        return g->code;
    }
    tg_code rc = TG_OK;
    if (got != n_outputs)
        rc = tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s returned %d tensors, n_outputs is %d", who, which, got,
                      n_outputs);
    for (int i = 0; rc == TG_OK && i < n_outputs; i++)
        if (!outputs[i]) rc = tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s returned NULL as output %d", who, which, i);
    if (rc != TG_OK)
        for (int i = 0; i < n_outputs; i++) outputs[i] = NULL;
    return rc;
}

/* ---- tf.case ------------------------------------------------------------------------ */

/* TF's array_ops.stack(predicates, name="preds_c"): an empty list becomes
 * a constant, float32 [0] as convert_to_tensor(()) makes it, which is what
 * lets a single pair without a default through the "others" check. */
static tg_tensor *preds_c(tg_graph *g, const tg_case_pair *pairs, int n) {
    if (n == 0) return tg_constant_data(g, TG_FLOAT32, TG_SHAPE(0), NULL, "preds_c");
    tg_tensor **p = malloc((size_t)n * sizeof *p);
    if (!p) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "case: out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) p[i] = pairs[i].pred;
    tg_tensor *t = tg_stack(g, p, n, 0, "preds_c");
    free(p);
    return t;
}

/* TF's _assert_at_most_n_true. */
static tg_op *assert_at_most_n_true(tg_graph *g, const tg_case_pair *pairs, int n_preds, int n, const char *msg) {
    tg_tensor *stacked = preds_c(g, pairs, n_preds);
    tg_tensor *cast = stacked ? tg_cast(g, stacked, TG_INT32, NULL) : NULL;
    tg_tensor *num = cast ? tg_reduce_sum(g, cast, &(tg_reduce_opts){.name = "num_true_conds"}) : NULL;
    tg_tensor *lim = num ? tg_constant_scalar(g, TG_INT32, n, "n_true_conds") : NULL;
    tg_tensor *ok = lim ? tg_less_equal(g, num, lim, NULL) : NULL;
    if (!ok) return NULL;
    tg__strbuf b = {0};
    tg__strbuf_printf(&b, "%s: more than %d conditions (", msg, n);
    for (int i = 0; i < n_preds; i++) tg__strbuf_printf(&b, "%s%s", i ? ", " : "", tg_tensor_name(pairs[i].pred));
    tg__strbuf_printf(&b, ") evaluated as True:");
    tg_op *op = NULL;
    if (b.failed)
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "case: out of memory");
    else
        op = tg__assert_message(g, ok, b.data, &stacked, 1, n_preds, NULL);
    tg__strbuf_free(&b);
    return op;
}

typedef struct case_state {
    const tg_case_pair *pairs;
    int n_all;   /* every pair, for the default's checks */
    int n_conds; /* pairs that get a cond: n_all less the one taken as default */
    tg_cond_fn default_fn;
    void *default_ctx;
    bool made_default; /* default_fn is the last pair's, guarded as TF guards it */
} case_state;

/* One level of the nest; tg_cond hands both branches the same ctx. */
typedef struct case_level {
    const case_state *s;
    int i;
} case_level;

/* TF's _case_create_default_action: the last pair's fn stands in for the
 * missing default, so nothing but these two checks stops it from running
 * when no predicate holds: that none of the others is true and that its
 * own is. */
static int default_action(tg_graph *g, const case_state *s, tg_tensor **outs, int n_outs) {
    if (!s->made_default) return s->default_fn(g, s->default_ctx, outs, n_outs);
    int k = s->n_all - 1;
    char others[160];
    snprintf(others, sizeof others,
             "Implementation error: selected default action #%d was called, but some of other predicates are True: ",
             k);
    tg_tensor *all = preds_c(g, s->pairs, s->n_all);
    tg_op *deps[2] = {NULL, NULL};
    if (all) deps[0] = assert_at_most_n_true(g, s->pairs, k, 0, others);
    if (deps[0])
        deps[1] = tg__assert_message(g, s->pairs[k].pred, "Input error: None of conditions evaluated as True:", &all, 1,
                                     3, NULL);
    if (!deps[1]) return -1;
    int tok = tg_control_dependencies_push(g, deps, 2);
    int got = s->default_fn(g, s->default_ctx, outs, n_outs);
    tg_scope_pop(g, tok);
    return got;
}

static int case_true(tg_graph *g, void *user, tg_tensor **outs, int n_outs) {
    const case_level *l = user;
    return l->s->pairs[l->i].fn(g, l->s->pairs[l->i].ctx, outs, n_outs);
}

static int case_level_build(tg_graph *g, const case_state *s, int i, tg_tensor **outs, int n_outs);

static int case_false(tg_graph *g, void *user, tg_tensor **outs, int n_outs) {
    const case_level *l = user;
    if (l->i + 1 < l->s->n_conds) return case_level_build(g, l->s, l->i + 1, outs, n_outs);
    return default_action(g, l->s, outs, n_outs);
}

/* TF builds the nest from the last pair outward as partials and calls the
 * outermost; building from the first pair inward gives the same graph. */
static int case_level_build(tg_graph *g, const case_state *s, int i, tg_tensor **outs, int n_outs) {
    case_level l = {s, i};
    return tg_cond(g, s->pairs[i].pred, case_true, case_false, &l, outs, n_outs, NULL) == TG_OK ? n_outs : -1;
}

tg_code tg_case(tg_graph *g, const tg_case_pair *pairs, int n, tg_cond_fn default_fn, void *default_ctx,
                bool exclusive, tg_tensor **outputs, int n_outputs, const char *name) {
    const char *who = name ? name : "case";
    for (int i = 0; outputs && i < n_outputs; i++) outputs[i] = NULL;
    if (!tg__graph_ready(g, NULL, 0)) return tg__not_ready_code(g);
    if (!pairs || n < 1 || !outputs || n_outputs < 1)
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: needs at least one (pred, fn) pair and an outputs array of "
                        "n_outputs >= 1", who);
    /* TF's _case_verify_and_canonicalize_args: everything is checked before
     * anything is built */
    for (int i = 0; i < n; i++) {
        if (!pairs[i].pred) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: pred %d is NULL", who, i);
        if (!tg__graph_ready(g, &pairs[i].pred, 1)) return g->code;
        if (pairs[i].pred->dtype != TG_BOOL)
            return tg__fail(g, TG_INVALID_ARGUMENT, "%s: pred must be Tensor of type bool: %s", who,
                            tg_tensor_name(pairs[i].pred));
        if (!pairs[i].fn)
            return tg__fail(g, TG_INVALID_ARGUMENT, "%s: fn for pred %s must be callable.", who,
                            tg_tensor_name(pairs[i].pred));
    }
    case_state s = {pairs, n, n, default_fn, default_ctx, false};
    if (!default_fn) s = (case_state){pairs, n, n - 1, pairs[n - 1].fn, pairs[n - 1].ctx, true};
    const char *scope;
    int tok = tg__builder_scope(g, name, "case", &scope);
    int dep_tok = -1;
    if (exclusive) {
        /* TF checks only the pairs left after taking the default out */
        tg_op *check = assert_at_most_n_true(g, pairs, s.n_conds, 1, "Input error: exclusive=True");
        if (!check) goto done;
        dep_tok = tg_control_dependencies_push(g, &check, 1);
    }
    if (s.n_conds > 0) {
        case_level_build(g, &s, 0, outputs, n_outputs);
    } else {
        /* a single pair without default: TF calls it with no cond at all */
        int got = default_action(g, &s, outputs, n_outputs);
        if (g->code == TG_OK && got != n_outputs)
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: default returned %d tensors, n_outputs is %d", scope, got,
                     n_outputs);
        for (int i = 0; g->code == TG_OK && i < n_outputs; i++)
            if (!outputs[i]) tg__fail(g, TG_INVALID_ARGUMENT, "%s: default returned NULL as output %d", scope, i);
    }
    if (dep_tok >= 0) tg_scope_pop(g, dep_tok);
done:
    if (g->code != TG_OK)
        for (int i = 0; i < n_outputs; i++) outputs[i] = NULL;
    tg_scope_pop(g, tok);
    return g->code;
}
