/* tf.contrib.layers' functional layers (TF 1.15): fully_connected, conv2d,
 * flatten, max_pool2d, avg_pool2d and dropout, built from public ops only.
 *
 * TF 1.15 builds fully_connected and conv2d as a core layer (Dense,
 * Conv2D) inside variable scope "fully_connected" / "Conv" with a custom
 * getter that renames kernel/bias to weights/biases and makes them model
 * variables. What that gives, and what is reproduced here:
 * - ops in the layer's own name scope ("fully_connected/MatMul");
 * - variables "<scope>/weights" and "<scope>/biases" in GLOBAL_VARIABLES,
 *   MODEL_VARIABLES (+ TRAINABLE_VARIABLES) and variables_collections
 *   (added only once, as _add_variable_to_collections does);
 * - a layer regularizer evaluated by the layer (not by get_variable) in name
 *   scope "kernel/Regularizer" / "bias/Regularizer", only when the variable
 *   is new;
 * - the explicit default initializers (xavier, zeros) override the
 *   enclosing variable scope's initializer; TF's None falls back to it.
 * Every argument check runs before the layer opens its scope, so a rejected
 * call leaves no trace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgraph.h"
#include "layers_util.h"
#include "txn.h"
#include "bn_record.h"

const tg_initializer tg_layers_xavier_initializer = TG_GLOROT_UNIFORM_INITIALIZER;
const tg_initializer tg_layers_zeros_initializer = TG_ZEROS_INITIALIZER;

tg_tensor *tg_linear(tg_graph *g, tg_tensor *x, const char *name) {
    (void)name;
    if (!g || tg_graph_status(g) != TG_OK) return NULL;
    return x;
}

/* ---- shared helpers ------------------------------------------------------------- */

static bool usable(tg_graph *g, tg_tensor *x) { return g && x && tg_graph_status(g) == TG_OK; }

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

/* Python's TensorShape.as_list() text: "[None, 3]". */
static const char *shape_list(const tg_shape *s, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s->rank && k < n; i++) {
        if (s->dims[i] < 0)
            k += (size_t)snprintf(buf + k, n - k, "%sNone", i ? ", " : "");
        else
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)s->dims[i]);
    }
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* Keras' InputSpec check message. */
static void fail_ndim(tg_graph *g, const char *layer, const char *kind, int want, const tg_shape *s) {
    char b[256];
    tg_graph_fail(g, TG_INVALID_ARGUMENT,
                  "Input 0 of layer %s is incompatible with the layer: expected %s=%d, found ndim=%d. "
                  "Full shape received: %s",
                  layer, kind, want, s->rank, shape_list(s, b, sizeof b));
}

/* "a/b" (or "b" at the root); NULL when out of memory. */
static char *join_name(const char *scope, const char *name) {
    size_t n = strlen(scope) + strlen(name) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", scope, *scope ? "/" : "", name);
    return s;
}


/* TF's collect_named_outputs. TF also appends the layer's scope name to the
 * tensor's `aliases`; tgraph has no tensor aliases, so only the collections
 * are filled. */
static tg_tensor *collect_outputs(tg_graph *g, tg_tensor *out, const char *const *keys, int n) {
    if (!out || n <= 0 || !keys) return out;
    tg_add_to_collections(g, keys, n, TG_ITEM_OF_TENSOR(out));
    return tg_graph_status(g) == TG_OK ? out : NULL;
}

/* ---- fully_connected and conv2d: the shared skeleton ------------------------------- */

/* The options fully_connected and conv2d share, resolved. */
typedef struct layer_opts {
    const char *scope, *default_scope;
    tg_layers_activation_fn activation_fn;
    tg_layers_normalizer_fn normalizer_fn;
    const void *normalizer_params;
    const tg_initializer *weights_initializer, *biases_initializer;
    tg_regularizer weights_regularizer, biases_regularizer;
    tg_reuse reuse;
    const char *const *variables_collections, *const *weights_collections, *const *biases_collections;
    int n_variables_collections, n_weights_collections, n_biases_collections;
    const char *const *outputs_collections;
    int n_outputs_collections;
    bool trainable;
} layer_opts;

