/* tgraph/nn_ops.h: neural-network ops (tf.nn): activations, convolution,
 * pooling, losses and batch statistics. Error model as in array_ops.h. */
#ifndef TGRAPH_NN_OPS_H
#define TGRAPH_NN_OPS_H

#include <math.h> /* NAN: TG_DROPOUT_OPTS_INIT's "no rate given" */

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- convolution and pooling ------------------------------------------------ */

/* TF's `padding` attr. TF has no default, so the zero value is not a
 * padding: builders reject it with "padding must be SAME or VALID".
 * SAME: output = ceil(input / stride), zeros (conv) or nothing (pool)
 * padded, floor(total / 2) of the padding before; VALID: no padding. */
typedef enum tg_padding { TG_PADDING_SAME = 1, TG_PADDING_VALID = 2 } tg_padding;

/* TF's `data_format` attr: NHWC (the default) or NCHW. Strides, dilations
 * and ksize are given in the data format's order, as in TF. */
typedef enum tg_data_format {
    TG_DATA_FORMAT_INVALID = -1, /* from a bad string; builders reject it */
    TG_NHWC = 0,
    TG_NCHW = 1
} tg_data_format;

/* "SAME" / "VALID" (exact spelling, as TF's attr check) to tg_padding.
 * Errors: for another string (or NULL) records INVALID_ARGUMENT on g when g
 * is usable, e.g. `Value for attr 'padding' of "same" is not in the list of
 * allowed values: "SAME", "VALID"`, and returns 0, which builders reject. */
TG_API tg_padding tg_padding_from_string(tg_graph *g, const char *s);
/* "NHWC" / "NCHW" to tg_data_format. Errors: as tg_padding_from_string
 * ("... of \"NHCW\" is not in the list of allowed values: \"NHWC\", \"NCHW\"");
 * returns TG_DATA_FORMAT_INVALID. */
TG_API tg_data_format tg_data_format_from_string(tg_graph *g, const char *s);

/* Keyword arguments of tf.nn.conv2d and its two backprop ops. */
typedef struct tg_conv2d_opts {
    const char *name;           /* default: the op type ("Conv2D", ...) */
    int strides[4];             /* data_format order; all 0: [1, 1, 1, 1] */
    tg_padding padding;         /* required */
    tg_data_format data_format; /* default NHWC */
    int dilations[4];           /* data_format order; all 0: [1, 1, 1, 1] */
} tg_conv2d_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_conv2d_opts .name = NULL

/* tf.nn.conv2d(input, filter, strides, padding, data_format, dilations):
 * "Conv2D". input [batch, in_height, in_width, in_channels] (NHWC) or
 * [batch, in_channels, in_height, in_width] (NCHW); filter [filter_height,
 * filter_width, in_channels, out_channels]; float32 or float64, the same for
 * both. Output [batch, out_height, out_width, out_channels] (or NCHW), sizes
 * as TF's GetWindowedOutputSize. Its gradient is Conv2DBackpropInput and
 * Conv2DBackpropFilter. padding has no default, so NULL opts is an error.
 * Ownership: the result belongs to the graph; opts is copied.
 * Errors: INVALID_ARGUMENT naming the op for a missing padding, a bad
 * data_format, strides or dilations that are not positive or not 1 in the
 * batch and depth dimensions ("Current implementation does not yet support
 * strides in the batch and depth dimensions."), ranks other than 4,
 * different or non-float dtypes, a channel mismatch ("conv1/Conv2D: input
 * depth 3 does not match filter in_channels 1"), or a VALID window larger
 * than the input ("Computed output size would be negative ..."). Shapes
 * unknown at construction are checked when the op runs. */
