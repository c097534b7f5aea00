// phonebus: the command-line tool. Drives phones through the commander
// (dial, answer, hangup, hold, resume, transfer, keys, dnd, devices), shows
// the bus as readable lines (watch), and prints phone provisioning (config).
#include <CLI/CLI.hpp>
#include <iostream>

#include "exit_codes.h"
#include "subcommands.h"

// What escapes (a bug, or memory running out) is reported like any other failure, not as
// std::terminate's abort.
int main(int argc, char** argv) try {
  using namespace phonebus::cli;
  CLI::App app{"phonebus: drive phones and watch calls on the phonebus message bus"};
  app.require_subcommand(1);
  app.footer(ExitCodeHelp());
  Subcommands subcommands;
  AddControlCommands(app, subcommands);
  AddDevicesCommand(app, subcommands);
  AddWatchCommand(app, subcommands);
  AddConfigCommand(app, subcommands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    // Name the subcommand whose command line was wrong.
    std::string command;
    for (const auto* sub : app.get_subcommands()) command = sub->get_name();
    if (command.empty() && argc > 1 && argv[1][0] != '-') {
      std::string known;
      for (const auto* sub :
           app.get_subcommands([](CLI::App* a) { return !a->get_name().empty(); })) {
        known += (known.empty() ? "" : ", ") + sub->get_name();
      }
      return ReportUsage("", "unknown subcommand '" + std::string(argv[1]) + "'; one of: " + known);
    }
    return ReportUsage(command, e.what());
  }
  for (const auto& sub : subcommands) {
    if (!sub.app->parsed()) continue;
    try {
      return sub.run();
    } catch (const CLI::Error& e) {  // a setting found wrong once read (a file, a token)
      return ReportUsage(sub.app->get_name(), e.what());
    }
  }
  return kExitUsage;
} catch (const std::exception& e) {
  std::cerr << "phonebus: " << e.what() << "\n";
  return phonebus::cli::kExitRefused;
}
