/* Plans with while loops (tg_while_loop): the order of their steps and the
 * executor's iterations.
 *
 * TF's executor runs a loop as frames and iterations tagged on every
 * tensor. tgraph keeps its one ordered list of steps: each frame's ops are
 * made contiguous, and the frame's range is run again while its LoopCond
 * holds. Inside a range the frame's own Enters come first (they run in the
 * first iteration only: their values stay live, or, for loop variables,
 * turn dead so that the Merges take the NextIteration values) and its
 * NextIterations last (they overwrite what the Merges read, so nothing of
 * the iteration may follow them). A nested frame is one node of its
 * parent's order, restarted from its first iteration each time its parent
 * reaches it, as TF restarts an inner loop in every outer iteration. */
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"
#include "session_internal.h"

/* ---- ordering ---------------------------------------------------------------------- */

/* Nodes are the needed ops (0..n_ops) and the frames (n_ops + f); par[]
 * is a node's enclosing frame node, -1 at the top. */
typedef struct order_state {
    const tg_graph *g;
    int n_ops, n_nodes;
    int *par, *depth;
    int64_t *key;        /* priority among ready siblings: smaller first */
    int *indeg, *adj_at, *adj; /* edges as CSR: node -> nodes that wait for it */
    int *heap;
} order_state;

static int frame_index(plan *p, const tg__cond_ctx *ctx) {
    for (int f = 0; f < p->n_frames; f++)
        if (p->frames[f].ctx == ctx) return f;
    return -1;
}

/* Registers ctx's frame and its enclosing frames; returns its index or -1
 * when out of memory. */
static int add_frame(plan *p, int *cap, tg__cond_ctx *ctx) {
    int f = frame_index(p, ctx);
    if (f >= 0) return f;
    tg__cond_ctx *outer = tg__ctx_frame(ctx->outer);
    int parent = outer ? add_frame(p, cap, outer) : -1;
    if (outer && parent < 0) return -1;
    if (!tg__grow((void **)&p->frames, cap, p->n_frames + 1, sizeof *p->frames)) return -1;
    p->frames[p->n_frames] = (frame_info){.ctx = ctx, .parent = parent, .next_same_begin = -1};
    return p->n_frames++;
}

static int node_depth(order_state *o, int v) {
    if (o->depth[v] >= 0) return o->depth[v];
    return o->depth[v] = o->par[v] < 0 ? 1 : node_depth(o, o->par[v]) + 1;
}

/* The edge "to waits for from" as it appears among siblings: both ends
 * lifted to their ancestors that share a parent. */
static bool sibling_edge(order_state *o, int from, int to, int *a, int *b) {
    while (node_depth(o, from) > node_depth(o, to)) from = o->par[from];
    while (node_depth(o, to) > node_depth(o, from)) to = o->par[to];
    while (o->par[from] != o->par[to]) from = o->par[from], to = o->par[to];
    *a = from, *b = to;
    return from != to;
}

/* Calls fn for every dependency edge among needed ops: data inputs that
 * are not fed and control inputs. A NextIteration's edge to its Merge is
 * the loop's back edge: it orders nothing within one iteration. */
static void for_each_edge(order_state *o, const char *needed, const char *fed,
                          void (*fn)(order_state *o, int from, int to)) {
    for (int id = 0; id < o->n_ops; id++) {
        if (!needed[id]) continue;
        const tg_op *op = o->g->ops[id];
        for (int i = 0; i < op->n_inputs; i++) {
            const tg_tensor *t = op->inputs[i];
            if (fed[t->id] || !needed[t->op->id] || (t->op->def->flags & TG__OPF_NEXT_ITERATION)) continue;
            int a, b;
            if (sibling_edge(o, t->op->id, id, &a, &b)) fn(o, a, b);
        }
        for (int i = 0; i < op->n_control; i++) {
            int a, b, c = op->control[i]->id;
            if (c < o->n_ops && needed[c] && sibling_edge(o, c, id, &a, &b)) fn(o, a, b);
        }
    }
}

static void count_edge(order_state *o, int from, int to) {
    o->adj_at[from + 1]++;
    o->indeg[to]++;
}

static void fill_edge(order_state *o, int from, int to) { o->adj[o->adj_at[from]++] = to; }

static void heap_push(order_state *o, int *n, int v) {
    int i = (*n)++;
    while (i > 0 && o->key[o->heap[(i - 1) / 2]] > o->key[v]) {
        o->heap[i] = o->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    o->heap[i] = v;
}

static int heap_pop(order_state *o, int *n) {
    int top = o->heap[0], v = o->heap[--*n], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && o->key[o->heap[c + 1]] < o->key[o->heap[c]]) c++;
        if (o->key[v] <= o->key[o->heap[c]]) break;
        o->heap[i] = o->heap[c];
        i = c;
    }
    if (*n) o->heap[i] = v;
    return top;
}

