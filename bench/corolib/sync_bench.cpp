// Micro-benchmarks of corolib synchronisation, against thread mutexes in the
// same run. Names end in /<backend> for the coroutine benchmarks.
//
// Uncontended (one thread, no waiter):
// - BM_CoMutexUncontended: lock + unlock from a coroutine.
// - BM_StdMutexUncontended, BM_PthreadMutexUncontended: the same on the thread.
//
// Hand-off between coroutines on one thread (strict FIFO hand-off):
// - BM_CoMutexHandoff/<backend>/<n>: n coroutines share a CoMutex; each
//   releases it to the next waiter and queues again, so every lock is a
//   hand-off plus a switch through the enter loop. Items = hand-offs.
// - BM_CondvarHandoff/threads:2: the thread equivalent of a strict hand-off,
//   two threads taking turns with a std::mutex and a condition variable.
//
// Two threads hammering one mutex (lock, ++counter, unlock):
// - BM_CoMutexCrossThread/<backend>/<loop>/threads:2: one coroutine per
//   thread, each thread with a minimal event loop (a Scheduler with a mutex-
//   protected queue). /sleep: the idle loop sleeps on a condition variable
//   (a futex wakeup per cross-thread hand-off, as an eventfd would cost);
//   /poll: the idle loop busy-polls (isolates the CoMutex from the wakeup).
// - BM_StdMutexContended, BM_PthreadMutexContended (default mutex),
//   BM_PthreadAdaptiveMutexContended (PTHREAD_MUTEX_ADAPTIVE_NP): threads:2.
//   Thread mutexes let the releasing thread re-acquire at once (barging);
//   CoMutex hands the lock to the waiter in FIFO order instead. The
//   "xthread" counter is the share of acquisitions that took the mutex over
//   from the other thread (see note_holder()).
//
// Items per second are lock acquisitions (or hand-offs) across all threads.
// main() starts and joins a thread before anything runs: glibc skips the
// lock prefix of its mutexes in a process that never had a second thread,
// which would make the uncontended thread mutexes look 3x cheaper than in
// the (always multi-threaded) daemon.
#include <benchmark/benchmark.h>
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "corolib/co_mutex.hpp"
#include "corolib/coroutine.hpp"
#include "corolib/scheduler.hpp"

namespace {

// --- a minimal event loop for cross-thread benchmarks ----------------------------

class BenchLoop final : public corolib::Scheduler {
 public:
  explicit BenchLoop(bool poll) : poll_(poll) {}

  // Notifies under the lock: once it is released, the loop's thread may
  // finish and destroy the loop.
  void schedule(corolib::Coroutine* co) override {
    std::lock_guard lock(mutex_);
    queue_.push_back(co);
    pending_.store(true, std::memory_order_release);
    if (!poll_) ready_.notify_one();
  }

  // Enters scheduled coroutines until *done.
  void run_until(const bool* done) {
    while (!*done) {
      if (poll_) {
        while (!pending_.load(std::memory_order_acquire)) {
#if defined(__x86_64__)
          __builtin_ia32_pause();
#endif
        }
      }
      corolib::Coroutine* co;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !queue_.empty(); });
        co = queue_.front();
        queue_.pop_front();
        pending_.store(!queue_.empty(), std::memory_order_relaxed);
      }
      corolib::clear_scheduled(co);
      corolib::enter(co);
    }
  }

 private:
  const bool poll_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<corolib::Coroutine*> queue_;
  std::atomic<bool> pending_{false};
};

// --- uncontended ---------------------------------------------------------------

void BM_CoMutexUncontended(benchmark::State& state) {
  corolib::CoMutex mutex;
  corolib::enter(corolib::create([&] {
    for (auto _ : state) {
      mutex.lock();
      mutex.unlock();
    }
  }));
  state.SetItemsProcessed(state.iterations());
}

