/* tf.losses: cross-entropy and squared-error losses reduced by TF's
 * compute_weighted_loss, added to LOSSES, and the total / regularization
 * sums. Built from public ops, with TF's scopes and op names (the loss is
 * "<scope>/value"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgraph.h"

/* TF's div_no_nan: 0 where the denominator is 0. The denominator is made
 * safe first so that the unused branch cannot turn a gradient into NaN. */
static tg_tensor *div_no_nan(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name) {
    tg_tensor *zero = tg_equal(g, y, tg_zeros_like(g, y, NULL), NULL);
    tg_tensor *safe = tg_where(g, zero, tg_ones_like(g, y, NULL), y, NULL);
    return tg_where(g, zero, tg_zeros_like(g, x, NULL), tg_divide(g, x, safe, NULL), name);
}

/* TF's _num_elements: size(losses) as the losses' dtype. */
static tg_tensor *num_elements(tg_graph *g, tg_tensor *losses) {
    tg_tensor *n = NULL;
    TG_WITH_NAME_SCOPE(g, "num_elements") { n = tg_cast(g, tg_size(g, losses, NULL), tg_tensor_dtype(losses), NULL); }
    return n;
}

/* TF's _num_present: how many losses carry a non-zero weight. */
static tg_tensor *num_present(tg_graph *g, tg_tensor *losses, tg_tensor *weights) {
    tg_tensor *n = NULL;
    TG_WITH_NAME_SCOPE(g, "num_present") {
        tg_tensor *w = tg_cast(g, weights, TG_FLOAT32, NULL);
        tg_tensor *present = tg_where(g, tg_equal(g, w, tg_zeros_like(g, w, NULL), NULL), tg_zeros_like(g, w, NULL),
                                      tg_ones_like(g, w, NULL), NULL);
        /* broadcast to the losses' shape */
        present = tg_add(g, present, tg_zeros_like(g, tg_cast(g, losses, TG_FLOAT32, NULL), NULL), NULL);
        n = tg_reduce_sum(g, present, NULL);
    }
    return n;
}

/* TF's weights_broadcast_ops.assert_broadcastable, on static shapes: the
 * weights are a scalar, or have the losses' rank with each dimension 1 or
 * equal. (Shapes known only at run time are not checked; TF adds an assert
 * op there.) */
static bool broadcastable(tg_graph *g, tg_tensor *weights, tg_tensor *values) {
    tg_shape w = tg_tensor_shape(weights), v = tg_tensor_shape(values);
    if (w.rank <= 0 || v.rank < 0) return true;
    char a[128], b[128];
    tg_shape_format(&v, a, sizeof a);
    tg_shape_format(&w, b, sizeof b);
    if (w.rank != v.rank) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "weights can not be broadcast to values. values.rank=%d. weights.rank=%d. values.shape=%s. "
                      "weights.shape=%s.",
                      v.rank, w.rank, a, b);
        return false;
    }
    for (int i = 0; i < w.rank; i++)
        if (w.dims[i] >= 0 && w.dims[i] != 1 && v.dims[i] >= 0 && w.dims[i] != v.dims[i]) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT,
                          "weights can not be broadcast to values. Mismatch at dim %d. values.shape=%s weights.shape=%s.",
                          i, a, b);
            return false;
        }
    return true;
}

