// SPDX-License-Identifier: Apache-2.0
// Unit tests of the webhook's pure parts: the AdmissionReview codec, config
// parsing, mode resolution, pod-spec change detection, warning truncation,
// and parity of the webhook's verdict with policy::Evaluate (the `invar
// report` path) over every manifest in examples/ and the test corpora.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "invar/admission/config.h"
#include "invar/admission/decide.h"
#include "invar/admission/review.h"
#include "invar/policy/decode.h"
#include "invar/policy/evaluate.h"
#include "invar/test_random.h"

namespace invar::admission {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string MinimalReview(const std::string& request_fields) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{)" + request_fields + "}}";
}

TEST(ReviewCodec, DecodesEveryFieldTheDecisionReads) {
  std::string body = MinimalReview(
      R"("uid":"u-1","kind":{"group":"apps","version":"v1","kind":"Deployment"},)"
      R"("resource":{"group":"apps","version":"v1","resource":"deployments"},"subResource":"",)"
      R"("requestKind":{"group":"apps","version":"v1","kind":"Deployment"},"name":"web","namespace":"prod",)"
      R"("operation":"UPDATE","userInfo":{"username":"alice","uid":"1","groups":["a","b"],"extra":{"x":["y"]}},)"
      R"("object":{"kind":"Deployment","spec":{}},"oldObject":{"kind":"Deployment"},"dryRun":true,"options":{})");
  auto r = DecodeReview(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, ReviewVersion::kV1);
  EXPECT_EQ(r->uid, "u-1");
  EXPECT_EQ(r->kind.kind, "Deployment");
  EXPECT_EQ(r->resource.group, "apps");
  EXPECT_EQ(r->resource.resource, "deployments");
  EXPECT_EQ(r->name, "web");
  EXPECT_EQ(r->namespace_, "prod");
  EXPECT_EQ(r->operation, "UPDATE");
  EXPECT_EQ(r->user.username, "alice");
  EXPECT_EQ(r->user.groups, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r->dry_run);
  EXPECT_EQ(r->object.json, R"({"kind":"Deployment","spec":{}})");
  EXPECT_EQ(r->old_object.json, R"({"kind":"Deployment"})");
  EXPECT_FALSE(r->workload.has_value());  // an UPDATE: Decide compares the specs first
  // The body had no padding: the views point into the request's own copy.
  ASSERT_NE(r->storage, nullptr);
  EXPECT_GE(r->object.json.data(), r->storage->data());
  EXPECT_LE(r->object.json.data() + r->object.readable, r->storage->data() + r->storage->capacity());
  EXPECT_GE(r->object.readable, r->object.json.size() + kReviewPadding);
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string PaddedCopy(const std::string& s) {
  std::string out;
  out.reserve(s.size() + kReviewPadding);
  out = s;
  return out;
}

std::string BenchReview() { return PaddedCopy(ReadFile(fs::path(INVAR_SOURCE_DIR) / "tests/data/review-5k.json")); }

TEST(ReviewCodec, DecodesACreatesObjectInTheReviewsOwnPass) {
  std::string body = BenchReview();
  auto r = DecodeReview(body, {}, body.capacity());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->storage, nullptr);  // padded body: parsed in place, nothing copied
  ASSERT_TRUE(r->workload.has_value());
  ASSERT_TRUE(r->workload->ok()) << r->workload->status().ToString();
  EXPECT_EQ((*r->workload)->kind, "Pod");
  EXPECT_EQ((*r->workload)->spec.containers.size(), 2u);
  EXPECT_TRUE(r->object.empty());  // no raw view needed
  // Without the single pass the raw view of the object is kept instead, a
  // view into the caller's body.
  ReviewLimits later;
  later.decode_workload = false;
  auto raw = DecodeReview(body, later, body.capacity());
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->workload.has_value());
  ASSERT_FALSE(raw->object.empty());
  EXPECT_EQ(raw->object.json.front(), '{');
  EXPECT_GE(raw->object.json.data(), body.data());
  EXPECT_EQ(raw->object.json.data() + raw->object.readable, body.data() + body.capacity());
}

TEST(ReviewCodec, KeepsTheObjectRawWhenOperationFollowsIt) {
  // Key order is free in JSON: an object seen before the operation is decoded later, by Decide.
  std::string body = MinimalReview(
      R"("uid":"u","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[]}},)"
      R"("operation":"CREATE","resource":{"resource":"pods"})");
  auto r = DecodeReview(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->workload.has_value());
  EXPECT_EQ(r->object.json.substr(0, 18), R"({"apiVersion":"v1")");
}

// Namespace labels with all three modes: enforce immutable, warn
// restricted, audit baseline.
policy::StringMap AllThreeModes() {
  policy::StringMap labels;
  labels.Set("invar.dev/enforce", "immutable");
  labels.Set("invar.dev/warn", "restricted");
  labels.Set("invar.dev/audit", "baseline");
  return labels;
}

