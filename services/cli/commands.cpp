// The subcommands that make a phone act: one PhoneControl call each.
#include <iostream>
#include <memory>

#include "args.h"
#include "connection.h"
#include "exit_codes.h"
#include "subcommands.h"
#include "uuid.h"
#include "watch_format.h"

namespace phonebus::cli {
namespace {

using Stub = v1::PhoneControl::Stub;
template <typename Request, typename Response>
using Rpc = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

// What every mutating subcommand takes.
struct Control {
  Connection connection;
  std::string device;
  bool json = false;
};

// Sends one mutating call and reports its outcome: the CommandResult on
// stdout, or the error on stderr.
template <typename Request, typename Response>
int Send(const std::string& name, const char* rpc_name, const Control& c, Request request,
         Rpc<Request, Response> rpc) {
  const std::string request_id =
      c.connection.request_id.empty() ? NewUuidV7() : c.connection.request_id;
  request.set_device(c.device);  // as typed: the commander knows its spellings
  request.set_site(c.connection.site);
  request.set_request_id(request_id);

  Commander commander(c.connection);
  grpc::ClientContext context;
  commander.Prepare(context);
  Response response;
  const grpc::Status status = (commander.stub().*rpc)(&context, request, &response);
  if (!status.ok()) return commander.Fail(name, status, request_id);

  v1::CommandResult result = response.result();
  if (!response.has_result()) {
    result.set_command(rpc_name);
    result.set_request_id(request_id);
    result.set_device_id(request.device());
  }
  // The contract says errors come as gRPC status; a result that disagrees
  // still decides the exit code.
  if (result.code() != 0) return ReportError(name, result.code(), result.message());
  if (c.json) {
    std::cout << JsonLine(result) << '\n';
  } else {
    const std::string& device = result.device_id().empty() ? request.device() : result.device_id();
    std::cout << Sanitize(device) << ": " << ResultSummary(result) << '\n';
  }
  return kExitOk;
}

// Adds `phonebus NAME DEVICE ...`; the caller adds the command's own
// arguments to the returned app (positionals after DEVICE) and fills them
// into the request in `fill`.
template <typename Request, typename Response>
CLI::App* AddControl(CLI::App& app, Subcommands& out, const std::string& name, const char* rpc_name,
                     const std::string& description, const std::string& example,
                     Rpc<Request, Response> rpc, std::function<void(Request&)> fill = {}) {
  auto c = std::make_shared<Control>();
  auto* sub = app.add_subcommand(name, description);
  sub->add_option("device", c->device,
                  "The phone: its device id (MAC, any notation) or a SIP account it is known by")
      ->required();
  sub->add_flag("--json", c->json, "Print the CommandResult as protobuf-JSON");
  AddConnection(*sub, c->connection, true);
  sub->footer("Example: " + example + "\nExit codes: see phonebus --help.");
  out.push_back({sub, [c, name, rpc_name, rpc, fill] {
                   Request request;
                   if (fill) fill(request);
                   return Send<Request, Response>(name, rpc_name, *c, std::move(request), rpc);
                 }});
  return sub;
}

}  // namespace

void AddControlCommands(CLI::App& app, Subcommands& out) {
  {
    auto number = std::make_shared<std::string>();
    auto account = std::make_shared<std::string>();
    auto* dial = AddControl<v1::DialRequest, v1::DialResponse>(
        app, out, "dial", "Dial", "Make the phone call a number",
        "phonebus dial 00:15:65:aa:bb:cc '+49 30 123456' --account 1001@pbx.example", &Stub::Dial,
        [number, account](v1::DialRequest& r) {
          r.set_number(NormalizeNumber(*number));
          r.set_account(*account);
        });
    dial->add_option(
            "number", *number,
            "Digits, * and #, with an optional leading +; spaces and - . / ( ) are dropped")
        ->required();
    dial->add_option(
        "--account", *account,
        "SIP account to dial from (default: the device's account, else its first line)");
  }
  AddControl<v1::AnswerRequest, v1::AnswerResponse>(app, out, "answer", "Answer",
                                                    "Answer the ringing call",
                                                    "phonebus answer 001565aabbcc", &Stub::Answer);
  AddControl<v1::HangupRequest, v1::HangupResponse>(
      app, out, "hangup", "Hangup", "End the current call", "phonebus hangup 1001@pbx.example",
      &Stub::Hangup);
  AddControl<v1::HoldRequest, v1::HoldResponse>(app, out, "hold", "Hold",
                                                "Put the current call on hold",
                                                "phonebus hold 001565aabbcc", &Stub::Hold);
  AddControl<v1::ResumeRequest, v1::ResumeResponse>(app, out, "resume", "Resume",
                                                    "Take the held call off hold",
                                                    "phonebus resume 001565aabbcc", &Stub::Resume);
  {
    auto number = std::make_shared<std::string>();
    auto* transfer = AddControl<v1::TransferRequest, v1::TransferResponse>(
        app, out, "transfer", "Transfer", "Blind-transfer the current call to a number",
        "phonebus transfer 001565aabbcc 1002", &Stub::Transfer,
        [number](v1::TransferRequest& r) { r.set_number(NormalizeNumber(*number)); });
    transfer->add_option("number", *number, "Where to: the same rules as dial's NUMBER")
        ->required();
  }
  {
    auto keys = std::make_shared<std::vector<std::string>>();
    auto* sub = AddControl<v1::SendKeysRequest, v1::SendKeysResponse>(
        app, out, "keys", "SendKeys", "Press keys on the phone, in order",
        "phonebus keys 001565aabbcc 0301234 OK   (digits run together are pressed one by one)",
        &Stub::SendKeys, [keys](v1::SendKeysRequest& r) {
          for (auto& key : ExpandKeys(*keys)) r.add_keys(std::move(key));
        });
    sub->add_option("key", *keys,
                    "0-9 * # OK CANCEL SPEAKER HEADSET MUTE HOLD TRANSFER CONFERENCE REDIAL "
                    "MESSAGES DND VOLUME_UP VOLUME_DOWN UP DOWN LEFT RIGHT F1-F4 LINE1-LINE6 "
                    "DSS1-DSS10 (any case)")
        ->required();
  }
  {
    auto setting = std::make_shared<std::string>();
    auto* dnd = AddControl<v1::SetDndRequest, v1::SetDndResponse>(
        app, out, "dnd", "SetDnd", "Turn do-not-disturb on or off", "phonebus dnd 001565aabbcc on",
        &Stub::SetDnd, [setting](v1::SetDndRequest& r) { r.set_enabled(*setting == "on"); });
    dnd->add_option("setting", *setting, "on or off")
        ->required()
        ->check(CLI::IsMember({"on", "off"}));
  }
}

}  // namespace phonebus::cli
