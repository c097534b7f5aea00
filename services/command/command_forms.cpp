#include "command_forms.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "nlohmann/json.hpp"
#include "validate.h"

namespace phonebus::command {
namespace {

using Json = nlohmann::json;

struct BuiltIn {
  std::string_view name;
  Family family;
  YealinkDial yealink_dial;
  std::string_view keys_path;  // Yealink family only
};

// T38G/T32G predate /servlet, so their keys go to ConfigManApp.com like other old firmware.
constexpr std::array<BuiltIn, 7> kForms = {{
    {"yealink-servlet", Family::kYealink, YealinkDial::kServlet, "/servlet"},
    {"yealink-configmanapp", Family::kYealink, YealinkDial::kConfigManApp,
     "/cgi-bin/ConfigManApp.com"},
    {"yealink-cgiserver", Family::kYealink, YealinkDial::kCgiServer, "/cgi-bin/ConfigManApp.com"},
    {"yealink-keys", Family::kYealink, YealinkDial::kKeySequence, "/servlet"},
    {"yealink-keys-legacy", Family::kYealink, YealinkDial::kKeySequence,
     "/cgi-bin/ConfigManApp.com"},
    {"snom", Family::kSnom, YealinkDial::kServlet, ""},
    {"softphone", Family::kSoftphone, YealinkDial::kServlet, ""},
}};

constexpr std::array<std::string_view, kForms.size()> kFormNames = [] {
  std::array<std::string_view, kForms.size()> names{};
  for (size_t i = 0; i < kForms.size(); ++i) names[i] = kForms[i].name;
  return names;
}();

// The shipped command_forms.json, embedded by CMake as a raw string literal.
constexpr std::string_view kDefaultJson =
#include "command_forms_default.inc"
    ;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

absl::Status Invalid(std::string_view place, std::string_view what) {
  return absl::InvalidArgumentError(detail::Cat(place, ": ", what));
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the reader needs the rest.
std::string_view WithoutTag(std::string_view what) {
  if (what.starts_with("[")) {
    if (const auto end = what.find("] "); end != std::string_view::npos)
      what.remove_prefix(end + 2);
  }
  return what;
}

// libstdc++'s regex compiler reads the number of a back-reference (\12) or a
// repeat ({3,5}) into an int without an overflow check (undefined behaviour,
// found by fuzz_command_forms), and a huge repeat builds a huge automaton;
// firmware patterns need neither beyond a few digits.
bool NumbersWithinLimit(std::string_view text) {
  constexpr size_t kMaxDigits = 4;
  bool in_class = false;   // [...]: '{' and ',' are literal there
  bool in_repeat = false;  // {n,m}
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    bool counted = c == '\\';  // a back-reference \n, or an escaped character
    if (!counted && in_class) {
      in_class = c != ']';
      continue;
    }
    if (c == '[') in_class = true;
    if (c == '{') in_repeat = counted = true;
    if (c == '}') in_repeat = false;
    if (c == ',') counted = in_repeat;
    if (!counted) continue;
    size_t digits = 0;
    while (i + 1 + digits < text.size() &&
           std::isdigit(static_cast<unsigned char>(text[i + 1 + digits]))) {
      ++digits;
    }
    if (digits > kMaxDigits) return false;
    if (c == '\\' && digits == 0) ++i;  // the escaped character is literal
  }
  return true;
}

absl::StatusOr<std::regex> Pattern(std::string_view place, const Json& value) {
  if (!value.is_string()) return Invalid(place, "must be a string (a regular expression)");
  const auto& text = value.get_ref<const std::string&>();
  if (!NumbersWithinLimit(text)) {
    return Invalid(place, detail::Cat("invalid regular expression ", Quote(text),
                                      ": back-references and repeats take at most 4 digits"));
  }
  try {
    return std::regex(text, std::regex::ECMAScript | std::regex::icase);
  } catch (const std::regex_error& e) {
    return Invalid(place, detail::Cat("invalid regular expression ", Quote(text), ": ", e.what()));
  }
}

}  // namespace

absl::StatusOr<CommandForms> CommandForms::Parse(std::string_view json) {
  Json doc;
  try {
    doc = Json::parse(json.begin(), json.end());
  } catch (const Json::parse_error& e) {
    return absl::InvalidArgumentError(detail::Cat("command forms: JSON syntax error at byte ",
                                                  e.byte, ": ", WithoutTag(e.what())));
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        detail::Cat("command forms: invalid JSON: ", WithoutTag(e.what())));
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(
        "command forms: the top level must be an object: {\"rules\": [...]}");
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "rules" && key != "comment") {
      return Invalid(key, "unknown field; the top level has rules and comment");
    }
  }
  const auto rules = doc.find("rules");
  if (rules == doc.end() || !rules->is_array()) return Invalid("rules", "required, an array");
  if (rules->empty()) return Invalid("rules", "at least one rule is required");

  CommandForms forms;
  for (size_t i = 0; i < rules->size(); ++i) {
    const Json& in = (*rules)[i];
    const std::string place = detail::Cat("rules[", i, "]");
    if (!in.is_object()) return Invalid(place, "must be an object");
    Rule rule;
    bool has_form = false;
    for (const auto& [key, value] : in.items()) {
      const std::string field = detail::Cat(place, ".", key);
      if (key == "vendor") {
        if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
          return Invalid(field, "must be a non-empty string");
        }
        rule.vendor = value.get<std::string>();
      } else if (key == "model" || key == "firmware") {
        auto pattern = Pattern(field, value);
        if (!pattern.ok()) return pattern.status();
        (key == "model" ? rule.has_model : rule.has_firmware) = true;
        (key == "model" ? rule.model : rule.firmware) = *std::move(pattern);
      } else if (key == "form") {
        if (!value.is_string()) return Invalid(field, "must be a string, the name of a form");
        auto form = Named(value.get_ref<const std::string&>());
        if (!form.ok()) return Invalid(field, std::string(form.status().message()));
        rule.form = *std::move(form);
        has_form = true;
      } else if (key != "comment") {
        return Invalid(field, "unknown field; a rule has vendor, model, firmware, form, comment");
      }
    }
    if (rule.vendor.empty()) return Invalid(detail::Cat(place, ".vendor"), "required");
    if (!has_form) {
      return Invalid(detail::Cat(place, ".form"),
                     detail::Cat("required; known: ", detail::Join(kFormNames, ", ")));
    }
    forms.rules_.push_back(std::move(rule));
  }
  return forms;
}

