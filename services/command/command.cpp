#include "command.h"

#include <type_traits>

namespace phonebus::command {

const char* CommandName(const Command& command) {
  return std::visit(
      [](const auto& c) -> const char* {
        using T = std::decay_t<decltype(c)>;
        // One branch per alternative: adding a command without a name fails to compile.
        if constexpr (std::is_same_v<T, Dial>) {
          return "Dial";
        } else if constexpr (std::is_same_v<T, Answer>) {
          return "Answer";
        } else if constexpr (std::is_same_v<T, Hangup>) {
          return "Hangup";
        } else if constexpr (std::is_same_v<T, Hold>) {
          return "Hold";
        } else if constexpr (std::is_same_v<T, Resume>) {
          return "Resume";
        } else if constexpr (std::is_same_v<T, Transfer>) {
          return "Transfer";
        } else if constexpr (std::is_same_v<T, SetDnd>) {
          return "SetDnd";
        } else {
          static_assert(std::is_same_v<T, SendKeys>, "CommandName lacks a command");
          return "SendKeys";
        }
      },
      command);
}

const char* FamilyName(Family family) {
  switch (family) {
    case Family::kYealink:
      return "yealink";
    case Family::kSnom:
      return "snom";
    case Family::kSoftphone:
      return "softphone";
  }
  return "unknown";  // an out-of-range cast; never a valid Family
}

}  // namespace phonebus::command
