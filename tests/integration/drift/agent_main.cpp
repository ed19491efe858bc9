// SPDX-License-Identifier: Apache-2.0
// The agent as the integration tests run it: the same flags and Run() as
// `invar agent`, without linking every other area of the `invar` binary.
#include <CLI/CLI.hpp>

#include "invar/agent/agent.h"
#include "invar/agent/cli.h"
#include "invar/platform/log.h"

int main(int argc, char** argv) {
  CLI::App app{"invar agent (test build)"};
  invar::agent::AgentConfig config;
  invar::agent::AddAgentOptions(app, &config);
  std::string level = "info";
  app.add_option("--log-level", level);
  CLI11_PARSE(app, argc, argv);
  invar::log::Level l = invar::log::Level::kInfo;
  invar::log::ParseLevel(level, &l);
  invar::log::Init(l);
  return invar::agent::RunFromCli(app, config);
}
