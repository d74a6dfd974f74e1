#!/usr/bin/env bash
# Takes the README's pictures of the studio under Xvfb, into docs/screenshots/:
# the model builder, the data preview, the live plots of a mixed_float16 run
# started at a loss scale fp16 cannot hold (skipped steps marked), History with
# a run opened, and Compare over fp32 / fp16 / bf16 runs of the same model.
# Builds first (scripts/build.sh); needs xvfb-run (package xvfb).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

command -v xvfb-run >/dev/null 2>&1 || die "xvfb-run not found: apt-get install xvfb xauth"
bash scripts/fetch-mnist.sh
bash scripts/build.sh
build_dir="$(mantissa_build_dir "${MANTISSA_PRESET:-default}")"
studio="$build_dir/ui/mantissa-studio"
cli="$build_dir/app/mantissa"
[[ -x "$studio" ]] || die "$studio was not built (Qt 6 and QCustomPlot are needed)"
MANTISSA_DATA_DIR="$(mantissa_data_dir)"
export MANTISSA_DATA_DIR

out="docs/screenshots"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/runs.db"

phase "screenshots: three policies of mnist-mlp into a scratch database"
"$cli" compare projects/mnist-mlp.json --policies float32,mixed_float16,mixed_bfloat16 \
  --epochs 3 --db "$db" >/dev/null

shot() {
  local name="$1"
  shift
  timeout 300 xvfb-run -a -s "-screen 0 1600x1000x24" \
    "$studio" --settings "$work/studio.ini" --database "$db" "$@" --screenshot "$out/$name.png"
}

phase "screenshots: builder, data, training, history, compare"
shot builder projects/residual-mlp.json --show model
shot data projects/mnist-mlp.json --show data
shot training projects/mnist-mlp.json --policy mixed_float16 --init-scale 16777216 \
  --growth-interval 40 --steps 600 --after-steps 400
shot history projects/mnist-mlp.json --run 2
shot compare projects/mnist-mlp.json --compare 1,2,3
phase "screenshots: char-gpt training (about two minutes)"
shot char-gpt-training projects/char-gpt.json --steps 1500 --after-steps 700
ls -l "$out"
