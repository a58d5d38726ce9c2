/* test_alloc_sweep.c: issue 12's allocation-failure sweep. Every allocation
 * made while building a CNN + batch norm + Adam model, while running its
 * first training step, while saving and while restoring is failed in turn
 * (the static library is linked with the allocator wrapped, as for
 * test_steady_state). Each attempt must end in success or in an error with a
 * message, never a crash; the sanitizer build checks that nothing leaks
 * and nothing is read after a failure; and a failed restore must leave
 * every variable as it was. The counts are printed for the CI log. */
#define _GNU_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tg_alloc_count.h"
#include "tg_check.h"
#include "tg_files.h"

typedef struct model {
    tg_graph *g;
    tg_tensor *x, *y, *loss;
    tg_op *train, *init;
} model;

/* Builds the model; NULL members (and a graph in error) when an allocation
 * failed. */
static model build(void)
{
    model m = {.g = tg_graph_new()};
    if (!m.g) return m;
    tg_graph_set_random_seed(m.g, 7);
    m.x = tg_placeholder(m.g, TG_FLOAT32, TG_SHAPE(4, 6, 6, 1), "x");
    m.y = tg_placeholder(m.g, TG_INT32, TG_SHAPE(4), "y");
    TG_OPTS(tg_layers_conv2d_opts, co, .normalizer_fn = tg_layers_batch_norm_fn);
    tg_tensor *h = tg_layers_conv2d(m.g, m.x, 3, TG_KERNEL(3, 3), &co);
    TG_OPTS(tg_layers_fc_opts, fo, .activation_fn = NULL);
    tg_tensor *logits = tg_layers_fully_connected(m.g, tg_layers_flatten(m.g, h, NULL), 5, &fo);
    m.loss = tg_losses_sparse_softmax_cross_entropy(m.g, m.y, logits, NULL);
    tg_op **ups = NULL;
    int nu = tg_get_collection_ops(m.g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &ups);
    if (nu >= 0) {
        TG_WITH_CONTROL_DEPENDENCIES(m.g, ups, nu)
        {
            m.train = tg_optimizer_minimize(tg_train_adam_optimizer_new(m.g, 0.01, NULL), m.loss, NULL);
        }
    }
    tg_free(ups);
    m.init = tg_global_variables_initializer(m.g);
    return m;
}

static tg_array *xa, *ya;

static tg_code train_step(tg_session *s, const model *m)
{
    tg_feed f[2] = {{m->x, xa}, {m->y, ya}};
    tg_array *l = NULL;
    tg_code rc = tg_session_run(s, f, 2, &m->loss, 1, &l, &m->train, 1);
    tg_array_free(l);
    return rc;
}

/* Fails allocation k from now; returns whether it was reached. */
static void inject(long k) { atomic_store(&tga_fail_at, k); }
static bool reached(void)
{
    bool r = atomic_load(&tga_fail_at) == 0;
    atomic_store(&tga_fail_at, 0);
    return r;
}

START_TEST(test_build_sweep)
{
    int points = 0, failed = 0;
    for (long k = 1;; k++) {
        inject(k);
        model m = build();
        bool hit = reached();
        if (m.g && tg_graph_status(m.g) != TG_OK) {
            failed++;
            ck_assert_msg(tg_graph_message(m.g)[0] != '\0', "build allocation %ld: an error without a message", k);
        }
        tg_graph_free(m.g);
        if (!hit) break;
        points++;
    }
    printf("alloc sweep: building: %d allocation points failed in turn, %d builds refused with a message\n", points,
           failed);
    ck_assert_int_gt(points, 200);
}
END_TEST

START_TEST(test_train_step_sweep)
{
    model m = build();
    ck_assert_tg_ok(m.g);
    int points = 0, failed = 0;
    for (long k = 1;; k++) {
        tg_session *s = tg_session_new(m.g);
        ck_assert_ptr_nonnull(s);
        tgc_run_target(s, m.init);
        inject(k);
        tg_code rc = train_step(s, &m);
        bool hit = reached();
        if (rc != TG_OK) {
            failed++;
            ck_assert_msg(*tg_session_message(s), "step allocation %ld: %s without a message", k, tg_code_name(rc));
            ck_assert_int_eq(train_step(s, &m), TG_OK); /* the session goes on */
        }
        tg_session_free(s);
        if (!hit) break;
        points++;
    }
    printf("alloc sweep: first training step: %d allocation points, %d runs refused with a message\n", points, failed);
    ck_assert_int_gt(points, 50);
    tg_graph_free(m.g);
}
END_TEST

