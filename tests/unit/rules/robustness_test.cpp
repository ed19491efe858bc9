// SPDX-License-Identifier: Apache-2.0
// Bad input never crashes the loader or the engine: thousands of
// deterministic mutations of the shipped rules file (byte flips, cuts,
// duplicated spans, injected syntax) either load or report errors, and every
// engine that loads evaluates and formats events.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "rules_test_util.h"

namespace invar::rules::testing {
namespace {

std::string Defaults() {
  std::ifstream in(std::string(INVAR_SOURCE_DIR) + "/drift/rules/defaults/rules.yaml");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Robustness, MutatedRulesFilesNeverCrash) {
  const std::string base = Defaults();
  ASSERT_FALSE(base.empty());
  const char* inserts[] = {"(", ")", "\"", "'", " and ", " or ", " not ", "%", "%proc.", "[", "]", "{", "}",
                           ": ", "\n- ", ",", " in (", " pmatch ", " regex \"(\"", "\\", "\t", "\xff"};
  std::mt19937 rng(12345);
  int loaded = 0, failed = 0;
  std::vector<Event> events = {ExecEvent("bash"), WriteEvent("/etc/passwd"), Event{}};
  for (int i = 0; i < 500; ++i) {
    std::string text = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !text.empty(); ++k) {
      size_t pos = rng() % text.size();
      switch (rng() % 4) {
        case 0: text[pos] = static_cast<char>(rng() % 256); break;
        case 1: text.erase(pos, 1 + rng() % 40); break;
        case 2: text.insert(pos, text.substr(rng() % text.size(), 1 + rng() % 60)); break;
        default: text.insert(pos, inserts[rng() % std::size(inserts)]); break;
      }
    }
    if (std::getenv("INVAR_RULES_DUMP")) std::ofstream(std::getenv("INVAR_RULES_DUMP")) << text;
    LoadResult result;
    EngineOptions o;
    o.matching = EngineOptions::Matching::kAll;
    auto engine = Engine::Load({{"mutated.yaml", text}}, &result, o);
    (void)result.ToText();
    (void)result.ToJson();
    if (!engine) {
      ++failed;
      EXPECT_FALSE(result.ok());
      continue;
    }
    ++loaded;
    for (const auto& e : events) {
      std::vector<Match> matches;
      engine->Evaluate(e, &matches);
      for (const auto& m : matches) {
        EXPECT_FALSE(engine->FormatText(m, e).empty());
        EXPECT_FALSE(engine->FormatJson(m, e, "h").empty());
      }
    }
  }
  // Both outcomes occur: the mutations are neither all harmless nor all fatal.
  EXPECT_GT(loaded, 20);
  EXPECT_GT(failed, 20);
}

TEST(Robustness, MalformedStructuresGiveErrors) {
  const char* cases[] = {
      "hello",
      "- rule: [a, b]\n",
      "- list: l\n  items: {a: b}\n",
      "- list: l\n  items: [[a]]\n",
      "- macro: m\n  condition: [x]\n",
      "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n  tags: a\n",
      "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n  exceptions: x\n",
      "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n  exceptions:\n"
      "    - name: e\n      fields: {a: b}\n",
      "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n  enabled: maybe\n",
      "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n  override: [a]\n",
      "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: [INFO]\n",
      "- macro: 9bad\n  condition: proc.name = a\n",
      "- list: \"bad name\"\n  items: []\n",
      "- rule: r\n  desc: d\n  condition: ''\n  output: o\n  priority: INFO\n",
      "- rule: r\n  desc: d\n  condition: 'proc.name = \"unterminated'\n  output: o\n  priority: INFO\n",
      "- rule: r\n  desc: d\n  condition: 'proc.name ='\n  output: o\n  priority: INFO\n",
      "- rule: r\n  desc: d\n  condition: 'toupper(proc.pid) = 1'\n  output: o\n  priority: INFO\n",
      "- rule: r\n  desc: d\n  condition: 'k8s.pod.label[app = x'\n  output: o\n  priority: INFO\n",
      "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: '%k8s.pod.label'\n  priority: INFO\n",
  };
  for (const char* yaml : cases) {
    Loaded l = LoadYaml(yaml);
    EXPECT_FALSE(l.engine) << yaml;
    EXPECT_FALSE(l.result.ok()) << yaml;
    ASSERT_FALSE(l.result.errors().empty()) << yaml;
    EXPECT_FALSE(l.result.errors()[0].message.empty()) << yaml;
  }
}

}  // namespace
}  // namespace invar::rules::testing
