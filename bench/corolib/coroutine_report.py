#!/usr/bin/env python3
"""Runs the corolib coroutine benchmarks and prints the docs/PERFORMANCE.md table.

usage: bench/corolib/coroutine_report.py [BUILD_DIR] [REPETITIONS]

BUILD_DIR defaults to build/bench-rel (configure it with
-DCMAKE_BUILD_TYPE=Release). Every corolib_core_bench_<backend> binary found
there is run as

  <binary> --benchmark_repetitions=N --benchmark_report_aggregates_only=true
           --benchmark_format=json

and the medians are tabulated, with the ratios the targets of issue 2 are
stated in. Times are CPU time of the benchmark thread, except for the thread
backend, whose work runs on other threads: its benchmarks use wall-clock time
(Google Benchmark then appends /real_time to their names).
"""
import json
import pathlib
import subprocess
import sys

BACKENDS = ["asm", "ucontext", "sigaltstack", "thread"]
ROWS = [
    ("BM_FunctionCall/{b}", "function call (baseline)"),
    ("BM_Yield/{b}", "enter + yield round trip"),
    ("BM_Lifecycle/{b}/pool", "lifecycle, pool on"),
    ("BM_Lifecycle/{b}/nopool", "lifecycle, pool off"),
    ("BM_Cost/{b}/pool", "cost (create, enter, yield, enter, end), pool on"),
    ("BM_Cost/{b}/nopool", "cost, pool off"),
    ("BM_Nesting/{b}/pool", "nesting 1000 deep (whole chain), pool on"),
    ("BM_Nesting/{b}/nopool", "nesting 1000 deep (whole chain), pool off"),
]


def fmt(ns):
    if ns is None:
        return "–"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def run(binary, repetitions):
    out = subprocess.run(
        [str(binary), f"--benchmark_repetitions={repetitions}",
         "--benchmark_report_aggregates_only=true", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    medians = {}
    for bm in json.loads(out)["benchmarks"]:
        if bm.get("aggregate_name") != "median":
            continue
        name = bm["run_name"]
        wall_clock = name.endswith("/real_time")  # the thread backend's
        name = name.removesuffix("/real_time")
        field = "real_time" if wall_clock else "cpu_time"
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[bm["time_unit"]]
        medians[name] = bm[field] * scale
    return medians


def main():
    build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build/bench-rel")
    repetitions = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    results = {}
    for backend in BACKENDS:
        binary = build / "bench" / "corolib" / f"corolib_core_bench_{backend}"
        if binary.exists():
            results[backend] = run(binary, repetitions)
    backends = list(results)

    print("| benchmark (median of %d) | %s |" % (repetitions, " | ".join(backends)))
    print("|---|%s" % ("---:|" * len(backends)))
    for pattern, label in ROWS:
        cells = [fmt(results[b].get(pattern.format(b=b))) for b in backends]
        print(f"| {label} | {' | '.join(cells)} |")

    def ratio(b, num, den):
        n = results[b].get(num.format(b=b))
        d = results[b].get(den.format(b=b))
        return f"{n / d:.2f}×" if n and d else "–"

    print()
    print("| ratio (target) | %s |" % " | ".join(backends))
    print("|---|%s" % ("---:|" * len(backends)))
    print("| pooled lifecycle / round trip (≤ 2×) | %s |" % " | ".join(
        ratio(b, "BM_Lifecycle/{b}/pool", "BM_Yield/{b}") for b in backends))
    print("| lifecycle pool off / pool on (≥ 10×) | %s |" % " | ".join(
        ratio(b, "BM_Lifecycle/{b}/nopool", "BM_Lifecycle/{b}/pool") for b in backends))
    print("| round trip / function call | %s |" % " | ".join(
        ratio(b, "BM_Yield/{b}", "BM_FunctionCall/{b}") for b in backends))
    if "asm" in results:
        print("| round trip / asm round trip | %s |" % " | ".join(
            f"{results[b]['BM_Yield/' + b] / results['asm']['BM_Yield/asm']:.2f}×"
            for b in backends))


if __name__ == "__main__":
    main()
