/* Opening a TensorFlow tensor bundle (tensorflow/core/util/tensor_bundle/
 * tensor_bundle.cc's BundleReader): the index is read whole and every entry
 * validated against its data file before the reader exists, so that what
 * the reader hands out (names, dtypes, shapes, byte counts) can be trusted
 * and a read can only fail on the bytes themselves (checksum) or on a file
 * changed underneath. Reading values is bundle_load.c. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "tensor_bundle.pb-c.h"

/* The format version this reader implements (TF's kTensorBundleVersion) and
 * the oldest producer it accepts (kTensorBundleMinProducer). */
#define BUNDLE_VERSION 1
#define BUNDLE_MIN_PRODUCER 0
/* The longest part of a name quoted in a message. */
#define QUOTE_MAX 200

/* An entry as the index is scanned; names and dims live in the opener's
 * pools until the reader's single block is built. */
typedef struct pending {
    size_t name_off, dims_off;
    int tf_dtype, rank;
    tg__bundle_loc loc;
} pending;

typedef struct opener {
    const char *prefix, *index_path;
    char *err;
    size_t err_size;
    bool have_header, big_endian;
    int num_shards;
    tg__buf entries; /* pending[] */
    tg__buf names;   /* NUL-terminated names, back to back */
    tg__buf dims;    /* int64_t[] */
} opener;

#define FAIL(o, code, ...) tg__ferr((o)->err, (o)->err_size, code, __VA_ARGS__)
#define OOM(o) FAIL(o, TG_RESOURCE_EXHAUSTED, "%s: out of memory", (o)->index_path)

static int quote_len(size_t n) { return n > QUOTE_MAX ? QUOTE_MAX : (int)n; }

/* ---- the header ------------------------------------------------------------------ */

/* TF's CheckVersions for checkpoints, with its words. */
static tg_code check_version(opener *o, const Tensorflow__VersionDef *v)
{
    if (!v) return TG_OK; /* all zero: producer 0, no minimum consumer */
    if (v->producer < BUNDLE_MIN_PRODUCER)
        return FAIL(o, TG_INVALID_ARGUMENT, "%s: Checkpoint producer version %d below min producer %d supported",
                    o->index_path, (int)v->producer, BUNDLE_MIN_PRODUCER);
    if (v->min_consumer > BUNDLE_VERSION)
        return FAIL(o, TG_INVALID_ARGUMENT, "%s: Checkpoint min consumer version %d above current version %d",
                    o->index_path, (int)v->min_consumer, BUNDLE_VERSION);
    for (size_t i = 0; i < v->n_bad_consumers; i++)
        if (v->bad_consumers[i] == BUNDLE_VERSION)
            return FAIL(o, TG_INVALID_ARGUMENT, "%s: Checkpoint disallows consumer version %d", o->index_path,
                        BUNDLE_VERSION);
    return TG_OK;
}

static tg_code check_header(opener *o, const Tensorflow__BundleHeaderProto *h)
{
    if (h->num_shards < 1 || h->num_shards > TG_CHECKPOINT_MAX_SHARDS)
        return FAIL(o, TG_DATA_LOSS, "%s: header: invalid shard count %d (1 to %d)", o->index_path,
                    (int)h->num_shards, TG_CHECKPOINT_MAX_SHARDS);
    if (h->endianness != TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__LITTLE &&
        h->endianness != TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__BIG)
        return FAIL(o, TG_DATA_LOSS, "%s: header: invalid endianness %d", o->index_path, (int)h->endianness);
    o->num_shards = h->num_shards;
    o->big_endian = h->endianness == TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__BIG;
    return check_version(o, h->version);
}

/* The first entry: key "" holds the header (TF's kHeaderEntryKey). */
static tg_code read_header(opener *o, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    if (key_len != 0)
        return FAIL(o, TG_DATA_LOSS, "%s: no header entry (the first key is '%.*s', not '')", o->index_path,
                    quote_len(key_len), (const char *)key);
    Tensorflow__BundleHeaderProto *h = tensorflow__bundle_header_proto__unpack(NULL, value_len, value);
    if (!h) return FAIL(o, TG_DATA_LOSS, "%s: unable to parse header (BundleHeaderProto)", o->index_path);
    tg_code code = check_header(o, h);
    tensorflow__bundle_header_proto__free_unpacked(h, NULL);
    o->have_header = true;
    return code;
}

/* ---- the entries ---------------------------------------------------------------- */

/* Elements of the shape, each dimension checked (TF's TensorShape::IsValid:
 * known rank, at most 254 dimensions, none negative, a count that fits). */
