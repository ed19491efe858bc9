// SPDX-License-Identifier: Apache-2.0
// `invar rules validate` through the function the CLI calls.
#include "invar/rules/validate.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace invar::rules {
namespace {

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/invar-rules-XXXXXX";
    int fd = mkstemp(tmpl);
    path_ = tmpl;
    if (fd >= 0) close(fd);
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const std::string kDefaults = std::string(INVAR_SOURCE_DIR) + "/drift/rules/defaults/rules.yaml";

TEST(Validate, DefaultsAreValid) {
  ValidateOutput out = ValidateRulesFiles({kDefaults}, false);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.text, "OK: 1 file: 0 errors, 0 warnings; 4 rules loaded (4 enabled)\n");
}

TEST(Validate, LocalFileIsCheckedAgainstTheDefaults) {
  TempFile local("- rule: Shell spawned in container\n  enabled: false\n  override:\n    enabled: replace\n");
  EXPECT_EQ(ValidateRulesFiles({kDefaults, local.path()}, false).exit_code, 0);
  // Alone, the override has nothing to override.
  ValidateOutput alone = ValidateRulesFiles({local.path()}, false);
  EXPECT_EQ(alone.exit_code, 1);
  EXPECT_NE(alone.text.find("An 'override.<key>: replace' to a rule was requested but no rule by that name already "
                            "exists"),
            std::string::npos);
}

TEST(Validate, ErrorsAndWarningsWithFileLineItemAndExitCode) {
  TempFile bad(
      "- macro: unused\n  condition: proc.name = a\n"
      "- rule: broken\n  desc: d\n  condition: evt.type = execve and nope\n  output: o\n  priority: INFO\n");
  ValidateOutput out = ValidateRulesFiles({bad.path()}, false);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.text.find(bad.path() + ":3:3: error: rule 'broken': LOAD_ERR_VALIDATE (Error validating "
                                       "rule/macro/list/exception objects): Undefined macro 'nope' used in filter.\n"),
            std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find(bad.path() + ":1:3: warning: macro 'unused': LOAD_UNUSED_MACRO (Unused macro): Macro not "
                                       "referred to by any other rule/macro\n"),
            std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("INVALID: 1 file: 1 error, 1 warning\n"), std::string::npos) << out.text;
}

TEST(Validate, WarningsAloneDoNotFail) {
  TempFile warn("- rule: r\n  desc: d\n  condition: proc.name = bash\n  output: o\n  priority: INFO\n");
  ValidateOutput out = ValidateRulesFiles({warn.path()}, false);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_NE(out.text.find("LOAD_NO_EVTTYPE"), std::string::npos);
}

TEST(Validate, JsonOutput) {
  TempFile bad("- rule: r\n  desc: d\n  condition: proc.nam = x\n  output: o\n  priority: INFO\n");
  ValidateOutput out = ValidateRulesFiles({bad.path(), "/nonexistent.yaml"}, true);
  EXPECT_EQ(out.exit_code, 1);
  auto j = nlohmann::json::parse(out.text);
  EXPECT_EQ(j["successful"], false);
  EXPECT_EQ(j["files"], (nlohmann::json{bad.path(), "/nonexistent.yaml"}));
  ASSERT_EQ(j["errors"].size(), 2u);
  EXPECT_EQ(j["errors"][0]["code"], "LOAD_ERR_FILE_READ");
  EXPECT_EQ(j["errors"][1]["code"], "LOAD_ERR_COMPILE_CONDITION");
  EXPECT_EQ(j["errors"][1]["line"], 3);
  EXPECT_EQ(j["errors"][1]["item_name"], "r");
}

}  // namespace
}  // namespace invar::rules
