/* The DOT export as a teaching aid (issue 14): a traced run drawn on the
 * graph (tg_session_write_dot), UPDATE_OPS control edges and reference
 * edges in their own colours with a legend, collections as clusters,
 * TensorBoard's series nodes, and the MNIST CNN's training graph rendered
 * by Graphviz without a warning. Facts come from the graphs built here:
 * which op the fetches need, how often a loop turns, which branch the
 * predicate picks, which ops went into UPDATE_OPS. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnist_models.h"
#include "tg_check.h"

/* ---- reading the DOT text ------------------------------------------------------- */

static char *read_all(FILE *f) {
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    ck_assert_int_ge(size, 0);
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    return buf;
}

static char *graph_dot(const tg_graph *g, const tg_dot_options *o) {
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_graph_write_dot_opts(g, f, o), TG_OK);
    char *dot = read_all(f);
    fclose(f);
    return dot;
}

static char *session_dot(const tg_session *s, const tg_dot_options *o) {
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_session_write_dot(s, f, o), TG_OK);
    char *dot = read_all(f);
    fclose(f);
    return dot;
}

/* A copy of the line of dot that holds needle; fails when there is none. */
static char *line_with(const char *dot, const char *needle) {
    const char *hit = strstr(dot, needle);
    ck_assert_msg(hit != NULL, "no line with %s", needle);
    const char *start = hit, *end = strchr(hit, '\n');
    while (start > dot && start[-1] != '\n') start--;
    if (!end) end = hit + strlen(hit);
    char *line = malloc((size_t)(end - start) + 1);
    ck_assert_ptr_nonnull(line);
    memcpy(line, start, (size_t)(end - start));
    line[end - start] = '\0';
    return line;
}

/* The node statement of the op named name (its tooltip is the full name). */
static char *node_line(const char *dot, const char *name) {
    char needle[256];
    snprintf(needle, sizeof needle, "tooltip=\"%s\"", name);
    return line_with(dot, needle);
}

/* An op's creation index, the number in its DOT node id "n12". */
static int op_index(const tg_graph *g, const tg_op *op) {
    for (int i = 0; i < tg_graph_num_ops(g); i++)
        if (tg_graph_op_at(g, i) == op) return i;
    ck_abort_msg("op %s not in its graph", tg_op_name(op));
    return -1;
}

static char *edge_line(const char *dot, const tg_graph *g, const tg_op *from, const tg_op *to) {
    char needle[64];
    snprintf(needle, sizeof needle, "  n%d -> n%d [", op_index(g, from), op_index(g, to));
    return line_with(dot, needle);
}

