/* Print (tf.Print) and the value summaries it shares with Assert. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_internal.h"

/* ---- TF's Tensor::SummarizeValue (print_v2 false) --------------------------- */

/* TF's StrCat of a float or double: the shortest of FLT_DIG / DBL_DIG
 * significant digits that reads back exactly, else FLT_DIG + 3 / DBL_DIG + 2,
 * so 0.1f prints "0.1" while a float that needs 9 digits gets them. */
static void put_element(tg__strbuf *b, const tg_array *a, int64_t i) {
    char buf[64];
    switch (a->dtype) {
    case TG_FLOAT32: {
        float v = ((const float *)a->data)[i];
        snprintf(buf, sizeof buf, "%.*g", FLT_DIG, (double)v);
        if (strtof(buf, NULL) != v) snprintf(buf, sizeof buf, "%.*g", FLT_DIG + 3, (double)v);
        break;
    }
    case TG_FLOAT64: {
        double v = ((const double *)a->data)[i];
        snprintf(buf, sizeof buf, "%.*g", DBL_DIG, v);
        if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.*g", DBL_DIG + 2, v);
        break;
    }
    case TG_INT32: snprintf(buf, sizeof buf, "%" PRId32, ((const int32_t *)a->data)[i]); break;
    case TG_INT64: snprintf(buf, sizeof buf, "%" PRId64, ((const int64_t *)a->data)[i]); break;
    /* StrCat promotes bool to int */
    case TG_BOOL: snprintf(buf, sizeof buf, "%d", ((const bool *)a->data)[i] ? 1 : 0); break;
    default: snprintf(buf, sizeof buf, "?"); break;
    }
    tg__strbuf_printf(b, "%s", buf);
}

/* TF's PrintOneDim: rows in brackets; a row cut short by the limit ends in
 * "..." (except along dimension 0, which SummarizeArray closes instead). */
static void put_dim(tg__strbuf *b, const tg_array *a, int d, int64_t limit, int64_t *at) {
    if (*at >= limit) return;
    int64_t n = a->dims[d];
    if (d == a->rank - 1) {
        for (int64_t i = 0; i < n; i++) {
            if (*at >= limit) {
                if (d != 0) tg__strbuf_printf(b, "...");
                return;
            }
            if (i > 0) tg__strbuf_printf(b, " ");
            put_element(b, a, (*at)++);
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        bool opened = false;
        if (*at < limit) {
            tg__strbuf_printf(b, "[");
            opened = true;
        }
        put_dim(b, a, d + 1, limit, at);
        if (*at < limit || opened) tg__strbuf_printf(b, "]");
    }
}

void tg__summarize_value(tg__strbuf *b, const tg_array *a, int64_t max_entries) {
    int64_t n = a->size;
    int64_t limit = max_entries < 0 || max_entries > n ? n : max_entries;
    if (a->rank == 0) {
        for (int64_t i = 0; i < limit; i++) {
            if (i > 0) tg__strbuf_printf(b, " ");
            put_element(b, a, i);
        }
    } else {
        int64_t at = 0;
        put_dim(b, a, 0, limit, &at);
    }
    if (n > limit) tg__strbuf_printf(b, "...");
}

/* ---- Print ------------------------------------------------------------------------ */

typedef struct {
    const char *message; /* in the graph arena */
    int64_t first_n;
    int64_t summarize;
} print_attrs;

/* TF's PrintOp keeps its call counter per kernel, i.e. per op per session;
 * the line buffer is kept too, so a steady loop that prints allocates only
 * while its lines grow. */
typedef struct {
    int64_t calls;
    tg__strbuf line;
} print_state;

static void print_state_free(void *state) { tg__strbuf_free(&((print_state *)state)->line); }

static tg_code print_infer(tg__infer_ctx *c) {
    c->out[0].dtype = c->in[0]->dtype;
    c->out[0].shape = c->in[0]->shape;
    return TG_OK;
}

static tg_code print_kernel(tg__kernel_ctx *c) {
    const print_attrs *a = c->attrs;
    print_state *st = c->state;
    tg__out_alias(c, 0, c->in[0]);
    if (a->first_n >= 0) {
        if (st->calls >= a->first_n) return TG_OK;
        st->calls++;
    }
    tg__strbuf *b = &st->line;
    b->len = 0;
    b->failed = false;
    tg__strbuf_printf(b, "%s", a->message);
    for (int i = 1; i < c->n_in; i++) {
        tg__strbuf_printf(b, "[");
        tg__summarize_value(b, c->in[i], a->summarize);
        tg__strbuf_printf(b, "]");
    }
    if (b->failed) return tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "out of memory");
    tg__session_print(c->s, b->data);
    return TG_OK;
}

/* TF's _PrintGrad: the identity to input_, None to data. */
static tg_code print_grad(tg__grad_ctx *c) {
    c->dx[0] = c->dy[0];
    return TG_OK;
}

const tg__op_def tg__op_print = {
    .type = "Print",
    .n_inputs = -1,
    .n_outputs = 1,
    .flags = TG__OPF_VIEWS | TG__OPF_STATEFUL,
    .attr_size = sizeof(print_attrs),
    .state_size = sizeof(print_state),
    .state_free = print_state_free,
    .infer = print_infer,
    .kernel = TG__ALL_DTYPES(print_kernel),
    .grad = print_grad,
};

