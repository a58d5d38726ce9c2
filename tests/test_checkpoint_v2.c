/* test_checkpoint_v2.c: TensorFlow's checkpoint format (tensor bundle V2,
 * tgraph/checkpoint.h) against files TensorFlow wrote and against an
 * independent reading of the format made here.
 *
 * - tests/data/tf/ holds three checkpoints written by TensorFlow (TF
 *   Serving's test models, see its README): their values are known from the
 *   models' definitions (half_plus_two: a = 0.5, b = 2, c = 3; a2 = 0.5 and
 *   c2 = 3 are the initial_value constants of its saved_model.pb;
 *   half_plus_three: a = 0.5, b = 3, c = 3; counter: 0). One index is
 *   Snappy-compressed (written by an older TF), two are not.
 * - Writing the same tensors must give TF's bytes: both uncompressed indexes
 *   and all three data files are compared byte for byte; for the Snappy one,
 *   its data block (uncompressed by the small Snappy decoder here) must be
 *   the block tgraph writes.
 * - CRC32C is checked against published vectors ("123456789" ->
 *   0xE3069283, RFC 3720's 32-byte patterns), computed bit by bit here.
 * - Hostile files are made here with a small SSTable and protobuf writer of
 *   this file's own (one block, full keys), so every field can lie. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_check.h"
#include "tg_files.h"

/* ---- the test data ------------------------------------------------------------- */

/* "<data>/<model>/variables", the prefix of a TF checkpoint. */
static char *tf_prefix(const char *model)
{
    char *m = tgf_path_join(tgf_tf_testdata(), model);
    char *p = tgf_path_join(m, "variables");
    free(m);
    return p;
}

static char *with_suffix(const char *prefix, const char *suffix)
{
    size_t n = strlen(prefix) + strlen(suffix) + 1;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s%s", prefix, suffix);
    return p;
}

#define DATA_SUFFIX ".data-00000-of-00001"

static void assert_same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = tgf_read_all(a, &na), *y = tgf_read_all(b, &nb);
    ck_assert_msg(na == nb && memcmp(x, y, na) == 0, "%s (%zu bytes) and %s (%zu bytes) differ", a, na, b, nb);
    free(x);
    free(y);
}

/* ---- an independent CRC32C, Snappy decoder and SSTable/protobuf writer ----------- */

static uint32_t crc32c_bitwise(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return ~c;
}

/* TF's crc32c::Mask and Unmask, from their definition. */
static uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
static uint32_t unmask(uint32_t m) { return ((m - 0xa282ead8u) >> 17) | ((m - 0xa282ead8u) << 15); }

static uint32_t get32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    for (; v >= 0x80; v >>= 7) p[n++] = (unsigned char)(v | 0x80);
    p[n++] = (unsigned char)v;
    return n;
}

static uint64_t get_varint(const unsigned char **p)
{
    uint64_t v = 0;
    for (int s = 0;; s += 7) {
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) return v;
    }
}

/* A Snappy stream decoded (the format's four element kinds); returns the
 * length written into out. */
static size_t snappy_decode(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    const unsigned char *p = in, *end = in + n;
    size_t len = (size_t)get_varint(&p), o = 0;
    ck_assert_uint_le(len, cap);
    while (p < end) {
        unsigned tag = *p++, kind = tag & 3;
        size_t l, off = 0;
        if (kind == 0) {
            l = (tag >> 2) + 1;
            if (l > 60) {
                size_t extra = l - 60;
                l = 0;
                for (size_t i = 0; i < extra; i++) l |= (size_t)p[i] << (8 * i);
                l += 1;
                p += extra;
            }
            memcpy(out + o, p, l);
            p += l;
            o += l;
            continue;
        }
        if (kind == 1) l = ((tag >> 2) & 7) + 4, off = (size_t)(tag >> 5) << 8 | *p++;
        else if (kind == 2) l = (tag >> 2) + 1, off = p[0] | (size_t)p[1] << 8, p += 2;
        else l = (tag >> 2) + 1, off = get32(p), p += 4;
        for (size_t i = 0; i < l; i++, o++) out[o] = out[o - off];
    }
    ck_assert_uint_eq(o, len);
    return o;
}

typedef struct kv {
    const char *key;
    const unsigned char *val;
    size_t len;
} kv;

/* One block: full keys (nothing shared), one restart point at 0. With
 * snappy, stored as one Snappy literal (a valid Snappy stream) whose header
 * claims `claim` bytes (0: the true length). */
static size_t put_block(unsigned char *out, const kv *e, int n, bool snappy, size_t claim)
{
    unsigned char raw[8192];
    size_t r = 0;
    for (int i = 0; i < n; i++) {
        size_t kl = strlen(e[i].key);
        r += put_varint(raw + r, 0);
        r += put_varint(raw + r, kl);
        r += put_varint(raw + r, e[i].len);
        memcpy(raw + r, e[i].key, kl);
        memcpy(raw + r + kl, e[i].val, e[i].len);
        r += kl + e[i].len;
    }
    put32(raw + r, 0);
    put32(raw + r + 4, 1);
    r += 8;
    size_t o = 0;
    if (snappy) {
        o += put_varint(out, claim ? claim : r);
        ck_assert_uint_le(r, 60); /* a one-byte literal tag */
        out[o++] = (unsigned char)((r - 1) << 2);
    }
    memcpy(out + o, raw, r);
    o += r;
    out[o] = snappy ? 1 : 0;
    put32(out + o + 1, mask(crc32c_bitwise(out, o + 1)));
    return o + 5;
}

/* A whole table: the entries in one data block, an empty metaindex block,
 * an index block of one entry ("\xff", above every key), the footer. */
