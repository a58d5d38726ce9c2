/* TF's Optimizer base class on the public API: compute_gradients,
 * apply_gradients and minimize with TF 1.15's checks, messages and op
 * names, the slot table (slot_creator's naming) and the non-slot variables.
 * Each subclass only says how to make its slots and how to update one
 * variable (optimizer_impl.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optimizer_impl.h"

/* ---- a growable string for error messages ----------------------------------- */

typedef struct strbuf {
    char *s;
    size_t len, cap;
    bool oom;
} strbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(strbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* Python's str() of a ref variable, as TF's messages show it:
 * <tf.Variable 'w:0' shape=(2,) dtype=float32_ref> */
static void sb_variable(strbuf *b, const tg_variable *v) {
    char shape[160];
    tg_shape s = tg_variable_shape(v);
    sb_printf(b, "<tf.Variable '%s:0' shape=%s dtype=%s_ref>", tg_variable_name(v),
              tg_shape_format(&s, shape, sizeof shape), tg_dtype_name(tg_variable_dtype(v)));
}

/* repr() of a list of those strings: ["<tf.Variable ...>", ...] */
static void sb_variable_list(strbuf *b, tg_variable *const *vars, int n) {
    sb_printf(b, "[");
    for (int i = 0; i < n; i++) {
        sb_printf(b, "%s\"", i ? ", " : "");
        sb_variable(b, vars[i]);
        sb_printf(b, "\"");
    }
    sb_printf(b, "]");
}

static void fail_oom(tg_graph *g) { tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"); }

/* ---- construction -------------------------------------------------------------- */

/* What tg_optimizer_free and the owning graph release. */
static void destroy(void *p) {
    tg_optimizer *opt = p;
    free(opt->name);
    free(opt->slots);
    free(opt->non_slots);
    free(opt);
}

tg_optimizer *tg__optim_new(tg_graph *g, size_t size, const tg__optim_class *cls, const char *name) {
    if (tg_graph_status(g) != TG_OK) return NULL;
    if (!name) name = cls->default_name;
    if (!*name) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Must specify the optimizer name");
        return NULL;
    }
    tg_optimizer *o = calloc(1, size);
    char *copy = malloc(strlen(name) + 1);
    if (!o || !copy) {
        free(o);
        free(copy);
        fail_oom(g);
        return NULL;
    }
    strcpy(copy, name);
    o->cls = cls;
    o->g = g;
    o->name = copy;
    if (!tg_graph_own(g, o, destroy)) {
        destroy(o);
        return NULL;
    }
    return o;
}

void tg_optimizer_free(tg_optimizer *opt) {
    if (!opt) return;
    tg_graph_disown(opt->g, opt);
    destroy(opt);
}

const char *tg_optimizer_name(const tg_optimizer *opt) { return opt ? opt->name : ""; }

static bool same_graph(tg_graph *g, const tg_tensor *t) { return tg_op_graph(tg_tensor_op(t)) == g; }

/* The optimizer that does a wrapper's work (optimizer_impl.h, `inner`). */
static tg_optimizer *target(tg_optimizer *o) {
    while (o && o->inner) o = o->inner;
    return o;
}
static const tg_optimizer *ctarget(const tg_optimizer *o) {
    while (o && o->inner) o = o->inner;
    return o;
}

/* The wrappers' gradient transforms, innermost first. */
static bool transform(tg_optimizer *o, tg_tensor **grads, tg_variable *const *vars, int n) {
    if (o->inner && !transform(o->inner, grads, vars, n)) return false;
    return !o->cls->transform_gradients || o->cls->transform_gradients(o, grads, vars, n);
}

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

bool tg__optim_check_scalar(tg_graph *g, tg_tensor *t, const char *what) {
    if (!t) return true;
    if (!same_graph(g, t)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s tensor '%s' is from another graph", what, tg_tensor_name(t));
        return false;
    }
    tg_shape s = tg_tensor_shape(t);
    if (!is_float(tg_tensor_dtype(t)) || s.rank > 0) {
        char buf[160];
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s must be a float scalar, got '%s' of dtype %s and shape %s", what,
                      tg_tensor_name(t), tg_dtype_name(tg_tensor_dtype(t)), tg_shape_format(&s, buf, sizeof buf));
        return false;
    }
    return true;
}

