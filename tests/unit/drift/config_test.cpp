// SPDX-License-Identifier: Apache-2.0
// The agent's YAML config file.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace invar::agent
