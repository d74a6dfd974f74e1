#!/usr/bin/env bash
# scripts/bench-vs-peer.py: Mantissa's bench JSON in its one-workload and
# several-workload forms against the PyTorch peer's console output.
# Usage: test_bench_vs_peer.sh WORK_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
table="$here/../../scripts/bench-vs-peer.py"
work="${1:?usage: test_bench_vs_peer.sh WORK_DIR}"
command -v python3 >/dev/null 2>&1 || { echo "SKIPPED: no python3"; exit 0; }
rm -rf "$work"
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

workload() {  # workload NAME FLOAT32 MIXED_FP16 MIXED_BF16 (steps/s)
  printf '{"workload": "%s", "backend": "cuda", "results": [' "$1"
  printf '{"policy": "float32", "steps_per_s": %s, "op_paths": []},' "$2"
  printf '{"policy": "mixed_float16", "steps_per_s": %s},' "$3"
  printf '{"policy": "mixed_bfloat16", "steps_per_s": %s}]}' "$4"
}
workload mlp 1000 2000 3000 >"$work/one.json"
{ echo "["; workload mlp 1000 2000 3000; echo ","; workload big 2 4 8; echo "]"; } >"$work/array.json"
{ workload mlp 1000 2000 3000; echo; workload big 2 4 8; } >"$work/concatenated.json"
cat >"$work/peer.txt" <<'PEER'
torch 2.11.0+cu130 | CUDA 13.0 | cuDNN 91900 | NVIDIA H100 80GB HBM3 sm_90 79 GiB 132 SMs
model variant       |      steps/s med (min-max) |  samples/s |  TFLOP/s | peak GiB | warm s | loss
mlp   fp32          |     500.0 ( 490.0- 510.0) |      64000 |     0.26 |     0.10 |    1.0 | 2.300
mlp   fp16          |    4000.0 (3900.0-4100.0) |     512000 |     2.05 |     0.10 |    1.0 | 2.300
mlp   bf16          |    1500.0 (1400.0-1600.0) |     192000 |     0.77 |     0.10 |    1.0 | 2.300
mlp   graph-bf16    |    6000.0 (5900.0-6100.0) |     768000 |     3.08 |     0.10 |    1.0 | 2.300
big   fp32          | FAILED OutOfMemoryError: CUDA out of memory
big   bf16          | skipped: -3 s of --budget left
PEER

for form in one array concatenated; do
  rc=0
  python3 "$table" "$work/$form.json" "$work/peer.txt" >"$work/$form.out" 2>&1 || rc=$?
  ((rc == 0)) || fail "$form: exit $rc: $(cat "$work/$form.out")"
  grep -Eq '^mlp +float32 +1000\.0 +fp32 +500\.0 +2\.00$' "$work/$form.out" || fail "$form: float32 row: $(cat "$work/$form.out")"
  grep -Eq '^mlp +mixed_float16 +2000\.0 +fp16 +4000\.0 +0\.50$' "$work/$form.out" || fail "$form: fp16 row"
  grep -Eq '^mlp +mixed_bfloat16 +3000\.0 +graph-bf16 +6000\.0 +0\.50$' "$work/$form.out" || fail "$form: graph-bf16 row"
done
grep -Eq '^big +float32 +2\.0 +fp32 +- +-' "$work/array.out" ||
  fail "array: a failed peer row must show as -: $(cat "$work/array.out")"

rc=0
python3 "$table" "$work/peer.txt" "$work/peer.txt" >"$work/none.out" 2>&1 || rc=$?
((rc == 1)) || fail "no bench results: exit $rc"

((failures == 0)) || exit 1
echo "bench-vs-peer: all checks passed"
