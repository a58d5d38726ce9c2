/* test_threads.c: intra-op parallelism (tg_session_options).
 *
 * A conv + fused batch norm + relu + max pool + avg pool training step, run
 * on sessions with 1, 2, 3 and more threads than images:
 *  - its forward values match a naive double-precision computation written
 *    here, and are the same bits whatever the thread count;
 *  - its gradients agree across thread counts within 1e-5 of their scale
 *    (only Conv2DBackpropFilter sums per-thread partials), and, in float64
 *    on 3 threads, match central finite differences;
 *  - odd sizes (7x5 images, 3 and 70 channels: vector tails, pooling tiles)
 *    and batches smaller than the thread count work;
 *  - sessions start and stop their threads cleanly (the suite runs under
 *    ASan/LSan), and a repeated threaded run allocates nothing (malloc,
 *    calloc and realloc are wrapped, as in test_steady_state.c). */
#define _GNU_SOURCE
#include <sched.h>

#include "tg_alloc_count.h"
#include "tg_check.h"

/* ---- the model -------------------------------------------------------------------- */

typedef struct {
    int n, h, w, c, oc, k; /* images [n, h, w, c], filter [k, k, c, oc] */
} dims;

typedef struct {
    tg_graph *g;
    tg_tensor *x, *f, *scale, *offset; /* placeholders */
    tg_tensor *out, *loss;
    tg_tensor *grads[4]; /* d loss / d x, f, scale, offset */
    tg_array *vals[4];   /* their fed values */
    tg_array *wts;       /* loss = sum(out * wts) */
} model;

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}

/* Values in [lo, hi), distinct with probability ~1 (no pooling ties). */
static tg_array *random_array(tg_dtype dt, int rank, const int64_t *d, uint32_t *s, double lo, double hi)
{
    tg_array *a = tg_array_new(dt, rank, d);
    for (int64_t i = 0; i < tg_array_size(a); i++) {
        double v = lo + (hi - lo) * (double)(rng_next(s) % 1000003) / 1000003.0;
        if (dt == TG_FLOAT32) ((float *)tg_array_data(a))[i] = (float)v;
        else ((double *)tg_array_data(a))[i] = v;
    }
    return a;
}

static tg_pool_opts pool2(void)
{
    return (tg_pool_opts){.ksize = {1, 2, 2, 1}, .strides = {1, 2, 2, 1}, .padding = TG_PADDING_SAME};
}

static tg_pool_opts pool3(void)
{
    return (tg_pool_opts){.ksize = {1, 3, 3, 1}, .padding = TG_PADDING_SAME};
}

/* out = avg_pool3(max_pool2(relu(fused_batch_norm(conv2d(x, f))))). */
static model build(dims d, tg_dtype dt, uint32_t seed)
{
    model m = {.g = tg_graph_new()};
    tg_graph *g = m.g;
    m.x = tg_placeholder(g, dt, TG_SHAPE(d.n, d.h, d.w, d.c), "x");
    m.f = tg_placeholder(g, dt, TG_SHAPE(d.k, d.k, d.c, d.oc), "f");
    m.scale = tg_placeholder(g, dt, TG_SHAPE(d.oc), "scale");
    m.offset = tg_placeholder(g, dt, TG_SHAPE(d.oc), "offset");
    tg_tensor *y = tg_nn_conv2d(g, m.x, m.f, &(tg_conv2d_opts){.padding = TG_PADDING_SAME});
    tg_tensor *bn = NULL;
    tg_nn_fused_batch_norm(g, y, m.scale, m.offset, NULL, NULL, NULL, &bn, NULL, NULL);
    tg_pool_opts p2 = pool2(), p3 = pool3();
    m.out = tg_nn_avg_pool(g, tg_nn_max_pool(g, tg_nn_relu(g, bn, NULL), &p2), &p3);
    tg_shape os = tg_tensor_shape(m.out);
    m.wts = random_array(dt, 4, os.dims, &seed, 0.5, 1.5);
    tg_tensor *w = tg_constant_data(g, dt, os, tg_array_cdata(m.wts), "w");
    m.loss = tg_reduce_sum(g, tg_multiply(g, m.out, w, NULL), NULL);
    tg_tensor *xs[4] = {m.x, m.f, m.scale, m.offset};
    ck_assert_int_eq(tg_gradients(g, &m.loss, 1, xs, 4, m.grads, NULL), TG_OK);
    ck_assert_tg_ok(g);
    m.vals[0] = random_array(dt, 4, (int64_t[]){d.n, d.h, d.w, d.c}, &seed, -1, 1);
    m.vals[1] = random_array(dt, 4, (int64_t[]){d.k, d.k, d.c, d.oc}, &seed, -0.5, 0.5);
    m.vals[2] = random_array(dt, 1, (int64_t[]){d.oc}, &seed, 0.5, 1.5);
    m.vals[3] = random_array(dt, 1, (int64_t[]){d.oc}, &seed, -0.2, 0.2);
    return m;
}

