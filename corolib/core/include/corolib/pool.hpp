// The coroutine pool: terminated coroutines are kept for reuse instead of
// being freed, so create() needs no allocation in the steady state.
//
// Contract
// - Thread-safe: a coroutine may be created on one thread and released on
//   another. Each thread keeps a small cache (freed when the thread exits);
//   full batches move to a bounded global list shared by all threads.
// - Disabled at build time with -DCOROLIB_POOL=OFF, and always for the thread
//   backend (its threads cannot be reused). pool_set_enabled() toggles it at
//   run time for benchmarking; it cannot enable a pool the build disabled.
#pragma once

#include <cstddef>

namespace corolib {

// True when terminated coroutines are being kept for reuse.
bool pool_enabled();

// Enables or disables pooling at run time (for benchmarks). Returns the
// effective state: false when the build or backend does not allow a pool.
// Disabling frees this thread's cache and the global list.
bool pool_set_enabled(bool enabled);

// Coroutines currently pooled: in the calling thread's cache, and in the
// global list.
std::size_t pool_local_size();
std::size_t pool_global_size();

}  // namespace corolib
