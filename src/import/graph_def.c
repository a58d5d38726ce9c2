/* tf.import_graph_def: a GraphDef's nodes into a tgraph graph, in
 * dependency order, each through its op type's builder (op_table.c). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "strmap.h"
#include "txn.h"

#define WHO "tg_import_graph_def"

/* An input reference "name", "name:3" or "^name", parsed in place of a
 * copy: name points into the original, len is its length. */
typedef struct ref {
    const char *name;
    size_t len;
    int index; /* -1 for a control input */
} ref;

typedef struct importer {
    tg_graph *g;
    const Tensorflow__GraphDef *gd;
    const char *prefix; /* "import/" or "" */
    const tg_input_map_entry *map;
    int n_map;
    tg__strmap by_name; /* node name -> index + 1 */
    tg_op **ops;        /* per node, once built */
    int *used;          /* per node: outputs the GraphDef refers to */
    int *order;
    tg_op **var_ops;
    int n_var_ops;
} importer;

static tg_code fail(importer *im, tg_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static tg_code fail(importer *im, tg_code code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tg_graph_fail(im->g, code, WHO ": %s", msg);
}

static bool parse_ref(const char *s, ref *r) {
    r->index = 0;
    if (*s == '^') {
        r->index = -1;
        s++;
    }
    r->name = s;
    const char *colon = strchr(s, ':');
    r->len = colon ? (size_t)(colon - s) : strlen(s);
    if (!colon) return r->len > 0;
    if (r->index < 0 || !colon[1]) return false;
    long v = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > 1000000) return false;
        v = v * 10 + (*p - '0');
    }
    r->index = (int)v;
    return r->len > 0;
}

/* The node a reference names: its index, or -1. */
static int node_of(const importer *im, const ref *r) {
    char name[512];
    if (r->len >= sizeof name) return -1;
    memcpy(name, r->name, r->len);
    name[r->len] = '\0';
    return (int)(intptr_t)tg__strmap_get(&im->by_name, name) - 1;
}

static bool same_ref(const ref *a, const ref *b) {
    return a->index == b->index && a->len == b->len && memcmp(a->name, b->name, a->len) == 0;
}

/* The input_map tensor that replaces r, or NULL. */
static tg_tensor *mapped(const importer *im, const ref *r) {
    for (int i = 0; i < im->n_map; i++) {
        ref m;
        if (parse_ref(im->map[i].name, &m) && same_ref(&m, r)) return im->map[i].tensor;
    }
    return NULL;
}

static bool index_nodes(importer *im) {
    for (size_t i = 0; i < im->gd->n_node; i++) {
        const char *name = im->gd->node[i]->name;
        if (!*name) return fail(im, TG_INVALID_ARGUMENT, "node %zu has no name", i), false;
        if (tg__strmap_has(&im->by_name, name))
            return fail(im, TG_INVALID_ARGUMENT, "node %s appears twice in the GraphDef", name), false;
        if (!tg__strmap_put(&im->by_name, name, (void *)(intptr_t)(i + 1)))
            return fail(im, TG_RESOURCE_EXHAUSTED, "out of memory"), false;
    }
    return true;
}

/* Every input names a node; counts the outputs each node must have. */
static bool check_inputs(importer *im) {
    for (size_t i = 0; i < im->gd->n_node; i++) {
        const Tensorflow__NodeDef *n = im->gd->node[i];
        for (size_t k = 0; k < n->n_input; k++) {
            ref r;
            int src = parse_ref(n->input[k], &r) ? node_of(im, &r) : -1;
            if (src < 0) return fail(im, TG_INVALID_ARGUMENT, "node %s: input '%s' names no node", n->name, n->input[k]), false;
            if (r.index >= im->used[src]) im->used[src] = r.index + 1;
        }
    }
    for (int i = 0; i < im->n_map; i++) {
        ref r;
        if (!im->map[i].name || !im->map[i].tensor || !parse_ref(im->map[i].name, &r) || node_of(im, &r) < 0)
            return fail(im, TG_INVALID_ARGUMENT, "Attempted to map inputs that were not found in graph_def: [%s]",
                        im->map[i].name ? im->map[i].name : "(null)"),
                   false;
    }
    return true;
}

