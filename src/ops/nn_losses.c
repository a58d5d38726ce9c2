/* Losses and regularization ops: SoftmaxCrossEntropyWithLogits, its
 * sparse variant, L2Loss and dropout. The cross-entropy kernels compute the
 * loss from a shifted log-sum-exp, so large logits do not overflow, and
 * return the backprop (softmax - labels) as a second output, as TF. */
#include <math.h>

#include "ops_internal.h"

/* ---- SoftmaxCrossEntropyWithLogits(logits, labels) -> (loss, backprop) --- */

static tg_code xent_check(tg__infer_ctx *c, const tg_tensor *logits) {
    if (logits->dtype != TG_FLOAT32 && logits->dtype != TG_FLOAT64)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "logits must be float32 or float64, not %s", tg_dtype_name(logits->dtype));
    if (logits->shape.rank >= 0 && logits->shape.rank != 2)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "logits must be 2-dimensional [batch, classes], not rank %d",
                              logits->shape.rank);
    if (logits->shape.rank == 2 && logits->shape.dims[1] == 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "Must have at least one class");
    c->out[0].dtype = c->out[1].dtype = logits->dtype;
    c->out[0].shape = logits->shape.rank == 2 ? TG_SHAPE(logits->shape.dims[0]) : TG_SHAPE(-1);
    c->out[1].shape = logits->shape.rank == 2 ? logits->shape : TG_SHAPE(-1, -1);
    return TG_OK;
}

static tg_code xent_infer(tg__infer_ctx *c) {
    const tg_tensor *logits = c->in[0], *labels = c->in[1];
    if (labels->dtype != logits->dtype)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "labels have dtype %s, logits %s", tg_dtype_name(labels->dtype),
                              tg_dtype_name(logits->dtype));
    if (!tg__shape_compatible(&logits->shape, &labels->shape)) {
        char a[128], b[128];
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "logits and labels must be the same shape: %s vs %s",
                              tg_shape_format(&logits->shape, a, sizeof a), tg_shape_format(&labels->shape, b, sizeof b));
    }
    return xent_check(c, logits);
}

/* One row: lse = log sum exp(x); loss = sum(label * (lse - x)); backprop =
 * softmax - label. `label_at` gives row r's label for class j. */
#define XENT_ROWS(T, EXP, LOG, LABEL)                                                   \
    for (int64_t r = 0; r < rows; r++) {                                                \
        const T *x = (const T *)logits->data + r * n;                                   \
        T *bp = (T *)c->out[1]->data + r * n, m = x[0], sum = 0, loss = 0;              \
        for (int64_t j = 1; j < n; j++) m = x[j] > m ? x[j] : m;                        \
        for (int64_t j = 0; j < n; j++) sum += EXP(x[j] - m);                           \
        T lse = m + LOG(sum);                                                           \
        for (int64_t j = 0; j < n; j++) {                                               \
            T lab = (LABEL);                                                            \
            if (lab != 0) loss += lab * (lse - x[j]);                                   \
            bp[j] = EXP(x[j] - lse) - lab;                                              \
        }                                                                               \
        ((T *)c->out[0]->data)[r] = loss;                                               \
    }

static tg_code xent_alloc(tg__kernel_ctx *c, const tg_array *logits, int64_t *rows, int64_t *n) {
    if (logits->rank != 2) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "logits must be 2-dimensional");
    *rows = logits->dims[0];
    *n = logits->dims[1];
    if (*n == 0) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Must have at least one class, but got logits of shape (%lld, 0)",
                                        (long long)*rows);
    tg_code rc = tg__out_alloc(c, 0, logits->dtype, 1, rows);
    return rc == TG_OK ? tg__out_alloc(c, 1, logits->dtype, 2, logits->dims) : rc;
}

