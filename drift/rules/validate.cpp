// SPDX-License-Identifier: Apache-2.0
// `invar rules validate` (see validate.h).
#include "invar/rules/validate.h"

#include <nlohmann/json.hpp>

#include "invar/rules/engine.h"

namespace invar::rules {

ValidateOutput ValidateRulesFiles(const std::vector<std::string>& paths, bool json) {
  LoadResult result;
  auto engine = Engine::LoadFiles(paths, &result);
  ValidateOutput out;
  out.exit_code = result.ok() ? 0 : 1;
  std::size_t rules = engine ? engine->rules().size() : 0;
  if (json) {
    nlohmann::json j = nlohmann::json::parse(result.ToJson());
    j["files"] = paths;
    j["rules"] = rules;
    out.text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    out.text.push_back('\n');
    return out;
  }
  out.text = result.ToText();
  std::string summary = std::to_string(paths.size()) + (paths.size() == 1 ? " file" : " files") + ": " +
                        std::to_string(result.error_count()) +
                        (result.error_count() == 1 ? " error, " : " errors, ") +
                        std::to_string(result.warning_count()) +
                        (result.warning_count() == 1 ? " warning" : " warnings");
  if (engine) {
    summary += "; " + std::to_string(rules) + (rules == 1 ? " rule" : " rules") + " loaded (" +
               std::to_string(engine->enabled_rule_count()) + " enabled)";
  }
  out.text += (result.ok() ? "OK: " : "INVALID: ") + summary + "\n";
  return out;
}

}  // namespace invar::rules
