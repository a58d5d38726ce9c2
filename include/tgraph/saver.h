/* tgraph/saver.h: checkpoints (tf.train.Saver, tf.train.latest_checkpoint,
 * tf.train.get_checkpoint_state). A client of the public API (src/optim).
 * Formats (docs/checkpoint-format.md): a Saver writes TF's tensor bundle V2
 * by default (what TF 1.x's Saver writes and reads: tgraph/checkpoint.h),
 * or tgraph's own one-file format on request (TG_CHECKPOINT_FORMAT_TGRAPH);
 * restore reads both, so checkpoints tgraph wrote before stay readable.
 *
 * Error model: creation is a builder (sticky error on the graph, NULL back);
 * save and restore are run-time calls that return a tg_code and keep the
 * message on the saver (tg_saver_message), as tg_session_run does. */
#ifndef TGRAPH_SAVER_H
#define TGRAPH_SAVER_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_saver tg_saver;

/* The longest variable name a checkpoint holds, in bytes. tg_saver_save
 * refuses a variable with a longer name, and tg_saver_restore a file that
 * claims one, before allocating anything for it. */
#define TG_CHECKPOINT_MAX_NAME 65535

/* write_version: the file format a saver writes. */
typedef enum tg_checkpoint_format {
    /* TF's tensor bundle V2 (tf.train.SaverDef.V2, TF 1.x's default): the
     * prefix P gives "P.index" and "P.data-00000-of-00001", which TF's
     * Saver, tf.train.load_variable and inspect_checkpoint read
     * (include/tgraph/checkpoint.h). The default. */
    TG_CHECKPOINT_FORMAT_V2 = 0,
    /* tgraph's own one-file format (docs/checkpoint-format.md): exactly the
     * file P, as tgraph wrote before it read TF's format. */
    TG_CHECKPOINT_FORMAT_TGRAPH = 1,
} tg_checkpoint_format;

/* Keyword arguments of tf.train.Saver(...) for tg_train_saver_new_opts; start
 * from TG_SAVER_OPTS_INIT (base.h explains why), or pass NULL. */
typedef struct tg_saver_opts {
    unsigned tg__init; /* set by TG_SAVER_OPTS_INIT only */
    /* Name scope of the restore ops; NULL: "save" (uniquified). */
    const char *name;
    /* How many recent checkpoints a save with write_state keeps; older ones
     * are deleted (all their files). Default 5; 0 keeps all (TF's 0 or
     * None); negative is refused. */
    int max_to_keep;
    /* Of the checkpoints max_to_keep would delete, keep one more every this
     * many hours (TF: kept files are never deleted nor listed in the state
     * file again). Default 10000; 0 keeps every one. */
    double keep_checkpoint_every_n_hours;
    /* TF's write_version: TG_CHECKPOINT_FORMAT_V2 (0, the default: what a TF
     * user expects and what TF reads) or TG_CHECKPOINT_FORMAT_TGRAPH.
     * Restore reads both whatever this says. */
    tg_checkpoint_format format;
    /* Zero-pads the global step in names: "model.ckpt-00001000". Default false. */
    bool pad_step_number;
    /* The state file lists absolute paths relative to its directory.
     * Default false: paths are written as given, made relative to the
     * state file's directory when the save path is relative (as TF). */
    bool save_relative_paths;
} tg_saver_opts;
#define TG__TAG_tg_saver_opts 0x5a7e0c4bu /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_saver_opts \
    .tg__init = TG__TAG_tg_saver_opts, .max_to_keep = 5, .keep_checkpoint_every_n_hours = 10000.0
#define TG_SAVER_OPTS_INIT {TG__DEFAULTS_tg_saver_opts}

/* tf.train.Saver(var_list, name): saves and restores the variables
 * vars[0..n), matched by name (tg_variable_name) in the file.
 * vars NULL with n == 0: every variable in GLOBAL_VARIABLES at this moment,
 * as TF; variables created later are not included.
 *
 * The restore graph is built now, in name scope `name` (NULL: "save",
 * uniquified like any name scope: "save_1" for a second saver), outside any
 * control-dependency block: per variable a Placeholder "restore_value" of the
 * variable's dtype and shape and an Assign ("save/Assign", "save/Assign_1",
 * ...), and the NoOp "save/restore_all" grouping the assigns.
 *
 * Ownership: the graph's, freed with it (tg_saver_free frees it earlier).
 * The list is copied. The saver refers to ops of g: use it only while g (or
 * a session on g) is alive; the ops stay in g after the saver is freed.
 * Errors (sticky on g, NULL back, nothing added): NULL or erroneous g;
 * INVALID_ARGUMENT for n < 0, vars NULL with n > 0, a NULL variable or one of
 * another graph, two variables with the same name ("At least two variables
 * have the same name: w"), or no variable to save ("No variables to save",
 * also for vars non-NULL with n == 0, as TF's var_list=[]);
 * RESOURCE_EXHAUSTED when out of memory. */
