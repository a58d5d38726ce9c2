/* test_graph.c: graphs, ops and tensors.
 *
 * Covers op and tensor naming (default names, TF's case-insensitive
 * uniquification "dense", "dense_1", and the case where "foo_1" already
 * exists), invalid names, look-ups by op and tensor name, the creation-order
 * list, op/tensor accessors, the sticky error model (failing builder returns
 * NULL and leaves no op, later builders return NULL, clear_status, the log
 * callback), NULL graph / NULL input handling, and DOT export. */
#include <ctype.h>
#include <stdlib.h>
#include <unistd.h>

#include "tg_check.h"

static tg_tensor *scalar(tg_graph *g, double v, const char *name)
{
    return tg_constant_scalar(g, TG_FLOAT32, v, name);
}

/* ---- naming ---------------------------------------------------------------- */

START_TEST(test_default_names)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *a = scalar(g, 1, NULL);
    tg_tensor *b = scalar(g, 2, NULL);
    tg_tensor *s1 = tg_add(g, a, b, NULL);
    tg_tensor *s2 = tg_add(g, a, b, NULL);
    tg_tensor *p = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3), NULL);
    tg_tensor *i = tg_identity(g, a, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(a)), "Const");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(b)), "Const_1");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(s1)), "Add");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(s2)), "Add_1");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(p)), "Placeholder");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(i)), "Identity");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(a)), "Const");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(s1)), "Add");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(p)), "Placeholder");
    ck_assert_str_eq(tg_op_type(tg_tensor_op(i)), "Identity");
    ck_assert_str_eq(tg_tensor_name(s2), "Add_1:0");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_uniquify_repeated)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = scalar(g, 1, "x");
    tg_tensor *d0 = tg_identity(g, x, "dense");
    tg_tensor *d1 = tg_identity(g, x, "dense");
    tg_tensor *d2 = tg_identity(g, x, "dense");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(d0)), "dense");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(d1)), "dense_1");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(d2)), "dense_2");
    ck_assert_str_eq(tg_tensor_name(d1), "dense_1:0");
    tg_graph_free(g);
}
END_TEST

/* TF's Graph.unique_name lower-cases the key but keeps the caller's spelling:
 * "Dense" (key dense -> 1), "dense" -> "dense_1", "DENSE" -> "DENSE_2". */
START_TEST(test_uniquify_case_insensitive)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = scalar(g, 1, "x");
    tg_tensor *a = tg_identity(g, x, "Dense");
    tg_tensor *b = tg_identity(g, x, "dense");
    tg_tensor *c = tg_identity(g, x, "DENSE");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(a)), "Dense");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(b)), "dense_1");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(c)), "DENSE_2");
    tg_graph_free(g);
}
END_TEST

/* "foo_1" taken first: "foo" -> "foo", then the counter skips the taken
 * "foo_1" -> "foo_2", then "foo_3"; asking for "foo_1" again -> "foo_1_1". */
START_TEST(test_uniquify_existing_suffix)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = scalar(g, 1, "x");
    tg_tensor *f1 = tg_identity(g, x, "foo_1");
    tg_tensor *f = tg_identity(g, x, "foo");
    tg_tensor *f2 = tg_identity(g, x, "foo");
    tg_tensor *f3 = tg_identity(g, x, "foo");
    tg_tensor *f11 = tg_identity(g, x, "foo_1");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(f1)), "foo_1");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(f)), "foo");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(f2)), "foo_2");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(f3)), "foo_3");
    ck_assert_str_eq(tg_op_name(tg_tensor_op(f11)), "foo_1_1");
    tg_graph_free(g);
}
END_TEST

/* TF's op-name regex: ^[A-Za-z0-9.][A-Za-z0-9_.\-/]*$ at the root. */
START_TEST(test_invalid_names)
{
    static const char *const bad[] = {"bad name", "a:b", "_x", "x!"};
    tg_graph *g = tg_graph_new();
    tg_tensor *x = scalar(g, 1, "x");
    ck_assert_tg_ok(g);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int before = tg_graph_num_ops(g);
        tg_tensor *t = tg_identity(g, x, bad[k]);
        ck_assert_ptr_null(t);
        ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
        ck_assert_str_contains(tg_graph_message(g), bad[k]);
        ck_assert_int_eq(tg_graph_num_ops(g), before);
        ck_assert_int_eq(tg_graph_clear_status(g), TG_INVALID_ARGUMENT);
    }
    /* valid characters: a digit first, '.', '-', '_' later */
    tg_tensor *ok = tg_identity(g, x, "0v1.2-x_y");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(ok)), "0v1.2-x_y");
    tg_graph_free(g);
}
END_TEST

