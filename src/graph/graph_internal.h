/* Private structures of the graph layer. src/ops may include this file;
 * layers and optim may not (they are clients of the public API). */
#ifndef TG_GRAPH_INTERNAL_H
#define TG_GRAPH_INTERNAL_H

#include <stdatomic.h>

#include "tgraph.h"
#include "arena.h"
#include "op_def.h"
#include "strmap.h"

struct tg_array {
    tg_dtype dtype;
    int rank;
    int64_t dims[TG_MAX_RANK];
    int64_t size;   /* elements */
    void *data;     /* buf, or borrowed memory when the array is a view */
    void *buf;      /* owned storage */
    size_t cap;     /* bytes in buf */
};

struct tg_tensor {
    tg_op *op;
    int index;
    int id; /* graph-wide tensor number: the session's slot index */
    tg_dtype dtype;
    tg_shape shape;
    const char *name;
};

/* TF's CondContext as the graph layer sees it: the graph knows no op
 * types, so src/ops (control_flow_cond.c) supplies add_value, which makes
 * a tensor from outside the context usable inside it (a Switch). Lives in
 * the graph's arena: ops keep pointing at the context they were made in. */
typedef struct tg__cond_ctx tg__cond_ctx;
struct tg__cond_ctx {
    tg__cond_ctx *outer;
    /* The tensor an op made in ctx reads instead of t (t is from outside
     * ctx); NULL after recording an error on g. Runs with no context
     * current and no control dependencies, as TF's AddValue does. */
    tg_tensor *(*add_value)(tg_graph *g, tg__cond_ctx *ctx, tg_tensor *t);
    tg_op *pivot; /* an op without inputs made in ctx waits for it */
    void *impl;   /* src/ops' own state */
    /* A while loop's frame (tg_while_loop): the executor runs its ops once
     * per iteration until loop_cond's output is false or dead. A cond
     * context has neither. */
    bool is_loop;
    tg_op *loop_cond;
};

/* True when op was made in ctx or in a context nested in it (TF's
 * OpInContext); every op is in the NULL context. */
bool tg__op_in_ctx(const tg_op *op, const tg__cond_ctx *ctx);

/* The innermost while frame an op runs in (NULL: none). An Exit belongs to
 * its loop's frame (it runs each iteration, live in the last), although
 * its output is used outside. */
tg__cond_ctx *tg__op_frame(const tg_op *op);
/* The innermost while frame of a context chain (NULL: none). */
tg__cond_ctx *tg__ctx_frame(tg__cond_ctx *ctx);
/* TF's CheckInputFromValidContext: whether t may be read by an op made in
 * ctx (a loop's inner values only inside that loop; its Exits outside);
 * false after recording an error naming consumer. */
bool tg__check_usable(tg_graph *g, const tg_tensor *t, const tg__cond_ctx *ctx, const char *consumer);
/* True when ctx is chain or one of its outer contexts. */
bool tg__op_in_ctx_chain(const tg__cond_ctx *chain, const tg__cond_ctx *ctx);
/* TF's IsLoopConstantEnter: an Enter whose value is the same in every
 * iteration (a tensor from outside the loop). */
bool tg__is_loop_constant_enter(const tg_op *op);

struct tg_op {
    tg_graph *g;
    const tg__op_def *def;
    const char *name;
    int id; /* creation index */
    /* Stack index of the innermost control_dependencies(None) active when
     * the op was made (-1: none): blocks below it did not "see" the op. */
    int ctl_base;
    int n_inputs;
    tg_tensor **inputs;
    int n_control;
    tg_op **control;
    int n_outputs;
    tg_tensor *outputs;
    void *attrs;
    tg_variable *variable; /* VariableV2 ops */
    /* The cond context the op belongs to (NULL: none). Such ops cannot be
     * fetched, as TF's prevent_fetching. */
    tg__cond_ctx *ctx;
    bool no_fetch;
};

