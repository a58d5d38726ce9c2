/* What the Saver's files share: saver.c (creation, tgraph's format, save
 * and restore dispatch), saver_v2.c (TF's V2 format through checkpoint.h)
 * and checkpoint_state.c (the "checkpoint" state file, max_to_keep). */
#ifndef TG_OPTIM_SAVER_INTERNAL_H
#define TG_OPTIM_SAVER_INTERNAL_H

#include "tgraph.h"

typedef struct by_name {
    const char *name;
    int index;
} by_name;

typedef struct saver_list saver_list;

struct tg_saver {
    tg_graph *g;
    saver_list *list;     /* the graph's live savers, which the lint reads */
    int n;
    tg_variable **vars;
    char **keys;          /* the checkpoint key of each variable (its name unless a dict gave one) */
    tg_tensor **values;   /* tg_variable_value of each variable: what save fetches */
    tg_tensor **inputs;   /* the restore placeholders */
    tg_op *restore_all;
    by_name *sorted;      /* the keys sorted, for matching file entries */
    char *message;        /* NULL: "" (or the out-of-memory text when oom is set) */
    bool oom;
    /* tf.train.Saver's keyword arguments */
    int max_to_keep;
    double keep_hours;
    tg_checkpoint_format format;
    bool pad_step_number, save_relative_paths;
    /* TF's _last_checkpoints (oldest first) and _next_checkpoint_time */
    char **last_paths;   /* the path P of each */
    double *last_times;  /* when each was saved, seconds since the epoch */
    int n_last, cap_last;
    double next_keep_time;
    char *last_save_path;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
tg_code tg__saver_fail(tg_saver *s, tg_code code, const char *fmt, ...);

/* TF's errno mapping (platform/errors.cc). */
tg_code tg__saver_errno_code(int e);

/* Seconds since the epoch, as TF's time.time(). */
double tg__saver_now(void);

/* Whether path is a regular file that starts with tgraph's magic (opened
 * without blocking, so a FIFO is not waited on). */
bool tg__saver_is_tgraph_file(const char *path);

/* The V2 format (saver_v2.c). vals[i] is variable i's value. */
tg_code tg__saver_save_v2(tg_saver *s, const char *prefix, tg_array *const *vals);
tg_code tg__saver_restore_v2(tg_saver *s, tg_session *sess, const char *prefix);

/* Deletes every file of the checkpoint P (P.index, P.data-?????-of-?????,
 * a tgraph file P); with keep set, the files of that format are kept (a
 * save removing the other format's). Best effort. */
void tg__saver_remove_checkpoint(const char *prefix, int keep_format);
#define TG__KEEP_NONE (-1)

/* After a checkpoint P was written with write_state: TF's
 * _RecordLastCheckpoint, update_checkpoint_state and
 * _MaybeDeleteOldCheckpoints (checkpoint_state.c). */
tg_code tg__saver_record(tg_saver *s, const char *path, const char *latest_filename);

/* "<dirname(path)>" as TF's os.path.dirname ("" when path has no '/'),
 * malloc'ed; NULL when out of memory. */
char *tg__saver_dirname(const char *path);

#endif
