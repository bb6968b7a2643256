#include "daemon/exports.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "config/parse_config.hpp"

namespace corobd {
namespace {

class DaemonExportsTest : public ::testing::Test {
 protected:
  DaemonExportsTest() {
    char pattern[] = "/tmp/corobd-exports-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  ~DaemonExportsTest() override { std::filesystem::remove_all(dir_); }

  config::Config parse(std::vector<std::string> args) {
    args.insert(args.begin(), {"corobd", "--socket", dir_ + "/s.sock"});
    auto r = config::parse_config(args);
    EXPECT_TRUE(r.ok()) << r.message;
    return r.ok() ? *r.config : config::Config{};
  }
  std::string dir_;
};

TEST_F(DaemonExportsTest, CreateOnMakesASparseFileOfTheSize) {
  const std::string img = dir_ + "/new.img";
  auto c = parse({"--export", "name=a,file=" + img + ",create=on,size=1G", "--export",
                  "name=n,format=null,size=4k,default=on"});
  OpenedExports e = open_exports(c);
  ASSERT_TRUE(e.ok()) << e.error;
  ASSERT_EQ(e.exports.size(), 2u);
  EXPECT_TRUE(e.exports[0].created);
  struct stat st {};
  ASSERT_EQ(::stat(img.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 30);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);  // sparse
  EXPECT_EQ(e.registry->find("")->name(), "n");
  EXPECT_EQ(describe(e.exports[0], false),
            "'a': raw " + img + ", 1 GiB, cache=writeback, read-write, created");
  EXPECT_EQ(describe(e.exports[1], true), "'n': null, 4 KiB, cache=writeback, read-write, default");
}

TEST_F(DaemonExportsTest, AnExistingFileKeepsItsSize) {
  const std::string img = dir_ + "/old.img";
  std::ofstream(img) << std::string(8192, 'x');
  auto c = parse({"--export", "name=a,file=" + img + ",create=on,size=1M,readonly=on"});
  OpenedExports e = open_exports(c);
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_FALSE(e.exports[0].created);
  EXPECT_EQ(e.exports[0].device->size(), 8192u);
  EXPECT_FALSE(e.exports[0].writable());
  EXPECT_TRUE(e.registry->find("a")->read_only());
}

}  // namespace
}  // namespace corobd
