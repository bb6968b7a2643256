#include "toml_reader.hpp"

#include <cctype>
#include <iterator>
#include <sstream>

namespace config::detail {
namespace {

struct Scalar {
  std::string text;
  int line;
};

struct Value {
  bool is_array = false;
  std::vector<Scalar> items;  // one for a scalar
};

bool is_bare_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

bool is_bare_value_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '+' || c == '.' ||
         c == ':';
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {
    if (s_.compare(0, 3, "\xEF\xBB\xBF") == 0) i_ = 3;
  }

  bool eof() const { return i_ >= s_.size(); }
  char peek(std::size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }
  int line() const { return line_; }

  [[noreturn]] void fail(const std::string& problem) const { throw TomlError(line_, problem); }
  [[noreturn]] static void fail_at(int line, const std::string& problem) { throw TomlError(line, problem); }

  void skip_blanks() {
    while (!eof() && (peek() == ' ' || peek() == '\t' || (peek() == '\r' && peek(1) == '\n'))) ++i_;
  }
  void skip_comment() {
    if (peek() != '#') return;
    while (!eof() && peek() != '\n') {
      const auto c = static_cast<unsigned char>(peek());
      if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) fail("control character in a comment");
      ++i_;
    }
  }
  // Blanks, newlines and comments, as allowed between array elements.
  void skip_space_in_array() {
    for (;;) {
      skip_blanks();
      skip_comment();
      if (peek() == '\n') {
        ++i_;
        ++line_;
      } else {
        return;
      }
    }
  }
  // The rest of a line after a value: blanks, an optional comment, then the end.
  void end_of_line(const char* after) {
    skip_blanks();
    skip_comment();
    if (eof()) return;
    if (peek() != '\n') fail(std::string("unexpected text after ") + after + " (a value ends the line; quote strings)");
    ++i_;
    ++line_;
  }

  void after_equals() {
    ++i_;
    skip_blanks();
  }

  std::string key() {
    if (peek() == '"' || peek() == '\'') return quoted_string();
    std::string k;
    while (!eof() && is_bare_key_char(peek())) k.push_back(s_[i_++]);
    if (k.empty()) fail(std::string("expected a key, found '") + peek() + "'");
    return k;
  }

  Value value() {
    Value v;
    if (peek() == '[') {
      v.is_array = true;
      const int open_line = line_;
      ++i_;
      for (;;) {
        skip_space_in_array();
        if (eof()) fail_at(open_line, "array is not closed with ']'");
        if (peek() == ']') {
          ++i_;
          return v;
        }
        if (peek() == '[') fail("nested arrays are not supported");
        v.items.push_back(scalar());
        skip_space_in_array();
        if (eof()) fail_at(open_line, "array is not closed with ']'");
        if (peek() == ',') {
          ++i_;
        } else if (peek() != ']') {
          fail("expected ',' or ']' in array");
        }
      }
    }
    v.items.push_back(scalar());
    return v;
  }

 private:
  Scalar scalar() {
    const int at = line_;
    const char c = peek();
    if (c == '"' || c == '\'') return {quoted_string(), at};
    if (c == '{') fail("inline tables are not supported");
    if (eof() || c == '\n' || c == '#') fail("missing value");
    std::string tok;
    while (!eof() && is_bare_value_char(peek())) tok.push_back(s_[i_++]);
    if (tok == "true" || tok == "false") return {tok, at};
    const char first = tok.empty() ? c : tok[0];
    if (!(std::isdigit(static_cast<unsigned char>(first)) != 0 || first == '+' || first == '-')) {
      // An unquoted string: show it whole.
      while (!eof() && peek() != '\n' && peek() != '#' && peek() != ',' && peek() != ']') tok.push_back(s_[i_++]);
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t' || tok.back() == '\r')) tok.pop_back();
      if (tok.empty()) fail(std::string("unexpected character '") + c + "' (quote strings)");
      fail("'" + tok + "' must be quoted (strings are written \"...\" or '...')");
    }
    std::string num;
    for (std::size_t k = 0; k < tok.size(); ++k) {
      if (tok[k] == '_' && k > 0 && k + 1 < tok.size() && std::isdigit(static_cast<unsigned char>(tok[k - 1])) &&
          std::isdigit(static_cast<unsigned char>(tok[k + 1]))) {
        continue;
      }
      num.push_back(tok[k]);
    }
    return {num, at};
  }

