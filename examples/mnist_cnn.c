/* mnist_cnn: the TF layers-tutorial CNN with batch normalization (the model
 * is in mnist_models.c), trained on Fashion-MNIST or any folder of the four
 * IDX files. `mnist_cnn --help` lists the flags; the loop, the evaluation,
 * checkpoints and --resume are in mnist_train.c. */
#include "mnist_common.h"

int main(int argc, char **argv) { return mnist_train_main(argc, argv, "mnist_cnn", mnist_cnn_model); }
