/* RandomUniform, RandomStandardNormal and TruncatedNormal, following TF's
 * algorithm: Philox4x32-10 keyed by (seed, seed2), TF's conversions from
 * bits to floats, Box-Muller for normals, and TF's counter reservation per
 * run (256 blocks per output). The values have not been compared with
 * TensorFlow's own, which is not installable here. Each op keeps its counter
 * in the session and skips it ahead on every run, so runs draw fresh numbers. */
#include <math.h>
#include <string.h>

#include "ops_internal.h"

/* M_PI is POSIX, not C11. */
static const double PI = 3.14159265358979323846;

typedef struct {
    int64_t seed, seed2;
} random_attrs;

typedef struct {
    bool started;
    uint32_t key[2];
    uint32_t counter[4];
} philox_state;

/* ---- Philox4x32-10 ------------------------------------------------------------ */

static void philox_round(uint32_t ctr[4], const uint32_t key[2]) {
    const uint64_t p0 = (uint64_t)0xD2511F53u * ctr[0];
    const uint64_t p1 = (uint64_t)0xCD9E8D57u * ctr[2];
    uint32_t r[4] = {(uint32_t)(p1 >> 32) ^ ctr[1] ^ key[0], (uint32_t)p1,
                     (uint32_t)(p0 >> 32) ^ ctr[3] ^ key[1], (uint32_t)p0};
    memcpy(ctr, r, sizeof r);
}

static void philox_next(philox_state *s, uint32_t out[4]) {
    uint32_t ctr[4], key[2] = {s->key[0], s->key[1]};
    memcpy(ctr, s->counter, sizeof ctr);
    for (int i = 0; i < 10; i++) {
        philox_round(ctr, key);
        key[0] += 0x9E3779B9u;
        key[1] += 0xBB67AE85u;
    }
    memcpy(out, ctr, sizeof ctr);
    /* 128-bit increment */
    for (int i = 0; i < 4 && ++s->counter[i] == 0; i++) {
    }
}

static void philox_skip(philox_state *s, uint64_t n) {
    uint64_t lo = ((uint64_t)s->counter[1] << 32 | s->counter[0]);
    uint64_t sum = lo + n;
    s->counter[0] = (uint32_t)sum;
    s->counter[1] = (uint32_t)(sum >> 32);
    if (sum < lo)
        for (int i = 2; i < 4 && ++s->counter[i] == 0; i++) {
        }
}

/* TF's GuardedPhiloxRandom::Init and ReserveRandomOutputs: the stream for
 * this run starts where the last one reserved up to. */
static philox_state reserve(tg__kernel_ctx *c, int64_t n_outputs) {
    const random_attrs *a = c->attrs;
    philox_state *st = c->state;
    if (!st->started) {
        uint64_t seed = (uint64_t)a->seed, seed2 = (uint64_t)a->seed2;
        if (seed == 0 && seed2 == 0) {
            seed = tg__session_entropy(c->s);
            seed2 = tg__session_entropy(c->s);
        }
        st->key[0] = (uint32_t)seed;
        st->key[1] = (uint32_t)(seed >> 32);
        st->counter[2] = (uint32_t)seed2;
        st->counter[3] = (uint32_t)(seed2 >> 32);
        st->started = true;
    }
    philox_state local = *st;
    philox_skip(st, (uint64_t)n_outputs * 256);
    return local;
}

static float u32_to_float(uint32_t x) {
    uint32_t bits = (x & 0x7fffffu) | 0x3f800000u;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f - 1.0f;
}

static double u64_to_double(uint32_t x0, uint32_t x1) {
    uint64_t bits = (((uint64_t)(x0 & 0xfffffu) << 32) | x1) | 0x3ff0000000000000ull;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d - 1.0;
}

/* One Philox block gives 4 uniforms (float) or 2 (double). */
static void fill_uniform(philox_state *g, tg_array *o) {
    uint32_t r[4];
    if (o->dtype == TG_FLOAT32) {
        float *y = o->data;
        for (int64_t i = 0; i < o->size; i += 4) {
            philox_next(g, r);
            for (int k = 0; k < 4 && i + k < o->size; k++) y[i + k] = u32_to_float(r[k]);
        }
    } else {
        double *y = o->data;
        for (int64_t i = 0; i < o->size; i += 2) {
            philox_next(g, r);
            for (int k = 0; k < 2 && i + k < o->size; k++) y[i + k] = u64_to_double(r[2 * k], r[2 * k + 1]);
        }
    }
}

