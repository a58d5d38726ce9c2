/* Buffers shared by liveness. Every op output used to keep a buffer of its
 * own for the session's life, so a plan held all its intermediate tensors
 * at once: at batch 1000 the CNN's inference plan kept 190 MB of
 * activations of which at most 125 MB are ever needed together. The plan
 * now gives outputs whose lifetimes do not overlap one buffer: a slot
 * borrows its group's buffer just before its op runs and hands it back
 * (grown, if the kernel needed more) right after, so a run still allocates
 * nothing once the buffers have reached their sizes.
 *
 * Lifetimes are step intervals [the producing step, the last reading step];
 * a fetched tensor lives to the end of the run (fetch_outputs copies it). A
 * view (an output of a TG__OPF_VIEWS op, or of an op running in place) keeps
 * the memory it looks at alive for as long as it is read itself. Plans with
 * while loops keep one buffer per slot: their steps run many times and
 * their Stack ops keep values across iterations. */
#include <stdint.h>
#include <stdlib.h>

#include "session_internal.h"

/* A static size estimate for choosing among free groups: unknown dims (the
 * batch, mostly) count as 1, which keeps tensors of one batch in order. */
static int64_t size_hint(const tg_tensor *t) {
    int64_t n = (int64_t)tg_dtype_size(t->dtype);
    for (int d = 0; d < t->shape.rank; d++) {
        int64_t k = t->shape.dims[d] > 0 ? t->shape.dims[d] : 1;
        n = n > INT64_MAX / k ? INT64_MAX : n * k;
    }
    return n;
}

static bool is_view_step(const step *st) { return (st->op->def->flags & TG__OPF_VIEWS) || st->inplace; }

/* Output i of st borrows a shared buffer: 1 certainly writes one, 2 may
 * (an in-place op that can fall back to its own memory), 0 never does or
 * keeps its own (a view op's other outputs: small or views). */
static int shares(const step *st, int i) {
    unsigned fl = st->op->def->flags;
    if (fl & TG__OPF_INPLACE) return i == 0 ? (st->inplace ? 2 : 1) : 0;
    return (fl & TG__OPF_VIEWS) ? 0 : 1;
}

typedef struct group_info {
    int busy_until; /* last step of the current occupant */
    int64_t hint;   /* largest certain member's size_hint */
    bool certain;   /* some member certainly writes into it */
} group_info;

/* A free group for an output that certainly writes (kind 1): a certain
 * group that fits best, else a certain one to grow, else an uncertain one.
 * For kind 2 only uncertain groups: an in-place op usually writes nothing,
 * and holding an allocated buffer for it would waste the buffer. */
static int pick_group(const group_info *gi, int n, int k, int kind, int64_t need) {
    int best = -1;
    for (int g = 0; g < n; g++) {
        if (gi[g].busy_until >= k || (kind == 2 && gi[g].certain)) continue;
        if (best < 0) {
            best = g;
            continue;
        }
        const group_info *a = &gi[g], *b = &gi[best];
        if (a->certain != b->certain) {
            if (a->certain) best = g;
            continue;
        }
        bool fa = a->hint >= need, fb = b->hint >= need;
        if (fa != fb) {
            if (fa) best = g;
        } else if (fa ? a->hint < b->hint : a->hint > b->hint) {
            best = g;
        }
    }
    return best;
}

/* last[slot]: the last step that reads it, views included. */
static void lifetimes(const plan *p, int *last) {
    for (int k = 0; k < p->n_steps; k++) {
        const step *st = &p->steps[k];
        for (int i = 0; i < st->op->n_outputs; i++) last[st->out[i] - p->slots] = k;
        for (int i = 0; i < st->op->n_inputs; i++) last[st->in[i] - p->slots] = k;
    }
    for (int i = 0; i < p->n_fetches; i++) last[p->fetch_ids[i]] = p->n_steps;
    /* backwards, so that a view of a view has its reads counted first */
    for (int k = p->n_steps - 1; k >= 0; k--) {
        const step *st = &p->steps[k];
        if (!is_view_step(st)) continue;
        int m = -1;
        for (int i = 0; i < st->op->n_outputs; i++)
            if (last[st->out[i] - p->slots] > m) m = last[st->out[i] - p->slots];
        for (int i = 0; i < st->op->n_inputs; i++) {
            int *l = &last[st->in[i] - p->slots];
            if (*l < m) *l = m;
        }
    }
}

