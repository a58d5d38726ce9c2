/* mnist_models.h: the two MNIST models and the class names, shared by the
 * training programs (mnist_cnn, mnist_mlp), mnist_predict and the
 * end-to-end test, so that a checkpoint written by one is read by the
 * other with the same variable names. */
#ifndef TGRAPH_EXAMPLES_MNIST_MODELS_H
#define TGRAPH_EXAMPLES_MNIST_MODELS_H

#include "tgraph.h"

enum { MNIST_CLASSES = 10 };

/* Builds the model on images [batch, rows, cols, 1] and returns the logits
 * [batch, 10]. is_training is a bool scalar tensor (the training graph's
 * placeholder_with_default), or NULL for an inference-only graph (TF's
 * is_training=False as a Python bool: no update ops at all). */
typedef tg_tensor *(*mnist_model_fn)(tg_graph *g, tg_tensor *images, tg_tensor *is_training);

/* The TF layers-tutorial CNN with batch_norm as normalizer_fn (see
 * mnist_models.c for the TF code it mirrors). */
tg_tensor *mnist_cnn_model(tg_graph *g, tg_tensor *images, tg_tensor *is_training);
/* The same CNN with the batch norm options given (the bench's protocol:
 * decay 0.99); bn is copied. */
tg_tensor *mnist_cnn_model_bn(tg_graph *g, tg_tensor *images, const tg_layers_batch_norm_opts *bn);
/* A one-hidden-layer perceptron (256 relu units); is_training is unused. */
tg_tensor *mnist_mlp_model(tg_graph *g, tg_tensor *images, tg_tensor *is_training);

/* "cnn" or "mlp" -> the model, NULL for another name. */
mnist_model_fn mnist_model_by_name(const char *name);

/* The ten class names of a label set: "fashion" (Fashion-MNIST's
 * T-shirt/top ... Ankle boot) or "digits" ("0" ... "9"); NULL for another
 * name. "auto" picks fashion when the data folder's path contains
 * "fashion" (any case), else digits. The strings are static. */
const char *const *mnist_class_names(const char *labels, const char *data_dir);

#endif
