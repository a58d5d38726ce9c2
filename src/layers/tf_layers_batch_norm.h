/* tf_layers_batch_norm.h: the BatchNormalization layer's state, shared by
 * tf_layers_batch_norm.c (build, the fused and plain paths, the API) and
 * tf_layers_batch_norm_renorm.c (batch renormalization, ghost batches).
 * Private to src/layers; public headers only below it. */
#ifndef TG_TF_LAYERS_BATCH_NORM_H
#define TG_TF_LAYERS_BATCH_NORM_H

#include "layer_internal.h"

typedef struct tg__bn {
    /* constructor arguments */
    int axis_arg[TG_MAX_RANK], n_axis_arg;
    double momentum, epsilon, renorm_momentum;
    bool center, scale, renorm, keras;
    tg_optional_bool fused_arg;
    tg_renorm_clipping clip;
    int vbs; /* virtual_batch_size, 0 for None */
    tg_bn_adjustment adjustment;
    tg_initializer beta_init, gamma_init, mean_init, var_init;
    tg_regularizer beta_reg, gamma_reg;
    tg_constraint beta_con, gamma_con;

    /* set by build */
    int ndims;                   /* rank of the normalized input (+1 with ghost batches) */
    int axis[TG_MAX_RANK], n_axis; /* resolved, shifted by 1 with ghost batches */
    bool fused;
    tg_data_format data_format;  /* fused: NCHW for axis 1, NHWC for axis 3 */
    tg_shape param_shape;
    tg_dtype param_dtype;
    tg_variable *gamma, *beta, *moving_mean, *moving_variance;
    tg_variable *moving_stddev, *renorm_mean, *renorm_stddev;
    tg_tensor *gamma_const, *beta_const; /* fused without scale / center */

    /* built by contrib's batch_norm (its core-layer path) */
    bool contrib;
    /* the call in progress: the op that runs once per moving-average
     * update, for the record tg_describe_batch_norm reads */
    tg_op *counter;
} tg__bn;

/* tf.layers.BatchNormalization(..., _scope=sc) as contrib's batch_norm
 * builds it inside its open "BatchNorm" scope sc: the layer's variable scope
 * is exactly the caller's current one and its ops go to the current name
 * scope (tg__layer_base_opts.current_scope), and every variable it creates
 * also joins collections[0..n) (the enclosing scope's custom getter, e.g.
 * {MODEL_VARIABLES}). opts->name names the layer (TF: sc.name); reuse is
 * the layer's _reuse. The layer is the caller's (tg_layer_free). */
tg_layer *tg__bn_new_in_current_scope(tg_graph *g, const tg_tf_layers_batch_norm_opts *opts,
                                      const char *const *collections, int n);

/* A scalar Const of dtype dt. */
tg_tensor *tg__bn_scalar(tg_graph *g, tg_dtype dt, double v);

/* TF's smart_cond(training, lambda: t, lambda: f) for a training tensor
 * and tensors t, f made outside the cond: the Merge output. NULL with the
 * error on the graph. */
tg_tensor *tg__bn_cond(tg_graph *g, tg_tensor *training, tg_tensor *t, tg_tensor *f);
/* The same with lambda: ones_like(t) (ones) or zeros_like(t) as the false
 * branch, built inside it. */
tg_tensor *tg__bn_cond_fill(tg_graph *g, tg_tensor *training, tg_tensor *t, bool ones);
/* var's moving average towards value ("AssignMovingAvg", no zero-debias).
 * Static training (training NULL): the assign itself. A training tensor:
 * smart_cond(training, lambda: _do_update(var, value), lambda: var), the
 * assign made in the true branch, var (identity(var) with fake_identity,
 * renorm's _fake_update) in the false one; the Merge output. NULL with the
 * error on the graph. */
tg_tensor *tg__bn_update(tg_graph *g, tg_tensor *training, tg_variable *var, tg_tensor *value, double momentum,
                         bool fake_identity);
/* The same, storing the assign itself (in the true branch with a training
 * tensor: it runs once per update) in *assign. */
tg_tensor *tg__bn_update_op(tg_graph *g, tg_tensor *training, tg_variable *var, tg_tensor *value, double momentum,
                            tg_op **assign);

/* TF's _renorm_correction_and_moments: stores r and d (clipped; with a
 * training tensor, conds giving 1 and 0 when it is false) and replaces
 * *mean and *variance by identities ordered after the renorm_mean /
 * renorm_stddev updates (conds whose assigns run only when training). */
tg_code tg__bn_renorm_correction(tg_layer *l, tg__bn *b, tg_tensor *training, tg_tensor **mean,
                                 tg_tensor **variance, tg_tensor **r, tg_tensor **d);
/* The renorm variance update: moving_stddev's moving average, then
 * moving_variance = relu(moving_stddev^2 - eps) ("AssignNewValue"); with a
 * training tensor both inside the true branch of a cond whose false branch
 * returns moving_variance (the Merge output is returned). */
tg_tensor *tg__bn_renorm_variance_update(tg_layer *l, tg__bn *b, tg_tensor *training, tg_tensor *variance);

/* Reshapes x [B, d1, ...] to [vbs, B / vbs, d1, ...] and stores the shape to
 * undo it ([-1, d1, ...]) in *original. NULL with the error on the graph. */
tg_tensor *tg__bn_ghost_batches(tg_layer *l, tg__bn *b, tg_tensor *x, tg_shape *original);

#endif
