/* test_scopes.c: name scopes, variable scopes and the scope stack.
 *
 * Covers name-scope nesting ("a/b/op"), re-entry with a trailing '/',
 * uniquified scope names (shared with op names), resetting to the root;
 * scope-stack tokens, an outer pop repairing inner blocks, TG_WITH_* blocks
 * left by break/return/goto (popped), tg_graph_check_scopes, the sticky
 * FAILED_PRECONDITION for a stale token; variable scopes: names, their
 * name scopes, independence from name scopes, reuse inheritance (a child
 * cannot turn reuse off), AUTO_REUSE, re-entry by name ("net/w" but ops
 * "net_1/..."), default_name uniquification with TF's counter reset, and
 * the two TF errors of tf.variable_scope without a name. */
#include "tg_check.h"

static const char *op_name_of(tg_tensor *t)
{
    return t ? tg_op_name(tg_tensor_op(t)) : "(null)";
}

/* ---- name scopes ------------------------------------------------------------- */

START_TEST(test_name_scope_nesting)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    ck_assert_str_eq(tg_graph_name_scope(g), "");
    int ta = tg_name_scope_push(g, "a");
    ck_assert_str_eq(tg_graph_name_scope(g), "a/");
    int tb = tg_name_scope_push(g, "b");
    ck_assert_str_eq(tg_graph_name_scope(g), "a/b/");
    tg_tensor *op = tg_identity(g, x, "op");
    tg_tensor *dflt = tg_identity(g, x, NULL);
    tg_scope_pop(g, tb);
    ck_assert_str_eq(tg_graph_name_scope(g), "a/");
    tg_tensor *op2 = tg_identity(g, x, "op");
    tg_scope_pop(g, ta);
    ck_assert_str_eq(tg_graph_name_scope(g), "");
    tg_tensor *op3 = tg_identity(g, x, "op");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name_of(op), "a/b/op");
    ck_assert_str_eq(op_name_of(dflt), "a/b/Identity");
    ck_assert_str_eq(op_name_of(op2), "a/op");
    ck_assert_str_eq(op_name_of(op3), "op");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_name_scope_uniquified)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "net");
    TG_WITH_NAME_SCOPE(g, "loss") { ck_assert_str_eq(tg_graph_name_scope(g), "loss/"); }
    TG_WITH_NAME_SCOPE(g, "loss") { ck_assert_str_eq(tg_graph_name_scope(g), "loss_1/"); }
    /* scope and op names share one namespace, case-insensitively */
    TG_WITH_NAME_SCOPE(g, "net") { ck_assert_str_eq(tg_graph_name_scope(g), "net_1/"); }
    TG_WITH_NAME_SCOPE(g, "LOSS") { ck_assert_str_eq(tg_graph_name_scope(g), "LOSS_2/"); }
    tg_tensor *op = tg_identity(g, x, "loss");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name_of(op), "loss_3");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_name_scope_reenter)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_tensor *a_x = NULL, *a_y = NULL, *a_x1 = NULL, *ab_z = NULL, *a1 = NULL;
    TG_WITH_NAME_SCOPE(g, "a")
    {
        a_x = tg_identity(g, x, "x");
        TG_WITH_NAME_SCOPE(g, "b") { (void)0; }
    }
    TG_WITH_NAME_SCOPE(g, "a/")
    {
        ck_assert_str_eq(tg_graph_name_scope(g), "a/");
        a_y = tg_identity(g, x, "y");
        a_x1 = tg_identity(g, x, "x");
    }
    /* a trailing '/' is absolute, even from inside another scope */
    TG_WITH_NAME_SCOPE(g, "c")
    {
        TG_WITH_NAME_SCOPE(g, "a/b/")
        {
            ck_assert_str_eq(tg_graph_name_scope(g), "a/b/");
            ab_z = tg_identity(g, x, "z");
        }
        ck_assert_str_eq(tg_graph_name_scope(g), "c/");
    }
    TG_WITH_NAME_SCOPE(g, "a") { a1 = tg_identity(g, x, "x"); }
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name_of(a_x), "a/x");
    ck_assert_str_eq(op_name_of(a_y), "a/y");
    ck_assert_str_eq(op_name_of(a_x1), "a/x_1");
    ck_assert_str_eq(op_name_of(ab_z), "a/b/z");
    ck_assert_str_eq(op_name_of(a1), "a_1/x");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_name_scope_reset_to_root)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_tensor *z1 = NULL, *z2 = NULL;
    TG_WITH_NAME_SCOPE(g, "a")
    {
        TG_WITH_NAME_SCOPE(g, NULL)
        {
            ck_assert_str_eq(tg_graph_name_scope(g), "");
            z1 = tg_identity(g, x, "z");
        }
        TG_WITH_NAME_SCOPE(g, "")
        {
            ck_assert_str_eq(tg_graph_name_scope(g), "");
            z2 = tg_identity(g, x, "z");
        }
        ck_assert_str_eq(tg_graph_name_scope(g), "a/");
    }
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name_of(z1), "z");
    ck_assert_str_eq(op_name_of(z2), "z_1");
    tg_graph_free(g);
}
END_TEST

