/* tf_layers_batch_norm.c: tf.layers.BatchNormalization and
 * tf.compat.v1.keras.layers.BatchNormalization (TF 1.15's
 * keras/layers/normalization.py BatchNormalizationBase with V1 behaviour,
 * under python/layers/normalization.py) as a layer type of layer.c, with
 * the functional form tf.layers.batch_normalization.
 *
 * TF chooses between the training and the inference graph with smart_cond:
 * a static training value builds one branch here; a training tensor goes
 * through tg_smart_cond exactly where TF calls it, so only the taken
 * branch runs. The non-fused path's moving-average updates are made inside
 * the true branch and the false branch returns the variable, so with
 * training false no AssignMovingAvg runs at all; the fused path keeps TF's
 * update outside the cond with momentum cond(training, momentum, 1.0).
 * Renormalization and the ghost-batch helpers are in
 * tf_layers_batch_norm_renorm.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_layers_batch_norm.h"
#include "bn_record.h"

static bool usable(const tg_graph *g) { return g && tg_graph_status(g) == TG_OK; }

static tg_code fail(tg_graph *g, const char *fmt, const char *arg) {
    return tg_graph_fail(g, TG_INVALID_ARGUMENT, fmt, arg);
}

/* ---- pieces shared with the renorm file ------------------------------------------- */

tg_tensor *tg__bn_scalar(tg_graph *g, tg_dtype dt, double v) { return tg_constant_scalar(g, dt, v, NULL); }

/* A one-output tg_smart_cond; NULL with the error on the graph. */
static tg_tensor *cond1(tg_graph *g, tg_tensor *training, tg_cond_fn t, tg_cond_fn f, void *u) {
    tg_tensor *out = NULL;
    return tg_smart_cond(g, training, t, f, u, &out, 1, NULL) == TG_OK ? out : NULL;
}

/* The branches of smart_cond(training, lambda: t, lambda: f); f NULL is
 * TF's lambda: ones_like(t) or zeros_like(t), which TF builds inside the
 * false branch, so the fill runs only when training is false. */
typedef struct pick {
    tg_tensor *t, *f;
    bool ones;
} pick;

static int pick_true(tg_graph *g, void *u, tg_tensor **outs, int n) {
    (void)g, (void)n;
    outs[0] = ((pick *)u)->t;
    return 1;
}

static int pick_false(tg_graph *g, void *u, tg_tensor **outs, int n) {
    const pick *p = u;
    (void)n;
    outs[0] = p->f ? p->f : p->ones ? tg_ones_like(g, p->t, NULL) : tg_zeros_like(g, p->t, NULL);
    return outs[0] ? 1 : -1;
}

tg_tensor *tg__bn_cond(tg_graph *g, tg_tensor *training, tg_tensor *t, tg_tensor *f) {
    return t && f ? cond1(g, training, pick_true, pick_false, &(pick){.t = t, .f = f}) : NULL;
}

tg_tensor *tg__bn_cond_fill(tg_graph *g, tg_tensor *training, tg_tensor *t, bool ones) {
    return t ? cond1(g, training, pick_true, pick_false, &(pick){.t = t, .ones = ones}) : NULL;
}

/* The branches of smart_cond(training, lambda: _do_update(var, value),
 * lambda: var) (identity(var) for renorm's _fake_update). The assign is
 * made in the true branch so that a false training skips it. */
typedef struct update {
    tg_variable *var;
    tg_tensor *value;
    double momentum;
    bool identity;
    tg_op *assign; /* set by do_update */
} update;

static int do_update(tg_graph *g, void *u, tg_tensor **outs, int n) {
    update *p = u;
    (void)n;
    outs[0] = tg_train_assign_moving_average(g, p->var, p->value, p->momentum, false, NULL);
    if (outs[0]) p->assign = tg_tensor_op(outs[0]);
    return outs[0] ? 1 : -1;
}

static int keep_variable(tg_graph *g, void *u, tg_tensor **outs, int n) {
    const update *p = u;
    (void)n;
    outs[0] = tg_variable_value(p->var);
    if (p->identity) outs[0] = tg_identity(g, outs[0], NULL);
    return outs[0] ? 1 : -1;
}

static tg_tensor *bn_update(tg_graph *g, tg_tensor *training, update *u) {
    if (!u->value) return NULL;
    if (training) return cond1(g, training, do_update, keep_variable, u);
    tg_tensor *out = NULL;
    return do_update(g, u, &out, 1) == 1 ? out : NULL;
}

tg_tensor *tg__bn_update(tg_graph *g, tg_tensor *training, tg_variable *var, tg_tensor *value, double momentum,
                         bool fake_identity) {
    return bn_update(g, training, &(update){var, value, momentum, fake_identity, NULL});
}

