/* The builders behind the options test (gen_options_test.py): one function
 * per options struct that builds a small graph with the options it is given
 * and reports what was built as "key=value" words (status, variables,
 * collections, the output's op, and for batch norm and dropout the numbers
 * one step gives). The generated cases call these with each spelling. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void add(tgo_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(tgo_result *r, const char *fmt, ...) {
    size_t len = strlen(r->text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text + len, sizeof r->text - len, fmt, ap);
    va_end(ap);
}

static int count(tg_graph *g, const char *key) {
    tg_item *items = NULL;
    int n = tg_get_collection(g, key, NULL, &items);
    tg_free(items);
    return n;
}

/* What every case reports: the status, then (when OK) the graph's variables
 * and collections; the message apart (it may contain spaces). */
static void observe(tg_graph *g, tgo_result *r, tg_tensor *out) {
    tg_code c = tg_graph_status(g);
    add(r, " status=%s", tg_code_name(c));
    if (c == TG_OK) {
        tg_variable **vars = NULL;
        int n = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vars);
        add(r, " vars=");
        for (int i = 0; i < n; i++) add(r, "%s%s%s", i ? "," : "", tg_variable_name(vars[i]),
                                        tg_variable_trainable(vars[i]) ? "(t)" : "");
        tg_free(vars);
        add(r, " n_trainable=%d n_update_ops=%d n_losses=%d n_reg_losses=%d",
            count(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES), count(g, TG_GRAPHKEYS_UPDATE_OPS),
            count(g, TG_GRAPHKEYS_LOSSES), count(g, TG_GRAPHKEYS_REGULARIZATION_LOSSES));
        if (out) {
            char s[128];
            tg_shape sh = tg_tensor_shape(out);
            add(r, " out_op=%s out_shape=", tg_op_type(tg_tensor_op(out)));
            tg_shape_format(&sh, s, sizeof s);
            for (char *p = s; *p; p++)
                if (*p != ' ') add(r, "%c", *p); /* one word: "(1,4,4,2)" */
        }
    }
    snprintf(r->message, sizeof r->message, "%s", tg_graph_message(g));
}

/* observe, then free the graph: the end of most builders below */
static void done(tg_graph *g, tgo_result *r, tg_tensor *out) {
    observe(g, r, out);
    tg_graph_free(g);
}

static tg_array *ramp(int64_t n, int64_t c) {
    float *v = malloc((size_t)(n * c) * sizeof *v);
    for (int64_t i = 0; i < n * c; i++) v[i] = (float)(i + 1); /* x[i][j] = i*c + j + 1 */
    tg_array *a = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){n, c}, v);
    free(v);
    return a;
}

/* One training step of a batch-norm output on the 4x3 ramp: runs out, the
 * UPDATE_OPS and fetches moving_mean[0] ("mm0") and out[0][0] ("y00"). */
static void bn_step(tg_graph *g, tgo_result *r, tg_tensor *x, tg_tensor *out) {
    if (tg_graph_status(g) != TG_OK || !out) return;
    tg_variable *mm = NULL;
    tg_variable **vars = NULL;
    int n = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vars);
    for (int i = 0; i < n; i++)
        if (strstr(tg_variable_name(vars[i]), "moving_mean") && !strstr(tg_variable_name(vars[i]), "/biased"))
            mm = mm ? mm : vars[i];
    tg_free(vars);
    tg_op **ups = NULL;
    int nu = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &ups);
    tg_op *init = tg_global_variables_initializer(g);
    tg_session *s = tg_session_new(g);
    tg_array *xv = ramp(4, 3), *y = NULL, *m = NULL;
    tg_feed feed = {x, xv};
    tg_code c = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    if (!c) c = tg_session_run(s, &feed, 1, &out, 1, &y, ups, nu);
    tg_tensor *mmv = mm ? tg_variable_value(mm) : NULL;
    if (!c && mmv) c = tg_session_run(s, NULL, 0, &mmv, 1, &m, NULL, 0);
    if (c) add(r, " run=%s", tg_code_name(c));
    if (y) add(r, " y00=%.6g", tg_array_get(y, 0));
    if (m) add(r, " mm0=%.6g", tg_array_get(m, 0));
    tg_array_free(xv), tg_array_free(y), tg_array_free(m), tg_free(ups);
    tg_session_free(s);
}

static tg_tensor *input(tg_graph *g, tg_shape s) { return tg_placeholder(g, TG_FLOAT32, s, "x"); }

