/* tf_layers_core.c: tf.layers.Dense, Flatten and Dropout (TF 1.15's
 * tensorflow/python/layers/core.py over keras/layers/core.py) as layer types
 * of layer.c, with their functional forms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_internal.h"

static bool usable(const tg_graph *g) { return g && tg_graph_status(g) == TG_OK; }

static void *new_state(tg_graph *g, size_t size) {
    void *p = calloc(1, size);
    if (!p) tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
    return p;
}

/* ---- Dense ------------------------------------------------------------------------------ */

typedef struct dense {
    int units;
    tg_layers_activation_fn activation;
    bool use_bias;
    tg_initializer kernel_init, bias_init;
    tg_regularizer kernel_reg, bias_reg;
    tg_constraint kernel_constraint, bias_constraint;
    tg_variable *kernel, *bias;
} dense;

static tg_code dense_build(tg_layer *l, tg_shape s) {
    dense *d = l->state;
    tg_graph *g = l->g;
    tg_dtype dt = tg__layer_dtype(l);
    if (dt != TG_FLOAT32 && dt != TG_FLOAT64)
        return tg_graph_fail(g, TG_INVALID_ARGUMENT, "Unable to build `Dense` layer with non-floating point dtype %s",
                             tg_dtype_name(dt));
    int64_t last = s.rank >= 1 ? s.dims[s.rank - 1] : -1;
    if (last < 0)
        return tg_graph_fail(g, TG_INVALID_ARGUMENT,
                             "The last dimension of the inputs to `Dense` should be defined. Found `None`.");
    l->input_spec = (tg__input_spec){.ndim = -1, .min_ndim = 2, .max_ndim = -1, .n_axes = 1, .axes = {-1}, .axis_values = {last}};
    TG_OPTS(tg_layer_add_variable_opts, ko, .initializer = d->kernel_init, .regularizer = d->kernel_reg,
            .constraint = d->kernel_constraint);
    TG_OPTS(tg_layer_add_variable_opts, bo, .initializer = d->bias_init, .regularizer = d->bias_reg,
            .constraint = d->bias_constraint);
    d->kernel = tg_layer_add_variable(l, "kernel", dt, TG_SHAPE(last, d->units), &ko);
    if (d->kernel && d->use_bias) d->bias = tg_layer_add_variable(l, "bias", dt, TG_SHAPE(d->units), &bo);
    return tg_graph_status(g);
}

/* TF's tensordot(inputs, kernel, [[rank - 1], [0]]) in scope "Tensordot":
 * inputs flattened to [-1, in], MatMul, reshaped back to [..., units] by the
 * op "Tensordot" itself (statically when at most one dimension is unknown,
 * else from the Shape of inputs). */
static tg_tensor *tensordot(tg_graph *g, tg_tensor *x, tg_tensor *kernel, int units) {
    tg_shape s = tg_tensor_shape(x);
    int r = s.rank, unknown = 0;
    int64_t prod = 1;
    for (int i = 0; i < r - 1; i++) {
        if (s.dims[i] < 0) unknown++;
        else prod *= s.dims[i];
    }
    tg_shape flat = {.rank = 2, .dims = {unknown ? -1 : prod, s.dims[r - 1]}};
    tg_tensor *out = NULL;
    TG_WITH_NAME_SCOPE(g, "Tensordot") {
        char exact[512];
        snprintf(exact, sizeof exact, "%s", tg_graph_name_scope(g)); /* "dense/Tensordot/": the op itself */
        tg_tensor *m = tg_matmul(g, tg_reshape(g, x, flat, NULL), kernel, NULL);
        if (unknown <= 1) {
            tg_shape os = s;
            os.dims[r - 1] = units;
            out = tg_reshape(g, m, os, exact);
        } else {
            tg_tensor *free_dims =
                tg_slice(g, tg_shape_of(g, x, NULL), (int64_t[]){0}, (int64_t[]){r - 1}, 1, NULL);
            tg_tensor *parts[2] = {free_dims, tg_constant_data(g, TG_INT32, TG_SHAPE(1), (int32_t[]){units}, NULL)};
            out = tg_reshape_t(g, m, tg_concat(g, parts, 2, 0, NULL), exact);
        }
    }
    return out;
}

