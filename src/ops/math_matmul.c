/* MatMul: 2-D matrix products through OpenBLAS, with TF's transpose_a /
 * transpose_b attributes and gradient. */
#include <cblas.h>

#include "ops_internal.h"

typedef struct {
    bool ta, tb;
} matmul_attrs;

static tg_code matmul_infer(tg__infer_ctx *c) {
    const matmul_attrs *a = c->attrs;
    const tg_tensor *x = c->in[0], *y = c->in[1];
    if (x->dtype != y->dtype)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "inputs have different dtypes: %s vs. %s", tg_dtype_name(x->dtype),
                              tg_dtype_name(y->dtype));
    if (x->dtype != TG_FLOAT32 && x->dtype != TG_FLOAT64)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "dtype %s is not supported", tg_dtype_name(x->dtype));
    for (int i = 0; i < 2; i++)
        if (c->in[i]->shape.rank >= 0 && c->in[i]->shape.rank != 2)
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "input %d must be a matrix, not rank %d", i, c->in[i]->shape.rank);
    int64_t m = -1, k1 = -1, k2 = -1, n = -1;
    if (x->shape.rank == 2) m = x->shape.dims[a->ta ? 1 : 0], k1 = x->shape.dims[a->ta ? 0 : 1];
    if (y->shape.rank == 2) k2 = y->shape.dims[a->tb ? 1 : 0], n = y->shape.dims[a->tb ? 0 : 1];
    if (k1 >= 0 && k2 >= 0 && k1 != k2) {
        char sa[128], sb[128];
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "inner dimensions %lld and %lld do not match (shapes %s and %s%s%s)",
                              (long long)k1, (long long)k2, tg_shape_format(&x->shape, sa, sizeof sa),
                              tg_shape_format(&y->shape, sb, sizeof sb), a->ta ? ", transpose_a" : "",
                              a->tb ? ", transpose_b" : "");
    }
    c->out[0].dtype = x->dtype;
    c->out[0].shape = TG_SHAPE(m, n);
    return TG_OK;
}

static tg_code matmul_shapes(tg__kernel_ctx *c, int64_t *m, int64_t *k, int64_t *n) {
    const matmul_attrs *a = c->attrs;
    const tg_array *x = c->in[0], *y = c->in[1];
    if (x->rank != 2 || y->rank != 2) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "inputs must be matrices");
    *m = x->dims[a->ta ? 1 : 0];
    *k = x->dims[a->ta ? 0 : 1];
    int64_t k2 = y->dims[a->tb ? 1 : 0];
    *n = y->dims[a->tb ? 0 : 1];
    if (*k != k2)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "inner dimensions %lld and %lld do not match", (long long)*k,
                               (long long)k2);
    if (*m > INT32_MAX || *k > INT32_MAX || *n > INT32_MAX)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "matrix too large for BLAS");
    int64_t dims[2] = {*m, *n};
    return tg__out_alloc(c, 0, x->dtype, 2, dims);
}

/* One slice of the output's rows per chunk, each a single-threaded GEMM:
 * with intra-op threads the pool splits the product instead of OpenBLAS's
 * own threads competing with it. A row slice of op(A) starts at row r0 of
 * A, or at column r0 when A is transposed. */
typedef struct mm_job {
    const matmul_attrs *a;
    const void *x, *y;
    void *z;
    int64_t k, n, ldx, ldy;
} mm_job;

#define MATMUL_RANGE(T, GEMM)                                                                          \
    static void mm_range_##T(void *ctx, int64_t r0, int64_t r1, int chunk, int slot) {                 \
        (void)chunk, (void)slot;                                                                       \
        const mm_job *j = ctx;                                                                         \
        const T *x = (const T *)j->x + (j->a->ta ? r0 : r0 * j->ldx);                                  \
        GEMM(CblasRowMajor, j->a->ta ? CblasTrans : CblasNoTrans, j->a->tb ? CblasTrans : CblasNoTrans, \
             (int)(r1 - r0), (int)j->n, (int)j->k, 1, x, (int)j->ldx, j->y, (int)j->ldy, 0,            \
             (T *)j->z + r0 * j->n, (int)j->n);                                                        \
    }
