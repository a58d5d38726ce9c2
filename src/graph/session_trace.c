/* A session's run options and what they produce: the UPDATE_OPS warning
 * (returned and sent to the warning callback), the trace of the last
 * traced run, the per-op timing and its Chrome trace, and the Print ops'
 * sink. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "graph_internal.h"
#include "session_internal.h"

/* ---- run options, warnings and traces ------------------------------------------ */

/* The options' side of a run: the UPDATE_OPS warning and the trace. */
void tg__note_run(tg_session *s, const plan *pl, plan *p, const tg_run_options *o, int steps_run) {
    s->warning = NULL;
    if (p && o->check_update_ops && p->lint) {
        s->warning = p->lint;
        if (s->warn_fn && !p->lint_told) s->warn_fn(p->lint, s->warn_user);
        p->lint_told = true;
    }
    if (p && o->lint && p->lint_report) {
        s->warning = p->lint_report;
        if (s->warn_fn && !p->lint_report_told) s->warn_fn(p->lint_report, s->warn_user);
        p->lint_report_told = true;
    }
    if (o->trace) {
        s->traced = s->ran ? s->ran : pl; /* a callable's plan in the other race mode ran its twin */
        s->traced_steps = steps_run;
    }
    s->ran = NULL;
    s->race_seed = s->defaults.race_seed;
    if (o->step_stats) {
        if (!s->stats_open) s->n_stats = 0; /* the run executed no op */
        s->stats_open = false;
    }
    s->stats_on = s->defaults.step_stats;
}

void tg_session_set_run_options(tg_session *s, const tg_run_options *opts) {
    if (!s) return;
    s->defaults = opts ? *opts : (tg_run_options){0};
    s->stats_on = s->defaults.step_stats;
    s->race_seed = s->defaults.race_seed;
}

const char *tg_session_warnings(const tg_session *s) { return s && s->warning ? s->warning : ""; }

void tg_session_set_print_callback(tg_session *s, tg_print_fn fn, void *user) {
    if (!s) return;
    s->print_fn = fn;
    s->print_user = user;
}

void tg__session_print(tg_session *s, const char *text) {
    if (s->print_fn) s->print_fn(text, s->print_user);
    else fprintf(stderr, "%s\n", text); /* TF's PrintOp writes to stderr */
}

void tg_session_set_warning_callback(tg_session *s, tg_warning_fn fn, void *user) {
    if (!s) return;
    s->warn_fn = fn;
    s->warn_user = user;
}

int tg_session_trace(const tg_session *s, tg_op *const **ops) {
    if (ops) *ops = s && s->traced ? s->traced->order : NULL;
    return s && s->traced ? s->traced_steps : 0;
}

bool tg_session_trace_skipped(const tg_session *s, int i) {
    return s && s->traced && s->traced->skipped && i >= 0 && i < s->traced_steps && s->traced->skipped[i];
}

int64_t tg_session_trace_run_count(const tg_session *s, int i) {
    if (!s || !s->traced || i < 0 || i >= s->traced_steps) return 0;
    if (s->traced->step_runs) return s->traced->step_runs[i];
    return tg_session_trace_skipped(s, i) ? 0 : 1;
}

tg_code tg_session_write_trace(const tg_session *s, FILE *out) {
    if (!s || !out) return TG_INVALID_ARGUMENT;
    tg_op *const *ops;
    int n = tg_session_trace(s, &ops);
    for (int i = 0; i < n; i++) {
        const tg_op *op = ops[i];
        if (fprintf(out, "%4d  %s (%s)", i + 1, op->name, op->def->type) < 0) return TG_INTERNAL;
        for (int k = 0; k < op->n_control; k++)
            if (fprintf(out, "%s%s", k ? ", " : "  after: ", op->control[k]->name) < 0) return TG_INTERNAL;
        if (tg_session_trace_skipped(s, i) && fputs("  [skipped: its cond branch was not taken]", out) == EOF)
            return TG_INTERNAL;
        int64_t runs = tg_session_trace_run_count(s, i);
        if (runs > 1 && fprintf(out, "  [ran %lld times]", (long long)runs) < 0) return TG_INTERNAL;
        if (fputc('\n', out) == EOF) return TG_INTERNAL;
    }
    return fflush(out) == 0 ? TG_OK : TG_INTERNAL;
}

/* ---- per-op timing (tg_run_options.step_stats) ------------------------------------ */

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* A plan without loops fits in its step count, so steady runs allocate once;
 * loops make the count unknown, hence the doubling. */
