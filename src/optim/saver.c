/* tf.train.Saver: checkpoints of variable values, on the public API only.
 *
 * The saver builds its restore graph once, at creation, in name scope
 * "save": per variable a Placeholder of the variable's dtype and shape and an
 * Assign, grouped by the NoOp "save/restore_all". Save fetches every value in
 * one run and writes the file; restore reads and checks the whole file before
 * it feeds all values in one run, so a failed restore changes no variable.
 *
 * Formats (docs/checkpoint-format.md): TF's V2, the default, goes through
 * saver_v2.c; tgraph's own one-file format (version 1) is here, and a
 * restore takes either, told apart by the files. The state file and
 * max_to_keep are checkpoint_state.c's.
 *
 * Writes are atomic: "<path>.tmp.<pid>" is written, flushed, fsync'ed, closed
 * and renamed over path (then the directory is fsync'ed, best effort).
 *
 * A file to restore is untrusted: it is opened without blocking and refused
 * unless regular, and every length or count in it is checked against the
 * bytes left in the file (and names against TG_CHECKPOINT_MAX_NAME) before
 * anything is allocated from it, so a restore allocates about the file's
 * size at most. Names of entries the saver does not hold are sorted once at
 * the end to find one listed twice: O(N log N) in the file's entries. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "saver_internal.h"

/* Every message goes through tg__saver_fail, which saver_v2.c and
 * checkpoint_state.c share. */
#define fail tg__saver_fail
#define errno_code tg__saver_errno_code

#define MAGIC "TGCKPT\0\0"
#define MAGIC_LEN 8
#define VERSION 1u
/* The smallest entry: name length, a 1-byte name, dtype, rank 0, byte count. */
#define MIN_ENTRY_BYTES 21u

/* ---- messages ------------------------------------------------------------------ */

tg_code tg__saver_fail(tg_saver *s, tg_code code, const char *fmt, ...) {
    free(s->message);
    s->message = NULL;
    s->oom = false;
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *m = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!m) {
        s->oom = true;
        return code;
    }
    va_start(ap, fmt);
    vsnprintf(m, (size_t)len + 1, fmt, ap);
    va_end(ap);
    s->message = m;
    return code;
}

static void clear_message(tg_saver *s) {
    free(s->message);
    s->message = NULL;
    s->oom = false;
}

const char *tg_saver_message(const tg_saver *s) {
    if (!s) return "invalid saver (NULL)";
    if (s->oom) return "out of memory while formatting the error message";
    return s->message ? s->message : "";
}

/* TF's errno mapping (tensorflow/core/platform/errors.cc). */
tg_code tg__saver_errno_code(int e) {
    switch (e) {
    case ENOENT: case ENODEV: case ENXIO: return TG_NOT_FOUND;
    case EEXIST: return TG_ALREADY_EXISTS;
    case EACCES: case EPERM: case EROFS: return TG_PERMISSION_DENIED;
    case EISDIR: case ENOTDIR: case ENOTEMPTY: case EBUSY: case ETXTBSY: return TG_FAILED_PRECONDITION;
    case ENOSPC: case EMFILE: case ENFILE: case ENOMEM: case EMLINK:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return TG_RESOURCE_EXHAUSTED;
    case EINVAL: case ENAMETOOLONG: case ELOOP: return TG_INVALID_ARGUMENT;
    case EFBIG: case EOVERFLOW: return TG_OUT_OF_RANGE;
    case ECANCELED: return TG_CANCELLED;
    default: return TG_UNKNOWN;
    }
}

/* "<what> <path>: <strerror>" with the code errno maps to. */
static tg_code sys_fail(tg_saver *s, int e, const char *what, const char *path) {
    char buf[256];
    if (strerror_r(e, buf, sizeof buf) != 0) snprintf(buf, sizeof buf, "error %d", e);
    return fail(s, errno_code(e), "%s %s: %s", what, path, buf);
}

/* ---- creation ---------------------------------------------------------------- */

