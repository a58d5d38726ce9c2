/* test_mpi.h: shared by the MPI test program's files (tests/mpi/run.sh runs
 * it under mpirun with 2 and 3 ranks). Check is not used: it forks, and a
 * forked MPI process cannot take part in collectives; each rank counts its
 * own failures and prints them with its rank instead. */
#ifndef TEST_MPI_H
#define TEST_MPI_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <tgraph.h>
#include <tgraph/mpi.h>

extern int R, P;    /* this rank, the number of ranks */
extern int failures;

#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "rank %d: %s:%d: CHECK(%s) failed: ", R, __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

#define CHECK_OK(g) CHECK(tg_graph_status(g) == TG_OK, "graph: %s", tg_graph_message(g))
#define CHECK_CLOSE(a, b, tol)                                                                \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.17g, want %.17g (tol %g)", #a, (double)(a), \
          (double)(b), (double)(tol))
#define CHECK_CONTAINS(hay, needle)                                                           \
    CHECK((hay) && strstr((hay), (needle)), "\"%s\" does not contain \"%s\"", (hay) ? (hay) : "(null)", (needle))

/* Runs fetches (outputs freed by the caller) and targets; the run's code. */
tg_code run(tg_session *s, const tg_feed *feeds, int nf, tg_tensor *const *fetches, int n, tg_array **out,
            tg_op *const *targets, int nt);
/* Runs and checks success; the single fetched value (NULL on failure). */
tg_array *fetch1(tg_session *s, const tg_feed *feeds, int nf, tg_tensor *t);
void run_target(tg_session *s, tg_op *op);

/* The cases (test_mpi.c, test_mpi_train.c). */
void case_values(void);
void case_run_errors(void);
void case_race(void);
void case_gradients(void);
void case_broadcast_variables(void);
void case_distributed_optimizer(void);
void case_steady_state(void);
void case_sync_batch_norm(void); /* test_mpi_sync_bn.c */

#endif
