// RunStats: what a run measured — per operation type the completed
// requests, bytes and a latency histogram, plus errors by errno and the
// verification counters.
//
// Contract
// - record() is the per-request hot path: a few increments and one
//   histogram insert; it never allocates (everything is sized at
//   construction). Latencies and bytes count only successful requests;
//   failed ones count in errors (per type and per errno).
// - Errno values 1 .. kMaxTrackedErrno are counted individually, anything
//   larger (or 0) under "other".
// - One thread (the runner's loop thread). Allocated once per run (it holds
//   three histograms, about 180 KiB): keep it off coroutine stacks.
#pragma once

#include <array>
#include <cstdint>

#include "loadgen/histogram.hpp"
#include "loadgen/workload.hpp"

namespace loadgen {

struct OpStats {
  std::uint64_t ops = 0;  // successful requests
  std::uint64_t bytes = 0;
  std::uint64_t errors = 0;
  LatencyHistogram latency;  // nanoseconds
};

class RunStats {
 public:
  static constexpr int kMaxTrackedErrno = 255;

  void record(OpType type, std::uint32_t bytes, std::uint64_t latency_ns) {
    OpStats& s = ops_[static_cast<int>(type)];
    ++s.ops;
    s.bytes += bytes;
    s.latency.record(latency_ns);
  }
  // err: a positive errno value.
  void record_error(OpType type, int err) {
    ++ops_[static_cast<int>(type)].errors;
    ++errors_[err > 0 && err <= kMaxTrackedErrno ? err : 0];
  }

  const OpStats& op(OpType type) const { return ops_[static_cast<int>(type)]; }
  std::uint64_t total_ops() const;
  std::uint64_t total_bytes() const;
  std::uint64_t total_errors() const;
  // Errors with errno e (1 .. kMaxTrackedErrno), or 0 for "other".
  std::uint64_t errors_with(int e) const { return errors_[e]; }

  // Verification counters (kept here so the report has one source).
  std::uint64_t reads_verified = 0;   // reads whose contents were checked
  std::uint64_t rereads = 0;          // re-reads after a read overlapped a write and failed
  std::uint64_t mismatches = 0;
  std::uint64_t torn_accepted = 0;    // torn blocks accepted where unfinished writes allow them
  std::uint64_t resume_checked = 0;   // blocks checked against a saved state
  std::uint64_t ops_late = 0;         // --rate: requests issued over 1 ms after their time

 private:
  std::array<OpStats, kOpTypes> ops_{};
  std::array<std::uint64_t, kMaxTrackedErrno + 1> errors_{};
};

}  // namespace loadgen
