/* Synchronized batch statistics for tg_layers_batch_norm's sync option
 * (Horovod's SyncBatchNormalization), kept apart so that batch_norm.c does
 * not depend on whether the optional MPI part was built. */
#ifndef TG_LAYERS_BATCH_NORM_SYNC_H
#define TG_LAYERS_BATCH_NORM_SYNC_H

#include <stdbool.h>

#include "tgraph.h"

/* Whether this build can honour sync=True (the MPI part was built). */
bool tg__bn_sync_available(void);

/* The moments of x over axes (the channel axis excluded, channels its size)
 * and over every rank: one allreduce (sum) of [sum, sum of squares, count]
 * in name scope "sync_moments", then mean = S / N, var = SS / N - mean^2
 * (biased, for normalizing) and var_update = var * N / (N - 1) (Bessel-
 * corrected on the global count, for the moving variance). Built from
 * differentiable ops, so the gradient spans the ranks too (the allreduce's
 * gradient is an allreduce). Returns false with the graph's error set
 * (UNIMPLEMENTED naming the option when MPI was not built). */
bool tg__bn_sync_moments(tg_graph *g, tg_tensor *x, const int *axes, int n_axes, int64_t channels,
                         tg_tensor **mean, tg_tensor **var, tg_tensor **var_update);

#endif
