#!/usr/bin/env bash
# The studio's soak benchmark: trains in mantissa-studio under Xvfb for a
# while (default 30 minutes) while a user's actions are replayed with real
# key events: File ▸ Open and File ▸ Save As dialogs on the folder that holds
# the run database, and, from a terminal, `mantissa runs list` and
# `mantissa train` into the same database. Samples the studio's memory every
# minute; at the end checks the database's integrity and every run in it.
#
#   scripts/soak.sh [MINUTES] [OUT_DIR]     (needs xvfb-run and xdotool)
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$MANTISSA_ROOT"

minutes="${1:-30}"
out="${2:-$(mktemp -d)}"
command -v Xvfb >/dev/null 2>&1 || die "Xvfb not found: apt-get install xvfb"
command -v xdotool >/dev/null 2>&1 || die "xdotool not found: apt-get install xdotool"
build_dir="$(mantissa_build_dir "${MANTISSA_PRESET:-default}")"
studio="$build_dir/ui/mantissa-studio"
cli="$build_dir/app/mantissa"
[[ -x "$studio" && -x "$cli" ]] || die "build first (scripts/build.sh)"
MANTISSA_DATA_DIR="$(mantissa_data_dir)"
export MANTISSA_DATA_DIR

mkdir -p "$out/proj"
proj="$out/proj"
db="$proj/runs.db"
# The studio trains mnist-mlp for longer than the soak lasts.
sed 's/"epochs": *[0-9]*/"epochs": 100000/' projects/mnist-mlp.json >"$proj/mnist-mlp.json"
cp projects/spirals.json "$proj/spirals.json"

display=":$((90 + RANDOM % 9))"
Xvfb "$display" -screen 0 1600x1000x24 >/dev/null 2>&1 &
xvfb=$!
export DISPLAY="$display"
cleanup() {
  [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT
sleep 2

export MANTISSA_DB="$db"
"$studio" --settings "$out/studio.ini" "$proj/mnist-mlp.json" >"$out/studio.log" 2>&1 &
pid=$!
for _ in $(seq 60); do
  wid="$(xdotool search --pid "$pid" --onlyvisible --name "Mantissa Studio" 2>/dev/null | head -1 || true)"
  [[ -n "$wid" ]] && break
  sleep 1
done
[[ -n "$wid" ]] || die "the studio's window did not appear (see $out/studio.log)"
# Without a window manager focus does not come back by itself after a dialog.
key() {
  xdotool windowfocus --sync "$wid" >/dev/null 2>&1 || true
  xdotool key --clearmodifiers "$@"
}

phase "soak: training in the studio for $minutes minutes (pid $pid, $display)"
key ctrl+Return
echo "minute,rss_kib" >"$out/memory.csv"
start=$(date +%s)
end=$((start + minutes * 60))
next_sample=$start
dialogs=0 lists=0 cli_runs=0 i=0
while (($(date +%s) < end)); do
  now=$(date +%s)
  if ((now >= next_sample)); then
    rss=$(ps -o rss= -p "$pid" | tr -d ' ')
    [[ -n "$rss" ]] || die "the studio ended during the soak (see $out/studio.log)"
    echo "$(((now - start) / 60)),$rss" >>"$out/memory.csv"
    next_sample=$((next_sample + 60))
  fi
  i=$((i + 1))
  # A file dialog on the database's folder: File ▸ Open, Save As and Open
  # Run Database (which lists runs.db itself).
  case $((i % 3)) in
    0) key ctrl+o ;;
    1) key ctrl+shift+s ;;
    2) key alt+f; sleep 0.5; xdotool key d ;;
  esac
  sleep 3
  xdotool key Escape
  dialogs=$((dialogs + 1))
  "$cli" runs list --db "$db" >/dev/null || die "runs list failed during the soak"
  lists=$((lists + 1))
  if ((i % 12 == 0)); then
    "$cli" train "$proj/spirals.json" --steps 1500 --db "$db" >>"$out/cli.log" 2>&1 ||
      die "a CLI run failed during the soak (see $out/cli.log)"
    cli_runs=$((cli_runs + 1))
  fi
  sleep 5
done

phase "soak: stopping the studio's run and closing the window"
key ctrl+period
sleep 10
key ctrl+q
for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
kill -0 "$pid" 2>/dev/null && die "the studio did not close"
pid=

python3 - "$db" "$out" "$dialogs" "$lists" "$cli_runs" <<'PY'
import csv, sqlite3, sys
db, out, dialogs, lists, cli_runs = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
runs = con.execute("SELECT id, name, status, (SELECT count(*) FROM step_metrics m WHERE m.run_id = r.id) "
                   "FROM runs r ORDER BY id").fetchall()
rows = list(csv.DictReader(open(f"{out}/memory.csv")))
rss = [int(r["rss_kib"]) for r in rows]
warm = rss[min(2, len(rss) - 1)]
report = [
    f"minutes sampled: {len(rss)}; studio RSS after warm-up (minute {min(2, len(rss)-1)}): "
    f"{warm/1024:.1f} MiB, at the end: {rss[-1]/1024:.1f} MiB, "
    f"growth {(rss[-1]-warm)/1024:+.1f} MiB, max {max(rss)/1024:.1f} MiB",
    f"file dialogs opened on the database's folder: {dialogs}; `runs list`: {lists}; "
    f"CLI runs trained into the database: {cli_runs}",
    f"PRAGMA integrity_check: {integrity}",
    f"runs: {len(runs)}; " + ", ".join(f"{i} {s} ({n} steps)" for i, _, s, n in runs[:3]) +
    (" ..." if len(runs) > 3 else ""),
]
print("\n".join(report))
open(f"{out}/report.txt", "w").write("\n".join(report) + "\n")
bad = [r for r in runs if r[2] not in ("finished", "stopped")]
sys.exit(0 if integrity == "ok" and not bad and len(runs) == cli_runs + 1 else 1)
PY