#define XENT_KERNEL(NAME, T, EXP, LOG)                                                  \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *logits = c->in[0], *labels = c->in[1];                          \
        if (labels->rank != 2 || labels->dims[0] != logits->dims[0] || labels->dims[1] != logits->dims[1]) \
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "logits and labels must be same size"); \
        int64_t rows = 0, n = 0; /* set by the shape check */                               \
        tg_code rc = xent_alloc(c, logits, &rows, &n);                                  \
        if (rc != TG_OK) return rc;                                                     \
        const T *lb = labels->data;                                                     \
        XENT_ROWS(T, EXP, LOG, lb[r * n + j])                                           \
        return TG_OK;                                                                   \
    }
XENT_KERNEL(xent_f32, float, expf, logf)
XENT_KERNEL(xent_f64, double, exp, log)

static tg_tensor *expand_last(tg_graph *g, tg_tensor *v) {
    /* [batch] -> [batch, 1], statically when the batch is known */
    tg_shape s = v->shape;
    if (s.rank == 1) return tg_reshape(g, v, TG_SHAPE(s.dims[0] >= 0 ? s.dims[0] : -1, 1), NULL);
    return tg_reshape(g, v, TG_SHAPE(-1, 1), NULL);
}

/* Gradient w.r.t. logits: dloss[:, None] * backprop, plus, when the
 * backprop output itself was differentiated (second order), the softmax
 * Jacobian applied to that gradient: s * (gg - sum(gg * s)). */
static tg_tensor *logits_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *logits = c->op->inputs[0], *backprop = &c->op->outputs[1];
    tg_tensor *d = tg_multiply(g, expand_last(g, c->dy[0]), backprop, NULL);
    tg_tensor *gg = c->dy[1];
    if (c->has_dy[1]) {
        tg_tensor *s = tg_nn_softmax(g, logits, NULL);
        int axis = -1;
        tg_tensor *dot = tg_reduce_sum(g, tg_multiply(g, gg, s, NULL), &(tg_reduce_opts){.axes = &axis, .n_axes = 1, .keep_dims = true});
        d = tg_add(g, d, tg_multiply(g, s, tg_subtract(g, gg, dot, NULL), NULL), NULL);
    }
    return d;
}

/* Labels: dloss * -log_softmax(logits) (TF's v2 lets this flow). */
static tg_code xent_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    c->dx[0] = logits_grad(c);
    tg_tensor *lsm = tg_nn_log_softmax(g, c->op->inputs[0], NULL);
    c->dx[1] = tg_multiply(g, expand_last(g, c->dy[0]), tg_negative(g, lsm, NULL), NULL);
    return tg_graph_status(g);
}

const tg__op_def tg__op_softmax_xent = {
    .type = "SoftmaxCrossEntropyWithLogits",
    .n_inputs = 2,
    .n_outputs = 2,
    .infer = xent_infer,
    .kernel = TG__NUMERIC(xent_f32, xent_f64, NULL, NULL),
    .grad = xent_grad,
};

/* ---- SparseSoftmaxCrossEntropyWithLogits(logits, labels int) ------------------ */

static tg_code sparse_infer(tg__infer_ctx *c) {
    const tg_tensor *logits = c->in[0], *labels = c->in[1];
    if (labels->dtype != TG_INT32 && labels->dtype != TG_INT64)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "labels must be int32 or int64, not %s", tg_dtype_name(labels->dtype));
    if (labels->shape.rank >= 0 && labels->shape.rank != 1)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "labels must be 1-D [batch], not rank %d", labels->shape.rank);
    if (labels->shape.rank == 1 && logits->shape.rank == 2 && labels->shape.dims[0] >= 0 &&
        logits->shape.dims[0] >= 0 && labels->shape.dims[0] != logits->shape.dims[0])
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "logits batch %lld does not match labels batch %lld",
                              (long long)logits->shape.dims[0], (long long)labels->shape.dims[0]);
    return xent_check(c, logits);
}

/* Read in the label's own type: through a double, INT64_MAX would not
 * convert back (undefined behaviour). */
static int64_t label_at(const tg_array *labels, int64_t r) {
    return labels->dtype == TG_INT64 ? ((const int64_t *)labels->data)[r] : ((const int32_t *)labels->data)[r];
}