static int count_substr(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* What the legend says a meaning looks like: the colour attribute
 * (bgcolor or font color) of the legend row whose text starts with
 * `meaning`, e.g. "skipped". Keeps the tests to what the legend promises. */
static void legend_colour(const char *dot, const char *meaning, char *out, size_t size) {
    char needle[128];
    snprintf(needle, sizeof needle, "<td align=\"left\">%s", meaning);
    char *row = line_with(dot, needle);
    const char *c = strstr(row, "color=\"");
    ck_assert_msg(c != NULL, "legend row without a colour: %s", row);
    c += 7;
    size_t n = strcspn(c, "\"");
    ck_assert_uint_lt(n, size);
    memcpy(out, c, n);
    out[n] = '\0';
    free(row);
}

static void assert_has_colour(const char *line, const char *attr, const char *colour) {
    char want[64];
    snprintf(want, sizeof want, "%s=\"%s\"", attr, colour);
    ck_assert_msg(strstr(line, want) != NULL, "expected %s in: %s", want, line);
}

/* ---- the run overlay ------------------------------------------------------------ */

/* x is fed; a = x * 2 is fetched; b = x + 1 is not needed. */
START_TEST(test_overlay_ran_fed_pruned)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *a = tg_multiply(g, x, tg_constant_scalar(g, TG_FLOAT32, 2, "two"), "a");
    tg_add(g, x, tg_constant_scalar(g, TG_FLOAT32, 1, "one"), "b");
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(3), *av = NULL;
    tg_feed feed = {x, xv};
    ck_assert_int_eq(tg_session_run_opts(s, &feed, 1, &a, 1, &av, NULL, 0, &(tg_run_options){.trace = true}), TG_OK);
    ck_assert_close(tg_array_get(av, 0), 6, 0);
    char *dot = session_dot(s, NULL);

    char *line = node_line(dot, "a");
    ck_assert_str_contains(line, "ran once");
    ck_assert_str_contains(line, "style=filled");
    free(line);
    line = node_line(dot, "two");
    ck_assert_str_contains(line, "ran once");
    free(line);
    /* b and its constant: not needed by the fetch, so never run */
    for (const char *const *name = (const char *const[]){"b", "one", NULL}; *name; name++) {
        line = node_line(dot, *name);
        ck_assert_str_contains(line, "style=dashed");
        ck_assert_ptr_null(strstr(line, "style=filled"));
        ck_assert_ptr_null(strstr(line, "ran "));
        free(line);
    }
    /* the feed stood in for x: it did not run either, but it was used */
    line = node_line(dot, "x");
    ck_assert_str_contains(line, "\\nfed\"");
    ck_assert_str_contains(line, "style=filled");
    free(line);
    /* the legend counts the two ops that ran: a and its constant */
    ck_assert_str_contains(dot, "traced run: 2 ops ran, 0 skipped");
    free(dot);

    /* a run without the trace keeps the last traced one */
    tg_array_free(av);
    av = NULL;
    ck_assert_int_eq(tg_session_run(s, &feed, 1, &a, 1, &av, NULL, 0), TG_OK);
    dot = session_dot(s, NULL);
    line = node_line(dot, "a");
    ck_assert_str_contains(line, "ran once");
    free(line);
    free(dot);
    tg_array_free(av);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* while i < 5: (i + 1, x * 2): the body turns 5 times, the condition is
 * evaluated 6 times, the loop's entry once. */
static tg_tensor *below_five(tg_graph *g, void *user, tg_tensor *const *v, int n) {
    (void)user, (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_INT32, 5, "five"), NULL);
}

static int double_it(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n) {
    (void)user, (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, "one"), NULL);
    next[1] = tg_multiply(g, v[1], tg_constant_scalar(g, TG_FLOAT32, 2, "two"), "mul");
    return 2;
}

