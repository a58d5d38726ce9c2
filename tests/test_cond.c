/* test_cond.c: tf.cond in graph mode (TF 1.15's Switch / Merge and dead
 * tensors). Expected values are worked out by hand from the branch
 * formulas; which ops run is checked with run counts and the run trace. */
#include "tg_check.h"

/* What a branch builds, kept for the assertions. */
typedef struct branch_ctx {
    tg_tensor *x;
    double k;           /* true: x * k, false: x + k */
    tg_op *made;        /* the branch's main op */
    tg_tensor *inside;  /* a tensor of the branch, for the dead-fetch case */
    int calls;
    int n_return;       /* error cases: how many tensors to claim */
} branch_ctx;

static int times_k(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    branch_ctx *b = user;
    b->calls++;
    outs[0] = tg_multiply(g, b->x, tg_constant_scalar(g, TG_FLOAT32, b->k, "k"), "times");
    b->made = tg_tensor_op(outs[0]);
    b->inside = outs[0];
    (void)n;
    return 1;
}

static int plus_k(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    branch_ctx *b = user;
    b->calls++;
    outs[0] = tg_add(g, b->x, tg_constant_scalar(g, TG_FLOAT32, b->k, "k"), "plus");
    b->made = tg_tensor_op(outs[0]);
    (void)n;
    return 1;
}

/* Each branch gets its own context: the builder passes one ctx to both. */
typedef struct two {
    branch_ctx t, f;
} two;

static int two_true(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    return times_k(g, &((two *)user)->t, outs, n);
}

static int two_false(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    return plus_k(g, &((two *)user)->f, outs, n);
}

static double run_scalar(tg_session *s, tg_tensor *t, tg_feed *feeds, int nf)
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

START_TEST(test_values_and_structure)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    two b = {{.x = x, .k = 3}, {.x = x, .k = 10}};
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_cond(g, p, two_true, two_false, &b, &out, 1, NULL), TG_OK);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(out), "cond/Merge:0");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "cond/Switch")), "Switch");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "cond/switch_t")), "Identity");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "cond/switch_f")), "Identity");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "cond/pred_id")), "Identity");
    /* x is read by both branches: one Switch each, on pred_id */
    tg_op *mul = b.t.made, *add = b.f.made;
    tg_op *sw_t = tg_tensor_op(tg_op_input(mul, 0)), *sw_f = tg_tensor_op(tg_op_input(add, 0));
    ck_assert_str_eq(tg_op_type(sw_t), "Switch");
    ck_assert_str_eq(tg_op_type(sw_f), "Switch");
    ck_assert_ptr_ne(sw_t, sw_f);
    ck_assert_int_eq(tg_tensor_index(tg_op_input(mul, 0)), 1);
    ck_assert_int_eq(tg_tensor_index(tg_op_input(add, 0)), 0);
    ck_assert_ptr_eq(tg_op_input(sw_t, 0), x);
    ck_assert_str_eq(tg_tensor_name(tg_op_input(sw_t, 1)), "cond/pred_id:0");
    /* a constant made in a branch waits for the branch's pivot */
    tg_op *k = tg_tensor_op(tg_op_input(mul, 1));
    ck_assert_int_eq(tg_op_num_control_inputs(k), 1);
    ck_assert_str_eq(tg_op_name(tg_op_control_input(k, 0)), "cond/switch_t");
    ck_assert_str_eq(tg_op_name(tg_op_control_input(tg_tensor_op(tg_op_input(add, 1)), 0)), "cond/switch_f");
    /* the second cond gets a scope of its own */
    tg_tensor *out2 = NULL;
    ck_assert_int_eq(tg_cond(g, p, two_true, two_false, &b, &out2, 1, NULL), TG_OK);
    ck_assert_str_eq(tg_tensor_name(out2), "cond_1/Merge:0");

    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(2), *pt = tg_array_scalar_bool(true), *pf = tg_array_scalar_bool(false);
    tg_feed ft[2] = {{x, xv}, {p, pt}}, ff[2] = {{x, xv}, {p, pf}};
    ck_assert_close(run_scalar(s, out, ft, 2), 6, 0);  /* 2 * 3 */
    ck_assert_close(run_scalar(s, out, ff, 2), 12, 0); /* 2 + 10 */
    ck_assert_close(run_scalar(s, out, ft, 2), 6, 0);
    /* a later op reads the cond's output like any tensor */
    tg_tensor *y = tg_add(g, tg_multiply(g, out, tg_constant_scalar(g, TG_FLOAT32, 2, NULL), NULL), x, "y");
    ck_assert_close(run_scalar(s, y, ft, 2), 14, 0); /* 6 * 2 + 2 */
    ck_assert_close(run_scalar(s, y, ff, 2), 26, 0); /* 12 * 2 + 2 */
    tg_array_free(xv);
    tg_array_free(pt);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_branch_not_taken_does_not_run)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    two b = {{.x = x, .k = 3}, {.x = x, .k = 10}};
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_cond(g, p, two_true, two_false, &b, &out, 1, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(2), *pf = tg_array_scalar_bool(false);
    tg_feed ff[2] = {{x, xv}, {p, pf}};
    tg_array *o = NULL;
    ck_assert_int_eq(tg_session_run_opts(s, ff, 2, &out, 1, &o, NULL, 0, &(tg_run_options){.trace = true}),
                     TG_OK);
    ck_assert_close(tg_array_get(o, 0), 12, 0);
    ck_assert_int_eq(tg_session_op_run_count(s, b.t.made), 0);
    ck_assert_int_eq(tg_session_op_run_count(s, b.f.made), 1);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(out)), 1);

    /* the trace lists the skipped ops, marked, and the ones that ran */
    tg_op *const *ops;
    int n = tg_session_trace(s, &ops), seen_mul = 0, seen_add = 0, n_skipped = 0;
    for (int i = 0; i < n; i++) {
        n_skipped += tg_session_trace_skipped(s, i);
        if (ops[i] == b.t.made) seen_mul = 1, ck_assert(tg_session_trace_skipped(s, i));
        if (ops[i] == b.f.made) seen_add = 1, ck_assert(!tg_session_trace_skipped(s, i));
        if (strcmp(tg_op_name(ops[i]), "cond/switch_t") == 0) ck_assert(tg_session_trace_skipped(s, i));
        if (strcmp(tg_op_name(ops[i]), "cond/Merge") == 0) ck_assert(!tg_session_trace_skipped(s, i));
    }
    ck_assert(seen_mul && seen_add);
    /* skipped: switch_t, the true k, times, the true Identity */
    ck_assert_int_eq(n_skipped, 4);
    ck_assert(!tg_session_trace_skipped(s, n));
    char buf[4096] = "";
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_session_write_trace(s, f), TG_OK);
    rewind(f);
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    fclose(f);
    ck_assert_str_contains(buf, "cond/times (Mul)  [skipped: its cond branch was not taken]");
    ck_assert_msg(strstr(buf, "cond/plus (Add)\n") != NULL, "%s", buf);
    tg_array_free(o);
    tg_array_free(xv);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- the pitfall: where the assign is made ------------------------------------------- */