tg_tensor *tg__bn_update_op(tg_graph *g, tg_tensor *training, tg_variable *var, tg_tensor *value, double momentum,
                            tg_op **assign) {
    update u = {var, value, momentum, false, NULL};
    tg_tensor *out = bn_update(g, training, &u);
    *assign = u.assign;
    return out;
}

/* ---- the Keras learning phase ------------------------------------------------------- */

tg_tensor *tg_keras_backend_learning_phase(tg_graph *g) {
    if (!usable(g)) return NULL;
    tg_op *op = tg_graph_op(g, "keras_learning_phase");
    if (op && strcmp(tg_op_type(op), "PlaceholderWithDefault") == 0) return tg_op_output(op, 0);
    int tok = tg_scope_depth(g);
    tg_name_scope_push(g, NULL);              /* TF's name_scope(''): the root */
    tg_control_dependencies_push(g, NULL, 0); /* made once per graph, unordered */
    tg_tensor *input = tg_constant_scalar(g, TG_BOOL, 0, "keras_learning_phase/input");
    tg_tensor *t = tg_placeholder_with_default(g, input, TG_SCALAR, "keras_learning_phase");
    tg_scope_pop(g, tok);
    return tg_graph_status(g) == TG_OK ? t : NULL;
}

/* ---- build ------------------------------------------------------------------------------ */

/* "[1, 2, 1]": an axis list as Python prints it. */
static void axis_list(const int *ax, int n, char *buf, size_t size) {
    size_t k = 0;
    k += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && k < size; i++) k += (size_t)snprintf(buf + k, size - k, "%s%d", i ? ", " : "", ax[i]);
    if (k < size) snprintf(buf + k, size - k, "]");
}

/* The sqrt of an initializer (TF's moving_stddev_initializer); false for
 * a random one, whose square root no tg_initializer describes. */
static bool sqrt_initializer(tg_initializer in, tg_initializer *out) {
    switch (in.kind) {
    case TG_INIT_DEFAULT:
    case TG_INIT_ONES: *out = tg_ones_initializer(); return true;
    case TG_INIT_ZEROS: *out = tg_zeros_initializer(); return true;
    case TG_INIT_CONSTANT: *out = tg_constant_initializer(sqrt(in.value)); return true;
    default: return false;
    }
}

/* A Const of param_shape filled with v (the fused path's stand-in for a
 * missing gamma or beta). */
static tg_tensor *filled(tg_graph *g, tg_dtype dt, tg_shape s, double v) {
    int64_t n = tg_shape_num_elements(&s);
    void *buf = malloc((size_t)(n > 0 ? n : 1) * tg_dtype_size(dt));
    if (!buf) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        if (dt == TG_FLOAT64) ((double *)buf)[i] = v;
        else ((float *)buf)[i] = (float)v;
    }
    tg_tensor *t = tg_constant_data(g, dt, s, buf, NULL);
    free(buf);
    return t;
}

