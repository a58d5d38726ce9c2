/* test_control_flow.c: tf.Print, tf.Assert and tf.tuple.
 *
 * The printed and assertion texts are TF 1.15's format worked out by hand
 * from its kernels (PrintOp, AssertOp, Tensor::SummarizeValue): a data
 * tensor is "[" + its first `summarize` elements + "]", elements separated
 * by one space, each row of a matrix in brackets, "..." after a row cut
 * short and after the whole when elements were left out; floats with the
 * fewest of 6 or 9 significant digits that read back exactly. */
#define _POSIX_C_SOURCE 200809L /* dup, dup2, fileno */
#include <unistd.h>

#include "gradcheck.h"

/* ---- a print sink that keeps the lines --------------------------------------- */

typedef struct {
    int n;
    char lines[8][256];
} sink;

static void keep_line(const char *text, void *user)
{
    sink *k = user;
    if (k->n < 8) snprintf(k->lines[k->n], sizeof k->lines[0], "%s", text);
    k->n++;
}

static tg_session *session_with_sink(tg_graph *g, sink *k)
{
    tg_session *s = tg_session_new(g);
    ck_assert_ptr_nonnull(s);
    memset(k, 0, sizeof *k);
    tg_session_set_print_callback(s, keep_line, k);
    return s;
}

/* Frees s, dropping its sink first so no later session can reach k. */
static void session_done(tg_session *s)
{
    tg_session_set_print_callback(s, NULL, NULL);
    tg_session_free(s);
}

static tg_tensor *f32_vector(tg_graph *g, const float *v, int64_t n, const char *name)
{
    return tg_constant_data(g, TG_FLOAT32, TG_SHAPE(n), v, name);
}

/* Runs t once and returns what it printed (one line expected). */
static void expect_printed(tg_graph *g, tg_tensor *t, const char *want)
{
    ck_assert_tg_ok(g);
    sink k;
    tg_session *s = session_with_sink(g, &k);
    tg_array *out = tgc_fetch(s, t, NULL, 0);
    ck_assert_int_eq(k.n, 1);
    ck_assert_str_eq(k.lines[0], want);
    tg_array_free(out);
    session_done(s);
}

/* ---- Print ------------------------------------------------------------------------ */

