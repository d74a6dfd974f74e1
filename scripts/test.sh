#!/usr/bin/env bash
# Sets everything up (packages, MNIST, build) and runs every test suite.
# Exits with ctest's status. Extra arguments go to ctest (e.g. -R cli).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

phase "setup: system packages"
bash scripts/setup-deps.sh
phase "setup: MNIST digits, Fashion-MNIST and the fortunes text"
bash scripts/fetch-mnist.sh
bash scripts/fetch-fashion-mnist.sh
bash scripts/fetch-fortunes.sh
bash scripts/build.sh

# ctest runs two tests at a time; give each an equal share of the cores so
# oneDNN's OpenMP pools do not oversubscribe the machine.
jobs="${MANTISSA_TEST_JOBS:-2}"
threads=$(($(nproc) / jobs))
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$((threads > 0 ? threads : 1))}"
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
MANTISSA_DATA_DIR="$(mantissa_data_dir)"
export MANTISSA_DATA_DIR

build_dir="$(mantissa_build_dir "${MANTISSA_PRESET:-default}")"
phase "test: ctest in $build_dir ($jobs at a time, OMP_NUM_THREADS=$OMP_NUM_THREADS)"
status=0
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "$@" || status=$?

# Every reader of outside data, fuzzed briefly over its committed corpus
# (scripts/fuzz.sh), so that the harnesses cannot rot. Skipped when ctest
# arguments were given or MANTISSA_FUZZ_SECONDS=0.
fuzz_seconds="${MANTISSA_FUZZ_SECONDS:-10}"
if ((fuzz_seconds > 0 && $# == 0)); then
  phase "test: fuzzing each reader for ${fuzz_seconds} s"
  # nproc honours the OMP_NUM_THREADS set above for the tests; the build wants every core.
  MANTISSA_JOBS="${MANTISSA_JOBS:-$(nproc --all)}" bash scripts/fuzz.sh "$fuzz_seconds" || status=$?
fi
exit "$status"