bool tg__optim_check_rate_arg(tg_graph *g, tg_tensor *learning_rate, tg_tensor *from_opts, const char *fn) {
    if (tg_graph_status(g) != TG_OK) return false;
    if (!learning_rate) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: learning_rate is NULL", fn);
        return false;
    }
    /* Two different rates would leave one silently unused. */
    if (from_opts && from_opts != learning_rate) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: learning_rate '%s' and opts->learning_rate_t '%s' differ", fn,
                      tg_tensor_name(learning_rate), tg_tensor_name(from_opts));
        return false;
    }
    return tg__optim_check_scalar(g, learning_rate, "learning_rate");
}

tg_tensor *tg__optim_hyper(tg_graph *g, tg_tensor *t, double v, const char *name) {
    return t ? t : tg_constant_scalar(g, TG_FLOAT32, v, name);
}

tg_tensor *tg__optim_cast(tg_graph *g, tg_tensor *t, tg_dtype dtype) {
    if (!t || tg_tensor_dtype(t) == dtype) return t;
    return tg_cast(g, t, dtype, NULL);
}

/* ---- slots and non-slot variables ---------------------------------------------- */

tg_variable *tg__optim_get_slot(const tg_optimizer *o, const tg_variable *var, const char *slot_name) {
    if (!o || !var || !slot_name) return NULL;
    for (int i = 0; i < o->n_slots; i++)
        if (o->slots[i].var == var && strcmp(o->slots[i].slot_name, slot_name) == 0) return o->slots[i].slot;
    return NULL;
}

tg_variable *tg_optimizer_get_slot(const tg_optimizer *opt, const tg_variable *var, const char *slot_name) {
    return tg__optim_get_slot(ctarget(opt), var, slot_name);
}

static bool grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return true;
    int c = *cap ? *cap * 2 : 8;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

/* slot_creator.create_slot_with_initializer: inside
 * variable_scope(None, default_name="<var>/<optimizer>") a get_variable
 * named after that scope, so a variable's second slot is "<var>/<opt>_1". */
tg_variable *tg__optim_slot(tg_optimizer *o, tg_variable *var, const char *slot_name, tg_initializer init) {
    tg_variable *slot = tg__optim_get_slot(o, var, slot_name);
    if (slot) return slot;
    tg_graph *g = o->g;
    if (tg_graph_status(g) != TG_OK) return NULL;
    if (!grow((void **)&o->slots, &o->cap_slots, o->n_slots + 1, sizeof *o->slots)) {
        fail_oom(g);
        return NULL;
    }
    const char *prefix = tg_variable_name(var);
    size_t len = strlen(prefix) + strlen(o->name) + 2;
    char *scope = malloc(len);
    if (!scope) {
        fail_oom(g);
        return NULL;
    }
    snprintf(scope, len, "%s/%s", prefix, o->name);
    TG_OPTS(tg_get_variable_opts, so, .initializer = init, .trainable = false);
    TG_WITH_VARIABLE_SCOPE(g, NULL, &(tg_variable_scope_opts){.default_name = scope}) {
        slot = tg_get_variable(g, "", tg_variable_dtype(var), tg_variable_shape(var), &so);
    }
    free(scope);
    if (!slot) return NULL;
    o->slots[o->n_slots++] = (tg__slot){slot_name, var, slot};
    return slot;
}

tg_variable *tg__optim_get_non_slot(const tg_optimizer *o, const char *name) {
    for (int i = 0; i < o->n_non_slots; i++)
        if (strcmp(o->non_slots[i].name, name) == 0) return o->non_slots[i].var;
    return NULL;
}

/* _create_non_slot_variable: a tf.Variable, named in the current name
 * scope ("beta1_power", "train/beta1_power", "beta1_power_1"). */
tg_variable *tg__optim_non_slot(tg_optimizer *o, const char *name, double initial) {
    tg_variable *v = tg__optim_get_non_slot(o, name);
    if (v) return v;
    tg_graph *g = o->g;
    if (tg_graph_status(g) != TG_OK) return NULL;
    if (!grow((void **)&o->non_slots, &o->cap_non_slots, o->n_non_slots + 1, sizeof *o->non_slots)) {
        fail_oom(g);
        return NULL;
    }
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_constant_initializer(initial), .trainable = false);
    v = tg_variable_new(g, name, TG_FLOAT32, TG_SCALAR, &vo);
    if (!v) return NULL;
    o->non_slots[o->n_non_slots++] = (tg__non_slot){name, v};
    return v;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int tg_optimizer_get_slot_names(const tg_optimizer *opt, const char ***names) {
    if (names) *names = NULL;
    opt = ctarget(opt);
    if (!opt) return -1;
    const char **list = opt->n_slots ? malloc((size_t)opt->n_slots * sizeof *list) : NULL;
    if (opt->n_slots && !list) return -1;
    int n = 0;
    for (int i = 0; i < opt->n_slots; i++) {
        bool seen = false;
        for (int j = 0; j < n && !seen; j++) seen = strcmp(list[j], opt->slots[i].slot_name) == 0;
        if (!seen) list[n++] = opt->slots[i].slot_name;
    }
    if (n) qsort(list, (size_t)n, sizeof *list, cmp_str);
    if (names && n)
        *names = list;
    else
        free(list);
    return n;
}

