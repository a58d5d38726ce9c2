/* tf.Graph.as_graph_def / tf.train.write_graph: a tgraph graph as TF's
 * GraphDef. Each op's attributes come from its def's export hook (src/ops),
 * already under TF's names; this file only spells them as AttrValues. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"

#define WHO "tg_graph_to_graph_def"

/* GraphDef.versions.producer. TF 1.15 imports any producer from its minimum
 * (0) up; a low one only keeps TF's checks of ops deprecated since off, and
 * none of the exported ops is deprecated. 27 is the producer of TF 1.x
 * graphs that predate every exported op's current definition. */
enum { PRODUCER = 27 };

/* Every message and array of the GraphDef being built: freed together once
 * it is packed, so no path leaks a half-built node. */
typedef struct exporter {
    void **blocks;
    size_t n, cap;
    bool oom;
} exporter;

static void *ex_alloc(exporter *ex, size_t size) {
    if (ex->oom) return NULL;
    if (ex->n == ex->cap) {
        size_t cap = ex->cap ? 2 * ex->cap : 64;
        void **b = realloc(ex->blocks, cap * sizeof *b);
        if (!b) return ex->oom = true, NULL;
        ex->blocks = b, ex->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) return ex->oom = true, NULL;
    return ex->blocks[ex->n++] = p;
}

static void ex_free(exporter *ex) {
    for (size_t i = 0; i < ex->n; i++) free(ex->blocks[i]);
    free(ex->blocks);
}

static Tensorflow__DataType tf_dtype(tg_dtype d) {
    switch (d) {
    case TG_FLOAT32: return TENSORFLOW__DATA_TYPE__DT_FLOAT;
    case TG_FLOAT64: return TENSORFLOW__DATA_TYPE__DT_DOUBLE;
    case TG_INT32: return TENSORFLOW__DATA_TYPE__DT_INT32;
    case TG_INT64: return TENSORFLOW__DATA_TYPE__DT_INT64;
    default: return TENSORFLOW__DATA_TYPE__DT_BOOL;
    }
}

/* TF's TensorShapeProto: unknown_rank for rank -1, size -1 for an unknown
 * dimension. */
static Tensorflow__TensorShapeProto *shape_proto(exporter *ex, const tg_shape *s) {
    Tensorflow__TensorShapeProto *p = ex_alloc(ex, sizeof *p);
    if (!p) return NULL;
    tensorflow__tensor_shape_proto__init(p);
    if (s->rank < 0) {
        p->unknown_rank = true;
        return p;
    }
    p->dim = ex_alloc(ex, (size_t)s->rank * sizeof *p->dim);
    for (int i = 0; p->dim && i < s->rank; i++) {
        Tensorflow__TensorShapeProto__Dim *d = ex_alloc(ex, sizeof *d);
        if (!d) return NULL;
        tensorflow__tensor_shape_proto__dim__init(d);
        d->size = s->dims[i];
        p->dim[p->n_dim++] = d;
    }
    return p->dim || s->rank == 0 ? p : NULL;
}

/* A scalar goes to the typed field (float_val, ...), anything else to
 * tensor_content's little-endian bytes: what TF's make_tensor_proto writes. */
#define SCALAR(field, ctype, from)                \
    do {                                          \
        ctype *x = ex_alloc(ex, sizeof *x);       \
        if (!x) return false;                     \
        *x = (ctype) * (const from *)v;           \
        p->field = x;                             \
        p->n_##field = 1;                         \
        return true;                              \
    } while (0)

static bool scalar_value(exporter *ex, Tensorflow__TensorProto *p, const tg_array *a) {
    const void *v = tg_array_cdata(a);
    switch (a->dtype) {
    case TG_FLOAT32: SCALAR(float_val, float, float);
    case TG_FLOAT64: SCALAR(double_val, double, double);
    case TG_INT32: SCALAR(int_val, int32_t, int32_t);
    case TG_INT64: SCALAR(int64_val, int64_t, int64_t);
    default: SCALAR(bool_val, protobuf_c_boolean, bool);
    }
}
#undef SCALAR

