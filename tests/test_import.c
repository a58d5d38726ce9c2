/* tf.import_graph_def and tf.saved_model.loader.load (include/tgraph/import.h).
 *
 * - GraphDefs built here byte by byte with a small protobuf writer that
 *   knows TF's field numbers (graph.proto, node_def.proto, attr_value.proto,
 *   tensor.proto), independent of the importer's generated code: node
 *   order, name prefix, input_map, control inputs, return_elements, an
 *   unsupported op that fails only when run, and errors naming the node.
 * - TensorFlow Serving's SavedModels, written by TF itself
 *   (tests/data/tf/<model>/saved_model.pb + variables/, Apache 2.0, see
 *   tests/data/tf/README.md): half_plus_two computes y = 0.5x + 2 and
 *   y2 = 0.5x + 3, half_plus_three y = 0.5x + 3 (TF Serving's README). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tg_check.h"

/* ---- a protobuf writer ----------------------------------------------------------- */

typedef struct pb {
    uint8_t data[4096];
    size_t len;
} pb;

static void pb_byte(pb *b, uint8_t v)
{
    ck_assert_uint_lt(b->len, sizeof b->data);
    b->data[b->len++] = v;
}

static void pb_varint(pb *b, uint64_t v)
{
    while (v >= 0x80) {
        pb_byte(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    pb_byte(b, (uint8_t)v);
}

static void pb_tag(pb *b, int field, int wire) { pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }

static void pb_bytes(pb *b, int field, const void *p, size_t n)
{
    pb_tag(b, field, 2);
    pb_varint(b, n);
    for (size_t i = 0; i < n; i++) pb_byte(b, ((const uint8_t *)p)[i]);
}

static void pb_str(pb *b, int field, const char *s) { pb_bytes(b, field, s, strlen(s)); }
static void pb_msg(pb *b, int field, const pb *m) { pb_bytes(b, field, m->data, m->len); }
static void pb_int(pb *b, int field, uint64_t v)
{
    pb_tag(b, field, 0);
    pb_varint(b, v);
}

/* TensorShapeProto: dim (2) { size (1) } */
static pb shape_proto(int rank, const int64_t *dims)
{
    pb s = {0};
    for (int i = 0; i < rank; i++) {
        pb d = {0};
        pb_int(&d, 1, (uint64_t)dims[i]);
        pb_msg(&s, 2, &d);
    }
    return s;
}

/* NodeDef.attr map entry (5): key (1), AttrValue (2) */
static void attr(pb *node, const char *key, const pb *value)
{
    pb e = {0};
    pb_str(&e, 1, key);
    pb_msg(&e, 2, value);
    pb_msg(node, 5, &e);
}

static void attr_type(pb *node, const char *key, int tf_dtype)
{
    pb v = {0};
    pb_int(&v, 6, (uint64_t)tf_dtype); /* AttrValue.type */
    attr(node, key, &v);
}

static void attr_int(pb *node, const char *key, int64_t i)
{
    pb v = {0};
    pb_int(&v, 3, (uint64_t)i); /* AttrValue.i */
    attr(node, key, &v);
}

static void attr_shape(pb *node, const char *key, int rank, const int64_t *dims)
{
    pb v = {0}, s = shape_proto(rank, dims);
    pb_msg(&v, 7, &s); /* AttrValue.shape */
    attr(node, key, &v);
}

static void attr_bool(pb *node, const char *key, bool b)
{
    pb v = {0};
    pb_int(&v, 5, b); /* AttrValue.b */
    attr(node, key, &v);
}

static void attr_float(pb *node, const char *key, float f)
{
    pb v = {0};
    uint32_t u;
    memcpy(&u, &f, 4);
    pb_tag(&v, 4, 5); /* AttrValue.f, fixed32 */
    for (int k = 0; k < 4; k++) pb_byte(&v, (uint8_t)(u >> (8 * k)));
    attr(node, key, &v);
}

/* AttrValue.list (1) { i (3), packed } */
static void attr_ints(pb *node, const char *key, const int64_t *i, int n)
{
    pb v = {0}, l = {0}, packed = {0};
    for (int k = 0; k < n; k++) pb_varint(&packed, (uint64_t)i[k]);
    pb_bytes(&l, 3, packed.data, packed.len);
    pb_msg(&v, 1, &l);
    attr(node, key, &v);
}

/* A float32 Const's value: TensorProto dtype (1), tensor_shape (2),
 * float_val (5, packed) */
static void attr_floats(pb *node, int rank, const int64_t *dims, const float *vals, int n)
{
    pb t = {0}, v = {0}, s = shape_proto(rank, dims), f = {0};
    pb_int(&t, 1, 1); /* DT_FLOAT */
    pb_msg(&t, 2, &s);
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &vals[i], 4);
        for (int k = 0; k < 4; k++) pb_byte(&f, (uint8_t)(u >> (8 * k)));
    }
    pb_bytes(&t, 5, f.data, f.len);
    pb_msg(&v, 8, &t); /* AttrValue.tensor */
    attr(node, "value", &v);
}

