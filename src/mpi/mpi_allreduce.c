/* HorovodAllreduce and HorovodGroupedAllreduce: the sum (or average) of
 * each input over all ranks. One kernel serves both: a group is packed
 * into one buffer so that it costs one header exchange and one
 * MPI_Allreduce (Horovod's tensor fusion), a single tensor is reduced from
 * its input straight into its output. The `root` attribute, set only by
 * HorovodBroadcast's gradient, reduces to one rank (MPI_Reduce) and gives
 * zeros elsewhere. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

typedef struct allreduce_attrs {
    tg_mpi_reduce_op op;
    int root; /* -1: every rank gets the result; r: rank r does, the others zeros */
} allreduce_attrs;

static tg_code allreduce_infer(tg__infer_ctx *c) {
    const allreduce_attrs *a = c->attrs;
    if (c->n_in < 1) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "needs at least one input");
    tg_dtype dt = c->in[0]->dtype;
    if (dt == TG_BOOL) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "cannot reduce a bool tensor");
    if (a->op == TG_MPI_AVERAGE && dt != TG_FLOAT32 && dt != TG_FLOAT64)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "averaging needs a float tensor, not %s (use TG_MPI_SUM)",
                              tg_dtype_name(dt));
    for (int i = 0; i < c->n_in; i++) {
        if (c->in[i]->dtype != dt)
            return tg__infer_fail(c, TG_INVALID_ARGUMENT, "input %d has dtype %s, input 0 %s", i,
                                  tg_dtype_name(c->in[i]->dtype), tg_dtype_name(dt));
        c->out[i].dtype = dt;
        c->out[i].shape = c->in[i]->shape;
    }
    return TG_OK;
}

/* Outputs shaped like the inputs, and the group's size and shape hash for
 * the header. */
static tg_code shape_outputs(tg__kernel_ctx *c, int64_t *total, int64_t *hash) {
    uint64_t h = 0; /* unsigned: the combination wraps */
    *total = 0;
    *hash = 0;
    for (int i = 0; i < c->n_in; i++) {
        const tg_array *x = c->in[i];
        tg_code rc = tg__out_alloc(c, i, x->dtype, x->rank, x->dims);
        if (rc != TG_OK) return rc;
        *total += x->size;
        h = h * 31 + (uint64_t)tg__mpi_shape_hash(x, 0);
    }
    *hash = (int64_t)h;
    if (*total > INT_MAX)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s: %lld elements, more than MPI's count (INT_MAX) allows",
                               tg_op_type(c->op), (long long)*total);
    return TG_OK;
}

static void scale(tg_array *y, double by) {
    if (y->dtype == TG_FLOAT32) {
        float *p = y->data;
        for (int64_t k = 0; k < y->size; k++) p[k] = (float)(p[k] / by);
    } else if (y->dtype == TG_FLOAT64) {
        double *p = y->data;
        for (int64_t k = 0; k < y->size; k++) p[k] /= by;
    }
}

/* The reduction proper, once every rank agreed. A group goes through the
 * fused buffer buf (NULL for a single tensor). */
static tg_code reduce(tg__kernel_ctx *c, const tg__mpi_world *w, void *buf, int64_t total) {
    const allreduce_attrs *a = c->attrs;
    MPI_Datatype type = tg__mpi_type(c->in[0]->dtype);
    size_t esz = tg_dtype_size(c->in[0]->dtype);
    const void *send = c->in[0]->data;
    void *recv = c->out[0]->data;
    if (buf) {
        char *p = buf;
        for (int i = 0; i < c->n_in; i++) {
            size_t bytes = (size_t)c->in[i]->size * esz;
            if (bytes) memcpy(p, c->in[i]->data, bytes);
            p += bytes;
        }
        send = MPI_IN_PLACE;
        recv = buf;
    }
    bool to_root = a->root >= 0;
    /* MPI_IN_PLACE for MPI_Reduce is the root's alone. */
    if (to_root && buf && w->rank != a->root) send = buf;
    int err = to_root ? MPI_Reduce(send, recv, (int)total, type, MPI_SUM, a->root, w->comm)
                      : MPI_Allreduce(send, recv, (int)total, type, MPI_SUM, w->comm);
    if (err != MPI_SUCCESS) return tg__mpi_call_failed(c, to_root ? "MPI_Reduce" : "MPI_Allreduce", err);
    bool zero = to_root && w->rank != a->root;
    const char *p = buf;
    for (int i = 0; i < c->n_in; i++) {
        tg_array *y = c->out[i];
        size_t bytes = (size_t)y->size * esz;
        if (zero)
            memset(y->data, 0, bytes);
        else if (buf && bytes)
            memcpy(y->data, p, bytes);
        p += bytes;
        if (a->op == TG_MPI_AVERAGE && !zero) scale(y, w->size);
    }
    return TG_OK;
}

