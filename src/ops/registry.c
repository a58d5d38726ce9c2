/* The op registry: every op type tgraph knows, for look-up by TF type name
 * (tests, DOT, a future GraphDef import). The list itself is op_list.h;
 * the optional parts built with this library (src/mpi when meson found
 * MPI) add theirs from op_list_optional.h. */
#include <string.h>

#include "ops_internal.h"

static const tg__op_def *const TG__OPS[] = {
#define TG__OP(sym, type) &sym,
#include "op_list.h"
};

/* The optional parts' defs, declared here because ops_internal.h's list is
 * the core's. The NULL at the end keeps the array valid C when no part was
 * built; it is not counted. */
#define TG__OP(sym, type) extern const tg__op_def sym;
#include "op_list_optional.h"
static const tg__op_def *const TG__OPTIONAL_OPS[] = {
#define TG__OP(sym, type) &sym,
#include "op_list_optional.h"
    NULL};

int tg__op_def_count(void) { return (int)(sizeof TG__OPS / sizeof TG__OPS[0]); }

const tg__op_def *tg__op_def_at(int i) {
    return i >= 0 && i < tg__op_def_count() ? TG__OPS[i] : NULL;
}

int tg__op_def_optional_count(void) { return (int)(sizeof TG__OPTIONAL_OPS / sizeof TG__OPTIONAL_OPS[0]) - 1; }

const tg__op_def *tg__op_def_optional_at(int i) {
    return i >= 0 && i < tg__op_def_optional_count() ? TG__OPTIONAL_OPS[i] : NULL;
}

const tg__op_def *tg__op_def_lookup(const char *type) {
    for (int i = 0; i < tg__op_def_count(); i++)
        if (strcmp(TG__OPS[i]->type, type) == 0) return TG__OPS[i];
    for (int i = 0; i < tg__op_def_optional_count(); i++)
        if (strcmp(TG__OPTIONAL_OPS[i]->type, type) == 0) return TG__OPTIONAL_OPS[i];
    return NULL;
}
