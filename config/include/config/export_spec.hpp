// ExportSpec: one export as given by `--export SPEC` or an element of the
// config file's `export` array, and the strict parser of SPEC strings.
//
//   SPEC = name=NAME,file=PATH[,format=raw|null][,size=BYTES|1G][,readonly=on|off]
//          [,cache=writeback|none|unsafe][,create=on|off][,description=TEXT][,default=on|off]
//
// Contract
// - parse_export_spec() is pure (no file-system access) and never throws. It
//   rejects: an empty SPEC; an empty item (a stray comma); an item without
//   '='; an unknown key; a key given twice; an empty value (except for
//   description); a bad value; a missing name; for format=raw a missing file,
//   size without create=on, create=on without size; for format=null a file,
//   a create key, a missing size; a name or description over 4096 bytes or
//   with control characters. The error starts with the export's quoted name
//   (or, before the name is known, the quoted SPEC) and then the key:
//   "'disk': size: 'x' is not a size (...)"; the caller prefixes the option.
// - Escaping: a comma that belongs to a value is written "\,", a backslash
//   "\\" (in any value: description, file, name). A backslash before any
//   other character is an error, so no text is ever silently changed. On a
//   shell command line quote the whole SPEC: --export 'name=d,description=a\, b'.
// - Semantics the daemon implements (documented here, checked elsewhere):
//   format=raw serves `file`; create=on creates it as a sparse file of `size`
//   bytes if it is missing (an existing file keeps its own size); size is
//   only allowed with create=on. format=null serves `size` bytes of zeroes
//   and discards writes; it needs size and takes no file. cache=writeback
//   uses the page cache, none opens with O_DIRECT, unsafe ignores flushes.
//   The default export (default=on, else the first) is the one a client gets
//   when it asks for the empty export name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/values.hpp"

namespace config {

enum class ExportFormat { raw, null };
enum class CacheMode { writeback, none, unsafe };

struct ExportSpec {
  std::string name;
  std::string file;                   // empty for format=null
  ExportFormat format = ExportFormat::raw;
  std::optional<std::uint64_t> size;  // bytes; set for null, and for raw with create=on
  bool readonly = false;
  CacheMode cache = CacheMode::writeback;
  bool create = false;
  std::string description;            // empty: none
  bool is_default = false;            // default=on was given
  // Where it came from, for messages: "--export" or "FILE:LINE".
  std::string origin = "--export";

  bool operator==(const ExportSpec&) const = default;
};

// NBD's limit on names and descriptions (NBD_MAX_STRING).
inline constexpr std::size_t kMaxExportString = 4096;

Parsed<ExportSpec> parse_export_spec(std::string_view spec);

std::string_view to_string(ExportFormat format);
std::string_view to_string(CacheMode cache);

}  // namespace config
