/* test_describe_bn.c: tg_batch_norm_layers / tg_describe_batch_norm (what
 * each batch-norm layer does: mode, updates, parameters, layout, and t and
 * decay^t from a session), the batch-norm lints (batch_norm_training_at_eval,
 * bn_decay) and the Saver's (saver_omits_moving_stats), and the graph
 * attachments they rest on. Each lint fires on its pitfall and stays silent
 * on the corrected program and on the MNIST models of examples/ wired as
 * the examples wire them. Expected numbers are computed here in closed form
 * (decay^k by repeated multiplication, the moving mean of a constant batch). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tg_check.h"
#include "tg_files.h"
/* The examples' models, compiled into this test (it is registered as a
 * plain unit test, linked with the library only). */
#include "../examples/mnist_models.c"

/* ---- helpers ----------------------------------------------------------------------------- */

static tg_batch_norm_info *infos(tg_graph *g, tg_session *s, int want) {
    tg_batch_norm_info *in = NULL;
    int n = tg_batch_norm_layers(g, s, &in);
    ck_assert_int_eq(n, want);
    return in;
}

static double power(double d, int k) {
    double w = 1;
    for (int i = 0; i < k; i++) w *= d;
    return w;
}

static tg_tensor *input(tg_graph *g, tg_shape s) { return tg_placeholder(g, TG_FLOAT32, s, "x"); }

/* A [n, c] constant batch whose channel j has mean j + 1 (rows j+1 +- 1). */
static tg_tensor *const_batch(tg_graph *g, int n, int c) {
    float data[64];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) data[i * c + j] = (float)(j + 1) + (i % 2 ? 1.0f : -1.0f);
    return tg_constant_data(g, TG_FLOAT32, TG_SHAPE(n, c), data, "batch");
}

static int lint(tg_graph *g, tg_tensor *const *f, int nf, tg_op *const *t, int nt, char **report) {
    int n = tg_graph_lint(g, f, nf, t, nt, report);
    ck_assert_msg(n >= 0, "lint failed");
    return n;
}

static void assert_no(const char *report, const char *check) {
    ck_assert_msg(!report || !strstr(report, check), "unexpected %s finding:\n%s", check, report);
}

static tg_op *minimize_with_updates(tg_graph *g, tg_tensor *loss) {
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_op **updates = NULL, *train = NULL;
    int n = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, n) { train = tg_optimizer_minimize(opt, loss, NULL); }
    tg_free(updates);
    return train;
}

static tg_tensor *sum_loss(tg_graph *g, tg_tensor *y) {
    return tg_reduce_sum(g, tg_square(g, y, NULL), NULL);
}

/* ---- the graph attachments ---------------------------------------------------------------- */

static int freed;
static void count_free(void *p) {
    (void)p;
    freed++;
}

START_TEST(test_attachments)
{
    tg_graph *g = tg_graph_new();
    int a = 1, b = 2;
    freed = 0;
    ck_assert_ptr_null(tg_graph_attachment(g, "test.a"));
    ck_assert(tg_graph_attach(g, "test.a", &a, count_free));
    ck_assert(!tg_graph_attach(g, "test.a", &b, count_free)); /* key taken */
    ck_assert(!tg_graph_attach(g, "test.b", &a, count_free)); /* object owned already */
    ck_assert(!tg_graph_attach(g, NULL, &b, count_free));
    ck_assert(tg_graph_attach(g, "test.b", &b, count_free));
    ck_assert_ptr_eq(tg_graph_attachment(g, "test.a"), &a);
    ck_assert_ptr_eq(tg_graph_attachment(g, "test.b"), &b);
    ck_assert_ptr_null(tg_graph_attachment(g, "test.c"));
    ck_assert_ptr_null(tg_graph_attachment(NULL, "test.a"));
    ck_assert_tg_ok(g);
    tg_graph_free(g);
    ck_assert_int_eq(freed, 2);
}
END_TEST

