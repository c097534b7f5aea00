// lib/url: request targets and query strings exactly as a phone (or an attacker) sends them.
// Input: a request target ("/yealink/incoming_call?mac=...&remote=%2B49...").
#include <string>

#include "fuzz_support.h"
#include "url.h"

using phonebus::fuzz::Check;
using phonebus::fuzz::IsUtf8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace url = phonebus::url;
  const std::string_view target = phonebus::fuzz::Text(data, size);

  const auto [path, query] = url::SplitTarget(target);
  Check(path.size() + query.size() <= target.size(), "SplitTarget grew the target");
  Check(path.find('?') == std::string_view::npos, "path keeps a '?'");
  Check(path.find('#') == std::string_view::npos && query.find('#') == std::string_view::npos,
        "fragment not cut off");

  // Every decoded name and value must fit a proto3 string field (valid UTF-8).
  if (auto parsed = url::ParseQuery(query); parsed.ok()) {
    for (const auto& param : *parsed) {
      Check(IsUtf8(param.name) && IsUtf8(param.value), "ParseQuery returned invalid UTF-8");
    }
  }

  // PercentEncode is what builds provisioning URLs: decoding it must give the bytes back.
  const std::string encoded = url::PercentEncode(target);
  const auto decoded = url::PercentDecode(encoded);
  Check(decoded.ok() && *decoded == target, "PercentDecode(PercentEncode(x)) != x");
  // ...and nothing in it may be read as URL syntax by a phone: only unreserved characters.
  Check(encoded.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-._~%") == std::string::npos,
        "PercentEncode left a reserved character");

  const std::string utf8 = url::ToUtf8(target);
  Check(IsUtf8(utf8), "ToUtf8 returned invalid UTF-8");
  Check(!IsUtf8(target) || utf8 == target, "ToUtf8 changed valid UTF-8");
  (void)url::PercentDecode(target);
  return 0;
}
