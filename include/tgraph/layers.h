/* tgraph/layers.h: tf.contrib.layers' functional layers (fully_connected,
 * conv2d, flatten, max_pool2d, avg_pool2d, dropout) with TF 1.15's
 * arguments, defaults, scopes, variable names and collections.
 *
 * Every layer follows the graph's error model (array_ops.h): a NULL or
 * erroneous graph, or NULL inputs, gives NULL and adds nothing; a layer that
 * rejects its arguments (rank, unknown channel count, dtype, sizes) records
 * the error before it opens its scope and leaves nothing behind. Errors
 * found while building (a variable that already exists, reuse without a
 * scope, an op's own checks, a normalizer or activation that fails) are
 * sticky and give NULL, and the layer is undone: every op, variable,
 * collection item and name it had added is removed (TF leaves them; here
 * a corrected retry after tg_graph_clear_status builds the same names).
 * Inside a tg_cond branch what was built stays, as in TF. Options are read
 * during the call only; the returned tensor belongs to the graph.
 *
 * Variables of fully_connected and conv2d are contrib "model variables":
 * "<scope>/weights" and "<scope>/biases" in GLOBAL_VARIABLES and
 * MODEL_VARIABLES, in TRAINABLE_VARIABLES when trainable, and in the
 * variables_collections given. Their regularizers run once, when the
 * variable is created, in name scope "<scope>/kernel/Regularizer/" (and
 * ".../bias/Regularizer/"), as TF's core layers name them, and the loss goes
 * to REGULARIZATION_LOSSES. */
#ifndef TGRAPH_LAYERS_H
#define TGRAPH_LAYERS_H

#include "base.h"
#include <math.h> /* INFINITY in TG_RENORM_CLIPPING_INIT */

#include "nn_ops.h"
#include "variables.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel sizes, strides and rates are (height, width) pairs, int[2] as in
 * tf_layers.h. TG_KERNEL(5, 5) spells a kernel_size argument in place; in
 * option fields ({.stride = {2, 2}}) a 0 component means the layer's
 * default for it (TF has no meaning for a 0 stride or rate), except that a
 * lone first component stands for both, as TF's int form: `.stride = {2}`
 * (which C stores as {2, 0}) is (2, 2). */
#define TG_KERNEL(h_, w_) ((const int[2]){(h_), (w_)})
/* The same pair for a strides (or pool_size) argument, so a call reads as
 * TF's: tg_tf_layers_max_pooling2d(g, x, TG_KERNEL(2, 2), TG_STRIDES(2, 2), NULL). */
#define TG_STRIDES(h_, w_) ((const int[2]){(h_), (w_)})

/* An activation: tg_nn_relu, tg_nn_relu6, tg_nn_elu, tg_sigmoid, tg_tanh,
 * tg_nn_softplus or your own; NULL is TF's None (no activation). Layers call it with name NULL
 * inside their scope ("fully_connected/Relu"). */
typedef tg_tensor *(*tg_layers_activation_fn)(tg_graph *g, tg_tensor *x, const char *name);

/* A normalizer (TF's normalizer_fn): called as fn(g, x, normalizer_params)
 * inside the layer's variable scope, so its variables are named
 * "<scope>/BatchNorm/..." when it opens scope "BatchNorm" (contrib
 * batch_norm). It returns the normalized tensor, or NULL with the graph's
 * error set. */
typedef tg_tensor *(*tg_layers_normalizer_fn)(tg_graph *g, tg_tensor *x, const void *params);

/* The identity activation: returns x itself and adds no op (NULL when g is
 * NULL or in error). Same as activation_fn = NULL. */
TG_API tg_tensor *tg_linear(tg_graph *g, tg_tensor *x, const char *name);

/* The initializers behind the contrib layers' defaults (TF's
 * initializers.xavier_initializer() and init_ops.zeros_initializer()), so
 * that TG_LAYERS_FC_OPTS_INIT can point at them. */
TG_API extern const tg_initializer tg_layers_xavier_initializer;
TG_API extern const tg_initializer tg_layers_zeros_initializer;

/* ---- fully_connected ---------------------------------------------------------- */

