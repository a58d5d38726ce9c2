/* tf.metrics.mean and tf.metrics.accuracy (TF 1.15's metrics_impl) and
 * tf.local_variables_initializer, from the public API only. Every check
 * runs before the first op or variable, so a refused call adds nothing
 * (there is no transaction across the public API). */
#include <stdio.h>

#include "tgraph.h"

/* t is of g; false after recording the error. */
static bool of_graph(tg_graph *g, const char *who, const char *what, tg_tensor *t) {
    if (tg_op_graph(tg_tensor_op(t)) == g) return true;
    tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: %s '%s' is from another graph", who, what, tg_tensor_name(t));
    return false;
}

static bool check_list(tg_graph *g, const char *who, const char *what, const char *const *keys, int n) {
    bool ok = (keys && n > 0) || (!keys && n == 0);
    for (int i = 0; ok && i < n; i++) ok = keys[i] != NULL;
    if (!ok) tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: %s is %s with n %d (or holds NULL)", who, what,
                           keys ? "given" : "NULL", n);
    return ok;
}

/* The rank weights get against values of rank vr (TF's static
 * _remove_squeezable_dimensions): -1 squeezes a trailing dimension, +1
 * adds one, 0 leaves them. */
static int weights_fix(int vr, int wr) {
    if (vr < 0 || wr <= 0) return 0;
    return wr - vr == 1 ? -1 : vr - wr == 1 ? 1 : 0;
}

/* TF's assert_broadcastable, statically: weights (after weights_fix) of
 * rank 0, or of values' rank with each dimension 1 or equal. Unknown
 * ranks or dimensions pass. */
static bool broadcastable(const tg_shape *v, const tg_shape *w0, int fix) {
    if (v->rank < 0 || w0->rank <= 0) return true;
    tg_shape w = *w0;
    if (fix < 0) w.rank--;
    if (fix > 0) w.dims[w.rank++] = 1;
    if (w.rank != v->rank) return false;
    for (int i = 0; i < w.rank; i++)
        if (w.dims[i] >= 0 && v->dims[i] >= 0 && w.dims[i] != 1 && w.dims[i] != v->dims[i]) return false;
    return true;
}

static bool check_weights(tg_graph *g, const char *who, tg_tensor *values, tg_tensor *weights) {
    tg_shape v = tg_tensor_shape(values), w = tg_tensor_shape(weights);
    if (broadcastable(&v, &w, weights_fix(v.rank, w.rank))) return true;
    char a[128], b[128];
    tg_graph_fail(g, TG_INVALID_ARGUMENT,
                  "%s: weights can not be broadcast to values. values.rank=%d. weights.rank=%d. values.shape=%s. "
                  "weights.shape=%s.",
                  who, v.rank, w.rank, tg_shape_format(&v, a, sizeof a), tg_shape_format(&w, b, sizeof b));
    return false;
}

static tg_tensor *to_f32(tg_graph *g, tg_tensor *t) {
    return tg_tensor_dtype(t) == TG_FLOAT32 ? t : tg_cast(g, t, TG_FLOAT32, NULL);
}

/* float32 weights fitted to values' rank and broadcast to its shape (TF's
 * broadcast_weights: multiplied by ones_like(values) unless the static
 * shapes already agree). */
static tg_tensor *fit_weights(tg_graph *g, tg_tensor *values, tg_tensor *weights) {
    tg_shape v = tg_tensor_shape(values), w0 = tg_tensor_shape(weights);
    int fix = weights_fix(v.rank, w0.rank);
    if (fix < 0) weights = tg_squeeze(g, weights, (const int[]){-1}, 1, NULL);
    if (fix > 0) weights = tg_expand_dims(g, weights, -1, NULL);
    weights = to_f32(g, weights);
    if (!weights) return NULL;
    tg_shape w = tg_tensor_shape(weights);
    bool same = tg_shape_num_elements(&v) >= 0 && w.rank == v.rank;
    for (int i = 0; same && i < v.rank; i++) same = w.dims[i] == v.dims[i];
    if (same) return weights;
    tg_tensor *out = NULL;
    TG_WITH_NAME_SCOPE(g, "broadcast_weights") {
        out = tg_multiply(g, weights, tg_ones_like(g, values, NULL), NULL);
    }
    return out;
}

/* A float32 scalar metric variable (TF's metric_variable). */
static tg_variable *metric_variable(tg_graph *g, const char *name) {
    static const char *const keys[2] = {TG_GRAPHKEYS_LOCAL_VARIABLES, TG_GRAPHKEYS_METRIC_VARIABLES};
    TG_OPTS(tg_get_variable_opts, o, .initializer = tg_zeros_initializer(), .trainable = false, .collections = keys,
            .n_collections = 2);
    return tg_variable_new(g, name, TG_FLOAT32, TG_SCALAR, &o);
}

