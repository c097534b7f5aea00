// The phonesim binary's phone list: a JSON file in the style of the commander's inventory, and
// fleets generated for the benchmark.
//
//   {"phones": [{"id": "001565aabbcc", "family": "yealink-servlet", "model": "T46S",
//                "firmware": "66.86.0.15", "port": 9001, "username": "admin",
//                "password": "secret-a", "auth": "digest", "account": "1001@pbx.example",
//                "adapter_url": "http://127.0.0.1:8080"}]}
//
// Every field of an entry (README.md lists them) is checked once; a bad one is refused with the
// entry's index and the field named ("phones[2].port: ..."), and so is an unknown field, so a
// typo does not silently drop a setting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "phone_config.h"

namespace phonebus::phonesim {

absl::StatusOr<std::vector<PhoneConfig>> ParsePhoneList(std::string_view json);

// Reads and parses the file at `path`; errors start with the path.
absl::StatusOr<std::vector<PhoneConfig>> LoadPhoneList(const std::string& path);

// `count` phones like `first`, the i-th with the MAC i above first's (a softphone: "<id>-<i>"),
// the port i above first's (0 stays 0: the OS chooses), and an account whose numeric user part is
// i above first's ("1001@pbx" -> "1002@pbx"). InvalidArgument when MACs or ports would run out.
absl::StatusOr<std::vector<PhoneConfig>> GeneratePhones(const PhoneConfig& first, int count);

// The first MAC of a generated fleet: the vendor's OUI, then zeros.
std::string DefaultFirstId(Family family);

}  // namespace phonebus::phonesim