static int cmp_var(const void *a, const void *b) {
    return strcmp(tg_variable_name(*(tg_variable *const *)a), tg_variable_name(*(tg_variable *const *)b));
}

int tg_optimizer_variables(const tg_optimizer *opt, tg_variable ***vars) {
    if (vars) *vars = NULL;
    opt = ctarget(opt);
    if (!opt) return -1;
    int n = opt->n_slots + opt->n_non_slots;
    tg_variable **list = n ? malloc((size_t)n * sizeof *list) : NULL;
    if (n && !list) return -1;
    int k = 0;
    for (int i = 0; i < opt->n_non_slots; i++) list[k++] = opt->non_slots[i].var;
    for (int i = 0; i < opt->n_slots; i++) list[k++] = opt->slots[i].slot;
    if (n) qsort(list, (size_t)n, sizeof *list, cmp_var);
    if (vars && n)
        *vars = list;
    else
        free(list);
    return n;
}

/* ---- compute_gradients ------------------------------------------------------------ */

static bool check_variable(tg_graph *g, const tg_variable *v, int i, const char *who) {
    if (!v) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: variable %d is NULL", who, i);
        return false;
    }
    if (tg_op_graph(tg_variable_op(v)) != g) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: variable '%s' is from another graph", who, tg_variable_name(v));
        return false;
    }
    return true;
}

int tg_optimizer_compute_gradients(tg_optimizer *opt, tg_tensor *loss, tg_variable *const *var_list, int n_vars,
                                   tg_tensor ***grads, tg_variable ***vars) {
    if (grads) *grads = NULL;
    if (vars) *vars = NULL;
    if (!opt || !loss || tg_graph_status(opt->g) != TG_OK) return -1;
    tg_graph *g = opt->g;
    if (!same_graph(g, loss)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "compute_gradients: loss '%s' is from another graph", tg_tensor_name(loss));
        return -1;
    }
    if (!is_float(tg_tensor_dtype(loss))) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Invalid type %s for %s, expected: [float32, float64].",
                      tg_dtype_name(tg_tensor_dtype(loss)), tg_tensor_name(loss));
        return -1;
    }
    tg_variable **vl = NULL;
    int n;
    if (!var_list) {
        n = tg_get_collection_variables(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, NULL, &vl);
        if (n < 0) {
            fail_oom(g);
            return -1;
        }
    } else {
        if (n_vars < 0) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "compute_gradients: n_vars is %d", n_vars);
            return -1;
        }
        n = n_vars;
        vl = n ? malloc((size_t)n * sizeof *vl) : NULL;
        if (n && !vl) {
            fail_oom(g);
            return -1;
        }
        if (n) memcpy(vl, var_list, (size_t)n * sizeof *vl);
    }
    if (n == 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "No variables to optimize.");
        return -1;
    }
    tg_tensor **xs = malloc((size_t)n * sizeof *xs), **dxs = calloc((size_t)n, sizeof *dxs);
    if (!xs || !dxs) {
        fail_oom(g);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        if (!check_variable(g, vl[i], i, "compute_gradients")) goto fail;
        xs[i] = tg_variable_ref(vl[i]);
    }
    if (tg_gradients(g, &loss, 1, xs, n, dxs, NULL) != TG_OK) goto fail;
    if (!transform(opt, dxs, vl, n)) goto fail;
    for (int i = 0; i < n; i++) {
        if (dxs[i] && !is_float(tg_variable_dtype(vl[i]))) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Invalid type %s for %s:0, expected: [float32, float64].",
                          tg_dtype_name(tg_variable_dtype(vl[i])), tg_variable_name(vl[i]));
            goto fail;
        }
    }
    free(xs);
    if (grads)
        *grads = dxs;
    else
        free(dxs);
    if (vars)
        *vars = vl;
    else
        free(vl);
    return n;
