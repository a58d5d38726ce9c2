/* test_saver.c: tf.train.Saver. Round trips of variables of every dtype into
 * a fresh session and a rebuilt graph, subsets, the file layout checked
 * against docs/checkpoint-format.md by an independent parser (own CRC32),
 * every bad-file and bad-path case with its code and message, and that a
 * failed restore leaves every variable as it was. Files live in a mkdtemp
 * directory under /tmp that each test removes.
 *
 * Hostile files (issue 12): a FIFO, /dev/zero, length and count fields that
 * claim more than the file holds, 40,000 entries the saver does not hold,
 * and a sweep of every truncation and bit flip of a small checkpoint. Built
 * again with TG_ALLOC_WATCH (test_saver_alloc), the hostile cases run with
 * the allocator wrapped and also prove that no request grew past what the
 * file's bytes justify. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tg_check.h"
#include "tg_files.h"

/* This file tests tgraph's own format (docs/checkpoint-format.md), so its
 * savers write it; TF's format is test_saver_tf.c's. */
static tg_saver *tgraph_saver(tg_graph *g, tg_variable *const *vars, int n, const char *name)
{
    TG_OPTS(tg_saver_opts, o, .name = name, .format = TG_CHECKPOINT_FORMAT_TGRAPH);
    return tg_train_saver_new_opts(g, vars, n, &o);
}

/* ---- allocation watch -------------------------------------------------------- */

#include "tg_alloc_watch.h"

/* The largest allocation of the last restore expect_restore_fails made (0
 * unless watching). */
static size_t restore_peak;
#define EXPECT_RESTORE_PEAK_AT_MOST(limit)                                                                        \
    ck_assert_msg(restore_peak <= (limit), "line %d: the restore allocated %zu bytes at once, over %zu", __LINE__, \
                  restore_peak, (size_t)(limit))

/* ---- files ---------------------------------------------------------------------- */

/* Entries of dir; asserts none is a leftover temporary file. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        ck_assert_msg(strstr(e->d_name, ".tmp.") == NULL, "leftover temporary file %s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- an independent reader of the documented format ------------------------------ */

/* Bitwise CRC-32 (IEEE 802.3, reflected 0xEDB88320), what zlib's crc32 computes. */
static uint32_t crc32_ref(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static uint32_t u32_at(const unsigned char *b) { return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24; }
static uint64_t u64_at(const unsigned char *b) { return (uint64_t)u32_at(b) | (uint64_t)u32_at(b + 4) << 32; }
static void put_u32_at(unsigned char *b, uint32_t v) { for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> 8 * i); }

typedef struct entry {
    char name[64];
    size_t name_off, dtype_off, data_off;
    uint32_t dtype, rank;
    int64_t dims[8];
    uint64_t nbytes;
} entry;

typedef struct parsed {
    uint32_t version, count;
    entry e[8];
    size_t crc_off;
} parsed;

/* Parses a well-formed file, asserting every field is in range. */
static parsed parse(const unsigned char *b, size_t size)
{
    parsed p = {0};
    ck_assert_uint_ge(size, 20);
    ck_assert_int_eq(memcmp(b, "TGCKPT\0\0", 8), 0);
    p.version = u32_at(b + 8);
    p.count = u32_at(b + 12);
    ck_assert_uint_le(p.count, 8);
    size_t off = 16;
    for (uint32_t i = 0; i < p.count; i++) {
        entry *e = &p.e[i];
        uint32_t len = u32_at(b + off);
        ck_assert_uint_lt(len, sizeof e->name);
        e->name_off = off + 4;
        memcpy(e->name, b + off + 4, len);
        e->name[len] = '\0';
        off += 4 + len;
        e->dtype_off = off;
        e->dtype = u32_at(b + off);
        e->rank = u32_at(b + off + 4);
        ck_assert_uint_le(e->rank, 8);
        off += 8;
        for (uint32_t d = 0; d < e->rank; d++, off += 8) e->dims[d] = (int64_t)u64_at(b + off);
        e->nbytes = u64_at(b + off);
        off += 8;
        e->data_off = off;
        off += e->nbytes;
        ck_assert_uint_le(off, size);
    }
    p.crc_off = off;
    ck_assert_uint_eq(off + 4, size);
    return p;
}

/* ---- a model with one variable of each dtype ----------------------------------------- */

enum { NV = 5, V_W = 0, V_B, V_STEP, V_COUNTS, V_MASK };
static const char *const NAMES[NV] = {"layer/w", "layer/b", "step", "counts", "mask"};

/* Two sets of values: A is saved, B is what variables hold when a restore
 * should (or, failing, should not) replace it. */
static const float A_W[6] = {1.5f, -2, 3.25f, 4, 5, -6e-7f};
static const double A_B[3] = {0.1, -0.2, 1e300};
static const int64_t A_STEP[1] = {1234567890123LL};
static const int32_t A_COUNTS[8] = {1, -2, 3, -4, 5, 2147483647, -2147483647 - 1, 0};
static const bool A_MASK[4] = {true, false, true, true};
static const float B_W[6] = {9, 9, 9, 9, 9, 9};
static const double B_B[3] = {7, 7, 7};
static const int64_t B_STEP[1] = {-5};
static const int32_t B_COUNTS[8] = {8, 8, 8, 8, 8, 8, 8, 8};
static const bool B_MASK[4] = {false, true, false, false};
static const void *const A[NV] = {A_W, A_B, A_STEP, A_COUNTS, A_MASK};
static const void *const B[NV] = {B_W, B_B, B_STEP, B_COUNTS, B_MASK};

typedef enum { PLAIN = 0, W_TRANSPOSED, B_FLOAT32, EXTRA_VARIABLE } variant;

typedef struct model {
    tg_graph *g;
    tg_variable *v[NV + 1];
    tg_tensor *ph[NV];
    tg_op *set[NV];
    tg_op *init;
    int n;
} model;

static tg_dtype dtype_of(int i, variant k)
{
    static const tg_dtype d[NV] = {TG_FLOAT32, TG_FLOAT64, TG_INT64, TG_INT32, TG_BOOL};
    return i == V_B && k == B_FLOAT32 ? TG_FLOAT32 : d[i];
}

static tg_shape shape_of(int i, variant k)
{
    switch (i) {
    case V_W: return k == W_TRANSPOSED ? TG_SHAPE(3, 2) : TG_SHAPE(2, 3);
    case V_B: return TG_SHAPE(3);
    case V_STEP: return TG_SCALAR;
    case V_COUNTS: return TG_SHAPE(2, 2, 2);
    default: return TG_SHAPE(4);
    }
}

static model build(variant k)
{
    model m = {.g = tg_graph_new(), .n = NV};
    ck_assert_ptr_nonnull(m.g);
    TG_OPTS(tg_get_variable_opts, zeros, .initializer = tg_zeros_initializer());
    TG_WITH_VARIABLE_SCOPE(m.g, "layer", NULL) {
        m.v[V_W] = tg_get_variable(m.g, "w", dtype_of(V_W, k), shape_of(V_W, k), &zeros);
        m.v[V_B] = tg_get_variable(m.g, "b", dtype_of(V_B, k), shape_of(V_B, k), &zeros);
    }
    for (int i = V_STEP; i < NV; i++) m.v[i] = tg_get_variable(m.g, NAMES[i], dtype_of(i, k), shape_of(i, k), &zeros);
    if (k == EXTRA_VARIABLE) m.v[m.n++] = tg_get_variable(m.g, "extra", TG_FLOAT32, TG_SHAPE(2), &zeros);
    for (int i = 0; i < NV; i++) {
        m.ph[i] = tg_placeholder(m.g, dtype_of(i, k), shape_of(i, k), "value");
        m.set[i] = tg_tensor_op(tg_assign(m.g, tg_variable_ref(m.v[i]), m.ph[i], "set"));
    }
    m.init = tg_global_variables_initializer(m.g);
    ck_assert_tg_ok(m.g);
    for (int i = 0; i < NV; i++) ck_assert_str_eq(tg_variable_name(m.v[i]), NAMES[i]);
    return m;
}

