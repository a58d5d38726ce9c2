/* Shared by the op families in src/ops: the op definitions (for the
 * registry) and small helpers for builders and shape functions. */
#ifndef TG_OPS_INTERNAL_H
#define TG_OPS_INTERNAL_H

#include "graph_internal.h"

/* Before an elementwise kernel's loop: its iterations are independent and
 * its arrays do not overlap, so the compiler vectorizes it whatever the
 * optimization level (meson.build passes -fopenmp-simd, which honours this
 * pragma without OpenMP's runtime). */
#define TG__SIMD _Pragma("omp simd")
/* Elements per chunk of an elementwise loop on the intra-op threads:
 * below it one thread does the whole loop (waking another costs more). */
#define TG__ELEMENTWISE_GRAIN ((int64_t)1 << 15)
/* Before such a kernel: compiled also for AVX2 and AVX-512, and the CPU's
 * best picked at load time (an ifunc), so a default build uses the wide
 * registers of the machine it runs on without -march. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define TG__CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TG__CLONES
#endif

/* The same kernel for every dtype (ops that only move or alias data). */
#define TG__ALL_DTYPES(fn) \
    { [TG_FLOAT32] = fn, [TG_FLOAT64] = fn, [TG_INT32] = fn, [TG_INT64] = fn, [TG_BOOL] = fn }
/* The numeric dtypes (no bool). */
#define TG__NUMERIC(f32, f64, i32, i64) \
    { [TG_FLOAT32] = f32, [TG_FLOAT64] = f64, [TG_INT32] = i32, [TG_INT64] = i64 }

/* Every op definition, declared from the one list (op_list.h). */
#define TG__OP(sym, type) extern const tg__op_def sym;
#include "op_list.h"

/* control_flow_cond.c, for both kinds of context (cond and while). A
 * context's memo of the tensors it made usable inside it (TF's
 * _external_values): outside tensor -> what ops inside read instead. Lives
 * in the graph's arena, as the contexts do: gradients enter a context
 * again after its builder has returned. */
typedef struct tg__value_map {
    tg_tensor **from, **to;
    int n, cap;
} tg__value_map;
/* Adds an entry; false when out of memory (recorded on g). */
bool tg__value_map_put(tg_graph *g, tg__value_map *m, tg_tensor *from, tg_tensor *to);
/* The entry for t, or NULL. */
tg_tensor *tg__value_map_get(const tg__value_map *m, const tg_tensor *t);
/* Switch of data on pred in the current context; RefSwitch (carrying the
 * variable) when data is a variable reference. NULL after an error. */
tg_op *tg__switch_op(tg_graph *g, tg_tensor *data, tg_tensor *pred);

/* logging_ops.c: TF's Tensor::SummarizeValue(max_entries) (Print's and
 * Assert's format): the first max_entries elements (all when negative),
 * appended to b. */
void tg__summarize_value(tg__strbuf *b, const tg_array *a, int64_t max_entries);
/* Print's and Assert's `data` list: n_data tensors of g, none NULL; false
 * after recording the error naming who. */
bool tg__check_data(tg_graph *g, const char *who, tg_tensor *const *data, int n_data);

/* nn_conv_kernels.c: the intra-op threads own the CPUs. The first kernel
 * that splits a GEMM over them sets OpenBLAS to one thread, process-wide
 * (nn_conv_kernels.c has the measurements). */
void tg__blas_single_threaded(void);

/* nn_conv.c: TF's GetWindowedOutputSizeVerboseV2 for one spatial
 * dimension: the output size and the padding before it (padding is a
 * tg_padding). An unknown (< 0) in, or k with VALID, gives *out = -1. False,
 * with a message in err, when impossible. */
bool tg__windowed_size(int64_t in, int64_t k, int64_t dilation, int64_t stride, int padding, int64_t *out,
                       int64_t *pad_before, char *err, size_t n);

/* Attrs of ops whose output is declared, not inferred (Placeholder,
 * VariableV2), and the shape function that reads them. */
typedef struct tg__typed_shape {
    tg_dtype dtype;
    tg_shape shape;
} tg__typed_shape;
tg_code tg__typed_shape_infer(tg__infer_ctx *c);

/* The op definition registered for a TF op type (op_list.h's, then the
 * optional parts' of op_list_optional.h), or NULL. */
const tg__op_def *tg__op_def_lookup(const char *type);
/* op_list.h's defs, in its order. */
int tg__op_def_count(void);
const tg__op_def *tg__op_def_at(int i);
/* The optional parts' defs built into this library (op_list_optional.h):
 * 0 when none was. */
int tg__op_def_optional_count(void);
const tg__op_def *tg__op_def_optional_at(int i);

