/* bench_cnn: times the training step of examples/mnist_cnn.c (the TF
 * layers-tutorial CNN with batch norm, Adam 1e-3) on a fixed random batch.
 *
 *   bench_cnn [--threads N] [--batch B] [--warmup W] [--steps S] [--seed K]
 *
 * --threads is the session's intra_op_parallelism_threads (0: the system
 * picks). Prints one line:
 *
 *   tgraph threads=1 batch=64 steps=30 median_ms=105.21 p10_ms=104.80 p90_ms=107.93 images_per_s=608.3 loss=2.1
 *
 * The model is built exactly as in examples/mnist_cnn.c (conv 5x5x32 + batch
 * norm + relu, max pool 2x2, conv 5x5x64 + batch norm + relu, max pool,
 * fully connected 1024 + batch norm + relu, fully connected 10; UPDATE_OPS
 * wired to the train op; is_training fed as true). */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tgraph.h"

enum { CLASSES = 10, SIDE = 28 };

static tg_tensor *model(tg_graph *g, tg_tensor *images, tg_tensor *is_training) {
    static tg_layers_batch_norm_opts bn = TG_LAYERS_BATCH_NORM_OPTS_INIT;
    bn.decay = 0.9;
    bn.is_training_t = is_training;
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
    return tg_layers_fully_connected(g, net, CLASSES, &logits);
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile (0..100) of sorted v[0..n), linearly interpolated. */
static double percentile(const double *v, int n, double p) {
    double r = p / 100.0 * (n - 1);
    int i = (int)r;
    return i + 1 < n ? v[i] + (r - i) * (v[i + 1] - v[i]) : v[n - 1];
}

static int parse_int(const char *s, int min, int *out) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < min || v > 1000000) return 0;
    *out = (int)v;
    return 1;
}

int main(int argc, char **argv) {
    int threads = 1, batch = 64, warmup = 5, steps = 30, seed = 1;
    for (int i = 1; i < argc; i++) {
        int *dst = NULL, min = 1;
        if (strcmp(argv[i], "--threads") == 0) dst = &threads, min = 0;
        else if (strcmp(argv[i], "--batch") == 0) dst = &batch;
        else if (strcmp(argv[i], "--warmup") == 0) dst = &warmup, min = 0;
        else if (strcmp(argv[i], "--steps") == 0) dst = &steps;
        else if (strcmp(argv[i], "--seed") == 0) dst = &seed, min = 0;
        if (!dst || i + 1 >= argc || !parse_int(argv[i + 1], min, dst)) {
            fprintf(stderr, "usage: %s [--threads N] [--batch B] [--warmup W] [--steps S] [--seed K]\n", argv[0]);
            return 2;
        }
        i++;
    }

    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, seed);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, SIDE, SIDE, 1), "images");
    tg_tensor *y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "labels");
    tg_tensor *is_training =
        tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "is_training");
    tg_tensor *loss = tg_losses_sparse_softmax_cross_entropy(g, y, model(g, x, is_training), NULL);
    tg_optimizer *opt = tg_train_adam_optimizer_new(g, 1e-3, NULL);
    tg_op **update_ops = NULL;
    int n_update = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &update_ops);
    tg_op *train_op = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, update_ops, n_update) { train_op = tg_optimizer_minimize(opt, loss, NULL); }
    tg_free(update_ops);
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, "bench_cnn: graph error: %s\n", tg_graph_message(g));
        return 1;
    }

    /* A fixed batch: pixels in [0, 1) and labels 0..9 from a small LCG. */
    tg_array *xb = tg_array_new(TG_FLOAT32, 4, (int64_t[]){batch, SIDE, SIDE, 1});
    tg_array *yb = tg_array_new(TG_INT64, 1, (int64_t[]){batch});
    tg_array *yes = tg_array_scalar_bool(true), *out = NULL;
    uint64_t r = 0x9e3779b97f4a7c15ull ^ (uint64_t)seed;
    float *px = tg_array_data(xb);
    int64_t *py = tg_array_data(yb);
    for (int64_t i = 0; i < tg_array_size(xb); i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        px[i] = (float)(r >> 40) / (float)(1 << 24);
    }
    for (int i = 0; i < batch; i++) py[i] = i % CLASSES;

    int rc = 1;
    double *ms = malloc((size_t)steps * sizeof *ms);
    tg_session *s = tg_session_new_opts(g, &(tg_session_options){.intra_op_parallelism_threads = threads});
    if (!ms || !s || tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1) != TG_OK) {
        fprintf(stderr, "bench_cnn: init: %s\n", s ? tg_session_message(s) : "no session");
        goto done;
    }
    tg_feed feeds[3] = {{x, xb}, {y, yb}, {is_training, yes}};
    for (int i = 0; i < warmup + steps; i++) {
        double t0 = now_ms();
        if (tg_session_run(s, feeds, 3, &loss, 1, &out, &train_op, 1) != TG_OK) {
            fprintf(stderr, "bench_cnn: step %d: %s\n", i, tg_session_message(s));
            goto done;
        }
        if (i >= warmup) ms[i - warmup] = now_ms() - t0;
    }
    qsort(ms, (size_t)steps, sizeof *ms, cmp_double);
    double med = percentile(ms, steps, 50);
    printf("tgraph threads=%d batch=%d steps=%d median_ms=%.2f p10_ms=%.2f p90_ms=%.2f images_per_s=%.1f loss=%.4f\n",
           tg_session_intra_op_parallelism_threads(s), batch, steps, med, percentile(ms, steps, 10),
           percentile(ms, steps, 90), batch * 1000.0 / med, tg_array_get(out, 0));
    rc = 0;
done:
    free(ms);
    tg_array_free(out);
    tg_array_free(xb);
    tg_array_free(yb);
    tg_array_free(yes);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
    return rc;
}
