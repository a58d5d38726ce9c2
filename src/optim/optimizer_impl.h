/* The shared machinery of the optimizers (optimizer.c) as the subclasses
 * (gradient_descent.c, momentum.c, adam.c, rmsprop.c, adagrad.c) see it:
 * TF's Optimizer base class with its _create_slots / _prepare /
 * _apply_dense / _finish hooks, and the slot helpers of slot_creator. */
#ifndef TG_OPTIM_OPTIMIZER_IMPL_H
#define TG_OPTIM_OPTIMIZER_IMPL_H

#include "tgraph.h"

typedef struct tg__optim_class {
    const char *default_name;
    /* Makes the slots (and non-slot variables) of vars[0..n). Runs outside any
     * control-dependency block (TF's init_scope). Returns false on error. */
    bool (*create_slots)(tg_optimizer *o, tg_variable *const *vars, int n);
    /* Creates the hyper-parameter tensors in the apply name scope. */
    bool (*prepare)(tg_optimizer *o);
    /* Builds the update of var from grad in "<name>/update_<var>/" and
     * returns the tensor of the op that writes var (its new value). */
    tg_tensor *(*apply_dense)(tg_optimizer *o, tg_tensor *grad, tg_variable *var);
    /* Groups the updates into the op named `name`; NULL: tf.group. */
    tg_op *(*finish)(tg_optimizer *o, tg_op *const *updates, int n, const char *name);
    /* Wrappers only (see `inner` below): rewrites the gradients
     * compute_gradients found, in place (grads[i] may be NULL: no
     * gradient; keep it NULL). False with a sticky error on the graph. */
    bool (*transform_gradients)(tg_optimizer *o, tg_tensor **grads, tg_variable *const *vars, int n);
} tg__optim_class;

typedef struct tg__slot {
    const char *slot_name; /* static string */
    const tg_variable *var;
    tg_variable *slot;
} tg__slot;

typedef struct tg__non_slot {
    const char *name; /* static string */
    tg_variable *var;
} tg__non_slot;

/* Subclasses embed this struct first and allocate with tg__optim_new. */
struct tg_optimizer {
    const tg__optim_class *cls;
    tg_graph *g;
    char *name;
    tg__slot *slots;
    int n_slots, cap_slots;
    tg__non_slot *non_slots;
    int n_non_slots, cap_non_slots;
    /* A wrapper (Horovod's DistributedOptimizer: tg_mpi_distributed_optimizer
     * in src/mpi) sets `inner` to the optimizer it wraps, after tg__optim_new:
     * apply_gradients, get_slot, get_slot_names and variables then act on
     * inner (its slots, its name scope), and compute_gradients computes as
     * usual, then runs the transform_gradients of inner (if a wrapper too)
     * and of the wrapper's class, innermost first. The one hook that lets a
     * part outside src/optim change gradients without copying this file. */
    tg_optimizer *inner;
};

/* Allocates `size` bytes (a subclass struct), sets up the base from the
 * class and opts name (NULL: the class's default). Returns NULL with a
 * sticky error for an empty name or no memory, and NULL on a graph in error. */
tg_optimizer *tg__optim_new(tg_graph *g, size_t size, const tg__optim_class *cls, const char *name);

/* Checks a learning-rate-like tensor: NULL is fine (not set); otherwise a
 * float scalar of o's graph, else a sticky INVALID_ARGUMENT naming `what`. */
bool tg__optim_check_scalar(tg_graph *g, tg_tensor *t, const char *what);

/* The learning rate of a *_new_t constructor (fn): a float scalar of g.
 * False with a sticky INVALID_ARGUMENT naming fn when it is NULL or when
 * opts' learning_rate_t is another tensor, or as tg__optim_check_scalar;
 * false without a new error on a graph in error. */
bool tg__optim_check_rate_arg(tg_graph *g, tg_tensor *learning_rate, tg_tensor *from_opts, const char *fn);

/* _zeros_slot / _get_or_make_slot_with_initializer: the slot `slot_name`
 * of var, created in variable scope "<var>/<optimizer name>" (uniquified)
 * when missing. */
tg_variable *tg__optim_slot(tg_optimizer *o, tg_variable *var, const char *slot_name, tg_initializer init);
tg_variable *tg__optim_get_slot(const tg_optimizer *o, const tg_variable *var, const char *slot_name);

/* _create_non_slot_variable: a float32 scalar variable `name` (uniquified
 * with "_1", ...) starting at `initial`, created once per optimizer. */
tg_variable *tg__optim_non_slot(tg_optimizer *o, const char *name, double initial);
tg_variable *tg__optim_get_non_slot(const tg_optimizer *o, const char *name);

/* convert_to_tensor(number or tensor, name): t when set, else a float32
 * Const `name` in the current scope. */
tg_tensor *tg__optim_hyper(tg_graph *g, tg_tensor *t, double v, const char *name);

/* math_ops.cast(t, dtype): t itself when it already has that dtype. */
tg_tensor *tg__optim_cast(tg_graph *g, tg_tensor *t, tg_dtype dtype);

#endif