typedef struct pit {
    tg_tensor *outside; /* assign_add(v, 1) made before the cond */
    tg_variable *w;
    tg_tensor *x;
    tg_op *inside;
} pit;

static int use_outside(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    pit *c = user;
    (void)n;
    outs[0] = tg_identity(g, c->outside, NULL);
    return 1;
}

/* The TF idiom: the update made inside the branch, the result after it. */
static int assign_inside(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    pit *c = user;
    (void)n;
    tg_tensor *inc = tg_assign_add(g, tg_variable_ref(c->w), tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "inc_w");
    c->inside = tg_tensor_op(inc);
    tg_op *dep = c->inside;
    int tok = tg_control_dependencies_push(g, &dep, 1);
    outs[0] = tg_identity(g, c->x, "after_inc");
    tg_scope_pop(g, tok);
    return 1;
}

START_TEST(test_assign_outside_runs_either_way)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer(), .trainable = false);
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, &vo);
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &vo);
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    pit c = {.outside = tg_assign_add(g, tg_variable_ref(v), tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "inc_v"),
             .w = w,
             .x = x};
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_cond(g, p, use_outside, assign_inside, &c, &out, 1, NULL), TG_OK);
    ck_assert_tg_ok(g);
    /* the branch's assign writes w through a RefSwitch; the identity after
     * it keeps the control input declared inside the branch */
    ck_assert_str_eq(tg_op_type(tg_tensor_op(tg_op_input(c.inside, 0))), "RefSwitch");
    tg_op *after = tg_graph_op(g, "cond/after_inc");
    ck_assert_int_eq(tg_op_num_control_inputs(after), 1);
    ck_assert_ptr_eq(tg_op_control_input(after, 0), c.inside);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);

    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    tg_array *xv = tg_array_scalar_f32(5), *pt = tg_array_scalar_bool(true), *pf = tg_array_scalar_bool(false);
    tg_feed ft[2] = {{x, xv}, {p, pt}}, ff[2] = {{x, xv}, {p, pf}};
    tg_tensor *vals[2] = {tg_variable_value(v), tg_variable_value(w)};
    /* pred, then v and w after the run: the outside assign runs every
     * time (the true branch's Switch needs its value either way), the
     * inside one only when the false branch is taken */
    struct {
        tg_feed *feeds;
        double out, v, w;
    } runs[4] = {{ft, 1, 1, 0}, {ff, 5, 2, 1}, {ff, 5, 3, 2}, {ft, 4, 4, 2}};
    for (int r = 0; r < 4; r++) {
        ck_assert_close(run_scalar(s, out, runs[r].feeds, 2), runs[r].out, 0);
        tg_array *o[2] = {NULL, NULL};
        ck_assert_int_eq(tg_session_run(s, NULL, 0, vals, 2, o, NULL, 0), TG_OK);
        ck_assert_close(tg_array_get(o[0], 0), runs[r].v, 0);
        ck_assert_close(tg_array_get(o[1], 0), runs[r].w, 0);
        tg_array_free(o[0]);
        tg_array_free(o[1]);
    }
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(c.outside)), 4);
    ck_assert_int_eq(tg_session_op_run_count(s, c.inside), 2);
    tg_array_free(xv);
    tg_array_free(pt);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- nesting ------------------------------------------------------------------------- */

typedef struct nest {
    tg_tensor *x, *p2;
    two inner;
    tg_tensor *inner_out;
} nest;

static int outer_true(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    nest *c = user;
    (void)n;
    if (tg_cond(g, c->p2, two_true, two_false, &c->inner, &c->inner_out, 1, "inner") != TG_OK) return -1;
    outs[0] = c->inner_out;
    return 1;
}

static int outer_false(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    nest *c = user;
    (void)n;
    outs[0] = tg_subtract(g, c->x, tg_constant_scalar(g, TG_FLOAT32, 100, NULL), NULL);
    return 1;
}

