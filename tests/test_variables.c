/* test_variables.c: tf.get_variable, initializers, regularizers and assigns.
 *
 * Covers the reuse errors with TF's exact texts, shape/dtype mismatch on
 * share, GLOBAL/TRAINABLE/custom collections and trainable=false, the op
 * names "<v>", "<v>/read", "<v>/Assign", "<v>/Initializer/...", the values
 * of zeros/ones/constant and scope-default initializers, statistical checks
 * of random_uniform, random_normal, truncated_normal and glorot_uniform
 * (bounds justified next to each test), seed reproducibility, the refusal
 * of initializers not made by a constructor, regularizers,
 * uninitialized reads, tg_variables_initializer on a subset, and
 * assign/assign_add/assign_sub. */
#include "tg_check.h"

typedef struct stats {
    double mean, std, min, max;
    int64_t n;
} stats;

static stats stats_of(const tg_array *a)
{
    stats s = {0, 0, INFINITY, -INFINITY, tg_array_size(a)};
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < s.n; i++) {
        double v = tg_array_get(a, i);
        sum += v;
        s.min = v < s.min ? v : s.min;
        s.max = v > s.max ? v : s.max;
    }
    s.mean = sum / (double)s.n;
    for (int64_t i = 0; i < s.n; i++) {
        double d = tg_array_get(a, i) - s.mean;
        sq += d * d;
    }
    s.std = sqrt(sq / (double)s.n);
    return s;
}

/* Runs tg_global_variables_initializer in a fresh session and reads v. */
static tg_array *init_and_read(tg_graph *g, tg_variable *v)
{
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    ck_assert_ptr_nonnull(s);
    tgc_run_target(s, init);
    tg_array *a = tgc_fetch(s, tg_variable_value(v), NULL, 0);
    tg_session_free(s);
    return a;
}

/* tf.get_variable(name, shape) with every default. */
static tg_variable *getv(tg_graph *g, const char *name, tg_dtype dtype, tg_shape shape)
{
    return tg_get_variable(g, name, dtype, shape, NULL);
}

static tg_variable *make_var(tg_graph *g, const char *name, tg_dtype dtype, tg_shape shape,
                             tg_initializer init)
{
    TG_OPTS(tg_get_variable_opts, vo, .initializer = init);
    return tg_get_variable(g, name, dtype, shape, &vo);
}

static int in_collection(tg_graph *g, const char *key, const tg_variable *v)
{
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(g, key, NULL, &vars), hits = 0;
    ck_assert_int_ge(n, 0);
    for (int i = 0; i < n; i++)
        hits += vars[i] == v;
    tg_free(vars);
    return hits;
}

/* ---- reuse and sharing ----------------------------------------------------------- */

