/* Select (tf.where with x and y) and clip_by_value, which TF composes from
 * Minimum and Maximum. */
#include <string.h>

#include "ops_internal.h"

/* TF1's Select: t and e of one shape; the condition has that shape, or is a
 * scalar, or a vector choosing whole rows along t's first dimension. */
static tg_code select_infer(tg__infer_ctx *c) {
    const tg_tensor *cond = c->in[0], *t = c->in[1], *e = c->in[2];
    if (cond->dtype != TG_BOOL)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "condition must be bool, not %s", tg_dtype_name(cond->dtype));
    if (t->dtype != e->dtype)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "x and y have different dtypes: %s vs. %s", tg_dtype_name(t->dtype),
                              tg_dtype_name(e->dtype));
    char a[128], b[128];
    if (!tg__shape_compatible(&t->shape, &e->shape))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "x and y must have the same shape: %s vs. %s",
                              tg_shape_format(&t->shape, a, sizeof a), tg_shape_format(&e->shape, b, sizeof b));
    tg_shape out = t->shape.rank >= 0 ? t->shape : e->shape;
    for (int i = 0; i < out.rank && e->shape.rank == out.rank; i++)
        if (out.dims[i] < 0) out.dims[i] = e->shape.dims[i];
    const tg_shape *cs = &cond->shape;
    bool ok = cs->rank < 0 || out.rank < 0 || cs->rank == 0 || tg__shape_compatible(cs, &out) ||
              (cs->rank == 1 && out.rank > 1 && (cs->dims[0] < 0 || out.dims[0] < 0 || cs->dims[0] == out.dims[0]));
    if (!ok)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "condition of shape %s does not fit x of shape %s",
                              tg_shape_format(cs, a, sizeof a), tg_shape_format(&out, b, sizeof b));
    c->out[0].dtype = t->dtype;
    c->out[0].shape = out;
    return TG_OK;
}

static tg_code select_kernel(tg__kernel_ctx *c) {
    const tg_array *cond = c->in[0], *t = c->in[1], *e = c->in[2];
    bool same = t->rank == e->rank;
    for (int i = 0; same && i < t->rank; i++) same = t->dims[i] == e->dims[i];
    if (!same) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "x and y must have the same shape");
    /* rows: how many pieces of x the condition chooses between; a scalar
     * condition chooses the whole of x at once. */
    bool same_shape = cond->rank == t->rank;
    for (int i = 0; same_shape && i < t->rank; i++) same_shape = cond->dims[i] == t->dims[i];
    bool scalar = cond->rank == 0;
    int64_t rows;
    if (scalar) rows = 1;
    else if (same_shape) rows = t->size;
    else if (cond->rank == 1 && t->rank > 1 && cond->dims[0] == t->dims[0]) rows = cond->dims[0];
    else return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "condition does not fit x");
    tg_code rc = tg__out_alloc(c, 0, t->dtype, t->rank, t->dims);
    if (rc != TG_OK || t->size == 0) return rc;
    const bool *cv = cond->data;
    size_t es = tg_dtype_size(t->dtype);
    const char *tv = t->data, *ev = e->data;
    char *o = c->out[0]->data;
    if (scalar) {
        memcpy(o, cv[0] ? tv : ev, (size_t)t->size * es);
        return TG_OK;
    }
    size_t chunk = (size_t)(t->size / rows) * es;
    for (int64_t r = 0; r < rows; r++) memcpy(o + (size_t)r * chunk, (cv[r] ? tv : ev) + (size_t)r * chunk, chunk);
    return TG_OK;
}

/* The gradient flows to the side each element came from. */
static tg_code select_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *cond = c->op->inputs[0], *dy = c->dy[0];
    tg_tensor *zeros = tg_zeros_like(g, dy, NULL);
    c->dx[1] = tg_where(g, cond, dy, zeros, NULL);
    c->dx[2] = tg_where(g, cond, zeros, dy, NULL);
    return tg_graph_status(g);
}

const tg__op_def tg__op_select = {
    .type = "Select",
    .n_inputs = 3,
    .n_outputs = 1,
    .infer = select_infer,
    .kernel = TG__ALL_DTYPES(select_kernel),
    .grad = select_grad,
};

tg_tensor *tg_where(tg_graph *g, tg_tensor *cond, tg_tensor *x, tg_tensor *y, const char *name) {
    tg_tensor *in[3] = {cond, x, y};
    return tg__simple_op(g, &tg__op_select, name, in, 3, NULL);
}

/* TF 1.15: minimum(t, max), then maximum(.., min) named after the scope. */
tg_tensor *tg_clip_by_value(tg_graph *g, tg_tensor *t, tg_tensor *clip_min, tg_tensor *clip_max, const char *name) {
    tg_tensor *in[3] = {t, clip_min, clip_max};
    if (!tg__graph_ready(g, in, 3)) return NULL;
    /* all three checked before the Minimum exists, so nothing stays */
    for (int i = 1; i < 3; i++)
        if (in[i]->dtype != t->dtype)
            return tg__fail(g, TG_INVALID_ARGUMENT, "%s: inputs have different dtypes: %s vs. %s",
                            name ? name : "clip_by_value", tg_dtype_name(t->dtype), tg_dtype_name(in[i]->dtype)),
                   NULL;
    const char *scope;
    int tok = tg__builder_scope(g, name, "clip_by_value", &scope);
    tg_tensor *t_min = tg_minimum(g, t, clip_max, NULL);
    tg_tensor *pair[2] = {t_min, clip_min};
    tg__op_args a = {.def = &tg__op_maximum, .name = scope, .exact_name = true, .inputs = pair, .n_inputs = 2};
    tg_tensor *out = tg__out0(tg__add_op(g, &a));
    tg_scope_pop(g, tok);
    return out;
}