static void model_free(model *m)
{
    for (int i = 0; i < 4; i++) tg_array_free(m->vals[i]);
    tg_array_free(m->wts);
    tg_graph_free(m->g);
}

static tg_session *session(tg_graph *g, int threads)
{
    tg_session *s = tg_session_new_opts(g, &(tg_session_options){.intra_op_parallelism_threads = threads});
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(tg_session_intra_op_parallelism_threads(s), threads);
    return s;
}

/* Runs the step: out[0] = out, out[1] = loss, out[2..5] = the gradients. */
static void run_step(tg_session *s, const model *m, tg_array **out)
{
    tg_feed feeds[4] = {{m->x, m->vals[0]}, {m->f, m->vals[1]}, {m->scale, m->vals[2]}, {m->offset, m->vals[3]}};
    tg_tensor *fetch[6] = {m->out, m->loss, m->grads[0], m->grads[1], m->grads[2], m->grads[3]};
    tg_code rc = tg_session_run(s, feeds, 4, fetch, 6, out, NULL, 0);
    ck_assert_msg(rc == TG_OK, "run failed: %s", tg_session_message(s));
}

static double at(const tg_array *a, int64_t i) { return tg_array_get(a, i); }

/* ---- the naive reference forward pass, in double ------------------------------ */

/* The model's out for m's fed values, into ref (its element count). */
static void reference_forward(dims d, const model *m, double *ref)
{
    const tg_array *x = m->vals[0], *f = m->vals[1];
    int64_t P = (int64_t)d.n * d.h * d.w, pad = (d.k - 1) / 2;
    double *y = calloc((size_t)(P * d.oc), sizeof *y);
    ck_assert_ptr_nonnull(y);
    for (int b = 0; b < d.n; b++)
        for (int i = 0; i < d.h; i++)
            for (int j = 0; j < d.w; j++)
                for (int o = 0; o < d.oc; o++) {
                    double s = 0;
                    for (int ky = 0; ky < d.k; ky++)
                        for (int kx = 0; kx < d.k; kx++)
                            for (int c = 0; c < d.c; c++) {
                                int64_t ii = i + ky - pad, jj = j + kx - pad;
                                if (ii < 0 || ii >= d.h || jj < 0 || jj >= d.w) continue;
                                s += at(x, ((b * d.h + ii) * d.w + jj) * d.c + c) *
                                     at(f, ((ky * d.k + kx) * d.c + c) * d.oc + o);
                            }
                    y[((b * d.h + i) * d.w + j) * d.oc + o] = s;
                }
    for (int o = 0; o < d.oc; o++) { /* batch norm with the biased batch variance, then relu */
        double mean = 0, var = 0;
        for (int64_t p = 0; p < P; p++) mean += y[p * d.oc + o];
        mean /= (double)P;
        for (int64_t p = 0; p < P; p++) var += (y[p * d.oc + o] - mean) * (y[p * d.oc + o] - mean);
        var /= (double)P;
        double a = at(m->vals[2], o) / sqrt(var + 0.001), b = at(m->vals[3], o);
        for (int64_t p = 0; p < P; p++) {
            double v = (y[p * d.oc + o] - mean) * a + b;
            y[p * d.oc + o] = v > 0 ? v : 0;
        }
    }
    /* max pool 2x2 stride 2 SAME: windows [2i, 2i + 2) clipped (no padding before) */
    int ph = (d.h + 1) / 2, pw = (d.w + 1) / 2;
    double *mp = calloc((size_t)d.n * ph * pw * d.oc, sizeof *mp);
    ck_assert_ptr_nonnull(mp);
    for (int b = 0; b < d.n; b++)
        for (int i = 0; i < ph; i++)
            for (int j = 0; j < pw; j++)
                for (int o = 0; o < d.oc; o++) {
                    double best = -INFINITY;
                    for (int ii = 2 * i; ii < 2 * i + 2 && ii < d.h; ii++)
                        for (int jj = 2 * j; jj < 2 * j + 2 && jj < d.w; jj++)
                            best = fmax(best, y[((b * d.h + ii) * d.w + jj) * d.oc + o]);
                    mp[((b * ph + i) * pw + j) * d.oc + o] = best;
                }
    /* avg pool 3x3 stride 1 SAME: the mean of the valid part of each window */
    for (int b = 0; b < d.n; b++)
        for (int i = 0; i < ph; i++)
            for (int j = 0; j < pw; j++)
                for (int o = 0; o < d.oc; o++) {
                    double s = 0;
                    int cnt = 0;
                    for (int ii = i - 1; ii <= i + 1; ii++)
                        for (int jj = j - 1; jj <= j + 1; jj++)
                            if (ii >= 0 && ii < ph && jj >= 0 && jj < pw)
                                s += mp[((b * ph + ii) * pw + jj) * d.oc + o], cnt++;
                    ref[((b * ph + i) * pw + j) * d.oc + o] = s / cnt;
                }
    free(mp);
    free(y);
}