/* ---- look-ups, accessors, creation order --------------------------------- */

START_TEST(test_lookups)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = scalar(g, 1, "x");
    tg_tensor *y = scalar(g, 2, "y");
    tg_tensor *s = tg_add(g, x, y, "sum");
    ck_assert_tg_ok(g);
    ck_assert_ptr_eq(tg_graph_op(g, "x"), tg_tensor_op(x));
    ck_assert_ptr_eq(tg_graph_op(g, "sum"), tg_tensor_op(s));
    ck_assert_ptr_eq(tg_graph_tensor(g, "x:0"), x);
    ck_assert_ptr_eq(tg_graph_tensor(g, "sum:0"), s);
    /* absence is an answer, not an error */
    ck_assert_ptr_null(tg_graph_op(g, "nope"));
    ck_assert_ptr_null(tg_graph_op(g, "X"));
    ck_assert_ptr_null(tg_graph_tensor(g, "nope:0"));
    ck_assert_ptr_null(tg_graph_tensor(g, "sum:1"));
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_op_accessors)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = scalar(g, 1, "x");
    tg_tensor *y = scalar(g, 2, "y");
    tg_tensor *s = tg_add(g, x, y, "sum");
    ck_assert_tg_ok(g);
    tg_op *op = tg_tensor_op(s);
    ck_assert_ptr_eq(tg_op_graph(op), g);
    ck_assert_int_eq(tg_op_num_inputs(op), 2);
    ck_assert_ptr_eq(tg_op_input(op, 0), x);
    ck_assert_ptr_eq(tg_op_input(op, 1), y);
    ck_assert_ptr_null(tg_op_input(op, 2));
    ck_assert_ptr_null(tg_op_input(op, -1));
    ck_assert_int_eq(tg_op_num_outputs(op), 1);
    ck_assert_ptr_eq(tg_op_output(op, 0), s);
    ck_assert_ptr_null(tg_op_output(op, 1));
    ck_assert_int_eq(tg_op_num_control_inputs(op), 0);
    ck_assert_ptr_null(tg_op_control_input(op, 0));
    ck_assert_int_eq(tg_tensor_index(s), 0);
    ck_assert_int_eq(tg_tensor_dtype(s), TG_FLOAT32);
    ck_assert_shape_eq(tg_tensor_shape(s), TG_SCALAR);
    ck_assert_int_eq(tg_op_num_inputs(tg_tensor_op(x)), 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_creation_order)
{
    tg_graph *g = tg_graph_new();
    ck_assert_int_eq(tg_graph_num_ops(g), 0);
    tg_tensor *x = scalar(g, 1, "c");
    tg_tensor *y = scalar(g, 2, "b");
    tg_tensor *s = tg_add(g, x, y, "a");
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_graph_num_ops(g), 3);
    ck_assert_ptr_eq(tg_graph_op_at(g, 0), tg_tensor_op(x));
    ck_assert_ptr_eq(tg_graph_op_at(g, 1), tg_tensor_op(y));
    ck_assert_ptr_eq(tg_graph_op_at(g, 2), tg_tensor_op(s));
    tg_graph_free(g);
}
END_TEST

/* ---- the sticky error model ------------------------------------------------- */

