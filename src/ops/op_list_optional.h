/* op_list_optional.h: the ops of tgraph's optional parts, as TG__OP(symbol,
 * "Type") lines like op_list.h's, each part's group compiled in only when
 * meson found its library and defined the part's macro (TG_HAVE_MPI:
 * src/mpi, Open MPI). The defs live in the part's folder; registry.c
 * lists them after op_list.h's, so tg__op_def_lookup finds them, while
 * tg__op_def_count/at keep to op_list.h (the core, which
 * tests/support/op_table.h covers row for row) and
 * tg__op_def_optional_count/at walk these. A part's own tests check its
 * defs (tests/mpi). docs/HACKING.md, "Optional parts".
 *
 * No include guard, as op_list.h: each includer expands it with its own
 * TG__OP, and the file undefines TG__OP at the end. */
#ifndef TG__OP
#error "define TG__OP(symbol, type) before including op_list_optional.h"
#endif

#ifdef TG_HAVE_MPI
/* src/mpi: Horovod's collectives over MPI */
TG__OP(tg__op_horovod_allreduce, "HorovodAllreduce")
TG__OP(tg__op_horovod_grouped_allreduce, "HorovodGroupedAllreduce")
TG__OP(tg__op_horovod_broadcast, "HorovodBroadcast")
TG__OP(tg__op_horovod_allgather, "HorovodAllgather")
TG__OP(tg__op_tg_mpi_allgather_grad, "TgMpiAllgatherGrad")
#endif

#undef TG__OP
