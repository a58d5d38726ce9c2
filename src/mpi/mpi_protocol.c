/* The header exchange every collective starts with (include/tgraph/mpi.h,
 * "Failures"). MPI itself has no way to say "I will not come": a rank that
 * fails before a collective, or runs another one, leaves its peers blocked
 * in MPI or reading a mismatched buffer. So each collective first
 * allgathers one fixed-size header per rank (status, op name hash, kind,
 * dtype, sizes); since the headers are alike whatever the op, any two ranks'
 * exchanges match, every rank reads the same table, and every rank reaches
 * the same verdict: move the data, or fail. A rank leaving (tg_mpi_finalize)
 * sends "leaving" headers until every rank is leaving, so whoever still
 * waits in a collective is answered. Cost: one MPI_Allgather of
 * TG__MPI_HDR int64s per rank per collective. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

static int64_t fnv1a(const void *p, size_t n, uint64_t h) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211u;
    return (int64_t)h;
}

#define TG__FNV_OFFSET 14695981039346656037u

int64_t tg__mpi_shape_hash(const tg_array *a, int from) {
    uint64_t h = TG__FNV_OFFSET;
    int64_t rank = a->rank;
    h = (uint64_t)fnv1a(&rank, sizeof rank, h);
    for (int d = from; d < a->rank; d++) h = (uint64_t)fnv1a(&a->dims[d], sizeof a->dims[d], h);
    return (int64_t)h;
}

void tg__mpi_header(int64_t h[TG__MPI_HDR], const tg__kernel_ctx *c, tg__mpi_kind kind, tg_dtype dtype,
                    int64_t count, int64_t rows, int64_t shape_hash, int64_t root) {
    const char *name = tg_op_name(c->op);
    memset(h, 0, TG__MPI_HDR * sizeof *h);
    h[TG__MPI_H_STATUS] = TG__MPI_OK;
    h[TG__MPI_H_NAME] = fnv1a(name, strlen(name), TG__FNV_OFFSET);
    h[TG__MPI_H_KIND] = (int64_t)kind * TG_DTYPE_COUNT + dtype;
    h[TG__MPI_H_COUNT] = count;
    h[TG__MPI_H_ROWS] = rows;
    h[TG__MPI_H_SHAPE] = shape_hash;
    h[TG__MPI_H_ROOT] = root;
}

/* What rank q's header r says against rank 0's header h0, in words for a
 * message (NULL: they agree). Every rank computes the same answer. */
static const char *disagreement(const int64_t *h0, const int64_t *r, char *buf, size_t n) {
    if (r[TG__MPI_H_STATUS] == TG__MPI_LEAVING) return "has left (tg_mpi_finalize) before joining this collective";
    if (r[TG__MPI_H_STATUS] != TG__MPI_OK) return "failed before this collective (its own run says why)";
    if (r[TG__MPI_H_NAME] != h0[TG__MPI_H_NAME])
        return "runs another collective than rank 0 at this point: ranks must build and run their collectives in "
               "the same order (race mode needs the same race_seed on every rank)";
    if (r[TG__MPI_H_KIND] != h0[TG__MPI_H_KIND]) {
        snprintf(buf, n, "has dtype %s, rank 0 %s", tg_dtype_name((tg_dtype)(r[TG__MPI_H_KIND] % TG_DTYPE_COUNT)),
                 tg_dtype_name((tg_dtype)(h0[TG__MPI_H_KIND] % TG_DTYPE_COUNT)));
        return buf;
    }
    if (r[TG__MPI_H_COUNT] != h0[TG__MPI_H_COUNT] || r[TG__MPI_H_SHAPE] != h0[TG__MPI_H_SHAPE]) {
        snprintf(buf, n, "has %lld elements (of a row, for an allgather) or another shape than rank 0's %lld: "
                 "shapes must agree", (long long)r[TG__MPI_H_COUNT], (long long)h0[TG__MPI_H_COUNT]);
        return buf;
    }
    if (r[TG__MPI_H_ROOT] != h0[TG__MPI_H_ROOT]) {
        snprintf(buf, n, "has root rank %lld, rank 0 %lld", (long long)r[TG__MPI_H_ROOT],
                 (long long)h0[TG__MPI_H_ROOT]);
        return buf;
    }
    return NULL;
}

