// Handshake: the fixed newstyle negotiation phase of one connection
// (nbdkit's protocol-handshake-newstyle.c, in corobd's terms). Private to
// the server implementation.
//
// Contract
// - run() sends the greeting, reads the client flags and answers options
//   until the client picks an export (NBD_OPT_GO or NBD_OPT_EXPORT_NAME):
//   then it returns true with *out describing the negotiated session. It
//   returns false when the connection must end (the reason is recorded in
//   the SessionResult): ABORT, a disconnect, a timeout, bad magic, unknown
//   client flags, or an EXPORT_NAME that cannot be answered.
// - Every receive and send of the phase shares one deadline
//   (ServerOptions::handshake_timeout from the greeting).
// - Option data is read into a pooled 64 KiB buffer; replies are encoded
//   into a pooled buffer and sent once per option (several replies of one
//   option go out together). Longer option data is discarded unparsed.
// - refusing: every option but ABORT gets NBD_REP_ERR_POLICY; no export is
//   ever negotiated (Server::refuse()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "corolib/coroutine.hpp"
#include "corolib/loop/io_timeout.hpp"
#include "nbd/handshake_wire.hpp"
#include "nbd/server/export_registry.hpp"
#include "nbd/server/request_buffer_pool.hpp"
#include "session_context.hpp"

namespace nbd::server_detail {

// The context id corobd gives base:allocation (opaque to clients).
inline constexpr std::uint32_t kBaseAllocationContextId = 1;

struct Negotiated {
  std::shared_ptr<const Export> exp;
  SessionInfo info;
  // The client asked for NBD_INFO_BLOCK_SIZE in NBD_OPT_GO: it promised to
  // honour the minimum block size, which is then enforced.
  bool block_size_requested = false;
};

class Handshake {
 public:
  Handshake(const SessionContext& ctx, const ExportRegistry& exports, bool refusing);

  coroutine_fn bool run(Negotiated* out);

 private:
  enum class Step { kContinue, kTransmission, kEnd };

  coroutine_fn Step handle_option(std::uint32_t option, std::span<const std::byte> data,
                                  Negotiated* out);
  coroutine_fn Step handle_export_name(std::span<const std::byte> data, Negotiated* out);
  coroutine_fn Step handle_info_go(std::uint32_t option, std::span<const std::byte> data,
                                   Negotiated* out);
  coroutine_fn Step handle_list(std::span<const std::byte> data);
  coroutine_fn Step handle_meta_context(std::uint32_t option, std::span<const std::byte> data);

  // Reply encoding into out_ (flushed by flush(); error() appends an error
  // reply). Return false when the connection failed (already recorded).
  template <class Encode>
  coroutine_fn bool append(Encode&& encode);
  coroutine_fn bool flush();
  coroutine_fn Step reply_ack(std::uint32_t option);
  coroutine_fn Step reply_error(std::uint32_t option, std::uint32_t type, std::string_view message);

  coroutine_fn int recv(void* buf, std::size_t n);
  bool fail_io(int ret);

  void fill(Negotiated* out, std::shared_ptr<const Export> exp, bool export_name) const;

  const SessionContext& ctx_;
  const ExportRegistry& exports_;
  const bool refusing_;
  corolib::IoTimeout deadline_;

  RequestBuffer in_;   // option data
  RequestBuffer out_;  // replies being built
  std::size_t out_len_ = 0;

  std::uint32_t client_flags_ = 0;
  bool structured_ = false;
  // base:allocation selected by NBD_OPT_SET_META_CONTEXT, for this export.
  bool meta_selected_ = false;
  const Export* meta_export_ = nullptr;
};

}  // namespace nbd::server_detail
