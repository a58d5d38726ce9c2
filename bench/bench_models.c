/* bench_models: times tgraph's training step or inference pass on the two
 * bench models (bench/run.sh runs it next to bench/torch_models.py).
 *
 *   bench_models --model cnn|mlp --mode train|infer [--threads N] [--batch B]
 *                [--warmup W] [--steps S] [--seed K] [--lr R]
 *                [--profile] [--chrome-trace FILE]
 *
 * Models (tf.contrib.layers, as examples/mnist_models.c builds them; batch
 * norm decay 0.99, epsilon 1e-3, center only as contrib's scale=False):
 *   cnn: conv 5x5x32 + batch norm + relu, max pool 2x2, conv 5x5x64 + batch
 *        norm + relu, max pool 2x2, fully connected 1024 + batch norm + relu,
 *        fully connected 10 (the model of examples/mnist_cnn.c);
 *   mlp: fully connected 512 + batch norm + relu, 256 + batch norm + relu,
 *        fully connected 10 (784-512-BN-256-BN-10).
 * train: sparse softmax cross-entropy, MomentumOptimizer(lr, 0.9), the
 *        UPDATE_OPS wired to the train op as a control dependency,
 *        is_training a placeholder_with_default fed true; default batch 64.
 * infer: an inference-only graph (is_training=False: batch norm with the
 *        moving statistics, no update ops), the logits fetched; default
 *        batch 1000.
 * The input is a fixed random batch (pixels in [0, 1), labels i % 10).
 * --threads is tg_session_options.intra_op_parallelism_threads (0: the
 * system picks). Prints one line of key=value fields:
 *
 *   tgraph model=cnn mode=train threads=1 batch=64 steps=20 median_ms=.. p10_ms=.. p90_ms=..
 *     images_per_s=.. peak_rss_mib=.. start_rss_mib=.. cpu_cores=.. others_cores=.. steal_cores=..
 *     openblas_core=.. loss=..
 *
 * peak_rss_mib is the process's VmHWM (/proc/self/status) at the end;
 * start_rss_mib its VmRSS before the graph is built. Over the timed steps:
 * cpu_cores is this process's CPU time (getrusage, all its threads) per
 * wall second; others_cores is the busy time of the whole machine
 * (/proc/stat: user, nice, system, irq, softirq) less this process's, per
 * wall second, i.e. how many CPUs other processes kept busy meanwhile
 * (/proc/stat counts in clock ticks: about 0.01 s per CPU of slack);
 * steal_cores the hypervisor's steal time likewise.
 *
 * --profile: after that line, a per-op profile of a few more steps (see
 * profile() below and bench/README.md, "Profiling"); --chrome-trace FILE
 * also writes the last of them as Chrome trace JSON. */
#define _POSIX_C_SOURCE 200809L

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tgraph.h"
#include "mnist_models.h"

enum { CLASSES = 10, SIDE = 28 };

static void bn_opts(tg_layers_batch_norm_opts *bn, tg_tensor *is_training) {
    *bn = (tg_layers_batch_norm_opts)TG_LAYERS_BATCH_NORM_OPTS_INIT;
    bn->decay = 0.99;
    bn->epsilon = 1e-3;
    if (is_training) bn->is_training_t = is_training;
    else bn->is_training = false;
}

/* examples/mnist_cnn.c's model, with the protocol's batch norm options */
static tg_tensor *cnn(tg_graph *g, tg_tensor *images, tg_tensor *is_training) {
    tg_layers_batch_norm_opts bn;
    bn_opts(&bn, is_training);
    return mnist_cnn_model_bn(g, images, &bn);
}

