/* tgraph/array_ops.h: placeholders, constants and identity (tf.placeholder,
 * tf.placeholder_with_default, tf.constant, tf.identity).
 *
 * Every builder here follows the graph's error model: if g is NULL or in
 * error, or an input is NULL, it returns NULL and adds nothing; on its own
 * failure it records a sticky error naming the op and returns NULL.
 * `name` NULL means the TF default (the op type). Returned tensors belong to
 * the graph. */
#ifndef TGRAPH_ARRAY_OPS_H
#define TGRAPH_ARRAY_OPS_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tf.placeholder(dtype, shape, name): "Placeholder". A run that needs it
 * without a feed fails with INVALID_ARGUMENT naming it. */
TG_API tg_tensor *tg_placeholder(tg_graph *g, tg_dtype dtype, tg_shape shape, const char *name);

/* tf.placeholder_with_default(input, shape, name): "PlaceholderWithDefault";
 * yields `input` unless fed. shape must be compatible with input's (it may be
 * less specific, e.g. a batch of -1). Errors: INVALID_ARGUMENT otherwise. */
TG_API tg_tensor *tg_placeholder_with_default(tg_graph *g, tg_tensor *input, tg_shape shape,
                                              const char *name);

/* tf.constant(value): "Const". The value is copied into the graph. */
TG_API tg_tensor *tg_constant(tg_graph *g, const tg_array *value, const char *name);
/* A scalar constant of any dtype (converted from v the way C converts). */
TG_API tg_tensor *tg_constant_scalar(tg_graph *g, tg_dtype dtype, double v, const char *name);
/* A constant of the given shape from row-major data (copied); data must hold
 * tg_shape_num_elements(&shape) elements of dtype. Errors: INVALID_ARGUMENT
 * for a shape that is not fully defined. */
TG_API tg_tensor *tg_constant_data(tg_graph *g, tg_dtype dtype, tg_shape shape, const void *data,
                                   const char *name);

/* TF's constant_value for predicates (as smart_cond uses it): true when t
 * is a bool Const with one element, whose value is stored in *value (when
 * not NULL); false for any other tensor, including placeholders and
 * variables, which stay decided at run time. Errors: none. */
TG_API bool tg_tensor_static_bool(const tg_tensor *t, bool *value);

/* tf.identity(input, name): "Identity". Inside a control-dependency block
 * it is how an existing tensor gets ordered after the block's ops. */
TG_API tg_tensor *tg_identity(tg_graph *g, tg_tensor *input, const char *name);

/* tf.shape(x): "Shape", x's dimensions as an int32 vector (named
 * tg_shape_of because tg_shape is the static-shape type). */
TG_API tg_tensor *tg_shape_of(tg_graph *g, tg_tensor *x, const char *name);

/* tf.reshape(x, shape): "Reshape" with the shape as a Const
 * "Reshape/shape"; one dimension may be -1. Errors: INVALID_ARGUMENT when
 * the element counts cannot match, e.g. "Cannot reshape a tensor with 6
 * elements to shape requiring 4 elements". */
TG_API tg_tensor *tg_reshape(tg_graph *g, tg_tensor *x, tg_shape shape, const char *name);
/* tf.reshape with a shape tensor (int32 or int64 vector) computed in the
 * graph; the element count is checked when the op runs. */
TG_API tg_tensor *tg_reshape_t(tg_graph *g, tg_tensor *x, tg_tensor *shape, const char *name);

