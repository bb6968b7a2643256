// Test seam for CoMutex's hand-off protocol (internal; tests only).
//
// The races the protocol resolves (a lock() counted in but not yet queued
// while unlock() finds the queue empty) last nanoseconds, so stress tests
// practically never reach them. A test installs a hook that CoMutex calls at
// these points of its slow paths (never on the uncontended path) and blocks
// there to force an interleaving. The hook runs on the locking or unlocking
// thread, inside the coroutine; it must not switch coroutines.
#pragma once

namespace corolib::detail {

enum class CoMutexHookPoint {
  kLockBeforePush,       // lock(): counted in locked_, record not yet pushed
  kLockAfterPush,        // lock(): record pushed, hand-off token not yet read
  kLockTookToken,        // lock(): took unlock()'s token, about to pop
  kLockBeforeYield,      // lock(): about to suspend until handed the mutex
  kUnlockBeforeToken,    // unlock(): found no record, about to post a token
  kUnlockTookTokenBack,  // unlock(): a record appeared; took its token back
};

using CoMutexHook = void (*)(CoMutexHookPoint point);

// Installs (or, with nullptr, removes) the hook for every CoMutex.
void set_comutex_hook(CoMutexHook hook);

}  // namespace corolib::detail
