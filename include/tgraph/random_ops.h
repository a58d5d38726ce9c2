/* tgraph/random_ops.h: tf.random_uniform, tf.random_normal,
 * tf.truncated_normal. Error model as in array_ops.h.
 *
 * Seeds follow TF's rule (tf.get_seed): with a graph seed and no op seed the
 * op seed is the op's creation index; with an op seed and no graph seed the
 * graph seed is 87654321; with neither the stream differs per session. Each
 * op keeps its own stream in the session and advances it on every run. */
#ifndef TGRAPH_RANDOM_OPS_H
#define TGRAPH_RANDOM_OPS_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Start from TG_RANDOM_OPTS_INIT (base.h explains why). */
typedef struct tg_random_opts {
    unsigned tg__init; /* set by TG_RANDOM_OPTS_INIT only */
    const char *name;
    tg_dtype dtype;    /* float32 (default) or float64 */
    double minval;     /* uniform: default 0 */
    double maxval;     /* uniform: default 1 */
    double mean;       /* normal: default 0 */
    double stddev;     /* normal: default 1 */
    int64_t seed;      /* TG_NO_SEED: TF's seed=None (default) */
} tg_random_opts;
#define TG__TAG_tg_random_opts 0x8140470bu /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_random_opts .tg__init = TG__TAG_tg_random_opts, .maxval = 1.0, .stddev = 1.0, .seed = TG_NO_SEED
#define TG_RANDOM_OPTS_INIT {TG__DEFAULTS_tg_random_opts}

/* The shape must be fully defined. opts may be NULL. Errors: INVALID_ARGUMENT
 * for an unknown dimension or a non-float dtype. */
TG_API tg_tensor *tg_random_uniform(tg_graph *g, tg_shape shape, const tg_random_opts *opts);
TG_API tg_tensor *tg_random_normal(tg_graph *g, tg_shape shape, const tg_random_opts *opts);
/* Draws beyond two standard deviations are redrawn. */
TG_API tg_tensor *tg_truncated_normal(tg_graph *g, tg_shape shape, const tg_random_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