START_TEST(test_sticky_error)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 3),
                                    (float[]){1, 2, 3, 4, 5, 6}, "x");
    tg_tensor *y = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(4), (float[]){1, 2, 3, 4}, "y");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_graph_message(g), "");
    int n = tg_graph_num_ops(g);

    tg_tensor *bad = tg_add(g, x, y, "bad_add");
    ck_assert_ptr_null(bad);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "bad_add");
    ck_assert_int_eq(tg_graph_num_ops(g), n);
    ck_assert_ptr_null(tg_graph_op(g, "bad_add"));

    /* later builders, even valid ones, return NULL and add nothing */
    ck_assert_ptr_null(tg_identity(g, x, "later"));
    ck_assert_ptr_null(scalar(g, 3, "later2"));
    ck_assert_ptr_null(tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "later3"));
    ck_assert_int_eq(tg_graph_num_ops(g), n);
    /* the first error is kept */
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "bad_add");
    /* a session cannot be made on a graph in error; the message stays on g */
    ck_assert_ptr_null(tg_session_new(g));
    ck_assert_str_contains(tg_graph_message(g), "bad_add");

    ck_assert_int_eq(tg_graph_clear_status(g), TG_INVALID_ARGUMENT);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_graph_message(g), "");
    ck_assert_int_eq(tg_graph_clear_status(g), TG_OK);

    /* the failed builder left no trace: its name is free again */
    tg_tensor *ok = tg_identity(g, x, "bad_add");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(ok)), "bad_add");
    ck_assert_int_eq(tg_graph_num_ops(g), n + 1);
    tg_graph_free(g);
}
END_TEST

/* A builder that creates helper ops (reduce_sum's reduction_indices Const)
 * and then fails must roll them back too. */
START_TEST(test_failed_builder_rolls_back)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 3),
                                    (float[]){1, 2, 3, 4, 5, 6}, "x");
    ck_assert_tg_ok(g);
    int n = tg_graph_num_ops(g);
    tg_tensor *r = tg_reduce_sum(g, x, &(tg_reduce_opts){.axes = (int[]){5}, .n_axes = 1});
    ck_assert_ptr_null(r);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_graph_num_ops(g), n);
    ck_assert_ptr_null(tg_graph_op(g, "Sum"));
    ck_assert_ptr_null(tg_graph_op(g, "Sum/reduction_indices"));
    tg_graph_clear_status(g);
    r = tg_reduce_sum(g, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(r)), "Sum");
    tg_graph_free(g);
}
END_TEST

static int log_calls;
static tg_code log_code;
static char log_msg[512];

static void log_fn(tg_code code, const char *message, void *user)
{
    ck_assert_ptr_eq(user, &log_calls);
    log_calls++;
    log_code = code;
    snprintf(log_msg, sizeof log_msg, "%s", message ? message : "");
}

START_TEST(test_log_callback)
{
    log_calls = 0;
    log_msg[0] = '\0';
    tg_set_log_callback(log_fn, &log_calls);
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "x");
    tg_tensor *y = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){1, 2, 3}, "y");
    ck_assert_int_eq(log_calls, 0);
    ck_assert_ptr_null(tg_add(g, x, y, "logged_add"));
    ck_assert_int_eq(log_calls, 1);
    ck_assert_int_eq(log_code, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(log_msg, "logged_add");
    /* builders skipped because of the sticky error record nothing new */
    ck_assert_ptr_null(tg_identity(g, x, NULL));
    ck_assert_int_eq(log_calls, 1);
    tg_set_log_callback(NULL, NULL);
    tg_graph_clear_status(g);
    ck_assert_ptr_null(tg_add(g, x, y, NULL));
    ck_assert_int_eq(log_calls, 1);
    tg_graph_free(g);
}
END_TEST

/* Until a program sets a callback, a build error reaches stderr at once. */
START_TEST(test_log_default_stderr)
{
    /* the default, whatever an earlier test in this process set
     * (CK_FORK=no runs them all in one) */
    tg_set_log_callback(tg_log_stderr, NULL);
    FILE *cap = tmpfile();
    ck_assert_ptr_nonnull(cap);
    fflush(stderr);
    int saved = dup(fileno(stderr));
    dup2(fileno(cap), fileno(stderr));
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, 2}, "x");
    tg_tensor *y = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){1, 2, 3}, "y");
    ck_assert_ptr_null(tg_add(g, x, y, "told_add"));
    fflush(stderr);
    dup2(saved, fileno(stderr));
    close(saved);
    char text[1024] = {0};
    rewind(cap);
    size_t n = fread(text, 1, sizeof text - 1, cap);
    fclose(cap);
    ck_assert_uint_gt(n, 0);
    ck_assert_str_contains(text, "tgraph: INVALID_ARGUMENT: ");
    ck_assert_str_contains(text, "told_add");
    tg_graph_free(g);
}
END_TEST

/* ---- objects owned by the graph -------------------------------------------------- */

