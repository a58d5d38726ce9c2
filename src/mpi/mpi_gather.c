/* HorovodBroadcast (root's tensor everywhere), HorovodAllgather (every
 * rank's rows, concatenated in rank order) and TgMpiAllgatherGrad, the
 * allgather's gradient: this rank's rows of the sum of dy over the ranks,
 * which is MPI_Reduce_scatter with the ranks' row counts. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

/* ---- HorovodBroadcast -------------------------------------------------------- */

typedef struct broadcast_attrs {
    int root;
} broadcast_attrs;

static tg_code same_as_input_infer(tg__infer_ctx *c) {
    c->out[0].dtype = c->in[0]->dtype;
    c->out[0].shape = c->in[0]->shape;
    return TG_OK;
}

static tg_code too_many(tg__kernel_ctx *c, int64_t n) {
    return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s: %lld elements, more than MPI's count (INT_MAX) allows",
                           tg_op_type(c->op), (long long)n);
}

static tg_code broadcast_kernel(tg__kernel_ctx *c) {
    const broadcast_attrs *a = c->attrs;
    const tg_array *x = c->in[0];
    const tg__mpi_world *w = tg__mpi_acquire(c);
    if (!w) return TG_FAILED_PRECONDITION;
    tg_code local = tg__out_alloc(c, 0, x->dtype, x->rank, x->dims);
    if (local == TG_OK && a->root >= w->size)
        local = tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s: root rank %d, but there are %d ranks",
                                tg_op_type(c->op), a->root, w->size);
    if (local == TG_OK && x->size > INT_MAX) local = too_many(c, x->size);
    int64_t h[TG__MPI_HDR];
    tg__mpi_header(h, c, TG__MPI_BROADCAST, x->dtype, x->size, 0, tg__mpi_shape_hash(x, 0), a->root);
    if (local != TG_OK) h[TG__MPI_H_STATUS] = TG__MPI_FAILED;
    tg_code rc = tg__mpi_agree(c, w, h);
    if (rc == TG_OK) {
        tg_array *y = c->out[0];
        if (w->rank == a->root && x->size) memcpy(y->data, x->data, (size_t)x->size * tg_dtype_size(x->dtype));
        int err = MPI_Bcast(y->data, (int)x->size, tg__mpi_type(x->dtype), a->root, w->comm);
        if (err != MPI_SUCCESS) rc = tg__mpi_call_failed(c, "MPI_Bcast", err);
    }
    tg__mpi_release();
    return local != TG_OK ? local : rc;
}

/* Every rank's output is root's input: root's gradient is the sum of every
 * rank's dy, the other ranks' inputs are unused (zeros). */
static tg_code broadcast_grad(tg__grad_ctx *c) {
    const broadcast_attrs *a = tg__op_attrs(c->op);
    c->dx[0] = tg__mpi_reduce_to_root(c->g, c->dy[0], a->root);
    return c->dx[0] ? TG_OK : tg_graph_status(c->g);
}

const tg__op_def tg__op_horovod_broadcast = {
    .type = "HorovodBroadcast",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_STATEFUL,
    .attr_size = sizeof(broadcast_attrs),
    .infer = same_as_input_infer,
    .kernel = TG__ALL_DTYPES(broadcast_kernel),
    .grad = broadcast_grad,
};

/* A builder's op named `name`, or Horovod's default for x. */
static tg_tensor *named_op(tg_graph *g, const tg__op_def *def, const char *prefix, const char *name,
                          tg_tensor *const *in, int n, const void *attrs) {
    char *dflt = name ? NULL : tg__mpi_default_name(g, prefix, in[0]);
    if (!name && !dflt) return NULL;
    tg_tensor *y = tg__simple_op(g, def, name ? name : dflt, in, n, attrs);
    free(dflt);
    return y;
}

tg_tensor *tg_mpi_broadcast(tg_graph *g, tg_tensor *x, int root, const char *name) {
    if (!tg__graph_ready(g, &x, 1)) return NULL;
    if (root < 0) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: root rank %d is negative", name ? name : "HorovodBroadcast", root);
        return NULL;
    }
    broadcast_attrs a = {root};
    return named_op(g, &tg__op_horovod_broadcast, "HorovodBroadcast_", name, &x, 1, &a);
}