/* ---- one row per flavour -------------------------------------------------------------------- */

START_TEST(test_contrib_flavours)
{
    tg_graph *g = tg_graph_new();
    /* PATH F, in place, scale: NHWC rank 4 */
    TG_OPTS(tg_layers_batch_norm_opts, f, .decay = 0.9, .scale = true, .updates_collections = NULL, .scope = "f");
    tg_layers_batch_norm(g, input(g, TG_SHAPE(2, 3, 3, 4)), &f);
    /* PATH F by rank 2, defaults: UPDATE_OPS, no gamma */
    tg_layers_batch_norm(g, input(g, TG_SHAPE(5, 3)), NULL);
    /* PATH N: fused false, in place, NCHW */
    TG_OPTS(tg_layers_batch_norm_opts, n, .fused = false, .updates_collections = NULL, .data_format = TG_NCHW,
            .epsilon = 0.01);
    tg_layers_batch_norm(g, input(g, TG_SHAPE(2, 4, 3, 3)), &n);
    /* PATH L (fused core layer), not trainable */
    TG_OPTS(tg_layers_batch_norm_opts, l, .scale = true, .trainable = false, .decay = 0.97);
    tg_layers_batch_norm(g, input(g, TG_SHAPE(2, 3, 3, 4)), &l);
    /* PATH L renorm, a training tensor */
    tg_tensor *phase = tg_placeholder(g, TG_BOOL, TG_SCALAR, "phase");
    TG_OPTS(tg_layers_batch_norm_opts, r, .renorm = true, .is_training_t = phase);
    tg_layers_batch_norm(g, input(g, TG_SHAPE(6, 2)), &r);
    /* static false */
    TG_OPTS(tg_layers_batch_norm_opts, e, .is_training = false, .scope = "eval");
    tg_layers_batch_norm(g, input(g, TG_SHAPE(6, 2)), &e);
    ck_assert_tg_ok(g);

    tg_batch_norm_info *in = infos(g, NULL, 6);
    ck_assert_str_eq(in[0].name, "f");
    ck_assert_str_eq(in[0].api, "contrib fused");
    ck_assert_int_eq(in[0].training, 1);
    ck_assert_int_eq(in[0].updates, TG_BN_UPDATES_IN_PLACE);
    ck_assert_ptr_null(in[0].collection);
    ck_assert(in[0].gamma && tg_variable_trainable(in[0].gamma));
    ck_assert(in[0].beta && tg_variable_trainable(in[0].beta));
    ck_assert_str_eq(tg_variable_name(in[0].moving_mean), "f/moving_mean");
    ck_assert_str_eq(tg_variable_name(in[0].moving_variance), "f/moving_variance");
    ck_assert_double_eq(in[0].decay, 0.9);
    ck_assert(in[0].bessel);
    ck_assert_str_eq(in[0].layout, "NHWC");
    ck_assert_int_eq(in[0].rank, 4);
    ck_assert_int_eq(in[0].n_axis, 1);
    ck_assert_int_eq(in[0].axis[0], 3);
    ck_assert_int_eq(in[0].t, -1);
    ck_assert(isnan(in[0].initial_weight));

    ck_assert_str_eq(in[1].name, "BatchNorm");
    ck_assert_str_eq(in[1].api, "contrib fused");
    ck_assert_int_eq(in[1].updates, TG_BN_UPDATES_COLLECTION);
    ck_assert_str_eq(in[1].collection, "update_ops");
    ck_assert_ptr_null(in[1].gamma);
    ck_assert_double_eq(in[1].decay, 0.999);
    ck_assert_double_eq(in[1].epsilon, 0.001);
    ck_assert_int_eq(in[1].axis[0], 1);

    ck_assert_str_eq(in[2].name, "BatchNorm_1");
    ck_assert_str_eq(in[2].api, "contrib legacy");
    ck_assert_int_eq(in[2].updates, TG_BN_UPDATES_IN_PLACE);
    ck_assert(!in[2].bessel);
    ck_assert_str_eq(in[2].layout, "NCHW");
    ck_assert_int_eq(in[2].axis[0], 1);
    ck_assert_double_eq(in[2].epsilon, 0.01);

    ck_assert_str_eq(in[3].api, "contrib core layer fused");
    ck_assert_int_eq(in[3].updates, TG_BN_UPDATES_NONE); /* trainable false: TF exposes none */
    ck_assert(in[3].gamma && !tg_variable_trainable(in[3].gamma));
    ck_assert(in[3].beta && !tg_variable_trainable(in[3].beta));
    ck_assert_double_eq(in[3].decay, 0.97);
    ck_assert(in[3].bessel);

    ck_assert_str_eq(in[4].api, "contrib core layer, renorm");
    ck_assert(in[4].renorm && !in[4].bessel);
    ck_assert_int_eq(in[4].training, -1);
    ck_assert_ptr_eq(in[4].training_t, phase);
    ck_assert_int_eq(in[4].updates, TG_BN_UPDATES_COLLECTION);

    ck_assert_str_eq(in[5].name, "eval");
    ck_assert_int_eq(in[5].training, 0);
    ck_assert_int_eq(in[5].updates, TG_BN_UPDATES_NONE);
    tg_free(in);

    char *text = tg_describe_batch_norm(g, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_contains(text, "layer");
    ck_assert_str_contains(text, "decay^t");
    ck_assert_str_contains(text, "in place");
    ck_assert_str_contains(text, "tensor phase:0");
    ck_assert_str_contains(text, "t and decay^t: '-' without a session");
    /* one line per layer after the header */
    int lines = 0;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    ck_assert_int_eq(lines, 1 + 6 + 1);
    tg_free(text);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tf_layers_and_keras_flavours)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_tf_layers_batch_norm_opts, a, .axis = {1}, .momentum = 0.95, .training = true);
    tg_tf_layers_batch_normalization(g, input(g, TG_SHAPE(2, 4, 3, 3)), &a);
    TG_OPTS(tg_tf_layers_batch_norm_opts, b, .scale = false, .n_axis = 2, .axis = {1, 2});
    tg_tf_layers_batch_normalization(g, input(g, TG_SHAPE(2, 4, 3)), &b);
    tg_layer *k = tg_keras_layers_batch_normalization_new(g, NULL);
    tg_layer_apply(k, input(g, TG_SHAPE(8, 5)), NULL);
    ck_assert_tg_ok(g);

    tg_batch_norm_info *in = infos(g, NULL, 3);
    ck_assert_str_eq(in[0].name, "batch_normalization");
    ck_assert_str_eq(in[0].api, "tf.layers fused");
    ck_assert_int_eq(in[0].training, 1);
    ck_assert_int_eq(in[0].updates, TG_BN_UPDATES_COLLECTION);
    ck_assert_str_eq(in[0].layout, "NCHW");
    ck_assert_int_eq(in[0].axis[0], 1);
    ck_assert_double_eq(in[0].decay, 0.95);
    ck_assert(in[0].bessel);
    ck_assert(in[0].gamma && tg_variable_trainable(in[0].gamma));

    ck_assert_str_eq(in[1].name, "batch_normalization_1");
    ck_assert_str_eq(in[1].api, "tf.layers");
    ck_assert_int_eq(in[1].training, 0); /* tf.layers' default training=False */
    ck_assert_int_eq(in[1].updates, TG_BN_UPDATES_NONE);
    ck_assert_ptr_null(in[1].gamma);
    ck_assert_int_eq(in[1].n_axis, 2);
    ck_assert_int_eq(in[1].axis[0], 1);
    ck_assert_int_eq(in[1].axis[1], 2);
    ck_assert_str_eq(in[1].layout, "-");
    ck_assert(!in[1].bessel);

    ck_assert_str_eq(in[2].api, "keras");
    ck_assert_int_eq(in[2].training, -1); /* the learning phase */
    ck_assert_str_eq(tg_tensor_name(in[2].training_t), "keras_learning_phase:0");
    ck_assert_int_eq(in[2].updates, TG_BN_UPDATES_LAYER);
    ck_assert_str_eq(in[2].layout, "NHWC");
    ck_assert_int_eq(in[2].axis[0], 1);
    tg_free(in);
    tg_graph_free(g);
}
END_TEST