START_TEST(test_nested)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *p1 = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p1");
    tg_tensor *p2 = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p2");
    nest c = {.x = x, .p2 = p2, .inner = {{.x = x, .k = 3}, {.x = x, .k = 10}}};
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_cond(g, p1, outer_true, outer_false, &c, &out, 1, NULL), TG_OK);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_tensor_name(c.inner_out), "cond/inner/Merge:0");
    /* x reaches the inner true branch through the outer Switch, then the
     * inner one */
    tg_op *sw_in = tg_tensor_op(tg_op_input(c.inner.t.made, 0));
    ck_assert_str_eq(tg_op_type(sw_in), "Switch");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(sw_in, 1)), "cond/inner/pred_id:0");
    tg_op *sw_out = tg_tensor_op(tg_op_input(sw_in, 0));
    ck_assert_str_eq(tg_op_type(sw_out), "Switch");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(sw_out, 1)), "cond/pred_id:0");
    ck_assert_ptr_eq(tg_op_input(sw_out, 0), x);
    /* the inner pred comes from outside the outer cond: switched too */
    ck_assert_str_eq(tg_op_type(tg_tensor_op(tg_op_input(tg_graph_op(g, "cond/inner/pred_id"), 0))), "Switch");

    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(2), *t = tg_array_scalar_bool(true), *f = tg_array_scalar_bool(false);
    struct {
        tg_array *a, *b;
        double want;
    } cases[4] = {{t, t, 6}, {t, f, 12}, {f, t, -98}, {f, f, -98}};
    for (int i = 0; i < 4; i++) {
        tg_feed fd[3] = {{x, xv}, {p1, cases[i].a}, {p2, cases[i].b}};
        ck_assert_close(run_scalar(s, out, fd, 3), cases[i].want, 0);
    }
    /* the inner branches ran only when the outer true branch was taken */
    ck_assert_int_eq(tg_session_op_run_count(s, c.inner.t.made), 1);
    ck_assert_int_eq(tg_session_op_run_count(s, c.inner.f.made), 1);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_graph_op(g, "cond/inner/Merge")), 2);
    tg_array_free(xv);
    tg_array_free(t);
    tg_array_free(f);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_dead_fetch_and_not_fetchable)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    two b = {{.x = x, .k = 3}, {.x = x, .k = 10}};
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_cond(g, p, two_true, two_false, &b, &out, 1, NULL), TG_OK);
    /* allowed, as in TF: an op outside the cond reading a branch tensor */
    tg_tensor *leak = tg_identity(g, b.t.inside, "leak");
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(2), *pt = tg_array_scalar_bool(true), *pf = tg_array_scalar_bool(false);
    tg_feed ft[2] = {{x, xv}, {p, pt}}, ff[2] = {{x, xv}, {p, pf}};
    ck_assert_close(run_scalar(s, leak, ft, 2), 6, 0);
    tg_tensor *fetch[2] = {out, leak};
    tg_array *o[2] = {NULL, NULL};
    ck_assert_int_eq(tg_session_run(s, ff, 2, fetch, 2, o, NULL, 0), TG_INTERNAL);
    ck_assert_str_contains(tg_session_message(s), "Retval[1] does not have value");
    ck_assert_int_eq(tg_session_op_run_count(s, tg_tensor_op(leak)), 1);
    /* ops of a branch and the cond's own switches cannot be fetched */
    tg_tensor *bad[2] = {b.t.inside, tg_op_output(tg_graph_op(g, "cond/pred_id"), 0)};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(tg_session_run(s, ft, 2, &bad[i], 1, o, NULL, 0), TG_INVALID_ARGUMENT);
        ck_assert_str_contains(tg_session_message(s), "has been marked as not fetchable.");
    }
    tg_op *target = b.f.made;
    ck_assert_int_eq(tg_session_run(s, ff, 2, NULL, 0, NULL, &target, 1), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "Operation 'cond/plus' has been marked as not fetchable.");
    /* the session still works */
    ck_assert_close(run_scalar(s, out, ff, 2), 12, 0);
    tg_array_free(o[0]);
    tg_array_free(o[1]);
    tg_array_free(xv);
    tg_array_free(pt);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_constant_pred_folds)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *yes = tg_constant_scalar(g, TG_BOOL, 1, "yes"), *no = tg_constant_scalar(g, TG_BOOL, 0, "no");
    two b = {{.x = x, .k = 3}, {.x = x, .k = 10}};
    tg_tensor *o1 = NULL, *o2 = NULL;
    ck_assert_int_eq(tg_smart_cond(g, yes, two_true, two_false, &b, &o1, 1, NULL), TG_OK);
    ck_assert_int_eq(tg_smart_cond(g, no, two_true, two_false, &b, &o2, 1, NULL), TG_OK);
    ck_assert_int_eq(b.t.calls, 1);
    ck_assert_int_eq(b.f.calls, 1);
    ck_assert_int_eq(count_type(g, "Switch") + count_type(g, "Merge") + count_type(g, "Identity"), 0);
    ck_assert_str_eq(tg_tensor_name(o1), "times:0"); /* no scope, no identity: smart_cond calls the fn */
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(2);
    tg_feed fd = {x, xv};
    ck_assert_close(run_scalar(s, o1, &fd, 1), 6, 0);
    ck_assert_close(run_scalar(s, o2, &fd, 1), 12, 0);
    /* a fed pred goes through tg_cond; tg_cond itself never folds */
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p"), *o3 = NULL, *o4 = NULL;
    ck_assert_int_eq(tg_smart_cond(g, p, two_true, two_false, &b, &o3, 1, NULL), TG_OK);
    ck_assert_int_eq(tg_cond(g, yes, two_true, two_false, &b, &o4, 1, NULL), TG_OK);
    ck_assert_int_eq(count_type(g, "Merge"), 2);
    ck_assert_close(run_scalar(s, o4, &fd, 1), 6, 0);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------ */

static int claim(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    branch_ctx *b = user;
    for (int i = 0; i < b->n_return && i < n; i++) outs[i] = i == 0 ? tg_identity(g, b->x, NULL) : NULL;
    return b->n_return;
}