static Tensorflow__TensorProto *tensor_proto(exporter *ex, const tg_array *a) {
    Tensorflow__TensorProto *p = ex_alloc(ex, sizeof *p);
    if (!p) return NULL;
    tensorflow__tensor_proto__init(p);
    p->dtype = tf_dtype(a->dtype);
    tg_shape s = tg_array_shape(a);
    if (!(p->tensor_shape = shape_proto(ex, &s))) return NULL;
    if (s.rank == 0) return scalar_value(ex, p, a) ? p : NULL;
    /* the graph's array stays the owner: packing only reads the bytes */
    p->tensor_content.len = tg_array_nbytes(a);
    p->tensor_content.data = (uint8_t *)(uintptr_t)tg_array_cdata(a);
    return p;
}

static Tensorflow__AttrValue__ListValue *int_list(exporter *ex, const tg__attr *at) {
    Tensorflow__AttrValue__ListValue *l = ex_alloc(ex, sizeof *l);
    if (!l) return NULL;
    tensorflow__attr_value__list_value__init(l);
    if (!(l->i = ex_alloc(ex, (size_t)at->u.ints.n * sizeof *l->i))) return NULL;
    l->n_i = (size_t)at->u.ints.n;
    memcpy(l->i, at->u.ints.v, l->n_i * sizeof *l->i);
    return l;
}

/* One attribute as TF's AttrValue; NULL when out of memory. */
static Tensorflow__AttrValue *attr_value(exporter *ex, const tg__attr *at) {
    Tensorflow__AttrValue *v = ex_alloc(ex, sizeof *v);
    if (!v) return NULL;
    tensorflow__attr_value__init(v);
    bool ok = true;
    switch (at->kind) {
    case TG__ATTR_BOOL: v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_B, v->b = at->u.b; break;
    case TG__ATTR_INT: v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_I, v->i = at->u.i; break;
    case TG__ATTR_FLOAT: v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_F, v->f = (float)at->u.f; break;
    case TG__ATTR_STRING:
        v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_S;
        v->s = (ProtobufCBinaryData){strlen(at->u.s), (uint8_t *)(uintptr_t)at->u.s};
        break;
    case TG__ATTR_TYPE: v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TYPE, v->type = tf_dtype(at->u.type); break;
    case TG__ATTR_SHAPE:
        v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_SHAPE;
        ok = (v->shape = shape_proto(ex, &at->u.shape)) != NULL;
        break;
    case TG__ATTR_INTS:
        v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
        ok = (v->list = int_list(ex, at)) != NULL;
        break;
    case TG__ATTR_TENSOR:
        v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TENSOR;
        ok = (v->tensor = tensor_proto(ex, at->u.tensor)) != NULL;
        break;
    }
    return ok ? v : NULL;
}

static bool node_attrs(exporter *ex, const tg_op *op, Tensorflow__NodeDef *n) {
    tg__attr_list l;
    memset(&l, 0, sizeof l);
    op->def->export_attrs(op, &l);
    if (!(n->attr = ex_alloc(ex, (size_t)l.n * sizeof *n->attr))) return false;
    for (int i = 0; i < l.n; i++) {
        Tensorflow__NodeDef__AttrEntry *e = ex_alloc(ex, sizeof *e);
        if (!e) return false;
        tensorflow__node_def__attr_entry__init(e);
        e->key = (char *)(uintptr_t)l.a[i].name;
        if (!(e->value = attr_value(ex, &l.a[i]))) return false;
        n->attr[n->n_attr++] = e;
    }
    return true;
}

/* TF's input spelling: "op" for output 0, "op:i" otherwise, "^op" for a
 * control input (after every data input). */
static char *input_name(exporter *ex, const tg_op *src, int index, bool control) {
    size_t size = strlen(src->name) + 16;
    char *s = ex_alloc(ex, size);
    if (!s) return NULL;
    if (control) snprintf(s, size, "^%s", src->name);
    else if (index == 0) snprintf(s, size, "%s", src->name);
    else snprintf(s, size, "%s:%d", src->name, index);
    return s;
}

