// SPDX-License-Identifier: Apache-2.0
// Decoding and evaluating into storage reused across calls
// (DecodeObjectJsonInto, DecodeObjectInto, EvaluateInto, ResetForReuse,
// StringMap::ValueFor/Clear): whatever the storage held before -- a larger or
// smaller workload, another kind, a failed decode -- the result must equal a
// decode into fresh storage, field for field, with the same status. Run over
// the decoder's seed corpus, the AdmissionReview seeds, the bench review and
// generated documents with fewer and more containers, volumes, labels,
// capabilities, owner references, ... than each other, in every order of
// every pair.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "invar/policy/decode.h"
#include "invar/policy/evaluate.h"
#include "invar/policy/json_object.h"
#include "invar/policy/profile.h"
#include "test_util.h"

namespace invar::policy {
namespace {

using ojson = nlohmann::ordered_json;

struct Doc {
  std::string name;
  std::string json;
  std::string pointer;  // "/request/object" for AdmissionReviews
};

// A string of `n` characters: short ones stay in std::string's inline
// buffer, long ones need the heap, which is what reuse must get right.
std::string Text(std::mt19937& rng, std::string_view stem, int max_extra) {
  std::string s(stem);
  const int extra = std::uniform_int_distribution<int>(0, max_extra)(rng);
  for (int i = 0; i < extra; ++i) s += static_cast<char>('a' + (i * 7 + extra) % 26);
  return s;
}

bool Coin(std::mt19937& rng, int percent) { return std::uniform_int_distribution<int>(0, 99)(rng) < percent; }
int Upto(std::mt19937& rng, int n) { return std::uniform_int_distribution<int>(0, n)(rng); }

ojson SecurityContext(std::mt19937& rng) {
  ojson sc = ojson::object();
  if (Coin(rng, 50)) sc["privileged"] = Coin(rng, 30);
  if (Coin(rng, 60)) sc["allowPrivilegeEscalation"] = Coin(rng, 50);
  if (Coin(rng, 70)) sc["readOnlyRootFilesystem"] = Coin(rng, 70);
  if (Coin(rng, 40)) sc["runAsNonRoot"] = Coin(rng, 70);
  if (Coin(rng, 30)) sc["runAsUser"] = Upto(rng, 2) * 1000;
  if (Coin(rng, 20)) sc["procMount"] = Coin(rng, 50) ? "Default" : "Unmasked";
  if (Coin(rng, 60)) {
    if (Coin(rng, 10)) {
      sc["capabilities"] = nullptr;
    } else {
      ojson caps = ojson::object();
      if (Coin(rng, 40)) {
        ojson add = ojson::array();
        for (int i = Upto(rng, 3); i > 0; --i)
          add.push_back(Coin(rng, 50) ? "NET_BIND_SERVICE" : "SYS_ADMIN");
        caps["add"] = add;
      }
      if (Coin(rng, 70)) {
        ojson drop = ojson::array();
        for (int i = Upto(rng, 2); i > 0; --i)
          drop.push_back(Coin(rng, 70) ? "ALL" : "NET_ADMIN_AND_MORE_CHARS");
        caps["drop"] = Coin(rng, 10) ? ojson(nullptr) : drop;
      }
      sc["capabilities"] = caps;
    }
  }
  if (Coin(rng, 30))
    sc["seccompProfile"] = {{"type", Coin(rng, 50) ? "RuntimeDefault" : "Localhost"},
                            {"localhostProfile", Text(rng, "profiles/", 20)}};
  if (Coin(rng, 15)) sc["appArmorProfile"] = {{"type", "Unconfined"}};
  if (Coin(rng, 15)) sc["seLinuxOptions"] = {{"type", Text(rng, "container_t", 10)}, {"level", "s0"}};
  if (Coin(rng, 10)) sc["windowsOptions"] = {{"hostProcess", Coin(rng, 50)}};
  return sc;
}

ojson Container(std::mt19937& rng, int i) {
  ojson c = ojson::object();
  c["name"] = Text(rng, testing::Cat({"c", std::to_string(i)}), 20);
  if (Coin(rng, 90)) {
    c["image"] = Coin(rng, 40) ? testing::Cat({"registry.example.com/shop/web@sha256:", std::string(64, 'a')})
                               : Text(rng, "nginx:", Coin(rng, 50) ? 3 : 30);
  }
  c["resources"] = {{"limits", {{"cpu", "1"}}}};
  if (Coin(rng, 50)) {
    ojson ports = ojson::array();
    for (int p = Upto(rng, 3); p > 0; --p) {
      ojson port = {{"containerPort", 8000 + p}};
      if (Coin(rng, 30)) port["hostPort"] = 9000 + p;
      ports.push_back(port);
    }
    c["ports"] = ports;
  }
  if (Coin(rng, 20))
    c["livenessProbe"] = {{"httpGet", {{"host", Text(rng, "probe.example", 20)}, {"port", 80}}}};
  if (Coin(rng, 10)) c["lifecycle"] = {{"preStop", {{"tcpSocket", {{"host", "h"}}}}}};
  const int sc = Upto(rng, 9);
  if (sc == 0) {
    c["securityContext"] = nullptr;
  } else if (sc >= 4) {
    c["securityContext"] = SecurityContext(rng);
  }
  return c;
}

ojson PodSpecJson(std::mt19937& rng, bool bad) {
  ojson spec = ojson::object();
  if (Coin(rng, 20)) spec["hostNetwork"] = Coin(rng, 50);
  if (Coin(rng, 15)) spec["hostPID"] = true;
  if (Coin(rng, 15)) spec["hostUsers"] = false;
  if (Coin(rng, 15)) spec["os"] = {{"name", Coin(rng, 50) ? "linux" : "windows"}};
  if (Coin(rng, 15)) spec["runtimeClassName"] = Text(rng, "gvisor", 20);
  if (Coin(rng, 20)) spec["automountServiceAccountToken"] = false;
  if (Coin(rng, 60)) {
    ojson psc = ojson::object();
    if (Coin(rng, 60)) psc["runAsNonRoot"] = true;
    if (Coin(rng, 30)) psc["runAsUser"] = 0;
    if (Coin(rng, 50)) psc["seccompProfile"] = {{"type", "RuntimeDefault"}};
    if (Coin(rng, 20)) psc["sysctls"] = {{{"name", Text(rng, "net.ipv4.ip_local_port_range", 5)}}};
    if (Coin(rng, 10)) psc["seLinuxOptions"] = {{"user", "system_u"}};
    spec["securityContext"] = psc;
  }
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    const int max = std::string_view(list) == "containers" ? 4 : 2;
    if (std::string_view(list) != "containers" && Coin(rng, 60)) continue;
    ojson cs = ojson::array();
    for (int i = Upto(rng, max); i > 0; --i) cs.push_back(Container(rng, i));
    spec[list] = cs;
  }
  if (Coin(rng, 70)) {
    ojson vols = ojson::array();
    for (int i = Upto(rng, 4); i > 0; --i) {
      ojson v = {{"name", Text(rng, "vol", 25)}};
      switch (Upto(rng, 3)) {
        case 0:
          v["emptyDir"] = ojson::object();
          break;
        case 1:
          v["hostPath"] = {{"path", Text(rng, "/var/lib/", 20)}};
          break;
        case 2:
          v["configMap"] = {{"name", "cm"}};
          break;
        default:
          v["secret"] = nullptr;
          break;
      }
      vols.push_back(v);
    }
    spec["volumes"] = vols;
  }
  if (bad) {
    // A wrong type deep in the walk: the decode fails half-way, leaving a
    // partial workload behind in reused storage.
    ojson c = Container(rng, 9);
    c["securityContext"] = {{"readOnlyRootFilesystem", true}, {"privileged", "yes"}};
    spec["containers"].push_back(c);
  }
  return spec;
}

ojson Labels(std::mt19937& rng, int max) {
  ojson m = ojson::object();
  for (int i = Upto(rng, max); i > 0; --i) {
    m[Text(rng, testing::Cat({"k", std::to_string(i)}), Coin(rng, 50) ? 2 : 30)] =
        Coin(rng, 10) ? ojson(nullptr) : ojson(Text(rng, "v", Coin(rng, 50) ? 3 : 30));
  }
  return m;
}

ojson Metadata(std::mt19937& rng) {
  ojson m = ojson::object();
  m["name"] = Text(rng, "web-", Coin(rng, 50) ? 4 : 30);
  if (Coin(rng, 70)) m["namespace"] = "shop";
  if (Coin(rng, 60)) m["uid"] = "6f1f1b0e-3f1c-4f55-9a3a-1b2c3d4e5f60";
  if (Coin(rng, 40)) m["generateName"] = Text(rng, "web-", 20);
  if (Coin(rng, 30)) m["resourceVersion"] = "12345";
  if (Coin(rng, 80)) m["labels"] = Labels(rng, 6);
  if (Coin(rng, 70)) {
    ojson a = Labels(rng, 4);
    if (Coin(rng, 20)) a["invar.dev/exempt"] = "imageDigest, readOnlyRootFilesystem";
    if (Coin(rng, 10)) a["invar.dev/exempt-reason"] = Text(rng, "legacy ", 30);
    m["annotations"] = a;
  }
  if (Coin(rng, 50)) {
    ojson refs = ojson::array();
    for (int i = Upto(rng, 3); i > 0; --i) {
      ojson r = {{"apiVersion", "apps/v1"},
                 {"kind", Coin(rng, 50) ? "ReplicaSet" : "ReplicationController"},
                 {"name", Text(rng, "owner-", 25)}};
      if (Coin(rng, 70)) r["uid"] = "0a1b2c3d-1111-2222-3333-444455556666";
      if (Coin(rng, 50)) r["controller"] = Coin(rng, 60);
      refs.push_back(r);
    }
    m["ownerReferences"] = refs;
  }
  return m;
}

ojson Object(std::mt19937& rng) {
  const int kind = Upto(rng, 9);
  const bool bad = Coin(rng, 8);
  ojson o = ojson::object();
  const bool kind_last = Coin(rng, 10);
  auto set_kind = [&](const char* api, const char* k) {
    o["apiVersion"] = api;
    if (!kind_last) o["kind"] = k;
  };
  const char* kind_name = "Pod";
  if (kind <= 4) {
    set_kind("v1", "Pod");
    o["metadata"] = Metadata(rng);
    o["spec"] = PodSpecJson(rng, bad);
  } else if (kind <= 6) {
    kind_name = "Deployment";
    set_kind("apps/v1", kind_name);
    o["metadata"] = Metadata(rng);
    ojson tmeta = ojson::object();
    if (Coin(rng, 80)) tmeta["labels"] = Labels(rng, 5);
    if (Coin(rng, 50)) tmeta["annotations"] = Labels(rng, 3);
    o["spec"] = {{"replicas", 2}, {"template", {{"metadata", tmeta}, {"spec", PodSpecJson(rng, bad)}}}};
  } else if (kind == 7) {
    kind_name = "CronJob";
    set_kind("batch/v1", kind_name);
    o["metadata"] = Metadata(rng);
    o["spec"] = {{"schedule", "* * * * *"},
                 {"jobTemplate", {{"spec", {{"template", {{"spec", PodSpecJson(rng, bad)}}}}}}}};
  } else if (kind == 8) {
    kind_name = "Service";  // no pod spec: NotFound
    set_kind("v1", kind_name);
    o["metadata"] = Metadata(rng);
    o["spec"] = {{"ports", {{{"port", 80}}}}};
  } else {
    o["apiVersion"] = "v1";  // no kind at all: an error
    o["metadata"] = Metadata(rng);
    o["spec"] = PodSpecJson(rng, false);
  }
  if (kind_last && kind <= 8) o["kind"] = kind_name;
  return o;
}

std::vector<Doc> Corpus() {
  std::vector<Doc> docs;
  namespace fs = std::filesystem;
  const std::string root = INVAR_SOURCE_DIR;
  for (const char* dir :
       {"/tests/fuzz/corpus/decode_json", "/tests/fuzz/corpus/admission_review", "/tests/data"}) {
    const bool review = std::string_view(dir) != "/tests/fuzz/corpus/decode_json";
    for (const auto& entry : fs::directory_iterator(root + dir)) {
      if (!entry.is_regular_file()) continue;
      docs.push_back({entry.path().filename().string(), testing::ReadFile(entry.path().string()),
                      review ? "/request/object" : ""});
    }
  }
  std::mt19937 rng(20261127);
  for (int i = 0; i < 70; ++i)
    docs.push_back({testing::Cat({"generated-", std::to_string(i)}), Object(rng).dump(), ""});
  // Odd shapes: null parts, duplicate keys, wrong types at the top.
  for (
      const char* odd : {
          R"({"apiVersion":"v1","kind":"Pod","metadata":null,"spec":null})",
          R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":null,"volumes":null}})",
          R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a","securityContext":{"capabilities":{"drop":["ALL"]}}}],"containers":[{"name":"b"}]}})",
          R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a","securityContext":{"capabilities":{"add":["X"]},"capabilities":{"drop":["Y"]}}}]}})",
          R"({"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"a":"1","a":"2"},"ownerReferences":[{"name":"x","controller":true}],"ownerReferences":[{"name":"y"}]}})",
          R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":[null,{"name":"n"}]}})",
          R"([1,2,3])",
          R"("a string")",
          R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a",)",
      }) {
    docs.push_back({testing::Cat({"odd-", std::to_string(docs.size())}), odd, ""});
  }
  return docs;
}

