/* test_resume.c: training resumes from a checkpoint exactly.
 *
 * Three Adam steps with a decaying learning rate driven by the global step,
 * save every global variable (weights, Adam's slots and beta powers, the
 * global step) as TF does, saver.save(sess, "dir/model.ckpt",
 * global_step=global_step), rebuild the graph in a fresh session, restore
 * tf.train.latest_checkpoint(dir) and take three more steps: the weights
 * must equal six uninterrupted steps bit for bit, and the global step must
 * read 6. The same through tgraph's own format. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tg_check.h"
#include "tg_files.h"

typedef struct {
    tg_graph *g;
    tg_variable *w, *step;
    tg_op *train, *init;
    tg_optimizer *opt;
    tg_saver *saver;
} net;

static net build(tg_checkpoint_format format)
{
    net n = {.g = tg_graph_new()};
    tg_graph *g = n.g;
    tg_graph_set_random_seed(g, 3);
    n.w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(3), NULL);
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 3), (float[]){1, 2, -1, 0.5f, -1, 2}, NULL);
    tg_tensor *pred = tg_reduce_sum(g, tg_multiply(g, x, tg_variable_value(n.w), NULL),
                                    &(tg_reduce_opts){.axes = (int[]){1}, .n_axes = 1});
    tg_tensor *loss = tg_losses_mean_squared_error(g, tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2), (float[]){1, -1}, NULL),
                                                   pred, NULL);
    n.step = tg_train_get_or_create_global_step(g);
    tg_tensor *lr = tg_train_exponential_decay(g, 0.1, tg_variable_value(n.step), 2, 0.5, false, NULL);
    TG_OPTS(tg_train_adam_opts, ao, .learning_rate_t = lr);
    n.opt = tg_train_adam_optimizer_new(g, 0, &ao);
    n.train = tg_optimizer_minimize(n.opt, loss, &(tg_minimize_opts){.global_step = n.step});
    n.init = tg_global_variables_initializer(g);
    TG_OPTS(tg_saver_opts, so, .format = format);
    n.saver = tg_train_saver_new_opts(g, NULL, 0, &so);
    ck_assert_tg_ok(g);
    return n;
}

static void destroy(net *n)
{
    tg_saver_free(n->saver);
    tg_optimizer_free(n->opt);
    tg_graph_free(n->g);
}

static void steps(tg_session *s, const net *n, int k)
{
    for (int i = 0; i < k; i++) tgc_run_target(s, n->train);
}

static void resume_matches_uninterrupted(tg_checkpoint_format format)
{
    char *dir = tgf_make_tmpdir("tg_resume");
    char *prefix = tgf_path_join(dir, "model.ckpt");

    net a = build(format);
    tg_session *sa = tg_session_new(a.g);
    tgc_run_target(sa, a.init);
    steps(sa, &a, 6);
    tg_array *want = tgc_fetch(sa, tg_variable_value(a.w), NULL, 0);

    net b = build(format);
    tg_session *sb = tg_session_new(b.g);
    tgc_run_target(sb, b.init);
    ck_assert_ptr_null(tg_train_latest_checkpoint(dir, NULL)); /* nothing saved yet */
    TG_OPTS(tg_save_opts, so, .global_step_t = tg_variable_value(b.step));
    steps(sb, &b, 1);
    ck_assert_int_eq(tg_saver_save_opts(b.saver, sb, prefix, &so), TG_OK);
    steps(sb, &b, 2);
    ck_assert_int_eq(tg_saver_save_opts(b.saver, sb, prefix, &so), TG_OK);

    /* the latest of the two, by the state file */
    char *latest = tg_train_latest_checkpoint(dir, NULL);
    char *want_path = tgf_path_join(dir, "model.ckpt-3");
    ck_assert_str_eq(latest, want_path);
    net c = build(format);
    tg_session *sc = tg_session_new(c.g);
    ck_assert_msg(tg_saver_restore(c.saver, sc, latest) == TG_OK, "%s", tg_saver_message(c.saver));
    ck_assert_double_eq(tgc_fetch_scalar(sc, tg_variable_value(c.step)), 3);
    steps(sc, &c, 3);
    ck_assert_double_eq(tgc_fetch_scalar(sc, tg_variable_value(c.step)), 6);
    tg_array *got = tgc_fetch(sc, tg_variable_value(c.w), NULL, 0);
    ck_assert_mem_eq(tg_array_data(got), tg_array_data(want), tg_array_nbytes(want));
    /* and the weights did move: the resumed run is not trivially equal */
    tg_array *w3 = tgc_fetch(sb, tg_variable_value(b.w), NULL, 0);
    ck_assert(memcmp(tg_array_data(w3), tg_array_data(want), tg_array_nbytes(want)) != 0);

    tg_array_free(w3);
    tg_array_free(got);
    tg_array_free(want);
    tg_session_free(sa);
    tg_session_free(sb);
    tg_session_free(sc);
    destroy(&a);
    destroy(&b);
    destroy(&c);
    tg_free(latest);
    free(want_path);
    tgf_remove_tree(dir);
    free(prefix);
    free(dir);
}

START_TEST(test_resume_matches_uninterrupted)
{
    resume_matches_uninterrupted(TG_CHECKPOINT_FORMAT_V2);
}
END_TEST

START_TEST(test_resume_tgraph_format)
{
    resume_matches_uninterrupted(TG_CHECKPOINT_FORMAT_TGRAPH);
}
END_TEST

static Suite *resume_suite(void)
{
    Suite *s = suite_create("resume");
    TCase *tc = tcase_create("resume");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_resume_matches_uninterrupted);
    tcase_add_test(tc, test_resume_tgraph_format);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(resume_suite)