/* ---- the scope stack --------------------------------------------------------- */

START_TEST(test_scope_tokens)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *c = tg_constant_scalar(g, TG_FLOAT32, 1, "c");
    tg_op *deps[] = {tg_tensor_op(c)};
    ck_assert_int_eq(tg_scope_depth(g), 0);
    int t1 = tg_name_scope_push(g, "a");
    ck_assert_int_eq(t1, 0);
    ck_assert_int_eq(tg_scope_depth(g), 1);
    int t2 = tg_name_scope_push(g, "b");
    ck_assert_int_eq(t2, 1);
    ck_assert_int_eq(tg_scope_depth(g), 2);
    int d = tg_scope_depth(g);
    int t3 = tg_variable_scope_push(g, "v", NULL);
    ck_assert_int_eq(t3, d);
    ck_assert_int_gt(tg_scope_depth(g), d);
    d = tg_scope_depth(g);
    int t4 = tg_control_dependencies_push(g, deps, 1);
    ck_assert_int_eq(t4, d);
    ck_assert_int_gt(tg_scope_depth(g), d);
    ck_assert_int_eq(tg_graph_control_dependencies(g, NULL), 1);
    ck_assert_str_eq(tg_variable_scope_name(g), "v");
    ck_assert_tg_ok(g);

    /* the outer pop repairs every inner block left open */
    tg_scope_pop(g, t1);
    ck_assert_tg_ok(g);
    ck_assert_int_eq(tg_scope_depth(g), 0);
    ck_assert_str_eq(tg_graph_name_scope(g), "");
    ck_assert_str_eq(tg_variable_scope_name(g), "");
    ck_assert_int_eq(tg_graph_control_dependencies(g, NULL), 0);
    tg_tensor *op = tg_identity(g, c, "op");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(op_name_of(op), "op");
    ck_assert_int_eq(tg_op_num_control_inputs(tg_tensor_op(op)), 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_pop_stale_token)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *c = tg_constant_scalar(g, TG_FLOAT32, 1, "c");
    int t1 = tg_name_scope_push(g, "a");
    int t2 = tg_name_scope_push(g, "b");
    tg_scope_pop(g, t1);
    ck_assert_tg_ok(g);
    tg_scope_pop(g, t2); /* already popped: above the current depth */
    ck_assert_tg_code(g, TG_FAILED_PRECONDITION);
    ck_assert_str_ne(tg_graph_message(g), "");
    ck_assert_int_eq(tg_scope_depth(g), 0);
    /* sticky: later builders return NULL */
    ck_assert_ptr_null(tg_identity(g, c, NULL));
    ck_assert_int_eq(tg_graph_clear_status(g), TG_FAILED_PRECONDITION);
    ck_assert_ptr_nonnull(tg_identity(g, c, NULL));
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