START_TEST(test_overlay_loop_iterations)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, "i0"), x}, *out[2] = {NULL, NULL};
    ck_assert_int_eq(tg_while_loop(g, below_five, double_it, NULL, vars, 2, out, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(1), *y = NULL;
    tg_feed feed = {x, xv};
    ck_assert_int_eq(tg_session_run_opts(s, &feed, 1, &out[1], 1, &y, NULL, 0, &(tg_run_options){.trace = true}),
                     TG_OK);
    ck_assert_close(tg_array_get(y, 0), 32, 0);
    char *dot = session_dot(s, NULL);
    const struct {
        const char *op, *label;
    } want[] = {{"while/mul", "ran 5 times"}, {"while/Less", "ran 6 times"}, {"while/Enter_1", "ran once"}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char *line = node_line(dot, want[i].op);
        ck_assert_msg(strstr(line, want[i].label) != NULL, "%s: want %s in %s", want[i].op, want[i].label, line);
        free(line);
    }
    free(dot);
    tg_array_free(y);
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

static int square_fn(tg_graph *g, void *user, tg_tensor **outs, int n) {
    (void)n;
    outs[0] = tg_square(g, user, "sq");
    return 1;
}

static int negate_fn(tg_graph *g, void *user, tg_tensor **outs, int n) {
    (void)n;
    outs[0] = tg_negative(g, user, "neg");
    return 1;
}

/* p is fed true: the true branch runs, the false branch's op is skipped
 * and drawn in the legend's grey, its cluster marked not taken. */
START_TEST(test_overlay_untaken_branch_grey)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    tg_tensor *p = tg_placeholder(g, TG_BOOL, TG_SCALAR, "p"), *y = NULL;
    ck_assert_int_eq(tg_cond(g, p, square_fn, negate_fn, x, &y, 1, NULL), TG_OK);
    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_scalar_f32(3), *pv = tg_array_scalar_bool(true), *yv = NULL;
    tg_feed feeds[2] = {{x, xv}, {p, pv}};
    ck_assert_int_eq(tg_session_run_opts(s, feeds, 2, &y, 1, &yv, NULL, 0, &(tg_run_options){.trace = true}), TG_OK);
    ck_assert_close(tg_array_get(yv, 0), 9, 0);
    char *dot = session_dot(s, NULL);
    char grey[32], green[32];
    legend_colour(dot, "skipped", grey, sizeof grey);
    legend_colour(dot, "ran", green, sizeof green);

    char *line = node_line(dot, "cond/neg");
    assert_has_colour(line, "fillcolor", grey);
    ck_assert_str_contains(line, "skipped");
    free(line);
    line = node_line(dot, "cond/sq");
    assert_has_colour(line, "fillcolor", green);
    ck_assert_str_contains(line, "ran once");
    free(line);
    const char *f_cluster = strstr(dot, "subgraph \"cluster_cond/switch_f\"");
    const char *t_cluster = strstr(dot, "subgraph \"cluster_cond/switch_t\"");
    ck_assert(f_cluster && t_cluster);
    ck_assert(strncmp(strstr(f_cluster, "label="), "label=\"false branch (not taken)\"", 32) == 0);
    ck_assert(strncmp(strstr(t_cluster, "label="), "label=\"true branch (taken)\"", 27) == 0);
    /* skipped: neg and the Identity TF puts on each branch's output */
    ck_assert_str_contains(dot, ", 2 skipped");
    free(dot);
    tg_array_free(yv);
    tg_array_free(xv);
    tg_array_free(pv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- edge styles, collections, series -------------------------------------------- */

typedef struct {
    tg_graph *g;
    tg_variable *v;
    tg_op *upd, *other, *train, *init;
} small_bn;

/* bn/upd (AssignSub on the variable bn/v, in UPDATE_OPS) and "other" (not
 * in it) as control inputs of the NoOp "train", as a training script wires
 * batch norm's updates; then the initializer. */
static small_bn small_bn_graph(void) {
    small_bn m = {.g = tg_graph_new()};
    tg_graph *g = m.g;
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    TG_WITH_NAME_SCOPE(g, "bn")
    {
        m.v = tg_variable_new(g, "v", TG_FLOAT32, TG_SCALAR, NULL);
        tg_tensor *upd = tg_assign_sub(g, tg_variable_ref(m.v), tg_identity(g, x, "delta"), "upd");
        m.upd = tg_tensor_op(upd);
        tg_add_to_collection(g, TG_GRAPHKEYS_UPDATE_OPS, TG_ITEM_OF_TENSOR(upd));
    }
    m.other = tg_tensor_op(tg_identity(g, x, "other"));
    tg_op *deps[2] = {m.upd, m.other};
    TG_WITH_CONTROL_DEPENDENCIES(g, deps, 2) { m.train = tg_no_op(g, "train"); }
    m.init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    return m;
}

START_TEST(test_update_ops_and_reference_edges)
{
    small_bn m = small_bn_graph();
    char *dot = graph_dot(m.g, &(tg_dot_options){.legend = true});
    char update[32], control[32], ref[32];
    legend_colour(dot, "control edge from an op in UPDATE_OPS", update, sizeof update);
    legend_colour(dot, "control edge:", control, sizeof control);
    legend_colour(dot, "reference edge", ref, sizeof ref);
    ck_assert_str_ne(update, control);

    char *line = edge_line(dot, m.g, m.upd, m.train);
    ck_assert_str_contains(line, "style=dashed");
    assert_has_colour(line, "color", update);
    free(line);
    line = edge_line(dot, m.g, m.other, m.train);
    ck_assert_str_contains(line, "style=dashed");
    assert_has_colour(line, "color", control);
    free(line);
    /* the initializer's control inputs are not update ops */
    line = edge_line(dot, m.g, tg_variable_initializer(m.v), m.init);
    assert_has_colour(line, "color", control);
    free(line);
    /* AssignSub and Assign take the variable itself */
    line = edge_line(dot, m.g, tg_variable_op(m.v), m.upd);
    assert_has_colour(line, "color", ref);
    free(line);
    line = edge_line(dot, m.g, tg_variable_op(m.v), tg_variable_initializer(m.v));
    assert_has_colour(line, "color", ref);
    free(line);
    /* reading the value is a plain data edge */
    line = edge_line(dot, m.g, tg_variable_op(m.v), tg_tensor_op(tg_variable_value(m.v)));
    ck_assert_ptr_null(strstr(line, "color="));
    free(line);
    free(dot);

    /* without the option, no legend; the colours stay */
    dot = graph_dot(m.g, NULL);
    ck_assert_ptr_null(strstr(dot, "legend"));
    line = edge_line(dot, m.g, m.upd, m.train);
    assert_has_colour(line, "color", update);
    free(line);
    free(dot);
    tg_graph_free(m.g);
}
END_TEST

/* The text from the cluster's opening line to its closing brace. */
static char *cluster_text(const char *dot, const char *name) {
    char head[128];
    snprintf(head, sizeof head, "subgraph \"%s\" {", name);
    const char *start = strstr(dot, head);
    ck_assert_msg(start != NULL, "no cluster %s", name);
    const char *end = strstr(start, "\n  }\n");
    ck_assert_ptr_nonnull(end);
    char *text = malloc((size_t)(end - start) + 1);
    ck_assert_ptr_nonnull(text);
    memcpy(text, start, (size_t)(end - start));
    text[end - start] = '\0';
    return text;
}

static int ops_under(const tg_graph *g, const char *prefix) {
    int n = 0;
    for (int i = 0; i < tg_graph_num_ops(g); i++)
        n += strncmp(tg_op_name(tg_graph_op_at(g, i)), prefix, strlen(prefix)) == 0;
    return n;
}

START_TEST(test_collection_cluster)
{
    small_bn m = small_bn_graph();
    const char *keys[] = {TG_GRAPHKEYS_UPDATE_OPS};
    /* depth 1 collapses bn, but the collection's op is drawn on its own */
    char *dot = graph_dot(m.g, &(tg_dot_options){.max_depth = 1, .collections = keys, .n_collections = 1});
    char *cluster = cluster_text(dot, "cluster_collection:update_ops");
    ck_assert_str_contains(cluster, "label=\"collection: update_ops\"");
    char node[64];
    snprintf(node, sizeof node, "n%d [label=\"bn/upd\\nAssignSub", op_index(m.g, m.upd));
    ck_assert_str_contains(cluster, node);
    free(cluster);
    ck_assert_int_eq(count_substr(dot, "tooltip=\"bn/upd\""), 1);
    /* the collapsed bn stands for its other ops */
    char label[64];
    snprintf(label, sizeof label, "label=\"bn\\n%d ops", ops_under(m.g, "bn/") - 1);
    ck_assert_str_contains(dot, label);
    /* and the update op's edge to the train op starts at the update op */
    char *line = edge_line(dot, m.g, m.upd, m.train);
    ck_assert_str_contains(line, "style=dashed");
    free(line);
    free(dot);
    tg_graph_free(m.g);
}
END_TEST

/* Six Identity ops in scope s make a series; four in scope t do not
 * (TensorBoard groups five or more). */
START_TEST(test_series_nodes)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SCALAR, "x");
    TG_WITH_NAME_SCOPE(g, "s")
    for (int i = 0; i < 6; i++) tg_identity(g, x, NULL);
    TG_WITH_NAME_SCOPE(g, "t")
    for (int i = 0; i < 4; i++) tg_identity(g, x, NULL);
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(tg_graph_op(g, "s/Identity_5"));

    char *dot = graph_dot(g, &(tg_dot_options){.group_series = true});
    ck_assert_str_contains(dot, "label=\"Identity_[0-5]\\n6 x Identity\"");
    ck_assert_int_eq(count_substr(dot, "tooltip=\"s/"), 1);
    ck_assert_int_eq(count_substr(dot, "tooltip=\"t/"), 4);
    /* x feeds all six: one edge to the series, unlabelled (several tensors) */
    char *line = edge_line(dot, g, tg_graph_op(g, "x"), tg_graph_op(g, "s/Identity"));
    ck_assert_ptr_null(strstr(line, "label="));
    free(line);
    ck_assert_int_eq(count_substr(dot, " -> "), 1 + 4);
    free(dot);

    dot = graph_dot(g, NULL);
    ck_assert_int_eq(count_substr(dot, "tooltip=\"s/"), 6);
    ck_assert_int_eq(count_substr(dot, " -> "), 6 + 4);
    free(dot);
    tg_graph_free(g);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------- */

static char last_message[512];
static void keep_message(tg_code code, const char *message, void *user) {
    (void)code, (void)user;
    snprintf(last_message, sizeof last_message, "%s", message);
}

static void expect_refusal(tg_code got, tg_code want, const char *word) {
    ck_assert_str_eq(tg_code_name(got), tg_code_name(want));
    ck_assert_msg(strstr(last_message, word) != NULL, "message \"%s\" does not name %s", last_message, word);
    last_message[0] = '\0';
}

START_TEST(test_errors)
{
    tg_set_log_callback(keep_message, NULL);
    small_bn m = small_bn_graph();
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    const char *keys[] = {TG_GRAPHKEYS_UPDATE_OPS}, *null_key[] = {NULL};
    expect_refusal(tg_graph_write_dot_opts(NULL, f, NULL), TG_INVALID_ARGUMENT, "g is NULL");
    expect_refusal(tg_graph_write_dot_opts(m.g, NULL, NULL), TG_INVALID_ARGUMENT, "out");
    expect_refusal(tg_graph_write_dot_opts(m.g, f, &(tg_dot_options){.max_depth = -1}), TG_INVALID_ARGUMENT,
                   "max_depth");
    expect_refusal(tg_graph_write_dot_opts(m.g, f, &(tg_dot_options){.n_collections = 1}), TG_INVALID_ARGUMENT,
                   "collections");
    expect_refusal(tg_graph_write_dot_opts(m.g, f, &(tg_dot_options){.collections = keys}), TG_INVALID_ARGUMENT,
                   "n_collections");
    expect_refusal(tg_graph_write_dot_opts(m.g, f, &(tg_dot_options){.collections = keys, .n_collections = -1}),
                   TG_INVALID_ARGUMENT, "n_collections");
    expect_refusal(tg_graph_write_dot_opts(m.g, f, &(tg_dot_options){.collections = null_key, .n_collections = 1}),
                   TG_INVALID_ARGUMENT, "NULL key");

    tg_session *s = tg_session_new(m.g);
    expect_refusal(tg_session_write_dot(NULL, f, NULL), TG_INVALID_ARGUMENT, "s is NULL");
    expect_refusal(tg_session_write_dot(s, NULL, NULL), TG_INVALID_ARGUMENT, "out");
    expect_refusal(tg_session_write_dot(s, f, NULL), TG_FAILED_PRECONDITION, "trace");
    /* an untraced run leaves nothing to draw */
    ck_assert_int_eq(tg_session_run(s, NULL, 0, NULL, 0, NULL, &m.init, 1), TG_OK);
    expect_refusal(tg_session_write_dot(s, f, NULL), TG_FAILED_PRECONDITION, "trace");
    ck_assert_int_eq(tg_session_run_opts(s, NULL, 0, NULL, 0, NULL, &m.init, 1, &(tg_run_options){.trace = true}),
                     TG_OK);
    expect_refusal(tg_session_write_dot(s, f, &(tg_dot_options){.max_depth = -2}), TG_INVALID_ARGUMENT, "max_depth");
    /* nothing was written by any refusal */
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    ck_assert_int_eq(ftell(f), 0);
    fclose(f);
    tg_session_free(s);
    tg_graph_free(m.g);
    tg_set_log_callback(tg_log_stderr, NULL);
}
END_TEST

/* ---- the MNIST CNN, rendered by Graphviz ------------------------------------------- */

typedef struct {
    tg_graph *g;
    tg_tensor *x, *y, *is_training, *loss;
    tg_op *train_op, *init;
    tg_op **update_ops;
    int n_update;
} cnn_net;

/* bench/bench_models.c's training graph: examples/mnist_models.c's CNN
 * (batch norm decay 0.99, epsilon 1e-3, is_training a
 * placeholder_with_default), sparse softmax cross-entropy,
 * MomentumOptimizer(0.01, 0.9) minimized under the UPDATE_OPS. */
static cnn_net cnn_training_graph(void) {
    cnn_net n = {.g = tg_graph_new()};
    tg_graph *g = n.g;
    n.x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 28, 28, 1), "images");
    n.y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "labels");
    n.is_training = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "is_training");
    TG_OPTS(tg_layers_batch_norm_opts, bn, .decay = 0.99, .epsilon = 1e-3);
    bn.is_training_t = n.is_training;
    n.loss = tg_losses_sparse_softmax_cross_entropy(g, n.y, mnist_cnn_model_bn(g, n.x, &bn), NULL);
    tg_optimizer *opt = tg_train_momentum_optimizer_new(g, 0.01, 0.9, NULL);
    n.n_update = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &n.update_ops);
    TG_WITH_CONTROL_DEPENDENCIES(g, n.update_ops, n.n_update) { n.train_op = tg_optimizer_minimize(opt, n.loss, NULL); }
    n.init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    return n;
}

