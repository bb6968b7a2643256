// The real corobd binary driven by the clients users run: qemu-io,
// qemu-img, nbdinfo, nbdcopy and fio's nbd engine. A test is skipped when
// its tool is not installed.
#include <gtest/gtest.h>

#include <string>

#include "daemon_fixture.hpp"

namespace interop {
namespace {

using CorobdToolsTest = DaemonFixture;

std::string qemu_io(const std::string& uri, const std::vector<std::string>& cmds) {
  std::string s = "qemu-io -f raw";
  for (const auto& c : cmds) s += " -c " + quote(c);
  return s + " " + quote(uri);
}

TEST_F(CorobdToolsTest, QemuIoPatternsFuaDiscardAndWriteZeroes) {
  if (!have("qemu-io")) GTEST_SKIP() << "qemu-io not installed";
  Output w = run(qemu_io(uri(), {"write -P 0xa5 0 1M", "write -f -P 0x5a 1M 64k",
                                 "write -P 0x11 4M 256k", "write -P 0x22 8M 256k",
                                 "discard 4M 256k", "write -z 8M 256k", "write -z -u 12M 64k"}));
  ASSERT_EQ(w.status, 0) << w.output;
  EXPECT_EQ(w.output.find("error"), std::string::npos) << w.output;
  // A new connection reads back what the first wrote.
  Output r = run(qemu_io(uri(), {"read -P 0xa5 0 1M", "read -P 0x5a 1M 64k", "read -P 0 4M 256k",
                                 "read -P 0 8M 256k", "read -P 0 12M 64k", "flush"}));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("Pattern verification failed"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("error"), std::string::npos) << r.output;
  // The default export (empty name) is "disk".
  Output d = run(qemu_io("nbd+unix:///?socket=" + socket_, {"read -P 0xa5 0 4k"}));
  ASSERT_EQ(d.status, 0) << d.output;
  EXPECT_EQ(d.output.find("Pattern verification failed"), std::string::npos) << d.output;
  // And the bytes are in the file.
  Output f = run(qemu_io(disk_, {"read -P 0x5a 1M 64k"}));
  EXPECT_EQ(f.output.find("Pattern verification failed"), std::string::npos) << f.output;
}

TEST_F(CorobdToolsTest, QemuImgConvertAndCompare) {
  if (!have("qemu-img")) GTEST_SKIP() << "qemu-img not installed";
  const std::string src = dir_.file("random.img");
  ASSERT_EQ(run("head -c 16777216 /dev/urandom > " + quote(src)).status, 0);
  Output c = run("qemu-img convert -n -f raw -O raw " + quote(src) + " " + quote(uri()));
  ASSERT_EQ(c.status, 0) << c.output;
  Output cmp = run("qemu-img compare -f raw -F raw " + quote(src) + " " + quote(uri()));
  ASSERT_EQ(cmp.status, 0) << cmp.output;
  EXPECT_NE(cmp.output.find("Images are identical"), std::string::npos) << cmp.output;
}

TEST_F(CorobdToolsTest, NbdinfoJsonReportsSizeFlagsAndBlockSizes) {
  if (!have("nbdinfo")) GTEST_SKIP() << "nbdinfo not installed";
  Output r = run("nbdinfo --json " + quote(uri()));
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want :
       {"\"export-size\": 16777216", "\"description\": \"the disk\"", "\"is_read_only\": false",
        "\"can_flush\": true", "\"can_fua\": true", "\"can_trim\": true", "\"can_zero\": true",
        "\"can_fast_zero\": true", "\"can_multi_conn\": true", "\"can_cache\": true",
        "\"block_size_minimum\": 1", "\"block_size_preferred\": 4096",
        "\"block_size_maximum\": 33554432", "base:allocation"}) {
    EXPECT_NE(r.output.find(want), std::string::npos) << want << " in " << r.output;
  }
  Output z = run("nbdinfo --size " + quote(uri("zero")));
  ASSERT_EQ(z.status, 0) << z.output;
  EXPECT_EQ(z.output, "1073741824\n");
}

TEST_F(CorobdToolsTest, NbdinfoListsEveryExport) {
  if (!have("nbdinfo")) GTEST_SKIP() << "nbdinfo not installed";
  Output r = run("nbdinfo --list --json " + quote("nbd+unix:///?socket=" + socket_));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"export-name\": \"disk\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"export-name\": \"zero\""), std::string::npos) << r.output;
}

TEST_F(CorobdToolsTest, NbdinfoMapShowsHolesAfterDiscard) {
  if (!have("nbdinfo") || !have("qemu-io")) GTEST_SKIP() << "nbdinfo or qemu-io not installed";
  Output w = run(qemu_io(uri(), {"write -P 0x77 0 4M", "discard 1M 1M"}));
  ASSERT_EQ(w.status, 0) << w.output;
  Output m = run("nbdinfo --map " + quote(uri()));
  ASSERT_EQ(m.status, 0) << m.output;
  // "   1048576   1048576    3  hole,zero"
  EXPECT_NE(m.output.find("1048576    3  hole,zero"), std::string::npos) << m.output;
  EXPECT_NE(m.output.find("0  data"), std::string::npos) << m.output;
}

TEST_F(CorobdToolsTest, NbdcopyInAndOutWithSeveralConnections) {
  if (!have("nbdcopy")) GTEST_SKIP() << "nbdcopy not installed";
  const std::string src = dir_.file("src.img");
  const std::string out = dir_.file("out.img");
  ASSERT_EQ(run("head -c 16777216 /dev/urandom > " + quote(src)).status, 0);
  Output in = run("nbdcopy --connections=4 --requests=16 " + quote(src) + " " + quote(uri()));
  ASSERT_EQ(in.status, 0) << in.output;
  Output back = run("nbdcopy --connections=4 --requests=16 " + quote(uri()) + " " + quote(out));
  ASSERT_EQ(back.status, 0) << back.output;
  Output cmp = run("cmp " + quote(src) + " " + quote(out));
  EXPECT_EQ(cmp.status, 0) << cmp.output;
}

TEST_F(CorobdToolsTest, FioNbdEngineVerifiesCrc32c) {
  if (!have("fio")) GTEST_SKIP() << "fio not installed";
  if (run("fio --enghelp=nbd").status != 0) GTEST_SKIP() << "fio has no nbd engine";
  Output r = run("fio --name=verify --ioengine=nbd --uri=" + quote(uri()) +
                 " --rw=randwrite --bs=4k --size=16M --iodepth=32 --verify=crc32c"
                 " --do_verify=1 --verify_fatal=1 --numjobs=1 --output-format=terse");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("bad magic"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("crc32c: verify failed"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace interop
