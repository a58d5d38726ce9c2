/* GraphDef import (src/import): shared between the importer (graph_def.c),
 * the per-op-type builders (op_table.c), attribute conversion (attrs.c),
 * the unsupported-op node (unsupported.c) and the SavedModel loader. The
 * part sits above src/ops: it builds through the public builders and uses
 * graph internals only where TF's import needs what no builder offers
 * (exact VariableV2 nodes, nodes of op types tgraph lacks). */
#ifndef TG_IMPORT_INTERNAL_H
#define TG_IMPORT_INTERNAL_H

#include "graph.pb-c.h"
#include "graph_internal.h"
#include "op_def.h"
#include "tgraph.h"
#include "tgraph/import.h"

/* One node being built: its NodeDef, its data inputs resolved to tensors,
 * and the exact name (prefix + node name + '/', the builders' spelling of
 * "use this name as it is"). */
typedef struct tgi_node_ctx {
    tg_graph *g;
    const Tensorflow__NodeDef *node;
    tg_tensor **in;
    int n_in;
    const char *name;
    int n_used_outputs; /* outputs the GraphDef refers to (unsupported nodes) */
    /* Set by a builder that cannot build this node (a dtype tgraph lacks):
     * the node becomes an unsupported one, with this reason (a string
     * that lives through the import). */
    const char *unsupported;
    char reason[96];
} tgi_node_ctx;

typedef tg_op *(*tgi_build_fn)(tgi_node_ctx *c);

/* The builder for a TF op type, and how many data inputs it takes (-1:
 * any); NULL when tgraph has no builder for the type. */
tgi_build_fn tgi_builder(const char *op_type, int *n_inputs);

/* A node tgraph cannot run: imports, fails when executed (unsupported.c).
 * reason (NULL: the op type itself) completes "op type X (node N) with
 * <reason> is not supported by tgraph". */
tg_op *tgi_unsupported_node(tgi_node_ctx *c, const char *reason);
/* Whether op is such a node. */
bool tgi_is_unsupported(const tg_op *op);

/* Attribute access; each records "node N: attr 'k' ..." on the graph and
 * returns false when the attribute is missing (and required) or of the
 * wrong kind. */
const Tensorflow__AttrValue *tgi_attr(const Tensorflow__NodeDef *n, const char *key);
bool tgi_attr_type(tgi_node_ctx *c, const char *key, bool required, tg_dtype *out, bool *supported);
bool tgi_attr_shape(tgi_node_ctx *c, const char *key, tg_shape *out);
bool tgi_attr_bool(tgi_node_ctx *c, const char *key, bool dflt, bool *out);
bool tgi_attr_float(tgi_node_ctx *c, const char *key, double dflt, double *out);
/* A list(int) attr of at most cap axes in [-cap, cap); none when absent. */
bool tgi_attr_ints(tgi_node_ctx *c, const char *key, int *out, int cap, int *n);
/* A string attr into buf; dflt when absent (NULL: required). */
bool tgi_attr_string(tgi_node_ctx *c, const char *key, const char *dflt, char *buf, size_t size);
/* A list(int) attr of exactly 4 values (strides, ksize); zeros when absent
 * and not required. */
bool tgi_attr_ints4(tgi_node_ctx *c, const char *key, bool required, int out[4]);
/* TF's DataType number to tgraph's dtype; false for a dtype tgraph lacks.
 * The _REF dtypes (100 + x) map as x. */
bool tgi_dtype_from_tf(int tf, tg_dtype *out);
const char *tgi_tf_dtype_name(int tf);
/* A TensorShapeProto as a tg_shape; false (with a message in err) for a
 * rank above TG_MAX_RANK. */
bool tgi_shape_from_proto(const Tensorflow__TensorShapeProto *p, tg_shape *out, char *err, size_t size);
/* A TensorProto's value as a new array (caller's); NULL with the reason in
 * err. *unsupported is set for a dtype tgraph lacks (the node is then an
 * unsupported one, not an error). */
tg_array *tgi_tensor_to_array(const Tensorflow__TensorProto *p, bool *unsupported, char *err, size_t size);

/* The import proper: tg_import_graph_def on a parsed GraphDef. vars
 * (may be NULL) gets a malloc'd list of the variables it made, *n_vars
 * their count. */
tg_code tgi_import(tg_graph *g, const Tensorflow__GraphDef *gd, const char *name, const tg_input_map_entry *input_map,
                   int n_input_map, const char *const *ret, int n_ret, tg_import_element *returned,
                   tg_variable ***vars, int *n_vars);

/* VariableV2 in src/ops (state_ops.c): the op alone, with its exact name. */
tg_op *tg__variable_v2(tg_graph *g, tg_dtype dtype, tg_shape shape, const char *exact_name);

#endif
