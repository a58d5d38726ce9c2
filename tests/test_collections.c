/* test_collections.c: tf.add_to_collection(s) and tf.get_collection.
 *
 * Covers duplicates kept by add_to_collection, a key listed twice in
 * add_to_collections, snapshots, the scope prefix filter (a literal prefix:
 * '.' and '*' are not regex), a missing key, the typed getters (ops,
 * variables, tensors), the list of collection keys, the error cases, and
 * the tf.trainable_variables / global_variables / local_variables shorthands.
 * Every list handed out is freed with tg_free. */
#include "tg_check.h"

START_TEST(test_duplicates_kept)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_add_to_collection(g, "k", TG_ITEM_OF_TENSOR(x));
    tg_add_to_collection(g, "k", TG_ITEM_OF_TENSOR(x));
    ck_assert_tg_ok(g);
    tg_item *items = NULL;
    ck_assert_int_eq(tg_get_collection(g, "k", NULL, &items), 2);
    ck_assert_ptr_nonnull(items);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(items[i].kind, TG_ITEM_TENSOR);
        ck_assert_ptr_eq(items[i].u.tensor, x);
    }
    /* the list is a snapshot: later additions do not show in it */
    tg_add_to_collection(g, "k", TG_ITEM_OF_OP(tg_tensor_op(x)));
    ck_assert_int_eq(items[1].kind, TG_ITEM_TENSOR);
    tg_free(items);
    ck_assert_int_eq(tg_get_collection(g, "k", NULL, &items), 3);
    ck_assert_int_eq(items[2].kind, TG_ITEM_OP);
    ck_assert_ptr_eq(items[2].u.op, tg_tensor_op(x));
    tg_free(items);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_add_to_collections)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    const char *keys[] = {"a", "b", "a"};
    tg_add_to_collections(g, keys, 3, TG_ITEM_OF_TENSOR(x));
    ck_assert_tg_ok(g);
    tg_item *items = NULL;
    ck_assert_int_eq(tg_get_collection(g, "a", NULL, &items), 1);
    ck_assert_ptr_eq(items[0].u.tensor, x);
    tg_free(items);
    ck_assert_int_eq(tg_get_collection(g, "b", NULL, &items), 1);
    tg_free(items);
    /* membership from an earlier call is not checked */
    tg_add_to_collections(g, keys, 2, TG_ITEM_OF_TENSOR(x));
    ck_assert_int_eq(tg_get_collection(g, "a", NULL, &items), 2);
    tg_free(items);
    ck_assert_int_eq(tg_get_collection(g, "b", NULL, &items), 2);
    tg_free(items);
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

static int count_scope(tg_graph *g, const char *key, const char *scope)
{
    tg_item *items = NULL;
    int n = tg_get_collection(g, key, scope, &items);
    if (n == 0)
        ck_assert_ptr_null(items);
    tg_free(items);
    return n;
}

