/* ZerosLike, OnesLike and StopGradient: tensors shaped like their input. */
#include <string.h>

#include "ops_internal.h"

static tg_code like_infer(tg__infer_ctx *c) {
    c->out[0].dtype = c->in[0]->dtype;
    c->out[0].shape = c->in[0]->shape;
    return TG_OK;
}

#define FILL_KERNEL(NAME, T, V)                                                         \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *x = c->in[0];                                                   \
        tg_code rc = tg__out_alloc(c, 0, x->dtype, x->rank, x->dims);                   \
        if (rc != TG_OK) return rc;                                                     \
        T *o = c->out[0]->data;                                                         \
        for (int64_t i = 0; i < x->size; i++) o[i] = (T)(V);                            \
        return TG_OK;                                                                   \
    }
FILL_KERNEL(zeros_f32, float, 0)
FILL_KERNEL(zeros_f64, double, 0)
FILL_KERNEL(zeros_i32, int32_t, 0)
FILL_KERNEL(zeros_i64, int64_t, 0)
FILL_KERNEL(zeros_b, bool, 0)
FILL_KERNEL(ones_f32, float, 1)
FILL_KERNEL(ones_f64, double, 1)
FILL_KERNEL(ones_i32, int32_t, 1)
FILL_KERNEL(ones_i64, int64_t, 1)
FILL_KERNEL(ones_b, bool, 1)

const tg__op_def tg__op_zeros_like = {
    .type = "ZerosLike",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .infer = like_infer,
    .kernel = {zeros_f32, zeros_f64, zeros_i32, zeros_i64, zeros_b},
};

const tg__op_def tg__op_ones_like = {
    .type = "OnesLike",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_NOT_DIFFERENTIABLE,
    .infer = like_infer,
    .kernel = {ones_f32, ones_f64, ones_i32, ones_i64, ones_b},
};

tg_tensor *tg_zeros_like(tg_graph *g, tg_tensor *x, const char *name) {
    return tg__simple_op(g, &tg__op_zeros_like, name, &x, 1, NULL);
}

tg_tensor *tg_ones_like(tg_graph *g, tg_tensor *x, const char *name) {
    return tg__simple_op(g, &tg__op_ones_like, name, &x, 1, NULL);
}

static tg_code stop_kernel(tg__kernel_ctx *c) {
    tg__out_alias(c, 0, c->in[0]);
    return TG_OK;
}

/* GraphDef export: TF's "T" is input 0's dtype. */
static void export_t(const tg_op *op, tg__attr_list *out) { tg__attr_add(out, "T", TG__ATTR_TYPE)->u.type = op->inputs[0]->dtype; }

/* The identity that tg_gradients treats as a constant. */
const tg__op_def tg__op_stop_gradient = {
    .type = "StopGradient",
    .n_inputs = 1,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_NOT_DIFFERENTIABLE,
    .infer = like_infer,
    .kernel = TG__ALL_DTYPES(stop_kernel),
    .export_attrs = export_t,
};

tg_tensor *tg_stop_gradient(tg_graph *g, tg_tensor *x, const char *name) {
    return tg__simple_op(g, &tg__op_stop_gradient, name, &x, 1, NULL);
}
