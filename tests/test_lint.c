/* test_lint.c: tg_graph_lint's built-in checks and the session's lint
 * option. Each check fires on its pitfall, built here the way users built
 * it in TF (../shared/design/user-pain.md), names what it must, and stays
 * silent on the corrected program. Silence on the MNIST models of
 * examples/, every check included, is test_describe_bn's
 * test_silent_on_mnist_models; the example programs run with the lint on
 * and their tests check that it finds nothing. */
#include <string.h>

#include "tg_check.h"

static int lint(tg_graph *g, tg_tensor *const *f, int nf, tg_op *const *t, int nt, char **report) {
    int n = tg_graph_lint(g, f, nf, t, nt, report);
    ck_assert_msg(n >= 0, "lint failed");
    return n;
}

static void assert_silent(tg_graph *g, tg_tensor *const *f, int nf, tg_op *const *t, int nt) {
    char *report = NULL;
    int n = lint(g, f, nf, t, nt, &report);
    ck_assert_msg(n == 0, "unexpected findings:\n%s", report ? report : "");
    ck_assert_ptr_null(report);
}

/* A scalar model with one moving statistic in UPDATE_OPS (as a batch norm
 * leaves it) and one trainable weight; the loss reads the weight. */
typedef struct {
    tg_graph *g;
    tg_variable *w, *moving;
    tg_op *update;
    tg_tensor *loss;
} model;

static void add_bn_like(model *m, const char *scope) {
    tg_graph *g = m->g;
    TG_WITH_VARIABLE_SCOPE(g, scope, NULL) {
        TG_OPTS(tg_get_variable_opts, ones, .initializer = tg_ones_initializer());
        m->w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &ones);
        TG_OPTS(tg_get_variable_opts, stat, .initializer = tg_zeros_initializer(), .trainable = false);
        m->moving = tg_get_variable(g, "moving_mean", TG_FLOAT32, TG_SCALAR, &stat);
        tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 3, "x");
        tg_tensor *delta = tg_multiply(g, tg_subtract(g, tg_variable_value(m->moving), x, NULL),
                                       tg_constant_scalar(g, TG_FLOAT32, 0.5, NULL), NULL);
        m->update = tg_tensor_op(tg_assign_sub(g, tg_variable_ref(m->moving), delta, "AssignMovingAvg"));
        tg_add_to_collection(g, TG_GRAPHKEYS_UPDATE_OPS, TG_ITEM_OF_OP(m->update));
        m->loss = tg_square(g, tg_multiply(g, tg_variable_value(m->w), x, NULL), "loss");
    }
}

static tg_op *minimize(model *m, tg_op *const *deps, int n_deps) {
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(m->g, 0.1, NULL);
    tg_op *train = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(m->g, deps, n_deps) {
        train = tg_optimizer_minimize(opt, m->loss, &(tg_minimize_opts){.var_list = &m->w, .n_vars = 1});
    }
    return train;
}

START_TEST(test_update_ops_left_out)
{
    model m = {.g = tg_graph_new()};
    add_bn_like(&m, "bn");
    tg_op *bad = minimize(&m, NULL, 0);
    tg_op *good = minimize(&m, &m.update, 1);
    ck_assert_tg_ok(m.g);
    char *report = NULL;
    ck_assert_int_eq(lint(m.g, NULL, 0, &bad, 1, &report), 1);
    ck_assert_str_contains(report, "[update_ops] ");
    ck_assert_str_contains(report, "bn/AssignMovingAvg");
    ck_assert_str_contains(report, "Fix: ");
    tg_free(report);
    assert_silent(m.g, NULL, 0, &good, 1);
    assert_silent(m.g, &m.loss, 1, NULL, 0); /* evaluation does not train */
    tg_graph_free(m.g);
}
END_TEST

/* with tf.control_dependencies([a]): y = x  -- creates no op */
START_TEST(test_empty_control_dependencies)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, NULL);
    tg_tensor *a = tg_assign(g, tg_variable_ref(v), tg_constant_scalar(g, TG_FLOAT32, 2, NULL), "set_v");
    tg_tensor *x = tg_variable_value(v), *y = NULL;
    tg_op *dep = tg_tensor_op(a);
    TG_WITH_CONTROL_DEPENDENCIES(g, &dep, 1) { y = x; }
    ck_assert_tg_ok(g);
    char *report = NULL;
    int n = lint(g, &y, 1, NULL, 0, &report);
    ck_assert_int_ge(n, 1);
    ck_assert_str_contains(report, "[empty_control_dependencies] a control-dependencies block on {set_v} ended "
                                   "without creating an op");
    ck_assert_str_contains(report, "tg_identity");
    tg_free(report);
    tg_graph_free(g);

    g = tg_graph_new();
    v = tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, NULL);
    dep = tg_tensor_op(tg_assign(g, tg_variable_ref(v), tg_constant_scalar(g, TG_FLOAT32, 2, NULL), "set_v"));
    TG_WITH_CONTROL_DEPENDENCIES(g, &dep, 1) { y = tg_identity(g, tg_variable_ref(v), NULL); }
    ck_assert_tg_ok(g);
    assert_silent(g, &y, 1, NULL, 0);
    tg_graph_free(g);
}
END_TEST

