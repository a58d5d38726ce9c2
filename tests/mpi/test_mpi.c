/* test_mpi.c: the MPI part (include/tgraph/mpi.h) under mpirun, every rank
 * checking its own results against closed forms: rank r contributes
 * values made from r + 1, so each sum, average, broadcast and gather has a
 * value known in advance. tests/mpi/run.sh runs
 *
 *   test_mpi all        the ops, their errors, race mode, gradients,
 *                       broadcast_global_variables, the DistributedOptimizer
 *                       against one process, steady-state allocations
 *   test_mpi fail_feed  rank 1's run fails on a bad feed, then it calls
 *                       tg_mpi_finalize: the others' runs, waiting in the
 *                       collective, must fail too
 *   test_mpi fail_exit  the same, but rank 1 returns from main without
 *                       tg_mpi_finalize (the atexit handler leaves for it)
 *
 * with 2 and 3 ranks, each under `timeout`: a hang fails the test. */
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "tg_alloc_count.h"
#include "test_mpi.h"
#include "op_def.h"

int R = -1, P = -1;
int failures;

long tga_count(void) { return atomic_load(&tga_allocations); }

/* The registry's look-up (src/ops/registry.c), reached through the static
 * library. */
const tg__op_def *tg__op_def_lookup(const char *type);
int tg__op_def_optional_count(void);
const tg__op_def *tg__op_def_optional_at(int i);

tg_code run(tg_session *s, const tg_feed *feeds, int nf, tg_tensor *const *fetches, int n, tg_array **out,
            tg_op *const *targets, int nt) {
    for (int i = 0; i < n; i++) out[i] = NULL;
    return tg_session_run(s, feeds, nf, fetches, n, out, targets, nt);
}

tg_array *fetch1(tg_session *s, const tg_feed *feeds, int nf, tg_tensor *t) {
    tg_array *out = NULL;
    tg_code rc = run(s, feeds, nf, &t, 1, &out, NULL, 0);
    CHECK(rc == TG_OK, "fetching %s: %s", tg_tensor_name(t), tg_session_message(s));
    return out;
}

void run_target(tg_session *s, tg_op *op) {
    tg_code rc = run(s, NULL, 0, NULL, 0, NULL, &op, 1);
    CHECK(rc == TG_OK, "running %s: %s", tg_op_name(op), tg_session_message(s));
}

static tg_tensor *const_f64(tg_graph *g, int rank, const int64_t *dims, const double *v) {
    tg_array *a = tg_array_new_from(TG_FLOAT64, rank, dims, v);
    tg_tensor *t = tg_constant(g, a, NULL);
    tg_array_free(a);
    return t;
}

/* Rank r's vector (r + 1) * (1, 2, ..., n). */
static tg_tensor *ramp(tg_graph *g, tg_dtype dtype, int n) {
    double v[8];
    for (int i = 0; i < n; i++) v[i] = (R + 1) * (i + 1);
    tg_tensor *t = const_f64(g, 1, (int64_t[]){n}, v);
    return dtype == TG_FLOAT64 ? t : tg_cast(g, t, dtype, NULL);
}

static void check_values(const tg_array *a, const double *want, int64_t n, double tol, const char *what) {
    CHECK(a && tg_array_size(a) == n, "%s: %lld elements, want %lld", what, a ? (long long)tg_array_size(a) : -1LL,
          (long long)n);
    for (int64_t i = 0; a && i < n && i < tg_array_size(a); i++)
        CHECK(fabs(tg_array_get(a, i) - want[i]) <= tol, "%s[%lld] = %.17g, want %.17g", what, (long long)i,
              tg_array_get(a, i), want[i]);
}

static void case_registry(void) {
    static const char *const types[] = {"HorovodAllreduce", "HorovodGroupedAllreduce", "HorovodBroadcast",
                                        "HorovodAllgather", "TgMpiAllgatherGrad"};
    CHECK(tg__op_def_optional_count() == 5, "%d optional ops", tg__op_def_optional_count());
    for (int i = 0; i < 5; i++) {
        const tg__op_def *d = tg__op_def_lookup(types[i]);
        CHECK(d && strcmp(d->type, types[i]) == 0, "%s is not registered", types[i]);
        CHECK(d && d == tg__op_def_optional_at(i), "%s: not the optional list's entry %d", types[i], i);
        CHECK(d && d->infer && d->grad && d->kernel[TG_FLOAT32] && d->kernel[TG_FLOAT64], "%s: incomplete def",
              types[i]);
    }
}

