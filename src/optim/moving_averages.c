/* Moving averages on the public API, after TF 1.15's
 * tensorflow/python/training/moving_averages.py: assign_moving_average
 * (with _zero_debias), weighted_moving_average and ExponentialMovingAverage,
 * with TF's op and variable names. Python's `1.0 - t` is built as TF builds
 * it: name scope "sub" holding the Const "x", and the Sub named after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optimizer_impl.h" /* tg__optim_check_scalar */

/* ---- small helpers ------------------------------------------------------------ */

static void fail_oom(tg_graph *g) { tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"); }

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

static bool same_graph(const tg_graph *g, const tg_tensor *t) { return tg_op_graph(tg_tensor_op(t)) == g; }

static bool var_in_graph(const tg_graph *g, const tg_variable *v) { return tg_op_graph(tg_variable_op(v)) == g; }

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

/* "a" + sep + "b" in a new string (NULL when out of memory). */
static char *join(const char *a, const char *sep, const char *b) {
    size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", a, sep, b);
    return s;
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

/* NumPy broadcasting of `value` into `var` leaves var's shape. */
static bool broadcasts_to(const tg_shape *value, const tg_shape *var) {
    if (value->rank < 0 || var->rank < 0) return true;
    if (value->rank > var->rank) return false;
    for (int i = 1; i <= value->rank; i++) {
        int64_t a = value->dims[value->rank - i], b = var->dims[var->rank - i];
        if (a >= 0 && b >= 0 && a != 1 && a != b) return false; /* unknown dims: checked when it runs */
    }
    return true;
}

/* TF's `x - y` (or `x + y`) with a Python number x: name scope "sub"
 * ("add") holding the Const "x" of y's dtype, the op named after the scope. */
static tg_tensor *r_binary(tg_graph *g, bool add, double x, tg_tensor *y) {
    if (!y || tg_graph_status(g) != TG_OK) return NULL;
    tg_tensor *r = NULL;
    TG_WITH_NAME_SCOPE(g, add ? "add" : "sub") {
        char *scope = dupstr(tg_graph_name_scope(g));
        if (!scope) {
            fail_oom(g);
        } else {
            tg_tensor *c = tg_constant_scalar(g, tg_tensor_dtype(y), x, "x");
            r = add ? tg_add(g, c, y, scope) : tg_subtract(g, c, y, scope);
        }
        free(scope);
    }
    return r;
}

static tg_tensor *r_sub(tg_graph *g, double x, tg_tensor *y) { return r_binary(g, false, x, y); }
static tg_tensor *r_add(tg_graph *g, double x, tg_tensor *y) { return r_binary(g, true, x, y); }

/* ref.assign_add(1): name scope "AssignAdd" with the Const "value", the
 * AssignAdd named after it. With a condition the increment "value" is
 * Cast(condition): 1 when it holds, 0 when not. */
static tg_tensor *assign_add_one(tg_graph *g, tg_variable *v, tg_tensor *cond) {
    tg_tensor *r = NULL;
    TG_WITH_NAME_SCOPE(g, "AssignAdd") {
        char *scope = dupstr(tg_graph_name_scope(g));
        if (!scope) {
            fail_oom(g);
        } else {
            tg_dtype dt = tg_variable_dtype(v);
            tg_tensor *one = cond ? tg_cast(g, cond, dt, "value") : tg_constant_scalar(g, dt, 1, "value");
            r = tg_assign_add(g, tg_variable_ref(v), one, scope);
        }
        free(scope);
    }
    return r;
}

/* where(cond, t, zeros_like(t)): t, or nothing to subtract when cond is
 * false. t itself without a condition. */
static tg_tensor *when(tg_graph *g, tg_tensor *cond, tg_tensor *t) {
    if (!cond || !t) return t;
    return tg_where(g, cond, t, tg_zeros_like(g, t, NULL), NULL);
}

/* ---- assign_moving_average ----------------------------------------------------- */

/* Everything TF would reject before building (o: the options' condition
 * and debias collections, NULL for none). */
static bool check_amv(tg_graph *g, tg_variable *var, tg_tensor *value, tg_tensor *decay_t,
                      const tg_assign_moving_average_opts *o) {
    const char *who = "assign_moving_average";
    if (o && !tg_graph_check_list(g, who, "debias_collections", o->debias_collections, o->n_debias_collections))
        return false;
    if (o && o->condition) {
        tg_tensor *c = o->condition;
        tg_shape cs = tg_tensor_shape(c);
        if (!same_graph(g, c)) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: condition '%s' is from another graph", who, tg_tensor_name(c));
            return false;
        }
        if (tg_tensor_dtype(c) != TG_BOOL || cs.rank != 0) {
            char buf[160];
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: condition must be a bool scalar, got '%s' of dtype %s and shape %s",
                          who, tg_tensor_name(c), tg_dtype_name(tg_tensor_dtype(c)),
                          tg_shape_format(&cs, buf, sizeof buf));
            return false;
        }
    }
    if (!var_in_graph(g, var)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: variable '%s' is from another graph", who, tg_variable_name(var));
        return false;
    }
    if (!same_graph(g, value)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: value '%s' is from another graph", who, tg_tensor_name(value));
        return false;
    }
    if (!tg__optim_check_scalar(g, decay_t, "decay")) return false;
    tg_dtype dt = tg_variable_dtype(var);
    if (!is_float(dt)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: variable '%s' must be float32 or float64, not %s", who,
                      tg_variable_name(var), tg_dtype_name(dt));
        return false;
    }
    if (tg_tensor_dtype(value) != dt) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: Tensor conversion requested dtype %s for Tensor with dtype %s: '%s'",
                      who, tg_dtype_name(dt), tg_dtype_name(tg_tensor_dtype(value)), tg_tensor_name(value));
        return false;
    }
    tg_shape vs = tg_tensor_shape(value), ws = tg_variable_shape(var);
    if (!broadcasts_to(&vs, &ws)) {
        char a[160], b[160];
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: value '%s' of shape %s does not broadcast to variable '%s' of shape %s",
                      who, tg_tensor_name(value), tg_shape_format(&vs, a, sizeof a), tg_variable_name(var),
                      tg_shape_format(&ws, b, sizeof b));
        return false;
    }
    return true;
}

