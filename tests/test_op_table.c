/* test_op_table.c: what the op table promises (tests/support/op_table.h,
 * one row per registered op), and the same for the public builders that
 * compose ops of other rows (OT_EXTRA below), row by row:
 *
 * - build: the row builds without error, and an op of its type is in the
 *   graph then (or once the result is differentiated: tg_gradients' helpers).
 * - gradient: rows with a tolerance, in float64 against central finite
 *   differences (gradcheck.h), through the public API only.
 * - sweep: the row's public builder refuses a NULL graph, a graph already in
 *   error, each input NULL, from another graph and of a wrong dtype, and the
 *   row's bad calls: NULL or an error code back, the graph's sticky error
 *   set and naming the builder or its op, no op left behind (tg_graph_num_ops
 *   before and after), and the graph still builds afterwards.
 *
 * Each row is one forked Check test (a loop test), so a crash or a failure
 * names its row; cases a library defect breaks are listed in the row's
 * `known` and skipped with the defect printed. That every registered op has
 * a row is test_registry's check. */
#include <ctype.h>

#include "gradcheck.h"
#include "op_table.h"

/* ---- public builders without an op type of their own ---------------------- */

static void *e_constant(tg_graph *g, tg_tensor *const *in)
{
    tg_array *a = tg_array_scalar_f64(2);
    tg_tensor *t = tg_constant(g, a, NULL);
    tg_array_free(a);
    (void)in;
    return t;
}
OT_FN(xe_constant_null, tg_constant(g, NULL, NULL))
OT_FN(e_constant_scalar, tg_constant_scalar(g, TG_FLOAT64, 2, NULL))
OT_FN(xe_constant_scalar_dtype, tg_constant_scalar(g, (tg_dtype)TG_DTYPE_COUNT, 2, NULL))
OT_FN(e_reshape_t, tg_reshape_t(g, in[0], in[1], NULL))
OT_FN(e_clip, tg_clip_by_value(g, in[0], in[1], in[2], NULL))
OT_FN(e_xent_v1, tg_nn_softmax_cross_entropy_with_logits(g, in[1], in[2], NULL))
/* mean and variance in one vector; weighted when w_given */
static void *moments(tg_graph *g, tg_tensor *x, const int *axes, bool w_given, tg_tensor *w)
{
    tg_tensor *m = NULL, *v = NULL;
    tg_code rc = w_given ? tg_nn_weighted_moments(g, x, axes, 1, w, false, &m, &v, NULL)
                         : tg_nn_moments(g, x, axes, 1, false, &m, &v, NULL);
    if (!ot_code_result(rc, &m)) return NULL;
    return tg_concat(g, (tg_tensor *[]){m, v}, 2, 0, NULL);
}
OT_FN(e_moments, moments(g, in[0], (const int[]){0}, false, NULL))
OT_FN(xe_moments_axes, moments(g, in[0], NULL, false, NULL))
OT_FN(xe_moments_outputs, tg_nn_moments(g, in[0], (const int[]){0}, 1, false, NULL, NULL, NULL) == TG_OK ? in[0] : NULL)
OT_FN(e_wmoments, moments(g, in[0], (const int[]){0}, true, in[1]))
OT_FN(e_batch_normalization, tg_nn_batch_normalization(g, in[0], in[1], in[2], in[3], in[4], 1e-3, NULL))
static void *e_dropout(tg_graph *g, tg_tensor *const *in)
{
    TG_OPTS(tg_dropout_opts, o, .rate = 0.5);
    return tg_nn_dropout(g, in[0], &o);
}
OT_FN(xe_dropout_rate, tg_nn_dropout(g, in[0], NULL))
OT_FN(e_group, tg_group(g, (tg_op *[]){in[0] ? tg_tensor_op(in[0]) : NULL}, 1, NULL))
OT_FN(xe_group_list, tg_group(g, NULL, 2, NULL))
static void *e_tuple(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *out[2] = {NULL, NULL};
    tg_code rc = tg_tuple(g, in, 2, NULL, 0, out, NULL);
    return ot_code_result(rc, in[0] ? &out[0] : &out[1]);
}
OT_FN(xe_tuple_outputs, tg_tuple(g, in, 2, NULL, 0, NULL, NULL) == TG_OK ? in[0] : NULL)
static void *xe_tuple_list(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *out[2] = {NULL, NULL};
    (void)in;
    return ot_code_result(tg_tuple(g, NULL, 2, NULL, 0, out, NULL), &out[0]);
}
OT_FN(e_assert_message, tg_assert_message(g, in[0], "x is", &in[1], 1, 3, NULL))
static void *e_smart_cond(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *x = in[1], *out = NULL;
    return ot_code_result(tg_smart_cond(g, in[0], br_square, br_neg, &x, &out, 1, NULL), &out);
}
static void *xe_cond_fn(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *x = in[1], *out = NULL;
    return ot_code_result(tg_cond(g, in[0], NULL, br_neg, &x, &out, 1, NULL), &out);
}
static void *e_case(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *x = in[1], *out = NULL;
    tg_case_pair p = {in[0], br_square, &x};
    return ot_code_result(tg_case(g, &p, 1, br_neg, &x, false, &out, 1, NULL), &out);
}
static void *xe_case_pairs(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *x = in[1], *out = NULL;
    return ot_code_result(tg_case(g, NULL, 1, br_neg, &x, false, &out, 1, NULL), &out);
}
static void *while_loop(tg_graph *g, tg_tensor *const *in, tg_while_cond_fn cond)
{
    tg_tensor *vars[2] = {in[0], in[1]}, *out[2] = {NULL, NULL};
    return ot_code_result(tg_while_loop(g, cond, wl_body, NULL, vars, 2, out, NULL), &out[1]);
}
OT_FN(e_while, while_loop(g, in, wl_cond))
OT_FN(xe_while_fn, while_loop(g, in, NULL))
OT_FN(xe_while_outputs, tg_while_loop(g, wl_cond, wl_body, NULL, in, 2, NULL, NULL) == TG_OK ? in[0] : NULL)
OT_FN(e_get_variable, tg_get_variable(g, "gvar", TG_FLOAT64, TG_SHAPE(2), NULL))
OT_FN(xe_get_variable_shape, tg_get_variable(g, "gvar", TG_FLOAT64, TG_SHAPE(-1), NULL))
OT_FN(xe_get_variable_name, tg_get_variable(g, "bad name", TG_FLOAT64, TG_SHAPE(2), NULL))
OT_FN(xe_get_variable_null, tg_get_variable(g, NULL, TG_FLOAT64, TG_SHAPE(2), NULL))
static void *gradients(tg_graph *g, tg_tensor *const *ys, tg_tensor *const *xs)
{
    tg_tensor *dx = NULL;
    return ot_code_result(tg_gradients(g, ys, 1, xs, 1, &dx, NULL), &dx);
}
OT_FN(e_gradients, gradients(g, &in[1], in))
OT_FN(xe_gradients_lists, gradients(g, NULL, NULL))
static tg_tensor *d_square(tg_graph *g, tg_tensor *const *in) { return tg_square(g, in[0], NULL); }
OT_FN(e_global_variables_initializer, tg_global_variables_initializer(g))
/* the variable behind a reference input, among its graph's globals */
static tg_variable *var_of(tg_tensor *ref)
{
    tg_variable **vars = NULL, *v = NULL;
    int n = ref ? tg_global_variables(tg_op_graph(tg_tensor_op(ref)), &vars) : 0;
    for (int i = 0; i < n; i++)
        if (tg_variable_ref(vars[i]) == ref) v = vars[i];
    tg_free(vars);
    return v;
}
OT_FN(e_variables_initializer, tg_variables_initializer(g, (tg_variable *[]){var_of(in[0])}, 1, NULL))
OT_FN(xe_variables_initializer_list, tg_variables_initializer(g, NULL, 1, NULL))
OT_FN(xe_variables_initializer_count, tg_variables_initializer(g, (tg_variable *[]){var_of(in[0])}, -1, NULL))

