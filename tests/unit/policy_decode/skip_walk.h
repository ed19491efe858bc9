// SPDX-License-Identifier: Apache-2.0
// The observation walk that checks JsonAdapter::SkipContainer()
// (enforcer/policy/decode_json_adapter.h) against simdjson's own skipping:
// WalkDocument(json, fast) walks a document, reading some subtrees and
// skipping the rest, and returns everything it observed (keys, the byte
// offset of every value, errors, where the walk ended). With fast == true
// every skipped value first goes through SkipContainer(); with false,
// on-demand's skip_child() does all the skipping. The two logs must be equal
// for every input. Objects under keys starting with 'o' are decoded: with
// fast == true by DecodeObject() (its structural-index walk moves the
// iterator past the object itself), with false by DecodeObjectOnDemand();
// the results and where the walk goes on must be equal too. Used by
// decode_skip_test.cpp (edge cases and generated
// documents) and by the fuzz_decode_json fuzzer (tests/fuzz), which checks
// the same equality on every input it tries. Header-only, no gtest;
// thread-compatible (each call has its own parser).
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "decode_json_adapter.h"
#include "invar/policy/json_object.h"

namespace invar::policy::skip_walk {

namespace od = simdjson::ondemand;
using decode_internal::JsonAdapter;

// log += a + b without an operator+ chain (GCC 12 -O3 reports a bogus
// -Wrestrict on those, GCC PR 105651).
inline void Note(std::string& log, std::string_view a, std::string_view b) {
  log += a;
  log += b;
}

// Walks `v`: reads objects whose key starts with 'r' and arrays' elements at
// odd positions, skips everything else. Appends what it sees to `log`.
// Returns false once an error ended the walk.
inline bool Walk(od::value v, const char* base, bool fast, int depth, std::string& log) {
  const char* at = nullptr;
  if (v.current_location().get(at) == simdjson::SUCCESS) Note(log, "@", std::to_string(at - base));
  od::json_type type;
  if (auto e = v.type().get(type)) {
    Note(log, " type-error:", simdjson::error_message(e));
    return false;
  }
  if (depth > 40) return true;  // deep enough; leave the rest to the skip
  if (type == od::json_type::object) {
    od::object obj;
    if (auto e = v.get_object().get(obj)) {
      Note(log, " object-error:", simdjson::error_message(e));
      return false;
    }
    log += "{";
    for (auto field_result : obj) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) {
        Note(log, " field-error:", simdjson::error_message(e));
        return false;
      }
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) {
        Note(log, " key-error:", simdjson::error_message(e));
        return false;
      }
      log += " ";
      log += key;
      od::value child = field.value();
      if (!key.empty() && key[0] == 'o') {
        // An object to decode, as the webhook decodes request.object: with
        // fast, DecodeObject() (the structural-index walk, which then moves
        // the iterator past it itself); without, the on-demand walk only.
        Result<Workload> w = fast ? DecodeObject(child, 64) : DecodeObjectOnDemand(child, 64);
        if (w.ok()) {
          Note(log, " decoded:", w->kind);
          Note(log, "/", w->metadata.name);
          Note(log, "/", std::to_string(w->spec.containers.size()));
          Note(log, "/", w->spec_path);
        } else {
          Note(log, " decode-error:", w.status().ToString());
        }
      } else if (!key.empty() && key[0] == 'r') {
        if (!Walk(child, base, fast, depth + 1, log)) return false;
      } else {
        const char* child_at = nullptr;
        if (child.current_location().get(child_at) == simdjson::SUCCESS) Note(log, "~", std::to_string(child_at - base));
        if (fast) JsonAdapter::SkipContainer(child);
      }
    }
    log += "}";
    return true;
  }
  if (type == od::json_type::array) {
    od::array arr;
    if (auto e = v.get_array().get(arr)) {
      Note(log, " array-error:", simdjson::error_message(e));
      return false;
    }
    log += "[";
    int i = 0;
    for (auto element_result : arr) {
      od::value child;
      if (auto e = std::move(element_result).get(child)) {
        Note(log, " element-error:", simdjson::error_message(e));
        return false;
      }
      if (i++ % 2 == 1) {
        if (!Walk(child, base, fast, depth + 1, log)) return false;
      } else {
        const char* child_at = nullptr;
        if (child.current_location().get(child_at) == simdjson::SUCCESS) Note(log, "~", std::to_string(child_at - base));
        if (fast) JsonAdapter::SkipContainer(child);
      }
    }
    log += "]";
    return true;
  }
  return true;  // scalars: left unread, the parent skips them
}

inline std::string WalkDocument(const std::string& json, bool fast) {
  simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  std::string log;
  if (auto e = parser.iterate(padded).get(doc)) {
    Note(log, "iterate-error:", simdjson::error_message(e));
    return log;
  }
  od::value root;
  if (auto e = doc.get_value().get(root)) {
    Note(log, "root-error:", simdjson::error_message(e));
    return log;
  }
  Walk(root, padded.data(), fast, 0, log);
  const char* end = nullptr;
  if (auto e = doc.current_location().get(end)) {
    Note(log, " end:", simdjson::error_message(e));
  } else {
    Note(log, " end@", std::to_string(end - padded.data()));
  }
  return log;
}

}  // namespace invar::policy::skip_walk
