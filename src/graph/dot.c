/* Graphviz export: how people look at what they built. Name scopes become
 * nested clusters, so "conv1/..." ops sit together in a box labelled conv1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"
#include "strmap.h"

/* Writes runs, not characters: a printf per character took half the time
 * of a 50k-op graph. */
static void put_escaped(tg__strbuf *b, const char *s) {
    for (size_t n; *s; s += n) {
        n = strcspn(s, "\"\\");
        if (n) tg__strbuf_printf(b, "%.*s", (int)n, s);
        else tg__strbuf_printf(b, "\\%c", *s), n = 1;
    }
}

static const char *node_style(const tg_op *op) {
    unsigned f = op->def->flags;
    if (f & TG__OPF_VARIABLE) return "shape=box, style=filled, fillcolor=\"#fff2b3\"";
    if (f & TG__OPF_PLACEHOLDER) return "shape=ellipse, style=filled, fillcolor=\"#cfe8ff\"";
    if (op->n_outputs == 0) return "shape=octagon";
    return "shape=ellipse";
}

static void emit_node(tg__strbuf *b, const tg_op *op, const char *base, int indent) {
    tg__strbuf_printf(b, "%*sn%d [label=\"", indent, "", op->id);
    put_escaped(b, base);
    tg__strbuf_printf(b, "\\n%s", op->def->type);
    if (op->n_outputs > 0) {
        char shp[128];
        tg__strbuf_printf(b, "\\n%s %s", tg_dtype_name(op->outputs[0].dtype),
                          tg_shape_format(&op->outputs[0].shape, shp, sizeof shp));
    }
    tg__strbuf_printf(b, "\", tooltip=\"");
    put_escaped(b, op->name);
    tg__strbuf_printf(b, "\", %s];\n", node_style(op));
}

/* One cond branch, while frame or child scope among the ops of a scope:
 * ops[start, start + n) of the scope's list once it is partitioned. */
typedef struct {
    const tg__cond_ctx *ctx; /* NULL for a child scope */
    char *sub;               /* a child scope's prefix, "a/b/" */
    int start, n;
} dot_group;

typedef struct {
    dot_group *v;
    int n, cap;
    /* a group's key (its pivot's name or its sub) -> index + 1: a linear
     * search made a scope with thousands of children quadratic */
    tg__strmap index;
} dot_groups;

/* What every emit_scope call shares. tag, tmp and key are scratch that a
 * call is done with before it recurses, so one of each serves the walk. */
typedef struct {
    tg__strbuf *b;
    int *node_of;
    int *tag;          /* an op's group in the scope being split, -1: none */
    const tg_op **tmp; /* the partition's output */
    char *key;         /* a child scope's sub, NUL-terminated for the map */
} dot_walk;

/* One node standing for the n ops under scope `sub` ("a/b/"): the
 * collapsed view. Its id is the first such op's, and the edges of all of
 * them are drawn from and to it. */
static void emit_collapsed(dot_walk *w, const char *sub, const tg_op **ops, int n, int indent) {
    int first = ops[0]->id;
    for (int i = 0; i < n; i++) w->node_of[ops[i]->id] = first;
    tg__strbuf_printf(w->b, "%*sn%d [label=\"", indent, "", first);
    const char *base = sub;
    for (const char *p = sub; p[0] && p[1]; p++)
        if (*p == '/') base = p + 1;
    tg__strbuf_printf(w->b, "%.*s\\n%d ops\", tooltip=\"", (int)(strlen(base) - 1), base, n);
    put_escaped(w->b, sub);
    tg__strbuf_printf(w->b, "\", shape=box3d, style=filled, fillcolor=\"#eeeeee\"];\n");
}

/* A cond branch (TF's CondContext) as a dashed cluster inside its name
 * scope: the ops directly in the scope made in ctx. The branch is told by
 * its pivot, "switch_t" or "switch_f" as TF names them. A while loop's
 * frame (TF's WhileContext) is a dotted cluster the same way. */
static void emit_branch(tg__strbuf *b, size_t plen, const dot_group *gr, const tg_op **ops, int indent) {
    const char *pivot = gr->ctx->pivot->name;
    size_t nlen = strlen(pivot);
    bool is_true = nlen >= 8 && strcmp(pivot + nlen - 8, "switch_t") == 0;
    tg__strbuf_printf(b, "%*ssubgraph \"cluster_", indent, "");
    put_escaped(b, pivot);
    if (gr->ctx->is_loop)
        tg__strbuf_printf(b, "\" {\n%*slabel=\"while loop: runs once per iteration\"; style=dotted;\n", indent + 2,
                          "");
    else
        tg__strbuf_printf(b, "\" {\n%*slabel=\"%s branch\"; style=dashed;\n", indent + 2, "",
                          is_true ? "true" : "false");
    for (int i = gr->start; i < gr->start + gr->n; i++) emit_node(b, ops[i], ops[i]->name + plen, indent + 2);
    tg__strbuf_printf(b, "%*s}\n", indent, "");
}

