#include "blockdev/raw_device.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>

#include "bounce_pool.hpp"
#include "corolib/loop/co_io.hpp"
#include "inline_write_gate.hpp"
#include "zero_buffer.hpp"

namespace blockdev {

namespace {

// Bounce buffers: unaligned O_DIRECT requests are done in chunks this big.
constexpr std::size_t kBounceSize = 256u << 10;
constexpr std::size_t kBounceCached = 16;
// O_DIRECT alignment when the kernel does not tell.
constexpr std::uint32_t kDefaultDirectAlign = 4096;

constexpr std::uint64_t kMaxInt64 = static_cast<std::uint64_t>(INT64_MAX);

constexpr bool is_pow2(std::uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }
constexpr std::uint64_t align_down(std::uint64_t x, std::uint64_t a) { return x & ~(a - 1); }
constexpr std::uint64_t align_up(std::uint64_t x, std::uint64_t a) {
  return (x + a - 1) & ~(a - 1);
}

// EOPNOTSUPP: the file system (or device) does not do this fallocate mode.
bool unsupported(int ret) { return ret == -EOPNOTSUPP || ret == -ENOTSUP; }

class ReadLock {
 public:
  coroutine_fn explicit ReadLock(corolib::CoRwlock& lock) : lock_(lock) { lock_.rdlock(); }
  ReadLock(const ReadLock&) = delete;
  ReadLock& operator=(const ReadLock&) = delete;
  ~ReadLock() { lock_.unlock(); }

 private:
  corolib::CoRwlock& lock_;
};

class WriteLock {
 public:
  coroutine_fn explicit WriteLock(corolib::CoRwlock& lock) : lock_(lock) { lock_.wrlock(); }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;
  ~WriteLock() { lock_.unlock(); }

 private:
  corolib::CoRwlock& lock_;
};

// A position inside an iovec array: iov[index], `skip` bytes in. Normalised
// so that skip < iov[index].iov_len unless index == iov.size().
struct IovCursor {
  std::size_t index = 0;
  std::size_t skip = 0;

