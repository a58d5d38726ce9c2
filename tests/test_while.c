/* test_while.c: tf.while_loop in graph mode (TF 1.15's Enter / Merge /
 * Switch / LoopCond / NextIteration / Exit frames) and its gradient loop.
 * Expected values are worked out by hand (closed forms of the loops);
 * gradients are also checked against central finite differences in
 * float64. The cases follow TF 1.15's control_flow_ops_py_test. */
#include "tg_check.h"
#include "gradcheck.h"

static double run_scalar(tg_session *s, tg_tensor *t, const tg_feed *feeds, int nf)
{
    tg_array *a = tgc_fetch(s, t, feeds, nf);
    double v = tg_array_get(a, 0);
    tg_array_free(a);
    return v;
}

static int count_type(const tg_graph *g, const char *type)
{
    int n = 0;
    for (int i = 0; i < tg_graph_num_ops(g); i++) n += strcmp(tg_op_type(tg_graph_op_at(g, i)), type) == 0;
    return n;
}

/* ---- while i < limit: (i + 1, x * k) -------------------------------------------- */

typedef struct doubling {
    double limit, k;
    tg_op *body_mul; /* what the body made */
} doubling;

static tg_tensor *i_below(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    const doubling *d = user;
    (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, tg_tensor_dtype(v[0]), d->limit, "limit"), NULL);
}

static int step_times_k(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    doubling *d = user;
    (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, tg_tensor_dtype(v[0]), 1, NULL), NULL);
    next[1] = tg_multiply(g, v[1], tg_constant_scalar(g, tg_tensor_dtype(v[1]), d->k, "k"), "mul");
    d->body_mul = tg_tensor_op(next[1]);
    return 2;
}

