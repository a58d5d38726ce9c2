/* test_registry.c: the op registry is consistent, and the op table
 * (tests/support/op_table.h) covers it.
 *
 * Every registered op is on src/ops/op_list.h under its own type, is found
 * by look-up, has a kernel, a shape function (unless it has no outputs),
 * and a gradient, the NOT_DIFFERENTIABLE flag, or a row saying why it has
 * neither. Every registered op has exactly one row in the op table, the
 * row agrees with the definition about the gradient, every gradient is
 * checked by test_op_table, and a row without a builder says why. Links
 * the static library to reach the registry. */
#include <string.h>

#include "tg_check.h"
#include "op_def.h"
#include "op_table.h"

int tg__op_def_count(void);
const tg__op_def *tg__op_def_at(int i);
const tg__op_def *tg__op_def_lookup(const char *type);

/* op_list.h's types in its order, which is the registry's. */
static const char *const LISTED[] = {
#define TG__OP(sym, type) type,
#include "../src/ops/op_list.h"
};

START_TEST(test_registry_consistent)
{
    int n = tg__op_def_count();
    ck_assert_int_eq(n, (int)(sizeof LISTED / sizeof *LISTED));
    for (int i = 0; i < n; i++) {
        const tg__op_def *d = tg__op_def_at(i);
        ck_assert_ptr_nonnull(d);
        ck_assert_msg(strcmp(d->type, LISTED[i]) == 0, "op_list.h entry %d says %s, its def says %s", i, LISTED[i],
                      d->type);
        ck_assert_msg(tg__op_def_lookup(d->type) == d, "%s: look-up finds another entry", d->type);
        bool any_kernel = false;
        for (int k = 0; k < TG_DTYPE_COUNT; k++) any_kernel |= d->kernel[k] != NULL;
        ck_assert_msg(any_kernel, "%s has no kernel", d->type);
        ck_assert_msg(d->infer || d->n_outputs == 0, "%s has no shape function", d->type);
        bool nd = (d->flags & TG__OPF_NOT_DIFFERENTIABLE) != 0;
        ck_assert_msg(!(nd && d->grad), "%s is marked not differentiable but has a gradient", d->type);
    }
    ck_assert_ptr_null(tg__op_def_lookup("NoSuchOp"));
    ck_assert_ptr_null(tg__op_def_at(n));
    ck_assert_ptr_null(tg__op_def_at(-1));
}
END_TEST

/* What is wrong between def and its row (NULL: nothing), in words. */
static const char *row_problem(const tg__op_def *d, const ot_row *r)
{
    if (!r) return "no row in tests/support/op_table.h";
    bool nd = (d->flags & TG__OPF_NOT_DIFFERENTIABLE) != 0;
    if (d->grad && r->grad != OT_GRAD) return "has a gradient; its row says otherwise";
    if (nd && r->grad != OT_NOT_DIFF) return "is NOT_DIFFERENTIABLE; its row says otherwise";
    if (!d->grad && !nd && r->grad != OT_NO_GRAD)
        return "has neither gradient nor NOT_DIFFERENTIABLE; its row says otherwise";
    if (d->grad && !(r->tol > 0)) return "has a gradient that the op table does not check (no tolerance)";
    if (r->grad == OT_NO_GRAD && !r->why) return "has no gradient and its row does not say why";
    if (!r->builder && !r->why) return "has no builder and its row does not say why";
    return NULL;
}

START_TEST(test_table_covers_registry)
{
    for (int i = 0; i < tg__op_def_count(); i++) {
        const tg__op_def *d = tg__op_def_at(i);
        const char *p = row_problem(d, ot_row_of(d->type));
        ck_assert_msg(p == NULL, "%s: %s", d->type, p);
    }
    for (int i = 0; i < OT_N_ROWS; i++) {
        ck_assert_msg(tg__op_def_lookup(OT_ROWS[i].type) != NULL, "row %s: no such op registered", OT_ROWS[i].type);
        ck_assert_msg(ot_row_of(OT_ROWS[i].type) == &OT_ROWS[i], "%s has two rows", OT_ROWS[i].type);
    }
    ck_assert_int_eq(OT_N_ROWS, tg__op_def_count());
}
END_TEST

/* The coverage check itself: an op added without a row, or with a row
 * that does not check its gradient, fails. */
START_TEST(test_missing_row_fails)
{
    const tg__op_def added = {.type = "NewOp", .n_inputs = 1, .n_outputs = 1, .grad = NULL};
    ck_assert_ptr_null(ot_row_of(added.type));
    ck_assert_str_eq(row_problem(&added, ot_row_of(added.type)), "no row in tests/support/op_table.h");
    const ot_row unchecked = {"NewOp", .builder = "tg_new_op", .grad = OT_GRAD};
    tg__grad_fn some_grad = tg__op_def_lookup("Add")->grad;
    const tg__op_def with_grad = {.type = "NewOp", .n_inputs = 1, .n_outputs = 1, .grad = some_grad};
    ck_assert_ptr_nonnull(row_problem(&with_grad, &unchecked));
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, test_registry_consistent);
    tcase_add_test(tc, test_table_covers_registry);
    tcase_add_test(tc, test_missing_row_fails);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(registry_suite)