/* _maybe_get_unique: `name`, or "name_1", "name_2", ... when the current
 * variable scope already holds a global variable of that name, unless the
 * scope reuses. Returns a new string (NULL when out of memory). */
static char *maybe_unique(tg_graph *g, const char *name) {
    if (tg_variable_scope_reuse(g) != TG_REUSE_INHERIT) return dupstr(name);
    const char *vs = tg_variable_scope_name(g);
    char *prefix = join(vs, "/", "");
    tg_variable **vars = NULL;
    int n = prefix ? tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, prefix, &vars) : -1;
    size_t cap = strlen(name) + 16;
    char *cand = n >= 0 ? malloc(cap) : NULL;
    if (cand) {
        snprintf(cand, cap, "%s", name);
        for (int k = 1;; k++) { /* "name", "name_1", "name_2", ... */
            bool taken = false;
            for (int i = 0; i < n && !taken; i++) {
                const char *vn = tg_variable_name(vars[i]) + strlen(prefix); /* all start with prefix */
                taken = strcmp(vn, cand) == 0;
            }
            if (!taken) break;
            snprintf(cand, cap, "%s_%d", name, k);
        }
    }
    tg_free(vars);
    free(prefix);
    return cand;
}

/* The body's options beyond the decay: the run-time condition (NULL:
 * always) and the debias variables' collections (NULL: GLOBAL_VARIABLES). */
typedef struct amv_extra {
    tg_tensor *cond;
    const char *const *collections;
    int n_collections;
} amv_extra;

/* _zero_debias(var, value, d) with d = 1 - decay, in the caller's
 * AssignMovingAvg name scope `scope`; with a condition every assignment
 * keeps the old value when it is false. */
static tg_tensor *zero_debias(tg_graph *g, tg_variable *var, tg_tensor *value, tg_tensor *d, const char *scope,
                              const amv_extra *x) {
    tg_dtype dt = tg_variable_dtype(var);
    tg_variable *biased = NULL, *step = NULL;
    TG_WITH_VARIABLE_SCOPE(g, tg_variable_name(var), NULL) {
        TG_OPTS(tg_get_variable_opts, o, .initializer = tg_zeros_initializer(), .trainable = false,
                .collections = x->collections, .n_collections = x->n_collections);
        char *bn = maybe_unique(g, "biased");
        if (bn) biased = tg_get_variable(g, bn, dt, tg_variable_shape(var), &o);
        free(bn);
        char *sn = biased ? maybe_unique(g, "local_step") : NULL;
        if (sn) step = tg_get_variable(g, sn, dt, TG_SCALAR, &o);
        free(sn);
        if ((!biased || !step) && tg_graph_status(g) == TG_OK) fail_oom(g); /* else get_variable said why */
    }
    if (!biased || !step) return NULL;
    tg_tensor *delta = tg_multiply(g, tg_subtract(g, tg_variable_value(biased), value, "sub"), d, "mul");
    tg_tensor *new_biased = tg_assign_sub(g, tg_variable_ref(biased), when(g, x->cond, delta), "AssignSub");
    tg_tensor *new_step = assign_add_one(g, step, x->cond);
    /* This gets 1 - decay, so the exponent's base is 1.0 - d, as TF. */
    tg_tensor *power = tg_pow(g, r_sub(g, 1.0, d), new_step, "Pow");
    tg_tensor *bias_factor = r_sub(g, 1.0, power);
    tg_tensor *debiased = tg_divide(g, new_biased, bias_factor, "truediv");
    /* when false: the old value (debiased may be 0/0 before the first step) */
    if (x->cond && debiased) debiased = tg_where(g, x->cond, debiased, tg_variable_value(var), NULL);
    return tg_assign(g, tg_variable_ref(var), debiased, scope);
}