/* A builder that fails leaves no record behind (its ops are rolled back). */
START_TEST(test_failed_builder_leaves_no_record)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_layers_batch_norm_opts, o, .scope = "bn");
    tg_layers_batch_norm(g, input(g, TG_SHAPE(4, 3)), &o);
    tg_set_log_callback(NULL, NULL);
    tg_layers_batch_norm(g, input(g, TG_SHAPE(4, 3)), &o); /* "bn/beta already exists" */
    tg_set_log_callback(tg_log_stderr, NULL);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    ck_assert_int_eq(tg_batch_norm_layers(g, NULL, NULL), 1);
    tg_graph_free(g);
    ck_assert_int_eq(tg_batch_norm_layers(NULL, NULL, NULL), -1);
}
END_TEST

/* ---- t and decay^t ------------------------------------------------------------------------ */

/* After k runs of the UPDATE_OPS, t = k, decay^t = d^k, and the moving mean
 * of a constant batch with mean m is (1 - d^k) m: decay^t is the weight
 * the initial 0 still has. */
START_TEST(test_t_and_decay_power)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_layers_batch_norm_opts, o, .decay = 0.9);
    tg_layers_batch_norm(g, const_batch(g, 4, 2), &o);
    tg_op **ups = NULL;
    int n_ups = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &ups);
    ck_assert_int_eq(n_ups, 2);
    tg_op *step = tg_group(g, ups, n_ups, "step");
    tg_free(ups);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    const int k = 7;
    for (int i = 0; i < k; i++) tgc_run_target(s, step);
    tg_batch_norm_info *in = infos(g, s, 1);
    ck_assert_int_eq(in[0].t, k);
    ck_assert_double_eq_tol(in[0].initial_weight, power(0.9, k), 1e-12);
    tg_array *mm = tgc_fetch(s, tg_variable_value(in[0].moving_mean), NULL, 0);
    for (int j = 0; j < 2; j++) ck_assert_double_eq_tol(tg_array_get(mm, j), (1 - power(0.9, k)) * (j + 1), 1e-5);
    tg_array_free(mm);
    tg_free(in);
    char *text = tg_describe_batch_norm(g, s);
    char want[64];
    snprintf(want, sizeof want, "%.3f", power(0.9, k));
    ck_assert_str_contains(text, want);
    ck_assert_str_contains(text, "decay^t: the weight the initial values");
    tg_free(text);
    /* a session of another graph */
    tg_graph *other = tg_graph_new();
    tg_constant_scalar(other, TG_FLOAT32, 1, NULL);
    tg_session *s2 = tg_session_new(other);
    ck_assert_int_eq(tg_batch_norm_layers(g, s2, NULL), -1);
    ck_assert_ptr_null(tg_describe_batch_norm(g, s2));
    tg_session_free(s2);
    tg_graph_free(other);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* A training tensor: only runs with it true update (the fused core layer
 * runs its assigns every time, with decay 1 when false); a layer applied
 * twice shares its variables, so t counts both applications' updates;
 * in-place updates count each fetch of the output. */
