/* The elementwise unary kernel shape shared by math_unary.c and
 * nn_activations.c: y[i] = EXPR with `a` bound to x[i]. */
#ifndef TG_UNARY_UTIL_H
#define TG_UNARY_UTIL_H

#include "ops_internal.h"

#define TG__UNARY_KERNEL(NAME, TI, TO, OUT_DTYPE, EXPR)                                 \
    TG__CLONES static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *x = c->in[0];                                                   \
        tg_code rc = tg__out_alloc(c, 0, OUT_DTYPE, x->rank, x->dims);                  \
        if (rc != TG_OK) return rc;                                                     \
        const TI *in = x->data;                                                         \
        TO *out = c->out[0]->data;                                                      \
        TG__SIMD                                                                        \
        for (int64_t i = 0; i < x->size; i++) {                                         \
            TI a = in[i];                                                               \
            out[i] = (TO)(EXPR);                                                        \
        }                                                                               \
        return TG_OK;                                                                   \
    }

/* float32 and float64 kernels from expressions in `a`. */
#define TG__FLOAT_UNARY(name, EXPR_F, EXPR_D)                                           \
    TG__UNARY_KERNEL(name##_f32, float, float, TG_FLOAT32, EXPR_F)                      \
    TG__UNARY_KERNEL(name##_f64, double, double, TG_FLOAT64, EXPR_D)

/* Shape function of ops whose output is like their float input. */
tg_code tg__float_unary_infer(tg__infer_ctx *c);

#endif
