/* test_mnist_e2e.c: the mnist_cnn model (examples/mnist_models.c) trained
 * for a few dozen steps on real Fashion-MNIST images, wired as the example
 * wires it (UPDATE_OPS as control dependencies of the train op). Checks:
 * the loss falls, each batch-norm layer's moving statistics moved away from
 * their initial 0 and 1 by the amount the decay allows, an evaluation run
 * leaves them unchanged, and the global step counted every step.
 *
 * Exits 77 (meson's "skipped") with a message when Debian's
 * dataset-fashion-mnist is not installed: never a silent pass. */
#define _POSIX_C_SOURCE 200809L

#include <sys/stat.h>

#include "mnist_models.h"
#include "tg_check.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

enum { STEPS = 40, BATCH = 32, WINDOW = 10 };

/* In the last traced run: how many ops of `type` ran (not skipped), and how
 * many of them have `part` in their name. */
static int ran_of_type(const tg_session *s, const char *type, const char *part, int *with_part) {
    tg_op *const *ops = NULL;
    int n = tg_session_trace(s, &ops), ran = 0;
    *with_part = 0;
    for (int i = 0; i < n; i++) {
        if (tg_session_trace_skipped(s, i) || strcmp(tg_op_type(ops[i]), type) != 0) continue;
        ran++;
        *with_part += strstr(tg_op_name(ops[i]), part) != NULL;
    }
    return ran;
}

static double max_abs_diff(tg_array *a, double from) {
    double m = 0;
    for (int64_t i = 0; i < tg_array_size(a); i++) m = fmax(m, fabs(tg_array_get(a, i) - from));
    return m;
}

