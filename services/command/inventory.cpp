#include "inventory.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "topics.h"
#include "validate.h"

namespace phonebus::command {
namespace {

using json = nlohmann::json;

absl::Status Bad(const std::string& where, std::string_view why) {
  return absl::InvalidArgumentError(where + ": " + std::string(why));
}

// One JSON object being read, with the keys it may have: an unknown key is
// reported before anything else, so a typo ("vendr") is named as such
// instead of as the missing field it hides.
class Entry {
 public:
  Entry(const json& object, std::string where, std::initializer_list<std::string_view> known)
      : object_(object), where_(std::move(where)), known_(known.begin(), known.end()) {}

  std::string Where(std::string_view key) const { return where_ + "." + std::string(key); }

  absl::StatusOr<std::optional<std::string>> String(std::string_view key) {
    const auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return std::optional<std::string>{};
    if (!it->is_string()) return Bad(Where(key), "must be a string");
    const auto& s = it->get_ref<const std::string&>();
    for (const char c : s) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Bad(Where(key), "must not contain control characters");
      }
    }
    return std::optional<std::string>(s);
  }

  absl::StatusOr<std::optional<bool>> Bool(std::string_view key) {
    const auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return std::optional<bool>{};
    if (!it->is_boolean()) return Bad(Where(key), "must be true or false");
    return std::optional<bool>(it->get<bool>());
  }

  absl::StatusOr<std::optional<int64_t>> Int(std::string_view key) {
    const auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return std::optional<int64_t>{};
    if (!it->is_number_integer()) return Bad(Where(key), "must be a whole number");
    return std::optional<int64_t>(it->get<int64_t>());
  }

  absl::StatusOr<std::vector<std::string>> Strings(std::string_view key) {
    std::vector<std::string> out;
    const auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return out;
    if (!it->is_array()) return Bad(Where(key), "must be a list of strings");
    for (size_t i = 0; i < it->size(); ++i) {
      if (!(*it)[i].is_string()) {
        return Bad(Where(key) + "[" + std::to_string(i) + "]", "must be a string");
      }
      out.push_back((*it)[i].get<std::string>());
    }
    return out;
  }

  absl::Status NoUnknownKeys() const {
    for (const auto& [key, value] : object_.items()) {
      if (!known_.count(key)) return Bad(Where(key), "unknown field");
    }
    return absl::OkStatus();
  }

 private:
  const json& object_;
  std::string where_;
  std::set<std::string_view, std::less<>> known_;
};

#define PHONEBUS_ASSIGN(lhs, expr)              \
  auto lhs##_or = (expr);                       \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto lhs = std::move(*lhs##_or)  // NOLINT(bugprone-macro-parentheses): lhs names a variable

// username + exactly one of password, password_env, password_file.
absl::Status ReadCredentials(Entry& e, const SecretSources& secrets, std::string& username,
                             std::string& password) {
  PHONEBUS_ASSIGN(user, e.String("username"));
  PHONEBUS_ASSIGN(literal, e.String("password"));
  PHONEBUS_ASSIGN(env, e.String("password_env"));
  PHONEBUS_ASSIGN(file, e.String("password_file"));
  const int sources = literal.has_value() + env.has_value() + file.has_value();
  if (sources > 1) {
    return Bad(e.Where("password"), "give only one of password, password_env, password_file");
  }
  if (sources == 1 && !user) return Bad(e.Where("username"), "needed with a password");
  if (user && sources == 0) {
    return Bad(e.Where("password"),
               "username given without password, password_env or "
               "password_file");
  }
  if (user) username = *user;
  if (literal) password = *literal;
  if (env) {
    const auto value = secrets.env(*env);
    if (!value) return Bad(e.Where("password_env"), "environment variable " + *env + " is not set");
    password = *value;
  }
  if (file) {
    auto value = secrets.file(*file);
    if (!value.ok()) {
      return Bad(e.Where("password_file"),
                 "cannot read " + *file + ": " + std::string(value.status().message()));
    }
    password = *std::move(value);
  }
  return absl::OkStatus();
}

