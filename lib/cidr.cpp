#include "cidr.h"

#include <charconv>

namespace phonebus::cidr {
namespace {

std::array<unsigned char, 16> Bytes(const net::ip::address& address) {
  if (address.is_v4()) {
    return net::ip::make_address_v6(net::ip::v4_mapped, address.to_v4()).to_bytes();
  }
  return address.to_v6().to_bytes();
}

bool PrefixEqual(const std::array<unsigned char, 16>& a, const std::array<unsigned char, 16>& b,
                 int prefix) {
  int i = 0;
  for (; prefix >= 8; prefix -= 8, ++i) {
    if (a[i] != b[i]) return false;
  }
  if (prefix == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFF << (8 - prefix));
  return (a[i] & mask) == (b[i] & mask);
}

}  // namespace

absl::StatusOr<Range> ParseRange(std::string_view text) {
  const auto slash = text.find('/');
  const std::string host(text.substr(0, slash));
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) {
    return absl::InvalidArgumentError("'" + std::string(text) + "' is not an IP address or CIDR");
  }
  const int max_bits = address.is_v4() ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (digits.empty() || err != std::errc() || end != digits.data() + digits.size() || bits < 0 ||
        bits > max_bits) {
      return absl::InvalidArgumentError("'" + std::string(text) + "': prefix length must be 0-" +
                                        std::to_string(max_bits));
    }
  }
  Range range;
  range.base = Bytes(address);
  range.prefix = address.is_v4() ? bits + 96 : bits;
  std::array<unsigned char, 16> masked{};
  for (int i = 0, left = range.prefix; i < 16 && left > 0; ++i, left -= 8) {
    masked[i] = static_cast<unsigned char>(range.base[i] & (left >= 8 ? 0xFF : 0xFF << (8 - left)));
  }
  if (masked != range.base) {
    const auto network = net::ip::make_address_v6(masked);
    return absl::InvalidArgumentError(
        "'" + std::string(text) + "' has host bits set under its prefix (the network is " +
        (address.is_v4() ? net::ip::make_address_v4(net::ip::v4_mapped, network).to_string()
                         : network.to_string()) +
        "/" + std::to_string(bits) + ")");
  }
  return range;
}

bool Contains(const Range& range, const net::ip::address& address) {
  return PrefixEqual(range.base, Bytes(address), range.prefix);
}

absl::StatusOr<AllowList> AllowList::Parse(const std::vector<std::string>& entries) {
  AllowList list;
  for (const auto& entry : entries) {
    auto range = ParseRange(entry);
    if (!range.ok()) return range.status();
    list.ranges_.push_back(*range);
  }
  return list;
}

bool AllowList::Allows(const net::ip::address& address) const {
  for (const auto& range : ranges_) {
    if (Contains(range, address)) return true;
  }
  return false;
}

bool AllowList::Allows(std::string_view address) const {
  boost::system::error_code ec;
  const auto parsed = net::ip::make_address(std::string(address), ec);
  return !ec && Allows(parsed);
}

std::string SourceKey(std::string_view address) {
  boost::system::error_code ec;
  const auto parsed = net::ip::make_address(std::string(address), ec);
  if (ec) return std::string(address);
  if (parsed.is_v4()) return parsed.to_string();
  const auto v6 = parsed.to_v6();
  if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return net::ip::make_address_v6(bytes).to_string() + "/64";
}

std::vector<std::string> LocalRanges() {
  return {"127.0.0.0/8",    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
          "169.254.0.0/16", "::1",        "fc00::/7",      "fe80::/10"};
}

}  // namespace phonebus::cidr