static size_t put_table_claim(unsigned char *out, const kv *e, int n, bool snappy, size_t claim)
{
    size_t data_n = put_block(out, e, n, snappy, claim) - 5;
    size_t meta_off = data_n + 5;
    size_t meta_n = put_block(out + meta_off, NULL, 0, false, 0) - 5;
    unsigned char handle[20];
    size_t hl = put_varint(handle, 0);
    hl += put_varint(handle + hl, data_n);
    kv idx = {"\xff", handle, hl};
    size_t index_off = meta_off + meta_n + 5;
    size_t index_n = put_block(out + index_off, &idx, 1, false, 0) - 5;
    unsigned char *f = out + index_off + index_n + 5;
    memset(f, 0, 48);
    size_t fl = put_varint(f, meta_off);
    fl += put_varint(f + fl, meta_n);
    fl += put_varint(f + fl, index_off);
    put_varint(f + fl, index_n);
    put32(f + 40, 0x8b80fb57u);
    put32(f + 44, 0xdb477524u);
    return (size_t)(f + 48 - out);
}

static size_t put_table(unsigned char *out, const kv *e, int n, bool snappy)
{
    return put_table_claim(out, e, n, snappy, 0);
}

/* A BundleEntryProto: dtype 1, shape 2 (dim 2 { size 1 }), shard_id 3,
 * offset 4, size 5, crc32c 6 (fixed32), slices 7. */
typedef struct entry_spec {
    int dtype, rank, shard;
    int64_t dims[4];
    int64_t offset, size;
    uint32_t crc; /* unmasked */
    bool slices, unknown_rank;
} entry_spec;

static size_t put_entry(unsigned char *out, const entry_spec *s)
{
    size_t o = 0;
    out[o++] = 0x08, o += put_varint(out + o, (uint64_t)s->dtype);
    unsigned char shape[128];
    size_t sl = 0;
    for (int i = 0; i < s->rank; i++) {
        unsigned char dim[16];
        size_t dl = 0;
        if (s->dims[i]) dim[dl++] = 0x08, dl += put_varint(dim + dl, (uint64_t)s->dims[i]);
        shape[sl++] = 0x12, sl += put_varint(shape + sl, dl);
        memcpy(shape + sl, dim, dl), sl += dl;
    }
    if (s->unknown_rank) shape[sl++] = 0x18, shape[sl++] = 1;
    out[o++] = 0x12, o += put_varint(out + o, sl);
    memcpy(out + o, shape, sl), o += sl;
    if (s->shard) out[o++] = 0x18, o += put_varint(out + o, (uint64_t)(int64_t)s->shard);
    if (s->offset) out[o++] = 0x20, o += put_varint(out + o, (uint64_t)s->offset);
    if (s->size) out[o++] = 0x28, o += put_varint(out + o, (uint64_t)s->size);
    out[o++] = 0x35, put32(out + o, mask(s->crc)), o += 4;
    if (s->slices) out[o++] = 0x3a, out[o++] = 0; /* one empty TensorSliceProto */
    return o;
}

/* A BundleHeaderProto: num_shards 1, endianness 2, version 3 {producer 1,
 * min_consumer 2}. */
static size_t put_header(unsigned char *out, int shards, int endianness, int min_consumer)
{
    size_t o = 0;
    out[o++] = 0x08, o += put_varint(out + o, (uint64_t)(int64_t)shards);
    if (endianness) out[o++] = 0x10, o += put_varint(out + o, (uint64_t)endianness);
    unsigned char v[16];
    size_t vl = 0;
    v[vl++] = 0x08, v[vl++] = 1;
    if (min_consumer) v[vl++] = 0x10, vl += put_varint(v + vl, (uint64_t)min_consumer);
    out[o++] = 0x1a, out[o++] = (unsigned char)vl;
    memcpy(out + o, v, vl);
    return o + vl;
}

/* ---- a scratch checkpoint made by hand --------------------------------------------- */

typedef struct scratch {
    char *dir, *prefix, *index, *data;
} scratch;

static scratch scratch_new(void)
{
    scratch s;
    s.dir = tgf_make_tmpdir("tgraph-ckv2");
    s.prefix = tgf_path_join(s.dir, "model.ckpt-7");
    s.index = with_suffix(s.prefix, ".index");
    s.data = with_suffix(s.prefix, DATA_SUFFIX);
    return s;
}

static void scratch_free(scratch *s)
{
    tgf_remove_tree(s->dir);
    free(s->dir), free(s->prefix), free(s->index), free(s->data);
}

/* Writes a checkpoint whose header is hdr and whose only tensor "w" is
 * described by spec, with data file bytes data[0..n). */
static void write_one(const scratch *s, const unsigned char *hdr, size_t hl, const entry_spec *spec,
                      const void *data, size_t n)
{
    unsigned char ev[512], table[16384];
    size_t el = put_entry(ev, spec);
    kv e[2] = {{"", hdr, hl}, {"w", ev, el}};
    tgf_write_all(s->index, table, put_table(table, e, 2, false));
    tgf_write_all(s->data, data, n);
}

static unsigned char std_header[32];
static size_t std_header_len(void) { return put_header(std_header, 1, 0, 0); }

/* Opening s->prefix fails with code and a message naming the index file
 * and containing want; the reader stays NULL. */
static void expect_open_fails(const scratch *s, tg_code code, const char *file, const char *want)
{
    char err[1024] = "";
    tg_checkpoint_reader *r = (tg_checkpoint_reader *)1;
    tg_code c = tg_checkpoint_reader_open(s->prefix, &r, err, sizeof err);
    ck_assert_msg(c == code, "open: %s (%s), want %s", tg_code_name(c), err, tg_code_name(code));
    ck_assert_ptr_null(r);
    ck_assert_str_contains(err, file);
    ck_assert_str_contains(err, want);
    tg_checkpoint_var *v = (tg_checkpoint_var *)1;
    int n = 5;
    ck_assert_int_eq(tg_train_list_variables(s->prefix, &v, &n, NULL, 0), code);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(n, 0);
}

/* ---- TF's files ---------------------------------------------------------------------- */

