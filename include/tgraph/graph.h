/* tgraph/graph.h: graphs, ops and tensors, name scopes, collections,
 * control dependencies and DOT export (tf.Graph and tf.GraphKeys). */
#ifndef TGRAPH_GRAPH_H
#define TGRAPH_GRAPH_H

#include <stdio.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- graph lifetime and the sticky error ------------------------------- */

/* A new, empty graph (tf.Graph()).
 * Ownership: the caller frees it with tg_graph_free; sessions created on it
 * keep it alive until they are freed too. Errors: NULL when out of memory. */
TG_API tg_graph *tg_graph_new(void);

/* Drops the caller's reference: the graph and everything in it (ops, tensors,
 * variables, names) is freed once no session uses it. NULL is ignored. */
TG_API void tg_graph_free(tg_graph *g);

/* The first construction error recorded on g, TG_OK if none. Once a builder
 * fails, every later builder on g returns NULL and adds nothing, so one check
 * after building a model is enough. A NULL graph reads as INVALID_ARGUMENT. */
TG_API tg_code tg_graph_status(const tg_graph *g);

/* The message of the first error ("" when OK), naming the op or variable,
 * e.g. "dense/MatMul: inner dimensions 3 and 4 do not match".
 * Ownership: owned by g, valid until the status is cleared or g is freed. */
TG_API const char *tg_graph_message(const tg_graph *g);

/* Clears the sticky error and returns the code it had. Safe because a
 * builder that rejected its arguments left no trace in the graph. */
TG_API tg_code tg_graph_clear_status(tg_graph *g);

/* Records a sticky construction error (printf-style message) as tgraph's
 * own builders do, for code that builds on the public API (layers,
 * optimizers, your own composite builders). The first error wins; later
 * calls change nothing. Returns code. A NULL graph is ignored. */
