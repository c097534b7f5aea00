// The subcommands of `phonebus`. Each Add* registers its CLI11 subcommand and
// the work to run once the command line parsed; main() runs the chosen one.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace phonebus::cli {

struct Subcommand {
  CLI::App* app;
  std::function<int()> run;  // returns the exit code (exit_codes.h)
};
using Subcommands = std::vector<Subcommand>;

// Checks that a number is above zero ("--timeout: must be a number above 0, got '0'").
inline CLI::Validator Positive() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        double number = 0;
        if (CLI::detail::lexical_cast(value, number) && number > 0) return {};
        return "must be a number above 0, got '" + value + "'";
      },
      "POSITIVE");
}

// dial, answer, hangup, hold, resume, transfer, keys, dnd (commands.cpp)
void AddControlCommands(CLI::App& app, Subcommands& out);
// devices (devices.cpp)
void AddDevicesCommand(CLI::App& app, Subcommands& out);
// watch (watch.cpp)
void AddWatchCommand(CLI::App& app, Subcommands& out);
// config (config.cpp)
void AddConfigCommand(CLI::App& app, Subcommands& out);

}  // namespace phonebus::cli
