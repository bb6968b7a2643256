// CookieTable: the client's fixed table of requests in flight, keyed by the
// cookie each request carries on the wire (private to nbd_client).
//
// Contract
// - Sized once (capacity slots, one allocation at construction); insert,
//   find and erase never allocate and run in O(1).
// - A cookie is (generation << 32) | slot index. Every insert bumps the
//   slot's generation, so a cookie stays unique long after its request has
//   finished: a late or duplicated reply with a stale cookie is "unknown",
//   never mistaken for the slot's next request. Cookies are never 0.
// - Not thread-safe: one connection, one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace nbd::client_detail {

template <class T>
class CookieTable {
 public:
  explicit CookieTable(std::uint32_t capacity)
      : slots_(std::make_unique<Slot[]>(capacity)), capacity_(capacity) {
    for (std::uint32_t i = 0; i < capacity; ++i) slots_[i].next_free = i + 1;
    free_head_ = capacity > 0 ? 0 : kNone;
    if (capacity > 0) slots_[capacity - 1].next_free = kNone;
  }
  CookieTable(const CookieTable&) = delete;
  CookieTable& operator=(const CookieTable&) = delete;

  std::uint32_t capacity() const { return capacity_; }
  std::uint32_t size() const { return size_; }
  bool full() const { return free_head_ == kNone; }
  bool empty() const { return size_ == 0; }

  // Stores item in a free slot and returns its cookie. Precondition: !full().
  std::uint64_t insert(T* item) {
    const std::uint32_t index = free_head_;
    Slot& slot = slots_[index];
    free_head_ = slot.next_free;
    if (++slot.generation == 0) slot.generation = 1;
    slot.item = item;
    ++size_;
    return (static_cast<std::uint64_t>(slot.generation) << 32) | index;
  }

  // The item of a live cookie, or nullptr.
  T* find(std::uint64_t cookie) const {
    const Slot* slot = lookup(cookie);
    return slot != nullptr ? slot->item : nullptr;
  }

  // Removes a live cookie and returns its item (nullptr if not live).
  T* erase(std::uint64_t cookie) {
    Slot* slot = lookup(cookie);
    if (slot == nullptr) return nullptr;
    T* item = slot->item;
    release(static_cast<std::uint32_t>(cookie));
    return item;
  }

  // Removes every item, calling fn(item) for each (in slot order).
  template <class F>
  void drain(F&& fn) {
    for (std::uint32_t i = 0; i < capacity_ && size_ > 0; ++i) {
      if (T* item = slots_[i].item) {
        release(i);
        fn(item);
      }
    }
  }

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;

  struct Slot {
    T* item = nullptr;
    std::uint32_t generation = 0;
    std::uint32_t next_free = kNone;
  };

  Slot* lookup(std::uint64_t cookie) const {
    const auto index = static_cast<std::uint32_t>(cookie);
    const auto generation = static_cast<std::uint32_t>(cookie >> 32);
    if (index >= capacity_) return nullptr;
    Slot* slot = &slots_[index];
    if (slot->item == nullptr || slot->generation != generation) return nullptr;
    return slot;
  }

  void release(std::uint32_t index) {
    Slot& slot = slots_[index];
    slot.item = nullptr;
    slot.next_free = free_head_;
    free_head_ = index;
    --size_;
  }

  std::unique_ptr<Slot[]> slots_;
  std::uint32_t capacity_;
  std::uint32_t size_ = 0;
  std::uint32_t free_head_ = kNone;
};

}  // namespace nbd::client_detail
