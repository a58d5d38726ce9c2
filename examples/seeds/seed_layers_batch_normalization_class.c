/* seed_layers_batch_normalization_class: tf.layers.BatchNormalization as a
 * layer object, as reference document 001 shows it, with
 * tg_tf_layers_batch_normalization_new and the Layer API:
 * - axis=1 after a Conv2D with data_format='channels_first', the
 *   document's own example for `axis`;
 * - the layer applied to two inputs (training and evaluation), so
 *   get_updates_for(inputs) tells the two apart; `updates`,
 *   `non_trainable_weights` (the moving statistics) and count_params();
 * - the updates of the training input wired to the train op with
 *   tf.control_dependencies.
 * It trains 3 steps, printing the moving statistics fetched from the session
 * (through bn.non_trainable_weights) next to the same values computed here
 * with plain C loops, then evaluates with training=False, which normalizes
 * with the moving statistics. Prints OK and exits 0 when all agree.
 *
 * The TF 1.x program it mirrors:
 *
 *   tf.set_random_seed(1)
 *   x = tf.placeholder(tf.float32, [N, 2, 5, 5]); x_eval = ...; y = ...
 *   conv = tf.layers.Conv2D(3, 3, padding='same', data_format='channels_first')
 *   bn = tf.layers.BatchNormalization(axis=1, momentum=0.9)
 *   c = conv.apply(x)
 *   h = bn.apply(c, training=True)
 *   h_eval = bn.apply(conv.apply(x_eval), training=False)
 *   logits = tf.layers.dense(tf.layers.flatten(tf.nn.relu(h)), 2)
 *   loss = tf.losses.mean_squared_error(y, logits)
 *   with tf.control_dependencies(bn.get_updates_for(c)):
 *       train_op = tf.train.MomentumOptimizer(0.05, 0.9).minimize(loss)
 *
 * A 4-D input with axis 1 takes the fused kernel (tf-batch-norm.md 4.2, 4.4):
 * moving_variance receives the Bessel-corrected batch variance,
 * n/(n-1) with n = N*H*W, while the output uses the biased one. */
#include "seed_common.h"

enum { N = 4, CIN = 2, H = 5, W = 5, C = 3, OUT = 2, STEPS = 3 };
static const double MOMENTUM = 0.9, EPS = 0.001;

