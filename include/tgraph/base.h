/* tgraph/base.h: the types every other header shares.
 *
 * Status codes, dtypes, static shapes, the rules of option structs, and
 * forward declarations of every opaque handle. */
#ifndef TGRAPH_BASE_H
#define TGRAPH_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(TG_STATIC)
#define TG_API __attribute__((visibility("default")))
#else
#define TG_API
#endif

/* TensorFlow's canonical status codes, in TF's numbering. */
#define TG_CODE_MAP(X)                       \
    X(OK, 0)                                 \
    X(CANCELLED, 1)                          \
    X(UNKNOWN, 2)                            \
    X(INVALID_ARGUMENT, 3)                   \
    X(NOT_FOUND, 5)                          \
    X(ALREADY_EXISTS, 6)                     \
    X(PERMISSION_DENIED, 7)                  \
    X(RESOURCE_EXHAUSTED, 8)                 \
    X(FAILED_PRECONDITION, 9)                \
    X(OUT_OF_RANGE, 11)                      \
    X(UNIMPLEMENTED, 12)                     \
    X(INTERNAL, 13)                          \
    X(DATA_LOSS, 15)

typedef enum tg_code {
#define TG__CODE_ENUM(name, value) TG_##name = value,
    TG_CODE_MAP(TG__CODE_ENUM)
#undef TG__CODE_ENUM
} tg_code;

/* "OK", "INVALID_ARGUMENT", ...; "UNKNOWN_CODE" for a value outside the set.
 * Ownership: a static string. Errors: none. */
TG_API const char *tg_code_name(tg_code code);

typedef enum tg_dtype {
    TG_FLOAT32 = 0, /* TF's default dtype, so a zeroed field means float32 */
    TG_FLOAT64,
    TG_INT32,
    TG_INT64,
    TG_BOOL,
    TG_DTYPE_COUNT
} tg_dtype;

/* "float32", "float64", "int32", "int64", "bool" (TF's names).
 * Ownership: a static string. Errors: "invalid" for a value outside the enum. */
TG_API const char *tg_dtype_name(tg_dtype dtype);
/* Bytes per element; 0 for a value outside the enum. Errors: none. */
TG_API size_t tg_dtype_size(tg_dtype dtype);

#define TG_MAX_RANK 8

/* A static shape as TF infers it at graph-construction time.
 * rank == -1: unknown rank; dims[i] == -1: unknown dimension (e.g. the batch). */
typedef struct tg_shape {
    int rank;
    int64_t dims[TG_MAX_RANK];
} tg_shape;

#define TG__SHAPE_COUNT(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
/* TG_SHAPE(-1, 784): a shape value from its dimensions (at least one). */
#define TG_SHAPE(...) ((tg_shape){.rank = TG__SHAPE_COUNT(__VA_ARGS__), .dims = {__VA_ARGS__}})
/* A scalar (rank 0) and a shape of unknown rank. */
#define TG_SCALAR ((tg_shape){.rank = 0})
#define TG_SHAPE_UNKNOWN ((tg_shape){.rank = -1})

/* Number of elements; -1 when the rank or any dimension is unknown. Errors: none. */
TG_API int64_t tg_shape_num_elements(const tg_shape *shape);
/* Writes "(2, ?, 3)" ("<unknown>" for unknown rank, "()" for a scalar) into buf,
 * truncated to size. Returns buf. Ownership: caller's buffer. Errors: none. */
TG_API char *tg_shape_format(const tg_shape *shape, char *buf, size_t size);

/* ---- option structs ---------------------------------------------------------
 * In C, `false`, `0` and a field left out of an initializer are one value, so
 * a struct whose zero would not be TensorFlow's default (decay 0.999, center
 * True, activation relu) cannot be written as a compound literal safely.
 * Such a struct has a TG_<NAME>_OPTS_INIT macro that fills in TF's defaults
 * and a hidden tag that only the macro sets; a builder handed such a struct
 * without the tag (a compound literal, `= {0}`, memset) fails with an error
 * that names the macro instead of building a different model. After the
 * macro every field means what its TF keyword means: `.is_training = false`
 * is is_training=False, `.decay = 0` is decay=0, NULL is TF's None.
 *
 *     tg_layers_batch_norm_opts bn = TG_LAYERS_BATCH_NORM_OPTS_INIT;
 *     bn.decay = 0.9;
 *     bn.is_training = false;
 *
 * or, the same in one declaration (TG_OPTS below):
 *
 *     TG_OPTS(tg_layers_batch_norm_opts, bn, .decay = 0.9, .is_training = false);
 *
 * The other structs have no macro: each of their fields is zero in TF's
 * default (transpose_a=False, padding enum 0), so `&(tg_matmul_opts){
 * .transpose_b = true}` is safe. docs/options.md has the reasoning. */

