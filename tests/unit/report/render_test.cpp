// SPDX-License-Identifier: Apache-2.0
// Renderer tests: golden files for every output format, plus structural
// checks that hold whatever the policy messages say (JSON schema fields,
// YAML == JSON, SARIF rule indexes and suppressions, PolicyReport counts,
// JUnit escaping, table alignment and colour), and exit codes.
#include "invar/report/render.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "invar/policy/checks.h"
#include "test_util.h"

namespace invar::report {
namespace {

using testing::ExpectGolden;
using testing::FixtureReport;
using Json = nlohmann::json;

class ReportRender : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ChdirToSourceRoot();
    report_ = FixtureReport();
  }
  RenderOptions Plain() const {
    RenderOptions o;
    o.base_dir = INVAR_SOURCE_DIR;
    return o;
  }
  Report report_;
};

// A cluster-mode report built by hand: drift, folded pods, a note.
Report ClusterReport() {
  auto profile = policy::BuiltinProfile("immutable");
  Report r;
  r.tool_version = "0.1.0";
  r.source = "cluster";
  r.profile = "per-namespace";
  r.pss_version = "latest";
  policy::Workload w;
  w.api_version = "apps/v1";
  w.kind = "Deployment";
  w.metadata.name = "web";
  w.metadata.namespace_ = "shop";
  w.metadata.uid = "5b0e4a8e-2f7c-4c1e-9a51-6d1f2e3c4b5a";
  w.spec_path = "spec.template.spec";
  policy::Container c;
  c.name = "web";
  c.image = "nginx:1.27";
  w.spec.containers.push_back(c);
  ResourceResult res = EvaluateWorkload(w, *profile, "namespace label invar.dev/enforce");
  res.pods = {"web-7d9f8b6c5-abcde", "web-7d9f8b6c5-fghij"};
  res.drift.count = 3;
  res.drift.first_time = "2026-11-20T10:00:00Z";
  res.drift.first_path = "/usr/bin/curl";
  res.drift.first_op = "create";
  res.drift.events = 2;
  res.drift.last_event_time = "2026-11-20T10:05:00Z";
  res.drift.last_event_message = "container web: 3 changes to its root filesystem";
  res.drift.pods = {"web-7d9f8b6c5-abcde"};
  r.resources.push_back(res);
  policy::Workload pod = w;
  pod.kind = "Pod";
  pod.api_version = "v1";
  pod.metadata.name = "web-7d9f8b6c5-zzzzz";
  pod.spec_path = "spec";
  ResourceResult pr = EvaluateWorkload(pod, *profile, "namespace label invar.dev/enforce");
  pr.pods = {"web-7d9f8b6c5-zzzzz"};
  pr.note = "differs from replicaset.apps/web-7d9f8b6c5 template";
  r.resources.push_back(pr);
  r.warnings.push_back("cannot list cronjobs: forbidden");
  return r;
}

TEST_F(ReportRender, TableMatchesGolden) {
  ExpectGolden("table.txt", Render(report_, Format::kTable, Plain()));
}
TEST_F(ReportRender, WideMatchesGolden) { ExpectGolden("wide.txt", Render(report_, Format::kWide, Plain())); }
TEST_F(ReportRender, JsonMatchesGolden) {
  ExpectGolden("report.json", Render(report_, Format::kJson, Plain()));
}
TEST_F(ReportRender, YamlMatchesGolden) {
  ExpectGolden("report.yaml", Render(report_, Format::kYaml, Plain()));
}
TEST_F(ReportRender, SarifMatchesGolden) {
  ExpectGolden("report.sarif", Render(report_, Format::kSarif, Plain()));
}
TEST_F(ReportRender, JunitMatchesGolden) {
  ExpectGolden("junit.xml", Render(report_, Format::kJunit, Plain()));
}
TEST_F(ReportRender, PolicyReportMatchesGolden) {
  ExpectGolden("policyreport.yaml", Render(report_, Format::kPolicyReport, Plain()));
}
TEST_F(ReportRender, NoHeadersPrintsFindingRowsOnly) {
  RenderOptions o = Plain();
  o.headers = false;
  std::string out = Render(report_, Format::kTable, o);
  ExpectGolden("table-no-headers.txt", out);
  EXPECT_EQ(out.find("NAMESPACE"), std::string::npos);
  EXPECT_EQ(out.find("Compliance:"), std::string::npos);
}
TEST(RenderCluster, TableShowsPodsAndDrift) {
  RenderOptions o;
  ExpectGolden("cluster-wide.txt", Render(ClusterReport(), Format::kWide, o));
}
TEST(RenderCluster, JsonCarriesDrift) {
  std::string out = Render(ClusterReport(), Format::kJson, {});
  ExpectGolden("cluster.json", out);
  Json j = Json::parse(out);
  const auto& drift = j["resources"][0]["drift"];
  EXPECT_EQ(drift["drifted"], true);
  EXPECT_EQ(drift["changes"], 3);
  EXPECT_EQ(drift["events"], 2);
  EXPECT_EQ(drift["first"]["path"], "/usr/bin/curl");
  EXPECT_EQ(j["resources"][0]["pods"].size(), 2u);
  EXPECT_EQ(j["summary"]["driftedResources"], 1);
  EXPECT_EQ(j["warnings"][0], "cannot list cronjobs: forbidden");
}

