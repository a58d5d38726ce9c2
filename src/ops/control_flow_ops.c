/* NoOp, group and tuple, which exist only to carry control inputs, and
 * Assert. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ops_internal.h"

static tg_code no_op_kernel(tg__kernel_ctx *c) {
    (void)c;
    return TG_OK;
}

/* NoOp has no attributes: exporting it adds none. */
static void no_op_export(const tg_op *op, tg__attr_list *out) { (void)op, (void)out; }

const tg__op_def tg__op_no_op = {
    .type = "NoOp",
    .n_inputs = 0,
    .n_outputs = 0,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .kernel = TG__ALL_DTYPES(no_op_kernel),
    .export_attrs = no_op_export,
};

tg_op *tg_no_op(tg_graph *g, const char *name) {
    tg__op_args a = {.def = &tg__op_no_op, .name = name};
    return tg__add_op(g, &a);
}

/* TF's group: a NoOp created inside control_dependencies(ops). */
tg_op *tg_group(tg_graph *g, tg_op *const *ops, int n, const char *name) {
    if (!tg__graph_ready(g, NULL, 0)) return NULL;
    for (int i = 0; i < n; i++)
        if (!ops || !ops[i]) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: op %d of %d is NULL", name ? name : "group_deps", i, n);
            return NULL;
        } else if (ops[i]->g != g) {
            tg__fail(g, TG_INVALID_ARGUMENT, "tg_group (%s): op %d, '%s', is from another graph",
                     name ? name : "group_deps", i, ops[i]->name);
            return NULL;
        }
    /* An empty list must not mean control_dependencies(None). */
    static tg_op *const none[1] = {NULL};
    int tok = tg_control_dependencies_push(g, n ? ops : none, n);
    tg_op *op = tg_no_op(g, name ? name : "group_deps");
    tg_scope_pop(g, tok);
    return op;
}

/* ---- Assert ----------------------------------------------------------------------- */

/* message: a leading text entry (in the graph arena), for what TF writes as
 * a string tensor first in data (tgraph has no string dtype); NULL: none. */
typedef struct {
    int64_t summarize;
    const char *message;
} assert_attrs;

/* TF's IsLegacyScalar: shape [] or [1]. An unknown rank or dimension
 * passes here and is checked by the kernel. */
static bool maybe_scalar(const tg_shape *s) {
    if (s->rank < 0 || s->rank == 0) return true;
    return s->rank == 1 && (s->dims[0] < 0 || s->dims[0] == 1);
}

/* TensorShape::ShortDebugString: "[2,3]" ("?" for a dimension not yet known) */
static void short_shape(char *buf, size_t size, int rank, const int64_t *dims) {
    size_t at = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < rank && at < size; i++) {
        if (dims[i] < 0)
            at += (size_t)snprintf(buf + at, size - at, "%s?", i ? "," : "");
        else
            at += (size_t)snprintf(buf + at, size - at, "%s%" PRId64, i ? "," : "", dims[i]);
    }
    if (at < size) snprintf(buf + at, size - at, "]");
}

static tg_code assert_infer(tg__infer_ctx *c) {
    const tg_tensor *cond = c->in[0];
    if (cond->dtype != TG_BOOL)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT,
                              "Input 'condition' of 'Assert' Op has type %s that does not match expected type of bool.",
                              tg_dtype_name(cond->dtype));
    if (!maybe_scalar(&cond->shape)) {
        char s[256];
        short_shape(s, sizeof s, cond->shape.rank, cond->shape.dims);
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "In[0] should be a scalar: %s", s);
    }
    return TG_OK;
}

static tg_code assert_kernel(tg__kernel_ctx *c) {
    const tg_array *cond = c->in[0];
    if (!(cond->rank == 0 || (cond->rank == 1 && cond->dims[0] == 1))) {
        char s[256];
        short_shape(s, sizeof s, cond->rank, cond->dims);
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "In[0] should be a scalar: %s", s);
    }
    if (*(const bool *)cond->data) return TG_OK;
    const assert_attrs *a = c->attrs;
    tg__strbuf b = {0};
    tg__strbuf_printf(&b, "assertion failed: ");
    if (a->message) tg__strbuf_printf(&b, "[%s]%s", a->message, c->n_in > 1 ? " " : "");
    for (int i = 1; i < c->n_in; i++) {
        tg__strbuf_printf(&b, "[");
        tg__summarize_value(&b, c->in[i], a->summarize);
        tg__strbuf_printf(&b, "]%s", i < c->n_in - 1 ? " " : "");
    }
    tg_code rc = b.failed ? tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "out of memory")
                          : tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s", b.data);
    tg__strbuf_free(&b);
    return rc;
}

/* Registered for every dtype of its condition so that a wrong one reaches
 * the shape function's message rather than a missing kernel. */
const tg__op_def tg__op_assert = {
    .type = "Assert",
    .n_inputs = -1,
    .n_outputs = 0,
    .flags = TG__OPF_STATEFUL | TG__OPF_NOT_DIFFERENTIABLE,
    .attr_size = sizeof(assert_attrs),
    .infer = assert_infer,
    .kernel = TG__ALL_DTYPES(assert_kernel),
};