START_TEST(test_reuse_errors)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = NULL, *dup = (tg_variable *)1, *again = NULL, *missing = (tg_variable *)1;
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL) { w = getv(g, "w", TG_FLOAT32, TG_SHAPE(2, 3)); }
    ck_assert_tg_ok(g);
    int n = tg_graph_num_ops(g);
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL) { dup = getv(g, "w", TG_FLOAT32, TG_SHAPE(2, 3)); }
    ck_assert_ptr_null(dup);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g),
                           "Variable net/w already exists, disallowed. Did you mean to set "
                           "reuse=True or reuse=tf.AUTO_REUSE in VarScope?");
    tg_graph_clear_status(g);

    TG_WITH_VARIABLE_SCOPE(g, "net", &(tg_variable_scope_opts){.reuse = TG_REUSE_TRUE})
    {
        again = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2, 3), NULL);
        missing = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2), NULL);
    }
    ck_assert_ptr_eq(again, w);
    ck_assert_ptr_null(missing);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g),
                           "Variable net/v does not exist, or was not created with "
                           "tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in "
                           "VarScope?");
    tg_graph_clear_status(g);
    /* per-call reuse overrides the scope's */
    tg_variable *per_call = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL)
    {
        TG_OPTS(tg_get_variable_opts, vo, .reuse = TG_REUSE_TRUE);
        per_call = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2, 3), &vo);
    }
    ck_assert_tg_ok(g);
    ck_assert_ptr_eq(per_call, w);
    /* sharing creates no op (entering the scopes creates none either) */
    ck_assert_int_eq(tg_graph_num_ops(g), n);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_share_mismatch)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = NULL, *bad = (tg_variable *)1;
    tg_variable_scope_opts reuse = {.reuse = TG_REUSE_TRUE};
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL) { w = getv(g, "w", TG_FLOAT32, TG_SHAPE(2, 3)); }
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(w);
    TG_WITH_VARIABLE_SCOPE(g, "net", &reuse) { bad = getv(g, "w", TG_FLOAT32, TG_SHAPE(3, 2)); }
    ck_assert_ptr_null(bad);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g),
                           "Trying to share variable net/w, but specified shape (3, 2) and "
                           "found shape (2, 3).");
    tg_graph_clear_status(g);
    bad = (tg_variable *)1;
    TG_WITH_VARIABLE_SCOPE(g, "net", &reuse) { bad = getv(g, "w", TG_FLOAT64, TG_SHAPE(2, 3)); }
    ck_assert_ptr_null(bad);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "Trying to share variable net/w");
    ck_assert_str_contains(tg_graph_message(g), "float64");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_collections)
{
    tg_graph *g = tg_graph_new();
    const char *mine[] = {"mine"};
    const char *mine_tr[] = {"mine", TG_GRAPHKEYS_TRAINABLE_VARIABLES};
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2), NULL);
    TG_OPTS(tg_get_variable_opts, vo, .trainable = false);
    tg_variable *f = tg_get_variable(g, "f", TG_FLOAT32, TG_SHAPE(2), &vo);
    TG_OPTS(tg_get_variable_opts, vo2, .collections = mine, .n_collections = 1);
    tg_variable *c = tg_get_variable(g, "c", TG_FLOAT32, TG_SHAPE(2), &vo2);
    TG_OPTS(tg_get_variable_opts, vo3, .collections = mine_tr, .n_collections = 2);
    tg_variable *d = tg_get_variable(g, "d", TG_FLOAT32, TG_SHAPE(2), &vo3);
    ck_assert_tg_ok(g);
    const char *GV = TG_GRAPHKEYS_GLOBAL_VARIABLES, *TV = TG_GRAPHKEYS_TRAINABLE_VARIABLES;
    ck_assert(tg_variable_trainable(v));
    ck_assert_int_eq(in_collection(g, GV, v), 1);
    ck_assert_int_eq(in_collection(g, TV, v), 1);
    ck_assert(!tg_variable_trainable(f));
    ck_assert_int_eq(in_collection(g, GV, f), 1);
    ck_assert_int_eq(in_collection(g, TV, f), 0);
    /* an explicit list replaces GLOBAL_VARIABLES; TRAINABLE is added once */
    ck_assert_int_eq(in_collection(g, "mine", c), 1);
    ck_assert_int_eq(in_collection(g, TV, c), 1);
    ck_assert_int_eq(in_collection(g, GV, c), 0);
    ck_assert_int_eq(in_collection(g, "mine", d), 1);
    ck_assert_int_eq(in_collection(g, TV, d), 1);
    tg_variable **vars = NULL;
    ck_assert_int_eq(tg_get_collection_variables(g, GV, NULL, &vars), 2);
    ck_assert_ptr_eq(vars[0], v);
    ck_assert_ptr_eq(vars[1], f);
    tg_free(vars);
    ck_assert_int_eq(tg_get_collection_variables(g, TV, NULL, &vars), 3);
    tg_free(vars);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_variable_ops)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "layer", NULL) { v = getv(g, "w", TG_FLOAT32, TG_SHAPE(2, 3)); }
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_variable_name(v), "layer/w");
    ck_assert_int_eq(tg_variable_dtype(v), TG_FLOAT32);
    ck_assert_shape_eq(tg_variable_shape(v), TG_SHAPE(2, 3));
    ck_assert_ptr_eq(tg_graph_variable(g, "layer/w"), v);
    ck_assert_ptr_null(tg_graph_variable(g, "layer/nope"));

    tg_op *var_op = tg_variable_op(v);
    ck_assert_ptr_eq(tg_graph_op(g, "layer/w"), var_op);
    ck_assert_str_eq(tg_op_type(var_op), "VariableV2");
    ck_assert_str_eq(tg_tensor_name(tg_variable_ref(v)), "layer/w:0");
    ck_assert_ptr_eq(tg_tensor_op(tg_variable_ref(v)), var_op);

    tg_tensor *value = tg_variable_value(v);
    ck_assert_str_eq(tg_tensor_name(value), "layer/w/read:0");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(value)), "Identity");
    ck_assert_ptr_eq(tg_op_input(tg_tensor_op(value), 0), tg_variable_ref(v));
    ck_assert_shape_eq(tg_tensor_shape(value), TG_SHAPE(2, 3));
    ck_assert_int_eq(tg_tensor_dtype(value), TG_FLOAT32);

    tg_op *assign = tg_variable_initializer(v);
    ck_assert_str_eq(tg_op_name(assign), "layer/w/Assign");
    ck_assert_str_eq(tg_op_type(assign), "Assign");
    ck_assert_ptr_eq(tg_op_input(assign, 0), tg_variable_ref(v));
    ck_assert_ptr_eq(tg_op_input(assign, 1), tg_variable_initial_value(v));

    const char *init_name = tg_op_name(tg_tensor_op(tg_variable_initial_value(v)));
    ck_assert_msg(strncmp(init_name, "layer/w/Initializer/", 20) == 0,
                  "initial value op %s not under layer/w/Initializer/", init_name);
    ck_assert_shape_eq(tg_tensor_shape(tg_variable_initial_value(v)), TG_SHAPE(2, 3));
    tg_graph_free(g);
}
END_TEST

