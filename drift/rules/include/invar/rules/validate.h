// SPDX-License-Identifier: Apache-2.0
// `invar rules validate FILE...`: loads the files together, in order (so a
// rules.local.yaml that overrides rules.yaml is checked against it), and
// renders every error and warning. The CLI (enforcer/cli/cmd_rules.cpp) prints
// the output and exits with the code; tests call this directly.
// Thread-compatible (no shared state).
#pragma once

#include <string>
#include <vector>

namespace invar::rules {

struct ValidateOutput {
  int exit_code = 0;  // 1 when there are errors, 0 otherwise (warnings do not fail)
  std::string text;   // what to print on stdout
};

// json=false: one line per message (file:line:col: error|warning: item: CODE (desc): message),
// then a summary line. json=true: {"files":[...],"successful":bool,"rules":N,"errors":[...],"warnings":[...]}.
ValidateOutput ValidateRulesFiles(const std::vector<std::string>& paths, bool json);

}  // namespace invar::rules