/* The body, after the checks. decay_t NULL: the number. x NULL: no
 * condition, default collections. */
static tg_tensor *amv_x(tg_graph *g, tg_variable *var, tg_tensor *value, double decay, tg_tensor *decay_t,
                        bool debias, const char *name, const amv_extra *x) {
    static const amv_extra none = {0};
    if (!x) x = &none;
    tg_tensor *result = NULL;
    TG_WITH_NAME_SCOPE(g, name && *name ? name : "AssignMovingAvg") {
        char *scope = dupstr(tg_graph_name_scope(g));
        if (!scope) {
            fail_oom(g);
            continue;
        }
        tg_dtype dt = tg_variable_dtype(var);
        tg_tensor *d = decay_t ? r_sub(g, 1.0, decay_t) : tg_constant_scalar(g, TG_FLOAT32, 1.0 - decay, "decay");
        if (d && tg_tensor_dtype(d) != dt) d = tg_cast(g, d, dt, "Cast");
        if (debias) {
            result = zero_debias(g, var, value, d, scope, x);
        } else {
            tg_tensor *delta = tg_multiply(g, tg_subtract(g, tg_variable_value(var), value, "sub"), d, "mul");
            result = tg_assign_sub(g, tg_variable_ref(var), when(g, x->cond, delta), scope);
        }
        free(scope);
    }
    if (!result && tg_graph_status(g) == TG_OK)
        tg_graph_fail(g, TG_INTERNAL, "assign_moving_average of '%s' could not be built", tg_variable_name(var));
    return tg_graph_status(g) == TG_OK ? result : NULL;
}

static tg_tensor *amv(tg_graph *g, tg_variable *var, tg_tensor *value, double decay, tg_tensor *decay_t,
                      bool debias, const char *name) {
    return amv_x(g, var, value, decay, decay_t, debias, name, NULL);
}

static tg_tensor *assign_moving_average(tg_graph *g, tg_variable *var, tg_tensor *value, double decay,
                                        tg_tensor *decay_t, bool debias, const char *name) {
    if (tg_graph_status(g) != TG_OK || !var || !value) return NULL;
    if (!check_amv(g, var, value, decay_t, NULL)) return NULL;
    return amv(g, var, value, decay, decay_t, debias, name);
}

tg_tensor *tg_train_assign_moving_average_opts(tg_graph *g, tg_variable *variable, tg_tensor *value, double decay,
                                               const tg_assign_moving_average_opts *opts) {
    tg_assign_moving_average_opts o;
    if (tg_graph_status(g) != TG_OK || !variable || !value) return NULL;
    if (!TG__OPTS_RESOLVE(g, "tg_train_assign_moving_average_opts", tg_assign_moving_average_opts,
                          TG_ASSIGN_MOVING_AVERAGE_OPTS_INIT, opts, o))
        return NULL;
    if (!check_amv(g, variable, value, o.decay_t, &o)) return NULL;
    amv_extra x = {.cond = o.condition, .collections = o.debias_collections, .n_collections = o.n_debias_collections};
    return amv_x(g, variable, value, decay, o.decay_t, o.zero_debias, o.name, &x);
}

tg_tensor *tg_train_assign_moving_average(tg_graph *g, tg_variable *variable, tg_tensor *value, double decay,
                                          bool zero_debias, const char *name) {
    return assign_moving_average(g, variable, value, decay, NULL, zero_debias, name);
}

tg_tensor *tg_train_assign_moving_average_t(tg_graph *g, tg_variable *variable, tg_tensor *value, tg_tensor *decay,
                                            bool zero_debias, const char *name) {
    if (!decay) return NULL;
    return assign_moving_average(g, variable, value, 0, decay, zero_debias, name);
}

/* ---- weighted_moving_average ------------------------------------------------------ */

