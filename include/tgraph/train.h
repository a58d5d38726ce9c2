/* tgraph/train.h: optimizers, learning-rate schedules and the global step
 * (tf.train). Clients of the public API (src/optim). */
#ifndef TGRAPH_TRAIN_H
#define TGRAPH_TRAIN_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tf.train.get_or_create_global_step(): the int64 scalar variable
 * "global_step" (zeros, not trainable, in GLOBAL_VARIABLES and GLOBAL_STEP),
 * created on first use through tg_get_variable, so in the current variable
 * scope (as TF) and outside any control-dependency block. Errors (sticky):
 * INVALID_ARGUMENT when the existing global step is not an integer scalar. */
TG_API tg_variable *tg_train_get_or_create_global_step(tg_graph *g);
/* tf.train.get_global_step(): the one variable in GLOBAL_STEP, else the
 * variable named "global_step"; NULL (no error) when there is none or
 * GLOBAL_STEP holds several, as TF. */
TG_API tg_variable *tg_train_get_global_step(tg_graph *g);

/* ---- optimizers (tf.train.Optimizer and its subclasses) ---------------------
 *
 * An optimizer belongs to the graph it was made on, which frees it with
 * itself (tg_optimizer_free frees it earlier); the ops and variables it adds (slots, beta1_power, ...) belong
 * to the graph. Building follows the graph's sticky-error model: a call on a
 * graph in error, or with a NULL optimizer or loss, returns NULL (or -1) and
 * adds nothing.
 *
 * Names are TF 1.15's. apply_gradients opens name scope "<name>" (the
 * optimizer's name, e.g. "Adam", uniquified), creates its hyper-parameter
 * constants there ("Adam/learning_rate", "Adam/beta1", ...), updates each
 * variable under "<name>/update_<var>/" with TF's fused op, which writes
 * the variable and its slots in one pass with the kernel's arithmetic, in
 * its order: "Adam/update_w/ApplyAdam" of type ApplyAdam, and likewise
 * ApplyGradientDescent, ApplyMomentum, ApplyRMSProp, ApplyCenteredRMSProp
 * and ApplyAdagrad (tg_raw_ops_apply_* in variables.h), after a Cast there
 * of each hyper-parameter whose dtype is not the variable's. It returns the
 * NoOp "<name>" grouping the updates, or, with a global step, the
 * AssignAdd "<name>" that increments it after a group
 * "<name>/update". The returned op is added to TRAIN_OP.
 * Slot variables are created as TF's slot_creator does: "w/Momentum",
 * "w/Adam" and "w/Adam_1", "w/RMSProp" (ms, starts at ones), ["w/RMSProp_1"
 * (mg, centered only),] then the momentum slot, "w/Adagrad"; relative to the
 * current variable scope, outside any control-dependency block, not
 * trainable, in GLOBAL_VARIABLES only. A variable's constraint (see
 * tg_get_variable_opts) is applied after its update:
 * "<name>/update_<var>/Assign" of constraint(new value). */
typedef struct tg_optimizer tg_optimizer;

/* tf.train.GradientDescentOptimizer (ApplyGradientDescent): var -= grad * lr. */
typedef struct tg_train_gradient_descent_opts {
    const char *name;           /* default "GradientDescent" */
    tg_tensor *learning_rate_t; /* a float scalar tensor; wins over the number */
} tg_train_gradient_descent_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_train_gradient_descent_opts .name = NULL

/* tf.train.MomentumOptimizer (ApplyMomentum): accum = accum * momentum + grad;
 * var -= lr * accum, or with use_nesterov
 * var -= grad * lr + accum * momentum * lr. Slot "momentum" ("w/Momentum"). */
typedef struct tg_train_momentum_opts {
    const char *name;           /* default "Momentum" */
    tg_tensor *learning_rate_t; /* wins over the number */
    tg_tensor *momentum_t;      /* wins over the number */
    bool use_nesterov;          /* default false */
} tg_train_momentum_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_train_momentum_opts .name = NULL

/* tf.train.AdamOptimizer (ApplyAdam; TF's default learning rate is 0.001):
 * lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); m += (g - m) * (1 - beta1);
 * v += (g^2 - v) * (1 - beta2); var -= lr_t * m / (sqrt(v) + epsilon).
 * beta^t live in the non-slot float32 variables "beta1_power" and
 * "beta2_power" (tf.Variables, see tg_variable_new: created once per
 * optimizer in the caller's name scope, "_1", "_2" if taken, starting at
 * beta1 and beta2), multiplied by beta1 and
 * beta2 after the variable updates ("Adam/mul", "Adam/Assign", ...).
 * Slots "m" ("w/Adam") and "v" ("w/Adam_1"). */