static int claim_two(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    branch_ctx *b = user;
    outs[0] = tg_identity(g, b->x, NULL);
    if (n > 1) outs[1] = tg_identity(g, b->x, NULL);
    return 2;
}

START_TEST(test_branch_errors)
{
    struct {
        int n_return;
        bool two_outputs;
        const char *want;
    } cases[] = {
        {0, false, "mycond: true_fn must have a return value."},
        {2, false, "mycond: true_fn returned 2 tensors, n_outputs is 1"},
        {2, true, "mycond: true_fn returned NULL as output 1"},
        {1, true, "mycond: Incompatible return values of true_fn and false_fn: true_fn returned 1 tensors, false_fn 2"},
    };
    tg_set_log_callback(NULL, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tg_graph *g = tg_graph_new();
        tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
        tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
        branch_ctx b = {.x = x, .n_return = cases[i].n_return};
        tg_tensor *out[2] = {x, x};
        int n = cases[i].two_outputs ? 2 : 1;
        tg_code rc = tg_cond(g, p, claim, claim_two, &b, out, n, "mycond");
        ck_assert_int_eq(rc, TG_INVALID_ARGUMENT);
        ck_assert_ptr_null(out[0]);
        ck_assert_str_eq(tg_graph_message(g), cases[i].want);
        /* sticky: later builders add nothing */
        ck_assert_ptr_null(tg_identity(g, x, NULL));
        tg_graph_free(g);
    }
    /* a pred that is not a scalar bool */
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    branch_ctx b = {.x = x, .n_return = 1};
    tg_tensor *out = x;
    ck_assert_int_eq(tg_cond(g, x, claim, claim, &b, &out, 1, NULL), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    ck_assert_str_contains(tg_graph_message(g), "does not match expected type of bool");
    tg_graph_free(g);
}
END_TEST

/* ---- gradients ------------------------------------------------------------------------ */

/* Branches on x: x*x ("sq"), 3x ("lin"), x*x*x ("cube"), a constant. */
typedef struct gx {
    tg_tensor *x, *p2;
    tg_tensor *inner_out;
} gx;

static int g_square(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    gx *c = user;
    (void)n;
    outs[0] = tg_multiply(g, c->x, c->x, "sq");
    return 1;
}

static int g_linear(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    gx *c = user;
    (void)n;
    outs[0] = tg_multiply(g, tg_constant_scalar(g, TG_FLOAT64, 3, "three"), c->x, "lin");
    return 1;
}

static int g_cube(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    gx *c = user;
    (void)n;
    outs[0] = tg_multiply(g, tg_multiply(g, c->x, c->x, NULL), c->x, "cube");
    return 1;
}

static int g_const(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    (void)user, (void)n;
    outs[0] = tg_constant_scalar(g, TG_FLOAT64, 5, "five");
    return 1;
}

static int g_inner(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    gx *c = user;
    (void)n;
    if (tg_cond(g, c->p2, g_square, g_linear, c, &c->inner_out, 1, "inner") != TG_OK) return -1;
    outs[0] = c->inner_out;
    return 1;
}

/* dy/dx at the fed x (feeds[0] is x, a float64 scalar) against the
 * closed form and against central finite differences of y in float64. */
static void check_grad_at(tg_session *s, tg_tensor *y, tg_tensor *dx, tg_feed *feeds, int nf, double want)
{
    double a = run_scalar(s, dx, feeds, nf);
    ck_assert_close(a, want, 1e-12);
    double *xv = tg_array_data((tg_array *)feeds[0].value), x0 = *xv, h = 1e-5 * (fabs(x0) > 1 ? fabs(x0) : 1);
    *xv = x0 + h;
    double fp = run_scalar(s, y, feeds, nf);
    *xv = x0 - h;
    double fm = run_scalar(s, y, feeds, nf);
    *xv = x0;
    double num = (fp - fm) / (2 * h), scale = fabs(a) > 1 ? fabs(a) : 1;
    ck_assert_msg(fabs(a - num) / scale < 1e-6, "analytic %.12g, numeric %.12g", a, num);
}

START_TEST(test_grad_both_branches)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    gx c = {.x = x};
    tg_tensor *y = NULL, *dx = NULL;
    ck_assert_int_eq(tg_cond(g, p, g_square, g_linear, &c, &y, 1, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_tg_ok(g);
    /* TF's _MergeGrad: a Switch of the incoming gradient on the cond's
     * pred; _SwitchGrad: a Merge of what the two sides give */
    tg_op *mg = tg_graph_op(g, "gradients/cond/Merge_grad/cond_grad");
    ck_assert_ptr_nonnull(mg);
    ck_assert_str_eq(tg_op_type(mg), "Switch");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(mg, 1)), "cond/pred_id:0");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "gradients/cond/Switch_1_grad/cond_grad")), "Merge");
    ck_assert_str_eq(tg_op_type(tg_graph_op(g, "gradients/cond/Switch_2_grad/cond_grad")), "Merge");
    /* the branch's gradient ops read the Merge gradient's Switch as it is,
     * as it already is switched on the branch's pred: no new Switch */
    ck_assert_int_eq(count_type(g, "Switch"), 4); /* pred, x once per branch, Merge_grad */
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_graph_op(g, "gradients/cond/sq_grad/Mul"), 0)),
                     "gradients/cond/Merge_grad/cond_grad:1");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(tg_graph_op(g, "gradients/cond/lin_grad/Mul"), 0)),
                     "gradients/cond/Merge_grad/cond_grad:0");

    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f64(2.5), *pt = tg_array_scalar_bool(true), *pf = tg_array_scalar_bool(false);
    tg_feed ft[2] = {{x, xv}, {p, pt}}, ff[2] = {{x, xv}, {p, pf}};
    check_grad_at(s, y, dx, ft, 2, 5); /* 2x */
    check_grad_at(s, y, dx, ff, 2, 3);
    check_grad_at(s, y, dx, ft, 2, 5);
    tg_array_free(xv);
    tg_array_free(pt);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* Counts the gradient ops of the branch op `branch_op` in the last run's
 * trace, and how many of them were skipped. */
