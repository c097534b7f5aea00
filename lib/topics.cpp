#include "topics.h"

#include <cctype>

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

std::string Segment(std::string_view value) {
  if (value.empty()) return "_";
  std::string out(value);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '+' || c == '#' || c == '/' || u < 0x20 || u == 0x7f) c = '_';
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