TEST(RenderChecks, CatalogueTableAndJsonMatchGolden) {
  ExpectGolden("checks.txt", RenderCatalogue(CatalogueFormat::kTable, {}));
  std::string json = RenderCatalogue(CatalogueFormat::kJson, {});
  ExpectGolden("checks.json", json);
  Json j = Json::parse(json);
  EXPECT_EQ(j["checks"].size(), policy::Catalogue().size());
  EXPECT_EQ(j["checks"][0]["id"], policy::Catalogue()[0].id);
}

TEST(RenderChecks, MarkdownHasOneSectionPerCheck) {
  std::string md = RenderCatalogue(CatalogueFormat::kMarkdown, {});
  for (const auto& c : policy::Catalogue()) {
    EXPECT_NE(md.find("\n## " + std::string(c.id) + "\n"), std::string::npos) << c.id;
    EXPECT_NE(md.find(std::string(c.remediation)), std::string::npos) << c.id;
  }
  EXPECT_EQ(md.rfind("<!-- Generated by `invar checks -o markdown`", 0), 0u);
}

TEST_F(ReportRender, JsonFollowsTheVersionedSchema) {
  Json j = Json::parse(Render(report_, Format::kJson, Plain()));
  EXPECT_EQ(j["apiVersion"], "invar.dev/report/v1");
  EXPECT_EQ(j["kind"], "Report");
  Summary s = Summarize(report_);
  EXPECT_EQ(j["summary"]["findings"], s.findings);
  EXPECT_EQ(j["summary"]["exempted"], 1);
  EXPECT_EQ(j["summary"]["skipped"], 1);
  EXPECT_EQ(j["resources"].size(), report_.resources.size());
  int findings = 0, exempted = 0;
  for (const auto& r : j["resources"]) {
    EXPECT_TRUE(r.contains("apiVersion") && r.contains("kind") && r.contains("name") && r.contains("score"));
    for (const auto& f : r["findings"]) {
      EXPECT_NE(policy::FindCheck(f["check"].get<std::string>()), nullptr);
      EXPECT_FALSE(f["path"].get<std::string>().empty());
      (f["exempted"].get<bool>() ? exempted : findings)++;
      if (f["exempted"].get<bool>()) {
        EXPECT_NE(f["exemption"].get<std::string>().find("VND-1"), std::string::npos);
      }
    }
  }
  EXPECT_EQ(findings, s.findings);
  EXPECT_EQ(exempted, 1);
  EXPECT_EQ(j["execs"].size(), report_.execs.size());
}

// Converts a yaml-cpp node to JSON, resolving plain scalars the way a
// YAML 1.2 core-schema reader would.
Json YamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json j = Json::object();
      for (const auto& kv : n) j[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      Json j = Json::array();
      for (const auto& v : n) j.push_back(YamlToJson(v));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s == "true") return true;
      if (s == "false") return false;
      if (s == "null" || s == "~") return nullptr;
      char* end = nullptr;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && *end == '\0') return i;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == '\0') return d;
      return s;
    }
    default:
      return nullptr;
  }
}

TEST_F(ReportRender, YamlReadsBackAsTheJson) {
  Json from_json = Json::parse(Render(report_, Format::kJson, Plain()));
  Json from_yaml = YamlToJson(YAML::Load(Render(report_, Format::kYaml, Plain())));
  EXPECT_EQ(from_json, from_yaml);
}

