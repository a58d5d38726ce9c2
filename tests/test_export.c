/* tg_graph_to_graph_def (include/tgraph/import.h): tf.Graph.as_graph_def.
 *
 * A graph with an MLP forward pass (MatMul, BiasAdd, Relu, Softmax), a
 * Conv2D + MaxPool + Reshape, Consts of every dtype, shaped Placeholders
 * and a control dependency is exported, imported into a new graph and run
 * there on the same feeds: same outputs. Re-exporting the imported graph
 * gives the same NodeDefs. The bytes are read back by a small protobuf
 * reader that knows TF's field numbers (graph.proto, node_def.proto,
 * attr_value.proto, tensor.proto, tensor_shape.proto), independent of the
 * exporter's generated code, to check TF's conventions: a Const's value
 * tensor, MatMul's explicit transpose_a=false, Conv2D's strides [1,s,s,1]
 * and padding "SAME", "op:i" and "^op" inputs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_check.h"

/* ---- a protobuf reader ----------------------------------------------------------- */

typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

/* One field: its number, wire type, varint value or bytes. */
typedef struct field {
    int num, wire;
    uint64_t v;
    span bytes;
} field;

static uint64_t varint(span *s)
{
    uint64_t v = 0;
    for (int shift = 0; s->n; shift += 7) {
        uint8_t b = *s->p++;
        s->n--;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    ck_abort_msg("truncated varint");
    return 0;
}

static bool next_field(span *s, field *f)
{
    if (!s->n) return false;
    uint64_t tag = varint(s);
    f->num = (int)(tag >> 3);
    f->wire = (int)(tag & 7);
    size_t len = f->wire == 5 ? 4 : f->wire == 1 ? 8 : 0;
    if (f->wire == 0) f->v = varint(s);
    else if (f->wire == 2) len = (size_t)varint(s);
    else ck_assert(f->wire == 5 || f->wire == 1);
    ck_assert_uint_le(len, s->n);
    f->bytes = (span){s->p, len};
    s->p += len, s->n -= len;
    return true;
}

/* The first field num of message m (bytes or varint); false when absent. */
static bool get(span m, int num, field *out)
{
    field f;
    while (next_field(&m, &f))
        if (f.num == num) return *out = f, true;
    return false;
}

static bool span_is(span s, const char *str) { return s.n == strlen(str) && memcmp(s.p, str, s.n) == 0; }

enum { MAX_IN = 8, MAX_ATTR = 8 };

typedef struct node {
    span name, op, in[MAX_IN], key[MAX_ATTR], val[MAX_ATTR];
    int n_in, n_attr;
} node;

/* NodeDef: name (1), op (2), input (3), attr (5) { key (1), value (2) } */
static node parse_node(span m)
{
    node n = {0};
    field f, k, v;
    while (next_field(&m, &f)) {
        if (f.num == 1) n.name = f.bytes;
        if (f.num == 2) n.op = f.bytes;
        if (f.num == 3) {
            ck_assert_int_lt(n.n_in, MAX_IN);
            n.in[n.n_in++] = f.bytes;
        }
        if (f.num == 5) {
            ck_assert_int_lt(n.n_attr, MAX_ATTR);
            ck_assert(get(f.bytes, 1, &k) && get(f.bytes, 2, &v));
            n.key[n.n_attr] = k.bytes, n.val[n.n_attr++] = v.bytes;
        }
    }
    return n;
}

typedef struct graph_def {
    node nodes[64];
    int n;
} graph_def;

/* GraphDef: node (1) */
static void parse_graph(const void *data, size_t len, graph_def *gd)
{
    span m = {data, len};
    field f;
    gd->n = 0;
    while (next_field(&m, &f))
        if (f.num == 1) {
            ck_assert_int_lt(gd->n, 64);
            gd->nodes[gd->n++] = parse_node(f.bytes);
        }
}

static const node *find_node(const graph_def *gd, const char *name)
{
    for (int i = 0; i < gd->n; i++)
        if (span_is(gd->nodes[i].name, name)) return &gd->nodes[i];
    ck_abort_msg("no node %s", name);
    return NULL;
}

static bool find_attr(const node *n, const char *key, span *val)
{
    for (int i = 0; i < n->n_attr; i++)
        if (span_is(n->key[i], key)) return *val = n->val[i], true;
    return false;
}

static span attr(const node *n, const char *key)
{
    span v;
    ck_assert_msg(find_attr(n, key, &v), "attr %s missing", key);
    return v;
}

/* AttrValue's typed members: s (2), i (3), f (4), b (5), type (6),
 * shape (7), tensor (8), list (1). */
static field attr_field(const node *n, const char *key, int num)
{
    field f;
    ck_assert_msg(get(attr(n, key), num, &f), "attr %s lacks field %d", key, num);
    return f;
}

/* The ints of a list(int) (ListValue.i, field 3, packed or not). */
static int list_ints(const node *n, const char *key, int64_t *out, int cap)
{
    span l = attr_field(n, key, 1).bytes;
    field f;
    int k = 0;
    while (next_field(&l, &f)) {
        if (f.num != 3) continue;
        if (f.wire == 0) {
            ck_assert_int_lt(k, cap);
            out[k++] = (int64_t)f.v;
            continue;
        }
        span p = f.bytes;
        while (p.n) {
            ck_assert_int_lt(k, cap);
            out[k++] = (int64_t)varint(&p);
        }
    }
    return k;
}

/* TensorShapeProto's dims (dim (2) { size (1) }); -1 for unknown_rank (3). */
static int shape_dims(span s, int64_t *dims)
{
    field f, sz;
    int rank = 0;
    if (get(s, 3, &f) && f.v) return -1;
    while (next_field(&s, &f))
        if (f.num == 2) dims[rank++] = get(f.bytes, 1, &sz) ? (int64_t)sz.v : 0;
    return rank;
}

/* ---- the graph ------------------------------------------------------------------- */

static const float W1[12] = {0.5f, -1, 2, 1, 0.25f, -0.5f, -2, 1.5f, 0, 0.75f, 1, -1};
static const float B1[3] = {0.1f, -0.2f, 0.3f};
static const float W2[6] = {1, -1, 0.5f, -0.5f, 2, 0.25f}; /* [2, 3]: used transposed */
static const float B2[2] = {0.05f, -0.05f};
static const float FILT[8] = {1, -1, 0.5f, 2, -0.5f, 1, 0.25f, -2}; /* [2, 2, 1, 2] */
static const int64_t I64[3] = {-5, 0, 1ll << 40};

/* What the test fetches, by name, in both graphs. */
static const char *const FETCHES[] = {"out:0", "flat:0", "c_f64:0", "c_i64:0", "c_bool:0", "c_i32:0"};
enum { N_FETCH = 6 };

static void build_mlp(tg_graph *g)
{
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 4), "x");
    tg_tensor *w1 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(4, 3), W1, "w1");
    tg_tensor *b1 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), B1, "b1");
    tg_tensor *w2 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 3), W2, "w2");
    tg_tensor *b2 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), B2, "b2");
    tg_tensor *h = tg_matmul(g, x, w1, &(tg_matmul_opts){.name = "dense/MatMul"});
    h = tg_nn_relu(g, tg_nn_bias_add(g, h, b1, TG_NHWC, "dense/BiasAdd"), "dense/Relu");
    tg_tensor *l = tg_matmul(g, h, w2, &(tg_matmul_opts){.name = "logits/MatMul", .transpose_b = true});
    tg_tensor *probs = tg_nn_softmax(g, tg_nn_bias_add(g, l, b2, TG_NHWC, "logits/BiasAdd"), "probs");
    tg_op *barrier = tg_no_op(g, "barrier");
    int tok = tg_control_dependencies_push(g, &barrier, 1);
    tg_identity(g, probs, "out");
    tg_scope_pop(g, tok);
}

