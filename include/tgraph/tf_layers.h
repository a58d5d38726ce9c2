/* tgraph/tf_layers.h: tf.layers (TF 1.x core layers) as Layer objects
 * (tf.layers.Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dropout,
 * BatchNormalization; also tf.compat.v1.keras' BatchNormalization)
 * with the tf.layers.Layer API, and the functional forms (tf.layers.dense,
 * conv2d, max_pooling2d, ...). tf.layers.X is tg_tf_layers_X (tf.contrib.layers
 * owns tg_layers_X); the Layer methods and properties are tg_layer_*.
 *
 * Objects. A layer is created by tg_tf_layers_<class>_new and belongs to its
 * graph, which frees it with itself; tg_layer_free frees it earlier (before
 * tg_graph_free only). The ops and
 * variables it creates belong to the graph and stay there when the layer is
 * freed. The functional forms create a layer, apply it once and free it.
 *
 * Naming, as TF 1.15. A layer without a name is named per graph
 * "<class>_1", "<class>_2", ... ("dense_1" for the first Dense: TF's
 * tf.layers count from 1), while its variable scope is chosen at the first
 * apply (or add_variable, build) with default_name "<class>" among the
 * variable scopes: "dense", "dense_1", ... A class layer given a name uses it
 * as the default name of its scope ("my_dense", then "my_dense_1" for a
 * second layer of that name). A functional call given a name uses exactly
 * variable_scope(name): two calls with the same name share variables only
 * with reuse TG_REUSE_TRUE (or TG_AUTO_REUSE), and a second call without it
 * fails with "Variable my_dense/kernel already exists, disallowed. ...". A
 * layer with reuse set and no name reuses the scope "<class>" exactly.
 * Variables are "<scope>/kernel" and "<scope>/bias", made with
 * tg_get_variable: in GLOBAL_VARIABLES, and in TRAINABLE_VARIABLES when the
 * layer is trainable. Ops are made in the layer scope's name scope:
 * "dense/MatMul", "dense/BiasAdd", "dense/Relu"; applying the layer again
 * re-enters that name scope ("dense/MatMul_1").
 *
 * Collections, as tf.layers. Weight regularizer terms (built when the
 * variable is created, in name scope "<scope>/kernel/Regularizer/"), activity
 * regularizer terms and tg_layer_add_loss terms go to REGULARIZATION_LOSSES
 * (once each); after every apply the layer's updates are appended to
 * UPDATE_OPS (once each).
 *
 * Errors. Builders (constructors, apply, add_variable, the functional forms)
 * follow the graph's sticky model: with a NULL or failed graph, or a NULL
 * input, they return NULL and add nothing; on their own failure they record
 * the error on the graph and return NULL. tg_layer_add_update, _add_loss and
 * _build also return the code. Queries that TF answers with an exception
 * (count_params before build, input/output of a layer applied several
 * times, ...) return a tg_code, keep the message on the layer
 * (tg_layer_message) and never touch the graph's status. Messages are TF's.
 *
 * Sizes are (height, width) pairs, int[2]: TG_KERNEL(3, 3) or (int[]){3, 3};
 * in option fields a 0 component means the default for it.
 * Activations are tg_layers_activation_fn (tg_nn_relu, tg_tanh, ...), called
 * with name NULL ("dense/Relu"); NULL in an opts struct is TF's None: linear.
 *
 * Not supported (yet): dtype= (the dtype is the first input's), Dropout's
 * noise_shape, string padding/data_format (use tg_padding / tg_data_format). */
#ifndef TGRAPH_TF_LAYERS_H
#define TGRAPH_TF_LAYERS_H

#include "base.h"
#include "layers.h" /* TG_KERNEL and tg_layers_activation_fn */
#include "nn_ops.h"
#include "variables.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_layer tg_layer;

/* ---- the Layer API (tf.layers.Layer) ------------------------------------------- */

/* Call-time arguments of tg_layer_call; start from TG_LAYER_CALL_OPTS_INIT
 * (base.h explains why). training: TF's call(inputs, training=None);
 * TG_OPT_NONE (the default) is tf.layers' False, and for a Keras layer the
 * learning phase (see tg_keras_backend_learning_phase); false / true as
 * TF's. training_t, a bool scalar tensor, decides at run time instead (and
 * wins when set). Only layers whose call has a training argument
 * (Dropout, BatchNormalization) use it. */
typedef struct tg_layer_call_opts {
    unsigned tg__init; /* set by TG_LAYER_CALL_OPTS_INIT only */
    tg_optional_bool training;
    tg_tensor *training_t;
} tg_layer_call_opts;
#define TG__TAG_tg_layer_call_opts 0x80e06e5du /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_layer_call_opts .tg__init = TG__TAG_tg_layer_call_opts, .training = TG_OPT_NONE
#define TG_LAYER_CALL_OPTS_INIT {TG__DEFAULTS_tg_layer_call_opts}

