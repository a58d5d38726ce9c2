/* tgraph/control_flow_ops.h: tf.no_op, tf.group, tf.Assert, tf.tuple, tf.cond,
 * tf.case and tf.while_loop.
 * Error model as in array_ops.h. */
#ifndef TGRAPH_CONTROL_FLOW_OPS_H
#define TGRAPH_CONTROL_FLOW_OPS_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tf.no_op(name): "NoOp", an op that does nothing; useful as a target that
 * gathers control inputs. */
TG_API tg_op *tg_no_op(tg_graph *g, const char *name);

/* tf.group(*inputs, name): a NoOp "group_deps" (or `name`) with a control
 * input on each op. Errors: sticky INVALID_ARGUMENT for a NULL op. */
TG_API tg_op *tg_group(tg_graph *g, tg_op *const *ops, int n, const char *name);

/* tf.Assert(condition, data, summarize, name): an "Assert" op, named
 * "Assert/Assert" (or "<name>/Assert"), with no outputs: run it as a target
 * or, the usual way, make it a control input of what must wait for the
 * check:
 *
 *     tg_op *check = tg_assert(g, tg_less(g, x, limit, NULL), &x, 1, 3, NULL);
 *     TG_WITH_CONTROL_DEPENDENCIES(g, &check, 1) { y = tg_identity(g, x, NULL); }
 *
 * When condition is false at run time, the run fails with INVALID_ARGUMENT
 * "assertion failed: [v0 v1 v2...] [w0...]": each data tensor's first
 * summarize elements in tg_print's format (TF's summarize=None is 3;
 * negative: all). When true it does nothing. TF builds a cond around the op
 * unless every data tensor is int32; tgraph always builds the op alone,
 * which behaves the same. data may be NULL when n_data is 0.
 * Ownership: the op belongs to the graph; the data array is copied.
 * Errors (sticky INVALID_ARGUMENT): a condition that is not bool ("Input
 * 'condition' of 'Assert' Op has type float32 that does not match expected
 * type of bool.") or whose static shape is not a scalar ("In[0] should be
 * a scalar: [2]"; shape [1] passes, as in TF), a NULL entry in data, a
 * negative n_data or a NULL data with n_data > 0. A condition whose shape
 * is only known at run time is checked then, with the same message. */
TG_API tg_op *tg_assert(tg_graph *g, tg_tensor *condition, tg_tensor *const *data, int n_data, int64_t summarize,
                        const char *name);

/* tf.Assert(condition, ["message", data...], summarize, name): TF's usual
 * idiom, a string first in data, which tgraph (no string dtype) takes as
 * message: a failed check reports "assertion failed: [message] [v0 v1
 * v2...]", exactly TF's text for that idiom. message NULL is tg_assert.
 * Ownership: message is copied. Errors: as tg_assert. */
TG_API tg_op *tg_assert_message(tg_graph *g, tg_tensor *condition, const char *message, tg_tensor *const *data,
                                int n_data, int64_t summarize, const char *name);

/* tf.tuple(tensors, name, control_inputs): outputs[i] is tensors[i] passed
 * through an "Identity" that also waits for every tensor in the list (and
 * every control input), so none of them can be used before all are
 * computed. As TF builds it, in name scope "tuple" (or name): a NoOp
 * "tuple/group_deps" with a control input on each distinct op producing a
 * tensor or listed in control_inputs (ordered by creation), then an
 * Identity "tuple/control_dependency", "tuple/control_dependency_1", ...
 * per tensor with a control input on that NoOp. A NULL entry (TF's None)
 * gives a NULL output. control_inputs may be NULL when n_control is 0.
 * Ownership: outputs is the caller's array of n entries; the tensors belong
 * to the graph.
 * Returns TG_OK or the graph's sticky error: INVALID_ARGUMENT "Must have at
 * least one Tensor" when no entry is a tensor and there is no control
 * input, for a negative count, a NULL list with a positive count, a NULL
 * outputs or a NULL control input. On failure every outputs[i] is NULL. */
TG_API tg_code tg_tuple(tg_graph *g, tg_tensor *const *tensors, int n, tg_op *const *control_inputs, int n_control,
                        tg_tensor **outputs, const char *name);

/* ---- tf.cond (control_flow_cond.c) ------------------------------------------ */

/* A branch of tg_cond: builds its ops on g (user is tg_cond's ctx), stores
 * its results in outs[0..] and returns how many it stored (at most n_outs).
 * It records its own errors on g as any builder does (tg_graph_fail);
 * a negative count also means it failed. */
typedef int (*tg_cond_fn)(tg_graph *g, void *user, tg_tensor **outs, int n_outs);

