/* layer.c: the tf.layers.Layer base (TF 1.15's tensorflow/python/layers/base.py
 * on top of keras/engine/base_layer.py, graph mode): layer names, the
 * variable scope chosen at first use, input specs, weights, updates and
 * losses with their collections. Queries (properties, get_updates_for,
 * inbound nodes) are in layer_query.c. Layer types plug in through
 * tg__layer_vtable (layer_internal.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_internal.h"

/* ---- small helpers ---------------------------------------------------------------- */

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static char *joinstr(const char *a, const char *sep, const char *b) {
    size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
    char *p = malloc(na + ns + nb + 1);
    if (!p) return NULL;
    memcpy(p, a, na);
    memcpy(p + na, sep, ns);
    memcpy(p + na + ns, b, nb + 1);
    return p;
}

/* Makes room for `need` elements in *p (capacity *cap). */
static bool grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return true;
    int nc = *cap ? *cap : 4;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, (size_t)nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

/* The same for a pair of arrays that share one capacity. */
static bool grow2(void **p, void **q, int *cap, int need, size_t ep, size_t eq) {
    if (need <= *cap) return true;
    int nc = *cap ? *cap : 4;
    while (nc < need) nc *= 2;
    void *a = realloc(*p, (size_t)nc * ep);
    if (!a) return false;
    *p = a;
    void *b = realloc(*q, (size_t)nc * eq);
    if (!b) return false;
    *q = b;
    *cap = nc;
    return true;
}

static bool usable(const tg_graph *g) { return g && tg_graph_status(g) == TG_OK; }

static tg_code oom(tg_graph *g) { return tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"); }

/* Sets the layer's message (queries report through it, not the graph). */
tg_code tg__layer_err(tg_layer *l, tg_code code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->message, sizeof l->message, fmt, ap);
    va_end(ap);
    return code;
}

tg_code tg__layer_ok(tg_layer *l) {
    l->message[0] = '\0';
    return TG_OK;
}

static void append(char *buf, size_t size, size_t *n, const char *s) {
    if (*n + 1 >= size) return;
    int w = snprintf(buf + *n, size - *n, "%s", s);
    if (w > 0) *n = *n + (size_t)w < size ? *n + (size_t)w : size - 1;
}

char *tg__layer_shape_list(const tg_shape *s, char *buf, size_t size) {
    if (!size) return buf;
    size_t n = 0;
    buf[0] = '\0';
    if (s->rank < 0) {
        append(buf, size, &n, "None");
        return buf;
    }
    append(buf, size, &n, "[");
    for (int i = 0; i < s->rank && i < TG_MAX_RANK; i++) {
        char d[32];
        if (s->dims[i] < 0) snprintf(d, sizeof d, "None");
        else snprintf(d, sizeof d, "%lld", (long long)s->dims[i]);
        append(buf, size, &n, i ? ", " : "");
        append(buf, size, &n, d);
    }
    append(buf, size, &n, "]");
    return buf;
}

bool tg__layer_check_padding(tg_graph *g, tg_padding *padding) {
    if (*padding == 0) *padding = TG_PADDING_VALID; /* tf.layers' padding='valid' */
    if (*padding == TG_PADDING_SAME || *padding == TG_PADDING_VALID) return true;
    tg_graph_fail(g, TG_INVALID_ARGUMENT,
                  "The `padding` argument must be one of \"valid\", \"same\" (or \"causal\", only for "
                  "`Conv1D). Received: %d",
                  (int)*padding);
    return false;
}

bool tg__layer_check_data_format(tg_graph *g, tg_data_format data_format) {
    if (data_format == TG_NHWC || data_format == TG_NCHW) return true;
    tg_graph_fail(g, TG_INVALID_ARGUMENT,
                  "The `data_format` argument must be one of \"channels_first\", \"channels_last\". "
                  "Received: %d",
                  (int)data_format);
    return false;
}

/* ---- collections without duplicates (tf.layers' _add_elements_to_collection) ---- */

static bool same_item(const tg_item *a, const tg_item *b) {
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case TG_ITEM_OP: return a->u.op == b->u.op;
    case TG_ITEM_TENSOR: return tg__same_tensor(a->u.tensor, b->u.tensor);
    case TG_ITEM_VARIABLE: return a->u.variable == b->u.variable;
    }
    return false;
}