/* TF's compute_weighted_loss, inside the loss's scope. */
static tg_tensor *weighted_loss(tg_graph *g, tg_tensor *losses, const tg_loss_opts *o) {
    if ((unsigned)o->reduction > TG_REDUCTION_SUM_OVER_BATCH_SIZE) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Invalid Reduction Key %d.", (int)o->reduction);
        return NULL;
    }
    if (o->weights && !broadcastable(g, o->weights, losses)) return NULL;
    tg_dtype in_dtype = tg_tensor_dtype(losses);
    tg_tensor *l = in_dtype == TG_FLOAT32 ? losses : tg_cast(g, losses, TG_FLOAT32, NULL);
    tg_tensor *w = o->weights ? tg_cast(g, o->weights, TG_FLOAT32, NULL) : tg_constant_scalar(g, TG_FLOAT32, 1, NULL);
    tg_tensor *weighted = tg_multiply(g, l, w, NULL), *loss = weighted;
    if (o->reduction != TG_REDUCTION_NONE) {
        tg_tensor *sum = tg_reduce_sum(g, weighted, NULL);
        switch (o->reduction) {
        case TG_REDUCTION_SUM: loss = sum; break;
        case TG_REDUCTION_MEAN:
            loss = div_no_nan(g, sum, tg_reduce_sum(g, tg_multiply(g, tg_ones_like(g, l, NULL), w, NULL), NULL), "value");
            break;
        case TG_REDUCTION_SUM_OVER_BATCH_SIZE: loss = div_no_nan(g, sum, num_elements(g, l), "value"); break;
        default: /* SUM_BY_NONZERO_WEIGHTS: TF counts every element when weights is the float 1.0 */
            loss = div_no_nan(g, sum, o->weights ? num_present(g, l, o->weights) : num_elements(g, l), "value");
            break;
        }
    }
    if (loss && tg_tensor_dtype(loss) != in_dtype) loss = tg_cast(g, loss, in_dtype, NULL);
    if (loss && o->loss_collection) tg_add_to_collection(g, o->loss_collection, TG_ITEM_OF_TENSOR(loss));
    return loss;
}

static bool shapes_compatible(const tg_shape *a, const tg_shape *b) {
    if (a->rank < 0 || b->rank < 0) return true;
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] >= 0 && b->dims[i] >= 0 && a->dims[i] != b->dims[i]) return false;
    return true;
}

static bool check_compatible(tg_graph *g, const char *who, tg_tensor *a, tg_tensor *b) {
    tg_shape sa = tg_tensor_shape(a), sb = tg_tensor_shape(b);
    if (shapes_compatible(&sa, &sb)) return true;
    char x[128], y[128];
    tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: Shapes %s and %s are incompatible", who, tg_shape_format(&sa, x, sizeof x),
                  tg_shape_format(&sb, y, sizeof y));
    return false;
}

static bool ready(tg_graph *g, tg_tensor *a, tg_tensor *b) { return tg_graph_status(g) == TG_OK && a && b; }

tg_tensor *tg_losses_softmax_cross_entropy(tg_graph *g, tg_tensor *onehot_labels, tg_tensor *logits,
                                           const tg_loss_opts *opts) {
    if (!ready(g, onehot_labels, logits)) return NULL;
    tg_loss_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_losses_softmax_cross_entropy", tg_loss_opts, TG_LOSS_OPTS_INIT, opts, o)) return NULL;
    if (!check_compatible(g, "softmax_cross_entropy_loss", logits, onehot_labels)) return NULL;
    if (o.label_smoothing < 0 || o.label_smoothing > 1) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "softmax_cross_entropy_loss: label_smoothing must be in [0, 1], got %g",
                      o.label_smoothing);
        return NULL;
    }
    tg_tensor *loss = NULL;
    TG_WITH_NAME_SCOPE(g, o.scope ? o.scope : "softmax_cross_entropy_loss") {
        tg_dtype dt = tg_tensor_dtype(logits);
        tg_tensor *labels = tg_cast(g, onehot_labels, dt, NULL);
        if (o.label_smoothing > 0) {
            tg_shape s = tg_tensor_shape(labels);
            tg_tensor *classes;
            if (s.rank > 0 && s.dims[s.rank - 1] >= 0) {
                classes = tg_constant_scalar(g, dt, (double)s.dims[s.rank - 1], NULL);
            } else {
                int64_t begin = s.rank - 1, size = 1;
                tg_tensor *last = tg_slice(g, tg_shape_of(g, labels, NULL), &begin, &size, 1, NULL);
                classes = tg_cast(g, tg_reshape(g, last, TG_SCALAR, NULL), dt, NULL);
            }
            tg_tensor *pos = tg_constant_scalar(g, dt, 1.0 - o.label_smoothing, NULL);
            tg_tensor *neg = tg_divide(g, tg_constant_scalar(g, dt, o.label_smoothing, NULL), classes, NULL);
            labels = tg_add(g, tg_multiply(g, labels, pos, NULL), neg, NULL);
        }
        labels = tg_stop_gradient(g, labels, "labels_stop_gradient");
        tg_tensor *losses = tg_nn_softmax_cross_entropy_with_logits_v2(g, labels, logits, "xentropy");
        if (losses) loss = weighted_loss(g, losses, &o);
    }
    return loss;
}