/* The node an input edge waits for: -1 when input_map replaces it. */
static int edge_source(const importer *im, const char *input) {
    ref r;
    parse_ref(input, &r);
    return r.index >= 0 && mapped(im, &r) ? -1 : node_of(im, &r);
}

/* Kahn's algorithm over the input edges: TF's GraphDefs list nodes in any
 * order. A node left over waits on a cycle. */
static bool sort_nodes(importer *im) {
    int n = (int)im->gd->n_node, head = 0, tail = 0;
    int *pending = calloc((size_t)n + 1, sizeof *pending), *start = calloc((size_t)n + 1, sizeof *start);
    int n_edges = 0;
    for (int i = 0; i < n; i++) n_edges += (int)im->gd->node[i]->n_input;
    int *users = malloc(((size_t)n_edges + 1) * sizeof *users);
    bool ok = pending && start && users;
    for (int i = 0; ok && i < n; i++)
        for (size_t k = 0; k < im->gd->node[i]->n_input; k++) {
            int s = edge_source(im, im->gd->node[i]->input[k]);
            if (s >= 0) start[s + 1]++, pending[i]++;
        }
    for (int i = 0; ok && i < n; i++) start[i + 1] += start[i];
    int *fill = ok ? calloc((size_t)n + 1, sizeof *fill) : NULL;
    ok = ok && fill;
    for (int i = 0; ok && i < n; i++)
        for (size_t k = 0; k < im->gd->node[i]->n_input; k++) {
            int s = edge_source(im, im->gd->node[i]->input[k]);
            if (s >= 0) users[start[s] + fill[s]++] = i;
        }
    for (int i = 0; ok && i < n; i++)
        if (!pending[i]) im->order[tail++] = i;
    while (ok && head < tail) {
        int s = im->order[head++];
        for (int e = start[s]; e < start[s + 1]; e++)
            if (--pending[users[e]] == 0) im->order[tail++] = users[e];
    }
    if (!ok) fail(im, TG_RESOURCE_EXHAUSTED, "out of memory");
    for (int i = 0; ok && tail < n && i < n; i++)
        if (pending[i]) {
            fail(im, TG_INVALID_ARGUMENT, "node %s is on a cycle or depends on one (loops are not supported)",
                 im->gd->node[i]->name);
            ok = false;
        }
    free(pending), free(start), free(users), free(fill);
    return ok;
}

/* The tensor a data input names: the input_map's, or the built node's
 * output (which must exist: an unsupported node has as many as are used). */
static tg_tensor *input_tensor(importer *im, const Tensorflow__NodeDef *n, const char *input) {
    ref r;
    parse_ref(input, &r);
    tg_tensor *t = mapped(im, &r);
    if (t) return t;
    tg_op *src = im->ops[node_of(im, &r)];
    if (r.index < tg_op_num_outputs(src)) return tg_op_output(src, r.index);
    fail(im, TG_INVALID_ARGUMENT, "node %s: input '%s' names output %d of %s, which has %d", n->name, input, r.index,
         tg_op_name(src), tg_op_num_outputs(src));
    return NULL;
}

/* Splits the node's inputs into data tensors and control ops. */
static bool gather_inputs(importer *im, const Tensorflow__NodeDef *n, tg_tensor **in, int *n_in, tg_op **ctl,
                          int *n_ctl) {
    *n_in = *n_ctl = 0;
    for (size_t k = 0; k < n->n_input; k++) {
        if (n->input[k][0] == '^') {
            ref r;
            parse_ref(n->input[k], &r);
            ctl[(*n_ctl)++] = im->ops[node_of(im, &r)];
        } else if (!(in[(*n_in)++] = input_tensor(im, n, n->input[k]))) {
            return false;
        }
    }
    return true;
}

/* A builder's own error, prefixed with the node it came from. */
static void name_node_in_error(importer *im, const Tensorflow__NodeDef *n) {
    const char *msg = tg_graph_message(im->g);
    if (!msg || strncmp(msg, WHO, strlen(WHO)) == 0) return;
    tg_code code = tg_graph_status(im->g);
    char copy[512];
    snprintf(copy, sizeof copy, "%s", msg);
    tg_graph_clear_status(im->g);
    fail(im, code, "node %s (%s): %s", n->name, n->op, copy);
}