/* One traced training step on two images. */
static tg_session *cnn_traced_step(const cnn_net *n) {
    tg_session *s = tg_session_new(n->g);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, NULL, 0, NULL, (tg_op *const *)&n->init, 1), TG_OK);
    float pixels[2 * 28 * 28];
    for (int i = 0; i < 2 * 28 * 28; i++) pixels[i] = (float)(i % 17) / 17.0f;
    int64_t labels[2] = {3, 7};
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){2, 28, 28, 1}, pixels);
    tg_array *yv = tg_array_new_from(TG_INT64, 1, (int64_t[]){2}, labels), *on = tg_array_scalar_bool(true);
    tg_feed feeds[3] = {{n->x, xv}, {n->y, yv}, {n->is_training, on}};
    tg_code rc = tg_session_run_opts(s, feeds, 3, NULL, 0, NULL, (tg_op *const *)&n->train_op, 1,
                                     &(tg_run_options){.trace = true});
    ck_assert_msg(rc == TG_OK, "%s", tg_session_message(s));
    tg_array_free(xv);
    tg_array_free(yv);
    tg_array_free(on);
    return s;
}

/* DOT names a subgraph by its name: two clusters of one name are one
 * subgraph in two parents, which dot cannot lay out. */
static void assert_cluster_names_unique(const char *dot) {
    int n = 0, cap = 0;
    const char **names = NULL;
    for (const char *p = strstr(dot, "subgraph \""); p; p = strstr(p + 1, "subgraph \"")) {
        if (n == cap) names = realloc(names, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *names);
        ck_assert_ptr_nonnull(names);
        names[n++] = p + 10;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            size_t li = strcspn(names[i], "\""), lj = strcspn(names[j], "\"");
            ck_assert_msg(li != lj || strncmp(names[i], names[j], li) != 0, "cluster %.*s drawn twice", (int)li,
                          names[i]);
        }
    free(names);
}

