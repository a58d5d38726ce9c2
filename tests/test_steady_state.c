/* test_steady_state.c: a repeated run allocates nothing.
 *
 * The issue asks that the op order and buffers of a (feeds, fetches,
 * targets) combination be made once and reused. This executable links the
 * static library with malloc, calloc and realloc wrapped (ld --wrap), so it
 * can count every allocation the library makes during a run. */
#include "tg_alloc_count.h"
#include "tg_check.h"

/* The model both runs train: w * x fitted to x by a hand-written gradient
 * step ("train"); *err is w * x - x, *loss its mean square. */
static tg_op *regression(tg_graph *g, tg_tensor **x_out, tg_tensor **err_out, tg_tensor **loss_out)
{
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "x");
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, NULL);
    tg_tensor *err = tg_subtract(g, tg_multiply(g, tg_variable_value(w), x, NULL), x, NULL);
    tg_tensor *loss = tg_reduce_mean(g, tg_square(g, err, NULL), NULL);
    tg_tensor *step = tg_multiply(g, tg_constant_scalar(g, TG_FLOAT32, 0.1, NULL),
                                  tg_reduce_mean(g, tg_multiply(g, err, x, NULL), NULL), NULL);
    tg_op *train = tg_tensor_op(tg_assign_sub(g, tg_variable_ref(w), step, "train"));
    *x_out = x, *err_out = err, *loss_out = loss;
    return train;
}

START_TEST(test_repeated_runs_allocate_nothing)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x, *err, *loss;
    tg_op *train = regression(g, &x, &err, &loss);
    tg_tensor *noise = tg_random_normal(g, TG_SHAPE(64), NULL);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);

    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){4}, (float[]){1, 2, 3, 4});
    tg_feed feed = {x, xa};
    tg_tensor *fetch[2] = {loss, noise};
    tg_array *out[2] = {NULL, NULL};
    /* The first run of the combination builds its plan and buffers. */
    ck_assert_int_eq(tg_session_run(s, &feed, 1, fetch, 2, out, &train, 1), TG_OK);
    double first = tg_array_get(out[0], 0);

    /* No ck_assert inside the loop: Check is linked statically and its
     * assertions allocate too. */
    int failed = 0;
    atomic_store(&tga_allocations, 0);
    for (int i = 0; i < 100; i++) failed += tg_session_run(s, &feed, 1, fetch, 2, out, &train, 1) != TG_OK;
    long during = atomic_load(&tga_allocations);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(during, 0);
    /* the runs did work: the loss went down */
    ck_assert(tg_array_get(out[0], 0) < first);

    tg_array_free(out[0]);
    tg_array_free(out[1]);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* A callable (Session.make_callable) binds its plan on the first run; after
 * that a run allocates nothing either, with every output reused. */
START_TEST(test_callable_runs_allocate_nothing)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x, *err, *loss;
    tg_op *train = regression(g, &x, &err, &loss);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);

    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    tg_tensor *fetch[2] = {loss, err};
    tg_callable *c = tg_session_make_callable(s, &x, 1, fetch, 2, &train, 1);
    ck_assert_ptr_nonnull(c);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){4}, (float[]){1, 2, 3, 4});
    const tg_array *values[1] = {xa};
    tg_array *out[2] = {NULL, NULL};
    ck_assert_int_eq(tg_callable_run(c, values, 1, out), TG_OK);
    double first = tg_array_get(out[0], 0);

    /* No ck_assert inside the loop: Check's assertions allocate. */
    int failed = 0;
    atomic_store(&tga_allocations, 0);
    for (int i = 0; i < 100; i++) failed += tg_callable_run(c, values, 1, out) != TG_OK;
    long during = atomic_load(&tga_allocations);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(during, 0);
    ck_assert(tg_array_get(out[0], 0) < first);

    tg_array_free(out[0]);
    tg_array_free(out[1]);
    tg_array_free(xa);
    tg_session_free(s); /* frees c */
    tg_graph_free(g);
}
END_TEST

/* A tf.cond graph: dead-tensor flags are sized with the plan, so runs
 * that alternate the branch allocate nothing either. */
static int cond_true(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    (void)n;
    outs[0] = tg_multiply(g, (tg_tensor *)user, tg_constant_scalar(g, TG_FLOAT32, 3, NULL), NULL);
    return 1;
}

static int cond_false(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    (void)n;
    outs[0] = tg_add(g, (tg_tensor *)user, tg_constant_scalar(g, TG_FLOAT32, 10, NULL), NULL);
    return 1;
}

