/* tgraph/math_ops.h: elementwise arithmetic with NumPy broadcasting and
 * reductions (tf.add, tf.subtract, tf.multiply, tf.square, tf.reduce_sum,
 * tf.reduce_mean). Error model as in array_ops.h. */
#ifndef TGRAPH_MATH_OPS_H
#define TGRAPH_MATH_OPS_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Binary elementwise ops. Shapes broadcast as in NumPy; both inputs have
 * one dtype. Errors: INVALID_ARGUMENT naming the op for different dtypes, an
 * unsupported dtype, or shapes that cannot broadcast, e.g.
 * "Add: Incompatible shapes: (2, 3) vs. (4,)". Shapes that are unknown at
 * construction are checked when the op runs. Integer arithmetic wraps. */
/* x + y, x - y, x * y ("Add", "Sub", "Mul"): float32, float64, int32, int64. */
TG_API tg_tensor *tg_add(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
TG_API tg_tensor *tg_subtract(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
TG_API tg_tensor *tg_multiply(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
/* tf.divide / tf.truediv for floats: "RealDiv". */
TG_API tg_tensor *tg_divide(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
/* tf.squared_difference(x, y) = (x - y)^2 ("SquaredDifference"), floats. */
TG_API tg_tensor *tg_squared_difference(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
/* tf.maximum, tf.minimum ("Maximum", "Minimum"): numeric dtypes; on ties
 * the gradient goes to x. */
TG_API tg_tensor *tg_maximum(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
TG_API tg_tensor *tg_minimum(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
/* tf.pow ("Pow"), floats. */
TG_API tg_tensor *tg_pow(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
/* Comparisons, bool results: "Equal", "NotEqual", "Less", "LessEqual",
 * "Greater", "GreaterEqual". */
TG_API tg_tensor *tg_equal(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
TG_API tg_tensor *tg_not_equal(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
TG_API tg_tensor *tg_less(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
TG_API tg_tensor *tg_less_equal(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
TG_API tg_tensor *tg_greater(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
TG_API tg_tensor *tg_greater_equal(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
/* tf.logical_and / tf.logical_or / tf.logical_not on bool tensors. */
TG_API tg_tensor *tg_logical_and(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
TG_API tg_tensor *tg_logical_or(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);
TG_API tg_tensor *tg_logical_not(tg_graph *g, tg_tensor *x, const char *name);

/* Unary elementwise ops. tf.negative, tf.abs, tf.sign, tf.square take any
 * numeric dtype; tf.sqrt, tf.rsqrt, tf.exp, tf.log floats only. */
TG_API tg_tensor *tg_negative(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_abs(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_sign(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_sqrt(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_rsqrt(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_exp(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_log(tg_graph *g, tg_tensor *x, const char *name);

/* tf.cast(x, dtype): "Cast" between any two dtypes. Float to int truncates
 * toward zero (saturating out of range); to bool tests != 0. */
TG_API tg_tensor *tg_cast(tg_graph *g, tg_tensor *x, tg_dtype dtype, const char *name);

/* tf.where(cond, x, y) (TF1's "Select"): x and y of one shape; cond of that
 * shape, a scalar, or a vector choosing rows along x's first dimension. */
TG_API tg_tensor *tg_where(tg_graph *g, tg_tensor *cond, tg_tensor *x, tg_tensor *y, const char *name);

/* tf.clip_by_value(t, min, max): Maximum(Minimum(t, max), min) in name
 * scope "clip_by_value", as TF builds it. */
TG_API tg_tensor *tg_clip_by_value(tg_graph *g, tg_tensor *t, tg_tensor *clip_min, tg_tensor *clip_max,
                                   const char *name);

/* tf.cos / tf.sin: "Cos" / "Sin", float32 or float64; each is the other's
 * gradient (d cos = -sin). Errors: INVALID_ARGUMENT naming the op for
 * another dtype. */
TG_API tg_tensor *tg_cos(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_sin(tg_graph *g, tg_tensor *x, const char *name);

/* tf.div_no_nan(x, y) (tf.math.divide_no_nan): "DivNoNan", x / y with
 * NumPy broadcasting, and 0 wherever y is 0 (even for x 0 or NaN). Float
 * operands of one dtype. Its gradient is TF's (_DivNoNanGrad). Ownership:
 * the graph's. Errors: INVALID_ARGUMENT naming the op for mixed or non-float
 * dtypes or shapes that do not broadcast. */
TG_API tg_tensor *tg_div_no_nan(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name);

/* tf.clip_by_norm(t, clip_norm, axes=None): t * clip_norm / max(l2norm,
 * clip_norm), the L2 norm taken over `axes` (n_axes of them; NULL and 0:
 * every axis, TF's None) with keepdims, in name scope "clip_by_norm" (or
 * name) as TF builds it (two-tap where around the Sqrt, so a zero t has a
 * finite gradient), the result an Identity named after the scope. t is
 * float; clip_norm a scalar tensor of t's dtype. Ownership: the graph's.
 * Errors (sticky, no op added): INVALID_ARGUMENT naming clip_by_norm (or
 * name) for a non-float t, a clip_norm of another dtype or not 0-D, axes
 * and n_axes that disagree, or an axis out of range ("Invalid reduction
 * dimension 5 for input with 2 dimensions"). */
TG_API tg_tensor *tg_clip_by_norm(tg_graph *g, tg_tensor *t, tg_tensor *clip_norm, const int *axes, int n_axes,
                                  const char *name);

/* tf.global_norm(t_list): sqrt(sum of every tensor's squared L2 norm), TF's
 * ops in name scope "global_norm" (or name): one "L2Loss" per tensor,
 * "stack", "Sum", "mul" by 2 and the Sqrt "global_norm/global_norm". NULL
 * entries of t_list[0..n) are skipped (TF's None). Ownership: t_list stays
 * the caller's; the result is the graph's. Errors (sticky, no op added):
 * INVALID_ARGUMENT naming global_norm (or name) for a NULL t_list or n < 0
 * ("t_list should be a sequence"), no tensor at all ("List argument
 * 'values' to 'Pack' Op with length 0 shorter than minimum length 1."), or
 * tensors that are not of one float dtype. */
TG_API tg_tensor *tg_global_norm(tg_graph *g, tg_tensor *const *t_list, int n, const char *name);

/* tf.clip_by_global_norm(t_list, clip_norm, use_norm=None): each
 * t_list[i] * clip_norm / max(global_norm, clip_norm), with the global norm
 * of tg_global_norm (built under "global_norm", or `name` when given, as
 * TF), or use_norm when not NULL. A NaN or infinite norm gives NaN
 * everywhere, as TF. The ops are in name scope "clip_by_global_norm" (or
 * name); clipped[i] is the Identity "clip_by_global_norm/clip_by_global_norm/_<i>"
 * (TF's names), NULL where t_list[i] is NULL. *global_norm (if not NULL)
 * gets the norm used. clip_norm and use_norm are scalars of the tensors'
 * float dtype. Ownership: clipped is the caller's array of n entries; the
 * tensors are the graph's. Returns TG_OK, or the graph's error code with
 * every output NULL. Errors: as tg_global_norm, naming clip_by_global_norm
 * (or name), and INVALID_ARGUMENT for a NULL clipped, or a clip_norm or
 * use_norm of another dtype or not 0-D. */
TG_API tg_code tg_clip_by_global_norm(tg_graph *g, tg_tensor *const *t_list, int n, tg_tensor *clip_norm,
                                      tg_tensor *use_norm, tg_tensor **clipped, tg_tensor **global_norm,
                                      const char *name);

/* tf.add_n(xs): "AddN", the sum of n >= 1 tensors of one dtype and shape. */
TG_API tg_tensor *tg_add_n(tg_graph *g, tg_tensor *const *xs, int n, const char *name);

/* x * x ("Square"). */
TG_API tg_tensor *tg_square(tg_graph *g, tg_tensor *x, const char *name);

typedef struct tg_matmul_opts {
    const char *name;
    bool transpose_a, transpose_b;
} tg_matmul_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_matmul_opts .name = NULL

/* tf.matmul(a, b, transpose_a, transpose_b): "MatMul" of two float
 * matrices through OpenBLAS (cblas_sgemm / cblas_dgemm). opts may be NULL.
 * Errors: INVALID_ARGUMENT naming the op for a rank other than 2, different
 * dtypes, or inner dimensions that differ, e.g. "dense/MatMul: inner
 * dimensions 3 and 4 do not match (shapes (2, 3) and (4, 5))". */
TG_API tg_tensor *tg_matmul(tg_graph *g, tg_tensor *a, tg_tensor *b, const tg_matmul_opts *opts);

typedef struct tg_reduce_opts {
    const char *name;
    const int *axes; /* NULL with n_axes 0: every axis (TF's axis=None) */
    int n_axes;      /* negative axes count from the end */
    bool keep_dims;
} tg_reduce_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_reduce_opts .name = NULL

/* tf.reduce_sum / tf.reduce_mean ("Sum", "Mean"); explicit axes become a
 * Const input "<op>/reduction_indices", axis=None a "Const" listing every
 * axis, as in TF. opts may be NULL. Errors:
 * INVALID_ARGUMENT for an axis out of range or listed twice. */
TG_API tg_tensor *tg_reduce_sum(tg_graph *g, tg_tensor *x, const tg_reduce_opts *opts);
TG_API tg_tensor *tg_reduce_mean(tg_graph *g, tg_tensor *x, const tg_reduce_opts *opts);
/* tf.reduce_max / tf.reduce_min / tf.reduce_prod ("Max", "Min", "Prod"),
 * with the same options. The gradient of max and min is shared among tied
 * elements; the gradient of prod is exact with zeros in x. */
TG_API tg_tensor *tg_reduce_max(tg_graph *g, tg_tensor *x, const tg_reduce_opts *opts);
TG_API tg_tensor *tg_reduce_min(tg_graph *g, tg_tensor *x, const tg_reduce_opts *opts);
TG_API tg_tensor *tg_reduce_prod(tg_graph *g, tg_tensor *x, const tg_reduce_opts *opts);

/* tf.argmax / tf.argmin(x, axis): "ArgMax" / "ArgMin", int64 indices of
 * the first extreme element along axis (negative counts from the end).
 * Errors: INVALID_ARGUMENT for an axis out of range. */
TG_API tg_tensor *tg_argmax(tg_graph *g, tg_tensor *x, int axis, const char *name);
TG_API tg_tensor *tg_argmin(tg_graph *g, tg_tensor *x, int axis, const char *name);

#ifdef __cplusplus
}
#endif
#endif
