/* tf.contrib.layers.batch_norm (TF 1.15), built from public ops only.
 *
 * TF's function is a dispatcher over three implementations (design doc
 * §7.2); each is reproduced here with its own variables, collections,
 * statistics and update ops:
 *
 *   PATH F  contrib's _fused_batch_norm: FusedBatchNormV3, the Bessel-
 *           corrected batch variance into moving_variance, rank-2 inputs
 *           reshaped to 4-D, zero-debiased moving mean when asked.
 *   PATH L  the core layer tf.layers.BatchNormalization applied inside
 *           contrib's scope with a model-variable getter (§7.5, §4, §5).
 *   PATH N  contrib's legacy non-fused code: moments / weighted_moments and
 *           tf.nn.batch_normalization in the input's dtype.
 *
 * PATH L is the tf.layers BatchNormalization object itself (one
 * implementation of the core layer, tf_layers_batch_norm*.c), built as TF
 * builds it: with `_scope=sc, name=sc.name` it adopts contrib's open
 * "BatchNorm" scope (variables "BatchNorm/gamma", "BatchNorm/renorm_mean",
 * ops "BatchNorm/FusedBatchNormV3", "BatchNorm/AssignNewValue") instead of
 * opening its own, and every variable it creates joins MODEL_VARIABLES
 * (TF's model-variable getter on that scope). The layer puts its update
 * ops in UPDATE_OPS (none when not trainable); contrib then adds the
 * variables_collections (apply_layer_collections). Renorm, renorm_clipping
 * and renorm_decay (the layer's renorm_momentum) are the layer's.
 *
 * A run-time is_training (a tensor without a constant value) goes through
 * TF's smart_cond, i.e. tg_cond, exactly where contrib calls it: path F
 * builds "cond" (the training and inference FusedBatchNormV3) and "cond_1"
 * (_delay_updates vs moving_vars_fn, or _force_updates vs no_updates with
 * updates_collections=None); path N computes the moments outside and builds
 * "cond" (the updates) and, with updates_collections, "cond_1" (batch vs
 * moving statistics). Only the taken branch runs: an inference run executes
 * one FusedBatchNormV3 and no AssignMovingAvg. The updates_collections get
 * the cond's Merge outputs. A static is_training (or a constant tensor)
 * builds the matching branch alone, in the BatchNorm scope. The core layer
 * (path L) handles a run-time training its own way (tf_layers_batch_norm.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgraph.h"
#include "txn.h"
#include "layers_util.h"
#include "tf_layers_batch_norm.h"
#include "bn_record.h"
#include "batch_norm_sync.h"

const char *const tg_layers_update_ops_collections[1] = {TG_GRAPHKEYS_UPDATE_OPS};

/* ---- helpers ------------------------------------------------------------------------ */

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

static void fail_oom(tg_graph *g) { tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"); }

static bool ok(tg_graph *g) { return tg_graph_status(g) == TG_OK; }

/* A static shape as TF prints it: python false gives TF 1.x's
 * str(TensorShape) ("(?, 3)", "(3,)", "<unknown>"), true Python's
 * TensorShape.as_list() ("[None, 3]", "None"), which the core layer uses. */
static const char *shape_str(const tg_shape *s, bool python, char *buf, size_t n) {
    if (s->rank < 0) {
        snprintf(buf, n, python ? "None" : "<unknown>");
        return buf;
    }
    size_t k = (size_t)snprintf(buf, n, python ? "[" : "(");
    for (int i = 0; i < s->rank && k < n; i++) {
        if (s->dims[i] < 0)
            k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", python ? "None" : "?");
        else
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)s->dims[i]);
    }
    if (k < n) snprintf(buf + k, n - k, python ? "]" : s->rank == 1 ? ",)" : ")");
    return buf;
}


/* ---- resolved options ------------------------------------------------------------------ */

typedef enum path { PATH_F, PATH_L, PATH_N } path;

typedef struct bn {
    tg_graph *g;
    tg_tensor *x;
    const tg_layers_batch_norm_opts *o;
    tg_shape s;
    tg_dtype dtype;
    double decay, eps;
    bool center, scale, trainable, fused, zero_debias;
    bool sync;              /* statistics over all MPI ranks (legacy path) */
    bool in_place;          /* updates_collections=None */
    bool default_updates;   /* updates_collections is UPDATE_OPS */
    const char *const *updates;
    int n_updates;
    int training;           /* 1 / 0 static, -1: run time (train_t) */
    tg_tensor *train_t;
    bool nchw;
    int64_t channels;
} bn;

