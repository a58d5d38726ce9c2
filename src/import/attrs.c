/* NodeDef attributes and TensorProtos as tgraph values. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "import_internal.h"

const Tensorflow__AttrValue *tgi_attr(const Tensorflow__NodeDef *n, const char *key) {
    for (size_t i = 0; i < n->n_attr; i++)
        if (n->attr[i]->key && strcmp(n->attr[i]->key, key) == 0) return n->attr[i]->value;
    return NULL;
}

/* The attr under key when present and of kind `want`; a missing one is an
 * error only when required (then *v is NULL either way). */
static bool attr_of(tgi_node_ctx *c, const char *key, Tensorflow__AttrValue__ValueCase want, const char *what,
                    bool required, const Tensorflow__AttrValue **v) {
    *v = tgi_attr(c->node, key);
    if (!*v) {
        if (!required) return true;
        tg_graph_fail(c->g, TG_INVALID_ARGUMENT, "tg_import_graph_def: node %s: missing attr '%s'", c->node->name,
                      key);
        return false;
    }
    if ((*v)->value_case == want) return true;
    tg_graph_fail(c->g, TG_INVALID_ARGUMENT, "tg_import_graph_def: node %s: attr '%s' must be %s", c->node->name, key,
                  what);
    *v = NULL;
    return false;
}

bool tgi_dtype_from_tf(int tf, tg_dtype *out) {
    if (tf > 100) tf -= 100; /* DT_FLOAT_REF and kin: a variable's reference */
    switch (tf) {
    case TENSORFLOW__DATA_TYPE__DT_FLOAT: *out = TG_FLOAT32; return true;
    case TENSORFLOW__DATA_TYPE__DT_DOUBLE: *out = TG_FLOAT64; return true;
    case TENSORFLOW__DATA_TYPE__DT_INT32: *out = TG_INT32; return true;
    case TENSORFLOW__DATA_TYPE__DT_INT64: *out = TG_INT64; return true;
    case TENSORFLOW__DATA_TYPE__DT_BOOL: *out = TG_BOOL; return true;
    default: return false;
    }
}

const char *tgi_tf_dtype_name(int tf) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&tensorflow__data_type__descriptor, tf);
    return v ? v->name : "an unknown dtype";
}

bool tgi_attr_type(tgi_node_ctx *c, const char *key, bool required, tg_dtype *out, bool *supported) {
    const Tensorflow__AttrValue *v;
    if (!attr_of(c, key, TENSORFLOW__ATTR_VALUE__VALUE_TYPE, "a type", required, &v)) return false;
    *supported = !v || tgi_dtype_from_tf(v->type, out);
    if (!*supported) {
        snprintf(c->reason, sizeof c->reason, "dtype %s", tgi_tf_dtype_name(v->type));
        c->unsupported = c->reason;
    }
    return true;
}

bool tgi_shape_from_proto(const Tensorflow__TensorShapeProto *p, tg_shape *out, char *err, size_t size) {
    *out = TG_SHAPE_UNKNOWN;
    if (!p || p->unknown_rank) return true;
    if (p->n_dim > TG_MAX_RANK) {
        snprintf(err, size, "rank %zu is above tgraph's limit %d", p->n_dim, TG_MAX_RANK);
        return false;
    }
    out->rank = (int)p->n_dim;
    for (size_t i = 0; i < p->n_dim; i++) out->dims[i] = p->dim[i]->size < 0 ? -1 : p->dim[i]->size;
    return true;
}

bool tgi_attr_shape(tgi_node_ctx *c, const char *key, tg_shape *out) {
    const Tensorflow__AttrValue *v;
    *out = TG_SHAPE_UNKNOWN;
    if (!attr_of(c, key, TENSORFLOW__ATTR_VALUE__VALUE_SHAPE, "a shape", false, &v)) return false;
    char err[96];
    if (v && !tgi_shape_from_proto(v->shape, out, err, sizeof err)) {
        tg_graph_fail(c->g, TG_INVALID_ARGUMENT, "tg_import_graph_def: node %s: attr '%s': %s", c->node->name, key,
                      err);
        return false;
    }
    return true;
}

bool tgi_attr_bool(tgi_node_ctx *c, const char *key, bool dflt, bool *out) {
    const Tensorflow__AttrValue *v;
    if (!attr_of(c, key, TENSORFLOW__ATTR_VALUE__VALUE_B, "a bool", false, &v)) return false;
    *out = v ? v->b : dflt;
    return true;
}

bool tgi_attr_float(tgi_node_ctx *c, const char *key, double dflt, double *out) {
    const Tensorflow__AttrValue *v;
    if (!attr_of(c, key, TENSORFLOW__ATTR_VALUE__VALUE_F, "a float", false, &v)) return false;
    *out = v ? v->f : dflt;
    return true;
}

bool tgi_attr_ints(tgi_node_ctx *c, const char *key, int *out, int cap, int *n) {
    const Tensorflow__AttrValue *v;
    *n = 0;
    if (!attr_of(c, key, TENSORFLOW__ATTR_VALUE__VALUE_LIST, "a list of ints", false, &v)) return false;
    if (!v) return true;
    bool ok = v->list->n_i <= (size_t)cap;
    for (size_t i = 0; ok && i < v->list->n_i; i++) ok = v->list->i[i] >= -cap && v->list->i[i] < cap;
    if (!ok) {
        tg_graph_fail(c->g, TG_INVALID_ARGUMENT, "tg_import_graph_def: node %s: attr '%s' must list at most %d axes",
                      c->node->name, key, cap);
        return false;
    }
    for (size_t i = 0; i < v->list->n_i; i++) out[i] = (int)v->list->i[i];
    *n = (int)v->list->n_i;
    return true;
}

