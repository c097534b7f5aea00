#include "outbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "dead_letters.h"
#include "outbox_publisher.h"
#include "temp_dir.h"

namespace phonebus::outbox {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class OutboxTest : public ::testing::TestWithParam<Durability> {
 protected:
  Options Opts() {
    Options o;
    o.dir = dir_.path();
    o.durability = GetParam();
    o.segment_bytes = 1024;  // many segments
    return o;
  }
  std::unique_ptr<Outbox> Open() {
    auto box = Outbox::Open(Opts());
    EXPECT_TRUE(box.ok()) << box.status();
    return std::move(*box);
  }
  // Appends and waits until durable.
  static void Put(Outbox& box, std::vector<std::string> records) {
    std::atomic<bool> done{false};
    absl::Status result;
    ASSERT_TRUE(box.Append(records,
                           [&](absl::Status st) {
                             result = st;
                             done = true;
                           })
                    .ok());
    while (!done) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(result.ok());
  }
  static std::vector<std::string> ReadAll(Outbox& box) {
    std::vector<std::string> out;
    for (;;) {
      auto entries = box.Read(1000, 10ms);
      if (entries.empty()) return out;
      for (auto& e : entries) out.push_back(e.data);
    }
  }
  const testing::TempDir dir_{"outbox"};
};

TEST_P(OutboxTest, ReadsBackInOrderAcrossSegments) {
  auto box = Open();
  for (int i = 0; i < 200; ++i) Put(*box, {"record-" + std::to_string(i)});
  const auto all = ReadAll(*box);
  ASSERT_EQ(all.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(all[i], "record-" + std::to_string(i));
  EXPECT_EQ(box->depth(), 200u);
}

TEST_P(OutboxTest, UnacknowledgedRecordsSurviveReopen) {
  {
    auto box = Open();
    for (int i = 0; i < 100; ++i) Put(*box, {"r" + std::to_string(i)});
    auto first = box->Read(40, 10ms);
    ASSERT_EQ(first.size(), 40u);
    for (auto& e : first) box->Ack(e.seq);
    EXPECT_EQ(box->depth(), 60u);
  }
  auto box = Open();
  EXPECT_EQ(box->depth(), 60u);
  const auto rest = ReadAll(*box);
  ASSERT_EQ(rest.size(), 60u);
  EXPECT_EQ(rest.front(), "r40");
  EXPECT_EQ(rest.back(), "r99");
}

TEST_P(OutboxTest, OutOfOrderAcksCommitOnlyTheContiguousPrefix) {
  auto box = Open();
  for (int i = 0; i < 3; ++i) Put(*box, {"r" + std::to_string(i)});
  auto entries = box->Read(3, 10ms);
  ASSERT_EQ(entries.size(), 3u);
  box->Ack(entries[2].seq);
  box->Ack(entries[1].seq);
  EXPECT_EQ(box->depth(), 3u);  // r0 still pending holds the others
  box->Ack(entries[0].seq);
  EXPECT_EQ(box->depth(), 0u);
}

TEST_P(OutboxTest, RewindReplaysEverythingUnacknowledged) {
  auto box = Open();
  for (int i = 0; i < 5; ++i) Put(*box, {"r" + std::to_string(i)});
  auto entries = box->Read(5, 10ms);
  box->Ack(entries[0].seq);
  box->Rewind();
  const auto again = ReadAll(*box);
  ASSERT_EQ(again.size(), 4u);
  EXPECT_EQ(again.front(), "r1");
}

TEST_P(OutboxTest, FullOutboxRefusesAndKeepsWhatItHas) {
  auto opts = Opts();
  opts.max_bytes = 4096;
  auto box = std::move(*Outbox::Open(opts));
  int accepted = 0;
  absl::Status st;
  while ((st = box->Append({std::string(100, 'x')}, [](absl::Status) {})).ok()) ++accepted;
  EXPECT_TRUE(absl::IsResourceExhausted(st));
  EXPECT_GT(accepted, 10);
  EXPECT_LE(box->bytes(), 4096u);
  // Once the consumer acknowledges, room comes back.
  for (auto& e : box->Read(5, 10ms)) box->Ack(e.seq);
  EXPECT_TRUE(box->Append({std::string(100, 'x')}, [](absl::Status) {}).ok());
}

TEST_P(OutboxTest, TornTailIsCutOffAndEverythingBeforeSurvives) {
  {
    auto box = Open();
    for (int i = 0; i < 5; ++i) Put(*box, {"r" + std::to_string(i)});
  }
  // Simulate power loss mid-write: half a record at the end of the newest segment.
  std::vector<fs::path> segments;
  for (auto& e : fs::directory_iterator(dir_.path())) {
    if (e.path().extension() == ".log" && fs::file_size(e.path()) > 0) segments.push_back(e.path());
  }
  std::sort(segments.begin(), segments.end());
  ASSERT_FALSE(segments.empty());
  const int fd = ::open(segments.back().c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  const char garbage[] = "\x20\x00\x00\x00garbage";
  ASSERT_GT(::write(fd, garbage, sizeof garbage - 1), 0);
  ::close(fd);

  auto box = Open();
  const auto all = ReadAll(*box);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.back(), "r4");
  // New appends continue after the survivors.
  Put(*box, {"r5"});
  EXPECT_EQ(ReadAll(*box), std::vector<std::string>{"r5"});
}

TEST_P(OutboxTest, AcknowledgedSegmentsAreDeleted) {
  auto box = Open();
  for (int i = 0; i < 200; ++i) Put(*box, {std::string(100, 'y')});
  const auto files_before =
      std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator());
  for (auto& e : box->Read(1000, 10ms)) box->Ack(e.seq);
  const auto files_after =
      std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator());
  EXPECT_GT(files_before, 10);
  EXPECT_LE(files_after, 3);  // active segment + cursor (+ cursor.tmp)
  EXPECT_EQ(box->bytes(), 0u);
}