typedef struct tg_train_adam_opts {
    unsigned tg__init;          /* set by TG_TRAIN_ADAM_OPTS_INIT only (base.h) */
    const char *name;           /* default "Adam" */
    tg_tensor *learning_rate_t; /* wins over the number */
    double beta1;               /* default 0.9 */
    double beta2;               /* default 0.999 */
    double epsilon;             /* default 1e-8 */
} tg_train_adam_opts;
#define TG__TAG_tg_train_adam_opts 0x92a7de9fu /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_train_adam_opts \
    .tg__init = TG__TAG_tg_train_adam_opts, .beta1 = 0.9, .beta2 = 0.999, .epsilon = 1e-8
#define TG_TRAIN_ADAM_OPTS_INIT {TG__DEFAULTS_tg_train_adam_opts}

/* tf.train.RMSPropOptimizer (ApplyRMSProp, ApplyCenteredRMSProp when
 * centered): ms += (g^2 - ms) * (1 - decay);
 * mom = mom * momentum + g * lr / sqrt(ms + epsilon); var -= mom. Centered:
 * mg += (g - mg) * (1 - decay) and the denominator is
 * sqrt(ms - mg^2 + epsilon). Slots "rms" (starts at ones), "mg" (centered),
 * "momentum". */
typedef struct tg_train_rmsprop_opts {
    unsigned tg__init;          /* set by TG_TRAIN_RMSPROP_OPTS_INIT only (base.h) */
    const char *name;           /* default "RMSProp" */
    tg_tensor *learning_rate_t; /* wins over the number */
    double decay;               /* default 0.9 */
    double momentum;            /* default 0.0 */
    double epsilon;             /* default 1e-10 */
    bool centered;              /* default false */
} tg_train_rmsprop_opts;
#define TG__TAG_tg_train_rmsprop_opts 0x39d9124bu /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_train_rmsprop_opts .tg__init = TG__TAG_tg_train_rmsprop_opts, .decay = 0.9, .epsilon = 1e-10
#define TG_TRAIN_RMSPROP_OPTS_INIT {TG__DEFAULTS_tg_train_rmsprop_opts}

/* tf.train.AdagradOptimizer (ApplyAdagrad): accum += g^2;
 * var -= g * lr * rsqrt(accum).
 * Slot "accumulator" ("w/Adagrad") starts at initial_accumulator_value. */
typedef struct tg_train_adagrad_opts {
    unsigned tg__init;                 /* set by TG_TRAIN_ADAGRAD_OPTS_INIT only (base.h) */
    const char *name;                  /* default "Adagrad" */
    tg_tensor *learning_rate_t;        /* wins over the number */
    double initial_accumulator_value;  /* default 0.1; must be > 0 */
} tg_train_adagrad_opts;
#define TG__TAG_tg_train_adagrad_opts 0x1a90567fu /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_train_adagrad_opts .tg__init = TG__TAG_tg_train_adagrad_opts, .initial_accumulator_value = 0.1
#define TG_TRAIN_ADAGRAD_OPTS_INIT {TG__DEFAULTS_tg_train_adagrad_opts}

/* Constructors. Numbers become float32 constants when the optimizer is
 * applied (TF's convert_to_tensor), cast to each variable's dtype. opts may
 * be NULL. Ownership: the graph's (tg_optimizer_free frees it earlier).
 * Errors: NULL when g is NULL or in error; sticky INVALID_ARGUMENT (and NULL)
 * for an empty name ("Must specify the optimizer name"), a learning-rate or
 * momentum tensor that is not a float scalar or from another graph, and
 * Adagrad's "initial_accumulator_value must be positive: <v>"; sticky
 * RESOURCE_EXHAUSTED when out of memory. */
TG_API tg_optimizer *tg_train_gradient_descent_optimizer_new(tg_graph *g, double learning_rate,
                                                             const tg_train_gradient_descent_opts *opts);
TG_API tg_optimizer *tg_train_momentum_optimizer_new(tg_graph *g, double learning_rate, double momentum,
                                                     const tg_train_momentum_opts *opts);
TG_API tg_optimizer *tg_train_adam_optimizer_new(tg_graph *g, double learning_rate,
                                                 const tg_train_adam_opts *opts);
TG_API tg_optimizer *tg_train_rmsprop_optimizer_new(tg_graph *g, double learning_rate,
                                                    const tg_train_rmsprop_opts *opts);
TG_API tg_optimizer *tg_train_adagrad_optimizer_new(tg_graph *g, double learning_rate,
                                                    const tg_train_adagrad_opts *opts);