/* div_no_nan(t, maximum(c, 0)) named `name`: TF's compute_mean. */
static tg_tensor *safe_mean(tg_graph *g, tg_tensor *t, tg_tensor *c, const char *name) {
    tg_tensor *zero = tg_constant_scalar(g, TG_FLOAT32, 0, NULL);
    return tg_div_no_nan(g, t, tg_maximum(g, c, zero, NULL), name);
}

/* The body of tf.metrics.mean inside its variable scope; values checked. */
static void mean_body(tg_graph *g, tg_tensor *values, tg_tensor *weights, tg_tensor **value, tg_tensor **update) {
    values = to_f32(g, values);
    tg_variable *total = metric_variable(g, "total"), *count = metric_variable(g, "count");
    tg_tensor *num;
    if (!weights) {
        num = tg_cast(g, tg_size(g, values, NULL), TG_FLOAT32, NULL);
    } else {
        weights = fit_weights(g, values, weights);
        values = tg_multiply(g, values, weights, NULL);
        num = tg_reduce_sum(g, weights, NULL);
    }
    if (!total || !count || !values || !num) return;
    tg_tensor *upd_total = tg_assign_add(g, tg_variable_ref(total), tg_reduce_sum(g, values, NULL), NULL);
    tg_tensor *upd_count = NULL;
    tg_op *dep = tg_tensor_op(values);
    TG_WITH_CONTROL_DEPENDENCIES(g, &dep, 1) {
        upd_count = tg_assign_add(g, tg_variable_ref(count), num, NULL);
    }
    *value = safe_mean(g, tg_variable_value(total), tg_variable_value(count), "value");
    *update = safe_mean(g, upd_total, upd_count, "update_op");
}

/* Checks shared by both metrics: outputs, collections, weights. */
static bool check_common(tg_graph *g, const char *who, tg_tensor *values, tg_tensor *weights,
                         const char *const *mc, int n_mc, const char *const *uc, int n_uc, tg_tensor **value,
                         tg_tensor **update_op) {
    if (!value || !update_op) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: value and update_op must not be NULL", who);
        return false;
    }
    if (!check_list(g, who, "metrics_collections", mc, n_mc) || !check_list(g, who, "updates_collections", uc, n_uc))
        return false;
    return !weights || (of_graph(g, who, "weights", weights) && check_weights(g, who, values, weights));
}

/* mean_body in variable scope name/dflt, then the collections. */
static tg_code build_mean(tg_graph *g, tg_tensor *values, tg_tensor *weights, const char *const *mc, int n_mc,
                          const char *const *uc, int n_uc, const char *name, const char *dflt, tg_tensor **value,
                          tg_tensor **update_op) {
    tg_tensor *v = NULL, *u = NULL;
    TG_WITH_VARIABLE_SCOPE(g, name, &(tg_variable_scope_opts){.default_name = dflt}) {
        mean_body(g, values, weights, &v, &u);
    }
    tg_code rc = tg_graph_status(g);
    if (rc != TG_OK) return rc;
    if (n_mc) tg_add_to_collections(g, mc, n_mc, TG_ITEM_OF_TENSOR(v));
    if (n_uc) tg_add_to_collections(g, uc, n_uc, TG_ITEM_OF_TENSOR(u));
    rc = tg_graph_status(g);
    if (rc == TG_OK) *value = v, *update_op = u;
    return rc;
}

tg_code tg_metrics_mean(tg_graph *g, tg_tensor *values, tg_tensor *weights, const char *const *metrics_collections,
                        int n_metrics_collections, const char *const *updates_collections, int n_updates_collections,
                        const char *name, tg_tensor **value, tg_tensor **update_op) {
    const char *who = name ? name : "mean";
    if (value) *value = NULL;
    if (update_op) *update_op = NULL;
    if (!g || tg_graph_status(g) != TG_OK) return g ? tg_graph_status(g) : TG_INVALID_ARGUMENT;
    if (!values) return TG_INVALID_ARGUMENT;
    if (!of_graph(g, who, "values", values) ||
        !check_common(g, who, values, weights, metrics_collections, n_metrics_collections, updates_collections,
                      n_updates_collections, value, update_op))
        return tg_graph_status(g);
    return build_mean(g, values, weights, metrics_collections, n_metrics_collections, updates_collections,
                      n_updates_collections, name, "mean", value, update_op);
}