START_TEST(test_cond_runs_allocate_nothing)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_cond(g, p, cond_true, cond_false, x, &out, 1, NULL), TG_OK);
    tg_tensor *y = tg_reduce_sum(g, out, NULL);
    ck_assert_tg_ok(g);

    tg_session *s = tg_session_new(g);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){4}, (float[]){1, 2, 3, 4});
    tg_array *pt = tg_array_scalar_bool(true), *pf = tg_array_scalar_bool(false);
    tg_feed ft[2] = {{x, xa}, {p, pt}}, ff[2] = {{x, xa}, {p, pf}};
    tg_array *o = NULL;
    /* both branches once, so every slot has its buffer */
    ck_assert_int_eq(tg_session_run(s, ft, 2, &y, 1, &o, NULL, 0), TG_OK);
    ck_assert_int_eq(tg_session_run(s, ff, 2, &y, 1, &o, NULL, 0), TG_OK);

    int failed = 0;
    double sum = 0;
    atomic_store(&tga_allocations, 0);
    for (int i = 0; i < 100; i++) {
        failed += tg_session_run(s, i % 2 ? ff : ft, 2, &y, 1, &o, NULL, 0) != TG_OK;
        sum += tg_array_get(o, 0);
    }
    long during = atomic_load(&tga_allocations);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(during, 0);
    /* 50 runs of sum(3x) = 30 and 50 of sum(x + 10) = 50 */
    ck_assert_double_eq(sum, 50 * 30.0 + 50 * 50.0);

    tg_array_free(o);
    tg_array_free(xa);
    tg_array_free(pt);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST


/* A while loop and its gradient loop: NextIteration's buffers and the
 * stacks keep their storage between runs, so once a run has gone as deep
 * as the next ones, those allocate nothing either. */
static tg_tensor *below_limit(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)n;
    return tg_less(g, v[0], (tg_tensor *)user, NULL);
}

static int times_w(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    next[1] = tg_tanh(g, tg_multiply(g, v[1], tg_constant_scalar(g, TG_FLOAT32, 1.5, NULL), NULL), NULL);
    return 2;
}

START_TEST(test_loop_runs_allocate_nothing)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3), "x");
    tg_tensor *limit = tg_placeholder(g, TG_INT32, TG_SCALAR, "limit");
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, NULL), x}, *out[2], *dx = NULL;
    ck_assert_int_eq(tg_while_loop(g, below_limit, times_w, limit, vars, 2, out, NULL), TG_OK);
    tg_tensor *y = tg_reduce_sum(g, out[1], NULL);
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK);
    tg_tensor *fetch[2] = {y, dx};
    ck_assert_tg_ok(g);

    tg_session *s = tg_session_new(g);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){3}, (float[]){0.1f, 0.2f, 0.3f});
    tg_array *deep = tg_array_scalar_i32(6), *shallow = tg_array_scalar_i32(2);
    tg_feed fd[2] = {{x, xa}, {limit, deep}}, fs[2] = {{x, xa}, {limit, shallow}};
    tg_array *o[2] = {NULL, NULL};
    ck_assert_int_eq(tg_session_run(s, fd, 2, fetch, 2, o, NULL, 0), TG_OK);
    float want = (float)tg_array_get(o[0], 0);

    int failed = 0;
    double sum = 0;
    atomic_store(&tga_allocations, 0);
    for (int i = 0; i < 50; i++) {
        failed += tg_session_run(s, i % 2 ? fs : fd, 2, fetch, 2, o, NULL, 0) != TG_OK;
        if (i % 2 == 0) sum += tg_array_get(o[0], 0);
    }
    long during = atomic_load(&tga_allocations);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(during, 0);
    ck_assert_double_eq_tol(sum, 25.0 * want, 1e-3);

    tg_array_free(o[0]);
    tg_array_free(o[1]);
    tg_array_free(xa);
    tg_array_free(deep);
    tg_array_free(shallow);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST


/* Issue 12 #1: every allocation of a new plan (the first run of a feed /
 * fetch / target set) failing in turn: each run ends in TG_OK or
 * RESOURCE_EXHAUSTED with a message, never a crash (the slot table's
 * failure used to be freed as if it had been allocated), and the session
 * still runs afterwards. */
