/* layer_query.c: what a tf.layers Layer reports once built or called: its
 * properties and weights, the updates and losses that depend on given
 * inputs (get_updates_for / get_losses_for, through forward reachability
 * as TF's tf_utils.get_reachable_from_inputs), its parameter count and the
 * inbound nodes behind input/output and their shapes. */
#include <stdlib.h>
#include <string.h>

#include "layer_internal.h"

/* ---- reachability (TF's tf_utils.get_reachable_from_inputs) ------------------------ */

static size_t ptr_hash(const void *p, size_t cap) {
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return (size_t)x & (cap - 1);
}

bool tg__ptrset_has(const tg__ptrset *s, const void *p) {
    if (!s->cap) return false;
    for (size_t i = ptr_hash(p, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (!s->keys[i]) return false;
        if (s->keys[i] == p) return true;
    }
}

static bool set_add(tg__ptrset *s, const void *p) {
    if (2 * (s->n + 1) > s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        const void **nk = calloc(nc, sizeof *nk);
        if (!nk) return false;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->keys[i]) continue;
            size_t j = ptr_hash(s->keys[i], nc);
            while (nk[j]) j = (j + 1) & (nc - 1);
            nk[j] = s->keys[i];
        }
        free(s->keys);
        s->keys = nk;
        s->cap = nc;
    }
    size_t i = ptr_hash(p, s->cap);
    while (s->keys[i] && s->keys[i] != p) i = (i + 1) & (s->cap - 1);
    if (!s->keys[i]) {
        s->keys[i] = p;
        s->n++;
    }
    return true;
}

bool tg__layer_is_input(const tg_tensor *t, tg_tensor *const *xs, int n) {
    for (int i = 0; i < n; i++)
        if (tg__same_tensor(t, xs[i])) return true;
    return false;
}

/* The ops reachable forward from the tensors xs through data edges (tensor
 * to consumer) and control edges. Ops are stored in creation order, which
 * is a topological order, so one pass suffices. false when out of memory. */
bool tg__layer_reachable_ops(tg_graph *g, tg_tensor *const *xs, int n, tg__ptrset *out) {
    int n_ops = tg_graph_num_ops(g);
    for (int i = 0; i < n_ops; i++) {
        tg_op *op = tg_graph_op_at(g, i);
        bool r = false;
        for (int k = 0, m = tg_op_num_inputs(op); !r && k < m; k++) {
            tg_tensor *t = tg_op_input(op, k);
            r = tg__layer_is_input(t, xs, n) || tg__ptrset_has(out, tg_tensor_op(t));
        }
        for (int k = 0, m = tg_op_num_control_inputs(op); !r && k < m; k++)
            r = tg__ptrset_has(out, tg_op_control_input(op, k));
        if (r && !set_add(out, op)) return false;
    }
    return true;
}

/* ---- properties ----------------------------------------------------------------------- */

const char *tg_layer_name(const tg_layer *l) { return l ? l->name : NULL; }
const char *tg_layer_scope_name(const tg_layer *l) { return l ? l->scope_name : NULL; }
tg_graph *tg_layer_graph(const tg_layer *l) { return l ? l->g : NULL; }
bool tg_layer_built(const tg_layer *l) { return l && l->built; }
tg_dtype tg_layer_dtype(const tg_layer *l) { return l && l->has_dtype ? l->dtype : TG_DTYPE_COUNT; }
bool tg_layer_trainable(const tg_layer *l) { return l && l->trainable; }
void tg_layer_set_trainable(tg_layer *l, bool trainable) {
    if (l) l->trainable = trainable;
}
const char *tg_layer_message(const tg_layer *l) { return l ? l->message : ""; }
int tg_layer_num_inbound_nodes(const tg_layer *l) { return l ? l->n_nodes : 0; }

int tg_layer_trainable_weights(const tg_layer *l, tg_variable *const **vars) {
    int n = l && l->trainable ? l->n_tw : 0;
    if (vars) *vars = n ? l->tw : NULL;
    return n;
}
int tg_layer_non_trainable_weights(const tg_layer *l, tg_variable *const **vars) {
    int n = !l ? 0 : l->trainable ? l->n_ntw : l->n_tw + l->n_ntw;
    if (vars) *vars = n ? (l->trainable ? l->ntw : l->all) : NULL;
    return n;
}
int tg_layer_weights(const tg_layer *l, tg_variable *const **vars) {
    int n = l ? l->n_tw + l->n_ntw : 0;
    if (vars) *vars = n ? l->all : NULL;
    return n;
}
int tg_layer_trainable_variables(const tg_layer *l, tg_variable *const **vars) {
    return tg_layer_trainable_weights(l, vars);
}
int tg_layer_non_trainable_variables(const tg_layer *l, tg_variable *const **vars) {
    return tg_layer_non_trainable_weights(l, vars);
}
int tg_layer_variables(const tg_layer *l, tg_variable *const **vars) { return tg_layer_weights(l, vars); }

