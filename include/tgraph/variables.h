/* tgraph/variables.h: variables, variable scopes, initializers and the
 * assign ops (tf.get_variable, tf.variable_scope, tf.*_initializer,
 * tf.assign*). */
#ifndef TGRAPH_VARIABLES_H
#define TGRAPH_VARIABLES_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- initializers -----------------------------------------------------------
 * An initializer is a plain value describing how a variable's initial value
 * is built; the ops are created by tg_get_variable under "<var>/Initializer/".
 * Make one with a constructor below (or a TG_*_INITIALIZER constant for
 * static data), never as a literal: a literal's missing fields would be 0
 * (stddev 0, maxval 0, no seed), where TF's defaults are 1.0 and None. So an
 * initializer carries a hidden tag that only the constructors set, and
 * tg_get_variable refuses one without it (INVALID_ARGUMENT naming the
 * variable). The one literal accepted is the all-zero one (`{0}`, a field
 * left out of an options struct): TF's None, i.e. the variable scope's
 * initializer, else TF's default for the dtype (glorot_uniform for floats,
 * zeros for integers and bool). Seeds: TG_NO_SEED, which every constructor
 * sets, is TF's seed=None (derived from the graph seed, see
 * tg_graph_set_random_seed); tg_initializer_with_seed gives op-level seeds. */
typedef enum tg_init_kind {
    TG_INIT_DEFAULT = 0,
    TG_INIT_ZEROS,
    TG_INIT_ONES,
    TG_INIT_CONSTANT,        /* every element = value */
    TG_INIT_RANDOM_UNIFORM,  /* U[minval, maxval) */
    TG_INIT_RANDOM_NORMAL,   /* N(mean, stddev^2) */
    TG_INIT_TRUNCATED_NORMAL,/* N(mean, stddev^2), redrawn beyond 2 stddev */
    TG_INIT_VARIANCE_SCALING /* see tg_variance_scaling_initializer */
} tg_init_kind;

/* tf.variance_scaling_initializer's `mode` and `distribution`. */
typedef enum tg_fan_mode { TG_FAN_IN = 0, TG_FAN_OUT, TG_FAN_AVG } tg_fan_mode;
typedef enum tg_distribution {
    TG_DIST_TRUNCATED_NORMAL = 0, /* TF 1.15's default */
    TG_DIST_UNTRUNCATED_NORMAL,
    TG_DIST_UNIFORM
} tg_distribution;

typedef struct tg_initializer {
    /* kind before the tag: `.bias_initializer = 0` over a default (TG_OPTS)
     * sets only the first member, so it reads as kind None, TF's
     * bias_initializer=None, rather than as an untagged ZEROS refused
     * without naming the field. */
    tg_init_kind kind;
    unsigned tg__init;      /* set by the constructors and TG_*_INITIALIZER only */
    double value;           /* CONSTANT */
    double minval, maxval;  /* RANDOM_UNIFORM */
    double mean, stddev;    /* RANDOM_NORMAL, TRUNCATED_NORMAL */
    double scale;           /* VARIANCE_SCALING */
    tg_fan_mode mode;       /* VARIANCE_SCALING */
    tg_distribution distribution; /* VARIANCE_SCALING */
    int64_t seed;           /* TG_NO_SEED: TF's seed=None */
} tg_initializer;
#define TG__TAG_tg_initializer 0x3b9e61d5u /* tells a constructed initializer from a literal */

/* tf.zeros_initializer(), tf.ones_initializer() and
 * tf.glorot_uniform_initializer() as constant initializers, for static data
 * and the INIT macros (the functions below give the same values). */
#define TG_ZEROS_INITIALIZER {.tg__init = TG__TAG_tg_initializer, .kind = TG_INIT_ZEROS, .seed = TG_NO_SEED}
#define TG_ONES_INITIALIZER {.tg__init = TG__TAG_tg_initializer, .kind = TG_INIT_ONES, .seed = TG_NO_SEED}
#define TG_GLOROT_UNIFORM_INITIALIZER                                                                  \
    {.tg__init = TG__TAG_tg_initializer, .kind = TG_INIT_VARIANCE_SCALING, .scale = 1.0, .mode = TG_FAN_AVG, \
     .distribution = TG_DIST_UNIFORM, .seed = TG_NO_SEED}

/* Constructors with TF's defaults; all are pure functions of their arguments. */
TG_API tg_initializer tg_zeros_initializer(void);
TG_API tg_initializer tg_ones_initializer(void);
TG_API tg_initializer tg_constant_initializer(double value);
TG_API tg_initializer tg_random_uniform_initializer(double minval, double maxval);
TG_API tg_initializer tg_random_normal_initializer(double mean, double stddev);
TG_API tg_initializer tg_truncated_normal_initializer(double mean, double stddev);
/* tf.glorot_uniform_initializer(): variance_scaling(1.0, FAN_AVG, UNIFORM). */
TG_API tg_initializer tg_glorot_uniform_initializer(void);
/* tf.variance_scaling_initializer(scale, mode, distribution). */
TG_API tg_initializer tg_variance_scaling_initializer(double scale, tg_fan_mode mode,
                                                      tg_distribution distribution);