TEST_F(ReportRender, SarifRulesResultsAndSuppressionsAreConsistent) {
  Json j = Json::parse(Render(report_, Format::kSarif, Plain()));
  EXPECT_EQ(j["version"], "2.1.0");
  EXPECT_EQ(j["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["name"], "invar");
  const auto& rules = run["tool"]["driver"]["rules"];
  EXPECT_EQ(rules.size(), policy::Catalogue().size() + 1);
  std::set<std::string> fingerprints;
  int suppressed = 0;
  for (const auto& res : run["results"]) {
    int idx = res["ruleIndex"];
    ASSERT_LT(idx, static_cast<int>(rules.size()));
    EXPECT_EQ(rules[idx]["id"], res["ruleId"]);
    for (const auto& r : rules) EXPECT_TRUE(r["properties"].contains("security-severity"));
    const auto& loc = res["locations"][0]["physicalLocation"];
    std::string uri = loc["artifactLocation"]["uri"];
    EXPECT_EQ(uri.rfind("tests/unit/report/fixtures/", 0), 0u) << uri;
    EXPECT_GE(loc["region"]["startLine"].get<int>(), 1);
    std::string fp = res["partialFingerprints"].begin().value();
    EXPECT_TRUE(fingerprints.insert(fp).second) << "duplicate fingerprint " << fp;
    if (res.contains("suppressions")) {
      ++suppressed;
      EXPECT_EQ(res["suppressions"][0]["kind"], "inSource");
    }
  }
  EXPECT_EQ(suppressed, 1);
  // The legacy Deployment starts at line 27 of workloads.yaml.
  bool found = false;
  for (const auto& res : run["results"]) {
    if (res["ruleId"] == "privileged") {
      found = true;
      EXPECT_EQ(res["locations"][0]["physicalLocation"]["region"]["startLine"], 27);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ReportRender, SarifMakesAbsolutePathsRelativeToTheBase) {
  Report r = report_;
  for (auto& res : r.resources) res.source.file = std::string(INVAR_SOURCE_DIR) + "/" + res.source.file;
  Json j = Json::parse(Render(r, Format::kSarif, Plain()));
  for (const auto& res : j["runs"][0]["results"]) {
    std::string uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    if (res["ruleId"] == std::string("shellAccessInImmutableNamespace")) continue;
    EXPECT_EQ(uri.rfind("tests/unit/report/", 0), 0u) << uri;
  }
  RenderOptions elsewhere = Plain();
  elsewhere.base_dir = "/nonexistent";
  j = Json::parse(Render(r, Format::kSarif, elsewhere));
  std::string uri = j["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
  EXPECT_EQ(uri.rfind("file:///", 0), 0u) << uri;
}

TEST_F(ReportRender, PolicyReportSummaryCountsItsResults) {
  std::string out = Render(report_, Format::kPolicyReport, Plain());
  auto docs = YAML::LoadAll(out);
  ASSERT_GE(docs.size(), 2u);
  int total_fail = 0, total_skip = 0;
  for (const auto& d : docs) {
    EXPECT_EQ(d["apiVersion"].as<std::string>(), "wgpolicyk8s.io/v1alpha2");
    EXPECT_EQ(d["kind"].as<std::string>(), "PolicyReport");
    std::map<std::string, int> counts;
    for (const auto& res : d["results"]) {
      std::string result = res["result"].as<std::string>();
      EXPECT_TRUE(result == "pass" || result == "fail" || result == "skip") << result;
      std::string sev = res["severity"].as<std::string>();
      EXPECT_TRUE(sev == "info" || sev == "low" || sev == "medium" || sev == "high" || sev == "critical")
          << sev;
      EXPECT_EQ(res["policy"].as<std::string>(), "invar");
      ++counts[result];
    }
    for (const char* k : {"pass", "fail", "skip"}) EXPECT_EQ(d["summary"][k].as<int>(), counts[k]) << k;
    total_fail += counts["fail"];
    total_skip += counts["skip"];
  }
  Summary s = Summarize(report_);
  int allowed_flagged = 0;
  for (const auto& e : report_.execs) allowed_flagged += (e.flagged && e.allowed) ? 1 : 0;
  EXPECT_EQ(total_fail, s.findings + allowed_flagged);
  EXPECT_EQ(total_skip, s.exempted);
}

TEST_F(ReportRender, JunitEscapesMarkupAndControlCharacters) {
  Report r = report_;
  ASSERT_FALSE(r.resources.empty());
  auto& res = r.resources[1];
  ASSERT_FALSE(res.findings.empty());
  res.findings[0].message = "bad <tag> & \"quote\" 'apos' \x01 bell";
  res.name = "we<ird>&name";
  std::string xml = Render(r, Format::kJunit, Plain());
  EXPECT_EQ(xml.find("<tag>"), std::string::npos);
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_NE(xml.find("bad &lt;tag&gt; &amp; &quot;quote&quot; &apos;apos&apos;"), std::string::npos);
  EXPECT_NE(xml.find("we&lt;ird&gt;&amp;name"), std::string::npos);
  // Every testsuite's counts add up to the root's.
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"invar\"", 0), 0u);
}

// Column starts of the header line and of a row are the same.
std::vector<size_t> ColumnStarts(const std::string& line) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != ' ' && (i == 0 || (i >= 3 && line.compare(i - 3, 3, "   ") == 0))) starts.push_back(i);
  }
  return starts;
}

