// BatchWaitTuner: decides, one measuring window at a time, whether the NBD
// connections delay their next receive to batch requests
// (nbd::Server::set_receive_delay(), batch-wait=auto). Batching lowers the
// CPU spent per request when clients keep deep queues, and costs throughput
// when they wait for each answer; only measuring tells which case this is,
// as adaptive interrupt moderation does for network cards.
//
// Contract
// - Feed next() one Window per period: requests served, CPU time of the
//   serving thread and wall time, all over that window. It returns the
//   receive delay for the next window: zero or Options::delay. Pure logic:
//   no clock, no I/O, no locking.
// - Below Options::min_rate the answer is zero: a light load is served at
//   once, for latency.
// - Otherwise it stays with its current choice and, every `dwell` windows,
//   tries the other one for one window (a probe), then judges it after one
//   more window of the current choice, against the mean of the windows on
//   both sides (so a load that ramps up or down favours neither). It
//   switches when the probe served requests for clearly less CPU (at most
//   cpu_gain) without losing throughput (at least rate_floor), or clearly
//   faster (at least rate_gain) for little more CPU (at most 1/cpu_gain).
//   The gap between the two keeps noise from flipping it. A lost probe
//   doubles the dwell, up to max_dwell; a switch, or a load that changed by
//   more than 2x since the last probe, brings it back to min_dwell.
#pragma once

#include <chrono>
#include <cstdint>

namespace corobd {

class BatchWaitTuner {
 public:
  struct Options {
    std::chrono::microseconds delay{30};
    double min_rate = 5000;      // requests per second
    unsigned min_dwell = 4;      // windows between probes
    unsigned max_dwell = 128;
    double cpu_gain = 0.93;
    double rate_floor = 0.95;
    double rate_gain = 1.10;
  };
  struct Window {
    std::uint64_t requests = 0;
    std::chrono::nanoseconds cpu{0};
    std::chrono::nanoseconds wall{0};
  };

  BatchWaitTuner() : BatchWaitTuner(Options{}) {}
  explicit BatchWaitTuner(const Options& options) : options_(options), dwell_(options.min_dwell) {}

  std::chrono::microseconds next(const Window& window);

  bool batching() const { return batching_; }   // the current choice
  bool probing() const { return probing_; }     // the next window is a probe
  unsigned dwell() const { return dwell_; }
  std::uint64_t switches() const { return switches_; }

 private:
  struct Rates {
    double per_second = 0;       // requests
    double cpu_per_request = 0;  // seconds
  };
  static Rates rates(const Window& w);
  bool probe_wins(const Rates& probe, const Rates& base) const;
  std::chrono::microseconds delay_for(bool batching) const;

  const Options options_;
  bool batching_ = false;
  bool probing_ = false;
  unsigned dwell_;
  unsigned since_probe_ = 0;
  bool judging_ = false;        // the window before was a probe
  Rates before_;                // the last window of the current choice
  Rates probe_;
  double rate_at_probe_ = 0;    // requests per second when the last probe ended
  std::uint64_t switches_ = 0;
};

}  // namespace corobd
