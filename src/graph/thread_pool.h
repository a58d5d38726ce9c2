/* The intra-op thread pool of a session (TF's intra_op_parallelism_threads).
 *
 * One op's work is split into contiguous chunks of an index range, a few
 * per thread, and the threads (the caller included) take chunks in order
 * until none is left: a thread that the OS deschedules (the CPUs may be
 * shared with other processes) delays the op by one small chunk, not by a
 * whole share. The split depends only on the range, the grain and the
 * thread count, never on timing, so a kernel that keeps one partial result
 * per chunk and combines the partials in chunk order gets the same bits on
 * every run with the same thread count.
 *
 * Idle workers sleep on a condition variable: the machines this runs on may
 * have two shared vCPUs, where a spinning worker steals the core the calling
 * thread needs. Running a range allocates nothing, so steady-state session
 * runs stay allocation-free. */
#ifndef TG_THREAD_POOL_H
#define TG_THREAD_POOL_H

#include <stdint.h>

typedef struct tg__pool tg__pool;

/* fn(ctx, begin, end, chunk, slot) handles [begin, end). chunk, in [0,
 * chunks), numbers the piece (for per-chunk partial results); slot, in [0,
 * threads), numbers the thread running it (for per-thread scratch: no two
 * chunks run on one slot at the same time). */
typedef void (*tg__range_fn)(void *ctx, int64_t begin, int64_t end, int chunk, int slot);

/* A pool of `threads` threads in all (the caller counts as one, so
 * threads - 1 workers are started). NULL when threads < 2, or when memory or
 * a thread cannot be had (nothing is left running then). */
tg__pool *tg__pool_new(int threads);
/* Stops and joins the workers. NULL is ignored. Must not be called from
 * inside tg__pool_for. */
void tg__pool_free(tg__pool *p);
/* The thread count, 1 for NULL. */
int tg__pool_threads(const tg__pool *p);

/* How many chunks tg__pool_for splits n items into on a pool of `threads`
 * threads: 1 for one thread, else min(TG__CHUNKS_PER_THREAD * threads,
 * n / grain), at least 1; 0 when n <= 0. */
enum { TG__CHUNKS_PER_THREAD = 4 };
int tg__chunk_count(int threads, int64_t n, int64_t grain);

/* Runs fn over [begin, end) in k = tg__chunk_count(threads, end - begin,
 * grain) chunks and returns when all are done. Of n = end - begin items,
 * chunk i gets n / k, plus one when i < n % k, in index order. Chunks go to
 * whichever thread is free, the caller included. With a NULL pool, one
 * chunk, or a call made from inside a running range (nested) or while
 * another thread runs one on the same pool, the chunks run one after the
 * other on the calling thread, with the same boundaries (and the calling
 * thread's slot). */
void tg__pool_for(tg__pool *p, int64_t begin, int64_t end, int64_t grain, tg__range_fn fn, void *ctx);

/* The CPUs this process may run on (sched_getaffinity), at least 1. */
int tg__schedulable_cpus(void);

#endif