static int cmp_by_name(const void *a, const void *b) {
    return strcmp(((const by_name *)a)->name, ((const by_name *)b)->name);
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

static int find_var(const tg_saver *s, const char *name) {
    by_name key = {name, -1};
    const by_name *hit = bsearch(&key, s->sorted, (size_t)s->n, sizeof key, cmp_by_name);
    return hit ? hit->index : -1;
}

/* ---- the saver_omits_moving_stats lint ------------------------------------------------------ */

/* The savers alive on a graph, attached to it (made before any of them,
 * so it outlives them when the graph frees its objects newest first): a
 * lint's user must live as long as the graph, a saver may be freed early. */
struct saver_list {
    tg_saver **savers;
    int n, cap;
    bool lint_added;
};

#define SAVER_LIST_KEY "tgraph.optim.savers"

static void saver_list_free(void *p) {
    saver_list *l = p;
    free(l->savers);
    free(l);
}

static void list_remove(saver_list *l, const tg_saver *s) {
    for (int i = 0; l && i < l->n; i++)
        if (l->savers[i] == s) {
            memmove(&l->savers[i], &l->savers[i + 1], (size_t)(l->n - i - 1) * sizeof *l->savers);
            l->n--;
            return;
        }
}

static bool in_list(tg_variable *const *vars, int n, const tg_variable *v) {
    for (int i = 0; i < n; i++)
        if (vars[i] == v) return true;
    return false;
}

static bool is_trainer_type(const char *type) {
    return strcmp(type, "AssignSub") == 0 || strcmp(type, "AssignAdd") == 0 || strncmp(type, "Apply", 5) == 0 ||
           strncmp(type, "ResourceApply", 13) == 0 || strncmp(type, "SparseApply", 11) == 0;
}

/* Does the run train (an Apply* op, AssignSub or AssignAdd on one of the
 * trainable variables)? */
static bool run_trains(const tg_lint_run *r, const tg_graph *g, tg_variable *const *trainable, int nt) {
    for (int i = 0, n = tg_graph_num_ops(g); i < n; i++) {
        tg_op *op = tg_graph_op_at(g, i);
        if (!is_trainer_type(tg_op_type(op)) || !tg_lint_run_executes(r, op)) continue;
        tg_op *target = tg_tensor_op(tg_op_input(op, 0));
        for (int v = 0; v < nt; v++)
            if (tg_variable_op(trainable[v]) == target) return true;
    }
    return false;
}

/* The run uses v's value: it executes an op that takes v's reference and
 * is not one that gives v its value (its initializer's Assign, a restore,
 * an optimizer's Apply*). Running the VariableV2 op alone is no use: an
 * initialization run runs every one of them. */
static bool reads(const tg_lint_run *r, const tg_variable *v) {
    tg_graph *g = tg_lint_run_graph(r);
    tg_op *vop = tg_variable_op(v);
    for (int i = 0, n = tg_graph_num_ops(g); i < n; i++) {
        tg_op *op = tg_graph_op_at(g, i);
        const char *type = tg_op_type(op);
        if (strcmp(type, "Assign") == 0 || is_trainer_type(type) || !tg_lint_run_executes(r, op)) continue;
        for (int k = 0; k < tg_op_num_inputs(op); k++)
            if (tg_tensor_op(tg_op_input(op, k)) == vop) return true;
    }
    return false;
}

/* A saver that holds the model this evaluation run uses (every trainable
 * variable it reads) but leaves out state it reads that no optimizer
 * makes (global, not trainable: batch norm's moving statistics, EMA
 * shadows): restored, the model would run with their initial values. A
 * saver of part of the model (a backbone for fine-tuning) holds only some
 * of the trainable variables read and is left alone. */
static void check_saver(tg_lint_run *r, const tg_saver *s, tg_variable *const *globals, int ng) {
    int held = 0;
    for (int i = 0; i < ng; i++) {
        if (!tg_variable_trainable(globals[i]) || !reads(r, globals[i])) continue;
        if (!in_list(s->vars, s->n, globals[i])) return;
        held++;
    }
    if (held == 0) return; /* the run uses no model this saver holds */
    char *names = NULL;
    size_t len = 0;
    int omitted = 0;
    for (int i = 0; i < ng; i++) {
        const tg_variable *v = globals[i];
        if (tg_variable_trainable(v) || !reads(r, v) || in_list(s->vars, s->n, v)) continue;
        const char *name = tg_variable_name(v);
        char *grown = realloc(names, len + strlen(name) + 3);
        if (!grown) break;
        names = grown;
        len += (size_t)sprintf(names + len, "%s%s", omitted ? ", " : "", name);
        omitted++;
    }
    const char *scope = tg_op_name(s->restore_all);
    int scope_len = (int)(strrchr(scope, '/') ? strrchr(scope, '/') - scope : 0);
    if (omitted && names)
        tg_lint_report(r, "saver_omits_moving_stats",
                       "checkpoint of Saver '%.*s' omits %s: not trainable but read by this evaluation run, so a "
                       "restore leaves %s at %s initial value%s. Fix: build the Saver from tg_global_variables (TF: "
                       "tf.train.Saver() or var_list=tf.global_variables())",
                       scope_len, scope, names, omitted == 1 ? "it" : "them", omitted == 1 ? "its" : "their",
                       omitted == 1 ? "" : "s");
    free(names);
}

static void lint_savers(tg_lint_run *r, void *user) {
    const saver_list *l = user;
    tg_graph *g = tg_lint_run_graph(r);
    tg_variable **trainable = NULL, **globals = NULL;
    int nt = l->n ? tg_trainable_variables(g, &trainable) : 0;
    int ng = nt >= 0 && l->n ? tg_global_variables(g, &globals) : 0;
    if (nt >= 0 && ng > 0 && !run_trains(r, g, trainable, nt))
        for (int i = 0; i < l->n; i++) check_saver(r, l->savers[i], globals, ng);
    tg_free(trainable);
    tg_free(globals);
}

/* Adds s to its graph's list, made (with the lint) for the first saver.
 * false with a sticky error. */
static bool list_add(tg_graph *g, tg_saver *s) {
    saver_list *l = tg_graph_attachment(g, SAVER_LIST_KEY);
    if (!l) {
        l = calloc(1, sizeof *l);
        if (!l || !tg_graph_attach(g, SAVER_LIST_KEY, l, saver_list_free)) {
            free(l);
            if (tg_graph_status(g) == TG_OK) tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "Saver: out of memory");
            return false;
        }
    }
    if (!l->lint_added) {
        if (tg_graph_add_lint(g, "saver_omits_moving_stats", lint_savers, l) != TG_OK) return false;
        l->lint_added = true;
    }
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 4;
        tg_saver **grown = realloc(l->savers, (size_t)cap * sizeof *grown);
        if (!grown) {
            tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "Saver: out of memory");
            return false;
        }
        l->savers = grown;
        l->cap = cap;
    }
    l->savers[l->n++] = s;
    s->list = l;
    return true;
}

/* What tg_saver_free and the owning graph release. */
static void saver_destroy(void *p) {
    tg_saver *s = p;
    list_remove(s->list, s);
    free(s->vars);
    for (int i = 0; s->keys && i < s->n; i++) free(s->keys[i]);
    free(s->keys);
    for (int i = 0; i < s->n_last; i++) free(s->last_paths[i]);
    free(s->last_paths);
    free(s->last_times);
    free(s->last_save_path);
    free(s->values);
    free(s->inputs);
    free(s->sorted);
    free(s->message);
    free(s);
}

void tg_saver_free(tg_saver *s) {
    if (!s) return;
    tg_graph_disown(s->g, s);
    saver_destroy(s);
}

/* The variable list, checked: a new array of *n variables, or NULL with a
 * sticky error on g. */
static tg_variable **variable_list(tg_graph *g, tg_variable *const *vars, int n, int *count) {
    if (n < 0 || (!vars && n > 0)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Saver: invalid variable list (%d variables%s)", n,
                      vars ? "" : " at NULL");
        return NULL;
    }
    tg_variable **globals = NULL;
    if (!vars) {
        n = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &globals);
        if (n < 0) {
            tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "Saver: out of memory");
            return NULL;
        }
        vars = globals;
    }
    if (n == 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "No variables to save");
        return NULL;
    }
    tg_variable **list = malloc((size_t)n * sizeof *list);
    if (!list) {
        tg_free(globals);
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "Saver: out of memory");
        return NULL;
    }
    memcpy(list, vars, (size_t)n * sizeof *list);
    tg_free(globals);
    for (int i = 0; i < n; i++) {
        if (!list[i]) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Saver: variable %d of the list is NULL", i);
            free(list);
            return NULL;
        }
        if (tg_op_graph(tg_variable_op(list[i])) != g) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Saver: variable '%s' belongs to another graph",
                          tg_variable_name(list[i]));
            free(list);
            return NULL;
        }
    }
    *count = n;
    return list;
}

