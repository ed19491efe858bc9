// SPDX-License-Identifier: Apache-2.0
// The compiled state behind rules::Engine, shared by the loader (which builds
// it) and engine.cpp (which evaluates and formats). Private. Immutable after
// the loader returns it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "condition.h"
#include "invar/rules/engine.h"
#include "output.h"

namespace invar::rules {

struct Engine::Impl {
  struct SvHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct SvEq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };

  EngineOptions options;
  std::vector<RuleInfo> rules;                      // every loaded rule, in load order
  std::vector<internal::PredPtr> preds;             // parallel to rules; null when disabled
  std::vector<internal::OutputTemplate> outputs;    // parallel to rules
  std::unordered_map<std::string, std::uint32_t, SvHash, SvEq> type_index;  // evt.type -> bucket
  // buckets[i]: indexes of the enabled rules that can match evt.type i, in load order;
  // buckets.back(): the rules that can match any type (for types no rule names).
  std::vector<std::vector<std::uint32_t>> buckets;
  std::size_t enabled = 0;
};

// Builds the engine state from the files (loader.cpp). Returns nullptr on errors.
std::unique_ptr<Engine::Impl> LoadImpl(const std::vector<RulesFile>& files, LoadResult* result,
                                       const EngineOptions& options);

}  // namespace invar::rules