#define LAYER_OPTS(o, dflt)                                                                              \
    ((layer_opts){.scope = (o).scope,                                                                   \
                  .default_scope = (dflt),                                                              \
                  .activation_fn = (o).activation_fn,                                                      \
                  .normalizer_fn = (o).normalizer_fn,                                                   \
                  .normalizer_params = (o).normalizer_params,                                           \
                  .weights_initializer = (o).weights_initializer,                                       \
                  .biases_initializer = (o).biases_initializer,                                         \
                  .weights_regularizer = (o).weights_regularizer,                                       \
                  .biases_regularizer = (o).biases_regularizer,                                         \
                  .reuse = (o).reuse,                                                                   \
                  .variables_collections = (o).variables_collections,                                   \
                  .weights_collections = (o).weights_collections,                                       \
                  .biases_collections = (o).biases_collections,                                         \
                  .n_variables_collections = (o).n_variables_collections,                               \
                  .n_weights_collections = (o).n_weights_collections,                                   \
                  .n_biases_collections = (o).n_biases_collections,                                     \
                  .outputs_collections = (o).outputs_collections,                                       \
                  .n_outputs_collections = (o).n_outputs_collections,                                   \
                  .trainable = (o).trainable})

static bool check_lists(tg_graph *g, const layer_opts *o) {
    const char *who = o->scope ? o->scope : o->default_scope;
    if (!tg_graph_check_list(g, who, "variables_collections", o->variables_collections, o->n_variables_collections) ||
        !tg_graph_check_list(g, who, "weights_collections", o->weights_collections, o->n_weights_collections) ||
        !tg_graph_check_list(g, who, "biases_collections", o->biases_collections, o->n_biases_collections) ||
        !tg_graph_check_list(g, who, "outputs_collections", o->outputs_collections, o->n_outputs_collections))
        return false;
    if ((unsigned)o->reuse > TG_AUTO_REUSE) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: option 'reuse' has the invalid value %d",
                      o->scope ? o->scope : o->default_scope, (int)o->reuse);
        return false;
    }
    return true;
}

/* contrib's model_variable through the core layer's add_weight: `name` in
 * the current variable scope, `keras_name` ("kernel", "bias") naming the
 * regularizer's scope. */
static tg_variable *model_variable(tg_graph *g, const layer_opts *o, const char *name, const char *keras_name,
                                   tg_dtype dtype, tg_shape shape, const tg_initializer *init, tg_regularizer reg,
                                   const char *const *own, int n_own) {
    char *full = join_name(tg_variable_scope_name(g), name);
    if (!full) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    bool existed = tg_graph_variable(g, full) != NULL;
    free(full);
    static const char *const model_collections[] = {TG_GRAPHKEYS_GLOBAL_VARIABLES, TG_GRAPHKEYS_MODEL_VARIABLES};
    /* init NULL is TF's None: the scope's initializer, else glorot uniform */
    TG_OPTS(tg_get_variable_opts, vo, .initializer = init ? *init : (tg_initializer){0}, .trainable = o->trainable,
            .collections = model_collections, .n_collections = 2);
    tg_variable *v = tg_get_variable(g, name, dtype, shape, &vo);
    if (!v) return NULL;
    if (!existed && reg.fn) {
        char rs[64];
        snprintf(rs, sizeof rs, "%s/Regularizer", keras_name);
        tg_tensor *loss = NULL;
        TG_WITH_NAME_SCOPE(g, rs) { loss = reg.fn(g, tg_variable_value(v), &reg); }
        if (loss) tg_add_to_collection(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, TG_ITEM_OF_TENSOR(loss));
        if (tg_graph_status(g) != TG_OK) return NULL;
    }
    tg__add_variable_once(g, v, o->variables_collections, o->n_variables_collections);
    tg__add_variable_once(g, v, own, n_own);
    return tg_graph_status(g) == TG_OK ? v : NULL;
}

/* What differs between the two layers: the weights' shape and the linear op. */
typedef struct linear_spec {
    tg_shape weights_shape;
    int num_outputs;
    tg_data_format data_format; /* for BiasAdd */
    tg_tensor *(*apply)(tg_graph *g, tg_tensor *x, tg_tensor *weights, const struct linear_spec *spec);
    tg_conv2d_opts conv;        /* conv2d only */
} linear_spec;

/* Inside the layer's scope: weights, the linear op, biases or the
 * normalizer, then the activation (contrib's order). */
