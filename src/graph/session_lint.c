/* tg_run_options.lint: a session lints the first run of each plan with
 * every check, the session at hand (run counts for batch norm's decay). */
#include <stdlib.h>

#include "lint_internal.h"
#include "session_internal.h"

void tg__session_lint(tg_session *s, plan *p, tg_tensor *const *fetches, int nx, tg_op *const *targets, int nt) {
    p->lint_done = true;
    char *needed = calloc((size_t)s->g->n_ops + 1, 1);
    if (!needed) return;
    /* the plan's steps: what the run executes, feeds cutting the walk */
    for (int k = 0; k < p->n_steps; k++) needed[p->steps[k].op->id] = 1;
    tg_lint_run r = {.g = s->g, .needed = needed, .n_needed = s->g->n_ops, .fetches = fetches, .n_fetches = nx,
                     .targets = targets, .n_targets = nt, .s = s};
    tg__lint_run_all(&r, &p->lint_report);
    free(needed);
}
