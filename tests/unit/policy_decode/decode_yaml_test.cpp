// SPDX-License-Identifier: Apache-2.0
// YAML decoder: multi-document streams, file and line of every object and
// error, recovery after a malformed document, kubectl's YAML 1.1 scalar
// resolution, merge keys, and the alias-expansion budget.
#include <gtest/gtest.h>

#include <string>

#include "invar/policy/decode.h"
#include "test_util.h"

namespace invar::policy {
namespace {

using testing::Errors;

TEST(DecodeYaml, ReadsAMultiDocumentStreamWithLines) {
  const char* yaml = R"(# leading comment
apiVersion: v1
kind: Pod
metadata:
  name: first
spec:
  containers:
  - name: c
    image: nginx:1.25
---
apiVersion: v1
kind: Service
metadata:
  name: svc
---
# an empty document
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: web@sha256:abc
        securityContext:
          readOnlyRootFilesystem: true
)";
  DecodeResult r = DecodeYaml(yaml, "stream.yaml");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 2u);
  EXPECT_EQ(r.workloads[0].metadata.name, "first");
  EXPECT_EQ(r.workloads[0].source.file, "stream.yaml");
  EXPECT_EQ(r.workloads[0].source.line, 2);
  EXPECT_EQ(r.workloads[0].source.document, 0);
  EXPECT_EQ(r.workloads[1].metadata.name, "web");
  EXPECT_EQ(r.workloads[1].source.line, 18);
  EXPECT_EQ(r.workloads[1].spec_path, "spec.template.spec");
  EXPECT_EQ(*r.workloads[1].pod_labels.Find("app"), "web");
  EXPECT_EQ(r.workloads[1].spec.containers.at(0).security_context->read_only_root_filesystem, true);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].kind, "Service");
  EXPECT_EQ(r.skipped[0].where.line, 11);
  EXPECT_EQ(r.skipped[0].where.document, 1);
}

TEST(DecodeYaml, ReportsAMalformedDocumentAndDecodesTheRest) {
  const char* yaml = R"(apiVersion: v1
kind: Pod
metadata: {name: a}
---
apiVersion: v1
kind: Pod
metadata:
  name: b
   bad: indentation
---
apiVersion: v1
kind: Pod
metadata: {name: c}
)";
  DecodeResult r = DecodeYaml(yaml, "m.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << Errors(r);
  EXPECT_EQ(r.errors[0].where.file, "m.yaml");
  EXPECT_EQ(r.errors[0].where.line, 9);
  EXPECT_EQ(r.errors[0].message.rfind("invalid YAML: ", 0), 0u) << r.errors[0].message;
  ASSERT_EQ(r.workloads.size(), 2u);
  EXPECT_EQ(r.workloads[0].metadata.name, "a");
  EXPECT_EQ(r.workloads[1].metadata.name, "c");
  EXPECT_EQ(r.workloads[1].source.line, 11);
}

TEST(DecodeYaml, ReportsTypeErrorsWithPathAndLine) {
  const char* yaml = R"(apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    securityContext:
      privileged: "yes"
)";
  DecodeResult r = DecodeYaml(yaml, "p.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "spec.containers[0].securityContext.privileged: expected boolean, got string");
  EXPECT_EQ(r.errors[0].where.line, 9);
  EXPECT_TRUE(r.workloads.empty());
}

