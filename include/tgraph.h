/* tgraph: TensorFlow 1.x graph mode in C11.
 *
 * Conventions (every header follows them):
 *
 * - Names. tf.X is tg_X, tf.nn.X is tg_nn_X, tf.contrib.layers.X is
 *   tg_layers_X; docs/tf-mapping.md lists every name. Op types and default op
 *   names are TF's ("MatMul", "dense/BiasAdd").
 *
 * - Handles are opaque. Ops, tensors and variables live in their graph's
 *   arena: they stay valid until the graph is freed and are never freed one
 *   by one. Every *_free function ignores NULL.
 *
 * - Building is sticky-error (cairo's model). A builder that gets a NULL or
 *   erroneous graph, or a NULL input, returns NULL and adds nothing; a builder
 *   that fails records the first error on the graph (tg_graph_status,
 *   tg_graph_message) and returns NULL. A builder that rejects its arguments
 *   (shape, dtype, name, reuse) leaves no op behind. The contrib layers
 *   (tg_layers_*) are transactions: whatever stops them half-way (an op's
 *   own check, a callback such as an activation or a regularizer failing)
 *   removes every op, variable, collection item and name they had added,
 *   so after tg_graph_clear_status a corrected call builds the same names
 *   (except inside a tg_cond branch, where what was built stays, as in TF).
 *   Other composite builders (tf.layers objects, tg_cond, tg_while_loop)
 *   leave what they built before the failure, as TF does. A whole model can
 *   be built and checked once at the end:
 *
 *       tg_tensor *y = tg_add(g, tg_multiply(g, x, w, NULL), b, NULL);
 *       if (tg_graph_status(g) != TG_OK) puts(tg_graph_message(g));
 *
 * - Running returns a code (SQLite's model): tg_session_run returns tg_code and
 *   keeps the message on the session (tg_session_message). A failed run does
 *   not poison the session.
 *
 * - Keyword arguments are option structs taken by pointer, last; NULL means
 *   TensorFlow's defaults. A struct whose zero would not be TF's default has
 *   a TG_<NAME>_OPTS_INIT macro: start from it, then set fields, and each
 *   field means what its TF keyword means (`false` is False, `0` is 0, NULL
 *   is None). Such a struct not started from its macro (a compound literal,
 *   `{0}`) is refused with an error naming the macro. Structs without a
 *   macro are zero-safe: every field's zero is TF's default, so compound
 *   literals are fine. Options, strings and arrays passed in are copied
 *   (a regularizer's or constraint's `params` are not: they must outlive
 *   the build, or the graph, as their comments say); the library never
 *   takes ownership of caller memory.
 *
 * - Memory handed out, one rule per kind:
 *   objects made on a graph (optimizers, savers, layers, EMA objects) belong
 *   to the graph and are freed with it (their _free frees one earlier);
 *   fetched values (tg_array) are the caller's (tg_array_free);
 *   a list returned through a `T ***` out-parameter is a new array the
 *   caller frees with tg_free (the elements stay the graph's), while a list
 *   returned through `T *const **` is borrowed from the object that returned
 *   it and valid until that object changes; strings returned by accessors
 *   belong to the graph, session or layer, as each comment says.
 *
 * - The library never aborts or exits. Build errors also go to stderr the
 *   moment they are recorded ("tgraph: INVALID_ARGUMENT: ..."), until the
 *   program sets its own tg_set_log_callback (NULL silences it).
 *
 * - TG_WITH_* blocks close their scope on any exit (break, return, goto)
 *   with gcc and clang; tg_graph_check_scopes names a scope left open.
 */
#ifndef TGRAPH_H
#define TGRAPH_H

#include "tgraph/base.h"
#include "tgraph/graph.h"
#include "tgraph/variables.h"
#include "tgraph/session.h"
#include "tgraph/array_ops.h"
#include "tgraph/control_flow_ops.h"
#include "tgraph/logging_ops.h"
#include "tgraph/math_ops.h"
#include "tgraph/random_ops.h"
#include "tgraph/gradients.h"
#include "tgraph/nn_ops.h"
#include "tgraph/losses.h"
#include "tgraph/layers.h"
#include "tgraph/tf_layers.h"
#include "tgraph/train.h"
#include "tgraph/metrics.h"
#include "tgraph/moving_averages.h"
#include "tgraph/saver.h"
#include "tgraph/data.h"
#include "tgraph/checkpoint.h"
#include "tgraph/import.h"

#endif
