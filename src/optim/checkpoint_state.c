/* The Saver's bookkeeping across saves, after TF 1.15's saver.py and
 * checkpoint_management.py: the last checkpoints (max_to_keep,
 * keep_checkpoint_every_n_hours), the state file "checkpoint" (a
 * CheckpointState text proto) written atomically after each save, reading
 * it back (get_checkpoint_state, latest_checkpoint), and deleting a
 * checkpoint's files (remove_checkpoint). */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "saver_internal.h"

/* A state file is a few paths; anything this big is not one. */
#define MAX_STATE_BYTES ((size_t)16 << 20)

double tg__saver_now(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (double)time(NULL);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

char *tg__saver_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup("");
    const char *end = slash;
    while (end > path && end[-1] == '/') end--; /* os.path.dirname strips trailing slashes of the head */
    if (end == path) end = slash + 1;            /* "/x": "/" */
    size_t n = (size_t)(end - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

static char *join_path(const char *dir, const char *name) {
    size_t nd = strlen(dir), nn = strlen(name);
    bool sep = nd > 0 && dir[nd - 1] != '/';
    char *p = malloc(nd + sep + nn + 1);
    if (p) {
        memcpy(p, dir, nd);
        if (sep) p[nd] = '/';
        memcpy(p + nd + sep, name, nn + 1);
    }
    return p;
}

/* ---- deleting a checkpoint --------------------------------------------------- */

/* "<base>.data-NNNNN-of-NNNNN": TF's DataFilename pattern. */
static bool is_data_file(const char *name, const char *base, size_t base_len) {
    if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".data-", 6) != 0) return false;
    const char *p = name + base_len + 6;
    for (int i = 0; i < 5; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    if (strncmp(p + 5, "-of-", 4) != 0) return false;
    for (int i = 9; i < 14; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    return p[14] == '\0';
}

static void remove_data_files(const char *prefix) {
    char *dir = tg__saver_dirname(prefix);
    DIR *d = dir ? opendir(*dir ? dir : ".") : NULL;
    const char *slash = strrchr(prefix, '/'), *base = slash ? slash + 1 : prefix;
    size_t base_len = strlen(base);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (is_data_file(e->d_name, base, base_len)) (void)unlinkat(dirfd(d), e->d_name, 0);
    if (d) closedir(d);
    free(dir);
}

void tg__saver_remove_checkpoint(const char *prefix, int keep_format) {
    if (keep_format != (int)TG_CHECKPOINT_FORMAT_V2) {
        size_t len = strlen(prefix) + sizeof ".index";
        char *index = malloc(len);
        if (index) {
            snprintf(index, len, "%s.index", prefix);
            struct stat st;
            bool had = stat(index, &st) == 0;
            (void)unlink(index);
            free(index);
            if (had) remove_data_files(prefix); /* only a V2 checkpoint's: the scan reads the whole directory */
        }
    }
    /* only a file with the magic: path itself may be anything the user put there */
    if (keep_format != (int)TG_CHECKPOINT_FORMAT_TGRAPH && tg__saver_is_tgraph_file(prefix)) (void)unlink(prefix);
}

/* ---- writing the state file ------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    bool oom;
} buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* A string field as protobuf's text format writes it (Python's
 * text_format, as_utf8=False: C escapes, other bytes as three octal digits). */
static void put_field(buf *b, const char *field, const char *value) {
    puts_(b, field);
    puts_(b, ": \"");
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        char e[8];
        switch (*c) {
        case '\n': puts_(b, "\\n"); break;
        case '\r': puts_(b, "\\r"); break;
        case '\t': puts_(b, "\\t"); break;
        case '"': puts_(b, "\\\""); break;
        case '\'': puts_(b, "\\'"); break;
        case '\\': puts_(b, "\\\\"); break;
        default:
            if (*c < 0x20 || *c >= 0x7f) {
                snprintf(e, sizeof e, "\\%03o", *c);
                puts_(b, e);
            } else {
                put(b, (const char *)c, 1);
            }
        }
    }
    puts_(b, "\"\n");
}

/* Path components of a normalized path: "." and "" dropped, "x/.." folded. */
static int components(char *path, char **out, int cap) {
    int n = 0;
    for (char *save = NULL, *t = strtok_r(path, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (strcmp(t, ".") == 0) continue;
        if (strcmp(t, "..") == 0 && n > 0 && strcmp(out[n - 1], "..") != 0) {
            n--;
            continue;
        }
        if (n == cap) return -1;
        out[n++] = t;
    }
    return n;
}

/* os.path.relpath(p, start) for two paths both absolute or both relative
 * (to the same working directory), lexically; a copy of p when that cannot
 * be worked out without the file system (start climbs out with ".."). */
static char *relpath(const char *p, const char *start) {
    enum { MAXC = 512 };
    char *a = strdup(p), *b = strdup(start), **ca = malloc(2 * MAXC * sizeof *ca), *out = NULL;
    if (!a || !b || !ca) goto done;
    char **cb = ca + MAXC;
    int na = components(a, ca, MAXC), nb = components(b, cb, MAXC), k = 0;
    if (na < 0 || nb < 0 || (p[0] == '/') != (start[0] == '/')) {
        out = strdup(p);
        goto done;
    }
    while (k < na && k < nb && strcmp(ca[k], cb[k]) == 0) k++;
    for (int i = k; i < nb; i++)
        if (strcmp(cb[i], "..") == 0) {
            out = strdup(p);
            goto done;
        }
    buf r = {0};
    for (int i = k; i < nb; i++) puts_(&r, i > k ? "/.." : "..");
    for (int i = k; i < na; i++) {
        if (r.len) puts_(&r, "/");
        puts_(&r, ca[i]);
    }
    if (!r.len) puts_(&r, ".");
    out = r.oom ? (free(r.p), NULL) : r.p;
done:
    free(a);
    free(b);
    free(ca);
    return out;
}

/* A path as the state file holds it (update_checkpoint_state_internal and
 * generate_checkpoint_state_proto): absolute ones relative to save_dir with
 * save_relative_paths, relative ones relative to save_dir when save_dir is
 * relative. */
static char *state_path(const tg_saver *s, const char *save_dir, const char *p) {
    bool abs_p = p[0] == '/', abs_dir = save_dir[0] == '/';
    if (abs_p && s->save_relative_paths && abs_dir) return relpath(p, save_dir);
    if (!abs_p && !abs_dir) return relpath(p, *save_dir ? save_dir : ".");
    return strdup(p);
}

static void put_path(buf *b, const tg_saver *s, const char *save_dir, const char *field, const char *p) {
    char *rel = state_path(s, save_dir, p);
    if (!rel) b->oom = true;
    else put_field(b, field, rel);
    free(rel);
}

/* The CheckpointState text: the latest, then the kept ones (the latest
 * appended when the list does not end with it, as TF). */
static bool state_text(const tg_saver *s, const char *save_dir, const char *latest, buf *b) {
    put_path(b, s, save_dir, "model_checkpoint_path", latest);
    for (int i = 0; i < s->n_last; i++) put_path(b, s, save_dir, "all_model_checkpoint_paths", s->last_paths[i]);
    if (s->n_last == 0 || strcmp(s->last_paths[s->n_last - 1], latest) != 0)
        put_path(b, s, save_dir, "all_model_checkpoint_paths", latest);
    return !b->oom;
}

/* Writes text to "<path>.tmp.<pid>", fsyncs it and renames it over path:
 * a reader sees the old state or the new one. Returns 0 or errno. */
static int atomic_write(const char *path, const char *text, size_t len) {
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp) return ENOMEM;
    int fd = -1;
    for (int k = 0; k < 1000; k++) {
        if (k == 0) snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
        else snprintf(tmp, cap, "%s.tmp.%ld.%d", path, (long)getpid(), k);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) break;
    }
    int e = fd < 0 ? errno : 0;
    for (size_t off = 0; !e && off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno != EINTR) e = errno;
        else if (w > 0) off += (size_t)w;
    }
    if (!e && fsync(fd) != 0) e = errno;
    if (fd >= 0 && close(fd) != 0 && !e) e = errno;
    if (!e && rename(tmp, path) != 0) e = errno;
    if (e && fd >= 0) unlink(tmp);
    free(tmp);
    return e;
}

