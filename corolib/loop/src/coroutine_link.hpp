// The one place corolib/loop looks inside a Coroutine: its intrusive `next`
// link, which the schedule queue borrows (as QEMU's co_scheduled_next).
//
// A coroutine claimed with mark_scheduled() is on no wakeup list, pool batch
// or wait list, so the link is free until the loop enters it.
#pragma once

#include "coroutine_impl.hpp"

namespace corolib::detail {

inline Coroutine*& schedule_link(Coroutine* co) { return co->next; }

}  // namespace corolib::detail