static tg_tensor *dense_call(tg_layer *l, tg_tensor *x, tg__layer_training training) {
    (void)training;
    dense *d = l->state;
    tg_graph *g = l->g;
    tg_tensor *kernel = tg_variable_value(d->kernel), *y;
    if (tg_tensor_shape(x).rank > 2) {
        y = tensordot(g, x, kernel, d->units);
    } else {
        /* Dense.call casts rank-2 inputs to the layer's dtype */
        if (tg_tensor_dtype(x) != tg_variable_dtype(d->kernel)) x = tg_cast(g, x, tg_variable_dtype(d->kernel), NULL);
        y = tg_matmul(g, x, kernel, NULL);
    }
    if (d->use_bias) y = tg_nn_bias_add(g, y, tg_variable_value(d->bias), TG_NHWC, NULL);
    if (d->activation && y) y = d->activation(g, y, NULL);
    return y;
}

static const tg__layer_vtable dense_vt = {.base_name = "dense", .build = dense_build, .call = dense_call};

static tg_layer *make_dense(tg_graph *g, int units, const tg_tf_layers_dense_opts *opts, bool functional) {
    if (!usable(g)) return NULL;
    tg_tf_layers_dense_opts o;
    if (!TG__OPTS_RESOLVE(g, functional ? "tg_tf_layers_dense" : "tg_tf_layers_dense_new", tg_tf_layers_dense_opts,
                          TG_TF_LAYERS_DENSE_OPTS_INIT, opts, o))
        return NULL;
    if (units <= 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "Received an invalid value for `units`, expected a positive integer. Received: units=%d", units);
        return NULL;
    }
    dense *d = new_state(g, sizeof *d);
    if (!d) return NULL;
    *d = (dense){
        .units = units,
        .activation = o.activation,
        .use_bias = o.use_bias,
        .kernel_init = o.kernel_initializer, /* zeroed (None): the scope's, else glorot_uniform */
        .bias_init = o.bias_initializer,
        .kernel_reg = o.kernel_regularizer,
        .bias_reg = o.bias_regularizer,
        .kernel_constraint = o.kernel_constraint,
        .bias_constraint = o.bias_constraint,
    };
    tg_layer *l = tg__layer_new(g, &dense_vt, d,
                                &(tg__layer_base_opts){.name = o.name,
                                                       .trainable = o.trainable,
                                                       .reuse = o.reuse,
                                                       .scope_is_name = functional,
                                                       .activity_regularizer = o.activity_regularizer});
    if (l) l->input_spec = (tg__input_spec){.ndim = -1, .min_ndim = 2, .max_ndim = -1};
    return l;
}

tg_layer *tg_tf_layers_dense_new(tg_graph *g, int units, const tg_tf_layers_dense_opts *opts) {
    return make_dense(g, units, opts, false);
}

tg_tensor *tg_tf_layers_dense(tg_graph *g, tg_tensor *inputs, int units, const tg_tf_layers_dense_opts *opts) {
    if (!usable(g) || !inputs) return NULL;
    return tg__layer_apply_once(make_dense(g, units, opts, true), inputs, (tg__layer_training){0});
}

/* ---- Flatten -------------------------------------------------------------------------------- */

typedef struct flatten {
    tg_data_format data_format;
} flatten;

/* Keras' Flatten.call: channels moved last for channels_first, then a
 * Reshape to (batch, -1) with the batch size known statically where it can
 * be, else taken from the Shape of the input. */
static tg_tensor *flatten_call(tg_layer *l, tg_tensor *x, tg__layer_training training) {
    (void)training;
    flatten *f = l->state;
    tg_graph *g = l->g;
    tg_shape s = tg_tensor_shape(x);
    if (f->data_format == TG_NCHW && s.rank > 1) {
        int perm[TG_MAX_RANK], n = 0;
        perm[n++] = 0;
        for (int i = 2; i < s.rank; i++) perm[n++] = i;
        perm[n++] = 1;
        x = tg_transpose(g, x, perm, n, NULL);
        s = tg_tensor_shape(x);
    }
    int64_t prod = 1;
    bool rest_known = true;
    for (int i = 1; i < s.rank; i++) {
        if (s.dims[i] < 0) rest_known = false;
        else prod *= s.dims[i];
    }
    if (rest_known) return tg_reshape(g, x, (tg_shape){.rank = 2, .dims = {-1, prod}}, NULL);
    if (s.dims[0] >= 0) return tg_reshape(g, x, (tg_shape){.rank = 2, .dims = {s.dims[0], -1}}, NULL);
    tg_tensor *batch = tg_slice(g, tg_shape_of(g, x, NULL), (int64_t[]){0}, (int64_t[]){1}, 1, NULL);
    tg_tensor *parts[2] = {batch, tg_constant_data(g, TG_INT32, TG_SHAPE(1), (int32_t[]){-1}, NULL)};
    return tg_reshape_t(g, x, tg_concat(g, parts, 2, 0, NULL), NULL);
}