static bool check_wma(tg_graph *g, tg_tensor *value, tg_tensor *weight, const tg_weighted_moving_average_opts *o) {
    const char *who = "weighted_moving_average";
    tg_tensor *ts[2] = {value, weight};
    for (int i = 0; i < 2; i++) {
        if (!same_graph(g, ts[i])) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: tensor '%s' is from another graph", who, tg_tensor_name(ts[i]));
            return false;
        }
        tg_shape s = tg_tensor_shape(ts[i]);
        if (!is_float(tg_tensor_dtype(ts[i])) || tg_shape_num_elements(&s) < 0) {
            char buf[160];
            tg_graph_fail(g, TG_INVALID_ARGUMENT,
                          "%s: '%s' must be a float tensor with a fully defined shape, not %s of shape %s", who,
                          tg_tensor_name(ts[i]), tg_dtype_name(tg_tensor_dtype(ts[i])),
                          tg_shape_format(&s, buf, sizeof buf));
            return false;
        }
    }
    if (tg_tensor_dtype(value) != tg_tensor_dtype(weight)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: value '%s' (%s) and weight '%s' (%s) have different dtypes", who,
                      tg_tensor_name(value), tg_dtype_name(tg_tensor_dtype(value)), tg_tensor_name(weight),
                      tg_dtype_name(tg_tensor_dtype(weight)));
        return false;
    }
    tg_shape vs = tg_tensor_shape(value), ws = tg_tensor_shape(weight);
    if (!broadcasts_to(&ws, &vs)) {
        char a[160], b[160];
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "%s: weight '%s' of shape %s does not broadcast to value '%s' of shape %s",
                      who, tg_tensor_name(weight), tg_shape_format(&ws, a, sizeof a), tg_tensor_name(value),
                      tg_shape_format(&vs, b, sizeof b));
        return false;
    }
    if (!tg_graph_check_list(g, who, "collections", o->collections, o->n_collections)) return false;
    return tg__optim_check_scalar(g, o->decay_t, "decay");
}

tg_tensor *tg_train_weighted_moving_average(tg_graph *g, tg_tensor *value, double decay, tg_tensor *weight,
                                            const tg_weighted_moving_average_opts *opts) {
    const tg_weighted_moving_average_opts o = opts ? *opts : (tg_weighted_moving_average_opts){0};
    if (tg_graph_status(g) != TG_OK || !value || !weight) return NULL;
    if (!check_wma(g, value, weight, &o)) return NULL;
    tg_tensor *result = NULL;
    TG_WITH_VARIABLE_SCOPE(g, o.name, &(tg_variable_scope_opts){.default_name = "WeightedMovingAvg"}) {
        TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer(), .trainable = false,
                .collections = o.collections, .n_collections = o.n_collections);
        tg_dtype dt = tg_tensor_dtype(value);
        tg_variable *vxw = tg_get_variable(g, "value_x_weight", dt, tg_tensor_shape(value), &vo);
        tg_variable *wv = vxw ? tg_get_variable(g, "weight", dt, tg_tensor_shape(weight), &vo) : NULL;
        if (!wv) continue;
        tg_tensor *num = amv(g, vxw, tg_multiply(g, value, weight, "mul"), decay, o.decay_t, false, NULL);
        tg_tensor *den = num ? amv(g, wv, weight, decay, o.decay_t, false, NULL) : NULL;
        /* TF: truediv(numerator, denominator, name=scope.name). */
        if (den) result = tg_divide(g, num, den, tg_variable_scope_name(g));
    }
    return tg_graph_status(g) == TG_OK ? result : NULL;
}

/* ---- ExponentialMovingAverage ---------------------------------------------------------- */

typedef struct ema_entry {
    tg_item_kind kind;     /* TG_ITEM_VARIABLE or TG_ITEM_TENSOR */
    const void *key;       /* the variable or tensor */
    tg_variable *average;  /* its shadow */
} ema_entry;

struct tg_ema {
    tg_graph *g;
    char *name;
    double decay;
    tg_tensor *decay_t, *num_updates;
    bool zero_debias;
    ema_entry *entries;
    int n_entries, cap_entries;
    char *name_buf; /* average_name's answer before apply */
};

static bool numeric(tg_dtype d) { return d != TG_BOOL && (unsigned)d < TG_DTYPE_COUNT; }

/* What tg_ema_free and the owning graph release. */
static void ema_destroy(void *p) {
    tg_ema *ema = p;
    free(ema->name);
    free(ema->entries);
    free(ema->name_buf);
    free(ema);
}