static tg_code allreduce_kernel(tg__kernel_ctx *c) {
    const allreduce_attrs *a = c->attrs;
    const tg__mpi_world *w = tg__mpi_acquire(c);
    if (!w) return TG_FAILED_PRECONDITION;
    int64_t total, hash;
    tg_code local = shape_outputs(c, &total, &hash);
    void *buf = NULL;
    if (local == TG_OK && c->n_in > 1) {
        buf = tg__mpi_scratch_get(c->state, (size_t)total * tg_dtype_size(c->in[0]->dtype));
        if (!buf) local = tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "%s: fusion buffer: out of memory",
                                          tg_op_type(c->op));
    }
    if (local == TG_OK && a->root >= w->size)
        local = tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s: root rank %d, but there are %d ranks",
                                tg_op_type(c->op), a->root, w->size);
    int64_t h[TG__MPI_HDR];
    tg__mpi_header(h, c, TG__MPI_ALLREDUCE, c->in[0]->dtype, total, 0, hash, a->root);
    if (local != TG_OK) h[TG__MPI_H_STATUS] = TG__MPI_FAILED;
    tg_code rc = tg__mpi_agree(c, w, h);
    if (rc == TG_OK) rc = reduce(c, w, buf, total);
    tg__mpi_release();
    return local != TG_OK ? local : rc;
}

/* Every rank's output depends on every rank's input: the same reduction
 * of dy, which is also the adjoint of the average (a sum over ranks of
 * dy / size). The reduction to root (r's output is the sum, the others'
 * zeros) has root's dy broadcast as its gradient. */
static tg_code allreduce_grad(tg__grad_ctx *c) {
    const allreduce_attrs *a = tg__op_attrs(c->op);
    int n = c->op->n_inputs;
    if (a->root >= 0) {
        c->dx[0] = tg_mpi_broadcast(c->g, c->dy[0], a->root, NULL);
        return c->dx[0] ? TG_OK : tg_graph_status(c->g);
    }
    if (n == 1) {
        c->dx[0] = tg_mpi_allreduce(c->g, c->dy[0], a->op, NULL);
        return c->dx[0] ? TG_OK : tg_graph_status(c->g);
    }
    return tg_mpi_grouped_allreduce(c->g, c->dy, n, a->op, c->dx, NULL);
}

const tg__op_def tg__op_horovod_allreduce = {
    .type = "HorovodAllreduce",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_STATEFUL,
    .attr_size = sizeof(allreduce_attrs),
    .state_size = sizeof(tg__mpi_scratch),
    .state_free = tg__mpi_scratch_free,
    .infer = allreduce_infer,
    .kernel = TG__ALL_DTYPES(allreduce_kernel),
    .grad = allreduce_grad,
};

const tg__op_def tg__op_horovod_grouped_allreduce = {
    .type = "HorovodGroupedAllreduce",
    .n_inputs = -1,
    .n_outputs = -1,
    .flags = TG__OPF_STATEFUL,
    .attr_size = sizeof(allreduce_attrs),
    .state_size = sizeof(tg__mpi_scratch),
    .state_free = tg__mpi_scratch_free,
    .infer = allreduce_infer,
    .kernel = TG__ALL_DTYPES(allreduce_kernel),
    .grad = allreduce_grad,
};

static bool valid_op(tg_graph *g, tg_mpi_reduce_op op, const char *who) {
    if (op == TG_MPI_AVERAGE || op == TG_MPI_SUM) return true;
    tg__fail(g, TG_INVALID_ARGUMENT, "%s: reduce op %d is neither TG_MPI_AVERAGE nor TG_MPI_SUM", who, (int)op);
    return false;
}

/* HorovodAllreduce of x with the given attrs, named as Horovod does. */
static tg_tensor *allreduce_op(tg_graph *g, tg_tensor *x, allreduce_attrs a, const char *name) {
    char *dflt = name ? NULL : tg__mpi_default_name(g, "HorovodAllreduce_", x);
    if (!name && !dflt) return NULL;
    tg_tensor *y = tg__simple_op(g, &tg__op_horovod_allreduce, name ? name : dflt, &x, 1, &a);
    free(dflt);
    return y;
}

tg_tensor *tg_mpi_allreduce(tg_graph *g, tg_tensor *x, tg_mpi_reduce_op op, const char *name) {
    if (!tg__graph_ready(g, &x, 1)) return NULL;
    if (!valid_op(g, op, name ? name : "HorovodAllreduce")) return NULL;
    return allreduce_op(g, x, (allreduce_attrs){op, -1}, name);
}

tg_tensor *tg__mpi_reduce_to_root(tg_graph *g, tg_tensor *x, int root) {
    return allreduce_op(g, x, (allreduce_attrs){TG_MPI_SUM, root}, NULL);
}

tg_code tg_mpi_grouped_allreduce(tg_graph *g, tg_tensor *const *xs, int n, tg_mpi_reduce_op op,
                                 tg_tensor **outputs, const char *name) {
    const char *who = name ? name : "HorovodGroupedAllreduce";
    if (outputs && n > 0)
        for (int i = 0; i < n; i++) outputs[i] = NULL;
    if (!tg__graph_ready(g, NULL, 0)) return tg__not_ready_code(g);
    if (n < 1 || !xs || !outputs)
        return tg__fail(g, TG_INVALID_ARGUMENT, "%s: needs n >= 1 inputs and an outputs array", who);
    if (!tg__graph_ready(g, xs, n)) return tg__not_ready_code(g);
    if (!valid_op(g, op, who)) return tg_graph_status(g);
    allreduce_attrs a = {op, -1};
    tg__op_args args = {.def = &tg__op_horovod_grouped_allreduce, .name = who, .inputs = xs, .n_inputs = n,
                        .attrs = &a, .n_outputs = n};
    tg_op *o = tg__add_op(g, &args);
    if (!o) return tg_graph_status(g);
    for (int i = 0; i < n; i++) outputs[i] = tg_op_output(o, i);
    return TG_OK;
}
