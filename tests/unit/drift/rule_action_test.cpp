// SPDX-License-Identifier: Apache-2.0
// Rule-requested actions (actions.h ResolveEventAction): every rule_actions
// mode x container action (flag, kill, prevent with the exec denied, prevent
// for any other event) x rule request (none, flag, prevent, kill), against
// the table in docs/rules.md ("Actions"), written out here by hand; the
// reasons' exact texts; the mode names.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "invar/drift/actions.h"

namespace invar::drift {
namespace {

struct Row {
  const char* container;  // "flag", "kill", "prevent-denied", "prevent-other"
  const char* rule;       // "-" (none) or an action
  const char* escalate;
  const char* override_;
  const char* ignore;
};

// The docs' table, extended to every combination.
constexpr Row kTable[] = {
    {"flag", "-", "flag", "flag", "flag"},
    {"flag", "flag", "flag", "flag", "flag"},
    {"flag", "prevent", "flag", "flag", "flag"},
    {"flag", "kill", "kill", "kill", "flag"},
    {"kill", "-", "kill", "kill", "kill"},
    {"kill", "flag", "kill", "flag", "kill"},
    {"kill", "prevent", "kill", "flag", "kill"},
    {"kill", "kill", "kill", "kill", "kill"},
    {"prevent-denied", "-", "prevent", "prevent", "prevent"},
    {"prevent-denied", "flag", "prevent", "prevent", "prevent"},
    {"prevent-denied", "prevent", "prevent", "prevent", "prevent"},
    {"prevent-denied", "kill", "kill", "kill", "prevent"},
    {"prevent-other", "-", "flag", "flag", "flag"},
    {"prevent-other", "flag", "flag", "flag", "flag"},
    {"prevent-other", "prevent", "flag", "flag", "flag"},
    {"prevent-other", "kill", "kill", "kill", "flag"},
};

Action Parse(const std::string& s) {
  auto a = ParseAction(s);
  EXPECT_TRUE(a.ok()) << s;
  return a.ok() ? *a : Action::kFlag;
}

TEST(RuleAction, EveryModeContainerActionAndRuleRequest) {
  int checked = 0;
  for (const Row& row : kTable) {
    const std::string container = row.container;
    const bool denied = container == "prevent-denied";
    const Action c = container.rfind("prevent", 0) == 0 ? Action::kPrevent : Parse(container);
    std::optional<Action> rule;
    if (std::string(row.rule) != "-") rule = Parse(row.rule);
    const std::pair<RuleActionMode, const char*> modes[] = {
        {RuleActionMode::kEscalate, row.escalate},
        {RuleActionMode::kOverride, row.override_},
        {RuleActionMode::kIgnore, row.ignore},
    };
    for (const auto& [mode, want] : modes) {
      const EventAction got = ResolveEventAction(mode, c, rule, denied);
      EXPECT_EQ(ActionName(got.action), want)
          << "container " << container << ", rule " << row.rule << ", mode " << RuleActionModeName(mode);
      // A reason exactly when a rule asked for something other than what is done.
      const bool differs = rule && *rule != got.action;
      EXPECT_EQ(!got.reason.empty(), differs) << "container " << container << ", rule " << row.rule
                                              << ", mode " << RuleActionModeName(mode) << ": " << got.reason;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 48);
}

TEST(RuleAction, ARuleCanRaiseButNeverLowerWhenEscalating) {
  for (Action c : {Action::kFlag, Action::kPrevent, Action::kKill}) {
    for (Action r : {Action::kFlag, Action::kPrevent, Action::kKill}) {
      for (bool denied : {false, true}) {
        if (denied && c != Action::kPrevent) continue;  // only a prevent container denies
        const Action base = ResolveEventAction(RuleActionMode::kEscalate, c, std::nullopt, denied).action;
        const Action got = ResolveEventAction(RuleActionMode::kEscalate, c, r, denied).action;
        EXPECT_GE(ActionStrength(got), ActionStrength(base)) << ActionName(c) << " " << ActionName(r);
      }
    }
  }
  EXPECT_LT(ActionStrength(Action::kFlag), ActionStrength(Action::kPrevent));
  EXPECT_LT(ActionStrength(Action::kPrevent), ActionStrength(Action::kKill));
}

TEST(RuleAction, ReasonsSayWhyTheRequestWasNotWhatWasDone) {
  EXPECT_EQ(ResolveEventAction(RuleActionMode::kEscalate, Action::kFlag, Action::kPrevent, false).reason,
            "the container is not in prevent mode (no exec permission check): prevent acted as flag");
  EXPECT_EQ(ResolveEventAction(RuleActionMode::kOverride, Action::kKill, Action::kPrevent, false).reason,
            "the container is not in prevent mode (no exec permission check): prevent acted as flag");
  EXPECT_EQ(ResolveEventAction(RuleActionMode::kEscalate, Action::kPrevent, Action::kPrevent, false).reason,
            "prevent denies only the exec of a file not from the image, before rules run: acted as flag");
  EXPECT_EQ(ResolveEventAction(RuleActionMode::kEscalate, Action::kKill, Action::kFlag, false).reason,
            "the container's action kill is stronger (rule_actions: escalate)");
  EXPECT_EQ(ResolveEventAction(RuleActionMode::kEscalate, Action::kPrevent, Action::kFlag, true).reason,
            "the container's action prevent is stronger (rule_actions: escalate)");
  EXPECT_EQ(ResolveEventAction(RuleActionMode::kOverride, Action::kPrevent, Action::kFlag, true).reason,
            "the exec was denied before rules ran (container action prevent); a rule cannot undo it");
  EXPECT_EQ(ResolveEventAction(RuleActionMode::kIgnore, Action::kFlag, Action::kKill, false).reason,
            "rule actions are ignored (rule_actions: ignore)");
  EXPECT_EQ(ResolveEventAction(RuleActionMode::kIgnore, Action::kKill, Action::kKill, false).reason, "");
  EXPECT_EQ(ResolveEventAction(RuleActionMode::kOverride, Action::kKill, std::nullopt, false).reason, "");
}

TEST(RuleAction, ModeNamesRoundTripAndUnknownIsAnError) {
  for (RuleActionMode m : {RuleActionMode::kEscalate, RuleActionMode::kOverride, RuleActionMode::kIgnore}) {
    auto parsed = ParseRuleActionMode(RuleActionModeName(m));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, m);
  }
  auto bad = ParseRuleActionMode("Escalate");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown rule_actions \"Escalate\" (want escalate, override or ignore)");
}

}  // namespace
}  // namespace invar::drift