tg_ema *tg_train_ema_new(tg_graph *g, double decay, const tg_ema_opts *opts) {
    const tg_ema_opts o = opts ? *opts : (tg_ema_opts){0};
    if (tg_graph_status(g) != TG_OK) return NULL;
    const char *name = o.name ? o.name : "ExponentialMovingAverage";
    if (!*name) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "ExponentialMovingAverage: the name must not be empty");
        return NULL;
    }
    if (!tg__optim_check_scalar(g, o.decay_t, "decay")) return NULL;
    if (o.num_updates) {
        tg_tensor *t = o.num_updates;
        tg_shape s = tg_tensor_shape(t);
        if (!same_graph(g, t)) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "ExponentialMovingAverage: num_updates '%s' is from another graph",
                          tg_tensor_name(t));
            return NULL;
        }
        if (!numeric(tg_tensor_dtype(t)) || s.rank > 0) {
            char buf[160];
            tg_graph_fail(g, TG_INVALID_ARGUMENT,
                          "ExponentialMovingAverage: num_updates must be a numeric scalar, got '%s' of dtype %s and "
                          "shape %s",
                          tg_tensor_name(t), tg_dtype_name(tg_tensor_dtype(t)), tg_shape_format(&s, buf, sizeof buf));
            return NULL;
        }
        if (o.decay_t && tg_tensor_dtype(o.decay_t) != TG_FLOAT32) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT,
                          "ExponentialMovingAverage: with num_updates the decay tensor must be float32 (Minimum of "
                          "float32 num_updates), got '%s' of dtype %s",
                          tg_tensor_name(o.decay_t), tg_dtype_name(tg_tensor_dtype(o.decay_t)));
            return NULL;
        }
    }
    tg_ema *e = calloc(1, sizeof *e);
    char *copy = dupstr(name);
    if (!e || !copy) {
        free(e);
        free(copy);
        fail_oom(g);
        return NULL;
    }
    e->g = g;
    e->name = copy;
    e->decay = decay;
    e->decay_t = o.decay_t;
    e->num_updates = o.num_updates;
    e->zero_debias = o.zero_debias;
    if (!tg_graph_own(g, e, ema_destroy)) {
        ema_destroy(e);
        return NULL;
    }
    return e;
}

void tg_ema_free(tg_ema *ema) {
    if (!ema) return;
    tg_graph_disown(ema->g, ema);
    ema_destroy(ema);
}

const char *tg_ema_name(const tg_ema *ema) { return ema ? ema->name : ""; }

static ema_entry *find_entry(const tg_ema *ema, const void *key) {
    for (int i = 0; i < ema->n_entries; i++)
        if (ema->entries[i].key == key) return &ema->entries[i];
    return NULL;
}

tg_variable *tg_ema_average(const tg_ema *ema, const tg_variable *var) {
    const ema_entry *e = ema && var ? find_entry(ema, var) : NULL;
    return e ? e->average : NULL;
}

tg_variable *tg_ema_average_tensor(const tg_ema *ema, const tg_tensor *t) {
    const ema_entry *e = ema && t ? find_entry(ema, t) : NULL;
    return e ? e->average : NULL;
}

/* average_name for the element key whose op is called op_name: the
 * shadow's name once applied, else graph.unique_name(op_name + "/" + name,
 * mark_as_used=False), kept in ema->name_buf. */
static const char *average_name_of(tg_ema *ema, const void *key, const char *op_name) {
    const ema_entry *e = find_entry(ema, key);
    if (e) return tg_variable_name(e->average);
    char *base = join(op_name, "/", ema->name);
    char *full = base ? join(tg_graph_name_scope(ema->g), "", base) : NULL;
    free(base);
    if (!full) return NULL;
    size_t cap = strlen(full) + 16;
    char *cand = malloc(cap);
    if (cand) {
        snprintf(cand, cap, "%s", full);
        for (int i = 1; tg_graph_op(ema->g, cand); i++) snprintf(cand, cap, "%s_%d", full, i);
    }
    free(full);
    free(ema->name_buf);
    ema->name_buf = cand;
    return cand;
}

const char *tg_ema_average_name(tg_ema *ema, const tg_variable *var) {
    if (!ema || !var) return NULL;
    return average_name_of(ema, var, tg_variable_name(var));
}

const char *tg_ema_average_name_tensor(tg_ema *ema, const tg_tensor *t) {
    if (!ema || !t) return NULL;
    return average_name_of(ema, t, tg_op_name(tg_tensor_op(t)));
}

/* ---- variables_to_restore ------------------------------------------------------------ */

/* The checkpoint map being built: keys[i] restores vars[i]. */
typedef struct restore_map {
    char **keys;
    tg_variable **vars;
    int n, cap_keys, cap_vars;
} restore_map;

static bool map_has_key(const restore_map *m, const char *key) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0) return true;
    return false;
}

static bool map_has_var(const restore_map *m, const tg_variable *v) {
    for (int i = 0; i < m->n; i++)
        if (m->vars[i] == v) return true;
    return false;
}

