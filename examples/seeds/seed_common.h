/* seed_common.h: the few helpers the five seed programs share.
 *
 * - a fixed pseudo-random generator for the synthetic batches (the same
 *   numbers on every run and machine, nothing downloaded);
 * - seed_run: one sess.run whose fetched values are copied into doubles;
 * - the statistics "by hand": per-channel mean and biased variance in plain
 *   C loops, and the moving-average step the documents write;
 * - seed_show: prints a value fetched from the session next to the value
 *   computed by hand and counts the elements that disagree;
 * - the UPDATE_OPS check switched on, with a callback that prints warnings.
 *
 * Nothing here asks the library for what the programs check: the hand
 * values use only the input batches or the fetched layer inputs. */
#ifndef SEED_COMMON_H
#define SEED_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgraph.h"

/* Values agree when |session - hand| <= SEED_RTOL * max(|hand|, floor):
 * floor 0 is a plain relative test (moving statistics), floor 1 accepts
 * an absolute 1e-5 for normalized outputs near zero. */
#define SEED_RTOL 1e-5

static int seed_mismatches; /* elements that disagreed */
static int seed_warnings;   /* warnings the session reported */

/* A linear congruential generator (Numerical Recipes' constants). */
static uint32_t seed_state = 20171102u;
static inline double seed_uniform(double lo, double hi) {
    seed_state = seed_state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (double)(seed_state >> 8) / 16777216.0;
}
static inline void seed_fill(float *x, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)seed_uniform(lo, hi);
}

/* The session's lint findings (tg_run_options.lint, the UPDATE_OPS check
 * among them) reach the user through this callback, one per line; the
 * library itself never prints. A seed evaluates after a few training steps
 * on purpose, to compare each step's numbers with TF's, so bn_decay's
 * finding (the moving statistics are still mostly their initial values) is
 * expected here and only noted; any other finding is a failure. */
static inline void seed_on_warning(const char *message, void *user) {
    (void)user;
    for (const char *line = message; *line;) {
        const char *end = strchr(line, '\n');
        int len = end ? (int)(end - line) : (int)strlen(line);
        bool expected = strncmp(line, "[bn_decay] ", 11) == 0;
        if (!expected) seed_warnings++;
        printf("%s: %.*s\n", expected ? "note (expected after a few steps)" : "warning", len, line);
        line += len + (end != NULL);
    }
}
static inline void seed_check_update_ops(tg_session *s) {
    tg_session_set_run_options(s, &(tg_run_options){.lint = true});
    tg_session_set_warning_callback(s, seed_on_warning, NULL);
}

/* The sticky construction error, checked once for the whole model. */
static inline int seed_graph_ok(tg_graph *g) {
    if (tg_graph_status(g) == TG_OK) return 1;
    fprintf(stderr, "graph error: %s\n", tg_graph_message(g));
    return 0;
}

/* sess.run(fetches, feed_dict) with an optional target op; the value of
 * fetches[i] is copied into outs[i] (which must be large enough; NULL to
 * skip). Returns 0, or -1 after printing the session's message. */
static inline int seed_run(tg_session *s, const tg_feed *feeds, int n_feeds, tg_tensor *const *fetches,
                           int n_fetches, double *const *outs, tg_op *target) {
    tg_array *vals[16] = {NULL};
    if (n_fetches > 16) return -1;
    tg_code rc = tg_session_run(s, feeds, n_feeds, fetches, n_fetches, vals, &target, target ? 1 : 0);
    if (rc != TG_OK) fprintf(stderr, "run error: %s\n", tg_session_message(s));
    for (int i = 0; i < n_fetches; i++) {
        for (int64_t k = 0; rc == TG_OK && outs[i] && k < tg_array_size(vals[i]); k++)
            outs[i][k] = tg_array_get(vals[i], k);
        tg_array_free(vals[i]);
    }
    return rc == TG_OK ? 0 : -1;
}

