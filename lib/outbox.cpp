#include "outbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "log.h"

namespace phonebus::outbox {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHeaderBytes = 16;
constexpr uint32_t kMaxRecordBytes = 16u << 20;
// Segments hold an eighth of the bound, so the acknowledged records waiting
// in the oldest segment cost at most that much disk; never below this size,
// which would only multiply file creations.
constexpr uint64_t kMinSegmentBytes = 64u << 10;
// Once this much of the active segment is acknowledged, the next append
// starts a new one. Large enough that a busy outbox creates a few files a
// second at most; small enough for a volume of a few MiB.
constexpr uint64_t kRollAcknowledgedBytes = 256u << 10;

struct Header {
  uint32_t length;
  uint32_t crc;
  uint64_t seq;
};

void EncodeHeader(const Header& h, char* out) {
  std::memcpy(out, &h.length, 4);
  std::memcpy(out + 4, &h.crc, 4);
  std::memcpy(out + 8, &h.seq, 8);
}

Header DecodeHeader(const char* in) {
  Header h;
  std::memcpy(&h.length, in, 4);
  std::memcpy(&h.crc, in + 4, 4);
  std::memcpy(&h.seq, in + 8, 8);
  return h;
}

uint32_t Crc(const std::string& data, uint64_t seq) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(&seq), sizeof seq);
  return static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError("outbox: " + what + ": " + std::strerror(errno));
}

std::string SegmentName(uint64_t first_seq) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "seg-%020llu.log", static_cast<unsigned long long>(first_seq));
  return buf;
}

// Reads exactly n bytes at offset; false at end of file or on error.
bool ReadAt(int fd, char* buf, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    buf += got, n -= static_cast<size_t>(got), offset += static_cast<uint64_t>(got);
  }
  return true;
}

bool WriteAll(int fd, const char* buf, size_t n) {
  while (n > 0) {
    const ssize_t put = ::write(fd, buf, n);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    buf += put, n -= static_cast<size_t>(put);
  }
  return true;
}

void SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

Outbox::Outbox(Options options)
    : options_(std::move(options)),
      segment_bytes_(
          std::min(options_.segment_bytes, std::max(options_.max_bytes / 8, kMinSegmentBytes))) {}

absl::StatusOr<std::unique_ptr<Outbox>> Outbox::Open(const Options& options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec)
    return absl::UnavailableError("outbox: cannot create " + options.dir + ": " + ec.message());
  std::unique_ptr<Outbox> box(new Outbox(options));
  if (auto st = box->Recover(); !st.ok()) return st;
  box->background_ = std::thread([b = box.get()] { b->BackgroundLoop(); });
  return box;
}

Outbox::~Outbox() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  background_cv_.notify_all();
  data_cv_.notify_all();
  if (background_.joinable()) background_.join();
  std::unique_lock lock(mu_);
  if (write_fd_ >= 0) {
    if (options_.durability == Durability::kFsync) ::fdatasync(write_fd_);
    ::close(write_fd_);
  }
  const uint64_t cursor = committed_seq_;
  lock.unlock();
  SaveCursor(cursor);
  if (reader_fd_ >= 0) ::close(reader_fd_);
}

