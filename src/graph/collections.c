/* Collections: ordered, string-keyed lists of ops, tensors and variables,
 * as TF's Graph.add_to_collection / get_collection. */
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

static const char *item_name(const tg_item *it) {
    switch (it->kind) {
    case TG_ITEM_OP: return it->u.op->name;
    case TG_ITEM_TENSOR: return it->u.tensor->name;
    case TG_ITEM_VARIABLE: return it->u.variable->name;
    }
    return NULL;
}

static tg_graph *item_graph(const tg_item *it) {
    switch (it->kind) {
    case TG_ITEM_OP: return it->u.op ? it->u.op->g : NULL;
    case TG_ITEM_TENSOR: return it->u.tensor ? it->u.tensor->op->g : NULL;
    case TG_ITEM_VARIABLE: return it->u.variable ? it->u.variable->g : NULL;
    }
    return NULL;
}

static tg__collection *find(const tg_graph *g, const char *key) {
    intptr_t i = (intptr_t)tg__strmap_get(&g->coll_by_key, key);
    return i ? &g->colls[i - 1] : NULL;
}

static bool check_item(tg_graph *g, const char *key, tg_item item) {
    if (!key) {
        tg__fail(g, TG_INVALID_ARGUMENT, "add_to_collection: key is NULL");
        return false;
    }
    tg_graph *ig = item_graph(&item);
    if (!ig) {
        tg__fail(g, TG_INVALID_ARGUMENT, "add_to_collection('%s'): item is NULL or of unknown kind", key);
        return false;
    }
    if (ig != g) {
        tg__fail(g, TG_INVALID_ARGUMENT, "add_to_collection('%s'): '%s' is from another graph", key,
                 item_name(&item));
        return false;
    }
    return true;
}

static void append_item(tg_graph *g, const char *key, tg_item item);

/* A run reads UPDATE_OPS while it makes its plan: no growth meanwhile. */
static void append(tg_graph *g, const char *key, tg_item item) {
    if (!tg__build_begin(g, key)) return;
    append_item(g, key, item);
    tg__build_end(g);
}

static void append_item(tg_graph *g, const char *key, tg_item item) {
    tg__collection *c = find(g, key);
    if (!c) {
        const char *k = tg__arena_strdup(&g->arena, key);
        if (!k || !tg__grow((void **)&g->colls, &g->cap_colls, g->n_colls + 1, sizeof *g->colls) ||
            !tg__map_put(g, &g->coll_by_key, k, (void *)(intptr_t)(g->n_colls + 1))) {
            tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
            return;
        }
        c = &g->colls[g->n_colls++];
        *c = (tg__collection){.key = k};
    }
    if (!tg__grow((void **)&c->items, &c->cap, c->n + 1, sizeof *c->items)) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    c->items[c->n++] = item;
}

void tg_add_to_collection(tg_graph *g, const char *key, tg_item item) {
    if (!g || g->code != TG_OK || !check_item(g, key, item)) return;
    append(g, key, item);
}

void tg_add_to_collections(tg_graph *g, const char *const *keys, int n, tg_item item) {
    if (!g || g->code != TG_OK) return;
    for (int i = 0; i < n; i++) {
        if (!check_item(g, keys ? keys[i] : NULL, item)) return;
        bool dup = false;
        for (int j = 0; j < i && !dup; j++) dup = strcmp(keys[j], keys[i]) == 0;
        if (!dup) append(g, keys[i], item);
    }
}

/* Copies the matching items into a new array; -1 on bad arguments. */
static int snapshot(const tg_graph *g, const char *key, const char *scope, tg_item **out) {
    *out = NULL;
    if (!g || !key) return -1;
    const tg__collection *c = find(g, key);
    if (!c || c->n == 0) return 0;
    tg_item *items = malloc((size_t)c->n * sizeof *items);
    if (!items) return -1;
    int n = 0;
    size_t len = scope ? strlen(scope) : 0;
    for (int i = 0; i < c->n; i++)
        if (!scope || strncmp(item_name(&c->items[i]), scope, len) == 0) items[n++] = c->items[i];
    if (n == 0) {
        free(items);
        items = NULL;
    }
    *out = items;
    return n;
}