/* sync: refused when it cannot be honoured, never silently local BN. */
static bool check_sync(tg_graph *g, const tg_layers_batch_norm_opts *o) {
    if (!o->sync) return true;
    if (!tg__bn_sync_available()) {
        tg_graph_fail(g, TG_UNIMPLEMENTED, "batch_norm: sync=True needs tgraph built with MPI");
        return false;
    }
    /* Horovod's layer has neither; their statistics are not plain sums. */
    if (o->renorm || o->batch_weights) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "batch_norm: sync=True does not support %s",
                      o->renorm ? "renorm" : "batch_weights");
        return false;
    }
    return true;
}

static bool check_opts(tg_graph *g, const tg_layers_batch_norm_opts *o) {
    if (!check_sync(g, o)) return false;
    if (!tg_graph_check_list(g, "batch_norm", "variables_collections", o->variables_collections, o->n_variables_collections) ||
        !tg_graph_check_list(g, "batch_norm", "beta_collections", o->beta_collections, o->n_beta_collections) ||
        !tg_graph_check_list(g, "batch_norm", "gamma_collections", o->gamma_collections, o->n_gamma_collections) ||
        !tg_graph_check_list(g, "batch_norm", "moving_mean_collections", o->moving_mean_collections, o->n_moving_mean_collections) ||
        !tg_graph_check_list(g, "batch_norm", "moving_variance_collections", o->moving_variance_collections,
                             o->n_moving_variance_collections) ||
        !tg_graph_check_list(g, "batch_norm", "outputs_collections", o->outputs_collections, o->n_outputs_collections))
        return false;
    /* NULL is TF's None whatever the count says (the INIT default's is 1). */
    if (o->updates_collections &&
        !tg_graph_check_list(g, "batch_norm", "updates_collections", o->updates_collections, o->n_updates_collections))
        return false;
    if (o->updates_collections && o->n_updates_collections == 0) {
        /* TF would build update ops that nothing can reach: never what was meant. */
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "batch_norm: option 'updates_collections' is an empty list (NULL is TF's None: update in "
                      "place; the default is {UPDATE_OPS})");
        return false;
    }
    if ((unsigned)o->reuse > TG_AUTO_REUSE) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "batch_norm: option 'reuse' has the invalid value %d", (int)o->reuse);
        return false;
    }
    return tg_graph_check_opts(g, o->renorm_clipping.tg__init, TG__TAG_tg_renorm_clipping,
                               "batch_norm: option 'renorm_clipping'",
                               "TG_RENORM_CLIPPING_INIT");
}

/* The checks TF makes before the scope opens, in TF's order, and the
 * path. Returns false with the graph's error set. */