/* update_ops = get_collection(UPDATE_OPS) before the model is built */
START_TEST(test_stale_update_ops_snapshot)
{
    model m = {.g = tg_graph_new()};
    tg_op **early = NULL;
    int n_early = tg_get_collection_ops(m.g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &early);
    ck_assert_int_eq(n_early, 0);
    add_bn_like(&m, "bn");
    tg_op *train = minimize(&m, early, n_early);
    ck_assert_tg_ok(m.g);
    char *report = NULL;
    ck_assert_int_eq(lint(m.g, NULL, 0, &train, 1, &report), 2);
    ck_assert_str_contains(report, "[stale_collection] UPDATE_OPS was read (tg_get_collection_ops) when it held 0 "
                                   "ops and holds 1 now");
    ck_assert_str_contains(report, "bn/AssignMovingAvg");
    ck_assert_str_contains(report, "[update_ops] ");
    tg_free(report);
    /* read again once the model exists: the new train op is fine */
    tg_op **late = NULL;
    int n_late = tg_get_collection_ops(m.g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &late);
    tg_op *good = minimize(&m, late, n_late);
    ck_assert_tg_ok(m.g);
    assert_silent(m.g, NULL, 0, &good, 1);
    tg_free(late);
    tg_free(early);
    tg_graph_free(m.g);
}
END_TEST

/* init = global_variables_initializer() before minimize() made the slots */
START_TEST(test_init_before_optimizer)
{
    model m = {.g = tg_graph_new()};
    add_bn_like(&m, "bn");
    tg_op *init = tg_global_variables_initializer(m.g);
    tg_optimizer *opt = tg_train_momentum_optimizer_new(m.g, 0.1, 0.9, NULL);
    tg_op *train = tg_optimizer_minimize(opt, m.loss, &(tg_minimize_opts){.var_list = &m.w, .n_vars = 1});
    ck_assert_tg_ok(m.g);
    (void)train;
    char *report = NULL;
    ck_assert_int_eq(lint(m.g, NULL, 0, &init, 1, &report), 1);
    /* two variables existed (bn/w, bn/moving_mean); Momentum added its slot */
    ck_assert_str_contains(report, "[init_before_variables] 'init' was built when 2 global variables existed; the 1 "
                                   "created after it (bn/w/Momentum) are not in it");
    tg_free(report);
    tg_op *init2 = tg_global_variables_initializer(m.g);
    ck_assert_tg_ok(m.g);
    assert_silent(m.g, NULL, 0, &init2, 1);
    tg_graph_free(m.g);
}
END_TEST

/* v = 1; fetch [assign(v, 2), v + 0]: the read races the write. (A bare
 * identity(v) would not: it aliases the storage, and the fetch reads it
 * after every op.) */
START_TEST(test_unordered_read_and_write)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, ones, .initializer = tg_ones_initializer());
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, &ones);
    tg_tensor *w = tg_assign(g, tg_variable_ref(v), tg_constant_scalar(g, TG_FLOAT32, 2, NULL), "write_v");
    tg_tensor *zero = tg_constant_scalar(g, TG_FLOAT32, 0, NULL);
    tg_tensor *r = tg_add(g, tg_variable_value(v), zero, "read_v");
    ck_assert_tg_ok(g);
    tg_tensor *both[2] = {w, r};
    char *report = NULL;
    ck_assert_int_eq(lint(g, both, 2, NULL, 0, &report), 1);
    ck_assert_str_contains(report, "[unordered_variable_access] 'read_v' reads variable 'v' and 'write_v' writes it");
    tg_free(report);
    /* the read after the write, by a control dependency: ordered */
    tg_op *wop = tg_tensor_op(w);
    tg_tensor *r2 = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &wop, 1) {
        r2 = tg_add(g, tg_identity(g, tg_variable_ref(v), NULL), zero, "read_after");
    }
    /* the identity alone, fetched: a view read by the fetch, after the write */
    tg_tensor *view[2] = {w, tg_identity(g, tg_variable_ref(v), "view_v")};
    assert_silent(g, view, 2, NULL, 0);
    tg_tensor *ordered[2] = {w, r2};
    assert_silent(g, ordered, 2, NULL, 0);
    tg_graph_free(g);
}
END_TEST

