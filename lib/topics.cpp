#include "topics.h"

#include <algorithm>
#include <cctype>

#include "utf8.h"

namespace phonebus::topics {
namespace {

constexpr std::string_view kRoot = "phonebus/v1/";

// A topic level is at most this long: a device id is whatever a request said, and a topic
// over 65,535 bytes cannot be sent at all.
constexpr size_t kMaxSegmentBytes = 256;

// What MQTT brokers refuse in a topic (mosquitto closes the connection over it, and the
// message would be sent again after every reconnect): control characters, C0 and C1, and
// Unicode non-characters. Plus the topic syntax's own '+', '#' and '/'.
bool Unsafe(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xFDD0 && cp <= 0xFDEF) ||
         (cp & 0xFFFE) == 0xFFFE || cp == '+' || cp == '#' || cp == '/';
}

std::string DeviceRoot(std::string_view site, std::string_view device_id) {
  std::string out(kRoot);
  out += Segment(site);
  out += "/device/";
  out += Segment(device_id);
  return out;
}

}  // namespace

std::string Segment(std::string_view value) {
  if (value.empty()) return "_";
  std::string out;
  out.reserve(std::min(value.size(), kMaxSegmentBytes));
  for (size_t i = 0; i < value.size();) {
    char32_t cp = 0;
    const size_t len = utf8::Decode(value, i, &cp);
    if (len == 0 || Unsafe(cp)) {  // a malformed byte counts as one character
      if (out.size() + 1 > kMaxSegmentBytes) break;
      out.push_back('_');
      i += len == 0 ? 1 : len;
      continue;
    }
    if (out.size() + len > kMaxSegmentBytes) break;
    out.append(value.substr(i, len));
    i += len;
  }
  return out;
}

std::string NormalizeMac(std::string_view mac) {
  std::string out;
  for (const char c : mac) {
    if (c == ':' || c == '-' || c == '.' || c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out.size() == 12 ? out : std::string{};
}

std::string KindName(v1::EventKind kind) {
  std::string name = v1::EventKind_Name(kind);
  constexpr std::string_view kPrefix = "EVENT_KIND_";
  if (name.rfind(kPrefix, 0) == 0) name.erase(0, kPrefix.size());
  if (name.empty()) name = "other";  // a value this build does not know
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string Event(std::string_view site, std::string_view device_id, v1::EventKind kind) {
  return DeviceRoot(site, device_id) + "/event/" + KindName(kind);
}

std::string State(std::string_view site, std::string_view device_id) {
  return DeviceRoot(site, device_id) + "/state";
}

std::string CommandResult(std::string_view site, std::string_view device_id) {
  return DeviceRoot(site, device_id) + "/command/result";
}

std::string ServiceStatus(std::string_view site, std::string_view instance) {
  return std::string(kRoot) + Segment(site) + "/service/" + Segment(instance) + "/status";
}

std::string AllStates(std::string_view site) {
  return std::string(kRoot) + std::string(site) + "/device/+/state";
}

}  // namespace phonebus::topics
