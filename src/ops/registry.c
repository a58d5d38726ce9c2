/* The op registry: every op type tgraph knows, for look-up by TF type name
 * (tests, DOT, a future GraphDef import). The list itself is op_list.h. */
#include <string.h>

#include "ops_internal.h"

static const tg__op_def *const TG__OPS[] = {
#define TG__OP(sym, type) &sym,
#include "op_list.h"
};

int tg__op_def_count(void) { return (int)(sizeof TG__OPS / sizeof TG__OPS[0]); }

const tg__op_def *tg__op_def_at(int i) {
    return i >= 0 && i < tg__op_def_count() ? TG__OPS[i] : NULL;
}

const tg__op_def *tg__op_def_lookup(const char *type) {
    for (int i = 0; i < tg__op_def_count(); i++)
        if (strcmp(TG__OPS[i]->type, type) == 0) return TG__OPS[i];
    return NULL;
}