std::string Describe(const Status& s) { return s.ok() ? "OK" : s.ToString(); }

// Decodes doc fresh and into `reused`, and compares.
void ExpectSameAsFresh(const Doc& doc, JsonKernel kernel, Workload* reused, const std::string& context) {
  ObjectDecodeOptions options;
  options.pointer = doc.pointer;
  options.kernel = kernel;
  Result<Workload> fresh = DecodeObjectJson(doc.json, doc.json.size(), options);
  Status status = DecodeObjectJsonInto(doc.json, doc.json.size(), options, reused);
  ASSERT_EQ(Describe(status), fresh.ok() ? "OK" : Describe(fresh.status())) << context;
  if (fresh.ok()) {
    EXPECT_TRUE(*reused == *fresh) << context;
  }
}

TEST(DecodeObjectJsonInto, EveryPairOfDocumentsDecodesAsIntoFreshStorage) {
  const std::vector<Doc> docs = Corpus();
  ASSERT_GT(docs.size(), 90u);
  size_t ok = 0;
  for (JsonKernel kernel : {JsonKernel::kAuto, JsonKernel::kGeneric}) {
    for (const Doc& before : docs) {
      for (const Doc& doc : docs) {
        Workload reused;
        ExpectSameAsFresh(before, kernel, &reused, before.name);
        ExpectSameAsFresh(doc, kernel, &reused, testing::Cat({before.name, " then ", doc.name}));
        if (::testing::Test::HasFailure()) return;
        ok += reused == Workload() ? 0 : 1;
      }
    }
  }
  EXPECT_GT(ok, docs.size() * docs.size());  // most documents decode to a workload
}