/* dot -Tpng of the text: exit 0 and nothing on stderr (no "triangulation
 * failed", "lost edge" or "trouble in init_rank"). */
static void assert_renders_quietly(const char *dot, const char *what) {
    char in[] = "/tmp/test_dot_XXXXXX", err[] = "/tmp/test_dot_err_XXXXXX";
    int fd = mkstemp(in), efd = mkstemp(err);
    ck_assert(fd >= 0 && efd >= 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(dot, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    close(efd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "/usr/bin/dot -Tpng -o /dev/null %s 2>%s", in, err);
    int status = system(cmd);
    FILE *e = fopen(err, "r");
    ck_assert_ptr_nonnull(e);
    char *msgs = read_all(e);
    fclose(e);
    unlink(in);
    unlink(err);
    ck_assert_msg(status == 0, "%s: dot exited with %d; stderr: %s", what, status, msgs);
    ck_assert_msg(msgs[0] == '\0', "%s: dot printed: %s", what, msgs);
    free(msgs);
}

START_TEST(test_cnn_training_graph)
{
    cnn_net n = cnn_training_graph();
    /* three batch norm layers, each updating its moving mean and variance */
    ck_assert_int_eq(n.n_update, 6);
    tg_session *s = cnn_traced_step(&n);
    const char *keys[] = {TG_GRAPHKEYS_UPDATE_OPS};
    const tg_dot_options readable = {
        .max_depth = 2, .group_series = true, .legend = true, .collections = keys, .n_collections = 1};
    char *overlay = session_dot(s, &readable);
    char update[32];
    legend_colour(overlay, "control edge from an op in UPDATE_OPS", update, sizeof update);
    char *line = node_line(overlay, tg_op_name(n.train_op));
    ck_assert_str_contains(line, "ran once");
    free(line);
    for (int i = 0; i < n.n_update; i++) {
        line = node_line(overlay, tg_op_name(n.update_ops[i]));
        ck_assert_str_contains(line, "ran once");
        free(line);
        line = edge_line(overlay, n.g, n.update_ops[i], n.train_op);
        assert_has_colour(line, "color", update);
        free(line);
    }
    /* the images came from the feeds */
    line = node_line(overlay, "images");
    ck_assert_str_contains(line, "fed");
    free(line);

    char *plain[4];
    for (int depth = 0; depth < 4; depth++) plain[depth] = graph_dot(n.g, &(tg_dot_options){.max_depth = depth});
    char *deep = graph_dot(n.g, &(tg_dot_options){.max_depth = 4});
    /* the gradients of each batch norm's cond are made in its branches too */
    assert_cluster_names_unique(plain[0]);
    assert_cluster_names_unique(deep);
    if (access("/usr/bin/dot", X_OK) != 0) {
        fprintf(stderr, "test_cnn_training_graph: /usr/bin/dot is missing (scripts/setup.sh installs graphviz): "
                        "the Graphviz rendering is NOT checked\n");
    } else {
        assert_renders_quietly(plain[1], "max_depth 1");
        assert_renders_quietly(plain[2], "max_depth 2");
        assert_renders_quietly(plain[3], "max_depth 3");
        char *readable_dot = graph_dot(n.g, &readable);
        assert_renders_quietly(readable_dot, "max_depth 2, series, legend, UPDATE_OPS cluster");
        free(readable_dot);
        assert_renders_quietly(overlay, "the traced step at max_depth 2");
    }
    for (int depth = 0; depth < 4; depth++) free(plain[depth]);
    free(deep);
    free(overlay);
    tg_free(n.update_ops);
    tg_session_free(s);
    tg_graph_free(n.g);
}
END_TEST

static Suite *dot_suite(void) {
    Suite *s = suite_create("dot");
    TCase *overlay = tcase_create("overlay");
    tcase_add_test(overlay, test_overlay_ran_fed_pruned);
    tcase_add_test(overlay, test_overlay_loop_iterations);
    tcase_add_test(overlay, test_overlay_untaken_branch_grey);
    tcase_set_timeout(overlay, TGC_TIMEOUT);
    suite_add_tcase(s, overlay);

    TCase *styles = tcase_create("styles");
    tcase_add_test(styles, test_update_ops_and_reference_edges);
    tcase_add_test(styles, test_collection_cluster);
    tcase_add_test(styles, test_series_nodes);
    tcase_add_test(styles, test_errors);
    tcase_set_timeout(styles, TGC_TIMEOUT);
    suite_add_tcase(s, styles);

    TCase *cnn = tcase_create("cnn");
    tcase_add_test(cnn, test_cnn_training_graph);
    tcase_set_timeout(cnn, 300);
    suite_add_tcase(s, cnn);
    return s;
}

TGC_MAIN(dot_suite)
