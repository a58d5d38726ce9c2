/* tf_layers_batch_norm_renorm.c: BatchNormalization's batch
 * renormalization (TF 1.15's _renorm_correction_and_moments and the renorm
 * variance update) and its ghost batches (virtual_batch_size). */
#include <stdio.h>

#include "tf_layers_batch_norm.h"

tg_tensor *tg__bn_ghost_batches(tg_layer *l, tg__bn *b, tg_tensor *x, tg_shape *original) {
    tg_graph *g = l->g;
    tg_shape s = tg_tensor_shape(x);
    for (int i = 1; i < s.rank; i++)
        if (s.dims[i] < 0) {
            char shape[256];
            tg__layer_shape_list(&s, shape, sizeof shape);
            tg_graph_fail(g, TG_INVALID_ARGUMENT,
                          "Layer %s: virtual_batch_size needs every dimension but the batch known, got %s", l->name,
                          shape);
            return NULL;
        }
    /* original_shape = [-1] + shape[1:]; expanded = [vbs, -1] + shape[1:]:
     * row r lands in ghost batch r mod (B / vbs), as TF's reshape does. */
    *original = s;
    original->dims[0] = -1;
    tg_shape e = {.rank = s.rank + 1, .dims = {b->vbs, -1}};
    for (int i = 1; i < s.rank; i++) e.dims[i + 1] = s.dims[i];
    return tg_reshape(g, x, e, NULL);
}

/* _update_renorm_variable: var's moving average towards identity(value)
 * with renorm_momentum; _fake_update (identity(var)) when a training tensor
 * is false. */
static tg_tensor *update_renorm_variable(tg_graph *g, tg__bn *b, tg_tensor *training, tg_variable *var,
                                         tg_tensor *value) {
    return tg__bn_update(g, training, var, tg_identity(g, value, NULL), b->renorm_momentum, true);
}

tg_code tg__bn_renorm_correction(tg_layer *l, tg__bn *b, tg_tensor *training, tg_tensor **mean,
                                 tg_tensor **variance, tg_tensor **r_out, tg_tensor **d_out) {
    tg_graph *g = l->g;
    tg_dtype dt = b->param_dtype;
    tg_tensor *eps = tg__bn_scalar(g, dt, b->epsilon);
    tg_tensor *stddev = tg_sqrt(g, tg_add(g, *variance, eps, NULL), NULL);
    tg_tensor *renorm_mean = tg_variable_value(b->renorm_mean);
    /* avoid dividing by zero early in training */
    tg_tensor *renorm_stddev = tg_maximum(g, tg_variable_value(b->renorm_stddev), tg_sqrt(g, eps, NULL), NULL);
    tg_tensor *r = tg_divide(g, stddev, renorm_stddev, NULL);
    tg_tensor *d = tg_divide(g, tg_subtract(g, *mean, renorm_mean, NULL), renorm_stddev, NULL);
    if (tg_graph_status(g) != TG_OK) return tg_graph_status(g);
    /* the corrections use the pre-update moving averages */
    tg_tensor *m = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, ((tg_op *[]){tg_tensor_op(r), tg_tensor_op(d)}), 2) {
        m = tg_identity(g, *mean, NULL);
        stddev = tg_identity(g, stddev, NULL);
    }
    /* A key at its "missing" value (rmin 0, rmax and dmax inf) clips nothing,
     * so it builds no op, as TF's missing key. */
    if (b->clip.rmin > 0) r = tg_maximum(g, r, tg__bn_scalar(g, dt, b->clip.rmin), NULL);
    if (b->clip.rmax < INFINITY) r = tg_minimum(g, r, tg__bn_scalar(g, dt, b->clip.rmax), NULL);
    if (b->clip.dmax < INFINITY) {
        d = tg_maximum(g, d, tg__bn_scalar(g, dt, -b->clip.dmax), NULL);
        d = tg_minimum(g, d, tg__bn_scalar(g, dt, b->clip.dmax), NULL);
    }
    if (training) { /* r = 1, d = 0 when not training */
        r = tg__bn_cond_fill(g, training, r, true);
        d = tg__bn_cond_fill(g, training, d, false);
    }
    tg_tensor *um = update_renorm_variable(g, b, training, b->renorm_mean, m);
    tg_tensor *us = um ? update_renorm_variable(g, b, training, b->renorm_stddev, stddev) : NULL;
    if (!us) return tg_graph_status(g);
    /* the inference moving averages are updated after the renorm ones */
    tg_tensor *out_mean = NULL, *out_var = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, ((tg_op *[]){tg_tensor_op(um), tg_tensor_op(us)}), 2) {
        out_mean = tg_identity(g, m, NULL);
        out_var = tg_identity(g, *variance, NULL);
    }
    if (tg_graph_status(g) != TG_OK) return tg_graph_status(g);
    *mean = out_mean;
    *variance = out_var;
    *r_out = r;
    *d_out = d;
    return TG_OK;
}

/* The branches of TF 1.15's variance_update with renorm: true_branch_renorm
 * and lambda: moving_variance. */
typedef struct variance_update {
    tg__bn *b;
    tg_tensor *variance;
} variance_update;

static int renorm_variance_true(tg_graph *g, void *u, tg_tensor **outs, int n) {
    const variance_update *p = u;
    tg__bn *b = p->b;
    tg_dtype dt = b->param_dtype;
    (void)n;
    /* epsilon is part of moving_stddev, mirroring the training path */
    tg_tensor *s = tg_sqrt(g, tg_add(g, p->variance, tg__bn_scalar(g, dt, b->epsilon), NULL), NULL);
    tg_tensor *ms = tg__bn_update(g, NULL, b->moving_stddev, s, b->momentum, false);
    if (!ms) return -1;
    /* relu: rounding could make it negative */
    tg_tensor *v = tg_nn_relu(
        g, tg_subtract(g, tg_multiply(g, ms, ms, NULL), tg__bn_scalar(g, dt, b->epsilon), NULL), NULL);
    outs[0] = NULL;
    TG_WITH_NAME_SCOPE(g, "AssignNewValue") {
        char exact[512];
        snprintf(exact, sizeof exact, "%s", tg_graph_name_scope(g)); /* the assign is named after the scope */
        outs[0] = tg_assign(g, tg_variable_ref(b->moving_variance), v, exact);
    }
    return outs[0] ? 1 : -1;
}

static int renorm_variance_false(tg_graph *g, void *u, tg_tensor **outs, int n) {
    (void)g, (void)n;
    outs[0] = tg_variable_value(((const variance_update *)u)->b->moving_variance);
    return 1;
}

tg_tensor *tg__bn_renorm_variance_update(tg_layer *l, tg__bn *b, tg_tensor *training, tg_tensor *variance) {
    variance_update u = {b, variance};
    tg_tensor *out = NULL;
    if (!training) return renorm_variance_true(l->g, &u, &out, 1) == 1 ? out : NULL;
    return tg_smart_cond(l->g, training, renorm_variance_true, renorm_variance_false, &u, &out, 1, NULL) == TG_OK
               ? out
               : NULL;
}
