/* The batch-norm records: a list attached to the graph (tg_graph_attach)
 * that every batch-norm builder appends to, so that
 * tg_describe_batch_norm and the lints can find each application from the
 * graph alone. Records point at ops and variables of the graph; builders
 * inside a transaction drop theirs when it rolls back
 * (tg__bn_records_rollback), so none outlives what it points at. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bn_record.h"

#define REGISTRY_KEY "tgraph.layers.batch_norm"

typedef struct registry {
    tg__bn_record **recs;
    int n, cap;
    bool lints_added;
} registry;

static void record_free(tg__bn_record *r) {
    if (!r) return;
    free(r->name_buf);
    free(r->coll_buf);
    free(r);
}

static void registry_free(void *p) {
    registry *reg = p;
    for (int i = 0; i < reg->n; i++) record_free(reg->recs[i]);
    free(reg->recs);
    free(reg);
}

static char *dupstr(const char *s) {
    if (!s) return NULL;
    char *d = malloc(strlen(s) + 1);
    return d ? strcpy(d, s) : NULL;
}

static bool oom(tg_graph *g) {
    tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "batch norm: out of memory");
    return false;
}

/* The graph's list, made (and attached) when absent; the lints are added
 * with it, or on a later call when adding them failed. NULL with the
 * error on the graph. */
static registry *registry_of(tg_graph *g) {
    registry *reg = tg_graph_attachment(g, REGISTRY_KEY);
    if (!reg) {
        reg = calloc(1, sizeof *reg);
        if (!reg) return oom(g), NULL;
        if (!tg_graph_attach(g, REGISTRY_KEY, reg, registry_free)) {
            free(reg);
            if (tg_graph_status(g) == TG_OK) oom(g);
            return NULL;
        }
    }
    if (!reg->lints_added) {
        /* The list is the lints' user: it lives as long as the graph. */
        if (tg_graph_add_lint(g, "batch_norm_training_at_eval", tg__bn_lint_training_at_eval, reg) != TG_OK ||
            tg_graph_add_lint(g, "bn_decay", tg__bn_lint_decay, reg) != TG_OK)
            return NULL;
        reg->lints_added = true;
    }
    return reg;
}

bool tg__bn_record_add(tg_graph *g, const tg__bn_record *r) {
    registry *reg = registry_of(g);
    if (!reg) return false;
    if (reg->n == reg->cap) {
        int cap = reg->cap ? 2 * reg->cap : 8;
        tg__bn_record **recs = realloc(reg->recs, (size_t)cap * sizeof *recs);
        if (!recs) return oom(g);
        reg->recs = recs;
        reg->cap = cap;
    }
    tg__bn_record *c = malloc(sizeof *c);
    if (!c) return oom(g);
    *c = *r;
    c->name_buf = dupstr(r->info.name);
    c->coll_buf = dupstr(r->info.collection);
    if (!c->name_buf || (r->info.collection && !c->coll_buf)) {
        record_free(c);
        return oom(g);
    }
    c->info.name = c->name_buf;
    c->info.collection = c->coll_buf;
    reg->recs[reg->n++] = c;
    return true;
}

int tg__bn_records_mark(const tg_graph *g) {
    const registry *reg = tg_graph_attachment(g, REGISTRY_KEY);
    return reg ? reg->n : 0;
}

void tg__bn_records_rollback(tg_graph *g, int mark) {
    registry *reg = tg_graph_attachment(g, REGISTRY_KEY);
    if (!reg || tg_graph_status(g) == TG_OK) return;
    while (reg->n > mark) record_free(reg->recs[--reg->n]);
}

int tg__bn_records(const tg_graph *g, tg__bn_record *const **recs) {
    const registry *reg = g ? tg_graph_attachment(g, REGISTRY_KEY) : NULL;
    *recs = reg ? reg->recs : NULL;
    return reg ? reg->n : 0;
}

int64_t tg__bn_updates_applied(const tg_graph *g, const tg__bn_record *r, const tg_session *s) {
    if (!s) return -1;
    tg__bn_record *const *recs;
    int n = tg__bn_records(g, &recs);
    int64_t t = 0;
    for (int i = 0; i < n; i++) {
        if (recs[i]->info.moving_mean != r->info.moving_mean || !recs[i]->counter) continue;
        int64_t k = tg_session_op_run_count(s, recs[i]->counter);
        if (k < 0) return -2;
        t += k;
    }
    return t;
}

int tg__bn_run_mode(const tg__bn_record *rec, const tg_lint_run *r) {
    if (rec->info.training >= 0) return rec->info.training;
    tg_op *op = tg_tensor_op(rec->info.training_t);
    bool v;
    if (strcmp(tg_op_type(op), "PlaceholderWithDefault") == 0 && tg_lint_run_executes(r, op) &&
        tg_tensor_static_bool(tg_op_input(op, 0), &v))
        return v;
    return -1;
}

const char *tg__bn_initial_text(const tg__bn_record *rec) {
    return rec->default_init ? "0 and 1" : "their initializers' values";
}

/* A session on another graph: the run count of any op of g is -1. */
static bool session_of(const tg_graph *g, const tg_session *s) {
    tg_op *op = tg_graph_op_at(g, 0);
    return !s || !op || tg_session_op_run_count(s, op) >= 0;
}

int tg_batch_norm_layers(const tg_graph *g, const tg_session *s, tg_batch_norm_info **infos) {
    if (infos) *infos = NULL;
    if (!g || !session_of(g, s)) return -1;
    tg__bn_record *const *recs;
    int n = tg__bn_records(g, &recs);
    if (!infos || n == 0) return n;
    tg_batch_norm_info *out = malloc((size_t)n * sizeof *out);
    if (!out) return -1;
    for (int i = 0; i < n; i++) {
        out[i] = recs[i]->info;
        out[i].t = tg__bn_updates_applied(g, recs[i], s);
        if (out[i].t < -1) {
            free(out);
            return -1;
        }
        out[i].initial_weight = out[i].t < 0 ? NAN : pow(out[i].decay, (double)out[i].t);
    }
    *infos = out;
    return n;
}
