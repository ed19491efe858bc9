// SPDX-License-Identifier: Apache-2.0
// The `invar` binary: parses the command line and calls into one subcommand.
// Nothing else lives here.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "commands.h"
#include "invar/platform/log.h"

#ifndef INVAR_VERSION
#define INVAR_VERSION "dev"
#endif

int main(int argc, char** argv) {
  CLI::App app{"invar keeps Kubernetes containers immutable at runtime, and proves it."};
  app.name("invar");
  app.require_subcommand(1);
  app.set_version_flag("--version", INVAR_VERSION);
  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();
  app.add_option("--log-format", log_format, "text|json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  invar::cli::RunFn run;
  invar::cli::RegisterReport(app, &run);
  invar::cli::RegisterWebhook(app, &run);
  invar::cli::RegisterAgent(app, &run);
  invar::cli::RegisterRules(app, &run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  invar::log::Level level;
  if (!invar::log::ParseLevel(log_level, &level)) {
    std::fprintf(stderr, "invar: unknown --log-level %s\n", log_level.c_str());
    return 2;
  }
  invar::log::Init(level, log_format == "json" ? invar::log::Format::kJson : invar::log::Format::kText);
  if (!run) return 2;
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "invar: fatal: %s\n", e.what());
    return 2;
  }
}