static void build_conv(tg_graph *g)
{
    tg_tensor *img = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(1, 4, 4, 1), "img");
    tg_tensor *f = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 2, 1, 2), FILT, "filt");
    tg_tensor *c = tg_nn_conv2d(
        g, img, f, &(tg_conv2d_opts){.name = "conv", .strides = {1, 2, 2, 1}, .padding = TG_PADDING_SAME});
    tg_tensor *p = tg_nn_max_pool(g, c,
                                  &(tg_pool_opts){.name = "pool", .ksize = {1, 2, 2, 1}, .strides = {1, 1, 1, 1},
                                                  .padding = TG_PADDING_SAME});
    const int32_t dims[2] = {-1, 8};
    tg_tensor *k = tg_constant_data(g, TG_INT32, TG_SHAPE(2), dims, "flat/shape");
    tg_reshape_t(g, p, k, "flat");
}

static void build_consts(tg_graph *g)
{
    const double f64 = 2.5;
    const bool b = true;
    const int32_t i32 = 7;
    tg_constant_data(g, TG_FLOAT64, (tg_shape){.rank = 0}, &f64, "c_f64");
    tg_constant_data(g, TG_INT64, TG_SHAPE(3), I64, "c_i64");
    tg_constant_data(g, TG_BOOL, (tg_shape){.rank = 0}, &b, "c_bool");
    tg_constant_data(g, TG_INT32, (tg_shape){.rank = 0}, &i32, "c_i32");
}