START_TEST(test_print_is_identity)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2, 3), "x");
    tg_tensor *y = tg_print(g, x, &x, 1, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_type(tg_tensor_op(y)), "Print");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(y)), "Print");
    ck_assert_int_eq(tg_tensor_dtype(y), TG_FLOAT32);
    tg_shape sh = tg_tensor_shape(y);
    ck_assert_shape_eq(sh, TG_SHAPE(2, 3));
    ck_assert_int_eq(tg_op_num_inputs(tg_tensor_op(y)), 2);

    float v[6] = {1, -2, 3.5f, 4, 5, 6};
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){2, 3}, v);
    tg_feed feed = {x, xv};
    sink k;
    tg_session *s = session_with_sink(g, &k);
    tg_array *out = tgc_fetch(s, y, &feed, 1);
    double want[6] = {1, -2, 3.5, 4, 5, 6};
    ck_assert_array(out, TG_FLOAT32, TG_SHAPE(2, 3), want, 0);
    /* cut after 3 elements: the first row whole, the second, with nothing
     * left to print, without brackets; "..." for what was left out */
    ck_assert_int_eq(k.n, 1);
    ck_assert_str_eq(k.lines[0], "[[1 -2 3.5]...]");
    tg_array_free(out);
    tg_array_free(xv);
    session_done(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_print_format)
{
    tg_graph *g = tg_graph_new();
    float v5[5] = {1, 2, 3, 4, 5};
    tg_tensor *x = f32_vector(g, v5, 5, "x");
    TG_OPTS(tg_print_opts, o, .message = "x=");
    /* the 1-D case from tf.Print's documentation of summarize */
    expect_printed(g, tg_print(g, x, &x, 1, &o), "x=[1 2 3...]");

    /* several data tensors follow one another without a space */
    int32_t iv[2] = {7, -8};
    tg_tensor *d[3] = {x, tg_constant_data(g, TG_INT32, TG_SHAPE(2), iv, "i"),
                       tg_constant_scalar(g, TG_FLOAT64, 0.25, "s")};
    expect_printed(g, tg_print(g, x, d, 3, &o), "x=[1 2 3...][7 -8][0.25]");

    /* no message, no data: an empty line */
    expect_printed(g, tg_print(g, x, NULL, 0, NULL), "");

    /* a 2x2 matrix cut after 3 elements: "[1 2]", then the second row
     * stops after "3" with "...", then the whole gets "..." */
    float m[4] = {1, 2, 3, 4};
    tg_tensor *mt = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 2), m, "m");
    expect_printed(g, tg_print(g, x, &mt, 1, NULL), "[[1 2][3...]...]");
    TG_OPTS(tg_print_opts, all, .summarize = -1);
    expect_printed(g, tg_print(g, x, &mt, 1, &all), "[[1 2][3 4]]");

    /* a 2x1x2 tensor, all of it: brackets per dimension */
    float c[4] = {1, 2, 3, 4};
    tg_tensor *ct = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 1, 2), c, "c");
    expect_printed(g, tg_print(g, x, &ct, 1, &all), "[[[1 2]][[3 4]]]");

    /* floats: 6 significant digits when they read back exactly (0.1f),
     * else 9 (1/3 as a float is 0.333333343); doubles: 15, else 17 */
    float fv[4] = {0.1f, 1.0f / 3.0f, -2.5f, 1e10f};
    tg_tensor *ft = f32_vector(g, fv, 4, "f");
    expect_printed(g, tg_print(g, x, &ft, 1, &all), "[0.1 0.333333343 -2.5 1e+10]");
    double dv[2] = {0.1, 1.0 / 3.0};
    tg_tensor *dt = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), dv, "d");
    expect_printed(g, tg_print(g, x, &dt, 1, NULL), "[0.1 0.33333333333333331]");

    /* bool as 1 and 0, int64 in full */
    bool bv[2] = {true, false};
    int64_t lv[1] = {-9000000000LL};
    tg_tensor *bl[2] = {tg_constant_data(g, TG_BOOL, TG_SHAPE(2), bv, "b"),
                        tg_constant_data(g, TG_INT64, TG_SHAPE(1), lv, "l")};
    expect_printed(g, tg_print(g, x, bl, 2, NULL), "[1 0][-9000000000]");

    /* an empty tensor prints nothing between its brackets */
    tg_tensor *e = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(0), NULL, "e");
    expect_printed(g, tg_print(g, x, &e, 1, NULL), "[]");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_print_summarize)
{
    tg_graph *g = tg_graph_new();
    float v5[5] = {1, 2, 3, 4, 5};
    tg_tensor *x = f32_vector(g, v5, 5, "x");
    TG_OPTS(tg_print_opts, one, .summarize = 1);
    expect_printed(g, tg_print(g, x, &x, 1, &one), "[1...]");
    TG_OPTS(tg_print_opts, zero, .summarize = 0);
    expect_printed(g, tg_print(g, x, &x, 1, &zero), "[...]");
    TG_OPTS(tg_print_opts, exact, .summarize = 5);
    expect_printed(g, tg_print(g, x, &x, 1, &exact), "[1 2 3 4 5]");
    TG_OPTS(tg_print_opts, more, .summarize = 50);
    expect_printed(g, tg_print(g, x, &x, 1, &more), "[1 2 3 4 5]");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_print_first_n)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_INT32, 4, "x");
    TG_OPTS(tg_print_opts, o, .message = "step", .first_n = 2);
    tg_tensor *y = tg_print(g, x, &x, 1, &o);
    TG_OPTS(tg_print_opts, never, .first_n = 0);
    tg_tensor *z = tg_print(g, x, &x, 1, &never);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(z)), "Print_1");
    sink k;
    tg_session *s = session_with_sink(g, &k);
    tg_tensor *both[2] = {y, z};
    for (int i = 0; i < 4; i++) {
        tg_array *out[2] = {NULL, NULL};
        ck_assert_int_eq(tg_session_run(s, NULL, 0, both, 2, out, NULL, 0), TG_OK);
        /* the output passes through whether or not the op prints */
        ck_assert_int_eq((int)tg_array_get(out[0], 0), 4);
        ck_assert_int_eq((int)tg_array_get(out[1], 0), 4);
        tg_array_free(out[0]);
        tg_array_free(out[1]);
    }
    ck_assert_int_eq(k.n, 2);
    ck_assert_str_eq(k.lines[0], "step[4]");
    ck_assert_str_eq(k.lines[1], "step[4]");
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(y)), 4);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(z)), 4);
    session_done(s);

    /* the counter is the session's: a new session prints again */
    s = session_with_sink(g, &k);
    tg_array *out = tgc_fetch(s, y, NULL, 0);
    tg_array_free(out);
    ck_assert_int_eq(k.n, 1);
    session_done(s);
    tg_graph_free(g);
}
END_TEST

