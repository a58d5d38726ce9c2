/* seed_contrib_batch_norm: tf.contrib.layers.batch_norm as reference
 * document 000 shows it, with tg_layers_batch_norm:
 * - as the normalizer_fn of conv2d and of fully_connected;
 * - is_training a placeholder_with_default(True): one graph trains and infers;
 * - the conv layer's update ops go to UPDATE_OPS and are wired to the train
 *   op with tf.control_dependencies, as the document's note says;
 * - the fully connected layer uses updates_collections=None (updates in
 *   place) and zero_debias_moving_mean=True, the two options the document
 *   suggests.
 * It trains 3 steps, printing the moving statistics fetched from the session
 * next to the same values computed here with plain C loops, then runs an
 * inference step (is_training fed False) that normalizes with the moving
 * statistics and leaves them unchanged. Prints OK and exits 0 when all agree.
 *
 * The TF 1.x program it mirrors (slim = tf.contrib.layers):
 *
 *   tf.set_random_seed(1)
 *   x = tf.placeholder(tf.float32, [N, 5, 5, 2]); y = tf.placeholder(tf.float32, [N, 2])
 *   is_training = tf.placeholder_with_default(True, [], name='is_training')
 *   net = slim.conv2d(x, 3, [3, 3], scope='conv1', normalizer_fn=slim.batch_norm,
 *                     normalizer_params={'decay': 0.9, 'is_training': is_training})
 *   net = slim.flatten(net)
 *   logits = slim.fully_connected(net, 2, activation_fn=None, scope='fc',
 *                     normalizer_fn=slim.batch_norm,
 *                     normalizer_params={'decay': 0.9, 'is_training': is_training,
 *                                        'updates_collections': None,
 *                                        'zero_debias_moving_mean': True})
 *   loss = tf.losses.mean_squared_error(y, logits)
 *   update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
 *   with tf.control_dependencies(update_ops):
 *       train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
 *
 * Which variance feeds moving_variance (tf-batch-norm.md sections 7.2, 8):
 * conv1 is a rank-4 input with the default updates_collections, so TF
 * delegates to the core layer, which takes the fused kernel: the
 * Bessel-corrected variance, n/(n-1) with n = N*H*W. fc is rank 2 with
 * in-place updates: contrib's own fused path, n/(n-1) with n = N. */
#include "seed_common.h"

enum { N = 4, H = 5, W = 5, CIN = 2, C1 = 3, C2 = 2, STEPS = 3 };
static const double DECAY = 0.9, EPS = 0.001;