static void add_unique(tg_graph *g, const char *key, tg_item item) {
    tg_item *items = NULL;
    int n = tg_get_collection(g, key, NULL, &items);
    if (n < 0) {
        oom(g);
        return;
    }
    bool found = false;
    for (int i = 0; i < n && !found; i++) found = same_item(&items[i], &item);
    tg_free(items);
    if (!found) tg_add_to_collection(g, key, item);
}

/* ---- construction and naming ----------------------------------------------------- */

/* TF's backend.unique_object_name(base, zero_based=False): "dense_1",
 * "dense_2", ... per graph. */
static char *unique_layer_name(tg_graph *g, const char *base, bool zero_based) {
    size_t n = strlen(base) + 24;
    char *name = malloc(n);
    if (name && tg_graph_unique_object_name(g, base, zero_based, name, n) < 0) {
        free(name);
        return NULL;
    }
    return name;
}

static void free_state(const tg__layer_vtable *vt, void *state) {
    if (!state) return;
    if (vt && vt->free_state) vt->free_state(state);
    else free(state);
}

static void layer_destroy(void *p);

tg_layer *tg__layer_new(tg_graph *g, const tg__layer_vtable *vt, void *state, const tg__layer_base_opts *opts) {
    const tg__layer_base_opts o = opts ? *opts : (tg__layer_base_opts){0};
    if (!usable(g)) {
        free_state(vt, state);
        return NULL;
    }
    if ((unsigned)o.reuse > TG_AUTO_REUSE) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "The reuse parameter must be True or False or None.");
        free_state(vt, state);
        return NULL;
    }
    bool bad_list = o.n_variable_collections < 0 || (o.n_variable_collections > 0 && !o.variable_collections);
    for (int i = 0; !bad_list && i < o.n_variable_collections; i++) bad_list = !o.variable_collections[i];
    if (bad_list || (o.keras && (o.current_scope || o.n_variable_collections))) {
        tg_graph_fail(g, TG_INTERNAL, "layer: bad variable_collections or scope options");
        free_state(vt, state);
        return NULL;
    }
    tg_layer *l = calloc(1, sizeof *l);
    if (!l) {
        oom(g);
        free_state(vt, state);
        return NULL;
    }
    l->vt = vt;
    l->state = state;
    l->g = g;
    if (o.n_variable_collections > 0) {
        l->var_collections = calloc((size_t)o.n_variable_collections, sizeof *l->var_collections);
        if (!l->var_collections) {
            oom(g);
            tg_layer_free(l);
            return NULL;
        }
        l->n_var_collections = o.n_variable_collections;
        for (int i = 0; i < o.n_variable_collections; i++)
            if (!(l->var_collections[i] = dupstr(o.variable_collections[i]))) {
                oom(g);
                tg_layer_free(l);
                return NULL;
            }
    }
    bool named = o.name && *o.name;
    l->keras = o.keras;
    l->current_scope = o.current_scope;
    l->name = named ? dupstr(o.name) : unique_layer_name(g, vt->base_name, o.keras);
    l->base_name = dupstr(named ? o.name : vt->base_name);
    l->scope_is_name = named && o.scope_is_name;
    l->reuse = o.reuse;
    l->trainable = o.trainable;
    l->activity_regularizer = o.activity_regularizer;
    l->input_spec = TG__INPUT_SPEC_NONE;
    l->dtype = TG_DTYPE_COUNT;
    if (!l->name || !l->base_name) {
        if (tg_graph_status(g) == TG_OK) oom(g);
        tg_layer_free(l);
        return NULL;
    }
    if (!tg_graph_own(g, l, layer_destroy)) {
        layer_destroy(l);
        return NULL;
    }
    return l;
}

void tg_layer_free(tg_layer *l) {
    if (!l) return;
    tg_graph_disown(l->g, l);
    layer_destroy(l);
}

