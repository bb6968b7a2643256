#!/bin/bash
# peer-compare.sh: serves one raw image with corobd, qemu-nbd and nbdkit in
# turn and drives each with the same fio nbd jobs; prints a table of IOPS,
# p99 completion latency and server CPU seconds per million requests.
#
#   bench/peer-compare.sh [--corobd PATH] [--runtime SECONDS] [--size BYTES|1G]
#                         [--dir DIR] [--servers "corobd qemu-nbd nbdkit"]
#                         [--jobs "randread randwrite seqread randrw"]
#
# Jobs (fio --ioengine=nbd, one URI nbd+unix:///disk?socket=...):
#   randread   4 KiB random read,  QD32, 1 connection
#   randwrite  4 KiB random write, QD32, 1 connection
#   seqread    128 KiB sequential read, QD8, 1 connection
#   randrw     4 KiB random 70/30 read/write, 4 connections x QD16
# Servers:
#   corobd   --export name=disk,file=IMG,cache=writeback --log-level warn
#            (plus $COROBD_ARGS, e.g. COROBD_ARGS="--batch-wait off")
#   qemu-nbd --format=raw --aio=io_uring --cache=writeback --shared=8 --persistent
#   nbdkit   file plugin (default thread model), --foreground
# Server CPU is utime+stime of the server process (all its threads) from
# /proc/PID/stat, sampled around each job. The image is filled with random
# data first so that no server can answer reads from holes.
# Needs fio (with the nbd engine), qemu-nbd, nbdkit, python3.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
corobd=""
runtime=10
size=1G
dir=""
servers="corobd qemu-nbd nbdkit"
jobs="randread randwrite seqread randrw"
while [ $# -gt 0 ]; do
  case "$1" in
    --corobd) corobd=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "peer-compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if [ -z "$corobd" ]; then
  for c in "$here"/build/release/daemon/corobd "$here"/build/d-rel/daemon/corobd; do
    [ -x "$c" ] && { corobd=$c; break; }
  done
fi
for t in fio python3; do
  command -v $t >/dev/null || { echo "peer-compare.sh: $t not found" >&2; exit 2; }
done

own_dir=0
if [ -z "$dir" ]; then dir=$(mktemp -d /tmp/corobd-peer-XXXXXX); own_dir=1; fi
img=$dir/bench.img
sock=$dir/nbd.sock
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ $own_dir = 1 ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT INT TERM

bytes=$(python3 -c "import sys; s=sys.argv[1]; m={'k':1,'K':1,'M':2,'G':3,'T':4}; print(int(s[:-1])*1024**m[s[-1]] if s[-1] in m else int(s))" "$size")
echo "# filling $img ($bytes bytes) with random data" >&2
head -c "$bytes" /dev/urandom > "$img"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)

start_server() {
  rm -f "$sock"
  case "$1" in
    corobd)
      [ -n "$corobd" ] || { echo "peer-compare.sh: corobd binary not found (--corobd)" >&2; return 1; }
      "$corobd" --socket "$sock" --export "name=disk,file=$img,cache=writeback" --log-level warn ${COROBD_ARGS:-} \
        --max-inflight 64 &
      ;;
    qemu-nbd)
      qemu-nbd --socket="$sock" --format=raw --aio=io_uring --cache=writeback --shared=8 \
        --persistent --export-name=disk "$img" &
      ;;
    nbdkit)
      nbdkit --foreground --unix "$sock" --exportname=disk file "file=$img" &
      ;;
  esac
  server_pid=$!
  for _ in $(seq 200); do [ -S "$sock" ] && return 0; sleep 0.05; done
  echo "peer-compare.sh: $1 did not start" >&2
  return 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

run_job() {  # server job fio-args...
  local server=$1 job=$2; shift 2
  local before after out
  out=$dir/$server-$job.json
  before=$(cpu_ticks "$server_pid")
  fio --name="$job" --ioengine=nbd --uri="nbd+unix:///disk?socket=$sock" \
    --size="$bytes" --time_based=1 --runtime="$runtime" --ramp_time=1 --group_reporting=1 \
    --output-format=json --output="$out" "$@" >/dev/null
  after=$(cpu_ticks "$server_pid")
  python3 - "$out" "$server" "$job" "$before" "$after" "$ticks_per_s" "$runtime" <<'PY'
import json, sys
path, server, job, before, after, hz, runtime = sys.argv[1:]
j = json.load(open(path))["jobs"][0]
ios = iops = 0.0
p99 = []
for d in ("read", "write"):
    s = j[d]
    if s["total_ios"] == 0:
        continue
    ios += s["total_ios"]
    iops += s["iops"]
    p = s["clat_ns"].get("percentile", {}).get("99.000000")
    if p is not None:
        p99.append("%s %.0f" % (d[0], p / 1000.0))
cpu = (int(after) - int(before)) / float(hz)
# CPU is sampled over ramp_time (1 s) + runtime; count requests over the same
# window at the measured rate.
total_req = iops * (float(runtime) + 1.0)
cpu_per_m = cpu / (total_req / 1e6) if total_req else float("nan")
print("%-9s %-10s %10.0f %16s %12.2f" % (server, job, iops, "/".join(p99) or "-", cpu_per_m))
PY
}

printf "%-9s %-10s %10s %16s %12s\n" server job IOPS "p99 us (r/w)" "CPU s/Mreq"
for server in $servers; do
  start_server "$server" || continue
  for job in $jobs; do
    case "$job" in
      randread)  run_job "$server" randread  --rw=randread  --bs=4k   --iodepth=32 --numjobs=1 ;;
      randwrite) run_job "$server" randwrite --rw=randwrite --bs=4k   --iodepth=32 --numjobs=1 ;;
      seqread)   run_job "$server" seqread   --rw=read      --bs=128k --iodepth=8  --numjobs=1 ;;
      randrw)    run_job "$server" randrw    --rw=randrw --rwmixread=70 --bs=4k --iodepth=16 --numjobs=4 ;;
      *) echo "peer-compare.sh: unknown job '$job'" >&2; exit 2 ;;
    esac
  done
  stop_server
done
