// The client side of the NBD fixed-newstyle handshake.
//
// Contract
// - coroutine_fn: from a coroutine on a thread that owns an EventLoop; fd is
//   a connected stream socket in blocking mode that nothing else reads or
//   writes meanwhile.
// - Sequence: read the greeting (oldstyle servers are refused); send client
//   flags FIXED_NEWSTYLE and NO_ZEROES, each only if the server offered it;
//   then, with a fixed-newstyle server:
//     NBD_OPT_STRUCTURED_REPLY                 (if options.structured_replies)
//     NBD_OPT_SET_META_CONTEXT base:allocation (if options.base_allocation
//                                               and structured replies are on)
//     NBD_OPT_GO with NBD_INFO_BLOCK_SIZE requested
//   and NBD_OPT_EXPORT_NAME when the server answers GO with
//   NBD_REP_ERR_UNSUP or is not fixed newstyle. A refused STRUCTURED_REPLY
//   or SET_META_CONTEXT is not an error: the feature is just off.
// - On success returns 0 with *out filled in and the socket at the start of
//   the transmission phase. On failure returns -errno and sets *error to a
//   one-line message (error may be null); the socket is then useless (the
//   caller closes it):
//     -ENOENT      the server does not know the export (NBD_REP_ERR_UNKNOWN)
//     -EACCES      NBD_REP_ERR_POLICY
//     -ESHUTDOWN   NBD_REP_ERR_SHUTDOWN (the server is going down)
//     -EOPNOTSUPP  oldstyle server; TLS or block sizes required by the server
//     -EPROTO      the server broke the protocol (bad magic, a reply to the
//                  wrong option, malformed reply data, GO without INFO_EXPORT)
//     -ECONNRESET  the server closed the connection
//     -ETIMEDOUT   options.timeout passed
//     -EINVAL      the export name is not a valid NBD string;
//                  NBD_REP_ERR_INVALID or NBD_REP_ERR_TOO_BIG
//     -EIO         any other error reply to GO (NBD_REP_ERR_PLATFORM, ...)
//     other        the socket's errno
// - Allocates (option data buffers): this is the connection set-up, not the
//   request path.
#pragma once

#include <string>
#include <string_view>

#include "corolib/coroutine.hpp"
#include "corolib/loop/io_timeout.hpp"
#include "nbd/client/negotiated_export.hpp"

namespace nbd {

struct HandshakeOptions {
  std::string_view export_name;    // "" selects the default export
  bool structured_replies = true;  // ask for NBD_OPT_STRUCTURED_REPLY
  bool base_allocation = true;     // ask for the base:allocation context
  corolib::IoTimeout timeout;      // for the whole handshake; none by default
};

coroutine_fn int client_handshake(int fd, const HandshakeOptions& options, NegotiatedExport* out,
                                  std::string* error = nullptr);

}  // namespace nbd
