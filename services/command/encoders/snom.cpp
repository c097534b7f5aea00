#include "encoders/snom.h"

#include <array>
#include <string>
#include <vector>

#include "encoders/encoder.h"
#include "validate.h"

namespace phonebus::command::snom {
namespace {

struct Key {
  std::string_view neutral;
  std::string_view snom;  // empty: SNOM has no such key
};

// Every name of the vocabulary (validate.h KeyNames); the unit test checks the lists agree.
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
    {"#", "%23"},  // a raw '#' would end the query
    {"OK", "ENTER"},
    {"CANCEL", "CANCEL"},
    {"SPEAKER", "SPEAKER"},
    {"HEADSET", "HEADSET"},
    {"MUTE", ""},
    {"HOLD", "F_HOLD"},
    {"TRANSFER", "TRANSFER"},
    {"CONFERENCE", ""},
    {"REDIAL", "REDIAL"},
    {"MESSAGES", ""},
    {"DND", "DND"},
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
    {"LINE1", ""},
    {"LINE2", ""},
    {"LINE3", ""},
    {"LINE4", ""},
    {"LINE5", ""},
    {"LINE6", ""},
    {"DSS1", "P1"},
    {"DSS2", "P2"},
    {"DSS3", "P3"},
    {"DSS4", "P4"},
    {"DSS5", "P5"},
    {"DSS6", "P6"},
    {"DSS7", "P7"},
    {"DSS8", "P8"},
    {"DSS9", "P9"},
    {"DSS10", "P10"},
}};

PhoneRequest Keys(const std::vector<std::string_view>& keys) {
  return PhoneRequest{detail::Cat("/command.htm?key=", detail::Join(keys, ";"))};
}

std::string_view Hint(std::string_view neutral) {
  if (neutral.starts_with("LINE")) return "; SNOM's line keys are P keys: use DSSn";
  return "";
}

struct Encoder {
  const Target& target;

  absl::StatusOr<PhoneRequest> operator()(const Dial& dial) const {
    if (auto s = ValidateNumber("number", dial.number, target.max_number_length); !s.ok()) return s;
    auto account = DialAccount(dial, target);
    if (!account.ok()) return account.status();
    return PhoneRequest{
        detail::Cat("/command.htm?number=", QueryNumber(dial.number),
                    account->empty() ? "" : detail::Cat("&outgoing_uri=", QueryAccount(*account)))};
  }

  absl::StatusOr<PhoneRequest> operator()(const Answer&) const { return Keys({"ENTER"}); }
  absl::StatusOr<PhoneRequest> operator()(const Hangup&) const { return Keys({"CANCEL"}); }
  absl::StatusOr<PhoneRequest> operator()(const Hold&) const { return Keys({"F_HOLD"}); }
  absl::StatusOr<PhoneRequest> operator()(const Resume&) const { return Keys({"F_HOLD"}); }

  absl::StatusOr<PhoneRequest> operator()(const Transfer& transfer) const {
    if (auto s = ValidateNumber("number", transfer.number, target.max_number_length); !s.ok()) {
      return s;
    }
    std::vector<std::string_view> keys = {"TRANSFER"};
    for (const char c : transfer.number) {
      if (c == '+') {
        return absl::FailedPreconditionError(
            detail::Cat("number: command form ", Quote(target.form.name),
                        " transfers by key presses and a SNOM keypad cannot type '+'; give the "
                        "number with its international dialing prefix (e.g. 00 instead of +)"));
      }
      // Validated: only digits, '*' and '#' remain, each a key of the table.
      keys.push_back(*KeyName(std::string_view(&c, 1)));
    }
    keys.push_back("ENTER");
    return Keys(keys);
  }

  absl::StatusOr<PhoneRequest> operator()(const SetDnd& dnd) const {
    if (!target.dnd.has_value()) {
      return absl::FailedPreconditionError(
          "SNOM can only toggle DND, and this phone's DND state is unknown until it reports "
          "dnd_on or dnd_off (its DND Action URLs must be provisioned); set DND once on the "
          "phone, or press DND with SendKeys and watch the reported state");
    }
    if (*target.dnd == dnd.enabled) return PhoneRequest{};  // already there: nothing to send
    return Keys({"DND"});
  }

  absl::StatusOr<PhoneRequest> operator()(const SendKeys& send) const {
    if (auto s = ValidateKeys(send.keys); !s.ok()) return s;
    std::vector<std::string_view> keys;
    keys.reserve(send.keys.size());
    for (size_t i = 0; i < send.keys.size(); ++i) {
      const auto key = KeyName(send.keys[i]);
      if (!key) {
        return absl::FailedPreconditionError(detail::Cat("keys[", i, "]: the snom family has no ",
                                                         Quote(send.keys[i]), " key",
                                                         Hint(send.keys[i])));
      }
      keys.push_back(*key);
    }
    return Keys(keys);
  }
};

}  // namespace

absl::StatusOr<PhoneRequest> Encode(const Command& command, const Target& target) {
  return std::visit(Encoder{target}, command);
}

std::optional<std::string_view> KeyName(std::string_view neutral) {
  for (const Key& key : kKeys) {
    if (key.neutral == neutral) {
      if (key.snom.empty()) return std::nullopt;
      return key.snom;
    }
  }
  return std::nullopt;
}

}  // namespace phonebus::command::snom
