/* The variable store: variables by full name, as TF's _VariableStore.
 * Creating a variable (ops, initializer, reuse rules) is tg_get_variable in
 * src/ops; this file only keeps and describes what was created. */
#include "graph_internal.h"

bool tg__register_variable(tg_graph *g, tg_variable *v, const char *key) {
    if (!tg__build_begin(g, v->name)) return false;
    bool ok = tg__grow((void **)&g->vars, &g->cap_vars, g->n_vars + 1, sizeof *g->vars) &&
              (!key || tg__map_put(g, &g->var_by_name, key, v));
    if (ok) {
        v->id = g->n_vars;
        g->vars[g->n_vars++] = v;
        v->op->variable = v;
    }
    tg__build_end(g);
    return ok;
}

tg_variable *tg_graph_variable(const tg_graph *g, const char *name) {
    return g && name ? tg__strmap_get(&g->var_by_name, name) : NULL;
}

const char *tg_variable_name(const tg_variable *v) { return v ? v->name : NULL; }
tg_dtype tg_variable_dtype(const tg_variable *v) { return v ? v->dtype : TG_DTYPE_COUNT; }
tg_shape tg_variable_shape(const tg_variable *v) { return v ? v->shape : TG_SHAPE_UNKNOWN; }
bool tg_variable_trainable(const tg_variable *v) { return v && v->trainable; }
tg_op *tg_variable_op(const tg_variable *v) { return v ? v->op : NULL; }
tg_tensor *tg_variable_ref(const tg_variable *v) { return v ? &v->op->outputs[0] : NULL; }
tg_tensor *tg_variable_value(const tg_variable *v) { return v ? v->read : NULL; }
tg_op *tg_variable_initializer(const tg_variable *v) { return v ? v->initializer : NULL; }
tg_tensor *tg_variable_initial_value(const tg_variable *v) { return v ? v->initial_value : NULL; }
tg_constraint tg_variable_constraint(const tg_variable *v) {
    return v ? v->constraint : (tg_constraint){0};
}
