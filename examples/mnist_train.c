/* The training program behind mnist_cnn and mnist_mlp: the TF 1.x script
 *
 *   images = tf.placeholder(tf.float32, [None, 28, 28, 1]); labels = ...
 *   is_training = tf.placeholder_with_default(False, [], name='is_training')
 *   logits = model(images, is_training)
 *   loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
 *   global_step = tf.train.get_or_create_global_step()
 *   with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
 *       train_op = optimizer.minimize(loss, global_step=global_step)
 *   saver = tf.train.Saver()
 *   with tf.Session() as sess:
 *       sess.run(tf.global_variables_initializer())
 *       if resume: saver.restore(sess, tf.train.latest_checkpoint(os.path.dirname(checkpoint)))
 *       for epoch ...: sess.run([train_op, loss, accuracy], feed_dict={..., is_training: True})
 *                      evaluate (is_training keeps its default, False)
 *                      saver.save(sess, checkpoint, global_step=global_step)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnist_common.h"

#ifdef TG_HAVE_MPI
#include <tgraph/mpi.h>
#endif

typedef struct mnist_flags {
    const char *data, *optimizer, *checkpoint, *log, *plot, *dot, *labels;
    int epochs, batch_size, dot_depth, threads;
    long max_steps; /* 0: whole epochs */
    double lr;      /* <= 0: the optimizer's usual default */
    double lr_decay; /* per epoch, staircase */
    unsigned long long seed;
    bool resume;
    bool mpi;       /* data-parallel under mpirun */
    int rank, size; /* this process among size; 0 of 1 without --mpi */
} mnist_flags;

/* Only rank 0 speaks and writes files: N copies of every line and N
 * writers racing on one checkpoint would help nobody. */
static bool lead(const mnist_flags *f) { return f->rank == 0; }

static void usage(FILE *f, const char *prog) {
    fprintf(f,
            "usage: %s [options]\n"
            "  --data DIR           folder with the four IDX files, raw or .gz (default " MNIST_DEFAULT_DATA ")\n"
            "  --epochs N           epochs to train (default 1)\n"
            "  --batch-size N       training batch size (default 64)\n"
            "  --optimizer NAME     sgd | momentum | adam | rmsprop (default adam)\n"
            "  --lr X               learning rate (default: sgd 0.05, momentum 0.01, adam 0.001, rmsprop 0.001)\n"
            "  --lr-decay R         multiply the learning rate by R after each epoch (default 0.7; 1: constant)\n"
            "  --seed N             graph random seed and shuffling seed (default 1)\n"
            "  --threads N          threads for each op's work (default 0: one per CPU)\n"
            "  --max-steps N        at most N training steps per epoch (default: the whole epoch)\n"
            "  --checkpoint PATH    save all global variables after each epoch to PATH-<global step>\n"
            "                       (TF's format: PATH-<step>.index and .data-00000-of-00001; the\n"
            "                       last 5 kept, listed in the folder's 'checkpoint' file)\n"
            "  --resume             restore the latest checkpoint of PATH's folder first (global step,\n"
            "                       optimizer slots, moving statistics) and continue with the next epoch\n"
            "  --log FILE           CSV: epoch,train_loss,train_acc,test_loss,test_acc (appended on --resume)\n"
            "  --plot FILE.png      loss and accuracy curves drawn by gnuplot from the CSV\n"
            "  --dot FILE           write the graph in Graphviz DOT (render: dot -Tpng FILE -o graph.png)\n"
            "  --dot-depth N        in the DOT, name scopes deeper than N are one node each (default 1; 0: every op)\n"
            "  --labels NAME        class names: fashion | digits | auto (default auto: from the --data path)\n"
            "  --mpi                data-parallel under mpirun (Horovod's way): rank r trains on every\n"
            "                       N-th batch, gradients averaged over the N ranks (global batch\n"
            "                       batch-size x N), rank 0's variables broadcast at the start; only\n"
            "                       rank 0 prints and writes files. Needs a tgraph built with MPI\n"
            "  --help               this message\n",
            prog);
}