/* Sum, average, grouped, broadcast and gather against their closed forms. */
void case_values(void) {
    tg_graph *g = tg_graph_new();
    double T = P * (P + 1) / 2.0; /* the sum over ranks of r + 1 */
    tg_tensor *sum = tg_mpi_allreduce(g, ramp(g, TG_FLOAT64, 3), TG_MPI_SUM, NULL);
    tg_tensor *avg = tg_mpi_allreduce(g, ramp(g, TG_FLOAT32, 3), TG_MPI_AVERAGE, "avg");
    tg_tensor *isum = tg_mpi_allreduce(g, ramp(g, TG_INT32, 2), TG_MPI_SUM, NULL);
    tg_tensor *gin[3] = {ramp(g, TG_FLOAT64, 1), ramp(g, TG_FLOAT64, 4), ramp(g, TG_FLOAT64, 2)}, *gout[3];
    CHECK(tg_mpi_grouped_allreduce(g, gin, 3, TG_MPI_AVERAGE, gout, NULL) == TG_OK, "%s", tg_graph_message(g));
    tg_tensor *bc = tg_mpi_broadcast(g, ramp(g, TG_FLOAT64, 2), P - 1, NULL);
    tg_tensor *bb = tg_mpi_broadcast(g, tg_cast(g, ramp(g, TG_FLOAT64, 2), TG_BOOL, NULL), 0, NULL);
    double rows[16];
    for (int k = 0; k < 2 * (R + 1); k++) rows[k] = 100 * R + k;
    tg_tensor *ag = tg_mpi_allgather(g, const_f64(g, 2, (int64_t[]){R + 1, 2}, rows), NULL);
    tg_tensor *agi = tg_mpi_allgather(g, tg_cast(g, ramp(g, TG_FLOAT64, 1), TG_INT64, NULL), NULL);
    CHECK_OK(g);
    CHECK(strcmp(tg_op_name(tg_tensor_op(sum)), "HorovodAllreduce_Const_0") == 0, "%s",
          tg_op_name(tg_tensor_op(sum)));
    CHECK(strcmp(tg_op_type(tg_tensor_op(gout[0])), "HorovodGroupedAllreduce") == 0, "grouped type");

    tg_session *s = tg_session_new(g);
    tg_tensor *f[10] = {sum, avg, isum, gout[0], gout[1], gout[2], bc, bb, ag, agi};
    tg_array *o[10];
    tg_code rc = run(s, NULL, 0, f, 10, o, NULL, 0);
    CHECK(rc == TG_OK, "%s", tg_session_message(s));
    if (rc == TG_OK) {
        double m = (P + 1) / 2.0;
        check_values(o[0], (double[]){T, 2 * T, 3 * T}, 3, 0, "sum");
        check_values(o[1], (double[]){m, 2 * m, 3 * m}, 3, 1e-6, "average float32");
        check_values(o[2], (double[]){T, 2 * T}, 2, 0, "int32 sum");
        check_values(o[3], (double[]){m}, 1, 1e-12, "grouped 0");
        check_values(o[4], (double[]){m, 2 * m, 3 * m, 4 * m}, 4, 1e-12, "grouped 1");
        check_values(o[5], (double[]){m, 2 * m}, 2, 1e-12, "grouped 2");
        check_values(o[6], (double[]){P, 2.0 * P}, 2, 0, "broadcast from the last rank");
        check_values(o[7], (double[]){1, 1}, 2, 0, "bool broadcast");
        int64_t n_rows = 0, at = 0;
        for (int q = 0; q < P; q++) n_rows += q + 1;
        CHECK(tg_array_dim(o[8], 0) == n_rows && tg_array_dim(o[8], 1) == 2, "allgather shape");
        for (int q = 0; q < P && tg_array_size(o[8]) == 2 * n_rows; q++)
            for (int k = 0; k < 2 * (q + 1); k++, at++)
                CHECK(tg_array_get(o[8], at) == 100 * q + k, "allgather[%lld] from rank %d", (long long)at, q);
        double want[8];
        for (int q = 0; q < P; q++) want[q] = q + 1;
        check_values(o[9], want, P, 0, "int64 allgather");
    }
    for (int i = 0; rc == TG_OK && i < 10; i++) tg_array_free(o[i]);
    tg_session_free(s);
    tg_graph_free(g);
}