static tg_graph *build(void)
{
    tg_graph *g = tg_graph_new();
    build_mlp(g);
    build_conv(g);
    build_consts(g);
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    return g;
}

static void export(const tg_graph *g, void **data, size_t *len)
{
    char err[256];
    ck_assert_msg(tg_graph_to_graph_def(g, data, len, err, sizeof err) == TG_OK, "%s", err);
    ck_assert_ptr_nonnull(*data);
    ck_assert_uint_gt(*len, 0);
}

/* Runs the fetches on fixed feeds for x and img. */
static void run(tg_graph *g, tg_array **out)
{
    tg_array *x = tg_array_new(TG_FLOAT32, 2, (int64_t[]){2, 4});
    tg_array *img = tg_array_new(TG_FLOAT32, 4, (int64_t[]){1, 4, 4, 1});
    float *xd = tg_array_data(x), *id = tg_array_data(img);
    for (int i = 0; i < 8; i++) xd[i] = (float)(i % 3) - 0.75f * (float)i;
    for (int i = 0; i < 16; i++) id[i] = (float)((i * 7) % 5) - 2;
    tg_feed feeds[2] = {{tg_graph_tensor(g, "x:0"), x}, {tg_graph_tensor(g, "img:0"), img}};
    tg_tensor *fetch[N_FETCH];
    for (int i = 0; i < N_FETCH; i++) ck_assert_ptr_nonnull(fetch[i] = tg_graph_tensor(g, FETCHES[i]));
    tg_session *s = tg_session_new(g);
    ck_assert_int_eq(tg_session_run(s, feeds, 2, fetch, N_FETCH, out, NULL, 0), TG_OK);
    tg_session_free(s);
    tg_array_free(x);
    tg_array_free(img);
}

/* Same op, inputs and attrs (by key, any order), node by node. */
static void assert_same_nodes(const graph_def *a, const graph_def *b)
{
    ck_assert_int_eq(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        const node *x = &a->nodes[i];
        char name[64];
        ck_assert_uint_lt(x->name.n, sizeof name);
        memcpy(name, x->name.p, x->name.n), name[x->name.n] = '\0';
        const node *y = find_node(b, name);
        ck_assert_msg(x->op.n == y->op.n && !memcmp(x->op.p, y->op.p, x->op.n), "node %s: op differs", name);
        ck_assert_int_eq(x->n_in, y->n_in);
        for (int k = 0; k < x->n_in; k++)
            ck_assert_msg(x->in[k].n == y->in[k].n && !memcmp(x->in[k].p, y->in[k].p, x->in[k].n),
                          "node %s: input %d differs", name, k);
        ck_assert_int_eq(x->n_attr, y->n_attr);
        for (int k = 0; k < x->n_attr; k++) {
            char key[32];
            span v;
            ck_assert_uint_lt(x->key[k].n, sizeof key);
            memcpy(key, x->key[k].p, x->key[k].n), key[x->key[k].n] = '\0';
            ck_assert_msg(find_attr(y, key, &v), "node %s: attr %s lost", name, key);
            ck_assert_msg(v.n == x->val[k].n && !memcmp(v.p, x->val[k].p, v.n), "node %s: attr %s differs", name,
                          key);
        }
    }
}

