#!/usr/bin/env bash
# Sets everything up (packages, MNIST, build) and runs the main job.
#   scripts/run.sh              shows the sample MNIST model
#   scripts/run.sh ARGS...      runs `mantissa ARGS...` instead
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

phase "setup: system packages"
bash scripts/setup-deps.sh
phase "setup: MNIST digits"
bash scripts/fetch-mnist.sh
bash scripts/build.sh

MANTISSA_DATA_DIR="$(mantissa_data_dir)"
export MANTISSA_DATA_DIR
mantissa="$(mantissa_build_dir "${MANTISSA_PRESET:-default}")/app/mantissa"
if (($# == 0)); then
  set -- model show projects/mnist-mlp.json
fi
phase "run: mantissa $*"
exec "$mantissa" "$@"