START_TEST(test_t_counts_real_updates)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *phase = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "phase");
    tg_layer *l = tg_tf_layers_batch_normalization_new(g, NULL);
    TG_OPTS(tg_layer_call_opts, co, .training_t = phase);
    tg_tensor *x4 = input(g, TG_SHAPE(2, 2, 2, 3));
    tg_tensor *y1 = tg_layer_call(l, x4, &co);
    tg_tensor *y2 = tg_layer_call(l, tg_multiply(g, x4, tg_constant_scalar(g, TG_FLOAT32, 2, NULL), NULL), &co);
    TG_OPTS(tg_layers_batch_norm_opts, ip, .updates_collections = NULL, .decay = 0.5);
    tg_tensor *y3 = tg_layers_batch_norm(g, const_batch(g, 4, 2), &ip);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_op **ups = NULL;
    int n_ups = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &ups);
    ck_assert_int_eq(n_ups, 4);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    float xs[24];
    for (int i = 0; i < 24; i++) xs[i] = (float)(i % 5);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){2, 2, 2, 3}, xs);
    tg_array *yes = tg_array_scalar_bool(true);
    tg_tensor *fetch[2] = {y1, y2};
    for (int i = 0; i < 5; i++) { /* 3 training runs, 2 inference runs */
        tg_feed feeds[2] = {{x4, xa}, {phase, yes}};
        tg_array *out[2] = {NULL, NULL};
        ck_assert_int_eq(tg_session_run(s, feeds, i < 3 ? 2 : 1, fetch, 2, out, ups, n_ups), TG_OK);
        tg_array_free(out[0]);
        tg_array_free(out[1]);
    }
    for (int i = 0; i < 4; i++) tg_array_free(tgc_fetch(s, y3, NULL, 0));
    tg_batch_norm_info *in = infos(g, s, 3);
    ck_assert_int_eq(in[0].t, 6); /* two applications x 3 training runs */
    ck_assert_int_eq(in[1].t, 6);
    ck_assert_ptr_eq(in[0].moving_mean, in[1].moving_mean);
    ck_assert_double_eq_tol(in[0].initial_weight, power(0.99, 6), 1e-12);
    ck_assert_int_eq(in[2].t, 4);
    ck_assert_double_eq_tol(in[2].initial_weight, power(0.5, 4), 1e-12);
    tg_array *mm = tgc_fetch(s, tg_variable_value(in[2].moving_mean), NULL, 0);
    ck_assert_double_eq_tol(tg_array_get(mm, 1), (1 - power(0.5, 4)) * 2, 1e-5);
    tg_array_free(mm);
    tg_free(in);
    tg_free(ups);
    tg_array_free(xa);
    tg_array_free(yes);
    tg_session_free(s);
    tg_layer_free(l);
    tg_graph_free(g);
}
END_TEST

