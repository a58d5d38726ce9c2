/* What the DOT writer's files share. dot.c draws the nodes and clusters,
 * dot_edges.c the edges, the legend and the whole file, dot_run.c turns a
 * session's trace into a tg__dot_run, so that neither of the first two
 * ever looks inside a session. */
#ifndef TGRAPH_DOT_INTERNAL_H
#define TGRAPH_DOT_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "graph_internal.h"

/* An op's part in a run, indexed by op id. Zero is "not run" so that a
 * calloc'ed table starts with every op pruned. */
typedef enum tg__dot_state {
    TG__DOT_PRUNED = 0, /* not needed by the run, or after the op that failed it */
    TG__DOT_RAN,        /* ran at least once */
    TG__DOT_SKIPPED,    /* in a cond branch not taken: dead inputs, never ran */
    TG__DOT_FED,        /* did not run: the feeds gave its output */
} tg__dot_state;

typedef struct tg__dot_run {
    int n_ops;                  /* entries of state and runs: ops beyond were built after the run */
    const unsigned char *state; /* tg__dot_state by op id */
    const int64_t *runs;        /* times each op ran in that run (a loop's: its iterations) */
    int n_ran, n_skipped;       /* for the legend */
} tg__dot_run;

/* tg_graph_write_dot_opts with run (NULL: none) overlaid on the nodes; a
 * run always gets a legend. api names the public function in messages.
 * Same errors as tg_graph_write_dot_opts. */
tg_code tg__graph_write_dot_run(const tg_graph *g, FILE *out, const tg_dot_options *opts, const tg__dot_run *run,
                                const char *api);

/* Logs "api: what" as an INVALID_ARGUMENT and returns it. */
tg_code tg__dot_refuse(const char *api, const char *what);
/* INVALID_ARGUMENT, logged, for options tg_graph_write_dot_opts refuses. */
tg_code tg__dot_check_options(const tg_dot_options *o, const char *api);

/* ---- between dot.c and dot_edges.c ---- */

enum { TG__DOT_IN_UPDATE_OPS = 1, TG__DOT_MULTI = 2 }; /* dot_view.flags bits */

/* The drawing's shared state. */
typedef struct tg__dot_view {
    const tg_graph *g;
    const tg__dot_run *run;   /* NULL: no overlay */
    const tg_dot_options *o;  /* resolved: never NULL */
    int *node_of;             /* op id -> id of the node that draws it */
    unsigned char *flags;     /* by op id: TG__DOT_IN_UPDATE_OPS; by node id: TG__DOT_MULTI */
    int *coll_of;             /* op id -> index + 1 of the listed collection drawing it, 0: none */
} tg__dot_view;

tg__dot_state tg__dot_op_state(const tg__dot_view *v, const tg_op *op);
void tg__dot_put_escaped(tg__strbuf *b, const char *s);
/* Emits every op's node and cluster and fills v->node_of and the MULTI flags. */
void tg__dot_emit_nodes(tg__strbuf *b, tg__dot_view *v);

#endif
