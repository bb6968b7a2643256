// Interoperability with the real clients users run — nbdinfo, qemu-io,
// qemu-img — against the in-process server (the daemon's interop tests do
// the same against the corobd binary). Each test is skipped when its tool
// is not installed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "blockdev/open_device.hpp"
#include "server_thread.hpp"

namespace nbd_test {
namespace {

bool have(const char* tool) {
  std::string cmd = std::string("command -v ") + tool + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

struct Output {
  int status = -1;
  std::string output;
};

// Runs a shell command; stdout and stderr together.
Output run(const std::string& cmd) {
  Output r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

class ToolsTest : public ::testing::Test {
 protected:
  ToolsTest() {
    blockdev::DeviceOptions raw;
    raw.path = dir_.file("disk.img");
    raw.size = 16u << 20;
    raw.create = true;
    auto d = blockdev::open_device(raw);
    EXPECT_TRUE(d) << d.message;
    auto registry = std::make_shared<nbd::ExportRegistry>();
    registry->add("disk", std::shared_ptr<blockdev::BlockDevice>(std::move(d.device)),
                  {.description = "the disk"});
    blockdev::DeviceOptions null;
    null.format = blockdev::DeviceFormat::null;
    null.size = 1u << 30;
    auto n = blockdev::open_device(null);
    EXPECT_TRUE(n) << n.message;
    registry->add("null", std::shared_ptr<blockdev::BlockDevice>(std::move(n.device)));
    server_ = std::make_unique<ServerThread>(registry);
  }

  TempDir dir_;
  std::unique_ptr<ServerThread> server_;
};

TEST_F(ToolsTest, NbdinfoReportsWhatWeAdvertise) {
  if (!have("nbdinfo")) GTEST_SKIP() << "nbdinfo not installed";
  Output r = run("nbdinfo --json " + quote(server_->uri("disk")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"export-size\": 16777216"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"description\": \"the disk\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"block_size_minimum\": 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"block_size_maximum\": 33554432"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"can_multi_conn\": true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"can_fast_zero\": true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"is_read_only\": false"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("base:allocation"), std::string::npos) << r.output;

  r = run("nbdinfo --list " + quote(server_->uri()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("export=\"disk\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("export=\"null\""), std::string::npos) << r.output;
}

TEST_F(ToolsTest, QemuIoWritesReadsZeroesAndDiscards) {
  if (!have("qemu-io")) GTEST_SKIP() << "qemu-io not installed";
  Output r = run("qemu-io -f raw " + quote(server_->uri("disk")) +
              " -c 'write -P 0xab 0 1M' -c 'write -f -P 0xcd 1M 64k' -c 'read -P 0xab 0 1M'"
              " -c 'read -P 0xcd 1M 64k' -c 'write -z 4k 8k' -c 'read -P 0 4k 8k'"
              " -c 'discard 512k 64k' -c 'flush' -c 'read -P 0xab 0 4k'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("verification failed"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("error"), std::string::npos) << r.output;

  // A second process sees what the first wrote.
  r = run("qemu-io -f raw -r " + quote(server_->uri("disk")) + " -c 'read -P 0xcd 1M 64k'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("verification failed"), std::string::npos) << r.output;
}

TEST_F(ToolsTest, QemuImgConvertAndCompare) {
  if (!have("qemu-img")) GTEST_SKIP() << "qemu-img not installed";
  // A source image with data and holes.
  const std::string src = dir_.file("src.img");
  {
    int fd = ::open(src.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 16 << 20), 0);
    std::string chunk(300000, '\0');
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 7 + 3);
    for (off_t off : {off_t{0}, off_t{5 << 20}, off_t{(16 << 20) - 300000}}) {
      ASSERT_EQ(::pwrite(fd, chunk.data(), chunk.size(), off), static_cast<ssize_t>(chunk.size()));
    }
    ::close(fd);
  }
  Output r = run("qemu-img convert -n -f raw -O raw " + quote(src) + " " + quote(server_->uri("disk")));
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("qemu-img compare -f raw -F raw " + quote(src) + " " + quote(server_->uri("disk")));
  EXPECT_EQ(r.status, 0) << r.output;
  r = run("qemu-img info " + quote(server_->uri("disk")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("16 MiB"), std::string::npos) << r.output;
  // Map: the holes of the source are holes on the export too (or zeroes).
  r = run("qemu-img map --output=json -f raw " + quote(server_->uri("disk")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"zero\": true"), std::string::npos) << r.output;
}

TEST_F(ToolsTest, QemuIoAgainstTheNullExport) {
  if (!have("qemu-io")) GTEST_SKIP() << "qemu-io not installed";
  Output r = run("qemu-io -f raw " + quote(server_->uri("null")) +
              " -c 'read -P 0 0 32M' -c 'write -P 1 0 32M' -c 'aio_write -P 2 0 4M'"
              " -c 'aio_flush' -c 'read -P 0 1073676288 64k'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("verification failed"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace nbd_test
