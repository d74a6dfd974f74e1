#!/usr/bin/env bash
# scripts/find-cuda-libs.sh on fabricated library trees: NVIDIA's pip wheels
# (only the versioned libcudnn.so.9; nvidia/cu13/lib), a toolkit, and trees
# that lack libraries.
# Usage: test_find_cuda_libs.sh WORK_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
finder="$here/../../scripts/find-cuda-libs.sh"
work="${1:?usage: test_find_cuda_libs.sh WORK_DIR}"
rm -rf "$work"
mkdir -p "$work"
work="$(cd "$work" && pwd -P)"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
libs() {  # libs FOLDER NAME...: empty files standing for the libraries
  local dir="$1"
  shift
  mkdir -p "$dir"
  for name in "$@"; do : >"$dir/$name"; done
}
cudnn=(libcudnn.so.9 libcudnn_graph.so.9 libcudnn_ops.so.9 libcudnn_cnn.so.9 libcudnn_adv.so.9
  libcudnn_engines_precompiled.so.9 libcudnn_engines_runtime_compiled.so.9 libcudnn_heuristic.so.9)
# run NAME ROOTS [VAR=VALUE...]: the finder over ROOTS only; sets rc, out, err.
run() {
  local name="$1" roots="$2"
  shift 2
  rc=0
  env MANTISSA_CUDA_SEARCH="$roots" MANTISSA_CUDA_SEARCH_SYSTEM=0 "$@" bash "$finder" \
    >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  out="$(cat "$work/$name.out")"
  err="$(cat "$work/$name.err")"
}

# 1. pip wheels in a site-packages folder: one folder per wheel.
sp="$work/pip/lib/python3.12/site-packages"
libs "$sp/nvidia/cuda_runtime/lib" libcudart.so.13
libs "$sp/nvidia/cublas/lib" libcublas.so.13 libcublasLt.so.13
libs "$sp/nvidia/cudnn/lib" "${cudnn[@]}"
run pip "$sp"
((rc == 0)) || fail "pip layout: exit $rc: $err"
[[ "$out" == "$sp/nvidia/cuda_runtime/lib"$'\n'"$sp/nvidia/cublas/lib"$'\n'"$sp/nvidia/cudnn/lib" ]] ||
  fail "pip layout: folders printed: $out"
grep -qx "libcudnn.so.9: $sp/nvidia/cudnn/lib (MANTISSA_CUDA_SEARCH)" <<<"$err" ||
  fail "pip layout: where libcudnn.so.9 came from is not reported: $err"
grep -q "^libnvrtc.so.13: not found (optional)" <<<"$err" || fail "pip layout: optional nvrtc not reported: $err"
# The same wheels found from the venv's prefix.
run venv "$work/pip"
((rc == 0)) || fail "venv prefix: exit $rc: $err"
[[ "$(wc -l <<<"$out")" == 3 ]] || fail "venv prefix: folders printed: $out"

# 2. CUDA 13 wheels: the runtime, cuBLAS and NVRTC together in nvidia/cu13/lib.
sp13="$work/pip13/site-packages"
libs "$sp13/nvidia/cu13/lib" libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13
libs "$sp13/nvidia/cudnn/lib" "${cudnn[@]}"
run cu13 "$sp13"
((rc == 0)) || fail "cu13 layout: exit $rc: $err"
[[ "$out" == "$sp13/nvidia/cu13/lib"$'\n'"$sp13/nvidia/cudnn/lib" ]] || fail "cu13 layout: folders printed: $out"
grep -q "^libnvrtc.so.13: $sp13/nvidia/cu13/lib" <<<"$err" || fail "cu13 layout: nvrtc: $err"

# 3. A toolkit: targets/x86_64-linux/lib with lib64 linking to it, cuDNN
# copied in; named by MANTISSA_CUDA_SEARCH, then by CUDA_HOME.
tk="$work/cuda-13.0"
libs "$tk/targets/x86_64-linux/lib" libcudart.so.13 libcublas.so.13 libcublasLt.so.13 "${cudnn[@]}"
ln -s targets/x86_64-linux/lib "$tk/lib64"
run toolkit "$tk"
((rc == 0)) || fail "toolkit layout: exit $rc: $err"
[[ "$out" == "$tk/targets/x86_64-linux/lib" ]] || fail "toolkit layout: folders printed (once): $out"
rc=0
env -u MANTISSA_CUDA_SEARCH CUDA_HOME="$tk" bash "$finder" >"$work/home.out" 2>"$work/home.err" || rc=$?
((rc == 0)) || fail "CUDA_HOME: exit $rc: $(cat "$work/home.err")"
grep -qx "libcudart.so.13: $tk/targets/x86_64-linux/lib (toolkit)" "$work/home.err" ||
  fail "CUDA_HOME is not searched first: $(cat "$work/home.err")"

# 4. cuDNN's sub-libraries come from libcudnn.so.9's folder even when an
# earlier root has one of them.
libs "$work/stray" libcudnn_ops.so.9
run siblings "$work/stray:$sp"
((rc == 0)) || fail "siblings: exit $rc: $err"
grep -qx "libcudnn_ops.so.9: $sp/nvidia/cudnn/lib (MANTISSA_CUDA_SEARCH)" <<<"$err" ||
  fail "siblings: libcudnn_ops.so.9 not taken from libcudnn.so.9's folder: $err"

# 5. Missing libraries: a non-zero exit naming each one; what was found is
# still printed. A dangling link does not count as found.
broken="$work/broken/site-packages"
libs "$broken/nvidia/cuda_runtime/lib" libcudart.so.13
libs "$broken/nvidia/cublas/lib" libcublas.so.13
libs "$broken/nvidia/cudnn/lib" libcudnn.so.9 libcudnn_graph.so.9 libcudnn_ops.so.9 \
  libcudnn_engines_precompiled.so.9 libcudnn_heuristic.so.9
ln -s nowhere.so "$broken/nvidia/cublas/lib/libcublasLt.so.13"
run missing "$broken"
((rc != 0)) || fail "missing libraries: exit 0"
grep -qx "not found: libcublasLt.so.13" <<<"$err" || fail "missing libraries: cuBLASLt not named: $err"
grep -qx "not found: libcudnn_cnn.so.9" <<<"$err" || fail "missing libraries: libcudnn_cnn not named: $err"
grep -q "not found: libcudart" <<<"$err" && fail "missing libraries: libcudart named though present: $err"
[[ "$(wc -l <<<"$out")" == 3 ]] || fail "missing libraries: found folders not printed: $out"
run nothing "$work/empty"
((rc != 0)) || fail "no tree: exit 0"
[[ "$(grep -c '^not found: ' <<<"$err")" == 9 ]] || fail "no tree: not every required library named: $err"

# 6. Sourced, it defines the function and runs nothing.
sourced="$(MANTISSA_CUDA_SEARCH="$sp" MANTISSA_CUDA_SEARCH_SYSTEM=0 bash -c \
  'source "$1"; mantissa_find_cuda_libs 2>/dev/null' _ "$finder")" || fail "sourced: the function failed"
[[ "$sourced" == "$(cat "$work/pip.out")" ]] || fail "sourced: printed $sourced"

((failures == 0)) || exit 1
echo "find-cuda-libs: all checks passed"