/* NodeDef: name (1), op (2), input (3); attributes added by the caller */
/* A float32 Const's value as raw little-endian bytes: tensor_content (4) */
static void attr_content(pb *node, int64_t n_elems, const void *bytes, size_t n)
{
    pb t = {0}, v = {0}, s = shape_proto(1, &n_elems);
    pb_int(&t, 1, 1); /* DT_FLOAT */
    pb_msg(&t, 2, &s);
    pb_bytes(&t, 4, bytes, n);
    pb_msg(&v, 8, &t);
    attr(node, "value", &v);
}

static pb node(const char *name, const char *op, const char *in0, const char *in1)
{
    pb n = {0};
    pb_str(&n, 1, name);
    pb_str(&n, 2, op);
    if (in0) pb_str(&n, 3, in0);
    if (in1) pb_str(&n, 3, in1);
    return n;
}

static void add_node(pb *graph, const pb *n) { pb_msg(graph, 1, n); } /* GraphDef.node */

enum { DT_FLOAT = 1 };

/* out = x @ w + c, listed consumers first; out2 = Identity(out) after ^c;
 * parse = FancyOp(c) (no such op anywhere), z = parse * c. */
static pb mlp_graph_def(void)
{
    pb g = {0}, n;
    n = node("out", "AddV2", "mm", "c");
    attr_type(&n, "T", DT_FLOAT);
    add_node(&g, &n);
    n = node("out2", "Identity", "out", "^c");
    attr_type(&n, "T", DT_FLOAT);
    add_node(&g, &n);
    n = node("mm", "MatMul", "x", "w");
    attr_type(&n, "T", DT_FLOAT);
    add_node(&g, &n);
    n = node("w", "Const", NULL, NULL);
    attr_type(&n, "dtype", DT_FLOAT);
    attr_floats(&n, 2, (const int64_t[]){2, 1}, (const float[]){1, 2}, 2);
    add_node(&g, &n);
    n = node("x", "Placeholder", NULL, NULL);
    attr_type(&n, "dtype", DT_FLOAT);
    attr_shape(&n, "shape", 2, (const int64_t[]){-1, 2});
    add_node(&g, &n);
    n = node("c", "Const", NULL, NULL);
    attr_type(&n, "dtype", DT_FLOAT);
    attr_floats(&n, 0, NULL, (const float[]){10}, 1);
    add_node(&g, &n);
    n = node("z", "Mul", "parse:0", "c");
    attr_type(&n, "T", DT_FLOAT);
    add_node(&g, &n);
    n = node("parse", "FancyOp", "c", NULL);
    attr_type(&n, "T", DT_FLOAT);
    add_node(&g, &n);
    n = node("init", "NoOp", "^out", "^z");
    add_node(&g, &n);
    return g;
}

static tg_array *matrix(int rows, int cols, const float *v)
{
    return tg_array_new_from(TG_FLOAT32, 2, (const int64_t[]){rows, cols}, v);
}

/* ---- GraphDef import --------------------------------------------------------------- */

