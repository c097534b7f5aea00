#include "devices_format.h"

#include <array>
#include <cctype>

#include "watch_format.h"

namespace phonebus::cli {
namespace {

// Display width: code points, not bytes (no wide characters in these columns).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Or(const std::string& value) { return value.empty() ? "-" : Sanitize(value); }

// "yealink", or "fanvil (yealink)" for a brand speaking a family's commands.
std::string VendorText(const v1::DeviceInfo& d) {
  std::string family;
  if (d.vendor() != v1::VENDOR_UNSPECIFIED) {
    family = Lower(v1::Vendor_Name(d.vendor()));
    if (family.rfind("vendor_", 0) == 0) family.erase(0, 7);
  }
  const std::string brand = Sanitize(Lower(d.brand()));
  if (brand.empty() || brand == family) return family.empty() ? "-" : family;
  return family.empty() ? brand : brand + " (" + family + ")";
}

std::string AddressText(const v1::DeviceInfo& d) {
  if (d.address().empty()) return "-";
  return (d.https() ? "https://" : "") + Sanitize(d.address());
}

std::string AccountsText(const v1::DeviceInfo& d) {
  std::string out;
  for (const auto& account : d.accounts()) {
    if (!out.empty()) out += ',';
    out += Sanitize(account);
  }
  return out.empty() ? "-" : out;
}

std::string SourceText(v1::DeviceSource source) {
  switch (source) {
    case v1::DEVICE_SOURCE_INVENTORY:
      return "inventory";
    case v1::DEVICE_SOURCE_LEARNED:
      return "learned";
    case v1::DEVICE_SOURCE_BOTH:
      return "both";
    default:
      return "-";
  }
}

}  // namespace

std::string Age(const google::protobuf::Timestamp& t, std::chrono::system_clock::time_point now) {
  if (t.seconds() == 0 && t.nanos() == 0) return "never";
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const int64_t age = now_s - t.seconds();
  if (age < 1) return "now";  // or a clock running ahead of ours
  if (age < 60) return std::to_string(age) + "s ago";
  if (age < 3600) return std::to_string(age / 60) + "m ago";
  if (age < 86400) return std::to_string(age / 3600) + "h ago";
  return std::to_string(age / 86400) + "d ago";
}

std::string DevicesTable(const std::vector<v1::DeviceInfo>& devices,
                         std::chrono::system_clock::time_point now) {
  using Row = std::array<std::string, 9>;
  std::vector<Row> rows;
  rows.push_back(
      {"SITE", "ID", "VENDOR", "MODEL", "FIRMWARE", "ADDRESS", "ACCOUNTS", "SOURCE", "LAST SEEN"});
  for (const auto& d : devices) {
    rows.push_back({Or(d.site()), Or(d.id()), VendorText(d), Or(d.model()), Or(d.firmware()),
                    AddressText(d), AccountsText(d), SourceText(d.source()),
                    Age(d.last_seen(), now)});
  }
  std::array<size_t, 9> widths{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - Width(row[i]) + 2, ' ');
    }
    out += line + '\n';
  }
  return out;
}

}  // namespace phonebus::cli
