/* tf.get_variable and the initializers: TF1's reuse rules and op layout.
 * A new variable "v" is, in creation order: "v/Initializer/..." (the initial
 * value), "v" (VariableV2), "v/Assign" and "v/read", all built at the root
 * name scope and outside control-dependency blocks, as TF's init_scope does. */
#include <math.h>
#include <string.h>

#include "ops_internal.h"

tg_op *tg__variable_v2(tg_graph *g, tg_dtype dtype, tg_shape shape, const char *exact_name);

/* ---- initializers -------------------------------------------------------- */

/* Every constructor goes through here, so that a value carrying the tag
 * also carries TF's seed=None rather than the literal's seed 0. */
static tg_initializer made(tg_initializer in) {
    in.tg__init = TG__TAG_tg_initializer;
    in.seed = TG_NO_SEED;
    return in;
}

tg_initializer tg_zeros_initializer(void) { return made((tg_initializer){.kind = TG_INIT_ZEROS}); }
tg_initializer tg_ones_initializer(void) { return made((tg_initializer){.kind = TG_INIT_ONES}); }
tg_initializer tg_constant_initializer(double value) {
    return made((tg_initializer){.kind = TG_INIT_CONSTANT, .value = value});
}
tg_initializer tg_random_uniform_initializer(double minval, double maxval) {
    return made((tg_initializer){.kind = TG_INIT_RANDOM_UNIFORM, .minval = minval, .maxval = maxval});
}
tg_initializer tg_random_normal_initializer(double mean, double stddev) {
    return made((tg_initializer){.kind = TG_INIT_RANDOM_NORMAL, .mean = mean, .stddev = stddev});
}
tg_initializer tg_truncated_normal_initializer(double mean, double stddev) {
    return made((tg_initializer){.kind = TG_INIT_TRUNCATED_NORMAL, .mean = mean, .stddev = stddev});
}
tg_initializer tg_variance_scaling_initializer(double scale, tg_fan_mode mode, tg_distribution dist) {
    return made((tg_initializer){.kind = TG_INIT_VARIANCE_SCALING, .scale = scale, .mode = mode,
                                 .distribution = dist});
}
tg_initializer tg_glorot_uniform_initializer(void) {
    return tg_variance_scaling_initializer(1.0, TG_FAN_AVG, TG_DIST_UNIFORM);
}
tg_initializer tg_initializer_with_seed(tg_initializer init, int64_t seed) {
    init.seed = seed;
    return init;
}

static bool is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }

/* TF's _compute_fans. */
static void compute_fans(const tg_shape *s, double *fan_in, double *fan_out) {
    if (s->rank < 1) {
        *fan_in = *fan_out = 1;
    } else if (s->rank == 1) {
        *fan_in = *fan_out = (double)s->dims[0];
    } else if (s->rank == 2) {
        *fan_in = (double)s->dims[0];
        *fan_out = (double)s->dims[1];
    } else {
        double rf = 1;
        for (int i = 0; i < s->rank - 2; i++) rf *= (double)s->dims[i];
        *fan_in = (double)s->dims[s->rank - 2] * rf;
        *fan_out = (double)s->dims[s->rank - 1] * rf;
    }
}

static tg_tensor *filled(tg_graph *g, tg_dtype dtype, tg_shape shape, double v, const char *name) {
    int64_t n = tg_shape_num_elements(&shape);
    size_t es = tg_dtype_size(dtype);
    unsigned char *data = tg__graph_alloc(g, (size_t)(n ? n : 1) * es);
    if (!data) return NULL;
    for (int64_t i = 0; i < n; i++) {
        void *p = data + (size_t)i * es;
        switch (dtype) {
        case TG_FLOAT32: *(float *)p = (float)v; break;
        case TG_FLOAT64: *(double *)p = v; break;
        case TG_INT32: *(int32_t *)p = (int32_t)v; break;
        case TG_INT64: *(int64_t *)p = (int64_t)v; break;
        case TG_BOOL: *(bool *)p = v != 0; break;
        case TG_DTYPE_COUNT: break;
        }
    }
    return tg_constant_data(g, dtype, shape, data, name);
}

