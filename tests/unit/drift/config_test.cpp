// SPDX-License-Identifier: Apache-2.0
// The agent's YAML config file and which rules files it loads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "invar/agent/agent.h"

namespace invar::agent {
namespace {

TEST(AgentConfig, MergesKnownKeys) {
  AgentConfig c;
  ASSERT_TRUE(MergeConfigYaml("action: kill\nallow: ['/tmp/**', /var/cache/*]\noutput: json\n"
                              "http_output: http://sidekick:2801/\nrescan_seconds: 60\n",
                              &c)
                  .ok());
  EXPECT_EQ(c.action, "kill");
  EXPECT_EQ(c.allow_globs, (std::vector<std::string>{"/tmp/**", "/var/cache/*"}));
  EXPECT_EQ(c.output, "json");
  EXPECT_EQ(c.http_output, "http://sidekick:2801/");
  EXPECT_EQ(c.rescan_s, 60);
}

TEST(AgentConfig, CommandLineWinsOverFile) {
  AgentConfig c;
  c.action = "prevent";
  ASSERT_TRUE(MergeConfigYaml("action: flag\n", &c, {"action"}).ok());
  EXPECT_EQ(c.action, "prevent");
}

TEST(AgentConfig, RejectsBadFilesWithClearErrors) {
  AgentConfig c;
  auto st = MergeConfigYaml("acton: kill\n", &c);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("unknown key \"acton\" (line 1)"), std::string::npos) << st.message();
  EXPECT_NE(MergeConfigYaml("action: explode\n", &c).message().find("flag, kill or prevent"), std::string::npos);
  EXPECT_FALSE(MergeConfigYaml("allow: /tmp\n", &c).ok());
  EXPECT_FALSE(MergeConfigYaml("- a\n- b\n", &c).ok());
  EXPECT_FALSE(MergeConfigYaml("poll_ms: [\n", &c).ok());
  EXPECT_FALSE(MergeConfigYaml("poll_ms: abc\n", &c).ok());
  EXPECT_FALSE(MergeConfigYaml("poll_ms: 1\n", &c).ok());
  EXPECT_TRUE(MergeConfigYaml("", &c).ok());
  std::string deep(5000, '[');
  EXPECT_FALSE(MergeConfigYaml("allow: " + deep, &c).ok());
}

TEST(AgentConfig, RulesKeys) {
  AgentConfig c;
  ASSERT_TRUE(MergeConfigYaml("rules: [/etc/invar/extra.yaml]\ndefault_rules: /opt/rules.yaml\nrule_matching: all\n", &c)
                  .ok());
  EXPECT_EQ(c.rules_files, std::vector<std::string>{"/etc/invar/extra.yaml"});
  EXPECT_EQ(c.default_rules_file, "/opt/rules.yaml");
  EXPECT_EQ(c.rule_matching, "all");
  EXPECT_NE(MergeConfigYaml("rule_matching: some\n", &c).message().find("first or all"), std::string::npos);
}

TEST(AgentConfig, RuleActionsKey) {
  AgentConfig c;
  EXPECT_EQ(c.rule_actions, "escalate");
  ASSERT_TRUE(MergeConfigYaml("rule_actions: override\n", &c).ok());
  EXPECT_EQ(c.rule_actions, "override");
  ASSERT_TRUE(MergeConfigYaml("rule_actions: ignore\n", &c).ok());
  EXPECT_EQ(c.rule_actions, "ignore");
  // --rule-actions on the command line wins over the file.
  c.rule_actions = "escalate";
  ASSERT_TRUE(MergeConfigYaml("rule_actions: ignore\n", &c, {"rule_actions"}).ok());
  EXPECT_EQ(c.rule_actions, "escalate");
  auto st = MergeConfigYaml("rule_actions: obey\n", &c);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "agent config: rule_actions must be escalate, override or ignore, not \"obey\"");
}

TEST(AgentConfig, PodRefreshSecondsKey) {
  AgentConfig c;
  EXPECT_EQ(c.pod_refresh_s, 60);
  ASSERT_TRUE(MergeConfigYaml("pod_refresh_seconds: 0\n", &c).ok());
  EXPECT_EQ(c.pod_refresh_s, 0);
  EXPECT_EQ(MergeConfigYaml("pod_refresh_seconds: -5\n", &c).message(),
            "agent config: pod_refresh_seconds must be 0..86400");
}

class RulesFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("invar-rulesfiles-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_ + "/etc");
    std::filesystem::create_directories(dir_ + "/extra.d");
    for (const char* f : {"/etc/rules.yaml", "/one.yaml", "/extra.d/b.yaml", "/extra.d/a.yml", "/extra.d/notes.txt"}) {
      std::ofstream(dir_ + f) << "[]\n";
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(RulesFiles, DefaultsThenLocalThenEachRulesArgumentInOrder) {
  AgentConfig c;
  c.default_rules_file = dir_ + "/etc/rules.yaml";
  c.rules_files = {dir_ + "/one.yaml", dir_ + "/extra.d", dir_ + "/missing.yaml"};
  auto files = RulesFilesToLoad(c);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  // No rules.local.yaml yet; a missing -r file stays (the engine reports it).
  EXPECT_EQ(*files, (std::vector<std::string>{dir_ + "/etc/rules.yaml", dir_ + "/one.yaml", dir_ + "/extra.d/a.yml",
                                              dir_ + "/extra.d/b.yaml", dir_ + "/missing.yaml"}));
  std::ofstream(dir_ + "/etc/rules.local.yaml") << "[]\n";
  files = RulesFilesToLoad(c);
  ASSERT_TRUE(files.ok());
  ASSERT_GE(files->size(), 2u);
  EXPECT_EQ((*files)[1], dir_ + "/etc/rules.local.yaml");
}

TEST_F(RulesFiles, WithoutDefaultRulesFlagFindsTheShippedDefaults) {
  AgentConfig c;  // the build tree: no share/invar beside the test binary, so the source defaults
  auto files = RulesFilesToLoad(c);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_FALSE(files->empty());
  EXPECT_TRUE(std::filesystem::is_regular_file((*files)[0])) << (*files)[0];
  EXPECT_EQ(std::filesystem::path((*files)[0]).filename(), "rules.yaml");
}

}  // namespace
}  // namespace invar::agent
