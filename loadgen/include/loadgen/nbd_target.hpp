// NbdTarget: a Target (target.hpp) that is one nbd::Client connection.
//
// Contract
// - connect() connects the client to the URI (nbd+unix only) and fills
//   info() from the negotiated export. The client's cookie table is sized
//   for the queue depth (plus one for a flush), so requests never wait for
//   a cookie; it runs in strict mode (bad requests fail locally).
// - alive() follows nbd::Client::connected().
// - Thread and coroutine rules: nbd::Client's (its EventLoop's thread).
#pragma once

#include <string>

#include "loadgen/target.hpp"
#include "nbd/client/client.hpp"

namespace loadgen {

class NbdTarget final : public Target {
 public:
  NbdTarget(nbd::NbdUri uri, unsigned queue_depth);

  coroutine_fn int connect(std::string* error) override;
  const TargetInfo& info() const override { return info_; }
  coroutine_fn int read(void* buf, std::uint32_t length, std::uint64_t offset) override;
  coroutine_fn int write(const void* buf, std::uint32_t length, std::uint64_t offset,
                         bool fua) override;
  coroutine_fn int flush() override;
  bool alive() const override { return client_.connected(); }
  coroutine_fn void disconnect() override;

 private:
  static nbd::ClientOptions client_options(unsigned queue_depth);

  nbd::NbdUri uri_;
  nbd::Client client_;
  TargetInfo info_;
};

class NbdTargetFactory final : public TargetFactory {
 public:
  explicit NbdTargetFactory(nbd::NbdUri uri) : uri_(std::move(uri)) {}
  std::unique_ptr<Target> make(unsigned index, unsigned queue_depth) override;

 private:
  nbd::NbdUri uri_;
};

}  // namespace loadgen