/* Start from TG_LAYERS_FC_OPTS_INIT (base.h explains why). */
typedef struct tg_layers_fc_opts {
    unsigned tg__init; /* set by TG_LAYERS_FC_OPTS_INIT only */
    /* Variable scope; NULL: "fully_connected" made unique
     * ("fully_connected_1", ...). Ops are named "<scope>/MatMul",
     * "<scope>/BiasAdd", "<scope>/Relu". */
    const char *scope;
    /* Default tg_nn_relu; NULL: none (TF's None). */
    tg_layers_activation_fn activation_fn;
    /* NULL: none. When set, no biases are created (biases_initializer and
     * biases_regularizer are ignored) and the normalizer runs on the linear
     * output, before the activation. normalizer_params is passed through
     * as given (NULL for TF's normalizer_params=None, so a normalizer takes
     * NULL as its defaults). */
    tg_layers_normalizer_fn normalizer_fn;
    const void *normalizer_params;
    /* Default xavier (glorot uniform); NULL (TF's None): the enclosing
     * variable scope's initializer, else glorot uniform. */
    const tg_initializer *weights_initializer;
    tg_regularizer weights_regularizer; /* fn NULL: none */
    /* Default zeros; NULL (TF's None): no biases. */
    const tg_initializer *biases_initializer;
    tg_regularizer biases_regularizer; /* fn NULL: none */
    /* TG_REUSE_TRUE or TG_AUTO_REUSE share "<scope>/weights" and "<scope>/biases"
     * with an earlier layer of the same scope; they need a scope. */
    tg_reuse reuse;
    /* TF's variables_collections as a list: extra collections for every
     * variable. TF's dict form {"weights": [...], "biases": [...]} is
     * weights_collections / biases_collections (added to the list's). */
    const char *const *variables_collections;
    int n_variables_collections;
    const char *const *weights_collections;
    int n_weights_collections;
    const char *const *biases_collections;
    int n_biases_collections;
    /* Collections that get the output tensor (NULL: none). */
    const char *const *outputs_collections;
    int n_outputs_collections;
    bool trainable; /* default true */
} tg_layers_fc_opts;
#define TG__TAG_tg_layers_fc_opts 0xf3edd203u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_layers_fc_opts \
    .tg__init = TG__TAG_tg_layers_fc_opts, .activation_fn = tg_nn_relu, \
    .weights_initializer = &tg_layers_xavier_initializer, \
    .biases_initializer = &tg_layers_zeros_initializer, .trainable = true
#define TG_LAYERS_FC_OPTS_INIT {TG__DEFAULTS_tg_layers_fc_opts}

/* tf.contrib.layers.fully_connected(inputs, num_outputs, ...):
 * outputs = activation(normalizer(inputs @ weights) or inputs @ weights + biases).
 * inputs has rank >= 2 with a known last dimension; float32 or float64
 * (the variables take its dtype). weights [in, num_outputs], biases
 * [num_outputs]. Inputs of rank > 2 are contracted on their last axis
 * (TF 1.15's tensordot, ops "<scope>/Tensordot/...", output
 * "<scope>/Tensordot"). opts may be NULL.
 * Ownership: the result belongs to the graph; opts is only read.
 * Errors (INVALID_ARGUMENT, TF's texts): num_outputs < 0; "Input 0 of
 * layer fully_connected is incompatible with the layer: expected min_ndim=2,
 * found ndim=1. ..."; "The last dimension of the inputs to `Dense` should be
 * defined. Found `None`."; "Unable to build `Dense` layer with non-floating
 * point dtype int32"; "reuse=True cannot be used without a name_or_scope";
 * tg_get_variable's "already exists" / "does not exist" errors. */
TG_API tg_tensor *tg_layers_fully_connected(tg_graph *g, tg_tensor *inputs, int num_outputs,
                                            const tg_layers_fc_opts *opts);

/* ---- conv2d --------------------------------------------------------------------- */

