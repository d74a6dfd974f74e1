#!/usr/bin/env bash
# Puts the built-in text corpus into the data folder:
#   ${MANTISSA_DATA_DIR:-${XDG_DATA_HOME:-~/.local/share}/mantissa/data}/text/fortunes.txt
# It is the public-domain collection of Debian's `fortunes` package (about
# 2.5 MB of quotations, jokes and verse, installed by scripts/setup-deps.sh
# under /usr/share/games/fortunes): every collection in name order, each
# fortune followed by a blank line instead of the "%" line that separates
# them. Mantissa reads it as bytes (vocabulary 256) for next-token
# prediction. Does nothing when the file is there and from this package.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

readonly SOURCE_DIR=/usr/share/games/fortunes
out_dir="$(mantissa_data_dir)/text"
out="$out_dir/fortunes.txt"
stamp="$out_dir/.source"

version="$(dpkg-query -W -f='${Version}' fortunes 2>/dev/null || true)"
[[ -n "$version" && -d "$SOURCE_DIR" ]] ||
  die "the Debian package 'fortunes' is not installed; run scripts/setup-deps.sh"
readonly STAMP="Debian fortunes $version, collections in name order, % lines blank (layout 1)"
if [[ -s "$out" && -f "$stamp" && "$(<"$stamp")" == "$STAMP" ]]; then
  exit 0
fi

phase "fetch-fortunes: writing $out"
mkdir -p "$out_dir"
tmp="$(mktemp "$out_dir/.fortunes.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
# Regular files only: the .dat indexes and the .u8 links are left out.
mapfile -t collections < <(find "$SOURCE_DIR" -maxdepth 1 -type f ! -name '*.dat' -printf '%f\n' |
  LC_ALL=C sort)
((${#collections[@]} > 0)) || die "$SOURCE_DIR holds no fortune collections"
for name in "${collections[@]}"; do
  sed 's/^%$//' "$SOURCE_DIR/$name"
done >"$tmp"
rm -f "$stamp"
chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
printf '%s\n' "$STAMP" >"$stamp"