tg_tensor *tg_losses_sparse_softmax_cross_entropy(tg_graph *g, tg_tensor *labels, tg_tensor *logits,
                                                  const tg_loss_opts *opts) {
    if (!ready(g, labels, logits)) return NULL;
    tg_loss_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_losses_sparse_softmax_cross_entropy", tg_loss_opts, TG_LOSS_OPTS_INIT, opts, o)) return NULL;
    tg_tensor *loss = NULL;
    TG_WITH_NAME_SCOPE(g, o.scope ? o.scope : "sparse_softmax_cross_entropy_loss") {
        /* TF's _remove_squeezable_dimensions: labels [batch, 1] -> [batch],
         * then weights one rank above the labels lose their last dimension. */
        tg_shape ls = tg_tensor_shape(labels);
        if (ls.rank == 2 && ls.dims[1] == 1) labels = tg_squeeze(g, labels, (int[]){1}, 1, NULL);
        tg_loss_opts sq = o;
        if (o.weights) {
            tg_shape ws = tg_tensor_shape(o.weights);
            int lr = tg_tensor_shape(labels).rank;
            if (lr >= 0 && ws.rank == lr + 1) sq.weights = tg_squeeze(g, o.weights, (int[]){-1}, 1, NULL);
        }
        tg_tensor *losses = tg_nn_sparse_softmax_cross_entropy_with_logits(g, labels, logits, "xentropy");
        if (losses) loss = weighted_loss(g, losses, &sq);
    }
    return loss;
}

tg_tensor *tg_losses_mean_squared_error(tg_graph *g, tg_tensor *labels, tg_tensor *predictions, const tg_loss_opts *opts) {
    if (!ready(g, labels, predictions)) return NULL;
    tg_loss_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_losses_mean_squared_error", tg_loss_opts, TG_LOSS_OPTS_INIT, opts, o)) return NULL;
    if (!check_compatible(g, "mean_squared_error", predictions, labels)) return NULL;
    tg_tensor *loss = NULL;
    TG_WITH_NAME_SCOPE(g, o.scope ? o.scope : "mean_squared_error") {
        /* TF computes this loss in float32 whatever the inputs are */
        tg_tensor *p = tg_cast(g, predictions, TG_FLOAT32, NULL), *l = tg_cast(g, labels, TG_FLOAT32, NULL);
        tg_tensor *losses = tg_squared_difference(g, p, l, NULL);
        if (losses) loss = weighted_loss(g, losses, &o);
    }
    return loss;
}

tg_tensor *tg_losses_get_regularization_loss(tg_graph *g, const char *scope, const char *name) {
    if (tg_graph_status(g) != TG_OK) return NULL;
    tg_tensor **losses = NULL;
    int n = tg_get_collection_tensors(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, scope, &losses);
    tg_tensor *out = n > 0 ? tg_add_n(g, losses, n, name ? name : "total_regularization_loss")
                           : tg_constant_scalar(g, TG_FLOAT32, 0.0, NULL);
    tg_free(losses);
    return out;
}

tg_tensor *tg_losses_get_total_loss(tg_graph *g, bool add_regularization_losses, const char *name) {
    if (tg_graph_status(g) != TG_OK) return NULL;
    tg_tensor **a = NULL, **b = NULL;
    int na = tg_get_collection_tensors(g, TG_GRAPHKEYS_LOSSES, NULL, &a);
    int nb = add_regularization_losses ? tg_get_collection_tensors(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, NULL, &b) : 0;
    tg_tensor *out = NULL;
    if (na < 0 || nb < 0) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "get_total_loss: out of memory");
    } else if (na + nb == 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "get_total_loss: No losses to add (%s empty)",
                      add_regularization_losses ? "LOSSES and REGULARIZATION_LOSSES are" : "LOSSES is");
    } else {
        tg_tensor **list = malloc((size_t)(na + nb) * sizeof *list);
        if (list) {
            for (int i = 0; i < na; i++) list[i] = a[i];
            for (int i = 0; i < nb; i++) list[na + i] = b[i];
            out = tg_add_n(g, list, na + nb, name ? name : "total_loss");
            free(list);
        } else {
            tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "get_total_loss: out of memory");
        }
    }
    tg_free(a);
    tg_free(b);
    return out;
}