static tg_session *session(const model *m, bool init)
{
    tg_session *s = tg_session_new(m->g);
    ck_assert_ptr_nonnull(s);
    if (init) tgc_run_target(s, m->init);
    return s;
}

/* Sets every variable of the PLAIN model to vals (A or B) in one run. */
static void set_all(const model *m, tg_session *s, const void *const *vals)
{
    tg_array *arr[NV];
    tg_feed feeds[NV];
    for (int i = 0; i < NV; i++) {
        tg_shape sh = shape_of(i, PLAIN);
        arr[i] = tg_array_new_from(dtype_of(i, PLAIN), sh.rank, sh.dims, vals[i]);
        ck_assert_ptr_nonnull(arr[i]);
        feeds[i] = (tg_feed){m->ph[i], arr[i]};
    }
    tg_code rc = tg_session_run(s, feeds, NV, NULL, 0, NULL, (tg_op *const *)m->set, NV);
    ck_assert_msg(rc == TG_OK, "set: %s", tg_session_message(s));
    for (int i = 0; i < NV; i++) tg_array_free(arr[i]);
}

static size_t nbytes_of(int i)
{
    tg_shape sh = shape_of(i, PLAIN);
    return (size_t)tg_shape_num_elements(&sh) * tg_dtype_size(dtype_of(i, PLAIN));
}

/* Asserts variable i holds vals[i] (byte for byte), for i in mask. */
static void expect_values(const model *m, tg_session *s, const void *const *vals, unsigned mask, int line)
{
    for (int i = 0; i < NV; i++) {
        if (!(mask & 1u << i)) continue;
        tg_array *a = tgc_fetch(s, tg_variable_value(m->v[i]), NULL, 0);
        ck_assert_uint_eq(tg_array_nbytes(a), nbytes_of(i));
        ck_assert_msg(memcmp(tg_array_cdata(a), vals[i], nbytes_of(i)) == 0, "line %d: %s has other values", line,
                      NAMES[i]);
        tg_array_free(a);
    }
}
#define ALL 0x1Fu
#define EXPECT(m, s, vals, mask) expect_values((m), (s), (vals), (mask), __LINE__)

/* Values of every variable of m, to show later that nothing changed. */
typedef struct snapshot {
    tg_array *a[NV + 1];
    int n;
} snapshot;

static snapshot take(const model *m, tg_session *s)
{
    snapshot sn = {.n = m->n};
    for (int i = 0; i < m->n; i++) sn.a[i] = tgc_fetch(s, tg_variable_value(m->v[i]), NULL, 0);
    return sn;
}

static void expect_unchanged(const model *m, tg_session *s, snapshot *sn, int line)
{
    for (int i = 0; i < sn->n; i++) {
        tg_array *now = tgc_fetch(s, tg_variable_value(m->v[i]), NULL, 0);
        ck_assert_msg(tg_array_nbytes(now) == tg_array_nbytes(sn->a[i]) &&
                          memcmp(tg_array_cdata(now), tg_array_cdata(sn->a[i]), tg_array_nbytes(now)) == 0,
                      "line %d: failed restore changed %s", line, tg_variable_name(m->v[i]));
        tg_array_free(now);
        tg_array_free(sn->a[i]);
    }
}
#define EXPECT_UNCHANGED(m, s, sn) expect_unchanged((m), (s), &(sn), __LINE__)

/* Restores path with sv into s, expecting code and exactly `message` (or,
 * with contains, a message that contains it), and no variable changed. */