/* Fetched through two consumers and a control dependency, the op still
 * runs, and prints, once per run. */
START_TEST(test_print_runs_once_per_run)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "x");
    TG_OPTS(tg_print_opts, o, .message = "x:");
    tg_tensor *p = tg_print(g, x, &x, 1, &o);
    tg_tensor *a = tg_multiply(g, p, p, "a"), *b = tg_add(g, p, x, "b");
    tg_op *po = tg_tensor_op(p);
    tg_tensor *c = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &po, 1) { c = tg_identity(g, x, "c"); }
    tg_tensor *unused = tg_print(g, x, &x, 1, NULL);
    ck_assert_tg_ok(g);
    sink k;
    tg_session *s = session_with_sink(g, &k);
    float v[2] = {1, 2};
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){2}, v);
    tg_feed feed = {x, xv};
    tg_tensor *fetch[4] = {a, b, c, p};
    for (int run = 1; run <= 3; run++) {
        tg_array *out[4] = {NULL, NULL, NULL, NULL};
        ck_assert_int_eq(tg_session_run(s, &feed, 1, fetch, 4, out, NULL, 0), TG_OK);
        ck_assert_close(tg_array_get(out[0], 1), 4, 0);
        ck_assert_close(tg_array_get(out[1], 1), 4, 0);
        for (int i = 0; i < 4; i++) tg_array_free(out[i]);
        ck_assert_int_eq(tg_session_op_run_count(s, po), run);
        ck_assert_int_eq(k.n, run);
    }
    ck_assert_str_eq(k.lines[2], "x:[1 2]");
    /* not needed by the fetches: pruned, never runs */
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(unused)), 0);
    tg_array_free(xv);
    session_done(s);
    tg_graph_free(g);
}
END_TEST

