/* idx.c: IDX files (raw or gzip'd) into a uint8 data set.
 *
 * The files are untrusted, so nothing in them decides how much is read or
 * allocated before it has been checked. A path is opened without blocking
 * (open() on a FIFO would wait for a writer forever) and refused unless it
 * is a regular file (/dev/zero never ends). The header is read first
 * (inflated first when gzip'd) and checked against the magic, the file's
 * size, TG_IDX_MAX_BYTES and the images file; only then is memory taken, for
 * exactly the payload the header promises, and the file must end right
 * there. A gzip payload's buffer grows with what really inflates, so a
 * header that lies costs no more memory than the data behind it. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "tgraph/data.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
/* Deflate's densest code is 258 bytes per 2 bits, so no gzip file inflates
 * to more than 1032 times its size: a header claiming more is a lie we can
 * catch before inflating anything. */
#define DEFLATE_MAX_RATIO 1032u
/* A gzip payload's first buffer; it doubles, up to the header's size, only
 * as the stream really delivers. */
#define GZ_FIRST_CHUNK ((size_t)1 << 20)

struct tg_idx_dataset {
    int64_t count;
    int rows, cols;
    uint8_t *pixels; /* [count, rows, cols] */
    uint8_t *labels; /* [count] */
};

/* One open IDX file: raw bytes, or the concatenated members of a gzip file. */
typedef struct src {
    const char *path;
    char *err;
    size_t err_size;
    int fd;
    uint64_t size;    /* of the file on disk (fstat) */
    bool gz;
    bool z_open;      /* zs needs inflateEnd */
    bool member_done; /* the current gzip member ended */
    bool eof;         /* read() returned 0 */
    uint64_t out;     /* bytes delivered so far: the offset in the IDX data */
    z_stream zs;      /* next_in / avail_in: buf's unread bytes, also when raw */
    uint8_t buf[16384];
} src;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static tg_code fail(char *err, size_t err_size, tg_code code, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return code;
}

static tg_code errno_code(int e)
{
    if (e == ENOENT || e == ENOTDIR) return TG_NOT_FOUND;
    if (e == EACCES || e == EPERM) return TG_PERMISSION_DENIED;
    if (e == ENOMEM) return TG_RESOURCE_EXHAUSTED;
    return TG_UNKNOWN;
}

static tg_code sys_fail(src *s, const char *what, int e)
{
    return fail(s->err, s->err_size, errno_code(e), "%s: %s: %s", s->path, what, strerror(e));
}

static const char *file_type(mode_t m)
{
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "of another type";
}

