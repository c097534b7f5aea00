// The real `phonebus` binary, run as a person would (tests/support/process.h).
#pragma once

#include "process.h"

namespace phonebus::testing {

class CliProcess : public Process {
 public:
  explicit CliProcess(const std::vector<std::string>& args,
                      const std::vector<std::string>& env = {})
      : Process(PHONEBUS_CLI_BIN, args, env) {}
};

using CliResult = ProcessResult;

inline CliResult RunCli(const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {}) {
  return RunProcess(PHONEBUS_CLI_BIN, args, env);
}

}  // namespace phonebus::testing
