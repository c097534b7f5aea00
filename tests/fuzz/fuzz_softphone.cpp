// The softphone dialect (adapters/action_url/dialects/softphone): one Action URL in, one
// PhoneEvent out. Input: "{event}?{query}", what follows "/softphone/" in the request target
// (the event usually comes in action= and the path segment is empty).
#include "dialects/softphone.h"
#include "fuzz_dialect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace softphone = phonebus::adapter::softphone;
  static const softphone::ParamNames names;  // the defaults, as the seeds are written
  phonebus::fuzz::FuzzDialect(
      phonebus::fuzz::Text(data, size),
      [](const phonebus::adapter::ActionUrl& url) { return softphone::Parse(url, names); });
  return 0;
}
