/* Nodes of op types (or dtypes) tgraph lacks. TF's import needs the OpDef
 * of every node; tgraph has none for these, so such a node gets a def of
 * its own, with the node's TF type, as many outputs as the GraphDef uses,
 * and a kernel that fails. The graph imports whole and a run that never
 * executes the node (its consumers fed, as a serving model's input parser)
 * works, which is what TF users do with ParseExample inputs. */
#include <stdio.h>
#include <string.h>

#include "import_internal.h"

typedef struct unsupported_attrs {
    const char *node;   /* the node's name in the GraphDef */
    const char *reason; /* NULL: the op type; else e.g. "dtype DT_STRING" */
    const tg__out_info *outs;
} unsupported_attrs;

static tg_code unsupported_infer(tg__infer_ctx *c) {
    const unsupported_attrs *a = c->attrs;
    for (int i = 0; i < c->n_out; i++) c->out[i] = a->outs[i];
    return TG_OK;
}

static tg_code unsupported_kernel(tg__kernel_ctx *c) {
    const unsupported_attrs *a = c->attrs;
    const char *type = tg_op_type(c->op);
    if (a->reason)
        return tg__kernel_fail(c, TG_UNIMPLEMENTED, "op type %s (node %s) with %s is not supported by tgraph", type,
                               a->node, a->reason);
    return tg__kernel_fail(c, TG_UNIMPLEMENTED, "op type %s (node %s) is not supported by tgraph", type, a->node);
}

static void unsupported_format(const void *attrs, tg__strbuf *out) {
    const unsupported_attrs *a = attrs;
    tg__strbuf_printf(out, "unsupported%s%s", a->reason ? ": " : "", a->reason ? a->reason : "");
}

static const tg__op_def UNSUPPORTED_TEMPLATE = {
    .n_inputs = -1,
    .n_outputs = -1,
    /* stateful: never merged with a look-alike or evaluated at build time */
    .flags = TG__OPF_STATEFUL | TG__OPF_NOT_DIFFERENTIABLE,
    .attr_size = sizeof(unsupported_attrs),
    .infer = unsupported_infer,
    .kernel = {unsupported_kernel, unsupported_kernel, unsupported_kernel, unsupported_kernel, unsupported_kernel},
    .format_attrs = unsupported_format,
};

/* The dtype of output i from the attrs TF's ops name it by: one type for
 * all outputs ("T", "dtype", ...), or a type list as long as the outputs
 * (ParseExample's Tdense when it has only dense outputs). float32 when
 * nothing says, or for a dtype tgraph lacks: no value ever flows out of
 * the node, so the dtype only types its consumers at build time. */
static tg_dtype output_dtype(const Tensorflow__NodeDef *n, int i, int n_out) {
    static const char *const single[] = {"T", "dtype", "out_type", "Tout", "DstT"};
    tg_dtype d = TG_FLOAT32;
    for (size_t k = 0; k < sizeof single / sizeof single[0]; k++) {
        const Tensorflow__AttrValue *v = tgi_attr(n, single[k]);
        if (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TYPE) {
            tgi_dtype_from_tf(v->type, &d);
            return d;
        }
    }
    for (size_t k = 0; k < n->n_attr; k++) {
        const Tensorflow__AttrValue *v = n->attr[k]->value;
        if (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && v->list->n_type == (size_t)n_out)
            return tgi_dtype_from_tf(v->list->type[i], &d) ? d : TG_FLOAT32;
    }
    return d;
}

/* TF writes each output's shape in "_output_shapes" when asked
 * (add_shapes=True); unknown otherwise. */
static tg_shape output_shape(const Tensorflow__NodeDef *n, int i) {
    const Tensorflow__AttrValue *v = tgi_attr(n, "_output_shapes");
    tg_shape s = TG_SHAPE_UNKNOWN;
    char err[64];
    if (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && (size_t)i < v->list->n_shape &&
        !tgi_shape_from_proto(v->list->shape[i], &s, err, sizeof err))
        s = TG_SHAPE_UNKNOWN;
    return s;
}

static int output_count(const tgi_node_ctx *c) {
    const Tensorflow__AttrValue *v = tgi_attr(c->node, "_output_shapes");
    int n = c->n_used_outputs;
    if (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && v->list->n_shape > (size_t)n)
        n = (int)v->list->n_shape;
    return n;
}

bool tgi_is_unsupported(const tg_op *op) { return tg__op_def_of(op)->infer == unsupported_infer; }

tg_op *tgi_unsupported_node(tgi_node_ctx *c, const char *reason) {
    tg__op_def *def = tg__graph_alloc(c->g, sizeof *def);
    char *type = def ? tg__graph_alloc(c->g, strlen(c->node->op) + 1) : NULL;
    char *node = type ? tg__graph_alloc(c->g, strlen(c->node->name) + 1) : NULL;
    int n_out = output_count(c);
    tg__out_info *outs = node ? tg__graph_alloc(c->g, (size_t)(n_out ? n_out : 1) * sizeof *outs) : NULL;
    char *why = outs && reason ? tg__graph_alloc(c->g, strlen(reason) + 1) : NULL;
    if (!outs || (reason && !why)) {
        tg_graph_fail(c->g, TG_RESOURCE_EXHAUSTED, "tg_import_graph_def: node %s: out of memory", c->node->name);
        return NULL;
    }
    *def = UNSUPPORTED_TEMPLATE;
    def->type = strcpy(type, c->node->op);
    for (int i = 0; i < n_out; i++) outs[i] = (tg__out_info){output_dtype(c->node, i, n_out), output_shape(c->node, i)};
    unsupported_attrs a = {strcpy(node, c->node->name), why ? strcpy(why, reason) : NULL, outs};
    tg__op_args args = {.def = def, .name = c->name, .inputs = c->in, .n_inputs = c->n_in, .attrs = &a,
                        .n_outputs = n_out};
    return tg__add_op(c->g, &args);
}
