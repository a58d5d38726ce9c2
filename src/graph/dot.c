/* Graphviz export, the nodes: how people look at what they built. Name
 * scopes become nested clusters, so "conv1/..." ops sit together in a box
 * labelled conv1; listed collections take their ops into clusters of their
 * own; a run's overlay (dot_run.c) fills what ran. Edges, the legend and
 * the file itself are dot_edges.c's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dot_internal.h"
#include "strmap.h"

enum { SERIES_MIN = 5 }; /* TensorBoard's smallest series */

#define RAN_FILL "#c7e9c0"
#define SKIPPED_FILL "#d9d9d9"
#define FED_FILL "#cfe8ff" /* a placeholder's */
#define MUTED "#888888"

/* Writes runs, not characters: a printf per character took half the time
 * of a 50k-op graph. */
void tg__dot_put_escaped(tg__strbuf *b, const char *s) {
    for (size_t n; *s; s += n) {
        n = strcspn(s, "\"\\");
        if (n) tg__strbuf_printf(b, "%.*s", (int)n, s);
        else tg__strbuf_printf(b, "\\%c", *s), n = 1;
    }
}

tg__dot_state tg__dot_op_state(const tg__dot_view *v, const tg_op *op) {
    if (!v->run || op->id >= v->run->n_ops) return TG__DOT_PRUNED;
    return (tg__dot_state)v->run->state[op->id];
}

/* The attributes after the label: shape and, without a run, the kind's
 * fill; with one, the run's state decides: filled (the kind's colour, or
 * green; blue when fed) when it ran or was fed, grey when skipped, a dashed
 * outline when pruned. */
static void put_style(tg__strbuf *b, const tg__dot_view *v, const char *shape, const char *fill,
                      tg__dot_state st) {
    tg__strbuf_printf(b, "shape=%s", shape);
    if (!v->run) {
        if (fill) tg__strbuf_printf(b, ", style=filled, fillcolor=\"%s\"", fill);
    } else if (st == TG__DOT_RAN || st == TG__DOT_FED) {
        const char *own = st == TG__DOT_RAN ? RAN_FILL : FED_FILL;
        tg__strbuf_printf(b, ", style=filled, fillcolor=\"%s\"", fill ? fill : own);
    } else if (st == TG__DOT_SKIPPED) {
        tg__strbuf_printf(b, ", style=filled, fillcolor=\"" SKIPPED_FILL "\", color=\"" MUTED
                             "\", fontcolor=\"#555555\"");
    } else {
        tg__strbuf_printf(b, ", style=dashed, color=\"" MUTED "\", fontcolor=\"#555555\"");
    }
}

static void op_shape(const tg_op *op, const char **shape, const char **fill) {
    unsigned f = op->def->flags;
    *fill = NULL;
    *shape = "ellipse";
    if (f & TG__OPF_VARIABLE) *shape = "box", *fill = "#fff2b3";
    else if (f & TG__OPF_PLACEHOLDER) *fill = FED_FILL;
    else if (op->n_outputs == 0) *shape = "octagon";
}

/* The label's last line under a run: how often the op ran (a loop's op:
 * its iterations), or why it did not. Pruned ops say nothing: the dashed
 * outline does. */
static void put_runs(tg__strbuf *b, tg__dot_state st, int64_t runs) {
    if (st == TG__DOT_SKIPPED) tg__strbuf_printf(b, "\\nskipped: branch not taken");
    else if (st == TG__DOT_FED) tg__strbuf_printf(b, "\\nfed");
    else if (st == TG__DOT_RAN && runs == 1) tg__strbuf_printf(b, "\\nran once");
    else if (st == TG__DOT_RAN) tg__strbuf_printf(b, "\\nran %lld times", (long long)runs);
}

static void emit_node(tg__strbuf *b, const tg__dot_view *v, const tg_op *op, const char *base, int indent) {
    tg__strbuf_printf(b, "%*sn%d [label=\"", indent, "", op->id);
    tg__dot_put_escaped(b, base);
    tg__strbuf_printf(b, "\\n%s", op->def->type);
    if (op->n_outputs > 0) {
        char shp[128];
        tg__strbuf_printf(b, "\\n%s %s", tg_dtype_name(op->outputs[0].dtype),
                          tg_shape_format(&op->outputs[0].shape, shp, sizeof shp));
    }
    tg__dot_state st = tg__dot_op_state(v, op);
    if (v->run) put_runs(b, st, op->id < v->run->n_ops ? v->run->runs[op->id] : 0);
    tg__strbuf_printf(b, "\", tooltip=\"");
    tg__dot_put_escaped(b, op->name);
    tg__strbuf_printf(b, "\", ");
    const char *shape, *fill;
    op_shape(op, &shape, &fill);
    put_style(b, v, shape, fill, st);
    tg__strbuf_printf(b, "];\n");
}

