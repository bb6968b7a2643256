// Read-only views over lists inside decoded NBD messages: the information
// requests of NBD_OPT_INFO/GO (big-endian u16s), the queries of
// NBD_OPT_LIST/SET_META_CONTEXT (u32 length + string each) and the
// descriptors of an NBD_REPLY_TYPE_BLOCK_STATUS chunk (u32 length + u32
// status each).
//
// Contract
// - A view refers to the caller's input buffer; it is valid only while that
//   buffer is. Nothing is copied or allocated.
// - The decoders in handshake_wire.hpp / transmission_wire.hpp validate the
//   bytes before building a view, so iterating never fails. A view built by
//   hand over unvalidated bytes is still memory-safe: iteration stops at the
//   first element that does not fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <string_view>

#include "nbd/byte_order.hpp"

namespace nbd {

// A list of NBD_INFO_* requests: count big-endian u16 values.
class InfoList {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::uint16_t;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::uint16_t;

    iterator() = default;
    explicit iterator(const std::byte* p) : p_(p) {}
    std::uint16_t operator*() const { return load_be16(p_); }
    iterator& operator++() {
      p_ += 2;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      p_ += 2;
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.p_ == b.p_; }

   private:
    const std::byte* p_ = nullptr;
  };

  InfoList() = default;
  // raw holds the u16 values; an odd trailing byte is ignored.
  explicit InfoList(std::span<const std::byte> raw)
      : raw_(raw.first(raw.size() & ~std::size_t{1})) {}

  std::size_t size() const { return raw_.size() / 2; }
  bool empty() const { return raw_.empty(); }
  std::uint16_t operator[](std::size_t i) const { return load_be16(raw_.data() + 2 * i); }
  bool contains(std::uint16_t info) const {
    for (std::uint16_t v : *this) {
      if (v == info) return true;
    }
    return false;
  }
  iterator begin() const { return iterator(raw_.data()); }
  iterator end() const { return iterator(raw_.data() + raw_.size()); }
  std::span<const std::byte> raw() const { return raw_; }

 private:
  std::span<const std::byte> raw_;
};

// A list of strings, each a big-endian u32 length followed by that many
// bytes (the queries of NBD_OPT_LIST/SET_META_CONTEXT).
class StringList {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::string_view;

    iterator() = default;
    iterator(std::span<const std::byte> rest, std::uint32_t left) : rest_(rest), left_(left) {
      load();
    }
    std::string_view operator*() const { return current_; }
    iterator& operator++() {
      rest_ = rest_.subspan(4 + current_.size());
      --left_;
      load();
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.left_ == b.left_; }

   private:
    void load() {
      if (left_ == 0) return;
      if (rest_.size() < 4 || load_be32(rest_.data()) > rest_.size() - 4) {
        left_ = 0;  // malformed (only possible for hand-built views): stop
        return;
      }
      current_ = std::string_view(reinterpret_cast<const char*>(rest_.data()) + 4,
                                  load_be32(rest_.data()));
    }

    std::span<const std::byte> rest_;
    std::uint32_t left_ = 0;
    std::string_view current_;
  };

  StringList() = default;
  StringList(std::span<const std::byte> raw, std::uint32_t count) : raw_(raw), count_(count) {}

  std::uint32_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  iterator begin() const { return iterator(raw_, count_); }
  iterator end() const { return iterator(); }
  std::span<const std::byte> raw() const { return raw_; }

 private:
  std::span<const std::byte> raw_;
  std::uint32_t count_ = 0;
};

// One extent of a block status reply.
struct BlockDescriptor {
  std::uint32_t length = 0;  // bytes the status applies to; nonzero
  std::uint32_t status = 0;  // context-defined flags (kStateHole, kStateZero)
  friend bool operator==(const BlockDescriptor&, const BlockDescriptor&) = default;
};

inline constexpr std::size_t kBlockDescriptorSize = 8;

// The descriptors of a block status chunk: 8 bytes each.
class DescriptorList {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = BlockDescriptor;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = BlockDescriptor;

    iterator() = default;
    explicit iterator(const std::byte* p) : p_(p) {}
    BlockDescriptor operator*() const { return {load_be32(p_), load_be32(p_ + 4)}; }
    iterator& operator++() {
      p_ += kBlockDescriptorSize;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      p_ += kBlockDescriptorSize;
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.p_ == b.p_; }

   private:
    const std::byte* p_ = nullptr;
  };

  DescriptorList() = default;
  // raw holds whole descriptors; a partial trailing one is ignored.
  explicit DescriptorList(std::span<const std::byte> raw)
      : raw_(raw.first(raw.size() - raw.size() % kBlockDescriptorSize)) {}

  std::size_t size() const { return raw_.size() / kBlockDescriptorSize; }
  bool empty() const { return raw_.empty(); }
  BlockDescriptor operator[](std::size_t i) const {
    return *iterator(raw_.data() + i * kBlockDescriptorSize);
  }
  iterator begin() const { return iterator(raw_.data()); }
  iterator end() const { return iterator(raw_.data() + raw_.size()); }
  std::span<const std::byte> raw() const { return raw_; }

 private:
  std::span<const std::byte> raw_;
};

}  // namespace nbd