TG_API tg_tensor *tg_nn_conv2d(tg_graph *g, tg_tensor *input, tg_tensor *filter, const tg_conv2d_opts *opts);
/* tf.nn.conv2d_backprop_input(input_sizes, filter, out_backprop, ...):
 * "Conv2DBackpropInput", the gradient of Conv2D with respect to its input.
 * input_sizes is an int32 vector of 4 (a Const gives a static shape, a Shape
 * op the shape of its input; anything else is read when the op runs).
 * Ownership and errors as tg_nn_conv2d; also INVALID_ARGUMENT when
 * out_backprop does not have the size Conv2D would give. */
TG_API tg_tensor *tg_nn_conv2d_backprop_input(tg_graph *g, tg_tensor *input_sizes, tg_tensor *filter,
                                              tg_tensor *out_backprop, const tg_conv2d_opts *opts);
/* tf.nn.conv2d_backprop_filter(input, filter_sizes, out_backprop, ...):
 * "Conv2DBackpropFilter", the gradient of Conv2D with respect to its filter;
 * filter_sizes is an int32 vector of 4. Ownership and errors as
 * tg_nn_conv2d_backprop_input. */
TG_API tg_tensor *tg_nn_conv2d_backprop_filter(tg_graph *g, tg_tensor *input, tg_tensor *filter_sizes,
                                               tg_tensor *out_backprop, const tg_conv2d_opts *opts);

/* tf.nn.bias_add(value, bias, data_format, name): "BiasAdd", value plus the
 * 1-D bias along the channel dimension (the last for NHWC, dimension 1 for
 * NCHW). value has rank >= 2 (>= 3 for NCHW); float32 or float64.
 * name NULL: "BiasAdd". Ownership: the result belongs to the graph.
 * Errors: INVALID_ARGUMENT naming the op for a bad data_format, ranks,
 * dtypes, or a bias length that is not the channel count. */
TG_API tg_tensor *tg_nn_bias_add(tg_graph *g, tg_tensor *value, tg_tensor *bias, tg_data_format data_format,
                                 const char *name);
/* TF's gen_nn_ops.bias_add_grad(out_backprop, data_format): "BiasAddGrad",
 * out_backprop summed over every dimension but the channel one.
 * Ownership and errors as tg_nn_bias_add. */
TG_API tg_tensor *tg_nn_bias_add_grad(tg_graph *g, tg_tensor *out_backprop, tg_data_format data_format,
                                      const char *name);

/* Keyword arguments of tf.nn.max_pool / tf.nn.avg_pool and their gradients. */
typedef struct tg_pool_opts {
    const char *name;           /* default: the op type ("MaxPool", ...) */
    int ksize[4];               /* data_format order; required, e.g. {1, 2, 2, 1} */
    int strides[4];             /* data_format order; all 0: [1, 1, 1, 1] */
    tg_padding padding;         /* required */
    tg_data_format data_format; /* default NHWC */
} tg_pool_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_pool_opts .name = NULL

/* tf.nn.max_pool(value, ksize, strides, padding, data_format): "MaxPool".
 * value is a rank-4 float32 or float64 tensor; padded positions never win.
 * The gradient goes to the first maximal element of each window (row-major
 * order), as TF's CPU kernel. Ownership: the result belongs to the graph.
 * Errors: INVALID_ARGUMENT naming the op for a missing ksize or padding, a
 * bad data_format, non-positive ksize or strides, pooling along the batch
 * dimension ("Pooling is not yet supported on the batch dimension."), a bad
 * rank or dtype, or a VALID window larger than the input; UNIMPLEMENTED for
 * pooling along the depth dimension. */
TG_API tg_tensor *tg_nn_max_pool(tg_graph *g, tg_tensor *value, const tg_pool_opts *opts);
/* tf.nn.avg_pool(value, ksize, strides, padding, data_format): "AvgPool";
 * each output is the mean of the window's valid (not padded) elements, as
 * TF. Ownership and errors as tg_nn_max_pool. */