TEST(DecodeObjectJsonInto, OneStorageThroughTheWholeCorpusInRandomOrder) {
  std::vector<Doc> docs = Corpus();
  std::mt19937 rng(7);
  Workload reused;
  for (int round = 0; round < 5; ++round) {
    std::shuffle(docs.begin(), docs.end(), rng);
    for (const Doc& doc : docs) {
      ExpectSameAsFresh(doc, JsonKernel::kAuto, &reused,
                        testing::Cat({"round ", std::to_string(round), " ", doc.name}));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// DecodeObjectInto on the caller's on-demand value, embedded as a review
// embeds request.object: same result as DecodeObject, and the iteration goes
// on past the object in both cases.
TEST(DecodeObjectInto, EveryPairOfDocumentsDecodesAsDecodeObject) {
  std::vector<Doc> docs;
  for (const Doc& d : Corpus()) {
    if (d.pointer.empty() && !d.json.empty() && d.json[0] == '{' && d.name.rfind("odd-", 0) != 0)
      docs.push_back(d);
  }
  ASSERT_GT(docs.size(), 60u);
  auto decode = [](const Doc& doc, Workload* into) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(testing::Cat({"{\"object\":", doc.json, ",\"tail\":7}"}));
    simdjson::ondemand::document d;
    std::string out;
    if (parser.iterate(padded).get(d)) return std::string("iterate failed");
    for (auto field : d.get_object()) {
      std::string_view key = field.unescaped_key().value_unsafe();
      if (key == "object") {
        if (into != nullptr) {
          out += Describe(DecodeObjectInto(field.value(), 256, into));
        } else {
          Result<Workload> w = DecodeObject(field.value(), 256);
          out += w.ok() ? "OK" : Describe(w.status());
        }
      } else {
        int64_t tail = 0;
        if (field.value().get_int64().get(tail)) return testing::Cat({out, " tail unreadable"});
        out += testing::Cat({" tail ", std::to_string(tail)});
      }
    }
    return out;
  };
  for (const Doc& before : docs) {
    Workload reused;
    decode(before, &reused);
    for (const Doc& doc : docs) {
      Workload storage = reused;  // the state `before` left, each time
      const std::string expected = decode(doc, nullptr);
      ASSERT_EQ(decode(doc, &storage), expected) << before.name << " then " << doc.name;
      if (expected.rfind("OK", 0) == 0) {
        Workload fresh;
        decode(doc, &fresh);
        EXPECT_TRUE(storage == fresh) << before.name << " then " << doc.name;
      }
    }
  }
}

TEST(ResetForReuse, LeavesAWorkloadEqualToADefaultOne) {
  for (const Doc& doc : Corpus()) {
    ObjectDecodeOptions options;
    options.pointer = doc.pointer;
    Workload w;
    if (!DecodeObjectJsonInto(doc.json, doc.json.size(), options, &w).ok()) continue;
    w.source.file = "a.json";
    w.source.line = 3;
    w.source.document = 2;
    w.source.item = "items[1]";
    ResetForReuse(w);
    EXPECT_TRUE(w == Workload()) << doc.name;
  }
}

TEST(ResetForReuse, KeepsTheCapacityOfStringsAndVectors) {
  Workload w;
  ASSERT_TRUE(DecodeObjectJsonInto(testing::ReadFile(testing::DataPath("review-5k.json")), 0,
                                   ObjectDecodeOptions{"/request/object"}, &w)
                  .ok());
  ASSERT_GT(w.metadata.uid.size(), 15u);
  ASSERT_FALSE(w.spec.containers.empty());
  const size_t uid_capacity = w.metadata.uid.capacity();
  const size_t containers_capacity = w.spec.containers.capacity();
  ResetForReuse(w);
  EXPECT_EQ(w.metadata.uid.capacity(), uid_capacity);
  EXPECT_EQ(w.spec.containers.capacity(), containers_capacity);
}

TEST(StringMap, ClearKeepsCopiesIntactAndValueForUnsharesFirst) {
  StringMap m;
  m.Set("a-key-longer-than-fifteen", "a value longer than fifteen chars");
  m.Set("b", "2");
  StringMap copy = m;  // shares the block
  m.Clear();
  EXPECT_TRUE(m.empty());
  ASSERT_EQ(copy.size(), 2u);
  EXPECT_EQ(*copy.Find("b"), "2");
  m.ValueFor("c") = "3";
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(copy.Find("c"), nullptr);

  StringMap shared = m;
  shared.ValueFor("c") = "changed";  // copy on write
  EXPECT_EQ(*m.Find("c"), "3");
  EXPECT_EQ(*shared.Find("c"), "changed");
  shared.ValueFor("c");  // an existing key keeps its value for the caller to overwrite
  EXPECT_EQ(*shared.Find("c"), "changed");

  StringMap reused;
  reused.Set("first-key-longer-than-fifteen", "first value longer than fifteen");
  reused.Clear();
  std::string& v = reused.ValueFor("second");
  EXPECT_TRUE(v.empty());  // a reused entry's old value is gone
  v = "x";
  StringMap expected;
  expected.Set("second", "x");
  EXPECT_TRUE(reused == expected);
}

// ---- EvaluateInto ----------------------------------------------------------

void ExpectSameVerdict(const Verdict& got, const Verdict& want, const std::string& context) {
  ASSERT_EQ(got.findings.size(), want.findings.size()) << context;
  for (size_t i = 0; i < want.findings.size(); ++i) {
    const Finding& g = got.findings[i];
    const Finding& w = want.findings[i];
    EXPECT_EQ(g.check, w.check) << context << " #" << i;
    EXPECT_EQ(g.path, w.path) << context << " #" << i;
    EXPECT_EQ(g.container, w.container) << context << " #" << i;
    EXPECT_EQ(g.message, w.message) << context << " #" << i;
    EXPECT_EQ(g.exempted, w.exempted) << context << " #" << i;
    EXPECT_EQ(g.exemption, w.exemption) << context << " #" << i;
  }
}

std::vector<Profile> Profiles() {
  std::vector<Profile> profiles;
  for (const char* name : {"immutable", "restricted", "baseline", "privileged"}) {
    Result<Profile> p = BuiltinProfile(name);
    if (p.ok()) profiles.push_back(std::move(p).value());
  }
  Result<Profile> custom = BuiltinProfile("immutable");
  if (custom.ok()) {
    Profile p = std::move(custom).value();
    p.name = "custom";
    p.params["requireDigest"] = "false";
    p.exemptions.push_back({{"readOnlyRootFilesystem"}, "c1*", "", "scratch space"});
    p.exemptions.push_back({{}, "", "nginx:*", ""});
    profiles.push_back(std::move(p));
  }
  return profiles;
}

TEST(EvaluateInto, EveryPairOfWorkloadsAndProfilesGivesTheFreshVerdict) {
  std::vector<Workload> workloads;
  for (const Doc& doc : Corpus()) {
    Result<Workload> w = DecodeObjectJson(doc.json, doc.json.size(), ObjectDecodeOptions{doc.pointer});
    if (w.ok()) workloads.push_back(std::move(w).value());
  }
  ASSERT_GT(workloads.size(), 50u);
  const std::vector<Profile> profiles = Profiles();
  ASSERT_EQ(profiles.size(), 5u);
  size_t findings = 0;
  for (size_t b = 0; b < workloads.size(); ++b) {
    for (size_t a = 0; a < workloads.size(); ++a) {
      const Profile& pb = profiles[b % profiles.size()];
      const Profile& pa = profiles[(a + b) % profiles.size()];
      Verdict reused;
      EvaluateInto(workloads[b], pb, &reused);
      EvaluateInto(workloads[a], pa, &reused);
      const Verdict fresh = Evaluate(workloads[a], pa);
      findings += fresh.findings.size();
      ExpectSameVerdict(reused, fresh, testing::Cat({std::to_string(b), " then ", std::to_string(a)}));
      if (::testing::Test::HasFailure()) return;
    }
  }
  EXPECT_GT(findings, workloads.size() * workloads.size());
}

}  // namespace
}  // namespace invar::policy