/* TF's remove_squeezable_dimensions(labels, predictions): which side loses
 * its trailing dimension of 1 (-1 labels, +1 predictions, 0 neither). */
static int squeeze_side(const tg_shape *l, const tg_shape *p) {
    if (l->rank < 0 || p->rank < 0) return 0;
    if (p->rank - l->rank == 1 && (p->dims[p->rank - 1] == 1 || p->dims[p->rank - 1] < 0)) return 1;
    if (l->rank - p->rank == 1 && (l->dims[l->rank - 1] == 1 || l->dims[l->rank - 1] < 0)) return -1;
    return 0;
}

static bool shapes_compatible(const tg_shape *a, const tg_shape *b) {
    if (a->rank < 0 || b->rank < 0) return true;
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] >= 0 && b->dims[i] >= 0 && a->dims[i] != b->dims[i]) return false;
    return true;
}

/* labels and predictions' static shapes after the squeeze agree; the
 * weights against them (as against is_correct). */
static bool check_accuracy(tg_graph *g, const char *who, tg_tensor *labels, tg_tensor *predictions,
                           tg_tensor *weights) {
    tg_shape l = tg_tensor_shape(labels), p = tg_tensor_shape(predictions);
    int side = squeeze_side(&l, &p);
    if (side > 0) p.rank--;
    if (side < 0) l.rank--;
    if (!shapes_compatible(&p, &l)) {
        char a[128], b[128];
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: Shapes %s and %s are incompatible", who,
                      tg_shape_format(&p, a, sizeof a), tg_shape_format(&l, b, sizeof b));
        return false;
    }
    if (!weights) return true;
    tg_shape w = tg_tensor_shape(weights);
    if (broadcastable(&p, &w, weights_fix(p.rank, w.rank))) return true;
    char a[128], b[128];
    tg_graph_fail(g, TG_INVALID_ARGUMENT,
                  "%s: weights can not be broadcast to values. values.rank=%d. weights.rank=%d. values.shape=%s. "
                  "weights.shape=%s.",
                  who, p.rank, w.rank, tg_shape_format(&p, a, sizeof a), tg_shape_format(&w, b, sizeof b));
    return false;
}

tg_code tg_metrics_accuracy(tg_graph *g, tg_tensor *labels, tg_tensor *predictions, tg_tensor *weights,
                            const char *const *metrics_collections, int n_metrics_collections,
                            const char *const *updates_collections, int n_updates_collections, const char *name,
                            tg_tensor **value, tg_tensor **update_op) {
    const char *who = name ? name : "accuracy";
    if (value) *value = NULL;
    if (update_op) *update_op = NULL;
    if (!g || tg_graph_status(g) != TG_OK) return g ? tg_graph_status(g) : TG_INVALID_ARGUMENT;
    if (!labels || !predictions) return TG_INVALID_ARGUMENT;
    if (!of_graph(g, who, "labels", labels) || !of_graph(g, who, "predictions", predictions) ||
        !check_common(g, who, predictions, NULL, metrics_collections, n_metrics_collections, updates_collections,
                      n_updates_collections, value, update_op) ||
        (weights && !of_graph(g, who, "weights", weights)) || !check_accuracy(g, who, labels, predictions, weights))
        return tg_graph_status(g);
    tg_shape l = tg_tensor_shape(labels), p = tg_tensor_shape(predictions);
    int side = squeeze_side(&l, &p);
    if (side) {
        TG_WITH_NAME_SCOPE(g, "remove_squeezable_dimensions") {
            if (side > 0) predictions = tg_squeeze(g, predictions, (const int[]){-1}, 1, NULL);
            else labels = tg_squeeze(g, labels, (const int[]){-1}, 1, NULL);
        }
    }
    if (predictions && labels && tg_tensor_dtype(predictions) != tg_tensor_dtype(labels))
        predictions = tg_cast(g, predictions, tg_tensor_dtype(labels), NULL);
    tg_tensor *is_correct = tg_cast(g, tg_equal(g, predictions, labels, NULL), TG_FLOAT32, NULL);
    if (!is_correct) return tg_graph_status(g);
    return build_mean(g, is_correct, weights, metrics_collections, n_metrics_collections, updates_collections,
                      n_updates_collections, name, "accuracy", value, update_op);
}

tg_op *tg_local_variables_initializer(tg_graph *g) {
    if (!g || tg_graph_status(g) != TG_OK) return NULL;
    tg_variable **vars = NULL;
    int n = tg_local_variables(g, &vars);
    if (n < 0) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "tg_local_variables_initializer: out of memory");
        return NULL;
    }
    tg_op *op = tg_variables_initializer(g, vars, n, "init");
    tg_free(vars);
    return op;
}
