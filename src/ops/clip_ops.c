/* TF 1.15's clip_ops beyond clip_by_value: clip_by_norm, global_norm and
 * clip_by_global_norm, composed from ordinary ops with TF's names, so their
 * gradients come from those ops. Each checks everything it can refuse
 * before its first op, so a refused call leaves nothing behind. */
#include <stdio.h>
#include <stdlib.h>

#include "ops_internal.h"

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

/* A scalar (or unknown-rank) tensor of dtype want; false after the error. */
static bool check_scalar(tg_graph *g, const char *who, const char *what, const tg_tensor *t, tg_dtype want) {
    if (t->dtype != want)
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s has dtype %s, but t has %s", who, what,
                        tg_dtype_name(t->dtype), tg_dtype_name(want)), false;
    if (t->shape.rank > 0) {
        char b[128];
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: %s must be a 0-D (scalar) tensor, not shape %s", who, what,
                        tg_shape_format(&t->shape, b, sizeof b)), false;
    }
    return true;
}

/* ---- clip_by_norm ---------------------------------------------------------------- */

static bool check_axes(tg_graph *g, const char *who, const tg_tensor *t, const int *axes, int n_axes) {
    int r = t->shape.rank;
    if (n_axes < 0 || n_axes > TG_MAX_RANK || (n_axes > 0 && !axes) || (n_axes == 0 && axes))
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: axes is %s with n_axes %d", who, axes ? "given" : "NULL", n_axes),
               false;
    if (n_axes == 0 && r < 0)
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: reducing every axis needs a known rank", who), false;
    bool seen[TG_MAX_RANK] = {false};
    for (int i = 0; i < n_axes && r >= 0; i++) {
        int a = axes[i] < 0 ? axes[i] + r : axes[i];
        if (a < 0 || a >= r || seen[a])
            return tg__fail(g, TG_INVALID_ARGUMENT, "%s: Invalid reduction dimension %d for input with %d dimensions",
                            who, axes[i], r), false;
        seen[a] = true;
    }
    return true;
}

tg_tensor *tg_clip_by_norm(tg_graph *g, tg_tensor *t, tg_tensor *clip_norm, const int *axes, int n_axes,
                           const char *name) {
    tg_tensor *in[2] = {t, clip_norm};
    const char *who = name ? name : "clip_by_norm";
    if (!tg__graph_ready_in(g, in, 2, who)) return NULL;
    if (!is_float(t->dtype))
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: t must be float32 or float64, not %s", who,
                        tg_dtype_name(t->dtype)), NULL;
    if (!check_scalar(g, who, "clip_norm", clip_norm, t->dtype) || !check_axes(g, who, t, axes, n_axes)) return NULL;
    const char *scope;
    int tok = tg__builder_scope(g, name, "clip_by_norm", &scope);
    tg_tensor *l2sum = tg_reduce_sum(g, tg_multiply(g, t, t, NULL),
                                     &(tg_reduce_opts){.axes = axes, .n_axes = n_axes, .keep_dims = true});
    tg_tensor *pred = tg_greater(g, l2sum, tg_constant_scalar(g, t->dtype, 0, "Greater/y"), NULL);
    /* TF's two-tap where: sqrt never sees 0, so its gradient stays finite */
    tg_tensor *safe = tg_where(g, pred, l2sum, tg_ones_like(g, l2sum, NULL), NULL);
    tg_tensor *l2norm = tg_where(g, pred, tg_sqrt(g, safe, NULL), l2sum, NULL);
    tg_tensor *num = tg_multiply(g, t, clip_norm, NULL);
    tg_tensor *q = tg_divide(g, num, tg_maximum(g, l2norm, clip_norm, NULL), NULL);
    tg__op_args a = {.def = &tg__op_identity, .name = scope, .exact_name = true, .inputs = &q, .n_inputs = 1};
    tg_tensor *out = q ? tg__out0(tg__add_op(g, &a)) : NULL;
    tg_scope_pop(g, tok);
    return out;
}

/* ---- global_norm ------------------------------------------------------------------- */

/* t_list[0..n): NULL entries allowed (TF's None), at least one tensor, all of
 * one float dtype and of g; *dtype gets it. False after the error. */
static bool check_list(tg_graph *g, const char *who, tg_tensor *const *t_list, int n, tg_dtype *dtype) {
    if (!t_list || n < 0)
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: t_list should be a sequence (got %s with n %d)", who,
                        t_list ? "a list" : "NULL", n), false;
    int first = -1;
    for (int i = 0; i < n; i++) {
        if (!t_list[i]) continue;
        if (!tg__graph_ready_in(g, &t_list[i], 1, who)) return false;
        if (first < 0) first = i;
        if (!is_float(t_list[i]->dtype) || t_list[i]->dtype != t_list[first]->dtype)
            return tg__fail(g, TG_INVALID_ARGUMENT,
                            "%s: t_list[%d] has dtype %s; the tensors must share one float dtype (t_list[%d] is %s)",
                            who, i, tg_dtype_name(t_list[i]->dtype), first,
                            tg_dtype_name(t_list[first]->dtype)), false;
    }
    if (first < 0)
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: List argument 'values' to 'Pack' Op with length 0 shorter than "
                        "minimum length 1.", who), false;
    *dtype = t_list[first]->dtype;
    return true;
}

