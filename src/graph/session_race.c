/* Race mode (tg_run_options.race_seed): each run executes the plan's steps
 * in a random topological order drawn from the seed, one of the orders TF's
 * executor may pick, so that a missing control dependency (an assign and a
 * read of one variable with no path between them) gives results that
 * change from seed to seed, as they do in TF, instead of always the
 * creation order's.
 *
 * A race plan is a plan of its own (the plan cache keys on race mode),
 * built like any other but without buffer sharing: session_memory.c
 * computes lifetimes for one fixed step order, and under another order two
 * tensors given one buffer could be alive together. Everything else a
 * step holds (its slots, its in-place decision, which only needs input 0
 * to have no other reader) does not depend on the order, so a run only
 * has to permute p->steps: the executor, dead tensors (which follow the
 * edges) and traces then work unchanged on the permuted array.
 *
 * The units that move are single steps and whole top-level while frames:
 * a frame's steps must stay contiguous (Enters first, NextIterations last,
 * session_frames.c), so its inside keeps the order the plan was built with.
 * Edges are data edges (a step reads a slot another step writes) and
 * control edges between steps of the plan; the build order is topological,
 * so every edge goes forward in it, and Kahn's algorithm picking uniformly
 * among the ready units reaches every unit and every topological order.
 *
 * Everything is sized when the plan is built; a run allocates nothing. */
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"
#include "session_internal.h"

struct tg__race {
    step *base; /* the steps in the order the plan was built */
    int n_steps;
    int n_units;
    int *begin, *len;         /* per unit: its range of base steps */
    int *edge_at, *edges;     /* CSR: unit -> units that wait for it */
    int *indeg0;              /* per unit: how many edges it waits for */
    int *indeg, *ready, *pos; /* per run: scratch, and each unit's new start */
    /* Plans with loops: the frame tables as built, and each frame's
     * top-level unit. NULL, 0 otherwise. */
    int n_frames;
    int *frame_begin, *frame_end, *frame_unit;
    int *frame_at, *step_frame;
};

static int *ints(size_t n) { return malloc((n + 1) * sizeof(int)); }

/* The top-level frame holding base step k, or -1. */
static int top_frame(const plan *p, int k) {
    int f = p->step_frame ? p->step_frame[k] : -1;
    while (f >= 0 && p->frames[f].parent >= 0) f = p->frames[f].parent;
    return f;
}

/* Cuts the base order into units; unit_of[k] is base step k's unit. */
static void make_units(const plan *p, struct tg__race *r, int *unit_of) {
    for (int k = 0; k < p->n_steps;) {
        int f = top_frame(p, k), end = f >= 0 ? p->frames[f].end : k + 1;
        r->begin[r->n_units] = k;
        r->len[r->n_units] = end - k;
        for (; k < end; k++) unit_of[k] = r->n_units;
        r->n_units++;
    }
}

/* Calls add(r, from, to) for each edge between two units: what step k
 * reads (producer[slot]: the base step writing it, -1 for a feed or a
 * variable) and its control inputs (step_of[op id]). Edges inside a unit
 * and, defensively, backward ones are left out. */
static void for_each_edge(const plan *p, struct tg__race *r, const int *unit_of, const int *producer,
                          const int *step_of, int n_op_ids, void (*add)(struct tg__race *r, int from, int to)) {
    for (int k = 0; k < p->n_steps; k++) {
        const step *st = &p->steps[k];
        int to = unit_of[k];
        for (int i = 0; i < st->op->n_inputs; i++) {
            int j = producer[st->in[i] - p->slots];
            if (j >= 0 && unit_of[j] < to) add(r, unit_of[j], to);
        }
        for (int i = 0; i < st->op->n_control; i++) {
            int id = st->op->control[i]->id;
            int j = id < n_op_ids ? step_of[id] : -1;
            if (j >= 0 && unit_of[j] < to) add(r, unit_of[j], to);
        }
    }
}