/* ---- deterministic initializers ------------------------------------------------- */

START_TEST(test_constant_initializers)
{
    tg_graph *g = tg_graph_new();
    tg_variable *z = make_var(g, "z", TG_FLOAT32, TG_SHAPE(2, 3), tg_zeros_initializer());
    tg_variable *o = make_var(g, "o", TG_FLOAT64, TG_SHAPE(3), tg_ones_initializer());
    tg_variable *c = make_var(g, "c", TG_FLOAT32, TG_SHAPE(2, 2), tg_constant_initializer(2.5));
    tg_variable *i = tg_get_variable(g, "i", TG_INT32, TG_SHAPE(4), NULL); /* default: zeros */
    tg_variable *s = make_var(g, "s", TG_FLOAT32, TG_SCALAR, tg_constant_initializer(-7));
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(init), "init");
    tg_session *sess = tg_session_new(g);
    tgc_run_target(sess, init);
    ck_assert_fetch(sess, tg_variable_value(z), TG_FLOAT32, TG_SHAPE(2, 3),
                    ((double[]){0, 0, 0, 0, 0, 0}), 0);
    ck_assert_fetch(sess, tg_variable_value(o), TG_FLOAT64, TG_SHAPE(3), ((double[]){1, 1, 1}), 0);
    ck_assert_fetch(sess, tg_variable_value(c), TG_FLOAT32, TG_SHAPE(2, 2),
                    ((double[]){2.5, 2.5, 2.5, 2.5}), 0);
    ck_assert_fetch(sess, tg_variable_value(i), TG_INT32, TG_SHAPE(4), ((double[]){0, 0, 0, 0}), 0);
    ck_assert_fetch(sess, tg_variable_value(s), TG_FLOAT32, TG_SCALAR, ((double[]){-7}), 0);
    tg_session_free(sess);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_scope_default_initializer)
{
    tg_graph *g = tg_graph_new();
    tg_variable *a = NULL, *b = NULL, *c = NULL;
    tg_variable_scope_opts opts = {.initializer = tg_constant_initializer(3)};
    TG_WITH_VARIABLE_SCOPE(g, "s", &opts)
    {
        a = tg_get_variable(g, "a", TG_FLOAT32, TG_SHAPE(2), NULL);
        TG_WITH_VARIABLE_SCOPE(g, "inner", NULL)
        {
            b = tg_get_variable(g, "b", TG_FLOAT32, TG_SHAPE(2), NULL);
            c = make_var(g, "c", TG_FLOAT32, TG_SHAPE(2), tg_zeros_initializer());
        }
    }
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    ck_assert_fetch(s, tg_variable_value(a), TG_FLOAT32, TG_SHAPE(2), ((double[]){3, 3}), 0);
    ck_assert_fetch(s, tg_variable_value(b), TG_FLOAT32, TG_SHAPE(2), ((double[]){3, 3}), 0);
    ck_assert_fetch(s, tg_variable_value(c), TG_FLOAT32, TG_SHAPE(2), ((double[]){0, 0}), 0);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- random initializers: statistics ------------------------------------------- */

/* U[-2, 3) with n = 100000: every draw is in [-2, 3). The mean is 0.5 and the
 * standard deviation of one draw is 5/sqrt(12) = 1.443, so the sample mean has
 * standard error 1.443/sqrt(1e5) = 0.00456; 0.03 is more than 6 standard
 * errors. The extremes: P(no draw below -1.99) = (1 - 0.01/5)^1e5 ~ e^-200. */
START_TEST(test_random_uniform_initializer)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = make_var(g, "u", TG_FLOAT32, TG_SHAPE(1000, 100),
                              tg_random_uniform_initializer(-2, 3));
    tg_array *a = init_and_read(g, v);
    ck_assert_int_eq(tg_array_size(a), 100000);
    stats s = stats_of(a);
    ck_assert_msg(s.min >= -2.0 && s.max < 3.0, "range [%g, %g] outside [-2, 3)", s.min, s.max);
    ck_assert_close(s.mean, 0.5, 0.03);
    ck_assert_close(s.std, 5.0 / sqrt(12.0), 0.03); /* SE of std ~ 0.006 */
    ck_assert_msg(s.min < -1.99 && s.max > 2.99, "range [%g, %g] does not fill [-2, 3)", s.min,
                  s.max);
    tg_array_free(a);
    tg_graph_free(g);
}
END_TEST

/* N(1.5, 2^2), n = 100000: SE of the mean 2/sqrt(1e5) = 0.0063 (0.04 > 6 SE);
 * SE of the sample std ~ sigma/sqrt(2n) = 0.0045 (0.03 > 6 SE). */
