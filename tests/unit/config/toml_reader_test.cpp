// White-box tests of the TOML subset reader (config/src/toml_reader.hpp).
#include "toml_reader.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace config::detail {
namespace {

std::map<std::string, TomlReader::Key> test_keys() {
  std::map<std::string, TomlReader::Key> keys;
  keys["socket"] = {};
  keys["socket-mode"] = {};
  keys["max-inflight"] = {};
  keys["flag"] = {};
  keys["export"] = TomlReader::Key{true, {}, " "};
  keys["checked"] = TomlReader::Key{false, [](const std::string& v) { return v == "bad" ? std::string("is bad") : ""; }};
  keys["checked-list"] =
      TomlReader::Key{true, [](const std::string& v) { return v == "bad" ? std::string("'bad': is bad") : ""; }, " "};
  return keys;
}

std::vector<CLI::ConfigItem> parse(const std::string& text, std::shared_ptr<TomlTrace> trace = nullptr) {
  TomlReader reader(test_keys(), nullptr, std::move(trace));
  return reader.parse(text);
}

// Returns "line N: problem" of the error parsing `text` throws.
std::string error(const std::string& text) {
  try {
    parse(text);
  } catch (const TomlError& e) {
    return "line " + std::to_string(e.line()) + ": " + e.problem();
  }
  ADD_FAILURE() << "no error for: " << text;
  return {};
}

using Inputs = std::vector<std::string>;

TEST(TomlReader, ScalarsAndStrings) {
  auto items = parse(
      "socket = \"/run/a b/c.sock\"\n"
      "socket-mode = '0660'\n"
      "max-inflight = 1_024\n"
      "flag = true\n");
  ASSERT_EQ(items.size(), 4U);
  EXPECT_EQ(items[0].name, "socket");
  EXPECT_TRUE(items[0].parents.empty());
  EXPECT_EQ(items[0].inputs, Inputs{"/run/a b/c.sock"});
  EXPECT_EQ(items[1].inputs, Inputs{"0660"});
  EXPECT_EQ(items[2].inputs, Inputs{"1024"});
  EXPECT_EQ(items[3].inputs, Inputs{"true"});
}

TEST(TomlReader, BareNumbersPassAsText) {
  EXPECT_EQ(parse("socket-mode = 0o640\n")[0].inputs, Inputs{"0o640"});
  EXPECT_EQ(parse("socket-mode = 0660\n")[0].inputs, Inputs{"0660"});  // lenient: leading zero kept
  EXPECT_EQ(parse("max-inflight = +5\n")[0].inputs, Inputs{"+5"});
  EXPECT_EQ(parse("max-inflight = 10s\n")[0].inputs, Inputs{"10s"});
  EXPECT_EQ(parse("max-inflight = 1_000_000")[0].inputs, Inputs{"1000000"});
}

TEST(TomlReader, BasicStringEscapes) {
  EXPECT_EQ(parse(R"(socket = "a\"b\\c\td\n")")[0].inputs, Inputs{"a\"b\\c\td\n"});
  EXPECT_EQ(parse(R"(socket = "\u00e9\U0001F600")")[0].inputs, Inputs{"\xC3\xA9\xF0\x9F\x98\x80"});
  EXPECT_EQ(parse(R"(socket = "\b\f\r")")[0].inputs, Inputs{"\b\f\r"});
  // Literal strings keep backslashes.
  EXPECT_EQ(parse(R"(socket = 'a\,b\\c')")[0].inputs, Inputs{R"(a\,b\\c)"});
  // So "\\," in a basic string is the SPEC escape "\,".
  EXPECT_EQ(parse(R"(export = "name=d,description=a\\, b")")[0].inputs, Inputs{R"(name=d,description=a\, b)"});
  EXPECT_EQ(parse("socket = \"\"")[0].inputs, Inputs{""});
}

