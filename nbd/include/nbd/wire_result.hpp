// Results of the NBD wire format code: an error enum with a human message for
// each value, and WireResult<T>, a small Expected-like value-or-error.
//
// Contract
// - Every decoder returns either a value or exactly one WireError saying what
//   was malformed; every encoder returns the number of bytes written or the
//   reason nothing was written (encoders never write partially).
// - No exceptions and no allocation. WireResult<T> holds T by value; T must be
//   default-constructible and cheap to copy (all wire structs are).
#pragma once

#include <cassert>
#include <cstdint>

namespace nbd {

enum class WireError : std::uint8_t {
  kOk = 0,
  kTruncated,           // input ends before the end of the message
  kNoSpace,             // encoder: output buffer too small
  kBadMagic,            // magic number is not the expected one
  kOldstyle,            // server greeting uses oldstyle negotiation
  kBadLength,           // a length field does not fit the message type
  kTooLarge,            // encoder: value does not fit its wire field
  kStringTooLong,       // string longer than kMaxStringLength
  kStringHasNul,        // string contains a NUL byte
  kNameOverrun,         // name length runs past the end of the data
  kInfoCountMismatch,   // INFO/GO: info request count vs option length
  kQueryOverrun,        // META_CONTEXT: query length runs past the data
  kQueryCountMismatch,  // META_CONTEXT: query count vs option length
  kMessageOverrun,      // error chunk: message length runs past the chunk
  kBadType,             // message type not valid for this decoder/encoder
  kUnknownType,         // unknown option reply type or chunk type
  kBadFlags,            // unknown or inconsistent flags
  kZeroLength,          // a length that must be nonzero is zero
  kZeroError,           // error chunk with error value 0
  kBadBlockSize,        // block size constraints violate the spec
  kBadMetaContext,      // metadata context name without "namespace:"
};

// A one-line human description of e (never null; "unknown wire error" for
// values outside the enum).
const char* wire_error_message(WireError e);

template <class T>
class [[nodiscard]] WireResult {
 public:
  constexpr WireResult(const T& value) : value_(value) {}  // NOLINT: implicit by design
  constexpr WireResult(WireError error) : error_(error) {  // NOLINT: implicit by design
    assert(error != WireError::kOk);
  }

  constexpr bool ok() const { return error_ == WireError::kOk; }
  constexpr explicit operator bool() const { return ok(); }
  constexpr WireError error() const { return error_; }
  const char* message() const { return wire_error_message(error_); }

  // The value; only meaningful when ok() (asserted in debug builds; a
  // default-constructed T otherwise).
  constexpr const T& value() const {
    assert(ok());
    return value_;
  }
  constexpr const T& operator*() const { return value(); }
  constexpr const T* operator->() const { return &value(); }
  constexpr T value_or(const T& fallback) const { return ok() ? value_ : fallback; }

 private:
  T value_{};
  WireError error_ = WireError::kOk;
};

}  // namespace nbd