/* layer.apply(inputs, training=...) / layer(inputs): the first call builds
 * the layer (creates its variables for the input's static shape, in the
 * layer's variable scope, see the top comment), every call adds the layer's
 * ops for `inputs` and records an inbound node (input, output and their
 * shapes, for tg_layer_get_input_at and friends). training is NULL (TF's
 * default False; for a Keras layer the learning phase) or a bool scalar
 * tensor deciding at run time.
 * Ownership: the result belongs to the graph.
 * Errors (sticky): INVALID_ARGUMENT for an input from another graph, an
 * input the layer rejects, e.g. "Input 0 of layer dense_1 is incompatible
 * with the layer: expected axis -1 of input shape to have value 3 but
 * received input with shape [5, 4]", "... its rank is undefined, but the
 * layer requires a defined rank.", "... expected ndim=4, found ndim=3. Full
 * shape received: [None, 2, 3]", or the layer's own build errors (listed
 * with each class); variable errors from tg_get_variable. */
TG_API tg_tensor *tg_layer_apply(tg_layer *layer, tg_tensor *inputs, tg_tensor *training);
/* tg_layer_apply with call options (a static training=True). opts may be
 * NULL. Ownership and errors as tg_layer_apply. */
TG_API tg_tensor *tg_layer_call(tg_layer *layer, tg_tensor *inputs, const tg_layer_call_opts *opts);

/* layer.build(input_shape): creates the variables for input_shape (the
 * batch dimension may be -1) without applying the layer; what the first
 * apply does before adding ops. Does nothing when already built. Returns
 * TG_OK or the graph's sticky code (build errors as tg_layer_apply). */
TG_API tg_code tg_layer_build(tg_layer *layer, tg_shape input_shape);

/* layer.name: given, or "<class>_<n>" (see the top comment). Owned by the
 * layer. NULL for a NULL layer. */
TG_API const char *tg_layer_name(const tg_layer *layer);
/* layer.scope_name: the full variable scope ("outer/dense"), or NULL until
 * the scope is chosen (first apply, build or add_variable). Owned by the
 * layer. */
TG_API const char *tg_layer_scope_name(const tg_layer *layer);
/* The graph the layer builds into. */
TG_API tg_graph *tg_layer_graph(const tg_layer *layer);
/* layer.built. */
TG_API bool tg_layer_built(const tg_layer *layer);
/* layer.dtype: the weights' dtype, from the first input (or float32 for
 * build/add_variable before any input); TG_DTYPE_COUNT while unknown. */
TG_API tg_dtype tg_layer_dtype(const tg_layer *layer);
/* layer.trainable and its setter. Variables are created trainable only if
 * the layer is trainable then; the setter changes which lists the
 * accessors below return (as in TF), not the variables or collections. */
TG_API bool tg_layer_trainable(const tg_layer *layer);
TG_API void tg_layer_set_trainable(tg_layer *layer, bool trainable);

/* Weight lists, in creation order. Each returns the count and, when vars is
 * not NULL, stores a list owned by the layer (valid until the layer changes
 * or is freed; NULL when empty).
 * - trainable_weights: the layer's trainable variables; none when the layer
 *   is not trainable.
 * - non_trainable_weights: its non-trainable ones; every variable (trainable
 *   ones first) when the layer is not trainable.
 * - weights (= variables): trainable_weights + non_trainable_weights.
 * The *_variables names are TF's aliases. Errors: 0 for a NULL layer. */
TG_API int tg_layer_trainable_weights(const tg_layer *layer, tg_variable *const **vars);
TG_API int tg_layer_non_trainable_weights(const tg_layer *layer, tg_variable *const **vars);
TG_API int tg_layer_weights(const tg_layer *layer, tg_variable *const **vars);
TG_API int tg_layer_trainable_variables(const tg_layer *layer, tg_variable *const **vars);
TG_API int tg_layer_non_trainable_variables(const tg_layer *layer, tg_variable *const **vars);
TG_API int tg_layer_variables(const tg_layer *layer, tg_variable *const **vars);

/* layer.updates: the update ops added with tg_layer_add_update, in order;
 * none when the layer is not trainable. Count and layer-owned list as the
 * weight lists. */
TG_API int tg_layer_updates(const tg_layer *layer, tg_op *const **ops);
/* layer.get_updates_for(inputs): with no inputs (NULL, 0) the unconditional
 * updates (those not reachable from the layer's inputs when they were
 * added); otherwise the conditional updates reachable in the graph (data or
 * control edges) from any of inputs[0..n). Returns the count and stores a new
 * list in *ops (NULL when empty). Ownership: free *ops with tg_free.
 * Errors: -1 (and *ops NULL) for a NULL layer or ops, or out of memory. */
TG_API int tg_layer_get_updates_for(const tg_layer *layer, tg_tensor *const *inputs, int n, tg_op ***ops);

/* layer.losses: the layer's loss tensors: those added with
 * tg_layer_add_loss and the activity regularizer terms (in order), then the
 * weight regularizer terms. Unlike TF 1.15, which rebuilds the weight
 * regularizer ops on every read of `losses`, these are the tensors built
 * once at variable creation (the ones in REGULARIZATION_LOSSES). Count and
 * layer-owned list as the weight lists. */