tg_code tg__mpi_agree(tg__kernel_ctx *c, const tg__mpi_world *w, int64_t h[TG__MPI_HDR]) {
    int err = MPI_Allgather(h, TG__MPI_HDR, MPI_INT64_T, w->table, TG__MPI_HDR, MPI_INT64_T, w->comm);
    if (err != MPI_SUCCESS) return tg__mpi_call_failed(c, "MPI_Allgather (header)", err);
    bool failed_here = h[TG__MPI_H_STATUS] != TG__MPI_OK;
    char buf[160];
    for (int q = 0; q < w->size; q++) {
        const char *why = disagreement(w->table, w->table + (size_t)q * TG__MPI_HDR, buf, sizeof buf);
        if (!why) continue;
        if (failed_here) return TG_FAILED_PRECONDITION;
        return tg__kernel_fail(c, TG_FAILED_PRECONDITION, "%s: rank %d %s (this is rank %d of %d)",
                               tg_op_type(c->op), q, why, w->rank, w->size);
    }
    return TG_OK;
}

tg_code tg__mpi_confirm(tg__kernel_ctx *c, const tg__mpi_world *w, bool failed) {
    int mine = failed, any = 0;
    int err = MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, w->comm);
    if (err != MPI_SUCCESS) return tg__mpi_call_failed(c, "MPI_Allreduce (confirmation)", err);
    if (!any) return TG_OK;
    if (failed) return TG_FAILED_PRECONDITION;
    return tg__kernel_fail(c, TG_FAILED_PRECONDITION, "%s: another rank failed after the header exchange (its own "
                           "run says why; this is rank %d of %d)", tg_op_type(c->op), w->rank, w->size);
}

int tg__mpi_leave(const tg__mpi_world *w) {
    int64_t h[TG__MPI_HDR] = {[TG__MPI_H_STATUS] = TG__MPI_LEAVING, [TG__MPI_H_KIND] = TG__MPI_LEAVE};
    for (;;) {
        int err = MPI_Allgather(h, TG__MPI_HDR, MPI_INT64_T, w->table, TG__MPI_HDR, MPI_INT64_T, w->comm);
        if (err != MPI_SUCCESS) return err;
        bool all = true;
        for (int q = 0; q < w->size; q++)
            all &= w->table[(size_t)q * TG__MPI_HDR + TG__MPI_H_STATUS] == TG__MPI_LEAVING;
        if (all) return MPI_SUCCESS;
    }
}

MPI_Datatype tg__mpi_type(tg_dtype dtype) {
    switch (dtype) {
    case TG_FLOAT32: return MPI_FLOAT;
    case TG_FLOAT64: return MPI_DOUBLE;
    case TG_INT32: return MPI_INT32_T;
    case TG_INT64: return MPI_INT64_T;
    case TG_BOOL: return MPI_C_BOOL;
    default: return MPI_DATATYPE_NULL;
    }
}

void tg__mpi_scratch_free(void *state) { free(((tg__mpi_scratch *)state)->buf); }

void *tg__mpi_scratch_get(tg__mpi_scratch *s, size_t bytes) {
    if (bytes <= s->cap) return s->buf;
    void *p = realloc(s->buf, bytes);
    if (!p) return NULL;
    s->buf = p;
    s->cap = bytes;
    return p;
}

char *tg__mpi_default_name(tg_graph *g, const char *prefix, const tg_tensor *x) {
    const char *tn = tg_tensor_name(x);
    size_t np = strlen(prefix), nt = strlen(tn);
    char *s = malloc(np + nt + 1);
    if (!s) {
        tg__fail(g, TG_RESOURCE_EXHAUSTED, "%s: out of memory", prefix);
        return NULL;
    }
    memcpy(s, prefix, np);
    for (size_t i = 0; i < nt; i++) {
        char ch = tn[i];
        bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        s[np + i] = keep ? ch : '_';
    }
    s[np + nt] = '\0';
    return s;
}
