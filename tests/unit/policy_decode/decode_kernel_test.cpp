// SPDX-License-Identifier: Apache-2.0
// The JSON decoder's runtime dispatch (decode_json_kernel.h): the `generic`
// and `avx2` builds must decode every input to exactly the same result —
// workloads, skipped objects, error messages and lines — on valid files, on
// every truncation and many byte flips of the review, and on the fuzz seeds.
// Also DecodeObjectJson(), the byte-level admission entry point, against
// DecodeObject() on an on-demand value. On a CPU without AVX2 (or a build
// without the AVX2 kernel) the parity tests are skipped, the rest run.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <string>
#include <vector>

#include "invar/policy/decode.h"
#include "invar/policy/json_object.h"
#include "test_util.h"

namespace invar::policy {
namespace {

std::string Review() { return testing::ReadFile(testing::DataPath("review-5k.json")); }

DecodeResult DecodeWith(JsonKernel kernel, const std::string& json) {
  DecodeLimits limits;
  limits.json_kernel = kernel;
  return DecodeJson(json, "in.json", limits);
}

// Everything observable about a decode, so a difference prints readably.
std::string Describe(const DecodeResult& r) {
  std::string s;
  for (const auto& w : r.workloads) {
    s += "workload " + w.kind + "/" + w.metadata.name + " line " + std::to_string(w.source.line) + " item " +
         w.source.item + " containers " + std::to_string(w.spec.containers.size()) + "\n";
  }
  for (const auto& k : r.skipped) s += "skipped " + k.kind + "/" + k.name + "\n";
  for (const auto& e : r.errors) {
    s += "error line " + std::to_string(e.where.line) + " doc " + std::to_string(e.where.document) + " item " +
         e.where.item + ": " + e.message + "\n";
  }
  return s;
}

void ExpectSameResult(const std::string& json, const std::string& what) {
  DecodeResult generic = DecodeWith(JsonKernel::kGeneric, json);
  DecodeResult avx2 = DecodeWith(JsonKernel::kAvx2, json);
  ASSERT_EQ(Describe(generic), Describe(avx2)) << what;
  ASSERT_EQ(generic.workloads, avx2.workloads) << what;
}

#define SKIP_WITHOUT_AVX2()                                                      \
  if (!JsonKernelAvailable(JsonKernel::kAvx2)) {                                 \
    GTEST_SKIP() << "no AVX2 kernel in this build or no AVX2 on this CPU";       \
  }

TEST(JsonKernel, AutoPicksAvx2ExactlyWhenItIsAvailable) {
  EXPECT_TRUE(JsonKernelAvailable(JsonKernel::kGeneric));
  EXPECT_TRUE(JsonKernelAvailable(JsonKernel::kAuto));
  EXPECT_EQ(ActiveJsonKernel(), JsonKernelAvailable(JsonKernel::kAvx2) ? "avx2" : "generic");
}

TEST(JsonKernel, ForcingAvx2WhereUnavailableStillDecodes) {
  // Either kernel runs; the result is the generic one when AVX2 is missing.
  DecodeResult r = DecodeWith(JsonKernel::kAvx2, R"({"apiVersion":"v1","kind":"Pod","spec":{}})");
  ASSERT_EQ(r.workloads.size(), 1u) << testing::Errors(r);
}

TEST(JsonKernel, KernelsAgreeOnTheReview) {
  SKIP_WITHOUT_AVX2();
  ExpectSameResult(Review(), "review-5k.json");
}

TEST(JsonKernel, KernelsAgreeOnTheFuzzSeedsAndTestData) {
  SKIP_WITHOUT_AVX2();
  int files = 0;
  for (const char* dir : {"/tests/fuzz/corpus/decode_json", "/tests/data"}) {
    for (const auto& entry : std::filesystem::directory_iterator(std::string(INVAR_SOURCE_DIR) + dir)) {
      if (!entry.is_regular_file()) continue;
      ExpectSameResult(testing::ReadFile(entry.path().string()), entry.path().string());
      ++files;
    }
  }
  EXPECT_GE(files, 5);
}

TEST(JsonKernel, KernelsAgreeOnEveryTruncationOfTheReview) {
  SKIP_WITHOUT_AVX2();
  const std::string review = Review();
  for (size_t len = 0; len <= review.size(); len += 7) ExpectSameResult(review.substr(0, len), std::to_string(len));
}

TEST(JsonKernel, KernelsAgreeOnByteFlipsOfTheReview) {
  SKIP_WITHOUT_AVX2();
  const std::string review = Review();
  // Deterministic: structural characters, quotes, digits and letters all get hit.
  const char kReplacements[] = {'"', '{', '}', '[', ']', ',', ':', '\\', '0', 'x', ' ', '\0', '\xff'};
  size_t n = 0;
  for (size_t pos = 0; pos < review.size(); pos += 13) {
    std::string mutated = review;
    mutated[pos] = kReplacements[n++ % sizeof kReplacements];
    ExpectSameResult(mutated, "byte " + std::to_string(pos) + " -> " + std::to_string(mutated[pos]));
  }
}

TEST(JsonKernel, KernelsAgreeOnMalformedAndOddValues) {
  SKIP_WITHOUT_AVX2();
  const std::vector<std::string> inputs = {
      "",
      "null",
      "[]",
      "[1, {\"kind\": \"Pod\"}, null]",
      "{\"kind\": \"Pod\", \"spec\": {\"containers\": [{\"securityContext\": {\"privileged\": tru}}]}}",
      "{\"kind\": \"Pod\", \"spec\": {\"containers\": [{\"ports\": [{\"containerPort\": 1e3}]}]}}",
      "{\"kind\": \"Pod\", \"spec\": {\"hostPID\": \"yes\"}}\n{\"kind\": \"Pod\"}\n{broken\n{\"kind\":\"Service\"}",
      "{\"k\\u0069nd\": \"Pod\", \"spec\": {}}",
      "{\"kind\": \"Pod\", \"metadata\": {\"labels\": {\"a\": 1}}}",
      "{\"kind\": \"List\", \"apiVersion\": \"v1\", \"items\": [{\"kind\": \"Pod\", \"spec\": {\"hostIPC\": 1}}, {}]}",
      std::string(300, '[') + std::string(300, ']'),
      "\xEF\xBB\xBF{\"kind\": \"Pod\", \"spec\": {}}",
      "{\"kind\": \"Pod\", \"spec\": {\"containers\": [{\"name\": \"\xc3\x28\"}]}}",
  };
  for (const auto& in : inputs) ExpectSameResult(in, in.substr(0, 80));
}

// ---- DecodeObjectJson ---------------------------------------------------------

Result<Workload> ReviewObjectViaValue(const std::string& review) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(review);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return Status::InvalidArgument("iterate");
  simdjson::ondemand::value object;
  if (doc["request"]["object"].get(object)) return Status::InvalidArgument("request.object");
  return DecodeObject(object);
}

TEST(DecodeObjectJson, MatchesDecodeObjectOnTheReviewWithEitherKernel) {
  const std::string review = Review();
  Result<Workload> expected = ReviewObjectViaValue(review);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  simdjson::padded_string padded(review);
  for (JsonKernel kernel : {JsonKernel::kGeneric, JsonKernel::kAvx2, JsonKernel::kAuto}) {
    ObjectDecodeOptions options;
    options.pointer = "/request/object";
    options.kernel = kernel;
    // In place (padded) and copied (no padding readable).
    for (size_t readable : {padded.size() + simdjson::SIMDJSON_PADDING, padded.size()}) {
      Result<Workload> w = DecodeObjectJson(std::string_view(padded.data(), padded.size()), readable, options);
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      EXPECT_EQ(*w, *expected);
      EXPECT_EQ(w->metadata.name, "web-7d9c8b6f5-x2x9z");
    }
  }
}

TEST(DecodeObjectJson, DecodesTheRootWhenThePointerIsEmpty) {
  const std::string json = R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
    "spec":{"template":{"spec":{"containers":[{"name":"c","image":"i@sha256:00"}]}}}})";
  Result<Workload> w = DecodeObjectJson(json, json.size());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->kind, "Deployment");
  ASSERT_EQ(w->spec.containers.size(), 1u);
  EXPECT_EQ(w->spec.containers[0].image, "i@sha256:00");
}

