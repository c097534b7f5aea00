// How phonebus keeps and compares secrets that clients present (Action URL
// secrets, gRPC bearer tokens): as SHA-256 digests, compared in constant time,
// so neither the bytes nor the length of a secret can be learnt from timing.
#pragma once

#include <array>
#include <string_view>

namespace phonebus {

using SecretDigest = std::array<unsigned char, 32>;

SecretDigest Sha256(std::string_view text);

// Equal, in time independent of where the digests differ.
bool SameDigest(const SecretDigest& a, const SecretDigest& b);

}  // namespace phonebus
