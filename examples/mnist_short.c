/* mnist_short: the shortest complete tgraph MNIST program (the README shows it). */
#include <stdio.h>
#include <tgraph.h>
#include "example_lint.h"

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    char err[256];
    tg_idx_dataset *train = NULL, *test = NULL;
    if (tg_data_load_idx_dir(dir, "train", &train, err, sizeof err) ||
        tg_data_load_idx_dir(dir, "t10k", &test, err, sizeof err)) return puts(err), 1;

    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 28, 28, 1), "images");
    tg_tensor *y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "labels");
    tg_tensor *is_training = tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, NULL);
    TG_OPTS(tg_layers_batch_norm_opts, bn, .is_training_t = is_training, .decay = 0.9);
    TG_OPTS(tg_layers_fc_opts, hidden, .normalizer_fn = tg_layers_batch_norm_fn, .normalizer_params = &bn);
    TG_OPTS(tg_layers_fc_opts, linear, .activation_fn = NULL); /* activation_fn=None */
    tg_tensor *net = tg_layers_fully_connected(g, tg_layers_flatten(g, x, NULL), 256, &hidden);
    tg_tensor *logits = tg_layers_fully_connected(g, net, 10, &linear);
    tg_tensor *loss = tg_losses_sparse_softmax_cross_entropy(g, y, logits, NULL);
    tg_tensor *hits = tg_cast(g, tg_equal(g, tg_argmax(g, logits, 1, NULL), y, NULL), TG_FLOAT32, NULL);
    tg_tensor *accuracy = tg_reduce_mean(g, hits, NULL);
    tg_optimizer *opt = tg_train_adam_optimizer_new(g, 1e-3, NULL); /* the graph frees it */
    tg_op **update_ops = NULL, *train_op = NULL;
    int n = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &update_ops);
    TG_WITH_CONTROL_DEPENDENCIES(g, update_ops, n) { train_op = tg_optimizer_minimize(opt, loss, NULL); }
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g)) return puts(tg_graph_message(g)), 1;

    tg_session *s = tg_session_new(g);
    example_lint_on(s);
    tg_batch_iter *batches = tg_batch_iter_new(train, 64, true, 1, TG_NHWC), *all = tg_batch_iter_new(test, 10000, false, 0, TG_NHWC);
    tg_array *xb = NULL, *yb = NULL, *yes = tg_array_scalar_bool(true), *acc = NULL;
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    while (!rc && tg_batch_iter_next(batches, &xb, &yb)) /* one epoch, is_training=True */
        rc = tg_session_run(s, (tg_feed[]){{x, xb}, {y, yb}, {is_training, yes}}, 3, NULL, 0, NULL, &train_op, 1);
    if (!rc && tg_batch_iter_next(all, &xb, &yb)) /* the test set, is_training=False */
        rc = tg_session_run(s, (tg_feed[]){{x, xb}, {y, yb}}, 2, &accuracy, 1, &acc, NULL, 0);
    if (rc) puts(tg_session_message(s));
    else printf("test accuracy %.4f\n", tg_array_get(acc, 0));

    tg_array_free(xb), tg_array_free(yb), tg_array_free(yes), tg_array_free(acc), tg_free(update_ops);
    tg_batch_iter_free(batches), tg_batch_iter_free(all), tg_session_free(s);
    tg_graph_free(g), tg_idx_dataset_free(train), tg_idx_dataset_free(test);
    return rc != TG_OK;
}
