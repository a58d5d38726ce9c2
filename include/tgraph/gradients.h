/* tgraph/gradients.h: symbolic differentiation (tf.gradients,
 * tf.stop_gradient). Gradients are ordinary ops added to the graph, so they
 * can be run, inspected, drawn and differentiated again. */
#ifndef TGRAPH_GRADIENTS_H
#define TGRAPH_GRADIENTS_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_gradients_opts {
    const char *name;             /* name scope; default "gradients" (uniquified) */
    tg_tensor *const *grad_ys;    /* one per y, or NULL: ones shaped like y */
    /* TF's unconnected_gradients='zero': an x that the ys do not depend on
     * gets zeros_like(x) instead of NULL. */
    bool unconnected_zeros;
} tg_gradients_opts;
/* Zero-safe: compound literals are fine; TG_OPTS works too. */
#define TG__DEFAULTS_tg_gradients_opts .name = NULL

/* tf.gradients(ys, xs, grad_ys): stores d(sum of ys)/d(xs[i]) in dxs[i].
 * Contributions from every path are summed ("AddN"); broadcasting is undone;
 * integer and bool tensors and tg_stop_gradient stop the flow; an x the ys
 * do not depend on gets NULL (TF's None) unless opts->unconnected_zeros.
 * Gradient ops are named "gradients/<op>_grad/..." and obey the active
 * control-dependency blocks. opts may be NULL.
 * Ownership: dxs is the caller's array of n_xs entries; the tensors belong
 * to the graph. Returns TG_OK or the graph's sticky error, e.g.
 * INVALID_ARGUMENT "No gradient defined for operation 'x' (op type: T)" or a
 * non-float y. On failure every dxs[i] is NULL. */
TG_API tg_code tg_gradients(tg_graph *g, tg_tensor *const *ys, int n_ys, tg_tensor *const *xs,
                            int n_xs, tg_tensor **dxs, const tg_gradients_opts *opts);

/* tf.stop_gradient(x): "StopGradient", the identity that tg_gradients
 * treats as a constant. Error model as in array_ops.h. */
TG_API tg_tensor *tg_stop_gradient(tg_graph *g, tg_tensor *x, const char *name);

#ifdef __cplusplus
}
#endif
#endif