START_TEST(test_random_normal_initializer)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = make_var(g, "n", TG_FLOAT32, TG_SHAPE(100000),
                              tg_random_normal_initializer(1.5, 2));
    tg_array *a = init_and_read(g, v);
    stats s = stats_of(a);
    ck_assert_close(s.mean, 1.5, 0.04);
    ck_assert_close(s.std, 2.0, 0.03);
    /* untruncated: draws beyond 2 sigma exist (about 4.6% of them) */
    ck_assert_msg(s.max > 1.5 + 2 * 2.0 && s.min < 1.5 - 2 * 2.0, "range [%g, %g]", s.min, s.max);
    tg_array_free(a);
    tg_graph_free(g);
}
END_TEST

/* N(1, 2^2) truncated to [mean - 2 sigma, mean + 2 sigma] = [-3, 5]. The
 * distribution stays symmetric, so the mean is 1; its standard deviation is
 * sigma * sqrt(1 - 2 a phi(a) / (2 Phi(a) - 1)) with a = 2, i.e.
 * 2 * 0.87963 = 1.75925. n = 100000: SE of mean <= 2/sqrt(1e5) = 0.0063,
 * SE of std <= 0.0045; tolerances 0.04 and 0.03 are > 6 SE. */
START_TEST(test_truncated_normal_initializer)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = make_var(g, "t", TG_FLOAT32, TG_SHAPE(100000),
                              tg_truncated_normal_initializer(1, 2));
    tg_array *a = init_and_read(g, v);
    stats s = stats_of(a);
    const double k = 2.0;
    double phi = exp(-k * k / 2) / sqrt(2 * 3.14159265358979323846);
    double std = 2.0 * sqrt(1 - 2 * k * phi / erf(k / sqrt(2.0)));
    ck_assert_msg(s.min >= -3.0 - 1e-5 && s.max <= 5.0 + 1e-5, "range [%g, %g] beyond 2 sigma",
                  s.min, s.max);
    ck_assert_close(s.mean, 1.0, 0.04);
    ck_assert_close(s.std, std, 0.03);
    tg_array_free(a);
    tg_graph_free(g);
}
END_TEST

/* glorot_uniform on (300, 200): U[-l, l) with l = sqrt(6 / (300 + 200)) =
 * 0.10954. Variance l^2/3 = 0.004; the sample variance of n = 60000 draws
 * has relative SE sqrt((1/5 - 1/9) / n) / (1/3) = 0.0037, so 3% > 8 SE.
 * The zeroed (default) initializer of a float variable is the same. */
static void check_glorot(tg_initializer init)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = make_var(g, "k", TG_FLOAT32, TG_SHAPE(300, 200), init);
    tg_array *a = init_and_read(g, v);
    stats s = stats_of(a);
    double l = sqrt(6.0 / (300 + 200));
    ck_assert_msg(s.min >= -l * (1 + 1e-6) && s.max <= l * (1 + 1e-6),
                  "range [%g, %g] outside +-%g", s.min, s.max, l);
    ck_assert_msg(s.min < -0.99 * l && s.max > 0.99 * l, "range [%g, %g] does not fill +-%g",
                  s.min, s.max, l);
    ck_assert_close(s.mean, 0.0, 0.002); /* SE 0.063/sqrt(6e4) = 0.00026 */
    ck_assert_close(s.std * s.std / (l * l / 3), 1.0, 0.03);
    tg_array_free(a);
    tg_graph_free(g);
}

START_TEST(test_glorot_uniform_initializer)
{
    check_glorot(tg_glorot_uniform_initializer());
    check_glorot((tg_initializer){0});
}
END_TEST

/* ---- seeds ------------------------------------------------------------------- */

static void build_seeded(tg_graph *g, tg_variable **a, tg_variable **b, tg_variable **c)
{
    tg_graph_set_random_seed(g, 42);
    *a = make_var(g, "a", TG_FLOAT32, TG_SHAPE(64),
                  tg_initializer_with_seed(tg_random_normal_initializer(0, 1), 7));
    *b = make_var(g, "b", TG_FLOAT32, TG_SHAPE(64), tg_random_uniform_initializer(0, 1));
    *c = make_var(g, "c", TG_FLOAT32, TG_SHAPE(64), tg_random_uniform_initializer(0, 1));
}

static int same_values(const tg_array *x, const tg_array *y)
{
    return tg_array_nbytes(x) == tg_array_nbytes(y) &&
           memcmp(tg_array_cdata(x), tg_array_cdata(y), tg_array_nbytes(x)) == 0;
}