TG_API int tg_layer_losses(const tg_layer *layer, tg_tensor *const **losses);
/* layer.get_losses_for(inputs): with no inputs the unconditional losses
 * (weight regularizers, add_loss without inputs); otherwise the
 * conditional losses (activity regularizers, add_loss with inputs)
 * reachable from inputs[0..n) (or equal to one of them). Ownership and
 * errors as tg_layer_get_updates_for. */
TG_API int tg_layer_get_losses_for(const tg_layer *layer, tg_tensor *const *inputs, int n, tg_tensor ***losses);

/* layer.add_update(op): appends an update op (for a tensor pass its
 * tg_tensor_op). As TF 1.15 it is conditional when reachable from the
 * inputs of the apply in progress (inside a layer's call) or, outside a
 * call, from the inputs of any apply so far; otherwise unconditional. It
 * reaches UPDATE_OPS at the end of the next apply. Returns TG_OK, the graph's
 * code when it is in error (nothing added), or INVALID_ARGUMENT for a NULL
 * layer or op (message on the layer) or an op of another graph (sticky). */
TG_API tg_code tg_layer_add_update(tg_layer *layer, tg_op *update);
/* layer.add_loss(loss, inputs=...): appends a loss tensor and adds it to
 * REGULARIZATION_LOSSES (tf.layers does). As in TF 1.15, giving inputs
 * (n > 0) only marks the loss conditional; tg_layer_get_losses_for then
 * finds it by reachability. Returns and errors as tg_layer_add_update. */
TG_API tg_code tg_layer_add_loss(tg_layer *layer, tg_tensor *loss, tg_tensor *const *inputs, int n);

/* Keyword arguments of tg_layer_add_variable (layer.add_variable /
 * add_weight); start from TG_LAYER_ADD_VARIABLE_OPTS_INIT. */
typedef struct tg_layer_add_variable_opts {
    unsigned tg__init;          /* set by TG_LAYER_ADD_VARIABLE_OPTS_INIT only */
    tg_initializer initializer; /* zeroed (TF's None): the scope's, else glorot_uniform (floats) */
    tg_regularizer regularizer; /* fn NULL: none (a scope regularizer still applies) */
    bool trainable;             /* default true; and-ed with the layer's trainable */
    tg_constraint constraint;
} tg_layer_add_variable_opts;
#define TG__TAG_tg_layer_add_variable_opts 0xf1425ac9u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_layer_add_variable_opts .tg__init = TG__TAG_tg_layer_add_variable_opts, .trainable = true
#define TG_LAYER_ADD_VARIABLE_OPTS_INIT {TG__DEFAULTS_tg_layer_add_variable_opts}

/* layer.add_variable(name, shape, dtype, ...) (alias add_weight): gets or
 * creates "<layer scope>/<name>" with tg_get_variable in the layer's
 * variable scope (chosen now if not yet), with reuse once the layer is
 * built (so after build only existing names can be got, as in TF) or when
 * the layer was made with reuse. A new variable's regularizer term is built
 * in name scope "<layer name scope><name>/Regularizer/" and added with
 * add_loss. The variable joins trainable_weights or non_trainable_weights.
 * opts may be NULL. Ownership: the variable belongs to the graph.
 * Errors (sticky): those of tg_get_variable; UNIMPLEMENTED when the layer's
 * scope was chosen in a variable scope that is not an ancestor of the
 * current one (re-entering a scope by its full name is missing from the
 * public API). */
TG_API tg_variable *tg_layer_add_variable(tg_layer *layer, const char *name, tg_dtype dtype, tg_shape shape,
                                          const tg_layer_add_variable_opts *opts);

/* layer.count_params(): the number of scalars in weights. Stores it in
 * *count and returns TG_OK; FAILED_PRECONDITION before the layer is built:
 * "You tried to call `count_params` on dense_1, but the layer isn't built.
 * You can build it manually via: `dense_1.build(batch_input_shape)`."
 * INVALID_ARGUMENT for a NULL argument. */
TG_API tg_code tg_layer_count_params(tg_layer *layer, int64_t *count);

/* Inbound nodes: one per apply (TF's node_index 0 is the first apply). */
TG_API int tg_layer_num_inbound_nodes(const tg_layer *layer);

/* layer.input / layer.output: the input (output) tensor of the only apply.
 * Store it and return TG_OK, or FAILED_PRECONDITION: "Layer dense_1 is not
 * connected, no input to return." / "Layer dense_1 has no inbound nodes." /
 * "Layer dense_1 has multiple inbound nodes, hence the notion of \"layer
 * input\" is ill-defined. Use `get_input_at(node_index)` instead." (output:
 * "layer output", `get_output_at`). INVALID_ARGUMENT for NULL arguments. */
TG_API tg_code tg_layer_input(tg_layer *layer, tg_tensor **input);
TG_API tg_code tg_layer_output(tg_layer *layer, tg_tensor **output);
/* layer.input_shape / layer.output_shape: the static shape shared by every
 * apply. FAILED_PRECONDITION "The layer has never been called and thus has
 * no defined input shape." or, when applies saw different shapes, "The layer
 * \"dense_1\" has multiple inbound nodes, with different output shapes.
 * Hence the notion of \"output shape\" is ill-defined for the layer. Use
 * `get_output_shape_at(node_index)` instead." (input likewise). */
