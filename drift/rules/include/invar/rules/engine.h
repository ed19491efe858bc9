// SPDX-License-Identifier: Apache-2.0
// rules::Engine: Falco-language rules (lists, macros, rules, exceptions,
// overrides) loaded from YAML, compiled once into predicate trees indexed by
// evt.type, evaluated against rules::Event, and the matches rendered as
// Falco's text line and JSON alert.
//
// Who calls it: the drift agent (loads rules.yaml, rules.local.yaml and any -r
// files at startup; refuses to start if the LoadResult has errors; then calls
// Evaluate() for every event and hands the matches to its sinks), and
// `invar rules validate`.
//
// Thread-safety: Load() builds an immutable engine. Evaluate() and the Format*
// functions are const and may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "invar/rules/event.h"
#include "invar/rules/load_result.h"

namespace invar::rules {

// Falco's priorities, most severe first (a lower value is more severe).
enum class Priority : std::uint8_t {
  kEmergency = 0,
  kAlert,
  kCritical,
  kError,
  kWarning,
  kNotice,
  kInformational,
  kDebug,
};
// Case-insensitive; accepts Falco's spellings (EMERGENCY ... DEBUG, INFO, INFORMATIONAL).
bool ParsePriority(std::string_view text, Priority* out);
// Capitalized as in Falco's output: "Warning", "Critical", "Informational".
std::string_view PriorityName(Priority priority);

// The action a rule asks for with a tag invar.action.{flag,kill,prevent} (any
// other invar.action.* tag is a load error). Ordered by strength: flag <
// prevent < kill (kill ends the workload; prevent only denies one exec). When
// a rule carries several, the strongest wins.
enum class Action : std::uint8_t { kNone, kFlag, kPrevent, kKill };
std::string_view ActionName(Action action);  // "none", "flag", "prevent", "kill"
// The stronger of two requests (kNone is weaker than any action).
constexpr Action StrongerAction(Action a, Action b) { return static_cast<int>(a) >= static_cast<int>(b) ? a : b; }

// What a loaded rule is, after every override and append.
struct RuleInfo {
  std::string name;
  std::string desc;
  std::string output;  // the template, as written
  Priority priority = Priority::kDebug;
  std::vector<std::string> tags;  // sorted, unique
  Action action = Action::kNone;
  bool enabled = true;
  std::string file;  // where it was defined
  int line = 0;
};

// One rule that matched one event. `rule` points into the engine that produced
// it and stays valid as long as that engine lives.
struct Match {
  const RuleInfo* rule = nullptr;
  std::uint32_t index = 0;  // the rule's index in Engine::rules()
};

// The strongest action the matched rules ask for (with rule_matching all,
// several rules may match); kNone when none names one.
Action StrongestRuleAction(const std::vector<Match>& matches);

struct RulesFile {
  std::string name;     // shown in messages ("/etc/invar/rules.local.yaml")
  std::string content;  // YAML text
};

struct EngineOptions {
  // Falco's `rule_matching`: kFirst reports only the first matching rule (in
  // load order) per event, as Falco does by default; kAll reports every one.
  enum class Matching { kFirst, kAll };
  Matching matching = Matching::kFirst;
  // Rules less severe than this are not loaded (Falco's `priority` setting).
  Priority min_priority = Priority::kDebug;
  // Evaluate only the rules whose condition can match the event's evt.type
  // (Falco's evttype index). Off only to measure what the index buys.
  bool index_by_event_type = true;
  // Fields every JSON alert carries in output_fields besides the ones its
  // rule's output names (the agent adds its invar.* and identity fields, as
  // Falco adds its own with `json_include_output_property`). Resolved at
  // load: an unknown name is a LOAD_ERR_VALIDATE error.
  std::vector<std::string> json_extra_fields;
};

class Engine {
 public:
  // The rules language version this engine implements; a file whose
  // required_engine_version is newer fails to load.
  static constexpr std::string_view kEngineVersion = "0.43.0";

  // Loads the files in order (rules.yaml, then rules.local.yaml, then -r
  // files): later files see and may override what earlier ones defined.
  // Every problem lands in *result. Returns nullptr iff result has errors.
  static std::unique_ptr<Engine> Load(const std::vector<RulesFile>& files, LoadResult* result,
                                      const EngineOptions& options = {});
  // Same, reading each path; an unreadable file is a LOAD_ERR_FILE_READ error.
  static std::unique_ptr<Engine> LoadFiles(const std::vector<std::string>& paths, LoadResult* result,
                                           const EngineOptions& options = {});

  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Appends to *out the enabled rules whose condition holds for `event` (at
  // most one with Matching::kFirst), in load order. Returns how many were
  // appended. Never allocates when nothing matches.
  std::size_t Evaluate(const Event& event, std::vector<Match>* out) const;

  // The rule's output template rendered for `event`: "Shell spawned (root,container_id=3d9b3f12ef50)".
  // Missing values print as <NA>; control characters in values print as '.'.
  std::string FormatOutput(const Match& match, const Event& event) const;
  // Falco's text line: "21:46:11.008102763: Warning Shell spawned (...)" with
  // the event time in local time (TZ), as Falco prints by default.
  std::string FormatText(const Match& match, const Event& event) const;
  // Falco's JSON alert: {"hostname","output","output_fields","priority","rule","source","tags","time"};
  // time in RFC 3339 UTC with nanoseconds; output_fields holds every field of the template
  // (null when missing), then EngineOptions::json_extra_fields the template
  // does not name. Always valid UTF-8 JSON; one line.
  std::string FormatJson(const Match& match, const Event& event, std::string_view hostname) const;

  // Every loaded rule (enabled or not), in load order.
  const std::vector<RuleInfo>& rules() const;
  std::size_t enabled_rule_count() const;

  struct Impl;  // the compiled state; defined privately in drift/rules

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace invar::rules