/* What tg_layer_free and the owning graph release. */
static void layer_destroy(void *p) {
    tg_layer *l = p;
    free_state(l->vt, l->state);
    free(l->name);
    free(l->base_name);
    free(l->scope_name);
    free(l->name_scope);
    free(l->tw);
    free(l->ntw);
    free(l->all);
    free(l->updates);
    free(l->update_uncond);
    free(l->sym_losses);
    free(l->sym_uncond);
    free(l->reg_losses);
    free(l->losses);
    free(l->nodes);
    for (int i = 0; i < l->n_var_collections; i++) free(l->var_collections[i]);
    free(l->var_collections);
    free(l);
}

/* ---- the variable scope (TF's _set_scope and the scopes __call__ enters) ---------- */

/* Enters the layer's variable scope, choosing it the first time (TF's
 * _set_scope: variable_scope(name) for a functional name or with reuse,
 * else variable_scope(None, default_name=base)), or re-enters its original
 * name scope. Later entries do not push the variable scope again (the public
 * API cannot enter a scope by full name); tg_layer_add_variable names
 * variables relative to the current scope instead. Returns the token, or -1
 * with the error on the graph. */
static int enter_scope(tg_layer *l) {
    tg_graph *g = l->g;
    int tok = tg_scope_depth(g);
    if (l->keras) {
        /* Keras: name_scope(layer.name) at every call (uniquified); the
         * first one names the variables. */
        tg_name_scope_push(g, l->name);
        if (!l->scope_name && tg_graph_status(g) == TG_OK) {
            l->name_scope = dupstr(tg_graph_name_scope(g));
            l->scope_name = l->name_scope ? dupstr(l->name_scope) : NULL;
            if (!l->scope_name) oom(g);
            else l->scope_name[strlen(l->scope_name) - 1] = '\0';
        }
    } else if (!l->scope_name) {
        /* with current_scope (TF's _scope=sc) the caller's scope is the
         * layer's: entered already, nothing to push */
        if (!l->current_scope && (l->scope_is_name || l->reuse != TG_REUSE_INHERIT))
            tg_variable_scope_push(g, l->base_name, &(tg_variable_scope_opts){.reuse = l->reuse});
        else if (!l->current_scope)
            tg_variable_scope_push(g, NULL, &(tg_variable_scope_opts){.default_name = l->base_name});
        if (tg_graph_status(g) == TG_OK) {
            l->scope_name = dupstr(tg_variable_scope_name(g));
            l->name_scope = dupstr(tg_graph_name_scope(g));
            if (!l->scope_name || !l->name_scope) oom(g);
        }
    } else {
        tg_name_scope_push(g, l->name_scope); /* ends with '/': entered exactly */
    }
    if (tg_graph_status(g) != TG_OK) {
        tg_scope_pop(g, tok);
        return -1;
    }
    l->in_scope++;
    return tok;
}

static void leave_scope(tg_layer *l, int tok) {
    l->in_scope--;
    tg_scope_pop(l->g, tok);
}

/* The name that makes tg_get_variable create "<layer scope>/<name>" from the
 * current variable scope; NULL when the layer scope is not under it. */
static char *relative_var_name(const tg_layer *l, const char *name) {
    const char *cur = tg_variable_scope_name(l->g), *sc = l->scope_name;
    size_t n = strlen(cur);
    const char *rest;
    if (strcmp(cur, sc) == 0) rest = "";
    else if (n == 0) rest = sc;
    else if (strncmp(sc, cur, n) == 0 && sc[n] == '/') rest = sc + n + 1;
    else return NULL;
    return *rest ? joinstr(rest, "/", name) : dupstr(name);
}

/* ---- weights, updates, losses ------------------------------------------------------ */

static bool rebuild_all(tg_layer *l) {
    int n = l->n_tw + l->n_ntw;
    if (!grow((void **)&l->all, &l->cap_all, n, sizeof *l->all)) return false;
    if (l->n_tw) memcpy(l->all, l->tw, (size_t)l->n_tw * sizeof *l->all);
    if (l->n_ntw) memcpy(l->all + l->n_tw, l->ntw, (size_t)l->n_ntw * sizeof *l->all);
    return true;
}

static bool track_variable(tg_layer *l, tg_variable *v, bool trainable) {
    if (trainable) {
        if (!grow((void **)&l->tw, &l->cap_tw, l->n_tw + 1, sizeof *l->tw)) return false;
        l->tw[l->n_tw++] = v;
    } else {
        if (!grow((void **)&l->ntw, &l->cap_ntw, l->n_ntw + 1, sizeof *l->ntw)) return false;
        l->ntw[l->n_ntw++] = v;
    }
    return rebuild_all(l);
}

