#include "zero_buffer.hpp"

namespace blockdev {

namespace {
// Not const: a const array would be stored in the binary (.rodata).
alignas(kZeroBufferAlign) unsigned char g_zeroes[kZeroBufferSize];
}  // namespace

const void* zero_buffer() { return g_zeroes; }

}  // namespace blockdev
