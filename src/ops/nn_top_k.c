/* TopKV2 (tf.nn.top_k) and InTopKV2 (tf.nn.in_top_k). TopKV2 ranks each
 * row of the last dimension by value, ties by the lower index first (TF's
 * stable order), so its results do not depend on the sort; its gradient
 * sends each value's gradient back to the position it came from. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops_internal.h"

typedef struct {
    bool sorted;
} top_k_attrs;

static bool is_index_dtype(tg_dtype d) { return d == TG_INT32 || d == TG_INT64; }

static int64_t index_at(const tg_array *a, int64_t i) {
    return a->dtype == TG_INT64 ? ((const int64_t *)a->data)[i] : ((const int32_t *)a->data)[i];
}

/* ---- TopKV2(input, k) -> (values, indices) -------------------------------------- */

/* The output shape for input s and k (< 0: not known); false with TF's words. */
static bool top_k_shape(const tg_shape *s, int64_t k, tg_shape *o, char *err, size_t n) {
    *o = *s;
    if (k != INT64_MIN && k < 0) {
        snprintf(err, n, "Need k >= 0, got %lld", (long long)k);
        return false;
    }
    if (s->rank < 0) return true;
    if (s->rank < 1) {
        snprintf(err, n, "Shape must be at least rank 1 but is rank %d", s->rank);
        return false;
    }
    int64_t last = s->dims[s->rank - 1];
    if (k != INT64_MIN && last >= 0 && last < k) {
        snprintf(err, n, "input must have last dimension >= k = %lld but is %lld", (long long)k, (long long)last);
        return false;
    }
    o->dims[s->rank - 1] = k == INT64_MIN ? -1 : k;
    return true;
}

static tg_code top_k_infer(tg__infer_ctx *c) {
    const tg_tensor *x = c->in[0], *k = c->in[1];
    if (x->dtype == TG_BOOL) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "input of dtype bool is not supported");
    if (k->dtype != TG_INT32 || k->shape.rank > 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "k must be an int32 scalar");
    const tg_array *kv = tg__const_value(k);
    char err[160];
    if (!top_k_shape(&x->shape, kv ? index_at(kv, 0) : INT64_MIN, &c->out[0].shape, err, sizeof err))
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    c->out[0].dtype = x->dtype;
    c->out[1].dtype = TG_INT32;
    c->out[1].shape = c->out[0].shape;
    return TG_OK;
}

/* A stable merge sort of idx[0..n) so that AHEAD(v[a], v[b]) puts a first;
 * equal values keep their order, so the lower index comes first. tmp has n
 * entries. */
#define MERGE_SORT(NAME, T, AHEAD)                                                      \
    static void NAME(const T *v, int32_t *idx, int32_t *tmp, int64_t n) {               \
        for (int64_t w = 1; w < n; w *= 2) {                                            \
            for (int64_t lo = 0; lo < n; lo += 2 * w) {                                 \
                int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n; \
                int64_t i = lo, j = mid, o = lo;                                        \
                while (i < mid && j < hi) tmp[o++] = AHEAD(v[idx[j]], v[idx[i]]) ? idx[j++] : idx[i++]; \
                while (i < mid) tmp[o++] = idx[i++];                                    \
                while (j < hi) tmp[o++] = idx[j++];                                     \
            }                                                                           \
            memcpy(idx, tmp, (size_t)n * sizeof *idx);                                  \
        }                                                                               \
    }
/* NaN ranks above every number, so a row's order is total. */
#define FLOAT_AHEAD(a, b) ((a) > (b) || (isnan(a) && !isnan(b)))
#define INT_AHEAD(a, b) ((a) > (b))
MERGE_SORT(sort_f32, float, FLOAT_AHEAD)
MERGE_SORT(sort_f64, double, FLOAT_AHEAD)
MERGE_SORT(sort_i32, int32_t, INT_AHEAD)
MERGE_SORT(sort_i64, int64_t, INT_AHEAD)