/* The keyword arguments, checked (a sticky error naming the option). */
static bool check_saver_opts(tg_graph *g, const tg_saver_opts *o) {
    if (o->max_to_keep < 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Saver: max_to_keep must be >= 0 (0 keeps all), got %d", o->max_to_keep);
        return false;
    }
    if (!(o->keep_checkpoint_every_n_hours >= 0)) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Saver: keep_checkpoint_every_n_hours must be >= 0, got %g",
                      o->keep_checkpoint_every_n_hours);
        return false;
    }
    if (o->format != TG_CHECKPOINT_FORMAT_V2 && o->format != TG_CHECKPOINT_FORMAT_TGRAPH) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Saver: format %d is neither TG_CHECKPOINT_FORMAT_V2 nor "
                      "TG_CHECKPOINT_FORMAT_TGRAPH", (int)o->format);
        return false;
    }
    return true;
}

/* Copies keys (NULL: the variables' names) into s->keys and sorts them;
 * false with a sticky error (out of memory, a NULL or empty key, a key
 * given twice). */
static bool set_keys(tg_saver *s, const char *const *keys) {
    tg_graph *g = s->g;
    s->keys = calloc((size_t)s->n, sizeof *s->keys);
    if (!s->keys) goto oom;
    for (int i = 0; i < s->n; i++) {
        const char *k = keys ? keys[i] : tg_variable_name(s->vars[i]);
        if (!k || !*k) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Saver: key %d (for variable '%s') is %s", i,
                          tg_variable_name(s->vars[i]), k ? "empty" : "NULL");
            return false;
        }
        if (!(s->keys[i] = strdup(k))) goto oom;
        s->sorted[i] = (by_name){s->keys[i], i};
    }
    qsort(s->sorted, (size_t)s->n, sizeof *s->sorted, cmp_by_name);
    for (int i = 1; i < s->n; i++) {
        if (strcmp(s->sorted[i - 1].name, s->sorted[i].name) == 0) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "At least two variables have the same name: %s", s->sorted[i].name);
            return false;
        }
    }
    return true;
oom:
    tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "Saver: out of memory");
    return false;
}

/* A dict's variable given twice would be restored from two keys in one
 * run, the result depending on the order of the assigns. */
static bool check_unique_vars(tg_graph *g, tg_variable *const *vars, int n) {
    tg_variable **copy = malloc((size_t)n * sizeof *copy);
    if (!copy) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "Saver: out of memory");
        return false;
    }
    memcpy(copy, vars, (size_t)n * sizeof *copy);
    qsort(copy, (size_t)n, sizeof *copy, cmp_ptr);
    bool ok = true;
    for (int i = 1; i < n && ok; i++)
        if (copy[i - 1] == copy[i]) {
            tg_graph_fail(g, TG_INVALID_ARGUMENT, "Saver: variable '%s' is given twice", tg_variable_name(copy[i]));
            ok = false;
        }
    free(copy);
    return ok;
}

/* The restore graph: outside any control-dependency block, so restoring
 * never runs the ops of the block the saver happened to be created in. */
static bool build_restore(tg_saver *s, const char *name) {
    tg_graph *g = s->g;
    tg_op **assigns = malloc((size_t)s->n * sizeof *assigns);
    if (!assigns) {
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "Saver: out of memory");
        return false;
    }
    int tok = tg_name_scope_push(g, name ? name : "save");
    tg_control_dependencies_push(g, NULL, 0);
    for (int i = 0; i < s->n && tg_graph_status(g) == TG_OK; i++) {
        tg_variable *v = s->vars[i];
        s->values[i] = tg_variable_value(v);
        s->inputs[i] = tg_placeholder(g, tg_variable_dtype(v), tg_variable_shape(v), "restore_value");
        assigns[i] = tg_tensor_op(tg_assign(g, tg_variable_ref(v), s->inputs[i], NULL));
    }
    s->restore_all = tg_group(g, assigns, s->n, "restore_all");
    tg_scope_pop(g, tok);
    free(assigns);
    return tg_graph_status(g) == TG_OK && s->restore_all;
}

/* The saver of the checked list (owned from here on) with keys (NULL: the
 * names) and the resolved options. */
static tg_saver *saver_make(tg_graph *g, tg_variable **list, int count, const char *const *keys,
                            const tg_saver_opts *o) {
    tg_saver *s = calloc(1, sizeof *s);
    if (s) {
        s->g = g;
        s->n = count;
        s->vars = list;
        s->values = malloc((size_t)count * sizeof *s->values);
        s->inputs = malloc((size_t)count * sizeof *s->inputs);
        s->sorted = malloc((size_t)count * sizeof *s->sorted);
        s->max_to_keep = o->max_to_keep;
        s->keep_hours = o->keep_checkpoint_every_n_hours;
        s->format = o->format;
        s->pad_step_number = o->pad_step_number;
        s->save_relative_paths = o->save_relative_paths;
        s->next_keep_time = tg__saver_now() + o->keep_checkpoint_every_n_hours * 3600.0;
    }
    if (!s || !s->values || !s->inputs || !s->sorted) {
        if (s) tg_saver_free(s);
        else free(list);
        tg_graph_fail(g, TG_RESOURCE_EXHAUSTED, "Saver: out of memory");
        return NULL;
    }
    if (!set_keys(s, keys) || !build_restore(s, o->name) || !list_add(g, s)) {
        tg_saver_free(s);
        return NULL;
    }
    if (!tg_graph_own(g, s, saver_destroy)) {
        saver_destroy(s);
        return NULL;
    }
    return s;
}

tg_saver *tg_train_saver_new_opts(tg_graph *g, tg_variable *const *vars, int n, const tg_saver_opts *opts) {
    if (!g || tg_graph_status(g) != TG_OK) return NULL;
    tg_saver_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_train_saver_new_opts", tg_saver_opts, TG_SAVER_OPTS_INIT, opts, o)) return NULL;
    if (!check_saver_opts(g, &o)) return NULL;
    int count = 0;
    tg_variable **list = variable_list(g, vars, n, &count);
    return list ? saver_make(g, list, count, NULL, &o) : NULL;
}

