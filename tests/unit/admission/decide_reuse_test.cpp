// SPDX-License-Identifier: Apache-2.0
// The webhook's per-worker reuse of decoded objects and verdicts: a
// ReviewRequest decoded again and again keeps its Workload's storage
// (DecodedWorkload), a Decision keeps its verdicts (Decision::scratch), and
// neither may change a result -- every review, in any order after any other,
// decodes and decides exactly as into fresh storage. Also the bounds that
// release the storage of one huge review.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "invar/admission/config.h"
#include "invar/admission/decide.h"
#include "invar/admission/namespace_source.h"
#include "invar/admission/review.h"

namespace invar::admission {
namespace {

using nlohmann::ordered_json;

std::string Padded(const std::string& s) {
  std::string p = s;
  p.reserve(s.size() + kReviewPadding);
  return p;
}

// An AdmissionReview of `object` (CREATE unless `operation` says otherwise).
std::string Review(const ordered_json& object, const std::string& ns,
                   const std::string& operation = "CREATE") {
  ordered_json r = {{"apiVersion", "admission.k8s.io/v1"},
                    {"kind", "AdmissionReview"},
                    {"request",
                     {{"uid", "u-" + ns},
                      {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                      {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
                      {"namespace", ns},
                      {"operation", operation},
                      {"userInfo", {{"username", "alice"}}},
                      {"object", object}}}};
  if (operation == "UPDATE") r["request"]["oldObject"] = object;
  return Padded(r.dump());
}

ordered_json Container(int i, bool hardened, int caps) {
  ordered_json c = {{"name", "container-with-a-long-name-" + std::to_string(i)},
                    {"image", hardened ? "registry.example.com/app@sha256:" + std::string(64, 'b')
                                       : "registry.example.com/app:latest-and-a-long-tag"}};
  if (hardened) {
    ordered_json drop = ordered_json::array();
    for (int k = 0; k < caps; ++k) drop.push_back(k == 0 ? "ALL" : "CAPABILITY_NUMBER_" + std::to_string(k));
    c["securityContext"] = {{"allowPrivilegeEscalation", false},
                            {"readOnlyRootFilesystem", true},
                            {"runAsNonRoot", true},
                            {"capabilities", {{"drop", drop}}},
                            {"seccompProfile", {{"type", "RuntimeDefault"}}}};
  }
  return c;
}

ordered_json Pod(int containers, int hardened_every, int labels, int volumes) {
  ordered_json l = ordered_json::object();
  for (int i = 0; i < labels; ++i)
    l["label-key-number-" + std::to_string(i)] = "a-label-value-longer-than-sso";
  ordered_json cs = ordered_json::array();
  for (int i = 0; i < containers; ++i) {
    cs.push_back(Container(i, hardened_every > 0 && i % hardened_every == 0, 1 + i % 3));
  }
  ordered_json vs = ordered_json::array();
  for (int i = 0; i < volumes; ++i) {
    vs.push_back({{"name", "volume-number-" + std::to_string(i)}, {"hostPath", {{"path", "/var/lib/x"}}}});
  }
  ordered_json spec = {{"containers", cs}};
  if (volumes > 0) spec["volumes"] = vs;
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "pod-with-a-name-longer-than-sso"}, {"namespace", "ns"}, {"labels", l}}},
          {"spec", spec}};
}

std::vector<std::string> Bodies() {
  std::vector<std::string> bodies;
  for (const std::string ns : {"prod", "dev", "audit", "same", "none"}) {
    bodies.push_back(Review(Pod(1, 1, 0, 0), ns));
    bodies.push_back(Review(Pod(4, 2, 6, 3), ns));
    bodies.push_back(Review(Pod(2, 0, 2, 1), ns));
    bodies.push_back(Review(Pod(6, 3, 9, 5), ns));
  }
  // An object the decoder rejects, a kind without a pod spec, an UPDATE
  // (decided from the raw object later), and a pod without containers.
  ordered_json bad = Pod(2, 1, 1, 1);
  bad["spec"]["containers"][1]["securityContext"] = {{"privileged", "yes"}};
  bodies.push_back(Review(bad, "prod"));
  bodies.push_back(Review(bad, "dev"));
  ordered_json service = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", "s"}}}};
  bodies.push_back(Review(service, "prod"));
  bodies.push_back(Review(Pod(3, 2, 2, 2), "prod", "UPDATE"));
  bodies.push_back(Review(Pod(0, 0, 0, 0), "prod"));
  return bodies;
}

