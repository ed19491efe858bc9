// SPDX-License-Identifier: Apache-2.0
// The JSON decoder's runtime dispatch (decode_json_kernel.h): the `generic`
// and `avx2` builds must decode every input to exactly the same result —
// workloads, skipped objects, error messages and lines — on valid files, on
// every truncation and many byte flips of the review, and on the fuzz seeds.
// Also DecodeObjectJson(), the byte-level admission entry point, and
// DecodeObject() (the webhook's, on an on-demand value; both walk the
// structural index first) against DecodeObjectOnDemand(), and the pointer resolution
// against an independent oracle (nlohmann::json's json_pointer). On a CPU without AVX2 (or a build
// without the AVX2 kernel) the parity tests are skipped, the rest run.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "invar/policy/decode.h"
#include "invar/policy/json_object.h"
#include "invar/test_random.h"
#include "skip_walk.h"
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

// DecodeObjectJson walks simdjson's structural index itself (IndexAdapter)
// and falls back to the on-demand walk on any failure; what it accepts must
// be exactly what the on-demand walk accepts, decoded the same, and every
// error must be the on-demand walk's. Compared here as the fuzzer compares
// them: against DecodeObject() on the document's on-demand value.
// The same workload, or the same error message.
void ExpectSameDecode(const Result<Workload>& got, const Result<Workload>& expected,
                      const std::string& what) {
  ASSERT_EQ(got.ok(), expected.ok()) << what << "\n" << (got.ok() ? expected : got).status().ToString();
  if (got.ok()) {
    ASSERT_EQ(*got, *expected) << what;
  } else {
    ASSERT_EQ(got.status().ToString(), expected.status().ToString()) << what;
  }
}

// Brackets outside strings, as simdjson's stage 1 (and the webhook's byte
// scan) find them: a backslash anywhere escapes the next byte, which then
// neither opens nor closes a string (an escaped bracket outside a string
// still counts). Calls f(delta) per bracket, with the byte offset past it;
// stops when f returns false.
template <typename F>
void ForEachBracket(std::string_view s, F&& f) {
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\') {
      if (++i == s.size()) return;
      c = s[i];
      if (c == '"' || c == '\\') continue;
    } else if (c == '"') {
      in_string = !in_string;
      continue;
    }
    if (in_string) continue;
    if (c == '{' || c == '[') {
      if (!f(1, i + 1)) return;
    } else if (c == '}' || c == ']') {
      if (!f(-1, i + 1)) return;
    }
  }
}

// The deepest nesting of objects and arrays in `s`: the reference for
// DecodeObject's NestingCheck.
int MaxNesting(std::string_view s) {
  int depth = 0, max = 0;
  ForEachBracket(s, [&](int delta, size_t) {
    depth += delta;
    max = std::max(max, depth);
    return true;
  });
  return max;
}

// The first value of `json` (a container: to its matching close, or to the
// end when it has none; a scalar: the trimmed text).
std::string_view FirstValue(std::string_view json) {
  const size_t first = json.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  json.remove_prefix(first);
  if (json[0] != '{' && json[0] != '[') return json.substr(0, json.find_last_not_of(" \t\r\n") + 1);
  int depth = 0;
  size_t end = json.size();
  ForEachBracket(json, [&](int delta, size_t past) {
    depth += delta;
    if (depth > 0) return true;
    end = past;
    return false;
  });
  return json.substr(0, end);
}

// DecodeObject() with a NestingCheck on the document's root value: the same
// result as without it, and `checked` exactly when the unbounded walk
// succeeds and the value nests within the bound. `value_text` is the value's
// bytes (the document without surrounding white space). Returns whether the
// unbounded walk succeeded (so that callers can make sure it was exercised).
bool ExpectNestingCheckExact(const std::string& json, std::string_view value_text,
                             const Result<Workload>& expected, const std::string& what) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  auto decode = [&](int bound, NestingCheck* check) {
    simdjson::ondemand::document doc;
    simdjson::ondemand::value value;
    EXPECT_EQ(parser.iterate(padded).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(doc.get_value().get(value), simdjson::SUCCESS);
    check->max_depth = bound;
    return DecodeObject(value, 64, check);
  };
  NestingCheck unbounded;
  ExpectSameDecode(decode(INT_MAX, &unbounded), expected, what + " (unbounded check)");
  const bool walked = unbounded.checked.data() != nullptr;
  const int nest = MaxNesting(value_text);
  if (walked) {
    EXPECT_EQ(unbounded.depth, 1) << what;
    EXPECT_EQ(unbounded.checked.data() - padded.data(), value_text.data() - json.data()) << what;
    EXPECT_EQ(unbounded.checked, value_text) << what;
  }
  for (int bound : {0, 1, nest - 1, nest, nest + 1}) {
    NestingCheck check;
    ExpectSameDecode(decode(bound, &check), expected, what + " bound " + std::to_string(bound));
    EXPECT_EQ(check.checked.data() != nullptr, walked && nest <= bound) << what << " bound " << bound;
    if (check.checked.data() != nullptr) {
      EXPECT_EQ(check.checked, value_text) << what;
    }
  }
  return walked;
}