bool tgi_attr_string(tgi_node_ctx *c, const char *key, const char *dflt, char *buf, size_t size) {
    const Tensorflow__AttrValue *v;
    if (!attr_of(c, key, TENSORFLOW__ATTR_VALUE__VALUE_S, "a string", !dflt, &v)) return false;
    if (!v) {
        snprintf(buf, size, "%s", dflt);
        return true;
    }
    if (v->s.len >= size || memchr(v->s.data, '\0', v->s.len)) {
        tg_graph_fail(c->g, TG_INVALID_ARGUMENT, "tg_import_graph_def: node %s: attr '%s' is not a valid value",
                      c->node->name, key);
        return false;
    }
    memcpy(buf, v->s.data, v->s.len);
    buf[v->s.len] = '\0';
    return true;
}

bool tgi_attr_ints4(tgi_node_ctx *c, const char *key, bool required, int out[4]) {
    const Tensorflow__AttrValue *v;
    memset(out, 0, 4 * sizeof *out);
    if (!attr_of(c, key, TENSORFLOW__ATTR_VALUE__VALUE_LIST, "a list of 4 ints", required, &v)) return false;
    if (!v) return true;
    bool ok = v->list->n_i == 4;
    for (size_t i = 0; ok && i < 4; i++) ok = v->list->i[i] > 0 && v->list->i[i] <= INT32_MAX;
    if (!ok) {
        tg_graph_fail(c->g, TG_INVALID_ARGUMENT, "tg_import_graph_def: node %s: attr '%s' must be a list of 4 ints",
                      c->node->name, key);
        return false;
    }
    for (int i = 0; i < 4; i++) out[i] = (int)v->list->i[i];
    return true;
}

/* The typed repeated field of p that holds dtype's values (TF's
 * tensor_util: float_val for float, int_val for int32 and bool is bool_val). */
static size_t typed_count(const Tensorflow__TensorProto *p, tg_dtype d) {
    switch (d) {
    case TG_FLOAT32: return p->n_float_val;
    case TG_FLOAT64: return p->n_double_val;
    case TG_INT32: return p->n_int_val;
    case TG_INT64: return p->n_int64_val;
    default: return p->n_bool_val;
    }
}

static void typed_copy(const Tensorflow__TensorProto *p, tg_dtype d, size_t from, void *dst, size_t k) {
    switch (d) {
    case TG_FLOAT32: ((float *)dst)[k] = p->float_val[from]; break;
    case TG_FLOAT64: ((double *)dst)[k] = p->double_val[from]; break;
    case TG_INT32: ((int32_t *)dst)[k] = p->int_val[from]; break;
    case TG_INT64: ((int64_t *)dst)[k] = p->int64_val[from]; break;
    default: ((bool *)dst)[k] = p->bool_val[from] != 0; break;
    }
}

/* TF's rule for the typed fields: fewer values than elements repeat the
 * last one (a scalar fills the tensor), none gives zeros. */
static bool fill_typed(const Tensorflow__TensorProto *p, tg_array *a, char *err, size_t size) {
    tg_dtype d = tg_array_dtype(a);
    size_t have = typed_count(p, d), n = (size_t)tg_array_size(a);
    if (have > n) {
        snprintf(err, size, "tensor holds %zu values for %zu elements", have, n);
        return false;
    }
    void *dst = tg_array_data(a);
    for (size_t k = 0; k < n && have; k++) typed_copy(p, d, k < have ? k : have - 1, dst, k);
    return true;
}

tg_array *tgi_tensor_to_array(const Tensorflow__TensorProto *p, bool *unsupported, char *err, size_t size) {
    tg_dtype d;
    tg_shape s;
    *unsupported = !tgi_dtype_from_tf(p->dtype, &d);
    if (*unsupported) {
        snprintf(err, size, "dtype %s", tgi_tf_dtype_name(p->dtype));
        return NULL;
    }
    if (!tgi_shape_from_proto(p->tensor_shape, &s, err, size)) return NULL;
    if (s.rank < 0 || tg_shape_num_elements(&s) < 0) {
        snprintf(err, size, "tensor shape is not fully defined");
        return NULL;
    }
    /* checked before the allocation: a hostile shape must not size it */
    int64_t n = tg_shape_num_elements(&s);
    if (p->tensor_content.len && (n > INT64_MAX / 8 || p->tensor_content.len != (uint64_t)n * tg_dtype_size(d))) {
        snprintf(err, size, "tensor_content holds %zu bytes, the shape needs %lld elements of %zu bytes",
                 p->tensor_content.len, (long long)n, tg_dtype_size(d));
        return NULL;
    }
    tg_array *a = tg_array_new(d, s.rank, s.dims);
    if (!a) {
        snprintf(err, size, "out of memory");
        return NULL;
    }
    if (p->tensor_content.len) {
        /* the raw little-endian bytes, as TF writes them on every platform
         * tgraph builds for */
        memcpy(tg_array_data(a), p->tensor_content.data, p->tensor_content.len);
        return a;
    }
    if (fill_typed(p, a, err, size)) return a;
    tg_array_free(a);
    return NULL;
}
