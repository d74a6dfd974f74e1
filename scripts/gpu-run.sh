#!/usr/bin/env bash
# Runs the GPU checks of a bundle made by scripts/gpu-bundle.sh, on a GPU
# machine that has the CUDA libraries (toolkit or pip wheels) but builds
# nothing. Run it from the repository root; it ends within
# $MANTISSA_GPU_RUN_BUDGET seconds (default 450), every step under `timeout`.
#
# Usage: scripts/gpu-run.sh [--dry-run] [--bundle DIR] OUTDIR
#   --dry-run     take the no-device path even if a GPU is present: check the
#                 bundle and its libraries, run the host tests, skip the rest
#   --bundle DIR  the bundle (default .gpu-bundle, or $MANTISSA_GPU_BUNDLE)
# Steps: CUDA libraries and device information; the GPU test suites in five
# groups (elementwise / casts / optimizer, matmul with cuBLASLt's log, conv /
# pooling / norms with cuDNN's log, training, host checks) and any other
# Cuda test; compute-sanitizer memcheck over the own kernels; `mantissa bench
# mlp cnn big` on cuda and the PyTorch peer (peers/torch_gpu_amp.py) beside
# it; the ONNX fixtures computed on cuda and checked by check_onnx.py.
# OUTDIR receives at most 8 files:
#   summary.txt  one line per step (PASS / FAIL / SKIP, seconds, detail), the
#                bench-vs-peer table and the result
#   device.txt   host, nvidia-smi, where each CUDA library came from, the
#                library path, ldd, `mantissa devices`, the bundle's MANIFEST
#   tests.txt    each test group's console output (trimmed) and the ONNX checks
#   cublaslt.log, cudnn.log  the libraries' logs of the matmul and the
#                convolution group (the last 200 KiB)
#   memcheck.txt compute-sanitizer's output
#   bench.json   `mantissa bench --json` (stdout)
#   perf.txt     the bench's stderr (MANTISSA_CUDA_LOG=1: one line per new
#                plan), the peer's output and the table
# Exit status: 0 every step passed (skipped steps are named in summary.txt);
# 1 a step failed; 2 usage error or an unusable bundle; 3 no CUDA device (the
# reason is in summary.txt and on stderr; the GPU steps were skipped).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

usage() {
  sed -n '2,31p' "$0" >&2
  exit 2
}
dry_run=0
bundle="${MANTISSA_GPU_BUNDLE:-$MANTISSA_ROOT/.gpu-bundle}"
outdir=""
while (($#)); do
  case "$1" in
    --dry-run) dry_run=1; shift ;;
    --bundle) (($# >= 2)) || usage; bundle="$2"; shift 2 ;;
    -h | --help) sed -n '2,31p' "$0"; exit 0 ;;
    -*) echo "error: unknown option $1" >&2; usage ;;
    *) [[ -z "$outdir" ]] || usage; outdir="$1"; shift ;;
  esac
done
[[ -n "$outdir" ]] || usage
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
[[ -d "$bundle" ]] && bundle="$(cd "$bundle" && pwd)"

budget="${MANTISSA_GPU_RUN_BUDGET:-450}"
deadline=$((SECONDS + budget))
work="$(mktemp -d "${TMPDIR:-/tmp}/mantissa-gpu-run.XXXXXX")"
trap 'rm -rf "$work"' EXIT

summary="$outdir/summary.txt"
device="$outdir/device.txt"
tests_out="$outdir/tests.txt"
for f in summary.txt device.txt tests.txt cublaslt.log cudnn.log memcheck.txt bench.json perf.txt; do
  rm -f "${outdir:?}/$f"
done

# ---- helpers (scripts/gpu-run-lib.sh) ------------------------------------------------
overall=0
# shellcheck source=scripts/gpu-run-lib.sh
source "$MANTISSA_ROOT/scripts/gpu-run-lib.sh"