static bool rebuild_losses(tg_layer *l) {
    int n = l->n_sym + l->n_reg;
    if (!grow((void **)&l->losses, &l->cap_losses, n, sizeof *l->losses)) return false;
    if (l->n_sym) memcpy(l->losses, l->sym_losses, (size_t)l->n_sym * sizeof *l->losses);
    if (l->n_reg) memcpy(l->losses + l->n_sym, l->reg_losses, (size_t)l->n_reg * sizeof *l->losses);
    return true;
}

/* A loss of the layer (TF's legacy add_loss): listed, and added to
 * REGULARIZATION_LOSSES once. */
static void add_sym_loss(tg_layer *l, tg_tensor *loss, bool unconditional) {
    if (!grow2((void **)&l->sym_losses, (void **)&l->sym_uncond, &l->cap_sym, l->n_sym + 1, sizeof *l->sym_losses,
               sizeof *l->sym_uncond)) {
        oom(l->g);
        return;
    }
    l->sym_losses[l->n_sym] = loss;
    l->sym_uncond[l->n_sym++] = unconditional;
    if (!rebuild_losses(l)) {
        oom(l->g);
        return;
    }
    if (!l->keras) add_unique(l->g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, TG_ITEM_OF_TENSOR(loss));
}

/* TF's _handle_weight_regularization: the term in name scope
 * "<name>/Regularizer" under the layer's name scope, kept with the weight
 * regularizer losses (unconditional) and added to REGULARIZATION_LOSSES. */
static void regularize(tg_layer *l, const char *name, tg_variable *v, const tg_regularizer *r) {
    tg_graph *g = l->g;
    char *scope = joinstr(name, "/", "Regularizer");
    if (!scope) {
        oom(g);
        return;
    }
    tg_tensor *loss = NULL;
    TG_WITH_NAME_SCOPE(g, scope) { loss = r->fn(g, tg_variable_value(v), r); }
    free(scope);
    if (!loss || tg_graph_status(g) != TG_OK) return;
    if (!grow((void **)&l->reg_losses, &l->cap_reg, l->n_reg + 1, sizeof *l->reg_losses)) {
        oom(g);
        return;
    }
    l->reg_losses[l->n_reg++] = loss;
    if (!rebuild_losses(l)) {
        oom(g);
        return;
    }
    if (!l->keras) add_unique(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, TG_ITEM_OF_TENSOR(loss));
}