TG_API tg_saver *tg_train_saver_new(tg_graph *g, tg_variable *const *vars, int n,
                                    const char *name);

/* tf.train.Saver(var_list, max_to_keep=..., keep_checkpoint_every_n_hours=...,
 * write_version=..., pad_step_number=..., save_relative_paths=..., name=...):
 * tg_train_saver_new with the keyword arguments in opts (NULL: TF's
 * defaults, so the V2 format and max_to_keep 5). Errors: those of
 * tg_train_saver_new, and INVALID_ARGUMENT naming the option for a negative
 * max_to_keep, a negative or NaN keep_checkpoint_every_n_hours, an unknown
 * format, options not started from TG_SAVER_OPTS_INIT. */
TG_API tg_saver *tg_train_saver_new_opts(tg_graph *g, tg_variable *const *vars, int n, const tg_saver_opts *opts);

/* tf.train.Saver(var_list={key: variable, ...}): vars[i] is saved and
 * restored under the checkpoint key keys[i] instead of its own name (e.g.
 * the keys of tg_ema_variables_to_restore, to load moving averages into
 * the model's variables). keys and vars have n entries (n > 0); the keys
 * are copied. Errors: those of tg_train_saver_new_opts, INVALID_ARGUMENT for
 * NULL lists, a NULL or empty key or one given twice ("At least two
 * variables have the same name: w"), a variable given twice. */
TG_API tg_saver *tg_train_saver_new_dict(tg_graph *g, const char *const *keys, tg_variable *const *vars, int n,
                                         const tg_saver_opts *opts);

/* saver.save(sess, save_path) with TF's defaults: tg_saver_save_opts with
 * NULL options. In the default format (V2) path is a prefix, so the files
 * are path.index and path.data-00000-of-00001; with
 * TG_CHECKPOINT_FORMAT_TGRAPH the file is path itself. Either way the state
 * file "checkpoint" in path's directory is updated and checkpoints beyond
 * max_to_keep deleted, as TF. */
TG_API tg_code tg_saver_save(tg_saver *s, tg_session *sess, const char *path);

/* TF's global_step=None: no "-<step>" suffix. */
#define TG_NO_GLOBAL_STEP INT64_MIN

/* Keyword arguments of saver.save(...) for tg_saver_save_opts; start from
 * TG_SAVE_OPTS_INIT, or pass NULL. */
typedef struct tg_save_opts {
    unsigned tg__init; /* set by TG_SAVE_OPTS_INIT only */
    /* Appended to the path: "model.ckpt-1000" (zero-padded to 8 digits with
     * pad_step_number). TG_NO_GLOBAL_STEP (the default): none. */
    int64_t global_step;
    /* The step as an int32 or int64 scalar tensor (tg_variable_value of the
     * global step), fetched in its own run first; wins over the number. */
    tg_tensor *global_step_t;
    /* Name of the state file in the save's directory; NULL: "checkpoint".
     * No '/' allowed. */
    const char *latest_filename;
    /* Update the state file and apply max_to_keep. Default true; false
     * writes the checkpoint alone (nothing recorded, nothing deleted). */
    bool write_state;
} tg_save_opts;
#define TG__TAG_tg_save_opts 0x3c1f9e27u /* tg_graph_check_opts tells the structs apart */
#define TG__DEFAULTS_tg_save_opts .tg__init = TG__TAG_tg_save_opts, .global_step = TG_NO_GLOBAL_STEP, .write_state = true
#define TG_SAVE_OPTS_INIT {TG__DEFAULTS_tg_save_opts}

