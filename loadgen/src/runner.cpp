#include "loadgen/runner.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "corolib/co_event.hpp"
#include "corolib/co_queue.hpp"
#include "corolib/coroutine.hpp"
#include "corolib/loop/event_loop.hpp"
#include "corolib/loop/timer.hpp"
#include "loadgen/exit_status.hpp"
#include "loadgen/progress_line.hpp"
#include "loadgen/rate_pacer.hpp"
#include "loadgen/rng.hpp"
#include "loadgen/state_file.hpp"
#include "loadgen/verifier.hpp"
#include "loadgen/workload.hpp"

namespace loadgen {
namespace {

using Clock = std::chrono::steady_clock;

// Workers need little stack: the client keeps a request's state in a small
// record, and nothing on the request path recurses. Sanitizers need more.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kWorkerStack = 512 * 1024;
#else
constexpr std::size_t kWorkerStack = 128 * 1024;
#endif

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct CpuTimes {
  double user = 0;
  double system = 0;
};

CpuTimes cpu_now() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return CpuTimes{secs(ru.ru_utime), secs(ru.ru_stime)};
}

// A buffer of one block, page-aligned (O_DIRECT servers like it, and it
// keeps blocks from sharing cache lines).
struct BlockBuffer {
  explicit BlockBuffer(std::size_t size) {
    const std::size_t rounded = (size + 4095) / 4096 * 4096;
    data = static_cast<unsigned char*>(std::aligned_alloc(4096, rounded));
    if (data == nullptr) throw std::bad_alloc();
    std::memset(data, 0, rounded);
  }
  ~BlockBuffer() { std::free(data); }
  BlockBuffer(const BlockBuffer&) = delete;
  BlockBuffer& operator=(const BlockBuffer&) = delete;
  unsigned char* data = nullptr;
};

}  // namespace

class Runner::Impl {
 public:
  Impl(const Options& options, TargetFactory* factory, ProgressLine* progress,
       const std::atomic<bool>* interrupt)
      : o_(options), factory_(factory), progress_(progress), interrupt_(interrupt) {}

  RunResult run();

 private:
  struct Connection {
    std::unique_ptr<Target> target;
    bool connected = false;
    bool lost = false;
  };
  struct Worker {
    unsigned conn = 0;
    std::unique_ptr<BlockBuffer> buffer;
  };

  coroutine_fn void main_coroutine();
  coroutine_fn bool connect_all();
  bool check_export();
  bool setup_verifier();
  coroutine_fn void check_resumed_state();
  coroutine_fn void run_workload();
  coroutine_fn void worker(Worker& w);
  coroutine_fn void checker(Worker& w);
  coroutine_fn void progress_coroutine();
  coroutine_fn int do_write(Worker& w, std::uint64_t block, bool measured);
  coroutine_fn int do_read(Worker& w, std::uint64_t block, bool measured);
  coroutine_fn void do_flush(Worker& w, bool measured);
  coroutine_fn void flush_all();
  coroutine_fn void disconnect_all();
  coroutine_fn std::uint64_t free_block_for_write(std::uint64_t block);
  void note_error(unsigned conn, OpType type, int r);
  void note_mismatch(std::uint64_t block, const ReadTicket& ticket, const ReadCheck& check,
                     const char* when);
  void save_state();
  void spawn(unsigned count, void (Impl::*body)(Worker&));
  void worker_exited();
  bool stopping() const {
    return stop_ || (interrupt_ != nullptr && interrupt_->load(std::memory_order_relaxed));
  }
  std::uint64_t offset_of(std::uint64_t block) const { return o_.offset + block * o_.block_size; }

  const Options& o_;
  TargetFactory* factory_;
  ProgressLine* progress_;
  const std::atomic<bool>* interrupt_;
  RunResult result_;
  corolib::EventLoop* loop_ = nullptr;
  bool finished_ = false;

  std::vector<Connection> conns_;
  std::vector<Worker> workers_;
  std::optional<Workload> workload_;
  std::unique_ptr<Verifier> verifier_;
  corolib::CoQueue write_done_;  // restarted whenever a write of a verified block ends
  RatePacer pacer_;

