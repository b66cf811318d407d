// What a `switchboard` subcommand ends with: its exit code (docs/cli.md, "Exit
// codes") and, on failure, the one line it prints on stderr.
#pragma once

#include <string>

namespace switchboard::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,   // could not do it: config, plugin, broker, server or network
  kExitUsage = 2,    // the command line is wrong (options, target, event, arguments)
  kExitUnknown = 3,  // a publish was sent but not confirmed in time: it may or may not arrive
};

struct Outcome {
  int code = kExitOk;
  std::string error;  // one line, without the "switchboard publish: " prefix; empty on success
  bool ok() const { return code == kExitOk; }
};

}  // namespace switchboard::cli
