/* cond_pitfall: the best-known trap of TF 1.x graph mode, and its fix.
 *
 *     outside = tf.assign_add(count_outside, 1)          # made before the cond
 *     y = tf.cond(pred, lambda: outside + 0.0,           # used in a branch
 *                       lambda: tf.constant(0.0))
 *     y2 = tf.cond(pred, lambda: tf.assign_add(count_inside, 1) + 0.0,
 *                        lambda: tf.constant(0.0))       # made in the branch
 *
 * Three runs with pred False, False, True: the assign made outside the cond
 * runs every time (count_outside = 3), because the cond only gates ops made
 * inside its branch functions; the one made in the branch runs once
 * (count_inside = 1). The trace of a False run shows the true branch's ops
 * skipped, and tg_explain says why each assign ran or not. */
#include "teach.h"

static tg_variable *counter(tg_graph *g, const char *name) {
    TG_OPTS(tg_get_variable_opts, o, .initializer = tg_zeros_initializer(), .trainable = false);
    return tg_get_variable(g, name, TG_FLOAT32, TG_SCALAR, &o);
}

static tg_variable *count_outside, *count_inside;
static tg_tensor *outside; /* the assign made before the cond */

static int zero(tg_graph *g, void *user, tg_tensor **outs, int n) {
    (void)user, (void)n;
    outs[0] = tg_constant_scalar(g, TG_FLOAT32, 0, "zero");
    return 1;
}
/* lambda: outside + 0.0 -- uses a tensor made outside the branch */
static int use_outside(tg_graph *g, void *user, tg_tensor **outs, int n) {
    (void)user, (void)n;
    outs[0] = tg_add(g, outside, tg_constant_scalar(g, TG_FLOAT32, 0, NULL), "use_outside");
    return 1;
}
/* lambda: tf.assign_add(count_inside, 1) + 0.0 -- the side effect made inside */
static int assign_inside(tg_graph *g, void *user, tg_tensor **outs, int n) {
    (void)user, (void)n;
    tg_tensor *one = tg_constant_scalar(g, TG_FLOAT32, 1, NULL);
    tg_tensor *a = tg_assign_add(g, tg_variable_ref(count_inside), one, "assign_inside");
    outs[0] = tg_add(g, a, tg_constant_scalar(g, TG_FLOAT32, 0, NULL), NULL);
    return 1;
}

/* Why op ran or not in that run (tg_explain). */
static void explain(tg_session *s, const tg_graph *g, tg_tensor *const *fetches, const char *op) {
    char *why = tg_explain(s, fetches, 2, NULL, 0, tg_graph_op(g, op));
    printf("explain: %s\n", why ? why : "?");
    tg_free(why);
}

int main(void) {
    tg_graph *g = tg_graph_new();
    count_outside = counter(g, "count_outside");
    count_inside = counter(g, "count_inside");
    tg_tensor *pred = tg_placeholder(g, TG_BOOL, TG_SCALAR, "pred");
    outside = tg_assign_add(g, tg_variable_ref(count_outside), tg_constant_scalar(g, TG_FLOAT32, 1, NULL),
                            "assign_outside");
    tg_tensor *y = NULL, *y2 = NULL;
    tg_cond(g, pred, use_outside, zero, NULL, &y, 1, "cond_outside");
    tg_cond(g, pred, assign_inside, zero, NULL, &y2, 1, "cond_inside");
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g)) return puts(tg_graph_message(g)), 1;

    tg_session *s = tg_session_new(g);
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    tg_session_set_run_options(s, &(tg_run_options){.trace = true});
    const bool preds[] = {false, false, true};
    tg_array *out[2] = {NULL, NULL};
    for (int i = 0; i < 3 && !rc; i++) {
        tg_array *p = tg_array_scalar_bool(preds[i]);
        rc = tg_session_run(s, &(tg_feed){pred, p}, 1, (tg_tensor *[]){y, y2}, 2, out, NULL, 0);
        tg_array_free(p);
        if (!rc && i == 0) {
            puts("trace of a run with pred False:");
            tg_session_write_trace(s, stdout);
            teach_draw(g, s, 0, "cond_pitfall.png");
            explain(s, g, (tg_tensor *[]){y, y2}, "assign_outside");
            explain(s, g, (tg_tensor *[]){y, y2}, "cond_inside/assign_inside");
        }
    }
    tg_array *counts[2] = {NULL, NULL};
    if (!rc)
        rc = tg_session_run(s, NULL, 0, (tg_tensor *[]){tg_variable_value(count_outside),
                                                         tg_variable_value(count_inside)},
                            2, counts, NULL, 0);
    if (rc) puts(tg_session_message(s));
    else
        printf("after pred False, False, True: count_outside = %g (made outside the cond: runs every time), "
               "count_inside = %g (made in the branch: runs when taken)\n",
               tg_array_get(counts[0], 0), tg_array_get(counts[1], 0));
    tg_array_free(out[0]), tg_array_free(out[1]), tg_array_free(counts[0]), tg_array_free(counts[1]);
    tg_session_free(s);
    tg_graph_free(g);
    return rc != TG_OK;
}
