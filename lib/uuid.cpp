#include "uuid.h"

#include <chrono>
#include <cstdint>
#include <random>

namespace phonebus {

std::string NewUuidV7() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const uint64_t r1 = rng();
  const uint64_t r2 = rng();
  uint8_t b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | ((r1 >> 8) & 0x0F));  // version 7
  b[7] = static_cast<uint8_t>(r1);
  b[8] = static_cast<uint8_t>(0x80 | ((r1 >> 16) & 0x3F));  // variant 10
  for (int i = 9; i < 16; ++i) b[i] = static_cast<uint8_t>(r2 >> (8 * (i - 9)));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

}  // namespace phonebus
