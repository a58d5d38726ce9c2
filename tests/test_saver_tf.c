/* test_saver_tf.c: the Saver as TF 1.15's tf.train.Saver: TF's V2 format
 * (the default) saved and restored, checkpoints TensorFlow wrote restored
 * by name, tgraph's own format still read, global_step suffixes, the
 * "checkpoint" state file, max_to_keep, keep_checkpoint_every_n_hours,
 * latest_checkpoint / get_checkpoint_state, and
 * ExponentialMovingAverage.variables_to_restore through a dict saver.
 *
 * Every value asserted is one the test set itself, or one of TF's files
 * (tests/data/tf/README.md: half_plus_two_cpu holds a = 0.5, a2 = 0.5,
 * b = 2, c = 3, c2 = 3). */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tg_check.h"
#include "tg_files.h"

/* ---- helpers -------------------------------------------------------------------- */

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool exists2(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s%s", a, b);
    bool yes = exists(p);
    free(p);
    return yes;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *b = calloc(1, 65536);
    ck_assert_ptr_nonnull(b);
    size_t n = fread(b, 1, 65535, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* A model of every dtype: w float32 (2, 3), d float64 (2), k int32 (3),
 * the global step (int64 scalar), m bool (2). */
typedef struct model {
    tg_graph *g;
    tg_variable *w, *d, *k, *step, *m;
    tg_op *init, *set_a, *set_b;
} model;

static tg_op *assign_all(model *md, const float *w, const double *d, const int32_t *k, int64_t step,
                         const bool *m)
{
    tg_graph *g = md->g;
    tg_op *ops[5] = {
        tg_tensor_op(tg_assign(g, tg_variable_ref(md->w), tg_constant_data(g, TG_FLOAT32, TG_SHAPE(2, 3), w, NULL), NULL)),
        tg_tensor_op(tg_assign(g, tg_variable_ref(md->d), tg_constant_data(g, TG_FLOAT64, TG_SHAPE(2), d, NULL), NULL)),
        tg_tensor_op(tg_assign(g, tg_variable_ref(md->k), tg_constant_data(g, TG_INT32, TG_SHAPE(3), k, NULL), NULL)),
        tg_tensor_op(tg_assign(g, tg_variable_ref(md->step), tg_constant_scalar(g, TG_INT64, (double)step, NULL), NULL)),
        tg_tensor_op(tg_assign(g, tg_variable_ref(md->m), tg_constant_data(g, TG_BOOL, TG_SHAPE(2), m, NULL), NULL)),
    };
    return tg_group(g, ops, 5, NULL);
}

static const float W_A[6] = {1.5f, -2, 3.25f, 0, 7, -0.5f}, W_B[6] = {9, 8, 7, 6, 5, 4};
static const double D_A[2] = {0.1, -1e300}, D_B[2] = {2, 3};
static const int32_t K_A[3] = {-7, 0, 2147483647}, K_B[3] = {1, 2, 3};
static const bool M_A[2] = {true, false}, M_B[2] = {false, true};

static model model_new(void)
{
    model md = {.g = tg_graph_new()};
    tg_graph *g = md.g;
    md.w = tg_get_variable(g, "layer/w", TG_FLOAT32, TG_SHAPE(2, 3), NULL);
    md.d = tg_get_variable(g, "d", TG_FLOAT64, TG_SHAPE(2), NULL);
    TG_OPTS(tg_get_variable_opts, io, .initializer = tg_zeros_initializer());
    md.k = tg_get_variable(g, "k", TG_INT32, TG_SHAPE(3), &io);
    md.step = tg_train_get_or_create_global_step(g);
    md.m = tg_get_variable(g, "m", TG_BOOL, TG_SHAPE(2), &io);
    md.init = tg_global_variables_initializer(g);
    md.set_a = assign_all(&md, W_A, D_A, K_A, 42, M_A);
    md.set_b = assign_all(&md, W_B, D_B, K_B, 7, M_B);
    ck_assert_tg_ok(g);
    return md;
}

/* The variables hold the values of set A (a) or B. */
static void expect_values(tg_session *s, const model *md, bool a)
{
    const float *w = a ? W_A : W_B;
    const double *d = a ? D_A : D_B;
    const int32_t *k = a ? K_A : K_B;
    const bool *m = a ? M_A : M_B;
    tg_array *x = tgc_fetch(s, tg_variable_value(md->w), NULL, 0);
    ck_assert_mem_eq(tg_array_cdata(x), w, sizeof W_A);
    tg_array_free(x);
    x = tgc_fetch(s, tg_variable_value(md->d), NULL, 0);
    ck_assert_mem_eq(tg_array_cdata(x), d, sizeof D_A);
    tg_array_free(x);
    x = tgc_fetch(s, tg_variable_value(md->k), NULL, 0);
    ck_assert_mem_eq(tg_array_cdata(x), k, sizeof K_A);
    tg_array_free(x);
    x = tgc_fetch(s, tg_variable_value(md->m), NULL, 0);
    ck_assert_mem_eq(tg_array_cdata(x), m, sizeof M_A);
    tg_array_free(x);
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(md->step)), a ? 42 : 7);
}

