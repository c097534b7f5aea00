#include "connection.h"

#include <cstdio>
#include <cstdlib>

#include "exit_codes.h"
#include "settings.h"
#include "subcommands.h"

namespace phonebus::cli {
namespace {

// host:port as the other settings take it; gRPC target URIs (dns:///...,
// unix:...) are passed through for gRPC to judge.
std::string CheckCommander(const std::string& value) {
  if (value.find(":///") != std::string::npos || value.rfind("unix:", 0) == 0) return {};
  try {
    const auto hp = settings::ParseHostPort("--commander", value);
    if (hp.host.empty()) return "expected host:port, got '" + value + "'";
  } catch (const CLI::ValidationError& e) {
    // CLI11 names the option itself.
    const std::string what = e.what();
    const std::string prefix = "--commander: ";
    return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
  }
  return {};
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

void AddConnection(CLI::App& sub, Connection& c, bool mutating) {
  const std::string group = "Connection";
  settings::Add(sub, "--commander", c.commander, "The commander's gRPC address, host:port")
      ->check(CheckCommander)
      ->group(group);
  settings::Add(sub, "--site", c.site, "Site of the device; default: the commander's default site")
      ->group(group);
  if (mutating) {
    // No environment variable: an exported id would turn every later
    // command into a replay of the first.
    sub.add_option("--request-id", c.request_id,
                   "Idempotency key: a repeat within the commander's window returns the first "
                   "outcome and sends nothing (default: a fresh UUIDv7)")
        ->group(group);
  }
  settings::Add(sub, "--timeout", c.timeout_s, "Seconds to wait for the commander's answer")
      ->check(Positive())
      ->group(group);
  settings::Add(sub, "--token-file", c.token_file,
                "File holding this client's bearer token for the commander (default: the "
                "PHONEBUS_TOKEN environment variable)")
      ->check(CLI::ExistingFile)
      ->group(group);
  settings::AddFlag(sub, "--tls", c.tls,
                    "Reach the commander over TLS, trusting the system's CAs (implied by "
                    "--ca-file and --cert-file)")
      ->group(group);
  settings::Add(sub, "--ca-file", c.ca_file,
                "CA certificates (PEM) the commander's certificate must chain to")
      ->check(CLI::ExistingFile)
      ->group(group);
  settings::Add(sub, "--cert-file", c.cert_file,
                "Client certificate (PEM) for a commander that requires one (mutual TLS)")
      ->check(CLI::ExistingFile)
      ->group(group);
  settings::Add(sub, "--key-file", c.key_file, "Private key (PEM) of --cert-file")
      ->check(CLI::ExistingFile)
      ->group(group);
}

namespace {

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const Connection& c) {
  if (!c.tls && c.ca_file.empty() && c.cert_file.empty() && c.key_file.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  if (c.cert_file.empty() != c.key_file.empty()) {
    throw CLI::ValidationError(c.cert_file.empty() ? "--cert-file" : "--key-file",
                               "--cert-file and --key-file go together");
  }
  grpc::SslCredentialsOptions options;
  if (!c.ca_file.empty()) options.pem_root_certs = settings::ReadSecretFile("--ca-file", c.ca_file);
  if (!c.cert_file.empty()) {
    options.pem_cert_chain = settings::ReadSecretFile("--cert-file", c.cert_file);
    options.pem_private_key = settings::ReadSecretFile("--key-file", c.key_file);
  }
  return grpc::SslCredentials(options);
}

std::string Token(const Connection& c) {
  std::string token;
  if (!c.token_file.empty()) {
    token = settings::ReadSecretFile("--token-file", c.token_file);
    if (token.empty()) throw CLI::ValidationError("--token-file", "the file is empty");
  } else if (const char* env = std::getenv("PHONEBUS_TOKEN")) {
    token = env;
  }
  // A token with a line break would split the header; say so without quoting it.
  if (token.find_first_of("\r\n") != std::string::npos) {
    throw CLI::ValidationError(c.token_file.empty() ? "PHONEBUS_TOKEN" : "--token-file",
                               "the token must be one line");
  }
  return token;
}

}  // namespace

Commander::Commander(const Connection& connection)
    : connection_(connection),
      token_(Token(connection)),
      channel_(grpc::CreateChannel(connection.commander, ChannelCredentials(connection))),
      stub_(v1::PhoneControl::NewStub(channel_)) {}

void Commander::Prepare(grpc::ClientContext& context) const {
  if (!token_.empty()) context.AddMetadata("authorization", "Bearer " + token_);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(
                           std::chrono::duration<double>(connection_.timeout_s)));
}

int Commander::Fail(std::string_view command, const grpc::Status& status,
                    const std::string& request_id) const {
  const int code = status.error_code();
  std::string message = status.error_message();
  const bool reached = channel_->GetState(false) == GRPC_CHANNEL_READY;
  if (code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED) {
    if (!reached) {
      message = "cannot reach the commander at " + connection_.commander + ": " + message;
    } else if (code == grpc::StatusCode::DEADLINE_EXCEEDED && message == "Deadline Exceeded") {
      message = "no answer within " + Seconds(connection_.timeout_s) + "s; the outcome is unknown";
      // Our own deadline: the commander may still act, and the same id gets
      // its outcome without acting twice. (A phone's timeout reported by the
      // commander is final: retrying the id only replays it.)
      if (!request_id.empty()) {
        message += " (retry with --request-id " + request_id + " to act at most once)";
      }
    }
  }
  return ReportError(command, code, message);
}

}  // namespace phonebus::cli
