/* race: an assign and a read of one variable with no order between them,
 * and the fix (TF issues #4663, #14498).
 *
 *     v = tf.Variable(1.0)
 *     a = tf.assign(v, 2.0)
 *     r = v + 0.0                      # reads v: before or after a?
 *     sess.run([a, r])                 # r is 1.0 on some runs, 2.0 on others
 *
 *     with tf.control_dependencies([a]):
 *         r_fixed = tf.identity(v) + 0.0   # a new read, made after a
 *     sess.run([a, r_fixed])           # always 2.0
 *
 * Nothing orders the read against the assign, so TF's executor runs them in
 * whichever order its threads pick. tgraph runs ops in creation order, which
 * hides the bug: the run always gives the same value. Race mode
 * (tg_run_options.race_seed) draws one of the orders TF may pick from a
 * seed; over a few seeds the read changes. tg_graph_lint names the
 * unordered pair. The control dependency makes the read wait for the
 * assign: every seed gives 2. */
#include "teach.h"

enum { N_SEEDS = 16 };

/* v reset to 1, then {a, read} run with race_seed seed (0: creation order);
 * the value read, or -1 on error (message printed). */
static double run_once(tg_session *s, tg_op *init, tg_tensor *a, tg_tensor *read, uint64_t seed) {
    tg_tensor *fetches[2] = {a, read};
    tg_array *out[2] = {NULL, NULL};
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    if (!rc) rc = tg_session_run_opts(s, NULL, 0, fetches, 2, out, NULL, 0, &(tg_run_options){.race_seed = seed});
    double v = rc ? -1 : tg_array_get(out[1], 0);
    if (rc) puts(tg_session_message(s));
    tg_array_free(out[0]), tg_array_free(out[1]);
    return v;
}

/* Runs seeds 1..N_SEEDS, prints the values read and how often each came;
 * returns false on error. */
static bool over_seeds(tg_session *s, tg_op *init, tg_tensor *a, tg_tensor *read, const char *what) {
    int old = 0, new = 0;
    printf("%s, race seeds 1..%d: r =", what, N_SEEDS);
    for (uint64_t seed = 1; seed <= N_SEEDS; seed++) {
        double r = run_once(s, init, a, read, seed);
        if (r < 0) return false;
        printf(" %g", r);
        old += r == 1, new += r == 2;
    }
    printf("\n  r = 1 (read before the assign) on %d seeds, r = 2 (after) on %d seeds\n", old, new);
    return true;
}

static void print_lint(tg_graph *g, tg_tensor *a, tg_tensor *read) {
    char *report = NULL;
    int n = tg_graph_lint(g, (tg_tensor *[]){a, read}, 2, NULL, 0, &report);
    if (n < 0) {
        puts("lint failed");
        return;
    }
    printf("lint of {%s, %s}:", tg_tensor_name(a), tg_tensor_name(read));
    /* one finding a line, each ending in a newline */
    if (n) printf("\n%s", report);
    else puts(" nothing to say");
    tg_free(report);
}

int main(void) {
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_constant_initializer(1), .trainable = false);
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, &vo);
    tg_tensor *zero = tg_constant_scalar(g, TG_FLOAT32, 0, "zero");
    tg_tensor *a = tg_assign(g, tg_variable_ref(v), tg_constant_scalar(g, TG_FLOAT32, 2, "two"), "assign");
    tg_tensor *r = tg_add(g, tg_variable_value(v), zero, "r");
    tg_op *a_op = tg_tensor_op(a);
    tg_tensor *r_fixed = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &a_op, 1) {
        r_fixed = tg_add(g, tg_identity(g, tg_variable_ref(v), "read_after_assign"), zero, "r_fixed");
    }
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g)) return puts(tg_graph_message(g)), 1;

    tg_session *s = tg_session_new(g);
    double normal = run_once(s, init, a, r, 0);
    bool ok = normal >= 0;
    if (ok) printf("normal run (creation order), every time: r = %g\n", normal);
    ok = ok && over_seeds(s, init, a, r, "no control dependency");
    if (ok) print_lint(g, a, r);
    ok = ok && over_seeds(s, init, a, r_fixed, "fixed (read inside control_dependencies([a]))");
    if (ok) print_lint(g, a, r_fixed);
    if (ok) teach_draw(g, NULL, 0, "race.png");
    tg_session_free(s);
    tg_graph_free(g);
    return !ok;
}