static void grad_ops_in_trace(tg_session *s, const char *branch_op, int *n, int *skipped)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "gradients/cond/%s_grad/", branch_op);
    tg_op *const *ops;
    int m = tg_session_trace(s, &ops);
    *n = *skipped = 0;
    for (int i = 0; i < m; i++)
        if (strncmp(tg_op_name(ops[i]), prefix, strlen(prefix)) == 0) {
            (*n)++;
            *skipped += tg_session_trace_skipped(s, i);
        }
}

START_TEST(test_grad_untaken_branch_skipped)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    gx c = {.x = x};
    tg_tensor *y = NULL, *dx = NULL;
    ck_assert_int_eq(tg_cond(g, p, g_square, g_linear, &c, &y, 1, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f64(2.5), *pt = tg_array_scalar_bool(true), *pf = tg_array_scalar_bool(false);
    tg_feed ft[2] = {{x, xv}, {p, pt}}, ff[2] = {{x, xv}, {p, pf}};
    struct {
        tg_feed *feeds;
        double want;
        bool sq_runs;
    } runs[2] = {{ff, 3, false}, {ft, 5, true}};
    for (int r = 0; r < 2; r++) {
        tg_array *o = NULL;
        ck_assert_int_eq(tg_session_run_opts(s, runs[r].feeds, 2, &dx, 1, &o, NULL, 0,
                                             &(tg_run_options){.trace = true}),
                         TG_OK);
        ck_assert_close(tg_array_get(o, 0), runs[r].want, 1e-12);
        tg_array_free(o);
        int n_sq, skip_sq, n_lin, skip_lin;
        grad_ops_in_trace(s, "sq", &n_sq, &skip_sq);
        grad_ops_in_trace(s, "lin", &n_lin, &skip_lin);
        ck_assert_int_gt(n_sq, 0);
        ck_assert_int_gt(n_lin, 0);
        ck_assert_int_eq(skip_sq, runs[r].sq_runs ? 0 : n_sq);
        ck_assert_int_eq(skip_lin, runs[r].sq_runs ? n_lin : 0);
    }
    /* built inside the branch's context, they cannot be fetched either */
    tg_tensor *inside = tg_op_output(tg_graph_op(g, "gradients/cond/sq_grad/Mul"), 0);
    tg_array *o = NULL;
    ck_assert_int_eq(tg_session_run(s, ft, 2, &inside, 1, &o, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "has been marked as not fetchable.");
    /* each branch's gradient ran once, in the run that took it */
    ck_assert_int_eq(tg_session_op_run_count(s, tg_graph_op(g, "gradients/cond/sq_grad/Mul")), 1);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_graph_op(g, "gradients/cond/lin_grad/Mul_1")), 1);
    tg_array_free(xv);
    tg_array_free(pt);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_grad_one_branch_uses_x)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    gx c = {.x = x};
    tg_tensor *y = NULL, *dx = NULL;
    ck_assert_int_eq(tg_cond(g, p, g_square, g_const, &c, &y, 1, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_tg_ok(g);
    /* not None: the false side contributes zeros */
    ck_assert_ptr_nonnull(dx);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f64(-1.5), *pt = tg_array_scalar_bool(true), *pf = tg_array_scalar_bool(false);
    tg_feed ft[2] = {{x, xv}, {p, pt}}, ff[2] = {{x, xv}, {p, pf}};
    check_grad_at(s, y, dx, ft, 2, -3);
    check_grad_at(s, y, dx, ff, 2, 0);
    tg_array_free(xv);
    tg_array_free(pt);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_grad_nested)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "x");
    tg_tensor *p1 = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p1");
    tg_tensor *p2 = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p2");
    gx c = {.x = x, .p2 = p2};
    tg_tensor *y = NULL, *dx = NULL;
    /* p1 ? (p2 ? x*x : 3x) : x*x*x */
    ck_assert_int_eq(tg_cond(g, p1, g_inner, g_cube, &c, &y, 1, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_tg_ok(g);
    /* the inner Merge's gradient is a Switch on the inner pred, made in
     * the outer true branch */
    tg_op *mg = tg_graph_op(g, "gradients/cond/inner/Merge_grad/cond_grad");
    ck_assert_ptr_nonnull(mg);
    ck_assert_str_eq(tg_op_type(mg), "Switch");
    ck_assert_str_eq(tg_tensor_name(tg_op_input(mg, 1)), "cond/inner/pred_id:0");
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f64(2), *t = tg_array_scalar_bool(true), *f = tg_array_scalar_bool(false);
    struct {
        tg_array *a, *b;
        double want;
    } cases[4] = {{t, t, 4}, {t, f, 3}, {f, t, 12}, {f, f, 12}}; /* 2x, 3, 3x^2 */
    for (int i = 0; i < 4; i++) {
        tg_feed fd[3] = {{x, xv}, {p1, cases[i].a}, {p2, cases[i].b}};
        check_grad_at(s, y, dx, fd, 3, cases[i].want);
    }
    tg_array_free(xv);
    tg_array_free(t);
    tg_array_free(f);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* Differentiating the gradient meets the gradient's own Switch and Merge,
 * which are outside any cond context (TF's _MergeGrad without one). */
START_TEST(test_grad_second_order)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    gx c = {.x = x};
    tg_tensor *y = NULL, *dx = NULL, *d2x = NULL;
    ck_assert_int_eq(tg_cond(g, p, g_cube, g_linear, &c, &y, 1, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &y, 1, &x, 1, &dx, NULL), TG_OK);
    ck_assert_int_eq(tg_gradients(g, &dx, 1, &x, 1, &d2x, NULL), TG_OK);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f64(2), *pt = tg_array_scalar_bool(true), *pf = tg_array_scalar_bool(false);
    tg_feed ft[2] = {{x, xv}, {p, pt}}, ff[2] = {{x, xv}, {p, pf}};
    ck_assert_close(run_scalar(s, dx, ft, 2), 12, 1e-12); /* 3x^2 */
    check_grad_at(s, dx, d2x, ft, 2, 12);                 /* 6x */
    check_grad_at(s, dx, d2x, ff, 2, 0);
    tg_array_free(xv);
    tg_array_free(pt);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- training through a branch ---------------------------------------------------------- */

typedef struct train_ctx {
    tg_variable *w, *v;
    tg_tensor *x;
} train_ctx;

static int w_branch(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    train_ctx *c = user;
    (void)n;
    tg_tensor *w = tg_variable_value(c->w);
    outs[0] = tg_multiply(g, tg_multiply(g, w, w, NULL), c->x, "wwx");
    return 1;
}

static int v_branch(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    train_ctx *c = user;
    (void)n;
    outs[0] = tg_multiply(g, tg_variable_value(c->v), c->x, "vx");
    return 1;
}

START_TEST(test_grad_train_through_branch)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_constant_initializer(1));
    train_ctx c = {.w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &vo),
                   .v = tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, &vo),
                   .x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x")};
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    tg_tensor *loss = NULL;
    ck_assert_int_eq(tg_cond(g, p, w_branch, v_branch, &c, &loss, 1, NULL), TG_OK);
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_op *train = tg_optimizer_minimize(opt, loss, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);

    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    tg_array *xv = tg_array_scalar_f32(2), *pt = tg_array_scalar_bool(true), *pf = tg_array_scalar_bool(false);
    tg_feed ft[2] = {{c.x, xv}, {p, pt}}, ff[2] = {{c.x, xv}, {p, pf}};
    tg_tensor *vals[2] = {tg_variable_value(c.w), tg_variable_value(c.v)};
    /* x = 2, lr = 0.1: d(w*w*x)/dw = 2wx = 4w, d(v*x)/dv = x = 2; the
     * variable of the branch not taken gets zeros and stays */
    struct {
        tg_feed *feeds;
        double w, v;
    } runs[4] = {{ft, 0.6, 1}, {ff, 0.6, 0.8}, {ff, 0.6, 0.6}, {ft, 0.36, 0.6}};
    for (int r = 0; r < 4; r++) {
        ck_assert_int_eq(tg_session_run(s, runs[r].feeds, 2, NULL, 0, NULL, &train, 1), TG_OK);
        tg_array *o[2] = {NULL, NULL};
        ck_assert_int_eq(tg_session_run(s, NULL, 0, vals, 2, o, NULL, 0), TG_OK);
        ck_assert_close(tg_array_get(o[0], 0), runs[r].w, 1e-6);
        ck_assert_close(tg_array_get(o[1], 0), runs[r].v, 1e-6);
        tg_array_free(o[0]);
        tg_array_free(o[1]);
    }
    /* the gradient ops of w's branch ran only in the two runs taking it */
    ck_assert_int_eq(tg_session_op_run_count(s, tg_graph_op(g, "gradients/cond/wwx_grad/Mul")), 2);
    ck_assert_int_eq(tg_session_op_run_count(s, tg_graph_op(g, "gradients/cond/vx_grad/Mul")), 2);
    tg_array_free(xv);
    tg_array_free(pt);
    tg_array_free(pf);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST


/* ---- tf.case ------------------------------------------------------------------------- */

/* Pair i returns x + add, made in its branch so that run counts show
 * which branch ran. */
typedef struct case_fn {
    tg_tensor *x;
    double add;
    tg_op *made;
} case_fn;

static int case_add(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    case_fn *c = user;
    (void)n;
    outs[0] = tg_add(g, c->x, tg_constant_scalar(g, TG_FLOAT32, c->add, NULL), "case_add");
    c->made = tg_tensor_op(outs[0]);
    return 1;
}

static int case_nothing(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    (void)g, (void)user, (void)outs, (void)n;
    return 0;
}

typedef struct case_fixture {
    tg_graph *g;
    tg_tensor *x, *p[3];
    case_fn fn[3], def;
    tg_case_pair pairs[3];
} case_fixture;

static void case_setup(case_fixture *f)
{
    f->g = tg_graph_new();
    f->x = tg_placeholder(f->g, TG_FLOAT32, TG_SCALAR, "x");
    const char *names[3] = {"p0", "p1", "p2"};
    for (int i = 0; i < 3; i++) {
        f->p[i] = tg_placeholder(f->g, TG_BOOL, TG_SCALAR, names[i]);
        f->fn[i] = (case_fn){.x = f->x, .add = 10 * (i + 1)};
        f->pairs[i] = (tg_case_pair){f->p[i], case_add, &f->fn[i]};
    }
    f->def = (case_fn){.x = f->x, .add = -1};
}

/* Runs out with x = 2 and the preds set from the bits of combo (bit i:
 * p[i]); returns the session's code, the value in *v. */
static tg_code case_run(tg_session *s, case_fixture *f, tg_tensor *out, int combo, double *v)
{
    tg_array *xv = tg_array_scalar_f32(2), *pv[3];
    tg_feed feeds[4] = {{f->x, xv}};
    for (int i = 0; i < 3; i++) {
        pv[i] = tg_array_scalar_bool((combo >> i) & 1);
        feeds[i + 1] = (tg_feed){f->p[i], pv[i]};
    }
    tg_array *o = NULL;
    tg_code rc = tg_session_run(s, feeds, 4, &out, 1, &o, NULL, 0);
    if (rc == TG_OK) *v = tg_array_get(o, 0);
    tg_array_free(o);
    tg_array_free(xv);
    for (int i = 0; i < 3; i++) tg_array_free(pv[i]);
    return rc;
}

START_TEST(test_case_first_true_wins)
{
    case_fixture f;
    case_setup(&f);
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_case(f.g, f.pairs, 3, case_add, &f.def, false, &out, 1, NULL), TG_OK);
    ck_assert_tg_ok(f.g);
    ck_assert_str_eq(tg_tensor_name(out), "case/cond/Merge:0");
    ck_assert_ptr_nonnull(tg_graph_op(f.g, "case/cond/cond/Merge"));
    ck_assert_ptr_nonnull(tg_graph_op(f.g, "case/cond/cond/cond/Merge"));
    ck_assert_int_eq(count_type(f.g, "Merge"), 3);
    ck_assert_int_eq(count_type(f.g, "Assert"), 0);
    /* by hand, x = 2: pair 0 gives 12, pair 1 22, pair 2 32, default 1 */
    const double want[8] = {1, 12, 22, 12, 32, 12, 22, 12};
    const int taken[8] = {3, 0, 1, 0, 2, 0, 1, 0};
    int runs[4] = {0, 0, 0, 0};
    tg_op *made[4] = {f.fn[0].made, f.fn[1].made, f.fn[2].made, f.def.made};
    tg_session *s = tg_session_new(f.g);
    for (int combo = 0; combo < 8; combo++) {
        double v = 0;
        ck_assert_int_eq(case_run(s, &f, out, combo, &v), TG_OK);
        ck_assert_msg(v == want[combo], "combo %d: %g, want %g", combo, v, want[combo]);
        runs[taken[combo]]++;
        for (int i = 0; i < 4; i++)
            ck_assert_msg(tg_session_op_run_count(s, made[i]) == runs[i], "combo %d: fn %d ran %d times, want %d",
                          combo, i, (int)tg_session_op_run_count(s, made[i]), runs[i]);
    }
    tg_session_free(s);
    tg_graph_free(f.g);
}
END_TEST

