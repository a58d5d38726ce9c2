/* seed_keras_batch_normalization: tf.compat.v1.keras.layers.BatchNormalization
 * as reference document 003 shows it, with
 * tg_keras_layers_batch_normalization_new:
 * - `training` given when the layer is called: bn(x, training=True) trains
 *   on the batch statistics; bn(x_test) without it follows the Keras
 *   learning phase, False unless fed, so it uses the moving statistics;
 * - the document's formulas, checked here step by step:
 *     moving_mean = moving_mean * momentum + mean(batch) * (1 - momentum)
 *     moving_var  = moving_var * momentum + var(batch) * (1 - momentum)
 * - the `fused` argument: the default (fused when possible) and fused=False
 *   side by side on the same 4-D input. They differ in var(batch): the fused
 *   kernel hands the moving average the Bessel-corrected variance
 *   (n/(n-1), n = N*H*W), the plain path the biased one (tf-batch-norm.md 8);
 * - Keras layers keep their updates on the layer (never in UPDATE_OPS):
 *   they are wired to the train op from bn.get_updates_for(x).
 * It trains 3 steps, printing the moving statistics fetched from the session
 * next to the same values computed here with plain C loops from the input
 * batches, then runs inference. Prints OK and exits 0 when all agree.
 *
 * The TF 1.x program it mirrors:
 *
 *   BatchNormalization = tf.compat.v1.keras.layers.BatchNormalization
 *   x = tf.placeholder(tf.float32, [N, 3, 3, 2]); x_test = ...; y = ...
 *   bn = BatchNormalization(momentum=0.9)               # fused=None
 *   bn_plain = BatchNormalization(momentum=0.9, fused=False)
 *   h = bn(x, training=True) + bn_plain(x, training=True)
 *   h_test = bn(x_test)                                 # the learning phase
 *   pred = tf.layers.dense(tf.layers.flatten(h), 2)
 *   loss = tf.losses.mean_squared_error(y, pred)
 *   with tf.control_dependencies(bn.get_updates_for(x) + bn_plain.get_updates_for(x)):
 *       train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
 */
#include "seed_common.h"

enum { N = 4, H = 3, W = 3, C = 2, OUT = 2, STEPS = 3 };
static const double MOMENTUM = 0.9, EPS = 0.001;

