/* tf.nn.moments and tf.nn.weighted_moments: compositions of reductions, as
 * in TF's nn_impl.py, with TF's op names (batch norm relies on them). */
#include "ops_internal.h"

static bool check_axes(tg_graph *g, const char *who, tg_tensor *x, const int *axes, int n) {
    if (n < 1 || n > TG_MAX_RANK || !axes) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: axes must list 1 to %d axes", who, TG_MAX_RANK);
        return false;
    }
    if (x->dtype != TG_FLOAT32 && x->dtype != TG_FLOAT64) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: x must be float32 or float64, not %s", who, tg_dtype_name(x->dtype));
        return false;
    }
    int r = x->shape.rank;
    for (int i = 0; i < n && r >= 0; i++)
        if (axes[i] < -r || axes[i] >= r) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: axis %d is out of range for rank %d", who, axes[i], r);
            return false;
        }
    return true;
}

/* mean = reduce_mean(x, axes, keepdims=True, name="mean"); variance =
 * reduce_mean(squared_difference(x, stop_gradient(mean)), axes,
 * keepdims=True, name="variance"); both squeezed unless keep_dims. */
tg_code tg_nn_moments(tg_graph *g, tg_tensor *x, const int *axes, int n_axes, bool keep_dims, tg_tensor **mean,
                      tg_tensor **variance, const char *name) {
    if (mean) *mean = NULL;
    if (variance) *variance = NULL;
    if (!tg__graph_ready(g, &x, 1)) return tg__not_ready_code(g);
    if (!mean || !variance) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: mean and variance are required", name ? name : "moments");
    if (!check_axes(g, name ? name : "moments", x, axes, n_axes)) return g->code;
    int tok = tg_name_scope_push(g, name ? name : "moments");
    tg_tensor *m = tg_reduce_mean(g, x, &(tg_reduce_opts){.name = "mean", .axes = axes, .n_axes = n_axes, .keep_dims = true});
    tg_tensor *sq = tg_squared_difference(g, x, tg_stop_gradient(g, m, NULL), NULL);
    tg_tensor *v = tg_reduce_mean(g, sq, &(tg_reduce_opts){.name = "variance", .axes = axes, .n_axes = n_axes, .keep_dims = true});
    if (!keep_dims) {
        m = tg_squeeze(g, m, axes, n_axes, NULL);
        v = tg_squeeze(g, v, axes, n_axes, NULL);
    }
    tg_scope_pop(g, tok);
    if (g->code != TG_OK) return g->code;
    *mean = m;
    *variance = v;
    return TG_OK;
}

/* TF's two-pass weighted version: sums of w x and of w broadcast to x's
 * shape, the mean as their ratio, then the weighted squared distances. */
tg_code tg_nn_weighted_moments(tg_graph *g, tg_tensor *x, const int *axes, int n_axes, tg_tensor *frequency_weights,
                               bool keep_dims, tg_tensor **mean, tg_tensor **variance, const char *name) {
    if (mean) *mean = NULL;
    if (variance) *variance = NULL;
    tg_tensor *in[2] = {x, frequency_weights};
    if (!tg__graph_ready(g, in, 2)) return tg__not_ready_code(g);
    const char *who = name ? name : "weighted_moments";
    if (!mean || !variance) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: mean and variance are required", who);
    if (!check_axes(g, who, x, axes, n_axes)) return g->code;
    int tok = tg_name_scope_push(g, who);
    tg_tensor *w = frequency_weights->dtype == x->dtype ? frequency_weights : tg_cast(g, frequency_weights, x->dtype, NULL);
    tg_reduce_opts o = {.axes = axes, .n_axes = n_axes, .keep_dims = true};
    o.name = "weighted_input_sum";
    tg_tensor *wsum = tg_reduce_sum(g, tg_multiply(g, w, x, NULL), &o);
    o.name = "sum_of_weights";
    tg_tensor *sum_w = tg_reduce_sum(g, tg_add(g, w, tg_zeros_like(g, x, NULL), NULL), &o);
    tg_tensor *divisor = tg_divide(g, tg_constant_scalar(g, x->dtype, 1, NULL), sum_w, "inv_weight_sum");
    tg_tensor *m = tg_multiply(g, wsum, divisor, NULL);
    o.name = "weighted_distsq";
    tg_tensor *dist = tg_reduce_sum(g, tg_multiply(g, w, tg_squared_difference(g, x, m, NULL), NULL), &o);
    tg_tensor *v = tg_multiply(g, dist, divisor, NULL);
    if (!keep_dims) {
        m = tg_squeeze(g, m, axes, n_axes, NULL);
        v = tg_squeeze(g, v, axes, n_axes, NULL);
    }
    tg_scope_pop(g, tok);
    if (g->code != TG_OK) return g->code;
    *mean = m;
    *variance = v;
    return TG_OK;
}
