/* test_race.c: race mode (tg_run_options.race_seed). TF's executor runs
 * ops that do not depend on each other in whatever order its threads pick,
 * so an assign and a read of one variable with no control dependency give
 * the old value on some runs and the new one on others (TF issues #4663,
 * #14498). Race mode draws such an order from a seed. What is checked is
 * known without the library: which values an assign/read pair can give,
 * that every order respects the graph's edges (read off the ops' inputs),
 * and values computed by hand. */
#include <pthread.h>

#include "tg_check.h"

static tg_code run_seed(tg_session *s, tg_tensor *const *fetches, int n, tg_array **out, uint64_t seed)
{
    const tg_run_options o = {.trace = true, .race_seed = seed};
    return tg_session_run_opts(s, NULL, 0, fetches, n, out, NULL, 0, &o);
}

static void free_all(tg_array **a, int n)
{
    for (int i = 0; i < n; i++) tg_array_free(a[i]), a[i] = NULL;
}

/* Where op stands in the last trace, or -1. */
static int trace_pos(const tg_session *s, const tg_op *op)
{
    tg_op *const *ops;
    int n = tg_session_trace(s, &ops);
    for (int i = 0; i < n; i++)
        if (ops[i] == op) return i;
    return -1;
}

/* Every traced op comes after the traced ops it reads or waits for, and
 * appears once. */
static void assert_topological(const tg_session *s)
{
    tg_op *const *ops;
    int n = tg_session_trace(s, &ops);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(trace_pos(s, ops[i]), i);
        for (int k = 0; k < tg_op_num_inputs(ops[i]); k++) {
            int j = trace_pos(s, tg_tensor_op(tg_op_input(ops[i], k)));
            ck_assert_msg(j < i, "%s ran at %d before its input %s at %d", tg_op_name(ops[i]), i,
                          tg_tensor_name(tg_op_input(ops[i], k)), j);
        }
        for (int k = 0; k < tg_op_num_control_inputs(ops[i]); k++) {
            int j = trace_pos(s, tg_op_control_input(ops[i], k));
            ck_assert_msg(j < i, "%s ran at %d before its control input %s at %d", tg_op_name(ops[i]), i,
                          tg_op_name(tg_op_control_input(ops[i], k)), j);
        }
    }
}

/* ---- the assign/read race ------------------------------------------------------------ */

/* v = 1; a = assign(v, 2); r = v + 0 (a read that copies the value when it
 * runs; a bare Identity of the variable is a view, which shows the value
 * at the end of the run). r_fixed is the same read made inside a control
 * dependency on the assign. */
typedef struct race_graph {
    tg_graph *g;
    tg_variable *v;
    tg_tensor *a, *r, *r_fixed;
    tg_op *init;
} race_graph;

static race_graph race_graph_new(void)
{
    race_graph rg = {tg_graph_new(), NULL, NULL, NULL, NULL, NULL};
    tg_graph *g = rg.g;
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_constant_initializer(1), .trainable = false);
    rg.v = tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, &vo);
    rg.a = tg_assign(g, tg_variable_ref(rg.v), tg_constant_scalar(g, TG_FLOAT32, 2, "two"), "assign");
    tg_tensor *zero = tg_constant_scalar(g, TG_FLOAT32, 0, "zero");
    rg.r = tg_add(g, tg_variable_value(rg.v), zero, "r");
    tg_op *after = tg_tensor_op(rg.a);
    TG_WITH_CONTROL_DEPENDENCIES(g, &after, 1) { rg.r_fixed = tg_add(g, tg_variable_value(rg.v), zero, "r_fixed"); }
    rg.init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    return rg;
}

/* Fetches {assign, read} with v reset to 1 first; returns the read. */
static double read_with_assign(tg_session *s, const race_graph *rg, tg_tensor *read, uint64_t seed)
{
    tgc_run_target(s, rg->init);
    tg_tensor *fetches[2] = {rg->a, read};
    tg_array *out[2] = {NULL, NULL};
    tg_code rc = run_seed(s, fetches, 2, out, seed);
    ck_assert_msg(rc == TG_OK, "seed %llu: %s", (unsigned long long)seed, tg_session_message(s));
    ck_assert_close(tg_array_get(out[0], 0), 2, 0);
    double v = tg_array_get(out[1], 0);
    free_all(out, 2);
    return v;
}

