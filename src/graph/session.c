/* Sessions: variable values, per-op state, and the executor.
 *
 * A plan is the pruned, ordered list of ops for one (feeds, fetches,
 * targets) combination, with a value slot per tensor. It is built on the
 * first run of that combination and reused: a steady-state run looks the plan
 * up by comparing ids, points the fed slots at the feeds, calls the kernels
 * in order and copies the fetches out, without walking the graph, looking up
 * names or allocating (kernels reuse their slots' buffers). A callable
 * (Session.make_callable) keeps its plan's pointer, so its runs skip even
 * the look-up; plans are never freed before the session, so the pointer
 * stays valid however many plans are added later. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph_internal.h"
#include "session_internal.h"
#include "thread_pool.h"

/* ---- messages ---------------------------------------------------------- */

static tg_code vsfail(tg_session *s, tg_code code, const char *fmt, va_list ap) {
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    tg__log(code, s->msg);
    return code;
}

tg_code tg__session_fail(tg_session *s, tg_code code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsfail(s, code, fmt, ap);
    va_end(ap);
    return code;
}

tg_code tg__kernel_fail(tg__kernel_ctx *c, tg_code code, const char *fmt, ...) {
    char buf[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return tg__session_fail(c->s, code, "%s: %s", c->op->name, buf);
}

/* Each thread's last run, so that concurrent runs of one session each
 * read their own message. */
static _Thread_local struct {
    const tg_session *s;
    char msg[sizeof ((tg_session *)0)->msg];
} last_run;

const char *tg_session_message(const tg_session *s) {
    if (!s) return "session is NULL";
    return last_run.s == s ? last_run.msg : s->msg;
}

bool tg__session_run_begin(tg_session *s) {
    pthread_mutex_lock(&s->run_lock);
    s->msg[0] = '\0';
    if (tg__run_begin(s->g)) return true;
    tg__session_fail(s, TG_FAILED_PRECONDITION,
                     "the graph is being built on another thread; run it once building is done");
    return false;
}

void tg__session_run_end(tg_session *s, bool began) {
    if (began) tg__run_end(s->g);
    last_run.s = s;
    /* the string only: a successful run's message is empty */
    strcpy(last_run.msg, s->msg);
    pthread_mutex_unlock(&s->run_lock);
}

/* ---- kernel helpers ------------------------------------------------------ */

bool tg__in_dead(const tg__kernel_ctx *c, int i) { return c->dead && c->dead[c->in[i] - c->slots]; }

void tg__out_set_dead(tg__kernel_ctx *c, int i) {
    if (c->dead) c->dead[c->out[i] - c->slots] = true;
}

tg_code tg__out_alloc(tg__kernel_ctx *c, int i, tg_dtype dtype, int rank, const int64_t *dims) {
    if (!tg__array_reshape(c->out[i], dtype, rank, dims))
        return tg__kernel_fail(c, TG_RESOURCE_EXHAUSTED, "output %d: shape too large or out of memory", i);
    return TG_OK;
}

bool tg__out_inplace(tg__kernel_ctx *c) {
    tg_array *in = c->in[0];
    bool owned = (in->buf && in->data == in->buf) || c->in_place[in - c->slots];
    if (!c->inplace || !in->data || !owned) return false;
    tg__out_alias(c, 0, in);
    c->in_place[c->out[0] - c->slots] = true;
    return true;
}

void tg__out_alias(tg__kernel_ctx *c, int i, const tg_array *src) {
    tg_array *o = c->out[i];
    o->dtype = src->dtype;
    o->rank = src->rank;
    memcpy(o->dims, src->dims, sizeof o->dims);
    o->size = src->size;
    o->data = src->data;
}

void tg__out_view(tg__kernel_ctx *c, int i, const tg_array *src, int rank, const int64_t *dims) {
    tg_array *o = c->out[i];
    o->dtype = src->dtype;
    o->rank = rank;
    for (int d = 0; d < rank; d++) o->dims[d] = dims[d];
    o->size = src->size;
    o->data = src->data;
}

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t tg__session_entropy(tg_session *s) { return splitmix(&s->entropy); }

void *tg__kernel_op_state(const tg__kernel_ctx *c, int64_t op_id, const tg__op_def *def) {
    const tg_session *s = c->s;
    if (op_id < 0 || op_id >= s->n_op_slots || s->g->ops[op_id]->def != def) return NULL;
    return s->op_state[op_id];
}

int tg__kernel_threads(const tg__kernel_ctx *c) { return tg__pool_threads(c->pool); }

int tg__kernel_chunks(const tg__kernel_ctx *c, int64_t n, int64_t grain) {
    return tg__chunk_count(tg__pool_threads(c->pool), n, grain);
}

void tg__parallel_for(const tg__kernel_ctx *c, int64_t begin, int64_t end, int64_t grain, tg__range_fn fn,
                      void *ctx) {
    tg__pool_for(c->pool, begin, end, grain, fn, ctx);
}

/* ---- lifetime ------------------------------------------------------------- */

tg_session *tg_session_new_opts(tg_graph *g, const tg_session_options *opts) {
    const tg_session_options o = opts ? *opts : (tg_session_options){0};
    if (!g || g->code != TG_OK || o.intra_op_parallelism_threads < 0) return NULL;
    tg_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (pthread_mutex_init(&s->run_lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    /* 0 is TF's "the system picks"; bench/README.md has the measurements
     * behind taking every schedulable CPU. */
    s->threads = o.intra_op_parallelism_threads ? o.intra_op_parallelism_threads : tg__schedulable_cpus();
    if (s->threads > 1 && !(s->pool = tg__pool_new(s->threads))) {
        pthread_mutex_destroy(&s->run_lock);
        free(s);
        return NULL;
    }
    s->g = g;
    tg__graph_ref(g);
    /* Legal in TF (a session made inside a `with`), but in C it almost
     * always means a block was left without its pop: say so, once. */
    char open[1024];
    if (tg__open_scopes_message(g, open, sizeof open)) {
        char msg[1100];
        snprintf(msg, sizeof msg, "tg_session_new: warning: %s", open);
        tg__log_build(TG_FAILED_PRECONDITION, msg);
    }
    /* Unseeded random ops must differ between sessions, as in TF. */
    s->entropy = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)s ^ ((uint64_t)clock() << 32);
    return s;
}

tg_session *tg_session_new(tg_graph *g) { return tg_session_new_opts(g, NULL); }

int tg_session_intra_op_parallelism_threads(const tg_session *s) { return s ? s->threads : 0; }

static void plan_free(plan *p) {
    if (!p) return;
    /* a plan whose slot table could not be allocated has n_slots set */
    for (int i = 0; p->slots && i < p->n_slots; i++)
        if (tg__plan_owns_slot_buffer(p, i)) free(p->slots[i].buf);
    tg__plan_free_buffers(p);
    tg__race_free(p);
    free(p->slots);
    free(p->in_place);
    free(p->steps);
    free(p->ptrs);
    free(p->checks);
    free(p->fetch_vars);
    free(p->order);
    free(p->lint);
    free(p->lint_report);
    free(p->dead);
    free(p->op_dead);
    free(p->skipped);
    free(p->frames);
    free(p->frame_at);
    free(p->step_frame);
    free(p->step_runs);
    free(p->feed_ids);
    free(p->fetch_ids);
    free(p->target_ids);
    free(p);
}

void tg_session_free(tg_session *s) {
    if (!s) return;
    tg__session_free_callables(s);
    for (int i = 0; i < s->n_plans; i++) plan_free(s->plans[i]);
    free(s->plans);
    for (int i = 0; i < s->n_stage; i++) free(s->stage[i].buf);
    free(s->stage);
    for (int i = 0; i < s->n_vars; i++) free(s->vars[i].buf);
    free(s->vars);
    free(s->var_init);
    for (int i = 0; i < s->n_op_slots; i++) {
        if (s->op_state[i] && s->g->ops[i]->def->state_free) s->g->ops[i]->def->state_free(s->op_state[i]);
        free(s->op_state[i]);
    }
    free(s->op_state);
    free(s->run_counts);
    free(s->stats);
    tg__pool_free(s->pool);
    tg_graph_free(s->g);
    pthread_mutex_destroy(&s->run_lock);
    if (last_run.s == s) last_run.s = NULL;
    free(s);
}

int64_t tg_session_op_run_count(const tg_session *s, const tg_op *op) {
    if (!s || !op || op->g != s->g) return -1;
    return op->id < s->n_op_slots ? s->run_counts[op->id] : 0;
}

/* ---- plans ----------------------------------------------------------------- */

/* Fixed storage for each new variable's life: views of it taken by
 * VariableV2 and read ops never dangle. Failing names the variable. */
static tg_code sync_variables(tg_session *s) {
    tg_graph *g = s->g;
    if (g->n_vars <= s->n_vars) return TG_OK;
    tg_array *vars = realloc(s->vars, (size_t)g->n_vars * sizeof *vars);
    if (!vars) return tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory for %d variables", g->n_vars);
    s->vars = vars;
    bool *init = realloc(s->var_init, (size_t)g->n_vars * sizeof *init);
    if (!init) return tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory for %d variables", g->n_vars);
    s->var_init = init;
    for (int i = s->n_vars; i < g->n_vars; i++) {
        const tg_variable *v = g->vars[i];
        memset(&vars[i], 0, sizeof vars[i]);
        init[i] = false;
        if (!tg__array_reshape(&vars[i], v->dtype, v->shape.rank, v->shape.dims)) {
            char shp[128];
            return tg__session_fail(s, TG_RESOURCE_EXHAUSTED,
                                    "out of memory for variable '%s' (%s %s, %lld bytes)", v->name,
                                    tg_dtype_name(v->dtype), tg_shape_format(&v->shape, shp, sizeof shp),
                                    (long long)tg_shape_num_elements(&v->shape) * (long long)tg_dtype_size(v->dtype));
        }
        memset(vars[i].data, 0, tg__array_nbytes(&vars[i]));
        s->n_vars = i + 1;
    }
    return TG_OK;
}

/* Variables and ops may be added to the graph after the session was made;
 * grow the per-variable and per-op tables to the graph's current size. */
static tg_code sync_with_graph(tg_session *s) {
    tg_code rc = sync_variables(s);
    if (rc != TG_OK) return rc;
    tg_graph *g = s->g;
    if (g->n_ops > s->n_op_slots) {
        void **st = realloc(s->op_state, (size_t)g->n_ops * sizeof *st);
        if (!st) return tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
        s->op_state = st;
        int64_t *counts = realloc(s->run_counts, (size_t)g->n_ops * sizeof *counts);
        if (!counts) return tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
        s->run_counts = counts;
        for (int i = s->n_op_slots; i < g->n_ops; i++) {
            st[i] = NULL;
            counts[i] = 0;
        }
        s->n_op_slots = g->n_ops;
    }
    return TG_OK;
}

static int *copy_ids(int n, const int *src) {
    int *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    if (d && n) memcpy(d, src, (size_t)n * sizeof *d);
    return d;
}

static bool same_ids(const int *a, int na, const int *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof *a) == 0);
}