// kubectl (sigs.k8s.io/yaml -> go-yaml v2) resolves plain scalars the YAML 1.1
// way: these all reach the API server as JSON booleans.
TEST(DecodeYaml, ResolvesYaml11BooleansLikeKubectl) {
  for (const char* word : {"yes", "Yes", "YES", "on", "On", "ON", "y", "Y", "true", "True", "TRUE"}) {
    std::string yaml = testing::Cat({"kind: Pod\napiVersion: v1\nspec:\n  hostNetwork: ", word, "\n"});
    DecodeResult r = DecodeYaml(yaml);
    ASSERT_TRUE(r.errors.empty()) << word << ": " << Errors(r);
    ASSERT_EQ(r.workloads.size(), 1u);
    EXPECT_EQ(r.workloads[0].spec.host_network, true) << word;
  }
  for (const char* word : {"no", "No", "NO", "off", "Off", "OFF", "n", "N", "false", "False", "FALSE"}) {
    std::string yaml = testing::Cat({"kind: Pod\napiVersion: v1\nspec:\n  hostNetwork: ", word, "\n"});
    DecodeResult r = DecodeYaml(yaml);
    ASSERT_TRUE(r.errors.empty()) << word << ": " << Errors(r);
    EXPECT_EQ(r.workloads.at(0).spec.host_network, false) << word;
  }
  for (const char* word : {"'yes'", "\"true\"", "tRUE", "!!str true", "|\n    true"}) {
    std::string yaml = testing::Cat({"kind: Pod\napiVersion: v1\nspec:\n  hostNetwork: ", word, "\n"});
    DecodeResult r = DecodeYaml(yaml);
    ASSERT_EQ(r.errors.size(), 1u) << word;
    EXPECT_EQ(r.errors[0].message, "spec.hostNetwork: expected boolean, got string") << word;
  }
}

TEST(DecodeYaml, ResolvesNumbersLikeKubectl) {
  struct Case {
    const char* text;
    std::optional<int64_t> value;
    const char* error;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"1000", 1000, nullptr},
           {"+1_000", 1000, nullptr},
           {"0x10", 16, nullptr},
           {"0o17", 15, nullptr},
           {"017", 15, nullptr},
           {"0b101", 5, nullptr},
           {"-5", -5, nullptr},
           {"1e3", 1000, nullptr},  // Go marshals float64(1000) as 1000
           {"08", 8, nullptr},      // not octal, but a YAML float
           {"1.5", std::nullopt, "spec.securityContext.runAsUser: expected integer, got number"},
           {".inf", std::nullopt, "spec.securityContext.runAsUser: expected integer, got number"},
           {"9223372036854775808", std::nullopt, "spec.securityContext.runAsUser: integer out of range for int64"},
           {"'1000'", std::nullopt, "spec.securityContext.runAsUser: expected integer, got string"},
           {"1000m", std::nullopt, "spec.securityContext.runAsUser: expected integer, got string"},
           {"yes", std::nullopt, "spec.securityContext.runAsUser: expected integer, got boolean"},
           {"~", std::nullopt, nullptr},
       }) {
    std::string yaml = testing::Cat({"kind: Pod\napiVersion: v1\nspec:\n  securityContext:\n    runAsUser: ", c.text, "\n"});
    DecodeResult r = DecodeYaml(yaml);
    if (c.error != nullptr) {
      ASSERT_EQ(r.errors.size(), 1u) << c.text;
      EXPECT_EQ(r.errors[0].message, c.error) << c.text;
      EXPECT_EQ(r.errors[0].where.line, 5) << c.text;
    } else {
      ASSERT_TRUE(r.errors.empty()) << c.text << ": " << Errors(r);
      EXPECT_EQ(r.workloads.at(0).spec.security_context->run_as_user, c.value) << c.text;
    }
  }
}

TEST(DecodeYaml, RejectsNonStringScalarsInStringFields) {
  DecodeResult r = DecodeYaml("kind: Pod\napiVersion: v1\nmetadata:\n  labels:\n    version: 1.0\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "metadata.labels: value of \"version\": expected string, got number");
  r = DecodeYaml("kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - name: c\n    image: 2024\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "spec.containers[0].image: expected string, got number");
  // Timestamps stay strings (go-yaml v2 keeps them as text for interface{}).
  r = DecodeYaml("kind: Pod\napiVersion: v1\nmetadata:\n  annotations:\n    at: 2024-01-01\n");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_EQ(*r.workloads.at(0).metadata.annotations.Find("at"), "2024-01-01");
}

TEST(DecodeYaml, AppliesMergeKeysAndAnchors) {
  const char* yaml = R"(apiVersion: v1
kind: Pod
metadata: {name: m}
spec:
  containers:
  - &base
    name: one
    image: img
    securityContext: &sc
      runAsNonRoot: true
      readOnlyRootFilesystem: true
  - <<: *base
    name: two
  - name: three
    securityContext:
      <<: [*sc, {privileged: false}]
)";
  DecodeResult r = DecodeYaml(yaml);
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  const auto& cs = r.workloads.at(0).spec.containers;
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[1].name, "two");
  EXPECT_EQ(cs[1].image, "img");
  EXPECT_EQ(cs[1].index, 1);
  EXPECT_EQ(cs[1].security_context->run_as_non_root, true);
  EXPECT_EQ(cs[2].security_context->read_only_root_filesystem, true);
  EXPECT_EQ(cs[2].security_context->privileged, false);
}

