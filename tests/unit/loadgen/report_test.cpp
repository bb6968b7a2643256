// The text and JSON reports, and the progress line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "loadgen/progress_line.hpp"
#include "loadgen/report.hpp"

namespace loadgen {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RunResult sample_result() {
  RunResult r;
  r.info.size = 256u << 20;
  r.info.can_flush = true;
  r.info.multi_conn = true;
  r.range = 256u << 20;
  r.blocks = 65536;
  r.seed = 1;
  r.workload_ran = true;
  r.elapsed_s = 2.0;
  r.cpu_user_s = 0.5;
  r.cpu_system_s = 0.5;
  for (int i = 1; i <= 1000; ++i) r.stats->record(OpType::kRead, 4096, static_cast<std::uint64_t>(i) * 1000);
  for (int i = 1; i <= 500; ++i) r.stats->record(OpType::kWrite, 4096, 200000);
  r.stats->record_error(OpType::kWrite, EIO);
  r.stats->record_error(OpType::kRead, ECONNRESET);
  r.exit_code = 1;
  return r;
}

Options sample_options() {
  Options o;
  o.uri = "nbd+unix:///disk?socket=/run/x \"quoted\"";
  o.pattern = Pattern::kRandReadWrite;
  o.read_percent = 70;
  o.connections = 2;
  o.verify = true;
  return o;
}

TEST(ReportTest, TextLooksLikeFio) {
  const std::string text = format_text_report(sample_options(), sample_result());
  EXPECT_THAT(text, HasSubstr("randrw (70% reads), bs=4096, qd=32, conns=2"));
  EXPECT_THAT(text, HasSubstr("read  : IOPS=500, BW="));
  EXPECT_THAT(text, HasSubstr("write : IOPS=250,"));
  EXPECT_THAT(text, HasSubstr("lat percentiles: p50=502us p90=901us p99=991us p99.9=999us"));
  EXPECT_THAT(text, HasSubstr("errors: 2 (EIO 1, ECONNRESET 1)"));
  EXPECT_THAT(text, HasSubstr("verify: 0 reads checked, 0 mismatches"));
  EXPECT_THAT(text, HasSubstr("cpu   : usr=0.50s sys=0.50s, 667us per request"));
  EXPECT_THAT(text, HasSubstr("exit status 1"));
  EXPECT_THAT(text, Not(HasSubstr("flush :")));
}

TEST(ReportTest, JsonHasEveryDocumentedKey) {
  const std::string json = format_json_report(sample_options(), sample_result());
  for (const char* key :
       {"\"schema\": 1", "\"exit_status\": 1", "\"error\": null", "\"options\": {", "\"uri\"",
        "\"rw\": \"randrw\"", "\"mix\": 70", "\"bs\": 4096", "\"qd\": 32", "\"conns\": 2",
        "\"runtime_ms\": 10000", "\"ops\": null", "\"warmup_ms\": 1000", "\"offset\": 0",
        "\"range\": 268435456", "\"rate\": 0", "\"flush_every\": 0", "\"fua\": false",
        "\"verify\": true", "\"resume\": null", "\"seed\": 1", "\"export\": {", "\"size\": 268435456",
        "\"min_block\"", "\"preferred_block\"", "\"max_payload\"", "\"read_only\": false",
        "\"can_flush\": true", "\"can_fua\": false", "\"multi_conn\": true", "\"elapsed_s\": 2",
        "\"read\": {", "\"write\": {", "\"flush\": {", "\"iops\": 500", "\"bw_bytes_per_s\"",
        "\"lat_ns\": {", "\"p50\": 501759", "\"p90\"", "\"p99\"", "\"p99_9\"", "\"min\": 1000",
        "\"max\": 1000000", "\"avg\": 500500", "\"total\": {", "\"errors\": {", "\"by_errno\": {",
        "\"EIO\": 1", "\"ECONNRESET\": 1", "\"cpu\": {", "\"user_s\": 0.5", "\"system_s\": 0.5",
        "\"ns_per_op\"", "\"verify\": {", "\"enabled\": true", "\"reads_verified\": 0",
        "\"rereads\": 0", "\"mismatches\": 0", "\"resumed\": false", "\"resume_checked\": 0",
        "\"state_file\": null", "\"state_saved\": false", "\"blocks_tracked\": 0", "\"rate\": {",
        "\"target_iops\": 0", "\"late_ops\": 0", "\"connections_lost\": 0",
        "\"interrupted\": false"}) {
    EXPECT_THAT(json, HasSubstr(key)) << key;
  }
  // Strings are escaped.
  EXPECT_THAT(json, HasSubstr("/run/x \\\"quoted\\\""));
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.substr(json.size() - 2), "}\n");
}

TEST(ReportTest, JsonForAnEarlyError) {
  RunResult r;
  r.exit_code = 3;
  r.error = "cannot connect to x: No such file or directory";
  const std::string json = format_json_report(sample_options(), r);
  EXPECT_THAT(json, HasSubstr("\"exit_status\": 3"));
  EXPECT_THAT(json, HasSubstr("\"error\": \"cannot connect to x: No such file or directory\""));
}

TEST(ReportTest, ErrnoNames) {
  EXPECT_EQ(errno_name(EIO), "EIO");
  EXPECT_EQ(errno_name(ENOTCONN), "ENOTCONN");
  EXPECT_EQ(errno_name(0), "other");
}

TEST(ProgressLineTest, Format) {
  ProgressSample s;
  s.elapsed_s = 3.02;
  s.total_s = 11;
  s.iops = 61234;
  s.bytes_per_s = 61234.0 * 4096;
  s.p99_ns = 412000;
  EXPECT_EQ(ProgressLine::format(s), "[3.0s / 11s] 61.2k IOPS  239.2 MiB/s  p99 412us  errors 0");
  s.warming_up = true;
  s.p99_ns = 0;
  s.errors = 3;
  EXPECT_EQ(ProgressLine::format(s), "[3.0s / 11s] warmup 61.2k IOPS  239.2 MiB/s  p99 -  errors 3");
  s.warming_up = false;
  s.ops_total = 100000;
  s.ops_done = 2500;
  EXPECT_THAT(ProgressLine::format(s), ::testing::StartsWith("[2.50k / 100k ops]"));
}

TEST(ProgressLineTest, Modes) {
  // A pipe is not a terminal: auto hides the line, always shows it.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(ProgressLine::should_show(ProgressMode::kAuto, fds[1]));
  EXPECT_TRUE(ProgressLine::should_show(ProgressMode::kAlways, fds[1]));
  EXPECT_FALSE(ProgressLine::should_show(ProgressMode::kNever, fds[1]));
  ProgressLine line(fds[1], true);
  line.update(ProgressSample{});
  line.finish();
  char buf[256] = {};
  const ssize_t n = ::read(fds[0], buf, sizeof buf - 1);
  ASSERT_GT(n, 0);
  const std::string out(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(out.find('\r'), std::string::npos);  // not a terminal: plain lines
  EXPECT_EQ(out.back(), '\n');
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(FormatTest, Units) {
  EXPECT_EQ(format_latency(850), "850ns");
  EXPECT_EQ(format_latency(1500), "1.50us");
  EXPECT_EQ(format_latency(412000), "412us");
  EXPECT_EQ(format_latency(1230000), "1.23ms");
  EXPECT_EQ(format_latency(2100000000), "2.10s");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1500), "1.50k");
  EXPECT_EQ(format_count(1.5e6), "1.50M");
  EXPECT_EQ(format_rate_bytes(1048576), "1.0 MiB/s");
}

}  // namespace
}  // namespace loadgen