static tg_session *session_with(const model *md, tg_op *set)
{
    tg_session *s = tg_session_new(md->g);
    tgc_run_target(s, md->init);
    if (set) tgc_run_target(s, set);
    return s;
}

/* ---- V2 by default -------------------------------------------------------------- */

START_TEST(test_v2_round_trip)
{
    char *dir = tgf_make_tmpdir("tg_saver_tf");
    char *path = tgf_path_join(dir, "model.ckpt");
    model md = model_new();
    tg_saver *sv = tg_train_saver_new(md.g, NULL, 0, NULL);
    ck_assert_ptr_nonnull(sv);
    tg_session *s = session_with(&md, md.set_a);
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);
    /* TF's file names for the prefix, nothing at the prefix itself */
    ck_assert(exists2(path, ".index"));
    ck_assert(exists2(path, ".data-00000-of-00001"));
    ck_assert(!exists(path));
    ck_assert_str_eq(tg_saver_last_save_path(sv), path);

    /* TF's reader API sees the keys, dtypes and shapes */
    tg_checkpoint_var *vars = NULL;
    int n = 0;
    char err[512];
    ck_assert_int_eq(tg_train_list_variables(path, &vars, &n, err, sizeof err), TG_OK);
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(vars[0].name, "d");
    ck_assert_str_eq(vars[1].name, "global_step");
    ck_assert_str_eq(vars[1].dtype_name, "int64");
    ck_assert_str_eq(vars[3].name, "layer/w");
    ck_assert_int_eq(vars[3].rank, 2);
    ck_assert_int_eq(vars[3].dims[1], 3);
    tg_free(vars);

    /* restored into a fresh session of the same graph and of a rebuilt one */
    tgc_run_target(s, md.set_b);
    ck_assert_int_eq(tg_saver_restore(sv, s, path), TG_OK);
    expect_values(s, &md, true);
    model m2 = model_new();
    tg_saver *sv2 = tg_train_saver_new(m2.g, NULL, 0, NULL);
    tg_session *s2 = tg_session_new(m2.g);
    ck_assert_msg(tg_saver_restore(sv2, s2, path) == TG_OK, "%s", tg_saver_message(sv2));
    expect_values(s2, &m2, true);

    tg_session_free(s2);
    tg_graph_free(m2.g);
    tg_session_free(s);
    tg_graph_free(md.g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

/* tgraph's own format is still written on request and read by default
 * savers; a save of one format removes the other's files at that path. */
START_TEST(test_tgraph_format_still_read)
{
    char *dir = tgf_make_tmpdir("tg_saver_tf");
    char *path = tgf_path_join(dir, "model.ckpt");
    model md = model_new();
    TG_OPTS(tg_saver_opts, o, .format = TG_CHECKPOINT_FORMAT_TGRAPH, .name = "old");
    tg_saver *old = tg_train_saver_new_opts(md.g, NULL, 0, &o);
    tg_saver *sv = tg_train_saver_new(md.g, NULL, 0, NULL);
    tg_session *s = session_with(&md, md.set_a);
    ck_assert_int_eq(tg_saver_save(old, s, path), TG_OK);
    ck_assert(exists(path));
    ck_assert(!exists2(path, ".index"));
    tgc_run_target(s, md.set_b);
    ck_assert_msg(tg_saver_restore(sv, s, path) == TG_OK, "%s", tg_saver_message(sv));
    expect_values(s, &md, true);

    /* V2 over it: the tgraph file goes, and back */
    tgc_run_target(s, md.set_b);
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);
    ck_assert(!exists(path));
    ck_assert(exists2(path, ".index"));
    tgc_run_target(s, md.set_a);
    ck_assert_int_eq(tg_saver_restore(old, s, path), TG_OK);
    expect_values(s, &md, false);
    ck_assert_int_eq(tg_saver_save(old, s, path), TG_OK);
    ck_assert(exists(path));
    ck_assert(!exists2(path, ".index"));
    ck_assert(!exists2(path, ".data-00000-of-00001"));

    tg_session_free(s);
    tg_graph_free(md.g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

/* ---- checkpoints TensorFlow wrote ------------------------------------------------------- */

static tg_variable *scalar(tg_graph *g, const char *name, tg_dtype dt, tg_shape shape)
{
    return tg_get_variable(g, name, dt, shape, NULL);
}

START_TEST(test_restore_tf_written)
{
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s/half_plus_two_cpu/variables", tgf_tf_testdata());
    tg_graph *g = tg_graph_new();
    const char *names[] = {"a", "a2", "b", "c", "c2"};
    const double want[] = {0.5, 0.5, 2.0, 3.0, 3.0}; /* the README's values */
    tg_variable *v[5];
    for (int i = 0; i < 5; i++) v[i] = scalar(g, names[i], TG_FLOAT32, TG_SCALAR);
    tg_saver *sv = tg_train_saver_new(g, NULL, 0, NULL);
    tg_saver *ab = tg_train_saver_new(g, (tg_variable *[]){v[0], v[2]}, 2, NULL); /* the others ignored, as TF */
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    ck_assert_msg(tg_saver_restore(sv, s, prefix) == TG_OK, "%s", tg_saver_message(sv));
    for (int i = 0; i < 5; i++) ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(v[i])), want[i]);
    tg_session_free(s);
    s = tg_session_new(g);
    ck_assert_msg(tg_saver_restore(ab, s, prefix) == TG_OK, "%s", tg_saver_message(ab));
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(v[0])), 0.5);
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(v[2])), 2.0);
    tg_session_free(s);
    tg_graph_free(g);

    /* half_plus_three (an uncompressed index): a = 0.5, b = 3 */
    snprintf(prefix, sizeof prefix, "%s/half_plus_three/variables", tgf_tf_testdata());
    g = tg_graph_new();
    tg_variable *a = scalar(g, "a", TG_FLOAT32, TG_SCALAR), *b = scalar(g, "b", TG_FLOAT32, TG_SCALAR);
    sv = tg_train_saver_new(g, NULL, 0, NULL);
    s = tg_session_new(g);
    ck_assert_msg(tg_saver_restore(sv, s, prefix) == TG_OK, "%s", tg_saver_message(sv));
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(a)), 0.5);
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(b)), 3.0);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