  // Phase state.
  bool stop_ = false;
  unsigned running_ = 0;
  corolib::CoEvent* all_exited_ = nullptr;
  Clock::time_point start_{};
  Clock::time_point measure_start_{};
  Clock::time_point end_{};
  Clock::time_point last_completion_{};
  bool measuring_ = false;
  CpuTimes cpu_start_{};
  std::uint64_t next_op_ = 0;
  std::uint64_t measured_claimed_ = 0;
  std::uint64_t measured_done_ = 0;
  std::uint64_t writes_acked_ = 0;
  std::uint64_t writes_issued_ = 0;
  std::vector<std::uint64_t> check_list_;  // resumed blocks to check
  std::size_t check_next_ = 0;
  bool checking_ = false;
  // Every completed request, warmup included, for the progress line.
  std::uint64_t completed_ops_ = 0;
  std::uint64_t completed_bytes_ = 0;
  LatencyHistogram progress_latency_;
};

Runner::Runner(const Options& options, TargetFactory* factory, ProgressLine* progress,
               const std::atomic<bool>* interrupt)
    : impl_(std::make_unique<Impl>(options, factory, progress, interrupt)) {}

Runner::~Runner() = default;

RunResult Runner::run() { return impl_->run(); }

RunResult Runner::Impl::run() {
  const std::size_t previous_stack = corolib::default_stack_size();
  corolib::set_default_stack_size(kWorkerStack);
  {
    corolib::EventLoopOptions lo;
    const unsigned workers = o_.connections * o_.queue_depth;
    lo.sq_entries = std::clamp(workers, 256u, 4096u);
    corolib::EventLoop loop(lo);
    loop_ = &loop;
    corolib::Coroutine* co = corolib::create([this] { main_coroutine(); });
    corolib::enter(co);
    loop.run_until([this] { return finished_; });
    result_.loop_iterations = loop.stats().iterations;
    result_.loop_enter_calls = loop.stats().enter_calls;
    result_.loop_sqes = loop.stats().sqes_submitted;
    // Wakes the progress coroutine from its sleep (-ECANCELED).
    loop.shutdown();
    loop_ = nullptr;
  }
  corolib::set_default_stack_size(previous_stack);
  return std::move(result_);
}

coroutine_fn void Runner::Impl::main_coroutine() {
  result_.seed = o_.seed;
  if (connect_all() && check_export() && setup_verifier()) {
    workers_.resize(static_cast<std::size_t>(o_.connections) * o_.queue_depth);
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      workers_[i].conn = static_cast<unsigned>(i % o_.connections);
      workers_[i].buffer = std::make_unique<BlockBuffer>(o_.block_size);
      if (!o_.verify) {
        // Non-zero data, different per worker, so servers cannot shortcut zeroes.
        SplitMix64 rng(o_.seed + i);
        for (std::uint32_t b = 0; b + 8 <= o_.block_size; b += 8) {
          const std::uint64_t v = rng.next();
          std::memcpy(workers_[i].buffer->data + b, &v, 8);
        }
      }
    }
    if (!check_list_.empty()) check_resumed_state();
    if (result_.stats->mismatches == 0 && !stopping()) run_workload();
    if ((o_.flush_every != 0 || !o_.resume.empty()) && writes_issued_ != 0) flush_all();
    if (result_.stats->mismatches != 0 || result_.stats->total_errors() != 0) {
      result_.exit_code = kExitFailed;
    }
    if (verifier_ != nullptr && !o_.resume.empty()) save_state();
  }
  disconnect_all();
  result_.interrupted = interrupt_ != nullptr && interrupt_->load();
  finished_ = true;
}

coroutine_fn bool Runner::Impl::connect_all() {
  conns_.resize(o_.connections);
  for (unsigned i = 0; i < o_.connections; ++i) {
    conns_[i].target = factory_->make(i, o_.queue_depth);
    std::string error;
    const int r = conns_[i].target->connect(&error);
    if (r < 0) {
      result_.exit_code = kExitConnectFailed;
      result_.error = "cannot connect to " + o_.uri + ": " + error;
      return false;
    }
    conns_[i].connected = true;
    if (i == 0) {
      result_.info = conns_[0].target->info();
    } else if (conns_[i].target->info().size != result_.info.size) {
      result_.exit_code = kExitConnectFailed;
      result_.error = "connection " + std::to_string(i) + " sees an export of " +
                      std::to_string(conns_[i].target->info().size) + " bytes, connection 0 " +
                      std::to_string(result_.info.size);
      return false;
    }
  }
  return true;
}