/* Without a callback, TF's default: the line and a newline on stderr. */
START_TEST(test_print_default_stderr)
{
    tg_graph *g = tg_graph_new();
    float v5[5] = {1, 2, 3, 4, 5};
    tg_tensor *x = f32_vector(g, v5, 5, "x");
    TG_OPTS(tg_print_opts, o, .message = "x=");
    tg_tensor *y = tg_print(g, x, &x, 1, &o);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    fflush(stderr);
    int saved = dup(2);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fileno(tmp), 2), 0);
    tg_array *out = NULL;
    tg_code rc = tg_session_run(s, NULL, 0, &y, 1, &out, NULL, 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ck_assert_int_eq(rc, TG_OK);
    char buf[64] = {0};
    rewind(tmp);
    size_t n = fread(buf, 1, sizeof buf - 1, tmp);
    fclose(tmp);
    ck_assert_uint_eq(n, strlen("x=[1 2 3...]\n"));
    ck_assert_str_eq(buf, "x=[1 2 3...]\n");
    tg_array_free(out);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* TF's _PrintGrad: the identity to input_, None to the data. */
START_TEST(test_print_gradient)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(3), "x");
    double dd[3] = {0, 0, 0};
    tg_tensor *d = tg_constant_data(g, TG_FLOAT64, TG_SHAPE(3), dd, "d");
    tg_tensor *sq = tg_multiply(g, x, x, NULL);
    tg_tensor *data[2] = {d, sq};
    TG_OPTS(tg_print_opts, once, .first_n = 1); /* the gradient check's own session prints to stderr */
    tg_tensor *p = tg_print(g, sq, data, 2, &once);
    tg_tensor *y = tg_multiply(g, p, x, NULL); /* x^3 */
    ck_assert_tg_ok(g);
    tg_array *xv = gc_random(TG_SHAPE(3), -2, 2, 7);
    gc_check(g, y, &x, 1, &xv, 1e-6);

    /* by hand: d(sum x^3)/dx = 3 x^2; nothing flows to d */
    tg_tensor *loss = tg_reduce_sum(g, y, NULL);
    tg_tensor *xs[2] = {x, d}, *dx[2] = {NULL, NULL};
    ck_assert_int_eq(tg_gradients(g, &loss, 1, xs, 2, dx, NULL), TG_OK);
    ck_assert_ptr_nonnull(dx[0]);
    ck_assert_ptr_null(dx[1]);
    tg_session *s = tg_session_new(g);
    tg_feed feed = {x, xv};
    sink k;
    memset(&k, 0, sizeof k);
    tg_session_set_print_callback(s, keep_line, &k);
    tg_array *gv = tgc_fetch(s, dx[0], &feed, 1);
    for (int i = 0; i < 3; i++) {
        double xi = tg_array_get(xv, i);
        ck_assert_close(tg_array_get(gv, i), 3 * xi * xi, 1e-12);
    }
    ck_assert_int_eq(k.n, 1); /* the forward Print ran for the gradient */
    tg_array_free(gv);
    tg_array_free(xv);
    session_done(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_print_errors)
{
    tg_graph *g = tg_graph_new();
    tg_set_log_callback(NULL, NULL);
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    /* a struct not started from the macro: summarize 0 and first_n 0
     * would silently mean "print nothing" */
    ck_assert_ptr_null(tg_print(g, x, &x, 1, &(tg_print_opts){.message = "m"}));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "TG_PRINT_OPTS_INIT");
    tg_graph_free(g);

    g = tg_graph_new();
    x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_tensor *bad[2] = {x, NULL};
    ck_assert_ptr_null(tg_print(g, x, bad, 2, NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "data[1] is NULL");
    ck_assert_int_eq(tg_graph_num_ops(g), 1);
    tg_graph_free(g);

    g = tg_graph_new();
    x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    ck_assert_ptr_null(tg_print(g, x, NULL, 1, NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(tg_print(g, NULL, NULL, 0, NULL));
    tg_graph_free(g);

    /* a tensor of another graph */
    g = tg_graph_new();
    tg_graph *h = tg_graph_new();
    x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_tensor *other = tg_constant_scalar(h, TG_FLOAT32, 1, "o");
    ck_assert_ptr_null(tg_print(g, x, &other, 1, NULL));
    ck_assert_int_ne(tg_graph_status(g), TG_OK);
    tg_graph_free(h);
    tg_graph_free(g);
}
END_TEST

/* ---- Assert ----------------------------------------------------------------------- */

START_TEST(test_assert_control_dependency)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *cond = tg_placeholder(g, TG_BOOL, TG_SCALAR, "cond");
    int32_t iv[4] = {1, 2, 3, 4};
    tg_tensor *x = tg_constant_data(g, TG_INT32, TG_SHAPE(4), iv, "x");
    tg_tensor *data[2] = {x, tg_constant_scalar(g, TG_FLOAT32, 0.5, "h")};
    tg_op *check = tg_assert(g, cond, data, 2, 3, NULL);
    tg_tensor *y = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, &check, 1) { y = tg_identity(g, x, "y"); }
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(check), "Assert/Assert");
    ck_assert_str_eq(tg_op_type(check), "Assert");
    ck_assert_int_eq(tg_op_num_outputs(check), 0);
    ck_assert_int_eq(tg_op_num_inputs(check), 3);
    ck_assert_int_eq(tg_op_num_control_inputs(tg_tensor_op(y)), 1);
    ck_assert_ptr_eq(tg_op_control_input(tg_tensor_op(y), 0), check);

    tg_session *s = tg_session_new(g);
    tg_array *t = tg_array_scalar_bool(true), *f = tg_array_scalar_bool(false);
    tg_feed ok = {cond, t}, fail = {cond, f};
    tg_array *out = tgc_fetch(s, y, &ok, 1);
    ck_assert_int_eq((int)tg_array_get(out, 3), 4);

    tg_set_log_callback(NULL, NULL);
    ck_assert_int_eq(tg_session_run(s, &fail, 1, &y, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "assertion failed: [1 2 3...] [0.5]");
    ck_assert_int_eq(tg_session_op_run_count(s, check), 1);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(y)), 1); /* y waited, and did not run */

    /* the session goes on after a failed assertion */
    ck_assert_int_eq(tg_session_run(s, &ok, 1, &y, 1, &out, NULL, 0), TG_OK);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(y)), 2);
    /* and as a target */
    ck_assert_int_eq(tg_session_run(s, &fail, 1, NULL, 0, NULL, &check, 1), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_session_run(s, &ok, 1, NULL, 0, NULL, &check, 1), TG_OK);
    /* TF's tf.Assert(cond, ["x is too large:", x]): the text leads */
    tg_op *said = tg_assert_message(g, cond, "x is too large:", &x, 1, 3, "said");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(said), "said/Assert");
    ck_assert_int_eq(tg_session_run(s, &fail, 1, NULL, 0, NULL, &said, 1), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "assertion failed: [x is too large:] [1 2 3...]");
    tg_array_free(out);
    tg_array_free(t);
    tg_array_free(f);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_assert_summarize_and_names)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *no = tg_constant_scalar(g, TG_BOOL, 0, "no");
    int32_t iv[4] = {1, 2, 3, 4};
    tg_tensor *x = tg_constant_data(g, TG_INT32, TG_SHAPE(2, 2), iv, "x");
    tg_op *all = tg_assert(g, no, &x, 1, -1, "check");
    tg_op *one = tg_assert(g, no, &x, 1, 1, "check");
    tg_op *none = tg_assert(g, no, NULL, 0, 3, NULL);
    /* shape [1] is TF's legacy scalar */
    bool b1[1] = {false};
    tg_op *legacy = tg_assert(g, tg_constant_data(g, TG_BOOL, TG_SHAPE(1), b1, "b1"), &x, 1, 0, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(all), "check/Assert");
    ck_assert_str_eq(tg_op_name(one), "check_1/Assert");
    ck_assert_str_eq(tg_op_name(none), "Assert/Assert");
    ck_assert_str_eq(tg_op_name(legacy), "Assert_1/Assert");
    tg_set_log_callback(NULL, NULL);
    tg_session *s = tg_session_new(g);
    struct {
        tg_op *op;
        const char *want;
    } cases[] = {
        {all, "check/Assert: assertion failed: [[1 2][3 4]]"},
        {one, "check_1/Assert: assertion failed: [[1...]...]"},
        {none, "Assert/Assert: assertion failed: "},
        {legacy, "assertion failed: [...]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(tg_session_run(s, NULL, 0, NULL, 0, NULL, &cases[i].op, 1), TG_INVALID_ARGUMENT);
        ck_assert_str_contains(tg_session_message(s), cases[i].want);
    }
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_assert_errors)
{
    tg_set_log_callback(NULL, NULL);
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    ck_assert_ptr_null(tg_assert(g, x, &x, 1, 3, NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "Input 'condition' of 'Assert' Op has type float32 "
                                                "that does not match expected type of bool.");
    ck_assert_int_eq(tg_graph_num_ops(g), 1);
    tg_graph_free(g);

    g = tg_graph_new();
    bool b2[2] = {true, true};
    tg_tensor *v = tg_constant_data(g, TG_BOOL, TG_SHAPE(2), b2, "v");
    ck_assert_ptr_null(tg_assert(g, v, NULL, 0, 3, NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "In[0] should be a scalar: [2]");
    ck_assert_int_eq(tg_graph_num_ops(g), 1);
    tg_graph_free(g);

    /* a shape known only at run time is checked then */
    g = tg_graph_new();
    tg_tensor *c = tg_placeholder(g, TG_BOOL, TG_SHAPE_UNKNOWN, "c");
    tg_op *a = tg_assert(g, c, NULL, 0, 3, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *cv = tg_array_new_from(TG_BOOL, 2, (int64_t[]){1, 2}, b2);
    tg_feed feed = {c, cv};
    ck_assert_int_eq(tg_session_run(s, &feed, 1, NULL, 0, NULL, &a, 1), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "In[0] should be a scalar: [1,2]");
    tg_array_free(cv);
    tg_session_free(s);

    tg_tensor *bad[1] = {NULL};
    ck_assert_ptr_null(tg_assert(g, c, bad, 1, 3, NULL));
    ck_assert_str_contains(tg_graph_message(g), "data[0] is NULL");
    tg_graph_free(g);
}
END_TEST

/* ---- tuple ------------------------------------------------------------------------ */

static void assert_controls(tg_op *op, tg_op *const *want, int n)
{
    ck_assert_ptr_nonnull(op);
    ck_assert_msg(tg_op_num_control_inputs(op) == n, "%s has %d control inputs, want %d", tg_op_name(op),
                  tg_op_num_control_inputs(op), n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(tg_op_control_input(op, i) == want[i], "%s control input %d is %s, want %s", tg_op_name(op), i,
                      tg_op_name(tg_op_control_input(op, i)), tg_op_name(want[i]));
}

START_TEST(test_tuple_structure)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_constant_scalar(g, TG_FLOAT32, 1, "a");
    tg_tensor *b = tg_constant_scalar(g, TG_FLOAT32, 2, "b");
    tg_op *c = tg_no_op(g, "c");
    /* b before a, a twice, a control input: the group gets each op once,
     * in creation order */
    tg_tensor *in[3] = {b, a, a}, *out[3];
    ck_assert_int_eq(tg_tuple(g, in, 3, &c, 1, out, NULL), TG_OK);
    tg_op *gate = tg_graph_op(g, "tuple/group_deps");
    ck_assert_ptr_nonnull(gate);
    ck_assert_str_eq(tg_op_type(gate), "NoOp");
    tg_op *want[3] = {tg_tensor_op(a), tg_tensor_op(b), c};
    assert_controls(gate, want, 3);
    const char *names[3] = {"tuple/control_dependency", "tuple/control_dependency_1", "tuple/control_dependency_2"};
    for (int i = 0; i < 3; i++) {
        tg_op *op = tg_tensor_op(out[i]);
        ck_assert_str_eq(tg_op_name(op), names[i]);
        ck_assert_str_eq(tg_op_type(op), "Identity");
        ck_assert_ptr_eq(tg_op_input(op, 0), in[i]);
        assert_controls(op, &gate, 1);
    }
    ck_assert_int_eq(tg_graph_num_ops(g), 3 + 1 + 3);

    /* a second tuple, named: its own scope; a NULL entry stays NULL */
    tg_tensor *in2[2] = {NULL, a}, *out2[2];
    ck_assert_int_eq(tg_tuple(g, in2, 2, NULL, 0, out2, "t"), TG_OK);
    ck_assert_ptr_null(out2[0]);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(out2[1])), "t/control_dependency");
    tg_op *gate2 = tg_graph_op(g, "t/group_deps");
    assert_controls(gate2, want, 1);
    ck_assert_int_eq(tg_tuple(g, &a, 1, NULL, 0, out2, NULL), TG_OK);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(out2[0])), "tuple_1/control_dependency");
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