/* ---- early exits out of TG_WITH_* blocks --------------------------------------
 * Before the cleanup attribute, a break, return or goto left the block open
 * and later names silently nested under it ("layer1/layer2/w"). Each exit
 * from each macro must now leave the stack as it was before the block. */

typedef enum { EXIT_BREAK, EXIT_RETURN, EXIT_GOTO } exit_kind;
typedef enum { WITH_NAME, WITH_VARIABLE, WITH_CONTROL } with_kind;

/* Enters one block of `with` and leaves it by `how`; returns 1 when the
 * block's body ran. */
static int leave_early(tg_graph *g, with_kind with, exit_kind how, tg_op *dep) {
    int ran = 0;
    switch (with) {
    case WITH_NAME:
        TG_WITH_NAME_SCOPE(g, "inner") {
            ran = 1;
            if (how == EXIT_BREAK) break;
            if (how == EXIT_RETURN) return ran;
            goto out;
        }
        break;
    case WITH_VARIABLE:
        TG_WITH_VARIABLE_SCOPE(g, "inner", NULL) {
            ran = 1;
            if (how == EXIT_BREAK) break;
            if (how == EXIT_RETURN) return ran;
            goto out;
        }
        break;
    case WITH_CONTROL:
        TG_WITH_CONTROL_DEPENDENCIES(g, &dep, 1) {
            ran = 1;
            if (how == EXIT_BREAK) break;
            if (how == EXIT_RETURN) return ran;
            goto out;
        }
        break;
    }
out:
    return ran;
}

START_TEST(test_with_early_exit_pops)
{
    for (int with = WITH_NAME; with <= WITH_CONTROL; with++)
        for (int how = EXIT_BREAK; how <= EXIT_GOTO; how++) {
            tg_graph *g = tg_graph_new();
            tg_tensor *c = tg_constant_scalar(g, TG_FLOAT32, 1, "c");
            int tok = tg_name_scope_push(g, "outer");
            tg_variable_scope_push(g, "vouter", NULL);
            ck_assert_int_eq(leave_early(g, (with_kind)with, (exit_kind)how, tg_tensor_op(c)), 1);
            ck_assert_int_eq(tg_scope_depth(g), 2);
            ck_assert_str_eq(tg_graph_name_scope(g), "outer/vouter/"); /* variable_scope opens one too */
            ck_assert_str_eq(tg_variable_scope_name(g), "vouter");
            ck_assert_int_eq(tg_graph_control_dependencies(g, NULL), 0);
            /* what TF's `with` gives after the block: no nesting */
            tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SCALAR, NULL);
            ck_assert_str_eq(tg_variable_name(w), "vouter/w");
            ck_assert_int_eq(tg_op_num_control_inputs(tg_tensor_op(tg_identity(g, c, "id"))), 0);
            tg_scope_pop(g, tok);
            ck_assert_int_eq(tg_scope_depth(g), 0);
            ck_assert_int_eq(tg_graph_check_scopes(g), TG_OK);
            ck_assert_tg_ok(g);
            tg_graph_free(g);
        }
}
END_TEST