static tg_tensor *mlp(tg_graph *g, tg_tensor *images, tg_tensor *is_training) {
    tg_layers_batch_norm_opts bn;
    bn_opts(&bn, is_training);
    tg_tensor *net = tg_layers_flatten(g, images, NULL);
    TG_OPTS(tg_layers_fc_opts, fc1, .scope = "fc1", .normalizer_fn = tg_layers_batch_norm_fn, .normalizer_params = &bn);
    net = tg_layers_fully_connected(g, net, 512, &fc1);
    TG_OPTS(tg_layers_fc_opts, fc2, .scope = "fc2", .normalizer_fn = tg_layers_batch_norm_fn, .normalizer_params = &bn);
    net = tg_layers_fully_connected(g, net, 256, &fc2);
    TG_OPTS(tg_layers_fc_opts, logits, .scope = "logits", .activation_fn = NULL);
    return tg_layers_fully_connected(g, net, CLASSES, &logits);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* This process's user + system CPU seconds, all threads. */
static double own_cpu_s(void) {
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
           (double)u.ru_stime.tv_usec * 1e-6;
}

/* The machine's busy and steal seconds so far, summed over CPUs (the
 * "cpu" line of /proc/stat). */
static void machine_cpu_s(double *busy, double *steal) {
    unsigned long long v[8] = {0};
    *busy = *steal = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    if (n < 8) return;
    double hz = (double)sysconf(_SC_CLK_TCK);
    /* user nice system idle iowait irq softirq steal */
    *busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
    *steal = (double)v[7] / hz;
}

/* A "Vm...:  123 kB" line of /proc/self/status, in MiB (-1 if absent). */
static double status_mib(const char *key) {
    char line[256];
    double mib = -1;
    size_t k = strlen(key);
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0 && line[k] == ':') {
            mib = strtod(line + k + 1, NULL) / 1024.0;
            break;
        }
    fclose(f);
    return mib;
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

/* ---- --profile ------------------------------------------------------------
 * PROFILE_STEPS more steps run with tg_run_options.step_stats after the
 * timed ones; their op times are summed per op type and, for each MatMul
 * and convolution, per op, next to one plain cblas_sgemm of the same GEMM
 * shape timed here. */
enum { PROFILE_STEPS = 5, PROFILE_TOP = 12, SGEMM_REPS = 5 };

typedef struct prof_type {
    const char *type;
    int64_t ns, count;
} prof_type;

typedef struct prof_op {
    const tg_op *op;
    int64_t ns;
} prof_op;

static int cmp_type_ns(const void *a, const void *b) {
    int64_t x = ((const prof_type *)a)->ns, y = ((const prof_type *)b)->ns;
    return (x < y) - (x > y);
}

/* The static shape of t with unknown dimensions (the batch) set to batch;
 * rank -1 when unknown. */
static tg_shape known_shape(const tg_tensor *t, int batch) {
    tg_shape s = tg_tensor_shape(t);
    for (int i = 0; i < s.rank; i++)
        if (s.dims[i] < 0) s.dims[i] = batch;
    return s;
}

static int is_gemm_op(const char *type) {
    return strcmp(type, "MatMul") == 0 || strcmp(type, "Conv2D") == 0 || strcmp(type, "Conv2DBackpropInput") == 0 ||
           strcmp(type, "Conv2DBackpropFilter") == 0;
}

/* The GEMM an op amounts to (2*m*n*k flops): a MatMul's own (its
 * transposes guessed from the shapes: A is m x k or k x m, B k x n or
 * n x k); a convolution's m = N*OH*OW, n = OC, k = KH*KW*IC, from dy
 * (Conv2D's output, the backprops' input 2) and the HWIO filter (input 1;
 * Conv2DBackpropFilter's output). 0 when a shape is unknown. */
static int gemm_shape(const tg_op *op, int batch, int64_t *m, int64_t *n, int64_t *k, int *ta, int *tb) {
    const char *type = tg_op_type(op);
    *ta = *tb = 0;
    if (strcmp(type, "MatMul") == 0) {
        tg_shape a = known_shape(tg_op_input(op, 0), batch), b = known_shape(tg_op_input(op, 1), batch),
                 z = known_shape(tg_op_output(op, 0), batch);
        if (a.rank != 2 || b.rank != 2 || z.rank != 2) return 0;
        *m = z.dims[0], *n = z.dims[1];
        *ta = a.dims[0] != *m, *tb = b.dims[1] != *n;
        *k = *ta ? a.dims[0] : a.dims[1];
        return *m > 0 && *n > 0 && *k > 0;
    }
    int bf = strcmp(type, "Conv2DBackpropFilter") == 0;
    tg_shape f = known_shape(bf ? tg_op_output(op, 0) : tg_op_input(op, 1), batch);
    tg_shape dy = known_shape(strcmp(type, "Conv2D") == 0 ? tg_op_output(op, 0) : tg_op_input(op, 2), batch);
    int64_t dy_n = tg_shape_num_elements(&dy);
    if (f.rank != 4 || dy_n <= 0 || f.dims[3] <= 0) return 0;
    *n = f.dims[3];
    *m = dy_n / *n;
    *k = f.dims[0] * f.dims[1] * f.dims[2];
    return *m > 0 && *k > 0;
}

/* Median ms of cblas_sgemm(m, n, k) over SGEMM_REPS calls after one
 * untimed; above 16M elements per operand it times a slice of the rows and
 * scales (flops are linear in m). */
static double time_sgemm(int64_t m, int64_t n, int64_t k, int ta, int tb) {
    const int64_t cap = (int64_t)1 << 24;
    int64_t mc = m;
    while (mc > 1 && (mc * k > cap || mc * n > cap)) mc = (mc + 1) / 2;
    float *a = malloc((size_t)(mc * k) * sizeof *a), *b = malloc((size_t)(k * n) * sizeof *b),
          *c = malloc((size_t)(mc * n) * sizeof *c);
    double t[SGEMM_REPS], med = -1;
    if (a && b && c) {
        for (int64_t i = 0; i < mc * k; i++) a[i] = (float)(i % 7) * 0.1f;
        for (int64_t i = 0; i < k * n; i++) b[i] = (float)(i % 5) * 0.1f;
        for (int r = -1; r < SGEMM_REPS; r++) {
            double t0 = now_s();
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)mc,
                        (int)n, (int)k, 1.0f, a, ta ? (int)mc : (int)k, b, tb ? (int)k : (int)n, 0.0f, c, (int)n);
            if (r >= 0) t[r] = (now_s() - t0) * 1e3;
        }
        qsort(t, SGEMM_REPS, sizeof *t, cmp_double);
        med = t[SGEMM_REPS / 2] * (double)m / (double)mc;
    }
    free(a), free(b), free(c);
    return med;
}

