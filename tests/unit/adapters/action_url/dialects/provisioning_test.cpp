// Round trip for every dialect: print the provisioning, take every URL template out of it,
// substitute the variables the way a phone does (raw values, no encoding), send the result through
// the adapter's decoding (SplitTarget, ParseQuery) and the dialect's Parse, and check that each
// value landed in the right PhoneEvent field. This is what proves a provisioned phone is
// understood.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dialects/snom.h"
#include "dialects/softphone.h"
#include "dialects/values.h"
#include "dialects/yealink.h"
#include "gtest/gtest.h"
#include "url.h"

namespace phonebus::adapter {
namespace {

constexpr std::string_view kBase = "http://127.0.0.1:8080";
// A base as long as a real deployment's (TLS, port, secret path segment).
constexpr std::string_view kLongBase =
    "https://phonebus-adapter.callcenter.example.com:8443/s/0123456789abcdef0123456789abcdef";

using Variables = std::map<std::string, std::string, std::less<>>;

// Replaces $name (Yealink, SNOM) and <$name> (softphone) like a phone does. Every variable in the
// template must be one the test knows, so a template cannot carry a variable nobody checked.
std::string Substitute(std::string_view tmpl, const Variables& vars, std::set<std::string>* used) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t end = i;
    if (tmpl.substr(i).starts_with("<$")) {
      end = tmpl.find('>', i);
      end = end == std::string_view::npos ? tmpl.size() : end + 1;
    } else if (tmpl[i] == '$') {
      end = i + 1;
      while (end < tmpl.size() && (std::isalnum(static_cast<unsigned char>(tmpl[end])) ||
                                   tmpl[end] == '_' || tmpl[end] == '-')) {
        ++end;
      }
    } else {
      out.push_back(tmpl[i++]);
      continue;
    }
    const std::string_view variable = tmpl.substr(i, end - i);
    const auto it = vars.find(variable);
    if (it == vars.end()) {
      ADD_FAILURE() << "template variable " << variable << " has no sample value in the test";
    } else {
      out.append(it->second);
      used->insert(it->first);
    }
    i = end;
  }
  return out;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return lines;
}

struct Request {
  std::string path;
  url::Query query;
};

// The target a substituted URL sends, decoded as the adapter decodes it.
Request Receive(std::string_view base, std::string_view substituted) {
  EXPECT_TRUE(substituted.starts_with(base)) << substituted;
  substituted.remove_prefix(std::min(base.size(), substituted.size()));
  const auto [path, query] = url::SplitTarget(substituted);
  auto parsed = url::ParseQuery(query);
  EXPECT_TRUE(parsed.ok()) << parsed.status() << " in " << substituted;
  return Request{std::string(path), parsed.ok() ? *std::move(parsed) : url::Query{}};
}

// ---------------------------------------------------------------------------------------------
// Yealink

const Variables kYealinkVars = {
    {"$mac", "00:15:65:AA:BB:CC"},
    {"$ip", "10.0.0.7"},
    {"$model", "SIP-T46S"},
    {"$firmware", "66.86.0.15"},
    {"$active_url", "sip:1001@pbx.example"},
    {"$active_user", "1001"},
    {"$active_host", "pbx.example"},
    {"$local", "1001@pbx.example"},
    {"$remote", "+4930123456"},
    {"$display_local", "Agent One"},
    {"$display_remote", "Jürgen Müller"},
    {"$call_id", "42"},
    {"$callerID", "+4930123456"},
    {"$calledNumber", "+4930123456"},
};

struct YealinkTemplate {
  std::string event;
  std::string url;
};

std::vector<YealinkTemplate> YealinkTemplates(std::string_view base) {
  std::vector<YealinkTemplate> out;
  const std::string text = yealink::Provisioning(base);  // Lines() views into it
  for (const std::string_view line : Lines(text)) {
    if (line.empty() || line.starts_with('#')) continue;
    const size_t eq = line.find(" = ");
    if (!line.starts_with("action_url.") || eq == std::string_view::npos) {
      ADD_FAILURE() << "not a provisioning key: " << line;
      continue;
    }
    out.push_back({std::string(line.substr(11, eq - 11)), std::string(line.substr(eq + 3))});
  }
  return out;
}