/* A node standing for n ops under a run: it ran when one of them did,
 * else was skipped when one was skipped, else fed when one was fed. *ran
 * counts those that ran. */
static tg__dot_state group_state(const tg__dot_view *v, const tg_op *const *ops, int n, int *ran) {
    bool skipped = false, fed = false;
    *ran = 0;
    for (int i = 0; i < n; i++) {
        tg__dot_state st = tg__dot_op_state(v, ops[i]);
        *ran += st == TG__DOT_RAN;
        skipped |= st == TG__DOT_SKIPPED;
        fed |= st == TG__DOT_FED;
    }
    return *ran ? TG__DOT_RAN : skipped ? TG__DOT_SKIPPED : fed ? TG__DOT_FED : TG__DOT_PRUNED;
}

/* Points the n ops at one node (the first one's id) and ends its label
 * with what the run did to them. */
static tg__dot_state join_group(tg__strbuf *b, tg__dot_view *v, const tg_op *const *ops, int n) {
    int first = ops[0]->id, ran = 0;
    for (int i = 0; i < n; i++) v->node_of[ops[i]->id] = first;
    v->flags[first] |= TG__DOT_MULTI;
    tg__dot_state st = group_state(v, ops, n, &ran);
    if (v->run && st == TG__DOT_RAN) tg__strbuf_printf(b, "\\n%d of %d ran", ran, n);
    else if (v->run && st == TG__DOT_SKIPPED) tg__strbuf_printf(b, "\\nskipped: branch not taken");
    else if (v->run && st == TG__DOT_FED) tg__strbuf_printf(b, "\\nfed");
    return st;
}

/* One cond branch, while frame, child scope or series among the ops of a
 * scope: ops[start, start + n) of the scope's list once it is partitioned. */
typedef enum { G_SERIES, G_DIRECT, G_BRANCH, G_CHILD, G_KINDS } group_kind;

typedef struct {
    group_kind kind;
    const tg__cond_ctx *ctx; /* G_BRANCH */
    char *sub;               /* G_CHILD: the scope's prefix "a/b/"; G_SERIES, G_DIRECT: the key */
    int start, n;
} dot_group;

typedef struct {
    dot_group *v;
    int n, cap;
    /* a group's key (its pivot's name, sub or series key) -> index + 1: a
     * linear search made a scope with thousands of children quadratic */
    tg__strmap index;
} dot_groups;

/* What every emit_scope call shares. tag, tmp and key are scratch that a
 * call is done with before it recurses, so one of each serves the walk. */
typedef struct {
    tg__strbuf *b;
    tg__dot_view *v;
    int *tag;          /* an op's group in the scope being split, -1: none */
    const tg_op **tmp; /* the partition's output */
    char *key;         /* a group's key, NUL-terminated for the map */
} dot_walk;

/* The collapsed view: one node standing for the n ops under scope `sub`
 * ("a/b/"), its edges those of all of them. */
static void emit_collapsed(dot_walk *w, const char *sub, const tg_op **ops, int n, int indent) {
    tg__strbuf_printf(w->b, "%*sn%d [label=\"", indent, "", ops[0]->id);
    const char *base = sub;
    for (const char *p = sub; p[0] && p[1]; p++)
        if (*p == '/') base = p + 1;
    tg__strbuf_printf(w->b, "%.*s\\n%d ops", (int)(strlen(base) - 1), base, n);
    tg__dot_state st = join_group(w->b, w->v, ops, n);
    tg__strbuf_printf(w->b, "\", tooltip=\"");
    tg__dot_put_escaped(w->b, sub);
    tg__strbuf_printf(w->b, "\", ");
    put_style(w->b, w->v, "box3d", "#eeeeee", st);
    tg__strbuf_printf(w->b, "];\n");
}

/* The length of the stem of a name relative to its scope: "ZerosLike_12"
 * -> 9 with *num 12, "ZerosLike" -> 9 with *num 0 (TF's first unique name
 * has no suffix). */
