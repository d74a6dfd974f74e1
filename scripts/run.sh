#!/usr/bin/env bash
# Sets everything up (packages, MNIST, build) and runs the main job.
#   scripts/run.sh              opens the studio; without a display (or a
#                               studio build) it compares the fp32, fp16 and
#                               bf16 policies on the sample MNIST model headless
#   scripts/run.sh ARGS...      runs `mantissa ARGS...` instead
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

MANTISSA_DATA_DIR="$(mantissa_data_dir)"
export MANTISSA_DATA_DIR
build_dir="$(mantissa_build_dir "${MANTISSA_PRESET:-default}")"
mantissa="$build_dir/app/mantissa"
studio="$build_dir/ui/mantissa-studio"
if (($# == 0)); then
  if [[ -x "$studio" && ( -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" ) ]]; then
    phase "run: mantissa-studio"
    exec "$studio"
  fi
  if [[ ! -x "$studio" ]]; then
    echo "mantissa-studio is not built (no Qt 6 / QCustomPlot); running headless instead." >&2
  else
    echo "No display (DISPLAY / WAYLAND_DISPLAY unset); running headless instead of the studio." >&2
  fi
  set -- compare projects/mnist-mlp.json --policies float32,mixed_float16,mixed_bfloat16
fi
phase "run: mantissa $*"
exec "$mantissa" "$@"
