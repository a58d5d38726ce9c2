/* The Saver in TF's own format, tensor bundle V2, through the public
 * checkpoint API (tgraph/checkpoint.h): a save is one tg_checkpoint_write,
 * a restore opens the bundle (which validates its index and entries),
 * checks every variable's key, dtype and shape, reads every value (CRC32C
 * checked) and only then assigns them all in one run, so a failed restore
 * changes no variable, as in tgraph's own format. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saver_internal.h"

#define ERR_SIZE 1024

tg_code tg__saver_save_v2(tg_saver *s, const char *prefix, tg_array *const *vals) {
    char err[ERR_SIZE] = "";
    tg_code rc = tg_checkpoint_write(prefix, s->n, (const char *const *)s->keys, (const tg_array *const *)vals, err,
                                     sizeof err);
    if (rc != TG_OK) return tg__saver_fail(s, rc, "cannot save checkpoint %s: %s", prefix, err);
    return TG_OK;
}

/* "(2, 3)" for the file's dims (which may have more than TG_MAX_RANK). */
static const char *file_shape(const tg_checkpoint_var *v, char *buf, size_t size) {
    if (v->rank > TG_MAX_RANK) {
        snprintf(buf, size, "of rank %d", v->rank);
        return buf;
    }
    tg_shape sh = {.rank = v->rank};
    for (int d = 0; d < v->rank; d++) sh.dims[d] = v->dims[d];
    return tg_shape_format(&sh, buf, size);
}

static bool same_dims(const tg_checkpoint_var *v, const tg_shape *want) {
    if (v->rank != want->rank) return false;
    for (int d = 0; d < v->rank; d++)
        if (v->dims[d] != want->dims[d]) return false;
    return true;
}

/* Every variable's key is in the bundle with the variable's dtype and
 * shape; the first that is not, in the saver's order, is the error. */
static tg_code check_entries(tg_saver *s, const tg_checkpoint_reader *r, const char *prefix) {
    for (int i = 0; i < s->n; i++) {
        const char *key = s->keys[i];
        const tg_checkpoint_var *v = tg_checkpoint_reader_find(r, key);
        tg_dtype want = tg_variable_dtype(s->vars[i]);
        tg_shape shape = tg_variable_shape(s->vars[i]);
        char x[160], y[160];
        if (!v)
            return tg__saver_fail(s, TG_NOT_FOUND, "Restoring from checkpoint %s failed: Key %s not found in checkpoint",
                                  prefix, key);
        /* by name: a dtype tgraph lacks has no tg_dtype, and a rank over
         * TG_MAX_RANK makes even a known dtype unloadable */
        if (strcmp(v->dtype_name, tg_dtype_name(want)) != 0)
            return tg__saver_fail(s, TG_INVALID_ARGUMENT,
                                  "checkpoint %s: variable '%s' has dtype %s in the file but %s in the graph", prefix,
                                  key, v->dtype_name, tg_dtype_name(want));
        if (!same_dims(v, &shape))
            return tg__saver_fail(s, TG_INVALID_ARGUMENT,
                                  "checkpoint %s: variable '%s' has shape %s in the file but %s in the graph", prefix,
                                  key, file_shape(v, x, sizeof x), tg_shape_format(&shape, y, sizeof y));
    }
    return TG_OK;
}

/* Reads every variable's value (CRC32C checked) into vals. */
static tg_code load_all(tg_saver *s, const tg_checkpoint_reader *r, const char *prefix, tg_array **vals) {
    char err[ERR_SIZE] = "";
    for (int i = 0; i < s->n; i++) {
        tg_code rc = tg_checkpoint_reader_load(r, s->keys[i], &vals[i], err, sizeof err);
        if (rc != TG_OK) return tg__saver_fail(s, rc, "cannot restore checkpoint %s: %s", prefix, err);
    }
    return TG_OK;
}

tg_code tg__saver_restore_v2(tg_saver *s, tg_session *sess, const char *prefix) {
    char err[ERR_SIZE] = "";
    tg_checkpoint_reader *r = NULL;
    tg_code rc = tg_checkpoint_reader_open(prefix, &r, err, sizeof err);
    if (rc != TG_OK) return tg__saver_fail(s, rc, "cannot restore checkpoint %s: %s", prefix, err);
    tg_array **vals = calloc((size_t)s->n, sizeof *vals);
    tg_feed *feeds = malloc((size_t)s->n * sizeof *feeds);
    if (!vals || !feeds) rc = tg__saver_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory restoring checkpoint %s", prefix);
    else if ((rc = check_entries(s, r, prefix)) == TG_OK && (rc = load_all(s, r, prefix, vals)) == TG_OK) {
        for (int i = 0; i < s->n; i++) feeds[i] = (tg_feed){s->inputs[i], vals[i]};
        rc = tg_session_run(sess, feeds, s->n, NULL, 0, NULL, &s->restore_all, 1);
        if (rc != TG_OK) tg__saver_fail(s, rc, "cannot restore checkpoint %s: %s", prefix, tg_session_message(sess));
    }
    for (int i = 0; vals && i < s->n; i++) tg_array_free(vals[i]);
    free(vals);
    free(feeds);
    tg_checkpoint_reader_free(r);
    return rc;
}
