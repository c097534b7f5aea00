// The Yealink dialect (adapters/action_url/dialects/yealink): one Action URL in, one PhoneEvent
// out. Input: "{event}?{query}", what follows "/yealink/" in the request target.
#include "dialects/yealink.h"
#include "fuzz_dialect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  phonebus::fuzz::FuzzDialect(phonebus::fuzz::Text(data, size), phonebus::adapter::yealink::Parse);
  return 0;
}