/* TF's spelling of dtypes and shapes in its placeholder error. */
static const char *tf_dtype(tg_dtype d) {
    return d == TG_FLOAT32 ? "float" : d == TG_FLOAT64 ? "double" : tg_dtype_name(d);
}

static void tf_shape(const tg_shape *s, char *buf, size_t n) {
    if (s->rank < 0) {
        snprintf(buf, n, "<unknown>");
        return;
    }
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s->rank && len < n; i++) {
        int w = s->dims[i] < 0 ? snprintf(buf + len, n - len, "%s?", i ? "," : "")
                               : snprintf(buf + len, n - len, "%s%lld", i ? "," : "",
                                          (long long)s->dims[i]);
        len += (size_t)(w > 0 ? w : 0);
    }
    if (len < n) snprintf(buf + len, n - len, "]");
}

static bool is_var_ref(const tg_tensor *t) { return (t->op->def->flags & TG__OPF_VARIABLE) != 0; }

/* An op that writes a variable, or passes its reference on (RefSwitch,
 * RefEnter), through an input whose tensor is fed would write the
 * variable's storage while its reader sees the feed; TF refuses to feed a
 * reference input at all. */
static tg_code check_fed_refs(tg_session *s, const tg_op *op, const char *fed) {
    unsigned fl = op->def->flags;
    bool writes_all = fl & TG__OPF_REF_INPUTS;
    bool writes0 = fl & (TG__OPF_REF_INPUT0 | TG__OPF_REF_INPUTS | TG__OPF_VARIABLE);
    for (int i = 0; i < op->n_inputs; i++) {
        const tg_tensor *t = op->inputs[i];
        if (!(writes_all || (i == 0 && writes0)) || !is_var_ref(t) || !fed[t->id]) continue;
        return tg__session_fail(s, TG_INVALID_ARGUMENT,
                                "%s (%s): input %d is variable '%s' itself, which cannot be fed ('%s' is fed); "
                                "feed the variable's value (its read tensor) or assign the variable instead",
                                op->name, op->def->type, i, t->op->variable->name, t->name);
    }
    return TG_OK;
}