bool Runner::Impl::check_export() {
  const TargetInfo& x = result_.info;
  const auto bad = [this](const std::string& why) {
    result_.exit_code = kExitBadArguments;
    result_.error = why;
    return false;
  };
  const std::string size = " (the export is " + std::to_string(x.size) + " bytes)";
  if (o_.offset >= x.size) return bad("--offset " + std::to_string(o_.offset) + " is at or past the end of the export" + size);
  std::uint64_t range = o_.range ? *o_.range : x.size - o_.offset;
  if (range > x.size - o_.offset) {
    return bad("--offset " + std::to_string(o_.offset) + " + --range " + std::to_string(range) +
               " goes past the end of the export" + size);
  }
  range -= range % o_.block_size;
  if (range == 0) {
    return bad("the tested range is smaller than one block (--bs " + std::to_string(o_.block_size) + ")" + size);
  }
  if (x.min_block > 1 && (o_.block_size % x.min_block != 0 || o_.offset % x.min_block != 0)) {
    return bad("--bs and --offset must be multiples of the export's minimum block size " +
               std::to_string(x.min_block));
  }
  if (o_.block_size > x.max_payload) {
    return bad("--bs " + std::to_string(o_.block_size) + " is larger than the export's maximum request of " +
               std::to_string(x.max_payload) + " bytes");
  }
  if (pattern_writes(o_.pattern) && x.read_only) {
    return bad("--rw " + std::string(to_string(o_.pattern)) + " writes, but the export is read-only");
  }
  if (o_.fua && !x.can_fua) return bad("--fua: the server does not support FUA");
  if (o_.flush_every != 0 && !x.can_flush) return bad("--flush-every: the server does not support flush");
  result_.range = range;
  result_.blocks = range / o_.block_size;
  if (o_.verify && result_.blocks > Verifier::kMaxBlocks) {
    return bad("--verify tracks at most " + std::to_string(Verifier::kMaxBlocks) + " blocks; " +
               std::to_string(result_.blocks) + " blocks of " + std::to_string(o_.block_size) +
               " bytes is too many (use a larger --bs or a smaller --range)");
  }
  workload_.emplace(o_.pattern, o_.read_percent, result_.blocks, o_.seed);
  return true;
}

bool Runner::Impl::setup_verifier() {
  if (!o_.verify) return true;
  const auto bad = [this](const std::string& why) {
    result_.exit_code = kExitBadArguments;
    result_.error = why;
    return false;
  };
  VerifyConfig vc;
  vc.seed = o_.seed;
  vc.offset = o_.offset;
  vc.block_size = o_.block_size;
  vc.blocks = result_.blocks;
  vc.connections = o_.connections;
  SavedState saved;
  bool have_saved = false;
  if (!o_.resume.empty()) {
    std::string error;
    bool missing = false;
    if (load_state(o_.resume, &saved, &error, &missing)) {
      have_saved = true;
    } else if (!missing) {
      return bad("--resume: " + error);
    }
  }
  if (have_saved) {
    if (o_.seed_given && o_.seed != saved.seed) {
      return bad("--seed " + std::to_string(o_.seed) + " differs from the seed " +
                 std::to_string(saved.seed) + " in " + o_.resume + " (leave --seed out to use it)");
    }
    if (saved.block_size != o_.block_size || saved.offset != o_.offset || saved.blocks != result_.blocks) {
      return bad("--resume: " + o_.resume + " was written with --bs " + std::to_string(saved.block_size) +
                 " --offset " + std::to_string(saved.offset) + " --range " +
                 std::to_string(saved.blocks * saved.block_size) + "; this run has --bs " +
                 std::to_string(o_.block_size) + " --offset " + std::to_string(o_.offset) +
                 " --range " + std::to_string(result_.range));
    }
    vc.seed = saved.seed;
    result_.seed = saved.seed;
    // The workload follows the saved seed too, so a resumed run continues
    // the stream it would have had.
    workload_.emplace(o_.pattern, o_.read_percent, result_.blocks, saved.seed);
  }
  verifier_ = std::make_unique<Verifier>(vc);
  if (have_saved) {
    if (!verifier_->restore(saved)) return bad("--resume: " + o_.resume + " does not match this run");
    result_.resumed = true;
    check_list_.reserve(saved.written.size());
    for (const SavedBlock& b : saved.written) check_list_.push_back(b.index);
  }
  return true;
}