static bool resolve(bn *b, path *p) {
    tg_graph *g = b->g;
    const tg_layers_batch_norm_opts *o = b->o;
    if (!check_opts(g, o)) return false;
    b->s = tg_tensor_shape(b->x);
    b->dtype = tg_tensor_dtype(b->x);
    b->decay = o->decay;
    b->eps = o->epsilon;
    b->center = o->center;
    b->scale = o->scale;
    b->trainable = o->trainable;
    b->fused = o->fused;
    b->zero_debias = o->zero_debias_moving_mean;
    b->sync = o->sync;
    b->in_place = !o->updates_collections;
    if (!b->in_place) b->updates = o->updates_collections, b->n_updates = o->n_updates_collections;
    b->default_updates = !b->in_place && b->n_updates == 1 && strcmp(b->updates[0], TG_GRAPHKEYS_UPDATE_OPS) == 0;
    b->train_t = o->is_training_t;
    b->training = b->train_t ? -1 : o->is_training;
    /* smart_cond: a constant predicate is decided now, as TF folds it. */
    bool constant;
    if (b->train_t && tg_tensor_static_bool(b->train_t, &constant)) {
        b->training = constant;
        b->train_t = NULL;
    }
    b->nchw = o->data_format == TG_NCHW;

    int rank = b->s.rank;
    bool possible_to_fuse = !o->batch_weights && !o->renorm && (rank == 2 || rank == 4);
    if (b->sync)
        *p = PATH_N; /* the fused kernel and the core layer compute local moments */
    else if (b->fused && possible_to_fuse && (b->zero_debias || rank == 2 || !b->default_updates))
        *p = PATH_F;
    else if (!o->batch_weights && b->default_updates && !b->zero_debias)
        *p = PATH_L;
    else
        *p = PATH_N;

    if (o->data_format != TG_NHWC && o->data_format != TG_NCHW) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "data_format has to be either NCHW or NHWC.");
        return false;
    }
    /* variable_scope(None, default_name, reuse=...) refuses a truthy reuse. */
    if (!o->scope && o->reuse != TG_REUSE_INHERIT) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "reuse=True cannot be used without a name_or_scope");
        return false;
    }
    const char *xn = tg_tensor_name(b->x);
    char sb[256], pb[64];
    if (*p == PATH_N && o->renorm) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "renorm is not supported with batch_weights, updates_collections or zero_debias_moving_mean");
        return false;
    }
    if (rank < 0) {
        if (*p == PATH_L)
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Input has undefined rank: %s", shape_str(&b->s, true, sb, sizeof sb));
        else
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Inputs %s has undefined rank.", xn);
        return false;
    }
    if (rank < 2) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "Inputs %s has rank %d: batch_norm needs a tensor with 2 or more dimensions", xn, rank);
        return false;
    }
    int axis = b->nchw ? 1 : rank - 1;
    b->channels = b->s.dims[axis];
    if (b->channels < 0) {
        tg_shape ps = {.rank = 1, .dims = {-1}};
        if (*p == PATH_F && rank == 2)
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "`C` dimension must be known but is None");
        else if (*p == PATH_F)
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Inputs %s has undefined `C` dimension %s.", xn,
                          shape_str(&ps, false, pb, sizeof pb));
        else if (*p == PATH_L)
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Input has undefined `axis` dimension. Input shape: %s",
                          shape_str(&b->s, true, sb, sizeof sb));
        else
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Inputs %s has undefined channels dimension %s.", xn,
                          shape_str(&ps, false, pb, sizeof pb));
        return false;
    }
    if (!is_float(b->dtype)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "batch_norm: inputs must be float32 or float64, not %s (%s)",
                      tg_dtype_name(b->dtype), xn);
        return false;
    }
    if (b->train_t) {
        tg_shape ts = tg_tensor_shape(b->train_t);
        if (tg_op_graph(tg_tensor_op(b->train_t)) != g || tg_tensor_dtype(b->train_t) != TG_BOOL || ts.rank != 0) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "batch_norm: is_training must be a bool scalar of this graph, got %s",
                          tg_tensor_name(b->train_t));
            return false;
        }
    }
    if (o->batch_weights) {
        tg_tensor *w = o->batch_weights;
        tg_shape ws = tg_tensor_shape(w);
        if (tg_op_graph(tg_tensor_op(w)) != g) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "batch_norm: batch_weights %s is from another graph",
                          tg_tensor_name(w));
            return false;
        }
        bool compatible = ws.rank < 0 || (ws.rank == 1 && (ws.dims[0] < 0 || b->s.dims[0] < 0 ||
                                                           ws.dims[0] == b->s.dims[0]));
        if (!compatible) {
            tg_shape bs = {.rank = 1, .dims = {b->s.dims[0]}};
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Shapes %s and %s are incompatible", shape_str(&bs, false, sb, sizeof sb),
                          shape_str(&ws, false, pb, sizeof pb));
            return false;
        }
        if (tg_tensor_dtype(w) == TG_BOOL) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "batch_norm: batch_weights must be numeric, not bool");
            return false;
        }
    }
    return true;
}

/* ---- variables -------------------------------------------------------------------------- */

typedef enum which { BETA, GAMMA, MOVING_MEAN, MOVING_VARIANCE } which;

static const char *const var_names[] = {"beta", "gamma", "moving_mean", "moving_variance"};

static void own_collections(const bn *b, which w, const char *const **keys, int *n) {
    const tg_layers_batch_norm_opts *o = b->o;
    switch (w) {
    case BETA: *keys = o->beta_collections, *n = o->n_beta_collections; break;
    case GAMMA: *keys = o->gamma_collections, *n = o->n_gamma_collections; break;
    case MOVING_MEAN: *keys = o->moving_mean_collections, *n = o->n_moving_mean_collections; break;
    default: *keys = o->moving_variance_collections, *n = o->n_moving_variance_collections; break;
    }
}

static tg_initializer param_initializer(const bn *b, which w) {
    const tg_layers_batch_norm_initializers *pi = &b->o->param_initializers;
    tg_initializer init = w == BETA ? pi->beta : w == GAMMA ? pi->gamma : w == MOVING_MEAN ? pi->moving_mean
                                                                                           : pi->moving_variance;
    if (init.kind != TG_INIT_DEFAULT) return init;
    return w == GAMMA || w == MOVING_VARIANCE ? tg_ones_initializer() : tg_zeros_initializer();
}

/* contrib's model_variable for paths F and N: the variables_collections,
 * GLOBAL_VARIABLES and MODEL_VARIABLES (+ TRAINABLE_VARIABLES for a
 * trainable beta or gamma). (The core layer makes its own variables and
 * gets the variables_collections after the call: apply_layer_collections.) */
