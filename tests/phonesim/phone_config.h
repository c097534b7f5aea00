// What one simulated phone is: its identity, the firmware generation that decides which command
// forms it understands (PROTOCOLS.md section 2), how its web server guards itself (credentials,
// source allow-list, login lockout), how it misbehaves on purpose (delay, hang, drop, fixed
// status), how long its calls take, and where its Action URLs go.
//
// The simulator reads the protocol independently of services/command/encoders, so a test that
// drives a simulated phone compares two readings of PROTOCOLS.md, not one reading with itself.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace phonebus::phonesim {

// A firmware generation: which request forms the phone's web server understands.
enum class Family {
  kYealinkServlet,       // current T4x/T5x, T2x above V71: /servlet?key=...
  kYealinkConfigManApp,  // old T2x on V70: /cgi-bin/ConfigManApp.com?number=N and ?key=...
  kYealinkCgiServer,     // T38G, T32G: /cgi-bin/cgiServer.exx?number=N, keys via ConfigManApp.com
  kSnom,                 // /command.htm?number=N, ?key=..., 302 to index.htm on success
  kSnomNoHttpCommands,   // newest D8xx firmware: command.htm refused with 403 (see README.md)
  kSoftphone,            // /?action=make_call&target=N plus the Yealink and SNOM dial forms
};

// Which vendor's Action URL provisioning and variables the phone uses.
enum class Vendor { kYealink, kSnom, kSoftphone };

Vendor VendorOf(Family family);
// "yealink-servlet", "snom", ...: the names the phonesim JSON file and --family use.
std::string_view FamilyName(Family family);
std::optional<Family> ParseFamily(std::string_view name);
// Every family name, comma-separated, for error messages and --help.
std::string FamilyNames();

enum class AuthScheme { kNone, kBasic, kDigest };
std::string_view AuthSchemeName(AuthScheme scheme);
std::optional<AuthScheme> ParseAuthScheme(std::string_view name);

// How the phone misbehaves on every request, before it looks at the request.
enum class Failure {
  kNone,
  kHang,    // reads the request and never answers (the connection stays open)
  kClose,   // reads the request and drops the connection without an answer
  kStatus,  // answers failure_status to everything
};
std::string_view FailureName(Failure failure);
std::optional<Failure> ParseFailure(std::string_view name);

// Real phones lock their web login after repeated wrong credentials; while locked every request
// is refused with 403, right credentials included, so a client that loops on 401 is caught.
struct Lockout {
  int max_failures = 5;  // wrong logins within `window` that lock; 0 never locks
  std::chrono::seconds window{60};
  std::chrono::seconds duration{180};
};

struct CallTiming {
  // From placing a call (outgoing Action URL) to the far end answering (established).
  std::chrono::milliseconds answer_delay{50};
  // From established to the far end hanging up (terminated); 0: until hung up by command.
  std::chrono::milliseconds talk_time{0};
  // From an incoming call ringing to it being missed; 0: rings until answered or rejected.
  std::chrono::milliseconds ring_time{0};
};

// Every member has an initializer: tests name only the fields they care about
// (designated initializers), and GCC warns about any other without one.
struct PhoneConfig {
  // The MAC (any common spelling, stored as 12 lower-case hex digits) for desk phones; any
  // non-empty name for a softphone, which has no MAC.
  std::string id{};
  Family family = Family::kYealinkServlet;
  std::string model{};     // empty: a typical model of the generation
  std::string firmware{};  // empty: a typical firmware of the generation

  std::string bind_address = "127.0.0.1";
  unsigned short port = 0;    // 0: chosen by the OS
  std::string reported_ip{};  // the phone's $ip in Action URLs; empty: bind_address

  AuthScheme auth = AuthScheme::kNone;
  std::string username{};
  std::string password{};
  std::string realm{};  // empty: the vendor's (see DefaultRealm)
  // Yealink features.action_uri_limit_ip: source addresses allowed to send commands. Empty or
  // containing "any": every source. Others get 403.
  std::vector<std::string> allowed_ips{};
  Lockout lockout{};

  std::string account{};       // the SIP account, "1001@pbx.example"
  std::string display_name{};  // the local party's display name

  // Base URL of the phonebus adapter, "http://127.0.0.1:8080". Empty: the phone fires nothing.
  std::string adapter_url{};
  // The provisioning text the administrator loaded. Unset: exactly what the vendor dialect's
  // Provisioning(adapter_url) prints, i.e. what `phonebus config <vendor>` prints.
  std::optional<std::string> provisioning{};
  std::chrono::milliseconds action_url_timeout{5000};

  std::chrono::milliseconds response_delay{0};  // before every answer
  Failure failure = Failure::kNone;
  unsigned failure_status = 503;  // Failure::kStatus only

  CallTiming timing{};
};

std::string DefaultModel(Family family);
std::string DefaultFirmware(Family family);
std::string DefaultRealm(Vendor vendor);

// Checks the configuration once; the message names the field ("id: ...", "port: ...").
absl::Status Validate(const PhoneConfig& config);

// The config with defaults filled in (model, firmware, realm, reported_ip) and the id of a
// desk phone normalised to 12 lower-case hex digits. Call after Validate.
PhoneConfig WithDefaults(PhoneConfig config);

// "00:15:65:AA:BB:CC", "00-15-65-aa-bb-cc", "001565aabbcc" -> "001565aabbcc"; "" otherwise.
std::string NormalizeMac(std::string_view mac);

}  // namespace phonebus::phonesim
