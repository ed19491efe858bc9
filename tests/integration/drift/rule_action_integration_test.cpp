// SPDX-License-Identifier: Apache-2.0
// Rule-requested actions end to end (docs/rules.md "Actions"): the real agent
// binary, a real containerd container, a rule given with -r whose
// invar.action.* tag asks for an action, and the agent's --rule-actions mode.
//   escalate (default): a flag container + a rule tagged kill -> killed;
//   ignore:             the same rule -> alerted with invar.rule_action only;
//   override:           a kill container + a rule tagged flag -> alerted, alive;
//   prevent asked in a flag container -> acts as flag, and the alert says so.
// "Not killed" is checked after a later event's alert: the dispatcher handles
// events in order and kills before it takes the next one.
// GCC 12 reports a false -Wrestrict on std::string concatenation (GCC PR 105329).
#pragma GCC diagnostic ignored "-Wrestrict"
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <regex>
#include <string>

#include "agent_process.h"
#include "containerd_fixture.h"

namespace {

using invar::testing::AgentProcess;
using invar::testing::ContainerdFixture;
using invar::testing::Describe;
using invar::testing::Op;
using invar::testing::PodSpec;
using invar::testing::ReadAll;
using invar::testing::WriteFile;
using nlohmann::json;

// A rule that asks for `action` when a container creates /tmp/payload*.
std::string PayloadRule(const std::string& action) {
  return "- rule: Payload written\n"
         "  desc: a file named payload* was created in a container\n"
         "  condition: evt.type in (openat, write) and container.id != host and fd.name startswith "
         "/tmp/payload\n"
         "  output: \"payload written (file=%fd.name action=%invar.action rule_action=%invar.rule_action)\"\n"
         "  priority: CRITICAL\n"
         "  tags: [payload, invar.action." +
         action + "]\n";
}

bool ProcessGone(int pid) {
  return ::kill(pid, 0) != 0 ||
         ReadAll("/proc/" + std::to_string(pid) + "/stat").find(" Z ") != std::string::npos;
}

bool WaitGone(int pid) {
  for (int i = 0; i < 400; ++i) {
    if (ProcessGone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::function<bool(const json&)> RuleOn(const std::string& rule, const std::string& id,
                                        const std::string& path) {
  return [=](const json& a) {
    const auto& f = a["output_fields"];
    return a.value("rule", "") == rule && f.value("container.full_id", "") == id &&
           f.value("fd.name", "") == path;
  };
}

class RuleAction : public ::testing::Test {
 protected:
  ContainerdFixture& f = ContainerdFixture::Instance();
};

TEST_F(RuleAction, EscalateKillsAFlagContainerWhenARuleTaggedKillMatches) {
  AgentProcess agent("ra-escalate");
  const std::string rules = agent.dir() + "/kill.yaml";
  WriteFile(rules, PayloadRule("kill"));
  const std::string metrics = "127.0.0.1:" + std::to_string(20000 + (getpid() + 7) % 10000);
  // rule_matching all: the default "Drift write in container" (tagged flag)
  // matches the same write and comes first; the strongest request wins.
  agent.Start({"-r", rules, "--rule-matching", "all", "--metrics-listen", metrics});
  ASSERT_TRUE(agent.WaitLog("rule_actions=escalate")) << Describe(agent);
  ASSERT_TRUE(f.Run("ra-esc", {"sleep", "100000"}));  // no annotation: the container's action is flag
  ASSERT_TRUE(agent.WaitWatching("ra-esc"));
  const int pid = f.InitPid("ra-esc");
  ASSERT_GT(pid, 0);
  // An ordinary write first: flag, the container lives on.
  ASSERT_EQ(f.ExecArgv("ra-esc", {"/bin/touch", "/tmp/ordinary"}).exit_code, 0);
  auto plain = agent.WaitAlert(Op("ra-esc", "create", "/tmp/ordinary"));
  ASSERT_TRUE(plain.has_value()) << Describe(agent);
  EXPECT_EQ((*plain)["output_fields"]["invar.action"], "flag");
  EXPECT_EQ((*plain)["output_fields"]["invar.rule_action"], "flag");
  EXPECT_FALSE(ProcessGone(pid));

  f.ExecArgv("ra-esc", {"/bin/touch", "/tmp/payload"}, 10);
  auto a = agent.WaitAlert(RuleOn("Payload written", "ra-esc", "/tmp/payload"));
  ASSERT_TRUE(a.has_value()) << Describe(agent);
  std::cout << "escalated alert, text: " << (*a)["output"].get<std::string>()
            << "\nescalated alert, JSON: " << a->dump()
            << "\n";  // for readers of the test log (docs/rules.md shows one)
  const auto& fld = (*a)["output_fields"];
  EXPECT_EQ(fld["invar.action"], "kill");
  EXPECT_EQ(fld["invar.rule_action"], "kill");
  EXPECT_TRUE(fld["invar.action_reason"].is_null()) << fld;
  EXPECT_NE((*a)["output"].get<std::string>().find(
                "payload written (file=/tmp/payload action=kill rule_action=kill)"),
            std::string::npos)
      << (*a)["output"];
  // The default rule's alert for the same event shows the same effective action.
  auto d = agent.WaitAlert(RuleOn("Drift write in container", "ra-esc", "/tmp/payload"));
  ASSERT_TRUE(d.has_value()) << Describe(agent);
  EXPECT_EQ((*d)["output_fields"]["invar.action"], "kill");
  EXPECT_NE((*d)["output"].get<std::string>().find(" action=kill)"), std::string::npos) << (*d)["output"];
  EXPECT_TRUE(WaitGone(pid)) << Describe(agent);
  EXPECT_TRUE(agent.WaitLog("rule action kill (container action flag, rule_actions escalate)"))
      << Describe(agent);
  // The metric counts the effective action.
  auto m = invar::testing::RunCommand({"curl", "-s", "-m", "5", "http://" + metrics + "/metrics"});
  EXPECT_TRUE(std::regex_search(
      m.output, std::regex(R"(invar_drift_events_total\{action="kill",rule="Payload written"\} 1)")))
      << m.output;
  EXPECT_TRUE(std::regex_search(
      m.output,
      std::regex(R"(invar_drift_events_total\{action="flag",rule="Drift write in container"\} [1-9])")))
      << m.output;
  EXPECT_EQ(agent.Stop(), 0);
  f.Remove("ra-esc");
}

TEST_F(RuleAction, IgnoreModeOnlyReportsTheRequest) {
  AgentProcess agent("ra-ignore");
  const std::string rules = agent.dir() + "/kill.yaml";
  WriteFile(rules, PayloadRule("kill"));
  agent.Start({"-r", rules, "--rule-matching", "all", "--rule-actions", "ignore"});
  ASSERT_TRUE(f.Run("ra-ign", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("ra-ign"));
  const int pid = f.InitPid("ra-ign");
  ASSERT_GT(pid, 0);
  ASSERT_EQ(f.ExecArgv("ra-ign", {"/bin/touch", "/tmp/payload"}).exit_code, 0);
  auto a = agent.WaitAlert(RuleOn("Payload written", "ra-ign", "/tmp/payload"));
  ASSERT_TRUE(a.has_value()) << Describe(agent);
  const auto& fld = (*a)["output_fields"];
  EXPECT_EQ(fld["invar.action"], "flag");
  EXPECT_EQ(fld["invar.rule_action"], "kill");
  EXPECT_EQ(fld["invar.action_reason"], "rule actions are ignored (rule_actions: ignore)");
  EXPECT_NE((*a)["output"].get<std::string>().find("(file=/tmp/payload action=flag rule_action=kill)"),
            std::string::npos)
      << (*a)["output"];
  // A later event's alert: the payload's event is long done, and nothing was killed.
  ASSERT_EQ(f.ExecArgv("ra-ign", {"/bin/touch", "/tmp/after"}).exit_code, 0);
  ASSERT_TRUE(agent.WaitAlert(Op("ra-ign", "create", "/tmp/after"))) << Describe(agent);
  EXPECT_FALSE(ProcessGone(pid)) << Describe(agent);
  EXPECT_EQ(f.ExecArgv("ra-ign", {"/bin/true"}).exit_code, 0);
  EXPECT_EQ(ReadAll(agent.log_path()).find("killed container"), std::string::npos) << Describe(agent);
  EXPECT_EQ(agent.Stop(), 0);
  f.Remove("ra-ign");
}

TEST_F(RuleAction, OverrideLetsARuleTaggedFlagSpareAKillContainer) {
  AgentProcess agent("ra-override");
  const std::string rules = agent.dir() + "/flag.yaml";
  WriteFile(rules, PayloadRule("flag"));
  agent.Start({"-r", rules, "--rule-matching", "all", "--rule-actions", "override"});
  PodSpec pod;
  pod.extra_annotations["invar.dev/drift-action"] = "kill";
  ASSERT_TRUE(f.Run("ra-ovr", {"sleep", "100000"}, pod));
  ASSERT_TRUE(agent.WaitWatching("ra-ovr"));
  ASSERT_TRUE(agent.WaitLog("action=kill")) << Describe(agent);
  const int pid = f.InitPid("ra-ovr");
  ASSERT_GT(pid, 0);
  ASSERT_EQ(f.ExecArgv("ra-ovr", {"/bin/touch", "/tmp/payload"}).exit_code, 0);
  auto a = agent.WaitAlert(RuleOn("Payload written", "ra-ovr", "/tmp/payload"));
  ASSERT_TRUE(a.has_value()) << Describe(agent);
  EXPECT_EQ((*a)["output_fields"]["invar.action"], "flag");
  EXPECT_EQ((*a)["output_fields"]["invar.rule_action"], "flag");
  ASSERT_EQ(f.ExecArgv("ra-ovr", {"/bin/touch", "/tmp/after"}).exit_code, 0);
  ASSERT_TRUE(agent.WaitAlert(Op("ra-ovr", "create", "/tmp/after"))) << Describe(agent);
  EXPECT_FALSE(ProcessGone(pid)) << Describe(agent);
  EXPECT_EQ(ReadAll(agent.log_path()).find("killed container"), std::string::npos) << Describe(agent);
  EXPECT_EQ(agent.Stop(), 0);
  f.Remove("ra-ovr");
}

TEST_F(RuleAction, PreventAskedOutsidePreventModeActsAsFlagAndSaysSo) {
  // The default "Drop and execute new binary in container" is tagged prevent.
  AgentProcess agent("ra-prevent");
  agent.Start();
  ASSERT_TRUE(f.Run("ra-prev", {"sleep", "100000"}));
  ASSERT_TRUE(agent.WaitWatching("ra-prev"));
  auto r = f.Exec("ra-prev", "cp /bin/drift-helper /tmp/dropped && /tmp/dropped hello");
  ASSERT_EQ(r.exit_code, 0) << r.output;  // detect mode: the exec ran
  EXPECT_NE(r.output.find("hello"), std::string::npos) << r.output;
  auto a = agent.WaitAlert(Op("ra-prev", "exec", "/tmp/dropped"));
  ASSERT_TRUE(a.has_value()) << Describe(agent);
  EXPECT_EQ((*a)["rule"], "Drop and execute new binary in container");
  const auto& fld = (*a)["output_fields"];
  EXPECT_EQ(fld["invar.action"], "flag");
  EXPECT_EQ(fld["invar.rule_action"], "prevent");
  EXPECT_EQ(fld["invar.action_reason"],
            "the container is not in prevent mode (no exec permission check): prevent acted as flag");
  EXPECT_EQ(agent.Stop(), 0);
  f.Remove("ra-prev");
}

}  // namespace
