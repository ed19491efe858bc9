// SPDX-License-Identifier: Apache-2.0
// Placeholder: the rules subcommands are added by their issue.
#include "commands.h"

namespace invar::cli {
void RegisterRules(CLI::App& /*app*/, RunFn* /*run*/) {}
}  // namespace invar::cli