/* A block already popped by an outer pop is not popped twice. */
START_TEST(test_with_outer_pop_then_exit)
{
    tg_graph *g = tg_graph_new();
    int tok = tg_name_scope_push(g, "outer");
    TG_WITH_NAME_SCOPE(g, "inner")
    {
        tg_scope_pop(g, tok);
        break;
    }
    ck_assert_int_eq(tg_scope_depth(g), 0);
    ck_assert_str_eq(tg_graph_name_scope(g), "");
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

/* An error path that frees the graph inside a block and returns: the
 * block's cleanup must not touch the freed graph. */
static int build_or_give_up(bool give_up) {
    tg_graph *g = tg_graph_new();
    TG_WITH_NAME_SCOPE(g, "model") {
        TG_WITH_VARIABLE_SCOPE(g, "layer", NULL) {
            if (give_up) {
                tg_graph_free(g);
                return 1;
            }
        }
    }
    int depth = tg_scope_depth(g);
    tg_graph_free(g);
    return depth;
}

START_TEST(test_with_graph_freed_inside)
{
    ck_assert_int_eq(build_or_give_up(true), 1); /* ASan: no use after free */
    ck_assert_int_eq(build_or_give_up(false), 0);
}
END_TEST

/* A scope initializer written as a literal without a kind would read as
 * None; it is refused instead, and nothing is pushed. */
START_TEST(test_scope_initializer_literal_refused)
{
    tg_graph *g = tg_graph_new();
    tg_variable_scope_opts so = {.initializer = {.stddev = 0.1, .seed = 42}};
    int tok = tg_variable_scope_push(g, "net", &so);
    ck_assert_int_eq(tg_graph_status(g), TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "option 'initializer' not made by a tg_*_initializer()");
    ck_assert_int_eq(tg_scope_depth(g), tok);
    tg_graph_clear_status(g);
    tg_variable_scope_opts ok = {.initializer = tg_truncated_normal_initializer(0, 0.1)};
    TG_WITH_VARIABLE_SCOPE(g, "net", &ok) { tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL); }
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

static char logged[2048];
static void keep_log(tg_code code, const char *message, void *user) {
    (void)user;
    snprintf(logged, sizeof logged, "%s: %s", tg_code_name(code), message);
}

/* A push without its pop is named by tg_graph_check_scopes, and by the
 * warning of tg_session_new. */
START_TEST(test_check_scopes_names_open_scope)
{
    tg_set_log_callback(keep_log, NULL);
    tg_graph *g = tg_graph_new();
    ck_assert_int_eq(tg_graph_check_scopes(g), TG_OK);
    tg_variable_scope_push(g, "layer1", NULL);
    tg_name_scope_push(g, "loss");
    logged[0] = 0;
    tg_session *s = tg_session_new(g);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(strstr(logged, "tg_session_new: warning: 2 scope(s) still open"));
    ck_assert_ptr_nonnull(strstr(logged, "variable scope 'layer1'"));
    tg_session_free(s);
    ck_assert_int_eq(tg_graph_check_scopes(g), TG_FAILED_PRECONDITION);
    ck_assert_ptr_nonnull(strstr(tg_graph_message(g), "tg_graph_check_scopes: 2 scope(s) still open"));
    ck_assert_ptr_nonnull(strstr(tg_graph_message(g), "the outermost variable scope 'layer1'"));
    tg_graph_clear_status(g);
    tg_scope_pop(g, 1);
    ck_assert_int_eq(tg_graph_check_scopes(g), TG_FAILED_PRECONDITION);
    ck_assert_ptr_nonnull(strstr(tg_graph_message(g), "1 scope(s) still open, the outermost variable scope 'layer1'"));
    tg_graph_clear_status(g);
    tg_scope_pop(g, 0);
    ck_assert_int_eq(tg_graph_check_scopes(g), TG_OK);
    tg_graph_free(g);
    tg_set_log_callback(NULL, NULL);
}
END_TEST

/* ---- variable scopes ------------------------------------------------------------ */

START_TEST(test_variable_scope_names)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_variable *w = NULL, *b = NULL;
    tg_tensor *op = NULL, *op2 = NULL;
    ck_assert_str_eq(tg_variable_scope_name(g), "");
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL)
    {
        ck_assert_str_eq(tg_variable_scope_name(g), "net");
        ck_assert_str_eq(tg_graph_name_scope(g), "net/");
        w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
        op = tg_identity(g, x, "op");
        TG_WITH_VARIABLE_SCOPE(g, "layer", NULL)
        {
            ck_assert_str_eq(tg_variable_scope_name(g), "net/layer");
            ck_assert_str_eq(tg_graph_name_scope(g), "net/layer/");
            b = tg_get_variable(g, "b", TG_FLOAT32, TG_SHAPE(2), NULL);
            op2 = tg_identity(g, x, "op");
        }
    }
    ck_assert_str_eq(tg_variable_scope_name(g), "");
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_variable_name(w), "net/w");
    ck_assert_str_eq(tg_variable_name(b), "net/layer/b");
    ck_assert_str_eq(tg_op_name(tg_variable_op(w)), "net/w");
    ck_assert_str_eq(op_name_of(op), "net/op");
    ck_assert_str_eq(op_name_of(op2), "net/layer/op");
    tg_graph_free(g);
}
END_TEST