void Runner::Impl::spawn(unsigned count, void (Impl::*body)(Worker&)) {
  corolib::CoEvent all_exited;
  all_exited_ = &all_exited;
  running_ = count;
  for (unsigned i = 0; i < count; ++i) {
    Worker* w = &workers_[i];
    corolib::Coroutine* co = corolib::create([this, body, w] {
      (this->*body)(*w);
      worker_exited();
    });
    loop_->enter_soon(co);
  }
  all_exited.wait();
  all_exited_ = nullptr;
}

void Runner::Impl::worker_exited() {
  if (--running_ == 0) all_exited_->set();
}

// --- resumed state ----------------------------------------------------------------------

coroutine_fn void Runner::Impl::check_resumed_state() {
  checking_ = true;
  spawn(static_cast<unsigned>(std::min<std::size_t>(workers_.size(), check_list_.size())),
        &Impl::checker);
  result_.stats->resume_checked = check_next_ > check_list_.size() ? check_list_.size() : check_next_;
  checking_ = false;
}

coroutine_fn void Runner::Impl::checker(Worker& w) {
  Connection& c = conns_[w.conn];
  while (check_next_ < check_list_.size() && !c.lost && !(interrupt_ && interrupt_->load())) {
    const std::uint64_t block = check_list_[check_next_++];
    const ReadTicket ticket = verifier_->begin_read(block);
    const int r = c.target->read(w.buffer->data, o_.block_size, offset_of(block));
    if (r < 0) {
      note_error(w.conn, OpType::kRead, r);
      continue;
    }
    const ReadCheck check = verifier_->check_read(block, ticket, w.buffer->data);
    if (check.verdict == ReadVerdict::kOk) {
      if (check.torn) ++result_.stats->torn_accepted;
      verifier_->settle(block, check.found);
    } else {
      note_mismatch(block, ticket, check, "checking the saved state");
    }
  }
}

// --- the workload -----------------------------------------------------------------------

coroutine_fn void Runner::Impl::run_workload() {
  start_ = Clock::now();
  measure_start_ = start_ + o_.warmup;
  end_ = measure_start_ + o_.runtime;
  last_completion_ = measure_start_;
  if (o_.rate != 0) pacer_ = RatePacer(o_.rate, start_);
  if (o_.warmup.count() == 0) {
    measuring_ = true;
    cpu_start_ = cpu_now();
  }
  result_.workload_ran = true;
  const bool show_progress = progress_ != nullptr && progress_->enabled();
  if (show_progress) {
    // It sleeps between updates; when the run ends it is not waited for:
    // loop.shutdown() cancels its sleep and it returns, seeing stop_.
    loop_->enter_soon(corolib::create([this] { progress_coroutine(); }));
  }
  spawn(static_cast<unsigned>(workers_.size()), &Impl::worker);
  const CpuTimes cpu_end = cpu_now();
  if (!measuring_) {
    // Everything happened in the warmup (e.g. --ops 0).
    cpu_start_ = cpu_end;
    last_completion_ = measure_start_ = Clock::now();
  }
  result_.elapsed_s = std::max(0.0, seconds_between(measure_start_, last_completion_));
  result_.cpu_user_s = cpu_end.user - cpu_start_.user;
  result_.cpu_system_s = cpu_end.system - cpu_start_.system;
  stop_ = true;
  if (show_progress) progress_->finish();
}

coroutine_fn void Runner::Impl::worker(Worker& w) {
  Connection& c = conns_[w.conn];
  const std::uint64_t ops_limit = o_.ops ? *o_.ops : 0;
  while (!stopping() && !c.lost) {
    Clock::time_point now = Clock::now();
    bool measured = now >= measure_start_;
    if (measured) {
      if (!measuring_) {
        measuring_ = true;
        cpu_start_ = cpu_now();
      }
      if (o_.ops) {
        if (measured_claimed_ >= ops_limit) break;
        ++measured_claimed_;
      } else if (now >= end_) {
        break;
      }
    }
    const std::uint64_t k = next_op_++;
    if (pacer_.enabled()) {
      const Clock::time_point due = pacer_.due(k);
      if (due > now) {
        if (!o_.ops && due >= end_) break;
        corolib::co_sleep_until(due);
        if (stopping() || c.lost) break;
      } else if (measured && now - due > std::chrono::milliseconds(1)) {
        ++result_.stats->ops_late;
      }
    }
    const Op op = workload_->op(k);
    if (op.type == OpType::kWrite) {
      do_write(w, op.block, measured);
    } else {
      do_read(w, op.block, measured);
    }
  }
}

