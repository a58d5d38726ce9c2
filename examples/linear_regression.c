/* Linear regression with hand-written gradient ops: the graph-mode basics
 * before autodiff. Fits y = w*x + b to noisy points on y = 3x + 2 by gradient
 * descent, where each step is one session run of a `train` target.
 *
 *   linear_regression [--steps N] [--dot FILE]
 *
 * --dot writes the graph as Graphviz DOT (render with dot -Tpng). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgraph.h"
#include "example_lint.h"

enum { N = 64 };

int main(int argc, char **argv) {
    int steps = 300;
    const char *dot_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dot") == 0 && i + 1 < argc) dot_path = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--steps N] [--dot FILE]\n", argv[0]);
            return 2;
        }
    }

    /* Data: x in [-1, 1), y = 3x + 2 + noise, from a fixed LCG so runs repeat. */
    float xs[N], ys[N];
    unsigned s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        float noise = ((float)((s >> 16) & 0x7fff) / 32768.0f - 0.5f) * 0.2f;
        xs[i] = -1.0f + 2.0f * (float)i / N;
        ys[i] = 3.0f * xs[i] + 2.0f + noise;
    }

    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "x");
    tg_tensor *y = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1), "y");
    tg_variable *w = NULL, *b = NULL;
    TG_OPTS(tg_get_variable_opts, zeros, .initializer = tg_zeros_initializer());
    TG_WITH_VARIABLE_SCOPE(g, "linear", NULL) {
        w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, &zeros);
        b = tg_get_variable(g, "b", TG_FLOAT32, TG_SCALAR, &zeros);
    }
    tg_tensor *pred = tg_add(g, tg_multiply(g, tg_variable_value(w), x, NULL), tg_variable_value(b), "pred");
    tg_tensor *err = tg_subtract(g, pred, y, "err");
    tg_tensor *loss = tg_reduce_mean(g, tg_square(g, err, NULL), &(tg_reduce_opts){.name = "loss"});

    /* d loss/dw = 2 mean(err * x), d loss/db = 2 mean(err). */
    tg_op *train = NULL;
    TG_WITH_NAME_SCOPE(g, "gradients") {
        tg_tensor *two_lr = tg_constant_scalar(g, TG_FLOAT32, 2 * 0.1, "two_lr");
        tg_tensor *dw = tg_reduce_mean(g, tg_multiply(g, err, x, NULL), &(tg_reduce_opts){.name = "dw"});
        tg_tensor *db = tg_reduce_mean(g, err, &(tg_reduce_opts){.name = "db"});
        tg_tensor *uw = tg_assign_sub(g, tg_variable_ref(w), tg_multiply(g, two_lr, dw, NULL), "update_w");
        tg_tensor *ub = tg_assign_sub(g, tg_variable_ref(b), tg_multiply(g, two_lr, db, NULL), "update_b");
        tg_op *updates[2] = {tg_tensor_op(uw), tg_tensor_op(ub)};
        train = tg_group(g, updates, 2, "train");
    }
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, "graph error: %s\n", tg_graph_message(g));
        tg_graph_free(g);
        return 1;
    }

    tg_session *sess = tg_session_new(g);
    example_lint_on(sess);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){N}, xs);
    tg_array *ya = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){N}, ys);
    tg_feed feeds[2] = {{x, xa}, {y, ya}};
    tg_array *out[3] = {NULL, NULL, NULL};
    int rc = 0;
    if (tg_session_run(sess, NULL, 0, NULL, 0, NULL, &init, 1) != TG_OK) goto fail;
    for (int step = 0; step <= steps; step++) {
        if (step % 50 == 0 || step == steps) {
            tg_tensor *fetch[3] = {loss, tg_variable_value(w), tg_variable_value(b)};
            if (tg_session_run(sess, feeds, 2, fetch, 3, out, NULL, 0) != TG_OK) goto fail;
            printf("step %4d  loss %.6f  w %.4f  b %.4f\n", step, tg_array_get(out[0], 0),
                   tg_array_get(out[1], 0), tg_array_get(out[2], 0));
        }
        if (step < steps && tg_session_run(sess, feeds, 2, NULL, 0, NULL, &train, 1) != TG_OK) goto fail;
    }
    if (dot_path) {
        FILE *f = fopen(dot_path, "w");
        if (!f || tg_graph_write_dot(g, f) != TG_OK) {
            fprintf(stderr, "could not write %s\n", dot_path);
            rc = 1;
        }
        if (f) fclose(f);
    }
    goto done;
fail:
    fprintf(stderr, "run error: %s\n", tg_session_message(sess));
    rc = 1;
done:
    for (int i = 0; i < 3; i++) tg_array_free(out[i]);
    tg_array_free(xa);
    tg_array_free(ya);
    tg_session_free(sess);
    tg_graph_free(g);
    return rc;
}