int mnist_parse_long(const char *s, long min, long max, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return 0;
    *out = v;
    return 1;
}

/* A finite decimal number and nothing else; 0 otherwise. */
static int parse_double(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    *out = strtod(s, &end);
    return !errno && end != s && !*end && isfinite(*out);
}

static int is_any(const char *a, const char *const *names) {
    for (; *names; names++)
        if (strcmp(a, *names) == 0) return 1;
    return 0;
}

/* Returns -1 to go on, else the exit code (0 for --help, 2 for a bad flag). */
static int parse_flags(int argc, char **argv, const char *prog, mnist_flags *f) {
    *f = (mnist_flags){.data = MNIST_DEFAULT_DATA, .optimizer = "adam", .labels = "auto", .epochs = 1,
                       .batch_size = 64, .dot_depth = 1, .seed = 1, .lr_decay = 0.7, .size = 1};
    static const char *const with_value[] = {"--data", "--epochs", "--batch-size", "--optimizer", "--lr", "--lr-decay",
                                             "--seed", "--threads", "--max-steps", "--checkpoint", "--log",
                                             "--plot", "--dot",     "--dot-depth", "--labels", NULL};
    static const char *const optimizers[] = {"sgd", "momentum", "adam", "rmsprop", NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, prog);
            return 0;
        }
        if (strcmp(a, "--resume") == 0) {
            f->resume = true;
            continue;
        }
        if (strcmp(a, "--mpi") == 0) {
#ifdef TG_HAVE_MPI
            f->mpi = true;
            continue;
#else
            fprintf(stderr, "%s: --mpi: this tgraph was built without MPI\n", prog);
            return 2;
#endif
        }
        if (!is_any(a, with_value)) {
            fprintf(stderr, "%s: unknown flag %s\n", prog, a);
            goto bad;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: missing value for %s\n", prog, a);
            goto bad;
        }
        const char *v = argv[++i];
        long n = 0;
        if (strcmp(a, "--data") == 0) f->data = v;
        else if (strcmp(a, "--checkpoint") == 0) f->checkpoint = v;
        else if (strcmp(a, "--log") == 0) f->log = v;
        else if (strcmp(a, "--plot") == 0) f->plot = v;
        else if (strcmp(a, "--dot") == 0) f->dot = v;
        else if (strcmp(a, "--labels") == 0) {
            if (!mnist_class_names(v, "")) {
                fprintf(stderr, "%s: --labels takes fashion, digits or auto, not '%s'\n", prog, v);
                goto bad;
            }
            f->labels = v;
        } else if (strcmp(a, "--optimizer") == 0) {
            if (!is_any(v, optimizers)) {
                fprintf(stderr, "%s: unknown optimizer '%s'\n", prog, v);
                goto bad;
            }
            f->optimizer = v;
        } else if (strcmp(a, "--lr-decay") == 0) {
            if (!parse_double(v, &f->lr_decay) || !(f->lr_decay > 0 && f->lr_decay <= 1)) {
                fprintf(stderr, "%s: --lr-decay needs a number in (0, 1], got '%s'\n", prog, v);
                goto bad;
            }
        } else if (strcmp(a, "--lr") == 0) {
            if (!parse_double(v, &f->lr) || !(f->lr > 0)) {
                fprintf(stderr, "%s: --lr needs a positive number, got '%s'\n", prog, v);
                goto bad;
            }
        } else {
            int zero_ok = strcmp(a, "--seed") == 0 || strcmp(a, "--dot-depth") == 0 || strcmp(a, "--threads") == 0;
            long min = zero_ok ? 0 : 1, max = strcmp(a, "--threads") == 0 ? 256 : 1000000000L;
            if (!mnist_parse_long(v, min, max, &n)) {
                fprintf(stderr, "%s: %s needs an integer from %ld to %ld, got '%s'\n", prog, a, min, max, v);
                goto bad;
            }
            if (strcmp(a, "--epochs") == 0) f->epochs = (int)n;
            else if (strcmp(a, "--batch-size") == 0) f->batch_size = (int)n;
            else if (strcmp(a, "--max-steps") == 0) f->max_steps = n;
            else if (strcmp(a, "--dot-depth") == 0) f->dot_depth = (int)n;
            else if (strcmp(a, "--threads") == 0) f->threads = (int)n;
            else f->seed = (unsigned long long)n;
        }
    }
    if (f->resume && !f->checkpoint) {
        fprintf(stderr, "%s: --resume needs --checkpoint PATH\n", prog);
        goto bad;
    }
    return -1;