TG_API tg_code tg_layer_input_shape(tg_layer *layer, tg_shape *shape);
TG_API tg_code tg_layer_output_shape(tg_layer *layer, tg_shape *shape);
/* layer.get_input_at(i) / get_output_at / get_input_shape_at /
 * get_output_shape_at. FAILED_PRECONDITION "The layer has never been called
 * and thus has no defined input." ("output", "input shape", "output shape");
 * INVALID_ARGUMENT "Asked to get input at node 1, but the layer has only 1
 * inbound nodes." for an index out of range. */
TG_API tg_code tg_layer_get_input_at(tg_layer *layer, int node_index, tg_tensor **input);
TG_API tg_code tg_layer_get_output_at(tg_layer *layer, int node_index, tg_tensor **output);
TG_API tg_code tg_layer_get_input_shape_at(tg_layer *layer, int node_index, tg_shape *shape);
TG_API tg_code tg_layer_get_output_shape_at(tg_layer *layer, int node_index, tg_shape *shape);

/* The message of the last tg_layer_* query that returned a code ("" after a
 * success). Owned by the layer; "" for a NULL layer. */
TG_API const char *tg_layer_message(const tg_layer *layer);

/* Frees the layer object (not its ops or variables). NULL is ignored. Optional: the graph frees it with itself; call it only before tg_graph_free. */
TG_API void tg_layer_free(tg_layer *layer);

/* ---- tf.layers.Dense / tf.layers.dense ---------------------------------------------- */

/* Keyword arguments of Dense / dense; start from TG_TF_LAYERS_DENSE_OPTS_INIT
 * (base.h explains why). */
typedef struct tg_tf_layers_dense_opts {
    unsigned tg__init;                     /* set by TG_TF_LAYERS_DENSE_OPTS_INIT only */
    const char *name;                      /* see the top comment */
    tg_layers_activation_fn activation;    /* NULL: linear (TF's default None) */
    bool use_bias;                         /* default true */
    tg_initializer kernel_initializer;     /* zeroed (TF's None): the scope's, else glorot_uniform */
    tg_initializer bias_initializer;       /* default zeros; zeroed (None): as kernel_initializer */
    tg_regularizer kernel_regularizer;     /* fn NULL: none; params must outlive the build */
    tg_regularizer bias_regularizer;
    tg_regularizer activity_regularizer;   /* applied to the output of every apply */
    tg_constraint kernel_constraint;
    tg_constraint bias_constraint;
    bool trainable;                        /* default true */
    tg_reuse reuse;                        /* TF's reuse (functional) / _reuse */
} tg_tf_layers_dense_opts;
#define TG__TAG_tg_tf_layers_dense_opts 0x5fa191a1u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_tf_layers_dense_opts \
    .tg__init = TG__TAG_tg_tf_layers_dense_opts, .use_bias = true, .bias_initializer = TG_ZEROS_INITIALIZER, \
    .trainable = true
#define TG_TF_LAYERS_DENSE_OPTS_INIT {TG__DEFAULTS_tg_tf_layers_dense_opts}

/* tf.layers.Dense(units, ...): output = activation(inputs . kernel + bias),
 * kernel [last input dim, units] ("MatMul"; inputs of rank > 2 are
 * contracted on their last axis in name scope "Tensordot", as TF's
 * tensordot), bias [units] ("BiasAdd"). Needs a float input of rank >= 2
 * whose last dimension is known. opts may be NULL.
 * Ownership: the graph's (see Objects above).
 * Errors (sticky, NULL back): INVALID_ARGUMENT "Received an invalid value for
 * `units`, expected a positive integer. Received: units=0"; at build
 * "The last dimension of the inputs to `Dense` should be defined. Found
 * `None`.", "Unable to build `Dense` layer with non-floating point dtype
 * int32". */
TG_API tg_layer *tg_tf_layers_dense_new(tg_graph *g, int units, const tg_tf_layers_dense_opts *opts);
/* tf.layers.dense(inputs, units, ...): a Dense layer applied once.
 * Ownership: the result belongs to the graph. Errors as the class. */
TG_API tg_tensor *tg_tf_layers_dense(tg_graph *g, tg_tensor *inputs, int units, const tg_tf_layers_dense_opts *opts);

/* ---- tf.layers.Conv2D / tf.layers.conv2d --------------------------------------------- */

/* Keyword arguments of Conv2D / conv2d. padding and data_format use
 * nn_ops.h's enums with tf.layers' defaults for zero: VALID ('valid') and
 * NHWC ('channels_last'; TG_NCHW is 'channels_first'). */