static tg_code bn_build(tg_layer *l, tg_shape s) {
    tg__bn *b = l->state;
    tg_graph *g = l->g;
    char shape[256];
    tg__layer_shape_list(&s, shape, sizeof shape);
    if (s.rank <= 0) return fail(g, "Input has undefined rank: %s", shape);
    int nd = s.rank, na = b->n_axis_arg;
    int ax[TG_MAX_RANK];
    for (int i = 0; i < na; i++) ax[i] = b->axis_arg[i] < 0 ? b->axis_arg[i] + nd : b->axis_arg[i];
    for (int i = 0; i < na; i++)
        if (ax[i] < 0 || ax[i] >= nd) return tg_graph_fail(g, TG_INVALID_ARGUMENT, "Invalid axis: %d", ax[i]);
    for (int i = 0; i < na; i++)
        for (int j = i + 1; j < na; j++)
            if (ax[i] == ax[j]) {
                char list[128];
                axis_list(ax, na, list, sizeof list);
                return fail(g, "Duplicate axis: %s", list);
            }
    if (b->vbs) {
        if (b->vbs < 0)
            return fail(g, "%s", "virtual_batch_size must be a positive integer that divides the true batch size of "
                                 "the input Tensor");
        for (int i = 0; i < na; i++)
            if (ax[i] == 0)
                return fail(g, "%s", "When using virtual_batch_size, the batch dimension must be 0 and thus axis "
                                     "cannot include 0");
        if (b->adjustment.fn)
            return fail(g, "%s", "When using virtual_batch_size, adjustment cannot be specified");
        if (nd + 1 > TG_MAX_RANK) return fail(g, "%s", "virtual_batch_size: the input rank is too large");
    }
    /* The fused decision (V1: fused=None/True is a hint; Keras: True is
     * checked at construction and here for the rank). */
    b->fused = false;
    if (b->fused_arg != TG_OPT_FALSE) {
        if (b->keras && b->fused_arg == TG_OPT_TRUE && nd != 4)
            return fail(g, "%s", "Batch normalization layers with fused=True only support 4D input tensors.");
        b->fused = nd == 4 && !b->renorm && na == 1 && (ax[0] == 1 || ax[0] == 3) && !b->vbs && !b->adjustment.fn;
        b->data_format = ax[0] == 1 ? TG_NCHW : TG_NHWC;
    }
    for (int i = 0; i < na; i++)
        if (s.dims[ax[i]] < 0) return fail(g, "Input has undefined `axis` dimension. Input shape: %s", shape);
    tg_dtype dt = tg__layer_dtype(l);
    if (dt != TG_FLOAT32 && dt != TG_FLOAT64)
        return fail(g, "BatchNormalization needs a floating point input, got %s", tg_dtype_name(dt));

    tg__input_spec spec = {.ndim = nd, .min_ndim = -1, .max_ndim = -1, .n_axes = na};
    for (int i = 0; i < na; i++) {
        spec.axes[i] = ax[i];
        spec.axis_values[i] = s.dims[ax[i]];
    }
    l->input_spec = spec;

    /* param_shape, and the axes of the (possibly ghost-batched) input */
    tg_shape ps;
    if (na == 1 && !b->vbs) {
        ps = (tg_shape){.rank = 1, .dims = {s.dims[ax[0]]}};
    } else {
        ps.rank = nd;
        for (int i = 0; i < nd; i++) ps.dims[i] = 1;
        for (int i = 0; i < na; i++) ps.dims[ax[i]] = s.dims[ax[i]];
        if (b->vbs) {
            memmove(&ps.dims[2], &ps.dims[1], (size_t)(nd - 1) * sizeof ps.dims[0]);
            ps.dims[1] = 1;
            ps.rank = nd + 1;
            for (int i = 0; i < na; i++) ax[i]++;
        }
    }
    b->ndims = b->vbs ? nd + 1 : nd;
    b->n_axis = na;
    memcpy(b->axis, ax, sizeof ax);
    b->param_shape = ps;
    b->param_dtype = dt;

    tg_initializer ms_init = {0};
    if (b->renorm && !sqrt_initializer(b->var_init, &ms_init))
        return tg_graph_fail(g, TG_UNIMPLEMENTED,
                             "BatchNormalization: renorm needs the square root of moving_variance_initializer, "
                             "available for zeros, ones and constant initializers only");

    if (b->scale) {
        TG_OPTS(tg_layer_add_variable_opts, go, .initializer = b->gamma_init, .regularizer = b->gamma_reg,
                .constraint = b->gamma_con);
        b->gamma = tg_layer_add_variable(l, "gamma", dt, ps, &go);
        if (!b->gamma) return tg_graph_status(g);
    } else if (b->fused) {
        b->gamma_const = filled(g, dt, ps, 1.0);
    }
    if (b->center) {
        TG_OPTS(tg_layer_add_variable_opts, bo, .initializer = b->beta_init, .regularizer = b->beta_reg,
                .constraint = b->beta_con);
        b->beta = tg_layer_add_variable(l, "beta", dt, ps, &bo);
        if (!b->beta) return tg_graph_status(g);
    } else if (b->fused) {
        b->beta_const = filled(g, dt, ps, 0.0);
    }
    TG_OPTS(tg_layer_add_variable_opts, moving, .initializer = b->mean_init, .trainable = false);
    b->moving_mean = tg_layer_add_variable(l, "moving_mean", dt, ps, &moving);
    moving.initializer = b->var_init;
    if (b->moving_mean) b->moving_variance = tg_layer_add_variable(l, "moving_variance", dt, ps, &moving);
    if (b->moving_variance && b->renorm) {
        moving.initializer = ms_init;
        b->moving_stddev = tg_layer_add_variable(l, "moving_stddev", dt, ps, &moving);
        moving.initializer = b->mean_init;
        if (b->moving_stddev) b->renorm_mean = tg_layer_add_variable(l, "renorm_mean", dt, ps, &moving);
        moving.initializer = ms_init;
        if (b->renorm_mean) b->renorm_stddev = tg_layer_add_variable(l, "renorm_stddev", dt, ps, &moving);
    }
    return tg_graph_status(g);
}

/* ---- call: the fused path ---------------------------------------------------------------- */

/* Registers the two update ops (mean first) with the layer. */
static void add_updates(tg_layer *l, tg_tensor *mean_update, tg_tensor *var_update) {
    if (!mean_update || !var_update || tg_graph_status(l->g) != TG_OK) return;
    if (tg_layer_add_update(l, tg_tensor_op(mean_update)) == TG_OK)
        tg_layer_add_update(l, tg_tensor_op(var_update));
}