START_TEST(test_export_import_round_trip)
{
    tg_graph *g = build();
    void *data, *data2;
    size_t len, len2;
    export(g, &data, &len);
    tg_graph *g2 = tg_graph_new();
    ck_assert_int_eq(tg_import_graph_def(g2, data, len, "", NULL, 0, NULL, 0, NULL), TG_OK);
    ck_assert_int_eq(tg_graph_num_ops(g2), tg_graph_num_ops(g));

    tg_array *want[N_FETCH] = {0}, *got[N_FETCH] = {0}; /* NULL: the run allocates them */
    run(g, want);
    run(g2, got);
    for (int i = 0; i < N_FETCH; i++) {
        ck_assert_int_eq(tg_array_dtype(got[i]), tg_array_dtype(want[i]));
        ck_assert_shape_eq(tg_array_shape(got[i]), tg_array_shape(want[i]));
        ck_assert_msg(!memcmp(tg_array_cdata(got[i]), tg_array_cdata(want[i]), tg_array_nbytes(want[i])),
                      "%s differs", FETCHES[i]);
        tg_array_free(want[i]);
        tg_array_free(got[i]);
    }

    export(g2, &data2, &len2);
    static graph_def a, b;
    parse_graph(data, len, &a);
    parse_graph(data2, len2, &b);
    ck_assert_int_eq(a.n, tg_graph_num_ops(g));
    assert_same_nodes(&a, &b);
    tg_free(data);
    tg_free(data2);
    tg_graph_free(g2);
    tg_graph_free(g);
}
END_TEST

/* TF's DataType numbers (types.proto). */
enum { DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_INT64 = 9, DT_BOOL = 10 };

static void check_tensor_dtype_shape(const node *n, int dtype, int rank, const int64_t *dims, span *tensor)
{
    ck_assert_int_eq(attr_field(n, "dtype", 6).v, (uint64_t)dtype);
    *tensor = attr_field(n, "value", 8).bytes;
    field f;
    ck_assert(get(*tensor, 1, &f));
    ck_assert_int_eq(f.v, (uint64_t)dtype);
    int64_t got[8];
    ck_assert(get(*tensor, 2, &f));
    ck_assert_int_eq(shape_dims(f.bytes, got), rank);
    for (int i = 0; i < rank; i++) ck_assert_int_eq(got[i], dims[i]);
}

START_TEST(test_export_follows_tf_conventions)
{
    tg_graph *g = build();
    void *data;
    size_t len;
    export(g, &data, &len);
    static graph_def gd;
    parse_graph(data, len, &gd);
    field f;
    span t;
    int64_t v[8];

    /* Const: dtype and a TensorProto (dtype 1, shape 2, tensor_content 4;
     * a scalar in its typed field: double_val 6, bool_val 11, int_val 7) */
    const node *w1 = find_node(&gd, "w1");
    ck_assert(span_is(w1->op, "Const"));
    check_tensor_dtype_shape(w1, DT_FLOAT, 2, (int64_t[]){4, 3}, &t);
    ck_assert(get(t, 4, &f));
    ck_assert_uint_eq(f.bytes.n, sizeof W1);
    ck_assert(!memcmp(f.bytes.p, W1, sizeof W1));
    check_tensor_dtype_shape(find_node(&gd, "c_f64"), DT_DOUBLE, 0, NULL, &t);
    ck_assert(get(t, 6, &f));
    double d;
    ck_assert_uint_eq(f.bytes.n, sizeof d); /* packed (wire 2) or fixed64 (wire 1): 8 bytes either way */
    memcpy(&d, f.bytes.p, sizeof d);
    ck_assert(d == 2.5);
    check_tensor_dtype_shape(find_node(&gd, "c_i64"), DT_INT64, 1, (int64_t[]){3}, &t);
    ck_assert(get(t, 4, &f) && f.bytes.n == sizeof I64 && !memcmp(f.bytes.p, I64, sizeof I64));
    check_tensor_dtype_shape(find_node(&gd, "c_bool"), DT_BOOL, 0, NULL, &t);
    ck_assert(get(t, 11, &f));
    check_tensor_dtype_shape(find_node(&gd, "c_i32"), DT_INT32, 0, NULL, &t);
    ck_assert(get(t, 7, &f));

    /* Placeholder: dtype and shape [-1, 4] */
    const node *x = find_node(&gd, "x");
    ck_assert_int_eq(attr_field(x, "dtype", 6).v, DT_FLOAT);
    ck_assert_int_eq(shape_dims(attr_field(x, "shape", 7).bytes, v), 2);
    ck_assert_int_eq(v[0], -1);
    ck_assert_int_eq(v[1], 4);

    /* MatMul: T and both transposes, false ones included */
    const node *mm = find_node(&gd, "dense/MatMul");
    ck_assert(span_is(mm->op, "MatMul"));
    ck_assert_int_eq(mm->n_in, 2);
    ck_assert(span_is(mm->in[0], "x") && span_is(mm->in[1], "w1"));
    ck_assert_int_eq(attr_field(mm, "T", 6).v, DT_FLOAT);
    ck_assert_int_eq(attr_field(mm, "transpose_a", 5).v, 0);
    ck_assert_int_eq(attr_field(mm, "transpose_b", 5).v, 0);
    ck_assert_int_eq(attr_field(find_node(&gd, "logits/MatMul"), "transpose_b", 5).v, 1);
    ck_assert(span_is(attr_field(find_node(&gd, "dense/BiasAdd"), "data_format", 2).bytes, "NHWC"));

    /* Conv2D: strides [1, s, s, 1], padding "SAME" */
    const node *conv = find_node(&gd, "conv");
    ck_assert_int_eq(list_ints(conv, "strides", v, 8), 4);
    ck_assert(v[0] == 1 && v[1] == 2 && v[2] == 2 && v[3] == 1);
    ck_assert_int_eq(list_ints(conv, "dilations", v, 8), 4);
    ck_assert(v[0] == 1 && v[1] == 1 && v[2] == 1 && v[3] == 1);
    ck_assert(span_is(attr_field(conv, "padding", 2).bytes, "SAME"));
    ck_assert(span_is(attr_field(conv, "data_format", 2).bytes, "NHWC"));
    ck_assert_int_eq(list_ints(find_node(&gd, "pool"), "ksize", v, 8), 4);
    ck_assert(v[0] == 1 && v[1] == 2 && v[2] == 2 && v[3] == 1);

    /* Reshape: T and Tshape; the control input after the data ones */
    const node *flat = find_node(&gd, "flat");
    ck_assert_int_eq(attr_field(flat, "Tshape", 6).v, DT_INT32);
    ck_assert(span_is(flat->in[0], "pool") && span_is(flat->in[1], "flat/shape"));
    const node *out = find_node(&gd, "out");
    ck_assert_int_eq(out->n_in, 2);
    ck_assert(span_is(out->in[0], "probs") && span_is(out->in[1], "^barrier"));
    ck_assert_int_eq(find_node(&gd, "barrier")->n_attr, 0);
    tg_free(data);
    tg_graph_free(g);
}
END_TEST