/* A restore that fails (missing key, dtype, shape) names the variable and
 * changes nothing, though "a" would have restored. */
static void restore_fails(const char *missing_or_bad, tg_dtype dt, tg_shape shape, tg_code code, const char *want_fmt)
{
    char prefix[4200], want[8600];
    snprintf(prefix, sizeof prefix, "%s/half_plus_two_cpu/variables", tgf_tf_testdata());
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, io, .initializer = tg_constant_initializer(-1));
    tg_variable *a = tg_get_variable(g, "a", TG_FLOAT32, TG_SCALAR, &io);
    tg_variable *x = tg_get_variable(g, missing_or_bad, dt, shape, &io);
    tg_saver *sv = tg_train_saver_new(g, NULL, 0, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, tg_global_variables_initializer(g));
    ck_assert_int_eq(tg_saver_restore(sv, s, prefix), code);
    snprintf(want, sizeof want, want_fmt, prefix);
    ck_assert_str_eq(tg_saver_message(sv), want);
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(a)), -1);
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(x)), -1);
    tg_session_free(s);
    tg_graph_free(g);
}

START_TEST(test_restore_errors)
{
    restore_fails("conv1/weights", TG_FLOAT32, TG_SHAPE(1), TG_NOT_FOUND,
                  "Restoring from checkpoint %s failed: Key conv1/weights not found in checkpoint");
    restore_fails("b", TG_FLOAT64, TG_SCALAR, TG_INVALID_ARGUMENT,
                  "checkpoint %s: variable 'b' has dtype float32 in the file but float64 in the graph");
    restore_fails("b", TG_FLOAT32, TG_SHAPE(2, 1), TG_INVALID_ARGUMENT,
                  "checkpoint %s: variable 'b' has shape () in the file but (2, 1) in the graph");
}
END_TEST