/* Dropout of 64x64 ones: a kept element is 1 / (1 - rate), so the largest
 * output ("max") gives the rate (all 4096 dropped has probability rate^4096). */
static void dropout_max(tg_graph *g, tgo_result *r, tg_tensor *x, tg_tensor *out) {
    if (tg_graph_status(g) != TG_OK || !out) return;
    tg_session *s = tg_session_new(g);
    float *ones = malloc(64 * 64 * sizeof *ones);
    for (int i = 0; i < 64 * 64; i++) ones[i] = 1;
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){64, 64}, ones), *y = NULL;
    tg_feed feed = {x, xv};
    if (tg_session_run(s, &feed, 1, &out, 1, &y, NULL, 0) == TG_OK) {
        double m = 0;
        for (int64_t i = 0; i < tg_array_size(y); i++) m = tg_array_get(y, i) > m ? tg_array_get(y, i) : m;
        add(r, " max=%.6g", m);
    }
    tg_array_free(xv), tg_array_free(y), free(ones);
    tg_session_free(s);
}

/* ---- one builder per options struct ---------------------------------------------- */

void tgo_tg_gradients_opts(const tg_gradients_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g, TG_SHAPE(2)), *y = tg_multiply(g, x, x, NULL), *dx = NULL;
    tg_gradients(g, &y, 1, &x, 1, &dx, o);
    done(g, r, dx);
}

void tgo_tg_dot_options(const tg_dot_options *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    input(g, TG_SHAPE(2));
    FILE *f = tmpfile();
    tg_code c = tg_graph_write_dot_opts(g, f, o);
    if (f) fclose(f);
    add(r, " dot=%s", tg_code_name(c));
    done(g, r, NULL);
}

void tgo_tg_layers_fc_opts(const tg_layers_fc_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_layers_fully_connected(g, input(g, TG_SHAPE(2, 3)), 4, o);
    done(g, r, out);
}

void tgo_tg_layers_conv2d_opts(const tg_layers_conv2d_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_layers_conv2d(g, input(g, TG_SHAPE(1, 6, 6, 1)), 2, TG_KERNEL(3, 3), o);
    done(g, r, out);
}

void tgo_tg_layers_flatten_opts(const tg_layers_flatten_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_layers_flatten(g, input(g, TG_SHAPE(2, 3, 4)), o);
    done(g, r, out);
}

void tgo_tg_layers_pool2d_opts(const tg_layers_pool2d_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_layers_max_pool2d(g, input(g, TG_SHAPE(1, 8, 8, 1)), TG_KERNEL(2, 2), o);
    done(g, r, out);
}

void tgo_tg_layers_dropout_opts(const tg_layers_dropout_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g, TG_SHAPE(64, 64));
    tg_tensor *out = tg_layers_dropout(g, x, o);
    observe(g, r, out);
    dropout_max(g, r, x, out);
    tg_graph_free(g);
}

void tgo_tg_layers_batch_norm_opts(const tg_layers_batch_norm_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g, TG_SHAPE(4, 3));
    tg_tensor *out = tg_layers_batch_norm(g, x, o);
    observe(g, r, out);
    bn_step(g, r, x, out);
    tg_graph_free(g);
}

void tgo_tg_renorm_clipping(const tg_renorm_clipping *c, tgo_result *r) {
    TG_OPTS(tg_layers_batch_norm_opts, bn, .renorm = true);
    if (c) bn.renorm_clipping = *c;
    tgo_tg_layers_batch_norm_opts(&bn, r);
}

void tgo_tg_loss_opts(const tg_loss_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_losses_mean_squared_error(g, input(g, TG_SHAPE(2, 3)), tg_placeholder(g, TG_FLOAT32,
                                                  TG_SHAPE(2, 3), "p"), o);
    done(g, r, out);
}

void tgo_tg_matmul_opts(const tg_matmul_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_matmul(g, input(g, TG_SHAPE(3, 3)), tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3, 3), "b"), o);
    done(g, r, out);
}

void tgo_tg_reduce_opts(const tg_reduce_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_reduce_mean(g, input(g, TG_SHAPE(2, 3)), o);
    done(g, r, out);
}

static tg_variable *scalar_var(tg_graph *g) {
    return tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, NULL);
}

