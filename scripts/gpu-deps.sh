#!/usr/bin/env bash
# Prepares, on a Debian 12 machine with apt and network, the build dependencies
# of the engine and its tests for a GPU machine that has the CUDA toolkit (with
# cuDNN), CMake and a C++ compiler but none of the Debian dev packages and no
# network: downloads the .deb files (no installation, no root needed) into
# .device/debs/ and extracts them into .device/deps/ (both git-ignored).
# scripts/gpu-check.sh then builds against .device/deps/usr via
# CMAKE_PREFIX_PATH, and extracts .device/debs/ itself when only those travel.
#
# Usage: scripts/gpu-deps.sh [--check]
#   --check  also configure the project here against the extracted prefix
#            alone (system search paths off), to show the prefix is complete
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

# Headers, CMake package files and the shared libraries they point at. oneDNN's
# package configuration requires OpenCL (headers and the ICD loader);
# libOpenCL.so.1 is also what libdnnl.so.2 loads at run time.
packages=(
  libdnnl-dev libdnnl2
  ocl-icd-opencl-dev ocl-icd-libopencl1 opencl-c-headers
  nlohmann-json3-dev
  libcli11-dev
  libsqlite3-dev libsqlite3-0
  libgtest-dev
)

debs="$MANTISSA_ROOT/.device/debs"
deps="$MANTISSA_ROOT/.device/deps"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script needs Debian 12 (bookworm)"
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found"

phase "gpu-deps: downloading ${#packages[@]} packages into ${debs#"$MANTISSA_ROOT"/}"
mkdir -p "$debs"
rm -f "$debs"/*.deb  # no stale versions
(cd "$debs" && apt-get download "${packages[@]}") ||
  die "apt-get download failed (no network, or run 'apt-get update' first)"

phase "gpu-deps: extracting into ${deps#"$MANTISSA_ROOT"/}"
rm -rf "$deps"
mkdir -p "$deps"
for deb in "$debs"/*.deb; do
  dpkg-deb -x "$deb" "$deps"
done
# Documentation and sources (googletest ships its sources) are not needed.
rm -rf "$deps/usr/share/doc" "$deps/usr/share/man" "$deps/usr/src"

prefix="$deps/usr"
for f in include/oneapi/dnnl/dnnl.hpp include/nlohmann/json.hpp include/CLI/CLI.hpp \
         include/sqlite3.h include/gtest/gtest.h include/CL/cl.h \
         lib/x86_64-linux-gnu/libdnnl.so lib/x86_64-linux-gnu/libsqlite3.so \
         lib/x86_64-linux-gnu/libOpenCL.so lib/x86_64-linux-gnu/libOpenCL.so.1 \
         lib/x86_64-linux-gnu/libgtest.a lib/x86_64-linux-gnu/cmake/dnnl/dnnl-config.cmake \
         lib/x86_64-linux-gnu/cmake/GTest/GTestConfig.cmake; do
  [[ -e "$prefix/$f" ]] || die "extraction incomplete: $prefix/$f is missing"
done
phase "gpu-deps: $(du -sh "$debs" | cut -f1) of packages, $(du -sh "$deps" | cut -f1) extracted"

if [[ "${1:-}" == "--check" ]]; then
  # Configure with only the extracted prefix (and the compilers' own paths)
  # to search, as on the GPU machine.
  build="$MANTISSA_ROOT/.device/build-check"
  phase "gpu-deps: configuring against the extracted prefix only ($build)"
  rm -rf "$build"
  # With the system search paths off, the tools are named explicitly.
  tools=(-DCMAKE_CXX_COMPILER="$(command -v "${CXX:-c++}")")
  if command -v ninja >/dev/null 2>&1; then
    tools+=(-G Ninja -DCMAKE_MAKE_PROGRAM="$(command -v ninja)")
  else
    tools+=(-DCMAKE_MAKE_PROGRAM="$(command -v make)")
  fi
  nvcc="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
  [[ -x "$nvcc" ]] && tools+=(-DCMAKE_CUDA_COMPILER="$nvcc")
  cmake -S "$MANTISSA_ROOT" -B "$build" "${tools[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DMANTISSA_GUI=OFF -DMANTISSA_CUDA="${MANTISSA_CUDA:-AUTO}" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF -DCMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH=OFF
  grep -E '^(dnnl_DIR|nlohmann_json_DIR|CLI11_DIR|GTest_DIR|SQLite3_LIBRARY|OpenCL_LIBRARY):' \
    "$build/CMakeCache.txt"
fi
