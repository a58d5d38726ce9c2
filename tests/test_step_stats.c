/* test_step_stats.c: per-op timing (tg_run_options.step_stats, TF's
 * RunOptions(trace_level=FULL_TRACE) / RunMetadata.step_stats) and its
 * Chrome trace (TF's timeline.Timeline.generate_chrome_trace_format).
 * Which ops get an entry is checked against the run trace and run counts;
 * times only against the wall clock read around the run. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "tg_check.h"
#include "tg_files.h"

static const tg_run_options with_stats = {.step_stats = true};
static const tg_run_options stats_and_trace = {.trace = true, .step_stats = true};

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static tg_code run_opts(tg_session *s, tg_tensor *t, const tg_feed *feeds, int nf, const tg_run_options *o)
{
    tg_array *out = NULL;
    tg_code rc = tg_session_run_opts(s, feeds, nf, &t, 1, &out, NULL, 0, o);
    tg_array_free(out);
    return rc;
}

static int count_op(const tg_step_stat *v, int n, const tg_op *op)
{
    int k = 0;
    for (int i = 0; i < n; i++) k += v[i].op == op;
    return k;
}

/* relu(matmul(a, w) + b), all constants. */
typedef struct dense {
    tg_graph *g;
    tg_tensor *y;
} dense;

static dense dense_new(void)
{
    dense d = {tg_graph_new(), NULL};
    const float av[6] = {1, -2, 3, 4, 5, -6}, wv[6] = {1, 0, 0, 1, 1, 1}, bv[2] = {0.5f, -100};
    tg_tensor *a = tg_constant_data(d.g, TG_FLOAT32, TG_SHAPE(2, 3), av, "a");
    tg_tensor *w = tg_constant_data(d.g, TG_FLOAT32, TG_SHAPE(3, 2), wv, "w");
    tg_tensor *b = tg_constant_data(d.g, TG_FLOAT32, TG_SHAPE(2), bv, "b");
    d.y = tg_nn_relu(d.g, tg_add(d.g, tg_matmul(d.g, a, w, NULL), b, "add"), "relu");
    ck_assert_tg_ok(d.g);
    return d;
}

START_TEST(test_one_entry_per_op_in_order)
{
    dense d = dense_new();
    tg_session *s = tg_session_new(d.g);
    int64_t t0 = now_ns();
    ck_assert_int_eq(run_opts(s, d.y, NULL, 0, &stats_and_trace), TG_OK);
    int64_t wall = now_ns() - t0;

    tg_op *const *ops;
    int n_trace = tg_session_trace(s, &ops);
    const tg_step_stat *v;
    int n = tg_session_step_stats(s, &v);
    ck_assert_int_eq(n, 6); /* a, w, b, MatMul, add, relu: creation order */
    ck_assert_int_eq(n, n_trace);
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_eq(v[i].op, ops[i]);
        ck_assert_int_eq(v[i].thread, 0);
        ck_assert_int_ge(v[i].start_ns, 0);
        ck_assert_int_ge(v[i].duration_ns, 0);
        /* one op at a time: each starts after the one before ended */
        if (i) ck_assert_int_ge(v[i].start_ns, v[i - 1].start_ns + v[i - 1].duration_ns);
        sum += v[i].duration_ns;
    }
    ck_assert_str_eq(tg_op_type(v[3].op), "MatMul");
    ck_assert_ptr_eq(v[5].op, tg_tensor_op(d.y));
    ck_assert_int_le(sum, wall);
    ck_assert_int_le(v[n - 1].start_ns + v[n - 1].duration_ns, wall);
    tg_session_free(s);
    tg_graph_free(d.g);
}
END_TEST

/* The record stays until the next run with the option, and a steady loop
 * reuses its storage. */