/* Start from TG_LAYERS_CONV2D_OPTS_INIT (base.h explains why). */
typedef struct tg_layers_conv2d_opts {
    unsigned tg__init; /* set by TG_LAYERS_CONV2D_OPTS_INIT only */
    /* Variable scope; NULL: "Conv" made unique ("Conv_1", ...). Ops are
     * "<scope>/Conv2D", "<scope>/BiasAdd", "<scope>/Relu". */
    const char *scope;
    int stride[2];              /* default (1, 1) */
    tg_padding padding;         /* 0: SAME (contrib's default) */
    tg_data_format data_format; /* default NHWC; NCHW too */
    int rate[2];                /* dilation, default (1, 1); not with a stride > 1 */
    /* The rest as in tg_layers_fc_opts. */
    tg_layers_activation_fn activation_fn;
    tg_layers_normalizer_fn normalizer_fn;
    const void *normalizer_params;
    const tg_initializer *weights_initializer;
    tg_regularizer weights_regularizer;
    const tg_initializer *biases_initializer;
    tg_regularizer biases_regularizer;
    tg_reuse reuse;
    const char *const *variables_collections;
    int n_variables_collections;
    const char *const *weights_collections;
    int n_weights_collections;
    const char *const *biases_collections;
    int n_biases_collections;
    const char *const *outputs_collections;
    int n_outputs_collections;
    bool trainable;
} tg_layers_conv2d_opts;
#define TG__TAG_tg_layers_conv2d_opts 0x22d5ba49u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_layers_conv2d_opts \
    .tg__init = TG__TAG_tg_layers_conv2d_opts, .activation_fn = tg_nn_relu, \
    .weights_initializer = &tg_layers_xavier_initializer, \
    .biases_initializer = &tg_layers_zeros_initializer, .trainable = true
#define TG_LAYERS_CONV2D_OPTS_INIT {TG__DEFAULTS_tg_layers_conv2d_opts}

/* tf.contrib.layers.conv2d(inputs, num_outputs, kernel_size, stride,
 * padding, data_format, rate, ...) (contrib's convolution with
 * conv_dims=2): a Conv2D of a rank-4 float input with weights
 * [kh, kw, in_channels, num_outputs], then biases [num_outputs] (BiasAdd in
 * the data format) or the normalizer, then the activation. opts may be NULL.
 * Ownership: as tg_layers_fully_connected.
 * Errors (INVALID_ARGUMENT): "Convolution expects input with rank 4, got 3";
 * "Invalid data_format: ..."; "The channel dimension of the inputs should
 * be defined. Found `None`."; a kernel size, stride or rate that is not
 * positive; "strides > 1 not supported in conjunction with dilation_rate > 1";
 * a NULL kernel_size; a padding other than SAME or VALID; a non-float
 * input; then as tg_layers_fully_connected and tg_nn_conv2d (e.g. a VALID
 * window larger than the input). Dilated convolutions use Conv2D's dilations attr, where
 * TF 1.15 builds SpaceToBatchND / Conv2D / BatchToSpaceND: same values,
 * other op names. */
TG_API tg_tensor *tg_layers_conv2d(tg_graph *g, tg_tensor *inputs, int num_outputs, const int kernel_size[2],
                                   const tg_layers_conv2d_opts *opts);

/* ---- flatten -------------------------------------------------------------------- */

typedef struct tg_layers_flatten_opts {
    const char *scope; /* name scope; NULL: "Flatten" made unique */
    const char *const *outputs_collections;
    int n_outputs_collections;
} tg_layers_flatten_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_layers_flatten_opts .scope = NULL

/* tf.contrib.layers.flatten(inputs): [batch, ...] to [batch, k], built as
 * TF 1.15's Flatten layer in "<scope>/flatten/" ("Flatten/flatten/Reshape").
 * k is the product of the other dimensions (a rank-1 input gives
 * [batch, 1]); with unknown inner dimensions and batch, the shape is read
 * when the op runs. opts may be NULL.
 * Errors (INVALID_ARGUMENT): unknown rank ("as_list() is not defined on an
 * unknown TensorShape."), a scalar ("... expected min_ndim=1, found ndim=0"). */
TG_API tg_tensor *tg_layers_flatten(tg_graph *g, tg_tensor *inputs, const tg_layers_flatten_opts *opts);

/* ---- max_pool2d / avg_pool2d ---------------------------------------------------- */

