/* tgraph/session.h: runtime values (tg_array) and sessions (tf.Session). */
#ifndef TGRAPH_SESSION_H
#define TGRAPH_SESSION_H

#include <stdio.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- arrays: dense runtime values, row-major ------------------------------ */

/* A zero-filled array. rank 0 is a scalar; dims may be NULL then.
 * Ownership: the caller frees it with tg_array_free.
 * Errors: NULL for a bad dtype, rank outside [0, TG_MAX_RANK], a negative
 * dimension, or out of memory. */
TG_API tg_array *tg_array_new(tg_dtype dtype, int rank, const int64_t *dims);
/* As tg_array_new, then copies tg_array_nbytes bytes from data. */
TG_API tg_array *tg_array_new_from(tg_dtype dtype, int rank, const int64_t *dims,
                                   const void *data);
/* Scalar conveniences. */
TG_API tg_array *tg_array_scalar_f32(float v);
TG_API tg_array *tg_array_scalar_f64(double v);
TG_API tg_array *tg_array_scalar_i32(int32_t v);
TG_API tg_array *tg_array_scalar_i64(int64_t v);
TG_API tg_array *tg_array_scalar_bool(bool v);
/* NULL is ignored. */
TG_API void tg_array_free(tg_array *a);

TG_API tg_dtype tg_array_dtype(const tg_array *a);
TG_API int tg_array_rank(const tg_array *a);
TG_API int64_t tg_array_dim(const tg_array *a, int i); /* -1 if i is out of range */
TG_API tg_shape tg_array_shape(const tg_array *a);
TG_API int64_t tg_array_size(const tg_array *a);        /* number of elements */
TG_API size_t tg_array_nbytes(const tg_array *a);
/* The elements, row-major. Ownership: owned by a; valid until a is freed or
 * passed back to tg_session_run as an output to overwrite. */
TG_API void *tg_array_data(tg_array *a);
TG_API const void *tg_array_cdata(const tg_array *a);
/* Element i as a double, whatever the dtype (bool: 0 or 1); 0 if out of range. */
TG_API double tg_array_get(const tg_array *a, int64_t i);

/* ---- sessions -------------------------------------------------------------------- */

/* Threads (the concurrency contract):
 * - tg_session_run, tg_session_run_opts, tg_session_make_callable and
 *   tg_callable_run on one session may be called from several threads at
 *   once, as TF allows concurrent Session.run. Runs of one session take
 *   turns (one whole run after another, in an order the threads decide),
 *   which is one of the interleavings TF allows; each run's feeds, outputs
 *   and return code are its own, and tg_session_message gives the calling
 *   thread the message of its own last run. Variables are the session's
 *   shared state: a run sees the writes of the runs before it. The trace,
 *   the warnings and the run options are per session (the last run's).
 * - Sessions on one graph, made and freed on any threads, are independent;
 *   the graph's reference count is atomic.
 * - Building on a graph (adding ops, variables, collection items) while a
 *   session runs it on another thread is refused: the builder fails with a
 *   sticky FAILED_PRECONDITION ("a session is running this graph on
 *   another thread") and a run that starts while a builder is at work fails
 *   with FAILED_PRECONDITION; build first, then run. Building one graph
 *   from several threads at once, freeing a session while another thread
 *   runs it, and freeing a graph while another thread builds on it are
 *   not supported (as freeing any object in use).
 */

/* A session on g (tf.Session(graph=g)): it holds a reference on g, so the
 * graph lives until both are freed. Variable values live in the session and
 * persist across runs. Ops may still be added to g afterwards. Equals
 * tg_session_new_opts(g, NULL): intra-op threads as the system picks.
 * Ownership: free with tg_session_free. Errors: NULL when g is NULL, when g
 * is in error (its message stays on g), or out of memory. */
TG_API tg_session *tg_session_new(tg_graph *g);
/* Options for a new session (TF's ConfigProto). A zeroed struct is
 * tg_session_new's behaviour. */
