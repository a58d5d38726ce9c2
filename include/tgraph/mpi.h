/* tgraph/mpi.h: data-parallel training over MPI, Horovod's model
 * (horovod.tensorflow as hvd: hvd.init, hvd.allreduce, hvd.DistributedOptimizer,
 * ...). An optional part: built, installed and usable only when meson found
 * MPI (Debian 12: libopenmpi-dev); tgraph.h does not include this header,
 * and without MPI it is not installed. Programs run under mpirun, one
 * process (rank) per copy of the model:
 *
 *   tg_mpi_init(&argc, &argv);
 *   ... build the same graph on every rank, feed each rank its part of the data ...
 *   tg_optimizer *opt = tg_mpi_distributed_optimizer(tg_train_adam_optimizer_new(g, 1e-3, NULL), NULL, 0);
 *   tg_op *train = tg_optimizer_minimize(opt, loss, NULL);
 *   tg_op *init = tg_global_variables_initializer(g);
 *   tg_op *sync = tg_mpi_broadcast_global_variables(g, 0);
 *   run init, then sync once, then train ...
 *   tg_mpi_finalize();
 *
 * Ordering. Collectives are matched across ranks in the order each rank
 * runs them, and every collective carries its op's name, which must agree
 * (Horovod matches tensors by name too). A session runs a plan's ops in
 * creation order, so ranks that build the same graph in the same order run
 * the same collectives in the same order. Race mode (tg_run_options.
 * race_seed) draws the same order from the same seed, so it keeps working
 * when every rank uses the same seed; a rank on another order (another
 * seed, another graph) makes the collective fail on every rank with
 * FAILED_PRECONDITION naming the op and the first rank that differs from
 * rank 0, instead of hanging or mixing values.
 * Collectives inside a tg_cond branch that some ranks skip are not
 * supported: the ranks that run one wait for the others.
 *
 * Failures. A collective starts with a small header exchange (an
 * MPI_Allgather of 64 bytes per rank: status, op name, dtype, sizes), and
 * moves data only when every rank's header is healthy and agrees; so a
 * rank whose kernel fails before the data (a bad shape, no memory), a
 * mismatched dtype or size, or a rank in tg_mpi_finalize makes every rank's
 * run fail with an error naming the op and the rank, never hang. A rank
 * whose run failed before reaching a collective (a bad feed) leaves the
 * others waiting in it until that rank calls tg_mpi_finalize (or returns
 * from main: tg_mpi_init registers an atexit handler that finalizes): then
 * their runs fail with "rank N has left". The cost is one small allgather
 * per collective (a few microseconds on one machine), which tensor fusion
 * (tg_mpi_distributed_optimizer) pays once per step for all gradients.
 * MPI errors come back as errors (the communicator uses MPI_ERRORS_RETURN);
 * after one, every later collective fails at once ("an earlier MPI error").
 *
 * Threads. Collectives run on the thread that runs the session (never on
 * intra-op threads), one at a time per process (a mutex); MPI is asked for
 * MPI_THREAD_SERIALIZED. */
#ifndef TGRAPH_MPI_H
#define TGRAPH_MPI_H

#include "base.h"
#include "train.h" /* tg_optimizer */

