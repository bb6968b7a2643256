// corobd-load's command line: defaults, suffixes, and every bad argument
// giving exit status 2 with one line naming the option.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "loadgen/exit_status.hpp"
#include "loadgen/options.hpp"

namespace loadgen {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

const char* const kUri = "nbd+unix:///disk?socket=/tmp/x.sock";

ParsedOptions parse(std::vector<std::string> args, bool with_uri = true) {
  std::vector<std::string> all{"corobd-load"};
  if (with_uri) {
    all.push_back("--uri");
    all.push_back(kUri);
  }
  all.insert(all.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const std::string& a : all) argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(OptionsTest, Defaults) {
  const ParsedOptions p = parse({});
  ASSERT_EQ(p.exit_code, -1) << p.output;
  const Options& o = p.options;
  EXPECT_EQ(o.uri, kUri);
  EXPECT_EQ(o.nbd_uri.export_name, "disk");
  EXPECT_EQ(o.nbd_uri.socket_path, "/tmp/x.sock");
  EXPECT_EQ(o.pattern, Pattern::kRandRead);
  EXPECT_EQ(o.read_percent, 50u);
  EXPECT_EQ(o.block_size, 4096u);
  EXPECT_EQ(o.queue_depth, 32u);
  EXPECT_EQ(o.connections, 1u);
  EXPECT_EQ(o.runtime, 10s);
  EXPECT_FALSE(o.ops.has_value());
  EXPECT_EQ(o.warmup, 1s);
  EXPECT_EQ(o.offset, 0u);
  EXPECT_FALSE(o.range.has_value());
  EXPECT_EQ(o.rate, 0u);
  EXPECT_EQ(o.flush_every, 0u);
  EXPECT_FALSE(o.fua);
  EXPECT_FALSE(o.verify);
  EXPECT_TRUE(o.resume.empty());
  EXPECT_EQ(o.seed, 1u);
  EXPECT_FALSE(o.seed_given);
  EXPECT_FALSE(o.json);
  EXPECT_EQ(o.progress, ProgressMode::kAuto);
}

TEST(OptionsTest, EverythingWithSuffixes) {
  const ParsedOptions p =
      parse({"--rw", "randrw", "--mix", "70", "--bs", "64k", "--qd", "8", "--conns", "4",
             "--runtime", "2m", "--warmup", "500ms", "--offset", "1M", "--range", "1G", "--rate",
             "20k", "--flush-every", "100", "--fua", "--verify", "--resume", "/tmp/state",
             "--seed", "12345", "--json", "--progress", "never"});
  ASSERT_EQ(p.exit_code, -1) << p.output;
  const Options& o = p.options;
  EXPECT_EQ(o.pattern, Pattern::kRandReadWrite);
  EXPECT_EQ(o.read_percent, 70u);
  EXPECT_EQ(o.block_size, 65536u);
  EXPECT_EQ(o.queue_depth, 8u);
  EXPECT_EQ(o.connections, 4u);
  EXPECT_EQ(o.runtime, 120s);
  EXPECT_EQ(o.warmup, 500ms);
  EXPECT_EQ(o.offset, 1u << 20);
  EXPECT_EQ(*o.range, 1u << 30);
  EXPECT_EQ(o.rate, 20000u);
  EXPECT_EQ(o.flush_every, 100u);
  EXPECT_TRUE(o.fua);
  EXPECT_TRUE(o.verify);
  EXPECT_EQ(o.resume, "/tmp/state");
  EXPECT_EQ(o.seed, 12345u);
  EXPECT_TRUE(o.seed_given);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.progress, ProgressMode::kNever);
}

TEST(OptionsTest, OpsReplacesRuntimeAndDropsTheDefaultWarmup) {
  ParsedOptions p = parse({"--ops", "1000"});
  ASSERT_EQ(p.exit_code, -1) << p.output;
  EXPECT_EQ(*p.options.ops, 1000u);
  EXPECT_EQ(p.options.warmup, 0ms);
  p = parse({"--ops", "0", "--warmup", "2s"});
  ASSERT_EQ(p.exit_code, -1) << p.output;
  EXPECT_EQ(*p.options.ops, 0u);
  EXPECT_EQ(p.options.warmup, 2s);
}

TEST(OptionsTest, ZeroWarmupAndOffset) {
  for (const char* zero : {"0", "0s", "0ms", "00"}) {
    const ParsedOptions p = parse({"--warmup", zero, "--offset", "0"});
    ASSERT_EQ(p.exit_code, -1) << zero << ": " << p.output;
    EXPECT_EQ(p.options.warmup, 0ms);
    EXPECT_EQ(p.options.offset, 0u);
  }
}

TEST(OptionsTest, EveryPattern) {
  const std::pair<const char*, Pattern> patterns[] = {
      {"read", Pattern::kRead},     {"write", Pattern::kWrite},
      {"randread", Pattern::kRandRead}, {"randwrite", Pattern::kRandWrite},
      {"rw", Pattern::kReadWrite},  {"randrw", Pattern::kRandReadWrite}};
  for (const auto& [text, pattern] : patterns) {
    const ParsedOptions p = parse({"--rw", text});
    ASSERT_EQ(p.exit_code, -1) << text;
    EXPECT_EQ(p.options.pattern, pattern);
  }
}

TEST(OptionsTest, EqualsSyntaxAndRateSuffixes) {
  ParsedOptions p = parse({"--bs=512", "--rate=2M", "--progress=always"});
  ASSERT_EQ(p.exit_code, -1) << p.output;
  EXPECT_EQ(p.options.block_size, 512u);
  EXPECT_EQ(p.options.rate, 2000000u);
  EXPECT_EQ(p.options.progress, ProgressMode::kAlways);
  p = parse({"--rate", "1500"});
  EXPECT_EQ(p.options.rate, 1500u);
}

TEST(OptionsTest, HelpAndVersionExitZero) {
  ParsedOptions p = parse({"--help"}, false);
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_THAT(p.output, HasSubstr("--uri"));
  EXPECT_THAT(p.output, HasSubstr("--flush-every"));
  EXPECT_THAT(p.output, HasSubstr("--resume"));
  p = parse({"--version"}, false);
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_THAT(p.output, StartsWith("corobd-load "));
}

struct BadCase {
  std::vector<std::string> args;
  const char* mentions;  // the option (or problem) the message must name
  bool with_uri = true;
};

class BadArgumentTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadArgumentTest, ExitsTwoWithOneLine) {
  const BadCase& c = GetParam();
  const ParsedOptions p = parse(c.args, c.with_uri);
  EXPECT_EQ(p.exit_code, kExitBadArguments);
  EXPECT_THAT(p.output, StartsWith("corobd-load: "));
  EXPECT_EQ(p.output.find('\n'), std::string::npos) << p.output;
  EXPECT_THAT(p.output, HasSubstr(c.mentions));
}

