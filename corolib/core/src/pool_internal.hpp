// Internal side of the coroutine pool (see corolib/pool.hpp).
#pragma once

#include "coroutine_impl.hpp"

namespace corolib::detail {

// A pooled coroutine with a stack of the current default size, or nullptr.
Coroutine* pool_acquire();

// Takes a terminated (or never entered) coroutine back: keeps it for reuse
// or destroys it.
void pool_release(Coroutine* co);

}  // namespace corolib::detail
