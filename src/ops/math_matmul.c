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

/* With intra-op threads the pool splits the product, one single-threaded
 * GEMM per thread, instead of OpenBLAS's own threads competing with it.
 * Each thread takes a block of the output's rows (op(A) rows: A's rows, or
 * A's columns when it is transposed) or, when the output is wider than
 * tall, of its columns (op(B)'s columns likewise): the larger side, so
 * that no operand is packed more often than needed. */
typedef struct mm_job {
    const matmul_attrs *a;
    const void *x, *y;
    void *z;
    int64_t m, k, n, ldx, ldy, pieces;
    bool by_cols;
} mm_job;

static void mm_block(const mm_job *j, int64_t p, int64_t *lo, int64_t *hi) {
    int64_t len = j->by_cols ? j->n : j->m;
    *lo = len * p / j->pieces;
    *hi = len * (p + 1) / j->pieces;
}

#define MATMUL_RANGE(T, GEMM)                                                                               \
    static void mm_range_##T(void *ctx, int64_t p0, int64_t p1, int chunk, int slot) {                      \
        (void)chunk, (void)slot;                                                                            \
        const mm_job *j = ctx;                                                                              \
        for (int64_t p = p0; p < p1; p++) {                                                                 \
            int64_t lo, hi;                                                                                 \
            mm_block(j, p, &lo, &hi);                                                                       \
            if (hi <= lo) continue;                                                                         \
            const T *x = j->x, *y = j->y;                                                                   \
            T *z = (T *)j->z;                                                                               \
            int64_t m = j->m, n = j->n;                                                                     \
            if (j->by_cols) y += j->a->tb ? lo * j->ldy : lo, z += lo, n = hi - lo;                         \
            else x += j->a->ta ? lo : lo * j->ldx, z += lo * j->n, m = hi - lo;                             \
            GEMM(CblasRowMajor, j->a->ta ? CblasTrans : CblasNoTrans, j->a->tb ? CblasTrans : CblasNoTrans, \
                 (int)m, (int)n, (int)j->k, 1, x, (int)j->ldx, y, (int)j->ldy, 0, z, (int)j->n);          \
        }                                                                                                   \
    }
MATMUL_RANGE(float, cblas_sgemm)
MATMUL_RANGE(double, cblas_dgemm)

/* One piece per thread when the product is worth splitting (a GEMM of
 * under about a million multiply-adds is faster whole than woken up). */
static int64_t mm_pieces(const tg__kernel_ctx *c, int64_t m, int64_t k, int64_t n) {
    int64_t t = tg__kernel_threads(c), side = m > n ? m : n;
    if (t < 2 || m * k * n < ((int64_t)1 << 20)) return 1;
    return t < side ? t : side;
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
        mm_job j = {a, c->in[0]->data, c->in[1]->data, z, m, k, n, c->in[0]->dims[1], c->in[1]->dims[1], \
                    mm_pieces(c, m, k, n), n > m};                                      \
        if (j.pieces > 1) tg__blas_single_threaded();                                   \
        tg__parallel_for(c, 0, j.pieces, 1, mm_range_##T, &j);                          \
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

/* TF writes both transposes even when false (tf.matmul's graph). */
static void matmul_export(const tg_op *op, tg__attr_list *out) {
    const matmul_attrs *a = op->attrs;
    tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype;
    tg__attr_add(out, "transpose_a", TG__ATTR_BOOL)->u.b = a->ta;
    tg__attr_add(out, "transpose_b", TG__ATTR_BOOL)->u.b = a->tb;
}

const tg__op_def tg__op_matmul = {
    .type = "MatMul",
    .n_inputs = 2,
    .n_outputs = 1,
    .attr_size = sizeof(matmul_attrs),
    .infer = matmul_infer,
    .kernel = TG__NUMERIC(matmul_f32, matmul_f64, NULL, NULL),
    .grad = matmul_grad,
    .export_attrs = matmul_export,
};

tg_tensor *tg_matmul(tg_graph *g, tg_tensor *a, tg_tensor *b, const tg_matmul_opts *opts) {
    const tg_matmul_opts o = opts ? *opts : (tg_matmul_opts){0};
    matmul_attrs at = {o.transpose_a, o.transpose_b};
    tg_tensor *in[2] = {a, b};
    return tg__simple_op(g, &tg__op_matmul, o.name, in, 2, &at);
}
