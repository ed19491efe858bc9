// SPDX-License-Identifier: Apache-2.0
// SvHash/SvEq: transparent FNV-1a hashing and equality for string keys, so
// hash sets and maps of std::string can be probed with a std::string_view
// without building a string. Used by the compiled `in` sets (condition.cpp)
// and the evt.type index (engine_impl.h). Private to invar_drift_rules.
// Stateless: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace invar::rules::internal {

// FNV-1a: the keys here are short (evt.type names, process names, paths);
// cheaper than std::hash's murmur for them.
struct SvHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const {
    std::uint64_t h = 14695981039346656037ULL;
    for (char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    return static_cast<std::size_t>(h);
  }
};

struct SvEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

}  // namespace invar::rules::internal