typedef struct tg_session_options {
    /* Threads for one op's work (TF's ConfigProto.intra_op_parallelism_threads):
     * convolutions, fused batch norm, pooling and the optimizers' Apply* ops
     * split their work over this many threads, the calling one included;
     * other ops run on the calling
     * thread, one op at a time (TF's inter-op parallelism is not modelled).
     * 0: the system picks, as in TF: the CPUs the process may run on
     * (sched_getaffinity); bench/README.md has the measurements behind it.
     * 1: tgraph's kernels run on the calling thread only, and OpenBLAS keeps
     * its own setting (OPENBLAS_NUM_THREADS). Above 1, the first convolution
     * run on the threads sets OpenBLAS to one thread for the whole process
     * (openblas_set_num_threads(1)): the GEMMs already run one per thread,
     * and OpenBLAS's own threads would oversubscribe the CPUs.
     * Results do not depend on timing: a given count gives the same bits on
     * every run. Forward values are the same for every count; gradients
     * summed over the batch (Conv2DBackpropFilter) may differ between counts
     * by float rounding. Negative counts are an error. */
    int intra_op_parallelism_threads;
} tg_session_options;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_session_options .intra_op_parallelism_threads = 0

/* tg_session_new with options (tf.Session(graph=g, config=ConfigProto(...))).
 * opts NULL means a zeroed struct; it is read during the call only. The
 * intra-op threads are started here, sleep while no op needs them, and are
 * stopped by tg_session_free.
 * Ownership: free with tg_session_free; the session holds a reference on g,
 * as with tg_session_new.
 * Errors: NULL when g is NULL or in error (its message stays on g), when
 * intra_op_parallelism_threads is negative, or when memory or threads cannot
 * be had. */
TG_API tg_session *tg_session_new_opts(tg_graph *g, const tg_session_options *opts);

/* The intra-op thread count s runs with (0 in the options resolved), 0 for
 * NULL. Errors: none. */
TG_API int tg_session_intra_op_parallelism_threads(const tg_session *s);

/* Frees the session, its variable values, its buffers, its threads and the
 * callables made on it that are still alive. NULL is ignored. */
TG_API void tg_session_free(tg_session *s);

/* A value for a tensor in one run. Any tensor may be fed, not only a
 * placeholder; a fed tensor's producer then does not run for it. */
typedef struct tg_feed {
    tg_tensor *tensor;
    const tg_array *value;
} tg_feed;

/* sess.run(fetches, feed_dict) with extra target ops (TF_SessionRun's
 * targets): runs exactly the ops the fetches and targets need through data and
 * control inputs, each at most once, control inputs first.
 *
 * outputs[0..n_fetches) receive the fetched values. An entry that is NULL on
 * entry gets a new array; a non-NULL entry must be an array from an earlier
 * run (or tg_array_new) and is overwritten in place, reusing its storage when
 * large enough, so a steady training loop allocates nothing.
 * Ownership: the caller owns every output array and frees it with
 * tg_array_free; values are copies that stay valid after later runs. Feeds
 * are read during the call only and not kept. On failure the outputs hold
 * what they held on entry.
 *
 * The order of ops for a (feeds, fetches, targets) combination is computed
 * on its first run and reused, together with its buffers.
 *
 * Returns TG_OK or an error whose message, from tg_session_message, names
 * the op or tensor: INVALID_ARGUMENT for an unfed placeholder ("You must feed
 * a value for placeholder tensor 'x' with dtype float and shape (?, 3)"), a
 * feed of the wrong dtype or shape, a tensor of another graph or a run-time
 * shape error; FAILED_PRECONDITION for reading an uninitialized variable
 * ("Attempting to use uninitialized value w"). A failed run changes no
 * variable that an op not yet run would have changed; the session stays
 * usable. */
TG_API tg_code tg_session_run(tg_session *s, const tg_feed *feeds, int n_feeds,
                              tg_tensor *const *fetches, int n_fetches, tg_array **outputs,
                              tg_op *const *targets, int n_targets);

/* ---- callables (Session.make_callable) ---------------------------------------- */

/* A run bound once to its feed tensors, fetches and targets. */
typedef struct tg_callable tg_callable;

/* sess.make_callable(fetches, feed_list) with extra target ops: the run
 * tg_session_run(s, feeds, ..., fetches, ..., targets, ...) would do, to be
 * repeated with only the feed values. The lists are copied. The op order
 * is found or built by the first tg_callable_run and then kept, so later
 * runs skip the argument checks on the tensors and the plan look-up.
 * Ownership: the callable belongs to s; tg_session_free frees it, and
 * tg_callable_free frees it earlier.
 * Errors: NULL when s is NULL; NULL with tg_session_message saying why for
 * a negative count, a NULL list with a positive count, a NULL entry, a
 * tensor or op of another graph, a tensor listed twice in feeds, more than
 * 4096 entries in a list, or out of memory. */
TG_API tg_callable *tg_session_make_callable(tg_session *s, tg_tensor *const *feeds, int n_feeds,
                                             tg_tensor *const *fetches, int n_fetches,
                                             tg_op *const *targets, int n_targets);