/* tf.tuple's None entries give None outputs */
#define OT_TUPLE_IN(kind_, s) \
    {.kind = kind_, .dtype = TG_FLOAT64, .shape = s, .lo = -1, .hi = 1, .any = true, .opt = true}

static const ot_row OT_EXTRA[] = {
    {NULL, BLD(tg_constant, e_constant), ND, .alias = "Const", .refuse = {xe_constant_null}},
    {NULL, BLD(tg_constant_scalar, e_constant_scalar), ND, .alias = "Const", .refuse = {xe_constant_scalar_dtype}},
    {NULL, BLD(tg_reshape_t, e_reshape_t), IN(FA(OT_S(2, 3), -1, 1), C(TG_INT32, OT_S(2), TG_FLOAT64, 3, 2)),
     GC(1e-6), .alias = "Reshape"},
    {NULL, BLD(tg_clip_by_value, e_clip), IN(F(OT_S(2, 3), -1, 1), K(OT_SCALAR, -0.5, -0.4), K(OT_SCALAR, 0.4, 0.5)),
     GC(1e-6), .alias = "clip_by_value"},
    /* v1: no gradient into labels, so they derive from a Const */
    {NULL, BLD(tg_nn_softmax_cross_entropy_with_logits, e_xent_v1),
     IN({.kind = OT_CONST, .dtype = TG_FLOAT64, .shape = OT_S(2, 3), .lo = -1, .hi = 1, .aux = true},
        D(d_softmax, TG_INT32), FX(OT_S(2, 3), -2, 2, TG_INT32)),
     GC(1e-6), .alias = "softmax_cross_entropy_with_logits"},
    {NULL, BLD(tg_nn_moments, e_moments), IN(FX(OT_S(3, 2), -1, 1, TG_INT32)), GC(1e-6), .alias = "moments",
     .refuse = {xe_moments_axes, xe_moments_outputs}},
    /* weights of any dtype are cast to x's */
    {NULL, BLD(tg_nn_weighted_moments, e_wmoments), IN(FX(OT_S(3, 2), -1, 1, TG_INT32), FA(OT_S(3, 1), 0.5, 1.5)),
     GC(1e-6), .alias = "moments"},
    {NULL, BLD(tg_nn_batch_normalization, e_batch_normalization),
     IN(FX(OT_S(3, 2), -1, 1, TG_INT32), F(OT_S(2), -1, 1), F(OT_S(2), 0.5, 2), OPT(OT_S(2), -1, 1),
        OPT(OT_S(2), 0.5, 1.5)),
     GC(1e-6), .alias = "batchnorm"},
    {NULL, BLD(tg_nn_dropout, e_dropout), IN(FX(OT_S(2, 3), -1, 1, TG_INT32)), ND, .alias = "dropout",
     .refuse = {xe_dropout_rate}},
    {NULL, BLD(tg_group, e_group), IN(FA(OT_S(2), -1, 1)), ND, .alias = "group_deps", .refuse = {xe_group_list}},
    {NULL, BLD(tg_tuple, e_tuple), IN(OT_TUPLE_IN(OT_FEED, OT_S(2)), OT_TUPLE_IN(OT_CONST, OT_S(3))), GC(1e-6),
     .alias = "tuple", .refuse = {xe_tuple_outputs, xe_tuple_list}},
    {NULL, BLD(tg_assert_message, e_assert_message), IN(OT_PRED(1), FA(OT_S(2), -1, 1)), ND, .alias = "Assert"},
    /* the branches' capture x is not an argument of the builder */
    {NULL, BLD(tg_cond, v_cond), IN(OT_PRED(1), AUX(OT_S(2, 3), -1, 1)), GC(1e-6), .alias = "cond",
     .refuse = {xe_cond_fn}},
    {NULL, BLD(tg_smart_cond, e_smart_cond), IN(OT_PRED(0), AUX(OT_S(2, 3), -1, 1)), GC(1e-6),
     .alias = "smart_cond|cond"},
    {NULL, BLD(tg_case, e_case), IN(OT_PRED(1), AUX(OT_S(2, 3), -1, 1)), GC(1e-6), .alias = "case",
     .refuse = {xe_case_pairs}},
    /* loop variables take every dtype: what the cond cannot compare is the cond's error */
    {NULL, BLD(tg_while_loop, e_while),
     IN({.kind = OT_CONST, .dtype = TG_INT32, .shape = OT_SCALAR, .values = (const double[]){0}, .any = true},
        FA(OT_S(2), 0.5, 1.5)),
     GC(1e-6), .alias = "while", .refuse = {xe_while_fn, xe_while_outputs}},
    {NULL, BLD(tg_get_variable, e_get_variable), ND, .alias = "(gvar)|get_variable",
     .refuse = {xe_get_variable_shape, xe_get_variable_name, xe_get_variable_null}},
    {NULL, BLD(tg_gradients, e_gradients), IN(FA(OT_S(2), -1, 1), D(d_square, TG_INT32)), GC(1e-6),
     .alias = "gradients", .refuse = {xe_gradients_lists}},
    {NULL, BLD(tg_global_variables_initializer, e_global_variables_initializer), ND, .alias = "init"},
    {NULL, BLD(tg_variables_initializer, e_variables_initializer),
     IN({.kind = OT_VAR, .dtype = TG_FLOAT64, .shape = OT_S(2), .any = true}), ND, .alias = "init",
     .refuse = {xe_variables_initializer_list, xe_variables_initializer_count}},
};