static void expect_restore_fails(const model *m, tg_saver *sv, tg_session *s, const char *path, tg_code code,
                                 const char *message, bool contains, int line)
{
    snapshot sn = take(m, s);
    tgw_reset();
    tg_code rc = tg_saver_restore(sv, s, path);
    restore_peak = tgw_peak();
    ck_assert_msg(rc == code, "line %d: restore returned %s, want %s: %s", line, tg_code_name(rc), tg_code_name(code),
                  tg_saver_message(sv));
    if (contains) ck_assert_str_contains(tg_saver_message(sv), message);
    else ck_assert_str_eq(tg_saver_message(sv), message);
    expect_unchanged(m, s, &sn, line);
}
#define RESTORE_FAILS(m, sv, s, path, code, msg) expect_restore_fails((m), (sv), (s), (path), (code), (msg), true, __LINE__)
#define RESTORE_FAILS_EXACTLY(m, sv, s, path, code, msg) \
    expect_restore_fails((m), (sv), (s), (path), (code), (msg), false, __LINE__)

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(test_round_trip_same_graph)
{
    char *dir = tgf_make_tmpdir("tg_saver");
    char *path = tgf_path_join(dir, "model.ckpt");
    model m = build(PLAIN);
    int ops_before = tg_graph_num_ops(m.g);
    tg_saver *sv = tgraph_saver(m.g, NULL, 0, NULL);
    ck_assert_ptr_nonnull(sv);
    ck_assert_tg_ok(m.g);
    ck_assert_str_eq(tg_saver_message(sv), "");
    /* the restore graph, with TF's names: NV placeholders, NV assigns, restore_all */
    ck_assert_int_eq(tg_graph_num_ops(m.g), ops_before + 2 * NV + 1);
    tg_op *all = tg_graph_op(m.g, "save/restore_all");
    ck_assert_ptr_nonnull(all);
    ck_assert_str_eq(tg_op_type(all), "NoOp");
    ck_assert_int_eq(tg_op_num_control_inputs(all), NV);
    ck_assert_str_eq(tg_op_type(tg_graph_op(m.g, "save/Assign")), "Assign");
    ck_assert_str_eq(tg_op_type(tg_graph_op(m.g, "save/Assign_4")), "Assign");
    ck_assert_str_eq(tg_op_type(tg_graph_op(m.g, "save/restore_value")), "Placeholder");

    tg_session *s1 = session(&m, true);
    set_all(&m, s1, A);
    ck_assert_int_eq(tg_saver_save(sv, s1, path), TG_OK);
    ck_assert_str_eq(tg_saver_message(sv), "");
    ck_assert(exists(path));
    ck_assert_int_eq(count_entries(dir), 2); /* the file and the state file "checkpoint"; no temporary file left */

    /* the same session, changed and restored */
    set_all(&m, s1, B);
    EXPECT(&m, s1, B, ALL);
    ck_assert_int_eq(tg_saver_restore(sv, s1, path), TG_OK);
    ck_assert_str_eq(tg_saver_message(sv), "");
    EXPECT(&m, s1, A, ALL);

    /* a fresh session on the same graph: restore instead of init, as TF */
    tg_session *s2 = session(&m, false);
    ck_assert_int_eq(tg_saver_restore(sv, s2, path), TG_OK);
    EXPECT(&m, s2, A, ALL);

    /* saving again replaces the file atomically */
    set_all(&m, s2, B);
    ck_assert_int_eq(tg_saver_save(sv, s2, path), TG_OK);
    ck_assert_int_eq(count_entries(dir), 2); /* the file and the state file */
    ck_assert_int_eq(tg_saver_restore(sv, s1, path), TG_OK);
    EXPECT(&m, s1, B, ALL);

    /* a second saver gets its own scope */
    tg_saver *sv2 = tgraph_saver(m.g, NULL, 0, NULL);
    ck_assert_ptr_nonnull(tg_graph_op(m.g, "save_1/restore_all"));
    ck_assert_int_eq(tg_saver_restore(sv2, s1, path), TG_OK);
    tg_saver *sv3 = tgraph_saver(m.g, NULL, 0, "ckpt");
    ck_assert_ptr_nonnull(tg_graph_op(m.g, "ckpt/restore_all"));

    tg_saver_free(sv3);
    tg_saver_free(sv2);
    tg_saver_free(sv);
    tg_session_free(s2);
    tg_session_free(s1);
    tg_graph_free(m.g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_round_trip_fresh_graph)
{
    char *dir = tgf_make_tmpdir("tg_saver");
    char *path = tgf_path_join(dir, "model.ckpt");
    model m1 = build(PLAIN);
    tg_saver *sv1 = tgraph_saver(m1.g, NULL, 0, NULL);
    tg_session *s1 = session(&m1, true);
    set_all(&m1, s1, A);
    ck_assert_int_eq(tg_saver_save(sv1, s1, path), TG_OK);
    tg_saver_free(sv1);
    tg_session_free(s1);
    tg_graph_free(m1.g);

    model m2 = build(PLAIN);
    tg_saver *sv2 = tgraph_saver(m2.g, NULL, 0, NULL);
    tg_session *s2 = session(&m2, true);
    EXPECT(&m2, s2, ((const void *const[]){(float[6]){0}, (double[3]){0}, (int64_t[1]){0}, (int32_t[8]){0},
                                           (bool[4]){0}}),
           ALL);
    ck_assert_int_eq(tg_saver_restore(sv2, s2, path), TG_OK);
    EXPECT(&m2, s2, A, ALL);
    /* the model computes with the restored values */
    tg_tensor *sum = tg_reduce_sum(m2.g, tg_variable_value(m2.v[V_W]), NULL);
    ck_assert_tg_ok(m2.g);
    ck_assert_close(tgc_fetch_scalar(s2, sum), 1.5 - 2 + 3.25 + 4 + 5 - 6e-7, 1e-5);

    /* variables are matched by name, not by order: a graph that creates
     * them in another order */
    tg_graph *g3 = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, zeros, .initializer = tg_zeros_initializer());
    tg_variable *mask = tg_get_variable(g3, "mask", TG_BOOL, TG_SHAPE(4), &zeros);
    tg_variable *step = tg_get_variable(g3, "step", TG_INT64, TG_SCALAR, &zeros);
    tg_variable *w = NULL;
    TG_WITH_VARIABLE_SCOPE(g3, "layer", NULL) { w = tg_get_variable(g3, "w", TG_FLOAT32, TG_SHAPE(2, 3), &zeros); }
    tg_saver *sv3 = tgraph_saver(g3, NULL, 0, NULL);
    ck_assert_tg_ok(g3);
    tg_session *s3 = tg_session_new(g3);
    ck_assert_int_eq(tg_saver_restore(sv3, s3, path), TG_OK);
    tg_array *a = tgc_fetch(s3, tg_variable_value(w), NULL, 0);
    ck_assert_int_eq(memcmp(tg_array_cdata(a), A_W, sizeof A_W), 0);
    tg_array_free(a);
    a = tgc_fetch(s3, tg_variable_value(mask), NULL, 0);
    ck_assert_int_eq(memcmp(tg_array_cdata(a), A_MASK, sizeof A_MASK), 0);
    tg_array_free(a);
    ck_assert_close(tgc_fetch_scalar(s3, tg_variable_value(step)), 1234567890123.0, 0);

    tg_saver_free(sv3);
    tg_session_free(s3);
    tg_graph_free(g3);
    tg_saver_free(sv2);
    tg_session_free(s2);
    tg_graph_free(m2.g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_subset)
{
    char *dir = tgf_make_tmpdir("tg_saver");
    char *path = tgf_path_join(dir, "subset.ckpt");
    char *full = tgf_path_join(dir, "full.ckpt");
    model m = build(PLAIN);
    tg_saver *sub = tgraph_saver(m.g, (tg_variable *[]){m.v[V_STEP], m.v[V_W]}, 2, NULL);
    tg_saver *all = tgraph_saver(m.g, NULL, 0, NULL);
    ck_assert_ptr_nonnull(sub);
    ck_assert_ptr_nonnull(all);
    tg_session *s = session(&m, true);
    set_all(&m, s, A);
    ck_assert_int_eq(tg_saver_save(sub, s, path), TG_OK);
    ck_assert_int_eq(tg_saver_save(all, s, full), TG_OK);

    size_t size;
    unsigned char *b = tgf_read_all(path, &size);
    parsed p = parse(b, size);
    ck_assert_uint_eq(p.count, 2);
    ck_assert_str_eq(p.e[0].name, "step");
    ck_assert_str_eq(p.e[1].name, "layer/w");
    free(b);

    /* a subset restore changes only the subset */
    set_all(&m, s, B);
    ck_assert_int_eq(tg_saver_restore(sub, s, path), TG_OK);
    EXPECT(&m, s, A, 1u << V_STEP | 1u << V_W);
    EXPECT(&m, s, B, 1u << V_B | 1u << V_COUNTS | 1u << V_MASK);
    /* variables in the file the saver does not hold are ignored (as TF) */
    set_all(&m, s, B);
    ck_assert_int_eq(tg_saver_restore(sub, s, full), TG_OK);
    EXPECT(&m, s, A, 1u << V_STEP | 1u << V_W);
    EXPECT(&m, s, B, 1u << V_B | 1u << V_COUNTS | 1u << V_MASK);
    /* the full saver on the subset file: the first missing one, by name */
    char want[512];
    snprintf(want, sizeof want, "checkpoint %s has no variable 'layer/b'", path);
    RESTORE_FAILS_EXACTLY(&m, all, s, path, TG_NOT_FOUND, want);
    ck_assert_int_eq(count_entries(dir), 3); /* the two files and the state file */

    tg_saver_free(sub);
    tg_saver_free(all);
    tg_session_free(s);
    tg_graph_free(m.g);
    tgf_remove_tree(dir);
    free(full);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_file_format)
{
    char *dir = tgf_make_tmpdir("tg_saver");
    char *path = tgf_path_join(dir, "model.ckpt");
    model m = build(PLAIN);
    tg_saver *sv = tgraph_saver(m.g, NULL, 0, NULL);
    tg_session *s = session(&m, true);
    set_all(&m, s, A);
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);

    size_t size;
    unsigned char *b = tgf_read_all(path, &size);
    ck_assert_int_eq(memcmp(b, "TGCKPT\0\0", 8), 0);
    ck_assert_uint_eq(u32_at(b + 8), 1);  /* version */
    ck_assert_uint_eq(u32_at(b + 12), NV); /* count */
    /* the first entry by hand: "layer/w", float32, rank 2, (2, 3), 24 bytes */
    ck_assert_uint_eq(u32_at(b + 16), 7);
    ck_assert_int_eq(memcmp(b + 20, "layer/w", 7), 0);
    ck_assert_uint_eq(u32_at(b + 27), 0);
    ck_assert_uint_eq(u32_at(b + 31), 2);
    ck_assert_uint_eq(u64_at(b + 35), 2);
    ck_assert_uint_eq(u64_at(b + 43), 3);
    ck_assert_uint_eq(u64_at(b + 51), 24);
    /* 1.5f is 0x3FC00000, little-endian */
    ck_assert_int_eq(memcmp(b + 59, (unsigned char[]){0x00, 0x00, 0xC0, 0x3F}, 4), 0);

    parsed p = parse(b, size);
    ck_assert_uint_eq(p.count, NV);
    size_t expect_size = 16 + 4;
    for (int i = 0; i < NV; i++) {
        const entry *e = &p.e[i];
        tg_shape sh = shape_of(i, PLAIN);
        ck_assert_str_eq(e->name, NAMES[i]);
        ck_assert_uint_eq(e->dtype, (uint32_t)dtype_of(i, PLAIN));
        ck_assert_uint_eq(e->rank, (uint32_t)sh.rank);
        for (int d = 0; d < sh.rank; d++) ck_assert_int_eq(e->dims[d], sh.dims[d]);
        ck_assert_uint_eq(e->nbytes, nbytes_of(i));
        /* data little-endian, row-major: equal to memory on a little-endian host */
        const uint16_t one = 1;
        if (*(const unsigned char *)&one == 1) ck_assert_int_eq(memcmp(b + e->data_off, A[i], nbytes_of(i)), 0);
        expect_size += 4 + strlen(NAMES[i]) + 4 + 4 + 8 * (size_t)sh.rank + 8 + nbytes_of(i);
    }
    ck_assert_uint_eq(size, expect_size);
    ck_assert_uint_eq(u32_at(b + p.crc_off), crc32_ref(b, p.crc_off));
    /* the scalar int64 step: rank 0, 8 bytes */
    ck_assert_uint_eq(p.e[V_STEP].rank, 0);
    ck_assert_uint_eq(u64_at(b + p.e[V_STEP].data_off), 1234567890123ULL);
    /* file mode follows the umask like any new file, not mkstemp's 0600 */
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    mode_t um = umask(022);
    umask(um);
    ck_assert_uint_eq(st.st_mode & 0777, 0666 & ~um);
    free(b);

    tg_saver_free(sv);
    tg_session_free(s);
    tg_graph_free(m.g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

/* Writes a copy of good[0..n) with byte `at` xor-ed by x (x 0: unchanged) to path. */
static void write_variant(const char *path, const unsigned char *good, size_t n, size_t at, unsigned char x)
{
    unsigned char *b = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(b);
    memcpy(b, good, n);
    if (x) b[at] ^= x;
    tgf_write_all(path, b, n);
    free(b);
}

START_TEST(test_bad_files)
{
    char *dir = tgf_make_tmpdir("tg_saver");
    char *path = tgf_path_join(dir, "model.ckpt");
    char *bad = tgf_path_join(dir, "bad.ckpt");
    model m = build(PLAIN);
    tg_saver *sv = tgraph_saver(m.g, NULL, 0, NULL);
    tg_session *s = session(&m, true);
    set_all(&m, s, A);
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);
    set_all(&m, s, B); /* every failed restore must leave B */
    size_t size;
    unsigned char *good = tgf_read_all(path, &size);
    parsed p = parse(good, size);
    char want[1024];

    /* truncated anywhere: inside the magic, the header, a name, a dtype, the
     * dims, the byte count, the data, the CRC */
    size_t cuts[] = {0, 3, 8, 10, 14, 16, 18, p.e[0].name_off + 3, p.e[0].dtype_off + 2, p.e[0].dtype_off + 9,
                     p.e[0].data_off - 3, p.e[0].data_off + 5, p.e[V_B].data_off + 23, p.e[V_MASK].data_off,
                     p.crc_off, p.crc_off + 1, size - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        write_variant(bad, good, cuts[k], 0, 0);
        snprintf(want, sizeof want, "checkpoint %s is truncated: its %zu bytes end inside ", bad, cuts[k]);
        RESTORE_FAILS(&m, sv, s, bad, TG_DATA_LOSS, want);
    }
    snprintf(want, sizeof want, "checkpoint %s is truncated: its 10 bytes end inside the header", bad);
    write_variant(bad, good, 10, 0, 0);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    snprintf(want, sizeof want, "checkpoint %s is truncated: its %zu bytes end inside variable 2 of 5 ('layer/b')",
             bad, (size_t)(p.e[V_B].data_off + 23));
    write_variant(bad, good, p.e[V_B].data_off + 23, 0, 0);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    snprintf(want, sizeof want, "checkpoint %s is truncated: its %zu bytes end inside the CRC32", bad, size - 1);
    write_variant(bad, good, size - 1, 0, 0);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);

    /* one flipped byte: in the data of each variable, a name, a dtype (to
     * another of the same size: float64 -> int64), the dims-free count of a
     * scalar's data, the CRC itself */
    size_t flips[] = {p.e[0].data_off + 1,  p.e[V_B].data_off + 7, p.e[V_STEP].data_off, p.e[V_COUNTS].data_off + 31,
                      p.e[V_MASK].data_off + 2, p.e[V_B].name_off + 1, p.crc_off + 3};
    for (size_t k = 0; k < sizeof flips / sizeof flips[0]; k++) {
        write_variant(bad, good, size, flips[k], 0x01);
        snprintf(want, sizeof want, "checkpoint %s is corrupted: CRC32 0x", bad);
        RESTORE_FAILS(&m, sv, s, bad, TG_DATA_LOSS, want);
    }
    write_variant(bad, good, size, p.e[V_B].dtype_off, 0x02); /* float64 (1) -> int64 (3) */
    RESTORE_FAILS(&m, sv, s, bad, TG_DATA_LOSS, "does not match the stored");
    write_variant(bad, good, size, p.e[V_B].dtype_off, 0x40); /* no such dtype */
    snprintf(want, sizeof want, "checkpoint %s is corrupted: variable 'layer/b' has unknown dtype 65", bad);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);

    /* bytes after the last variable */
    {
        unsigned char *b = malloc(size + 3);
        ck_assert_ptr_nonnull(b);
        memcpy(b, good, size);
        memset(b + size, 0, 3);
        tgf_write_all(bad, b, size + 3);
        free(b);
        snprintf(want, sizeof want, "checkpoint %s is corrupted: 3 unexpected bytes after the last variable", bad);
        RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    }

    /* bad magic, a text file, another version */
    snprintf(want, sizeof want, "checkpoint %s is not a tgraph checkpoint (bad magic)", bad);
    write_variant(bad, good, size, 0, 'T' ^ 'X');
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    write_variant(bad, good, size, 6, 0x20);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    tgf_write_all(bad, "hello", 5);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    write_variant(bad, good, size, 8, 0x03); /* version 2 */
    snprintf(want, sizeof want, "checkpoint %s has format version 2; this tgraph reads version 1", bad);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_UNIMPLEMENTED, want);

    /* a corrupted bool byte with a CRC that matches it (a buggy writer) */
    {
        unsigned char *b = malloc(size);
        ck_assert_ptr_nonnull(b);
        memcpy(b, good, size);
        b[p.e[V_MASK].data_off + 1] = 2;
        put_u32_at(b + p.crc_off, crc32_ref(b, p.crc_off));
        tgf_write_all(bad, b, size);
        free(b);
        snprintf(want, sizeof want, "checkpoint %s is corrupted: bool variable 'mask' holds byte 0x02", bad);
        RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    }

    /* no such file; a directory */
    char *none = tgf_path_join(dir, "none.ckpt");
    snprintf(want, sizeof want, "cannot open checkpoint %s: %s", none, strerror(ENOENT));
    RESTORE_FAILS_EXACTLY(&m, sv, s, none, TG_NOT_FOUND, want);
    snprintf(want, sizeof want, "cannot open checkpoint %s: %s", dir, strerror(EISDIR));
    RESTORE_FAILS_EXACTLY(&m, sv, s, dir, TG_FAILED_PRECONDITION, want);
    free(none);

    /* the good file still restores, and a session on another graph is refused
     * by the run without changing anything */
    ck_assert_int_eq(tg_saver_restore(sv, s, path), TG_OK);
    EXPECT(&m, s, A, ALL);
    model other = build(PLAIN);
    tg_session *so = session(&other, true);
    set_all(&other, so, B);
    RESTORE_FAILS(&other, sv, so, path, TG_INVALID_ARGUMENT, "cannot restore checkpoint");
    tg_session_free(so);
    tg_graph_free(other.g);

    free(good);
    tg_saver_free(sv);
    tg_session_free(s);
    tg_graph_free(m.g);
    tgf_remove_tree(dir);
    free(bad);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_mismatched_graphs)
{
    char *dir = tgf_make_tmpdir("tg_saver");
    char *path = tgf_path_join(dir, "model.ckpt");
    model m = build(PLAIN);
    tg_saver *sv = tgraph_saver(m.g, NULL, 0, NULL);
    tg_session *s = session(&m, true);
    set_all(&m, s, A);
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);
    char want[1024];

    /* shape: layer/w is (3, 2) in this graph */
    model t = build(W_TRANSPOSED);
    tg_saver *st = tgraph_saver(t.g, NULL, 0, NULL);
    tg_session *ss = session(&t, true);
    snprintf(want, sizeof want,
             "checkpoint %s: variable 'layer/w' has shape (2, 3) in the file but (3, 2) in the graph", path);
    RESTORE_FAILS_EXACTLY(&t, st, ss, path, TG_INVALID_ARGUMENT, want);

    /* dtype: layer/b is float32 in this graph */
    model d = build(B_FLOAT32);
    tg_saver *sd = tgraph_saver(d.g, NULL, 0, NULL);
    tg_session *sds = session(&d, true);
    snprintf(want, sizeof want,
             "checkpoint %s: variable 'layer/b' has dtype float64 in the file but float32 in the graph", path);
    RESTORE_FAILS_EXACTLY(&d, sd, sds, path, TG_INVALID_ARGUMENT, want);

    /* a variable the file lacks */
    model e = build(EXTRA_VARIABLE);
    tg_saver *se = tgraph_saver(e.g, NULL, 0, NULL);
    tg_session *ses = session(&e, true);
    snprintf(want, sizeof want, "checkpoint %s has no variable 'extra'", path);
    RESTORE_FAILS_EXACTLY(&e, se, ses, path, TG_NOT_FOUND, want);
    /* without it, the same graph restores */
    tg_saver *se2 = tgraph_saver(e.g, e.v, NV, NULL);
    ck_assert_int_eq(tg_saver_restore(se2, ses, path), TG_OK);
    EXPECT(&e, ses, A, ALL);

    /* an integrity error wins over a mismatch */
    size_t size;
    unsigned char *good = tgf_read_all(path, &size);
    char *bad = tgf_path_join(dir, "bad.ckpt");
    write_variant(bad, good, size, size - 1, 0x10);
    RESTORE_FAILS(&t, st, ss, bad, TG_DATA_LOSS, "is corrupted: CRC32");
    free(bad);
    free(good);

    tg_saver_free(se2);
    tg_saver_free(se);
    tg_session_free(ses);
    tg_graph_free(e.g);
    tg_saver_free(sd);
    tg_session_free(sds);
    tg_graph_free(d.g);
    tg_saver_free(st);
    tg_session_free(ss);
    tg_graph_free(t.g);
    tg_saver_free(sv);
    tg_session_free(s);
    tg_graph_free(m.g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_save_errors)
{
    char *dir = tgf_make_tmpdir("tg_saver");
    model m = build(PLAIN);
    tg_saver *sv = tgraph_saver(m.g, NULL, 0, NULL);
    char want[1024];

    /* uninitialized variables: the session's error passes through, nothing written */
    char *path = tgf_path_join(dir, "model.ckpt");
    tg_session *fresh = session(&m, false);
    ck_assert_int_eq(tg_saver_save(sv, fresh, path), TG_FAILED_PRECONDITION);
    ck_assert_str_contains(tg_saver_message(sv), "cannot save checkpoint");
    ck_assert_str_contains(tg_saver_message(sv), "Attempting to use uninitialized value");
    ck_assert(!exists(path));
    ck_assert_int_eq(count_entries(dir), 0);
    tg_session_free(fresh);

    tg_session *s = session(&m, true);
    set_all(&m, s, A);

    /* a missing directory */
    char *nodir = tgf_path_join(dir, "no/such/dir/model.ckpt");
    ck_assert_int_eq(tg_saver_save(sv, s, nodir), TG_NOT_FOUND);
    snprintf(want, sizeof want, "cannot create a temporary file for checkpoint %s: %s", nodir, strerror(ENOENT));
    ck_assert_str_eq(tg_saver_message(sv), want);
    free(nodir);

    /* the path is a directory: the rename fails, the temporary file goes */
    char *sub = tgf_path_join(dir, "sub");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ck_assert_int_eq(tg_saver_save(sv, s, sub), TG_FAILED_PRECONDITION);
    snprintf(want, sizeof want, "cannot write checkpoint %s: %s", sub, strerror(EISDIR));
    ck_assert_str_eq(tg_saver_message(sv), want);
    ck_assert_int_eq(count_entries(dir), 1);
    ck_assert_int_eq(count_entries(sub), 0);

    /* a directory we may not write to (as root: with the effective uid of nobody) */
    char *ro = tgf_path_join(dir, "ro");
    char *ro_path = tgf_path_join(ro, "model.ckpt");
    ck_assert_int_eq(mkdir(ro, 0555), 0);
    ck_assert_int_eq(chmod(ro, 0555), 0);
    ck_assert_int_eq(chmod(dir, 0755), 0);
    uid_t euid = geteuid();
    bool dropped = euid == 0 && seteuid(65534) == 0;
    bool can_write = faccessat(AT_FDCWD, ro, W_OK, AT_EACCESS) == 0;
    tg_code rc = can_write ? TG_OK : tg_saver_save(sv, s, ro_path);
    if (dropped) ck_assert_int_eq(seteuid(euid), 0);
    ck_assert_msg(!can_write, "cannot make %s unwritable here", ro);
    ck_assert_int_eq(rc, TG_PERMISSION_DENIED);
    snprintf(want, sizeof want, "cannot create a temporary file for checkpoint %s: %s", ro_path, strerror(EACCES));
    ck_assert_str_eq(tg_saver_message(sv), want);
    ck_assert_int_eq(count_entries(ro), 0);
    ck_assert_int_eq(chmod(dir, 0700), 0);
    free(ro_path);
    free(ro);

    /* a failed save keeps the previous checkpoint intact */
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);
    tg_session *fresh2 = session(&m, false);
    ck_assert_int_eq(tg_saver_save(sv, fresh2, path), TG_FAILED_PRECONDITION);
    tg_session_free(fresh2);
    set_all(&m, s, B);
    ck_assert_int_eq(tg_saver_restore(sv, s, path), TG_OK);
    EXPECT(&m, s, A, ALL);
    ck_assert_int_eq(count_entries(dir), 4); /* model.ckpt, sub, ro, the state file */

    /* NULL arguments */
    ck_assert_int_eq(tg_saver_save(sv, NULL, path), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_saver_message(sv), "tg_saver_save: NULL session");
    ck_assert_int_eq(tg_saver_save(sv, s, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_saver_message(sv), "tg_saver_save: NULL path");
    ck_assert_int_eq(tg_saver_restore(sv, NULL, path), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_saver_restore(sv, s, NULL), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_saver_message(sv), "tg_saver_restore: NULL path");
    ck_assert_int_eq(tg_saver_save(NULL, s, path), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_saver_restore(NULL, s, path), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_saver_message(NULL), "invalid saver (NULL)");
    tg_saver_free(NULL);
    /* success clears the message */
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);
    ck_assert_str_eq(tg_saver_message(sv), "");

    tg_saver_free(sv);
    tg_session_free(s);
    tg_graph_free(m.g);
    tgf_remove_tree(dir);
    free(sub);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_creation_errors)
{
    ck_assert_ptr_null(tgraph_saver(NULL, NULL, 0, NULL));

    /* no variables at all, or an explicit empty list (TF's var_list=[]) */
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_null(tgraph_saver(g, NULL, 0, NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_graph_message(g), "No variables to save");
    ck_assert_int_eq(tg_graph_num_ops(g), 0);
    tg_graph_free(g);

    model m = build(PLAIN);
    model other = build(PLAIN);
    int ops = tg_graph_num_ops(m.g);
    struct {
        tg_variable *const *vars;
        int n;
        const char *msg;
    } cases[] = {
        {m.v, 0, "No variables to save"},
        {m.v, -1, "Saver: invalid variable list (-1 variables)"},
        {NULL, 2, "Saver: invalid variable list (2 variables at NULL)"},
        {(tg_variable *[]){m.v[0], NULL}, 2, "Saver: variable 1 of the list is NULL"},
        {(tg_variable *[]){m.v[0], m.v[1], m.v[0]}, 3, "At least two variables have the same name: layer/w"},
        {(tg_variable *[]){m.v[0], other.v[1]}, 2, "Saver: variable 'layer/b' belongs to another graph"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ck_assert_ptr_null(tgraph_saver(m.g, cases[k].vars, cases[k].n, NULL));
        ck_assert_tg_code(m.g, TG_INVALID_ARGUMENT);
        ck_assert_str_eq(tg_graph_message(m.g), cases[k].msg);
        ck_assert_int_eq(tg_graph_num_ops(m.g), ops); /* nothing added */
        tg_graph_clear_status(m.g);
    }
    /* a graph in error gets nothing */
    tg_graph_fail(m.g, TG_INTERNAL, "earlier error");
    ck_assert_ptr_null(tgraph_saver(m.g, NULL, 0, NULL));
    ck_assert_str_eq(tg_graph_message(m.g), "earlier error");
    ck_assert_int_eq(tg_graph_num_ops(m.g), ops);
    tg_graph_clear_status(m.g);

    /* variables created after the saver are not in it (as TF) */
    tg_saver *sv = tgraph_saver(m.g, NULL, 0, NULL);
    ck_assert_ptr_nonnull(sv);
    tg_get_variable(m.g, "later", TG_FLOAT32, TG_SCALAR, NULL);
    ck_assert_int_eq(tg_op_num_control_inputs(tg_graph_op(m.g, "save/restore_all")), NV);
    tg_saver_free(sv);

    /* created inside a control-dependency block, the restore ops ignore it */
    tg_op *ctrl = tg_no_op(m.g, "ctrl");
    TG_WITH_CONTROL_DEPENDENCIES(m.g, &ctrl, 1) {
        TG_WITH_NAME_SCOPE(m.g, "outer") { sv = tgraph_saver(m.g, m.v, 2, NULL); }
    }
    ck_assert_ptr_nonnull(sv);
    ck_assert_tg_ok(m.g);
    tg_op *all = tg_graph_op(m.g, "outer/save/restore_all");
    ck_assert_ptr_nonnull(all);
    ck_assert_int_eq(tg_op_num_control_inputs(all), 2);
    ck_assert_int_eq(tg_op_num_control_inputs(tg_graph_op(m.g, "outer/save/Assign")), 0);
    ck_assert_int_eq(tg_op_num_control_inputs(tg_graph_op(m.g, "outer/save/Assign_1")), 0);
    ck_assert_int_eq(tg_graph_control_dependencies(m.g, NULL), 0);
    ck_assert_str_eq(tg_graph_name_scope(m.g), "");
    tg_saver_free(sv);

    tg_graph_free(other.g);
    tg_graph_free(m.g);
}
END_TEST

/* A file that lists a name twice is corrupted, also when the saver does
 * not hold that variable (docs/checkpoint-format.md: names are unique). */
static size_t put_entry(unsigned char *b, const char *name, float v)
{
    size_t n = 0, len = strlen(name);
    put_u32_at(b + n, (uint32_t)len), n += 4;
    memcpy(b + n, name, len), n += len;
    put_u32_at(b + n, TG_FLOAT32), n += 4; /* dtype */
    put_u32_at(b + n, 0), n += 4;          /* rank: a scalar */
    put_u32_at(b + n, 4), n += 4;          /* byte count, low half */
    put_u32_at(b + n, 0), n += 4;          /* byte count, high half */
    memcpy(b + n, &v, 4), n += 4;          /* this machine is little-endian (x86-64) */
    return n;
}

START_TEST(test_unheld_name_twice)
{
    unsigned char b[256];
    size_t n = 0;
    memcpy(b, "TGCKPT\0\0", 8), n = 8;
    put_u32_at(b + n, 1), n += 4; /* version */
    put_u32_at(b + n, 3), n += 4; /* count */
    n += put_entry(b + n, "w", 1.5f);
    n += put_entry(b + n, "u", 2);
    n += put_entry(b + n, "u", 3);
    put_u32_at(b + n, crc32_ref(b, n)), n += 4;
    char *dir = tgf_make_tmpdir("tg_saver"), *path = tgf_path_join(dir, "dup.ckpt");
    tgf_write_all(path, b, n);
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer());
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &vo);
    tg_saver *sv = tgraph_saver(g, &w, 1, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    ck_assert_int_eq(tg_saver_restore(sv, s, path), TG_DATA_LOSS);
    ck_assert_str_contains(tg_saver_message(sv), "variable 'u' appears twice");
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(w)), 0, 0);
    /* the same file without the second u restores w */
    n = 16;
    put_u32_at(b + 12, 2);
    n += put_entry(b + n, "w", 1.5f);
    n += put_entry(b + n, "u", 2);
    put_u32_at(b + n, crc32_ref(b, n)), n += 4;
    tgf_write_all(path, b, n);
    ck_assert_int_eq(tg_saver_restore(sv, s, path), TG_OK);
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(w)), 1.5, 0);
    tg_session_free(s);
    tg_saver_free(sv);
    tg_graph_free(g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

/* ---- hostile files -------------------------------------------------------------------- */

/* #8: open() on a FIFO waited for a writer forever; now it and /dev/zero
 * are refused at once, without changing a variable. */
START_TEST(test_not_regular_files)
{
    char *dir = tgf_make_tmpdir("tg_saver");
    char *fifo = tgf_path_join(dir, "fifo.ckpt"), *link = tgf_path_join(dir, "link.ckpt");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(symlink(fifo, link), 0);
    model m = build(PLAIN);
    tg_saver *sv = tgraph_saver(m.g, NULL, 0, NULL);
    tg_session *s = session(&m, true);
    set_all(&m, s, B);
    const char *paths[] = {fifo, link, "/dev/zero", "/dev/null"};
    char want[1024];
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
        snprintf(want, sizeof want, "checkpoint %s is not a regular file", paths[k]);
        RESTORE_FAILS_EXACTLY(&m, sv, s, paths[k], TG_INVALID_ARGUMENT, want);
        EXPECT_RESTORE_PEAK_AT_MOST(4096);
    }
    EXPECT(&m, s, B, ALL);
    tg_saver_free(sv);
    tg_session_free(s);
    tg_graph_free(m.g);
    tgf_remove_tree(dir);
    free(fifo);
    free(link);
    free(dir);
}
END_TEST