static void count_edge(struct tg__race *r, int from, int to) {
    r->edge_at[from + 1]++;
    r->indeg0[to]++;
}

/* edge_at[from] advances to its end: afterwards edge_at[u] is where u's
 * edges end, so fill_edges shifts the table back. */
static void fill_edge(struct tg__race *r, int from, int to) { r->edges[r->edge_at[from]++] = to; }

static tg_code build_edges(const plan *p, struct tg__race *r, const int *unit_of, int n_op_ids) {
    int *producer = ints((size_t)p->n_slots), *step_of = ints((size_t)n_op_ids);
    tg_code rc = TG_RESOURCE_EXHAUSTED;
    if (!producer || !step_of) goto done;
    for (int i = 0; i < p->n_slots; i++) producer[i] = -1;
    for (int i = 0; i < n_op_ids; i++) step_of[i] = -1;
    for (int k = 0; k < p->n_steps; k++) {
        const step *st = &p->steps[k];
        for (int i = 0; i < st->op->n_outputs; i++) producer[st->out[i] - p->slots] = k;
        if (st->op->id < n_op_ids) step_of[st->op->id] = k;
    }
    for_each_edge(p, r, unit_of, producer, step_of, n_op_ids, count_edge);
    for (int u = 0; u < r->n_units; u++) r->edge_at[u + 1] += r->edge_at[u];
    if (!(r->edges = ints((size_t)r->edge_at[r->n_units]))) goto done;
    for_each_edge(p, r, unit_of, producer, step_of, n_op_ids, fill_edge);
    for (int u = r->n_units; u > 0; u--) r->edge_at[u] = r->edge_at[u - 1];
    r->edge_at[0] = 0;
    rc = TG_OK;
done:
    free(producer);
    free(step_of);
    return rc;
}

/* The frame tables as built, to be moved with their units each run. */
static tg_code save_frames(const plan *p, struct tg__race *r, const int *unit_of) {
    size_t n = (size_t)p->n_steps;
    r->n_frames = p->n_frames;
    r->frame_begin = ints((size_t)p->n_frames);
    r->frame_end = ints((size_t)p->n_frames);
    r->frame_unit = ints((size_t)p->n_frames);
    r->frame_at = ints(n);
    r->step_frame = ints(n);
    if (!r->frame_begin || !r->frame_end || !r->frame_unit || !r->frame_at || !r->step_frame)
        return TG_RESOURCE_EXHAUSTED;
    for (int f = 0; f < p->n_frames; f++) {
        r->frame_begin[f] = p->frames[f].begin;
        r->frame_end[f] = p->frames[f].end;
        r->frame_unit[f] = unit_of[p->frames[f].begin];
    }
    memcpy(r->frame_at, p->frame_at, n * sizeof *r->frame_at);
    memcpy(r->step_frame, p->step_frame, n * sizeof *r->step_frame);
    return TG_OK;
}

tg_code tg__race_init(plan *p, int n_op_ids) {
    struct tg__race *r = p->race = calloc(1, sizeof *r);
    if (!r) return TG_RESOURCE_EXHAUSTED;
    size_t n = (size_t)p->n_steps;
    r->n_steps = p->n_steps;
    r->base = malloc((n + 1) * sizeof *r->base);
    int *unit_of = ints(n);
    r->begin = ints(n), r->len = ints(n), r->indeg = ints(n), r->ready = ints(n), r->pos = ints(n);
    r->edge_at = calloc(n + 2, sizeof *r->edge_at);
    r->indeg0 = calloc(n + 1, sizeof *r->indeg0);
    tg_code rc = TG_RESOURCE_EXHAUSTED;
    if (r->base && unit_of && r->begin && r->len && r->indeg && r->ready && r->pos && r->edge_at && r->indeg0) {
        memcpy(r->base, p->steps, n * sizeof *r->base);
        make_units(p, r, unit_of);
        rc = build_edges(p, r, unit_of, n_op_ids);
        if (rc == TG_OK && p->frames) rc = save_frames(p, r, unit_of);
    }
    free(unit_of);
    return rc;
}

