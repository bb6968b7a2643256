// Completion records: what the user_data of every io_uring SQE points to.
//
// Contract
// - Every SQE an EventLoop submits carries user_data == a Completion*. When
//   the loop reaps the CQE it calls record->callback(record, cqe->res,
//   cqe->flags) once, on the loop's thread, outside any coroutine. The loop
//   never touches the record again after the call.
// - The record must stay valid until its callback has run. The co_* helpers
//   keep it on the calling coroutine's stack: the coroutine stays suspended
//   until the callback re-enters it, so the frame outlives the request.
// - One SQE produces exactly one CQE (no multishot requests, no zero-copy
//   sends with notifications): the loop's in-flight accounting, which keeps
//   the CQ from overflowing, relies on it.
#pragma once

#include <cstdint>

namespace corolib {

struct Completion {
  using Callback = void (*)(Completion* self, int result, std::uint32_t cqe_flags);
  Callback callback = nullptr;
};

}  // namespace corolib
