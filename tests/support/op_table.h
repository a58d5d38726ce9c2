/* op_table.h: one row per registered op type (src/ops/op_list.h): the
 * table test_op_table.c drives and test_registry.c holds the registry to.
 *
 * A row names the op's public builder and how to call it (an adapter, or
 * the unary/binary shorthand), its inputs (shape, dtype, the values the
 * gradient check feeds, the dtype the builder must refuse), bad calls the
 * builder must refuse, and its gradient: checked in float64 against finite
 * differences (tol > 0), or why not. An op without a builder of its own
 * (control-flow frames, gradient helpers) says why in `why` and, where the
 * public API makes it, builds it that way, so its type is seen in the graph
 * and the gradient through it is still checked.
 *
 * An adapter returns what the builder returned (tensor, op or variable),
 * NULL when it refused; a row whose gradient is checked returns the float64
 * tensor to differentiate. Everything is static: each test that includes
 * this stands alone. The short input macros (F, K, V, ...) stay defined for
 * test_op_table.c's table of composite builders. */
#ifndef TG_OP_TABLE_H
#define TG_OP_TABLE_H

#include "tg_check.h"

/* Inputs, then two spare tensors the sweep makes before its cases for the
 * bad calls that need a tensor of another shape: in[OT_ODD] a float64
 * (4,), in[OT_ODD + 1] a float64 scalar. */
enum { OT_MAX_IN = 10, OT_ODD = OT_MAX_IN, OT_N_SLOTS = OT_MAX_IN + 2 };

typedef enum ot_kind {
    OT_FEED,   /* a placeholder; the gradient check feeds the float64 ones and differentiates them */
    OT_CONST,  /* a Const of `values`, or of float64 values drawn in [lo, hi) */
    OT_VAR,    /* a variable's reference (tg_variable_new) */
    OT_DERIVED /* derive(g, in) from the inputs before it */
} ot_kind;

typedef tg_tensor *(*ot_derive_fn)(tg_graph *g, tg_tensor *const *in);
typedef void *(*ot_build_fn)(tg_graph *g, tg_tensor *const *in);
typedef tg_tensor *(*ot_unary_fn)(tg_graph *g, tg_tensor *x, const char *name);
typedef tg_tensor *(*ot_binary_fn)(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);

typedef struct ot_in {
    ot_kind kind;
    tg_dtype dtype;
    tg_shape shape;
    double lo, hi;
    const double *values;
    ot_derive_fn derive;
    unsigned unknown; /* OT_FEED: bit d declares dimension d unknown (-1); fed at its size */
    bool aux;         /* no argument of the builder (a derived input's source, a branch's capture) */
    bool opt;         /* NULL is a valid argument here (TF's None): no NULL case */
    bool any;         /* the builder takes every dtype here: no wrong-dtype case */
    tg_dtype bad;     /* otherwise a dtype the builder must refuse here */
} ot_in;

typedef enum ot_grad {
    OT_GRAD,     /* has a gradient function */
    OT_NOT_DIFF, /* TG__OPF_NOT_DIFFERENTIABLE: tg_gradients stops there */
    OT_NO_GRAD   /* neither, by design: `why` says what differentiates it instead */
} ot_grad;

/* A case that fails because of a defect in the library: `what` is a sweep
 * case ("input 0 NULL", "input 1 of dtype bool", "bad call 0") or
 * "gradient". The case still runs (a crash or a sanitizer report would
 * still fail); only its checks are skipped. Delete the entry with the fix. */
typedef struct ot_known {
    const char *what;
    const char *defect;
} ot_known;

typedef struct ot_row {
    const char *type;    /* TF op type; NULL for a composite builder */
    const char *builder; /* the public builder the sweep calls; NULL: the op has none */
    ot_build_fn build;
    ot_unary_fn unary;   /* build is unary(g, in[0], NULL) */
    ot_binary_fn binary; /* build is binary(g, in[0], in[1], NULL) */
    int n_in;
    ot_in in[OT_MAX_IN];
    ot_grad grad;
    double tol;            /* > 0: the gradient of build's result is checked */
    const char *why;       /* an op without a builder or gradient: why, and the test that covers it */
    const char *alias;     /* other names an error may give ("|" between): TF's default name, the object */
    ot_build_fn refuse[3]; /* further calls the builder must refuse (bad attributes, NULL arrays) */
    ot_known known[2];
} ot_row;

/* ---- row notation ------------------------------------------------------------ */

/* TG_SHAPE and TG_SCALAR for static initializers (those are compound
 * literals, which are not constant expressions). */
#define OT_S(...) {.rank = TG__SHAPE_COUNT(__VA_ARGS__), .dims = {__VA_ARGS__}}
#define OT_SCALAR {.rank = 0}
/* Float64 placeholders: F refuses bool, FA takes every dtype, FX refuses b,
 * FU declares dimensions unknown, OPT may be NULL, AUX is not an argument;
 * FB a bool one. Consts: K float64 values in [l, h) refusing bool, KA of any
 * dtype, C of dtype dt and the values given, refusing b. V a variable's
 * reference, D a tensor derived from the inputs before it. */
#define F(s, l, h) {.kind = OT_FEED, .dtype = TG_FLOAT64, .shape = s, .lo = l, .hi = h, .bad = TG_BOOL}
#define FA(s, l, h) {.kind = OT_FEED, .dtype = TG_FLOAT64, .shape = s, .lo = l, .hi = h, .any = true}
#define FX(s, l, h, b) {.kind = OT_FEED, .dtype = TG_FLOAT64, .shape = s, .lo = l, .hi = h, .bad = b}
#define FU(s, u, l, h) {.kind = OT_FEED, .dtype = TG_FLOAT64, .shape = s, .lo = l, .hi = h, .unknown = u, .any = true}
#define OPT(s, l, h) {.kind = OT_FEED, .dtype = TG_FLOAT64, .shape = s, .lo = l, .hi = h, .opt = true, .bad = TG_BOOL}
#define AUX(s, l, h) {.kind = OT_FEED, .dtype = TG_FLOAT64, .shape = s, .lo = l, .hi = h, .aux = true}
#define FB(s) {.kind = OT_FEED, .dtype = TG_BOOL, .shape = s, .bad = TG_FLOAT64}
#define K(s, l, h) {.kind = OT_CONST, .dtype = TG_FLOAT64, .shape = s, .lo = l, .hi = h, .bad = TG_BOOL}
#define KA(s, l, h) {.kind = OT_CONST, .dtype = TG_FLOAT64, .shape = s, .lo = l, .hi = h, .any = true}
#define C(dt, s, b, ...) {.kind = OT_CONST, .dtype = dt, .shape = s, .values = (const double[]){__VA_ARGS__}, .bad = b}
#define V(s) {.kind = OT_VAR, .dtype = TG_FLOAT64, .shape = s, .bad = TG_BOOL}
#define D(fn, b) {.kind = OT_DERIVED, .derive = fn, .bad = b}
#define IN(...) .n_in = (int)(sizeof((ot_in[]){__VA_ARGS__}) / sizeof(ot_in)), .in = {__VA_ARGS__}
#define UN(fn) .builder = #fn, .unary = fn
#define BIN(fn) .builder = #fn, .binary = fn
#define BLD(fn, adapter) .builder = #fn, .build = adapter
#define GC(t) .grad = OT_GRAD, .tol = t
#define ND .grad = OT_NOT_DIFF