static tg_tensor *build_layer(tg_graph *g, tg_tensor *x, const layer_opts *o, const linear_spec *spec) {
    tg_dtype dtype = tg_tensor_dtype(x);
    tg_variable *w = model_variable(g, o, "weights", "kernel", dtype, spec->weights_shape, o->weights_initializer,
                                    o->weights_regularizer, o->weights_collections, o->n_weights_collections);
    if (!w) return NULL;
    bool use_bias = !o->normalizer_fn && o->biases_initializer;
    tg_variable *b = NULL;
    if (use_bias) {
        b = model_variable(g, o, "biases", "bias", dtype, TG_SHAPE(spec->num_outputs), o->biases_initializer,
                           o->biases_regularizer, o->biases_collections, o->n_biases_collections);
        if (!b) return NULL;
    }
    tg_tensor *out = spec->apply(g, x, tg_variable_value(w), spec);
    if (b) out = tg_nn_bias_add(g, out, tg_variable_value(b), spec->data_format, NULL);
    if (!out) return NULL;
    if (o->normalizer_fn) {
        out = o->normalizer_fn(g, out, o->normalizer_params);
        if (!out) {
            if (tg_graph_status(g) == TG_OK)
                tg_graph_fail(g, TG_INVALID_ARGUMENT, "%snormalizer_fn returned NULL", tg_graph_name_scope(g));
            return NULL;
        }
    }
    if (!o->activation_fn) return out; /* TF's activation_fn=None */
    tg_tensor *act = o->activation_fn(g, out, NULL);
    if (!act && tg_graph_status(g) == TG_OK)
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%sactivation_fn returned NULL", tg_graph_name_scope(g));
    return act;
}

/* One transaction: a layer rejected half-way (its normalizer or
 * activation failing, a shape the op refuses) leaves no variable, op or
 * collection item behind, so a corrected retry builds the same names. */
static tg_tensor *layer(tg_graph *g, tg_tensor *x, const layer_opts *o, const linear_spec *spec) {
    int mark = tg__bn_records_mark(g); /* a normalizer's record goes with the rollback */
    tg__txn *t = tg__txn_begin(g);
    int tok = tg_variable_scope_push(g, o->scope, &(tg_variable_scope_opts){.default_name = o->default_scope,
                                                                           .reuse = o->reuse});
    tg_tensor *out = tg_graph_status(g) == TG_OK ? build_layer(g, x, o, spec) : NULL;
    tg_scope_pop(g, tok);
    out = collect_outputs(g, out, o->outputs_collections, o->n_outputs_collections);
    tg__txn_end(g, t);
    tg__bn_records_rollback(g, mark);
    return tg_graph_status(g) == TG_OK ? out : NULL;
}

/* ---- fully_connected ---------------------------------------------------------------- */

/* TF 1.15's tensordot(x, w, [[rank - 1], [0]]) for rank > 2: x as a matrix,
 * MatMul, and back to x's leading dimensions + [units]. */
static tg_tensor *tensordot(tg_graph *g, tg_tensor *x, tg_tensor *w, const linear_spec *spec) {
    tg_shape s = tg_tensor_shape(x);
    int r = s.rank, unknown = 0;
    for (int i = 0; i < r - 1; i++) unknown += s.dims[i] < 0;
    tg_tensor *out = NULL;
    TG_WITH_NAME_SCOPE(g, "Tensordot") {
        char name[1024];
        snprintf(name, sizeof name, "%s", tg_graph_name_scope(g)); /* the op closing the scope */
        tg_tensor *flat = tg_reshape(g, x, TG_SHAPE(-1, s.dims[r - 1]), "Reshape");
        tg_tensor *ab = tg_matmul(g, flat, w, &(tg_matmul_opts){.name = "MatMul"});
        if (unknown <= 1) {
            tg_shape os = {.rank = r};
            for (int i = 0; i < r - 1; i++) os.dims[i] = s.dims[i] < 0 ? -1 : s.dims[i];
            os.dims[r - 1] = spec->num_outputs;
            out = tg_reshape(g, ab, os, name);
        } else {
            int64_t begin = 0, size = r - 1;
            tg_tensor *free_dims = tg_slice(g, tg_shape_of(g, x, NULL), &begin, &size, 1, NULL);
            int32_t units = spec->num_outputs;
            tg_tensor *parts[2] = {free_dims, tg_constant_data(g, TG_INT32, TG_SHAPE(1), &units, "units")};
            out = tg_reshape_t(g, ab, tg_concat(g, parts, 2, 0, NULL), name);
        }
    }
    return out;
}

static tg_tensor *dense_apply(tg_graph *g, tg_tensor *x, tg_tensor *w, const linear_spec *spec) {
    if (tg_tensor_shape(x).rank > 2) return tensordot(g, x, w, spec);
    return tg_matmul(g, x, w, NULL);
}

