#include "cli/options.hpp"

namespace switchboard::cli {

std::optional<std::string> ParsedOptions::last(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

ParsedOptions parse_options(const std::vector<std::string>& args,
                            const std::vector<OptionSpec>& specs) {
  std::vector<OptionSpec> all = specs;
  all.push_back({"help", 'h', false});
  auto by_long = [&](const std::string& n) -> const OptionSpec* {
    for (const auto& s : all)
      if (s.name == n) return &s;
    return nullptr;
  };
  auto by_short = [&](char c) -> const OptionSpec* {
    for (const auto& s : all)
      if (s.short_name == c) return &s;
    return nullptr;
  };

  ParsedOptions out;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    // The first positional argument (a negative number such as -1 is one too).
    if (a.size() < 2 || a[0] != '-' || (a[1] >= '0' && a[1] <= '9')) break;
    const OptionSpec* spec = nullptr;
    std::optional<std::string> inline_value;
    std::string shown = a;
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
        shown = "--" + name;
      }
      spec = by_long(name);
    } else if (a.size() == 2) {
      spec = by_short(a[1]);
    }
    if (spec == nullptr) throw UsageError("unknown option '" + shown + "'");
    if (!spec->takes_value) {
      if (inline_value) throw UsageError("option '" + shown + "' takes no value");
      out.values[spec->name].emplace_back();
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) throw UsageError("option '" + shown + "' needs a value");
      inline_value = args[++i];
    }
    out.values[spec->name].push_back(*inline_value);
  }
  for (; i < args.size(); ++i) out.positionals.push_back(args[i]);
  return out;
}

}  // namespace switchboard::cli
