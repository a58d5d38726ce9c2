/* The op registry entry: what the graph and the session need to know about
 * an op type. Defined by the graph layer so that it can call shape functions
 * and kernels through pointers without including anything from src/ops. */
#ifndef TG_OP_DEF_H
#define TG_OP_DEF_H

#include <stdarg.h>

#include "tgraph/base.h"
#include "tgraph/session.h"
#include "thread_pool.h"

typedef struct tg__strbuf tg__strbuf;

enum {
    TG__OPF_STATEFUL = 1u << 0,          /* has effects beyond its outputs */
    TG__OPF_RANDOM = 1u << 1,            /* keeps an RNG stream in the session */
    TG__OPF_VARIABLE = 1u << 2,          /* VariableV2: owns a variable */
    TG__OPF_REF_INPUT0 = 1u << 3,        /* input 0 is a variable reference it uses */
    TG__OPF_INIT_REF = 1u << 4,          /* may see its variable uninitialized (Assign) */
    TG__OPF_PLACEHOLDER = 1u << 5,       /* must be fed when needed */
    TG__OPF_NOT_DIFFERENTIABLE = 1u << 6, /* tg_gradients stops here without error */
    /* Writes through every input that is a variable reference (TF's Ref(T)
     * inputs of ApplyAdam: var, m, v): the kernel gets their storage in
     * refs[]. Input 0 must be one (with TG__OPF_REF_INPUT0). */
    TG__OPF_REF_INPUTS = 1u << 7,
    /* Switch: may leave an output dead. A plan containing one tracks dead
     * tensors; plans without pay nothing for them. */
    TG__OPF_SWITCH = 1u << 8,
    /* Merge: runs when any data input is live (others run only when all are) */
    TG__OPF_MERGE = 1u << 9,
    /* The while-loop frame ops (tg_while_loop). The executor runs a frame's
     * steps once per iteration: Enters only in the first, NextIterations
     * last, and stops when the frame's LoopCond is false or dead. */
    TG__OPF_ENTER = 1u << 10,
    TG__OPF_EXIT = 1u << 11,
    TG__OPF_NEXT_ITERATION = 1u << 12,
    TG__OPF_LOOP_COND = 1u << 13,
    /* Output 0 may be written over input 0 (an elementwise op): the plan
     * allows it when input 0's tensor has no other reader in the run and is
     * neither fed nor fetched (tg__kernel_ctx.inplace). */
    TG__OPF_INPLACE = 1u << 14,
    /* An output may be a view of an input's memory (tg__out_alias,
     * tg__out_view: Identity, Reshape, Switch, ...). The plan then keeps
     * the input's memory for as long as the output is read, and gives the
     * op's outputs buffers of their own instead of shared ones
     * (session_memory.c); the executor refuses an output of an op without
     * the flag that comes back as a view of an input. */
    TG__OPF_VIEWS = 1u << 15
};

/* Enter's attributes, read by the executor as well as by src/ops. */
typedef struct tg__enter_attrs {
    const char *frame_name;
    bool is_constant; /* a loop invariant: live in every iteration */
    int parallel_iterations;
} tg__enter_attrs;

enum { TG__MAX_REF_INPUTS = 16 }; /* inputs of a TG__OPF_REF_INPUTS op, at most */

/* Static type and shape of one output. */
typedef struct tg__out_info {
    tg_dtype dtype;
    tg_shape shape;
} tg__out_info;

/* Shape inference: validate inputs and attrs, fill out[]. */
typedef struct tg__infer_ctx {
    tg_graph *g;
    const char *op_name;
    const void *attrs;
    tg_tensor *const *in;
    int n_in;
    tg__out_info *out;
    int n_out;
} tg__infer_ctx;

/* One op execution. in[] are read-only; out[] are the session's slots. */
typedef struct tg__kernel_ctx {
    tg_session *s;
    const tg_op *op;
    const void *attrs;
    tg_array *const *in;
    int n_in;
    tg_array *const *out;
    int n_out;
    void *state;  /* def->state_size bytes kept per op per session, zeroed at first */
    tg_array *var; /* the variable's storage for VARIABLE and REF_INPUT0 ops */
    bool *var_initialized;
    tg__pool *pool; /* the session's intra-op threads; NULL: the calling thread only */
    tg_array *const *refs; /* TG__OPF_REF_INPUTS ops: refs[i] is input i's variable storage, or NULL */
    /* Per-slot dead flags of a plan with a Switch, indexed like slots; both
     * NULL otherwise. Read and written through tg__in_dead/tg__out_set_dead. */
    bool *dead;
    const tg_array *slots;
    /* TG__OPF_INPLACE ops: the plan lets output 0 reuse input 0's memory
     * (tg__out_inplace decides at run time). */
    bool inplace;
    /* Per slot: its value was written in place over memory the run owns,
     * so the next op of an in-place chain (BN, then Relu) may write over it
     * too although it is a view. Indexed like slots; set by tg__out_inplace. */
    bool *in_place;
} tg__kernel_ctx;

