/* empty_control_deps: a control-dependencies block that creates no op.
 *
 *     step = tf.assign_add(counter, 1)
 *     with tf.control_dependencies([step]):
 *         y = x                  # Python assignment: no op, no dependency
 *     sess.run(y)                # the counter never moves
 *
 * Control dependencies attach to the ops created inside the block; "y = x"
 * creates none, so fetching y runs nothing that waits for the step (TF
 * #16766). The lint names the block; tf.identity creates the op that
 * waits, and each fetch of y then steps the counter first. */
#include "teach.h"

static int run(bool fixed) {
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, zero, .initializer = tg_zeros_initializer(), .trainable = false);
    tg_variable *counter = tg_get_variable(g, "counter", TG_FLOAT32, TG_SCALAR, &zero);
    tg_tensor *x = tg_variable_value(counter), *y = NULL;
    tg_op *step = tg_tensor_op(tg_assign_add(g, tg_variable_ref(counter), tg_constant_scalar(g, TG_FLOAT32, 1, NULL),
                                             "step"));
    TG_WITH_CONTROL_DEPENDENCIES(g, &step, 1) { y = fixed ? tg_identity(g, tg_variable_ref(counter), "y") : x; }
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g)) return puts(tg_graph_message(g)), 1;
    tg_session *s = tg_session_new(g);
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    printf("%s: y fetched three times:", fixed ? "fixed (y = tg_identity(counter))" : "bug (y = x)");
    for (int i = 0; i < 3 && !rc; i++) {
        tg_array *v = NULL;
        rc = tg_session_run_opts(s, NULL, 0, &y, 1, &v, NULL, 0, &(tg_run_options){.trace = true});
        if (!rc) printf(" %g", tg_array_get(v, 0));
        tg_array_free(v);
    }
    printf("\n");
    if (!rc && !fixed) {
        char *report = NULL;
        tg_graph_lint(g, &y, 1, NULL, 0, &report);
        printf("lint:\n%s", report ? report : "(nothing)\n");
        tg_free(report);
    }
    if (!rc && !fixed) teach_draw(g, s, 0, "empty_control_deps.png");
    if (rc) puts(tg_session_message(s));
    tg_session_free(s);
    tg_graph_free(g);
    return rc != TG_OK;
}

int main(void) { return run(false) || run(true); }