/* ---- batch_norm_training_at_eval ---------------------------------------------------------- */

START_TEST(test_training_at_eval)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g, TG_SHAPE(-1, 3));
    tg_tensor *y = tg_layers_batch_norm(g, x, NULL); /* contrib's default is_training=True */
    tg_tensor *loss = sum_loss(g, y);
    tg_op *train = minimize_with_updates(g, loss);
    ck_assert_tg_ok(g);
    char *report = NULL;
    ck_assert_int_eq(lint(g, &y, 1, NULL, 0, &report), 1);
    ck_assert_str_eq(report,
                     "[batch_norm_training_at_eval] evaluating in training mode: BatchNorm normalizes with the "
                     "batch's statistics, so outputs depend on the rest of the batch. Fix: evaluate with "
                     "is_training false (tf.layers, Keras: training false), or with the training tensor fed "
                     "false (TF: is_training=False in the evaluation graph)\n");
    tg_free(report);
    /* a training run is what training mode is for */
    ck_assert_int_eq(lint(g, &loss, 1, &train, 1, &report), 0);
    /* the fix: an evaluation tower with is_training false, sharing the variables */
    TG_OPTS(tg_layers_batch_norm_opts, ev, .is_training = false, .scope = "BatchNorm", .reuse = TG_REUSE_TRUE);
    tg_tensor *y_eval = tg_layers_batch_norm(g, x, &ev);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(lint(g, &y_eval, 1, NULL, 0, &report), 0);
    tg_graph_free(g);
}
END_TEST