TEST_P(OutboxTest, AUnitOfRecordsIsAppendedTogether) {
  auto box = Open();
  Put(*box, {"event", "state"});
  auto entries = box->Read(10, 10ms);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].seq, entries[0].seq + 1);
}

uint64_t DiskUse(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::error_code ec;  // cursor.tmp may be renamed away meanwhile
    const auto size = fs::file_size(e.path(), ec);
    if (!ec) total += size;
  }
  return total;
}

// With the broker keeping up, the outbox directory stays within the bound
// however much flows through it: a volume the size of --outbox-max-mb never
// fills with events that were long published.
TEST_P(OutboxTest, ASmallBoundHoldsPublishedEventsOnlyBriefly) {
  Options opts;
  opts.dir = dir_.path();
  opts.durability = GetParam();
  opts.max_bytes = 256 << 10;  // segment_bytes stays the default 8 MiB
  auto box = std::move(*Outbox::Open(opts));
  const std::string record(1000, 'z');
  uint64_t peak = 0;
  for (int i = 0; i < 4000; ++i) {  // 4 MB through a 256 KiB outbox
    ASSERT_TRUE(box->Append({record}, [](absl::Status) {}).ok()) << "append " << i;
    for (auto& e : box->Read(10, 10ms)) box->Ack(e.seq);
    if (i % 50 == 0) peak = std::max(peak, DiskUse(dir_.path()));
  }
  EXPECT_EQ(box->depth(), 0u);
  EXPECT_LE(peak, opts.max_bytes);
}

// A segment roll, crashed at each of its steps: an old segment with
// acknowledged records (r0-r3), its successor holding r4 (unacknowledged) or
// nothing yet, and a cursor that was saved or is stale. Whatever survives,
// reopening loses nothing unacknowledged and sequence numbers go on.
TEST_P(OutboxTest, ACrashAnywhereInASegmentRollLosesNothingUnacknowledged) {
  const std::string record(64 << 10, 'r');  // 4 records fill the acknowledged-roll threshold
  const auto name = [&](int i) { return std::to_string(i) + record; };
  const std::string crashed = dir_.path() + "/crashed";
  fs::create_directories(crashed);
  std::string old_segment;
  {
    Options opts;
    opts.dir = crashed;
    opts.durability = GetParam();
    auto box = std::move(*Outbox::Open(opts));
    for (int i = 0; i < 4; ++i) Put(*box, {name(i)});
    for (auto& e : box->Read(10, 10ms)) box->Ack(e.seq);
    for (auto& e : fs::directory_iterator(crashed)) {
      if (e.path().extension() == ".log") old_segment = e.path().string();
    }
    fs::copy_file(old_segment, dir_.path() + "/old-segment");
    Put(*box, {name(4)});  // starts a new segment and deletes the old one
    EXPECT_EQ(box->Read(10, 10ms).size(), 1u);
  }
  ASSERT_FALSE(fs::exists(old_segment)) << "the acknowledged segment was not rolled away";
  struct CrashPoint {
    const char* what;
    bool old_segment_left;
    bool r4_written;
    const char* cursor;
  };
  for (const CrashPoint& point : std::initializer_list<CrashPoint>{
           {"new segment created, old not yet deleted", true, false, "0"},
           {"r4 written, old not yet deleted", true, true, "0"},
           {"old deleted, cursor stale", false, true, "0"},
           {"old deleted, cursor saved", false, true, "4"},
       }) {
    SCOPED_TRACE(point.what);
    const std::string dir = dir_.path() + "/reopened";
    fs::remove_all(dir);
    fs::copy(crashed, dir);
    if (point.old_segment_left)
      fs::copy_file(dir_.path() + "/old-segment",
                    dir + "/" + fs::path(old_segment).filename().string());
    if (!point.r4_written) {
      for (auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".log" &&
            e.path().filename() != fs::path(old_segment).filename())
          fs::resize_file(e.path(), 0);
      }
    }
    std::ofstream(dir + "/cursor", std::ios::trunc) << point.cursor << "\n";
    Options opts;
    opts.dir = dir;
    opts.durability = GetParam();
    auto box = std::move(*Outbox::Open(opts));
    std::vector<std::string> got;
    std::vector<uint64_t> seqs;
    for (auto& e : box->Read(100, 10ms)) {
      got.push_back(e.data.substr(0, 1));
      seqs.push_back(e.seq);
    }
    // Acknowledged records may come again (at-least-once); r4 must, if it was written.
    if (point.r4_written) {
      ASSERT_FALSE(got.empty());
      EXPECT_EQ(got.back(), "4");
    }
    for (size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1);
    Put(*box, {name(5)});
    const auto next = box->Read(10, 10ms);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].data, name(5));
    EXPECT_EQ(next[0].seq, point.r4_written ? 5u : 4u);
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, OutboxTest, ::testing::Values(Durability::kOs, Durability::kFsync),
                         [](const auto& info) {
                           return info.param == Durability::kOs ? "Os" : "Fsync";
                         });

