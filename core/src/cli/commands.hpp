// The `switchboard` command line: serve | publish | check-config |
// config-reference | version | help (docs/cli.md). main() is only this.
#pragma once

namespace switchboard::cli {

// Runs the subcommand argv[1] and returns the process exit code (cli/outcome.hpp).
int run(int argc, char** argv);

}  // namespace switchboard::cli