static tg_tensor *initial_value(tg_graph *g, const tg_initializer *in, tg_dtype dtype, tg_shape shape) {
    tg_random_opts r = TG_RANDOM_OPTS_INIT;
    r.dtype = dtype;
    r.seed = in->seed;
    switch (in->kind) {
    case TG_INIT_DEFAULT:
    case TG_INIT_ZEROS: return filled(g, dtype, shape, 0, "zeros");
    case TG_INIT_ONES: return filled(g, dtype, shape, 1, "ones");
    case TG_INIT_CONSTANT: return filled(g, dtype, shape, in->value, "Const");
    case TG_INIT_RANDOM_UNIFORM:
        r.minval = in->minval;
        r.maxval = in->maxval;
        return tg_random_uniform(g, shape, &r);
    case TG_INIT_RANDOM_NORMAL:
        r.mean = in->mean;
        r.stddev = in->stddev;
        return tg_random_normal(g, shape, &r);
    case TG_INIT_TRUNCATED_NORMAL:
        r.mean = in->mean;
        r.stddev = in->stddev;
        return tg_truncated_normal(g, shape, &r);
    case TG_INIT_VARIANCE_SCALING: {
        double fan_in, fan_out;
        compute_fans(&shape, &fan_in, &fan_out);
        double n = in->mode == TG_FAN_IN ? fan_in : in->mode == TG_FAN_OUT ? fan_out : (fan_in + fan_out) / 2;
        double scale = in->scale / (n > 1 ? n : 1);
        if (in->distribution == TG_DIST_UNIFORM) {
            double limit = sqrt(3.0 * scale);
            r.minval = -limit;
            r.maxval = limit;
            return tg_random_uniform(g, shape, &r);
        }
        if (in->distribution == TG_DIST_UNTRUNCATED_NORMAL) {
            r.stddev = sqrt(scale);
            return tg_random_normal(g, shape, &r);
        }
        /* The constant is the stddev of a unit normal truncated to [-2, 2]. */
        r.stddev = sqrt(scale) / 0.87962566103423978;
        return tg_truncated_normal(g, shape, &r);
    }
    }
    return NULL;
}

/* Only the all-zero value (TF's None) may lack the tag: any other literal
 * has lost fields to 0 that TF defaults otherwise (stddev and maxval 1.0,
 * seed None), and one with kind left out but other fields set would
 * silently be None. */
static bool initializer_made(tg_graph *g, const char *var, const tg_initializer *in) {
    if (in->tg__init == TG__TAG_tg_initializer) return true;
    if (in->tg__init == 0 && in->kind == TG_INIT_DEFAULT && in->value == 0 && in->minval == 0 && in->maxval == 0 &&
        in->mean == 0 && in->stddev == 0 && in->scale == 0 && in->mode == 0 && in->distribution == 0 && in->seed == 0)
        return true;
    tg__fail(g, TG_INVALID_ARGUMENT,
             "%s: initializer not made by a tg_*_initializer() constructor (a literal's missing fields would be 0: "
             "stddev 0, no seed); start from one, e.g. tg_initializer_with_seed(tg_truncated_normal_initializer(0, "
             "0.1), 42)",
             var);
    return false;
}

/* Rejects what TF rejects before anything is built, so that a mistake
 * leaves no op behind. */
static bool check_initializer(tg_graph *g, const char *var, const tg_initializer *in, tg_dtype dtype) {
    bool random = in->kind >= TG_INIT_RANDOM_UNIFORM && in->kind <= TG_INIT_VARIANCE_SCALING;
    if (!initializer_made(g, var, in)) return false;
    if ((unsigned)in->kind > TG_INIT_VARIANCE_SCALING) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: unknown initializer kind %d", var, (int)in->kind);
        return false;
    }
    if (random && !is_float(dtype)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: a random initializer needs a float dtype, not %s", var,
                 tg_dtype_name(dtype));
        return false;
    }
    if (in->kind == TG_INIT_VARIANCE_SCALING &&
        (in->scale <= 0 || (unsigned)in->mode > TG_FAN_AVG || (unsigned)in->distribution > TG_DIST_UNIFORM)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: variance_scaling needs scale > 0 and a valid mode and distribution",
                 var);
        return false;
    }
    return true;
}

