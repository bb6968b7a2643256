// Checks of the file system and the group database that parse_config() makes
// after parsing (ParseOptions::check_files / check_socket). They look, never
// touch: nothing is created, modified or left open.
//
// Each returns the problem as "KEY: text" for an export (KEY is the SPEC
// key, e.g. "file: '/srv/d.img' does not exist") or as plain text for the
// socket options, or an empty string when all is well. Any thread.
#pragma once

#include <sys/types.h>

#include <string>

#include "config/export_spec.hpp"
#include "config/values.hpp"

namespace config::detail {

// A raw export's file: exists (or, with create=on, can be created), is a
// regular file or block device, and opens read-only or read-write as needed.
std::string check_export_file(const ExportSpec& e);

// The socket's directory exists; the path, if it exists, is a socket.
std::string check_socket_path(const std::string& path);

// A group name or number.
Parsed<gid_t> resolve_group(const std::string& group);

}  // namespace config::detail