int tg_layer_updates(const tg_layer *l, tg_op *const **ops) {
    int n = l && l->trainable ? l->n_updates : 0;
    if (ops) *ops = n ? l->updates : NULL;
    return n;
}

int tg_layer_losses(const tg_layer *l, tg_tensor *const **losses) {
    int n = l ? l->n_sym + l->n_reg : 0;
    if (losses) *losses = n ? l->losses : NULL;
    return n;
}

int tg_layer_get_updates_for(const tg_layer *l, tg_tensor *const *inputs, int n, tg_op ***ops) {
    if (ops) *ops = NULL;
    if (!l || !ops || n < 0 || (n > 0 && !inputs)) return -1;
    int nu = l->trainable ? l->n_updates : 0;
    if (!nu) return 0;
    tg_op **out = malloc((size_t)nu * sizeof *out);
    if (!out) return -1;
    tg__ptrset reach = {0};
    if (n > 0 && !tg__layer_reachable_ops(l->g, inputs, n, &reach)) {
        free(reach.keys);
        free(out);
        return -1;
    }
    int k = 0;
    for (int i = 0; i < nu; i++) {
        bool want = n == 0 ? l->update_uncond[i] : !l->update_uncond[i] && tg__ptrset_has(&reach, l->updates[i]);
        if (want) out[k++] = l->updates[i];
    }
    free(reach.keys);
    if (!k) {
        free(out);
        out = NULL;
    }
    *ops = out;
    return k;
}

int tg_layer_get_losses_for(const tg_layer *l, tg_tensor *const *inputs, int n, tg_tensor ***losses) {
    if (losses) *losses = NULL;
    if (!l || !losses || n < 0 || (n > 0 && !inputs)) return -1;
    int nl = l->n_sym + l->n_reg;
    if (!nl) return 0;
    tg_tensor **out = malloc((size_t)nl * sizeof *out);
    if (!out) return -1;
    tg__ptrset reach = {0};
    if (n > 0 && !tg__layer_reachable_ops(l->g, inputs, n, &reach)) {
        free(reach.keys);
        free(out);
        return -1;
    }
    int k = 0;
    for (int i = 0; i < nl; i++) {
        tg_tensor *t = l->losses[i];
        bool uncond = i >= l->n_sym || l->sym_uncond[i];
        bool want = n == 0 ? uncond
                           : !uncond && (tg__layer_is_input(t, inputs, n) || tg__ptrset_has(&reach, tg_tensor_op(t)));
        if (want) out[k++] = t;
    }
    free(reach.keys);
    if (!k) {
        free(out);
        out = NULL;
    }
    *losses = out;
    return k;
}

tg_code tg_layer_count_params(tg_layer *l, int64_t *count) {
    if (!l) return TG_INVALID_ARGUMENT;
    if (!count) return tg__layer_err(l, TG_INVALID_ARGUMENT, "count_params: count is NULL");
    if (!l->built)
        return tg__layer_err(l, TG_FAILED_PRECONDITION,
                             "You tried to call `count_params` on %s, but the layer isn't built. You can build it "
                             "manually via: `%s.build(batch_input_shape)`.",
                             l->name, l->name);
    int64_t total = 0;
    for (int i = 0; i < l->n_tw + l->n_ntw; i++) {
        tg_shape s = tg_variable_shape(l->all[i]);
        total += tg_shape_num_elements(&s);
    }
    *count = total;
    return tg__layer_ok(l);
}

/* ---- inbound nodes ---------------------------------------------------------------------- */

static tg_code node_at(tg_layer *l, int i, const char *attr) {
    if (!l->n_nodes)
        return tg__layer_err(l, TG_FAILED_PRECONDITION, "The layer has never been called and thus has no defined %s.",
                             attr);
    if (i < 0 || i >= l->n_nodes)
        return tg__layer_err(l, TG_INVALID_ARGUMENT,
                             "Asked to get %s at node %d, but the layer has only %d inbound nodes.", attr, i,
                             l->n_nodes);
    return tg__layer_ok(l);
}

tg_code tg_layer_get_input_at(tg_layer *l, int node_index, tg_tensor **input) {
    if (!l) return TG_INVALID_ARGUMENT;
    if (!input) return tg__layer_err(l, TG_INVALID_ARGUMENT, "get_input_at: input is NULL");
    tg_code c = node_at(l, node_index, "input");
    if (c == TG_OK) *input = l->nodes[node_index].input;
    return c;
}