/* Gradient builder: given the forward op and the gradient of each of its
 * outputs (dy[i]; zeros are filled in for float outputs without one), build
 * the gradient of each input as ordinary ops and store it in dx[i]. NULL
 * means no gradient (TF's None). Called inside name scope
 * "gradients/<op name>_grad/". Builders record errors on g as usual. */
typedef struct tg__grad_ctx {
    tg_graph *g;
    tg_op *op;
    tg_tensor *const *dy;
    tg_tensor **dx;
    const bool *has_dy; /* has_dy[i]: a gradient really reached output i (dy[i] is not filler zeros) */
} tg__grad_ctx;

/* One attribute of an op as TF's op registry names and types it, for
 * export to a GraphDef (src/import turns these into AttrValues): kept free
 * of protobuf so that the graph layer and src/ops need none. */
typedef enum tg__attr_kind {
    TG__ATTR_BOOL,
    TG__ATTR_INT,
    TG__ATTR_FLOAT,
    TG__ATTR_STRING, /* s: a static or graph-owned string */
    TG__ATTR_TYPE,
    TG__ATTR_SHAPE,
    TG__ATTR_INTS,   /* list(int): ints.v[0..ints.n) (n may be 0: TF's empty list) */
    TG__ATTR_TENSOR  /* tensor: the graph's own array (Const's value), not copied */
} tg__attr_kind;

typedef struct tg__attr {
    const char *name; /* TF's attr name: "T", "strides" */
    tg__attr_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        const char *s;
        tg_dtype type;
        tg_shape shape;
        const tg_array *tensor;
        struct {
            int n;
            int64_t v[TG_MAX_RANK];
        } ints;
    } u;
} tg__attr;

/* What an export hook fills: every attribute TF's op def lists, in any
 * order. The capacity covers the largest exported op (Conv2D's 7). */
enum { TG__MAX_ATTRS = 8 };
typedef struct tg__attr_list {
    int n;
    tg__attr a[TG__MAX_ATTRS];
} tg__attr_list;

/* Appends one attribute and returns it for the caller to fill u; a full
 * list (a hook's bug, caught by the export tests) keeps the last slot. */
static inline tg__attr *tg__attr_add(tg__attr_list *l, const char *name, tg__attr_kind kind) {
    tg__attr *a = &l->a[l->n < TG__MAX_ATTRS ? l->n++ : TG__MAX_ATTRS - 1];
    a->name = name;
    a->kind = kind;
    return a;
}

typedef tg_code (*tg__infer_fn)(tg__infer_ctx *c);
typedef tg_code (*tg__kernel_fn)(tg__kernel_ctx *c);
typedef tg_code (*tg__grad_fn)(tg__grad_ctx *c);

typedef struct tg__op_def {
    const char *type;  /* TF's op type: "MatMul", "VariableV2" */
    int n_inputs;      /* -1: variadic */
    int n_outputs;     /* -1: given by the builder */
    unsigned flags;
    size_t attr_size;  /* attrs are copied into the graph arena */
    size_t state_size; /* per-session state, for RANDOM ops */
    /* Releases what a state owns (scratch buffers) before the session frees
     * the state block itself; NULL when the block owns nothing. */
    void (*state_free)(void *state);
    tg__infer_fn infer;
    tg__kernel_fn kernel[TG_DTYPE_COUNT]; /* indexed by the dtype of input 0 (or output 0) */
    tg__grad_fn grad; /* NULL: no gradient; an error unless NOT_DIFFERENTIABLE */
    void (*format_attrs)(const void *attrs, tg__strbuf *out); /* DOT labels */
    /* GraphDef export (tg_graph_to_graph_def): fills out (empty on entry)
     * with op's attributes as TF names them, dtype attrs ("T") included,
     * read from op's attrs and its tensors. NULL: the type cannot be
     * exported, and an export of a graph holding one fails. */
    void (*export_attrs)(const tg_op *op, tg__attr_list *out);
} tg__op_def;

