/* tgraph/data.h: IDX data sets (MNIST, Fashion-MNIST) and a batch iterator.
 *
 * tg_data_load_idx reads an IDX images file (magic 0x00000803, uint8
 * [n, rows, cols]) and an IDX labels file (magic 0x00000801, uint8 [n]),
 * each raw or gzip'd (detected from the 1f 8b magic), and keeps them as
 * uint8 in memory. Every malformed file is an error whose message starts
 * with the file's path; nothing is read short silently.
 *
 * A tg_batch_iter walks a data set in batches of float32 images scaled to
 * [0, 1] (NHWC [b, rows, cols, 1] or NCHW [b, 1, rows, cols]) and int64
 * labels [b], shuffled per epoch from a seed.
 *
 * Errors: the loaders return a tg_code and write the message into the
 * caller's err buffer (truncated to err_size; err may be NULL).
 *
 * Files are treated as untrusted: only regular files are read (a FIFO or a
 * device is refused without blocking), each header is checked against the
 * file's size and TG_IDX_MAX_BYTES before any memory is taken for the data,
 * and a gzip file is inflated as a stream, so a file whose header lies costs
 * no more memory than the bytes it really holds. */
#ifndef TGRAPH_DATA_H
#define TGRAPH_DATA_H

#include "base.h"
#include "nn_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most data bytes (n * rows * cols for images, n for labels) one IDX
 * file may hold: 2 GiB, 40 times Fashion-MNIST's training set. A header
 * that claims more is refused before anything is allocated. */
#define TG_IDX_MAX_BYTES ((uint64_t)1 << 31)

typedef struct tg_idx_dataset tg_idx_dataset;
typedef struct tg_batch_iter tg_batch_iter;

/* Loads images_path and labels_path (each raw or gzip'd).
 * Ownership: on success *out is a new data set the caller frees with
 * tg_idx_dataset_free; on failure *out is NULL.
 * Errors, each message naming the file:
 *   INVALID_ARGUMENT: a NULL argument, a path that is not a regular file
 *     ("is a directory", "not a regular file (a FIFO)"), a wrong magic, an
 *     image dimension of 0 or over 65535, or image and label counts that
 *     differ (found from the labels header, before its data is read);
 *   NOT_FOUND: a missing file; PERMISSION_DENIED / UNKNOWN: other open or
 *     read failures (with strerror);
 *   DATA_LOSS: a header whose dimensions do not match the data (truncated
 *     or trailing bytes: a raw file's size must be exactly header + data, a
 *     gzip file must inflate to exactly that, and may not claim more than
 *     1032 times its own size, deflate's limit), or a truncated or corrupt
 *     gzip stream (also trailing data after it);
 *   RESOURCE_EXHAUSTED: a header claiming more than TG_IDX_MAX_BYTES of
 *     data, or out of memory.
 * Label values are not checked against a class count. */
TG_API tg_code tg_data_load_idx(const char *images_path, const char *labels_path,
                                tg_idx_dataset **out, char *err, size_t err_size);

/* Loads split ("train" or "t10k") from dir using the standard names
 * <split>-images-idx3-ubyte and <split>-labels-idx1-ubyte, each tried raw
 * first and then with ".gz" appended.
 * Ownership and errors: as tg_data_load_idx; NOT_FOUND names the directory and
 * both names tried when neither file exists; INVALID_ARGUMENT for a NULL or
 * empty split or one containing '/'. */
TG_API tg_code tg_data_load_idx_dir(const char *dir, const char *split, tg_idx_dataset **out,
                                    char *err, size_t err_size);

/* NULL is ignored. An iterator on d must be freed first. */
TG_API void tg_idx_dataset_free(tg_idx_dataset *d);