static size_t series_stem(const char *base, long *num) {
    const char *us = strrchr(base, '_');
    size_t digits = us ? strlen(us + 1) : 0;
    *num = 0;
    if (!us || us == base || digits == 0 || digits > 9 || strspn(us + 1, "0123456789") != digits)
        return strlen(base);
    *num = strtol(us + 1, NULL, 10);
    return (size_t)(us - base);
}

/* TensorBoard's series node "ZerosLike_[0-42]" for ops of one type named
 * stem, stem_1, ... directly in the scope. */
static void emit_series(dot_walk *w, size_t plen, const tg_op **ops, int n, int indent) {
    long lo = 0, hi = 0;
    size_t stem = 0;
    for (int i = 0; i < n; i++) {
        long num;
        stem = series_stem(ops[i]->name + plen, &num);
        if (i == 0 || num < lo) lo = num;
        if (i == 0 || num > hi) hi = num;
    }
    tg__strbuf_printf(w->b, "%*sn%d [label=\"%.*s_[%ld-%ld]\\n%d x %s", indent, "", ops[0]->id, (int)stem,
                      ops[0]->name + plen, lo, hi, n, ops[0]->def->type);
    tg__dot_state st = join_group(w->b, w->v, ops, n);
    tg__strbuf_printf(w->b, "\", tooltip=\"%.*s_*\", peripheries=2, ", (int)(plen + stem), ops[0]->name);
    put_style(w->b, w->v, "ellipse", NULL, st);
    tg__strbuf_printf(w->b, "];\n");
}

static bool tag_series(dot_walk *w, dot_groups *gs, size_t plen, const tg_op **ops, int n);
static void partition(dot_walk *w, dot_groups *gs, const tg_op **ops, int n);

/* ops[0, n): ops directly in the scope and in one context (none, or a
 * branch's), one by one or, under group_series, per series. The caller is
 * done with the walk's scratch. */
static void emit_direct(dot_walk *w, size_t plen, const tg_op **ops, int n, int indent) {
    if (!w->v->o->group_series) {
        for (int i = 0; i < n; i++) emit_node(w->b, w->v, ops[i], ops[i]->name + plen, indent);
        return;
    }
    dot_groups gs = {0};
    bool ok = tag_series(w, &gs, plen, ops, n);
    tg__strmap_free(&gs.index);
    if (!ok) w->b->failed = true;
    else partition(w, &gs, ops, n);
    for (int k = 0; k < gs.n && !w->b->failed; k++) {
        const dot_group *gr = &gs.v[k];
        if (gr->n >= SERIES_MIN) emit_series(w, plen, ops + gr->start, gr->n, indent);
        else
            for (int i = gr->start; i < gr->start + gr->n; i++)
                emit_node(w->b, w->v, ops[i], ops[i]->name + plen, indent);
    }
    for (int k = 0; k < gs.n; k++) free(gs.v[k].sub);
    free(gs.v);
}

/* Said only under a run: a branch with a skipped op was not taken (its
 * Switch ran, as the gate always does, but what hangs on the dead output
 * did not); one where an op ran and none was skipped was. */
static const char *branch_fate(const tg__dot_view *v, const tg_op *const *ops, int n) {
    bool ran = false;
    if (!v->run) return "";
    for (int i = 0; i < n; i++) {
        tg__dot_state st = tg__dot_op_state(v, ops[i]);
        if (st == TG__DOT_SKIPPED) return " (not taken)";
        ran |= st == TG__DOT_RAN;
    }
    return ran ? " (taken)" : "";
}

/* A cond branch (TF's CondContext) as a dashed cluster inside its name
 * scope: the ops directly in the scope made in ctx. The branch is told by
 * its pivot, "switch_t" or "switch_f" as TF names them. A while loop's
 * frame (TF's WhileContext) is a dotted cluster the same way. */