tg_saver *tg_train_saver_new(tg_graph *g, tg_variable *const *vars, int n, const char *name) {
    TG_OPTS(tg_saver_opts, o, .name = name);
    return tg_train_saver_new_opts(g, vars, n, &o);
}

tg_saver *tg_train_saver_new_dict(tg_graph *g, const char *const *keys, tg_variable *const *vars, int n,
                                  const tg_saver_opts *opts) {
    if (!g || tg_graph_status(g) != TG_OK) return NULL;
    tg_saver_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_train_saver_new_dict", tg_saver_opts, TG_SAVER_OPTS_INIT, opts, o)) return NULL;
    if (!check_saver_opts(g, &o)) return NULL;
    if (!keys || !vars) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, "Saver: NULL %s for a dict of %d variables", keys ? "vars" : "keys", n);
        return NULL;
    }
    if (n <= 0) {
        tg_graph_fail(g, TG_INVALID_ARGUMENT, n == 0 ? "No variables to save" : "Saver: n is %d", n);
        return NULL;
    }
    int count = 0;
    tg_variable **list = variable_list(g, vars, n, &count);
    if (!list) return NULL;
    if (!check_unique_vars(g, list, count)) {
        free(list);
        return NULL;
    }
    return saver_make(g, list, count, keys, &o);
}

/* ---- byte order --------------------------------------------------------------- */

static bool host_little_endian(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap_elements(unsigned char *p, size_t nbytes, size_t esize) {
    for (size_t off = 0; esize > 1 && off + esize <= nbytes; off += esize)
        for (size_t i = 0; i < esize / 2; i++) {
            unsigned char t = p[off + i];
            p[off + i] = p[off + esize - 1 - i];
            p[off + esize - 1 - i] = t;
        }
}

static void le32(unsigned char *b, uint32_t v) {
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}
static void le64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *b) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | b[i];
    return v;
}
static uint64_t get64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* zlib's crc32 takes a uInt length. */
static uLong crc_update(uLong crc, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n > 0) {
        uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
        crc = crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
}

/* ---- save ---------------------------------------------------------------------- */

typedef struct writer {
    FILE *f;
    uLong crc;
    int err; /* errno of the first failed write; 0 while all is well */
} writer;

static void put(writer *w, const void *p, size_t n) {
    if (w->err || n == 0) return;
    if (fwrite(p, 1, n, w->f) != n) {
        w->err = errno ? errno : EIO;
        return;
    }
    w->crc = crc_update(w->crc, p, n);
}

static void put32(writer *w, uint32_t v) {
    unsigned char b[4];
    le32(b, v);
    put(w, b, 4);
}

static void put64(writer *w, uint64_t v) {
    unsigned char b[8];
    le64(b, v);
    put(w, b, 8);
}

static void put_data(writer *w, const tg_array *a) {
    size_t nbytes = tg_array_nbytes(a), esize = tg_dtype_size(tg_array_dtype(a));
    const unsigned char *p = tg_array_cdata(a);
    if (host_little_endian() || esize <= 1) {
        put(w, p, nbytes);
        return;
    }
    unsigned char chunk[4096]; /* a multiple of every element size */
    for (size_t off = 0; off < nbytes; off += sizeof chunk) {
        size_t k = nbytes - off < sizeof chunk ? nbytes - off : sizeof chunk;
        memcpy(chunk, p + off, k);
        swap_elements(chunk, k, esize);
        put(w, chunk, k);
    }
}

static void write_contents(writer *w, const tg_saver *s, tg_array *const *vals) {
    put(w, MAGIC, MAGIC_LEN);
    put32(w, VERSION);
    put32(w, (uint32_t)s->n);
    for (int i = 0; i < s->n; i++) {
        const char *name = s->keys[i];
        const tg_array *a = vals[i];
        size_t len = strlen(name);
        put32(w, (uint32_t)len);
        put(w, name, len);
        put32(w, (uint32_t)tg_array_dtype(a));
        int rank = tg_array_rank(a);
        put32(w, (uint32_t)rank);
        for (int d = 0; d < rank; d++) put64(w, (uint64_t)tg_array_dim(a, d));
        put64(w, (uint64_t)tg_array_nbytes(a));
        put_data(w, a);
    }
    unsigned char b[4];
    le32(b, (uint32_t)w->crc);
    put(w, b, 4); /* the CRC itself is not part of the CRC */
}

/* The directory part of path, malloc'ed ("." when it has none); NULL when out of memory. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    char *dir = malloc((size_t)(slash - path) + 1);
    if (dir) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    return dir;
}

/* Makes a rename durable; failures only cost durability, not consistency. */
static void sync_directory(const char *path) {
    char *dir = dir_of(path);
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* The digits at *p (no sign, no leading zero) as a number up to INT_MAX, or
 * -1; *p moves past them. */
static long digits(const char **p) {
    long v = 0;
    if (**p < '1' || **p > '9') return -1;
    for (; **p >= '0' && **p <= '9'; (*p)++)
        if ((v = v * 10 + (**p - '0')) > INT_MAX) return -1;
    return v;
}

/* The pid in "<base>.tmp.<pid>" or "<base>.tmp.<pid>.<k>" (write_file's
 * names), else -1. */
static long temp_pid(const char *name, const char *base, size_t base_len) {
    if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".tmp.", 5) != 0) return -1;
    const char *p = name + base_len + 5;
    long pid = digits(&p);
    if (pid > 0 && *p == '.') {
        p++;
        if (digits(&p) < 0) return -1;
    }
    return pid > 0 && !*p ? pid : -1;
}

/* Removes the temporary files that saves to path left when their process
 * died before its rename (kill -9, a crash): each holds a checkpoint's
 * worth of disk that nothing else would ever free. Only files of a pid that
 * does not exist (ESRCH) go, so a save in progress elsewhere on this
 * machine keeps its file. Best effort: errors are ignored. */
