// SPDX-License-Identifier: Apache-2.0
// Profiles: built-ins, which checks each runs, ProfileSet, the `profiles:`
// config parser (every error reported with its line), GlobMatch, the
// catalogue and PSS version parsing.
#include "invar/policy/profile.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "invar/policy/checks.h"
#include "invar/policy/evaluate.h"
#include "workload_builder.h"

namespace invar::policy {
namespace {

std::set<std::string> RunningChecks(const Profile& p) {
  std::set<std::string> ids;
  for (const auto& c : Catalogue()) {
    if (p.Runs(c)) ids.insert(std::string(c.id));
  }
  return ids;
}

TEST(Catalogue, HasStableIdsInLevelOrderWithCompleteText) {
  auto cat = Catalogue();
  ASSERT_EQ(cat.size(), 22u);
  std::set<std::string_view> ids;
  int pss = 0;
  Level last = Level::kBaseline;
  for (const auto& c : cat) {
    EXPECT_TRUE(ids.insert(c.id).second) << c.id;
    EXPECT_FALSE(c.title.empty()) << c.id;
    EXPECT_FALSE(c.rationale.empty()) << c.id;
    EXPECT_FALSE(c.remediation.empty()) << c.id;
    EXPECT_GE(c.level, last) << c.id << " is out of level order";
    last = c.level;
    EXPECT_EQ(FindCheck(c.id), &c);
    pss += c.pss ? 1 : 0;
    EXPECT_EQ(c.pss, c.level != Level::kImmutable) << c.id;
  }
  EXPECT_EQ(pss, 19);
  EXPECT_EQ(FindCheck("nope"), nullptr);
  EXPECT_EQ(cat[0].id, "hostNamespaces");
  EXPECT_EQ(cat[18].id, "procMount_restricted");
  EXPECT_EQ(cat[19].id, "readOnlyRootFilesystem");
  EXPECT_EQ(FindCheck("privileged")->severity, Severity::kCritical);
  EXPECT_EQ(FindCheck("hostPathVolumes")->severity, Severity::kCritical);
  EXPECT_EQ(FindCheck("hostNamespaces")->severity, Severity::kHigh);
  EXPECT_EQ(FindCheck("runAsUser")->since_minor, 23);
  EXPECT_EQ(FindCheck("allowPrivilegeEscalation")->since_minor, 8);
  EXPECT_EQ(FindCheck("hostProbesAndHostLifecycle")->since_minor, 34);
}

TEST(Catalogue, SeverityAndLevelNamesRoundTrip) {
  for (Severity s :
       {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    Severity out = Severity::kInfo;
    ASSERT_TRUE(ParseSeverity(SeverityName(s), &out));
    EXPECT_EQ(out, s);
  }
  Severity out;
  EXPECT_TRUE(ParseSeverity("high", &out));
  EXPECT_EQ(out, Severity::kHigh);
  EXPECT_FALSE(ParseSeverity("severe", &out));
  EXPECT_EQ(LevelName(Level::kImmutable), "immutable");
}

TEST(PssVersionParsing, AcceptsWhatPsaAccepts) {
  PssVersion v;
  ASSERT_TRUE(ParsePssVersion("latest", &v));
  EXPECT_TRUE(v.latest);
  EXPECT_EQ(v.Effective(), 37);
  ASSERT_TRUE(ParsePssVersion("v1.0", &v));
  EXPECT_EQ(v.Effective(), 0);
  EXPECT_EQ(v.ToString(), "v1.0");
  ASSERT_TRUE(ParsePssVersion("v1.25", &v));
  EXPECT_EQ(v.Effective(), 25);
  ASSERT_TRUE(ParsePssVersion("v1.99", &v));
  EXPECT_EQ(v.Effective(), 37) << "newer than invar knows clamps to the newest";
  EXPECT_EQ(v.ToString(), "v1.99");
  ASSERT_TRUE(ParsePssVersion("v1.99999999999999", &v)) << "fits PSA's 64-bit int";
  EXPECT_EQ(v.Effective(), 37);
  for (auto bad :
       {"", "1.25", "v2.0", "v1.", "v1.x", "v1.01", "v1.-1", "v1.2 ", "Latest", "v1.99999999999999999999"}) {
    EXPECT_FALSE(ParsePssVersion(bad, &v)) << bad;
  }
}

TEST(BuiltinProfiles, RunTheirLevels) {
  EXPECT_TRUE(RunningChecks(*BuiltinProfile("privileged")).empty());
  auto baseline = RunningChecks(*BuiltinProfile("baseline"));
  EXPECT_EQ(baseline.size(), 12u);
  EXPECT_TRUE(baseline.count("hostProbesAndHostLifecycle"));
  EXPECT_FALSE(baseline.count("runAsNonRoot"));
  auto restricted = RunningChecks(*BuiltinProfile("restricted"));
  EXPECT_EQ(restricted.size(), 19u);
  auto immutable = RunningChecks(*BuiltinProfile("immutable"));
  EXPECT_EQ(immutable.size(), 21u);
  EXPECT_TRUE(immutable.count("readOnlyRootFilesystem"));
  EXPECT_TRUE(immutable.count("imageDigest"));
  EXPECT_FALSE(immutable.count("imageTag"));
  EXPECT_EQ(BuiltinProfile("strict").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(BuiltinProfile("baseline", PssVersion::V1(20))->version, PssVersion::V1(20));
}

TEST(BuiltinProfiles, RequireDigestFalseSwapsImageDigestForImageTag) {
  Profile p = *BuiltinProfile("immutable");
  p.params["requireDigest"] = "false";
  auto ids = RunningChecks(p);
  EXPECT_FALSE(ids.count("imageDigest"));
  EXPECT_TRUE(ids.count("imageTag"));
}

TEST(BuiltinProfiles, EnableAndDisableOverrideTheLevel) {
  Profile p = *BuiltinProfile("baseline");
  p.enabled = {"readOnlyRootFilesystem", "imageTag"};
  p.disabled = {"hostPorts"};
  auto ids = RunningChecks(p);
  EXPECT_TRUE(ids.count("readOnlyRootFilesystem"));
  EXPECT_TRUE(ids.count("imageTag"));
  EXPECT_FALSE(ids.count("hostPorts"));
  EXPECT_FALSE(ids.count("imageDigest"));
}

TEST(BuiltinProfiles, DisablingARestrictedCheckBringsBackTheBaselineItOverrode) {
  Workload w = testing::WorkloadBuilder("Pod").Regular("app").With([](Container& c) {
    testing::Sc(c).allow_privilege_escalation = false;
    testing::Sc(c).run_as_non_root = true;
    testing::Sc(c).seccomp_profile = SeccompProfile{"RuntimeDefault", ""};
    testing::Caps(c).add = {"SYS_ADMIN"};
  });
  Profile p = *BuiltinProfile("restricted");
  EXPECT_EQ(Evaluate(w, p).FailedChecks(), std::vector<std::string_view>{"capabilities_restricted"});
  p.disabled = {"capabilities_restricted"};
  EXPECT_EQ(Evaluate(w, p).FailedChecks(), std::vector<std::string_view>{"capabilities_baseline"});
}

TEST(ProfileSetTest, HoldsBuiltinsAndCustomProfiles) {
  ProfileSet set;
  EXPECT_EQ(set.Names(), (std::vector<std::string>{"baseline", "immutable", "privileged", "restricted"}));
  Profile web = *BuiltinProfile("restricted");
  web.name = "web";
  web.version = PssVersion::V1(30);
  ASSERT_TRUE(set.Add(web).ok());
  EXPECT_EQ(set.Add(web).code(), Status::Code::kAlreadyExists);
  Profile bad = web;
  bad.name = "baseline";
  EXPECT_EQ(set.Add(bad).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(set.Get("web")->version, PssVersion::V1(30));
  EXPECT_EQ(set.Get("web", PssVersion::V1(22))->version, PssVersion::V1(22));
  EXPECT_EQ(set.Get("immutable")->version, PssVersion::Latest());
  EXPECT_EQ(set.Get("nope").status().code(), Status::Code::kNotFound);
}

TEST(ParseProfilesTest, ParsesTheDocumentedExample) {
  auto set = ParseProfiles(R"(
profiles:
  - name: web
    base: immutable
    version: v1.30
    disable: [imageDigest]
    enable: [imageTag]
    params: {requireDigest: "false"}
    exemptions:
      - checks: [runAsNonRoot]
        image: "registry.example.com/legacy/*"
        reason: "vendor image runs as root, ticket SEC-12"
  - name: web-strict
    base: web
    enable: [imageDigest]
    exemptions:
      - container: "istio-*"
        checks: ["*"]
        reason: mesh sidecar
)");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  Profile web = *set->Get("web");
  EXPECT_EQ(web.base, Level::kImmutable);
  EXPECT_EQ(web.version, PssVersion::V1(30));
  EXPECT_EQ(web.params.at("requireDigest"), "false");
  ASSERT_EQ(web.exemptions.size(), 1u);
  EXPECT_EQ(web.exemptions[0].image, "registry.example.com/legacy/*");
  EXPECT_EQ(web.exemptions[0].checks, std::vector<std::string>{"runAsNonRoot"});
  auto ids = RunningChecks(web);
  EXPECT_FALSE(ids.count("imageDigest"));
  EXPECT_TRUE(ids.count("imageTag"));
  // A custom base carries its settings; enable moves an id out of disable.
  Profile strict = *set->Get("web-strict");
  EXPECT_EQ(strict.version, PssVersion::V1(30));
  EXPECT_TRUE(RunningChecks(strict).count("imageDigest"));
  EXPECT_EQ(strict.exemptions.size(), 2u);
  EXPECT_EQ(strict.name, "web-strict");
}

TEST(ParseProfilesTest, EmptyOrProfileLessConfigGivesTheBuiltins) {
  for (auto text : {"", "webhook: {port: 8443}\n", "profiles:\n"}) {
    auto set = ParseProfiles(text);
    ASSERT_TRUE(set.ok()) << text << set.status().ToString();
    EXPECT_EQ(set->Names().size(), 4u);
  }
}

TEST(ParseProfilesTest, ReportsEveryErrorWithItsLine) {
  auto set = ParseProfiles(R"(profiles:
  - name: a
    base: strictest
    disable: [noSuchCheck, privileged]
  - name: baseline
  - name: b
    version: 1.30
    params: {requireDigest: maybe, colour: blue}
    exemptions:
      - checks: [alsoNotACheck]
        reason: x
      - image: "x/*"
    typo: 1
  - base: restricted
)");
  ASSERT_FALSE(set.ok());
  const std::string& msg = set.status().message();
  EXPECT_EQ(set.status().code(), Status::Code::kInvalidArgument);
  for (auto expected :
       {"line 3: unknown base profile \"strictest\"", "line 4: unknown check id \"noSuchCheck\"",
        "line 5: profile \"baseline\" is a built-in name", "line 7: bad version \"1.30\"",
        "line 8: requireDigest must be true or false", "line 8: unknown parameter \"colour\"",
        "line 10: unknown check id \"alsoNotACheck\"", "line 12: exemption needs a reason",
        "line 13: unknown profile field \"typo\"", "line 14: profile has no name"}) {
    EXPECT_NE(msg.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << msg;
  }
}

TEST(ParseProfilesTest, SyntaxErrorHasALine) {
  auto set = ParseProfiles("profiles:\n  - name: a\n    enable: [privileged\n  - name: b\n");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().message().rfind("line ", 0), 0u) << set.status().message();
}

TEST(ParseProfilesTest, WrongShapesAreErrorsNotCrashes) {
  for (auto text :
       {"[1, 2]", "profiles: 3", "profiles: [3]", "profiles:\n  - name: [a]\n",
        "profiles:\n  - name: a\n    enable: privileged\n",
        "profiles:\n  - name: a\n    exemptions: {checks: []}\n", "profiles:\n  - name: a\n  - name: a\n"}) {
    auto set = ParseProfiles(text);
    EXPECT_FALSE(set.ok()) << text;
    EXPECT_FALSE(set.status().message().empty());
  }
}

TEST(ParseProfilesTest, HostileInputIsAnErrorNotACrash) {
  const std::string deep_flow = "profiles: " + std::string(10000, '[') + std::string(10000, ']');
  std::string deep_block = "profiles:\n";
  for (int i = 0; i < 3000; ++i) deep_block += std::string(static_cast<size_t>(i) + 2, ' ') + "- \n";
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919) % 256);
  for (const std::string& text : {deep_flow, deep_block, garbage}) {
    auto set = ParseProfiles(text);
    EXPECT_FALSE(set.ok());
    EXPECT_FALSE(set.status().message().empty());
  }
  EXPECT_NE(ParseProfiles(deep_flow).status().message().find("nesting deeper than"), std::string::npos)
      << ParseProfiles(deep_flow).status().message();
}

TEST(Glob, MatchesShellStyle) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "registry/x/y:1"));
  EXPECT_TRUE(GlobMatch("registry.example.com/legacy/*", "registry.example.com/legacy/app:1"));
  EXPECT_FALSE(GlobMatch("registry.example.com/legacy/*", "registry.example.com/app:1"));
  EXPECT_TRUE(GlobMatch("istio-?roxy", "istio-proxy"));
  EXPECT_FALSE(GlobMatch("istio-?roxy", "istio-pproxy"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
  EXPECT_FALSE(GlobMatch("abc", "ab"));
  // Pathological pattern stays linear-ish and terminates.
  EXPECT_FALSE(GlobMatch(std::string(50, '*') + "b", std::string(10000, 'a')));
}

}  // namespace
}  // namespace invar::policy
