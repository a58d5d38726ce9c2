/* tgraph/import.h: TensorFlow 1.x graphs from TF's own files:
 * tf.import_graph_def (a serialized GraphDef) and tf.saved_model.loader.load
 * (a SavedModel directory: saved_model.pb + variables/), with access to the
 * model's SignatureDefs. */
#ifndef TGRAPH_IMPORT_H
#define TGRAPH_IMPORT_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One input_map entry: the imported graph's tensor `name` ("x:0", or "x"
 * for output 0), named as in the GraphDef without the import prefix, is
 * replaced by `tensor`, a tensor already in the graph. */
typedef struct tg_input_map_entry {
    const char *name;
    tg_tensor *tensor;
} tg_input_map_entry;

/* What a return_elements entry names: an op ("name": tensor NULL) or a
 * tensor ("name:i": op is the tensor's op). */
typedef struct tg_import_element {
    tg_op *op;
    tg_tensor *tensor;
} tg_import_element;

/* tf.import_graph_def(graph_def, input_map, return_elements, name):
 * parses the serialized GraphDef data[0..len) and adds its nodes to g, in
 * dependency order (the GraphDef's nodes may come in any order; "^name"
 * inputs are control inputs), each named "<name>/<node name>" (name NULL:
 * "import", TF's default; "": the nodes' own names). Node attributes go to
 * the op's builder: every op type in tgraph's registry is built as tgraph
 * builds it. An op type tgraph lacks, or a dtype it lacks (string,
 * half, ...), gives an "unsupported" node of that type with as many outputs
 * as the GraphDef uses (dtype from the attrs "T", "dtype", "out_type" or a
 * type list, float32 otherwise; unknown shape). It imports fine and fails
 * only when a run executes it ("op type ParseExample (node x) is not
 * supported by tgraph"), so feeding a tensor downstream of it prunes it away
 * as TF's feeds do. A VariableV2 node becomes a tgraph variable (in the
 * GLOBAL_VARIABLES collection), whose initializer is the Assign node that
 * writes its initial value and whose value is its "<var>/read" Identity.
 *
 * input_map[0..n_input_map): tensors replaced (see tg_input_map_entry).
 * return_elements[0..n_return_elements): names looked up after the import
 * (without the prefix), written to returned[i] (caller's array of
 * n_return_elements); both may be NULL when the count is 0.
 *
 * Returns TG_OK or the graph's sticky error (tg_graph_message), which names
 * the node: INVALID_ARGUMENT for bytes that are no GraphDef, an input naming
 * no node or an output it lacks ("node y: input 'z:0' names no node"), a
 * cycle ("node a is on a cycle"), an attribute of the wrong kind
 * ("node c: attr 'value' must be a tensor"), an input_map or
 * return_elements name that is not in the GraphDef; ALREADY_EXISTS for a
 * name already in g; the op's own shape errors, prefixed with the node;
 * RESOURCE_EXHAUSTED when out of memory. On error the import is undone:
 * nothing it added stays in g. */
TG_API tg_code tg_import_graph_def(tg_graph *g, const void *data, size_t len, const char *name,
                                   const tg_input_map_entry *input_map, int n_input_map,
                                   const char *const *return_elements, int n_return_elements,
                                   tg_import_element *returned);

/* tf.Graph.as_graph_def() / tf.train.write_graph(..., as_text=False): g's
 * ops as a serialized GraphDef that TF 1.15's tf.import_graph_def reads
 * (and tg_import_graph_def). Each op is a NodeDef named as in g, of its TF
 * op type, in creation order (which lists every node after its inputs);
 * data inputs are "op" for output 0 and "op:i" otherwise, control inputs
 * "^op" after them; attributes are those TF's op registry defines, under
 * its names (T, dtype, shape, value as a TensorProto, strides, padding,
 * data_format, transpose_a, ...). Exportable op types: Const, Placeholder,
 * PlaceholderWithDefault, Identity, StopGradient, NoOp, VariableV2,
 * Assign, Add, Sub, Mul, RealDiv, MatMul, BiasAdd, Relu, Relu6, Elu,
 * Sigmoid, Tanh, Softmax, LogSoftmax, Reshape, Conv2D, MaxPool, AvgPool,
 * Squeeze, FusedBatchNormV3 (the types tg_import_graph_def builds).
 *
 * On success *data gets the bytes (caller's: tg_free) and *len their
 * count. Errors (message in err[0..err_size), which may be NULL/0; *data is
 * NULL and *len 0, no partial GraphDef): INVALID_ARGUMENT for a NULL
 * argument; UNIMPLEMENTED for a graph holding an op of another type ("op
 * gradients/Sum of type Sum cannot be exported to a GraphDef yet", the
 * first such op); the graph's own sticky error; RESOURCE_EXHAUSTED when out
 * of memory. g is not changed. */