/* A tg_code builder's result: its first output (read after the call, so
 * passed by address), or NULL when it refused. A broken contract (TG_OK
 * without outputs, an error with outputs) is noted in ot_violation for the
 * test to report, and reads as NULL. */
static const char *ot_violation;
static inline void *ot_code_result(tg_code rc, tg_tensor *const *out)
{
    if (rc == TG_OK && !*out) ot_violation = "returned TG_OK without an output";
    if (rc != TG_OK && *out) ot_violation = "returned an error code but set an output";
    return rc == TG_OK ? *out : NULL;
}

/* A one-call adapter. */
#define OT_FN(fn, ...)                                  \
    static void *fn(tg_graph *g, tg_tensor *const *in) \
    {                                                   \
        (void)in;                                       \
        return __VA_ARGS__;                             \
    }

/* ---- adapters: b_ builds, x_ is a bad call, v_ reaches an op through the
 * public API that makes it, d_ derives an input ---------------------------- */

/* graph and state */
OT_FN(b_placeholder, tg_placeholder(g, TG_FLOAT64, TG_SHAPE(2, 3), NULL))
OT_FN(x_placeholder_dtype, tg_placeholder(g, (tg_dtype)TG_DTYPE_COUNT, TG_SHAPE(2), NULL))
OT_FN(b_pwd, tg_placeholder_with_default(g, in[0], TG_SHAPE(2, 3), NULL))
OT_FN(x_pwd_shape, tg_placeholder_with_default(g, in[0], TG_SHAPE(4, 3), NULL))
OT_FN(b_const, tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), (double[]){1, 2}, NULL))
OT_FN(x_const_unknown, tg_constant_data(g, TG_FLOAT64, TG_SHAPE(-1), (double[]){1}, NULL))
OT_FN(x_const_null, tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), NULL, NULL))
OT_FN(b_no_op, tg_no_op(g, NULL))
OT_FN(b_assert, tg_assert(g, in[0], &in[1], 1, 3, NULL))
OT_FN(x_assert_count, tg_assert(g, in[0], &in[1], -1, 3, NULL))
OT_FN(x_assert_list, tg_assert(g, in[0], NULL, 1, 3, NULL))
OT_FN(b_check_numerics, tg_check_numerics(g, in[0], "x", NULL))
/* first_n 0: the gradient check runs the op hundreds of times */
static void *b_print(tg_graph *g, tg_tensor *const *in)
{
    TG_OPTS(tg_print_opts, o, .first_n = 0);
    return tg_print(g, in[0], &in[1], 1, &o);
}
OT_FN(x_print_count, tg_print(g, in[0], &in[1], -1, NULL))
OT_FN(x_print_list, tg_print(g, in[0], NULL, 1, NULL))
OT_FN(x_print_opts, tg_print(g, in[0], NULL, 0, &(tg_print_opts){.first_n = 1}))

/* tf.cond with a constant pred still builds Switch and Merge */
static int br_square(tg_graph *g, void *u, tg_tensor **outs, int n)
{
    (void)n;
    outs[0] = tg_square(g, *(tg_tensor **)u, NULL);
    return 1;
}
static int br_neg(tg_graph *g, void *u, tg_tensor **outs, int n)
{
    (void)n;
    outs[0] = tg_negative(g, *(tg_tensor **)u, NULL);
    return 1;
}
static void *v_cond(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *x = in[1], *out = NULL;
    return ot_code_result(tg_cond(g, in[0], br_square, br_neg, &x, &out, 1, NULL), &out);
}
static int br_assign(tg_graph *g, void *u, tg_tensor **outs, int n)
{
    tg_tensor *const *in = u;
    (void)n;
    outs[0] = tg_assign(g, in[0], in[1], NULL);
    return 1;
}
/* an assign in a branch takes the variable's reference through a RefSwitch */
static void *v_cond_ref(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *out = NULL, *pred = tg_constant_scalar(g, TG_BOOL, 1, NULL), *args[2] = {in[0], in[1]};
    return ot_code_result(tg_cond(g, pred, br_assign, br_assign, args, &out, 1, NULL), &out);
}

/* while i < 2: x = x * x, so the gradient loop pops x from a stack */
static tg_tensor *wl_cond(tg_graph *g, void *u, tg_tensor *const *v, int n)
{
    (void)u, (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_INT32, 2, NULL), NULL);
}
static int wl_body(tg_graph *g, void *u, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)u, (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    next[1] = tg_multiply(g, v[1], v[1], NULL);
    return 2;
}
static void *v_while(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, NULL), in[0]}, *out[2] = {NULL, NULL};
    return ot_code_result(tg_while_loop(g, wl_cond, wl_body, NULL, vars, 2, out, NULL), &out[1]);
}
static void *v_while_grad(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *y = v_while(g, in), *dx = NULL;
    tg_gradients(g, &y, 1, in, 1, &dx, NULL);
    return dx;
}
static int wl_ref_body(tg_graph *g, void *u, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    next[1] = tg_add(g, v[1], tg_assign_add(g, *(tg_tensor **)u, v[1], NULL), NULL);
    return 2;
}
/* a variable's reference used in a body enters the frame through RefEnter */
static void *v_while_ref(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *ref = in[0], *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, NULL), in[1]}, *out[2] = {NULL, NULL};
    return ot_code_result(tg_while_loop(g, wl_cond, wl_ref_body, &ref, vars, 2, out, NULL), &out[1]);
}

OT_FN(b_variable, tg_variable_new(g, "weights", TG_FLOAT64, TG_SHAPE(2), NULL))
OT_FN(x_variable_shape, tg_variable_new(g, "weights", TG_FLOAT64, TG_SHAPE(-1), NULL))
OT_FN(x_variable_dtype, tg_variable_new(g, "weights", (tg_dtype)TG_DTYPE_COUNT, TG_SHAPE(2), NULL))
OT_FN(x_variable_name, tg_variable_new(g, "bad name", TG_FLOAT64, TG_SHAPE(2), NULL))
OT_FN(b_assign, tg_assign(g, in[0], in[1], NULL))
OT_FN(b_assign_add, tg_assign_add(g, in[0], in[1], NULL))
OT_FN(b_assign_sub, tg_assign_sub(g, in[0], in[1], NULL))
OT_FN(x_assign_shape, tg_assign(g, in[0], in[OT_ODD], NULL))

/* fused optimizer updates */
OT_FN(b_apply_gd, tg_raw_ops_apply_gradient_descent(g, in[0], in[1], in[2], NULL))
OT_FN(x_apply_gd_shape, tg_raw_ops_apply_gradient_descent(g, in[0], in[1], in[OT_ODD], NULL))
OT_FN(b_apply_momentum, tg_raw_ops_apply_momentum(g, in[0], in[1], in[2], in[3], in[4], false, NULL))
OT_FN(b_apply_adam,
      tg_raw_ops_apply_adam(g, in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8], in[9], NULL))
OT_FN(b_apply_rms, tg_raw_ops_apply_rms_prop(g, in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], NULL))
OT_FN(b_apply_crms,
      tg_raw_ops_apply_centered_rms_prop(g, in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8], NULL))
OT_FN(b_apply_adagrad, tg_raw_ops_apply_adagrad(g, in[0], in[1], in[2], in[3], NULL))