tg_variable *tg_layer_add_variable(tg_layer *l, const char *name, tg_dtype dtype, tg_shape shape,
                                   const tg_layer_add_variable_opts *opts) {
    if (!l || !usable(l->g)) return NULL;
    tg_graph *g = l->g;
    if (!name || !*name) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Layer %s: add_variable needs a variable name", l->name);
        return NULL;
    }
    tg_layer_add_variable_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_layer_add_variable", tg_layer_add_variable_opts, TG_LAYER_ADD_VARIABLE_OPTS_INIT,
                          opts, o))
        return NULL;
    int tok = -1;
    if (!l->in_scope && (tok = enter_scope(l)) < 0) return NULL;
    if (!l->has_dtype) { /* Keras infers the layer's dtype from its first weight */
        l->has_dtype = true;
        l->dtype = dtype;
    }
    tg_variable *v = NULL;
    char *rel = l->keras ? NULL : relative_var_name(l, name);
    char *full = joinstr(l->scope_name, "/", name);
    if (l->keras) {
        /* Keras' add_weight: a tf.Variable named in the current name scope */
        bool trainable = o.trainable && l->trainable;
        TG_OPTS(tg_get_variable_opts, vo, .initializer = o.initializer, .trainable = trainable,
                .constraint = o.constraint);
        v = tg_variable_new(g, name, dtype, shape, &vo);
        if (v && !track_variable(l, v, trainable)) oom(g);
        if (v && o.regularizer.fn && tg_graph_status(g) == TG_OK) regularize(l, name, v, &o.regularizer);
    } else if (!full) {
        oom(g);
    } else if (!rel) {
        tg_graph_fail(g, TG_UNIMPLEMENTED,
                      "Layer %s: cannot create %s from variable scope '%s': the layer's scope was chosen "
                      "elsewhere and re-entering a variable scope by its full name is not in the public API",
                      l->name, full, tg_variable_scope_name(g));
    } else {
        bool existed = tg_graph_variable(g, full) != NULL;
        bool trainable = o.trainable && l->trainable;
        TG_OPTS(tg_get_variable_opts, vo, .initializer = o.initializer, .trainable = trainable,
                .constraint = o.constraint, .reuse = l->built ? TG_REUSE_TRUE : l->reuse);
        /* GLOBAL_VARIABLES and the extra collections (an enclosing custom
         * getter's); get_variable adds TRAINABLE_VARIABLES itself. */
        const char **keys = NULL;
        if (l->n_var_collections > 0) {
            keys = malloc((size_t)(l->n_var_collections + 1) * sizeof *keys);
            if (!keys) {
                free(rel);
                free(full);
                oom(g);
                if (tok >= 0) leave_scope(l, tok);
                return NULL;
            }
            keys[0] = TG_GRAPHKEYS_GLOBAL_VARIABLES;
            for (int i = 0; i < l->n_var_collections; i++) keys[i + 1] = l->var_collections[i];
            vo.collections = keys;
            vo.n_collections = l->n_var_collections + 1;
        }
        v = tg_get_variable(g, rel, dtype, shape, &vo);
        free(keys);
        /* A variable that exists as non-trainable stays out of
         * trainable_weights, as TF's legacy add_weight moves it. */
        if (v && !track_variable(l, v, trainable && tg_variable_trainable(v))) oom(g);
        if (v && o.regularizer.fn && !existed && tg_graph_status(g) == TG_OK) regularize(l, name, v, &o.regularizer);
    }
    free(rel);
    free(full);
    if (tok >= 0) leave_scope(l, tok);
    return tg_graph_status(g) == TG_OK ? v : NULL;
}

/* Is the update reachable from the inputs TF 1.15 calls relevant: the
 * current call's, else those of every inbound node? -1 when out of memory. */
static int update_is_conditional(tg_layer *l, tg_op *update) {
    if (!l->call_inputs && !l->n_nodes) return 0;
    int n = l->call_inputs ? 1 : l->n_nodes;
    tg_tensor **xs = malloc((size_t)n * sizeof *xs);
    if (!xs) return -1;
    for (int i = 0; i < n; i++) xs[i] = l->call_inputs ? l->call_inputs : l->nodes[i].input;
    tg__ptrset reach = {0};
    int r = tg__layer_reachable_ops(l->g, xs, n, &reach) ? tg__ptrset_has(&reach, update) : -1;
    free(reach.keys);
    free(xs);
    return r;
}

/* Shared checks of add_update / add_loss: returns TG_OK to go on. */
static tg_code check_graph_item(tg_layer *l, const void *item, tg_graph *item_graph, const char *what) {
    if (!usable(l->g)) return tg__layer_err(l, tg_graph_status(l->g), "%s", tg_graph_message(l->g));
    if (!item) return tg__layer_err(l, TG_INVALID_ARGUMENT, "Layer %s: %s is NULL", l->name, what);
    if (item_graph != l->g) {
        tg_graph_fail(l->g, TG_INVALID_ARGUMENT, "Layer %s: the %s is from another graph", l->name, what);
        return tg__layer_err(l, TG_INVALID_ARGUMENT, "%s", tg_graph_message(l->g));
    }
    return TG_OK;
}

tg_code tg_layer_add_update(tg_layer *l, tg_op *update) {
    if (!l) return TG_INVALID_ARGUMENT;
    tg_code c = check_graph_item(l, update, update ? tg_op_graph(update) : NULL, "update");
    if (c != TG_OK) return c;
    int cond = update_is_conditional(l, update);
    if (cond < 0 || !grow2((void **)&l->updates, (void **)&l->update_uncond, &l->cap_updates, l->n_updates + 1,
                           sizeof *l->updates, sizeof *l->update_uncond)) {
        oom(l->g);
        return tg__layer_err(l, TG_RESOURCE_EXHAUSTED, "out of memory");
    }
    l->updates[l->n_updates] = update;
    l->update_uncond[l->n_updates++] = !cond;
    return tg__layer_ok(l);
}

