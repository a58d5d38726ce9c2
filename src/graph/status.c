/* Errors: the sticky graph status, the log callback and message buffers.
 * tg__vfail is the one place a construction error is recorded; set a
 * breakpoint there to find where the first error happened. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

static tg_log_fn log_fn;
static void *log_user;
static bool log_set; /* false: the default, build errors to stderr */

void tg_log_stderr(tg_code code, const char *message, void *user) {
    (void)user;
    fprintf(stderr, "tgraph: %s: %s\n", tg_code_name(code), message);
}

void tg_set_log_callback(tg_log_fn fn, void *user) {
    log_fn = fn;
    log_user = user;
    log_set = true;
}

void tg__log(tg_code code, const char *message) {
    if (log_fn) log_fn(code, message, log_user);
}

/* Build errors reach stderr by default: the sticky error otherwise waits
 * silently until someone asks for it. */
void tg__log_build(tg_code code, const char *message) {
    if (log_set) tg__log(code, message);
    else tg_log_stderr(code, message, NULL);
}

const char *tg_code_name(tg_code code) {
    switch (code) {
#define TG__CODE_CASE(name, value) \
    case TG_##name:                \
        return #name;
        TG_CODE_MAP(TG__CODE_CASE)
#undef TG__CODE_CASE
    }
    return "UNKNOWN_CODE";
}

void tg_free(void *ptr) { free(ptr); }

void tg__strbuf_printf(tg__strbuf *b, const char *fmt, ...) {
    if (b->failed) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tg__strbuf_free(tg__strbuf *b) {
    free(b->data);
    *b = (tg__strbuf){0};
}

static char *vformat(const char *fmt, va_list ap) {
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

tg_code tg__vfail(tg_graph *g, tg_code code, const char *fmt, va_list ap) {
    if (!g || g->code != TG_OK) return code; /* the first error wins */
    g->code = code;
    g->message = vformat(fmt, ap);
    tg__log_build(code, g->message ? g->message : "");
    return code;
}

tg_code tg__fail(tg_graph *g, tg_code code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tg__vfail(g, code, fmt, ap);
    va_end(ap);
    return code;
}

tg_code tg_graph_fail(tg_graph *g, tg_code code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tg__vfail(g, code, fmt, ap);
    va_end(ap);
    return code;
}

tg_code tg__infer_fail(tg__infer_ctx *c, tg_code code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tg__fail(c->g, code, "%s: %s", c->op_name, msg);
}

tg_code tg_graph_status(const tg_graph *g) { return g ? g->code : TG_INVALID_ARGUMENT; }

const char *tg_graph_message(const tg_graph *g) {
    if (!g) return "graph is NULL";
    return g->message ? g->message : "";
}

tg_code tg_graph_clear_status(tg_graph *g) {
    if (!g) return TG_INVALID_ARGUMENT;
    tg_code c = g->code;
    g->code = TG_OK;
    free(g->message);
    g->message = NULL;
    return c;
}

bool tg_graph_check_opts(tg_graph *g, unsigned tag, unsigned expected, const char *fn, const char *init) {
    if (!g) return false;
    if (tag == expected) return true;
    /* Without the tag every field would read as zero: decay 0, center false,
     * NULL activations. Refusing is the only safe reading. */
    tg__fail(g, TG_INVALID_ARGUMENT,
             "%s: options not started from %s (a compound literal or zeroed struct would mean 0 and false, "
             "not TF's defaults); write `opts = %s;` and then set fields",
             fn, init, init);
    return false;
}

bool tg_graph_check_list(tg_graph *g, const char *who, const char *what, const char *const *list, int n) {
    if (!g) return false;
    if (n < 0 || (n > 0) != (list != NULL)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: option '%s' is %s with n_%s %d (TG_LIST sets both)", who, what,
                 list ? "given" : "NULL", what, n);
        return false;
    }
    for (int i = 0; i < n; i++)
        if (!list[i]) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: option '%s': collection %d of %d is NULL", who, what, i, n);
            return false;
        }
    return true;
}
