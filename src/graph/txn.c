/* Builder transactions: a builder made of many ops (a contrib layer: its
 * variable scope, variables, initializers, collections, the layer's ops)
 * either adds all of them or, when it fails, none, as tgraph.h promises of
 * every builder. While a transaction is open, each change to the graph's
 * maps is journaled; counts (ops, tensors, variables, collections) and the
 * arena are marked at the start. Failing rolls everything back to the mark
 * and keeps the sticky error. */
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"
#include "txn.h"

struct tg__txn {
    bool can_roll_back;
    tg__arena_mark arena;
    int n_ops, n_tensors, n_vars, n_colls;
    int *coll_n;
};

/* Journals the map entry's previous state first, so that a put made
 * during a transaction can always be undone; false (nothing changed) when
 * the journal cannot grow. */
bool tg__map_put(tg_graph *g, tg__strmap *m, const char *key, void *val) {
    if (g->txn_depth > 0) {
        if (!tg__grow((void **)&g->undo, &g->cap_undo, g->n_undo + 1, sizeof *g->undo)) return false;
        bool existed = tg__strmap_has(m, key);
        g->undo[g->n_undo] = (tg__undo){m, key, existed ? tg__strmap_get(m, key) : NULL, existed};
        if (!tg__strmap_put(m, key, val)) return false;
        g->n_undo++;
        return true;
    }
    return tg__strmap_put(m, key, val);
}

tg__txn *tg__txn_begin(tg_graph *g) {
    if (!g || g->txn_depth++ > 0) return NULL;
    g->n_undo = 0;
    tg__txn *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    /* a cond context keeps memos of its Switches in the arena, which a
     * rollback would leave dangling: no rollback inside a branch */
    t->can_roll_back = g->cond_ctx == NULL && g->code == TG_OK;
    t->arena = tg__arena_get_mark(&g->arena);
    t->n_ops = g->n_ops;
    t->n_tensors = g->n_tensors;
    t->n_vars = g->n_vars;
    t->n_colls = g->n_colls;
    t->coll_n = malloc(((size_t)g->n_colls + 1) * sizeof *t->coll_n);
    if (!t->coll_n) t->can_roll_back = false;
    for (int i = 0; t->coll_n && i < g->n_colls; i++) t->coll_n[i] = g->colls[i].n;
    return t;
}

static void undo_maps(tg_graph *g) {
    while (g->n_undo > 0) {
        tg__undo u = g->undo[--g->n_undo];
        if (u.existed) {
            tg__strmap_put(u.map, u.key, u.old); /* the key is there: no allocation */
            continue;
        }
        const char *stored = NULL;
        if (tg__strmap_remove(u.map, u.key, &stored) && u.map == &g->names_in_use) free((char *)stored);
    }
}

static void roll_back(tg_graph *g, const tg__txn *t) {
    undo_maps(g);
    g->n_ops = t->n_ops;
    g->n_tensors = t->n_tensors;
    g->n_vars = t->n_vars;
    for (int i = t->n_colls; i < g->n_colls; i++) free(g->colls[i].items);
    g->n_colls = t->n_colls;
    for (int i = 0; i < t->n_colls; i++) g->colls[i].n = t->coll_n[i];
    tg__arena_rollback(&g->arena, t->arena);
}

void tg__txn_end(tg_graph *g, tg__txn *t) {
    if (!g || --g->txn_depth > 0) return;
    if (t && g->code != TG_OK && t->can_roll_back) roll_back(g, t);
    g->n_undo = 0;
    if (t) free(t->coll_n);
    free(t);
}
