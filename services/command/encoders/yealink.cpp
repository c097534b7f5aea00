#include "encoders/yealink.h"

#include <array>
#include <string>
#include <vector>

#include "encoders/encoder.h"
#include "url.h"
#include "validate.h"

namespace phonebus::command::yealink {
namespace {

struct Key {
  std::string_view neutral;
  std::string_view yealink;  // empty: Yealink has no such key
};

// Every name of the vocabulary (validate.h KeyNames), so a missing one is a decision, not an
// oversight; the unit test checks the two lists agree.
constexpr std::array<Key, 49> kKeys = {{
    {"0", "0"},
    {"1", "1"},
    {"2", "2"},
    {"3", "3"},
    {"4", "4"},
    {"5", "5"},
    {"6", "6"},
    {"7", "7"},
    {"8", "8"},
    {"9", "9"},
    {"*", "*"},
    {"#", "POUND"},  // a raw '#' would end the query
    {"OK", "OK"},
    {"CANCEL", "X"},
    {"SPEAKER", "SPEAKER"},
    {"HEADSET", "HEADSET"},
    {"MUTE", "MUTE"},
    {"HOLD", "F_HOLD"},
    {"TRANSFER", "F_TRANSFER"},
    {"CONFERENCE", "F_CONFERENCE"},
    {"REDIAL", "RD"},  // Yealink admin guides' variable list; not in PROTOCOLS.md's excerpt
    {"MESSAGES", "MSG"},
    {"DND", ""},  // only DNDOn/DNDOff exist: SetDnd
    {"VOLUME_UP", "VOLUME_UP"},
    {"VOLUME_DOWN", "VOLUME_DOWN"},
    {"UP", "UP"},
    {"DOWN", "DOWN"},
    {"LEFT", "LEFT"},
    {"RIGHT", "RIGHT"},
    {"F1", "F1"},
    {"F2", "F2"},
    {"F3", "F3"},
    {"F4", "F4"},
    {"LINE1", "L1"},
    {"LINE2", "L2"},
    {"LINE3", "L3"},
    {"LINE4", "L4"},
    {"LINE5", "L5"},
    {"LINE6", "L6"},
    {"DSS1", "D1"},
    {"DSS2", "D2"},
    {"DSS3", "D3"},
    {"DSS4", "D4"},
    {"DSS5", "D5"},
    {"DSS6", "D6"},
    {"DSS7", "D7"},
    {"DSS8", "D8"},
    {"DSS9", "D9"},
    {"DSS10", "D10"},
}};

// Only the two paths Yealink firmware takes key= on: Form is plain data, and a path from
// anywhere else must not become part of a request.
absl::StatusOr<std::string_view> KeysPath(const Form& form) {
  if (form.keys_path == "/servlet" || form.keys_path == "/cgi-bin/ConfigManApp.com") {
    return std::string_view(form.keys_path);
  }
  return absl::FailedPreconditionError(
      detail::Cat("command form ", Quote(form.name), " has keys_path ", Quote(form.keys_path),
                  "; Yealink takes keys on /servlet or /cgi-bin/ConfigManApp.com"));
}

absl::StatusOr<PhoneRequest> Keys(const Form& form, const std::vector<std::string_view>& keys) {
  auto path = KeysPath(form);
  if (!path.ok()) return path.status();
  // key= first: the firmware reads the key list only from the first parameter.
  return PhoneRequest{detail::Cat(*path, "?key=", detail::Join(keys, ";"))};
}

// A validated number as one key token: '#' is typed as '$' ('#' cannot travel in the URL), and
// a keypad has no '+'. `what` says why keys are typed: "dials" or "transfers".
absl::StatusOr<std::string> KeyedNumber(std::string_view number, const Form& form,
                                        std::string_view what) {
  std::string out;
  for (const char c : number) {
    if ((c >= '0' && c <= '9') || c == '*') {
      out.push_back(c);
    } else if (c == '#') {
      out.push_back('$');
    } else if (c == '+') {
      return absl::FailedPreconditionError(detail::Cat(
          "number: command form ", Quote(form.name), " ", what,
          " by key presses and a Yealink keypad cannot type '+'; give the number with its "
          "international dialing prefix (e.g. 00 instead of +)"));
    } else {
      out += url::PercentEncode(std::string_view(&c, 1));  // unreachable after validation
    }
  }
  return out;
}

struct Encoder {
  const Target& target;