typedef struct tg_tf_layers_conv2d_opts {
    unsigned tg__init;           /* set by TG_TF_LAYERS_CONV2D_OPTS_INIT only */
    const char *name;
    int strides[2];              /* 0 components: 1; `.strides = 2` ({2, 0}) is (2, 2) */
    tg_padding padding;          /* 0: VALID */
    tg_data_format data_format;  /* NHWC */
    int dilation_rate[2];        /* as strides; > 1 needs strides 1 */
    tg_layers_activation_fn activation;
    bool use_bias;
    tg_initializer kernel_initializer;
    tg_initializer bias_initializer;
    tg_regularizer kernel_regularizer;
    tg_regularizer bias_regularizer;
    tg_regularizer activity_regularizer;
    tg_constraint kernel_constraint;
    tg_constraint bias_constraint;
    bool trainable;
    tg_reuse reuse;
} tg_tf_layers_conv2d_opts;
#define TG__TAG_tg_tf_layers_conv2d_opts 0xa5a597c9u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_tf_layers_conv2d_opts \
    .tg__init = TG__TAG_tg_tf_layers_conv2d_opts, .use_bias = true, .bias_initializer = TG_ZEROS_INITIALIZER, \
    .trainable = true
#define TG_TF_LAYERS_CONV2D_OPTS_INIT {TG__DEFAULTS_tg_tf_layers_conv2d_opts}

/* tf.layers.Conv2D(filters, kernel_size, ...): "Conv2D" with kernel
 * [kh, kw, in_channels, filters] (dilations passed to the op itself, where TF
 * wraps the op in SpaceToBatchND), "BiasAdd" in data_format, activation.
 * Rank-4 inputs with a known channel dimension. opts may be NULL.
 * Ownership: the graph's (see Objects above).
 * Errors (sticky, NULL back): INVALID_ARGUMENT for filters or kernel_size
 * below 1 (or a NULL kernel_size), negative strides or dilation_rate, a bad padding ("The `padding`
 * argument must be one of \"valid\", \"same\" ...") or data_format,
 * "strides > 1 not supported in conjunction with dilation_rate > 1"; at
 * build "The channel dimension of the inputs should be defined. Found
 * `None`."; the op's own errors (e.g. a VALID window larger than the input). */
TG_API tg_layer *tg_tf_layers_conv2d_new(tg_graph *g, int filters, const int kernel_size[2],
                                         const tg_tf_layers_conv2d_opts *opts);
/* tf.layers.conv2d(inputs, filters, kernel_size, ...): Conv2D applied once. */
TG_API tg_tensor *tg_tf_layers_conv2d(tg_graph *g, tg_tensor *inputs, int filters, const int kernel_size[2],
                                      const tg_tf_layers_conv2d_opts *opts);

/* ---- pooling ------------------------------------------------------------------------------ */

/* Keyword arguments of MaxPooling2D / AveragePooling2D and their functions. */
typedef struct tg_tf_layers_pooling2d_opts {
    const char *name;
    tg_padding padding;         /* 0: VALID */
    tg_data_format data_format; /* NHWC */
} tg_tf_layers_pooling2d_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_tf_layers_pooling2d_opts .name = NULL

/* tf.layers.MaxPooling2D(pool_size, strides, ...): "MaxPool" over
 * (height, width) windows of pool_size, moved by strides (NULL, or a 0
 * component: pool_size's, as Keras' strides=None). No variables; ops in
 * scope "max_pooling2d". Rank-4 input. Ownership: the graph's (see Objects above).
 * Errors (sticky): INVALID_ARGUMENT "The `pool_size` argument must be a tuple
 * of 2 integers >= 1. Received: (0, 2)" (also for a NULL pool_size;
 * strides likewise for negative values), a bad padding or data_format; the
 * op's errors. */
TG_API tg_layer *tg_tf_layers_max_pooling2d_new(tg_graph *g, const int pool_size[2], const int strides[2],
                                                const tg_tf_layers_pooling2d_opts *opts);
/* tf.layers.AveragePooling2D: the same with "AvgPool" (mean of the window's
 * valid elements), scope "average_pooling2d". */
TG_API tg_layer *tg_tf_layers_average_pooling2d_new(tg_graph *g, const int pool_size[2], const int strides[2],
                                                    const tg_tf_layers_pooling2d_opts *opts);
/* tf.layers.max_pooling2d / average_pooling2d(inputs, pool_size, strides,
 * ...): the layer applied once. */
TG_API tg_tensor *tg_tf_layers_max_pooling2d(tg_graph *g, tg_tensor *inputs, const int pool_size[2],
                                             const int strides[2], const tg_tf_layers_pooling2d_opts *opts);
TG_API tg_tensor *tg_tf_layers_average_pooling2d(tg_graph *g, tg_tensor *inputs, const int pool_size[2],
                                                 const int strides[2], const tg_tf_layers_pooling2d_opts *opts);

/* ---- Flatten, Dropout ----------------------------------------------------------------- */

typedef struct tg_tf_layers_flatten_opts {
    const char *name;
    tg_data_format data_format; /* NCHW: channels moved last before flattening, as TF */
} tg_tf_layers_flatten_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_tf_layers_flatten_opts .name = NULL

/* tf.layers.Flatten(): [batch, d1, d2, ...] to [batch, d1*d2*...] with a
 * "Reshape" (a rank-1 input becomes [batch, 1]); the batch size comes from
 * the input's Shape when neither it nor the other dimensions are known
 * statically. Needs a known rank. Ownership: the graph's (see Objects above).
 * Errors: INVALID_ARGUMENT for a bad data_format; at apply the input spec's. */
