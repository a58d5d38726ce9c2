/* batch_norm's sync option: batch statistics over every MPI rank, as
 * Horovod's SyncBatchNormalization computes them. Only public headers:
 * tgraph/mpi.h is public but exists in the build only with MPI, hence the
 * TG_HAVE_MPI guard (meson defines it project-wide when MPI was found). */
#include "batch_norm_sync.h"

#ifdef TG_HAVE_MPI
#include "tgraph/mpi.h"

bool tg__bn_sync_available(void) { return true; }

/* [sum, sum of squares, count] of this rank: one [2C + 1] vector, so that a
 * layer pays one collective per step. */
static tg_tensor *local_sums(tg_graph *g, tg_tensor *x, const int *axes, int n_axes, int64_t channels) {
    tg_reduce_opts ro = {.axes = axes, .n_axes = n_axes};
    tg_tensor *s = tg_reduce_sum(g, x, &ro);
    tg_tensor *ss = tg_reduce_sum(g, tg_square(g, x, NULL), &ro);
    tg_dtype dt = tg_tensor_dtype(x);
    /* the count from the run-time size: the batch dimension may be unknown */
    tg_tensor *n = tg_divide(g, tg_cast(g, tg_size(g, x, NULL), dt, NULL),
                             tg_constant_scalar(g, dt, (double)channels, NULL), NULL);
    tg_tensor *parts[3] = {s, ss, tg_reshape(g, n, TG_SHAPE(1), NULL)};
    return tg_concat(g, parts, 3, 0, NULL);
}

static tg_tensor *part(tg_graph *g, tg_tensor *v, int64_t begin, int64_t size) {
    return tg_slice(g, v, &begin, &size, 1, NULL);
}

static void global_moments(tg_graph *g, tg_tensor *x, const int *axes, int n_axes, int64_t channels,
                           tg_tensor **mean, tg_tensor **var, tg_tensor **var_update) {
    tg_tensor *tot = tg_mpi_allreduce(g, local_sums(g, x, axes, n_axes, channels), TG_MPI_SUM, NULL);
    tg_tensor *n = part(g, tot, 2 * channels, 1); /* [1]: broadcasts over the channels */
    *mean = tg_divide(g, part(g, tot, 0, channels), n, NULL);
    /* E[x^2] - E[x]^2: the form whose parts are sums, so one allreduce
     * suffices; epsilon keeps the normalizer away from a rounding below 0. */
    *var = tg_subtract(g, tg_divide(g, part(g, tot, channels, channels), n, NULL), tg_square(g, *mean, NULL), NULL);
    tg_tensor *one = tg_constant_scalar(g, tg_tensor_dtype(x), 1.0, NULL);
    *var_update = tg_multiply(g, *var, tg_divide(g, n, tg_subtract(g, n, one, NULL), NULL), NULL);
}

bool tg__bn_sync_moments(tg_graph *g, tg_tensor *x, const int *axes, int n_axes, int64_t channels,
                         tg_tensor **mean, tg_tensor **var, tg_tensor **var_update) {
    *mean = *var = *var_update = NULL;
    TG_WITH_NAME_SCOPE(g, "sync_moments") { global_moments(g, x, axes, n_axes, channels, mean, var, var_update); }
    return tg_graph_status(g) == TG_OK && *mean && *var && *var_update;
}

#else

bool tg__bn_sync_available(void) { return false; }

bool tg__bn_sync_moments(tg_graph *g, tg_tensor *x, const int *axes, int n_axes, int64_t channels,
                         tg_tensor **mean, tg_tensor **var, tg_tensor **var_update) {
    (void)x, (void)axes, (void)n_axes, (void)channels;
    *mean = *var = *var_update = NULL;
    tg_graph_fail(g, TG_UNIMPLEMENTED, "batch_norm: sync=True needs tgraph built with MPI");
    return false;
}

#endif