TG_API tg_code tg_graph_to_graph_def(const tg_graph *g, void **data, size_t *len, char *err, size_t err_size);

/* A loaded SavedModel: its signatures (tg_saved_model_signature).
 * Owned by the caller: tg_saved_model_free. Its tensors belong to the
 * session's graph: use them while that graph lives. */
typedef struct tg_saved_model tg_saved_model;
/* One SignatureDef: method_name and named inputs and outputs. */
typedef struct tg_signature tg_signature;

/* TF's tag for serving graphs (tf.saved_model.tag_constants.SERVING). */
#define TG_SAVED_MODEL_TAG_SERVING "serve"
/* TF's default signature key (DEFAULT_SERVING_SIGNATURE_DEF_KEY). */
#define TG_SAVED_MODEL_DEFAULT_SIGNATURE "serving_default"

/* tf.saved_model.loader.load(sess, tags, export_dir): reads
 * export_dir/saved_model.pb, picks the MetaGraphDef whose tags are exactly
 * tags[0..n_tags) (in any order), imports its GraphDef into the session's
 * graph with no name prefix (as TF), and restores every imported variable
 * from the V2 checkpoint export_dir/variables/variables by its name, through
 * a tf.train.Saver (whose ops, "save_1/...", are added to the graph).
 * *out gets the model (caller's, tg_saved_model_free).
 *
 * Errors (message in err[0..err_size), which may be NULL/0): NOT_FOUND for
 * a missing saved_model.pb, or no MetaGraphDef with the tags ("MetaGraphDef
 * associated with tags 'train' could not be found in SavedModel. Available
 * tags: 'serve'", TF's words); INVALID_ARGUMENT for a file that is no
 * SavedModel, a NULL argument; the import's errors (which also stay on the
 * graph, see tg_import_graph_def); the restore's errors (tg_saver_restore);
 * RESOURCE_EXHAUSTED when out of memory. *out is NULL on error. */
TG_API tg_code tg_saved_model_load(tg_session *s, const char *export_dir, const char *const *tags, int n_tags,
                                   tg_saved_model **out, char *err, size_t err_size);

/* The SignatureDef under key ("serving_default"), or NULL when the model
 * has none by that name. Owned by the model. */
TG_API const tg_signature *tg_saved_model_signature(const tg_saved_model *m, const char *key);
/* The number of signatures, and the key of signature i (NULL when out of
 * range); owned by the model. */
TG_API int tg_saved_model_num_signatures(const tg_saved_model *m);
TG_API const char *tg_saved_model_signature_key(const tg_saved_model *m, int i);

/* The signature's method_name ("tensorflow/serving/predict"); owned by
 * the model. */
TG_API const char *tg_signature_method_name(const tg_signature *sig);
/* The tensor the signature's input (or output) `key` names (TensorInfo
 * name "x:0"), in the session's graph; NULL when the signature has no such
 * key. */
TG_API tg_tensor *tg_signature_input(const tg_signature *sig, const char *key);
TG_API tg_tensor *tg_signature_output(const tg_signature *sig, const char *key);
/* The number of inputs (outputs) and the key of input (output) i; NULL when
 * i is out of range. Owned by the model. */
TG_API int tg_signature_num_inputs(const tg_signature *sig);
TG_API const char *tg_signature_input_key(const tg_signature *sig, int i);
TG_API int tg_signature_num_outputs(const tg_signature *sig);
TG_API const char *tg_signature_output_key(const tg_signature *sig, int i);

/* Frees the model (not the graph's ops and variables it imported). NULL is
 * a no-op. */
TG_API void tg_saved_model_free(tg_saved_model *m);

#ifdef __cplusplus
}
#endif
#endif
