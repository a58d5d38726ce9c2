/* example_lint.h: the example programs run with the lint on
 * (tg_run_options.lint) and print what it finds as "warning: ..." lines on
 * stdout, so that their tests can check that a correct program draws no
 * finding. The library itself never prints. */
#ifndef TGRAPH_EXAMPLES_EXAMPLE_LINT_H
#define TGRAPH_EXAMPLES_EXAMPLE_LINT_H

#include <stdio.h>
#include <tgraph.h>

static inline void example_print_warning(const char *message, void *user) {
    (void)user;
    printf("warning: %s\n", message);
}

/* Lints the first run of each fetch set of s (other options off). */
static inline void example_lint_on(tg_session *s) {
    tg_session_set_run_options(s, &(tg_run_options){.lint = true});
    tg_session_set_warning_callback(s, example_print_warning, NULL);
}

#endif
