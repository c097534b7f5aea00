#include "dead_letters.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "absl/strings/escaping.h"
#include "log.h"

namespace phonebus::outbox {
namespace {

void Field(std::string& out, std::string_view name, std::string_view value) {
  out += ',';
  log::AppendJsonString(out, name);
  out += ':';
  log::AppendJsonString(out, value);
}

std::string Line(const mqtt_client::Message& m, int reason_code, int64_t accepted_at_us) {
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  char code[8];
  std::snprintf(code, sizeof code, "0x%02x", reason_code & 0xff);
  std::string out = "{\"refused_at_us\":" + std::to_string(now) +
                    ",\"accepted_at_us\":" + std::to_string(accepted_at_us);
  Field(out, "reason_code", code);
  Field(out, "reason", mqtt_client::ReasonName(reason_code));
  Field(out, "topic", m.topic);
  out += ",\"qos\":" + std::to_string(m.qos) + ",\"retained\":" + (m.retained ? "true" : "false");
  Field(out, "content_type", m.content_type);
  out += ",\"user_properties\":[";
  for (size_t i = 0; i < m.user_properties.size(); ++i) {
    if (i > 0) out += ',';
    out += '[';
    log::AppendJsonString(out, m.user_properties[i].first);
    out += ',';
    log::AppendJsonString(out, m.user_properties[i].second);
    out += ']';
  }
  out += ']';
  Field(out, "payload_base64", absl::Base64Escape(m.payload));
  out += "}\n";
  return out;
}

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError("dead letters: " + what + ": " + std::strerror(errno));
}

}  // namespace

DeadLetters::DeadLetters(std::string path, uint64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {}

absl::Status DeadLetters::Add(const mqtt_client::Message& message, int reason_code,
                              int64_t accepted_at_us) {
  const std::string line = Line(message, reason_code, accepted_at_us);
  std::lock_guard lock(mu_);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 &&
      static_cast<uint64_t>(st.st_size) + line.size() > max_bytes_) {
    log::Warn("dead-letter file full: starting a new one, the one before it is dropped",
              {{"file", path_}, {"bytes", std::to_string(st.st_size)}});
    if (::rename(path_.c_str(), (path_ + ".1").c_str()) != 0) return Errno("rotate " + path_);
  }
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open " + path_);
  struct stat before {};
  ::fstat(fd, &before);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t put = ::write(fd, p, left);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) {
      absl::Status err = Errno("write " + path_);
      // Cut a partial line so the file stays one JSON object per line.
      if (::ftruncate(fd, before.st_size) != 0)
        log::Error("dead letters: cannot cut a partial line");
      ::close(fd);
      return err;
    }
    p += put, left -= static_cast<size_t>(put);
  }
  // The outbox forgets the record once this returns: it must be on disk.
  const bool synced = ::fdatasync(fd) == 0;
  ::close(fd);
  return synced ? absl::OkStatus() : Errno("fdatasync " + path_);
}

}  // namespace phonebus::outbox