// Both decode paths (the review's own pass, and Decide's later
// DecodeObjectJson) answer byte for byte alike, for allowed, denied and
// undecodable objects.
TEST(ReviewCodec, SinglePassAndLaterDecodeAnswerAlike) {
  auto cfg = ParseConfig("");
  ASSERT_TRUE(cfg.ok());
  FixedNamespaceSource ns;
  const policy::StringMap labels = AllThreeModes();
  ns.Set("shop", labels);
  ns.Set("prod", labels);
  const std::string head = R"("uid":"u","kind":{"kind":"Pod"},"resource":{"resource":"pods"},"namespace":"prod",)"
                           R"("operation":"CREATE","object":)";
  std::vector<std::string> bodies = {
      BenchReview(),
      PaddedCopy(MinimalReview(head + R"({"kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c",)"
                                      R"("image":"i","securityContext":{"privileged":"yes"}}]}})")),
      PaddedCopy(MinimalReview(head + R"({"kind":"ConfigMap","metadata":{"name":"a"}})")),
      PaddedCopy(MinimalReview(head + R"({"kind":"Pod","metadata":{"name":"ok"},"spec":{"securityContext":)"
                                      R"({"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},)"
                                      R"("containers":[{"name":"c","image":"i@sha256:)" +
                                      std::string(64, 'a') +
                                      R"(","securityContext":{"readOnlyRootFilesystem":true,)"
                                      R"("allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}})")),
  };
  ReviewLimits later;
  later.decode_workload = false;
  bool saw_allow = false, saw_deny = false, saw_error = false;
  for (const auto& body : bodies) {
    auto once = DecodeReview(body, {}, body.capacity());
    auto twice = DecodeReview(body, later, body.capacity());
    ASSERT_TRUE(once.ok() && twice.ok()) << body;
    ASSERT_TRUE(once->workload.has_value()) << body;
    ASSERT_FALSE(twice->workload.has_value()) << body;
    Decision a = Decide(*once, *cfg, ns);
    Decision b = Decide(*twice, *cfg, ns);
    EXPECT_EQ(EncodeReview(a.response), EncodeReview(b.response)) << body;
    EXPECT_EQ(a.info.decision, b.info.decision) << body;
    saw_allow = saw_allow || a.response.allowed;
    saw_deny = saw_deny || a.response.code == 403;
    saw_error = saw_error || a.response.code == 500;
  }
  EXPECT_TRUE(saw_allow);
  EXPECT_TRUE(saw_deny);
  EXPECT_TRUE(saw_error);
}

// The server decides into one reused Decision per worker: after any earlier
// decision (a denial with its long message, warnings and audit annotations,
// an allow, an undecodable object, an exec) it equals a fresh Decide.
TEST(Decide, DecidingIntoAUsedDecisionEqualsAFreshDecide) {
  auto cfg = ParseConfig("");
  ASSERT_TRUE(cfg.ok());
  FixedNamespaceSource ns;
  ns.Set("prod", AllThreeModes());
  policy::StringMap warn_only;
  warn_only.Set("invar.dev/warn", "immutable");
  ns.Set("dev", warn_only);
  auto review = [](std::string_view ns_name, std::string_view rest) {
    return PaddedCopy(MinimalReview(std::string(R"("uid":"u-)") + std::string(ns_name) +
                                    R"(","kind":{"kind":"Pod"},"resource":{"resource":"pods"},"namespace":")" +
                                    std::string(ns_name) + "\"," + std::string(rest)));
  };
  const std::string bad_pod = R"("operation":"CREATE","object":{"kind":"Pod","metadata":{"name":"a"},"spec":)"
                              R"({"containers":[{"name":"c","image":"i"}]}})";
  std::vector<std::string> bodies = {
      BenchReview(),
      review("prod", bad_pod),
      review("dev", bad_pod),
      review("other", bad_pod),
      review("prod", R"("operation":"CREATE","object":{"kind":"Pod","metadata":{"name":"a"},"spec":{"containers":"x"}})"),
      review("prod", R"("operation":"CONNECT","subResource":"exec","name":"p",)"
                     R"("kind":{"kind":"PodExecOptions"},"object":{"kind":"PodExecOptions","command":["sh"]})"),
  };
  Decision reused;
  size_t compared = 0;
  std::set<std::string> decisions;
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t k = 0; k < bodies.size(); ++k) {
      const std::string& body = bodies[pass == 0 ? k : bodies.size() - 1 - k];
      auto r = DecodeReview(body, {}, body.capacity());
      ASSERT_TRUE(r.ok()) << r.status().ToString() << " " << body;
      Decision fresh = Decide(*r, *cfg, ns);
      DecideInto(*r, *cfg, ns, reused);
      EXPECT_EQ(EncodeReview(reused.response), EncodeReview(fresh.response)) << body;
      EXPECT_EQ(reused.info.kind, fresh.info.kind);
      EXPECT_EQ(reused.info.decision, fresh.info.decision);
      EXPECT_EQ(reused.info.mode, fresh.info.mode);
      EXPECT_EQ(reused.info.profile, fresh.info.profile);
      decisions.insert(fresh.info.decision + "/" + std::to_string(fresh.response.code));
      ++compared;
    }
  }
  EXPECT_EQ(compared, 2 * bodies.size());
  // Denials, errors, warnings and allows all took part.
  EXPECT_TRUE(decisions.count("deny/403")) << ::testing::PrintToString(decisions);
  EXPECT_TRUE(decisions.count("error/500")) << ::testing::PrintToString(decisions);
  EXPECT_TRUE(decisions.count("warn/0")) << ::testing::PrintToString(decisions);
  EXPECT_TRUE(decisions.count("allow/0")) << ::testing::PrintToString(decisions);
}

