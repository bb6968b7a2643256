#!/usr/bin/env bash
# corobd-load against fio's nbd engine (libnbd), same server, same block size,
# queue depth and connection count: IOPS and client CPU per request.
#
# usage: bench/loadgen-vs-fio.sh [CASE...]
#   CASE = PATTERN:BS:QD:CONNS   (default: randread:4k:32:1 randrw:4k:32:2 randread:64k:8:1)
#   PATTERN is a corobd-load --rw (randrw/rw use a 70 % read mix in both tools).
# environment:
#   LOAD     corobd-load binary       (default build/load-rel/loadgen/corobd-load)
#   SERVER   nbdkit | qemu-nbd | corobd | uri   (default nbdkit: memory plugin, 1 GiB)
#   URI      with SERVER=uri: an NBD URI to an existing server (nothing is started)
#   COROBD   corobd binary for SERVER=corobd (default build/load-rel/daemon/corobd)
#   RUNTIME  seconds per run (default 10)      REPEAT  runs per tool and case (default 3)
#   CLIENT_CPUS  if set, both clients run under `taskset -c CLIENT_CPUS` (the
#            same CPU budget: fio runs a thread per job, corobd-load one
#            event-loop thread for every connection)
#
# Each run is timed with /usr/bin/time; client CPU per request is
# (user + system seconds of the client process) / requests completed. Both
# tools run without warmup for the same time, so the CPU covers the same
# span; the tools alternate so drifting machine load hits both alike. The
# medians of REPEAT runs are printed last, as a Markdown table.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
LOAD=${LOAD:-$here/build/load-rel/loadgen/corobd-load}
SERVER=${SERVER:-nbdkit}
RUNTIME=${RUNTIME:-10}
REPEAT=${REPEAT:-3}
COROBD=${COROBD:-$here/build/load-rel/daemon/corobd}
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(randread:4k:32:1 randrw:4k:32:2 randread:64k:8:1)

for tool in fio jq /usr/bin/time "$LOAD"; do
  command -v "$tool" >/dev/null || { echo "loadgen-vs-fio: $tool not found" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/loadgen-vs-fio.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

pin=()
if [ -n "${CLIENT_CPUS:-}" ]; then pin=(taskset -c "$CLIENT_CPUS"); fi

sock=$tmp/nbd.sock
case $SERVER in
  nbdkit)
    nbdkit -f --exit-with-parent -U "$sock" memory 1G >"$tmp/server.log" 2>&1 &
    server_pid=$! ;;
  qemu-nbd)
    truncate -s 1G "$tmp/disk.img"
    qemu-nbd --socket="$sock" --format=raw --persistent --shared=16 --cache=writeback \
      --aio=io_uring "$tmp/disk.img" >"$tmp/server.log" 2>&1 &
    server_pid=$! ;;
  corobd)
    truncate -s 1G "$tmp/disk.img"
    "$COROBD" --socket "$sock" --export "name=disk,file=$tmp/disk.img,default=on" >"$tmp/server.log" 2>&1 &
    server_pid=$! ;;
  uri) [ -n "${URI:-}" ] || { echo "loadgen-vs-fio: SERVER=uri needs URI" >&2; exit 2; } ;;
  *) echo "loadgen-vs-fio: unknown SERVER $SERVER" >&2; exit 2 ;;
esac
if [ "$SERVER" != uri ]; then
  URI="nbd+unix:///?socket=$sock"
  for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ] || { echo "loadgen-vs-fio: $SERVER did not start:" >&2; cat "$tmp/server.log" >&2; exit 1; }
fi

# run_fio PATTERN BS QD CONNS -> "iops ops cpu_s"
run_fio() {
  local rw=$1 bs=$2 qd=$3 conns=$4 mix=()
  case $rw in rw|randrw) mix=(--rwmixread=70) ;; esac
  /usr/bin/time -f '%U %S' -o "$tmp/time" "${pin[@]}" \
    fio --name=nbd --ioengine=nbd --uri="$URI" --rw="$rw" "${mix[@]}" --bs="$bs" \
        --iodepth="$qd" --numjobs="$conns" --group_reporting --time_based \
        --runtime="$RUNTIME" --output-format=json --output="$tmp/fio.json" >/dev/null 2>"$tmp/fio.err"
  jq -r '.jobs[0] | "\(.read.iops + .write.iops) \(.read.total_ios + .write.total_ios)"' "$tmp/fio.json" |
    { read -r iops ops; echo "$iops $ops $(awk '{print $1 + $2}' "$tmp/time")"; }
}

# run_load PATTERN BS QD CONNS -> "iops ops cpu_s"
run_load() {
  local rw=$1 bs=$2 qd=$3 conns=$4 mix=()
  case $rw in rw|randrw) mix=(--mix 70) ;; esac
  /usr/bin/time -f '%U %S' -o "$tmp/time" "${pin[@]}" \
    "$LOAD" --uri "$URI" --rw "$rw" "${mix[@]}" --bs "$bs" --qd "$qd" --conns "$conns" \
      --runtime "${RUNTIME}s" --warmup 0 --progress never --json >"$tmp/load.json"
  jq -r '"\(.total.iops) \(.total.ops)"' "$tmp/load.json" |
    { read -r iops ops; echo "$iops $ops $(awk '{print $1 + $2}' "$tmp/time")"; }
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "server: $SERVER ($URI), ${RUNTIME}s per run, $REPEAT runs per tool${CLIENT_CPUS:+, clients on CPU(s) $CLIENT_CPUS}"
echo "fio: $(fio --version), corobd-load: $LOAD"
summary=()
for c in "${cases[@]}"; do
  IFS=: read -r rw bs qd conns <<<"$c"
  : >"$tmp/fio.rows"; : >"$tmp/load.rows"
  for i in $(seq "$REPEAT"); do
    read -r iops ops cpu < <(run_fio "$rw" "$bs" "$qd" "$conns")
    us=$(awk -v c="$cpu" -v n="$ops" 'BEGIN {printf "%.2f", c * 1e6 / n}')
    printf '%-22s run %d  fio          IOPS %10.0f  cpu %6.2fs  %6s us/req\n' "$c" "$i" "$iops" "$cpu" "$us"
    echo "$iops $us" >>"$tmp/fio.rows"
    read -r iops ops cpu < <(run_load "$rw" "$bs" "$qd" "$conns")
    us=$(awk -v c="$cpu" -v n="$ops" 'BEGIN {printf "%.2f", c * 1e6 / n}')
    printf '%-22s run %d  corobd-load  IOPS %10.0f  cpu %6.2fs  %6s us/req\n' "$c" "$i" "$iops" "$cpu" "$us"
    echo "$iops $us" >>"$tmp/load.rows"
  done
  fi=$(cut -d' ' -f1 "$tmp/fio.rows" | median); fc=$(cut -d' ' -f2 "$tmp/fio.rows" | median)
  li=$(cut -d' ' -f1 "$tmp/load.rows" | median); lc=$(cut -d' ' -f2 "$tmp/load.rows" | median)
  summary+=("$(awk -v c="$c" -v fi="$fi" -v fc="$fc" -v li="$li" -v lc="$lc" \
    'BEGIN {printf "| %s | %.0f | %.0f | %.2fx | %.2f | %.2f | %.2fx |", c, fi, li, li / fi, fc, lc, lc / fc}')")
done
echo
echo "| case (rw:bs:qd:conns) | fio IOPS | corobd-load IOPS | IOPS ratio | fio CPU us/req | corobd-load CPU us/req | CPU ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${summary[@]}"