/* A placeholder_with_default: its default decides an unfed run; fed, the
 * mode is unknown and nothing is said. In place, the finding says the
 * run moves the statistics too. */
START_TEST(test_training_at_eval_tensor)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *phase = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 1, NULL), TG_SCALAR, "phase");
    TG_OPTS(tg_layers_batch_norm_opts, o, .is_training_t = phase, .updates_collections = NULL, .scope = "bn1");
    tg_tensor *x = input(g, TG_SHAPE(4, 2));
    tg_tensor *y = tg_layers_batch_norm(g, x, &o);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    char *report = NULL;
    ck_assert_int_eq(lint(g, &y, 1, NULL, 0, &report), 1);
    ck_assert_str_contains(report, "evaluating in training mode: bn1 normalizes");
    ck_assert_str_contains(report, "and this run moves the moving statistics (updates in place)");
    tg_free(report);

    tg_session *s = tg_session_new(g);
    tg_session_set_run_options(s, &(tg_run_options){.lint = true});
    tgc_run_target(s, init);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){4, 2}, (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    tg_array *no = tg_array_scalar_bool(false);
    tg_feed fed[2] = {{x, xa}, {phase, no}};
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, fed, 2, &y, 1, &out, NULL, 0), TG_OK);
    tg_array_free(out);
    assert_no(tg_session_warnings(s), "batch_norm_training_at_eval");
    tg_array_free(xa);
    tg_array_free(no);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* ---- bn_decay -------------------------------------------------------------------------------- */

typedef struct decay_model {
    tg_graph *g;
    tg_tensor *y_eval, *loss;
    tg_op *train, *init;
} decay_model;

/* A train tower (is_training true, UPDATE_OPS on the train op) and an
 * evaluation tower (false) sharing variable scope "bn2". */
static decay_model decay_model_new(double decay) {
    decay_model m = {.g = tg_graph_new()};
    tg_graph *g = m.g;
    tg_tensor *x = const_batch(g, 4, 2);
    TG_OPTS(tg_layers_batch_norm_opts, tr, .decay = decay, .scale = true, .scope = "bn2");
    m.loss = sum_loss(g, tg_layers_batch_norm(g, x, &tr));
    m.train = minimize_with_updates(g, m.loss);
    TG_OPTS(tg_layers_batch_norm_opts, ev, .decay = decay, .scale = true, .scope = "bn2", .reuse = TG_REUSE_TRUE,
            .is_training = false);
    m.y_eval = tg_layers_batch_norm(g, x, &ev);
    m.init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    return m;
}

static tg_session *linting_session(decay_model *m, int steps) {
    tg_session *s = tg_session_new(m->g);
    tg_session_set_run_options(s, &(tg_run_options){.lint = true});
    tgc_run_target(s, m->init);
    for (int i = 0; i < steps; i++) tgc_run_target(s, m->train);
    assert_no(tg_session_warnings(s), "[bn_decay]");
    return s;
}

/* The evaluation run's warnings (a copy). */
static char *eval_warnings(tg_session *s, decay_model *m) {
    tg_array_free(tgc_fetch(s, m->y_eval, NULL, 0));
    const char *w = tg_session_warnings(s);
    char *copy = malloc(strlen(w) + 1);
    ck_assert_ptr_nonnull(copy);
    return strcpy(copy, w);
}