/* The value of a Const tensor, NULL for any other (TF's constant_value). */
const tg_array *tg__const_value(const tg_tensor *t);

/* Output 0 of op, NULL when op is NULL (builders chain on failure). */
tg_tensor *tg__out0(tg_op *op);

/* Adds a one-output op with inputs and attrs; NULL on failure. */
tg_tensor *tg__simple_op(tg_graph *g, const tg__op_def *def, const char *name,
                         tg_tensor *const *inputs, int n, const void *attrs);

/* TF's name_scope(name, default): pushes and returns the token; *scope gets
 * the scope's own name (without '/'), for the op that closes it. */
int tg__builder_scope(tg_graph *g, const char *name, const char *dflt, const char **scope);

/* A 1-D int32 Const from values (shapes, axes). */
tg_tensor *tg__const_i32(tg_graph *g, const int32_t *v, int n, const char *name);

/* ---- for the shape-manipulation ops (array_util.c) ----------------------- */

/* Construction errors name the op and its type as TF does: "<name>: <Type>:
 * message", or "<Type>: message" when the op is named as its type. */
tg_code tg__shape_fail(tg__infer_ctx *c, const char *type, tg_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
tg_code tg__arg_fail(tg_graph *g, const char *who, const char *type, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* The values of an int32/int64 array (at most max of them). */
bool tg__read_ints(const tg_array *a, int64_t *out, int64_t max);
/* Copies a rank-r block of dims elements between byte strides. */
void tg__copy_strided(char *dst, const int64_t *ds, const char *src, const int64_t *ss, int rank, const int64_t *dims,
                      size_t es);

/* nn_conv.c: t's shape as rank 4 (four unknown dims for an unknown rank);
 * an error naming `what` for another known rank. */
tg_code tg__shape4(tg__infer_ctx *c, const tg_tensor *t, const char *what, tg_shape *s);

/* ---- for gradient builders -------------------------------------------- */

/* dy summed down to x's shape (undoes NumPy broadcasting). */
tg_tensor *tg__grad_unbroadcast(tg_graph *g, tg_tensor *dy, tg_tensor *x);
/* x reshaped to like's shape (static when known, else Shape(like)). */
tg_tensor *tg__reshape_like(tg_graph *g, tg_tensor *x, tg_tensor *like);
/* RandomUniform in [0, 1) with a shape tensor (seeds as tf.get_seed). */
tg_tensor *tg__random_uniform_t(tg_graph *g, tg_tensor *shape, tg_dtype dtype, int64_t seed); /* seed: TG_NO_SEED for None */
/* Sum over axes given as an int32 tensor computed at run time. */
tg_tensor *tg__reduce_sum_t(tg_graph *g, tg_tensor *x, tg_tensor *axes, bool keep_dims);

/* tg_gradients' parts that the while-loop gradient reuses (gradients.c):
 * the gradients a tensor received, their sum (TF's _AggregatedGrads;
 * NULL for none), and one op's backpropagation: its builder called in
 * "<op>_grad/" with the sums of acc at its outputs, adding to acc at its
 * inputs where dep marks them as depending on the xs. */
typedef struct tg__grad_list {
    tg_tensor **items;
    int n, cap;
} tg__grad_list;
bool tg__grad_push(tg__grad_list *l, tg_tensor *t);
tg_tensor *tg__grad_sum(tg_graph *g, const tg__grad_list *l);
tg_code tg__backprop_op(tg_graph *g, tg_op *op, tg__grad_list *acc, const char *dep);
/* control_flow_while_grad.c: called for every op of a while loop that the
 * walk meets from outside the loop; at the loop's first Exit it builds the
 * gradient loop and adds its results to acc at the loop's inputs. */
tg_code tg__while_grad(tg_graph *g, tg_op *op, tg__grad_list *acc, const char *dep);

/* tg_assert with a leading message entry (TF's string first in data). */
tg_op *tg__assert_message(tg_graph *g, tg_tensor *condition, const char *message, tg_tensor *const *data, int n_data,
                          int64_t summarize, const char *name);

/* GraphDef export hooks (export_attrs) of Conv2D and the pools: a
 * four-int list attribute (strides, ksize, dilations) and data_format. */
static inline void tg__export_ints4(tg__attr_list *out, const char *name, const int v[4]) {
    tg__attr *a = tg__attr_add(out, name, TG__ATTR_INTS);
    a->u.ints.n = 4;
    for (int i = 0; i < 4; i++) a->u.ints.v[i] = v[i];
}

static inline void tg__export_format(tg__attr_list *out, int data_format) {
    tg__attr_add(out, "data_format", TG__ATTR_STRING)->u.s = data_format == TG_NCHW ? "NCHW" : "NHWC";
}

#endif
