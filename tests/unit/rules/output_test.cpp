// SPDX-License-Identifier: Apache-2.0
// The issue's example rule, verbatim, and Falco's text and JSON formats.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "rules_test_util.h"

namespace invar::rules::testing {
namespace {

class UtcClock : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    saved_ = tz ? std::optional<std::string>(tz) : std::nullopt;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (saved_) {
      setenv("TZ", saved_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  std::optional<std::string> saved_;
};

std::string ReadData(const std::string& name) {
  std::ifstream in(std::string(INVAR_SOURCE_DIR) + "/tests/unit/rules/data/" + name);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// 2026-11-27 21:46:11.008102763 UTC
constexpr std::uint64_t kTime = 1795815971008102763ULL;

using ExampleRule = UtcClock;

TEST_F(ExampleRule, LoadsVerbatimAndPrintsFalcosLine) {
  std::string yaml = ReadData("run_shell_in_container.yaml");
  ASSERT_NE(yaml.find("- rule: run_shell_in_container"), std::string::npos);
  Loaded l = LoadYaml(yaml);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  Event e = ExecEvent("bash");
  e.time_ns = kTime;
  std::vector<Match> matches;
  ASSERT_EQ(l.engine->Evaluate(e, &matches), 1u);
  EXPECT_EQ(matches[0].rule->name, "run_shell_in_container");
  EXPECT_EQ(matches[0].rule->priority, Priority::kWarning);
  EXPECT_EQ(l.engine->FormatText(matches[0], e),
            "21:46:11.008102763: Warning Shell spawned (root,container_id=3d9b3f12ef50)");
}

TEST_F(ExampleRule, DoesNotFireOnTheHostOrForOtherProcesses) {
  Loaded l = LoadYaml(ReadData("run_shell_in_container.yaml"));
  ASSERT_TRUE(l.result.ok());
  Event host = ExecEvent("bash");
  host.container_id = "host";
  EXPECT_TRUE(MatchNames(*l.engine, host).empty());
  EXPECT_TRUE(MatchNames(*l.engine, ExecEvent("sh")).empty());
  // The rule has no evt.type restriction: it fires for any event type of bash in a container.
  Event w = WriteEvent("/tmp/x");
  w.proc_name = "bash";
  EXPECT_EQ(MatchNames(*l.engine, w).size(), 1u);
}

TEST_F(ExampleRule, ProducesFalcoJson) {
  Loaded l = LoadYaml(ReadData("run_shell_in_container.yaml"));
  ASSERT_TRUE(l.result.ok());
  Event e = ExecEvent("bash");
  e.time_ns = kTime;
  std::vector<Match> m;
  ASSERT_EQ(l.engine->Evaluate(e, &m), 1u);
  auto j = nlohmann::json::parse(l.engine->FormatJson(m[0], e, "node-1"));
  EXPECT_EQ(j["hostname"], "node-1");
  EXPECT_EQ(j["output"], "21:46:11.008102763: Warning Shell spawned (root,container_id=3d9b3f12ef50)");
  EXPECT_EQ(j["priority"], "Warning");
  EXPECT_EQ(j["rule"], "run_shell_in_container");
  EXPECT_EQ(j["source"], "syscall");
  EXPECT_EQ(j["tags"], nlohmann::json::array());
  EXPECT_EQ(j["time"], "2026-11-27T21:46:11.008102763Z");
  EXPECT_EQ(j["output_fields"], (nlohmann::json{{"user.name", "root"}, {"container.id", "3d9b3f12ef50"}}));
}

using Output = UtcClock;

TEST_F(Output, MissingValuesPrintNA) {
  Loaded o = LoadYaml(R"(
- rule: r
  desc: d
  condition: evt.type = execve
  output: "pod=%k8s.pod.name ns=%k8s.ns.name name=%container.name pid=%proc.pid up=%proc.is_exe_upper_layer file=%fd.name"
  priority: notice
)");
  ASSERT_TRUE(o.result.ok()) << o.result.ToText();
  Event e = ExecEvent();
  e.k8s_pod_name.reset();
  e.proc_pid.reset();
  std::vector<Match> m;
  ASSERT_EQ(o.engine->Evaluate(e, &m), 1u);
  EXPECT_EQ(o.engine->FormatOutput(m[0], e), "pod=<NA> ns=default name=web pid=<NA> up=false file=<NA>");
  auto j = nlohmann::json::parse(o.engine->FormatJson(m[0], e, "h"));
  EXPECT_TRUE(j["output_fields"]["k8s.pod.name"].is_null());
  EXPECT_TRUE(j["output_fields"]["proc.pid"].is_null());
  EXPECT_EQ(j["output_fields"]["proc.is_exe_upper_layer"], false);
  EXPECT_EQ(j["priority"], "Notice");
}

TEST_F(Output, TransformersArgumentsAndTime) {
  Loaded o = LoadYaml(R"(
- rule: r
  desc: d
  condition: evt.type = execve
  output: "%toupper(proc.name) %tolower(container.name) %basename(proc.exe) app=%k8s.pod.label[app] at %evt.time. 100%"
  priority: info
)");
  ASSERT_TRUE(o.result.ok()) << o.result.ToText();
  Event e = ExecEvent("bash");
  e.container_name = "WEB";
  e.proc_exe = "/usr/bin/bash";
  e.k8s_pod_labels = std::map<std::string, std::string>{{"app", "shop"}};
  e.time_ns = kTime;
  std::vector<Match> m;
  ASSERT_EQ(o.engine->Evaluate(e, &m), 1u);
  EXPECT_EQ(o.engine->FormatOutput(m[0], e), "BASH web bash app=shop at 21:46:11.008102763. 100%");
  EXPECT_EQ(m[0].rule->priority, Priority::kInformational);
  EXPECT_EQ(o.engine->FormatText(m[0], e).substr(0, 34), "21:46:11.008102763: Informational ");
}

TEST_F(Output, ControlCharactersCannotForgeLines) {
  Loaded o = LoadYaml("- rule: r\n  desc: d\n  condition: evt.type = openat\n  output: \"file=%fd.name\"\n  priority: error\n");
  ASSERT_TRUE(o.result.ok());
  Event e = WriteEvent("/tmp/a\n21:00:00.000000000: Emergency fake\x1b[0m");
  std::vector<Match> m;
  ASSERT_EQ(o.engine->Evaluate(e, &m), 1u);
  EXPECT_EQ(o.engine->FormatOutput(m[0], e), "file=/tmp/a.21:00:00.000000000: Emergency fake.[0m");
  // JSON stays valid even for bytes that are not UTF-8.
  e.fd_name = std::string("/tmp/\xff\xfe");
  m.clear();
  ASSERT_EQ(o.engine->Evaluate(e, &m), 1u);
  nlohmann::json parsed;
  EXPECT_NO_THROW(parsed = nlohmann::json::parse(o.engine->FormatJson(m[0], e, "h")));
  EXPECT_EQ(parsed["rule"], "r");
}

TEST(Priorities, ParseCaseInsensitiveAndPrintCapitalized) {
  Priority p;
  ASSERT_TRUE(ParsePriority("WARNING", &p));
  EXPECT_EQ(p, Priority::kWarning);
  ASSERT_TRUE(ParsePriority("critical", &p));
  EXPECT_EQ(PriorityName(p), "Critical");
  ASSERT_TRUE(ParsePriority("INFO", &p));
  EXPECT_EQ(PriorityName(p), "Informational");
  ASSERT_TRUE(ParsePriority("Informational", &p));
  ASSERT_TRUE(ParsePriority("emergency", &p));
  EXPECT_EQ(PriorityName(p), "Emergency");
  EXPECT_FALSE(ParsePriority("urgent", &p));
  EXPECT_FALSE(ParsePriority("", &p));
}

TEST(Actions, TagNamesTheAction) {
  Loaded l = LoadYaml(R"(
- rule: a
  desc: d
  condition: evt.type = execve
  output: o
  priority: info
  tags: [invar.action.kill, other]
- rule: b
  desc: d
  condition: evt.type = execve
  output: o
  priority: info
  tags: [invar.action.flag, invar.action.prevent]
- rule: c
  desc: d
  condition: evt.type = execve
  output: o
  priority: info
)");
  ASSERT_TRUE(l.result.ok());
  ASSERT_EQ(l.engine->rules().size(), 3u);
  EXPECT_EQ(l.engine->rules()[0].action, Action::kKill);
  EXPECT_EQ(l.engine->rules()[1].action, Action::kPrevent);  // flag < prevent
  EXPECT_EQ(l.engine->rules()[2].action, Action::kNone);
  EXPECT_EQ(ActionName(Action::kPrevent), "prevent");
}

TEST(Actions, KillIsTheStrongestTagOfARule) {
  Loaded l = LoadYaml(R"(
- rule: a
  desc: d
  condition: evt.type = execve
  output: o
  priority: info
  tags: [invar.action.prevent, invar.action.kill, invar.action.flag]
)");
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_EQ(l.engine->rules()[0].action, Action::kKill);
  EXPECT_EQ(StrongerAction(Action::kFlag, Action::kPrevent), Action::kPrevent);
  EXPECT_EQ(StrongerAction(Action::kKill, Action::kPrevent), Action::kKill);
  EXPECT_EQ(StrongerAction(Action::kNone, Action::kFlag), Action::kFlag);
  EXPECT_EQ(StrongerAction(Action::kNone, Action::kNone), Action::kNone);
}

TEST(Actions, StrongestRequestAmongMatchingRules) {
  // rule_matching all: every rule matches an exec; the event's request is the strongest.
  Loaded l = LoadYaml(R"(
- rule: wants flag
  desc: d
  condition: evt.type = execve
  output: o
  priority: info
  tags: [invar.action.flag]
- rule: wants prevent
  desc: d
  condition: evt.type = execve and proc.name = bash
  output: o
  priority: info
  tags: [invar.action.prevent]
- rule: no tag
  desc: d
  condition: evt.type = execve
  output: o
  priority: info
- rule: wants kill
  desc: d
  condition: evt.type = execve and proc.name = sh
  output: o
  priority: info
  tags: [invar.action.kill]
)");
  ASSERT_TRUE(l.engine) << l.result.ToText();
  std::vector<Match> m;
  l.engine->Evaluate(ExecEvent("bash"), &m);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(StrongestRuleAction(m), Action::kPrevent);
  m.clear();
  l.engine->Evaluate(ExecEvent("sh"), &m);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(StrongestRuleAction(m), Action::kKill);
  m.clear();
  l.engine->Evaluate(ExecEvent("ls"), &m);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(StrongestRuleAction(m), Action::kFlag);
  m.clear();
  EXPECT_EQ(StrongestRuleAction(m), Action::kNone);
}

TEST(Actions, UnknownActionTagIsALoadErrorWithFileLineAndItem) {
  Loaded l = LoadFiles({{"actions.yaml", R"(- rule: deny it
  desc: d
  condition: evt.type = execve
  output: o
  priority: info
  tags: [container,
         invar.action.deny]
- rule: shouting
  desc: d
  condition: evt.type = execve
  output: o
  priority: info
  tags:
    - invar.action.KILL
    - invar.action.
- rule: fine
  desc: d
  condition: evt.type = execve
  output: o
  priority: info
  tags: [invar.actionable, invar.action.kill]
- rule: fine
  tags: [invar.action.nuke]
  override:
    tags: append
)"}});
  EXPECT_FALSE(l.engine);
  EXPECT_EQ(l.result.ToText(),
            "actions.yaml:7:10: error: rule 'deny it': LOAD_ERR_VALIDATE (Error validating rule/macro/list/exception "
            "objects): Unknown action tag 'invar.action.deny': an invar.action tag must be invar.action.flag, "
            "invar.action.kill or invar.action.prevent\n"
            "actions.yaml:14:7: error: rule 'shouting': LOAD_ERR_VALIDATE (Error validating rule/macro/list/exception "
            "objects): Unknown action tag 'invar.action.KILL': an invar.action tag must be invar.action.flag, "
            "invar.action.kill or invar.action.prevent\n"
            "actions.yaml:15:7: error: rule 'shouting': LOAD_ERR_VALIDATE (Error validating rule/macro/list/exception "
            "objects): Unknown action tag 'invar.action.': an invar.action tag must be invar.action.flag, "
            "invar.action.kill or invar.action.prevent\n"
            "actions.yaml:23:10: error: rule 'fine': LOAD_ERR_VALIDATE (Error validating rule/macro/list/exception "
            "objects): Unknown action tag 'invar.action.nuke': an invar.action tag must be invar.action.flag, "
            "invar.action.kill or invar.action.prevent\n");
  EXPECT_EQ(l.result.messages().size(), 4u);
}

}  // namespace
}  // namespace invar::rules::testing
