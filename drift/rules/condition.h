// SPDX-License-Identifier: Apache-2.0
// Conditions: the parser (text -> Ast, with list names expanded inside value
// lists) and the compiler (Ast -> Pred tree with fields resolved, `in` as hash
// sets, `pmatch` as a path-prefix set, regexes compiled once, constants folded,
// and the set of evt.type values the condition can match). Private to
// invar_drift_rules; used by the loader once per condition at load time.
// Compiled Preds are immutable and safe to evaluate from many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fields.h"
#include "invar/rules/event.h"

namespace invar::rules::internal {

struct Ast {
  enum class Kind { kAnd, kOr, kNot, kCheck, kMacro };
  Kind kind = Kind::kCheck;
  std::vector<std::shared_ptr<const Ast>> children;  // kAnd, kOr (2+), kNot (1)
  // kCheck
  std::string field;        // "proc.name"
  std::optional<std::string> field_arg;  // k8s.pod.label[arg]
  std::string transformer;  // "" or "toupper", "tolower", "basename"
  std::string op;           // "=", "in", "exists", ...
  std::vector<std::string> values;  // one value, or the list items (lists already expanded)
  // kMacro
  std::string name;
  std::size_t pos = 0;  // byte offset in the condition text, for messages
};
using AstPtr = std::shared_ptr<const Ast>;

struct ConditionError {
  std::string message;
  std::size_t pos = 0;
  bool unknown_field = false;  // unknown field: skip-if-unknown-filter downgrades it to a warning
};

// Returns the items of the named list, or nullptr if no such list is visible.
using ListLookup = std::function<const std::vector<std::string>*(std::string_view name)>;

// Parses a condition. Bare words inside a value list that name a list are
// replaced by its items. Nesting deeper than kMaxDepth is an error.
inline constexpr int kMaxDepth = 1000;
std::optional<AstPtr> ParseCondition(std::string_view text, const ListLookup& lists, ConditionError* error);

// Builds the check `field op values` as the parser would (for exceptions).
AstPtr MakeCheck(std::string field, std::string op, std::vector<std::string> values);
AstPtr MakeNode(Ast::Kind kind, std::vector<AstPtr> children);

// Every macro name the Ast references, in order of appearance.
void CollectMacroRefs(const Ast& ast, std::vector<std::pair<std::string, std::size_t>>* out);

class Pred {
 public:
  virtual ~Pred() = default;
  virtual bool Eval(const Event& e) const = 0;
  // True for checks whose result depends on evt.type alone.
  virtual bool DependsOnlyOnEventType() const { return false; }
  // Rough evaluation cost, to test cheap checks of an and/or first.
  virtual int Cost() const { return 3; }
};
using PredPtr = std::shared_ptr<const Pred>;

// Partial evaluation for one bucket of the evt.type index: every check that
// depends only on evt.type is replaced by its value for `type` and the tree
// is folded again. A rule in the execve bucket no longer tests evt.type.
PredPtr SpecializeForType(const PredPtr& pred, const std::string& type);

// The top-level conjuncts of a predicate (itself when it is not an and).
std::vector<PredPtr> Conjuncts(const PredPtr& pred);
// The and of `preds` (true when empty, the predicate itself when alone).
PredPtr MakeAnd(std::vector<PredPtr> preds);

// The evt.type values a condition can match: all, or a finite set.
struct TypeSet {
  bool all = true;
  std::set<std::string> names;
  static TypeSet All() { return {}; }
  static TypeSet None() { return {false, {}}; }
};

struct Compiled {
  PredPtr pred;
  TypeSet types;
  std::optional<bool> constant;  // set when folding proved the result
  std::uint64_t size = 1;        // checks after macro expansion (saturating)
};

// Limits that keep hostile rule files from exhausting the stack or memory:
// nesting through macros, and the size of a condition after macro expansion.
inline constexpr int kMaxCompileDepth = 1000;
inline constexpr std::uint64_t kMaxExpandedSize = 1u << 20;

// Returns the compiled macro, or nullptr when `name` is not visible; sets
// *error when the macro exists but its own compilation failed.
using MacroLookup = std::function<const Compiled*(std::string_view name, const ConditionError** error)>;

std::optional<Compiled> CompileAst(const Ast& ast, const MacroLookup& macros, ConditionError* error);

// Compares with glob semantics: '*' any run (including '/'), '?' one byte, [abc], [a-z], [!x].
bool GlobMatch(std::string_view pattern, std::string_view text);

// Canonical operator name for a spelling ("==" -> "="); nullopt if unknown.
std::optional<std::string> CanonicalOperator(std::string_view op);
bool IsListOperator(std::string_view op);  // in, intersects, pmatch

}  // namespace invar::rules::internal