/* A checkpoint header (magic, version 1, count) at b; returns its size. */
static size_t put_header(unsigned char *b, uint32_t count)
{
    memcpy(b, "TGCKPT\0\0", 8);
    put_u32_at(b + 8, 1);
    put_u32_at(b + 12, count);
    return 16;
}

static void put_u64_at(unsigned char *b, uint64_t v)
{
    put_u32_at(b, (uint32_t)v);
    put_u32_at(b + 4, (uint32_t)(v >> 32));
}

/* An entry's fields up to its byte count (no data): name, dtype, dims. */
static size_t put_entry_head(unsigned char *b, const char *name, tg_dtype dtype, int rank, const uint64_t *dims,
                             uint64_t nbytes)
{
    size_t n = 0, len = strlen(name);
    put_u32_at(b + n, (uint32_t)len), n += 4;
    memcpy(b + n, name, len), n += len;
    put_u32_at(b + n, (uint32_t)dtype), n += 4;
    put_u32_at(b + n, (uint32_t)rank), n += 4;
    for (int d = 0; d < rank; d++) put_u64_at(b + n, dims[d]), n += 8;
    put_u64_at(b + n, nbytes), n += 8;
    return n;
}

/* #6: the name buffer was allocated from the length field before that was
 * checked against the file: 27 bytes asked for 4 GiB. Every length and
 * count is now checked against the bytes left (and names against
 * TG_CHECKPOINT_MAX_NAME) before anything is allocated for it. */
