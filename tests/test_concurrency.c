/* test_concurrency.c: session.h's concurrency contract. Runs of one session
 * from several threads each get their own results and messages; sessions
 * made and freed on several threads share a graph safely; building a graph
 * while a session runs it is refused with an error. Also built with
 * ThreadSanitizer by scripts/test.sh. */
#include <pthread.h>
#include <stdatomic.h>

#include "tg_check.h"

enum { RUNS = 400, THREADS = 4 };

typedef struct shared {
    tg_session *s;
    tg_tensor *x, *y; /* y = (x * 2 + 1) . ones: a matmul and elementwise ops */
    atomic_int msg_mismatch;
} shared;

typedef struct worker {
    shared *sh;
    int id;
} worker;

static tg_tensor *model(tg_graph *g, tg_tensor *x)
{
    float ones[64];
    for (int i = 0; i < 64; i++) ones[i] = 1;
    tg_tensor *w = tg_constant_data(g, TG_FLOAT32, TG_SHAPE(64, 1), ones, "w");
    tg_tensor *h = tg_add(g, tg_multiply(g, x, tg_constant_scalar(g, TG_FLOAT32, 2, NULL), NULL),
                          tg_constant_scalar(g, TG_FLOAT32, 1, NULL), NULL);
    return tg_matmul(g, h, w, NULL);
}

/* Thread `id` feeds rows of value id + k and expects 64 * (2 (id + k) + 1);
 * every third run it feeds a wrong shape and expects its own error. */
static void *runner(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    float xv[2 * 64];
    int bad = 0;
    for (int k = 0; k < RUNS; k++) {
        bool wrong = k % 3 == 2;
        for (int i = 0; i < 2 * 64; i++) xv[i] = (float)(w->id + k % 7);
        tg_array *xa = wrong ? tg_array_new_from(TG_FLOAT32, 1, (int64_t[]){64}, xv)
                             : tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){2, 64}, xv);
        tg_feed f = {sh->x, xa};
        tg_array *out = NULL;
        tg_code rc = tg_session_run(sh->s, &f, 1, &sh->y, 1, &out, NULL, 0);
        const char *msg = tg_session_message(sh->s);
        if (wrong) {
            bad += rc != TG_INVALID_ARGUMENT;
            if (!strstr(msg, "Cannot feed value of shape (64,)")) atomic_fetch_add(&sh->msg_mismatch, 1);
        } else {
            double want = 64.0 * (2.0 * (w->id + k % 7) + 1.0);
            bad += rc != TG_OK || tg_array_get(out, 0) != want || tg_array_get(out, 1) != want;
            if (msg[0] != '\0') atomic_fetch_add(&sh->msg_mismatch, 1);
        }
        tg_array_free(out);
        tg_array_free(xa);
    }
    return (void *)(intptr_t)bad;
}

START_TEST(test_runs_from_several_threads)
{
    tg_set_log_callback(NULL, NULL);
    tg_graph *g = tg_graph_new();
    shared sh = {0};
    sh.x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 64), "x");
    sh.y = model(g, sh.x);
    ck_assert_tg_ok(g);
    sh.s = tg_session_new(g);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){&sh, i};
        ck_assert_int_eq(pthread_create(&t[i], NULL, runner, &w[i]), 0);
    }
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)(intptr_t)r;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(atomic_load(&sh.msg_mismatch), 0);
    tg_session_free(sh.s);
    tg_graph_free(g);
    tg_set_log_callback(tg_log_stderr, NULL);
}
END_TEST

static void *sessions_churn(void *arg)
{
    tg_graph *g = arg;
    tg_tensor *y = tg_graph_tensor(g, "y:0");
    int bad = 0;
    for (int k = 0; k < RUNS; k++) {
        tg_session *s = tg_session_new(g);
        tg_array *out = NULL;
        bad += !s || tg_session_run(s, NULL, 0, &y, 1, &out, NULL, 0) != TG_OK || tg_array_get(out, 0) != 7;
        tg_array_free(out);
        tg_session_free(s);
    }
    return (void *)(intptr_t)bad;
}

/* Issue 12 #3: the graph's reference count under sessions made and freed on
 * several threads (a plain int counted twice and freed the graph twice). */