/* sorted=False leaves TF's order unspecified; the sorted one is such an order. */
#define TOP_K_KERNEL(NAME, T, SORT)                                                     \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *x = c->in[0];                                                   \
        if (c->in[1]->size != 1) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "k must be a scalar"); \
        int64_t k = index_at(c->in[1], 0), n = x->rank ? x->dims[x->rank - 1] : 0;      \
        if (k < 0) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Need k >= 0, got %lld", (long long)k); \
        if (x->rank < 1 || n < k)                                                       \
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT,                              \
                                   "input must have at least k columns. Had %lld, needed %lld", (long long)n, \
                                   (long long)k);                                       \
        int64_t dims[TG_MAX_RANK];                                                      \
        memcpy(dims, x->dims, sizeof dims);                                             \
        dims[x->rank - 1] = k;                                                          \
        tg_code rc = tg__out_alloc(c, 0, x->dtype, x->rank, dims);                      \
        if (rc == TG_OK) rc = tg__out_alloc(c, 1, TG_INT32, x->rank, dims);             \
        if (rc != TG_OK || c->out[0]->size == 0) return rc;                             \
        int32_t *idx = malloc((size_t)n * 2 * sizeof *idx);                             \
        if (!idx) return tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "out of memory");    \
        int64_t rows = x->size / n;                                                     \
        T *vo = c->out[0]->data;                                                        \
        int32_t *io = c->out[1]->data;                                                  \
        for (int64_t r = 0; r < rows; r++) {                                            \
            const T *v = (const T *)x->data + r * n;                                    \
            for (int64_t j = 0; j < n; j++) idx[j] = (int32_t)j;                        \
            SORT(v, idx, idx + n, n);                                                   \
            for (int64_t j = 0; j < k; j++) vo[r * k + j] = v[idx[j]], io[r * k + j] = idx[j]; \
        }                                                                               \
        free(idx);                                                                      \
        return TG_OK;                                                                   \
    }
TOP_K_KERNEL(top_k_f32, float, sort_f32)
TOP_K_KERNEL(top_k_f64, double, sort_f64)
TOP_K_KERNEL(top_k_i32, int32_t, sort_i32)
TOP_K_KERNEL(top_k_i64, int64_t, sort_i64)

/* TF's _TopKGrad scatters the values' gradient to the indices' positions
 * (scatter_nd on a flattened view); the same sum written densely: each
 * value's gradient times the one-hot row of where it came from, summed over
 * the k values. Needs the size of the last dimension. */
static tg_code top_k_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0], *idx = &c->op->outputs[1];
    c->dx[1] = NULL;
    int64_t n = x->shape.rank > 0 ? x->shape.dims[x->shape.rank - 1] : -1;
    if (n < 0)
        return tg__fail(g, TG_UNIMPLEMENTED, "%s: the gradient of TopKV2 needs the input's last dimension",
                        c->op->name);
    tg_tensor *hot = tg_one_hot(g, idx, n, 1, 0, -1, x->dtype, NULL);
    tg_tensor *w = tg_multiply(g, hot, tg_expand_dims(g, c->dy[0], -1, NULL), NULL);
    c->dx[0] = tg_reduce_sum(g, w, &(tg_reduce_opts){.axes = (const int[]){-2}, .n_axes = 1});
    return tg_graph_status(g);
}

const tg__op_def tg__op_top_k_v2 = {
    .type = "TopKV2",
    .n_inputs = 2,
    .n_outputs = 2,
    .attr_size = sizeof(top_k_attrs),
    .infer = top_k_infer,
    .kernel = TG__NUMERIC(top_k_f32, top_k_f64, top_k_i32, top_k_i64),
    .grad = top_k_grad,
};

tg_code tg_nn_top_k(tg_graph *g, tg_tensor *input, int k, bool sorted, tg_tensor **values, tg_tensor **indices,
                    const char *name) {
    if (values) *values = NULL;
    if (indices) *indices = NULL;
    const char *who = name ? name : "TopKV2";
    if (!tg__graph_ready_in(g, &input, 1, who)) return tg__not_ready_code(g);
    if (!values && !indices) return tg__arg_fail(g, who, "TopKV2", "values and indices are both NULL");
    if (input->dtype == TG_BOOL) return tg__arg_fail(g, who, "TopKV2", "input of dtype bool is not supported");
    tg_shape o;
    char err[160];
    if (!top_k_shape(&input->shape, k, &o, err, sizeof err)) return tg__arg_fail(g, who, "TopKV2", "%s", err);
    const char *scope;
    int tok = tg__builder_scope(g, name, "TopKV2", &scope);
    int32_t kv = k;
    tg_tensor *in[2] = {input, tg_constant_data(g, TG_INT32, TG_SCALAR, &kv, "k")};
    top_k_attrs a = {sorted};
    tg__op_args args = {.def = &tg__op_top_k_v2, .name = scope, .exact_name = true, .inputs = in, .n_inputs = 2,
                        .attrs = &a};
    tg_op *op = tg__add_op(g, &args);
    tg_scope_pop(g, tok);
    if (!op) return tg_graph_status(g);
    if (values) *values = &op->outputs[0];
    if (indices) *indices = &op->outputs[1];
    return TG_OK;
}

/* ---- InTopKV2(predictions, targets, k) -> bool ---------------------------------- */

