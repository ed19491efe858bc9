// SPDX-License-Identifier: Apache-2.0
// The subcommands of the `invar` binary. Each Register* adds its subcommand
// (options and help) to `app`; when the user picks it, the subcommand's
// callback stores what to run in `*run`, and main() calls it after parsing.
// The returned int is the process exit code (0 ok, 1 findings/failure, 2 usage
// or input error). Main thread only.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace invar::cli {

using RunFn = std::function<int()>;

void RegisterReport(CLI::App& app, RunFn* run);   // report, checks         (cmd_report.cpp)
void RegisterWebhook(CLI::App& app, RunFn* run);  // webhook, certs         (cmd_webhook.cpp)
void RegisterAgent(CLI::App& app, RunFn* run);    // agent                  (cmd_agent.cpp)
void RegisterRules(CLI::App& app, RunFn* run);    // rules validate         (cmd_rules.cpp)

}  // namespace invar::cli