/* ---- comparisons ------------------------------------------------------------------ */

static void assert_same_bits(const tg_array *a, const tg_array *b, const char *what, int threads)
{
    ck_assert_int_eq(tg_array_size(a), tg_array_size(b));
    ck_assert_msg(memcmp(tg_array_cdata(a), tg_array_cdata(b), tg_array_nbytes(a)) == 0,
                  "%s differs between 1 and %d threads", what, threads);
}

/* max |a - b| <= tol * max |b|: relative to the tensor's scale, so elements
 * near zero do not turn rounding into a failure. */
static void assert_close_rel(const tg_array *a, const tg_array *b, double tol, const char *what, int threads)
{
    ck_assert_int_eq(tg_array_size(a), tg_array_size(b));
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < tg_array_size(b); i++) {
        worst = fmax(worst, fabs(at(a, i) - at(b, i)));
        scale = fmax(scale, fabs(at(b, i)));
    }
    ck_assert_msg(scale > 0, "%s is all zeros", what);
    ck_assert_msg(worst <= tol * scale, "%s: 1 vs %d threads differ by %g (scale %g)", what, threads, worst, scale);
}

static const char *const NAMES[6] = {"out", "loss", "dx", "dfilter", "dscale", "doffset"};

/* Runs the step on 1 thread and on each of `counts`, checking the forward
 * pass against the reference and the other counts against 1 thread. */
