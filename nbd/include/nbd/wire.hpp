// The NBD wire format: big-endian, bounds-checked encode/decode of every
// message of the fixed-newstyle handshake and of the transmission phase.
//
// This header gathers the pieces; include it, or just the part you need:
//   nbd/protocol.hpp           constants, names, errno mapping, limits
//   nbd/wire_result.hpp        WireError, wire_error_message(), WireResult<T>
//   nbd/wire_views.hpp         InfoList, StringList, DescriptorList views
//   nbd/handshake_wire.hpp     greeting, client flags, options, option replies
//   nbd/transmission_wire.hpp  requests, simple replies, structured chunks
//   nbd/byte_order.hpp         load_be*/store_be* helpers
//
// Contract (for all of them)
// - Pure code: no I/O, no allocation, no exceptions, no global state; safe to
//   call from any thread or coroutine. Library nbd_wire depends on nothing
//   but the C++ standard library, so it can be fuzzed and tested alone.
// - Encoders write into a caller-provided std::span<std::byte> and return the
//   bytes written, or an error and write nothing.
// - Decoders read a std::span<const std::byte> and return a value or a
//   WireError naming what is malformed; strings and views in the value point
//   into the input buffer.
#pragma once

#include "nbd/byte_order.hpp"
#include "nbd/handshake_wire.hpp"
#include "nbd/protocol.hpp"
#include "nbd/transmission_wire.hpp"
#include "nbd/wire_result.hpp"
#include "nbd/wire_views.hpp"