  void advance(std::span<const iovec> iov, std::size_t bytes) {
    while (index < iov.size()) {
      const std::size_t left = iov[index].iov_len - skip;
      if (bytes < left) {
        skip += bytes;
        return;
      }
      bytes -= left;
      ++index;
      skip = 0;
    }
  }
};

// Copies n bytes between iov (from byte position pos) and flat memory.
void copy_from_iov(std::span<const iovec> iov, std::size_t pos, char* dst, std::size_t n) {
  IovCursor c;
  c.advance(iov, pos);
  while (n > 0 && c.index < iov.size()) {
    const std::size_t take = std::min(n, iov[c.index].iov_len - c.skip);
    std::memcpy(dst, static_cast<const char*>(iov[c.index].iov_base) + c.skip, take);
    dst += take;
    n -= take;
    c.advance(iov, take);
  }
}

void copy_to_iov(std::span<const iovec> iov, std::size_t pos, const char* src, std::size_t n) {
  IovCursor c;
  c.advance(iov, pos);
  while (n > 0 && c.index < iov.size()) {
    const std::size_t take = std::min(n, iov[c.index].iov_len - c.skip);
    std::memcpy(static_cast<char*>(iov[c.index].iov_base) + c.skip, src, take);
    src += take;
    n -= take;
    c.advance(iov, take);
  }
}

// Zeroes iov from the cursor to the end.
void zero_iov(std::span<const iovec> iov, IovCursor c) {
  for (; c.index < iov.size(); ++c.index, c.skip = 0) {
    std::memset(static_cast<char*>(iov[c.index].iov_base) + c.skip, 0,
                iov[c.index].iov_len - c.skip);
  }
}

// The rest of iov from the cursor, for a resubmission: either the tail of
// the array as is, or the one partly done iovec (the next resubmission then
// continues with the array).
std::span<const iovec> remainder(std::span<const iovec> iov, const IovCursor& c, iovec* part) {
  if (c.skip == 0) return iov.subspan(c.index);
  *part = iovec{static_cast<char*>(iov[c.index].iov_base) + c.skip, iov[c.index].iov_len - c.skip};
  return {part, 1};
}

std::string errno_message(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace

// --- opening -----------------------------------------------------------------

OpenResult RawDevice::open(const DeviceOptions& options, RawDeviceHooks* hooks) {
  auto fail = [](int err, std::string message) {
    OpenResult result;
    result.error = err;
    result.message = std::move(message);
    return result;
  };
  if (options.format != DeviceFormat::raw) {
    return fail(-EINVAL, std::string("format: the raw driver cannot open format=") +
                             format_name(options.format));
  }
  const std::string& path = options.path;
  if (path.empty()) return fail(-EINVAL, "file: a path is required for format=raw");

  int flags = (options.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (options.cache == CacheMode::none) flags |= O_DIRECT;

  int fd = ::open(path.c_str(), flags);
  if (fd < 0 && errno == ENOENT && options.create) {
    if (options.size == 0) {
      return fail(-EINVAL, "size: required with create=on (" + path + " does not exist)");
    }
    if (options.size > kMaxInt64) return fail(-EFBIG, "size: too large");
    const int created = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (created >= 0) {
      if (::ftruncate(created, static_cast<off_t>(options.size)) < 0) {
        const int err = errno;
        ::close(created);
        ::unlink(path.c_str());
        return fail(-err, errno_message("create " + path, err));
      }
      ::close(created);
    } else if (errno != EEXIST) {  // EEXIST: someone else created it meanwhile
      const int err = errno;
      return fail(-err, errno_message("create " + path, err));
    }
    fd = ::open(path.c_str(), flags);
  }
  if (fd < 0) {
    const int err = errno;
    if (err == EINVAL && (flags & O_DIRECT) != 0) {
      return fail(-EINVAL, "cache=none: " + path + " does not support O_DIRECT");
    }
    return fail(-err, errno_message("open " + path, err));
  }

  std::unique_ptr<RawDevice> dev(new RawDevice);
  dev->fd_ = fd;  // closed by the destructor from here on
  dev->path_ = path;
  dev->cache_ = options.cache;
  dev->direct_ = options.cache == CacheMode::none;
  dev->hooks_ = hooks;

  struct stat st {};
  if (::fstat(fd, &st) < 0) {
    const int err = errno;
    return fail(-err, errno_message("stat " + path, err));
  }
  std::uint64_t file_size = 0;
  std::uint32_t logical_block = 512;
  if (S_ISREG(st.st_mode)) {
    file_size = static_cast<std::uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    dev->is_block_device_ = true;
    if (::ioctl(fd, BLKGETSIZE64, &file_size) < 0) {
      const int err = errno;
      return fail(-err, errno_message("BLKGETSIZE64 " + path, err));
    }
    int sector = 0;
    if (::ioctl(fd, BLKSSZGET, &sector) == 0 && sector > 0) {
      logical_block = static_cast<std::uint32_t>(sector);
    }
  } else {
    return fail(-EINVAL, "file: " + path + " is not a regular file or a block device");
  }

  std::uint64_t size = options.size != 0 ? options.size : file_size;
  if (size > kMaxInt64) return fail(-EFBIG, "size: too large");
  if (dev->is_block_device_ && size > file_size) {
    return fail(-EINVAL, "size: " + std::to_string(size) + " is larger than the block device " +
                             path + " (" + std::to_string(file_size) + " bytes)");
  }
  dev->set_size(size);

  // O_DIRECT alignment: what statx says, else the logical block size of a
  // block device, else a safe 4096.
  if (dev->direct_) {
    std::uint32_t align = 0;
    std::uint32_t mem_align = 0;
    struct statx stx {};
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
        (stx.stx_mask & STATX_DIOALIGN) != 0 && stx.stx_dio_offset_align != 0) {
      align = stx.stx_dio_offset_align;
      mem_align = stx.stx_dio_mem_align;
    } else if (dev->is_block_device_) {
      align = logical_block;
    } else {
      align = kDefaultDirectAlign;
    }
    if (hooks != nullptr && hooks->request_alignment != 0) align = hooks->request_alignment;
    if (mem_align == 0) mem_align = align;
    if (!is_pow2(align) || !is_pow2(mem_align)) {
      return fail(-EINVAL, "cache=none: unusable O_DIRECT alignment for " + path);
    }
    dev->align_ = align;
    dev->mem_align_ = mem_align;
    const std::size_t bounce_align = std::max<std::size_t>({mem_align, align, 64});
    const std::size_t bounce_size = std::max<std::size_t>(kBounceSize, 2 * std::size_t{align});
    dev->bounce_ = std::make_unique<BouncePool>(bounce_size, bounce_align, kBounceCached);
  }
  dev->zero_align_ = dev->is_block_device_ ? logical_block : 1;
  dev->inline_io_ = !dev->direct_ && options.inline_io;
  if (dev->inline_io_ && !options.readonly) dev->inline_gate_ = std::make_unique<InlineWriteGate>();

  BlockLimits& l = dev->limits_;
  l.request_alignment = dev->align_;
  l.memory_alignment = dev->mem_align_;
  l.preferred_size = std::max<std::uint32_t>(
      dev->align_, std::max<std::uint32_t>(4096, static_cast<std::uint32_t>(st.st_blksize)));
  if (!is_pow2(l.preferred_size)) l.preferred_size = std::max<std::uint32_t>(4096, dev->align_);
  l.read_only = options.readonly;
  l.needs_flush = options.cache != CacheMode::unsafe && !options.readonly;
  l.supports_fua = true;  // RWF_DSYNC (ignored with cache=unsafe)
  l.supports_discard = true;
  l.supports_write_zeroes = true;
  l.supports_fast_zero = true;
  l.supports_block_status = !dev->is_block_device_;
  l.supports_resize = !dev->is_block_device_ && !options.readonly;
  l.supports_prefetch = !dev->direct_;

  OpenResult result;
  result.device = std::move(dev);
  return result;
}

RawDevice::~RawDevice() {
  if (fd_ >= 0) ::close(fd_);
}

// --- system calls --------------------------------------------------------------

namespace {

template <class Submit>
coroutine_fn int hooked(RawDeviceHooks* hooks, const RawDeviceHooks::Call& call,
                        std::atomic<std::uint64_t>& counter, Submit&& submit) {
  counter.fetch_add(1, std::memory_order_relaxed);
  if (hooks->before) {
    if (std::optional<int> result = hooks->before(call)) return *result;
  }
  const int result = submit();
  return hooks->after ? hooks->after(call, result) : result;
}

// Runs a synchronous I/O system call until it is not interrupted: returns
// the bytes it transferred or -errno.
template <class Call>
int retry_eintr(Call call) {
  ssize_t ret;
  do {
    ret = call();
  } while (ret < 0 && errno == EINTR);
  return ret < 0 ? -errno : static_cast<int>(ret);
}

}  // namespace

// Page-cache reads are tried inline with RWF_NOWAIT: a hit completes at
// once, -EAGAIN (not cached) goes to the ring.
coroutine_fn int RawDevice::sys_preadv(std::uint64_t offset, std::span<const iovec> iov) {
  if (inline_io_ && nowait_reads_.load(std::memory_order_relaxed)) {
    const int ret = inline_preadv(offset, iov);
    if (ret != -EAGAIN && ret != -EOPNOTSUPP) return ret;
    if (ret == -EOPNOTSUPP) nowait_reads_.store(false, std::memory_order_relaxed);  // tmpfs
  }
  return ring_preadv(offset, iov);
}

coroutine_fn int RawDevice::ring_preadv(std::uint64_t offset, std::span<const iovec> iov) {
  auto submit = [&] {
    return corolib::co_preadv(fd_, iov.data(), static_cast<int>(iov.size()),
                              static_cast<std::int64_t>(offset));
  };
  if (hooks_ == nullptr) return submit();
  return hooked(hooks_, {RawDeviceHooks::Op::read, offset, iov_size(iov), 0}, hooks_->reads,
                submit);
}

coroutine_fn int RawDevice::inline_preadv(std::uint64_t offset, std::span<const iovec> iov) {
  auto submit = [&] {
    return retry_eintr([&] {
      return ::preadv2(fd_, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(offset),
                       RWF_NOWAIT);
    });
  };
  if (hooks_ == nullptr) return submit();
  hooks_->inline_reads.fetch_add(1, std::memory_order_relaxed);
  RawDeviceHooks::Call call{RawDeviceHooks::Op::read, offset, iov_size(iov), RWF_NOWAIT};
  call.inline_io = true;
  return hooked(hooks_, call, hooks_->reads, submit);
}

// Page-cache writes without RWF_DSYNC are done inline: with RWF_NOWAIT
// while the file system takes it (it then never blocks; -EAGAIN sends the
// write to the ring), else plainly while the stall gate is open. FUA writes
// wait for the disk and always go through the ring.
coroutine_fn int RawDevice::sys_pwritev(std::uint64_t offset, std::span<const iovec> iov,
                                        int rw_flags) {
  if (inline_gate_ != nullptr && (rw_flags & RWF_DSYNC) == 0) {
    if (nowait_writes_.load(std::memory_order_relaxed)) {
      const int ret = inline_pwritev(offset, iov, rw_flags | RWF_NOWAIT);
      if (ret != -EOPNOTSUPP) {
        return ret == -EAGAIN ? ring_pwritev(offset, iov, rw_flags) : ret;
      }
      nowait_writes_.store(false, std::memory_order_relaxed);  // ext4, tmpfs, block devices
    }
    if (inline_gate_->open(now())) return inline_pwritev(offset, iov, rw_flags);
  }
  return ring_pwritev(offset, iov, rw_flags);
}

coroutine_fn int RawDevice::ring_pwritev(std::uint64_t offset, std::span<const iovec> iov,
                                         int rw_flags) {
  auto submit = [&] {
    return corolib::co_pwritev(fd_, iov.data(), static_cast<int>(iov.size()),
                               static_cast<std::int64_t>(offset), rw_flags);
  };
  if (hooks_ == nullptr) return submit();
  if ((rw_flags & RWF_DSYNC) != 0) hooks_->dsync_writes.fetch_add(1, std::memory_order_relaxed);
  return hooked(hooks_, {RawDeviceHooks::Op::write, offset, iov_size(iov), rw_flags},
                hooks_->writes, submit);
}

coroutine_fn int RawDevice::inline_pwritev(std::uint64_t offset, std::span<const iovec> iov,
                                           int rw_flags) {
  auto submit = [&] {
    const auto start = now();
    const int result = retry_eintr([&] {
      return ::pwritev2(fd_, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(offset),
                        rw_flags);
    });
    // A write that may block is timed; one with RWF_NOWAIT cannot block.
    if ((rw_flags & RWF_NOWAIT) == 0) inline_gate_->record(start, now());
    return result;
  };
  if (hooks_ == nullptr) return submit();
  hooks_->inline_writes.fetch_add(1, std::memory_order_relaxed);
  RawDeviceHooks::Call call{RawDeviceHooks::Op::write, offset, iov_size(iov), rw_flags};
  call.inline_io = true;
  return hooked(hooks_, call, hooks_->writes, submit);
}

InlineWriteGate::Clock::time_point RawDevice::now() const {
  if (hooks_ != nullptr && hooks_->clock) return hooks_->clock();
  return InlineWriteGate::Clock::now();
}

coroutine_fn int RawDevice::sys_fdatasync() {
  auto submit = [&] { return corolib::co_fdatasync(fd_); };
  if (hooks_ == nullptr) return submit();
  return hooked(hooks_, {RawDeviceHooks::Op::fdatasync, 0, 0, 0}, hooks_->fdatasyncs, submit);
}

coroutine_fn int RawDevice::sys_fallocate(int mode, std::uint64_t offset, std::uint64_t length) {
  auto submit = [&] {
    return corolib::co_fallocate(fd_, mode, static_cast<std::int64_t>(offset),
                                 static_cast<std::int64_t>(length));
  };
  if (hooks_ == nullptr) return submit();
  return hooked(hooks_, {RawDeviceHooks::Op::fallocate, offset, length, mode}, hooks_->fallocates,
                submit);
}

// --- whole transfers -------------------------------------------------------------

coroutine_fn int RawDevice::read_full(std::uint64_t offset, std::span<const iovec> iov,
                                      std::size_t bytes) {
  std::size_t done = 0;
  IovCursor cursor;
  while (done < bytes) {
    iovec part;
    const int ret = sys_preadv(offset + done, remainder(iov, cursor, &part));
    if (ret < 0) return ret;
    if (ret == 0) break;  // end of file
    const auto n = std::min<std::size_t>(static_cast<std::size_t>(ret), bytes - done);
    done += n;
    cursor.advance(iov, n);
    // O_DIRECT transfers whole blocks; one that stops inside a block has
    // met the end of the file (and could not be resubmitted from there).
    if (direct_ && done < bytes && (offset + done) % align_ != 0) break;
  }
  if (done < bytes) zero_iov(iov, cursor);
  return 0;
}

coroutine_fn int RawDevice::write_full(std::uint64_t offset, std::span<const iovec> iov,
                                       std::size_t bytes, int rw_flags) {
  std::size_t done = 0;
  IovCursor cursor;
  while (done < bytes) {
    iovec part;
    const int ret = sys_pwritev(offset + done, remainder(iov, cursor, &part), rw_flags);
    if (ret < 0) return ret;
    if (ret == 0) return -ENOSPC;  // no progress
    const auto n = std::min<std::size_t>(static_cast<std::size_t>(ret), bytes - done);
    done += n;
    cursor.advance(iov, n);
  }
  return 0;
}

// --- reads and writes ------------------------------------------------------------------

bool RawDevice::is_direct_aligned(std::uint64_t offset, std::span<const iovec> iov,
                                  std::size_t bytes) const {
  const std::uint64_t amask = align_ - 1;
  if (((offset | bytes) & amask) != 0) return false;
  const std::uintptr_t mmask = mem_align_ - 1;
  for (const iovec& v : iov) {
    if ((reinterpret_cast<std::uintptr_t>(v.iov_base) & mmask) != 0 || (v.iov_len & amask) != 0) {
      return false;
    }
  }
  return true;
}

int RawDevice::fua_rw_flags(WriteFlags flags) const {
  return has(flags, WriteFlags::fua) && cache_ != CacheMode::unsafe ? RWF_DSYNC : 0;
}

coroutine_fn int RawDevice::do_read(std::uint64_t offset, std::span<const iovec> iov,
                                    std::size_t bytes) {
  if (!direct_ || is_direct_aligned(offset, iov, bytes)) return read_full(offset, iov, bytes);
  return read_bounced(offset, iov, bytes);
}

coroutine_fn int RawDevice::do_write(std::uint64_t offset, std::span<const iovec> iov,
                                     std::size_t bytes, int rw_flags) {
  if (!direct_) return write_full(offset, iov, bytes, rw_flags);
  if (is_direct_aligned(offset, iov, bytes)) {
    TrackedRequest tracked(tracker_, offset, bytes, false);
    return write_full(offset, iov, bytes, rw_flags);
  }
  return write_bounced(offset, iov, bytes, rw_flags);
}

coroutine_fn int RawDevice::read_bounced(std::uint64_t offset, std::span<const iovec> iov,
                                         std::size_t bytes) {
  BounceBuffer buf(*bounce_);
  if (!buf) return -ENOMEM;
  const std::uint64_t end = offset + bytes;
  const std::uint64_t a0 = align_down(offset, align_);
  const std::uint64_t a1 = align_up(end, align_);
  for (std::uint64_t c0 = a0; c0 < a1; c0 += buf.size()) {
    const std::uint64_t c1 = std::min<std::uint64_t>(c0 + buf.size(), a1);
    const iovec v{buf.data(), c1 - c0};
    if (int ret = read_full(c0, {&v, 1}, c1 - c0); ret < 0) return ret;
    const std::uint64_t s = std::max(offset, c0);
    const std::uint64_t e = std::min(end, c1);
    copy_to_iov(iov, s - offset, buf.data() + (s - c0), e - s);
  }
  return 0;
}

// An unaligned (or badly buffered) O_DIRECT write: the covering aligned span
// is written from bounce buffers, chunk by chunk. The partial blocks at its
// ends are read first (read-modify-write); the whole span is registered as
// serialising meanwhile, so no overlapping write can slip in between the
// read and the write and be lost.
coroutine_fn int RawDevice::write_bounced(std::uint64_t offset, std::span<const iovec> iov,
                                          std::size_t bytes, int rw_flags) {
  const std::uint64_t end = offset + bytes;
  const std::uint64_t a0 = align_down(offset, align_);
  const std::uint64_t a1 = align_up(end, align_);
  const bool head_partial = a0 != offset;
  const bool tail_partial = a1 != end;
  TrackedRequest tracked(tracker_, a0, a1 - a0, head_partial || tail_partial);

  BounceBuffer buf(*bounce_);
  if (!buf) return -ENOMEM;
  for (std::uint64_t c0 = a0; c0 < a1; c0 += buf.size()) {
    const std::uint64_t c1 = std::min<std::uint64_t>(c0 + buf.size(), a1);
    bool head_read = false;
    if (c0 == a0 && head_partial) {
      const iovec v{buf.data(), align_};
      if (int ret = read_full(a0, {&v, 1}, align_); ret < 0) return ret;
      head_read = true;
    }
    if (c1 == a1 && tail_partial && !(head_read && a1 - align_ == a0)) {
      const iovec v{buf.data() + (a1 - align_ - c0), align_};
      if (int ret = read_full(a1 - align_, {&v, 1}, align_); ret < 0) return ret;
    }
    const std::uint64_t s = std::max(offset, c0);
    const std::uint64_t e = std::min(end, c1);
    copy_from_iov(iov, s - offset, buf.data() + (s - c0), e - s);
    const iovec v{buf.data(), c1 - c0};
    if (int ret = write_full(c0, {&v, 1}, c1 - c0, rw_flags); ret < 0) return ret;
  }
  return 0;
}

coroutine_fn int RawDevice::preadv(std::uint64_t offset, std::span<const iovec> iov) {
  corolib::assert_in_coroutine("RawDevice::preadv");
  if (iov.size() > limits_.max_iov) return -EINVAL;
  const std::size_t bytes = iov_size(iov);
  if (bytes > limits_.max_transfer) return -EINVAL;
  ReadLock lock(resize_lock_);
  if (int ret = check_range(size(), offset, bytes, -EINVAL)) return ret;
  if (bytes == 0) return 0;
  return do_read(offset, iov, bytes);
}

coroutine_fn int RawDevice::pwritev(std::uint64_t offset, std::span<const iovec> iov,
                                    WriteFlags flags) {
  corolib::assert_in_coroutine("RawDevice::pwritev");
  if (limits_.read_only) return -EPERM;
  if (iov.size() > limits_.max_iov) return -EINVAL;
  const std::size_t bytes = iov_size(iov);
  if (bytes > limits_.max_transfer) return -EINVAL;
  ReadLock lock(resize_lock_);
  if (int ret = check_range(size(), offset, bytes, -ENOSPC)) return ret;
  if (bytes == 0) return 0;
  const int ret = do_write(offset, iov, bytes, fua_rw_flags(flags));
  if (ret == 0) note_modified();
  return ret;
}

// --- flush ---------------------------------------------------------------------------

coroutine_fn int RawDevice::flush() {
  corolib::assert_in_coroutine("RawDevice::flush");
  if (!limits_.needs_flush) return 0;
  ReadLock lock(resize_lock_);
  const std::uint64_t gen = write_gen_.load(std::memory_order_acquire);
  if (flushed_gen_.load(std::memory_order_acquire) == gen) return 0;  // nothing new
  if (int ret = sys_fdatasync(); ret < 0) return ret;
  std::uint64_t seen = flushed_gen_.load(std::memory_order_relaxed);
  while (seen < gen && !flushed_gen_.compare_exchange_weak(seen, gen, std::memory_order_release,
                                                           std::memory_order_relaxed)) {
  }
  return 0;
}

// --- discard and write-zeroes ------------------------------------------------------------

coroutine_fn int RawDevice::discard(std::uint64_t offset, std::uint64_t length,
                                    WriteFlags flags) {
  corolib::assert_in_coroutine("RawDevice::discard");
  if (limits_.read_only) return -EPERM;
  ReadLock lock(resize_lock_);
  if (int ret = check_range(size(), offset, length, -EINVAL)) return ret;
  // Block devices take whole logical blocks only; discard is advisory, so
  // the partial blocks at the ends are simply left alone.
  const std::uint64_t start = align_up(offset, zero_align_);
  const std::uint64_t stop = align_down(offset + length, zero_align_);
  if (stop <= start || no_punch_hole_.load(std::memory_order_relaxed)) return 0;
  int ret;
  {
    std::optional<TrackedRequest> tracked;
    if (direct_) tracked.emplace(tracker_, start, stop - start, false);
    ret = sys_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, start, stop - start);
  }
  if (unsupported(ret)) {
    no_punch_hole_.store(true, std::memory_order_relaxed);
    return 0;
  }
  if (ret < 0) return ret;
  note_modified();
  if (has(flags, WriteFlags::fua) && cache_ != CacheMode::unsafe) return sys_fdatasync();
  return 0;
}

// Zeroes the range without writing a buffer: 0, -ENOTSUP when the file
// system cannot, or another -errno.
coroutine_fn int RawDevice::zero_fallocate(std::uint64_t offset, std::uint64_t length,
                                           WriteFlags flags) {
  const bool may_unmap = has(flags, WriteFlags::may_unmap);
  if (is_block_device_) {
    // PUNCH_HOLE on a block device zeroes with unmap and no fallback;
    // ZERO_RANGE lets the kernel fall back to writing zeroes itself (not
    // fast). Both need whole logical blocks.
    if (((offset | length) & (zero_align_ - 1)) != 0) return -ENOTSUP;
    int mode;
    if (may_unmap && !no_punch_hole_.load(std::memory_order_relaxed)) {
      mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    } else if (!has(flags, WriteFlags::fast_only) && !no_zero_range_.load(std::memory_order_relaxed)) {
      mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
    } else {
      return -ENOTSUP;
    }
    const int ret = sys_fallocate(mode, offset, length);
    if (unsupported(ret)) return -ENOTSUP;  // may depend on the range: keep trying
    return ret;
  }
  if (may_unmap && !no_punch_hole_.load(std::memory_order_relaxed)) {
    const int ret = sys_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
    if (!unsupported(ret)) return ret;
    no_punch_hole_.store(true, std::memory_order_relaxed);
  }
  if (!no_zero_range_.load(std::memory_order_relaxed)) {
    const int ret = sys_fallocate(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length);
    if (!unsupported(ret)) return ret;
    no_zero_range_.store(true, std::memory_order_relaxed);
  }
  return -ENOTSUP;
}

// Writes zeroes from the shared zero buffer: the unaligned head and tail
// separately, so that the chunks between are aligned (zero-copy O_DIRECT).
coroutine_fn int RawDevice::write_zero_buffer(std::uint64_t offset, std::uint64_t length,
                                              int rw_flags) {
  char* zeroes = static_cast<char*>(const_cast<void*>(zero_buffer()));
  while (length > 0) {
    std::uint64_t n = std::min<std::uint64_t>(length, kZeroBufferSize);
    if (offset % align_ != 0) n = std::min<std::uint64_t>(n, align_up(offset, align_) - offset);
    const iovec v{zeroes, static_cast<std::size_t>(n)};
    if (int ret = do_write(offset, {&v, 1}, n, rw_flags); ret < 0) return ret;
    offset += n;
    length -= n;
  }
  return 0;
}

coroutine_fn int RawDevice::write_zeroes(std::uint64_t offset, std::uint64_t length,
                                         WriteFlags flags) {
  corolib::assert_in_coroutine("RawDevice::write_zeroes");
  if (limits_.read_only) return -EPERM;
  ReadLock lock(resize_lock_);
  if (int ret = check_range(size(), offset, length, -ENOSPC)) return ret;
  if (length == 0) return 0;
  int ret;
  {
    std::optional<TrackedRequest> tracked;
    if (direct_) tracked.emplace(tracker_, offset, length, false);
    ret = zero_fallocate(offset, length, flags);
  }
  if (ret == -ENOTSUP) {
    if (has(flags, WriteFlags::fast_only)) return -ENOTSUP;
    ret = write_zero_buffer(offset, length, fua_rw_flags(flags));
    if (ret == 0) note_modified();
    return ret;
  }
  if (ret < 0) return ret;
  note_modified();
  if (has(flags, WriteFlags::fua) && cache_ != CacheMode::unsafe) return sys_fdatasync();
  return 0;
}

// --- block status, prefetch, resize --------------------------------------------------------

coroutine_fn std::int64_t RawDevice::block_status(std::uint64_t offset, std::uint64_t length,
                                                  std::uint32_t* status) {
  corolib::assert_in_coroutine("RawDevice::block_status");
  if (length == 0) return -EINVAL;
  ReadLock lock(resize_lock_);
  if (int ret = check_range(size(), offset, length, -EINVAL)) return ret;
  length = std::min(length, kMaxInt64);
  const auto whole = static_cast<std::int64_t>(length);
  *status = 0;  // data, unless a hole is found
  if (is_block_device_) return whole;

  const off_t data = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0) {
    // ENXIO: no data at or after offset (a hole up to the end of the file,
    // or past the end of a file shorter than the device). Anything else
    // (no SEEK_DATA support): call it data.
    if (errno == ENXIO) *status = kStatusHole | kStatusZero;
    return whole;
  }
  if (static_cast<std::uint64_t>(data) > offset) {
    *status = kStatusHole | kStatusZero;
    return static_cast<std::int64_t>(std::min(static_cast<std::uint64_t>(data) - offset, length));
  }
  const off_t hole = ::lseek(fd_, static_cast<off_t>(offset), SEEK_HOLE);
  // A hole at offset right after SEEK_DATA found data there means a
  // concurrent discard: data is still a correct (conservative) answer.
  if (hole < 0 || static_cast<std::uint64_t>(hole) <= offset) return whole;
  return static_cast<std::int64_t>(std::min(static_cast<std::uint64_t>(hole) - offset, length));
}

coroutine_fn int RawDevice::prefetch(std::uint64_t offset, std::uint64_t length) {
  corolib::assert_in_coroutine("RawDevice::prefetch");
  ReadLock lock(resize_lock_);
  if (int ret = check_range(size(), offset, length, -EINVAL)) return ret;
  if (direct_ || length == 0) return 0;
  // A hint: errors are ignored. liburing 2.3 passes the length as 32 bits.
  const std::uint64_t len = std::min<std::uint64_t>(length, 0x7ffff000);
  const int fd = fd_;
  (void)corolib::co_submit([&](io_uring_sqe* sqe) {
    io_uring_prep_fadvise(sqe, fd, offset, static_cast<off_t>(len), POSIX_FADV_WILLNEED);
  });
  return 0;
}

coroutine_fn int RawDevice::resize(std::uint64_t new_size) {
  corolib::assert_in_coroutine("RawDevice::resize");
  if (limits_.read_only) return -EPERM;
  if (is_block_device_) return -ENOTSUP;
  if (new_size > kMaxInt64) return -EFBIG;
  WriteLock lock(resize_lock_);
  if (::ftruncate(fd_, static_cast<off_t>(new_size)) < 0) return -errno;
  set_size(new_size);
  note_modified();
  return 0;
}

}  // namespace blockdev