static void expect_scalars(const char *model, const char *const *names, const float *values, int n)
{
    char *prefix = tf_prefix(model), err[512];
    tg_checkpoint_var *v;
    int got;
    tg_code c = tg_train_list_variables(prefix, &v, &got, err, sizeof err);
    ck_assert_msg(c == TG_OK, "%s: %s", model, err);
    ck_assert_int_eq(got, n);
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(v[i].name, names[i]);
        ck_assert_int_eq(v[i].tf_dtype, 1);
        ck_assert_str_eq(v[i].dtype_name, "float32");
        ck_assert(v[i].loadable);
        ck_assert_int_eq(v[i].dtype, TG_FLOAT32);
        ck_assert_int_eq(v[i].rank, 0);
        ck_assert_ptr_null(v[i].dims);
        ck_assert_uint_eq(v[i].nbytes, 4);
        tg_array *a;
        ck_assert_msg(tg_train_load_variable(prefix, names[i], &a, err, sizeof err) == TG_OK, "%s", err);
        ck_assert_int_eq(tg_array_dtype(a), TG_FLOAT32);
        ck_assert_int_eq(tg_array_rank(a), 0);
        ck_assert_float_eq(*(const float *)tg_array_cdata(a), values[i]);
        tg_array_free(a);
    }
    tg_free(v);
    free(prefix);
}

START_TEST(test_read_tf_files)
{
    /* half_plus_two_cpu's index is Snappy-compressed. */
    expect_scalars("half_plus_two_cpu", (const char *const[]){"a", "a2", "b", "c", "c2"},
                   (const float[]){0.5f, 0.5f, 2.0f, 3.0f, 3.0f}, 5);
    expect_scalars("half_plus_three", (const char *const[]){"a", "b", "c"}, (const float[]){0.5f, 3.0f, 3.0f}, 3);
    expect_scalars("counter", (const char *const[]){"counter"}, (const float[]){0.0f}, 1);
}
END_TEST