#ifdef __cplusplus
extern "C" {
#endif

/* hvd.init(): initializes MPI when nobody has (MPI_Init_thread asking for
 * MPI_THREAD_SERIALIZED, argc/argv passed on; both may be NULL), or uses
 * the MPI the program initialized itself (then a provided thread level below
 * SERIALIZED means: run sessions from one thread only). Duplicates
 * MPI_COMM_WORLD into tgraph's own communicator (so the program's own MPI
 * traffic never mixes with tgraph's) with MPI_ERRORS_RETURN, and registers
 * an atexit handler that calls tg_mpi_finalize. A second call does nothing
 * and returns TG_OK. Call it from the main thread before building sessions.
 * Errors: FAILED_PRECONDITION after tg_mpi_finalize or MPI_Finalize;
 * INTERNAL when an MPI call fails (MPI_Init_thread itself reports through
 * MPI's default handler, which aborts: MPI has no other way before it is
 * initialized); RESOURCE_EXHAUSTED when out of memory; the message is
 * tg_mpi_message(). A failed call may be retried. */
TG_API tg_code tg_mpi_init(int *argc, char ***argv);

/* hvd.rank() / hvd.size(): this process's rank in MPI_COMM_WORLD and the
 * number of ranks; -1 before tg_mpi_init and after tg_mpi_finalize.
 * Errors: none. */
TG_API int tg_mpi_rank(void);
TG_API int tg_mpi_size(void);

/* hvd.shutdown(): leaves the collectives: takes part in header exchanges
 * with "leaving" until every rank is leaving (so a rank still waiting in a
 * collective gets an error instead of hanging: see Failures above), frees
 * tgraph's communicator, and calls MPI_Finalize when tg_mpi_init called
 * MPI_Init (a program that initialized MPI itself finalizes it itself,
 * after this). Then tg_mpi_rank is -1 and collectives fail. A call before
 * tg_mpi_init or a second call returns TG_OK and does nothing. Not thread-
 * safe with running sessions: end the runs first. Errors: INTERNAL when an
 * MPI call fails (MPI_Finalize is still called); message in
 * tg_mpi_message(). */
TG_API tg_code tg_mpi_finalize(void);

/* The message of the last failed tg_mpi_init or tg_mpi_finalize ("" when
 * none). Ownership: a static buffer, overwritten by the next failure.
 * Errors: none. */
TG_API const char *tg_mpi_message(void);

/* Horovod's reduce ops, with Horovod's numbers (hvd.Average is 0). */
typedef enum tg_mpi_reduce_op {
    TG_MPI_AVERAGE = 0, /* the sum divided by tg_mpi_size(); float dtypes only */
    TG_MPI_SUM = 1
} tg_mpi_reduce_op;

/* hvd.allreduce(x, op=op, name=name): op "HorovodAllreduce", the sum (or
 * average) of x over all ranks, on every rank. x must have the same dtype
 * and number of elements on every rank (else every rank's run fails with
 * FAILED_PRECONDITION naming the rank). Default name: Horovod's,
 * "HorovodAllreduce_" + x's name with every character other than letters,
 * digits and '_' made '_' ("HorovodAllreduce_x_0"). Gradient: allreduce
 * of dy with the same op (the output of every rank depends on every
 * rank's input). Ownership: the graph's. Errors (sticky, NULL): the
 * builder conventions; INVALID_ARGUMENT for an op other than the two, a
 * bool x, or TG_MPI_AVERAGE of an integer x. The graph may be built before
 * tg_mpi_init; running needs it (FAILED_PRECONDITION "tg_mpi_init has not
 * been called"). */
TG_API tg_tensor *tg_mpi_allreduce(tg_graph *g, tg_tensor *x, tg_mpi_reduce_op op, const char *name);

/* hvd.grouped_allreduce(xs, op=op): op "HorovodGroupedAllreduce", one op
 * reducing n tensors of one dtype (any shapes) with one header exchange and
 * one MPI_Allreduce over a buffer they are packed into (Horovod's tensor
 * fusion); outputs[i] is the reduction of xs[i]. Default name
 * "HorovodGroupedAllreduce". Gradient: the grouped allreduce of the dys.
 * Ownership: outputs is the caller's array of n (filled with the graph's
 * tensors). Errors: as tg_mpi_allreduce, and INVALID_ARGUMENT for n < 1, a
 * NULL outputs or xs of several dtypes; returns the code (the graph's, or
 * INVALID_ARGUMENT for a NULL graph or input) with outputs left NULL. */
TG_API tg_code tg_mpi_grouped_allreduce(tg_graph *g, tg_tensor *const *xs, int n, tg_mpi_reduce_op op,
                                        tg_tensor **outputs, const char *name);

/* hvd.broadcast(x, root_rank, name): op "HorovodBroadcast", root's x on
 * every rank (dtype and shape must agree on every rank). Default name
 * "HorovodBroadcast_" + x's name normalized as above. Gradient: the
 * allreduce sum of dy on root (every rank's output is root's input), zeros
 * on the other ranks (their input is not used): Horovod's gradient, with
 * the sum as in Horovod before 0.21 (later ones average). Ownership: the
 * graph's. Errors (sticky, NULL): builder conventions; INVALID_ARGUMENT for
 * root < 0; a root >= tg_mpi_size() fails the run (INVALID_ARGUMENT). */
TG_API tg_tensor *tg_mpi_broadcast(tg_graph *g, tg_tensor *x, int root, const char *name);

/* hvd.allgather(x, name): op "HorovodAllgather", the xs of every rank
 * concatenated along axis 0 in rank order. The first dimension may differ
 * between ranks (the sizes are exchanged first); the others and the dtype
 * must agree. x needs rank >= 1. Default name "HorovodAllgather_" + x's
 * name normalized. Gradient: this rank's rows of the allreduce sum of dy
 * (op "TgMpiAllgatherGrad"). Ownership: the graph's. Errors (sticky, NULL):
 * builder conventions; INVALID_ARGUMENT for a scalar x. The run fails
 * (FAILED_PRECONDITION) when another dimension differs between ranks, or
 * INVALID_ARGUMENT when the result has more than INT_MAX elements. */
TG_API tg_tensor *tg_mpi_allgather(tg_graph *g, tg_tensor *x, const char *name);

/* hvd.DistributedOptimizer(opt, name): an optimizer whose compute_gradients
 * (and so minimize) returns opt's gradients averaged over the ranks;
 * apply_gradients, slots and variables are opt's (its name scope, e.g.
 * "Adam/update_w/ApplyAdam"). The gradients are fused as Horovod does:
 * gradients of one dtype are packed in order into groups of at most
 * fusion_threshold_bytes (a larger one alone in its own), one
 * HorovodGroupedAllreduce each ("<name>/HorovodGroupedAllreduce", ...), so a
 * step of a small model pays one header exchange and one MPI_Allreduce per
 * dtype. fusion_threshold_bytes 0 means Horovod's default 64 MiB
 * (HOROVOD_FUSION_THRESHOLD); 1 gives one op per gradient. name NULL:
 * "Distributed" + opt's name ("DistributedAdam"). A variable without a
 * gradient keeps none. With the loss a mean over each rank's equal share
 * of the batch, a step equals one process's step on the whole batch.
 * The allreduces are built whatever the number of ranks (Horovod skips
 * them for one), so the graph is the same everywhere and running it needs
 * tg_mpi_init even in a single process (MPI then sees one rank).
 * Ownership: the graph's (freed with it; tg_optimizer_free frees it earlier,
 * not opt). Errors: NULL when opt is NULL or its graph is in error; sticky
 * INVALID_ARGUMENT for an empty name or a negative threshold. */
TG_API tg_optimizer *tg_mpi_distributed_optimizer(tg_optimizer *opt, const char *name,
                                                  int64_t fusion_threshold_bytes);

/* hvd.broadcast_global_variables(root_rank): one op, the NoOp
 * "broadcast_global_variables" grouping an Assign of each variable of
 * GLOBAL_VARIABLES (when called) from a HorovodBroadcast of its value from
 * root, so every rank starts from root's values whatever its initializers
 * drew. Run it once, after the initializer. Ownership: the graph's.
 * Errors (sticky, NULL): a graph in error; INVALID_ARGUMENT for root < 0
 * or no global variables. */
TG_API tg_op *tg_mpi_broadcast_global_variables(tg_graph *g, int root);

#ifdef __cplusplus
}
#endif

#endif
