#include "daemon/connection_limiter.hpp"

#include <cassert>

namespace corobd {

ConnectionLimiter::Decision ConnectionLimiter::admit() {
  Decision d;
  if (active_ < max_) {
    ++active_;
    d.action = Action::kServe;
    d.previous_burst_refused = burst_;
    burst_ = 0;
    return d;
  }
  d.log_burst = burst_ == 0;
  ++burst_;
  ++refused_total_;
  if (refusing_ < max_) {
    ++refusing_;
    d.action = Action::kRefuse;
  } else {
    d.action = Action::kClose;
  }
  return d;
}

void ConnectionLimiter::release() {
  assert(active_ > 0);
  if (active_ > 0) --active_;
}

void ConnectionLimiter::release_refused() {
  assert(refusing_ > 0);
  if (refusing_ > 0) --refusing_;
}

}  // namespace corobd