int main(void) {
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 1); /* tf.set_random_seed(1) */
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N, H, W, CIN), "x");
    tg_tensor *y = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N, C2), "y");
    /* is_training = tf.placeholder_with_default(True, [], name='is_training') */
    tg_tensor *is_training =
        tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 1, NULL), TG_SCALAR, "is_training");

    /* normalizer_params={'decay': 0.9, 'is_training': is_training} */
    TG_OPTS(tg_layers_batch_norm_opts, conv_bn, .decay = DECAY, .is_training_t = is_training);
    /* net = slim.conv2d(x, 3, [3, 3], scope='conv1', normalizer_fn=slim.batch_norm, ...) */
    TG_OPTS(tg_layers_conv2d_opts, conv1, .scope = "conv1", .normalizer_fn = tg_layers_batch_norm_fn,
            .normalizer_params = &conv_bn);
    tg_tensor *net = tg_layers_conv2d(g, x, C1, TG_KERNEL(3, 3), &conv1);
    net = tg_layers_flatten(g, net, NULL); /* net = slim.flatten(net) */
    /* {'decay': 0.9, 'is_training': is_training, 'updates_collections': None,
     *  'zero_debias_moving_mean': True} */
    TG_OPTS(tg_layers_batch_norm_opts, fc_bn, .decay = DECAY, .is_training_t = is_training,
            .updates_collections = NULL, .zero_debias_moving_mean = true);
    /* logits = slim.fully_connected(net, 2, activation_fn=None, scope='fc', normalizer_fn=...) */
    TG_OPTS(tg_layers_fc_opts, fc, .scope = "fc", .activation_fn = NULL, .normalizer_fn = tg_layers_batch_norm_fn,
            .normalizer_params = &fc_bn);
    tg_tensor *logits = tg_layers_fully_connected(g, net, C2, &fc);
    tg_tensor *loss = tg_losses_mean_squared_error(g, y, logits, NULL);

    /* update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS) */
    tg_op **update_ops = NULL;
    int n_update = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &update_ops);
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_op *train_op = NULL;
    /* with tf.control_dependencies(update_ops): train_op = optimizer.minimize(loss) */
    TG_WITH_CONTROL_DEPENDENCIES(g, update_ops, n_update) { train_op = tg_optimizer_minimize(opt, loss, NULL); }
    tg_op *init = tg_global_variables_initializer(g);

    /* The layers' inputs, to compute the batch statistics by hand:
     * tf.get_default_graph().get_tensor_by_name('conv1/Conv2D:0'), ... */
    tg_tensor *conv_in = tg_graph_tensor(g, "conv1/Conv2D:0"), *fc_in = tg_graph_tensor(g, "fc/MatMul:0");
    tg_variable *mm1 = tg_graph_variable(g, "conv1/BatchNorm/moving_mean");
    tg_variable *mv1 = tg_graph_variable(g, "conv1/BatchNorm/moving_variance");
    tg_variable *mm2 = tg_graph_variable(g, "fc/BatchNorm/moving_mean");
    tg_variable *mv2 = tg_graph_variable(g, "fc/BatchNorm/moving_variance");
    tg_variable *beta2 = tg_graph_variable(g, "fc/BatchNorm/beta");
    int rc = 1;
    if (!seed_graph_ok(g) || !conv_in || !fc_in || !mm1 || !mv1 || !mm2 || !mv2 || !beta2) goto out;
    printf("UPDATE_OPS (%d):", n_update);
    for (int i = 0; i < n_update; i++) printf(" %s", tg_op_name(update_ops[i]));
    printf("   (fc updates in place: not listed)\n");
    if (n_update != 2) seed_mismatches++; /* the conv layer's mean and variance updates */

    tg_session *sess = tg_session_new(g);
    seed_check_update_ops(sess);
    tg_tensor *moving[4] = {tg_variable_value(mm1), tg_variable_value(mv1), tg_variable_value(mm2),
                            tg_variable_value(mv2)};
    /* The hand-computed state: moving_mean starts at 0, moving_variance at 1;
     * fc's zero-debiased mean keeps `biased` and `local_step` (both 0). */
    double h_mm1[C1] = {0}, h_mv1[C1] = {1, 1, 1}, h_mm2[C2] = {0}, h_mv2[C2] = {1, 1}, biased[C2] = {0};
    int local_step = 0;
    float xb[N * H * W * CIN], yb[N * C2];
    static double conv_x[N * H * W * C1], fc_x[N * C2];
    double l, mean[C1], var[C1], s_mm1[C1], s_mv1[C1], s_mm2[C2], s_mv2[C2];
    if (seed_run(sess, NULL, 0, NULL, 0, NULL, init)) goto close;

    for (int step = 1; step <= STEPS; step++) {
        seed_fill(xb, N * H * W * CIN, -1.0, 3.0); /* a fresh synthetic batch each step */
        seed_fill(yb, N * C2, -1.0, 1.0); /* random targets: the statistics are the point */
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){N, H, W, CIN}, xb);
        tg_array *ya = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){N, C2}, yb);
        tg_feed feeds[2] = {{x, xa}, {y, ya}};
        /* _, l, conv_x, fc_x = sess.run([train_op, loss, conv_in, fc_in], feed_dict) */
        int bad = seed_run(sess, feeds, 2, (tg_tensor *[]){loss, conv_in, fc_in}, 3,
                           (double *[]){&l, conv_x, fc_x}, train_op);
        /* sess.run([moving_mean, moving_variance, ...]) after the step */
        bad = bad || seed_run(sess, NULL, 0, moving, 4, (double *[]){s_mm1, s_mv1, s_mm2, s_mv2}, NULL);
        tg_array_free(xa);
        tg_array_free(ya);
        if (bad) goto close;

        /* conv1: moments over N, H, W; moving_variance gets var * n/(n-1). */
        seed_moments(conv_x, N * H * W, C1, 1, mean, var);
        for (int c = 0; c < C1; c++) var[c] *= (double)(N * H * W) / (N * H * W - 1);
        seed_moving_average(h_mm1, mean, C1, DECAY);
        seed_moving_average(h_mv1, var, C1, DECAY);
        /* fc: moments over N; zero-debiased mean (assign_moving_average with
         * zero_debias=True): biased = biased*decay + mean*(1-decay),
         * local_step += 1, moving_mean = biased / (1 - decay^local_step). */
        seed_moments(fc_x, N, C2, 1, mean, var);
        for (int c = 0; c < C2; c++) var[c] *= (double)N / (N - 1);
        seed_moving_average(biased, mean, C2, DECAY);
        local_step++;
        for (int c = 0; c < C2; c++) h_mm2[c] = biased[c] / (1 - pow(DECAY, local_step));
        seed_moving_average(h_mv2, var, C2, DECAY);

        printf("step %d  loss %.6f\n", step, l);
        seed_show("conv1/BatchNorm/moving_mean", s_mm1, h_mm1, C1, 0);
        seed_show("conv1/BatchNorm/moving_variance", s_mv1, h_mv1, C1, 0);
        seed_show("fc/BatchNorm/moving_mean (debiased)", s_mm2, h_mm2, C2, 0);
        seed_show("fc/BatchNorm/moving_variance", s_mv2, h_mv2, C2, 0);
    }

    /* Inference: feed_dict={x: batch, is_training: False}. As in TF, each
     * layer's smart_cond runs one branch: one FusedBatchNormV3 per layer,
     * and the fc layer's in-place updates (in the true branch of its
     * cond_1) are skipped. The run is traced to show it. */
    {
        double beta[C2], logit[N * C2], hand[N * C2];
        seed_fill(xb, N * H * W * CIN, -1.0, 3.0);
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){N, H, W, CIN}, xb);
        tg_array *no = tg_array_scalar_bool(false);
        tg_feed feeds[2] = {{x, xa}, {is_training, no}};
        int bad = seed_run(sess, NULL, 0, (tg_tensor *[]){tg_variable_value(beta2)}, 1, (double *[]){beta}, NULL);
        tg_session_set_run_options(sess, &(tg_run_options){.trace = true});
        bad = bad || seed_run(sess, feeds, 2, (tg_tensor *[]){fc_in, logits}, 2, (double *[]){fc_x, logit}, NULL);
        tg_session_set_run_options(sess, NULL);
        if (!bad) {
            printf("inference run's trace (batch norm ops):\n");
            seed_check_trace(sess, 2, 0);
        }
        bad = bad || seed_run(sess, NULL, 0, moving, 4, (double *[]){s_mm1, s_mv1, s_mm2, s_mv2}, NULL);
        tg_array_free(xa);
        tg_array_free(no);
        if (bad) goto close;
        /* scale=False (contrib's default): no gamma. */
        for (int i = 0; i < N; i++)
            for (int c = 0; c < C2; c++)
                hand[i * C2 + c] = (fc_x[i * C2 + c] - h_mm2[c]) / sqrt(h_mv2[c] + EPS) + beta[c];
        printf("inference (is_training=False): logits = (x - moving_mean) / sqrt(moving_variance + eps) + beta\n");
        seed_show("logits", logit, hand, N * C2, 1);
        printf("after inference, unchanged:\n");
        seed_show("fc/BatchNorm/moving_mean", s_mm2, h_mm2, C2, 0);
        seed_show("fc/BatchNorm/moving_variance", s_mv2, h_mv2, C2, 0);
    }
    rc = seed_finish();
close:
    tg_session_free(sess);
out:
    tg_free(update_ops);
    tg_optimizer_free(opt);
    tg_graph_free(g);
    return rc;
}
