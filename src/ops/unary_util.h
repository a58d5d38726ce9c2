/* The elementwise unary kernel shape shared by math_unary.c and
 * nn_activations.c: y[i] = EXPR with `a` bound to x[i]. */
#ifndef TG_UNARY_UTIL_H
#define TG_UNARY_UTIL_H

#include "ops_internal.h"

typedef struct tg__unary_job {
    const void *in;
    void *out;
} tg__unary_job;

#define TG__UNARY_KERNEL(NAME, TI, TO, OUT_DTYPE, EXPR)                                 \
    TG__CLONES static void NAME##_range(void *ctx, int64_t b, int64_t e, int chunk, int slot) { \
        (void)chunk, (void)slot;                                                        \
        const tg__unary_job *j = ctx;                                                   \
        const TI *in = j->in;                                                           \
        TO *out = j->out;                                                               \
        TG__SIMD                                                                        \
        for (int64_t i = b; i < e; i++) {                                               \
            TI a = in[i];                                                               \
            out[i] = (TO)(EXPR);                                                        \
        }                                                                               \
    }                                                                                   \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *x = c->in[0];                                                   \
        bool over = x->dtype == OUT_DTYPE && tg__out_inplace(c);                        \
        tg_code rc = over ? TG_OK : tg__out_alloc(c, 0, OUT_DTYPE, x->rank, x->dims);   \
        if (rc != TG_OK) return rc;                                                     \
        tg__unary_job j = {x->data, c->out[0]->data};                                   \
        tg__parallel_for(c, 0, x->size, TG__ELEMENTWISE_GRAIN, NAME##_range, &j);       \
        return TG_OK;                                                                   \
    }

/* float32 and float64 kernels from expressions in `a`. */
#define TG__FLOAT_UNARY(name, EXPR_F, EXPR_D)                                           \
    TG__UNARY_KERNEL(name##_f32, float, float, TG_FLOAT32, EXPR_F)                      \
    TG__UNARY_KERNEL(name##_f64, double, double, TG_FLOAT64, EXPR_D)

/* Shape function of ops whose output is like their float input. */
tg_code tg__float_unary_infer(tg__infer_ctx *c);

#endif