START_TEST(test_values_and_structure)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), x}, *out[2] = {NULL, NULL};
    doubling d = {10, 2, NULL};
    ck_assert_int_eq(tg_while_loop(g, i_below, step_times_k, &d, vars, 2, out, NULL), TG_OK);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(out[0]), "while/Exit:0");
    ck_assert_str_eq(tg_tensor_name(out[1]), "while/Exit_1:0");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/Enter")), "Enter");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/Merge_1")), "Merge");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/LoopCond")), "LoopCond");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/Switch_1")), "Switch");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/Identity_1")), "Identity");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/NextIteration_1")), "NextIteration");
    ck_assert_str_eq(tg_op_name(d.body_mul), "while/mul");
    /* the back edge: Merge reads its Enter and the NextIteration made after it */
    tg_op *m = tg_graph_op(g, "while/Merge_1");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(m, 0)), "while/Enter_1:0");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(m, 1)), "while/NextIteration_1:0");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_graph_op(g, "while/LoopCond"), 0)), "while/Less:0");
    /* constants made in the body wait for the body's pivot */
    tg_op *k = tg_graph_op(g, "while/k");
    ck_assert_int_eq(tg_op_num_control_inputs(k), 1);
    ck_assert_str_eq(tg_op_name(tg_op_control_input(k, 0)), "while/Identity");
    /* in cond, for the pivot_for_pred */
    ck_assert_str_eq(tg_op_name(tg_op_control_input(tg_graph_op(g, "while/limit"), 0)), "while/Merge");

    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(1.5f);
    tg_feed f = {x, xv};
    tg_array *res[2] = {NULL, NULL};
    tg_code rc = tg_session_run(s, &f, 1, out, 2, res, NULL, 0);
    ck_assert_msg(rc == TG_OK, "%s", tg_session_message(s));
    ck_assert_int_eq((int)tg_array_get(res[0], 0), 10);
    ck_assert_close(tg_array_get(res[1], 0), 1.5 * 1024, 0);
    /* the body ran 10 times, the condition 11 */
    ck_assert_int_eq((int)tg_session_op_run_count(s, d.body_mul), 10);
    ck_assert_int_eq((int)tg_session_op_run_count(s, tg_graph_op(g, "while/Less")), 11);
    ck_assert_int_eq((int)tg_session_op_run_count(s, tg_graph_op(g, "while/Enter_1")), 1);
    ck_assert_int_eq((int)tg_session_op_run_count(s, tg_graph_op(g, "while/Exit_1")), 1);
    /* the trace lists each op once, with how often it ran */
    tg_run_options ro = {.trace = true};
    ck_assert_int_eq(tg_session_run_opts(s, &f, 1, out, 2, res, NULL, 0, &ro), TG_OK);
    tg_op *const *ops;
    int n = tg_session_trace(s, &ops), seen = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = tg_op_name(ops[i]);
        int64_t want = !strcmp(nm, "while/mul") ? 10 : !strcmp(nm, "while/Less") ? 11
                       : !strcmp(nm, "while/Exit_1") || !strcmp(nm, "i0") ? 1 : -1;
        if (want < 0) continue;
        seen++;
        ck_assert_int_eq((int)tg_session_trace_run_count(s, i), (int)want);
        ck_assert(!tg_session_trace_skipped(s, i));
    }
    ck_assert_int_eq(seen, 4);
    FILE *tf = tmpfile();
    ck_assert_int_eq(tg_session_write_trace(s, tf), TG_OK);
    rewind(tf);
    char line[256];
    bool found = false;
    while (fgets(line, sizeof line, tf)) found |= strstr(line, "while/mul (Mul)  after") == NULL &&
                                                  strstr(line, "while/mul (Mul)  [ran 10 times]") != NULL;
    fclose(tf);
    ck_assert(found);
    /* again: the plan is reused and restarts the loop */
    ck_assert_int_eq(tg_session_run(s, &f, 1, out, 2, res, NULL, 0), TG_OK);
    ck_assert_close(tg_array_get(res[1], 0), 1.5 * 1024, 0);
    ck_assert_int_eq((int)tg_session_op_run_count(s, d.body_mul), 30);
    tg_array_free(res[0]);
    tg_array_free(res[1]);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_gradient_1024)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "x");
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), x}, *out[2] = {NULL, NULL};
    doubling d = {10, 2, NULL};
    ck_assert_int_eq(tg_while_loop(g, i_below, step_times_k, &d, vars, 2, out, NULL), TG_OK);
    tg_tensor *dx = NULL;
    ck_assert_int_eq(tg_gradients(g, &out[1], 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_tg_ok(g);
    /* TF's structure: a counter added to the forward loop, a gradient loop
     * counting it down, and one stack for each forward value it reads */
    ck_assert_int_eq(count_type(g, "LoopCond"), 2);
    ck_assert_int_eq(count_type(g, "StackV2"), count_type(g, "StackPopV2"));
    ck_assert_int_eq(count_type(g, "StackV2"), count_type(g, "StackPushV2"));
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f64(0.75);
    tg_feed f = {x, xv};
    ck_assert_close(run_scalar(s, dx, &f, 1), 1024, 0);
    ck_assert_close(run_scalar(s, dx, &f, 1), 1024, 0);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST


/* ---- several variables, maximum_iterations, a swap ------------------------------------ */

static tg_tensor *always(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)v, (void)n;
    tg_tensor *t = tg_constant_data(g, TG_BOOL, TG_SCALAR, (bool[]){true}, "yes");
    return t;
}

/* (a, b) -> (b, a + b): the body hands a's next value b unchanged and
 * swaps, which needs the NextIterations to read before they write */
static int fib_step(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    next[0] = v[1];
    next[1] = tg_add(g, v[0], v[1], NULL);
    return 2;
}

START_TEST(test_maximum_iterations_fibonacci)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_FLOAT64, 0, "a"), tg_constant_scalar(g, TG_FLOAT64, 1, "b")};
    tg_tensor *out[2] = {NULL, NULL};
    TG_OPTS(tg_while_loop_opts, o, .maximum_iterations = tg_constant_scalar(g, TG_INT32, 10, "n"));
    ck_assert_int_eq(tg_while_loop(g, always, fib_step, NULL, vars, 2, out, &o), TG_OK);
    ck_assert_tg_ok(g);
    /* TF: the counter is the first loop variable, its Exit not returned */
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "while/iteration_counter")), "Const");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_graph_op(g, "while/Enter"), 0)), "while/iteration_counter:0");
    ck_assert_str_eq(tg_tensor_name(out[0]), "while/Exit_1:0");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_graph_op(g, "while/LoopCond"), 0)), "while/LogicalAnd:0");
    tg_session *s = tg_session_new(g);
    tg_array *res[2] = {NULL, NULL};
    ck_assert_int_eq(tg_session_run(s, NULL, 0, out, 2, res, NULL, 0), TG_OK);
    ck_assert_close(tg_array_get(res[0], 0), 55, 0); /* F(10), F(11) */
    ck_assert_close(tg_array_get(res[1], 0), 89, 0);
    tg_array_free(res[0]);
    tg_array_free(res[1]);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- side effects inside and outside the body ------------------------------------------- */

typedef struct effects {
    tg_variable *w;
    tg_tensor *outside; /* assign_add(v, 1) made before the loop */
    tg_op *inside;
} effects;

static tg_tensor *below_7(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_INT32, 7, NULL), NULL);
}