START_TEST(test_seed_reproducible)
{
    tg_graph *g1 = tg_graph_new(), *g2 = tg_graph_new();
    tg_variable *a1, *b1, *c1, *a2, *b2, *c2;
    build_seeded(g1, &a1, &b1, &c1);
    build_seeded(g2, &a2, &b2, &c2);
    tg_array *va1 = init_and_read(g1, a1), *vb1 = init_and_read(g1, b1);
    tg_array *vc1 = init_and_read(g1, c1);
    tg_array *va2 = init_and_read(g2, a2), *vb2 = init_and_read(g2, b2);
    /* identical graphs with the same seeds: identical values */
    ck_assert(same_values(va1, va2));
    ck_assert(same_values(vb1, vb2));
    /* two fresh sessions on the same graph: identical too */
    tg_array *va1b = init_and_read(g1, a1);
    ck_assert(same_values(va1, va1b));
    /* different ops (op seed = creation index): different values */
    ck_assert(!same_values(vb1, vc1));
    tg_array_free(va1), tg_array_free(vb1), tg_array_free(vc1);
    tg_array_free(va2), tg_array_free(vb2), tg_array_free(va1b);
    tg_graph_free(g1);
    tg_graph_free(g2);
}
END_TEST

/* A random op advances its stream on every run; a fresh session restarts it
 * when seeded. Without any seed two sessions differ (1000 floats colliding
 * by chance is impossible in practice). */
START_TEST(test_random_op_streams)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_random_opts, seeded, .seed = 3);
    tg_tensor *r = tg_random_uniform(g, TG_SHAPE(1000), &seeded);
    tg_tensor *u = tg_random_uniform(g, TG_SHAPE(1000), NULL);
    ck_assert_tg_ok(g);
    tg_session *s1 = tg_session_new(g), *s2 = tg_session_new(g);
    tg_array *r1 = tgc_fetch(s1, r, NULL, 0), *r2 = tgc_fetch(s1, r, NULL, 0);
    tg_array *r1b = tgc_fetch(s2, r, NULL, 0);
    tg_array *u1 = tgc_fetch(s1, u, NULL, 0), *u2 = tgc_fetch(s2, u, NULL, 0);
    ck_assert(!same_values(r1, r2));
    ck_assert(same_values(r1, r1b));
    ck_assert(!same_values(u1, u2));
    stats st = stats_of(r1);
    ck_assert_msg(st.min >= 0 && st.max < 1, "range [%g, %g]", st.min, st.max);
    tg_array_free(r1), tg_array_free(r2), tg_array_free(r1b);
    tg_array_free(u1), tg_array_free(u2);
    tg_session_free(s1);
    tg_session_free(s2);
    tg_graph_free(g);
}
END_TEST

/* ---- initializers come from their constructors ---------------------------------- */

/* A literal initializer would silently build something else (stddev 0, no
 * seed, or TF's None for one whose kind was left out), so every way a
 * variable is made refuses it, naming the variable and adding no op. */
static void check_literal_refused(const char *what, tg_initializer lit)
{
    tg_graph *g = tg_graph_new();
    int n = tg_graph_num_ops(g);
    tg_variable *v = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL) { v = make_var(g, "w", TG_FLOAT32, TG_SHAPE(3), lit); }
    ck_assert_msg(v == NULL, "%s: get_variable accepted a literal", what);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "net/w: initializer not made by a tg_*_initializer() constructor");
    ck_assert_str_contains(tg_graph_message(g), "(a literal's missing fields would be 0: stddev 0, no seed)");
    ck_assert_int_eq(tg_graph_num_ops(g), n);
    tg_graph_clear_status(g);

    TG_OPTS(tg_get_variable_opts, vo, .initializer = lit);
    ck_assert_ptr_null(tg_variable_new(g, "fresh", TG_FLOAT32, TG_SHAPE(3), &vo));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "fresh: initializer not made by a tg_*_initializer() constructor");
    ck_assert_int_eq(tg_graph_num_ops(g), n);
    tg_graph_clear_status(g);

    /* as a scope's initializer it is refused when the scope opens, kind-less
     * or not (a kind-less one would otherwise read as None) */
    tg_variable_scope_opts so = {.initializer = lit};
    v = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "outer", &so) { v = getv(g, "u", TG_FLOAT32, TG_SHAPE(3)); }
    ck_assert_ptr_null(v);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "variable_scope: option 'initializer' not made by");
    ck_assert_int_eq(tg_graph_num_ops(g), n);
    tg_graph_free(g);
}

