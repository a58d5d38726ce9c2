/* tgraph/losses.h: tf.losses and the contrib regularizers. Clients of the
 * public API like any user code (src/layers). Error model as in array_ops.h. */
#ifndef TGRAPH_LOSSES_H
#define TGRAPH_LOSSES_H

#include "base.h"
#include "graph.h" /* TG_GRAPHKEYS_LOSSES */
#include "variables.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tf.losses.Reduction. */
typedef enum tg_reduction {
    TG_REDUCTION_SUM_BY_NONZERO_WEIGHTS = 0, /* TF 1.x default */
    TG_REDUCTION_NONE,
    TG_REDUCTION_SUM,
    TG_REDUCTION_MEAN,
    TG_REDUCTION_SUM_OVER_BATCH_SIZE
} tg_reduction;

/* Start from TG_LOSS_OPTS_INIT (base.h explains why), or pass NULL. */
typedef struct tg_loss_opts {
    unsigned tg__init;         /* set by TG_LOSS_OPTS_INIT only */
    const char *scope;         /* name scope; default as TF per loss */
    tg_tensor *weights;        /* NULL: 1.0 (TF's weights=1.0); must broadcast to the losses */
    double label_smoothing;    /* softmax_cross_entropy only */
    /* Collection the loss is added to; default LOSSES; NULL: none (TF's None). */
    const char *loss_collection;
    tg_reduction reduction;
} tg_loss_opts;
#define TG__TAG_tg_loss_opts 0x816b1c8fu /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_loss_opts .tg__init = TG__TAG_tg_loss_opts, .loss_collection = TG_GRAPHKEYS_LOSSES
#define TG_LOSS_OPTS_INIT {TG__DEFAULTS_tg_loss_opts}

/* tf.losses.softmax_cross_entropy(onehot_labels, logits, weights,
 * label_smoothing): in scope "softmax_cross_entropy_loss"; the result (a
 * scalar unless reduction is NONE) is added to LOSSES. */
TG_API tg_tensor *tg_losses_softmax_cross_entropy(tg_graph *g, tg_tensor *onehot_labels, tg_tensor *logits,
                                                  const tg_loss_opts *opts);
/* tf.losses.sparse_softmax_cross_entropy(labels, logits, weights): scope
 * "sparse_softmax_cross_entropy_loss". */
TG_API tg_tensor *tg_losses_sparse_softmax_cross_entropy(tg_graph *g, tg_tensor *labels, tg_tensor *logits,
                                                         const tg_loss_opts *opts);
/* tf.losses.mean_squared_error(labels, predictions, weights): scope
 * "mean_squared_error". labels are cast to the predictions' dtype. */
TG_API tg_tensor *tg_losses_mean_squared_error(tg_graph *g, tg_tensor *labels, tg_tensor *predictions,
                                               const tg_loss_opts *opts);

/* tf.losses.get_regularization_loss(scope, name="total_regularization_loss"):
 * the sum of REGULARIZATION_LOSSES (filtered by scope), or a float32 0.0
 * Const when there are none. */
TG_API tg_tensor *tg_losses_get_regularization_loss(tg_graph *g, const char *scope, const char *name);
/* tf.losses.get_total_loss(add_regularization_losses=True, name="total_loss"):
 * AddN over LOSSES (and REGULARIZATION_LOSSES). Errors: INVALID_ARGUMENT "No
 * losses to add" when both are empty. */
TG_API tg_tensor *tg_losses_get_total_loss(tg_graph *g, bool add_regularization_losses, const char *name);

/* tf.contrib.layers.l1_regularizer(scale), l2_regularizer(scale) and
 * l1_l2_regularizer(scale_l1, scale_l2): values for the regularizer fields
 * of tg_get_variable_opts and the layers. The losses are scale * sum(|w|),
 * scale * l2_loss(w) (= scale * sum(w^2) / 2) and their sum. A scale of 0 gives
 * a regularizer that adds nothing, as TF. */
TG_API tg_regularizer tg_layers_l1_regularizer(double scale);
TG_API tg_regularizer tg_layers_l2_regularizer(double scale);
TG_API tg_regularizer tg_layers_l1_l2_regularizer(double scale_l1, double scale_l2);

#ifdef __cplusplus
}
#endif
#endif
