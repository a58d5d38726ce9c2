/* test_memory_plan.c: a plan shares op-output buffers by liveness
 * (src/graph/session_memory.c) without letting any value be overwritten
 * while it, or a view of it, is still read.
 *
 * The byte counts are reasoned from the graphs, not read off the code: a
 * chain of n elementwise ops on a 1 MiB tensor needs its input and output
 * alive at once, so two 1 MiB buffers, where one buffer per op would be n;
 * a chain of in-place ops needs one. Values are closed forms of the inputs.
 * Links the static library (like test_registry) for the last test, which
 * adds an op of its own whose kernel returns a view without declaring it. */
#include <math.h>
#include <string.h>

#include "op_def.h"
#include "tg_check.h"

enum { ROWS = 256, COLS = 1024 }; /* 1 MiB of float32 */
#define MIB ((int64_t)1 << 20)

static tg_array *ramp(void) {
    tg_array *a = tg_array_new(TG_FLOAT32, 2, (int64_t[]){ROWS, COLS});
    float *v = tg_array_data(a);
    for (int64_t i = 0; i < ROWS * COLS; i++) v[i] = (float)((i % 97) - 48) / 16.0f;
    return a;
}

static tg_tensor *input(tg_graph *g) { return tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, COLS), "x"); }

static tg_array *run1(tg_session *s, tg_tensor *x, tg_array *xa, tg_tensor *y) {
    tg_array *out = NULL;
    tg_feed f = {x, xa};
    ck_assert_msg(tg_session_run(s, &f, 1, &y, 1, &out, NULL, 0) == TG_OK, "%s", tg_session_message(s));
    return out;
}

/* x -> neg -> square -> neg -> exp -> neg -> abs -> sqrt -> neg: eight
 * ops, each reading only the one before: -sqrt(|-exp(-(x*x))|). */