START_TEST(test_reader_api)
{
    char *prefix = tf_prefix("half_plus_two_cpu"), err[512];
    ck_assert(tg_checkpoint_is_v2(prefix));
    ck_assert(!tg_checkpoint_is_v2(tgf_tf_testdata()));
    ck_assert(!tg_checkpoint_is_v2(NULL));
    tg_checkpoint_reader *r;
    ck_assert_int_eq(tg_checkpoint_reader_open(prefix, &r, err, sizeof err), TG_OK);
    ck_assert_int_eq(tg_checkpoint_reader_count(r), 5);
    ck_assert_str_eq(tg_checkpoint_reader_find(r, "c")->name, "c");
    ck_assert_ptr_null(tg_checkpoint_reader_find(r, "d"));
    ck_assert_ptr_null(tg_checkpoint_reader_find(r, ""));
    float b = 0;
    ck_assert_int_eq(tg_checkpoint_reader_read(r, "b", &b, sizeof b, err, sizeof err), TG_OK);
    ck_assert_float_eq(b, 2.0f);
    ck_assert_int_eq(tg_checkpoint_reader_read(r, "b", &b, 8, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(err, "holds 4 bytes, not 8");
    ck_assert_int_eq(tg_checkpoint_reader_read(r, "nope", &b, 4, err, sizeof err), TG_NOT_FOUND);
    ck_assert_str_contains(err, "Key nope not found in checkpoint");
    ck_assert_str_contains(err, prefix);
    tg_array *a = (tg_array *)1;
    ck_assert_int_eq(tg_checkpoint_reader_load(r, "nope", &a, err, sizeof err), TG_NOT_FOUND);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(tg_checkpoint_reader_load(r, NULL, &a, err, sizeof err), TG_INVALID_ARGUMENT);
    tg_checkpoint_reader_free(r);
    tg_checkpoint_reader_free(NULL);
    ck_assert_int_eq(tg_checkpoint_reader_open(NULL, &r, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_checkpoint_reader_open("", &r, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_checkpoint_reader_open(prefix, NULL, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_checkpoint_reader_count(NULL), 0);
    ck_assert_ptr_null(tg_checkpoint_reader_vars(NULL));
    free(prefix);
}
END_TEST

/* Loads every tensor of TF's checkpoint and writes them with tgraph. */
static void rewrite(const char *model, const char *out_prefix)
{
    char *prefix = tf_prefix(model), err[512];
    tg_checkpoint_reader *r;
    ck_assert_int_eq(tg_checkpoint_reader_open(prefix, &r, err, sizeof err), TG_OK);
    int n = tg_checkpoint_reader_count(r);
    const char *names[8];
    tg_array *values[8];
    /* Given in reverse: the writer sorts. */
    for (int i = 0; i < n; i++) {
        names[n - 1 - i] = tg_checkpoint_reader_vars(r)[i].name;
        ck_assert_int_eq(tg_checkpoint_reader_load(r, names[n - 1 - i], &values[n - 1 - i], err, sizeof err), TG_OK);
    }
    ck_assert_msg(tg_checkpoint_write(out_prefix, n, names, (const tg_array *const *)values, err, sizeof err) == TG_OK,
                  "%s", err);
    for (int i = 0; i < n; i++) tg_array_free(values[i]);
    tg_checkpoint_reader_free(r);
    free(prefix);
}

/* The data block of an index file, uncompressed if it is Snappy. */
static size_t data_block(const unsigned char *file, size_t size, unsigned char *out, size_t cap)
{
    const unsigned char *f = file + size - 48;
    get_varint(&f), get_varint(&f);
    uint64_t index_off = get_varint(&f);
    const unsigned char *p = file + index_off;
    ck_assert_int_eq(p[0], 0); /* shared */
    uint64_t kl = (p++, get_varint(&p));
    get_varint(&p);
    p += kl;
    uint64_t off = get_varint(&p), n = get_varint(&p);
    ck_assert_uint_eq(crc32c_bitwise(file + off, n + 1), unmask(get32(file + off + n + 1)));
    if (file[off + n] == 1) return snappy_decode(file + off, n, out, cap);
    ck_assert_int_eq(file[off + n], 0);
    memcpy(out, file + off, n);
    return n;
}

START_TEST(test_written_bytes_are_tfs)
{
    char *dir = tgf_make_tmpdir("tgraph-ckv2");
    const char *models[] = {"half_plus_three", "counter", "half_plus_two_cpu"};
    for (int m = 0; m < 3; m++) {
        char *out = tgf_path_join(dir, models[m]), *tf = tf_prefix(models[m]);
        rewrite(models[m], out);
        char *tf_index = with_suffix(tf, ".index"), *tf_data = with_suffix(tf, DATA_SUFFIX);
        char *our_index = with_suffix(out, ".index"), *our_data = with_suffix(out, DATA_SUFFIX);
        assert_same_file(tf_data, our_data);
        if (m < 2) {
            assert_same_file(tf_index, our_index); /* TF wrote these uncompressed, as tgraph does */
        } else {
            /* An older TF compressed this index: its data block, uncompressed,
             * is tgraph's block byte for byte. */
            size_t na, nb;
            unsigned char *a = tgf_read_all(tf_index, &na), *b = tgf_read_all(our_index, &nb), ba[4096], bb[4096];
            size_t la = data_block(a, na, ba, sizeof ba), lb = data_block(b, nb, bb, sizeof bb);
            ck_assert_uint_eq(la, lb);
            ck_assert_int_eq(memcmp(ba, bb, la), 0);
            free(a), free(b);
        }
        free(tf_index), free(tf_data), free(our_index), free(our_data), free(out), free(tf);
    }
    tgf_remove_tree(dir);
    free(dir);
}
END_TEST

/* ---- CRC32C --------------------------------------------------------------------------- */

/* The masked CRC32C stored in the index entry of the only tensor of a
 * tgraph-written uncompressed index (field 6 of the entry after the header). */
static uint32_t stored_crc(const char *index_path)
{
    size_t n;
    unsigned char *b = tgf_read_all(index_path, &n), block[4096];
    size_t bl = data_block(b, n, block, sizeof block);
    const unsigned char *p = block;
    for (int e = 0; e < 2; e++) {
        get_varint(&p);
        uint64_t kl = get_varint(&p), vl = get_varint(&p);
        p += kl;
        if (e == 1) {
            const unsigned char *c = memchr(p, 0x35, vl);
            ck_assert_ptr_nonnull(c);
            uint32_t v = get32(c + 1);
            free(b);
            return v;
        }
        p += vl;
    }
    ck_assert_uint_gt(bl, 0);
    free(b);
    return 0;
}

START_TEST(test_crc32c_vectors)
{
    ck_assert_uint_eq(crc32c_bitwise("123456789", 9), 0xE3069283u); /* the test's own CRC first */
    scratch s = scratch_new();
    char err[512];
    /* "123456789" as a uint8 tensor made by hand: the library reads it only
     * if it computes the same CRC. */
    entry_spec u8 = {.dtype = 4, .rank = 1, .dims = {9}, .size = 9, .crc = 0xE3069283u};
    write_one(&s, std_header, std_header_len(), &u8, "123456789", 9);
    tg_checkpoint_reader *r;
    ck_assert_int_eq(tg_checkpoint_reader_open(s.prefix, &r, err, sizeof err), TG_OK);
    const tg_checkpoint_var *v = tg_checkpoint_reader_find(r, "w");
    ck_assert_str_eq(v->dtype_name, "uint8");
    ck_assert(!v->loadable);
    char buf[9];
    ck_assert_msg(tg_checkpoint_reader_read(r, "w", buf, 9, err, sizeof err) == TG_OK, "%s", err);
    ck_assert_int_eq(memcmp(buf, "123456789", 9), 0);
    tg_array *a;
    ck_assert_int_eq(tg_checkpoint_reader_load(r, "w", &a, err, sizeof err), TG_UNIMPLEMENTED);
    ck_assert_str_contains(err, "dtype uint8");
    tg_checkpoint_reader_free(r);
    /* RFC 3720 B.4's 32-byte vectors, written by tgraph as int32 [8]. */
    static const struct {
        int fill; /* -1: ascending bytes 0..31 */
        uint32_t crc;
    } vec[] = {{0x00, 0x8A9136AAu}, {0xff, 0x62A8AB43u}, {-1, 0x46DD794Eu}};
    for (int i = 0; i < 3; i++) {
        unsigned char bytes[32];
        for (int k = 0; k < 32; k++) bytes[k] = (unsigned char)(vec[i].fill < 0 ? k : vec[i].fill);
        ck_assert_uint_eq(crc32c_bitwise(bytes, 32), vec[i].crc);
        tg_array *x = tg_array_new_from(TG_INT32, 1, (const int64_t[]){8}, bytes);
        ck_assert_int_eq(tg_checkpoint_write(s.prefix, 1, (const char *const[]){"w"}, (const tg_array *const *)&x,
                                             err, sizeof err), TG_OK);
        ck_assert_uint_eq(stored_crc(s.index), mask(vec[i].crc));
        tg_array_free(x);
    }
    scratch_free(&s);
}
END_TEST

/* ---- round trips ------------------------------------------------------------------------ */

START_TEST(test_round_trip_every_dtype)
{
    scratch s = scratch_new();
    char err[512];
    enum { N = 9 };
    float f32[6] = {1.5f, -2.25f, 3e-8f, 0.0f, -0.0f, 1e30f};
    double f64[3] = {3.141592653589793, -1e-300, 2.5};
    int32_t i32[4] = {INT32_MIN, -1, 0, INT32_MAX};
    int64_t i64 = INT64_MIN + 7;
    bool bools[5] = {true, false, true, true, false};
    int64_t rank8[8] = {1, 2, 1, 1, 1, 1, 1, 3};
    double r8[6] = {1, 2, 3, 4, 5, 6};
    tg_array *v[N] = {
        tg_array_new_from(TG_FLOAT32, 2, (const int64_t[]){2, 3}, f32),
        tg_array_new_from(TG_FLOAT64, 1, (const int64_t[]){3}, f64),
        tg_array_new_from(TG_INT32, 2, (const int64_t[]){2, 2}, i32),
        tg_array_scalar_i64(i64),
        tg_array_new_from(TG_BOOL, 1, (const int64_t[]){5}, bools),
        tg_array_new(TG_FLOAT32, 1, (const int64_t[]){0}),
        tg_array_new(TG_INT64, 3, (const int64_t[]){2, 0, 3}),
        tg_array_new_from(TG_FLOAT64, 8, rank8, r8),
        tg_array_scalar_bool(true),
    };
    /* Unsorted, with a shared prefix: the file holds them sorted. */
    const char *names[N] = {"layer/w", "layer/b", "counts", "global_step", "mask", "empty", "empty3d", "deep", "flag"};
    const char *sorted[N] = {"counts", "deep", "empty", "empty3d", "flag", "global_step", "layer/b", "layer/w", "mask"};
    ck_assert_msg(tg_checkpoint_write(s.prefix, N, names, (const tg_array *const *)v, err, sizeof err) == TG_OK, "%s",
                  err);
    tg_checkpoint_var *list;
    int n;
    ck_assert_int_eq(tg_train_list_variables(s.prefix, &list, &n, err, sizeof err), TG_OK);
    ck_assert_int_eq(n, N);
    for (int i = 0; i < N; i++) ck_assert_str_eq(list[i].name, sorted[i]);
    for (int i = 0; i < N; i++) {
        const tg_checkpoint_var *e = NULL;
        for (int k = 0; k < N; k++)
            if (!strcmp(list[k].name, names[i])) e = &list[k];
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->dtype, tg_array_dtype(v[i]));
        ck_assert_str_eq(e->dtype_name, tg_dtype_name(tg_array_dtype(v[i])));
        ck_assert_int_eq(e->rank, tg_array_rank(v[i]));
        for (int d = 0; d < e->rank; d++) ck_assert_int_eq(e->dims[d], tg_array_dim(v[i], d));
        ck_assert_uint_eq(e->nbytes, tg_array_nbytes(v[i]));
        tg_array *back;
        ck_assert_msg(tg_train_load_variable(s.prefix, names[i], &back, err, sizeof err) == TG_OK, "%s", err);
        ck_assert_int_eq(tg_array_dtype(back), tg_array_dtype(v[i]));
        ck_assert_int_eq(tg_array_rank(back), tg_array_rank(v[i]));
        ck_assert_uint_eq(tg_array_nbytes(back), tg_array_nbytes(v[i]));
        ck_assert_int_eq(memcmp(tg_array_cdata(back), tg_array_cdata(v[i]), tg_array_nbytes(v[i])), 0);
        tg_array_free(back);
    }
    /* TF's dtype numbers (types.proto). */
    static const int tf_numbers[N] = {3, 2, 1, 9, 10, 9, 2, 1, 10};
    for (int i = 0; i < N; i++) ck_assert_int_eq(list[i].tf_dtype, tf_numbers[i]);
    tg_free(list);
    for (int i = 0; i < N; i++) tg_array_free(v[i]);
    /* No tensor at all: a header alone. */
    ck_assert_int_eq(tg_checkpoint_write(s.prefix, 0, NULL, NULL, err, sizeof err), TG_OK);
    ck_assert_int_eq(tg_train_list_variables(s.prefix, &list, &n, err, sizeof err), TG_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(list);
    scratch_free(&s);
}
END_TEST

typedef struct walked {
    int blocks, entries;
    char index_key[8][256];
    char first[8][256], last[8][256]; /* each data block's first and last keys */
} walked;

/* Walks a data block: a restart point every 16 entries (shared 0 there,
 * listed at the block's end); in between, keys share prefixes. */
static void walk_data_block(const unsigned char *b, size_t n, walked *w)
{
    uint32_t nr = get32(b + n - 4);
    const unsigned char *q = b, *end = b + n - 4 - 4 * nr;
    char key[256] = "";
    for (int e = 0; q < end; e++, w->entries++) {
        uint32_t at = (uint32_t)(q - b);
        uint64_t shared = get_varint(&q), unshared = get_varint(&q), vl = get_varint(&q);
        if (e % 16 == 0) {
            ck_assert_uint_eq(shared, 0);
            ck_assert_uint_eq(get32(end + 4 * (e / 16)), at);
        } else {
            ck_assert_uint_gt(shared + unshared, 0);
        }
        memcpy(key + shared, q, unshared);
        key[shared + unshared] = 0;
        if (e == 0) snprintf(w->first[w->blocks], 256, "%s", key);
        q += unshared + vl;
    }
    snprintf(w->last[w->blocks], 256, "%s", key);
}

/* Walks an uncompressed index as the format says: footer and magic, the
 * empty metaindex block, the index block (restart interval 1), each data
 * block with its trailer. */
static void walk_index(const unsigned char *file, size_t size, walked *w)
{
    memset(w, 0, sizeof *w);
    ck_assert_uint_eq(get32(file + size - 8), 0x8b80fb57u);
    ck_assert_uint_eq(get32(file + size - 4), 0xdb477524u);
    const unsigned char *f = file + size - 48;
    uint64_t meta_off = get_varint(&f), meta_n = get_varint(&f), index_off = get_varint(&f),
             index_n = get_varint(&f);
    ck_assert_uint_eq(meta_n, 8); /* empty: one restart point at 0 and the count 1 */
    ck_assert_uint_eq(get32(file + meta_off), 0);
    ck_assert_uint_eq(get32(file + meta_off + 4), 1);
    ck_assert_uint_eq(index_off + index_n + 5 + 48, size);
    const unsigned char *b = file + index_off;
    uint32_t nr = get32(b + index_n - 4);
    const unsigned char *p = b, *end = b + index_n - 4 - 4 * nr;
    while (p < end) {
        ck_assert_uint_eq(get32(end + 4 * w->blocks), (uint32_t)(p - b));
        ck_assert_int_eq(get_varint(&p), 0);
        uint64_t kl = get_varint(&p);
        get_varint(&p);
        memcpy(w->index_key[w->blocks], p, kl);
        w->index_key[w->blocks][kl] = 0;
        p += kl;
        uint64_t off = get_varint(&p), n = get_varint(&p);
        ck_assert_int_eq(file[off + n], 0);
        ck_assert_uint_eq(get32(file + off + n + 1), mask(crc32c_bitwise(file + off, n + 1)));
        walk_data_block(file + off, n, w);
        w->blocks++;
    }
    ck_assert_uint_eq(nr, (uint32_t)w->blocks);
}

/* LevelDB's shortest separator of a <= b, from its definition: the first
 * differing byte raised by one when that stays below b's, the rest cut. */
static void separator(const char *a, const char *b, char *out)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i]) i++;
    snprintf(out, 256, "%s", a);
    if (a[i] && b[i] && (unsigned char)a[i] < 0xff && (unsigned char)a[i] + 1 < (unsigned char)b[i]) {
        out[i]++;
        out[i + 1] = 0;
    }
}

START_TEST(test_index_structure)
{
    scratch s = scratch_new();
    char err[512];
    /* 3000 names of 100 bytes: over 256 KiB of index, so two data blocks. */
    enum { N = 3000 };
    static char namebuf[N][104];
    const char *names[N];
    tg_array *one = tg_array_scalar_f32(1.0f);
    const tg_array *values[N];
    for (int i = 0; i < N; i++) {
        snprintf(namebuf[i], sizeof namebuf[i], "tower_%04d/%0*d", i, 89, i);
        names[i] = namebuf[i];
        values[i] = one;
    }
    ck_assert_msg(tg_checkpoint_write(s.prefix, N, names, values, err, sizeof err) == TG_OK, "%s", err);
    size_t size;
    unsigned char *file = tgf_read_all(s.index, &size);
    static walked w;
    walk_index(file, size, &w);
    ck_assert_int_eq(w.entries, N + 1);
    ck_assert_int_eq(w.blocks, 2);
    /* The first block's index key separates it from the next; the last is
     * the short successor of the last key ("tower_2999/..." -> "u"). */
    char sep[256];
    separator(w.last[0], w.first[1], sep);
    ck_assert_str_eq(w.index_key[0], sep);
    ck_assert_str_eq(w.index_key[1], "u");
    tg_checkpoint_reader *r;
    ck_assert_int_eq(tg_checkpoint_reader_open(s.prefix, &r, err, sizeof err), TG_OK);
    ck_assert_int_eq(tg_checkpoint_reader_count(r), N);
    float x = 0;
    ck_assert_int_eq(tg_checkpoint_reader_read(r, names[N - 1], &x, 4, err, sizeof err), TG_OK);
    ck_assert_float_eq(x, 1.0f);
    ck_assert_uint_eq(tg_checkpoint_reader_vars(r)[N - 1].nbytes, 4);
    tg_checkpoint_reader_free(r);
    free(file);
    tg_array_free(one);
    scratch_free(&s);
}
END_TEST

/* ---- writing errors ------------------------------------------------------------------------- */

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        ck_assert_msg(strstr(e->d_name, "tempstate") == NULL, "leftover temporary file %s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

START_TEST(test_write_errors)
{
    scratch s = scratch_new();
    char err[512];
    tg_array *x = tg_array_scalar_f32(1.0f);
    const tg_array *vals[2] = {x, x};
    ck_assert_int_eq(tg_checkpoint_write(NULL, 1, (const char *const[]){"w"}, vals, err, sizeof err),
                     TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_checkpoint_write(s.prefix, -1, NULL, NULL, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_checkpoint_write(s.prefix, 1, NULL, vals, err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_checkpoint_write(s.prefix, 1, (const char *const[]){""}, vals, err, sizeof err),
                     TG_INVALID_ARGUMENT);
    ck_assert_str_contains(err, "header");
    ck_assert_int_eq(tg_checkpoint_write(s.prefix, 1, (const char *const[]){"w"}, (const tg_array *const[]){NULL},
                                         err, sizeof err), TG_INVALID_ARGUMENT);
    ck_assert_int_eq(tg_checkpoint_write(s.prefix, 2, (const char *const[]){"w", "w"}, vals, err, sizeof err),
                     TG_INVALID_ARGUMENT);
    ck_assert_str_contains(err, "Adding duplicate key: w");
    ck_assert_int_eq(count_files(s.dir), 0);
    char *missing = tgf_path_join(s.dir, "no/such/dir/ckpt");
    ck_assert_int_eq(tg_checkpoint_write(missing, 1, (const char *const[]){"w"}, vals, err, sizeof err),
                     TG_NOT_FOUND);
    ck_assert_str_contains(err, "no/such/dir/ckpt.data-00000-of-00001");
    free(missing);
    /* A write over an existing checkpoint replaces both files. */
    ck_assert_int_eq(tg_checkpoint_write(s.prefix, 1, (const char *const[]){"w"}, vals, err, sizeof err), TG_OK);
    ck_assert_int_eq(tg_checkpoint_write(s.prefix, 1, (const char *const[]){"v"}, vals, err, sizeof err), TG_OK);
    ck_assert_int_eq(count_files(s.dir), 2);
    tg_checkpoint_var *list;
    int n;
    ck_assert_int_eq(tg_train_list_variables(s.prefix, &list, &n, err, sizeof err), TG_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(list[0].name, "v");
    tg_free(list);
    ck_assert_int_eq(tg_train_list_variables(s.prefix, NULL, &n, err, sizeof err), TG_INVALID_ARGUMENT);
    tg_array_free(x);
    scratch_free(&s);
}
END_TEST

/* ---- hostile files -------------------------------------------------------------------------- */

/* Every prefix of TF's index and data files, and every bit flipped in the
 * index: an error naming the file, or (a flip in the footer's padding,
 * which nothing covers) the same tensors. */
START_TEST(test_truncations_and_flips)
{
    scratch s = scratch_new();
    const char *models[] = {"half_plus_two_cpu", "half_plus_three"};
    for (int m = 0; m < 2; m++) {
        char *tf = tf_prefix(models[m]), *tf_index = with_suffix(tf, ".index"), *tf_data = with_suffix(tf, DATA_SUFFIX);
        size_t ni, nd;
        unsigned char *index = tgf_read_all(tf_index, &ni), *data = tgf_read_all(tf_data, &nd);
        tgf_write_all(s.data, data, nd);
        for (size_t k = 0; k < ni; k++) {
            tgf_write_all(s.index, index, k);
            expect_open_fails(&s, TG_DATA_LOSS, s.index, k < 48 ? "too short" : "");
        }
        tgf_write_all(s.index, index, ni);
        for (size_t k = 0; k < nd; k++) {
            tgf_write_all(s.data, data, k);
            expect_open_fails(&s, TG_DATA_LOSS, s.data, "lie past the end");
        }
        tgf_write_all(s.data, data, nd);
        for (size_t bit = 0; bit < 8 * ni; bit++) {
            index[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            tgf_write_all(s.index, index, ni);
            char err[1024] = "";
            tg_checkpoint_var *v = NULL;
            int n = 0;
            tg_code c = tg_train_list_variables(s.prefix, &v, &n, err, sizeof err);
            if (c == TG_OK) {
                ck_assert_msg(bit / 8 >= ni - 48 && bit / 8 < ni - 8, "bit %zu flipped yet read", bit);
                ck_assert_int_eq(n, m == 0 ? 5 : 3);
                tg_free(v);
            } else {
                ck_assert_str_contains(err, s.index);
                ck_assert_ptr_null(v);
            }
            index[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        free(index), free(data), free(tf), free(tf_index), free(tf_data);
    }
    scratch_free(&s);
}
END_TEST

START_TEST(test_bad_blocks)
{
    scratch s = scratch_new();
    char *tf = tf_prefix("half_plus_three");
    char *tf_index = with_suffix(tf, ".index"), *tf_data = with_suffix(tf, DATA_SUFFIX);
    size_t ni, nd;
    unsigned char *index = tgf_read_all(tf_index, &ni), *data = tgf_read_all(tf_data, &nd);
    tgf_write_all(s.data, data, nd);
    index[ni - 1] ^= 1;
    tgf_write_all(s.index, index, ni);
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "bad magic");
    index[ni - 1] ^= 1;
    index[10] ^= 0x40; /* inside the data block */
    tgf_write_all(s.index, index, ni);
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "block checksum mismatch");
    index[10] ^= 0x40;
    /* A data byte changed: the index is fine, the value is not. */
    data[5] ^= 1;
    tgf_write_all(s.index, index, ni);
    tgf_write_all(s.data, data, nd);
    char err[1024];
    tg_array *a = (tg_array *)1;
    ck_assert_int_eq(tg_train_load_variable(s.prefix, "a", &a, err, sizeof err), TG_OK);
    tg_array_free(a);
    ck_assert_int_eq(tg_train_load_variable(s.prefix, "b", &a, err, sizeof err), TG_DATA_LOSS);
    ck_assert_ptr_null(a);
    ck_assert_str_contains(err, s.data);
    ck_assert_str_contains(err, "entry 'b'");
    ck_assert_str_contains(err, "Checksum does not match");
    /* No data file. */
    unlink(s.data);
    expect_open_fails(&s, TG_NOT_FOUND, s.data, "entry 'a'");
    unlink(s.index);
    expect_open_fails(&s, TG_NOT_FOUND, s.index, "No such file");
    ck_assert_int_eq(mkdir(s.index, 0700), 0);
    expect_open_fails(&s, TG_INVALID_ARGUMENT, s.index, "not a regular file");
    rmdir(s.index);
    ck_assert_int_eq(mkfifo(s.index, 0600), 0);
    expect_open_fails(&s, TG_INVALID_ARGUMENT, s.index, "not a regular file");
    unlink(s.index);
    free(index), free(data), free(tf), free(tf_index), free(tf_data);
    scratch_free(&s);
}
END_TEST

static const float three[3] = {1, 2, 3};

/* One crafted entry "w" (float32 [3] unless changed) must fail to open. */
static void expect_entry_fails(const scratch *s, entry_spec e, tg_code code, const char *want)
{
    write_one(s, std_header, std_header_len(), &e, three, sizeof three);
    expect_open_fails(s, code, s->index, want);
}

START_TEST(test_bad_entries)
{
    scratch s = scratch_new();
    uint32_t crc = crc32c_bitwise(three, 12);
    const entry_spec ok = {.dtype = 1, .rank = 1, .dims = {3}, .size = 12, .crc = crc};
    write_one(&s, std_header, std_header_len(), &ok, three, sizeof three);
    char err[1024];
    tg_array *a;
    ck_assert_msg(tg_train_load_variable(s.prefix, "w", &a, err, sizeof err) == TG_OK, "%s", err);
    ck_assert_float_eq(((const float *)tg_array_cdata(a))[2], 3.0f);
    tg_array_free(a);
    entry_spec e = ok;
    e.size = (int64_t)1 << 62;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "entry 'w': Invalid size in bundle entry");
    e = ok, e.offset = (int64_t)1 << 62;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "entry 'w': bytes [4611686018427387904, 4611686018427387916) lie past");
    e = ok, e.offset = 4;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "lie past the end");
    e = ok, e.offset = -4;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "negative offset");
    e = ok, e.shard = 1;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "entry 'w': shard 1 of a checkpoint of 1 shards");
    e = ok, e.shard = -1;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "shard -1");
    e = ok, e.dtype = 99;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "entry 'w': invalid dtype 99");
    e = ok, e.dtype = 0;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "invalid dtype 0");
    e = ok, e.dims[0] = -3;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "Invalid tensor shape");
    e = ok, e.unknown_rank = true;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "unknown rank");
    e = ok, e.rank = 3, e.dims[0] = (int64_t)1 << 40, e.dims[1] = (int64_t)1 << 40, e.dims[2] = 1 << 20;
    expect_entry_fails(&s, e, TG_DATA_LOSS, "too many elements");
    e = ok, e.slices = true;
    expect_entry_fails(&s, e, TG_UNIMPLEMENTED, "entry 'w' is a partitioned variable");
    /* A bad proto: a field of wire type 7. */
    unsigned char bad[2] = {0x0f, 0x00}, table[1024];
    kv kvs[2] = {{"", std_header, std_header_len()}, {"w", bad, 2}};
    tgf_write_all(s.index, table, put_table(table, kvs, 2, false));
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "Entry for key w not parseable");
    /* Keys out of order. */
    unsigned char ev[128];
    size_t el = put_entry(ev, &ok);
    kv disorder[3] = {{"", std_header, std_header_len()}, {"x", ev, el}, {"w", ev, el}};
    tgf_write_all(s.index, table, put_table(table, disorder, 3, false));
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "keys out of order");
    /* No header entry first. */
    kv headless[1] = {{"w", ev, el}};
    tgf_write_all(s.index, table, put_table(table, headless, 1, false));
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "no header entry");
    tgf_write_all(s.index, table, put_table(table, NULL, 0, false));
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "no header entry");
    /* A bool byte of 2, with its CRC right. */
    e = ok, e.dtype = 10, e.dims[0] = 3, e.size = 3, e.crc = crc32c_bitwise("\1\2\0", 3);
    write_one(&s, std_header, std_header_len(), &e, "\1\2\0", 3);
    ck_assert_int_eq(tg_train_load_variable(s.prefix, "w", &a, err, sizeof err), TG_DATA_LOSS);
    ck_assert_str_contains(err, "not 0 or 1");
    /* A string tensor lists, but is not read. */
    e = ok, e.dtype = 7, e.size = 12;
    write_one(&s, std_header, std_header_len(), &e, three, sizeof three);
    tg_checkpoint_var *list;
    int n;
    ck_assert_int_eq(tg_train_list_variables(s.prefix, &list, &n, err, sizeof err), TG_OK);
    ck_assert_str_eq(list[0].dtype_name, "string");
    ck_assert(!list[0].loadable);
    tg_free(list);
    ck_assert_int_eq(tg_train_load_variable(s.prefix, "w", &a, err, sizeof err), TG_UNIMPLEMENTED);
    ck_assert_str_contains(err, "string");
    scratch_free(&s);
}
END_TEST