/* A GAN: one UPDATE_OPS list for both train ops; D's step runs G's updates */
START_TEST(test_update_ops_of_other_scope)
{
    model gen = {.g = tg_graph_new()}, dis;
    add_bn_like(&gen, "G");
    dis = (model){.g = gen.g};
    add_bn_like(&dis, "D");
    tg_op **all = NULL;
    int n_all = tg_get_collection_ops(gen.g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &all);
    ck_assert_int_eq(n_all, 2);
    tg_op *train_d = minimize(&dis, all, n_all);
    tg_op **mine = NULL;
    int n_mine = tg_get_collection_ops(gen.g, TG_GRAPHKEYS_UPDATE_OPS, "D/", &mine);
    ck_assert_int_eq(n_mine, 1);
    tg_op *good_d = minimize(&dis, mine, n_mine);
    ck_assert_tg_ok(gen.g);
    char *report = NULL;
    ck_assert_int_eq(lint(gen.g, NULL, 0, &train_d, 1, &report), 1);
    ck_assert_str_contains(report, "[update_ops_other_scope] this run trains 'D/w'");
    ck_assert_str_contains(report, "also runs 'G/AssignMovingAvg'");
    tg_free(report);
    assert_silent(gen.g, NULL, 0, &good_d, 1);
    tg_free(all);
    tg_free(mine);
    tg_graph_free(gen.g);
}
END_TEST

static int warnings;
static void on_warning(const char *message, void *user) {
    (void)message;
    (void)user;
    warnings++;
}

static void count_runs(tg_lint_run *r, void *user) {
    tg_session *s = tg_lint_run_session(r);
    int nf = 0;
    tg_lint_run_fetches(r, &nf);
    *(int *)user += 1;
    tg_lint_report(r, "custom", "session %s, %d fetch%s", s ? "given" : "none", nf, nf == 1 ? "" : "es");
}

/* tg_run_options.lint: the first run of each fetch set, through the
 * warnings; checks added with tg_graph_add_lint run too. */
START_TEST(test_session_option_and_added_check)
{
    model m = {.g = tg_graph_new()};
    add_bn_like(&m, "bn");
    tg_op *train = minimize(&m, NULL, 0);
    tg_op *init = tg_global_variables_initializer(m.g);
    int calls = 0;
    ck_assert_int_eq(tg_graph_add_lint(m.g, "custom", count_runs, &calls), TG_OK);
    ck_assert_tg_ok(m.g);
    tg_session *s = tg_session_new(m.g);
    tg_session_set_warning_callback(s, on_warning, NULL);
    tg_session_set_run_options(s, &(tg_run_options){.lint = true});
    warnings = 0;
    tgc_run_target(s, init);
    ck_assert_str_eq(tg_session_warnings(s), "[custom] session given, 0 fetches\n");
    for (int i = 0; i < 3; i++) tgc_run_target(s, train);
    ck_assert_str_contains(tg_session_warnings(s), "[update_ops] ");
    ck_assert_str_contains(tg_session_warnings(s), "[custom] session given");
    ck_assert_int_eq(calls, 2);    /* once per fetch set */
    ck_assert_int_eq(warnings, 2); /* told once each */
    char *report = NULL;
    ck_assert_int_eq(lint(m.g, &m.loss, 1, NULL, 0, &report), 1);
    ck_assert_str_eq(report, "[custom] session none, 1 fetch\n");
    tg_free(report);
    ck_assert_int_eq(tg_graph_add_lint(m.g, NULL, count_runs, NULL), TG_INVALID_ARGUMENT);
    tg_session_free(s);
    tg_graph_free(m.g);
}
END_TEST

static Suite *lint_suite(void) {
    Suite *s = suite_create("lint");
    TCase *tc = tcase_create("lint");
    tcase_add_test(tc, test_update_ops_left_out);
    tcase_add_test(tc, test_empty_control_dependencies);
    tcase_add_test(tc, test_stale_update_ops_snapshot);
    tcase_add_test(tc, test_init_before_optimizer);
    tcase_add_test(tc, test_unordered_read_and_write);
    tcase_add_test(tc, test_update_ops_of_other_scope);
    tcase_add_test(tc, test_session_option_and_added_check);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(lint_suite)