TEST(ReviewCodec, RejectsMalformedReviewsWithClearMessages) {
  struct Case {
    std::string body, expect;
  } cases[] = {
      {"", "empty body"},
      {"nul", "malformed JSON"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u")", "malformed JSON"},
      {R"({"apiVersion":"v1","kind":"AdmissionReview","request":{}})", "apiVersion: \"v1\" is not supported"},
      {R"({"kind":"AdmissionReview","request":{}})", "apiVersion: missing"},
      {R"({"apiVersion":"admission.k8s.io/v1","request":{}})", "kind: missing"},
      {MinimalReview(R"("uid":"u","operation":"DELETE")"), "request.resource.resource: missing"},
      {MinimalReview(R"("uid":"u","operation":"CREATE","resource":{"resource":"pods"},"object":null)"),
       "request.object: missing"},
      {MinimalReview(R"("uid":"u","operation":"CREATE","resource":{"resource":"pods"},"object":"x")"),
       "request.object: expected object"},
      {MinimalReview(R"("uid":"u","operation":"UPDATE","resource":{"resource":"pods"},"object":{})"),
       "request.oldObject: missing"},
      {MinimalReview(R"("uid":"u","userInfo":{"groups":"admins"})"), "request.userInfo.groups: expected array"},
      {MinimalReview(R"("uid":"u","operation":"DELETE","resource":{"resource":"pods"})") + " trailing",
       "malformed JSON"},
      {MinimalReview(R"("uid":"u","operation":"DELETE","resource":{"resource":"pods"})") + "}", "trailing content"},
  };
  for (const auto& c : cases) {
    auto r = DecodeReview(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.body;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << c.body << " -> " << r.status().message();
  }
}

TEST(ReviewCodec, BoundsSizeAndNesting) {
  ReviewLimits limits;
  limits.max_bytes = 100;
  auto big = DecodeReview(std::string(101, ' '), limits);
  EXPECT_EQ(big.status().code(), Status::Code::kResourceExhausted);
  std::string deep = MinimalReview(R"("uid":"u","operation":"DELETE","resource":{"resource":"pods"},"x":)" +
                                   std::string(5000, '[') + std::string(5000, ']'));
  auto r = DecodeReview(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nesting deeper than 128"), std::string::npos) << r.status().message();
  // Brackets inside strings do not count.
  std::string in_string = MinimalReview(R"("uid":"u","operation":"DELETE","resource":{"resource":"pods"},"x":")" +
                                        std::string(5000, '[') + "\"");
  EXPECT_TRUE(DecodeReview(in_string).ok()) << DecodeReview(in_string).status().ToString();
}

TEST(ReviewCodec, NestingBoundSeesThroughEscapedQuotes) {
  const std::string head = R"("uid":"u","operation":"DELETE","resource":{"resource":"pods"},)";
  // An escaped quote does not end the string: its brackets still do not count.
  std::string escaped = MinimalReview(head + R"("x":"\"\\\")" + std::string(300, '{') + R"(\\")");
  EXPECT_TRUE(DecodeReview(escaped).ok()) << DecodeReview(escaped).status().ToString();
  // A string ending in an escaped backslash does end: the brackets after it count.
  std::string deep = MinimalReview(head + R"("s":"a\\","x":)" + std::string(200, '[') + std::string(200, ']'));
  auto r = DecodeReview(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nesting deeper than 128"), std::string::npos) << r.status().message();
  // Exactly at the limit passes (the review object and request add two levels).
  std::string at_limit = MinimalReview(head + R"("x":)" + std::string(126, '[') + std::string(126, ']'));
  EXPECT_TRUE(DecodeReview(at_limit).ok()) << DecodeReview(at_limit).status().ToString();
  std::string over = MinimalReview(head + R"("x":)" + std::string(127, '[') + std::string(127, ']'));
  EXPECT_FALSE(DecodeReview(over).ok());
}

// The scan works on 64-byte blocks: strings, escapes and bracket runs that
// straddle a block boundary count the same at every alignment.
TEST(ReviewCodec, NestingBoundIsTheSameAtEveryBlockAlignment) {
  const std::string head = R"("uid":"u","operation":"DELETE","resource":{"resource":"pods"},)";
  for (size_t shift = 0; shift < 130; ++shift) {
    std::string pad = R"("p":")" + std::string(shift, 'a') + R"(",)";
    // Escaped quotes and backslash runs of both parities, brackets inside strings.
    std::string strings = R"("e":"\\",)" R"("f":"\"[[[{{{",)" R"("g":"\\\\\"]]]",)" R"("h":"\\\\",)";
    std::string at_limit = MinimalReview(head + pad + strings + R"("x":)" + std::string(126, '[') + std::string(126, ']'));
    std::string over = MinimalReview(head + pad + strings + R"("x":)" + std::string(127, '[') + std::string(127, ']'));
    std::string in_string = MinimalReview(head + pad + strings + R"("x":"\")" + std::string(300, '[') + R"(")");
    EXPECT_TRUE(DecodeReview(at_limit).ok()) << shift << ": " << DecodeReview(at_limit).status().ToString();
    auto r = DecodeReview(over);
    ASSERT_FALSE(r.ok()) << shift;
    EXPECT_NE(r.status().message().find("nesting deeper than 128"), std::string::npos) << shift;
    EXPECT_TRUE(DecodeReview(in_string).ok()) << shift << ": " << DecodeReview(in_string).status().ToString();
  }
}

// The AVX2, SSE2 and portable nesting scans agree on every input: random
// strings of brackets, quotes, backslashes and text (so strings open and
// close, escapes straddle 64-byte blocks), at bounds small enough to be hit.
TEST(ReviewCodec, NestingScansAgreeOnRandomBracketsQuotesAndEscapes) {
  test_support::XorShift64 next(0x9e3779b97f4a7c15ull);
  // Backslashes only inside strings, as in any JSON the parser would accept
  // (outside strings the scans may differ: the parser rejects such input).
  const char kOutside[] = {'{', '[', '}', ']', '"', 'a', ' ', '{', '['};
  const char kInside[] = {'{', '[', '}', ']', '"', '\\', 'a', '\\'};
  size_t deeper = 0;
  for (int round = 0; round < 20000; ++round) {
    const size_t len = next() % 300;
    std::string s;
    bool in_string = false;
    while (s.size() < len) {
      const char c = in_string ? kInside[next() % sizeof kInside] : kOutside[next() % sizeof kOutside];
      s += c;
      if (c == '"') in_string = !in_string;
      if (in_string && c == '\\') s += kInside[next() % sizeof kInside];  // escapes any character
    }
    const int max_depth = 1 + static_cast<int>(next() % 12);
    const bool portable = NestingDeeperThan(s, max_depth, NestingScan::kPortable);
    ASSERT_EQ(NestingDeeperThan(s, max_depth, NestingScan::kSse2), portable) << max_depth << " " << s;
    ASSERT_EQ(NestingDeeperThan(s, max_depth, NestingScan::kAvx2), portable) << max_depth << " " << s;
    ASSERT_EQ(NestingDeeperThan(s, max_depth), portable) << max_depth << " " << s;
    deeper += portable;
  }
  // Both verdicts occur often enough for the comparison to mean something.
  EXPECT_GT(deeper, 2000u);
  EXPECT_LT(deeper, 18000u);
}

// The nesting bound is checked by request.object's decode on the object's
// bytes and by the byte scan on the rest (or on the whole body when the
// object was not decoded that way). Whichever way, the verdict must be the
// whole-body scan's, at every bound, wherever the nesting is.
bool IsNestingError(const Status& s, int max_depth) {
  return !s.ok() && s.message() == "JSON nesting deeper than " + std::to_string(max_depth) + " levels";
}

// Decodes `body` both ways the server and tests call the codec (copied, and
// in place from a padded buffer) and returns the status, which must agree.
Status DecodeBothWays(const std::string& body, const ReviewLimits& limits) {
  auto copied = DecodeReview(body, limits);
  const std::string padded = PaddedCopy(body);
  ReviewRequest r;
  Status in_place = DecodeReviewInto(padded, limits, padded.capacity(), r);
  EXPECT_EQ(in_place.ToString(), copied.ok() ? Status::Ok().ToString() : copied.status().ToString()) << body;
  return in_place;
}

TEST(ReviewCodec, NestingVerdictOfTheBenchReviewIsTheWholeBodyScansAtEveryBound) {
  const std::string body = BenchReview();
  int needed = 0;
  while (NestingDeeperThan(body, needed, NestingScan::kPortable)) ++needed;
  ASSERT_GT(needed, 8);
  for (int max_depth = 0; max_depth <= needed + 2; ++max_depth) {
    ReviewLimits limits;
    limits.max_depth = max_depth;
    const Status s = DecodeBothWays(body, limits);
    EXPECT_EQ(IsNestingError(s, max_depth), max_depth < needed) << max_depth << ": " << s.ToString();
    if (max_depth >= needed) {
      EXPECT_TRUE(s.ok()) << max_depth << ": " << s.ToString();
    }
  }
  // At the exact bound the object is decoded in the review's pass (the walk
  // that checks its bytes), not left to the on-demand fallback's verdict.
  ReviewLimits exact;
  exact.max_depth = needed;
  auto r = DecodeReview(body, exact);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->workload.has_value());
  EXPECT_TRUE(r->workload->ok());
}