/* random */
static void *b_random_uniform(tg_graph *g, tg_tensor *const *in)
{
    (void)in;
    TG_OPTS(tg_random_opts, o, .dtype = TG_FLOAT64);
    return tg_random_uniform(g, TG_SHAPE(2, 3), &o);
}
static void *x_random_dtype(tg_graph *g, tg_tensor *const *in)
{
    (void)in;
    TG_OPTS(tg_random_opts, o, .dtype = TG_INT32);
    return tg_random_uniform(g, TG_SHAPE(2), &o);
}
OT_FN(x_random_opts, tg_random_uniform(g, TG_SHAPE(2), &(tg_random_opts){.maxval = 1}))
OT_FN(b_random_normal, tg_random_normal(g, TG_SHAPE(2, 3), NULL))
OT_FN(x_random_shape, tg_random_normal(g, TG_SHAPE(-1), NULL))
OT_FN(b_truncated_normal, tg_truncated_normal(g, TG_SHAPE(2, 3), NULL))
OT_FN(x_truncated_shape, tg_truncated_normal(g, TG_SHAPE(-1, 2), NULL))

/* shapes; tg_gradients' helpers for shapes unknown at build time */
#define OT_AXIS1 (&(tg_reduce_opts){.axes = (const int[]){1}, .n_axes = 1})
#define OT_AXIS5 (&(tg_reduce_opts){.axes = (const int[]){5}, .n_axes = 1})
OT_FN(b_reshape, tg_reshape(g, in[0], TG_SHAPE(3, 2), NULL))
OT_FN(x_reshape_count, tg_reshape(g, in[0], TG_SHAPE(4), NULL))
OT_FN(v_broadcast_args, tg_reshape(g, tg_add(g, in[0], in[1], NULL), TG_SHAPE(2, 3), NULL))
OT_FN(v_reduced_shape, tg_reshape(g, tg_reduce_sum(g, in[0], OT_AXIS1), TG_SHAPE(2), NULL))

/* shape manipulation */
OT_FN(b_transpose, tg_transpose(g, in[0], (const int[]){1, 0}, 2, NULL))
OT_FN(x_transpose_perm, tg_transpose(g, in[0], (const int[]){0, 0}, 2, NULL))
OT_FN(x_transpose_count, tg_transpose(g, in[0], (const int[]){1, 0}, -1, NULL))
OT_FN(b_expand_dims, tg_expand_dims(g, in[0], 1, NULL))
OT_FN(x_expand_dims_axis, tg_expand_dims(g, in[0], 5, NULL))
OT_FN(b_squeeze, tg_squeeze(g, in[0], (const int[]){1}, 1, NULL))
OT_FN(x_squeeze_axis, tg_squeeze(g, in[0], (const int[]){0}, 1, NULL))
OT_FN(x_squeeze_list, tg_squeeze(g, in[0], NULL, 1, NULL))
OT_FN(b_concat, tg_concat(g, in, 2, 1, NULL))
OT_FN(x_concat_list, tg_concat(g, NULL, 2, 1, NULL))
OT_FN(x_concat_count, tg_concat(g, in, 0, 1, NULL))
OT_FN(x_concat_axis, tg_concat(g, in, 2, 5, NULL))
OT_FN(v_concat_offset, tg_reshape(g, tg_concat(g, in, 2, 1, NULL), TG_SHAPE(2, 5), NULL))
/* the pieces joined swapped, so a mix-up of their gradients shows */
static void *b_split(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *out[2] = {NULL, NULL};
    if (!ot_code_result(tg_split(g, in[0], 2, 1, out, NULL), &out[0])) return NULL;
    return tg_concat(g, (tg_tensor *[]){out[1], out[0]}, 2, 1, NULL);
}
static void *x_split_count(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *out[3] = {NULL, NULL, NULL};
    return ot_code_result(tg_split(g, in[0], 3, 1, out, NULL), &out[0]);
}
OT_FN(x_split_outputs, tg_split(g, in[0], 2, 1, NULL, NULL) == TG_OK ? in[0] : NULL)
OT_FN(b_stack, tg_stack(g, in, 2, 0, NULL))
OT_FN(x_stack_list, tg_stack(g, NULL, 2, 0, NULL))
OT_FN(x_stack_axis, tg_stack(g, in, 2, 5, NULL))
static void *b_unstack(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *out[2] = {NULL, NULL};
    if (!ot_code_result(tg_unstack(g, in[0], 2, 0, out, NULL), &out[0])) return NULL;
    return tg_stack(g, (tg_tensor *[]){out[1], out[0]}, 2, 0, NULL);
}
static void *x_unstack_num(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *out[3] = {NULL, NULL, NULL};
    return ot_code_result(tg_unstack(g, in[0], 3, 0, out, NULL), &out[0]);
}
OT_FN(x_unstack_outputs, tg_unstack(g, in[0], 2, 0, NULL, NULL) == TG_OK ? in[0] : NULL)
OT_FN(b_slice, tg_slice(g, in[0], (const int64_t[]){0, 1}, (const int64_t[]){2, 2}, 2, NULL))
OT_FN(x_slice_begin, tg_slice(g, in[0], (const int64_t[]){0, 5}, (const int64_t[]){2, 2}, 2, NULL))
OT_FN(x_slice_null, tg_slice(g, in[0], NULL, NULL, 2, NULL))
OT_FN(b_pad, tg_pad(g, in[0], (const int64_t[][2]){{1, 0}, {0, 2}}, 2, NULL))
OT_FN(x_pad_negative, tg_pad(g, in[0], (const int64_t[][2]){{-1, 0}, {0, 2}}, 2, NULL))
OT_FN(x_pad_null, tg_pad(g, in[0], NULL, 2, NULL))
OT_FN(b_tile, tg_tile(g, in[0], (const int64_t[]){2, 1}, 2, NULL))
OT_FN(x_tile_negative, tg_tile(g, in[0], (const int64_t[]){-1, 1}, 2, NULL))
OT_FN(x_tile_null, tg_tile(g, in[0], NULL, 2, NULL))

/* elementwise math */
OT_FN(x_add_shapes, tg_add(g, in[0], in[OT_ODD], NULL))
OT_FN(b_cast, tg_cast(g, in[0], TG_FLOAT64, NULL))
OT_FN(x_cast_dtype, tg_cast(g, in[0], (tg_dtype)TG_DTYPE_COUNT, NULL))
OT_FN(b_where, tg_where(g, in[0], in[1], in[2], NULL))
OT_FN(x_where_shape, tg_where(g, in[0], in[1], in[OT_ODD], NULL))
OT_FN(b_add_n, tg_add_n(g, in, 3, NULL))
OT_FN(x_add_n_list, tg_add_n(g, NULL, 3, NULL))
OT_FN(x_add_n_count, tg_add_n(g, in, 0, NULL))

