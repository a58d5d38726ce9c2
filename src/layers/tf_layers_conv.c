/* tf_layers_conv.c: tf.layers.Conv2D, MaxPooling2D and AveragePooling2D
 * (TF 1.15's tensorflow/python/layers/convolutional.py and pooling.py over
 * the Keras layers) as layer types of layer.c, with their functional forms. */
#include <stdlib.h>
#include <string.h>

#include "layer_internal.h"

static bool usable(const tg_graph *g) { return g && tg_graph_status(g) == TG_OK; }

/* A required (h, w) argument: both components >= 1. */
static bool check_pair(tg_graph *g, const char *what, const int v[2]) {
    if (v && v[0] >= 1 && v[1] >= 1) return true;
    if (v)
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "The `%s` argument must be a tuple of 2 integers >= 1. Received: (%d, %d)",
                      what, v[0], v[1]);
    else
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "The `%s` argument must be a tuple of 2 integers >= 1. Received: None",
                      what);
    return false;
}

/* An optional (h, w) argument: NULL or a 0 component takes dflt's. */
static bool resolve_pair(tg_graph *g, const char *what, const int v[2], const int dflt[2], int out[2]) {
    if (v && (v[0] < 0 || v[1] < 0)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "The `%s` argument must be a tuple of 2 integers >= 1. Received: (%d, %d)",
                      what, v[0], v[1]);
        return false;
    }
    for (int i = 0; i < 2; i++) out[i] = v && v[i] ? v[i] : dflt[i];
    /* `.strides = 2` is {2, 0} in C: TF's int form, (2, 2), not (2, default). */
    if (v && v[0] > 0 && v[1] == 0) out[1] = v[0];
    return true;
}

static const int ONES[2] = {1, 1};

/* (h, w) spread to a 4-vector in the data format's order. */
static void spatial4(tg_data_format df, const int hw[2], int out[4]) {
    if (df == TG_NCHW) {
        out[0] = out[1] = 1;
        out[2] = hw[0];
        out[3] = hw[1];
    } else {
        out[0] = out[3] = 1;
        out[1] = hw[0];
        out[2] = hw[1];
    }
}

/* ---- Conv2D ------------------------------------------------------------------------------- */

typedef struct conv2d {
    int filters, kernel_size[2], strides[2], dilation_rate[2];
    tg_padding padding;
    tg_data_format data_format;
    tg_layers_activation_fn activation;
    bool use_bias;
    tg_initializer kernel_init, bias_init;
    tg_regularizer kernel_reg, bias_reg;
    tg_constraint kernel_constraint, bias_constraint;
    tg_variable *kernel, *bias;
} conv2d;

static tg_code conv2d_build(tg_layer *l, tg_shape s) {
    conv2d *c = l->state;
    tg_graph *g = l->g;
    int axis = c->data_format == TG_NCHW ? 1 : -1;
    int64_t channels = -1;
    if (s.rank > 1) channels = s.dims[axis < 0 ? s.rank - 1 : axis];
    if (channels < 0)
        return tg_graph_fail(g, TG_INVALID_ARGUMENT, "The channel dimension of the inputs should be defined. Found `None`.");
    tg_dtype dt = tg__layer_dtype(l);
    TG_OPTS(tg_layer_add_variable_opts, ko, .initializer = c->kernel_init, .regularizer = c->kernel_reg,
            .constraint = c->kernel_constraint);
    TG_OPTS(tg_layer_add_variable_opts, bo, .initializer = c->bias_init, .regularizer = c->bias_reg,
            .constraint = c->bias_constraint);
    c->kernel = tg_layer_add_variable(l, "kernel", dt,
                                      TG_SHAPE(c->kernel_size[0], c->kernel_size[1], channels, c->filters), &ko);
    if (c->kernel && c->use_bias) c->bias = tg_layer_add_variable(l, "bias", dt, TG_SHAPE(c->filters), &bo);
    l->input_spec = (tg__input_spec){.ndim = 4, .min_ndim = -1, .max_ndim = -1, .n_axes = 1, .axes = {axis}, .axis_values = {channels}};
    return tg_graph_status(g);
}