START_TEST(test_initializer_literal_refused)
{
    check_literal_refused("seeded, stddev given",
                          (tg_initializer){.kind = TG_INIT_TRUNCATED_NORMAL, .stddev = 0.1, .seed = 42});
    check_literal_refused("stddev left out", (tg_initializer){.kind = TG_INIT_TRUNCATED_NORMAL, .seed = 42});
    check_literal_refused("maxval left out", (tg_initializer){.kind = TG_INIT_RANDOM_UNIFORM});
    check_literal_refused("constant", (tg_initializer){.kind = TG_INIT_CONSTANT, .value = 3});
    check_literal_refused("kind left out", (tg_initializer){.stddev = 0.1, .seed = 42});

    /* a constructed value edited afterwards keeps its tag: fields then mean
     * what they say (the zeroed one is TF's None, see check_glorot) */
    tg_initializer edited = tg_truncated_normal_initializer(0, 1);
    edited.stddev = 0.5;
    tg_graph *g = tg_graph_new();
    tg_variable *v = make_var(g, "e", TG_FLOAT32, TG_SHAPE(2000), edited);
    ck_assert_tg_ok(g);
    tg_array *a = init_and_read(g, v);
    stats st = stats_of(a);
    /* truncated at 2 stddev: |x| <= 1; std 0.5 * 0.8796 = 0.44, SE ~0.007 */
    ck_assert_msg(st.min >= -1.0 - 1e-6 && st.max <= 1.0 + 1e-6, "range [%g, %g]", st.min, st.max);
    ck_assert_close(st.std, 0.5 * 0.87962566103423978, 0.04);
    tg_array_free(a);
    tg_graph_free(g);
}
END_TEST

/* Builds one variable with init in a fresh graph (no graph seed) and
 * reads it from a fresh session. */
static tg_array *value_of(tg_initializer init)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = make_var(g, "w", TG_FLOAT32, TG_SHAPE(256), init);
    ck_assert_tg_ok(g);
    tg_array *a = init_and_read(g, v);
    tg_graph_free(g);
    return a;
}

/* An op-level seed alone fixes the values (TF's seed=42 with no graph
 * seed), 0 included; the constructors' TG_NO_SEED leaves two sessions
 * different, which is what a literal's forgotten seed used to give. */
START_TEST(test_initializer_seed_deterministic)
{
    tg_array *x = value_of(tg_initializer_with_seed(tg_truncated_normal_initializer(0, 0.1), 42));
    tg_array *y = value_of(tg_initializer_with_seed(tg_truncated_normal_initializer(0, 0.1), 42));
    ck_assert(same_values(x, y));
    stats st = stats_of(x);
    ck_assert_msg(st.min >= -0.2 - 1e-6 && st.max <= 0.2 + 1e-6 && st.std > 0.05, "range [%g, %g], std %g",
                  st.min, st.max, st.std);
    tg_array *z0 = value_of(tg_initializer_with_seed(tg_random_uniform_initializer(0, 1), 0));
    tg_array *z1 = value_of(tg_initializer_with_seed(tg_random_uniform_initializer(0, 1), 0));
    ck_assert(same_values(z0, z1));
    tg_array *u0 = value_of(tg_random_uniform_initializer(0, 1));
    tg_array *u1 = value_of(tg_random_uniform_initializer(0, 1));
    ck_assert(!same_values(u0, u1));
    ck_assert_int_eq(tg_random_uniform_initializer(0, 1).seed, TG_NO_SEED);
    ck_assert_int_eq(tg_initializer_with_seed(tg_zeros_initializer(), 0).seed, 0);
    tg_array_free(x), tg_array_free(y), tg_array_free(z0), tg_array_free(z1);
    tg_array_free(u0), tg_array_free(u1);
}
END_TEST

static void ck_initializer_eq(tg_initializer a, tg_initializer b)
{
    ck_assert_uint_eq(a.tg__init, b.tg__init);
    ck_assert_int_eq(a.kind, b.kind);
    ck_assert(a.value == b.value && a.minval == b.minval && a.maxval == b.maxval);
    ck_assert(a.mean == b.mean && a.stddev == b.stddev && a.scale == b.scale);
    ck_assert_int_eq(a.mode, b.mode);
    ck_assert_int_eq(a.distribution, b.distribution);
    ck_assert_int_eq(a.seed, b.seed);
}

/* Both with the same op-level seed, so glorot's draws match too. */
static void ck_same_values(tg_initializer a, tg_initializer b)
{
    tg_array *va = value_of(tg_initializer_with_seed(a, 5));
    tg_array *vb = value_of(tg_initializer_with_seed(b, 5));
    ck_assert(same_values(va, vb));
    tg_array_free(va), tg_array_free(vb);
}

START_TEST(test_initializer_constants)
{
    static const tg_initializer zeros = TG_ZEROS_INITIALIZER, ones = TG_ONES_INITIALIZER;
    static const tg_initializer glorot = TG_GLOROT_UNIFORM_INITIALIZER;
    ck_initializer_eq(zeros, tg_zeros_initializer());
    ck_initializer_eq(ones, tg_ones_initializer());
    ck_initializer_eq(glorot, tg_glorot_uniform_initializer());
    ck_initializer_eq(tg_layers_xavier_initializer, tg_glorot_uniform_initializer());
    ck_initializer_eq(tg_layers_zeros_initializer, tg_zeros_initializer());
    ck_same_values(zeros, tg_zeros_initializer());
    ck_same_values(ones, tg_ones_initializer());
    ck_same_values(glorot, tg_glorot_uniform_initializer());
    tg_array *o = value_of(ones);
    ck_assert(tg_array_get(o, 0) == 1 && tg_array_get(o, 255) == 1);
    tg_array_free(o);
}
END_TEST