fail:
    free(xs);
    free(dxs);
    free(vl);
    return -1;
}

/* ---- apply_gradients ----------------------------------------------------------------- */

static bool shapes_compatible(const tg_shape *a, const tg_shape *b) {
    if (a->rank < 0 || b->rank < 0) return true;
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] >= 0 && b->dims[i] >= 0 && a->dims[i] != b->dims[i]) return false;
    return true;
}

static bool check_gradient(tg_graph *g, tg_tensor *grad, const tg_variable *v) {
    if (!same_graph(g, grad)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "apply_gradients: gradient '%s' is from another graph",
                      tg_tensor_name(grad));
        return false;
    }
    tg_shape gs = tg_tensor_shape(grad), vs = tg_variable_shape(v);
    if (tg_tensor_dtype(grad) != tg_variable_dtype(v) || !shapes_compatible(&gs, &vs)) {
        char a[160], b[160];
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "apply_gradients: gradient '%s' of dtype %s and shape %s does not match variable '%s' of "
                      "dtype %s and shape %s",
                      tg_tensor_name(grad), tg_dtype_name(tg_tensor_dtype(grad)), tg_shape_format(&gs, a, sizeof a),
                      tg_variable_name(v), tg_dtype_name(tg_variable_dtype(v)), tg_shape_format(&vs, b, sizeof b));
        return false;
    }
    return true;
}

static tg_op *group(tg_optimizer *o, tg_op *const *updates, int n, const char *name) {
    return o->cls->finish ? o->cls->finish(o, updates, n, name) : tg_group(o->g, updates, n, name);
}

/* The update of one variable in name scope "update_<var>", then its
 * constraint under a control dependency on the update (TF's
 * _RefVariableProcessor.update_op). */
static tg_op *update_variable(tg_optimizer *o, tg_tensor *grad, tg_variable *var) {
    tg_graph *g = o->g;
    const char *vn = tg_variable_name(var);
    size_t len = strlen(vn) + sizeof "update_";
    char *scope = malloc(len);
    if (!scope) {
        fail_oom(g);
        return NULL;
    }
    snprintf(scope, len, "update_%s", vn);
    tg_op *update = NULL;
    TG_WITH_NAME_SCOPE(g, scope) {
        tg_tensor *value = o->cls->apply_dense(o, grad, var);
        update = value ? tg_tensor_op(value) : NULL;
        tg_constraint c = tg_variable_constraint(var);
        if (update && c.fn) {
            tg_op *dep = update;
            update = NULL;
            TG_WITH_CONTROL_DEPENDENCIES(g, &dep, 1) {
                tg_tensor *projected = c.fn(g, value, c.params);
                tg_tensor *assigned = tg_assign(g, tg_variable_ref(var), projected, NULL);
                if (assigned) update = tg_tensor_op(assigned);
            }
            if (!update && tg_graph_status(g) == TG_OK)
                tg_graph_fail(g, TG_INVALID_ARGUMENT, "the constraint of variable '%s' returned NULL", vn);
        }
    }
    free(scope);
    return update;
}

static bool in_train_op(tg_graph *g, const tg_op *op) {
    tg_op **ops = NULL;
    int n = tg_get_collection_ops(g, TG_GRAPHKEYS_TRAIN_OP, NULL, &ops);
    bool found = false;
    for (int i = 0; i < n && !found; i++) found = ops[i] == op;
    tg_free(ops);
    return found;
}

/* Everything after the checks, inside the optimizer's name scope. */
static tg_op *apply_in_scope(tg_optimizer *o, tg_tensor *const *grads, tg_variable *const *vars, int n,
                             tg_variable *global_step, tg_op **updates) {
    tg_graph *g = o->g;
    const char *ns = tg_graph_name_scope(g);
    char *scope = malloc(strlen(ns) + 1);
    if (!scope) {
        fail_oom(g);
        return NULL;
    }
    strcpy(scope, ns);
    tg_op *result = NULL;
    if (o->cls->prepare && !o->cls->prepare(o)) goto done;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!grads[i]) continue;
        updates[k] = update_variable(o, grads[i], vars[i]);
        if (!updates[k++]) goto done;
    }
    if (!global_step) {
        result = group(o, updates, k, scope); /* "<name>/" names the op "<name>" */
        goto done;
    }
    tg_op *finished = group(o, updates, k, "update");
    if (!finished) goto done;
    TG_WITH_CONTROL_DEPENDENCIES(g, &finished, 1) {
        tg_tensor *one = tg_constant_scalar(g, tg_variable_dtype(global_step), 1, "value");
        tg_tensor *inc = tg_assign_add(g, tg_variable_ref(global_step), one, scope);
        result = inc ? tg_tensor_op(inc) : NULL;
    }