static tg_variable *bn_variable(bn *b, which w, bool regularize) {
    tg_graph *g = b->g;
    const tg_layers_batch_norm_opts *o = b->o;
    const char *const *own;
    int n_own;
    own_collections(b, w, &own, &n_own);
    int n = 2 + o->n_variables_collections + n_own;
    const char **keys = malloc((size_t)n * sizeof *keys);
    if (!keys) {
        fail_oom(g);
        return NULL;
    }
    int k = 0;
    for (int i = 0; i < o->n_variables_collections; i++) keys[k++] = o->variables_collections[i];
    for (int i = 0; i < n_own; i++) keys[k++] = own[i];
    keys[k++] = TG_GRAPHKEYS_GLOBAL_VARIABLES;
    keys[k++] = TG_GRAPHKEYS_MODEL_VARIABLES;
    bool param = w == BETA || w == GAMMA;
    TG_OPTS(tg_get_variable_opts, vo, .initializer = param_initializer(b, w), .trainable = param && b->trainable,
            .collections = keys, .n_collections = k);
    if (regularize && w == BETA) vo.regularizer = o->param_regularizers.beta;
    if (regularize && w == GAMMA) vo.regularizer = o->param_regularizers.gamma;
    tg_variable *v = tg_get_variable(g, var_names[w], b->dtype, TG_SHAPE(b->channels), &vo);
    free(keys);
    return v;
}

/* ---- the branches of TF's smart_cond ---------------------------------------------------- */

/* What the branch functions (tg_cond_fn) of paths F and N read: TF's
 * closures. */
typedef struct bn_fns {
    bn *b;
    tg_tensor *x, *gamma, *beta;  /* F: the kernel's inputs */
    tg_variable *mm, *mv;
    tg_tensor *mean, *var;        /* the batch statistics the updates take */
    tg_tensor *var_update;        /* sync: the Bessel-corrected variance the update takes instead */
    tg_tensor *out;               /* F in place: the output */
    bool model;                   /* N: debias variables in MODEL_VARIABLES */
    tg_op *mean_assign;           /* the moving mean's update, once made: the record's counter */
} bn_fns;

/* contrib's update of one moving statistic (paths F and N):
 * assign_moving_average(var, value, decay, zero_debias=debias), built in
 * the current (branch) context. model: the legacy path's scope has
 * contrib's model-variable getter, so the zero-debias variables land in
 * MODEL_VARIABLES too. */
static tg_tensor *contrib_update(bn *b, tg_variable *var, tg_tensor *value, bool debias, bool model) {
    static const char *const global_model[] = {TG_GRAPHKEYS_GLOBAL_VARIABLES, TG_GRAPHKEYS_MODEL_VARIABLES};
    tg_assign_moving_average_opts mo = TG_ASSIGN_MOVING_AVERAGE_OPTS_INIT;
    mo.zero_debias = debias;
    mo.debias_collections = model ? global_model : NULL;
    mo.n_debias_collections = model ? 2 : 0;
    tg_tensor *u = tg_train_assign_moving_average_opts(b->g, var, value, b->decay, &mo);
    return ok(b->g) ? u : NULL;
}

/* Both updates, mean first (zero-debiased when asked), variance second. */
static bool both_updates(bn_fns *f, tg_tensor **um, tg_tensor **uv) {
    *um = contrib_update(f->b, f->mm, f->mean, f->b->zero_debias, f->model);
    *uv = *um ? contrib_update(f->b, f->mv, f->var_update ? f->var_update : f->var, false, f->model) : NULL;
    if (*um) f->mean_assign = tg_tensor_op(*um);
    return *um && *uv;
}

static int fused_kernel(bn_fns *f, bool training, tg_tensor **outs, int n) {
    bn *b = f->b;
    if (n < 3) return -1;
    tg_fused_batch_norm_opts fo = TG_FUSED_BATCH_NORM_OPTS_INIT;
    fo.epsilon = b->eps;
    fo.data_format = b->nchw ? TG_NCHW : TG_NHWC;
    fo.is_training = training;
    tg_tensor *m = training ? NULL : tg_variable_value(f->mm), *v = training ? NULL : tg_variable_value(f->mv);
    tg_nn_fused_batch_norm(b->g, f->x, f->gamma, f->beta, m, v, &fo, &outs[0], &outs[1], &outs[2]);
    return ok(b->g) ? 3 : -1;
}

/* _fused_batch_norm_training: (y, batch mean, Bessel-corrected variance) */
static int fused_training_fn(tg_graph *g, void *u, tg_tensor **outs, int n) {
    (void)g;
    return fused_kernel(u, true, outs, n);
}

/* _fused_batch_norm_inference: (y, moving mean, moving variance) */
static int fused_inference_fn(tg_graph *g, void *u, tg_tensor **outs, int n) {
    (void)g;
    return fused_kernel(u, false, outs, n);
}