/* tf.nn.moments by hand: the per-channel mean and BIASED variance (divided
 * by n) of x seen as [outer, C, inner], channel c being x[(o*C + c)*inner + i].
 * NHWC [N, H, W, C]: outer N*H*W, inner 1; NCHW [N, C, H, W]: outer N,
 * inner H*W; [N, C]: outer N, inner 1. n = outer * inner. */
static inline void seed_moments(const double *x, int64_t outer, int C, int64_t inner, double *mean,
                                double *var) {
    double n = (double)(outer * inner);
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) s += x[(o * C + c) * inner + i];
        mean[c] = s / n;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                double d = x[(o * C + c) * inner + i] - mean[c];
                ss += d * d;
            }
        var[c] = ss / n;
    }
}

/* The documents' update: moving = moving * decay + value * (1 - decay). */
static inline void seed_moving_average(double *moving, const double *value, int n, double decay) {
    for (int i = 0; i < n; i++) moving[i] = moving[i] * decay + value[i] * (1 - decay);
}

/* Prints  name  session [..]  /  by hand [..]  and counts disagreements. */
static inline void seed_show(const char *name, const double *session, const double *hand, int n, double floor) {
    int bad = 0;
    printf("  %-38s session", name);
    for (int i = 0; i < n; i++) printf(" %11.7f", session[i]);
    printf("\n  %-38s by hand", "");
    for (int i = 0; i < n; i++) {
        double tol = SEED_RTOL * fmax(fabs(hand[i]), floor);
        int ok = fabs(session[i] - hand[i]) <= tol;
        bad += !ok;
        printf(" %11.7f%s", hand[i], ok ? "" : "!");
    }
    printf("%s\n", bad ? "   <- MISMATCH" : "");
    seed_mismatches += bad;
}

/* For long outputs: one line with the worst difference over all n values,
 * relative to max(|hand|, floor); counts a disagreement when above 1e-5. */
static inline void seed_show_worst(const char *name, const double *session, const double *hand, int n,
                                   double floor) {
    double worst = 0;
    for (int i = 0; i < n; i++) worst = fmax(worst, fabs(session[i] - hand[i]) / fmax(fabs(hand[i]), floor));
    int ok = worst <= SEED_RTOL;
    printf("  %-38s all %d values: worst difference %.2g%s\n", name, n, worst, ok ? "" : "   <- MISMATCH");
    seed_mismatches += !ok;
}

/* What a traced run (tg_run_options.trace) executed of batch norm, as a
 * learner reads it: the FusedBatchNormV3 ops that ran, and the moving-
 * average updates ("AssignMovingAvg") that ran or were skipped because
 * their cond branch was not taken. A count other than expected is a
 * mismatch. */
static inline void seed_check_trace(tg_session *s, int want_bn, int want_updates) {
    tg_op *const *ops;
    int n = tg_session_trace(s, &ops), bn = 0, updates = 0, skipped = 0;
    for (int i = 0; i < n; i++) {
        const char *type = tg_op_type(ops[i]), *name = tg_op_name(ops[i]);
        bool ran = !tg_session_trace_skipped(s, i);
        bool is_bn = strcmp(type, "FusedBatchNormV3") == 0;
        bool is_update = strstr(name, "AssignMovingAvg") && strcmp(type, "AssignSub") == 0;
        if (!is_bn && !is_update) continue;
        printf("    %-44s %s\n", name, ran ? "ran" : "skipped (branch not taken)");
        bn += is_bn && ran;
        updates += is_update && ran;
        skipped += !ran;
    }
    int ok = bn == want_bn && updates == want_updates;
    printf("  trace: %d FusedBatchNormV3 ran (want %d), %d moving-average updates ran (want %d), %d skipped%s\n", bn,
           want_bn, updates, want_updates, skipped, ok ? "" : "   <- MISMATCH");
    seed_mismatches += !ok;
}

/* The last line: "OK" and 0 when every value agreed and no warning came. */
static inline int seed_finish(void) {
    if (seed_mismatches == 0 && seed_warnings == 0) {
        puts("OK");
        return 0;
    }
    printf("FAILED: %d values disagree, %d warnings\n", seed_mismatches, seed_warnings);
    return 1;
}

#endif