TEST(YealinkRoundTripTest, EveryTemplateParsesIntoTheRightFields) {
  const std::vector<YealinkTemplate> templates = YealinkTemplates(kBase);
  EXPECT_EQ(templates.size(), 44u);
  std::set<std::string> events, used;
  for (const YealinkTemplate& t : templates) {
    SCOPED_TRACE(t.event);
    EXPECT_TRUE(events.insert(t.event).second) << "provisioned twice";
    const Request request = Receive(kBase, Substitute(t.url, kYealinkVars, &used));
    EXPECT_EQ(request.path, "/" + std::string(yealink::kPath) + "/" + t.event);

    const auto event = yealink::Parse(ActionUrl{t.event, request.query});
    ASSERT_TRUE(event.ok()) << event.status();
    const url::Query no_query;
    const auto bare = yealink::Parse(ActionUrl{t.event, no_query});
    ASSERT_TRUE(bare.ok());
    EXPECT_EQ(event->kind(), bare->kind());
    EXPECT_NE(event->kind(), v1::EVENT_KIND_OTHER);
    EXPECT_EQ(event->vendor_event(), t.event);
    EXPECT_EQ(event->device().vendor(), v1::VENDOR_YEALINK);
    EXPECT_EQ(event->device().mac(), "001565aabbcc");
    EXPECT_EQ(event->device().ip(), "10.0.0.7");
    EXPECT_EQ(event->device().model(), "SIP-T46S");
    EXPECT_EQ(event->device().firmware(), "66.86.0.15");

    if (t.url.find("$remote") != std::string::npos) {
      const v1::Call& call = event->call();
      EXPECT_EQ(call.call_id(), "42");
      EXPECT_EQ(call.account(), "1001@pbx.example");
      EXPECT_EQ(call.remote().number(), "+4930123456");
      EXPECT_EQ(call.remote().display_name(), "Jürgen Müller");
      EXPECT_EQ(call.local().number(), "1001");
      EXPECT_EQ(call.local().uri(), "1001@pbx.example");
      EXPECT_EQ(call.local().display_name(), "Agent One");
    } else {
      EXPECT_FALSE(event->has_call()) << event->DebugString();
    }
    if (event->has_registration()) {
      EXPECT_EQ(event->registration().account(), "1001@pbx.example");
    }
  }
  EXPECT_EQ(used.size(), kYealinkVars.size()) << "a sample variable no template uses";
}

