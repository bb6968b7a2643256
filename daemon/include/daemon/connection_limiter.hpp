// ConnectionLimiter: the daemon's max-connections policy, and when to log a
// refusal (once per burst, not once per refused client).
//
// Contract
// - admit() is called for every accepted socket. Up to `max_connections`
//   connections are served at once (kServe; call release() when one ends).
//   Beyond that, up to another `max_connections` are refused politely
//   (kRefuse: a handshake that answers every option with an error; call
//   release_refused() when it ends); beyond both, kClose: close at once.
// - A burst of refusals starts with the first refused client after a served
//   one (or at start) and ends with the next served one. Decision::log_burst
//   is true for the first refusal of a burst (log it then); when a burst
//   ends, Decision::previous_burst_refused says how many it refused (log
//   that then; 0 when there was no burst).
// - Plain bookkeeping, no I/O; one thread (the loop's).
#pragma once

#include <cstddef>
#include <cstdint>

namespace corobd {

class ConnectionLimiter {
 public:
  enum class Action { kServe, kRefuse, kClose };
  struct Decision {
    Action action = Action::kServe;
    bool log_burst = false;
    std::uint64_t previous_burst_refused = 0;
  };

  explicit ConnectionLimiter(std::size_t max_connections) : max_(max_connections) {}

  Decision admit();
  void release();
  void release_refused();

  std::size_t active() const { return active_; }
  std::size_t refusing() const { return refusing_; }
  std::uint64_t refused_total() const { return refused_total_; }
  std::size_t max_connections() const { return max_; }

 private:
  std::size_t max_;
  std::size_t active_ = 0;
  std::size_t refusing_ = 0;
  std::uint64_t burst_ = 0;
  std::uint64_t refused_total_ = 0;
};

}  // namespace corobd
