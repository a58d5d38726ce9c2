/* inspect_checkpoint: TensorFlow's inspect_checkpoint tool
 * (python -m tensorflow.python.tools.inspect_checkpoint) for V2 checkpoints,
 * on tgraph/checkpoint.h.
 *
 *   inspect_checkpoint PREFIX                 each tensor: "name (DT_FLOAT) [2,3]",
 *                                             TF's BundleReader::DebugString lines
 *   inspect_checkpoint --tensor NAME PREFIX   "tensor_name:  NAME" and its values
 *   inspect_checkpoint --all PREFIX           every tensor's name and values
 *
 * TF's spellings --file_name=PREFIX, --tensor_name=NAME and --all_tensors
 * work too. Values print nested by dimension, as NumPy prints them, with
 * full precision (%.9g for float32, %.17g for float64). Exit status 0, or 1
 * with TF's error message on stderr, 2 for a bad command line. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgraph.h"

/* TF's DataType_Name for each DataType number (types.proto). */
static const char *const proto_names[] = {
    "DT_INVALID", "DT_FLOAT",    "DT_DOUBLE",  "DT_INT32",  "DT_UINT8",   "DT_INT16",    "DT_INT8",    "DT_STRING",
    "DT_COMPLEX64", "DT_INT64",  "DT_BOOL",    "DT_QINT8",  "DT_QUINT8",  "DT_QINT32",   "DT_BFLOAT16", "DT_QINT16",
    "DT_QUINT16", "DT_UINT16",   "DT_COMPLEX128", "DT_HALF", "DT_RESOURCE", "DT_VARIANT", "DT_UINT32",  "DT_UINT64"};

typedef struct args {
    const char *prefix, *tensor;
    bool all;
} args;

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--tensor NAME | --all] PREFIX\n"
                    "       %s --file_name=PREFIX [--tensor_name=NAME] [--all_tensors]\n", argv0, argv0);
    return 2;
}

static bool parse(int argc, char **argv, args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--tensor") && i + 1 < argc) a->tensor = argv[++i];
        else if (!strncmp(s, "--tensor_name=", 14)) a->tensor = s + 14;
        else if (!strncmp(s, "--file_name=", 12)) a->prefix = s + 12;
        else if (!strcmp(s, "--all") || !strcmp(s, "--all_tensors")) a->all = true;
        else if (s[0] != '-' && !a->prefix) a->prefix = s;
        else return false;
    }
    return a->prefix && !(a->all && a->tensor);
}

/* "[2,3]" as TF's TensorShape::DebugString writes it ("[]" for a scalar). */
static void print_shape(const tg_checkpoint_var *v)
{
    putchar('[');
    for (int d = 0; d < v->rank; d++) printf(d ? ",%" PRId64 : "%" PRId64, v->dims[d]);
    putchar(']');
}

static void print_element(const tg_array *a, int64_t i)
{
    switch (tg_array_dtype(a)) {
    case TG_FLOAT32: printf("%.9g", (double)((const float *)tg_array_cdata(a))[i]); break;
    case TG_FLOAT64: printf("%.17g", ((const double *)tg_array_cdata(a))[i]); break;
    case TG_INT32: printf("%" PRId32, ((const int32_t *)tg_array_cdata(a))[i]); break;
    case TG_INT64: printf("%" PRId64, ((const int64_t *)tg_array_cdata(a))[i]); break;
    default: printf(((const bool *)tg_array_cdata(a))[i] ? "True" : "False"); break;
    }
}

/* The elements of dimension d onward starting at element *i, bracketed per
 * dimension; a new line after each row of a matrix or more. */
static void print_values(const tg_array *a, int d, int64_t *i)
{
    int rank = tg_array_rank(a);
    if (d == rank) {
        print_element(a, (*i)++);
        return;
    }
    putchar('[');
    for (int64_t k = 0, n = tg_array_dim(a, d); k < n; k++) {
        if (k > 0) printf(d + 1 < rank ? "\n%*s" : " ", d + 1 < rank ? d + 1 : 0, "");
        print_values(a, d + 1, i);
    }
    putchar(']');
}

static int print_tensor(const tg_checkpoint_reader *r, const char *name)
{
    char err[1024];
    tg_array *a;
    if (tg_checkpoint_reader_load(r, name, &a, err, sizeof err) != TG_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("tensor_name:  %s\n", name);
    int64_t i = 0;
    print_values(a, 0, &i);
    putchar('\n');
    tg_array_free(a);
    return 0;
}

int main(int argc, char **argv)
{
    args a = {0};
    if (!parse(argc, argv, &a)) return usage(argv[0]);
    char err[1024];
    tg_checkpoint_reader *r;
    if (tg_checkpoint_reader_open(a.prefix, &r, err, sizeof err) != TG_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int status = 0;
    const tg_checkpoint_var *v = tg_checkpoint_reader_vars(r);
    if (a.tensor) status = print_tensor(r, a.tensor);
    for (int i = 0; !a.tensor && i < tg_checkpoint_reader_count(r); i++) {
        if (a.all) {
            status |= print_tensor(r, v[i].name);
            continue;
        }
        printf("%s (%s) ", v[i].name, proto_names[v[i].tf_dtype]);
        print_shape(&v[i]);
        putchar('\n');
    }
    tg_checkpoint_reader_free(r);
    return status;
}