START_TEST(test_kept_until_next_run_with_option)
{
    dense d = dense_new();
    tg_tensor *mm = tg_op_input(tg_tensor_op(tg_op_input(tg_tensor_op(d.y), 0)), 0);
    tg_session *s = tg_session_new(d.g);
    tg_step_stat dummy;
    const tg_step_stat *v = &dummy;
    ck_assert_int_eq(tg_session_step_stats(s, &v), 0);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(run_opts(s, d.y, NULL, 0, NULL), TG_OK);
    ck_assert_int_eq(tg_session_step_stats(s, NULL), 0);

    ck_assert_int_eq(run_opts(s, d.y, NULL, 0, &with_stats), TG_OK);
    const tg_step_stat *first;
    ck_assert_int_eq(tg_session_step_stats(s, &first), 6);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(run_opts(s, d.y, NULL, 0, &with_stats), TG_OK);
        ck_assert_int_eq(tg_session_step_stats(s, &v), 6);
        ck_assert_ptr_eq(v, first);
    }
    /* runs without the option, on this plan or another, leave it */
    ck_assert_int_eq(run_opts(s, mm, NULL, 0, NULL), TG_OK);
    ck_assert_int_eq(run_opts(s, d.y, NULL, 0, &(tg_run_options){.trace = true}), TG_OK);
    ck_assert_int_eq(tg_session_step_stats(s, &v), 6);
    ck_assert_ptr_eq(v[5].op, tg_tensor_op(d.y));
    /* the next run with it replaces it: a, w, MatMul */
    ck_assert_int_eq(run_opts(s, mm, NULL, 0, &with_stats), TG_OK);
    ck_assert_int_eq(tg_session_step_stats(s, &v), 3);
    ck_assert_ptr_eq(v[2].op, tg_tensor_op(mm));
    /* a run with the option that executes no op (the fetch is fed) */
    tg_array *mv = tg_array_new(TG_FLOAT32, 2, (int64_t[]){2, 2});
    tg_feed f = {mm, mv};
    ck_assert_int_eq(run_opts(s, mm, &f, 1, &with_stats), TG_OK);
    ck_assert_int_eq(tg_session_step_stats(s, &v), 0);
    ck_assert_ptr_null(v);
    tg_array_free(mv);

    ck_assert_int_eq(tg_session_step_stats(NULL, &v), 0);
    ck_assert_ptr_null(v);
    tg_session_free(s);
    tg_graph_free(d.g);
}
END_TEST

/* Through the session's defaults, which tg_session_run and callables use. */
START_TEST(test_session_defaults_and_callables)
{
    dense d = dense_new();
    tg_session *s = tg_session_new(d.g);
    tg_session_set_run_options(s, &with_stats);
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &d.y, 1, &out, NULL, 0), TG_OK);
    ck_assert_int_eq(tg_session_step_stats(s, NULL), 6);
    /* explicit options override the defaults for one run only */
    tg_tensor *a = tg_op_input(tg_graph_op(d.g, "MatMul"), 0);
    ck_assert_int_eq(run_opts(s, a, NULL, 0, &(tg_run_options){0}), TG_OK);
    ck_assert_int_eq(tg_session_step_stats(s, NULL), 6);

    tg_callable *c = tg_session_make_callable(s, NULL, 0, &a, 1, NULL, 0);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(tg_callable_run(c, NULL, 0, &out), TG_OK);
    const tg_step_stat *v;
    ck_assert_int_eq(tg_session_step_stats(s, &v), 1);
    ck_assert_ptr_eq(v[0].op, tg_tensor_op(a));
    tg_session_set_run_options(s, NULL);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &d.y, 1, &out, NULL, 0), TG_OK);
    ck_assert_int_eq(tg_callable_run(c, NULL, 0, &out), TG_OK);
    ck_assert_int_eq(tg_session_step_stats(s, NULL), 1);
    tg_array_free(out);
    tg_session_free(s);
    tg_graph_free(d.g);
}
END_TEST

/* ---- control flow ------------------------------------------------------------------ */

typedef struct branch {
    tg_tensor *x;
    tg_op *made;
} branch;

static int times_two(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    branch *b = &((branch *)user)[0];
    outs[0] = tg_multiply(g, b->x, tg_constant_scalar(g, TG_FLOAT32, 2, "two"), "times");
    b->made = tg_tensor_op(outs[0]);
    (void)n;
    return 1;
}

