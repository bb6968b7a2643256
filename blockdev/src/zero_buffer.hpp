// The shared zero buffer: write_zeroes writes from it when the file system
// cannot zero a range natively. Private to the raw driver.
//
// Contract: kZeroBufferSize bytes of zeroes, aligned to kZeroBufferAlign,
// never written; one instance per process (in .bss: it costs no memory
// until read, and then only the zero page). Safe from any thread.
#pragma once

#include <cstddef>

namespace blockdev {

inline constexpr std::size_t kZeroBufferSize = 1u << 20;
inline constexpr std::size_t kZeroBufferAlign = 4096;

const void* zero_buffer();

}  // namespace blockdev
