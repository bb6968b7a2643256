// Seed inputs for the nbd_wire fuzz target (see nbd_wire_fuzz_seeds.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace nbd::fuzz {

// One or more well-formed inputs per fuzz target, target byte first.
std::vector<std::vector<std::uint8_t>> seeds();

}  // namespace nbd::fuzz