/* Runs PROFILE_STEPS steps with step stats and prints the per-type and
 * per-GEMM tables; writes the last step's Chrome trace to trace_path when
 * given. Returns 0 on success. */
static int profile(tg_session *s, const tg_feed *feeds, int n_feeds, tg_tensor *fetch, tg_op *const *targets,
                   int n_targets, int batch, const char *trace_path) {
    prof_type *types = NULL;
    prof_op *ops = NULL;
    int n_types = 0, n_ops = 0, rc = 1;
    int64_t ops_ns = 0;
    double wall_ms = 0;
    for (int step = 0; step < PROFILE_STEPS; step++) {
        tg_array *out = NULL;
        double t0 = now_s();
        tg_code code = tg_session_run_opts(s, feeds, n_feeds, &fetch, 1, &out, targets, n_targets,
                                           &(tg_run_options){.step_stats = true});
        wall_ms += (now_s() - t0) * 1e3;
        tg_array_free(out);
        if (code != TG_OK) {
            fprintf(stderr, "bench_models: profile step %d: %s\n", step, tg_session_message(s));
            goto done;
        }
        const tg_step_stat *st = NULL;
        int n = tg_session_step_stats(s, &st);
        for (int i = 0; i < n; i++) {
            const char *type = tg_op_type(st[i].op);
            int j = 0;
            while (j < n_types && strcmp(types[j].type, type) != 0) j++;
            if (j == n_types) {
                prof_type *grown = realloc(types, (size_t)(n_types + 1) * sizeof *types);
                if (!grown) goto done;
                types = grown;
                types[n_types++] = (prof_type){type, 0, 0};
            }
            types[j].ns += st[i].duration_ns;
            types[j].count++;
            ops_ns += st[i].duration_ns;
            if (!is_gemm_op(type)) continue;
            j = 0;
            while (j < n_ops && ops[j].op != st[i].op) j++;
            if (j == n_ops) {
                prof_op *grown = realloc(ops, (size_t)(n_ops + 1) * sizeof *ops);
                if (!grown) goto done;
                ops = grown;
                ops[n_ops++] = (prof_op){st[i].op, 0};
            }
            ops[j].ns += st[i].duration_ns;
        }
    }
    double step_ms = wall_ms / PROFILE_STEPS, op_ms = (double)ops_ns * 1e-6 / PROFILE_STEPS;
    printf("\nprofile: %d steps with step_stats: %.3f ms per step (wall), ops %.3f ms (%.1f%%)\n", PROFILE_STEPS,
           step_ms, op_ms, 100.0 * op_ms / step_ms);
    printf("top op types per step:\n  %-36s %9s %7s %6s\n", "op type", "ms/step", "%step", "count");
    qsort(types, (size_t)n_types, sizeof *types, cmp_type_ns);
    for (int i = 0; i < n_types && i < PROFILE_TOP; i++) {
        double ms = (double)types[i].ns * 1e-6 / PROFILE_STEPS;
        printf("  %-36s %9.3f %6.1f%% %6.0f\n", types[i].type, ms, 100.0 * ms / step_ms,
               (double)types[i].count / PROFILE_STEPS);
    }
    printf("conv and matmul ops per step, next to cblas_sgemm of the same m x n x k (OpenBLAS %d threads, median of "
           "%d):\n  %-20s %9s %8s  %-20s %9s %8s  %s\n",
           openblas_get_num_threads(), SGEMM_REPS, "op type", "ms/step", "GFLOP/s", "gemm m x n x k", "sgemm_ms",
           "GFLOP/s", "op");
    for (int i = 0; i < n_ops; i++) {
        int64_t m, n, k;
        int ta, tb;
        double ms = (double)ops[i].ns * 1e-6 / PROFILE_STEPS;
        char shape[80] = "?";
        if (!gemm_shape(ops[i].op, batch, &m, &n, &k, &ta, &tb)) {
            printf("  %-20s %9.3f %8s  %-20s %9s %8s  %s\n", tg_op_type(ops[i].op), ms, "?", shape, "?", "?",
                   tg_op_name(ops[i].op));
            continue;
        }
        double gflop = 2.0 * (double)m * (double)n * (double)k * 1e-9, ref = time_sgemm(m, n, k, ta, tb);
        snprintf(shape, sizeof shape, "%lldx%lldx%lld%s%s", (long long)m, (long long)n, (long long)k,
                 ta ? " tA" : "", tb ? " tB" : "");
        printf("  %-20s %9.3f %8.1f  %-20s %9.3f %8.1f  %s\n", tg_op_type(ops[i].op), ms, gflop / (ms * 1e-3),
               shape, ref, ref > 0 ? gflop / (ref * 1e-3) : 0.0, tg_op_name(ops[i].op));
    }
    if (trace_path) {
        FILE *f = fopen(trace_path, "w");
        tg_code code = f ? tg_session_write_chrome_trace(s, f) : TG_INTERNAL;
        if (f && fclose(f) != 0) code = TG_INTERNAL;
        if (code != TG_OK) {
            fprintf(stderr, "bench_models: cannot write the Chrome trace to %s\n", trace_path);
            goto done;
        }
        printf("chrome trace of the last profiled step: %s\n", trace_path);
    }
    rc = 0;
done:
    free(types);
    free(ops);
    return rc;
}