static char freed[16];
static void note_free(void *obj) {
    size_t n = strlen(freed);
    freed[n] = *(const char *)obj;
    freed[n + 1] = 0;
}

START_TEST(test_graph_frees_owned_objects)
{
    freed[0] = 0;
    static const char a = 'a', b = 'b', c = 'c';
    tg_graph *g = tg_graph_new();
    ck_assert(tg_graph_own(g, (void *)&a, note_free));
    ck_assert(tg_graph_own(g, (void *)&b, note_free));
    ck_assert(tg_graph_own(g, (void *)&c, note_free));
    ck_assert(!tg_graph_own(g, NULL, note_free));
    tg_graph_disown(g, (void *)&b);
    /* tgraph's own objects, none freed by hand: the leak checker of the
     * sanitizer build fails this test if the graph does not free them */
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 3), "x");
    tg_tensor *loss = tg_reduce_mean(g, tg_tf_layers_dense(g, x, 2, NULL), NULL);
    tg_layer *dense = tg_tf_layers_dense_new(g, 4, NULL);
    ck_assert_ptr_nonnull(tg_layer_apply(dense, x, NULL));
    ck_assert_ptr_nonnull(tg_optimizer_minimize(tg_train_adam_optimizer_new(g, 1e-3, NULL), loss, NULL));
    ck_assert_ptr_nonnull(tg_train_saver_new(g, NULL, 0, NULL));
    ck_assert_ptr_nonnull(tg_train_ema_new(g, 0.9, NULL));
    tg_optimizer *early = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_optimizer_free(early); /* freed by hand before the graph: not freed twice */
    ck_assert_tg_ok(g);
    ck_assert_str_eq(freed, "");
    tg_graph_free(g);
    ck_assert_str_eq(freed, "ca"); /* newest first, the disowned one left alone */
}
END_TEST

/* A user object that owns a tgraph object and frees it from its own free
 * function, as graph.h allows: the graph's teardown must not free it twice. */
typedef struct model {
    tg_optimizer *opt;
} model;
static void model_free(void *p) {
    model *m = p;
    tg_optimizer_free(m->opt);
    free(m);
}

START_TEST(test_owned_free_fn_frees_another)
{
    tg_graph *g = tg_graph_new();
    /* made before the model: still alive when the model's free_fn runs */
    tg_optimizer *opt = tg_train_adam_optimizer_new(g, 1e-3, NULL);
    model *m = malloc(sizeof *m);
    ck_assert_ptr_nonnull(m);
    m->opt = opt;
    ck_assert(tg_graph_own(g, m, model_free));
    ck_assert(!tg_graph_own(g, m, model_free)); /* owned once */
    ck_assert_ptr_nonnull(tg_train_gradient_descent_optimizer_new(g, 0.1, NULL)); /* newer than m */
    tg_graph_free(g); /* ASan: the optimizer m frees is not freed again; LSan: nothing left */
}
END_TEST

/* ---- NULL handling ------------------------------------------------------------ */