/* The V2 bytes are checked before anything is assigned: a flipped data
 * byte is DATA_LOSS and the variables keep their values. */
START_TEST(test_corrupt_data_changes_nothing)
{
    char *dir = tgf_make_tmpdir("tg_saver_tf");
    char *path = tgf_path_join(dir, "model.ckpt");
    model md = model_new();
    tg_saver *sv = tg_train_saver_new(md.g, NULL, 0, NULL);
    tg_session *s = session_with(&md, md.set_a);
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);
    char data[4200];
    snprintf(data, sizeof data, "%s.data-00000-of-00001", path);
    int fd = open(data, O_RDWR);
    ck_assert_int_ge(fd, 0);
    unsigned char byte;
    ck_assert_int_eq(pread(fd, &byte, 1, 20), 1);
    byte ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &byte, 1, 20), 1);
    close(fd);
    tgc_run_target(s, md.set_b);
    ck_assert_int_eq(tg_saver_restore(sv, s, path), TG_DATA_LOSS);
    ck_assert_ptr_nonnull(strstr(tg_saver_message(sv), path));
    expect_values(s, &md, false);
    tg_session_free(s);
    tg_graph_free(md.g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

/* ---- global_step, the state file, max_to_keep ---------------------------------------------- */

static tg_code save_step(tg_saver *sv, tg_session *s, const char *path, int64_t step)
{
    TG_OPTS(tg_save_opts, o, .global_step = step);
    return tg_saver_save_opts(sv, s, path, &o);
}

START_TEST(test_max_to_keep)
{
    char *dir = tgf_make_tmpdir("tg_saver_tf");
    char *path = tgf_path_join(dir, "model.ckpt"), *state = tgf_path_join(dir, "checkpoint");
    model md = model_new();
    TG_OPTS(tg_saver_opts, o, .max_to_keep = 2);
    tg_saver *sv = tg_train_saver_new_opts(md.g, NULL, 0, &o);
    tg_session *s = session_with(&md, md.set_a);
    char p[4200], want[9000];
    ck_assert_ptr_null(tg_train_latest_checkpoint(dir, NULL));
    for (int step = 1; step <= 4; step++) ck_assert_int_eq(save_step(sv, s, path, step), TG_OK);
    for (int step = 1; step <= 4; step++) {
        snprintf(p, sizeof p, "%s-%d", path, step);
        ck_assert_int_eq(exists2(p, ".index"), step >= 3);
        ck_assert_int_eq(exists2(p, ".data-00000-of-00001"), step >= 3);
    }
    /* an absolute save path: absolute paths in the state file, as TF */
    snprintf(want, sizeof want,
             "model_checkpoint_path: \"%s-4\"\nall_model_checkpoint_paths: \"%s-3\"\n"
             "all_model_checkpoint_paths: \"%s-4\"\n", path, path, path);
    char *text = read_text(state);
    ck_assert_str_eq(text, want);
    free(text);
    int n = 0;
    const char *const *last = tg_saver_last_checkpoints(sv, &n);
    ck_assert_int_eq(n, 2);
    snprintf(p, sizeof p, "%s-3", path);
    ck_assert_str_eq(last[0], p);
    snprintf(p, sizeof p, "%s-4", path);
    ck_assert_str_eq(last[1], p);
    char *latest = tg_train_latest_checkpoint(dir, NULL);
    ck_assert_str_eq(latest, p);
    tg_free(latest);

    /* saving step 3 again moves it to the end: nothing is deleted */
    ck_assert_int_eq(save_step(sv, s, path, 3), TG_OK);
    last = tg_saver_last_checkpoints(sv, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(last[0], p);
    ck_assert(exists2(p, ".index"));

    /* the latest restores */
    tgc_run_target(s, md.set_b);
    latest = tg_train_latest_checkpoint(dir, NULL);
    ck_assert_int_eq(tg_saver_restore(sv, s, latest), TG_OK);
    expect_values(s, &md, true);
    tg_free(latest);
    tg_session_free(s);
    tg_graph_free(md.g);
    tgf_remove_tree(dir);
    free(state);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_keep_all_relative_padded)
{
    char *dir = tgf_make_tmpdir("tg_saver_tf");
    char *path = tgf_path_join(dir, "model.ckpt"), *state = tgf_path_join(dir, "checkpoint");
    model md = model_new();
    TG_OPTS(tg_saver_opts, o, .max_to_keep = 0, .save_relative_paths = true, .pad_step_number = true);
    tg_saver *sv = tg_train_saver_new_opts(md.g, NULL, 0, &o);
    tg_session *s = session_with(&md, md.set_a);
    /* the step from the global step variable (42) */
    TG_OPTS(tg_save_opts, so, .global_step_t = tg_variable_value(md.step));
    ck_assert_int_eq(tg_saver_save_opts(sv, s, path, &so), TG_OK);
    for (int step = 1; step <= 7; step++) ck_assert_int_eq(save_step(sv, s, path, step), TG_OK);
    char p[4200];
    snprintf(p, sizeof p, "%s-00000042", path);
    ck_assert(exists2(p, ".index"));
    for (int step = 1; step <= 7; step++) { /* max_to_keep 0: all kept */
        snprintf(p, sizeof p, "%s-%08d", path, step);
        ck_assert(exists2(p, ".index"));
    }
    /* max_to_keep 0 records nothing; the state file lists the latest alone, relative */
    int n = -1;
    ck_assert_ptr_null(tg_saver_last_checkpoints(sv, &n));
    ck_assert_int_eq(n, 0);
    char *text = read_text(state);
    ck_assert_str_eq(text, "model_checkpoint_path: \"model.ckpt-00000007\"\n"
                           "all_model_checkpoint_paths: \"model.ckpt-00000007\"\n");
    free(text);
    /* read back joined to the directory */
    tg_checkpoint_state *st = NULL;
    char err[512];
    ck_assert_int_eq(tg_train_get_checkpoint_state(dir, NULL, &st, err, sizeof err), TG_OK);
    ck_assert_str_eq(st->model_checkpoint_path, p);
    ck_assert_int_eq(st->n_all_model_checkpoint_paths, 1);
    tg_checkpoint_state_free(st);

    /* write_state false: the checkpoint alone */
    TG_OPTS(tg_save_opts, nw, .global_step = 99, .write_state = false);
    ck_assert_int_eq(tg_saver_save_opts(sv, s, path, &nw), TG_OK);
    text = read_text(state);
    ck_assert_ptr_nonnull(strstr(text, "model.ckpt-00000007\"\n"));
    ck_assert_ptr_null(strstr(text, "99"));
    free(text);
    tg_session_free(s);
    tg_graph_free(md.g);
    tgf_remove_tree(dir);
    free(state);
    free(path);
    free(dir);
}
END_TEST

/* A relative save path: the state file holds paths relative to its
 * directory (TF's generate_checkpoint_state_proto). */
START_TEST(test_relative_save_dir)
{
    char *dir = tgf_make_tmpdir("tg_saver_tf");
    int here = open(".", O_RDONLY);
    ck_assert_int_ge(here, 0);
    ck_assert_int_eq(chdir(dir), 0);
    ck_assert_int_eq(mkdir("train", 0700), 0);
    model md = model_new();
    tg_saver *sv = tg_train_saver_new(md.g, NULL, 0, NULL);
    tg_session *s = session_with(&md, md.set_a);
    ck_assert_int_eq(save_step(sv, s, "train/model.ckpt", 5), TG_OK);
    char *text = read_text("train/checkpoint");
    ck_assert_str_eq(text, "model_checkpoint_path: \"model.ckpt-5\"\nall_model_checkpoint_paths: \"model.ckpt-5\"\n");
    free(text);
    char *latest = tg_train_latest_checkpoint("train", NULL);
    ck_assert_str_eq(latest, "train/model.ckpt-5");
    tg_free(latest);
    tg_session_free(s);
    tg_graph_free(md.g);
    ck_assert_int_eq(fchdir(here), 0);
    close(here);
    tgf_remove_tree(dir);
    free(dir);
}
END_TEST

/* keep_checkpoint_every_n_hours = 1 s (in hours): of the checkpoints
 * max_to_keep = 1 evicts, the first saved more than 1 s after the saver
 * was made survives; the earlier ones go. */
START_TEST(test_keep_every_n_hours)
{
    char *dir = tgf_make_tmpdir("tg_saver_tf");
    char *path = tgf_path_join(dir, "m");
    model md = model_new();
    TG_OPTS(tg_saver_opts, o, .max_to_keep = 1, .keep_checkpoint_every_n_hours = 2.0 / 3600);
    tg_saver *sv = tg_train_saver_new_opts(md.g, NULL, 0, &o);
    tg_session *s = session_with(&md, md.set_a);
    ck_assert_int_eq(save_step(sv, s, path, 1), TG_OK);
    ck_assert_int_eq(save_step(sv, s, path, 2), TG_OK);
    struct timespec nap = {2, 300000000};
    nanosleep(&nap, NULL);
    ck_assert_int_eq(save_step(sv, s, path, 3), TG_OK); /* evicts 2, saved within the first 2 s: deleted */
    ck_assert_int_eq(save_step(sv, s, path, 4), TG_OK); /* evicts 3, saved after them: kept */
    char p[4200];
    for (int step = 1; step <= 4; step++) {
        snprintf(p, sizeof p, "%s-%d", path, step);
        ck_assert_msg(exists2(p, ".index") == (step >= 3), "step %d", step);
    }
    int n = 0;
    tg_saver_last_checkpoints(sv, &n);
    ck_assert_int_eq(n, 1);
    tg_session_free(s);
    tg_graph_free(md.g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_state_file_reading)
{
    char *dir = tgf_make_tmpdir("tg_saver_tf");
    char *state = tgf_path_join(dir, "checkpoint"), *mine = tgf_path_join(dir, "mine");
    char err[512], want[4200];
    tg_checkpoint_state *st = NULL;
    /* no state file: None */
    ck_assert_int_eq(tg_train_get_checkpoint_state(dir, NULL, &st, err, sizeof err), TG_OK);
    ck_assert_ptr_null(st);
    /* comments, both quotes, escapes, a list, an absolute path, timestamps */
    write_text(mine, "# written by hand\nmodel_checkpoint_path: 'a\\'b\\x41\\101'\n"
                     "all_model_checkpoint_paths: [\"/abs/x\", \"y\" \"z\"]\n"
                     "all_model_checkpoint_timestamps: 1.5\nlast_preserved_timestamp: 2e3\n");
    ck_assert_int_eq(tg_train_get_checkpoint_state(dir, "mine", &st, err, sizeof err), TG_OK);
    snprintf(want, sizeof want, "%s/a'bAA", dir);
    ck_assert_str_eq(st->model_checkpoint_path, want);
    ck_assert_int_eq(st->n_all_model_checkpoint_paths, 2);
    ck_assert_str_eq(st->all_model_checkpoint_paths[0], "/abs/x");
    snprintf(want, sizeof want, "%s/yz", dir);
    ck_assert_str_eq(st->all_model_checkpoint_paths[1], want);
    ck_assert_int_eq(st->n_all_model_checkpoint_timestamps, 1);
    ck_assert_double_eq(st->all_model_checkpoint_timestamps[0], 1.5);
    ck_assert_double_eq(st->last_preserved_timestamp, 2000);
    tg_checkpoint_state_free(st);
    /* it names no file that exists: latest_checkpoint is None */
    ck_assert_ptr_null(tg_train_latest_checkpoint(dir, "mine"));

    /* an unknown field, an empty path, path components */
    write_text(state, "model_checkpoint_path: \"x\"\nbogus: 1\n");
    ck_assert_int_eq(tg_train_get_checkpoint_state(dir, NULL, &st, err, sizeof err), TG_DATA_LOSS);
    snprintf(want, sizeof want, "cannot parse checkpoint state %s: line 2: Message type "
             "\"tensorflow.CheckpointState\" has no field named \"bogus\"", state);
    ck_assert_str_eq(err, want);
    ck_assert_ptr_null(tg_train_latest_checkpoint(dir, NULL));
    write_text(state, "all_model_checkpoint_paths: \"x\"\n");
    ck_assert_int_eq(tg_train_get_checkpoint_state(dir, NULL, &st, err, sizeof err), TG_INVALID_ARGUMENT);
    snprintf(want, sizeof want, "Invalid checkpoint state loaded from %s", dir);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(tg_train_get_checkpoint_state(dir, "a/b", &st, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_ptr_null(tg_train_latest_checkpoint(NULL, NULL));
    tgf_remove_tree(dir);
    free(mine);
    free(state);
    free(dir);
}
END_TEST

START_TEST(test_save_option_errors)
{
    char *dir = tgf_make_tmpdir("tg_saver_tf");
    char *path = tgf_path_join(dir, "model.ckpt");
    model md = model_new();
    tg_saver *sv = tg_train_saver_new(md.g, NULL, 0, NULL);
    tg_session *s = session_with(&md, md.set_a);
    ck_assert_int_eq(tg_saver_save_opts(sv, s, path, &(tg_save_opts){.global_step = 1}), TG_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(tg_saver_message(sv), "TG_SAVE_OPTS_INIT"));
    TG_OPTS(tg_save_opts, bad_name, .latest_filename = "sub/state");
    ck_assert_int_eq(tg_saver_save_opts(sv, s, path, &bad_name), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_saver_message(sv), "'latest_filename' must not contain path components: sub/state");
    TG_OPTS(tg_save_opts, bad_step, .global_step_t = tg_variable_value(md.d));
    ck_assert_int_eq(tg_saver_save_opts(sv, s, path, &bad_step), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_saver_message(sv), "tg_saver_save_opts: global_step_t 'd/read:0' must be an int32 or int64 "
                                           "scalar, not float64 of rank 1");
    char *conflict = tgf_path_join(dir, "checkpoint");
    ck_assert_int_eq(tg_saver_save(sv, s, conflict), TG_INVALID_ARGUMENT);
    ck_assert(!exists2(conflict, ".index")); /* refused before writing anything */
    ck_assert_int_eq(tg_saver_save_opts(sv, s, path, NULL), TG_OK);
    /* a Saver's options, checked */
    TG_OPTS(tg_saver_opts, neg, .max_to_keep = -1);
    ck_assert_ptr_null(tg_train_saver_new_opts(md.g, NULL, 0, &neg));
    ck_assert_int_eq(tg_graph_status(md.g), TG_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(tg_graph_message(md.g), "max_to_keep"));
    tg_session_free(s);
    tg_graph_free(md.g);
    tgf_remove_tree(dir);
    free(conflict);
    free(path);
    free(dir);
}
END_TEST

/* ---- ExponentialMovingAverage.variables_to_restore --------------------------------------------- */

/* Training: w starts at 2, is set to 10, one EMA update with decay 0.5:
 * its shadow is 2 - (2 - 10) * 0.5 = 6. v (not averaged) is 5. */
static void save_ema_model(const char *path)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, two, .initializer = tg_constant_initializer(2));
    TG_OPTS(tg_get_variable_opts, five, .initializer = tg_constant_initializer(5), .trainable = false);
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &two);
    tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, &five);
    tg_ema *ema = tg_train_ema_new(g, 0.5, NULL);
    tg_op *update = tg_ema_apply(ema, &w, 1);
    tg_op *set = tg_tensor_op(tg_assign(g, tg_variable_ref(w), tg_constant_scalar(g, TG_FLOAT32, 10, NULL), NULL));
    tg_op *init = tg_global_variables_initializer(g);
    tg_saver *sv = tg_train_saver_new(g, NULL, 0, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    tgc_run_target(s, set);
    tgc_run_target(s, update);
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(tg_ema_average(ema, w))), 6);
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);
    tg_session_free(s);
    tg_graph_free(g);
}