TEST(DecodeObjectJson, ReportsMissingPointerBadJsonAndWrongTypes) {
  const std::string review = Review();
  for (JsonKernel kernel : {JsonKernel::kGeneric, JsonKernel::kAvx2}) {
    ObjectDecodeOptions options;
    options.kernel = kernel;
    options.pointer = "/request/noSuchField";
    Result<Workload> w = DecodeObjectJson(review, review.size(), options);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().code(), Status::Code::kNotFound);
    EXPECT_EQ(w.status().message(), "/request/noSuchField: not found");

    options.pointer = "request";
    w = DecodeObjectJson(review, review.size(), options);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().code(), Status::Code::kInvalidArgument);

    options.pointer = "";
    w = DecodeObjectJson("{\"kind\": \"Pod\", \"spec\": {\"hostPID\": \"yes\"}}", 0, options);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().message(), "spec.hostPID: expected boolean, got string");

    w = DecodeObjectJson("{\"kind\": \"Pod\", \"spec\": {\"hostPID\": tru", 0, options);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(w.status().message().find("invalid JSON"), std::string::npos) << w.status().message();

    w = DecodeObjectJson("{\"kind\": \"ConfigMap\"}", 0, options);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().code(), Status::Code::kNotFound);

    options.max_depth = 3;
    w = DecodeObjectJson(
        R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"securityContext":{"capabilities":{"add":["X"]}}}]}})",
        0, options);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().message(), "spec.containers[0]: nesting deeper than 3");
  }
}


