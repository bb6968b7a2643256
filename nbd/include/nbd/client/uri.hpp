// NBD URIs for UNIX sockets: nbd+unix:///EXPORT?socket=PATH
//
// Contract
// - parse_nbd_uri() accepts the part of the NBD URI specification
//   (NetworkBlockDevice doc/uri.md) that corobd speaks:
//     nbd+unix:///EXPORT?socket=PATH   export EXPORT
//     nbd+unix:///?socket=PATH         the default export ("")
//     nbd+unix://?socket=PATH          the default export ("")
//   The scheme is case-insensitive. The path after its leading '/' is the
//   export name (it may contain further '/'); the export name and the socket
//   path are percent-decoded (%2F, %20, ...; '+' stays '+').
// - Anything else is refused with a one-line message that names the problem:
//   other schemes (nbd://, nbds://, nbd+vsock://, nbds+unix://: TCP, vsock
//   and TLS are not spoken), a host, port or user in the authority, a
//   fragment, a missing or empty socket=, query parameters other than
//   socket= (or socket= twice), malformed percent escapes, a NUL byte, an
//   export name longer than 4096 bytes, a socket path too long for
//   sockaddr_un.
// - Pure functions: no I/O; they allocate only the result strings. Any
//   thread.
#pragma once

#include <string>
#include <string_view>

namespace nbd {

struct NbdUri {
  std::string export_name;  // "" selects the server's default export
  std::string socket_path;  // the UNIX socket to connect to

  // The canonical text of this URI (nbd+unix:///EXPORT?socket=PATH), with
  // every byte outside RFC 3986's unreserved set (and '/') percent-encoded.
  // parse_nbd_uri(to_string()) gives back the same NbdUri.
  std::string to_string() const;

  friend bool operator==(const NbdUri&, const NbdUri&) = default;
};

// Parses `text`. Returns true and fills *out; or returns false, leaves *out
// alone and sets *error to a one-line message (error may be null).
bool parse_nbd_uri(std::string_view text, NbdUri* out, std::string* error = nullptr);

}  // namespace nbd