#define SPARSE_KERNEL(NAME, T, EXP, LOG)                                                \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *logits = c->in[0], *labels = c->in[1];                          \
        if (labels->rank != 1 || logits->rank != 2 || labels->dims[0] != logits->dims[0]) \
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "labels must be [batch] for logits [batch, classes]"); \
        int64_t rows = 0, n = 0; /* set by the shape check */                               \
        tg_code rc = xent_alloc(c, logits, &rows, &n);                                  \
        if (rc != TG_OK) return rc;                                                     \
        for (int64_t r = 0; r < rows; r++) {                                            \
            int64_t l = label_at(labels, r);                                            \
            if (l < 0 || l >= n)                                                        \
                return tg__kernel_fail(c, TG_INVALID_ARGUMENT,                          \
                                       "Received a label value of %lld which is outside the valid range of [0, %lld).", \
                                       (long long)l, (long long)n);                     \
        }                                                                               \
        XENT_ROWS(T, EXP, LOG, (T)(j == label_at(labels, r)))                           \
        return TG_OK;                                                                   \
    }
SPARSE_KERNEL(sparse_f32, float, expf, logf)
SPARSE_KERNEL(sparse_f64, double, exp, log)

static tg_code sparse_grad(tg__grad_ctx *c) {
    c->dx[0] = logits_grad(c);
    return tg_graph_status(c->g);
}

const tg__op_def tg__op_sparse_softmax_xent = {
    .type = "SparseSoftmaxCrossEntropyWithLogits",
    .n_inputs = 2,
    .n_outputs = 2,
    .infer = sparse_infer,
    .kernel = TG__NUMERIC(sparse_f32, sparse_f64, NULL, NULL),
    .grad = sparse_grad,
};

static tg_tensor *xent_builder(tg_graph *g, const tg__op_def *def, tg_tensor *labels, tg_tensor *logits,
                               const char *name, const char *dflt) {
    tg_tensor *in[2] = {logits, labels};
    if (!tg__graph_ready_in(g, in, 2, name ? name : def->type)) return NULL;
    tg__op_args a = {.def = def, .name = name ? name : dflt, .inputs = in, .n_inputs = 2};
    return tg__out0(tg__add_op(g, &a));
}

/* TF1's v1 stops the gradient into the labels; v2 does not. */
tg_tensor *tg_nn_softmax_cross_entropy_with_logits(tg_graph *g, tg_tensor *labels, tg_tensor *logits, const char *name) {
    tg_tensor *in[2] = {labels, logits};
    const char *who = name ? name : "tg_nn_softmax_cross_entropy_with_logits";
    if (!tg__graph_ready_in(g, in, 2, who)) return NULL;
    /* refused before the labels' StopGradient exists, so nothing stays */
    if (labels->dtype != logits->dtype || (logits->dtype != TG_FLOAT32 && logits->dtype != TG_FLOAT64))
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: labels have dtype %s, logits %s (both float32 or float64)", who,
                        tg_dtype_name(labels->dtype), tg_dtype_name(logits->dtype)),
               NULL;
    const char *scope;
    int tok = tg__builder_scope(g, name, "softmax_cross_entropy_with_logits_sg", &scope);
    tg_tensor *out = xent_builder(g, &tg__op_softmax_xent, tg_stop_gradient(g, labels, "labels_stop_gradient"), logits,
                                  NULL, "softmax_cross_entropy_with_logits");
    tg_scope_pop(g, tok);
    return out;
}

tg_tensor *tg_nn_softmax_cross_entropy_with_logits_v2(tg_graph *g, tg_tensor *labels, tg_tensor *logits,
                                                      const char *name) {
    return xent_builder(g, &tg__op_softmax_xent, labels, logits, name, "softmax_cross_entropy_with_logits");
}

tg_tensor *tg_nn_sparse_softmax_cross_entropy_with_logits(tg_graph *g, tg_tensor *labels, tg_tensor *logits,
                                                          const char *name) {
    return xent_builder(g, &tg__op_sparse_softmax_xent, labels, logits, name, "SparseSoftmaxCrossEntropyWithLogits");
}

/* ---- L2Loss: sum(t^2) / 2 -------------------------------------------------------- */