TEST(DecodeYaml, BoundsAliasExpansion) {
  // Lists of Lists through aliases: 9^9 ≈ 387 million Pods if expanded.
  std::string yaml = "apiVersion: v1\nkind: List\nx0: &l0 {apiVersion: v1, kind: Pod, spec: {containers: [{name: c}]}}\n";
  for (int i = 1; i <= 9; ++i) {
    yaml += testing::Cat({"x", std::to_string(i), ": &l", std::to_string(i), " {apiVersion: v1, kind: List, items: ["});
    for (int j = 0; j < 9; ++j) yaml += testing::Cat({j ? "," : "", "*l", std::to_string(i - 1)});
    yaml += "]}\n";
  }
  yaml += "items: [*l9]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: after}\n";
  DecodeLimits limits;
  limits.max_yaml_nodes = 100000;
  DecodeResult r = DecodeYaml(yaml, "bomb.yaml", limits);
  ASSERT_EQ(r.errors.size(), 1u) << Errors(r);
  EXPECT_NE(r.errors[0].message.find("more than 100000 nodes"), std::string::npos) << r.errors[0].message;
  // The bomb document fails as a whole; the next document still decodes.
  ASSERT_EQ(r.workloads.size(), 1u);
  EXPECT_EQ(r.workloads[0].metadata.name, "after");
}

TEST(DecodeYaml, FlattensListsWithItemLocations) {
  const char* yaml = R"(apiVersion: v1
kind: List
items:
- apiVersion: batch/v1
  kind: CronJob
  metadata: {name: cj}
  spec:
    jobTemplate:
      spec:
        template:
          spec:
            containers: [{name: c, image: i}]
- apiVersion: v1
  kind: Secret
  metadata: {name: s}
)";
  DecodeResult r = DecodeYaml(yaml, "l.yaml");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 1u);
  EXPECT_EQ(r.workloads[0].source.item, "items[0]");
  EXPECT_EQ(r.workloads[0].source.line, 4);
  EXPECT_EQ(r.workloads[0].spec_path, "spec.jobTemplate.spec.template.spec");
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].where.item, "items[1]");
  EXPECT_EQ(r.skipped[0].where.line, 13);
}

TEST(DecodeYaml, ReportsNonObjectDocuments) {
  DecodeResult r = DecodeYaml("just a string\n---\n- a\n- b\n---\nnull\n---\n~\n", "s.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << Errors(r);
  EXPECT_EQ(r.errors[0].message, "expected object, got string");
  EXPECT_EQ(r.errors[0].where.line, 1);
  EXPECT_EQ(r.errors[1].message, "expected object, got array");
  EXPECT_EQ(r.errors[1].where.line, 3);
}

TEST(DecodeYaml, DocumentEndMarkersAndDirectivesWork) {
  DecodeResult r = DecodeYaml("--- \napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n...\n---\n"
                              "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\n");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 2u);
  EXPECT_EQ(r.workloads[1].metadata.name, "b");
  EXPECT_EQ(r.workloads[1].source.line, 7);
}

TEST(Decode, SniffsJsonAndYaml) {
  DecodeResult j = Decode("  \n{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}", "x");
  DecodeResult y = Decode("apiVersion: v1\nkind: Pod\n", "x");
  DecodeResult b = Decode("\xEF\xBB\xBF[{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}]", "x");
  EXPECT_EQ(j.workloads.size(), 1u);
  EXPECT_EQ(y.workloads.size(), 1u);
  EXPECT_EQ(b.workloads.size(), 1u) << Errors(b);
}

}  // namespace
}  // namespace invar::policy