void tg__race_free(plan *p) {
    struct tg__race *r = p->race;
    if (!r) return;
    free(r->base);
    free(r->begin);
    free(r->len);
    free(r->edge_at);
    free(r->edges);
    free(r->indeg0);
    free(r->indeg);
    free(r->ready);
    free(r->pos);
    free(r->frame_begin);
    free(r->frame_end);
    free(r->frame_unit);
    free(r->frame_at);
    free(r->step_frame);
    free(r);
    p->race = NULL;
}

/* splitmix64: the seed alone fixes the sequence, so one seed always
 * draws one order, whatever ran before. */
static uint64_t next_random(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Kahn's algorithm taking a uniformly random ready unit each time; writes
 * each unit's new first position into r->pos. */
static void draw_order(struct tg__race *r, uint64_t seed) {
    int n_ready = 0, at = 0;
    for (int u = 0; u < r->n_units; u++) {
        r->indeg[u] = r->indeg0[u];
        if (r->indeg[u] == 0) r->ready[n_ready++] = u;
    }
    while (n_ready > 0) {
        int i = (int)(next_random(&seed) % (uint64_t)n_ready);
        int u = r->ready[i];
        r->ready[i] = r->ready[--n_ready];
        r->pos[u] = at;
        at += r->len[u];
        for (int e = r->edge_at[u]; e < r->edge_at[u + 1]; e++)
            if (--r->indeg[r->edges[e]] == 0) r->ready[n_ready++] = r->edges[e];
    }
}

/* Moves the frame tables with their units: a frame shifts by as much as
 * the top-level unit holding it. */
static void move_frames(plan *p, const struct tg__race *r) {
    for (int u = 0; u < r->n_units; u++) {
        int from = r->begin[u], to = r->pos[u], len = r->len[u];
        memcpy(p->frame_at + to, r->frame_at + from, (size_t)len * sizeof *p->frame_at);
        memcpy(p->step_frame + to, r->step_frame + from, (size_t)len * sizeof *p->step_frame);
    }
    for (int f = 0; f < r->n_frames; f++) {
        int u = r->frame_unit[f], shift = r->pos[u] - r->begin[u];
        p->frames[f].begin = r->frame_begin[f] + shift;
        p->frames[f].end = r->frame_end[f] + shift;
    }
}

void tg__race_shuffle(plan *p, uint64_t seed, bool trace) {
    struct tg__race *r = p->race;
    draw_order(r, seed);
    for (int u = 0; u < r->n_units; u++)
        memcpy(p->steps + r->pos[u], r->base + r->begin[u], (size_t)r->len[u] * sizeof *p->steps);
    if (r->n_frames) move_frames(p, r);
    /* p->order is what tg_session_trace shows: only a traced run may
     * change it, so that the last trace stays the order that run took */
    for (int k = 0; trace && k < p->n_steps; k++) p->order[k] = p->steps[k].op;
}

tg_code tg__race_variant(tg_session *s, plan **p, tg_tensor *const *fetches) {
    plan *q = *p;
    if ((s->race_seed != 0) == (q->race != NULL)) return TG_OK;
    if (!q->twin) {
        tg_op *few[64] = {NULL};
        tg_op **targets = q->n_targets <= 64 ? few : malloc((size_t)q->n_targets * sizeof *targets);
        if (!targets) return tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
        for (int i = 0; i < q->n_targets; i++) targets[i] = s->g->ops[q->target_ids[i]];
        plan *t = NULL;
        tg_code rc = tg__get_plan(s, q->feed_ids, q->n_feeds, fetches, q->fetch_ids, q->n_fetches, targets,
                                  q->target_ids, q->n_targets, &t);
        if (targets != few) free(targets);
        if (rc != TG_OK) return rc;
        q->twin = t;
        t->twin = q;
    }
    *p = q->twin;
    return TG_OK;
}
