// Micro-benchmarks of corolib coroutines, after QEMU's tests/unit/test-coroutine.c
// perf tests. Built once per backend (COROLIB_BENCH_BACKEND); every benchmark
// is named <what it measures>/<backend>[/pool|/nopool], for example
// BM_Yield/asm or BM_Lifecycle/asm/pool, so one backend or pool mode can be
// picked with --benchmark_filter.
//
// - BM_FunctionCall: a non-inlined function call (baseline).
// - BM_Yield: enter + yield round trip of one coroutine through the public API.
// - BM_Lifecycle: create + enter + terminate (entry returns at once).
// - BM_Cost: create, enter, yield, re-enter, terminate (QEMU's perf_cost).
// - BM_Nesting: a chain of kNestingDepth coroutines, each created and entered
//   by the previous one (QEMU's perf_nesting); time is for the whole chain.
//
// /pool and /nopool switch the pool on and off with pool_set_enabled(). The
// /pool variants are not registered when the backend or build has no pool
// (the thread backend, -DCOROLIB_POOL=OFF). The thread backend's benchmarks
// are timed by the wall clock (its work runs on other threads), so Google
// Benchmark appends /real_time to their names: BM_Yield/thread/real_time.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "corolib/coroutine.hpp"
#include "corolib/pool.hpp"

#ifndef COROLIB_BENCH_BACKEND
#error "COROLIB_BENCH_BACKEND must name the backend this binary is linked with"
#endif

namespace {

constexpr int kNestingDepth = 1000;

// Sets the pool for one benchmark run and restores it (on) afterwards.
class PoolMode {
 public:
  PoolMode(benchmark::State& state, bool pool) {
    if (corolib::pool_set_enabled(pool) != pool) state.SkipWithError("pool mode unavailable");
  }
  ~PoolMode() { corolib::pool_set_enabled(true); }
};

// --- BM_FunctionCall ---------------------------------------------------------

[[gnu::noinline]] void baseline_function(void* opaque) { benchmark::DoNotOptimize(opaque); }

void BM_FunctionCall(benchmark::State& state) {
  int value = 0;
  for (auto _ : state) baseline_function(&value);
  state.SetItemsProcessed(state.iterations());
}

// --- BM_Yield -------------------------------------------------------------------

void yield_loop(void* opaque) {
  const bool& stop = *static_cast<bool*>(opaque);
  while (!stop) corolib::yield();
}

void BM_Yield(benchmark::State& state) {
  bool stop = false;
  corolib::Coroutine* co = corolib::create(yield_loop, &stop);
  for (auto _ : state) corolib::enter(co);
  stop = true;
  corolib::enter(co);  // terminates
  state.SetItemsProcessed(state.iterations());
}

// --- BM_Lifecycle ---------------------------------------------------------------

void empty_entry(void* opaque) { benchmark::DoNotOptimize(opaque); }

void BM_Lifecycle(benchmark::State& state, bool pool) {
  PoolMode mode(state, pool);
  int value = 0;
  for (auto _ : state) corolib::enter(corolib::create(empty_entry, &value));
  state.SetItemsProcessed(state.iterations());
}

// --- BM_Cost --------------------------------------------------------------------

void yield_once(void* opaque) {
  benchmark::DoNotOptimize(opaque);
  corolib::yield();
}

void BM_Cost(benchmark::State& state, bool pool) {
  PoolMode mode(state, pool);
  int value = 0;
  for (auto _ : state) {
    corolib::Coroutine* co = corolib::create(yield_once, &value);
    corolib::enter(co);
    corolib::enter(co);
  }
  state.SetItemsProcessed(state.iterations());
}

// --- BM_Nesting -----------------------------------------------------------------

struct Nest {
  int depth = 0;
  int max_depth = 0;
};

void nest_entry(void* opaque) {
  auto* nest = static_cast<Nest*>(opaque);
  if (nest->depth < nest->max_depth) {
    ++nest->depth;
    corolib::enter(corolib::create(nest_entry, nest));
  }
}

void BM_Nesting(benchmark::State& state, bool pool) {
  PoolMode mode(state, pool);
  for (auto _ : state) {
    Nest nest{0, kNestingDepth};
    corolib::enter(corolib::create(nest_entry, &nest));
    if (nest.depth != kNestingDepth) {
      state.SkipWithError("nesting stopped early");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * (kNestingDepth + 1));
  state.counters["depth"] = kNestingDepth;
}

// --- registration ---------------------------------------------------------------

void register_all() {
  const std::string backend = COROLIB_BENCH_BACKEND;
  if (backend != corolib::backend_name()) {
    fprintf(stderr, "corolib_core_bench: built for %s but linked with %s\n", backend.c_str(),
            corolib::backend_name());
    abort();
  }
  // Can this build and backend pool coroutines at all?
  const bool has_pool = corolib::pool_set_enabled(true);
  // The thread backend runs coroutines on threads of their own, so the
  // benchmark thread's CPU time misses most of the work: time it by the clock.
  const bool wall_clock = backend == "thread";

  auto add = [&](const std::string& name, auto&&... args) {
    benchmark::internal::Benchmark* bm = benchmark::RegisterBenchmark(name.c_str(), args...);
    if (wall_clock) bm->UseRealTime();
  };
  add("BM_FunctionCall/" + backend, BM_FunctionCall);
  add("BM_Yield/" + backend, BM_Yield);
  struct Mode {
    const char* suffix;
    bool pool;
  };
  for (Mode mode : {Mode{"/pool", true}, Mode{"/nopool", false}}) {
    if (mode.pool && !has_pool) continue;
    add("BM_Lifecycle/" + backend + mode.suffix, BM_Lifecycle, mode.pool);
    add("BM_Cost/" + backend + mode.suffix, BM_Cost, mode.pool);
    add("BM_Nesting/" + backend + mode.suffix, BM_Nesting, mode.pool);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("corolib_backend", corolib::backend_name());
  benchmark::AddCustomContext("corolib_pool_available",
                              corolib::pool_set_enabled(true) ? "yes" : "no");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