bad:
    usage(stderr, prog);
    return 2;
}

/* The UPDATE_OPS check reports through this callback; the library never prints. */
static void on_warning(const char *message, void *user) {
    (void)user;
    fprintf(stderr, "warning: %s\n", message);
}

/* lr = tf.train.exponential_decay(lr, global_step, steps_per_epoch, decay,
 * staircase=True): a constant rate leaves the test accuracy swinging by a
 * point or two between the last epochs; halving it every two epochs or so
 * settles it. */
static tg_optimizer *make_optimizer(tg_graph *g, const mnist_flags *f, tg_tensor *global_step, int64_t steps,
                                    double *lr) {
    const char *o = f->optimizer;
    *lr = f->lr > 0 ? f->lr : strcmp(o, "sgd") == 0 ? 0.05 : strcmp(o, "momentum") == 0 ? 0.01 : 0.001;
    tg_tensor *lr_t = f->lr_decay < 1 ? tg_train_exponential_decay(g, *lr, global_step, steps, f->lr_decay, true, NULL)
                                      : NULL;
    if (strcmp(o, "sgd") == 0)
        return tg_train_gradient_descent_optimizer_new(g, *lr, &(tg_train_gradient_descent_opts){.learning_rate_t = lr_t});
    if (strcmp(o, "momentum") == 0)
        return tg_train_momentum_optimizer_new(g, *lr, 0.9, &(tg_train_momentum_opts){.learning_rate_t = lr_t});
    if (strcmp(o, "rmsprop") == 0) {
        TG_OPTS(tg_train_rmsprop_opts, rmsprop, .learning_rate_t = lr_t);
        return tg_train_rmsprop_optimizer_new(g, *lr, &rmsprop);
    }
    TG_OPTS(tg_train_adam_opts, adam, .learning_rate_t = lr_t);
    return tg_train_adam_optimizer_new(g, *lr, &adam);
}

/* The training graph's handles. */
typedef struct net {
    tg_graph *g;
    tg_tensor *x, *y, *is_training, *loss, *accuracy, *prediction, *global_step;
    tg_op *train_op, *init, *sync; /* sync: rank 0's variables to every rank (--mpi) */
    tg_optimizer *opt;
    tg_saver *saver;
    double lr;
} net;

static int build(net *n, const mnist_flags *f, mnist_model_fn model, int rows, int cols, int64_t steps) {
    tg_graph *g = n->g = tg_graph_new();
    if (!g) return 0;
    tg_graph_set_random_seed(g, (int64_t)f->seed); /* tf.set_random_seed(seed) */
    n->x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, rows, cols, 1), "images");
    n->y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "labels");
    n->is_training =
        tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "is_training");
    tg_tensor *logits = model(g, n->x, n->is_training);
    n->loss = tg_losses_sparse_softmax_cross_entropy(g, n->y, logits, NULL);
    n->prediction = tg_argmax(g, logits, 1, NULL);
    tg_tensor *hit = tg_cast(g, tg_equal(g, n->prediction, n->y, NULL), TG_FLOAT32, NULL);
    n->accuracy = tg_reduce_mean(g, hit, &(tg_reduce_opts){.name = "accuracy"});

    tg_variable *global_step = tg_train_get_or_create_global_step(g);
    n->global_step = tg_variable_value(global_step);
    n->opt = make_optimizer(g, f, n->global_step, steps, &n->lr);