START_TEST(test_scope_filter)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *c = tg_constant_scalar(g, TG_FLOAT32, 1, "c");
    tg_tensor *w = NULL, *x = NULL;
    tg_variable *v = NULL;
    TG_WITH_NAME_SCOPE(g, "net") { w = tg_identity(g, c, "w"); }
    TG_WITH_NAME_SCOPE(g, "net2") { x = tg_identity(g, c, "x"); }
    TG_WITH_VARIABLE_SCOPE(g, "other", NULL)
    {
        v = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2), NULL);
    }
    tg_add_to_collection(g, "k", TG_ITEM_OF_OP(tg_tensor_op(w)));
    tg_add_to_collection(g, "k", TG_ITEM_OF_TENSOR(x));
    tg_add_to_collection(g, "k", TG_ITEM_OF_VARIABLE(v));
    ck_assert_tg_ok(g);

    /* re.match on a prefix: "net" matches "net/w" and "net2/x:0" */
    tg_item *items = NULL;
    ck_assert_int_eq(tg_get_collection(g, "k", "net", &items), 2);
    ck_assert_ptr_eq(items[0].u.op, tg_tensor_op(w));
    ck_assert_ptr_eq(items[1].u.tensor, x);
    tg_free(items);
    ck_assert_int_eq(tg_get_collection(g, "k", "net/", &items), 1);
    ck_assert_ptr_eq(items[0].u.op, tg_tensor_op(w));
    tg_free(items);
    ck_assert_int_eq(tg_get_collection(g, "k", "other", &items), 1);
    ck_assert_int_eq(items[0].kind, TG_ITEM_VARIABLE);
    ck_assert_ptr_eq(items[0].u.variable, v);
    tg_free(items);
    ck_assert_int_eq(count_scope(g, "k", "net2/x"), 1);
    ck_assert_int_eq(count_scope(g, "k", ""), 3);
    ck_assert_int_eq(count_scope(g, "k", NULL), 3);
    /* only a prefix matches, not a substring */
    ck_assert_int_eq(count_scope(g, "k", "w"), 0);
    ck_assert_int_eq(count_scope(g, "k", "et"), 0);
    /* '.' and '*' are literal characters */
    ck_assert_int_eq(count_scope(g, "k", "n.t"), 0);
    ck_assert_int_eq(count_scope(g, "k", "net*"), 0);
    ck_assert_int_eq(count_scope(g, "k", ".*"), 0);
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_missing_key)
{
    tg_graph *g = tg_graph_new();
    tg_item *items = (tg_item *)&g;
    tg_op **ops = (tg_op **)&g;
    tg_tensor **tensors = (tg_tensor **)&g;
    tg_variable **vars = (tg_variable **)&g;
    ck_assert_int_eq(tg_get_collection(g, "nope", NULL, &items), 0);
    ck_assert_ptr_null(items);
    ck_assert_int_eq(tg_get_collection_ops(g, "nope", NULL, &ops), 0);
    ck_assert_ptr_null(ops);
    ck_assert_int_eq(tg_get_collection_tensors(g, "nope", NULL, &tensors), 0);
    ck_assert_ptr_null(tensors);
    ck_assert_int_eq(tg_get_collection_variables(g, "nope", NULL, &vars), 0);
    ck_assert_ptr_null(vars);
    ck_assert_int_eq(tg_get_collection(g, TG_GRAPHKEYS_UPDATE_OPS, NULL, &items), 0);
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_typed_getters)
{
    tg_graph *g = tg_graph_new();
    tg_op *noop = tg_no_op(g, "noop");
    tg_tensor *c = tg_constant_scalar(g, TG_FLOAT32, 1, "c");
    tg_tensor *t = tg_identity(g, c, "t");
    tg_variable *v = tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2), NULL);
    ck_assert_tg_ok(g);
    tg_add_to_collection(g, "mixed", TG_ITEM_OF_OP(noop));
    tg_add_to_collection(g, "mixed", TG_ITEM_OF_OP(tg_tensor_op(c)));
    tg_add_to_collection(g, "mixed", TG_ITEM_OF_TENSOR(t));
    tg_add_to_collection(g, "mixed", TG_ITEM_OF_VARIABLE(v));
    ck_assert_tg_ok(g);

    tg_item *items = NULL;
    ck_assert_int_eq(tg_get_collection(g, "mixed", NULL, &items), 4);
    ck_assert_int_eq(items[0].kind, TG_ITEM_OP);
    ck_assert_int_eq(items[1].kind, TG_ITEM_OP);
    ck_assert_int_eq(items[2].kind, TG_ITEM_TENSOR);
    ck_assert_int_eq(items[3].kind, TG_ITEM_VARIABLE);
    tg_free(items);

    tg_op **ops = NULL;
    ck_assert_int_eq(tg_get_collection_ops(g, "mixed", NULL, &ops), 4);
    ck_assert_ptr_eq(ops[0], noop);
    ck_assert_ptr_eq(ops[1], tg_tensor_op(c));
    ck_assert_ptr_eq(ops[2], tg_tensor_op(t));
    ck_assert_ptr_eq(ops[3], tg_variable_op(v));
    tg_free(ops);

    /* ops without outputs are dropped; ops give their first output and
     * variables their value */
    tg_tensor **tensors = NULL;
    ck_assert_int_eq(tg_get_collection_tensors(g, "mixed", NULL, &tensors), 3);
    ck_assert_ptr_eq(tensors[0], c);
    ck_assert_ptr_eq(tensors[1], t);
    ck_assert_ptr_eq(tensors[2], tg_variable_value(v));
    tg_free(tensors);

    tg_variable **vars = NULL;
    ck_assert_int_eq(tg_get_collection_variables(g, "mixed", NULL, &vars), 1);
    ck_assert_ptr_eq(vars[0], v);
    tg_free(vars);
    /* the typed getters filter by scope like tg_get_collection */
    ck_assert_int_eq(tg_get_collection_ops(g, "mixed", "t", &ops), 1);
    ck_assert_ptr_eq(ops[0], tg_tensor_op(t));
    tg_free(ops);
    ck_assert_int_eq(tg_get_collection_variables(g, "mixed", "c", &vars), 0);
    ck_assert_ptr_null(vars);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_collection_keys)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    const char **keys = NULL;
    ck_assert_int_eq(tg_graph_collection_keys(g, &keys), 0);
    tg_free(keys);
    tg_add_to_collection(g, "first", TG_ITEM_OF_TENSOR(x));
    tg_add_to_collection(g, "second", TG_ITEM_OF_TENSOR(x));
    tg_add_to_collection(g, "third", TG_ITEM_OF_TENSOR(x));
    tg_add_to_collection(g, "first", TG_ITEM_OF_TENSOR(x));
    ck_assert_tg_ok(g);
    keys = NULL;
    ck_assert_int_eq(tg_graph_collection_keys(g, &keys), 3);
    ck_assert_str_eq(keys[0], "first");
    ck_assert_str_eq(keys[1], "second");
    ck_assert_str_eq(keys[2], "third");
    tg_free(keys);

    /* tg_get_variable fills TF's standard keys */
    tg_get_variable(g, "v", TG_FLOAT32, TG_SHAPE(2), NULL);
    ck_assert_tg_ok(g);
    int n = tg_graph_collection_keys(g, &keys);
    ck_assert_int_eq(n, 5);
    int seen_global = 0, seen_trainable = 0;
    for (int i = 0; i < n; i++) {
        seen_global += strcmp(keys[i], "variables") == 0;
        seen_trainable += strcmp(keys[i], "trainable_variables") == 0;
    }
    ck_assert_int_eq(seen_global, 1);
    ck_assert_int_eq(seen_trainable, 1);
    ck_assert_str_eq(keys[0], "first");
    tg_free(keys);
    ck_assert_int_eq(tg_graph_collection_keys(NULL, &keys), -1);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_graphkeys_values)
{
    ck_assert_str_eq(TG_GRAPHKEYS_GLOBAL_VARIABLES, "variables");
    ck_assert_str_eq(TG_GRAPHKEYS_TRAINABLE_VARIABLES, "trainable_variables");
    ck_assert_str_eq(TG_GRAPHKEYS_REGULARIZATION_LOSSES, "regularization_losses");
    ck_assert_str_eq(TG_GRAPHKEYS_UPDATE_OPS, "update_ops");
    ck_assert_str_eq(TG_GRAPHKEYS_MOVING_AVERAGE_VARIABLES, "moving_average_variables");
    ck_assert_str_eq(TG_GRAPHKEYS_LOCAL_VARIABLES, "local_variables");
    ck_assert_str_eq(TG_GRAPHKEYS_MODEL_VARIABLES, "model_variables");
}
END_TEST