static bool in_top_k_check(const tg_tensor *p, const tg_tensor *t, char *err, size_t n) {
    if (p->dtype != TG_FLOAT32)
        return snprintf(err, n, "predictions must be float32, not %s", tg_dtype_name(p->dtype)), false;
    if (!is_index_dtype(t->dtype))
        return snprintf(err, n, "targets must be int32 or int64, not %s", tg_dtype_name(t->dtype)), false;
    if (p->shape.rank >= 0 && p->shape.rank != 2)
        return snprintf(err, n, "Shape must be rank 2 but is rank %d for predictions", p->shape.rank), false;
    if (t->shape.rank >= 0 && t->shape.rank != 1)
        return snprintf(err, n, "Shape must be rank 1 but is rank %d for targets", t->shape.rank), false;
    int64_t b = p->shape.rank == 2 ? p->shape.dims[0] : -1, nt = t->shape.rank == 1 ? t->shape.dims[0] : -1;
    if (b >= 0 && nt >= 0 && b != nt)
        return snprintf(err, n, "First dimension of predictions %lld must match length of targets %lld", (long long)b,
                        (long long)nt), false;
    return true;
}

static tg_code in_top_k_infer(tg__infer_ctx *c) {
    const tg_tensor *p = c->in[0], *t = c->in[1], *k = c->in[2];
    char err[200];
    if (!in_top_k_check(p, t, err, sizeof err)) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "%s", err);
    if (k->dtype != t->dtype || k->shape.rank > 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "k must be a scalar of the targets' dtype %s",
                              tg_dtype_name(t->dtype));
    c->out[0].dtype = TG_BOOL;
    c->out[0].shape = TG_SHAPE(p->shape.rank == 2 ? p->shape.dims[0] : t->shape.rank == 1 ? t->shape.dims[0] : -1);
    return TG_OK;
}

/* TF's InTopK functor: a target is in when fewer than k classes score
 * strictly higher, so one that ties the k-th is in; a target out of range
 * or with a non-finite score is never in. */
static tg_code in_top_k_kernel(tg__kernel_ctx *c) {
    const tg_array *p = c->in[0], *t = c->in[1];
    if (p->rank != 2) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "predictions must be 2-dimensional");
    if (t->rank != 1) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "targets must be 1-dimensional");
    if (c->in[2]->size != 1)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "k must be 0-D, got rank %d", c->in[2]->rank);
    if (p->dims[0] != t->dims[0])
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT,
                               "First dimension of predictions %lld must match length of targets %lld",
                               (long long)p->dims[0], (long long)t->dims[0]);
    int64_t rows = p->dims[0], n = p->dims[1], k = index_at(c->in[2], 0);
    tg_code rc = tg__out_alloc(c, 0, TG_BOOL, 1, &rows);
    if (rc != TG_OK) return rc;
    bool *out = c->out[0]->data;
    for (int64_t r = 0; r < rows; r++) {
        const float *row = (const float *)p->data + r * n;
        int64_t target = index_at(t, r);
        if (target < 0 || target >= n || !isfinite(row[target])) {
            out[r] = false;
            continue;
        }
        int64_t above = 0;
        for (int64_t j = 0; j < n && above <= k; j++) above += row[j] > row[target];
        out[r] = above < k;
    }
    return TG_OK;
}

const tg__op_def tg__op_in_top_k_v2 = {
    .type = "InTopKV2",
    .n_inputs = 3,
    .n_outputs = 1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .infer = in_top_k_infer,
    .kernel = {[TG_FLOAT32] = in_top_k_kernel},
};

tg_tensor *tg_nn_in_top_k(tg_graph *g, tg_tensor *predictions, tg_tensor *targets, int64_t k, const char *name) {
    tg_tensor *in[2] = {predictions, targets};
    const char *who = name ? name : "in_top_k";
    if (!tg__graph_ready_in(g, in, 2, who)) return NULL;
    char err[200];
    if (!in_top_k_check(predictions, targets, err, sizeof err))
        return tg__arg_fail(g, who, "InTopKV2", "%s", err), NULL;
    /* TF opens name_scope(name, "in_top_k") but passes its own `name` on to
     * the op: "in_top_k/InTopKV2" by default, "<name>/<name>" with a name */
    int outer = tg_name_scope_push(g, who);
    const char *scope;
    int tok = tg__builder_scope(g, name, "InTopKV2", &scope);
    tg_tensor *args[3] = {predictions, targets, tg_constant_scalar(g, targets->dtype, (double)k, "k")};
    tg__op_args a = {.def = &tg__op_in_top_k_v2, .name = scope, .exact_name = true, .inputs = args, .n_inputs = 3};
    tg_tensor *out = tg__out0(tg__add_op(g, &a));
    tg_scope_pop(g, tok);
    tg_scope_pop(g, outer);
    return out;
}
