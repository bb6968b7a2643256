// Tests of parse_config(), Config::find_export() and reload_log_level()
// (config/parse_config.hpp, config/config.hpp): the command line, the TOML
// file, their precedence, validation, and the messages users see.
#include "config/parse_config.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>
#include "temp_dir.hpp"

namespace config {
namespace {

namespace fs = std::filesystem;
using std::chrono::microseconds;
using std::chrono::milliseconds;

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

using test_support::TempDir;

class ParseConfigTest : public ::testing::Test {
 protected:
  TempDir dir;

  std::string sock() const { return dir.file("corobd.sock"); }

  // Creates a file of `size` bytes (sparse) and returns its path.
  std::string image(const std::string& name, off_t size = 1 << 20) const {
    const std::string path = dir.file(name);
    std::ofstream(path).close();
    EXPECT_EQ(::truncate(path.c_str(), size), 0);
    return path;
  }

  std::string write_file(const std::string& name, const std::string& text) const {
    const std::string path = dir.file(name);
    std::ofstream(path) << text;
    return path;
  }

  static ParseResult run(std::vector<std::string> args, const ParseOptions& options = {}) {
    args.insert(args.begin(), "corobd");
    return parse_config(args, options);
  }

  static Config ok(std::vector<std::string> args, const ParseOptions& options = {}) {
    ParseResult r = run(std::move(args), options);
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.exit_code, 0);
    return r.ok() ? *r.config : Config{};
  }

  // Expects exit status 2 with one line that starts "corobd: "; returns it.
  static std::string fails(std::vector<std::string> args, const ParseOptions& options = {}) {
    std::string joined;
    for (const auto& a : args) joined += " " + a;
    ParseResult r = run(std::move(args), options);
    EXPECT_FALSE(r.ok()) << "accepted:" << joined;
    EXPECT_EQ(r.exit_code, 2) << joined;
    EXPECT_EQ(r.message.rfind("corobd: ", 0), 0U) << r.message;
    EXPECT_EQ(r.message.find('\n'), std::string::npos) << r.message;
    return r.message;
  }