START_TEST(test_hostile_lengths)
{
    char *dir = tgf_make_tmpdir("tg_saver"), *bad = tgf_path_join(dir, "bad.ckpt");
    model m = build(PLAIN);
    tg_saver *sv = tgraph_saver(m.g, NULL, 0, NULL);
    tg_session *s = session(&m, true);
    set_all(&m, s, B);
    size_t cap = 70000 + 256;
    unsigned char *b = calloc(cap, 1);
    ck_assert_ptr_nonnull(b);
    char want[1024];
    size_t n;

    /* one entry whose name is 4 GiB long, in 67 bytes: the length is caught */
    n = put_header(b, 1);
    put_u32_at(b + n, 0xFFFFFFFFu), n += 4;
    memcpy(b + n, "abcdefg", 7), n += 7 + 40;
    tgf_write_all(bad, b, n);
    snprintf(want, sizeof want, "checkpoint %s is truncated: its 67 bytes end inside variable 1 of 1", bad);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    EXPECT_RESTORE_PEAK_AT_MOST(65536);
    /* the 27 bytes, the same cut short: now the count is too many */
    tgf_write_all(bad, b, 27);
    snprintf(want, sizeof want, "checkpoint %s is truncated: its 27 bytes end inside the variables (its header "
             "lists 1, of 21 bytes or more each)", bad);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    EXPECT_RESTORE_PEAK_AT_MOST(65536);

    /* 4 billion entries in 40 bytes */
    n = put_header(b, 0xFFFFFFFFu) + 24;
    tgf_write_all(bad, b, n);
    snprintf(want, sizeof want, "checkpoint %s is truncated: its 40 bytes end inside the variables (its header "
             "lists 4294967295, of 21 bytes or more each)", bad);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    EXPECT_RESTORE_PEAK_AT_MOST(65536);

    /* a name longer than the limit, all of it in the file */
    n = put_header(b, 1);
    put_u32_at(b + n, 70000), n += 4;
    memset(b + n, 'a', 70000), n += 70000 + 40;
    tgf_write_all(bad, b, n);
    snprintf(want, sizeof want, "checkpoint %s is corrupted: variable 1 of 1 has a name of 70000 bytes, more than "
             "TG_CHECKPOINT_MAX_NAME (65535)", bad);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    EXPECT_RESTORE_PEAK_AT_MOST(65536);

    /* a held variable's data claimed 4 TiB long (dims and byte count agree) */
    n = put_header(b, 1);
    n += put_entry_head(b + n, "layer/w", TG_FLOAT32, 2, (uint64_t[]){1u << 20, 1u << 20}, (uint64_t)4 << 40);
    memset(b + n, 0, 64), n += 64;
    tgf_write_all(bad, b, n);
    snprintf(want, sizeof want, "checkpoint %s is truncated: its %zu bytes end inside variable 1 of 1 ('layer/w')",
             bad, n);
    RESTORE_FAILS_EXACTLY(&m, sv, s, bad, TG_DATA_LOSS, want);
    EXPECT_RESTORE_PEAK_AT_MOST(65536);

    /* dims whose byte count overflows 64 bits */
    n = put_header(b, 1);
    n += put_entry_head(b + n, "u", TG_FLOAT64, 3, (uint64_t[]){1ull << 62, 1ull << 62, 4}, 0);
    memset(b + n, 0, 8), n += 8;
    tgf_write_all(bad, b, n);
    RESTORE_FAILS(&m, sv, s, bad, TG_DATA_LOSS, "variable 'u' has 0 bytes of data, but its dtype and shape need");
    EXPECT_RESTORE_PEAK_AT_MOST(65536);

    EXPECT(&m, s, B, ALL);
    free(b);
    tg_saver_free(sv);
    tg_session_free(s);
    tg_graph_free(m.g);
    tgf_remove_tree(dir);
    free(bad);
    free(dir);
}
END_TEST

