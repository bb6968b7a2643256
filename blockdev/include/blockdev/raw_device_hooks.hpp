// RawDeviceHooks: test instrumentation of the raw driver's system calls.
//
// Contract
// - For tests only: production code passes no hooks (nullptr), which costs
//   one predictable branch per system call.
// - Every read, write, fdatasync and fallocate the driver is about to issue
//   is counted (atomically, from any thread), then offered to `before`,
//   which runs in the requesting coroutine and may yield (to hold a request
//   "in flight" for as long as a test wants). If `before` returns a value,
//   it is used as the result and nothing is submitted. Otherwise the request
//   is submitted and `after` may replace the kernel's result (for example
//   cap a read at fewer bytes, as a short read would).
// - Set the std::function members before the device is used and leave them
//   alone afterwards; the counters may be read at any time.
// - A read or write the driver issues inline (a synchronous preadv2 or
//   pwritev2 on the calling thread, see raw_device.hpp) has Call::inline_io
//   set and is counted in inline_reads / inline_writes as well. The driver
//   times inline writes without RWF_NOWAIT (the system call alone, not the
//   hooks) to detect stalls; `clock`, when set, replaces the steady clock it
//   reads, so a test can make a write look slow.
// - request_alignment, when non-zero, replaces the O_DIRECT alignment the
//   driver would detect (a power of two >= the detected one), to exercise
//   other alignments on the same file system.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

namespace blockdev {

struct RawDeviceHooks {
  enum class Op { read, write, fdatasync, fallocate };

  struct Call {
    Op op;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    int flags = 0;  // RWF_* of a read/write, FALLOC_FL_* of a fallocate
    bool inline_io = false;  // a synchronous preadv2/pwritev2, not io_uring
  };

  std::function<std::optional<int>(const Call&)> before;
  std::function<int(const Call&, int result)> after;
  std::function<std::chrono::steady_clock::time_point()> clock;

  std::uint32_t request_alignment = 0;

  std::atomic<std::uint64_t> reads{0};
  std::atomic<std::uint64_t> inline_reads{0};   // of which issued inline
  std::atomic<std::uint64_t> writes{0};
  std::atomic<std::uint64_t> inline_writes{0};  // of which issued inline
  std::atomic<std::uint64_t> dsync_writes{0};  // writes submitted with RWF_DSYNC (FUA)
  std::atomic<std::uint64_t> fdatasyncs{0};    // IORING_OP_FSYNC with DATASYNC
  std::atomic<std::uint64_t> fallocates{0};
};

}  // namespace blockdev
