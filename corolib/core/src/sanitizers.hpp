// Tells ASan and TSan about coroutine switches (no-ops without them).
//
// Protocol, for backends that switch stacks within a thread:
//   void* save;  start_switch(&save or nullptr when terminating, to);
//   <raw switch>;  finish_switch(save)  -- in the context that resumed.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define COROLIB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COROLIB_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define COROLIB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define COROLIB_TSAN 1
#endif
#endif

#ifdef COROLIB_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef COROLIB_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#include "coroutine_impl.hpp"

namespace corolib::detail {

// Before leaving the current stack for `to`'s. Always inlined: TSan keeps a
// shadow call stack per fiber, so no instrumented frame may be entered before
// this switch and left after it (the sigsetjmp backends count on it).
[[gnu::always_inline]] inline void sanitizer_start_switch(void** fake_stack_save,
                                                          Coroutine* to) {
#ifdef COROLIB_ASAN
  __sanitizer_start_switch_fiber(fake_stack_save, to->stack_bottom, to->stack_size);
#else
  (void)fake_stack_save;
#endif
#ifdef COROLIB_TSAN
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#else
  (void)to;
#endif
}

// Right after arriving on a stack. Reports the stack we came from through
// old_bottom/old_size (nullptr/0 without ASan).
inline void sanitizer_finish_switch(void* fake_stack_save, const void** old_bottom,
                                    std::size_t* old_size) {
#ifdef COROLIB_ASAN
  __sanitizer_finish_switch_fiber(fake_stack_save, old_bottom, old_size);
#else
  (void)fake_stack_save;
  *old_bottom = nullptr;
  *old_size = 0;
#endif
}

inline void* sanitizer_create_fiber() {
#ifdef COROLIB_TSAN
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}

inline void* sanitizer_current_fiber() {
#ifdef COROLIB_TSAN
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}

inline void sanitizer_destroy_fiber(void* fiber) {
#ifdef COROLIB_TSAN
  if (fiber != nullptr) __tsan_destroy_fiber(fiber);
#else
  (void)fiber;
#endif
}

}  // namespace corolib::detail