/* TF's _fused_batch_norm: FusedBatchNormV3 in training (batch statistics,
 * Bessel-corrected variance out) and/or inference (moving statistics). */
/* The two branches of TF's smart_cond(training, _fused_batch_norm_training,
 * _fused_batch_norm_inference): (y, mean, variance); in inference the mean
 * and variance are the moving ones, passed through the kernel. */
typedef struct fused_args {
    tg__bn *b;
    tg_tensor *x, *gamma, *beta;
} fused_args;

static int fused_branch(tg_graph *g, const fused_args *a, bool training, tg_tensor **outs) {
    tg_fused_batch_norm_opts fo = TG_FUSED_BATCH_NORM_OPTS_INIT;
    fo.epsilon = a->b->epsilon;
    fo.data_format = a->b->data_format;
    fo.is_training = training;
    tg_tensor *mean = training ? NULL : tg_variable_value(a->b->moving_mean);
    tg_tensor *var = training ? NULL : tg_variable_value(a->b->moving_variance);
    if (tg_nn_fused_batch_norm(g, a->x, a->gamma, a->beta, mean, var, &fo, &outs[0], &outs[1], &outs[2]) != TG_OK)
        return -1;
    return 3;
}
static int fused_training(tg_graph *g, void *a, tg_tensor **outs, int n) {
    (void)n;
    return fused_branch(g, a, true, outs);
}
static int fused_inference(tg_graph *g, void *a, tg_tensor **outs, int n) {
    (void)n;
    return fused_branch(g, a, false, outs);
}

/* The branches of smart_cond(training, lambda: momentum, lambda: 1.0):
 * TF converts each Python float in its branch, so each Const is made there. */
static int momentum_training(tg_graph *g, void *u, tg_tensor **outs, int n) {
    tg__bn *b = u;
    (void)n;
    outs[0] = tg_constant_scalar(g, TG_FLOAT32, b->momentum, "Const");
    /* runs exactly in the runs whose updates move the statistics */
    if (outs[0]) b->counter = tg_tensor_op(outs[0]);
    return outs[0] ? 1 : -1;
}

static int momentum_frozen(tg_graph *g, void *u, tg_tensor **outs, int n) {
    (void)u, (void)n;
    outs[0] = tg_constant_scalar(g, TG_FLOAT32, 1.0, "Const");
    return outs[0] ? 1 : -1;
}

static tg_tensor *fused_call(tg_layer *l, tg__bn *b, tg_tensor *x, tg_tensor *training, bool static_training) {
    tg_graph *g = l->g;
    fused_args a = {b, x, b->gamma ? tg_variable_value(b->gamma) : b->gamma_const,
                    b->beta ? tg_variable_value(b->beta) : b->beta_const};
    tg_tensor *out[3] = {NULL, NULL, NULL};
    if (training) {
        if (tg_smart_cond(g, training, fused_training, fused_inference, &a, out, 3, NULL) != TG_OK) return NULL;
    } else if (fused_branch(g, &a, static_training, out) != 3) {
        return NULL;
    }
    if (!training && !static_training) return out[0]; /* static False: no updates */
    /* TF's keras _fused_batch_norm makes the momentum a float32 tensor
     * (smart_cond(training, momentum, 1.0) for a run-time flag), so the
     * decay is the float32 difference 1 - momentum, not the double one. The
     * updates stay outside the cond, as in TF: with a run-time flag they
     * always run, and when it is false they take the moving statistics the
     * inference kernel passed through with decay 0, which changes nothing. */
    tg_tensor *m = training ? cond1(g, training, momentum_training, momentum_frozen, b)
                            : tg_constant_scalar(g, TG_FLOAT32, b->momentum, "Const");
    tg_tensor *mu = tg_train_assign_moving_average_t(g, b->moving_mean, out[1], m, false, NULL);
    tg_tensor *vu = mu ? tg_train_assign_moving_average_t(g, b->moving_variance, out[2], m, false, NULL) : NULL;
    if (mu && !training) b->counter = tg_tensor_op(mu);
    add_updates(l, mu, vu);
    return out[0];
}

/* ---- call: the non-fused path ------------------------------------------------------------ */

/* TF's _compose_transforms(scale, offset, then_scale, then_offset): the
 * transform x * scale + offset followed by then_scale / then_offset (either
 * may be NULL). */
static void compose(tg_graph *g, tg_tensor *scale, tg_tensor *offset, tg_tensor **then_scale, tg_tensor **then_offset) {
    tg_tensor *s = *then_scale ? tg_multiply(g, scale, *then_scale, NULL) : scale;
    tg_tensor *o = *then_scale ? tg_multiply(g, offset, *then_scale, NULL) : offset;
    *then_offset = *then_offset ? tg_add(g, o, *then_offset, NULL) : o;
    *then_scale = s;
}