/* saver.save(sess, save_path, global_step, latest_filename, write_state).
 * The checkpoint's path P is path, or "path-<step>" with a global step. The
 * values of every variable are fetched in one tg_session_run and written:
 * - V2: by tg_checkpoint_write (checkpoint.h: P.data-00000-of-00001 then
 *   P.index, each through a temporary file renamed over it);
 * - TGRAPH: to the file P as below.
 * A file of the other format at P (P.index and its data files, or a tgraph
 * file P) is removed after the write, so P names one checkpoint.
 * With write_state: P is appended to the saver's last checkpoints (a P
 * saved before moves to the end), the state file (TF's CheckpointState text
 * proto: model_checkpoint_path: "P" and one all_model_checkpoint_paths
 * line per kept checkpoint, oldest first; relative as save_relative_paths
 * says) is written to "<dir>/<latest_filename>.tmp.<pid>" and renamed
 * over the old one, then the checkpoint that fell out of the last
 * max_to_keep is deleted (all its files) unless keep_checkpoint_every_n_hours
 * keeps it. tg_saver_last_checkpoints lists the kept ones.
 * In the TGRAPH format the file P is written to "<P>.tmp.<pid>" (".<k>"
 * added if that exists), flushed, fsync'ed, closed and renamed over P, so P
 * holds either its old content or the complete new checkpoint, never a part.
 * Stale temporary files: before writing, the save removes every regular
 * file "<path>.tmp.<pid>" or "<path>.tmp.<pid>.<k>" in path's directory
 * whose pid is not a live process here (kill(pid, 0) fails with ESRCH):
 * what saves killed before their rename left behind. A live process's file
 * (EPERM included) and other names are kept. Best effort: errors are
 * ignored. A process in another PID namespace or on another machine that
 * shares the directory looks dead: its save in progress then fails (its
 * rename finds no file); path itself is never touched.
 * Ownership: nothing is kept; sess and path are only read.
 * Returns TG_OK or an error with the message on s (tg_saver_message); no
 * file or temporary file is left behind on an error before the checkpoint
 * is complete:
 * - INVALID_ARGUMENT: s, sess or path NULL; a variable whose name is longer
 *   than TG_CHECKPOINT_MAX_NAME (nothing is fetched or written); options not
 *   started from TG_SAVE_OPTS_INIT; a global_step_t that is not an integer
 *   scalar; a latest_filename with '/' ("'latest_filename' must not contain
 *   path components"); a P that is the state file's path (TF's "Save path
 *   'P' conflicts with path used for checkpoint state").
 * - V2: the codes of tg_checkpoint_write, its message after the path.
 * - after the checkpoint was written: RESOURCE_EXHAUSTED (out of memory
 *   recording it) or errno's code writing the state file; the checkpoint
 *   stays. Deleting old checkpoints is best effort (TF logs and goes on).
 * - the session's code when the run fails, e.g. FAILED_PRECONDITION for an
 *   uninitialized variable ("... Attempting to use uninitialized value w");
 *   nothing is written then.
 * - TGRAPH: a code from errno when the file cannot be written, with
 *   strerror's text and the path: NOT_FOUND (missing directory),
 *   PERMISSION_DENIED (not permitted, read-only file system),
 *   FAILED_PRECONDITION (path is a directory), RESOURCE_EXHAUSTED (disk
 *   full), INVALID_ARGUMENT (name too long), UNKNOWN for others. */
TG_API tg_code tg_saver_save_opts(tg_saver *s, tg_session *sess, const char *path, const tg_save_opts *opts);

/* saver.restore(sess, path): reads and validates the whole checkpoint first,
 * then assigns every variable in one tg_session_run targeting
 * "save/restore_all". path is either format, told apart by its files: a V2
 * checkpoint when "path.index" exists and path is not a tgraph file (TF's
 * test), else tgraph's file path (checkpoints tgraph wrote before stay
 * readable).
 * V2 (TF's, or tgraph's V2): every key is a variable's name (or its key in
 * tg_train_saver_new_dict): "conv1/weights", "BatchNorm/moving_mean",
 * "w/Adam", "beta1_power", "global_step". tg_checkpoint_reader_open validates
 * the index and entries first (its codes and messages, after "cannot
 * restore checkpoint P: "); then per variable in the saver's order:
 * NOT_FOUND "Restoring from checkpoint P failed: Key w not found in
 * checkpoint" (TF's NotFoundError), INVALID_ARGUMENT for a dtype or shape
 * that differs (the tgraph-format texts below); then every value is read
 * and its CRC32C checked (DATA_LOSS) before anything is assigned.
 * tgraph's format:
 * Variables in the file that the saver does not hold are ignored (as TF).
 * A restore that fails changes no variable.
 * The file is untrusted: path is opened without blocking (a FIFO is refused,
 * not waited on) and must be a regular file; the entry count, name lengths
 * and byte counts are checked against the bytes left in the file (and
 * names against TG_CHECKPOINT_MAX_NAME) before anything is allocated for
 * them, so memory stays within a small multiple of the file's size plus
 * the saver's variables; time is O(N log N) in the file's entries.
 * Ownership: nothing is kept.
 * Returns TG_OK or an error with the message on s naming the path:
 * - INVALID_ARGUMENT: s, sess or path NULL.
 * - NOT_FOUND for a missing file, or another errno code as tg_saver_save
 *   (a directory is FAILED_PRECONDITION), with strerror's text;
 *   INVALID_ARGUMENT "checkpoint P is not a regular file" (a FIFO, a device).
 * - DATA_LOSS: "checkpoint P is not a tgraph checkpoint (bad magic)";
 *   "checkpoint P is truncated: ..." (also an entry count the file's size
 *   cannot hold, 21 bytes per entry at least, or a length past its end);
 *   "checkpoint P is corrupted: ..." (CRC32 mismatch, bytes after the last
 *   variable, an invalid dtype, rank, dimension or byte count, a name longer
 *   than TG_CHECKPOINT_MAX_NAME, a name listed twice, a bool byte not 0 or 1).
 * - UNIMPLEMENTED: a format version other than 1.
 * - NOT_FOUND: "checkpoint P has no variable 'w'" (the first missing one in
 *   the saver's order).
 * - INVALID_ARGUMENT: "checkpoint P: variable 'w' has dtype float64 in the
 *   file but float32 in the graph" or "... has shape (2, 3) in the file but
 *   (3, 2) in the graph".
 * - the session's code when the assign run fails (a session on another
 *   graph: INVALID_ARGUMENT).
 * Integrity errors (DATA_LOSS, UNIMPLEMENTED) win over missing or mismatched
 * variables. */