static int count_up(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    effects *e = user;
    (void)n;
    tg_tensor *inc = tg_assign_add(g, tg_variable_ref(e->w), tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "inc_w");
    e->inside = tg_tensor_op(inc);
    tg_op *deps[2] = {e->inside, tg_tensor_op(e->outside)};
    int tok = tg_control_dependencies_push(g, deps, 2);
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    tg_scope_pop(g, tok);
    return 1;
}

START_TEST(test_side_effects)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer(), .trainable = false);
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, &vo);
    effects e = {.w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &vo)};
    e.outside = tg_assign_add(g, tg_variable_ref(v), tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "inc_v");
    tg_tensor *i0 = tg_constant_scalar(g, TG_INT32, 0, "i0"), *out = NULL;
    ck_assert_int_eq(tg_while_loop(g, below_7, count_up, &e, &i0, 1, &out, NULL), TG_OK);
    ck_assert_tg_ok(g);
    /* the body's assign writes w through a RefEnter */
    ck_assert_str_eq(tg_op_type(tg_tensor_op(tg_op_input(e.inside, 0))), "RefEnter");
    tg_op *init = tg_global_variables_initializer(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    for (int r = 1; r <= 2; r++) {
        ck_assert_close(run_scalar(s, out, NULL, 0), 7, 0);
        tg_tensor *vals[2] = {tg_variable_value(v), tg_variable_value(e.w)};
        tg_array *o[2] = {NULL, NULL};
        ck_assert_int_eq(tg_session_run(s, NULL, 0, vals, 2, o, NULL, 0), TG_OK);
        /* made outside: once per run; inside: once per iteration */
        ck_assert_close(tg_array_get(o[0], 0), r, 0);
        ck_assert_close(tg_array_get(o[1], 0), 7 * r, 0);
        tg_array_free(o[0]);
        tg_array_free(o[1]);
    }
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST


/* ---- cond in a loop body, loop in a cond branch, loop in a loop ------------------------- */

typedef struct cond_body {
    tg_tensor *i, *x;
    tg_op *mul, *add;
} cond_body;

static int cb_double(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    cond_body *c = user;
    (void)n;
    outs[0] = tg_multiply(g, c->x, tg_constant_scalar(g, TG_FLOAT32, 2, NULL), "dbl");
    c->mul = tg_tensor_op(outs[0]);
    return 1;
}

static int cb_inc(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    cond_body *c = user;
    (void)n;
    outs[0] = tg_add(g, c->x, tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "inc");
    c->add = tg_tensor_op(outs[0]);
    return 1;
}

static tg_tensor *below_6(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_INT32, 6, NULL), NULL);
}

/* x = i < 3 ? 2x : x + 1 */
static int body_with_cond(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    cond_body *c = user;
    (void)n;
    c->i = v[0], c->x = v[1];
    tg_tensor *p = tg_less(g, v[0], tg_constant_scalar(g, TG_INT32, 3, NULL), NULL);
    if (tg_cond(g, p, cb_double, cb_inc, c, &next[1], 1, NULL) != TG_OK) return -1;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    return 2;
}

START_TEST(test_cond_in_body)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), x}, *out[2] = {NULL, NULL};
    cond_body c = {0};
    ck_assert_int_eq(tg_while_loop(g, below_6, body_with_cond, &c, vars, 2, out, NULL), TG_OK);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(c.mul), "while/cond/dbl");
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(1);
    tg_feed f = {x, xv};
    /* 1 -> 2 -> 4 -> 8 -> 9 -> 10 -> 11 */
    ck_assert_close(run_scalar(s, out[1], &f, 1), 11, 0);
    ck_assert_int_eq((int)tg_session_op_run_count(s, c.mul), 3);
    ck_assert_int_eq((int)tg_session_op_run_count(s, c.add), 3);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

typedef struct loop_branch {
    tg_tensor *x;
    doubling d;
} loop_branch;

static int branch_loop(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    loop_branch *b = user;
    (void)n;
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, NULL), b->x}, *res[2];
    if (tg_while_loop(g, i_below, step_times_k, &b->d, vars, 2, res, NULL) != TG_OK) return -1;
    outs[0] = res[1];
    return 1;
}

static int branch_plus_one(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    loop_branch *b = user;
    (void)n;
    outs[0] = tg_add(g, b->x, tg_constant_scalar(g, TG_FLOAT32, 1, NULL), NULL);
    return 1;
}