/* #7: each entry the saver does not hold was compared with every earlier
 * one: 40,000 took 3 s, so the 400,000 here would take about 5 minutes and
 * fail by the suite's timeout (TGC_TIMEOUT); sorted once, they take a
 * fraction of a second. A name listed twice among them is still found. */
START_TEST(test_many_unheld_entries)
{
    enum { N = 400000 };
    size_t cap = 16 + (size_t)(N + 2) * 40 + 4;
    unsigned char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    size_t n = put_header(b, N + 1);
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "unheld/%06d", (int)((i * 7919LL) % N)); /* not in sorted order */
        n += put_entry(b + n, name, (float)i);
        if (i == N / 2) n += put_entry(b + n, "w", 1.5f);
    }
    size_t body = n;
    put_u32_at(b + n, crc32_ref(b, n)), n += 4;
    char *dir = tgf_make_tmpdir("tg_saver"), *path = tgf_path_join(dir, "many.ckpt");
    tgf_write_all(path, b, n);

    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_zeros_initializer());
    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &vo);
    tg_saver *sv = tgraph_saver(g, &w, 1, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);
    ck_assert_msg(tg_saver_restore(sv, s, path) == TG_OK, "%s", tg_saver_message(sv));
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(w)), 1.5, 0);

    /* one more entry, a name already listed: refused, w unchanged */
    tgc_run_target(s, init);
    put_u32_at(b + 12, N + 2);
    n = body + put_entry(b + body, "unheld/012345", 9);
    put_u32_at(b + n, crc32_ref(b, n)), n += 4;
    tgf_write_all(path, b, n);
    ck_assert_int_eq(tg_saver_restore(sv, s, path), TG_DATA_LOSS);
    ck_assert_str_contains(tg_saver_message(sv), "variable 'unheld/012345' appears twice");
    ck_assert_close(tgc_fetch_scalar(s, tg_variable_value(w)), 0, 0);

    free(b);
    tg_session_free(s);
    tg_saver_free(sv);
    tg_graph_free(g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

/* A pid that no process has: a child that exited and was reaped. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) _exit(0);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    return pid;
}

static char *touch(const char *dir, const char *fmt, long a, long b)
{
    char name[128];
    snprintf(name, sizeof name, fmt, a, b);
    char *p = tgf_path_join(dir, name);
    tgf_write_all(p, "x", 1);
    return p;
}

/* A save removes the "<path>.tmp.<pid>[.<k>]" files of dead processes (a
 * save killed before its rename) and nothing else. */
START_TEST(test_stale_temp_files)
{
    char *dir = tgf_make_tmpdir("tg_saver"), *path = tgf_path_join(dir, "model.ckpt");
    long dead = (long)dead_pid(), self = (long)getpid();
    char *gone[] = {touch(dir, "model.ckpt.tmp.%ld", dead, 0), touch(dir, "model.ckpt.tmp.%ld.%ld", dead, 3)};
    char *kept[] = {
        touch(dir, "model.ckpt.tmp.%ld", self, 0),      /* this process: alive */
        touch(dir, "model.ckpt.tmp.%ld", 1, 0),         /* init: alive (EPERM or not) */
        touch(dir, "other.ckpt.tmp.%ld", dead, 0),      /* another checkpoint's */
        touch(dir, "model.ckpt.tmp.%ldx", dead, 0),     /* not a name a save writes */
        touch(dir, "model.ckpt.tmp.0%ld", dead, 0),
        touch(dir, "model.ckpt.tmp.%ld.", dead, 0),
        touch(dir, "model.ckpt.tmpx%ld%ld", dead, 0),
    };
    char *subdir = tgf_path_join(dir, "model.ckpt.tmp.99999999.1"); /* not a regular file */
    ck_assert_int_eq(mkdir(subdir, 0700), 0);

    model m = build(PLAIN);
    tg_saver *sv = tgraph_saver(m.g, NULL, 0, NULL);
    tg_session *s = session(&m, true);
    set_all(&m, s, A);
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);
    for (size_t k = 0; k < sizeof gone / sizeof gone[0]; k++) {
        ck_assert_msg(!exists(gone[k]), "stale %s left", gone[k]);
        free(gone[k]);
    }
    for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++) {
        ck_assert_msg(exists(kept[k]), "%s removed", kept[k]);
        free(kept[k]);
    }
    ck_assert(exists(subdir));
    set_all(&m, s, B);
    ck_assert_int_eq(tg_saver_restore(sv, s, path), TG_OK);
    EXPECT(&m, s, A, ALL);

    tg_saver_free(sv);
    tg_session_free(s);
    tg_graph_free(m.g);
    tgf_remove_tree(dir);
    free(subdir);
    free(path);
    free(dir);
}
END_TEST

