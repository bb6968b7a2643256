// How an EventLoop's io_uring was set up, for the daemon to log.
//
// Contract
// - The loop tries the best setup first and falls back one step each time
//   the kernel answers EINVAL:
//     kDefer  SINGLE_ISSUER | DEFER_TASKRUN   (6.1+)
//     kCoop   COOP_TASKRUN | TASKRUN_FLAG     (5.19+)
//     kPlain  no task-run flags
//   Every step also asks for CQSIZE (CQ >= 2 x SQ) and SUBMIT_ALL; a kernel
//   that rejects SUBMIT_ALL even without task-run flags gets a last try
//   without it.
// - RingInfo records what the kernel accepted; it is filled in by the
//   EventLoop constructor and never changes afterwards. The library never
//   logs: describe_setup_flags() gives the daemon a printable form.
#pragma once

#include <cstdint>
#include <string>

namespace corolib {

enum class TaskrunMode : std::uint8_t {
  kDefer,  // IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
  kCoop,   // IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG
  kPlain,  // neither
};

struct RingInfo {
  unsigned setup_flags = 0;  // IORING_SETUP_* the ring was created with
  unsigned features = 0;     // IORING_FEAT_* reported by the kernel
  unsigned sq_entries = 0;   // as sized by the kernel (power of two)
  unsigned cq_entries = 0;
  TaskrunMode mode = TaskrunMode::kPlain;
  unsigned fallbacks = 0;           // setups rejected with EINVAL before this one
  bool ring_fd_registered = false;  // io_uring_register_ring_fd() succeeded
};

// "kDefer" -> "defer", "kCoop" -> "coop", "kPlain" -> "plain".
const char* to_string(TaskrunMode mode);

// IORING_SETUP_* flags as "SINGLE_ISSUER|DEFER_TASKRUN|..." ("none" for 0;
// unknown bits as hex).
std::string describe_setup_flags(unsigned setup_flags);

// One line for a log: "mode=defer flags=... sq=256 cq=512 ring_fd=registered".
std::string describe(const RingInfo& info);

}  // namespace corolib