START_TEST(test_assign_read_race)
{
    race_graph rg = race_graph_new();
    tg_session *s = tg_session_new(rg.g);
    int saw_old = 0, saw_new = 0;
    for (uint64_t seed = 1; seed <= 64; seed++) {
        double r = read_with_assign(s, &rg, rg.r, seed);
        ck_assert_msg(r == 1 || r == 2, "seed %llu read %g", (unsigned long long)seed, r);
        saw_old += r == 1;
        saw_new += r == 2;
        /* the read saw the old value exactly when it ran before the assign */
        bool before = trace_pos(s, tg_tensor_op(rg.r)) < trace_pos(s, tg_tensor_op(rg.a));
        ck_assert_int_eq(before, r == 1);
    }
    ck_assert_int_gt(saw_old, 0);
    ck_assert_int_gt(saw_new, 0);
    for (uint64_t seed = 1; seed <= 64; seed++) ck_assert_close(read_with_assign(s, &rg, rg.r_fixed, seed), 2, 0);
    tg_session_free(s);
    tg_graph_free(rg.g);
}
END_TEST

/* ---- orders ------------------------------------------------------------------------ */

/* Four chains c_i -> c_i * 2 -> + 1 -> summed in pairs, a control edge
 * from one chain's end to another chain's start, fetched together: many
 * orders are valid. */
typedef struct ladder {
    tg_graph *g;
    tg_tensor *fetch[3];
} ladder;

static ladder ladder_new(void)
{
    ladder l = {tg_graph_new(), {NULL, NULL, NULL}};
    tg_graph *g = l.g;
    tg_tensor *ends[4];
    for (int i = 0; i < 4; i++) {
        tg_tensor *c = tg_constant_scalar(g, TG_FLOAT32, i, NULL);
        tg_tensor *two = tg_multiply(g, c, tg_constant_scalar(g, TG_FLOAT32, 2, NULL), NULL);
        tg_tensor *one = tg_constant_scalar(g, TG_FLOAT32, 1, NULL);
        if (i < 3) {
            ends[i] = tg_add(g, two, one, NULL);
            continue;
        }
        tg_op *wait = tg_tensor_op(ends[0]); /* the last chain's end waits for the first's */
        TG_WITH_CONTROL_DEPENDENCIES(g, &wait, 1) { ends[i] = tg_add(g, two, one, NULL); }
    }
    l.fetch[0] = tg_add(g, ends[0], ends[1], "sum01");
    l.fetch[1] = tg_add(g, ends[2], ends[3], "sum23");
    l.fetch[2] = tg_multiply(g, l.fetch[0], l.fetch[1], "product"); /* the diamond's bottom */
    ck_assert_tg_ok(g);
    return l;
}

/* op's creation index in g */
static int op_index(const tg_graph *g, const tg_op *op)
{
    for (int i = 0; i < tg_graph_num_ops(g); i++)
        if (tg_graph_op_at(g, i) == op) return i;
    return -1;
}

/* Copies the last trace's ops into buf (room for 64); returns the count. */
static int copy_trace(const tg_session *s, tg_op **buf)
{
    tg_op *const *ops;
    int n = tg_session_trace(s, &ops);
    ck_assert_int_le(n, 64);
    for (int i = 0; i < n; i++) buf[i] = ops[i];
    return n;
}

static bool same_order(tg_op *const *a, int na, tg_op *const *b, int nb)
{
    if (na != nb) return false;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i]) return false;
    return true;
}

START_TEST(test_same_seed_same_order)
{
    ladder l = ladder_new();
    tg_session *s = tg_session_new(l.g);
    tg_array *out[3] = {NULL, NULL, NULL};
    tg_op *first[64], *again[64], *other[64];
    int distinct = 0;
    for (uint64_t seed = 1; seed <= 16; seed++) {
        ck_assert_int_eq(run_seed(s, l.fetch, 3, out, seed), TG_OK);
        int n = copy_trace(s, first);
        ck_assert_int_eq(run_seed(s, l.fetch, 3, out, seed + 1000), TG_OK);
        int m = copy_trace(s, other);
        ck_assert_int_eq(run_seed(s, l.fetch, 3, out, seed), TG_OK);
        ck_assert(same_order(first, n, again, copy_trace(s, again)));
        distinct += !same_order(first, n, other, m);
    }
    ck_assert_int_gt(distinct, 0); /* different seeds, different orders */

    /* an untraced run with another seed leaves the last trace as it was */
    int n = copy_trace(s, first);
    ck_assert_int_eq(tg_session_run_opts(s, NULL, 0, l.fetch, 3, out, NULL, 0,
                                         &(tg_run_options){.race_seed = 99}), TG_OK);
    ck_assert(same_order(first, n, again, copy_trace(s, again)));

    /* a normal run after race runs still goes in creation order */
    ck_assert_int_eq(tg_session_run_opts(s, NULL, 0, l.fetch, 3, out, NULL, 0, &(tg_run_options){.trace = true}),
                     TG_OK);
    n = copy_trace(s, first);
    ck_assert_int_eq(n, 23); /* 4 chains of 5 ops, 2 sums, the product */
    for (int i = 1; i < n; i++) ck_assert_int_lt(op_index(l.g, first[i - 1]), op_index(l.g, first[i]));
    free_all(out, 3);
    tg_session_free(s);
    tg_graph_free(l.g);
}
END_TEST