static int usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s --model cnn|mlp --mode train|infer [--threads N] [--batch B] [--warmup W] [--steps S]"
            " [--seed K] [--lr R] [--profile] [--chrome-trace FILE]\n",
            argv0);
    return 2;
}

int main(int argc, char **argv) {
    const char *model_name = NULL, *mode = NULL, *trace_path = NULL;
    int prof = 0, threads = 1, batch = 0, warmup = 3, steps = 20, seed = 1;
    double lr = 0.01;
    for (int i = 1; i < argc; i++) {
        int *dst = NULL, min = 1;
        if (strcmp(argv[i], "--profile") == 0) {
            prof = 1;
            continue;
        }
        if (i + 1 >= argc) return usage(argv[0]);
        if (strcmp(argv[i], "--chrome-trace") == 0) {
            trace_path = argv[++i];
            prof = 1;
            continue;
        }
        if (strcmp(argv[i], "--model") == 0) {
            model_name = argv[++i];
            continue;
        }
        if (strcmp(argv[i], "--mode") == 0) {
            mode = argv[++i];
            continue;
        }
        if (strcmp(argv[i], "--lr") == 0) {
            char *end = NULL;
            lr = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(lr > 0)) return usage(argv[0]);
            continue;
        }
        if (strcmp(argv[i], "--threads") == 0) dst = &threads, min = 0;
        else if (strcmp(argv[i], "--batch") == 0) dst = &batch;
        else if (strcmp(argv[i], "--warmup") == 0) dst = &warmup, min = 0;
        else if (strcmp(argv[i], "--steps") == 0) dst = &steps;
        else if (strcmp(argv[i], "--seed") == 0) dst = &seed, min = 0;
        if (!dst || !parse_int(argv[i + 1], min, dst)) return usage(argv[0]);
        i++;
    }
    tg_tensor *(*model)(tg_graph *, tg_tensor *, tg_tensor *) = NULL;
    if (model_name && strcmp(model_name, "cnn") == 0) model = cnn;
    else if (model_name && strcmp(model_name, "mlp") == 0) model = mlp;
    if (!model || !mode || (strcmp(mode, "train") != 0 && strcmp(mode, "infer") != 0)) return usage(argv[0]);
    int train = strcmp(mode, "train") == 0;
    if (batch == 0) batch = train ? 64 : 1000;
    double start_rss = status_mib("VmRSS");

    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, seed);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, SIDE, SIDE, 1), "images");
    tg_tensor *y = NULL, *is_training = NULL, *fetch = NULL;
    tg_optimizer *opt = NULL;
    tg_op *train_op = NULL;
    if (train) {
        y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "labels");
        is_training =
            tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "is_training");
        fetch = tg_losses_sparse_softmax_cross_entropy(g, y, model(g, x, is_training), NULL);
        opt = tg_train_momentum_optimizer_new(g, lr, 0.9, NULL);
        tg_op **update_ops = NULL;
        int n_update = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &update_ops);
        TG_WITH_CONTROL_DEPENDENCIES(g, update_ops, n_update) { train_op = tg_optimizer_minimize(opt, fetch, NULL); }
        tg_free(update_ops);
    } else {
        fetch = model(g, x, NULL);
    }
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, "bench_models: graph error: %s\n", tg_graph_message(g));
        return 1;
    }

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
        fprintf(stderr, "bench_models: init: %s\n", s ? tg_session_message(s) : "no session");
        goto done;
    }
    tg_feed feeds[3] = {{x, xb}, {y, yb}, {is_training, yes}};
    int n_feeds = train ? 3 : 1;
    double wall0 = 0, cpu0 = 0, busy0 = 0, steal0 = 0;
    for (int i = 0; i < warmup + steps; i++) {
        if (i == warmup) {
            machine_cpu_s(&busy0, &steal0);
            cpu0 = own_cpu_s();
            wall0 = now_s();
        }
        double t0 = now_s();
        if (tg_session_run(s, feeds, n_feeds, &fetch, 1, &out, train ? &train_op : NULL, train ? 1 : 0) != TG_OK) {
            fprintf(stderr, "bench_models: step %d: %s\n", i, tg_session_message(s));
            goto done;
        }
        if (i >= warmup) ms[i - warmup] = (now_s() - t0) * 1e3;
    }
    double wall = now_s() - wall0, cpu = own_cpu_s() - cpu0, busy1, steal1;
    machine_cpu_s(&busy1, &steal1);
    qsort(ms, (size_t)steps, sizeof *ms, cmp_double);
    double med = percentile(ms, steps, 50);
    const char *core = openblas_get_corename();
    printf("tgraph model=%s mode=%s threads=%d batch=%d steps=%d median_ms=%.3f p10_ms=%.3f p90_ms=%.3f"
           " images_per_s=%.1f peak_rss_mib=%.1f start_rss_mib=%.1f cpu_cores=%.2f others_cores=%.2f"
           " steal_cores=%.2f openblas_core=%s loss=%.4f\n",
           model_name, mode, tg_session_intra_op_parallelism_threads(s), batch, steps, med,
           percentile(ms, steps, 10), percentile(ms, steps, 90), batch * 1000.0 / med, status_mib("VmHWM"),
           start_rss, cpu / wall, (busy1 - busy0 - cpu) / wall, (steal1 - steal0) / wall,
           core && *core ? core : "unknown", train ? (double)tg_array_get(out, 0) : 0.0);
    if (prof && profile(s, feeds, n_feeds, fetch, train ? &train_op : NULL, train ? 1 : 0, batch, trace_path) != 0)
        goto done;
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
