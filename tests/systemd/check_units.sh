#!/bin/sh
# check_units.sh verify DIR UNIT...      systemd-analyze verify on the units in DIR
# check_units.sh security DIR UNIT MAX   systemd-analyze security --offline=true;
#                                        fails when the exposure is above MAX
# Exit 77 (ctest: skipped) when systemd-analyze is missing.
set -eu
mode=$1; dir=$2; shift 2
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not installed: skipped"
  exit 77
fi
cd "$dir"
case $mode in
  verify)
    # --man=no: the man pages are installed, not in the build tree.
    out=$(systemd-analyze verify --man=no "$@" 2>&1) || { echo "$out"; exit 1; }
    if [ -n "$out" ]; then echo "$out"; echo "FAIL: warnings from systemd-analyze verify"; exit 1; fi
    echo "ok: systemd-analyze verify $*"
    ;;
  security)
    unit=$1; max=$2
    out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || { echo "$out"; exit 1; }
    score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -z "$score" ]; then echo "$out"; echo "FAIL: no exposure level in the output"; exit 1; fi
    printf '%s\n' "$out" | grep -v '✓' || true
    echo "exposure $score (max $max)"
    awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }' || { echo "FAIL: exposure $score > $max"; exit 1; }
    ;;
  *) echo "usage: $0 verify|security DIR ..."; exit 2 ;;
esac