// A CREATE review with a slot for a nested value in each place the walks
// treat differently: before the object (a request field nobody reads,
// userInfo.extra), inside the object where the policy walk steps over it
// (metadata.managedFields, an unknown spec field), where it reads it
// (container args, which must be strings), after the object (oldObject,
// options), and at the top level after the request. Strings full of
// brackets, escaped quotes and backslashes stand right before and after
// every slot.
std::string CreateReviewWith(int slot, const std::string& value) {
  const std::string kStringsBefore = R"("sb":"\"[{\\",)";
  const std::string kStringsAfter = R"(,"sa":"}]\\\"")";
  std::string slots[8];
  for (int i = 0; i < 8; ++i)
    slots[i] = i == slot ? kStringsBefore + R"("x":)" + value + kStringsAfter : R"("x":0)";
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",)"
         R"("kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},)" +
         slots[0] + R"(,"operation":"CREATE","userInfo":{"username":"a","extra":{)" + slots[1] +
         R"(}},)"
         R"("object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"prod",)"
         R"("managedFields":[{)" +
         slots[2] + R"(}]},"spec":{)" + slots[3] + R"(,"containers":[{"name":"c","image":"i","args":["a",)" +
         (slot == 4 ? value : std::string("\"b\"")) + R"(]}]}},"oldObject":{)" + slots[5] +
         R"(},"options":{)" + slots[6] + R"(}},)" + slots[7] + "}";
}

// k nested arrays around a string of brackets and escapes.
std::string Nested(int k) { return std::string(k, '[') + R"("\"]}\\")" + std::string(k, ']'); }

TEST(ReviewCodec, NestingIsBoundedExactlyWhereverItIsInTheReview) {
  for (int slot = 0; slot < 8; ++slot) {
    // The deepest nesting the default bound (128) allows in this slot.
    int k = 0;
    while (!NestingDeeperThan(CreateReviewWith(slot, Nested(k + 1)), 128, NestingScan::kPortable)) ++k;
    ASSERT_GT(k, 100) << slot;
    const Status at_limit = DecodeBothWays(CreateReviewWith(slot, Nested(k)), {});
    EXPECT_TRUE(at_limit.ok()) << slot << ": " << at_limit.ToString();
    const Status over = DecodeBothWays(CreateReviewWith(slot, Nested(k + 1)), {});
    EXPECT_TRUE(IsNestingError(over, 128)) << slot << ": " << over.ToString();
    // Objects instead of arrays, and far past the bound.
    std::string objects;
    for (int i = 0; i <= k; ++i) objects += R"({"o":)";
    objects += "1" + std::string(static_cast<size_t>(k + 1), '}');
    EXPECT_TRUE(IsNestingError(DecodeBothWays(CreateReviewWith(slot, objects), {}), 128)) << slot;
    EXPECT_TRUE(IsNestingError(DecodeBothWays(CreateReviewWith(slot, Nested(5000)), {}), 128)) << slot;
  }
}

