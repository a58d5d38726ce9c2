#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora: fuzz/corpus_idx and fuzz/corpus_checkpoint.

A few small valid inputs (and near misses) in the formats of
fuzz/fuzz_idx.c (u32 LE images length, images file, labels file) and
fuzz/fuzz_checkpoint.c (a checkpoint of its five variables,
docs/checkpoint-format.md). Deterministic for a given zlib (gzip members
carry mtime 0). Run from anywhere; needs Python 3 only. The fuzzers only
read these: what they find goes to build-fuzz/ and fuzz/regressions/.
"""
import gzip
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(dirname, name, data):
    d = os.path.join(HERE, dirname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def idx_images(n, rows, cols):
    pixels = bytes((i * 37 + 11) % 256 for i in range(n * rows * cols))
    return struct.pack(">IIII", 0x803, n, rows, cols) + pixels


def idx_labels(n):
    return struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))


def idx_input(images, labels):
    return struct.pack("<I", len(images)) + images + labels


def corpus_idx():
    im, lb = idx_images(3, 2, 2), idx_labels(3)
    write("corpus_idx", "raw", idx_input(im, lb))
    write("corpus_idx", "gzip", idx_input(gz(im), gz(lb)))
    write("corpus_idx", "gzip-images", idx_input(gz(im), lb))
    half = len(im) // 2
    write("corpus_idx", "two-members", idx_input(gz(im[:half]) + gz(im[half:]), gz(lb)))
    write("corpus_idx", "empty", idx_input(idx_images(0, 28, 28), idx_labels(0)))
    big, big_lb = idx_images(5, 8, 8), idx_labels(5)
    write("corpus_idx", "gzip-8x8", idx_input(gz(big), gz(big_lb)))
    write("corpus_idx", "short-labels", idx_input(im, lb[:-1]))


def entry(name, dtype, dims, data):
    fmt = {0: "<%df", 1: "<%dd", 2: "<%di", 3: "<%dq", 4: "<%dB"}[dtype]
    count = 1
    for d in dims:
        count *= d
    payload = struct.pack(fmt % count, *data)
    head = struct.pack("<I", len(name)) + name.encode() + struct.pack("<II", dtype, len(dims))
    head += b"".join(struct.pack("<q", d) for d in dims)
    return head + struct.pack("<Q", len(payload)) + payload


def checkpoint(entries):
    body = b"TGCKPT\0\0" + struct.pack("<II", 1, len(entries)) + b"".join(entries)
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def corpus_checkpoint():
    w = entry("layer/w", 0, [2, 3], [1.5, -2, 3.25, 4, 5, -6e-7])
    b = entry("layer/b", 1, [3], [0.1, -0.2, 1e300])
    step = entry("step", 3, [], [1234567890123])
    counts = entry("counts", 2, [2, 2, 2], [1, -2, 3, -4, 5, 2147483647, -2147483648, 0])
    mask = entry("mask", 4, [4], [1, 0, 1, 1])
    write("corpus_checkpoint", "all", checkpoint([w, b, step, counts, mask]))
    write("corpus_checkpoint", "reordered", checkpoint([mask, counts, step, b, w]))
    extra = entry("other/v", 0, [2, 0], [])
    write("corpus_checkpoint", "w-and-unheld", checkpoint([entry("u", 3, [1], [7]), w, extra]))
    write("corpus_checkpoint", "empty", checkpoint([]))
    write("corpus_checkpoint", "wrong-shape", checkpoint([entry("layer/w", 0, [3, 2], [0] * 6), b, step, counts, mask]))


if __name__ == "__main__":
    corpus_idx()
    corpus_checkpoint()
