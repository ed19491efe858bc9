// SPDX-License-Identifier: Apache-2.0
// Rules files: overrides (append/replace of every key), legacy append and
// enabled, exceptions, several files in order, and bad files with their exact
// messages, codes, lines and items.
#include <gtest/gtest.h>

#include "rules_test_util.h"

namespace invar::rules::testing {
namespace {

constexpr char kBase[] = R"(
- list: shells
  items: [bash]
- macro: spawned
  condition: evt.type = execve
- rule: shell
  desc: a shell
  condition: spawned and proc.name in (shells)
  output: "shell %proc.name"
  priority: WARNING
  tags: [a]
)";

const RuleInfo& OnlyRule(const Loaded& l) {
  EXPECT_EQ(l.engine->rules().size(), 1u);
  return l.engine->rules().at(0);
}

TEST(Overrides, ListItemsAppend) {
  Loaded l = LoadFiles({{"rules.yaml", kBase}, {"rules.local.yaml", R"(
- list: shells
  items: [zsh]
  override:
    items: append
)"}});
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("bash")).size(), 1u);
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("zsh")).size(), 1u);
}

TEST(Overrides, ListItemsReplace) {
  Loaded l = LoadFiles({{"rules.yaml", kBase}, {"rules.local.yaml", R"(
- list: shells
  items: [zsh]
  override:
    items: replace
)"}});
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("bash")).size(), 0u);
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("zsh")).size(), 1u);
}

