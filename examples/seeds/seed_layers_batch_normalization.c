/* seed_layers_batch_normalization: the functional
 * tf.layers.batch_normalization as reference document 002 shows it, with
 * tg_tf_layers_batch_normalization:
 * - `training` a boolean placeholder (the document: "Either a Python
 *   boolean, or a TensorFlow boolean scalar tensor (e.g. a placeholder)"),
 *   False by default as the document's own default, and fed True to train;
 * - the update ops in UPDATE_OPS wired to the train op with
 *   tf.control_dependencies, exactly the document's note;
 * - `reuse`: an evaluation branch calls batch_normalization again with the
 *   same name, reuse=True and training=False, sharing the variables.
 * It trains 3 steps, printing the moving statistics fetched from the session
 * next to the same values computed here with plain C loops, then runs both
 * inference forms (the placeholder left at False, and the reused branch),
 * which normalize with the moving statistics. Prints OK and exits 0 when all
 * agree.
 *
 * The TF 1.x program it mirrors:
 *
 *   tf.set_random_seed(1)
 *   x = tf.placeholder(tf.float32, [None, 3]); y = tf.placeholder(tf.float32, [None, 1])
 *   training = tf.placeholder_with_default(False, [], name='training')
 *   h = tf.layers.dense(x, 4, name='dense')
 *   h_bn = tf.layers.batch_normalization(h, momentum=0.9, training=training, name='bn')
 *   pred = tf.layers.dense(tf.nn.relu(h_bn), 1, name='out')
 *   loss = tf.losses.mean_squared_error(y, pred)
 *   update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
 *   with tf.control_dependencies(update_ops):
 *       train_op = tf.train.AdamOptimizer(0.01).minimize(loss)
 *   # evaluation branch sharing every variable
 *   h_eval = tf.layers.dense(x, 4, name='dense', reuse=True)
 *   h_eval = tf.layers.batch_normalization(h_eval, momentum=0.9, training=False,
 *                                          name='bn', reuse=True)
 *
 * A rank-2 input is never fused (tf-batch-norm.md 4.5, 8): the moving
 * variance receives the BIASED batch variance (divided by N). */
#include "seed_common.h"

enum { N = 8, IN = 3, F = 4, STEPS = 3 };
static const double MOMENTUM = 0.9, EPS = 0.001;