/* _delay_updates: the two update tensors. */
static int delay_updates_fn(tg_graph *g, void *u, tg_tensor **outs, int n) {
    (void)g;
    if (n < 2 || !both_updates(u, &outs[0], &outs[1])) return -1;
    return 2;
}

/* moving_vars_fn: (moving_mean, moving_variance) */
static int moving_vars_fn(tg_graph *g, void *u, tg_tensor **outs, int n) {
    (void)g;
    bn_fns *f = u;
    if (n < 2) return -1;
    outs[0] = tg_variable_value(f->mm);
    outs[1] = tg_variable_value(f->mv);
    return 2;
}

/* F's _force_updates: the output, through an identity after the updates. */
static int force_updates_out_fn(tg_graph *g, void *u, tg_tensor **outs, int n) {
    bn_fns *f = u;
    tg_tensor *um, *uv;
    if (n < 1 || !both_updates(f, &um, &uv)) return -1;
    tg_op *deps[2] = {tg_tensor_op(um), tg_tensor_op(uv)};
    TG_WITH_CONTROL_DEPENDENCIES(g, deps, 2) { outs[0] = tg_identity(g, f->out, NULL); }
    return ok(g) && outs[0] ? 1 : -1;
}

/* F's no_updates: the output as it is. */
static int no_updates_fn(tg_graph *g, void *u, tg_tensor **outs, int n) {
    (void)g;
    if (n < 1) return -1;
    outs[0] = ((bn_fns *)u)->out;
    return 1;
}

/* N's _force_updates: the batch statistics, through identities after the
 * updates. */
static int force_updates_stats_fn(tg_graph *g, void *u, tg_tensor **outs, int n) {
    bn_fns *f = u;
    tg_tensor *um, *uv;
    if (n < 2 || !both_updates(f, &um, &uv)) return -1;
    tg_op *deps[2] = {tg_tensor_op(um), tg_tensor_op(uv)};
    TG_WITH_CONTROL_DEPENDENCIES(g, deps, 2) {
        outs[0] = tg_identity(g, f->mean, NULL);
        outs[1] = tg_identity(g, f->var, NULL);
    }
    return ok(g) && outs[0] && outs[1] ? 2 : -1;
}

/* N's vars_fn: the batch statistics. */
static int batch_stats_fn(tg_graph *g, void *u, tg_tensor **outs, int n) {
    (void)g;
    bn_fns *f = u;
    if (n < 2) return -1;
    outs[0] = f->mean;
    outs[1] = f->var;
    return 2;
}

/* contrib's utils.smart_cond(is_training, t, e): a static is_training
 * calls the matching function here, in the current scope (TF's
 * static_cond); a run-time one goes through tg_smart_cond, i.e. a cond in
 * name scope "cond", "cond_1", ... of the BatchNorm scope, so that only the
 * taken branch runs. Returns false with the graph's error set. */
static bool bn_smart_cond(bn_fns *f, tg_cond_fn t, tg_cond_fn e, tg_tensor **outs, int n) {
    bn *b = f->b;
    for (int i = 0; i < n; i++) outs[i] = NULL;
    if (b->training < 0) return tg_smart_cond(b->g, b->train_t, t, e, f, outs, n, NULL) == TG_OK;
    int k = (b->training ? t : e)(b->g, f, outs, n);
    if (!ok(b->g)) return false;
    if (k != n) {
        tg_graph_fail(b->g, TG_INTERNAL, "batch_norm: a branch returned %d of %d results", k, n);
        return false;
    }
    return true;
}

/* Appends the two update tensors to updates_collections (F and N). */
static void collect_updates(bn *b, tg_tensor *um, tg_tensor *uv) {
    if (!um || !uv) return;
    tg_add_to_collections(b->g, b->updates, b->n_updates, TG_ITEM_OF_TENSOR(um));
    tg_add_to_collections(b->g, b->updates, b->n_updates, TG_ITEM_OF_TENSOR(uv));
}

/* A [C] constant (beta 0 / gamma 1 when absent on a fused kernel). */
static tg_tensor *const_params(bn *b, double v) {
    int64_t c = b->channels;
    size_t es = tg_dtype_size(b->dtype);
    void *data = calloc((size_t)(c ? c : 1), es);
    if (!data) {
        fail_oom(b->g);
        return NULL;
    }
    for (int64_t i = 0; i < c; i++) {
        if (b->dtype == TG_FLOAT64) ((double *)data)[i] = v;
        else ((float *)data)[i] = (float)v;
    }
    tg_tensor *t = tg_constant_data(b->g, b->dtype, TG_SHAPE(c), data, NULL);
    free(data);
    return t;
}

/* ---- the record tg_describe_batch_norm reads (paths F and N) ------------------------------ */

