/* variable_reuse: the two errors of TF 1.x variable sharing, and the fix.
 *
 *     def model(x):
 *         with tf.variable_scope("model"):
 *             w = tf.get_variable("w", [2, 2])
 *             return tf.matmul(x, w)
 *     train_logits = model(x)
 *     eval_logits = model(x)      # ValueError: Variable model/w already exists
 *
 *     with tf.variable_scope("model", reuse=True):
 *         tf.get_variable("v", [2])  # ValueError: Variable model/v does not exist
 *
 * A variable scope creates variables unless told to reuse them; reuse=True
 * only finds existing ones. Building the second tower under
 * variable_scope(..., reuse=True) (or AUTO_REUSE) shares the weights: two
 * towers, one variable. */
#include "teach.h"

static tg_tensor *model(tg_graph *g, tg_tensor *x, tg_reuse reuse) {
    tg_tensor *out = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "model", &(tg_variable_scope_opts){.reuse = reuse}) {
        tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2, 2), NULL);
        out = tg_matmul(g, x, tg_variable_value(w), NULL);
    }
    return out;
}

int main(void) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2), "x");
    model(g, x, TG_REUSE_INHERIT);
    model(g, x, TG_REUSE_INHERIT);
    printf("building the model twice:\n  %s\n", tg_graph_message(g));
    tg_graph_free(g);

    g = tg_graph_new();
    TG_WITH_VARIABLE_SCOPE(g, "model", &(tg_variable_scope_opts){.reuse = TG_REUSE_TRUE}) {
        tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2), NULL);
    }
    printf("reuse=True for a variable never created:\n  %s\n", tg_graph_message(g));
    tg_graph_free(g);

    g = tg_graph_new();
    x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2), "x");
    tg_tensor *train_logits = model(g, x, TG_REUSE_INHERIT);
    tg_tensor *eval_logits = model(g, x, TG_REUSE_TRUE);
    tg_variable **vars = NULL;
    int n = tg_trainable_variables(g, &vars);
    printf("fixed (second tower under reuse=True): %s; towers '%s' and '%s' share %d trainable variable%s: %s\n",
           tg_graph_status(g) == TG_OK ? "built" : tg_graph_message(g), tg_tensor_name(train_logits),
           tg_tensor_name(eval_logits), n, n == 1 ? "" : "s", n > 0 ? tg_variable_name(vars[0]) : "-");
    tg_free(vars);
    teach_draw(g, NULL, 0, "variable_reuse.png");
    tg_graph_free(g);
    return n != 1;
}