START_TEST(test_case_exclusive)
{
    case_fixture f;
    case_setup(&f);
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_case(f.g, f.pairs, 3, case_add, &f.def, true, &out, 1, "pick"), TG_OK);
    ck_assert_tg_ok(f.g);
    tg_op *check = tg_graph_op(f.g, "pick/Assert/Assert");
    ck_assert_ptr_nonnull(check);
    ck_assert_str_eq(tg_op_type(check), "Assert");
    ck_assert_str_eq(tg_op_type(tg_graph_op(f.g, "pick/preds_c")), "Pack");
    ck_assert_ptr_nonnull(tg_graph_op(f.g, "pick/num_true_conds"));
    ck_assert_ptr_nonnull(tg_graph_op(f.g, "pick/n_true_conds"));
    /* the conds wait for the check */
    tg_op *sw = tg_graph_op(f.g, "pick/cond/Switch");
    ck_assert_int_eq(tg_op_num_control_inputs(sw), 1);
    ck_assert_ptr_eq(tg_op_control_input(sw, 0), check);
    tg_set_log_callback(NULL, NULL);
    tg_session *s = tg_session_new(f.g);
    const double want[8] = {1, 12, 22, 0, 32, 0, 0, 0};
    for (int combo = 0; combo < 8; combo++) {
        double v = 0;
        int n_true = (combo & 1) + ((combo >> 1) & 1) + ((combo >> 2) & 1);
        tg_code rc = case_run(s, &f, out, combo, &v);
        if (n_true <= 1) {
            ck_assert_int_eq(rc, TG_OK);
            ck_assert_msg(v == want[combo], "combo %d: %g, want %g", combo, v, want[combo]);
        } else {
            ck_assert_int_eq(rc, TG_INVALID_ARGUMENT);
            ck_assert_str_contains(tg_session_message(s), "assertion failed: [Input error: exclusive=True: more than 1 "
                                                          "conditions (p0:0, p1:0, p2:0) evaluated as True:]");
        }
    }
    double v = 0;
    ck_assert_int_eq(case_run(s, &f, out, 3, &v), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "evaluated as True:] [1 1 0]");
    ck_assert_int_eq(case_run(s, &f, out, 7, &v), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "evaluated as True:] [1 1 1]");
    /* no branch ran when the check failed */
    ck_assert_int_eq(tg_session_op_run_count(s, f.fn[0].made), 1);
    ck_assert_int_eq(tg_session_op_run_count(s, f.fn[1].made), 1);
    tg_session_free(s);
    tg_graph_free(f.g);
}
END_TEST