void tgo_tg_assign_moving_average_opts(const tg_assign_moving_average_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_train_assign_moving_average_opts(g, scalar_var(g), tg_constant_scalar(g, TG_FLOAT32, 1, NULL),
                                                         0.5, o);
    done(g, r, out);
}

void tgo_tg_weighted_moving_average_opts(const tg_weighted_moving_average_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_train_weighted_moving_average(g, input(g, TG_SHAPE(2)), 0.5,
                                                      tg_constant_scalar(g, TG_FLOAT32, 1, NULL), o);
    done(g, r, out);
}

void tgo_tg_ema_opts(const tg_ema_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_ema *e = tg_train_ema_new(g, 0.9, o);
    add(r, " ema=%s", e ? "yes" : "no");
    observe(g, r, NULL);
    tg_ema_free(e);
    tg_graph_free(g);
}

void tgo_tg_conv2d_opts(const tg_conv2d_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_nn_conv2d(g, input(g, TG_SHAPE(1, 6, 6, 1)),
                                  tg_placeholder(g, TG_FLOAT32, TG_SHAPE(3, 3, 1, 2), "w"), o);
    done(g, r, out);
}

void tgo_tg_pool_opts(const tg_pool_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_nn_max_pool(g, input(g, TG_SHAPE(1, 6, 6, 1)), o);
    done(g, r, out);
}

void tgo_tg_fused_batch_norm_opts(const tg_fused_batch_norm_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g, TG_SHAPE(1, 2, 2, 3)), *y = NULL;
    tg_tensor *one = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){1, 1, 1}, NULL);
    tg_tensor *zero = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(3), (float[]){0, 0, 0}, NULL);
    /* reads the field as the user wrote it: inference needs the statistics */
    bool training = o ? o->is_training : true;
    tg_nn_fused_batch_norm(g, x, one, zero, training ? NULL : zero, training ? NULL : one, o, &y, NULL, NULL);
    done(g, r, y);
}

void tgo_tg_dropout_opts(const tg_dropout_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g, TG_SHAPE(64, 64));
    tg_tensor *out = tg_nn_dropout(g, x, o);
    observe(g, r, out);
    dropout_max(g, r, x, out);
    tg_graph_free(g);
}

void tgo_tg_random_opts(const tg_random_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_random_uniform(g, TG_SHAPE(2), o);
    done(g, r, out);
}

void tgo_tg_session_options(const tg_session_options *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_session *s = tg_session_new_opts(g, o);
    add(r, " session=%s", s ? "yes" : "no");
    observe(g, r, NULL);
    tg_session_free(s);
    tg_graph_free(g);
}

void tgo_tg_run_options(const tg_run_options *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_session *s = tg_session_new(g);
    tg_session_set_run_options(s, o);
    observe(g, r, NULL);
    tg_session_free(s);
    tg_graph_free(g);
}

void tgo_tg_layer_call_opts(const tg_layer_call_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_layer *l = tg_tf_layers_dropout_new(g, NULL);
    tg_tensor *out = tg_layer_call(l, input(g, TG_SHAPE(4, 4)), o);
    observe(g, r, out);
    tg_layer_free(l);
    tg_graph_free(g);
}

void tgo_tg_layer_add_variable_opts(const tg_layer_add_variable_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_layer *l = tg_tf_layers_dense_new(g, 2, NULL);
    tg_layer_add_variable(l, "extra", TG_FLOAT32, TG_SHAPE(2), o);
    observe(g, r, NULL);
    tg_layer_free(l);
    tg_graph_free(g);
}

void tgo_tg_tf_layers_dense_opts(const tg_tf_layers_dense_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_tf_layers_dense(g, input(g, TG_SHAPE(2, 3)), 4, o);
    done(g, r, out);
}

void tgo_tg_tf_layers_conv2d_opts(const tg_tf_layers_conv2d_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_tf_layers_conv2d(g, input(g, TG_SHAPE(1, 6, 6, 1)), 2, TG_KERNEL(3, 3), o);
    done(g, r, out);
}

void tgo_tg_tf_layers_pooling2d_opts(const tg_tf_layers_pooling2d_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_tf_layers_max_pooling2d(g, input(g, TG_SHAPE(1, 6, 6, 1)), TG_KERNEL(2, 2), TG_KERNEL(2, 2), o);
    done(g, r, out);
}

void tgo_tg_tf_layers_flatten_opts(const tg_tf_layers_flatten_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *out = tg_tf_layers_flatten(g, input(g, TG_SHAPE(2, 3, 4)), o);
    done(g, r, out);
}