TG_API tg_layer *tg_tf_layers_flatten_new(tg_graph *g, const tg_tf_layers_flatten_opts *opts);
TG_API tg_tensor *tg_tf_layers_flatten(tg_graph *g, tg_tensor *inputs, const tg_tf_layers_flatten_opts *opts);

/* Start from TG_TF_LAYERS_DROPOUT_OPTS_INIT (base.h explains why). */
typedef struct tg_tf_layers_dropout_opts {
    unsigned tg__init; /* set by TG_TF_LAYERS_DROPOUT_OPTS_INIT only */
    const char *name;
    double rate;       /* fraction dropped; default 0.5 */
    int64_t seed;      /* TG_NO_SEED: TF's seed=None (default) */
    /* Functional form only (the class takes training when applied, and
     * refuses these): TF's training=False by default; training_t decides at
     * run time. */
    bool training;
    tg_tensor *training_t;
} tg_tf_layers_dropout_opts;
#define TG__TAG_tg_tf_layers_dropout_opts 0xf7c327b3u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_tf_layers_dropout_opts .tg__init = TG__TAG_tg_tf_layers_dropout_opts, .rate = 0.5, .seed = TG_NO_SEED
#define TG_TF_LAYERS_DROPOUT_OPTS_INIT {TG__DEFAULTS_tg_tf_layers_dropout_opts}

/* tf.layers.Dropout(rate, seed): at apply with training False, an
 * "Identity" (scope "dropout"); with training True tg_nn_dropout; with a
 * training tensor tg_nn_dropout deciding at run time. Ownership: the graph's
 * (see Objects above). Errors (sticky INVALID_ARGUMENT): at construction
 * "tg_tf_layers_dropout_new: option 'training' is the functional form's;
 * pass training when applying the layer (tg_layer_call)" (likewise
 * 'training_t': TF's TypeError for training= in a constructor);
 * tg_nn_dropout's at apply (a rate outside [0, 1), a non-float input, a
 * training tensor that is not a bool scalar). */
TG_API tg_layer *tg_tf_layers_dropout_new(tg_graph *g, const tg_tf_layers_dropout_opts *opts);
/* tf.layers.dropout(inputs, rate, noise_shape=None, seed, training, name). */
TG_API tg_tensor *tg_tf_layers_dropout(tg_graph *g, tg_tensor *inputs, const tg_tf_layers_dropout_opts *opts);

/* ---- tf.layers.BatchNormalization / tf.layers.batch_normalization ------------------- */

/* BatchNormalization's adjustment: TF's callable shape -> (scale, bias).
 * fn gets the input's Shape (an int32 vector) and stores two float tensors
 * of the parameters' dtype that broadcast against the input (e.g. [C]);
 * returns TG_OK, or an error code (then the layer records INVALID_ARGUMENT
 * unless fn recorded its own error). params is passed through. */
typedef struct tg_bn_adjustment {
    tg_code (*fn)(tg_graph *g, tg_tensor *input_shape, const void *params, tg_tensor **scale, tg_tensor **bias);
    const void *params;
} tg_bn_adjustment;

/* Keyword arguments of BatchNormalization / batch_normalization (TF 1.15);
 * start from TG_TF_LAYERS_BATCH_NORM_OPTS_INIT (base.h explains why). */