/* Kahn's algorithm over the children of frame node `level` (-1: top),
 * emitting ops into p->order and recursing into child frames. The heap
 * is shared: a level's ready nodes sit above its parent's. */
static void emit_level(order_state *o, plan *p, const char *needed, int level, int *n_out, int *hn) {
    int base = *hn;
    for (int v = 0; v < o->n_nodes; v++)
        if (o->par[v] == level && o->indeg[v] == 0 && (v >= o->n_ops || needed[v])) {
            int n = *hn - base;
            o->heap += base;
            heap_push(o, &n, v);
            o->heap -= base;
            *hn = base + n;
        }
    while (*hn > base) {
        int n = *hn - base;
        o->heap += base;
        int v = heap_pop(o, &n);
        o->heap -= base;
        *hn = base + n;
        if (v < o->n_ops) {
            p->order[(*n_out)++] = o->g->ops[v];
        } else {
            frame_info *f = &p->frames[v - o->n_ops];
            f->begin = *n_out;
            emit_level(o, p, needed, v, n_out, hn);
            f->end = *n_out;
        }
        for (int e = v ? o->adj_at[v - 1] : 0; e < o->adj_at[v]; e++) {
            int w = o->adj[e];
            if (--o->indeg[w] == 0) {
                n = *hn - base;
                o->heap += base;
                heap_push(o, &n, w);
                o->heap -= base;
                *hn = base + n;
            }
        }
    }
}

/* A frame's own Enters first, its NextIterations last, otherwise creation
 * order (a frame ranks by its first op). */
static void set_keys(order_state *o, const char *needed) {
    const int64_t span = (int64_t)o->n_ops + 1;
    for (int v = o->n_ops; v < o->n_nodes; v++) o->key[v] = 2 * span;
    for (int id = 0; id < o->n_ops; id++) {
        if (!needed[id]) continue;
        unsigned fl = o->g->ops[id]->def->flags;
        int64_t cls = (fl & TG__OPF_ENTER) ? 0 : (fl & TG__OPF_NEXT_ITERATION) ? 2 : 1;
        o->key[id] = cls * span + id;
        for (int f = o->par[id]; f >= 0; f = o->par[f])
            if (o->key[f] > span + id) o->key[f] = span + id;
    }
}

static tg_code fill_frames(tg_session *s, plan *p, int n) {
    p->frame_at = malloc((size_t)n * sizeof *p->frame_at);
    p->step_frame = malloc((size_t)n * sizeof *p->step_frame);
    p->step_runs = calloc((size_t)n, sizeof *p->step_runs);
    if (!p->frame_at || !p->step_frame || !p->step_runs)
        return tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
    for (int k = 0; k < n; k++) p->frame_at[k] = p->step_frame[k] = -1;
    /* frames were registered outer before inner: inner ranges overwrite */
    for (int f = 0; f < p->n_frames; f++) {
        frame_info *fr = &p->frames[f];
        for (int k = fr->begin; k < fr->end; k++) p->step_frame[k] = f;
        fr->next_same_begin = p->frame_at[fr->begin];
        p->frame_at[fr->begin] = f;
    }
    for (int f = 0; f < p->n_frames; f++) {
        frame_info *fr = &p->frames[f];
        const tg_op *lc = fr->ctx->loop_cond;
        fr->cond_slot = -1;
        for (int k = fr->begin; lc && k < fr->end; k++)
            if (p->order[k] == lc) fr->cond_slot = lc->outputs[0].id;
        if (fr->cond_slot < 0)
            return tg__session_fail(s, TG_INTERNAL, "while loop frame without its LoopCond in the plan");
    }
    return TG_OK;
}

