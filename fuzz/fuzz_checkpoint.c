/* fuzz_checkpoint.c: libFuzzer harness for checkpoint restore
 * (tg_saver_restore), the file format of docs/checkpoint-format.md.
 *
 * The input is the whole file. It is restored twice into one session: by a
 * saver of all five variables of the seed checkpoints (every dtype, scalar
 * to rank 3) and by one of "layer/w" alone, for which every other entry is
 * one it does not hold. Checked besides the sanitizers: a restore that
 * fails has a message naming the file and changes no variable, as
 * tgraph/saver.h promises; one that succeeds leaves what the next compares
 * against. */
#define _GNU_SOURCE

#include <string.h>

#include "fuzz_file.h"
#include "tgraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NV = 5 };

static struct {
    tg_graph *g;
    tg_tensor *value[NV];
    tg_saver *all, *one;
    tg_session *s;
    tg_array *now[NV]; /* what the variables hold */
} F;

/* The variables' values, fetched in one run into out. */
static void fetch(tg_array **out)
{
    tg_code c = tg_session_run(F.s, NULL, 0, F.value, NV, out, NULL, 0);
    FUZZ_CHECK(c == TG_OK, "fetch: %s", tg_session_message(F.s));
}

/* The graph of the seed checkpoints (fuzz/make_corpus.py writes them). */
static void setup(void)
{
    static const struct {
        const char *name;
        tg_dtype dtype;
        int rank;
        int64_t dims[3];
    } vars[NV] = {{"layer/w", TG_FLOAT32, 2, {2, 3}}, {"layer/b", TG_FLOAT64, 1, {3}}, {"step", TG_INT64, 0, {0}},
                  {"counts", TG_INT32, 3, {2, 2, 2}}, {"mask", TG_BOOL, 1, {4}}};
    F.g = tg_graph_new();
    FUZZ_CHECK(F.g != NULL, "no graph");
    TG_OPTS(tg_get_variable_opts, zeros, .initializer = tg_zeros_initializer());
    tg_variable *v[NV];
    for (int i = 0; i < NV; i++) {
        tg_shape sh = {.rank = vars[i].rank};
        memcpy(sh.dims, vars[i].dims, sizeof vars[i].dims);
        v[i] = tg_get_variable(F.g, vars[i].name, vars[i].dtype, sh, &zeros);
        F.value[i] = tg_variable_value(v[i]);
    }
    F.all = tg_train_saver_new(F.g, v, NV, NULL);
    F.one = tg_train_saver_new(F.g, v, 1, NULL);
    tg_op *init = tg_global_variables_initializer(F.g);
    FUZZ_CHECK(tg_graph_status(F.g) == TG_OK, "setup: %s", tg_graph_message(F.g));
    F.s = tg_session_new(F.g);
    FUZZ_CHECK(F.s && tg_session_run(F.s, NULL, 0, NULL, 0, NULL, &init, 1) == TG_OK, "no session");
    fetch(F.now);
}

static void restore(tg_saver *sv, const char *path)
{
    tg_code c = tg_saver_restore(sv, F.s, path);
    tg_array *after[NV] = {NULL};
    fetch(after);
    for (int i = 0; i < NV; i++) {
        bool same = tg_array_nbytes(after[i]) == tg_array_nbytes(F.now[i]) &&
                    memcmp(tg_array_cdata(after[i]), tg_array_cdata(F.now[i]), tg_array_nbytes(after[i])) == 0;
        FUZZ_CHECK(c == TG_OK || same, "a failed restore (%s) changed variable %d", tg_saver_message(sv), i);
        tg_array_free(F.now[i]);
        F.now[i] = after[i];
    }
    if (c != TG_OK) FUZZ_CHECK(strstr(tg_saver_message(sv), path), "message without the path: %s",
                               tg_saver_message(sv));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!F.g) setup();
    const char *path = fuzz_file(0, data, size);
    FUZZ_CHECK(path != NULL, "cannot write the input file");
    restore(F.one, path);
    restore(F.all, path);
    return 0;
}