START_TEST(test_bad_headers)
{
    scratch s = scratch_new();
    uint32_t crc = crc32c_bitwise(three, 12);
    const entry_spec ok = {.dtype = 1, .rank = 1, .dims = {3}, .size = 12, .crc = crc};
    unsigned char h[32];
    size_t hl = put_header(h, 0, 0, 0);
    write_one(&s, h, hl, &ok, three, sizeof three);
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "invalid shard count 0");
    hl = put_header(h, -5, 0, 0);
    write_one(&s, h, hl, &ok, three, sizeof three);
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "invalid shard count -5");
    hl = put_header(h, 1, 7, 0);
    write_one(&s, h, hl, &ok, three, sizeof three);
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "invalid endianness 7");
    hl = put_header(h, 1, 0, 2);
    write_one(&s, h, hl, &ok, three, sizeof three);
    expect_open_fails(&s, TG_INVALID_ARGUMENT, s.index, "Checkpoint min consumer version 2 above current version 1");
    /* Two shards, the entry in the second one, whose file is missing. */
    hl = put_header(h, 2, 0, 0);
    entry_spec e = ok;
    e.shard = 1;
    write_one(&s, h, hl, &e, three, sizeof three);
    expect_open_fails(&s, TG_NOT_FOUND, "model.ckpt-7.data-00001-of-00002", "entry 'w'");
    char *shard1 = with_suffix(s.prefix, ".data-00001-of-00002");
    tgf_write_all(shard1, three, sizeof three);
    char err[512];
    tg_array *a;
    ck_assert_msg(tg_train_load_variable(s.prefix, "w", &a, err, sizeof err) == TG_OK, "%s", err);
    ck_assert_float_eq(((const float *)tg_array_cdata(a))[1], 2.0f);
    tg_array_free(a);
    unlink(shard1);
    free(shard1);
    /* A big-endian checkpoint: the CRC covers the bytes as stored; the
     * values come out in this machine's order. */
    const unsigned char be[12] = {0x3f, 0x80, 0, 0, 0x40, 0, 0, 0, 0x40, 0x40, 0, 0}; /* 1, 2, 3 */
    hl = put_header(h, 1, 1, 0);
    e = ok, e.crc = crc32c_bitwise(be, 12);
    write_one(&s, h, hl, &e, be, sizeof be);
    ck_assert_msg(tg_train_load_variable(s.prefix, "w", &a, err, sizeof err) == TG_OK, "%s", err);
    ck_assert_int_eq(memcmp(tg_array_cdata(a), three, 12), 0);
    tg_array_free(a);
    scratch_free(&s);
}
END_TEST

