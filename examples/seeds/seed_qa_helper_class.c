/* seed_qa_helper_class: the ConvolutionalBatchNormalizer helper class of
 * reference document 004 (a Q&A answer from before tf.layers existed), in C:
 * - tf.nn.moments over axes [0, 1, 2] (tg_nn_moments);
 * - tf.nn.batch_norm_with_global_normalization, the legacy op with
 *   scale_after_normalization (and its gradient, used by the optimizer);
 * - tf.train.ExponentialMovingAverage(decay=0.99): apply() returns the update
 *   op (get_assigner), average(var) the shadow used for inference
 *   (tg_train_ema_new, tg_ema_apply, tg_ema_average);
 * - the batch statistics assigned to the state variables under
 *   tf.control_dependencies, so the normalized output depends on the assigns.
 * It trains 3 steps, printing the state variables and their EMA shadows
 * fetched from the session next to the same values computed here with plain
 * C loops from the input batches, then runs the inference path
 * (normalize(x, train=False)), which uses the shadows. Prints OK and exits 0
 * when all agree.
 *
 * The document's class, with what it truncated restored from its use notes:
 *
 *   class ConvolutionalBatchNormalizer(object):
 *     def __init__(self, depth, epsilon, ewma_trainer, scale_after_norm):
 *       self.mean = tf.Variable(tf.constant(0.0, shape=[depth]), trainable=False)
 *       self.variance = tf.Variable(tf.constant(1.0, shape=[depth]), trainable=False)
 *       self.beta = tf.Variable(tf.constant(0.0, shape=[depth]))
 *       self.gamma = tf.Variable(tf.constant(1.0, shape=[depth]))
 *       ...
 *     def get_assigner(self):
 *       return self.ewma_trainer.apply([self.mean, self.variance])
 *     def normalize(self, x, train=True): ...        (see cbn_normalize below)
 *
 * and its use:
 *
 *   ewma = tf.train.ExponentialMovingAverage(decay=0.99)
 *   bn = ConvolutionalBatchNormalizer(depth, 0.001, ewma, True)
 *   x_bn = bn.normalize(x, train=True)
 *   loss = ...; optimizer = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
 *   with tf.control_dependencies([optimizer]):
 *     update_assignments = bn.get_assigner()
 *     optimizer = tf.group(update_assignments)
 *
 * get_assigner() is called inside the control-dependency block: the EMA
 * update ops are then ordered after the optimizer step, itself after the
 * assigns of this step's statistics, which is what the document means by
 * "an EWMA apply op that must be invoked after optimization". Created
 * outside the block (only the group inside), nothing would order the EMA
 * update after this step's assigns: which statistics it averages would be
 * up to the executor's schedule. */
#include "seed_common.h"

enum { N = 4, H = 3, W = 3, DEPTH = 3, OUT = 2, STEPS = 3 };
static const double DECAY = 0.99, EPSILON = 0.001;

typedef struct conv_batch_normalizer {
    tg_variable *mean, *variance, *beta, *gamma;
    tg_ema *ewma_trainer;
    double epsilon;
    bool scale_after_norm;
} conv_batch_normalizer;

/* __init__(self, depth, epsilon, ewma_trainer, scale_after_norm) */
static void cbn_init(tg_graph *g, conv_batch_normalizer *self, int depth, double epsilon, tg_ema *ewma_trainer,
                     bool scale_after_norm) {
    TG_OPTS(tg_get_variable_opts, zeros, .initializer = tg_zeros_initializer());
    TG_OPTS(tg_get_variable_opts, ones, .initializer = tg_ones_initializer());
    tg_get_variable_opts zeros_nt = zeros, ones_nt = ones;
    zeros_nt.trainable = ones_nt.trainable = false;
    TG_WITH_NAME_SCOPE(g, "bn") {
        self->mean = tg_variable_new(g, "mean", TG_FLOAT32, TG_SHAPE(depth), &zeros_nt);
        self->variance = tg_variable_new(g, "variance", TG_FLOAT32, TG_SHAPE(depth), &ones_nt);
        self->beta = tg_variable_new(g, "beta", TG_FLOAT32, TG_SHAPE(depth), &zeros);
        self->gamma = tg_variable_new(g, "gamma", TG_FLOAT32, TG_SHAPE(depth), &ones);
    }
    self->ewma_trainer = ewma_trainer;
    self->epsilon = epsilon;
    self->scale_after_norm = scale_after_norm;
}