static tg_code l2_infer(tg__infer_ctx *c) {
    tg_dtype d = c->in[0]->dtype;
    if (d != TG_FLOAT32 && d != TG_FLOAT64) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "t must be float, not %s", tg_dtype_name(d));
    c->out[0].dtype = d;
    c->out[0].shape = TG_SCALAR;
    return TG_OK;
}

#define L2_KERNEL(NAME, T)                                                              \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *x = c->in[0];                                                   \
        tg_code rc = tg__out_alloc(c, 0, x->dtype, 0, NULL);                            \
        if (rc != TG_OK) return rc;                                                     \
        const T *v = x->data;                                                           \
        T s = 0;                                                                        \
        for (int64_t i = 0; i < x->size; i++) s += v[i] * v[i];                         \
        *(T *)c->out[0]->data = s / 2;                                                  \
        return TG_OK;                                                                   \
    }
L2_KERNEL(l2_f32, float)
L2_KERNEL(l2_f64, double)

/* d/dt sum(t^2)/2 = t */
static tg_code l2_grad(tg__grad_ctx *c) {
    c->dx[0] = tg_multiply(c->g, c->op->inputs[0], c->dy[0], NULL);
    return tg_graph_status(c->g);
}

const tg__op_def tg__op_l2_loss = {
    .type = "L2Loss",
    .n_inputs = 1,
    .n_outputs = 1,
    .infer = l2_infer,
    .kernel = TG__NUMERIC(l2_f32, l2_f64, NULL, NULL),
    .grad = l2_grad,
};

tg_tensor *tg_nn_l2_loss(tg_graph *g, tg_tensor *t, const char *name) {
    return tg__simple_op(g, &tg__op_l2_loss, name, &t, 1, NULL);
}

/* ---- dropout ----------------------------------------------------------------------- */

/* TF 1.15's dropout: keep where uniform >= rate, scale kept values by
 * 1 / (1 - rate). With `training` false it is the identity; with a bool
 * tensor, a Select between the two at run time. */
tg_tensor *tg_nn_dropout(tg_graph *g, tg_tensor *x, const tg_dropout_opts *opts) {
    if (!tg__graph_ready(g, &x, 1)) return NULL;
    tg_dropout_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_nn_dropout", tg_dropout_opts, TG_DROPOUT_OPTS_INIT, opts, o)) return NULL;
    /* TF 1.15 has no default rate; NAN is the INIT macro's "not given" */
    if (isnan(o.rate)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "tg_nn_dropout: You must provide a rate to dropout.");
        return NULL;
    }
    const char *who = o.name ? o.name : "dropout";
    double rate = o.rate;
    if (rate < 0 || rate >= 1) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: rate must be a scalar tensor or a float in the range [0, 1), got %g", who, rate);
        return NULL;
    }
    if (x->dtype != TG_FLOAT32 && x->dtype != TG_FLOAT64) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: x has to be a floating point tensor, got %s", who, tg_dtype_name(x->dtype));
        return NULL;
    }
    if (o.training_t && (o.training_t->dtype != TG_BOOL || o.training_t->shape.rank > 0)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: training must be a bool scalar", who);
        return NULL;
    }
    if (!o.training_t && !o.training) return x;
    const char *scope;
    int tok = tg__builder_scope(g, o.name, "dropout", &scope);
    tg_tensor *noise = tg__random_uniform_t(g, tg_shape_of(g, x, NULL), x->dtype, o.seed);
    tg_tensor *keep = tg_cast(g, tg_greater_equal(g, noise, tg_constant_scalar(g, x->dtype, rate, "rate"), NULL), x->dtype, NULL);
    tg_tensor *scale = tg_constant_scalar(g, x->dtype, 1.0 / (1.0 - rate), "scale");
    tg_tensor *dropped = tg_multiply(g, tg_multiply(g, x, scale, NULL), keep, NULL), *out = dropped;
    if (o.training_t) out = tg_where(g, o.training_t, dropped, x, NULL);
    tg_scope_pop(g, tok);
    return out;
}
