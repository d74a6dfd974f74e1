#!/usr/bin/env bash
# scripts/gpu-bundle.sh --from BUILD into a folder of its own, then
# scripts/gpu-run.sh on that bundle without a GPU: it must find its programs
# and libraries, run the host checks, say "no CUDA device: <why>" in
# summary.txt and on stderr, and exit with the no-device status 3.
# Usage: test_gpu_dry_run.sh BUILD_DIR WORK_DIR PROGRAM...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:?usage: test_gpu_dry_run.sh BUILD_DIR WORK_DIR PROGRAM...}"
work="${2:?usage: test_gpu_dry_run.sh BUILD_DIR WORK_DIR PROGRAM...}"
shift 2
for program in "$@"; do
  [[ -x "$program" ]] || { echo "FAIL: $program is not built (build mantissa_engine_tests, mantissa and mantissa_io_fixtures first)" >&2; exit 1; }
done
rm -rf "$work"
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# ---- bundle -----------------------------------------------------------------------
bundle="$work/bundle"
rc=0
bash "$root/scripts/gpu-bundle.sh" --from "$build" --out "$bundle" >"$work/bundle.out" 2>"$work/bundle.err" || rc=$?
if ((rc != 0)); then
  echo "FAIL: gpu-bundle.sh --from $build: exit $rc" >&2
  cat "$work/bundle.err" >&2
  exit 1
fi
# The last line names the bundle, relative to the repository root when inside it.
last="$(tail -n1 "$work/bundle.out")"
[[ "$last" == /* ]] || last="$root/$last"
[[ "$(cd "$last" 2>/dev/null && pwd -P)" == "$(cd "$bundle" && pwd -P)" ]] ||
  fail "gpu-bundle.sh's last line is not the bundle: $(tail -n1 "$work/bundle.out")"
for f in bin/mantissa_engine_tests bin/mantissa bin/mantissa_io_fixtures tests/check_onnx.py MANIFEST; do
  [[ -e "$bundle/$f" ]] || fail "the bundle has no $f"
done
[[ -e "$root/.gpu-bundle/MANIFEST" && "$root/.gpu-bundle" -nt "$work/bundle.out" ]] &&
  fail "gpu-bundle.sh --out wrote into .gpu-bundle"
grep -q '^commit: ' "$bundle/MANIFEST" || fail "MANIFEST has no commit line"
# glibc's own libraries, the driver and CUDA's stay behind.
for f in "$bundle"/lib/*; do
  case "${f##*/}" in
    libc.so* | libm.so* | libcuda.so* | libcudart* | libcublas* | libcudnn*) fail "bundled ${f##*/}" ;;
  esac
done
[[ -e "$bundle/fallback/libstdc++.so.6" ]] || fail "the bundle has no fallback/libstdc++.so.6"

# ---- run: --dry-run, and the natural no-device path where there is no GPU --------------
check_run() {  # check_run NAME ARGS...
  local name="$1" out="$work/$1" rc=0
  shift
  local start=$SECONDS
  (cd "$root" && bash scripts/gpu-run.sh "$@" --bundle "$bundle" "$out") >"$work/$name.stdout" 2>"$work/$name.stderr" || rc=$?
  ((rc == 3)) || fail "$name: exit $rc, expected 3 (no CUDA device); stderr: $(tail -n 5 "$work/$name.stderr")"
  grep -q 'no CUDA device: ' "$work/$name.stderr" || fail "$name: stderr does not say 'no CUDA device: ...'"
  [[ -f "$out/summary.txt" ]] || { fail "$name: no summary.txt"; return; }
  grep -q '^result: NO DEVICE (exit 3): no CUDA device: .' "$out/summary.txt" ||
    fail "$name: summary.txt has no reason: $(cat "$out/summary.txt")"
  grep -Eq '^(PASS|FAIL) +libraries ' "$out/summary.txt" || fail "$name: the library step did not run"
  grep -q 'mantissa devices (exit 0)' "$out/device.txt" || fail "$name: bin/mantissa did not run: $(cat "$out/device.txt")"
  grep -Eq '^PASS +tests.host .* [1-9][0-9]* passed' "$out/summary.txt" ||
    fail "$name: the host checks did not pass: $(grep tests.host "$out/summary.txt")"
  (($(find "$out" -type f | wc -l) <= 8)) || fail "$name: more than 8 result files"
  echo "$name: exit $rc in $((SECONDS - start)) s"
}
check_run dry-run --dry-run
grep -q 'dry run' "$work/dry-run/summary.txt" || fail "dry-run: the reason does not name the dry run"
if ! command -v nvidia-smi >/dev/null 2>&1; then
  check_run no-gpu
fi

((failures == 0)) || exit 1
rm -rf "$bundle"
echo "gpu dry run: all checks passed"