tg_code tg_layer_add_loss(tg_layer *l, tg_tensor *loss, tg_tensor *const *inputs, int n) {
    if (!l) return TG_INVALID_ARGUMENT;
    tg_code c = check_graph_item(l, loss, loss ? tg_op_graph(tg_tensor_op(loss)) : NULL, "loss");
    if (c != TG_OK) return c;
    if (n < 0 || (n > 0 && !inputs)) return tg__layer_err(l, TG_INVALID_ARGUMENT, "Layer %s: bad inputs list", l->name);
    add_sym_loss(l, loss, n == 0);
    if (tg_graph_status(l->g) != TG_OK) return tg__layer_err(l, tg_graph_status(l->g), "%s", tg_graph_message(l->g));
    return tg__layer_ok(l);
}

/* ---- apply --------------------------------------------------------------------------- */

/* TF's input_spec.assert_input_compatibility for input 0. */
static bool check_input(tg_layer *l, tg_tensor *x) {
    const tg__input_spec *sp = &l->input_spec;
    tg_graph *g = l->g;
    tg_shape s = tg_tensor_shape(x);
    char shape[256];
    tg__layer_shape_list(&s, shape, sizeof shape);
#define INCOMPATIBLE "Input 0 of layer %s is incompatible with the layer: "
    if ((sp->ndim >= 0 || sp->min_ndim >= 0 || sp->max_ndim >= 0) && s.rank < 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, INCOMPATIBLE "its rank is undefined, but the layer requires a defined rank.",
                      l->name);
        return false;
    }
    if (sp->ndim >= 0 && s.rank != sp->ndim) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, INCOMPATIBLE "expected ndim=%d, found ndim=%d. Full shape received: %s",
                      l->name, sp->ndim, s.rank, shape);
        return false;
    }
    if (sp->max_ndim >= 0 && s.rank > sp->max_ndim) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, INCOMPATIBLE "expected max_ndim=%d, found ndim=%d", l->name,
                      sp->max_ndim, s.rank);
        return false;
    }
    if (sp->min_ndim >= 0 && s.rank >= 0 && s.rank < sp->min_ndim) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      INCOMPATIBLE "expected min_ndim=%d, found ndim=%d. Full shape received: %s", l->name,
                      sp->min_ndim, s.rank, shape);
        return false;
    }
    for (int i = 0; i < sp->n_axes && s.rank >= 0; i++) {
        int a = sp->axes[i] < 0 ? sp->axes[i] + s.rank : sp->axes[i];
        int64_t d = a >= 0 && a < s.rank ? s.dims[a] : -2;
        if (d == -1 || d == sp->axis_values[i]) continue;
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      INCOMPATIBLE "expected axis %d of input shape to have value %lld but received input with "
                                   "shape %s",
                      l->name, sp->axes[i], (long long)sp->axis_values[i], shape);
        return false;
    }
#undef INCOMPATIBLE
    return true;
}

/* Keras' _handle_activity_regularization: regularizer(output) / batch size,
 * in name scope "ActivityRegularizer", a loss conditional on the inputs. */
static void activity_regularize(tg_layer *l, tg_tensor *y) {
    tg_graph *g = l->g;
    tg_tensor *loss = NULL;
    TG_WITH_NAME_SCOPE(g, "ActivityRegularizer") {
        tg_tensor *a = l->activity_regularizer.fn(g, y, &l->activity_regularizer);
        if (a) {
            tg_tensor *b = tg_slice(g, tg_shape_of(g, y, NULL), (int64_t[]){0}, (int64_t[]){1}, 1, NULL);
            b = tg_cast(g, tg_reshape(g, b, TG_SCALAR, NULL), tg_tensor_dtype(a), NULL);
            loss = tg_divide(g, a, b, "truediv");
        }
    }
    if (loss && tg_graph_status(g) == TG_OK) add_sym_loss(l, loss, false);
}

static bool in_graph(tg_graph *g, const tg_tensor *t) { return !t || tg_op_graph(tg_tensor_op(t)) == g; }