/* ---- HorovodAllgather -------------------------------------------------------- */

static tg_code allgather_infer(tg__infer_ctx *c) {
    const tg_tensor *x = c->in[0];
    if (x->shape.rank == 0) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "cannot gather a scalar: needs rank >= 1");
    c->out[0].dtype = x->dtype;
    c->out[0].shape = x->shape;
    if (x->shape.rank > 0) c->out[0].shape.dims[0] = -1; /* the ranks' rows, known when it runs */
    return TG_OK;
}

static int64_t row_elements(const tg_array *a) {
    int64_t n = 1;
    for (int d = 1; d < a->rank; d++) n *= a->dims[d];
    return n;
}

/* MPI_Allgatherv's counts and displacements from the agreed headers;
 * false when the result is too large for MPI's int counts (the same
 * answer on every rank: the table is the same). */
static bool layout(const tg__mpi_world *w, int64_t row, int64_t *rows_total) {
    int64_t at = 0;
    *rows_total = 0;
    for (int q = 0; q < w->size; q++) {
        int64_t rows = w->table[(size_t)q * TG__MPI_HDR + TG__MPI_H_ROWS];
        if (rows < 0 || rows > INT_MAX || (row && rows > (INT_MAX - at) / row)) return false;
        w->counts[q] = (int)(rows * row);
        w->displs[q] = (int)at;
        at += rows * row;
        *rows_total += rows;
    }
    return true;
}

static tg_code gather(tg__kernel_ctx *c, const tg__mpi_world *w) {
    const tg_array *x = c->in[0];
    int64_t row = row_elements(x), rows = 0;
    if (!layout(w, row, &rows)) return too_many(c, INT64_MAX);
    int64_t dims[TG_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[0] = rows;
    bool failed = tg__out_alloc(c, 0, x->dtype, x->rank, dims) != TG_OK;
    tg_code rc = tg__mpi_confirm(c, w, failed);
    if (rc != TG_OK) return rc;
    MPI_Datatype type = tg__mpi_type(x->dtype);
    int err = MPI_Allgatherv(x->data, w->counts[w->rank], type, c->out[0]->data, w->counts, w->displs, type, w->comm);
    return err == MPI_SUCCESS ? TG_OK : tg__mpi_call_failed(c, "MPI_Allgatherv", err);
}

static tg_code allgather_kernel(tg__kernel_ctx *c) {
    const tg_array *x = c->in[0];
    const tg__mpi_world *w = tg__mpi_acquire(c);
    if (!w) return TG_FAILED_PRECONDITION;
    tg_code local = TG_OK;
    if (x->rank == 0)
        local = tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s: cannot gather a scalar: needs rank >= 1",
                                tg_op_type(c->op));
    int64_t h[TG__MPI_HDR];
    tg__mpi_header(h, c, TG__MPI_ALLGATHER, x->dtype, row_elements(x), x->rank ? x->dims[0] : 0,
                   tg__mpi_shape_hash(x, 1), -1);
    if (local != TG_OK) h[TG__MPI_H_STATUS] = TG__MPI_FAILED;
    tg_code rc = tg__mpi_agree(c, w, h);
    if (rc == TG_OK) rc = gather(c, w);
    tg__mpi_release();
    return local != TG_OK ? local : rc;
}

static tg_tensor *allgather_grad_op(tg_graph *g, tg_tensor *dy, tg_tensor *x);

static tg_code allgather_grad(tg__grad_ctx *c) {
    c->dx[0] = allgather_grad_op(c->g, c->dy[0], c->op->inputs[0]);
    return c->dx[0] ? TG_OK : tg_graph_status(c->g);
}

const tg__op_def tg__op_horovod_allgather = {
    .type = "HorovodAllgather",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_STATEFUL,
    .infer = allgather_infer,
    .kernel = TG__ALL_DTYPES(allgather_kernel),
    .grad = allgather_grad,
};

