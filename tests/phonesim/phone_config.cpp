#include "phone_config.h"

#include <array>
#include <cctype>

#include "net.h"

namespace phonebus::phonesim {
namespace {

struct FamilyInfo {
  Family family;
  std::string_view name;
  Vendor vendor;
  std::string_view model;
  std::string_view firmware;
};

// Typical models and firmware of each generation, so Action URLs look like a real fleet's.
constexpr std::array kFamilies = {
    FamilyInfo{Family::kYealinkServlet, "yealink-servlet", Vendor::kYealink, "T46S", "66.86.0.15"},
    FamilyInfo{Family::kYealinkConfigManApp, "yealink-configmanapp", Vendor::kYealink, "T22P",
               "7.70.0.110"},
    FamilyInfo{Family::kYealinkCgiServer, "yealink-cgiserver", Vendor::kYealink, "T38G",
               "38.70.0.185"},
    FamilyInfo{Family::kSnom, "snom", Vendor::kSnom, "D765", "10.1.49.11"},
    FamilyInfo{Family::kSnomNoHttpCommands, "snom-no-http-commands", Vendor::kSnom, "D865",
               "10.1.159.12"},
    FamilyInfo{Family::kSoftphone, "softphone", Vendor::kSoftphone, "Softphone", "5.2.1"},
};

const FamilyInfo& Info(Family family) {
  for (const auto& info : kFamilies) {
    if (info.family == family) return info;
  }
  return kFamilies[0];
}

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

Vendor VendorOf(Family family) { return Info(family).vendor; }

std::string_view FamilyName(Family family) { return Info(family).name; }

std::optional<Family> ParseFamily(std::string_view name) {
  for (const auto& info : kFamilies) {
    if (info.name == name) return info.family;
  }
  return std::nullopt;
}

std::string FamilyNames() {
  std::string out;
  for (const auto& info : kFamilies) {
    if (!out.empty()) out.append(", ");
    out.append(info.name);
  }
  return out;
}

std::string_view AuthSchemeName(AuthScheme scheme) {
  switch (scheme) {
    case AuthScheme::kNone:
      return "none";
    case AuthScheme::kBasic:
      return "basic";
    case AuthScheme::kDigest:
      return "digest";
  }
  return "none";
}

std::optional<AuthScheme> ParseAuthScheme(std::string_view name) {
  for (const auto scheme : {AuthScheme::kNone, AuthScheme::kBasic, AuthScheme::kDigest}) {
    if (AuthSchemeName(scheme) == name) return scheme;
  }
  return std::nullopt;
}

std::string_view FailureName(Failure failure) {
  switch (failure) {
    case Failure::kNone:
      return "none";
    case Failure::kHang:
      return "hang";
    case Failure::kClose:
      return "close";
    case Failure::kStatus:
      return "status";
  }
  return "none";
}

std::optional<Failure> ParseFailure(std::string_view name) {
  for (const auto failure : {Failure::kNone, Failure::kHang, Failure::kClose, Failure::kStatus}) {
    if (FailureName(failure) == name) return failure;
  }
  return std::nullopt;
}

std::string DefaultModel(Family family) { return std::string(Info(family).model); }
std::string DefaultFirmware(Family family) { return std::string(Info(family).firmware); }

// Realms as the vendors' web servers announce them, so a client that keys anything on the realm
// sees what it will see in the field.
std::string DefaultRealm(Vendor vendor) {
  switch (vendor) {
    case Vendor::kYealink:
      return "Yealink";
    case Vendor::kSnom:
      return "snom";
    case Vendor::kSoftphone:
      return "softphone";
  }
  return "phone";
}

std::string NormalizeMac(std::string_view mac) {
  std::string out;
  for (const char c : mac) {
    if (c == ':' || c == '-' || c == '.') continue;
    if (!IsHex(c)) return {};
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out.size() == 12 ? out : std::string{};
}

absl::Status Validate(const PhoneConfig& config) {
  const Vendor vendor = VendorOf(config.family);
  if (config.id.empty()) return absl::InvalidArgumentError("id: missing");
  if (vendor != Vendor::kSoftphone && NormalizeMac(config.id).empty()) {
    return absl::InvalidArgumentError("id: '" + config.id +
                                      "' is not a MAC address (12 hex digits); desk phones are "
                                      "named by their MAC");
  }
  beast::error_code ec;
  net::ip::make_address(config.bind_address, ec);
  if (ec) {
    return absl::InvalidArgumentError("bind_address: '" + config.bind_address +
                                      "' is not an IP address");
  }
  if (vendor == Vendor::kSoftphone && config.auth != AuthScheme::kNone) {
    return absl::InvalidArgumentError(
        "auth: the softphone's command port has no authentication; use \"none\"");
  }
  if (config.auth != AuthScheme::kNone && config.username.empty()) {
    return absl::InvalidArgumentError("username: required when auth is " +
                                      std::string(AuthSchemeName(config.auth)));
  }
  if (config.username.find(':') != std::string::npos) {
    return absl::InvalidArgumentError("username: must not contain ':' (HTTP Basic splits on it)");
  }
  for (const auto& ip : config.allowed_ips) {
    if (ip == "any") continue;
    net::ip::make_address(ip, ec);
    if (ec) {
      return absl::InvalidArgumentError("allowed_ips: '" + ip +
                                        "' is neither an IP address nor \"any\"");
    }
  }
  if (config.lockout.max_failures < 0) {
    return absl::InvalidArgumentError("lockout_after: must be 0 (never) or more");
  }
  if (!config.adapter_url.empty() && config.adapter_url.rfind("http://", 0) != 0) {
    return absl::InvalidArgumentError("adapter_url: '" + config.adapter_url +
                                      "' must start with http:// (the simulator does not speak "
                                      "HTTPS)");
  }
  if (config.failure == Failure::kStatus &&
      (config.failure_status < 100 || config.failure_status > 599)) {
    return absl::InvalidArgumentError("failure_status: must be an HTTP status 100..599");
  }
  if (config.response_delay.count() < 0 || config.timing.answer_delay.count() < 0 ||
      config.timing.talk_time.count() < 0 || config.timing.ring_time.count() < 0) {
    return absl::InvalidArgumentError(
        "delay_ms, answer_delay_ms, talk_time_ms, ring_time_ms: must not be negative");
  }
  if (config.action_url_timeout.count() <= 0) {
    return absl::InvalidArgumentError("action_url_timeout_ms: must be positive");
  }
  return absl::OkStatus();
}

PhoneConfig WithDefaults(PhoneConfig config) {
  const Vendor vendor = VendorOf(config.family);
  if (vendor != Vendor::kSoftphone) config.id = NormalizeMac(config.id);
  if (config.model.empty()) config.model = DefaultModel(config.family);
  if (config.firmware.empty()) config.firmware = DefaultFirmware(config.family);
  if (config.realm.empty()) config.realm = DefaultRealm(vendor);
  if (config.reported_ip.empty()) config.reported_ip = config.bind_address;
  return config;
}

}  // namespace phonebus::phonesim