enum { OT_N_EXTRA = (int)(sizeof OT_EXTRA / sizeof OT_EXTRA[0]) };

/* ---- inputs ----------------------------------------------------------------- */

static const ot_row *row_at(int i) { return i < OT_N_ROWS ? &OT_ROWS[i] : &OT_EXTRA[i - OT_N_ROWS]; }
static const char *row_name(const ot_row *r) { return r->type ? r->type : r->builder; }

static void *call(const ot_row *r, tg_graph *g, tg_tensor *const *in)
{
    ot_violation = NULL;
    if (r->unary) return r->unary(g, in[0], NULL);
    if (r->binary) return r->binary(g, in[0], in[1], NULL);
    return r->build(g, in);
}

static tg_array *array_of(tg_dtype dtype, tg_shape s, const double *v)
{
    tg_array *a = tg_array_new(dtype, s.rank, s.dims);
    ck_assert_ptr_nonnull(a);
    for (int64_t k = 0; k < tg_array_size(a); k++) switch (dtype) {
        case TG_FLOAT32: ((float *)tg_array_data(a))[k] = (float)v[k]; break;
        case TG_FLOAT64: ((double *)tg_array_data(a))[k] = v[k]; break;
        case TG_INT32: ((int32_t *)tg_array_data(a))[k] = (int32_t)v[k]; break;
        case TG_INT64: ((int64_t *)tg_array_data(a))[k] = (int64_t)v[k]; break;
        default: ((bool *)tg_array_data(a))[k] = v[k] != 0; break;
        }
    return a;
}