/* get_assigner(self): return self.ewma_trainer.apply([self.mean, self.variance]) */
static tg_op *cbn_get_assigner(conv_batch_normalizer *self) {
    return tg_ema_apply(self->ewma_trainer, (tg_variable *[]){self->mean, self->variance}, 2);
}

/* normalize(self, x, train=True) */
static tg_tensor *cbn_normalize(tg_graph *g, conv_batch_normalizer *self, tg_tensor *x, bool train) {
    tg_tensor *out = NULL;
    if (train) {
        tg_tensor *mean = NULL, *variance = NULL;
        /* mean, variance = tf.nn.moments(x, [0, 1, 2]) */
        tg_nn_moments(g, x, (int[]){0, 1, 2}, 3, false, &mean, &variance, NULL);
        /* assign_mean = self.mean.assign(mean); assign_variance = self.variance.assign(variance) */
        tg_op *assigns[2] = {tg_tensor_op(tg_assign(g, tg_variable_ref(self->mean), mean, NULL)),
                             tg_tensor_op(tg_assign(g, tg_variable_ref(self->variance), variance, NULL))};
        /* with tf.control_dependencies([assign_mean, assign_variance]):
         *   return tf.nn.batch_norm_with_global_normalization(x, mean, variance, self.beta,
         *              self.gamma, self.epsilon, self.scale_after_norm) */
        TG_WITH_CONTROL_DEPENDENCIES(g, assigns, 2) {
            out = tg_nn_batch_norm_with_global_normalization(g, x, mean, variance, tg_variable_value(self->beta),
                                                             tg_variable_value(self->gamma), self->epsilon,
                                                             self->scale_after_norm, NULL);
        }
    } else {
        /* mean = self.ewma_trainer.average(self.mean); variance = ...average(self.variance) */
        tg_variable *mean = tg_ema_average(self->ewma_trainer, self->mean);
        tg_variable *variance = tg_ema_average(self->ewma_trainer, self->variance);
        if (!mean || !variance) return NULL; /* get_assigner() was not called yet */
        /* local_beta = tf.identity(self.beta); local_gamma = tf.identity(self.gamma) */
        tg_tensor *local_beta = tg_identity(g, tg_variable_value(self->beta), NULL);
        tg_tensor *local_gamma = tg_identity(g, tg_variable_value(self->gamma), NULL);
        out = tg_nn_batch_norm_with_global_normalization(g, x, tg_variable_value(mean), tg_variable_value(variance),
                                                         local_beta, local_gamma, self->epsilon,
                                                         self->scale_after_norm, NULL);
    }
    return out;
}