// As before the bound moved after the parse: a body nested too deep is
// rejected for that even when something else is wrong with it too.
TEST(ReviewCodec, TooDeepWinsOverEveryOtherError) {
  const std::string deep = Nested(200);
  const std::string head = R"("uid":"u","operation":"DELETE","resource":{"resource":"pods"},)";
  const std::vector<std::string> bodies = {
      MinimalReview(R"("operation":"DELETE","resource":{"resource":"pods"},"x":)" + deep),  // no uid
      R"({"apiVersion":"v1","kind":"AdmissionReview","request":{)" + head + R"("x":)" + deep + "}}",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{)" + head + R"("x":)" + deep + "}}",
      MinimalReview(head + R"("x":)" + deep) + " trailing",
      MinimalReview(head + R"("x":)" + deep) + "}",
      MinimalReview(head + R"("x":)" + deep).substr(0, 300),    // truncated inside the nesting
      MinimalReview(head + R"("x":)" + std::string(200, '[')),  // never closed
      MinimalReview(head + R"("x":)" + deep + R"(,"uid":7)"),   // a wrong type after it
      MinimalReview(R"("uid":"u","operation":"CREATE","resource":{"resource":"pods"},"x":)" +
                    deep),  // no object
      // Inside objects the policy walk cannot take: a kind without a pod
      // spec, a wrong type, malformed JSON after the nesting.
      MinimalReview(R"("uid":"u","operation":"CREATE","resource":{"resource":"configmaps"},)"
                    R"("object":{"kind":"ConfigMap","data":)" +
                    deep + "}"),
      MinimalReview(R"("uid":"u","operation":"CREATE","resource":{"resource":"pods"},)"
                    R"("object":{"kind":"Pod","spec":{"containers":)" +
                    deep + "}}"),
      MinimalReview(R"("uid":"u","operation":"CREATE","resource":{"resource":"pods"},)"
                    R"("object":{"kind":"Pod","spec":{"x":)" +
                    deep + R"(,"containers":[}})"),
      CreateReviewWith(2, deep).substr(0, 700),
  };
  for (const std::string& body : bodies) {
    const Status s = DecodeBothWays(body, {});
    EXPECT_TRUE(IsNestingError(s, 128)) << body.substr(0, 160) << " -> " << s.ToString();
  }
  // The same bodies within the bound keep their own errors (or pass).
  const Status shallow = DecodeBothWays(
      MinimalReview(R"("operation":"DELETE","resource":{"resource":"pods"},"x":)" + Nested(3)), {});
  EXPECT_EQ(shallow.message(), "request.uid: missing");
}