/* ---- regularizers ------------------------------------------------------------- */

static int reg_calls;
static const char *reg_expect_scope;

/* scale * reduce_sum(w) */
static tg_tensor *sum_reg(tg_graph *g, tg_tensor *w, const tg_regularizer *self)
{
    reg_calls++;
    ck_assert_str_eq(tg_graph_name_scope(g), reg_expect_scope);
    tg_tensor *scale = tg_constant_scalar(g, TG_FLOAT32, *(const double *)self->params, "scale");
    return tg_multiply(g, scale, tg_reduce_sum(g, w, NULL), "loss");
}

static tg_tensor *null_reg(tg_graph *g, tg_tensor *w, const tg_regularizer *self)
{
    (void)g, (void)w, (void)self;
    reg_calls++;
    return NULL;
}

START_TEST(test_regularizer)
{
    static const double scale = 0.1;
    tg_graph *g = tg_graph_new();
    tg_regularizer reg = {.fn = sum_reg, .params = &scale};
    reg_calls = 0;
    reg_expect_scope = "net/w/Regularizer/";
    tg_variable *w = NULL, *w2 = NULL, *n = NULL, *sv = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL)
    {
        TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_ones_initializer(), .regularizer = reg);
        w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2, 3), &vo);
    }
    ck_assert_tg_ok(g);
    ck_assert_int_eq(reg_calls, 1);
    /* reuse adds nothing */
    TG_WITH_VARIABLE_SCOPE(g, "net", &(tg_variable_scope_opts){.reuse = TG_REUSE_TRUE})
    {
        TG_OPTS(tg_get_variable_opts, vo2, .regularizer = reg);
        w2 = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2, 3), &vo2);
    }
    ck_assert_ptr_eq(w2, w);
    ck_assert_int_eq(reg_calls, 1);
    /* a NULL loss adds nothing */
    TG_OPTS(tg_get_variable_opts, vo3, .regularizer = {.fn = null_reg});
    n = tg_get_variable(g, "n", TG_FLOAT32, TG_SHAPE(2), &vo3);
    ck_assert_int_eq(reg_calls, 2);
    /* the scope's regularizer is the default */
    reg_expect_scope = "s/v/Regularizer/";
    TG_WITH_VARIABLE_SCOPE(g, "s", &(tg_variable_scope_opts){.regularizer = reg})
    {
        TG_OPTS(tg_get_variable_opts, vo4, .initializer = tg_constant_initializer(2));
        sv = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(4), &vo4);
    }
    ck_assert_int_eq(reg_calls, 3);
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(n);

    tg_tensor **losses = NULL;
    const char *key = TG_GRAPHKEYS_REGULARIZATION_LOSSES;
    ck_assert_int_eq(tg_get_collection_tensors(g, key, NULL, &losses), 2);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(losses[0])), "net/w/Regularizer/loss");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(losses[1])), "s/v/Regularizer/loss");
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    ck_assert_close(tgc_fetch_scalar(s, losses[0]), 0.1 * 6 * 1.0, 1e-6);
    ck_assert_close(tgc_fetch_scalar(s, losses[1]), 0.1 * 4 * 2.0, 1e-6);
    (void)sv;
    tg_free(losses);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- initialization at run time ------------------------------------------------- */

START_TEST(test_uninitialized_read)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL) { w = getv(g, "w", TG_FLOAT32, TG_SHAPE(2)); }
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_tensor *fetch = tg_variable_value(w);
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &fetch, 1, &out, NULL, 0), TG_FAILED_PRECONDITION);
    ck_assert_ptr_null(out);
    ck_assert_str_contains(tg_session_message(s), "net/w");
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_variables_initializer_subset)
{
    tg_graph *g = tg_graph_new();
    tg_variable *a = make_var(g, "first", TG_FLOAT32, TG_SHAPE(2), tg_ones_initializer());
    tg_variable *b = make_var(g, "second", TG_FLOAT32, TG_SHAPE(2), tg_ones_initializer());
    tg_op *init_a = tg_variables_initializer(g, &a, 1, NULL);
    tg_op *empty = tg_variables_initializer(g, NULL, 0, NULL);
    tg_op *global = tg_global_variables_initializer(g); /* snapshot: a, b */
    tg_variable *late = make_var(g, "late", TG_FLOAT32, TG_SHAPE(2), tg_ones_initializer());
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(init_a), "init");
    ck_assert_str_eq(tg_op_type(init_a), "NoOp");
    ck_assert_int_eq(tg_op_num_control_inputs(init_a), 1);
    ck_assert_ptr_eq(tg_op_control_input(init_a, 0), tg_variable_initializer(a));
    ck_assert_str_eq(tg_op_name(empty), "init_1");
    ck_assert_int_eq(tg_op_num_control_inputs(empty), 0);
    ck_assert_str_eq(tg_op_name(global), "init_2");
    ck_assert_int_eq(tg_op_num_control_inputs(global), 2);

    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init_a);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(a)), 1.0, 0);
    tg_tensor *fb = tg_variable_value(b), *fl = tg_variable_value(late);
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &fb, 1, &out, NULL, 0), TG_FAILED_PRECONDITION);
    ck_assert_str_contains(tg_session_message(s), "second");
    tgc_run_target(s, global);
    ck_assert_close(tgc_fetch_scalar(s, fb), 1.0, 0);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &fl, 1, &out, NULL, 0), TG_FAILED_PRECONDITION);
    ck_assert_str_contains(tg_session_message(s), "late");
    ck_assert_ptr_null(out);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- assign ops -------------------------------------------------------------------- */