START_TEST(test_null_graph)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = scalar(g, 1, "x");
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2), NULL);
    ck_assert_tg_ok(g);

    ck_assert_int_eq(tg_graph_status(NULL), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(tg_placeholder(NULL, TG_FLOAT32, TG_SHAPE(2), NULL));
    ck_assert_ptr_null(tg_constant_scalar(NULL, TG_FLOAT32, 1, NULL));
    ck_assert_ptr_null(tg_constant_data(NULL, TG_FLOAT32, TG_SHAPE(1), (float[]){1}, NULL));
    ck_assert_ptr_null(tg_identity(NULL, x, NULL));
    ck_assert_ptr_null(tg_add(NULL, x, x, NULL));
    ck_assert_ptr_null(tg_subtract(NULL, x, x, NULL));
    ck_assert_ptr_null(tg_multiply(NULL, x, x, NULL));
    ck_assert_ptr_null(tg_square(NULL, x, NULL));
    ck_assert_ptr_null(tg_reduce_sum(NULL, x, NULL));
    ck_assert_ptr_null(tg_reduce_mean(NULL, x, NULL));
    ck_assert_ptr_null(tg_random_uniform(NULL, TG_SHAPE(2), NULL));
    ck_assert_ptr_null(tg_random_normal(NULL, TG_SHAPE(2), NULL));
    ck_assert_ptr_null(tg_truncated_normal(NULL, TG_SHAPE(2), NULL));
    ck_assert_ptr_null(tg_no_op(NULL, NULL));
    ck_assert_ptr_null(tg_group(NULL, NULL, 0, NULL));
    ck_assert_ptr_null(tg_get_variable(NULL, "w", TG_FLOAT32, TG_SHAPE(2), NULL));
    ck_assert_ptr_null(tg_variables_initializer(NULL, &v, 1, NULL));
    ck_assert_ptr_null(tg_global_variables_initializer(NULL));
    ck_assert_ptr_null(tg_assign(NULL, tg_variable_ref(v), x, NULL));
    ck_assert_ptr_null(tg_session_new(NULL));
    ck_assert_int_eq(tg_graph_write_dot(NULL, stderr), TG_INVALID_ARGUMENT);
    static tg_item dummy;
    tg_item *items = &dummy;
    ck_assert_int_eq(tg_get_collection(NULL, "k", NULL, &items), -1);
    ck_assert_ptr_null(items);
    ck_assert_int_eq(tg_shape_num_elements(&(tg_shape){.rank = -1}), -1);
    ck_assert_int_eq(tg_tensor_shape(NULL).rank, -1);
    /* these must simply not crash */
    tg_name_scope_push(NULL, "a");
    tg_scope_pop(NULL, 0);
    tg_add_to_collection(NULL, "k", TG_ITEM_OF_TENSOR(x));
    tg_graph_set_random_seed(NULL, 1);
    tg_graph_free(NULL);
    tg_session_free(NULL);
    tg_array_free(NULL);
    tg_free(NULL);
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_null_inputs)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = scalar(g, 1, "x");
    ck_assert_tg_ok(g);
    int n = tg_graph_num_ops(g);
    ck_assert_ptr_null(tg_identity(g, NULL, NULL));
    ck_assert_ptr_null(tg_add(g, x, NULL, NULL));
    ck_assert_ptr_null(tg_add(g, NULL, x, NULL));
    ck_assert_ptr_null(tg_multiply(g, NULL, NULL, NULL));
    ck_assert_ptr_null(tg_square(g, NULL, NULL));
    ck_assert_ptr_null(tg_reduce_sum(g, NULL, NULL));
    ck_assert_ptr_null(tg_placeholder_with_default(g, NULL, TG_SCALAR, NULL));
    ck_assert_ptr_null(tg_assign(g, NULL, x, NULL));
    /* chaining a failed builder's NULL is safe */
    ck_assert_ptr_null(tg_square(g, tg_add(g, x, NULL, NULL), NULL));
    ck_assert_int_eq(tg_graph_num_ops(g), n);
    tg_graph_free(g);
}
END_TEST

/* ---- DOT export --------------------------------------------------------------- */

/* Counts "subgraph" keywords whose name (optionally quoted) starts with
 * "cluster", which is how Graphviz marks a cluster. */
static int count_clusters(const char *dot)
{
    int n = 0;
    for (const char *p = strstr(dot, "subgraph"); p; p = strstr(p + 1, "subgraph")) {
        const char *q = p + strlen("subgraph");
        while (*q == ' ' || *q == '\t' || *q == '"')
            q++;
        if (strncmp(q, "cluster", 7) == 0)
            n++;
    }
    return n;
}

static char *read_all(FILE *f)
{
    long size;
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    ck_assert_int_gt(size, 0);
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    return buf;
}

START_TEST(test_write_dot)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = scalar(g, 1, "x");
    tg_tensor *c = scalar(g, 2, "c");
    tg_tensor *z = NULL;
    TG_WITH_NAME_SCOPE(g, "outer")
    {
        tg_op *deps[] = {tg_tensor_op(c)};
        tg_tensor *y = NULL;
        TG_WITH_CONTROL_DEPENDENCIES(g, deps, 1)
        {
            y = tg_identity(g, x, "y");
        }
        TG_WITH_NAME_SCOPE(g, "inner")
        {
            z = tg_identity(g, y, "z");
        }
    }
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_op_name(tg_tensor_op(z)), "outer/inner/z");

    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_graph_write_dot(g, f), TG_OK);
    char *dot = read_all(f);
    fclose(f);
    ck_assert_str_contains(dot, "digraph");
    ck_assert_str_contains(dot, "outer/y");
    ck_assert_str_contains(dot, "outer/inner/z");
    ck_assert_str_contains(dot, "Identity");
    ck_assert_str_contains(dot, "Const");
    ck_assert_str_contains(dot, "dashed");
    /* one cluster per name scope: "outer" and "outer/inner" */
    ck_assert_int_eq(count_clusters(dot), 2);
    free(dot);

    ck_assert_int_eq(tg_graph_write_dot(g, NULL), TG_INVALID_ARGUMENT);
    tg_graph_free(g);
}
END_TEST