struct tg_variable {
    tg_graph *g;
    int id;
    const char *name;
    tg_dtype dtype;
    tg_shape shape;
    bool trainable;
    tg_op *op;
    tg_tensor *read;
    tg_op *initializer;
    tg_tensor *initial_value;
    tg_constraint constraint;
};

typedef struct tg__var_scope {
    const char *name; /* "" at the root, else "a/b" */
    tg_reuse reuse;
    tg_initializer initializer;
    tg_regularizer regularizer;
} tg__var_scope;

typedef enum { TG__SCOPE_NAME, TG__SCOPE_VAR, TG__SCOPE_CONTROL } tg__scope_kind;

typedef struct tg__scope_entry {
    tg__scope_kind kind;
    const char *saved_name_scope;
    tg__var_scope saved_var_scope;
    const char *opened_var_scope; /* string-named scopes reset sub-scope counts on exit */
    /* control blocks */
    bool clear;         /* control_dependencies(None) */
    int start_op_id;    /* ops with id >= this were created inside the block */
    tg_op **ops;        /* this block's own ops (not already active outside) */
    int n_ops;
    tg_op **all;        /* every active control input at this depth */
    int n_all;
    /* control_dependencies(None) also leaves the cond context, as in TF */
    tg__cond_ctx *saved_cond;
} tg__scope_entry;

typedef struct tg__collection {
    const char *key;
    tg_item *items;
    int n, cap;
} tg__collection;

/* One journaled map change (txn.c): the entry's state before it. */
typedef struct tg__undo {
    tg__strmap *map;
    const char *key;
    void *old;
    bool existed;
} tg__undo;

struct tg_graph {
    tg__arena arena;
    atomic_int refs; /* sessions on other threads take and drop references */
    /* The concurrency contract (session.h): builders in progress and
     * session runs in progress; each side refuses to start while the
     * other is at work (tg__build_begin, tg__run_begin). */
    atomic_int building, running;
    tg_code code;
    char *message;

    tg_op **ops;
    int n_ops, cap_ops;
    int n_tensors;
    tg__strmap op_by_name;
    tg__strmap names_in_use; /* lower-cased name -> count, as TF's unique_name */

    tg__scope_entry *stack;
    int depth, cap_stack;
    const char *name_scope; /* "" or "a/b/" */
    tg__var_scope var_scope;
    tg__strmap var_scope_counts; /* scope name -> times opened */

    tg_variable **vars;
    int n_vars, cap_vars;
    tg__strmap var_by_name;

    tg__collection *colls;
    int n_colls, cap_colls;
    /* Objects built on the graph (optimizers, savers, layers, EMA) that it
     * frees with itself: tg_graph_own. */
    struct tg__owned {
        void *obj;
        void (*free_fn)(void *obj);
    } *owned;
    int n_owned, cap_owned;
    tg__strmap coll_by_key; /* key -> index + 1 */

    tg__strmap object_uids; /* base name -> count, for tg_graph_unique_object_name */

    bool has_seed;
    int64_t seed;

    tg__cond_ctx *cond_ctx; /* current cond context (tg_cond), NULL outside */

    /* lint.c: checks added with tg_graph_add_lint, and what the built-in
     * checks learn while the graph is built: control-dependency blocks that
     * created no op (their ops' names), and global-variable initializers
     * with the number of global variables they cover. */
    struct tg__lint_hook {
        const char *name;
        tg_lint_fn fn;
        void *user;
    } *lints;
    int n_lints, cap_lints;
    /* The fewest ops tg_get_collection_ops ever returned for UPDATE_OPS,
     * or -1 (stale_collection). Atomic: readers of a const graph may run
     * on several threads. */
    atomic_int update_ops_read;
    const char **empty_blocks;
    int n_empty_blocks, cap_empty_blocks;
    struct tg__init_note {
        const tg_op *op;
        int n_vars;
    } *inits;
    int n_inits, cap_inits;

