#!/usr/bin/env python3
"""Checks Mantissa's per-tensor numerics against NumPy.

For each tensor the fixture program stored (raw values in their storage
dtype), recomputes the statistics words and the binade histogram with NumPy
from the fp32 bit patterns, and compares them with the words the backend
wrote. Prints "MISMATCH: ..." and exits 1 on the first difference.
"""
import argparse
import sys

import numpy as np

INF = 0x7F800000
FLUSH_F16 = 0x33000000
NORMAL_F16 = 0x38800000
SATURATE_F16 = 0x477FF000
FLUSH_BF16 = 0x00008000
NORMAL_F32 = 0x00800000
LOW_EXP, HIGH_EXP = -40, 23
BINS = 2 + (HIGH_EXP - LOW_EXP + 1) + 1


def widen(raw, dtype):
    """The stored values as fp32 bit patterns (uint32)."""
    if dtype == "f32":
        return raw.view(np.uint32)
    if dtype == "bf16":
        return raw.view(np.uint16).astype(np.uint32) << 16
    return raw.view(np.float16).astype(np.float32).view(np.uint32)


def words_of(bits):
    a = bits & 0x7FFFFFFF
    finite = a < INF
    nz = a != 0
    return np.array([
        a[finite].max() if finite.any() else 0,
        np.count_nonzero(bits == INF),
        np.count_nonzero(bits == (INF | 0x80000000)),
        np.count_nonzero(a > INF),
        np.count_nonzero(a == 0),
        np.count_nonzero(nz & (a < FLUSH_F16)),
        np.count_nonzero(nz & (a < FLUSH_BF16)),
        np.count_nonzero((a >= FLUSH_F16) & (a < NORMAL_F16)),
        np.count_nonzero(finite & (a >= SATURATE_F16)),
        a.size,
    ], dtype=np.uint64)


def histogram_of(bits):
    a = bits & 0x7FFFFFFF
    h = np.zeros(BINS, dtype=np.uint64)
    h[0] = np.count_nonzero(a == 0)
    h[1] = np.count_nonzero((a != 0) & (a < NORMAL_F32))
    h[BINS - 1] = np.count_nonzero(a >= INF)
    normal = a[(a >= NORMAL_F32) & (a < INF)]
    e = np.clip((normal >> 23).astype(np.int64) - 127, LOW_EXP, HIGH_EXP)
    h[2:BINS - 1] = np.bincount(e - LOW_EXP, minlength=HIGH_EXP - LOW_EXP + 1)
    return h


NAMES = ["amax bits", "+inf", "-inf", "NaN", "zeros", "flush f16", "flush bf16",
         "subnormal f16", "saturate f16", "count"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--cases", help="comma-separated case names (default: DIR/cases.txt)")
    args = ap.parse_args()
    cases = args.cases or open(f"{args.dir}/cases.txt").read().strip()
    for case in cases.split(","):
        dtype = case.split(".")[0]
        raw = np.load(f"{args.dir}/{case}.values.npy")
        bits = widen(raw, dtype)
        words = np.load(f"{args.dir}/{case}.words.npy").astype(np.uint64)
        hist = np.load(f"{args.dir}/{case}.histogram.npy").astype(np.uint64)
        want = words_of(bits)
        for k, name in enumerate(NAMES):
            if words[k] != want[k]:
                print(f"MISMATCH: {case}: {name} is {int(words[k])}, NumPy says {int(want[k])}")
                return 1
        want_h = histogram_of(bits)
        diff = np.nonzero(hist != want_h)[0]
        if diff.size:
            b = int(diff[0])
            print(f"MISMATCH: {case}: histogram bin {b} is {int(hist[b])}, NumPy says {int(want_h[b])}")
            return 1
        print(f"{case}: {bits.size} values, every word and bin agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