/* Fetching one output computes every input first. */
START_TEST(test_tuple_waits_for_all)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *a = tg_multiply(g, x, x, "a"), *b = tg_add(g, x, x, "b");
    tg_tensor *in[2] = {a, b}, *out[2];
    ck_assert_int_eq(tg_tuple(g, in, 2, NULL, 0, out, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(3);
    tg_feed feed = {x, xv};
    tg_array *v = tgc_fetch(s, out[0], &feed, 1);
    ck_assert_close(tg_array_get(v, 0), 9, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(b)), 1);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(out[1])), 0);
    /* without the tuple, b would not run */
    tg_array_free(v);
    v = tgc_fetch(s, a, &feed, 1);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(b)), 1);
    tg_array_free(v);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tuple_errors)
{
    tg_set_log_callback(NULL, NULL);
    tg_graph *g = tg_graph_new();
    tg_tensor *nothing[1] = {NULL}, *out[1] = {(tg_tensor *)1};
    ck_assert_int_eq(tg_tuple(g, nothing, 1, NULL, 0, out, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "Must have at least one Tensor");
    ck_assert_ptr_null(out[0]);
    ck_assert_int_eq(tg_graph_num_ops(g), 0);
    tg_graph_free(g);

    g = tg_graph_new();
    tg_tensor *a = tg_constant_scalar(g, TG_FLOAT32, 1, "a");
    ck_assert_int_eq(tg_tuple(g, &a, 1, NULL, 1, out, NULL), TG_INVALID_ARGUMENT);
    tg_graph_free(g);

    g = tg_graph_new();
    a = tg_constant_scalar(g, TG_FLOAT32, 1, "a");
    ck_assert_int_eq(tg_tuple(g, &a, 1, NULL, 0, NULL, NULL), TG_INVALID_ARGUMENT);
    tg_graph_free(g);
    ck_assert_int_eq(tg_tuple(NULL, &a, 1, NULL, 0, out, NULL), TG_INVALID_ARGUMENT);
}
END_TEST

static Suite *control_flow_suite(void)
{
    Suite *s = suite_create("control_flow");
    TCase *tc = tcase_create("print");
    tcase_add_test(tc, test_print_is_identity);
    tcase_add_test(tc, test_print_format);
    tcase_add_test(tc, test_print_summarize);
    tcase_add_test(tc, test_print_first_n);
    tcase_add_test(tc, test_print_runs_once_per_run);
    tcase_add_test(tc, test_print_default_stderr);
    tcase_add_test(tc, test_print_gradient);
    tcase_add_test(tc, test_print_errors);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);

    tc = tcase_create("assert");
    tcase_add_test(tc, test_assert_control_dependency);
    tcase_add_test(tc, test_assert_summarize_and_names);
    tcase_add_test(tc, test_assert_errors);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);

    tc = tcase_create("tuple");
    tcase_add_test(tc, test_tuple_structure);
    tcase_add_test(tc, test_tuple_waits_for_all);
    tcase_add_test(tc, test_tuple_errors);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(control_flow_suite)
