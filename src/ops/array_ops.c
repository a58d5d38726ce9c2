/* Placeholder, PlaceholderWithDefault, Const and Identity. Const and
 * Identity alias their data instead of copying: kernels never write inputs. */
#include <string.h>

#include "ops_internal.h"

/* ---- Placeholder --------------------------------------------------------- */

tg_code tg__typed_shape_infer(tg__infer_ctx *c) {
    const tg__typed_shape *a = c->attrs;
    c->out[0].dtype = a->dtype;
    c->out[0].shape = a->shape;
    return TG_OK;
}

/* The session refuses a plan that would run an unfed placeholder, so this
 * kernel exists only for the registry's completeness. */
static tg_code placeholder_kernel(tg__kernel_ctx *c) {
    return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "You must feed a value for placeholder tensor '%s'",
                           c->op->name);
}

/* Placeholder and PlaceholderWithDefault in a GraphDef: dtype and shape. */
static void typed_shape_export(const tg_op *op, tg__attr_list *out) {
    const tg__typed_shape *a = op->attrs;
    tg__attr_add(out, "dtype", TG__ATTR_TYPE)->u.type = a->dtype;
    tg__attr_add(out, "shape", TG__ATTR_SHAPE)->u.shape = a->shape;
}

const tg__op_def tg__op_placeholder = {
    .type = "Placeholder",
    .n_inputs = 0,
    .n_outputs = 1,
    .flags = TG__OPF_PLACEHOLDER | TG__OPF_NOT_DIFFERENTIABLE,
    .attr_size = sizeof(tg__typed_shape),
    .infer = tg__typed_shape_infer,
    .kernel = TG__ALL_DTYPES(placeholder_kernel),
    .export_attrs = typed_shape_export,
};

static bool valid_shape(const tg_shape *s) {
    if (s->rank < -1 || s->rank > TG_MAX_RANK) return false;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < -1) return false;
    return true;
}

tg_tensor *tg_placeholder(tg_graph *g, tg_dtype dtype, tg_shape shape, const char *name) {
    if (!tg__graph_ready(g, NULL, 0)) return NULL;
    if ((unsigned)dtype >= TG_DTYPE_COUNT || !valid_shape(&shape)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: invalid dtype or shape", name ? name : "Placeholder");
        return NULL;
    }
    tg__typed_shape a = {dtype, shape};
    return tg__simple_op(g, &tg__op_placeholder, name, NULL, 0, &a);
}

/* ---- PlaceholderWithDefault ------------------------------------------------ */

static tg_code pwd_infer(tg__infer_ctx *c) {
    const tg__typed_shape *a = c->attrs;
    const tg_tensor *in = c->in[0];
    if (!tg__shape_compatible(&a->shape, &in->shape)) {
        char x[128], y[128];
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "default value of shape %s is not compatible with shape %s",
                              tg_shape_format(&in->shape, x, sizeof x), tg_shape_format(&a->shape, y, sizeof y));
    }
    c->out[0].dtype = in->dtype;
    c->out[0].shape = a->shape;
    return TG_OK;
}

static tg_code identity_kernel(tg__kernel_ctx *c) {
    tg__out_alias(c, 0, c->in[0]);
    return TG_OK;
}

/* Identity-like ops pass the gradient through unchanged. */
static tg_code pass_through_grad(tg__grad_ctx *c) {
    c->dx[0] = c->dy[0];
    return TG_OK;
}

const tg__op_def tg__op_placeholder_with_default = {
    .type = "PlaceholderWithDefault",
    .flags = TG__OPF_VIEWS,
    .n_inputs = 1,
    .n_outputs = 1,
    .attr_size = sizeof(tg__typed_shape),
    .infer = pwd_infer,
    .kernel = TG__ALL_DTYPES(identity_kernel),
    .grad = pass_through_grad,
    .export_attrs = typed_shape_export,
};

tg_tensor *tg_placeholder_with_default(tg_graph *g, tg_tensor *input, tg_shape shape, const char *name) {
    if (!tg__graph_ready(g, &input, 1)) return NULL;
    if (!valid_shape(&shape)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: invalid shape", name ? name : "PlaceholderWithDefault");
        return NULL;
    }
    tg__typed_shape a = {input->dtype, shape};
    return tg__simple_op(g, &tg__op_placeholder_with_default, name, &input, 1, &a);
}

/* ---- Identity ------------------------------------------------------------------ */

static tg_code identity_infer(tg__infer_ctx *c) {
    c->out[0].dtype = c->in[0]->dtype;
    c->out[0].shape = c->in[0]->shape;
    return TG_OK;
}

/* GraphDef export: TF's "T" is input 0's dtype. */
static void export_t(const tg_op *op, tg__attr_list *out) { tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype; }

const tg__op_def tg__op_identity = {
    .type = "Identity",
    .flags = TG__OPF_VIEWS,
    .n_inputs = 1,
    .n_outputs = 1,
    .infer = identity_infer,
    .kernel = TG__ALL_DTYPES(identity_kernel),
    .grad = pass_through_grad,
    .export_attrs = export_t,
};

tg_tensor *tg_identity(tg_graph *g, tg_tensor *input, const char *name) {
    return tg__simple_op(g, &tg__op_identity, name, &input, 1, NULL);
}