/* TF's FeedInputs: an op whose every output is fed is replaced by the
 * feeds, and a control edge on it is satisfied by them (a placeholder in
 * tg_tuple or tg_group, fed). */
static bool replaced_by_feeds(const tg_op *op, const char *fed) {
    if (op->n_outputs == 0) return false;
    for (int i = 0; i < op->n_outputs; i++)
        if (!fed[op->outputs[i].id]) return false;
    return true;
}

static tg_code build_plan(tg_session *s, const int *feed_ids, int nf, tg_tensor *const *fetches,
                          const int *fetch_ids, int nx, tg_op *const *targets, const int *target_ids,
                          int nt, plan **out) {
    tg_graph *g = s->g;
    tg_code rc = sync_with_graph(s);
    if (rc != TG_OK) return rc;
    plan *p = calloc(1, sizeof *p);
    int *readers = NULL;
    char *needed = calloc((size_t)g->n_ops + 1, 1);
    char *fed = calloc((size_t)g->n_tensors + 1, 1);
    tg_op **stack = malloc(((size_t)g->n_ops + 1) * sizeof *stack);
    if (!p || !needed || !fed || !stack) {
        rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    for (int i = 0; i < nf; i++) fed[feed_ids[i]] = 1;

    /* Mark what the fetches and targets need through data and control
     * inputs; a fed tensor cuts the walk. Each op is pushed at most once. */
    int sp = 0;
    for (int i = 0; i < nx; i++) {
        tg_op *op = fetches[i]->op;
        if (!fed[fetch_ids[i]] && !needed[op->id]) needed[op->id] = 1, stack[sp++] = op;
    }
    for (int i = 0; i < nt; i++)
        if (!needed[target_ids[i]]) needed[target_ids[i]] = 1, stack[sp++] = targets[i];
    while (sp > 0) {
        tg_op *op = stack[--sp];
        for (int i = 0; i < op->n_inputs; i++) {
            const tg_tensor *t = op->inputs[i];
            if (!fed[t->id] && !needed[t->op->id]) needed[t->op->id] = 1, stack[sp++] = t->op;
        }
        for (int i = 0; i < op->n_control; i++)
            if (!needed[op->control[i]->id] && !replaced_by_feeds(op->control[i], fed))
                needed[op->control[i]->id] = 1, stack[sp++] = op->control[i];
    }

    int n_steps = 0, n_ptrs = 0, n_checks = 0, n_scratch = 0;
    bool has_dead = false, has_loops = false;
    for (int id = 0; id < g->n_ops; id++) {
        if (!needed[id]) continue;
        const tg_op *op = g->ops[id];
        has_dead |= (op->def->flags & TG__OPF_SWITCH) != 0;
        has_loops |= tg__op_frame(op) != NULL;
        for (int i = 0; i < op->n_outputs; i++) n_scratch += fed[op->outputs[i].id];
        if (op->def->flags & TG__OPF_PLACEHOLDER) {
            char shp[256];
            tf_shape(&op->outputs[0].shape, shp, sizeof shp);
            rc = tg__session_fail(s, TG_INVALID_ARGUMENT,
                                  "You must feed a value for placeholder tensor '%s' with dtype %s and shape %s",
                                  op->name, tf_dtype(op->outputs[0].dtype), shp);
            goto done;
        }
        if ((rc = check_fed_refs(s, op, fed)) != TG_OK) goto done;
        n_steps++;
        n_ptrs += op->n_inputs + op->n_outputs;
        if (op->def->flags & TG__OPF_REF_INPUTS) n_checks += op->n_inputs;
        n_checks += op->n_inputs;
    }
    /* An op that runs although one of its outputs is fed (a target, or
     * needed through another output or a control edge) writes that output
     * to a scratch slot after the graph's tensors, so the feed stands. */
    p->n_slots = g->n_tensors + n_scratch;
    p->slots = calloc((size_t)p->n_slots + 1, sizeof *p->slots);
    p->in_place = calloc((size_t)p->n_slots + 1, sizeof *p->in_place);
    p->fetch_vars = malloc(((size_t)nx + 1) * sizeof *p->fetch_vars);
    p->order = malloc(((size_t)n_steps + 1) * sizeof *p->order);
    int n_stale;
    p->lint = tg__lint_update_ops(g, needed, &n_stale);
    if (n_stale < 0) {
        rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory writing the UPDATE_OPS check");
        goto done;
    }
    p->steps = calloc((size_t)n_steps + 1, sizeof *p->steps);
    p->ptrs = calloc((size_t)n_ptrs + 1, sizeof *p->ptrs);
    p->checks = calloc((size_t)n_checks + 1, sizeof *p->checks);
    p->feed_ids = copy_ids(nf, feed_ids);
    p->fetch_ids = copy_ids(nx, fetch_ids);
    p->target_ids = copy_ids(nt, target_ids);
    if (has_dead) {
        p->dead = calloc((size_t)p->n_slots + 1, 1);
        p->op_dead = calloc((size_t)g->n_ops + 1, 1);
        p->n_op_ids = g->n_ops;
        p->skipped = calloc((size_t)n_steps + 1, 1);
        if (!p->dead || !p->op_dead || !p->skipped) {
            rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
            goto done;
        }
    }
    if (!p->slots || !p->in_place || !p->steps || !p->ptrs || !p->checks || !p->fetch_vars || !p->order ||
        !p->feed_ids || !p->fetch_ids || !p->target_ids) {
        rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    p->n_feeds = nf;
    p->n_fetches = nx;
    p->n_targets = nt;
    /* Ops are created after their inputs, so creation order is a
     * topological order of the needed subgraph, unless it has loops. */
    if (has_loops) {
        if ((rc = tg__order_frames(s, p, needed, fed, n_steps)) != TG_OK) goto done;
    } else {
        for (int id = 0, j = 0; id < g->n_ops; id++)
            if (needed[id]) p->order[j++] = g->ops[id];
    }
    for (int i = 0; i < nx; i++) {
        const tg_tensor *t = fetches[i];
        p->fetch_vars[i] = is_var_ref(t) && !fed[t->id] ? t->op->variable->id : -1;
    }
    /* readers of each tensor in this run (a fetch counts as one), for the
     * ops that may write over their input */
    readers = calloc((size_t)g->n_tensors + 1, sizeof *readers);
    if (!readers) {
        rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    for (int j = 0; j < n_steps; j++)
        for (int i = 0; i < p->order[j]->n_inputs; i++) readers[p->order[j]->inputs[i]->id]++;
    for (int i = 0; i < nx; i++) readers[fetch_ids[i]] += 2;
    tg_array **ptr = p->ptrs;
    int *chk = p->checks, scratch = g->n_tensors;
    for (int j = 0; j < n_steps; j++) {
        tg_op *op = p->order[j];
        int id = op->id;
        const tg__op_def *def = op->def;
        step *st = &p->steps[p->n_steps++];
        st->op = op;
        tg_dtype kd = op->n_inputs    ? op->inputs[0]->dtype
                      : op->n_outputs ? op->outputs[0].dtype
                                      : TG_FLOAT32;
        st->kernel = def->kernel[kd];
        if (!st->kernel) {
            rc = tg__session_fail(s, TG_UNIMPLEMENTED, "%s: no %s kernel for dtype %s", op->name, def->type,
                                  tg_dtype_name(kd));
            goto done;
        }
        st->in = ptr;
        for (int i = 0; i < op->n_inputs; i++) *ptr++ = &p->slots[op->inputs[i]->id];
        st->out = ptr;
        for (int i = 0; i < op->n_outputs; i++) {
            int id_out = op->outputs[i].id;
            *ptr++ = &p->slots[fed[id_out] ? scratch++ : id_out];
        }
        st->inplace = (def->flags & TG__OPF_INPLACE) && op->n_inputs > 0 && readers[op->inputs[0]->id] == 1 &&
                      !fed[op->inputs[0]->id] && !is_var_ref(op->inputs[0]);
        st->var_id = -1;
        if (def->flags & TG__OPF_VARIABLE) st->var_id = op->variable->id;
        if (def->flags & TG__OPF_REF_INPUT0) st->var_id = op->inputs[0]->op->variable->id;
        if (def->flags & TG__OPF_REF_INPUTS) {
            /* Ids, not pointers: s->vars grows when variables are added
             * after this plan was made. The storage itself is written, fed
             * or not, as for REF_INPUT0. */
            if (op->n_inputs > TG__MAX_REF_INPUTS) {
                rc = tg__session_fail(s, TG_INTERNAL, "%s: more than %d inputs", op->name, TG__MAX_REF_INPUTS);
                goto done;
            }
            st->ref_ids = chk;
            for (int i = 0; i < op->n_inputs; i++)
                *chk++ = is_var_ref(op->inputs[i]) ? op->inputs[i]->op->variable->id : -1;
        }
        st->check_vars = chk;
        for (int i = 0; i < op->n_inputs; i++) {
            const tg_tensor *t = op->inputs[i];
            if (!is_var_ref(t) || (fed[t->id] && !(def->flags & TG__OPF_REF_INPUTS))) continue;
            if (i == 0 && (def->flags & TG__OPF_INIT_REF)) continue;
            *chk++ = t->op->variable->id;
            st->n_check++;
        }
        if (def->state_size && !s->op_state[id]) {
            s->op_state[id] = calloc(1, def->state_size);
            if (!s->op_state[id]) {
                rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
                goto done;
            }
        }
    }
    if (!tg__grow((void **)&s->plans, &s->cap_plans, s->n_plans + 1, sizeof *s->plans) ||
        (s->race_seed ? tg__race_init(p, g->n_ops) : tg__plan_share_buffers(p)) != TG_OK) {
        rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    s->plans[s->n_plans++] = p;
    *out = p;
    p = NULL;
done:
    plan_free(p);
    free(readers);
    free(needed);
    free(fed);
    free(stack);
    return rc;
}

/* ---- running ---------------------------------------------------------------- */

/* The fetch and target checks tg_session_run and tg_session_make_callable
 * share; their feeds come in different layouts. */
tg_code tg__check_fetches_targets(tg_session *s, tg_tensor *const *fetches, int nx, tg_op *const *targets,
                                  int nt) {
    for (int i = 0; i < nx; i++) {
        if (!fetches[i]) return tg__session_fail(s, TG_INVALID_ARGUMENT, "fetch %d is NULL", i);
        if (fetches[i]->op->g != s->g)
            return tg__session_fail(s, TG_INVALID_ARGUMENT, "fetch '%s' is from another graph", fetches[i]->name);
        if (fetches[i]->op->no_fetch) /* TF's prevent_fetching: ops of a cond branch */
            return tg__session_fail(s, TG_INVALID_ARGUMENT, "Operation '%s' has been marked as not fetchable.",
                                    fetches[i]->op->name);
    }
    for (int i = 0; i < nt; i++) {
        if (!targets[i]) return tg__session_fail(s, TG_INVALID_ARGUMENT, "target %d is NULL", i);
        if (targets[i]->g != s->g)
            return tg__session_fail(s, TG_INVALID_ARGUMENT, "target '%s' is from another graph", targets[i]->name);
        if (targets[i]->no_fetch)
            return tg__session_fail(s, TG_INVALID_ARGUMENT, "Operation '%s' has been marked as not fetchable.",
                                    targets[i]->name);
    }
    return TG_OK;
}

static tg_code check_args(tg_session *s, const tg_feed *feeds, int nf, tg_tensor *const *fetches,
                          int nx, tg_array **outputs, tg_op *const *targets, int nt) {
    if (nf < 0 || nx < 0 || nt < 0 || (nf && !feeds) || (nx && (!fetches || !outputs)) ||
        (nt && !targets))
        return tg__session_fail(s, TG_INVALID_ARGUMENT, "tg_session_run: bad argument lists");
    if (nf > TG__MAX_RUN_IDS || nx > TG__MAX_RUN_IDS || nt > TG__MAX_RUN_IDS)
        return tg__session_fail(s, TG_INVALID_ARGUMENT, "tg_session_run: more than %d feeds, fetches or targets",
                                TG__MAX_RUN_IDS);
    for (int i = 0; i < nf; i++) {
        const tg_tensor *t = feeds[i].tensor;
        if (!t || !feeds[i].value) return tg__session_fail(s, TG_INVALID_ARGUMENT, "feed %d is NULL", i);
        if (t->op->g != s->g)
            return tg__session_fail(s, TG_INVALID_ARGUMENT, "feed '%s' is from another graph", t->name);
        /* TF's prevent_feeding: a loop's value is one per iteration */
        if (tg__op_frame(t->op) && !(t->op->def->flags & TG__OPF_EXIT))
            return tg__session_fail(s, TG_INVALID_ARGUMENT, "Tensor %s may not be fed.", t->name);
        for (int j = 0; j < i; j++)
            if (feeds[j].tensor == t)
                return tg__session_fail(s, TG_INVALID_ARGUMENT, "tensor '%s' is fed twice", t->name);
    }
    return tg__check_fetches_targets(s, fetches, nx, targets, nt);
}

static tg_code bind_feeds(tg_session *s, plan *p, const tg_feed *feeds) {
    for (int i = 0; i < p->n_feeds; i++) {
        const tg_tensor *t = feeds[i].tensor;
        const tg_array *v = feeds[i].value;
        if (v->dtype != t->dtype)
            return tg__session_fail(s, TG_INVALID_ARGUMENT,
                                    "Cannot feed value of dtype %s for Tensor '%s', which has dtype %s",
                                    tg_dtype_name(v->dtype), t->name, tg_dtype_name(t->dtype));
        if (!tg__array_matches_shape(v, &t->shape)) {
            char a[128], b[128];
            tg_shape vs = tg_array_shape(v);
            return tg__session_fail(s, TG_INVALID_ARGUMENT,
                                    "Cannot feed value of shape %s for Tensor '%s', which has shape '%s'",
                                    tg_shape_format(&vs, a, sizeof a), t->name,
                                    tg_shape_format(&t->shape, b, sizeof b));
        }
        tg_array *slot = &p->slots[t->id];
        slot->dtype = v->dtype;
        slot->rank = v->rank;
        memcpy(slot->dims, v->dims, sizeof slot->dims);
        slot->size = v->size;
        slot->data = v->data;
    }
    return TG_OK;
}

static tg_code copy_out(const tg_array *src, tg_array **dst) {
    tg_array *a = *dst;
    if (!a) {
        a = calloc(1, sizeof *a);
        if (!a) return TG_RESOURCE_EXHAUSTED;
    }
    if (!tg__array_reshape(a, src->dtype, src->rank, src->dims)) {
        if (!*dst) free(a);
        return TG_RESOURCE_EXHAUSTED;
    }
    memcpy(a->data, src->data, tg__array_nbytes(a));
    *dst = a;
    return TG_OK;
}

static bool output_is_feed(const tg_feed *feeds, int nf, tg_array *const *outputs, int nx) {
    for (int i = 0; i < nx; i++)
        for (int j = 0; outputs[i] && j < nf; j++)
            if (outputs[i] == feeds[j].value) return true;
    return false;
}

/* Copies the fetched slots into the caller's arrays. When an output array
 * is also a feed, slots may point into it, so every value is first staged in
 * session buffers (kept for the next run) before any output is written. */
static tg_code fetch_outputs(tg_session *s, const plan *p, const tg_feed *feeds, int nf,
                             tg_tensor *const *fetches, const int *xid, int nx, tg_array **outputs) {
    const tg_array *src[64];
    const tg_array **from = nx <= 64 ? src : malloc((size_t)nx * sizeof *from);
    if (!from) return tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
    tg_code rc = TG_OK;
    for (int i = 0; i < nx; i++) from[i] = &p->slots[xid[i]];
    if (output_is_feed(feeds, nf, outputs, nx)) {
        if (nx > s->n_stage) {
            tg_array *st = realloc(s->stage, (size_t)nx * sizeof *st);
            if (!st) {
                rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
                goto done;
            }
            memset(st + s->n_stage, 0, (size_t)(nx - s->n_stage) * sizeof *st);
            s->stage = st;
            s->n_stage = nx;
        }
        for (int i = 0; i < nx && rc == TG_OK; i++) {
            tg_array *stage = &s->stage[i];
            if (!tg__array_reshape(stage, from[i]->dtype, from[i]->rank, from[i]->dims))
                rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory staging fetch '%s'", fetches[i]->name);
            else
                memcpy(stage->data, from[i]->data, tg__array_nbytes(stage));
            from[i] = stage;
        }
    }
    for (int i = 0; i < nx && rc == TG_OK; i++)
        if (copy_out(from[i], &outputs[i]) != TG_OK)
            rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory copying fetch '%s'", fetches[i]->name);
done:
    if (from != src) free(from);
    return rc;
}

tg_code tg_session_run(tg_session *s, const tg_feed *feeds, int n_feeds, tg_tensor *const *fetches,
                       int n_fetches, tg_array **outputs, tg_op *const *targets, int n_targets) {
    return tg_session_run_opts(s, feeds, n_feeds, fetches, n_fetches, outputs, targets, n_targets, NULL);
}

/* The cached plan for these ids, or NULL; race mode (s->race_seed) is
 * part of the key, as a race plan shares no buffers. */
static plan *find_plan(tg_session *s, const int *fid, int nf, const int *xid, int nx, const int *tid,
                       int nt) {
    for (int k = 0; k < s->n_plans; k++) {
        int j = (s->last + k) % s->n_plans;
        plan *q = s->plans[j];
        if ((q->race != NULL) == (s->race_seed != 0) && same_ids(q->feed_ids, q->n_feeds, fid, nf) &&
            same_ids(q->fetch_ids, q->n_fetches, xid, nx) && same_ids(q->target_ids, q->n_targets, tid, nt)) {
            s->last = j;
            return q;
        }
    }
    return NULL;
}

tg_code tg__get_plan(tg_session *s, const int *fid, int nf, tg_tensor *const *fetches, const int *xid,
                     int nx, tg_op *const *targets, const int *tid, int nt, plan **out) {
    *out = find_plan(s, fid, nf, xid, nx, tid, nt);
    if (*out) return TG_OK;
    tg_code rc = build_plan(s, fid, nf, fetches, xid, nx, targets, tid, nt, out);
    if (rc == TG_OK) s->last = s->n_plans - 1;
    return rc;
}

/* TF's executor: an op with a dead input or a dead control input does not
 * run and its outputs are dead; a Merge runs when any data input is live. */
static bool step_dead(const plan *p, const step *st) {
    const tg_op *op = st->op;
    if (op->def->flags & TG__OPF_MERGE) {
        for (int i = 0; i < op->n_inputs; i++)
            if (!p->dead[st->in[i] - p->slots]) return false;
        return op->n_inputs > 0;
    }
    for (int i = 0; i < op->n_inputs; i++)
        if (p->dead[st->in[i] - p->slots]) return true;
    /* a control input added after the plan was made is not in it */
    for (int i = 0; i < op->n_control; i++)
        if (op->control[i]->id < p->n_op_ids && p->op_dead[op->control[i]->id]) return true;
    return false;
}

/* tg_run_options.check_numerics: the first NaN or Inf among an op's
 * float outputs, named with the op. */
static int64_t first_bad(const tg_array *a, bool *nan) {
    for (int64_t i = 0; i < a->size; i++) {
        double v = a->dtype == TG_FLOAT32 ? ((const float *)a->data)[i] : ((const double *)a->data)[i];
        if (isnan(v) || isinf(v)) {
            *nan = isnan(v);
            return i;
        }
    }
    return -1;
}

static tg_code check_outputs(tg_session *s, const step *st) {
    for (int i = 0; i < st->op->n_outputs; i++) {
        const tg_array *a = st->out[i];
        if ((a->dtype != TG_FLOAT32 && a->dtype != TG_FLOAT64) || !a->data) continue;
        bool nan = false;
        int64_t at = first_bad(a, &nan);
        if (at >= 0)
            return tg__session_fail(s, TG_INVALID_ARGUMENT, "%s (%s) produced %s in output %d (element %lld of %lld)",
                                    st->op->name, st->op->def->type, nan ? "NaN" : "Inf", i, (long long)at,
                                    (long long)a->size);
    }
    return TG_OK;
}

tg_code tg__run_step(tg_session *s, plan *p, int k, bool trace, int *reached) {
    step *st = &p->steps[k];
    if (k >= *reached) *reached = k + 1;
    if (p->dead && step_dead(p, st)) {
        p->op_dead[st->op->id] = true;
        for (int i = 0; i < st->op->n_outputs; i++) p->dead[st->out[i] - p->slots] = true;
        /* in a loop, a step that ran in an earlier iteration was not skipped */
        if (trace && !(p->step_runs && p->step_runs[k])) p->skipped[k] = true;
        return TG_OK;
    }
    for (int c = 0; c < st->n_check; c++) {
        int v = st->check_vars[c];
        if (!s->var_init[v])
            return tg__session_fail(s, TG_FAILED_PRECONDITION,
                                    "Attempting to use uninitialized value %s (needed by op '%s')",
                                    s->g->vars[v]->name, st->op->name);
    }
    /* live unless the kernel says otherwise (a Switch); in a loop a step
     * may have been dead in an earlier iteration */
    for (int i = 0; p->dead && i < st->op->n_outputs; i++) p->dead[st->out[i] - p->slots] = false;
    tg_array *refs[TG__MAX_REF_INPUTS];
    for (int i = 0; st->ref_ids && i < st->op->n_inputs; i++)
        refs[i] = st->ref_ids[i] >= 0 ? &s->vars[st->ref_ids[i]] : NULL;
    tg__kernel_ctx c = {
        .s = s,
        .op = st->op,
        .attrs = st->op->attrs,
        .in = st->in,
        .n_in = st->op->n_inputs,
        .out = st->out,
        .n_out = st->op->n_outputs,
        .state = s->op_state[st->op->id],
        .var = st->var_id >= 0 ? &s->vars[st->var_id] : NULL,
        .var_initialized = st->var_id >= 0 ? &s->var_init[st->var_id] : NULL,
        .pool = s->pool,
        .refs = refs,
        .dead = p->dead,
        .slots = p->slots,
        .inplace = st->inplace,
        .in_place = p->in_place,
    };
    if (st->inplace) p->in_place[st->out[0] - p->slots] = false;
    int64_t start = 0;
    if (s->stats_on && tg__step_stat_begin(s, p, &start) != TG_OK) return TG_RESOURCE_EXHAUSTED;
    tg__plan_bind_outputs(p, st);
    tg_code rc = st->kernel(&c);
    if (s->stats_on) tg__step_stat_end(s, st->op, start);
    tg_code rv = tg__plan_unbind_outputs(s, p, st);
    if (rc == TG_OK) rc = rv;
    if (rc != TG_OK) {
        if (!s->msg[0]) tg__session_fail(s, rc, "%s: failed", st->op->name);
        return rc;
    }
    s->run_counts[st->op->id]++;
    if (s->check_numerics && (rc = check_outputs(s, st)) != TG_OK) return rc;
    if (trace && p->skipped) p->skipped[k] = false;
    if (trace && p->step_runs) p->step_runs[k]++;
    return TG_OK;
}

/* One run of a plan whose feeds (p->n_feeds of them, in the plan's order)
 * have been checked against it; *steps_run counts the steps reached (run or
 * skipped), trace records which were skipped. */
tg_code tg__run_plan(tg_session *s, plan *p, const tg_feed *feeds, tg_tensor *const *fetches,
                     tg_array **outputs, int *steps_run, bool trace) {
    tg_code rc = tg__race_variant(s, &p, fetches);
    if (rc == TG_OK) rc = bind_feeds(s, p, feeds);
    if (rc != TG_OK) return rc;
    s->ran = p;
    if (p->race) tg__race_shuffle(p, s->race_seed, trace);
    if (p->dead) {
        memset(p->dead, 0, (size_t)p->n_slots);
        memset(p->op_dead, 0, (size_t)p->n_op_ids);
        if (trace) memset(p->skipped, 0, (size_t)p->n_steps);
    }
    if (trace && p->step_runs) memset(p->step_runs, 0, (size_t)p->n_steps * sizeof *p->step_runs);
    if (p->frames) {
        rc = tg__run_frames(s, p, trace, steps_run);
    } else {
        for (int k = 0; k < p->n_steps && rc == TG_OK; k++) rc = tg__run_step(s, p, k, trace, steps_run);
    }
    if (rc != TG_OK) return rc;
    for (int i = 0; p->dead && i < p->n_fetches; i++)
        if (p->dead[p->fetch_ids[i]])
            return tg__session_fail(s, TG_INTERNAL,
                                    "Retval[%d] does not have value (fetch '%s' comes from a cond branch "
                                    "that was not taken)", i, fetches[i]->name);
    for (int i = 0; i < p->n_fetches; i++) {
        int v = p->fetch_vars[i];
        if (v >= 0 && !s->var_init[v])
            return tg__session_fail(s, TG_FAILED_PRECONDITION, "Attempting to use uninitialized value %s",
                                    s->g->vars[v]->name);
    }
    return fetch_outputs(s, p, feeds, p->n_feeds, fetches, p->fetch_ids, p->n_fetches, outputs);
}

static tg_code run_locked(tg_session *s, const tg_feed *feeds, int n_feeds, tg_tensor *const *fetches,
                          int n_fetches, tg_array **outputs, tg_op *const *targets, int n_targets,
                          const tg_run_options *opts);

tg_code tg_session_run_opts(tg_session *s, const tg_feed *feeds, int n_feeds, tg_tensor *const *fetches,
                            int n_fetches, tg_array **outputs, tg_op *const *targets, int n_targets,
                            const tg_run_options *opts) {
    if (!s) return TG_INVALID_ARGUMENT;
    if (!tg__session_run_begin(s)) {
        tg__session_run_end(s, false);
        return TG_FAILED_PRECONDITION;
    }
    tg_code rc = run_locked(s, feeds, n_feeds, fetches, n_fetches, outputs, targets, n_targets, opts);
    tg__session_run_end(s, true);
    return rc;
}

static tg_code run_locked(tg_session *s, const tg_feed *feeds, int n_feeds, tg_tensor *const *fetches,
                          int n_fetches, tg_array **outputs, tg_op *const *targets, int n_targets,
                          const tg_run_options *opts) {
    const tg_run_options o = opts ? *opts : s->defaults;
    int steps_run = 0;
    tg_code rc = check_args(s, feeds, n_feeds, fetches, n_fetches, outputs, targets, n_targets);
    if (rc != TG_OK) return rc;
    /* The plan key: ids in the caller's order (no sorting, no allocation). */
    int feed_ids[64], fetch_ids[64], target_ids[64];
    int *fid = n_feeds <= 64 ? feed_ids : malloc((size_t)n_feeds * sizeof *fid);
    int *xid = n_fetches <= 64 ? fetch_ids : malloc((size_t)n_fetches * sizeof *xid);
    int *tid = n_targets <= 64 ? target_ids : malloc((size_t)n_targets * sizeof *tid);
    plan *p = NULL;
    if (!fid || !xid || !tid) {
        rc = tg__session_fail(s, TG_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_feeds; i++) fid[i] = feeds[i].tensor->id;
    for (int i = 0; i < n_fetches; i++) xid[i] = fetches[i]->id;
    for (int i = 0; i < n_targets; i++) tid[i] = targets[i]->id;
    s->race_seed = o.race_seed; /* tg__note_run puts the defaults' value back */
    rc = tg__get_plan(s, fid, n_feeds, fetches, xid, n_fetches, targets, tid, n_targets, &p);
    s->check_numerics = o.check_numerics;
    s->stats_on = o.step_stats; /* tg__note_run puts the defaults' value back */
    if (rc == TG_OK) rc = tg__run_plan(s, p, feeds, fetches, outputs, &steps_run, o.trace);
    if (p && o.lint && !p->lint_done) tg__session_lint(s, p, fetches, n_fetches, targets, n_targets);
done:
    tg__note_run(s, p, p, &o, steps_run);
    if (fid != feed_ids) free(fid);
    if (xid != fetch_ids) free(xid);
    if (tid != target_ids) free(tid);
    return rc;
}