/* A tensor initial value (TF's initializer=<Tensor>) must fit the variable. */
static bool check_initial_value(tg_graph *g, const char *var, tg_tensor *t, tg_dtype dtype, const tg_shape *shape) {
    if (!t) return true;
    if (t->op->g != g) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: initial value '%s' is from another graph", var, t->name);
        return false;
    }
    char a[128], b[128];
    if (t->dtype != dtype || !tg__shape_compatible(&t->shape, shape)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: initial value '%s' of dtype %s and shape %s does not fit dtype %s and shape %s",
                 var, t->name, tg_dtype_name(t->dtype), tg_shape_format(&t->shape, a, sizeof a), tg_dtype_name(dtype),
                 tg_shape_format(shape, b, sizeof b));
        return false;
    }
    return true;
}

/* ---- get_variable ----------------------------------------------------------------- */

static tg_variable *existing_variable(tg_graph *g, tg_variable *v, tg_reuse reuse, tg_dtype dtype,
                                      const tg_shape *shape) {
    if (reuse == TG_REUSE_INHERIT) {
        tg__fail(g, TG_INVALID_ARGUMENT,
                 "Variable %s already exists, disallowed. Did you mean to set reuse=True or "
                 "reuse=tf.AUTO_REUSE in VarScope?",
                 v->name);
        return NULL;
    }
    char a[128], b[128];
    if (!tg__shape_compatible(shape, &v->shape)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "Trying to share variable %s, but specified shape %s and found shape %s.",
                 v->name, tg_shape_format(shape, a, sizeof a), tg_shape_format(&v->shape, b, sizeof b));
        return NULL;
    }
    if (dtype != v->dtype) {
        tg__fail(g, TG_INVALID_ARGUMENT, "Trying to share variable %s, but specified dtype %s and found dtype %s.",
                 v->name, tg_dtype_name(dtype), tg_dtype_name(v->dtype));
        return NULL;
    }
    return v;
}

static void add_to_collections(tg_graph *g, tg_variable *v, const tg_get_variable_opts *o) {
    static const char *const dflt[] = {TG_GRAPHKEYS_GLOBAL_VARIABLES};
    const char *const *keys = o->collections ? o->collections : dflt;
    int n = o->collections ? o->n_collections : 1;
    tg_add_to_collections(g, keys, n, TG_ITEM_OF_VARIABLE(v));
    if (!v->trainable) return;
    for (int i = 0; i < n; i++)
        if (keys[i] && strcmp(keys[i], TG_GRAPHKEYS_TRAINABLE_VARIABLES) == 0) return;
    tg_add_to_collection(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, TG_ITEM_OF_VARIABLE(v));
}

/* full: the variable's name; exact: use it as the name scope as it is
 * (TF's "<scope>/"); in_store: found by later get_variable calls (false for
 * tf.Variable). */