START_TEST(test_loop_in_cond_branch)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    loop_branch b = {x, {10, 2, NULL}};
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_cond(g, p, branch_loop, branch_plus_one, &b, &out, 1, NULL), TG_OK);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(b.d.body_mul), "cond/while/mul");
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(3), *pt = tg_array_scalar_bool(true), *pf = tg_array_scalar_bool(false);
    tg_feed ft[2] = {{x, xv}, {p, pt}}, ff[2] = {{x, xv}, {p, pf}};
    ck_assert_close(run_scalar(s, out, ff, 2), 4, 0);
    /* the untaken branch's loop did not start */
    ck_assert_int_eq((int)tg_session_op_run_count(s, b.d.body_mul), 0);
    ck_assert_int_eq((int)tg_session_op_run_count(s, tg_graph_op(g, "cond/while/LoopCond")), 0);
    ck_assert_close(run_scalar(s, out, ft, 2), 3 * 1024, 0);
    ck_assert_int_eq((int)tg_session_op_run_count(s, b.d.body_mul), 10);
    ck_assert_close(run_scalar(s, out, ff, 2), 4, 0);
    ck_assert_int_eq((int)tg_session_op_run_count(s, b.d.body_mul), 10);
    tg_array_free(xv);
    tg_array_free(pt);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* outer: while i < 3: (i + 1, inner(x)); inner: while j < 4: (j + 1, x + 1) */
typedef struct nested {
    tg_op *inner_add;
} nested;

static tg_tensor *below_3(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_INT32, 3, NULL), NULL);
}

static tg_tensor *below_4(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_INT32, 4, NULL), NULL);
}

static int inner_body(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    nested *c = user;
    (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    next[1] = tg_add(g, v[1], tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "inner_add");
    c->inner_add = tg_tensor_op(next[1]);
    return 2;
}

static int outer_body(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)n;
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "j0"), v[1]}, *res[2];
    if (tg_while_loop(g, below_4, inner_body, user, vars, 2, res, NULL) != TG_OK) return -1;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    next[1] = res[1];
    return 2;
}

START_TEST(test_nested_loops)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), x}, *out[2] = {NULL, NULL};
    nested c = {0};
    ck_assert_int_eq(tg_while_loop(g, below_3, outer_body, &c, vars, 2, out, NULL), TG_OK);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(c.inner_add), "while/while/inner_add");
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(0.5f);
    tg_feed f = {x, xv};
    for (int r = 1; r <= 2; r++) {
        ck_assert_close(run_scalar(s, out[1], &f, 1), 12.5, 0);
        /* the inner loop restarts in each of the 3 outer iterations */
        ck_assert_int_eq((int)tg_session_op_run_count(s, c.inner_add), 12 * r);
        ck_assert_int_eq((int)tg_session_op_run_count(s, tg_graph_op(g, "while/while/Less")), 15 * r);
        ck_assert_int_eq((int)tg_session_op_run_count(s, tg_graph_op(g, "while/Less")), 4 * r);
    }
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- shape invariants ---------------------------------------------------------------- */

static int grow(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    tg_tensor *both[2] = {v[1], v[1]};
    next[1] = tg_concat(g, both, 2, 0, NULL);
    return 2;
}

START_TEST(test_shape_invariants)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(1), (float[]){1.5f}, "x");
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), x}, *out[2] = {NULL, NULL};
    ck_assert_int_eq(tg_while_loop(g, below_3, grow, NULL, vars, 2, out, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g),
                           "Input tensor 'x:0' enters the loop with shape (1,), but has shape (2,) after one "
                           "iteration. To allow the shape to vary across iterations, use the `shape_invariants` "
                           "argument of tf.while_loop to specify a less-specific shape.");
    ck_assert_ptr_null(out[1]);
    tg_graph_free(g);

    g = tg_graph_new();
    x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(1), (float[]){1.5f}, "x");
    vars[0] = tg_constant_scalar(g, TG_INT32, 0, "i0"), vars[1] = x;
    tg_shape wrong[2] = {TG_SCALAR, TG_SHAPE(3)};
    TG_OPTS(tg_while_loop_opts, bad, .shape_invariants = wrong, .n_shape_invariants = 2);
    ck_assert_int_eq(tg_while_loop(g, below_3, grow, NULL, vars, 2, out, &bad), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g),
                           "The shape invariant specified for x:0 is not compatible with the initial shape of the loop "
                           "variable. It enters the loop with shape (1,), but the specified shape invariant is (3,).");
    tg_graph_free(g);

    g = tg_graph_new();
    x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(1), (float[]){1.5f}, "x");
    vars[0] = tg_constant_scalar(g, TG_INT32, 0, "i0"), vars[1] = x;
    TG_OPTS(tg_while_loop_opts, o, TG_SHAPE_LIST(shape_invariants, TG_SCALAR, TG_SHAPE(-1)));
    ck_assert_int_eq(tg_while_loop(g, below_3, grow, NULL, vars, 2, out, &o), TG_OK);
    tg_shape got = tg_tensor_shape(out[1]);
    ck_assert_int_eq(got.rank, 1);
    ck_assert_int_eq((int)got.dims[0], -1);
    tg_session *s = tg_session_new(g);
    tg_array *a = tgc_fetch(s, out[1], NULL, 0);
    ck_assert_int_eq((int)tg_array_size(a), 8);
    for (int i = 0; i < 8; i++) ck_assert_close(tg_array_get(a, i), 1.5, 0);
    tg_array_free(a);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST


