#include "loadgen/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

#include "loadgen/rng.hpp"

namespace loadgen {
namespace {

constexpr std::string_view kMagicLine = "corobd-load-state 1";
constexpr std::size_t kRecordBytes = 24;

void put64(std::string* out, std::uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);  // little-endian hosts only (see block_header.cpp)
  out->append(b, 8);
}

std::uint64_t get64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::uint64_t records_checksum(const char* p, std::size_t bytes) {
  std::uint64_t h = 0x73746174652d3031ULL;
  for (std::size_t i = 0; i + 8 <= bytes; i += 8) h = mix64(h ^ get64(p + i)) + kGolden;
  return h;
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

bool save_state(const std::string& path, const SavedState& s, std::string* error) {
  std::string data;
  data.reserve(256 + s.written.size() * kRecordBytes);
  data += kMagicLine;
  data += "\nseed=" + std::to_string(s.seed);
  data += "\noffset=" + std::to_string(s.offset);
  data += "\nblock_size=" + std::to_string(s.block_size);
  data += "\nblocks=" + std::to_string(s.blocks);
  data += "\nnext_seq=" + std::to_string(s.next_seq);
  data += "\nwritten=" + std::to_string(s.written.size());
  data += "\n\n";
  const std::size_t records_at = data.size();
  for (const SavedBlock& b : s.written) {
    put64(&data, b.index);
    put64(&data, b.durable);
    put64(&data, b.upper);
  }
  put64(&data, records_checksum(data.data() + records_at, data.size() - records_at));

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = sys_error("cannot create", tmp);
    return false;
  }
  if (!write_all(fd, data) || ::fsync(fd) != 0) {
    *error = sys_error("cannot write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = sys_error("cannot rename " + tmp + " to", path);
    ::unlink(tmp.c_str());
    return false;
  }
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

bool load_state(const std::string& path, SavedState* out, std::string* error, bool* missing) {
  if (missing != nullptr) *missing = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && missing != nullptr) *missing = true;
    *error = sys_error("cannot open", path);
    return false;
  }
  std::string data;
  std::vector<char> chunk(64 * 1024);  // on the heap: this may run on a small coroutine stack
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = sys_error("cannot read", path);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    data.append(chunk.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);

  const auto bad = [&](const std::string& why) {
    *error = path + " is not a corobd-load state file: " + why;
    return false;
  };
  std::size_t pos = 0;
  const auto next_line = [&](std::string_view* line) {
    const std::size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) return false;
    *line = std::string_view(data).substr(pos, nl - pos);
    pos = nl + 1;
    return true;
  };
  std::string_view line;
  if (!next_line(&line) || line != kMagicLine) return bad("bad first line");
  SavedState s;
  std::uint64_t written = 0;
  const char* keys[] = {"seed", "offset", "block_size", "blocks", "next_seq", "written"};
  std::uint64_t* values[] = {&s.seed, &s.offset, nullptr, &s.blocks, &s.next_seq, &written};
  std::uint64_t block_size = 0;
  values[2] = &block_size;
  for (int i = 0; i < 6; ++i) {
    if (!next_line(&line)) return bad("truncated header");
    const std::string key = std::string(keys[i]) + "=";
    if (!line.starts_with(key)) return bad("expected " + key);
    const std::string_view v = line.substr(key.size());
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *values[i]);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty()) return bad("bad " + key);
  }
  if (!next_line(&line) || !line.empty()) return bad("header does not end with an empty line");
  if (block_size == 0 || block_size > 0xffffffffULL) return bad("bad block_size");
  s.block_size = static_cast<std::uint32_t>(block_size);
  if (written > s.blocks) return bad("more written blocks than blocks");
  if (data.size() - pos != written * kRecordBytes + 8) return bad("wrong length");
  const char* rec = data.data() + pos;
  if (records_checksum(rec, written * kRecordBytes) != get64(rec + written * kRecordBytes)) {
    return bad("checksum mismatch");
  }
  s.written.reserve(written);
  for (std::uint64_t i = 0; i < written; ++i) {
    SavedBlock b{get64(rec), get64(rec + 8), get64(rec + 16)};
    rec += kRecordBytes;
    if (b.index >= s.blocks || b.durable > b.upper || b.upper == 0 || b.upper >= s.next_seq ||
        (!s.written.empty() && b.index <= s.written.back().index)) {
      return bad("bad record " + std::to_string(i));
    }
    s.written.push_back(b);
  }
  *out = std::move(s);
  return true;
}

}  // namespace loadgen