START_TEST(test_bn_decay)
{
    decay_model m = decay_model_new(0.999);
    tg_session *s = linting_session(&m, 120);
    char *w = eval_warnings(s, &m);
    char want[256];
    snprintf(want, sizeof want,
             "[bn_decay] bn2: 120 updates at decay 0.999: the moving statistics are still %.0f%% their initial "
             "values (0 and 1). Fix: train longer or lower decay (0.9-0.99)\n",
             100 * power(0.999, 120));
    ck_assert_str_contains(want, "89%");
    ck_assert_str_eq(w, want);
    free(w);
    /* the table says the same */
    tg_batch_norm_info *in = infos(m.g, s, 2);
    ck_assert_int_eq(in[0].t, 120);
    ck_assert_int_eq(in[1].t, 120); /* the evaluation tower shares the statistics */
    ck_assert_double_eq_tol(in[1].initial_weight, power(0.999, 120), 1e-9);
    tg_free(in);
    /* without a session there is no t: nothing to say */
    char *report = NULL;
    ck_assert_int_eq(lint(m.g, &m.y_eval, 1, NULL, 0, &report), 0);
    tg_session_free(s);

    /* never updated */
    s = linting_session(&m, 0);
    w = eval_warnings(s, &m);
    ck_assert_str_contains(w, "[bn_decay] bn2: 0 updates: the moving statistics are still their initial values "
                              "(0 and 1), and this evaluation normalizes with them. Fix: run the update ops");
    free(w);
    tg_session_free(s);
    tg_graph_free(m.g);

    /* the fix: decay 0.9, 0.9^120 is far below one half */
    m = decay_model_new(0.9);
    s = linting_session(&m, 120);
    w = eval_warnings(s, &m);
    ck_assert_str_eq(w, "");
    free(w);
    tg_session_free(s);
    tg_graph_free(m.g);
}
END_TEST

/* Statistics restored from a checkpoint did not come from this session's
 * updates: decay^t says nothing about them. */
START_TEST(test_bn_decay_silent_after_restore)
{
    decay_model m = decay_model_new(0.9);
    tg_saver *saver = tg_train_saver_new(m.g, NULL, 0, NULL);
    ck_assert_tg_ok(m.g);
    char *dir = tgf_make_tmpdir("tg_describe_bn");
    char *path = tgf_path_join(dir, "ckpt");
    tg_session *s = linting_session(&m, 50);
    ck_assert_int_eq(tg_saver_save(saver, s, path), TG_OK);
    tg_session_free(s);
    s = linting_session(&m, 0);
    ck_assert_int_eq(tg_saver_restore(saver, s, path), TG_OK);
    char *w = eval_warnings(s, &m);
    ck_assert_str_eq(w, "");
    free(w);
    tg_session_free(s);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
    tg_graph_free(m.g);
}
END_TEST

/* ---- saver_omits_moving_stats ------------------------------------------------------------- */

START_TEST(test_saver_omits_moving_stats)
{
    decay_model m = decay_model_new(0.9);
    tg_variable **trainable = NULL;
    int nt = tg_trainable_variables(m.g, &trainable);
    ck_assert_int_eq(nt, 2); /* bn2/beta, bn2/gamma */
    tg_saver *bad = tg_train_saver_new(m.g, trainable, nt, NULL);
    tg_saver *part = tg_train_saver_new(m.g, trainable, 1, "backbone"); /* a part of the model: left alone */
    ck_assert_tg_ok(m.g);
    char *report = NULL;
    ck_assert_int_eq(lint(m.g, &m.y_eval, 1, NULL, 0, &report), 1);
    ck_assert_str_eq(report,
                     "[saver_omits_moving_stats] checkpoint of Saver 'save' omits bn2/moving_mean, "
                     "bn2/moving_variance: not trainable but read by this evaluation run, so a restore leaves them "
                     "at their initial values. Fix: build the Saver from tg_global_variables (TF: tf.train.Saver() "
                     "or var_list=tf.global_variables())\n");
    tg_free(report);
    /* a training run: the lint is about what evaluation reads */
    ck_assert_int_eq(lint(m.g, &m.loss, 1, &m.train, 1, &report), 0);
    /* the fix: the global variables; the bad saver freed early */
    tg_variable **globals = NULL;
    int ng = tg_global_variables(m.g, &globals);
    tg_train_saver_new(m.g, globals, ng, NULL);
    ck_assert_tg_ok(m.g);
    tg_saver_free(bad);
    ck_assert_int_eq(lint(m.g, &m.y_eval, 1, NULL, 0, &report), 0);
    (void)part;
    tg_free(trainable);
    tg_free(globals);
    tg_graph_free(m.g);
}
END_TEST

