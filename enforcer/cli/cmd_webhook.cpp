// SPDX-License-Identifier: Apache-2.0
// Placeholder: the webhook subcommands are added by their issue.
#include "commands.h"

namespace invar::cli {
void RegisterWebhook(CLI::App& /*app*/, RunFn* /*run*/) {}
}  // namespace invar::cli
