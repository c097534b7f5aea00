// Decoding of request targets as phones send them.
//
// Phones substitute variables into a URL template without form-encoding, so
// "+" is a literal plus (a number like +4930...), never a space, and values
// may be percent-encoded or raw UTF-8 (or, on old firmware, Latin-1).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace phonebus::url {

struct QueryParam {
  std::string name;
  std::string value;
};
using Query = std::vector<QueryParam>;

// Splits "/path?query" at the first '?'; the query excludes the '?' and any '#fragment'.
std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target);

// Decodes %XX escapes ('+' stays '+'); a malformed escape is an InvalidArgument.
absl::StatusOr<std::string> PercentDecode(std::string_view in);

// Encodes everything but unreserved characters (RFC 3986), for building URLs.
std::string PercentEncode(std::string_view in);

// Returns `in` if it is valid UTF-8; otherwise reads it as Latin-1 (what old
// firmware sends) and returns it as UTF-8, so every value fits a proto string.
std::string ToUtf8(std::string_view in);

// Parses "a=1&b=%2B2&c" into decoded, UTF-8 name/value pairs in order, keeping
// repeats. Empty segments ("a=1&&b=2") are skipped.
absl::StatusOr<Query> ParseQuery(std::string_view query);

}  // namespace phonebus::url
