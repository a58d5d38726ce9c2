/* Writing a tensor bundle as TF's BundleWriter does for tf.train.Saver
 * (tensor_bundle.cc): the data file holds each tensor's raw bytes in name
 * order, no padding (the Saver's data_alignment is 1); the index holds the
 * header under "" and each name's BundleEntryProto, in a table built as
 * TF's table builder builds it, uncompressed (TF's choice for bundles). The
 * tensors are sorted by name here: TF's Saver sorts them before SaveV2, so
 * its data files have this order too. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "tensor_bundle.pb-c.h"
#include "tgraph/session.h"

/* TF's kTensorBundleVersion: what the header says wrote the file. */
#define BUNDLE_VERSION 1
/* Temporary names tried per file before giving up. */
#define TEMP_TRIES 100

typedef struct named {
    const char *name;
    const tg_array *value;
} named;

typedef struct writer {
    const char *prefix;
    char *err;
    size_t err_size;
    named *sorted;
    int n;
    uint64_t *offsets;
    uint32_t *crcs;
    char *data_path, *index_path;
    char *data_tmp, *index_tmp; /* NULL once renamed (or never made) */
} writer;

#define FAIL(w, code, ...) tg__ferr((w)->err, (w)->err_size, code, __VA_ARGS__)
#define OOM(w) FAIL(w, TG_RESOURCE_EXHAUSTED, "checkpoint %s: out of memory", (w)->prefix)

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

static tg_code check_args(const char *prefix, int n, const char *const *names, const tg_array *const *values,
                          char *err, size_t err_size)
{
    const char *why = !prefix || !*prefix ? "the prefix is NULL or empty"
                      : n < 0             ? "n is negative"
                      : n > 0 && (!names || !values) ? "names or values is NULL"
                                                     : NULL;
    for (int i = 0; !why && i < n; i++) {
        if (!names[i] || !*names[i]) why = "a name is NULL or empty (\"\" is the header's key)";
        else if (!values[i] || tg__tf_dtype_of(tg_array_dtype(values[i])) == 0) why = "a value is NULL";
    }
    return why ? tg__ferr(err, err_size, TG_INVALID_ARGUMENT, "tg_checkpoint_write: %s", why) : TG_OK;
}

/* ---- files ------------------------------------------------------------------------ */

static int write_all(int fd, const void *data, size_t n)
{
    for (size_t done = 0; done < n;) {
        ssize_t k = write(fd, (const char *)data + done, n - done);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return errno;
        done += (size_t)k;
    }
    return 0;
}

/* Creates "<path>.tempstate<pid>" (or with ".<k>" after it) exclusively. */
static tg_code create_temp(writer *w, const char *path, char **tmp, int *fd)
{
    size_t cap = strlen(path) + 64;
    *tmp = malloc(cap);
    if (!*tmp) return OOM(w);
    for (int k = 0; k < TEMP_TRIES; k++) {
        if (k == 0) snprintf(*tmp, cap, "%s.tempstate%ld", path, (long)getpid());
        else snprintf(*tmp, cap, "%s.tempstate%ld.%d", path, (long)getpid(), k);
        *fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (*fd >= 0) return TG_OK;
        if (errno != EEXIST) break;
    }
    tg_code code = tg__errno_fail(errno, "cannot create", *tmp, w->err, w->err_size);
    free(*tmp);
    *tmp = NULL;
    return code;
}

/* Flushes to disk and closes; fd is closed whatever happens. */
static tg_code finish_file(writer *w, int fd, const char *tmp)
{
    int e = fsync(fd) != 0 ? errno : 0;
    if (close(fd) != 0 && e == 0) e = errno;
    return e ? tg__errno_fail(e, "cannot write", tmp, w->err, w->err_size) : TG_OK;
}

/* ---- data ------------------------------------------------------------------------- */

static tg_code write_data(writer *w)
{
    int fd;
    tg_code code = create_temp(w, w->data_path, &w->data_tmp, &fd);
    if (code != TG_OK) return code;
    uint64_t offset = 0;
    int e = 0;
    for (int i = 0; i < w->n && e == 0; i++) {
        const tg_array *a = w->sorted[i].value;
        size_t nbytes = tg_array_nbytes(a);
        w->offsets[i] = offset;
        w->crcs[i] = tg__crc32c_extend(0, tg_array_cdata(a), nbytes);
        e = write_all(fd, tg_array_cdata(a), nbytes);
        offset += nbytes;
    }
    if (e) {
        close(fd);
        return tg__errno_fail(e, "cannot write", w->data_tmp, w->err, w->err_size);
    }
    return finish_file(w, fd, w->data_tmp);
}

/* ---- index -------------------------------------------------------------------------- */

static bool host_is_big_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 0;
}

/* Packs a message into a fresh buffer and adds it to the table under key. */
static void add_message(tg__sst_builder *b, const char *key, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *v = malloc(len ? len : 1);
    if (!v) {
        b->out.oom = true;
        return;
    }
    protobuf_c_message_pack(m, v);
    tg__sst_add(b, (const uint8_t *)key, strlen(key), v, len);
    free(v);
}