typedef struct feeds {
    tg_tensor *xs[OT_MAX_IN];
    tg_array *vals[OT_MAX_IN];
    int n;
} feeds;

/* Row r's inputs on g. With f, the placeholders go there with the values to
 * feed (seeded per row, so a failure reproduces). */
static void make_inputs(tg_graph *g, const ot_row *r, tg_tensor **in, feeds *f, unsigned seed)
{
    for (int i = 0; i < r->n_in; i++) {
        const ot_in *p = &r->in[i];
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        switch (p->kind) {
        case OT_FEED: {
            tg_shape s = p->shape;
            for (int d = 0; d < s.rank; d++)
                if (p->unknown >> d & 1u) s.dims[d] = -1;
            in[i] = tg_placeholder(g, p->dtype, s, name);
            if (f) {
                ck_assert_msg(p->dtype == TG_FLOAT64, "%s: input %d: the gradient check feeds float64 only",
                              row_name(r), i);
                f->xs[f->n] = in[i];
                f->vals[f->n++] = gc_random(p->shape, p->lo, p->hi, seed + (unsigned)i);
            }
            break;
        }
        case OT_CONST: {
            tg_array *a = p->values ? array_of(p->dtype, p->shape, p->values)
                                    : gc_random(p->shape, p->lo, p->hi, seed + (unsigned)i);
            in[i] = tg_constant(g, a, name);
            tg_array_free(a);
            break;
        }
        case OT_VAR: in[i] = tg_variable_ref(tg_variable_new(g, name, p->dtype, p->shape, NULL)); break;
        case OT_DERIVED: in[i] = p->derive(g, in); break;
        }
        ck_assert_msg(in[i] != NULL, "%s: input %d: %s", row_name(r), i, tg_graph_message(g));
    }
}

static bool has_type(const tg_graph *g, const char *type)
{
    for (int i = 0; i < tg_graph_num_ops(g); i++)
        if (strcmp(tg_op_type(tg_graph_op_at(g, i)), type) == 0) return true;
    return false;
}

/* The defect that breaks case `what` of row r, or NULL. OT_STRICT=1 in the
 * environment runs the known cases' checks too, to see a fix take. */
static const char *known_defect(const ot_row *r, const char *what)
{
    const char *strict = getenv("OT_STRICT");
    if (strict && strcmp(strict, "1") == 0) return NULL;
    for (int k = 0; k < 2 && r->known[k].what; k++)
        if (strcmp(r->known[k].what, what) == 0) return r->known[k].defect;
    return NULL;
}