static void remove_stale_temps(const char *path) {
    char *dir = dir_of(path);
    DIR *d = dir ? opendir(dir) : NULL;
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    size_t base_len = strlen(base);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        long pid = temp_pid(e->d_name, base, base_len);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            (void)unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d) closedir(d);
    free(dir);
}

static tg_code write_file(tg_saver *s, const char *path, tg_array *const *vals) {
    remove_stale_temps(path); /* first: the disk they free may be what this save needs */
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp) return fail(s, TG_RESOURCE_EXHAUSTED, "out of memory saving checkpoint %s", path);
    long pid = (long)getpid();
    int fd = -1;
    for (int k = 0; k < 1000; k++) {
        if (k == 0) snprintf(tmp, cap, "%s.tmp.%ld", path, pid);
        else snprintf(tmp, cap, "%s.tmp.%ld.%d", path, pid, k);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        tg_code rc = sys_fail(s, e, "cannot create a temporary file for checkpoint", path);
        free(tmp);
        return rc;
    }
    writer w = {fdopen(fd, "wb"), crc32(0L, Z_NULL, 0), 0};
    if (!w.f) {
        w.err = errno;
        close(fd);
    } else {
        write_contents(&w, s, vals);
        if (!w.err && fflush(w.f) != 0) w.err = errno;
        if (!w.err && fsync(fileno(w.f)) != 0) w.err = errno;
        if (fclose(w.f) != 0 && !w.err) w.err = errno;
    }
    if (!w.err && rename(tmp, path) != 0) w.err = errno;
    if (w.err) {
        unlink(tmp);
        free(tmp);
        return sys_fail(s, w.err, "cannot write checkpoint", path);
    }
    free(tmp);
    sync_directory(path);
    return TG_OK;
}

/* The global step of a save: the number, or global_step_t's value
 * fetched in its own run (TF's training_util.global_step(sess, t)).
 * *has is false for TG_NO_GLOBAL_STEP. */
static tg_code save_step(tg_saver *s, tg_session *sess, const tg_save_opts *o, int64_t *step, bool *has) {
    *has = o->global_step_t || o->global_step != TG_NO_GLOBAL_STEP;
    *step = o->global_step;
    tg_tensor *t = o->global_step_t;
    if (!t) return TG_OK;
    tg_shape sh = tg_tensor_shape(t);
    tg_dtype dt = tg_tensor_dtype(t);
    if ((dt != TG_INT32 && dt != TG_INT64) || sh.rank != 0)
        return fail(s, TG_INVALID_ARGUMENT, "tg_saver_save_opts: global_step_t '%s' must be an int32 or int64 scalar, "
                    "not %s of rank %d", tg_tensor_name(t), tg_dtype_name(dt), sh.rank);
    tg_array *v = NULL;
    tg_code rc = tg_session_run(sess, NULL, 0, &t, 1, &v, NULL, 0);
    if (rc != TG_OK) return fail(s, rc, "cannot read the global step '%s': %s", tg_tensor_name(t), tg_session_message(sess));
    *step = dt == TG_INT64 ? *(const int64_t *)tg_array_cdata(v) : *(const int32_t *)tg_array_cdata(v);
    tg_array_free(v);
    return TG_OK;
}

