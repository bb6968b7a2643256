// The --resume state file: a Verifier's saved model (verifier.hpp), so a
// later run can check a device written by an earlier one, across a restart
// (or crash) of the server.
//
// Format (version 1): a text header of key=value lines, an empty line, then
// binary records, all integers little-endian:
//     corobd-load-state 1
//     seed=<u64>
//     offset=<u64>
//     block_size=<u32>
//     blocks=<u64>
//     next_seq=<u64>
//     written=<N>
//     <empty line>
//     N x { u64 index, u64 durable, u64 upper }   ascending index
//     u64 checksum of the records
//
// Contract
// - save_state() writes PATH.tmp, fsyncs it and renames it over PATH (then
//   fsyncs the directory), so PATH is always either the old or the new
//   state. load_state() checks everything it reads (magic line, keys,
//   counts, order, checksum). Both return false with a one-line *error.
// - load_state() sets *missing (if given) when PATH does not exist, which
//   --resume treats as "start a new model".
// - Plain blocking file I/O: call at start-up and at the end of a run, not
//   from the request path. Any thread.
#pragma once

#include <string>

#include "loadgen/verifier.hpp"

namespace loadgen {

bool save_state(const std::string& path, const SavedState& state, std::string* error);
bool load_state(const std::string& path, SavedState* state, std::string* error,
                bool* missing = nullptr);

}  // namespace loadgen
