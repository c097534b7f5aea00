#include "args.h"

#include <algorithm>
#include <cctype>

#include "phonebus/v1/event.pb.h"
#include "topics.h"

namespace phonebus::cli {
namespace {

char Upper(char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); }

bool IsDialPad(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) || c == '*' || c == '#';
}

// A topic level the user chose, or "+" for any.
std::string Level(std::string_view value) { return value.empty() ? "+" : topics::Segment(value); }

// A device's topic level: the MAC as the topics spell it, else the id as typed.
std::string DeviceLevel(std::string_view device) {
  const std::string mac = topics::NormalizeMac(device);
  return mac.empty() ? Level(device) : mac;
}

}  // namespace

std::string NormalizeNumber(std::string_view number) {
  std::string out;
  for (const char c : number) {
    if (c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')') continue;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> ExpandKeys(const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (const auto& key : keys) {
    if (key.size() > 1 && std::all_of(key.begin(), key.end(), IsDialPad)) {
      for (const char c : key) out.emplace_back(1, c);
      continue;
    }
    std::string name = key;
    std::transform(name.begin(), name.end(), name.begin(), Upper);
    out.push_back(std::move(name));
  }
  return out;
}

std::vector<std::string> KindNames() {
  std::vector<std::string> names;
  const auto* descriptor = v1::EventKind_descriptor();
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const auto kind = static_cast<v1::EventKind>(descriptor->value(i)->number());
    if (kind == v1::EVENT_KIND_UNSPECIFIED) continue;
    names.push_back(topics::KindName(kind));
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool IsKnownKind(std::string_view kind) {
  const auto names = KindNames();
  return std::find(names.begin(), names.end(), kind) != names.end();
}

std::vector<std::string> Subscriptions(const WatchFilter& filter) {
  const std::string root = "phonebus/v1/" + Level(filter.site) + "/device/";
  std::vector<std::string> devices;
  for (const auto& d : filter.devices) devices.push_back(DeviceLevel(d));
  if (devices.empty()) devices.push_back("+");
  std::vector<std::string> out;
  for (const auto& device : devices) {
    const std::string prefix = root + device;
    if (filter.events) {
      if (filter.kinds.empty()) out.push_back(prefix + "/event/+");
      for (const auto& kind : filter.kinds) out.push_back(prefix + "/event/" + Level(kind));
    }
    if (filter.states) out.push_back(prefix + "/state");
    if (filter.results) out.push_back(prefix + "/command/result");
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace phonebus::cli