/* The checkpoint path P: path, or "path-<step>" ("%08lld" padded). */
static char *checkpoint_path(const tg_saver *s, const char *path, bool has_step, int64_t step) {
    size_t cap = strlen(path) + 32;
    char *p = malloc(cap);
    if (!p) return NULL;
    if (!has_step) snprintf(p, cap, "%s", path);
    else snprintf(p, cap, s->pad_step_number ? "%s-%08lld" : "%s-%lld", path, (long long)step);
    return p;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* TF refuses a state file name with a directory, and a checkpoint whose
 * path is the state file's (the state write would replace it). */
static tg_code check_state_name(tg_saver *s, const char *ckpt, const tg_save_opts *o) {
    const char *latest = o->latest_filename ? o->latest_filename : "checkpoint";
    if (strchr(latest, '/'))
        return fail(s, TG_INVALID_ARGUMENT, "'latest_filename' must not contain path components: %s", latest);
    if (o->write_state && strcmp(base_name(ckpt), latest) == 0)
        return fail(s, TG_INVALID_ARGUMENT, "Save path '%s' conflicts with path used for checkpoint state.  Please "
                    "use a different save path.", ckpt);
    return TG_OK;
}

/* Fetches the values and writes the checkpoint P in the saver's format. */
static tg_code write_checkpoint(tg_saver *s, tg_session *sess, const char *ckpt) {
    for (int i = 0; i < s->n; i++) {
        size_t len = strlen(s->keys[i]);
        if (len > TG_CHECKPOINT_MAX_NAME) /* a file no restore would accept */
            return fail(s, TG_INVALID_ARGUMENT, "cannot save checkpoint %s: variable %d has a name of %zu bytes, "
                        "more than TG_CHECKPOINT_MAX_NAME (%d)", ckpt, i, len, TG_CHECKPOINT_MAX_NAME);
    }
    tg_array **vals = calloc((size_t)s->n, sizeof *vals);
    if (!vals) return fail(s, TG_RESOURCE_EXHAUSTED, "out of memory saving checkpoint %s", ckpt);
    tg_code rc = tg_session_run(sess, NULL, 0, s->values, s->n, vals, NULL, 0);
    if (rc != TG_OK) rc = fail(s, rc, "cannot save checkpoint %s: %s", ckpt, tg_session_message(sess));
    else if (s->format == TG_CHECKPOINT_FORMAT_V2) rc = tg__saver_save_v2(s, ckpt, vals);
    else rc = write_file(s, ckpt, vals);
    for (int i = 0; i < s->n; i++) tg_array_free(vals[i]);
    free(vals);
    if (rc == TG_OK) tg__saver_remove_checkpoint(ckpt, (int)s->format);
    return rc;
}

tg_code tg_saver_save_opts(tg_saver *s, tg_session *sess, const char *path, const tg_save_opts *opts) {
    if (!s) return TG_INVALID_ARGUMENT;
    clear_message(s);
    if (!sess || !path) return fail(s, TG_INVALID_ARGUMENT, "tg_saver_save: NULL %s", sess ? "path" : "session");
    if (opts && opts->tg__init != TG__TAG_tg_save_opts)
        return fail(s, TG_INVALID_ARGUMENT, "tg_saver_save_opts: options not started from TG_SAVE_OPTS_INIT (declare "
                    "them with TG_OPTS(tg_save_opts, o, ...) or = TG_SAVE_OPTS_INIT)");
    const tg_save_opts o = opts ? *opts : (tg_save_opts)TG_SAVE_OPTS_INIT;
    int64_t step = 0;
    bool has_step = false;
    tg_code rc = save_step(s, sess, &o, &step, &has_step);
    if (rc != TG_OK) return rc;
    char *ckpt = checkpoint_path(s, path, has_step, step);
    if (!ckpt) return fail(s, TG_RESOURCE_EXHAUSTED, "out of memory saving checkpoint %s", path);
    if ((rc = check_state_name(s, ckpt, &o)) == TG_OK && (rc = write_checkpoint(s, sess, ckpt)) == TG_OK) {
        free(s->last_save_path);
        s->last_save_path = ckpt;
        ckpt = NULL;
        if (o.write_state) rc = tg__saver_record(s, s->last_save_path, o.latest_filename);
    }
    free(ckpt);
    return rc;
}

tg_code tg_saver_save(tg_saver *s, tg_session *sess, const char *path) {
    return tg_saver_save_opts(s, sess, path, NULL);
}

const char *tg_saver_last_save_path(const tg_saver *s) { return s ? s->last_save_path : NULL; }

/* ---- restore ------------------------------------------------------------------ */

typedef struct reader {
    FILE *f;
    uint64_t size, pos;
    uLong crc;
    int err; /* errno of a failed read */
} reader;

enum { RD_OK, RD_SHORT, RD_IOERR };

/* Reads n bytes into buf, adding them to the CRC when crc is set. RD_SHORT
 * when the file ends first. */
static int rd(reader *r, void *buf, size_t n, bool crc) {
    if (n > r->size - r->pos) return RD_SHORT;
    if (n > 0 && fread(buf, 1, n, r->f) != n) {
        if (!ferror(r->f)) return RD_SHORT; /* shrank while we read */
        r->err = errno ? errno : EIO;
        return RD_IOERR;
    }
    if (crc) r->crc = crc_update(r->crc, buf, n);
    r->pos += n;
    return RD_OK;
}

/* Reads and discards n bytes, still adding them to the CRC. */
static int skip(reader *r, uint64_t n) {
    unsigned char buf[16384];
    while (n > 0) {
        size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
        int st = rd(r, buf, k, true);
        if (st != RD_OK) return st;
        n -= k;
    }
    return RD_OK;
}

/* What restore learned about each of the saver's variables. */
typedef enum { V_MISSING = 0, V_LOADED, V_DTYPE, V_SHAPE } var_state;
typedef struct var_seen {
    var_state state;
    tg_dtype dtype; /* in the file */
    tg_shape shape; /* in the file */
} var_seen;

typedef struct restore_ctx {
    tg_saver *s;
    const char *path;
    reader r;
    var_seen *seen;
    tg_array **vals;
    uint32_t count;
    char **others; /* names in the file the saver does not hold, for the duplicate check */
    uint32_t n_others;
} restore_ctx;

/* A failed read: truncation (DATA_LOSS) or an I/O error (errno's code). */
static tg_code read_fail(restore_ctx *c, int st, const char *where, uint32_t entry, const char *name) {
    if (st == RD_IOERR) return sys_fail(c->s, c->r.err, "cannot read checkpoint", c->path);
    unsigned long long size = (unsigned long long)c->r.size;
    if (!where)
        return fail(c->s, TG_DATA_LOSS, "checkpoint %s is truncated: its %llu bytes end inside variable %u of %u%s%s%s",
                    c->path, size, entry + 1, c->count, name ? " ('" : "", name ? name : "", name ? "')" : "");
    return fail(c->s, TG_DATA_LOSS, "checkpoint %s is truncated: its %llu bytes end inside %s", c->path, size, where);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static tg_code corrupted(restore_ctx *c, const char *fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return fail(c->s, TG_DATA_LOSS, "checkpoint %s is corrupted: %s", c->path, detail);
}

/* elements * esize, or false on overflow. */
static bool data_bytes(int rank, const int64_t *dims, size_t esize, uint64_t *out) {
    uint64_t n = esize;
    for (int i = 0; i < rank; i++) {
        uint64_t d = (uint64_t)dims[i];
        if (d == 0) {
            *out = 0;
            return true;
        }
        if (n > UINT64_MAX / d) return false;
        n *= d;
    }
    *out = n;
    return true;
}

static bool same_shape(const tg_shape *a, const tg_shape *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

/* One variable entry: its header, then its data into a new array when the
 * saver holds a variable of that name, dtype and shape, else skipped. */
static tg_code read_entry(restore_ctx *c, uint32_t e) {
    reader *r = &c->r;
    unsigned char b[8];
    int st = rd(r, b, 4, true);
    if (st != RD_OK) return read_fail(c, st, NULL, e, NULL);
    uint32_t len = get32(b);
    if (len == 0) return corrupted(c, "variable %u of %u has an empty name", e + 1, c->count);
    if (len > r->size - r->pos) return read_fail(c, RD_SHORT, NULL, e, NULL);
    if (len > TG_CHECKPOINT_MAX_NAME)
        return corrupted(c, "variable %u of %u has a name of %u bytes, more than TG_CHECKPOINT_MAX_NAME (%d)", e + 1,
                         c->count, len, TG_CHECKPOINT_MAX_NAME);
    char *name = malloc((size_t)len + 1); /* only now: len is backed by bytes of the file */
    if (!name) return fail(c->s, TG_RESOURCE_EXHAUSTED, "out of memory reading checkpoint %s", c->path);
    tg_code rc = TG_OK;
    if ((st = rd(r, name, len, true)) != RD_OK) {
        rc = read_fail(c, st, NULL, e, NULL);
        goto out;
    }
    name[len] = '\0';
    if (memchr(name, '\0', len)) {
        rc = corrupted(c, "the name of variable %u of %u holds a NUL byte", e + 1, c->count);
        goto out;
    }
    if ((st = rd(r, b, 4, true)) != RD_OK) goto short_read;
    uint32_t dtype = get32(b);
    if (dtype >= (uint32_t)TG_DTYPE_COUNT) {
        rc = corrupted(c, "variable '%s' has unknown dtype %u", name, dtype);
        goto out;
    }
    if ((st = rd(r, b, 4, true)) != RD_OK) goto short_read;
    uint32_t rank = get32(b);
    if (rank > TG_MAX_RANK) {
        rc = corrupted(c, "variable '%s' has rank %u, more than %d", name, rank, TG_MAX_RANK);
        goto out;
    }
    tg_shape shape = {.rank = (int)rank};
    for (uint32_t d = 0; d < rank; d++) {
        if ((st = rd(r, b, 8, true)) != RD_OK) goto short_read;
        shape.dims[d] = (int64_t)get64(b);
        if (shape.dims[d] < 0) {
            rc = corrupted(c, "variable '%s' has negative dimension %lld", name, (long long)shape.dims[d]);
            goto out;
        }
    }
    if ((st = rd(r, b, 8, true)) != RD_OK) goto short_read;
    uint64_t nbytes = get64(b), want = 0;
    size_t esize = tg_dtype_size((tg_dtype)dtype);
    if (!data_bytes(shape.rank, shape.dims, esize, &want) || nbytes != want) {
        rc = corrupted(c, "variable '%s' has %llu bytes of data, but its dtype and shape need %llu", name,
                       (unsigned long long)nbytes, (unsigned long long)want);
        goto out;
    }
    if (nbytes > r->size - r->pos) {
        st = RD_SHORT;
        goto short_read;
    }

    int i = find_var(c->s, name);
    if (i >= 0 && c->seen[i].state != V_MISSING) {
        rc = corrupted(c, "variable '%s' appears twice", name);
        goto out;
    }
    tg_variable *v = i >= 0 ? c->s->vars[i] : NULL;
    tg_shape vshape = v ? tg_variable_shape(v) : shape;
    if (!v) {
        st = skip(r, nbytes); /* a variable this saver does not hold: ignored, as TF */
    } else if ((tg_dtype)dtype != tg_variable_dtype(v)) {
        c->seen[i] = (var_seen){V_DTYPE, (tg_dtype)dtype, shape};
        st = skip(r, nbytes);
    } else if (!same_shape(&shape, &vshape)) {
        c->seen[i] = (var_seen){V_SHAPE, (tg_dtype)dtype, shape};
        st = skip(r, nbytes);
    } else {
        tg_array *a = tg_array_new((tg_dtype)dtype, shape.rank, shape.dims);
        if (!a || tg_array_nbytes(a) != nbytes) {
            tg_array_free(a);
            rc = fail(c->s, TG_RESOURCE_EXHAUSTED, "out of memory reading variable '%s' (%llu bytes) from checkpoint %s",
                      name, (unsigned long long)nbytes, c->path);
            goto out;
        }
        c->vals[i] = a;
        c->seen[i] = (var_seen){V_LOADED, (tg_dtype)dtype, shape};
        st = rd(r, tg_array_data(a), (size_t)nbytes, true);
        if (st == RD_OK && !host_little_endian()) swap_elements(tg_array_data(a), (size_t)nbytes, esize);
    }
    if (st != RD_OK) goto short_read;
    if (i < 0) {
        c->others[c->n_others++] = name; /* kept for check_unheld_unique; room made from the count */
        name = NULL;
    }
    goto out;
short_read:
    rc = read_fail(c, st, NULL, e, name);
out:
    free(name);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A name the saver does not hold listed twice. Sorted once, at the end: a
 * scan per entry made restore O(N^2) in such entries. */
static tg_code check_unheld_unique(restore_ctx *c) {
    qsort(c->others, c->n_others, sizeof *c->others, cmp_str);
    for (uint32_t k = 1; k < c->n_others; k++)
        if (strcmp(c->others[k - 1], c->others[k]) == 0)
            return corrupted(c, "variable '%s' appears twice", c->others[k]);
    return TG_OK;
}

/* After the file checked out: bool bytes, then the saver's variables in
 * order (missing, dtype, shape). */
static tg_code check_variables(restore_ctx *c) {
    tg_saver *s = c->s;
    for (int i = 0; i < s->n; i++) {
        if (c->seen[i].state != V_LOADED || tg_array_dtype(c->vals[i]) != TG_BOOL) continue;
        const unsigned char *p = tg_array_cdata(c->vals[i]);
        for (size_t k = 0; k < tg_array_nbytes(c->vals[i]); k++)
            if (p[k] > 1)
                return corrupted(c, "bool variable '%s' holds byte 0x%02x", s->keys[i], p[k]);
    }
    for (int i = 0; i < s->n; i++) {
        const char *name = s->keys[i];
        const var_seen *v = &c->seen[i];
        char x[160], y[160];
        tg_shape want = tg_variable_shape(s->vars[i]);
        switch (v->state) {
        case V_LOADED:
            break;
        case V_MISSING:
            return fail(s, TG_NOT_FOUND, "checkpoint %s has no variable '%s'", c->path, name);
        case V_DTYPE:
            return fail(s, TG_INVALID_ARGUMENT, "checkpoint %s: variable '%s' has dtype %s in the file but %s in the graph",
                        c->path, name, tg_dtype_name(v->dtype), tg_dtype_name(tg_variable_dtype(s->vars[i])));
        case V_SHAPE:
            return fail(s, TG_INVALID_ARGUMENT, "checkpoint %s: variable '%s' has shape %s in the file but %s in the graph",
                        c->path, name, tg_shape_format(&v->shape, x, sizeof x), tg_shape_format(&want, y, sizeof y));
        }
    }
    return TG_OK;
}

static tg_code read_checkpoint(restore_ctx *c) {
    reader *r = &c->r;
    unsigned char b[MAGIC_LEN];
    size_t m = r->size < MAGIC_LEN ? (size_t)r->size : MAGIC_LEN;
    int st = rd(r, b, m, true);
    if (st != RD_OK) return read_fail(c, st, "the header", 0, NULL);
    if (memcmp(b, MAGIC, m) != 0)
        return fail(c->s, TG_DATA_LOSS, "checkpoint %s is not a tgraph checkpoint (bad magic)", c->path);
    if (m < MAGIC_LEN || (st = rd(r, b, 4, true)) != RD_OK)
        return read_fail(c, m < MAGIC_LEN ? RD_SHORT : st, "the header", 0, NULL);
    uint32_t version = get32(b);
    if (version != VERSION)
        return fail(c->s, TG_UNIMPLEMENTED, "checkpoint %s has format version %u; this tgraph reads version %u",
                    c->path, version, VERSION);
    if ((st = rd(r, b, 4, true)) != RD_OK) return read_fail(c, st, "the header", 0, NULL);
    c->count = get32(b);
    uint64_t left = r->size - r->pos, room = left < 4 ? 0 : (left - 4) / MIN_ENTRY_BYTES;
    if (c->count > room)
        return fail(c->s, TG_DATA_LOSS, "checkpoint %s is truncated: its %llu bytes end inside the variables (its "
                    "header lists %u, of %u bytes or more each)", c->path, (unsigned long long)r->size, c->count,
                    MIN_ENTRY_BYTES);
    c->others = malloc((c->count ? c->count : 1) * sizeof *c->others); /* count is backed by the file's size */
    if (!c->others) return fail(c->s, TG_RESOURCE_EXHAUSTED, "out of memory reading checkpoint %s", c->path);
    for (uint32_t e = 0; e < c->count; e++) {
        tg_code rc = read_entry(c, e);
        if (rc != TG_OK) return rc;
    }
    tg_code rc = check_unheld_unique(c);
    if (rc != TG_OK) return rc;
    left = r->size - r->pos;
    if (left < 4) return read_fail(c, RD_SHORT, "the CRC32", 0, NULL);
    if (left > 4)
        return corrupted(c, "%llu unexpected bytes after the last variable", (unsigned long long)(left - 4));
    uLong crc = r->crc;
    if ((st = rd(r, b, 4, false)) != RD_OK) return read_fail(c, st, "the CRC32", 0, NULL);
    if (get32(b) != (uint32_t)crc)
        return corrupted(c, "CRC32 0x%08lx of its contents does not match the stored 0x%08lx",
                         (unsigned long)crc, (unsigned long)get32(b));
    return check_variables(c);
}

/* Opens path as a regular file. O_NONBLOCK because open() on a FIFO would
 * wait for a writer forever; it is cleared once fstat shows a regular file. */
static tg_code open_regular(restore_ctx *c, int *fd, struct stat *st) {
    *fd = open(c->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0) return sys_fail(c->s, errno, "cannot open checkpoint", c->path);
    int e = 0;
    if (fstat(*fd, st) != 0) {
        e = errno;
    } else if (S_ISDIR(st->st_mode)) {
        e = EISDIR;
    } else if (S_ISREG(st->st_mode)) {
        int flags = fcntl(*fd, F_GETFL);
        if (flags < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) != 0) e = errno;
        if (!e) return TG_OK;
    }
    close(*fd);
    if (e) return sys_fail(c->s, e, "cannot open checkpoint", c->path);
    return fail(c->s, TG_INVALID_ARGUMENT, "checkpoint %s is not a regular file", c->path);
}

/* Opens path and reads it into c->vals (every variable on success). */
static tg_code load(restore_ctx *c) {
    int fd;
    struct stat st;
    tg_code code = open_regular(c, &fd, &st);
    if (code != TG_OK) return code;
    c->r = (reader){fdopen(fd, "rb"), (uint64_t)st.st_size, 0, crc32(0L, Z_NULL, 0), 0};
    if (!c->r.f) {
        int e = errno;
        close(fd);
        return sys_fail(c->s, e, "cannot open checkpoint", c->path);
    }
    tg_code rc = read_checkpoint(c);
    fclose(c->r.f);
    return rc;
}

bool tg__saver_is_tgraph_file(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    unsigned char b[MAGIC_LEN];
    bool yes = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, b, MAGIC_LEN) == MAGIC_LEN &&
               memcmp(b, MAGIC, MAGIC_LEN) == 0;
    close(fd);
    return yes;
}

/* TF's test (CheckpointReader: V2 when "<prefix>.index" exists), except
 * that a tgraph file at path wins: it is what the path itself names. */
static tg_code is_v2(tg_saver *s, const char *path, bool *v2) {
    size_t len = strlen(path) + sizeof ".index";
    char *index = malloc(len);
    if (!index) return fail(s, TG_RESOURCE_EXHAUSTED, "out of memory restoring checkpoint %s", path);
    snprintf(index, len, "%s.index", path);
    struct stat st;
    *v2 = stat(index, &st) == 0 && S_ISREG(st.st_mode) && !tg__saver_is_tgraph_file(path);
    free(index);
    return TG_OK;
}

tg_code tg_saver_restore(tg_saver *s, tg_session *sess, const char *path) {
    if (!s) return TG_INVALID_ARGUMENT;
    clear_message(s);
    if (!sess || !path)
        return fail(s, TG_INVALID_ARGUMENT, "tg_saver_restore: NULL %s", sess ? "path" : "session");
    bool v2 = false;
    tg_code rc = is_v2(s, path, &v2);
    if (rc != TG_OK) return rc;
    if (v2) return tg__saver_restore_v2(s, sess, path);
    restore_ctx c = {.s = s, .path = path};
    c.seen = calloc((size_t)s->n, sizeof *c.seen);
    c.vals = calloc((size_t)s->n, sizeof *c.vals);
    tg_feed *feeds = malloc((size_t)s->n * sizeof *feeds);
    if (!c.seen || !c.vals || !feeds) {
        rc = fail(s, TG_RESOURCE_EXHAUSTED, "out of memory restoring checkpoint %s", path);
    } else if ((rc = load(&c)) == TG_OK) {
        for (int i = 0; i < s->n; i++) feeds[i] = (tg_feed){s->inputs[i], c.vals[i]};
        rc = tg_session_run(sess, feeds, s->n, NULL, 0, NULL, &s->restore_all, 1);
        if (rc != TG_OK) fail(s, rc, "cannot restore checkpoint %s: %s", path, tg_session_message(sess));
    }
    for (int i = 0; c.vals && i < s->n; i++) tg_array_free(c.vals[i]);
    for (uint32_t k = 0; k < c.n_others; k++) free(c.others[k]);
    free(c.others);
    free(c.vals);
    free(c.seen);
    free(feeds);
    return rc;
}
