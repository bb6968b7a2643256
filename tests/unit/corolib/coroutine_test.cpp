// Coroutine lifecycle, nesting, yield and ordering: the equivalents of QEMU's
// tests/unit/test-coroutine.c, run for every backend.
#include <gtest/gtest.h>

#include <cfenv>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend_param.hpp"
#include "corolib/coroutine.hpp"
#include "corolib/pool.hpp"
#include "coroutine_impl.hpp"

namespace {

class CoroutineTest : public BackendTest {};

TEST_P(CoroutineTest, Lifecycle) {
  bool done = false;
  for (int i = 0; i < 1000; ++i) {
    done = false;
    corolib::Coroutine* co = corolib::create([&] { done = true; });
    corolib::enter(co);
    ASSERT_TRUE(done);
  }
}

TEST_P(CoroutineTest, EntryWithOpaquePointer) {
  int value = 0;
  corolib::Coroutine* co = corolib::create([](void* p) { *static_cast<int*>(p) = 42; }, &value);
  corolib::enter(co);
  EXPECT_EQ(value, 42);
}

TEST_P(CoroutineTest, InCoroutine) {
  EXPECT_FALSE(corolib::in_coroutine());
  bool inside = false;
  corolib::enter(corolib::create([&] { inside = corolib::in_coroutine(); }));
  EXPECT_TRUE(inside);
  EXPECT_FALSE(corolib::in_coroutine());
}

TEST_P(CoroutineTest, Self) {
  EXPECT_EQ(corolib::self(), nullptr);
  corolib::Coroutine* seen = nullptr;
  corolib::Coroutine* co = corolib::create([&] { seen = corolib::self(); });
  corolib::enter(co);
  EXPECT_EQ(seen, co);
}

TEST_P(CoroutineTest, Entered) {
  corolib::Coroutine* inner = nullptr;
  bool inner_entered_inside = false;
  bool outer_entered_inside = false;
  corolib::Coroutine* outer = corolib::create([&] {
    outer_entered_inside = corolib::entered(corolib::self());
    inner = corolib::create([&] {
      inner_entered_inside = corolib::entered(corolib::self());
      corolib::yield();
    });
    corolib::enter(inner);
    corolib::yield();
  });
  EXPECT_FALSE(corolib::entered(outer));
  corolib::enter(outer);
  EXPECT_TRUE(outer_entered_inside);
  EXPECT_TRUE(inner_entered_inside);
  EXPECT_FALSE(corolib::entered(outer));  // yielded
  EXPECT_FALSE(corolib::entered(inner));
  corolib::enter(inner);  // finish both
  corolib::enter(outer);
}

TEST_P(CoroutineTest, YieldCount) {
  constexpr int kYields = 1000;
  int count = 0;
  bool done = false;
  corolib::Coroutine* co = corolib::create([&] {
    for (int i = 0; i < kYields; ++i) {
      ++count;
      corolib::yield();
    }
    done = true;
  });
  int enters = 0;
  while (!done) {
    corolib::enter(co);
    ++enters;
  }
  EXPECT_EQ(count, kYields);
  EXPECT_EQ(enters, kYields + 1);
}

struct NestState {
  unsigned created = 0;
  unsigned entered = 0;
  unsigned max = 0;
};

void nest(void* opaque) {
  auto* state = static_cast<NestState*>(opaque);
  ++state->entered;
  if (state->created < state->max) {
    ++state->created;
    corolib::enter(corolib::create(nest, state));
  }
}

TEST_P(CoroutineTest, Nesting) {
  NestState state{0, 0, 128};
  corolib::enter(corolib::create(nest, &state));
  EXPECT_EQ(state.created, 128u);
  EXPECT_EQ(state.entered, 129u);
}

TEST_P(CoroutineTest, YieldReturnsToInnermostCaller) {
  std::vector<std::string> log;
  corolib::Coroutine* inner = corolib::create([&] {
    log.push_back("inner 1");
    corolib::yield();
    log.push_back("inner 2");
  });
  corolib::Coroutine* outer = corolib::create([&] {
    log.push_back("outer 1");
    corolib::enter(inner);
    log.push_back("outer 2");
    corolib::yield();
    log.push_back("outer 3");
  });
  corolib::enter(outer);
  log.push_back("main 1");
  corolib::enter(inner);
  log.push_back("main 2");
  corolib::enter(outer);
  EXPECT_EQ(log, (std::vector<std::string>{"outer 1", "inner 1", "outer 2", "main 1", "inner 2",
                                           "main 2", "outer 3"}));
}

// QEMU's test_order: exact interleaving of create/enter/yield/terminate.
TEST_P(CoroutineTest, Order) {
  std::vector<int> records;
  corolib::Coroutine* co = corolib::create([&] {
    records.push_back(2);
    corolib::yield();
    records.push_back(4);
  });
  records.push_back(1);
  corolib::enter(co);
  records.push_back(3);
  corolib::enter(co);
  records.push_back(5);
  EXPECT_EQ(records, (std::vector<int>{1, 2, 3, 4, 5}));
}

// QEMU's test_no_dangling_access: after c1 terminated, nothing may touch it
// when c2, which c1 had entered, terminates later. With the pool off c1 is
// freed (ASan would report a use after free); with it on, c1 is poisoned.
TEST_P(CoroutineTest, NoDanglingAccessToFinishedCaller) {
  bool pooled = corolib::pool_enabled();
  for (bool pool : {false, true}) {
    corolib::pool_set_enabled(pool);
    corolib::Coroutine* c2 = corolib::create([] { corolib::yield(); });
    corolib::Coroutine* c1 = corolib::create([c2] { corolib::enter(c2); });
    corolib::enter(c1);  // c1 terminates while c2 is suspended
    if (corolib::pool_enabled()) {
      alignas(corolib::Coroutine) unsigned char saved[sizeof(corolib::Coroutine)];
      std::memcpy(saved, static_cast<void*>(c1), sizeof(saved));
      std::memset(static_cast<void*>(c1), 0xff, sizeof(saved));
      corolib::enter(c2);
      std::memcpy(static_cast<void*>(c1), saved, sizeof(saved));
    } else {
      corolib::enter(c2);
    }
  }
  corolib::pool_set_enabled(pooled);
}

TEST_P(CoroutineTest, LargeCallableIsStoredOutOfLine) {
  char big[512] = {};
  big[511] = 7;
  int seen = 0;
  corolib::enter(corolib::create([big, &seen] { seen = big[511]; }));
  EXPECT_EQ(seen, 7);
}

TEST_P(CoroutineTest, CallableDestroyedAtTermination) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> weak = token;
  corolib::Coroutine* co = corolib::create([token = std::move(token)] { corolib::yield(); });
  corolib::enter(co);
  EXPECT_FALSE(weak.expired());
  corolib::enter(co);
  EXPECT_TRUE(weak.expired());
}