TG_API tg_code tg_graph_fail(tg_graph *g, tg_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* For builders whose options struct has a TG_*_OPTS_INIT macro (base.h):
 * true when tag (the struct's tg__init) is `expected`, the tag that struct's
 * INIT macro sets (each struct has its own, TG__TAG_<type>, so a struct of
 * another type passed through a void pointer is refused too); otherwise
 * records INVALID_ARGUMENT "<fn>: options not started from <init> ..." on g
 * and returns false, so a compound literal or a zeroed struct never means
 * zeros silently. A NULL graph gives false. Errors: as said. */
TG_API bool tg_graph_check_opts(tg_graph *g, unsigned tag, unsigned expected, const char *fn, const char *init);
/* For builders taking a list option and its count (collections): true when
 * they agree (NULL with 0, or a list of n > 0 non-NULL names); otherwise
 * records INVALID_ARGUMENT naming the option ("<who>: option '<what>' is
 * given with n_<what> 0 (TG_LIST sets both)", "... collection 1 of 2 is
 * NULL") and returns false, since a list without its count would be
 * silently empty. A NULL graph gives false. Errors: as said. */
TG_API bool tg_graph_check_list(tg_graph *g, const char *who, const char *what, const char *const *list, int n);
/* For tgraph's own builders: out = *opts when it carries T's tag, TF's
 * defaults (INIT) when opts is NULL; false, with the error above, otherwise. */
#define TG__OPTS_RESOLVE(g, fn, T, INIT, opts, out)                                                         \
    ((opts) ? (tg_graph_check_opts((g), (opts)->tg__init, TG__TAG_##T, (fn), #INIT) && ((out) = *(opts), true)) \
            : ((out) = (T)INIT, true))

/* Keras' backend.unique_object_name: a per-graph counter per base name,
 * separate from op names. zero_based false gives "dense_1", "dense_2", ...;
 * true gives "dense", "dense_1", ... Writes the name into buf (truncated to
 * size) and returns its length, or -1 for a NULL argument or out of memory.
 * For layer objects and other named things that are not ops. */
TG_API int tg_graph_unique_object_name(tg_graph *g, const char *base, bool zero_based, char *buf, size_t size);

/* For objects built on a graph (tgraph's optimizers, savers, layers and EMA
 * objects, and your own): the graph calls free_fn(obj) when it is freed,
 * newest first, so such objects need no free of their own. A free_fn may
 * free owned objects made before obj (they are still alive, and their _free
 * disowns them), never ones made after it (already freed). Returns false (and adds nothing) for a NULL
 * argument or an object already owned, or with a sticky RESOURCE_EXHAUSTED
 * when out of memory. tg_graph_disown takes obj back (the object's own _free
 * calls it), so an object freed early is not freed twice. An owned object
 * must not be freed after its graph: the graph has freed it. Errors: as
 * said. */
TG_API bool tg_graph_own(tg_graph *g, void *obj, void (*free_fn)(void *obj));
TG_API void tg_graph_disown(tg_graph *g, void *obj);

/* ---- attachments: per-graph state of code built on the public API -------
 * A layer or optimizer that keeps something per graph (tgraph's batch-norm
 * records that tg_describe_batch_norm reads, the Savers a lint checks)
 * attaches it under a key and finds it again from the graph alone. */

/* Attaches obj to g under key (copied; prefix your own keys, e.g.
 * "mylib.cache"): g owns obj as tg_graph_own does and calls free_fn(obj)
 * when it is freed, in the same newest-first order, so objects owned later
 * (a Saver attached to a list made before it) can still use it from their
 * own free_fn. Attachments are not part of builder transactions: a builder
 * that fails leaves an attachment it made. Returns false and adds nothing
 * for a NULL argument, a key already attached, or an object already owned;
 * with a sticky RESOURCE_EXHAUSTED when out of memory. Errors: as said. */
TG_API bool tg_graph_attach(tg_graph *g, const char *key, void *obj, void (*free_fn)(void *obj));

/* The object attached to g under key, or NULL (no error) when none is, or
 * for a NULL argument. Ownership: g's. */
TG_API void *tg_graph_attachment(const tg_graph *g, const char *key);

/* Sets the graph-level random seed (tf.set_random_seed). Random ops created
 * afterwards derive their seeds from it exactly as TF does: with a graph seed
 * and no op seed, the op seed is the op's creation index. Errors: none. */
TG_API void tg_graph_set_random_seed(tg_graph *g, int64_t seed);

/* Called with every error recorded on any graph or session (code, message,
 * user pointer) the moment it is recorded. Until a program sets one, build
 * errors (the first error of a graph, its sticky one) go to stderr through
 * tg_log_stderr, so a model that fails to build says where at once even if
 * the program never checks tg_graph_status; run errors, which
 * tg_session_run returns, are not printed. NULL silences everything. Not
 * thread-safe: set it once at start-up. Errors: none. */
typedef void (*tg_log_fn)(tg_code code, const char *message, void *user);
TG_API void tg_set_log_callback(tg_log_fn fn, void *user);
/* Writes "tgraph: CODE_NAME: message" and a newline to stderr. Errors: none. */
TG_API void tg_log_stderr(tg_code code, const char *message, void *user);

/* ---- ops and tensors ----------------------------------------------------- */

TG_API const char *tg_op_name(const tg_op *op);  /* "dense/MatMul"; owned by the graph */
TG_API const char *tg_op_type(const tg_op *op);  /* "MatMul"; static string */
TG_API int tg_op_num_inputs(const tg_op *op);
TG_API tg_tensor *tg_op_input(const tg_op *op, int i);          /* NULL if i is out of range */
TG_API int tg_op_num_control_inputs(const tg_op *op);
TG_API tg_op *tg_op_control_input(const tg_op *op, int i);      /* NULL if i is out of range */
TG_API int tg_op_num_outputs(const tg_op *op);
TG_API tg_tensor *tg_op_output(const tg_op *op, int i);         /* NULL if i is out of range */
TG_API tg_graph *tg_op_graph(const tg_op *op);

/* "name:0". Ownership: owned by the graph. */
TG_API const char *tg_tensor_name(const tg_tensor *t);
TG_API tg_op *tg_tensor_op(const tg_tensor *t);
TG_API int tg_tensor_index(const tg_tensor *t);
TG_API tg_dtype tg_tensor_dtype(const tg_tensor *t);
/* The static shape inferred at construction; TG_SHAPE_UNKNOWN for NULL. */
TG_API tg_shape tg_tensor_shape(const tg_tensor *t);

/* Look-ups (tf.Graph.get_operation_by_name / get_tensor_by_name). They return
 * NULL when the name is absent and record no error: absence is an answer. */
TG_API tg_op *tg_graph_op(const tg_graph *g, const char *name);
TG_API tg_tensor *tg_graph_tensor(const tg_graph *g, const char *name);

/* Number of ops, and the i-th in creation order (tf.Graph.get_operations). */
TG_API int tg_graph_num_ops(const tg_graph *g);
TG_API tg_op *tg_graph_op_at(const tg_graph *g, int i);

/* ---- the scope stack: name scopes, variable scopes, control dependencies --
 *
 * TF1's `with` blocks are a stack. Each push returns a token (the depth before
 * the push); tg_scope_pop(g, tok) pops every entry above it, so an outer pop
 * also repairs an inner block that was left by an early return. Popping to a
 * depth above the current one (a token already popped) is a sticky
 * FAILED_PRECONDITION error. The TG_WITH_* macros below do push and pop around
 * a block. With gcc and clang (__attribute__((cleanup))) leaving the block by
 * `break`, `return` or `goto` pops it too; other compilers skip the pop then,
 * and tg_graph_check_scopes (or the warning of tg_session_new) names the
 * scope left open. Unlike Python's `with`, a block is a one-pass loop in C:
 * `break` or `continue` inside it leaves the block, not a loop around it. */

/* Enters name scope `name` (tf.name_scope): uniquified like an op name
 * ("loss", then "loss_1"); a name ending in '/' re-enters that exact scope;
 * NULL or "" resets to the root scope. Returns the token for tg_scope_pop. */
TG_API int tg_name_scope_push(tg_graph *g, const char *name);

/* The current name scope with a trailing '/' ("" at the root).
 * Ownership: owned by g, valid until the scope stack changes. */
TG_API const char *tg_graph_name_scope(const tg_graph *g);

/* Pops the scope stack back to `token` (see above). Errors: sticky
 * FAILED_PRECONDITION when token is above the current depth. */
TG_API void tg_scope_pop(tg_graph *g, int token);

/* Current depth of the scope stack; tokens are depths. */
TG_API int tg_scope_depth(const tg_graph *g);

/* Enters tf.control_dependencies(ops): ops created until the matching pop get
 * control inputs on `ops` (union with enclosing blocks, without duplicates,
 * skipping ops already implied by a data input created in the block).
 * ops == NULL with n == 0 clears all enclosing blocks for the body, as
 * control_dependencies(None) does. Ops created before the block are not
 * affected: wrap a tensor with tg_identity inside the block to order it.
 * Ownership: the list is copied. Errors: sticky INVALID_ARGUMENT for a NULL
 * op in the list or an op of another graph. */
TG_API int tg_control_dependencies_push(tg_graph *g, tg_op *const *ops, int n);

/* The control inputs an op created now would get, in order (for teaching and
 * tests). Returns the count and stores a pointer to a list owned by g, valid
 * until the scope stack changes, in *ops (when ops is not NULL). */
TG_API int tg_graph_control_dependencies(const tg_graph *g, tg_op *const **ops);

#define TG__CAT2(a, b) a##b
#define TG__CAT(a, b) TG__CAT2(a, b)
/* FAILED_PRECONDITION (sticky) when the scope stack is not empty, naming the
 * outermost open scope ("name scope 'loss/'", "variable scope 'layer1'",
 * "control_dependencies block"): a block left early on a compiler without
 * the cleanup attribute, or a push without its tg_scope_pop. Call it when
 * the model is built. Returns the graph's status (TG_OK when nothing is
 * open and no earlier error). Errors: INVALID_ARGUMENT for a NULL graph. */
TG_API tg_code tg_graph_check_scopes(tg_graph *g);

/* The state of one TG_WITH_* block. tg__with_begin records the token and,
 * with the cleanup attribute, holds a reference on the graph, so a block
 * whose body frees the graph and returns still pops safely; tg__with_end
 * pops at the normal end, tg__with_cleanup on any exit (it pops what is
 * still open and drops the reference). A `break` leaves only the block
 * itself (it is a one-pass loop), not a loop around it. */
typedef struct tg__with_block {
    tg_graph *g;
    int token;
    bool done, ref;
} tg__with_block;
TG_API tg__with_block tg__with_begin(tg_graph *g, int token, bool ref);
TG_API void tg__with_end(tg__with_block *b);
TG_API void tg__with_cleanup(tg__with_block *b);

#if defined(__GNUC__) || defined(__clang__)
#define TG__WITH_CLEANUP __attribute__((cleanup(tg__with_cleanup)))
#define TG__WITH_REF true
#else
#define TG__WITH_CLEANUP
#define TG__WITH_REF false
#endif
#define TG__WITH(g, push)                                                                                    \
    for (tg__with_block TG__CAT(tg__with_, __LINE__) TG__WITH_CLEANUP = tg__with_begin((g), (push), TG__WITH_REF); \
         !TG__CAT(tg__with_, __LINE__).done; tg__with_end(&TG__CAT(tg__with_, __LINE__)))

/* with tf.name_scope(name): */
#define TG_WITH_NAME_SCOPE(g, name) TG__WITH(g, tg_name_scope_push((g), (name)))
/* with tf.control_dependencies(ops[0..n)):  (NULL, 0 is control_dependencies(None)) */
#define TG_WITH_CONTROL_DEPENDENCIES(g, ops, n) \
    TG__WITH(g, tg_control_dependencies_push((g), (ops), (n)))

/* ---- collections ------------------------------------------------------------
 * tf.GraphKeys, with TF's own string values. */
#define TG_GRAPHKEYS_GLOBAL_VARIABLES "variables"
#define TG_GRAPHKEYS_LOCAL_VARIABLES "local_variables"
#define TG_GRAPHKEYS_MODEL_VARIABLES "model_variables"
#define TG_GRAPHKEYS_TRAINABLE_VARIABLES "trainable_variables"
#define TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES "moving_average_variables"
#define TG_GRAPHKEYS_REGULARIZATION_LOSSES "regularization_losses"
#define TG_GRAPHKEYS_UPDATE_OPS "update_ops"
#define TG_GRAPHKEYS_LOSSES "losses"
#define TG_GRAPHKEYS_GLOBAL_STEP "global_step"
#define TG_GRAPHKEYS_TRAIN_OP "train_op"
#define TG_GRAPHKEYS_INIT_OP "init_op"
#define TG_GRAPHKEYS_WEIGHTS "weights"
#define TG_GRAPHKEYS_BIASES "biases"
#define TG_GRAPHKEYS_ACTIVATIONS "activations"

/* A collection holds ops, tensors and variables, like TF's Python lists. */
typedef enum tg_item_kind { TG_ITEM_OP = 1, TG_ITEM_TENSOR, TG_ITEM_VARIABLE } tg_item_kind;
typedef struct tg_item {
    tg_item_kind kind;
    union {
        tg_op *op;
        tg_tensor *tensor;
        tg_variable *variable;
    } u;
} tg_item;

#define TG_ITEM_OF_OP(o) ((tg_item){.kind = TG_ITEM_OP, .u.op = (o)})
#define TG_ITEM_OF_TENSOR(t) ((tg_item){.kind = TG_ITEM_TENSOR, .u.tensor = (t)})
#define TG_ITEM_OF_VARIABLE(v) ((tg_item){.kind = TG_ITEM_VARIABLE, .u.variable = (v)})

/* Appends item to collection `key` (tf.add_to_collection); duplicates are
 * kept, as in TF. Errors: sticky INVALID_ARGUMENT for a NULL key or an item
 * with a NULL handle or of another graph. */
TG_API void tg_add_to_collection(tg_graph *g, const char *key, tg_item item);

/* Appends item to each of keys[0..n) (tf.add_to_collections); a key listed
 * twice gets the item once. Errors: as tg_add_to_collection. */
TG_API void tg_add_to_collections(tg_graph *g, const char *const *keys, int n, tg_item item);

/* A snapshot of collection `key` (tf.get_collection): with a non-NULL scope,
 * only items whose name starts with scope (TF's re.match on a literal prefix;
 * the regex metacharacters '.' and '*' are not interpreted). A missing key is an
 * empty list. Returns the count; *items gets a new array (NULL when empty).
 * Ownership: the caller frees *items with tg_free; the handles in it belong
 * to the graph. Errors: returns -1 and sets *items to NULL when g or key is
 * NULL, or out of memory. */
TG_API int tg_get_collection(const tg_graph *g, const char *key, const char *scope,
                             tg_item **items);

/* The same snapshot as ops: tensors become their producing op, variables
 * their VariableV2 op. Made for tg_control_dependencies_push(g, ops, n) with
 * UPDATE_OPS. Ownership and errors as tg_get_collection. */
TG_API int tg_get_collection_ops(const tg_graph *g, const char *key, const char *scope,
                                 tg_op ***ops);

/* The same snapshot keeping only the variables (GLOBAL_VARIABLES,
 * TRAINABLE_VARIABLES, ...). Ownership and errors as tg_get_collection. */
TG_API int tg_get_collection_variables(const tg_graph *g, const char *key, const char *scope,
                                       tg_variable ***vars);

/* tf.trainable_variables(), tf.global_variables(), tf.local_variables():
 * tg_get_collection_variables on TRAINABLE_VARIABLES, GLOBAL_VARIABLES or
 * LOCAL_VARIABLES with no scope filter (for TF's scope= argument call
 * tg_get_collection_variables with the key). Returns the count; *vars gets a
 * new array in creation order (NULL when empty; vars may be NULL to count).
 * Ownership: the caller frees *vars with tg_free; the variables belong to
 * the graph. Errors: -1 and *vars NULL when g is NULL or out of memory. */
TG_API int tg_trainable_variables(const tg_graph *g, tg_variable ***vars);
TG_API int tg_global_variables(const tg_graph *g, tg_variable ***vars);
TG_API int tg_local_variables(const tg_graph *g, tg_variable ***vars);

/* The same snapshot as tensors: ops become their first output (ops without
 * outputs are dropped), variables their value. For LOSSES and
 * REGULARIZATION_LOSSES. Ownership and errors as tg_get_collection. */
TG_API int tg_get_collection_tensors(const tg_graph *g, const char *key, const char *scope,
                                     tg_tensor ***tensors);

/* The names of every collection, in order of creation. Returns the count and
 * stores a new array of strings owned by the graph in *keys (free the array,
 * not the strings, with tg_free). Errors: -1 when g is NULL or out of memory. */
TG_API int tg_graph_collection_keys(const tg_graph *g, const char ***keys);

/* ---- the UPDATE_OPS check ----------------------------------------------------- */

/* The check on demand, without running anything: if running these fetches
 * and targets would train (an op writes a trainable variable through its
 * reference: the optimizers' Apply* ops, AssignSub, AssignAdd), how many ops in UPDATE_OPS that
 * run would leave out. Returns that count (0: nothing to say) and, when it
 * is not 0 and message is not NULL, a new string naming them and the fix
 * (the same text as tg_run_options.check_update_ops gives).
 * Ownership: the caller frees *message with tg_free. Errors: -1 for a NULL
 * graph or list entry, an op of another graph, or out of memory. */
TG_API int tg_graph_check_update_ops(const tg_graph *g, tg_tensor *const *fetches, int n_fetches,
                                     tg_op *const *targets, int n_targets, char **message);

/* ---- lint: the classic graph-mode mistakes, named with their fix ---------- */

/* What a lint check sees: one run, the ops it would execute (its fetches and
 * targets pulled in through data and control inputs), and the session when
 * a session lints its own run (tg_run_options.lint). */
typedef struct tg_lint_run tg_lint_run;

/* A check: looks at r and reports each finding with tg_lint_report. */
typedef void (*tg_lint_fn)(tg_lint_run *r, void *user);

/* Adds a check that tg_graph_lint and every session's lint run from now on
 * (how layers and optimizers add checks about themselves: batch norm's
 * decay, a Saver's var_list). user must outlive g (tg_graph_own it). The
 * name is the finding's tag ("bn_decay"). Errors: sticky INVALID_ARGUMENT
 * for NULL g, name or fn; RESOURCE_EXHAUSTED out of memory. */
TG_API tg_code tg_graph_add_lint(tg_graph *g, const char *name, tg_lint_fn fn, void *user);

/* The run being linted: its graph; whether it executes op; its fetches and
 * targets (n via *n, owned by r); its session, or NULL when linted without
 * one (tg_graph_lint). Valid during the check only. Errors: none (false,
 * NULL, 0 for NULL arguments). */
TG_API tg_graph *tg_lint_run_graph(const tg_lint_run *r);
TG_API bool tg_lint_run_executes(const tg_lint_run *r, const tg_op *op);
TG_API tg_tensor *const *tg_lint_run_fetches(const tg_lint_run *r, int *n);
TG_API tg_op *const *tg_lint_run_targets(const tg_lint_run *r, int *n);
TG_API tg_session *tg_lint_run_session(const tg_lint_run *r);

/* Reports one finding of check `check` (a short tag: "update_ops"); the
 * text says what is wrong, names the ops or variables, and ends with
 * "Fix: ..." (one line, no trailing newline). Errors: none (out of memory
 * marks the lint failed: tg_graph_lint returns -1). */
TG_API void tg_lint_report(tg_lint_run *r, const char *check, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Lints the run of these fetches and targets without running anything:
 * the graph's own checks (update_ops, empty_control_dependencies,
 * stale_collection, init_before_variables, unordered_variable_access,
 * update_ops_other_scope) and every check added with tg_graph_add_lint,
 * among them those the batch-norm builders and the Saver add
 * (batch_norm_training_at_eval, bn_decay with a session,
 * saver_omits_moving_stats); docs/teaching.md shows each. Returns the number of findings (0: nothing to say);
 * *report (when not NULL) gets them, one per line as "[check] text", or
 * NULL when there are none. Ownership: the caller frees *report with
 * tg_free. Errors: -1 for a NULL graph or list entry, an op of another
 * graph, or out of memory. */
TG_API int tg_graph_lint(tg_graph *g, tg_tensor *const *fetches, int n_fetches, tg_op *const *targets,
                         int n_targets, char **report);

/* ---- DOT export ------------------------------------------------------------ */

/* Writes the graph in Graphviz DOT: one node per op labelled with its name,
 * type and output shapes; data edges solid (labelled with the tensor's shape),
 * control edges dashed grey, control edges from an op in UPDATE_OPS dashed
 * red, reference edges (a variable an Assign or Apply* op writes through)
 * orange; ops nested in a cluster per name scope. Render with `dot -Tpng`.
 * Returns TG_OK, INVALID_ARGUMENT for a NULL argument, or INTERNAL when the
 * stream reports a write error. */
TG_API tg_code tg_graph_write_dot(const tg_graph *g, FILE *out);

/* Options of tg_graph_write_dot_opts and tg_session_write_dot. */
typedef struct tg_dot_options {
    /* Name scopes nested deeper than this many levels are drawn as one node
     * each, labelled with their op count (TensorBoard's collapsed view):
     * with 2, "conv1/BatchNorm/AssignMovingAvg" is inside the node
     * conv1/BatchNorm, and its control edge to the train op stays visible
     * as a dashed edge from that node. Edges between the same two nodes are
     * drawn once, and an edge to or from a node of several ops carries no
     * shape. 0: every op is drawn. */
    int max_depth;
    /* Collections drawn as clusters (n_collections keys, e.g.
     * {TG_GRAPHKEYS_UPDATE_OPS}): the ops of each (a tensor stands for its
     * op, a variable for its VariableV2 op) are drawn one by one, labelled
     * with their full names, in a top-level cluster "collection:
     * update_ops", and nowhere else. DOT puts a node in one cluster only,
     * so a listed collection wins over the op's name scope (collapsed or
     * not) and its cond branch or while frame, and an op in several listed
     * collections goes to the first one listed. A key that names no
     * collection draws nothing. NULL and 0: none. */
    const char *const *collections;
    int n_collections;
    /* TensorBoard's series nodes: five or more ops of one type directly in
     * one scope (outside cond branches and while frames) named x, x_1,
     * x_2, ... (TF's unique names) are one node "x_[0-42]" with their
     * count, such as the gradients' ZerosLike ops; their edges are drawn
     * once. false: each op is its own node. */
    bool group_series;
    /* Adds a legend node saying what the shapes, fills and edge styles
     * mean (tg_session_write_dot always draws one). */
    bool legend;
} tg_dot_options;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_dot_options .max_depth = 0

/* tg_graph_write_dot with options (NULL: every op, as tg_graph_write_dot).
 * Returns TG_OK; INVALID_ARGUMENT for a NULL g or out, a negative
 * max_depth or n_collections, collections NULL with n_collections > 0 or
 * given with n_collections 0, or a NULL key; RESOURCE_EXHAUSTED when out of
 * memory; INTERNAL on a write error. Each error but INTERNAL writes
 * nothing, and its message, naming the argument or field, goes to the log
 * callback (tg_set_log_callback; stderr by default). Nothing is kept. */
TG_API tg_code tg_graph_write_dot_opts(const tg_graph *g, FILE *out, const tg_dot_options *opts);

#ifdef __cplusplus
}
#endif
#endif
