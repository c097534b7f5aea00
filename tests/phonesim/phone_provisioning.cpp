#include "phone_provisioning.h"

#include <array>
#include <cctype>
#include <charconv>

#include "absl/status/status.h"
#include "dialects/snom.h"
#include "dialects/softphone.h"
#include "dialects/yealink.h"

namespace phonebus::phonesim {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Each line of the text, without its line break.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return lines;
}

// A Yealink .cfg file: `key = value` lines, '#' comments.
std::vector<ActionUrlTemplate> ParseYealink(std::string_view text) {
  constexpr std::string_view kPrefix = "action_url.";
  std::vector<ActionUrlTemplate> out;
  for (const std::string_view raw : Lines(text)) {
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = Trim(line.substr(0, eq));
    const std::string_view value = Trim(line.substr(eq + 1));
    if (!key.starts_with(kPrefix) || value.empty()) continue;
    out.push_back({std::string(key.substr(kPrefix.size())), std::string(value)});
  }
  return out;
}

std::string XmlUnescape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '&') {
      out.push_back(in[i]);
      continue;
    }
    const auto semi = in.find(';', i);
    if (semi == std::string_view::npos) {
      out.push_back('&');
      continue;
    }
    const std::string_view entity = in.substr(i + 1, semi - i - 1);
    if (entity == "amp") {
      out.push_back('&');
    } else if (entity == "lt") {
      out.push_back('<');
    } else if (entity == "gt") {
      out.push_back('>');
    } else if (entity == "quot") {
      out.push_back('"');
    } else if (entity == "apos") {
      out.push_back('\'');
    } else if (entity.size() > 1 && entity[0] == '#') {
      unsigned code = 0;
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string_view digits = entity.substr(hex ? 2 : 1);
      const auto [end, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10);
      if (ec != std::errc() || end != digits.data() + digits.size() || code > 0x7F) {
        out.append(in.substr(i, semi - i + 1));  // outside ASCII: kept as written
      } else {
        out.push_back(static_cast<char>(code));
      }
    } else {
      out.append(in.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

// SNOM settings XML: every leaf element whose name is an action setting. Containers
// (<settings>, <phone-settings>) are stepped into; attributes (perm="") are ignored.
std::vector<ActionUrlTemplate> ParseSnom(std::string_view text) {
  std::vector<ActionUrlTemplate> out;
  size_t pos = 0;
  while ((pos = text.find('<', pos)) != std::string_view::npos) {
    const size_t name_start = pos + 1;
    if (name_start >= text.size() || text[name_start] == '?' || text[name_start] == '!' ||
        text[name_start] == '/') {
      ++pos;
      continue;
    }
    size_t name_end = name_start;
    while (name_end < text.size() && !std::isspace(static_cast<unsigned char>(text[name_end])) &&
           text[name_end] != '>' && text[name_end] != '/') {
      ++name_end;
    }
    const std::string_view name = text.substr(name_start, name_end - name_start);
    const size_t tag_end = text.find('>', name_end);
    if (tag_end == std::string_view::npos) break;
    pos = tag_end + 1;
    if (text[tag_end - 1] == '/') continue;  // <setting/>: empty
    const size_t next = text.find('<', pos);
    if (next == std::string_view::npos) break;
    const std::string close = "</" + std::string(name) + ">";
    if (text.compare(next, close.size(), close) != 0) continue;  // a container
    const std::string value = XmlUnescape(Trim(text.substr(pos, next - pos)));
    if (name.starts_with("action_") && !value.empty()) {
      out.push_back({std::string(name), value});
    }
    pos = next + close.size();
  }
  return out;
}

// The softphone's five Action URL slots: its German menu labels (seed manual) and the kind it
// reports in <$action>. The English kind is accepted as a label too, for hand-written setups.
struct SoftphoneSlot {
  std::string_view label;
  std::string_view kind;
};
constexpr std::array kSoftphoneSlots = {
    SoftphoneSlot{"Eingehender Anruf", "incoming"}, SoftphoneSlot{"Ausgehender Anruf", "outgoing"},
    SoftphoneSlot{"Anruf annehmen", "connected"},   SoftphoneSlot{"Anruf halten", "hold"},
    SoftphoneSlot{"Anruf beenden", "disconnected"},
};

// "Label (what it means): URL" lines; the label names the slot the URL is entered in.
absl::StatusOr<std::vector<ActionUrlTemplate>> ParseSoftphone(std::string_view text) {
  std::vector<ActionUrlTemplate> out;
  int number = 0;
  for (const std::string_view raw : Lines(text)) {
    ++number;
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const auto url = line.find("http://") != std::string_view::npos ? line.find("http://")
                                                                    : line.find("https://");
    if (url == std::string_view::npos) continue;
    std::string_view label = line.substr(0, url);
    if (const auto paren = label.find('('); paren != std::string_view::npos) {
      label = label.substr(0, paren);
    }
    label = Trim(label);
    if (!label.empty() && label.back() == ':') label = Trim(label.substr(0, label.size() - 1));
    const SoftphoneSlot* slot = nullptr;
    for (const auto& s : kSoftphoneSlots) {
      if (s.label == label || s.kind == label) slot = &s;
    }
    if (slot == nullptr) {
      return absl::InvalidArgumentError("line " + std::to_string(number) + ": '" +
                                        std::string(label) +
                                        "' is not one of the softphone's Action URL slots");
    }
    out.push_back({std::string(slot->kind), std::string(Trim(line.substr(url)))});
  }
  return out;
}

bool IsNameChar(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

}  // namespace

absl::StatusOr<std::vector<ActionUrlTemplate>> ParseProvisioning(Vendor vendor,
                                                                 std::string_view text) {
  switch (vendor) {
    case Vendor::kYealink:
      return ParseYealink(text);
    case Vendor::kSnom:
      return ParseSnom(text);
    case Vendor::kSoftphone:
      return ParseSoftphone(text);
  }
  return absl::InvalidArgumentError("unknown vendor");
}

std::string ProvisioningFor(const PhoneConfig& config) {
  if (config.provisioning) return *config.provisioning;
  if (config.adapter_url.empty()) return {};
  switch (VendorOf(config.family)) {
    case Vendor::kYealink:
      return adapter::yealink::Provisioning(config.adapter_url);
    case Vendor::kSnom:
      return adapter::snom::Provisioning(config.adapter_url);
    case Vendor::kSoftphone:
      return adapter::softphone::Provisioning(config.adapter_url, {}, config.id);
  }
  return {};
}

Filled Fill(std::string_view url_template, const Variables& variables, bool keep_unset) {
  Filled out;
  out.url.reserve(url_template.size() + 64);
  const auto substitute = [&](std::string_view name, std::string_view literal) {
    if (const auto it = variables.find(name); it != variables.end()) {
      out.url.append(it->second);
      return;
    }
    out.unset.emplace_back(name);
    if (keep_unset) out.url.append(literal);
  };
  size_t i = 0;
  while (i < url_template.size()) {
    const char c = url_template[i];
    // <$name>: the softphone's placeholder.
    if (c == '<' && i + 1 < url_template.size() && url_template[i + 1] == '$') {
      size_t end = i + 2;
      while (end < url_template.size() && IsNameChar(url_template[end])) ++end;
      if (end > i + 2 && end < url_template.size() && url_template[end] == '>') {
        substitute(url_template.substr(i + 2, end - i - 2), url_template.substr(i, end + 1 - i));
        i = end + 1;
        continue;
      }
    }
    // $name: Yealink's and SNOM's variables.
    if (c == '$') {
      size_t end = i + 1;
      while (end < url_template.size() && IsNameChar(url_template[end])) ++end;
      if (end > i + 1) {
        substitute(url_template.substr(i + 1, end - i - 1), url_template.substr(i, end - i));
        i = end;
        continue;
      }
    }
    out.url.push_back(c);
    ++i;
  }
  return out;
}

absl::StatusOr<HttpUrl> SplitHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return absl::InvalidArgumentError("not an http:// URL: '" + std::string(url) + "'");
  }
  std::string_view rest = url.substr(kScheme.size());
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!out.target.empty() && out.target.front() == '?') out.target.insert(0, "/");
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);  // user:pass@ is not for Action URLs; ignored
  }
  std::string_view port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("unterminated IPv6 address in '" + std::string(url) + "'");
    }
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return absl::InvalidArgumentError("no host in '" + std::string(url) + "'");
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return absl::InvalidArgumentError("bad port in '" + std::string(url) + "'");
    }
    out.port = static_cast<unsigned short>(value);
  }
  return out;
}

}  // namespace phonebus::phonesim
