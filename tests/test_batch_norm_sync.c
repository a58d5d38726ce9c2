/* test_batch_norm_sync.c: tg_layers_batch_norm's sync option in one
 * process. Without MPI: a build-time error naming the option, never local
 * batch norm. With MPI: the graph (one allreduce per layer, the non-fused
 * composition, what tg_batch_norm_layers reports) and its refusals; the
 * numbers over several ranks are checked under mpirun (tests/mpi). */
#include <string.h>

#include "tg_check.h"

static tg_tensor *input(tg_graph *g) { return tg_placeholder(g, TG_FLOAT64, TG_SHAPE(4, 3), "x"); }

#ifndef TG_HAVE_MPI

START_TEST(test_sync_needs_mpi)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_layers_batch_norm_opts, o, .sync = true);
    ck_assert_ptr_null(tg_layers_batch_norm(g, input(g), &o));
    ck_assert_int_eq(tg_graph_status(g), TG_UNIMPLEMENTED);
    ck_assert_str_eq(tg_graph_message(g), "batch_norm: sync=True needs tgraph built with MPI");
    /* refused before anything was built: no variable is left behind */
    ck_assert_int_eq(tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, NULL), 0);
    tg_graph_free(g);
}
END_TEST

#else

static int count_type(tg_graph *g, const char *type, const char *prefix) {
    int n = 0;
    for (int i = 0; i < tg_graph_num_ops(g); i++) {
        tg_op *op = tg_graph_op_at(g, i);
        n += strcmp(tg_op_type(op), type) == 0 && strncmp(tg_op_name(op), prefix, strlen(prefix)) == 0;
    }
    return n;
}

START_TEST(test_sync_graph)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_layers_batch_norm_opts, o, .sync = true, .scale = true);
    tg_tensor *x = input(g);
    tg_tensor *y = tg_layers_batch_norm(g, x, &o);
    ck_assert_msg(y != NULL, "%s", tg_graph_message(g));
    /* one collective for the layer, whatever the fused default says */
    ck_assert_int_eq(count_type(g, "HorovodAllreduce", "BatchNorm/sync_moments/"), 1);
    ck_assert_int_eq(count_type(g, "FusedBatchNormV3", ""), 0);
    tg_batch_norm_info *in = NULL;
    ck_assert_int_eq(tg_batch_norm_layers(g, NULL, &in), 1);
    ck_assert_str_eq(in[0].api, "contrib sync");
    ck_assert(in[0].bessel);
    tg_free(in);
    /* running needs tg_mpi_init: an error, not local statistics */
    tg_op *init = tg_global_variables_initializer(g);
    tg_session *s = tg_session_new(g);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1), TG_OK);
    tg_array *xv = tg_array_new_from(TG_FLOAT64, 2, (int64_t[]){4, 3},
                                     (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    tg_feed feed = {x, xv};
    tg_array *out = NULL;
    ck_assert_int_eq(tg_session_run(s, &feed, 1, &y, 1, &out, NULL, 0), TG_FAILED_PRECONDITION);
    ck_assert_ptr_nonnull(strstr(tg_session_message(s), "tg_mpi_init"));
    tg_array_free(xv);
    tg_session_free(s);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_sync_refusals)
{
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_layers_batch_norm_opts, o, .sync = true, .renorm = true);
    ck_assert_ptr_null(tg_layers_batch_norm(g, input(g), &o));
    ck_assert_str_eq(tg_graph_message(g), "batch_norm: sync=True does not support renorm");
    tg_graph_free(g);
    g = tg_graph_new();
    tg_tensor *x = input(g);
    TG_OPTS(tg_layers_batch_norm_opts, o2, .sync = true, .batch_weights = tg_ones_like(g, tg_reduce_sum(g, x, &(tg_reduce_opts){.axes = (int[]){1}, .n_axes = 1}), NULL));
    ck_assert_ptr_null(tg_layers_batch_norm(g, x, &o2));
    ck_assert_int_eq(tg_graph_status(g), TG_INVALID_ARGUMENT);
    ck_assert_str_eq(tg_graph_message(g), "batch_norm: sync=True does not support batch_weights");
    tg_graph_free(g);
}
END_TEST

#endif

static Suite *batch_norm_sync_suite(void) {
    Suite *s = suite_create("batch_norm_sync");
    TCase *tc = tcase_create("batch_norm_sync");
#ifndef TG_HAVE_MPI
    tcase_add_test(tc, test_sync_needs_mpi);
#else
    tcase_add_test(tc, test_sync_graph);
    tcase_add_test(tc, test_sync_refusals);
#endif
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(batch_norm_sync_suite)