/* Builders refuse what no rank could run, adding nothing. */
static void case_build_errors(void) {
    struct {
        const char *what, *message;
    } cases[] = {{"average of int32", "averaging needs a float tensor"},
                 {"reduce op 7", "neither TG_MPI_AVERAGE nor TG_MPI_SUM"},
                 {"scalar allgather", "cannot gather a scalar"},
                 {"negative root", "root rank -1 is negative"},
                 {"grouped dtypes", "input 1 has dtype float32"}};
    for (int i = 0; i < 5; i++) {
        tg_graph *g = tg_graph_new();
        tg_tensor *a = ramp(g, TG_INT32, 2), *b = ramp(g, TG_FLOAT64, 2), *c = ramp(g, TG_FLOAT32, 2), *out[2];
        tg_tensor *sc = tg_constant_scalar(g, TG_FLOAT64, 1, NULL);
        int before = tg_graph_num_ops(g);
        if (i == 0) tg_mpi_allreduce(g, a, TG_MPI_AVERAGE, NULL);
        if (i == 1) tg_mpi_allreduce(g, b, (tg_mpi_reduce_op)7, NULL);
        if (i == 2) tg_mpi_allgather(g, sc, NULL);
        if (i == 3) tg_mpi_broadcast(g, b, -1, NULL);
        if (i == 4) tg_mpi_grouped_allreduce(g, (tg_tensor *[]){b, c}, 2, TG_MPI_SUM, out, NULL);
        CHECK(tg_graph_status(g) == TG_INVALID_ARGUMENT, "%s: %s", cases[i].what, tg_code_name(tg_graph_status(g)));
        CHECK_CONTAINS(tg_graph_message(g), cases[i].message);
        CHECK(tg_graph_num_ops(g) == before, "%s left an op", cases[i].what);
        tg_graph_free(g);
    }
}

/* A run that must fail on every rank with code and words in its message. */
static void expect_fail(tg_session *s, const tg_feed *feeds, int nf, tg_tensor *t, tg_code code, const char *words) {
    tg_array *out = NULL;
    tg_code rc = run(s, feeds, nf, &t, 1, &out, NULL, 0);
    CHECK(rc == code, "%s: %s, want %s: %s", tg_tensor_name(t), tg_code_name(rc), tg_code_name(code),
          tg_session_message(s));
    CHECK_CONTAINS(tg_session_message(s), words);
    if (rc == TG_OK) tg_array_free(out);
}

/* Each way a collective can go wrong fails every rank's run, and the
 * communicator still works afterwards. */
void case_run_errors(void) {
    case_build_errors();
    tg_graph *g = tg_graph_new();
    tg_tensor *bad_root = tg_mpi_broadcast(g, ramp(g, TG_FLOAT64, 2), P, "bad_root");
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1), "x");
    tg_tensor *sx = tg_mpi_allreduce(g, x, TG_MPI_SUM, NULL);
    tg_tensor *a = tg_mpi_allreduce(g, ramp(g, TG_FLOAT64, 2), TG_MPI_SUM, "a");
    tg_tensor *b = tg_mpi_allreduce(g, ramp(g, TG_FLOAT64, 2), TG_MPI_SUM, "b");
    tg_tensor *u = tg_placeholder(g, TG_FLOAT64, TG_SHAPE_UNKNOWN, "u");
    tg_tensor *gu = tg_mpi_allgather(g, u, NULL);
    /* Same op name, another dtype on rank 0. */
    tg_tensor *d = tg_mpi_allreduce(g, tg_placeholder(g, R ? TG_FLOAT64 : TG_FLOAT32, TG_SHAPE(2), "d"), TG_MPI_SUM,
                                    NULL);
    CHECK_OK(g);
    tg_session *s = tg_session_new(g);
    char root_msg[64];
    snprintf(root_msg, sizeof root_msg, "root rank %d, but there are %d ranks", P, P);
    expect_fail(s, NULL, 0, bad_root, TG_INVALID_ARGUMENT, root_msg);

    tg_array *xv = tg_array_new(TG_FLOAT64, 1, (int64_t[]){R + 1});
    expect_fail(s, &(tg_feed){x, xv}, 1, sx, TG_FAILED_PRECONDITION, "rank 1 has 2 elements");
    CHECK_CONTAINS(tg_session_message(s), "HorovodAllreduce_x_0: HorovodAllreduce:");

    expect_fail(s, NULL, 0, R % 2 ? b : a, TG_FAILED_PRECONDITION, "runs another collective than rank 0");

    tg_array *uv = R == 1 ? tg_array_new(TG_FLOAT64, 0, NULL) : tg_array_new(TG_FLOAT64, 1, (int64_t[]){2});
    expect_fail(s, &(tg_feed){u, uv}, 1, gu, R == 1 ? TG_INVALID_ARGUMENT : TG_FAILED_PRECONDITION,
                R == 1 ? "cannot gather a scalar" : "rank 1 failed before this collective");

    tg_array *dv = tg_array_new(R ? TG_FLOAT64 : TG_FLOAT32, 1, (int64_t[]){2});
    expect_fail(s, &(tg_feed){tg_graph_tensor(g, "d:0"), dv}, 1, d, TG_FAILED_PRECONDITION,
                "rank 1 has dtype float64, rank 0 float32");

    tg_array *av = fetch1(s, NULL, 0, a);
    double T = P * (P + 1) / 2.0;
    check_values(av, (double[]){T, 2 * T}, 2, 0, "after the errors");
    tg_array_free(av);
    tg_array_free(xv);
    tg_array_free(uv);
    tg_array_free(dv);
    tg_session_free(s);
    tg_graph_free(g);
}

