/* The run overlay of the DOT export (TensorBoard's graph view with run
 * metadata): the last traced run of a session, read through the public
 * trace functions (and its plan's feeds), handed to dot.c as a table by op
 * id, so that the drawing code never depends on the executor. */
#include <stdlib.h>

#include "dot_internal.h"
#include "session_internal.h"

/* The ops the traced run was fed an output of and that did not run; fed
 * has a byte per tensor id, which only the ops' outputs map back. */
static void mark_fed(unsigned char *state, unsigned char *fed, const tg_graph *g, const plan *p) {
    for (int i = 0; i < p->n_feeds; i++) fed[p->feed_ids[i]] = 1;
    for (int k = 0; k < g->n_ops; k++)
        for (int o = 0; o < g->ops[k]->n_outputs; o++)
            if (fed[g->ops[k]->outputs[o].id] && state[k] == TG__DOT_PRUNED) state[k] = TG__DOT_FED;
}

/* Fills run from the trace: every op of the trace ran or was skipped, the
 * fed ones were fed, the rest of the graph was pruned. An op listed twice
 * adds its counts. */
static void fill_run(tg__dot_run *run, unsigned char *state, int64_t *runs, unsigned char *fed,
                     const tg_session *s, tg_op *const *trace, int n) {
    for (int i = 0; i < n; i++) {
        int id = trace[i]->id;
        runs[id] += tg_session_trace_run_count(s, i);
        if (tg_session_trace_skipped(s, i) && state[id] != TG__DOT_RAN) state[id] = TG__DOT_SKIPPED;
        else if (runs[id] > 0) state[id] = TG__DOT_RAN;
    }
    mark_fed(state, fed, s->g, s->traced);
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
    if (!s->traced) {
        tg__log_build(TG_FAILED_PRECONDITION, "tg_session_write_dot: no traced run to draw: run with "
                                              "tg_run_options.trace first");
        return TG_FAILED_PRECONDITION;
    }
    const tg_graph *g = s->g;
    size_t cap = (size_t)(g->n_ops > 0 ? g->n_ops : 1);
    unsigned char *state = calloc(cap, sizeof *state);
    int64_t *runs = calloc(cap, sizeof *runs);
    unsigned char *fed = calloc((size_t)g->n_tensors + 1, 1);
    if (state && runs && fed) {
        tg__dot_run run = {.n_ops = g->n_ops, .state = state, .runs = runs};
        fill_run(&run, state, runs, fed, s, trace, n);
        rc = tg__graph_write_dot_run(g, out, opts, &run, api);
    } else {
        tg__log_build(TG_RESOURCE_EXHAUSTED, "tg_session_write_dot: out of memory");
        rc = TG_RESOURCE_EXHAUSTED;
    }
    free(state);
    free(runs);
    free(fed);
    return rc;
}