/* The adjustment's (scale, bias), ones/zeros when a training tensor is
 * false; false with the error recorded. */
static bool adjust(tg_layer *l, tg__bn *b, tg_tensor *x, tg_tensor *training, tg_tensor **as, tg_tensor **ab) {
    tg_graph *g = l->g;
    *as = *ab = NULL;
    tg_code c = b->adjustment.fn(g, tg_shape_of(g, x, NULL), b->adjustment.params, as, ab);
    if (tg_graph_status(g) != TG_OK) return false;
    if (c != TG_OK || !*as || !*ab) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Layer %s: the adjustment returned no (scale, bias) (%s)", l->name,
                      tg_code_name(c));
        return false;
    }
    if (training) { /* adjust only during training */
        *as = tg__bn_cond_fill(g, training, *as, true);
        *ab = tg__bn_cond_fill(g, training, *ab, false);
    }
    return tg_graph_status(g) == TG_OK;
}

/* TF's _broadcast: a rank-1 parameter reshaped to [1, .., C, .., 1] when the
 * axis is not the last one. */
static tg_tensor *bcast(tg_graph *g, const tg__bn *b, tg_tensor *v, bool last_axis_only, const tg_shape *xs) {
    if (!v || tg_tensor_shape(v).rank == b->ndims || last_axis_only) return v;
    tg_shape s = {.rank = b->ndims};
    for (int i = 0; i < b->ndims; i++) s.dims[i] = 1;
    s.dims[b->axis[0]] = xs->dims[b->axis[0]];
    return tg_reshape(g, v, s, NULL);
}

static tg_tensor *cast_to(tg_graph *g, tg_tensor *t, tg_dtype dt) {
    return t && tg_tensor_dtype(t) != dt ? tg_cast(g, t, dt, NULL) : t;
}

static bool has_axis(const tg__bn *b, int a) {
    for (int i = 0; i < b->n_axis; i++)
        if (b->axis[i] == a) return true;
    return false;
}

static tg_tensor *plain_call(tg_layer *l, tg__bn *b, tg_tensor *x, tg_tensor *training, bool static_training) {
    tg_graph *g = l->g;
    tg_shape xs = tg_tensor_shape(x);
    int red[TG_MAX_RANK], nr = 0;
    for (int i = 0; i < b->ndims; i++)
        if (!has_axis(b, i)) red[nr++] = i;
    if (b->vbs && nr >= 2) { /* do not reduce along the ghost-batch index (1) */
        memmove(&red[1], &red[2], (size_t)(nr - 2) * sizeof red[0]);
        nr--;
    }
    bool last_only = nr == b->ndims - 1;
    for (int i = 0; last_only && i < nr; i++) last_only = red[i] == i;
    tg_tensor *scale = bcast(g, b, b->gamma ? tg_variable_value(b->gamma) : NULL, last_only, &xs);
    tg_tensor *offset = bcast(g, b, b->beta ? tg_variable_value(b->beta) : NULL, last_only, &xs);
    tg_tensor *mean, *var;
    if (!training && !static_training) {
        mean = tg_variable_value(b->moving_mean);
        var = tg_variable_value(b->moving_variance);
    } else {
        if (b->adjustment.fn) {
            tg_tensor *as, *ab;
            if (!adjust(l, b, x, training, &as, &ab)) return NULL;
            compose(g, as, ab, &scale, &offset);
        }
        tg_tensor *mb = NULL, *vb = NULL;
        bool keep = b->vbs || b->n_axis > 1;
        if (tg_nn_moments(g, cast_to(g, x, b->param_dtype), red, nr, keep, &mb, &vb, NULL) != TG_OK) return NULL;
        mean = mb;
        var = vb;
        if (training) { /* with ghost batches the Merge is [1, ?, C]: the reduce_mean below undoes it */
            mean = tg__bn_cond(g, training, mb, tg_variable_value(b->moving_mean));
            var = mean ? tg__bn_cond(g, training, vb, tg_variable_value(b->moving_variance)) : NULL;
            if (!var) return NULL;
        }
        tg_tensor *new_mean = mean, *new_var = var;
        if (b->vbs) {
            tg_reduce_opts ro = {.axes = (int[]){1}, .n_axes = 1, .keep_dims = true};
            new_mean = tg_reduce_mean(g, mean, &ro);
            new_var = tg_reduce_mean(g, var, &ro);
        }
        tg_tensor *mu = NULL, *vu = NULL;
        if (b->renorm) {
            tg_tensor *r = NULL, *d = NULL;
            if (tg__bn_renorm_correction(l, b, training, &new_mean, &new_var, &r, &d) != TG_OK) return NULL;
            r = bcast(g, b, tg_stop_gradient(g, r, "renorm_r"), last_only, &xs);
            d = bcast(g, b, tg_stop_gradient(g, d, "renorm_d"), last_only, &xs);
            compose(g, r, d, &scale, &offset);
            mu = tg__bn_update_op(g, training, b->moving_mean, new_mean, b->momentum, &b->counter);
            vu = mu ? tg__bn_renorm_variance_update(l, b, training, new_var) : NULL;
        } else {
            mu = tg__bn_update_op(g, training, b->moving_mean, new_mean, b->momentum, &b->counter);
            vu = mu ? tg__bn_update(g, training, b->moving_variance, new_var, b->momentum, false) : NULL;
        }
        if (!mu || !vu) return NULL;
        add_updates(l, mu, vu);
    }
    tg_dtype dt = tg_tensor_dtype(x);
    mean = bcast(g, b, cast_to(g, mean, dt), last_only, &xs);
    var = bcast(g, b, cast_to(g, var, dt), last_only, &xs);
    return tg_nn_batch_normalization(g, x, mean, var, cast_to(g, offset, dt), cast_to(g, scale, dt), b->epsilon,
                                     NULL);
}

