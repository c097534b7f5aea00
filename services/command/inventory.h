// The inventory file: devices an administrator lists by hand, and defaults
// (credentials, port, HTTPS) for devices the commander only learns from the bus.
// JSON:
//
//   {"devices": [{"id": "001565aabbcc", "vendor": "yealink", "model": "T46S",
//                 "firmware": "66.86.0.15", "address": "127.0.0.1:9001",
//                 "username": "admin", "password": "secret-a",
//                 "account": "1001@pbx.example"}, ...],
//    "defaults": [{"vendor": "yealink", "site": "hq", "username": "admin",
//                  "password_env": "YEALINK_PASSWORD"},
//                 {"vendor": "softphone", "port": 8088}, ...]}
//
// A password comes from exactly one of `password`, `password_env` (an
// environment variable) or `password_file`. Anything wrong is refused at
// start-up with the entry's index and field named; unknown fields too, so a
// typo does not silently drop a setting.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace phonebus::command {

struct InventoryDevice {
  std::string site;    // empty: the commander's default site
  std::string id;      // a MAC in any spelling becomes the topic's device id
  std::string vendor;  // lower case: yealink, snom, softphone, or a brand with a form rule
  std::string model;
  std::string firmware;
  // Unset (empty, 0, nullopt): the host the phone reports on the bus; port,
  // https and tls_verify from the matching defaults, else 80 or 443, plain
  // HTTP and verified TLS.
  std::string host;
  uint16_t port = 0;
  std::optional<bool> https;
  std::optional<bool> tls_verify;  // false for phones with self-signed certificates
  std::string username;
  std::string password;
  std::vector<std::string> accounts;  // "account" and/or "accounts"
  std::string command_form;           // overrides the rule table for this device
};

// Settings for learned devices (those the inventory does not list). Empty
// site/vendor match any; the most specific entry wins (site and vendor, then
// vendor, then site, then neither).
struct DeviceDefaults {
  std::string site;
  std::string vendor;
  std::string username;
  std::string password;
  uint16_t port = 0;  // 0: 80, or 443 with https
  bool https = false;
  bool tls_verify = true;
};

struct Inventory {
  std::vector<InventoryDevice> devices;
  std::vector<DeviceDefaults> defaults;

  // The defaults for a learned device; nullptr when no entry matches.
  const DeviceDefaults* DefaultsFor(std::string_view site, std::string_view vendor) const;
};

// Where password_env and password_file are looked up; tests substitute them.
struct SecretSources {
  std::function<std::optional<std::string>(const std::string&)> env;
  std::function<absl::StatusOr<std::string>(const std::string&)> file;
  static SecretSources Process();  // getenv and the file system
};

// Parses an inventory. `default_site` fills entries without a site.
absl::StatusOr<Inventory> ParseInventory(std::string_view json, std::string_view default_site,
                                         const SecretSources& secrets);

// Reads and parses the file at `path`; errors start with the path.
absl::StatusOr<Inventory> LoadInventory(const std::string& path, std::string_view default_site,
                                        const SecretSources& secrets);

}  // namespace phonebus::command
