// Source-address allow-lists ("10.0.0.0/8", "2001:db8::/32", "::1"): the one
// thing an Action URL's sender cannot fake on a TCP connection is its address.
// Pure, so tests need no sockets. IPv4 is held as IPv4-mapped IPv6, so a
// dual-stack listener's "::ffff:10.1.2.3" matches "10.0.0.0/8" too.
#pragma once

#include <absl/status/statusor.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "net.h"

namespace phonebus::cidr {

struct Range {
  std::array<unsigned char, 16> base{};  // IPv6 bytes, host bits zero
  int prefix = 128;                      // in IPv6 bits (an IPv4 /8 is 104)
};

// "10.0.0.0/8", "fd00::/8", "192.0.2.7" (a /32), "::1" (a /128). An address
// with host bits set under its prefix ("10.0.0.1/8") is an error: it is
// usually a typo, and silently widening it would allow more than was meant.
absl::StatusOr<Range> ParseRange(std::string_view text);

bool Contains(const Range& range, const net::ip::address& address);

class AllowList {
 public:
  // Every entry must parse; the error names the bad one.
  static absl::StatusOr<AllowList> Parse(const std::vector<std::string>& entries);
  bool Allows(const net::ip::address& address) const;
  // An address in text form, as servers report peers; unparseable: false.
  bool Allows(std::string_view address) const;

 private:
  std::vector<Range> ranges_;
};

// What one "source" is for counting failures: an IPv4 address, or an IPv6
// /64 (one host usually owns a whole /64, and could otherwise rotate through
// it). IPv4-mapped IPv6 counts as IPv4. Unparseable text is its own key.
std::string SourceKey(std::string_view address);

// Loopback and private ranges (RFC 1918, link-local, IPv6 ULA): where desk
// phones live, and the default allow-list.
std::vector<std::string> LocalRanges();

}  // namespace phonebus::cidr
