#include "daemon/batch_wait_tuner.hpp"

#include <algorithm>

namespace corobd {

BatchWaitTuner::Rates BatchWaitTuner::rates(const Window& w) {
  Rates r;
  const double wall = std::chrono::duration<double>(w.wall).count();
  if (wall > 0) r.per_second = static_cast<double>(w.requests) / wall;
  if (w.requests > 0) {
    r.cpu_per_request = std::chrono::duration<double>(w.cpu).count() / static_cast<double>(w.requests);
  }
  return r;
}

void BatchWaitTuner::remember(const Rates& r) {
  recent_[1] = recent_valid_ ? recent_[0] : r;
  recent_[0] = r;
  recent_valid_ = true;
  base_.per_second = (recent_[0].per_second + recent_[1].per_second) / 2;
  base_.cpu_per_request = (recent_[0].cpu_per_request + recent_[1].cpu_per_request) / 2;
}

bool BatchWaitTuner::probe_wins(const Rates& probe) const {
  const bool cheaper = probe.cpu_per_request <= base_.cpu_per_request * options_.cpu_gain &&
                       probe.per_second >= base_.per_second * options_.rate_floor;
  const bool faster = probe.per_second >= base_.per_second * options_.rate_gain &&
                      probe.cpu_per_request * options_.cpu_gain <= base_.cpu_per_request;
  return cheaper || faster;
}

std::chrono::microseconds BatchWaitTuner::delay_for(bool batching) const {
  return batching ? options_.delay : std::chrono::microseconds{0};
}

std::chrono::microseconds BatchWaitTuner::next(const Window& window) {
  const Rates now = rates(window);
  if (now.per_second < options_.min_rate) {
    // Light load: no batching, and start afresh when it grows.
    batching_ = false;
    probing_ = false;
    since_probe_ = 0;
    dwell_ = options_.min_dwell;
    return delay_for(false);
  }
  if (probing_) {
    probing_ = false;
    since_probe_ = 0;
    if (probe_wins(now)) {
      batching_ = !batching_;
      ++switches_;
      dwell_ = options_.min_dwell;
      recent_valid_ = false;
      remember(now);
    } else {
      dwell_ = std::min(dwell_ * 2, options_.max_dwell);
    }
    // The load as the current choice serves it (a lost probe's rate is not).
    rate_at_probe_ = base_.per_second;
    return delay_for(batching_);
  }
  remember(now);
  if (rate_at_probe_ > 0 &&
      (now.per_second > 2 * rate_at_probe_ || 2 * now.per_second < rate_at_probe_)) {
    dwell_ = options_.min_dwell;  // the load changed: look again soon
    rate_at_probe_ = base_.per_second;
  }
  if (++since_probe_ >= dwell_) {
    probing_ = true;
    return delay_for(!batching_);
  }
  return delay_for(batching_);
}

}  // namespace corobd
