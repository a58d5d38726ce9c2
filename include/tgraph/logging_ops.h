/* tgraph/logging_ops.h: tf.Print. Error model as in array_ops.h. */
#ifndef TGRAPH_LOGGING_OPS_H
#define TGRAPH_LOGGING_OPS_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Start from TG_PRINT_OPTS_INIT (base.h explains why). */
typedef struct tg_print_opts {
    unsigned tg__init;   /* set by TG_PRINT_OPTS_INIT only */
    const char *name;    /* the op's name; default "Print" */
    const char *message; /* written before the values; NULL (default): "" */
    /* Runs that print, counted per session: the first first_n; -1
     * (default): every run. */
    int64_t first_n;
    /* Elements written of each data tensor, the first ones in row-major
     * order; default 3; negative: all. */
    int64_t summarize;
} tg_print_opts;
#define TG__TAG_tg_print_opts 0x5f3a91c7u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_print_opts .tg__init = TG__TAG_tg_print_opts, .first_n = -1, .summarize = 3
#define TG_PRINT_OPTS_INIT {TG__DEFAULTS_tg_print_opts}

/* tf.Print(input_, data, message, first_n, summarize, name): a "Print" op
 * whose output is input_ unchanged (use it in place of input_, or nothing
 * prints) and which, each time it runs, writes one line: the message, then
 * for each data tensor "[" its first summarize elements "]" in TF's format
 * (the elements separated by spaces, rows in brackets, "..." where values
 * were left out): message "x=" with summarize 3 and data {1, 2, 3, 4, 5}
 * writes "x=[1 2 3...]". Lines go to stderr, or to the session's
 * tg_session_set_print_callback. The gradient passes to input_ unchanged;
 * data gets none. data may be NULL when n_data is 0; opts NULL means TF's
 * defaults.
 * Ownership: the output belongs to the graph; data (the array) and the
 * message are copied.
 * Errors (sticky INVALID_ARGUMENT): a NULL entry in data, a negative
 * n_data or a NULL data with n_data > 0, options not started from
 * TG_PRINT_OPTS_INIT. */
TG_API tg_tensor *tg_print(tg_graph *g, tg_tensor *input_, tg_tensor *const *data, int n_data,
                           const tg_print_opts *opts);

/* tf.debugging.check_numerics(tensor, message, name): a "CheckNumerics" op
 * (or name) whose output is tensor unchanged, and which fails the run with
 * INVALID_ARGUMENT "<name>: <message> : Tensor had NaN values" (or "Inf
 * values", "Inf and NaN values") when the tensor holds any. Use the output
 * in place of tensor. Its gradient is checked the same way, with "Not a
 * number (NaN) or infinity (Inf) values detected in gradient. <message>".
 * To check every float tensor of a run instead, set
 * tg_run_options.check_numerics. message may be NULL ("").
 * Ownership: the message is copied; the output belongs to the graph.
 * Errors (sticky): INVALID_ARGUMENT for a tensor that is not float32 or
 * float64 ("CheckNumerics takes float32 or float64, not int32"). */
TG_API tg_tensor *tg_check_numerics(tg_graph *g, tg_tensor *tensor, const char *message, const char *name);

#ifdef __cplusplus
}
#endif
#endif
