#include "daemon/listener.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace corobd {
namespace {

class DaemonListenerTest : public ::testing::Test {
 protected:
  DaemonListenerTest() {
    char pattern[] = "/tmp/corobd-listener-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    path_ = dir_ + "/s.sock";
  }
  ~DaemonListenerTest() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

mode_t mode_of(const std::string& p) {
  struct stat st {};
  ::lstat(p.c_str(), &st);
  return st.st_mode;
}

TEST_F(DaemonListenerTest, CreatesTheSocketWithTheModeNeverWorldWritable) {
  auto r = Listener::create(path_, 0666, std::nullopt);
  ASSERT_TRUE(r.listener) << r.error;
  EXPECT_TRUE(S_ISSOCK(mode_of(path_)));
  EXPECT_EQ(mode_of(path_) & 0777, 0664u);
  EXPECT_TRUE(r.listener->remove_file());
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(DaemonListenerTest, ReplacesAStaleSocketAndRefusesALiveOne) {
  {
    auto first = Listener::create(path_, 0660, std::nullopt);
    ASSERT_TRUE(first.listener) << first.error;
    auto second = Listener::create(path_, 0660, std::nullopt);
    EXPECT_FALSE(second.listener);
    EXPECT_NE(second.error.find("is in use by another process"), std::string::npos) << second.error;
    // first goes away without removing its file: stale.
  }
  ASSERT_TRUE(std::filesystem::exists(path_));
  auto third = Listener::create(path_, 0600, std::nullopt);
  ASSERT_TRUE(third.listener) << third.error;
  EXPECT_EQ(mode_of(path_) & 0777, 0600u);
}

TEST_F(DaemonListenerTest, LeavesOtherFilesAlone) {
  std::ofstream(path_) << "x";
  auto r = Listener::create(path_, 0660, std::nullopt);
  EXPECT_FALSE(r.listener);
  EXPECT_NE(r.error.find("not a socket"), std::string::npos) << r.error;
  EXPECT_TRUE(std::filesystem::is_regular_file(path_));
}

TEST_F(DaemonListenerTest, DoesNotRemoveAFileThatIsNoLongerItsOwn) {
  auto r = Listener::create(path_, 0660, std::nullopt);
  ASSERT_TRUE(r.listener);
  ::unlink(path_.c_str());
  std::ofstream(path_) << "x";
  EXPECT_FALSE(r.listener->remove_file());
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(DaemonListenerTest, RejectsAPathTooLong) {
  auto r = Listener::create(dir_ + "/" + std::string(200, 'a'), 0660, std::nullopt);
  EXPECT_FALSE(r.listener);
  EXPECT_NE(r.error.find("too long"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace corobd
