/* TF's stacks (StackV2, StackPushV2, StackPopV2), which carry a while
 * loop's forward values to its gradient loop: the forward loop pushes a
 * value each iteration, the gradient loop pops them in reverse order.
 * TF's handle is a resource; here it is an int64 scalar naming the StackV2
 * op whose per-session state holds the stack. */
#include <stdlib.h>
#include <string.h>

#include "control_flow_while.h"

typedef struct stack_attrs {
    tg_dtype elem_type;
} stack_attrs;

/* The values pushed this run; buffers are kept for the next run. */
typedef struct stack_state {
    tg_array *items;
    int n, cap;
} stack_state;

static void stack_state_free(void *state) {
    stack_state *st = state;
    for (int i = 0; i < st->cap; i++) tg__array_release(&st->items[i]);
    free(st->items);
}

static tg_code stack_infer(tg__infer_ctx *c) {
    if (c->in[0]->dtype != TG_INT32 || c->in[0]->shape.rank > 0)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "max_size must be an int32 scalar");
    c->out[0] = (tg__out_info){TG_INT64, TG_SCALAR};
    return TG_OK;
}

/* Each run starts an empty stack, as TF's StackV2 makes a new one. */
static tg_code stack_kernel(tg__kernel_ctx *c) {
    stack_state *st = c->state;
    st->n = 0;
    tg_code rc = tg__out_alloc(c, 0, TG_INT64, 0, NULL);
    if (rc == TG_OK) *(int64_t *)c->out[0]->data = tg__op_id(c->op);
    return rc;
}

const tg__op_def tg__op_stack_v2 = {
    .type = "StackV2",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_STATEFUL | TG__OPF_NOT_DIFFERENTIABLE,
    .attr_size = sizeof(stack_attrs),
    .state_size = sizeof(stack_state),
    .state_free = stack_state_free,
    .infer = stack_infer,
    .kernel = {[TG_INT32] = stack_kernel},
};

static stack_state *stack_of(tg__kernel_ctx *c) {
    const tg_array *h = c->in[0];
    stack_state *st = h->dtype == TG_INT64 && h->size == 1
                          ? tg__kernel_op_state(c, *(const int64_t *)h->data, &tg__op_stack_v2)
                          : NULL;
    if (!st) tg__kernel_fail(c, TG_INVALID_ARGUMENT, "input 0 is not a stack handle");
    return st;
}

static tg_code push_infer(tg__infer_ctx *c) {
    if (c->in[0]->dtype != TG_INT64) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "input 0 must be a stack handle");
    c->out[0] = (tg__out_info){c->in[1]->dtype, c->in[1]->shape};
    return TG_OK;
}

static tg_code push_kernel(tg__kernel_ctx *c) {
    stack_state *st = stack_of(c);
    if (!st) return TG_INVALID_ARGUMENT;
    if (st->n == st->cap) {
        int cap = st->cap ? 2 * st->cap : 16;
        tg_array *items = realloc(st->items, (size_t)cap * sizeof *items);
        if (!items) return tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "out of memory");
        memset(items + st->cap, 0, (size_t)(cap - st->cap) * sizeof *items);
        st->items = items;
        st->cap = cap;
    }
    const tg_array *v = c->in[1];
    tg_array *dst = &st->items[st->n];
    if (!tg__array_reshape(dst, v->dtype, v->rank, v->dims))
        return tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "out of memory pushing %s", tg_dtype_name(v->dtype));
    memcpy(dst->data, v->data, tg__array_nbytes(dst));
    st->n++;
    tg__out_alias(c, 0, v);
    return TG_OK;
}

const tg__op_def tg__op_stack_push_v2 = {
    .type = "StackPushV2",
    .n_inputs = 2,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_STATEFUL | TG__OPF_NOT_DIFFERENTIABLE,
    .infer = push_infer,
    .kernel = {[TG_INT64] = push_kernel},
};

static tg_code pop_infer(tg__infer_ctx *c) {
    const stack_attrs *a = c->attrs;
    if (c->in[0]->dtype != TG_INT64) return tg__infer_fail(c, TG_INVALID_ARGUMENT, "input 0 must be a stack handle");
    c->out[0] = (tg__out_info){a->elem_type, TG_SHAPE_UNKNOWN};
    return TG_OK;
}

/* The value stays in the stack's buffer until the next run's pushes. */
static tg_code pop_kernel(tg__kernel_ctx *c) {
    stack_state *st = stack_of(c);
    if (!st) return TG_INVALID_ARGUMENT;
    if (st->n == 0) return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Stack[%s] is empty.", c->op->inputs[0]->name);
    tg__out_alias(c, 0, &st->items[--st->n]);
    return TG_OK;
}

const tg__op_def tg__op_stack_pop_v2 = {
    .type = "StackPopV2",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_STATEFUL | TG__OPF_NOT_DIFFERENTIABLE,
    .attr_size = sizeof(stack_attrs),
    .infer = pop_infer,
    .kernel = {[TG_INT64] = pop_kernel},
};

tg_tensor *tg__stack_v2(tg_graph *g, tg_dtype elem_type, const char *name) {
    tg_tensor *max = tg_constant_scalar(g, TG_INT32, -1, "max_size");
    stack_attrs a = {elem_type};
    return max ? tg__simple_op(g, &tg__op_stack_v2, name, &max, 1, &a) : NULL;
}

tg_tensor *tg__stack_push(tg_graph *g, tg_tensor *handle, tg_tensor *value) {
    tg_tensor *in[2] = {handle, value};
    return tg__simple_op(g, &tg__op_stack_push_v2, NULL, in, 2, NULL);
}

tg_tensor *tg__stack_pop(tg_graph *g, tg_tensor *handle, tg_dtype elem_type, tg_shape shape) {
    stack_attrs a = {elem_type};
    tg_tensor *t = tg__simple_op(g, &tg__op_stack_pop_v2, NULL, &handle, 1, &a);
    if (t) t->shape = shape; /* TF's pop.set_shape(value.get_shape()) */
    return t;
}