START_TEST(test_assign_values)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = make_var(g, "v", TG_FLOAT32, TG_SHAPE(3), tg_zeros_initializer());
    tg_tensor *ref = tg_variable_ref(v);
    tg_tensor *c123 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){1, 2, 3}, NULL);
    tg_tensor *c10 = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){10, 10, 10}, NULL);
    tg_tensor *set = tg_assign(g, ref, c123, NULL);
    tg_tensor *add = tg_assign_add(g, ref, c10, NULL);
    tg_tensor *sub = tg_assign_sub(g, ref, c123, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(set)), "Assign");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(add)), "AssignAdd");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(sub)), "AssignSub");
    ck_assert_shape_eq(tg_tensor_shape(set), TG_SHAPE(3));
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    ck_assert_fetch(s, set, TG_FLOAT32, TG_SHAPE(3), ((double[]){1, 2, 3}), 0);
    ck_assert_fetch(s, add, TG_FLOAT32, TG_SHAPE(3), ((double[]){11, 12, 13}), 0);
    ck_assert_fetch(s, sub, TG_FLOAT32, TG_SHAPE(3), ((double[]){10, 10, 10}), 0);
    ck_assert_fetch(s, add, TG_FLOAT32, TG_SHAPE(3), ((double[]){20, 20, 20}), 0);
    ck_assert_fetch(s, tg_variable_value(v), TG_FLOAT32, TG_SHAPE(3), ((double[]){20, 20, 20}), 0);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_assign_errors)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v = make_var(g, "v", TG_FLOAT32, TG_SHAPE(3), tg_zeros_initializer());
    tg_tensor *two = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "two");
    tg_tensor *ints = tg_constant_data(g, TG_INT32, TG_SHAPE(3), (int32_t[]){1, 2, 3}, "ints");
    tg_tensor *three = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){1, 2, 3}, "three");
    ck_assert_tg_ok(g);
    int n = tg_graph_num_ops(g);

    ck_assert_ptr_null(tg_assign(g, tg_variable_ref(v), two, "bad_shape"));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "bad_shape");
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_assign_add(g, tg_variable_ref(v), two, "bad_add"));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_assign(g, tg_variable_ref(v), ints, "bad_dtype"));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "bad_dtype");
    tg_graph_clear_status(g);
    /* the read value is not a reference */
    ck_assert_ptr_null(tg_assign(g, tg_variable_value(v), three, "not_ref"));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_graph_num_ops(g), n);
    tg_graph_free(g);
}
END_TEST

static Suite *variables_suite(void)
{
    Suite *s = suite_create("variables");
    TCase *tc = tcase_create("get_variable");
    tcase_add_test(tc, test_reuse_errors);
    tcase_add_test(tc, test_share_mismatch);
    tcase_add_test(tc, test_collections);
    tcase_add_test(tc, test_variable_ops);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);

    tc = tcase_create("initializers");
    tcase_add_test(tc, test_constant_initializers);
    tcase_add_test(tc, test_scope_default_initializer);
    tcase_add_test(tc, test_random_uniform_initializer);
    tcase_add_test(tc, test_random_normal_initializer);
    tcase_add_test(tc, test_truncated_normal_initializer);
    tcase_add_test(tc, test_glorot_uniform_initializer);
    tcase_add_test(tc, test_seed_reproducible);
    tcase_add_test(tc, test_random_op_streams);
    tcase_add_test(tc, test_initializer_literal_refused);
    tcase_add_test(tc, test_initializer_seed_deterministic);
    tcase_add_test(tc, test_initializer_constants);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);

    tc = tcase_create("runtime");
    tcase_add_test(tc, test_regularizer);
    tcase_add_test(tc, test_uninitialized_read);
    tcase_add_test(tc, test_variables_initializer_subset);
    tcase_add_test(tc, test_assign_values);
    tcase_add_test(tc, test_assign_errors);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(variables_suite)