void ExpectSameAsOnDemand(const std::string& json, const std::string& what) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return;
  simdjson::ondemand::json_type type;
  if (doc.type().get(type) != simdjson::SUCCESS || type != simdjson::ondemand::json_type::object) return;
  simdjson::ondemand::value value;
  if (doc.get_value().get(value) != simdjson::SUCCESS) return;
  Result<Workload> expected = DecodeObjectOnDemand(value, 64);
  {
    // DecodeObject() on the value: the same structural-index walk as
    // DecodeObjectJson, with the on-demand walk as its fallback.
    simdjson::ondemand::document again;
    simdjson::ondemand::value fresh;
    ASSERT_EQ(parser.iterate(padded).get(again), simdjson::SUCCESS);
    ASSERT_EQ(again.get_value().get(fresh), simdjson::SUCCESS);
    Result<Workload> got = DecodeObject(fresh, 64);
    ExpectSameDecode(got, expected, what);
    if (::testing::Test::HasFatalFailure()) return;
  }
  ExpectNestingCheckExact(json, FirstValue(json), expected, what);
  if (::testing::Test::HasFailure()) return;
  // Embedded as the webhook meets it (request.object, then more fields):
  // after DecodeObject() the iteration goes on exactly as after the on-demand
  // walk (skip_walk.h logs both).
  const std::string embedded =
      "{\"kind\": 1, \"object\": " + json + ", \"r\": [1, {\"k\": [2]}], \"s\": {\"t\": 3}}";
  ASSERT_EQ(skip_walk::WalkDocument(embedded, /*fast=*/true),
            skip_walk::WalkDocument(embedded, /*fast=*/false))
      << what;
  for (JsonKernel kernel : {JsonKernel::kGeneric, JsonKernel::kAvx2}) {
    if (!JsonKernelAvailable(kernel)) continue;
    ObjectDecodeOptions options;
    options.max_depth = 64;
    options.kernel = kernel;
    Result<Workload> got = DecodeObjectJson(json, json.size(), options);
    ExpectSameDecode(got, expected, what);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

std::string ReviewObject() {
  const std::string review = Review();
  nlohmann::json j = nlohmann::json::parse(review);
  return j["request"]["object"].dump(1);
}

TEST(DecodeObjectJson, IndexWalkAgreesWithOnDemandOnTruncationsAndByteFlips) {
  const std::string object = ReviewObject();
  ExpectSameAsOnDemand(object, "whole");
  for (size_t len = 0; len <= object.size(); len += 5) ExpectSameAsOnDemand(object.substr(0, len), "len " + std::to_string(len));
  const char kReplacements[] = {'"', '{', '}', '[', ']', ',', ':', '\\', '0', 'x', ' ', 'n', 't', '-', '.'};
  size_t n = 0;
  for (size_t pos = 0; pos < object.size(); pos += 3) {
    std::string mutated = object;
    mutated[pos] = kReplacements[n++ % sizeof kReplacements];
    ExpectSameAsOnDemand(mutated, "byte " + std::to_string(pos) + " -> " + std::string(1, mutated[pos]));
  }
}

TEST(DecodeObjectJson, IndexWalkAgreesWithOnDemandOnOddShapes) {
  const std::string pod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":)";
  const std::vector<std::string> inputs = {
      pod + R"({"containers":[{"name":"c","image":"i"}]}})",
      // escapes in keys and values
      R"({"k\u0069nd":"Pod","spec":{"containers":[{"n\u0061me":"a\"b\\c\u00e9","image":"x\/y"}]}})",
      R"({"kind":"Pod","metadata":{"labels":{"a\nb":"c\td","e":null}},"spec":{}})",
      R"({"kind":"Pod","spec":{"containers":[{"name":"\uD800"}]}})",
      R"({"kind":"Pod","spec":{"containers":[{"name":"\q"}]}})",
      // duplicate keys, kind after spec, null everywhere
      R"({"spec":{"hostPID":true},"kind":"Pod","spec":{"hostIPC":true},"metadata":null})",
      pod + R"({"containers":null,"volumes":[null,{"name":"v","hostPath":{"path":"/"}}],"os":null}})",
      // wrong types
      pod + R"({"hostPID":"yes"}})",
      pod + R"({"containers":[{"ports":[{"containerPort":1.5}]}]}})",
      pod + R"({"containers":[{"ports":[{"containerPort":99999999999}]}]}})",
      pod + R"({"containers":[{"ports":[{"hostPort":-}]}]}})",
      pod + R"({"containers":[{"securityContext":{"privileged":tru}}]}})",
      pod + R"({"containers":[{"securityContext":{"privileged":truex}}]}})",
      pod + R"({"containers":[{"securityContext":{"privileged":nul}}]}})",
      pod + R"({"containers":{}}})",
      // structure the walk iterates, and structure it only skips
      pod + R"({"containers":[{"name":"c",}]}})",
      pod + R"({"containers":[{"name" "c"}]}})",
      pod + R"({"containers":[{"name":"c" "image":"i"}]}})",
      pod + R"({"containers":[{"name":"c"},]}})",
      pod + R"({"containers":[{"name":"c"} {"name":"d"}]}})",
      pod + R"({"containers":[{1:"c"}]}})",
      pod + R"({"unknown":,"hostPID":true}})",
      pod + R"({"unknown":},"hostPID":true}})",
      pod + R"({"unknown":"x":1,"hostPID":true}})",
      pod + R"({"unknown":[1,2,{"a":[}]],"hostPID":true}})",
      pod + R"({"unknown":{"a":]]},"hostPID":true}})",
      pod + R"({"unknown":[[[[[[[[[[]]]]]]]]]],"hostPID":true}})",
      pod + R"({"unknown":[[[[[[[[[[]]]]]]]]],"hostPID":true}})",
      pod + R"({"unknown":[[[[[[[[[[]]]]]]]]]]],"hostPID":true}})",
      pod + "{\"unknown\":" + std::string(5000, '[') + std::string(5000, ']') + ",\"hostPID\":true}}",
      pod + "{\"unknown\":" + std::string(5000, '{') + "}}",
      pod + R"({"containers":[{"securityContext":)" + std::string(100, '{') + std::string(100, '}') + "}]}}",
      R"({"kind":"Pod","spec":{}} trailing)",
      R"({"kind":"Pod","spec":{}}})",
      R"({"kind":"Pod","spec":{})",
      R"({"kind":"Pod","spec")",
      R"({"kind":"Pod","spec":)",
      R"({"kind":"Pod",)",
      R"({"kind":"Service","spec":{}})",
      R"({"kind":"Job","apiVersion":"example.com/v1","spec":{}})",
      R"({"spec":{}})",
      R"({})",
      R"({"kind":1})",
  };
  for (const auto& in : inputs) ExpectSameAsOnDemand(in, in.substr(0, 120));
}

