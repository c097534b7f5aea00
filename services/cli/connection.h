// How the gRPC subcommands reach the commander: the shared flags, one channel,
// a deadline on every call, and the one-line report of a failed call.
#pragma once

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "phonebus/v1/control.grpc.pb.h"

namespace phonebus::cli {

struct Connection {
  std::string commander = "127.0.0.1:50051";
  std::string site;        // empty: the commander's default site
  std::string request_id;  // empty: a fresh UUIDv7 per run
  double timeout_s = 10;
  // TLS to the commander: on with --tls or with any of the files.
  bool tls = false;
  std::string ca_file;  // empty: the system's roots
  std::string cert_file;
  std::string key_file;
  // The bearer token: from this file, else from PHONEBUS_TOKEN.
  std::string token_file;
};

// --commander, --site, --timeout, the TLS and token settings, and for
// mutating calls --request-id.
void AddConnection(CLI::App& sub, Connection& connection, bool mutating);

class Commander {
 public:
  // Reads the TLS files and the token; throws CLI::ValidationError naming
  // the setting that is wrong.
  explicit Commander(const Connection& connection);

  v1::PhoneControl::Stub& stub() { return *stub_; }
  // Sets the deadline; call on every ClientContext.
  void Prepare(grpc::ClientContext& context) const;
  // Writes "phonebus <command>: CODE: message" to stderr, saying so when the
  // commander itself was out of reach, and returns the exit code.
  // `request_id`: set for mutating calls, to say how to retry safely.
  int Fail(std::string_view command, const grpc::Status& status,
           const std::string& request_id = {}) const;

 private:
  const Connection& connection_;
  std::string token_;  // never printed
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PhoneControl::Stub> stub_;
};

}  // namespace phonebus::cli
