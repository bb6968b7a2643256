// parse_nbd_uri() and NbdUri::to_string(): see nbd/client/uri.hpp.
#include "nbd/client/uri.hpp"

#include <sys/un.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "nbd/protocol.hpp"

namespace nbd {
namespace {

constexpr std::string_view kForm = "nbd+unix:///EXPORT?socket=PATH";
constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Concatenates pieces (GCC 12 warns falsely on "literal" + std::string&&).
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

bool fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

// Percent-decodes `in` (what names the part in messages) into *out.
bool decode(std::string_view in, std::string_view what, std::string* out, std::string* error) {
  out->clear();
  out->reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      const int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return fail(error, concat("bad percent escape '", in.substr(i, 3), "' in the ", what));
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
      if (c == '\0') return fail(error, concat("the ", what, " contains a NUL byte (%00)"));
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return fail(error, concat("the ", what, " contains a control character"));
    }
    out->push_back(c);
  }
  return true;
}

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void encode(std::string_view in, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : in) {
    if (unreserved(c) || c == '/') {
      out->push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out->push_back('%');
      out->push_back(kHex[b >> 4]);
      out->push_back(kHex[b & 15]);
    }
  }
}

}  // namespace

bool parse_nbd_uri(std::string_view text, NbdUri* out, std::string* error) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return fail(error, concat("'", text, "' is not an NBD URI (expected ", kForm, ")"));
  }
  const std::string scheme = lower(text.substr(0, colon));
  if (scheme != "nbd+unix") {
    if (scheme == "nbd" || scheme == "nbds") {
      return fail(error, concat("NBD over TCP (", scheme, "://) is not supported: use ", kForm));
    }
    if (scheme == "nbds+unix") {
      return fail(error, concat("NBD over TLS (nbds+unix://) is not supported: use ", kForm));
    }
    if (scheme == "nbd+vsock" || scheme == "nbds+vsock") {
      return fail(error, concat("NBD over vsock (", scheme, "://) is not supported: use ", kForm));
    }
    return fail(error,
                concat("unknown URI scheme '", text.substr(0, colon), "' (expected ", kForm, ")"));
  }
  std::string_view rest = text.substr(colon + 1);
  if (rest.substr(0, 2) != "//") {
    return fail(error, concat("expected '//' after 'nbd+unix:' (the form is ", kForm, ")"));
  }
  rest.remove_prefix(2);
  if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
    return fail(error, concat("NBD URIs take no fragment ('", rest.substr(hash), "')"));
  }

  const std::size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  if (!authority.empty()) {
    return fail(error, concat("nbd+unix URIs take no host, port or user (got '", authority,
                              "'); the form is ", kForm));
  }
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);

  const std::size_t question = rest.find('?');
  std::string_view path = rest.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : rest.substr(question + 1);

  NbdUri uri;
  if (!path.empty()) {
    path.remove_prefix(1);  // the '/' before the export name
    if (!decode(path, "export name", &uri.export_name, error)) return false;
    if (uri.export_name.size() > kMaxStringLength) {
      return fail(error,
                  concat("the export name is ", std::to_string(uri.export_name.size()),
                         " bytes long; NBD allows at most ", std::to_string(kMaxStringLength)));
    }
  }

  bool have_socket = false;
  std::string_view params = query;
  while (!params.empty()) {
    const std::size_t amp = params.find('&');
    const std::string_view param = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
    if (param.empty()) continue;  // "?&socket=..." or a trailing '&'
    const std::size_t eq = param.find('=');
    const std::string_view name = param.substr(0, eq);
    if (name != "socket") {
      return fail(error, concat("unknown query parameter '", name,
                                "' (nbd+unix URIs take only socket=PATH)"));
    }
    if (have_socket) return fail(error, "socket= is given twice");
    if (eq == std::string_view::npos)
      return fail(error, "socket has no value (expected socket=PATH)");
    if (!decode(param.substr(eq + 1), "socket path", &uri.socket_path, error)) return false;
    have_socket = true;
  }
  if (!have_socket) {
    return fail(error, concat("missing ?socket=PATH (the form is ", kForm, ")"));
  }
  if (uri.socket_path.empty()) return fail(error, "socket= is empty (expected socket=PATH)");
  if (uri.socket_path.size() > kMaxSocketPath) {
    return fail(error, concat("the socket path is ", std::to_string(uri.socket_path.size()),
                              " bytes long; at most ", std::to_string(kMaxSocketPath),
                              " fit in a UNIX socket address"));
  }
  *out = std::move(uri);
  return true;
}

std::string NbdUri::to_string() const {
  std::string out = "nbd+unix:///";
  encode(export_name, &out);
  out += "?socket=";
  encode(socket_path, &out);
  return out;
}

}  // namespace nbd