/* ---- gradients ------------------------------------------------------------------------ */

typedef struct tanh_loop {
    tg_tensor *w, *c;
} tanh_loop;

/* x = tanh(x * w) + c, three times: w and c are invariants (their
 * gradients sum over the iterations), x a loop variable */
static int tanh_step(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    tanh_loop *t = user;
    (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    next[1] = tg_add(g, tg_tanh(g, tg_multiply(g, v[1], t->w, NULL), NULL), t->c, NULL);
    return 2;
}

START_TEST(test_gradient_finite_differences)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2), "x");
    tg_tensor *w = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2), "w");
    tg_tensor *c = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "c");
    tanh_loop t = {w, c};
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), x}, *out[2] = {NULL, NULL};
    ck_assert_int_eq(tg_while_loop(g, below_3, tanh_step, &t, vars, 2, out, NULL), TG_OK);
    ck_assert_tg_ok(g);
    tg_tensor *xs[3] = {x, w, c};
    tg_array *vals[3] = {tg_array_new_from(TG_FLOAT64, 1, (int64_t[]){2}, (double[]){0.3, -0.7}),
                         tg_array_new_from(TG_FLOAT64, 1, (int64_t[]){2}, (double[]){1.1, 0.6}),
                         tg_array_scalar_f64(0.25)};
    gc_check(g, out[1], xs, 3, vals, 1e-7);
    /* the invariants' gradients are summed by accumulators */
    ck_assert_ptr_nonnull(tg_graph_op(g, "gradients/b_acc"));
    for (int i = 0; i < 3; i++) tg_array_free(vals[i]);
    tg_graph_free(g);
}
END_TEST

/* while x < 100: x = x * x; from x = 2: 4, 16, 256, so y = x^8 and the
 * iteration count depends on the value */
static tg_tensor *x_below_100(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_FLOAT64, 100, NULL), NULL);
}

static int square_x(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    next[0] = tg_multiply(g, v[0], v[0], NULL);
    return 1;
}

START_TEST(test_gradient_data_dependent_count)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "x"), *y = NULL, *dx = NULL;
    ck_assert_int_eq(tg_while_loop(g, x_below_100, square_x, NULL, &x, 1, &y, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    struct {
        double x, y, dx;
    } cases[3] = {{2, 256, 8 * 128}, /* x^8: 8 x^7 */
                  {5, 625, 4 * 125}, /* 25, 625: x^4 */
                  {200, 200, 1}};    /* no iteration */
    for (int k = 0; k < 3; k++) {
        tg_array *xv = tg_array_scalar_f64(cases[k].x);
        tg_feed f = {x, xv};
        ck_assert_close(run_scalar(s, y, &f, 1), cases[k].y, 0);
        ck_assert_close(run_scalar(s, dx, &f, 1), cases[k].dx, 1e-9);
        tg_array_free(xv);
    }
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* the body ignores a variable: its gradient is zero, not an error */
static int keep_first(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    next[1] = tg_multiply(g, v[2], tg_constant_scalar(g, TG_FLOAT64, 3, NULL), NULL);
    next[2] = v[2];
    return 3;
}

START_TEST(test_gradient_unused_variable_and_back_prop_false)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "a");
    tg_tensor *b = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "b");
    tg_tensor *vars[3] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), a, b}, *out[3];
    ck_assert_int_eq(tg_while_loop(g, below_3, keep_first, NULL, vars, 3, out, NULL), TG_OK);
    tg_tensor *xs[2] = {a, b}, *dx[2] = {NULL, NULL};
    TG_OPTS(tg_gradients_opts, go, .unconnected_zeros = true);
    ck_assert_int_eq(tg_gradients(g, &out[1], 1, xs, 2, dx, &go), TG_OK);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *av = tg_array_scalar_f64(2), *bv = tg_array_scalar_f64(5);
    tg_feed f[2] = {{a, av}, {b, bv}};
    ck_assert_close(run_scalar(s, out[1], f, 2), 15, 0); /* 3b */
    ck_assert_close(run_scalar(s, dx[0], f, 2), 0, 0);
    ck_assert_close(run_scalar(s, dx[1], f, 2), 3, 0);
    tg_session_free(s);
    tg_graph_free(g);

    /* back_prop = false: nothing passes through the loop */
    g = tg_graph_new();
    a = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "a");
    b = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "b");
    vars[0] = tg_constant_scalar(g, TG_INT32, 0, "i0"), vars[1] = a, vars[2] = b;
    TG_OPTS(tg_while_loop_opts, o, .back_prop = false);
    ck_assert_int_eq(tg_while_loop(g, below_3, keep_first, NULL, vars, 3, out, &o), TG_OK);
    xs[0] = a, xs[1] = b;
    ck_assert_int_eq(tg_gradients(g, &out[1], 1, xs, 2, dx, NULL), TG_OK);
    ck_assert_ptr_null(dx[0]);
    ck_assert_ptr_null(dx[1]);
    ck_assert_int_eq(count_type(g, "StackV2"), 0);
    tg_array_free(av);
    tg_array_free(bv);
    tg_graph_free(g);
}
END_TEST

