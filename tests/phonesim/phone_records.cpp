#include "phone_records.h"

namespace phonebus::phonesim {

std::string Describe(const RequestRecord& record) {
  std::string out = record.method + " " + record.target + " -> ";
  out.append(record.status == 0 ? "no answer" : std::to_string(record.status));
  out.append(" auth=").append(AuthOutcomeName(record.auth));
  if (!record.user.empty()) out.append(" user=").append(record.user);
  if (record.command) out.append(" ").append(Describe(*record.command));
  if (!record.note.empty()) out.append(" (").append(record.note).append(")");
  return out;
}

std::string_view CallStateName(CallState state) {
  switch (state) {
    case CallState::kDialing:
      return "dialing";
    case CallState::kRinging:
      return "ringing";
    case CallState::kConnected:
      return "connected";
    case CallState::kHeld:
      return "held";
    case CallState::kEnded:
      return "ended";
  }
  return "unknown";
}

Counters& Counters::operator+=(const Counters& o) {
  requests += o.requests;
  answered += o.answered;
  unanswered += o.unanswered;
  succeeded += o.succeeded;
  unauthorized += o.unauthorized;
  forbidden += o.forbidden;
  not_found += o.not_found;
  failed_logins += o.failed_logins;
  lockouts += o.lockouts;
  commands += o.commands;
  calls += o.calls;
  action_urls_ok += o.action_urls_ok;
  action_urls_failed += o.action_urls_failed;
  return *this;
}

}  // namespace phonebus::phonesim