static tg_code write_state(tg_saver *s, const char *latest, const char *latest_filename) {
    char *save_dir = tg__saver_dirname(latest);
    char *file = save_dir ? join_path(save_dir, latest_filename ? latest_filename : "checkpoint") : NULL;
    buf b = {0};
    tg_code rc = TG_OK;
    if (!file || !state_text(s, save_dir, latest, &b)) {
        rc = tg__saver_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory writing the checkpoint state for %s", latest);
    } else {
        int e = atomic_write(file, b.p, b.len);
        if (e) {
            char msg[256];
            if (strerror_r(e, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "error %d", e);
            rc = tg__saver_fail(s, tg__saver_errno_code(e), "cannot write checkpoint state %s: %s", file, msg);
        }
    }
    free(b.p);
    free(file);
    free(save_dir);
    return rc;
}

/* ---- max_to_keep and keep_checkpoint_every_n_hours -------------------------------------- */

static bool grow_last(tg_saver *s) {
    int cap = s->cap_last ? 2 * s->cap_last : 8;
    char **paths = realloc(s->last_paths, (size_t)cap * sizeof *paths);
    if (!paths) return false;
    s->last_paths = paths;
    double *times = realloc(s->last_times, (size_t)cap * sizeof *times);
    if (!times) return false;
    s->last_times = times;
    s->cap_last = cap;
    return true;
}

static void drop_last(tg_saver *s, int i) {
    memmove(&s->last_paths[i], &s->last_paths[i + 1], (size_t)(s->n_last - i - 1) * sizeof *s->last_paths);
    memmove(&s->last_times[i], &s->last_times[i + 1], (size_t)(s->n_last - i - 1) * sizeof *s->last_times);
    s->n_last--;
}

/* _RecordLastCheckpoint: path moves to (or joins) the end of the list;
 * *evicted gets the path that fell out of the last max_to_keep (owned by
 * the caller), or NULL. */
static tg_code record_last(tg_saver *s, const char *path, char **evicted, double *evicted_time) {
    *evicted = NULL;
    if (s->max_to_keep == 0) return TG_OK; /* TF keeps no list then, and deletes nothing */
    char *copy = strdup(path);
    if (!copy || (s->n_last == s->cap_last && !grow_last(s))) {
        free(copy);
        return tg__saver_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory recording checkpoint %s", path);
    }
    for (int i = 0; i < s->n_last; i++)
        if (strcmp(s->last_paths[i], path) == 0) {
            free(s->last_paths[i]);
            drop_last(s, i);
            break;
        }
    s->last_paths[s->n_last] = copy;
    s->last_times[s->n_last++] = tg__saver_now();
    if (s->n_last > s->max_to_keep) {
        *evicted = s->last_paths[0];
        *evicted_time = s->last_times[0];
        drop_last(s, 0);
    }
    return TG_OK;
}

tg_code tg__saver_record(tg_saver *s, const char *path, const char *latest_filename) {
    char *evicted = NULL;
    double when = 0;
    tg_code rc = record_last(s, path, &evicted, &when);
    if (rc == TG_OK) rc = write_state(s, path, latest_filename);
    if (evicted && rc == TG_OK) {
        /* _MaybeDeleteOldCheckpoints: one checkpoint per interval survives */
        if (when > s->next_keep_time) s->next_keep_time += s->keep_hours * 3600.0;
        else tg__saver_remove_checkpoint(evicted, TG__KEEP_NONE);
    }
    free(evicted);
    return rc;
}

const char *const *tg_saver_last_checkpoints(const tg_saver *s, int *n) {
    if (n) *n = s ? s->n_last : 0;
    return s && s->n_last ? (const char *const *)s->last_paths : NULL;
}

/* ---- reading the state file ------------------------------------------------------------ */

static void set_err(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t size, const char *fmt, ...) {
    if (!err || size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

typedef struct parser {
    const char *p, *end, *file;
    int line;
    char *err;
    size_t err_size;
    tg_code code; /* TG_OK until the first error */
    tg_checkpoint_state *st;
} parser;

static bool perr(parser *ps, tg_code code, const char *what) {
    if (ps->code == TG_OK) {
        ps->code = code;
        if (code == TG_RESOURCE_EXHAUSTED) set_err(ps->err, ps->err_size, "out of memory reading %s", ps->file);
        else set_err(ps->err, ps->err_size, "cannot parse checkpoint state %s: line %d: %s", ps->file, ps->line, what);
    }
    return false;
}

/* Whitespace and '#' comments. */
static void skip_space(parser *ps) {
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == '\n') ps->line++;
        if (c == '#') {
            while (ps->p < ps->end && *ps->p != '\n') ps->p++;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            ps->p++;
        } else {
            break;
        }
    }
}

static bool accept(parser *ps, char c) {
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One escape after the backslash (C's, as text_format's CUnescape). */
static bool unescape(parser *ps, buf *out) {
    if (ps->p >= ps->end) return perr(ps, TG_DATA_LOSS, "unterminated string");
    char c = *ps->p++, ch;
    switch (c) {
    case 'n': ch = '\n'; break;
    case 'r': ch = '\r'; break;
    case 't': ch = '\t'; break;
    case 'a': ch = '\a'; break;
    case 'b': ch = '\b'; break;
    case 'f': ch = '\f'; break;
    case 'v': ch = '\v'; break;
    case '\\': case '\'': case '"': case '?': ch = c; break;
    case 'x': {
        int v = 0, k = 0;
        for (int h; k < 2 && ps->p < ps->end && (h = hexval(*ps->p)) >= 0; k++, ps->p++) v = v * 16 + h;
        if (k == 0) return perr(ps, TG_DATA_LOSS, "\\x without hex digits");
        ch = (char)v;
        break;
    }
    default:
        if (c < '0' || c > '7') return perr(ps, TG_DATA_LOSS, "invalid escape sequence");
        int v = c - '0';
        for (int k = 1; k < 3 && ps->p < ps->end && *ps->p >= '0' && *ps->p <= '7'; k++) v = v * 8 + (*ps->p++ - '0');
        if (v > 255) return perr(ps, TG_DATA_LOSS, "octal escape out of range");
        ch = (char)v;
    }
    put(out, &ch, 1);
    return true;
}

/* One or more adjacent quoted strings, concatenated; a new string. */
static char *parse_string(parser *ps) {
    buf out = {0};
    put(&out, "", 0);
    skip_space(ps);
    if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\'')) {
        perr(ps, TG_DATA_LOSS, "expected a string");
        return NULL;
    }
    while (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
        char q = *ps->p++;
        while (ps->code == TG_OK) {
            if (ps->p >= ps->end || *ps->p == '\n') {
                perr(ps, TG_DATA_LOSS, "unterminated string");
                break;
            }
            char c = *ps->p++;
            if (c == q) break;
            if (c == '\\') unescape(ps, &out);
            else put(&out, &c, 1);
        }
        if (ps->code != TG_OK) break;
        skip_space(ps);
    }
    if (out.oom) perr(ps, TG_RESOURCE_EXHAUSTED, "");
    if (out.len != strlen(out.p ? out.p : "") && ps->code == TG_OK) perr(ps, TG_DATA_LOSS, "a path with a NUL byte");
    if (ps->code != TG_OK) {
        free(out.p);
        return NULL;
    }
    return out.p;
}

