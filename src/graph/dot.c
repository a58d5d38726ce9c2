/* Graphviz export: how people look at what they built. Name scopes become
 * nested clusters, so "conv1/..." ops sit together in a box labelled conv1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

static void put_escaped(tg__strbuf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') tg__strbuf_printf(b, "\\%c", *s);
        else tg__strbuf_printf(b, "%c", *s);
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

/* One node standing for every op under scope `sub` ("a/b/"): the
 * collapsed view. Its id is the first such op's, which node_of maps all of
 * them to. */
static void emit_collapsed(tg__strbuf *b, const tg_graph *g, const char *sub, int indent) {
    size_t len = strlen(sub);
    int first = -1, count = 0;
    for (int i = 0; i < g->n_ops; i++)
        if (strncmp(g->ops[i]->name, sub, len) == 0) {
            if (first < 0) first = g->ops[i]->id;
            count++;
        }
    tg__strbuf_printf(b, "%*sn%d [label=\"", indent, "", first);
    const char *base = sub;
    for (const char *p = sub; p[0] && p[1]; p++)
        if (*p == '/') base = p + 1;
    tg__strbuf_printf(b, "%.*s\\n%d ops\", tooltip=\"", (int)(strlen(base) - 1), base, count);
    put_escaped(b, sub);
    tg__strbuf_printf(b, "\", shape=box3d, style=filled, fillcolor=\"#eeeeee\"];\n");
}

/* Records ctx once, in order of first appearance. */
static void note_ctx(tg__strbuf *b, const tg__cond_ctx ***ctxs, int *n, int *cap, const tg__cond_ctx *ctx) {
    for (int i = 0; i < *n; i++)
        if ((*ctxs)[i] == ctx) return;
    if (!tg__grow((void **)ctxs, cap, *n + 1, sizeof **ctxs)) {
        b->failed = true;
        return;
    }
    (*ctxs)[(*n)++] = ctx;
}

/* A cond branch (TF's CondContext) as a dashed cluster inside its name
 * scope: the ops directly in `prefix` made in ctx. The branch is told by
 * its pivot, "switch_t" or "switch_f" as TF names them. A while loop's
 * frame (TF's WhileContext) is a dotted cluster the same way. */
static void emit_branch(tg__strbuf *b, const tg_graph *g, const char *prefix, const tg__cond_ctx *ctx, int indent) {
    size_t plen = strlen(prefix), nlen = strlen(ctx->pivot->name);
    bool is_true = nlen >= 8 && strcmp(ctx->pivot->name + nlen - 8, "switch_t") == 0;
    tg__strbuf_printf(b, "%*ssubgraph \"cluster_", indent, "");
    put_escaped(b, ctx->pivot->name);
    if (ctx->is_loop)
        tg__strbuf_printf(b, "\" {\n%*slabel=\"while loop: runs once per iteration\"; style=dotted;\n", indent + 2,
                          "");
    else
        tg__strbuf_printf(b, "\" {\n%*slabel=\"%s branch\"; style=dashed;\n", indent + 2, "",
                          is_true ? "true" : "false");
    for (int i = 0; i < g->n_ops; i++) {
        const tg_op *op = g->ops[i];
        if (op->ctx != ctx || strncmp(op->name, prefix, plen) != 0 || strchr(op->name + plen, '/')) continue;
        emit_node(b, op, op->name + plen, indent + 2);
    }
    tg__strbuf_printf(b, "%*s}\n", indent, "");
}

/* Emits the ops directly in scope `prefix` ("" or "a/b/"), those made in a
 * cond branch grouped per branch, then one cluster per child scope, in
 * order of first appearance. */