/* reductions and matmul */
OT_FN(b_sum, tg_reduce_sum(g, in[0], OT_AXIS1))
OT_FN(x_sum_axis, tg_reduce_sum(g, in[0], OT_AXIS5))
OT_FN(x_sum_twice, tg_reduce_sum(g, in[0], &(tg_reduce_opts){.axes = (const int[]){1, 1}, .n_axes = 2}))
OT_FN(x_sum_no_list, tg_reduce_sum(g, in[0], &(tg_reduce_opts){.n_axes = 1}))
OT_FN(b_mean, tg_reduce_mean(g, in[0], OT_AXIS1))
OT_FN(x_mean_axis, tg_reduce_mean(g, in[0], OT_AXIS5))
OT_FN(b_max, tg_reduce_max(g, in[0], OT_AXIS1))
OT_FN(x_max_axis, tg_reduce_max(g, in[0], OT_AXIS5))
OT_FN(b_min, tg_reduce_min(g, in[0], OT_AXIS1))
OT_FN(x_min_axis, tg_reduce_min(g, in[0], OT_AXIS5))
OT_FN(b_prod, tg_reduce_prod(g, in[0], OT_AXIS1))
OT_FN(x_prod_axis, tg_reduce_prod(g, in[0], OT_AXIS5))
static void *v_prod_grad(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *y = tg_reduce_prod(g, in[0], OT_AXIS1), *dx = NULL;
    tg_gradients(g, &y, 1, in, 1, &dx, NULL);
    return dx;
}
OT_FN(b_argmax, tg_argmax(g, in[0], 1, NULL))
OT_FN(x_argmax_axis, tg_argmax(g, in[0], 5, NULL))
OT_FN(b_argmin, tg_argmin(g, in[0], 1, NULL))
OT_FN(x_argmin_axis, tg_argmin(g, in[0], -5, NULL))
OT_FN(b_matmul, tg_matmul(g, in[0], in[1], NULL))
OT_FN(x_matmul_inner, tg_matmul(g, in[0], in[1], &(tg_matmul_opts){.transpose_b = true}))
OT_FN(x_matmul_rank, tg_matmul(g, in[0], in[OT_ODD], NULL))

/* convolution and pooling */
#define OT_CONV (&(tg_conv2d_opts){.padding = TG_PADDING_VALID})
#define OT_CONV_BATCH_STRIDE (&(tg_conv2d_opts){.padding = TG_PADDING_VALID, .strides = {2, 1, 1, 1}})
#define OT_POOL (&(tg_pool_opts){.ksize = {1, 2, 2, 1}, .strides = {1, 2, 2, 1}, .padding = TG_PADDING_VALID})
#define OT_POOL_BATCH (&(tg_pool_opts){.ksize = {2, 2, 2, 1}, .padding = TG_PADDING_VALID})
OT_FN(b_conv2d, tg_nn_conv2d(g, in[0], in[1], OT_CONV))
OT_FN(x_conv2d_opts, tg_nn_conv2d(g, in[0], in[1], NULL))
OT_FN(x_conv2d_depth, tg_nn_conv2d(g, in[1], in[0], OT_CONV))
OT_FN(x_conv2d_strides, tg_nn_conv2d(g, in[0], in[1], OT_CONV_BATCH_STRIDE))
OT_FN(b_conv2d_bi, tg_nn_conv2d_backprop_input(g, in[0], in[1], in[2], OT_CONV))
OT_FN(x_conv2d_bi_opts, tg_nn_conv2d_backprop_input(g, in[0], in[1], in[2], NULL))
OT_FN(x_conv2d_bi_size, tg_nn_conv2d_backprop_input(g, in[0], in[1], in[1], OT_CONV))
OT_FN(b_conv2d_bf, tg_nn_conv2d_backprop_filter(g, in[0], in[1], in[2], OT_CONV))
OT_FN(x_conv2d_bf_opts, tg_nn_conv2d_backprop_filter(g, in[0], in[1], in[2], NULL))
OT_FN(x_conv2d_bf_size, tg_nn_conv2d_backprop_filter(g, in[0], in[1], in[0], OT_CONV))
OT_FN(b_bias_add, tg_nn_bias_add(g, in[0], in[1], TG_NHWC, NULL))
OT_FN(x_bias_add_format, tg_nn_bias_add(g, in[0], in[1], TG_DATA_FORMAT_INVALID, NULL))
OT_FN(x_bias_add_length, tg_nn_bias_add(g, in[0], in[0], TG_NHWC, NULL))
OT_FN(b_bias_add_grad, tg_nn_bias_add_grad(g, in[0], TG_NHWC, NULL))
OT_FN(x_bias_add_grad_format, tg_nn_bias_add_grad(g, in[0], (tg_data_format)7, NULL))
OT_FN(b_max_pool, tg_nn_max_pool(g, in[0], OT_POOL))
OT_FN(x_max_pool_opts, tg_nn_max_pool(g, in[0], NULL))
OT_FN(x_max_pool_batch, tg_nn_max_pool(g, in[0], OT_POOL_BATCH))
OT_FN(b_avg_pool, tg_nn_avg_pool(g, in[0], OT_POOL))
OT_FN(x_avg_pool_opts, tg_nn_avg_pool(g, in[0], NULL))
OT_FN(x_avg_pool_batch, tg_nn_avg_pool(g, in[0], OT_POOL_BATCH))
static tg_tensor *d_max_pool(tg_graph *g, tg_tensor *const *in) { return tg_nn_max_pool(g, in[0], OT_POOL); }
OT_FN(b_max_pool_grad, tg_nn_max_pool_grad(g, in[0], in[1], in[2], OT_POOL))
OT_FN(x_max_pool_grad_opts, tg_nn_max_pool_grad(g, in[0], in[1], in[2], NULL))
OT_FN(x_max_pool_grad_shape, tg_nn_max_pool_grad(g, in[0], in[1], in[0], OT_POOL))
OT_FN(b_avg_pool_grad, tg_nn_avg_pool_grad(g, in[0], in[1], OT_POOL))
OT_FN(x_avg_pool_grad_opts, tg_nn_avg_pool_grad(g, in[0], in[1], NULL))
OT_FN(b_max_pool_gg, tg_nn_max_pool_grad_grad(g, in[0], in[1], in[2], OT_POOL))
OT_FN(x_max_pool_gg_opts, tg_nn_max_pool_grad_grad(g, in[0], in[1], in[2], NULL))
OT_FN(x_max_pool_gg_shape, tg_nn_max_pool_grad_grad(g, in[0], in[1], in[1], OT_POOL))

/* batch normalization: y of tf.nn.fused_batch_norm(x, scale, offset, mean,
 * variance, opts) */
static void *fused_bn(tg_graph *g, tg_tensor *const *xso, tg_tensor *mean, tg_tensor *var,
                      const tg_fused_batch_norm_opts *opts)
{
    tg_tensor *y = NULL;
    return ot_code_result(tg_nn_fused_batch_norm(g, xso[0], xso[1], xso[2], mean, var, opts, &y, NULL, NULL), &y);
}
OT_FN(b_fused_bn, fused_bn(g, in, NULL, NULL, NULL))
OT_FN(x_fused_bn_mean, fused_bn(g, in, in[1], in[2], NULL))
OT_FN(x_fused_bn_rank, fused_bn(g, (tg_tensor *[]){in[1], in[1], in[2]}, NULL, NULL, NULL))
OT_FN(x_fused_bn_opts, fused_bn(g, in, NULL, NULL, &(tg_fused_batch_norm_opts){.epsilon = 1}))
/* every output of the gradient op in one float64 vector */
static void *v_fused_bn_grad(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *y = fused_bn(g, in, NULL, NULL, NULL), *d[3] = {NULL, NULL, NULL};
    tg_gradients(g, &y, 1, in, 3, d, &(tg_gradients_opts){.grad_ys = &in[3]});
    tg_tensor *flat[3] = {tg_reshape(g, d[0], TG_SHAPE(8), NULL), d[1], d[2]};
    return tg_concat(g, flat, 3, 0, NULL);
}
OT_FN(b_bn_global, tg_nn_batch_norm_with_global_normalization(g, in[0], in[1], in[2], in[3], in[4], 1e-3, true, NULL))
/* any rank is accepted (TF 1.15 composes batch_normalization); a mean of 4
 * entries for 2 channels is not */
