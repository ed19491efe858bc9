// SPDX-License-Identifier: Apache-2.0
// `invar report` and `invar checks` as a user runs them: exit codes (0, 1,
// 2 and their precedence), error messages on stderr with file and line,
// every output format selectable, colour rules (--no-color, NO_COLOR,
// non-tty), stdin, -k, custom profiles.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli_util.h"

namespace invar::report::testing {
namespace {

const std::string kFx = std::string(INVAR_SOURCE_DIR) + "/tests/unit/report/fixtures";

TEST(ReportCli, CompliantManifestExitsZero) {
  auto r = RunCli({"report", "-f", kFx + "/compliant.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("No findings."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Compliance: 100%"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(ReportCli, FindingsExitOne) {
  auto r = RunCli({"report", "-f", kFx + "/manifests", "-R"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("deployment.apps/legacy"), std::string::npos);
  EXPECT_NE(r.out.find("1 object without a pod spec skipped"), std::string::npos);
}

TEST(ReportCli, FailOnThreshold) {
  // The Job's only finding is imageDigest (MEDIUM).
  auto medium = RunCli({"report", "-f", kFx + "/manifests/nested/job.json", "--fail-on", "medium"});
  EXPECT_EQ(medium.exit_code, 1);
  auto high = RunCli({"report", "-f", kFx + "/manifests/nested/job.json", "--fail-on", "HIGH"});
  EXPECT_EQ(high.exit_code, 0) << high.out;
  auto bad = RunCli({"report", "-f", kFx + "/compliant.yaml", "--fail-on", "severe"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown --fail-on severity \"severe\""), std::string::npos) << bad.err;
}

TEST(ReportCli, DecodeErrorGoesToStderrWithLineAndExitsTwo) {
  auto r = RunCli({"report", "-f", kFx + "/bad.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("error: " + kFx + "/bad.yaml:"), std::string::npos) << r.err;
  // The documents around the broken one are still evaluated.
  EXPECT_NE(r.out.find("pod/good-before-bad"), std::string::npos);
  EXPECT_NE(r.out.find("pod/after-bad"), std::string::npos);
}

TEST(ReportCli, MissingFileExitsTwo) {
  auto r = RunCli({"report", "-f", kFx + "/nope.yaml", "-o", "json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope.yaml: no such file or directory"), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["errors"].size(), 1u);
}

TEST(ReportCli, RepeatableOptionsTakeOneValueEach) {
  // As with kubectl, `-f a b` is a usage error, not two files.
  auto two = RunCli({"report", "-f", kFx + "/compliant.yaml", kFx + "/manifests/nested/job.json"});
  EXPECT_EQ(two.exit_code, 2);
  EXPECT_NE(two.err.find("job.json"), std::string::npos) << two.err;
  EXPECT_TRUE(two.out.empty()) << two.out;
  auto repeated = RunCli({"report", "-f", kFx + "/compliant.yaml", "-f", kFx + "/manifests/nested/job.json",
                          "--fail-on", "high", "-o", "json"});
  EXPECT_EQ(repeated.exit_code, 0) << repeated.err;
  EXPECT_EQ(nlohmann::json::parse(repeated.out)["resources"].size(), 2u) << repeated.out;
  auto logs = RunCli({"report", "--audit-log", kFx + "/audit/audit.log", kFx + "/audit/audit.log"});
  EXPECT_EQ(logs.exit_code, 2) << logs.out;
}

TEST(ReportCli, UnknownOutputAndProfileAreUsageErrors) {
  auto o = RunCli({"report", "-f", kFx + "/compliant.yaml", "-o", "xml"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("unknown output format \"xml\""), std::string::npos) << o.err;
  auto p = RunCli({"report", "-f", kFx + "/compliant.yaml", "--profile", "strict"});
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.err.find("unknown --profile \"strict\" (known: "), std::string::npos) << p.err;
  auto v = RunCli({"report", "-f", kFx + "/compliant.yaml", "--pss-version", "1.30"});
  EXPECT_EQ(v.exit_code, 2);
  EXPECT_NE(v.err.find("invalid --pss-version"), std::string::npos) << v.err;
  auto flag = RunCli({"report", "--bogus"});
  EXPECT_EQ(flag.exit_code, 2);
}

TEST(ReportCli, ManifestsAndClusterFlagsAreExclusive) {
  auto r = RunCli({"report", "-f", kFx + "/compliant.yaml", "-A"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("use one or the other"), std::string::npos) << r.err;
}

TEST(ReportCli, EveryFormatIsSelectable) {
  for (const char* f : {"table", "wide", "json", "yaml", "sarif", "junit", "policyreport"}) {
    auto r = RunCli({"report", "-f", kFx + "/manifests", "-R", "-o", f});
    EXPECT_EQ(r.exit_code, 1) << f << ": " << r.err;
    EXPECT_FALSE(r.out.empty()) << f;
  }
}

TEST(ReportCli, StdinAndCustomProfile) {
  std::string doc =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: from-stdin}\nspec:\n  containers:\n  - name: a\n    "
      "image: nginx:1.27\n";
  auto r = RunCli(
      {"report", "-f", "-", "--profile", "relaxed-tags", "--config", kFx + "/profiles.yaml", "-o", "json"},
      {}, doc);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["resources"].size(), 1u);
  EXPECT_EQ(j["resources"][0]["profile"], "relaxed-tags");
  for (const auto& f : j["resources"][0]["findings"]) EXPECT_NE(f["check"], "imageDigest");
}

TEST(ReportCli, KustomizeDirectory) {
  if (::access("/usr/bin/kubectl", X_OK) != 0) GTEST_SKIP() << "kubectl not installed";
  auto r = RunCli({"report", "-k", kFx + "/kustomize", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["resources"][0]["namespace"], "kustomized");
}

TEST(ReportCli, KustomizeWithoutKubectlIsAnInputError) {
  auto r = RunCli({"report", "-k", kFx + "/kustomize"}, {{"PATH", "/nonexistent"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("needs kubectl on PATH"), std::string::npos) << r.err;
}

TEST(ReportCli, NoColourWhenNotATerminal) {
  // stdout is a pipe here: never colour, whatever the flags.
  auto r = RunCli({"report", "-f", kFx + "/manifests", "-R"});
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  auto nc = RunCli({"report", "-f", kFx + "/manifests", "-R", "--no-color"}, {{"NO_COLOR", "1"}});
  EXPECT_EQ(nc.out.find('\x1b'), std::string::npos);
}

TEST(ReportCli, NoHeadersPrintsOnlyRows) {
  auto r = RunCli({"report", "-f", kFx + "/manifests", "-R", "--no-headers"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.find("NAMESPACE"), std::string::npos);
  EXPECT_EQ(r.out.rfind("shop ", 0), 0u) << r.out;
}

TEST(ReportCli, AuditLogOffline) {
  auto r = RunCli({"report", "--audit-log", kFx + "/audit/audit.log.gz", "--immutable-namespaces",
                   "shop,payments", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // allowed execs into immutable namespaces are HIGH findings
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["metadata"]["source"], "audit");
  EXPECT_EQ(j["execs"].size(), 6u);
  EXPECT_EQ(j["summary"]["flaggedExecs"], 4);
  auto quiet = RunCli({"report", "--audit-log", kFx + "/audit/audit.log"});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.out;  // nothing flagged without immutable namespaces
}

TEST(ReportCli, HostileInputIsAnInputErrorNotACrash) {
  std::string deep_yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: deep}\nspec: " + std::string(10000, '[') + "\n";
  auto yaml = RunCli({"report", "-f", "-"}, {}, deep_yaml);
  EXPECT_EQ(yaml.exit_code, 2) << yaml.out;
  EXPECT_NE(yaml.err.find("error: -"), std::string::npos) << yaml.err;
  std::string deep_json = std::string(10000, '[') + std::string(10000, ']');
  auto json = RunCli({"report", "-f", "-", "-o", "json"}, {}, deep_json);
  EXPECT_EQ(json.exit_code, 2);
  EXPECT_EQ(nlohmann::json::parse(json.out)["errors"].size(), 1u);
  std::string binary("\x00\x01\x02garbage\xff\xfe", 12);
  auto bin = RunCli({"report", "-f", "-"}, {}, binary);
  EXPECT_EQ(bin.exit_code, 2);
  EXPECT_NE(bin.err.find("binary file"), std::string::npos) << bin.err;
}

TEST(AgentCli, RepeatableOptionsTakeOneValueEach) {
  // `-r a b` is a usage error naming `b` (exit 2) before anything starts.
  // Taken as two rules files, the agent would instead stop at loading the
  // missing default rules (exit 1).
  for (const char* flag : {"-r", "--allow"}) {
    auto r = RunCli({"agent", "--default-rules", "/nonexistent/rules.yaml", flag, "/tmp/one", "/tmp/two"});
    EXPECT_EQ(r.exit_code, 2) << flag << ": " << r.err;
    EXPECT_NE(r.err.find("/tmp/two"), std::string::npos) << flag << ": " << r.err;
  }
}

TEST(ChecksCli, TableJsonMarkdown) {
  auto t = RunCli({"checks"});
  EXPECT_EQ(t.exit_code, 0);
  EXPECT_EQ(t.out.rfind("ID ", 0), 0u);
  EXPECT_NE(t.out.find("readOnlyRootFilesystem"), std::string::npos);
  auto j = RunCli({"checks", "-o", "json"});
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(j.out)["kind"], "CheckCatalogue");
  auto m = RunCli({"checks", "-o", "markdown"});
  EXPECT_EQ(m.exit_code, 0);
  EXPECT_NE(m.out.find("# Checks reference"), std::string::npos);
  auto bad = RunCli({"checks", "-o", "sarif"});
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace invar::report::testing