static void emit_scope(tg__strbuf *b, const tg_graph *g, const char *prefix, int indent, int depth_left) {
    size_t plen = strlen(prefix);
    const char **kids = NULL;
    size_t *kid_len = NULL;
    const tg__cond_ctx **ctxs = NULL;
    int n_kids = 0, cap = 0, cap2 = 0, n_ctxs = 0, cap3 = 0;
    for (int i = 0; i < g->n_ops; i++) {
        const tg_op *op = g->ops[i];
        if (strncmp(op->name, prefix, plen) != 0) continue;
        const char *rest = op->name + plen;
        const char *slash = strchr(rest, '/');
        if (!slash) {
            /* a loop whose build failed may have no pivot: no cluster */
            if (!op->ctx || !op->ctx->pivot) emit_node(b, op, rest, indent);
            else note_ctx(b, &ctxs, &n_ctxs, &cap3, op->ctx);
            continue;
        }
        size_t len = (size_t)(slash - rest);
        bool seen = false;
        for (int k = 0; k < n_kids && !seen; k++)
            seen = kid_len[k] == len && strncmp(kids[k], rest, len) == 0;
        if (seen) continue;
        if (!tg__grow((void **)&kids, &cap, n_kids + 1, sizeof *kids) ||
            !tg__grow((void **)&kid_len, &cap2, n_kids + 1, sizeof *kid_len)) {
            b->failed = true;
            break;
        }
        kids[n_kids] = rest;
        kid_len[n_kids++] = len;
    }
    for (int c = 0; c < n_ctxs && !b->failed; c++) emit_branch(b, g, prefix, ctxs[c], indent);
    free(ctxs);
    for (int k = 0; k < n_kids && !b->failed; k++) {
        size_t sub_len = plen + kid_len[k] + 1;
        char *sub = malloc(sub_len + 1);
        if (!sub) {
            b->failed = true;
            break;
        }
        memcpy(sub, prefix, plen);
        memcpy(sub + plen, kids[k], kid_len[k]);
        sub[sub_len - 1] = '/';
        sub[sub_len] = '\0';
        if (depth_left == 1) {
            emit_collapsed(b, g, sub, indent);
        } else {
            tg__strbuf_printf(b, "%*ssubgraph \"cluster_", indent, "");
            put_escaped(b, sub);
            tg__strbuf_printf(b, "\" {\n%*slabel=\"%.*s\";\n", indent + 2, "", (int)kid_len[k], kids[k]);
            emit_scope(b, g, sub, indent + 2, depth_left - 1);
            tg__strbuf_printf(b, "%*s}\n", indent, "");
        }
        free(sub);
    }
    free(kids);
    free(kid_len);
}

/* The node an op is drawn as: itself, or the first op of its scope at
 * depth max_depth when that scope is collapsed. */
static int *node_map(const tg_graph *g, int max_depth) {
    int *node_of = malloc((size_t)(g->n_ops > 0 ? g->n_ops : 1) * sizeof *node_of);
    if (!node_of) return NULL;
    for (int i = 0; i < g->n_ops; i++) {
        const tg_op *op = g->ops[i];
        node_of[i] = op->id;
        if (max_depth <= 0) continue;
        const char *cut = op->name;
        int depth = 0;
        while (depth < max_depth && (cut = strchr(cut, '/')) != NULL) cut++, depth++;
        if (depth < max_depth || !cut) continue; /* not nested deeper than max_depth */
        size_t len = (size_t)(cut - op->name);
        for (int j = 0; j < i; j++)
            if (strncmp(g->ops[j]->name, op->name, len) == 0) {
                node_of[i] = node_of[j];
                break;
            }
    }
    return node_of;
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

tg_code tg_graph_write_dot_opts(const tg_graph *g, FILE *out, const tg_dot_options *opts) {
    if (!g || !out || (opts && opts->max_depth < 0)) return TG_INVALID_ARGUMENT;
    int max_depth = opts ? opts->max_depth : 0;
    size_t n_edges = 0;
    for (int i = 0; i < g->n_ops; i++) n_edges += (size_t)g->ops[i]->n_inputs + (size_t)g->ops[i]->n_control;
    edge_set es = {.cap = 16};
    while (es.cap < 2 * n_edges + 16) es.cap *= 2;
    es.slots = calloc(es.cap, sizeof *es.slots);
    int *node_of = node_map(g, max_depth);
    tg__strbuf b = {0};
    b.failed = !es.slots || !node_of;
    tg__strbuf_printf(&b, "digraph tgraph {\n  rankdir=TB;\n  node [fontsize=10];\n"
                          "  edge [fontsize=8];\n");
    if (!b.failed) emit_scope(&b, g, "", 2, max_depth);
    for (int i = 0; i < g->n_ops && !b.failed; i++) {
        const tg_op *op = g->ops[i];
        int to = node_of[op->id];
        for (int k = 0; k < op->n_inputs; k++) {
            char shp[128];
            const tg_tensor *t = op->inputs[k];
            int from = node_of[t->op->id];
            if (from == to || !edge_first_time(&es, from, to, 0)) continue;
            tg__strbuf_printf(&b, "  n%d -> n%d [label=\"%s\"];\n", from, to,
                              tg_shape_format(&t->shape, shp, sizeof shp));
        }
        for (int k = 0; k < op->n_control; k++) {
            int from = node_of[op->control[k]->id];
            if (from == to || !edge_first_time(&es, from, to, 1)) continue;
            tg__strbuf_printf(&b, "  n%d -> n%d [style=dashed, color=\"#888888\"];\n", from, to);
        }
    }
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