/* ---- mistakes ---------------------------------------------------------------------------- */

static tg_tensor *leaked;

static int leak_body(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), "inside");
    leaked = next[0];
    return 1;
}

static int two_results(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n, (void)g;
    next[0] = v[0];
    return 2;
}

static tg_tensor *float_cond(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_cast(g, v[0], TG_FLOAT32, NULL);
}

static int float_body(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    next[0] = tg_cast(g, v[0], TG_FLOAT32, NULL);
    return 1;
}

START_TEST(test_mistakes)
{
    tg_set_log_callback(NULL, NULL);
    tg_graph *g = tg_graph_new();
    tg_tensor *i0 = tg_constant_scalar(g, TG_INT32, 0, "i0"), *out = NULL;
    ck_assert_int_eq(tg_while_loop(g, below_3, leak_body, NULL, &i0, 0, &out, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "No loop variables provided");
    tg_graph_free(g);

    g = tg_graph_new();
    i0 = tg_constant_scalar(g, TG_INT32, 0, "i0");
    ck_assert_int_eq(tg_while_loop(g, NULL, leak_body, NULL, &i0, 1, &out, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "cond must be callable.");
    tg_graph_free(g);

    g = tg_graph_new();
    i0 = tg_constant_scalar(g, TG_INT32, 0, "i0");
    TG_OPTS(tg_while_loop_opts, pi, .parallel_iterations = 0);
    ck_assert_int_eq(tg_while_loop(g, below_3, leak_body, NULL, &i0, 1, &out, &pi), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "parallel_iterations must be a positive integer.");
    tg_graph_free(g);

    g = tg_graph_new();
    i0 = tg_constant_scalar(g, TG_INT32, 0, "i0");
    TG_OPTS(tg_while_loop_opts, mi, .maximum_iterations = tg_constant_data(g, TG_INT32, TG_SHAPE(2), (int32_t[]){1, 2}, NULL));
    ck_assert_int_eq(tg_while_loop(g, below_3, leak_body, NULL, &i0, 1, &out, &mi), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "maximum_iterations must be a scalar, saw shape: (2,)");
    tg_graph_free(g);

    g = tg_graph_new();
    i0 = tg_constant_scalar(g, TG_INT32, 0, "i0");
    ck_assert_int_eq(tg_while_loop(g, below_3, two_results, NULL, &i0, 1, &out, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "Number of inputs and outputs of body must match loop_vars: 1, 2");
    ck_assert_ptr_null(out);
    tg_graph_free(g);

    g = tg_graph_new();
    i0 = tg_constant_scalar(g, TG_INT32, 0, "i0");
    ck_assert_int_eq(tg_while_loop(g, float_cond, leak_body, NULL, &i0, 1, &out, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "'LoopCond' Op has type float32 that does not match expected type of bool");
    tg_graph_free(g);

    g = tg_graph_new();
    i0 = tg_constant_scalar(g, TG_INT32, 0, "i0");
    ck_assert_int_eq(tg_while_loop(g, below_3, float_body, NULL, &i0, 1, &out, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "for a loop variable of dtype int32");
    tg_graph_free(g);

    /* a tensor of the body used outside: refused, as TF refuses it */
    g = tg_graph_new();
    i0 = tg_constant_scalar(g, TG_INT32, 0, "i0");
    ck_assert_int_eq(tg_while_loop(g, below_3, leak_body, NULL, &i0, 1, &out, NULL), TG_OK);
    ck_assert_ptr_null(tg_add(g, leaked, out, "after"));
    ck_assert_str_contains(tg_graph_message(g), "Cannot use 'while/inside' as input to 'after' because "
                                                "'while/inside' is in a while loop");
    tg_graph_free(g);

    /* the loop's ops cannot be fetched or fed; its outputs can */
    g = tg_graph_new();
    i0 = tg_constant_scalar(g, TG_INT32, 0, "i0");
    ck_assert_int_eq(tg_while_loop(g, below_3, leak_body, NULL, &i0, 1, &out, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    tg_array *o = NULL, *v = tg_array_scalar_i32(1);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &leaked, 1, &o, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "Operation 'while/inside' has been marked as not fetchable.");
    tg_feed f = {leaked, v};
    ck_assert_int_eq(tg_session_run(s, &f, 1, &out, 1, &o, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "Tensor while/inside:0 may not be fed.");
    ck_assert_close(run_scalar(s, out, NULL, 0), 3, 0);
    tg_array_free(v);
    tg_session_free(s);
    tg_graph_free(g);
    tg_set_log_callback(tg_log_stderr, NULL);
}
END_TEST


/* ---- TF 1.15's control_flow_ops_py_test cases ----------------------------------------- */

static double eval_once(tg_graph *g, tg_tensor *t)
{
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    double v = run_scalar(s, t, NULL, 0);
    tg_session_free(s);
    return v;
}

#define F32(g, v) tg_constant_scalar(g, TG_FLOAT32, v, NULL)
#define I32(g, v) tg_constant_scalar(g, TG_INT32, v, NULL)

static tg_tensor *x_below_100f(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], F32(g, 100), NULL);
}

/* testWhileGrad_ys_xs: y1 = x + y; x = x * y1; y = y1 */
static int ys_xs_body(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    tg_tensor *y1 = tg_add(g, v[0], v[1], NULL);
    next[0] = tg_multiply(g, v[0], y1, NULL);
    next[1] = y1;
    return 2;
}

START_TEST(test_tf_grad_ys_xs)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = F32(g, 3), *y = F32(g, 2), *vars[2] = {x, y}, *o[2], *d = NULL;
    ck_assert_int_eq(tg_while_loop(g, x_below_100f, ys_xs_body, NULL, vars, 2, o, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, o, 2, &x, 1, &d, NULL), TG_OK);
    ck_assert_close(eval_once(g, d), 304, 0);
    ck_assert_int_eq(tg_gradients(g, o, 2, &y, 1, &d, NULL), TG_OK);
    ck_assert_close(eval_once(g, d), 124, 0);
    ck_assert_int_eq(tg_gradients(g, o, 1, &x, 1, &d, NULL), TG_OK);
    ck_assert_close(eval_once(g, d), 295, 0);
    ck_assert_int_eq(tg_gradients(g, o, 1, &y, 1, &d, NULL), TG_OK);
    ck_assert_close(eval_once(g, d), 120, 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tf_grad_serial_and_parallel_loops)
{
    doubling d5 = {5, 2, NULL};
    /* testWhileGrad_SerialTwoLoops: 2^5 * 2^5 */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = F32(g, 2), *vars[2] = {I32(g, 0), x}, *o[2], *o2[2], *dx = NULL;
    ck_assert_int_eq(tg_while_loop(g, i_below, step_times_k, &d5, vars, 2, o, NULL), TG_OK);
    tg_tensor *vars2[2] = {vars[0], o[1]};
    ck_assert_int_eq(tg_while_loop(g, i_below, step_times_k, &d5, vars2, 2, o2, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &o2[1], 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_close(eval_once(g, dx), 1024, 0);
    tg_graph_free(g);
    /* testWhileGrad_ParallelTwoLoops: two loops on x, summed */
    g = tg_graph_new();
    x = F32(g, 2), vars[0] = I32(g, 0), vars[1] = x;
    ck_assert_int_eq(tg_while_loop(g, i_below, step_times_k, &d5, vars, 2, o, NULL), TG_OK);
    ck_assert_int_eq(tg_while_loop(g, i_below, step_times_k, &d5, vars, 2, o2, NULL), TG_OK);
    tg_tensor *r = tg_add(g, o[1], o2[1], NULL);
    ck_assert_int_eq(tg_gradients(g, &r, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_close(eval_once(g, dx), 64, 0);
    tg_graph_free(g);
}
END_TEST

/* testNestedWhile_1: n = 0; while n < 200: n += inner(n), where inner
 * counts i from n to 10 summing i into a running total */
static tg_tensor *below_10(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], I32(g, 10), NULL);
}

static tg_tensor *below_200(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], I32(g, 200), NULL);
}

static int sum_up(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    next[0] = tg_add(g, v[0], I32(g, 1), NULL);
    next[1] = tg_add(g, v[0], v[1], NULL);
    return 2;
}

static int add_inner(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)n;
    tg_tensor *n0 = user, *vars[2] = {n0, n0}, *res[2];
    if (tg_while_loop(g, below_10, sum_up, NULL, vars, 2, res, NULL) != TG_OK) return -1;
    next[0] = tg_add(g, v[0], res[1], NULL);
    return 1;
}

/* testBufferForwarding: i = square(c) + i until 1000 */
static tg_tensor *below_1000(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], I32(g, 1000), NULL);
}

static int square_plus(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)n;
    next[0] = tg_add(g, tg_square(g, user, NULL), v[0], NULL);
    return 1;
}

/* testWhileWithControl_2: a constant made under a control dependency on
 * the loop variable */
static int const_after(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    tg_op *dep = tg_tensor_op(v[0]);
    int tok = tg_control_dependencies_push(g, &dep, 1);
    next[0] = I32(g, 12);
    tg_scope_pop(g, tok);
    return 1;
}

START_TEST(test_tf_forward_cases)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *n0 = I32(g, 0), *o = NULL;
    ck_assert_int_eq(tg_while_loop(g, below_200, add_inner, n0, &n0, 1, &o, NULL), TG_OK);
    ck_assert_close(eval_once(g, o), 225, 0);
    tg_graph_free(g);

    g = tg_graph_new();
    tg_tensor *c = I32(g, 2), *i0 = I32(g, 0);
    ck_assert_int_eq(tg_while_loop(g, below_1000, square_plus, c, &i0, 1, &o, NULL), TG_OK);
    ck_assert_close(eval_once(g, o), 1000, 0);
    tg_graph_free(g);

    g = tg_graph_new();
    tg_tensor *r0 = I32(g, 0);
    ck_assert_int_eq(tg_while_loop(g, below_10, const_after, NULL, &r0, 1, &o, NULL), TG_OK);
    ck_assert_close(eval_once(g, o), 12, 0);
    tg_graph_free(g);
}
END_TEST

