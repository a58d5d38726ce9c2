/* Reading tensors from an open bundle (TF's BundleReader::Lookup and the
 * Python tf.train.list_variables / load_variable over it). The reader was
 * validated whole when it opened, so here only the bytes can be wrong: they
 * are checked against the entry's CRC32C (computed on the bytes as they lie
 * in the file, before any byte swap, as TF does). */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "tgraph/session.h"

bool tg_checkpoint_is_v2(const char *prefix)
{
    if (!prefix) return false;
    char *path = tg__index_path(prefix);
    struct stat st;
    bool yes = path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
    return yes;
}

int tg_checkpoint_reader_count(const tg_checkpoint_reader *r) { return r ? r->n : 0; }

const tg_checkpoint_var *tg_checkpoint_reader_vars(const tg_checkpoint_reader *r) { return r ? r->vars : NULL; }

static int cmp_name(const void *key, const void *var) { return strcmp(key, ((const tg_checkpoint_var *)var)->name); }

/* strcmp compares as unsigned char, the index's bytewise order, so the
 * entries are sorted for it. */
const tg_checkpoint_var *tg_checkpoint_reader_find(const tg_checkpoint_reader *r, const char *name)
{
    if (!r || !name || r->n == 0) return NULL;
    return bsearch(name, r->vars, (size_t)r->n, sizeof *r->vars, cmp_name);
}

static void swap_units(uint8_t *b, size_t n, unsigned unit)
{
    for (size_t i = 0; unit > 1 && i + unit <= n; i += unit)
        for (unsigned k = 0; k < unit / 2; k++) {
            uint8_t t = b[i + k];
            b[i + k] = b[i + unit - 1 - k];
            b[i + unit - 1 - k] = t;
        }
}

/* A C bool holding anything but 0 or 1 is undefined behaviour to read. */
static bool bools_valid(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] > 1) return false;
    return true;
}

/* The entry's bytes into buf, checked. */
static tg_code read_bytes(const tg_checkpoint_reader *r, const tg_checkpoint_var *v, void *buf, char *err,
                          size_t err_size)
{
    const tg__bundle_loc *l = &r->loc[v - r->vars];
    const tg__tf_dtype_info *t = tg__tf_dtype(v->tf_dtype);
    char *path = tg__data_path(r->prefix, l->shard, r->num_shards);
    if (!path) return tg__ferr(err, err_size, TG_RESOURCE_EXHAUSTED, "checkpoint %s: out of memory", r->prefix);
    size_t got = 0;
    int e = tg__pread_full(r->fds[l->shard], buf, (size_t)l->size, l->offset, &got);
    tg_code code = TG_OK;
    uint32_t crc = 0;
    if (e != 0) code = tg__errno_fail(e, "cannot read", path, err, err_size);
    else if (got < l->size)
        code = tg__ferr(err, err_size, TG_DATA_LOSS, "%s: entry '%s': the data file ended after %zu of its %llu "
                        "bytes (it changed after the reader opened)", path, v->name, got, (unsigned long long)l->size);
    else if ((crc = tg__crc32c_extend(0, buf, (size_t)l->size)) != l->crc)
        code = tg__ferr(err, err_size, TG_DATA_LOSS, "%s: entry '%s' (%llu bytes): Checksum does not match: stored "
                        "%08x vs. calculated on the restored bytes %08x", path, v->name, (unsigned long long)l->size,
                        l->crc, crc);
    else if (v->tf_dtype == TG__DT_BOOL && !bools_valid(buf, (size_t)l->size))
        code = tg__ferr(err, err_size, TG_DATA_LOSS, "%s: entry '%s': a bool byte that is not 0 or 1", path,
                        v->name);
    if (code == TG_OK && r->swap) swap_units(buf, (size_t)l->size, t->unit);
    free(path);
    return code;
}

