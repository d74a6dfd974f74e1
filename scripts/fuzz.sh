#!/usr/bin/env bash
# Builds the libFuzzer harnesses (preset fuzz, build-fuzz/) and runs each one
# for a while over its committed corpus; exits non-zero on any crash, leak,
# sanitizer report or uncaught non-mantissa exception.
#   scripts/fuzz.sh [--merge] [seconds-per-harness] [harness...]
#     seconds   fuzzing time per harness (default 30)
#     harness   names from tests/fuzz/fuzz_<name>.cpp (default: all)
#     --merge   fold new, coverage-adding inputs back into tests/fuzz/corpus/
#               (minimised with -merge=1); without it the committed corpus is
#               only read: runs work on a copy in a temporary folder.
#   MANTISSA_JOBS  build jobs (default: nproc)
# A crash leaves its input in build-fuzz/fuzz-artifacts/<harness>/ (reproduce
# it with build-fuzz/tests/fuzz/fuzz_<harness> <file>); each run's libFuzzer
# output is kept in build-fuzz/fuzz-logs/<harness>.log.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

merge=0
seconds=30
harnesses=()
for arg in "$@"; do
  case "$arg" in
    --merge) merge=1 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*) harnesses+=("$arg") ;;
    *) seconds="$arg" ;;
  esac
done

command -v clang++-16 >/dev/null 2>&1 ||
  die "clang++-16 not found: the fuzz preset needs it with libFuzzer (scripts/setup-deps.sh installs them)"

MANTISSA_PRESET=fuzz bash scripts/build.sh
build_dir="$(mantissa_build_dir fuzz)"
bin_dir="$build_dir/tests/fuzz"
fuzz_src="$MANTISSA_ROOT/tests/fuzz"

if ((${#harnesses[@]} == 0)); then
  for source in "$fuzz_src"/fuzz_*.cpp; do
    name="$(basename "$source" .cpp)"
    harnesses+=("${name#fuzz_}")
  done
fi

# llvm-symbolizer from the same LLVM, so that reports show functions and lines.
llvm_bin="$(dirname "$(readlink -f "$(command -v clang++-16)")")"
export PATH="$llvm_bin:$PATH"

# The harnesses are single-threaded; keep oneDNN's pool from spreading out.
export OMP_NUM_THREADS=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$MANTISSA_ROOT/tests/sanitizers/lsan.supp:print_suppressions=0}"

work="$(mktemp -d "${TMPDIR:-/tmp}/mantissa-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

failed=()
summary=()
for name in "${harnesses[@]}"; do
  binary="$bin_dir/fuzz_$name"
  [[ -x "$binary" ]] || die "no harness '$name' ($binary not built)"
  committed="$fuzz_src/corpus/$name"
  corpus="$work/$name"
  artifacts="$build_dir/fuzz-artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  [[ -d "$committed" ]] && cp -R "$committed/." "$corpus/"

  args=(-max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=30
        -artifact_prefix="$artifacts/")
  case "$name" in
    project_json | safetensors) dict="$fuzz_src/json.dict" ;;  # both read JSON
    *) dict="$fuzz_src/$name.dict" ;;
  esac
  [[ -f "$dict" ]] && args+=(-dict="$dict")

  phase "fuzz: $name for ${seconds}s ($(find "$corpus" -type f | wc -l) seed files)"
  log="$build_dir/fuzz-logs/$name.log"
  mkdir -p "$(dirname "$log")"
  status=0
  "$binary" "${args[@]}" "$corpus" >"$log" 2>&1 || status=$?
  tail -n 25 "$log" >&2
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  last="$(grep -E '^#[0-9]+' "$log" | tail -1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  files="$(find "$corpus" -type f | wc -l)"
  summary+=("$(printf '%-14s %6s  execs %-10s cov %-6s ft %-7s corpus %s' "$name" \
    "$([[ $status == 0 ]] && echo ok || echo FAILED)" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files")")
  if ((status != 0)); then
    failed+=("$name")
    continue
  fi

  if ((merge)); then
    phase "fuzz: merging new inputs of $name into $committed"
    mkdir -p "$committed"
    "$binary" -merge=1 -rss_limit_mb=2048 -timeout=30 "$committed" "$corpus" >"$log.merge" 2>&1 ||
      { tail -n 25 "$log.merge" >&2; failed+=("$name (merge)"); }
  fi
done

phase "fuzz: summary"
printf '%s\n' "${summary[@]}" >&2
if ((${#failed[@]})); then
  die "fuzzing found problems in: ${failed[*]} (inputs in $build_dir/fuzz-artifacts/)"
fi
