/* mnist_predict: rebuilds the inference graph of mnist_cnn or mnist_mlp,
 * restores a checkpoint they wrote and prints predictions and the test
 * accuracy (the same number training printed for the epoch it saved).
 *
 * The TF 1.x program it mirrors:
 *
 *   images = tf.placeholder(tf.float32, [None, 28, 28, 1]); labels = ...
 *   logits = model(images, is_training=False)   # a Python bool: no update ops
 *   prediction = tf.argmax(logits, 1); probabilities = tf.nn.softmax(logits)
 *   saver = tf.train.Saver()                     # the model's variables only
 *   with tf.Session() as sess:
 *       saver.restore(sess, checkpoint)          # optimizer slots in the file are ignored
 *       sess.run([loss, prediction], feed_dict=...)
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mnist_common.h"

typedef struct {
    const char *checkpoint, *data, *model, *labels;
    long index; /* -1: none */
    int threads;
} flags;

static void usage(FILE *f) {
    fprintf(f, "usage: mnist_predict --checkpoint PATH [options]\n"
               "  --checkpoint PATH   a checkpoint written by mnist_cnn or mnist_mlp (required), or their\n"
               "                      folder: its latest checkpoint (tf.train.latest_checkpoint)\n"
               "  --data DIR          folder with the IDX files (default " MNIST_DEFAULT_DATA ")\n"
               "  --model NAME        cnn | mlp: the program that wrote the checkpoint (default cnn)\n"
               "  --index N           also show test image N, its class probabilities and prediction\n"
               "  --labels NAME       class names: fashion | digits | auto (default auto: from the --data path)\n"
               "  --threads N         threads for each op's work (default 0: one per CPU)\n"
               "  --help              this message\n");
}

static int parse(int argc, char **argv, flags *f) {
    *f = (flags){.data = MNIST_DEFAULT_DATA, .model = "cnn", .labels = "auto", .index = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "mnist_predict: %s: unknown flag or missing value\n", a);
            goto bad;
        }
        const char *v = argv[++i];
        long n = 0;
        if (strcmp(a, "--checkpoint") == 0) f->checkpoint = v;
        else if (strcmp(a, "--data") == 0) f->data = v;
        else if (strcmp(a, "--model") == 0 && mnist_model_by_name(v)) f->model = v;
        else if (strcmp(a, "--labels") == 0 && mnist_class_names(v, "")) f->labels = v;
        else if (strcmp(a, "--index") == 0 && mnist_parse_long(v, 0, 1000000000L, &n)) f->index = n;
        else if (strcmp(a, "--threads") == 0 && mnist_parse_long(v, 0, 256, &n)) f->threads = (int)n;
        else {
            fprintf(stderr, "mnist_predict: bad flag or value: %s %s\n", a, v);
            goto bad;
        }
    }
    if (f->checkpoint) return -1;
    fprintf(stderr, "mnist_predict: --checkpoint PATH is required\n");
bad:
    usage(stderr);
    return 2;
}

/* The image as characters, darker pixels as denser glyphs. */
static void draw(const uint8_t *px, int rows, int cols) {
    static const char ramp[] = " .:-=+*#%@";
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            char ch = ramp[px[r * cols + c] * 9 / 255];
            putchar(ch);
            putchar(ch);
        }
        putchar('\n');
    }
}

static int show_one(tg_session *s, tg_tensor *x, tg_tensor *probs, const tg_idx_dataset *test, long index,
                    const char *const *names) {
    const int rows = tg_idx_dataset_rows(test), cols = tg_idx_dataset_cols(test);
    tg_array *img = tg_array_new(TG_FLOAT32, 4, (int64_t[]){1, rows, cols, 1}), *p = NULL;
    if (!img) return 0;
    const uint8_t *px = tg_idx_dataset_image(test, index);
    float *d = tg_array_data(img);
    for (int i = 0; i < rows * cols; i++) d[i] = (float)px[i] / 255.0f;
    tg_feed feed = {x, img};
    int ok = tg_session_run(s, &feed, 1, &probs, 1, &p, NULL, 0) == TG_OK;
    if (!ok) fprintf(stderr, "mnist_predict: %s\n", tg_session_message(s));
    if (ok) {
        draw(px, rows, cols);
        int best = 0, label = tg_idx_dataset_label(test, index);
        for (int k = 0; k < MNIST_CLASSES; k++) {
            double v = tg_array_get(p, k);
            if (v > tg_array_get(p, best)) best = k;
            int bar = (int)(v * 40 + 0.5);
            printf("  %d %-12s %6.4f %.*s\n", k, names[k], v, bar, "########################################");
        }
        printf("test image %ld: label %d (%s), predicted %d (%s): %s\n", index, label, names[label], best,
               names[best], best == label ? "right" : "wrong");
    }
    tg_array_free(p);
    tg_array_free(img);
    return ok;
}

