#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "mnist_common.h"

double mnist_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void mnist_print_confusion(FILE *f, const mnist_eval *e, const char *const *names) {
    fprintf(f, "confusion matrix (rows: true class, columns: predicted class)\n%16s", "");
    for (int j = 0; j < MNIST_CLASSES; j++) fprintf(f, " %5d", j);
    fprintf(f, "  recall\n");
    for (int i = 0; i < MNIST_CLASSES; i++) {
        int64_t row = 0;
        for (int j = 0; j < MNIST_CLASSES; j++) row += e->confusion[i][j];
        fprintf(f, "%d %-13.13s", i, names[i]);
        for (int j = 0; j < MNIST_CLASSES; j++) fprintf(f, " %5lld", (long long)e->confusion[i][j]);
        if (row > 0) fprintf(f, "  %.3f\n", (double)e->confusion[i][i] / (double)row);
        else fprintf(f, "      -\n");
    }
}

static void format_duration(double s, char *b, size_t n) {
    long t = s > 0 && s < 1e7 ? (long)(s + 0.5) : 0;
    if (t >= 3600) snprintf(b, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(b, n, "%ld:%02ld", t / 60, t % 60);
}

void mnist_progress_draw(mnist_progress *p, int64_t step, double loss, double acc, int64_t images, double now) {
    if (now - p->last_draw < 0.1 && step < p->steps) return;
    p->last_draw = now;
    enum { WIDTH = 20 };
    char bar[WIDTH + 1], eta[32];
    int filled = (int)(WIDTH * step / p->steps);
    for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = 0;
    double elapsed = now - p->t0;
    format_duration(step > 0 ? elapsed / (double)step * (double)(p->steps - step) : 0, eta, sizeof eta);
    /* \033[K clears what a longer earlier line left behind. */
    printf("\repoch %d/%d [%s] %3d%% %lld/%lld  loss %.4f  acc %.4f  %.0f img/s  ETA %s\033[K", p->epoch, p->epochs,
           bar, (int)(100 * step / p->steps), (long long)step, (long long)p->steps, loss, acc,
           elapsed > 0 ? (double)images / elapsed : 0.0, eta);
    fflush(stdout);
}

/* Single quotes are gnuplot's literal strings; a path holding one cannot be
 * passed safely, so it is refused rather than mangled. */
static int quotable(const char *s) { return strchr(s, '\'') == NULL && strchr(s, '\n') == NULL; }

int mnist_plot(const char *csv, const char *png, const char *title, char *err, size_t errlen) {
    if (!quotable(csv) || !quotable(png) || !quotable(title)) {
        snprintf(err, errlen, "paths for the plot must not contain quotes or newlines");
        return 0;
    }
    /* popen runs /bin/sh: exit status 127 means gnuplot is not installed. */
    FILE *gp = popen("gnuplot 2>/dev/null", "w");
    if (!gp) {
        snprintf(err, errlen, "cannot start gnuplot");
        return 0;
    }
    fprintf(gp,
            "set terminal png size 1000,420 noenhanced\n"
            "set output '%s'\n"
            "set datafile separator ','\n"
            "set xlabel 'epoch'\n"
            "set xtics 1\n"
            "set grid\n"
            "set multiplot layout 1,2 title '%s'\n"
            "set title 'loss'\n"
            "plot '%s' using 1:2 with linespoints title 'train', '' using 1:4 with linespoints title 'test'\n"
            "set title 'accuracy'\n"
            "set key bottom right\n"
            "plot '%s' using 1:3 with linespoints title 'train', '' using 1:5 with linespoints title 'test'\n"
            "unset multiplot\n",
            png, title, csv, csv);
    int status = pclose(gp);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            snprintf(err, errlen, "gnuplot is not installed (apt-get install gnuplot-nox); the CSV is %s", csv);
        else snprintf(err, errlen, "gnuplot failed to draw %s from %s", png, csv);
        return 0;
    }
    return 1;
}