typedef struct tg_tf_layers_batch_norm_opts {
    unsigned tg__init; /* set by TG_TF_LAYERS_BATCH_NORM_OPTS_INIT only */
    const char *name;
    /* The normalized axis or axes: axis[0..n_axis) (negative from the end);
     * default {-1} with n_axis 1 (TF's axis=-1), so `.axis = {1}` is axis=1
     * and `.axis = {1, 2}, .n_axis = 2` is axis=[1, 2]. n_axis 0 with every
     * entry 0 is also axis=-1. Several axes: multi-axis normalization, the
     * variables then have the input's rank with 1 in every other dimension.
     * A non-zero entry at or beyond n_axis is an error (it would be
     * ignored). */
    int axis[TG_MAX_RANK];
    int n_axis;
    double momentum;                   /* 0.99 */
    double epsilon;                    /* 1e-3 */
    bool center;                       /* true: beta */
    bool scale;                        /* true: gamma */
    /* Defaults zeros, ones, zeros, ones; zeroed (TF's None): the variable
     * scope's initializer, else glorot_uniform, as TF. */
    tg_initializer beta_initializer;
    tg_initializer gamma_initializer;
    tg_initializer moving_mean_initializer;
    tg_initializer moving_variance_initializer;
    tg_regularizer beta_regularizer;   /* fn NULL: none */
    tg_regularizer gamma_regularizer;
    tg_constraint beta_constraint;     /* applied by optimizers, not in the forward pass */
    tg_constraint gamma_constraint;
    bool renorm;                       /* batch renormalization (non-fused only) */
    tg_renorm_clipping renorm_clipping;/* used only with renorm; default no clipping */
    double renorm_momentum;            /* 0.99 */
    /* tf.layers (TF 1.x): TG_OPT_NONE (default) and true mean "fused when
     * possible" (a hint: 4-D input, a single axis 1 or 3, no renorm, no
     * virtual batch), false never. Keras
     * (tg_keras_layers_batch_normalization_new): true means fused or an
     * error, TG_OPT_NONE fused when possible, false never. */
    tg_optional_bool fused;
    bool trainable;                    /* true */
    /* Ghost Batch Normalization: sub-batches of this size are normalized
     * separately; 0: TF's None. Must divide the batch size when run. */
    int virtual_batch_size;
    /* fn NULL: none. In training the normalized value x_hat becomes
     * x_hat * scale + bias before gamma and beta (identity in inference);
     * rules the fused path out. */
    tg_bn_adjustment adjustment;
    /* Variable reuse: TF's reuse for the functional form, _reuse for
     * tf.layers' class; Keras' class has none (anything but
     * TG_REUSE_INHERIT is an error there). */
    tg_reuse reuse;
    /* Functional form only (the classes take training when applied, and
     * refuse these): TF's training=False by default; training_t, a bool
     * scalar tensor, decides at run time (and wins). */
    bool training;
    tg_tensor *training_t;
} tg_tf_layers_batch_norm_opts;
#define TG__TAG_tg_tf_layers_batch_norm_opts 0xfec6a0a7u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_tf_layers_batch_norm_opts \
    .tg__init = TG__TAG_tg_tf_layers_batch_norm_opts, .axis = {-1}, .n_axis = 1, .momentum = 0.99, .epsilon = 1e-3, \
    .center = true, .scale = true, \
    .beta_initializer = TG_ZEROS_INITIALIZER, .gamma_initializer = TG_ONES_INITIALIZER, \
    .moving_mean_initializer = TG_ZEROS_INITIALIZER, \
    .moving_variance_initializer = TG_ONES_INITIALIZER, .renorm_clipping = TG_RENORM_CLIPPING_INIT, \
    .renorm_momentum = 0.99, .fused = TG_OPT_NONE, .trainable = true
#define TG_TF_LAYERS_BATCH_NORM_OPTS_INIT {TG__DEFAULTS_tg_tf_layers_batch_norm_opts}

/* tf.layers.BatchNormalization(axis=-1, momentum=0.99, epsilon=1e-3, ...)
 * (TF 1.15, V1 behaviour). opts may be NULL. Ownership: the graph's
 * (see Objects above).
 *
 * Build (first apply or tg_layer_build): the input rank must be known; the
 * axes are resolved (negative + rank) and every axis dimension must be
 * known; then the input spec is (ndim, axis sizes). Variables, in this
 * order, made with tg_get_variable in the layer's scope ("batch_normalization",
 * "batch_normalization_1", ...; see the top comment), of the layer's dtype
 * (the first input's): "gamma" (scale) and "beta" (center), trainable with
 * the layer; "moving_mean" and "moving_variance", not trainable (GLOBAL_VARIABLES
 * only, in non_trainable_weights); with renorm also "moving_stddev",
 * "renorm_mean", "renorm_stddev" (not trainable; the stddev ones start at
 * the square root of moving_variance_initializer). Their shape is [C] for
 * one axis, else the input's rank with 1 in the other dimensions; with a
 * virtual batch a 1 is inserted at index 1 ([1, 1, C] for a [B, C] input).
 * Fused path (4-D input, one axis 1 (NCHW) or 3 (NHWC), no renorm, no
 * virtual batch, no adjustment, fused not FALSE): without gamma/beta a Const of ones/zeros
 * stands in.
 *
 * Apply, with the training argument (tg_layer_apply / tg_layer_call):
 * - static False (tf.layers' default): y = (x - moving_mean) *
 *   rsqrt(moving_variance + eps) * gamma + beta, no update ops.
 * - static True: normalized with the batch mean and BIASED variance over
 *   every non-axis dimension, and two update ops (layer.updates, then
 *   UPDATE_OPS after the apply; none exposed when the layer is not trainable):
 *   "<scope>/AssignMovingAvg": moving_mean -= (moving_mean - mean) * (1 - momentum),
 *   "<scope>/AssignMovingAvg_1": the same for moving_variance with the batch
 *   variance: Bessel-corrected (n / (n - 1), n = N*H*W) on the fused path
 *   ("FusedBatchNormV3"), biased on the non-fused path ("moments",
 *   "batchnorm"), as TF.
 * - a bool scalar tensor: on the fused path the kernels go through
 *   tg_smart_cond as TF's (training "<scope>/cond/FusedBatchNormV3",
 *   inference "<scope>/cond/FusedBatchNormV3_1"; a run executes only the
 *   taken one) and the updates use the cond's statistics with momentum
 *   where(training, momentum, 1.0), so they assign unchanged values when it
 *   is false, as TF's V1 layer; the non-fused path still builds both
 *   branches and selects with tg_where.
 * Virtual batch size v: x [B, ...] is reshaped to [v, B/v, ...] (row r goes
 * to ghost batch r mod (B/v), as TF), each ghost batch normalized with its
 * own statistics, the moving statistics updated with the mean over ghost
 * batches of their means and biased variances. Renorm (TF 1.15): with s =
 * sqrt(var + eps), r = s / max(renorm_stddev, sqrt(eps)) and d = (mean -
 * renorm_mean) / max(renorm_stddev, sqrt(eps)) (pre-update values, clipped
 * per renorm_clipping, stop_gradient; r = 1, d = 0 in inference) give
 * y = x_hat * (r * gamma) + (d * gamma + beta); the updates move renorm_mean
 * and renorm_stddev (renorm_momentum), moving_mean and moving_stddev
 * (momentum), then moving_variance = max(moving_stddev^2 - eps, 0)
 * ("AssignNewValue").
 *
 * Errors (sticky INVALID_ARGUMENT): at construction "BatchNormalization:
 * option 'axis' has entries beyond n_axis (1); set n_axis to the number of
 * axes", n_axis outside [0, TG_MAX_RANK], "tg_tf_layers_batch_normalization_new:
 * option 'training' is the functional form's; pass training when applying
 * the layer (tg_layer_call)" (likewise 'training_t': TF's TypeError for
 * training= in a constructor); at build "Input has undefined rank: None",
 * "Invalid axis: 4", "Duplicate axis: [1, 2, 1]", "Input has undefined `axis`
 * dimension. Input shape: [None, None]", "virtual_batch_size must be a positive
 * integer that divides the true batch size of the input Tensor", "When using
 * virtual_batch_size, the batch dimension must be 0 and thus axis cannot
 * include 0", "When using virtual_batch_size, adjustment cannot be
 * specified", a non-float input; UNIMPLEMENTED for renorm with a random
 * moving_variance_initializer (its square root cannot be expressed as an
 * initializer); at apply a training tensor that is not a bool scalar, and
 * the input spec's errors. Run time: a batch that virtual_batch_size does not
 * divide fails the "Reshape" ("Input to reshape is a tensor with ..."). */