/* The first test images' predictions next to their labels. */
static int show_first(tg_session *s, tg_tensor *x, tg_tensor *prediction, const tg_idx_dataset *test,
                      const char *const *names) {
    enum { FIRST = 8 };
    tg_batch_iter *it = tg_batch_iter_new(test, FIRST, false, 0, TG_NHWC);
    tg_array *xb = NULL, *yb = NULL, *p = NULL;
    int ok = it && tg_batch_iter_next(it, &xb, &yb);
    tg_feed feed = {x, xb};
    if (ok && tg_session_run(s, &feed, 1, &prediction, 1, &p, NULL, 0) != TG_OK) {
        fprintf(stderr, "mnist_predict: %s\n", tg_session_message(s));
        ok = 0;
    }
    for (int64_t i = 0; ok && i < tg_array_dim(yb, 0); i++) {
        int label = (int)tg_array_get(yb, i), pred = (int)tg_array_get(p, i);
        printf("test image %lld: label %-12s predicted %-12s %s\n", (long long)i, names[label], names[pred],
               label == pred ? "" : "(wrong)");
    }
    tg_array_free(p);
    tg_array_free(xb);
    tg_array_free(yb);
    tg_batch_iter_free(it);
    return ok;
}

/* --checkpoint: a checkpoint (a V2 prefix or a tgraph file) as given, or a
 * folder's latest (tf.train.latest_checkpoint). A new string; NULL when
 * the folder names none. */
static char *resolve_checkpoint(const char *arg) {
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) return tg_train_latest_checkpoint(arg, NULL);
    size_t n = strlen(arg) + 1;
    char *copy = malloc(n);
    if (copy) memcpy(copy, arg, n);
    return copy;
}

static int predict(const flags *f, const tg_idx_dataset *test, tg_graph *g, tg_saver **saver) {
    const char *const *names = mnist_class_names(f->labels, f->data);
    const int rows = tg_idx_dataset_rows(test), cols = tg_idx_dataset_cols(test);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, rows, cols, 1), "images");
    tg_tensor *y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "labels");
    tg_tensor *logits = mnist_model_by_name(f->model)(g, x, NULL);
    tg_tensor *loss = tg_losses_sparse_softmax_cross_entropy(g, y, logits, NULL);
    tg_tensor *prediction = tg_argmax(g, logits, 1, NULL);
    tg_tensor *probs = tg_nn_softmax(g, logits, NULL);
    *saver = tg_train_saver_new(g, NULL, 0, NULL);
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, "mnist_predict: graph error: %s\n", tg_graph_message(g));
        return 0;
    }
    if (f->index >= tg_idx_dataset_count(test)) {
        fprintf(stderr, "mnist_predict: --index %ld: the test set has %lld images\n", f->index,
                (long long)tg_idx_dataset_count(test));
        return 0;
    }
    tg_session *s = tg_session_new_opts(g, &(tg_session_options){.intra_op_parallelism_threads = f->threads});
    int ok = s != NULL;
    char *path = ok ? resolve_checkpoint(f->checkpoint) : NULL;
    if (ok && !(ok = path != NULL))
        fprintf(stderr, "mnist_predict: no checkpoint in %s (no 'checkpoint' state file naming one)\n", f->checkpoint);
    if (ok && tg_saver_restore(*saver, s, path) != TG_OK) {
        /* A cnn checkpoint read as mlp (or the reverse) lands here: "Key fc1/weights not found in checkpoint". */
        fprintf(stderr, "mnist_predict: %s (is --model %s right?)\n", tg_saver_message(*saver), f->model);
        ok = 0;
    }
    if (ok && f->index >= 0) ok = show_one(s, x, probs, test, f->index, names);
    mnist_eval ev;
    char err[1024];
    if (ok && !(ok = mnist_evaluate(s, test, x, y, loss, prediction, &ev, err, sizeof err)))
        fprintf(stderr, "mnist_predict: evaluation: %s\n", err);
    if (ok) ok = show_first(s, x, prediction, test, names);
    if (ok) {
        mnist_print_confusion(stdout, &ev, names);
        printf("restored %s (%s): %lld test images, test loss %.4f  acc %.4f\n", path, f->model,
               (long long)ev.count, ev.loss, ev.accuracy);
    }
    tg_free(path);
    tg_session_free(s);
    return ok;
}

int main(int argc, char **argv) {
    flags f;
    int rc = parse(argc, argv, &f);
    if (rc >= 0) return rc;
    char err[512];
    tg_idx_dataset *test = NULL;
    if (tg_data_load_idx_dir(f.data, "t10k", &test, err, sizeof err) != TG_OK) {
        fprintf(stderr, "mnist_predict: %s\n", err);
        return 1;
    }
    tg_graph *g = tg_graph_new();
    tg_saver *saver = NULL;
    rc = g && predict(&f, test, g, &saver) ? 0 : 1;
    tg_saver_free(saver);
    tg_graph_free(g);
    tg_idx_dataset_free(test);
    return rc;
}