START_TEST(test_every_order_is_topological)
{
    ladder l = ladder_new();
    tg_session *s = tg_session_new(l.g);
    tg_array *out[3] = {NULL, NULL, NULL};
    for (uint64_t seed = 1; seed <= 200; seed++) {
        ck_assert_int_eq(run_seed(s, l.fetch, 3, out, seed), TG_OK);
        ck_assert_int_eq(tg_session_trace(s, NULL), 23);
        assert_topological(s);
        /* ends = 2i + 1: sums 1 + 3 and 5 + 7, product 4 * 12 */
        ck_assert_close(tg_array_get(out[0], 0), 4, 0);
        ck_assert_close(tg_array_get(out[1], 0), 12, 0);
        ck_assert_close(tg_array_get(out[2], 0), 48, 0);
    }
    free_all(out, 3);
    tg_session_free(s);
    tg_graph_free(l.g);
}
END_TEST

/* ---- values ------------------------------------------------------------------------ */

/* relu(x W1 + b1) W2 + b2 with x fed, and tanh-free side outputs, worked out
 * by hand: x = [1, 2], W1 = [[1, -1, 0], [2, 0, 1]] gives [5, -1, 2], + b1
 * [0.5, 0.5, -3] is [5.5, -0.5, -1], relu [5.5, 0, 0], W2 = [1, 2, 3]^T gives
 * 5.5, + b2 = 6.5. */
START_TEST(test_mlp_values_for_every_seed)
{
    tg_graph *g = tg_graph_new();
    const float w1v[6] = {1, -1, 0, 2, 0, 1}, b1v[3] = {0.5f, 0.5f, -3}, w2v[3] = {1, 2, 3}, b2v[1] = {1};
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(1, 2), "x");
    tg_tensor *w1 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 3), w1v, "w1");
    tg_tensor *b1 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), b1v, "b1");
    tg_tensor *w2 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3, 1), w2v, "w2");
    tg_tensor *b2 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(1), b2v, "b2");
    tg_tensor *h = tg_nn_relu(g, tg_add(g, tg_matmul(g, x, w1, NULL), b1, NULL), "h");
    tg_tensor *y = tg_add(g, tg_matmul(g, h, w2, NULL), b2, "y");
    tg_tensor *x3 = tg_multiply(g, x, tg_constant_scalar(g, TG_FLOAT32, 3, NULL), "x3"); /* independent */
    ck_assert_tg_ok(g);
    const float xv[2] = {1, 2};
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (const int64_t[]){1, 2}, xv);
    tg_feed feed = {x, xa};
    tg_tensor *fetches[3] = {y, h, x3};
    tg_session *s = tg_session_new(g);
    tg_array *out[3] = {NULL, NULL, NULL};
    for (uint64_t seed = 0; seed <= 100; seed++) {
        const tg_run_options o = {.race_seed = seed};
        ck_assert_int_eq(tg_session_run_opts(s, &feed, 1, fetches, 3, out, NULL, 0, &o), TG_OK);
        ck_assert_array(out[0], TG_FLOAT32, TG_SHAPE(1, 1), ((const double[]){6.5}), 0);
        ck_assert_array(out[1], TG_FLOAT32, TG_SHAPE(1, 3), ((const double[]){5.5, 0, 0}), 0);
        ck_assert_array(out[2], TG_FLOAT32, TG_SHAPE(1, 2), ((const double[]){3, 6}), 0);
    }
    free_all(out, 3);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- session defaults and callables ------------------------------------------------ */