START_TEST(test_cnn_trains_and_moving_statistics_move)
{
    char err[512];
    tg_idx_dataset *train = NULL;
    ck_assert_msg(tg_data_load_idx_dir(FASHION_DIR, "train", &train, err, sizeof err) == TG_OK, "%s", err);

    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 7);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 28, 28, 1), "images");
    tg_tensor *y = tg_placeholder(g, TG_INT64, TG_SHAPE(-1), "labels");
    tg_tensor *is_training =
        tg_placeholder_with_default(g, tg_constant_scalar(g, TG_BOOL, 0, NULL), TG_SCALAR, "is_training");
    tg_tensor *logits = mnist_cnn_model(g, x, is_training);
    tg_tensor *loss = tg_losses_sparse_softmax_cross_entropy(g, y, logits, NULL);
    tg_variable *gstep = tg_train_get_or_create_global_step(g);
    tg_optimizer *opt = tg_train_adam_optimizer_new(g, 1e-3, NULL);
    tg_op **updates = NULL;
    int n_updates = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &updates);
    /* contrib batch_norm adds two update ops per layer: conv1, conv2, fc1. */
    ck_assert_int_eq(n_updates, 6);
    tg_op *train_op = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, updates, n_updates) {
        train_op = tg_optimizer_minimize(opt, loss, &(tg_minimize_opts){.global_step = gstep});
    }
    tg_free(updates);
    tg_op *init = tg_global_variables_initializer(g);
    /* contrib's batch_norm puts the moving statistics in GLOBAL_VARIABLES
     * and MODEL_VARIABLES only (not MOVING_AVERAGE_VARIABLES), as TF. */
    tg_variable **globals = NULL, *movers[6];
    int n_globals = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &globals), n_movers = 0;
    for (int i = 0; i < n_globals; i++)
        if (strstr(tg_variable_name(globals[i]), "/moving_")) {
            ck_assert_int_lt(n_movers, 6);
            movers[n_movers++] = globals[i];
        }
    tg_free(globals);
    ck_assert_int_eq(n_movers, 6);
    ck_assert_tg_ok(g);

    tg_session *s = tg_session_new(g);
    ck_assert_ptr_nonnull(s);
    tgc_run_target(s, init);
    tg_session_set_run_options(s, &(tg_run_options){.trace = true});
    tg_batch_iter *it = tg_batch_iter_new(train, BATCH, true, 3, TG_NHWC);
    tg_array *xb = NULL, *yb = NULL, *yes = tg_array_scalar_bool(true), *l = NULL;
    double first = 0, last = 0;
    for (int step = 0; step < STEPS; step++) {
        ck_assert(tg_batch_iter_next(it, &xb, &yb));
        tg_feed feeds[3] = {{x, xb}, {y, yb}, {is_training, yes}};
        ck_assert_msg(tg_session_run(s, feeds, 3, &loss, 1, &l, &train_op, 1) == TG_OK, "%s",
                      tg_session_message(s));
        double v = tg_array_get(l, 0);
        ck_assert(isfinite(v));
        if (step < WINDOW) first += v / WINDOW;
        if (step >= STEPS - WINDOW) last += v / WINDOW;
    }
    /* Ten classes: an untrained net starts near ln(10) = 2.30 and batch
     * norm lets Adam bring it down within the first steps already, so the
     * bar is relative: the last ten steps' mean loss at most 80% of the
     * first ten's (measured: about 60%). */
    ck_assert_msg(last < 0.8 * first, "loss did not fall: first %d steps %.4f, last %d steps %.4f", WINDOW, first,
                  WINDOW, last);
    /* The last training step ran the training branch of each of the three
     * batch norms (contrib's smart_cond on the is_training tensor, as TF)
     * and their six update ops; the inference kernels were skipped. */
    int named;
    ck_assert_int_eq(ran_of_type(s, "FusedBatchNormV3", "", &named), 3);
    ck_assert_int_eq(ran_of_type(s, "AssignSub", "AssignMovingAvg", &named), 6);
    ck_assert_int_eq(named, 6);

    /* Moving statistics: initially 0 (mean) and 1 (variance). With decay
     * 0.9 and 40 updates each has moved by (1 - 0.9^40) = 98.5% of the way
     * to the batch statistics, which are far from 0 and 1 after conv and
     * fully-connected layers with glorot weights on [0,1] pixels. */
    tg_array *before[6] = {0}, *after[6] = {0};
    for (int i = 0; i < n_movers; i++) {
        const char *name = tg_variable_name(movers[i]);
        int is_mean = strstr(name, "moving_mean") != NULL;
        ck_assert_msg(is_mean || strstr(name, "moving_variance"), "unexpected %s", name);
        tg_tensor *v = tg_variable_value(movers[i]);
        ck_assert(tg_session_run(s, NULL, 0, &v, 1, &before[i], NULL, 0) == TG_OK);
        double moved = max_abs_diff(before[i], is_mean ? 0.0 : 1.0);
        ck_assert_msg(moved > 1e-2, "%s moved only %g", name, moved);
    }
    /* An evaluation run (is_training keeps its default False) changes nothing. */
    tg_feed eval_feeds[2] = {{x, xb}, {y, yb}};
    ck_assert(tg_session_run(s, eval_feeds, 2, &loss, 1, &l, NULL, 0) == TG_OK);
    /* ... and ran one FusedBatchNormV3 per layer (the inference branch),
     * not both branches, and no update op. */
    ck_assert_int_eq(ran_of_type(s, "FusedBatchNormV3", "", &named), 3);
    ck_assert_int_eq(ran_of_type(s, "AssignSub", "AssignMovingAvg", &named), 0);
    tg_session_set_run_options(s, NULL);
    for (int i = 0; i < n_movers; i++) {
        tg_tensor *v = tg_variable_value(movers[i]);
        ck_assert(tg_session_run(s, NULL, 0, &v, 1, &after[i], NULL, 0) == TG_OK);
        for (int64_t k = 0; k < tg_array_size(after[i]); k++)
            ck_assert_double_eq(tg_array_get(after[i], k), tg_array_get(before[i], k));
    }
    tg_tensor *gs = tg_variable_value(gstep);
    tg_array *gsv = NULL;
    ck_assert(tg_session_run(s, NULL, 0, &gs, 1, &gsv, NULL, 0) == TG_OK);
    ck_assert_int_eq((int64_t)tg_array_get(gsv, 0), STEPS);

    for (int i = 0; i < 6; i++) tg_array_free(before[i]), tg_array_free(after[i]);
    tg_array_free(gsv);
    tg_array_free(l);
    tg_array_free(xb);
    tg_array_free(yb);
    tg_array_free(yes);
    tg_batch_iter_free(it);
    tg_session_free(s);
    tg_optimizer_free(opt);
    tg_graph_free(g);
    tg_idx_dataset_free(train);
}
END_TEST

int main(void) {
    struct stat st;
    if (stat(FASHION_DIR, &st) != 0) {
        printf("test_mnist_e2e: SKIPPED: %s not found (install Debian's dataset-fashion-mnist)\n", FASHION_DIR);
        return 77;
    }
    Suite *suite = suite_create("mnist_e2e");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_cnn_trains_and_moving_statistics_move);
    suite_add_tcase(suite, tc);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