/* Name scopes do not affect variable names (TF resets the name scope while
 * creating a variable), but a variable scope inside a name scope nests its
 * own name scope for ops. */
START_TEST(test_name_scope_ignored_by_variables)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_variable *v = NULL, *w = NULL;
    tg_tensor *op = NULL;
    TG_WITH_NAME_SCOPE(g, "ns")
    {
        v = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2), NULL);
        TG_WITH_VARIABLE_SCOPE(g, "vs", NULL)
        {
            ck_assert_str_eq(tg_graph_name_scope(g), "ns/vs/");
            w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
            op = tg_identity(g, x, "op");
        }
    }
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_variable_name(v), "v");
    ck_assert_str_eq(tg_op_name(tg_variable_op(v)), "v");
    ck_assert_str_eq(tg_variable_name(w), "vs/w");
    ck_assert_str_eq(tg_op_name(tg_variable_op(w)), "vs/w");
    ck_assert_str_eq(op_name_of(op), "ns/vs/op");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_reuse_inheritance)
{
    tg_graph *g = tg_graph_new();
    ck_assert_int_eq(tg_variable_scope_reuse(g), TG_REUSE_INHERIT);
    TG_WITH_VARIABLE_SCOPE(g, "a", &(tg_variable_scope_opts){.reuse = TG_REUSE_TRUE})
    {
        ck_assert_int_eq(tg_variable_scope_reuse(g), TG_REUSE_TRUE);
        TG_WITH_VARIABLE_SCOPE(g, "b", NULL)
        {
            ck_assert_int_eq(tg_variable_scope_reuse(g), TG_REUSE_TRUE);
            TG_WITH_VARIABLE_SCOPE(g, "c", &(tg_variable_scope_opts){.reuse = TG_REUSE_INHERIT})
            {
                ck_assert_int_eq(tg_variable_scope_reuse(g), TG_REUSE_TRUE);
            }
        }
    }
    ck_assert_int_eq(tg_variable_scope_reuse(g), TG_REUSE_INHERIT);
    TG_WITH_VARIABLE_SCOPE(g, "auto", &(tg_variable_scope_opts){.reuse = TG_AUTO_REUSE})
    {
        ck_assert_int_eq(tg_variable_scope_reuse(g), TG_AUTO_REUSE);
        TG_WITH_VARIABLE_SCOPE(g, "child", NULL)
        {
            ck_assert_int_eq(tg_variable_scope_reuse(g), TG_AUTO_REUSE);
        }
    }
    TG_WITH_VARIABLE_SCOPE(g, "plain", NULL)
    {
        ck_assert_int_eq(tg_variable_scope_reuse(g), TG_REUSE_INHERIT);
    }
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

/* Under a reuse=True parent, a child scope with reuse INHERIT (TF's
 * False/None) still refuses to create a variable. */
START_TEST(test_reuse_cannot_be_turned_off)
{
    tg_graph *g = tg_graph_new();
    tg_variable *w = NULL, *w2 = NULL, *missing = (tg_variable *)1;
    TG_WITH_VARIABLE_SCOPE(g, "a", NULL)
    {
        TG_WITH_VARIABLE_SCOPE(g, "b", NULL)
        {
            w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
        }
    }
    ck_assert_tg_ok(g);
    TG_WITH_VARIABLE_SCOPE(g, "a", &(tg_variable_scope_opts){.reuse = TG_REUSE_TRUE})
    {
        TG_WITH_VARIABLE_SCOPE(g, "b", &(tg_variable_scope_opts){.reuse = TG_REUSE_INHERIT})
        {
            w2 = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
            missing = tg_get_variable(g, "x", TG_FLOAT32, TG_SHAPE(2), NULL);
        }
    }
    ck_assert_ptr_eq(w2, w);
    ck_assert_ptr_null(missing);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g), "Variable a/b/x does not exist");
    ck_assert_ptr_null(tg_graph_variable(g, "a/b/x"));
    tg_graph_free(g);
}
END_TEST