typedef struct tg_layers_pool2d_opts {
    /* Name scope; NULL: "MaxPool2D" / "AvgPool2D" made unique. The op is
     * "<scope>/MaxPool" / "<scope>/AvgPool". */
    const char *scope;
    int stride[2];              /* default (2, 2) */
    tg_padding padding;         /* 0: VALID (contrib's default) */
    tg_data_format data_format; /* default NHWC; NCHW too */
    const char *const *outputs_collections;
    int n_outputs_collections;
} tg_layers_pool2d_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_layers_pool2d_opts .scope = NULL

/* tf.contrib.layers.max_pool2d(inputs, kernel_size, stride=2,
 * padding='VALID', data_format='NHWC') and avg_pool2d: tg_nn_max_pool /
 * tg_nn_avg_pool over the spatial dimensions of a rank-4 input. opts may
 * be NULL. Errors (INVALID_ARGUMENT): "data_format has to be either NCHW or
 * NHWC."; a rank other than 4 ("Input 0 of layer max_pooling2d is
 * incompatible with the layer: expected ndim=4, found ndim=3. ..."); a
 * NULL kernel_size, a kernel size or stride that is not positive; then the
 * pooling op's own. */
TG_API tg_tensor *tg_layers_max_pool2d(tg_graph *g, tg_tensor *inputs, const int kernel_size[2],
                                       const tg_layers_pool2d_opts *opts);
TG_API tg_tensor *tg_layers_avg_pool2d(tg_graph *g, tg_tensor *inputs, const int kernel_size[2],
                                       const tg_layers_pool2d_opts *opts);

/* ---- dropout -------------------------------------------------------------------- */

/* Start from TG_LAYERS_DROPOUT_OPTS_INIT (base.h explains why). */
typedef struct tg_layers_dropout_opts {
    unsigned tg__init;         /* set by TG_LAYERS_DROPOUT_OPTS_INIT only */
    const char *scope;         /* variable scope; NULL: "Dropout" made unique */
    double keep_prob;          /* default 0.5 */
    /* Whether dropout applies: true (TF's default) yes; false: the input
     * through an Identity ("Dropout/Identity"). is_training_t, a bool
     * scalar tensor, decides at run time instead. */
    bool is_training;
    tg_tensor *is_training_t;
    int64_t seed;              /* TG_NO_SEED: TF's seed=None (default) */
    const char *const *outputs_collections;
    int n_outputs_collections;
} tg_layers_dropout_opts;
#define TG__TAG_tg_layers_dropout_opts 0x1afcd4bfu /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_layers_dropout_opts \
    .tg__init = TG__TAG_tg_layers_dropout_opts, .keep_prob = 0.5, .is_training = true, .seed = TG_NO_SEED
#define TG_LAYERS_DROPOUT_OPTS_INIT {TG__DEFAULTS_tg_layers_dropout_opts}

/* tf.contrib.layers.dropout(inputs, keep_prob=0.5, is_training=True,
 * seed=None): tg_nn_dropout with rate 1 - keep_prob in "<scope>/dropout/"
 * when training, else the identity. noise_shape and a tensor keep_prob are
 * not supported. opts may be NULL.
 * Errors (INVALID_ARGUMENT): when dropout may apply, "rate must be a scalar
 * tensor or a float in the range [0, 1), got 1" (keep_prob outside (0, 1]),
 * a non-float input, an is_training_t that is not a bool scalar. */
TG_API tg_tensor *tg_layers_dropout(tg_graph *g, tg_tensor *inputs, const tg_layers_dropout_opts *opts);

/* ---- batch_norm ----------------------------------------------------------------- */

/* {UPDATE_OPS}: batch_norm's default updates_collections. */
TG_API extern const char *const tg_layers_update_ops_collections[1];

/* TF's param_initializers dict: a zeroed field (kind TG_INIT_DEFAULT) is the
 * key's default, zeros for beta and moving_mean, ones for gamma and
 * moving_variance. */
typedef struct tg_layers_batch_norm_initializers {
    tg_initializer beta, gamma, moving_mean, moving_variance;
} tg_layers_batch_norm_initializers;

/* TF's param_regularizers dict (fn NULL: none). */
typedef struct tg_layers_batch_norm_regularizers {
    tg_regularizer beta, gamma;
} tg_layers_batch_norm_regularizers;

