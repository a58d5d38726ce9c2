/* tf.train's global step: one int64 scalar variable found through the
 * GLOBAL_STEP collection, created on first request. */
#include "tgraph.h"

tg_variable *tg_train_get_global_step(tg_graph *g) {
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_STEP, NULL, &vars);
    tg_variable *v = n == 1 ? vars[0] : n == 0 ? tg_graph_variable(g, "global_step") : NULL;
    tg_free(vars);
    return v;
}

/* TF's assert_global_step: an integer scalar. */
static bool valid_global_step(tg_graph *g, tg_variable *v) {
    tg_dtype d = tg_variable_dtype(v);
    if (d != TG_INT32 && d != TG_INT64) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Existing \"global_step\" does not have integer type: %s", tg_dtype_name(d));
        return false;
    }
    if (tg_variable_shape(v).rank != 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Existing \"global_step\" is not scalar");
        return false;
    }
    return true;
}

tg_variable *tg_train_get_or_create_global_step(tg_graph *g) {
    if (tg_graph_status(g) != TG_OK) return NULL;
    tg_variable *v = tg_train_get_global_step(g);
    if (v) return valid_global_step(g, v) ? v : NULL;
    static const char *const collections[] = {TG_GRAPHKEYS_GLOBAL_VARIABLES, TG_GRAPHKEYS_GLOBAL_STEP};
    TG_OPTS(tg_get_variable_opts, o, .initializer = tg_zeros_initializer(), .trainable = false,
            .collections = collections, .n_collections = 2);
    return tg_get_variable(g, TG_GRAPHKEYS_GLOBAL_STEP, TG_INT64, TG_SCALAR, &o);
}