static tg_code check_shape(opener *o, const char *name, const Tensorflow__TensorShapeProto *s, int64_t *count)
{
    *count = 1;
    if (!s) return TG_OK; /* absent: a scalar */
    if (s->unknown_rank) return FAIL(o, TG_DATA_LOSS, "%s: entry '%s': Invalid tensor shape (unknown rank)",
                                     o->index_path, name);
    if (s->n_dim > TG__TF_MAX_RANK)
        return FAIL(o, TG_DATA_LOSS, "%s: entry '%s': Invalid tensor shape (rank %zu over %d)", o->index_path, name,
                    s->n_dim, TG__TF_MAX_RANK);
    for (size_t i = 0; i < s->n_dim; i++) {
        int64_t d = s->dim[i]->size;
        if (d < 0) return FAIL(o, TG_DATA_LOSS, "%s: entry '%s': Invalid tensor shape (dimension %zu is %lld)",
                               o->index_path, name, i, (long long)d);
        if (d > 0 && *count > INT64_MAX / d)
            return FAIL(o, TG_DATA_LOSS, "%s: entry '%s': Invalid tensor shape (too many elements)", o->index_path,
                        name);
        *count *= d;
    }
    return TG_OK;
}

/* The byte count: dtype size times elements for fixed-size dtypes (TF's
 * "Invalid size in bundle entry"); a string tensor takes at least a length
 * byte per element. */
static tg_code check_size(opener *o, const char *name, const Tensorflow__BundleEntryProto *e,
                          const tg__tf_dtype_info *t, int64_t count)
{
    if (e->offset < 0 || e->size < 0)
        return FAIL(o, TG_DATA_LOSS, "%s: entry '%s': negative offset %lld or size %lld", o->index_path, name,
                    (long long)e->offset, (long long)e->size);
    if (t->size == 0) {
        if (e->dtype == TG__DT_STRING && e->size < count)
            return FAIL(o, TG_DATA_LOSS, "%s: entry '%s': Invalid size in bundle entry: stored size %lld; expected "
                        "size is at least %lld", o->index_path, name, (long long)e->size, (long long)count);
        return TG_OK;
    }
    if (count > INT64_MAX / t->size || e->size != count * (int64_t)t->size)
        return FAIL(o, TG_DATA_LOSS, "%s: entry '%s': Invalid size in bundle entry: stored size %lld; expected "
                    "%lld elements of %u bytes", o->index_path, name, (long long)e->size, (long long)count, t->size);
    return TG_OK;
}

static tg_code check_entry(opener *o, const char *name, const Tensorflow__BundleEntryProto *e)
{
    const tg__tf_dtype_info *t = tg__tf_dtype(e->dtype);
    if (!t) return FAIL(o, TG_DATA_LOSS, "%s: entry '%s': invalid dtype %d", o->index_path, name, (int)e->dtype);
    if (e->n_slices > 0)
        return FAIL(o, TG_UNIMPLEMENTED, "%s: entry '%s' is a partitioned variable (%zu slices), which tgraph "
                    "does not read", o->index_path, name, e->n_slices);
    int64_t count;
    tg_code code = check_shape(o, name, e->shape, &count);
    if (code == TG_OK) code = check_size(o, name, e, t, count);
    if (code == TG_OK && (e->shard_id < 0 || e->shard_id >= o->num_shards))
        code = FAIL(o, TG_DATA_LOSS, "%s: entry '%s': shard %d of a checkpoint of %d shards", o->index_path, name,
                    (int)e->shard_id, o->num_shards);
    return code;
}

/* Keeps a validated entry in the opener's pools. */
static tg_code keep_entry(opener *o, const uint8_t *key, size_t key_len, const Tensorflow__BundleEntryProto *e)
{
    size_t rank = e->shape ? e->shape->n_dim : 0;
    pending p = {.name_off = o->names.len, .dims_off = o->dims.len / sizeof(int64_t), .tf_dtype = e->dtype,
                 .rank = (int)rank,
                 .loc = {e->shard_id, (uint64_t)e->offset, (uint64_t)e->size, tg__crc32c_unmask(e->crc32c)}};
    tg__buf_append(&o->names, key, key_len);
    tg__buf_append(&o->names, "", 1);
    for (size_t i = 0; i < rank; i++) tg__buf_append(&o->dims, &e->shape->dim[i]->size, sizeof(int64_t));
    tg__buf_append(&o->entries, &p, sizeof p);
    return o->names.oom || o->dims.oom || o->entries.oom ? OOM(o) : TG_OK;
}

