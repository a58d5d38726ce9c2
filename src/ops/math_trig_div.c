/* Cos and Sin (each the other's gradient, tf.cos / tf.sin, which
 * tf.train.cosine_decay needs) and DivNoNan (tf.div_no_nan: x / y, but 0
 * where y is 0, the division tf.metrics uses so that an empty metric reads
 * 0 rather than NaN). */
#include <math.h>

#include "unary_util.h"

/* ---- Cos, Sin ------------------------------------------------------------------- */

TG__FLOAT_UNARY(cos, cosf(a), cos(a))
TG__FLOAT_UNARY(sin, sinf(a), sin(a))

/* d cos(x) = -sin(x) dx */
static tg_code cos_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    c->dx[0] = tg_negative(g, tg_multiply(g, c->dy[0], tg_sin(g, c->op->inputs[0], NULL), NULL), NULL);
    return tg_graph_status(g);
}

/* d sin(x) = cos(x) dx */
static tg_code sin_grad(tg__grad_ctx *c) {
    c->dx[0] = tg_multiply(c->g, c->dy[0], tg_cos(c->g, c->op->inputs[0], NULL), NULL);
    return tg_graph_status(c->g);
}

const tg__op_def tg__op_cos = {
    .type = "Cos",
    .n_inputs = 1,
    .n_outputs = 1,
    .infer = tg__float_unary_infer,
    .kernel = TG__NUMERIC(cos_f32, cos_f64, NULL, NULL),
    .grad = cos_grad,
};

const tg__op_def tg__op_sin = {
    .type = "Sin",
    .n_inputs = 1,
    .n_outputs = 1,
    .infer = tg__float_unary_infer,
    .kernel = TG__NUMERIC(sin_f32, sin_f64, NULL, NULL),
    .grad = sin_grad,
};

tg_tensor *tg_cos(tg_graph *g, tg_tensor *x, const char *name) {
    return tg__simple_op(g, &tg__op_cos, name, &x, 1, NULL);
}
tg_tensor *tg_sin(tg_graph *g, tg_tensor *x, const char *name) {
    return tg__simple_op(g, &tg__op_sin, name, &x, 1, NULL);
}

/* ---- DivNoNan(x, y) --------------------------------------------------------------- */

/* RealDiv's rules exactly: float operands of one dtype, NumPy broadcasting. */
static tg_code div_no_nan_infer(tg__infer_ctx *c) { return tg__op_real_div.infer(c); }

/* Walks the broadcast output with an odometer over both inputs' strides
 * (0 along a stretched dimension). */
#define DIV_NO_NAN_KERNEL(NAME, T)                                                      \
    static tg_code NAME(tg__kernel_ctx *c) {                                            \
        const tg_array *x = c->in[0], *y = c->in[1];                                    \
        int r = x->rank > y->rank ? x->rank : y->rank;                                  \
        int64_t dims[TG_MAX_RANK], sx[TG_MAX_RANK], sy[TG_MAX_RANK], stx = 1, sty = 1;  \
        for (int i = r - 1; i >= 0; i--) {                                              \
            int ix = x->rank - r + i, iy = y->rank - r + i;                             \
            int64_t dx = ix >= 0 ? x->dims[ix] : 1, dy = iy >= 0 ? y->dims[iy] : 1;     \
            if (dx != dy && dx != 1 && dy != 1)                                         \
                return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "Incompatible shapes: dimension %d is %lld vs. %lld", \
                                       i, (long long)dx, (long long)dy);                \
            dims[i] = dx == 1 ? dy : dx;                                                \
            sx[i] = dx == 1 ? 0 : stx;                                                  \
            sy[i] = dy == 1 ? 0 : sty;                                                  \
            stx *= dx;                                                                  \
            sty *= dy;                                                                  \
        }                                                                               \
        tg_code rc = tg__out_alloc(c, 0, x->dtype, r, dims);                            \
        if (rc != TG_OK) return rc;                                                     \
        const T *a = x->data, *b = y->data;                                             \
        T *z = c->out[0]->data;                                                         \
        int64_t idx[TG_MAX_RANK] = {0}, ox = 0, oy = 0;                                 \
        for (int64_t i = 0; i < c->out[0]->size; i++) {                                 \
            z[i] = b[oy] == 0 ? 0 : a[ox] / b[oy];                                      \
            for (int d = r - 1; d >= 0; d--) {                                          \
                ox += sx[d];                                                            \
                oy += sy[d];                                                            \
                if (++idx[d] < dims[d]) break;                                          \
                ox -= sx[d] * dims[d];                                                  \
                oy -= sy[d] * dims[d];                                                  \
                idx[d] = 0;                                                             \
            }                                                                           \
        }                                                                               \
        return TG_OK;                                                                   \
    }
DIV_NO_NAN_KERNEL(div_no_nan_f32, float)
DIV_NO_NAN_KERNEL(div_no_nan_f64, double)

/* TF's _DivNoNanGrad: dx = div_no_nan(dy, y), dy' = dy * div_no_nan(div_no_nan(-x, y), y),
 * each summed back over the dimensions its input was stretched along. */
static tg_code div_no_nan_grad(tg__grad_ctx *c) {
    tg_graph *g = c->g;
    tg_tensor *x = c->op->inputs[0], *y = c->op->inputs[1], *dy = c->dy[0];
    c->dx[0] = tg__grad_unbroadcast(g, tg_div_no_nan(g, dy, y, NULL), x);
    tg_tensor *q = tg_div_no_nan(g, tg_div_no_nan(g, tg_negative(g, x, NULL), y, NULL), y, NULL);
    c->dx[1] = tg__grad_unbroadcast(g, tg_multiply(g, dy, q, NULL), y);
    return tg_graph_status(g);
}

const tg__op_def tg__op_div_no_nan = {
    .type = "DivNoNan",
    .n_inputs = 2,
    .n_outputs = 1,
    .infer = div_no_nan_infer,
    .kernel = TG__NUMERIC(div_no_nan_f32, div_no_nan_f64, NULL, NULL),
    .grad = div_no_nan_grad,
};

tg_tensor *tg_div_no_nan(tg_graph *g, tg_tensor *x, tg_tensor *y, const char *name) {
    tg_tensor *in[2] = {x, y};
    return tg__simple_op(g, &tg__op_div_no_nan, name, in, 2, NULL);
}