tg_tensor *tg_layers_fully_connected(tg_graph *g, tg_tensor *inputs, int num_outputs, const tg_layers_fc_opts *opts) {
    if (!usable(g, inputs)) return NULL;
    tg_layers_fc_opts oo;
    if (!TG__OPTS_RESOLVE(g, "tg_layers_fully_connected", tg_layers_fc_opts, TG_LAYERS_FC_OPTS_INIT, opts, oo))
        return NULL;
    const layer_opts o = LAYER_OPTS(oo, "fully_connected");
    const char *who = o.scope ? o.scope : o.default_scope;
    if (!check_lists(g, &o)) return NULL;
    if (num_outputs < 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: num_outputs must be non-negative, got %d", who, num_outputs);
        return NULL;
    }
    tg_shape s = tg_tensor_shape(inputs);
    if (s.rank >= 0 && s.rank < 2) {
        fail_ndim(g, who, "min_ndim", 2, &s);
        return NULL;
    }
    if (s.rank < 0 || s.dims[s.rank - 1] < 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "%s: The last dimension of the inputs to `Dense` should be defined. Found `None`.", who);
        return NULL;
    }
    tg_dtype dtype = tg_tensor_dtype(inputs);
    if (!is_float(dtype)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: Unable to build `Dense` layer with non-floating point dtype %s",
                      who, tg_dtype_name(dtype));
        return NULL;
    }
    linear_spec spec = {
        .weights_shape = TG_SHAPE(s.dims[s.rank - 1], num_outputs),
        .num_outputs = num_outputs,
        .data_format = TG_NHWC,
        .apply = dense_apply,
    };
    return layer(g, inputs, &o, &spec);
}

/* ---- conv2d ---------------------------------------------------------------------- */

static tg_tensor *conv_apply(tg_graph *g, tg_tensor *x, tg_tensor *w, const linear_spec *spec) {
    return tg_nn_conv2d(g, x, w, &spec->conv);
}

/* Fills a data-format-ordered [4] from (h, w). */
static void nhwc4(int out[4], tg_data_format df, int h, int w) {
    if (df == TG_NCHW) {
        out[0] = 1, out[1] = 1, out[2] = h, out[3] = w;
    } else {
        out[0] = 1, out[1] = h, out[2] = w, out[3] = 1;
    }
}

/* A (height, width) pair into out: for option fields (zero_ok) a 0
 * component takes the default; what remains must be positive. */
static bool resolve_hw(tg_graph *g, const char *who, const char *what, const int *in, int out[2], int dflt,
                       bool zero_ok) {
    if (!in) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: %s is NULL", who, what);
        return false;
    }
    for (int i = 0; i < 2; i++) out[i] = zero_ok && in[i] == 0 ? dflt : in[i];
    /* `.stride = 2` is {2, 0} in C: TF's int form, (2, 2), not (2, default). */
    if (zero_ok && in[0] > 0 && in[1] == 0) out[1] = in[0];
    if (out[0] > 0 && out[1] > 0) return true;
    tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: %s must be positive, got (%d, %d)", who, what, in[0], in[1]);
    return false;
}

static bool check_padding(tg_graph *g, const char *who, tg_padding *p, tg_padding dflt) {
    if (*p == 0) *p = dflt;
    if (*p == TG_PADDING_SAME || *p == TG_PADDING_VALID) return true;
    tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: padding must be SAME or VALID, got %d", who, (int)*p);
    return false;
}