/* ---- build and gradient ---------------------------------------------------- */

static void check_build(const ot_row *r)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *in[OT_N_SLOTS] = {NULL};
    make_inputs(g, r, in, NULL, 1);
    void *res = call(r, g, in);
    ck_assert_msg(!ot_violation, "%s: %s", row_name(r), ot_violation);
    ck_assert_msg(res != NULL && tg_graph_status(g) == TG_OK, "%s: %s", row_name(r), tg_graph_message(g));
    if (r->type && !has_type(g, r->type) && r->tol > 0) {
        tg_tensor *dx[OT_N_SLOTS] = {NULL}, *y = res;
        tg_gradients(g, &y, 1, in, r->n_in, dx, NULL);
        ck_assert_tg_ok(g);
    }
    if (r->type) ck_assert_msg(has_type(g, r->type), "%s: the row's build makes no op of its type", r->type);
    tg_graph_free(g);
}

static void check_gradient(const ot_row *r, unsigned seed)
{
    const char *defect = known_defect(r, "gradient");
    if (defect) {
        printf("%s, gradient: skipped, known defect: %s\n", row_name(r), defect);
        return;
    }
    tg_graph *g = tg_graph_new();
    tg_tensor *in[OT_N_SLOTS] = {NULL};
    feeds f = {.n = 0};
    make_inputs(g, r, in, &f, seed);
    tg_tensor *y = call(r, g, in);
    ck_assert_msg(y != NULL, "%s: %s", row_name(r), tg_graph_message(g));
    gc_check(g, y, f.xs, f.n, f.vals, r->tol);
    for (int i = 0; i < f.n; i++) tg_array_free(f.vals[i]);
    tg_graph_free(g);
}

/* ---- the bad-argument sweep -------------------------------------------------- */

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t k = 0;
        while (k < n && hay[k] && tolower((unsigned char)hay[k]) == tolower((unsigned char)needle[k])) k++;
        if (k == n) return true;
    }
    return false;
}

static bool names_it(const ot_row *r, const char *msg)
{
    if ((r->builder && contains_nocase(msg, r->builder)) || (r->type && contains_nocase(msg, r->type))) return true;
    for (const char *a = r->alias; a && *a;) {
        size_t n = strcspn(a, "|");
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)n, a);
        if (contains_nocase(msg, one)) return true;
        a += n + (a[n] == '|');
    }
    return false;
}

/* A refused call: NULL back, the sticky error set and naming the builder or
 * its op, no op left; the status is cleared for the next case. silent_ok
 * accepts no error at all: a NULL graph has nowhere to record one, and a
 * NULL input is how builders chain after an earlier failure, which already
 * recorded its error (array_ops.h's error model). */
static void expect_refused(const ot_row *r, tg_graph *g, void *res, int n_ops, const char *what, bool silent_ok,
                           bool foreign)
{
    const char *b = r->builder, *defect = known_defect(r, what);
    if (defect) {
        printf("%s, %s: skipped, known defect: %s\n", b, what, defect);
        tg_graph_clear_status(g);
        return;
    }
    ck_assert_msg(!ot_violation, "%s, %s: %s", b, what, ot_violation);
    ck_assert_msg(res == NULL, "%s, %s: accepted (%s)", b, what, tg_graph_message(g));
    ck_assert_msg(tg_graph_num_ops(g) == n_ops, "%s, %s: left %d op(s) behind (%s)", b, what,
                  tg_graph_num_ops(g) - n_ops, tg_graph_message(g));
    if (tg_graph_status(g) == TG_OK) {
        ck_assert_msg(silent_ok, "%s, %s: refused without recording an error", b, what);
        return;
    }
    /* an input from another graph too: the message says who refused it */
    (void)foreign;
    ck_assert_msg(names_it(r, tg_graph_message(g)), "%s, %s: the error does not name %s or its op: \"%s\"", b, what,
                  b, tg_graph_message(g));
    tg_graph_clear_status(g);
}

/* Runs row r's sweep on g (inputs from other for the foreign case) and
 * returns its number of cases; with g NULL only counts them. */