TEST(TomlReader, HashInsideStringsIsNotAComment) {
  auto items = parse("socket = \"/a#b\" # a comment with \"quotes\"\nsocket-mode = '#'\n");
  EXPECT_EQ(items[0].inputs, Inputs{"/a#b"});
  EXPECT_EQ(items[1].inputs, Inputs{"#"});
}

TEST(TomlReader, ArraysOverLinesWithCommentsAndTrailingComma) {
  auto items = parse(
      "export = [\n"
      "  # first\n"
      "  \"name=a,file=/a\",   # trailing comment, with a comma\n"
      "\n"
      "  'name=b,file=/b' ,\n"
      "]\n"
      "socket = \"/s\"\n");
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].name, "export");
  EXPECT_EQ(items[0].inputs, (Inputs{"name=a,file=/a", "name=b,file=/b"}));
  EXPECT_EQ(items[1].inputs, Inputs{"/s"});
  EXPECT_EQ(parse("export = [\"x\"]")[0].inputs, Inputs{"x"});
  EXPECT_EQ(parse("export = [ \"x\",\"y\" ]")[0].inputs, (Inputs{"x", "y"}));
  // One string for an array key is an array of one.
  EXPECT_EQ(parse("export = \"name=a,file=/a\"")[0].inputs, Inputs{"name=a,file=/a"});
  // An empty array sets nothing.
  EXPECT_TRUE(parse("export = []\n").empty());
  EXPECT_TRUE(parse("export = [\n # none\n]\n").empty());
}

TEST(TomlReader, BlankLinesCommentsCrlfBomQuotedKeys) {
  auto items = parse("\xEF\xBB\xBF# header\r\n\r\n   \t\r\nsocket = \"/s\"\r\n\"socket-mode\" = \"0600\"\r\n");
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].inputs, Inputs{"/s"});
  EXPECT_EQ(items[1].name, "socket-mode");
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("# only a comment").empty());
  EXPECT_EQ(parse("socket=\"/s\"")[0].inputs, Inputs{"/s"});  // no spaces, no final newline
}

TEST(TomlReader, TraceRecordsLines) {
  auto trace = std::make_shared<TomlTrace>();
  parse("# c\nsocket = \"/s\"\nexport = [\n  \"a\",\n  \"b\"\n]\n", trace);
  EXPECT_TRUE(trace->file_read);
  EXPECT_EQ(trace->key_line.at("socket"), 2);
  EXPECT_EQ(trace->key_line.at("export"), 3);
  const auto& ex = trace->value_lines.at("export");
  ASSERT_EQ(ex.size(), 2U);
  EXPECT_EQ(ex[0], (std::pair<std::string, int>{"a", 4}));
  EXPECT_EQ(ex[1], (std::pair<std::string, int>{"b", 5}));
  EXPECT_TRUE(trace->set_on_command_line.empty());  // no app given
}

TEST(TomlReader, TraceUntouchedOnError) {
  auto trace = std::make_shared<TomlTrace>();
  EXPECT_THROW(parse("socket = \"/s\"\nnope = 1\n", trace), TomlError);
  EXPECT_FALSE(trace->file_read);
  EXPECT_TRUE(trace->key_line.empty());
}

TEST(TomlReader, KeyErrors) {
  EXPECT_EQ(error("socket = \"/s\"\nsockt = \"/s\"\n"), "line 2: unknown key 'sockt'");
  EXPECT_EQ(error("socket_mode = \"0660\""), "line 1: unknown key 'socket_mode' (did you mean 'socket-mode'?)");
  EXPECT_EQ(error("Socket = \"/s\""), "line 1: unknown key 'Socket' (did you mean 'socket'?)");
  EXPECT_EQ(error("--socket = \"/s\""), "line 1: unknown key '--socket' (did you mean 'socket'?)");
  EXPECT_EQ(error("socket = \"/a\"\n\nsocket = \"/b\""), "line 3: key 'socket' is already set on line 1");
  EXPECT_EQ(error("[server]\nsocket = \"/s\""), "line 1: tables ([...]) are not supported; corobd's keys are all top-level");
  EXPECT_EQ(error("[[export]]"), "line 1: tables ([...]) are not supported; corobd's keys are all top-level");
  EXPECT_EQ(error("server.socket = \"/s\""), "line 1: dotted keys are not supported; corobd's keys are all top-level");
  EXPECT_EQ(error("socket \"/s\""), "line 1: expected '=' after key 'socket'");
  EXPECT_EQ(error("= \"/s\""), "line 1: expected a key, found '='");
}