/* TF's renorm_clipping dict {'rmax', 'rmin', 'dmax'}, for contrib and
 * tf.layers alike. TG_RENORM_CLIPPING_INIT is the empty dict (rmax inf,
 * rmin 0, dmax inf: no clipping); set the keys you want after it. A struct
 * not started from it is refused, since a zeroed dmax would clip d to 0. */
typedef struct tg_renorm_clipping {
    unsigned tg__init; /* set by TG_RENORM_CLIPPING_INIT only */
    double rmax, rmin, dmax;
} tg_renorm_clipping;
#define TG__TAG_tg_renorm_clipping 0x571e90d7u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_renorm_clipping \
    .tg__init = TG__TAG_tg_renorm_clipping, .rmax = INFINITY, .rmin = 0.0, .dmax = INFINITY
#define TG_RENORM_CLIPPING_INIT {TG__DEFAULTS_tg_renorm_clipping}

/* The arguments of tf.contrib.layers.batch_norm (TF 1.15); start from
 * TG_LAYERS_BATCH_NORM_OPTS_INIT (base.h explains why) or pass NULL. */
typedef struct tg_layers_batch_norm_opts {
    unsigned tg__init;             /* set by TG_LAYERS_BATCH_NORM_OPTS_INIT only */
    double decay;                  /* default 0.999 (the weight of the old value) */
    bool center;                   /* default true: beta */
    bool scale;                    /* default false: no gamma */
    double epsilon;                /* default 0.001 */
    tg_layers_activation_fn activation_fn; /* NULL: none (TF's default None) */
    tg_layers_batch_norm_initializers param_initializers;
    /* Honoured by the fused path and the core-layer path; ignored by the
     * legacy path (as TF). */
    tg_layers_batch_norm_regularizers param_regularizers;
    /* Where the two update ops go (n_updates_collections entries). Default {UPDATE_OPS}
     * (tg_layers_update_ops_collections; any one-element list
     * {"update_ops"} counts as the default too); NULL (any count): TF's None, the
     * moving statistics are updated in place (the output depends on the
     * update ops through a control dependency); another list: those
     * collections. */
    const char *const *updates_collections;
    int n_updates_collections;
    /* true (TF's default): batch statistics and updates; false: moving
     * statistics, no update ops. is_training_t, a
     * bool scalar tensor (e.g. a placeholder_with_default), decides at run
     * time instead and wins when set (a constant one is folded, as TF's
     * smart_cond). On the fused and legacy paths it goes through TF's
     * smart_cond, i.e. tg_cond, where contrib calls it: fused, "<scope>/cond"
     * holds the training and inference kernels
     * ("<scope>/cond/FusedBatchNormV3", "..._1") and "<scope>/cond_1" the
     * updates ("<scope>/cond_1/AssignMovingAvg", "..._1"); legacy, the
     * moments are computed outside, "<scope>/cond" holds the updates and,
     * with updates_collections, "<scope>/cond_1" picks batch or moving
     * statistics. updates_collections then get the cond's Merge outputs
     * ("<scope>/cond_1/Merge", "..._1" fused; "<scope>/cond/Merge", "..._1"
     * legacy). Only the taken branch runs: a run where it is false executes
     * one FusedBatchNormV3 and skips every update op (tg_session_trace_skipped),
     * so no variable changes. The core-layer path handles it as
     * tg_tf_layers_batch_normalization does. */
    bool is_training;
    tg_tensor *is_training_t;
    /* TG_REUSE_TRUE / TG_AUTO_REUSE share the variables of an earlier call
     * with the same scope (TRUE needs a scope). */
    tg_reuse reuse;
    /* TF's variables_collections: the list applies to all four variables;
     * TF's dict form is the per-variable lists (added to the list's). */
    const char *const *variables_collections;
    int n_variables_collections;
    const char *const *beta_collections;
    int n_beta_collections;
    const char *const *gamma_collections;
    int n_gamma_collections;
    const char *const *moving_mean_collections;
    int n_moving_mean_collections;
    const char *const *moving_variance_collections;
    int n_moving_variance_collections;
    /* Collections that get the output tensor (NULL: none). */
    const char *const *outputs_collections;
    int n_outputs_collections;
    bool trainable;                /* default true: beta and gamma trainable */
    /* [batch] frequency weights (weighted moments); forces the legacy path. */
    tg_tensor *batch_weights;
    bool fused;                    /* default true (contrib turns TF's None into True) */
    tg_data_format data_format;    /* default NHWC; NCHW too */
    bool zero_debias_moving_mean;  /* default false */
    const char *scope;             /* NULL: "BatchNorm" made unique */
    bool renorm;                   /* default false */
    tg_renorm_clipping renorm_clipping; /* default TG_RENORM_CLIPPING_INIT */
    double renorm_decay;           /* default 0.99 */
    /* hvd.SyncBatchNormalization: when training, the batch mean and
     * variance are those of every MPI rank's batch together (one allreduce
     * of [sum, sum of squares, count] per layer and step), so ranks with
     * local batches of B normalize as one process with the whole batch.
     * Default false. Needs tgraph built with MPI (tgraph/mpi.h) and its
     * runs tg_mpi_init; see tg_layers_batch_norm. */
    bool sync;
} tg_layers_batch_norm_opts;
#define TG__TAG_tg_layers_batch_norm_opts 0x7fe9ac5bu /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_layers_batch_norm_opts \
    .tg__init = TG__TAG_tg_layers_batch_norm_opts, .decay = 0.999, .center = true, .epsilon = 0.001, \
    .updates_collections = tg_layers_update_ops_collections, .n_updates_collections = 1, \
    .is_training = true, .trainable = true, .fused = true, .renorm_clipping = TG_RENORM_CLIPPING_INIT, \
    .renorm_decay = 0.99