const BadCase kBadCases[] = {
    {{}, "--uri", false},
    {{"--uri", "nbd://host/disk"}, "--uri", false},
    {{"--uri", "nbd+unix:///disk"}, "--uri", false},
    {{"--bogus"}, "--bogus"},
    {{"--rw", "randomread"}, "--rw"},
    {{"--mix", "70"}, "--mix"},  // with the default randread
    {{"--rw", "randrw", "--mix", "101"}, "--mix"},
    {{"--rw", "rw", "--mix", "half"}, "--mix"},
    {{"--bs", "4q"}, "--bs"},
    {{"--bs", "0"}, "--bs"},
    {{"--bs", "-4k"}, "--bs"},
    {{"--bs", "64M"}, "--bs"},
    {{"--qd", "0"}, "--qd"},
    {{"--qd", "5000"}, "--qd"},
    {{"--qd", "x"}, "--qd"},
    {{"--conns", "0"}, "--conns"},
    {{"--conns", "1000"}, "--conns"},
    {{"--runtime", "10x"}, "--runtime"},
    {{"--runtime", "0"}, "--runtime"},
    {{"--runtime", "25h"}, "--runtime"},
    {{"--runtime", "5s", "--ops", "10"}, "--runtime"},
    {{"--ops", "-1"}, "--ops"},
    {{"--ops", "1e6"}, "--ops"},
    {{"--warmup", "soon"}, "--warmup"},
    {{"--offset", "1.5G"}, "--offset"},
    {{"--range", "0"}, "--range"},
    {{"--range", "1k"}, "--range"},  // smaller than --bs 4k
    {{"--rate", "0"}, "--rate"},
    {{"--rate", "fast"}, "--rate"},
    {{"--rate", "1000M"}, "--rate"},
    {{"--rw", "write", "--flush-every", "0"}, "--flush-every"},
    {{"--flush-every", "10"}, "--flush-every"},  // randread does not write
    {{"--fua"}, "--fua"},
    {{"--resume", "/tmp/state"}, "--resume"},
    {{"--verify", "--bs", "32"}, "--bs"},
    {{"--seed", "abc"}, "--seed"},
    {{"--seed", "18446744073709551616"}, "--seed"},
    {{"--progress", "sometimes"}, "--progress"},
    {{"--bs"}, "--bs"},
    {{"extra"}, "extra"},
};

INSTANTIATE_TEST_SUITE_P(Options, BadArgumentTest, ::testing::ValuesIn(kBadCases));

}  // namespace
}  // namespace loadgen