/* tf.size(x) / tf.rank(x): "Size" / "Rank", int32 scalars. */
TG_API tg_tensor *tg_size(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_rank(tg_graph *g, tg_tensor *x, const char *name);

/* ---- shape manipulation (transpose, expand_dims, squeeze, concat, split,
 * slice, pad, tile, stack) ---------------------------------------------------- */

/* Every builder below takes every dtype (float32, float64, int32, int64,
 * bool), infers the static shape as TF does (unknown dims stay -1) and
 * checks its arguments against what is known at construction; what is not
 * known then is checked when the op runs (the run fails with
 * INVALID_ARGUMENT naming the op). Array arguments (perm, axes, begin, ...)
 * are copied into the graph; the caller keeps them. Gradients are ordinary
 * differentiable ops, so they can be differentiated again. */

/* tf.transpose(a, perm, name="transpose"): op "Transpose" named
 * "transpose" with perm as the Const "transpose/perm". perm NULL (n
 * ignored) reverses the axes, which needs a known rank. Errors:
 * INVALID_ARGUMENT when perm is not a permutation of 0..rank-1, e.g.
 * "transpose expects a vector of size 2. But input(1) is a vector of size 3"
 * or "1 is missing from {0,0}.". */
TG_API tg_tensor *tg_transpose(tg_graph *g, tg_tensor *x, const int *perm, int n, const char *name);

/* tf.expand_dims(input, axis, name): "ExpandDims" with the axis as the
 * Const "ExpandDims/dim"; a 1 is inserted at axis, in [-rank-1, rank]
 * (negative counts from the end). Errors: INVALID_ARGUMENT "Tried to expand
 * dim index 3 for tensor with 1 dimensions.", or a result above
 * TG_MAX_RANK. */
TG_API tg_tensor *tg_expand_dims(tg_graph *g, tg_tensor *x, int axis, const char *name);

/* tf.squeeze(input, axis, name): "Squeeze" (attr squeeze_dims). n == 0
 * removes every dimension of size 1 (an unknown dim then makes the static
 * shape unknown); otherwise the n listed axes (negative allowed) are
 * removed and must be 1 (an unknown one is assumed to be, and checked at
 * run time). Errors: INVALID_ARGUMENT "Can not squeeze dim[1], expected a
 * dimension of 1, got 3" or "Tried to squeeze dim index 2 for tensor with 2
 * dimensions.". */
TG_API tg_tensor *tg_squeeze(tg_graph *g, tg_tensor *x, const int *axes, int n, const char *name);

/* tf.concat(values, axis, name="concat"): "ConcatV2" named "concat" with the
 * Const "concat/axis"; one value gives Identity "concat" (as TF). The
 * values share a dtype and rank (>= 1) and agree outside axis (negative
 * counts from the end). Errors: INVALID_ARGUMENT, e.g. "concat: Dimension 1
 * in both shapes must be equal, but are 3 and 4. Shapes are (2, 3) and
 * (2, 4).", "Shape must be rank 2 but is rank 1 ...", or an axis outside
 * [-rank, rank). */
TG_API tg_tensor *tg_concat(tg_graph *g, tg_tensor *const *tensors, int n, int axis, const char *name);

/* tf.split(value, num_split, axis, name="split"): "Split" named "split" with
 * the Const "split/split_dim"; fills outputs[0..num_split) with
 * "split:0".. (each a 1/num_split piece along axis). Ownership: outputs is
 * the caller's array of num_split entries, the tensors belong to the graph.
 * Returns TG_OK or the graph's error code (outputs NULL then). Errors:
 * INVALID_ARGUMENT for num_split < 1, an axis out of range or "Number of ways
 * to split should evenly divide the split dimension, but got split_dim 1
 * (size = 3) and num_split 2". */
TG_API tg_code tg_split(tg_graph *g, tg_tensor *x, int num_split, int axis, tg_tensor **outputs,
                        const char *name);

/* tf.stack(values, axis=0, name="stack"): "Pack" named "stack"; n >= 1
 * tensors of one dtype and shape joined along a new axis in [-rank-1, rank].
 * Errors: INVALID_ARGUMENT "Shapes of all inputs must match: values[0].shape
 * = (2,) != values[1].shape = (3,)", "axis = 2 not in [-2, 2)". */
TG_API tg_tensor *tg_stack(tg_graph *g, tg_tensor *const *tensors, int n, int axis, const char *name);

/* tf.unstack(value, num, axis=0, name="unstack"): "Unpack" named "unstack";
 * fills outputs[0..num) with the slices along axis ("unstack:0", ...).
 * num < 0 is TF's num=None: taken from x's static shape. Ownership:
 * outputs is the caller's array with room for num entries (for num < 0,
 * the static size of axis); the tensors belong to the graph. Returns TG_OK
 * or the graph's error code. Errors: INVALID_ARGUMENT "Cannot infer num
 * from shape (?, 2)", an axis out of range, or num different from a known
 * size ("Dimension must be 3 but is 2"). */
TG_API tg_code tg_unstack(tg_graph *g, tg_tensor *x, int num, int axis, tg_tensor **outputs,
                          const char *name);

/* tf.slice(input_, begin, size, name): "Slice" with the Consts
 * "Slice/begin" and "Slice/size" (n = x's rank entries each); size -1 takes
 * the rest of that dimension. Errors: INVALID_ARGUMENT "Expected begin[0] in
 * [0, 2], but got 3", "Expected size[1] in [0, 2], but got 3", or n different
 * from the rank. */
TG_API tg_tensor *tg_slice(tg_graph *g, tg_tensor *x, const int64_t *begin, const int64_t *size, int n,
                           const char *name);

/* tf.pad(tensor, paddings, mode="CONSTANT", name): "Pad" with the Const
 * "Pad/paddings" ([n, 2]: zeros before and after each of x's n dims).
 * Errors: INVALID_ARGUMENT "Paddings must be non-negative: -1 0" or n
 * different from the rank ("The first dimension of paddings must be the rank
 * of inputs[1,2] (2, 3)"). */
TG_API tg_tensor *tg_pad(tg_graph *g, tg_tensor *x, const int64_t (*paddings)[2], int n, const char *name);

/* tf.tile(input, multiples, name): "Tile" with the Const "Tile/multiples"
 * (n = rank entries, each >= 0). Errors: INVALID_ARGUMENT "Expected
 * multiples argument to be a vector of length 2 but got length 3",
 * "Expected multiples[0] >= 0, but got -1". */
TG_API tg_tensor *tg_tile(tg_graph *g, tg_tensor *x, const int64_t *multiples, int n, const char *name);

/* tf.zeros_like / tf.ones_like: "ZerosLike" / "OnesLike". */
TG_API tg_tensor *tg_zeros_like(tg_graph *g, tg_tensor *x, const char *name);
TG_API tg_tensor *tg_ones_like(tg_graph *g, tg_tensor *x, const char *name);

/* tf.one_hot(indices, depth, on_value=1, off_value=0, axis=-1, dtype): "OneHot"
 * named "one_hot" (or name) with the Consts "one_hot/on_value",
 * "one_hot/off_value" (of dtype) and "one_hot/depth" (int32). The output
 * adds a dimension of depth entries at axis (-1: last): on_value where the
 * index equals the position, off_value elsewhere; an index that is negative
 * or >= depth gives a row of off_value. TF's defaults are on 1, off 0,
 * axis -1, dtype float32 (pass them; C has no defaults). indices are int32
 * or int64. Not differentiable (TF registers none). Ownership: the graph's.
 * Errors (sticky, no op added): INVALID_ARGUMENT naming the op for
 * non-integer indices, depth < 0 ("depth must be non-negative, got: -1"),
 * axis < -1 ("axis must be >= -1") or past the output's rank ("Expected
 * axis to be -1 or between [0, 3).  But received: 4"), an invalid dtype. */
TG_API tg_tensor *tg_one_hot(tg_graph *g, tg_tensor *indices, int64_t depth, double on_value, double off_value,
                             int axis, tg_dtype dtype, const char *name);

/* tf.gather(params, indices, axis=0) (TF 1.15: GatherV2, batch_dims 0):
 * "GatherV2" (or name) with the Const "GatherV2/axis". The result is
 * params.shape[:axis] + indices.shape + params.shape[axis+1:]; params of any
 * dtype, indices int32 or int64, axis in [-rank, rank). As TF's CPU kernel
 * (validate_indices is ignored), an index outside [0, params.shape[axis])
 * fails the run with INVALID_ARGUMENT naming it: "indices[1,0] = 7 is not in
 * [0, 5)". Gradient: TF's is IndexedSlices, which tgraph does not have; it
 * is the dense equivalent (what TF gives once those slices are made dense):
 * UnsortedSegmentSum of the incoming gradient by index, so repeated indices
 * add up. It needs params of a fully known shape (UNIMPLEMENTED otherwise).
 * Ownership: the graph's. Errors (sticky, no op added): INVALID_ARGUMENT
 * naming the op for non-integer indices, a scalar params ("Shape must be at
 * least rank 1 but is rank 0") or an axis out of range ("Expected axis in
 * the range [-2, 2), but got 2"). */
TG_API tg_tensor *tg_gather(tg_graph *g, tg_tensor *params, tg_tensor *indices, int axis, const char *name);

/* tf.math.unsorted_segment_sum(data, segment_ids, num_segments):
 * "UnsortedSegmentSum" (or name) with the Const
 * "UnsortedSegmentSum/num_segments". output[j, ...] is the sum of the
 * data[i..., ...] whose segment_ids[i...] is j; segment_ids' shape is a
 * prefix of data's; the output is [num_segments] + data.shape[ids.rank:].
 * Negative ids are dropped (TF's CPU kernel), an id >= num_segments fails
 * the run: "segment_ids[3] = 5 is out of range [0, 4)". Gradient: TF's
 * (gather of the gradient by id, 0 for dropped rows). Ownership: the
 * graph's. Errors (sticky, no op added): INVALID_ARGUMENT naming the op for
 * bool data, non-integer ids, shapes that do not match or num_segments
 * outside [0, 2^31). */
TG_API tg_tensor *tg_unsorted_segment_sum(tg_graph *g, tg_tensor *data, tg_tensor *segment_ids, int64_t num_segments,
                                          const char *name);

#ifdef __cplusplus
}
#endif
#endif