START_TEST(test_case_default_is_last_pair)
{
    case_fixture f;
    case_setup(&f);
    tg_tensor *out = NULL;
    ck_assert_int_eq(tg_case(f.g, f.pairs, 3, NULL, NULL, false, &out, 1, NULL), TG_OK);
    ck_assert_tg_ok(f.g);
    /* the last pair gets no cond of its own */
    ck_assert_int_eq(count_type(f.g, "Merge"), 2);
    ck_assert_int_eq(count_type(f.g, "Assert"), 2);
    tg_set_log_callback(NULL, NULL);
    tg_session *s = tg_session_new(f.g);
    const double want[8] = {0, 12, 22, 12, 32, 12, 22, 12};
    for (int combo = 1; combo < 8; combo++) {
        double v = 0;
        ck_assert_int_eq(case_run(s, &f, out, combo, &v), TG_OK);
        ck_assert_msg(v == want[combo], "combo %d: %g, want %g", combo, v, want[combo]);
    }
    ck_assert_int_eq(tg_session_op_run_count(s, f.fn[2].made), 1);
    double v = 0;
    ck_assert_int_eq(case_run(s, &f, out, 0, &v), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s),
                           "assertion failed: [Input error: None of conditions evaluated as True:] [0 0 0]");
    ck_assert_int_eq(tg_session_op_run_count(s, f.fn[2].made), 1);
    tg_session_free(s);
    tg_graph_free(f.g);

    /* exclusive without default leaves the last pred out of its check, as
     * TF 1.15 does: p0 and p2 pass it, and p0 wins */
    case_setup(&f);
    ck_assert_int_eq(tg_case(f.g, f.pairs, 3, NULL, NULL, true, &out, 1, NULL), TG_OK);
    s = tg_session_new(f.g);
    ck_assert_int_eq(case_run(s, &f, out, 5, &v), TG_OK);
    ck_assert_close(v, 12, 0);
    ck_assert_int_eq(case_run(s, &f, out, 3, &v), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "more than 1 conditions (p0:0, p1:0) evaluated as True:] [1 1]");
    tg_session_free(s);
    tg_graph_free(f.g);

    /* a single pair without default: no cond, only the checks */
    case_setup(&f);
    ck_assert_int_eq(tg_case(f.g, f.pairs, 1, NULL, NULL, true, &out, 1, NULL), TG_OK);
    ck_assert_tg_ok(f.g);
    ck_assert_int_eq(count_type(f.g, "Switch"), 0);
    s = tg_session_new(f.g);
    ck_assert_int_eq(case_run(s, &f, out, 1, &v), TG_OK);
    ck_assert_close(v, 12, 0);
    ck_assert_int_eq(case_run(s, &f, out, 0, &v), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "[Input error: None of conditions evaluated as True:] [0]");
    tg_session_free(s);
    tg_graph_free(f.g);
}
END_TEST