/* The group of op: its context's (sub_len 0) or that of its child scope
 * op->name[0, sub_len), made on first sight. -1 when out of memory. A
 * context is known by its pivot's name, as its cluster is (each context
 * has a pivot of its own; a sub ends in '/', an op name never does). */
static int group_of(dot_walk *w, dot_groups *gs, const tg_op *op, size_t sub_len) {
    const char *key = w->key;
    if (sub_len) {
        memcpy(w->key, op->name, sub_len);
        w->key[sub_len] = '\0';
    } else {
        key = op->ctx->pivot->name;
    }
    intptr_t found = (intptr_t)tg__strmap_get(&gs->index, key);
    if (found) return (int)found - 1;
    if (!tg__grow((void **)&gs->v, &gs->cap, gs->n + 1, sizeof *gs->v)) return -1;
    dot_group *gr = &gs->v[gs->n];
    *gr = (dot_group){.ctx = sub_len ? NULL : op->ctx, .sub = sub_len ? malloc(sub_len + 1) : NULL};
    if (sub_len && !gr->sub) return -1;
    if (sub_len) memcpy(gr->sub, key, sub_len + 1);
    if (!tg__strmap_put(&gs->index, sub_len ? gr->sub : key, (void *)(intptr_t)(gs->n + 1))) {
        free(gr->sub);
        return -1;
    }
    return gs->n++;
}

/* Emits the ops directly in the scope that no cluster holds and tags the
 * others with their group. False when out of memory. */
static bool split_scope(dot_walk *w, dot_groups *gs, size_t plen, const tg_op **ops, int n, int indent) {
    for (int i = 0; i < n; i++) {
        const tg_op *op = ops[i];
        const char *slash = strchr(op->name + plen, '/');
        w->tag[i] = -1;
        /* a loop whose build failed may have no pivot: no cluster */
        if (!slash && (!op->ctx || !op->ctx->pivot)) {
            emit_node(w->b, op, op->name + plen, indent);
            continue;
        }
        w->tag[i] = group_of(w, gs, op, slash ? (size_t)(slash + 1 - op->name) : 0);
        if (w->tag[i] < 0) return false;
        gs->v[w->tag[i]].n++;
    }
    return true;
}

/* A stable counting sort of the tagged ops into their groups' ranges,
 * branches before child scopes, each in order of first appearance. */
static void partition(dot_walk *w, dot_groups *gs, const tg_op **ops, int n) {
    int end = 0;
    for (int branches = 1; branches >= 0; branches--)
        for (int k = 0; k < gs->n; k++)
            if ((gs->v[k].ctx != NULL) == branches) gs->v[k].start = end += gs->v[k].n;
    for (int i = n - 1; i >= 0; i--)
        if (w->tag[i] >= 0) w->tmp[--gs->v[w->tag[i]].start] = ops[i];
    memcpy(ops, w->tmp, (size_t)end * sizeof *ops);
}

static void emit_scope(dot_walk *w, const char *prefix, const tg_op **ops, int n, int indent, int depth_left);

static void emit_child(dot_walk *w, size_t plen, const dot_group *gr, const tg_op **ops, int indent, int depth_left) {
    if (depth_left == 1) {
        emit_collapsed(w, gr->sub, ops + gr->start, gr->n, indent);
        return;
    }
    tg__strbuf_printf(w->b, "%*ssubgraph \"cluster_", indent, "");
    put_escaped(w->b, gr->sub);
    tg__strbuf_printf(w->b, "\" {\n%*slabel=\"%.*s\";\n", indent + 2, "", (int)(strlen(gr->sub) - plen - 1),
                      gr->sub + plen);
    emit_scope(w, gr->sub, ops + gr->start, gr->n, indent + 2, depth_left - 1);
    tg__strbuf_printf(w->b, "%*s}\n", indent, "");
}

/* Emits ops[0, n), the ops under scope `prefix` ("" or "a/b/") in graph
 * order: those directly in it, those made in a cond branch or while frame
 * grouped per context, then one cluster per child scope, in order of first
 * appearance. Each call splits its own list in one pass, so the walk is
 * O(ops * depth); ops is reordered. */
static void emit_scope(dot_walk *w, const char *prefix, const tg_op **ops, int n, int indent, int depth_left) {
    size_t plen = strlen(prefix);
    dot_groups gs = {0};
    bool ok = split_scope(w, &gs, plen, ops, n, indent);
    tg__strmap_free(&gs.index);
    if (!ok) w->b->failed = true;
    else partition(w, &gs, ops, n);
    for (int k = 0; k < gs.n && !w->b->failed; k++)
        if (gs.v[k].ctx) emit_branch(w->b, plen, &gs.v[k], ops, indent);
    for (int k = 0; k < gs.n && !w->b->failed; k++)
        if (!gs.v[k].ctx) emit_child(w, plen, &gs.v[k], ops, indent, depth_left);
    for (int k = 0; k < gs.n; k++) free(gs.v[k].sub);
    free(gs.v);
}