static tg_code read_entry(opener *o, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    char name[QUOTE_MAX + 1];
    memcpy(name, key, (size_t)quote_len(key_len));
    name[quote_len(key_len)] = '\0';
    /* Names are C strings here; TF never makes a name with a NUL byte. */
    if (memchr(key, 0, key_len)) return FAIL(o, TG_DATA_LOSS, "%s: entry '%s': a NUL byte in the name",
                                             o->index_path, name);
    Tensorflow__BundleEntryProto *e = tensorflow__bundle_entry_proto__unpack(NULL, value_len, value);
    if (!e) return FAIL(o, TG_DATA_LOSS, "%s: Entry for key %s not parseable (BundleEntryProto)", o->index_path, name);
    tg_code code = check_entry(o, name, e);
    if (code == TG_OK) code = keep_entry(o, key, key_len, e);
    tensorflow__bundle_entry_proto__free_unpacked(e, NULL);
    return code;
}

static tg_code visit(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    opener *o = ctx;
    return o->have_header ? read_entry(o, key, key_len, value, value_len)
                          : read_header(o, key, key_len, value, value_len);
}

/* ---- the index file ---------------------------------------------------------------- */

static tg_code read_index(opener *o, uint8_t **bytes, size_t *size)
{
    int fd;
    uint64_t n;
    *bytes = NULL;
    tg_code code = tg__open_regular(o->index_path, &fd, &n, o->err, o->err_size);
    if (code != TG_OK) return code;
    if (n > TG_CHECKPOINT_MAX_INDEX_BYTES) {
        close(fd);
        return FAIL(o, TG_RESOURCE_EXHAUSTED, "%s: index of %llu bytes, over TG_CHECKPOINT_MAX_INDEX_BYTES",
                    o->index_path, (unsigned long long)n);
    }
    uint8_t *b = malloc(n ? (size_t)n : 1);
    size_t got = 0;
    int e = b ? tg__pread_full(fd, b, (size_t)n, 0, &got) : 0;
    close(fd);
    if (!b) return OOM(o);
    if (e != 0 || got < n) {
        free(b);
        return e ? tg__errno_fail(e, "cannot read", o->index_path, o->err, o->err_size)
                 : FAIL(o, TG_DATA_LOSS, "%s: truncated while read (%zu of %llu bytes)", o->index_path, got,
                        (unsigned long long)n);
    }
    *bytes = b;
    *size = (size_t)n;
    return TG_OK;
}

static tg_code scan_index(opener *o)
{
    uint8_t *bytes;
    size_t size = 0;
    tg_code code = read_index(o, &bytes, &size);
    if (code != TG_OK) return code;
    code = tg__sst_scan(bytes, size, o->index_path, visit, o, o->err, o->err_size);
    free(bytes);
    if (code == TG_OK && !o->have_header)
        code = FAIL(o, TG_DATA_LOSS, "%s: no header entry (the table is empty)", o->index_path);
    return code;
}

/* ---- data files ------------------------------------------------------------------- */

/* Opens the data file of every shard an entry uses and checks that each
 * entry's bytes lie inside it. */
static tg_code open_shards(opener *o, tg_checkpoint_reader *r, const pending *p, int n)
{
    uint64_t *sizes = calloc((size_t)o->num_shards, sizeof *sizes);
    r->fds = malloc((size_t)o->num_shards * sizeof *r->fds);
    if (!sizes || !r->fds) return free(sizes), OOM(o);
    r->num_shards = o->num_shards;
    for (int s = 0; s < r->num_shards; s++) r->fds[s] = -1;
    tg_code code = TG_OK;
    for (int i = 0; i < n && code == TG_OK; i++) {
        const char *name = (const char *)o->names.data + p[i].name_off;
        const tg__bundle_loc *l = &p[i].loc;
        char *path = tg__data_path(o->prefix, l->shard, r->num_shards);
        char msg[512];
        tg_code open_code = TG_OK;
        if (!path) code = OOM(o);
        else if (r->fds[l->shard] < 0 &&
                 (open_code = tg__open_regular(path, &r->fds[l->shard], &sizes[l->shard], msg, sizeof msg)) != TG_OK)
            code = FAIL(o, open_code, "%s (data file of entry '%s' in %s)", msg, name, o->index_path);
        else if (l->offset > sizes[l->shard] || l->size > sizes[l->shard] - l->offset)
            code = FAIL(o, TG_DATA_LOSS, "%s: entry '%s': bytes [%llu, %llu) lie past the end of %s (%llu bytes)",
                        o->index_path, name, (unsigned long long)l->offset,
                        (unsigned long long)(l->offset + l->size), path, (unsigned long long)sizes[l->shard]);
        free(path);
    }
    free(sizes);
    return code;
}

