/* The op registry: every op type tgraph knows, in one explicit list, for
 * look-up by TF type name (tests, DOT, a future GraphDef import). */
#include <string.h>

#include "control_flow_while.h"
#include "ops_internal.h"

static const tg__op_def *const TG__OPS[] = {
    /* graph and state */
    &tg__op_placeholder,
    &tg__op_placeholder_with_default,
    &tg__op_const,
    &tg__op_identity,
    &tg__op_no_op,
    &tg__op_assert,
    &tg__op_print,
    &tg__op_switch,
    &tg__op_ref_switch,
    &tg__op_merge,
    &tg__op_enter,
    &tg__op_ref_enter,
    &tg__op_exit,
    &tg__op_loop_cond,
    &tg__op_next_iteration,
    &tg__op_stack_v2,
    &tg__op_stack_push_v2,
    &tg__op_stack_pop_v2,
    &tg__op_variable_v2,
    &tg__op_assign,
    &tg__op_assign_add,
    &tg__op_assign_sub,
    &tg__op_stop_gradient,
    &tg__op_zeros_like,
    &tg__op_ones_like,
    /* fused optimizer updates */
    &tg__op_apply_gradient_descent,
    &tg__op_apply_momentum,
    &tg__op_apply_adam,
    &tg__op_apply_rms_prop,
    &tg__op_apply_centered_rms_prop,
    &tg__op_apply_adagrad,
    /* random */
    &tg__op_random_uniform,
    &tg__op_random_standard_normal,
    &tg__op_truncated_normal,
    /* shapes */
    &tg__op_shape,
    &tg__op_size,
    &tg__op_rank,
    &tg__op_reshape,
    &tg__op_broadcast_gradient_args,
    &tg__op_reduced_shape,
    /* shape manipulation */
    &tg__op_transpose,
    &tg__op_expand_dims,
    &tg__op_squeeze,
    &tg__op_concat_v2,
    &tg__op_concat_offset,
    &tg__op_split,
    &tg__op_pack,
    &tg__op_unpack,
    &tg__op_slice,
    &tg__op_pad,
    &tg__op_tile,
    /* elementwise math */
    &tg__op_add,
    &tg__op_sub,
    &tg__op_mul,
    &tg__op_real_div,
    &tg__op_maximum,
    &tg__op_minimum,
    &tg__op_pow,
    &tg__op_squared_difference,
    &tg__op_neg,
    &tg__op_square,
    &tg__op_sqrt,
    &tg__op_rsqrt,
    &tg__op_exp,
    &tg__op_log,
    &tg__op_abs,
    &tg__op_sign,
    &tg__op_cast,
    &tg__op_select,
    &tg__op_add_n,
    &tg__op_equal,
    &tg__op_not_equal,
    &tg__op_less,
    &tg__op_less_equal,
    &tg__op_greater,
    &tg__op_greater_equal,
    &tg__op_logical_and,
    &tg__op_logical_or,
    &tg__op_logical_not,
    /* reductions and matmul */
    &tg__op_sum,
    &tg__op_mean,
    &tg__op_max,
    &tg__op_min,
    &tg__op_prod,
    &tg__op_prod_others,
    &tg__op_arg_max,
    &tg__op_arg_min,
    &tg__op_matmul,
    /* convolution and pooling */
    &tg__op_conv2d,
    &tg__op_conv2d_backprop_input,
    &tg__op_conv2d_backprop_filter,
    &tg__op_bias_add,
    &tg__op_bias_add_grad,
    &tg__op_max_pool,
    &tg__op_avg_pool,
    &tg__op_max_pool_grad,
    &tg__op_avg_pool_grad,
    &tg__op_max_pool_grad_grad,
    /* batch normalization */
    &tg__op_fused_batch_norm_v3,
    &tg__op_fused_batch_norm_grad_v3,
    &tg__op_batch_norm_with_global_normalization,
    /* nn */
    &tg__op_relu,
    &tg__op_relu_grad,
    &tg__op_relu6,
    &tg__op_elu,
    &tg__op_leaky_relu,
    &tg__op_sigmoid,
    &tg__op_tanh,
    &tg__op_softplus,
    &tg__op_softmax,
    &tg__op_log_softmax,
    &tg__op_softmax_xent,
    &tg__op_sparse_softmax_xent,
    &tg__op_l2_loss,
};

_Static_assert(sizeof TG__OPS / sizeof TG__OPS[0] == 114, "update the count when adding an op");

int tg__op_def_count(void) { return (int)(sizeof TG__OPS / sizeof TG__OPS[0]); }

const tg__op_def *tg__op_def_at(int i) {
    return i >= 0 && i < tg__op_def_count() ? TG__OPS[i] : NULL;
}

const tg__op_def *tg__op_def_lookup(const char *type) {
    for (int i = 0; i < tg__op_def_count(); i++)
        if (strcmp(TG__OPS[i]->type, type) == 0) return TG__OPS[i];
    return NULL;
}