TG_API tg_tensor *tg_nn_avg_pool(tg_graph *g, tg_tensor *value, const tg_pool_opts *opts);
/* TF's gen_nn_ops.max_pool_grad(orig_input, orig_output, grad, ...):
 * "MaxPoolGrad", grad routed back to each window's first maximum of
 * orig_input; shaped like orig_input. Ownership and errors as
 * tg_nn_max_pool; also INVALID_ARGUMENT when grad is not shaped like
 * orig_output. */
TG_API tg_tensor *tg_nn_max_pool_grad(tg_graph *g, tg_tensor *orig_input, tg_tensor *orig_output, tg_tensor *grad,
                                      const tg_pool_opts *opts);
/* TF's gen_nn_ops.max_pool_grad_grad(orig_input, orig_output, grad, ...):
 * "MaxPoolGradGrad", grad (shaped like orig_input) gathered at each window's
 * first maximum; shaped like orig_output. Ownership and errors as
 * tg_nn_max_pool_grad. */
TG_API tg_tensor *tg_nn_max_pool_grad_grad(tg_graph *g, tg_tensor *orig_input, tg_tensor *orig_output,
                                           tg_tensor *grad, const tg_pool_opts *opts);
/* TF's gen_nn_ops.avg_pool_grad(orig_input_shape, grad, ...): "AvgPoolGrad",
 * each grad element spread evenly over its window's valid elements;
 * orig_input_shape is an int32 vector of 4 (Const or Shape for a static
 * shape). Ownership and errors as tg_nn_avg_pool. */
TG_API tg_tensor *tg_nn_avg_pool_grad(tg_graph *g, tg_tensor *orig_input_shape, tg_tensor *grad,
                                      const tg_pool_opts *opts);

/* ---- activations --------------------------------------------------------------- */

/* Elementwise, float32 and float64: tf.nn.relu ("Relu"), tf.nn.relu6,
 * tf.nn.elu, tf.sigmoid, tf.tanh, tf.nn.softplus. */