// The same with a pointer: IndexAdapter::Resolve() against at_pointer() and
// the on-demand walk (with DecodeObjectJson's documented error mapping).
Result<Workload> ViaAtPointer(const std::string& json, const std::string& pointer) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  if (auto e = parser.iterate(padded).get(doc)) {
    return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(e));
  }
  simdjson::ondemand::value value;
  auto e = doc.at_pointer(pointer).get(value);
  if (e == simdjson::NO_SUCH_FIELD || e == simdjson::INDEX_OUT_OF_BOUNDS || e == simdjson::INCORRECT_TYPE ||
      e == simdjson::INVALID_JSON_POINTER) {
    return Status::NotFound(pointer + ": not found");
  }
  if (e) return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(e));
  return DecodeObjectOnDemand(value, 64);
}

void ExpectSameAsAtPointer(const std::string& json, const std::string& pointer, const std::string& what) {
  Result<Workload> expected = ViaAtPointer(json, pointer);
  for (JsonKernel kernel : {JsonKernel::kGeneric, JsonKernel::kAvx2}) {
    if (!JsonKernelAvailable(kernel)) continue;
    ObjectDecodeOptions options;
    options.max_depth = 64;
    options.kernel = kernel;
    options.pointer = pointer;
    Result<Workload> got = DecodeObjectJson(json, json.size(), options);
    ExpectSameDecode(got, expected, what);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(DecodeObjectJson, IndexPointerAgreesWithAtPointerOnTruncationsAndByteFlips) {
  const std::string review = Review();
  ExpectSameAsAtPointer(review, "/request/object", "whole");
  for (size_t len = 0; len <= review.size(); len += 11) {
    ExpectSameAsAtPointer(review.substr(0, len), "/request/object", "len " + std::to_string(len));
  }
  const char kReplacements[] = {'"', '{', '}', '[', ']', ',', ':', '\\', '0', 'x', ' '};
  size_t n = 0;
  for (size_t pos = 0; pos < review.size(); pos += 5) {
    std::string mutated = review;
    mutated[pos] = kReplacements[n++ % sizeof kReplacements];
    ExpectSameAsAtPointer(mutated, "/request/object", "byte " + std::to_string(pos) + " -> " + std::string(1, mutated[pos]));
  }
  const std::string pod = R"({"kind":"Pod","spec":{"hostPID":true}})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"request":{"object":)" + pod + "}} ]", "/request/object"},
      {R"({"request":{"object":)" + pod + "}}}", "/request/object"},
      {R"({"request":{"object":)" + pod + "}", "/request/object"},
      {R"({"request":{"ob\"ject":)" + pod + "}}", "/request/ob\\\"ject"},
      {R"({"request":{"ob\"ject":)" + pod + "}}", "/request/ob\\"},
      {R"({"request":{"ob\u006aect":)" + pod + "}}", "/request/object"},
      {R"({"re~quest":{"object":)" + pod + "}}", "/re~0quest/object"},
      {R"({"request":{"object":)" + pod + R"(,"object":5}})", "/request/object"},
      {R"({"request":{"":)" + pod + "}}", "/request/"},
      {R"({"request":[)" + pod + "]}", "/request/0"},
      {R"({"request":{"object":)" + pod + R"(}, "x": [}})", "/request/object"},
      {R"({"x": [}, "request":{"object":)" + pod + R"(}})", "/request/object"},
      {R"({"request" {"object":)" + pod + R"(}})", "/request/object"},
      {R"({"request":{"object":)" + pod + R"(} "y":1})", "/request/object"},
  };
  for (const auto& [json, pointer] : cases) ExpectSameAsAtPointer(json, pointer, json + " @ " + pointer);
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


