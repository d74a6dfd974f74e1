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
