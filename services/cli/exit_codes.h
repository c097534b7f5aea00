// The exit codes scripts can rely on, and the one-line error every subcommand
// writes to stderr ("phonebus dial: NOT_FOUND: no device 001565aabbcc at site hq").
// gRPC status codes (equal to google.rpc.Code, as in CommandResult.code) map
// to exit codes in one function.
#pragma once

#include <string>
#include <string_view>

namespace phonebus::cli {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;       // the phone or commander refused; other gRPC errors
constexpr int kExitUsage = 2;         // bad command line, or INVALID_ARGUMENT
constexpr int kExitNotFound = 3;      // NOT_FOUND
constexpr int kExitDenied = 4;        // UNAUTHENTICATED, PERMISSION_DENIED
constexpr int kExitUnreachable = 5;   // UNAVAILABLE, DEADLINE_EXCEEDED
constexpr int kExitPrecondition = 6;  // FAILED_PRECONDITION

// The exit code for a gRPC status code (0 = OK).
int ExitCodeFor(int grpc_code);
// "NOT_FOUND" for 5; "CODE_42" for a code this build does not know.
std::string CodeName(int grpc_code);
// The exit code table for `phonebus --help`.
std::string ExitCodeHelp();

// "phonebus dial: NOT_FOUND: no such device": `command` is the subcommand
// ("dial"), the message is flattened to one line.
std::string ErrorLine(std::string_view command, int grpc_code, std::string_view message);
// Writes ErrorLine to stderr and returns ExitCodeFor(grpc_code).
int ReportError(std::string_view command, int grpc_code, std::string_view message);
// "phonebus dial: <message> (see phonebus dial --help)" to stderr; returns kExitUsage.
int ReportUsage(std::string_view command, std::string_view message);

}  // namespace phonebus::cli
