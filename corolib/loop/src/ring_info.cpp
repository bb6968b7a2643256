// Printable forms of RingInfo for the daemon's logs.
#include "corolib/loop/ring_info.hpp"

#include <liburing.h>

#include <cstdio>

namespace corolib {

const char* to_string(TaskrunMode mode) {
  switch (mode) {
    case TaskrunMode::kDefer:
      return "defer";
    case TaskrunMode::kCoop:
      return "coop";
    case TaskrunMode::kPlain:
      return "plain";
  }
  return "?";
}

std::string describe_setup_flags(unsigned setup_flags) {
  static constexpr struct {
    unsigned flag;
    const char* name;
  } kNames[] = {
      {IORING_SETUP_IOPOLL, "IOPOLL"},
      {IORING_SETUP_SQPOLL, "SQPOLL"},
      {IORING_SETUP_SQ_AFF, "SQ_AFF"},
      {IORING_SETUP_CQSIZE, "CQSIZE"},
      {IORING_SETUP_CLAMP, "CLAMP"},
      {IORING_SETUP_ATTACH_WQ, "ATTACH_WQ"},
      {IORING_SETUP_R_DISABLED, "R_DISABLED"},
      {IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL"},
      {IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"},
      {IORING_SETUP_TASKRUN_FLAG, "TASKRUN_FLAG"},
      {IORING_SETUP_SQE128, "SQE128"},
      {IORING_SETUP_CQE32, "CQE32"},
      {IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER"},
      {IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN"},
  };
  std::string out;
  unsigned rest = setup_flags;
  for (const auto& entry : kNames) {
    if ((setup_flags & entry.flag) == 0) continue;
    if (!out.empty()) out += '|';
    out += entry.name;
    rest &= ~entry.flag;
  }
  if (rest != 0) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "0x%x", rest);
    if (!out.empty()) out += '|';
    out += hex;
  }
  return out.empty() ? "none" : out;
}

std::string describe(const RingInfo& info) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), " sq=%u cq=%u ring_fd=%s", info.sq_entries, info.cq_entries,
                info.ring_fd_registered ? "registered" : "plain");
  return std::string("mode=") + to_string(info.mode) + " flags=" +
         describe_setup_flags(info.setup_flags) + buf;
}

}  // namespace corolib