coroutine_fn std::uint64_t Runner::Impl::free_block_for_write(std::uint64_t block) {
  const std::uint64_t blocks = result_.blocks;
  for (;;) {
    for (std::uint64_t i = 0; i < blocks; ++i) {
      std::uint64_t b = block + i;
      if (b >= blocks) b -= blocks;
      if (!verifier_->write_in_flight(b)) return b;
    }
    write_done_.wait();  // every block has a write in flight (range < workers)
  }
}

coroutine_fn int Runner::Impl::do_write(Worker& w, std::uint64_t block, bool measured) {
  Connection& c = conns_[w.conn];
  std::uint64_t seq = 0;
  if (verifier_ != nullptr) {
    if (verifier_->write_in_flight(block)) block = free_block_for_write(block);
    seq = verifier_->begin_write(block, w.buffer->data);
  }
  ++writes_issued_;
  const Clock::time_point t0 = Clock::now();
  const int r = c.target->write(w.buffer->data, o_.block_size, offset_of(block), o_.fua);
  const Clock::time_point t1 = Clock::now();
  if (verifier_ != nullptr) {
    verifier_->end_write(block, seq, r, w.conn, o_.fua);
    if (!write_done_.empty()) write_done_.restart_all();
  }
  if (r < 0) {
    note_error(w.conn, OpType::kWrite, r);
    return r;
  }
  ++completed_ops_;
  completed_bytes_ += o_.block_size;
  if (measured) {
    result_.stats->record(OpType::kWrite, o_.block_size,
                          static_cast<std::uint64_t>((t1 - t0).count()));
    ++measured_done_;
    last_completion_ = t1;
  }
  if (o_.flush_every != 0 && ++writes_acked_ % o_.flush_every == 0) do_flush(w, measured);
  return 0;
}

coroutine_fn int Runner::Impl::do_read(Worker& w, std::uint64_t block, bool measured) {
  Connection& c = conns_[w.conn];
  ReadTicket ticket;
  if (verifier_ != nullptr) ticket = verifier_->begin_read(block);
  const Clock::time_point t0 = Clock::now();
  int r = c.target->read(w.buffer->data, o_.block_size, offset_of(block));
  const Clock::time_point t1 = Clock::now();
  if (r < 0) {
    note_error(w.conn, OpType::kRead, r);
    return r;
  }
  ++completed_ops_;
  completed_bytes_ += o_.block_size;
  if (measured) {
    result_.stats->record(OpType::kRead, o_.block_size,
                          static_cast<std::uint64_t>((t1 - t0).count()));
    ++measured_done_;
    last_completion_ = t1;
  }
  if (verifier_ == nullptr) return 0;
  ++result_.stats->reads_verified;
  ReadCheck check = verifier_->check_read(block, ticket, w.buffer->data);
  // A read that overlapped a write may have seen a torn mix: read again
  // once the block has no write in flight.
  for (int attempt = 0; check.verdict != ReadVerdict::kOk && check.overlapped && attempt < kMaxRereads;
       ++attempt) {
    while (verifier_->write_in_flight(block)) write_done_.wait();
    ++result_.stats->rereads;
    ticket = verifier_->begin_read(block);
    r = c.target->read(w.buffer->data, o_.block_size, offset_of(block));
    if (r < 0) {
      note_error(w.conn, OpType::kRead, r);
      return r;
    }
    check = verifier_->check_read(block, ticket, w.buffer->data);
  }
  if (check.verdict != ReadVerdict::kOk) {
    note_mismatch(block, ticket, check, "during the run");
  } else if (check.torn) {
    ++result_.stats->torn_accepted;
  }
  return 0;
}

coroutine_fn void Runner::Impl::do_flush(Worker& w, bool measured) {
  // With multi-conn one flush covers every connection; without it, each
  // connection is flushed (one after another, from this worker).
  const bool one = result_.info.multi_conn || conns_.size() == 1;
  for (unsigned i = 0; i < conns_.size(); ++i) {
    const unsigned ci = one ? w.conn : i;
    Connection& c = conns_[ci];
    if (c.lost) {
      if (one) break;
      continue;
    }
    const std::uint64_t mark = verifier_ != nullptr ? verifier_->begin_flush() : 0;
    const Clock::time_point t0 = Clock::now();
    const int r = c.target->flush();
    const Clock::time_point t1 = Clock::now();
    if (verifier_ != nullptr) verifier_->end_flush(ci, mark, result_.info.multi_conn, r == 0);
    if (r < 0) {
      note_error(ci, OpType::kFlush, r);
    } else {
      if (measured) {
        result_.stats->record(OpType::kFlush, 0, static_cast<std::uint64_t>((t1 - t0).count()));
        last_completion_ = t1;
      }
    }
    if (one) break;
  }
}