{
  echo "Mantissa GPU run, $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n)"
  echo "bundle: $bundle ($(sed -n 's/^commit: *//p' "$bundle/MANIFEST" 2>/dev/null || echo 'no MANIFEST'))"
  echo
} >"$summary"

# ---- a. the bundle and the libraries -------------------------------------------------
bin="$bundle/bin"
missing=()
for p in mantissa_engine_tests mantissa mantissa_io_fixtures; do
  [[ -x "$bin/$p" ]] || missing+=("bin/$p")
done
[[ -f "$bundle/MANIFEST" ]] || missing+=(MANIFEST)
if ((${#missing[@]})); then
  msg="the bundle in $bundle is incomplete (missing ${missing[*]}): run scripts/gpu-bundle.sh and carry .gpu-bundle"
  record FAIL bundle 0 "$msg"
  echo "error: $msg" >&2
  exit 2
fi

t0=$SECONDS
lib_dirs=()
shopt -s nullglob
packed=("$bundle"/lib/*.gz)
shopt -u nullglob
if ((${#packed[@]})); then
  mkdir -p "$work/lib"
  for f in "${packed[@]}"; do
    name="${f##*/}"
    if command -v gzip >/dev/null 2>&1; then
      gzip -dc "$f" >"$work/lib/${name%.gz}"
    else
      python3 -c 'import gzip, shutil, sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
        "$f" "$work/lib/${name%.gz}"
    fi
  done
  lib_dirs+=("$work/lib")
fi
lib_dirs+=("$bundle/lib")
cuda_ok=1
cuda_dirs="$(timeout 120 "$MANTISSA_ROOT/scripts/find-cuda-libs.sh" 2>"$work/cuda-libs.txt")" || cuda_ok=0
while IFS= read -r d; do
  [[ -n "$d" ]] && lib_dirs+=("$d")
done <<<"$cuda_dirs"
join_path() {
  local IFS=:
  echo "$*${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}
ld="$(join_path "${lib_dirs[@]}")"
# fallback/ only when this system's C++ runtime is too old (or absent).
fallback_note="not needed"
if LD_LIBRARY_PATH="$ld" ldd "$bin/mantissa" "$bin/mantissa_engine_tests" 2>&1 |
  grep -Eq "version .(GLIBCXX|CXXABI|GCC)_[0-9.]+. not found|lib(stdc\+\+|gcc_s)\.so\.[0-9]+ => not found"; then
  lib_dirs=("${lib_dirs[@]:0:1}" "$bundle/fallback" "${lib_dirs[@]:1}")
  ld="$(join_path "${lib_dirs[@]}")"
  fallback_note="in use: this system's libstdc++ / libgcc_s are too old or absent"
fi
# The CUDA backend module (lib/libmantissa-cuda.so) is loaded by the
# registry from beside the engine library; its libraries are checked too.
module=()
[[ -f "$bundle/lib/libmantissa-cuda.so" ]] && module=("$bundle/lib/libmantissa-cuda.so")
ldd_out="$(LD_LIBRARY_PATH="$ld" ldd "$bin/mantissa" "$bin/mantissa_engine_tests" "$bin/mantissa_io_fixtures" "${module[@]}" 2>&1 || true)"
run_env=(env "LD_LIBRARY_PATH=$ld" "OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}")
libs_detail="CUDA libraries $( ((cuda_ok)) && echo found || echo 'NOT all found'); fallback/ $fallback_note"
if grep -q 'version .GLIBC_[0-9.]*. not found' <<<"$ldd_out"; then
  msg="this system's glibc ($(ldd --version 2>&1 | head -n1)) is older than the bundle needs ($(sed -n 's/^needs: *//p' "$bundle/MANIFEST"))"
  record FAIL libraries $((SECONDS - t0)) "$msg"
  echo "error: $msg" >&2
  exit 2
fi

# ---- b. device information ------------------------------------------------------------
smi="$(command -v nvidia-smi || true)"
devices_rc=0
devices_out="$(timeout 60 "${run_env[@]}" "$bin/mantissa" devices 2>&1)" || devices_rc=$?
{
  echo "== host"
  echo "$(uname -n) | $(uname -srm) | $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}") |" \
    "$(ldd --version 2>&1 | head -n1) | $(nproc) cores | $(free -g 2>/dev/null | awk '/^Mem:/ { print $2 " GiB" }')"
  echo
  echo "== nvidia-smi"
  if [[ -n "$smi" ]]; then
    timeout 30 "$smi" 2>&1 || true
    timeout 30 "$smi" --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm,power.limit \
      --format=csv 2>&1 || true
  else
    echo "nvidia-smi: not found"
  fi
  echo
  echo "== CUDA libraries (scripts/find-cuda-libs.sh)"
  cat "$work/cuda-libs.txt"
  echo
  echo "== library path of the bundle's programs (fallback/ $fallback_note)"
  tr ':' '\n' <<<"$ld"
  echo
  echo "== ldd"
  echo "$ldd_out"
  echo
  echo "== mantissa devices (exit $devices_rc)"
  echo "$devices_out"
  cuobjdump="$(command -v cuobjdump || true)"
  for c in "${CUDA_HOME:-/nonexistent}"/bin/cuobjdump /usr/local/cuda/bin/cuobjdump; do
    [[ -z "$cuobjdump" && -x "$c" ]] && cuobjdump="$c"
  done
  if [[ -n "$cuobjdump" ]]; then
    echo
    echo "== device code (cuobjdump --list-elf bin/mantissa_engine_tests)"
    timeout 30 "$cuobjdump" --list-elf "$bin/mantissa_engine_tests" 2>&1 | head -n 60 || true
  fi
  echo
  echo "== MANIFEST"
  cat "$bundle/MANIFEST"
} >"$device"

if ((devices_rc != 0)); then
  msg="the bundle's programs do not run here: $(head -n 3 <<<"$devices_out" | tr '\n' ' ')"
  ((cuda_ok)) || msg+="; $(grep '^not found' "$work/cuda-libs.txt" | tr '\n' ' ')"
  if [[ -z "$smi" && $dry_run == 0 ]]; then
    # No GPU either: say so first, that is what this machine lacks.
    msg="no CUDA device: nvidia-smi not found, and $msg"
    record SKIP gpu-steps $((SECONDS - t0)) "$msg"
    echo "gpu-run: $msg" >&2
    exit 3
  fi
  record FAIL libraries $((SECONDS - t0)) "$msg (see device.txt)"
  echo "error: $msg" >&2
  exit 2
fi
# Programs that start without every CUDA library may still fail in cuDNN.
record "$( ((cuda_ok)) && echo PASS || echo FAIL)" libraries $((SECONDS - t0)) "$libs_detail"

gpu_reason=""
if ((dry_run)); then
  gpu_reason="dry run (--dry-run)"
elif ! grep -Eq '^  cuda' <<<"$devices_out"; then
  gpu_reason="$(sed -n 's/^x cuda[^ ]*  unavailable: //p' <<<"$devices_out" | head -n1)"
  [[ -n "$gpu_reason" ]] || gpu_reason="mantissa devices lists no usable cuda device"
  [[ -n "$smi" ]] || gpu_reason+=" (nvidia-smi not found)"
fi
gpu_name="$(grep -E '^  cuda' <<<"$devices_out" | head -n1 | sed 's/^  //' || true)"
record "$([[ -z "$gpu_reason" ]] && echo PASS || echo SKIP)" devices $((SECONDS - t0)) \
  "${gpu_name:-no usable cuda device}; nvidia-smi $([[ -n "$smi" ]] && echo found || echo 'not found')"

# ---- c. the test groups -----------------------------------------------------------------
tests="$bin/mantissa_engine_tests"
mkdir -p "$work/xml"
g_elementwise="CudaParity.Fill*:CudaParity.Cast*:CudaParity.Arith*:CudaParity.Activation*:CudaParity.Dropout*"
g_elementwise+=":CudaParity.Concat*:CudaParity.Bias*:CudaParity.Optimizer*:CudaParity.LossScale*"
g_elementwise+=":CudaParity.GradientPass*:CudaParity.Losses*:CudaPrecision.*:CudaParity.Memory*"
g_matmul="CudaParity.Matmul*:CudaParity.Linear*:CudaParity.OpPaths*"
g_conv="CudaParity.Convolution*:CudaParity.Pooling*:CudaParity.BatchNorm*:CudaParity.LayerNorm*"
g_training="CudaTraining.*"
g_host="CudaRegistry.*:CudaAllocatorCore.*:CudaDeviceRules.*:CudaLibraryRules.*"
# Any Cuda test the groups above do not name (a new one) runs as "other".
g_other="Cuda*-$g_elementwise:$g_matmul:$g_conv:$g_training:$g_host"

# run_group NAME MAX_SECONDS FILTER [VAR=VALUE...]
run_group() {
  local name="$1" max="$2" filter="$3"
  shift 3
  local lim log="$work/tests-$name.log" t rc=0
  lim="$(limit "$max")"
  if ((lim < 10)); then
    record SKIP "tests.$name" 0 "out of time (budget ${budget} s)"
    return 0
  fi
  t=$SECONDS
  timeout -k 5 "$lim" "${run_env[@]}" "$@" "$tests" --gtest_filter="$filter" --gtest_color=no \
    --gtest_output="xml:$work/xml/$name.xml" >"$log" 2>&1 || rc=$?
  local outcomes pass fail skip nodev unfinished total detail outcome=PASS
  outcomes="$(gtest_outcomes "$log")"
  pass="$(count PASS <<<"$outcomes")"
  fail="$(count FAIL <<<"$outcomes")"
  skip="$(count SKIP <<<"$outcomes")"
  nodev="$(count NODEVICE <<<"$outcomes")"
  unfinished="$(count UNFINISHED <<<"$outcomes")"
  total=$((pass + fail + skip + nodev + unfinished))
  detail="$pass passed, $fail failed, $skip skipped"
  ((nodev == 0)) || detail+=", $nodev skipped for want of a CUDA device"
  ((unfinished == 0)) || detail+=", unfinished: $(awk '$1 == "UNFINISHED" { print $2 }' <<<"$outcomes" | tr '\n' ' ')"
  ((fail == 0)) || detail+="; failed: $(awk '$1 == "FAIL" { print $2 }' <<<"$outcomes" | tr '\n' ' ')"
  if ((rc == 124 || rc == 137)); then
    detail+="; timed out after $lim s"
  elif ((rc != 0)); then
    detail+="; exit $rc"
  fi
  if ((total == 0)); then
    if [[ "$name" == other ]]; then
      outcome=SKIP detail="no Cuda test outside the groups"
    else
      outcome=FAIL detail="no test matched $filter (exit $rc)"
    fi
  elif ((fail || nodev || unfinished || rc)); then
    outcome=FAIL
  fi
  record "$outcome" "tests.$name" $((SECONDS - t)) "$detail"
  {
    echo "===== tests.$name: $outcome ($((SECONDS - t)) s, exit $rc) --gtest_filter=$filter"
    (($# == 0)) || echo "environment: $*"
    awk '$1 != "PASS"' <<<"$outcomes"
    echo "----- console output"
    trim "$log" 400000
    echo
  } >>"$tests_out"
}

if [[ -n "$gpu_reason" ]]; then
  # Without a GPU only the host checks run: they show the test program works.
  run_group host 60 "$g_host"
  msg="no CUDA device: $gpu_reason"
  record SKIP gpu-steps 0 "$msg"
  {
    echo
    echo "result: NO DEVICE (exit 3): $msg"
  } >>"$summary"
  echo "gpu-run: $msg; the GPU steps were skipped (see $summary)" >&2
  exit 3
fi

run_group elementwise 90 "$g_elementwise"
run_group matmul 60 "$g_matmul" CUBLASLT_LOG_LEVEL=5 "CUBLASLT_LOG_FILE=$work/cublaslt.log"
keep_tail "$work/cublaslt.log" "$outdir/cublaslt.log" "CUBLASLT_LOG_LEVEL=5, tests.matmul"
cudnn_level="${MANTISSA_CUDNN_LOGLEVEL:-2}"
run_group conv 90 "$g_conv" "CUDNN_LOGLEVEL_DBG=$cudnn_level" "CUDNN_LOGDEST_DBG=$work/cudnn.log"
keep_tail "$work/cudnn.log" "$outdir/cudnn.log" "CUDNN_LOGLEVEL_DBG=$cudnn_level, tests.conv"
run_group training 150 "$g_training"
run_group host 45 "$g_host"
run_group other 60 "$g_other"

# ---- d. compute-sanitizer memcheck over the own kernels ------------------------------------
find_sanitizer() {
  local c sp
  c="$(command -v compute-sanitizer || true)"
  [[ -n "$c" ]] && { echo "$c"; return 0; }
  shopt -s nullglob
  local -a candidates=("${CUDA_HOME:-/nonexistent}"/bin/compute-sanitizer /usr/local/cuda*/bin/compute-sanitizer
    /usr/local/cuda*/compute-sanitizer/compute-sanitizer /opt/cuda*/bin/compute-sanitizer)
  local -a sites=()
  if command -v python3 >/dev/null 2>&1; then
    mapfile -t sites < <(timeout 20 python3 -c 'import site; print("\n".join(site.getsitepackages()))' 2>/dev/null || true)
  fi
  for sp in "${sites[@]}"; do
    candidates+=("$sp"/nvidia/*/compute-sanitizer/compute-sanitizer "$sp"/nvidia/*/bin/compute-sanitizer)
  done
  shopt -u nullglob
  for c in "${candidates[@]}"; do
    [[ -x "$c" ]] && { echo "$c"; return 0; }
  done
  return 1
}
g_memcheck="CudaParity.Fill*:CudaParity.Arith*:CudaParity.Activation*:CudaParity.Dropout*:CudaParity.Concat*"
g_memcheck+=":CudaParity.Bias*:CudaParity.Pooling*:CudaParity.BatchNorm*:CudaParity.LayerNorm*"
g_memcheck+=":CudaParity.Losses*:CudaParity.GradientPass*:CudaParity.Optimizer*:CudaParity.LossScale*"
t=$SECONDS
if ! sanitizer="$(find_sanitizer)"; then
  record SKIP memcheck 0 "compute-sanitizer not found"
  echo "compute-sanitizer not found (PATH, CUDA_HOME, /usr/local/cuda*, site-packages)" >"$outdir/memcheck.txt"
elif (($(limit 100) < 20)); then
  record SKIP memcheck 0 "out of time (budget ${budget} s)"
else
  lim="$(limit 100)"
  expected="$(timeout 30 "${run_env[@]}" "$tests" --gtest_filter="$g_memcheck" --gtest_list_tests 2>/dev/null |
    grep -c '^  ' || true)"
  rc=0
  timeout -k 10 "$lim" "${run_env[@]}" "$sanitizer" --tool memcheck --leak-check no --print-limit 20 \
    --error-exitcode 97 "$tests" --gtest_filter="$g_memcheck" --gtest_color=no >"$work/memcheck.log" 2>&1 || rc=$?
  outcomes="$(gtest_outcomes "$work/memcheck.log")"
  failed=$(($(count FAIL <<<"$outcomes") + $(count UNFINISHED <<<"$outcomes") + $(count NODEVICE <<<"$outcomes")))
  errors="$({ grep -o 'ERROR SUMMARY: [0-9]* error' "$work/memcheck.log" || true; } | tail -n1 | awk '{ print $3 }')"
  detail="ERROR SUMMARY: ${errors:-(none printed)} errors; of $expected tests $(count PASS <<<"$outcomes") passed,"
  detail+=" $(count FAIL <<<"$outcomes") failed, $(count NODEVICE <<<"$outcomes") skipped for want of a CUDA device"
  detail+=", $(count UNFINISHED <<<"$outcomes") unfinished"
  outcome=PASS
  if ((rc == 124 || rc == 137)); then
    outcome=FAIL detail+="; timed out after $lim s"
  elif ((rc != 0)) || [[ "${errors:-x}" != 0 ]] || ((failed)); then
    outcome=FAIL detail+="; exit $rc"
  fi
  record "$outcome" memcheck $((SECONDS - t)) "$detail"
  {
    echo "# $sanitizer --tool memcheck --leak-check no --print-limit 20 (exit $rc, $((SECONDS - t)) s)"
    echo "# --gtest_filter=$g_memcheck"
    echo "# $detail"
    awk '$1 != "PASS"' <<<"$outcomes"
    echo "# first sanitizer reports:"
    grep '^=========' "$work/memcheck.log" | head -n 200 || true
    echo "# console output:"
    trim "$work/memcheck.log" 2000000
  } >"$outdir/memcheck.txt"
fi

# ---- e. bench and the peer ----------------------------------------------------------------
perf="$outdir/perf.txt"
t=$SECONDS
lim="$(limit 150)"
if ((lim < 20)); then
  record SKIP bench 0 "out of time (budget ${budget} s)"
else
  rc=0
  timeout -k 5 "$lim" "${run_env[@]}" MANTISSA_CUDA_LOG=1 "$bin/mantissa" bench mlp cnn big --backend cuda --json \
    >"$work/bench.json" 2>"$work/bench.err" || rc=$?
  how="one call"
  if ((rc != 0)) && ! json_ok "$work/bench.json"; then
    # An older program takes one workload per call.
    how="one call per workload (the three-workload call exited $rc)"
    {
      echo "== mantissa bench mlp cnn big: exit $rc"
      cat "$work/bench.err"
    } >"$work/bench.multi.err"
    : >"$work/bench.err"
    rc=0
    parts=()
    for w in mlp cnn big; do
      lim="$(limit 60)"
      if ((lim < 10)); then
        echo "== $w: out of time" >>"$work/bench.err"
        rc=1
        continue
      fi
      echo "== mantissa bench $w" >>"$work/bench.err"
      wrc=0
      timeout -k 5 "$lim" "${run_env[@]}" MANTISSA_CUDA_LOG=1 "$bin/mantissa" bench "$w" --backend cuda --json \
        >"$work/bench.$w.json" 2>>"$work/bench.err" || wrc=$?
      ((wrc == 0)) || { echo "== $w: exit $wrc" >>"$work/bench.err"; rc=$wrc; }
      [[ -s "$work/bench.$w.json" ]] && parts+=("$work/bench.$w.json")
    done
    cat "$work/bench.multi.err" "$work/bench.err" >"$work/bench.err.all"
    mv "$work/bench.err.all" "$work/bench.err"
    if ((${#parts[@]})) && command -v python3 >/dev/null 2>&1; then
      python3 -c 'import json, sys
docs = []
for f in sys.argv[1:]:
    try:
        docs.append(json.load(open(f)))
    except ValueError as e:
        docs.append({"unparsed": open(f).read(), "error": str(e)})
print(json.dumps(docs, indent=2))' "${parts[@]}" >"$work/bench.json"
    else
      cat "${parts[@]}" /dev/null >"$work/bench.json"
    fi
  fi
  trim "$work/bench.json" 3000000 >"$outdir/bench.json"
  detail="$how"
  if ((rc == 124 || rc == 137)); then
    detail+="; timed out"
  elif ((rc != 0)); then
    detail+="; exit $rc"
  fi
  json_ok "$work/bench.json" || detail+="; stdout is not valid JSON"
  detail+="; $(wc -l <"$work/bench.err") stderr lines"
  outcome=PASS
  { ((rc == 0)) && json_ok "$work/bench.json"; } || outcome=FAIL
  record "$outcome" bench $((SECONDS - t)) "$detail"
  {
    echo "== mantissa bench mlp cnn big --backend cuda --json: stderr (MANTISSA_CUDA_LOG=1), $how"
    trim "$work/bench.err" 1500000
    echo
  } >>"$perf"
fi

t=$SECONDS
peer="$bundle/peers/torch_gpu_amp.py"
if [[ ! -f "$peer" ]]; then
  record SKIP peer 0 "the bundle has no peers/torch_gpu_amp.py"
elif ! py="$(python_with torch)"; then
  record SKIP peer 0 "no python3 with torch"
else
  lim="$(limit 200)"
  peer_budget=$((lim - 45 < 150 ? lim - 45 : 150))
  if ((peer_budget < 20)); then
    record SKIP peer 0 "out of time (budget ${budget} s)"
  else
    rc=0
    # The peer runs in this machine's own environment, not the bundle's.
    timeout -k 10 "$lim" "$py" "$peer" --models mlp cnn big --variants fp32 fp16 bf16 graph-bf16 \
      --budget "$peer_budget" >"$work/peer.txt" 2>&1 || rc=$?
    failed_rows="$(grep -c '| FAILED' "$work/peer.txt" || true)"
    detail="$py, --budget $peer_budget"
    ((failed_rows == 0)) || detail+="; $failed_rows variant rows FAILED (see perf.txt)"
    if ((rc == 124 || rc == 137)); then
      detail+="; timed out after $lim s"
    elif ((rc != 0)); then
      detail+="; exit $rc"
    fi
    record "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" peer $((SECONDS - t)) "$detail"
    {
      echo "== $py ${peer#"$MANTISSA_ROOT"/} --models mlp cnn big --variants fp32 fp16 bf16 graph-bf16 --budget $peer_budget (exit $rc)"
      trim "$work/peer.txt" 1000000
      echo
    } >>"$perf"
    if [[ -s "$work/bench.json" ]] && command -v python3 >/dev/null 2>&1 &&
      python3 "$MANTISSA_ROOT/scripts/bench-vs-peer.py" "$work/bench.json" "$work/peer.txt" >"$work/table.txt" 2>&1; then
      { echo "== bench vs peer (steps/s)"; cat "$work/table.txt"; } >>"$perf"
      { echo "bench vs peer (steps/s):"; cat "$work/table.txt"; } >"$work/table.summary"
    else
      echo "bench vs peer: no table ($(tail -n1 "$work/table.txt" 2>/dev/null)); see bench.json and perf.txt" \
        >"$work/table.summary"
    fi
  fi
fi

# ---- f. ONNX: the fixtures computed on cuda, checked by another runtime ---------------------
t=$SECONDS
lim="$(limit 60)"
if ((lim < 10)); then
  record SKIP onnx 0 "out of time (budget ${budget} s)"
else
  rc=0
  timeout -k 5 "$lim" "${run_env[@]}" "$bin/mantissa_io_fixtures" models "$work/onnx" --backend cuda \
    --source "$MANTISSA_ROOT" >"$work/onnx.log" 2>&1 || rc=$?
  if ((rc != 0)); then
    record FAIL onnx $((SECONDS - t)) "mantissa_io_fixtures models --backend cuda: exit $rc"
  elif ! py="$(python_with numpy onnx)"; then
    record SKIP onnx $((SECONDS - t)) "no python3 with numpy and onnx"
  else
    runtime="$("$py" -c 'import onnxruntime; print("onnxruntime", onnxruntime.__version__)' 2>/dev/null ||
      echo "the NumPy evaluator (no onnxruntime)")"
    checked=0 bad=0
    for model in dense conv; do
      for dtype in f32 f16; do
        lim="$(limit 60)"
        if ((lim < 5)); then
          bad=$((bad + 1))
          echo "== $model.$dtype: out of time" >>"$work/onnx.log"
          continue
        fi
        echo "== check_onnx.py $model.$dtype.onnx" >>"$work/onnx.log"
        crc=0
        timeout -k 5 "$lim" "$py" "$bundle/tests/check_onnx.py" "$work/onnx/$model.$dtype.onnx" \
          --input "$work/onnx/$model/input.npy" --expected "$work/onnx/$model/expected.$dtype.npy" \
          --dtype "$dtype" >>"$work/onnx.log" 2>&1 || crc=$?
        echo "(exit $crc)" >>"$work/onnx.log"
        checked=$((checked + 1))
        ((crc == 0)) || bad=$((bad + 1))
      done
    done
    record "$([[ $bad == 0 ]] && echo PASS || echo FAIL)" onnx $((SECONDS - t)) \
      "$((checked - bad)) of 4 models match the engine on cuda ($runtime)"
  fi
  {
    echo "===== onnx: mantissa_io_fixtures models --backend cuda, check_onnx.py"
    trim "$work/onnx.log" 300000
  } >>"$tests_out"
fi

# ---- f2. data parallel on one GPU: two ranks over Gloo host staging ----------------------------
# Both ranks on cuda:0 (--devices 0,0), against one process with 2 virtual
# ranks on it: the weights checksum after 30 steps must match.
t=$SECONDS
lim="$(limit 90)"
spirals="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/projects/spirals.json"
if ((lim < 20)); then
  record SKIP data-parallel 0 "out of time (budget ${budget} s)"
elif [[ ! -f "$spirals" ]]; then
  record SKIP data-parallel 0 "no projects/spirals.json beside the script"
else
  dp=(--steps 30 --batch 128 --policy mixed_float16 --db "$work/dp.db")
  rc=0
  {
    timeout -k 5 "$lim" "${run_env[@]}" "$bin/mantissa" train "$spirals" "${dp[@]}" --devices 0,0 &&
      timeout -k 5 "$lim" "${run_env[@]}" "$bin/mantissa" train "$spirals" "${dp[@]}" --backend cuda \
        --virtual-ranks 2
  } >"$work/dp.log" 2>&1 || rc=$?
  a="$("${run_env[@]}" "$bin/mantissa" runs metrics 1 --db "$work/dp.db" --csv 2>/dev/null | tail -n1 | cut -d, -f20)"
  b="$("${run_env[@]}" "$bin/mantissa" runs metrics 2 --db "$work/dp.db" --csv 2>/dev/null | tail -n1 | cut -d, -f20)"
  if ((rc == 0)) && [[ -n "$a" && "$a" == "$b" ]]; then
    record PASS data-parallel $((SECONDS - t)) "2 ranks on cuda:0 (Gloo, host staging) = 2 virtual ranks: checksum $a"
  else
    record FAIL data-parallel $((SECONDS - t)) "exit $rc; checksums '$a' (2 ranks) and '$b' (2 virtual ranks)"
  fi
  { echo "===== data parallel: --devices 0,0 against --virtual-ranks 2"; trim "$work/dp.log" 100000; } >>"$tests_out"
fi

# ---- g. result ------------------------------------------------------------------------------
{
  if [[ -f "$work/table.summary" ]]; then
    echo
    cat "$work/table.summary"
  fi
  echo
  echo "result: $([[ $overall == 0 ]] && echo PASS || echo FAIL) (exit $overall) after $SECONDS s"
  echo "files: $(find "$outdir" -maxdepth 1 -type f -printf '%f\n' | sort | tr '\n' ' ')"
} >>"$summary"
phase "gpu-run: $([[ $overall == 0 ]] && echo PASS || echo FAIL), see $summary"
exit "$overall"