START_TEST(test_import_default_prefix_and_order)
{
    tg_graph *g = tg_graph_new();
    pb gd = mlp_graph_def();
    ck_assert_int_eq(tg_import_graph_def(g, gd.data, gd.len, NULL, NULL, 0, NULL, 0, NULL), TG_OK);
    tg_tensor *x = tg_graph_tensor(g, "import/x:0"), *out = tg_graph_tensor(g, "import/out:0");
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "import/mm")), "MatMul");
    tg_session *s = tg_session_new(g);
    tg_array *xv = matrix(2, 2, (const float[]){1, 2, 3, 4});
    tg_feed f = {x, xv};
    /* [1 2; 3 4] @ [1; 2] + 10 */
    tg_array *o = tgc_fetch(s, out, &f, 1);
    ck_assert_array(o, TG_FLOAT32, TG_SHAPE(2, 1), ((double[]){15, 21}), 0);
    tg_array_free(o);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_import_input_map_prefix_control_returns)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2), "p");
    pb gd = mlp_graph_def();
    tg_input_map_entry map[] = {{"x:0", p}};
    const char *want[] = {"out:0", "init", "c"};
    tg_import_element got[3];
    ck_assert_int_eq(tg_import_graph_def(g, gd.data, gd.len, "m", map, 1, want, 3, got), TG_OK);
    ck_assert_str_eq(tg_tensor_name(got[0].tensor), "m/out:0");
    ck_assert_str_eq(tg_op_name(got[1].op), "m/init");
    ck_assert_ptr_null(got[1].tensor);
    ck_assert_str_eq(tg_op_name(got[2].op), "m/c");
    /* input_map: m/mm reads p, and m/x is imported but unused */
    ck_assert_ptr_eq(tg_op_input(tg_graph_op(g, "m/mm"), 0), p);
    ck_assert_ptr_nonnull(tg_graph_op(g, "m/x"));
    /* control inputs */
    tg_op *out2 = tg_graph_op(g, "m/out2");
    ck_assert_int_eq(tg_op_num_control_inputs(out2), 1);
    ck_assert_ptr_eq(tg_op_control_input(out2, 0), got[2].op);
    ck_assert_int_eq(tg_op_num_control_inputs(got[1].op), 2);
    tg_session *s = tg_session_new(g);
    tg_array *pv = matrix(1, 2, (const float[]){-1, 0.5f});
    tg_feed f = {p, pv};
    tg_array *o = tgc_fetch(s, tg_graph_tensor(g, "m/out2:0"), &f, 1);
    ck_assert_array(o, TG_FLOAT32, TG_SHAPE(1, 1), ((double[]){-1 + 1 + 10}), 0);
    tg_array_free(o);
    tg_array_free(pv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_unsupported_op_fails_only_when_run)
{
    tg_graph *g = tg_graph_new();
    pb gd = mlp_graph_def();
    ck_assert_int_eq(tg_import_graph_def(g, gd.data, gd.len, "", NULL, 0, NULL, 0, NULL), TG_OK);
    tg_op *parse = tg_graph_op(g, "parse");
    ck_assert_str_eq(tg_op_type(parse), "FancyOp");
    ck_assert_int_eq(tg_op_num_outputs(parse), 1);
    ck_assert_int_eq(tg_tensor_dtype(tg_op_output(parse, 0)), TG_FLOAT32);
    tg_session *s = tg_session_new(g);
    tg_tensor *z = tg_graph_tensor(g, "z:0");
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &z, 1, &out, NULL, 0), TG_UNIMPLEMENTED);
    ck_assert_str_contains(tg_session_message(s), "op type FancyOp (node parse) is not supported by tgraph");
    /* the NoOp's control input runs it too */
    tg_op *init = tg_graph_op(g, "init");
    tg_array *xv = matrix(1, 2, (const float[]){1, 1});
    tg_feed fx = {tg_graph_tensor(g, "x:0"), xv};
    ck_assert_int_eq(tg_session_run(s, &fx, 1, NULL, 0, NULL, &init, 1), TG_UNIMPLEMENTED);
    ck_assert_str_contains(tg_session_message(s), "node parse");
    tg_array_free(xv);
    /* fed around: pruned */
    tg_array *v = tg_array_scalar_f32(4);
    tg_feed f = {tg_op_output(parse, 0), v};
    out = tgc_fetch(s, z, &f, 1);
    ck_assert_array(out, TG_FLOAT32, TG_SCALAR, ((double[]){40}), 0);
    tg_array_free(out);
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static void add_vector_const(pb *g, const char *name, float a, float b)
{
    pb n = node(name, "Const", NULL, NULL);
    attr_type(&n, "dtype", DT_FLOAT);
    attr_floats(&n, 1, (const int64_t[]){2}, (const float[]){a, b}, 2);
    add_node(g, &n);
}

