// SPDX-License-Identifier: Apache-2.0
// `invar agent`: the node drift agent. Flags and behaviour live in
// drift/agent (invar_agent); this file only registers the subcommand.
#include <CLI/CLI.hpp>
#include <memory>

#include "commands.h"
#include "invar/agent/agent.h"
#include "invar/agent/cli.h"

namespace invar::cli {

void RegisterAgent(CLI::App& app, RunFn* run) {
  auto* sub = app.add_subcommand("agent", "Node drift agent: detect, flag, kill or block changes in running containers");
  auto config = std::make_shared<invar::agent::AgentConfig>();
  invar::agent::AddAgentOptions(*sub, config.get());
  sub->callback([sub, config, run] { *run = [sub, config] { return invar::agent::RunFromCli(*sub, *config); }; });
}

}  // namespace invar::cli
