// What every dialect target checks: the adapter publishes whatever Parse returns, so it must be
// a PhoneEvent every consumer can decode again (proto3 refuses strings that are not UTF-8).
#pragma once

#include <string>

#include "dialects/dialect.h"
#include "fuzz_support.h"
#include "google/protobuf/util/message_differencer.h"
#include "phonebus/v1/event.pb.h"

namespace phonebus::fuzz {

// Input: "{event}?{query}" as it follows "/{vendor}/" in a request target. Runs `parse` on it
// the way the adapter does (ParseQuery first; a query it refuses never reaches a dialect).
template <typename ParseFn>
void FuzzDialect(std::string_view input, ParseFn parse) {
  const auto [event_name, raw_query] = url::SplitTarget(input);
  const auto query = url::ParseQuery(raw_query);
  if (!query.ok()) return;
  const auto event = parse(adapter::ActionUrl{event_name, *query});
  if (!event.ok()) {
    Check(!event.status().message().empty(), "an error without a reason");
    return;
  }
  std::string wire;
  Check(event->SerializeToString(&wire), "PhoneEvent does not serialize");
  v1::PhoneEvent decoded;
  Check(decoded.ParseFromString(wire), "a consumer cannot decode the PhoneEvent (invalid UTF-8?)");
  Check(google::protobuf::util::MessageDifferencer::Equals(*event, decoded),
        "PhoneEvent changed on the wire");
}

}  // namespace phonebus::fuzz