int main(void) {
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 1);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, IN), "x");
    tg_tensor *y = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 1), "y");
    /* training = tf.placeholder_with_default(False, [], name='training') */
    tg_tensor *training =
        tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "training");
    /* h = tf.layers.dense(x, 4, name='dense') */
    TG_OPTS(tg_tf_layers_dense_opts, dense, .name = "dense");
    tg_tensor *h = tg_tf_layers_dense(g, x, F, &dense);
    /* h_bn = tf.layers.batch_normalization(h, momentum=0.9, training=training, name='bn') */
    TG_OPTS(tg_tf_layers_batch_norm_opts, bn, .momentum = MOMENTUM, .training_t = training, .name = "bn");
    tg_tensor *h_bn = tg_tf_layers_batch_normalization(g, h, &bn);
    /* pred = tf.layers.dense(tf.nn.relu(h_bn), 1, name='out') */
    TG_OPTS(tg_tf_layers_dense_opts, out, .name = "out");
    tg_tensor *pred = tg_tf_layers_dense(g, tg_nn_relu(g, h_bn, NULL), 1, &out);
    tg_tensor *loss = tg_losses_mean_squared_error(g, y, pred, NULL);

    /* update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS) */
    tg_op **update_ops = NULL;
    int n_update = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &update_ops);
    tg_optimizer *opt = tg_train_adam_optimizer_new(g, 0.01, NULL);
    tg_op *train_op = NULL;
    /* with tf.control_dependencies(update_ops): train_op = optimizer.minimize(loss) */
    TG_WITH_CONTROL_DEPENDENCIES(g, update_ops, n_update) { train_op = tg_optimizer_minimize(opt, loss, NULL); }

    /* The evaluation branch: same names, reuse=True, training=False. */
    tg_variable **globals = NULL;
    int n_before = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &globals);
    tg_free(globals);
    TG_OPTS(tg_tf_layers_dense_opts, dense_eval, .name = "dense", .reuse = TG_REUSE_TRUE);
    tg_tensor *h_eval = tg_tf_layers_dense(g, x, F, &dense_eval);
    TG_OPTS(tg_tf_layers_batch_norm_opts, bn_eval, .momentum = MOMENTUM, .training = false, .name = "bn",
            .reuse = TG_REUSE_TRUE);
    tg_tensor *h_eval_bn = tg_tf_layers_batch_normalization(g, h_eval, &bn_eval);
    tg_op *init = tg_global_variables_initializer(g);
    tg_variable *mm = tg_graph_variable(g, "bn/moving_mean"), *mv = tg_graph_variable(g, "bn/moving_variance");
    tg_variable *gamma_v = tg_graph_variable(g, "bn/gamma"), *beta_v = tg_graph_variable(g, "bn/beta");
    int n_after = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &globals);
    tg_free(globals);
    int rc = 1;
    tg_session *sess = NULL;
    if (!seed_graph_ok(g) || !mm || !mv || !gamma_v || !beta_v) goto out;
    printf("UPDATE_OPS (%d):", n_update);
    for (int i = 0; i < n_update; i++) printf(" %s", tg_op_name(update_ops[i]));
    printf("\nglobal variables before / after the reused calls: %d / %d (shared, none created)\n", n_before,
           n_after);
    if (n_update != 2 || n_after != n_before) {
        printf("unexpected: want 2 update ops and no new variable\n");
        goto out;
    }

    sess = tg_session_new(g);
    seed_check_update_ops(sess);
    tg_tensor *moving[2] = {tg_variable_value(mm), tg_variable_value(mv)};
    double h_mm[F] = {0}, h_mv[F] = {1, 1, 1, 1};
    double l, mean[F], var[F], s_mm[F], s_mv[F];
    static double dense_x[N * F], out1[N * F], out2[N * F], hand[N * F];
    float xb[N * IN], yb[N];
    tg_array *yes = tg_array_scalar_bool(true);
    if (seed_run(sess, NULL, 0, NULL, 0, NULL, init)) goto done;

    for (int step = 1; step <= STEPS; step++) {
        seed_fill(xb, N * IN, 0.0, 2.0);
        for (int i = 0; i < N; i++) yb[i] = xb[i * IN] - xb[i * IN + 1] * xb[i * IN + 2]; /* a target to fit */
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){N, IN}, xb);
        tg_array *ya = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){N, 1}, yb);
        /* feed_dict={x: ..., y: ..., training: True}: without it, the default
         * False would "train" on the moving statistics (the NOTE of 002). */
        tg_feed feeds[3] = {{x, xa}, {y, ya}, {training, yes}};
        int bad = seed_run(sess, feeds, 3, (tg_tensor *[]){loss, h}, 2, (double *[]){&l, dense_x}, train_op);
        bad = bad || seed_run(sess, NULL, 0, moving, 2, (double *[]){s_mm, s_mv}, NULL);
        tg_array_free(xa);
        tg_array_free(ya);
        if (bad) goto done;
        seed_moments(dense_x, N, F, 1, mean, var); /* biased: divided by N */
        seed_moving_average(h_mm, mean, F, MOMENTUM);
        seed_moving_average(h_mv, var, F, MOMENTUM);
        printf("step %d  loss %.6f\n", step, l);
        seed_show("bn/moving_mean", s_mm, h_mm, F, 0);
        seed_show("bn/moving_variance", s_mv, h_mv, F, 0);
    }

    /* Inference, twice: the training branch with `training` left at its
     * default False, and the reused evaluation branch. Both use
     * (h - moving_mean) / sqrt(moving_variance + eps) * gamma + beta. */
    {
        double gamma[F], beta[F];
        seed_fill(xb, N * IN, 0.0, 2.0);
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){N, IN}, xb);
        tg_feed feed = {x, xa};
        int bad = seed_run(sess, NULL, 0, (tg_tensor *[]){tg_variable_value(gamma_v), tg_variable_value(beta_v)},
                           2, (double *[]){gamma, beta}, NULL);
        bad = bad || seed_run(sess, &feed, 1, (tg_tensor *[]){h, h_bn, h_eval_bn}, 3,
                              (double *[]){dense_x, out1, out2}, NULL);
        bad = bad || seed_run(sess, NULL, 0, moving, 2, (double *[]){s_mm, s_mv}, NULL);
        tg_array_free(xa);
        if (bad) goto done;
        for (int i = 0; i < N * F; i++)
            hand[i] = (dense_x[i] - h_mm[i % F]) / sqrt(h_mv[i % F] + EPS) * gamma[i % F] + beta[i % F];
        printf("inference: h_bn with training unfed (False), first two rows\n");
        seed_show("h_bn[0:2]", out1, hand, 2 * F, 1);
        printf("inference: the reused branch (training=False, reuse=True), first two rows\n");
        seed_show("h_eval[0:2]", out2, hand, 2 * F, 1);
        seed_show_worst("h_bn", out1, hand, N * F, 1);
        seed_show_worst("h_eval", out2, hand, N * F, 1);
        printf("after inference, unchanged:\n");
        seed_show("bn/moving_mean", s_mm, h_mm, F, 0);
        seed_show("bn/moving_variance", s_mv, h_mv, F, 0);
    }
    rc = seed_finish();
done:
    tg_array_free(yes);
out:
    tg_session_free(sess);
    tg_free(update_ops);
    tg_optimizer_free(opt);
    tg_graph_free(g);
    return rc;
}