/* ---- the record tg_describe_batch_norm reads ----------------------------------------------- */

static bool default_init(const tg__bn *b) {
    tg_init_kind m = b->mean_init.kind, v = b->var_init.kind;
    return (m == TG_INIT_DEFAULT || m == TG_INIT_ZEROS) && (v == TG_INIT_DEFAULT || v == TG_INIT_ONES);
}

static const char *api_name(const tg_layer *l, const tg__bn *b) {
    static const char *const names[3][3] = {
        {"tf.layers", "tf.layers fused", "tf.layers, renorm"},
        {"keras", "keras fused", "keras, renorm"},
        {"contrib core layer", "contrib core layer fused", "contrib core layer, renorm"},
    };
    return names[b->contrib ? 2 : l->keras ? 1 : 0][b->renorm ? 2 : b->fused ? 1 : 0];
}

/* The normalized axes of an input of rank nd, and its layout. */
static void record_axes(const tg__bn *b, int nd, tg_batch_norm_info *in) {
    in->rank = nd;
    in->n_axis = b->n_axis_arg;
    for (int i = 0; i < b->n_axis_arg; i++) in->axis[i] = b->axis_arg[i] < 0 ? b->axis_arg[i] + nd : b->axis_arg[i];
    in->layout = "-";
    if (in->n_axis == 1 && in->axis[0] == nd - 1) in->layout = "NHWC";
    else if (in->n_axis == 1 && in->axis[0] == 1) in->layout = "NCHW";
}

static bool record_call(tg_layer *l, tg__bn *b, int nd, tg_tensor *y, tg_tensor *training, bool static_training) {
    char name[512];
    snprintf(name, sizeof name, "%s", tg_graph_name_scope(l->g));
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '/') name[len - 1] = '\0';
    bool updates = training || static_training;
    /* a layer that is not trainable exposes no update op (TF 1.15) */
    tg_bn_updates where = !updates || !l->trainable ? TG_BN_UPDATES_NONE
                          : l->keras                ? TG_BN_UPDATES_LAYER
                                                    : TG_BN_UPDATES_COLLECTION;
    tg__bn_record r = {
        .info = {.name = name,
                 .api = api_name(l, b),
                 .training = training ? -1 : static_training,
                 .training_t = training,
                 .updates = where,
                 .collection = where == TG_BN_UPDATES_COLLECTION ? TG_GRAPHKEYS_UPDATE_OPS : NULL,
                 .gamma = b->gamma,
                 .beta = b->beta,
                 .moving_mean = b->moving_mean,
                 .moving_variance = b->moving_variance,
                 .decay = b->momentum,
                 .epsilon = b->epsilon,
                 .bessel = b->fused, /* the fused kernel hands out n / (n - 1) times the variance */
                 .renorm = b->renorm},
        .output = y,
        .counter = updates ? b->counter : NULL,
        .default_init = default_init(b),
    };
    record_axes(b, nd, &r.info);
    return tg__bn_record_add(l->g, &r);
}

/* ---- call ---------------------------------------------------------------------------------- */

