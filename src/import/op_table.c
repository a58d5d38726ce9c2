/* One builder per TF op type tgraph has: the NodeDef's attributes become
 * the public builder's arguments, so an imported node is built exactly as
 * tgraph builds that op. A type not listed imports as unsupported. */
#include <stdio.h>
#include <string.h>

#include "import_internal.h"

static tg_op *op_of(tg_tensor *t) { return t ? tg_tensor_op(t) : NULL; }

static tg_op *build_const(tgi_node_ctx *c) {
    const Tensorflow__AttrValue *v = tgi_attr(c->node, "value");
    if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TENSOR) {
        tg_graph_fail(c->g, TG_INVALID_ARGUMENT, "tg_import_graph_def: node %s: attr 'value' must be a tensor",
                      c->node->name);
        return NULL;
    }
    char err[128];
    bool unsupported;
    tg_array *a = tgi_tensor_to_array(v->tensor, &unsupported, err, sizeof err);
    if (!a) {
        if (unsupported) c->unsupported = strcpy(c->reason, err);
        else tg_graph_fail(c->g, TG_INVALID_ARGUMENT, "tg_import_graph_def: node %s: attr 'value': %s", c->node->name, err);
        return NULL;
    }
    tg_op *op = op_of(tg_constant(c->g, a, c->name));
    tg_array_free(a);
    return op;
}

static tg_op *build_placeholder(tgi_node_ctx *c) {
    tg_dtype d = TG_FLOAT32;
    bool ok;
    tg_shape s;
    if (!tgi_attr_type(c, "dtype", true, &d, &ok) || !ok || !tgi_attr_shape(c, "shape", &s)) return NULL;
    return op_of(tg_placeholder(c->g, d, s, c->name));
}

static tg_op *build_placeholder_with_default(tgi_node_ctx *c) {
    tg_shape s;
    if (!tgi_attr_shape(c, "shape", &s)) return NULL;
    return op_of(tg_placeholder_with_default(c->g, c->in[0], s, c->name));
}

static tg_op *build_identity(tgi_node_ctx *c) { return op_of(tg_identity(c->g, c->in[0], c->name)); }
static tg_op *build_stop_gradient(tgi_node_ctx *c) { return op_of(tg_stop_gradient(c->g, c->in[0], c->name)); }
static tg_op *build_no_op(tgi_node_ctx *c) { return tg_no_op(c->g, c->name); }
static tg_op *build_add(tgi_node_ctx *c) { return op_of(tg_add(c->g, c->in[0], c->in[1], c->name)); }
static tg_op *build_sub(tgi_node_ctx *c) { return op_of(tg_subtract(c->g, c->in[0], c->in[1], c->name)); }
static tg_op *build_mul(tgi_node_ctx *c) { return op_of(tg_multiply(c->g, c->in[0], c->in[1], c->name)); }
static tg_op *build_real_div(tgi_node_ctx *c) { return op_of(tg_divide(c->g, c->in[0], c->in[1], c->name)); }
static tg_op *build_relu(tgi_node_ctx *c) { return op_of(tg_nn_relu(c->g, c->in[0], c->name)); }
static tg_op *build_relu6(tgi_node_ctx *c) { return op_of(tg_nn_relu6(c->g, c->in[0], c->name)); }
static tg_op *build_elu(tgi_node_ctx *c) { return op_of(tg_nn_elu(c->g, c->in[0], c->name)); }
static tg_op *build_sigmoid(tgi_node_ctx *c) { return op_of(tg_sigmoid(c->g, c->in[0], c->name)); }
static tg_op *build_tanh(tgi_node_ctx *c) { return op_of(tg_tanh(c->g, c->in[0], c->name)); }
static tg_op *build_softmax(tgi_node_ctx *c) { return op_of(tg_nn_softmax(c->g, c->in[0], c->name)); }
static tg_op *build_log_softmax(tgi_node_ctx *c) { return op_of(tg_nn_log_softmax(c->g, c->in[0], c->name)); }
static tg_op *build_reshape(tgi_node_ctx *c) { return op_of(tg_reshape_t(c->g, c->in[0], c->in[1], c->name)); }

/* An Assign into a variable tgraph could not import (a string one, such
 * as a SavedModel's filename_tensor) cannot be built either. */
static tg_op *build_assign(tgi_node_ctx *c) {
    if (tgi_is_unsupported(tg_tensor_op(c->in[0]))) {
        snprintf(c->reason, sizeof c->reason, "input 0 from the unsupported node %s", tg_op_name(tg_tensor_op(c->in[0])));
        c->unsupported = c->reason;
        return NULL;
    }
    return op_of(tg_assign(c->g, c->in[0], c->in[1], c->name));
}

static tg_op *build_matmul(tgi_node_ctx *c) {
    bool ta, tb;
    if (!tgi_attr_bool(c, "transpose_a", false, &ta) || !tgi_attr_bool(c, "transpose_b", false, &tb)) return NULL;
    tg_matmul_opts o = {.name = c->name, .transpose_a = ta, .transpose_b = tb};
    return op_of(tg_matmul(c->g, c->in[0], c->in[1], &o));
}

static bool data_format(tgi_node_ctx *c, tg_data_format *out) {
    char s[16];
    if (!tgi_attr_string(c, "data_format", "NHWC", s, sizeof s)) return false;
    *out = tg_data_format_from_string(c->g, s);
    return *out != TG_DATA_FORMAT_INVALID;
}

static bool padding(tgi_node_ctx *c, tg_padding *out) {
    char s[16];
    if (!tgi_attr_string(c, "padding", NULL, s, sizeof s)) return false;
    *out = tg_padding_from_string(c->g, s);
    return tg_graph_status(c->g) == TG_OK;
}