#define TG_LAYERS_BATCH_NORM_OPTS_INIT {TG__DEFAULTS_tg_layers_batch_norm_opts}

/* tf.contrib.layers.batch_norm(inputs, decay, center, scale, epsilon, ...)
 * (TF 1.15), inside variable scope `scope` (default "BatchNorm" made
 * unique: "BatchNorm", "BatchNorm_1", ...; "Conv/BatchNorm" as the
 * normalizer of a conv2d). opts may be NULL. It dispatches as TF (fused
 * NULL counts as true, rank the static rank):
 *   fused, no batch_weights, no renorm, rank 2 or 4, and (zero_debias or
 *   rank 2 or custom/in-place updates_collections)   -> the fused path;
 *   else no batch_weights, updates in UPDATE_OPS, no zero_debias
 *                                                    -> the core-layer path;
 *   else                                             -> the legacy path.
 * Variables "<scope>/beta" (center), "<scope>/gamma" (scale),
 * "<scope>/moving_mean", "<scope>/moving_variance", shape [C] (C = last
 * dimension, or dimension 1 for NCHW), in GLOBAL_VARIABLES and
 * MODEL_VARIABLES (beta and gamma also in TRAINABLE_VARIABLES when
 * trainable), plus variables_collections. With zero_debias_moving_mean,
 * "<scope>/<scope>/moving_mean/biased" and ".../local_step" (GLOBAL; also
 * MODEL on the legacy path).
 * Training: normalizes with the batch mean and biased variance; the update
 * ops moving -= (moving - stat) * (1 - decay) ("<scope>/AssignMovingAvg",
 * "..._1") receive the batch mean and the variance TF uses: the Bessel-
 * corrected one (n / (n - 1), n = elements per channel) on the fused
 * paths, the biased one otherwise. They are appended (mean, then variance)
 * to updates_collections, or run in place with updates_collections NULL.
 * Inference: the moving statistics, no update ops.
 * Path specifics (as TF): the fused path keeps float32 variables (float64
 * input gets float64 variables and kernel: TF 1.15 has no float64 fused
 * kernel and raises instead), reshapes a rank-2 input to [-1, 1, 1, C]
 * ("<scope>/Reshape") and back, and uses constants for a missing beta or
 * gamma; the core-layer path creates gamma before beta, applies
 * variables_collections after the call and, when not trainable, puts no
 * update ops in UPDATE_OPS (they are built but never run); the legacy path
 * uses the input's dtype, ignores param_regularizers and supports
 * batch_weights ([batch], weighted moments). epsilon is raised to 1.001e-5
 * on fused kernels only.
 * Renorm (core-layer path only; TF 1.15's batch renormalization, see
 * tg_tf_layers_batch_normalization_new): never fused; variables also
 * "<scope>/moving_stddev", "<scope>/renorm_mean", "<scope>/renorm_stddev"
 * (GLOBAL and MODEL, not trainable, not given variables_collections); with
 * s = sqrt(var + epsilon) the output is ((x - mean) / s * r + d) * gamma +
 * beta, r = s / max(renorm_stddev, sqrt(epsilon)) and d = (mean -
 * renorm_mean) / max(renorm_stddev, sqrt(epsilon)) clipped per
 * renorm_clipping (r = 1, d = 0 in inference); UPDATE_OPS gets
 * "<scope>/AssignMovingAvg_2" (moving_mean, decay) and
 * "<scope>/AssignNewValue" (moving_variance = max(moving_stddev^2 -
 * epsilon, 0) after moving_stddev's average of s, decay), which first move
 * renorm_mean and renorm_stddev (renorm_decay).
 * Sync (hvd.SyncBatchNormalization): always the legacy path's composition
 * (the fused kernel sees one rank's batch only), with the batch moments
 * taken over all ranks in "<scope>/sync_moments" (a HorovodAllreduce of
 * [sum, sum of squares, count] per channel): mean = S / N, variance
 * SS / N - mean^2, and the moving variance fed the Bessel-corrected
 * variance on the global count, N / (N - 1), as the fused path does. The
 * gradient spans the ranks (the allreduce's gradient is an allreduce), so
 * with tg_mpi_distributed_optimizer and equal local batches a step equals
 * one process's step on the whole batch. Every rank must build and run the
 * layer in the same order (tgraph/mpi.h, Ordering). A static
 * is_training false builds no collective; a run-time is_training_t runs
 * the allreduce on every run (the legacy path takes the moments outside
 * its cond), so every rank must run the layer either way.
 * Ownership: the result belongs to the graph; opts is only read.
 * Errors (INVALID_ARGUMENT, TF's texts, before the scope is opened unless
 * noted): UNIMPLEMENTED "batch_norm: sync=True needs tgraph built with
 * MPI" when the MPI part was not built; "batch_norm: sync=True does not
 * support renorm" / "... batch_weights"; "data_format has to be either NCHW or NHWC."; "Inputs x:0 has
 * undefined rank." (legacy) / "Input has undefined rank: None" (core
 * layer, in tf.layers BatchNormalization's words); "Inputs x:0 has undefined channels dimension (?,)." (legacy),
 * "Inputs x:0 has undefined `C` dimension (?,)." / "`C` dimension must be
 * known but is None" (fused), "Input has undefined `axis` dimension. Input
 * shape: [2, None]" (core layer); a rank below 2; "renorm is not supported
 * with batch_weights, updates_collections or zero_debias_moving_mean";
 * batch_weights not [batch] ("Shapes (4,) and (3,) are incompatible");
 * a non-float input; an is_training_t that is not a bool scalar; "reuse=True
 * cannot be used without a name_or_scope"; tg_get_variable's "already
 * exists" / "does not exist" (sticky, after the scope opened); the core
 * layer's errors (sticky, after the scope opened), e.g. UNIMPLEMENTED for
 * renorm with a random moving_variance initializer. */
