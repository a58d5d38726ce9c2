/* layer_internal.h: the tf.layers.Layer base shared by every layer type.
 *
 * A layer type is a vtable (build, call, free_state) plus a state struct of
 * its own; layer.c does everything TF's base Layer does around them: names,
 * the variable scope, input specs, weights, updates, losses, inbound nodes
 * and the collections. A new type (BatchNormalization) lives in its own file:
 * it fills a tg__layer_vtable, creates its layer with tg__layer_new, creates
 * variables in build with tg_layer_add_variable, and may call
 * tg_layer_add_update / tg_layer_add_loss from call. Public headers only. */
#ifndef TG_LAYER_INTERNAL_H
#define TG_LAYER_INTERNAL_H

#include "tgraph.h"

/* The training argument of a call: a bool scalar tensor deciding at run time
 * when `tensor` is set, otherwise the static `value` (tf.layers: False by
 * default). */
typedef struct tg__layer_training {
    tg_tensor *tensor;
    bool value;
    /* No training argument was given (tg_layer_apply with NULL, or
     * tg_layer_call with TG_OPT_NONE and no tensor): tf.layers read it as
     * False, Keras layers as the learning phase. */
    bool unset;
} tg__layer_training;

typedef struct tg__layer_vtable {
    /* TF's to_snake_case(class name): the default name ("dense"), also the
     * base of the layer's own name ("dense_1"). */
    const char *base_name;
    /* Creates the variables for input_shape (tg_layer_add_variable, in the
     * layer's scope, already entered) and may set the input spec. Check the
     * shape before creating anything. Returns TG_OK or the graph's code.
     * NULL: nothing to build. */
    tg_code (*build)(tg_layer *layer, tg_shape input_shape);
    /* Adds the ops for one apply, in the layer's name scope; returns the
     * output (NULL with the error recorded on the graph). */
    tg_tensor *(*call)(tg_layer *layer, tg_tensor *inputs, tg__layer_training training);
    /* Frees the state (NULL: free()). */
    void (*free_state)(void *state);
} tg__layer_vtable;

/* TF's InputSpec: checked at every apply before anything is built. -1 (or
 * n_axes 0) means no constraint; axes may be negative (from the end). */
typedef struct tg__input_spec {
    int ndim, min_ndim, max_ndim;
    int n_axes;
    int axes[TG_MAX_RANK];
    int64_t axis_values[TG_MAX_RANK];
} tg__input_spec;

#define TG__INPUT_SPEC_NONE ((tg__input_spec){.ndim = -1, .min_ndim = -1, .max_ndim = -1})

/* Constructor arguments every layer shares (tf.layers.Layer's). */
typedef struct tg__layer_base_opts {
    const char *name;
    bool trainable;
    tg_reuse reuse;
    /* Functional forms: the name is also the exact variable scope (TF's
     * _scope=name); class layers uniquify it as a default name. */
    bool scope_is_name;
    tg_regularizer activity_regularizer;
    /* A tf.compat.v1.keras layer instead of a tf.layers one: named
     * "<class>", "<class>_1", ... (zero-based); each apply enters name scope
     * <name> (uniquified) and no variable scope; variables are made directly
     * (tg_variable_new, "<name>/gamma"), outside the variable store; updates
     * and losses stay on the layer (not in UPDATE_OPS or
     * REGULARIZATION_LOSSES). */
    bool keras;
    /* TF's _scope=<the caller's open VariableScope> (contrib's batch_norm
     * builds its core layer with _scope=sc): the layer's variable scope is
     * exactly the current one and its ops go to the current name scope, both
     * taken when the scope is first needed (apply, build or add_variable);
     * nothing is pushed or uniquified. Not with keras. */
    bool current_scope;
    /* Collections every variable the layer creates also joins, besides
     * GLOBAL_VARIABLES (and TRAINABLE_VARIABLES when trainable): what a
     * custom getter of the enclosing scope adds, e.g. contrib's
     * model-variable getter {MODEL_VARIABLES}. Copied. Not with keras. */
    const char *const *variable_collections;
    int n_variable_collections;
} tg__layer_base_opts;

