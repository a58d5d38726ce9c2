/* tgraph/metrics.h: streaming metrics (tf.metrics) and
 * tf.local_variables_initializer.
 *
 * A metric keeps its running state in local variables ("<scope>/total",
 * "<scope>/count": float32 scalars starting at 0, not trainable, in
 * LOCAL_VARIABLES and METRIC_VARIABLES, never in GLOBAL_VARIABLES, so
 * tg_global_variables_initializer and a Saver leave them alone; initialize
 * them with tg_local_variables_initializer). It returns two tensors, as TF:
 * the value (reads the state) and the update op (adds a batch to the state
 * and returns the new value). Run the update op once per batch, then fetch
 * the value. Re-running the local initializer resets the metric. */
#ifndef TGRAPH_METRICS_H
#define TGRAPH_METRICS_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tf.GraphKeys.METRIC_VARIABLES, with TF's string value. */
#define TG_GRAPHKEYS_METRIC_VARIABLES "metric_variables"

/* tf.metrics.mean(values, weights=None, metrics_collections=None,
 * updates_collections=None, name=None): the (weighted) mean of every value
 * seen so far. Built as TF 1.15 does, in variable scope "mean" (or name,
 * uniquified as TF's default_name: "mean_1", ...): values cast to float32;
 * without weights, total += sum(values) and count += size(values); with
 * weights (any numeric dtype, cast to float32; a trailing dimension of 1
 * squeezed or added to match values' rank, then broadcast to values' shape),
 * total += sum(values * weights) and count += sum(weights). *value is
 * DivNoNan "<scope>/value" = total / max(count, 0) (0 before any update),
 * *update_op the DivNoNan "<scope>/update_op" of the updated total and
 * count. The count's AssignAdd runs after values are computed (TF's control
 * dependency). value is added to each of metrics_collections[0..n) and
 * update_op to each of updates_collections[0..n) (NULL and 0: none).
 * Ownership: the caller's arrays are only read; the tensors and variables
 * are the graph's. Returns TG_OK, or the graph's error code with both
 * outputs NULL and nothing added. Errors (sticky): INVALID_ARGUMENT naming
 * the metric's name (or "mean") for NULL outputs, a collections list and
 * count that disagree, or weights that cannot be broadcast to values
 * ("weights can not be broadcast to values. values.rank=2. weights.rank=2.
 * values.shape=(2, 3). weights.shape=(2, 2)."). Shapes known only at run
 * time are checked by the Mul then (TF adds an assert). */
TG_API tg_code tg_metrics_mean(tg_graph *g, tg_tensor *values, tg_tensor *weights,
                               const char *const *metrics_collections, int n_metrics_collections,
                               const char *const *updates_collections, int n_updates_collections, const char *name,
                               tg_tensor **value, tg_tensor **update_op);

/* tf.metrics.accuracy(labels, predictions, weights=None, ...): how often
 * predictions equal labels, as TF: a trailing dimension of 1 on one side is
 * squeezed when the ranks differ by one (TF's remove_squeezable_dimensions),
 * predictions cast to labels' dtype when they differ, then
 * tg_metrics_mean of float32(predictions == labels) with the weights, in
 * variable scope "accuracy" (or name): variables "accuracy/total" and
 * "accuracy/count", *value "accuracy/value", *update_op
 * "accuracy/update_op". Ownership, returns and collections: as
 * tg_metrics_mean. Errors (sticky, nothing added): as tg_metrics_mean
 * naming "accuracy" (or name), and INVALID_ARGUMENT for shapes that do not
 * match ("Shapes (3,) and (4,) are incompatible"). */
TG_API tg_code tg_metrics_accuracy(tg_graph *g, tg_tensor *labels, tg_tensor *predictions, tg_tensor *weights,
                                   const char *const *metrics_collections, int n_metrics_collections,
                                   const char *const *updates_collections, int n_updates_collections,
                                   const char *name, tg_tensor **value, tg_tensor **update_op);

/* tf.local_variables_initializer(): tg_variables_initializer over
 * LOCAL_VARIABLES as it is now, a NoOp named "init" (uniquified: "init_1"
 * next to the global one); a plain NoOp when there are none. Ownership: the
 * graph's. Errors: NULL for a NULL graph or one in error; sticky
 * RESOURCE_EXHAUSTED when out of memory. */
TG_API tg_op *tg_local_variables_initializer(tg_graph *g);

#ifdef __cplusplus
}
#endif
#endif