#ifdef TG_HAVE_MPI
    /* hvd.DistributedOptimizer(opt): each rank's gradients averaged, so
     * every rank applies the same update and the copies stay equal. */
    if (f->mpi) n->opt = tg_mpi_distributed_optimizer(n->opt, NULL, 0);
#endif
    /* update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
     * with tf.control_dependencies(update_ops):
     *     train_op = opt.minimize(loss, global_step=global_step) */
    tg_op **update_ops = NULL;
    int n_update = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &update_ops);
    TG_WITH_CONTROL_DEPENDENCIES(g, update_ops, n_update) {
        n->train_op = tg_optimizer_minimize(n->opt, n->loss, &(tg_minimize_opts){.global_step = global_step});
    }
    tg_free(update_ops);
    n->init = tg_global_variables_initializer(g);
#ifdef TG_HAVE_MPI
    /* Every rank draws its own initial values; rank 0's win. */
    if (f->mpi) n->sync = tg_mpi_broadcast_global_variables(g, 0);
#endif
    /* tf.train.Saver(): every global variable, optimizer slots and global step included. */
    if (f->checkpoint) n->saver = tg_train_saver_new(g, NULL, 0, NULL);
    return tg_graph_status(g) == TG_OK;
}

/* The collapsed view by default: the training graph has some 2,000 ops
 * (gradients, Adam's slots, the saver), too many to read drawn one by one. */
static int write_dot(tg_graph *g, const char *path, int depth) {
    FILE *df = fopen(path, "w");
    int ok = df && tg_graph_write_dot_opts(g, df, &(tg_dot_options){.max_depth = depth}) == TG_OK;
    if (df && fclose(df) != 0) ok = 0;
    return ok;
}

/* The CSV log: a new file with its header, or on --resume the old one
 * extended (so the plot shows the whole history). */
static FILE *open_log(const char *path, bool resume) {
    struct stat st;
    int append = resume && stat(path, &st) == 0 && st.st_size > 0;
    FILE *log = fopen(path, append ? "a" : "w");
    if (log && !append) fprintf(log, "epoch,train_loss,train_acc,test_loss,test_acc\n");
    return log;
}

/* The folder of the checkpoint path, where the saves' state file is. */
static void checkpoint_dir(const char *path, char *dir, size_t size) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, size, ".");
    else if (slash == path) snprintf(dir, size, "/");
    else snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/* --resume: restores the latest checkpoint of the folder (its state file)
 * when there is one and returns the number of epochs it holds (its global
 * step / steps per epoch); 0 without one. */
static int restore(const net *n, tg_session *s, const mnist_flags *f, const char *prog, int64_t steps,
                   int64_t *epochs_done) {
    *epochs_done = 0;
    char dir[4096];
    checkpoint_dir(f->checkpoint, dir, sizeof dir);
    char *latest = tg_train_latest_checkpoint(dir, NULL);
    if (!latest) {
        printf("%s: no checkpoint in %s yet; starting from step 0\n", prog, dir);
        return 1;
    }
    if (tg_saver_restore(n->saver, s, latest) != TG_OK) {
        fprintf(stderr, "%s: restore: %s\n", prog, tg_saver_message(n->saver));
        tg_free(latest);
        return 0;
    }
    tg_array *gs = NULL;
    if (tg_session_run(s, NULL, 0, &n->global_step, 1, &gs, NULL, 0) != TG_OK) {
        fprintf(stderr, "%s: global step: %s\n", prog, tg_session_message(s));
        return 0;
    }
    int64_t step = (int64_t)tg_array_get(gs, 0);
    tg_array_free(gs);
    *epochs_done = step / steps;
    printf("%s: resumed from %s at global step %lld (%lld epoch%s done)\n", prog, latest, (long long)step,
           (long long)*epochs_done, *epochs_done == 1 ? "" : "s");
    tg_free(latest);
    return 1;
}

