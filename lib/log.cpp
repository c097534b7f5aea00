#include "log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace phonebus::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::string g_service = "phonebus";  // set once at start-up, before threads start

constexpr std::string_view kLevelNames[] = {"debug", "info", "warn", "error"};

void AppendTimestamp(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<long>(micros));
  out.append(buf, n);
}

}  // namespace

void SetLevel(Level level) { g_level = static_cast<int>(level); }

bool ParseLevel(std::string_view name, Level* level) {
  for (int i = 0; i < 4; ++i) {
    if (kLevelNames[i] == name) {
      *level = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

void SetService(std::string_view service) { g_service = service; }

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void Write(Level level, std::string_view msg, Fields fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  std::string line;
  line.reserve(128);
  line += "{\"ts\":\"";
  AppendTimestamp(line);
  line += "\",\"level\":\"";
  line += kLevelNames[static_cast<int>(level)];
  line += "\",\"service\":";
  AppendJsonString(line, g_service);
  line += ",\"msg\":";
  AppendJsonString(line, msg);
  for (const auto& [key, value] : fields) {
    line.push_back(',');
    AppendJsonString(line, key);
    line.push_back(':');
    AppendJsonString(line, value);
  }
  line += "}\n";
  // One write per line keeps concurrent lines whole (stderr is unbuffered).
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace phonebus::log