static void check_thread_counts(dims d, tg_dtype dt, const int *counts, int n_counts)
{
    model m = build(d, dt, 12345u + (uint32_t)d.n);
    double tol = dt == TG_FLOAT32 ? 2e-4 : 1e-10;
    tg_array *base[6] = {0};
    tg_session *s1 = session(m.g, 1);
    run_step(s1, &m, base);
    tg_session_free(s1);

    int64_t n_out = tg_array_size(base[0]);
    double *ref = malloc((size_t)n_out * sizeof *ref);
    ck_assert_ptr_nonnull(ref);
    reference_forward(d, &m, ref);
    for (int64_t i = 0; i < n_out; i++) ck_assert_close(at(base[0], i), ref[i], tol * (1 + fabs(ref[i])));
    free(ref);
    for (int i = 2; i < 6; i++) { /* every gradient reaches something */
        double norm = 0;
        for (int64_t k = 0; k < tg_array_size(base[i]); k++) norm += fabs(at(base[i], k));
        ck_assert_msg(norm > 0, "%s is all zeros", NAMES[i]);
    }

    for (int t = 0; t < n_counts; t++) {
        tg_array *got[6] = {0};
        tg_session *s = session(m.g, counts[t]);
        run_step(s, &m, got);
        run_step(s, &m, got); /* a second run on the same buffers gives the same */
        tg_session_free(s);
        assert_same_bits(got[0], base[0], NAMES[0], counts[t]);
        assert_same_bits(got[1], base[1], NAMES[1], counts[t]);
        for (int i = 2; i < 6; i++) assert_close_rel(got[i], base[i], 1e-5, NAMES[i], counts[t]);
        for (int i = 0; i < 6; i++) tg_array_free(got[i]);
    }
    for (int i = 0; i < 6; i++) tg_array_free(base[i]);
    model_free(&m);
}

/* ---- tests ------------------------------------------------------------------------- */

START_TEST(test_options)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(2), "x");
    tg_tensor *y = tg_multiply(g, x, x, NULL);
    ck_assert_tg_ok(g);

    ck_assert_ptr_null(tg_session_new_opts(NULL, NULL));
    ck_assert_ptr_null(tg_session_new_opts(g, &(tg_session_options){.intra_op_parallelism_threads = -1}));
    ck_assert_int_eq(tg_session_intra_op_parallelism_threads(NULL), 0);

    /* 0 and NULL: the CPUs this process may run on */
    cpu_set_t set;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    int cpus = CPU_COUNT(&set);
    tg_session *s0 = tg_session_new_opts(g, &(tg_session_options){0});
    tg_session *sn = tg_session_new_opts(g, NULL);
    tg_session *sd = tg_session_new(g);
    ck_assert_int_eq(tg_session_intra_op_parallelism_threads(s0), cpus);
    ck_assert_int_eq(tg_session_intra_op_parallelism_threads(sn), cpus);
    ck_assert_int_eq(tg_session_intra_op_parallelism_threads(sd), cpus);
    tg_session_free(s0);
    tg_session_free(sn);
    tg_session_free(sd);

    /* sessions start and stop their threads, with and without running */
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){2}, (float[]){3, -4});
    for (int i = 0; i < 20; i++) {
        tg_session *s = session(g, 1 + i % 6);
        if (i % 2) {
            tg_array *out = NULL;
            ck_assert_int_eq(tg_session_run(s, &(tg_feed){x, xv}, 1, &y, 1, &out, NULL, 0), TG_OK);
            ck_assert_float_eq(((float *)tg_array_data(out))[1], 16.0f);
            tg_array_free(out);
        }
        tg_session_free(s);
    }
    tg_array_free(xv);

    /* a graph in error gives no session, whatever the options */
    tg_nn_conv2d(g, x, x, &(tg_conv2d_opts){.padding = TG_PADDING_SAME});
    ck_assert_int_ne(tg_graph_status(g), TG_OK);
    ck_assert_ptr_null(tg_session_new_opts(g, &(tg_session_options){.intra_op_parallelism_threads = 2}));
    tg_graph_free(g);
}
END_TEST

START_TEST(test_same_results_on_1_2_3_threads)
{
    const int counts[2] = {2, 3};
    /* odd sizes: 7x5 images, 3 input channels, 5 output channels */
    check_thread_counts((dims){.n = 6, .h = 7, .w = 5, .c = 3, .oc = 5, .k = 3}, TG_FLOAT32, counts, 2);
    /* 70 channels: more than one pooling tile, vector tails; 5x5 filter */
    check_thread_counts((dims){.n = 5, .h = 9, .w = 8, .c = 4, .oc = 70, .k = 5}, TG_FLOAT32, counts, 2);
    /* mnist_cnn's first layer on 4 images: large enough that the batch
     * norm statistics, the normalization and the pooling rows are split
     * over the threads too (small ops run on one thread) */
    dims first = {.n = 4, .h = 28, .w = 28, .c = 1, .oc = 32, .k = 5};
    check_thread_counts(first, TG_FLOAT32, counts, 2);
    check_thread_counts(first, TG_FLOAT64, counts, 2);
}
END_TEST