START_TEST(test_sessions_on_several_threads)
{
    tg_graph *g = tg_graph_new();
    tg_add(g, tg_constant_scalar(g, TG_FLOAT32, 3, NULL), tg_constant_scalar(g, TG_FLOAT32, 4, NULL), "y");
    ck_assert_tg_ok(g);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, sessions_churn, g), 0);
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)(intptr_t)r;
    }
    ck_assert_int_eq(bad, 0);
    /* the threads' references are all gone: one more session and the graph
     * itself free cleanly (ASan / LSan would report otherwise) */
    tg_session *s = tg_session_new(g);
    ck_assert_ptr_nonnull(s);
    tg_graph_free(g);
    tg_session_free(s);
}
END_TEST

/* A run held inside a Print op's callback while another thread builds. */
typedef struct held {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool inside, release;
} held;

static void hold_print(const char *text, void *user)
{
    held *h = user;
    (void)text;
    pthread_mutex_lock(&h->mu);
    h->inside = true;
    pthread_cond_broadcast(&h->cv);
    while (!h->release) pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

typedef struct held_run {
    tg_session *s;
    tg_tensor *y;
    tg_code rc;
} held_run;

static void *run_once(void *arg)
{
    held_run *r = arg;
    tg_array *out = NULL;
    r->rc = tg_session_run(r->s, NULL, 0, &r->y, 1, &out, NULL, 0);
    tg_array_free(out);
    return NULL;
}

START_TEST(test_build_while_running_is_refused)
{
    tg_set_log_callback(NULL, NULL);
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 2, "x");
    tg_tensor *y = tg_print(g, x, &x, 1, NULL);
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    held h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};
    tg_session_set_print_callback(s, hold_print, &h);
    held_run r = {s, y, TG_INTERNAL};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, run_once, &r), 0);
    pthread_mutex_lock(&h.mu);
    while (!h.inside) pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    /* the run is in progress: building is refused, and says why */
    ck_assert_ptr_null(tg_add(g, x, x, "late"));
    ck_assert_tg_code(g, TG_FAILED_PRECONDITION);
    ck_assert_str_contains(tg_graph_message(g), "a session is running this graph on another thread");
    ck_assert_ptr_null(tg_graph_op(g, "late"));
    pthread_mutex_lock(&h.mu);
    h.release = true;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    pthread_join(t, NULL);
    ck_assert_int_eq(r.rc, TG_OK);
    tg_session_free(s);
    tg_graph_free(g);
    tg_set_log_callback(tg_log_stderr, NULL);
}
END_TEST

/* Issue 12 #11: feeding a variable's reference to an op that writes the
 * variable used to skip the initialization check and write the variable's
 * storage (zeros + 1), ignoring the feed. */
START_TEST(test_fed_variable_reference_is_refused)
{
    tg_set_log_callback(NULL, NULL);
    tg_graph *g = tg_graph_new();
    TG_OPTS(tg_get_variable_opts, vo, .initializer = tg_ones_initializer());
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SCALAR, &vo);
    tg_tensor *inc = tg_assign_add(g, tg_variable_ref(v), tg_constant_scalar(g, TG_FLOAT32, 1, NULL), "inc");
    ck_assert_tg_ok(g);
    tg_session *s = tg_session_new(g);
    tg_array *five = tg_array_scalar_f32(5), *out = NULL;
    tg_feed f = {tg_variable_ref(v), five};
    ck_assert_int_eq(tg_session_run(s, &f, 1, &inc, 1, &out, NULL, 0), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_session_message(s), "inc (AssignAdd): input 0 is variable 'v' itself, which cannot "
                                                  "be fed");
    /* the variable was not touched: still uninitialized */
    tg_tensor *val = tg_variable_value(v);
    ck_assert_int_eq(tg_session_run(s, NULL, 0, &val, 1, &out, NULL, 0), TG_FAILED_PRECONDITION);
    /* feeding the value a reader reads is fine */
    tg_tensor *twice = tg_multiply(g, val, tg_constant_scalar(g, TG_FLOAT32, 2, NULL), NULL);
    tg_feed fv = {val, five};
    ck_assert_int_eq(tg_session_run(s, &fv, 1, &twice, 1, &out, NULL, 0), TG_OK);
    ck_assert_double_eq(tg_array_get(out, 0), 10);
    tg_array_free(out);
    tg_array_free(five);
    tg_session_free(s);
    tg_graph_free(g);
    tg_set_log_callback(tg_log_stderr, NULL);
}
END_TEST

static Suite *concurrency_suite(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("concurrency");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_runs_from_several_threads);
    tcase_add_test(tc, test_sessions_on_several_threads);
    tcase_add_test(tc, test_build_while_running_is_refused);
    tcase_add_test(tc, test_fed_variable_reference_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(concurrency_suite)
