// The Snom dialect (adapters/action_url/dialects/snom): one Action URL in, one PhoneEvent out.
// Input: "{event}?{query}", what follows "/snom/" in the request target.
#include "dialects/snom.h"
#include "fuzz_dialect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  phonebus::fuzz::FuzzDialect(phonebus::fuzz::Text(data, size), phonebus::adapter::snom::Parse);
  return 0;
}
