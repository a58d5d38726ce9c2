/* fuzz_checkpoint_v2.c: libFuzzer harness for TensorFlow checkpoints
 * (tgraph/checkpoint.h: tg_checkpoint_reader_* and tg_train_list_variables).
 *
 * The input is u32 LE n, the index file (n bytes, clamped to what there
 * is), then the data file (the rest). Both files are memfds (fuzz_file.h),
 * reached through two symbolic links "ckpt.index" and
 * "ckpt.data-00000-of-00001" in a folder made once under /tmp, so the
 * reader opens them by prefix as it would a user's checkpoint; a crash
 * leaves only the folder and its two links behind.
 *
 * Checked besides the sanitizers: a failure leaves the reader (or the list)
 * NULL and has a message naming the checkpoint; on success the listing and
 * the reader agree, names are sorted and distinct, and every tensor either
 * loads as an array of its listed dtype, shape and byte count or fails with
 * a message naming the checkpoint. */
#define _GNU_SOURCE

#include <stdlib.h>
#include <string.h>

#include "fuzz_file.h"
#include "tgraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], prefix[96];

static void remove_links(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s.index", prefix);
    unlink(p);
    snprintf(p, sizeof p, "%s.data-00000-of-00001", prefix);
    unlink(p);
    rmdir(dir);
}

/* The folder and its two links, pointing at the memfds of slots 0 and 1. */
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tgraph-fuzz-v2.XXXXXX");
    FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");
    snprintf(prefix, sizeof prefix, "%s/ckpt", dir);
    const char *index = fuzz_file(0, NULL, 0), *data = fuzz_file(1, NULL, 0);
    FUZZ_CHECK(index && data, "cannot make the memfds");
    char p[128];
    snprintf(p, sizeof p, "%s.index", prefix);
    FUZZ_CHECK(symlink(index, p) == 0, "symlink %s", p);
    snprintf(p, sizeof p, "%s.data-00000-of-00001", prefix);
    FUZZ_CHECK(symlink(data, p) == 0, "symlink %s", p);
    atexit(remove_links);
}

/* Every tensor loads as listed, or fails naming the checkpoint. */
static void load_each(const tg_checkpoint_reader *r)
{
    const tg_checkpoint_var *v = tg_checkpoint_reader_vars(r);
    for (int i = 0; i < tg_checkpoint_reader_count(r); i++) {
        char err[1024] = "";
        tg_array *a = (tg_array *)1;
        tg_code c = tg_checkpoint_reader_load(r, v[i].name, &a, err, sizeof err);
        if (c != TG_OK) {
            FUZZ_CHECK(a == NULL, "a failed load left an array");
            FUZZ_CHECK(strstr(err, prefix), "message without the checkpoint: %s", err);
            FUZZ_CHECK(c != TG_UNIMPLEMENTED || !v[i].loadable, "'%s' is listed loadable: %s", v[i].name, err);
            continue;
        }
        FUZZ_CHECK(v[i].loadable && tg_array_dtype(a) == v[i].dtype && tg_array_rank(a) == v[i].rank &&
                       tg_array_nbytes(a) == v[i].nbytes, "'%s' loaded unlike its listing", v[i].name);
        for (int d = 0; d < v[i].rank; d++) FUZZ_CHECK(tg_array_dim(a, d) == v[i].dims[d], "dimension %d", d);
        tg_array_free(a);
    }
}

static void check_listing(const tg_checkpoint_reader *r)
{
    tg_checkpoint_var *list = (tg_checkpoint_var *)1;
    int n = -1;
    char err[1024];
    FUZZ_CHECK(tg_train_list_variables(prefix, &list, &n, err, sizeof err) == TG_OK, "list failed: %s", err);
    FUZZ_CHECK(n == tg_checkpoint_reader_count(r), "list and reader disagree");
    for (int i = 0; i < n; i++) {
        FUZZ_CHECK(i == 0 || strcmp(list[i - 1].name, list[i].name) < 0, "names not sorted");
        FUZZ_CHECK(tg_checkpoint_reader_find(r, list[i].name) == &tg_checkpoint_reader_vars(r)[i], "find");
    }
    tg_free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!prefix[0]) setup();
    uint32_t n = size >= 4 ? (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                                 (uint32_t)data[3] << 24
                           : 0;
    size_t rest = size >= 4 ? size - 4 : 0, ni = n < rest ? n : rest;
    FUZZ_CHECK(fuzz_file(0, data + (size - rest), ni) && fuzz_file(1, data + (size - rest) + ni, rest - ni),
               "cannot write the input files");
    char err[1024] = "";
    tg_checkpoint_reader *r = (tg_checkpoint_reader *)1;
    tg_code c = tg_checkpoint_reader_open(prefix, &r, err, sizeof err);
    if (c != TG_OK) {
        FUZZ_CHECK(r == NULL, "a failed open left a reader");
        FUZZ_CHECK(strstr(err, prefix), "message without the checkpoint: %s", err);
        return 0;
    }
    check_listing(r);
    load_each(r);
    tg_checkpoint_reader_free(r);
    return 0;
}
