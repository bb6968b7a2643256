// Target: one connection to the device under test, as the runner sees it.
//
// Contract
// - The runner makes one Target per --conns connection (TargetFactory) and
//   calls every member from coroutines on its EventLoop's thread. Requests
//   may be issued by many coroutines at once (up to the queue depth the
//   factory was given); they are pipelined.
// - connect() returns 0, or -errno with *error set to a one-line reason
//   (the runner exits 3). info() is valid after a successful connect.
// - read/write/flush return 0 or -errno, as nbd::Client does: bytes move
//   whole or the request fails. They must not allocate per request.
// - alive() is false once the connection is down for good (the runner then
//   stops issuing on it). disconnect() lets requests in flight finish and
//   closes; the Target may then be destroyed.
// - NbdTarget (nbd_target.hpp) is the real one; tests bring fakes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "corolib/coroutine.hpp"

namespace loadgen {

struct TargetInfo {
  std::uint64_t size = 0;
  std::uint32_t min_block = 1;        // requests must be aligned to this
  std::uint32_t preferred_block = 4096;
  std::uint32_t max_payload = 32u << 20;
  bool read_only = false;
  bool can_flush = false;
  bool can_fua = false;
  bool multi_conn = false;  // a flush on one connection covers writes on all
};

class Target {
 public:
  virtual ~Target() = default;
  virtual coroutine_fn int connect(std::string* error) = 0;
  virtual const TargetInfo& info() const = 0;
  virtual coroutine_fn int read(void* buf, std::uint32_t length, std::uint64_t offset) = 0;
  virtual coroutine_fn int write(const void* buf, std::uint32_t length, std::uint64_t offset,
                                 bool fua) = 0;
  virtual coroutine_fn int flush() = 0;
  virtual bool alive() const = 0;
  virtual coroutine_fn void disconnect() = 0;
};

class TargetFactory {
 public:
  virtual ~TargetFactory() = default;
  // A not yet connected Target for connection `index`, which will carry up
  // to queue_depth requests at once.
  virtual std::unique_ptr<Target> make(unsigned index, unsigned queue_depth) = 0;
};

}  // namespace loadgen