START_TEST(test_auto_reuse)
{
    tg_graph *g = tg_graph_new();
    tg_variable *v1 = NULL, *v2 = NULL;
    for (int i = 0; i < 2; i++) {
        TG_WITH_VARIABLE_SCOPE(g, "auto", &(tg_variable_scope_opts){.reuse = TG_AUTO_REUSE})
        {
            tg_variable *v = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(3), NULL);
            if (i == 0)
                v1 = v;
            else
                v2 = v;
        }
    }
    ck_assert_tg_ok(g);
    ck_assert_ptr_nonnull(v1);
    ck_assert_ptr_eq(v1, v2);
    ck_assert_str_eq(tg_variable_name(v1), "auto/w");
    tg_variable **vars = NULL;
    ck_assert_int_eq(tg_get_collection_variables(g, TG_GRAPHKEYS_GLOBAL_VARIABLES, NULL, &vars),
                     1);
    tg_free(vars);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_reenter_variable_scope)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_variable *w1 = NULL, *w2 = NULL;
    tg_tensor *op1 = NULL, *op2 = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL)
    {
        w1 = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
        op1 = tg_identity(g, x, "op");
    }
    TG_WITH_VARIABLE_SCOPE(g, "net", &(tg_variable_scope_opts){.reuse = TG_REUSE_TRUE})
    {
        ck_assert_str_eq(tg_variable_scope_name(g), "net");
        ck_assert_str_eq(tg_graph_name_scope(g), "net_1/");
        w2 = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
        op2 = tg_identity(g, x, "op");
    }
    ck_assert_tg_ok(g);
    ck_assert_ptr_eq(w1, w2);
    ck_assert_str_eq(op_name_of(op1), "net/op");
    ck_assert_str_eq(op_name_of(op2), "net_1/op");
    tg_graph_free(g);
}
END_TEST

/* An op already named "net" takes the name: the variable scope keeps "net"
 * for variables, its name scope becomes "net_1/". */
START_TEST(test_variable_scope_name_scope_taken)
{
    tg_graph *g = tg_graph_new();
    tg_constant_scalar(g, TG_FLOAT32, 1, "net");
    tg_variable *w = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "net", NULL)
    {
        ck_assert_str_eq(tg_variable_scope_name(g), "net");
        ck_assert_str_eq(tg_graph_name_scope(g), "net_1/");
        w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
    }
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_variable_name(w), "net/w");
    ck_assert_str_eq(tg_op_name(tg_variable_op(w)), "net/w");
    tg_graph_free(g);
}
END_TEST

static void enter_default(tg_graph *g, const char *default_name, const char *want_var_scope,
                          const char *want_name_scope)
{
    int tok = tg_variable_scope_push(g, NULL,
                                     &(tg_variable_scope_opts){.default_name = default_name});
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_variable_scope_name(g), want_var_scope);
    if (want_name_scope)
        ck_assert_str_eq(tg_graph_name_scope(g), want_name_scope);
    tg_scope_pop(g, tok);
}

