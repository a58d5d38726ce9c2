/* Callables (Session.make_callable): a fixed list of feeds, fetches and
 * targets checked once, whose runs go straight to the plan they found on
 * their first run (see session.c on plans). A session keeps its live
 * callables in a list and frees them with itself. */
#include <stdlib.h>

#include "graph_internal.h"
#include "session_internal.h"

/* ---- callables ------------------------------------------------------------------ */

struct tg_callable {
    tg_session *s;
    tg_callable *prev, *next;
    /* The feed tensors, bound once; each run points the values at the
     * caller's arrays and clears them afterwards, so nothing is kept. */
    tg_feed *feeds;
    tg_tensor **fetches;
    tg_op **targets;
    int *feed_ids, *fetch_ids, *target_ids;
    int n_feeds, n_fetches, n_targets;
    plan *p; /* NULL until a run has found or built it */
};

static void callable_free(tg_callable *c) {
    free(c->feeds);
    free(c->fetches);
    free(c->targets);
    free(c->feed_ids);
    free(c->fetch_ids);
    free(c->target_ids);
    free(c);
}

/* tg_session_free's part: every callable still alive. */
void tg__session_free_callables(tg_session *s) {
    while (s->callables) {
        tg_callable *c = s->callables;
        s->callables = c->next;
        callable_free(c);
    }
}

static tg_callable *make_callable_locked(tg_session *s, tg_tensor *const *feeds, int n_feeds,
                                         tg_tensor *const *fetches, int n_fetches, tg_op *const *targets,
                                         int n_targets);

tg_callable *tg_session_make_callable(tg_session *s, tg_tensor *const *feeds, int n_feeds,
                                      tg_tensor *const *fetches, int n_fetches, tg_op *const *targets,
                                      int n_targets) {
    if (!s) return NULL;
    if (!tg__session_run_begin(s)) {
        tg__session_run_end(s, false);
        return NULL;
    }
    tg_callable *c = make_callable_locked(s, feeds, n_feeds, fetches, n_fetches, targets, n_targets);
    tg__session_run_end(s, true);
    return c;
}

static tg_callable *make_callable_locked(tg_session *s, tg_tensor *const *feeds, int n_feeds,
                                         tg_tensor *const *fetches, int n_fetches, tg_op *const *targets,
                                         int n_targets) {
    if (n_feeds < 0 || n_fetches < 0 || n_targets < 0 || (n_feeds && !feeds) || (n_fetches && !fetches) ||
        (n_targets && !targets)) {
        tg__session_fail(s, TG_INVALID_ARGUMENT, "tg_session_make_callable: bad argument lists");
        return NULL;
    }
    if (n_feeds > TG__MAX_RUN_IDS || n_fetches > TG__MAX_RUN_IDS || n_targets > TG__MAX_RUN_IDS) {
        tg__session_fail(s, TG_INVALID_ARGUMENT, "tg_session_make_callable: more than %d feeds, fetches or targets",
                         TG__MAX_RUN_IDS);
        return NULL;
    }
    for (int i = 0; i < n_feeds; i++) {
        const tg_tensor *t = feeds[i];
        if (!t) {
            tg__session_fail(s, TG_INVALID_ARGUMENT, "feed %d is NULL", i);
            return NULL;
        }
        if (t->op->g != s->g) {
            tg__session_fail(s, TG_INVALID_ARGUMENT, "feed '%s' is from another graph", t->name);
            return NULL;
        }
        for (int j = 0; j < i; j++)
            if (feeds[j] == t) {
                tg__session_fail(s, TG_INVALID_ARGUMENT, "tensor '%s' is fed twice", t->name);
                return NULL;
            }
    }
    if (tg__check_fetches_targets(s, fetches, n_fetches, targets, n_targets) != TG_OK) return NULL;

    tg_callable *c = calloc(1, sizeof *c);
    if (!c) goto oom;
    c->feeds = calloc((size_t)n_feeds + 1, sizeof *c->feeds);
    c->fetches = malloc(((size_t)n_fetches + 1) * sizeof *c->fetches);
    c->targets = malloc(((size_t)n_targets + 1) * sizeof *c->targets);
    c->feed_ids = malloc(((size_t)n_feeds + 1) * sizeof *c->feed_ids);
    c->fetch_ids = malloc(((size_t)n_fetches + 1) * sizeof *c->fetch_ids);
    c->target_ids = malloc(((size_t)n_targets + 1) * sizeof *c->target_ids);
    if (!c->feeds || !c->fetches || !c->targets || !c->feed_ids || !c->fetch_ids || !c->target_ids) {
        callable_free(c);
        goto oom;
    }
    for (int i = 0; i < n_feeds; i++) {
        c->feeds[i].tensor = feeds[i];
        c->feed_ids[i] = feeds[i]->id;
    }
    for (int i = 0; i < n_fetches; i++) {
        c->fetches[i] = fetches[i];
        c->fetch_ids[i] = fetches[i]->id;
    }
    for (int i = 0; i < n_targets; i++) {
        c->targets[i] = targets[i];
        c->target_ids[i] = targets[i]->id;
    }
    c->n_feeds = n_feeds;
    c->n_fetches = n_fetches;
    c->n_targets = n_targets;
    c->s = s;
    c->next = s->callables;
    if (s->callables) s->callables->prev = c;
    s->callables = c;
    return c;
oom:
    tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "tg_session_make_callable: out of memory");
    return NULL;
}

