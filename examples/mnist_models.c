#include "mnist_models.h"

#include <ctype.h>
#include <string.h>

/* The TF 1.x model (slim = tf.contrib.layers):
 *
 *   bn = {'is_training': is_training, 'decay': 0.9}
 *   net = slim.conv2d(images, 32, [5, 5], scope='conv1',
 *                     normalizer_fn=slim.batch_norm, normalizer_params=bn)
 *   net = slim.max_pool2d(net, [2, 2], scope='pool1')
 *   net = slim.conv2d(net, 64, [5, 5], scope='conv2',
 *                     normalizer_fn=slim.batch_norm, normalizer_params=bn)
 *   net = slim.max_pool2d(net, [2, 2], scope='pool2')
 *   net = slim.flatten(net)
 *   net = slim.fully_connected(net, 1024, scope='fc1',
 *                              normalizer_fn=slim.batch_norm, normalizer_params=bn)
 *   logits = slim.fully_connected(net, 10, activation_fn=None, scope='logits')
 *
 * decay 0.9: the moving statistics settle within a short run (contrib's
 * default 0.999 needs thousands of steps before inference is usable). */
tg_tensor *mnist_cnn_model(tg_graph *g, tg_tensor *images, tg_tensor *is_training) {
    TG_OPTS(tg_layers_batch_norm_opts, bn, .decay = 0.9);
    if (is_training) bn.is_training_t = is_training;
    else bn.is_training = false;
    return mnist_cnn_model_bn(g, images, &bn);
}

tg_tensor *mnist_cnn_model_bn(tg_graph *g, tg_tensor *images, const tg_layers_batch_norm_opts *bn_opts) {
    tg_layers_batch_norm_opts bn = *bn_opts;
    TG_OPTS(tg_layers_conv2d_opts, conv1, .scope = "conv1", .normalizer_fn = tg_layers_batch_norm_fn,
            .normalizer_params = &bn);
    tg_tensor *net = tg_layers_conv2d(g, images, 32, TG_KERNEL(5, 5), &conv1);
    net = tg_layers_max_pool2d(g, net, TG_KERNEL(2, 2), &(tg_layers_pool2d_opts){.scope = "pool1"});
    TG_OPTS(tg_layers_conv2d_opts, conv2, .scope = "conv2", .normalizer_fn = tg_layers_batch_norm_fn,
            .normalizer_params = &bn);
    net = tg_layers_conv2d(g, net, 64, TG_KERNEL(5, 5), &conv2);
    net = tg_layers_max_pool2d(g, net, TG_KERNEL(2, 2), &(tg_layers_pool2d_opts){.scope = "pool2"});
    net = tg_layers_flatten(g, net, NULL);
    TG_OPTS(tg_layers_fc_opts, fc1, .scope = "fc1", .normalizer_fn = tg_layers_batch_norm_fn, .normalizer_params = &bn);
    net = tg_layers_fully_connected(g, net, 1024, &fc1);
    TG_OPTS(tg_layers_fc_opts, logits, .scope = "logits", .activation_fn = NULL);
    return tg_layers_fully_connected(g, net, MNIST_CLASSES, &logits);
}

/*   net = slim.flatten(images)
 *   net = slim.fully_connected(net, 256, scope='fc1')
 *   logits = slim.fully_connected(net, 10, activation_fn=None, scope='logits') */
tg_tensor *mnist_mlp_model(tg_graph *g, tg_tensor *images, tg_tensor *is_training) {
    (void)is_training;
    tg_tensor *net = tg_layers_flatten(g, images, NULL);
    TG_OPTS(tg_layers_fc_opts, fc1, .scope = "fc1");
    net = tg_layers_fully_connected(g, net, 256, &fc1);
    TG_OPTS(tg_layers_fc_opts, logits, .scope = "logits", .activation_fn = NULL);
    return tg_layers_fully_connected(g, net, MNIST_CLASSES, &logits);
}

mnist_model_fn mnist_model_by_name(const char *name) {
    if (name && strcmp(name, "cnn") == 0) return mnist_cnn_model;
    if (name && strcmp(name, "mlp") == 0) return mnist_mlp_model;
    return NULL;
}

static const char *const FASHION[MNIST_CLASSES] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
static const char *const DIGITS[MNIST_CLASSES] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

static int contains_fashion(const char *s) {
    static const char word[] = "fashion";
    for (; s && *s; s++) {
        size_t i = 0;
        while (word[i] && s[i] && tolower((unsigned char)s[i]) == word[i]) i++;
        if (!word[i]) return 1;
    }
    return 0;
}

const char *const *mnist_class_names(const char *labels, const char *data_dir) {
    if (!labels) return NULL;
    if (strcmp(labels, "fashion") == 0) return FASHION;
    if (strcmp(labels, "digits") == 0) return DIGITS;
    if (strcmp(labels, "auto") == 0) return contains_fashion(data_dir) ? FASHION : DIGITS;
    return NULL;
}