/* Emits every op's node and fills node_of (each op's own id, or that of
 * the node of its collapsed scope). */
static void emit_graph(tg__strbuf *b, const tg_graph *g, int max_depth, int *node_of) {
    size_t n = (size_t)(g->n_ops > 0 ? g->n_ops : 1), key_len = 0;
    for (int i = 0; i < g->n_ops; i++) {
        size_t len = strlen(g->ops[i]->name);
        if (len > key_len) key_len = len;
        node_of[i] = g->ops[i]->id;
    }
    const tg_op **ops = malloc(n * sizeof *ops);
    dot_walk w = {.b = b, .node_of = node_of, .tag = malloc(n * sizeof *w.tag), .tmp = malloc(n * sizeof *w.tmp),
                  .key = malloc(key_len + 1)};
    if (ops && w.tag && w.tmp && w.key) {
        memcpy(ops, g->ops, (size_t)g->n_ops * sizeof *ops);
        emit_scope(&w, "", ops, g->n_ops, 2, max_depth);
    } else {
        b->failed = true;
    }
    free(ops);
    free(w.tag);
    free(w.tmp);
    free(w.key);
}

/* Edges between collapsed nodes repeat; each (from, to, kind) is drawn once. */
typedef struct {
    uint64_t *slots;
    size_t cap;
} edge_set;

static bool edge_first_time(edge_set *e, int from, int to, int control) {
    uint64_t key = ((uint64_t)(uint32_t)from << 33 | (uint64_t)(uint32_t)to << 1 | (uint64_t)control) + 1;
    size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (e->cap - 1);
    while (e->slots[h] && e->slots[h] != key) h = (h + 1) & (e->cap - 1);
    if (e->slots[h]) return false;
    e->slots[h] = key;
    return true;
}

static void emit_edges(tg__strbuf *b, const tg_graph *g, const int *node_of, edge_set *es) {
    for (int i = 0; i < g->n_ops && !b->failed; i++) {
        const tg_op *op = g->ops[i];
        int to = node_of[op->id];
        for (int k = 0; k < op->n_inputs; k++) {
            char shp[128];
            const tg_tensor *t = op->inputs[k];
            int from = node_of[t->op->id];
            if (from == to || !edge_first_time(es, from, to, 0)) continue;
            tg__strbuf_printf(b, "  n%d -> n%d [label=\"%s\"];\n", from, to,
                              tg_shape_format(&t->shape, shp, sizeof shp));
        }
        for (int k = 0; k < op->n_control; k++) {
            int from = node_of[op->control[k]->id];
            if (from == to || !edge_first_time(es, from, to, 1)) continue;
            tg__strbuf_printf(b, "  n%d -> n%d [style=dashed, color=\"#888888\"];\n", from, to);
        }
    }
}

tg_code tg_graph_write_dot_opts(const tg_graph *g, FILE *out, const tg_dot_options *opts) {
    if (!g || !out || (opts && opts->max_depth < 0)) return TG_INVALID_ARGUMENT;
    int max_depth = opts ? opts->max_depth : 0;
    size_t n_edges = 0;
    for (int i = 0; i < g->n_ops; i++) n_edges += (size_t)g->ops[i]->n_inputs + (size_t)g->ops[i]->n_control;
    edge_set es = {.cap = 16};
    while (es.cap < 2 * n_edges + 16) es.cap *= 2;
    es.slots = calloc(es.cap, sizeof *es.slots);
    int *node_of = malloc((size_t)(g->n_ops > 0 ? g->n_ops : 1) * sizeof *node_of);
    tg__strbuf b = {0};
    b.failed = !es.slots || !node_of;
    tg__strbuf_printf(&b, "digraph tgraph {\n  rankdir=TB;\n  node [fontsize=10];\n"
                          "  edge [fontsize=8];\n");
    if (!b.failed) emit_graph(&b, g, max_depth, node_of);
    if (!b.failed) emit_edges(&b, g, node_of, &es);
    tg__strbuf_printf(&b, "}\n");
    tg_code rc = TG_OK;
    if (b.failed) rc = TG_RESOURCE_EXHAUSTED;
    else if (fwrite(b.data, 1, b.len, out) != b.len || fflush(out) != 0) rc = TG_INTERNAL;
    tg__strbuf_free(&b);
    free(node_of);
    free(es.slots);
    return rc;
}

tg_code tg_graph_write_dot(const tg_graph *g, FILE *out) { return tg_graph_write_dot_opts(g, out, NULL); }