/* Race mode: the same seed everywhere keeps the collectives matched; seeds
 * that differ per rank either happen to agree or fail every rank with the
 * order message, never hang or mix the two tensors. */
void case_race(void) {
    tg_graph *g = tg_graph_new();
    tg_tensor *a = tg_mpi_allreduce(g, ramp(g, TG_FLOAT64, 2), TG_MPI_SUM, "a");
    tg_tensor *b = tg_mpi_allreduce(g, tg_multiply(g, ramp(g, TG_FLOAT64, 2), ramp(g, TG_FLOAT64, 2), NULL),
                                    TG_MPI_SUM, "b");
    CHECK_OK(g);
    tg_session *s = tg_session_new(g);
    double T = P * (P + 1) / 2.0, T2 = 0;
    for (int q = 1; q <= P; q++) T2 += (double)q * q;
    int mismatched = 0;
    for (int i = 0; i < 24; i++) {
        uint64_t seed = i < 8 ? 12345u + (uint64_t)i : 1u + (uint64_t)i * 7u + (uint64_t)R * 1000u;
        tg_array *o[2] = {NULL, NULL};
        tg_tensor *f[2] = {a, b};
        tg_code rc = tg_session_run_opts(s, NULL, 0, f, 2, o, NULL, 0, &(tg_run_options){.race_seed = seed});
        if (rc == TG_OK) {
            check_values(o[0], (double[]){T, 2 * T}, 2, 0, "race a");
            check_values(o[1], (double[]){T2, 4 * T2}, 2, 0, "race b");
            tg_array_free(o[0]);
            tg_array_free(o[1]);
        } else {
            CHECK(i >= 8, "run %d with the same seed everywhere failed: %s", i, tg_session_message(s));
            CHECK_CONTAINS(tg_session_message(s), "runs another collective than rank 0");
            mismatched++;
        }
    }
    CHECK(mismatched > 0, "no seed gave two ranks different orders");
    tg_array *av = fetch1(s, NULL, 0, a);
    check_values(av, (double[]){T, 2 * T}, 2, 0, "after race mode");
    tg_array_free(av);
    tg_session_free(s);
    tg_graph_free(g);
}

/* LeakSanitizer's check, run before tg_mpi_finalize: MPI_Finalize unloads
 * Open MPI's components, and what they allocated and kept would then show
 * as leaks of unknown modules that no suppression can name (run.sh turns
 * the check at exit off; lsan.supp names the MPI libraries still loaded).
 * Everything tgraph allocated is freed by then but tgraph's own MPI state. */
static void check_leaks(void) {
#if defined(__SANITIZE_ADDRESS__)
    CHECK(__lsan_do_recoverable_leak_check() == 0, "leaks (LeakSanitizer's report above)");
#endif
}

/* Rank 1's run fails before the collective; the others wait in it until
 * rank 1 leaves (tg_mpi_finalize, or its atexit handler when it returns
 * from main): then their runs fail, naming rank 1. */
