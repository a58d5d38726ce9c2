/* The intra-op thread pool (see thread_pool.h for the contract).
 *
 * One mutex guards the job; workers wait on `wake` for a chunk to take and
 * the caller waits on `done` for the last chunk to finish. Chunks are handed
 * out by a counter, so a worker that wakes late costs nothing: the caller
 * takes the chunks nobody took (which is also what happens in a child
 * process after fork(), where the workers do not exist). */
#define _GNU_SOURCE
#include "thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    tg__pool *pool;
    int slot;
} worker_arg;

struct tg__pool {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* a chunk is waiting, or stop */
    pthread_cond_t done; /* pending reached 0 */
    int threads;
    int n_workers; /* started */
    pthread_t *workers;
    worker_arg *args;
    bool stop;
    bool busy; /* a range is running: other callers run theirs inline */
    /* the current range */
    tg__range_fn fn;
    void *ctx;
    int64_t begin, n;
    int chunks, next, pending;
};

/* Set while this thread runs a chunk: a nested tg__pool_for must not wait
 * for workers that may all be busy waiting for it. */
static _Thread_local int tl_in_chunk;
/* This thread's slot: i for worker i, 0 for every other thread. */
static _Thread_local int tl_slot;

int tg__chunk_count(int threads, int64_t n, int64_t grain) {
    if (n <= 0) return 0;
    if (threads <= 1) return 1;
    if (grain < 1) grain = 1;
    int64_t k = n / grain, most = (int64_t)threads * TG__CHUNKS_PER_THREAD;
    return k < 1 ? 1 : k < most ? (int)k : (int)most;
}

static void chunk_bounds(int64_t begin, int64_t n, int k, int i, int64_t *b, int64_t *e) {
    int64_t q = n / k, r = n % k;
    *b = begin + q * i + (i < r ? i : r);
    *e = *b + q + (i < r ? 1 : 0);
}

static void run_chunk(tg__range_fn fn, void *ctx, int64_t begin, int64_t n, int k, int i) {
    int64_t b, e;
    chunk_bounds(begin, n, k, i, &b, &e);
    tl_in_chunk++;
    fn(ctx, b, e, i, tl_slot);
    tl_in_chunk--;
}

static void *worker_main(void *arg) {
    tg__pool *p = ((worker_arg *)arg)->pool;
    tl_slot = ((worker_arg *)arg)->slot;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->next >= p->chunks) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) break;
        int i = p->next++;
        tg__range_fn fn = p->fn;
        void *ctx = p->ctx;
        int64_t begin = p->begin, n = p->n;
        int k = p->chunks;
        pthread_mutex_unlock(&p->mu);
        run_chunk(fn, ctx, begin, n, k, i);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void stop_workers(tg__pool *p) {
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->workers[i], NULL);
    p->n_workers = 0;
}

static void destroy(tg__pool *p) {
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p->args);
    free(p);
}

tg__pool *tg__pool_new(int threads) {
    if (threads < 2) return NULL;
    tg__pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
    p->args = calloc((size_t)threads - 1, sizeof *p->args);
    bool mu = p->workers && p->args && pthread_mutex_init(&p->mu, NULL) == 0;
    bool wake = mu && pthread_cond_init(&p->wake, NULL) == 0;
    bool done = wake && pthread_cond_init(&p->done, NULL) == 0;
    if (!done) {
        if (wake) pthread_cond_destroy(&p->wake);
        if (mu) pthread_mutex_destroy(&p->mu);
        free(p->workers);
        free(p->args);
        free(p);
        return NULL;
    }
    p->threads = threads;
    /* Workers start with every signal blocked, so that the application's
     * signals keep going to its own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    bool ok = true;
    for (int i = 0; i < threads - 1 && ok; i++) {
        p->args[i] = (worker_arg){p, i + 1};
        ok = pthread_create(&p->workers[i], NULL, worker_main, &p->args[i]) == 0;
        if (ok) p->n_workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!ok) {
        stop_workers(p);
        destroy(p);
        return NULL;
    }
    return p;
}

void tg__pool_free(tg__pool *p) {
    if (!p) return;
    stop_workers(p);
    destroy(p);
}

int tg__pool_threads(const tg__pool *p) { return p ? p->threads : 1; }

void tg__pool_for(tg__pool *p, int64_t begin, int64_t end, int64_t grain, tg__range_fn fn, void *ctx) {
    int64_t n = end - begin;
    int k = tg__chunk_count(tg__pool_threads(p), n, grain);
    if (k == 0) return;
    bool inline_run = !p || k == 1 || tl_in_chunk > 0;
    if (!inline_run) {
        pthread_mutex_lock(&p->mu);
        inline_run = p->busy;
        if (!inline_run) {
            p->busy = true;
            p->fn = fn, p->ctx = ctx, p->begin = begin, p->n = n;
            p->chunks = k, p->next = 0, p->pending = k;
            /* One wake-up per worker that can have a chunk: the others
             * keep sleeping. */
            for (int i = 1; i < k && i < p->threads; i++) pthread_cond_signal(&p->wake);
        }
        pthread_mutex_unlock(&p->mu);
    }
    if (inline_run) {
        for (int i = 0; i < k; i++) run_chunk(fn, ctx, begin, n, k, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    while (p->next < p->chunks) {
        int i = p->next++;
        pthread_mutex_unlock(&p->mu);
        run_chunk(fn, ctx, begin, n, k, i);
        pthread_mutex_lock(&p->mu);
        p->pending--;
    }
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    p->busy = false;
    p->chunks = p->next = 0;
    pthread_mutex_unlock(&p->mu);
}

int tg__schedulable_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (n > 1024 ? 1024 : (int)n) : 1;
}