// DecodeObjectJson() resolves `pointer` with simdjson's on-demand
// at_pointer, then decodes the value it lands on. The oracle here is
// independent of simdjson: nlohmann::json parses the document (a DOM) and
// resolves the same RFC 6901 pointer with json_pointer; the value found is
// serialised again and decoded with an empty pointer. Both must give the same
// workload or the same error. Two rules of the kernel are part of the
// contract and modelled explicitly:
//   - a duplicate key resolves to its first occurrence (simdjson walks the
//     object in order; nlohmann would keep the last, so the oracle's parser
//     drops every later duplicate);
//   - a pointer token is compared with the key as written, without
//     unescaping it (simdjson compares raw key bytes): pinned by
//     ComparesPointerTokensWithKeysAsWritten below, not by the oracle.
// Documents nlohmann rejects are not resolved by the oracle; they must fail
// with an "invalid JSON" error wherever the walk reaches the damage.
nlohmann::json ParseFirstKeyWins(const std::string& json) {
  std::vector<std::set<std::string>> seen;  // keys per nesting depth
  auto first_key_wins = [&seen](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    const auto d = static_cast<size_t>(depth);
    if (event == nlohmann::json::parse_event_t::object_start) {
      if (seen.size() < d + 2) seen.resize(d + 2);
      seen[d + 1].clear();  // the keys of the object that starts here
    } else if (event == nlohmann::json::parse_event_t::key) {
      if (seen.size() < d + 1) seen.resize(d + 1);
      return seen[d].insert(parsed.get<std::string>()).second;  // false drops the member
    }
    return true;
  };
  return nlohmann::json::parse(json, first_key_wins, /*allow_exceptions=*/false);
}