done:
    if (!result && tg_graph_status(g) == TG_OK)
        tg_graph_fail(g, TG_INTERNAL, "%s: an update could not be built", o->name);
    if (result && !in_train_op(g, result)) tg_add_to_collection(g, TG_GRAPHKEYS_TRAIN_OP, TG_ITEM_OF_OP(result));
    free(scope);
    return tg_graph_status(g) == TG_OK ? result : NULL;
}

tg_op *tg_optimizer_apply_gradients(tg_optimizer *opt, tg_tensor *const *grads, tg_variable *const *vars, int n,
                                    tg_variable *global_step, const char *name) {
    opt = target(opt);
    if (!opt || tg_graph_status(opt->g) != TG_OK) return NULL;
    tg_graph *g = opt->g;
    if (n < 1 || !vars) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "No variables provided.");
        return NULL;
    }
    tg_tensor **gl = calloc((size_t)n, sizeof *gl);
    tg_variable **with_grad = malloc((size_t)n * sizeof *with_grad);
    tg_op **updates = malloc((size_t)n * sizeof *updates);
    tg_op *result = NULL;
    if (!gl || !with_grad || !updates) {
        fail_oom(g);
        goto done;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!check_variable(g, vars[i], i, "apply_gradients")) goto done;
        gl[i] = grads ? grads[i] : NULL;
        if (!gl[i]) continue;
        if (!check_gradient(g, gl[i], vars[i])) goto done;
        with_grad[k++] = vars[i];
    }
    if (k == 0) {
        strbuf b = {0};
        sb_variable_list(&b, vars, n);
        if (b.oom)
            fail_oom(g);
        else
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "No gradients provided for any variable: %s.", b.s);
        free(b.s);
        goto done;
    }
    if (global_step && tg_op_graph(tg_variable_op(global_step)) != g) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "apply_gradients: global_step '%s' is from another graph",
                      tg_variable_name(global_step));
        goto done;
    }
    /* As TF: slots and non-slot variables are made first, in init_scope
     * (outside every control-dependency block, in the caller's name scope),
     * then the updates inside the optimizer's name scope. */
    int tok = tg_control_dependencies_push(g, NULL, 0);
    bool ok = !opt->cls->create_slots || opt->cls->create_slots(opt, with_grad, k);
    tg_scope_pop(g, tok);
    if (ok && tg_graph_status(g) == TG_OK) {
        TG_WITH_NAME_SCOPE(g, name ? name : opt->name) {
            result = apply_in_scope(opt, gl, vars, n, global_step, updates);
        }
    }
done:
    free(gl);
    free(with_grad);
    free(updates);
    return tg_graph_status(g) == TG_OK ? result : NULL;
}

/* ---- minimize ---------------------------------------------------------------------------- */

tg_op *tg_optimizer_minimize(tg_optimizer *opt, tg_tensor *loss, const tg_minimize_opts *opts) {
    const tg_minimize_opts o = opts ? *opts : (tg_minimize_opts){0};
    tg_tensor **grads = NULL;
    tg_variable **vars = NULL;
    int n = tg_optimizer_compute_gradients(opt, loss, o.var_list, o.n_vars, &grads, &vars);
    if (n < 0) return NULL;
    tg_op *result = NULL;
    bool any = false;
    for (int i = 0; i < n && !any; i++) any = grads[i] != NULL;
    if (any) {
        result = tg_optimizer_apply_gradients(opt, grads, vars, n, o.global_step, o.name);
    } else {
        strbuf b = {0};
        char shape[160];
        tg_shape s = tg_tensor_shape(loss);
        sb_printf(&b, "No gradients provided for any variable, check your graph for ops that do not support "
                      "gradients, between variables ");
        sb_variable_list(&b, vars, n);
        sb_printf(&b, " and loss Tensor(\"%s\", shape=%s, dtype=%s).", tg_tensor_name(loss),
                  tg_shape_format(&s, shape, sizeof shape), tg_dtype_name(tg_tensor_dtype(loss)));
        if (b.oom)
            fail_oom(opt->g);
        else
            tg_graph_fail(opt->g, TG_INVALID_ARGUMENT, "%s", b.s);
        free(b.s);
    }
    free(grads);
    free(vars);
    return result;
}
