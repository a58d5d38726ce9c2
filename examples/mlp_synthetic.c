/* A 2-layer MLP trained with tg_gradients and assign_sub ops only (no
 * optimizer objects yet): the two-moons-like problem of classifying points
 * by which side of a sine curve they fall on.
 *
 *   mlp_synthetic [--steps N] [--dot FILE]
 *
 * Prints the loss and training accuracy as it goes; the loss falls. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgraph.h"
#include "example_lint.h"

enum { N = 256, HIDDEN = 32 };

int main(int argc, char **argv) {
    int steps = 600;
    const char *dot_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dot") == 0 && i + 1 < argc) dot_path = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--steps N] [--dot FILE]\n", argv[0]);
            return 2;
        }
    }
    /* Points in [-1, 1]^2, label 1 above y = 0.5 sin(3x). */
    float xs[N * 2];
    int32_t ys[N];
    unsigned s = 7;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        float a = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
        s = s * 1103515245u + 12345u;
        float b = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
        xs[2 * i] = a;
        xs[2 * i + 1] = b;
        ys[i] = b > 0.5f * sinf(3 * a);
    }

    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 42);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2), "x");
    tg_tensor *labels = tg_placeholder(g, TG_INT32, TG_SHAPE(-1), "labels");
    tg_variable *w1 = NULL, *b1 = NULL, *w2 = NULL, *b2 = NULL;
    tg_tensor *h = NULL, *logits = NULL;
    TG_OPTS(tg_get_variable_opts, zeros, .initializer = tg_zeros_initializer());
    TG_WITH_VARIABLE_SCOPE(g, "hidden", NULL) {
        w1 = tg_get_variable(g, "weights", TG_FLOAT32, TG_SHAPE(2, HIDDEN), NULL);
        b1 = tg_get_variable(g, "biases", TG_FLOAT32, TG_SHAPE(HIDDEN), &zeros);
        h = tg_tanh(g, tg_add(g, tg_matmul(g, x, tg_variable_value(w1), NULL), tg_variable_value(b1), NULL), NULL);
    }
    TG_WITH_VARIABLE_SCOPE(g, "logits", NULL) {
        w2 = tg_get_variable(g, "weights", TG_FLOAT32, TG_SHAPE(HIDDEN, 2), NULL);
        b2 = tg_get_variable(g, "biases", TG_FLOAT32, TG_SHAPE(2), &zeros);
        logits = tg_add(g, tg_matmul(g, h, tg_variable_value(w2), NULL), tg_variable_value(b2), NULL);
    }
    tg_tensor *loss = tg_reduce_mean(g, tg_nn_sparse_softmax_cross_entropy_with_logits(g, labels, logits, NULL),
                                     &(tg_reduce_opts){.name = "loss"});
    tg_tensor *correct = tg_equal(g, tg_cast(g, tg_argmax(g, logits, 1, NULL), TG_INT32, NULL), labels, NULL);
    tg_tensor *accuracy = tg_reduce_mean(g, tg_cast(g, correct, TG_FLOAT32, NULL), &(tg_reduce_opts){.name = "accuracy"});

    /* Gradient descent by hand: one assign_sub per variable, grouped. */
    tg_variable *vars[4] = {w1, b1, w2, b2};
    tg_tensor *values[4], *grads[4];
    for (int i = 0; i < 4; i++) values[i] = tg_variable_value(vars[i]);
    tg_gradients(g, &loss, 1, values, 4, grads, NULL);
    tg_op *updates[4] = {NULL};
    TG_WITH_NAME_SCOPE(g, "sgd") {
        tg_tensor *lr = tg_constant_scalar(g, TG_FLOAT32, 0.5, "learning_rate");
        for (int i = 0; i < 4; i++)
            updates[i] = tg_tensor_op(tg_assign_sub(g, tg_variable_ref(vars[i]), tg_multiply(g, lr, grads[i], NULL), NULL));
    }
    tg_op *train = tg_group(g, updates, 4, "train");
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, "graph error: %s\n", tg_graph_message(g));
        tg_graph_free(g);
        return 1;
    }

    tg_session *sess = tg_session_new(g);
    example_lint_on(sess);
    tg_array *xa = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){N, 2}, xs);
    tg_array *ya = tg_array_new_from(TG_INT32, 1, (int64_t[]){N}, ys);
    tg_feed feeds[2] = {{x, xa}, {labels, ya}};
    tg_tensor *fetch[2] = {loss, accuracy};
    tg_array *out[2] = {NULL, NULL};
    int rc = 0;
    if (tg_session_run(sess, NULL, 0, NULL, 0, NULL, &init, 1) != TG_OK) goto fail;
    for (int step = 0; step <= steps; step++) {
        if (step % 100 == 0) {
            if (tg_session_run(sess, feeds, 2, fetch, 2, out, NULL, 0) != TG_OK) goto fail;
            printf("step %4d  loss %.4f  accuracy %.3f\n", step, tg_array_get(out[0], 0), tg_array_get(out[1], 0));
        }
        if (step < steps && tg_session_run(sess, feeds, 2, NULL, 0, NULL, &train, 1) != TG_OK) goto fail;
    }
    if (dot_path) {
        FILE *f = fopen(dot_path, "w");
        if (!f || tg_graph_write_dot(g, f) != TG_OK) rc = 1;
        if (f) fclose(f);
    }
    goto done;
fail:
    fprintf(stderr, "run error: %s\n", tg_session_message(sess));
    rc = 1;
done:
    tg_array_free(out[0]);
    tg_array_free(out[1]);
    tg_array_free(xa);
    tg_array_free(ya);
    tg_session_free(sess);
    tg_graph_free(g);
    return rc;
}