OT_FN(x_bn_global_channels,
      tg_nn_batch_norm_with_global_normalization(g, in[0], in[OT_ODD], in[2], in[3], in[4], 1e-3, true, NULL))

/* nn */
static void *v_relu_grad(tg_graph *g, tg_tensor *const *in)
{
    tg_tensor *y = tg_nn_relu(g, in[0], NULL), *dx = NULL;
    tg_gradients(g, &y, 1, in, 1, &dx, &(tg_gradients_opts){.grad_ys = &in[1]});
    return dx;
}
OT_FN(b_leaky_relu, tg_nn_leaky_relu(g, in[0], 0.3, NULL))
OT_FN(x_softmax_rank, tg_nn_softmax(g, in[OT_ODD + 1], NULL))
static tg_tensor *d_softmax(tg_graph *g, tg_tensor *const *in) { return tg_nn_softmax(g, in[0], NULL); }
OT_FN(b_xent, tg_nn_softmax_cross_entropy_with_logits_v2(g, in[1], in[2], NULL))
OT_FN(x_xent_shape, tg_nn_softmax_cross_entropy_with_logits_v2(g, in[1], in[OT_ODD], NULL))
OT_FN(b_sparse_xent, tg_nn_sparse_softmax_cross_entropy_with_logits(g, in[0], in[1], NULL))
OT_FN(x_sparse_xent_rank, tg_nn_sparse_softmax_cross_entropy_with_logits(g, in[1], in[1], NULL))

/* issue 15: one_hot, gather, unsorted_segment_sum, top_k, in_top_k */
OT_FN(b_one_hot, tg_one_hot(g, in[0], 3, 1, 0, -1, TG_FLOAT64, NULL))
OT_FN(x_one_hot_depth, tg_one_hot(g, in[0], -1, 1, 0, -1, TG_FLOAT64, NULL))
OT_FN(x_one_hot_axis, tg_one_hot(g, in[0], 3, 1, 0, 3, TG_FLOAT64, NULL))
OT_FN(x_one_hot_dtype, tg_one_hot(g, in[0], 3, 1, 0, -1, (tg_dtype)TG_DTYPE_COUNT, NULL))
OT_FN(b_gather, tg_gather(g, in[0], in[1], 0, NULL))
OT_FN(x_gather_axis, tg_gather(g, in[0], in[1], 2, NULL))
OT_FN(x_gather_scalar, tg_gather(g, in[OT_ODD + 1], in[1], 0, NULL))
OT_FN(b_segment_sum, tg_unsorted_segment_sum(g, in[0], in[1], 3, NULL))
OT_FN(x_segment_num, tg_unsorted_segment_sum(g, in[0], in[1], -1, NULL))
OT_FN(x_segment_shape, tg_unsorted_segment_sum(g, in[OT_ODD + 1], in[1], 3, NULL))
static void *top_k(tg_graph *g, tg_tensor *x, int k, bool want_values)
{
    tg_tensor *v = NULL;
    return ot_code_result(tg_nn_top_k(g, x, k, true, want_values ? &v : NULL, NULL, NULL), &v);
}
OT_FN(b_top_k, top_k(g, in[0], 2, true))
OT_FN(x_top_k_k, top_k(g, in[0], 5, true))
OT_FN(x_top_k_negative, top_k(g, in[0], -1, true))
OT_FN(x_top_k_outputs, top_k(g, in[0], 2, false))
OT_FN(b_in_top_k, tg_nn_in_top_k(g, in[0], in[1], 1, NULL))
OT_FN(x_in_top_k_dtype, tg_nn_in_top_k(g, in[OT_ODD], in[1], 1, NULL))
OT_FN(x_in_top_k_rank, tg_nn_in_top_k(g, in[0], in[0], 1, NULL))

/* ---- the rows ------------------------------------------------------------------ */

#define OT_FEEDS_23 IN(F(OT_S(2, 3), -1, 1), F(OT_S(3), -1, 1))
#define OT_BOOLS_23 IN(FB(OT_S(2, 3)), FB(OT_S(3)))
#define OT_I4(v0, v1, v2, v3) C(TG_INT32, OT_S(4), TG_FLOAT64, v0, v1, v2, v3)
#define OT_PRED(v) C(TG_BOOL, OT_SCALAR, TG_FLOAT64, v)
/* 4-D float inputs that must refuse int32 (their kernels are float only) */
#define OT_F4(a, b, c, d) FX(OT_S(a, b, c, d), -1, 1, TG_INT32)
/* Why the ops without a builder of their own have none (nor has TF's
 * Python API), and which test covers them. */
#define OT_COND "made by tg_cond and tg_while_loop only; test_cond covers them"
#define OT_LOOP "made by tg_while_loop only; test_while covers the frames"
#define OT_STACK "the gradient of a while loop keeps forward values on a stack (TF's GradLoopState); test_while"
#define OT_FRAME_GRAD \
    "; no gradient of its own: tg_gradients differentiates a loop's frame as a whole, checked in the Exit row"
#define OT_HELPER(what) "tg_gradients' helper for " what " unknown at build time, built here that way"

