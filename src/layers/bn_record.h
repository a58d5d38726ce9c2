/* bn_record.h: what each batch-norm builder leaves on its graph about one
 * application, for tg_describe_batch_norm and the batch-norm lints
 * (bn_record.c, bn_describe.c). The records live in a list attached to
 * the graph (tg_graph_attach), made with the first record, which is also
 * when the lints are added. Private to src/layers; public headers only. */
#ifndef TG_BN_RECORD_H
#define TG_BN_RECORD_H

#include "tgraph.h"

typedef struct tg__bn_record {
    /* The public view; its strings point into name_buf / coll_buf. */
    tg_batch_norm_info info;
    /* The application's output: a run that executes its op runs the layer. */
    tg_tensor *output;
    /* An op that runs exactly once per moving-average update (the mean's
     * assign, or a branch op in step with it); NULL: never updates. */
    tg_op *counter;
    /* The moving statistics start at 0 and 1 (the default initializers). */
    bool default_init;
    char *name_buf, *coll_buf;
} tg__bn_record;

/* Copies r (its strings too) into g's list; the first record attaches
 * the list and adds the lints. false with a sticky RESOURCE_EXHAUSTED when
 * out of memory. */
bool tg__bn_record_add(tg_graph *g, const tg__bn_record *r);

/* The number of records (a mark), and the rollback for builders in a
 * transaction: when g is in error (the transaction undid the ops), the
 * records made since the mark go too, so none points at a removed op. */
int tg__bn_records_mark(const tg_graph *g);
void tg__bn_records_rollback(tg_graph *g, int mark);

/* The records, oldest first; the count (0 when none). */
int tg__bn_records(const tg_graph *g, tg__bn_record *const **recs);

/* t for r in s: the runs of the counters of every record sharing r's
 * moving_mean; -1 when s is NULL, -2 for a session on another graph. */
int64_t tg__bn_updates_applied(const tg_graph *g, const tg__bn_record *r, const tg_session *s);

/* The lints (bn_describe.c), added once per graph by tg__bn_record_add. */
void tg__bn_lint_training_at_eval(tg_lint_run *r, void *user);
void tg__bn_lint_decay(tg_lint_run *r, void *user);

/* What a record says about the mode in this run: 1 training, 0 inference,
 * -1 unknown (a fed or computed training tensor). A training tensor is
 * known when it is a PlaceholderWithDefault that the run executes (not
 * fed) with a constant default. */
int tg__bn_run_mode(const tg__bn_record *rec, const tg_lint_run *r);

/* "0 and 1" with default initializers, else "their initial values". */
const char *tg__bn_initial_text(const tg__bn_record *rec);

#endif
