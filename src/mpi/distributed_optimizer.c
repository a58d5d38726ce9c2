/* hvd.DistributedOptimizer and hvd.broadcast_global_variables. The wrapper
 * is an optimizer of its own class whose `inner` is the wrapped one
 * (src/optim/optimizer_impl.h: the one hook src/optim offers for this):
 * compute_gradients computes as usual and passes the gradients through
 * fuse_and_average; everything else is the inner optimizer's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"
#include "optimizer_impl.h"
#include "txn.h"

/* Horovod's HOROVOD_FUSION_THRESHOLD default. */
#define DEFAULT_FUSION_THRESHOLD ((int64_t)64 * 1024 * 1024)

typedef struct dist_optimizer {
    tg_optimizer base;
    int64_t threshold; /* bytes per fused group */
} dist_optimizer;

static int64_t grad_bytes(const tg_variable *v) {
    tg_shape s = tg_variable_shape(v);
    int64_t n = tg_shape_num_elements(&s);
    return (n < 0 ? 0 : n) * (int64_t)tg_dtype_size(tg_variable_dtype(v));
}

/* Averages grads[idx[0..k)] with one op: an allreduce for one tensor, a
 * grouped one (one fused buffer) for several. */
static bool average_group(tg_graph *g, tg_tensor **grads, const int *idx, int k, tg_tensor **ins, tg_tensor **outs) {
    if (k == 1) {
        grads[idx[0]] = tg_mpi_allreduce(g, grads[idx[0]], TG_MPI_AVERAGE, NULL);
        return grads[idx[0]] != NULL;
    }
    for (int j = 0; j < k; j++) ins[j] = grads[idx[j]];
    if (tg_mpi_grouped_allreduce(g, ins, k, TG_MPI_AVERAGE, outs, NULL) != TG_OK) return false;
    for (int j = 0; j < k; j++) grads[idx[j]] = outs[j];
    return true;
}

/* Horovod's fusion: the gradients of one dtype, in order, cut into groups
 * of at most threshold bytes (one larger gradient makes a group alone). */
static bool fuse_dtype(dist_optimizer *d, tg_dtype dtype, tg_tensor **grads, tg_variable *const *vars, int n,
                       int *idx, tg_tensor **ins, tg_tensor **outs) {
    tg_graph *g = d->base.g;
    int k = 0;
    int64_t bytes = 0;
    for (int i = 0; i < n; i++) {
        if (!grads[i] || tg_tensor_dtype(grads[i]) != dtype) continue;
        int64_t b = grad_bytes(vars[i]);
        if (k && bytes + b > d->threshold) {
            if (!average_group(g, grads, idx, k, ins, outs)) return false;
            k = 0;
            bytes = 0;
        }
        idx[k++] = i;
        bytes += b;
    }
    return !k || average_group(g, grads, idx, k, ins, outs);
}

static bool fuse_and_average(tg_optimizer *o, tg_tensor **grads, tg_variable *const *vars, int n) {
    dist_optimizer *d = (dist_optimizer *)o;
    tg_graph *g = o->g;
    int *idx = malloc((size_t)n * sizeof *idx);
    tg_tensor **ins = malloc((size_t)n * sizeof *ins), **outs = malloc((size_t)n * sizeof *outs);
    bool ok = idx && ins && outs;
    if (!ok) tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "%s: out of memory", o->name);
    size_t len = strlen(o->name) + sizeof "_Allreduce";
    char *scope = ok ? malloc(len) : NULL;
    if (ok && !scope) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "%s: out of memory", o->name);
        ok = false;
    }
    if (ok) {
        snprintf(scope, len, "%s_Allreduce", o->name); /* Horovod's scope, "DistributedAdam_Allreduce" */
        TG_WITH_NAME_SCOPE(g, scope) {
            ok = fuse_dtype(d, TG_FLOAT32, grads, vars, n, idx, ins, outs) &&
                 fuse_dtype(d, TG_FLOAT64, grads, vars, n, idx, ins, outs);
        }
    }
    free(scope);
    free(idx);
    free(ins);
    free(outs);
    return ok && tg_graph_status(g) == TG_OK;
}

static const tg__optim_class DISTRIBUTED = {
    .default_name = "Distributed",
    .transform_gradients = fuse_and_average,
};

tg_optimizer *tg_mpi_distributed_optimizer(tg_optimizer *opt, const char *name, int64_t fusion_threshold_bytes) {
    if (!opt || tg_graph_status(opt->g) != TG_OK) return NULL;
    if (fusion_threshold_bytes < 0) {
        tg_graph_fail(opt->g, TG_INVALID_ARGUMENT, "tg_mpi_distributed_optimizer: fusion_threshold_bytes is %lld",
                      (long long)fusion_threshold_bytes);
        return NULL;
    }
    char *dflt = NULL;
    if (!name) {
        size_t len = strlen(opt->name) + sizeof "Distributed";
        dflt = malloc(len);
        if (!dflt) {
            tg_graph_fail(opt->g, TG_RESOURCE_EXHAUSTED, "tg_mpi_distributed_optimizer: out of memory");
            return NULL;
        }
        snprintf(dflt, len, "Distributed%s", opt->name);
    }
    dist_optimizer *d = (dist_optimizer *)tg__optim_new(opt->g, sizeof *d, &DISTRIBUTED, name ? name : dflt);
    free(dflt);
    if (!d) return NULL;
    d->base.inner = opt;
    d->threshold = fusion_threshold_bytes ? fusion_threshold_bytes : DEFAULT_FUSION_THRESHOLD;
    return &d->base;
}

/* ---- broadcast_global_variables -------------------------------------------------- */

static tg_op *assign_all(tg_graph *g, tg_variable *const *vars, int n, int root, tg_op **assigns) {
    for (int i = 0; i < n; i++) {
        tg_tensor *value = tg_mpi_broadcast(g, tg_variable_value(vars[i]), root, NULL);
        tg_tensor *a = tg_assign(g, tg_variable_ref(vars[i]), value, NULL);
        if (!a) return NULL;
        assigns[i] = tg_tensor_op(a);
    }
    return tg_group(g, assigns, n, tg_graph_name_scope(g)); /* "<scope>/": the op takes the scope's own name */
}

tg_op *tg_mpi_broadcast_global_variables(tg_graph *g, int root) {
    if (tg_graph_status(g) != TG_OK) return NULL;
    if (root < 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "tg_mpi_broadcast_global_variables: root rank %d is negative", root);
        return NULL;
    }
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vars);
    tg_op **assigns = n > 0 ? malloc((size_t)n * sizeof *assigns) : NULL;
    tg_op *result = NULL;
    if (n < 0 || (n > 0 && !assigns)) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "tg_mpi_broadcast_global_variables: out of memory");
    } else if (n == 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "tg_mpi_broadcast_global_variables: no global variables");
    } else {
        tg__txn *t = tg__txn_begin(g); /* rejected half-way: nothing stays */
        TG_WITH_NAME_SCOPE(g, "broadcast_global_variables") { result = assign_all(g, vars, n, root, assigns); }
        tg__txn_end(g, t);
    }
    tg_free(vars);
    free(assigns);
    return tg_graph_status(g) == TG_OK ? result : NULL;
}