// Random values in random slots at small bounds: the decode's verdict is the
// whole-body scan's every time (both verdicts occur).
TEST(ReviewCodec, NestingVerdictEqualsTheWholeBodyScanOnRandomValues) {
  test_support::XorShift64 next(0x9e3779b97f4a7c15ull);
  const char* const kStrings[] = {R"("a")", R"("[{")", R"("\"]}")", R"("\\")", R"("x\\\"{[")", "7"};
  std::function<std::string(int)> value = [&](int depth) -> std::string {
    if (depth == 0 || next() % 6 == 0) return kStrings[next() % 6];
    const bool object = next() % 2;
    std::string s = object ? "{" : "[";
    const int n = 1 + static_cast<int>(next() % 3);
    for (int i = 0; i < n; ++i) {
      if (i) s += ",";
      if (object) s += "\"k\":";
      s += value(i == 0 ? depth - 1 : static_cast<int>(next() % static_cast<uint64_t>(depth)));
    }
    return s + (object ? "}" : "]");
  };
  int deeper = 0;
  const int kRounds = 1500;
  for (int round = 0; round < kRounds; ++round) {
    const int slot = static_cast<int>(next() % 8);
    const std::string body = CreateReviewWith(slot, value(static_cast<int>(next() % 12)));
    ReviewLimits limits;
    limits.max_depth = 4 + static_cast<int>(next() % 12);
    const bool expect = NestingDeeperThan(body, limits.max_depth, NestingScan::kPortable);
    const Status s = DecodeBothWays(body, limits);
    ASSERT_EQ(IsNestingError(s, limits.max_depth), expect)
        << limits.max_depth << " " << body << " -> " << s.ToString();
    if (!expect) {
      ASSERT_TRUE(s.ok()) << body << " -> " << s.ToString();
    }
    deeper += expect;
  }
  EXPECT_GT(deeper, kRounds / 5);
  EXPECT_LT(deeper, kRounds * 4 / 5);
}

TEST(ReviewCodec, EncodesTheResponseInTheVersionAsked) {
  ReviewResponse res;
  res.version = ReviewVersion::kV1beta1;
  res.uid = "u\"1";
  res.allowed = false;
  res.code = 403;
  res.reason = "Forbidden";
  res.message = "line1\nline2 \x01";
  res.warnings = {"w1"};
  res.audit_annotations = {{"audit-violations", "x"}};
  json j = json::parse(EncodeReview(res));
  EXPECT_EQ(j["apiVersion"], "admission.k8s.io/v1beta1");
  EXPECT_EQ(j["kind"], "AdmissionReview");
  EXPECT_EQ(j["response"]["uid"], "u\"1");
  EXPECT_EQ(j["response"]["allowed"], false);
  EXPECT_EQ(j["response"]["status"]["code"], 403);
  EXPECT_EQ(j["response"]["status"]["message"], "line1\nline2 \x01");
  EXPECT_EQ(j["response"]["warnings"], json::array({"w1"}));
  EXPECT_EQ(j["response"]["auditAnnotations"]["audit-violations"], "x");
  ReviewResponse allow;
  allow.uid = "u";
  allow.allowed = true;
  json a = json::parse(EncodeReview(allow));
  EXPECT_FALSE(a["response"].contains("status"));
}

// The server decodes every review into one reused ReviewRequest per thread:
// whatever the previous review left in it (a CREATE's decoded workload,
// groups, dryRun, a copied body, a failed decode) must not leak into the next.
TEST(ReviewCodec, DecodingIntoAUsedRequestEqualsAFreshDecode) {
  const std::string bench = BenchReview();
  const std::vector<std::string> bodies = {
      bench,
      MinimalReview(R"("uid":"d","operation":"DELETE","resource":{"resource":"pods"},"name":"x",)"
                    R"("userInfo":{"username":"bob","groups":["g1","g2","g3"]},"dryRun":true)"),
      MinimalReview(R"("uid":"bad","operation":"CREATE","resource":{"resource":"pods"},"object":[)"),  // malformed
      PaddedCopy(MinimalReview(R"("uid":"u","operation":"UPDATE","resource":{"resource":"pods"},)"
                               R"("object":{"kind":"Pod","metadata":{"name":"a"}},)"
                               R"("oldObject":{"kind":"Pod","metadata":{"name":"a"}})")),
      R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"c",)"
      R"("operation":"CONNECT","resource":{"resource":"pods"},"subResource":"exec","object":{"command":["sh"]}}})",
      bench,
  };
  ReviewRequest reused;
  for (size_t i = 0; i < bodies.size(); ++i) {
    const std::string& b = bodies[i];
    auto fresh = DecodeReview(b, {}, b.capacity());
    Status s = DecodeReviewInto(b, {}, b.capacity(), reused);
    ASSERT_EQ(s.ok(), fresh.ok()) << i;
    if (!s.ok()) {
      EXPECT_EQ(s.message(), fresh.status().message()) << i;
      continue;
    }
    const ReviewRequest& f = *fresh;
    EXPECT_EQ(reused.version, f.version) << i;
    EXPECT_EQ(reused.uid, f.uid) << i;
    EXPECT_EQ(reused.kind.group + "/" + reused.kind.version + "/" + reused.kind.kind,
              f.kind.group + "/" + f.kind.version + "/" + f.kind.kind) << i;
    EXPECT_EQ(reused.resource.group + "/" + reused.resource.version + "/" + reused.resource.resource,
              f.resource.group + "/" + f.resource.version + "/" + f.resource.resource) << i;
    EXPECT_EQ(reused.sub_resource, f.sub_resource) << i;
    EXPECT_EQ(reused.name, f.name) << i;
    EXPECT_EQ(reused.namespace_, f.namespace_) << i;
    EXPECT_EQ(reused.operation, f.operation) << i;
    EXPECT_EQ(reused.user.username, f.user.username) << i;
    EXPECT_EQ(reused.user.uid, f.user.uid) << i;
    EXPECT_EQ(reused.user.groups, f.user.groups) << i;
    EXPECT_EQ(reused.dry_run, f.dry_run) << i;
    EXPECT_EQ(reused.object.json, f.object.json) << i;
    EXPECT_EQ(reused.old_object.json, f.old_object.json) << i;
    EXPECT_EQ(reused.storage == nullptr, f.storage == nullptr) << i;
    ASSERT_EQ(reused.workload.has_value(), f.workload.has_value()) << i;
    if (f.workload) {
      ASSERT_EQ(reused.workload->ok(), f.workload->ok()) << i;
      if (f.workload->ok()) {
        EXPECT_TRUE(**reused.workload == **f.workload) << i;
      }
    }
  }
}

// The reply's 16-byte escaper writes exactly what the platform's escaper
// writes: every byte value (escapes, controls, UTF-8 bytes passed through) at
// every offset of a block and of the tail, runs of escapes across block ends,
// and lengths around the block size, appended after existing text.
TEST(ReviewCodec, ReplyEscaperMatchesThePlatformEscaperForEveryByteAndOffset) {
  auto check = [](const std::string& s) {
    std::string want = "prefix", got = "prefix";
    AppendJsonString(want, s);
    AppendJsonStringForReply(got, s);
    ASSERT_EQ(got, want) << "input of " << s.size() << " bytes";
  };
  for (int c = 0; c < 256; ++c) {
    for (size_t len = 1; len <= 48; ++len) {
      for (size_t at = 0; at < len; ++at) {
        std::string s(len, 'a');
        s[at] = static_cast<char>(c);
        check(s);
      }
    }
  }
  for (size_t len = 0; len <= 70; ++len) {
    check(std::string(len, '"'));
    check(std::string(len, '\n'));
    check(std::string(len, '\x01'));
    std::string mixed;
    for (size_t i = 0; i < len; ++i) mixed += "a\"\\\n\x1f\x7f\xc3\xa9"[i % 8];
    check(mixed);
  }
  // Around the size where the platform's escaper takes over.
  for (size_t len : {size_t{8191}, size_t{8192}, size_t{8193}, size_t{100000}}) {
    std::string big(len, 'x');
    for (size_t i = 0; i < len; i += 7) big[i] = '\n';
    check(big);
  }
  // A real denial: the message of a review with every finding.
  check("Pod \"web\" violates invar profile \"immutable:latest\" (2 findings):\n- readOnlyRootFilesystem:\n"
        "    spec.containers[1].securityContext: container \"sidecar\" does not set it\n\tfix: \\o/");
  // The encoded review still parses back to the same text.
  ReviewResponse res;
  res.uid = "u";
  res.message = std::string(1000, 'x') + "\"\n\x02" + std::string(33, '\\');
  res.warnings = {std::string(17, '"')};
  res.audit_annotations = {{"k", "\x1f" + std::string(15, 'v')}};
  json j = json::parse(EncodeReview(res));
  EXPECT_EQ(j["response"]["status"]["message"], res.message);
  EXPECT_EQ(j["response"]["warnings"][0], res.warnings[0]);
  EXPECT_EQ(j["response"]["auditAnnotations"]["k"], res.audit_annotations[0].second);
}

TEST(Config, ParsesDefaultsExemptionsBreakGlassAndNamespaces) {
  auto c = ParseConfig(R"(
defaults: {enforce: immutable, warn: restricted, version: v1.30, audit: ""}
exemptions: {namespaces: [kube-system], usernames: [bot], groups: [g], runtimeClassNames: [kata]}
breakGlass: {groups: [bg]}
namespaces:
  prod: {invar.dev/enforce: restricted}
agent: {driftAction: flag}
profiles:
  - name: web
    base: immutable
    disable: [imageDigest]
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->defaults[0].has_value());
  EXPECT_EQ(c->defaults[0]->profile, "immutable");
  EXPECT_EQ(c->defaults[0]->version->ToString(), "v1.30");
  EXPECT_EQ(c->defaults[1]->profile, "restricted");
  EXPECT_FALSE(c->defaults[2].has_value());
  EXPECT_EQ(c->exempt_runtime_classes, std::vector<std::string>{"kata"});
  EXPECT_EQ(c->break_glass_groups, std::vector<std::string>{"bg"});
  EXPECT_EQ(*c->namespace_labels.at("prod").Find("invar.dev/enforce"), "restricted");
  EXPECT_TRUE(c->profiles.Get("web").ok());
}

TEST(Config, ReportsEveryErrorWithItsLine) {
  auto c = ParseConfig("exemptions:\n  namespace: [x]\nbreakGlass:\n  groups: bg\ndefaults:\n  enforce: nope\n");
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("line 2: exemptions: unknown key \"namespace\""), std::string::npos) << m;
  EXPECT_NE(m.find("breakGlass.groups: expected a list"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown profile \"nope\""), std::string::npos) << m;
  EXPECT_FALSE(ParseConfig("[1, 2").ok());
  EXPECT_TRUE(ParseConfig("").ok());
}