static int sweep(const ot_row *r, tg_graph *g, tg_graph *other)
{
    tg_tensor *in[OT_N_SLOTS] = {NULL}, *foreign[OT_N_SLOTS] = {NULL}, *t[OT_N_SLOTS];
    char what[64];
    int cases = 2;
    if (g) {
        make_inputs(g, r, in, NULL, 1);
        make_inputs(other, r, foreign, NULL, 1);
        in[OT_ODD] = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(4), "odd");
        in[OT_ODD + 1] = tg_placeholder(g, TG_FLOAT64, TG_SCALAR, "odd_scalar");
        int n = tg_graph_num_ops(g);
        expect_refused(r, g, call(r, NULL, in), n, "NULL graph", true, false);
        tg_graph_fail(g, TG_FAILED_PRECONDITION, "an earlier error");
        void *res = call(r, g, in);
        ck_assert_msg(res == NULL && tg_graph_num_ops(g) == n, "%s: built on a graph in error", r->builder);
        ck_assert_msg(strcmp(tg_graph_message(g), "an earlier error") == 0, "%s: replaced the first error by \"%s\"",
                      r->builder, tg_graph_message(g));
        tg_graph_clear_status(g);
    }
    for (int i = 0; i < r->n_in; i++) {
        const ot_in *p = &r->in[i];
        if (p->aux) continue;
        cases += 1 + !p->opt + !p->any;
        if (!g) continue;
        memcpy(t, in, sizeof t);
        int n = tg_graph_num_ops(g);
        if (!p->opt) {
            t[i] = NULL;
            snprintf(what, sizeof what, "input %d NULL", i);
            expect_refused(r, g, call(r, g, t), n, what, true, false);
        }
        t[i] = foreign[i];
        snprintf(what, sizeof what, "input %d from another graph", i);
        int n_other = tg_graph_num_ops(other);
        expect_refused(r, g, call(r, g, t), n, what, false, true);
        ck_assert_msg(tg_graph_num_ops(other) == n_other && tg_graph_status(other) == TG_OK,
                      "%s, %s: changed the other graph", r->builder, what);
        if (p->any) continue;
        t[i] = tg_placeholder(g, p->bad, tg_tensor_shape(in[i]), "wrong_dtype");
        snprintf(what, sizeof what, "input %d of dtype %s", i, tg_dtype_name(p->bad));
        n = tg_graph_num_ops(g);
        expect_refused(r, g, call(r, g, t), n, what, false, false);
    }
    for (int k = 0; k < 3 && r->refuse[k]; k++) {
        cases++;
        if (!g) continue;
        snprintf(what, sizeof what, "bad call %d", k);
        int n = tg_graph_num_ops(g);
        ot_violation = NULL;
        void *res = r->refuse[k](g, in);
        expect_refused(r, g, res, n, what, false, false);
    }
    if (g) {
        make_inputs(g, r, in, NULL, 2);
        ck_assert_msg(call(r, g, in) != NULL, "%s after the sweep: %s", r->builder, tg_graph_message(g));
    }
    return cases;
}

/* ---- one test per row ---------------------------------------------------------- */

START_TEST(test_row)
{
    const ot_row *r = row_at(_i);
    if (r->build || r->unary || r->binary) check_build(r);
    if (r->tol > 0) check_gradient(r, 97u * (unsigned)_i);
    if (r->builder) {
        tg_graph *g = tg_graph_new(), *other = tg_graph_new();
        sweep(r, g, other);
        tg_graph_free(other);
        tg_graph_free(g);
    }
}
END_TEST

/* The figures, for the CI log. */
START_TEST(test_summary)
{
    int builders = 0, checked = 0, cases = 0, known = 0;
    for (int i = 0; i < OT_N_ROWS + OT_N_EXTRA; i++) {
        const ot_row *r = row_at(i);
        if (r->builder) builders++, cases += sweep(r, NULL, NULL);
        if (r->tol > 0) checked++;
        for (int k = 0; k < 2; k++) known += r->known[k].what != NULL;
    }
    printf("op table: %d op rows and %d composite builders; %d gradient checks; %d builders swept in %d cases; "
           "%d cases skipped for known defects\n",
           OT_N_ROWS, OT_N_EXTRA, checked, builders, cases, known);
}
END_TEST

static void quiet(tg_code code, const char *message, void *user) { (void)code, (void)message, (void)user; }

static Suite *op_table_suite(void)
{
    tg_set_log_callback(quiet, NULL); /* the sweep records hundreds of errors on purpose */
    Suite *s = suite_create("op_table");
    TCase *tc = tcase_create("op_table");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_loop_test(tc, test_row, 0, OT_N_ROWS + OT_N_EXTRA);
    tcase_add_test(tc, test_summary);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(op_table_suite)
