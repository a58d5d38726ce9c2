/* The options test's builders (harness.c), one per public options struct. */
#ifndef TGO_HARNESS_H
#define TGO_HARNESS_H
#include <stdarg.h>
#include <tgraph.h>

typedef struct tgo_result {
    char text[4096];
    char message[1024]; /* the graph's message, printed last */
} tgo_result;

void tgo_tg_gradients_opts(const tg_gradients_opts *o, tgo_result *r);
void tgo_tg_dot_options(const tg_dot_options *o, tgo_result *r);
void tgo_tg_layers_fc_opts(const tg_layers_fc_opts *o, tgo_result *r);
void tgo_tg_layers_conv2d_opts(const tg_layers_conv2d_opts *o, tgo_result *r);
void tgo_tg_layers_flatten_opts(const tg_layers_flatten_opts *o, tgo_result *r);
void tgo_tg_layers_pool2d_opts(const tg_layers_pool2d_opts *o, tgo_result *r);
void tgo_tg_layers_dropout_opts(const tg_layers_dropout_opts *o, tgo_result *r);
void tgo_tg_layers_batch_norm_opts(const tg_layers_batch_norm_opts *o, tgo_result *r);
void tgo_tg_renorm_clipping(const tg_renorm_clipping *o, tgo_result *r);
void tgo_tg_loss_opts(const tg_loss_opts *o, tgo_result *r);
void tgo_tg_matmul_opts(const tg_matmul_opts *o, tgo_result *r);
void tgo_tg_reduce_opts(const tg_reduce_opts *o, tgo_result *r);
void tgo_tg_assign_moving_average_opts(const tg_assign_moving_average_opts *o, tgo_result *r);
void tgo_tg_weighted_moving_average_opts(const tg_weighted_moving_average_opts *o, tgo_result *r);
void tgo_tg_ema_opts(const tg_ema_opts *o, tgo_result *r);
void tgo_tg_conv2d_opts(const tg_conv2d_opts *o, tgo_result *r);
void tgo_tg_pool_opts(const tg_pool_opts *o, tgo_result *r);
void tgo_tg_fused_batch_norm_opts(const tg_fused_batch_norm_opts *o, tgo_result *r);
void tgo_tg_dropout_opts(const tg_dropout_opts *o, tgo_result *r);
void tgo_tg_random_opts(const tg_random_opts *o, tgo_result *r);
void tgo_tg_session_options(const tg_session_options *o, tgo_result *r);
void tgo_tg_run_options(const tg_run_options *o, tgo_result *r);
void tgo_tg_layer_call_opts(const tg_layer_call_opts *o, tgo_result *r);
void tgo_tg_layer_add_variable_opts(const tg_layer_add_variable_opts *o, tgo_result *r);
void tgo_tg_tf_layers_dense_opts(const tg_tf_layers_dense_opts *o, tgo_result *r);
void tgo_tg_tf_layers_conv2d_opts(const tg_tf_layers_conv2d_opts *o, tgo_result *r);
void tgo_tg_tf_layers_pooling2d_opts(const tg_tf_layers_pooling2d_opts *o, tgo_result *r);
void tgo_tg_tf_layers_flatten_opts(const tg_tf_layers_flatten_opts *o, tgo_result *r);
void tgo_tg_tf_layers_dropout_opts(const tg_tf_layers_dropout_opts *o, tgo_result *r);
void tgo_tg_tf_layers_batch_norm_opts(const tg_tf_layers_batch_norm_opts *o, tgo_result *r);
void tgo_tg_train_gradient_descent_opts(const tg_train_gradient_descent_opts *o, tgo_result *r);
void tgo_tg_train_momentum_opts(const tg_train_momentum_opts *o, tgo_result *r);
void tgo_tg_train_adam_opts(const tg_train_adam_opts *o, tgo_result *r);
void tgo_tg_train_rmsprop_opts(const tg_train_rmsprop_opts *o, tgo_result *r);
void tgo_tg_train_adagrad_opts(const tg_train_adagrad_opts *o, tgo_result *r);
void tgo_tg_minimize_opts(const tg_minimize_opts *o, tgo_result *r);
void tgo_tg_variable_scope_opts(const tg_variable_scope_opts *o, tgo_result *r);
void tgo_tg_get_variable_opts(const tg_get_variable_opts *o, tgo_result *r);
void tgo_tg_print_opts(const tg_print_opts *o, tgo_result *r);
void tgo_tg_while_loop_opts(const tg_while_loop_opts *o, tgo_result *r);
void tgo_tg_saver_opts(const tg_saver_opts *o, tgo_result *r);
void tgo_tg_save_opts(const tg_save_opts *o, tgo_result *r);

#endif