static tg_code stats_grow(tg_session *s, const plan *p) {
    if (s->cap_stats > INT_MAX / 2)
        return tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "step_stats: more than %d op executions", s->cap_stats);
    int cap = s->cap_stats * 2 > p->n_steps ? s->cap_stats * 2 : p->n_steps;
    if (cap < 16) cap = 16;
    tg_step_stat *v = realloc(s->stats, (size_t)cap * sizeof *v);
    if (!v) return tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "step_stats: out of memory for %d entries", cap);
    s->stats = v;
    s->cap_stats = cap;
    return TG_OK;
}

tg_code tg__step_stat_begin(tg_session *s, const plan *p, int64_t *start) {
    if (!s->stats_open) {
        s->stats_open = true;
        s->n_stats = 0;
        s->stats_t0 = now_ns();
    }
    if (s->n_stats == s->cap_stats) {
        tg_code rc = stats_grow(s, p);
        if (rc != TG_OK) return rc;
    }
    *start = now_ns();
    return TG_OK;
}

void tg__step_stat_end(tg_session *s, const tg_op *op, int64_t start) {
    int64_t end = now_ns();
    s->stats[s->n_stats++] = (tg_step_stat){.op = op, .start_ns = start - s->stats_t0, .duration_ns = end - start};
}

int tg_session_step_stats(const tg_session *s, const tg_step_stat **stats) {
    int n = s ? s->n_stats : 0;
    if (stats) *stats = n ? s->stats : NULL;
    return n;
}

/* JSON needs quotes, backslashes and control characters escaped; other
 * bytes pass through (names are UTF-8). The caller writes the quotes. */
static bool put_json_chars(FILE *out, const char *str) {
    for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
        bool ok = *c == '"' || *c == '\\' ? fprintf(out, "\\%c", *c) >= 0
                  : *c < 0x20             ? fprintf(out, "\\u%04x", *c) >= 0
                                          : fputc(*c, out) != EOF;
        if (!ok) return false;
    }
    return true;
}

/* ,"key":"<prefix><name>[:index]" (index < 0: none) */
static bool put_arg(FILE *out, const char *key, const char *prefix, const char *name, int index) {
    if (fprintf(out, ",\"%s\":\"%s", key, prefix) < 0 || !put_json_chars(out, name)) return false;
    return (index < 0 ? fputc('"', out) != EOF : fprintf(out, ":%d\"", index) >= 0);
}

static const char tf_cpu[] = "/job:localhost/replica:0/task:0/device:CPU:0";

/* TF's timeline names a pid for the device's ops and one for its tensors. */
static bool put_process(FILE *out, int pid, const char *what) {
    return fprintf(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"args\":{\"name\":\"%s %s\"}}", pid,
                   tf_cpu, what) >= 0;
}

/* TF's timeline takes the inputs from the node's label, spelt as in its
 * NodeDef: "x" for output 0, "x:1", "^c" for a control input. */
static bool put_inputs(FILE *out, const tg_op *op) {
    char key[32];
    for (int i = 0; i < op->n_inputs + op->n_control; i++) {
        snprintf(key, sizeof key, "input%d", i);
        const tg_tensor *t = i < op->n_inputs ? op->inputs[i] : NULL;
        bool ok = t ? put_arg(out, key, "", t->op->name, t->index ? t->index : -1)
                    : put_arg(out, key, "^", op->control[i - op->n_inputs]->name, -1);
        if (!ok) return false;
    }
    return true;
}

/* A complete event; ts and dur in microseconds, to the nanosecond. */
static bool put_event(FILE *out, const tg_step_stat *e) {
    const tg_op *op = e->op;
    if (fputs(",\n{\"ph\":\"X\",\"cat\":\"Op\",\"name\":\"", out) == EOF || !put_json_chars(out, op->def->type))
        return false;
    if (fprintf(out, "\",\"pid\":0,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"name\":\"", e->thread,
                (double)e->start_ns / 1e3, (double)e->duration_ns / 1e3) < 0)
        return false;
    if (!put_json_chars(out, op->name) || fputc('"', out) == EOF || !put_arg(out, "op", "", op->def->type, -1) ||
        !put_inputs(out, op))
        return false;
    return fputs("}}", out) != EOF;
}

tg_code tg_session_write_chrome_trace(const tg_session *s, FILE *out) {
    if (!s || !out) return TG_INVALID_ARGUMENT;
    const tg_step_stat *v;
    int n = tg_session_step_stats(s, &v);
    if (fputs("{\"traceEvents\":[\n", out) == EOF || !put_process(out, 0, "Compute") || fputs(",\n", out) == EOF ||
        !put_process(out, 1, "Tensors"))
        return TG_INTERNAL;
    for (int i = 0; i < n; i++)
        if (!put_event(out, &v[i])) return TG_INTERNAL;
    if (fputs("\n]}\n", out) == EOF) return TG_INTERNAL;
    return fflush(out) == 0 ? TG_OK : TG_INTERNAL;
}
