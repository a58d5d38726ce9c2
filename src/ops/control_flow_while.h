/* What tg_while_loop (control_flow_while.c) and its gradient
 * (control_flow_while_grad.c) share: the WhileContext's state and the
 * pieces both loops are built from. */
#ifndef TG_CONTROL_FLOW_WHILE_H
#define TG_CONTROL_FLOW_WHILE_H

#include "ops_internal.h"

/* A while context's impl (tg__cond_ctx.impl), in the graph's arena. */
typedef struct tg__while_impl {
    const char *frame_name;
    int parallel_iterations;
    bool back_prop;
    /* Per loop variable (n of them), the ops _BuildLoop made. */
    int n;
    tg_op **enter, **merge, **sw, **ident, **next, **exit;
    /* outside tensor -> its Enter (in a gradient loop also forward value ->
     * its StackPopV2) */
    tg__value_map values;
    /* A forward loop's iteration counter, added by its first gradient:
     * f_index (the count's Add, which every stack push must precede) and
     * f_total (the Exit: how many times the body ran). */
    tg_op *f_index;
    tg_tensor *f_total;
    /* A gradient loop: the forward loop it differentiates. */
    tg__cond_ctx *forward;
} tg__while_impl;

extern const tg__op_def tg__op_enter, tg__op_ref_enter, tg__op_exit, tg__op_loop_cond, tg__op_next_iteration,
    tg__op_stack_v2, tg__op_stack_push_v2, tg__op_stack_pop_v2;

/* A new while context inside the current one (g->cond_ctx), not yet
 * current; NULL when out of memory. */
tg__cond_ctx *tg__while_ctx_new(tg_graph *g, const char *frame_name, int parallel_iterations, bool back_prop);
bool tg__is_while_ctx(const tg__cond_ctx *ctx);
/* An Enter (RefEnter for a variable reference) of x into ctx's frame, made
 * outside every context and then moved in; NULL after an error. */
tg_tensor *tg__while_enter(tg_graph *g, tg__cond_ctx *ctx, tg_tensor *x, bool is_constant, const char *name);
/* NextIteration of v, made the second input of merge; checks v's dtype
 * and shape against the loop variable's. */
bool tg__while_back_edge(tg_graph *g, tg_op *merge, tg_tensor *v, tg_op **next);

/* data_flow_stack.c: StackV2 (with its "max_size" -1) named name, a push
 * of value (its output is value), and a pop giving elem_type and shape. */
tg_tensor *tg__stack_v2(tg_graph *g, tg_dtype elem_type, const char *name);
tg_tensor *tg__stack_push(tg_graph *g, tg_tensor *handle, tg_tensor *value);
tg_tensor *tg__stack_pop(tg_graph *g, tg_tensor *handle, tg_dtype elem_type, tg_shape shape);

/* control_flow_while_grad.c: TF's GradLoopState.GetRealValue: what a
 * gradient op made in gradient loop ctx reads for the forward loop's value
 * t (a clone of a constant, the outside tensor of an invariant, or a
 * StackPopV2 of the value the forward loop pushed). */
tg_tensor *tg__while_grad_value(tg_graph *g, tg__cond_ctx *ctx, tg_tensor *t);

#endif