/* A tg_cond's branches are drawn as dashed clusters inside the cond's name
 * scope, holding the ops made in each branch. */
static int dot_neg(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    (void)n;
    outs[0] = tg_negative(g, user, "neg");
    return 1;
}
static int dot_square(tg_graph *g, void *user, tg_tensor **outs, int n)
{
    (void)n;
    outs[0] = tg_square(g, user, "sq");
    return 1;
}

START_TEST(test_write_dot_cond_branches)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p"), *y = NULL;
    ck_assert_int_eq(tg_cond(g, p, dot_square, dot_neg, x, &y, 1, NULL), TG_OK);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_graph_write_dot(g, f), TG_OK);
    char *dot = read_all(f);
    fclose(f);
    const char *t = strstr(dot, "subgraph \"cluster_cond/switch_t\" {");
    const char *fb = strstr(dot, "subgraph \"cluster_cond/switch_f\" {");
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(fb);
    ck_assert_str_contains(t, "label=\"true branch\"; style=dashed;");
    ck_assert_str_contains(fb, "label=\"false branch\"; style=dashed;");
    /* each branch's own op sits in its cluster (before the cluster closes) */
    const char *sq = strstr(t, "label=\"sq\\n"), *close_t = strstr(t, "}");
    const char *neg = strstr(fb, "label=\"neg\\n"), *close_f = strstr(fb, "}");
    ck_assert(sq && close_t && sq < close_t);
    ck_assert(neg && close_f && neg < close_f);
    /* the cond's name scope, then the two branch clusters in it */
    ck_assert_int_eq(count_clusters(dot), 3);
    free(dot);
    tg_graph_free(g);
}
END_TEST

static tg_tensor *dot_below(tg_graph *g, void *user, tg_tensor *const *v, int n)
{
    (void)user, (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_FLOAT32, 10, "ten"), NULL);
}

static int dot_twice(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n)
{
    (void)user, (void)n;
    next[0] = tg_multiply(g, v[0], tg_constant_scalar(g, TG_FLOAT32, 2, "two"), "twice");
    return 1;
}

/* A while loop's ops in a dotted cluster inside its name scope; the
 * loop's input and output stay outside it. */
START_TEST(test_write_dot_while_frame)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x"), *y = NULL;
    ck_assert_int_eq(tg_while_loop(g, dot_below, dot_twice, NULL, &x, 1, &y, NULL), TG_OK);
    tg_tensor *z = tg_negative(g, y, "after");
    ck_assert_ptr_nonnull(z);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_graph_write_dot(g, f), TG_OK);
    char *dot = read_all(f);
    fclose(f);
    const char *w = strstr(dot, "subgraph \"cluster_while/Identity\" {");
    ck_assert_ptr_nonnull(w);
    ck_assert_str_contains(w, "label=\"while loop: runs once per iteration\"; style=dotted;");
    const char *tw = strstr(w, "label=\"twice\\n"), *close = strstr(w, "}");
    ck_assert(tw && close && tw < close);
    const char *after = strstr(dot, "label=\"after\\n");
    ck_assert(after && (after < w || after > close));
    /* the loop's name scope and its frame */
    ck_assert_int_eq(count_clusters(dot), 2);
    free(dot);
    tg_graph_free(g);
}
END_TEST

