#include "values.h"

#include <cctype>

namespace phonebus::adapter {

bool IsUnsubstituted(std::string_view value) {
  return value.starts_with('$') || value.starts_with("<$");
}

std::optional<std::string_view> Value(const url::Query& query, std::string_view name) {
  for (const auto& param : query) {
    if (param.name != name) continue;
    if (param.value.empty() || IsUnsubstituted(param.value)) return std::nullopt;
    return std::string_view(param.value);
  }
  return std::nullopt;
}

v1::Party ParseParty(std::optional<std::string_view> uri_or_number,
                     std::optional<std::string_view> display_name) {
  v1::Party party;
  if (display_name) party.set_display_name(std::string(*display_name));
  if (!uri_or_number) return party;
  std::string_view v = *uri_or_number;
  // "Name <sip:1001@pbx>;tag=x" -> "sip:1001@pbx"
  if (const auto lt = v.find('<'); lt != std::string_view::npos) {
    const auto gt = v.find('>', lt);
    v = v.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
  }
  for (const std::string_view scheme : {"sip:", "sips:", "tel:"}) {
    if (v.size() >= scheme.size()) {
      bool match = true;
      for (size_t i = 0; i < scheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(v[i])) != scheme[i]) match = false;
      }
      if (match) {
        v.remove_prefix(scheme.size());
        break;
      }
    }
  }
  // URI parameters (";user=phone") are not part of the address.
  if (const auto semi = v.find(';'); semi != std::string_view::npos && v.find('@') < semi) {
    v = v.substr(0, semi);
  }
  const auto at = v.find('@');
  if (at == std::string_view::npos) {
    party.set_number(std::string(v));
  } else {
    party.set_number(std::string(v.substr(0, at)));
    party.set_uri(std::string(v));
  }
  return party;
}

std::string Account(std::optional<std::string_view> uri, std::optional<std::string_view> user,
                    std::optional<std::string_view> host) {
  if (uri) {
    const v1::Party party = ParseParty(uri, std::nullopt);
    if (!party.uri().empty() && !party.number().empty()) return party.uri();
  }
  if (user && host) return std::string(*user) + "@" + std::string(*host);
  if (user) return std::string(*user);
  return {};
}

void SetKindFacts(v1::PhoneEvent& event) {
  switch (event.kind()) {
    case v1::EVENT_KIND_DND_ON:
      event.set_dnd(true);
      break;
    case v1::EVENT_KIND_DND_OFF:
      event.set_dnd(false);
      break;
    case v1::EVENT_KIND_FORWARD_ON:
      event.mutable_forwarding()->set_enabled(true);
      break;
    case v1::EVENT_KIND_FORWARD_OFF:
      event.mutable_forwarding()->set_enabled(false);
      break;
    case v1::EVENT_KIND_REGISTERED:
      event.mutable_registration()->set_status(v1::REGISTRATION_STATUS_REGISTERED);
      break;
    case v1::EVENT_KIND_UNREGISTERED:
      event.mutable_registration()->set_status(v1::REGISTRATION_STATUS_UNREGISTERED);
      break;
    case v1::EVENT_KIND_REGISTER_FAILED:
      event.mutable_registration()->set_status(v1::REGISTRATION_STATUS_FAILED);
      break;
    case v1::EVENT_KIND_CALL_HOLD:
      event.mutable_call()->set_hold(v1::HOLD_STATE_ON_HOLD);
      break;
    case v1::EVENT_KIND_CALL_UNHOLD:
      event.mutable_call()->set_hold(v1::HOLD_STATE_OFF_HOLD);
      break;
    default:
      break;
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view TrimTrailingSlash(std::string_view url) {
  while (url.ends_with('/')) url.remove_suffix(1);
  return url;
}

}  // namespace phonebus::adapter