int tg_get_collection(const tg_graph *g, const char *key, const char *scope, tg_item **items) {
    tg_item *tmp;
    int n = snapshot(g, key, scope, &tmp);
    if (items) *items = tmp;
    else free(tmp);
    return n;
}

/* The typed getters convert each item in place: a pointer is no larger than
 * a tg_item, so the snapshot's buffer is reused for the result. */
/* Remembers the smallest snapshot of UPDATE_OPS read whole, for the
 * stale_collection lint. The graph is const to the caller, but this is a
 * record of reads, not part of the graph's value. */
static void note_read(const tg_graph *g, const char *key, const char *scope, int n) {
    if (!g || !key || scope || n < 0 || strcmp(key, TG_GRAPHKEYS_UPDATE_OPS) != 0) return;
    atomic_int *r = (atomic_int *)&g->update_ops_read;
    int m = atomic_load(r);
    while ((m < 0 || n < m) && !atomic_compare_exchange_weak(r, &m, n)) {}
}

int tg_get_collection_ops(const tg_graph *g, const char *key, const char *scope, tg_op ***ops) {
    tg_item *items;
    int n = snapshot(g, key, scope, &items);
    note_read(g, key, scope, n);
    tg_op **out = (tg_op **)items;
    for (int i = 0; i < n; i++) {
        tg_item it = items[i];
        out[i] = it.kind == TG_ITEM_OP       ? it.u.op
                 : it.kind == TG_ITEM_TENSOR ? it.u.tensor->op
                                             : it.u.variable->op;
    }
    if (ops) *ops = out;
    else free(out);
    return n;
}

int tg_get_collection_variables(const tg_graph *g, const char *key, const char *scope,
                                tg_variable ***vars) {
    tg_item *items;
    int n = snapshot(g, key, scope, &items), k = 0;
    tg_variable **out = (tg_variable **)items;
    for (int i = 0; i < n; i++) {
        tg_item it = items[i];
        if (it.kind == TG_ITEM_VARIABLE) out[k++] = it.u.variable;
    }
    if (k == 0) {
        free(items);
        out = NULL;
    }
    if (vars) *vars = out;
    else free(out);
    return n < 0 ? n : k;
}

int tg_trainable_variables(const tg_graph *g, tg_variable ***vars) {
    return tg_get_collection_variables(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, NULL, vars);
}

int tg_global_variables(const tg_graph *g, tg_variable ***vars) {
    return tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, vars);
}

int tg_local_variables(const tg_graph *g, tg_variable ***vars) {
    return tg_get_collection_variables(g, TG_GRAPHKEYS_LOCAL_VARIABLES, NULL, vars);
}

int tg_get_collection_tensors(const tg_graph *g, const char *key, const char *scope,
                              tg_tensor ***tensors) {
    tg_item *items;
    int n = snapshot(g, key, scope, &items), k = 0;
    tg_tensor **out = (tg_tensor **)items;
    for (int i = 0; i < n; i++) {
        tg_item it = items[i];
        tg_tensor *t = it.kind == TG_ITEM_TENSOR     ? it.u.tensor
                       : it.kind == TG_ITEM_VARIABLE ? it.u.variable->read
                       : it.u.op->n_outputs          ? &it.u.op->outputs[0]
                                                     : NULL;
        if (t) out[k++] = t;
    }
    if (k == 0) {
        free(items);
        out = NULL;
    }
    if (tensors) *tensors = out;
    else free(out);
    return n < 0 ? n : k;
}

int tg_graph_collection_keys(const tg_graph *g, const char ***keys) {
    if (keys) *keys = NULL;
    if (!g) return -1;
    if (g->n_colls == 0) return 0;
    const char **out = malloc((size_t)g->n_colls * sizeof *out);
    if (!out) return -1;
    for (int i = 0; i < g->n_colls; i++) out[i] = g->colls[i].key;
    if (keys) *keys = out;
    else free(out);
    return g->n_colls;
}