absl::Status Outbox::Recover() {
  uint64_t cursor = 0;
  {
    std::ifstream in(options_.dir + "/cursor");
    // Missing or unreadable: replay everything (duplicates, never loss).
    if (!(in >> cursor)) cursor = 0;
  }
  std::vector<std::pair<uint64_t, std::string>> files;
  for (const auto& entry : fs::directory_iterator(options_.dir)) {
    const auto name = entry.path().filename().string();
    if (name.size() == 28 && name.rfind("seg-", 0) == 0 && name.ends_with(".log")) {
      files.emplace_back(std::stoull(name.substr(4, 20)), entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());

  uint64_t offset = 0;
  uint64_t expected_seq = files.empty() ? cursor : files.front().first;
  bool committed_found = false;
  committed_seq_ = cursor;
  for (const auto& [first_seq, path] : files) {
    const int fd = ::open(path.c_str(), O_RDWR);
    if (fd < 0) return Errno("open " + path);
    struct stat st {};
    ::fstat(fd, &st);
    uint64_t pos = 0;
    uint64_t seq = first_seq;
    char hdr[kHeaderBytes];
    std::string data;
    while (pos + kHeaderBytes <= static_cast<uint64_t>(st.st_size) &&
           ReadAt(fd, hdr, kHeaderBytes, pos)) {
      const Header h = DecodeHeader(hdr);
      if (h.seq != seq || h.length > kMaxRecordBytes ||
          pos + kHeaderBytes + h.length > static_cast<uint64_t>(st.st_size)) {
        break;
      }
      data.resize(h.length);
      if (!ReadAt(fd, data.data(), h.length, pos + kHeaderBytes) || Crc(data, h.seq) != h.crc)
        break;
      if (seq == cursor) {
        committed_offset_ = offset + pos;
        committed_found = true;
      }
      pos += kHeaderBytes + h.length;
      ++seq;
    }
    if (pos < static_cast<uint64_t>(st.st_size)) {
      log::Warn("outbox: cutting off a torn or corrupt tail",
                {{"segment", path},
                 {"valid_bytes", std::to_string(pos)},
                 {"file_bytes", std::to_string(st.st_size)}});
      if (::ftruncate(fd, static_cast<off_t>(pos)) != 0) {
        ::close(fd);
        return Errno("truncate " + path);
      }
    }
    ::close(fd);
    if (first_seq != expected_seq) {
      log::Warn("outbox: sequence gap between segments", {{"segment", path}});
    }
    if (seq <= cursor || pos == 0) {
      // Everything in it was acknowledged (or it holds nothing): drop it.
      fs::remove(path);
      continue;
    }
    segments_.push_back({first_seq, offset, path, pos});
    offset += pos;
    expected_seq = seq;
  }
  next_seq_ = std::max(expected_seq, cursor);
  write_offset_ = offset;
  if (!committed_found) {
    // Everything was acknowledged, or the cursor is older than the oldest
    // surviving record: start at the oldest record there is.
    committed_seq_ = segments_.empty() ? next_seq_ : segments_.front().first_seq;
    committed_offset_ = segments_.empty() ? offset : segments_.front().first_offset;
  }
  read_seq_ = committed_seq_;
  read_offset_ = committed_offset_;
  saved_cursor_ = committed_seq_;
  if (next_seq_ > committed_seq_) {
    log::Info("outbox: recovered records to publish",
              {{"records", std::to_string(next_seq_ - committed_seq_)},
               {"bytes", std::to_string(write_offset_ - committed_offset_)}});
  }
  std::lock_guard lock(mu_);
  return StartSegment();
}

// Order matters for a crash at any point: the new segment exists (and in
// kFsync mode its directory entry is synced, before any record in it can be
// reported durable) before the old one is closed, and segments are deleted
// only once wholly acknowledged. On failure the old segment stays active.
absl::Status Outbox::StartSegment() {
  const std::string path = options_.dir + "/" + SegmentName(next_seq_);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create " + path);
  if (options_.durability == Durability::kFsync) SyncDir(options_.dir);
  if (write_fd_ >= 0) {
    // Completions waiting for the flusher may cover records of the old segment.
    if (options_.durability == Durability::kFsync && ::fdatasync(write_fd_) != 0) {
      absl::Status st = Errno("fdatasync");  // not const: returned by move
      ::close(fd);
      ::unlink(path.c_str());
      return st;
    }
    ::close(write_fd_);
  }
  write_fd_ = fd;
  segments_.push_back({next_seq_, write_offset_, path, 0});
  DropAcknowledgedSegments();
  return absl::OkStatus();
}

bool Outbox::ShouldStartSegment() const {
  const Segment& active = segments_.back();
  if (active.size >= segment_bytes_) return true;
  // Enough of it acknowledged: with a new segment, the old one goes as soon
  // as the rest of it is acknowledged (within milliseconds with the broker
  // up) rather than when it is full.
  return committed_offset_ >=
         active.first_offset + std::min(segment_bytes_, kRollAcknowledgedBytes);
}

absl::Status Outbox::Append(const std::vector<std::string>& records, Done durable,
                            uint64_t* first_seq) {
  std::unique_lock lock(mu_);
  size_t total = 0;
  for (const auto& r : records) total += kHeaderBytes + r.size();
  if (write_offset_ - committed_offset_ + total > options_.max_bytes) {
    return absl::ResourceExhaustedError("outbox full");
  }
  if (ShouldStartSegment()) {
    if (auto st = StartSegment(); !st.ok()) return st;
  }
  // One write for the whole unit keeps it together in the file.
  std::string buf;
  buf.reserve(total);
  uint64_t seq = next_seq_;
  for (const auto& r : records) {
    char hdr[kHeaderBytes];
    EncodeHeader({static_cast<uint32_t>(r.size()), Crc(r, seq), seq}, hdr);
    buf.append(hdr, kHeaderBytes);
    buf.append(r);
    ++seq;
  }
  Segment& active = segments_.back();
  if (!WriteAll(write_fd_, buf.data(), buf.size())) {
    auto st = Errno("write");
    // Cut a partial write so the file stays a sequence of whole records.
    if (::ftruncate(write_fd_, static_cast<off_t>(active.size)) != 0) {
      log::Error("outbox: cannot cut a partial write", {{"error", std::strerror(errno)}});
    }
    return st;
  }
  active.size += buf.size();
  write_offset_ += buf.size();
  if (first_seq) *first_seq = next_seq_;
  next_seq_ = seq;
  if (options_.durability == Durability::kFsync) {
    pending_sync_.push_back(std::move(durable));
    lock.unlock();
    background_cv_.notify_one();
    data_cv_.notify_one();
    return absl::OkStatus();
  }
  lock.unlock();
  data_cv_.notify_one();
  durable(absl::OkStatus());
  return absl::OkStatus();
}

int Outbox::ReaderFd(const std::string& path) {
  if (path != reader_path_) {
    if (reader_fd_ >= 0) ::close(reader_fd_);
    reader_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    reader_path_ = path;
  }
  return reader_fd_;
}

std::vector<Entry> Outbox::Read(size_t max, std::chrono::milliseconds timeout) {
  std::vector<Entry> out;
  std::unique_lock lock(mu_);
  data_cv_.wait_for(lock, timeout, [&] { return read_seq_ < next_seq_ || wake_ || stop_; });
  wake_ = false;
  if (reader_fd_ >= 0 && reader_path_ < segments_.front().path) {
    // Its segment was deleted; an open descriptor would keep its blocks in use.
    ::close(reader_fd_);
    reader_fd_ = -1;
    reader_path_.clear();
  }
  // In kFsync mode a record may be published before its sync completes: the
  // phone is answered only after the sync, and an extra event is harmless.
  while (out.size() < max && read_seq_ < next_seq_) {
    // Find the segment holding read_offset_.
    size_t index = segments_.size() - 1;
    while (index > 0 && segments_[index].first_offset > read_offset_) --index;
    const Segment seg = segments_[index];
    if (read_offset_ >= seg.first_offset + seg.size) {
      if (index + 1 >= segments_.size()) break;  // nothing more written yet
      read_offset_ = segments_[index + 1].first_offset;
      continue;
    }
    const uint64_t pos = read_offset_ - seg.first_offset;
    lock.unlock();
    // By path, not index: acknowledgements may drop front segments meanwhile.
    const int fd = ReaderFd(seg.path);
    char hdr[kHeaderBytes];
    Entry entry{};
    bool ok = fd >= 0 && ReadAt(fd, hdr, kHeaderBytes, pos);
    Header h{};
    if (ok) {
      h = DecodeHeader(hdr);
      entry.seq = h.seq;
      entry.data.resize(h.length);
      ok = h.length <= kMaxRecordBytes &&
           ReadAt(fd, entry.data.data(), h.length, pos + kHeaderBytes);
    }
    lock.lock();
    if (!ok) {
      log::Error("outbox: cannot read record",
                 {{"segment", seg.path}, {"offset", std::to_string(pos)}});
      break;
    }
    read_offset_ += kHeaderBytes + h.length;
    read_seq_ = h.seq + 1;
    window_.push_back({h.seq, read_offset_, false});
    out.push_back(std::move(entry));
  }
  return out;
}

bool Outbox::Ack(uint64_t seq) {
  std::lock_guard lock(mu_);
  if (seq < committed_seq_) return true;                           // already committed
  if (window_.empty() || seq < window_.front().seq) return false;  // from before a Rewind
  const uint64_t index = seq - window_.front().seq;
  if (index >= window_.size()) return false;  // from before a Rewind; will be read again
  window_[index].acked = true;
  AdvanceCommitted();
  return true;
}

void Outbox::AdvanceCommitted() {
  bool advanced = false;
  while (!window_.empty() && window_.front().acked) {
    committed_seq_ = window_.front().seq + 1;
    committed_offset_ = window_.front().end_offset;
    window_.pop_front();
    advanced = true;
  }
  if (!advanced) return;
  DropAcknowledgedSegments();
  background_cv_.notify_one();
}

// Segments whose every record is acknowledged (never the active one). A
// stale cursor on disk does not matter: recovery starts at the oldest
// surviving record, which is at or before the first unacknowledged one.
void Outbox::DropAcknowledgedSegments() {
  while (segments_.size() > 1 && segments_[1].first_seq <= committed_seq_) {
    std::error_code ec;
    fs::remove(segments_.front().path, ec);
    segments_.pop_front();
  }
}

void Outbox::Rewind() {
  std::lock_guard lock(mu_);
  window_.clear();
  read_seq_ = committed_seq_;
  read_offset_ = committed_offset_;
}

void Outbox::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  data_cv_.notify_all();
}

uint64_t Outbox::depth() const {
  std::lock_guard lock(mu_);
  return next_seq_ - committed_seq_;
}

uint64_t Outbox::oldest_unacknowledged() const {
  std::lock_guard lock(mu_);
  return committed_seq_;
}

uint64_t Outbox::bytes() const {
  std::lock_guard lock(mu_);
  return write_offset_ - committed_offset_;
}

void Outbox::SaveCursor(uint64_t seq) {
  const std::string tmp = options_.dir + "/cursor.tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const std::string text = std::to_string(seq) + "\n";
  const bool ok = WriteAll(fd, text.data(), text.size()) &&
                  (options_.durability == Durability::kOs || ::fdatasync(fd) == 0);
  ::close(fd);
  // A failed save (disk full) must not leave its blocks behind.
  if (!ok || ::rename(tmp.c_str(), (options_.dir + "/cursor").c_str()) != 0) ::unlink(tmp.c_str());
}

// Group fsync (kFsync) and periodic cursor saves, off the request path.
void Outbox::BackgroundLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    background_cv_.wait_for(lock, options_.cursor_interval,
                            [&] { return stop_ || !pending_sync_.empty(); });
    if (!pending_sync_.empty()) {
      std::vector<Done> batch;
      batch.swap(pending_sync_);
      const int fd = ::dup(write_fd_);
      lock.unlock();
      // Appends keep landing while we sync; they wait for the next round.
      const bool ok = fd >= 0 && ::fdatasync(fd) == 0;
      const absl::Status st = ok ? absl::OkStatus() : Errno("fdatasync");
      if (fd >= 0) ::close(fd);
      for (auto& done : batch) done(st);
      lock.lock();
    }
    if (committed_seq_ != saved_cursor_) {
      const uint64_t cursor = committed_seq_;
      lock.unlock();
      SaveCursor(cursor);
      lock.lock();
      saved_cursor_ = cursor;
    }
  }
}

}  // namespace phonebus::outbox