static bool default_init(const bn *b) {
    return param_initializer(b, MOVING_MEAN).kind == TG_INIT_ZEROS &&
           param_initializer(b, MOVING_VARIANCE).kind == TG_INIT_ONES;
}

/* vars: gamma, beta (NULL when absent), moving mean and variance. */
static bool record(bn *b, bool fused, tg_tensor *y, const bn_fns *f, tg_variable *gamma, tg_variable *beta) {
    char name[512];
    snprintf(name, sizeof name, "%s", tg_graph_name_scope(b->g));
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '/') name[len - 1] = '\0';
    tg_bn_updates where = b->training == 0 ? TG_BN_UPDATES_NONE
                          : b->in_place    ? TG_BN_UPDATES_IN_PLACE
                                           : TG_BN_UPDATES_COLLECTION;
    tg__bn_record r = {
        .info = {.name = name,
                 .api = fused ? "contrib fused" : b->sync ? "contrib sync" : "contrib legacy",
                 .training = b->training,
                 .training_t = b->train_t,
                 .updates = where,
                 .collection = where == TG_BN_UPDATES_COLLECTION ? b->updates[0] : NULL,
                 .gamma = gamma,
                 .beta = beta,
                 .moving_mean = f->mm,
                 .moving_variance = f->mv,
                 .decay = b->decay,
                 .epsilon = b->eps,
                 .bessel = fused || b->sync, /* both hand out n / (n - 1) times the variance */
                 .zero_debias = b->zero_debias,
                 .layout = b->nchw ? "NCHW" : "NHWC",
                 .rank = b->s.rank,
                 .axis = {b->nchw ? 1 : b->s.rank - 1},
                 .n_axis = 1},
        .output = y,
        .counter = b->training == 0 ? NULL : f->mean_assign,
        .default_init = default_init(b),
    };
    return tg__bn_record_add(b->g, &r);
}

/* ---- PATH F: contrib's _fused_batch_norm ---------------------------------------------------- */

static tg_tensor *path_fused(bn *b) {
    tg_graph *g = b->g;
    int64_t c = b->channels;
    tg_tensor *x = b->x;
    if (b->s.rank == 2) x = tg_reshape(g, x, b->nchw ? TG_SHAPE(-1, c, 1, 1) : TG_SHAPE(-1, 1, 1, c), NULL);
    tg_variable *beta_v = NULL, *gamma_v = NULL;
    tg_tensor *beta, *gamma;
    if (b->center) {
        beta_v = bn_variable(b, BETA, true);
        beta = beta_v ? tg_variable_value(beta_v) : NULL;
    } else {
        beta = const_params(b, 0.0);
    }
    if (b->scale) {
        gamma_v = bn_variable(b, GAMMA, true);
        gamma = gamma_v ? tg_variable_value(gamma_v) : NULL;
    } else {
        gamma = const_params(b, 1.0);
    }
    tg_variable *mm = bn_variable(b, MOVING_MEAN, false);
    tg_variable *mv = mm ? bn_variable(b, MOVING_VARIANCE, false) : NULL;
    if (!x || !beta || !gamma || !mm || !mv) return NULL;
    bn_fns f = {.b = b, .x = x, .gamma = gamma, .beta = beta, .mm = mm, .mv = mv};
    /* outputs, mean, variance = smart_cond(is_training, training, inference) */
    tg_tensor *r[3];
    if (!bn_smart_cond(&f, fused_training_fn, fused_inference_fn, r, 3)) return NULL;
    tg_tensor *y = r[0];
    f.mean = r[1], f.var = r[2];
    if (b->training != 0) { /* need_updates */
        if (b->in_place) {
            f.out = y;
            if (!bn_smart_cond(&f, force_updates_out_fn, no_updates_fn, &y, 1)) return NULL;
        } else {
            tg_tensor *u[2];
            if (!bn_smart_cond(&f, delay_updates_fn, moving_vars_fn, u, 2)) return NULL;
            collect_updates(b, u[0], u[1]);
        }
    }
    if (y && b->s.rank == 2) y = tg_reshape_t(g, y, tg_shape_of(g, b->x, NULL), NULL);
    if (y && ok(g)) record(b, true, y, &f, gamma_v, beta_v);
    return ok(g) ? y : NULL;
}

/* ---- PATH N: contrib's legacy non-fused code ---------------------------------------------- */

