#!/usr/bin/env python3
"""Mantissa's `bench --json` throughput beside the PyTorch peer's, per workload and policy.

    bench-vs-peer.py BENCH_JSON PEER_OUTPUT

BENCH_JSON: what `mantissa bench ... --json` printed: one workload object
({"workload": ..., "results": [{"policy": ..., "steps_per_s": ...}]}), an array
of them, an object holding them, or several such documents one after another.
PEER_OUTPUT: the console output of ../shared/peers/torch_gpu_amp.py, whose rows
read "mlp   fp16          |    1234.5 (1200.0-1250.0) | ...".

Prints a table: float32 against fp32, mixed_float16 against fp16 (autocast and
GradScaler), mixed_bfloat16 against bf16 and, as Mantissa replays a captured
step by default, also against graph-bf16; ratio = Mantissa / peer; matmuls
= the bench's library_path_calls / fallback_path_calls where it reports them
(fused library calls against unfused fallbacks). Exits 1 when either input
yields no throughput at all.
"""
import json
import re
import sys

PEER_VARIANTS = {"float32": ["fp32"], "mixed_float16": ["fp16"], "mixed_bfloat16": ["bf16", "graph-bf16"]}
PEER_ROW = re.compile(r"^(\w+)\s+([\w-]+)\s+\|\s+([0-9.]+)\s+\(")


def json_documents(text):
    """Every JSON value in text, also when several are printed one after another."""
    decoder, pos, docs = json.JSONDecoder(), 0, []
    while True:
        start = min((i for i in (text.find("{", pos), text.find("[", pos)) if i >= 0), default=-1)
        if start < 0:
            return docs
        try:
            doc, pos = decoder.raw_decode(text, start)
            docs.append(doc)
        except json.JSONDecodeError:
            pos = start + 1


def workload_objects(value):
    """Every object with a "workload" name and a "results" list, wherever it is nested."""
    if isinstance(value, dict):
        if isinstance(value.get("workload"), str) and isinstance(value.get("results"), list):
            yield value
            return
        for key, item in value.items():
            # {"mlp": {"results": [...]}}: the workload named by its key
            if isinstance(item, dict) and "workload" not in item and isinstance(item.get("results"), list):
                yield dict(item, workload=key)
            else:
                yield from workload_objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from workload_objects(item)


def bench_rates(text):
    """{(workload, policy): (steps/s, "library/fallback" matmul calls or "")}"""
    rates = {}
    for doc in json_documents(text):
        for w in workload_objects(doc):
            for r in w["results"]:
                if isinstance(r, dict) and isinstance(r.get("steps_per_s"), (int, float)):
                    paths = ""
                    if "library_path_calls" in r and "fallback_path_calls" in r:
                        paths = f"{r['library_path_calls']}/{r['fallback_path_calls']}"
                    rates[(w["workload"], str(r.get("policy")))] = (float(r["steps_per_s"]), paths)
    return rates


def peer_rates(text):
    rates = {}
    for line in text.splitlines():
        m = PEER_ROW.match(line.strip())
        if m:
            rates[(m.group(1), m.group(2))] = float(m.group(3))
    return rates


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        ours = bench_rates(f.read())
    with open(sys.argv[2], encoding="utf-8", errors="replace") as f:
        peer = peer_rates(f.read())
    if not ours or not peer:
        print(f"bench-vs-peer: no throughput found in {sys.argv[1] if not ours else sys.argv[2]}")
        return 1
    print(f"{'workload':8s} {'policy':15s} {'mantissa steps/s':>16s}  {'peer':10s} {'peer steps/s':>12s} "
          f"{'ratio':>7s}  matmuls")
    order = {"mlp": 0, "cnn": 1, "big": 2, "float32": 0, "mixed_float16": 1, "mixed_bfloat16": 2}
    for workload, policy in sorted(ours, key=lambda k: (order.get(k[0], 9), k[0], order.get(k[1], 9), k[1])):
        rate, paths = ours[(workload, policy)]
        for variant in PEER_VARIANTS.get(policy, []) or ["-"]:
            theirs = peer.get((workload, variant))
            ratio = f"{rate / theirs:7.2f}" if theirs else "      -"
            shown = f"{theirs:12.1f}" if theirs else f"{'-':>12s}"
            print(f"{workload:8s} {policy:15s} {rate:16.1f}  {variant:10s} {shown} {ratio}  {paths}".rstrip())
    print("ratio: Mantissa / peer (above 1: Mantissa is faster); matmuls: library / fallback calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