TEST_F(ReportRender, TableColumnsAlignLikeKubectl) {
  std::string out = Render(report_, Format::kTable, Plain());
  std::istringstream in(out);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  auto hs = ColumnStarts(header);
  ASSERT_EQ(hs.size(), 6u) << header;
  for (size_t i = 1; i < hs.size(); ++i) {
    EXPECT_EQ(row[hs[i] - 1], ' ') << "column " << i << " of: " << row;
    EXPECT_NE(row[hs[i]], ' ') << "column " << i << " of: " << row;
  }
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
}

TEST_F(ReportRender, ColourDoesNotShiftColumns) {
  RenderOptions colour = Plain();
  colour.color = true;
  std::string coloured = Render(report_, Format::kTable, colour);
  EXPECT_NE(coloured.find("\x1b[31m"), std::string::npos);
  // Stripping the escape sequences gives the plain output.
  std::string stripped;
  for (size_t i = 0; i < coloured.size(); ++i) {
    if (coloured[i] == '\x1b') {
      while (i < coloured.size() && coloured[i] != 'm') ++i;
      continue;
    }
    stripped.push_back(coloured[i]);
  }
  EXPECT_EQ(stripped, Render(report_, Format::kTable, Plain()));
}

TEST_F(ReportRender, HostileTextCannotBreakTheTable) {
  Report r = report_;
  r.resources[1].findings[0].message = "line1\nline2\x1b[2J\ttab";
  std::string out = Render(r, Format::kTable, Plain());
  EXPECT_EQ(out.find("\x1b"), std::string::npos);
  EXPECT_NE(out.find("line1 line2 [2J tab"), std::string::npos);
}

TEST(ExitCode, CompliantIsZero) {
  Report r;
  EXPECT_EQ(ExitCode(r, policy::Severity::kLow), kExitCompliant);
}

TEST(ExitCode, FindingsAtOrAboveFailOnAreOne) {
  testing::ChdirToSourceRoot();
  Report r = FixtureReport();
  r.execs.clear();
  EXPECT_EQ(ExitCode(r, policy::Severity::kLow), kExitFindings);
  EXPECT_EQ(ExitCode(r, policy::Severity::kCritical), kExitFindings);  // privileged is CRITICAL
  // Drop the CRITICAL finding: fail-on critical now passes.
  for (auto& res : r.resources) {
    std::erase_if(res.findings,
                  [](const policy::Finding& f) { return f.check->severity == policy::Severity::kCritical; });
  }
  EXPECT_EQ(ExitCode(r, policy::Severity::kCritical), kExitCompliant);
  EXPECT_EQ(ExitCode(r, policy::Severity::kHigh), kExitFindings);
}

TEST(ExitCode, ExemptedFindingsDoNotFail) {
  testing::ChdirToSourceRoot();
  Report r = FixtureReport();
  r.execs.clear();
  for (auto& res : r.resources) {
    for (auto& f : res.findings) {
      f.exempted = true;
      f.exemption = "test";
    }
  }
  EXPECT_EQ(ExitCode(r, policy::Severity::kInfo), kExitCompliant);
}