/* The same initializer with an op-level seed (TF's seed= argument; 0 is a
 * seed, TG_NO_SEED is None). */
TG_API tg_initializer tg_initializer_with_seed(tg_initializer init, int64_t seed);

/* ---- regularizers and constraints --------------------------------------------
 * A regularizer turns the variable's value into a scalar loss (TF's callable
 * regularizer). It is called once, when the variable is created, inside name
 * scope "<var>/Regularizer/"; a non-NULL result is added to
 * REGULARIZATION_LOSSES. Returning NULL adds nothing. */
typedef struct tg_regularizer tg_regularizer;
struct tg_regularizer {
    /* self is this struct, so fn can read params and the scales. */
    tg_tensor *(*fn)(tg_graph *g, tg_tensor *weights, const tg_regularizer *self);
    const void *params; /* passed through; must outlive the call */
    double scale, scale2; /* used by the built-in l1/l2/l1_l2 regularizers */
};

/* A constraint maps the variable's value to a projected value; optimizers
 * (a later part) apply it after each update. Stored with the variable. */
typedef struct tg_constraint {
    tg_tensor *(*fn)(tg_graph *g, tg_tensor *value, const void *params);
    const void *params; /* must outlive the graph */
} tg_constraint;

/* ---- variable scopes --------------------------------------------------------- */

/* TF1 reuse modes. TG_REUSE_INHERIT (TF's None and False) takes the enclosing
 * scope's mode; once TRUE or AUTO_REUSE, nested scopes cannot turn it off. */
typedef enum tg_reuse { TG_REUSE_INHERIT = 0, TG_REUSE_TRUE, TG_AUTO_REUSE } tg_reuse;

typedef struct tg_variable_scope_opts {
    /* Used when name is NULL: made unique among variable scopes ("dense",
     * "dense_1", ...), as TF's default_name. */
    const char *default_name;
    tg_reuse reuse;
    /* Defaults for tg_get_variable calls inside the scope (kind 0 / fn NULL:
     * inherit the enclosing scope's). */
    tg_initializer initializer;
    tg_regularizer regularizer;
} tg_variable_scope_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_variable_scope_opts .default_name = NULL

/* Enters tf.variable_scope(name, ...): variable names get "<scope>/" and a
 * name scope of the same (uniquified) name is opened for ops. Re-entering a
 * scope by name gives the same variable prefix ("net/w") while its ops get a
 * fresh name scope ("net_1/..."), as in TF. opts may be NULL.
 * Returns the token for tg_scope_pop.
 * Errors (sticky): INVALID_ARGUMENT "If default_name is None then
 * name_or_scope is required" and "reuse=True cannot be used without a
 * name_or_scope", as TF. */
TG_API int tg_variable_scope_push(tg_graph *g, const char *name,
                                  const tg_variable_scope_opts *opts);

/* The current variable scope's name ("" at the root) and effective reuse.
 * Ownership: owned by g, valid until the scope stack changes. */
TG_API const char *tg_variable_scope_name(const tg_graph *g);
TG_API tg_reuse tg_variable_scope_reuse(const tg_graph *g);

/* with tf.variable_scope(name, ...): */
#define TG_WITH_VARIABLE_SCOPE(g, name, opts) TG__WITH(g, tg_variable_scope_push((g), (name), (opts)))

/* ---- variables ------------------------------------------------------------------ */

/* Start from TG_GET_VARIABLE_OPTS_INIT (base.h explains why). */
typedef struct tg_get_variable_opts {
    unsigned tg__init;               /* set by TG_GET_VARIABLE_OPTS_INIT only */
    tg_initializer initializer;      /* zeroed (TF's None): the scope's, else TF's default */
    tg_regularizer regularizer;      /* fn NULL: the scope's, else none */
    bool trainable;                  /* default true */
    /* Collections for a new variable; NULL: {GLOBAL_VARIABLES}, as TF. When
     * trainable, TRAINABLE_VARIABLES is added if not listed. */
    const char *const *collections;
    int n_collections;
    tg_constraint constraint;
    /* Per-call reuse intent that overrides the scope's (TG_REUSE_INHERIT:
     * use the scope's). */
    tg_reuse reuse;
    /* TF's initializer=<Tensor>: the variable starts at this tensor's value
     * (e.g. tg_variable_initial_value of another variable, as optimizer and
     * EMA slots do) instead of `initializer`, and no "Initializer" ops are
     * made. The tensor must be of g, of the variable's dtype and of a shape
     * compatible with it. NULL: use `initializer`. */
    tg_tensor *initial_value;
} tg_get_variable_opts;
#define TG__TAG_tg_get_variable_opts 0xc0c28f7fu /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_get_variable_opts .tg__init = TG__TAG_tg_get_variable_opts, .trainable = true
#define TG_GET_VARIABLE_OPTS_INIT {TG__DEFAULTS_tg_get_variable_opts}

