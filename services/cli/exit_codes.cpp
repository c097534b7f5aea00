#include "exit_codes.h"

#include <array>
#include <iostream>

namespace phonebus::cli {
namespace {

constexpr std::array<std::string_view, 17> kCodeNames = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

// Control characters would break the one-line promise or a terminal.
std::string OneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

int ExitCodeFor(int grpc_code) {
  switch (grpc_code) {
    case 0:  // OK
      return kExitOk;
    case 3:  // INVALID_ARGUMENT
      return kExitUsage;
    case 5:  // NOT_FOUND
      return kExitNotFound;
    case 7:   // PERMISSION_DENIED
    case 16:  // UNAUTHENTICATED
      return kExitDenied;
    case 4:   // DEADLINE_EXCEEDED
    case 14:  // UNAVAILABLE
      return kExitUnreachable;
    case 9:  // FAILED_PRECONDITION
      return kExitPrecondition;
    default:
      return kExitRefused;
  }
}

std::string CodeName(int grpc_code) {
  if (grpc_code >= 0 && grpc_code < static_cast<int>(kCodeNames.size())) {
    return std::string(kCodeNames[static_cast<size_t>(grpc_code)]);
  }
  return "CODE_" + std::to_string(grpc_code);
}

std::string ExitCodeHelp() {
  return "Exit codes:\n"
         "  0  ok\n"
         "  1  the phone or the commander refused (any other gRPC error)\n"
         "  2  usage error, or INVALID_ARGUMENT\n"
         "  3  NOT_FOUND: no such device\n"
         "  4  UNAUTHENTICATED or PERMISSION_DENIED\n"
         "  5  UNAVAILABLE or DEADLINE_EXCEEDED: phone, commander or broker unreachable\n"
         "  6  FAILED_PRECONDITION: the phone cannot do this\n"
         "Errors are one line on stderr: \"phonebus dial: NOT_FOUND: <message>\".";
}

std::string ErrorLine(std::string_view command, int grpc_code, std::string_view message) {
  std::string line = "phonebus ";
  line += command;
  line += ": ";
  line += CodeName(grpc_code);
  if (!message.empty()) {
    line += ": ";
    line += OneLine(message);
  }
  return line;
}

int ReportError(std::string_view command, int grpc_code, std::string_view message) {
  std::cerr << ErrorLine(command, grpc_code, message) << '\n';
  return ExitCodeFor(grpc_code);
}

int ReportUsage(std::string_view command, std::string_view message) {
  const std::string who = command.empty() ? "phonebus" : "phonebus " + std::string(command);
  std::cerr << who << ": " << OneLine(message) << " (see " << who << " --help)\n";
  return kExitUsage;
}

}  // namespace phonebus::cli
