// SPDX-License-Identifier: Apache-2.0
// `invar rules validate FILE...`: checks rules files offline, loaded together
// in the order given (e.g. the defaults, then rules.local.yaml), and prints
// every error and warning with file, line and item. Exit code 1 on errors,
// 0 otherwise (warnings included), 2 on usage errors. Main thread only.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "invar/rules/validate.h"

namespace invar::cli {

void RegisterRules(CLI::App& app, RunFn* run) {
  CLI::App* rules = app.add_subcommand("rules", "Work with Falco-language rules files");
  rules->require_subcommand(1);
  CLI::App* validate = rules->add_subcommand(
      "validate", "Load rules files in order (e.g. rules.yaml then rules.local.yaml) and report every problem");
  auto files = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>("text");
  validate->add_option("files", *files, "rules files, loaded in the order given")->required();
  validate->add_option("-o,--output", *format, "text|json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  validate->callback([run, files, format] {
    *run = [files, format] {
      rules::ValidateOutput out = rules::ValidateRulesFiles(*files, *format == "json");
      std::fwrite(out.text.data(), 1, out.text.size(), stdout);
      std::fflush(stdout);
      return out.exit_code;
    };
  });
}

}  // namespace invar::cli