Config TestConfig() {
  auto cfg = ParseConfig(R"(
namespaces:
  prod: {invar.dev/enforce: immutable}
  dev: {invar.dev/warn: restricted, invar.dev/audit: immutable}
  audit: {invar.dev/audit: baseline}
  same: {invar.dev/enforce: restricted, invar.dev/warn: restricted, invar.dev/audit: immutable}
)");
  EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
  return cfg.ok() ? std::move(*cfg) : Config();
}

void ExpectSameRequest(const ReviewRequest& got, const ReviewRequest& want, const std::string& context) {
  ASSERT_EQ(got.workload.has_value(), want.workload.has_value()) << context;
  if (!want.workload) return;
  ASSERT_EQ(got.workload->ok(), want.workload->ok()) << context;
  if (want.workload->ok()) {
    EXPECT_TRUE(**got.workload == **want.workload) << context;
  } else {
    EXPECT_EQ(got.workload->status().ToString(), want.workload->status().ToString()) << context;
  }
}

TEST(DecodedWorkload, EveryPairOfReviewsDecodesAsIntoAFreshRequest) {
  const std::vector<std::string> bodies = Bodies();
  size_t decoded = 0;
  for (size_t b = 0; b < bodies.size(); ++b) {
    for (size_t a = 0; a < bodies.size(); ++a) {
      ReviewRequest reused;
      ASSERT_TRUE(DecodeReviewInto(bodies[b], {}, bodies[b].capacity(), reused).ok());
      ASSERT_TRUE(DecodeReviewInto(bodies[a], {}, bodies[a].capacity(), reused).ok());
      auto fresh = DecodeReview(bodies[a], {}, bodies[a].capacity());
      ASSERT_TRUE(fresh.ok());
      ExpectSameRequest(reused, *fresh, std::to_string(b) + " then " + std::to_string(a));
      if (::testing::Test::HasFailure()) return;
      decoded += fresh->workload && fresh->workload->ok() ? 1 : 0;
    }
  }
  EXPECT_GT(decoded, bodies.size() * bodies.size() / 2);
}

TEST(DecodedWorkload, ResetKeepsAUsualWorkloadsStorageAndReleasesAHugeOne) {
  ReviewRequest r;
  std::string usual = Review(Pod(4, 2, 6, 3), "prod");
  ASSERT_TRUE(DecodeReviewInto(usual, {}, usual.capacity(), r).ok());
  ASSERT_TRUE(r.workload && r.workload->ok());
  const size_t containers = (*r.workload)->spec.containers.capacity();
  ASSERT_GE(containers, 4u);
  ResetForReuse(r);
  EXPECT_FALSE(r.workload.has_value());
  std::string small = Review(Pod(1, 1, 0, 0), "prod");
  ASSERT_TRUE(DecodeReviewInto(small, {}, small.capacity(), r).ok());
  EXPECT_EQ((*r.workload)->spec.containers.capacity(), containers);  // kept, not reallocated

  std::string huge = Review(Pod(100, 2, 0, 0), "prod");
  ASSERT_TRUE(DecodeReviewInto(huge, {}, huge.capacity(), r).ok());
  ASSERT_EQ((*r.workload)->spec.containers.size(), 100u);
  ResetForReuse(r);
  ASSERT_TRUE(DecodeReviewInto(small, {}, small.capacity(), r).ok());
  EXPECT_LT((*r.workload)->spec.containers.capacity(), 100u);  // released with the huge review

  ordered_json annotated = Pod(1, 1, 0, 0);
  annotated["metadata"]["annotations"] = {
      {"kubectl.kubernetes.io/last-applied-configuration", std::string(100000, 'x')}};
  std::string big = Review(annotated, "prod");
  ASSERT_TRUE(DecodeReviewInto(big, {}, big.capacity(), r).ok());
  ResetForReuse(r);
  ASSERT_TRUE(DecodeReviewInto(small, {}, small.capacity(), r).ok());
  EXPECT_TRUE((*r.workload)->metadata.annotations.empty());
  EXPECT_TRUE(**r.workload == **DecodeReview(small, {}, small.capacity())->workload);
}

