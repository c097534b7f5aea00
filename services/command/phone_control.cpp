#include "phone_control.h"

#include <google/protobuf/util/time_util.h>

#include "encoders/encoder.h"
#include "log.h"

namespace phonebus::command {
namespace {

using google::protobuf::util::TimeUtil;

constexpr size_t kMaxRequestIdBytes = 128;
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

absl::Status CheckRequestId(const std::string& id) {
  if (id.empty()) {
    return absl::InvalidArgumentError(
        "request_id: required; choose a unique id per action (e.g. a UUID) so that retries "
        "are safe");
  }
  if (id.size() > kMaxRequestIdBytes) {
    return absl::InvalidArgumentError("request_id: longer than 128 bytes");
  }
  for (const char c : id) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError("request_id: only printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

std::string Address(const Resolved& phone) {
  const bool v6 = phone.host.find(':') != std::string::npos;
  return (v6 ? "[" + phone.host + "]" : phone.host) + ":" + std::to_string(phone.port);
}

// TimeUtil::GetCurrentTime() of Debian's protobuf 3.21 returns whole seconds (nanos 0).
google::protobuf::Timestamp Now() {
  return TimeUtil::NanosecondsToTimestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
}

// The call's "authorization" metadata, as sent.
std::vector<std::string_view> AuthorizationOf(const grpc::CallbackServerContext* ctx) {
  std::vector<std::string_view> out;
  const auto [begin, end] = ctx->client_metadata().equal_range("authorization");
  for (auto it = begin; it != end; ++it) out.emplace_back(it->second.data(), it->second.size());
  return out;
}

absl::Status StatusOf(const v1::CommandResult& r) {
  return absl::Status(static_cast<absl::StatusCode>(r.code()), r.message());
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status PhoneOutcomeStatus(const http_client::Outcome& o, const Resolved& phone) {
  const std::string who = "phone " + phone.id + " at " + Address(phone);
  switch (o.failure) {
    case http_client::Failure::kNone:
      break;
    case http_client::Failure::kInvalidRequest:
      return absl::FailedPreconditionError(who + ": cannot address it: " + o.detail);
    case http_client::Failure::kQueueFull:
      return absl::UnavailableError(who + " has too many commands waiting; try again shortly");
    case http_client::Failure::kConnect:
      if (o.request_sent) {  // UNAVAILABLE reads as "safe to retry": say that it may not be
        return absl::UnavailableError(who + " dropped the connection after the command was sent (" +
                                      o.detail +
                                      "); the command may or may not have been carried out");
      }
      return absl::UnavailableError(who + " is unreachable: " + o.detail);
    case http_client::Failure::kTimeout:
      if (o.request_sent) {
        return absl::DeadlineExceededError(
            who + " did not answer in time; the command may or may not have been carried out");
      }
      return absl::UnavailableError(who + " could not be reached in time (" + o.detail +
                                    "); nothing was sent");
    case http_client::Failure::kTls:
      return absl::UnavailableError(
          who + ": HTTPS failed (" + o.detail +
          "); for a self-signed phone certificate set \"tls_verify\": false for it");
    case http_client::Failure::kProtocol:
      return absl::UnavailableError(who + " answered with something that is not HTTP: " + o.detail);
  }
  const int s = o.status;
  if (CarriedOut(phone.target.form.family, s)) return absl::OkStatus();
  if (s >= 300 && s < 400) {
    const bool to_https = o.location.rfind("https:", 0) == 0;
    return absl::FailedPreconditionError(
        who + " redirected the command" + (o.location.empty() ? "" : " to " + o.location) +
        " instead of carrying it out (HTTP " + std::to_string(s) + ")" +
        (to_https ? ": set \"https\": true for it in the inventory" : ""));
  }
  if (s == 401) {
    if (phone.username.empty()) {
      return absl::UnauthenticatedError(
          who +
          " requires a login and phonebus has none for it: add username and password "
          "to its inventory entry or to the inventory defaults");
    }
    if (!o.credentials_refused) {  // the password was never put to the test
      return absl::FailedPreconditionError(who +
                                           " asks for a login phonebus cannot answer: " + o.detail);
    }
    if (!o.request_sent) {
      return absl::UnauthenticatedError(
          who +
          " rejected phonebus's credentials recently and is not tried again with them for "
          "a while, so that it does not lock its login (" +
          o.detail + "); fix them in the inventory");
    }
    return absl::UnauthenticatedError(
        who +
        " rejected phonebus's credentials (HTTP 401); fix them in the inventory. Not "
        "retried: phones lock their web login after repeated failures");
  }
  if (s == 403) {
    return absl::PermissionDeniedError(who + " refuses remote control from this host (HTTP 403): " +
                                       std::string(RefusalRemedy(phone.target.form.family)));
  }
  if (s == 404 || s == 405 || s == 501) {
    return absl::FailedPreconditionError(
        who + " does not offer this command (HTTP " + std::to_string(s) +
        "): its firmware lacks HTTP commands in this form; set \"command_form\" for it in the "
        "inventory or add a command-forms rule");
  }
  if (s >= 500) {
    return absl::UnavailableError(who + " failed to carry out the command (HTTP " +
                                  std::to_string(s) + ")");
  }
  return absl::FailedPreconditionError(who + " refused the command (HTTP " + std::to_string(s) +
                                       ")");
}

PhoneControlService::PhoneControlService(Options options, const Authorizer& authorizer,
                                         const Registry& registry, http_client::Client& phones,
                                         RequestLog& request_log, metrics::Registry& metrics,
                                         ResultSink sink)
    : options_(std::move(options)),
      authorizer_(authorizer),
      registry_(registry),
      phones_(phones),
      request_log_(request_log),
      sink_(std::move(sink)),
      commands_(metrics.AddCounter("phonebus_commands_total",
                                   "Commands handled, by command and outcome code")),
      latency_(metrics.AddHistogram(
          "phonebus_command_seconds", "From request to the phone's answer, by command",
          {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5})) {}

absl::StatusOr<const ApiClient*> PhoneControlService::Authorize(
    grpc::CallbackServerContext* ctx, std::string_view method,
    std::optional<std::string_view> site) {
  auto client = site ? authorizer_.Authorize(AuthorizationOf(ctx), *site)
                     : authorizer_.Authenticate(AuthorizationOf(ctx));
  if (!client.ok()) {
    // The message names the client and site, never the token.
    log::Warn("call refused", {{"method", std::string(method)},
                               {"peer", ctx->peer()},
                               {"code", absl::StatusCodeToString(client.status().code())},
                               {"error", std::string(client.status().message())}});
  }
  return client;
}

template <typename Request>
grpc::ServerUnaryReactor* PhoneControlService::Run(grpc::CallbackServerContext* ctx,
                                                   const Request& request, Command command,
                                                   v1::CommandResult* result) {
  auto* reactor = ctx->DefaultReactor();
  result->set_command(CommandName(command));
  result->set_request_id(request.request_id());
  result->set_instance(options_.instance);
  result->set_site(request.site().empty() ? registry_.default_site() : request.site());
  *result->mutable_requested_at() = Now();

  const auto refuse = [&](const absl::Status& status) {
    commands_
        .With({{"command", result->command()}, {"code", absl::StatusCodeToString(status.code())}})
        .Inc();
    reactor->Finish(ToGrpc(status));
    return reactor;
  };
  // Before anything else: a caller without a valid token learns nothing,
  // not even whether its request was well-formed.
  if (auto caller = Authorize(ctx, result->command(), result->site()); !caller.ok()) {
    return refuse(caller.status());
  }
  if (auto s = CheckRequestId(request.request_id()); !s.ok()) return refuse(s);
  auto phone = registry_.Resolve(request.site(), request.device());
  if (!phone.ok()) return refuse(phone.status());
  result->set_site(phone->site);
  result->set_device_id(phone->id);

  auto encoded = Encode(command, phone->target);
  if (!encoded.ok()) {
    Complete(reactor, result, encoded.status(), "", false);
    return reactor;
  }

  // Same id, same request (whatever name the device was given by): a repeat.
  Request asked = request;
  asked.DiscardUnknownFields();  // bounded: every known field has a length limit
  asked.clear_request_id();
  asked.set_device(phone->id);
  asked.set_site(phone->site);
  const std::string claim = phone->site + "/" + request.request_id();
  const auto replay = [this, ctx, reactor, result](const v1::CommandResult& first) {
    *result = first;
    result->set_replayed(true);
    commands_.With({{"command", result->command()}, {"code", "REPLAYED"}}).Inc();
    // An error carries no response message: say it in the metadata and the text.
    ctx->AddTrailingMetadata("phonebus-replayed", "true");
    absl::Status status = StatusOf(first);
    if (!status.ok()) {
      status = absl::Status(status.code(), std::string(status.message()) +
                                               " [replayed: the outcome of the first request "
                                               "with this request_id; nothing was sent again]");
    }
    reactor->Finish(ToGrpc(status));
  };
  // The command is part of it: an Answer and a Hangup to one device encode alike.
  const std::string fingerprint = result->command() + '\n' + asked.SerializeAsString();
  switch (request_log_.Begin(claim, fingerprint, replay)) {
    case RequestLog::Claim::kFirst:
      break;
    case RequestLog::Claim::kRepeat:
    case RequestLog::Claim::kWaiting:
      return reactor;
    case RequestLog::Claim::kMismatch:
      return refuse(absl::InvalidArgumentError(
          "request_id: already used for a different request within the idempotency window; "
          "use a new id for a new action"));
    case RequestLog::Claim::kFull:
      return refuse(absl::UnavailableError(
          "too many requests within the idempotency window (--idempotency-max-entries); "
          "try again shortly"));
  }
  if (encoded->target.empty()) {  // the phone is already in the wanted state
    Complete(reactor, result, absl::OkStatus(), claim, true);
    return reactor;
  }

  auto deadline = options_.phone_timeout;
  if (ctx->deadline() != std::chrono::system_clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        ctx->deadline() - std::chrono::system_clock::now());
    if (left.count() <= 0) {  // a command the caller no longer waits for is not sent
      Complete(reactor, result,
               absl::DeadlineExceededError(
                   "the call's deadline passed before the command could be sent; nothing was sent"),
               claim, false);
      return reactor;
    }
    deadline = std::min(deadline, left);
  }
  Send(reactor, deadline, *std::move(phone), *std::move(encoded), claim, result);
  return reactor;
}

void PhoneControlService::Send(grpc::ServerUnaryReactor* reactor,
                               std::chrono::milliseconds deadline, Resolved phone,
                               PhoneRequest request, std::string claim, v1::CommandResult* result) {
  http_client::Endpoint endpoint{phone.host, phone.port, phone.https, phone.tls_verify};
  http_client::Credentials credentials{phone.username, phone.password};
  phones_.Get(endpoint, std::move(request.target), credentials, deadline,
              [this, reactor, result, claim = std::move(claim),
               phone = std::move(phone)](const http_client::Outcome& outcome) {
                result->set_phone_status(outcome.status);
                const absl::Status status = PhoneOutcomeStatus(outcome, phone);
                if (!status.ok()) {
                  log::Warn("command failed", {{"command", result->command()},
                                               {"device", phone.id},
                                               {"site", phone.site},
                                               {"request_id", result->request_id()},
                                               {"error", std::string(status.message())}});
                }
                Complete(reactor, result, status, claim, outcome.request_sent);
              });
}

void PhoneControlService::Complete(grpc::ServerUnaryReactor* reactor, v1::CommandResult* result,
                                   const absl::Status& status, const std::string& claim,
                                   bool phone_may_have_acted) {
  result->set_code(static_cast<int>(status.code()));
  result->set_message(std::string(status.message()));
  const auto latency = Now() - result->requested_at();
  *result->mutable_latency() = latency;
  if (!claim.empty()) request_log_.Finish(claim, *result, phone_may_have_acted);
  // The caller is answered first: publishing the result (encoding, paho's
  // MQTT 5 property copies) and the metrics are not its latency.
  const v1::CommandResult published = *result;
  reactor->Finish(ToGrpc(status));  // `result` belongs to gRPC from here on
  sink_(published);
  commands_
      .With({{"command", published.command()}, {"code", absl::StatusCodeToString(status.code())}})
      .Inc();
  latency_.With({{"command", published.command()}})
      .Observe(static_cast<double>(TimeUtil::DurationToMicroseconds(latency)) / 1e6);
}

grpc::ServerUnaryReactor* PhoneControlService::Dial(grpc::CallbackServerContext* ctx,
                                                    const v1::DialRequest* req,
                                                    v1::DialResponse* resp) {
  return Run(ctx, *req, command::Dial{req->number(), req->account()}, resp->mutable_result());
}

grpc::ServerUnaryReactor* PhoneControlService::Answer(grpc::CallbackServerContext* ctx,
                                                      const v1::AnswerRequest* req,
                                                      v1::AnswerResponse* resp) {
  return Run(ctx, *req, command::Answer{}, resp->mutable_result());
}

grpc::ServerUnaryReactor* PhoneControlService::Hangup(grpc::CallbackServerContext* ctx,
                                                      const v1::HangupRequest* req,
                                                      v1::HangupResponse* resp) {
  return Run(ctx, *req, command::Hangup{}, resp->mutable_result());
}

grpc::ServerUnaryReactor* PhoneControlService::Hold(grpc::CallbackServerContext* ctx,
                                                    const v1::HoldRequest* req,
                                                    v1::HoldResponse* resp) {
  return Run(ctx, *req, command::Hold{}, resp->mutable_result());
}

grpc::ServerUnaryReactor* PhoneControlService::Resume(grpc::CallbackServerContext* ctx,
                                                      const v1::ResumeRequest* req,
                                                      v1::ResumeResponse* resp) {
  return Run(ctx, *req, command::Resume{}, resp->mutable_result());
}

grpc::ServerUnaryReactor* PhoneControlService::Transfer(grpc::CallbackServerContext* ctx,
                                                        const v1::TransferRequest* req,
                                                        v1::TransferResponse* resp) {
  return Run(ctx, *req, command::Transfer{req->number()}, resp->mutable_result());
}

grpc::ServerUnaryReactor* PhoneControlService::SetDnd(grpc::CallbackServerContext* ctx,
                                                      const v1::SetDndRequest* req,
                                                      v1::SetDndResponse* resp) {
  return Run(ctx, *req, command::SetDnd{req->enabled()}, resp->mutable_result());
}

grpc::ServerUnaryReactor* PhoneControlService::SendKeys(grpc::CallbackServerContext* ctx,
                                                        const v1::SendKeysRequest* req,
                                                        v1::SendKeysResponse* resp) {
  return Run(ctx, *req, command::SendKeys{{req->keys().begin(), req->keys().end()}},
             resp->mutable_result());
}

grpc::ServerUnaryReactor* PhoneControlService::GetDevice(grpc::CallbackServerContext* ctx,
                                                         const v1::GetDeviceRequest* req,
                                                         v1::DeviceInfo* resp) {
  auto* reactor = ctx->DefaultReactor();
  const std::string& site = req->site().empty() ? registry_.default_site() : req->site();
  if (auto caller = Authorize(ctx, "GetDevice", site); !caller.ok()) {
    reactor->Finish(ToGrpc(caller.status()));
    return reactor;
  }
  auto info = registry_.Get(req->site(), req->device());
  if (info.ok()) *resp = std::move(*info);
  reactor->Finish(ToGrpc(info.status()));
  return reactor;
}

grpc::ServerUnaryReactor* PhoneControlService::ListDevices(grpc::CallbackServerContext* ctx,
                                                           const v1::ListDevicesRequest* req,
                                                           v1::ListDevicesResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  // "*" is every site the caller may see; a site it may not see is refused.
  const std::string& site = req->site().empty() ? registry_.default_site() : req->site();
  auto caller = Authorize(ctx, "ListDevices",
                          site == "*" ? std::nullopt : std::optional<std::string_view>(site));
  if (!caller.ok()) {
    reactor->Finish(ToGrpc(caller.status()));
    return reactor;
  }
  std::function<bool(std::string_view)> visible;
  if (!(*caller)->all_sites) {
    visible = [client = *caller](std::string_view s) { return client->MayUse(s); };
  }
  if (req->page_size() < 0 || req->page_size() > kMaxPageSize) {
    reactor->Finish(ToGrpc(absl::InvalidArgumentError("page_size: must be 0 to 1000")));
    return reactor;
  }
  const size_t size = req->page_size() == 0 ? kDefaultPageSize : req->page_size();
  auto page = registry_.List(req->site(), size, req->page_token(), visible);
  if (page.ok()) {
    for (auto& d : page->devices) *resp->add_devices() = std::move(d);
    resp->set_next_page_token(page->next_page_token);
  }
  reactor->Finish(ToGrpc(page.status()));
  return reactor;
}

}  // namespace phonebus::command
