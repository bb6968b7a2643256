// FakeDisk and FakeTarget: an in-memory device model for the runner tests.
//
// FakeDisk holds what reads see (`data`) and what would survive a crash
// (`durable`): a write changes data (and durable too with FUA), a flush
// copies data to durable, crash() drops everything not durable. Knobs make
// it misbehave the ways --verify must catch: acknowledge writes without
// doing them (lost writes), ignore flushes, corrupt what a read returns,
// fail requests with -EIO.
//
// FakeTarget is one "connection" to a FakeDisk. Every request sleeps a
// random few microseconds on the runner's EventLoop before and in the
// middle of its copy, so concurrent requests on one block overlap and a
// read racing a write can return a torn mix, as real servers may.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "corolib/loop/timer.hpp"
#include "loadgen/rng.hpp"
#include "loadgen/target.hpp"

namespace loadgen_test {

struct FakeDisk {
  explicit FakeDisk(std::uint64_t size) : data(size), durable(size) {}

  std::vector<unsigned char> data;
  std::vector<unsigned char> durable;
  loadgen::TargetInfo info{.size = 0,
                           .min_block = 1,
                           .preferred_block = 4096,
                           .max_payload = 32u << 20,
                           .read_only = false,
                           .can_flush = true,
                           .can_fua = true,
                           .multi_conn = true};
  // Misbehaviour.
  bool refuse_connect = false;
  std::uint64_t drop_write_every = 0;  // acknowledge but skip every Nth write
  bool ignore_flush = false;           // acknowledge flushes, persist nothing
  std::uint64_t eio_read_every = 0;    // fail every Nth read with -EIO
  std::int64_t corrupt_reads_at = -1;  // flip a byte of any read covering this offset
  int max_delay_us = 20;
  // The server "dies" after this many writes: every request from then on
  // fails with -ECONNRESET and the connections are down (0: never).
  std::uint64_t die_after_writes = 0;
  bool dead = false;

  // Counters.
  std::uint64_t reads = 0, writes = 0, flushes = 0, fua_writes = 0, dropped = 0;
  unsigned connects = 0;
  loadgen::SplitMix64 rng{42};

  void crash() { data = durable; }
};

class FakeTarget final : public loadgen::Target {
 public:
  explicit FakeTarget(FakeDisk* disk) : disk_(disk) {
    disk_->info.size = disk_->data.size();
    info_ = disk_->info;
  }

  coroutine_fn int connect(std::string* error) override {
    if (disk_->refuse_connect) {
      *error = "fake: connection refused";
      return -ECONNREFUSED;
    }
    ++disk_->connects;
    alive_ = true;
    return 0;
  }
  const loadgen::TargetInfo& info() const override { return info_; }

  coroutine_fn int read(void* buf, std::uint32_t length, std::uint64_t offset) override {
    if (!alive_) return -ENOTCONN;
    if (disk_->dead) return -ECONNRESET;
    if (offset + length > disk_->data.size()) return -EINVAL;
    const std::uint64_t n = ++disk_->reads;
    delay();
    if (disk_->eio_read_every != 0 && n % disk_->eio_read_every == 0) return -EIO;
    // Two halves with a pause between: a write may land in between.
    const std::uint32_t half = length / 2;
    std::memcpy(buf, disk_->data.data() + offset, half);
    delay();
    std::memcpy(static_cast<unsigned char*>(buf) + half, disk_->data.data() + offset + half,
                length - half);
    if (disk_->corrupt_reads_at >= 0) {
      const auto at = static_cast<std::uint64_t>(disk_->corrupt_reads_at);
      if (at >= offset && at < offset + length) static_cast<unsigned char*>(buf)[at - offset] ^= 0x5a;
    }
    return 0;
  }

  coroutine_fn int write(const void* buf, std::uint32_t length, std::uint64_t offset,
                         bool fua) override {
    if (!alive_) return -ENOTCONN;
    if (offset + length > disk_->data.size()) return -ENOSPC;
    if (disk_->dead) return -ECONNRESET;
    const std::uint64_t n = ++disk_->writes;
    if (disk_->die_after_writes != 0 && n > disk_->die_after_writes) {
      disk_->dead = true;
      return -ECONNRESET;
    }
    delay();
    if (disk_->drop_write_every != 0 && n % disk_->drop_write_every == 0) {
      ++disk_->dropped;
      return 0;
    }
    const std::uint32_t half = length / 2;
    std::memcpy(disk_->data.data() + offset, buf, half);
    delay();
    std::memcpy(disk_->data.data() + offset + half, static_cast<const unsigned char*>(buf) + half,
                length - half);
    if (fua) {
      ++disk_->fua_writes;
      std::memcpy(disk_->durable.data() + offset, disk_->data.data() + offset, length);
    }
    return 0;
  }

  coroutine_fn int flush() override {
    if (!alive_) return -ENOTCONN;
    if (disk_->dead) return -ECONNRESET;
    ++disk_->flushes;
    delay();
    // Covers everything written before now, at least what was acknowledged
    // before the flush was sent.
    if (!disk_->ignore_flush) disk_->durable = disk_->data;
    return 0;
  }

  bool alive() const override { return alive_ && !disk_->dead; }
  coroutine_fn void disconnect() override { alive_ = false; }

 private:
  coroutine_fn void delay() {
    if (disk_->max_delay_us <= 0) return;
    const auto us = loadgen::scale_to(disk_->rng.next(), static_cast<std::uint64_t>(disk_->max_delay_us) + 1);
    corolib::co_sleep(std::chrono::microseconds(us));
  }

  FakeDisk* disk_;
  loadgen::TargetInfo info_;
  bool alive_ = false;
};

class FakeFactory final : public loadgen::TargetFactory {
 public:
  explicit FakeFactory(FakeDisk* disk) : disk_(disk) {}
  std::unique_ptr<loadgen::Target> make(unsigned, unsigned) override {
    return std::make_unique<FakeTarget>(disk_);
  }

 private:
  FakeDisk* disk_;
};

}  // namespace loadgen_test