START_TEST(test_callable_follows_default_seed)
{
    ladder l = ladder_new();
    tg_session *s = tg_session_new(l.g);
    tg_array *out[3] = {NULL, NULL, NULL};
    tg_op *direct[64], *via[64], *normal[64];
    ck_assert_int_eq(run_seed(s, l.fetch, 3, out, 7), TG_OK);
    int n = copy_trace(s, direct);

    tg_callable *c = tg_session_make_callable(s, NULL, 0, l.fetch, 3, NULL, 0);
    ck_assert_ptr_nonnull(c);
    tg_session_set_run_options(s, &(tg_run_options){.trace = true});
    ck_assert_int_eq(tg_callable_run(c, NULL, 0, out), TG_OK); /* its plan: the normal one */
    int m = copy_trace(s, normal);
    ck_assert(!same_order(direct, n, normal, m) || n == 0);
    for (int i = 1; i < m; i++) ck_assert_int_lt(op_index(l.g, normal[i - 1]), op_index(l.g, normal[i]));

    tg_session_set_run_options(s, &(tg_run_options){.trace = true, .race_seed = 7});
    ck_assert_int_eq(tg_callable_run(c, NULL, 0, out), TG_OK);
    ck_assert(same_order(direct, n, via, copy_trace(s, via)));
    ck_assert_close(tg_array_get(out[2], 0), 48, 0);

    tg_session_set_run_options(s, &(tg_run_options){.trace = true});
    ck_assert_int_eq(tg_callable_run(c, NULL, 0, out), TG_OK);
    ck_assert(same_order(normal, m, via, copy_trace(s, via)));
    free_all(out, 3);
    tg_session_free(s);
    tg_graph_free(l.g);
}
END_TEST

/* ---- threads: runs of one session take turns, race runs included ------------------- */

typedef struct racer {
    tg_session *s;
    ladder *l;
    uint64_t first_seed;
    int bad; /* runs that failed or gave a wrong value */
} racer;

static void *race_runs(void *arg)
{
    racer *r = arg;
    tg_array *out[3] = {NULL, NULL, NULL};
    for (uint64_t k = 0; k < 50; k++) {
        const tg_run_options o = {.race_seed = r->first_seed + k};
        tg_code rc = tg_session_run_opts(r->s, NULL, 0, r->l->fetch, 3, out, NULL, 0, &o);
        r->bad += rc != TG_OK || tg_array_get(out[2], 0) != 48;
    }
    free_all(out, 3);
    return NULL;
}

START_TEST(test_race_runs_on_threads)
{
    ladder l = ladder_new();
    tg_session *s = tg_session_new(l.g);
    pthread_t th[4];
    racer r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (racer){s, &l, 1 + 100 * (uint64_t)i, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, race_runs, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(r[i].bad, 0);
    }
    tg_session_free(s);
    tg_graph_free(l.g);
}
END_TEST

/* ---- cond --------------------------------------------------------------------------- */

static tg_tensor *cond_x;

/* true: x * 2 + 1; false: x - 10; each with a few ops of its own */
static int times_two_plus_one(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    (void)user, (void)n;
    tg_tensor *t = tg_multiply(g, cond_x, tg_constant_scalar(g, TG_FLOAT32, 2, NULL), "double");
    outs[0] = tg_add(g, t, tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "plus_one");
    return 1;
}

static int minus_ten(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    (void)user, (void)n;
    outs[0] = tg_subtract(g, cond_x, tg_constant_scalar(g, TG_FLOAT32, 10, NULL), "minus_ten");
    return 1;
}

START_TEST(test_cond_values_for_every_seed)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *pred = tg_placeholder(g, TG_BOOL, TG_SCALAR, "pred");
    cond_x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *y = NULL;
    ck_assert_int_eq(tg_cond(g, pred, times_two_plus_one, minus_ten, NULL, &y, 1, "cond"), TG_OK);
    tg_tensor *side = tg_multiply(g, cond_x, cond_x, "square"); /* outside the cond */
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *xa = tg_array_scalar_f32(4), *out[2] = {NULL, NULL};
    tg_tensor *fetches[2] = {y, side};
    for (int taken = 0; taken < 2; taken++) {
        tg_array *pa = tg_array_scalar_bool(taken);
        tg_feed feeds[2] = {{pred, pa}, {cond_x, xa}};
        for (uint64_t seed = 1; seed <= 40; seed++) {
            const tg_run_options o = {.trace = true, .race_seed = seed};
            tg_code rc = tg_session_run_opts(s, feeds, 2, fetches, 2, out, NULL, 0, &o);
            ck_assert_msg(rc == TG_OK, "%s", tg_session_message(s));
            ck_assert_close(tg_array_get(out[0], 0), taken ? 9 : -6, 0);
            ck_assert_close(tg_array_get(out[1], 0), 16, 0);
            assert_topological(s);
            /* the branch not taken is skipped, wherever it ran */
            const tg_op *untaken = tg_graph_op(g, taken ? "cond/minus_ten" : "cond/double");
            int at = trace_pos(s, untaken);
            ck_assert_int_ge(at, 0);
            ck_assert(tg_session_trace_skipped(s, at));
            ck_assert(!tg_session_trace_skipped(s, trace_pos(s, tg_tensor_op(side))));
        }
        tg_array_free(pa);
    }
    free_all(out, 2);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- while loops: each loop runs as one block, its inside in its own order ------------ */