/* --mpi, after the initializer and rank 0's restore: every rank takes rank
 * 0's variables (hvd.broadcast_global_variables(0)) and, on --resume,
 * counts the epochs done from the global step it now shares. */
static int sync_ranks(const net *n, tg_session *s, const mnist_flags *f, const char *prog, int64_t steps,
                      int64_t *epochs_done) {
    if (tg_session_run(s, NULL, 0, NULL, 0, NULL, &n->sync, 1) != TG_OK) {
        fprintf(stderr, "%s: rank %d: broadcast: %s\n", prog, f->rank, tg_session_message(s));
        return 0;
    }
    if (!f->resume) return 1;
    tg_array *gs = NULL;
    if (tg_session_run(s, NULL, 0, &n->global_step, 1, &gs, NULL, 0) != TG_OK) {
        fprintf(stderr, "%s: rank %d: global step: %s\n", prog, f->rank, tg_session_message(s));
        return 0;
    }
    *epochs_done = (int64_t)tg_array_get(gs, 0) / steps;
    tg_array_free(gs);
    return 1;
}

/* One epoch of training steps; the running means go to *loss and *acc. */
static int train_epoch(const net *n, tg_session *s, tg_batch_iter *it, mnist_progress *p, int tty,
                       const char *prog, double *loss, double *acc, double *images_per_s) {
    tg_array *xb = NULL, *yb = NULL, *yes = tg_array_scalar_bool(true), *out[2] = {NULL, NULL};
    double sum_loss = 0, sum_acc = 0;
    int64_t seen = 0, step = 0;
    int ok = yes != NULL;
    p->t0 = mnist_now();
    p->last_draw = 0;
    while (ok && step < p->steps && tg_batch_iter_next(it, &xb, &yb)) {
        tg_feed feeds[3] = {{n->x, xb}, {n->y, yb}, {n->is_training, yes}};
        /* _, l, a = sess.run([train_op, loss, accuracy], feed_dict={..., is_training: True}) */
        if (tg_session_run(s, feeds, 3, (tg_tensor *[]){n->loss, n->accuracy}, 2, out, &n->train_op, 1) != TG_OK) {
            if (tty) putchar('\n');
            fprintf(stderr, "%s: step %lld: %s\n", prog, (long long)step, tg_session_message(s));
            ok = 0;
            break;
        }
        int64_t b = tg_array_dim(yb, 0);
        sum_loss += tg_array_get(out[0], 0) * (double)b;
        sum_acc += tg_array_get(out[1], 0) * (double)b;
        seen += b;
        step++;
        if (tty) mnist_progress_draw(p, step, sum_loss / (double)seen, sum_acc / (double)seen, seen, mnist_now());
    }
    if (ok && (tg_batch_iter_status(it) != TG_OK || seen == 0)) {
        fprintf(stderr, "%s: the batch iterator failed\n", prog);
        ok = 0;
    }
    if (ok) {
        *loss = sum_loss / (double)seen, *acc = sum_acc / (double)seen;
        *images_per_s = (double)seen / (mnist_now() - p->t0);
    }
    tg_array_free(out[0]);
    tg_array_free(out[1]);
    tg_array_free(xb);
    tg_array_free(yb);
    tg_array_free(yes);
    return ok;
}