// What the pointer resolves to according to nlohmann, decoded as the object
// itself; or the Status DecodeObjectJson reports when there is nothing there.
Result<Workload> ViaNlohmann(const nlohmann::json& doc, const std::string& pointer) {
  nlohmann::json::json_pointer ptr;
  try {
    ptr = nlohmann::json::json_pointer(pointer);
  } catch (const nlohmann::json::parse_error&) {
    return Status::InvalidArgument("invalid JSON pointer " + pointer);
  }
  const nlohmann::json* target = nullptr;
  try {
    target = &doc.at(ptr);
  } catch (const nlohmann::json::exception&) {
    return Status::NotFound(pointer + ": not found");
  }
  return DecodeObjectJson(target->dump(), 0);
}

const std::string& PodText() {
  static const std::string kPod =
      R"({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})";
  return kPod;
}

const std::vector<std::string>& Pointers() {
  static const std::vector<std::string> kPointers = {
      "",     "/request/object", "/a/b",          "/c/0",    "/a~0b/x~1y", "/",          "/object", "/dup",
      "/0",   "/missing",        "/a/missing/x",  "request", "/c/5",       "/request",   "/c/-",    "/c/01",
      "/request/object/metadata", "/request/object/x", "/ob\\u006aect"};
  return kPointers;
}

void ExpectPointer(const std::string& doc, const std::string& pointer, const Result<Workload>& want) {
  for (JsonKernel kernel : {JsonKernel::kGeneric, JsonKernel::kAvx2}) {
    ObjectDecodeOptions options;
    options.kernel = kernel;
    options.pointer = pointer;
    Result<Workload> got = DecodeObjectJson(doc, 0, options);
    ASSERT_EQ(got.ok(), want.ok()) << doc << " " << pointer << ": " << got.status().ToString() << " vs "
                                   << want.status().ToString();
    if (got.ok()) {
      EXPECT_EQ(*got, *want) << doc << " " << pointer;
    } else {
      EXPECT_EQ(got.status().ToString(), want.status().ToString()) << doc << " " << pointer;
    }
  }
}

TEST(DecodeObjectJson, ResolvesPointersAsNlohmannJsonPointerDoes) {
  const std::string& pod = PodText();
  const std::vector<std::string> documents = {
      Review(),
      R"({"a": {"b": )" + pod + R"(}, "c": [)" + pod + R"(], "a~b": {"x/y": )" + pod + R"(}, "": )" + pod + "}",
      R"({"skip": {"deep": [[[{"x": "}"}]]]}, "object": )" + pod + "}",
      R"({"dup": )" + pod + R"(, "dup": {"kind": "Pod", "metadata": {"name": "second"}}})",
      R"({"request": {"uid": "u", "object": )" + pod + R"(}, "request": 2})",
      R"({"request": {"object": 5}})",
      R"({"request": {"object": {"kind": "Service", "apiVersion": "v1"}}})",
      R"({"request": {"object": {"kind": "Pod", "spec": {"containers": [{"securityContext": {"privileged": "yes"}}]}}}})",
      R"({"request": [1, 2]})",
      R"({"c": [1, )" + pod + "]}",
      R"([)" + pod + "]",
      R"("scalar")",
      "{}",
  };
  size_t found = 0;
  for (const auto& doc : documents) {
    nlohmann::json parsed = ParseFirstKeyWins(doc);
    ASSERT_FALSE(parsed.is_discarded()) << doc;
    for (const std::string& pointer : Pointers()) {
      Result<Workload> want = ViaNlohmann(parsed, pointer);
      found += want.ok() ? 1 : 0;
      ExpectPointer(doc, pointer, want);
    }
  }
  EXPECT_GE(found, 8u);  // the oracle did find workloads, not only errors
}

TEST(DecodeObjectJson, ResolvesTheFirstOfDuplicateKeys) {
  const std::string doc = R"({"dup": )" + PodText() + R"(, "dup": {"kind": "Pod", "metadata": {"name": "second"}}})";
  ObjectDecodeOptions options;
  options.pointer = "/dup";
  Result<Workload> w = DecodeObjectJson(doc, 0, options);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->metadata.name, "p");
}