void ExpectSameDecision(const Decision& got, const Decision& want, const std::string& context) {
  EXPECT_EQ(EncodeReview(got.response), EncodeReview(want.response)) << context;
  EXPECT_EQ(got.info.kind, want.info.kind) << context;
  EXPECT_EQ(got.info.decision, want.info.decision) << context;
  EXPECT_EQ(got.info.mode, want.info.mode) << context;
  EXPECT_EQ(got.info.profile, want.info.profile) << context;
}

TEST(Decide, EveryPairOfReviewsDecidesIntoReusedStorageAsFresh) {
  const Config cfg = TestConfig();
  FixedNamespaceSource ns;
  ns.Replace(cfg.namespace_labels);
  const std::vector<std::string> bodies = Bodies();
  std::set<std::string> seen;
  for (size_t b = 0; b < bodies.size(); ++b) {
    for (size_t a = 0; a < bodies.size(); ++a) {
      ReviewRequest request;
      Decision reused;
      ASSERT_TRUE(DecodeReviewInto(bodies[b], {}, bodies[b].capacity(), request).ok());
      DecideInto(request, cfg, ns, reused);
      ASSERT_TRUE(DecodeReviewInto(bodies[a], {}, bodies[a].capacity(), request).ok());
      DecideInto(request, cfg, ns, reused);
      auto fresh_request = DecodeReview(bodies[a], {}, bodies[a].capacity());
      ASSERT_TRUE(fresh_request.ok());
      const Decision fresh = Decide(*fresh_request, cfg, ns);
      ExpectSameDecision(reused, fresh, std::to_string(b) + " then " + std::to_string(a));
      if (::testing::Test::HasFailure()) return;
      seen.insert(fresh.info.decision + "/" + std::to_string(fresh.response.code) + "/" +
                  std::to_string(fresh.response.warnings.size()) + "/" +
                  std::to_string(fresh.response.audit_annotations.size()));
    }
  }
  // Denials, warnings, audits, allows, errors and unchanged UPDATEs all took part.
  for (const char* prefix :
       {"deny/403", "warn/0", "allow/0/0/1", "error/500", "unchanged/0", "error/0", "allow/0/0/0"}) {
    bool found = false;
    for (const auto& s : seen) found = found || s.rfind(prefix, 0) == 0;
    EXPECT_TRUE(found) << prefix << " in " << ::testing::PrintToString(seen);
  }
}

TEST(Decide, ReleasesTheVerdictsOfAHugeReviewAndStillDecidesTheSame) {
  const Config cfg = TestConfig();
  FixedNamespaceSource ns;
  ns.Replace(cfg.namespace_labels);
  std::string huge = Review(Pod(120, 0, 0, 0), "prod");  // 120 unhardened containers: > 256 findings
  std::string small = Review(Pod(2, 0, 0, 0), "prod");
  Decision d;
  auto huge_request = DecodeReview(huge, {}, huge.capacity());
  ASSERT_TRUE(huge_request.ok());
  DecideInto(*huge_request, cfg, ns, d);
  EXPECT_EQ(d.info.decision, "deny");
  EXPECT_GT(d.scratch.verdicts[0].findings.size(), 256u);
  auto small_request = DecodeReview(small, {}, small.capacity());
  ASSERT_TRUE(small_request.ok());
  DecideInto(*small_request, cfg, ns, d);
  EXPECT_LE(d.scratch.verdicts[0].findings.capacity(), 256u);
  ExpectSameDecision(d, Decide(*small_request, cfg, ns), "small after huge");
}

