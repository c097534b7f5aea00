// The table `phonebus devices` prints: one row per device the commander
// knows, columns aligned, "-" for what is unknown, last seen as an age.
//
//   SITE  ID            VENDOR            MODEL  FIRMWARE    ADDRESS               ...  LAST SEEN
//   hq    001565aabbcc  yealink           T46S   66.86.0.15  10.1.2.3:80           ...  12s ago
//   hq    0c383e000001  fanvil (yealink)  X4U    2.12.1      https://10.1.2.4:443  ...  never

#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <string>
#include <vector>

#include "phonebus/v1/control.pb.h"

namespace phonebus::cli {

// "now", "42s ago", "5m ago", "3h ago", "12d ago"; "never" when unset.
std::string Age(const google::protobuf::Timestamp& t, std::chrono::system_clock::time_point now);

// The whole table, header included, each line ending in '\n'.
std::string DevicesTable(const std::vector<v1::DeviceInfo>& devices,
                         std::chrono::system_clock::time_point now);

}  // namespace phonebus::cli
