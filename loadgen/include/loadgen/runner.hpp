// Runner: one corobd-load run — connect, (check a resumed state), drive the
// workload, flush, disconnect, save — on one EventLoop.
//
// Contract
// - run() is called once, on a thread that has no EventLoop: it creates
//   one, runs everything on it and returns when the run is over. It never
//   throws for run-time problems (they are in RunResult) and prints nothing
//   except through the ProgressLine it was given.
// - Connections: options.connections Targets from the factory, connected
//   one after another; any failure ends the run with kExitConnectFailed.
//   Then the options are checked against the export (range inside it,
//   block size and offset aligned to its minimum block size and within its
//   maximum payload, writes allowed, FUA and flush supported when asked
//   for): a problem ends the run with kExitBadArguments.
// - Workers: connections x queue_depth coroutines; each takes the next op
//   number from one shared counter (Workload::op), waits for its time with
//   --rate, issues the request on its connection, records the latency of a
//   successful request in RunStats if it was issued after the warmup, and
//   loops. So every connection has queue_depth requests in flight. The run
//   ends when the runtime has passed (requests in flight then finish and
//   count) or --ops measured requests were issued, on a mismatch, when
//   *interrupt becomes true (SIGINT), or when every connection is down.
// - --flush-every N: the worker whose write was the N-th acknowledged one
//   sends a flush (on its connection if the server has multi-conn, else on
//   every connection) and goes on. At the end of a run with --flush-every
//   or --resume, every connection is flushed once more, so the saved state
//   counts all acknowledged writes as durable.
// - --verify: writes carry block headers (verifier.hpp); no two writes to
//   one block are in flight at once (a write whose block is busy moves to
//   the next free block); every read is checked. A failed check of a read
//   that overlapped a write of its block is retried after the write (up to
//   8 times), since servers may return a torn mix; any other failure is a
//   mismatch: it is described in RunResult::mismatches (the first 10 in
//   full), ends the run and makes the exit status kExitFailed.
// - --resume FILE: with no FILE yet, the model starts empty. Otherwise the
//   saved model is loaded (its seed, bs, offset and range must match the
//   options; the seed is taken from the file unless --seed was given) and
//   every block it has written is read and checked before the workload
//   starts; any mismatch skips the workload. The model is saved back at the
//   end of every run that got that far, errors and mismatches included (a
//   crash test kills the server mid-run and checks afterwards).
// - No heap allocation per request: buffers, coroutines and statistics are
//   set up before the workers start.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loadgen/options.hpp"
#include "loadgen/run_stats.hpp"
#include "loadgen/target.hpp"

namespace loadgen {

class ProgressLine;

struct RunResult {
  int exit_code = 0;
  std::string error;  // the one-line reason for kExitBadArguments / kExitConnectFailed

  TargetInfo info;               // of connection 0, after connecting
  std::uint64_t range = 0;       // bytes tested (a multiple of the block size)
  std::uint64_t blocks = 0;
  std::uint64_t seed = 0;        // used (from the state file with --resume)
  bool workload_ran = false;

  std::unique_ptr<RunStats> stats = std::make_unique<RunStats>();
  double elapsed_s = 0;          // the measured window: warmup end to the last completion
  double cpu_user_s = 0;         // this process's CPU time over the measured window
  double cpu_system_s = 0;
  bool interrupted = false;      // stopped by *interrupt
  // The EventLoop's counters over the whole run (warmup included), for
  // seeing what a request costs: loop iterations, io_uring_enter calls and
  // SQEs submitted.
  std::uint64_t loop_iterations = 0;
  std::uint64_t loop_enter_calls = 0;
  std::uint64_t loop_sqes = 0;
  unsigned connections_lost = 0;

  std::vector<std::string> mismatches;  // the first 10, multi-line each

  bool resumed = false;          // a saved state was loaded and checked
  bool state_saved = false;
  std::string state_error;       // why saving (or loading) the state failed
  std::uint64_t blocks_tracked = 0;  // blocks in the saved model
};

class Runner {
 public:
  // progress may be null; interrupt may be null.
  Runner(const Options& options, TargetFactory* factory, ProgressLine* progress = nullptr,
         const std::atomic<bool>* interrupt = nullptr);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  RunResult run();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

inline constexpr std::size_t kMaxMismatchReports = 10;
inline constexpr int kMaxRereads = 8;

}  // namespace loadgen