/* With training on (the functional form's default is off, which would hide
 * rate); a struct without its tag stays without it, and is still refused. */
void tgo_tg_tf_layers_dropout_opts(const tg_tf_layers_dropout_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g, TG_SHAPE(64, 64));
    tg_tf_layers_dropout_opts t = TG_TF_LAYERS_DROPOUT_OPTS_INIT;
    if (o) t = *o;
    t.training = true;
    tg_tensor *out = tg_tf_layers_dropout(g, x, &t);
    observe(g, r, out);
    dropout_max(g, r, x, out);
    tg_graph_free(g);
}

void tgo_tg_tf_layers_batch_norm_opts(const tg_tf_layers_batch_norm_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g, TG_SHAPE(4, 3));
    tg_tensor *out = tg_tf_layers_batch_normalization(g, x, o);
    observe(g, r, out);
    bn_step(g, r, x, out);
    tg_graph_free(g);
}

static tg_tensor *quadratic_loss(tg_graph *g) {
    tg_tensor *v = tg_variable_value(scalar_var(g));
    return tg_multiply(g, v, v, NULL);
}

static void optimizer_case(tg_graph *g, tg_optimizer *opt, tgo_result *r) {
    tg_op *train = tg_optimizer_minimize(opt, quadratic_loss(g), NULL);
    add(r, " train=%s", train ? "yes" : "no");
    observe(g, r, NULL);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}

void tgo_tg_train_gradient_descent_opts(const tg_train_gradient_descent_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    optimizer_case(g, tg_train_gradient_descent_optimizer_new(g, 0.1, o), r);
}

void tgo_tg_train_momentum_opts(const tg_train_momentum_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    optimizer_case(g, tg_train_momentum_optimizer_new(g, 0.1, 0.9, o), r);
}

void tgo_tg_train_adam_opts(const tg_train_adam_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    optimizer_case(g, tg_train_adam_optimizer_new(g, 0.1, o), r);
}

void tgo_tg_train_rmsprop_opts(const tg_train_rmsprop_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    optimizer_case(g, tg_train_rmsprop_optimizer_new(g, 0.1, o), r);
}

void tgo_tg_train_adagrad_opts(const tg_train_adagrad_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    optimizer_case(g, tg_train_adagrad_optimizer_new(g, 0.1, o), r);
}

void tgo_tg_minimize_opts(const tg_minimize_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_op *train = tg_optimizer_minimize(opt, quadratic_loss(g), o);
    add(r, " train=%s", train ? "yes" : "no");
    observe(g, r, NULL);
    tg_optimizer_free(opt);
    tg_graph_free(g);
}

void tgo_tg_variable_scope_opts(const tg_variable_scope_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    TG_WITH_VARIABLE_SCOPE(g, "s", o) { scalar_var(g); }
    done(g, r, NULL);
}

void tgo_tg_get_variable_opts(const tg_get_variable_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), o);
    done(g, r, NULL);
}

/* Print of the ramp 1..4 run twice on one session: "prints" counts the
 * lines its sink got (first_n), "text" is the first with '_' for spaces
 * (message, summarize). */
static int n_lines;
static void count_line(const char *text, void *user) {
    tgo_result *r = user;
    n_lines++;
    if (strstr(r->text, " text=")) return;
    add(r, " text=");
    for (const char *p = text; *p; p++) add(r, "%c", *p == ' ' ? '_' : *p);
}

void tgo_tg_print_opts(const tg_print_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g, TG_SHAPE(4));
    tg_tensor *out = tg_print(g, x, &x, 1, o);
    observe(g, r, out);
    if (tg_graph_status(g) == TG_OK && out) {
        tg_session *s = tg_session_new(g);
        tg_session_set_print_callback(s, count_line, r);
        tg_array *xv = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){4}, (float[]){1, 2, 3, 4}), *y = NULL;
        tg_feed feed = {x, xv};
        n_lines = 0;
        for (int i = 0; i < 2; i++) tg_session_run(s, &feed, 1, &out, 1, &y, NULL, 0);
        add(r, " prints=%d", n_lines);
        tg_array_free(xv), tg_array_free(y);
        tg_session_set_print_callback(s, NULL, NULL);
        tg_session_free(s);
    }
    tg_graph_free(g);
}