/* A second output is referred to as "op:1". */
START_TEST(test_export_output_index)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(1, 2, 2, 2), "x");
    tg_tensor *c = tg_constant_scalar(g, TG_FLOAT32, 1, "one");
    tg_tensor *stats = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), ((float[]){1, 2}), "stats");
    tg_fused_batch_norm_opts o = TG_FUSED_BATCH_NORM_OPTS_INIT;
    o.name = "bn";
    o.is_training = false;
    tg_tensor *y = NULL, *mean = NULL;
    tg_nn_fused_batch_norm(g, x, stats, stats, stats, stats, &o, &y, &mean, NULL);
    (void)c;
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    tg_identity(g, mean, "m");
    void *data;
    size_t len;
    export(g, &data, &len);
    static graph_def gd;
    parse_graph(data, len, &gd);
    ck_assert(span_is(find_node(&gd, "m")->in[0], "bn:1"));
    const node *bn = find_node(&gd, "bn");
    ck_assert_int_eq(attr_field(bn, "is_training", 5).v, 0);
    ck_assert_int_eq(attr_field(bn, "U", 6).v, DT_FLOAT);
    tg_free(data);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_export_refuses_unknown_op)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_constant_scalar(g, TG_FLOAT32, 1, "a");
    tg_maximum(g, a, a, "biggest");
    void *data = (void *)&data;
    size_t len = 5;
    char err[256];
    ck_assert_int_eq(tg_graph_to_graph_def(g, &data, &len, err, sizeof err), TG_UNIMPLEMENTED);
    ck_assert_str_contains(err, "op biggest of type Maximum cannot be exported");
    ck_assert_ptr_null(data);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    ck_assert_int_eq(tg_graph_to_graph_def(NULL, &data, &len, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_graph_to_graph_def(g, NULL, &len, NULL, 0), TG_INVALID_ARGUMENT);
    tg_graph_free(g);
}
END_TEST

static Suite *export_suite(void)
{
    Suite *s = suite_create("export");
    TCase *tc = tcase_create("export");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_export_import_round_trip);
    tcase_add_test(tc, test_export_follows_tf_conventions);
    tcase_add_test(tc, test_export_output_index);
    tcase_add_test(tc, test_export_refuses_unknown_op);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(export_suite)
