/* test_registry.c: the op registry is complete and consistent.
 *
 * Every registered op has a type found by look-up, at least one kernel, a
 * shape function (unless it has no outputs), and a gradient or the
 * NOT_DIFFERENTIABLE flag. Every op with a gradient must be listed below as
 * covered by a gradient test elsewhere in the suite, so an op added without
 * one fails here. Links the static library to reach the registry. */
#include <string.h>

#include "tg_check.h"
#include "op_def.h"

int tg__op_def_count(void);
const tg__op_def *tg__op_def_at(int i);
const tg__op_def *tg__op_def_lookup(const char *type);

/* Op types whose gradients a test checks (file in the comment). */
static const char *const GRAD_TESTED[] = {
    /* test_gradients.c */
    "Add", "Sub", "Mul", "RealDiv", "SquaredDifference", "Maximum", "Minimum", "Pow", "Neg", "Square", "Sqrt", "Rsqrt", "Exp", "Log",
    "Abs", "Sign", "Select", "Relu", "ReluGrad", "Relu6", "Elu", "LeakyRelu", "Sigmoid", "Tanh", "Softplus", "Softmax",
    "LogSoftmax", "Sum", "Mean", "Reshape", "AddN", "Identity", "PlaceholderWithDefault", "Cast",
    /* test_array_ops.c */
    "Transpose", "ExpandDims", "Squeeze", "ConcatV2", "Split", "Pack", "Unpack", "Slice", "Pad", "Tile",
    /* test_nn_conv.c */
    "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "BiasAdd", "BiasAddGrad",
    /* test_nn_pool.c */
    "MaxPool", "AvgPool", "MaxPoolGrad", "AvgPoolGrad", "MaxPoolGradGrad",
    /* test_nn_batch_norm.c */
    "FusedBatchNormV3", "FusedBatchNormGradV3", "BatchNormWithGlobalNormalization",
    /* test_nn_math.c */
    "MatMul", "Max", "Min", "Prod", "SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits", "L2Loss",
    /* test_control_flow.c */
    "Print",
    /* test_cond.c */
    "Switch", "Merge",
};

/* Ops that are differentiable in TF but whose gradient is deliberately not
 * an op of its own here, with the reason. */
static const char *const NO_GRADIENT_BY_DESIGN[] = {
    "ProdOthers", /* Prod's gradient; differentiating it again reports the missing gradient */
    /* a while loop's frame ops are differentiated together, by the gradient
     * loop control_flow_while_grad.c builds (test_while checks it) */
    "Enter", "Exit", "NextIteration",
};
/* RefSwitch is marked NOT_DIFFERENTIABLE: branches read variables through
 * their "read" Identity (a plain Switch), and only the reference an assign
 * writes crosses a RefSwitch, so gradients never need it. */

static bool listed(const char *const *list, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], type) == 0) return true;
    return false;
}

START_TEST(test_registry_complete)
{
    int n = tg__op_def_count();
    ck_assert_int_gt(n, 50);
    for (int i = 0; i < n; i++) {
        const tg__op_def *d = tg__op_def_at(i);
        ck_assert_ptr_nonnull(d);
        ck_assert_msg(tg__op_def_lookup(d->type) == d, "%s: look-up finds another entry", d->type);
        bool any_kernel = false;
        for (int k = 0; k < TG_DTYPE_COUNT; k++) any_kernel |= d->kernel[k] != NULL;
        ck_assert_msg(any_kernel, "%s has no kernel", d->type);
        ck_assert_msg(d->infer || d->n_outputs == 0, "%s has no shape function", d->type);
        bool nd = (d->flags & TG__OPF_NOT_DIFFERENTIABLE) != 0;
        ck_assert_msg(!(nd && d->grad), "%s is marked not differentiable but has a gradient", d->type);
        if (!nd && !d->grad)
            ck_assert_msg(listed(NO_GRADIENT_BY_DESIGN, sizeof NO_GRADIENT_BY_DESIGN / sizeof *NO_GRADIENT_BY_DESIGN, d->type),
                          "%s has no gradient and is not marked NOT_DIFFERENTIABLE", d->type);
        if (d->grad)
            ck_assert_msg(listed(GRAD_TESTED, sizeof GRAD_TESTED / sizeof *GRAD_TESTED, d->type),
                          "%s has a gradient that no test checks", d->type);
    }
    for (size_t i = 0; i < sizeof GRAD_TESTED / sizeof *GRAD_TESTED; i++)
        ck_assert_msg(tg__op_def_lookup(GRAD_TESTED[i]) != NULL, "%s is listed but not registered", GRAD_TESTED[i]);
    ck_assert_ptr_null(tg__op_def_lookup("NoSuchOp"));
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, test_registry_complete);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(registry_suite)