/* TF's BoxMullerFloat / BoxMullerDouble: two N(0, 1) values from two
 * uniforms. The angle is computed in double, as TF's 2.0f * M_PI * u is. */
static void box_muller_f32(uint32_t x0, uint32_t x1, double out[2]) {
    float u1 = u32_to_float(x0);
    if (u1 < 1e-7f) u1 = 1e-7f;
    const float v1 = (float)(2.0 * PI * (double)u32_to_float(x1));
    const float u2 = sqrtf(-2.0f * logf(u1));
    out[0] = sinf(v1) * u2;
    out[1] = cosf(v1) * u2;
}

static void box_muller_f64(const uint32_t r[4], double out[2]) {
    double u1 = u64_to_double(r[0], r[1]);
    if (u1 < 1e-7) u1 = 1e-7;
    const double v1 = 2 * PI * u64_to_double(r[2], r[3]);
    const double u2 = sqrt(-2.0 * log(u1));
    out[0] = sin(v1) * u2;
    out[1] = cos(v1) * u2;
}

static void store(tg_array *o, int64_t i, double v) {
    if (o->dtype == TG_FLOAT32) ((float *)o->data)[i] = (float)v;
    else ((double *)o->data)[i] = v;
}

/* RandomStandardNormal: one Philox block gives 4 floats or 2 doubles, in
 * sequence. */
static void fill_normal(philox_state *g, tg_array *o) {
    const bool f64 = o->dtype == TG_FLOAT64;
    uint32_t r[4];
    double v[4];
    for (int64_t i = 0; i < o->size;) {
        philox_next(g, r);
        if (f64) {
            box_muller_f64(r, v);
        } else {
            box_muller_f32(r[0], r[1], v);
            box_muller_f32(r[2], r[3], v + 2);
        }
        for (int k = 0; k < (f64 ? 2 : 4) && i < o->size; k++) store(o, i++, v[k]);
    }
}

/* One uint32 at a time from a Philox stream (TF's SingleSampleAdapter). */
typedef struct {
    philox_state *g;
    uint32_t buf[4];
    int used;
} single_sampler;

static uint32_t next_u32(single_sampler *s) {
    if (s->used == 4) {
        philox_next(s->g, s->buf);
        s->used = 0;
    }
    return s->buf[s->used++];
}

/* TruncatedNormal, as TF's FillPhiloxRandomTask for distributions that use
 * a variable number of samples: output group k (4 floats or 2 doubles)
 * starts its own stream at the base counter plus k * 256 blocks and keeps
 * drawing Box-Muller pairs until the group holds values inside 2 stddev. */
static void fill_truncated(const philox_state *base, tg_array *o) {
    const bool f64 = o->dtype == TG_FLOAT64;
    const int group = f64 ? 2 : 4;
    for (int64_t start = 0, k = 0; start < o->size; start += group, k++) {
        philox_state g = *base;
        philox_skip(&g, (uint64_t)k * 256);
        single_sampler s = {&g, {0}, 4};
        double got[4];
        int n = 0;
        while (n < group) {
            double v[2];
            if (f64) {
                uint32_t r[4] = {next_u32(&s), next_u32(&s), next_u32(&s), next_u32(&s)};
                box_muller_f64(r, v);
            } else {
                uint32_t x0 = next_u32(&s), x1 = next_u32(&s);
                box_muller_f32(x0, x1, v);
            }
            for (int j = 0; j < 2 && n < group; j++)
                if (fabs(v[j]) < 2.0) got[n++] = v[j];
        }
        for (int j = 0; j < group && start + j < o->size; j++) store(o, start + j, got[j]);
    }
}

/* ---- ops ----------------------------------------------------------------------- */

typedef enum { UNIFORM, NORMAL, TRUNCATED } dist;

static tg_code random_kernel(tg__kernel_ctx *c, dist d) {
    const tg_array *shp = c->in[0];
    int64_t dims[TG_MAX_RANK];
    /* The shape may be fed, so it is checked again here. */
    if (shp->dtype != TG_INT32 || shp->rank != 1 || shp->size > TG_MAX_RANK)
        return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "shape must be a 1-D int32 tensor of at most %d values",
                               TG_MAX_RANK);
    for (int i = 0; i < shp->size; i++) {
        dims[i] = ((const int32_t *)shp->data)[i];
        if (dims[i] < 0)
            return tg__kernel_fail(c, TG_INVALID_ARGUMENT, "shape has a negative dimension %lld", (long long)dims[i]);
    }
    tg_code rc = tg__out_alloc(c, 0, c->op->outputs[0].dtype, (int)shp->size, dims);
    if (rc != TG_OK) return rc;
    philox_state g = reserve(c, c->out[0]->size);
    if (d == UNIFORM) fill_uniform(&g, c->out[0]);
    else if (d == NORMAL) fill_normal(&g, c->out[0]);
    else fill_truncated(&g, c->out[0]);
    return TG_OK;
}

