#include "phone_commands.h"

#include <optional>

#include "absl/status/status.h"

namespace phonebus::phonesim {
namespace {

constexpr std::string_view kServlet = "/servlet";
constexpr std::string_view kConfigManApp = "/cgi-bin/ConfigManApp.com";
constexpr std::string_view kCgiServer = "/cgi-bin/cgiServer.exx";
constexpr std::string_view kCommandHtm = "/command.htm";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// HTML-form decoding, as the phones' CGI code does it: this is why a '+' has to travel as %2B.
absl::StatusOr<std::string> FormDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%') {
      const int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError("malformed %-escape in '" + std::string(in) + "'");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

const FormParam* Find(const std::vector<FormParam>& params, std::string_view name) {
  for (const auto& p : params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string ValueOf(const std::vector<FormParam>& params, std::string_view name) {
  const FormParam* p = Find(params, name);
  return p != nullptr ? p->value : std::string{};
}

std::vector<std::string> SplitKeys(std::string_view value, bool dollar_is_pound) {
  std::vector<std::string> keys;
  while (!value.empty()) {
    const auto semi = value.find(';');
    std::string key(value.substr(0, semi));
    value = semi == std::string_view::npos ? std::string_view{} : value.substr(semi + 1);
    if (key.empty()) continue;
    if (dollar_is_pound) {
      for (char& c : key) {
        if (c == '$') c = '#';
      }
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::Status NotUnderstood(std::string_view why) { return absl::NotFoundError(std::string(why)); }

absl::StatusOr<Command> Dial(std::string form, const std::vector<FormParam>& params,
                             std::string number) {
  if (number.empty()) return NotUnderstood("empty number");
  Command c;
  c.kind = CommandKind::kDial;
  c.form = std::move(form);
  c.number = std::move(number);
  c.account = ValueOf(params, "outgoing_uri");
  return c;
}

// Yealink's key= parameter, which this firmware only honours in first position. `number_form`:
// whether the generation knows key=number=N (servlet firmware); older ones take "number=N" for
// a key name they do not have, and press nothing useful.
absl::StatusOr<Command> YealinkKey(std::string_view prefix, const std::vector<FormParam>& params,
                                   bool number_form) {
  if (params.empty() || params.front().name != "key") {
    if (Find(params, "key") != nullptr) {
      return NotUnderstood("key= must be the first query parameter on Yealink");
    }
    return NotUnderstood("no key= parameter");
  }
  const std::string& value = params.front().value;
  if (number_form && value.rfind("number=", 0) == 0) {
    return Dial(std::string(prefix) + "-number", params, value.substr(7));
  }
  Command c;
  c.kind = CommandKind::kKeys;
  c.form = std::string(prefix) + "-key";
  c.keys = SplitKeys(value, /*dollar_is_pound=*/true);
  if (c.keys.empty()) return NotUnderstood("empty key list");
  return c;
}

absl::StatusOr<Command> Yealink(Family family, std::string_view path,
                                const std::vector<FormParam>& params) {
  if (family == Family::kYealinkServlet && path == kServlet) {
    return YealinkKey("servlet", params, /*number_form=*/true);
  }
  if ((family == Family::kYealinkConfigManApp || family == Family::kYealinkCgiServer) &&
      path == kConfigManApp) {
    if (!params.empty() && params.front().name == "key") {
      return YealinkKey("configmanapp", params, /*number_form=*/false);
    }
    if (family == Family::kYealinkConfigManApp) {
      if (const FormParam* number = Find(params, "number")) {
        return Dial("configmanapp-number", params, number->value);
      }
    }
    return YealinkKey("configmanapp", params, /*number_form=*/false);
  }
  if (family == Family::kYealinkCgiServer && path == kCgiServer) {
    if (const FormParam* number = Find(params, "number")) {
      return Dial("cgiserver-number", params, number->value);
    }
    return NotUnderstood("cgiServer.exx needs number=");
  }
  return NotUnderstood("no such page on this firmware");
}

absl::StatusOr<Command> Snom(Family family, std::string_view path,
                             const std::vector<FormParam>& params) {
  if (path == "/index.htm") {
    Command c;
    c.kind = CommandKind::kWebPage;
    c.form = "snom-index";
    return c;
  }
  if (path != kCommandHtm) return NotUnderstood("no such page on this phone");
  if (family == Family::kSnomNoHttpCommands) {
    return absl::PermissionDeniedError("HTTP commands are disabled on this firmware");
  }
  if (const FormParam* number = Find(params, "number")) {
    return Dial("snom-number", params, number->value);
  }
  if (const FormParam* key = Find(params, "key")) {
    Command c;
    c.kind = CommandKind::kKeys;
    c.form = "snom-key";
    c.keys = SplitKeys(key->value, /*dollar_is_pound=*/false);
    if (c.keys.empty()) return NotUnderstood("empty key list");
    return c;
  }
  if (const FormParam* dtmf = Find(params, "key_dtmf")) {
    Command c;
    c.kind = CommandKind::kDtmf;
    c.form = "snom-key_dtmf";
    for (const char digit : dtmf->value) c.keys.emplace_back(1, digit);
    if (c.keys.empty()) return NotUnderstood("empty key_dtmf");
    return c;
  }
  if (Find(params, "RELEASE_ALL_CALLS") != nullptr) {
    Command c;
    c.kind = CommandKind::kReleaseAllCalls;
    c.form = "snom-release_all_calls";
    return c;
  }
  return NotUnderstood("command.htm without number=, key=, key_dtmf= or RELEASE_ALL_CALLS");
}

// The softphone's own form, plus the Yealink and SNOM dial forms (and only those: it has no keys).
absl::StatusOr<Command> Softphone(std::string_view path, const std::vector<FormParam>& params) {
  if (path == "/" || path.empty()) {
    const FormParam* action = Find(params, "action");
    if (action == nullptr) return NotUnderstood("no action=");
    if (action->value != "make_call") {
      return NotUnderstood("unknown action '" + action->value + "'");
    }
    return Dial("softphone-make_call", params, ValueOf(params, "target"));
  }
  if (path == kServlet && !params.empty() && params.front().name == "key" &&
      params.front().value.rfind("number=", 0) == 0) {
    return Dial("servlet-number", params, params.front().value.substr(7));
  }
  if (const FormParam* number = Find(params, "number")) {
    if (path == kConfigManApp) return Dial("configmanapp-number", params, number->value);
    if (path == kCgiServer) return Dial("cgiserver-number", params, number->value);
    if (path == kCommandHtm) return Dial("snom-number", params, number->value);
  }
  return NotUnderstood("the softphone takes make_call and the Yealink and SNOM dial forms only");
}

void AppendQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

std::string_view CommandKindName(CommandKind kind) {
  switch (kind) {
    case CommandKind::kDial:
      return "dial";
    case CommandKind::kKeys:
      return "keys";
    case CommandKind::kDtmf:
      return "dtmf";
    case CommandKind::kReleaseAllCalls:
      return "release_all_calls";
    case CommandKind::kWebPage:
      return "web_page";
  }
  return "unknown";
}

std::string Describe(const Command& command) {
  std::string out = "kind=";
  out.append(CommandKindName(command.kind));
  if (command.kind == CommandKind::kDial) {
    out.append(" number=");
    AppendQuoted(out, command.number);
    out.append(" account=");
    AppendQuoted(out, command.account);
  }
  if (command.kind == CommandKind::kKeys || command.kind == CommandKind::kDtmf) {
    out.append(" keys=[");
    for (size_t i = 0; i < command.keys.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendQuoted(out, command.keys[i]);
    }
    out.push_back(']');
  }
  out.append(" form=").append(command.form);
  return out;
}

absl::StatusOr<std::vector<FormParam>> ParseFormQuery(std::string_view query) {
  std::vector<FormParam> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = FormDecode(part.substr(0, eq));
    if (!name.ok()) return name.status();
    std::string value;
    if (eq != std::string_view::npos) {
      auto decoded = FormDecode(part.substr(eq + 1));
      if (!decoded.ok()) return decoded.status();
      value = std::move(*decoded);
    }
    out.push_back({std::move(*name), std::move(value)});
  }
  return out;
}

absl::StatusOr<Command> DecodeCommand(Family family, std::string_view target) {
  // What a browser-minded client would have cut off: a raw '#' in a number is lost, which is what
  // happens in the field when an encoder forgets %23.
  if (const auto hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  std::string_view path = target;
  std::string_view query;
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  auto params = ParseFormQuery(query);
  if (!params.ok()) return params.status();
  switch (VendorOf(family)) {
    case Vendor::kYealink:
      return Yealink(family, path, *params);
    case Vendor::kSnom:
      return Snom(family, path, *params);
    case Vendor::kSoftphone:
      return Softphone(path, *params);
  }
  return NotUnderstood("unknown family");
}

}  // namespace phonebus::phonesim