/* ---- Const ------------------------------------------------------------------------ */

typedef struct {
    tg_array value; /* data in the graph arena */
} const_attrs;

static tg_code const_infer(tg__infer_ctx *c) {
    const const_attrs *a = c->attrs;
    c->out[0].dtype = a->value.dtype;
    c->out[0].shape = tg_array_shape(&a->value);
    return TG_OK;
}

static tg_code const_kernel(tg__kernel_ctx *c) {
    const const_attrs *a = c->attrs;
    tg__out_alias(c, 0, &a->value);
    return TG_OK;
}

static void const_export(const tg_op *op, tg__attr_list *out) {
    const const_attrs *a = op->attrs;
    tg__attr_add(out, "dtype", TG__ATTR_TYPE)->u.type = a->value.dtype;
    tg__attr_add(out, "value", TG__ATTR_TENSOR)->u.tensor = &a->value;
}

const tg__op_def tg__op_const = {
    .type = "Const",
    .n_inputs = 0,
    .n_outputs = 1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .attr_size = sizeof(const_attrs),
    .infer = const_infer,
    .kernel = TG__ALL_DTYPES(const_kernel),
    .export_attrs = const_export,
};

const tg_array *tg__const_value(const tg_tensor *t) {
    if (!t || t->op->def != &tg__op_const) return NULL;
    return &((const const_attrs *)t->op->attrs)->value;
}

tg_tensor *tg_constant_data(tg_graph *g, tg_dtype dtype, tg_shape shape, const void *data,
                            const char *name) {
    if (!tg__graph_ready(g, NULL, 0)) return NULL;
    const char *who = name ? name : "Const";
    int64_t n = tg_shape_num_elements(&shape);
    if ((unsigned)dtype >= TG_DTYPE_COUNT || n < 0) {
        char s[128];
        tg__fail(g, TG_INVALID_ARGUMENT,
                 tg__shape_too_large(&shape) ? "%s: the constant's shape %s has too many elements"
                                             : "%s: a constant needs a valid dtype and a fully defined shape, not %s",
                 who, tg_shape_format(&shape, s, sizeof s));
        return NULL;
    }
    if (n > 0 && !data) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: data is NULL", who);
        return NULL;
    }
    const_attrs a = {{.dtype = dtype, .rank = shape.rank, .size = n}};
    memcpy(a.value.dims, shape.dims, sizeof a.value.dims);
    size_t bytes = (size_t)n * tg_dtype_size(dtype);
    a.value.data = tg__graph_alloc(g, bytes ? bytes : 1);
    if (!a.value.data) return NULL;
    if (bytes) memcpy(a.value.data, data, bytes);
    return tg__simple_op(g, &tg__op_const, name, NULL, 0, &a);
}

tg_tensor *tg_constant(tg_graph *g, const tg_array *value, const char *name) {
    if (!tg__graph_ready(g, NULL, 0)) return NULL;
    if (!value) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: value is NULL", name ? name : "Const");
        return NULL;
    }
    return tg_constant_data(g, value->dtype, tg_array_shape(value), value->data, name);
}

tg_tensor *tg_constant_scalar(tg_graph *g, tg_dtype dtype, double v, const char *name) {
    union {
        float f;
        double d;
        int32_t i;
        int64_t l;
        bool b;
    } u;
    switch (dtype) {
    case TG_FLOAT32: u.f = (float)v; break;
    case TG_FLOAT64: u.d = v; break;
    case TG_INT32: u.i = (int32_t)v; break;
    case TG_INT64: u.l = (int64_t)v; break;
    case TG_BOOL: u.b = v != 0; break;
    default: u.d = 0; break;
    }
    return tg_constant_data(g, dtype, TG_SCALAR, &u, name);
}

tg_tensor *tg__const_i32(tg_graph *g, const int32_t *v, int n, const char *name) {
    return tg_constant_data(g, TG_INT32, TG_SHAPE(n), v, name);
}

/* ---- helpers shared by the builders -------------------------------------------------- */

tg_tensor *tg__out0(tg_op *op) { return op && op->n_outputs ? &op->outputs[0] : NULL; }

tg_tensor *tg__simple_op(tg_graph *g, const tg__op_def *def, const char *name,
                         tg_tensor *const *inputs, int n, const void *attrs) {
    tg__op_args a = {.def = def, .name = name, .inputs = inputs, .n_inputs = n, .attrs = attrs};
    return tg__out0(tg__add_op(g, &a));
}

int tg__builder_scope(tg_graph *g, const char *name, const char *dflt, const char **scope) {
    int tok = tg_name_scope_push(g, name ? name : dflt);
    const char *ns = tg_graph_name_scope(g);
    size_t len = strlen(ns);
    char *s = len ? tg__graph_alloc(g, len) : NULL;
    if (s) {
        memcpy(s, ns, len - 1);
        s[len - 1] = '\0';
    }
    *scope = s;
    return tok;
}

/* TF's constant_value for a predicate (smart_cond): a scalar bool Const. */
bool tg_tensor_static_bool(const tg_tensor *t, bool *value) {
    const tg_array *v = tg__const_value(t);
    if (!v || v->dtype != TG_BOOL || v->size != 1) return false;
    if (value) *value = *(const bool *)v->data;
    return true;
}