static void assign_groups(plan *p, const int *last, group_info *gi) {
    for (int k = 0; k < p->n_steps; k++) {
        const step *st = &p->steps[k];
        for (int i = 0; i < st->op->n_outputs; i++) {
            int kind = shares(st, i);
            int slot = (int)(st->out[i] - p->slots);
            if (!kind) continue;
            int64_t need = size_hint(&st->op->outputs[i]);
            int g = pick_group(gi, p->n_groups, k, kind, need);
            if (g < 0) gi[g = p->n_groups++] = (group_info){.hint = 0};
            gi[g].busy_until = last[slot];
            if (kind == 1) {
                gi[g].certain = true;
                if (need > gi[g].hint) gi[g].hint = need;
            }
            p->slot_group[slot] = g;
        }
    }
}

tg_code tg__plan_share_buffers(plan *p) {
    if (p->frames || p->n_steps == 0) return TG_OK;
    size_t n = (size_t)p->n_slots + 1;
    int *last = malloc(n * sizeof *last);
    group_info *gi = malloc(n * sizeof *gi);
    p->slot_group = malloc(n * sizeof *p->slot_group);
    tg_code rc = TG_RESOURCE_EXHAUSTED;
    if (last && gi && p->slot_group) {
        for (int i = 0; i < p->n_slots; i++) p->slot_group[i] = -1;
        lifetimes(p, last);
        assign_groups(p, last, gi);
        p->groups = calloc((size_t)p->n_groups + 1, sizeof *p->groups);
        if (p->groups) rc = TG_OK;
    }
    free(last);
    free(gi);
    return rc;
}

void tg__plan_bind_outputs(plan *p, const step *st) {
    if (!p->groups) return;
    for (int i = 0; i < st->op->n_outputs; i++) {
        tg_array *o = st->out[i];
        int g = p->slot_group[o - p->slots];
        if (g < 0) continue;
        o->buf = p->groups[g].buf;
        o->cap = p->groups[g].cap;
    }
}

tg_code tg__plan_unbind_outputs(tg_session *s, plan *p, const step *st) {
    if (!p->groups) return TG_OK;
    for (int i = 0; i < st->op->n_outputs; i++) {
        tg_array *o = st->out[i];
        int g = p->slot_group[o - p->slots];
        if (g < 0) continue;
        p->groups[g].buf = o->buf;
        p->groups[g].cap = o->cap;
    }
    /* A kernel that returns a view of an input without TG__OPF_VIEWS would
     * let the plan hand that input's memory to a later op while the view
     * is still read; say so instead of computing with overwritten data. */
    if (st->op->def->flags & TG__OPF_VIEWS) return TG_OK;
    for (int i = 0; i < st->op->n_outputs; i++) {
        const tg_array *o = st->out[i];
        if (p->slot_group[o - p->slots] < 0 || !o->data || (st->inplace && i == 0)) continue;
        for (int j = 0; j < st->op->n_inputs; j++)
            if (o->data == st->in[j]->data)
                return tg__session_fail(s, TG_INTERNAL,
                                        "%s (%s): output %d is a view of input %d, but op type %s does not "
                                        "declare TG__OPF_VIEWS",
                                        st->op->name, st->op->def->type, i, j, st->op->def->type);
    }
    return TG_OK;
}

bool tg__plan_owns_slot_buffer(const plan *p, int slot) { return !p->slot_group || p->slot_group[slot] < 0; }

void tg__plan_free_buffers(plan *p) {
    for (int g = 0; p->groups && g < p->n_groups; g++) free(p->groups[g].buf);
    free(p->groups);
    free(p->slot_group);
}

static int64_t plan_bytes(const plan *p) {
    int64_t n = 0;
    for (int g = 0; p->groups && g < p->n_groups; g++) n += (int64_t)p->groups[g].cap;
    for (int i = 0; i < p->n_slots; i++)
        if (tg__plan_owns_slot_buffer(p, i) && p->slots[i].buf) n += (int64_t)p->slots[i].cap;
    return n;
}

int64_t tg_session_buffer_bytes(tg_session *s) {
    if (!s) return 0;
    pthread_mutex_lock(&s->run_lock);
    int64_t n = 0;
    for (int i = 0; i < s->n_plans; i++) n += plan_bytes(s->plans[i]);
    pthread_mutex_unlock(&s->run_lock);
    return n;
}