/* tf.cond(pred, true_fn, false_fn, name) in graph mode, as TF 1.15 builds
 * it. In name scope "cond" (or name, made unique): "Switch" of pred on
 * itself, Identities "switch_t" and "switch_f" of its outputs (the branch
 * pivots) and "pred_id" of pred; then true_fn is called inside the true
 * branch's context and false_fn inside the false one's, and output i is
 * output 0 of a "Merge" of (false result i, true result i). Each branch
 * result first goes through an Identity made in its branch.
 *
 * At run time only the taken branch runs: every tensor made OUTSIDE the
 * branch functions and read inside one reaches it through a Switch on
 * pred_id (one per tensor per branch), whose other output is dead, and the
 * executor skips ops with dead inputs. Ops made outside and only used
 * inside still run on every run whichever branch is taken (TF's famous
 * pitfall: an assign made before tg_cond); make side effects inside the
 * branch function. An op without inputs made in a branch gets a control
 * input on the branch's pivot. Control dependencies declared inside a
 * branch stay inside it; tg_control_dependencies_push(g, NULL, 0) inside a
 * branch leaves the cond context, as in TF. Conds nest (a tensor of an
 * outer branch used in an inner one gets the inner Switch). Ops of a
 * branch, the Switches and the pivots cannot be fetched or run as targets
 * (TF's "Operation '...' has been marked as not fetchable."); fetch the
 * outputs. A tensor of a branch used by an op outside the cond is allowed,
 * as in TF, but is dead (and its consumers skipped) when the branch is not
 * taken; fetching a dead tensor fails the run with INTERNAL "Retval[i] does
 * not have value".
 *
 * pred: a scalar bool tensor. tg_cond always builds Switch and Merge, even
 * for a constant pred (as tf.cond does); tg_smart_cond folds a constant.
 *
 * Gradients (tg_gradients) follow TF 1.15's: the gradient reaching output i
 * is switched on pred ("<merge>_grad/cond_grad", a Switch), and each branch's
 * gradient ops are built inside that branch's context, so at run time only
 * the taken branch's gradient ops run and the others are skipped. A tensor
 * from outside that a branch read gets a Merge ("<switch>_grad/cond_grad")
 * of the taken branch's gradient and zeros from the other side, so a
 * tensor used in one branch only gets zeros when the other is taken, not
 * None; pred gets none. Gradient ops made in a branch cannot be fetched,
 * like the branch's own ops. Gradients of such gradients work too.
 *
 * Ownership: ctx is passed to the branch functions and not kept; outputs is
 * the caller's array of n_outputs entries; the tensors belong to the graph.
 * Returns TG_OK or the graph's sticky error, with every outputs[i] NULL on
 * failure: INVALID_ARGUMENT for a missing function, a NULL outputs or
 * n_outputs < 1, a pred that is not a scalar bool, a branch that returns
 * nothing ("cond: true_fn must have a return value."), a NULL result, more
 * results than n_outputs, branches that return different counts ("cond:
 * Incompatible return values of true_fn and false_fn: ...") or fewer than
 * n_outputs, or results whose dtypes differ (from Merge); a branch's own
 * error as it recorded it. The branch built before a failure stays in the
 * graph, as in TF. */
TG_API tg_code tg_cond(tg_graph *g, tg_tensor *pred, tg_cond_fn true_fn, tg_cond_fn false_fn, void *ctx,
                       tg_tensor **outputs, int n_outputs, const char *name);

/* TF's smart_cond (tf.contrib.framework.smart_cond, what tf.layers and
 * contrib batch_norm use): when pred is a constant (tg_tensor_static_bool)
 * only the matching function is called, directly in the current scope and
 * without any Switch, Merge or Identity; otherwise tg_cond. Same ownership
 * and errors as tg_cond; with a constant pred the function's results are
 * returned as they are, and a count other than n_outputs or a NULL result
 * is INVALID_ARGUMENT naming "smart_cond" (or name). */
TG_API tg_code tg_smart_cond(tg_graph *g, tg_tensor *pred, tg_cond_fn true_fn, tg_cond_fn false_fn, void *ctx,
                             tg_tensor **outputs, int n_outputs, const char *name);

/* ---- tf.case (control_flow_cond.c) ------------------------------------------ */

/* A (pred, fn) pair of tg_case; fn gets ctx as its user argument. */
typedef struct tg_case_pair {
    tg_tensor *pred; /* scalar bool */
    tg_cond_fn fn;
    void *ctx;
} tg_case_pair;