typedef struct tg__layer_node {
    tg_tensor *input, *output;
    tg_shape input_shape, output_shape;
} tg__layer_node;

struct tg_layer {
    const tg__layer_vtable *vt;
    void *state;
    tg_graph *g;
    char *name;      /* layer.name */
    char *base_name; /* default name of the scope (the given name, or the class's) */
    bool scope_is_name;
    bool keras; /* see tg__layer_base_opts */
    bool current_scope; /* see tg__layer_base_opts */
    char **var_collections; /* tg__layer_base_opts' variable_collections, copied */
    int n_var_collections;
    tg_reuse reuse;
    bool trainable;
    bool built;
    bool has_dtype;
    tg_dtype dtype;
    tg_regularizer activity_regularizer;
    tg__input_spec input_spec;

    char *scope_name; /* full variable scope, NULL until chosen */
    char *name_scope; /* its original name scope, with '/' */
    int in_scope;     /* > 0 while apply or build has the scope entered */
    tg_tensor *call_inputs; /* inputs of the call in progress (TF's call context) */

    /* own trainable / non-trainable variables, and their concatenation */
    tg_variable **tw, **ntw, **all;
    int n_tw, cap_tw, n_ntw, cap_ntw, cap_all;

    tg_op **updates;
    bool *update_uncond;
    int n_updates, cap_updates;

    /* symbolic losses (add_loss, activity), weight regularizer losses, and
     * the list layer.losses returns (symbolic then regularizers) */
    tg_tensor **sym_losses, **reg_losses, **losses;
    bool *sym_uncond;
    int n_sym, cap_sym, n_reg, cap_reg, cap_losses;

    tg__layer_node *nodes;
    int n_nodes, cap_nodes;

    char message[512];
};

/* Creates a layer of type vt owning `state` (freed with the layer, or now
 * on failure). Records a sticky error and returns NULL when g is NULL or in
 * error, or out of memory. */
tg_layer *tg__layer_new(tg_graph *g, const tg__layer_vtable *vt, void *state, const tg__layer_base_opts *opts);

/* Applies a layer made for a functional call once and frees it: TF's
 * `layer = Dense(...); return layer.apply(inputs)`. NULL layer: NULL. */
tg_tensor *tg__layer_apply_once(tg_layer *layer, tg_tensor *inputs, tg__layer_training training);

/* The dtype for weights: the layer's (set from the first input). */
static inline tg_dtype tg__layer_dtype(const tg_layer *l) { return l->has_dtype ? l->dtype : TG_FLOAT32; }

/* "[None, 3]": a static shape as Python prints TF's as_list() ("None" for an
 * unknown rank), for TF's messages. Returns buf. */
char *tg__layer_shape_list(const tg_shape *s, char *buf, size_t size);

/* Checks the common tf.layers option values; records INVALID_ARGUMENT naming
 * the argument and returns false otherwise. */
bool tg__layer_check_padding(tg_graph *g, tg_padding *padding);
bool tg__layer_check_data_format(tg_graph *g, tg_data_format data_format);

/* ---- shared by layer.c and layer_query.c ---- */

/* Sets the layer's message (queries report through it, not the graph) and
 * returns code. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
tg_code tg__layer_err(tg_layer *l, tg_code code, const char *fmt, ...);
/* Clears the message; TG_OK. */
tg_code tg__layer_ok(tg_layer *l);

static inline bool tg__same_tensor(const tg_tensor *a, const tg_tensor *b) {
    return a == b || (a && b && tg_tensor_op(a) == tg_tensor_op(b) && tg_tensor_index(a) == tg_tensor_index(b));
}

/* A set of pointers; the owner frees keys with free(). */
typedef struct tg__ptrset {
    const void **keys;
    size_t cap, n;
} tg__ptrset;
bool tg__ptrset_has(const tg__ptrset *s, const void *p);
bool tg__layer_is_input(const tg_tensor *t, tg_tensor *const *xs, int n);
/* The ops reachable forward from the tensors xs through data and control
 * edges, added to *out. false when out of memory. */
bool tg__layer_reachable_ops(tg_graph *g, tg_tensor *const *xs, int n, tg__ptrset *out);

#endif