tg_tensor *tg_layers_conv2d(tg_graph *g, tg_tensor *inputs, int num_outputs, const int kernel_size[2],
                            const tg_layers_conv2d_opts *opts) {
    if (!usable(g, inputs)) return NULL;
    tg_layers_conv2d_opts oo;
    if (!TG__OPTS_RESOLVE(g, "tg_layers_conv2d", tg_layers_conv2d_opts, TG_LAYERS_CONV2D_OPTS_INIT, opts, oo))
        return NULL;
    const layer_opts o = LAYER_OPTS(oo, "Conv");
    const char *who = o.scope ? o.scope : o.default_scope;
    if (!check_lists(g, &o)) return NULL;
    tg_data_format df = oo.data_format;
    if (df != TG_NHWC && df != TG_NCHW) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: Invalid data_format: %d", who, (int)df);
        return NULL;
    }
    tg_shape s = tg_tensor_shape(inputs);
    if (s.rank != 4) {
        if (s.rank < 0)
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: Convolution expects input with rank 4, got None", who);
        else
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: Convolution expects input with rank 4, got %d", who, s.rank);
        return NULL;
    }
    int64_t in_ch = s.dims[df == TG_NCHW ? 1 : 3];
    if (in_ch < 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "%s: The channel dimension of the inputs should be defined. Found `None`.", who);
        return NULL;
    }
    tg_dtype dtype = tg_tensor_dtype(inputs);
    if (!is_float(dtype)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: inputs must be float32 or float64, got %s", who,
                      tg_dtype_name(dtype));
        return NULL;
    }
    if (num_outputs < 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: num_outputs must be non-negative, got %d", who, num_outputs);
        return NULL;
    }
    int kernel[2], stride[2], rate[2];
    tg_padding padding = oo.padding;
    if (!resolve_hw(g, who, "kernel_size", kernel_size, kernel, 1, false) ||
        !resolve_hw(g, who, "stride", oo.stride, stride, 1, true) ||
        !resolve_hw(g, who, "rate", oo.rate, rate, 1, true) || !check_padding(g, who, &padding, TG_PADDING_SAME))
        return NULL;
    if ((stride[0] > 1 || stride[1] > 1) && (rate[0] > 1 || rate[1] > 1)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: strides > 1 not supported in conjunction with dilation_rate > 1",
                      who);
        return NULL;
    }
    linear_spec spec = {
        .weights_shape = TG_SHAPE(kernel[0], kernel[1], in_ch, num_outputs),
        .num_outputs = num_outputs,
        .data_format = df,
        .apply = conv_apply,
        .conv = {.padding = padding, .data_format = df},
    };
    nhwc4(spec.conv.strides, df, stride[0], stride[1]);
    nhwc4(spec.conv.dilations, df, rate[0], rate[1]);
    return layer(g, inputs, &o, &spec);
}

/* ---- flatten ----------------------------------------------------------------------- */

/* Keras' Flatten.call in TF 1.15: reshape to (-1, prod) when the inner
 * dimensions are known, else (batch, -1) with the batch read at run time
 * when unknown. */
static tg_tensor *flatten_reshape(tg_graph *g, tg_tensor *x, const tg_shape *s) {
    int64_t inner = 1;
    bool known = true;
    for (int i = 1; i < s->rank; i++) {
        if (s->dims[i] < 0) known = false;
        else inner *= s->dims[i];
    }
    if (known) return tg_reshape(g, x, TG_SHAPE(-1, inner), NULL);
    if (s->dims[0] >= 0) return tg_reshape(g, x, TG_SHAPE(s->dims[0], -1), NULL);
    int64_t begin = 0, size = 1;
    int32_t minus_one = -1;
    tg_tensor *parts[2] = {tg_slice(g, tg_shape_of(g, x, NULL), &begin, &size, 1, NULL),
                           tg_constant_data(g, TG_INT32, TG_SHAPE(1), &minus_one, NULL)};
    return tg_reshape_t(g, x, tg_concat(g, parts, 2, 0, NULL), NULL);
}

tg_tensor *tg_layers_flatten(tg_graph *g, tg_tensor *inputs, const tg_layers_flatten_opts *opts) {
    if (!usable(g, inputs)) return NULL;
    const tg_layers_flatten_opts o = opts ? *opts : (tg_layers_flatten_opts){0};
    if (!tg_graph_check_list(g, "Flatten", "outputs_collections", o.outputs_collections, o.n_outputs_collections)) return NULL;
    tg_shape s = tg_tensor_shape(inputs);
    if (s.rank < 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Flatten: as_list() is not defined on an unknown TensorShape.");
        return NULL;
    }
    if (s.rank < 1) {
        fail_ndim(g, "flatten", "min_ndim", 1, &s);
        return NULL;
    }
    tg_tensor *out = NULL;
    /* contrib's name scope, then the core Flatten layer's own scope. */
    int tok = tg_name_scope_push(g, o.scope ? o.scope : "Flatten");
    TG_WITH_VARIABLE_SCOPE(g, NULL, &(tg_variable_scope_opts){.default_name = "flatten"}) {
        out = flatten_reshape(g, inputs, &s);
    }
    tg_scope_pop(g, tok);
    return collect_outputs(g, out, o.outputs_collections, o.n_outputs_collections);
}

/* ---- max_pool2d / avg_pool2d ------------------------------------------------------- */