static bool parse_double(parser *ps, double *v) {
    skip_space(ps);
    const char *start = ps->p;
    while (ps->p < ps->end && (strchr("+-.eE", *ps->p) || (*ps->p >= '0' && *ps->p <= '9') ||
                               (*ps->p >= 'a' && *ps->p <= 'z') || (*ps->p >= 'A' && *ps->p <= 'Z')))
        ps->p++;
    char tok[64];
    size_t n = (size_t)(ps->p - start);
    if (n == 0 || n >= sizeof tok) return perr(ps, TG_DATA_LOSS, "expected a number");
    memcpy(tok, start, n);
    tok[n] = '\0';
    if (n > 1 && (tok[n - 1] == 'f' || tok[n - 1] == 'F') && strchr("0123456789.", tok[n - 2])) tok[--n] = '\0';
    char *e = NULL;
    *v = strtod(tok, &e);
    if (*e) return perr(ps, TG_DATA_LOSS, "expected a number");
    return true;
}

static bool push_string(parser *ps, char ***list, int *n, char *v) {
    char **grown = realloc(*list, (size_t)(*n + 1) * sizeof *grown);
    if (!grown) {
        free(v);
        return perr(ps, TG_RESOURCE_EXHAUSTED, "");
    }
    *list = grown;
    grown[(*n)++] = v;
    return true;
}