START_TEST(test_ema_variables_to_restore)
{
    char *dir = tgf_make_tmpdir("tg_saver_tf");
    char *path = tgf_path_join(dir, "ema.ckpt");
    save_ema_model(path);

    /* evaluation graph: no shadows; w gets its average, v itself */
    tg_graph *g = tg_graph_new();
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, NULL);
    TG_OPTS(tg_get_variable_opts, nt, .trainable = false);
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, &nt);
    tg_ema *ema = tg_train_ema_new(g, 0.5, NULL);
    char **keys = NULL;
    tg_variable **vars = NULL;
    int n = tg_ema_variables_to_restore(ema, NULL, 0, &keys, &vars);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(keys[0], "w/ExponentialMovingAverage");
    ck_assert_ptr_eq(vars[0], w);
    ck_assert_str_eq(keys[1], "v");
    ck_assert_ptr_eq(vars[1], v);
    ck_assert_ptr_null(keys[2]);
    tg_saver *sv = tg_train_saver_new_dict(g, (const char *const *)keys, vars, n, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    ck_assert_msg(tg_saver_restore(sv, s, path) == TG_OK, "%s", tg_saver_message(sv));
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(w)), 6);
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(v)), 5);
    tg_free(keys);
    tg_free(vars);

    /* moving_avg_variables = [] : every variable restores itself (w = 10) */
    n = tg_ema_variables_to_restore(ema, (tg_variable *[]){NULL}, 0, &keys, &vars);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(keys[0], "w");
    tg_saver *plain = tg_train_saver_new_dict(g, (const char *const *)keys, vars, n, &(tg_saver_opts)TG_SAVER_OPTS_INIT);
    ck_assert_int_eq(tg_saver_restore(plain, s, path), TG_OK);
    ck_assert_double_eq(tgc_fetch_scalar(s, tg_variable_value(w)), 10);
    tg_free(keys);
    tg_free(vars);
    tg_session_free(s);
    tg_graph_free(g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

/* In the training graph the shadow maps to its variable and is left out
 * itself; a subset maps only its variables; average_name of a tensor. */
START_TEST(test_ema_names_in_training_graph)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, NULL);
    tg_variable *u = tg_get_variable(g, "u", TG_FLOAT32, TG_SCALAR, NULL);
    tg_tensor *sum = tg_add(g, tg_variable_value(w), tg_variable_value(u), "total");
    tg_ema *ema = tg_train_ema_new(g, 0.9, NULL);
    ck_assert_str_eq(tg_ema_average_name_tensor(ema, sum), "total/ExponentialMovingAverage");
    tg_ema_apply(ema, (tg_variable *[]){w, u}, 2);
    tg_ema_apply_tensors(ema, &sum, 1);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_ema_average_name_tensor(ema, sum), tg_variable_name(tg_ema_average_tensor(ema, sum)));
    char **keys = NULL;
    tg_variable **vars = NULL;
    int n = tg_ema_variables_to_restore(ema, &w, 1, &keys, &vars);
    /* w -> its shadow's name; u and the three shadows under their own
     * names, except w's shadow, whose name is already a key */
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(keys[0], "w/ExponentialMovingAverage");
    ck_assert_ptr_eq(vars[0], w);
    ck_assert_str_eq(keys[1], "u");
    ck_assert_str_eq(keys[2], "u/ExponentialMovingAverage");
    ck_assert_str_eq(keys[3], "total/ExponentialMovingAverage");
    tg_free(keys);
    tg_free(vars);
    ck_assert_int_eq(tg_ema_variables_to_restore(ema, NULL, 0, &keys, &vars), 3);
    ck_assert_str_eq(keys[0], "w/ExponentialMovingAverage");
    ck_assert_str_eq(keys[1], "u/ExponentialMovingAverage");
    ck_assert_str_eq(keys[2], "total/ExponentialMovingAverage");
    tg_free(keys);
    tg_free(vars);
    ck_assert_int_eq(tg_ema_variables_to_restore(ema, NULL, -1, &keys, &vars), -1);
    ck_assert_int_eq(tg_graph_status(g), TG_INVALID_ARGUMENT);
    tg_graph_free(g);
}
END_TEST

static Suite *saver_tf_suite(void)
{
    Suite *s = suite_create("saver_tf");
    TCase *tc = tcase_create("saver_tf");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_v2_round_trip);
    tcase_add_test(tc, test_tgraph_format_still_read);
    tcase_add_test(tc, test_restore_tf_written);
    tcase_add_test(tc, test_restore_errors);
    tcase_add_test(tc, test_corrupt_data_changes_nothing);
    tcase_add_test(tc, test_max_to_keep);
    tcase_add_test(tc, test_keep_all_relative_padded);
    tcase_add_test(tc, test_relative_save_dir);
    tcase_add_test(tc, test_keep_every_n_hours);
    tcase_add_test(tc, test_state_file_reading);
    tcase_add_test(tc, test_save_option_errors);
    tcase_add_test(tc, test_ema_variables_to_restore);
    tcase_add_test(tc, test_ema_names_in_training_graph);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(saver_tf_suite)