static tg_tensor *pool2d(tg_graph *g, tg_tensor *x, const int *kernel_size, const tg_layers_pool2d_opts *opts,
                         bool max) {
    if (!usable(g, x)) return NULL;
    const tg_layers_pool2d_opts o = opts ? *opts : (tg_layers_pool2d_opts){0};
    const char *dflt = max ? "MaxPool2D" : "AvgPool2D", *who = o.scope ? o.scope : dflt;
    if (!tg_graph_check_list(g, who, "outputs_collections", o.outputs_collections, o.n_outputs_collections)) return NULL;
    if (o.data_format != TG_NHWC && o.data_format != TG_NCHW) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: data_format has to be either NCHW or NHWC.", who);
        return NULL;
    }
    tg_shape s = tg_tensor_shape(x);
    if (s.rank >= 0 && s.rank != 4) {
        fail_ndim(g, max ? "max_pooling2d" : "average_pooling2d", "ndim", 4, &s);
        return NULL;
    }
    int kernel[2], stride[2];
    tg_padding padding = o.padding;
    if (!resolve_hw(g, who, "kernel_size", kernel_size, kernel, 1, false) ||
        !resolve_hw(g, who, "stride", o.stride, stride, 2, true) || !check_padding(g, who, &padding, TG_PADDING_VALID))
        return NULL;
    tg_pool_opts po = {.padding = padding, .data_format = o.data_format};
    nhwc4(po.ksize, o.data_format, kernel[0], kernel[1]);
    nhwc4(po.strides, o.data_format, stride[0], stride[1]);
    tg_tensor *out = NULL;
    TG_WITH_NAME_SCOPE(g, who) { out = max ? tg_nn_max_pool(g, x, &po) : tg_nn_avg_pool(g, x, &po); }
    return collect_outputs(g, out, o.outputs_collections, o.n_outputs_collections);
}

tg_tensor *tg_layers_max_pool2d(tg_graph *g, tg_tensor *inputs, const int kernel_size[2],
                                const tg_layers_pool2d_opts *opts) {
    return pool2d(g, inputs, kernel_size, opts, true);
}

tg_tensor *tg_layers_avg_pool2d(tg_graph *g, tg_tensor *inputs, const int kernel_size[2],
                                const tg_layers_pool2d_opts *opts) {
    return pool2d(g, inputs, kernel_size, opts, false);
}

/* ---- dropout ------------------------------------------------------------------------ */

tg_tensor *tg_layers_dropout(tg_graph *g, tg_tensor *inputs, const tg_layers_dropout_opts *opts) {
    if (!usable(g, inputs)) return NULL;
    tg_layers_dropout_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_layers_dropout", tg_layers_dropout_opts, TG_LAYERS_DROPOUT_OPTS_INIT, opts, o))
        return NULL;
    const char *who = o.scope ? o.scope : "Dropout";
    if (!tg_graph_check_list(g, who, "outputs_collections", o.outputs_collections, o.n_outputs_collections)) return NULL;
    bool identity = !o.is_training_t && !o.is_training;
    double rate = 1.0 - o.keep_prob;
    /* TF's smart_cond builds only the identity for a static False, so
     * nothing else is checked then. */
    if (!identity) {
        if (!(rate >= 0 && rate < 1)) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT,
                          "%s: rate must be a scalar tensor or a float in the range [0, 1), got %g", who, rate);
            return NULL;
        }
        if (!is_float(tg_tensor_dtype(inputs))) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT,
                          "%s: x has to be a floating point tensor since it's going to be scaled. Got a %s tensor "
                          "instead.",
                          who, tg_dtype_name(tg_tensor_dtype(inputs)));
            return NULL;
        }
        if (o.is_training_t &&
            (tg_tensor_dtype(o.is_training_t) != TG_BOOL || tg_tensor_shape(o.is_training_t).rank > 0)) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: is_training must be a bool scalar", who);
            return NULL;
        }
    }
    tg_tensor *out = NULL;
    TG_WITH_VARIABLE_SCOPE(g, o.scope, &(tg_variable_scope_opts){.default_name = "Dropout"}) {
        if (identity)
            out = tg_identity(g, inputs, NULL);
        else {
            tg_dropout_opts d = TG_DROPOUT_OPTS_INIT;
            d.rate = rate;
            d.seed = o.seed;
            d.training_t = o.is_training_t;
            out = tg_nn_dropout(g, inputs, &d);
        }
    }
    return collect_outputs(g, out, o.outputs_collections, o.n_outputs_collections);
}