/* TG_OPTS(tg_layers_batch_norm_opts, bn, .decay = 0.9, .is_training = false);
 * declares bn with TF's defaults and then the fields given, in one line, for
 * every options struct: TF's keyword arguments in C. Each designator
 * overrides the default of the same field, which C defines (C11 6.7.9p19)
 * but gcc and clang warn about under -Wextra, so the warning is switched off
 * for this declaration only. Give at least one field (C11 needs one
 * argument for the `...`); for none, use the INIT macro or NULL. */
#define TG_OPTS(T, var, ...) \
    TG__OVERRIDE_INIT_BEGIN T var = {TG__DEFAULTS_##T, __VA_ARGS__}; TG__OVERRIDE_INIT_END
#if defined(__clang__)
#define TG__OVERRIDE_INIT_BEGIN \
    _Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Winitializer-overrides\"")
#define TG__OVERRIDE_INIT_END _Pragma("clang diagnostic pop")
#elif defined(__GNUC__)
#define TG__OVERRIDE_INIT_BEGIN \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Woverride-init\"")
#define TG__OVERRIDE_INIT_END _Pragma("GCC diagnostic pop")
#else
#define TG__OVERRIDE_INIT_BEGIN
#define TG__OVERRIDE_INIT_END
#endif

/* A list option and its count in one designator pair, so the two cannot
 * disagree: TG_LIST(variables_collections, "a", "b") is
 * `.variables_collections = (const char *const[]){"a", "b"},
 * .n_variables_collections = 2`; TG_INT_LIST(axes, 1, 2) the same for int
 * lists (tg_reduce_opts.axes), TG_SHAPE_LIST(shape_invariants, TG_SCALAR,
 * TG_SHAPE(-1)) for shape lists (tg_while_loop_opts). For TG_OPTS and compound literals; the list
 * lives as long as the enclosing block. A list given without its count is
 * refused by the builders, naming the option. */
#define TG_LIST(field, ...)                             \
    .field = (const char *const[]){__VA_ARGS__},        \
    .n_##field = (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
#define TG_INT_LIST(field, ...) \
    .field = (const int[]){__VA_ARGS__}, .n_##field = (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int))
#define TG_SHAPE_LIST(field, ...)              \
    .field = (const tg_shape[]){__VA_ARGS__}, \
    .n_##field = (int)(sizeof((const tg_shape[]){__VA_ARGS__}) / sizeof(tg_shape))

/* A keyword whose TF default None means something other than True or False
 * (tf.layers' fused=None: fused when possible). FALSE and TRUE are 0 and 1,
 * so `false` and `true` keep their meaning; the INIT macros set NONE. */
typedef enum tg_optional_bool { TG_OPT_FALSE = 0, TG_OPT_TRUE = 1, TG_OPT_NONE = 2 } tg_optional_bool;

/* TF's seed=None in option structs (any other value, 0 included, is a seed). */
#define TG_NO_SEED INT64_MIN

/* Every handle is opaque. Graph objects (ops, tensors, variables) live in the
 * graph's arena and stay valid until the graph is freed. */
typedef struct tg_graph tg_graph;
typedef struct tg_op tg_op;
typedef struct tg_tensor tg_tensor;
typedef struct tg_variable tg_variable;
typedef struct tg_session tg_session;
typedef struct tg_array tg_array;

/* Frees memory that a tgraph call handed to the caller as a plain array
 * (e.g. the list from tg_get_collection). NULL is ignored. Errors: none. */
TG_API void tg_free(void *ptr);

#ifdef __cplusplus
}
#endif
#endif