static bool map_add(restore_map *m, const char *key, tg_variable *v) {
    if (!grow((void **)&m->keys, &m->cap_keys, m->n + 1, sizeof *m->keys) ||
        !grow((void **)&m->vars, &m->cap_vars, m->n + 1, sizeof *m->vars))
        return false;
    if (!(m->keys[m->n] = dupstr(key))) return false;
    m->vars[m->n++] = v;
    return true;
}

static void map_free(restore_map *m) {
    for (int i = 0; i < m->n; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vars);
}

/* moving_avg_variables, checked, without repeats; NULL: TRAINABLE_VARIABLES
 * then MOVING_AVERAGE_VARIABLES (TF's default). A new array in *out. */
static int averaged_list(tg_ema *ema, tg_variable *const *vars, int n, tg_variable ***out) {
    tg_graph *g = ema->g;
    tg_variable **a = NULL, **b = NULL;
    int na = n, nb = 0;
    if (!vars) {
        na = tg_get_collection_variables(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, NULL, &a);
        nb = tg_get_collection_variables(g, TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES, NULL, &b);
    }
    tg_variable **list = na >= 0 && nb >= 0 ? malloc((size_t)(na + nb + 1) * sizeof *list) : NULL;
    int k = 0;
    for (int i = 0; list && i < na + nb; i++) {
        tg_variable *v = !vars ? (i < na ? a[i] : b[i - na]) : vars[i];
        if (!v || !var_in_graph(g, v)) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "ExponentialMovingAverage.variables_to_restore: moving_avg_variables[%d] "
                          "is %s", i, v ? "from another graph" : "NULL");
            free(list);
            list = NULL;
            k = -1;
            break;
        }
        bool seen = false;
        for (int j = 0; j < k && !seen; j++) seen = list[j] == v;
        if (!seen) list[k++] = v;
    }
    tg_free(a);
    tg_free(b);
    if (!list && k == 0) fail_oom(g);
    *out = list;
    return list ? k : -1;
}

/* The two arrays handed out: one allocation for the keys (pointers, then
 * the strings), one for the variables. */
static int hand_out(tg_graph *g, const restore_map *m, char ***keys, tg_variable ***vars) {
    size_t bytes = (size_t)(m->n + 1) * sizeof(char *);
    for (int i = 0; i < m->n; i++) bytes += strlen(m->keys[i]) + 1;
    char **k = malloc(bytes);
    tg_variable **v = malloc((size_t)(m->n + 1) * sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        fail_oom(g);
        return -1;
    }
    char *text = (char *)(k + m->n + 1);
    for (int i = 0; i < m->n; i++) {
        size_t len = strlen(m->keys[i]) + 1;
        memcpy(text, m->keys[i], len);
        k[i] = text;
        text += len;
        v[i] = m->vars[i];
    }
    k[m->n] = NULL;
    v[m->n] = NULL;
    *keys = k;
    *vars = v;
    return m->n;
}

int tg_ema_variables_to_restore(tg_ema *ema, tg_variable *const *moving_avg_variables, int n, char ***keys,
                                tg_variable ***vars) {
    if (keys) *keys = NULL;
    if (vars) *vars = NULL;
    if (!ema || !keys || !vars || tg_graph_status(ema->g) != TG_OK) return -1;
    tg_graph *g = ema->g;
    if (n < 0 || (moving_avg_variables == NULL && n > 0)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "ExponentialMovingAverage.variables_to_restore: n is %d%s", n,
                      moving_avg_variables ? "" : " with a NULL list");
        return -1;
    }
    tg_variable **avg = NULL, **globals = NULL;
    int na = averaged_list(ema, moving_avg_variables, n, &avg);
    int ng = na < 0 ? -1 : tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &globals);
    restore_map m = {0};
    bool ok = na >= 0 && ng >= 0;
    for (int i = 0; ok && i < na; i++) {
        const char *name = tg_ema_average_name(ema, avg[i]);
        ok = name && map_add(&m, name, avg[i]);
    }
    /* TF: every other global variable restores itself, unless its name is
     * already a key (a shadow: "w/ExponentialMovingAverage" restores w) */
    for (int i = 0; ok && i < ng; i++) {
        tg_variable *v = globals[i];
        if (map_has_var(&m, v) || map_has_key(&m, tg_variable_name(v))) continue;
        ok = map_add(&m, tg_variable_name(v), v);
    }
    int r = -1;
    if (!ok && tg_graph_status(g) == TG_OK) fail_oom(g);
    if (ok) r = hand_out(g, &m, keys, vars);
    map_free(&m);
    free(avg);
    tg_free(globals);
    return r;
}

/* The element's op name (var.op.name), TF's name ("w:0", "add:0"),
 * dtype and shape. */
