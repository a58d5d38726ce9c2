/* A session's run options and what they produce: the UPDATE_OPS warning
 * (returned and sent to the warning callback), the trace of the last
 * traced run, and the Print ops' sink. */
#include <stdio.h>

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
    if (o->trace) {
        s->traced = pl;
        s->traced_steps = steps_run;
    }
}

void tg_session_set_run_options(tg_session *s, const tg_run_options *opts) {
    if (s) s->defaults = opts ? *opts : (tg_run_options){0};
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
