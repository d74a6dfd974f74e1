#!/usr/bin/env python3
"""Reads a safetensors file with nothing but the standard library and NumPy,
checks its layout against the format, and compares every tensor with a folder
of .npy files holding the fp32 values it was exported from.

    read_safetensors.py FILE --expect DIR --dtype f32|f16|bf16 [--meta KEY=VALUE]...

16-bit expectations are rounded here, independently of the engine: fp16 by
NumPy's astype (round to nearest even), bf16 by integer arithmetic on the fp32
bits. Every tensor must match bit for bit. Problems are printed as
"MISMATCH: ..." lines; the exit status is 1 if there were any.
"""
import argparse
import json
import pathlib
import struct
import sys

import numpy as np

NUMPY_DTYPE = {"F32": "<f4", "F16": "<f2", "BF16": "<u2"}
SIZE = {"F32": 4, "F16": 2, "BF16": 2}


def bf16_bits(values):
    """fp32 -> bf16 bit patterns, round to nearest even, NaN -> 0x7FC0."""
    u = values.astype("<f4").view("<u4").astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(values), np.uint16(0x7FC0), rounded)


def expected_bits(values, dtype):
    if dtype == "F32":
        return values.astype("<f4").view("<u4")
    if dtype == "F16":
        with np.errstate(over="ignore"):
            return values.astype("<f2").view("<u2")
    return bf16_bits(values)


def read(path):
    data = pathlib.Path(path).read_bytes()
    problems = []
    if len(data) < 8:
        sys.exit(f"{path}: only {len(data)} bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        sys.exit(f"{path}: header length {n} past the end of the file")
    raw_header = data[8 : 8 + n]
    text = raw_header.decode("utf-8")
    if n % 8:
        problems.append(f"header length {n} is not a multiple of 8")
    stripped = text.rstrip(" ")
    if not stripped.endswith("}") or len(text) - len(stripped) >= 8:
        problems.append("header is not JSON padded with at most 7 spaces")
    pairs = json.loads(text, object_pairs_hook=lambda kv: kv)
    keys = [k for k, _ in pairs]
    header = dict(pairs)
    if len(set(keys)) != len(keys):
        problems.append("duplicate keys in the header")
    names = [k for k in keys if k != "__metadata__"]
    if "__metadata__" in header and keys[0] != "__metadata__":
        problems.append("__metadata__ is not the first key")
    if names != sorted(names):
        problems.append(f"tensor keys are not sorted: {names}")
    metadata = dict(header.get("__metadata__") or [])
    for k, v in metadata.items():
        if not isinstance(v, str):
            problems.append(f"metadata {k!r} is not a string")

    body = data[8 + n :]
    position = 0
    tensors = {}
    for name in names:  # sorted order must also be the data order, with no gap
        entry = dict(header[name])
        dtype = entry["dtype"]
        shape = list(entry["shape"])
        begin, end = entry["data_offsets"]
        if begin != position:
            problems.append(f"tensor {name!r} starts at {begin}, expected {position}")
        count = int(np.prod(shape, dtype=np.int64))
        if dtype not in SIZE:
            problems.append(f"tensor {name!r}: unexpected dtype {dtype}")
            position = end
            continue
        if end - begin != count * SIZE[dtype]:
            problems.append(f"tensor {name!r}: {end - begin} bytes for {dtype} {shape}")
        array = np.frombuffer(body[begin:end], dtype=NUMPY_DTYPE[dtype]).reshape(shape)
        tensors[name] = (dtype, shape, array)
        position = end
    if position != len(body):
        problems.append(f"data region has {len(body)} bytes, tensors cover {position}")
    return tensors, metadata, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--expect", required=True, help="folder of <tensor>.npy fp32 values")
    parser.add_argument("--dtype", required=True, choices=["f32", "f16", "bf16"])
    parser.add_argument("--meta", action="append", default=[], help="KEY=VALUE the metadata must hold")
    args = parser.parse_args()
    want_dtype = args.dtype.upper()

    tensors, metadata, problems = read(args.file)
    expected = {p.name[: -len(".npy")]: np.load(p) for p in pathlib.Path(args.expect).glob("*.npy")}
    if not expected:
        sys.exit(f"no .npy files in {args.expect}")
    for name in sorted(set(expected) - set(tensors)):
        problems.append(f"tensor {name!r} is missing")
    for name in sorted(set(tensors) - set(expected)):
        problems.append(f"tensor {name!r} is not expected")
    for name in sorted(set(tensors) & set(expected)):
        dtype, shape, array = tensors[name]
        want = expected[name]
        if dtype != want_dtype:
            problems.append(f"tensor {name!r}: dtype {dtype}, expected {want_dtype}")
            continue
        if shape != list(want.shape):
            problems.append(f"tensor {name!r}: shape {shape}, expected {list(want.shape)}")
            continue
        got_bits = array.view(np.uint32 if dtype == "F32" else np.uint16)
        bad = np.flatnonzero(got_bits.ravel() != expected_bits(want, dtype).ravel())
        if bad.size:
            i = int(bad[0])
            problems.append(
                f"tensor {name!r}: {bad.size} values differ, first at {i}: "
                f"file {got_bits.ravel()[i]:#x}, expected {expected_bits(want, dtype).ravel()[i]:#x}"
                f" (from {want.ravel()[i]!r})")
    for pair in args.meta:
        key, _, value = pair.partition("=")
        if metadata.get(key) != value:
            problems.append(f"metadata {key!r} is {metadata.get(key)!r}, expected {value!r}")

    if problems:
        for p in problems:
            print(f"MISMATCH: {p}")
        return 1
    print(f"{args.file}: {len(tensors)} tensors, {want_dtype}, layout and every value as expected; "
          f"metadata keys {sorted(metadata)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
