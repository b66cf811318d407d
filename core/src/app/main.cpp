// The `switchboard` command: serve | publish | check-config | config-reference |
// version | help (core/src/cli, docs/cli.md).
#include "cli/commands.hpp"

int main(int argc, char** argv) { return switchboard::cli::run(argc, argv); }
