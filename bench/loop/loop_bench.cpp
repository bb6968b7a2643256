// Micro-benchmarks of corolib/loop (Google Benchmark). Run a Release build;
// docs/PERFORMANCE.md has the command lines and results, and
// bench/loop/fio-compare.sh runs the pread benchmarks next to fio's io_uring
// engine on the same file.
//
// - BM_RawUringNop: baseline, IORING_OP_NOP submit + wait + reap with
//   liburing alone, no loop and no coroutine.
// - BM_NopRoundTrip: one coroutine issues IORING_OP_NOP and waits for it:
//   prepare SQE, yield, submit + wait (one io_uring_enter), reap, re-enter.
//   Time is per round trip.
// - BM_NopQD/<depth>: <depth> coroutines doing the same; the loop submits
//   their NOPs in one batch per iteration. Time is per NOP.
// - BM_Pread4k/<depth>[/fixed]: 4 KiB reads at random 4 KiB-aligned offsets
//   of a file in the page cache (buffered I/O), from <depth> coroutines;
//   /fixed reads into a registered buffer from a registered file. Time is
//   per read (so IOPS = 1e9 / ns); the "IOPS" counter says the same.
//
// The file is $COROBD_BENCH_FILE if set (fio-compare.sh sets it), else a
// 64 MiB temporary file; it is read once before timing to be cached.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "corolib/coroutine.hpp"
#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"

namespace {

constexpr std::size_t kBlock = 4096;
constexpr std::size_t kDefaultFileSize = 64u << 20;

// Runs `workers` coroutines on the loop until they all return.
template <class F>
void run_workers(corolib::EventLoop& loop, int workers, F& body) {
  int live = workers;
  for (int i = 0; i < workers; ++i) {
    loop.enter_soon(corolib::create([&body, &live, i] {
      body(i);
      --live;
    }));
  }
  loop.run_until([&live] { return live == 0; });
}

// --- NOPs ------------------------------------------------------------------------

// Baseline: the same round trip with liburing alone (no loop, no coroutine),
// on a ring set up like the loop's.
void BM_RawUringNop(benchmark::State& state) {
  io_uring ring;
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (io_uring_queue_init_params(256, &ring, &params) != 0) {
    state.SkipWithError("io_uring setup failed");
    return;
  }
  io_uring_register_ring_fd(&ring);
  for (auto _ : state) {
    io_uring_prep_nop(io_uring_get_sqe(&ring));
    io_uring_submit_and_wait(&ring, 1);
    io_uring_cqe* cqe;
    if (io_uring_peek_cqe(&ring, &cqe) != 0) state.SkipWithError("no CQE");
    io_uring_cqe_seen(&ring, cqe);
  }
  io_uring_queue_exit(&ring);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawUringNop)->UseRealTime();

void BM_NopRoundTrip(benchmark::State& state) {
  corolib::EventLoop loop;
  auto body = [&state](int) {
    for (auto _ : state) {
      if (corolib::co_nop() != 0) state.SkipWithError("nop failed");
    }
  };
  run_workers(loop, 1, body);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NopRoundTrip)->UseRealTime();

void BM_NopQD(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  corolib::EventLoop loop;
  const std::int64_t batch = 64 * depth;
  std::int64_t remaining = 0;
  auto body = [&remaining](int) {
    while (remaining > 0) {
      --remaining;
      corolib::co_nop();
    }
  };
  while (state.KeepRunningBatch(batch)) {
    remaining = batch;
    run_workers(loop, depth, body);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NopQD)->Arg(1)->Arg(32)->UseRealTime();

// --- 4 KiB preads ------------------------------------------------------------------

class BenchFile {
 public:
  BenchFile() {
    if (const char* path = std::getenv("COROBD_BENCH_FILE")) {
      path_ = path;
      fd_ = open(path, O_RDONLY | O_CLOEXEC);
    } else {
      const char* tmp = std::getenv("TMPDIR");
      std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/corolib-loop-bench-XXXXXX";
      fd_ = mkstemp(pattern.data());
      if (fd_ >= 0) {
        path_ = pattern;
        temporary_ = true;
        std::vector<char> chunk(1 << 20, 'c');
        for (std::size_t done = 0; done < kDefaultFileSize; done += chunk.size()) {
          if (write(fd_, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
            std::perror("write bench file");
            std::exit(1);
          }
        }
      }
    }
    if (fd_ < 0) {
      std::perror("open bench file");
      std::exit(1);
    }
    const off_t size = lseek(fd_, 0, SEEK_END);
    blocks_ = static_cast<std::uint64_t>(size) / kBlock;
    if (blocks_ == 0) {
      std::fprintf(stderr, "bench file is smaller than 4 KiB\n");
      std::exit(1);
    }
    // Warm the page cache.
    std::vector<char> chunk(1 << 20);
    for (off_t off = 0; off < size; off += static_cast<off_t>(chunk.size())) {
      if (pread(fd_, chunk.data(), chunk.size(), off) < 0) break;
    }
    // Random block offsets (xorshift), precomputed so the loop only indexes.
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    offsets_.resize(1 << 16);
    for (auto& o : offsets_) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      o = static_cast<std::int64_t>((x % blocks_) * kBlock);
    }
  }
  ~BenchFile() {
    close(fd_);
    if (temporary_) unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  std::int64_t offset(std::uint64_t i) const { return offsets_[i & (offsets_.size() - 1)]; }

 private:
  std::string path_;
  int fd_ = -1;
  bool temporary_ = false;
  std::uint64_t blocks_ = 0;
  std::vector<std::int64_t> offsets_;
};

BenchFile& bench_file() {
  static BenchFile file;
  return file;
}

void BM_Pread4k(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  const bool fixed = state.range(1) != 0;
  const BenchFile& file = bench_file();
  corolib::EventLoop loop;
  std::vector<char> buffers(static_cast<std::size_t>(depth) * kBlock);
  if (fixed) {
    iovec iov = {buffers.data(), buffers.size()};
    const int fd = file.fd();
    if (loop.register_buffers(&iov, 1) != 0 || loop.register_files(&fd, 1) != 0) {
      state.SkipWithError("registering buffers/files failed");
      return;
    }
  }
  const std::int64_t batch = depth == 1 ? 1024 : 256 * depth;
  std::int64_t remaining = 0;
  std::uint64_t next = 0;
  bool failed = false;
  auto body = [&](int worker) {
    char* buf = buffers.data() + static_cast<std::size_t>(worker) * kBlock;
    while (remaining > 0) {
      --remaining;
      const std::int64_t off = file.offset(next++);
      const int ret = fixed ? corolib::co_pread_fixed(corolib::Fd::registered(0), buf, kBlock, off, 0)
                            : corolib::co_pread(file.fd(), buf, kBlock, off);
      if (ret != static_cast<int>(kBlock)) failed = true;
    }
  };
  while (state.KeepRunningBatch(batch)) {
    remaining = batch;
    run_workers(loop, depth, body);
  }
  if (failed) state.SkipWithError("short or failed read");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBlock));
  state.counters["IOPS"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                              benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Pread4k)
    ->ArgNames({"qd", "fixed"})
    ->Args({1, 0})
    ->Args({32, 0})
    ->Args({1, 1})
    ->Args({32, 1})
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
