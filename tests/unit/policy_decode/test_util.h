// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the decoder tests: reading test data and printing
// decode results when an expectation fails.
#pragma once

#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>

#include "invar/policy/decode.h"

namespace invar::policy::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Concatenation without operator+ chains (GCC 12 -O3 reports a bogus
// -Wrestrict on those, GCC PR 105651).
inline std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s.append(p);
  return s;
}

inline std::string DataPath(const std::string& name) { return std::string(INVAR_SOURCE_DIR) + "/tests/data/" + name; }

inline std::string Errors(const DecodeResult& r) {
  std::string s;
  for (const auto& e : r.errors) {
    s += e.where.file + ":" + std::to_string(e.where.line) + ": " + e.message + "\n";
  }
  return s;
}

}  // namespace invar::policy::testing
