#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora: fuzz/corpus_idx, fuzz/corpus_checkpoint and
fuzz/corpus_checkpoint_v2.

A few small valid inputs (and near misses) in the formats of
fuzz/fuzz_idx.c (u32 LE images length, images file, labels file) and
fuzz/fuzz_checkpoint.c (a checkpoint of its five variables,
docs/checkpoint-format.md), fuzz/fuzz_checkpoint_v2.c (u32 LE index length,
a TensorFlow V2 index, its data file: the three TF-written checkpoints of
tests/data/tf and bundles of every dtype written here). Deterministic for a given zlib (gzip members
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


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 & -(c & 1))
    return c ^ 0xFFFFFFFF


def masked(crc):
    """TF's crc32c::Mask."""
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(v):
    v &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    return bytes(out + bytes([v]))


def block(entries, snappy=False):
    """A LevelDB block of full keys with one restart point, and its trailer;
    snappy stores it as Snappy literals (a valid Snappy stream)."""
    raw = b"".join(varint(0) + varint(len(k)) + varint(len(v)) + k + v for k, v in entries)
    raw += struct.pack("<II", 0, 1)
    body, kind = raw, 0
    if snappy:
        body, kind = varint(len(raw)), 1
        for i in range(0, len(raw), 60):
            chunk = raw[i:i + 60]
            body += bytes([(len(chunk) - 1) << 2]) + chunk
    return body + bytes([kind]) + struct.pack("<I", masked(crc32c(body + bytes([kind])))), len(body)


def table(entries, snappy=False):
    data, data_n = block(entries, snappy)
    meta, meta_n = block([])
    index, index_n = block([(b"\xff", varint(0) + varint(data_n))])
    meta_off, index_off = len(data), len(data) + len(meta)
    handles = varint(meta_off) + varint(meta_n) + varint(index_off) + varint(index_n)
    footer = handles + bytes(40 - len(handles)) + struct.pack("<Q", 0xDB4775248B80FB57)
    return data + meta + index + footer


def bundle_entry(dtype, dims, offset, payload):
    shape = b"".join(b"\x12" + varint(len(d)) + d for d in (b"\x08" + varint(x) if x else b"" for x in dims))
    e = b"\x08" + varint(dtype) + b"\x12" + varint(len(shape)) + shape
    e += (b"\x20" + varint(offset) if offset else b"") + (b"\x28" + varint(len(payload)) if payload else b"")
    return e + b"\x35" + struct.pack("<I", masked(crc32c(payload)))


def bundle(tensors, snappy=False, header=b"\x08\x01\x1a\x02\x08\x01"):
    """(index, data) of a V2 checkpoint; tensors: (name, TF dtype, dims, struct format, values)."""
    entries, data = [(b"", header)], b""
    for name, dtype, dims, fmt, values in sorted(tensors):
        payload = struct.pack("<" + fmt * len(values), *values)
        entries.append((name.encode(), bundle_entry(dtype, dims, len(data), payload)))
        data += payload
    return table(entries, snappy), data


def v2_input(index, data):
    return struct.pack("<I", len(index)) + index + data


def corpus_checkpoint_v2():
    tf = os.path.join(HERE, "..", "tests", "data", "tf")
    for model in ("half_plus_two_cpu", "half_plus_three", "counter"):
        with open(os.path.join(tf, model, "variables.index"), "rb") as f:
            index = f.read()
        with open(os.path.join(tf, model, "variables.data-00000-of-00001"), "rb") as f:
            data = f.read()
        write("corpus_checkpoint_v2", "tf-" + model, v2_input(index, data))
    tensors = [("layer/w", 1, [2, 3], "f", [1.5, -2, 3.25, 4, 5, -6e-7]), ("layer/b", 2, [3], "d", [0.1, -0.2, 1e300]),
               ("step", 9, [], "q", [1234567890123]), ("counts", 3, [2, 2, 2], "i", [1, -2, 3, -4, 5, 7, -8, 0]),
               ("mask", 10, [4], "B", [1, 0, 1, 1]), ("empty", 1, [2, 0], "f", []), ("bytes", 4, [3], "B", [7, 8, 9])]
    write("corpus_checkpoint_v2", "every-dtype", v2_input(*bundle(tensors)))
    write("corpus_checkpoint_v2", "every-dtype-snappy", v2_input(*bundle(tensors, snappy=True)))
    big_endian = b"\x08\x01\x10\x01\x1a\x02\x08\x01"
    write("corpus_checkpoint_v2", "big-endian", v2_input(*bundle(tensors[:2], header=big_endian)))
    write("corpus_checkpoint_v2", "header-only", v2_input(*bundle([])))


if __name__ == "__main__":
    corpus_idx()
    corpus_checkpoint()
    corpus_checkpoint_v2()
