/* VariableV2 and the assign family. A VariableV2 output is a reference to
 * the session's storage for the variable; the assign ops write through it. */
#include <string.h>

#include "ops_internal.h"

/* ---- VariableV2 -------------------------------------------------------------- */

/* A view of the storage, which the session allocates once per variable, so
 * the view stays valid while assign ops write into it. */
static tg_code variable_kernel(tg__kernel_ctx *c) {
    tg__out_alias(c, 0, c->var);
    return TG_OK;
}

/* tf.Variable's VariableV2: no container, not shared. */
static void variable_export(const tg_op *op, tg__attr_list *out) {
    const tg__typed_shape *a = op->attrs;
    tg__attr_add(out, "dtype", TG__ATTR_TYPE)->u.type = a->dtype;
    tg__attr_add(out, "shape", TG__ATTR_SHAPE)->u.shape = a->shape;
    tg__attr_add(out, "container", TG__ATTR_STRING)->u.s = "";
    tg__attr_add(out, "shared_name", TG__ATTR_STRING)->u.s = "";
}

const tg__op_def tg__op_variable_v2 = {
    .type = "VariableV2",
    .n_inputs = 0,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_VARIABLE | TG__OPF_STATEFUL | TG__OPF_NOT_DIFFERENTIABLE,
    .attr_size = sizeof(tg__typed_shape),
    .infer = tg__typed_shape_infer,
    .kernel = TG__ALL_DTYPES(variable_kernel),
    .export_attrs = variable_export,
};

tg_op *tg__variable_v2(tg_graph *g, tg_dtype dtype, tg_shape shape, const char *exact_name);
tg_op *tg__variable_v2(tg_graph *g, tg_dtype dtype, tg_shape shape, const char *exact_name) {
    tg__typed_shape a = {dtype, shape};
    tg__op_args args = {.def = &tg__op_variable_v2, .name = exact_name, .attrs = &a, .exact_name = true};
    return tg__add_op(g, &args);
}

/* ---- Assign, AssignAdd, AssignSub ------------------------------------------------- */

static tg_code assign_infer(tg__infer_ctx *c) {
    const tg_tensor *ref = c->in[0], *val = c->in[1];
    if (!(ref->op->def->flags & TG__OPF_VARIABLE))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "input 0 '%s' is not a variable reference", ref->name);
    const char *var = ref->op->variable ? ref->op->variable->name : ref->op->name;
    if (ref->dtype != val->dtype)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "value of dtype %s cannot be assigned to variable '%s' of dtype %s",
                              tg_dtype_name(val->dtype), var, tg_dtype_name(ref->dtype));
    if (!tg__shape_compatible(&ref->shape, &val->shape)) {
        char x[128], y[128];
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "value of shape %s does not match variable '%s' of shape %s",
                              tg_shape_format(&val->shape, x, sizeof x), var,
                              tg_shape_format(&ref->shape, y, sizeof y));
    }
    c->out[0].dtype = ref->dtype;
    c->out[0].shape = ref->shape;
    return TG_OK;
}

static tg_code check_value_shape(tg__kernel_ctx *c) {
    const tg_array *v = c->in[1], *var = c->var;
    bool same = v->rank == var->rank;
    for (int i = 0; same && i < v->rank; i++) same = v->dims[i] == var->dims[i];
    if (same) return TG_OK;
    char x[128], y[128];
    tg_shape vs = tg_array_shape(v), ws = tg_array_shape(var);
    return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "value of shape %s does not match variable of shape %s",
                           tg_shape_format(&vs, x, sizeof x), tg_shape_format(&ws, y, sizeof y));
}

static tg_code assign_kernel(tg__kernel_ctx *c) {
    tg_code rc = check_value_shape(c);
    if (rc != TG_OK) return rc;
    memmove(c->var->data, c->in[1]->data, tg__array_nbytes(c->var));
    *c->var_initialized = true;
    tg__out_alias(c, 0, c->var);
    return TG_OK;
}