// "host:port", "[v6]:port", "host" or "[v6]" (port 0: decided at resolution).
absl::Status ParseAddress(const std::string& where, const std::string& address,
                          InventoryDevice& d) {
  // Checked first, and the value never repeated: what precedes an '@' is a password.
  if (address.find('@') != std::string::npos) {
    return Bad(where,
               "must not hold credentials (user:password@): give them as username and "
               "password, password_env or password_file");
  }
  std::string host = address;
  std::string port;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string::npos) return Bad(where, "unterminated '[' in \"" + address + "\"");
    host = address.substr(1, close - 1);
    const std::string rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Bad(where, "expected ':' after ']' in \"" + address + "\"");
      port = rest.substr(1);
    }
  } else if (const auto colon = address.rfind(':'); colon != std::string::npos) {
    if (address.find(':') != colon) {
      return Bad(where, "write an IPv6 address in brackets: [" + address + "]:port");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host.empty() || host.find_first_of(" /?#@") != std::string::npos) {
    return Bad(where, "\"" + address + "\" is not host:port");
  }
  d.host = host;
  if (port.empty()) return absl::OkStatus();  // the defaults', else the scheme's
  int n = 0;
  for (const char c : port) {
    if (c < '0' || c > '9' || n > 65535) return Bad(where, "port \"" + port + "\" is not a number");
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > 65535) return Bad(where, "port " + port + " is out of range 1-65535");
  d.port = static_cast<uint16_t>(n);
  return absl::OkStatus();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

absl::Status CheckTopicSafe(const std::string& where, const std::string& value) {
  if (value.empty()) return Bad(where, "must not be empty");
  if (value.find_first_of("+#/") != std::string::npos) {
    return Bad(where, "must not contain '+', '#' or '/' (it is a topic level)");
  }
  return absl::OkStatus();
}

absl::StatusOr<InventoryDevice> ParseDevice(const json& j, const std::string& where,
                                            std::string_view default_site,
                                            const SecretSources& secrets) {
  if (!j.is_object()) return Bad(where, "must be an object");
  Entry e(
      j, where,
      {"id", "site", "vendor", "model", "firmware", "address", "https", "tls_verify", "username",
       "password", "password_env", "password_file", "account", "accounts", "command_form"});
  if (auto s = e.NoUnknownKeys(); !s.ok()) return s;
  InventoryDevice d;
  PHONEBUS_ASSIGN(id, e.String("id"));
  if (!id || id->empty()) return Bad(e.Where("id"), "is required");
  const std::string mac = topics::NormalizeMac(*id);
  d.id = mac.empty() ? *id : mac;
  if (auto s = CheckTopicSafe(e.Where("id"), d.id); !s.ok()) return s;

  PHONEBUS_ASSIGN(site, e.String("site"));
  d.site = site ? *site : std::string(default_site);
  if (auto s = CheckTopicSafe(e.Where("site"), d.site); !s.ok()) return s;

  PHONEBUS_ASSIGN(vendor, e.String("vendor"));
  if (!vendor || vendor->empty()) {
    return Bad(e.Where("vendor"),
               "is required (yealink, snom, softphone or a brand with a "
               "command-form rule)");
  }
  d.vendor = Lower(*vendor);
  PHONEBUS_ASSIGN(model, e.String("model"));
  PHONEBUS_ASSIGN(firmware, e.String("firmware"));
  d.model = model.value_or("");
  d.firmware = firmware.value_or("");

  PHONEBUS_ASSIGN(https, e.Bool("https"));
  PHONEBUS_ASSIGN(tls_verify, e.Bool("tls_verify"));
  d.https = https;
  d.tls_verify = tls_verify;
  PHONEBUS_ASSIGN(address, e.String("address"));
  if (address) {
    if (auto s = ParseAddress(e.Where("address"), *address, d); !s.ok()) return s;
  }

  if (auto s = ReadCredentials(e, secrets, d.username, d.password); !s.ok()) return s;

  PHONEBUS_ASSIGN(account, e.String("account"));
  PHONEBUS_ASSIGN(accounts, e.Strings("accounts"));
  if (account) accounts.insert(accounts.begin(), *account);
  for (size_t i = 0; i < accounts.size(); ++i) {
    const std::string field =
        account && i == 0 ? e.Where("account")
                          : e.Where("accounts") + "[" + std::to_string(account ? i - 1 : i) + "]";
    if (auto s = ValidateAccount(field, accounts[i]); !s.ok()) return s;
  }
  d.accounts = std::move(accounts);

  PHONEBUS_ASSIGN(form, e.String("command_form"));
  d.command_form = form.value_or("");
  return d;
}

absl::StatusOr<DeviceDefaults> ParseDefaults(const json& j, const std::string& where,
                                             const SecretSources& secrets) {
  if (!j.is_object()) return Bad(where, "must be an object");
  Entry e(j, where,
          {"site", "vendor", "username", "password", "password_env", "password_file", "port",
           "https", "tls_verify"});
  if (auto s = e.NoUnknownKeys(); !s.ok()) return s;
  DeviceDefaults d;
  PHONEBUS_ASSIGN(site, e.String("site"));
  PHONEBUS_ASSIGN(vendor, e.String("vendor"));
  d.site = site.value_or("");
  d.vendor = Lower(vendor.value_or(""));
  if (auto s = ReadCredentials(e, secrets, d.username, d.password); !s.ok()) return s;
  PHONEBUS_ASSIGN(https, e.Bool("https"));
  PHONEBUS_ASSIGN(tls_verify, e.Bool("tls_verify"));
  d.https = https.value_or(false);
  d.tls_verify = tls_verify.value_or(true);
  PHONEBUS_ASSIGN(port, e.Int("port"));
  if (port) {
    if (*port < 1 || *port > 65535) return Bad(e.Where("port"), "must be 1-65535");
    d.port = static_cast<uint16_t>(*port);
  }
  return d;
}

#undef PHONEBUS_ASSIGN

}  // namespace