static tg_variable *create_variable(tg_graph *g, const char *full, bool exact, bool in_store, tg_dtype dtype,
                                    tg_shape shape, const tg_initializer *init, const tg_get_variable_opts *o,
                                    tg_regularizer reg) {
    tg_variable *v = tg__graph_alloc(g, sizeof *v);
    if (!v) return NULL;
    v->g = g;
    v->dtype = dtype;
    v->shape = shape;
    v->trainable = o->trainable;
    v->constraint = o->constraint;

    /* Variable names depend only on the variable scope, so build at the
     * root name scope; init_scope also clears control dependencies. */
    int tok = tg_name_scope_push(g, "");
    tg_control_dependencies_push(g, NULL, 0);
    const char *scope;
    /* TF's full name for get_variable("") is "<scope>/", which re-enters
     * that name scope exactly instead of uniquifying it. */
    const char *ns = exact ? tg__arena_printf(&g->arena, "%s/", full) : full;
    tg__builder_scope(g, ns, ns, &scope);
    if (o->initial_value)
        v->initial_value = o->initial_value;
    else
        TG_WITH_NAME_SCOPE(g, "Initializer") { v->initial_value = initial_value(g, init, dtype, shape); }
    if (scope) v->op = tg__variable_v2(g, dtype, shape, scope);
    tg_tensor *ref = tg__out0(v->op);
    tg_tensor *assigned = tg_assign(g, ref, v->initial_value, "Assign");
    v->initializer = assigned ? assigned->op : NULL;
    v->read = tg_identity(g, ref, "read");
    tg_scope_pop(g, tok);
    if (!v->read) return NULL;
    v->name = v->op->name;
    if (!tg__register_variable(g, v, in_store ? full : NULL)) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    add_to_collections(g, v, o);
    if (reg.fn && tg_graph_status(g) == TG_OK) {
        char *rs = tg__arena_printf(&g->arena, "%s/Regularizer/", v->name);
        if (!rs) return NULL;
        tg_tensor *loss = NULL;
        TG_WITH_NAME_SCOPE(g, rs) { loss = reg.fn(g, v->read, &reg); }
        if (loss) tg_add_to_collection(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES, TG_ITEM_OF_TENSOR(loss));
    }
    return tg_graph_status(g) == TG_OK ? v : NULL;
}

tg_variable *tg_get_variable(tg_graph *g, const char *name, tg_dtype dtype, tg_shape shape,
                             const tg_get_variable_opts *opts) {
    if (!tg__graph_ready(g, NULL, 0)) return NULL;
    tg_get_variable_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_get_variable", tg_get_variable_opts, TG_GET_VARIABLE_OPTS_INIT, opts, o))
        return NULL;
    const tg__var_scope *vs = tg__current_var_scope(g);
    /* TF: the name "" inside a scope names the variable after the scope
     * itself (how optimizer slots such as "w/Momentum" are made). */
    bool scope_itself = name && !*name && *vs->name;
    if (!name || (!scope_itself && !tg__valid_name(name))) {
        tg__fail(g, TG_INVALID_ARGUMENT, "get_variable: '%s' is not a valid variable name", name ? name : "(null)");
        return NULL;
    }
    const char *full = scope_itself ? tg__arena_strdup(&g->arena, vs->name)
                       : *vs->name  ? tg__arena_printf(&g->arena, "%s/%s", vs->name, name)
                                    : tg__arena_strdup(&g->arena, name);
    if (!full) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"), NULL;
    if ((unsigned)dtype >= TG_DTYPE_COUNT) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: invalid dtype %d", full, (int)dtype);
        return NULL;
    }
    if ((unsigned)o.reuse > TG_AUTO_REUSE) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: The reuse parameter must be True or False or None.", full);
        return NULL;
    }
    tg_reuse reuse = o.reuse != TG_REUSE_INHERIT ? o.reuse : vs->reuse;
    tg_variable *v = tg_graph_variable(g, full);
    if (v) return existing_variable(g, v, reuse, dtype, &shape);
    if (reuse == TG_REUSE_TRUE) {
        tg__fail(g, TG_INVALID_ARGUMENT,
                 "Variable %s does not exist, or was not created with tf.get_variable(). Did you mean "
                 "to set reuse=tf.AUTO_REUSE in VarScope?",
                 full);
        return NULL;
    }
    if (tg_shape_num_elements(&shape) < 0) {
        char s[128];
        bool known = shape.rank >= 0 && shape.rank <= TG_MAX_RANK;
        for (int i = 0; known && i < shape.rank; i++) known = shape.dims[i] >= 0;
        tg__fail(g, TG_INVALID_ARGUMENT,
                 known ? "Shape of a new variable (%s) has too many elements: %s."
                       : "Shape of a new variable (%s) must be fully defined, but instead was %s.",
                 full, tg_shape_format(&shape, s, sizeof s));
        return NULL;
    }
    /* a list without its count would put the variable in no collection at all */
    if (!tg_graph_check_list(g, full, "collections", o.collections, o.n_collections)) return NULL;
    /* Checked before the fallback, which would hide a literal whose kind
     * was left out. */
    if (!initializer_made(g, full, &o.initializer)) return NULL;
    tg_initializer init = o.initializer.kind != TG_INIT_DEFAULT ? o.initializer : vs->initializer;
    if (init.kind == TG_INIT_DEFAULT && is_float(dtype)) init = tg_glorot_uniform_initializer();
    if (!check_initializer(g, full, &init, dtype)) return NULL;
    if (!check_initial_value(g, full, o.initial_value, dtype, &shape)) return NULL;
    tg_regularizer reg = o.regularizer.fn ? o.regularizer : vs->regularizer;
    return create_variable(g, full, scope_itself, true, dtype, shape, &init, &o, reg);
}