static tg_code find(const tg_checkpoint_reader *r, const char *name, const tg_checkpoint_var **v, char *err,
                    size_t err_size)
{
    *v = tg_checkpoint_reader_find(r, name);
    if (!*v) return tg__ferr(err, err_size, TG_NOT_FOUND, "Key %s not found in checkpoint %s", name, r->prefix);
    if (tg__tf_dtype((*v)->tf_dtype)->size == 0)
        return tg__ferr(err, err_size, TG_UNIMPLEMENTED, "%s: entry '%s' holds %s values, which tgraph does not read",
                        r->index_path, name, (*v)->dtype_name);
    return TG_OK;
}

tg_code tg_checkpoint_reader_read(const tg_checkpoint_reader *r, const char *name, void *buf, size_t nbytes,
                                  char *err, size_t err_size)
{
    if (!r || !name || (!buf && nbytes > 0))
        return tg__ferr(err, err_size, TG_INVALID_ARGUMENT, "tg_checkpoint_reader_read: a NULL argument");
    const tg_checkpoint_var *v;
    tg_code code = find(r, name, &v, err, err_size);
    if (code != TG_OK) return code;
    if (nbytes != v->nbytes)
        return tg__ferr(err, err_size, TG_INVALID_ARGUMENT, "%s: entry '%s' holds %llu bytes, not %zu", r->index_path,
                        name, (unsigned long long)v->nbytes, nbytes);
    return read_bytes(r, v, buf, err, err_size);
}

tg_code tg_checkpoint_reader_load(const tg_checkpoint_reader *r, const char *name, tg_array **out, char *err,
                                  size_t err_size)
{
    if (out) *out = NULL;
    if (!r || !name || !out)
        return tg__ferr(err, err_size, TG_INVALID_ARGUMENT, "tg_checkpoint_reader_load: a NULL argument");
    const tg_checkpoint_var *v;
    tg_code code = find(r, name, &v, err, err_size);
    if (code != TG_OK) return code;
    if (!v->loadable)
        return tg__ferr(err, err_size, TG_UNIMPLEMENTED, "%s: entry '%s' has dtype %s and rank %d; tgraph arrays hold "
                        "float32, float64, int32, int64 or bool of rank %d at most", r->index_path, name,
                        v->dtype_name, v->rank, TG_MAX_RANK);
    tg_array *a = tg_array_new(v->dtype, v->rank, v->dims);
    if (!a) return tg__ferr(err, err_size, TG_RESOURCE_EXHAUSTED, "%s: entry '%s': out of memory for %llu bytes",
                            r->index_path, name, (unsigned long long)v->nbytes);
    code = read_bytes(r, v, tg_array_data(a), err, err_size);
    if (code != TG_OK) {
        tg_array_free(a);
        return code;
    }
    *out = a;
    return TG_OK;
}

tg_code tg_train_list_variables(const char *prefix, tg_checkpoint_var **vars, int *n, char *err, size_t err_size)
{
    if (vars) *vars = NULL;
    if (n) *n = 0;
    if (!vars || !n)
        return tg__ferr(err, err_size, TG_INVALID_ARGUMENT, "tg_train_list_variables: vars or n is NULL");
    tg_checkpoint_reader *r;
    tg_code code = tg_checkpoint_reader_open(prefix, &r, err, err_size);
    if (code != TG_OK) return code;
    /* The reader's block is already the list's layout: hand it over. */
    *vars = r->vars;
    *n = r->n;
    r->vars = NULL;
    tg_checkpoint_reader_free(r);
    return TG_OK;
}

tg_code tg_train_load_variable(const char *prefix, const char *name, tg_array **out, char *err, size_t err_size)
{
    if (out) *out = NULL;
    tg_checkpoint_reader *r;
    tg_code code = tg_checkpoint_reader_open(prefix, &r, err, err_size);
    if (code != TG_OK) return code;
    code = tg_checkpoint_reader_load(r, name, out, err, err_size);
    tg_checkpoint_reader_free(r);
    return code;
}
