// SPDX-License-Identifier: Apache-2.0
// Placeholder: the agent subcommands are added by their issue.
#include "commands.h"

namespace invar::cli {
void RegisterAgent(CLI::App& /*app*/, RunFn* /*run*/) {}
}  // namespace invar::cli