static tg_code callable_run_locked(tg_callable *c, const tg_array *const *feed_values, int n_feed_values,
                                   tg_array **outputs);

tg_code tg_callable_run(tg_callable *c, const tg_array *const *feed_values, int n_feed_values,
                        tg_array **outputs) {
    if (!c) return TG_INVALID_ARGUMENT;
    tg_session *s = c->s;
    if (!tg__session_run_begin(s)) {
        tg__session_run_end(s, false);
        return TG_FAILED_PRECONDITION;
    }
    tg_code rc = callable_run_locked(c, feed_values, n_feed_values, outputs);
    tg__session_run_end(s, true);
    return rc;
}

static tg_code callable_run_locked(tg_callable *c, const tg_array *const *feed_values, int n_feed_values,
                                   tg_array **outputs) {
    tg_session *s = c->s;
    /* The count is passed only to catch a list that does not match the
     * callable's feeds before reading past its end. */
    if (n_feed_values != c->n_feeds)
        return tg__session_fail(s, TG_INVALID_ARGUMENT,
                                "tg_callable_run: %d feed values given, the callable has %d feeds", n_feed_values,
                                c->n_feeds);
    if ((c->n_feeds && !feed_values) || (c->n_fetches && !outputs))
        return tg__session_fail(s, TG_INVALID_ARGUMENT, "tg_callable_run: bad argument lists");
    for (int i = 0; i < c->n_feeds; i++)
        if (!feed_values[i])
            return tg__session_fail(s, TG_INVALID_ARGUMENT, "feed value %d (for '%s') is NULL", i,
                                    c->feeds[i].tensor->name);
    const tg_run_options o = s->defaults;
    int steps_run = 0;
    tg_code rc = TG_OK;
    if (!c->p)
        rc = tg__get_plan(s, c->feed_ids, c->n_feeds, c->fetches, c->fetch_ids, c->n_fetches, c->targets,
                          c->target_ids, c->n_targets, &c->p);
    if (rc == TG_OK) {
        for (int i = 0; i < c->n_feeds; i++) c->feeds[i].value = feed_values[i];
        s->check_numerics = o.check_numerics;
        rc = tg__run_plan(s, c->p, c->feeds, c->fetches, outputs, &steps_run, o.trace);
        for (int i = 0; i < c->n_feeds; i++) c->feeds[i].value = NULL;
    }
    tg__note_run(s, c->p, c->p, &o, steps_run);
    return rc;
}

void tg_callable_free(tg_callable *c) {
    if (!c) return;
    if (c->prev) c->prev->next = c->next;
    else c->s->callables = c->next;
    if (c->next) c->next->prev = c->prev;
    callable_free(c);
}
