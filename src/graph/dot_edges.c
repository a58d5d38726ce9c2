/* Graphviz export, the rest of the file: the edges (data, reference,
 * control, UPDATE_OPS control, each its own style), the legend, the
 * options' checks and the public writers. dot.c draws the nodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dot_internal.h"

#define UPDATE_COLOR "#d62728"
#define REF_COLOR "#e6550d"
#define CONTROL_COLOR "#888888"

/* Edge kinds, the low two bits of an edge's key. */
enum { E_DATA, E_REF, E_CONTROL, E_UPDATE };

/* Edges between collapsed nodes repeat; each (from, to, kind) is drawn once. */
typedef struct {
    uint64_t *slots;
    size_t cap;
} edge_set;

/* Node ids are below 2^31 and an edge never joins a node to itself, so the
 * key (from, to, kind) never has all 64 bits set and key + 1 is not 0, the
 * empty slot. */
static bool edge_first_time(edge_set *e, int from, int to, int kind) {
    uint64_t key = ((uint64_t)(uint32_t)from << 33 | (uint64_t)(uint32_t)to << 2 | (uint64_t)kind) + 1;
    size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (e->cap - 1);
    while (e->slots[h] && e->slots[h] != key) h = (h + 1) & (e->cap - 1);
    if (e->slots[h]) return false;
    e->slots[h] = key;
    return true;
}

/* TF's reference edge: the op is handed the variable itself (Ref(T)), to
 * write through it (Assign, AssignSub, the optimizers' Apply*), not its
 * value. */
static bool is_ref_edge(const tg_op *op, int k) {
    unsigned f = op->def->flags;
    bool ref_slot = (k == 0 && (f & TG__OPF_REF_INPUT0)) || (f & TG__OPF_REF_INPUTS);
    return ref_slot && (op->inputs[k]->op->def->flags & TG__OPF_VARIABLE);
}

/* A tensor's shape labels its edge only between two nodes of one op each:
 * the edge of a collapsed node stands for several tensors. */
static void emit_data_edges(tg__strbuf *b, const tg__dot_view *v, const tg_op *op, edge_set *es) {
    int to = v->node_of[op->id];
    for (int k = 0; k < op->n_inputs; k++) {
        const tg_tensor *t = op->inputs[k];
        int from = v->node_of[t->op->id], kind = is_ref_edge(op, k) ? E_REF : E_DATA;
        if (from == to || !edge_first_time(es, from, to, kind)) continue;
        tg__strbuf_printf(b, "  n%d -> n%d [", from, to);
        if (!((v->flags[from] | v->flags[to]) & TG__DOT_MULTI)) {
            char shp[128];
            tg__strbuf_printf(b, "label=\"%s\"%s", tg_shape_format(&t->shape, shp, sizeof shp),
                              kind == E_REF ? ", " : "");
        }
        if (kind == E_REF) tg__strbuf_printf(b, "color=\"" REF_COLOR "\", penwidth=1.5");
        tg__strbuf_printf(b, "];\n");
    }
}

static void emit_control_edges(tg__strbuf *b, const tg__dot_view *v, const tg_op *op, edge_set *es) {
    int to = v->node_of[op->id];
    for (int k = 0; k < op->n_control; k++) {
        const tg_op *src = op->control[k];
        int from = v->node_of[src->id], kind = v->flags[src->id] & TG__DOT_IN_UPDATE_OPS ? E_UPDATE : E_CONTROL;
        if (from == to || !edge_first_time(es, from, to, kind)) continue;
        if (kind == E_UPDATE)
            tg__strbuf_printf(b, "  n%d -> n%d [style=dashed, color=\"" UPDATE_COLOR "\", penwidth=1.5];\n", from, to);
        else
            tg__strbuf_printf(b, "  n%d -> n%d [style=dashed, color=\"" CONTROL_COLOR "\"];\n", from, to);
    }
}

static bool emit_edges(tg__strbuf *b, const tg__dot_view *v) {
    const tg_graph *g = v->g;
    size_t n_edges = 0;
    for (int i = 0; i < g->n_ops; i++) n_edges += (size_t)g->ops[i]->n_inputs + (size_t)g->ops[i]->n_control;
    edge_set es = {.cap = 16};
    while (es.cap < 2 * n_edges + 16) es.cap *= 2;
    es.slots = calloc(es.cap, sizeof *es.slots);
    if (!es.slots) return false;
    for (int i = 0; i < g->n_ops && !b->failed; i++) {
        emit_data_edges(b, v, g->ops[i], &es);
        emit_control_edges(b, v, g->ops[i], &es);
    }
    free(es.slots);
    return true;
}