/* A growable string for messages and DOT output. */
struct tg__strbuf {
    char *data;
    size_t len, cap;
    bool failed;
};
void tg__strbuf_printf(tg__strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void tg__strbuf_free(tg__strbuf *b);

/* ---- called by op builders and kernels (src/ops) ------------------------- */

typedef struct tg__op_args {
    const tg__op_def *def;
    const char *name;       /* requested name; NULL: def->type */
    tg_tensor *const *inputs;
    int n_inputs;
    const void *attrs;      /* def->attr_size bytes, copied */
    int n_outputs;          /* for variadic outputs */
    /* The name is used exactly as given, neither prefixed nor uniquified (TF's
     * name ending in '/'): for the op that closes a builder's own name scope,
     * "random_uniform" inside "random_uniform/". A taken name is an error. */
    bool exact_name;
} tg__op_args;

/* Adds an op atomically: name uniquified in the current name scope, control
 * dependencies applied, shape function run. On failure nothing is added, the
 * first error is recorded on g and NULL comes back. */
tg_op *tg__add_op(tg_graph *g, const tg__op_args *a);

/* For the init_before_variables lint (lint.c): op initializes the first
 * n_vars global variables (tg_global_variables_initializer). Out of memory
 * only loses the note. */
void tg__lint_note_initializer(tg_graph *g, const tg_op *op, int n_vars);

/* Records a sticky construction error "<op>: message" (op may be NULL) and
 * returns code. The single place where construction errors are born. */
tg_code tg__fail(tg_graph *g, tg_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
tg_code tg__vfail(tg_graph *g, tg_code code, const char *fmt, va_list ap);

/* Shape-function error: prefixes the op's name. */
tg_code tg__infer_fail(tg__infer_ctx *c, tg_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* True when the graph can take a builder call: non-NULL, not in error, and
 * every one of the n tensors non-NULL and from g (else records an error). */
bool tg__graph_ready_in(tg_graph *g, tg_tensor *const *tensors, int n, const char *who);
/* Names the calling builder (its C function) in the foreign-graph error. */
#define tg__graph_ready(g, ...) tg__graph_ready_in((g), __VA_ARGS__, __func__)
/* What a tg_code builder returns after tg__graph_ready said no: the
 * graph's error, or INVALID_ARGUMENT for a NULL graph or input (the input
 * NULL after an earlier builder failed, whose error the graph keeps, or a
 * NULL the caller passed, which is no success either). */
tg_code tg__not_ready_code(const tg_graph *g);

/* TF's Operation._add_control_input and _update_input, for the ops that
 * control flow completes after making them: a loop's back edge (Merge's
 * second input becomes the NextIteration made after it) and the stack
 * pushes a loop's gradient adds to its forward counter. False after
 * recording an error on the op's graph. */
bool tg__op_add_control_input(tg_op *op, tg_op *c);
bool tg__op_update_input(tg_op *op, int i, tg_tensor *t);

/* Arena allocation for builders (attr payloads such as constant data). */
void *tg__graph_alloc(tg_graph *g, size_t size);

const tg__op_def *tg__op_def_of(const tg_op *op);
const void *tg__op_attrs(const tg_op *op);
int tg__op_id(const tg_op *op);
int64_t tg__graph_seed(const tg_graph *g, bool *has_seed);
tg_variable *tg__op_variable(const tg_op *op);

/* Kernel helpers. */
/* Sends one line (no newline) to s's print callback, or to stderr with a
 * newline when it has none (Print ops). */
void tg__session_print(tg_session *s, const char *text);

tg_code tg__kernel_fail(tg__kernel_ctx *c, tg_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Shapes out[i] to (dtype, rank, dims), growing its buffer only when needed. */
tg_code tg__out_alloc(tg__kernel_ctx *c, int i, tg_dtype dtype, int rank, const int64_t *dims);
/* For a TG__OPF_INPLACE op: makes output 0 the memory of input 0, to be
 * overwritten, when the plan allows it and input 0 owns its memory (it is
 * no view of a variable, a feed or another tensor, unless an in-place op
 * made it); true then. Otherwise
 * false and nothing changes (the kernel allocates as usual). Saves one
 * buffer per activation: the largest part of a CNN's memory. */
bool tg__out_inplace(tg__kernel_ctx *c);
/* Makes out[i] a view of src (no copy); src must outlive the run. */
void tg__out_alias(tg__kernel_ctx *c, int i, const tg_array *src);
/* The same view with other dims of the same element count (Reshape). */
void tg__out_view(tg__kernel_ctx *c, int i, const tg_array *src, int rank, const int64_t *dims);
/* Intra-op parallelism for kernels. tg__parallel_for runs fn over [begin,
 * end) split into tg__kernel_chunks(c, end - begin, grain) chunks of at
 * least `grain` items (one chunk with one thread, a few per thread
 * otherwise) and returns when all are done. fn's chunk argument indexes
 * per-chunk partial results, its slot argument (< tg__kernel_threads(c))
 * per-thread scratch. The split depends only on the range, the grain and
 * the session's thread count, so partial results combined in chunk order
 * are reproducible for a given count. fn must not fail, allocate, or touch
 * the session: kernels check and size everything before. */
int tg__kernel_threads(const tg__kernel_ctx *c);
int tg__kernel_chunks(const tg__kernel_ctx *c, int64_t n, int64_t grain);
void tg__parallel_for(const tg__kernel_ctx *c, int64_t begin, int64_t end, int64_t grain, tg__range_fn fn,
                      void *ctx);
/* Dead tensors (Switch and Merge kernels): whether input i is dead this
 * run, and marking output i dead (its consumers do not run). */
bool tg__in_dead(const tg__kernel_ctx *c, int i);
void tg__out_set_dead(tg__kernel_ctx *c, int i);
/* The per-session state of op op_id when that op is of type def (a stack's
 * StackV2, found through the handle its consumers get), else NULL. */
void *tg__kernel_op_state(const tg__kernel_ctx *c, int64_t op_id, const tg__op_def *def);
/* A random 64-bit value that differs per session, for unseeded random ops. */
uint64_t tg__session_entropy(tg_session *s);

#endif