START_TEST(test_import_fused_batch_norm_inference)
{
    pb gd = {0}, n;
    n = node("x", "Const", NULL, NULL);
    attr_floats(&n, 4, (const int64_t[]){1, 1, 1, 2}, (const float[]){1, 2}, 2);
    add_node(&gd, &n);
    add_vector_const(&gd, "scale", 2, 3);
    add_vector_const(&gd, "offset", 0.5f, 1);
    add_vector_const(&gd, "mean", 0, 1);
    add_vector_const(&gd, "var", 4, 9);
    n = node("bn", "FusedBatchNormV3", "x", "scale");
    pb_str(&n, 3, "offset");
    pb_str(&n, 3, "mean");
    pb_str(&n, 3, "var");
    attr_type(&n, "T", DT_FLOAT);
    attr_float(&n, "epsilon", 0.001f);
    attr_bool(&n, "is_training", false);
    add_node(&gd, &n);
    n = node("sq", "Squeeze", "bn", NULL);
    attr_ints(&n, "squeeze_dims", (const int64_t[]){0, 1, 2}, 3);
    add_node(&gd, &n);
    /* in training TF feeds empty statistics: not built, fails when run */
    n = node("bn_train", "FusedBatchNormV3", "x", "scale");
    pb_str(&n, 3, "offset");
    pb_str(&n, 3, "mean");
    pb_str(&n, 3, "var");
    attr_bool(&n, "is_training", true);
    add_node(&gd, &n);
    tg_graph *g = tg_graph_new();
    ck_assert_int_eq(tg_import_graph_def(g, gd.data, gd.len, "", NULL, 0, NULL, 0, NULL), TG_OK);
    ck_assert_int_eq(tg_op_num_outputs(tg_graph_op(g, "bn")), 6);
    tg_array *y = tgc_eval(g, tg_graph_tensor(g, "sq:0"));
    double eps = (double)0.001f;
    ck_assert_array(y, TG_FLOAT32, TG_SHAPE(2), ((double[]){1 / sqrt(4 + eps) * 2 + 0.5, 1 / sqrt(9 + eps) * 3 + 1}),
                    1e-6);
    tg_array_free(y);
    tg_session *s = tg_session_new(g);
    tg_op *t = tg_graph_op(g, "bn_train");
    ck_assert_int_eq(tg_session_run(s, NULL, 0, NULL, 0, NULL, &t, 1), TG_UNIMPLEMENTED);
    ck_assert_str_contains(tg_session_message(s),
                           "op type FusedBatchNormV3 (node bn_train) with is_training=true is not supported");
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* Imports gd into a graph holding one op, expects code and a message with
 * both needles, and that the failed import left nothing behind. */
static void expect_error(const pb *gd, tg_code code, const char *n1, const char *n2)
{
    tg_graph *g = tg_graph_new();
    tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "before");
    ck_assert_int_eq(tg_import_graph_def(g, gd->data, gd->len, NULL, NULL, 0, NULL, 0, NULL), code);
    ck_assert_str_contains(tg_graph_message(g), n1);
    ck_assert_str_contains(tg_graph_message(g), n2);
    ck_assert_int_eq(tg_graph_num_ops(g), 1);
    tg_graph_free(g);
}