static tg_tensor *bn_call(tg_layer *l, tg_tensor *x, tg__layer_training tr) {
    tg__bn *b = l->state;
    tg_graph *g = l->g;
    tg_tensor *training = tr.tensor;
    if (!training && tr.unset && b->keras) training = tg_keras_backend_learning_phase(g);
    if (training) {
        tg_shape ts = tg_tensor_shape(training);
        if (tg_tensor_dtype(training) != TG_BOOL || ts.rank > 0) {
            char shape[128];
            tg__layer_shape_list(&ts, shape, sizeof shape);
            tg_graph_fail(g, TG_INVALID_ARGUMENT,
                          "Layer %s: training must be a bool scalar tensor, got %s of shape %s", l->name,
                          tg_dtype_name(tg_tensor_dtype(training)), shape);
            return NULL;
        }
    }
    /* smart_cond: a constant training tensor is decided now, as TF folds it. */
    bool constant;
    if (training && tg_tensor_static_bool(training, &constant)) {
        tr.value = constant;
        training = NULL;
    }
    tg_shape original = {0};
    int nd = tg_tensor_shape(x).rank;
    b->counter = NULL;
    if (b->vbs) {
        x = tg__bn_ghost_batches(l, b, x, &original);
        if (!x) return NULL;
    }
    tg_tensor *y = b->fused ? fused_call(l, b, x, training, tr.value) : plain_call(l, b, x, training, tr.value);
    if (b->vbs && y) y = tg_reshape(g, y, original, NULL);
    if (y && tg_graph_status(g) == TG_OK) record_call(l, b, nd, y, training, tr.value);
    return tg_graph_status(g) == TG_OK ? y : NULL;
}

static const tg__layer_vtable bn_vt = {.base_name = "batch_normalization", .build = bn_build, .call = bn_call};

/* ---- construction ------------------------------------------------------------------------- */

/* Keras' _raise_if_fused_cannot_be_used, for fused=True, on the axes
 * resolve_axes gave. */
static bool keras_fused_ok(tg_graph *g, const tg_tf_layers_batch_norm_opts *o, const int *axis, int n_axis) {
    const char *why = NULL;
    int a = axis[0];
    if (o->renorm) why = "Passing both fused=True and renorm=True is unsupported";
    else if (n_axis > 1 || (a != -3 && a != -1 && a != 1 && a != 3))
        why = "Passing fused=True is only supported when axis is 1 or 3";
    else if (o->virtual_batch_size) why = "Passing fused=True is unsupported when virtual_batch_size is specified.";
    else if (o->adjustment.fn) why = "Passing fused=True is unsupported when adjustment is specified.";
    if (why) fail(g, "%s", why);
    return !why;
}

/* The axis list the options describe, into axis[0..*n): n_axis 0 with an
 * all-zero axis[] is TF's axis=-1 (what a zeroed list meant before the INIT
 * default spelled it out). Entries beyond n_axis would be dropped without a
 * trace, as `.axis = {1, 2}` without `.n_axis = 2` does, so they are refused
 * naming both fields. */
static bool resolve_axes(tg_graph *g, const tg_tf_layers_batch_norm_opts *o, int axis[TG_MAX_RANK], int *n) {
    if (o->n_axis < 0 || o->n_axis > TG_MAX_RANK) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "axis must be int or list of at most %d ints, n_axis given: %d",
                      TG_MAX_RANK, o->n_axis);
        return false;
    }
    for (int i = o->n_axis; i < TG_MAX_RANK; i++)
        if (o->axis[i] != 0) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT,
                          "BatchNormalization: option 'axis' has entries beyond n_axis (%d); set n_axis to the "
                          "number of axes",
                          o->n_axis);
            return false;
        }
    memset(axis, 0, TG_MAX_RANK * sizeof *axis);
    if (o->n_axis == 0) {
        axis[0] = -1;
        *n = 1;
    } else {
        memcpy(axis, o->axis, (size_t)o->n_axis * sizeof *axis);
        *n = o->n_axis;
    }
    return true;
}

/* base: the tg__layer_base_opts fields beyond the public arguments
 * (current_scope, variable_collections); NULL for none. */
