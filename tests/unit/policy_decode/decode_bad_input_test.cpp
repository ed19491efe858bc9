// SPDX-License-Identifier: Apache-2.0
// Hostile and broken input: every case must come back as a defined result
// (errors with a clear message, or nothing), never a crash or a hang. The
// same cases run under ASan/UBSan in CI.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "invar/policy/decode.h"
#include "test_util.h"

namespace invar::policy {
namespace {

using testing::Errors;

TEST(DecodeBadInput, EmptyInputYieldsNothing) {
  for (const char* s : {"", " \n\t", "---\n", "# only a comment\n", "null", "~\n"}) {
    DecodeResult r = Decode(s, "e");
    EXPECT_TRUE(r.errors.empty()) << s << Errors(r);
    EXPECT_TRUE(r.workloads.empty());
    EXPECT_TRUE(r.skipped.empty());
  }
  DecodeResult j = DecodeJson("null\n  null");
  EXPECT_TRUE(j.errors.empty()) << Errors(j);
}

TEST(DecodeBadInput, InvalidYamlIsAnErrorWithLine) {
  DecodeResult r = DecodeYaml("apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n", "bad.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where.file, "bad.yaml");
  EXPECT_GE(r.errors[0].where.line, 3);
  EXPECT_EQ(r.errors[0].message.rfind("invalid YAML: ", 0), 0u);
}

TEST(DecodeBadInput, InvalidJsonIsAnErrorWithLine) {
  DecodeResult r = DecodeJson("\n\n{\"apiVersion\": \"v1\", \"kind\": \"Pod\"", "bad.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where.line, 3);
  EXPECT_EQ(r.errors[0].message, "invalid JSON: unterminated value");
  r = DecodeJson("{\"kind\": tru}", "bad.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "kind: invalid JSON: The JSON element does not have the requested type.")
      << r.errors[0].message;
  r = DecodeJson("{\"kind\": \"Pod\"} }", "bad.json");
  ASSERT_EQ(r.errors.size(), 1u) << Errors(r);
  EXPECT_EQ(r.errors[0].message, "invalid JSON: unexpected '}'");
}

// yaml-cpp 0.7 never returns from LoadAll on these (found by fuzz_decode_yaml).
TEST(DecodeBadInput, DocumentsStartingWithACommaAreErrorsNotHangs) {
  for (const char* s : {",", "&a,", "&1,\n", "!t ,", "# c\n&a\n,", "--- ,", "%YAML 1.1\n---\n  , x"}) {
    DecodeResult r = DecodeYaml(s, "c.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << s;
    EXPECT_EQ(r.errors[0].message, "invalid YAML: unexpected ',' where a document should start") << s;
  }
  DecodeResult r = DecodeYaml("apiVersion: v1\nkind: Pod\n---\n# x\n,\n---\napiVersion: v1\nkind: Pod\n", "c.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where.line, 5);
  EXPECT_EQ(r.workloads.size(), 2u);
}

TEST(DecodeBadInput, UnknownKindIsSkippedNotDropped) {
  DecodeResult r = DecodeYaml("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n");
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].kind, "Widget");
  EXPECT_EQ(r.skipped[0].name, "w");
}

TEST(DecodeBadInput, QuotedYesIsAWrongType) {
  DecodeResult r = DecodeYaml(
      "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: c\n    securityContext: {privileged: \"yes\"}\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "spec.containers[0].securityContext.privileged: expected boolean, got string");
}

std::string BigPodJson(size_t bytes) {
  std::string pad(bytes, 'x');
  return testing::Cat({R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"big","annotations":{"pad":")", pad,
                       R"("}},"spec":{"containers":[{"name":"c","image":"i"}]}})"});
}

TEST(DecodeBadInput, TenMebibyteDocumentsDecode) {
  const size_t kTen = 10u << 20;
  DecodeResult j = DecodeJson(BigPodJson(kTen));
  ASSERT_TRUE(j.errors.empty()) << Errors(j);
  ASSERT_EQ(j.workloads.size(), 1u);
  EXPECT_EQ(j.workloads[0].metadata.annotations.Find("pad")->size(), kTen);

  std::string yaml = testing::Cat({"apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n  annotations:\n    pad: ",
                                   std::string(kTen, 'y'), "\nspec:\n  containers:\n  - name: c\n"});
  DecodeResult y = DecodeYaml(yaml);
  ASSERT_TRUE(y.errors.empty()) << Errors(y);
  ASSERT_EQ(y.workloads.size(), 1u);
  EXPECT_EQ(y.workloads[0].spec.containers.at(0).name, "c");
}

TEST(DecodeBadInput, InputAboveMaxBytesIsRefused) {
  DecodeLimits limits;
  limits.max_bytes = 1024;
  DecodeResult j = DecodeJson(BigPodJson(2048), "big.json", limits);
  ASSERT_EQ(j.errors.size(), 1u);
  EXPECT_NE(j.errors[0].message.find("more than the limit of 1024"), std::string::npos);
  DecodeResult y = DecodeYaml(std::string(2048, '#'), "big.yaml", limits);
  ASSERT_EQ(y.errors.size(), 1u);
}

TEST(DecodeBadInput, TenThousandLevelsOfJsonNesting) {
  std::string deep = testing::Cat({std::string(10000, '['), std::string(10000, ']')});
  DecodeResult r = DecodeJson(deep, "deep.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "nesting deeper than 256");

  std::string objs;
  for (int i = 0; i < 10000; ++i) objs += "{\"a\":";
  objs += '1';
  objs.append(10000, '}');
  r = DecodeJson(objs);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "nesting deeper than 256");

  // Deep nesting inside a Pod's unknown field is refused as well.
  r = DecodeJson(testing::Cat({R"({"apiVersion":"v1","kind":"Pod","spec":{"x":)", deep, "}}"}));
  ASSERT_EQ(r.errors.size(), 1u);

  // Lists nested in Lists: the only recursion the schema itself allows.
  std::string lists;
  for (int i = 0; i < 300; ++i) lists += R"({"apiVersion":"v1","kind":"List","items":[)";
  lists += R"({"apiVersion":"v1","kind":"Pod"})";
  for (int i = 0; i < 300; ++i) lists += "]}";
  DecodeLimits limits;
  limits.max_depth = 1000;
  r = DecodeJson(lists, "", limits);
  EXPECT_EQ(r.workloads.size(), 1u) << Errors(r);
  limits.max_depth = 100;
  r = DecodeJson(lists, "", limits);
  EXPECT_TRUE(r.workloads.empty());
  EXPECT_FALSE(r.errors.empty());
}

TEST(DecodeBadInput, TenThousandLevelsOfYamlNesting) {
  std::string deep_flow = testing::Cat({std::string(10000, '['), std::string(10000, ']')});
  std::string flow = testing::Cat({"apiVersion: v1\nkind: Pod\nspec: ", deep_flow, "\n"});
  DecodeResult r = DecodeYaml(flow, "deep.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "nesting deeper than 256");

  std::string block = "apiVersion: v1\nkind: Pod\nspec:\n";
  for (int i = 0; i < 10000; ++i) block += "- ";
  block += "x\n";
  r = DecodeYaml(block, "deep.yaml");
  ASSERT_EQ(r.errors.size(), 1u);

  std::string indented = "apiVersion: v1\nkind: Pod\n";
  for (int i = 0; i < 1000; ++i) indented.append(static_cast<size_t>(i), ' ').append("k:\n");
  r = DecodeYaml(indented, "deep.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
}

TEST(DecodeBadInput, LongRulesInBlockScalarsAreNotNesting) {
  std::string yaml = testing::Cat({"apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n    doc: |\n      ",
                                   std::string(2000, '-'), "\n      - - - not a list\n"});
  DecodeResult r = DecodeYaml(yaml);
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_EQ(r.workloads.size(), 1u);
}

TEST(DecodeBadInput, BinaryGarbageNeverCrashes) {
  std::mt19937 rng(20261127);
  for (int round = 0; round < 200; ++round) {
    std::string s(rng() % 4096, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    DecodeResult j = DecodeJson(s);
    DecodeResult y = DecodeYaml(s);
    DecodeResult d = Decode(testing::Cat({"{", s}));
    EXPECT_TRUE(j.workloads.empty());
    EXPECT_TRUE(y.workloads.empty());
    EXPECT_FALSE(d.errors.empty());
  }
}

TEST(DecodeBadInput, InvalidUtf8IsAnError) {
  DecodeResult r = DecodeJson("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"\xff\xfe\"}}");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("UTF-8"), std::string::npos) << r.errors[0].message;
  // YAML: yaml-cpp does not validate UTF-8; the text passes through as bytes.
  DecodeResult y = DecodeYaml("apiVersion: v1\nkind: Pod\nmetadata: {name: \"\xff\xfe\"}\n");
  EXPECT_EQ(y.workloads.size() + y.errors.size(), 1u);
}

TEST(DecodeBadInput, HugeArraysAreLinear) {
  std::string json = R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":[)";
  for (int i = 0; i < 100000; ++i) json += i ? ",{}" : "{}";
  json += "]}}";
  DecodeResult r = DecodeJson(json);
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_EQ(r.workloads.at(0).spec.containers.size(), 100000u);
  EXPECT_EQ(r.workloads.at(0).spec.containers.back().index, 99999);
}

TEST(DecodeBadInput, TooManyDocumentsStops) {
  DecodeLimits limits;
  limits.max_documents = 3;
  std::string yaml;
  for (int i = 0; i < 10; ++i) yaml += "---\napiVersion: v1\nkind: Pod\n";
  DecodeResult r = DecodeYaml(yaml, "", limits);
  EXPECT_EQ(r.workloads.size(), 3u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "more than 3 YAML documents");
}

// String fields are read without a type probe first on the JSON path
// (Extractor::ReadString -> JsonAdapter::TryStr); anything but a well-formed
// string falls back to the probe. Every shape a string field can have must
// give the same result and message, line and path as before, in DecodeJson
// and in DecodeObjectJson (both kernels). The messages are the ones the
// probe-first code gave (checked against 6d1cce5).
TEST(DecodeBadInput, StringFieldsOfEveryShapeGiveTheSameResults) {
  struct Case {
    std::string value;  // the JSON text of metadata.name
    std::string want;   // the error message, or "name=<decoded>"
  };
  const std::vector<Case> cases = {
      {R"("web")", "name=web"},
      {R"("a-name-longer-than-the-small-string-buffer")", "name=a-name-longer-than-the-small-string-buffer"},
      {R"("")", "name="},
      {R"("caf\u00e9 \"q\" \\ \n")", "name=caf\xc3\xa9 \"q\" \\ \n"},
      {"null", "name="},
      {"1", "metadata.name: expected string, got number"},
      {"-1.5e3", "metadata.name: expected string, got number"},
      {"true", "metadata.name: expected string, got boolean"},
      {"false", "metadata.name: expected string, got boolean"},
      {"{}", "metadata.name: expected string, got object"},
      {R"({"a": "b"})", "metadata.name: expected string, got object"},
      {"[]", "metadata.name: expected string, got array"},
      {R"(["x"])", "metadata.name: expected string, got array"},
      {"nul", "metadata.name: invalid JSON: The JSON element does not have the requested type."},
      {"tru", "metadata.name: invalid JSON: The JSON element does not have the requested type."},
      {"nope", "metadata.name: invalid JSON: The JSON element does not have the requested type."},
      {R"("bad \x escape")", "metadata.name: invalid JSON: Problem while parsing a string"},
      {R"("bad \u12 escape")", "metadata.name: invalid JSON: Problem while parsing a string"},
      {R"("\ud800")", "metadata.name: invalid JSON: Problem while parsing a string"},
  };
  auto describe = [](const Result<Workload>& w) {
    return w.ok() ? "name=" + w->metadata.name : w.status().message();
  };
  for (const auto& c : cases) {
    const std::string doc = R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": )" + c.value +
                            R"(}, "spec": {"containers": [{"name": "c", "image": "i"}]}})";
    DecodeResult r = DecodeJson(doc, "s.json");
    if (c.want.rfind("name=", 0) == 0) {
      ASSERT_EQ(r.workloads.size(), 1u) << c.value << ": " << Errors(r);
      EXPECT_EQ("name=" + r.workloads[0].metadata.name, c.want) << c.value;
    } else {
      ASSERT_EQ(r.errors.size(), 1u) << c.value;
      EXPECT_EQ(r.errors[0].message, c.want) << c.value;
      EXPECT_EQ(r.errors[0].where.line, 1) << c.value;
    }
    for (JsonKernel kernel : {JsonKernel::kGeneric, JsonKernel::kAvx2}) {
      ObjectDecodeOptions options;
      options.kernel = kernel;
      EXPECT_EQ(describe(DecodeObjectJson(doc, 0, options)), c.want) << c.value;
    }
  }
}

}  // namespace
}  // namespace invar::policy