static bool node_inputs(exporter *ex, const tg_op *op, Tensorflow__NodeDef *n) {
    size_t total = (size_t)op->n_inputs + (size_t)op->n_control;
    if (!(n->input = ex_alloc(ex, total * sizeof *n->input))) return false;
    for (int i = 0; i < op->n_inputs; i++) {
        const tg_tensor *t = op->inputs[i];
        if (!(n->input[n->n_input++] = input_name(ex, tg_tensor_op(t), tg_tensor_index(t), false))) return false;
    }
    for (int i = 0; i < op->n_control; i++)
        if (!(n->input[n->n_input++] = input_name(ex, op->control[i], 0, true))) return false;
    return true;
}

static Tensorflow__NodeDef *node_def(exporter *ex, const tg_op *op) {
    Tensorflow__NodeDef *n = ex_alloc(ex, sizeof *n);
    if (!n) return NULL;
    tensorflow__node_def__init(n);
    /* the graph's strings outlive the packing: borrowed, never freed here */
    n->name = (char *)(uintptr_t)op->name;
    n->op = (char *)(uintptr_t)op->def->type;
    return node_inputs(ex, op, n) && node_attrs(ex, op, n) ? n : NULL;
}

static tg_code fail(char *err, size_t size, tg_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static tg_code fail(char *err, size_t size, tg_code code, const char *fmt, ...) {
    if (err && size) {
        int k = snprintf(err, size, WHO ": ");
        va_list ap;
        va_start(ap, fmt);
        if (k >= 0 && (size_t)k < size) vsnprintf(err + k, size - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* The first op no export hook covers, or NULL: checked before anything is
 * built, so a refused graph yields no bytes at all. */
static const tg_op *first_unexportable(const tg_graph *g) {
    for (int i = 0; i < tg_graph_num_ops(g); i++) {
        const tg_op *op = tg_graph_op_at(g, i);
        if (!op->def->export_attrs) return op;
    }
    return NULL;
}

static bool build_graph_def(exporter *ex, const tg_graph *g, Tensorflow__GraphDef *gd) {
    tensorflow__graph_def__init(gd);
    Tensorflow__VersionDef *v = ex_alloc(ex, sizeof *v);
    if (!v) return false;
    tensorflow__version_def__init(v);
    v->producer = PRODUCER;
    gd->versions = v;
    int n = tg_graph_num_ops(g);
    if (!(gd->node = ex_alloc(ex, (size_t)n * sizeof *gd->node))) return false;
    for (int i = 0; i < n; i++)
        if (!(gd->node[gd->n_node++] = node_def(ex, tg_graph_op_at(g, i)))) return false;
    return true;
}

static tg_code pack(const Tensorflow__GraphDef *gd, void **data, size_t *len, char *err, size_t err_size) {
    size_t size = tensorflow__graph_def__get_packed_size(gd);
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return fail(err, err_size, TG_RESOURCE_EXHAUSTED, "out of memory");
    *len = tensorflow__graph_def__pack(gd, buf);
    *data = buf;
    return TG_OK;
}

tg_code tg_graph_to_graph_def(const tg_graph *g, void **data, size_t *len, char *err, size_t err_size) {
    if (err && err_size) err[0] = '\0';
    if (!g || !data || !len) return fail(err, err_size, TG_INVALID_ARGUMENT, "NULL graph or output");
    *data = NULL;
    *len = 0;
    if (tg_graph_status(g) != TG_OK)
        return fail(err, err_size, tg_graph_status(g), "the graph is in error: %s", tg_graph_message(g));
    const tg_op *bad = first_unexportable(g);
    if (bad)
        return fail(err, err_size, TG_UNIMPLEMENTED, "op %s of type %s cannot be exported to a GraphDef yet",
                    bad->name, tg_op_type(bad));
    exporter ex = {0};
    Tensorflow__GraphDef gd;
    tg_code rc = build_graph_def(&ex, g, &gd) ? pack(&gd, data, len, err, err_size)
                                              : fail(err, err_size, TG_RESOURCE_EXHAUSTED, "out of memory");
    ex_free(&ex);
    return rc;
}
