#!/usr/bin/env bash
# Data-parallel faults, as a user meets them (docs/data-parallel.md):
#  1. a rank killed with SIGKILL from outside: the run fails within 5 s,
#     stored as failed naming the rank and the signal, and no rank is left;
#  2. a stalled rank: the run fails after the collective timeout, saying so;
#  3. the ranks started by `mpirun` (Open MPI as a launcher only) and by
#     `torchrun --no_python` give the bits of the built-in launcher (each
#     where it is installed).
# Usage: rank_faults.sh MANTISSA SOURCE_DIR WORK_DIR
set -euo pipefail
mantissa=$1
source_dir=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
cd "$work"
export OMP_NUM_THREADS=1
spirals="$source_dir/projects/spirals.json"
fail() { echo "FAIL: $*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- 1. SIGKILL from outside --------------------------------------------------
"$mantissa" train "$spirals" --steps 1000000 --batch 64 --db kill.db --processes 2 \
  >kill.out 2>kill.err &
launcher=$!
ranks=()
for _ in $(seq 100); do
  mapfile -t ranks < <(pgrep -P "$launcher" || true)
  ((${#ranks[@]} == 2)) && break
  sleep 0.05
done
((${#ranks[@]} == 2)) || fail "the launcher did not start 2 ranks"
sleep 1.5  # training
victim=""
for pid in "${ranks[@]}"; do
  if tr '\0' '\n' <"/proc/$pid/environ" | grep -qx 'MANTISSA_RANK=1'; then victim=$pid; fi
done
[[ -n "$victim" ]] || fail "no rank 1 among ${ranks[*]}"
start=$(now_ms)
kill -9 "$victim"
rc=0
wait "$launcher" || rc=$?
elapsed=$(($(now_ms) - start))
((rc != 0)) || fail "the run survived a killed rank"
echo "killed rank 1: the run ended in ${elapsed} ms (exit $rc)"
((elapsed < 5000)) || fail "took ${elapsed} ms to fail (limit 5 s)"
grep -q "rank 1 was killed by signal 9 (SIGKILL)" kill.err || fail "stderr: $(cat kill.err)"
for pid in "${ranks[@]}"; do
  [[ ! -e /proc/$pid ]] || [[ $(awk '{print $3}' "/proc/$pid/stat") == Z ]] || fail "rank pid $pid outlived the run"
done
"$mantissa" runs show 1 --db kill.db --json >kill.json
grep -q '"status": "failed"' kill.json || fail "the run is not stored as failed: $(cat kill.json)"
grep -q '"error": "rank 1 was killed by signal 9 (SIGKILL)' kill.json || fail "$(cat kill.json)"

# ---- 2. a stalled rank -------------------------------------------------------
start=$(now_ms)
rc=0
MANTISSA_FAULT=stall@3:1/60 "$mantissa" train "$spirals" --steps 20 --batch 64 --db stall.db \
  --processes 2 --collective-timeout 2 >stall.out 2>stall.err || rc=$?
elapsed=$(($(now_ms) - start))
((rc != 0)) || fail "a stalled rank did not fail the run"
echo "stalled rank 1: the run failed in ${elapsed} ms"
((elapsed < 10000)) || fail "took ${elapsed} ms with a 2 s timeout"
grep -q "no answer from the other ranks within 2 s (a rank stalled)" stall.err || fail "stderr: $(cat stall.err)"

# ---- 3. mpirun and torchrun as the launchers -------------------------------------
checksum() { "$mantissa" runs metrics "$1" --db "$2" --csv | tail -1 | cut -d, -f20; }
"$mantissa" train "$spirals" --steps 20 --batch 64 --db launchers.db --processes 2 >/dev/null 2>&1 ||
  fail "train --processes 2"
builtin=$(checksum 1 launchers.db)
[[ -n "$builtin" ]] || fail "no checksum for the built-in launcher's run"
echo "weights checksum at step 20: built-in launcher $builtin"
launchers=0
next_run=2
# same_bits_as_builtin LAUNCHER: the run it just made (the next id) ended
# with the built-in launcher's weights and was stored with 2 ranks.
same_bits_as_builtin() {
  local b
  b=$(checksum $next_run launchers.db)
  echo "$1: $b"
  [[ "$b" == "$builtin" ]] || fail "$1's ranks give other bits"
  "$mantissa" runs show $next_run --db launchers.db --json | grep -q '"world_size": 2' ||
    fail "$1's run has no ranks"
  next_run=$((next_run + 1))
  launchers=$((launchers + 1))
}
port=$((29700 + RANDOM % 200))
if command -v mpirun >/dev/null 2>&1; then
  mpirun --oversubscribe --allow-run-as-root -np 2 -x OMP_NUM_THREADS=1 -x MASTER_PORT=$port \
    "$mantissa" train "$spirals" --steps 20 --batch 64 --db launchers.db >mpi.out 2>mpi.err ||
    fail "mpirun: $(cat mpi.err)"
  same_bits_as_builtin mpirun
fi
# torchrun (PyTorch's elastic launcher), with the flags of the studio's
# command line for several machines (cluster_command): it sets RANK,
# WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT, and holds MASTER_PORT
# with its own store. --redirects/--tee 2 (stderr): Debian's torch 1.13 on
# Python 3.11 cannot parse their default "0" (IntFlag iteration no longer
# yields NONE), docs/data-parallel.md.
if command -v torchrun >/dev/null 2>&1; then
  torchrun --redirects 2 --tee 2 --log_dir "$work/torchrun-logs" --nnodes 1 --nproc_per_node 2 \
    --rdzv_backend c10d --rdzv_endpoint 127.0.0.1:$((port + 200)) --no_python \
    env OMP_NUM_THREADS=1 "$mantissa" train "$spirals" --steps 20 --batch 64 --db launchers.db \
    >torchrun.out 2>torchrun.err || fail "torchrun: $(tail -20 torchrun.err)"
  same_bits_as_builtin torchrun
fi
if ((launchers == 0)); then
  echo "SKIPPED: neither mpirun (Debian openmpi-bin) nor torchrun found; parts 1 and 2 passed"
  exit 0
fi
echo "ok"
