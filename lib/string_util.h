// Small string building for messages and headers. absl::StrCat would do, but
// Debian's Abseil keeps its own string_view type, which std::string_view does
// not convert to; these stand in, in one place.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

namespace phonebus::strings {

template <typename... Parts>
void Append(std::string& out, const Parts&... parts) {
  const auto append = [&out](const auto& part) {
    if constexpr (std::is_integral_v<std::decay_t<decltype(part)>>) {
      out += std::to_string(part);
    } else {
      out += std::string_view(part);
    }
  };
  (append(parts), ...);
}

template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  Append(out, parts...);
  return out;
}

template <typename Range>
std::string Join(const Range& parts, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& part : parts) {
    if (!first) out += separator;
    out += std::string_view(part);
    first = false;
  }
  return out;
}

// ASCII lower case (header names, schemes, parameter names).
inline std::string ToLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace phonebus::strings
