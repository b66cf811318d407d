// Command-line options of the `switchboard` subcommands: one small parser, so
// every subcommand spells options, reports mistakes and ends option parsing the
// same way (docs/cli.md, "Conventions").
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace switchboard::cli {

// A mistake on the command line: the message is one line; the caller prints it
// with the subcommand's usage and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OptionSpec {
  std::string name;      // long name without "--", e.g. "config"
  char short_name = 0;   // e.g. 'c'; 0: none
  bool takes_value = false;
};

struct ParsedOptions {
  // Long name -> the values given, in order (a flag has one empty value per use).
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> positionals;

  bool has(const std::string& name) const { return values.count(name) != 0; }
  // The last value given for name, if any.
  std::optional<std::string> last(const std::string& name) const;
};

// Parses args (the words after the subcommand). Options are `--name VALUE`,
// `--name=VALUE`, `-n VALUE` or a flag `--name` / `-n`; they come before the
// positional arguments: the first word that is not an option, and everything
// after it, is positional (so an argument such as `-1` needs no quoting), and
// `--` ends the options explicitly. `-h` / `--help` is always known. Throws
// UsageError for an unknown option, a missing value or a value given to a flag.
ParsedOptions parse_options(const std::vector<std::string>& args,
                            const std::vector<OptionSpec>& specs);

}  // namespace switchboard::cli