int main(void) {
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 1);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N, CIN, H, W), "x");
    tg_tensor *x_eval = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, CIN, H, W), "x_eval");
    tg_tensor *y = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N, OUT), "y");
    /* conv = tf.layers.Conv2D(3, 3, padding='same', data_format='channels_first') */
    TG_OPTS(tg_tf_layers_conv2d_opts, conv_opts, .padding = TG_PADDING_SAME, .data_format = TG_NCHW);
    tg_layer *conv = tg_tf_layers_conv2d_new(g, C, TG_KERNEL(3, 3), &conv_opts);
    /* bn = tf.layers.BatchNormalization(axis=1, momentum=0.9) */
    TG_OPTS(tg_tf_layers_batch_norm_opts, bn_opts, .axis = {1}, .n_axis = 1, .momentum = MOMENTUM);
    tg_layer *bn = tg_tf_layers_batch_normalization_new(g, &bn_opts);
    TG_OPTS(tg_layer_call_opts, call_train, .training = TG_OPT_TRUE);
    TG_OPTS(tg_layer_call_opts, call_eval, .training = TG_OPT_FALSE);
    tg_tensor *c = tg_layer_apply(conv, x, NULL);              /* c = conv.apply(x) */
    tg_tensor *h = tg_layer_call(bn, c, &call_train);          /* training=True */
    tg_tensor *c_eval = tg_layer_apply(conv, x_eval, NULL);
    tg_tensor *h_eval = tg_layer_call(bn, c_eval, &call_eval); /* training=False */
    /* logits = tf.layers.dense(tf.layers.flatten(tf.nn.relu(h)), 2) */
    tg_tensor *logits = tg_tf_layers_dense(g, tg_tf_layers_flatten(g, tg_nn_relu(g, h, NULL), NULL), OUT, NULL);
    tg_tensor *loss = tg_losses_mean_squared_error(g, y, logits, NULL);

    /* bn.get_updates_for(c): the 2 updates of the training apply;
     * bn.get_updates_for(c_eval): none (training=False builds no update). */
    tg_op **updates = NULL, **eval_updates = NULL;
    int n_updates = tg_layer_get_updates_for(bn, &c, 1, &updates);
    int n_eval_updates = tg_layer_get_updates_for(bn, &c_eval, 1, &eval_updates);
    tg_optimizer *opt = tg_train_momentum_optimizer_new(g, 0.05, 0.9, NULL);
    tg_op *train_op = NULL;
    /* with tf.control_dependencies(bn.get_updates_for(c)): train_op = opt.minimize(loss) */
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, n_updates) { train_op = tg_optimizer_minimize(opt, loss, NULL); }
    tg_op *init = tg_global_variables_initializer(g);
    int rc = 1;
    tg_session *sess = NULL;
    if (!seed_graph_ok(g)) goto out;

    /* The Layer API, as document 001 lists it. */
    tg_op *const *all_updates = NULL;
    tg_variable *const *nt = NULL, *const *tw = NULL;
    int64_t n_params = 0;
    int n_all = tg_layer_updates(bn, &all_updates);
    int n_nt = tg_layer_non_trainable_weights(bn, &nt);
    int n_tw = tg_layer_trainable_weights(bn, &tw);
    tg_layer_count_params(bn, &n_params);
    printf("layer %s, scope %s\n", tg_layer_name(bn), tg_layer_scope_name(bn));
    printf("  updates: %d; get_updates_for(c): %d", n_all, n_updates);
    for (int i = 0; i < n_updates; i++) printf(" %s", tg_op_name(updates[i]));
    printf("; get_updates_for(c_eval): %d\n", n_eval_updates);
    printf("  trainable_weights:");
    for (int i = 0; i < n_tw; i++) printf(" %s", tg_variable_name(tw[i]));
    printf("\n  non_trainable_weights:");
    for (int i = 0; i < n_nt; i++) printf(" %s", tg_variable_name(nt[i]));
    printf("\n  count_params(): %lld\n", (long long)n_params);
    if (n_all != 2 || n_updates != 2 || n_eval_updates != 0 || n_nt != 2 || n_tw != 2 || n_params != 4 * C) {
        printf("unexpected Layer API answers\n");
        goto out;
    }

    sess = tg_session_new(g);
    seed_check_update_ops(sess);
    /* sess.run(bn.non_trainable_weights): [moving_mean, moving_variance] */
    tg_tensor *moving[2] = {tg_variable_value(nt[0]), tg_variable_value(nt[1])};
    double h_mm[C] = {0}, h_mv[C] = {1, 1, 1}; /* moving_mean 0, moving_variance 1 */
    double l, mean[C], var[C], s_mm[C], s_mv[C];
    float xb[N * CIN * H * W], yb[N * OUT];
    static double conv_x[N * C * H * W], bn_y[N * C * H * W];
    if (seed_run(sess, NULL, 0, NULL, 0, NULL, init)) goto out;

    for (int step = 1; step <= STEPS; step++) {
        seed_fill(xb, N * CIN * H * W, -0.5, 2.0);
        seed_fill(yb, N * OUT, -1.0, 1.0); /* random targets: the statistics are the point */
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){N, CIN, H, W}, xb);
        tg_array *ya = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){N, OUT}, yb);
        tg_feed feeds[2] = {{x, xa}, {y, ya}};
        /* _, l, conv_x = sess.run([train_op, loss, c], feed_dict) */
        int bad = seed_run(sess, feeds, 2, (tg_tensor *[]){loss, c}, 2, (double *[]){&l, conv_x}, train_op);
        bad = bad || seed_run(sess, NULL, 0, moving, 2, (double *[]){s_mm, s_mv}, NULL);
        tg_array_free(xa);
        tg_array_free(ya);
        if (bad) goto out;
        /* Moments over N, H, W of the NCHW conv output; Bessel for the variance. */
        seed_moments(conv_x, N, C, H * W, mean, var);
        for (int k = 0; k < C; k++) var[k] *= (double)(N * H * W) / (N * H * W - 1);
        seed_moving_average(h_mm, mean, C, MOMENTUM);
        seed_moving_average(h_mv, var, C, MOMENTUM);
        printf("step %d  loss %.6f\n", step, l);
        seed_show(tg_variable_name(nt[0]), s_mm, h_mm, C, 0);
        seed_show(tg_variable_name(nt[1]), s_mv, h_mv, C, 0);
    }

    /* Evaluation: h_eval = bn.apply(conv.apply(x_eval), training=False)
     * = (c - moving_mean) / sqrt(moving_variance + eps) * gamma + beta. */
    {
        enum { NE = 2, K = NE * C * H * W };
        double gamma[C], beta[C], hand[K];
        seed_fill(xb, NE * CIN * H * W, -0.5, 2.0);
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){NE, CIN, H, W}, xb);
        tg_feed feed = {x_eval, xa};
        int bad = seed_run(sess, NULL, 0, (tg_tensor *[]){tg_variable_value(tw[0]), tg_variable_value(tw[1])}, 2,
                           (double *[]){gamma, beta}, NULL);
        bad = bad || seed_run(sess, &feed, 1, (tg_tensor *[]){c_eval, h_eval}, 2, (double *[]){conv_x, bn_y}, NULL);
        bad = bad || seed_run(sess, NULL, 0, moving, 2, (double *[]){s_mm, s_mv}, NULL);
        tg_array_free(xa);
        if (bad) goto out;
        for (int i = 0; i < K; i++) {
            int k = (i / (H * W)) % C; /* NCHW: the channel of element i */
            hand[i] = (conv_x[i] - h_mm[k]) / sqrt(h_mv[k] + EPS) * gamma[k] + beta[k];
        }
        printf("evaluation (training=False): first row of h_eval, channel 0\n");
        seed_show("h_eval[0, 0, 0, :]", bn_y, hand, W, 1);
        seed_show_worst("h_eval", bn_y, hand, K, 1);
        printf("after evaluation, unchanged:\n");
        seed_show(tg_variable_name(nt[0]), s_mm, h_mm, C, 0);
        seed_show(tg_variable_name(nt[1]), s_mv, h_mv, C, 0);
    }
    rc = seed_finish();
out:
    tg_session_free(sess);
    tg_free(updates);
    tg_free(eval_updates);
    tg_optimizer_free(opt);
    tg_layer_free(conv);
    tg_layer_free(bn);
    tg_graph_free(g);
    return rc;
}