static bool push_double(parser *ps, double **list, int *n, double v) {
    double *grown = realloc(*list, (size_t)(*n + 1) * sizeof *grown);
    if (!grown) return perr(ps, TG_RESOURCE_EXHAUSTED, "");
    *list = grown;
    grown[(*n)++] = v;
    return true;
}

/* One value of a field (TF's four fields of CheckpointState). */
static bool parse_value(parser *ps, int field) {
    tg_checkpoint_state *st = ps->st;
    if (field <= 1) {
        char *v = parse_string(ps);
        if (!v) return false;
        if (field == 1) return push_string(ps, &st->all_model_checkpoint_paths, &st->n_all_model_checkpoint_paths, v);
        free(st->model_checkpoint_path); /* Merge: the last value of a non-repeated field wins */
        st->model_checkpoint_path = v;
        return true;
    }
    double d;
    if (!parse_double(ps, &d)) return false;
    if (field == 2)
        return push_double(ps, &st->all_model_checkpoint_timestamps, &st->n_all_model_checkpoint_timestamps, d);
    st->last_preserved_timestamp = d;
    return true;
}

static int field_index(const char *name, size_t n) {
    static const char *const fields[] = {"model_checkpoint_path", "all_model_checkpoint_paths",
                                         "all_model_checkpoint_timestamps", "last_preserved_timestamp"};
    for (int i = 0; i < 4; i++)
        if (strlen(fields[i]) == n && strncmp(fields[i], name, n) == 0) return i;
    return -1;
}

