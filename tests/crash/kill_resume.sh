#!/usr/bin/env bash
# Trains, kills the trainer with SIGKILL at random moments (some inside a
# database commit, some inside a checkpoint's commit), resumes it each time,
# and checks that the final weights are those of an uninterrupted run with the
# same seed, bit for bit, and that the database is whole throughout.
#
#   tests/crash/kill_resume.sh MANTISSA WORK_DIR [KILLS] [RANDOM_SEED]
#
# CI runs it with 20 kills; by hand, e.g. 200:
#   tests/crash/kill_resume.sh build/app/mantissa /tmp/crash 200
set -euo pipefail
mantissa=$1
work=$2
kills=${3:-20}
seed=${4:-$$}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
project="$root/projects/spirals.json"

rm -rf "$work"
mkdir -p "$work"
db="$work/runs.db"
# Enough steps that the run outlasts the kills (each segment trains a little).
steps=$((kills * 400 > 8000 ? kills * 400 : 8000))
args=(--policy mixed_float16 --steps "$steps" --seed 11)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The database after a kill: whole, listable, and its run, once created,
# interrupted (or finished). Sets `created`.
created=0
check_db() {
  local show status
  if [[ ! -f "$db" ]] || ! "$mantissa" runs list --json --db "$db" | grep -q '"id": 1,'; then
    ((created == 0)) || fail "run 1 vanished after kill $1"
    return  # killed before the run was created: it is trained again
  fi
  created=1
  show="$("$mantissa" runs show 1 --json --db "$db")" || fail "runs show after kill $1"
  status="$(grep -o '"status": *"[a-z]*"' <<<"$show" | head -1 | sed 's/.*"\([a-z]*\)"$/\1/')"
  case "$status" in
    interrupted | finished) ;;
    *) fail "after kill $1 the run is '$status', not interrupted" ;;
  esac
  "$mantissa" runs list --db "$db" >/dev/null || fail "runs list after kill $1"
}

echo "reference: an uninterrupted run"
"$mantissa" train "$project" "${args[@]}" --db "$work/reference.db" >"$work/reference.log" 2>&1 ||
  fail "the reference run: $(tail -3 "$work/reference.log")"

RANDOM=$seed
killed=0
by_signal=0
in_commit=0
in_checkpoint=0
segment=0
while ((killed < kills)); do
  segment=$((segment + 1))
  if ((created == 0)); then
    cmd=(train "$project" "${args[@]}" --db "$db")
  else
    cmd=(resume 1 --db "$db")
  fi
  mode=$((RANDOM % 3))
  log="$work/segment-$segment.log"
  case $mode in
    0)  # from outside, at a random moment
      "$mantissa" "${cmd[@]}" >"$log" 2>&1 &
      pid=$!
      sleep "0.$(printf '%02d' $((5 + RANDOM % 30)))"
      kill -9 "$pid" 2>/dev/null || true
      ;;
    1)  # inside the n-th commit of the trainer's store
      MANTISSA_KILL_AT_COMMIT=$((1 + RANDOM % 8)) "$mantissa" "${cmd[@]}" >"$log" 2>&1 &
      pid=$!
      ;;
    2)  # inside the commit that stores the n-th checkpoint
      MANTISSA_KILL_AT_CHECKPOINT=$((1 + RANDOM % 4)) "$mantissa" "${cmd[@]}" >"$log" 2>&1 &
      pid=$!
      ;;
  esac
  rc=0
  wait "$pid" || rc=$?
  if ((rc == 137)); then
    killed=$((killed + 1))
    case $mode in
      0) by_signal=$((by_signal + 1)) ;;
      1) in_commit=$((in_commit + 1)) ;;
      2) in_checkpoint=$((in_checkpoint + 1)) ;;
    esac
    check_db "$killed"
  elif ((rc == 0)); then
    fail "the run finished after $killed of $kills kills: give it more steps"
  else
    fail "segment $segment exited $rc: $(tail -3 "$log")"
  fi
done

echo "killed $killed times ($by_signal by signal, $in_commit inside a commit," \
     "$in_checkpoint inside a checkpoint's commit); resuming to the end"
"$mantissa" resume 1 --db "$db" >"$work/final.log" 2>&1 || fail "final resume: $(tail -3 "$work/final.log")"

# The weights as stored: both runs' final checkpoints exported as f32.
"$mantissa" export 1 --format safetensors --dtype f32 -o "$work/killed.safetensors" --db "$db" \
  >/dev/null
"$mantissa" export 1 --format safetensors --dtype f32 -o "$work/reference.safetensors" \
  --db "$work/reference.db" >/dev/null
# safetensors: 8-byte little-endian header length, the JSON header (which
# names the run), then the tensors' bytes.
tensor_bytes() {
  local n
  n=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
  tail -c +$((8 + n + 1)) "$1"
}
if ! cmp -s <(tensor_bytes "$work/killed.safetensors") <(tensor_bytes "$work/reference.safetensors"); then
  fail "the weights after $killed kills differ from the uninterrupted run's"
fi
steps_reference=$("$mantissa" runs metrics 1 --csv --db "$work/reference.db" | wc -l)
steps_killed=$("$mantissa" runs metrics 1 --csv --db "$db" | wc -l)
((steps_killed == steps_reference)) ||
  fail "the killed run holds $steps_killed metric rows, the reference $steps_reference"
echo "PASS: $killed kills, final weights equal the uninterrupted run's bit for bit"
