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

bool BatchWaitTuner::probe_wins(const Rates& probe, const Rates& base) const {
  const bool cheaper = probe.cpu_per_request <= base.cpu_per_request * options_.cpu_gain &&
                       probe.per_second >= base.per_second * options_.rate_floor;
  const bool faster = probe.per_second >= base.per_second * options_.rate_gain &&
                      probe.cpu_per_request * options_.cpu_gain <= base.cpu_per_request;
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
    judging_ = false;
    since_probe_ = 0;
    dwell_ = options_.min_dwell;
    return delay_for(false);
  }
  if (probing_) {
    // The probe: measured now, judged after one more window of the current
    // choice, against the windows on both sides (a load that is ramping up
    // or down does not make either look better).
    probing_ = false;
    judging_ = true;
    probe_ = now;
    return delay_for(batching_);
  }
  if (judging_) {
    judging_ = false;
    since_probe_ = 0;
    Rates base;
    base.per_second = (before_.per_second + now.per_second) / 2;
    base.cpu_per_request = (before_.cpu_per_request + now.cpu_per_request) / 2;
    if (probe_wins(probe_, base)) {
      batching_ = !batching_;
      ++switches_;
      dwell_ = options_.min_dwell;
    } else {
      dwell_ = std::min(dwell_ * 2, options_.max_dwell);
    }
    rate_at_probe_ = base.per_second;
    before_ = now;
    return delay_for(batching_);
  }
  if (rate_at_probe_ > 0 &&
      (now.per_second > 2 * rate_at_probe_ || 2 * now.per_second < rate_at_probe_)) {
    dwell_ = options_.min_dwell;  // the load changed: look again soon
    rate_at_probe_ = now.per_second;
  }
  before_ = now;
  if (++since_probe_ >= dwell_) {
    probing_ = true;
    return delay_for(!batching_);
  }
  return delay_for(batching_);
}

}  // namespace corobd