coroutine_fn void Runner::Impl::flush_all() {
  if (!result_.info.can_flush) return;
  for (unsigned i = 0; i < conns_.size(); ++i) {
    Connection& c = conns_[i];
    if (c.lost || !c.target->alive()) continue;
    const std::uint64_t mark = verifier_ != nullptr ? verifier_->begin_flush() : 0;
    const int r = c.target->flush();
    if (verifier_ != nullptr) verifier_->end_flush(i, mark, result_.info.multi_conn, r == 0);
    if (r < 0) note_error(i, OpType::kFlush, r);
  }
}

coroutine_fn void Runner::Impl::disconnect_all() {
  for (Connection& c : conns_) {
    if (c.connected) c.target->disconnect();
    c.connected = false;
  }
  conns_.clear();
}

void Runner::Impl::note_error(unsigned conn, OpType type, int r) {
  result_.stats->record_error(type, -r);
  Connection& c = conns_[conn];
  if (!c.lost && !c.target->alive()) {
    c.lost = true;
    ++result_.connections_lost;
  }
}

void Runner::Impl::note_mismatch(std::uint64_t block, const ReadTicket& ticket,
                                 const ReadCheck& check, const char* when) {
  ++result_.stats->mismatches;
  if (!checking_) stop_ = true;  // the check of a saved state goes on, to list every bad block
  if (result_.mismatches.size() >= kMaxMismatchReports) return;
  const std::uint64_t offset = offset_of(block);
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(offset));
  std::string text = "verify: mismatch at offset " + std::to_string(offset) + " (" + hex +
                     ", block " + std::to_string(block) + ") " + when + ": found " +
                     std::string(to_string(check.kind)) + "\n";
  text += "  expected: " + verifier_->describe_expected(block, ticket) + "\n";
  text += "  found:    " + describe(check.found);
  result_.mismatches.push_back(std::move(text));
}

void Runner::Impl::save_state() {
  const SavedState state = verifier_->save();
  result_.blocks_tracked = state.written.size();
  std::string error;
  if (loadgen::save_state(o_.resume, state, &error)) {
    result_.state_saved = true;
  } else {
    result_.state_error = error;
    result_.exit_code = kExitFailed;
  }
}

// --- progress ---------------------------------------------------------------------------

coroutine_fn void Runner::Impl::progress_coroutine() {
  std::uint64_t last_ops = 0;
  std::uint64_t last_bytes = 0;
  Clock::time_point last = start_;
  Clock::time_point next = start_ + std::chrono::seconds(1);
  LatencyHistogram& merged = progress_latency_;  // 58 KiB: not on this stack
  while (!stop_) {
    if (corolib::co_sleep_until(next) < 0 || stop_) return;
    const Clock::time_point now = Clock::now();
    next += std::chrono::seconds(1);
    const RunStats& s = *result_.stats;
    ProgressSample sample;
    sample.warming_up = now < measure_start_;
    sample.elapsed_s = seconds_between(start_, now);
    sample.total_s = o_.ops ? 0 : seconds_between(start_, end_);
    sample.ops_total = o_.ops ? *o_.ops : 0;
    sample.ops_done = measured_done_;
    const std::uint64_t ops = completed_ops_;
    const std::uint64_t bytes = completed_bytes_;
    const double dt = seconds_between(last, now);
    if (dt > 0) {
      sample.iops = static_cast<double>(ops - last_ops) / dt;
      sample.bytes_per_s = static_cast<double>(bytes - last_bytes) / dt;
    }
    merged.reset();
    merged.merge(s.op(OpType::kRead).latency);
    merged.merge(s.op(OpType::kWrite).latency);
    sample.p99_ns = merged.percentile(99);
    sample.errors = s.total_errors();
    progress_->update(sample);
    last_ops = ops;
    last_bytes = bytes;
    last = now;
  }
}

}  // namespace loadgen
