/* AddN: the sum of n tensors of one dtype and shape; how tg_gradients sums
 * the contributions of several paths. */
#include "ops_internal.h"

static tg_code addn_infer(tg__infer_ctx *c) {
    if (c->n_in < 1) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "needs at least one input");
    const tg_tensor *a = c->in[0];
    tg_shape shape = a->shape;
    for (int i = 1; i < c->n_in; i++) {
        const tg_tensor *b = c->in[i];
        if (b->dtype != a->dtype)
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "input %d has dtype %s, input 0 has %s", i,
                                  tg_dtype_name(b->dtype), tg_dtype_name(a->dtype));
        if (!tg__shape_compatible(&shape, &b->shape)) {
            char x[128], y[128];
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "input %d has shape %s, not %s", i,
                                  tg_shape_format(&b->shape, x, sizeof x), tg_shape_format(&shape, y, sizeof y));
        }
        if (shape.rank < 0) shape = b->shape;
        for (int d = 0; d < shape.rank && b->shape.rank == shape.rank; d++)
            if (shape.dims[d] < 0) shape.dims[d] = b->shape.dims[d];
    }
    if (a->dtype == TG_BOOL) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "bool inputs are not supported");
    c->out[0].dtype = a->dtype;
    c->out[0].shape = shape;
    return TG_OK;
}

/* The sum, one cache-sized block at a time (each input added in order, so
 * the bits are those of summing whole arrays one after another), blocks
 * split over the intra-op threads. */
typedef struct addn_job {
    tg_array *const *in;
    int n_in;
    void *out;
} addn_job;

enum { ADDN_BLOCK = 2048 }; /* elements: a block of every input stays in L1 */

#define ADDN_KERNEL(NAME, T)                                                            \
    TG__CLONES static void NAME##_range(void *ctx, int64_t b, int64_t e, int chunk, int slot) { \
        (void)chunk, (void)slot;                                                        \
        const addn_job *j = ctx;                                                        \
        T *o = j->out;                                                                  \
        for (int64_t b0 = b; b0 < e; b0 += ADDN_BLOCK) {                                \
            int64_t b1 = e - b0 < ADDN_BLOCK ? e : b0 + ADDN_BLOCK;                     \
            const T *x0 = j->in[0]->data;                                               \
            TG__SIMD                                                                    \
            for (int64_t k = b0; k < b1; k++) o[k] = x0[k];                             \
            for (int i = 1; i < j->n_in; i++) {                                         \
                const T *x = j->in[i]->data;                                            \
                TG__SIMD                                                                \
                for (int64_t k = b0; k < b1; k++) o[k] += x[k];                         \
            }                                                                           \
        }                                                                               \
    }                                                                                   \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *a = c->in[0];                                                   \
        for (int i = 1; i < c->n_in; i++) {                                             \
            bool same = c->in[i]->rank == a->rank;                                      \
            for (int d = 0; same && d < a->rank; d++) same = c->in[i]->dims[d] == a->dims[d]; \
            if (!same) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "input %d has another shape than input 0", i); \
        }                                                                               \
        tg_code rc = tg__out_alloc(c, 0, a->dtype, a->rank, a->dims);                   \
        if (rc != TG_OK) return rc;                                                     \
        addn_job j = {c->in, c->n_in, c->out[0]->data};                                 \
        tg__parallel_for(c, 0, a->size, TG__ELEMENTWISE_GRAIN, NAME##_range, &j);                  \
        return TG_OK;                                                                   \
    }
ADDN_KERNEL(addn_f32, float)
ADDN_KERNEL(addn_f64, double)
ADDN_KERNEL(addn_i32, uint32_t) /* ints wrap, as in TF */
ADDN_KERNEL(addn_i64, uint64_t)

/* d(sum x_i)/dx_i = 1: every input gets dy. */
static tg_code addn_grad(tg__grad_ctx *c) {
    for (int i = 0; i < c->op->n_inputs; i++) c->dx[i] = c->dy[0];
    return TG_OK;
}

const tg__op_def tg__op_add_n = {
    .type = "AddN",
    .n_inputs = -1,
    .n_outputs = 1,
    .infer = addn_infer,
    .kernel = TG__NUMERIC(addn_f32, addn_f64, addn_i32, addn_i64),
    .grad = addn_grad,
};

tg_tensor *tg_add_n(tg_graph *g, tg_tensor *const *xs, int n, const char *name) {
    if (!tg__graph_ready(g, NULL, 0)) return NULL;
    if (n < 1 || !xs) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: needs at least one input", name ? name : "AddN");
        return NULL;
    }
    return tg__simple_op(g, &tg__op_add_n, name, xs, n, NULL);
}