/* Names up to TG_CHECKPOINT_MAX_NAME bytes round-trip; a longer one is
 * refused by save, as restore would refuse the file. */
START_TEST(test_name_limit)
{
    char *dir = tgf_make_tmpdir("tg_saver"), *path = tgf_path_join(dir, "long.ckpt");
    char *name = malloc(TG_CHECKPOINT_MAX_NAME + 2);
    ck_assert_ptr_nonnull(name);
    memset(name, 'n', TG_CHECKPOINT_MAX_NAME + 1);
    name[TG_CHECKPOINT_MAX_NAME + 1] = '\0';
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_ones_initializer());
    tg_variable *too_long = tg_get_variable(g, name, TG_FLOAT32, TG_SCALAR, &vo);
    name[TG_CHECKPOINT_MAX_NAME] = '\0';
    tg_variable *longest = tg_get_variable(g, name, TG_FLOAT32, TG_SCALAR, &vo);
    tg_saver *sv_bad = tgraph_saver(g, &too_long, 1, NULL);
    tg_saver *sv = tgraph_saver(g, &longest, 1, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tgc_run_target(s, init);

    ck_assert_int_eq(tg_saver_save(sv_bad, s, path), TG_INVALID_ARGUMENT);
    char want[512];
    snprintf(want, sizeof want, "cannot save checkpoint %s: variable 0 has a name of 65536 bytes, more than "
             "TG_CHECKPOINT_MAX_NAME (65535)", path);
    ck_assert_str_eq(tg_saver_message(sv_bad), want);
    ck_assert(!exists(path));
    ck_assert_msg(tg_saver_save(sv, s, path) == TG_OK, "%s", tg_saver_message(sv));
    ck_assert_msg(tg_saver_restore(sv, s, path) == TG_OK, "%s", tg_saver_message(sv));

    free(name);
    tg_session_free(s);
    tg_graph_free(g);
    tgf_remove_tree(dir);
    free(path);
    free(dir);
}
END_TEST

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fetches every variable in one run and asserts each holds B. */
static void expect_b(const model *m, tg_session *s)
{
    tg_tensor *t[NV];
    tg_array *out[NV] = {NULL};
    for (int i = 0; i < NV; i++) t[i] = tg_variable_value(m->v[i]);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, t, NV, out, NULL, 0), TG_OK);
    for (int i = 0; i < NV; i++) {
        ck_assert_msg(memcmp(tg_array_cdata(out[i]), B[i], nbytes_of(i)) == 0, "a refused restore changed %s",
                      NAMES[i]);
        tg_array_free(out[i]);
    }
}