/* Opens path as a regular file, in blocking mode again once that is known. */
static tg_code open_regular(src *s)
{
    s->fd = open(s->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (s->fd < 0) return sys_fail(s, "cannot open", errno);
    struct stat st;
    if (fstat(s->fd, &st) != 0) return sys_fail(s, "cannot stat", errno);
    if (S_ISDIR(st.st_mode))
        return fail(s->err, s->err_size, TG_INVALID_ARGUMENT, "%s: is a directory", s->path);
    if (!S_ISREG(st.st_mode))
        return fail(s->err, s->err_size, TG_INVALID_ARGUMENT, "%s: not a regular file (%s)", s->path,
                    file_type(st.st_mode));
    int flags = fcntl(s->fd, F_GETFL);
    if (flags < 0 || fcntl(s->fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        return sys_fail(s, "cannot clear O_NONBLOCK", errno);
    s->size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    return TG_OK;
}

/* read(), retried on EINTR; *got 0 at the end of the file. */
static tg_code read_fd(src *s, uint8_t *p, size_t n, size_t *got)
{
    ssize_t k;
    do k = read(s->fd, p, n > (size_t)SSIZE_MAX ? (size_t)SSIZE_MAX : n);
    while (k < 0 && errno == EINTR);
    if (k < 0) return sys_fail(s, "read error", errno);
    *got = (size_t)k;
    if (k == 0) s->eof = true;
    return TG_OK;
}

/* Reads until buf holds at least `want` unread bytes or the file ends. */
static tg_code buffer_at_least(src *s, size_t want)
{
    if (s->zs.avail_in > 0 && s->zs.next_in != s->buf) memmove(s->buf, s->zs.next_in, s->zs.avail_in);
    s->zs.next_in = s->buf;
    while (s->zs.avail_in < want && !s->eof) {
        size_t got = 0;
        tg_code c = read_fd(s, s->buf + s->zs.avail_in, sizeof s->buf - s->zs.avail_in, &got);
        if (c != TG_OK) return c;
        s->zs.avail_in += (uInt)got;
    }
    return TG_OK;
}

static bool gzip_magic_next(const src *s)
{
    return s->zs.avail_in >= 2 && s->zs.next_in[0] == 0x1f && s->zs.next_in[1] == 0x8b;
}

static tg_code src_open(src *s, const char *path, char *err, size_t err_size)
{
    memset(s, 0, offsetof(src, buf));
    s->path = path;
    s->err = err;
    s->err_size = err_size;
    tg_code c = open_regular(s);
    if (c == TG_OK) c = buffer_at_least(s, 2);
    if (c != TG_OK || !gzip_magic_next(s)) return c;
    s->gz = true;
    z_const Bytef *in = s->zs.next_in; /* zlib may touch these in init */
    uInt avail = s->zs.avail_in;
    if (inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK)
        return fail(err, err_size, TG_RESOURCE_EXHAUSTED, "%s: cannot start zlib", path);
    s->z_open = true;
    s->zs.next_in = in;
    s->zs.avail_in = avail;
    return TG_OK;
}

static void src_close(src *s)
{
    if (s->z_open) inflateEnd(&s->zs);
    if (s->fd >= 0) close(s->fd);
}

static tg_code raw_read(src *s, uint8_t *dst, size_t n, size_t *got)
{
    size_t done = n < s->zs.avail_in ? n : s->zs.avail_in;
    memcpy(dst, s->zs.next_in, done);
    s->zs.next_in += done;
    s->zs.avail_in -= (uInt)done;
    while (done < n && !s->eof) {
        size_t k = 0;
        tg_code c = read_fd(s, dst + done, n - done, &k);
        if (c != TG_OK) return c;
        done += k;
    }
    *got = done;
    return TG_OK;
}

/* After a member's end: another member, the clean end of the file (*more
 * false), or trailing garbage (an error, as gzip -t says). */
static tg_code next_member(src *s, bool *more)
{
    tg_code c = buffer_at_least(s, 2);
    if (c != TG_OK) return c;
    *more = s->zs.avail_in > 0;
    if (!*more) return TG_OK;
    if (!gzip_magic_next(s))
        return fail(s->err, s->err_size, TG_DATA_LOSS,
                    "%s: trailing data after the gzip stream (after %llu decompressed bytes)", s->path,
                    (unsigned long long)s->out);
    inflateReset(&s->zs);
    s->member_done = false;
    return TG_OK;
}

/* Inflates up to n bytes into dst; fewer only at the clean end of the file. */
static tg_code gz_read(src *s, uint8_t *dst, size_t n, size_t *got)
{
    size_t done = 0;
    *got = 0;
    while (done < n) {
        bool more = true;
        tg_code c = s->member_done ? next_member(s, &more) : TG_OK;
        if (c == TG_OK && s->zs.avail_in == 0 && more) c = buffer_at_least(s, 1);
        if (c != TG_OK) return c;
        if (!more) break;
        if (s->zs.avail_in == 0)
            return fail(s->err, s->err_size, TG_DATA_LOSS,
                        "%s: truncated gzip stream (ends after %llu decompressed bytes)", s->path,
                        (unsigned long long)(s->out + done));
        size_t want = n - done > UINT_MAX ? UINT_MAX : n - done;
        s->zs.next_out = dst + done;
        s->zs.avail_out = (uInt)want;
        int rc = inflate(&s->zs, Z_NO_FLUSH);
        done += want - s->zs.avail_out;
        if (rc == Z_STREAM_END) s->member_done = true;
        else if (rc == Z_MEM_ERROR)
            return fail(s->err, s->err_size, TG_RESOURCE_EXHAUSTED, "%s: out of memory", s->path);
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            return fail(s->err, s->err_size, TG_DATA_LOSS, "%s: corrupt gzip stream (%s)", s->path,
                        s->zs.msg ? s->zs.msg : "zlib error");
    }
    *got = done;
    return TG_OK;
}

/* Up to n bytes of IDX data; fewer only at its end. */
static tg_code src_read(src *s, uint8_t *dst, size_t n, size_t *got)
{
    tg_code c = s->gz ? gz_read(s, dst, n, got) : raw_read(s, dst, n, got);
    if (c == TG_OK) s->out += *got;
    return c;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* What one file's header says. */
typedef struct idx_head {
    int ndims;        /* 3 (images) or 1 (labels) */
    uint32_t dims[3];
    uint64_t header;  /* bytes */
    uint64_t payload; /* bytes after the header */
    char shape[64];   /* "5 images of 4x4", "5 labels" */
} idx_head;

static tg_code read_magic(src *s, uint32_t magic, int ndims)
{
    uint8_t b[4];
    size_t got = 0;
    tg_code c = src_read(s, b, 4, &got);
    if (c != TG_OK) return c;
    if (got < 4)
        return fail(s->err, s->err_size, TG_DATA_LOSS, "%s: truncated: %zu bytes, shorter than the IDX magic",
                    s->path, got);
    if (be32(b) != magic)
        return fail(s->err, s->err_size, TG_INVALID_ARGUMENT, "%s: bad magic 0x%08x, want 0x%08x (IDX uint8 %s)",
                    s->path, (unsigned)be32(b), (unsigned)magic, ndims == 3 ? "images" : "labels");
    return TG_OK;
}

/* The magic and the dimensions; each image dimension 1..65535. */
static tg_code read_head(src *s, uint32_t magic, int ndims, idx_head *h)
{
    *h = (idx_head){.ndims = ndims, .header = 4 + 4 * (uint64_t)ndims};
    tg_code c = read_magic(s, magic, ndims);
    uint8_t b[12];
    size_t got = 0;
    if (c == TG_OK) c = src_read(s, b, 4 * (size_t)ndims, &got);
    if (c != TG_OK) return c;
    if (got < 4 * (size_t)ndims)
        return fail(s->err, s->err_size, TG_DATA_LOSS,
                    "%s: truncated: %llu bytes, shorter than the %llu-byte IDX header", s->path,
                    (unsigned long long)s->out, (unsigned long long)h->header);
    h->payload = 1;
    for (int i = 0; i < ndims; i++) {
        h->dims[i] = be32(b + 4 * i);
        if (i > 0 && (h->dims[i] == 0 || h->dims[i] > 65535))
            return fail(s->err, s->err_size, TG_INVALID_ARGUMENT, "%s: image dimension %d is %u, not in 1..65535",
                        s->path, i, (unsigned)h->dims[i]);
        h->payload *= h->dims[i]; /* < 2^32 * 2^16 * 2^16: no overflow */
    }
    if (ndims == 3)
        snprintf(h->shape, sizeof h->shape, "%u images of %ux%u", (unsigned)h->dims[0], (unsigned)h->dims[1],
                 (unsigned)h->dims[2]);
    else
        snprintf(h->shape, sizeof h->shape, "%u labels", (unsigned)h->dims[0]);
    return TG_OK;
}

/* "header says ... but the [decompressed ]file has N bytes (why)". */
static tg_code size_fail(src *s, const idx_head *h, const char *has, const char *why)
{
    return fail(s->err, s->err_size, TG_DATA_LOSS, "%s: header says %s (%llu bytes) but the %s has %s (%s)",
                s->path, h->shape, (unsigned long long)(h->header + h->payload),
                s->gz ? "decompressed file" : "file", has, why);
}

/* The header's size against the file's before anything is allocated: a
 * raw file must hold exactly that much, a gzip file at most 1032 times it. */
static tg_code check_size(src *s, const idx_head *h)
{
    uint64_t want = h->header + h->payload;
    char has[48];
    if (!s->gz && s->size != want) {
        snprintf(has, sizeof has, "%llu bytes", (unsigned long long)s->size);
        return size_fail(s, h, has, s->size < want ? "truncated" : "trailing bytes");
    }
    if (s->gz && want / DEFLATE_MAX_RATIO > s->size)
        return fail(s->err, s->err_size, TG_DATA_LOSS,
                    "%s: header says %s (%llu bytes) but %llu bytes of gzip inflate to at most %llu (truncated)",
                    s->path, h->shape, (unsigned long long)want, (unsigned long long)s->size,
                    (unsigned long long)s->size * DEFLATE_MAX_RATIO);
    if (h->payload > TG_IDX_MAX_BYTES || h->payload > SIZE_MAX)
        return fail(s->err, s->err_size, TG_RESOURCE_EXHAUSTED,
                    "%s: header says %s (%llu bytes of data), more than TG_IDX_MAX_BYTES (%llu)", s->path,
                    h->shape, (unsigned long long)h->payload, (unsigned long long)TG_IDX_MAX_BYTES);
    return TG_OK;
}

/* Exactly h->payload bytes into a new buffer (*out, at least 1 byte). */
static tg_code read_payload(src *s, const idx_head *h, uint8_t **out)
{
    size_t n = (size_t)h->payload, cap = s->gz && n > GZ_FIRST_CHUNK ? GZ_FIRST_CHUNK : n, len = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    tg_code c = TG_OK;
    while (buf && len < n && c == TG_OK) {
        if (len == cap) {
            cap = cap > n / 2 ? n : cap * 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t got = 0;
        c = src_read(s, buf + len, cap - len, &got);
        len += got;
        if (c == TG_OK && got == 0) {
            char has[48];
            snprintf(has, sizeof has, "%llu bytes", (unsigned long long)s->out);
            c = size_fail(s, h, has, "truncated");
        }
    }
    if (c == TG_OK && (!buf || len < n))
        c = fail(s->err, s->err_size, TG_RESOURCE_EXHAUSTED, "%s: out of memory for %s", s->path, h->shape);
    if (c != TG_OK) {
        free(buf);
        return c;
    }
    *out = buf;
    return TG_OK;
}

/* The file must end where the header says; for gzip this also inflates to
 * the end of the stream, so that its CRC is checked. */
static tg_code expect_end(src *s, const idx_head *h)
{
    uint8_t extra;
    size_t got = 0;
    tg_code c = src_read(s, &extra, 1, &got);
    if (c != TG_OK || got == 0) return c;
    char has[48];
    snprintf(has, sizeof has, "more than %llu bytes", (unsigned long long)(s->out - 1));
    return size_fail(s, h, has, "trailing bytes");
}

/* The images file: no count to match (expect_count NULL); the labels file:
 * its count must be *expect_count, checked before its data is read. */
typedef struct expect {
    const char *images_path;
    uint32_t count;
} expect;

/* Reads one IDX file into h and *data (the caller frees it). */
static tg_code load_file(const char *path, uint32_t magic, int ndims, const expect *ex, idx_head *h,
                         uint8_t **data, char *err, size_t err_size)
{
    src s;
    tg_code c = src_open(&s, path, err, err_size);
    if (c == TG_OK) c = read_head(&s, magic, ndims, h);
    if (c == TG_OK) c = check_size(&s, h);
    if (c == TG_OK && ex && ex->count != h->dims[0])
        c = fail(err, err_size, TG_INVALID_ARGUMENT, "%s has %u images but %s has %u labels", ex->images_path,
                 (unsigned)ex->count, path, (unsigned)h->dims[0]);
    if (c == TG_OK) c = read_payload(&s, h, data);
    if (c == TG_OK && (c = expect_end(&s, h)) != TG_OK) {
        free(*data);
        *data = NULL;
    }
    src_close(&s);
    return c;
}

tg_code tg_data_load_idx(const char *images_path, const char *labels_path, tg_idx_dataset **out,
                         char *err, size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (out) *out = NULL;
    if (!images_path || !labels_path || !out)
        return fail(err, err_size, TG_INVALID_ARGUMENT,
                    "tg_data_load_idx: NULL images_path, labels_path or out");
    idx_head ih, lh;
    uint8_t *pixels = NULL, *labels = NULL;
    tg_code code = load_file(images_path, IDX_IMAGES_MAGIC, 3, NULL, &ih, &pixels, err, err_size);
    if (code == TG_OK) {
        expect ex = {images_path, ih.dims[0]};
        code = load_file(labels_path, IDX_LABELS_MAGIC, 1, &ex, &lh, &labels, err, err_size);
    }
    tg_idx_dataset *d = NULL;
    if (code == TG_OK && !(d = calloc(1, sizeof *d)))
        code = fail(err, err_size, TG_RESOURCE_EXHAUSTED, "%s: out of memory", images_path);
    if (code != TG_OK) {
        free(pixels);
        free(labels);
        return code;
    }
    *d = (tg_idx_dataset){ih.dims[0], (int)ih.dims[1], (int)ih.dims[2], pixels, labels};
    *out = d;
    return TG_OK;
}

/* dir/name, then dir/name.gz; the first that exists, or NULL. */
static char *find_file(const char *dir, const char *name, bool *oom)
{
    size_t n = strlen(dir) + strlen(name) + 5;
    char *p = malloc(n);
    if (!p) {
        *oom = true;
        return NULL;
    }
    const char *ext[] = {"", ".gz"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, n, "%s/%s%s", dir, name, ext[i]);
        struct stat st;
        if (stat(p, &st) == 0) return p;
    }
    free(p);
    return NULL;
}

tg_code tg_data_load_idx_dir(const char *dir, const char *split, tg_idx_dataset **out, char *err,
                             size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (out) *out = NULL;
    if (!dir || !split || !out)
        return fail(err, err_size, TG_INVALID_ARGUMENT,
                    "tg_data_load_idx_dir: NULL dir, split or out");
    if (!split[0] || strchr(split, '/') || strlen(split) > 64)
        return fail(err, err_size, TG_INVALID_ARGUMENT,
                    "tg_data_load_idx_dir: bad split \"%s\" (want \"train\" or \"t10k\")", split);
    char names[2][96];
    snprintf(names[0], sizeof names[0], "%s-images-idx3-ubyte", split);
    snprintf(names[1], sizeof names[1], "%s-labels-idx1-ubyte", split);
    char *paths[2] = {NULL, NULL};
    tg_code code = TG_OK;
    for (int i = 0; i < 2 && code == TG_OK; i++) {
        bool oom = false;
        paths[i] = find_file(dir, names[i], &oom);
        if (oom)
            code = fail(err, err_size, TG_RESOURCE_EXHAUSTED, "%s: out of memory", dir);
        else if (!paths[i])
            code = fail(err, err_size, TG_NOT_FOUND, "%s: neither %s nor %s.gz found", dir,
                        names[i], names[i]);
    }
    if (code == TG_OK) code = tg_data_load_idx(paths[0], paths[1], out, err, err_size);
    free(paths[0]);
    free(paths[1]);
    return code;
}

void tg_idx_dataset_free(tg_idx_dataset *d)
{
    if (!d) return;
    free(d->pixels);
    free(d->labels);
    free(d);
}

int64_t tg_idx_dataset_count(const tg_idx_dataset *d) { return d ? d->count : 0; }
int tg_idx_dataset_rows(const tg_idx_dataset *d) { return d ? d->rows : 0; }
int tg_idx_dataset_cols(const tg_idx_dataset *d) { return d ? d->cols : 0; }

int tg_idx_dataset_label(const tg_idx_dataset *d, int64_t i)
{
    if (!d || i < 0 || i >= d->count) return -1;
    return d->labels[i];
}

const uint8_t *tg_idx_dataset_image(const tg_idx_dataset *d, int64_t i)
{
    if (!d || i < 0 || i >= d->count) return NULL;
    return d->pixels + (size_t)i * (size_t)d->rows * (size_t)d->cols;
}

const uint8_t *tg_idx_dataset_labels(const tg_idx_dataset *d)
{
    if (!d || d->count == 0) return NULL;
    return d->labels;
}