/* ---- the legend ----------------------------------------------------------- */

static void legend_row(tg__strbuf *b, const char *fill, const char *sample, const char *meaning) {
    tg__strbuf_printf(b, "      <tr><td%s%s%s>%s</td><td align=\"left\">%s</td></tr>\n", fill ? " bgcolor=\"" : "",
                      fill ? fill : "", fill ? "\"" : "", sample, meaning);
}

static void legend_nodes(tg__strbuf *b, const tg__dot_view *v) {
    legend_row(b, NULL, "ellipse", "op: name, type, first output's dtype and shape");
    legend_row(b, "#fff2b3", "box", "variable (VariableV2)");
    legend_row(b, "#cfe8ff", "ellipse", "placeholder (fed)");
    legend_row(b, NULL, "octagon", "op without outputs (NoOp: a train op, init)");
    if (v->o->max_depth > 0) legend_row(b, "#eeeeee", "3D box", "a name scope collapsed to one node (max_depth)");
    if (v->o->group_series) legend_row(b, NULL, "double ellipse", "a series x, x_1, x_2, ... of one op type");
    if (v->o->n_collections > 0) legend_row(b, NULL, "rounded box", "a collection: its ops are drawn only there");
    legend_row(b, NULL, "dashed box", "a tf.cond branch; dotted: a tf.while_loop frame");
}

static void legend_run(tg__strbuf *b, const tg__dot_run *run) {
    tg__strbuf_printf(b, "      <tr><td colspan=\"2\"><b>traced run: %d ops ran, %d skipped</b></td></tr>\n",
                      run->n_ran, run->n_skipped);
    legend_row(b, "#c7e9c0", "filled", "ran (the label says how often: a loop's op once per iteration)");
    legend_row(b, "#cfe8ff", "blue", "fed: the feeds gave its value, it did not run");
    legend_row(b, NULL, "dashed outline", "not run: pruned, the fetches and targets do not need it");
    legend_row(b, "#d9d9d9", "grey", "skipped: in a tf.cond branch that was not taken");
}

static void legend_edges(tg__strbuf *b) {
    legend_row(b, NULL, "------&gt;", "data edge, labelled with the tensor's shape");
    legend_row(b, NULL, "<font color=\"" REF_COLOR "\">======&gt;</font>",
               "reference edge: the op writes the variable (Assign, Apply*)");
    legend_row(b, NULL, "<font color=\"" CONTROL_COLOR "\">- - - &gt;</font>", "control edge: runs before");
    legend_row(b, NULL, "<font color=\"" UPDATE_COLOR "\">- - - &gt;</font>",
               "control edge from an op in UPDATE_OPS (batch norm's moving averages)");
}

/* One node with an HTML-like table: no edges, so it cannot disturb the
 * layout of the graph it explains. */
static void emit_legend(tg__strbuf *b, const tg__dot_view *v) {
    tg__strbuf_printf(b, "  legend [shape=none, margin=0, fontsize=9, label=<\n"
                         "    <table border=\"0\" cellborder=\"1\" cellspacing=\"0\" cellpadding=\"3\">\n"
                         "      <tr><td colspan=\"2\"><b>legend</b></td></tr>\n");
    legend_nodes(b, v);
    if (v->run) legend_run(b, v->run);
    legend_edges(b);
    tg__strbuf_printf(b, "    </table>>];\n");
}

/* ---- options, tables, the file ----------------------------------------------- */

tg_code tg__dot_refuse(const char *api, const char *what) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", api, what);
    tg__log_build(TG_INVALID_ARGUMENT, msg);
    return TG_INVALID_ARGUMENT;
}

tg_code tg__dot_check_options(const tg_dot_options *o, const char *api) {
    if (o->max_depth < 0) return tg__dot_refuse(api, "max_depth must not be negative");
    if (o->n_collections < 0) return tg__dot_refuse(api, "n_collections must not be negative");
    if (!o->collections && o->n_collections > 0)
        return tg__dot_refuse(api, "collections is NULL but n_collections is not 0");
    if (o->collections && o->n_collections == 0)
        return tg__dot_refuse(api, "collections is given with n_collections 0");
    for (int i = 0; i < o->n_collections; i++)
        if (!o->collections[i]) return tg__dot_refuse(api, "collections holds a NULL key");
    return TG_OK;
}