static int count_substr(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* The collapsed view: a/b/{p,q,r} become one node a/b (3 ops) inside the
 * cluster a; the two data edges from x into it are drawn once; the control
 * edge from inside a/b to the top-level t stays, dashed. */
START_TEST(test_write_dot_collapsed)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = scalar(g, 1, "x");
    tg_tensor *r = NULL;
    TG_WITH_NAME_SCOPE(g, "a")
    {
        TG_WITH_NAME_SCOPE(g, "b")
        {
            tg_tensor *p = tg_identity(g, x, "p");
            tg_tensor *q = tg_identity(g, x, "q");
            r = tg_add(g, p, q, "r");
        }
    }
    tg_op *deps[] = {tg_tensor_op(r)};
    TG_WITH_CONTROL_DEPENDENCIES(g, deps, 1)
    {
        tg_identity(g, x, "t");
    }
    ck_assert_tg_ok(g);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_graph_write_dot_opts(g, f, &(tg_dot_options){.max_depth = 2}), TG_OK);
    char *dot = read_all(f);
    fclose(f);
    ck_assert_str_contains(dot, "label=\"b\\n3 ops\"");
    ck_assert_int_eq(count_clusters(dot), 1); /* a; b is a node now */
    ck_assert_int_eq(count_substr(dot, " -> "), 3); /* x -> a/b, x -> t, a/b -> t (dashed) */
    ck_assert_int_eq(count_substr(dot, "dashed"), 1);
    ck_assert_ptr_null(strstr(dot, "a/b/p"));
    free(dot);

    /* max_depth 0 draws every op, as tg_graph_write_dot. */
    f = tmpfile();
    ck_assert_int_eq(tg_graph_write_dot_opts(g, f, &(tg_dot_options){.max_depth = 0}), TG_OK);
    dot = read_all(f);
    fclose(f);
    ck_assert_int_eq(count_clusters(dot), 2);
    ck_assert_int_eq(count_substr(dot, " -> "), 6); /* x->p, x->q, p->r, q->r, x->t, r->t */
    free(dot);
    ck_assert_int_eq(tg_graph_write_dot_opts(g, stdout, &(tg_dot_options){.max_depth = -1}), TG_INVALID_ARGUMENT);
    tg_graph_free(g);
}
END_TEST

/* Counts the lines holding needle. Line by line because ASan's strstr reads
 * all of its haystack: counting over a 5 MB text would be quadratic. */
static int count_lines_with(char *text, const char *needle)
{
    int n = 0;
    for (char *line = text, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end)
            return n + (strstr(line, needle) != NULL);
        *end = '\0';
        n += strstr(line, needle) != NULL;
        *end = '\n';
    }
    return n;
}

/* Counts node statements ("n12 [label=..."), not edges ("n1 -> n2 [label=...")
 * nor cluster labels. */
static int count_nodes(const char *dot)
{
    int n = 0;
    for (const char *line = dot; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const char *p = line + strspn(line, " ");
        if (*p != 'n' || !isdigit((unsigned char)p[1]))
            continue;
        p += 1 + strspn(p + 1, "0123456789");
        n += strncmp(p, " [label=", 8) == 0;
    }
    return n;
}

static char *dot_of(tg_graph *g, int max_depth)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_graph_write_dot_opts(g, f, &(tg_dot_options){.max_depth = max_depth}), TG_OK);
    char *dot = read_all(f);
    fclose(f);
    return dot;
}

/* 4000 scopes "s".."s_3999" of 10 ops (every fourth holds them two scopes
 * deeper, in "in/er"; every 400th from s_1 on also holds a cond), then
 * 10,000 ops at the root: ~50k ops. Writing its DOT was quadratic (3 s for
 * 40k ops); the suite's runtime shows the speed, this the structure. */
static tg_tensor *identities(tg_graph *g, tg_tensor *x, int n)
{
    for (int i = 0; i < n; i++)
        x = tg_identity(g, x, NULL);
    return x;
}

static tg_graph *many_scopes_graph(void)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p");
    for (int s = 0; s < 4000; s++) {
        TG_WITH_NAME_SCOPE(g, "s")
        {
            if (s % 4 == 0) {
                TG_WITH_NAME_SCOPE(g, "in")
                TG_WITH_NAME_SCOPE(g, "er")
                {
                    x = identities(g, x, 10);
                }
            } else {
                x = identities(g, x, 10);
            }
            if (s % 400 == 1)
                ck_assert_int_eq(tg_cond(g, p, dot_square, dot_neg, x, &x, 1, NULL), TG_OK);
        }
    }
    identities(g, x, 10000);
    ck_assert_tg_ok(g);
    return g;
}

