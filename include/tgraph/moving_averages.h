/* tgraph/moving_averages.h: moving averages (TF 1.15's
 * tensorflow/python/training/moving_averages.py): assign_moving_average,
 * weighted_moving_average and tf.train.ExponentialMovingAverage. Clients of
 * the public API (src/optim).
 *
 * Error model: building, as every builder (tgraph.h): a NULL or erroneous
 * graph, or a NULL input, gives NULL and adds nothing; arguments are checked
 * before anything is built, and a rejected call records a sticky
 * INVALID_ARGUMENT on the graph and returns NULL.
 *
 * TF does not check that a decay lies in [0, 1]; neither does tgraph. */
#ifndef TGRAPH_MOVING_AVERAGES_H
#define TGRAPH_MOVING_AVERAGES_H

#include "base.h"
#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- assign_moving_average ----------------------------------------------------
 *
 * moving_averages.assign_moving_average(variable, value, decay, zero_debias,
 * name). In name scope `name` (NULL or "": "AssignMovingAvg", uniquified as
 * any name scope: "AssignMovingAvg_1", ...):
 * - the tensor "decay" holds 1 - decay: a float32 Const "decay" computed in
 *   double for a number, "sub" (1.0 - decay_t) for a tensor; cast to the
 *   variable's dtype ("Cast") when they differ;
 * - zero_debias false: variable -= (variable - value) * (1 - decay), ops
 *   "sub", "mul" and the AssignSub named exactly after the scope
 *   ("AssignMovingAvg", "bn/AssignMovingAvg").
 * - zero_debias true: TF's _zero_debias. Inside variable_scope(<variable's
 *   name>) nested in the current variable scope, two variables of the
 *   variable's dtype, zeros, not trainable, in GLOBAL_VARIABLES (with the
 *   scope's reuse): "biased" (the variable's shape) and "local_step" (a
 *   scalar), e.g. "outer/outer/v/biased" for variable "outer/v" updated
 *   inside variable scope "outer". Without reuse a name already taken among
 *   that scope's global variables gets "_1", "_2", ... ("biased_1",
 *   "local_step_1"), so each call has its own pair. Each run:
 *     biased    -= (biased - value) * (1 - decay)      ("AssignSub")
 *     local_step += 1                                  ("AssignAdd")
 *     variable   = biased / (1 - (1 - (1 - decay))^local_step)
 *   the last an Assign named after the scope. The exponent's base is
 *   1 - (1 - decay) computed in the variable's dtype, as TF.
 * value must have the variable's dtype and a shape that broadcasts to the
 * variable's. The ops are created in the caller's control-dependency blocks
 * (the debias variables excepted).
 * Returns the op's output: the variable's new value.
 * Ownership: ops and variables belong to the graph.
 * Errors (sticky INVALID_ARGUMENT, NULL back, nothing added): a variable,
 * value or decay tensor of another graph; a variable that is not float32 or
 * float64 (TF would truncate the decay to the integer dtype); value of
 * another dtype ("Tensor conversion requested dtype float32 for Tensor with
 * dtype float64: 'x:0'") or of a shape that does not broadcast to the
 * variable's; a decay tensor that is not a float scalar. */
TG_API tg_tensor *tg_train_assign_moving_average(tg_graph *g, tg_variable *variable, tg_tensor *value,
                                                 double decay, bool zero_debias, const char *name);
/* The same with the decay as a float scalar tensor (float32 or float64). */
TG_API tg_tensor *tg_train_assign_moving_average_t(tg_graph *g, tg_variable *variable, tg_tensor *value,
                                                   tg_tensor *decay, bool zero_debias, const char *name);

/* Keyword arguments of tg_train_assign_moving_average_opts; start from
 * TG_ASSIGN_MOVING_AVERAGE_OPTS_INIT (base.h explains why), or pass NULL. */
typedef struct tg_assign_moving_average_opts {
    unsigned tg__init; /* set by TG_ASSIGN_MOVING_AVERAGE_OPTS_INIT only */
    /* Name scope; NULL or "": "AssignMovingAvg" (uniquified). */
    const char *name;
    /* The decay as a float scalar tensor (float32 or float64); wins over
     * the number when set. */
    tg_tensor *decay_t;
    bool zero_debias; /* TF's zero_debias, default true */
    /* A bool scalar tensor deciding at run time whether this run updates
     * (what TF builds as cond(condition, assign_moving_average, identity),
     * e.g. contrib batch_norm's run-time is_training): when it is false
     * every assignment keeps its old value (variable -= 0; biased -= 0,
     * local_step += 0 with zero-debias) and the result is the variable's
     * current value. The ops are those above plus Select ops choosing the
     * old values ("AssignAdd/value" is then Cast(condition)). NULL: always. */
    tg_tensor *condition;
    /* Collections of the zero-debias variables "biased" and "local_step"
     * when created; NULL: {GLOBAL_VARIABLES}, as TF. A custom getter of the
     * enclosing scope adds its own (contrib's model-variable getter:
     * {GLOBAL_VARIABLES, MODEL_VARIABLES}). TRAINABLE_VARIABLES is never
     * added (they are not trainable). */
    const char *const *debias_collections;
    int n_debias_collections;
} tg_assign_moving_average_opts;
#define TG__TAG_tg_assign_moving_average_opts 0x15e0d99du /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_assign_moving_average_opts .tg__init = TG__TAG_tg_assign_moving_average_opts, .zero_debias = true
#define TG_ASSIGN_MOVING_AVERAGE_OPTS_INIT {TG__DEFAULTS_tg_assign_moving_average_opts}

/* assign_moving_average(variable, value, decay, zero_debias=True, name)
 * with the keyword arguments in opts (NULL: TF's defaults, so zero-debiased)
 * and a run-time condition: the ops, names and checks of
 * tg_train_assign_moving_average. Returns the op's output: the variable's
 * new value (the current one in a run where the condition is false).
 * Ownership: ops and variables belong to the graph; opts is only read.
 * Errors (sticky INVALID_ARGUMENT, NULL back, nothing added): those of
 * tg_train_assign_moving_average, a condition that is not a bool scalar or
 * is of another graph, a bad debias_collections list (negative count, NULL
 * list or key), options not started from TG_ASSIGN_MOVING_AVERAGE_OPTS_INIT. */
TG_API tg_tensor *tg_train_assign_moving_average_opts(tg_graph *g, tg_variable *variable, tg_tensor *value,
                                                      double decay, const tg_assign_moving_average_opts *opts);

/* ---- weighted_moving_average --------------------------------------------------- */

typedef struct tg_weighted_moving_average_opts {
    /* Variable scope name; NULL: default name "WeightedMovingAvg" (uniquified
     * among variable scopes: "WeightedMovingAvg_1", ...). */
    const char *name;
    tg_tensor *decay_t; /* a float scalar tensor; wins over the number */
    /* Collections of the two variables; NULL: {GLOBAL_VARIABLES}, as TF. */
    const char *const *collections;
    int n_collections;
} tg_weighted_moving_average_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_weighted_moving_average_opts .name = NULL

/* moving_averages.weighted_moving_average(value, decay, weight, truediv=True,
 * collections, name): moving_average(value * weight) /
 * moving_average(weight). In its variable scope: the zero-initialized, not
 * trainable variables "value_x_weight" (value's shape and dtype) and
 * "weight" (weight's), each updated with assign_moving_average without
 * zero-debias ("AssignMovingAvg", "AssignMovingAvg_1"); the result is a
 * RealDiv named after the scope's full name inside its name scope
 * ("WeightedMovingAvg/WeightedMovingAvg"), as TF. value and weight are float
 * tensors of one dtype with fully defined shapes that multiply. opts may be
 * NULL. TF's truediv=False (integer division) has no counterpart: the
 * tensors are floats. Ownership: ops and variables belong to the graph.
 * Errors (sticky INVALID_ARGUMENT, NULL back): tensors of another graph, of
 * a non-float dtype, of different dtypes, with shapes not fully defined or
 * that do not broadcast; a bad collection list; a decay tensor that is not
 * a float scalar; and what tg_get_variable reports (e.g. the variables
 * already exist). */
TG_API tg_tensor *tg_train_weighted_moving_average(tg_graph *g, tg_tensor *value, double decay, tg_tensor *weight,
                                                   const tg_weighted_moving_average_opts *opts);

/* ---- tf.train.ExponentialMovingAverage ---------------------------------------------
 *
 * An EMA object keeps a shadow variable per averaged variable or tensor.
 * Ownership: the tg_ema belongs to its graph, which frees it with itself
 * (tg_ema_free frees it earlier); the shadows and ops it creates belong to
 * the graph and outlive it. One EMA object serves one graph. */
typedef struct tg_ema tg_ema;

typedef struct tg_ema_opts {
    const char *name;    /* default "ExponentialMovingAverage" */
    tg_tensor *decay_t;  /* a float scalar tensor; wins over the number */
    /* num_updates (e.g. tg_variable_value of the global step): any numeric
     * scalar, cast to float32 ("num_updates"); the decay used is then
     * min(decay, (1 + num_updates) / (10 + num_updates)). NULL: none. */
    tg_tensor *num_updates;
    /* Zero-debias the averages of tensors (never of variables). Default false. */
    bool zero_debias;
} tg_ema_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_ema_opts .name = NULL

/* tf.train.ExponentialMovingAverage(decay, num_updates, zero_debias, name).
 * opts may be NULL. Builds nothing until applied.
 * Ownership: the graph's (tg_ema_free frees it earlier); opts and the name
 * are copied. Errors: NULL on a NULL or erroneous graph; sticky
 * INVALID_ARGUMENT (and NULL) for an empty name, a decay tensor that is not
 * a float scalar, a decay tensor other than float32 together with
 * num_updates (TF's Minimum would reject it), a num_updates that is not a
 * numeric scalar, a tensor of another graph; RESOURCE_EXHAUSTED when out of
 * memory. */
TG_API tg_ema *tg_train_ema_new(tg_graph *g, double decay, const tg_ema_opts *opts);

/* Frees the object, not what it added to the graph. NULL is ignored. Optional: the graph frees it with itself; call it only before tg_graph_free. */
TG_API void tg_ema_free(tg_ema *ema);

/* The EMA's name ("ExponentialMovingAverage"). Ownership: owned by ema. */
TG_API const char *tg_ema_name(const tg_ema *ema);

/* ExponentialMovingAverage.apply(var_list). First, for each variable not yet
 * averaged, a shadow is created as TF's slot_creator does: inside
 * variable_scope(None, default_name="<var>/<ema name>") nested in the current
 * variable scope, tg_get_variable(""), so "w/ExponentialMovingAverage" (or
 * "outer/w/ExponentialMovingAverage" inside variable scope "outer", "..._1"
 * when that scope was used before); not trainable, in GLOBAL_VARIABLES only,
 * created outside every control-dependency block (TF's init_scope); and the
 * variable itself (not the shadow) is appended to MOVING_AVERAGE_VARIABLES.
 * The shadow starts at the variable's initial value (its Assign reads
 * tg_variable_initial_value(var), so one initializer run gives both the
 * same value, random initializers included); TF's var.initialized_value()
 * would read the variable instead once it is initialized.
 * Then, in name scope "<ema name>" (uniquified), the decay ("decay" Const,
 * or decay_t; with num_updates "num_updates", "add", "add_1", "truediv",
 * "Minimum") and per element assign_moving_average(shadow, var, decay,
 * zero_debias=false) ("<ema name>/AssignMovingAvg", "..._1", ...), grouped
 * by the returned NoOp named "<ema name>" ("ExponentialMovingAverage_1" for a
 * second apply). Applying a variable again reuses its shadow and builds a
 * new update. vars NULL means TRAINABLE_VARIABLES (n ignored); n == 0 gives a
 * NoOp with nothing to do.
 * Errors (sticky INVALID_ARGUMENT, NULL back, nothing added): n < 0, a NULL
 * variable or one of another graph, a variable that is not float32 or
 * float64 ("The variables must be half, float, or double: w:0"); and what
 * tg_get_variable reports for a shadow (e.g. under a reuse=True scope). */
TG_API tg_op *tg_ema_apply(tg_ema *ema, tg_variable *const *vars, int n);

/* apply() for tensors: the shadow ("<op name>/<ema name>", e.g.
 * "add/ExponentialMovingAverage") starts at zeros of the tensor's shape,
 * which must be fully defined; nothing is added to MOVING_AVERAGE_VARIABLES.
 * With zero_debias the update is zero-debiased (variables
 * "<var scope>/<shadow>/biased" and ".../local_step"), but, as in TF 1.15,
 * only in the apply call that created the shadow: a later apply of the same
 * tensor updates it without debiasing. Errors: as tg_ema_apply, plus a
 * shape that is not fully defined. */
TG_API tg_op *tg_ema_apply_tensors(tg_ema *ema, tg_tensor *const *tensors, int n);

/* apply() for a mixed list (TF's var_list of Variables and Tensors), in
 * order; items of kind TG_ITEM_OP are rejected (INVALID_ARGUMENT). items
 * NULL means TRAINABLE_VARIABLES. Errors: as the two calls above. */
TG_API tg_op *tg_ema_apply_items(tg_ema *ema, const tg_item *items, int n);

/* ExponentialMovingAverage.average(var): the shadow variable of var, or NULL
 * (no error) when var was never applied. */
TG_API tg_variable *tg_ema_average(const tg_ema *ema, const tg_variable *var);
/* The same for a tensor. */
TG_API tg_variable *tg_ema_average_tensor(const tg_ema *ema, const tg_tensor *t);

/* ExponentialMovingAverage.average_name(var): the shadow's name once var was
 * applied ("w/ExponentialMovingAverage"); before, the name it would get:
 * "<current name scope><var>/<ema name>", with "_1", "_2", ... while an op
 * of that name exists (TF's graph.unique_name(mark_as_used=False); name
 * scopes that hold no op of that exact name are not seen).
 * Ownership: owned by the graph (applied) or by ema, valid until the next
 * call on ema or tg_ema_free. Errors: NULL for a NULL argument or out of
 * memory (no sticky error). */
TG_API const char *tg_ema_average_name(tg_ema *ema, const tg_variable *var);

/* average_name(tensor): the same for a tensor, named after its op
 * ("add/ExponentialMovingAverage" for "add:0"), as TF's var.op.name. */
TG_API const char *tg_ema_average_name_tensor(tg_ema *ema, const tg_tensor *t);

/* ExponentialMovingAverage.variables_to_restore(moving_avg_variables): the
 * map a Saver restores with so that each averaged variable gets its moving
 * average: key tg_ema_average_name(v) -> v for each variable of
 * moving_avg_variables (NULL: TRAINABLE_VARIABLES then
 * MOVING_AVERAGE_VARIABLES, as TF; repeats dropped; n ignored), then every
 * other variable of GLOBAL_VARIABLES under its own name, unless that name
 * is already a key (a shadow "w/ExponentialMovingAverage" is one: it
 * restores w, so the shadow itself is left out). In an evaluation graph
 * without shadows the keys are the names the training graph's shadows had.
 * Pass the result to tg_train_saver_new_dict.
 * Returns the number of entries, *keys[i] restoring (*vars)[i].
 * Ownership: *keys (one allocation holding the pointers and the strings,
 * NULL-terminated) and *vars (NULL-terminated) are the caller's, freed with
 * tg_free. On error both are NULL.
 * Errors: -1 for a NULL argument or an erroneous graph (no new error);
 * sticky INVALID_ARGUMENT (-1) for n < 0, a NULL list with n > 0, a NULL
 * variable or one of another graph; RESOURCE_EXHAUSTED when out of memory. */
TG_API int tg_ema_variables_to_restore(tg_ema *ema, tg_variable *const *moving_avg_variables, int n, char ***keys,
                                       tg_variable ***vars);

#ifdef __cplusplus
}
#endif
#endif