TEST(Modes, LabelsOverrideDefaultsAndUnknownProfilesFailClosed) {
  auto c = ParseConfig("defaults: {enforce: baseline, warn: restricted}\n");
  ASSERT_TRUE(c.ok());
  policy::StringMap labels;
  labels.Set("invar.dev/enforce", "restricted");
  labels.Set("invar.dev/enforce-version", "v1.25");
  labels.Set("invar.dev/audit", "no-such-profile");
  NamespaceModes m = ResolveModes(labels, *c);
  ASSERT_TRUE(m.modes[0].set);
  EXPECT_EQ(m.modes[0].label, "restricted:v1.25");
  EXPECT_EQ(m.modes[1].label, "restricted:latest");  // from defaults
  ASSERT_TRUE(m.modes[2].set);
  EXPECT_EQ(m.modes[2].profile.name, "immutable");  // strictest built-in
  EXPECT_NE(m.modes[2].note.find("names no profile"), std::string::npos);
  // The note names where the setting came from.
  EXPECT_EQ(m.modes[2].note, "label invar.dev/audit=\"no-such-profile\" names no profile; using \"immutable\"");
  labels.Set("invar.dev/enforce-version", "v1.x");
  NamespaceModes bad_version = ResolveModes(labels, *c);
  EXPECT_EQ(bad_version.modes[0].label, "restricted:latest");
  EXPECT_EQ(bad_version.modes[0].note,
            "label invar.dev/enforce-version=\"v1.x\" is not a version (v1.N or latest); using latest");
  NamespaceModes none = ResolveModes({}, *ParseConfig(""));
  EXPECT_FALSE(none.modes[0].set || none.modes[1].set || none.modes[2].set);
}

std::string Padded(std::string s) { return PaddedCopy(s); }

RawJson Raw(const std::string& s) { return {s, s.capacity()}; }

TEST(PodSpecChange, ComparesOnlyThePodSpecSubtree) {
  std::string a = Padded(R"({"metadata":{"labels":{"a":"1"}},"spec":{"containers":[{"name":"x","image":"i"}]}})");
  std::string b = Padded(R"({"metadata":{"labels":{"a":"2"}},"spec": { "containers" : [ {"name":"x","image":"i"} ] }})");
  std::string c = Padded(R"({"metadata":{},"spec":{"containers":[{"name":"x","image":"j"}]}})");
  EXPECT_TRUE(PodSpecUnchanged(Raw(a), Raw(b), "spec"));
  EXPECT_FALSE(PodSpecUnchanged(Raw(a), Raw(c), "spec"));
  std::string d1 = Padded(R"({"spec":{"replicas":1,"template":{"spec":{"containers":[]}}}})");
  std::string d2 = Padded(R"({"spec":{"replicas":3,"template":{"spec":{"containers":[]}}}})");
  EXPECT_TRUE(PodSpecUnchanged(Raw(d1), Raw(d2), "spec.template.spec"));
  EXPECT_FALSE(PodSpecUnchanged(Raw(d1), Raw(d2), "spec"));
  EXPECT_FALSE(PodSpecUnchanged(Raw(d1), RawJson{}, "spec"));
  std::string bad = Padded("{bad");
  EXPECT_FALSE(PodSpecUnchanged(Raw(bad), Raw(d2), "spec"));
  // Views without padding after them (a caller's own strings) are copied, not overread.
  std::string tight_a = R"({"spec":{"x":1}})", tight_b = R"({"spec":{"x":1}})";
  EXPECT_TRUE(PodSpecUnchanged({tight_a, tight_a.size()}, {tight_b, tight_b.size()}, "spec"));
}

TEST(Warnings, TruncateOnUtf8Boundaries) {
  EXPECT_EQ(TruncateUtf8("short", 120), "short");
  std::string s(118, 'a');
  s += "\xc3\xa9\xc3\xa9";  // two 2-byte characters
  std::string t = TruncateUtf8(s, 120);
  EXPECT_LE(t.size(), 120u);
  EXPECT_EQ(t.substr(t.size() - 3), "...");
  EXPECT_NE(static_cast<unsigned char>(t[t.size() - 4]), 0xc3);
}

