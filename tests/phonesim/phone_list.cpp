#include "phone_list.h"

#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/status/status.h"

namespace phonebus::phonesim {
namespace {

using Json = nlohmann::json;

// One entry's fields: each reader takes the JSON value and the config, and says what is wrong.
using Reader = std::function<std::string(const Json&, PhoneConfig&)>;

Reader String(std::string PhoneConfig::*field) {
  return [field](const Json& v, PhoneConfig& c) -> std::string {
    if (!v.is_string()) return "must be a string";
    c.*field = v.get<std::string>();
    return {};
  };
}

// An integer within [min, max], handed to `set`.
Reader Integer(int64_t min, int64_t max, std::function<void(PhoneConfig&, int64_t)> set) {
  return [min, max, set = std::move(set)](const Json& v, PhoneConfig& c) -> std::string {
    if (!v.is_number_integer()) return "must be an integer";
    const auto n = v.get<int64_t>();
    if (n < min || n > max) {
      return "must be between " + std::to_string(min) + " and " + std::to_string(max);
    }
    set(c, n);
    return {};
  };
}

Reader Millis(std::chrono::milliseconds PhoneConfig::*field) {
  return Integer(0, 86'400'000,
                 [field](PhoneConfig& c, int64_t n) { c.*field = std::chrono::milliseconds(n); });
}

Reader TimingMillis(std::chrono::milliseconds CallTiming::*field) {
  return Integer(0, 86'400'000, [field](PhoneConfig& c, int64_t n) {
    c.timing.*field = std::chrono::milliseconds(n);
  });
}

const std::map<std::string, Reader, std::less<>>& Readers() {
  static const auto* readers = new std::map<std::string, Reader, std::less<>>{
      {"id", String(&PhoneConfig::id)},
      {"family",
       [](const Json& v, PhoneConfig& c) -> std::string {
         if (!v.is_string()) return "must be a string";
         const auto family = ParseFamily(v.get<std::string>());
         if (!family) return "'" + v.get<std::string>() + "' is not one of " + FamilyNames();
         c.family = *family;
         return {};
       }},
      {"model", String(&PhoneConfig::model)},
      {"firmware", String(&PhoneConfig::firmware)},
      {"bind_address", String(&PhoneConfig::bind_address)},
      {"port", Integer(0, 65535,
                       [](PhoneConfig& c, int64_t n) { c.port = static_cast<unsigned short>(n); })},
      {"ip", String(&PhoneConfig::reported_ip)},
      {"auth",
       [](const Json& v, PhoneConfig& c) -> std::string {
         if (!v.is_string()) return "must be a string";
         const auto scheme = ParseAuthScheme(v.get<std::string>());
         if (!scheme) return "'" + v.get<std::string>() + "' is not one of none, basic, digest";
         c.auth = *scheme;
         return {};
       }},
      {"username", String(&PhoneConfig::username)},
      {"password", String(&PhoneConfig::password)},
      {"realm", String(&PhoneConfig::realm)},
      {"allowed_ips",
       [](const Json& v, PhoneConfig& c) -> std::string {
         if (v.is_string()) {
           c.allowed_ips = {v.get<std::string>()};
           return {};
         }
         if (!v.is_array()) return "must be a list of IP addresses, or \"any\"";
         c.allowed_ips.clear();
         for (const auto& ip : v) {
           if (!ip.is_string()) return "must be a list of IP addresses, or \"any\"";
           c.allowed_ips.push_back(ip.get<std::string>());
         }
         return {};
       }},
      {"lockout_after",
       Integer(0, 1000,
               [](PhoneConfig& c, int64_t n) { c.lockout.max_failures = static_cast<int>(n); })},
      {"lockout_window_s",
       Integer(1, 86400,
               [](PhoneConfig& c, int64_t n) { c.lockout.window = std::chrono::seconds(n); })},
      {"lockout_s",
       Integer(1, 86400,
               [](PhoneConfig& c, int64_t n) { c.lockout.duration = std::chrono::seconds(n); })},
      {"account", String(&PhoneConfig::account)},
      {"display_name", String(&PhoneConfig::display_name)},
      {"adapter_url", String(&PhoneConfig::adapter_url)},
      {"action_url_timeout_ms", Integer(1, 600'000,
                                        [](PhoneConfig& c, int64_t n) {
                                          c.action_url_timeout = std::chrono::milliseconds(n);
                                        })},
      {"delay_ms", Millis(&PhoneConfig::response_delay)},
      {"failure",
       [](const Json& v, PhoneConfig& c) -> std::string {
         if (!v.is_string()) return "must be a string";
         const auto failure = ParseFailure(v.get<std::string>());
         if (!failure)
           return "'" + v.get<std::string>() + "' is not one of none, hang, close, status";
         c.failure = *failure;
         return {};
       }},
      {"failure_status",
       Integer(100, 599,
               [](PhoneConfig& c, int64_t n) { c.failure_status = static_cast<unsigned>(n); })},
      {"answer_delay_ms", TimingMillis(&CallTiming::answer_delay)},
      {"talk_time_ms", TimingMillis(&CallTiming::talk_time)},
      {"ring_time_ms", TimingMillis(&CallTiming::ring_time)},
  };
  return *readers;
}

std::string KnownFields() {
  std::string out;
  for (const auto& [name, reader] : Readers()) {
    if (!out.empty()) out.append(", ");
    out.append(name);
  }
  return out;
}

// 12 hex digits <-> the number they spell, for consecutive MACs.
bool MacToNumber(std::string_view mac, uint64_t* n) {
  const auto [end, ec] = std::from_chars(mac.data(), mac.data() + mac.size(), *n, 16);
  return mac.size() == 12 && ec == std::errc() && end == mac.data() + mac.size();
}

std::string NumberToMac(uint64_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(12, '0');
  for (int i = 11; i >= 0; --i, n >>= 4) out[static_cast<size_t>(i)] = kHex[n & 15];
  return out;
}

}  // namespace

absl::StatusOr<std::vector<PhoneConfig>> ParsePhoneList(std::string_view text) {
  const Json root = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!root.is_object() || !root.contains("phones")) {
    return absl::InvalidArgumentError("expected an object with a \"phones\" list");
  }
  for (const auto& [key, value] : root.items()) {
    if (key != "phones")
      return absl::InvalidArgumentError("unknown top-level field \"" + key + "\"");
  }
  const Json& list = root["phones"];
  if (!list.is_array()) return absl::InvalidArgumentError("phones: must be a list");

