# The helpers of scripts/gpu-run.sh, sourced by it: summary lines, the time
# each step may take, trimmed logs, and finding a Python that has what a step
# needs. They read gpu-run.sh's $summary and $deadline, and `record` sets its
# $overall when a step fails.
# shellcheck shell=bash disable=SC2154,SC2034

# record OUTCOME STEP SECONDS DETAIL: one line of summary.txt.
record() {
  printf '%-4s  %-18s %4ss  %s\n' "$1" "$2" "$3" "$4" >>"$summary"
  [[ "$1" != FAIL ]] || overall=1
  phase "gpu-run: $1 $2 (${3} s) $4"
}
# limit MAX: the seconds the next step may take, within the overall budget.
limit() {
  local left=$((deadline - SECONDS - 5))
  echo $((left < $1 ? (left > 0 ? left : 0) : $1))
}
# trim FILE MAXBYTES: the file, or its head and tail if it is larger.
trim() {
  local size
  size="$(stat -c %s "$1" 2>/dev/null || echo 0)"
  if ((size <= $2)); then
    cat "$1" 2>/dev/null || true
  else
    head -c $(($2 / 4)) "$1"
    printf '\n[... %d bytes left out ...]\n' $((size - $2))
    tail -c $(($2 * 3 / 4)) "$1"
  fi
}
# keep_tail FILE DEST WHAT: the last 200 KiB of a library's log.
keep_tail() {
  if [[ -s "$1" ]]; then
    local size
    size="$(stat -c %s "$1")"
    { echo "# $3: the last $((size < 204800 ? size : 204800)) of $size bytes"; tail -c 204800 "$1"; } >"$2"
  else
    echo "# $3: no log was written" >"$2"
  fi
}
# python_with MODULE...: an interpreter that can import the modules.
python_with() {
  local py
  shopt -s nullglob
  local -a candidates=("${MANTISSA_PYTHON:-}" python3 /usr/bin/python3 /usr/local/bin/python3
    /opt/*/.venv/bin/python3 /opt/conda/bin/python3)
  shopt -u nullglob
  for py in "${candidates[@]}"; do
    if [[ -z "$py" ]] || ! command -v "$py" >/dev/null 2>&1; then continue; fi
    if timeout 30 "$py" -c 'import importlib.util, sys
sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))' "$@" 2>/dev/null; then
      command -v "$py"
      return 0
    fi
  done
  return 1
}
# count OUTCOME: how many lines of gtest_outcomes' output (on stdin) have it.
count() { awk -v o="$1" '$1 == o { n++ } END { print n + 0 }'; }
json_ok() {
  local py
  py="$(command -v python3 || true)"
  if [[ -n "$py" ]]; then
    "$py" -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null
  else
    grep -q '[{[]' "$1"
  fi
}