/* Runs c with feed_values[i] fed to the callable's feeds[i]; n_feed_values
 * must equal the callable's n_feeds (a check on the caller's list, as
 * Python checks the argument count). The session's run options
 * (tg_session_set_run_options) apply. outputs[0..n_fetches) as in
 * tg_session_run: NULL entries get new arrays, others are overwritten in
 * place, so a steady loop allocates nothing.
 * Ownership: as tg_session_run; the caller owns the outputs (tg_array_free);
 * feed values are read during the call only.
 * Errors: INVALID_ARGUMENT for NULL c (no message: there is no session to
 * hold it), a count that differs from n_feeds, a NULL feed_values or
 * outputs list where one is needed, or a NULL value; otherwise
 * tg_session_run's errors for the same feeds, fetches and targets (an unfed
 * placeholder, a feed of the wrong dtype or shape, an uninitialized
 * variable, ...), with the message in tg_session_message of its session. */
TG_API tg_code tg_callable_run(tg_callable *c, const tg_array *const *feed_values, int n_feed_values,
                               tg_array **outputs);

/* Frees c before its session does. NULL is ignored. Errors: none. */
TG_API void tg_callable_free(tg_callable *c);

/* Options for one run (TF's RunOptions, plus tgraph's teaching aids). A
 * zeroed struct is a plain run. */
typedef struct tg_run_options {
    /* Keep the ops this run executes, in order, for tg_session_trace. */
    bool trace;
    /* The UPDATE_OPS check: when the run trains (it runs an op that updates
     * a trainable variable) but leaves out ops in UPDATE_OPS, produce a
     * warning naming them and the one-line fix (tg_session_warnings, and the
     * warning callback the first time for each feeds/fetches/targets set).
     * The run itself is not changed. */
    bool check_update_ops;
    /* Numeric faults: after each op of the run, its float outputs are
     * checked for NaN and Inf, and the first op that produced one fails the
     * run with INVALID_ARGUMENT naming it: "layer1/MatMul (MatMul) produced
     * NaN in output 0 (element 5 of 12)". Costs a pass over every float
     * output; off, it costs nothing. tg_check_numerics checks one tensor
     * in the graph instead. */
    bool check_numerics;
    /* Per-op timing (TF's RunOptions(trace_level=FULL_TRACE) and
     * RunMetadata.step_stats): each op the run executes gets its start and
     * duration, read with tg_session_step_stats or written as a Chrome trace
     * (tg_session_write_chrome_trace). Ops skipped in a cond branch not
     * taken get none; an op in a tg_while_loop gets one per iteration. Two
     * clock reads per op; the record's storage is kept by the session and
     * reused, so later runs allocate only when they run more ops. Off, it
     * costs nothing. */
    bool step_stats;
    /* tg_graph_lint on the first run of each feeds/fetches/targets set:
     * every check, with this session (run counts, variable values), and
     * its findings as warnings (tg_session_warnings, the warning callback),
     * the UPDATE_OPS check among them. The run itself is not changed. */
    bool lint;
    /* Race mode: when not 0, ops that do not depend on each other run in an
     * order drawn from this seed (one of the orders TF's executor may pick)
     * instead of creation order, so a missing control dependency shows as
     * results that change with the seed, as they do in TF (an assign and a
     * copying read of one variable, fetched together, read the old value
     * or the new one). Every order drawn respects data and control edges;
     * same seed, same order, whatever ran before; the trace shows the order
     * taken. A tg_while_loop runs as one block, moved as a whole among the
     * other ops, its inside in the order a normal run uses. Cost: a shuffle
     * of the plan's steps per run, no allocation once the plan is built; a
     * race plan is a plan of its own (built on the first race run of the
     * feeds/fetches/targets set) and shares no buffers between its op
     * outputs, so it holds more memory (tg_session_buffer_bytes). In the
     * session's defaults (tg_session_set_run_options) it applies to
     * callables too. */
    uint64_t race_seed;
} tg_run_options;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_run_options .trace = false

/* tg_session_run with options; opts NULL means the session's defaults
 * (tg_session_set_run_options; initially all off). Same ownership and errors
 * as tg_session_run. */
TG_API tg_code tg_session_run_opts(tg_session *s, const tg_feed *feeds, int n_feeds, tg_tensor *const *fetches,
                                   int n_fetches, tg_array **outputs, tg_op *const *targets, int n_targets,
                                   const tg_run_options *opts);

