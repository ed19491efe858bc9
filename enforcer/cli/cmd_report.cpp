// SPDX-License-Identifier: Apache-2.0
// Placeholder: the report subcommands are added by their issue.
#include "commands.h"

namespace invar::cli {
void RegisterReport(CLI::App& /*app*/, RunFn* /*run*/) {}
}  // namespace invar::cli