/* A value of the loop's condition used by the body: cond makes s = x * x,
 * body x = s * x, twice, so y = x^9 and dy/dx = 9 x^8. The gradient must
 * reach x through the condition's ops too, and the forward values of s
 * (live also in the last, body-less evaluation of cond) must be stacked
 * once per body run. */
typedef struct cond_value {
    tg_tensor *s;
} cond_value;

static tg_tensor *square_in_cond(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    cond_value *c = user;
    (void)n;
    c->s = tg_multiply(g, v[1], v[1], "s");
    return tg_less(g, v[0], I32(g, 2), NULL);
}

static int times_s(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    cond_value *c = user;
    (void)n;
    next[0] = tg_add(g, v[0], I32(g, 1), NULL);
    next[1] = tg_multiply(g, c->s, v[1], NULL);
    return 2;
}

START_TEST(test_gradient_through_cond_values)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "x");
    cond_value c = {NULL};
    tg_tensor *vars[2] = {I32(g, 0), x}, *o[2];
    ck_assert_int_eq(tg_while_loop(g, square_in_cond, times_s, &c, vars, 2, o, NULL), TG_OK);
    tg_array *xv = tg_array_scalar_f64(1.5);
    tg_session *s = tg_session_new(g);
    tg_feed f = {x, xv};
    ck_assert_close(run_scalar(s, o[1], &f, 1), pow(1.5, 9), 1e-12);
    tg_session_free(s);
    double err = gc_check(g, o[1], &x, 1, &xv, 1e-7);
    ck_assert(err < 1e-7);
    tg_array_free(xv);
    tg_graph_free(g);
}
END_TEST

static Suite *while_suite(void)
{
    Suite *s = suite_create("while");
    TCase *tc = tcase_create("while");
    tcase_add_test(tc, test_values_and_structure);
    tcase_add_test(tc, test_gradient_1024);
    tcase_add_test(tc, test_maximum_iterations_fibonacci);
    tcase_add_test(tc, test_side_effects);
    tcase_add_test(tc, test_cond_in_body);
    tcase_add_test(tc, test_loop_in_cond_branch);
    tcase_add_test(tc, test_nested_loops);
    tcase_add_test(tc, test_shape_invariants);
    tcase_add_test(tc, test_gradient_finite_differences);
    tcase_add_test(tc, test_gradient_data_dependent_count);
    tcase_add_test(tc, test_gradient_unused_variable_and_back_prop_false);
    tcase_add_test(tc, test_mistakes);
    tcase_add_test(tc, test_tf_grad_ys_xs);
    tcase_add_test(tc, test_tf_grad_serial_and_parallel_loops);
    tcase_add_test(tc, test_tf_forward_cases);
    tcase_add_test(tc, test_gradient_through_cond_values);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(while_suite)
