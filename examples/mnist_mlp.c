/* mnist_mlp: a one-hidden-layer perceptron (mnist_models.c) on
 * Fashion-MNIST or any folder of the four IDX files. No batch norm, so
 * UPDATE_OPS is empty and is_training changes nothing. `mnist_mlp --help`
 * lists the flags. */
#include "mnist_common.h"

int main(int argc, char **argv) { return mnist_train_main(argc, argv, "mnist_mlp", mnist_mlp_model); }
