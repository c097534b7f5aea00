// What a person types, turned into what the contract wants: numbers without
// visual separators, key names, and the MQTT subscriptions a `watch` filter
// stands for. Pure, so tests need no bus.
//
// A DEVICE argument is not rewritten here: the commander finds a device by a
// MAC in any spelling or by a SIP account (its registry is the one place that
// knows how), so the CLI sends it as typed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace phonebus::cli {

// "+49 (30) 123-456" -> "+4930123456": drops spaces and the separators people
// write numbers with (- . / ( )). Everything else is left for the commander
// to judge.
std::string NormalizeNumber(std::string_view number);

// Key names in the contract's spelling: upper case, and a run of dial-pad
// characters ("1234#") pressed one key at a time.
std::vector<std::string> ExpandKeys(const std::vector<std::string>& keys);

// Every event kind name as used in topics ("call_incoming", ...), sorted.
std::vector<std::string> KindNames();
bool IsKnownKind(std::string_view kind);

// What `phonebus watch` listens to.
struct WatchFilter {
  std::string site;  // empty: every site
  // Device ids as typed; a MAC in any spelling is the topic's id (topics::NormalizeMac).
  // Empty: every device.
  std::vector<std::string> devices;
  std::vector<std::string> kinds;  // event kinds; empty: every kind
  bool events = true;
  bool states = false;
  bool results = true;
};

// The MQTT topic filters for `filter`, one per (device, kind) combination.
std::vector<std::string> Subscriptions(const WatchFilter& filter);

}  // namespace phonebus::cli
