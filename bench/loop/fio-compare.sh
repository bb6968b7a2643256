#!/usr/bin/env bash
# Compares corolib/loop's 4 KiB buffered random reads (BM_Pread4k) with fio's
# io_uring engine on the same cached file, at queue depth 1 and 32, in one run.
#
# usage: bench/loop/fio-compare.sh [-b BUILD_DIR] [-f FILE] [-s SIZE_MIB] [-t SECONDS] [-c CPU] [-r ROUNDS]
#   -b  build directory holding bench/loop/corolib_loop_bench (default build/loop-rel)
#   -f  file to read (default $TMPDIR/corobd-fio-compare.dat; created if missing)
#   -s  size of a created file in MiB (default 64: fits the page cache)
#   -t  seconds per measurement (default 3)
#   -c  pin both programs to this CPU with taskset (default: no pinning)
#   -r  rounds (default 1); each round runs corolib, then fio, so both see the
#       same machine. The best and the median round are shown; on a machine
#       shared with other work the best is the one to quote.
#
# Both sides read the same file, 4 KiB blocks at random aligned offsets,
# buffered (page cache hits), one thread. "plain" is a normal fd and buffer;
# "fixed" uses registered buffers and files (fio: fixedbufs, registerfiles).
# fio runs with gtod_reduce=1: like the benchmark, it then takes no
# timestamps per I/O. Latency is the mean by Little's law (depth / IOPS) of
# the best round. "CPU ns/IO" (median of the rounds) is the CPU time, user +
# system, spent per read: the benchmark thread's CPU time for corolib, fio's
# usr_cpu + sys_cpu for fio. On a busy machine it is the steadier figure.
set -euo pipefail

build=build/loop-rel
file="${TMPDIR:-/tmp}/corobd-fio-compare.dat"
size_mib=64
seconds=3
cpu=""
rounds=1
while getopts "b:f:s:t:c:r:h" opt; do
  case "$opt" in
    b) build=$OPTARG ;;
    f) file=$OPTARG ;;
    s) size_mib=$OPTARG ;;
    t) seconds=$OPTARG ;;
    c) cpu=$OPTARG ;;
    r) rounds=$OPTARG ;;
    *) sed -n '2,18p' "$0"; exit 2 ;;
  esac
done

bench="$build/bench/loop/corolib_loop_bench"
[[ -x "$bench" ]] || { echo "no $bench: build it first (ninja -C $build corolib_loop_bench)" >&2; exit 1; }
command -v fio >/dev/null || { echo "fio not found (apt-get install -y fio)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

if [[ ! -f "$file" ]]; then
  dd if=/dev/urandom of="$file" bs=1M count="$size_mib" status=none
fi
cat "$file" >/dev/null  # into the page cache

pin=()
[[ -n "$cpu" ]] && pin=(taskset -c "$cpu")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "kernel $(uname -r), $(fio --version), file $file ($(stat -c %s "$file") bytes)," \
  "${seconds}s each, $rounds round(s)${cpu:+, cpu $cpu}, load $(cut -d' ' -f1-3 /proc/loadavg)"

for round in $(seq 1 "$rounds"); do
  COROBD_BENCH_FILE="$file" "${pin[@]}" "$bench" \
    --benchmark_filter='BM_Pread4k' --benchmark_min_time="$seconds" \
    --benchmark_format=json >"$tmp/corolib-$round.json"
  for qd in 1 32; do
    for mode in plain fixed; do
      extra=()
      [[ $mode == fixed ]] && extra=(--fixedbufs=1 --registerfiles=1)
      "${pin[@]}" fio --name="qd$qd-$mode" --filename="$file" --ioengine=io_uring --rw=randread \
        --bs=4k --iodepth="$qd" --direct=0 --norandommap --randrepeat=0 --numjobs=1 \
        --time_based --runtime="$seconds" --ramp_time=1 --gtod_reduce=1 "${extra[@]}" \
        --output-format=json >"$tmp/fio-$round-qd$qd-$mode.json"
    done
  done
done

python3 - "$tmp" "$rounds" <<'PY'
import json, os, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
iops, cpu = {}, {}  # (engine, qd, mode) -> per round: IOPS, CPU ns per I/O
for r in range(1, rounds + 1):
    with open(os.path.join(tmp, f"corolib-{r}.json")) as f:
        for b in json.load(f)["benchmarks"]:
            # name: BM_Pread4k/qd:32/fixed:1/real_time
            if b.get("run_type", "iteration") != "iteration":
                continue
            parts = dict(p.split(":") for p in b["name"].split("/")[1:] if ":" in p)
            key = ("corolib", int(parts["qd"]), "fixed" if parts["fixed"] == "1" else "plain")
            iops.setdefault(key, []).append(b["IOPS"])
            cpu.setdefault(key, []).append(b["cpu_time"])  # ns per read, the thread's user + sys
    for qd in (1, 32):
        for mode in ("plain", "fixed"):
            with open(os.path.join(tmp, f"fio-{r}-qd{qd}-{mode}.json")) as f:
                job = json.load(f)["jobs"][0]
            key = ("fio", qd, mode)
            iops.setdefault(key, []).append(job["read"]["iops"])
            busy = (job["usr_cpu"] + job["sys_cpu"]) / 100.0
            cpu.setdefault(key, []).append(busy * 1e9 / job["read"]["iops"])
print(f"{'engine':8} {'qd':>3} {'mode':6} {'best IOPS':>10} {'lat us':>7} {'median IOPS':>12} {'CPU ns/IO':>10}")
for key in sorted(iops, key=lambda k: (k[1], k[2], k[0])):
    engine, qd, mode = key
    best, median = max(iops[key]), statistics.median(iops[key])
    print(f"{engine:8} {qd:>3} {mode:6} {best:>10.0f} {qd / best * 1e6:>7.2f} {median:>12.0f}"
          f" {statistics.median(cpu[key]):>10.0f}")
PY