TEST(TomlReader, ValueErrors) {
  EXPECT_EQ(error("socket = /run/x.sock # c"), "line 1: '/run/x.sock' must be quoted (strings are written \"...\" or '...')");
  EXPECT_EQ(error("socket = run"), "line 1: 'run' must be quoted (strings are written \"...\" or '...')");
  EXPECT_EQ(error("socket ="), "line 1: missing value");
  EXPECT_EQ(error("socket = # nothing"), "line 1: missing value");
  EXPECT_EQ(error("socket = \"/s\" extra"), "line 1: unexpected text after the value (a value ends the line; quote strings)");
  EXPECT_EQ(error("socket = \"/s\"\"/t\""), "line 1: unexpected text after the value (a value ends the line; quote strings)");
  EXPECT_EQ(error("socket = \"/s"), "line 1: string is not closed");
  EXPECT_EQ(error("socket = \"/s\nsocket-mode = 1"), "line 1: string is not closed");
  EXPECT_EQ(error("socket = '/s"), "line 1: string is not closed");
  EXPECT_EQ(error("socket = \"\"\"/s\"\"\""), "line 1: multi-line strings are not supported");
  EXPECT_EQ(error("socket = '''/s'''"), "line 1: multi-line strings are not supported");
  EXPECT_EQ(error(R"(socket = "a\,b")"),
            R"(line 1: unknown escape '\,' in a "..." string (write a backslash as \\, or use a '...' string))");
  EXPECT_EQ(error(R"(socket = "\u12")"), R"(line 1: bad \u escape)");
  EXPECT_EQ(error(R"(socket = "\uD800")"), R"(line 1: bad \u escape)");
  EXPECT_EQ(error(R"(socket = "\U00110000")"), R"(line 1: bad \U escape)");
  EXPECT_EQ(error("socket = \"a\x01\""), "line 1: control character in a string (use an escape)");
  EXPECT_EQ(error("socket = {path = \"/s\"}"), "line 1: inline tables are not supported");
  EXPECT_EQ(error("socket = [\"/s\"]"), "line 1: 'socket' takes one value, not an array");
  EXPECT_EQ(error("export = [[\"a\"]]"), "line 1: nested arrays are not supported");
  EXPECT_EQ(error("export = [\"a\" \"b\"]"), "line 1: expected ',' or ']' in array");
  EXPECT_EQ(error("export = [\"a\",,]"), "line 1: unexpected character ',' (quote strings)");
  EXPECT_EQ(error("\n\nexport = [\n\"a\",\n"), "line 3: array is not closed with ']'");
  EXPECT_EQ(error("export = [\n\"a\"\n"), "line 1: array is not closed with ']'");
  EXPECT_EQ(error("# x\x01y\n"), "line 1: control character in a comment");
}

TEST(TomlReader, ValueChecksReportTheElementsLine) {
  EXPECT_EQ(error("checked = \"bad\""), "line 1: checked: is bad");
  EXPECT_EQ(error("checked-list = [\n \"ok\",\n \"bad\",\n]"), "line 3: checked-list 'bad': is bad");
  EXPECT_EQ(parse("checked = \"fine\"")[0].inputs, Inputs{"fine"});
}

TEST(TomlReader, ThrowsFromFromConfig) {
  TomlReader reader(test_keys(), nullptr, nullptr);
  std::istringstream in("nope = 1\n");
  EXPECT_THROW(reader.from_config(in), CLI::ConfigError);
  std::istringstream good("socket = \"/s\"\n");
  EXPECT_EQ(reader.from_config(good).size(), 1U);
}

}  // namespace
}  // namespace config::detail