TEST(DecodeObjectJson, ComparesPointerTokensWithKeysAsWritten) {
  // "ob\u006aect" unescapes to "object", but the pointer "/object" matches
  // only the key written as `object`; a token with the escape spelled out
  // matches the escaped key.
  const std::string doc = R"({"ob\u006aect": 1, "object": )" + PodText() + "}";
  ExpectPointer(doc, "/object", DecodeObjectJson(PodText(), 0));
  ExpectPointer(doc, "/ob\\u006aect", Status::InvalidArgument("expected object, got number"));
  ExpectPointer(R"({"ob\u006aect": )" + PodText() + "}", "/object", Status::NotFound("/object: not found"));
}

TEST(DecodeObjectJson, ReadsDamagedDocumentsOnlyAsFarAsThePointerAndTheObject) {
  // simdjson's stage 1 validates the whole document's UTF-8, strings and
  // atoms, but brackets are matched only where the walk goes (on-demand):
  // damage inside the object or on the way to it is an error, damage the
  // walk never reaches is not seen. nlohmann rejects all of these.
  const std::string& pod = PodText();
  struct Case {
    std::string doc;
    std::string want;  // Status::ToString(), or "ok"
  };
  const std::vector<Case> cases = {
      // Inside the object: an error with the path.
      {R"({"request": {"object": )" + pod.substr(0, pod.size() - 3) + "}}",
       "invalid argument: spec.containers: invalid JSON: The JSON document has an improper structure: missing or "
       "superfluous commas, braces, missing keys, etc."},
      {R"({"request": {"object": {"kind": "Pod",, "spec": {}}}})",
       "invalid argument: invalid JSON: The JSON document has an improper structure: missing or superfluous commas, "
       "braces, missing keys, etc."},
      // On the way, in a member skipped before the key: the bracket count
      // swallows the key, so it is not found (never a workload).
      {R"({"request": {"kind": {"a": [1, 2}, "object": )" + pod + "}}", "not found: /request/object: not found"},
      {R"({"request": {"kind": {"a": 1}})", "not found: /request/object: not found"},
      // After the object: not read.
      {R"({"request": {"object": )" + pod + R"(}, "after": [1}})", "ok"},
  };
  for (const auto& c : cases) {
    ASSERT_TRUE(ParseFirstKeyWins(c.doc).is_discarded()) << c.doc;
    for (JsonKernel kernel : {JsonKernel::kGeneric, JsonKernel::kAvx2}) {
      ObjectDecodeOptions options;
      options.kernel = kernel;
      options.pointer = "/request/object";
      Result<Workload> got = DecodeObjectJson(c.doc, 0, options);
      EXPECT_EQ(got.ok() ? "ok" : got.status().ToString(), c.want) << c.doc;
    }
  }
}

// The webhook's use of NestingCheck: request.object of the bench review,
// met during an on-demand walk of the review. `checked` is the object's
// bytes and its level is 3 (the review and request enclose it), exactly up
// to the bound the body's nesting needs; the walk goes on after it either way.
TEST(DecodeObject, NestingCheckCoversRequestObjectUpToItsExactBound) {
  const std::string review = Review();
  const size_t at = review.find("\"object\":");
  ASSERT_NE(at, std::string::npos);
  const std::string_view object_text = FirstValue(std::string_view(review).substr(at + 9));
  ASSERT_EQ(object_text.front(), '{');
  const int needed = 2 + MaxNesting(object_text);  // the review's and request's levels
  ASSERT_GT(needed, 8);
  const Result<Workload> expected = ReviewObjectViaValue(review);
  ASSERT_TRUE(expected.ok());
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(review);
  for (int bound : {needed - 1, needed, needed + 1, 128}) {
    simdjson::ondemand::document doc;
    ASSERT_EQ(parser.iterate(padded).get(doc), simdjson::SUCCESS);
    simdjson::ondemand::object request;
    ASSERT_EQ(doc["request"].get_object().get(request), simdjson::SUCCESS);
    bool after_object = false;
    std::string old_object_raw;
    for (auto field : request) {
      std::string_view key;
      ASSERT_EQ(field.unescaped_key().get(key), simdjson::SUCCESS);
      if (key == "object") {
        NestingCheck check;
        check.max_depth = bound;
        Result<Workload> got = DecodeObject(field.value(), 128, &check);
        ExpectSameDecode(got, expected, "bound " + std::to_string(bound));
        if (bound < needed) {
          EXPECT_EQ(check.checked.data(), nullptr) << bound;
        } else {
          EXPECT_EQ(check.checked.data() - padded.data(), object_text.data() - review.data()) << bound;
          EXPECT_EQ(check.checked, object_text) << bound;
          EXPECT_EQ(check.depth, 3) << bound;
        }
        after_object = true;
      } else if (after_object && key == "oldObject") {
        std::string_view raw;
        ASSERT_EQ(field.value().raw_json_token().get(raw), simdjson::SUCCESS);
        old_object_raw = std::string(raw);
      }
    }
    EXPECT_TRUE(after_object);
    EXPECT_EQ(old_object_raw.substr(0, 4), "null") << "the walk after the object read oldObject";
  }
}

