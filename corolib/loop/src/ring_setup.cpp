// Ring setup with the fallback order of ring_info.hpp.
#include "ring_setup.hpp"

#include <cerrno>
#include <cstring>

namespace corolib::detail {
namespace {

unsigned mode_flags(TaskrunMode mode) {
  switch (mode) {
    case TaskrunMode::kDefer:
      return IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    case TaskrunMode::kCoop:
      return IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    case TaskrunMode::kPlain:
      break;
  }
  return 0;
}

int try_setup(unsigned sq, unsigned cq, unsigned flags, io_uring* ring, io_uring_params* p) {
  std::memset(p, 0, sizeof(*p));
  p->flags = flags | IORING_SETUP_CQSIZE;
  p->cq_entries = cq;
  return io_uring_queue_init_params(sq, ring, p);
}

}  // namespace

int setup_ring(const EventLoopOptions& options, io_uring* ring, RingInfo* info) {
  const unsigned sq = options.sq_entries == 0 ? 1 : options.sq_entries;
  unsigned cq = options.cq_entries;
  if (cq < 2 * sq) cq = 2 * sq;
  if (cq < 8) cq = 8;  // room for the loop's own requests and a linked pair

  io_uring_params params;
  int ret = -EINVAL;
  unsigned fallbacks = 0;
  for (int step = static_cast<int>(options.best_mode); step <= static_cast<int>(TaskrunMode::kPlain);
       ++step) {
    const auto mode = static_cast<TaskrunMode>(step);
    unsigned flags = mode_flags(mode) | IORING_SETUP_SUBMIT_ALL;
    ret = try_setup(sq, cq, flags, ring, &params);
    if (ret == -EINVAL && mode == TaskrunMode::kPlain) {
      ++fallbacks;
      flags &= ~IORING_SETUP_SUBMIT_ALL;  // pre-5.18 kernels
      ret = try_setup(sq, cq, flags, ring, &params);
    }
    if (ret == 0) {
      info->setup_flags = params.flags;
      info->features = params.features;
      info->sq_entries = params.sq_entries;
      info->cq_entries = params.cq_entries;
      info->mode = mode;
      info->fallbacks = fallbacks;
      return 0;
    }
    if (ret != -EINVAL) return ret;
    ++fallbacks;
  }
  return ret;
}

}  // namespace corolib::detail