int main(void) {
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 1);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N, H, W, C), "x");
    tg_tensor *x_test = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, H, W, C), "x_test");
    tg_tensor *y = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N, OUT), "y");
    /* bn = BatchNormalization(momentum=0.9); bn_plain = ...(momentum=0.9, fused=False) */
    TG_OPTS(tg_tf_layers_batch_norm_opts, bn_opts, .momentum = MOMENTUM);
    tg_layer *bn = tg_keras_layers_batch_normalization_new(g, &bn_opts);
    TG_OPTS(tg_tf_layers_batch_norm_opts, plain_opts, .momentum = MOMENTUM, .fused = TG_OPT_FALSE);
    tg_layer *bn_plain = tg_keras_layers_batch_normalization_new(g, &plain_opts);
    /* h = bn(x, training=True) + bn_plain(x, training=True) */
    TG_OPTS(tg_layer_call_opts, train_call, .training = TG_OPT_TRUE);
    tg_tensor *h = tg_add(g, tg_layer_call(bn, x, &train_call), tg_layer_call(bn_plain, x, &train_call), NULL);
    tg_tensor *h_test = tg_layer_call(bn, x_test, NULL); /* h_test = bn(x_test): training=None */
    /* pred = tf.layers.dense(tf.layers.flatten(h), 2) */
    tg_tensor *pred = tg_tf_layers_dense(g, tg_tf_layers_flatten(g, h, NULL), OUT, NULL);
    tg_tensor *loss = tg_losses_mean_squared_error(g, y, pred, NULL);

    /* bn.get_updates_for(x) + bn_plain.get_updates_for(x) */
    tg_op **u1 = NULL, **u2 = NULL, **u_test = NULL, *updates[4];
    int n1 = tg_layer_get_updates_for(bn, &x, 1, &u1), n2 = tg_layer_get_updates_for(bn_plain, &x, 1, &u2);
    int n_test = tg_layer_get_updates_for(bn, &x_test, 1, &u_test);
    int n = 0;
    for (int i = 0; i < n1 && n < 4; i++) updates[n++] = u1[i];
    for (int i = 0; i < n2 && n < 4; i++) updates[n++] = u2[i];
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_op *train_op = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, n) { train_op = tg_optimizer_minimize(opt, loss, NULL); }
    tg_op *init = tg_global_variables_initializer(g);
    tg_item *in_update_ops = NULL;
    int n_collected = tg_get_collection(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &in_update_ops);
    tg_free(in_update_ops);
    tg_free(u_test);
    int rc = 1;
    tg_session *sess = NULL;
    if (!seed_graph_ok(g)) goto out;

    tg_variable *const *bn_moving = NULL, *const *bn_params = NULL, *const *plain_moving = NULL;
    tg_layer_non_trainable_weights(bn, &bn_moving); /* [moving_mean, moving_variance] */
    tg_layer_trainable_weights(bn, &bn_params);     /* [gamma, beta] */
    tg_layer_non_trainable_weights(bn_plain, &plain_moving);
    printf("layers %s, %s; bn.updates: %d (two calls); get_updates_for(x): %d; get_updates_for(x_test): %d; "
           "UPDATE_OPS: %d\n",
           tg_layer_name(bn), tg_layer_name(bn_plain), tg_layer_updates(bn, NULL), n1, n_test, n_collected);
    if (n1 != 2 || n2 != 2 || n_test != 2 || n_collected != 0) {
        printf("unexpected update lists (want 2, 2, 2 and 0 in UPDATE_OPS)\n");
        goto out;
    }

    sess = tg_session_new(g);
    seed_check_update_ops(sess);
    tg_tensor *moving[4] = {tg_variable_value(bn_moving[0]), tg_variable_value(bn_moving[1]),
                            tg_variable_value(plain_moving[0]), tg_variable_value(plain_moving[1])};
    double mm[C] = {0}, mv[C] = {1, 1}, p_mm[C] = {0}, p_mv[C] = {1, 1};
    double l, mean[C], var[C], var_u[C], s[4][C];
    static double xd[N * H * W * C], out_test[N * H * W * C], hand[N * H * W * C];
    float xb[N * H * W * C], yb[N * OUT];
    if (seed_run(sess, NULL, 0, NULL, 0, NULL, init)) goto out;

    for (int step = 1; step <= STEPS; step++) {
        seed_fill(xb, N * H * W * C, -1.0, 4.0);
        seed_fill(yb, N * OUT, -1.0, 1.0); /* random targets: the statistics are the point */
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){N, H, W, C}, xb);
        tg_array *ya = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){N, OUT}, yb);
        tg_feed feeds[2] = {{x, xa}, {y, ya}};
        int bad = seed_run(sess, feeds, 2, &loss, 1, (double *[]){&l}, train_op);
        bad = bad || seed_run(sess, NULL, 0, moving, 4, (double *[]){s[0], s[1], s[2], s[3]}, NULL);
        tg_array_free(xa);
        tg_array_free(ya);
        if (bad) goto out;
        /* The batch statistics straight from the batch fed: over N, H, W. */
        for (int i = 0; i < N * H * W * C; i++) xd[i] = xb[i];
        seed_moments(xd, N * H * W, C, 1, mean, var);
        for (int c = 0; c < C; c++) var_u[c] = var[c] * (N * H * W) / (N * H * W - 1.0);
        seed_moving_average(mm, mean, C, MOMENTUM);
        seed_moving_average(mv, var_u, C, MOMENTUM); /* fused: var(batch) with Bessel */
        seed_moving_average(p_mm, mean, C, MOMENTUM);
        seed_moving_average(p_mv, var, C, MOMENTUM); /* fused=False: the biased var(batch) */
        printf("step %d  loss %.6f\n", step, l);
        seed_show(tg_variable_name(bn_moving[0]), s[0], mm, C, 0);
        seed_show(tg_variable_name(bn_moving[1]), s[1], mv, C, 0);
        seed_show(tg_variable_name(plain_moving[0]), s[2], p_mm, C, 0);
        seed_show(tg_variable_name(plain_moving[1]), s[3], p_mv, C, 0);
    }

    /* Inference: sess.run(h_test, {x_test: batch}); keras_learning_phase is
     * not fed, so it is False: gamma * (x - moving_mean) / sqrt(moving_var + eps) + beta. */
    {
        double gamma[C], beta[C];
        seed_fill(xb, N * H * W * C, -1.0, 4.0);
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){N, H, W, C}, xb);
        tg_feed feed = {x_test, xa};
        int bad = seed_run(sess, NULL, 0, (tg_tensor *[]){tg_variable_value(bn_params[0]),
                                                          tg_variable_value(bn_params[1])},
                           2, (double *[]){gamma, beta}, NULL);
        bad = bad || seed_run(sess, &feed, 1, &h_test, 1, (double *[]){out_test}, NULL);
        bad = bad || seed_run(sess, NULL, 0, moving, 2, (double *[]){s[0], s[1]}, NULL);
        tg_array_free(xa);
        if (bad) goto out;
        for (int i = 0; i < N * H * W * C; i++)
            hand[i] = gamma[i % C] * ((double)xb[i] - mm[i % C]) / sqrt(mv[i % C] + EPS) + beta[i % C];
        printf("inference (learning phase False): h_test[0, 0, :, :]\n");
        seed_show("h_test[0, 0]", out_test, hand, W * C, 1);
        seed_show_worst("h_test", out_test, hand, N * H * W * C, 1);
        printf("after inference, unchanged:\n");
        seed_show(tg_variable_name(bn_moving[0]), s[0], mm, C, 0);
        seed_show(tg_variable_name(bn_moving[1]), s[1], mv, C, 0);
    }
    rc = seed_finish();
out:
    tg_session_free(sess);
    tg_free(u1);
    tg_free(u2);
    tg_optimizer_free(opt);
    tg_layer_free(bn);
    tg_layer_free(bn_plain);
    tg_graph_free(g);
    return rc;
}