// Random nesting where the walk reads (inside spec.containers[0]) and where
// it steps over (an unknown field), at bounds around the exact one: long
// runs of tokens far from the bound and single steps next to it, strings of
// brackets, escaped quotes and backslashes in between.
TEST(DecodeObject, NestingCheckIsExactOnRandomNesting) {
  test_support::XorShift64 next(0x2545f4914f6cdd1dull);
  const char* const kStrings[] = {R"("a")", R"("[{")", R"("\"]}")", R"("\\")", R"("x\\\"{[")", R"("")"};
  std::function<std::string(int)> value = [&](int depth) -> std::string {
    if (depth == 0 || next() % 5 == 0)
      return next() % 2 ? kStrings[next() % 6] : std::to_string(next() % 100);
    const bool object = next() % 2;
    std::string s = object ? "{" : "[";
    const int n = 1 + static_cast<int>(next() % 3);
    for (int i = 0; i < n; ++i) {
      if (i) s += ",";
      if (object) s += "\"k" + std::to_string(i) + "\":";
      s += value(i == 0 ? depth - 1 : static_cast<int>(next() % static_cast<uint64_t>(depth)));
    }
    return s + (object ? "}" : "]");
  };
  for (int round = 0; round < 300; ++round) {
    const std::string deep = value(1 + static_cast<int>(next() % 40));
    const std::string json =
        round % 2
            ? R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","y":)" +
                  deep + R"(,"image":"i"}]},"x":"]"})"
            : R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","z":"\""},"x":)" + deep +
                  R"(,"spec":{"containers":[{"name":"c","image":"i"}]}})";
    const Result<Workload> expected = ViaAtPointer(json, "");  // the on-demand walk of the root
    ASSERT_TRUE(expected.ok()) << json;
    ASSERT_TRUE(ExpectNestingCheckExact(json, json, expected, json))
        << "the walk must take the pod: " << json;
    if (HasFailure()) return;
  }
}

// The deepest point is in what the walk reads (Fields, Elements), not in
// what it steps over: an array of strings, an empty array, an empty object,
// a map of strings.
TEST(DecodeObject, NestingCheckCountsTheContainersTheWalkReads) {
  const std::string pod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[)";
  const std::vector<std::string> inputs = {
      pod + R"({"name":"c","image":"i","securityContext":{"capabilities":{"drop":["ALL"]}}}]}})",
      pod + R"({"name":"c","image":"i","securityContext":{"capabilities":{"drop":[]}}}]}})",
      pod + R"({"name":"c","image":"i","securityContext":{"capabilities":{}}}]}})",
      pod + R"({"name":"c","image":"i","args":["a","[","\"]"]}]}})",
      pod + R"({"name":"c","image":"i","securityContext":{"seLinuxOptions":{"level":"s0"}}}]}})",
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b"}},"spec":{"containers":[]}})",
  };
  for (const std::string& json : inputs) {
    const Result<Workload> expected = ViaAtPointer(json, "");  // the on-demand walk of the root
    ASSERT_TRUE(expected.ok()) << json;
    EXPECT_TRUE(ExpectNestingCheckExact(json, json, expected, json))
        << "the walk must take the pod: " << json;
  }
}

}  // namespace
}  // namespace invar::policy