TEST_P(CoroutineTest, WakeDeferredRunsAfterYieldInOrder) {
  std::vector<std::string> log;
  corolib::Coroutine* a = corolib::create([&] { log.push_back("a"); });
  corolib::Coroutine* b = corolib::create([&] { log.push_back("b"); });
  corolib::Coroutine* c = corolib::create([&] {
    corolib::wake_deferred(a);
    corolib::wake_deferred(b);
    log.push_back("c continues");
    corolib::yield();
    log.push_back("c again");
  });
  corolib::enter(c);
  log.push_back("main");
  corolib::enter(c);
  EXPECT_EQ(log, (std::vector<std::string>{"c continues", "a", "b", "main", "c again"}));
}

TEST_P(CoroutineTest, StackSizeIsConfigurable) {
  std::size_t old = corolib::default_stack_size();
  corolib::set_default_stack_size(64 * 1024);
  EXPECT_EQ(corolib::default_stack_size(), 64u * 1024);
  bool ran = false;
  corolib::enter(corolib::create([&] {
    volatile char buffer[32 * 1024];
    buffer[0] = 1;
    ran = buffer[0] == 1;
  }));
  EXPECT_TRUE(ran);
  corolib::set_default_stack_size(old);
}

TEST_P(CoroutineTest, FloatingPointControlStateIsPerCoroutine) {
  // A rounding-mode change inside a coroutine must not leak to its caller.
  int mode_inside = -1;
  corolib::Coroutine* co = corolib::create([&] {
    std::fesetround(FE_UPWARD);
    corolib::yield();
    mode_inside = std::fegetround();
    std::fesetround(FE_TONEAREST);
  });
  std::fesetround(FE_TONEAREST);
  corolib::enter(co);
  int mode_outside = std::fegetround();
  corolib::enter(co);
  // Only the asm backend on x86-64 keeps MXCSR/x87 control per coroutine
  // (aarch64's ABI leaves FPCR to the caller; QEMU's backends share it too).
#if defined(__x86_64__)
  if (std::string(corolib::backend_name()) == "asm") {
    EXPECT_EQ(mode_outside, FE_TONEAREST);
    EXPECT_EQ(mode_inside, FE_UPWARD);
  }
#else
  (void)mode_outside;
#endif
  std::fesetround(FE_TONEAREST);
}

COROLIB_INSTANTIATE_FOR_BACKEND(CoroutineTest);

}  // namespace
