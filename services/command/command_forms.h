// Which command form a phone gets, decided by a rule table kept as data, so a new model, a new
// firmware generation or a brand that speaks Yealink's commands (Fanvil) needs an edited file,
// not a new build.
//
// The table is JSON (the shipped default is services/command/command_forms.json, compiled in;
// copy it as the starting point for an override):
//   {"rules": [{"vendor": "yealink", "model": "^(SIP-)?T3[28]G$", "form": "yealink-cgiserver"},
//              {"vendor": "fanvil", "form": "yealink-servlet"}, ...]}
// A rule has a vendor (compared case-insensitively), optional "model" and "firmware" ECMAScript
// regular expressions (searched, case-insensitively: anchor them with ^ and $ to match whole
// strings) and the name of a built-in form; an optional "comment" string documents it. The first
// rule whose every given field matches wins. A rule with a model or firmware pattern never
// matches a device whose model or firmware is unknown (empty) unless the pattern matches "".
//
// Built-in forms (Named): yealink-servlet, yealink-configmanapp, yealink-cgiserver, yealink-keys
// (key-sequence dialing via /servlet), yealink-keys-legacy (key-sequence dialing via
// /cgi-bin/ConfigManApp.com), snom, softphone.
#pragma once

#include <cstddef>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "command.h"

namespace phonebus::command {

class CommandForms {
 public:
  // INVALID_ARGUMENT naming the place: "JSON syntax error at byte 17: ...",
  // "rules[3].model: invalid regular expression: ...", "rules[1].form: unknown form \"x\"; ...".
  // Unknown fields are errors too, so a misspelt "modle" cannot silently match every model.
  static absl::StatusOr<CommandForms> Parse(std::string_view json);

  // The shipped table, parsed once. Its JSON is compiled in, so the binary needs no file.
  static const CommandForms& Defaults();
  // The shipped table's JSON text, for printing as the starting point of an override.
  static std::string_view DefaultJson();

  // The form of the first matching rule, with Form.name set. No match is FAILED_PRECONDITION
  // naming the vendor, model and firmware. Inputs longer than kMaxFieldLength are
  // INVALID_ARGUMENT: they come from phones, and std::regex's backtracking must not run on them.
  absl::StatusOr<Form> Choose(std::string_view vendor, std::string_view model,
                              std::string_view firmware) const;
  // The same choice without the error: the chosen form inside this table (valid while the table
  // lives), nullptr where Choose fails. For callers that keep the choice per device.
  const Form* Find(std::string_view vendor, std::string_view model,
                   std::string_view firmware) const;

  // A built-in form by its exact name; INVALID_ARGUMENT listing the known names otherwise.
  static absl::StatusOr<Form> Named(std::string_view name);
  // The built-in form names, in documentation order.
  static std::span<const std::string_view> FormNames();

  size_t size() const { return rules_.size(); }

  static constexpr size_t kMaxFieldLength = 256;

 private:
  struct Rule {
    std::string vendor;
    bool has_model = false;
    std::regex model;
    bool has_firmware = false;
    std::regex firmware;
    Form form;
  };
  // The index of the first matching rule, or Choose's error.
  absl::StatusOr<size_t> Match(std::string_view vendor, std::string_view model,
                               std::string_view firmware) const;

  std::vector<Rule> rules_;
};

}  // namespace phonebus::command