START_TEST(test_import_errors_name_the_node)
{
    pb g = {0}, n;
    /* an input naming no node */
    n = node("c", "Const", NULL, NULL);
    attr_floats(&n, 0, NULL, (const float[]){1}, 1);
    add_node(&g, &n);
    n = node("bad", "Identity", "nope:0", NULL);
    add_node(&g, &n);
    expect_error(&g, TG_INVALID_ARGUMENT, "node bad", "'nope:0' names no node");

    /* a cycle */
    pb cyc = {0};
    n = node("a", "Identity", "b", NULL);
    add_node(&cyc, &n);
    n = node("b", "Identity", "a", NULL);
    add_node(&cyc, &n);
    expect_error(&cyc, TG_INVALID_ARGUMENT, "node a", "cycle");

    /* an attribute of the wrong kind: dtype given as an int */
    pb bad_attr = {0};
    n = node("p", "Placeholder", NULL, NULL);
    attr_int(&n, "dtype", 1);
    add_node(&bad_attr, &n);
    expect_error(&bad_attr, TG_INVALID_ARGUMENT, "node p", "attr 'dtype' must be a type");

    /* an output the producer lacks, a wrong input count, a builder's own
     * error (MatMul of mismatched shapes) prefixed with the node */
    pb more = {0};
    n = node("c", "Const", NULL, NULL);
    attr_floats(&n, 1, (const int64_t[]){3}, (const float[]){1, 2, 3}, 3);
    add_node(&more, &n);
    n = node("i", "Identity", "c:1", NULL);
    add_node(&more, &n);
    expect_error(&more, TG_INVALID_ARGUMENT, "node i", "which has 1");
    pb arity = {0};
    n = node("c", "Const", NULL, NULL);
    attr_floats(&n, 2, (const int64_t[]){1, 3}, (const float[]){1, 2, 3}, 3);
    add_node(&arity, &n);
    n = node("m", "MatMul", "c", NULL);
    add_node(&arity, &n);
    expect_error(&arity, TG_INVALID_ARGUMENT, "node m", "takes 2 inputs, got 1");
    pb shapes = {0};
    n = node("c", "Const", NULL, NULL);
    attr_floats(&n, 2, (const int64_t[]){1, 3}, (const float[]){1, 2, 3}, 3);
    add_node(&shapes, &n);
    n = node("m", "MatMul", "c", "c");
    add_node(&shapes, &n);
    expect_error(&shapes, TG_INVALID_ARGUMENT, "node m (MatMul)", "");

    /* tensor_content: read as TF's raw bytes, and refused when its length
     * does not match the shape */
    pb raw = {0};
    n = node("r", "Const", NULL, NULL);
    const float vals[] = {1.5f, -2};
    uint8_t le[8];
    for (int i = 0; i < 2; i++) {
        uint32_t u;
        memcpy(&u, &vals[i], 4);
        for (int k = 0; k < 4; k++) le[4 * i + k] = (uint8_t)(u >> (8 * k));
    }
    attr_content(&n, 2, le, 8);
    add_node(&raw, &n);
    tg_graph *rg = tg_graph_new();
    ck_assert_int_eq(tg_import_graph_def(rg, raw.data, raw.len, NULL, NULL, 0, NULL, 0, NULL), TG_OK);
    tg_array *rv = tgc_eval(rg, tg_graph_tensor(rg, "import/r:0"));
    ck_assert_array(rv, TG_FLOAT32, TG_SHAPE(2), ((double[]){1.5, -2}), 0);
    tg_array_free(rv);
    tg_graph_free(rg);
    pb short_content = {0};
    n = node("r", "Const", NULL, NULL);
    attr_content(&n, 2, le, 7);
    add_node(&short_content, &n);
    expect_error(&short_content, TG_INVALID_ARGUMENT, "node r", "tensor_content holds 7 bytes");

    /* bytes that are no GraphDef */
    pb junk = {{0xff, 0xff, 0xff, 0xff}, 4};
    expect_error(&junk, TG_INVALID_ARGUMENT, "not a serialized GraphDef", "");
}
END_TEST

START_TEST(test_import_bad_arguments)
{
    tg_graph *g = tg_graph_new();
    pb gd = mlp_graph_def();
    tg_tensor *p = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2), "p");
    tg_input_map_entry map[] = {{"missing:0", p}};
    ck_assert_int_eq(tg_import_graph_def(g, gd.data, gd.len, NULL, map, 1, NULL, 0, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "not found in graph_def: [missing:0]");
    tg_graph_clear_status(g);
    const char *ret[] = {"out:7"};
    tg_import_element el;
    ck_assert_int_eq(tg_import_graph_def(g, gd.data, gd.len, NULL, NULL, 0, ret, 1, &el), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "out:7");
    tg_graph_clear_status(g);
    /* the same import twice: names taken */
    ck_assert_int_eq(tg_import_graph_def(g, gd.data, gd.len, "k", NULL, 0, NULL, 0, NULL), TG_OK);
    ck_assert_int_eq(tg_import_graph_def(g, gd.data, gd.len, "k", NULL, 0, NULL, 0, NULL), TG_ALREADY_EXISTS);
    tg_graph_free(g);
}
END_TEST

/* ---- SavedModel ------------------------------------------------------------------ */

static const char *model_dir(const char *model)
{
    static char dir[4096];
    const char *slash = strrchr(__FILE__, '/');
    int n = slash ? (int)(slash - __FILE__) : 1;
    snprintf(dir, sizeof dir, "%.*s/data/tf/%s", n, slash ? __FILE__ : ".", model);
    struct stat st;
    ck_assert_msg(stat(dir, &st) == 0, "test data %s not found", dir);
    return dir;
}

