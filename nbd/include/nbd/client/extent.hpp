// Extents reported by NBD_CMD_BLOCK_STATUS, and the callback that receives
// them.
//
// Contract
// - Extent: one descriptor of a base:allocation reply, with its absolute
//   offset (the request offset plus the lengths of the extents before it).
//   flags are NBD_STATE_* (kStateHole, kStateZero).
// - ExtentCallback: a non-owning reference to any callable `void(const
//   Extent&)` (a function_ref): it stores the callable's address, so the
//   callable must outlive the call it is passed to (a lambda written in
//   the call's argument list does). Copying it copies the reference.
// - The client invokes the callback from its reply-reader coroutine, once
//   per extent in order, while the request waits. The callback must not
//   yield and must not call the client; keep it short (copy the extent).
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace nbd {

struct Extent {
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  std::uint32_t flags = 0;  // NBD_STATE_HOLE | NBD_STATE_ZERO
  friend bool operator==(const Extent&, const Extent&) = default;
};

class ExtentCallback {
 public:
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, ExtentCallback> &&
           std::is_invocable_v<F&, const Extent&>)
      ExtentCallback(F&& fn)  // NOLINT: implicit, like std::function_ref
      : object_(const_cast<void*>(static_cast<const void*>(&fn))),
        invoke_([](void* object, const Extent& extent) {
          (*static_cast<std::remove_reference_t<F>*>(object))(extent);
        }) {}

  void operator()(const Extent& extent) const { invoke_(object_, extent); }

 private:
  void* object_;
  void (*invoke_)(void* object, const Extent& extent);
};

}  // namespace nbd