/* Number of examples, rows and columns of each image (0 for NULL). */
TG_API int64_t tg_idx_dataset_count(const tg_idx_dataset *d);
TG_API int tg_idx_dataset_rows(const tg_idx_dataset *d);
TG_API int tg_idx_dataset_cols(const tg_idx_dataset *d);
/* Label i (0..255); -1 for NULL or i out of range. */
TG_API int tg_idx_dataset_label(const tg_idx_dataset *d, int64_t i);
/* The rows * cols pixels of image i, row-major, or with i == 0 all images
 * back to back ([count, rows, cols]); NULL for NULL, i out of range, or an
 * empty data set. Ownership: owned by d, valid until it is freed. */
TG_API const uint8_t *tg_idx_dataset_image(const tg_idx_dataset *d, int64_t i);
/* All count labels. Ownership and NULL cases: as tg_idx_dataset_image. */
TG_API const uint8_t *tg_idx_dataset_labels(const tg_idx_dataset *d);

/* An iterator over d in batches of batch_size for one epoch at a time.
 * With shuffle, epoch e visits the examples in a permutation that depends
 * only on (seed, e): the same for the same seed, different across seeds and
 * epochs. Without it, in file order.
 * Ownership: free with tg_batch_iter_free; d is borrowed and must outlive
 * the iterator. Errors: NULL for a NULL d, batch_size < 1, a format other
 * than TG_NHWC / TG_NCHW, or out of memory. */
TG_API tg_batch_iter *tg_batch_iter_new(const tg_idx_dataset *d, int batch_size, bool shuffle,
                                        uint64_t seed, tg_data_format format);
/* The next batch: *images float32 [b, rows, cols, 1] (NHWC) or
 * [b, 1, rows, cols] (NCHW) with pixel / 255, *labels int64 [b]. b is
 * batch_size except for the last, partial batch of an epoch (its real size).
 * Returns false, leaving both untouched, at the end of the epoch (and after
 * it, until tg_batch_iter_reset) or on an error.
 * Ownership: as tg_session_run outputs: a NULL entry gets a new array; a
 * non-NULL entry must be a tg_array from an earlier call (or tg_array_new)
 * and is overwritten in place when its dtype and shape already match (every
 * full batch), else freed and replaced. The caller frees both with
 * tg_array_free. Errors: false with tg_batch_iter_status RESOURCE_EXHAUSTED
 * when out of memory; INVALID_ARGUMENT for a NULL argument. */
TG_API bool tg_batch_iter_next(tg_batch_iter *it, tg_array **images, tg_array **labels);
/* Data-parallel sharding (Horovod's dataset.shard for data parallel
 * training): from now on tg_batch_iter_next returns only the batches k of
 * each epoch with k % size == rank, the batches cut from the one order
 * every rank computes alike (the same seed: the same permutation), so
 * ranks 0..size-1 together see each example of an epoch exactly once, in
 * the batches one unsharded iterator would give. A pure function of (rank,
 * size): no MPI is needed (pass tg_mpi_rank(), tg_mpi_size()). The counts
 * of batches may differ by one between ranks (and the last batch may be
 * partial): a loop that runs collectives per batch must stop where the
 * shortest shard does. The current epoch restarts from its beginning
 * (same permutation); size 1, rank 0 undoes sharding.
 * Errors: INVALID_ARGUMENT for a NULL it, size < 1 or rank outside
 * [0, size) (the iterator unchanged). */
TG_API tg_code tg_batch_iter_shard(tg_batch_iter *it, int rank, int size);
/* Starts the next epoch (reshuffled when shuffling). NULL is ignored. */
TG_API void tg_batch_iter_reset(tg_batch_iter *it);
/* The current epoch, 0 for the first. -1 for NULL. */
TG_API int64_t tg_batch_iter_epoch(const tg_batch_iter *it);
/* TG_OK, or the error of the last tg_batch_iter_next. */
TG_API tg_code tg_batch_iter_status(const tg_batch_iter *it);
/* NULL is ignored. */
TG_API void tg_batch_iter_free(tg_batch_iter *it);

#ifdef __cplusplus
}
#endif
#endif