  std::vector<PhoneConfig> phones;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = "phones[" + std::to_string(i) + "]";
    const Json& entry = list[i];
    if (!entry.is_object()) return absl::InvalidArgumentError(where + ": must be an object");
    for (const char* required : {"id", "family"}) {
      if (!entry.contains(required)) {
        return absl::InvalidArgumentError(where + "." + required + ": missing");
      }
    }
    PhoneConfig config;
    for (const auto& [key, value] : entry.items()) {
      const auto reader = Readers().find(key);
      if (reader == Readers().end()) {
        return absl::InvalidArgumentError(where + "." + key +
                                          ": unknown field (known: " + KnownFields() + ")");
      }
      if (std::string error = reader->second(value, config); !error.empty()) {
        return absl::InvalidArgumentError(where + "." + key + ": " + error);
      }
    }
    if (auto status = Validate(config); !status.ok()) {
      return absl::InvalidArgumentError(where + "." + std::string(status.message()));
    }
    phones.push_back(std::move(config));
  }
  return phones;
}

absl::StatusOr<std::vector<PhoneConfig>> LoadPhoneList(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(path + ": cannot read");
  std::stringstream text;
  text << in.rdbuf();
  auto phones = ParsePhoneList(text.str());
  if (!phones.ok()) {
    return absl::Status(phones.status().code(),
                        path + ": " + std::string(phones.status().message()));
  }
  return phones;
}

std::string DefaultFirstId(Family family) {
  switch (VendorOf(family)) {
    case Vendor::kYealink:
      return "001565000000";  // Yealink's OUI
    case Vendor::kSnom:
      return "000413000000";  // SNOM's OUI
    case Vendor::kSoftphone:
      return "softphone";
  }
  return "phone";
}

absl::StatusOr<std::vector<PhoneConfig>> GeneratePhones(const PhoneConfig& first, int count) {
  if (count < 1) return absl::InvalidArgumentError("count: must be at least 1");
  const bool softphone = VendorOf(first.family) == Vendor::kSoftphone;
  uint64_t mac = 0;
  if (!softphone && !MacToNumber(NormalizeMac(first.id), &mac)) {
    return absl::InvalidArgumentError("id: '" + first.id + "' is not a MAC address");
  }
  if (!softphone && mac + static_cast<uint64_t>(count) - 1 > 0xFFFFFFFFFFFFull) {
    return absl::InvalidArgumentError("id: not enough MAC addresses after " + first.id);
  }
  if (first.port != 0 && first.port + count - 1 > 65535) {
    return absl::InvalidArgumentError("port: not enough ports after " + std::to_string(first.port));
  }
  // "1001@pbx.example": the user part counts up when it is a number.
  const auto at = first.account.find('@');
  const std::string user = first.account.substr(0, at);
  const std::string domain = at == std::string::npos ? "" : first.account.substr(at);
  uint64_t user_number = 0;
  const auto [end, ec] = std::from_chars(user.data(), user.data() + user.size(), user_number);
  const bool numbered = !user.empty() && ec == std::errc() && end == user.data() + user.size();

  std::vector<PhoneConfig> phones;
  phones.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    PhoneConfig c = first;
    c.id = softphone ? first.id + "-" + std::to_string(i + 1)
                     : NumberToMac(mac + static_cast<uint64_t>(i));
    if (first.port != 0) c.port = static_cast<unsigned short>(first.port + i);
    if (numbered) c.account = std::to_string(user_number + static_cast<uint64_t>(i)) + domain;
    phones.push_back(std::move(c));
  }
  return phones;
}

}  // namespace phonebus::phonesim