static tg_tensor *path_legacy(bn *b) {
    tg_graph *g = b->g;
    const tg_layers_batch_norm_opts *o = b->o;
    int rank = b->s.rank;
    tg_tensor *w = NULL;
    if (o->batch_weights) {
        tg_shape ws = {.rank = rank};
        ws.dims[0] = -1;
        for (int i = 1; i < rank; i++) ws.dims[i] = 1;
        w = tg_reshape(g, o->batch_weights, ws, NULL);
    }
    int axes[TG_MAX_RANK], n_axes = 0;
    if (b->nchw) {
        axes[n_axes++] = 0;
        for (int i = 2; i < rank; i++) axes[n_axes++] = i;
    } else {
        for (int i = 0; i < rank - 1; i++) axes[n_axes++] = i;
    }
    tg_variable *beta = b->center ? bn_variable(b, BETA, false) : NULL;
    if (b->center && !beta) return NULL;
    tg_variable *gamma = b->scale ? bn_variable(b, GAMMA, false) : NULL;
    if (b->scale && !gamma) return NULL;
    tg_variable *mm = bn_variable(b, MOVING_MEAN, false);
    tg_variable *mv = mm ? bn_variable(b, MOVING_VARIANCE, false) : NULL;
    if (!mm || !mv) return NULL;
    tg_tensor *mean = tg_variable_value(mm), *var = tg_variable_value(mv);
    bn_fns f = {.b = b, .mm = mm, .mv = mv, .model = true};
    if (b->training != 0) { /* need_moments */
        tg_tensor *bm = NULL, *bv = NULL;
        if (b->sync) {
            /* [C] already for NCHW too: the reshape below is a no-op then */
            if (!tg__bn_sync_moments(g, b->x, axes, n_axes, b->channels, &bm, &bv, &f.var_update)) return NULL;
        } else if (w)
            tg_nn_weighted_moments(g, b->x, axes, n_axes, w, b->nchw, &bm, &bv, NULL);
        else
            tg_nn_moments(g, b->x, axes, n_axes, b->nchw, &bm, &bv, NULL);
        if (b->nchw) {
            bm = tg_reshape(g, bm, TG_SHAPE(-1), NULL);
            bv = tg_reshape(g, bv, TG_SHAPE(-1), NULL);
        }
        if (!bm || !bv) return NULL;
        f.mean = bm, f.var = bv;
        tg_tensor *r[2];
        if (b->in_place) {
            /* mean, variance = smart_cond(is_training, _force_updates, moving_vars_fn) */
            if (!bn_smart_cond(&f, force_updates_stats_fn, moving_vars_fn, r, 2)) return NULL;
        } else {
            tg_tensor *u[2];
            if (!bn_smart_cond(&f, delay_updates_fn, moving_vars_fn, u, 2)) return NULL;
            collect_updates(b, u[0], u[1]);
            /* mean, variance = smart_cond(is_training, vars_fn, moving_vars_fn) */
            if (!bn_smart_cond(&f, batch_stats_fn, moving_vars_fn, r, 2)) return NULL;
        }
        mean = r[0], var = r[1];
    }
    tg_tensor *beta_t = beta ? tg_variable_value(beta) : NULL, *gamma_t = gamma ? tg_variable_value(gamma) : NULL;
    if (b->nchw) {
        tg_shape ps = {.rank = rank};
        for (int i = 0; i < rank; i++) ps.dims[i] = i == 1 ? b->channels : 1;
        mean = tg_reshape(g, mean, ps, NULL);
        var = tg_reshape(g, var, ps, NULL);
        if (beta_t) beta_t = tg_reshape(g, beta_t, ps, NULL);
        if (gamma_t) gamma_t = tg_reshape(g, gamma_t, ps, NULL);
    }
    if (!ok(g)) return NULL;
    tg_tensor *y = tg_nn_batch_normalization(g, b->x, mean, var, beta_t, gamma_t, b->eps, NULL);
    if (y) record(b, false, y, &f, gamma, beta);
    return ok(g) ? y : NULL;
}

/* ---- PATH L: the core layer (tf.layers.BatchNormalization, V1) ------------------------------ */

/* After the call, contrib adds variables_collections in this order. */
static void apply_layer_collections(bn *b, tg_variable *const vars[4]) {
    static const which order[] = {MOVING_MEAN, MOVING_VARIANCE, BETA, GAMMA};
    for (int i = 0; i < 4; i++) {
        tg_variable *v = vars[order[i]];
        if (!v) continue;
        const char *const *own;
        int n_own;
        own_collections(b, order[i], &own, &n_own);
        tg__add_variable_once(b->g, v, b->o->variables_collections, b->o->n_variables_collections);
        tg__add_variable_once(b->g, v, own, n_own);
    }
}

/* TF: BatchNormalization(axis, momentum=decay, epsilon, center, scale, the
 * param_initializers and param_regularizers, trainable, renorm,
 * renorm_clipping, renorm_momentum=renorm_decay, name=sc.name, _scope=sc,
 * _reuse=reuse, fused) built in contrib's open scope sc, whose custom getter
 * puts every variable in MODEL_VARIABLES, applied with
 * training=is_training; the layer appends its updates (ops) to UPDATE_OPS. */