/* Options used by every tg_session_run (and tg_session_run_opts with NULL
 * options) from now on; NULL turns them all off. Errors: none. */
TG_API void tg_session_set_run_options(tg_session *s, const tg_run_options *opts);

/* The warnings of the last run ("" when none). Ownership: owned by s, valid
 * until the session is freed. */
TG_API const char *tg_session_warnings(const tg_session *s);

/* Called with each new warning (see tg_run_options.check_update_ops); NULL
 * removes it. The library never prints warnings itself. */
typedef void (*tg_warning_fn)(const char *message, void *user);
TG_API void tg_session_set_warning_callback(tg_session *s, tg_warning_fn fn, void *user);

/* Receives what a "Print" op (tg_print) writes: one line per run that
 * prints, without the newline ("x=[1 2 3...]"). text is valid during the
 * call only. */
typedef void (*tg_print_fn)(const char *text, void *user);
/* Where s's Print ops write: fn(text, user) from now on; NULL restores the
 * default, TF's, which writes each line and a newline to stderr. Called on
 * the thread that runs the session, once per printing Print op per run.
 * Ownership: user is passed back as given; the library does not keep or
 * free anything of it beyond the session's life.
 * Errors: none (NULL s is ignored). */
TG_API void tg_session_set_print_callback(tg_session *s, tg_print_fn fn, void *user);

/* The ops the last traced run executed, in execution order (a failed run:
 * those that ran), including the ops it skipped because they were in a
 * cond branch that was not taken (tg_session_trace_skipped). Returns the
 * count; *ops (when not NULL) gets an array
 * owned by s, valid until the session is freed or the graph grows and the
 * same run is traced again. 0 when no run was traced. */
TG_API int tg_session_trace(const tg_session *s, tg_op *const **ops);

/* Whether entry i of the trace (tg_session_trace) was skipped rather than
 * run: the op had a dead input (a tg_cond branch not taken) and so, as in
 * TF's executor, did not run and left its outputs dead. Ops pruned away
 * (not needed by the run) are not in the trace at all. False for an i
 * out of range or when no run was traced. Errors: none. */
TG_API bool tg_session_trace_skipped(const tg_session *s, int i);

/* How many times entry i of the trace ran in that run: 1 for an op that
 * ran, 0 for one skipped, the number of iterations for an op in a
 * tg_while_loop (its condition's ops one more than its body's). An op of a
 * loop that ran in some iterations and was dead in others (a cond inside
 * the body) counts the iterations it ran and is not marked skipped. 0 for
 * an i out of range or when no run was traced. Errors: none. */
TG_API int64_t tg_session_trace_run_count(const tg_session *s, int i);

/* Writes the trace as numbered lines "  3  bn/AssignMovingAvg (AssignSub)
 * after: a, b" (the control inputs), so a learner sees the update ops run
 * before the optimizer step; a skipped op's line ends in "[skipped: its
 * cond branch was not taken]", a loop's op that ran more than once in
 * "[ran 10 times]". Errors: INVALID_ARGUMENT for NULL, INTERNAL on a
 * write error. */
TG_API tg_code tg_session_write_trace(const tg_session *s, FILE *out);

/* Draws s's graph in Graphviz DOT (as tg_graph_write_dot_opts; opts NULL:
 * every op) with the last traced run (tg_run_options.trace) overlaid, as
 * TensorBoard draws a run's metadata on its graph: each op that ran is
 * filled (variables and placeholders keep their colour, other ops green)
 * and its label ends "ran once" or "ran 10 times" (an op of a
 * tg_while_loop: once per iteration, its condition's ops one more); an op
 * whose output was fed and that did not run is blue and says "fed"; an op
 * skipped in a tg_cond branch not taken is grey ("skipped: branch not
 * taken") and its branch's cluster says "(not taken)"; an op the run did
 * not execute (pruned: the fetches and targets do not need it; after the
 * op that failed the run; built after the run) has a dashed outline and no
 * fill. A node standing for several ops (a collapsed scope, a series) takes
 * the first of ran, skipped, fed that one of its ops has and says how many
 * ran ("12 of 61 ran"). A legend node explains shapes, fills and edges and
 * counts the ops that ran and were skipped. Reads the trace: call it
 * between runs of s. Nothing is kept.
 * Errors: INVALID_ARGUMENT for a NULL s or out or options that
 * tg_graph_write_dot_opts refuses; FAILED_PRECONDITION when no run of s
 * was traced; RESOURCE_EXHAUSTED when out of memory; INTERNAL on a write
 * error. Each error but INTERNAL writes nothing, and its message goes to
 * the log callback (tg_set_log_callback; stderr by default). */
