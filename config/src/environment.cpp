#include "environment.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace config::detail {
namespace {

// Built by append: g++ 12 warns falsely (-Wrestrict, PR 105651) about "'" + s + "'".
std::string quoted(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

std::string errno_text(int err) { return std::strerror(err); }

std::string parent_of(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "/" : parent;
}

// The directory must exist and be searchable; `writable`: files can be created in it.
std::string check_directory(const std::string& dir, bool writable) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return "directory " + quoted(dir) + " does not exist";
    return "directory " + quoted(dir) + ": " + errno_text(errno);
  }
  if (!S_ISDIR(st.st_mode)) return quoted(dir) + " is not a directory";
  if (writable && ::access(dir.c_str(), W_OK | X_OK) != 0) {
    return "cannot create files in " + quoted(dir) + ": " + errno_text(errno);
  }
  return {};
}

}  // namespace

std::string check_export_file(const ExportSpec& e) {
  if (e.format != ExportFormat::raw) return {};
  struct stat st {};
  if (::stat(e.file.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOTDIR) {
      if (std::string p = check_directory(parent_of(e.file), false); !p.empty()) return "file: " + p;
    }
    if (err == ENOENT && e.create) {
      if (std::string p = check_directory(parent_of(e.file), true); !p.empty()) return "file: " + p;
      return {};
    }
    if (err == ENOENT) {
      if (std::string p = check_directory(parent_of(e.file), false); !p.empty()) return "file: " + p;
      return "file: " + quoted(e.file) + " does not exist (add create=on,size=SIZE to create it)";
    }
    return "file: " + quoted(e.file) + ": " + errno_text(err);
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return "file: " + quoted(e.file) + " is not a regular file or a block device";
  }
  const int flags = (e.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  const int fd = ::open(e.file.c_str(), flags);
  if (fd < 0) {
    const int err = errno;
    return "file: cannot open " + quoted(e.file) + (e.readonly ? " for reading: " : " for reading and writing: ") +
           errno_text(err) + (e.readonly ? "" : " (or add readonly=on)");
  }
  ::close(fd);
  return {};
}

std::string check_socket_path(const std::string& path) {
  if (std::string p = check_directory(parent_of(path), true); !p.empty()) return p;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
    return quoted(path) + " exists and is not a socket (corobd replaces only stale sockets)";
  }
  return {};
}

Parsed<gid_t> resolve_group(const std::string& group) {
  using R = Parsed<gid_t>;
  if (group.empty()) return R::fail("empty group name");
  bool numeric = true;
  for (char c : group) numeric = numeric && c >= '0' && c <= '9';
  if (numeric) {
    if (group.size() > 10) return R::fail(quoted(group) + " is not a group");
    const unsigned long long gid = std::stoull(group);
    if (gid >= static_cast<unsigned long long>(static_cast<gid_t>(-1))) return R::fail(quoted(group) + " is not a group");
    return R::ok(static_cast<gid_t>(gid));
  }
  long size = ::sysconf(_SC_GETGR_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  for (;;) {
    struct group gr {};
    struct group* result = nullptr;
    const int rc = ::getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &result);
    if (rc == ERANGE && buf.size() < (1U << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0) return R::fail("cannot look up group " + quoted(group) + ": " + errno_text(rc));
    if (result == nullptr) return R::fail("no such group " + quoted(group));
    return R::ok(gr.gr_gid);
  }
}

}  // namespace config::detail