static tg_op *build_node(importer *im, tgi_node_ctx *c) {
    const Tensorflow__NodeDef *n = c->node;
    int want = -1;
    tgi_build_fn build = tgi_builder(n->op, &want);
    if (build && want >= 0 && want != c->n_in) {
        fail(im, TG_INVALID_ARGUMENT, "node %s: op type %s takes %d inputs, got %d", n->name, n->op, want, c->n_in);
        return NULL;
    }
    tg_op *op = build ? build(c) : NULL;
    if (!op && tg_graph_status(im->g) == TG_OK) op = tgi_unsupported_node(c, c->unsupported);
    if (!op) name_node_in_error(im, n);
    return op;
}

static bool import_node(importer *im, int i) {
    const Tensorflow__NodeDef *n = im->gd->node[i];
    size_t cap = n->n_input ? n->n_input : 1;
    tg_tensor **in = malloc(cap * sizeof *in);
    tg_op **ctl = malloc(cap * sizeof *ctl);
    char *name = malloc(strlen(im->prefix) + strlen(n->name) + 2);
    int n_in = 0, n_ctl = 0;
    bool ok = in && ctl && name;
    if (!ok) fail(im, TG_RESOURCE_EXHAUSTED, "out of memory");
    ok = ok && gather_inputs(im, n, in, &n_in, ctl, &n_ctl);
    if (ok) {
        /* the trailing '/' asks the builders for this exact name */
        sprintf(name, "%s%s/", im->prefix, n->name);
        tgi_node_ctx c = {.g = im->g, .node = n, .in = in, .n_in = n_in, .name = name, .n_used_outputs = im->used[i]};
        int tok = n_ctl ? tg_control_dependencies_push(im->g, ctl, n_ctl) : 0;
        im->ops[i] = build_node(im, &c);
        if (n_ctl) tg_scope_pop(im->g, tok);
        ok = im->ops[i] != NULL;
        if (ok && strcmp(n->op, "VariableV2") == 0 && !tgi_is_unsupported(im->ops[i]))
            im->var_ops[im->n_var_ops++] = im->ops[i];
    }
    free(in), free(ctl), free(name);
    return ok;
}

/* The variable of an imported VariableV2: its initializer is the Assign
 * that writes into it, its value the "<var>/read" Identity (what
 * tf.Variable makes); the reference itself when there is none. */
static tg_variable *adopt_variable(importer *im, tg_op *vop, int n_ops_before) {
    tg_variable *v = tg__graph_alloc(im->g, sizeof *v);
    if (!v) return NULL;
    memset(v, 0, sizeof *v);
    tg_tensor *ref = tg_op_output(vop, 0);
    *v = (tg_variable){.g = im->g, .name = tg_op_name(vop), .dtype = tg_tensor_dtype(ref),
                       .shape = tg_tensor_shape(ref), .trainable = false, .op = vop, .read = ref};
    size_t len = strlen(v->name);
    for (int i = n_ops_before; i < tg_graph_num_ops(im->g); i++) {
        tg_op *op = tg_graph_op_at(im->g, i);
        if (tg_op_num_inputs(op) < 1 || tg_op_input(op, 0) != ref) continue;
        const char *name = tg_op_name(op);
        if (!v->initializer && strcmp(tg_op_type(op), "Assign") == 0) {
            v->initializer = op;
            v->initial_value = tg_op_input(op, 1);
        } else if (strcmp(tg_op_type(op), "Identity") == 0 && strncmp(name, v->name, len) == 0 &&
                   strcmp(name + len, "/read") == 0) {
            v->read = tg_op_output(op, 0);
        }
    }
    if (!tg__register_variable(im->g, v, NULL)) return NULL;
    tg_add_to_collection(im->g, TG_GRAPHKEYS_GLOBAL_VARIABLES, TG_ITEM_OF_VARIABLE(v));
    return v;
}

static bool adopt_variables(importer *im, int n_ops_before, tg_variable **vars) {
    for (int i = 0; i < im->n_var_ops; i++)
        if (!(vars[i] = adopt_variable(im, im->var_ops[i], n_ops_before)))
            return fail(im, TG_RESOURCE_EXHAUSTED, "out of memory"), false;
    return tg_graph_status(im->g) == TG_OK;
}