static int case_fail(bool finalize) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT64, TG_SHAPE(-1, 2), "x");
    tg_tensor *y = tg_mpi_allreduce(g, tg_matmul(g, x, const_f64(g, 2, (int64_t[]){2, 1}, (double[]){1, 1}), NULL),
                                    TG_MPI_SUM, NULL);
    CHECK_OK(g);
    tg_session *s = tg_session_new(g);
    tg_array *good = tg_array_new_from(TG_FLOAT64, 2, (int64_t[]){1, 2}, (double[]){R + 1, 1});
    tg_array *bad = tg_array_new(TG_FLOAT64, 2, (int64_t[]){1, 3});
    tg_array *v = fetch1(s, &(tg_feed){x, good}, 1, y);
    check_values(v, (double[]){P * (P + 1) / 2.0 + P}, 1, 0, "before the failure");
    tg_array_free(v);
    v = NULL;
    tg_code rc = run(s, &(tg_feed){x, R == 1 ? bad : good}, 1, &y, 1, &v, NULL, 0);
    if (R == 1) {
        CHECK(rc == TG_INVALID_ARGUMENT, "the bad feed: %s", tg_code_name(rc));
    } else {
        CHECK(rc == TG_FAILED_PRECONDITION, "waiting for rank 1: %s: %s", tg_code_name(rc), tg_session_message(s));
        CHECK_CONTAINS(tg_session_message(s), "rank 1 has left (tg_mpi_finalize) before joining this collective");
    }
    if (rc == TG_OK) tg_array_free(v);
    tg_array_free(good);
    tg_array_free(bad);
    tg_session_free(s);
    tg_graph_free(g);
    if (R == 1 && !finalize) {
        check_leaks();
        printf("rank %d: %s, %d failures (leaving without tg_mpi_finalize)\n", R, "fail_exit", failures);
        return 1; /* main returns: the atexit handler leaves */
    }
    return 0;
}

/* Before tg_mpi_init: building works, running says what is missing. */
static void case_uninitialized(void) {
    tg_graph *g = tg_graph_new();
    tg_tensor *y = tg_mpi_allreduce(g, tg_constant_scalar(g, TG_FLOAT64, 1, "c"), TG_MPI_SUM, NULL);
    CHECK_OK(g);
    tg_session *s = tg_session_new(g);
    expect_fail(s, NULL, 0, y, TG_FAILED_PRECONDITION,
                "HorovodAllreduce_c_0: HorovodAllreduce: tg_mpi_init has not been called");
    CHECK(tg_mpi_rank() == -1 && tg_mpi_size() == -1, "rank %d size %d before tg_mpi_init", tg_mpi_rank(),
          tg_mpi_size());
    tg_session_free(s);
    tg_graph_free(g);
}

/* After tg_mpi_finalize: collectives and a second init fail cleanly. */
static void case_finalized(void) {
    CHECK(tg_mpi_rank() == -1, "rank %d after tg_mpi_finalize", tg_mpi_rank());
    CHECK(tg_mpi_finalize() == TG_OK, "a second tg_mpi_finalize");
    CHECK(tg_mpi_init(NULL, NULL) == TG_FAILED_PRECONDITION, "tg_mpi_init after tg_mpi_finalize");
    CHECK_CONTAINS(tg_mpi_message(), "tg_mpi_finalize has run");
    tg_graph *g = tg_graph_new();
    tg_tensor *y = tg_mpi_broadcast(g, tg_constant_scalar(g, TG_FLOAT64, 1, "c"), 0, NULL);
    tg_session *s = tg_session_new(g);
    expect_fail(s, NULL, 0, y, TG_FAILED_PRECONDITION, "tg_mpi_finalize has run");
    tg_session_free(s);
    tg_graph_free(g);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "all";
    tg_set_log_callback(NULL, NULL); /* the errors provoked are checked, not printed */
    case_uninitialized();
    /* What Open MPI allocates while it starts and keeps to the end (much of
     * it in components it unloads again, which no suppression can name) is
     * not tgraph's to free. */
#if defined(__SANITIZE_ADDRESS__)
    __lsan_disable();
#endif
    tg_code init = tg_mpi_init(&argc, &argv);
#if defined(__SANITIZE_ADDRESS__)
    __lsan_enable();
#endif
    if (init != TG_OK) {
        fprintf(stderr, "tg_mpi_init: %s\n", tg_mpi_message());
        return 1;
    }
    R = tg_mpi_rank();
    P = tg_mpi_size();
    CHECK(tg_mpi_init(NULL, NULL) == TG_OK && tg_mpi_rank() == R, "a second tg_mpi_init");
    CHECK(P >= 2, "run under mpirun -np 2 or more (size %d)", P);
    if (strcmp(mode, "all") == 0) {
        case_registry();
        case_values();
        case_run_errors();
        case_race();
        case_gradients();
        case_broadcast_variables();
        case_distributed_optimizer();
        case_steady_state();
        case_sync_batch_norm();
    } else if (strcmp(mode, "fail_feed") == 0 || strcmp(mode, "fail_exit") == 0) {
        if (case_fail(strcmp(mode, "fail_feed") == 0)) return failures != 0;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    check_leaks();
    CHECK(tg_mpi_finalize() == TG_OK, "tg_mpi_finalize: %s", tg_mpi_message());
    int rank = R;
    case_finalized();
    printf("rank %d: %s, %d failures\n", rank, mode, failures);
    return failures != 0;
}