START_TEST(test_chain_holds_two_buffers)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g);
    tg_tensor *y = tg_negative(g, x, NULL);
    y = tg_square(g, y, NULL);
    y = tg_negative(g, y, NULL);
    y = tg_exp(g, y, NULL);
    y = tg_negative(g, y, NULL);
    y = tg_abs(g, y, NULL);
    y = tg_sqrt(g, y, NULL);
    y = tg_negative(g, y, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *xa = ramp();
    for (int run = 0; run < 3; run++) {
        tg_array *out = run1(s, x, xa, y);
        const float *xv = tg_array_data(xa), *yv = tg_array_data(out);
        for (int64_t i = 0; i < ROWS * COLS; i++) {
            double want = -sqrt(exp(-(double)xv[i] * xv[i]));
            ck_assert_msg(fabs(yv[i] - want) <= 1e-6, "run %d element %lld: %g, want %g", run, (long long)i,
                          (double)yv[i], want);
        }
        tg_array_free(out);
    }
    int64_t held = tg_session_buffer_bytes(s);
    ck_assert_msg(held >= 2 * MIB && held < 2 * MIB + 4096, "held %lld bytes", (long long)held);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* a = exp(x) is read last by a Reshape, but the Reshape's output (a view
 * of a's memory) is read after b = -x was computed. Were the view not
 * counted, b would take a's buffer and c would be b + b. */
START_TEST(test_view_keeps_memory_alive)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g);
    tg_tensor *a = tg_exp(g, x, NULL);
    tg_tensor *v = tg_reshape(g, a, TG_SHAPE(COLS, -1), NULL);
    tg_tensor *b = tg_negative(g, x, NULL);
    tg_tensor *c = tg_add(g, tg_reshape(g, v, TG_SHAPE(-1, COLS), NULL), b, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *xa = ramp();
    for (int run = 0; run < 2; run++) {
        tg_array *out = run1(s, x, xa, c);
        const float *xv = tg_array_data(xa), *cv = tg_array_data(out);
        for (int64_t i = 0; i < ROWS * COLS; i++) {
            double want = exp((double)xv[i]) - xv[i];
            ck_assert_msg(fabs(cv[i] - want) <= 1e-5 * fabs(want) + 1e-6, "element %lld: %g, want %g",
                          (long long)i, (double)cv[i], want);
        }
        tg_array_free(out);
    }
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* -x, then three Relus: each Relu runs in place over the one before (a
 * view made by an in-place op is still the run's own memory), so the plan
 * holds one buffer. Fetching the first Relu as well gives it a second
 * reader: the second Relu must then not write over it. */
START_TEST(test_in_place_chain)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g);
    tg_tensor *r1 = tg_nn_relu(g, tg_negative(g, x, NULL), NULL);
    tg_tensor *r3 = tg_nn_relu(g, tg_nn_relu(g, r1, NULL), NULL);
    tg_tensor *d = tg_subtract(g, r3, tg_negative(g, x, NULL), NULL); /* relu(-x) + x */
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *xa = ramp();
    const float *xv = tg_array_data(xa);

    tg_array *out = run1(s, x, xa, r3);
    for (int64_t i = 0; i < ROWS * COLS; i++) ck_assert_float_eq(((float *)tg_array_data(out))[i], fmaxf(-xv[i], 0));
    tg_array_free(out);
    int64_t held = tg_session_buffer_bytes(s);
    ck_assert_msg(held >= MIB && held < MIB + 4096, "held %lld bytes", (long long)held);

    tg_tensor *both[2] = {r1, d};
    tg_array *outs[2] = {NULL, NULL};
    tg_feed f = {x, xa};
    ck_assert_int_eq(tg_session_run(s, &f, 1, both, 2, outs, NULL, 0), TG_OK);
    const float *r1v = tg_array_data(outs[0]), *dv = tg_array_data(outs[1]);
    for (int64_t i = 0; i < ROWS * COLS; i++) {
        ck_assert_float_eq(r1v[i], fmaxf(-xv[i], 0));
        ck_assert_float_eq(dv[i], fmaxf(-xv[i], 0) + xv[i]);
    }
    tg_array_free(outs[0]);
    tg_array_free(outs[1]);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* An op type whose kernel returns its input as its output but does not
 * declare TG__OPF_VIEWS: the run fails naming it instead of computing on
 * memory the plan may hand to another op. */
static tg_code undeclared_infer(tg__infer_ctx *c) {
    c->out[0] = (tg__out_info){tg_tensor_dtype(c->in[0]), tg_tensor_shape(c->in[0])};
    return TG_OK;
}

static tg_code undeclared_kernel(tg__kernel_ctx *c) {
    tg__out_alias(c, 0, c->in[0]);
    return TG_OK;
}

static const tg__op_def UNDECLARED = {
    .type = "UndeclaredView",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .infer = undeclared_infer,
    .kernel = {[TG_FLOAT32] = undeclared_kernel},
};

START_TEST(test_undeclared_view_fails)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g);
    tg_tensor *n = tg_negative(g, x, NULL);
    tg_op *op = tg__add_op(g, &(tg__op_args){.def = &UNDECLARED, .name = "sneaky", .inputs = &n, .n_inputs = 1});
    ck_assert_tg_ok(g);
    tg_tensor *y = tg_exp(g, tg_op_output(op, 0), NULL);
    tg_session *s = tg_session_new(g);
    tg_array *xa = ramp(), *out = NULL;
    tg_feed f = {x, xa};
    ck_assert_int_eq(tg_session_run(s, &f, 1, &y, 1, &out, NULL, 0), TG_INTERNAL);
    const char *m = tg_session_message(s);
    ck_assert_msg(strstr(m, "sneaky (UndeclaredView): output 0 is a view of input 0") != NULL, "%s", m);
    ck_assert_ptr_null(out);
    tg_array_free(xa);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static Suite *memory_plan_suite(void) {
    Suite *su = suite_create("memory_plan");
    TCase *tc = tcase_create("memory_plan");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_chain_holds_two_buffers);
    tcase_add_test(tc, test_view_keeps_memory_alive);
    tcase_add_test(tc, test_in_place_chain);
    tcase_add_test(tc, test_undeclared_view_fails);
    suite_add_tcase(su, tc);
    return su;
}

TGC_MAIN(memory_plan_suite)