static tg_layer *make_bn(tg_graph *g, const tg_tf_layers_batch_norm_opts *o, bool functional, bool keras,
                         const tg__layer_base_opts *base) {
    if (!usable(g) || !o) return NULL;
    if ((unsigned)o->fused > TG_OPT_NONE) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "BatchNormalization: option 'fused' has the invalid value %d",
                      (int)o->fused);
        return NULL;
    }
    if (!tg_graph_check_opts(g, o->renorm_clipping.tg__init, TG__TAG_tg_renorm_clipping,
                             "BatchNormalization: option 'renorm_clipping'",
                             "TG_RENORM_CLIPPING_INIT"))
        return NULL;
    int axis[TG_MAX_RANK], n_axis;
    if (!resolve_axes(g, o, axis, &n_axis)) return NULL;
    if (keras && o->fused == TG_OPT_TRUE && !keras_fused_ok(g, o, axis, n_axis)) return NULL;
    tg__bn *b = calloc(1, sizeof *b);
    if (!b) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    *b = (tg__bn){
        .n_axis_arg = n_axis,
        .momentum = o->momentum,
        .epsilon = o->epsilon,
        .renorm_momentum = o->renorm_momentum,
        .center = o->center,
        .scale = o->scale,
        .renorm = o->renorm,
        .keras = keras,
        .fused_arg = o->fused,
        .vbs = o->virtual_batch_size,
        .adjustment = o->adjustment,
        .beta_init = o->beta_initializer,
        .gamma_init = o->gamma_initializer,
        .mean_init = o->moving_mean_initializer,
        .var_init = o->moving_variance_initializer,
        .beta_reg = o->beta_regularizer,
        .gamma_reg = o->gamma_regularizer,
        .beta_con = o->beta_constraint,
        .gamma_con = o->gamma_constraint,
    };
    memcpy(b->axis_arg, axis, sizeof b->axis_arg);
    if (o->renorm) b->clip = o->renorm_clipping; /* TF reads renorm_clipping only with renorm */
    tg__layer_base_opts bo = base ? *base : (tg__layer_base_opts){0};
    bo.name = o->name;
    bo.trainable = o->trainable;
    bo.reuse = keras ? TG_REUSE_INHERIT : o->reuse;
    bo.scope_is_name = functional;
    bo.keras = keras;
    return tg__layer_new(g, &bn_vt, b, &bo);
}

/* The options with TF's defaults for NULL; NULL (and the sticky error) for
 * a struct not started from TG_TF_LAYERS_BATCH_NORM_OPTS_INIT. */
static const tg_tf_layers_batch_norm_opts *bn_opts(tg_graph *g, const char *fn, const tg_tf_layers_batch_norm_opts *opts,
                                                   tg_tf_layers_batch_norm_opts *out) {
    if (!usable(g)) return NULL;
    return TG__OPTS_RESOLVE(g, fn, tg_tf_layers_batch_norm_opts, TG_TF_LAYERS_BATCH_NORM_OPTS_INIT, opts, *out) ? out
                                                                                                              : NULL;
}

/* TF's Layer.__init__ raises a TypeError for training= (and Keras' for
 * reuse=); dropping them silently would build inference where training was
 * asked for, so the class constructors refuse what only the functional form
 * reads. */
static bool class_fields_ok(tg_graph *g, const char *fn, const tg_tf_layers_batch_norm_opts *o, bool keras) {
    if (!o) return false;
    if (o->training || o->training_t) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "%s: option '%s' is the functional form's; pass training when applying the layer "
                      "(tg_layer_call)",
                      fn, o->training ? "training" : "training_t");
        return false;
    }
    if (keras && o->reuse != TG_REUSE_INHERIT) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "%s: option 'reuse' is not a Keras argument (Keyword argument not understood: 'reuse'); a "
                      "Keras layer's variables are its own",
                      fn);
        return false;
    }
    return true;
}

tg_layer *tg_tf_layers_batch_normalization_new(tg_graph *g, const tg_tf_layers_batch_norm_opts *opts) {
    static const char fn[] = "tg_tf_layers_batch_normalization_new";
    tg_tf_layers_batch_norm_opts ob;
    const tg_tf_layers_batch_norm_opts *o = bn_opts(g, fn, opts, &ob);
    return class_fields_ok(g, fn, o, false) ? make_bn(g, o, false, false, NULL) : NULL;
}

tg_tensor *tg_tf_layers_batch_normalization(tg_graph *g, tg_tensor *inputs, const tg_tf_layers_batch_norm_opts *opts) {
    tg_tf_layers_batch_norm_opts ob;
    const tg_tf_layers_batch_norm_opts *o = bn_opts(g, "tg_tf_layers_batch_normalization", opts, &ob);
    if (!o || !inputs) return NULL;
    tg__layer_training tr = {.tensor = o->training_t, .value = o->training};
    return tg__layer_apply_once(make_bn(g, o, true, false, NULL), inputs, tr);
}

tg_layer *tg_keras_layers_batch_normalization_new(tg_graph *g, const tg_tf_layers_batch_norm_opts *opts) {
    static const char fn[] = "tg_keras_layers_batch_normalization_new";
    tg_tf_layers_batch_norm_opts ob;
    const tg_tf_layers_batch_norm_opts *o = bn_opts(g, fn, opts, &ob);
    return class_fields_ok(g, fn, o, true) ? make_bn(g, o, false, true, NULL) : NULL;
}

tg_layer *tg__bn_new_in_current_scope(tg_graph *g, const tg_tf_layers_batch_norm_opts *opts,
                                      const char *const *collections, int n) {
    tg_layer *l = make_bn(g, opts, false, false,
                          &(tg__layer_base_opts){.current_scope = true,
                                                 .variable_collections = collections,
                                                 .n_variable_collections = n});
    if (l) ((tg__bn *)l->state)->contrib = true;
    return l;
}