static tg_op *build_bias_add(tgi_node_ctx *c) {
    tg_data_format f;
    if (!data_format(c, &f)) return NULL;
    return op_of(tg_nn_bias_add(c->g, c->in[0], c->in[1], f, c->name));
}

static tg_op *build_conv2d(tgi_node_ctx *c) {
    tg_conv2d_opts o = {.name = c->name};
    if (!tgi_attr_ints4(c, "strides", true, o.strides) || !tgi_attr_ints4(c, "dilations", false, o.dilations) ||
        !padding(c, &o.padding) || !data_format(c, &o.data_format))
        return NULL;
    return op_of(tg_nn_conv2d(c->g, c->in[0], c->in[1], &o));
}

static bool pool_opts(tgi_node_ctx *c, tg_pool_opts *o) {
    *o = (tg_pool_opts){.name = c->name};
    return tgi_attr_ints4(c, "ksize", true, o->ksize) && tgi_attr_ints4(c, "strides", true, o->strides) &&
           padding(c, &o->padding) && data_format(c, &o->data_format);
}

static tg_op *build_max_pool(tgi_node_ctx *c) {
    tg_pool_opts o;
    return pool_opts(c, &o) ? op_of(tg_nn_max_pool(c->g, c->in[0], &o)) : NULL;
}

static tg_op *build_avg_pool(tgi_node_ctx *c) {
    tg_pool_opts o;
    return pool_opts(c, &o) ? op_of(tg_nn_avg_pool(c->g, c->in[0], &o)) : NULL;
}

/* VariableV2: the op alone (no builder makes one without an initializer),
 * registered as a variable whose initializer and read value the importer
 * finds among the imported nodes afterwards (graph_def.c). */
static tg_op *build_variable(tgi_node_ctx *c) {
    tg_dtype d = TG_FLOAT32;
    bool ok;
    tg_shape s;
    if (!tgi_attr_type(c, "dtype", true, &d, &ok) || !ok || !tgi_attr_shape(c, "shape", &s)) return NULL;
    size_t len = strlen(c->name);
    char *exact = tg__graph_alloc(c->g, len);
    if (!exact) return tg_graph_fail(c->g, TG_RESOURCE_EXHAUSTED, "tg_import_graph_def: out of memory"), NULL;
    memcpy(exact, c->name, len - 1); /* without the trailing '/' */
    exact[len - 1] = '\0';
    return tg__variable_v2(c->g, d, s, exact);
}

static tg_op *build_squeeze(tgi_node_ctx *c) {
    int axes[TG_MAX_RANK], n;
    if (!tgi_attr_ints(c, "squeeze_dims", axes, TG_MAX_RANK, &n)) return NULL;
    return op_of(tg_squeeze(c->g, c->in[0], axes, n, c->name));
}

/* Inference only: in training TF feeds empty mean and variance tensors,
 * where tgraph's builder wants none and makes Consts of its own, whose
 * names could collide with the GraphDef's. */
static tg_op *build_fused_batch_norm(tgi_node_ctx *c) {
    bool training;
    double eps;
    tg_fused_batch_norm_opts o = TG_FUSED_BATCH_NORM_OPTS_INIT;
    if (!tgi_attr_bool(c, "is_training", true, &training) || !tgi_attr_float(c, "epsilon", 1e-4, &eps) ||
        !data_format(c, &o.data_format))
        return NULL;
    if (training) {
        c->unsupported = "is_training=true";
        return NULL;
    }
    o.name = c->name;
    o.epsilon = eps;
    o.is_training = false;
    tg_tensor *y = NULL;
    tg_nn_fused_batch_norm(c->g, c->in[0], c->in[1], c->in[2], c->in[3], c->in[4], &o, &y, NULL, NULL);
    return op_of(y);
}

typedef struct op_entry {
    const char *type;
    int n_inputs;
    tgi_build_fn build;
} op_entry;

static const op_entry OPS[] = {
    {"Const", 0, build_const},
    {"Placeholder", 0, build_placeholder},
    {"PlaceholderWithDefault", 1, build_placeholder_with_default},
    {"Identity", 1, build_identity},
    {"StopGradient", 1, build_stop_gradient},
    {"NoOp", 0, build_no_op},
    {"VariableV2", 0, build_variable},
    {"Assign", 2, build_assign},
    {"Add", 2, build_add},
    /* TF 1.14+ writes AddV2; tgraph's Add computes the same */
    {"AddV2", 2, build_add},
    {"Sub", 2, build_sub},
    {"Mul", 2, build_mul},
    {"RealDiv", 2, build_real_div},
    {"MatMul", 2, build_matmul},
    {"BiasAdd", 2, build_bias_add},
    {"Relu", 1, build_relu},
    {"Relu6", 1, build_relu6},
    {"Elu", 1, build_elu},
    {"Sigmoid", 1, build_sigmoid},
    {"Tanh", 1, build_tanh},
    {"Softmax", 1, build_softmax},
    {"LogSoftmax", 1, build_log_softmax},
    {"Reshape", 2, build_reshape},
    {"Conv2D", 2, build_conv2d},
    {"MaxPool", 1, build_max_pool},
    {"AvgPool", 1, build_avg_pool},
    {"Squeeze", 1, build_squeeze},
    {"FusedBatchNormV3", 5, build_fused_batch_norm},
};

tgi_build_fn tgi_builder(const char *op_type, int *n_inputs) {
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (strcmp(OPS[i].type, op_type) == 0) {
            *n_inputs = OPS[i].n_inputs;
            return OPS[i].build;
        }
    return NULL;
}