tg_op *tg_assert(tg_graph *g, tg_tensor *condition, tg_tensor *const *data, int n_data, int64_t summarize,
                 const char *name) {
    return tg__assert_message(g, condition, NULL, data, n_data, summarize, name);
}

tg_op *tg_assert_message(tg_graph *g, tg_tensor *condition, const char *message, tg_tensor *const *data, int n_data,
                         int64_t summarize, const char *name) {
    return tg__assert_message(g, condition, message, data, n_data, summarize, name);
}

tg_op *tg__assert_message(tg_graph *g, tg_tensor *condition, const char *message, tg_tensor *const *data, int n_data,
                          int64_t summarize, const char *name) {
    if (!tg__graph_ready(g, &condition, 1)) return NULL;
    if (!tg__check_data(g, name ? name : "Assert", data, n_data)) return NULL;
    tg_tensor **in = malloc((size_t)(n_data + 1) * sizeof *in);
    if (!in) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "%s: out of memory", name ? name : "Assert");
        return NULL;
    }
    in[0] = condition;
    for (int i = 0; i < n_data; i++) in[i + 1] = data[i];
    assert_attrs a = {summarize, message ? tg__arena_strdup(&g->arena, message) : NULL};
    if (message && !a.message) {
        free(in);
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "%s: out of memory", name ? name : "Assert");
        return NULL;
    }
    /* TF: name_scope(name, "Assert"), then the op "Assert" inside it */
    const char *scope;
    int tok = tg__builder_scope(g, name, "Assert", &scope);
    tg__op_args args = {.def = &tg__op_assert, .name = "Assert", .inputs = in, .n_inputs = n_data + 1, .attrs = &a};
    tg_op *op = tg__add_op(g, &args);
    tg_scope_pop(g, tok);
    free(in);
    return op;
}

/* ---- tuple ------------------------------------------------------------------------ */

static int by_id(const void *x, const void *y) {
    int a = tg__op_id(*(tg_op *const *)x), b = tg__op_id(*(tg_op *const *)y);
    return (a > b) - (a < b);
}

tg_code tg_tuple(tg_graph *g, tg_tensor *const *tensors, int n, tg_op *const *control_inputs, int n_control,
                 tg_tensor **outputs, const char *name) {
    const char *who = name ? name : "tuple";
    if (outputs)
        for (int i = 0; i < n; i++) outputs[i] = NULL;
    if (!tg__graph_ready(g, NULL, 0)) return tg__not_ready_code(g);
    if (n < 0 || n_control < 0 || (n > 0 && (!tensors || !outputs)) || (n_control > 0 && !control_inputs))
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: a list is NULL or its count negative", who);
    for (int i = 0; i < n_control; i++)
        if (!control_inputs[i]) return tg__fail(g, TG_INVALID_ARGUMENT, "%s: control_inputs[%d] is NULL", who, i);
    for (int i = 0; i < n; i++)
        if (tensors[i] && !tg__graph_ready(g, &tensors[i], 1)) return tg_graph_status(g);
    tg_op **gating = malloc((size_t)(n + n_control + 1) * sizeof *gating);
    if (!gating) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "%s: out of memory", who);
    int n_gating = 0;
    for (int i = 0; i < n; i++)
        if (tensors[i]) gating[n_gating++] = tg_tensor_op(tensors[i]);
    for (int i = 0; i < n_control; i++) gating[n_gating++] = control_inputs[i];
    /* TF: sorted(set(gating_ops), key=op._id) */
    qsort(gating, (size_t)n_gating, sizeof *gating, by_id);
    int k = 0;
    for (int i = 0; i < n_gating; i++)
        if (k == 0 || gating[k - 1] != gating[i]) gating[k++] = gating[i];
    n_gating = k;
    if (n_gating == 0) {
        free(gating);
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: Must have at least one Tensor", who);
    }
    const char *scope;
    int tok = tg__builder_scope(g, name, "tuple", &scope);
    tg_op *gate = tg_group(g, gating, n_gating, NULL);
    free(gating);
    /* TF's with_dependencies([gate], t): an Identity closing its own
     * "control_dependency" scope, made inside control_dependencies([gate]) */
    for (int i = 0; gate && i < n; i++) {
        if (!tensors[i]) continue;
        const char *dep;
        int t2 = tg__builder_scope(g, NULL, "control_dependency", &dep);
        int t3 = tg_control_dependencies_push(g, &gate, 1);
        tg__op_args a = {.def = &tg__op_identity, .name = dep, .exact_name = true, .inputs = &tensors[i],
                         .n_inputs = 1};
        outputs[i] = tg__out0(tg__add_op(g, &a));
        tg_scope_pop(g, t3);
        tg_scope_pop(g, t2);
    }
    tg_scope_pop(g, tok);
    tg_code rc = tg_graph_status(g);
    if (rc != TG_OK)
        for (int i = 0; i < n; i++) outputs[i] = NULL;
    return rc;
}