/* Checks a builder's list of data tensors (TF's `data` argument). */
bool tg__check_data(tg_graph *g, const char *who, tg_tensor *const *data, int n_data) {
    if (n_data < 0 || (n_data > 0 && !data)) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: data must be a list of %d tensors", who, n_data);
        return false;
    }
    for (int i = 0; i < n_data; i++)
        if (!data[i]) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: data[%d] is NULL", who, i);
            return false;
        }
    return tg__graph_ready_in(g, data, n_data, who);
}

tg_tensor *tg_print(tg_graph *g, tg_tensor *input_, tg_tensor *const *data, int n_data, const tg_print_opts *opts) {
    if (!tg__graph_ready(g, &input_, 1)) return NULL;
    tg_print_opts o;
    if (!TG__OPTS_RESOLVE(g, "tg_print", tg_print_opts, TG_PRINT_OPTS_INIT, opts, o)) return NULL;
    const char *who = o.name ? o.name : "Print";
    if (!tg__check_data(g, who, data, n_data)) return NULL;
    const char *msg = o.message ? o.message : "";
    size_t len = strlen(msg);
    print_attrs a = {.first_n = o.first_n, .summarize = o.summarize};
    char *m = tg__graph_alloc(g, len + 1);
    tg_tensor **in = malloc((size_t)(n_data + 1) * sizeof *in);
    if (!m || !in) {
        free(in);
        if (m) tg__fail(g, TG_RESOURCE_EXHAUSTED, "%s: out of memory", who);
        return NULL;
    }
    memcpy(m, msg, len + 1);
    a.message = m;
    in[0] = input_;
    for (int i = 0; i < n_data; i++) in[i + 1] = data[i];
    tg_tensor *out = tg__simple_op(g, &tg__op_print, o.name, in, n_data + 1, &a);
    free(in);
    return out;
}

/* ---- CheckNumerics (tf.debugging.check_numerics) ------------------------------------- */

typedef struct numerics_attrs {
    const char *message; /* in the graph's arena */
} numerics_attrs;

static tg_code numerics_infer(tg__infer_ctx *c) {
    tg_dtype d = c->in[0]->dtype;
    if (d != TG_FLOAT32 && d != TG_FLOAT64)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "CheckNumerics takes float32 or float64, not %s",
                              tg_dtype_name(d));
    c->out[0] = (tg__out_info){d, c->in[0]->shape};
    return TG_OK;
}

#define NUMERICS_KERNEL(NAME, T)                                                                  \
    static tg_code NAME(tg__kernel_ctx *c) {                                                      \
        const tg_array *x = c->in[0];                                                             \
        const T *v = x->data;                                                                     \
        bool nan = false, inf = false;                                                            \
        for (int64_t i = 0; i < x->size; i++) nan |= isnan(v[i]), inf |= isinf(v[i]);            \
        if (nan || inf)                                                                           \
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "%s : Tensor had %s values",           \
                                   ((const numerics_attrs *)c->attrs)->message,                   \
                                   nan && inf ? "Inf and NaN" : nan ? "NaN" : "Inf");             \
        tg__out_alias(c, 0, x);                                                                   \
        return TG_OK;                                                                             \
    }
NUMERICS_KERNEL(numerics_f32, float)
NUMERICS_KERNEL(numerics_f64, double)

/* TF's _CheckNumericsGrad: the gradient is checked too. */
static tg_code numerics_grad(tg__grad_ctx *c) {
    tg__strbuf b = {0};
    tg__strbuf_printf(&b, "Not a number (NaN) or infinity (Inf) values detected in gradient. %s",
                      ((const numerics_attrs *)c->op->attrs)->message);
    if (b.failed) return tg__fail(c->g, TG_RESOURCE_EXHAUSTED, "out of memory");
    c->dx[0] = tg_check_numerics(c->g, c->dy[0], b.data, NULL);
    tg__strbuf_free(&b);
    return tg_graph_status(c->g);
}

const tg__op_def tg__op_check_numerics = {
    .type = "CheckNumerics",
    .flags = TG__OPF_VIEWS,
    .n_inputs = 1,
    .n_outputs = 1,
    .attr_size = sizeof(numerics_attrs),
    .infer = numerics_infer,
    .kernel = {[TG_FLOAT32] = numerics_f32, [TG_FLOAT64] = numerics_f64},
    .grad = numerics_grad,
};

tg_tensor *tg_check_numerics(tg_graph *g, tg_tensor *tensor, const char *message, const char *name) {
    if (!tg__graph_ready(g, &tensor, 1)) return NULL;
    numerics_attrs a = {tg__arena_strdup(&g->arena, message ? message : "")};
    if (!a.message) return tg__fail(g, TG_RESOURCE_EXHAUSTED, "%s: out of memory", name ? name : "CheckNumerics"), NULL;
    return tg__simple_op(g, &tg__op_check_numerics, name, &tensor, 1, &a);
}