static tg_tensor *conv2d_call(tg_layer *l, tg_tensor *x, tg__layer_training training) {
    (void)training;
    conv2d *c = l->state;
    tg_graph *g = l->g;
    tg_conv2d_opts o = {.padding = c->padding, .data_format = c->data_format};
    spatial4(c->data_format, c->strides, o.strides);
    spatial4(c->data_format, c->dilation_rate, o.dilations);
    tg_tensor *y = tg_nn_conv2d(g, x, tg_variable_value(c->kernel), &o);
    if (c->use_bias) y = tg_nn_bias_add(g, y, tg_variable_value(c->bias), c->data_format, NULL);
    if (c->activation && y) y = c->activation(g, y, NULL);
    return y;
}

static const tg__layer_vtable conv2d_vt = {.base_name = "conv2d", .build = conv2d_build, .call = conv2d_call};

static tg_layer *make_conv2d(tg_graph *g, int filters, const int kernel_size[2], const tg_tf_layers_conv2d_opts *opts,
                             bool functional) {
    if (!usable(g)) return NULL;
    tg_tf_layers_conv2d_opts o;
    if (!TG__OPTS_RESOLVE(g, functional ? "tg_tf_layers_conv2d" : "tg_tf_layers_conv2d_new", tg_tf_layers_conv2d_opts,
                          TG_TF_LAYERS_CONV2D_OPTS_INIT, opts, o))
        return NULL;
    if (filters <= 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=%d.",
                      filters);
        return NULL;
    }
    conv2d c = {.filters = filters};
    if (!check_pair(g, "kernel_size", kernel_size) || !resolve_pair(g, "strides", o.strides, ONES, c.strides) ||
        !resolve_pair(g, "dilation_rate", o.dilation_rate, ONES, c.dilation_rate) ||
        !tg__layer_check_padding(g, &o.padding) ||
        !tg__layer_check_data_format(g, o.data_format))
        return NULL;
    if ((c.strides[0] > 1 || c.strides[1] > 1) && (c.dilation_rate[0] > 1 || c.dilation_rate[1] > 1)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "strides > 1 not supported in conjunction with dilation_rate > 1");
        return NULL;
    }
    memcpy(c.kernel_size, kernel_size, sizeof c.kernel_size);
    c.padding = o.padding;
    c.data_format = o.data_format;
    c.activation = o.activation;
    c.use_bias = o.use_bias;
    c.kernel_init = o.kernel_initializer;
    c.bias_init = o.bias_initializer;
    c.kernel_reg = o.kernel_regularizer;
    c.bias_reg = o.bias_regularizer;
    c.kernel_constraint = o.kernel_constraint;
    c.bias_constraint = o.bias_constraint;
    conv2d *state = malloc(sizeof *state);
    if (!state) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    *state = c;
    tg_layer *l = tg__layer_new(g, &conv2d_vt, state,
                                &(tg__layer_base_opts){.name = o.name,
                                                       .trainable = o.trainable,
                                                       .reuse = o.reuse,
                                                       .scope_is_name = functional,
                                                       .activity_regularizer = o.activity_regularizer});
    if (l) l->input_spec = (tg__input_spec){.ndim = 4, .min_ndim = -1, .max_ndim = -1};
    return l;
}

tg_layer *tg_tf_layers_conv2d_new(tg_graph *g, int filters, const int kernel_size[2],
                                  const tg_tf_layers_conv2d_opts *opts) {
    return make_conv2d(g, filters, kernel_size, opts, false);
}

tg_tensor *tg_tf_layers_conv2d(tg_graph *g, tg_tensor *inputs, int filters, const int kernel_size[2],
                               const tg_tf_layers_conv2d_opts *opts) {
    if (!usable(g) || !inputs) return NULL;
    return tg__layer_apply_once(make_conv2d(g, filters, kernel_size, opts, true), inputs, (tg__layer_training){0});
}

