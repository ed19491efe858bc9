// SPDX-License-Identifier: Apache-2.0
// Glue between CLI11 and the agent: after parsing `app` (which AddAgentOptions
// filled), merge the --config file under the explicit flags and Run(). Main thread.
#pragma once

#include "invar/agent/agent.h"

namespace invar::agent {
int RunFromCli(const CLI::App& app, AgentConfig config);
}  // namespace invar::agent
