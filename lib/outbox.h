// A durable, bounded FIFO of opaque records on local disk: what makes "answered
// 200" mean "will reach the broker", through broker outages and process kills.
//
// Records are appended to segment files (seg-<first seq>.log), each record
// framed as [u32 length][u32 crc32][u64 seq][bytes]. One consumer reads them in
// order and acknowledges each one when the broker has it; the oldest
// unacknowledged sequence number is saved in `cursor`, and segments wholly
// before it are deleted. After a crash, reading starts again at the cursor, so
// delivery is at-least-once (consumers de-duplicate by event id). A torn tail
// (power loss mid-write) fails its CRC and is cut off at start-up.
//
// Disk use stays near what is unacknowledged: segments are sized from the
// bound (an eighth of it, at most `segment_bytes`), and once 256 KiB of the
// active segment is acknowledged a new one is started at the next append, so
// the old one goes as soon as the rest of it is acknowledged: published
// events do not fill even a volume smaller than a segment. A segment is
// only ever deleted when every record in it is acknowledged, after its
// successor exists (and, in kFsync mode, that creation is synced): a crash at
// any point leaves either the old segment (re-sent, duplicates) or nothing
// that was still needed.
//
// Durability modes:
//   kOs:    Append returns once write() has handed the bytes to the kernel:
//           survives a crash or SIGKILL of the process.
//   kFsync: Append's completion waits for the next group fdatasync: survives
//           power loss. Concurrent appends share one fsync.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace phonebus::outbox {

enum class Durability { kOs, kFsync };

struct Options {
  std::string dir;
  uint64_t max_bytes = 256ull << 20;    // bound on unacknowledged data; then Append fails
  uint64_t segment_bytes = 8ull << 20;  // largest segment; smaller when max_bytes is small
  Durability durability = Durability::kOs;
  // How often the read cursor is saved; a stale cursor only means re-sends.
  std::chrono::milliseconds cursor_interval{50};
};

struct Entry {
  uint64_t seq;
  std::string data;
};

class Outbox {
 public:
  // Opens (creating if needed) and recovers the outbox in `options.dir`.
  static absl::StatusOr<std::unique_ptr<Outbox>> Open(const Options& options);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Appends `records` as one unit (all or none). Fails with ResourceExhausted
  // when the outbox is full, Unavailable on an I/O error (disk full); then
  // nothing was written and `durable` is never called. Otherwise `durable` is
  // called once the records are durable as the mode promises: in kOs mode
  // before Append returns, in kFsync mode from the flusher after its fsync
  // (with an error if the fsync failed).
  // `first_seq`, when given, is set to the first record's sequence number.
  using Done = std::function<void(absl::Status)>;
  absl::Status Append(const std::vector<std::string>& records, Done durable,
                      uint64_t* first_seq = nullptr);

  // Consumer side: one thread reads; Ack may come from any thread.
  // Waits up to `timeout` for records past the read position; returns at most `max`.
  std::vector<Entry> Read(size_t max, std::chrono::milliseconds timeout);
  // The broker has record `seq` (or it was moved out of the way). False when
  // the acknowledgement came from before a Rewind and the record will be read again.
  bool Ack(uint64_t seq);
  // The next Read starts again at the oldest unacknowledged record (after a
  // reconnect, when what was in flight may be lost).
  void Rewind();
  // Wakes a Read that is waiting.
  void Wake();

  uint64_t depth() const;                  // records appended and not yet acknowledged
  uint64_t oldest_unacknowledged() const;  // sequence number
  uint64_t bytes() const;                  // bytes of those records on disk
  uint64_t max_bytes() const { return options_.max_bytes; }
  const std::string& dir() const { return options_.dir; }

 private:
  struct Segment {
    uint64_t first_seq;
    uint64_t first_offset;  // global byte offset of the file's start
    std::string path;
    uint64_t size = 0;  // bytes of whole records
  };
  struct InFlight {
    uint64_t seq;
    uint64_t end_offset;  // global offset just past the record
    bool acked;
  };

  explicit Outbox(Options options);
  absl::Status Recover();
  absl::Status StartSegment();      // mu_ held
  bool ShouldStartSegment() const;  // mu_ held
  void AdvanceCommitted();          // mu_ held
  void DropAcknowledgedSegments();  // mu_ held
  void SaveCursor(uint64_t seq);
  void BackgroundLoop();
  int ReaderFd(const std::string& path);  // reader thread only

  const Options options_;
  const uint64_t segment_bytes_;  // from options_.segment_bytes and max_bytes
  mutable std::mutex mu_;
  std::condition_variable data_cv_;        // Read waits for appends
  std::condition_variable background_cv_;  // flusher waits for work
  std::deque<Segment> segments_;
  int write_fd_ = -1;
  uint64_t next_seq_ = 0;
  uint64_t write_offset_ = 0;
  // Reader position.
  uint64_t read_seq_ = 0;
  uint64_t read_offset_ = 0;
  bool wake_ = false;
  // Acknowledgement window, from the oldest unacknowledged record.
  std::deque<InFlight> window_;
  uint64_t committed_seq_ = 0;
  uint64_t committed_offset_ = 0;
  uint64_t saved_cursor_ = 0;
  // kFsync: completions waiting for the next fdatasync.
  std::vector<Done> pending_sync_;
  bool stop_ = false;
  std::thread background_;

  // Reader's cached descriptor.
  std::string reader_path_;
  int reader_fd_ = -1;
};

}  // namespace phonebus::outbox