/* The same constructors with the learning rate as a tensor (a placeholder,
 * a variable's value, a schedule such as tg_train_exponential_decay), as TF
 * takes either: used as is, cast to each variable's dtype, and no
 * "<name>/learning_rate" constant is made. The results equal the number
 * form's with the same value. opts' learning_rate_t may be left NULL (or be
 * the same tensor); the momentum stays a number, or opts' momentum_t.
 * Ownership: as above. Errors: as above, and a sticky INVALID_ARGUMENT (and
 * NULL) naming the function for a NULL learning_rate on a healthy graph
 * ("tg_train_adam_optimizer_new_t: learning_rate is NULL") or an opts
 * learning_rate_t that is another tensor. */
TG_API tg_optimizer *tg_train_gradient_descent_optimizer_new_t(tg_graph *g, tg_tensor *learning_rate,
                                                               const tg_train_gradient_descent_opts *opts);
TG_API tg_optimizer *tg_train_momentum_optimizer_new_t(tg_graph *g, tg_tensor *learning_rate, double momentum,
                                                       const tg_train_momentum_opts *opts);
TG_API tg_optimizer *tg_train_adam_optimizer_new_t(tg_graph *g, tg_tensor *learning_rate,
                                                   const tg_train_adam_opts *opts);
TG_API tg_optimizer *tg_train_rmsprop_optimizer_new_t(tg_graph *g, tg_tensor *learning_rate,
                                                      const tg_train_rmsprop_opts *opts);
TG_API tg_optimizer *tg_train_adagrad_optimizer_new_t(tg_graph *g, tg_tensor *learning_rate,
                                                      const tg_train_adagrad_opts *opts);

/* Frees the optimizer object, not what it added to the graph. NULL is
 * ignored. Optional: the graph frees it with itself; call it only before tg_graph_free. */
TG_API void tg_optimizer_free(tg_optimizer *opt);

/* Optimizer.get_name(): "Adam", or the name given. Ownership: owned by opt. */
TG_API const char *tg_optimizer_name(const tg_optimizer *opt);

/* Optimizer.compute_gradients(loss, var_list): the gradient of loss for each
 * variable (tg_gradients on the variables' references, ops under
 * "gradients/"). var_list NULL means TRAINABLE_VARIABLES (n_vars is then
 * ignored); a non-NULL var_list with n_vars 0 is an empty list.
 * Returns the number of (gradient, variable) pairs and stores new arrays in
 * *grads and *vars (either may be NULL to skip it); a gradient is NULL for a
 * variable the loss does not depend on (TF's None).
 * Ownership: the caller frees both arrays with tg_free; the handles belong to
 * the graph. Errors: -1 with both arrays NULL; sticky INVALID_ARGUMENT for
 * "No variables to optimize.", a loss that is not float32/float64 ("Invalid
 * type int32 for loss:0, expected: [float32, float64]."), a NULL variable, or
 * what tg_gradients reports. */
TG_API int tg_optimizer_compute_gradients(tg_optimizer *opt, tg_tensor *loss, tg_variable *const *var_list,
                                          int n_vars, tg_tensor ***grads, tg_variable ***vars);

/* Optimizer.apply_gradients(zip(grads, vars), global_step, name): updates
 * each vars[i] whose grads[i] is not NULL (the others are skipped); with
 * global_step (an integer scalar variable, or NULL) the returned op also adds
 * 1 to it, after every update. name NULL: the optimizer's name. Slots are
 * created on first use and reused by later calls. The ops are created in the
 * caller's control-dependency blocks (slot variables excepted), so the
 * update runs after the blocks' ops. Returns the train op (see above).
 * Errors: NULL with a sticky INVALID_ARGUMENT for n < 1 ("No variables
 * provided."), no gradient at all ("No gradients provided for any variable:
 * [...]."), a NULL variable, a gradient whose dtype or shape does not match
 * its variable's, or a tensor from another graph. */
TG_API tg_op *tg_optimizer_apply_gradients(tg_optimizer *opt, tg_tensor *const *grads, tg_variable *const *vars,
                                           int n, tg_variable *global_step, const char *name);

typedef struct tg_minimize_opts {
    const char *name;           /* name of the returned op; NULL: the optimizer's name */
    tg_variable *global_step;   /* incremented by one after the updates; NULL: none */
    tg_variable *const *var_list; /* NULL: TRAINABLE_VARIABLES */
    int n_vars;
} tg_minimize_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_minimize_opts .name = NULL

/* Optimizer.minimize(loss, global_step, var_list, name): compute_gradients
 * then apply_gradients. opts may be NULL. Inside a control-dependency block
 * (e.g. on UPDATE_OPS) the train op runs after the block's ops.
 * Errors: as the two calls, and INVALID_ARGUMENT "No gradients provided for
 * any variable, check your graph for ops that do not support gradients,
 * between variables [...] and loss Tensor(...)." when the loss depends on
 * none of the variables. */