const DeviceDefaults* Inventory::DefaultsFor(std::string_view site, std::string_view vendor) const {
  const DeviceDefaults* best = nullptr;
  int best_score = -1;
  for (const auto& c : defaults) {
    if (!c.site.empty() && c.site != site) continue;
    if (!c.vendor.empty() && c.vendor != vendor) continue;
    const int score = (c.vendor.empty() ? 0 : 2) + (c.site.empty() ? 0 : 1);
    if (score > best_score) best = &c, best_score = score;
  }
  return best;
}

SecretSources SecretSources::Process() {
  return {[](const std::string& name) -> std::optional<std::string> {
            const char* v = std::getenv(name.c_str());
            return v ? std::optional<std::string>(v) : std::nullopt;
          },
          [](const std::string& path) -> absl::StatusOr<std::string> {
            std::ifstream in(path, std::ios::binary);
            if (!in) return absl::NotFoundError(std::strerror(errno));
            std::ostringstream ss;
            ss << in.rdbuf();
            std::string s = ss.str();
            while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
            return s;
          }};
}

absl::StatusOr<Inventory> ParseInventory(std::string_view text, std::string_view default_site,
                                         const SecretSources& secrets) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // Not e.what(): it quotes the text around the error, which may be a password.
    return absl::InvalidArgumentError("not valid JSON at byte " + std::to_string(e.byte));
  } catch (const json::exception&) {
    // The parser throws out_of_range, not parse_error, for a number too large for a double
    // ("port": 1e999); uncaught, it ended the commander with std::terminate.
    return absl::InvalidArgumentError("not valid JSON: a number is out of range");
  }
  if (!doc.is_object()) return absl::InvalidArgumentError("the top level must be an object");
  Inventory inv;
  for (const auto& [key, value] : doc.items()) {
    if (key != "devices" && key != "defaults") {
      return Bad(key, "unknown field (expected devices, defaults)");
    }
    if (!value.is_array()) return Bad(key, "must be a list");
  }
  if (const auto it = doc.find("devices"); it != doc.end()) {
    std::map<std::pair<std::string, std::string>, size_t> seen;
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string where = "devices[" + std::to_string(i) + "]";
      auto d = ParseDevice((*it)[i], where, default_site, secrets);
      if (!d.ok()) return d.status();
      const auto [pos, fresh] = seen.emplace(std::pair(d->site, d->id), i);
      if (!fresh) {
        return Bad(where + ".id", "\"" + d->id + "\" already listed at devices[" +
                                      std::to_string(pos->second) + "]");
      }
      inv.devices.push_back(*std::move(d));
    }
  }
  if (const auto it = doc.find("defaults"); it != doc.end()) {
    for (size_t i = 0; i < it->size(); ++i) {
      auto d = ParseDefaults((*it)[i], "defaults[" + std::to_string(i) + "]", secrets);
      if (!d.ok()) return d.status();
      inv.defaults.push_back(*std::move(d));
    }
  }
  return inv;
}

absl::StatusOr<Inventory> LoadInventory(const std::string& path, std::string_view default_site,
                                        const SecretSources& secrets) {
  auto text = secrets.file(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(path +
                                      ": cannot read: " + std::string(text.status().message()));
  }
  auto inv = ParseInventory(*text, default_site, secrets);
  if (!inv.ok()) {
    return absl::InvalidArgumentError(path + ": " + std::string(inv.status().message()));
  }
  return inv;
}

}  // namespace phonebus::command