static const tg_op *item_op(const tg_item *it) {
    switch (it->kind) {
    case TG_ITEM_OP: return it->u.op;
    case TG_ITEM_TENSOR: return it->u.tensor->op;
    case TG_ITEM_VARIABLE: return it->u.variable->op;
    }
    return NULL;
}

static const tg__collection *collection(const tg_graph *g, const char *key) {
    for (int i = 0; i < g->n_colls; i++)
        if (strcmp(g->colls[i].key, key) == 0) return &g->colls[i];
    return NULL;
}

/* Marks UPDATE_OPS's ops and each listed collection's (the first listed
 * wins). */
static void mark_collections(tg__dot_view *v) {
    const tg__collection *u = collection(v->g, TG_GRAPHKEYS_UPDATE_OPS);
    for (int i = 0; u && i < u->n; i++) {
        const tg_op *op = item_op(&u->items[i]);
        if (op) v->flags[op->id] |= TG__DOT_IN_UPDATE_OPS;
    }
    for (int c = 0; c < v->o->n_collections; c++) {
        const tg__collection *col = collection(v->g, v->o->collections[c]);
        for (int i = 0; col && i < col->n; i++) {
            const tg_op *op = item_op(&col->items[i]);
            if (op && !v->coll_of[op->id]) v->coll_of[op->id] = c + 1;
        }
    }
}

static void emit_file(tg__strbuf *b, tg__dot_view *v) {
    /* newrank: dot's default ranks each cluster apart, and failed ("trouble
     * in init_rank") on the CNN's training graph four scopes deep with the
     * update ops in a collection's cluster; one global ranking does not, but
     * took minutes where the default takes one without collections. */
    tg__strbuf_printf(b, "digraph tgraph {\n  rankdir=TB;\n%s  node [fontsize=10];\n  edge [fontsize=8];\n",
                      v->o->n_collections > 0 ? "  newrank=true;\n" : "");
    mark_collections(v);
    tg__dot_emit_nodes(b, v);
    if (!b->failed && !emit_edges(b, v)) b->failed = true;
    if (v->o->legend || v->run) emit_legend(b, v);
    tg__strbuf_printf(b, "}\n");
}

tg_code tg__graph_write_dot_run(const tg_graph *g, FILE *out, const tg_dot_options *opts, const tg__dot_run *run,
                                const char *api) {
    if (!g) return tg__dot_refuse(api, "g is NULL");
    if (!out) return tg__dot_refuse(api, "out is NULL");
    const tg_dot_options none = {0}, *o = opts ? opts : &none;
    tg_code rc = tg__dot_check_options(o, api);
    if (rc != TG_OK) return rc;
    size_t n = (size_t)(g->n_ops > 0 ? g->n_ops : 1);
    tg__dot_view v = {.g = g, .run = run, .o = o, .node_of = malloc(n * sizeof *v.node_of),
                      .flags = calloc(n, sizeof *v.flags), .coll_of = calloc(n, sizeof *v.coll_of)};
    tg__strbuf b = {0};
    b.failed = !v.node_of || !v.flags || !v.coll_of;
    if (!b.failed) emit_file(&b, &v);
    if (b.failed) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s: out of memory", api);
        tg__log_build(TG_RESOURCE_EXHAUSTED, msg);
        rc = TG_RESOURCE_EXHAUSTED;
    } else if (fwrite(b.data, 1, b.len, out) != b.len || fflush(out) != 0) rc = TG_INTERNAL;
    tg__strbuf_free(&b);
    free(v.node_of);
    free(v.flags);
    free(v.coll_of);
    return rc;
}

tg_code tg_graph_write_dot_opts(const tg_graph *g, FILE *out, const tg_dot_options *opts) {
    return tg__graph_write_dot_run(g, out, opts, NULL, "tg_graph_write_dot_opts");
}

tg_code tg_graph_write_dot(const tg_graph *g, FILE *out) {
    return tg__graph_write_dot_run(g, out, NULL, NULL, "tg_graph_write_dot");
}
