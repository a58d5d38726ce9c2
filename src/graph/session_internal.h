/* The session's private structures (struct tg_session, its plans and their
 * steps) and the functions that session.c, callable.c and session_trace.c
 * share. They were one file; this header lets the executor, the callable API
 * and the run options / traces live in files of their own. Only src/graph
 * files include it: src/ops reaches the session through op_def.h. */
#ifndef TG_SESSION_INTERNAL_H
#define TG_SESSION_INTERNAL_H

#include <pthread.h>

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
    bool inplace; /* a TG__OPF_INPLACE op whose input 0 nothing else reads */
} step;

/* One while frame of a plan: its steps are contiguous, its own Enters
 * first and its NextIterations last, nested frames inside the range. */
typedef struct frame_info {
    const tg__cond_ctx *ctx;
    int parent;          /* enclosing frame's index, -1 at the top */
    int begin, end;      /* steps [begin, end) */
    int cond_slot;       /* the LoopCond's output: false or dead ends the loop */
    int next_same_begin; /* another frame whose range starts at begin, or -1 */
} frame_info;

typedef struct plan {
    int *feed_ids, *fetch_ids, *target_ids;
    int n_feeds, n_fetches, n_targets;
    step *steps;
    int n_steps;
    tg_array *slots;
    bool *in_place; /* per slot: tg__kernel_ctx.in_place */
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
    /* tg_run_options.lint: the findings of the plan's first linted run
     * (NULL: none), and whether that run happened and was told. */
    char *lint_report;
    bool lint_done, lint_report_told;
    /* Only for a plan with while loops (NULL, 0 otherwise): its frames,
     * per step the first frame beginning there (-1: none) and the frame
     * the step's op runs in (-1: top), and per step how often it ran in the
     * traced run. */
    frame_info *frames;
    int n_frames;
    int *frame_at, *step_frame;
    int64_t *step_runs;
    /* Buffers shared by liveness (session_memory.c; NULL for plans with
     * loops): per slot the group whose buffer it borrows, or -1. */
    int *slot_group;
    struct tg__buffer {
        void *buf;
        size_t cap;
    } *groups;
    int n_groups;
    /* Race mode (session_race.c): the order tables of a plan built for
     * tg_run_options.race_seed, NULL for a plan built without it; and the
     * same run's plan in the other mode, once a callable has needed it. */
    struct tg__race *race;
    struct plan *twin;
} plan;

struct tg_session {
    tg_graph *g;
    /* Runs of one session take turns (session.h's concurrency contract):
     * plans, slots and op states are shared by its runs. */
    pthread_mutex_t run_lock;
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
    bool check_numerics; /* this run's tg_run_options.check_numerics */
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
    /* tg_run_options.step_stats of the run in progress. Between runs it
     * holds the defaults' value: tg_callable_run runs with the defaults and
     * does not set it. */
    bool stats_on;
    bool stats_open;  /* the running run has started its record */
    int64_t stats_t0; /* its first op's start */
    tg_step_stat *stats; /* the record, kept across runs so that they reuse it */
    int n_stats, cap_stats;
    /* tg_run_options.race_seed of the run in progress, the defaults' value
     * between runs (as stats_on); and the plan tg__run_plan actually ran
     * (the race or normal variant of the one it was given), for the trace. */
    uint64_t race_seed;
    const plan *ran;
};

/* Most feeds, fetches or targets one run or callable takes. */
enum { TG__MAX_RUN_IDS = 4096 };

/* Writes the message into s->msg, logs it, and returns code. */
tg_code tg__session_fail(tg_session *s, tg_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The start and end of every run of s (tg_session_run_opts,
 * tg_callable_run): take the session's turn and the graph's run side of
 * the contract. begin returns false, with the message written, when a
 * builder is at work on the graph; end copies the run's message for the
 * calling thread (tg_session_message). */
bool tg__session_run_begin(tg_session *s);
void tg__session_run_end(tg_session *s, bool began);

/* session.c: the executor. */
tg_code tg__check_fetches_targets(tg_session *s, tg_tensor *const *fetches, int nx, tg_op *const *targets,
                                  int nt);
tg_code tg__get_plan(tg_session *s, const int *fid, int nf, tg_tensor *const *fetches, const int *xid,
                     int nx, tg_op *const *targets, const int *tid, int nt, plan **out);
tg_code tg__run_plan(tg_session *s, plan *p, const tg_feed *feeds, tg_tensor *const *fetches,
                     tg_array **outputs, int *steps_run, bool trace);

/* One step of a plan: skipped when dead (marking its outputs dead),
 * else run after the initialization checks. *reached grows to k + 1. */
tg_code tg__run_step(tg_session *s, plan *p, int k, bool trace, int *reached);

/* session_frames.c: plans with while loops. tg__order_frames puts the n
 * needed ops (needed[id], fed[tensor id] cut data edges) in p->order so
 * that each op follows what it reads (a loop's back edge aside) and each
 * frame's ops are contiguous, and fills p's frame tables; p->order has
 * room for n. tg__run_frames runs p->steps with the frames iterated. */
tg_code tg__order_frames(tg_session *s, plan *p, const char *needed, const char *fed, int n);
tg_code tg__run_frames(tg_session *s, plan *p, bool trace, int *reached);

/* session_memory.c. share_buffers groups the outputs of a finished plan
 * (RESOURCE_EXHAUSTED, nothing written, when out of memory); bind lends
 * st's outputs their groups' buffers before its kernel runs, unbind takes
 * them back after it and fails (INTERNAL, message written) when an op not
 * declaring TG__OPF_VIEWS returned a view of an input. */
tg_code tg__plan_share_buffers(plan *p);
void tg__plan_bind_outputs(plan *p, const step *st);
tg_code tg__plan_unbind_outputs(tg_session *s, plan *p, const step *st);
bool tg__plan_owns_slot_buffer(const plan *p, int slot);
void tg__plan_free_buffers(plan *p);

/* session_lint.c: tg_run_options.lint on p's first run with it. Out of
 * memory leaves the report empty. */
void tg__session_lint(tg_session *s, plan *p, tg_tensor *const *fetches, int nx, tg_op *const *targets, int nt);

/* session_race.c: race mode. init gives a plan built while s->race_seed
 * was set its order tables (RESOURCE_EXHAUSTED when out of memory: p->race
 * stays for plan_free to release); shuffle permutes p->steps (and the
 * frame tables, and p->order when the run is traced) into the order drawn
 * from seed; variant swaps *p for the same feeds/fetches/targets' plan of
 * the mode s->race_seed asks for, building it on first use (a callable's
 * plan, kept across runs, meets both modes). */
tg_code tg__race_init(plan *p, int n_op_ids);
void tg__race_shuffle(plan *p, uint64_t seed, bool trace);
tg_code tg__race_variant(tg_session *s, plan **p, tg_tensor *const *fetches);
void tg__race_free(plan *p);

/* callable.c */
void tg__session_free_callables(tg_session *s);

/* session_trace.c */
void tg__note_run(tg_session *s, const plan *pl, plan *p, const tg_run_options *o, int steps_run);
/* tg__run_step's timing of one kernel call when s->stats_on: begin makes
 * room for the entry (RESOURCE_EXHAUSTED, message written, before the op
 * changes anything) and gives its start; end records it. */
tg_code tg__step_stat_begin(tg_session *s, const plan *p, int64_t *start);
void tg__step_stat_end(tg_session *s, const tg_op *op, int64_t start);

#endif