TEST(Overrides, MacroConditionAppendAndReplace) {
  Loaded a = LoadFiles({{"rules.yaml", kBase}, {"l.yaml", R"(
- macro: spawned
  condition: and user.uid = 0
  override:
    condition: append
)"}});
  ASSERT_TRUE(a.result.ok()) << a.result.ToText();
  Event e = ExecEvent("bash");
  EXPECT_EQ(MatchNames(*a.engine, e).size(), 1u);
  e.user_uid = 1;
  EXPECT_EQ(MatchNames(*a.engine, e).size(), 0u);

  Loaded r = LoadFiles({{"rules.yaml", kBase}, {"l.yaml", R"(
- macro: spawned
  condition: evt.type = openat
  override:
    condition: replace
)"}});
  ASSERT_TRUE(r.result.ok()) << r.result.ToText();
  e = ExecEvent("bash");
  EXPECT_EQ(MatchNames(*r.engine, e).size(), 0u);
  e.type = "openat";
  EXPECT_EQ(MatchNames(*r.engine, e).size(), 1u);
}

TEST(Overrides, RuleAppendConditionOutputDescTags) {
  Loaded l = LoadFiles({{"rules.yaml", kBase}, {"l.yaml", R"(
- rule: shell
  condition: and not user.uid = 1000
  output: "user=%user.name"
  desc: (extended)
  tags: [b]
  override:
    condition: append
    output: append
    desc: append
    tags: append
)"}});
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  const RuleInfo& r = OnlyRule(l);
  EXPECT_EQ(r.desc, "a shell (extended)");
  EXPECT_EQ(r.output, "shell %proc.name user=%user.name");
  EXPECT_EQ(r.tags, (std::vector<std::string>{"a", "b"}));
  Event e = ExecEvent("bash");
  std::vector<Match> m;
  ASSERT_EQ(l.engine->Evaluate(e, &m), 1u);
  EXPECT_EQ(l.engine->FormatOutput(m[0], e), "shell bash user=root");
  e.user_uid = 1000;
  EXPECT_TRUE(MatchNames(*l.engine, e).empty());
}

TEST(Overrides, RuleReplaceEveryKey) {
  Loaded l = LoadFiles({{"rules.yaml", kBase}, {"l.yaml", R"(
- rule: shell
  condition: evt.type = execve and proc.name = zsh
  output: "replaced %proc.pid"
  desc: new desc
  priority: critical
  tags: [c]
  enabled: false
  override:
    condition: replace
    output: replace
    desc: replace
    priority: replace
    tags: replace
    enabled: replace
)"}});
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  const RuleInfo& r = OnlyRule(l);
  EXPECT_EQ(r.desc, "new desc");
  EXPECT_EQ(r.output, "replaced %proc.pid");
  EXPECT_EQ(r.priority, Priority::kCritical);
  EXPECT_EQ(r.tags, (std::vector<std::string>{"c"}));
  EXPECT_FALSE(r.enabled);
  EXPECT_EQ(l.engine->enabled_rule_count(), 0u);
  EXPECT_TRUE(MatchNames(*l.engine, ExecEvent("zsh")).empty());
}

TEST(Overrides, EnableAgainWithReplace) {
  Loaded l = LoadFiles({{"rules.yaml", std::string(kBase) + "  enabled: false\n"}, {"l.yaml", R"(
- rule: shell
  enabled: true
  override:
    enabled: replace
)"}});
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("bash")).size(), 1u);
}

TEST(Overrides, LegacyAppendOnRuleMacroList) {
  Loaded l = LoadFiles({{"rules.yaml", kBase}, {"l.yaml", R"(
- list: shells
  items: [zsh]
  append: true
- rule: shell
  condition: and user.uid = 0
  append: true
)"}});
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("zsh")).size(), 1u);
  Event e = ExecEvent("zsh");
  e.user_uid = 5;
  EXPECT_TRUE(MatchNames(*l.engine, e).empty());
  int deprecated = 0;
  for (const auto& w : l.result.warnings()) {
    if (w.code == "LOAD_DEPRECATED_ITEM") {
      ++deprecated;
      EXPECT_EQ(w.message,
                "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' "
                "instead.");
    }
  }
  EXPECT_EQ(deprecated, 2);
}

TEST(Overrides, LegacyStandaloneEnabled) {
  Loaded l = LoadFiles({{"rules.yaml", kBase}, {"l.yaml", "- rule: shell\n  enabled: false\n"}});
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_TRUE(MatchNames(*l.engine, ExecEvent("bash")).empty());
}

TEST(Overrides, ErrorsForMissingTargetsAndMisuse) {
  EXPECT_EQ(FirstError("- list: nope\n  items: [a]\n  override:\n    items: append\n"),
            "List uses 'append' or 'override.items: append' but no list by that name already exists");
  EXPECT_EQ(FirstError("- macro: nope\n  condition: a.b = c\n  override:\n    condition: append\n"),
            "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists");
  EXPECT_EQ(FirstError("- rule: nope\n  condition: and a\n  override:\n    condition: append\n"),
            "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists");
  EXPECT_EQ(FirstError("- rule: nope\n  priority: INFO\n  override:\n    priority: replace\n"),
            "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists");
  EXPECT_EQ(FirstError(std::string(kBase) + "- rule: shell\n  priority: INFO\n  override:\n    priority: append\n"),
            "Key 'priority' cannot be appended to, use 'replace' instead");
  EXPECT_EQ(FirstError(std::string(kBase) + "- rule: shell\n  output: x\n  override:\n    output: merge\n"),
            "Invalid override operation for key 'output': 'merge'. Allowed values are: append replace ");
  EXPECT_EQ(FirstError(std::string(kBase) + "- rule: shell\n  override:\n    output: append\n"),
            "An append override for 'output' was specified but 'output' is not defined");
  EXPECT_EQ(FirstError(std::string(kBase) + "- rule: shell\n  output: x\n  desc: y\n  override:\n    output: append\n"),
            "Unexpected key 'desc': no corresponding entry under 'override' is defined.");
  EXPECT_EQ(FirstError(std::string(kBase) +
                       "- rule: shell\n  condition: x\n  append: true\n  override:\n    condition: append\n"),
            "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: "
            "append') under 'override' instead.");
}

constexpr char kExceptionsRule[] = R"(
- list: allowed_writers
  items: [nginx, apache]
- rule: write
  desc: d
  condition: evt.type = openat and fd.name startswith /etc
  output: o
  priority: ERROR
  exceptions:
    - name: proc_and_path
      fields: [proc.name, fd.name]
      comps: [=, startswith]
      values:
        - [nginx, /etc/nginx]
        - [apache, /etc/apache2]
    - name: by_list
      fields: [proc.name, fd.directory]
      comps: [in, pmatch]
      values:
        - [[certbot, acme], [/etc/ssl, /etc/letsencrypt]]
        - [allowed_writers, [/etc/shared]]
    - name: single_field
      fields: proc.name
      values: [vim, nano]
)";

Event WriteBy(const std::string& proc, const std::string& path) {
  Event e = WriteEvent(path);
  e.proc_name = proc;
  return e;
}

TEST(Exceptions, MultipleFieldsCompsAndValues) {
  Loaded l = LoadYaml(kExceptionsRule);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  const Engine& e = *l.engine;
  EXPECT_TRUE(MatchNames(e, WriteBy("nginx", "/etc/nginx/nginx.conf")).empty());
  EXPECT_EQ(MatchNames(e, WriteBy("nginx", "/etc/passwd")).size(), 1u);
  EXPECT_EQ(MatchNames(e, WriteBy("apache", "/etc/nginx/x")).size(), 1u);
  EXPECT_TRUE(MatchNames(e, WriteBy("apache", "/etc/apache2/a.conf")).empty());
}

TEST(Exceptions, InAndPmatchCompsTakeListsAndListNames) {
  Loaded l = LoadYaml(kExceptionsRule);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  const Engine& e = *l.engine;
  EXPECT_TRUE(MatchNames(e, WriteBy("certbot", "/etc/letsencrypt/live/x.pem")).empty());
  EXPECT_TRUE(MatchNames(e, WriteBy("acme", "/etc/ssl/a.pem")).empty());
  EXPECT_EQ(MatchNames(e, WriteBy("certbot", "/etc/shadow")).size(), 1u);
  EXPECT_TRUE(MatchNames(e, WriteBy("apache", "/etc/shared/x")).empty());  // via the list name
  EXPECT_TRUE(MatchNames(e, WriteBy("nginx", "/etc/shared/y")).empty());
}

TEST(Exceptions, SingleFieldDefaultsToIn) {
  Loaded l = LoadYaml(kExceptionsRule);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_TRUE(MatchNames(*l.engine, WriteBy("vim", "/etc/hosts")).empty());
  EXPECT_EQ(MatchNames(*l.engine, WriteBy("emacs", "/etc/hosts")).size(), 1u);
}

TEST(Exceptions, AppendValuesToExistingAndAddNew) {
  Loaded l = LoadFiles({{"rules.yaml", kExceptionsRule}, {"rules.local.yaml", R"(
- rule: write
  exceptions:
    - name: single_field
      values: [emacs]
    - name: new_one
      fields: [user.name]
      values: [[operator]]
  override:
    exceptions: append
)"}});
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_TRUE(MatchNames(*l.engine, WriteBy("emacs", "/etc/hosts")).empty());
  EXPECT_TRUE(MatchNames(*l.engine, WriteBy("vim", "/etc/hosts")).empty());
  Event e = WriteBy("ed", "/etc/hosts");
  EXPECT_EQ(MatchNames(*l.engine, e).size(), 1u);
  e.user_name = "operator";
  EXPECT_TRUE(MatchNames(*l.engine, e).empty());
}

TEST(Exceptions, ReplaceDropsTheOldOnes) {
  Loaded l = LoadFiles({{"rules.yaml", kExceptionsRule}, {"rules.local.yaml", R"(
- rule: write
  exceptions:
    - name: only
      fields: proc.name
      values: [emacs]
  override:
    exceptions: replace
)"}});
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_EQ(MatchNames(*l.engine, WriteBy("vim", "/etc/hosts")).size(), 1u);
  EXPECT_TRUE(MatchNames(*l.engine, WriteBy("emacs", "/etc/hosts")).empty());
}

TEST(Exceptions, BadShapesAreErrors) {
  auto rule = [](const std::string& ex) {
    return "- rule: r\n  desc: d\n  condition: evt.type = openat\n  output: o\n  priority: INFO\n  exceptions:\n" + ex;
  };
  EXPECT_EQ(FirstError(rule("    - name: e\n      fields: [proc.name, fd.name]\n      comps: [=]\n      values: []\n")),
            "Fields and comps lists must have equal length");
  EXPECT_EQ(FirstError(rule("    - name: e\n      fields: [proc.name, fd.name]\n      values: [[a]]\n")),
            "Fields and values lists must have equal length");
  EXPECT_EQ(FirstError(rule("    - name: e\n      fields: [proc.nam]\n      values: [[a]]\n")),
            "'proc.nam' is not a supported filter field");
  EXPECT_EQ(FirstError(rule("    - name: e\n      fields: [proc.name]\n      comps: [like]\n      values: [[a]]\n")),
            "'like' is not a supported comparison operator");
  EXPECT_EQ(FirstError(rule("    - name: e\n      fields: [proc.name]\n      values: [[a]]\n"
                            "    - name: e\n      fields: [fd.name]\n      values: [[b]]\n")),
            "Exceptions names in the same object must be unique");
  Loaded l = LoadYaml(rule("    - name: e\n      fields: [proc.nam]\n      values: [[a]]\n"));
  ASSERT_FALSE(l.result.errors().empty());
  EXPECT_EQ(l.result.errors()[0].item_type, "exception");
  EXPECT_EQ(l.result.errors()[0].item_name, "e");
}

TEST(Files, LaterFilesOverrideAndRedefine) {
  Loaded l = LoadFiles({{"rules.yaml", kBase}, {"rules.local.yaml", R"(
- rule: shell
  desc: redefined
  condition: evt.type = execve and proc.name = ksh
  output: o
  priority: DEBUG
)"}, {"extra.yaml", R"(
- rule: extra
  desc: d
  condition: spawned and proc.name = ksh
  output: o
  priority: INFO
)"}});
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  ASSERT_EQ(l.engine->rules().size(), 2u);
  EXPECT_EQ(l.engine->rules()[0].desc, "redefined");
  EXPECT_EQ(MatchNames(*l.engine, ExecEvent("ksh")), (std::vector<std::string>{"shell", "extra"}));
  EXPECT_TRUE(MatchNames(*l.engine, ExecEvent("bash")).empty());
}

TEST(Files, MinPriorityDropsLessSevereRules) {
  EngineOptions o;
  o.min_priority = Priority::kError;
  Loaded l = LoadYaml(kBase, o);
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_TRUE(l.engine->rules().empty());
}

// ---- Bad files: exact messages, codes, lines, items ------------------------

LoadMessage OnlyError(const std::string& yaml) {
  Loaded l = LoadYaml(yaml);
  EXPECT_FALSE(l.engine);
  auto errors = l.result.errors();
  EXPECT_EQ(errors.size(), 1u) << l.result.ToText();
  return errors.empty() ? LoadMessage{} : errors[0];
}

TEST(BadFiles, YamlSyntaxErrorHasItsLine) {
  LoadMessage m = OnlyError("- rule: r\n  desc: d\n  condition: [unclosed\n  output: o\n");
  EXPECT_EQ(m.code, "LOAD_ERR_YAML_PARSE");
  EXPECT_EQ(m.file, "test.yaml");
  EXPECT_GE(m.line, 3);
  EXPECT_FALSE(m.message.empty());
}

TEST(BadFiles, LeadingCommaIsRefusedBeforeYamlCppLoopsForever) {
  LoadMessage m = OnlyError("- list: a\n  items: []\n, b\n");
  EXPECT_EQ(m.code, "LOAD_ERR_YAML_PARSE");
  EXPECT_EQ(m.message, "a line may not start with ','");
  EXPECT_EQ(m.line, 3);
  // Commas elsewhere are fine.
  EXPECT_TRUE(LoadYaml("- list: a\n  items: [x,\n    y, z]\n").result.ok());
}

TEST(BadFiles, NotASequence) {
  LoadMessage m = OnlyError("rule: r\n");
  EXPECT_EQ(m.message, "Rules content is not yaml array of objects");
  EXPECT_EQ(m.code, "LOAD_ERR_YAML_VALIDATE");
}

TEST(BadFiles, ItemNotAMapping) {
  LoadMessage m = OnlyError("- just a string\n");
  EXPECT_EQ(m.message, "Unexpected element type. Each element should be a yaml associative array.");
  EXPECT_EQ(m.line, 1);
}

TEST(BadFiles, UnknownFieldIsACompileError) {
  LoadMessage m = OnlyError("\n- rule: r\n  desc: d\n  condition: proc.nam = bash\n  output: o\n  priority: INFO\n");
  EXPECT_EQ(m.code, "LOAD_ERR_COMPILE_CONDITION");
  EXPECT_EQ(m.message, "filter_check called with nonexistent field proc.nam");
  EXPECT_EQ(m.item_type, "rule");
  EXPECT_EQ(m.item_name, "r");
  EXPECT_EQ(m.line, 4);  // the condition's line
}

TEST(BadFiles, SkipIfUnknownFilterTurnsItIntoAWarning) {
  Loaded l = LoadYaml(
      "- rule: r\n  desc: d\n  condition: evt.type = execve and proc.aname = bash\n  output: o\n  priority: INFO\n"
      "  skip-if-unknown-filter: true\n"
      "- rule: ok\n  desc: d\n  condition: evt.type = execve\n  output: \"%proc.nope\"\n  priority: INFO\n"
      "  skip-if-unknown-filter: true\n");
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  EXPECT_TRUE(l.engine->rules().empty());
  auto w = l.result.warnings();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].code, "LOAD_UNKNOWN_FILTER");
  EXPECT_EQ(w[0].message, "filter_check called with nonexistent field proc.aname");
  EXPECT_EQ(w[1].message, "invalid formatting token proc.nope");
}

TEST(BadFiles, UndefinedMacro) {
  LoadMessage m = OnlyError("- rule: r\n  desc: d\n  condition: foo and proc.name = x\n  output: o\n  priority: INFO\n");
  EXPECT_EQ(m.code, "LOAD_ERR_VALIDATE");
  EXPECT_EQ(m.message, "Undefined macro 'foo' used in filter.");
  EXPECT_EQ(m.item_name, "r");
}

TEST(BadFiles, MacroUsingALaterMacroIsUndefined) {
  Loaded l = LoadYaml(R"(
- macro: first
  condition: second
- macro: second
  condition: proc.name = x
- rule: r
  desc: d
  condition: evt.type = execve and first
  output: o
  priority: INFO
)");
  auto errors = l.result.errors();
  ASSERT_EQ(errors.size(), 1u) << l.result.ToText();
  EXPECT_EQ(errors[0].message, "Undefined macro 'second' used in filter.");
  EXPECT_EQ(errors[0].item_type, "macro");
  EXPECT_EQ(errors[0].item_name, "first");
  EXPECT_EQ(errors[0].line, 2);
}

TEST(BadFiles, UnknownOperator) {
  LoadMessage m = OnlyError(RuleWith("proc.name equals bash"));
  EXPECT_EQ(m.code, "LOAD_ERR_COMPILE_CONDITION");
  EXPECT_EQ(m.message, "unknown operator 'equals' after field 'proc.name'");
}

TEST(BadFiles, UnbalancedParentheses) {
  EXPECT_EQ(OnlyError(RuleWith("(proc.name = bash")).message, "missing ')': unbalanced parentheses");
  EXPECT_EQ(OnlyError(RuleWith("proc.name = bash)")).message, "unexpected ')' without a matching '('");
  EXPECT_EQ(OnlyError(RuleWith("proc.name in (a, b")).message, "missing ')': unbalanced parentheses in value list");
}

TEST(BadFiles, MissingCondition) {
  LoadMessage m = OnlyError("- rule: r\n  desc: d\n  output: o\n  priority: INFO\n");
  EXPECT_EQ(m.code, "LOAD_ERR_YAML_VALIDATE");
  EXPECT_EQ(m.message, "Item has no mapping for key 'condition'");
  EXPECT_EQ(m.item_name, "r");
  EXPECT_EQ(m.line, 1);
}

TEST(BadFiles, BadPriority) {
  LoadMessage m = OnlyError("- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: URGENT\n");
  EXPECT_EQ(m.message, "Invalid priority");
  EXPECT_EQ(m.line, 5);
}

TEST(BadFiles, BadValuesForTypedFields) {
  EXPECT_EQ(OnlyError(RuleWith("proc.pid = abc")).message, "invalid numeric value 'abc' for field 'proc.pid'");
  EXPECT_EQ(OnlyError(RuleWith("fd.is_upper_layer = yes")).message,
            "invalid boolean value 'yes' for field 'fd.is_upper_layer'");
  EXPECT_EQ(OnlyError(RuleWith("proc.name < bash")).message,
            "operator '<' is not supported for string field 'proc.name'");
  EXPECT_EQ(OnlyError(RuleWith("proc.pid contains 1")).message,
            "operator 'contains' is not supported for numeric field 'proc.pid'");
  EXPECT_EQ(OnlyError(RuleWith("k8s.pod.labels = a:b")).message,
            "list filter 'k8s.pod.labels' only supports operators 'exists', 'in' and 'intersects'");
  EXPECT_EQ(OnlyError(RuleWith("proc.exe regex \"(unclosed\"")).message,
            "invalid regular expression '(unclosed': missing ): (unclosed");
  EXPECT_EQ(OnlyError(RuleWith("k8s.pod.label = x")).message,
            "filter k8s.pod.label requires an argument: k8s.pod.label[key]");
}

TEST(BadFiles, BadOutputToken) {
  LoadMessage m = OnlyError("- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: \"x %proc.nope\"\n  priority: INFO\n");
  EXPECT_EQ(m.code, "LOAD_ERR_COMPILE_OUTPUT");
  EXPECT_EQ(m.message, "invalid formatting token proc.nope");
}

TEST(BadFiles, RequiredEngineVersion) {
  EXPECT_TRUE(LoadYaml("- required_engine_version: 0.26.0\n").result.ok());
  EXPECT_TRUE(LoadYaml("- required_engine_version: 17\n").result.ok());
  EXPECT_EQ(OnlyError("- required_engine_version: 9.0.0\n").message,
            "Rules require engine version 9.0.0, but engine version is 0.43.0");
  EXPECT_EQ(OnlyError("- required_engine_version: banana\n").message,
            "Unable to parse engine version 'banana' as a semver string. Expected \"x.y.z\" semver format.");
}

TEST(BadFiles, AllErrorsOfAFileAreReportedTogether) {
  Loaded l = LoadYaml(R"(
- rule: a
  desc: d
  condition: proc.nam = x
  output: o
  priority: INFO
- rule: b
  desc: d
  output: o
  priority: INFO
- rule: c
  desc: d
  condition: evt.type = execve and undefined_macro
  output: o
  priority: LOUD
)");
  auto errors = l.result.errors();
  ASSERT_EQ(errors.size(), 3u) << l.result.ToText();
  EXPECT_EQ(errors[0].item_name, "b");  // read phase first
  EXPECT_EQ(errors[1].item_name, "c");
  EXPECT_EQ(errors[1].message, "Invalid priority");
  EXPECT_EQ(errors[2].item_name, "a");  // then compile phase
}

TEST(BadFiles, UnusedAndUnknownItemsAreWarnings) {
  Loaded l = LoadYaml(R"(
- list: unused_list
  items: [a]
- macro: unused_macro
  condition: proc.name = a
- something: else
- rule: r
  desc: d
  condition: proc.name = bash
  output: o
  priority: INFO
  colour: blue
)");
  ASSERT_TRUE(l.result.ok()) << l.result.ToText();
  std::vector<std::string> codes;
  for (const auto& w : l.result.warnings()) codes.push_back(w.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"LOAD_UNKNOWN_ITEM", "LOAD_UNKNOWN_KEY", "LOAD_NO_EVTTYPE",
                                             "LOAD_UNUSED_LIST", "LOAD_UNUSED_MACRO"}));
}

TEST(LoadResultFormat, TextAndJsonCarryFileLineItem) {
  Loaded l = LoadYaml("- rule: r\n  desc: d\n  condition: foo\n  output: o\n  priority: INFO\n");
  EXPECT_EQ(l.result.ToText(),
            "test.yaml:1:3: error: rule 'r': LOAD_ERR_VALIDATE (Error validating rule/macro/list/exception objects): "
            "Undefined macro 'foo' used in filter.\n");
  EXPECT_EQ(l.result.ToJson(),
            "{\"errors\":[{\"code\":\"LOAD_ERR_VALIDATE\",\"codedesc\":\"Error validating rule/macro/list/exception "
            "objects\",\"column\":3,\"file\":\"test.yaml\",\"item_name\":\"r\",\"item_type\":\"rule\",\"line\":1,"
            "\"message\":\"Undefined macro 'foo' used in filter.\"}],\"successful\":false,\"warnings\":[]}");
}

TEST(LoadFilesFromDisk, MissingFileIsAReadError) {
  LoadResult r;
  auto e = Engine::LoadFiles({"/nonexistent/rules.yaml"}, &r);
  EXPECT_FALSE(e);
  ASSERT_EQ(r.errors().size(), 1u);
  EXPECT_EQ(r.errors()[0].code, "LOAD_ERR_FILE_READ");
  EXPECT_EQ(r.errors()[0].message, "Could not open file /nonexistent/rules.yaml for reading");
}

}  // namespace
}  // namespace invar::rules::testing