TG_API tg_layer *tg_tf_layers_batch_normalization_new(tg_graph *g, const tg_tf_layers_batch_norm_opts *opts);

/* tf.layers.batch_normalization(inputs, ..., training=False, name, reuse):
 * a BatchNormalization applied once with opts->training / training_t, its
 * scope exactly variable_scope(name) when named (so two calls with one name
 * share variables only with reuse TG_REUSE_TRUE or TG_AUTO_REUSE; otherwise
 * "Variable bn/gamma already exists, disallowed. ..."). Ownership: the
 * result belongs to the graph. Errors as the class. */
TG_API tg_tensor *tg_tf_layers_batch_normalization(tg_graph *g, tg_tensor *inputs,
                                                   const tg_tf_layers_batch_norm_opts *opts);

/* ---- tf.compat.v1.keras.layers.BatchNormalization ------------------------------------ */

/* tf.compat.v1.keras.backend.learning_phase(): the graph's bool scalar
 * "keras_learning_phase", a PlaceholderWithDefault of False made at the
 * root name scope on first use (outside control-dependency blocks). Feed it
 * true to train Keras layers applied without a training argument.
 * Ownership: belongs to the graph. Errors: NULL on a NULL or failed graph. */
TG_API tg_tensor *tg_keras_backend_learning_phase(tg_graph *g);

/* tf.compat.v1.keras.layers.BatchNormalization(...): the same layer (same
 * opts; reuse, training and training_t are refused) with Keras' differences:
 * - named "batch_normalization", "batch_normalization_1", ... (zero-based);
 *   each apply enters name scope <name>; variables are made directly
 *   (tg_variable_new, outside the variable store): "batch_normalization/gamma",
 *   ...; GLOBAL_VARIABLES (+ TRAINABLE_VARIABLES for gamma and beta).
 * - training is given at apply: tg_layer_apply's tensor, or tg_layer_call's
 *   opts; none given is the learning phase (tg_keras_backend_learning_phase),
 *   so both branches are built and an unfed run uses the moving statistics.
 * - updates stay on the layer (tg_layer_updates, tg_layer_get_updates_for):
 *   never in UPDATE_OPS; regularizer terms are in tg_layer_losses only, not
 *   REGULARIZATION_LOSSES.
 * - fused (Keras' meaning): TRUE is "fused or an error": at construction
 *   INVALID_ARGUMENT "Passing both fused=True and renorm=True is unsupported",
 *   "Passing fused=True is only supported when axis is 1 or 3",
 *   "Passing fused=True is unsupported when virtual_batch_size is specified.",
 *   "Passing fused=True is unsupported when adjustment is specified.", and
 *   at build "Batch normalization layers with fused=True only support 4D
 *   input tensors."; DEFAULT is fused when possible; FALSE never.
 * The moving statistics follow moving = moving * momentum + batch * (1 -
 * momentum) (computed as TF does, moving -= (moving - batch) * (1 - momentum)).
 * Ownership: the graph's (see Objects above). Errors: as tf.layers' class, plus the
 * fused ones above and INVALID_ARGUMENT "tg_keras_layers_batch_normalization_new:
 * option 'reuse' is not a Keras argument ..." for a reuse other than
 * TG_REUSE_INHERIT. */
TG_API tg_layer *tg_keras_layers_batch_normalization_new(tg_graph *g, const tg_tf_layers_batch_norm_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