/* tf.get_variable(name, shape, dtype, ...): creates "<scope>/name" (or, for
 * the name "" inside a scope, a variable named after the scope) or returns
 * the existing one according to the effective reuse:
 * - exists, reuse off: INVALID_ARGUMENT "Variable <name> already exists,
 *   disallowed. Did you mean to set reuse=True or reuse=tf.AUTO_REUSE in VarScope?"
 * - missing, reuse TRUE: INVALID_ARGUMENT "Variable <name> does not exist, or
 *   was not created with tf.get_variable(). Did you mean to set
 *   reuse=tf.AUTO_REUSE in VarScope?"
 * - exists with another shape or dtype: INVALID_ARGUMENT "Trying to share
 *   variable <name>, but specified shape (...) and found shape (...)."
 * The shape must be fully defined. A new variable has ops "<name>"
 * (VariableV2), "<name>/Initializer/...", "<name>/Assign" and "<name>/read",
 * created outside any control-dependency block, and lands in its collections.
 * Ownership: the variable belongs to the graph. Errors are sticky; NULL back. */
TG_API tg_variable *tg_get_variable(tg_graph *g, const char *name, tg_dtype dtype,
                                    tg_shape shape, const tg_get_variable_opts *opts);

/* tf.Variable(initial_value, name, trainable, collections): a variable
 * named like an op in the current name scope ("scope/name", "name_1" when
 * taken), outside the variable store: tg_get_variable never finds or
 * conflicts with it, and variable scopes and reuse do not apply. The
 * initial value comes from opts->initializer (default as tg_get_variable).
 * Same ops, collections and trainable flag as tg_get_variable.
 * Ownership: the variable belongs to the graph. Errors (sticky):
 * INVALID_ARGUMENT for a bad name, dtype, shape or initializer. */
TG_API tg_variable *tg_variable_new(tg_graph *g, const char *name, tg_dtype dtype, tg_shape shape,
                                    const tg_get_variable_opts *opts);

TG_API const char *tg_variable_name(const tg_variable *v); /* "conv1/weights"; graph-owned */
TG_API tg_dtype tg_variable_dtype(const tg_variable *v);
TG_API tg_shape tg_variable_shape(const tg_variable *v);
TG_API bool tg_variable_trainable(const tg_variable *v);
/* The VariableV2 op (the reference that assign ops take). */
TG_API tg_op *tg_variable_op(const tg_variable *v);
/* The variable's reference tensor "<name>:0", input of the assign ops. */
TG_API tg_tensor *tg_variable_ref(const tg_variable *v);
/* The value "<name>/read:0": what the model reads (tf.Variable.value()). */
TG_API tg_tensor *tg_variable_value(const tg_variable *v);
/* The "<name>/Assign" op that sets the initial value (tf.Variable.initializer). */
TG_API tg_op *tg_variable_initializer(const tg_variable *v);
/* The initial value tensor (tf.Variable.initial_value). */
TG_API tg_tensor *tg_variable_initial_value(const tg_variable *v);
TG_API tg_constraint tg_variable_constraint(const tg_variable *v);

/* The variable named `name` in the variable store, or NULL (no error). */
TG_API tg_variable *tg_graph_variable(const tg_graph *g, const char *name);

/* tf.variables_initializer(vars): a NoOp "init" (or `name`) with every
 * variable's initializer as a control input; n == 0 gives a plain NoOp.
 * Errors: sticky INVALID_ARGUMENT for a NULL variable. */
TG_API tg_op *tg_variables_initializer(tg_graph *g, tg_variable *const *vars, int n,
                                       const char *name);

/* tf.global_variables_initializer(): tg_variables_initializer over
 * GLOBAL_VARIABLES as it is now, named "init". */
TG_API tg_op *tg_global_variables_initializer(tg_graph *g);

/* tf.assign(ref, value): "Assign" op; the output is the new value. Needs ref
 * to be a variable reference (tg_variable_ref) and value of the same dtype and
 * a shape compatible with the variable's. Errors (sticky): INVALID_ARGUMENT
 * naming the op. name NULL: "Assign". */
TG_API tg_tensor *tg_assign(tg_graph *g, tg_tensor *ref, tg_tensor *value, const char *name);
/* tf.assign_add / tf.assign_sub: as tg_assign, ops "AssignAdd" / "AssignSub".
 * Reading an uninitialized variable this way is a run-time error. */