static tg_code uniform_kernel(tg__kernel_ctx *c) { return random_kernel(c, UNIFORM); }
static tg_code normal_kernel(tg__kernel_ctx *c) { return random_kernel(c, NORMAL); }
static tg_code truncated_kernel(tg__kernel_ctx *c) { return random_kernel(c, TRUNCATED); }

typedef struct {
    random_attrs seeds;
    tg_dtype dtype;
} random_op_attrs;

/* The shape is a Const (static output shape), the output of a Shape op
 * (the static shape of that op's input, as dropout uses), or any int32
 * vector known only at run time. */
static tg_code random_infer(tg__infer_ctx *c) {
    const random_op_attrs *a = c->attrs;
    const tg_tensor *shp = c->in[0];
    const tg_array *v = tg__const_value(shp);
    if (shp->dtype != TG_INT32 || shp->shape.rank != 1 || shp->shape.dims[0] > TG_MAX_RANK)
        return tg__infer_fail(c, TG_INVALID_ARGUMENT, "shape must be a 1-D int32 tensor of at most %d sizes", TG_MAX_RANK);
    c->out[0].dtype = a->dtype;
    if (v) {
        c->out[0].shape.rank = (int)v->size;
        for (int i = 0; i < v->size; i++) c->out[0].shape.dims[i] = ((const int32_t *)v->data)[i];
    } else if (shp->op->def == &tg__op_shape) {
        c->out[0].shape = shp->op->inputs[0]->shape;
    } else {
        c->out[0].shape = TG_SHAPE_UNKNOWN;
        if (shp->shape.dims[0] >= 0) {
            c->out[0].shape.rank = (int)shp->shape.dims[0];
            for (int i = 0; i < c->out[0].shape.rank; i++) c->out[0].shape.dims[i] = -1;
        }
    }
    return TG_OK;
}

#define RANDOM_DEF(var, name, kern)                                                   \
    const tg__op_def var = {                                                          \
        .type = name,                                                                 \
        .n_inputs = 1,                                                                \
        .n_outputs = 1,                                                               \
        .flags = TG__OPF_RANDOM | TG__OPF_STATEFUL | TG__OPF_NOT_DIFFERENTIABLE,      \
        .attr_size = sizeof(random_op_attrs),                                         \
        .state_size = sizeof(philox_state),                                           \
        .infer = random_infer,                                                        \
        .kernel = {[TG_INT32] = kern},                                                \
    }
RANDOM_DEF(tg__op_random_uniform, "RandomUniform", uniform_kernel);
RANDOM_DEF(tg__op_random_standard_normal, "RandomStandardNormal", normal_kernel);
RANDOM_DEF(tg__op_truncated_normal, "TruncatedNormal", truncated_kernel);

/* TF's _truncate_seed: Python's modulo, never negative. */
static int64_t truncate_seed(int64_t seed) {
    const int64_t m = 2147483647;
    return ((seed % m) + m) % m;
}

/* TF's random_seed.get_seed. */
static random_attrs get_seed(tg_graph *g, bool has_op_seed, int64_t op_seed) {
    const int64_t maxint32 = 2147483647;
    bool has_graph_seed;
    int64_t graph_seed = tg__graph_seed(g, &has_graph_seed);
    random_attrs s = {0, 0};
    if (has_graph_seed) {
        if (!has_op_seed) op_seed = g->n_ops; /* TF's graph._last_id */
        s = (random_attrs){truncate_seed(graph_seed), truncate_seed(op_seed)};
    } else if (has_op_seed) {
        s = (random_attrs){87654321, truncate_seed(op_seed)};
    }
    if (has_graph_seed || has_op_seed)
        if (s.seed == 0 && s.seed2 == 0) s.seed2 = maxint32;
    return s;
}

/* The op named after the builder's scope ("random_uniform"), as TF's
 * math_ops.add(..., name=name) inside name_scope(name). */
static tg_tensor *closing_add(tg_graph *g, const char *scope, tg_tensor *x, tg_tensor *y) {
    tg_tensor *in[2] = {x, y};
    tg__op_args a = {.def = &tg__op_add, .name = scope, .exact_name = true, .inputs = in, .n_inputs = 2};
    return tg__out0(tg__add_op(g, &a));
}