START_TEST(test_plan_allocation_failures)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(4), "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_cond(g, p, cond_true, cond_false, x, &out, 1, NULL), TG_OK);
    tg_tensor *y = tg_reduce_sum(g, out, NULL);
    ck_assert_tg_ok(g);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){4}, (float[]){1, 2, 3, 4});
    tg_array *pt = tg_array_scalar_bool(true);
    tg_feed ft[2] = {{x, xa}, {p, pt}};
    tg_set_log_callback(NULL, NULL);
    int failed = 0, k;
    for (k = 1; k < 10000; k++) {
        tg_session *s = tg_session_new(g);
        ck_assert_ptr_nonnull(s);
        tg_array *o = NULL;
        atomic_store(&tga_fail_at, k);
        tg_code rc = tg_session_run(s, ft, 2, &y, 1, &o, NULL, 0);
        bool injected = atomic_load(&tga_fail_at) == 0;
        atomic_store(&tga_fail_at, 0);
        if (rc != TG_OK) {
            failed++;
            ck_assert_int_eq(rc, TG_RESOURCE_EXHAUSTED);
            ck_assert_msg(tg_session_message(s)[0] != '\0', "allocation %d: no message", k);
            /* the session goes on */
            ck_assert_int_eq(tg_session_run(s, ft, 2, &y, 1, &o, NULL, 0), TG_OK);
        }
        ck_assert_double_eq(tg_array_get(o, 0), 30);
        tg_array_free(o);
        tg_session_free(s);
        if (!injected) break; /* every allocation of the run has been failed once */
    }
    tg_set_log_callback(tg_log_stderr, NULL);
    ck_assert_int_gt(failed, 5);
    ck_assert_int_lt(k, 10000);
    tg_array_free(xa);
    tg_array_free(pt);
    tg_graph_free(g);
}
END_TEST


/* Issue 12's smaller defects, by failing each allocation of a session's
 * first run in turn: a variable's storage that cannot be allocated is
 * named with its size, and a failure while writing the UPDATE_OPS warning
 * fails the run instead of caching a plan without the warning. */
START_TEST(test_first_run_failures_name_what_failed)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_ones_initializer());
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(3), &vo);
    tg_tensor *loss = tg_reduce_sum(g, tg_square(g, tg_variable_value(w), NULL), NULL);
    tg_tensor *count = tg_assign_add(g, tg_variable_ref(w), tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3),
                                                                             (float[]){0, 0, 0}, NULL), "stale");
    tg_add_to_collection(g, TG_GRAPHKEYS_UPDATE_OPS, TG_ITEM_OF_OP(tg_tensor_op(count)));
    tg_op *train = tg_optimizer_minimize(tg_train_gradient_descent_optimizer_new(g, 0.1, NULL), loss, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_set_log_callback(NULL, NULL);
    tg_run_options ro = {.check_update_ops = true};
    bool named_variable = false;
    int k;
    for (k = 1; k < 10000; k++) {
        tg_session *s = tg_session_new(g);
        atomic_store(&tga_fail_at, k);
        tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
        if (rc == TG_OK) rc = tg_session_run_opts(s, NULL, 0, NULL, 0, NULL, &train, 1, &ro);
        bool injected = atomic_load(&tga_fail_at) == 0;
        atomic_store(&tga_fail_at, 0);
        if (rc != TG_OK) {
            ck_assert_int_eq(rc, TG_RESOURCE_EXHAUSTED);
            named_variable |= strstr(tg_session_message(s), "out of memory for variable 'w' (float32 (3,), 12 bytes)") != NULL;
            ck_assert_int_eq(tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1), TG_OK);
            ck_assert_int_eq(tg_session_run_opts(s, NULL, 0, NULL, 0, NULL, &train, 1, &ro), TG_OK);
        }
        /* the cached plan keeps its warning whatever failed on the way */
        ck_assert_str_contains(tg_session_warnings(s), "stale");
        tg_session_free(s);
        if (!injected) break;
    }
    tg_set_log_callback(tg_log_stderr, NULL);
    ck_assert(named_variable);
    ck_assert_int_lt(k, 10000);
    tg_graph_free(g);
}
END_TEST

static Suite *steady_suite(void)
{
    Suite *s = suite_create("steady_state");
    TCase *tc = tcase_create("steady_state");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_repeated_runs_allocate_nothing);
    tcase_add_test(tc, test_callable_runs_allocate_nothing);
    tcase_add_test(tc, test_cond_runs_allocate_nothing);
    tcase_add_test(tc, test_loop_runs_allocate_nothing);
    tcase_add_test(tc, test_plan_allocation_failures);
    tcase_add_test(tc, test_first_run_failures_name_what_failed);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(steady_suite)
