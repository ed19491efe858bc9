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
#include "sv_hash.h"

namespace invar::rules {

struct Engine::Impl {
  EngineOptions options;
  std::vector<RuleInfo> rules;                      // every loaded rule, in load order
  std::vector<internal::PredPtr> preds;             // parallel to rules; null when disabled
  std::vector<internal::OutputTemplate> outputs;    // parallel to rules
  // EngineOptions::json_extra_fields, resolved; json_extra_for[i]: the indexes
  // into json_extra that rule i's template does not already name.
  std::vector<internal::FieldRef> json_extra;
  std::vector<std::string> json_extra_keys;             // parallel to json_extra
  std::vector<std::vector<std::string>> output_keys;    // output_keys[i][k]: outputs[i].fields[k].ToString()
  std::vector<std::vector<std::uint8_t>> json_extra_for;
  std::unordered_map<std::string, std::uint32_t, internal::SvHash, internal::SvEq> type_index;  // evt.type -> bucket
  // buckets[i]: the enabled rules that can match evt.type i, in load order, each with its
  // condition specialized for that type (evt.type checks folded away);
  // buckets.back(): the rules that can match any type (for types no rule names).
  //
  // Conjuncts shared by several rules of a bucket (the same compiled macro,
  // e.g. `container` or `evt.dir = <`) are "guards": evaluated at most once
  // per event and remembered, instead of once per rule.
  static constexpr std::size_t kMaxGuards = 64;
  struct Entry {
    std::uint32_t rule;
    std::uint32_t first_guard;   // into Bucket::guard_refs
    std::uint32_t guard_count;
    const internal::Pred* rest;  // the other conjuncts; owned by `preds` or `specialized`
  };
  struct Bucket {
    std::vector<Entry> entries;
    std::vector<const internal::Pred*> guards;  // at most kMaxGuards
    std::vector<std::uint8_t> guard_refs;       // indexes into guards
  };
  std::vector<Bucket> buckets;
  std::vector<internal::PredPtr> specialized;
  std::size_t enabled = 0;
};

// Builds the engine state from the files (loader.cpp). Returns nullptr on errors.
std::unique_ptr<Engine::Impl> LoadImpl(const std::vector<RulesFile>& files, LoadResult* result,
                                       const EngineOptions& options);

}  // namespace invar::rules