START_TEST(test_write_dot_many_scopes)
{
    tg_graph *g = many_scopes_graph();
    int n_ops = tg_graph_num_ops(g);
    ck_assert_int_gt(n_ops, 50000);

    char *dot = dot_of(g, 0);
    ck_assert_int_eq(count_nodes(dot), n_ops);
    /* each scope, 1000 "in" and "er", each cond's scope and branches */
    ck_assert_int_eq(count_lines_with(dot, "subgraph \"cluster_"), 4000 + 2 * 1000 + 10 * 3);
    /* the root's own ops first, then its scopes in order of first appearance */
    const char *s0 = strstr(dot, "subgraph \"cluster_s/\" {");
    const char *s1 = strstr(dot, "subgraph \"cluster_s_1/\" {");
    const char *last = strstr(dot, "subgraph \"cluster_s_3999/\" {");
    const char *root_op = strstr(dot, "tooltip=\"Identity_9999\"");
    ck_assert(root_op && s0 && s1 && last && root_op < s0 && s0 < s1 && s1 < last);
    ck_assert_ptr_nonnull(strstr(dot, "subgraph \"cluster_s_4/in/er/\" {"));
    ck_assert_ptr_nonnull(strstr(dot, "subgraph \"cluster_s_401/cond/switch_t\" {"));
    free(dot);

    /* max_depth 1: the root's ops and one node per scope */
    dot = dot_of(g, 1);
    ck_assert_int_eq(count_lines_with(dot, "subgraph"), 0);
    ck_assert_int_eq(count_nodes(dot), 10002 + 4000);
    ck_assert_int_eq(count_lines_with(dot, "shape=box3d"), 4000);
    ck_assert_str_contains(dot, "label=\"s_2\\n10 ops\"");
    free(dot);

    /* max_depth 2: the scopes, each "in" and each cond as a node in them */
    dot = dot_of(g, 2);
    ck_assert_int_eq(count_lines_with(dot, "subgraph \"cluster_"), 4000);
    ck_assert_int_eq(count_lines_with(dot, "label=\"in\\n10 ops\""), 1000);
    ck_assert_int_eq(count_lines_with(dot, "shape=box3d"), 1000 + 10);
    free(dot);
    tg_graph_free(g);
}
END_TEST

static Suite *graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *names = tcase_create("names");
    tcase_add_test(names, test_default_names);
    tcase_add_test(names, test_uniquify_repeated);
    tcase_add_test(names, test_uniquify_case_insensitive);
    tcase_add_test(names, test_uniquify_existing_suffix);
    tcase_add_test(names, test_invalid_names);
    tcase_set_timeout(names, TGC_TIMEOUT);
    suite_add_tcase(s, names);

    TCase *lookup = tcase_create("lookup");
    tcase_add_test(lookup, test_lookups);
    tcase_add_test(lookup, test_op_accessors);
    tcase_add_test(lookup, test_creation_order);
    tcase_set_timeout(lookup, TGC_TIMEOUT);
    suite_add_tcase(s, lookup);

    TCase *errors = tcase_create("errors");
    tcase_add_test(errors, test_sticky_error);
    tcase_add_test(errors, test_failed_builder_rolls_back);
    tcase_add_test(errors, test_log_callback);
    tcase_add_test(errors, test_log_default_stderr);
    tcase_add_test(errors, test_graph_frees_owned_objects);
    tcase_add_test(errors, test_owned_free_fn_frees_another);
    tcase_add_test(errors, test_null_graph);
    tcase_add_test(errors, test_null_inputs);
    tcase_set_timeout(errors, TGC_TIMEOUT);
    suite_add_tcase(s, errors);

    TCase *dot = tcase_create("dot");
    tcase_add_test(dot, test_write_dot);
    tcase_add_test(dot, test_write_dot_collapsed);
    tcase_add_test(dot, test_write_dot_cond_branches);
    tcase_add_test(dot, test_write_dot_while_frame);
    tcase_add_test(dot, test_write_dot_many_scopes);
    tcase_set_timeout(dot, TGC_TIMEOUT);
    suite_add_tcase(s, dot);
    return s;
}

TGC_MAIN(graph_suite)