START_TEST(test_batch_smaller_than_threads)
{
    check_thread_counts((dims){.n = 1, .h = 6, .w = 7, .c = 2, .oc = 3, .k = 3}, TG_FLOAT32, (const int[]){3, 8}, 2);
    check_thread_counts((dims){.n = 2, .h = 5, .w = 5, .c = 3, .oc = 4, .k = 3}, TG_FLOAT32, (const int[]){3, 5}, 2);
    check_thread_counts((dims){.n = 2, .h = 28, .w = 28, .c = 1, .oc = 32, .k = 5}, TG_FLOAT32, (const int[]){4}, 1);
}
END_TEST

/* float64 on 3 threads: every gradient against central finite differences. */
START_TEST(test_gradients_match_finite_differences)
{
    dims d = {.n = 3, .h = 5, .w = 4, .c = 2, .oc = 3, .k = 3};
    model m = build(d, TG_FLOAT64, 777u);
    tg_session *s = session(m.g, 3);
    tg_array *out[6] = {0};
    run_step(s, &m, out);
    tg_feed feeds[4] = {{m.x, m.vals[0]}, {m.f, m.vals[1]}, {m.scale, m.vals[2]}, {m.offset, m.vals[3]}};
    double worst = 0;
    for (int v = 0; v < 4; v++) {
        double *p = tg_array_data(m.vals[v]);
        for (int64_t k = 0; k < tg_array_size(m.vals[v]); k++) {
            double keep = p[k], h = 1e-6 * fmax(1, fabs(keep)), f[2];
            for (int side = 0; side < 2; side++) {
                p[k] = keep + (side ? -h : h);
                tg_array *l = NULL;
                ck_assert_int_eq(tg_session_run(s, feeds, 4, &m.loss, 1, &l, NULL, 0), TG_OK);
                f[side] = at(l, 0);
                tg_array_free(l);
            }
            p[k] = keep;
            double num = (f[0] - f[1]) / (2 * h), ana = at(out[2 + v], k);
            worst = fmax(worst, fabs(num - ana) / fmax(1, fmax(fabs(num), fabs(ana))));
        }
    }
    ck_assert_msg(worst < 1e-6, "worst relative error %g", worst);
    for (int i = 0; i < 6; i++) tg_array_free(out[i]);
    tg_session_free(s);
    model_free(&m);
}
END_TEST

/* MaxPoolGradGrad and AvgPoolGrad (second-order and direct use) on 3
 * threads give the same bits as on 1, over a batch of 7. */
