/* Builder transactions, for builders made of many ops (layers): see
 * txn.c. A builder brackets its work with tg__txn_begin / tg__txn_end;
 * when the graph is in error at the end of the outermost one, every op,
 * variable, collection item, name and scope count it added is removed, so
 * a rejected builder leaves nothing behind (not inside a tg_cond branch,
 * whose memos of Switches would dangle). Nested transactions join the
 * outermost. Include from src/graph, src/ops and src/layers. */
#ifndef TG_TXN_H
#define TG_TXN_H

#include "tgraph.h"

typedef struct tg__txn tg__txn;

/* Opens a transaction; the result (NULL for a nested one, or when out of
 * memory: then nothing can be rolled back) goes to tg__txn_end. */
tg__txn *tg__txn_begin(tg_graph *g);
void tg__txn_end(tg_graph *g, tg__txn *t);

#endif