struct tg_dot_options; /* graph.h */
TG_API tg_code tg_session_write_dot(const tg_session *s, FILE *out, const struct tg_dot_options *opts);

/* One op's execution in a run made with tg_run_options.step_stats (TF's
 * NodeExecStats). */
typedef struct tg_step_stat {
    const tg_op *op;     /* the op; it belongs to the session's graph */
    int64_t start_ns;    /* CLOCK_MONOTONIC, from the start of the run's first op */
    int64_t duration_ns; /* its kernel's wall time, its intra-op threads' work included */
    /* The thread that ran it: 0, the thread that called the run, on which a
     * run's ops execute one after another (intra-op threads work inside an
     * op's duration). The Chrome trace's tid. */
    int thread;
} tg_step_stat;

/* The per-op timing of the last run made with tg_run_options.step_stats
 * (RunMetadata.step_stats), in execution order, one entry per execution
 * (a loop's op once per iteration). A run without the option leaves the
 * record as it was; each run with it replaces it (a failed run: with the
 * ops it executed, the failing one included; a run refused for its
 * arguments before it starts leaves the record as it was). Returns the
 * count, 0 when no run was made with the option; *stats (when not NULL)
 * gets the entries or NULL.
 * Ownership: owned by s, valid until its next run with the option or until
 * it is freed. Errors: 0 and NULL for NULL s. */
TG_API int tg_session_step_stats(const tg_session *s, const tg_step_stat **stats);

/* Writes the record of tg_session_step_stats as Chrome trace JSON, as TF's
 * timeline.Timeline(step_stats).generate_chrome_trace_format() does, for
 * chrome://tracing or Perfetto: {"traceEvents": [...]} with TF's two
 * "process_name" metadata events ("/job:localhost/replica:0/task:0/
 * device:CPU:0 Compute" as pid 0, "... Tensors" as pid 1) and per entry a
 * complete event: "ph":"X", "cat":"Op", "name" the op type, "pid" 0, "tid"
 * the thread, "ts" and "dur" in microseconds, "args" {"name": the op name,
 * "op": the type, "input0".. as TF spells the inputs: "x", "x:1", "^ctl"}.
 * With no record, the metadata events only.
 * Errors: INVALID_ARGUMENT for NULL s or out, INTERNAL on a write error. */
TG_API tg_code tg_session_write_chrome_trace(const tg_session *s, FILE *out);

/* Bytes of op-output memory s keeps between runs: each (feeds, fetches,
 * targets) combination that has run keeps one set of buffers, which ops
 * whose outputs are never alive at the same time share, so a combination
 * holds about the most its tensors need at once (TF's allocator "bytes in
 * use" at the step's peak), not their sum. Variables, feeds, the caller's
 * fetched copies and kernels' scratch space are not counted. Takes the
 * session's turn: waits for a run in progress on another thread.
 * Errors: 0 for NULL s. */
TG_API int64_t tg_session_buffer_bytes(tg_session *s);

/* Why op did or did not run in the last run of s with these fetches and
 * targets (any feeds; with none yet, the run they would make without
 * feeds): the path of data and control edges that pulled it in from a
 * fetch or target ("'train' <-control- 'bn/AssignMovingAvg'"), or that it
 * was skipped in a tg_cond branch not taken, or the fed tensor that cut
 * every path to it, or that no path leads to it (naming UPDATE_OPS when it
 * is there) with the fix. Takes the session's turn (waits for a run on
 * another thread). Ownership: a new string the caller frees with tg_free.
 * Errors: NULL for NULL s or op, a NULL or foreign fetch or target, or out
 * of memory. */
TG_API char *tg_explain(tg_session *s, tg_tensor *const *fetches, int n_fetches, tg_op *const *targets,
                        int n_targets, const tg_op *op);

/* The message of the last tg_session_run, tg_session_make_callable or
 * tg_callable_run on s ("" after success).
 * Ownership: owned by s, valid until its next run. */
TG_API const char *tg_session_message(const tg_session *s);

/* How many times op has run in this session (for teaching and tests: it shows
 * pruning and the at-most-once rule; an op skipped in a cond branch not
 * taken did not run). -1 for an op of another graph. */
TG_API int64_t tg_session_op_run_count(const tg_session *s, const tg_op *op);

#ifdef __cplusplus
}
#endif
#endif