static tg_tensor *below_ten(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_INT32, 10, "limit"), NULL);
}

static int count_and_double(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    next[1] = tg_multiply(g, v[1], tg_constant_scalar(g, TG_FLOAT32, 2, NULL), NULL);
    return 2;
}

static tg_tensor *doubling_loop(tg_graph *g, tg_tensor *x, const char *name)
{
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, NULL), x}, *out[2] = {NULL, NULL};
    TG_OPTS(tg_while_loop_opts, o, .name = name);
    ck_assert_int_eq(tg_while_loop(g, below_ten, count_and_double, NULL, vars, 2, out, &o), TG_OK);
    return out[1];
}

static bool in_loop(const tg_op *op, const char *name)
{
    size_t n = strlen(name);
    return strncmp(tg_op_name(op), name, n) == 0 && tg_op_name(op)[n] == '/';
}

/* The ops named "<name>/..." (the loop's frame: all its ops are made in
 * its name scope) sit in one stretch of the trace: [*first, *last]. */
static void loop_span(const tg_session *s, const char *name, int *first, int *last)
{
    tg_op *const *ops;
    int n = tg_session_trace(s, &ops);
    *first = -1, *last = -1;
    for (int i = 0; i < n; i++) {
        if (!in_loop(ops[i], name)) continue;
        if (*first < 0) *first = i;
        *last = i;
    }
    for (int i = *first; i <= *last; i++)
        ck_assert_msg(in_loop(ops[i], name), "%s inside loop %s's stretch", tg_op_name(ops[i]), name);
}

START_TEST(test_loops_run_as_blocks)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *y1 = doubling_loop(g, x, "w1");
    tg_tensor *y2 = doubling_loop(g, tg_add(g, x, tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "x1"), "w2");
    tg_tensor *side = tg_multiply(g, x, tg_constant_scalar(g, TG_FLOAT32, 5, NULL), "side");
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *xa = tg_array_scalar_f32(3), *out[3] = {NULL, NULL, NULL};
    tg_feed feed = {x, xa};
    tg_tensor *fetches[3] = {y1, y2, side};
    int w1_first = 0, w2_first = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        const tg_run_options o = {.trace = true, .race_seed = seed};
        tg_code rc = tg_session_run_opts(s, &feed, 1, fetches, 3, out, NULL, 0, &o);
        ck_assert_msg(rc == TG_OK, "%s", tg_session_message(s));
        ck_assert_close(tg_array_get(out[0], 0), 3 * 1024, 0);
        ck_assert_close(tg_array_get(out[1], 0), 4 * 1024, 0);
        ck_assert_close(tg_array_get(out[2], 0), 15, 0);
        int a0, a1, b0, b1;
        loop_span(s, "w1", &a0, &a1);
        loop_span(s, "w2", &b0, &b1);
        ck_assert(a1 < b0 || b1 < a0);
        w1_first += a1 < b0;
        w2_first += b1 < a0;
        /* the body's multiply ran once per iteration */
        ck_assert_int_eq(tg_session_trace_run_count(s, trace_pos(s, tg_graph_op(g, "w1/Mul"))), 10);
    }
    ck_assert_int_gt(w1_first, 0);
    ck_assert_int_gt(w2_first, 0);
    free_all(out, 3);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static Suite *race_suite(void)
{
    Suite *s = suite_create("race");
    TCase *tc = tcase_create("race");
    tcase_add_test(tc, test_assign_read_race);
    tcase_add_test(tc, test_same_seed_same_order);
    tcase_add_test(tc, test_every_order_is_topological);
    tcase_add_test(tc, test_mlp_values_for_every_seed);
    tcase_add_test(tc, test_callable_follows_default_seed);
    tcase_add_test(tc, test_race_runs_on_threads);
    tcase_add_test(tc, test_cond_values_for_every_seed);
    tcase_add_test(tc, test_loops_run_as_blocks);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(race_suite)