static const char *item_op_name(const tg_item *it) {
    return it->kind == TG_ITEM_VARIABLE ? tg_variable_name(it->u.variable) : tg_op_name(tg_tensor_op(it->u.tensor));
}
static tg_dtype item_dtype(const tg_item *it) {
    return it->kind == TG_ITEM_VARIABLE ? tg_variable_dtype(it->u.variable) : tg_tensor_dtype(it->u.tensor);
}
static tg_shape item_shape(const tg_item *it) {
    return it->kind == TG_ITEM_VARIABLE ? tg_variable_shape(it->u.variable) : tg_tensor_shape(it->u.tensor);
}
static const void *item_key(const tg_item *it) {
    return it->kind == TG_ITEM_VARIABLE ? (const void *)it->u.variable : (const void *)it->u.tensor;
}

static bool check_item(tg_graph *g, const tg_item *it, int i) {
    bool var = it->kind == TG_ITEM_VARIABLE, ten = it->kind == TG_ITEM_TENSOR;
    if (!var && !ten) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "ExponentialMovingAverage.apply: element %d is not a variable or tensor",
                      i);
        return false;
    }
    if (var ? !it->u.variable : !it->u.tensor) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "ExponentialMovingAverage.apply: element %d is NULL", i);
        return false;
    }
    if (var ? !var_in_graph(g, it->u.variable) : !same_graph(g, it->u.tensor)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "ExponentialMovingAverage.apply: '%s' is from another graph",
                      item_op_name(it));
        return false;
    }
    if (!is_float(item_dtype(it))) {
        if (var)
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "The variables must be half, float, or double: %s:0",
                          tg_variable_name(it->u.variable));
        else
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "The variables must be half, float, or double: %s",
                          tg_tensor_name(it->u.tensor));
        return false;
    }
    tg_shape s = item_shape(it);
    if (ten && tg_shape_num_elements(&s) < 0) {
        char buf[160];
        tg_graph_fail(g, TG_INVALID_ARGUMENT,
                      "ExponentialMovingAverage.apply: the shape of tensor '%s' must be fully defined, not %s",
                      tg_tensor_name(it->u.tensor), tg_shape_format(&s, buf, sizeof buf));
        return false;
    }
    return true;
}

/* slot_creator.create_slot / create_zeros_slot: inside
 * variable_scope(None, default_name="<primary>/<ema name>"),
 * get_variable(""), starting at the variable's initial value (TF's
 * var.initialized_value(), without its is-initialized cond) or at zeros. */
static tg_variable *create_shadow(tg_ema *ema, const tg_item *it) {
    tg_graph *g = ema->g;
    char *scope = join(item_op_name(it), "/", ema->name);
    if (!scope) {
        fail_oom(g);
        return NULL;
    }
    tg_variable *avg = NULL;
    TG_WITH_VARIABLE_SCOPE(g, NULL, &(tg_variable_scope_opts){.default_name = scope}) {
        TG_OPTS(tg_get_variable_opts, o, .initializer = tg_zeros_initializer(), .trainable = false);
        if (it->kind == TG_ITEM_VARIABLE) o.initial_value = tg_variable_initial_value(it->u.variable);
        avg = tg_get_variable(g, "", item_dtype(it), item_shape(it), &o);
    }
    free(scope);
    return avg;
}

/* The decay tensor in the EMA's name scope. */
static tg_tensor *ema_decay(tg_ema *ema) {
    tg_graph *g = ema->g;
    tg_tensor *decay = ema->decay_t ? ema->decay_t : tg_constant_scalar(g, TG_FLOAT32, ema->decay, "decay");
    if (!ema->num_updates) return decay;
    tg_tensor *n = ema->num_updates;
    if (tg_tensor_dtype(n) != TG_FLOAT32) n = tg_cast(g, n, TG_FLOAT32, "num_updates");
    tg_tensor *num = r_add(g, 1.0, n);
    tg_tensor *den = r_add(g, 10.0, n);
    return tg_minimum(g, decay, tg_divide(g, num, den, "truediv"), "Minimum");
}

