/* hvd.init / rank / size / shutdown: the process's MPI state. tgraph
 * talks on its own duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN, so
 * an MPI failure is an error a run returns, never an abort, and the
 * program's own MPI traffic never matches tgraph's. One lock serializes
 * the collectives of every session of the process: the header exchange and
 * the data of one collective must not interleave with another's. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpi_internal.h"

static struct {
    pthread_mutex_t lock;
    atomic_int rank, size; /* -1 unless initialized: tg_mpi_rank reads them without the lock */
    bool initialized, finalized;
    bool we_initialized_mpi; /* tg_mpi_finalize then calls MPI_Finalize */
    bool broken;             /* an MPI call failed: the communicator's state is unknown */
    bool atexit_registered;
    tg__mpi_world w;
    char message[512];
} rt = {.lock = PTHREAD_MUTEX_INITIALIZER, .rank = -1, .size = -1};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static tg_code fail(tg_code code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rt.message, sizeof rt.message, fmt, ap);
    va_end(ap);
    return code;
}

static tg_code mpi_fail(const char *who, const char *call, int err) {
    char what[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(err, what, &len) != MPI_SUCCESS) snprintf(what, sizeof what, "MPI error %d", err);
    return fail(TG_INTERNAL, "%s: %s failed: %s", who, call, what);
}

const char *tg_mpi_message(void) { return rt.message; }

int tg_mpi_rank(void) { return atomic_load(&rt.rank); }

int tg_mpi_size(void) { return atomic_load(&rt.size); }

/* A program that returns from main (or exits) without tg_mpi_finalize
 * still leaves the collectives, so that ranks waiting in one get an error
 * instead of hanging. Nothing to do once MPI is finalized (a program that
 * initialized MPI itself may have finalized it first). */
static void finalize_at_exit(void) {
    int done = 0;
    if (MPI_Finalized(&done) == MPI_SUCCESS && !done) (void)tg_mpi_finalize();
}

/* MPI_COMM_WORLD's duplicate, with errors returned. MPI_Comm_dup reports
 * through the world's handler (fatal by default), so the world returns
 * errors for the duration of the call and gets its own handler back. */
static int dup_world(MPI_Comm *comm) {
    MPI_Errhandler old;
    int err = MPI_Comm_get_errhandler(MPI_COMM_WORLD, &old);
    if (err != MPI_SUCCESS) return err;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    err = MPI_Comm_dup(MPI_COMM_WORLD, comm);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, old);
    MPI_Errhandler_free(&old);
    if (err == MPI_SUCCESS) err = MPI_Comm_set_errhandler(*comm, MPI_ERRORS_RETURN);
    return err;
}

static void free_world(void) {
    if (rt.w.comm != MPI_COMM_NULL) MPI_Comm_free(&rt.w.comm);
    rt.w.comm = MPI_COMM_NULL;
    free(rt.w.table);
    free(rt.w.counts);
    free(rt.w.displs);
    rt.w.table = NULL;
    rt.w.counts = rt.w.displs = NULL;
}

/* The communicator, rank, size and the exchange buffers. */
static tg_code make_world(void) {
    rt.w.comm = MPI_COMM_NULL;
    int err = dup_world(&rt.w.comm);
    if (err == MPI_SUCCESS) err = MPI_Comm_rank(rt.w.comm, &rt.w.rank);
    if (err == MPI_SUCCESS) err = MPI_Comm_size(rt.w.comm, &rt.w.size);
    if (err != MPI_SUCCESS) {
        free_world();
        return mpi_fail("tg_mpi_init", "duplicating MPI_COMM_WORLD", err);
    }
    size_t n = (size_t)rt.w.size;
    rt.w.table = malloc(n * TG__MPI_HDR * sizeof *rt.w.table);
    rt.w.counts = malloc(n * sizeof *rt.w.counts);
    rt.w.displs = malloc(n * sizeof *rt.w.displs);
    if (!rt.w.table || !rt.w.counts || !rt.w.displs) {
        free_world();
        return fail(TG_RESOURCE_EXHAUSTED, "tg_mpi_init: out of memory");
    }
    return TG_OK;
}