  absl::StatusOr<PhoneRequest> operator()(const Dial& dial) const {
    if (auto s = ValidateNumber("number", dial.number, target.max_number_length); !s.ok()) return s;
    auto account = DialAccount(dial, target);
    if (!account.ok()) return account.status();
    const std::string uri =
        account->empty() ? std::string() : detail::Cat("&outgoing_uri=", QueryAccount(*account));
    switch (target.form.yealink_dial) {
      case YealinkDial::kServlet:
        return PhoneRequest{detail::Cat("/servlet?key=number=", QueryNumber(dial.number), uri)};
      case YealinkDial::kCgiServer:
        return PhoneRequest{
            detail::Cat("/cgi-bin/cgiServer.exx?number=", QueryNumber(dial.number), uri)};
      case YealinkDial::kConfigManApp:
        if (auto s = RequireDefaultAccount(dial, target); !s.ok()) return s;
        return PhoneRequest{
            detail::Cat("/cgi-bin/ConfigManApp.com?number=", QueryNumber(dial.number))};
      case YealinkDial::kKeySequence: {
        if (auto s = RequireDefaultAccount(dial, target); !s.ok()) return s;
        auto keyed = KeyedNumber(dial.number, target.form, "dials");
        if (!keyed.ok()) return keyed.status();
        return Keys(target.form, {"F_HANDFREE", *keyed, "ENTER"});
      }
    }
    return absl::FailedPreconditionError(
        detail::Cat("command form ", Quote(target.form.name), " has no Yealink dial method"));
  }

  absl::StatusOr<PhoneRequest> operator()(const Answer&) const { return Keys(target.form, {"OK"}); }
  absl::StatusOr<PhoneRequest> operator()(const Hangup&) const { return Keys(target.form, {"X"}); }
  absl::StatusOr<PhoneRequest> operator()(const Hold&) const {
    return Keys(target.form, {"F_HOLD"});
  }
  absl::StatusOr<PhoneRequest> operator()(const Resume&) const {
    return Keys(target.form, {"F_HOLD"});
  }

  absl::StatusOr<PhoneRequest> operator()(const Transfer& transfer) const {
    if (auto s = ValidateNumber("number", transfer.number, target.max_number_length); !s.ok()) {
      return s;
    }
    auto keyed = KeyedNumber(transfer.number, target.form, "transfers");
    if (!keyed.ok()) return keyed.status();
    return Keys(target.form, {"F_TRANSFER", *keyed, "F_TRANSFER"});
  }

  absl::StatusOr<PhoneRequest> operator()(const SetDnd& dnd) const {
    return Keys(target.form, {dnd.enabled ? "DNDOn" : "DNDOff"});
  }

  absl::StatusOr<PhoneRequest> operator()(const SendKeys& send) const {
    if (auto s = ValidateKeys(send.keys); !s.ok()) return s;
    std::vector<std::string_view> keys;
    keys.reserve(send.keys.size());
    for (size_t i = 0; i < send.keys.size(); ++i) {
      const auto key = KeyName(send.keys[i]);
      if (!key) {
        return absl::FailedPreconditionError(
            detail::Cat("keys[", i, "]: the yealink family has no ", Quote(send.keys[i]), " key",
                        send.keys[i] == "DND" ? "; use SetDnd, which sends DNDOn or DNDOff" : ""));
      }
      keys.push_back(*key);
    }
    return Keys(target.form, keys);
  }
};

}  // namespace

absl::StatusOr<PhoneRequest> Encode(const Command& command, const Target& target) {
  return std::visit(Encoder{target}, command);
}

std::optional<std::string_view> KeyName(std::string_view neutral) {
  for (const Key& key : kKeys) {
    if (key.neutral == neutral) {
      if (key.yealink.empty()) return std::nullopt;
      return key.yealink;
    }
  }
  return std::nullopt;
}

}  // namespace phonebus::command::yealink
