/* Shared by src/mpi's files: the process's MPI state (mpi_runtime.c), the
 * header exchange every collective starts with (mpi_protocol.c), and the op
 * defs (mpi_allreduce.c, mpi_gather.c). The protocol is described for users
 * in include/tgraph/mpi.h ("Failures"). src/mpi sits beside src/ops: it
 * uses graph and ops internals and the public headers, and is the only part
 * that includes <mpi.h>. */
#ifndef TG_MPI_INTERNAL_H
#define TG_MPI_INTERNAL_H

#include <mpi.h>

#include "ops_internal.h"
#include "tgraph.h"
#include "tgraph/mpi.h"

/* The defs this part registers (src/ops/op_list_optional.h). */
#define TG__OP(sym, type) extern const tg__op_def sym;
#include "op_list_optional.h"

/* One rank's header: what it is about to do. Every collective's headers
 * are exchanged (MPI_Allgather) before any data moves. */
enum {
    TG__MPI_H_STATUS, /* tg__mpi_status */
    TG__MPI_H_NAME,   /* hash of the op's name: the collective's identity */
    TG__MPI_H_KIND,   /* op kind and dtype */
    TG__MPI_H_COUNT,  /* elements (allgather: of a row) */
    TG__MPI_H_ROWS,   /* allgather: rows this rank contributes */
    TG__MPI_H_SHAPE,  /* hash of the shape that must agree */
    TG__MPI_H_ROOT,   /* broadcast's root; -1 when none */
    TG__MPI_H_RESERVED,
    TG__MPI_HDR       /* int64s per header */
};
typedef enum tg__mpi_status { TG__MPI_OK = 0, TG__MPI_FAILED = 1, TG__MPI_LEAVING = 2 } tg__mpi_status;

/* Op kinds in a header, so that two collectives of one name but of
 * different types never match. */
typedef enum tg__mpi_kind {
    TG__MPI_ALLREDUCE = 1,
    TG__MPI_BROADCAST,
    TG__MPI_ALLGATHER,
    TG__MPI_ALLGATHER_GRAD,
    TG__MPI_LEAVE
} tg__mpi_kind;

/* ---- mpi_runtime.c: the state tg_mpi_init makes ---------------------------- */

/* What a kernel may use while it holds the lock. table is size *
 * TG__MPI_HDR int64s, counts and displs size ints each (MPI_Allgatherv's):
 * one set per process, made by tg_mpi_init, since one collective runs at a
 * time; so a kernel needs no allocation to take part in an exchange. */
typedef struct tg__mpi_world {
    MPI_Comm comm;
    int rank, size;
    int64_t *table;
    int *counts, *displs;
} tg__mpi_world;

/* Takes the process's collective lock and returns the world; NULL, after
 * recording FAILED_PRECONDITION on c's run and without the lock, when
 * tg_mpi_init has not run, tg_mpi_finalize has, or an MPI error broke the
 * communicator. */
const tg__mpi_world *tg__mpi_acquire(tg__kernel_ctx *c);
void tg__mpi_release(void);
/* After a failed MPI call (err) in c's kernel, lock held: marks the
 * communicator broken (its state is unknown: later collectives fail at
 * once) and fails c's run with INTERNAL naming the call and MPI's words. */
tg_code tg__mpi_call_failed(tg__kernel_ctx *c, const char *call, int err);

/* ---- mpi_protocol.c -------------------------------------------------------- */

/* Fills h for c's op: status OK, the name hash, kind and dtype; the rest
 * from the arguments (0 where unused). */
void tg__mpi_header(int64_t h[TG__MPI_HDR], const tg__kernel_ctx *c, tg__mpi_kind kind, tg_dtype dtype,
                    int64_t count, int64_t rows, int64_t shape_hash, int64_t root);
/* The exchange: every rank's header into w->table, then the verdict,
 * the same on every rank: TG_OK when every header is healthy and agrees
 * with rank 0's (ROWS excepted: allgather's may differ), else an error
 * recorded on c's run naming the first rank that differs; a header of
 * status FAILED fails without a new message (the kernel recorded its own).
 * Lock held. */
tg_code tg__mpi_agree(tg__kernel_ctx *c, const tg__mpi_world *w, int64_t h[TG__MPI_HDR]);
/* A second, one-int round after an agreement, for kernels that can fail
 * locally after it (allgather allocates its output once it knows the
 * sizes): TG_OK when no rank failed, else FAILED_PRECONDITION recorded on
 * c's run (unless failed: this rank's error is recorded already). */
tg_code tg__mpi_confirm(tg__kernel_ctx *c, const tg__mpi_world *w, bool failed);
/* FNV-1a of a shape's dims from `from` on, for the SHAPE field. */
int64_t tg__mpi_shape_hash(const tg_array *a, int from);
/* tg_mpi_finalize's leaving rounds; lock held. MPI_SUCCESS or MPI's error. */
int tg__mpi_leave(const tg__mpi_world *w);

/* MPI's datatype for a dtype. */
MPI_Datatype tg__mpi_type(tg_dtype dtype);

/* Per-session kernel state: a scratch buffer kept between runs (the fused
 * buffer of a grouped allreduce, the reduced dy of an allgather's
 * gradient), so a steady-state run allocates nothing. */
typedef struct tg__mpi_scratch {
    void *buf;
    size_t cap;
} tg__mpi_scratch;
void tg__mpi_scratch_free(void *state);
/* buf with at least bytes; NULL when out of memory (the old one kept). */
void *tg__mpi_scratch_get(tg__mpi_scratch *s, size_t bytes);

/* Horovod's default op name: prefix + the tensor's name with every
 * character other than [A-Za-z0-9_] made '_' ("HorovodAllreduce_x_0").
 * The caller frees it; NULL when out of memory (recorded on g). */
char *tg__mpi_default_name(tg_graph *g, const char *prefix, const tg_tensor *x);

/* mpi_allreduce.c: HorovodAllreduce of x summed to root only, zeros on
 * the other ranks: HorovodBroadcast's gradient (mpi_gather.c). */
tg_tensor *tg__mpi_reduce_to_root(tg_graph *g, tg_tensor *x, int root);

#endif