TG_API tg_op *tg_optimizer_minimize(tg_optimizer *opt, tg_tensor *loss, const tg_minimize_opts *opts);

/* Optimizer.get_slot(var, name): the slot variable `slot_name` ("m", "v",
 * "momentum", "rms", "mg", "accumulator") made for var, or NULL (no error). */
TG_API tg_variable *tg_optimizer_get_slot(const tg_optimizer *opt, const tg_variable *var, const char *slot_name);

/* Optimizer.get_slot_names(): the names of the slots created so far, sorted.
 * Returns the count and stores a new array in *names (NULL when empty).
 * Ownership: free the array with tg_free; the strings are static.
 * Errors: -1 when opt is NULL or out of memory. */
TG_API int tg_optimizer_get_slot_names(const tg_optimizer *opt, const char ***names);

/* Optimizer.variables(): the slot and non-slot variables created so far,
 * sorted by name. Returns the count and stores a new array in *vars (NULL
 * when empty). Ownership: free the array with tg_free.
 * Errors: -1 when opt is NULL or out of memory. */
TG_API int tg_optimizer_variables(const tg_optimizer *opt, tg_variable ***vars);

/* ---- learning-rate schedules ------------------------------------------------ */

/* tf.train.exponential_decay: learning_rate * decay_rate ^ (global_step /
 * decay_steps), the exponent floored when staircase. A float32 scalar named
 * "ExponentialDecay" (or `name`) computed in that name scope from
 * float32(global_step), so it follows the step at every run and can be an
 * optimizer's learning_rate_t. Errors: sticky INVALID_ARGUMENT for a NULL
 * global_step on a healthy graph ("global_step is required for
 * exponential_decay."), a global_step that is not a numeric scalar. */
TG_API tg_tensor *tg_train_exponential_decay(tg_graph *g, double learning_rate, tg_tensor *global_step,
                                             int64_t decay_steps, double decay_rate, bool staircase,
                                             const char *name);

/* tf.train.piecewise_constant(x, boundaries, values): values[0] while
 * x <= boundaries[0], values[i] while boundaries[i-1] < x <= boundaries[i],
 * values[n_boundaries] once x > boundaries[n_boundaries - 1]. boundaries has
 * n_boundaries >= 1 increasing entries, converted to x's dtype; values has
 * n_boundaries + 1 entries. A float32 scalar named "PiecewiseConstant" (or
 * `name`). Errors: sticky INVALID_ARGUMENT for n_boundaries < 1, NULL
 * arrays, an x that is not a numeric scalar, or a boundary that x's integer
 * dtype cannot hold exactly ("Boundaries (float32) must have the same dtype
 * as x (int64)."). */
TG_API tg_tensor *tg_train_piecewise_constant(tg_graph *g, tg_tensor *x, const double *boundaries,
                                              const double *values, int n_boundaries, const char *name);

/* tf.train.polynomial_decay(learning_rate, global_step, decay_steps,
 * end_learning_rate=0.0001, power=1.0, cycle=False): with step =
 * min(global_step, decay_steps), (learning_rate - end_learning_rate) *
 * (1 - step / decay_steps) ^ power + end_learning_rate; with cycle,
 * decay_steps grows to the first multiple of it at or above global_step
 * (itself at step 0) and the step is not capped. A float32 scalar named
 * "PolynomialDecay" (or `name`), computed in that name scope from
 * float32(global_step) at every run. Errors: sticky INVALID_ARGUMENT for a
 * NULL global_step on a healthy graph ("global_step is required for
 * polynomial_decay."), a global_step that is not a numeric scalar.
 * decay_steps 0 is not refused (TF divides by it too). */
TG_API tg_tensor *tg_train_polynomial_decay(tg_graph *g, double learning_rate, tg_tensor *global_step,
                                            int64_t decay_steps, double end_learning_rate, double power, bool cycle,
                                            const char *name);

/* tf.train.cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0):
 * learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) +
 * alpha) with step = min(global_step, decay_steps). A float32 scalar, TF's
 * "CosineDecay/Mul_3" (its Python products take "mul".."mul_2" first) in
 * name scope "CosineDecay" (or `name`). Errors: as
 * tg_train_polynomial_decay ("global_step is required for cosine_decay."). */
TG_API tg_tensor *tg_train_cosine_decay(tg_graph *g, double learning_rate, tg_tensor *global_step,
                                        int64_t decay_steps, double alpha, const char *name);

#ifdef __cplusplus
}
#endif
#endif
