#include <string.h>

#include "mnist_common.h"

int mnist_evaluate(tg_session *s, const tg_idx_dataset *set, tg_tensor *x, tg_tensor *y, tg_tensor *loss,
                   tg_tensor *prediction, mnist_eval *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    tg_batch_iter *it = tg_batch_iter_new(set, MNIST_EVAL_BATCH, false, 0, TG_NHWC);
    tg_array *xb = NULL, *yb = NULL, *res[2] = {NULL, NULL};
    double sum_loss = 0;
    int64_t hits = 0;
    int ok = it != NULL;
    if (!ok) snprintf(err, errlen, "out of memory");
    while (ok && tg_batch_iter_next(it, &xb, &yb)) {
        tg_feed feeds[2] = {{x, xb}, {y, yb}};
        if (tg_session_run(s, feeds, 2, (tg_tensor *[]){loss, prediction}, 2, res, NULL, 0) != TG_OK) {
            snprintf(err, errlen, "%s", tg_session_message(s));
            ok = 0;
            break;
        }
        const int64_t b = tg_array_dim(yb, 0);
        const int64_t *labels = tg_array_data(yb), *pred = tg_array_data(res[1]);
        for (int64_t i = 0; i < b; i++) {
            /* Sparse cross-entropy already rejects such labels; this guards the matrix. */
            if (labels[i] < 0 || labels[i] >= MNIST_CLASSES || pred[i] < 0 || pred[i] >= MNIST_CLASSES) {
                snprintf(err, errlen, "label %lld outside 0..9", (long long)labels[i]);
                ok = 0;
                break;
            }
            out->confusion[labels[i]][pred[i]]++;
            hits += labels[i] == pred[i];
        }
        sum_loss += tg_array_get(res[0], 0) * (double)b;
        out->count += b;
    }
    if (ok && tg_batch_iter_status(it) != TG_OK) {
        snprintf(err, errlen, "the batch iterator failed: %s", tg_code_name(tg_batch_iter_status(it)));
        ok = 0;
    }
    if (ok && out->count == 0) {
        snprintf(err, errlen, "the evaluation set is empty");
        ok = 0;
    }
    if (ok) {
        out->loss = sum_loss / (double)out->count;
        out->accuracy = (double)hits / (double)out->count;
    }
    tg_array_free(res[0]);
    tg_array_free(res[1]);
    tg_array_free(xb);
    tg_array_free(yb);
    tg_batch_iter_free(it);
    return ok;
}