/* random_uniform: shape, min, max, RandomUniform, sub, mul, then the add
 * that carries the scope's name; random_normal and truncated_normal: shape,
 * mean, stddev, the generator, mul, add. Same ops and names as TF. */
static tg_tensor *random_builder(tg_graph *g, tg_shape shape, const tg_random_opts *opts, dist d) {
    static const char *const dflt[] = {"random_uniform", "random_normal", "truncated_normal"};
    static const char *const fn[] = {"tg_random_uniform", "tg_random_normal", "tg_truncated_normal"};
    if (!tg__graph_ready(g, NULL, 0)) return NULL;
    tg_random_opts o;
    if (!TG__OPTS_RESOLVE(g, fn[d], tg_random_opts, TG_RANDOM_OPTS_INIT, opts, o)) return NULL;
    const char *who = o.name ? o.name : dflt[d];
    if (o.dtype != TG_FLOAT32 && o.dtype != TG_FLOAT64) {
        tg__fail(g, TG_INVALID_ARGUMENT, "%s: dtype must be float32 or float64, not %s", who, tg_dtype_name(o.dtype));
        return NULL;
    }
    if (tg_shape_num_elements(&shape) < 0 || shape.rank > TG_MAX_RANK) {
        char s[128];
        tg__fail(g, TG_INVALID_ARGUMENT,
                 tg__shape_too_large(&shape) ? "%s: shape %s has too many elements" : "%s: shape %s must be fully defined",
                 who, tg_shape_format(&shape, s, sizeof s));
        return NULL;
    }
    for (int i = 0; i < shape.rank; i++)
        if (shape.dims[i] > INT32_MAX) {
            tg__fail(g, TG_INVALID_ARGUMENT, "%s: dimension %d is too large", who, i);
            return NULL;
        }
    const char *scope;
    int tok = tg__builder_scope(g, o.name, dflt[d], &scope);
    int32_t dims[TG_MAX_RANK];
    for (int i = 0; i < shape.rank; i++) dims[i] = (int32_t)shape.dims[i];
    tg_tensor *shp = tg__const_i32(g, dims, shape.rank, "shape"), *out = NULL;
    if (d == UNIFORM) {
        tg_tensor *lo = tg_constant_scalar(g, o.dtype, o.minval, "min");
        tg_tensor *hi = tg_constant_scalar(g, o.dtype, o.maxval, "max");
        random_op_attrs a = {get_seed(g, o.seed != TG_NO_SEED, o.seed), o.dtype};
        tg_tensor *rnd = tg__simple_op(g, &tg__op_random_uniform, "RandomUniform", &shp, 1, &a);
        tg_tensor *scaled = tg_multiply(g, rnd, tg_subtract(g, hi, lo, "sub"), "mul");
        out = closing_add(g, scope, scaled, lo);
    } else {
        tg_tensor *mean = tg_constant_scalar(g, o.dtype, o.mean, "mean");
        tg_tensor *sd = tg_constant_scalar(g, o.dtype, o.stddev, "stddev");
        random_op_attrs a = {get_seed(g, o.seed != TG_NO_SEED, o.seed), o.dtype};
        const tg__op_def *def = d == NORMAL ? &tg__op_random_standard_normal : &tg__op_truncated_normal;
        tg_tensor *rnd = tg__simple_op(g, def, def->type, &shp, 1, &a);
        tg_tensor *scaled = tg_multiply(g, rnd, sd, "mul");
        out = closing_add(g, scope, scaled, mean);
    }
    tg_scope_pop(g, tok);
    return out;
}

tg_tensor *tg_random_uniform(tg_graph *g, tg_shape shape, const tg_random_opts *opts) {
    return random_builder(g, shape, opts, UNIFORM);
}
tg_tensor *tg_random_normal(tg_graph *g, tg_shape shape, const tg_random_opts *opts) {
    return random_builder(g, shape, opts, NORMAL);
}
tg_tensor *tg_truncated_normal(tg_graph *g, tg_shape shape, const tg_random_opts *opts) {
    return random_builder(g, shape, opts, TRUNCATED);
}

/* A uniform [0, 1) tensor shaped by the int32 vector `shape` (built in
 * the current name scope; used by dropout). */
tg_tensor *tg__random_uniform_t(tg_graph *g, tg_tensor *shape, tg_dtype dtype, int64_t seed) {
    if (!tg__graph_ready(g, &shape, 1)) return NULL;
    random_op_attrs a = {get_seed(g, seed != TG_NO_SEED, seed), dtype};
    return tg__simple_op(g, &tg__op_random_uniform, "RandomUniform", &shape, 1, &a);
}
