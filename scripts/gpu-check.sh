#!/usr/bin/env bash
# Builds the engine and its tests with the CUDA backend on a GPU machine that
# has the CUDA toolkit (with cuDNN 9), CMake and a C++ compiler but none of the
# Debian dev packages and no network, then runs the GPU test suites.
#
# The other dependencies (oneDNN, nlohmann-json, CLI11, SQLite, GoogleTest)
# come from Debian packages that scripts/gpu-deps.sh prepared elsewhere:
# .device/deps/ (extracted) or, when only the smaller .device/debs/ travelled,
# extracted here with dpkg-deb or, failing that, with ar and tar.
#
# Usage: scripts/gpu-check.sh [--all] [gtest filter]
#   default filter  Cuda*:CpuBackendRegistry.*  (every GPU suite, the host
#                   checks of the CUDA backend and the registry)
#   --all           run the whole engine suite afterwards as well
# Environment:
#   MANTISSA_CUDA_ARCHS   CMAKE_CUDA_ARCHITECTURES (default: native, the GPU here)
#   MANTISSA_GPU_BUILD    build folder (default: build-gpu)
#   OUT                   when set, gtest XML reports are written there
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

run_all=0
filter="Cuda*:CpuBackendRegistry.*"
for arg in "$@"; do
  case "$arg" in
    --all) run_all=1 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) filter="$arg" ;;
  esac
done

deps="$MANTISSA_ROOT/.device/deps"
debs="$MANTISSA_ROOT/.device/debs"
prefix="$deps/usr"
libdir="$prefix/lib/x86_64-linux-gnu"

# ---- dependencies: extract the packages if only they came along ------------------
if [[ ! -f "$libdir/cmake/dnnl/dnnl-config.cmake" ]]; then
  shopt -s nullglob
  packages=("$debs"/*.deb)
  shopt -u nullglob
  ((${#packages[@]} > 0)) ||
    die "no dependencies: run scripts/gpu-deps.sh on a Debian 12 machine and bring .device/debs (or .device/deps) along"
  phase "gpu-check: extracting ${#packages[@]} packages into ${deps#"$MANTISSA_ROOT"/}"
  rm -rf "$deps"
  mkdir -p "$deps"
  for deb in "${packages[@]}"; do
    if command -v dpkg-deb >/dev/null 2>&1; then
      dpkg-deb -x "$deb" "$deps"
    else
      # A .deb is an ar archive whose data.tar.* holds the files.
      tmp="$(mktemp -d)"
      (cd "$tmp" && ar x "$deb")
      members=("$tmp"/data.tar.*)
      data="${members[0]}"
      [[ -f "$data" ]] || die "$deb has no data.tar member"
      case "$data" in
        *.zst) command -v zstd >/dev/null 2>&1 || die "$deb needs zstd to unpack"
               zstd -dc "$data" | tar -x -C "$deps" ;;
        *) tar -xf "$data" -C "$deps" ;;
      esac
      rm -rf "$tmp"
    fi
  done
fi
[[ -f "$libdir/cmake/dnnl/dnnl-config.cmake" ]] || die "dependency prefix $prefix is incomplete"

# ---- toolchain -----------------------------------------------------------------
nvcc="${CUDACXX:-$(command -v nvcc || true)}"
[[ -n "$nvcc" ]] || nvcc=/usr/local/cuda/bin/nvcc
[[ -x "$nvcc" ]] || die "nvcc not found (set CUDACXX or put the CUDA toolkit's bin/ on PATH)"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
build="${MANTISSA_GPU_BUILD:-$MANTISSA_ROOT/build-gpu}"
archs="${MANTISSA_CUDA_ARCHS:-native}"

if command -v nvidia-smi >/dev/null 2>&1; then
  phase "gpu-check: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n1)"
fi

# ---- configure and build --------------------------------------------------------
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  phase "gpu-check: configuring $build (CUDA architectures: $archs)"
  cmake -S "$MANTISSA_ROOT" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DMANTISSA_GUI=OFF -DMANTISSA_CUDA=ON -DMANTISSA_TESTS=ON \
    -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="$archs" \
    -DCMAKE_PREFIX_PATH="$prefix"
fi
phase "gpu-check: building the engine tests"
cmake --build "$build" --target mantissa_engine_tests --parallel "$(nproc)"

# ---- run --------------------------------------------------------------------------
# libdnnl.so.2 and libOpenCL.so.1 live in the extracted prefix.
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}"
tests="$build/tests/mantissa_engine_tests"
report=()
[[ -n "${OUT:-}" ]] && report=(--gtest_output="xml:$OUT/gpu-tests.xml")

phase "gpu-check: $tests --gtest_filter=$filter"
status=0
log="$(mktemp)"
"$tests" --gtest_filter="$filter" "${report[@]}" 2>&1 | tee "$log" || status=$?
# A GPU test skips with "no CUDA device: <why>" when it finds no usable
# device. Here that is a failure: this script exists to run them for real.
# (Other skips are on purpose, e.g. the registry's check of the no-GPU error
# skips when a GPU is present.)
skipped="$(gtest_no_device_skips "$log" | sort -u | wc -l)"
rm -f "$log"
if ((skipped > 0)); then
  echo "gpu-check: $skipped GPU test(s) skipped: no usable CUDA device was found" >&2
  if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L >&2 || true; fi
  status=1
fi
if ((run_all)); then
  [[ -n "${OUT:-}" ]] && report=(--gtest_output="xml:$OUT/all-tests.xml")
  phase "gpu-check: the whole engine suite"
  "$tests" "${report[@]}" || status=$?
fi
exit "$status"