START_TEST(test_case_errors)
{
    tg_set_log_callback(NULL, NULL);
    case_fixture f;
    case_setup(&f);
    tg_tensor *out = (tg_tensor *)&f; /* cleared on failure */
    ck_assert_int_eq(tg_case(f.g, f.pairs, 0, case_add, &f.def, false, &out, 1, NULL), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    ck_assert_str_contains(tg_graph_message(f.g), "case: needs at least one (pred, fn) pair");
    tg_graph_free(f.g);

    case_setup(&f);
    int n_ops = tg_graph_num_ops(f.g);
    f.pairs[1].fn = NULL;
    ck_assert_int_eq(tg_case(f.g, f.pairs, 3, case_add, &f.def, false, &out, 1, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(f.g), "fn for pred p1:0 must be callable.");
    ck_assert_int_eq(tg_graph_num_ops(f.g), n_ops);
    tg_graph_free(f.g);

    case_setup(&f);
    f.pairs[2].pred = f.x;
    ck_assert_int_eq(tg_case(f.g, f.pairs, 3, case_add, &f.def, false, &out, 1, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(f.g), "pred must be Tensor of type bool: x:0");
    ck_assert_int_eq(tg_graph_num_ops(f.g), 4);
    tg_graph_free(f.g);

    case_setup(&f);
    f.pairs[0].pred = NULL;
    ck_assert_int_eq(tg_case(f.g, f.pairs, 3, case_add, &f.def, false, &out, 1, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(f.g), "case: pred 0 is NULL");
    tg_graph_free(f.g);

    /* branch errors come from the cond that met them */
    case_setup(&f);
    f.pairs[1].fn = case_nothing;
    out = (tg_tensor *)&f;
    ck_assert_int_eq(tg_case(f.g, f.pairs, 3, case_add, &f.def, false, &out, 1, NULL), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    ck_assert_str_contains(tg_graph_message(f.g), "case/cond/cond: true_fn must have a return value.");
    tg_graph_free(f.g);

    case_setup(&f);
    ck_assert_int_eq(tg_case(f.g, f.pairs, 3, case_nothing, NULL, false, &out, 1, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(f.g), "case/cond/cond/cond: false_fn must have a return value.");
    tg_graph_free(f.g);

    /* a pred that is not a scalar: from the Switch */
    case_setup(&f);
    bool b2[2] = {true, false};
    f.pairs[0].pred = tg_constant_data(f.g, TG_BOOL, TG_SHAPE(2), b2, "v");
    ck_assert_int_eq(tg_case(f.g, f.pairs, 3, case_add, &f.def, false, &out, 1, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(f.g), "Shape must be rank 0 but is rank 1");
    tg_graph_free(f.g);
}
END_TEST
static Suite *cond_suite(void)
{
    Suite *s = suite_create("cond");
    TCase *tc = tcase_create("cond");
    tcase_add_test(tc, test_values_and_structure);
    tcase_add_test(tc, test_branch_not_taken_does_not_run);
    tcase_add_test(tc, test_assign_outside_runs_either_way);
    tcase_add_test(tc, test_nested);
    tcase_add_test(tc, test_dead_fetch_and_not_fetchable);
    tcase_add_test(tc, test_constant_pred_folds);
    tcase_add_test(tc, test_branch_errors);
    tcase_add_test(tc, test_grad_both_branches);
    tcase_add_test(tc, test_grad_untaken_branch_skipped);
    tcase_add_test(tc, test_grad_one_branch_uses_x);
    tcase_add_test(tc, test_grad_nested);
    tcase_add_test(tc, test_grad_second_order);
    tcase_add_test(tc, test_grad_train_through_branch);
    tcase_add_test(tc, test_case_first_true_wins);
    tcase_add_test(tc, test_case_exclusive);
    tcase_add_test(tc, test_case_default_is_last_pair);
    tcase_add_test(tc, test_case_errors);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(cond_suite)