/* "name: value" or, for a repeated field, "name: [v, v, ...]". */
static bool parse_field(parser *ps) {
    const char *name = ps->p;
    while (ps->p < ps->end && (*ps->p == '_' || (*ps->p >= 'a' && *ps->p <= 'z') || (*ps->p >= 'A' && *ps->p <= 'Z') ||
                               (*ps->p >= '0' && *ps->p <= '9')))
        ps->p++;
    size_t n = (size_t)(ps->p - name);
    int field = field_index(name, n);
    if (n == 0) return perr(ps, TG_DATA_LOSS, "expected a field name");
    if (field < 0) {
        char what[160];
        snprintf(what, sizeof what, "Message type \"tensorflow.CheckpointState\" has no field named \"%.*s\"",
                 n > 64 ? 64 : (int)n, name);
        return perr(ps, TG_DATA_LOSS, what);
    }
    if (!accept(ps, ':')) return perr(ps, TG_DATA_LOSS, "expected ':'");
    bool repeated = field == 1 || field == 2;
    if (repeated && accept(ps, '[')) {
        if (accept(ps, ']')) return true;
        do {
            if (!parse_value(ps, field)) return false;
        } while (accept(ps, ','));
        return accept(ps, ']') || perr(ps, TG_DATA_LOSS, "expected ']'");
    }
    if (!parse_value(ps, field)) return false;
    if (!accept(ps, ',')) accept(ps, ';');
    return true;
}

void tg_checkpoint_state_free(tg_checkpoint_state *st) {
    if (!st) return;
    free(st->model_checkpoint_path);
    for (int i = 0; i < st->n_all_model_checkpoint_paths; i++) free(st->all_model_checkpoint_paths[i]);
    free(st->all_model_checkpoint_paths);
    free(st->all_model_checkpoint_timestamps);
    free(st);
}