static int run(const mnist_flags *f, const char *prog, mnist_model_fn model, tg_idx_dataset *train,
               tg_idx_dataset *test, net *n, FILE **log) {
    const char *const *names = mnist_class_names(f->labels, f->data);
    const int rows = tg_idx_dataset_rows(train), cols = tg_idx_dataset_cols(train);
    const int64_t n_train = tg_idx_dataset_count(train);
    /* Under --mpi every step runs an allreduce on every rank, so all stop
     * where the shortest shard does (the shards differ by one batch). */
    int64_t steps = (n_train + f->batch_size - 1) / f->batch_size / f->size;
    if (f->max_steps > 0 && f->max_steps < steps) steps = f->max_steps;
    if (steps < 1) {
        fprintf(stderr, "%s: %d ranks need at least one batch each\n", prog, f->size);
        return 0;
    }
    if (!build(n, f, model, rows, cols, steps)) {
        fprintf(stderr, "%s: graph error: %s\n", prog, tg_graph_message(n->g));
        return 0;
    }
    if (f->dot && lead(f) && !write_dot(n->g, f->dot, f->dot_depth)) {
        fprintf(stderr, "%s: cannot write %s\n", prog, f->dot);
        return 0;
    }
    char csv[4096];
    snprintf(csv, sizeof csv, "%s%s", f->log ? f->log : f->plot ? f->plot : "", f->log ? "" : ".csv");
    if ((f->log || f->plot) && lead(f) && !(*log = open_log(csv, f->resume))) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, csv, strerror(errno));
        return 0;
    }

    tg_session *s = tg_session_new_opts(n->g, &(tg_session_options){.intra_op_parallelism_threads = f->threads});
    if (!s) {
        fprintf(stderr, "%s: cannot create a session\n", prog);
        return 0;
    }
    tg_session_set_run_options(s, &(tg_run_options){.lint = true});
    tg_session_set_warning_callback(s, on_warning, NULL);
    int64_t epochs_done = 0;
    tg_batch_iter *it = tg_batch_iter_new(train, f->batch_size, true, f->seed, TG_NHWC);
    int ok = it != NULL && (!f->mpi || tg_batch_iter_shard(it, f->rank, f->size) == TG_OK);
    if (ok && tg_session_run(s, NULL, 0, NULL, 0, NULL, &n->init, 1) != TG_OK) {
        fprintf(stderr, "%s: init: %s\n", prog, tg_session_message(s));
        ok = 0;
    }
    if (ok && f->resume && lead(f)) ok = restore(n, s, f, prog, steps, &epochs_done);
    if (ok && f->mpi) ok = sync_ranks(n, s, f, prog, steps, &epochs_done);
    /* The shuffles the saved run already used: the next epoch sees the
     * order it would have seen without the interruption. */
    for (int64_t e = 0; ok && e < epochs_done; e++) tg_batch_iter_reset(it);

    const int tty = lead(f) && isatty(STDOUT_FILENO);
    if (ok && lead(f))
        printf("%s: %lld train / %lld test images of %dx%d from %s; %s lr %g (x%g per epoch), batch %d, %lld "
               "steps per epoch\n",
               prog, (long long)n_train, (long long)tg_idx_dataset_count(test), rows, cols, f->data, f->optimizer,
               n->lr, f->lr_decay, f->batch_size, (long long)steps);
    if (ok && lead(f) && f->mpi)
        printf("%s: %d ranks, global batch %d (%d x %d), train figures are rank 0's shard\n", prog, f->size,
               f->batch_size * f->size, f->batch_size, f->size);
    fflush(stdout);
    mnist_eval ev = {0};
    char err[1024];
    int evaluated = 0;
    for (int epoch = (int)epochs_done + 1; ok && epoch <= f->epochs; epoch++) {
        mnist_progress p = {.epoch = epoch, .epochs = f->epochs, .steps = steps};
        double loss = 0, acc = 0, ips = 0;
        ok = train_epoch(n, s, it, &p, tty, prog, &loss, &acc, &ips);
        tg_batch_iter_reset(it);
        if (!lead(f)) continue; /* the other ranks only train */
        if (ok && !(ok = mnist_evaluate(s, test, n->x, n->y, n->loss, n->prediction, &ev, err, sizeof err)))
            fprintf(stderr, "%s: evaluation: %s\n", prog, err);
        if (!ok) break;
        evaluated = 1;
        if (tty) putchar('\n');
        printf("epoch %d/%d  train loss %.4f  acc %.4f  |  test loss %.4f  acc %.4f  |  %.0f images/s\n", epoch,
               f->epochs, loss, acc, ev.loss, ev.accuracy, ips);
        fflush(stdout);
        if (*log) {
            fprintf(*log, "%d,%.6f,%.6f,%.6f,%.6f\n", epoch, loss, acc, ev.loss, ev.accuracy);
            fflush(*log);
        }
        TG_OPTS(tg_save_opts, so, .global_step_t = n->global_step);
        if (n->saver && tg_saver_save_opts(n->saver, s, f->checkpoint, &so) != TG_OK) {
            fprintf(stderr, "%s: save: %s\n", prog, tg_saver_message(n->saver));
            ok = 0;
        }
    }
    if (ok && !evaluated && lead(f)) { /* a resumed run that had nothing left to train */
        printf("%s: the checkpoint already holds %lld epochs; evaluating it\n", prog, (long long)epochs_done);
        if (!(ok = mnist_evaluate(s, test, n->x, n->y, n->loss, n->prediction, &ev, err, sizeof err)))
            fprintf(stderr, "%s: evaluation: %s\n", prog, err);
        else printf("test loss %.4f  acc %.4f\n", ev.loss, ev.accuracy);
    }
    if (ok && lead(f)) mnist_print_confusion(stdout, &ev, names);
    if (ok && *log) {
        fclose(*log);
        *log = NULL;
        if (f->plot && !mnist_plot(csv, f->plot, prog, err, sizeof err)) printf("%s: no plot: %s\n", prog, err);
        else if (f->plot) printf("plot:       %s\n", f->plot);
        printf("metrics:    %s\n", csv);
    }
    if (ok && n->saver && tg_saver_last_save_path(n->saver))
        printf("checkpoint: %s\n", tg_saver_last_save_path(n->saver));
    if (ok && f->dot && lead(f)) printf("graph:      %s\n", f->dot);
    tg_batch_iter_free(it);
    tg_session_free(s);
    return ok;
}