TEST(DeadLetters, OneJsonLinePerMessageWithinItsBound) {
  const testing::TempDir dir("dead");
  DeadLetters dead(dir.path() + "/dead-letters.jsonl", 2000);
  const mqtt_client::Message m{"phonebus/v1/s/device/d/event/dnd_on",
                               std::string("\0\1\"secret", 9),
                               1,
                               false,
                               "application/x-protobuf",
                               {{"event_id", "e\"1"}}};
  ASSERT_TRUE(dead.Add(m, 0x87, 42).ok());
  std::ifstream in(dead.path());
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_NE(line.find(R"("reason_code":"0x87","reason":"not_authorized")"), std::string::npos)
      << line;
  EXPECT_NE(line.find(R"("topic":"phonebus/v1/s/device/d/event/dnd_on")"), std::string::npos);
  EXPECT_NE(line.find(R"("user_properties":[["event_id","e\"1"]])"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("payload_base64":"AAEic2VjcmV0")"), std::string::npos) << line;
  EXPECT_FALSE(std::getline(in, line));
  // Past the bound the file starts again; the one before is kept as .1.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(dead.Add(m, 0x90, 42).ok());
  EXPECT_LE(fs::file_size(dead.path()), 2000u);
  EXPECT_LE(fs::file_size(dead.path() + ".1"), 2000u);
}

TEST(Refusals, OnlyWhatCannotSucceedIsForGood) {
  using mqtt_client::ClassifyRefusal;
  using mqtt_client::Refusal;
  EXPECT_EQ(ClassifyRefusal(0x00), Refusal::kNone);
  EXPECT_EQ(ClassifyRefusal(0x10), Refusal::kNone);  // no matching subscribers: delivered
  for (int code : {0x87, 0x90, 0x95, 0x99}) EXPECT_EQ(ClassifyRefusal(code), Refusal::kPermanent);
  EXPECT_EQ(ClassifyRefusal(0x97), Refusal::kTransient);  // quota exceeded
  EXPECT_EQ(ClassifyRefusal(0x80), Refusal::kUnknown);
  EXPECT_EQ(mqtt_client::ReasonName(0x97), "quota_exceeded");
  EXPECT_EQ(mqtt_client::ReasonName(0xA5), "0xa5");
}

TEST(OutboxRecord, RoundTrips) {
  Record r{{"phonebus/v1/s/device/d/event/dnd_on",
            std::string("\0\1bin", 5),
            1,
            true,
            "application/x-protobuf",
            {{"kind", "dnd_on"}, {"event_id", "x"}}},
           12345};
  auto back = DecodeRecord(EncodeRecord(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->message.topic, r.message.topic);
  EXPECT_EQ(back->message.payload, r.message.payload);
  EXPECT_TRUE(back->message.retained);
  EXPECT_EQ(back->message.qos, 1);
  EXPECT_EQ(back->message.user_properties, r.message.user_properties);
  EXPECT_EQ(back->accepted_at_us, 12345);
  EXPECT_FALSE(DecodeRecord("junk").ok());
}

}  // namespace
}  // namespace phonebus::outbox