/* ---- MaxPooling2D / AveragePooling2D ------------------------------------------------------ */

typedef struct pool2d {
    int pool_size[2], strides[2];
    tg_padding padding;
    tg_data_format data_format;
    bool max;
} pool2d;

/* Keras' Pooling2D.call: nn.max_pool / nn.avg_pool with ksize and strides
 * spread over the data format. */
static tg_tensor *pool2d_call(tg_layer *l, tg_tensor *x, tg__layer_training training) {
    (void)training;
    pool2d *p = l->state;
    tg_pool_opts o = {.padding = p->padding, .data_format = p->data_format};
    spatial4(p->data_format, p->pool_size, o.ksize);
    spatial4(p->data_format, p->strides, o.strides);
    return p->max ? tg_nn_max_pool(l->g, x, &o) : tg_nn_avg_pool(l->g, x, &o);
}

static const tg__layer_vtable max_pool_vt = {.base_name = "max_pooling2d", .call = pool2d_call};
static const tg__layer_vtable avg_pool_vt = {.base_name = "average_pooling2d", .call = pool2d_call};

static tg_layer *make_pool2d(tg_graph *g, bool max, const int pool_size[2], const int strides[2],
                             const tg_tf_layers_pooling2d_opts *opts, bool functional) {
    if (!usable(g)) return NULL;
    tg_tf_layers_pooling2d_opts o = opts ? *opts : (tg_tf_layers_pooling2d_opts){0};
    int st[2];
    if (!check_pair(g, "pool_size", pool_size) || !resolve_pair(g, "strides", strides, pool_size, st) ||
        !tg__layer_check_padding(g, &o.padding) || !tg__layer_check_data_format(g, o.data_format))
        return NULL;
    pool2d *p = malloc(sizeof *p);
    if (!p) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    *p = (pool2d){.padding = o.padding, .data_format = o.data_format, .max = max};
    memcpy(p->pool_size, pool_size, sizeof p->pool_size);
    memcpy(p->strides, st, sizeof p->strides); /* Keras: strides=None is pool_size */
    tg_layer *l = tg__layer_new(g, max ? &max_pool_vt : &avg_pool_vt, p,
                                &(tg__layer_base_opts){.name = o.name, .scope_is_name = functional});
    if (l) l->input_spec = (tg__input_spec){.ndim = 4, .min_ndim = -1, .max_ndim = -1};
    return l;
}

tg_layer *tg_tf_layers_max_pooling2d_new(tg_graph *g, const int pool_size[2], const int strides[2],
                                         const tg_tf_layers_pooling2d_opts *opts) {
    return make_pool2d(g, true, pool_size, strides, opts, false);
}

tg_layer *tg_tf_layers_average_pooling2d_new(tg_graph *g, const int pool_size[2], const int strides[2],
                                             const tg_tf_layers_pooling2d_opts *opts) {
    return make_pool2d(g, false, pool_size, strides, opts, false);
}

tg_tensor *tg_tf_layers_max_pooling2d(tg_graph *g, tg_tensor *inputs, const int pool_size[2], const int strides[2],
                                      const tg_tf_layers_pooling2d_opts *opts) {
    if (!usable(g) || !inputs) return NULL;
    return tg__layer_apply_once(make_pool2d(g, true, pool_size, strides, opts, true), inputs, (tg__layer_training){0});
}

tg_tensor *tg_tf_layers_average_pooling2d(tg_graph *g, tg_tensor *inputs, const int pool_size[2], const int strides[2],
                                          const tg_tf_layers_pooling2d_opts *opts) {
    if (!usable(g) || !inputs) return NULL;
    return tg__layer_apply_once(make_pool2d(g, false, pool_size, strides, opts, true), inputs, (tg__layer_training){0});
}