/* The whole file, NUL-terminated; *missing when it does not exist. */
static tg_code read_text(const char *file, char **text, size_t *len, bool *missing, char *err, size_t size) {
    *text = NULL;
    *missing = false;
    int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    int e = fd < 0 ? errno : fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (fd < 0 && e == ENOENT) {
        *missing = true;
        return TG_OK;
    }
    tg_code rc = TG_OK;
    if (e) {
        char msg[256];
        if (strerror_r(e, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "error %d", e);
        rc = tg__saver_errno_code(e);
        set_err(err, size, "cannot read checkpoint state %s: %s", file, msg);
    } else if (!S_ISREG(st.st_mode)) {
        rc = TG_INVALID_ARGUMENT;
        set_err(err, size, "checkpoint state %s is not a regular file", file);
    } else if ((uint64_t)st.st_size > MAX_STATE_BYTES) {
        rc = TG_RESOURCE_EXHAUSTED;
        set_err(err, size, "checkpoint state %s has %lld bytes, more than 16 MiB", file, (long long)st.st_size);
    } else if (!(*text = malloc((size_t)st.st_size + 1))) {
        rc = TG_RESOURCE_EXHAUSTED;
        set_err(err, size, "out of memory reading %s", file);
    } else {
        ssize_t got = pread(fd, *text, (size_t)st.st_size, 0);
        if (got < 0) {
            rc = tg__saver_errno_code(errno);
            set_err(err, size, "cannot read checkpoint state %s: %s", file, strerror(errno));
            free(*text);
            *text = NULL;
        } else {
            *len = (size_t)got;
            (*text)[got] = '\0';
        }
    }
    if (fd >= 0) close(fd);
    return rc;
}

/* Relative paths are relative to the state file's directory. */
static bool absolutize(char **p, const char *dir) {
    if ((*p)[0] == '/') return true;
    char *joined = join_path(dir, *p);
    if (!joined) return false;
    free(*p);
    *p = joined;
    return true;
}

static tg_code parse_state(const char *dir, const char *file, const char *text, size_t len, tg_checkpoint_state **out,
                           char *err, size_t size) {
    parser ps = {text, text + len, file, 1, err, size, TG_OK, calloc(1, sizeof(tg_checkpoint_state))};
    if (!ps.st) perr(&ps, TG_RESOURCE_EXHAUSTED, "");
    for (skip_space(&ps); ps.code == TG_OK && ps.p < ps.end; skip_space(&ps)) parse_field(&ps);
    tg_checkpoint_state *st = ps.st;
    if (ps.code == TG_OK && (!st->model_checkpoint_path || !*st->model_checkpoint_path)) {
        ps.code = TG_INVALID_ARGUMENT;
        set_err(err, size, "Invalid checkpoint state loaded from %s", dir);
    }
    bool ok = ps.code == TG_OK && absolutize(&st->model_checkpoint_path, dir);
    for (int i = 0; ok && i < st->n_all_model_checkpoint_paths; i++)
        ok = absolutize(&st->all_model_checkpoint_paths[i], dir);
    if (ps.code == TG_OK && !ok) perr(&ps, TG_RESOURCE_EXHAUSTED, "");
    if (ps.code != TG_OK) {
        tg_checkpoint_state_free(st);
        return ps.code;
    }
    *out = st;
    return TG_OK;
}

tg_code tg_train_get_checkpoint_state(const char *checkpoint_dir, const char *latest_filename,
                                      tg_checkpoint_state **out, char *err, size_t err_size) {
    if (out) *out = NULL;
    set_err(err, err_size, "%s", "");
    if (!checkpoint_dir || !out) {
        set_err(err, err_size, "tg_train_get_checkpoint_state: NULL %s", out ? "checkpoint_dir" : "out");
        return TG_INVALID_ARGUMENT;
    }
    const char *name = latest_filename ? latest_filename : "checkpoint";
    if (strchr(name, '/')) {
        set_err(err, err_size, "'latest_filename' must not contain path components: %s", name);
        return TG_INVALID_ARGUMENT;
    }
    char *file = join_path(checkpoint_dir, name), *text = NULL;
    if (!file) {
        set_err(err, err_size, "out of memory reading the checkpoint state of %s", checkpoint_dir);
        return TG_RESOURCE_EXHAUSTED;
    }
    size_t len = 0;
    bool missing = false;
    tg_code rc = read_text(file, &text, &len, &missing, err, err_size);
    if (rc == TG_OK && !missing) rc = parse_state(checkpoint_dir, file, text, len, out, err, err_size);
    free(text);
    free(file);
    return rc;
}

static bool is_regular(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *tg_train_latest_checkpoint(const char *checkpoint_dir, const char *latest_filename) {
    tg_checkpoint_state *st = NULL;
    if (tg_train_get_checkpoint_state(checkpoint_dir, latest_filename, &st, NULL, 0) != TG_OK || !st) return NULL;
    char *p = st->model_checkpoint_path, *index = malloc(strlen(p) + sizeof ".index"), *found = NULL;
    if (index) {
        strcpy(index, p);
        strcat(index, ".index");
        /* V2 first, then a one-file checkpoint (TF's V1 test; tgraph's format here) */
        if (is_regular(index) || is_regular(p)) {
            found = p;
            st->model_checkpoint_path = NULL;
        }
    }
    free(index);
    tg_checkpoint_state_free(st);
    return found;
}