/* tf.trainable_variables() and friends read TF's standard keys; the graph
 * puts variables there by their trainable flag and collections option. */
START_TEST(test_variable_shorthands)
{
    tg_graph *g = tg_graph_new();
    tg_variable **vars = (tg_variable **)&g;
    ck_assert_int_eq(tg_global_variables(g, &vars), 0);
    ck_assert_ptr_null(vars);

    tg_variable *w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2), NULL);
    TG_OPTS(tg_get_variable_opts, frozen, .trainable = false);
    tg_variable *step = tg_get_variable(g, "step", TG_INT64, TG_SCALAR, &frozen);
    const char *local_keys[] = {TG_GRAPHKEYS_LOCAL_VARIABLES};
    TG_OPTS(tg_get_variable_opts, local, .trainable = false, .collections = local_keys,
            .n_collections = 1);
    tg_variable *count = tg_get_variable(g, "count", TG_FLOAT32, TG_SCALAR, &local);
    tg_variable *b = tg_get_variable(g, "b", TG_FLOAT32, TG_SHAPE(2), NULL);
    ck_assert_tg_ok(g);

    ck_assert_int_eq(tg_trainable_variables(g, &vars), 2);
    ck_assert_ptr_eq(vars[0], w);
    ck_assert_ptr_eq(vars[1], b);
    tg_free(vars);
    ck_assert_int_eq(tg_global_variables(g, &vars), 3);
    ck_assert_ptr_eq(vars[0], w);
    ck_assert_ptr_eq(vars[1], step);
    ck_assert_ptr_eq(vars[2], b);
    tg_free(vars);
    ck_assert_int_eq(tg_local_variables(g, &vars), 1);
    ck_assert_ptr_eq(vars[0], count);
    tg_free(vars);

    /* the same lists as the long form, and a NULL out-parameter counts */
    tg_variable **longer = NULL;
    const char *key = TG_GRAPHKEYS_TRAINABLE_VARIABLES;
    ck_assert_int_eq(tg_get_collection_variables(g, key, NULL, &longer), 2);
    ck_assert_int_eq(tg_trainable_variables(g, &vars), 2);
    ck_assert_mem_eq(vars, longer, 2 * sizeof *vars);
    tg_free(vars);
    tg_free(longer);
    ck_assert_int_eq(tg_global_variables(g, NULL), 3);

    vars = (tg_variable **)&g;
    ck_assert_int_eq(tg_trainable_variables(NULL, &vars), -1);
    ck_assert_ptr_null(vars);
    ck_assert_int_eq(tg_global_variables(NULL, NULL), -1);
    ck_assert_int_eq(tg_local_variables(NULL, NULL), -1);
    ck_assert_tg_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_errors)
{
    tg_graph *g = tg_graph_new(), *other = tg_graph_new();
    tg_tensor *x = tg_constant_scalar(g, TG_FLOAT32, 1, "x");
    tg_tensor *y = tg_constant_scalar(other, TG_FLOAT32, 1, "y");
    ck_assert_tg_ok(g);
    ck_assert_tg_ok(other);

    tg_add_to_collection(g, NULL, TG_ITEM_OF_TENSOR(x));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    tg_add_to_collection(g, "k", TG_ITEM_OF_TENSOR(NULL));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    tg_add_to_collection(g, "k", TG_ITEM_OF_TENSOR(y));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    const char *keys[] = {"k"};
    tg_add_to_collections(g, keys, 1, TG_ITEM_OF_OP(tg_tensor_op(y)));
    ck_assert_tg_code(g, TG_INVALID_ARGUMENT);
    tg_graph_clear_status(g);
    /* failed additions left nothing behind */
    tg_item *items = (tg_item *)&g;
    ck_assert_int_eq(tg_get_collection(g, "k", NULL, &items), 0);
    ck_assert_ptr_null(items);
    items = (tg_item *)&g;
    ck_assert_int_eq(tg_get_collection(g, NULL, NULL, &items), -1);
    ck_assert_ptr_null(items);
    ck_assert_tg_ok(g);
    tg_graph_free(g);
    tg_graph_free(other);
}
END_TEST

static Suite *collections_suite(void)
{
    Suite *s = suite_create("collections");
    TCase *tc = tcase_create("collections");
    tcase_add_test(tc, test_duplicates_kept);
    tcase_add_test(tc, test_add_to_collections);
    tcase_add_test(tc, test_scope_filter);
    tcase_add_test(tc, test_missing_key);
    tcase_add_test(tc, test_typed_getters);
    tcase_add_test(tc, test_collection_keys);
    tcase_add_test(tc, test_graphkeys_values);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_variable_shorthands);
    tcase_set_timeout(tc, TGC_TIMEOUT);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(collections_suite)