TG_API tg_code tg_saver_restore(tg_saver *s, tg_session *sess, const char *path);

/* saver.last_checkpoints: the checkpoints (paths as saved, "P" above) that
 * saves with write_state recorded and did not delete, oldest first; at most
 * max_to_keep (none when it is 0, as TF). *n gets the count.
 * Ownership: owned by s, valid until its next save or free.
 * Errors: NULL and *n = 0 for NULL s (n may be NULL). */
TG_API const char *const *tg_saver_last_checkpoints(const tg_saver *s, int *n);

/* The path P of the last successful save (what TF's save returns), or NULL
 * before any. Ownership: owned by s, valid until its next save or free. */
TG_API const char *tg_saver_last_save_path(const tg_saver *s);

/* TF's CheckpointState (checkpoint_state.proto): what the state file says,
 * with relative paths joined to the directory, as get_checkpoint_state
 * returns them. */
typedef struct tg_checkpoint_state {
    char *model_checkpoint_path;         /* the latest checkpoint */
    char **all_model_checkpoint_paths;   /* oldest first */
    int n_all_model_checkpoint_paths;
    double *all_model_checkpoint_timestamps; /* seconds since the epoch; tgraph writes none */
    int n_all_model_checkpoint_timestamps;
    double last_preserved_timestamp;
} tg_checkpoint_state;

/* tf.train.get_checkpoint_state(checkpoint_dir, latest_filename): reads and
 * parses "<checkpoint_dir>/<latest_filename>" (NULL: "checkpoint"), a text
 * proto (fields in any order, repeated scalars keep the last, '#' comments,
 * single or double quotes with C escapes). Relative paths in it are joined
 * to checkpoint_dir.
 * Ownership: on TG_OK *out is NULL when there is no state file (TF's None),
 * else a new state freed with tg_checkpoint_state_free.
 * Errors (*out NULL, message in err, truncated to err_size; err may be
 * NULL): INVALID_ARGUMENT for NULL dir or out, a latest_filename with '/';
 * "Invalid checkpoint state loaded from DIR" when model_checkpoint_path is
 * missing or empty (TF's ValueError); DATA_LOSS for text that does not
 * parse (naming the line); errno's code when the file cannot be read;
 * RESOURCE_EXHAUSTED when out of memory or the file exceeds 16 MiB. */
TG_API tg_code tg_train_get_checkpoint_state(const char *checkpoint_dir, const char *latest_filename,
                                             tg_checkpoint_state **out, char *err, size_t err_size);

/* Frees a state and its strings. NULL is ignored. */
TG_API void tg_checkpoint_state_free(tg_checkpoint_state *st);

/* tf.train.latest_checkpoint(checkpoint_dir, latest_filename): the state
 * file's model_checkpoint_path when its checkpoint exists ("P.index" for V2
 * or the file P for tgraph's format), as a new string the caller frees with
 * tg_free; NULL when there is none: no state file, one that does not parse
 * or names no checkpoint, files gone (TF logs those and returns None), a
 * NULL dir, or out of memory. */
TG_API char *tg_train_latest_checkpoint(const char *checkpoint_dir, const char *latest_filename);

/* The message of the last save or restore ("" after success or before any).
 * Ownership: owned by s, valid until its next save, restore or free.
 * Errors: a static "invalid saver (NULL)" for NULL. */
TG_API const char *tg_saver_message(const tg_saver *s);

/* Frees the saver (not its ops, which belong to the graph). NULL is ignored.
 * Optional: the graph frees it with itself; call it only before tg_graph_free. */
TG_API void tg_saver_free(tg_saver *s);

#ifdef __cplusplus
}
#endif
#endif