/* TF1's tf.Variable: named like an op in the current name scope
 * ("train/beta1_power", uniquified to "..._1"), never in the variable store,
 * so get_variable neither finds nor conflicts with it. */
tg_variable *tg_variable_new(tg_graph *g, const char *name, tg_dtype dtype, tg_shape shape,
                             const tg_get_variable_opts *opts) {
    if (!tg__graph_ready(g, NULL, 0)) return NULL;
    tg_get_variable_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_variable_new", tg_get_variable_opts, TG_GET_VARIABLE_OPTS_INIT, opts, o))
        return NULL;
    const char *req = name ? name : "Variable";
    if (!tg__valid_name(req)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "Variable: '%s' is not a valid variable name", req);
        return NULL;
    }
    if ((unsigned)dtype >= TG_DTYPE_COUNT || tg_shape_num_elements(&shape) < 0) {
        char s[128];
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: a variable needs a valid dtype and a fully defined shape, not %s", req,
                 tg_shape_format(&shape, s, sizeof s));
        return NULL;
    }
    if (!tg_graph_check_list(g, req, "collections", o.collections, o.n_collections)) return NULL;
    if (!initializer_made(g, req, &o.initializer)) return NULL;
    tg_initializer init = o.initializer;
    if (init.kind == TG_INIT_DEFAULT && is_float(dtype)) init = tg_glorot_uniform_initializer();
    if (!check_initializer(g, req, &init, dtype)) return NULL;
    if (!check_initial_value(g, req, o.initial_value, dtype, &shape)) return NULL;
    const char *full = tg__unique_name(g, req, true);
    if (!full) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"), NULL;
    return create_variable(g, full, true, false, dtype, shape, &init, &o, o.regularizer);
}

/* ---- initializer ops ------------------------------------------------------------------ */

tg_op *tg_variables_initializer(tg_graph *g, tg_variable *const *vars, int n, const char *name) {
    if (!tg__graph_ready(g, NULL, 0)) return NULL;
    if (n < 0 || (n > 0 && !vars)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: bad variable list", name ? name : "init");
        return NULL;
    }
    if (n == 0) return tg_no_op(g, name ? name : "init");
    tg_op **ops = tg__graph_alloc(g, (size_t)n * sizeof *ops);
    if (!ops) return NULL;
    for (int i = 0; i < n; i++) {
        if (!vars[i] || vars[i]->g != g) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: variable %d is NULL or from another graph",
                     name ? name : "init", i);
            return NULL;
        }
        ops[i] = vars[i]->initializer;
    }
    return tg_group(g, ops, n, name ? name : "init");
}

tg_op *tg_global_variables_initializer(tg_graph *g) {
    if (!tg__graph_ready(g, NULL, 0)) return NULL;
    tg_variable **vars;
    int n = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vars);
    if (n < 0) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "out of memory"), NULL;
    tg_op *op = tg_variables_initializer(g, vars, n, "init");
    tg_free(vars);
    if (op) tg__lint_note_initializer(g, op, n);
    return op;
}