TG_API tg_tensor *tg_assign_add(tg_graph *g, tg_tensor *ref, tg_tensor *value, const char *name);
TG_API tg_tensor *tg_assign_sub(tg_graph *g, tg_tensor *ref, tg_tensor *value, const char *name);

/* The fused optimizer updates (tf.raw_ops.Apply*: what the tf.train
 * optimizers run per variable). Each updates its variable references
 * (tg_variable_ref of var and of the slots) in place, in one pass, with TF's
 * kernel arithmetic in its order and in var's dtype, and returns var's new
 * value. Every input has var's dtype (float32 or float64); the slots and
 * grad have var's shape; the hyper-parameters are scalars. name NULL: the op
 * type. Ownership: the op and its output belong to the graph. These rules
 * hold for the six builders below.
 * Errors (sticky, NULL back): INVALID_ARGUMENT naming the op and the input
 * for a var or slot that is not a variable reference ("accum 'a' is not a
 * variable reference"), a dtype other than var's ("lr has dtype float32,
 * var has float64"), a shape other than var's ("var and grad do not have
 * the same shape: (3,) and (2,)"), a hyper-parameter that is not a scalar
 * ("lr is not a scalar: (2,)"), or a var that is not float; a NULL input or
 * a graph in error adds nothing. At run time, an uninitialized var or slot
 * is FAILED_PRECONDITION ("Attempting to use uninitialized value ..."), and
 * shapes only known then are checked with the same messages. */

/* tf.raw_ops.ApplyGradientDescent: var -= delta * alpha. */
TG_API tg_tensor *tg_raw_ops_apply_gradient_descent(tg_graph *g, tg_tensor *var, tg_tensor *alpha,
                                                    tg_tensor *delta, const char *name);

/* tf.raw_ops.ApplyMomentum (tf.train.MomentumOptimizer):
 *   accum = accum * momentum + grad;
 *   var -= accum * lr, or with use_nesterov var -= grad * lr + accum * momentum * lr.
 * Inputs in TF's order (momentum last); use_nesterov is TF's attr. */
TG_API tg_tensor *tg_raw_ops_apply_momentum(tg_graph *g, tg_tensor *var, tg_tensor *accum, tg_tensor *lr,
                                            tg_tensor *grad, tg_tensor *momentum, bool use_nesterov,
                                            const char *name);

/* tf.raw_ops.ApplyAdam (tf.train.AdamOptimizer): with
 * alpha = lr * sqrt(1 - beta2_power) / (1 - beta1_power),
 *   m += (grad - m) * (1 - beta1);  v += (grad^2 - v) * (1 - beta2);
 *   var -= m * alpha / (sqrt(v) + epsilon). */
TG_API tg_tensor *tg_raw_ops_apply_adam(tg_graph *g, tg_tensor *var, tg_tensor *m, tg_tensor *v,
                                        tg_tensor *beta1_power, tg_tensor *beta2_power, tg_tensor *lr,
                                        tg_tensor *beta1, tg_tensor *beta2, tg_tensor *epsilon, tg_tensor *grad,
                                        const char *name);

/* tf.raw_ops.ApplyRMSProp (tf.train.RMSPropOptimizer):
 *   ms += (grad^2 - ms) * (1 - rho);
 *   mom = mom * momentum + grad * lr / sqrt(ms + epsilon);  var -= mom. */
TG_API tg_tensor *tg_raw_ops_apply_rms_prop(tg_graph *g, tg_tensor *var, tg_tensor *ms, tg_tensor *mom,
                                            tg_tensor *lr, tg_tensor *rho, tg_tensor *momentum, tg_tensor *epsilon,
                                            tg_tensor *grad, const char *name);

/* tf.raw_ops.ApplyCenteredRMSProp (RMSPropOptimizer with centered=True): as
 * ApplyRMSProp with mg += (grad - mg) * (1 - rho) after ms, and the
 * denominator sqrt(ms - mg^2 + epsilon). mg comes first, as in TF. */
TG_API tg_tensor *tg_raw_ops_apply_centered_rms_prop(tg_graph *g, tg_tensor *var, tg_tensor *mg, tg_tensor *ms,
                                                     tg_tensor *mom, tg_tensor *lr, tg_tensor *rho,
                                                     tg_tensor *momentum, tg_tensor *epsilon, tg_tensor *grad,
                                                     const char *name);

/* tf.raw_ops.ApplyAdagrad (tf.train.AdagradOptimizer), with TF's default
 * update_slots=True: accum += grad^2;  var -= grad * lr * rsqrt(accum). */
TG_API tg_tensor *tg_raw_ops_apply_adagrad(tg_graph *g, tg_tensor *var, tg_tensor *accum, tg_tensor *lr,
                                           tg_tensor *grad, const char *name);

#ifdef __cplusplus
}
#endif
#endif