typedef struct sweep {
    model *m;
    tg_saver *sv;
    tg_session *s;
    const char *bad;
    int tried, refused, data_loss, unimplemented;
} sweep;

/* Restores b[0..n) from w->bad: refused with a message naming the file,
 * every variable unchanged. */
static void sweep_one(sweep *w, const unsigned char *b, size_t n, const char *what, size_t at)
{
    tgf_write_all(w->bad, b, n);
    tg_code rc = tg_saver_restore(w->sv, w->s, w->bad);
    w->tried++;
    ck_assert_msg(rc == TG_DATA_LOSS || rc == TG_UNIMPLEMENTED, "%s at %zu: restore returned %s: %s", what, at,
                  tg_code_name(rc), tg_saver_message(w->sv));
    ck_assert_msg(strstr(tg_saver_message(w->sv), w->bad) != NULL, "%s at %zu: message without the path: %s", what,
                  at, tg_saver_message(w->sv));
    w->refused++;
    w->data_loss += rc == TG_DATA_LOSS;
    w->unimplemented += rc == TG_UNIMPLEMENTED;
    expect_b(w->m, w->s);
}

/* Every truncation, every single-bit flip, every inverted byte and 300
 * seeded random multi-byte corruptions of a small checkpoint. The CRC32
 * covers every byte before it (docs/checkpoint-format.md), float data
 * included, so no flip is harmless: CRC-32 catches every error of up to 3
 * bits and every burst of up to 32 in a file this size (the random ones
 * would slip by with odds of 2^-32, and the seed fixes them). Each must be
 * refused with the path in its message and no variable changed. */
START_TEST(test_corruption_sweep)
{
    char *dir = tgf_make_tmpdir("tg_saver");
    char *path = tgf_path_join(dir, "model.ckpt"), *bad = tgf_path_join(dir, "bad.ckpt");
    model m = build(PLAIN);
    tg_saver *sv = tgraph_saver(m.g, NULL, 0, NULL);
    tg_session *s = session(&m, true);
    set_all(&m, s, A);
    ck_assert_int_eq(tg_saver_save(sv, s, path), TG_OK);
    set_all(&m, s, B);
    size_t size;
    unsigned char *good = tgf_read_all(path, &size), *b = malloc(size);
    ck_assert_ptr_nonnull(b);
    sweep w = {&m, sv, s, bad, 0, 0, 0, 0};

    for (size_t cut = 0; cut < size; cut++) sweep_one(&w, good, cut, "truncation", cut);
    int truncations = w.tried;
    for (size_t at = 0; at < size; at++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(b, good, size);
            b[at] ^= (unsigned char)(1u << bit);
            sweep_one(&w, b, size, "bit flip", at);
        }
    int flips = w.tried - truncations;
    for (size_t at = 0; at < size; at++) {
        memcpy(b, good, size);
        b[at] ^= 0xFF;
        sweep_one(&w, b, size, "inverted byte", at);
    }
    uint64_t seed = 12;
    for (int r = 0; r < 300; r++) {
        memcpy(b, good, size);
        int k = 2 + (int)(splitmix(&seed) % 7);
        for (int j = 0; j < k; j++) b[splitmix(&seed) % size] ^= (unsigned char)(1 + splitmix(&seed) % 255);
        if (memcmp(b, good, size) == 0) continue;
        sweep_one(&w, b, size, "random corruption", (size_t)r);
    }
    printf("test_corruption_sweep: %d of %d corrupted checkpoints (%zu bytes) refused: %d truncations, %d bit flips, "
           "%zu inverted bytes, %d random; %d DATA_LOSS, %d UNIMPLEMENTED; no variable changed\n",
           w.refused, w.tried, size, truncations, flips, size, w.tried - truncations - flips - (int)size,
           w.data_loss, w.unimplemented);
    fflush(stdout);
    ck_assert_int_eq(w.refused, w.tried);

    ck_assert_int_eq(tg_saver_restore(sv, s, path), TG_OK); /* the good file still restores */
    EXPECT(&m, s, A, ALL);
    free(b);
    free(good);
    tg_saver_free(sv);
    tg_session_free(s);
    tg_graph_free(m.g);
    tgf_remove_tree(dir);
    free(bad);
    free(path);
    free(dir);
}
END_TEST

static Suite *saver_suite(void)
{
    Suite *s = suite_create("saver");
    TCase *tc = tcase_create("saver");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_not_regular_files);
    tcase_add_test(tc, test_hostile_lengths);
    if (TGW_WATCHING) return suite_add_tcase(s, tc), s; /* the watch build runs the hostile files only */
    tcase_add_test(tc, test_round_trip_same_graph);
    tcase_add_test(tc, test_round_trip_fresh_graph);
    tcase_add_test(tc, test_subset);
    tcase_add_test(tc, test_file_format);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_mismatched_graphs);
    tcase_add_test(tc, test_save_errors);
    tcase_add_test(tc, test_creation_errors);
    tcase_add_test(tc, test_unheld_name_twice);
    tcase_add_test(tc, test_many_unheld_entries);
    tcase_add_test(tc, test_stale_temp_files);
    tcase_add_test(tc, test_name_limit);
    tcase_add_test(tc, test_corruption_sweep);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(saver_suite)