static void emit_branch(dot_walk *w, const char *prefix, const dot_group *gr, const tg_op **ops, int indent) {
    size_t plen = strlen(prefix);
    tg__strbuf *b = w->b;
    const char *pivot = gr->ctx->pivot->name;
    size_t nlen = strlen(pivot);
    bool is_true = nlen >= 8 && strcmp(pivot + nlen - 8, "switch_t") == 0;
    const char *fate = branch_fate(w->v, ops + gr->start, gr->n);
    tg__strbuf_printf(b, "%*ssubgraph \"cluster_", indent, "");
    tg__dot_put_escaped(b, pivot);
    /* The gradients of a branch's ops are made in the branch's context too,
     * in the gradients scope: a second cluster of the same name would be
     * the same subgraph to dot, in two parents, and dot fails on that
     * ("trouble in init_rank"). '@' is in no op name. */
    if (strncmp(pivot, prefix, plen) != 0 || strchr(pivot + plen, '/')) {
        tg__strbuf_printf(b, "@");
        tg__dot_put_escaped(b, prefix);
    }
    if (gr->ctx->is_loop)
        tg__strbuf_printf(b, "\" {\n%*slabel=\"while loop: runs once per iteration\"; style=dotted;\n", indent + 2,
                          "");
    else
        tg__strbuf_printf(b, "\" {\n%*slabel=\"%s branch%s\"; style=dashed;\n", indent + 2, "",
                          is_true ? "true" : "false", fate);
    emit_direct(w, plen, ops + gr->start, gr->n, indent + 2);
    tg__strbuf_printf(b, "%*s}\n", indent, "");
}

/* The group with key (w->key or a pivot's name), made on first sight. -1
 * when out of memory. Keys do not collide: a sub ends in '/', a series key
 * holds '\x1f' after a stem and G_DIRECT's is "\x1f" alone, an op name (a
 * pivot's) neither. */
static int group_of(dot_groups *gs, group_kind kind, const char *key, const tg__cond_ctx *ctx) {
    intptr_t found = (intptr_t)tg__strmap_get(&gs->index, key);
    if (found) return (int)found - 1;
    if (!tg__grow((void **)&gs->v, &gs->cap, gs->n + 1, sizeof *gs->v)) return -1;
    dot_group *gr = &gs->v[gs->n];
    size_t len = strlen(key);
    *gr = (dot_group){.kind = kind, .ctx = ctx, .sub = kind == G_BRANCH ? NULL : malloc(len + 1)};
    if (kind != G_BRANCH && !gr->sub) return -1;
    if (gr->sub) memcpy(gr->sub, key, len + 1);
    if (!tg__strmap_put(&gs->index, gr->sub ? gr->sub : key, (void *)(intptr_t)(gs->n + 1))) {
        free(gr->sub);
        return -1;
    }
    return gs->n++;
}

/* The group of an op directly in the scope under group_series: its stem
 * and type, so that only ops of one type make a series. */
static int series_group(dot_walk *w, dot_groups *gs, const tg_op *op, size_t plen) {
    long num;
    size_t stem = series_stem(op->name + plen, &num);
    snprintf(w->key, strlen(op->name) + strlen(op->def->type) + 2, "%.*s\x1f%s", (int)stem, op->name + plen,
             op->def->type);
    return group_of(gs, G_SERIES, w->key, NULL);
}

static bool tag_series(dot_walk *w, dot_groups *gs, size_t plen, const tg_op **ops, int n) {
    for (int i = 0; i < n; i++) {
        w->tag[i] = series_group(w, gs, ops[i], plen);
        if (w->tag[i] < 0) return false;
        gs->v[w->tag[i]].n++;
    }
    return true;
}

/* Emits the ops directly in the scope that no group holds and tags the
 * others with their group. False when out of memory. */
static bool split_scope(dot_walk *w, dot_groups *gs, size_t plen, const tg_op **ops, int n, int indent) {
    for (int i = 0; i < n; i++) {
        const tg_op *op = ops[i];
        const char *slash = strchr(op->name + plen, '/');
        /* a loop whose build failed may have no pivot: no cluster */
        bool in_ctx = !slash && op->ctx && op->ctx->pivot;
        w->tag[i] = -1;
        if (slash) {
            size_t sub_len = (size_t)(slash + 1 - op->name);
            memcpy(w->key, op->name, sub_len);
            w->key[sub_len] = '\0';
            w->tag[i] = group_of(gs, G_CHILD, w->key, NULL);
        } else if (in_ctx) {
            w->tag[i] = group_of(gs, G_BRANCH, op->ctx->pivot->name, op->ctx);
        } else if (w->v->o->group_series) {
            w->tag[i] = group_of(gs, G_DIRECT, "\x1f", NULL);
        } else {
            emit_node(w->b, w->v, op, op->name + plen, indent);
            continue;
        }
        if (w->tag[i] < 0) return false;
        gs->v[w->tag[i]].n++;
    }
    return true;
}

/* A stable counting sort of the tagged ops into their groups' ranges, each
 * group's ops in graph order. */