/* ---- the reader --------------------------------------------------------------------- */

/* Lays the entries out as one allocation (what tg_train_list_variables hands
 * out): the tg_checkpoint_var array, then every dimension, then the names. */
static tg_code build_vars(opener *o, tg_checkpoint_reader *r, const pending *p, int n)
{
    r->n = 0;
    if (n == 0) return TG_OK; /* a header alone: no block at all (NULL + 0 is undefined) */
    size_t ndims = o->dims.len / sizeof(int64_t);
    size_t bytes = (size_t)n * sizeof(tg_checkpoint_var) + ndims * sizeof(int64_t) + o->names.len;
    r->vars = malloc(bytes);
    r->loc = malloc((size_t)n * sizeof *r->loc);
    if (!r->vars || !r->loc) return OOM(o);
    int64_t *dims = (int64_t *)(r->vars + n);
    char *names = (char *)(dims + ndims);
    if (ndims) memcpy(dims, o->dims.data, ndims * sizeof(int64_t));
    if (o->names.len) memcpy(names, o->names.data, o->names.len);
    for (int i = 0; i < n; i++) {
        const tg__tf_dtype_info *t = tg__tf_dtype(p[i].tf_dtype);
        bool loadable = t->tg >= 0 && p[i].rank <= TG_MAX_RANK;
        r->vars[i] = (tg_checkpoint_var){
            .name = names + p[i].name_off, .tf_dtype = p[i].tf_dtype, .dtype_name = t->name, .loadable = loadable,
            .dtype = loadable ? (tg_dtype)t->tg : TG_DTYPE_COUNT, .rank = p[i].rank,
            .dims = p[i].rank > 0 ? dims + p[i].dims_off : NULL, .nbytes = p[i].loc.size};
        r->loc[i] = p[i].loc;
    }
    r->n = n;
    return TG_OK;
}

static bool host_is_big_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 0;
}

static tg_code open_reader(opener *o, tg_checkpoint_reader *r)
{
    tg_code code = scan_index(o);
    const pending *p = (const pending *)o->entries.data;
    size_t n = o->entries.len / sizeof(pending);
    if (code == TG_OK && n > INT32_MAX)
        code = FAIL(o, TG_RESOURCE_EXHAUSTED, "%s: more than %d entries", o->index_path, INT32_MAX);
    if (code == TG_OK) code = open_shards(o, r, p, (int)n);
    if (code == TG_OK) code = build_vars(o, r, p, (int)n);
    r->swap = o->big_endian != host_is_big_endian();
    return code;
}

tg_code tg_checkpoint_reader_open(const char *prefix, tg_checkpoint_reader **out, char *err, size_t err_size)
{
    if (out) *out = NULL;
    if (!prefix || !*prefix || !out)
        return tg__ferr(err, err_size, TG_INVALID_ARGUMENT, "tg_checkpoint_reader_open: %s",
                        !out ? "out is NULL" : "the prefix is NULL or empty");
    tg_checkpoint_reader *r = calloc(1, sizeof *r);
    char *index_path = tg__index_path(prefix);
    size_t plen = strlen(prefix);
    char *prefix_copy = malloc(plen + 1);
    if (!r || !index_path || !prefix_copy) {
        free(r), free(index_path), free(prefix_copy);
        return tg__ferr(err, err_size, TG_RESOURCE_EXHAUSTED, "checkpoint %s: out of memory", prefix);
    }
    memcpy(prefix_copy, prefix, plen + 1);
    r->prefix = prefix_copy;
    r->index_path = index_path;
    opener o = {.prefix = prefix, .index_path = index_path, .err = err, .err_size = err_size};
    tg_code code = open_reader(&o, r);
    tg__buf_free(&o.entries);
    tg__buf_free(&o.names);
    tg__buf_free(&o.dims);
    if (code != TG_OK) {
        tg_checkpoint_reader_free(r);
        return code;
    }
    *out = r;
    return TG_OK;
}

void tg_checkpoint_reader_free(tg_checkpoint_reader *r)
{
    if (!r) return;
    for (int s = 0; r->fds && s < r->num_shards; s++)
        if (r->fds[s] >= 0) close(r->fds[s]);
    free(r->fds);
    free(r->vars);
    free(r->loc);
    free(r->prefix);
    free(r->index_path);
    free(r);
}