// ---- parity with policy::Evaluate over the corpora ----

json YamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = YamlToJson(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& x : n) a.push_back(YamlToJson(x));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      // YAML 1.1 booleans, as yaml-cpp (and so `invar report`) reads them.
      bool b = false;
      if (YAML::convert<bool>::decode(n, b)) return b;
      if (s == "null" || s == "~") return nullptr;
      try {
        size_t pos = 0;
        long long v = std::stoll(s, &pos);
        if (pos == s.size()) return v;
      } catch (...) {
      }
      return s;
    }
    default:
      return nullptr;
  }
}

void CollectObjects(const json& j, std::vector<json>* out) {
  if (!j.is_object()) return;
  if (j.contains("items") && j["items"].is_array() && j.value("kind", "").find("List") != std::string::npos) {
    for (const auto& i : j["items"]) CollectObjects(i, out);
    return;
  }
  if (j.contains("kind") && j["kind"].is_string() && policy::FindPodSpecLocation(j["kind"].get<std::string>())) {
    out->push_back(j);
  }
}

TEST(Parity, WebhookVerdictEqualsEvaluateOnEveryCorpusManifest) {
  std::vector<fs::path> files;
  for (const char* dir : {"examples", "tests"}) {
    fs::path root = fs::path(INVAR_SOURCE_DIR) / dir;
    if (!fs::exists(root)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      // Fuzz corpora are hostile bytes, not manifests (one of them makes
      // yaml-cpp's LoadAll loop forever, see decode_yaml.cpp).
      if (e.path().string().find("/fuzz/") != std::string::npos) continue;
      auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  size_t compared = 0, denied = 0;
  for (const char* profile_name : {"immutable", "restricted", "baseline"}) {
    auto cfg = ParseConfig("");
    ASSERT_TRUE(cfg.ok());
    FixedNamespaceSource ns;
    policy::StringMap labels;
    labels.Set("invar.dev/enforce", profile_name);
    ns.Set("parity", labels);
    auto profile = cfg->profiles.Get(profile_name);
    ASSERT_TRUE(profile.ok());
    for (const auto& file : files) {
      std::ifstream in(file);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string text = ss.str();
      // The report's path: the policy decoders on the file.
      policy::DecodeResult report = policy::Decode(text, file.string());
      // Deliberately malformed corpus files: the API server would never send them.
      if (!report.errors.empty()) continue;
      // The webhook's path: each object as the API server would send it.
      std::vector<json> objects;
      try {
        for (const auto& doc : YAML::LoadAll(text)) CollectObjects(YamlToJson(doc), &objects);
      } catch (const std::exception&) {
        continue;  // corpus files that are deliberately malformed
      }
      if (objects.size() != report.workloads.size()) continue;  // decoders disagree on what is an object: not our question
      for (size_t i = 0; i < objects.size(); ++i) {
        ReviewRequest r;
        r.uid = "parity";
        r.operation = "CREATE";
        r.namespace_ = "parity";
        std::string kind = objects[i]["kind"];
        r.kind.kind = kind;
        const policy::PodSpecLocation* loc = policy::FindPodSpecLocation(kind);
        ASSERT_NE(loc, nullptr);
        static const std::map<std::string, std::pair<std::string, std::string>> kResources = {
            {"Pod", {"", "pods"}},
            {"PodTemplate", {"", "podtemplates"}},
            {"ReplicationController", {"", "replicationcontrollers"}},
            {"ReplicaSet", {"apps", "replicasets"}},
            {"Deployment", {"apps", "deployments"}},
            {"StatefulSet", {"apps", "statefulsets"}},
            {"DaemonSet", {"apps", "daemonsets"}},
            {"Job", {"batch", "jobs"}},
            {"CronJob", {"batch", "cronjobs"}},
        };
        auto res = kResources.find(kind);
        if (res == kResources.end()) continue;
        r.resource.group = res->second.first;
        r.resource.resource = res->second.second;
        // As the API server sends it, through the review's own decode pass.
        // (nlohmann sorts keys, which would put the object before the operation.)
        std::string body = PaddedCopy(
            R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"parity",)"
            R"("kind":{"group":)" + json(r.resource.group).dump() + R"(,"version":"v1","kind":)" + json(kind).dump() +
            R"(},"resource":{"group":)" + json(r.resource.group).dump() + R"(,"version":"v1","resource":)" +
            json(r.resource.resource).dump() + R"(},"namespace":"parity","operation":"CREATE","object":)" +
            objects[i].dump() + "}}");
        auto decoded = DecodeReview(body, {}, body.capacity());
        ASSERT_TRUE(decoded.ok()) << file << ": " << decoded.status().ToString();
        ASSERT_TRUE(decoded->workload.has_value());
        Decision d = Decide(*decoded, *cfg, ns);
        // And through Decide's own decode of the raw object.
        std::string dumped = PaddedCopy(objects[i].dump());
        r.object = {dumped, dumped.capacity()};
        Decision later = Decide(r, *cfg, ns);
        EXPECT_EQ(EncodeReview(d.response), EncodeReview(later.response)) << file << " object " << i;
        policy::Verdict v = policy::Evaluate(report.workloads[i], *profile);
        EXPECT_EQ(d.response.allowed, v.Allowed())
            << file << " object " << i << " (" << kind << ") profile " << profile_name << ": "
            << d.response.message;
        for (auto id : v.FailedChecks()) {
          EXPECT_NE(d.response.message.find(std::string(id)), std::string::npos) << file << " " << id;
        }
        ++compared;
        denied += d.response.allowed ? 0 : 1;
      }
    }
  }
  std::printf("parity: %zu verdicts compared over %zu files, %zu denials\n", compared, files.size(), denied);
  EXPECT_GT(compared, 0u);
}

}  // namespace
}  // namespace invar::admission