/* TF's header for one shard: num_shards 1, this machine's byte order,
 * version producer 1 (min_consumer 0, left out as proto3 leaves zeros). */
static void add_header(tg__sst_builder *b)
{
    Tensorflow__VersionDef version = TENSORFLOW__VERSION_DEF__INIT;
    version.producer = BUNDLE_VERSION;
    Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
    h.num_shards = 1;
    h.endianness = host_is_big_endian() ? TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__BIG
                                        : TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__LITTLE;
    h.version = &version;
    add_message(b, "", &h.base);
}

/* An entry as TF's BundleWriter::Add fills it: dtype, shape (present even
 * for a scalar), shard 0, offset, size, masked CRC32C. */
static void add_entry(tg__sst_builder *b, const named *t, uint64_t offset, uint32_t crc)
{
    Tensorflow__TensorShapeProto__Dim dims[TG_MAX_RANK], *dimp[TG_MAX_RANK];
    Tensorflow__TensorShapeProto shape = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
    int rank = tg_array_rank(t->value);
    for (int i = 0; i < rank; i++) {
        dims[i] = (Tensorflow__TensorShapeProto__Dim)TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT;
        dims[i].size = tg_array_dim(t->value, i);
        dimp[i] = &dims[i];
    }
    shape.n_dim = (size_t)rank;
    shape.dim = rank > 0 ? dimp : NULL;
    Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
    e.dtype = (Tensorflow__DataType)tg__tf_dtype_of(tg_array_dtype(t->value));
    e.shape = &shape;
    e.offset = (int64_t)offset;
    e.size = (int64_t)tg_array_nbytes(t->value);
    e.crc32c = tg__crc32c_mask(crc);
    add_message(b, t->name, &e.base);
}

static tg_code write_index(writer *w)
{
    tg__sst_builder b = {0};
    add_header(&b);
    for (int i = 0; i < w->n; i++) add_entry(&b, &w->sorted[i], w->offsets[i], w->crcs[i]);
    tg_code code = tg__sst_finish(&b, w->err, w->err_size);
    int fd = -1;
    if (code == TG_OK) code = create_temp(w, w->index_path, &w->index_tmp, &fd);
    if (code == TG_OK) {
        int e = write_all(fd, b.out.data, b.out.len);
        if (e) {
            close(fd);
            code = tg__errno_fail(e, "cannot write", w->index_tmp, w->err, w->err_size);
        } else {
            code = finish_file(w, fd, w->index_tmp);
        }
    }
    tg__sst_builder_free(&b);
    return code;
}

/* ---- the whole write ----------------------------------------------------------------- */

static tg_code rename_into_place(writer *w, char **tmp, const char *path)
{
    if (rename(*tmp, path) != 0) return tg__errno_fail(errno, "cannot rename to", path, w->err, w->err_size);
    free(*tmp);
    *tmp = NULL;
    return TG_OK;
}

/* The renames are durable once the directory is synced; best effort, as a
 * file system that cannot sync a directory still renamed the files. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

static tg_code prepare(writer *w, const char *const *names, const tg_array *const *values)
{
    w->data_path = tg__data_path(w->prefix, 0, 1);
    w->index_path = tg__index_path(w->prefix);
    size_t n = (size_t)w->n;
    w->sorted = malloc((n ? n : 1) * sizeof *w->sorted);
    w->offsets = malloc((n ? n : 1) * sizeof *w->offsets);
    w->crcs = malloc((n ? n : 1) * sizeof *w->crcs);
    if (!w->data_path || !w->index_path || !w->sorted || !w->offsets || !w->crcs) return OOM(w);
    for (int i = 0; i < w->n; i++) w->sorted[i] = (named){names[i], values[i]};
    qsort(w->sorted, n, sizeof *w->sorted, cmp_named);
    for (int i = 1; i < w->n; i++)
        if (strcmp(w->sorted[i - 1].name, w->sorted[i].name) == 0)
            return FAIL(w, TG_INVALID_ARGUMENT, "tg_checkpoint_write: Adding duplicate key: %s", w->sorted[i].name);
    return TG_OK;
}

tg_code tg_checkpoint_write(const char *prefix, int n, const char *const *names, const tg_array *const *values,
                            char *err, size_t err_size)
{
    tg_code code = check_args(prefix, n, names, values, err, err_size);
    if (code != TG_OK) return code;
    writer w = {.prefix = prefix, .err = err, .err_size = err_size, .n = n};
    code = prepare(&w, names, values);
    if (code == TG_OK) code = write_data(&w);
    if (code == TG_OK) code = write_index(&w);
    if (code == TG_OK) code = rename_into_place(&w, &w.data_tmp, w.data_path);
    if (code == TG_OK) code = rename_into_place(&w, &w.index_tmp, w.index_path);
    if (code == TG_OK) sync_dir(w.index_path);
    if (w.data_tmp) unlink(w.data_tmp);
    if (w.index_tmp) unlink(w.index_tmp);
    free(w.data_tmp);
    free(w.index_tmp);
    free(w.sorted);
    free(w.offsets);
    free(w.crcs);
    free(w.data_path);
    free(w.index_path);
    return code;
}
