// How a phone takes in its Action URL provisioning and fills a template when something happens
// (PROTOCOLS.md section 1). The text is whatever the administrator loaded, by default exactly what
// `phonebus config <vendor>` prints (the dialects' Provisioning()), read the way the phone reads
// its own configuration: Yealink `action_url.<event> = URL` lines, SNOM settings XML, the
// softphone's five URLs under its menu labels. This is the one place that knows how a phone
// substitutes its variables; tests that play a phone by hand use it too.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "phone_config.h"

namespace phonebus::phonesim {

// One stored Action URL.
struct ActionUrlTemplate {
  // The slot it is stored in, in the vendor's own words: Yealink the event of
  // `action_url.<event>` ("outgoing_call"), SNOM the setting ("action_outgoing_url"), the
  // softphone its kind ("outgoing"), which is also what it puts in <$action>.
  std::string event;
  std::string url;  // as stored: XML entities resolved, variables not yet filled
};

// Reads provisioning text as a phone of `vendor` would load it, in order. Lines and settings that
// are not Action URLs are skipped, as phones skip what they do not know; an empty URL means the
// slot is not configured. A softphone line under a label the softphone does not have is an
// InvalidArgument naming the line.
absl::StatusOr<std::vector<ActionUrlTemplate>> ParseProvisioning(Vendor vendor,
                                                                 std::string_view text);

// The provisioning a phone with `config` has loaded: config.provisioning, else the dialect's
// Provisioning(config.adapter_url) (for the softphone with config.id as its device id); empty
// when there is no adapter URL.
std::string ProvisioningFor(const PhoneConfig& config);

using Variables = std::map<std::string, std::string, std::less<>>;

struct Filled {
  std::string url;
  std::vector<std::string> unset;  // variables the template has and `variables` lacks
};

// Substitutes `$name` (Yealink, SNOM; the name is letters, '_' and '-', so SNOM's $call-id works)
// and `<$name>` (softphone) with raw values, as phones do: nothing is percent-encoded, so '+' and
// UTF-8 go out as they are. A variable the phone does not know arrives empty, or, with
// keep_unset, as its literal text (some firmware does that).
Filled Fill(std::string_view url_template, const Variables& variables, bool keep_unset = false);

struct HttpUrl {
  std::string host;  // without brackets for IPv6
  unsigned short port = 80;
  std::string target;  // "/path?query", "/" when the URL has no path
};

// Splits "http://host[:port][/target]". Anything but http:// is an InvalidArgument.
absl::StatusOr<HttpUrl> SplitHttpUrl(std::string_view url);

}  // namespace phonebus::phonesim
