#!/usr/bin/env bash
# Configures (first time only) and builds Mantissa with a CMake preset.
#   MANTISSA_PRESET  default (Release, build/), debug, cpu-only, asan or fuzz; default: default
#   MANTISSA_JOBS    parallel build jobs; default: nproc
# Builds are incremental: build/ is never wiped, and Ninja re-runs CMake by
# itself when a CMakeLists.txt changes. Delete the build folder to start over.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

preset="${MANTISSA_PRESET:-default}"
build_dir="$(mantissa_build_dir "$preset")"
jobs="${MANTISSA_JOBS:-$(nproc)}"

# CUDA stays AUTO: the backend is built when a toolkit is found. The usual
# install location is not on PATH by default, so point CMake at it.
if [[ -z "${CUDACXX:-}" ]] && ! command -v nvcc >/dev/null 2>&1 &&
   [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc
fi

if [[ ! -f "$build_dir/CMakeCache.txt" || ! -f "$build_dir/build.ninja" ]]; then
  phase "build: configuring $build_dir (preset $preset)"
  cmake --preset "$preset"
fi

phase "build: compiling in $build_dir with $jobs jobs"
cmake --build --preset "$preset" --parallel "$jobs"