static bool return_elements(importer *im, const char *const *names, int n, tg_import_element *out) {
    for (int i = 0; i < n; i++) {
        ref r;
        int k = names[i] && parse_ref(names[i], &r) && r.index >= 0 ? node_of(im, &r) : -1;
        bool tensor = k >= 0 && strchr(names[i], ':') != NULL;
        if (k < 0 || (tensor && r.index >= tg_op_num_outputs(im->ops[k])))
            return fail(im, TG_INVALID_ARGUMENT, "Requested return_element %s not found in graph_def",
                        names[i] ? names[i] : "(null)"),
                   false;
        out[i] = (tg_import_element){im->ops[k], tensor ? tg_op_output(im->ops[k], r.index) : NULL};
    }
    return true;
}

static bool prepare(importer *im, const char *name) {
    size_t n = im->gd->n_node ? im->gd->n_node : 1;
    im->ops = calloc(n, sizeof *im->ops);
    im->used = calloc(n, sizeof *im->used);
    im->order = calloc(n, sizeof *im->order);
    im->var_ops = calloc(n, sizeof *im->var_ops);
    char *prefix = malloc(strlen(name) + 2);
    im->prefix = prefix;
    if (!im->ops || !im->used || !im->order || !im->var_ops || !prefix)
        return fail(im, TG_RESOURCE_EXHAUSTED, "out of memory"), false;
    sprintf(prefix, *name ? "%s/" : "%s", name);
    return index_nodes(im) && check_inputs(im) && sort_nodes(im);
}

static bool run_import(importer *im, const char *const *ret, int n_ret, tg_import_element *returned,
                       tg_variable ***vars, int *n_vars) {
    int before = tg_graph_num_ops(im->g);
    for (size_t k = 0; k < im->gd->n_node; k++)
        if (!import_node(im, im->order[k])) return false;
    tg_variable **v = malloc(((size_t)im->n_var_ops + 1) * sizeof *v);
    if (!v) return fail(im, TG_RESOURCE_EXHAUSTED, "out of memory"), false;
    bool ok = adopt_variables(im, before, v) && return_elements(im, ret, n_ret, returned);
    if (ok && vars) {
        *vars = v;
        *n_vars = im->n_var_ops;
    } else {
        free(v);
    }
    return ok;
}

tg_code tgi_import(tg_graph *g, const Tensorflow__GraphDef *gd, const char *name, const tg_input_map_entry *input_map,
                   int n_input_map, const char *const *ret, int n_ret, tg_import_element *returned,
                   tg_variable ***vars, int *n_vars) {
    importer im = {.g = g, .gd = gd, .map = input_map, .n_map = n_input_map};
    if (vars) *vars = NULL, *n_vars = 0;
    tg__txn *t = tg__txn_begin(g);
    if (prepare(&im, name ? name : "import")) run_import(&im, ret, n_ret, returned, vars, n_vars);
    tg__txn_end(g, t);
    tg__strmap_free(&im.by_name);
    free(im.ops), free(im.used), free(im.order), free(im.var_ops), free((char *)im.prefix);
    if (tg_graph_status(g) != TG_OK && vars) free(*vars), *vars = NULL, *n_vars = 0;
    return tg_graph_status(g);
}

tg_code tg_import_graph_def(tg_graph *g, const void *data, size_t len, const char *name,
                            const tg_input_map_entry *input_map, int n_input_map,
                            const char *const *return_elements, int n_return_elements,
                            tg_import_element *returned) {
    if (!tg__graph_ready(g, NULL, 0)) return g ? tg_graph_status(g) : TG_INVALID_ARGUMENT;
    if ((!data && len) || n_input_map < 0 || (n_input_map && !input_map) || n_return_elements < 0 ||
        (n_return_elements && (!return_elements || !returned)))
        return tg_graph_fail(g, TG_INVALID_ARGUMENT, WHO ": NULL list with a count, or a negative count");
    Tensorflow__GraphDef *gd = tensorflow__graph_def__unpack(NULL, len, data);
    if (!gd) return tg_graph_fail(g, TG_INVALID_ARGUMENT, WHO ": the bytes are not a serialized GraphDef");
    tg_code rc = tgi_import(g, gd, name, input_map, n_input_map, return_elements, n_return_elements, returned, NULL,
                            NULL);
    tensorflow__graph_def__free_unpacked(gd, NULL);
    return rc;
}