/* tf.case(pred_fn_pairs, default, exclusive, strict, name) in graph mode,
 * built on tg_cond as TF 1.15's _case_helper builds it: the result is that
 * of the first pair whose pred is true (the preds are tested in order), or
 * default_fn's when none is. In name scope "case" (or name, made unique):
 * a tg_cond per pair nested in the previous one's false branch
 * ("case/cond", "case/cond/cond", ...), each pair's fn as a true branch and
 * the default in the innermost false branch; at run time only the taken
 * fn runs. strict has no meaning here (no nested structures).
 *
 * default_fn NULL: as in TF 1.15, the last pair's fn becomes the default
 * (the last pair gets no cond of its own), guarded by two Asserts inside
 * that branch which its ops wait for: one that no earlier pred is true
 * ("Implementation error: selected default action #<n-1> was called, ..."),
 * one that its pred is ("assertion failed: [Input error: None of conditions
 * evaluated as True:] [0 0 0]"), so a run where no pred holds fails with
 * INVALID_ARGUMENT. A single pair without default builds no cond at all.
 *
 * exclusive: before the conds, TF's check that at most one pred is true
 * (Stack "preds_c", Cast, Sum "num_true_conds", Const "n_true_conds",
 * LessEqual, "Assert/Assert"), a control input of the conds, so a run with
 * two true preds fails with INVALID_ARGUMENT "assertion failed: [Input
 * error: exclusive=True: more than 1 conditions (p0:0, p1:0, p2:0)
 * evaluated as True:] [1 1 0]". As in TF 1.15, without default_fn the last
 * pred is left out of this check (it is the default's).
 * TF passes the message as a string tensor; tgraph has no strings, so
 * these Asserts carry it as an attribute and print it in the same place.
 *
 * Ownership: pairs is read during the call only; each ctx is passed to its
 * fn and not kept; outputs is the caller's array of n_outputs entries; the
 * tensors belong to the graph.
 * Returns TG_OK or the graph's sticky error, with every outputs[i] NULL on
 * failure: INVALID_ARGUMENT for n < 1, a NULL pairs or outputs, n_outputs
 * < 1, a NULL pred or fn ("fn for pred <name> must be callable."), a pred
 * that is not bool ("pred must be Tensor of type bool: <name>"), checked
 * before anything is built; then a pred that is not a scalar, and branch
 * errors as tg_cond reports them (the failing cond's scope in the
 * message); the part built before a failure stays in the graph. */
TG_API tg_code tg_case(tg_graph *g, const tg_case_pair *pairs, int n, tg_cond_fn default_fn, void *default_ctx,
                       bool exclusive, tg_tensor **outputs, int n_outputs, const char *name);

/* ---- tf.while_loop (control_flow_while.c) ----------------------------------- */

/* The loop condition of tg_while_loop: builds and returns a scalar bool
 * from the current values vars[0..n_vars) (user is tg_while_loop's ctx).
 * NULL means it failed (its error recorded on g). */
typedef tg_tensor *(*tg_while_cond_fn)(tg_graph *g, void *user, tg_tensor *const *vars, int n_vars);
/* The loop body: builds the next values from vars[0..n_vars), stores them
 * in next[0..n_vars) and returns how many it stored (a negative count means
 * it failed, as for tg_cond_fn). */
typedef int (*tg_while_body_fn)(tg_graph *g, void *user, tg_tensor *const *vars, tg_tensor **next, int n_vars);

/* Start from TG_WHILE_LOOP_OPTS_INIT (base.h explains why). */
typedef struct tg_while_loop_opts {
    unsigned tg__init; /* set by TG_WHILE_LOOP_OPTS_INIT only */
    const char *name;  /* the name scope; default "while" */
    /* Per loop variable, the shape it may have in any iteration (TF's
     * shape_invariants); NULL (default): the shape it enters with, which
     * every iteration must keep. n_shape_invariants must then be the number
     * of loop variables (TG_SHAPE_LIST sets both). */
    const tg_shape *shape_invariants;
    int n_shape_invariants;
    /* A scalar number tensor: the loop stops after this many iterations
     * even if cond still holds. NULL (default): no limit. */
    tg_tensor *maximum_iterations;
    /* TF's parallel_iterations (default 10, must be >= 1): recorded on the
     * Enter ops; tgraph runs iterations one after another, so it changes
     * nothing else. */
    int parallel_iterations;
    bool back_prop;   /* default true; false: tg_gradients passes nothing through the loop */
    bool swap_memory; /* TF's GPU-to-host swapping; accepted, nothing to swap on a CPU */
} tg_while_loop_opts;
#define TG__TAG_tg_while_loop_opts 0x958ce030u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_while_loop_opts \
    .tg__init = TG__TAG_tg_while_loop_opts, .parallel_iterations = 10, .back_prop = true
#define TG_WHILE_LOOP_OPTS_INIT {TG__DEFAULTS_tg_while_loop_opts}

