/* The session's private structures (struct tg_session, its plans and their
 * steps) and the functions that session.c, callable.c and session_trace.c
 * share. They were one file; this header lets the executor, the callable API
 * and the run options / traces live in files of their own. Only src/graph
 * files include it: src/ops reaches the session through op_def.h. */
#ifndef TG_SESSION_INTERNAL_H
#define TG_SESSION_INTERNAL_H

#include "graph_internal.h"
#include "thread_pool.h"

typedef struct step {
    tg_op *op;
    tg__kernel_fn kernel;
    tg_array **in;
    tg_array **out;
    int var_id;       /* variable used by VARIABLE and REF_INPUT0 ops, else -1 */
    int *ref_ids;     /* REF_INPUTS ops: per input, the variable it writes through, or -1 */
    int *check_vars;  /* variables that must be initialized before the op runs */
    int n_check;
} step;

typedef struct plan {
    int *feed_ids, *fetch_ids, *target_ids;
    int n_feeds, n_fetches, n_targets;
    step *steps;
    int n_steps;
    tg_array *slots;
    int n_slots;
    tg_array **ptrs; /* every step's in/out pointers, one block */
    int *checks;
    int *fetch_vars; /* per fetch: variable whose reference is fetched, or -1 */
    tg_op **order;   /* the steps' ops, for traces */
    char *lint;      /* UPDATE_OPS warning for this combination, or NULL */
    /* Only for a plan that runs a Switch (NULL otherwise): per slot, its
     * value is dead this run; per op id, the op was skipped; per step, the
     * same for the trace. Sized here so that runs allocate nothing. */
    bool *dead, *op_dead, *skipped;
    int n_op_ids; /* op_dead's length: the graph's ops when the plan was made */
    bool lint_told;  /* the warning callback has seen it */
} plan;

struct tg_session {
    tg_graph *g;
    tg_array *vars;
    bool *var_init;
    int n_vars;
    void **op_state;
    int64_t *run_counts;
    int n_op_slots;
    plan **plans;
    int n_plans, cap_plans, last;
    tg_array *stage; /* fetch copies when an output array is also a feed */
    int n_stage;
    char msg[2048];
    uint64_t entropy;
    tg_run_options defaults;
    const char *warning; /* the last run's warning (a plan's), or NULL */
    tg_warning_fn warn_fn;
    void *warn_user;
    tg_print_fn print_fn; /* Print ops' sink; NULL: stderr */
    void *print_user;
    const plan *traced;  /* the last traced run's plan and how many steps ran */
    int traced_steps;
    int threads;         /* intra-op threads, the caller included */
    tg__pool *pool;      /* NULL when threads == 1 */
    tg_callable *callables; /* alive ones, freed with the session */
};

/* Most feeds, fetches or targets one run or callable takes. */
enum { TG__MAX_RUN_IDS = 4096 };

/* Writes the message into s->msg, logs it, and returns code. */
tg_code tg__session_fail(tg_session *s, tg_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* session.c: the executor. */
tg_code tg__check_fetches_targets(tg_session *s, tg_tensor *const *fetches, int nx, tg_op *const *targets,
                                  int nt);
tg_code tg__get_plan(tg_session *s, const int *fid, int nf, tg_tensor *const *fetches, const int *xid,
                     int nx, tg_op *const *targets, const int *tid, int nt, plan **out);
tg_code tg__run_plan(tg_session *s, plan *p, const tg_feed *feeds, tg_tensor *const *fetches,
                     tg_array **outputs, int *steps_run, bool trace);

/* callable.c */
void tg__session_free_callables(tg_session *s);

/* session_trace.c */
void tg__note_run(tg_session *s, const plan *pl, plan *p, const tg_run_options *o, int steps_run);

#endif