static const ot_row OT_ROWS[] = {
    /* graph and state */
    {"Placeholder", BLD(tg_placeholder, b_placeholder), ND, .refuse = {x_placeholder_dtype}},
    {"PlaceholderWithDefault", BLD(tg_placeholder_with_default, b_pwd), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6),
     .refuse = {x_pwd_shape}},
    {"Const", BLD(tg_constant_data, b_const), ND, .refuse = {x_const_unknown, x_const_null}},
    {"Identity", UN(tg_identity), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6)},
    {"NoOp", BLD(tg_no_op, b_no_op), ND},
    {"Assert", BLD(tg_assert, b_assert), IN(OT_PRED(1), FA(OT_S(2), -1, 1)), ND,
     .refuse = {x_assert_count, x_assert_list}},
    {"Print", BLD(tg_print, b_print), IN(FA(OT_S(2, 3), -1, 1), KA(OT_S(2), -1, 1)), GC(1e-6),
     .refuse = {x_print_count, x_print_list, x_print_opts}},
    {"CheckNumerics", BLD(tg_check_numerics, b_check_numerics), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6)},
    {"Switch", .build = v_cond, IN(OT_PRED(1), F(OT_S(2, 3), -1, 1)), GC(1e-6), .why = OT_COND},
    {"RefSwitch", .build = v_cond_ref, IN(V(OT_S(3)), F(OT_S(3), -1, 1)), ND,
     .why = "a variable's reference crossing into a tg_cond branch (an assign there); test_cond covers it"},
    {"Merge", .build = v_cond, IN(OT_PRED(0), F(OT_S(2, 3), -1, 1)), GC(1e-6), .why = OT_COND},
    {"Enter", .build = v_while, IN(F(OT_S(2), 0.5, 1.5)), .grad = OT_NO_GRAD, .why = OT_LOOP OT_FRAME_GRAD},
    {"RefEnter", .build = v_while_ref, IN(V(OT_S(2)), F(OT_S(2), -1, 1)), ND,
     .why = "a variable's reference used in a tg_while_loop body; test_while covers it"},
    {"Exit", .build = v_while, IN(F(OT_S(2), 0.5, 1.5)), .grad = OT_NO_GRAD, .tol = 1e-6,
     .why = OT_LOOP "; no gradient of its own: tg_gradients differentiates a loop's frame as a whole, checked "
                    "here through the loop"},
    {"LoopCond", .build = v_while, IN(F(OT_S(2), 0.5, 1.5)), ND, .why = OT_LOOP},
    {"NextIteration", .build = v_while, IN(F(OT_S(2), 0.5, 1.5)), .grad = OT_NO_GRAD, .why = OT_LOOP OT_FRAME_GRAD},
    {"StackV2", .build = v_while_grad, IN(F(OT_S(2), 0.5, 1.5)), ND, .why = OT_STACK},
    {"StackPushV2", .build = v_while_grad, IN(F(OT_S(2), 0.5, 1.5)), ND, .why = OT_STACK},
    {"StackPopV2", .build = v_while_grad, IN(F(OT_S(2), 0.5, 1.5)), ND, .why = OT_STACK},
    {"VariableV2", BLD(tg_variable_new, b_variable), ND, .alias = "weights|Variable",
     .refuse = {x_variable_shape, x_variable_dtype, x_variable_name}},
    {"Assign", BLD(tg_assign, b_assign), IN(V(OT_S(3)), F(OT_S(3), -1, 1)), ND, .refuse = {x_assign_shape}},
    {"AssignAdd", BLD(tg_assign_add, b_assign_add), IN(V(OT_S(3)), F(OT_S(3), -1, 1)), ND},
    {"AssignSub", BLD(tg_assign_sub, b_assign_sub), IN(V(OT_S(3)), F(OT_S(3), -1, 1)), ND},
    {"StopGradient", UN(tg_stop_gradient), IN(FA(OT_S(2, 3), -1, 1)), ND},
    {"ZerosLike", UN(tg_zeros_like), IN(FA(OT_S(2, 3), -1, 1)), ND},
    {"OnesLike", UN(tg_ones_like), IN(FA(OT_S(2, 3), -1, 1)), ND},
    /* fused optimizer updates: variables, scalar hyper-parameters, the gradient */
    {"ApplyGradientDescent", BLD(tg_raw_ops_apply_gradient_descent, b_apply_gd),
     IN(V(OT_S(3)), F(OT_SCALAR, 0, 1), F(OT_S(3), -1, 1)), ND, .refuse = {x_apply_gd_shape}},
    {"ApplyMomentum", BLD(tg_raw_ops_apply_momentum, b_apply_momentum),
     IN(V(OT_S(3)), V(OT_S(3)), F(OT_SCALAR, 0, 1), F(OT_S(3), -1, 1), F(OT_SCALAR, 0, 1)), ND},
    {"ApplyAdam", BLD(tg_raw_ops_apply_adam, b_apply_adam),
     IN(V(OT_S(3)), V(OT_S(3)), V(OT_S(3)), F(OT_SCALAR, 0, 1), F(OT_SCALAR, 0, 1), F(OT_SCALAR, 0, 1),
        F(OT_SCALAR, 0, 1), F(OT_SCALAR, 0, 1), F(OT_SCALAR, 0, 1), F(OT_S(3), -1, 1)),
     ND},
    {"ApplyRMSProp", BLD(tg_raw_ops_apply_rms_prop, b_apply_rms),
     IN(V(OT_S(3)), V(OT_S(3)), V(OT_S(3)), F(OT_SCALAR, 0, 1), F(OT_SCALAR, 0, 1), F(OT_SCALAR, 0, 1),
        F(OT_SCALAR, 0, 1), F(OT_S(3), -1, 1)),
     ND},
    {"ApplyCenteredRMSProp", BLD(tg_raw_ops_apply_centered_rms_prop, b_apply_crms),
     IN(V(OT_S(3)), V(OT_S(3)), V(OT_S(3)), V(OT_S(3)), F(OT_SCALAR, 0, 1), F(OT_SCALAR, 0, 1),
        F(OT_SCALAR, 0, 1), F(OT_SCALAR, 0, 1), F(OT_S(3), -1, 1)),
     ND},
    {"ApplyAdagrad", BLD(tg_raw_ops_apply_adagrad, b_apply_adagrad),
     IN(V(OT_S(3)), V(OT_S(3)), F(OT_SCALAR, 0, 1), F(OT_S(3), -1, 1)), ND},
    /* random */
    {"RandomUniform", BLD(tg_random_uniform, b_random_uniform), ND, .alias = "random_uniform",
     .refuse = {x_random_dtype, x_random_opts}},
    {"RandomStandardNormal", BLD(tg_random_normal, b_random_normal), ND, .alias = "random_normal",
     .refuse = {x_random_shape}},
    {"TruncatedNormal", BLD(tg_truncated_normal, b_truncated_normal), ND, .alias = "truncated_normal",
     .refuse = {x_truncated_shape}},
    /* shapes */
    {"Shape", UN(tg_shape_of), IN(FA(OT_S(2, 3), -1, 1)), ND},
    {"Size", UN(tg_size), IN(FA(OT_S(2, 3), -1, 1)), ND},
    {"Rank", UN(tg_rank), IN(FA(OT_S(2, 3), -1, 1)), ND},
    {"Reshape", BLD(tg_reshape, b_reshape), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6), .refuse = {x_reshape_count}},
    {"BroadcastGradientArgs", .build = v_broadcast_args, IN(FU(OT_S(2, 3), 1u, -1, 1), F(OT_S(3), -1, 1)), ND,
     .tol = 1e-6, .why = OT_HELPER("broadcasting shapes (Add's gradient)")},
    {"ReducedShape", .build = v_reduced_shape, IN(FU(OT_S(2, 3), 1u, -1, 1)), ND, .tol = 1e-6,
     .why = OT_HELPER("a reduction of a shape (Sum's gradient)")},
    /* shape manipulation */
    {"Transpose", BLD(tg_transpose, b_transpose), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6), .alias = "transpose",
     .refuse = {x_transpose_perm, x_transpose_count}},
    {"ExpandDims", BLD(tg_expand_dims, b_expand_dims), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6),
     .refuse = {x_expand_dims_axis}},
    {"Squeeze", BLD(tg_squeeze, b_squeeze), IN(FA(OT_S(2, 1, 3), -1, 1)), GC(1e-6),
     .refuse = {x_squeeze_axis, x_squeeze_list}},
    {"ConcatV2", BLD(tg_concat, b_concat), IN(FA(OT_S(2, 3), -1, 1), FA(OT_S(2, 2), -1, 1)), GC(1e-6),
     .alias = "concat", .refuse = {x_concat_list, x_concat_count, x_concat_axis}},
    {"ConcatOffset", .build = v_concat_offset, IN(FU(OT_S(2, 3), 2u, -1, 1), F(OT_S(2, 2), -1, 1)), ND, .tol = 1e-6,
     .why = OT_HELPER("sizes of a concat (ConcatV2's gradient)")},
    {"Split", BLD(tg_split, b_split), IN(FA(OT_S(2, 4), -1, 1)), GC(1e-6), .alias = "split",
     .refuse = {x_split_count, x_split_outputs}},
    {"Pack", BLD(tg_stack, b_stack), IN(FA(OT_S(2, 3), -1, 1), FA(OT_S(2, 3), -1, 1)), GC(1e-6), .alias = "stack",
     .refuse = {x_stack_list, x_stack_axis}},
    {"Unpack", BLD(tg_unstack, b_unstack), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6), .alias = "unstack",
     .refuse = {x_unstack_num, x_unstack_outputs}},
    {"Slice", BLD(tg_slice, b_slice), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6), .refuse = {x_slice_begin, x_slice_null}},
    {"Pad", BLD(tg_pad, b_pad), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6), .refuse = {x_pad_negative, x_pad_null}},
    {"Tile", BLD(tg_tile, b_tile), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6), .refuse = {x_tile_negative, x_tile_null}},
    /* indices with one out of range (-1): a row of off_value */
    {"OneHot", BLD(tg_one_hot, b_one_hot), IN(C(TG_INT32, OT_S(2, 2), TG_FLOAT64, 0, 2, -1, 1)), ND,
     .alias = "one_hot", .refuse = {x_one_hot_depth, x_one_hot_axis, x_one_hot_dtype}},
    /* index 2 twice, so the gradient sums repeated rows */
    {"GatherV2", BLD(tg_gather, b_gather), IN(FA(OT_S(3, 2), -1, 1), C(TG_INT32, OT_S(2, 2), TG_FLOAT64, 2, 0, 2, 1)),
     GC(1e-6), .refuse = {x_gather_axis, x_gather_scalar}},
    /* a negative id drops its row; segment 1 gets two rows */
    {"UnsortedSegmentSum", BLD(tg_unsorted_segment_sum, b_segment_sum),
     IN(F(OT_S(4, 2), -1, 1), C(TG_INT32, OT_S(4), TG_FLOAT64, 1, 0, -1, 1)), GC(1e-6),
     .refuse = {x_segment_num, x_segment_shape}},
    /* elementwise math; values kept off the kinks of max, min, abs and sign */
    {"Add", BIN(tg_add), OT_FEEDS_23, GC(1e-6), .refuse = {x_add_shapes}},
    {"Sub", BIN(tg_subtract), OT_FEEDS_23, GC(1e-6)},
    {"Mul", BIN(tg_multiply), OT_FEEDS_23, GC(1e-6)},
    {"RealDiv", BIN(tg_divide), IN(F(OT_S(2, 3), 0.5, 2), FX(OT_S(3), 0.5, 2, TG_INT32)), GC(1e-6)},
    {"DivNoNan", BIN(tg_div_no_nan), IN(F(OT_S(2, 3), 0.5, 2), FX(OT_S(3), 0.5, 2, TG_INT32)), GC(1e-6)},
    {"Maximum", BIN(tg_maximum), OT_FEEDS_23, GC(1e-6)},
    {"Minimum", BIN(tg_minimum), OT_FEEDS_23, GC(1e-6)},
    {"Pow", BIN(tg_pow), IN(F(OT_S(2, 3), 0.5, 2), FX(OT_S(3), 0.5, 2, TG_INT32)), GC(1e-6)},
    {"SquaredDifference", BIN(tg_squared_difference), OT_FEEDS_23, GC(1e-6)},
    {"Neg", UN(tg_negative), IN(F(OT_S(2, 3), -2, 2)), GC(1e-6)},
    {"Square", UN(tg_square), IN(F(OT_S(2, 3), -2, 2)), GC(1e-6)},
    {"Sqrt", UN(tg_sqrt), IN(FX(OT_S(2, 3), 0.5, 3, TG_INT32)), GC(1e-6)},
    {"Rsqrt", UN(tg_rsqrt), IN(FX(OT_S(2, 3), 0.5, 3, TG_INT32)), GC(1e-6)},
    {"Exp", UN(tg_exp), IN(FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6)},
    {"Log", UN(tg_log), IN(FX(OT_S(2, 3), 0.5, 3, TG_INT32)), GC(1e-6)},
    {"Cos", UN(tg_cos), IN(FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6)},
    {"Sin", UN(tg_sin), IN(FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6)},
    {"Abs", UN(tg_abs), IN(F(OT_S(2, 3), -2, 2)), GC(1e-6)},
    {"Sign", UN(tg_sign), IN(F(OT_S(2, 3), -2, 2)), GC(1e-6)},
    {"Cast", BLD(tg_cast, b_cast), IN(FA(OT_S(2, 3), -1, 1)), GC(1e-6), .refuse = {x_cast_dtype}},
    {"Select", BLD(tg_where, b_where),
     IN(C(TG_BOOL, OT_S(2, 3), TG_FLOAT64, 1, 0, 0, 1, 1, 0), F(OT_S(2, 3), -1, 1), F(OT_S(2, 3), -1, 1)), GC(1e-6),
     .refuse = {x_where_shape}},
    {"AddN", BLD(tg_add_n, b_add_n), IN(F(OT_S(2, 3), -1, 1), F(OT_S(2, 3), -1, 1), F(OT_S(2, 3), -1, 1)),
     GC(1e-6), .refuse = {x_add_n_list, x_add_n_count}},
    {"Equal", BIN(tg_equal), OT_FEEDS_23, ND},
    {"NotEqual", BIN(tg_not_equal), OT_FEEDS_23, ND},
    {"Less", BIN(tg_less), OT_FEEDS_23, ND},
    {"LessEqual", BIN(tg_less_equal), OT_FEEDS_23, ND},
    {"Greater", BIN(tg_greater), OT_FEEDS_23, ND},
    {"GreaterEqual", BIN(tg_greater_equal), OT_FEEDS_23, ND},
    {"LogicalAnd", BIN(tg_logical_and), OT_BOOLS_23, ND},
    {"LogicalOr", BIN(tg_logical_or), OT_BOOLS_23, ND},
    {"LogicalNot", UN(tg_logical_not), IN(FB(OT_S(2, 3))), ND},
    /* reductions and matmul */
    {"Sum", BLD(tg_reduce_sum, b_sum), IN(F(OT_S(2, 3), -1, 1)), GC(1e-6),
     .refuse = {x_sum_axis, x_sum_twice, x_sum_no_list}},
    {"Mean", BLD(tg_reduce_mean, b_mean), IN(F(OT_S(2, 3), -1, 1)), GC(1e-6), .refuse = {x_mean_axis}},
    {"Max", BLD(tg_reduce_max, b_max), IN(F(OT_S(2, 3), -1, 1)), GC(1e-6), .refuse = {x_max_axis}},
    {"Min", BLD(tg_reduce_min, b_min), IN(F(OT_S(2, 3), -1, 1)), GC(1e-6), .refuse = {x_min_axis}},
    {"Prod", BLD(tg_reduce_prod, b_prod), IN(F(OT_S(2, 3), 0.5, 1.5)), GC(1e-6), .refuse = {x_prod_axis}},
    {"ProdOthers", .build = v_prod_grad, IN(F(OT_S(2, 3), 0.5, 1.5)), .grad = OT_NO_GRAD,
     .why = "part of Prod's gradient (exact with zeros), made by tg_gradients; differentiating it again reports "
            "the missing gradient"},
    {"ArgMax", BLD(tg_argmax, b_argmax), IN(F(OT_S(2, 3), -1, 1)), ND, .refuse = {x_argmax_axis}},
    {"ArgMin", BLD(tg_argmin, b_argmin), IN(F(OT_S(2, 3), -1, 1)), ND, .refuse = {x_argmin_axis}},
    {"MatMul", BLD(tg_matmul, b_matmul), IN(FX(OT_S(2, 3), -1, 1, TG_INT32), FX(OT_S(3, 2), -1, 1, TG_INT32)),
     GC(1e-6), .refuse = {x_matmul_inner, x_matmul_rank}},
    /* convolution and pooling: VALID, no stride (conv) and 2x2 windows of stride 2 (pool) */
    {"Conv2D", BLD(tg_nn_conv2d, b_conv2d), IN(OT_F4(1, 3, 3, 2), OT_F4(2, 2, 2, 2)), GC(1e-6),
     .refuse = {x_conv2d_opts, x_conv2d_depth, x_conv2d_strides}},
    {"Conv2DBackpropInput", BLD(tg_nn_conv2d_backprop_input, b_conv2d_bi),
     IN(OT_I4(1, 3, 3, 2), OT_F4(2, 2, 2, 2), OT_F4(1, 2, 2, 2)), GC(1e-6),
     .refuse = {x_conv2d_bi_opts, x_conv2d_bi_size}},
    {"Conv2DBackpropFilter", BLD(tg_nn_conv2d_backprop_filter, b_conv2d_bf),
     IN(OT_F4(1, 3, 3, 2), OT_I4(2, 2, 2, 2), OT_F4(1, 2, 2, 2)), GC(1e-6),
     .refuse = {x_conv2d_bf_opts, x_conv2d_bf_size}},
    {"BiasAdd", BLD(tg_nn_bias_add, b_bias_add), IN(FX(OT_S(2, 3), -1, 1, TG_INT32), FX(OT_S(3), -1, 1, TG_INT32)),
     GC(1e-6), .refuse = {x_bias_add_format, x_bias_add_length}},
    {"BiasAddGrad", BLD(tg_nn_bias_add_grad, b_bias_add_grad), IN(FX(OT_S(2, 3), -1, 1, TG_INT32)), GC(1e-6),
     .refuse = {x_bias_add_grad_format}},
    {"MaxPool", BLD(tg_nn_max_pool, b_max_pool), IN(OT_F4(1, 4, 4, 1)), GC(1e-6),
     .refuse = {x_max_pool_opts, x_max_pool_batch}},
    {"AvgPool", BLD(tg_nn_avg_pool, b_avg_pool), IN(OT_F4(1, 4, 4, 1)), GC(1e-6),
     .refuse = {x_avg_pool_opts, x_avg_pool_batch}},
    {"MaxPoolGrad", BLD(tg_nn_max_pool_grad, b_max_pool_grad),
     IN(OT_F4(1, 4, 4, 1), D(d_max_pool, TG_INT32), OT_F4(1, 2, 2, 1)), GC(1e-6),
     .refuse = {x_max_pool_grad_opts, x_max_pool_grad_shape}},
    {"AvgPoolGrad", BLD(tg_nn_avg_pool_grad, b_avg_pool_grad), IN(OT_I4(1, 4, 4, 1), OT_F4(1, 2, 2, 1)), GC(1e-6),
     .refuse = {x_avg_pool_grad_opts}},
    {"MaxPoolGradGrad", BLD(tg_nn_max_pool_grad_grad, b_max_pool_gg),
     IN(OT_F4(1, 4, 4, 1), D(d_max_pool, TG_INT32), OT_F4(1, 4, 4, 1)), GC(1e-6),
     .refuse = {x_max_pool_gg_opts, x_max_pool_gg_shape}},
    /* batch normalization (training: through the batch statistics) */
    {"FusedBatchNormV3", BLD(tg_nn_fused_batch_norm, b_fused_bn),
     IN(OT_F4(2, 2, 1, 2), FX(OT_S(2), 0.5, 1.5, TG_INT32), FX(OT_S(2), -1, 1, TG_INT32)), GC(1e-5),
     .refuse = {x_fused_bn_mean, x_fused_bn_rank, x_fused_bn_opts}},
    {"FusedBatchNormGradV3", .build = v_fused_bn_grad,
     IN(F(OT_S(2, 2, 1, 2), -1, 1), F(OT_S(2), 0.5, 1.5), K(OT_S(2), -1, 1), F(OT_S(2, 2, 1, 2), -1, 1)), GC(1e-5),
     .why = "FusedBatchNormV3's gradient, made by tg_gradients"},
    {"BatchNormWithGlobalNormalization", BLD(tg_nn_batch_norm_with_global_normalization, b_bn_global),
     IN(OT_F4(1, 2, 2, 2), FX(OT_S(2), -1, 1, TG_INT32), FX(OT_S(2), 0.5, 2, TG_INT32), FX(OT_S(2), -1, 1, TG_INT32),
        FX(OT_S(2), 0.5, 1.5, TG_INT32)),
     GC(1e-6), .refuse = {x_bn_global_channels}},
    /* nn */
    {"Relu", UN(tg_nn_relu), IN(FX(OT_S(2, 3), -1, 1, TG_INT32)), GC(1e-6)},
    {"ReluGrad", .build = v_relu_grad, IN(K(OT_S(2, 3), -1, 1), F(OT_S(2, 3), -1, 1)), GC(1e-6),
     .why = "Relu's gradient, made by tg_gradients"},
    {"Relu6", UN(tg_nn_relu6), IN(FX(OT_S(2, 3), -2, 8, TG_INT32)), GC(1e-6)},
    {"Elu", UN(tg_nn_elu), IN(FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6)},
    {"LeakyRelu", BLD(tg_nn_leaky_relu, b_leaky_relu), IN(FX(OT_S(2, 3), -1, 1, TG_INT32)), GC(1e-6)},
    {"Sigmoid", UN(tg_sigmoid), IN(FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6)},
    {"Tanh", UN(tg_tanh), IN(FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6)},
    {"Softplus", UN(tg_nn_softplus), IN(FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6)},
    {"Softmax", UN(tg_nn_softmax), IN(FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6), .refuse = {x_softmax_rank}},
    {"LogSoftmax", UN(tg_nn_log_softmax), IN(FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6)},
    /* TF's gradient formula wants labels that sum to one: a softmax of in[0] */
    {"SoftmaxCrossEntropyWithLogits", BLD(tg_nn_softmax_cross_entropy_with_logits_v2, b_xent),
     IN(AUX(OT_S(2, 3), -1, 1), D(d_softmax, TG_INT32), FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6),
     .alias = "softmax_cross_entropy_with_logits", .refuse = {x_xent_shape}},
    {"SparseSoftmaxCrossEntropyWithLogits", BLD(tg_nn_sparse_softmax_cross_entropy_with_logits, b_sparse_xent),
     IN(C(TG_INT32, OT_S(2), TG_FLOAT64, 0, 2), FX(OT_S(2, 3), -2, 2, TG_INT32)), GC(1e-6),
     .refuse = {x_sparse_xent_rank}},
    {"L2Loss", UN(tg_nn_l2_loss), IN(FX(OT_S(2, 3), -1, 1, TG_INT32)), GC(1e-6)},
    {"TopKV2", BLD(tg_nn_top_k, b_top_k), IN(F(OT_S(2, 4), -1, 1)), GC(1e-6),
     .refuse = {x_top_k_k, x_top_k_negative, x_top_k_outputs}},
    /* TF's InTopKV2 takes float32 predictions only */
    {"InTopKV2", BLD(tg_nn_in_top_k, b_in_top_k),
     IN({.kind = OT_FEED, .dtype = TG_FLOAT32, .shape = OT_S(2, 3), .bad = TG_FLOAT64},
        C(TG_INT32, OT_S(2), TG_FLOAT32, 0, 2)),
     ND, .alias = "in_top_k", .refuse = {x_in_top_k_dtype, x_in_top_k_rank}},
};

enum { OT_N_ROWS = (int)(sizeof OT_ROWS / sizeof OT_ROWS[0]) };

/* The row of an op type, NULL when it has none. */
static inline const ot_row *ot_row_of(const char *type)
{
    for (int i = 0; i < OT_N_ROWS; i++)
        if (strcmp(OT_ROWS[i].type, type) == 0) return &OT_ROWS[i];
    return NULL;
}

#endif
