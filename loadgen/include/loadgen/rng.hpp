// Deterministic pseudo-random numbers for workloads and block contents.
//
// Contract
// - mix64() is SplitMix64's finaliser: a bijection on 64-bit values with
//   good avalanche, so mix64(key + k) is a counter-based generator: the k-th
//   value of a stream is computed directly, without state. Workloads use it
//   so that op k of a run depends only on (seed, k), never on timing.
// - SplitMix64 is the sequential form (seeding, tests).
// - Pure, constexpr, no global state; identical on every platform.
#pragma once

#include <cstdint>

namespace loadgen {

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A uniformly distributed value in [0, n) from a 64-bit random value
// (Lemire's multiply-shift; n >= 1).
constexpr std::uint64_t scale_to(std::uint64_t random, std::uint64_t n) {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(random) * n) >> 64);
}

class SplitMix64 {
 public:
  constexpr explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  constexpr std::uint64_t next() {
    state_ += kGolden;
    return mix64(state_);
  }

 private:
  std::uint64_t state_;
};

}  // namespace loadgen