/* while i < 3: (i + 1, x * 2) on x = {1, 2}: reports the final x[1] (16). */
static tg_tensor *below_3(tg_graph *g, void *user, tg_tensor *const *v, int n) {
    (void)user, (void)n;
    return tg_less(g, v[0], tg_constant_scalar(g, TG_INT32, 3, NULL), NULL);
}

static int double_x(tg_graph *g, void *user, tg_tensor *const *v, tg_tensor **next, int n) {
    (void)user, (void)n;
    next[0] = tg_add(g, v[0], tg_constant_scalar(g, TG_INT32, 1, NULL), NULL);
    next[1] = tg_multiply(g, v[1], tg_constant_scalar(g, TG_FLOAT32, 2, NULL), NULL);
    return 2;
}

void tgo_tg_while_loop_opts(const tg_while_loop_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = input(g, TG_SHAPE(2));
    tg_tensor *vars[2] = {tg_constant_scalar(g, TG_INT32, 0, NULL), x}, *out[2] = {NULL, NULL};
    tg_while_loop(g, below_3, double_x, NULL, vars, 2, out, o);
    observe(g, r, out[1]);
    if (tg_graph_status(g) == TG_OK) {
        tg_session *s = tg_session_new(g);
        tg_array *xv = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){2}, (float[]){1, 2}), *y = NULL;
        tg_feed feed = {x, xv};
        if (tg_session_run(s, &feed, 1, &out[1], 1, &y, NULL, 0) == TG_OK) add(r, " x1=%g", tg_array_get(y, 1));
        tg_array_free(xv), tg_array_free(y);
        tg_session_free(s);
    }
    tg_graph_free(g);
}

/* ---- the Saver: what a few saves leave in a fresh folder ---------------------------------- */

/* " files=a,b,c": the folder's files in byte order; then removes them. */
static void files_and_clean(tgo_result *r, const char *dir) {
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    add(r, " files=");
    for (int i = 0, k = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            add(r, "%s%s", k++ ? "," : "", names[i]->d_name);
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, names[i]->d_name);
            unlink(p);
        }
        free(names[i]);
    }
    free(names);
    rmdir(dir);
}

/* " state_abs=1" when the state file's model_checkpoint_path is absolute. */
static void state_abs(tgo_result *r, const char *dir) {
    char p[4096], line[4096] = "";
    snprintf(p, sizeof p, "%s/checkpoint", dir);
    FILE *f = fopen(p, "r");
    if (!f) return;
    if (fgets(line, sizeof line, f)) add(r, " state_abs=%d", strncmp(line, "model_checkpoint_path: \"/", 25) == 0);
    fclose(f);
}

/* A saver with the options saves the scalar "v" at global steps 1..7. */
void tgo_tg_saver_opts(const tg_saver_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    scalar_var(g);
    tg_saver *sv = tg_train_saver_new_opts(g, NULL, 0, o);
    tg_op *init = tg_global_variables_initializer(g);
    char dir[] = "/tmp/tgo_saver_XXXXXX", path[64];
    if (sv && mkdtemp(dir)) {
        tg_session *s = tg_session_new(g);
        snprintf(path, sizeof path, "%s/ckpt", dir);
        tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
        for (int step = 1; step <= 7 && rc == TG_OK; step++) {
            TG_OPTS(tg_save_opts, so, .global_step = step);
            rc = tg_saver_save_opts(sv, s, path, &so);
        }
        add(r, " saved=%s", tg_code_name(rc));
        state_abs(r, dir);
        files_and_clean(r, dir);
        tg_session_free(s);
    }
    observe(g, r, NULL);
    tg_graph_free(g);
}

/* One save of the scalar "v" with the options; the status and message are
 * the save's. */
void tgo_tg_save_opts(const tg_save_opts *o, tgo_result *r) {
    tg_graph *g = tg_graph_new();
    scalar_var(g);
    tg_saver *sv = tg_train_saver_new(g, NULL, 0, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    char dir[] = "/tmp/tgo_save_XXXXXX", path[64];
    if (tg_graph_status(g) == TG_OK && mkdtemp(dir)) {
        tg_session *s = tg_session_new(g);
        snprintf(path, sizeof path, "%s/ckpt", dir);
        tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
        if (rc == TG_OK) rc = tg_saver_save_opts(sv, s, path, o);
        add(r, " status=%s", tg_code_name(rc));
        snprintf(r->message, sizeof r->message, "%s", tg_saver_message(sv));
        files_and_clean(r, dir);
        tg_session_free(s);
    }
    tg_graph_free(g);
}
