/* tf.saved_model.loader.load: saved_model.pb's MetaGraphDef for the tags,
 * imported into the session's graph, its variables restored from
 * variables/variables, its SignatureDefs by key. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "saved_model.pb-c.h"
#include "session_internal.h"

/* saved_model.pb holds the whole graph, constants included; a larger file
 * is refused before it sizes an allocation. */
#define MAX_SAVED_MODEL_BYTES ((long)1 << 30)

typedef struct named_tensor {
    char *key;
    tg_tensor *tensor;
} named_tensor;

struct tg_signature {
    char *key, *method_name;
    named_tensor *inputs, *outputs;
    int n_inputs, n_outputs;
};

struct tg_saved_model {
    tg_signature *sigs;
    int n_sigs;
};

static tg_code err_out(char *err, size_t size, tg_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static tg_code err_out(char *err, size_t size, tg_code code, const char *fmt, ...) {
    if (err && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
    return code;
}

static char *join(const char *dir, const char *file) {
    char *p = malloc(strlen(dir) + strlen(file) + 2);
    if (p) sprintf(p, "%s/%s", dir, file);
    return p;
}

/* The whole file; NULL with the error in err. */
static uint8_t *read_file(const char *path, size_t *len, tg_code *code, char *err, size_t size) {
    FILE *f = fopen(path, "rb");
    if (!f) return *code = err_out(err, size, TG_NOT_FOUND, "SavedModel file does not exist at: %s", path), NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    uint8_t *buf = n >= 0 && n <= MAX_SAVED_MODEL_BYTES ? malloc((size_t)n + 1) : NULL;
    bool ok = buf && fseek(f, 0, SEEK_SET) == 0 && fread(buf, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    if (ok) return *len = (size_t)n, buf;
    free(buf);
    *code = err_out(err, size, n > MAX_SAVED_MODEL_BYTES ? TG_INVALID_ARGUMENT : TG_DATA_LOSS,
                    "%s: cannot read the file (larger than 1 GiB, or a read error)", path);
    return NULL;
}

static bool has_tag(const Tensorflow__MetaGraphDef__MetaInfoDef *info, const char *tag) {
    for (size_t i = 0; info && i < info->n_tags; i++)
        if (strcmp(info->tags[i], tag) == 0) return true;
    return false;
}

/* TF's rule: the MetaGraphDef whose tag set equals the one asked for. */
static bool tags_match(const Tensorflow__MetaGraphDef *mg, const char *const *tags, int n) {
    const Tensorflow__MetaGraphDef__MetaInfoDef *info = mg->meta_info_def;
    for (int i = 0; i < n; i++)
        if (!has_tag(info, tags[i])) return false;
    for (size_t i = 0; info && i < info->n_tags; i++) {
        bool asked = false;
        for (int k = 0; k < n && !asked; k++) asked = strcmp(tags[k], info->tags[i]) == 0;
        if (!asked) return false;
    }
    return true;
}

static void format_tags(char *buf, size_t size, const char *const *tags, size_t n) {
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && at < size; i++) {
        int w = snprintf(buf + at, size - at, "%s%s", i ? "," : "", tags[i]);
        if (w < 0) break;
        at += (size_t)w;
    }
}

static tg_code no_such_tags(const Tensorflow__SavedModel *sm, const char *const *tags, int n, char *err,
                            size_t size) {
    char want[256], avail[512] = "", one[256];
    size_t at = 0;
    format_tags(want, sizeof want, tags, (size_t)n);
    for (size_t i = 0; i < sm->n_meta_graphs && at < sizeof avail; i++) {
        const Tensorflow__MetaGraphDef__MetaInfoDef *info = sm->meta_graphs[i]->meta_info_def;
        format_tags(one, sizeof one, info ? (const char *const *)info->tags : NULL, info ? info->n_tags : 0);
        int w = snprintf(avail + at, sizeof avail - at, "%s'%s'", i ? " " : "", one);
        if (w < 0) break;
        at += (size_t)w;
    }
    return err_out(err, size, TG_NOT_FOUND,
                   "MetaGraphDef associated with tags '%s' could not be found in SavedModel. Available tags: %s",
                   want, avail);
}

static char *dup(const char *s) {
    char *p = malloc(strlen(s) + 1);
    return p ? strcpy(p, s) : NULL;
}

static tg_code fill_tensors(tg_graph *g, const char *sig, Tensorflow__SignatureDef__InputsEntry *const *in, size_t n,
                            named_tensor **out, int *n_out, char *err, size_t size) {
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out) return err_out(err, size, TG_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const Tensorflow__TensorInfo *info = in[i]->value;
        const char *name = info && info->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME ? info->name : "";
        tg_tensor *t = tg_graph_tensor(g, name);
        if (!t)
            return err_out(err, size, TG_INVALID_ARGUMENT, "signature '%s': '%s' names tensor '%s', not in the graph",
                           sig, in[i]->key, name);
        (*out)[i].tensor = t;
        if (!((*out)[i].key = dup(in[i]->key))) return err_out(err, size, TG_RESOURCE_EXHAUSTED, "out of memory");
        *n_out = (int)i + 1;
    }
    return TG_OK;
}

static tg_code fill_signatures(tg_graph *g, const Tensorflow__MetaGraphDef *mg, tg_saved_model *m, char *err,
                               size_t size) {
    m->sigs = calloc(mg->n_signature_def ? mg->n_signature_def : 1, sizeof *m->sigs);
    if (!m->sigs) return err_out(err, size, TG_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < mg->n_signature_def; i++) {
        const Tensorflow__SignatureDef *sd = mg->signature_def[i]->value;
        tg_signature *s = &m->sigs[m->n_sigs++];
        s->key = dup(mg->signature_def[i]->key);
        s->method_name = dup(sd ? sd->method_name : "");
        if (!s->key || !s->method_name) return err_out(err, size, TG_RESOURCE_EXHAUSTED, "out of memory");
        if (!sd) continue;
        /* InputsEntry and OutputsEntry are the same map entry type */
        tg_code rc = fill_tensors(g, s->key, sd->inputs, sd->n_inputs, &s->inputs, &s->n_inputs, err, size);
        if (rc == TG_OK)
            rc = fill_tensors(g, s->key, (Tensorflow__SignatureDef__InputsEntry *const *)sd->outputs, sd->n_outputs,
                              &s->outputs, &s->n_outputs, err, size);
        if (rc != TG_OK) return rc;
    }
    return TG_OK;
}

/* Every imported variable from the checkpoint, by its name (the key
 * tf.train.Saver wrote it under). */
static tg_code restore(tg_session *s, const char *dir, tg_variable **vars, int n, char *err, size_t size) {
    if (n == 0) return TG_OK;
    char *prefix = join(dir, "variables/variables");
    if (!prefix) return err_out(err, size, TG_RESOURCE_EXHAUSTED, "out of memory");
    tg_saver *sv = tg_train_saver_new(s->g, vars, n, NULL);
    tg_code rc = sv ? tg_saver_restore(sv, s, prefix) : tg_graph_status(s->g);
    if (rc != TG_OK) err_out(err, size, rc, "%s", sv ? tg_saver_message(sv) : tg_graph_message(s->g));
    tg_saver_free(sv);
    free(prefix);
    return rc;
}

static tg_code load_meta_graph(tg_session *s, const char *dir, const Tensorflow__MetaGraphDef *mg, tg_saved_model *m,
                               char *err, size_t size) {
    static const Tensorflow__GraphDef empty = TENSORFLOW__GRAPH_DEF__INIT;
    tg_variable **vars = NULL;
    int n_vars = 0;
    tg_code rc = tgi_import(s->g, mg->graph_def ? mg->graph_def : &empty, "", NULL, 0, NULL, 0, NULL, &vars, &n_vars);
    if (rc != TG_OK) return err_out(err, size, rc, "%s", tg_graph_message(s->g));
    rc = restore(s, dir, vars, n_vars, err, size);
    free(vars);
    return rc == TG_OK ? fill_signatures(s->g, mg, m, err, size) : rc;
}

tg_code tg_saved_model_load(tg_session *s, const char *export_dir, const char *const *tags, int n_tags,
                            tg_saved_model **out, char *err, size_t err_size) {
    if (out) *out = NULL;
    if (!s || !export_dir || !out || n_tags < 0 || (n_tags && !tags))
        return err_out(err, err_size, TG_INVALID_ARGUMENT, "tg_saved_model_load: NULL argument or negative count");
    for (int i = 0; i < n_tags; i++)
        if (!tags[i]) return err_out(err, err_size, TG_INVALID_ARGUMENT, "tg_saved_model_load: tag %d is NULL", i);
    char *path = join(export_dir, "saved_model.pb");
    size_t len = 0;
    tg_code rc = TG_RESOURCE_EXHAUSTED;
    uint8_t *bytes = path ? read_file(path, &len, &rc, err, err_size) : NULL;
    free(path);
    if (!bytes) return rc == TG_RESOURCE_EXHAUSTED ? err_out(err, err_size, rc, "out of memory") : rc;
    Tensorflow__SavedModel *sm = tensorflow__saved_model__unpack(NULL, len, bytes);
    free(bytes);
    if (!sm) return err_out(err, err_size, TG_INVALID_ARGUMENT, "%s/saved_model.pb is not a SavedModel", export_dir);
    const Tensorflow__MetaGraphDef *mg = NULL;
    for (size_t i = 0; i < sm->n_meta_graphs && !mg; i++)
        if (tags_match(sm->meta_graphs[i], tags, n_tags)) mg = sm->meta_graphs[i];
    tg_saved_model *m = mg ? calloc(1, sizeof *m) : NULL;
    rc = !mg ? no_such_tags(sm, tags, n_tags, err, err_size)
         : !m ? err_out(err, err_size, TG_RESOURCE_EXHAUSTED, "out of memory")
              : load_meta_graph(s, export_dir, mg, m, err, err_size);
    tensorflow__saved_model__free_unpacked(sm, NULL);
    if (rc == TG_OK) *out = m;
    else tg_saved_model_free(m);
    return rc;
}

const tg_signature *tg_saved_model_signature(const tg_saved_model *m, const char *key) {
    for (int i = 0; m && key && i < m->n_sigs; i++)
        if (strcmp(m->sigs[i].key, key) == 0) return &m->sigs[i];
    return NULL;
}

int tg_saved_model_num_signatures(const tg_saved_model *m) { return m ? m->n_sigs : 0; }
const char *tg_saved_model_signature_key(const tg_saved_model *m, int i) {
    return m && i >= 0 && i < m->n_sigs ? m->sigs[i].key : NULL;
}
const char *tg_signature_method_name(const tg_signature *sig) { return sig ? sig->method_name : NULL; }

static tg_tensor *find(const named_tensor *t, int n, const char *key) {
    for (int i = 0; key && i < n; i++)
        if (strcmp(t[i].key, key) == 0) return t[i].tensor;
    return NULL;
}

tg_tensor *tg_signature_input(const tg_signature *sig, const char *key) {
    return sig ? find(sig->inputs, sig->n_inputs, key) : NULL;
}
tg_tensor *tg_signature_output(const tg_signature *sig, const char *key) {
    return sig ? find(sig->outputs, sig->n_outputs, key) : NULL;
}
int tg_signature_num_inputs(const tg_signature *sig) { return sig ? sig->n_inputs : 0; }
int tg_signature_num_outputs(const tg_signature *sig) { return sig ? sig->n_outputs : 0; }
const char *tg_signature_input_key(const tg_signature *sig, int i) {
    return sig && i >= 0 && i < sig->n_inputs ? sig->inputs[i].key : NULL;
}
const char *tg_signature_output_key(const tg_signature *sig, int i) {
    return sig && i >= 0 && i < sig->n_outputs ? sig->outputs[i].key : NULL;
}

static void free_tensors(named_tensor *t, int n) {
    for (int i = 0; t && i < n; i++) free(t[i].key);
    free(t);
}

void tg_saved_model_free(tg_saved_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_sigs; i++) {
        free(m->sigs[i].key);
        free(m->sigs[i].method_name);
        free_tensors(m->sigs[i].inputs, m->sigs[i].n_inputs);
        free_tensors(m->sigs[i].outputs, m->sigs[i].n_outputs);
    }
    free(m->sigs);
    free(m);
}