START_TEST(test_default_name_unique)
{
    tg_graph *g = tg_graph_new();
    enter_default(g, "dense", "dense", "dense/");
    enter_default(g, "dense", "dense_1", "dense_1/");
    enter_default(g, "dense", "dense_2", "dense_2/");
    /* a scope opened by name counts too */
    TG_WITH_VARIABLE_SCOPE(g, "conv", NULL) { (void)0; }
    enter_default(g, "conv", "conv_1", NULL);
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

/* TF resets the counters below "outer/" when the string-named scope "outer"
 * is exited, so rebuilding under variable_scope("outer", reuse=True) gets
 * the same default names; at the root nothing is reset. */
START_TEST(test_default_name_counter_reset)
{
    tg_graph *g = tg_graph_new();
    TG_WITH_VARIABLE_SCOPE(g, "outer", NULL)
    {
        enter_default(g, "dense", "outer/dense", NULL);
        enter_default(g, "dense", "outer/dense_1", NULL);
    }
    TG_WITH_VARIABLE_SCOPE(g, "outer", &(tg_variable_scope_opts){.reuse = TG_REUSE_TRUE})
    {
        enter_default(g, "dense", "outer/dense", "outer_1/dense/");
        enter_default(g, "dense", "outer/dense_1", "outer_1/dense_1/");
    }
    enter_default(g, "layer", "layer", NULL);
    enter_default(g, "layer", "layer_1", NULL);
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_variable_scope_errors)
{
    tg_graph *g = tg_graph_new();
    int depth = tg_scope_depth(g);
    tg_variable_scope_push(g, NULL, NULL);
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g),
                           "If default_name is None then name_or_scope is required");
    tg_graph_clear_status(g);
    tg_scope_pop(g, depth);
    ck_assert_tg_ok(g);

    tg_variable_scope_push(g, NULL, &(tg_variable_scope_opts){.default_name = "x"});
    ck_assert_tg_ok(g);
    tg_scope_pop(g, depth);
    tg_variable_scope_push(g, NULL, &(tg_variable_scope_opts){.default_name = NULL});
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    tg_scope_pop(g, depth);

    tg_variable_scope_push(
        g, NULL, &(tg_variable_scope_opts){.default_name = "x", .reuse = TG_REUSE_TRUE});
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    ck_assert_str_contains(tg_graph_message(g),
                           "reuse=True cannot be used without a name_or_scope");
    tg_graph_clear_status(g);
    tg_scope_pop(g, depth);
    ck_assert_tg_ok(g);
    ck_assert_str_eq(tg_variable_scope_name(g), "");
    tg_graph_free(g);
}
END_TEST

static Suite *scopes_suite(void)
{
    Suite *s = suite_create("scopes");
    TCase *ns = tcase_create("name_scope");
    tcase_add_test(ns, test_name_scope_nesting);
    tcase_add_test(ns, test_name_scope_uniquified);
    tcase_add_test(ns, test_name_scope_reenter);
    tcase_add_test(ns, test_name_scope_reset_to_root);
    tcase_set_timeout(ns, TGC_TIMEOUT);
    suite_add_tcase(s, ns);

    TCase *stack = tcase_create("stack");
    tcase_add_test(stack, test_scope_tokens);
    tcase_add_test(stack, test_pop_stale_token);
    tcase_add_test(stack, test_with_early_exit_pops);
    tcase_add_test(stack, test_with_outer_pop_then_exit);
    tcase_add_test(stack, test_with_graph_freed_inside);
    tcase_add_test(stack, test_check_scopes_names_open_scope);
    tcase_set_timeout(stack, TGC_TIMEOUT);
    suite_add_tcase(s, stack);

    TCase *vs = tcase_create("variable_scope");
    tcase_add_test(vs, test_variable_scope_names);
    tcase_add_test(vs, test_name_scope_ignored_by_variables);
    tcase_add_test(vs, test_reuse_inheritance);
    tcase_add_test(vs, test_reuse_cannot_be_turned_off);
    tcase_add_test(vs, test_auto_reuse);
    tcase_add_test(vs, test_reenter_variable_scope);
    tcase_add_test(vs, test_variable_scope_name_scope_taken);
    tcase_add_test(vs, test_default_name_unique);
    tcase_add_test(vs, test_default_name_counter_reset);
    tcase_add_test(vs, test_variable_scope_errors);
    tcase_add_test(vs, test_scope_initializer_literal_refused);
    tcase_set_timeout(vs, TGC_TIMEOUT);
    suite_add_tcase(s, vs);
    return s;
}

TGC_MAIN(scopes_suite)