void BM_StdMutexUncontended(benchmark::State& state) {
  std::mutex mutex;
  for (auto _ : state) {
    mutex.lock();
    mutex.unlock();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PthreadMutexUncontended(benchmark::State& state) {
  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
  for (auto _ : state) {
    pthread_mutex_lock(&mutex);
    pthread_mutex_unlock(&mutex);
  }
  pthread_mutex_destroy(&mutex);
  state.SetItemsProcessed(state.iterations());
}

// --- hand-off on one thread ------------------------------------------------------

void BM_CoMutexHandoff(benchmark::State& state) {
  const int coroutines = static_cast<int>(state.range(0));
  corolib::CoMutex mutex;
  bool stop = false;
  long handoffs = 0;
  // The driver takes the mutex first and yields; the others queue behind
  // it. From then on every unlock() hands the mutex to the next in line.
  corolib::Coroutine* driver = corolib::create([&] {
    mutex.lock();
    corolib::yield();
    for (auto _ : state) {
      mutex.unlock();
      mutex.lock();  // queues behind everybody else
    }
    stop = true;
    mutex.unlock();
  });
  corolib::enter(driver);
  for (int i = 1; i < coroutines; ++i) {
    corolib::enter(corolib::create([&] {
      mutex.lock();
      while (!stop) {
        ++handoffs;
        mutex.unlock();
        mutex.lock();
      }
      mutex.unlock();
    }));
  }
  corolib::enter(driver);  // runs the whole benchmark
  if (mutex.is_locked()) state.SkipWithError("mutex still locked");
  state.SetItemsProcessed(state.iterations() + handoffs);
}

// Two threads take strict turns: the thread equivalent of a FIFO hand-off.
struct Turns {
  std::mutex mutex;
  std::condition_variable changed;
  int turn = 0;
  bool stopped = false;
};
Turns turns;

void BM_CondvarHandoff(benchmark::State& state) {
  const int me = state.thread_index();
  if (me == 0) {
    std::lock_guard lock(turns.mutex);
    turns.turn = 0;
    turns.stopped = false;
  }
  for (auto _ : state) {
    std::unique_lock lock(turns.mutex);
    turns.changed.wait(lock, [&] { return turns.turn == me || turns.stopped; });
    turns.turn = 1 - me;
    turns.changed.notify_one();
  }
  {
    // The first thread to finish releases the other from its last wait.
    std::lock_guard lock(turns.mutex);
    turns.stopped = true;
    turns.changed.notify_all();
  }
  state.SetItemsProcessed(state.iterations());
}

// --- two threads hammering one mutex ------------------------------------------------

corolib::CoMutex shared_comutex;
std::mutex shared_std_mutex;
pthread_mutex_t shared_pthread_mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t shared_adaptive_mutex;
long shared_counter = 0;
int shared_last_thread = -1;  // who held the mutex last (under the mutex)

// Runs under the benchmark's mutex: counts acquisitions that took the mutex
// over from the other thread. Reported as "xthread", the share of such
// acquisitions: near 0 means the threads hardly overlapped (or one barged
// in again and again); near 1 means strict alternation.
inline void note_holder(int me, long& takeovers) {
  ++shared_counter;
  if (shared_last_thread != me) {
    ++takeovers;
    shared_last_thread = me;
  }
}

void report_takeovers(benchmark::State& state, long takeovers) {
  state.SetItemsProcessed(state.iterations());
  state.counters["xthread"] =
      benchmark::Counter(static_cast<double>(takeovers) / static_cast<double>(state.iterations()),
                         benchmark::Counter::kAvgThreads);
}

void BM_CoMutexCrossThread(benchmark::State& state, bool poll) {
  BenchLoop loop(poll);
  corolib::set_thread_scheduler(&loop);
  bool done = false;
  long takeovers = 0;
  const int me = state.thread_index();
  corolib::enter(corolib::create([&] {
    for (auto _ : state) {
      shared_comutex.lock();
      note_holder(me, takeovers);
      shared_comutex.unlock();
    }
    done = true;
  }));
  loop.run_until(&done);
  corolib::set_thread_scheduler(nullptr);
  report_takeovers(state, takeovers);
}

void BM_StdMutexContended(benchmark::State& state) {
  long takeovers = 0;
  const int me = state.thread_index();
  for (auto _ : state) {
    shared_std_mutex.lock();
    note_holder(me, takeovers);
    shared_std_mutex.unlock();
  }
  report_takeovers(state, takeovers);
}

void BM_PthreadMutexContended(benchmark::State& state, pthread_mutex_t* mutex) {
  long takeovers = 0;
  const int me = state.thread_index();
  for (auto _ : state) {
    pthread_mutex_lock(mutex);
    note_holder(me, takeovers);
    pthread_mutex_unlock(mutex);
  }
  report_takeovers(state, takeovers);
}

void register_all() {
  const std::string backend = corolib::backend_name();
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
  pthread_mutex_init(&shared_adaptive_mutex, &attr);
  pthread_mutexattr_destroy(&attr);

  benchmark::RegisterBenchmark(("BM_CoMutexUncontended/" + backend).c_str(),
                               BM_CoMutexUncontended);
  benchmark::RegisterBenchmark("BM_StdMutexUncontended", BM_StdMutexUncontended);
  benchmark::RegisterBenchmark("BM_PthreadMutexUncontended", BM_PthreadMutexUncontended);

  benchmark::RegisterBenchmark(("BM_CoMutexHandoff/" + backend).c_str(), BM_CoMutexHandoff)
      ->Arg(2)
      ->Arg(16);
  benchmark::RegisterBenchmark("BM_CondvarHandoff", BM_CondvarHandoff)->Threads(2)->UseRealTime();

  benchmark::RegisterBenchmark(("BM_CoMutexCrossThread/" + backend + "/sleep").c_str(),
                               BM_CoMutexCrossThread, false)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("BM_CoMutexCrossThread/" + backend + "/poll").c_str(),
                               BM_CoMutexCrossThread, true)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_StdMutexContended", BM_StdMutexContended)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_PthreadMutexContended", BM_PthreadMutexContended,
                               &shared_pthread_mutex)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_PthreadAdaptiveMutexContended", BM_PthreadMutexContended,
                               &shared_adaptive_mutex)
      ->Threads(2)
      ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  // glibc drops the lock prefix from its mutexes while a process has never
  // had a second thread; the daemon always has several, so measure that.
  std::thread([] {}).join();
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("corolib_backend", corolib::backend_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