static tg_code init_locked(int *argc, char ***argv) {
    if (rt.initialized) return TG_OK;
    if (rt.finalized) return fail(TG_FAILED_PRECONDITION, "tg_mpi_init: tg_mpi_finalize has run (MPI starts once)");
    int flag = 0;
    MPI_Finalized(&flag);
    if (flag) return fail(TG_FAILED_PRECONDITION, "tg_mpi_init: MPI_Finalize has run (MPI starts once)");
    MPI_Initialized(&flag);
    if (!flag) {
        int provided = 0;
        int err = MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
        if (err != MPI_SUCCESS) return mpi_fail("tg_mpi_init", "MPI_Init_thread", err);
        rt.we_initialized_mpi = true;
    }
    tg_code rc = make_world();
    if (rc != TG_OK) return rc;
    if (!rt.atexit_registered) rt.atexit_registered = atexit(finalize_at_exit) == 0;
    rt.initialized = true;
    rt.broken = false;
    atomic_store(&rt.rank, rt.w.rank);
    atomic_store(&rt.size, rt.w.size);
    return TG_OK;
}

tg_code tg_mpi_init(int *argc, char ***argv) {
    pthread_mutex_lock(&rt.lock);
    tg_code rc = init_locked(argc, argv);
    pthread_mutex_unlock(&rt.lock);
    return rc;
}

/* Leaves the collectives and frees the world; lock held. */
static tg_code leave_locked(void) {
    /* A broken communicator cannot carry the leaving rounds; the other
     * ranks got an MPI error too, or are going down with us. */
    int err = rt.broken ? MPI_SUCCESS : tg__mpi_leave(&rt.w);
    free_world();
    rt.initialized = false;
    atomic_store(&rt.rank, -1);
    atomic_store(&rt.size, -1);
    return err == MPI_SUCCESS ? TG_OK : mpi_fail("tg_mpi_finalize", "leaving the collectives", err);
}

tg_code tg_mpi_finalize(void) {
    pthread_mutex_lock(&rt.lock);
    tg_code rc = TG_OK;
    /* we_initialized_mpi without initialized: tg_mpi_init failed after
     * MPI_Init_thread, and MPI still needs its MPI_Finalize. */
    if (!rt.finalized && (rt.initialized || rt.we_initialized_mpi)) {
        if (rt.initialized) rc = leave_locked();
        rt.finalized = true;
        int done = 0;
        MPI_Finalized(&done);
        if (rt.we_initialized_mpi && !done) {
            int err = MPI_Finalize();
            if (err != MPI_SUCCESS && rc == TG_OK) rc = mpi_fail("tg_mpi_finalize", "MPI_Finalize", err);
        }
    }
    pthread_mutex_unlock(&rt.lock);
    return rc;
}

const tg__mpi_world *tg__mpi_acquire(tg__kernel_ctx *c) {
    pthread_mutex_lock(&rt.lock);
    const char *why = rt.initialized ? (rt.broken ? "an earlier MPI error broke tgraph's communicator" : NULL)
                      : rt.finalized ? "tg_mpi_finalize has run"
                                     : "tg_mpi_init has not been called";
    if (!why) return &rt.w;
    pthread_mutex_unlock(&rt.lock);
    tg__kernel_fail(c, TG_FAILED_PRECONDITION, "%s: %s", tg_op_type(c->op), why);
    return NULL;
}

void tg__mpi_release(void) { pthread_mutex_unlock(&rt.lock); }

tg_code tg__mpi_call_failed(tg__kernel_ctx *c, const char *call, int err) {
    rt.broken = true;
    char what[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(err, what, &len) != MPI_SUCCESS) snprintf(what, sizeof what, "MPI error %d", err);
    return tg__kernel_fail(c, TG_INTERNAL, "%s: %s failed: %s", tg_op_type(c->op), call, what);
}