tg_tensor *tg_mpi_allgather(tg_graph *g, tg_tensor *x, const char *name) {
    if (!tg__graph_ready(g, &x, 1)) return NULL;
    return named_op(g, &tg__op_horovod_allgather, "HorovodAllgather_", name, &x, 1, NULL);
}

/* ---- TgMpiAllgatherGrad(dy, x) ----------------------------------------------- */

/* dy is the gathered tensor's gradient (every rank's rows); x is read for
 * its number of rows only. */
static tg_code allgather_grad_infer(tg__infer_ctx *c) {
    const tg_tensor *dy = c->in[0], *x = c->in[1];
    if (dy->dtype == TG_BOOL) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "cannot reduce a bool tensor");
    c->out[0].dtype = dy->dtype;
    c->out[0].shape = x->shape;
    return TG_OK;
}

static tg_code scatter(tg__kernel_ctx *c, const tg__mpi_world *w) {
    const tg_array *dy = c->in[0];
    int64_t row = row_elements(dy), rows = 0;
    if (!layout(w, row, &rows)) return too_many(c, INT64_MAX);
    if (rows != dy->dims[0])
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s: the ranks' inputs have %lld rows together, dy %lld",
                               tg_op_type(c->op), (long long)rows, (long long)dy->dims[0]);
    MPI_Datatype type = tg__mpi_type(dy->dtype);
    int err = MPI_Reduce_scatter(dy->data, c->out[0]->data, w->counts, type, MPI_SUM, w->comm);
    return err == MPI_SUCCESS ? TG_OK : tg__mpi_call_failed(c, "MPI_Reduce_scatter", err);
}

static tg_code allgather_grad_kernel(tg__kernel_ctx *c) {
    const tg_array *dy = c->in[0], *x = c->in[1];
    const tg__mpi_world *w = tg__mpi_acquire(c);
    if (!w) return TG_FAILED_PRECONDITION;
    tg_code local = TG_OK;
    if (dy->rank == 0 || x->rank == 0)
        local = tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s: needs rank >= 1", tg_op_type(c->op));
    int64_t dims[TG_MAX_RANK];
    memcpy(dims, dy->dims, sizeof dims);
    dims[0] = x->rank ? x->dims[0] : 0;
    if (local == TG_OK) local = tg__out_alloc(c, 0, dy->dtype, dy->rank, dims);
    if (local == TG_OK && dy->size > INT_MAX) local = too_many(c, dy->size);
    int64_t h[TG__MPI_HDR];
    tg__mpi_header(h, c, TG__MPI_ALLGATHER_GRAD, dy->dtype, row_elements(dy), dims[0], tg__mpi_shape_hash(dy, 0), -1);
    if (local != TG_OK) h[TG__MPI_H_STATUS] = TG__MPI_FAILED;
    tg_code rc = tg__mpi_agree(c, w, h);
    if (rc == TG_OK) rc = scatter(c, w);
    tg__mpi_release();
    return local != TG_OK ? local : rc;
}

/* Linear in dy: its adjoint gathers the rows back (the allgather of the
 * output's gradient). x only gave a count: no gradient. */
static tg_code allgather_grad_grad(tg__grad_ctx *c) {
    c->dx[0] = tg_mpi_allgather(c->g, c->dy[0], NULL);
    c->dx[1] = NULL;
    return c->dx[0] ? TG_OK : tg_graph_status(c->g);
}

const tg__op_def tg__op_tg_mpi_allgather_grad = {
    .type = "TgMpiAllgatherGrad",
    .n_inputs = 2,
    .n_outputs = 1,
    .flags = TG__OPF_STATEFUL,
    .infer = allgather_grad_infer,
    .kernel = TG__ALL_DTYPES(allgather_grad_kernel),
    .grad = allgather_grad_grad,
};

static tg_tensor *allgather_grad_op(tg_graph *g, tg_tensor *dy, tg_tensor *x) {
    tg_tensor *in[2] = {dy, x};
    return named_op(g, &tg__op_tg_mpi_allgather_grad, "TgMpiAllgatherGrad_", NULL, in, 2, NULL);
}