int main(void) {
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 1);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N, H, W, DEPTH), "x");
    tg_tensor *y = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(N, OUT), "y");
    tg_ema *ewma = tg_train_ema_new(g, DECAY, NULL); /* tf.train.ExponentialMovingAverage(decay=0.99) */
    conv_batch_normalizer bn;
    cbn_init(g, &bn, DEPTH, EPSILON, ewma, true);
    tg_tensor *x_bn = cbn_normalize(g, &bn, x, true);
    tg_tensor *pred = tg_tf_layers_dense(g, tg_reshape(g, x_bn, TG_SHAPE(N, H * W * DEPTH), NULL), OUT, NULL);
    tg_tensor *loss = tg_losses_mean_squared_error(g, y, pred, NULL);
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    tg_op *step_op = tg_optimizer_minimize(opt, loss, NULL), *train_op = NULL;
    /* with tf.control_dependencies([optimizer]): optimizer = tf.group(bn.get_assigner()) */
    TG_WITH_CONTROL_DEPENDENCIES(g, &step_op, 1) {
        tg_op *update_assignments = cbn_get_assigner(&bn);
        train_op = tg_group(g, &update_assignments, 1, "train");
    }
    /* The inference path: x_test_bn = bn.normalize(x_test, train=False) */
    tg_tensor *x_test = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, H, W, DEPTH), "x_test");
    tg_tensor *x_test_bn = cbn_normalize(g, &bn, x_test, false);
    tg_op *init = tg_global_variables_initializer(g);
    tg_variable **mav = NULL;
    int n_mav = tg_get_collection_variables(g, TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES, NULL, &mav);
    tg_free(mav);
    int rc = 1;
    tg_session *sess = NULL;
    if (!seed_graph_ok(g) || !x_test_bn) goto out;
    tg_variable *shadow_mean = tg_ema_average(ewma, bn.mean), *shadow_var = tg_ema_average(ewma, bn.variance);
    printf("shadows: %s, %s; MOVING_AVERAGE_VARIABLES: %d\n", tg_ema_average_name(ewma, bn.mean),
           tg_ema_average_name(ewma, bn.variance), n_mav);
    if (n_mav != 2) goto out;

    sess = tg_session_new(g);
    seed_check_update_ops(sess);
    tg_tensor *state[4] = {tg_variable_value(bn.mean), tg_variable_value(bn.variance),
                           tg_variable_value(shadow_mean), tg_variable_value(shadow_var)};
    /* The shadows start at the variables' initial values: 0 and 1. */
    double sh_mean[DEPTH] = {0}, sh_var[DEPTH] = {1, 1, 1};
    double l, mean[DEPTH], var[DEPTH], s[4][DEPTH];
    static double xd[N * H * W * DEPTH], out_test[N * H * W * DEPTH], hand[N * H * W * DEPTH];
    float xb[N * H * W * DEPTH], yb[N * OUT];
    if (seed_run(sess, NULL, 0, NULL, 0, NULL, init)) goto out;

    for (int step = 1; step <= STEPS; step++) {
        seed_fill(xb, N * H * W * DEPTH, 0.0, 3.0);
        seed_fill(yb, N * OUT, -1.0, 1.0); /* random targets: the statistics are the point */
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){N, H, W, DEPTH}, xb);
        tg_array *ya = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){N, OUT}, yb);
        tg_feed feeds[2] = {{x, xa}, {y, ya}};
        int bad = seed_run(sess, feeds, 2, &loss, 1, (double *[]){&l}, train_op);
        bad = bad || seed_run(sess, NULL, 0, state, 4, (double *[]){s[0], s[1], s[2], s[3]}, NULL);
        tg_array_free(xa);
        tg_array_free(ya);
        if (bad) goto out;
        /* tf.nn.moments(x, [0, 1, 2]): the biased variance, assigned to the
         * state variables; then the EMA: shadow = shadow*0.99 + value*0.01. */
        for (int i = 0; i < N * H * W * DEPTH; i++) xd[i] = xb[i];
        seed_moments(xd, N * H * W, DEPTH, 1, mean, var);
        seed_moving_average(sh_mean, mean, DEPTH, DECAY);
        seed_moving_average(sh_var, var, DEPTH, DECAY);
        printf("step %d  loss %.6f\n", step, l);
        seed_show("bn/mean (assigned)", s[0], mean, DEPTH, 0);
        seed_show("bn/variance (assigned)", s[1], var, DEPTH, 0);
        seed_show(tg_variable_name(shadow_mean), s[2], sh_mean, DEPTH, 0);
        seed_show(tg_variable_name(shadow_var), s[3], sh_var, DEPTH, 0);
    }

    /* normalize(x_test, train=False): (x - average(mean)) / sqrt(average(variance)
     * + epsilon) * gamma + beta, with scale_after_normalization=True. */
    {
        double beta[DEPTH], gamma[DEPTH];
        seed_fill(xb, N * H * W * DEPTH, 0.0, 3.0);
        tg_array *xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){N, H, W, DEPTH}, xb);
        tg_feed feed = {x_test, xa};
        int bad = seed_run(sess, NULL, 0, (tg_tensor *[]){tg_variable_value(bn.beta), tg_variable_value(bn.gamma)}, 2,
                           (double *[]){beta, gamma}, NULL);
        bad = bad || seed_run(sess, &feed, 1, &x_test_bn, 1, (double *[]){out_test}, NULL);
        bad = bad || seed_run(sess, NULL, 0, state + 2, 2, (double *[]){s[2], s[3]}, NULL);
        tg_array_free(xa);
        if (bad) goto out;
        for (int i = 0; i < N * H * W * DEPTH; i++) {
            int c = i % DEPTH;
            hand[i] = ((double)xb[i] - sh_mean[c]) / sqrt(sh_var[c] + EPSILON) * gamma[c] + beta[c];
        }
        printf("inference path (train=False, the EMA shadows): x_test_bn[0, 0, :, :]\n");
        seed_show("x_test_bn[0, 0]", out_test, hand, W * DEPTH, 1);
        seed_show_worst("x_test_bn", out_test, hand, N * H * W * DEPTH, 1);
        printf("after inference, unchanged:\n");
        seed_show(tg_variable_name(shadow_mean), s[2], sh_mean, DEPTH, 0);
        seed_show(tg_variable_name(shadow_var), s[3], sh_var, DEPTH, 0);
    }
    rc = seed_finish();
out:
    tg_session_free(sess);
    tg_optimizer_free(opt);
    tg_ema_free(ewma);
    tg_graph_free(g);
    return rc;
}