static int plus_one(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    branch *b = &((branch *)user)[1];
    outs[0] = tg_add(g, b->x, tg_constant_scalar(g, TG_FLOAT32, 1, "one"), "plus");
    b->made = tg_tensor_op(outs[0]);
    (void)n;
    return 1;
}

START_TEST(test_cond_untaken_branch_has_no_entry)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *pred = tg_placeholder(g, TG_BOOL, TG_SCALAR, "pred");
    branch b[2] = {{x, NULL}, {x, NULL}};
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_cond(g, pred, times_two, plus_one, b, &out, 1, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(3), *pv = tg_array_scalar_bool(true);
    tg_feed f[2] = {{x, xv}, {pred, pv}};
    ck_assert_int_eq(run_opts(s, out, f, 2, &stats_and_trace), TG_OK);

    const tg_step_stat *v;
    int n = tg_session_step_stats(s, &v), ran = 0, n_trace = tg_session_trace(s, NULL);
    for (int i = 0; i < n_trace; i++) ran += !tg_session_trace_skipped(s, i);
    ck_assert_int_lt(ran, n_trace);
    ck_assert_int_eq(n, ran);
    ck_assert_int_eq(count_op(v, n, b[0].made), 1);
    ck_assert_int_eq(count_op(v, n, b[1].made), 0);
    ck_assert_int_eq(count_op(v, n, tg_tensor_op(out)), 1); /* the Merge */
    tg_array_free(xv);
    tg_array_free(pv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static tg_tensor *below_five(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user;
    (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_INT32, 5, "five"), NULL);
}

static int step_double(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    next[1] = tg_multiply(g, v[1], tg_constant_scalar(g, TG_FLOAT32, 2, "k"), "mul");
    *(tg_op **)user = tg_tensor_op(next[1]);
    return 2;
}

START_TEST(test_while_body_op_once_per_iteration)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), tg_constant_scalar(g, TG_FLOAT32, 1, "x0")};
    tg_tensor *out[2] = {NULL, NULL};
    tg_op *mul = NULL;
    ck_assert_int_eq(tg_while_loop(g, below_five, step_double, &mul, vars, 2, out, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    for (int round = 0; round < 2; round++) {
        int64_t t0 = now_ns();
        ck_assert_int_eq(run_opts(s, out[1], NULL, 0, &stats_and_trace), TG_OK);
        int64_t wall = now_ns() - t0;
        const tg_step_stat *v;
        int n = tg_session_step_stats(s, &v);
        ck_assert_int_eq(count_op(v, n, mul), 5);
        ck_assert_int_eq(count_op(v, n, tg_graph_op(g, "while/LoopCond")), 6);
        int64_t runs = 0;
        for (int i = 0; i < tg_session_trace(s, NULL); i++) runs += tg_session_trace_run_count(s, i);
        ck_assert_int_eq(n, runs);
        for (int i = 1; i < n; i++) ck_assert_int_ge(v[i].start_ns, v[i - 1].start_ns + v[i - 1].duration_ns);
        ck_assert_int_le(v[n - 1].start_ns + v[n - 1].duration_ns, wall);
    }
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- the Chrome trace -------------------------------------------------------------- */

static char *read_all(FILE *f)
{
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_gt(n, 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    return buf;
}

/* Structure only: brackets balance outside strings, strings end and hold
 * valid escapes and no raw control characters. */
static void check_json_structure(const char *j)
{
    char stack[16];
    int depth = 0;
    for (const char *c = j; *c; c++) {
        if (*c == '"') {
            for (c++; *c != '"'; c++) {
                ck_assert_msg(*c && (unsigned char)*c >= 0x20, "bad string at %ld", (long)(c - j));
                if (*c == '\\') ck_assert_ptr_nonnull(strchr("\"\\/bfnrtu", *++c));
            }
        } else if (*c == '{' || *c == '[') {
            ck_assert_int_lt(depth, (int)sizeof stack);
            stack[depth++] = *c == '{' ? '}' : ']';
        } else if (*c == '}' || *c == ']') {
            ck_assert_int_gt(depth, 0);
            ck_assert_int_eq(stack[--depth], *c);
        }
    }
    ck_assert_int_eq(depth, 0);
}

static int count_str(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Python's json module, where there is one, parses it and counts the ops. */
static void check_with_python(const char *path, int n_events)
{
    if (system("command -v python3 >/dev/null 2>&1") != 0) return;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
             "e=[x for x in d[\"traceEvents\"] if x[\"ph\"]==\"X\"]; "
             "sys.exit(len(e)!=int(sys.argv[2]) or any(x[\"dur\"]<0 for x in e))' %s %d",
             path, n_events);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_chrome_trace)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), tg_constant_scalar(g, TG_FLOAT32, 1, "x0")};
    tg_tensor *out[2] = {NULL, NULL};
    tg_op *mul = NULL;
    ck_assert_int_eq(tg_while_loop(g, below_five, step_double, &mul, vars, 2, out, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    char *dir = tgf_make_tmpdir("tg_step_stats"), *path = tgf_path_join(dir, "trace.json");

    /* before any run with the option: the metadata events only */
    FILE *f = fopen(path, "w+");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_session_write_chrome_trace(s, f), TG_OK);
    char *j = read_all(f);
    fclose(f);
    check_json_structure(j);
    ck_assert_int_eq(count_str(j, "\"ph\":\"X\""), 0);
    free(j);
    check_with_python(path, 0);

    ck_assert_int_eq(run_opts(s, out[1], NULL, 0, &with_stats), TG_OK);
    const tg_step_stat *v;
    int n = tg_session_step_stats(s, &v);
    f = fopen(path, "w+");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_session_write_chrome_trace(s, f), TG_OK);
    j = read_all(f);
    fclose(f);
    check_json_structure(j);
    ck_assert_str_contains(j, "{\"traceEvents\":[");
    ck_assert_str_contains(j, "\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,"
                              "\"args\":{\"name\":\"/job:localhost/replica:0/task:0/device:CPU:0 Compute\"}");
    ck_assert_int_eq(count_str(j, "\"ph\":\"X\""), n);
    ck_assert_int_eq(count_str(j, "\"ph\":\"M\""), 2);
    for (int i = 0; i < n; i++) {
        char want[256];
        snprintf(want, sizeof want, "\"args\":{\"name\":\"%s\",\"op\":\"%s\"", tg_op_name(v[i].op),
                 tg_op_type(v[i].op));
        ck_assert_str_contains(j, want);
    }
    ck_assert_int_eq(count_str(j, "\"name\":\"while/mul\""), 5);
    /* TF spells inputs as in a NodeDef: the body's mul reads Identity_1:0 and k */
    ck_assert_str_contains(j, "\"name\":\"while/mul\",\"op\":\"Mul\",\"input0\":\"while/Identity_1\","
                              "\"input1\":\"while/k\"}");
    ck_assert_str_contains(j, "\"name\":\"while/k\",\"op\":\"Const\",\"input0\":\"^while/Identity\"}");
    free(j);
    check_with_python(path, n);

    ck_assert_int_eq(tg_session_write_chrome_trace(NULL, stdout), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_session_write_chrome_trace(s, NULL), TG_INVALID_ARGUMENT);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static Suite *step_stats_suite(void)
{
    Suite *s = suite_create("step_stats");
    TCase *tc = tcase_create("step_stats");
    tcase_add_test(tc, test_one_entry_per_op_in_order);
    tcase_add_test(tc, test_kept_until_next_run_with_option);
    tcase_add_test(tc, test_session_defaults_and_callables);
    tcase_add_test(tc, test_cond_untaken_branch_has_no_entry);
    tcase_add_test(tc, test_while_body_op_once_per_iteration);
    tcase_add_test(tc, test_chrome_trace);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(step_stats_suite)
