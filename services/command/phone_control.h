// The PhoneControl gRPC service (callback API): each mutating RPC resolves the
// device in the registry, encodes the vendor request, claims its request_id,
// sends it through the phone client (per-phone order, deadline, auth) and
// finishes the RPC from the client's completion, so no gRPC thread ever
// waits for a phone. Every outcome for a known device is published on its
// command/result topic.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "auth.h"
#include "http_client.h"
#include "metrics.h"
#include "phonebus/v1/control.grpc.pb.h"
#include "registry.h"
#include "request_log.h"

namespace phonebus::command {

// absl::Status -> grpc::Status, the one place the two meet.
grpc::Status ToGrpc(const absl::Status& status);

// What the phone's answer (or silence) means for the caller, the one place
// HTTP outcomes become API errors.
absl::Status PhoneOutcomeStatus(const http_client::Outcome& outcome, const Resolved& phone);

class PhoneControlService final : public v1::PhoneControl::CallbackService {
 public:
  struct Options {
    std::string instance;
    std::chrono::milliseconds phone_timeout{5000};
  };
  // Publishes a result on its device's command/result topic.
  using ResultSink = std::function<void(const v1::CommandResult&)>;

  // Every call passes `authorizer` first: its token, and the site it acts on.
  PhoneControlService(Options options, const Authorizer& authorizer, const Registry& registry,
                      http_client::Client& phones, RequestLog& request_log,
                      metrics::Registry& metrics, ResultSink sink);

  grpc::ServerUnaryReactor* Dial(grpc::CallbackServerContext* ctx, const v1::DialRequest* req,
                                 v1::DialResponse* resp) override;
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx, const v1::AnswerRequest* req,
                                   v1::AnswerResponse* resp) override;
  grpc::ServerUnaryReactor* Hangup(grpc::CallbackServerContext* ctx, const v1::HangupRequest* req,
                                   v1::HangupResponse* resp) override;
  grpc::ServerUnaryReactor* Hold(grpc::CallbackServerContext* ctx, const v1::HoldRequest* req,
                                 v1::HoldResponse* resp) override;
  grpc::ServerUnaryReactor* Resume(grpc::CallbackServerContext* ctx, const v1::ResumeRequest* req,
                                   v1::ResumeResponse* resp) override;
  grpc::ServerUnaryReactor* Transfer(grpc::CallbackServerContext* ctx,
                                     const v1::TransferRequest* req,
                                     v1::TransferResponse* resp) override;
  grpc::ServerUnaryReactor* SetDnd(grpc::CallbackServerContext* ctx, const v1::SetDndRequest* req,
                                   v1::SetDndResponse* resp) override;
  grpc::ServerUnaryReactor* SendKeys(grpc::CallbackServerContext* ctx,
                                     const v1::SendKeysRequest* req,
                                     v1::SendKeysResponse* resp) override;
  grpc::ServerUnaryReactor* GetDevice(grpc::CallbackServerContext* ctx,
                                      const v1::GetDeviceRequest* req,
                                      v1::DeviceInfo* resp) override;
  grpc::ServerUnaryReactor* ListDevices(grpc::CallbackServerContext* ctx,
                                        const v1::ListDevicesRequest* req,
                                        v1::ListDevicesResponse* resp) override;

 private:
  // The common path of the mutating RPCs. `request` is the RPC's message
  // (its bytes, without request_id, tell a repeat from a misuse of the id).
  template <typename Request>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* ctx, const Request& request,
                                Command command, v1::CommandResult* result);

  void Send(grpc::ServerUnaryReactor* reactor, std::chrono::milliseconds deadline, Resolved phone,
            PhoneRequest request, std::string claim, v1::CommandResult* result);
  void Complete(grpc::ServerUnaryReactor* reactor, v1::CommandResult* result,
                const absl::Status& status, const std::string& claim, bool phone_may_have_acted);

  // The caller, if its token may act on `site` (nullopt: any valid token,
  // for a listing filtered to the caller's sites); logs a refusal.
  absl::StatusOr<const ApiClient*> Authorize(grpc::CallbackServerContext* ctx,
                                             std::string_view method,
                                             std::optional<std::string_view> site);

  const Options options_;
  const Authorizer& authorizer_;
  const Registry& registry_;
  http_client::Client& phones_;
  RequestLog& request_log_;
  ResultSink sink_;
  metrics::Family<metrics::Counter>& commands_;
  metrics::Family<metrics::Histogram>& latency_;
};

}  // namespace phonebus::command