const CommandForms& CommandForms::Defaults() {
  // A broken embedded table is a build defect the unit test catches; never a runtime path.
  static const CommandForms* const forms = [] {
    auto parsed = Parse(kDefaultJson);
    if (!parsed.ok()) {
      std::fprintf(stderr, "phonebus: the built-in command_forms.json is invalid: %s\n",
                   std::string(parsed.status().message()).c_str());
      std::abort();
    }
    return new CommandForms(*std::move(parsed));
  }();
  return *forms;
}

std::string_view CommandForms::DefaultJson() { return kDefaultJson; }

absl::StatusOr<Form> CommandForms::Choose(std::string_view vendor, std::string_view model,
                                          std::string_view firmware) const {
  auto rule = Match(vendor, model, firmware);
  if (!rule.ok()) return rule.status();
  return rules_[*rule].form;
}

const Form* CommandForms::Find(std::string_view vendor, std::string_view model,
                               std::string_view firmware) const {
  auto rule = Match(vendor, model, firmware);
  return rule.ok() ? &rules_[*rule].form : nullptr;
}

absl::StatusOr<size_t> CommandForms::Match(std::string_view vendor, std::string_view model,
                                           std::string_view firmware) const {
  for (const auto& [name, value] :
       {std::pair{"vendor", vendor}, std::pair{"model", model}, std::pair{"firmware", firmware}}) {
    if (value.size() > kMaxFieldLength) {
      return Invalid(name, detail::Cat("is ", value.size(), " bytes long; at most ",
                                       kMaxFieldLength, " are allowed"));
    }
  }
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (!EqualsIgnoreCase(rule.vendor, vendor)) continue;
    try {
      if (rule.has_model && !std::regex_search(model.begin(), model.end(), rule.model)) continue;
      if (rule.has_firmware &&
          !std::regex_search(firmware.begin(), firmware.end(), rule.firmware)) {
        continue;
      }
    } catch (const std::regex_error& e) {
      // Only a pattern too complex for the input gets here; say which rule to simplify.
      return absl::FailedPreconditionError(
          detail::Cat("rules[", i, "]: its pattern could not be matched: ", e.what()));
    }
    return i;
  }
  return absl::FailedPreconditionError(
      detail::Cat("no command form for vendor ", Quote(vendor), " model ", Quote(model),
                  " firmware ", Quote(firmware), "; add a rule to the command-forms file"));
}

absl::StatusOr<Form> CommandForms::Named(std::string_view name) {
  for (const BuiltIn& built_in : kForms) {
    if (built_in.name != name) continue;
    Form form;
    form.family = built_in.family;
    form.yealink_dial = built_in.yealink_dial;
    form.keys_path = std::string(built_in.keys_path);
    form.name = std::string(built_in.name);
    return form;
  }
  return absl::InvalidArgumentError(
      detail::Cat("unknown form ", Quote(name), "; known: ", detail::Join(kFormNames, ", ")));
}

std::span<const std::string_view> CommandForms::FormNames() { return kFormNames; }

}  // namespace phonebus::command