TG_API tg_tensor *tg_nn_relu(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_nn_relu6(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_nn_elu(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_sigmoid(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_tanh(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_nn_softplus(tg_graph *g, tg_tensor *x, const char *name);
/* tf.nn.leaky_relu(x, alpha): TF's default alpha is 0.2, TG_LEAKY_RELU_ALPHA. */
#define TG_LEAKY_RELU_ALPHA 0.2
TG_API tg_tensor *tg_nn_leaky_relu(tg_graph *g, tg_tensor *x, double alpha, const char *name);
/* tf.nn.softmax / tf.nn.log_softmax over the last axis (rank >= 1). */
TG_API tg_tensor *tg_nn_softmax(tg_graph *g, tg_tensor *logits, const char *name);
TG_API tg_tensor *tg_nn_log_softmax(tg_graph *g, tg_tensor *logits, const char *name);

/* ---- losses and statistics ------------------------------------------------------- */

/* tf.nn.softmax_cross_entropy_with_logits(labels, logits) (TF1's v1: no
 * gradient into labels, built in scope "softmax_cross_entropy_with_logits_sg")
 * and _v2 (gradient into labels too): "SoftmaxCrossEntropyWithLogits", the
 * per-example loss [batch] from 2-D logits and labels of one shape, computed
 * stably for large logits. Errors: INVALID_ARGUMENT for other ranks, shapes
 * or dtypes. */
TG_API tg_tensor *tg_nn_softmax_cross_entropy_with_logits(tg_graph *g, tg_tensor *labels, tg_tensor *logits,
                                                          const char *name);
TG_API tg_tensor *tg_nn_softmax_cross_entropy_with_logits_v2(tg_graph *g, tg_tensor *labels, tg_tensor *logits,
                                                             const char *name);
/* tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits):
 * "SparseSoftmaxCrossEntropyWithLogits" with int32/int64 class indices
 * [batch]. A label outside [0, classes) is a run-time INVALID_ARGUMENT:
 * "Received a label value of 10 which is outside the valid range of [0, 10)." */
TG_API tg_tensor *tg_nn_sparse_softmax_cross_entropy_with_logits(tg_graph *g, tg_tensor *labels, tg_tensor *logits,
                                                                 const char *name);
/* tf.nn.l2_loss(t): "L2Loss", sum(t^2) / 2 as a scalar. */
TG_API tg_tensor *tg_nn_l2_loss(tg_graph *g, tg_tensor *t, const char *name);

/* tf.nn.moments(x, axes, keep_dims): mean and variance over axes, built in
 * scope "moments" as TF does (ops "moments/mean", "moments/variance", the
 * variance from a stop_gradient of the mean, "Squeeze" unless keep_dims).
 * Stores both tensors (graph-owned) and returns TG_OK, or the sticky error
 * with *mean and *variance NULL: INVALID_ARGUMENT for no axes, an axis out of
 * range or a non-float x. */
TG_API tg_code tg_nn_moments(tg_graph *g, tg_tensor *x, const int *axes, int n_axes, bool keep_dims,
                             tg_tensor **mean, tg_tensor **variance, const char *name);
/* tf.nn.weighted_moments(x, axes, frequency_weights, keep_dims): the same
 * with weights that broadcast against x (cast to x's dtype). */
TG_API tg_code tg_nn_weighted_moments(tg_graph *g, tg_tensor *x, const int *axes, int n_axes,
                                      tg_tensor *frequency_weights, bool keep_dims, tg_tensor **mean,
                                      tg_tensor **variance, const char *name);

/* tf.nn.batch_normalization(x, mean, variance, offset, scale,
 * variance_epsilon, name): TF's composition in name scope name (default
 * "batchnorm"): inv = rsqrt(variance + variance_epsilon) ("batchnorm/add"
 * with the Const "batchnorm/add/y", "batchnorm/Rsqrt"), inv *= scale
 * ("batchnorm/mul") when scale is given, then x * inv + (offset - mean * inv)
 * ("mul_1", "mul_2", "sub", "add_1"), or x * inv + (-mean) * inv ("Neg")
 * without offset. offset and scale may be NULL. Parameters broadcast against
 * x as NumPy does (rank 1 of the last dimension, or x's rank with 1 in the
 * reduced dimensions). Gradients flow to every input by ordinary autodiff.
 * Ownership: the result belongs to the graph.
 * Errors: INVALID_ARGUMENT (no op added) for a non-float x, inputs of
 * another dtype than x, or static shapes that do not broadcast. */
TG_API tg_tensor *tg_nn_batch_normalization(tg_graph *g, tg_tensor *x, tg_tensor *mean, tg_tensor *variance,
                                            tg_tensor *offset, tg_tensor *scale, double variance_epsilon,
                                            const char *name);

/* Keyword arguments of tf.nn.fused_batch_norm; start from
 * TG_FUSED_BATCH_NORM_OPTS_INIT (base.h explains why). */
typedef struct tg_fused_batch_norm_opts {
    unsigned tg__init;          /* set by TG_FUSED_BATCH_NORM_OPTS_INIT only */
    const char *name;           /* default "FusedBatchNormV3" */
    double epsilon;             /* default 0.001; raised to 1.001e-5 when smaller (TF's cuDNN minimum) */
    tg_data_format data_format; /* default NHWC */
    bool is_training;           /* default true */
} tg_fused_batch_norm_opts;
#define TG__TAG_tg_fused_batch_norm_opts 0x6d048281u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_fused_batch_norm_opts .tg__init = TG__TAG_tg_fused_batch_norm_opts, .epsilon = 0.001, .is_training = true
#define TG_FUSED_BATCH_NORM_OPTS_INIT {TG__DEFAULTS_tg_fused_batch_norm_opts}

/* tf.nn.fused_batch_norm(x, scale, offset, mean=None, variance=None,
 * epsilon=0.001, data_format="NHWC", is_training=True) (TF 1.15's v1): one
 * op "FusedBatchNormV3" with outputs y, batch_mean, batch_variance and three
 * reserve spaces; one-pass float32/float64 kernels for NHWC and NCHW.
 * x is 4-D; scale, offset, mean and variance are 1-D of the channel count
 * (dimension 3 for NHWC, 1 for NCHW), all of x's dtype.
 * Training: y = (x - m) * rsqrt(v_b + eps) * scale + offset with the batch
 * mean m and the biased batch variance v_b over N*H*W; *batch_var is the
 * Bessel-corrected variance v_b * n / (n - 1) (n = N*H*W; factor 1 when
 * n <= 1), as TF's kernel returns. mean and variance must be NULL (empty
 * Consts "Const", "Const_1" are made, as TF).
 * Inference (is_training false): y uses the given mean and variance,
 * which are required; *batch_mean and *batch_var return them.
 * Gradient: FusedBatchNormGradV3 (the full batch-norm backward through the
 * batch statistics in training, the frozen one in inference) to x, scale
 * and offset; none to mean and variance, and gradients reaching batch_mean
 * or batch_var are ignored (TF). FusedBatchNormGradV3's own gradient is TF's
 * composed one, so second derivatives work.
 * y, batch_mean and batch_var receive graph-owned tensors; each may be NULL
 * when not wanted. opts may be NULL and is copied. Returns TG_OK, or the
 * sticky error with the outputs NULL and no op added: INVALID_ARGUMENT for
 * mean or variance given in training ("Both 'mean' and 'variance' must be
 * None if is_training is True."), mean or variance missing in inference,
 * an x that is not 4-D ("input must be 4-dimensional, not shape (2, 3)"), a
 * data_format other than NHWC/NCHW, a parameter of the wrong rank, length
 * ("scale must have the same number of elements as the channels of x, got
 * 2 and 3") or dtype. Shapes unknown at construction are checked when the
 * op runs. */
TG_API tg_code tg_nn_fused_batch_norm(tg_graph *g, tg_tensor *x, tg_tensor *scale, tg_tensor *offset,
                                      tg_tensor *mean, tg_tensor *variance, const tg_fused_batch_norm_opts *opts,
                                      tg_tensor **y, tg_tensor **batch_mean, tg_tensor **batch_var);

/* TF's legacy op BatchNormWithGlobalNormalization(t, m, v, beta, gamma,
 * variance_epsilon, scale_after_normalization) (tf.nn.
 * batch_norm_with_global_normalization): (t - m) * rsqrt(v + eps) [* gamma]
 * + beta; gamma is used only when scale_after_normalization. Any rank, as
 * TF 1.15's Python function, which composes tf.nn.batch_normalization: for
 * a t of known rank other than 4 that is what this builds (name scope
 * "batchnorm", or name; parameters broadcast against t). A 4-D t (or one
 * of unknown rank) gets the legacy op "BatchNormWithGlobalNormalization"
 * (or name) instead, same values, with m, v, beta, gamma 1-D of t's last
 * dimension; its gradient is the math of TF's
 * BatchNormWithGlobalNormalizationGrad from ordinary ops (gamma gets zeros
 * without scaling). All inputs of t's dtype (float32 or float64).
 * Ownership: the result belongs to the graph. Errors: INVALID_ARGUMENT
 * naming the op (or "batchnorm") for parameters that do not fit t (not 1-D
 * of the channel count for 4-D t, not broadcastable otherwise), or
 * mixed/non-float dtypes. */
TG_API tg_tensor *tg_nn_batch_norm_with_global_normalization(tg_graph *g, tg_tensor *t, tg_tensor *m, tg_tensor *v,
                                                             tg_tensor *beta, tg_tensor *gamma,
                                                             double variance_epsilon,
                                                             bool scale_after_normalization, const char *name);

/* Start from TG_DROPOUT_OPTS_INIT (base.h explains why). */
typedef struct tg_dropout_opts {
    unsigned tg__init;     /* set by TG_DROPOUT_OPTS_INIT only */
    const char *name;      /* scope; default "dropout" */
    double rate;           /* fraction dropped; required (default NAN: not given) */
    int64_t seed;          /* TG_NO_SEED: TF's seed=None (default) */
    /* Apply dropout? true (default): yes, as tf.nn.dropout always does;
     * false: return x unchanged (tf.layers.dropout(training=False)).
     * training_t, a bool scalar tensor, decides at run time instead. */
    bool training;
    tg_tensor *training_t;
} tg_dropout_opts;
#define TG__TAG_tg_dropout_opts 0xe9cc12cfu /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_dropout_opts \
    .tg__init = TG__TAG_tg_dropout_opts, .rate = NAN, .seed = TG_NO_SEED, .training = true
#define TG_DROPOUT_OPTS_INIT {TG__DEFAULTS_tg_dropout_opts}

/* tf.nn.dropout(x, rate=..., seed=...): keeps each element with
 * probability 1 - rate and scales kept ones by 1 / (1 - rate). The mask is
 * drawn afresh on every run. rate has no default in TF 1.15, so opts must
 * set it: `TG_OPTS(tg_dropout_opts, o, .rate = 0.5)`.
 * Errors (sticky INVALID_ARGUMENT): "tg_nn_dropout: You must provide a rate
 * to dropout." for NULL opts or a rate left NAN (TF's error when neither
 * rate nor keep_prob is given), a rate outside [0, 1), a non-float x or a
 * training_t that is not a bool scalar. */
TG_API tg_tensor *tg_nn_dropout(tg_graph *g, tg_tensor *x, const tg_dropout_opts *opts);

/* tf.nn.top_k(input, k=1, sorted=True): "TopKV2" (or name) with the Const
 * "TopKV2/k". Along the last dimension, the k largest values (*values, of
 * input's dtype) and their positions (*indices, int32), largest first;
 * equal values by lower position first, as TF; NaN ranks above every
 * number. sorted=False gives the same order (one TF's unspecified order
 * allows). Either output pointer may be NULL (not both). The values'
 * gradient goes back to the positions they came from (TF's _TopKGrad, built
 * with OneHot; it needs the last dimension's size). Ownership: the graph's.
 * Returns TG_OK, or the graph's error code with the outputs NULL. Errors
 * (sticky, no op added): INVALID_ARGUMENT naming the op for bool input, a
 * scalar input, k < 0 ("Need k >= 0, got -1") or a last dimension smaller
 * than k ("input must have last dimension >= k = 5 but is 3"); at run time
 * "input must have at least k columns. Had 3, needed 5". */
TG_API tg_code tg_nn_top_k(tg_graph *g, tg_tensor *input, int k, bool sorted, tg_tensor **values,
                           tg_tensor **indices, const char *name);

/* tf.nn.in_top_k(predictions, targets, k): "InTopKV2", made as TF does
 * inside name scope "in_top_k" with TF's own name passed on: by default
 * "in_top_k/InTopKV2" with the Const "in_top_k/InTopKV2/k" (of targets'
 * dtype); with a name, "<name>/<name>". out[i] (bool) is true when fewer
 * than k classes score strictly higher than targets[i], so a target that
 * ties the k-th is in; a target out of [0, classes) or whose prediction is
 * not finite is false. predictions is float32 [batch, classes] (TF's only
 * dtype), targets int32 or int64 [batch]. Not differentiable. Ownership:
 * the graph's. Errors (sticky, no op added): INVALID_ARGUMENT naming the
 * op for other dtypes or ranks, or batch sizes that differ ("First
 * dimension of predictions 3 must match length of targets 2"). */
TG_API tg_tensor *tg_nn_in_top_k(tg_graph *g, tg_tensor *predictions, tg_tensor *targets, int64_t k,
                                 const char *name);

#ifdef __cplusplus
}
#endif
#endif