static const tg__layer_vtable flatten_vt = {.base_name = "flatten", .call = flatten_call};

static tg_layer *make_flatten(tg_graph *g, const tg_tf_layers_flatten_opts *opts, bool functional) {
    if (!usable(g)) return NULL;
    const tg_tf_layers_flatten_opts o = opts ? *opts : (tg_tf_layers_flatten_opts){0};
    if (!tg__layer_check_data_format(g, o.data_format)) return NULL;
    flatten *f = new_state(g, sizeof *f);
    if (!f) return NULL;
    f->data_format = o.data_format;
    tg_layer *l = tg__layer_new(g, &flatten_vt, f, &(tg__layer_base_opts){.name = o.name, .scope_is_name = functional});
    if (l) l->input_spec = (tg__input_spec){.ndim = -1, .min_ndim = 1, .max_ndim = -1};
    return l;
}

tg_layer *tg_tf_layers_flatten_new(tg_graph *g, const tg_tf_layers_flatten_opts *opts) {
    return make_flatten(g, opts, false);
}

tg_tensor *tg_tf_layers_flatten(tg_graph *g, tg_tensor *inputs, const tg_tf_layers_flatten_opts *opts) {
    if (!usable(g) || !inputs) return NULL;
    return tg__layer_apply_once(make_flatten(g, opts, true), inputs, (tg__layer_training){0});
}

/* ---- Dropout --------------------------------------------------------------------------------- */

typedef struct dropout {
    double rate;
    int64_t seed;
} dropout;

/* Keras' Dropout.call: smart_cond(training, nn.dropout, identity). A static
 * False gives "Identity"; a tensor lets tg_nn_dropout decide at run time. */
static tg_tensor *dropout_call(tg_layer *l, tg_tensor *x, tg__layer_training training) {
    dropout *d = l->state;
    if (!training.tensor && !training.value) return tg_identity(l->g, x, NULL);
    tg_dropout_opts o = TG_DROPOUT_OPTS_INIT;
    o.rate = d->rate;
    o.seed = d->seed;
    o.training_t = training.tensor;
    return tg_nn_dropout(l->g, x, &o);
}

static const tg__layer_vtable dropout_vt = {.base_name = "dropout", .call = dropout_call};

static tg_layer *make_dropout(tg_graph *g, const tg_tf_layers_dropout_opts *opts, bool functional) {
    if (!usable(g)) return NULL;
    tg_tf_layers_dropout_opts o;
    if (!TG__OPTS_RESOLVE(g, functional ? "tg_tf_layers_dropout" : "tg_tf_layers_dropout_new",
                          tg_tf_layers_dropout_opts, TG_TF_LAYERS_DROPOUT_OPTS_INIT, opts, o))
        return NULL;
    /* TF's Dropout(training=...) is a TypeError; dropped silently it would
     * leave dropout off where it was asked for. */
    if (!functional && (o.training || o.training_t)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "tg_tf_layers_dropout_new: option '%s' is the functional form's; pass training when applying "
                      "the layer (tg_layer_call)",
                      o.training ? "training" : "training_t");
        return NULL;
    }
    dropout *d = new_state(g, sizeof *d);
    if (!d) return NULL;
    *d = (dropout){.rate = o.rate, .seed = o.seed};
    return tg__layer_new(g, &dropout_vt, d, &(tg__layer_base_opts){.name = o.name, .scope_is_name = functional});
}

tg_layer *tg_tf_layers_dropout_new(tg_graph *g, const tg_tf_layers_dropout_opts *opts) {
    return make_dropout(g, opts, false);
}

tg_tensor *tg_tf_layers_dropout(tg_graph *g, tg_tensor *inputs, const tg_tf_layers_dropout_opts *opts) {
    if (!usable(g) || !inputs) return NULL;
    tg_tf_layers_dropout_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_tf_layers_dropout", tg_tf_layers_dropout_opts, TG_TF_LAYERS_DROPOUT_OPTS_INIT, opts,
                          o))
        return NULL;
    tg__layer_training tr = {.tensor = o.training_t, .value = o.training};
    return tg__layer_apply_once(make_dropout(g, &o, true), inputs, tr);
}