static void check_half_plus(tg_session *s, tg_tensor *x, tg_tensor *y, double b)
{
    tg_array *xv = matrix(3, 1, (const float[]){1, 2, 5});
    tg_feed f = {x, xv};
    tg_array *out = tgc_fetch(s, y, &f, 1);
    ck_assert_array(out, TG_FLOAT32, TG_SHAPE(3, 1), ((double[]){0.5 * 1 + b, 0.5 * 2 + b, 0.5 * 5 + b}), 0);
    tg_array_free(out);
    tg_array_free(xv);
}

START_TEST(test_saved_model_half_plus_two)
{
    tg_graph *g = tg_graph_new();
    tg_session *s = tg_session_new(g);
    tg_saved_model *m = NULL;
    char err[512] = "";
    const char *tags[] = {TG_SAVED_MODEL_TAG_SERVING};
    tg_code rc = tg_saved_model_load(s, model_dir("half_plus_two_cpu"), tags, 1, &m, err, sizeof err);
    ck_assert_msg(rc == TG_OK, "%s", err);
    const tg_signature *sig = tg_saved_model_signature(m, TG_SAVED_MODEL_DEFAULT_SIGNATURE);
    ck_assert_ptr_nonnull(sig);
    ck_assert_str_eq(tg_signature_method_name(sig), "tensorflow/serving/predict");
    tg_tensor *x = tg_signature_input(sig, "x"), *y = tg_signature_output(sig, "y");
    ck_assert_str_eq(tg_tensor_name(x), "x:0");
    ck_assert_str_eq(tg_tensor_name(y), "y:0");
    ck_assert_ptr_null(tg_signature_input(sig, "nope"));
    ck_assert_int_ge(tg_saved_model_num_signatures(m), 4);
    /* x = Identity(ParseExample(...)): fed, the parser never runs */
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "ParseExample/ParseExample")), "ParseExample");
    check_half_plus(s, x, y, 2);
    check_half_plus(s, x, tg_graph_tensor(g, "y2:0"), 3);
    /* not fed: the string input cannot run */
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &y, 1, &out, NULL, 0), TG_UNIMPLEMENTED);
    ck_assert_str_contains(tg_session_message(s), "is not supported by tgraph");
    tg_saved_model_free(m);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_saved_model_half_plus_three)
{
    tg_graph *g = tg_graph_new();
    tg_session *s = tg_session_new(g);
    tg_saved_model *m = NULL;
    char err[512] = "";
    const char *tags[] = {"serve"};
    tg_code rc = tg_saved_model_load(s, model_dir("half_plus_three"), tags, 1, &m, err, sizeof err);
    ck_assert_msg(rc == TG_OK, "%s", err);
    const tg_signature *sig = tg_saved_model_signature(m, "serving_default");
    ck_assert_ptr_nonnull(sig);
    check_half_plus(s, tg_signature_input(sig, "x"), tg_signature_output(sig, "y"), 3);
    tg_saved_model_free(m);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_saved_model_errors)
{
    tg_graph *g = tg_graph_new();
    tg_session *s = tg_session_new(g);
    tg_saved_model *m = NULL;
    char err[512] = "";
    const char *train[] = {"train"};
    ck_assert_int_eq(tg_saved_model_load(s, model_dir("half_plus_two_cpu"), train, 1, &m, err, sizeof err),
                     TG_NOT_FOUND);
    ck_assert_str_contains(err, "tags 'train' could not be found");
    ck_assert_str_contains(err, "Available tags: 'serve'");
    ck_assert_ptr_null(m);
    ck_assert_int_eq(tg_saved_model_load(s, model_dir("counter"), train, 1, &m, err, sizeof err), TG_NOT_FOUND);
    ck_assert_str_contains(err, "saved_model.pb");
    ck_assert_int_eq(tg_graph_num_ops(g), 0);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static Suite *import_suite(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tcase_create("import");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_import_default_prefix_and_order);
    tcase_add_test(tc, test_import_input_map_prefix_control_returns);
    tcase_add_test(tc, test_unsupported_op_fails_only_when_run);
    tcase_add_test(tc, test_import_fused_batch_norm_inference);
    tcase_add_test(tc, test_import_errors_name_the_node);
    tcase_add_test(tc, test_import_bad_arguments);
    tcase_add_test(tc, test_saved_model_half_plus_two);
    tcase_add_test(tc, test_saved_model_half_plus_three);
    tcase_add_test(tc, test_saved_model_errors);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(import_suite)