tg_code tg__order_frames(tg_session *s, plan *p, const char *needed, const char *fed, int n) {
    const tg_graph *g = s->g;
    order_state o = {.g = g, .n_ops = g->n_ops};
    int cap = 0;
    tg_code rc = TG_OK;
    int *frame_of = malloc(((size_t)g->n_ops + 1) * sizeof *frame_of);
    if (!frame_of) return tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
    for (int id = 0; id < g->n_ops && rc == TG_OK; id++) {
        tg__cond_ctx *f = needed[id] ? tg__op_frame(g->ops[id]) : NULL;
        frame_of[id] = f ? add_frame(p, &cap, f) : -1;
        if (f && frame_of[id] < 0) rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
    }
    o.n_nodes = g->n_ops + p->n_frames;
    size_t nn = (size_t)o.n_nodes + 1;
    o.par = malloc(nn * sizeof *o.par);
    o.depth = malloc(nn * sizeof *o.depth);
    o.key = malloc(nn * sizeof *o.key);
    o.indeg = calloc(nn, sizeof *o.indeg);
    o.adj_at = calloc(nn + 1, sizeof *o.adj_at);
    o.heap = malloc(nn * sizeof *o.heap);
    if (rc == TG_OK && (!o.par || !o.depth || !o.key || !o.indeg || !o.adj_at || !o.heap))
        rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
    if (rc != TG_OK) goto done;
    for (int v = 0; v < o.n_nodes; v++) {
        o.depth[v] = -1;
        o.par[v] = v < g->n_ops ? (frame_of[v] >= 0 ? g->n_ops + frame_of[v] : -1)
                                : (p->frames[v - g->n_ops].parent >= 0 ? g->n_ops + p->frames[v - g->n_ops].parent : -1);
    }
    for_each_edge(&o, needed, fed, count_edge);
    for (int v = 0; v < o.n_nodes; v++) o.adj_at[v + 1] += o.adj_at[v];
    o.adj = malloc(((size_t)o.adj_at[o.n_nodes] + 1) * sizeof *o.adj);
    if (!o.adj) {
        rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    /* fill_edge advances adj_at[from] to its end: afterwards adj_at[v] is
     * where v's edges end and adj_at[v - 1] where they start */
    for_each_edge(&o, needed, fed, fill_edge);
    set_keys(&o, needed);
    int n_out = 0, hn = 0;
    emit_level(&o, p, needed, -1, &n_out, &hn);
    if (n_out != n)
        rc = tg__session_fail(s, TG_INTERNAL, "the ops this run needs have a cycle that is not a while loop");
    else
        rc = fill_frames(s, p, n);
done:
    free(frame_of);
    free(o.par);
    free(o.depth);
    free(o.key);
    free(o.indeg);
    free(o.adj_at);
    free(o.adj);
    free(o.heap);
    return rc;
}

/* ---- running ------------------------------------------------------------------------ */

static bool own(const plan *p, int k, int f, unsigned flag) {
    return p->step_frame[k] == f && (p->steps[k].op->def->flags & flag);
}

static void set_outputs_dead(plan *p, const step *st, bool dead) {
    for (int i = 0; i < st->op->n_outputs; i++) p->dead[st->out[i] - p->slots] = dead;
}

/* Liveness at the start of an iteration. In the first every value of the
 * range is live until shown dead, except what the NextIterations carry
 * (nothing yet); later the loop variables' Enters are dead (the Merges take
 * the NextIterations), the invariants' Enters stay as they were. */
static void reset_frame(plan *p, int f, bool first) {
    const frame_info *fr = &p->frames[f];
    for (int k = fr->begin; k < fr->end; k++) {
        const step *st = &p->steps[k];
        if (!first && own(p, k, f, TG__OPF_ENTER)) {
            if (!((const tg__enter_attrs *)st->op->attrs)->is_constant) set_outputs_dead(p, st, true);
            continue;
        }
        if (own(p, k, f, TG__OPF_NEXT_ITERATION)) {
            if (first) set_outputs_dead(p, st, true);
            continue;
        }
        set_outputs_dead(p, st, false);
        p->op_dead[st->op->id] = false;
    }
}

static tg_code run_range(tg_session *s, plan *p, int f, int lo, int hi, int64_t iter, bool trace, int *reached);

static tg_code run_frame(tg_session *s, plan *p, int f, bool trace, int *reached) {
    const frame_info *fr = &p->frames[f];
    for (int64_t iter = 0;; iter++) {
        reset_frame(p, f, iter == 0);
        tg_code rc = run_range(s, p, f, fr->begin, fr->end, iter, trace, reached);
        if (rc != TG_OK) return rc;
        if (p->dead[fr->cond_slot] || !*(const bool *)p->slots[fr->cond_slot].data) return TG_OK;
    }
}

static tg_code run_range(tg_session *s, plan *p, int f, int lo, int hi, int64_t iter, bool trace, int *reached) {
    for (int k = lo; k < hi; k++) {
        int child = p->frame_at[k];
        while (child >= 0 && p->frames[child].parent != f) child = p->frames[child].next_same_begin;
        if (child >= 0) {
            tg_code rc = run_frame(s, p, child, trace, reached);
            if (rc != TG_OK) return rc;
            k = p->frames[child].end - 1;
            continue;
        }
        if (iter > 0 && own(p, k, f, TG__OPF_ENTER)) continue;
        tg_code rc = tg__run_step(s, p, k, trace, reached);
        if (rc != TG_OK) return rc;
    }
    return TG_OK;
}

tg_code tg__run_frames(tg_session *s, plan *p, bool trace, int *reached) {
    return run_range(s, p, -1, 0, p->n_steps, 0, trace, reached);
}