TG_API tg_tensor *tg_layers_batch_norm(tg_graph *g, tg_tensor *inputs, const tg_layers_batch_norm_opts *opts);

/* tg_layers_batch_norm as a tg_layers_normalizer_fn: params is a
 * const tg_layers_batch_norm_opts * (NULL: TF's defaults), e.g.
 * {.normalizer_fn = tg_layers_batch_norm_fn, .normalizer_params = &bn}. */
TG_API tg_tensor *tg_layers_batch_norm_fn(tg_graph *g, tg_tensor *inputs, const void *params);

/* ---- what each batch-norm layer does (a teaching aid; TF has none) -------
 *
 * Every batch-norm builder (tg_layers_batch_norm on all its paths, the
 * tf.layers and Keras BatchNormalization layers, renorm included) leaves a
 * record of each application on its graph, read by the two functions below
 * and by the lints the builders add to the graph (tg_graph_add_lint, see
 * docs/teaching.md): "batch_norm_training_at_eval" (a run that trains no
 * variable executes a layer in training mode) and "bn_decay" (a session's
 * evaluation run uses moving statistics still mostly their initial value). */

/* Where a layer's moving-average updates go. */
typedef enum tg_bn_updates {
    /* None run: training decided false when built, or a tf.layers layer
     * built with trainable false (TF puts no update op in UPDATE_OPS then). */
    TG_BN_UPDATES_NONE = 0,
    /* contrib's updates_collections NULL: they run with every run that
     * computes the output. */
    TG_BN_UPDATES_IN_PLACE,
    /* Appended to collection(s) (UPDATE_OPS by default): they run only in
     * runs that depend on them (the train op's control dependencies). */
    TG_BN_UPDATES_COLLECTION,
    /* Keras layers: only in tg_layer_updates, in no collection. */
    TG_BN_UPDATES_LAYER,
} tg_bn_updates;

