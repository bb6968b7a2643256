// The hardware floor under BM_Yield/asm: what an enter + yield round trip
// costs with nothing but the asm backend's switch (asm_switch.hpp), shaped
// like the public API (two out-of-line functions, each saving the registers
// the switch clobbers and returning through a jump-return stub), and no
// bookkeeping beyond the switch's own store of the current-coroutine pointer:
// no caller chain, no wakeup list, no checks.
//
// - BM_SwitchFloor/asm: that round trip (MXCSR and x87 control word saved and
//   restored on each switch, as the ABI requires).
// - BM_FpControlRead/asm: stmxcsr + fnstcw, what each switch pays to read the
//   floating-point control state it must save (two per round trip).
//
// Compare BM_Yield/asm against these in the same run (docs/PERFORMANCE.md).
// x86-64 only; elsewhere the binary registers no benchmark.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "asm_switch.hpp"

#if defined(__x86_64__) && !defined(__CET__)

namespace {

void* leader_sp = nullptr;
void* coroutine_sp = nullptr;
corolib::Coroutine* current = nullptr;  // written by each switch, never read

extern "C" {
[[gnu::visibility("hidden")]] void floor_trampoline();
[[gnu::visibility("hidden"), noreturn]] void floor_coroutine_main();
[[gnu::visibility("hidden")]] void floor_enter_return() noexcept;
[[gnu::visibility("hidden")]] void floor_yield_return() noexcept;
}

// Pop-and-jump returns, as corolib's enter()/yield() use (coroutine.cpp).
asm(R"(
  .text
  .p2align 4
floor_enter_return:
  popq %rcx
  jmpq *%rcx
  .p2align 4
floor_yield_return:
  popq %rcx
  jmpq *%rcx
  .p2align 4
floor_trampoline:
  call floor_coroutine_main
  ud2
)");

[[gnu::noinline]] void floor_yield() {
  corolib::detail::switch_stack(&coroutine_sp, leader_sp, &current, nullptr);
  return floor_yield_return();
}

[[gnu::noinline]] void floor_enter() {
  corolib::detail::switch_stack(&leader_sp, coroutine_sp, &current, nullptr);
  return floor_enter_return();
}

extern "C" void floor_coroutine_main() {
  for (;;) floor_yield();
}

// The frame switch_stack() pops on the first switch: FP control state,
// rbp = 0, resume at the trampoline (16-byte aligned stack at its call).
void start_coroutine(void* stack_top) {
  auto* slot = static_cast<std::uint64_t*>(stack_top);
  *--slot = 0;
  *--slot = reinterpret_cast<std::uint64_t>(&floor_trampoline);
  *--slot = 0;
  std::uint32_t mxcsr;
  std::uint16_t fpucw;
  asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fpucw));
  *--slot = mxcsr | (static_cast<std::uint64_t>(fpucw) << 32);
  coroutine_sp = slot;
}

void BM_SwitchFloor(benchmark::State& state) {
  // One coroutine for the whole process; it never terminates.
  alignas(64) static unsigned char stack[64 * 1024];
  if (coroutine_sp == nullptr) start_coroutine(stack + sizeof stack);
  for (auto _ : state) floor_enter();
  state.SetItemsProcessed(state.iterations());
}

void BM_FpControlRead(benchmark::State& state) {
  std::uint32_t mxcsr;
  std::uint16_t fpucw;
  for (auto _ : state) asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fpucw));
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_SwitchFloor)->Name("BM_SwitchFloor/asm");
BENCHMARK(BM_FpControlRead)->Name("BM_FpControlRead/asm");

}  // namespace

#endif

BENCHMARK_MAIN();