tg_code tg_layer_get_output_at(tg_layer *l, int node_index, tg_tensor **output) {
    if (!l) return TG_INVALID_ARGUMENT;
    if (!output) return tg__layer_err(l, TG_INVALID_ARGUMENT, "get_output_at: output is NULL");
    tg_code c = node_at(l, node_index, "output");
    if (c == TG_OK) *output = l->nodes[node_index].output;
    return c;
}

tg_code tg_layer_get_input_shape_at(tg_layer *l, int node_index, tg_shape *shape) {
    if (!l) return TG_INVALID_ARGUMENT;
    if (!shape) return tg__layer_err(l, TG_INVALID_ARGUMENT, "get_input_shape_at: shape is NULL");
    tg_code c = node_at(l, node_index, "input shape");
    if (c == TG_OK) *shape = l->nodes[node_index].input_shape;
    return c;
}

tg_code tg_layer_get_output_shape_at(tg_layer *l, int node_index, tg_shape *shape) {
    if (!l) return TG_INVALID_ARGUMENT;
    if (!shape) return tg__layer_err(l, TG_INVALID_ARGUMENT, "get_output_shape_at: shape is NULL");
    tg_code c = node_at(l, node_index, "output shape");
    if (c == TG_OK) *shape = l->nodes[node_index].output_shape;
    return c;
}

tg_code tg_layer_input(tg_layer *l, tg_tensor **input) {
    if (!l) return TG_INVALID_ARGUMENT;
    if (!input) return tg__layer_err(l, TG_INVALID_ARGUMENT, "input: input is NULL");
    if (!l->n_nodes)
        return tg__layer_err(l, TG_FAILED_PRECONDITION, "Layer %s is not connected, no input to return.", l->name);
    if (l->n_nodes > 1)
        return tg__layer_err(l, TG_FAILED_PRECONDITION,
                             "Layer %s has multiple inbound nodes, hence the notion of \"layer input\" is ill-defined. "
                             "Use `get_input_at(node_index)` instead.",
                             l->name);
    *input = l->nodes[0].input;
    return tg__layer_ok(l);
}

tg_code tg_layer_output(tg_layer *l, tg_tensor **output) {
    if (!l) return TG_INVALID_ARGUMENT;
    if (!output) return tg__layer_err(l, TG_INVALID_ARGUMENT, "output: output is NULL");
    if (!l->n_nodes) return tg__layer_err(l, TG_FAILED_PRECONDITION, "Layer %s has no inbound nodes.", l->name);
    if (l->n_nodes > 1)
        return tg__layer_err(l, TG_FAILED_PRECONDITION,
                             "Layer %s has multiple inbound nodes, hence the notion of \"layer output\" is "
                             "ill-defined. Use `get_output_at(node_index)` instead.",
                             l->name);
    *output = l->nodes[0].output;
    return tg__layer_ok(l);
}

static bool same_shape(const tg_shape *a, const tg_shape *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

/* input_shape / output_shape: the shape every node agrees on. */
static tg_code node_shape(tg_layer *l, tg_shape *out, bool input) {
    const char *what = input ? "input" : "output";
    if (!l->n_nodes)
        return tg__layer_err(l, TG_FAILED_PRECONDITION,
                             "The layer has never been called and thus has no defined %s shape.", what);
    const tg_shape *s0 = input ? &l->nodes[0].input_shape : &l->nodes[0].output_shape;
    for (int i = 1; i < l->n_nodes; i++) {
        const tg_shape *si = input ? &l->nodes[i].input_shape : &l->nodes[i].output_shape;
        if (same_shape(s0, si)) continue;
        /* TF's texts, the input one with its missing closing quote */
        if (input)
            return tg__layer_err(l, TG_FAILED_PRECONDITION,
                                 "The layer \"%s has multiple inbound nodes, with different input shapes. Hence the "
                                 "notion of \"input shape\" is ill-defined for the layer. Use "
                                 "`get_input_shape_at(node_index)` instead.",
                                 l->name);
        return tg__layer_err(l, TG_FAILED_PRECONDITION,
                             "The layer \"%s\" has multiple inbound nodes, with different output shapes. Hence the "
                             "notion of \"output shape\" is ill-defined for the layer. Use "
                             "`get_output_shape_at(node_index)` instead.",
                             l->name);
    }
    *out = *s0;
    return tg__layer_ok(l);
}

tg_code tg_layer_input_shape(tg_layer *l, tg_shape *shape) {
    if (!l) return TG_INVALID_ARGUMENT;
    if (!shape) return tg__layer_err(l, TG_INVALID_ARGUMENT, "input_shape: shape is NULL");
    return node_shape(l, shape, true);
}

tg_code tg_layer_output_shape(tg_layer *l, tg_shape *shape) {
    if (!l) return TG_INVALID_ARGUMENT;
    if (!shape) return tg__layer_err(l, TG_INVALID_ARGUMENT, "output_shape: shape is NULL");
    return node_shape(l, shape, false);
}