/* hvd.init(): the rank and number of ranks that sharding and printing go
 * by. Returns 1, or 0 with a message. */
static int start_mpi(mnist_flags *f, const char *prog, int *argc, char ***argv) {
#ifdef TG_HAVE_MPI
    if (tg_mpi_init(argc, argv) != TG_OK) {
        fprintf(stderr, "%s: MPI: %s\n", prog, tg_mpi_message());
        return 0;
    }
    f->rank = tg_mpi_rank();
    f->size = tg_mpi_size();
#else
    (void)f, (void)prog, (void)argc, (void)argv; /* parse_flags refused --mpi */
#endif
    return 1;
}

static void stop_mpi(const mnist_flags *f) {
#ifdef TG_HAVE_MPI
    if (f->mpi) tg_mpi_finalize();
#else
    (void)f;
#endif
}

/* Loads the data, trains, frees; the exit code. */
static int train_and_report(const mnist_flags *f, const char *prog, mnist_model_fn model) {
    char err[512];
    tg_idx_dataset *train = NULL, *test = NULL;
    if (tg_data_load_idx_dir(f->data, "train", &train, err, sizeof err) != TG_OK ||
        tg_data_load_idx_dir(f->data, "t10k", &test, err, sizeof err) != TG_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        tg_idx_dataset_free(train);
        return 1;
    }
    net n = {0};
    FILE *log = NULL;
    int rc = run(f, prog, model, train, test, &n, &log) ? 0 : 1;
    if (log) fclose(log);
    tg_saver_free(n.saver);
    tg_optimizer_free(n.opt);
    tg_graph_free(n.g);
    tg_idx_dataset_free(train);
    tg_idx_dataset_free(test);
    return rc;
}

int mnist_train_main(int argc, char **argv, const char *prog, mnist_model_fn model) {
    mnist_flags f;
    int rc = parse_flags(argc, argv, prog, &f);
    if (rc >= 0) return rc;
    if (f.mpi && !start_mpi(&f, prog, &argc, &argv)) return 1;
    rc = train_and_report(&f, prog, model);
    stop_mpi(&f);
    return rc;
}