// DecodeObjectJson() finds the pointer itself, stepping over the members
// before each key (FindPointer in decode_json_kernel.h); anything it does not
// handle goes to simdjson's at_pointer. Every pointer on every document must
// give what at_pointer + DecodeObject() give: the workload, or the same error.
Result<Workload> ViaAtPointer(const std::string& json, std::string_view pointer) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  if (auto e = parser.iterate(padded).get(doc)) {
    return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(e));
  }
  simdjson::ondemand::value object;
  auto e = pointer.empty() ? doc.get_value().get(object) : doc.at_pointer(pointer).get(object);
  if (e == simdjson::NO_SUCH_FIELD || e == simdjson::INDEX_OUT_OF_BOUNDS) {
    return Status::NotFound(std::string(pointer) + ": not found");
  }
  if (e == simdjson::INVALID_JSON_POINTER) return Status::InvalidArgument("invalid JSON pointer " + std::string(pointer));
  if (e) return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(e));
  return DecodeObject(object);
}

TEST(DecodeObjectJson, FindsPointersAsAtPointerDoes) {
  const std::string pod = R"({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})";
  const std::vector<std::string> documents = {
      Review(),
      R"({"a": {"b": )" + pod + R"(}, "c": [)" + pod + R"(], "a~b": {"x/y": )" + pod + R"(}, "": )" + pod + "}",
      R"({"skip": {"deep": [[[{"x": "}"}]]]}, "ob\u006aect": 1, "object": )" + pod + "}",
      R"({"dup": )" + pod + R"(, "dup": {"kind": "Pod", "metadata": {"name": "second"}}})",
      R"({"request": {"uid": "u", "object": )" + pod + R"(}, "request": 2})",
      R"({"request": {"object": 5}})",
      R"({"request": [1, 2]})",
      R"({"request": {"kind": {"a": [1, 2}, "object": )" + pod + "}}",  // broken member before the key
      R"({"request": {"kind": {"a": 1}})",                              // runs out
      R"([)" + pod + "]",
      R"("scalar")",
      "{}",
  };
  const std::vector<std::string_view> pointers = {"",       "/request/object", "/a/b",  "/c/0",      "/a~0b/x~1y",
                                                  "/",      "/object",         "/dup",  "/request",  "/request/object/x",
                                                  "/0",     "/missing",        "/a/missing/x", "request", "/c/5",
                                                  "/ob\\u006aect"};
  for (JsonKernel kernel : {JsonKernel::kGeneric, JsonKernel::kAvx2}) {
    for (const auto& doc : documents) {
      for (std::string_view pointer : pointers) {
        ObjectDecodeOptions options;
        options.kernel = kernel;
        options.pointer = pointer;
        Result<Workload> got = DecodeObjectJson(doc, 0, options);
        Result<Workload> want = ViaAtPointer(doc, pointer);
        ASSERT_EQ(got.ok(), want.ok()) << doc << " " << pointer << ": " << got.status().ToString() << " vs "
                                       << want.status().ToString();
        if (got.ok()) {
          EXPECT_EQ(*got, *want) << doc << " " << pointer;
        } else {
          EXPECT_EQ(got.status().ToString(), want.status().ToString()) << doc << " " << pointer;
        }
      }
    }
  }
}

}  // namespace
}  // namespace invar::policy