static void partition(dot_walk *w, dot_groups *gs, const tg_op **ops, int n) {
    int end = 0;
    for (int k = 0; k < gs->n; k++) gs->v[k].start = end += gs->v[k].n;
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
    tg__dot_put_escaped(w->b, gr->sub);
    tg__strbuf_printf(w->b, "\" {\n%*slabel=\"%.*s\";\n", indent + 2, "", (int)(strlen(gr->sub) - plen - 1),
                      gr->sub + plen);
    emit_scope(w, gr->sub, ops + gr->start, gr->n, indent + 2, depth_left - 1);
    tg__strbuf_printf(w->b, "%*s}\n", indent, "");
}

static void emit_group(dot_walk *w, const char *prefix, const dot_group *gr, const tg_op **ops, int indent,
                       int depth_left) {
    size_t plen = strlen(prefix);
    if (gr->kind == G_BRANCH) {
        emit_branch(w, prefix, gr, ops, indent);
    } else if (gr->kind == G_CHILD) {
        emit_child(w, plen, gr, ops, indent, depth_left);
    } else {
        emit_direct(w, plen, ops + gr->start, gr->n, indent);
    }
}

/* Emits ops[0, n), the ops under scope `prefix` ("" or "a/b/") in graph
 * order: those directly in it (one by one, or per series), those made in a
 * cond branch or while frame grouped per context, then one cluster per
 * child scope, in order of first appearance. Each call splits its own list
 * in one pass, so the walk is O(ops * depth); ops is reordered. */
static void emit_scope(dot_walk *w, const char *prefix, const tg_op **ops, int n, int indent, int depth_left) {
    size_t plen = strlen(prefix);
    dot_groups gs = {0};
    bool ok = split_scope(w, &gs, plen, ops, n, indent);
    tg__strmap_free(&gs.index);
    if (!ok) w->b->failed = true;
    else partition(w, &gs, ops, n);
    for (group_kind kind = G_SERIES; kind < G_KINDS; kind++)
        for (int k = 0; k < gs.n && !w->b->failed; k++)
            if (gs.v[k].kind == kind) emit_group(w, prefix, &gs.v[k], ops, indent, depth_left);
    for (int k = 0; k < gs.n; k++) free(gs.v[k].sub);
    free(gs.v);
}

/* The clusters of the listed collections, each op labelled with its full
 * name since it is drawn away from its scope. */
static void emit_collections(tg__strbuf *b, const tg__dot_view *v) {
    for (int c = 0; c < v->o->n_collections; c++) {
        const char *key = v->o->collections[c];
        tg__strbuf_printf(b, "  subgraph \"cluster_collection:");
        tg__dot_put_escaped(b, key);
        tg__strbuf_printf(b, "\" {\n    label=\"collection: ");
        tg__dot_put_escaped(b, key);
        bool update = strcmp(key, TG_GRAPHKEYS_UPDATE_OPS) == 0;
        tg__strbuf_printf(b, "\"; style=rounded; color=\"%s\";\n", update ? "#d62728" : "#555555");
        for (int i = 0; i < v->g->n_ops; i++)
            if (v->coll_of[i] == c + 1) emit_node(b, v, v->g->ops[i], v->g->ops[i]->name, 4);
        tg__strbuf_printf(b, "  }\n");
    }
}

/* The ops no listed collection holds, in graph order, into ops; their count. */
static int scoped_ops(const tg__dot_view *v, const tg_op **ops) {
    int n = 0;
    for (int i = 0; i < v->g->n_ops; i++)
        if (!v->coll_of[i]) ops[n++] = v->g->ops[i];
    return n;
}

void tg__dot_emit_nodes(tg__strbuf *b, tg__dot_view *v) {
    const tg_graph *g = v->g;
    size_t n = (size_t)(g->n_ops > 0 ? g->n_ops : 1), key_len = 0;
    for (int i = 0; i < g->n_ops; i++) {
        size_t len = strlen(g->ops[i]->name) + strlen(g->ops[i]->def->type) + 1;
        if (len > key_len) key_len = len;
        v->node_of[i] = g->ops[i]->id;
    }
    const tg_op **ops = malloc(n * sizeof *ops);
    dot_walk w = {.b = b, .v = v, .tag = malloc(n * sizeof *w.tag), .tmp = malloc(n * sizeof *w.tmp),
                  .key = malloc(key_len + 1)};
    if (ops && w.tag && w.tmp && w.key) {
        emit_collections(b, v);
        emit_scope(&w, "", ops, scoped_ops(v, ops), 2, v->o->max_depth);
    } else {
        b->failed = true;
    }
    free(ops);
    free(w.tag);
    free(w.tmp);
    free(w.key);
}