  // A minimal valid command line with extra arguments.
  std::vector<std::string> with_export(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"--socket", sock(), "--export", "name=n,format=null,size=1M"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

// --- what a successful parse gives ---------------------------------------

TEST_F(ParseConfigTest, Defaults) {
  const std::string img = image("d.img");
  Config c = ok({"--socket", sock(), "--export", "name=d,file=" + img});
  EXPECT_EQ(c.socket_path, sock());
  EXPECT_EQ(c.socket_mode, 0660U);
  EXPECT_EQ(c.socket_group, "");
  EXPECT_FALSE(c.socket_gid.has_value());
  EXPECT_EQ(c.max_connections, 64U);
  EXPECT_EQ(c.max_inflight, 32U);
  EXPECT_GE(c.max_inflight, 16U);  // issue 6: default 16+
  EXPECT_EQ(c.handshake_timeout, milliseconds(10'000));
  EXPECT_EQ(c.batch_wait.mode, BatchWaitMode::kAuto);
  EXPECT_EQ(c.batch_wait.delay, microseconds(30));
  EXPECT_EQ(c.log_level, LogLevel::info);
  EXPECT_EQ(c.config_file, "");
  EXPECT_FALSE(c.log_level_from_command_line);
  ASSERT_EQ(c.exports.size(), 1U);
  EXPECT_EQ(c.exports[0].name, "d");
  EXPECT_EQ(c.exports[0].file, img);
  EXPECT_EQ(c.exports[0].origin, "--export");
  EXPECT_EQ(Config{}.socket_path, "/run/corobd/corobd.sock");
}

TEST_F(ParseConfigTest, EveryOptionOnTheCommandLine) {
  const std::string a = image("a.img");
  Config c = ok({"--socket", sock(), "--socket-mode", "0600", "--socket-group", "0", "--export",
                 "name=a,file=" + a + ",readonly=on,cache=none,description=disk\\, A", "--export",
                 "name=z,format=null,size=2G,default=on", "--export",
                 "name=new,file=" + (dir.file("new.img")) + ",create=on,size=64M,cache=unsafe", "--max-connections", "7",
                 "--max-inflight", "128", "--handshake-timeout", "500ms", "--batch-wait", "50us", "--log-level",
                 "debug"});
  EXPECT_EQ(c.socket_mode, 0600U);
  EXPECT_EQ(c.socket_group, "0");
  EXPECT_EQ(c.socket_gid, gid_t{0});
  EXPECT_EQ(c.max_connections, 7U);
  EXPECT_EQ(c.max_inflight, 128U);
  EXPECT_EQ(c.handshake_timeout, milliseconds(500));
  EXPECT_EQ(c.batch_wait.mode, BatchWaitMode::kFixed);
  EXPECT_EQ(c.batch_wait.delay, microseconds(50));
  EXPECT_EQ(c.log_level, LogLevel::debug);
  EXPECT_TRUE(c.log_level_from_command_line);
  ASSERT_EQ(c.exports.size(), 3U);
  EXPECT_TRUE(c.exports[0].readonly);
  EXPECT_EQ(c.exports[0].cache, CacheMode::none);
  EXPECT_EQ(c.exports[0].description, "disk, A");
  EXPECT_EQ(c.exports[1].format, ExportFormat::null);
  EXPECT_EQ(c.exports[1].size, 2ULL << 30);
  EXPECT_TRUE(c.exports[1].is_default);
  EXPECT_TRUE(c.exports[2].create);
  EXPECT_EQ(c.exports[2].size, 64ULL << 20);
  EXPECT_EQ(c.exports[2].cache, CacheMode::unsafe);
  EXPECT_FALSE(fs::exists(dir.file("new.img")));  // parsing creates nothing
}

TEST_F(ParseConfigTest, EqualsFormAndGroupByName) {
  Config c = ok({"--socket=" + sock(), "--export=name=n,format=null,size=1", "--socket-group=root",
                 "--handshake-timeout=2m", "--log-level=warn", "--socket-mode=0o640", "--batch-wait=off"});
  EXPECT_EQ(c.socket_gid, gid_t{0});
  EXPECT_EQ(c.handshake_timeout, milliseconds(120'000));
  EXPECT_EQ(c.batch_wait.mode, BatchWaitMode::kOff);
  EXPECT_EQ(c.log_level, LogLevel::warn);
  EXPECT_EQ(c.socket_mode, 0640U);
}

TEST_F(ParseConfigTest, EveryOptionInTheFile) {
  const std::string a = image("a.img");
  const std::string file = write_file("c.toml",
                                      "# every key\n"
                                      "socket = \"" + sock() + "\"\n"
                                      "socket-mode = \"0640\"\n"
                                      "socket-group = \"root\"\n"
                                      "export = [\n"
                                      "  \"name=a,file=" + a + ",readonly=on,description=one\\\\, two\",\n"
                                      "  'name=z,format=null,size=1T,default=on,description=x\\, y',\n"
                                      "]\n"
                                      "max-connections = 9\n"
                                      "max-inflight = 16\n"
                                      "handshake-timeout = \"3s\"\n"
                                      "batch-wait = \"1ms\"\n"
                                      "log-level = \"trace\"\n");
  Config c = ok({"--config", file});
  EXPECT_EQ(c.config_file, file);
  EXPECT_EQ(c.socket_path, sock());
  EXPECT_EQ(c.socket_mode, 0640U);
  EXPECT_EQ(c.socket_gid, gid_t{0});
  EXPECT_EQ(c.max_connections, 9U);
  EXPECT_EQ(c.max_inflight, 16U);
  EXPECT_EQ(c.handshake_timeout, milliseconds(3'000));
  EXPECT_EQ(c.batch_wait.mode, BatchWaitMode::kFixed);
  EXPECT_EQ(c.batch_wait.delay, microseconds(1'000));
  EXPECT_EQ(c.log_level, LogLevel::trace);
  EXPECT_FALSE(c.log_level_from_command_line);
  ASSERT_EQ(c.exports.size(), 2U);
  EXPECT_EQ(c.exports[0].name, "a");
  EXPECT_TRUE(c.exports[0].readonly);
  EXPECT_EQ(c.exports[0].description, "one, two");
  EXPECT_EQ(c.exports[0].origin, file + ":6");
  EXPECT_EQ(c.exports[1].size, 1ULL << 40);
  EXPECT_EQ(c.exports[1].description, "x, y");
  EXPECT_EQ(c.exports[1].origin, file + ":7");
  EXPECT_EQ(c.default_export()->name, "z");
}

TEST_F(ParseConfigTest, CommandLineOverridesTheFile) {
  const std::string file = write_file("c.toml",
                                      "socket = \"" + (dir.file("file.sock")) + "\"\n"
                                      "socket-mode = \"0640\"\n"
                                      "export = [\"name=f1,format=null,size=1\", \"name=f2,format=null,size=1\"]\n"
                                      "max-connections = 9\n"
                                      "max-inflight = 16\n"
                                      "handshake-timeout = \"3s\"\n"
                                      "batch-wait = \"off\"\n"
                                      "log-level = \"trace\"\n");
  // Nothing on the command line: the file's values.
  Config f = ok({"--config", file});
  EXPECT_EQ(f.socket_path, dir.file("file.sock"));
  EXPECT_EQ(f.batch_wait.mode, BatchWaitMode::kOff);
  ASSERT_EQ(f.exports.size(), 2U);

  Config c = ok({"--socket", sock(), "--socket-mode", "0600", "--export", "name=cli,format=null,size=1",
                 "--max-connections", "3", "--max-inflight", "20", "--handshake-timeout", "1m", "--batch-wait",
                 "20us", "--log-level", "error", "--config", file});
  EXPECT_EQ(c.socket_path, sock());
  EXPECT_EQ(c.socket_mode, 0600U);
  EXPECT_EQ(c.max_connections, 3U);
  EXPECT_EQ(c.max_inflight, 20U);
  EXPECT_EQ(c.handshake_timeout, milliseconds(60'000));
  EXPECT_EQ(c.batch_wait.mode, BatchWaitMode::kFixed);
  EXPECT_EQ(c.batch_wait.delay, microseconds(20));
  EXPECT_EQ(c.log_level, LogLevel::error);
  EXPECT_TRUE(c.log_level_from_command_line);
  ASSERT_EQ(c.exports.size(), 1U);  // --export replaces the file's list
  EXPECT_EQ(c.exports[0].name, "cli");
  EXPECT_EQ(c.exports[0].origin, "--export");

  // Partly overridden: the rest still comes from the file.
  Config p = ok({"--config", file, "--max-inflight", "64"});
  EXPECT_EQ(p.max_inflight, 64U);
  EXPECT_EQ(p.max_connections, 9U);
  EXPECT_EQ(p.log_level, LogLevel::trace);
  EXPECT_FALSE(p.log_level_from_command_line);
  EXPECT_EQ(p.exports.size(), 2U);
  EXPECT_EQ(p.batch_wait.mode, BatchWaitMode::kOff);
  // The default is overridden too.
  Config a = ok({"--config", file, "--batch-wait", "auto"});
  EXPECT_EQ(a.batch_wait.mode, BatchWaitMode::kAuto);
  EXPECT_EQ(a.batch_wait.delay, microseconds(30));
}

TEST_F(ParseConfigTest, FileValuesMustBeValidEvenWhenOverridden) {
  const std::string file = write_file("c.toml", "socket-mode = \"0666\"\n");
  EXPECT_EQ(fails(with_export({"--config", file, "--socket-mode", "0600"})),
            "corobd: " + file + ":1: socket-mode: '0666' is world-writable (anyone could connect); use 0660 or stricter");
}

TEST_F(ParseConfigTest, TrailingDoubleDashIsHarmless) { ok(with_export({"--"})); }

TEST_F(ParseConfigTest, RepeatedConfigTakesTheLastFile) {
  const std::string a = write_file("a.toml", "log-level = \"debug\"\nmax-inflight = 20\n");
  const std::string b = write_file("b.toml", "log-level = \"warn\"\n");
  Config c = ok(with_export({"--config", a, "--config", b}));
  EXPECT_EQ(c.config_file, b);
  EXPECT_EQ(c.log_level, LogLevel::warn);
  EXPECT_EQ(c.max_inflight, 32U);  // a.toml is not read
}

TEST_F(ParseConfigTest, RepeatedOptionTakesTheLastValue) {
  Config c = ok(with_export({"--max-inflight", "20", "--max-inflight", "40", "--log-level", "warn", "--log-level",
                             "info"}));
  EXPECT_EQ(c.max_inflight, 40U);
  EXPECT_EQ(c.log_level, LogLevel::info);
}

TEST_F(ParseConfigTest, RelativePathsBecomeAbsolute) {
  const fs::path old = fs::current_path();
  fs::current_path(dir.path());
  image("rel.img");
  write_file("rel.toml", "log-level = \"debug\"\n");
  ParseResult r = run({"--socket", "rel.sock", "--export", "name=r,file=rel.img", "--export",
                       "name=c,file=./made.img,create=on,size=1M", "--config", "rel.toml"});
  fs::current_path(old);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.config->socket_path, dir.file("rel.sock"));
  EXPECT_EQ(r.config->exports[0].file, dir.file("rel.img"));
  EXPECT_EQ(r.config->exports[1].file, dir.file("./made.img"));
  EXPECT_EQ(r.config->config_file, dir.file("rel.toml"));
}

// --- --help and --version --------------------------------------------------

TEST_F(ParseConfigTest, HelpListsEveryOptionAndExitsZero) {
  for (const char* flag : {"--help", "-h"}) {
    ParseResult r = run({flag});
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.exit_code, 0);
    for (const char* opt : {"--config", "--socket", "--socket-mode", "--socket-group", "--export", "--max-connections",
                            "--max-inflight", "--handshake-timeout", "--batch-wait", "--log-level", "--version",
                            "--help"}) {
      EXPECT_HAS(r.message, opt);
    }
    EXPECT_HAS(r.message, "Usage: corobd");
    EXPECT_HAS(r.message, "name=NAME,file=PATH[,format=raw|null]");
    EXPECT_HAS(r.message, "CONFIG FILE");
    EXPECT_HAS(r.message, "BATCH WAIT");
    EXPECT_NE(r.message.back(), '\n');
  }
  // Help wins over other, even invalid, arguments.
  EXPECT_EQ(run({"--socket-mode", "0777", "--help"}).exit_code, 0);
  EXPECT_EQ(run({"--config", dir.file("missing.toml"), "--help"}).exit_code, 0);
  EXPECT_EQ(run({"--max-inflight", "x", "--version"}).exit_code, 0);
}

TEST_F(ParseConfigTest, VersionPrintsTheVersion) {
  ParseResult r = run({"--version"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.message, "corobd " COROBD_VERSION);
  EXPECT_EQ(version_string(), "corobd " COROBD_VERSION);
}

// --- invalid command lines: exit 2, one line naming the option -----------

TEST_F(ParseConfigTest, CommandLineErrorsNameTheOption) {
  struct Case {
    std::vector<std::string> extra;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--bogus"}, "corobd: unknown option '--bogus' (see --help)"},
      {{"-x"}, "corobd: unknown option '-x' (see --help)"},
      {{"stray"}, "corobd: unexpected argument 'stray' (options take the form --name VALUE; see --help)"},
      {{"--", "x"}, "corobd: unexpected argument 'x'"},
      {{"--max-inflight"}, "corobd: --max-inflight: 1 required N missing"},
      {{"--socket-mode", "0666"}, "corobd: --socket-mode: '0666' is world-writable"},
      {{"--socket-mode", "0777"}, "corobd: --socket-mode: '0777' is world-writable"},
      {{"--socket-mode", "rw"}, "corobd: --socket-mode: 'rw' is not an octal mode (expected e.g. 0660)"},
      {{"--socket-mode", "4660"}, "corobd: --socket-mode: '4660' has bits beyond 0777"},
      {{"--socket", ""}, "corobd: --socket: empty path"},
      {{"--socket", "/" + std::string(107, 's')}, "corobd: --socket: path is too long (108 bytes"},
      {{"--max-connections", "0"}, "corobd: --max-connections: '0' is out of range (expected an integer from 1 to 65536)"},
      {{"--max-connections", "many"}, "corobd: --max-connections: 'many' is not a number"},
      {{"--max-inflight", "0"}, "corobd: --max-inflight: '0' is out of range (expected an integer from 1 to 4096)"},
      {{"--max-inflight", "5000"}, "corobd: --max-inflight: '5000' is out of range"},
      {{"--max-inflight", "-1"}, "corobd: --max-inflight: '-1' is not a number"},
      {{"--handshake-timeout", "10 s"}, "corobd: --handshake-timeout: '10 s' is not a duration"},
      {{"--handshake-timeout", "0s"}, "corobd: --handshake-timeout: '0s' is zero"},
      {{"--handshake-timeout", "2d"}, "corobd: --handshake-timeout: '2d' is not a duration (expected a number with unit"},
      {{"--batch-wait", "fast"},
       "corobd: --batch-wait: 'fast' is not auto, off or a duration (expected auto, off, or 1us to 10ms, e.g. 10us, "
       "50us, 1ms)"},
      {{"--batch-wait", "0us"}, "corobd: --batch-wait: '0us' is zero (use off to never wait)"},
      {{"--batch-wait", "0"}, "corobd: --batch-wait: '0' is zero (use off to never wait)"},
      {{"--batch-wait", "20ms"}, "corobd: --batch-wait: '20ms' is too long (at most 10ms)"},
      {{"--batch-wait", "10001us"}, "corobd: --batch-wait: '10001us' is too long (at most 10ms)"},
      {{"--batch-wait"}, "corobd: --batch-wait: 1 required WAIT missing"},
      {{"--log-level", "verbose"}, "corobd: --log-level: 'verbose' is not a log level (expected trace, debug, info, warn or error)"},
      {{"--export", ""}, "corobd: --export '': empty"},
      {{"--export", "name=d,file=/x,colour=red"}, "corobd: --export 'd': unknown key 'colour'"},
      {{"--export", "name=d,file=/x,file=/y"}, "corobd: --export 'd': file: given twice"},
      {{"--export", "file=/x"}, "corobd: --export 'file=/x': name: missing"},
      {{"--export", "name=d"}, "corobd: --export 'd': file: missing (format=raw needs file=PATH)"},
      {{"--export", "name=d,format=vmdk,file=/x"}, "corobd: --export 'd': format: 'vmdk' is not a format"},
      {{"--export", "name=d,file=/x,create=on,size=huge"}, "corobd: --export 'd': size: 'huge' is not a size"},
      {{"--export", "name=d,file=/x,create=on"}, "corobd: --export 'd': size: missing (create=on needs size=BYTES)"},
      {{"--export", "name=d,file=/x,readonly=yes"}, "corobd: --export 'd': readonly: 'yes' is not on or off"},
      {{"--export", "name=d,file=/x,cache=writethrough"}, "corobd: --export 'd': cache: 'writethrough' is not a cache mode"},
      {{"--export", "name=d,file=/x,,"}, "corobd: --export 'name=d,file=/x,,': empty item (stray comma?)"},
      {{"--export", "name=d,file=/x,description=a\\b"}, "corobd: --export 'name=d,file=/x,description=a\\b': bad escape"},
      {{"--export", "name=m,format=null,size=1,default=on", "--export", "name=o,format=null,size=1,default=on"},
       "corobd: --export 'o': default: export 'm' is the default already (only one export may have default=on)"},
      {{"--export", "name=n,format=null,size=1"}, "corobd: --export 'n': name: duplicate export name (also given by --export)"},
      {{"--socket-group", "no-such-group-corobd"}, "corobd: --socket-group: no such group 'no-such-group-corobd'"},
      {{"--socket-group", "99999999999"}, "corobd: --socket-group: '99999999999' is not a group"},
  };
  for (const Case& c : cases) {
    const std::string msg = fails(with_export(c.extra));
    EXPECT_EQ(msg.rfind(c.message, 0), 0U) << "got:  " << msg << "\nwant: " << c.message;
  }
}

TEST_F(ParseConfigTest, ExportTakesOneSpecPerOption) {
  EXPECT_HAS(fails({"--socket", sock(), "--export", "name=a,format=null,size=1", "name=b,format=null,size=1"}),
             "unexpected argument 'name=b,format=null,size=1'");
}

TEST_F(ParseConfigTest, NoExportIsAClearError) {
  EXPECT_EQ(fails({"--socket", sock()}),
            "corobd: --export: no export given (add --export name=NAME,file=PATH, or an export array to the config file)");
  EXPECT_HAS(fails({"--config", write_file("empty.toml", "export = []\n"), "--socket", sock()}),
             "--export: no export given");
  EXPECT_HAS(fails({}), "no export given");
}

// --- environment checks --------------------------------------------------

TEST_F(ParseConfigTest, ExportFileMustExistUnlessCreated) {
  const std::string missing = dir.file("missing.img");
  EXPECT_EQ(fails({"--socket", sock(), "--export", "name=d,file=" + missing}),
            "corobd: --export 'd': file: '" + missing + "' does not exist (add create=on,size=SIZE to create it)");
  EXPECT_EQ(fails({"--socket", sock(), "--export", "name=d,file=" + (dir.file("nodir/x.img"))}),
            "corobd: --export 'd': file: directory '" + (dir.file("nodir")) + "' does not exist");
  EXPECT_EQ(fails({"--socket", sock(), "--export", "name=d,file=" + (dir.file("nodir/x.img")) + ",create=on,size=1M"}),
            "corobd: --export 'd': file: directory '" + (dir.file("nodir")) + "' does not exist");
  const std::string plain = image("plain");
  EXPECT_EQ(fails({"--socket", sock(), "--export", "name=d,file=" + plain + "/x.img,create=on,size=1M"}),
            "corobd: --export 'd': file: '" + plain + "' is not a directory");
  // create=on with a missing file in an existing directory is fine; so is an existing file.
  ok({"--socket", sock(), "--export", "name=d,file=" + missing + ",create=on,size=1M"});
  ok({"--socket", sock(), "--export", "name=d,file=" + plain + ",create=on,size=1M"});
}

TEST_F(ParseConfigTest, ExportFileMustBeAFileThatOpens) {
  EXPECT_EQ(fails({"--socket", sock(), "--export", "name=d,file=" + dir.path()}),
            "corobd: --export 'd': file: '" + dir.path() + "' is not a regular file or a block device");
  EXPECT_HAS(fails({"--socket", sock(), "--export", "name=d,file=" + (dir.file("x.img/y"))}), "does not exist");
  if (::geteuid() == 0) GTEST_SKIP() << "root opens files regardless of permissions";
  const std::string locked = image("locked.img");
  ASSERT_EQ(::chmod(locked.c_str(), 0), 0);
  EXPECT_EQ(fails({"--socket", sock(), "--export", "name=d,file=" + locked + ",readonly=on"}),
            "corobd: --export 'd': file: cannot open '" + locked + "' for reading: Permission denied");
  const std::string ro = image("ro.img");
  ASSERT_EQ(::chmod(ro.c_str(), 0444), 0);
  EXPECT_EQ(fails({"--socket", sock(), "--export", "name=d,file=" + ro}),
            "corobd: --export 'd': file: cannot open '" + ro +
                "' for reading and writing: Permission denied (or add readonly=on)");
  ok({"--socket", sock(), "--export", "name=d,file=" + ro + ",readonly=on"});
}

TEST_F(ParseConfigTest, SocketDirectoryMustExist) {
  EXPECT_EQ(fails({"--socket", dir.file("nodir/s.sock"), "--export", "name=n,format=null,size=1"}),
            "corobd: --socket: directory '" + (dir.file("nodir")) + "' does not exist");
  const std::string plain = image("plain");
  EXPECT_EQ(fails({"--socket", plain + "/s.sock", "--export", "name=n,format=null,size=1"}),
            "corobd: --socket: '" + plain + "' is not a directory");
}

TEST_F(ParseConfigTest, SocketPathMustNotBeAnotherKindOfFile) {
  const std::string plain = image("plain");
  EXPECT_EQ(fails({"--socket", plain, "--export", "name=n,format=null,size=1"}),
            "corobd: --socket: '" + plain + "' exists and is not a socket (corobd replaces only stale sockets)");
  // An existing (stale) socket is fine: the daemon replaces it.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock().c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ::close(fd);
  ok({"--socket", sock(), "--export", "name=n,format=null,size=1"});
}

TEST_F(ParseConfigTest, SocketPathTooLongOnceAbsolute) {
  const fs::path old = fs::current_path();
  fs::current_path(dir.path());
  ParseResult r = run({"--socket", std::string(100, 's'), "--export", "name=n,format=null,size=1"});
  fs::current_path(old);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_HAS(r.message, "corobd: --socket: path is too long once made absolute");
}

TEST_F(ParseConfigTest, ChecksCanBeTurnedOff) {
  const std::vector<std::string> args = {"--socket", "/nonexistent-corobd/s.sock", "--socket-group", "no-such-group-corobd",
                                         "--export", "name=d,file=/nonexistent-corobd/d.img"};
  EXPECT_HAS(fails(args), "--socket: directory '/nonexistent-corobd' does not exist");
  EXPECT_HAS(fails(args, ParseOptions{.check_files = false, .check_socket = true}), "--socket:");
  EXPECT_HAS(fails(args, ParseOptions{.check_files = true, .check_socket = false}), "--export 'd': file:");
  Config c = ok(args, ParseOptions{.check_files = false, .check_socket = false});
  EXPECT_EQ(c.socket_group, "no-such-group-corobd");
  EXPECT_FALSE(c.socket_gid.has_value());
  // Checks that need no file system stay on.
  EXPECT_HAS(fails({"--socket", sock(), "--export", "name=d,file=/x", "--export", "name=d,file=/y"},
                   ParseOptions{.check_files = false, .check_socket = false}),
             "duplicate export name");
}

// --- the config file: errors name the file and the line ------------------

TEST_F(ParseConfigTest, ConfigFileErrorsNameFileAndLine) {
  struct Case {
    std::string text;
    std::string message;  // after "corobd: FILE:"
  };
  const std::vector<Case> cases = {
      {"socket = \"/s\"\nsockt = \"/t\"\n", "2: unknown key 'sockt'"},
      {"max_inflight = 3\n", "1: unknown key 'max_inflight' (did you mean 'max-inflight'?)"},
      {"config = \"/other.toml\"\n", "1: unknown key 'config'"},
      {"help = true\n", "1: unknown key 'help'"},
      {"[corobd]\nsocket = \"/s\"\n", "1: tables ([...]) are not supported"},
      {"socket = /run/x\n", "1: '/run/x' must be quoted"},
      {"socket = \"/a\"\nsocket = \"/b\"\n", "2: key 'socket' is already set on line 1"},
      {"socket-mode = \"0777\"\n", "1: socket-mode: '0777' is world-writable"},
      {"max-connections = 0\n", "1: max-connections: '0' is out of range"},
      {"max-inflight = \"lots\"\n", "1: max-inflight: 'lots' is not a number"},
      {"handshake-timeout = \"10 seconds\"\n", "1: handshake-timeout: '10 seconds' is not a duration"},
      {"batch-wait = \"fast\"\n", "1: batch-wait: 'fast' is not auto, off or a duration (expected auto, off, or 1us"},
      {"socket = \"/s\"\nbatch-wait = \"0us\"\n", "2: batch-wait: '0us' is zero (use off to never wait)"},
      {"batch-wait = 0\n", "1: batch-wait: '0' is zero (use off to never wait)"},
      {"batch-wait = \"20ms\"\n", "1: batch-wait: '20ms' is too long (at most 10ms)"},
      {"log-level = \"loud\"\n", "1: log-level: 'loud' is not a log level"},
      {"log-level = [\"info\"]\n", "1: 'log-level' takes one value, not an array"},
      {"export = [\n  \"name=a,format=null,size=1\",\n  \"name=b,format=null,size=big\",\n]\n",
       "3: export 'b': size: 'big' is not a size"},
      {"export = [\"name=a,format=null,size=1,colour=red\"]\n", "1: export 'a': unknown key 'colour'"},
      {"export = [\"name=a,format=null,size=1\", \"name=a,format=null,size=2\"]\n",
       "1: export 'a': name: duplicate export name (also given by "},
      {"export = [\n\"name=a,format=null,size=1,default=on\",\n\"name=b,format=null,size=2,default=on\"]\n",
       "3: export 'b': default: export 'a' is the default already"},
      {"export = [\n\"name=a,file=/nonexistent-corobd/a.img\"]\n", "2: export 'a': file: directory '/nonexistent-corobd' does not exist"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string file = write_file("bad" + std::to_string(n++) + ".toml", c.text);
    const std::string msg = fails({"--config", file, "--socket", sock()});
    const std::string want = "corobd: " + file + ":" + c.message;
    EXPECT_EQ(msg.rfind(want, 0), 0U) << "got:  " << msg << "\nwant: " << want;
  }
}

TEST_F(ParseConfigTest, ConfigFileMustBeReadable) {
  const std::string missing = dir.file("missing.toml");
  EXPECT_EQ(fails(with_export({"--config", missing})),
            "corobd: --config: cannot read '" + missing + "': No such file or directory");
  EXPECT_EQ(fails(with_export({"--config", dir.path()})),
            "corobd: --config: cannot read '" + dir.path() + "': not a regular file");
  EXPECT_HAS(fails(with_export({"--config"})), "--config");
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of permissions";
  const std::string locked = write_file("locked.toml", "log-level = \"info\"\n");
  ASSERT_EQ(::chmod(locked.c_str(), 0), 0);
  EXPECT_EQ(fails(with_export({"--config", locked})),
            "corobd: --config: cannot read '" + locked + "': Permission denied");
}

// --- default export ------------------------------------------------------

TEST_F(ParseConfigTest, DefaultExportIsTheFirstOrTheOneMarked) {
  Config first = ok({"--socket", sock(), "--export", "name=a,format=null,size=1", "--export",
                     "name=b,format=null,size=2"});
  EXPECT_EQ(first.default_export()->name, "a");
  EXPECT_EQ(first.find_export("")->name, "a");
  EXPECT_EQ(first.find_export("b")->name, "b");
  EXPECT_EQ(first.find_export("a")->name, "a");
  EXPECT_EQ(first.find_export("c"), nullptr);
  EXPECT_EQ(first.find_export("A"), nullptr);  // names are exact

  Config marked = ok({"--socket", sock(), "--export", "name=a,format=null,size=1", "--export",
                      "name=b,format=null,size=2,default=on", "--export", "name=c,format=null,size=3,default=off"});
  EXPECT_EQ(marked.default_export()->name, "b");
  EXPECT_EQ(marked.find_export("")->name, "b");
  EXPECT_EQ(marked.find_export("a")->name, "a");
  EXPECT_EQ(marked.find_export("c")->size, 3U);

  Config none;
  EXPECT_EQ(none.default_export(), nullptr);
  EXPECT_EQ(none.find_export(""), nullptr);
  EXPECT_EQ(none.find_export("a"), nullptr);
}

// --- the shipped example -------------------------------------------------

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

TEST_F(ParseConfigTest, ShippedExampleParses) {
  const std::string shipped = COROBD_SOURCE_DIR "/config/corobd.toml";
  ASSERT_TRUE(fs::exists(shipped));
  // As is, without looking at /run and /var/lib (which need not exist here).
  Config c = ok({"--config", shipped}, ParseOptions{.check_files = false, .check_socket = false});
  EXPECT_EQ(c.socket_path, "/run/corobd/corobd.sock");
  EXPECT_EQ(c.socket_mode, 0660U);
  EXPECT_EQ(c.max_connections, 64U);
  EXPECT_EQ(c.max_inflight, 32U);
  EXPECT_EQ(c.handshake_timeout, milliseconds(10'000));
  EXPECT_EQ(c.batch_wait.mode, BatchWaitMode::kAuto);
  EXPECT_EQ(c.log_level, LogLevel::info);
  ASSERT_EQ(c.exports.size(), 2U);
  EXPECT_EQ(c.exports[0].format, ExportFormat::null);
  EXPECT_EQ(c.exports[1].format, ExportFormat::raw);
  EXPECT_TRUE(c.exports[1].create);
  EXPECT_EQ(c.exports[1].file.rfind("/var/lib/corobd/", 0), 0U);
  EXPECT_EQ(c.exports[1].description, "scratch disk, 16 GiB");
  ASSERT_NE(c.find_export(""), nullptr);

  // With its directories pointed at a temporary one, it passes every check.
  std::string text = read_all(shipped);
  replace_all(text, "/run/corobd/", dir.path() + "/");
  replace_all(text, "/var/lib/corobd/", dir.path() + "/");
  const std::string copy = write_file("corobd.toml", text);
  Config full = ok({"--config", copy});
  EXPECT_EQ(full.socket_path, dir.file("corobd.sock"));
  EXPECT_EQ(full.exports[1].file, dir.file("disk.img"));
}

// --- SIGHUP: re-reading the log level ------------------------------------

TEST_F(ParseConfigTest, ReloadReadsTheNewLogLevel) {
  const std::string file = write_file("c.toml", "log-level = \"info\"\nexport = [\"name=n,format=null,size=1\"]\n");
  Config c = ok({"--config", file, "--socket", sock()});
  EXPECT_EQ(c.log_level, LogLevel::info);

  write_file("c.toml", "log-level = \"debug\"\nexport = [\"name=n,format=null,size=1\"]\n");
  LogLevelReload r = reload_log_level(c);
  ASSERT_TRUE(r.level.has_value()) << r.message;
  EXPECT_EQ(*r.level, LogLevel::debug);
  EXPECT_EQ(r.message, "re-read " + file + ": log level debug");

  // A file without the key means the default.
  write_file("c.toml", "export = [\"name=n,format=null,size=1\"]\n");
  r = reload_log_level(c);
  ASSERT_TRUE(r.level.has_value()) << r.message;
  EXPECT_EQ(*r.level, LogLevel::info);

  // Only the file is read: exports need not be valid on disk, nor present.
  write_file("c.toml", "log-level = \"warn\"\nexport = [\"name=gone,file=/nonexistent-corobd/x\"]\n");
  r = reload_log_level(c);
  ASSERT_TRUE(r.level.has_value()) << r.message;
  EXPECT_EQ(*r.level, LogLevel::warn);
}

TEST_F(ParseConfigTest, ReloadKeepsTheLevelWhenTheFileIsBroken) {
  const std::string file = write_file("c.toml", "log-level = \"warn\"\nexport = [\"name=n,format=null,size=1\"]\n");
  Config c = ok({"--config", file, "--socket", sock()});

  write_file("c.toml", "log-level = \"chatty\"\n");
  LogLevelReload r = reload_log_level(c);
  EXPECT_FALSE(r.level.has_value());
  EXPECT_EQ(r.message, "log level stays warn: " + file +
                           ":1: log-level: 'chatty' is not a log level (expected trace, debug, info, warn or error)");

  write_file("c.toml", "log-level = \"debug\"\nmystery = 1\n");
  r = reload_log_level(c);
  EXPECT_FALSE(r.level.has_value());
  EXPECT_HAS(r.message, ":2: unknown key 'mystery'");

  fs::remove(file);
  r = reload_log_level(c);
  EXPECT_FALSE(r.level.has_value());
  EXPECT_EQ(r.message, "log level stays warn: --config: cannot read '" + file + "': No such file or directory");
}

TEST_F(ParseConfigTest, ReloadKeepsACommandLineLevel) {
  const std::string file = write_file("c.toml", "log-level = \"warn\"\n");
  Config c = ok(with_export({"--config", file, "--log-level", "trace"}));
  EXPECT_TRUE(c.log_level_from_command_line);
  write_file("c.toml", "log-level = \"error\"\n");
  LogLevelReload r = reload_log_level(c);
  ASSERT_TRUE(r.level.has_value());
  EXPECT_EQ(*r.level, LogLevel::trace);
  EXPECT_EQ(r.message, "log level trace was given on the command line; " + file + " not re-read");

  Config nofile = ok(with_export({"--log-level", "debug"}));
  r = reload_log_level(nofile);
  ASSERT_TRUE(r.level.has_value());
  EXPECT_EQ(*r.level, LogLevel::debug);
  Config plain = ok(with_export());
  r = reload_log_level(plain);
  ASSERT_TRUE(r.level.has_value());
  EXPECT_EQ(*r.level, LogLevel::info);
  EXPECT_EQ(r.message, "no config file; log level stays info");
}

// --- robustness ----------------------------------------------------------

TEST_F(ParseConfigTest, ArbitraryInputNeverThrows) {
  std::mt19937 rng(7);
  const std::string alphabet = "abz=,\\-/.0179kMGs\"'#[] \n\t\x01";
  const std::vector<std::string> options = {"--socket", "--socket-mode", "--socket-group", "--export",
                                            "--max-connections", "--max-inflight", "--handshake-timeout",
                                            "--batch-wait", "--log-level", "--config", "--", "-", "--export="};
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::string> args;
    const int n = static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) {
      if (rng() % 2 == 0) {
        args.push_back(options[rng() % options.size()]);
      } else {
        std::string s;
        const int len = static_cast<int>(rng() % 12);
        for (int j = 0; j < len; ++j) s.push_back(alphabet[rng() % alphabet.size()]);
        args.push_back(s);
      }
    }
    ParseResult r;
    ASSERT_NO_THROW(r = run(args, ParseOptions{.check_files = false, .check_socket = false}));
    if (!r.ok() && r.exit_code != 0) {
      EXPECT_EQ(r.exit_code, 2);
      EXPECT_EQ(r.message.find('\n'), std::string::npos) << r.message;
    }
  }
  // Random TOML files, too.
  for (int i = 0; i < 500; ++i) {
    std::string text;
    const int len = static_cast<int>(rng() % 80);
    const std::string toml_chars = "socket-mode=export[]\"',# \n\\0o6u1";
    for (int j = 0; j < len; ++j) text.push_back(toml_chars[rng() % toml_chars.size()]);
    const std::string file = write_file("fuzz.toml", text);
    ParseResult r;
    ASSERT_NO_THROW(r = run({"--config", file}, ParseOptions{.check_files = false, .check_socket = false}));
    if (!r.ok()) {
      EXPECT_EQ(r.exit_code, 2);
      EXPECT_EQ(r.message.find('\n'), std::string::npos) << r.message;
    }
  }
}

}  // namespace
}  // namespace config
