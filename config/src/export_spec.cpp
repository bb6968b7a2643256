#include "config/export_spec.hpp"

#include <array>
#include <utility>
#include <vector>

namespace config {
namespace {

struct Item {
  std::string key;
  std::string value;
};

// The keys a SPEC may contain, in the order --help lists them.
constexpr std::array<std::string_view, 9> kKeys = {
    "name", "file", "format", "size", "readonly", "cache", "create", "description", "default"};

bool known_key(std::string_view key) {
  for (std::string_view k : kKeys) {
    if (k == key) return true;
  }
  return false;
}

// Built by append: g++ 12 warns falsely (-Wrestrict, PR 105651) about "'" + s + "'".
std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

// Splits "k=v,k=v" at unescaped commas and unescapes "\," and "\\".
Parsed<std::vector<Item>> split_items(std::string_view spec) {
  using R = Parsed<std::vector<Item>>;
  std::vector<Item> items;
  std::string current;
  bool escaped_in_key = false;
  std::size_t key_end = std::string::npos;  // position of the first unescaped '=' in current
  auto finish = [&]() -> std::string {
    if (current.empty()) return "empty item (stray comma?)";
    if (key_end == std::string::npos) return quoted(current) + " is not KEY=VALUE";
    std::string key = current.substr(0, key_end);
    if (escaped_in_key) return "key " + quoted(key) + " contains an escape";
    items.push_back({std::move(key), current.substr(key_end + 1)});
    current.clear();
    key_end = std::string::npos;
    escaped_in_key = false;
    return {};
  };
  if (spec.empty()) return R::fail("empty (expected name=NAME,file=PATH[,...])");
  for (std::size_t i = 0; i < spec.size(); ++i) {
    const char c = spec[i];
    if (c == '\\') {
      if (i + 1 == spec.size() || (spec[i + 1] != ',' && spec[i + 1] != '\\')) {
        return R::fail(R"(bad escape (only "\," and "\\" are escapes; write a backslash as "\\"))");
      }
      if (key_end == std::string::npos) escaped_in_key = true;
      current.push_back(spec[++i]);
    } else if (c == ',') {
      if (std::string err = finish(); !err.empty()) return R::fail(std::move(err));
    } else {
      if (c == '=' && key_end == std::string::npos) key_end = current.size();
      current.push_back(c);
    }
  }
  if (std::string err = finish(); !err.empty()) return R::fail(std::move(err));
  return R::ok(std::move(items));
}

bool has_control_char(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

Parsed<ExportSpec> parse_export_spec(std::string_view spec) {
  using R = Parsed<ExportSpec>;
  auto split = split_items(spec);
  if (!split) return R::fail(quoted(spec) + ": " + split.error);
  const std::vector<Item>& items = *split.value;

  // First pass: keys are known, unique and non-empty; find the name so that
  // every later message can say which export it is about.
  std::string prefix = quoted(spec) + ": ";
  const Item* name_item = nullptr;
  for (const Item& it : items) {
    if (it.key == "name" && name_item == nullptr) name_item = &it;
  }
  if (name_item != nullptr && !name_item->value.empty()) prefix = quoted(name_item->value) + ": ";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item& it = items[i];
    if (!known_key(it.key)) {
      if (it.key.empty()) return R::fail(prefix + "empty key in " + quoted(it.key + "=" + it.value));
      return R::fail(prefix + "unknown key " + quoted(it.key) +
                     " (known: name, file, format, size, readonly, cache, create, description, default)");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (items[j].key == it.key) return R::fail(prefix + it.key + ": given twice");
    }
    if (it.value.empty() && it.key != "description") return R::fail(prefix + it.key + ": empty value");
  }

  ExportSpec out;
  bool have_file = false, have_create = false;
  for (const Item& it : items) {
    const std::string& k = it.key;
    const std::string& v = it.value;
    auto bad = [&](std::string why) { return R::fail(prefix + k + ": " + std::move(why)); };
    if (k == "name") {
      if (v.size() > kMaxExportString) return bad("longer than 4096 bytes");
      if (has_control_char(v)) return bad("contains a control character");
      out.name = v;
    } else if (k == "file") {
      if (has_control_char(v)) return bad("contains a control character");
      out.file = v;
      have_file = true;
    } else if (k == "format") {
      if (v == "raw") {
        out.format = ExportFormat::raw;
      } else if (v == "null") {
        out.format = ExportFormat::null;
      } else {
        return bad(quoted(v) + " is not a format (expected raw or null)");
      }
    } else if (k == "size") {
      auto p = parse_size(v);
      if (!p) return bad(std::move(p.error));
      out.size = *p.value;
    } else if (k == "readonly" || k == "create" || k == "default") {
      auto p = parse_on_off(v);
      if (!p) return bad(std::move(p.error));
      (k == "readonly" ? out.readonly : k == "create" ? out.create : out.is_default) = *p.value;
      if (k == "create") have_create = true;
    } else if (k == "cache") {
      if (v == "writeback") {
        out.cache = CacheMode::writeback;
      } else if (v == "none") {
        out.cache = CacheMode::none;
      } else if (v == "unsafe") {
        out.cache = CacheMode::unsafe;
      } else {
        return bad(quoted(v) + " is not a cache mode (expected writeback, none or unsafe)");
      }
    } else if (k == "description") {
      if (v.size() > kMaxExportString) return bad("longer than 4096 bytes");
      if (has_control_char(v)) return bad("contains a control character");
      out.description = v;
    }
  }

  if (name_item == nullptr) return R::fail(prefix + "name: missing (every export needs name=NAME)");
  if (out.format == ExportFormat::raw) {
    if (!have_file) return R::fail(prefix + "file: missing (format=raw needs file=PATH)");
    if (out.size && !out.create) {
      return R::fail(prefix + "size: only allowed with create=on or format=null (a raw export has its file's size)");
    }
    if (out.create && !out.size) return R::fail(prefix + "size: missing (create=on needs size=BYTES)");
  } else {
    if (have_file) return R::fail(prefix + "file: not allowed with format=null");
    if (have_create) return R::fail(prefix + "create: not allowed with format=null");
    if (!out.size) return R::fail(prefix + "size: missing (format=null needs size=BYTES)");
  }
  return R::ok(std::move(out));
}

std::string_view to_string(ExportFormat format) {
  switch (format) {
    case ExportFormat::raw: return "raw";
    case ExportFormat::null: return "null";
  }
  return "?";
}

std::string_view to_string(CacheMode cache) {
  switch (cache) {
    case CacheMode::writeback: return "writeback";
    case CacheMode::none: return "none";
    case CacheMode::unsafe: return "unsafe";
  }
  return "?";
}

}  // namespace config