  std::string quoted_string() {
    const char q = s_[i_];
    if (peek(1) == q && peek(2) == q) fail("multi-line strings are not supported");
    ++i_;
    std::string out;
    for (;;) {
      if (eof() || peek() == '\n') fail("string is not closed");
      const char c = s_[i_++];
      if (c == q) return out;
      const auto uc = static_cast<unsigned char>(c);
      if ((uc < 0x20 && c != '\t') || uc == 0x7f) fail("control character in a string (use an escape)");
      if (c != '\\' || q == '\'') {
        out.push_back(c);
        continue;
      }
      if (eof()) fail("string is not closed");
      const char e = s_[i_++];
      switch (e) {
        case 'b': out.push_back('\b'); break;
        case 't': out.push_back('\t'); break;
        case 'n': out.push_back('\n'); break;
        case 'f': out.push_back('\f'); break;
        case 'r': out.push_back('\r'); break;
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case 'u':
        case 'U': {
          const std::size_t n = e == 'u' ? 4 : 8;
          std::uint32_t cp = 0;
          for (std::size_t k = 0; k < n; ++k) {
            const char h = peek();
            if (std::isxdigit(static_cast<unsigned char>(h)) == 0) fail(std::string("bad \\") + e + " escape");
            cp = cp * 16 + static_cast<std::uint32_t>(std::isdigit(static_cast<unsigned char>(h)) != 0
                                                          ? h - '0'
                                                          : (std::tolower(static_cast<unsigned char>(h)) - 'a' + 10));
            ++i_;
          }
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail(std::string("bad \\") + e + " escape");
          append_utf8(out, cp);
          break;
        }
        default:
          fail(std::string("unknown escape '\\") + e +
               "' in a \"...\" string (write a backslash as \\\\, or use a '...' string)");
      }
    }
  }

  const std::string& s_;
  std::size_t i_ = 0;
  int line_ = 1;
};

std::string suggestion(const std::string& key, const std::map<std::string, TomlReader::Key>& keys) {
  std::string k = key;
  for (char& c : k) {
    c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (k.size() > 2 && k.compare(0, 2, "--") == 0) k.erase(0, 2);
  if (k != key && keys.count(k) != 0) return " (did you mean '" + k + "'?)";
  return {};
}

}  // namespace

std::vector<CLI::ConfigItem> TomlReader::parse(const std::string& text) const {
  Parser p(text);
  std::vector<CLI::ConfigItem> items;
  std::map<std::string, int> seen;
  TomlTrace trace;
  while (!p.eof()) {
    p.skip_blanks();
    if (p.eof()) break;
    const char c = p.peek();
    if (c == '#' || c == '\n') {
      p.end_of_line("a comment");
      continue;
    }
    if (c == '[') {
      p.fail("tables ([...]) are not supported; corobd's keys are all top-level");
    }
    const int line = p.line();
    const std::string key = p.key();
    p.skip_blanks();
    if (p.peek() == '.') p.fail("dotted keys are not supported; corobd's keys are all top-level");
    if (p.peek() != '=') p.fail("expected '=' after key '" + key + "'");
    auto known = keys_.find(key);
    if (known == keys_.end()) p.fail("unknown key '" + key + "'" + suggestion(key, keys_));
    if (auto dup = seen.find(key); dup != seen.end()) {
      p.fail("key '" + key + "' is already set on line " + std::to_string(dup->second));
    }
    seen.emplace(key, line);
    p.after_equals();
    Value v = p.value();
    p.end_of_line("the value");
    if (v.is_array && !known->second.array) {
      Parser::fail_at(line, "'" + key + "' takes one value, not an array");
    }
    trace.key_line[key] = line;
    auto& lines = trace.value_lines[key];
    CLI::ConfigItem item;
    item.name = key;
    for (Scalar& s : v.items) {
      if (known->second.check) {
        if (std::string problem = known->second.check(s.text); !problem.empty()) {
          Parser::fail_at(s.line, key + known->second.separator + problem);
        }
      }
      lines.emplace_back(s.text, s.line);
      item.inputs.push_back(std::move(s.text));
    }
    if (!item.inputs.empty()) items.push_back(std::move(item));
  }
  if (trace_) {
    if (app_ != nullptr) {
      for (const auto& [key, info] : keys_) {
        const CLI::Option* opt = app_->get_option_no_throw("--" + key);
        if (opt != nullptr && opt->count() > 0) trace.set_on_command_line.insert(key);
      }
    }
    trace.file_read = true;
    *trace_ = std::move(trace);
  }
  return items;
}

std::vector<CLI::ConfigItem> TomlReader::from_config(std::istream& input) const {
  std::string text{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  if (input.bad()) throw CLI::FileError("read error");
  return parse(text);
}

std::string TomlReader::to_config(const CLI::App* app, bool default_also, bool write_description,
                                  std::string prefix) const {
  return CLI::ConfigTOML().to_config(app, default_also, write_description, std::move(prefix));
}

}  // namespace config::detail