TEST(YealinkRoundTripTest, TemplatesFitThePhonesUrlLimit) {
  for (const std::string_view base : {kBase, kLongBase}) {
    for (const YealinkTemplate& t : YealinkTemplates(base)) {
      EXPECT_LE(t.url.size(), 511u) << t.url;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SNOM

const Variables kSnomVars = {
    {"$mac", "000413AABBCC"},           {"$phone_ip", "10.0.0.8"},
    {"$local_ip", "192.168.1.8"},       {"$active_url", "sip:1001@pbx.example"},
    {"$active_user", "1001"},           {"$active_host", "pbx.example"},
    {"$local", "sip:1001@pbx.example"}, {"$remote", "sip:+4930123456@pbx.example"},
    {"$display_local", "Agent One"},    {"$display_remote", "Jürgen Müller"},
    {"$call-id", "3c2a7f@10.0.0.8"},    {"$csta_id", "7"},
    {"$nr_ongoing_calls", "2"},         {"$cancel_reason", "486 Busy Here"},
};

std::string XmlUnescape(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '&') {
      for (const auto& [entity, c] : {std::pair{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}}) {
        if (in.substr(i).starts_with(entity)) {
          out.push_back(c);
          i += std::string_view(entity).size() - 1;
          break;
        }
      }
      continue;
    }
    out.push_back(in[i]);
  }
  return out;
}

TEST(SnomRoundTripTest, EveryTemplateParsesIntoTheRightFields) {
  const std::string xml = snom::Provisioning(kBase);
  const std::regex element(R"re(^  <([a-z_]+) perm="">(.*)</([a-z_]+)>$)re");
  std::set<std::string> settings, used;
  for (const std::string_view line : Lines(xml)) {
    std::cmatch m;
    if (!std::regex_match(line.begin(), line.end(), m, element)) continue;
    const std::string setting = m[1];
    SCOPED_TRACE(setting);
    EXPECT_EQ(m[1].str(), m[3].str());
    EXPECT_TRUE(settings.insert(setting).second) << "provisioned twice";
    // The path carries the setting name without "action_" and "_url".
    std::string event = setting.substr(std::string_view("action_").size());
    if (event.ends_with("_url")) event.resize(event.size() - 4);

    const std::string tmpl = XmlUnescape(m[2].str());
    const Request request = Receive(kBase, Substitute(tmpl, kSnomVars, &used));
    EXPECT_EQ(request.path, "/" + std::string(snom::kPath) + "/" + event);
    const auto parsed = snom::Parse(ActionUrl{event, request.query});
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    const url::Query no_query;
    const auto bare = snom::Parse(ActionUrl{event, no_query});
    ASSERT_TRUE(bare.ok());
    EXPECT_EQ(parsed->kind(), bare->kind());
    EXPECT_NE(parsed->kind(), v1::EVENT_KIND_OTHER);
    EXPECT_EQ(parsed->vendor_event(), event);
    EXPECT_EQ(parsed->device().vendor(), v1::VENDOR_SNOM);
    EXPECT_EQ(parsed->device().mac(), "000413aabbcc");
    EXPECT_EQ(parsed->device().ip(), "10.0.0.8");

    if (tmpl.find("$remote") != std::string::npos) {
      const v1::Call& call = parsed->call();
      EXPECT_EQ(call.call_id(), "3c2a7f@10.0.0.8");
      EXPECT_EQ(call.csta_id(), "7");
      EXPECT_EQ(call.ongoing_calls(), 2u);
      EXPECT_EQ(call.cancel_reason(), "486 Busy Here");
      EXPECT_EQ(call.account(), "1001@pbx.example");
      EXPECT_EQ(call.remote().number(), "+4930123456");
      EXPECT_EQ(call.remote().uri(), "+4930123456@pbx.example");
      EXPECT_EQ(call.remote().display_name(), "Jürgen Müller");
      EXPECT_EQ(call.local().number(), "1001");
      EXPECT_EQ(call.local().display_name(), "Agent One");
    } else {
      EXPECT_FALSE(parsed->has_call()) << parsed->DebugString();
    }
    if (parsed->has_registration()) {
      EXPECT_EQ(parsed->registration().account(), "1001@pbx.example");
    }
  }
  EXPECT_EQ(settings.size(), 20u) << xml;
  EXPECT_EQ(used.size(), kSnomVars.size()) << "a sample variable no template uses";
}

// ---------------------------------------------------------------------------------------------
// Softphone: the five templates are the same URL; <$action> and the state placeholders say
// which kind fired, so every template is run through every scenario.

struct SoftphoneScenario {
  std::string_view action, direction, hold_state, connected_time, duration;
  v1::EventKind kind;
};

constexpr SoftphoneScenario kScenarios[] = {
    {"incoming", "inbound", "off_hold", "", "0", v1::EVENT_KIND_CALL_INCOMING},
    {"outgoing", "outbound", "off_hold", "", "0", v1::EVENT_KIND_CALL_OUTGOING},
    {"connected", "inbound", "off_hold", "2019-03-25T10-34-27", "0",
     v1::EVENT_KIND_CALL_ESTABLISHED},
    {"hold", "outbound", "on_hold", "2019-03-25T10-34-27", "3", v1::EVENT_KIND_CALL_HOLD},
    {"hold", "1", "off_hold", "2019-03-25T10-34-27", "5", v1::EVENT_KIND_CALL_UNHOLD},
    {"disconnected", "inbound", "off_hold", "2019-03-25T10-34-27", "7",
     v1::EVENT_KIND_CALL_TERMINATED},
    {"disconnected", "0", "off_hold", "", "0", v1::EVENT_KIND_CALL_MISSED},
};

void CheckSoftphone(std::string_view base, const softphone::ParamNames& names,
                    std::string_view device_id) {
  std::vector<std::string> templates;
  const std::string text =
      softphone::Provisioning(base, names, device_id);  // Lines() views into it
  for (const std::string_view line : Lines(text)) {
    if (line.starts_with('#')) continue;
    const size_t at = line.find(base);
    if (at != std::string_view::npos) templates.emplace_back(line.substr(at));
  }
  ASSERT_EQ(templates.size(), 5u);

  std::set<std::string> used;
  for (const std::string& tmpl : templates) {
    for (const SoftphoneScenario& s : kScenarios) {
      SCOPED_TRACE(std::string(s.action) + " " + std::string(s.hold_state));
      const Variables vars = {
          {"<$action>", std::string(s.action)},
          {"<$call_direction>", std::string(s.direction)},
          {"<$local_party>", "1001@pbx.example"},
          {"<$local_alias>", "Agent One"},
          {"<$remote_party>", "+4930123456"},
          {"<$remote_alias>", "Jürgen Müller"},
          {"<$hold_state>", std::string(s.hold_state)},
          {"<$call_duration_seconds>", std::string(s.duration)},
          {"<$call_created_time>", "2019-03-25T10-34-22"},
          {"<$call_connected_time>", std::string(s.connected_time)},
          {"<$call_disconnected_time>", "2019-03-25T10-34-34"},
          {"<$call_guid>", "1399c8c8-cf9e-3ebe-764f-d12b1f7bea35"},
      };
      const Request request = Receive(base, Substitute(tmpl, vars, &used));
      EXPECT_EQ(request.path, "/" + std::string(softphone::kPath));
      const auto event = softphone::Parse(ActionUrl{"", request.query}, names);
      ASSERT_TRUE(event.ok()) << event.status();
      EXPECT_EQ(event->kind(), s.kind) << v1::EventKind_Name(event->kind());
      EXPECT_EQ(event->vendor_event(), s.action);
      EXPECT_EQ(event->device().vendor(), v1::VENDOR_SOFTPHONE);
      const v1::Call& call = event->call();
      EXPECT_EQ(call.call_guid(), "1399c8c8-cf9e-3ebe-764f-d12b1f7bea35");
      EXPECT_EQ(call.account(), "1001@pbx.example");
      EXPECT_EQ(call.local().uri(), "1001@pbx.example");
      EXPECT_EQ(call.local().display_name(), "Agent One");
      EXPECT_EQ(call.remote().number(), "+4930123456");
      EXPECT_EQ(call.remote().display_name(), "Jürgen Müller");
      EXPECT_EQ(call.created_at().seconds(), 1553510062);
      EXPECT_EQ(call.disconnected_at().seconds(), 1553510074);
      EXPECT_EQ(call.has_connected_at(), !s.connected_time.empty());
      EXPECT_EQ(call.hold(),
                s.hold_state == "on_hold" ? v1::HOLD_STATE_ON_HOLD : v1::HOLD_STATE_OFF_HOLD);
      EXPECT_EQ(Value(request.query, names.device),
                device_id.empty() ? std::nullopt : std::optional(device_id));
    }
  }
  EXPECT_EQ(used.size(), 12u) << "a placeholder no template uses";
}

TEST(SoftphoneRoundTripTest, DefaultNames) { CheckSoftphone(kBase, {}, ""); }

TEST(SoftphoneRoundTripTest, RenamedParametersAndDeviceId) {
  softphone::ParamNames names;
  names.action = "ereignis";
  names.remote_party = "nummer";
  names.remote_alias = "name";
  names.hold_state = "halten";
  names.created_time = "beginn";
  names.device = "platz";
  CheckSoftphone(kLongBase, names, "agent-7");
}

}  // namespace
}  // namespace phonebus::adapter