/* One application of a batch-norm layer (a layer called twice has two;
 * they share variables). Pointers are owned by the graph. */
typedef struct tg_batch_norm_info {
    /* The application's name scope without '/': "BatchNorm",
     * "conv1/BatchNorm", "batch_normalization_1". */
    const char *name;
    /* The builder and kernel: "contrib fused", "contrib legacy", "contrib
     * sync" (the sync option), "contrib core layer", "contrib core layer fused", "tf.layers", "tf.layers
     * fused", "keras", "keras fused" (", renorm" appended with renorm). */
    const char *api;
    /* How the mode is decided: 1 or 0 when built (a bool, or a constant
     * tensor that TF's smart_cond folds), -1 at run time by training_t. */
    int training;
    tg_tensor *training_t;
    tg_bn_updates updates;
    /* TG_BN_UPDATES_COLLECTION: the first collection ("update_ops"). */
    const char *collection;
    tg_variable *gamma, *beta; /* NULL when absent (scale / center false) */
    tg_variable *moving_mean, *moving_variance;
    double decay; /* contrib's decay, tf.layers' momentum: the old value's weight */
    double epsilon;
    /* Updates of moving_mean applied so far in the session given, summed
     * over every application sharing that variable; -1 without a session. */
    int64_t t;
    /* decay^t: the weight the initial value still has in the moving
     * statistics (the variance's; a zero-debiased mean has none); NaN
     * without a session. */
    double initial_weight;
    /* moving_variance receives the Bessel-corrected batch variance
     * (n / (n - 1), fused kernels) rather than the biased one. */
    bool bessel;
    bool zero_debias; /* contrib's zero_debias_moving_mean */
    bool renorm;
    const char *layout; /* "NHWC" (channels last), "NCHW" (axis 1), "-" */
    int rank;           /* of the input */
    int axis[TG_MAX_RANK], n_axis; /* the normalized (channel) axes */
} tg_batch_norm_info;

/* The batch-norm layers built on g, in build order, with t and decay^t
 * read from s (NULL: unknown). Returns the count; *infos (when not NULL)
 * gets a new array (NULL when 0) for tg_free, whose pointers belong to g.
 * Errors: -1 and *infos NULL for a NULL g, a session on another graph, or
 * out of memory. */
TG_API int tg_batch_norm_layers(const tg_graph *g, const tg_session *s, tg_batch_norm_info **infos);

/* The same as a text table, one row per application: layer, api, mode
 * ("true", "false", or "tensor <name>"), normalizes with ("batch",
 * "moving", "per run"), updates ("in place", "UPDATE_OPS" or the
 * collection, "layer.updates", "none"), gamma and beta ("trainable",
 * "frozen", "-"), decay, epsilon, t, decay^t ("-" without s), variance
 * (the moving variance's convention: "Bessel" or "biased"), layout and
 * axis; then one line explaining decay^t. Ownership: the caller frees it
 * with tg_free. Errors: NULL as tg_batch_norm_layers. */
TG_API char *tg_describe_batch_norm(const tg_graph *g, const tg_session *s);

#ifdef __cplusplus
}
#endif
#endif
