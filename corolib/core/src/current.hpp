// The calling thread's running coroutine.
//
// Accessors are out of line on purpose: a coroutine may resume on another
// thread, so the address of a thread_local must never be cached across a
// switch (QEMU's coroutine-TLS problem). Call them afresh after every switch.
#pragma once

namespace corolib {
class Coroutine;
}

namespace corolib::detail {

// The running coroutine, or nullptr when the thread runs its own stack.
Coroutine* current_coroutine();

// For the SIGSEGV handler: same as current_coroutine(), async-signal-safe.
Coroutine* current_coroutine_for_signal();

}  // namespace corolib::detail