START_TEST(test_pool_gradient_ops_on_threads)
{
    uint32_t seed = 99u;
    tg_graph *g = tg_graph_new();
    tg_array *xv = random_array(TG_FLOAT32, 4, (int64_t[]){7, 9, 7, 66}, &seed, -1, 1);
    tg_array *gv = random_array(TG_FLOAT32, 4, (int64_t[]){7, 9, 7, 66}, &seed, -1, 1);
    tg_tensor *x = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(7, 9, 7, 66), tg_array_cdata(xv), NULL);
    tg_tensor *gx = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(7, 9, 7, 66), tg_array_cdata(gv), NULL);
    tg_pool_opts p = {.ksize = {1, 3, 3, 1}, .strides = {1, 2, 2, 1}, .padding = TG_PADDING_SAME};
    tg_tensor *y = tg_nn_max_pool(g, x, &p);
    tg_tensor *gg = tg_nn_max_pool_grad_grad(g, x, y, gx, &p);
    tg_tensor *ag = tg_nn_avg_pool_grad(g, tg_shape_of(g, x, NULL), gg, &p);
    tg_tensor *mg = tg_nn_max_pool_grad(g, x, y, gg, &p);
    ck_assert_tg_ok(g);
    tg_tensor *fetch[3] = {gg, ag, mg};
    tg_array *one[3] = {0}, *three[3] = {0};
    tg_session *s1 = session(g, 1), *s3 = session(g, 3);
    ck_assert_int_eq(tg_session_run(s1, NULL, 0, fetch, 3, one, NULL, 0), TG_OK);
    ck_assert_int_eq(tg_session_run(s3, NULL, 0, fetch, 3, three, NULL, 0), TG_OK);
    for (int i = 0; i < 3; i++) assert_same_bits(three[i], one[i], tg_op_type(tg_tensor_op(fetch[i])), 3);
    /* Independent spot check: MaxPoolGradGrad routes gx from the first
     * maximum of each 3x3 window (stride 2, SAME pads 1 before) of x. */
    const float *xs = tg_array_cdata(xv), *gs = tg_array_cdata(gv);
    for (int b = 0; b < 7; b += 3)
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 4; j++)
                for (int c = 0; c < 66; c += 13) {
                    float best = 0, val = 0;
                    bool any = false;
                    for (int ii = 2 * i - 1; ii <= 2 * i + 1; ii++)
                        for (int jj = 2 * j - 1; jj <= 2 * j + 1; jj++) {
                            if (ii < 0 || ii >= 9 || jj < 0 || jj >= 7) continue;
                            int64_t o = ((b * 9 + ii) * 7 + jj) * 66 + c;
                            if (!any || xs[o] > best) best = xs[o], val = gs[o], any = true;
                        }
                    ck_assert_float_eq(((const float *)tg_array_cdata(one[0]))[((b * 5 + i) * 4 + j) * 66 + c], val);
                }
    for (int i = 0; i < 3; i++) tg_array_free(one[i]), tg_array_free(three[i]);
    tg_session_free(s1);
    tg_session_free(s3);
    tg_array_free(xv);
    tg_array_free(gv);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_threaded_runs_allocate_nothing)
{
    dims d = {.n = 5, .h = 8, .w = 7, .c = 3, .oc = 6, .k = 3};
    model m = build(d, TG_FLOAT32, 4242u);
    tg_session *s = session(m.g, 3);
    tg_array *out[6] = {0};
    run_step(s, &m, out); /* the first run makes the plan and the buffers */
    tg_feed feeds[4] = {{m.x, m.vals[0]}, {m.f, m.vals[1]}, {m.scale, m.vals[2]}, {m.offset, m.vals[3]}};
    tg_tensor *fetch[6] = {m.out, m.loss, m.grads[0], m.grads[1], m.grads[2], m.grads[3]};
    /* No ck_assert inside the loop: Check's assertions allocate too. */
    int failed = 0;
    atomic_store(&tga_allocations, 0);
    for (int i = 0; i < 50; i++) failed += tg_session_run(s, feeds, 4, fetch, 6, out, NULL, 0) != TG_OK;
    long during = atomic_load(&tga_allocations);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(during, 0);
    for (int i = 0; i < 6; i++) tg_array_free(out[i]);
    tg_session_free(s);
    model_free(&m);
}
END_TEST


/* ---- determinism (issue 12) -------------------------------------------------------- */

/* A small CNN (conv + batch norm + relu, dropout, dense) trained with Adam
 * for 5 steps from a fixed graph seed: returns the losses and, packed, the
 * final values of every global variable. */
typedef struct trained {
    double loss[5];
    double *vars;
    int64_t n_vars;
} trained;

