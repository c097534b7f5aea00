// services/command/command_forms: the rule table an administrator writes (--command-forms FILE)
// and the choice it makes for what a phone reports about itself.
// Input: a rules file ({"rules": [{"vendor": ..., "model": "^T4", "form": ...}]}); read as
// three lines it is also a phone's vendor, model and firmware for the shipped table.
#include <algorithm>
#include <string>

#include "command_forms.h"
#include "fuzz_support.h"

namespace {

using phonebus::command::CommandForms;
using phonebus::fuzz::Check;
using phonebus::fuzz::Cut;

void CheckChoice(const CommandForms& forms, std::string_view vendor, std::string_view model,
                 std::string_view firmware) {
  const auto form = forms.Choose(vendor, model, firmware);
  if (!form.ok()) {
    Check(absl::IsFailedPrecondition(form.status()) || absl::IsInvalidArgument(form.status()),
          "Choose failed with an unexpected code");
    return;
  }
  const auto names = CommandForms::FormNames();
  Check(std::find(names.begin(), names.end(), form->name) != names.end(),
        "Choose returned a form that is not built in");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = phonebus::fuzz::Text(data, size);

  if (const auto forms = CommandForms::Parse(input); forms.ok()) {
    Check(forms->size() > 0, "a table without rules was accepted");
    // Phones as they report themselves, including fields that are unknown (empty).
    CheckChoice(*forms, "yealink", "SIP-T46S", "66.86.0.15");
    CheckChoice(*forms, "Yealink", "T38G", "38.70.0.185");
    CheckChoice(*forms, "snom", "D785", "10.1.54.13");
    CheckChoice(*forms, "fanvil", "", "");
  } else {
    Check(absl::IsInvalidArgument(forms.status()), "Parse failed with an unexpected code");
  }

  // What a phone reports about itself (from the bus, so hostile) against the shipped table.
  const auto [vendor, rest] = Cut(input, '\n');
  const auto [model, firmware] = Cut(rest, '\n');
  CheckChoice(CommandForms::Defaults(), vendor, model, firmware);
  return 0;
}