    /* builder transactions (txn.c) */
    int txn_depth;
    tg__undo *undo;
    int n_undo, cap_undo;
};

/* The most elements one value may have: its byte size must fit in an
 * int64 and a size_t for every dtype. */
#define TG__MAX_ELEMENTS ((int64_t)1 << 59)

/* Grows a malloc'd array to hold at least `need` elements. */
bool tg__grow(void **arr, int *cap, int need, size_t elem);

/* TF's Graph.unique_name: prefix with the name scope and uniquify;
 * marks the result used when `mark`. Arena string, NULL when out of memory. */
const char *tg__unique_name(tg_graph *g, const char *name, bool mark);
/* TF's op-name rule: [A-Za-z0-9.][A-Za-z0-9_.\-/]* */
bool tg__valid_name(const char *name);

/* Variable store (used by tg_get_variable in src/ops). The key is the
 * name asked for, which is the op's name unless that was taken (TF keeps
 * the requested name in its store then too). key must live in the arena;
 * NULL keeps the variable out of the store (TF's tf.Variable). */
bool tg__register_variable(tg_graph *g, tg_variable *v, const char *key);
const tg__var_scope *tg__current_var_scope(const tg_graph *g);
/* Writes what is still open on the scope stack into buf; returns the
 * number of open entries (0: nothing open, buf untouched). */
int tg__open_scopes_message(const tg_graph *g, char *buf, size_t size);
/* Passes a message to the user's log callback (tg_set_log_callback). */
void tg__log(tg_code code, const char *message);
/* The same for build problems: stderr until the program sets a callback. */
void tg__log_build(tg_code code, const char *message);

/* Array helpers. */
size_t tg__array_nbytes(const tg_array *a);
bool tg__array_reshape(tg_array *a, tg_dtype dtype, int rank, const int64_t *dims);
void tg__array_release(tg_array *a);
bool tg__shape_compatible(const tg_shape *a, const tg_shape *b);
/* Every dim known, but more elements than a value may have
 * (TG__MAX_ELEMENTS): "too many elements", not "must be fully defined". */
bool tg__shape_too_large(const tg_shape *s);
bool tg__array_matches_shape(const tg_array *a, const tg_shape *s);

/* What the empty_control_dependencies lint learns (lint.c): a
 * control-dependencies block over ops ended with no op created in it. Out
 * of memory only loses the note. */
void tg__lint_note_empty_block(tg_graph *g, tg_op *const *ops, int n);

/* The UPDATE_OPS check (lint.c): when the ops marked in `needed` include
 * one that trains, a malloc'd warning naming the UPDATE_OPS ops left out
 * (and their count in *n_stale); NULL when there is nothing to say, or
 * with *n_stale -1 when memory ran out (a cached plan must not lose it). */
char *tg__lint_update_ops(const tg_graph *g, const char *needed, int *n_stale);

/* Maps the builders change go through tg__map_put while a builder
 * transaction (txn.h) is open: it journals the old entry first (false,
 * changing nothing, when out of memory). */
bool tg__map_put(tg_graph *g, tg__strmap *m, const char *key, void *val);

/* Session-side hooks for the executor. */
void tg__graph_ref(tg_graph *g);

/* The graph side of the concurrency contract. A builder that changes what
 * sessions read (ops, variables, collections) brackets the change with
 * tg__build_begin / tg__build_end; begin fails, with a sticky
 * FAILED_PRECONDITION naming `what`, while a session runs the graph on
 * another thread. A run brackets itself with tg__run_begin / tg__run_end;
 * begin returns false while a builder is at work. Sequentially consistent
 * atomics make at least one of two racing sides see the other. */
bool tg__build_begin(tg_graph *g, const char *what);
void tg__build_end(tg_graph *g);
bool tg__run_begin(tg_graph *g);
void tg__run_end(tg_graph *g);

#endif