TEST(ExitCode, InputErrorsWinOverFindings) {
  testing::ChdirToSourceRoot();
  Report r = FixtureReport();
  r.errors.push_back(InputError{"x.yaml", 3, "bad"});
  EXPECT_EQ(ExitCode(r, policy::Severity::kLow), kExitUsageOrInput);
}

TEST(ExitCode, FlaggedAllowedExecIsAHighFinding) {
  Report r;
  ExecEntry e;
  e.flagged = true;
  e.allowed = true;
  r.execs.push_back(e);
  EXPECT_EQ(ExitCode(r, policy::Severity::kHigh), kExitFindings);
  EXPECT_EQ(ExitCode(r, policy::Severity::kCritical), kExitCompliant);
  r.execs[0].allowed = false;  // denied: recorded as INFO
  EXPECT_EQ(ExitCode(r, policy::Severity::kLow), kExitCompliant);
  EXPECT_EQ(ExitCode(r, policy::Severity::kInfo), kExitFindings);
}

TEST(Score, PassedOverApplicable) {
  ResourceResult r;
  static const policy::CheckInfo a{"a", "A", policy::Level::kBaseline, policy::Severity::kLow, 0, true,
                                   "",  ""};
  static const policy::CheckInfo b{"b", "B", policy::Level::kBaseline, policy::Severity::kLow, 0, true,
                                   "",  ""};
  static const policy::CheckInfo c{"c", "C", policy::Level::kBaseline, policy::Severity::kLow, 0, true,
                                   "",  ""};
  r.applicable = {&a, &b, &c};
  EXPECT_EQ(r.Score(), 100.0);
  r.findings.push_back(policy::Finding{&a, "p", "x", "m", false, ""});
  r.findings.push_back(policy::Finding{&a, "p2", "y", "m", false, ""});   // same check twice counts once
  r.findings.push_back(policy::Finding{&b, "p", "x", "m", true, "why"});  // exempted: passes
  EXPECT_EQ(r.FailedChecks(), 1);
  EXPECT_EQ(r.PassedChecks(), 2);
  EXPECT_EQ(r.Score(), 66.7);
  ResourceResult none;
  EXPECT_EQ(none.Score(), 100.0);
}

TEST(Names, KubectlStyleResourceNames) {
  EXPECT_EQ(KubectlResourceName("Deployment", "apps/v1"), "deployment.apps");
  EXPECT_EQ(KubectlResourceName("Pod", "v1"), "pod");
  EXPECT_EQ(KubectlResourceName("CronJob", "batch/v1"), "cronjob.batch");
}

TEST(Formats, ParseKnownAndRejectUnknown) {
  Format f;
  for (std::string_view name : {"table", "wide", "json", "yaml", "sarif", "junit", "policyreport"}) {
    ASSERT_TRUE(ParseFormat(name, &f)) << name;
    EXPECT_EQ(FormatName(f), name);
  }
  EXPECT_FALSE(ParseFormat("xml", &f));
  EXPECT_FALSE(ParseFormat("", &f));
  CatalogueFormat cf;
  EXPECT_TRUE(ParseCatalogueFormat("markdown", &cf));
  EXPECT_FALSE(ParseCatalogueFormat("sarif", &cf));
}

}  // namespace
}  // namespace invar::report

namespace invar::report {
namespace {

TEST(Applicable, ChecksNewerThanThePssVersionDoNotCount) {
  policy::Workload w;
  w.api_version = "v1";
  w.kind = "Pod";
  w.metadata.name = "p";
  w.spec_path = "spec";
  auto latest = policy::BuiltinProfile("restricted");
  auto old = policy::BuiltinProfile("restricted", policy::PssVersion::V1(10));
  ASSERT_TRUE(latest.ok() && old.ok());
  auto a = EvaluateWorkload(w, *latest, "--profile");
  auto b = EvaluateWorkload(w, *old, "--profile");
  // 19 PSS checks, minus the 4 baseline ones their restricted revisions
  // replace at latest (hostPathVolumes, seccompProfile_baseline,
  // capabilities_baseline, procMount): PSA does not run those.
  EXPECT_EQ(a.applicable.size(), 15u);
  for (const auto* c : b.applicable) EXPECT_LE(c->since_minor, 10) << c->id;
  EXPECT_LT(b.applicable.size(), a.applicable.size());
}

}  // namespace
}  // namespace invar::report
