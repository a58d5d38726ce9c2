/* tgraph/saver.h: checkpoints (tf.train.Saver). A client of the public API
 * (src/optim). The file format is documented in docs/checkpoint-format.md.
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

/* saver.save(sess, path): fetches every variable's value in one
 * tg_session_run and writes them to the file `path` (exactly that name, no
 * suffix is added). The file is written to "<path>.tmp.<pid>" (".<k>" added
 * if that exists), flushed, fsync'ed, closed and renamed over path, so path
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
 * file or temporary file is left behind on error:
 * - INVALID_ARGUMENT: s, sess or path NULL; a variable whose name is longer
 *   than TG_CHECKPOINT_MAX_NAME (nothing is fetched or written).
 * - the session's code when the run fails, e.g. FAILED_PRECONDITION for an
 *   uninitialized variable ("... Attempting to use uninitialized value w");
 *   nothing is written then.
 * - a code from errno when the file cannot be written, with strerror's text
 *   and the path: NOT_FOUND (missing directory), PERMISSION_DENIED (not
 *   permitted, read-only file system), FAILED_PRECONDITION (path is a
 *   directory),
 *   RESOURCE_EXHAUSTED (disk full), INVALID_ARGUMENT (name too long),
 *   UNKNOWN for others. */
TG_API tg_code tg_saver_save(tg_saver *s, tg_session *sess, const char *path);

/* saver.restore(sess, path): reads and validates the whole file first, then
 * assigns every variable in one tg_session_run targeting "save/restore_all".
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
