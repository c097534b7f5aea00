#include "topics.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace phonebus::topics {
namespace {

constexpr std::string_view kRoot = "phonebus/v1/";

std::string DeviceRoot(std::string_view site, std::string_view device_id) {
  std::string out(kRoot);
  out += Segment(site);
  out += "/device/";
  out += Segment(device_id);
  return out;
}

}  // namespace

namespace {

// A topic level is at most this long: a device id is whatever a request said, and a topic
// over 65,535 bytes cannot be sent at all.
constexpr size_t kMaxSegmentBytes = 256;

// Length of the well-formed UTF-8 sequence at s[i] and its code point; 0 if there is none.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  const bool overlong =
      (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return len;
}

// What MQTT brokers refuse in a topic (mosquitto closes the connection over it, and the
// message would be sent again after every reconnect): control characters, C0 and C1, and
// Unicode non-characters. Plus the topic syntax's own '+', '#' and '/'.
bool Unsafe(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xFDD0 && cp <= 0xFDEF) ||
         (cp & 0xFFFE) == 0xFFFE || cp == '+' || cp == '#' || cp == '/';
}

}  // namespace

std::string Segment(std::string_view value) {
  if (value.empty()) return "_";
  std::string out;
  out.reserve(std::min(value.size(), kMaxSegmentBytes));
  for (size_t i = 0; i < value.size();) {
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(value, i, cp);
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