static tg_tensor *path_layer(bn *b) {
    tg_graph *g = b->g;
    const tg_layers_batch_norm_opts *o = b->o;
    tg_tf_layers_batch_norm_opts lo = TG_TF_LAYERS_BATCH_NORM_OPTS_INIT;
    lo.name = tg_variable_scope_name(g);
    lo.axis[0] = b->nchw ? 1 : -1;
    lo.n_axis = 1;
    lo.momentum = b->decay;
    lo.epsilon = b->eps;
    lo.center = b->center;
    lo.scale = b->scale;
    lo.beta_initializer = param_initializer(b, BETA);
    lo.gamma_initializer = param_initializer(b, GAMMA);
    lo.moving_mean_initializer = param_initializer(b, MOVING_MEAN);
    lo.moving_variance_initializer = param_initializer(b, MOVING_VARIANCE);
    lo.beta_regularizer = o->param_regularizers.beta;
    lo.gamma_regularizer = o->param_regularizers.gamma;
    lo.renorm = o->renorm;
    lo.renorm_clipping = o->renorm_clipping;
    lo.renorm_momentum = o->renorm_decay;
    lo.fused = b->fused ? TG_OPT_TRUE : TG_OPT_FALSE; /* V1: a hint (rank 4, no renorm) */
    lo.trainable = b->trainable;
    lo.reuse = o->reuse;
    static const char *const model[] = {TG_GRAPHKEYS_MODEL_VARIABLES};
    tg_layer *layer = tg__bn_new_in_current_scope(g, &lo, model, 1);
    if (!layer) return NULL;
    tg_layer_call_opts co = TG_LAYER_CALL_OPTS_INIT;
    co.training = b->training > 0 ? TG_OPT_TRUE : TG_OPT_FALSE;
    co.training_t = b->train_t;
    tg_tensor *y = tg_layer_call(layer, b->x, &co);
    if (y) {
        const tg__bn *st = layer->state;
        tg_variable *vars[4] = {[BETA] = st->beta, [GAMMA] = st->gamma, [MOVING_MEAN] = st->moving_mean,
                                [MOVING_VARIANCE] = st->moving_variance};
        apply_layer_collections(b, vars);
    }
    tg_layer_free(layer);
    return ok(g) ? y : NULL;
}

/* ---- the public function ---------------------------------------------------------------- */

tg_tensor *tg_layers_batch_norm(tg_graph *g, tg_tensor *inputs, const tg_layers_batch_norm_opts *opts) {
    if (!g || !inputs || !ok(g)) return NULL;
    tg_layers_batch_norm_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_layers_batch_norm", tg_layers_batch_norm_opts, TG_LAYERS_BATCH_NORM_OPTS_INIT, opts, o))
        return NULL;
    if (tg_op_graph(tg_tensor_op(inputs)) != g) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "batch_norm: inputs %s is from another graph", tg_tensor_name(inputs));
        return NULL;
    }
    bn b = {.g = g, .x = inputs, .o = &o};
    path p;
    if (!resolve(&b, &p)) return NULL;
    tg_tensor *out = NULL;
    int mark = tg__bn_records_mark(g);
    tg__txn *t = tg__txn_begin(g); /* rejected half-way: nothing stays */
    int tok = tg_variable_scope_push(g, o.scope, &(tg_variable_scope_opts){.default_name = "BatchNorm", .reuse = o.reuse});
    if (ok(g)) {
        out = p == PATH_F ? path_fused(&b) : p == PATH_L ? path_layer(&b) : path_legacy(&b);
        if (out && o.activation_fn) {
            tg_tensor *act = o.activation_fn(g, out, NULL);
            if (!act && ok(g))
                tg_graph_fail(g, TG_INVALID_ARGUMENT, "%sactivation_fn returned NULL", tg_graph_name_scope(g));
            out = act;
        }
        /* collect_named_outputs; tgraph tensors have no `aliases`. */
        if (out && o.n_outputs_collections > 0)
            tg_add_to_collections(g, o.outputs_collections, o.n_outputs_collections, TG_ITEM_OF_TENSOR(out));
    }
    tg_scope_pop(g, tok);
    if (!out && ok(g)) tg_graph_fail(g, TG_INTERNAL, "batch_norm could not be built");
    tg__txn_end(g, t);
    tg__bn_records_rollback(g, mark);
    return ok(g) ? out : NULL;
}

tg_tensor *tg_layers_batch_norm_fn(tg_graph *g, tg_tensor *inputs, const void *params) {
    return tg_layers_batch_norm(g, inputs, (const tg_layers_batch_norm_opts *)params);
}