/* tf.while_loop(cond, body, loop_vars, shape_invariants, parallel_iterations,
 * back_prop, swap_memory, name, maximum_iterations) in graph mode, as TF
 * 1.15 builds it: while cond(vars) holds, vars = body(vars); outputs[i] is
 * loop variable i's final value. In name scope "while" (or name): per loop
 * variable an "Enter" into the frame "while/while_context", a "Merge" of
 * it and the "NextIteration" that carries the body's result back, a
 * "Switch" on the "LoopCond" made from cond's result, an "Identity" of the
 * Switch's true side (what body receives) and an "Exit" of its false side
 * (the output). cond is called on the Merges, body on the Identities; each
 * is called once, at build time: the ops they make run once per iteration.
 *
 * At run time the executor runs the loop's ops again for each iteration
 * (tg_session_op_run_count counts every one) until cond is false; TF's
 * parallel iterations are run one after another. A tensor made outside the
 * loop and read inside gets an Enter marked constant (one per tensor) and
 * keeps its value in every iteration; an op in the body that reads only such
 * values, or nothing, waits for the body's pivot (the first Identity), so
 * that it runs once per iteration and not once more when cond turns false.
 * Side effects (tg_assign_add on a variable, tg_print) made inside body
 * happen once per iteration; made outside they happen once per run. conds
 * (tg_cond) and loops nest inside body, and a loop may be built inside a
 * tg_cond branch. Only the outputs can be used outside the loop: any other
 * tensor of the loop used by an op outside it is an error ("Cannot use
 * 'while/add' as input to ... because 'while/add' is in a while loop"), and
 * the loop's ops cannot be fetched or fed. A run whose cond never turns
 * false does not return, as in TF.
 *
 * maximum_iterations: as TF, an extra first loop variable, a counter
 * "iteration_counter" of the limit's dtype starting at 0, and cond becomes
 * counter < limit && cond(vars). shape_invariants: each Enter gets the
 * invariant's shape, which must be at least as general as the initial
 * value's ("The shape invariant specified for x:0 is not compatible with
 * the initial shape of the loop variable. It enters the loop with shape
 * (2,), but the specified shape invariant is (3,).").
 *
 * Gradients (tg_gradients) follow TF 1.x's: a gradient loop in its own
 * frame runs as many iterations as the forward loop did (its counter
 * "f_count" is added to the forward loop; the gradient loop counts it down
 * in "b_count"), each forward value a gradient needs is pushed on a stack
 * ("f_acc", StackV2 / StackPushV2) by the forward loop and popped
 * (StackPopV2) by the gradient loop in reverse order, and tensors from
 * outside read in the body get their gradients summed over the
 * iterations ("b_acc"). The gradient of while(i < 10: x *= 2) with respect to
 * x is 1024. Not supported (UNIMPLEMENTED from tg_gradients, naming the
 * op): gradients through a loop nested in another loop or in a tg_cond
 * branch, of a tg_cond inside a loop body, and gradients of gradients
 * through a loop.
 *
 * Cost: a plan with loops orders its steps once when it is made; each
 * iteration resets the liveness of the loop's values (a pass over its
 * steps) and a NextIteration copies its value; stack pushes copy each
 * value. Buffers are kept between runs, so steady-state runs do not
 * allocate unless a run needs more iterations than any before.
 *
 * Ownership: ctx is passed to cond and body and not kept; loop_vars is read
 * during the call; outputs is the caller's array of n entries; the tensors
 * belong to the graph. opts NULL means TF's defaults.
 * Returns TG_OK or the graph's sticky error, with every outputs[i] NULL on
 * failure: INVALID_ARGUMENT for n < 1 ("No loop variables provided"), a
 * NULL cond or body ("cond must be callable."), NULL outputs or loop
 * variable, parallel_iterations < 1 ("parallel_iterations must be a
 * positive integer."), a maximum_iterations that is not a scalar number
 * ("maximum_iterations must be a scalar, saw shape: (2,)"), a count of
 * shape invariants other than n or an incompatible one, a cond result that
 * is not a scalar bool (from LoopCond), a body that returns another number
 * of tensors ("Number of inputs and outputs of body must match loop_vars:
 * 2, 1"), a NULL result, a result of another dtype, or one whose shape
 * breaks its invariant ("Input tensor 'x:0' enters the loop with shape
 * (2,), but has shape (4,) after one iteration. To allow the shape to vary
 * across iterations, use the `shape_invariants` argument of tf.while_loop
 * to specify a less-specific shape."); cond's or body's own error. The
 * part built before a failure stays in the graph, as in TF. */
TG_API tg_code tg_while_loop(tg_graph *g, tg_while_cond_fn cond, tg_while_body_fn body, void *ctx,
                             tg_tensor *const *loop_vars, int n, tg_tensor **outputs, const tg_while_loop_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