/* ---- silent on the examples' models ------------------------------------------------------- */

static void silent_on_mnist(mnist_model_fn model_fn) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 28, 28, 1), "images");
    tg_tensor *y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "labels");
    tg_tensor *phase = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "is_training");
    tg_tensor *logits = model_fn(g, x, phase);
    tg_tensor *loss = tg_losses_sparse_softmax_cross_entropy(g, y, logits, NULL);
    tg_optimizer *opt = tg_train_momentum_optimizer_new(g, 0.01, 0.9, NULL);
    tg_op **updates = NULL, *train = NULL;
    int n = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, n) { train = tg_optimizer_minimize(opt, loss, NULL); }
    tg_free(updates);
    tg_train_saver_new(g, NULL, 0, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    char *report = NULL;
    ck_assert_int_eq(lint(g, &loss, 1, &train, 1, &report), 0);
    ck_assert_int_eq(lint(g, &logits, 1, NULL, 0, &report), 0);

    tg_session *s = tg_session_new(g);
    tg_session_set_run_options(s, &(tg_run_options){.lint = true});
    tgc_run_target(s, init);
    float images[2 * 28 * 28];
    for (int i = 0; i < 2 * 28 * 28; i++) images[i] = (float)((i * 7) % 13) / 13.0f;
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){2, 28, 28, 1}, images);
    tg_array *ya = tg_array_new_from(TG_INT64, 1, (int64_t[]){2}, (int64_t[]){3, 7});
    tg_array *yes = tg_array_scalar_bool(true);
    tg_feed feeds[3] = {{x, xa}, {y, ya}, {phase, yes}};
    for (int i = 0; i < 8; i++) { /* 0.9^8 < 0.5 */
        ck_assert_int_eq(tg_session_run(s, feeds, 3, NULL, 0, NULL, &train, 1), TG_OK);
        ck_assert_str_eq(tg_session_warnings(s), "");
    }
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, feeds, 1, &logits, 1, &out, NULL, 0), TG_OK);
    ck_assert_str_eq(tg_session_warnings(s), "");
    tg_array_free(out);
    tg_array_free(xa);
    tg_array_free(ya);
    tg_array_free(yes);
    tg_session_free(s);
    tg_graph_free(g);
}

START_TEST(test_silent_on_mnist_models)
{
    silent_on_mnist(mnist_cnn_model);
    silent_on_mnist(mnist_mlp_model);
}
END_TEST

static Suite *describe_bn_suite(void) {
    Suite *s = suite_create("describe_bn");
    TCase *tc = tcase_create("describe_bn");
    tcase_add_test(tc, test_attachments);
    tcase_add_test(tc, test_contrib_flavours);
    tcase_add_test(tc, test_tf_layers_and_keras_flavours);
    tcase_add_test(tc, test_failed_builder_leaves_no_record);
    tcase_add_test(tc, test_t_and_decay_power);
    tcase_add_test(tc, test_t_counts_real_updates);
    tcase_add_test(tc, test_training_at_eval);
    tcase_add_test(tc, test_training_at_eval_tensor);
    tcase_add_test(tc, test_bn_decay);
    tcase_add_test(tc, test_bn_decay_silent_after_restore);
    tcase_add_test(tc, test_saver_omits_moving_stats);
    tcase_add_test(tc, test_silent_on_mnist_models);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(describe_bn_suite)