void ExpectSameModes(const NamespaceModes& got, const NamespaceModes& want, const std::string& context) {
  for (int i = 0; i < 3; ++i) {
    const ModeProfile& g = got.modes[i];
    const ModeProfile& w = want.modes[i];
    ASSERT_EQ(g.set, w.set) << context << " mode " << i;
    EXPECT_EQ(g.note, w.note) << context << " mode " << i;
    if (!w.set) continue;
    EXPECT_EQ(g.label, w.label) << context << " mode " << i;
    EXPECT_EQ(g.profile.name, w.profile.name) << context;
    EXPECT_EQ(g.profile.base, w.profile.base) << context;
    EXPECT_EQ(g.profile.version.ToString(), w.profile.version.ToString()) << context;
    EXPECT_EQ(g.profile.enabled, w.profile.enabled) << context;
    EXPECT_EQ(g.profile.disabled, w.profile.disabled) << context;
    EXPECT_EQ(g.profile.params, w.profile.params) << context;
    ASSERT_EQ(g.profile.exemptions.size(), w.profile.exemptions.size()) << context;
    for (size_t k = 0; k < w.profile.exemptions.size(); ++k) {
      EXPECT_EQ(g.profile.exemptions[k].checks, w.profile.exemptions[k].checks) << context;
      EXPECT_EQ(g.profile.exemptions[k].container_name, w.profile.exemptions[k].container_name) << context;
      EXPECT_EQ(g.profile.exemptions[k].image, w.profile.exemptions[k].image) << context;
      EXPECT_EQ(g.profile.exemptions[k].reason, w.profile.exemptions[k].reason) << context;
    }
  }
}

TEST(ResolveModesInto, EveryPairOfLabelSetsResolvesAsFresh) {
  auto cfg = ParseConfig(R"(
defaults:
  audit: baseline
profiles:
  - name: web
    base: immutable
    params:
      requireDigest: "false"
    exemptions:
      - checks: [runAsNonRoot, runAsUser]
        container: "legacy-*"
        reason: being migrated
  - name: strict-old
    base: restricted
    version: v1.24
    disable: [seccompProfile_restricted]
)");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto labels = [](std::initializer_list<std::pair<const char*, const char*>> kv) {
    policy::StringMap m;
    for (const auto& [k, v] : kv) m.Set(k, v);
    return m;
  };
  const std::vector<policy::StringMap> sets = {
      labels({}),
      labels({{"invar.dev/enforce", "immutable"}}),
      labels({{"invar.dev/enforce", "web"},
              {"invar.dev/warn", "restricted"},
              {"invar.dev/warn-version", "v1.25"}}),
      labels({{"invar.dev/enforce", "strict-old"}, {"invar.dev/audit", "web"}}),
      labels({{"invar.dev/enforce", "no-such-profile"}, {"invar.dev/enforce-version", "v1.30"}}),
      labels({{"invar.dev/warn", "baseline"}, {"invar.dev/warn-version", "not-a-version"}}),
      labels({{"invar.dev/enforce", ""}, {"invar.dev/audit", "privileged"}}),
      labels({{"invar.dev/enforce", "strict-old"}, {"invar.dev/enforce-version", "latest"}}),
  };
  for (size_t b = 0; b < sets.size(); ++b) {
    for (size_t a = 0; a < sets.size(); ++a) {
      NamespaceModes reused;
      ResolveModesInto(sets[b], *cfg, &reused);
      ResolveModesInto(sets[a], *cfg, &reused);
      ExpectSameModes(reused, ResolveModes(sets[a], *cfg), std::to_string(b) + " then " + std::to_string(a));
      if (::testing::Test::HasFailure()) return;
    }
  }
  // The cases above are what they claim to be.
  const NamespaceModes web = ResolveModes(sets[2], *cfg);
  EXPECT_EQ(web.modes[0].profile.name, "web");
  EXPECT_FALSE(web.modes[0].profile.exemptions.empty());
  EXPECT_EQ(web.modes[1].label, "restricted:v1.25");
  EXPECT_EQ(web.modes[2].profile.name, "baseline");  // the config default
  EXPECT_FALSE(ResolveModes(sets[4], *cfg).modes[0].note.empty());
  EXPECT_EQ(ResolveModes(sets[4], *cfg).modes[0].label, "immutable:v1.30");
  EXPECT_FALSE(ResolveModes(sets[5], *cfg).modes[1].note.empty());
  EXPECT_EQ(ResolveModes(sets[3], *cfg).modes[0].label, "strict-old:v1.24");
}

}  // namespace
}  // namespace invar::admission
