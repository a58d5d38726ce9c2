/* gan_update_ops: two networks, one UPDATE_OPS list.
 *
 *     with tf.variable_scope("G"): fake = generator(z, is_training)
 *     with tf.variable_scope("D"): d = discriminator(x, is_training)
 *     update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)      # G's and D's
 *     with tf.control_dependencies(update_ops):
 *         d_step = opt.minimize(d_loss, var_list=D_vars)   # also runs G's BN updates
 *
 * UPDATE_OPS is one graph-wide list, and var_list limits the gradient
 * updates but not the statistic updates: D's training step moves G's
 * moving statistics with batches G never trained on (DCGAN-tensorflow #289,
 * compare_gan #8). The lint names them; the scoped collection fixes it. */
#include "teach.h"

/* x -> fully_connected(8, batch_norm) under scope, one output unit. */
static tg_tensor *net(tg_graph *g, const char *scope, tg_tensor *x, tg_tensor *phase) {
    tg_tensor *out = NULL;
    TG_WITH_VARIABLE_SCOPE(g, scope, NULL) {
        TG_OPTS(tg_layers_batch_norm_opts, bn, .decay = 0.9, .is_training_t = phase);
        TG_OPTS(tg_layers_fc_opts, h, .scope = "hidden", .normalizer_fn = tg_layers_batch_norm_fn,
                .normalizer_params = &bn);
        TG_OPTS(tg_layers_fc_opts, o, .scope = "out", .activation_fn = NULL);
        out = tg_layers_fully_connected(g, tg_layers_fully_connected(g, x, 8, &h), 1, &o);
    }
    return out;
}

static int run(bool fixed) {
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, TEACH_SEED);
    tg_tensor *z = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2), "z");
    tg_tensor *phase = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 1, NULL), TG_SCALAR, "is_training");
    tg_tensor *d = net(g, "D", net(g, "G", z, phase), phase);
    tg_tensor *d_loss = tg_reduce_mean(g, tg_square(g, d, NULL), NULL);
    tg_variable **d_vars = NULL;
    int nd = tg_get_collection_variables(g, TG_GRAPHKEYS_TRAINABLE_VARIABLES, "D/", &d_vars);
    tg_op **updates = NULL, *d_step = NULL;
    int n = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, fixed ? "D/" : NULL, &updates);
    printf("%s: the D step depends on %d update ops\n", fixed ? "fixed (UPDATE_OPS of scope D/)" : "bug (all of UPDATE_OPS)",
           n);
    tg_optimizer *opt = tg_train_gradient_descent_optimizer_new(g, 0.1, NULL);
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, n) {
        d_step = tg_optimizer_minimize(opt, d_loss, &(tg_minimize_opts){.var_list = d_vars, .n_vars = nd});
    }
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g)) return puts(tg_graph_message(g)), 1;
    tg_session *s = tg_session_new(g);
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    tg_array *za = NULL, *zy = NULL;
    teach_data(TEACH_BATCH, 5, &za, &zy);
    tg_run_options traced = {.trace = true};
    for (int i = 0; i < 10 && !rc; i++) rc = tg_session_run_opts(s, &(tg_feed){z, za}, 1, NULL, 0, NULL, &d_step, 1, &traced);
    if (!rc && !fixed) teach_draw(g, s, 2, "gan_update_ops.png");
    tg_variable *g_mean = tg_graph_variable(g, "G/hidden/BatchNorm/moving_mean");
    tg_array *gm = NULL;
    tg_tensor *gmv = tg_variable_value(g_mean);
    if (!rc) rc = tg_session_run(s, NULL, 0, &gmv, 1, &gm, NULL, 0);
    if (!rc) printf("after 10 D steps, G's moving mean[0] = %.3f (G never trained: it should be 0)\n", tg_array_get(gm, 0));
    if (!rc && !fixed) {
        char *report = NULL;
        tg_graph_lint(g, NULL, 0, &d_step, 1, &report);
        printf("lint of the D step:\n%s", report ? report : "(nothing)\n");
        tg_free(report);
    }
    if (rc) puts(tg_session_message(s));
    tg_array_free(za), tg_array_free(zy), tg_array_free(gm);
    tg_free(updates), tg_free(d_vars);
    tg_session_free(s);
    tg_graph_free(g);
    return rc != TG_OK;
}

int main(void) { return run(false) || run(true); }