/* Every variable's values, packed into out (room for max); the count. */
static int64_t values(tg_session *s, tg_variable **vars, int n, double *out, int64_t max)
{
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        tg_array *a = tgc_fetch(s, tg_variable_value(vars[i]), NULL, 0);
        for (int64_t k = 0; k < tg_array_size(a) && at < max; k++) out[at++] = tg_array_get(a, k);
        tg_array_free(a);
    }
    return at;
}

START_TEST(test_save_restore_sweep)
{
    model m = build();
    tg_saver *saver = tg_train_saver_new(m.g, NULL, 0, NULL);
    ck_assert_tg_ok(m.g);
    tg_session *s = tg_session_new(m.g);
    tgc_run_target(s, m.init);
    ck_assert_int_eq(train_step(s, &m), TG_OK);
    char dir[] = "/tmp/tg_sweep_XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ckpt", dir);
    tg_variable **vars = NULL;
    int nv = tg_get_collection_variables(m.g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vars);
    double before[4096], after[4096];
    int save_points = 0, save_failed = 0, restore_points = 0, restore_failed = 0;
    for (long k = 1;; k++) {
        inject(k);
        tg_code rc = tg_saver_save(saver, s, path);
        bool hit = reached();
        if (rc != TG_OK) {
            save_failed++;
            ck_assert_msg(*tg_saver_message(saver), "save allocation %ld: no message", k);
        }
        if (!hit) break;
        save_points++;
    }
    ck_assert_int_eq(tg_saver_save(saver, s, path), TG_OK);
    /* the variables move on; a failed restore must leave them there */
    ck_assert_int_eq(train_step(s, &m), TG_OK);
    int64_t n_values = values(s, vars, nv, before, 4096);
    ck_assert_int_lt(n_values, 4096);
    for (long k = 1;; k++) {
        inject(k);
        tg_code rc = tg_saver_restore(saver, s, path);
        bool hit = reached();
        if (rc != TG_OK) {
            restore_failed++;
            ck_assert_msg(*tg_saver_message(saver), "restore allocation %ld: no message", k);
            values(s, vars, nv, after, 4096);
            for (int64_t i = 0; i < n_values; i++)
                if (before[i] != after[i]) ck_abort_msg("restore allocation %ld: a failed restore changed a value", k);
        }
        if (!hit) break;
        restore_points++;
        if (rc == TG_OK) ck_abort_msg("restore allocation %ld was failed, yet the restore succeeded", k);
    }
    printf("alloc sweep: save: %d allocation points (%d refused); restore: %d points (%d refused, variables "
           "unchanged)\n", save_points, save_failed, restore_points, restore_failed);
    tg_free(vars);
    tg_session_free(s);
    tg_graph_free(m.g);
    tgf_remove_tree(dir); /* the checkpoint's files and the state file */
}
END_TEST

static Suite *sweep_suite(void)
{
    Suite *s = suite_create("alloc_sweep");
    TCase *tc = tcase_create("alloc_sweep");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_build_sweep);
    tcase_add_test(tc, test_train_step_sweep);
    tcase_add_test(tc, test_save_restore_sweep);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    tg_set_log_callback(NULL, NULL);
    float xv[4 * 36];
    for (int i = 0; i < 4 * 36; i++) xv[i] = (float)((i * 7) % 11) / 5.0f - 1.0f;
    xa = tg_array_new_from(TG_FLOAT32, 4, (int64_t[]){4, 6, 6, 1}, xv);
    ya = tg_array_new_from(TG_INT32, 1, (int64_t[]){4}, (int32_t[]){0, 3, 1, 4});
    SRunner *sr = srunner_create(sweep_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tg_array_free(xa);
    tg_array_free(ya);
    return failed ? 1 : 0;
}