START_TEST(test_snappy_blocks)
{
    scratch s = scratch_new();
    uint32_t crc = crc32c_bitwise(three, 12);
    const entry_spec ok = {.dtype = 1, .rank = 1, .dims = {3}, .size = 12, .crc = crc};
    unsigned char ev[128], table[1024];
    size_t el = put_entry(ev, &ok);
    kv kvs[2] = {{"", std_header, std_header_len()}, {"w", ev, el}};
    size_t n = put_table(table, kvs, 2, true);
    tgf_write_all(s.index, table, n);
    tgf_write_all(s.data, three, sizeof three);
    char err[512];
    tg_array *a;
    ck_assert_msg(tg_train_load_variable(s.prefix, "w", &a, err, sizeof err) == TG_OK, "%s", err);
    tg_array_free(a);
    /* A Snappy header claiming more than the literal holds, or more than
     * any Snappy stream of its size can expand to; each block's CRC right. */
    tgf_write_all(s.index, table, put_table_claim(table, kvs, 2, true, 60));
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "corrupted compressed block contents");
    tgf_write_all(s.index, table, put_table_claim(table, kvs, 2, true, (size_t)1 << 40));
    expect_open_fails(&s, TG_DATA_LOSS, s.index, "corrupted compressed block contents");
    scratch_free(&s);
}
END_TEST

static Suite *checkpoint_v2_suite(void)
{
    Suite *s = suite_create("checkpoint_v2");
    TCase *tc = tcase_create("checkpoint_v2");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_read_tf_files);
    tcase_add_test(tc, test_reader_api);
    tcase_add_test(tc, test_written_bytes_are_tfs);
    tcase_add_test(tc, test_crc32c_vectors);
    tcase_add_test(tc, test_round_trip_every_dtype);
    tcase_add_test(tc, test_index_structure);
    tcase_add_test(tc, test_write_errors);
    tcase_add_test(tc, test_truncations_and_flips);
    tcase_add_test(tc, test_bad_blocks);
    tcase_add_test(tc, test_bad_entries);
    tcase_add_test(tc, test_bad_headers);
    tcase_add_test(tc, test_snappy_blocks);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(checkpoint_v2_suite)