tg_op *tg_ema_apply_items(tg_ema *ema, const tg_item *items, int n) {
    if (!ema || tg_graph_status(ema->g) != TG_OK) return NULL;
    tg_graph *g = ema->g;
    tg_item *list = NULL;
    if (!items) {
        tg_variable **vars = NULL;
        n = tg_get_collection_variables(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, NULL, &vars);
        if (n < 0) {
            fail_oom(g);
            return NULL;
        }
        list = n ? malloc((size_t)n * sizeof *list) : NULL;
        for (int i = 0; list && i < n; i++) list[i] = TG_ITEM_OF_VARIABLE(vars[i]);
        tg_free(vars);
    } else {
        if (n < 0) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "ExponentialMovingAverage.apply: n is %d", n);
            return NULL;
        }
        list = n ? malloc((size_t)n * sizeof *list) : NULL;
        if (list) memcpy(list, items, (size_t)n * sizeof *list);
    }
    bool *debias = n ? calloc((size_t)n, sizeof *debias) : NULL;
    tg_op **updates = n ? malloc((size_t)n * sizeof *updates) : NULL;
    tg_op *result = NULL;
    if (n && (!list || !debias || !updates)) {
        fail_oom(g);
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (!check_item(g, &list[i], i)) goto done;
    if (!grow((void **)&ema->entries, &ema->cap_entries, ema->n_entries + n, sizeof *ema->entries)) {
        fail_oom(g);
        goto done;
    }
    /* Shadows first, in init_scope: outside every control-dependency block. */
    int tok = tg_control_dependencies_push(g, NULL, 0);
    for (int i = 0; i < n; i++) {
        const void *key = item_key(&list[i]);
        if (find_entry(ema, key)) continue;
        tg_variable *avg = create_shadow(ema, &list[i]);
        if (!avg) break;
        if (list[i].kind == TG_ITEM_VARIABLE)
            tg_add_to_collection(g, TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES, list[i]);
        ema->entries[ema->n_entries++] = (ema_entry){list[i].kind, key, avg};
        /* TF 1.15 keeps this set per apply() call: only new tensor shadows. */
        for (int j = i; j < n; j++)
            if (item_key(&list[j]) == key) debias[j] = list[i].kind == TG_ITEM_TENSOR && ema->zero_debias;
    }
    tg_scope_pop(g, tok);
    if (tg_graph_status(g) != TG_OK) goto done;
    TG_WITH_NAME_SCOPE(g, ema->name) {
        char *scope = dupstr(tg_graph_name_scope(g));
        if (!scope) {
            fail_oom(g);
            continue;
        }
        tg_tensor *decay = ema_decay(ema);
        int k = 0;
        for (int i = 0; decay && i < n; i++) {
            tg_tensor *value =
                list[i].kind == TG_ITEM_VARIABLE ? tg_variable_value(list[i].u.variable) : list[i].u.tensor;
            tg_variable *avg = find_entry(ema, item_key(&list[i]))->average;
            tg_tensor *u = amv(g, avg, value, 0, decay, debias[i], NULL);
            if (!u) break;
            updates[k++] = tg_tensor_op(u);
        }
        if (k == n && tg_graph_status(g) == TG_OK) result = tg_group(g, updates, n, scope);
        free(scope);
    }
done:
    if (!result && tg_graph_status(g) == TG_OK)
        tg_graph_fail(g, TG_INTERNAL, "%s: the update could not be built", ema->name);
    free(list);
    free(debias);
    free(updates);
    return tg_graph_status(g) == TG_OK ? result : NULL;
}

/* The item list for tg_ema_apply / tg_ema_apply_tensors (never NULL on
 * success, so that an empty list is not read as "all trainable"). */
static tg_item *new_items(tg_ema *ema, int n) {
    if (n < 0) {
        tg_graph_fail(ema->g, TG_INVALID_ARGUMENT, "ExponentialMovingAverage.apply: n is %d", n);
        return NULL;
    }
    tg_item *items = malloc((size_t)(n ? n : 1) * sizeof *items);
    if (!items) fail_oom(ema->g);
    return items;
}

tg_op *tg_ema_apply(tg_ema *ema, tg_variable *const *vars, int n) {
    if (!ema || tg_graph_status(ema->g) != TG_OK) return NULL;
    if (!vars) return tg_ema_apply_items(ema, NULL, 0);
    tg_item *items = new_items(ema, n);
    if (!items) return NULL;
    for (int i = 0; i < n; i++) items[i] = TG_ITEM_OF_VARIABLE(vars[i]);
    tg_op *r = tg_ema_apply_items(ema, items, n);
    free(items);
    return r;
}

tg_op *tg_ema_apply_tensors(tg_ema *ema, tg_tensor *const *tensors, int n) {
    if (!ema || tg_graph_status(ema->g) != TG_OK) return NULL;
    if (!tensors && n > 0) {
        tg_graph_fail(ema->g, TG_INVALID_ARGUMENT, "ExponentialMovingAverage.apply: tensors is NULL");
        return NULL;
    }
    tg_item *items = new_items(ema, n);
    if (!items) return NULL;
    for (int i = 0; i < n; i++) items[i] = TG_ITEM_OF_TENSOR(tensors[i]);
    tg_op *r = tg_ema_apply_items(ema, items, n);
    free(items);
    return r;
}