MATMUL_RANGE(float, cblas_sgemm)
MATMUL_RANGE(double, cblas_dgemm)

/* Rows per chunk so that each GEMM still has work enough to be efficient. */
static int64_t mm_grain(int64_t k, int64_t n) {
    int64_t per_row = k * n;
    int64_t g = per_row > 0 ? ((int64_t)1 << 18) / per_row : 1;
    return g < 8 ? 8 : g;
}

#define MATMUL_KERNEL(NAME, T)                                                          \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const matmul_attrs *a = c->attrs;                                               \
        int64_t m = 0, k = 0, n = 0; /* set on success; -O3 cannot see it */           \
        tg_code rc = matmul_shapes(c, &m, &k, &n);                                      \
        if (rc != TG_OK) return rc;                                                     \
        T *z = c->out[0]->data;                                                         \
        if (k == 0) {                                                                   \
            for (int64_t i = 0; i < m * n; i++) z[i] = 0;                               \
            return TG_OK;                                                               \
        }                                                                               \
        if (m == 0 || n == 0) return TG_OK;                                             \
        mm_job j = {a, c->in[0]->data, c->in[1]->data, z, k, n, c->in[0]->dims[1], c->in[1]->dims[1]}; \
        int64_t grain = mm_grain(k, n);                                                 \
        if (tg__kernel_chunks(c, m, grain) > 1) tg__blas_single_threaded();             \
        tg__parallel_for(c, 0, m, grain, mm_range_##T, &j);                             \
        return TG_OK;                                                                   \
    }
MATMUL_KERNEL(matmul_f32, float)
MATMUL_KERNEL(matmul_f64, double)

static tg_tensor *mm(tg_graph *g, tg_tensor *a, tg_tensor *b, bool ta, bool tb) {
    return tg_matmul(g, a, b, &(tg_matmul_opts){.transpose_a = ta, .transpose_b = tb});
}

/* TF's _MatMulGrad, one case per pair of transpose flags. */
static tg_code matmul_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    const matmul_attrs *a = c->op->attrs;
    tg_tensor *x = c->op->inputs[0], *y = c->op->inputs[1], *dz = c->dy[0];
    if (!a->ta && !a->tb) {
        c->dx[0] = mm(g, dz, y, false, true);
        c->dx[1] = mm(g, x, dz, true, false);
    } else if (!a->ta && a->tb) {
        c->dx[0] = mm(g, dz, y, false, false);
        c->dx[1] = mm(g, dz, x, true, false);
    } else if (a->ta && !a->tb) {
        c->dx[0] = mm(g, y, dz, false, true);
        c->dx[1] = mm(g, x, dz, false, false);
    } else {
        c->dx[0] = mm(g, y, dz, true, true);
        c->dx[1] = mm(g, dz, x, true, true);
    }
    return tg_graph_status(g);
}

const tg__op_def tg__op_matmul = {
    .type = "MatMul",
    .n_inputs = 2,
    .n_outputs = 1,
    .attr_size = sizeof(matmul_attrs),
    .infer = matmul_infer,
    .kernel = TG__NUMERIC(matmul_f32, matmul_f64, NULL, NULL),
    .grad = matmul_grad,
};

tg_tensor *tg_matmul(tg_graph *g, tg_tensor *a, tg_tensor *b, const tg_matmul_opts *opts) {
    const tg_matmul_opts o = opts ? *opts : (tg_matmul_opts){0};
    matmul_attrs at = {o.transpose_a, o.transpose_b};
    tg_tensor *in[2] = {a, b};
    return tg__simple_op(g, &tg__op_matmul, o.name, in, 2, &at);
}
