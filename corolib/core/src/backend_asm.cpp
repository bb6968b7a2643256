// The asm backend (default): coroutine creation for the hand-written stack
// switch in asm_switch.hpp, which the core inlines.
#include <cstdint>
#include <cstring>

#include "asm_switch.hpp"
#include "backend.hpp"
#include "sanitizers.hpp"

// Called on a fresh stack by the trampoline; never returns.
extern "C" [[gnu::visibility("hidden"), noreturn]] void corolib_asm_coroutine_start(
    corolib::Coroutine* co) {
  corolib::detail::on_first_entry(co);
  corolib::detail::coroutine_main(co);
}

#if defined(__x86_64__)

// First code a new coroutine runs: its Coroutine* sits at the top of the new
// stack, which is 16-byte aligned here. rbp is zero, ending frame chains.
asm(R"(
  .text
  .p2align 4
  .type corolib_asm_trampoline, @function
corolib_asm_trampoline:
  .cfi_startproc
  .cfi_undefined rip
  )" COROLIB_BRANCH_TARGET R"(
  movq (%rsp), %rdi
  call corolib_asm_coroutine_start
  ud2
  .cfi_endproc
  .size corolib_asm_trampoline, .-corolib_asm_trampoline
)");

extern "C" void corolib_asm_trampoline();

namespace corolib::detail {
namespace {

// Builds the frame switch_stack() pops on first entry: FP control state
// copied from the creating thread, rbp = 0, resume at the trampoline with
// the Coroutine* above it.
void* initial_frame(void* top, Coroutine* co) {
  auto* slot = static_cast<std::uint64_t*>(top);
  *--slot = 0;                                             // alignment / fake return
  *--slot = reinterpret_cast<std::uint64_t>(co);          // read by the trampoline
  *--slot = reinterpret_cast<std::uint64_t>(&corolib_asm_trampoline);
  *--slot = 0;                                             // rbp
  std::uint32_t mxcsr;
  std::uint16_t fpucw;
  asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fpucw));
  std::uint64_t control = mxcsr | (static_cast<std::uint64_t>(fpucw) << 32);
  *--slot = control;
  return slot;
}

}  // namespace
}  // namespace corolib::detail

#elif defined(__aarch64__)

// First code a new coroutine runs: x19 holds its Coroutine* (restored from
// the initial frame), fp is zero, ending frame chains.
asm(R"(
  .text
  .p2align 4
  .type corolib_asm_trampoline, %function
corolib_asm_trampoline:
  .cfi_startproc
  .cfi_undefined x30
  )" COROLIB_BTI_J R"(
  mov x0, x19
  bl corolib_asm_coroutine_start
  brk #0
  .cfi_endproc
  .size corolib_asm_trampoline, .-corolib_asm_trampoline
)");

extern "C" void corolib_asm_trampoline();

namespace corolib::detail {
namespace {

void* initial_frame(void* top, Coroutine* co) {
  auto* slot = static_cast<std::uint64_t*>(top);
  *--slot = reinterpret_cast<std::uint64_t>(&corolib_asm_trampoline);  // resume address
  *--slot = 0;                                                          // fp
  *--slot = 0;                                                          // pad
  *--slot = reinterpret_cast<std::uint64_t>(co);                        // x19
  return slot;
}

}  // namespace
}  // namespace corolib::detail

#endif  // the other architectures stop at asm_switch.hpp

namespace corolib::detail {

const char* const kBackendName = "asm";
const bool kBackendSupportsPool = true;

Coroutine* backend_create(std::size_t stack_size) {
  auto* co = new AsmCoroutine;
  co->stack.allocate(stack_size);
  co->stack_bottom = co->stack.bottom();
  co->stack_size = co->stack.size();
  co->tsan_fiber = sanitizer_create_fiber();
  co->sp = initial_frame(co->stack.top(), co);
  return co;
}

void backend_destroy(Coroutine* co) {
  sanitizer_destroy_fiber(co->tsan_fiber);
  delete static_cast<AsmCoroutine*>(co);
}

Coroutine* backend_leader() {
  thread_local AsmCoroutine leader;
  return &leader;
}

}  // namespace corolib::detail
