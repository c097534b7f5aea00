// UTF-8, one code point at a time: the one decoder behind validating query
// values (url), making topic levels safe (topics), naming a character a field
// refuses (validate) and keeping terminal output harmless (the CLI).
#pragma once

#include <cstddef>
#include <string_view>

namespace phonebus::utf8 {

// The length (1-4) of the well-formed sequence at s[i], with its code point in
// *cp; 0 when the bytes there are none: a stray or cut-short byte, an overlong
// form, a surrogate, or past U+10FFFF. Requires i < s.size().
size_t Decode(std::string_view s, size_t i, char32_t* cp);

bool IsValid(std::string_view s);

}  // namespace phonebus::utf8