#define ASSIGN_ARITH(NAME, T, OP)                                         \
    static tg_code NAME(tg__kernel_ctx *c) {                              \
        tg_code rc = check_value_shape(c);                                \
        if (rc != TG_OK) return rc;                                       \
        T *x = c->var->data;                                              \
        const T *y = c->in[1]->data;                                      \
        for (int64_t i = 0; i < c->var->size; i++) x[i] OP y[i];          \
        tg__out_alias(c, 0, c->var);                                      \
        return TG_OK;                                                     \
    }
ASSIGN_ARITH(assign_add_f32, float, +=)
ASSIGN_ARITH(assign_add_f64, double, +=)
ASSIGN_ARITH(assign_add_i32, uint32_t, +=) /* ints wrap, as in TF */
ASSIGN_ARITH(assign_add_i64, uint64_t, +=)
ASSIGN_ARITH(assign_sub_f32, float, -=)
ASSIGN_ARITH(assign_sub_f64, double, -=)
ASSIGN_ARITH(assign_sub_i32, uint32_t, -=)
ASSIGN_ARITH(assign_sub_i64, uint64_t, -=)

/* tgraph's Assign always checks the shape and writes under the lock (TF's
 * defaults, which tf.Variable's initializer keeps). */
static void assign_export(const tg_op *op, tg__attr_list *out) {
    tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype;
    tg__attr_add(out, "validate_shape", TG__ATTR_BOOL)->u.b = true;
    tg__attr_add(out, "use_locking", TG__ATTR_BOOL)->u.b = true;
}

const tg__op_def tg__op_assign = {
    .type = "Assign",
    .n_inputs = 2,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_STATEFUL | TG__OPF_REF_INPUT0 | TG__OPF_INIT_REF | TG__OPF_NOT_DIFFERENTIABLE,
    .infer = assign_infer,
    .kernel = TG__ALL_DTYPES(assign_kernel),
    .export_attrs = assign_export,
};

const tg__op_def tg__op_assign_add = {
    .type = "AssignAdd",
    .n_inputs = 2,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_STATEFUL | TG__OPF_REF_INPUT0 | TG__OPF_NOT_DIFFERENTIABLE,
    .infer = assign_infer,
    .kernel = TG__NUMERIC(assign_add_f32, assign_add_f64, assign_add_i32, assign_add_i64),
};

const tg__op_def tg__op_assign_sub = {
    .type = "AssignSub",
    .n_inputs = 2,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_STATEFUL | TG__OPF_REF_INPUT0 | TG__OPF_NOT_DIFFERENTIABLE,
    .infer = assign_infer,
    .kernel = TG__NUMERIC(assign_sub_f32, assign_sub_f64, assign_sub_i32, assign_sub_i64),
};

static tg_tensor *assign_op(tg_graph *g, const tg__op_def *def, tg_tensor *ref, tg_tensor *value,
                            const char *name) {
    tg_tensor *in[2] = {ref, value};
    if (!tg__graph_ready_in(g, in, 2, name ? name : def->type)) return NULL;
    if ((def == &tg__op_assign_add || def == &tg__op_assign_sub) && ref->dtype == TG_BOOL) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: bool variables cannot be added to", name ? name : def->type);
        return NULL;
    }
    return tg__simple_op(g, def, name, in, 2, NULL);
}

tg_tensor *tg_assign(tg_graph *g, tg_tensor *ref, tg_tensor *value, const char *name) {
    return assign_op(g, &tg__op_assign, ref, value, name);
}
tg_tensor *tg_assign_add(tg_graph *g, tg_tensor *ref, tg_tensor *value, const char *name) {
    return assign_op(g, &tg__op_assign_add, ref, value, name);
}
tg_tensor *tg_assign_sub(tg_graph *g, tg_tensor *ref, tg_tensor *value, const char *name) {
    return assign_op(g, &tg__op_assign_sub, ref, value, name);
}
