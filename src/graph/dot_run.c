/* The run overlay of the DOT export (TensorBoard's graph view with run
 * metadata): the last traced run of a session, read through the public
 * trace functions and handed to dot.c as a table by op id, so that the
 * drawing code never depends on the executor. */
#include <stdlib.h>

#include "dot_internal.h"
#include "session_internal.h"

/* Fills run from the trace: every op of the trace ran or was skipped, the
 * rest of the graph was pruned. An op listed twice adds its counts. */
static void fill_run(tg__dot_run *run, unsigned char *state, int64_t *runs, const tg_session *s,
                     tg_op *const *trace, int n) {
    for (int i = 0; i < n; i++) {
        int id = trace[i]->id;
        runs[id] += tg_session_trace_run_count(s, i);
        if (tg_session_trace_skipped(s, i) && state[id] != TG__DOT_RAN) state[id] = TG__DOT_SKIPPED;
        else if (runs[id] > 0) state[id] = TG__DOT_RAN;
    }
    for (int id = 0; id < run->n_ops; id++) {
        run->n_ran += state[id] == TG__DOT_RAN;
        run->n_skipped += state[id] == TG__DOT_SKIPPED;
    }
}

tg_code tg_session_write_dot(const tg_session *s, FILE *out, const tg_dot_options *opts) {
    static const char api[] = "tg_session_write_dot";
    if (!s) return tg__dot_refuse(api, "s is NULL");
    if (!out) return tg__dot_refuse(api, "out is NULL");
    tg_code rc = opts ? tg__dot_check_options(opts, api) : TG_OK;
    if (rc != TG_OK) return rc;
    tg_op *const *trace = NULL;
    int n = tg_session_trace(s, &trace);
    if (n == 0) {
        tg__log_build(TG_FAILED_PRECONDITION, "tg_session_write_dot: no traced run to draw: run with "
                                              "tg_run_options.trace first");
        return TG_FAILED_PRECONDITION;
    }
    const tg_graph *g = s->g;
    size_t cap = (size_t)(g->n_ops > 0 ? g->n_ops : 1);
    unsigned char *state = calloc(cap, sizeof *state);
    int64_t *runs = calloc(cap, sizeof *runs);
    rc = TG_RESOURCE_EXHAUSTED;
    if (state && runs) {
        tg__dot_run run = {.n_ops = g->n_ops, .state = state, .runs = runs};
        fill_run(&run, state, runs, s, trace, n);
        rc = tg__graph_write_dot_run(g, out, opts, &run, api);
    }
    free(state);
    free(runs);
    return rc;
}
