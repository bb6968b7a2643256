// The asm backend's context switch, inlined into the core.
//
// coroutine.cpp is compiled once per backend; for the asm backend it
// includes this header, so the switch below is inlined into enter(), yield()
// and the entry loop. Each of those then has its own resume point and its
// own indirect jump, which the branch predictor learns (an out-of-line
// switch shares one jump between every pair of contexts).
//
// The switch is an inline-asm statement that saves only what the ABI makes
// callee-saved and the compiler cannot spill for us: the frame pointer, the
// resume address, and the floating-point control state (x86-64: MXCSR and
// the x87 control word; aarch64: FPCR is left alone, as the ABI allows).
// Every other register is declared clobbered, so the compiler spills just the
// values that are live across the switch (PhotonLibOS's technique).
#pragma once

#include "coroutine_impl.hpp"
#include "stack.hpp"

#if defined(__CET__)
#define COROLIB_BRANCH_TARGET "endbr64\n\t"
#else
#define COROLIB_BRANCH_TARGET ""
#endif

// Both the trampoline and the resume point are reached by `br` through a
// register other than x16/x17, which only `bti j` accepts.
#if defined(__ARM_FEATURE_BTI_DEFAULT)
#define COROLIB_BTI_J "bti j\n\t"
#else
#define COROLIB_BTI_J ""
#endif

namespace corolib::detail {

struct AsmCoroutine final : Coroutine {
  void* sp = nullptr;  // saved stack pointer while switched out
  CoroutineStack stack;
};

#if defined(__x86_64__)

// Saves the current context's stack pointer to *save_sp, stores `next` into
// *current, and resumes the context saved at load_sp. The frame below the
// stack pointer holds, from low to high: MXCSR (4 bytes), x87 control word
// (2 bytes, padded to 8), rbp, and the resume address.
[[gnu::always_inline]] inline void switch_stack(void** save_sp, void* load_sp,
                                                Coroutine** current, Coroutine* next) {
  asm volatile(
      "leaq -128(%%rsp), %%rsp\n\t"  // keep out of the caller's red zone
      "leaq 1f(%%rip), %%rax\n\t"
      "pushq %%rax\n\t"
      "pushq %%rbp\n\t"
      "subq $8, %%rsp\n\t"
      "stmxcsr (%%rsp)\n\t"
      "fnstcw 4(%%rsp)\n\t"
      "movq %%rsp, (%%rdi)\n\t"
      "movq %%rcx, (%%rdx)\n\t"
      "movq %%rsi, %%rsp\n\t"
      "ldmxcsr (%%rsp)\n\t"
      "fldcw 4(%%rsp)\n\t"
      "addq $8, %%rsp\n\t"
      "popq %%rbp\n\t"
      "popq %%rax\n\t"
      "jmpq *%%rax\n"
      "1:\n\t" COROLIB_BRANCH_TARGET
      "leaq 128(%%rsp), %%rsp\n\t"
      : "+D"(save_sp), "+S"(load_sp), "+d"(current), "+c"(next)
      :
      : "rax", "rbx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
        "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)",
        "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"
#ifdef __AVX512F__
        ,
        "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
        "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5", "k6",
        "k7"
#endif
  );
}

#elif defined(__aarch64__)

// Saves fp, the resume address and x19 below sp, stores `next` into
// *current, and resumes the context saved at load_sp; x19-x28 and d8-d15 are
// declared clobbered so the compiler spills only live ones. The saved frame
// holds, from low to high: x19, (pad), fp, resume address.
[[gnu::always_inline]] inline void switch_stack(void** save_sp, void* load_sp,
                                                Coroutine** current, Coroutine* next) {
  register void** x0 asm("x0") = save_sp;
  register void* x1 asm("x1") = load_sp;
  register Coroutine** x2 asm("x2") = current;
  register Coroutine* x3 asm("x3") = next;
  asm volatile(
      "adr x9, 1f\n\t"
      "stp x29, x9, [sp, #-16]!\n\t"
      "stp x19, xzr, [sp, #-16]!\n\t"
      "mov x10, sp\n\t"
      "str x10, [x0]\n\t"
      "str x3, [x2]\n\t"
      "mov sp, x1\n\t"
      "ldp x19, x10, [sp], #16\n\t"
      "ldp x29, x9, [sp], #16\n\t"
      "br x9\n"
      "1:\n\t" COROLIB_BTI_J
      : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
      :
      : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
        "x15", "x16", "x17", "x18", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
        "x28", "x30", "memory", "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8",
        "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20",
        "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
}

#else
#error "the asm backend supports x86-64 and aarch64; pick another COROLIB_BACKEND"
#endif

// Saves the running context into `from`, then stores `next` into *current
// and resumes `to` (see backend.hpp).
[[gnu::always_inline]] inline void backend_switch_publishing(Coroutine* from, Coroutine* to,
                                                             Coroutine** current,
                                                             Coroutine* next) {
  switch_stack(&static_cast<AsmCoroutine*>(from)->sp, static_cast<AsmCoroutine*>(to)->sp, current,
               next);
}

}  // namespace corolib::detail
