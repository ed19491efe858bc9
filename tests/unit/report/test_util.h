// SPDX-License-Identifier: Apache-2.0
// Helpers for the report unit tests: fixture paths, golden-file comparison
// (INVAR_UPDATE_GOLDEN=1 rewrites the golden files), and building a Report
// from the fixtures the way `invar report` does.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "invar/policy/profile.h"
#include "invar/report/audit.h"
#include "invar/report/inputs.h"
#include "invar/report/report.h"

namespace invar::report::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the test from the source root so that file names in reports are the
// stable, relative "tests/unit/report/fixtures/...".
inline void ChdirToSourceRoot() { ASSERT_EQ(::chdir(INVAR_SOURCE_DIR), 0); }

inline const std::string kFixtures = "tests/unit/report/fixtures";

inline void ExpectGolden(const std::string& name, const std::string& actual) {
  std::string path = std::string(INVAR_SOURCE_DIR) + "/tests/unit/report/golden/" + name;
  const char* update = std::getenv("INVAR_UPDATE_GOLDEN");
  if (update != nullptr && update[0] == '1') {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::string expected = ReadFile(path);
  ASSERT_FALSE(expected.empty()) << "missing golden file " << path << " (run with INVAR_UPDATE_GOLDEN=1)";
  EXPECT_EQ(expected, actual) << "golden file " << path
                              << " differs; if the change is intended, rerun with INVAR_UPDATE_GOLDEN=1";
}

// The fixture report: manifests (recursive), the plain audit log with shop
// and payments in immutable mode, profile immutable@latest.
inline Report FixtureReport() {
  ManifestInputs in;
  in.files = {kFixtures + "/manifests"};
  in.recursive = true;
  auto loaded = LoadManifests(in);
  auto profile = policy::BuiltinProfile("immutable");
  EXPECT_TRUE(profile.ok());
  Report r;
  r.tool_version = "0.1.0";
  r.source = "manifests";
  r.profile = "immutable";
  r.pss_version = "latest";
  for (const auto& w : loaded.workloads) r.resources.push_back(EvaluateWorkload(w, *profile, "--profile"));
  r.skipped = loaded.skipped;
  r.errors = loaded.errors;
  AuditOptions ao;
  ao.immutable_namespaces = {{"shop", "--immutable-namespaces"}, {"payments", "--immutable-namespaces"}};
  AuditReader reader(ao);
  reader.AddFile(kFixtures + "/audit/audit.log");
  auto audit = reader.Finish();
  r.audit = true;
  r.execs = audit.execs;
  for (auto& e : audit.errors) r.errors.push_back(e);
  return r;
}

}  // namespace invar::report::testing
