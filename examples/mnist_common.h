/* mnist_common.h: what the MNIST programs share. mnist_cnn and mnist_mlp
 * only pick a model and call mnist_train_main (mnist_train.c: flags, the
 * training loop, checkpoints, resume); mnist_predict reuses the evaluation
 * (mnist_eval.c) and the reports (mnist_report.c: progress bar, confusion
 * matrix, gnuplot). */
#ifndef TGRAPH_EXAMPLES_MNIST_COMMON_H
#define TGRAPH_EXAMPLES_MNIST_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mnist_models.h"
#include "tgraph.h"

enum { MNIST_EVAL_BATCH = 500 };

#define MNIST_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

/* Trains `model` with the command-line flags (--help lists them); returns
 * the exit code: 0 done, 1 a failure (message on stderr), 2 a bad flag. */
int mnist_train_main(int argc, char **argv, const char *prog, mnist_model_fn model);

/* Parses a decimal integer >= min and <= max; 0 when s is not one. */
int mnist_parse_long(const char *s, long min, long max, long *out);

/* ---- evaluation (mnist_eval.c) ---- */

typedef struct mnist_eval {
    double loss, accuracy;                         /* means over the set */
    int64_t count;                                 /* images seen */
    int64_t confusion[MNIST_CLASSES][MNIST_CLASSES]; /* [true label][prediction] */
} mnist_eval;

/* Runs loss and predictions over the whole of `set` in batches of
 * MNIST_EVAL_BATCH, feeding images x and labels y and nothing else (so an
 * is_training placeholder keeps its default, False). Accuracy is counted
 * from the predictions. Returns 1, or 0 with a message in err. */
int mnist_evaluate(tg_session *s, const tg_idx_dataset *set, tg_tensor *x, tg_tensor *y, tg_tensor *loss,
                   tg_tensor *prediction, mnist_eval *out, char *err, size_t errlen);

/* ---- reports (mnist_report.c) ---- */

/* The 10x10 confusion matrix with class names and per-class recall. */
void mnist_print_confusion(FILE *f, const mnist_eval *e, const char *const *names);

/* The per-epoch progress line on a terminal: redrawn at most ten times a
 * second and on the last step. */
typedef struct mnist_progress {
    int epoch, epochs;
    int64_t steps;
    double t0, last_draw;
} mnist_progress;
void mnist_progress_draw(mnist_progress *p, int64_t step, double loss, double acc, int64_t images, double now);

/* Renders the CSV log (epoch,train_loss,train_acc,test_loss,test_acc) as a
 * PNG with two panels (loss, accuracy) through gnuplot. Returns 1 on
 * success, 0 when gnuplot is missing or fails (with a reason in err). */
int mnist_plot(const char *csv, const char *png, const char *title, char *err, size_t errlen);

double mnist_now(void);

#endif