static trained train_seeded(int threads)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_random_seed(g, 1234);
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(6, 8, 8, 1), "x");
    tg_tensor *y = tg_placeholder(g, TG_INT32, TG_SHAPE(6), "y");
    TG_OPTS(tg_layers_conv2d_opts, co, .normalizer_fn = tg_layers_batch_norm_fn);
    tg_tensor *h = tg_layers_conv2d(g, x, 4, TG_KERNEL(3, 3), &co);
    TG_OPTS(tg_dropout_opts, dro, .rate = 0.25);
    h = tg_nn_dropout(g, tg_layers_flatten(g, h, NULL), &dro);
    TG_OPTS(tg_layers_fc_opts, fo, .activation_fn = NULL);
    tg_tensor *logits = tg_layers_fully_connected(g, h, 10, &fo);
    tg_tensor *loss = tg_losses_sparse_softmax_cross_entropy(g, y, logits, NULL);
    tg_op **ups = NULL;
    int nu = tg_get_collection_ops(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &ups);
    tg_op *train = NULL;
    TG_WITH_CONTROL_DEPENDENCIES(g, ups, nu)
    {
        train = tg_optimizer_minimize(tg_train_adam_optimizer_new(g, 0.01, NULL), loss, NULL);
    }
    tg_free(ups);
    tg_op *init = tg_global_variables_initializer(g);
    ck_assert_tg_ok(g);
    tg_session *s = session(g, threads);
    tgc_run_target(s, init);
    trained t = {0};
    for (int step = 0; step < 5; step++) {
        uint32_t st = 99; /* one batch, so that the loss must fall */
        tg_array *xa = random_array(TG_FLOAT32, 4, (int64_t[]){6, 8, 8, 1}, &st, -1, 1);
        int32_t labels[6];
        for (int i = 0; i < 6; i++) labels[i] = (int32_t)(rng_next(&st) % 10);
        tg_array *ya = tg_array_new_from(TG_INT32, 1, (int64_t[]){6}, labels), *l = NULL;
        tg_feed f[2] = {{x, xa}, {y, ya}};
        ck_assert_int_eq(tg_session_run(s, f, 2, &loss, 1, &l, &train, 1), TG_OK);
        t.loss[step] = tg_array_get(l, 0);
        tg_array_free(l);
        tg_array_free(xa);
        tg_array_free(ya);
    }
    tg_variable **vars = NULL;
    int nv = tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vars);
    for (int i = 0; i < nv; i++) {
        tg_tensor *v = tg_variable_value(vars[i]);
        tg_array *a = tgc_fetch(s, v, NULL, 0);
        t.vars = realloc(t.vars, (size_t)(t.n_vars + tg_array_size(a)) * sizeof *t.vars);
        for (int64_t k = 0; k < tg_array_size(a); k++) t.vars[t.n_vars++] = tg_array_get(a, k);
        tg_array_free(a);
    }
    tg_free(vars);
    tg_session_free(s);
    tg_graph_free(g);
    return t;
}

/* With a fixed seed two trainings give the same bits, on one thread and on
 * two. (One against two threads differs in the last bits: the filter
 * gradient's per-thread partial sums are added in another grouping; see
 * tg_session_options.) */
START_TEST(test_seeded_training_is_bit_identical)
{
    for (int threads = 1; threads <= 2; threads++) {
        trained a = train_seeded(threads), b = train_seeded(threads);
        ck_assert_int_gt(a.n_vars, 100);
        ck_assert_int_eq(a.n_vars, b.n_vars);
        for (int i = 0; i < 5; i++) ck_assert_msg(a.loss[i] == b.loss[i], "%d threads: loss %d differs", threads, i);
        ck_assert_msg(a.loss[4] < a.loss[0], "the model does not learn");
        for (int64_t k = 0; k < a.n_vars; k++)
            ck_assert_msg(a.vars[k] == b.vars[k], "%d threads: variable value %lld differs", threads, (long long)k);
        free(a.vars);
        free(b.vars);
    }
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("intra_op");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_options);
    tcase_add_test(tc, test_same_results_on_1_2_3_threads);
    tcase_add_test(tc, test_batch_smaller_than_threads);
    tcase_add_test(tc, test_gradients_match_finite_differences);
    tcase_add_test(tc, test_pool_gradient_ops_on_threads);
    tcase_add_test(tc, test_threaded_runs_allocate_nothing);
    tcase_add_test(tc, test_seeded_training_is_bit_identical);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(threads_suite)