static tg_tensor *apply(tg_layer *l, tg_tensor *x, tg__layer_training tr) {
    if (!l || !usable(l->g) || !x) return NULL;
    tg_graph *g = l->g;
    if (!in_graph(g, x) || !in_graph(g, tr.tensor)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Layer %s: %s is from another graph", l->name,
                      in_graph(g, x) ? "the training tensor" : "the input");
        return NULL;
    }
    if (!check_input(l, x)) return NULL;
    int tok = enter_scope(l);
    if (tok < 0) return NULL;
    if (!l->built) {
        if (!l->has_dtype) { /* tf.layers infer the dtype from the first input */
            l->has_dtype = true;
            l->dtype = tg_tensor_dtype(x);
        }
        tg_code c = l->vt->build ? l->vt->build(l, tg_tensor_shape(x)) : TG_OK;
        l->built = c == TG_OK && tg_graph_status(g) == TG_OK;
    }
    tg_tensor *y = NULL;
    if (l->built) {
        tg_tensor *outer = l->call_inputs;
        l->call_inputs = x;
        y = l->vt->call(l, x, tr);
        l->call_inputs = outer;
        if (y && l->activity_regularizer.fn && tg_graph_status(g) == TG_OK) activity_regularize(l, y);
    }
    leave_scope(l, tok);
    if (!y || tg_graph_status(g) != TG_OK) return NULL;
    if (!grow((void **)&l->nodes, &l->cap_nodes, l->n_nodes + 1, sizeof *l->nodes)) {
        oom(g);
        return NULL;
    }
    l->nodes[l->n_nodes++] = (tg__layer_node){x, y, tg_tensor_shape(x), tg_tensor_shape(y)};
    /* tf.layers' __call__ ends with UPDATE_OPS += layer.updates (once each);
     * Keras layers keep them to themselves */
    tg_op *const *ups = NULL;
    for (int i = 0, n = l->keras ? 0 : tg_layer_updates(l, &ups); i < n; i++)
        add_unique(g, TG_GRAPHKEYS_UPDATE_OPS, TG_ITEM_OF_OP(ups[i]));
    return tg_graph_status(g) == TG_OK ? y : NULL;
}

tg_tensor *tg_layer_apply(tg_layer *l, tg_tensor *inputs, tg_tensor *training) {
    return apply(l, inputs, (tg__layer_training){.tensor = training, .unset = !training});
}

tg_tensor *tg_layer_call(tg_layer *l, tg_tensor *inputs, const tg_layer_call_opts *opts) {
    tg_layer_call_opts o;
    if (!l || !TG__OPTS_RESOLVE(l->g, "tg_layer_call", tg_layer_call_opts, TG_LAYER_CALL_OPTS_INIT, opts, o))
        return NULL;
    if ((unsigned)o.training > TG_OPT_NONE) {
        tg_graph_fail(l->g, TG_INVALID_ARGUMENT, "tg_layer_call: option 'training' has the invalid value %d",
                      (int)o.training);
        return NULL;
    }
    return apply(l, inputs,
                 (tg__layer_training){.tensor = o.training_t,
                                      .value = o.training == TG_OPT_TRUE,
                                      .unset = !o.training_t && o.training == TG_OPT_NONE});
}

tg_tensor *tg__layer_apply_once(tg_layer *l, tg_tensor *inputs, tg__layer_training training) {
    tg_tensor *y = apply(l, inputs, training);
    tg_layer_free(l);
    return y;
}

tg_code tg_layer_build(tg_layer *l, tg_shape input_shape) {
    if (!l) return TG_INVALID_ARGUMENT;
    tg_graph *g = l->g;
    if (!usable(g)) return tg_graph_status(g);
    if (l->built) return TG_OK;
    int tok = enter_scope(l);
    if (tok < 0) return tg_graph_status(g);
    if (!l->has_dtype) { /* legacy add_weight: self.dtype or float32 */
        l->has_dtype = true;
        l->dtype = TG_FLOAT32;
    }
    tg_code c = l->vt->build ? l->vt->build(l, input_shape) : TG_OK;
    l->built = c == TG_OK && tg_graph_status(g) == TG_OK;
    leave_scope(l, tok);
    return tg_graph_status(g);
}