/* The ops of global_norm in the current scope (checked list). */
static tg_tensor *global_norm_ops(tg_graph *g, tg_tensor *const *t_list, int n, tg_dtype dt, const char *out_name) {
    tg_tensor **half = malloc((size_t)n * sizeof *half);
    if (!half) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"), NULL;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (t_list[i]) half[m++] = tg_nn_l2_loss(g, t_list[i], NULL);
    tg_tensor *sum = tg_reduce_sum(g, tg_stack(g, half, m, 0, NULL), NULL);
    free(half);
    tg_tensor *two = tg_constant_scalar(g, dt, 2.0, "Const");
    return tg_sqrt(g, tg_multiply(g, sum, two, NULL), out_name);
}

tg_tensor *tg_global_norm(tg_graph *g, tg_tensor *const *t_list, int n, const char *name) {
    const char *who = name ? name : "global_norm";
    tg_dtype dt;
    if (!tg__graph_ready(g, NULL, 0) || !check_list(g, who, t_list, n, &dt)) return NULL;
    const char *scope;
    int tok = tg__builder_scope(g, name, "global_norm", &scope);
    /* TF names the Sqrt "global_norm" inside the scope */
    tg_tensor *out = global_norm_ops(g, t_list, n, dt, "global_norm");
    tg_scope_pop(g, tok);
    (void)scope;
    return out;
}

/* ---- clip_by_global_norm ------------------------------------------------------------ */

/* t_list[i] * scale as Identity "<scope>/<scope>_<i>" (TF's "%s_%d" % (name, i)
 * with name ending in '/'), NULL for a NULL entry. */
static void clip_each(tg_graph *g, tg_tensor *const *t_list, int n, tg_tensor *scale, const char *scope,
                      tg_tensor **clipped) {
    for (int i = 0; i < n; i++) {
        if (!t_list[i]) continue;
        char nm[256];
        snprintf(nm, sizeof nm, "%s/_%d", scope, i);
        clipped[i] = tg_identity(g, tg_multiply(g, t_list[i], scale, NULL), nm);
    }
}

tg_code tg_clip_by_global_norm(tg_graph *g, tg_tensor *const *t_list, int n, tg_tensor *clip_norm,
                               tg_tensor *use_norm, tg_tensor **clipped, tg_tensor **global_norm, const char *name) {
    const char *who = name ? name : "clip_by_global_norm";
    for (int i = 0; clipped && t_list && i < n; i++) clipped[i] = NULL;
    if (global_norm) *global_norm = NULL;
    if (!tg__graph_ready_in(g, &clip_norm, 1, who)) return tg__not_ready_code(g);
    if (use_norm && !tg__graph_ready_in(g, &use_norm, 1, who)) return tg__not_ready_code(g);
    tg_dtype dt;
    if (!check_list(g, who, t_list, n, &dt)) return tg_graph_status(g);
    if (!clipped) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: clipped is NULL", who);
    if (!check_scalar(g, who, "clip_norm", clip_norm, dt)) return tg_graph_status(g);
    if (use_norm && !check_scalar(g, who, "use_norm", use_norm, dt)) return tg_graph_status(g);
    if (!use_norm) {
        /* TF calls global_norm(t_list, name): its own scope, named `name` when given */
        int tok = tg_name_scope_push(g, name ? name : "global_norm");
        use_norm = global_norm_ops(g, t_list, n, dt, "global_norm");
        tg_scope_pop(g, tok);
    }
    const char *scope;
    int tok = tg__builder_scope(g, name, "clip_by_global_norm", &scope);
    tg_tensor *one = tg_constant_scalar(g, dt, 1.0, "Const");
    tg_tensor *inv = tg_divide(g, tg_constant_scalar(g, dt, 1.0, NULL), use_norm, NULL);
    tg_tensor *finite = tg_multiply(g, clip_norm, tg_minimum(g, inv, tg_divide(g, one, clip_norm, NULL), NULL), NULL);
    /* + (norm - norm): a NaN or infinite norm makes every result NaN, as TF */
    tg_tensor *scale = tg_add(g, finite, tg_subtract(g, use_norm, use_norm, NULL), NULL);
    if (scope) clip_each(g, t_list, n, scale, scope, clipped);
    tg_scope_pop(g, tok);
    tg_code rc = tg_graph_status(g);
    if (rc != TG_OK) {
        for (int i = 0; i < n; i++) clipped[i] = NULL;
        return rc;
    }
    if (global_norm) *global_norm = use_norm;
    return TG_OK;
}
