// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point for the JSON decoder: DecodeJson() over the input as
// a file, and DecodeObject() (the admission hot path) over its first value.
// Checks the decoder's promises besides "no crash": every workload has a
// kind and a spec path, every error a message; the generic and AVX2 builds
// of the decoder (runtime dispatch, decode_json_kernel.h) give the same
// result, both for DecodeJson and for DecodeObjectJson, which must also agree
// with DecodeObjectOnDemand() on an on-demand value (DecodeObjectJson and
// DecodeObject() walk the structural index themselves, IndexAdapter, and must
// accept exactly what the on-demand walk accepts; DecodeObject() must also
// leave the iterator where the on-demand walk does); with the pointer
// /request/object it must agree with at_pointer() and DecodeObjectOnDemand()
// (IndexAdapter::Resolve() finds the object on the index). And the decoder's own skipping
// (JsonAdapter::SkipContainer(), which steps over unread subtrees on
// simdjson's structural index) must leave the iterator exactly where
// simdjson's skip_child() would: the input is walked both ways with the
// observation walk of tests/unit/policy_decode/skip_walk.h, and the two logs
// must be equal (the fuzzer's build of the adapter is the generic kernel's;
// the AVX2 kernel compiles the same SkipContainer() source).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "invar/policy/decode.h"
#include "invar/policy/json_object.h"
#include "skip_walk.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace invar::policy;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  DecodeLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_depth = 64;
  limits.json_kernel = JsonKernel::kGeneric;
  DecodeResult r = DecodeJson(input, "fuzz.json", limits);
  if (JsonKernelAvailable(JsonKernel::kAvx2)) {
    limits.json_kernel = JsonKernel::kAvx2;
    DecodeResult r2 = DecodeJson(input, "fuzz.json", limits);
    Check(r.workloads == r2.workloads);
    Check(r.skipped.size() == r2.skipped.size() && r.errors.size() == r2.errors.size());
    for (size_t i = 0; i < r.errors.size(); ++i) {
      Check(r.errors[i].message == r2.errors[i].message && r.errors[i].where == r2.errors[i].where);
    }
  }
  for (const auto& w : r.workloads) {
    Check(!w.kind.empty());
    Check(!w.spec_path.empty());
    Check(w.source.file == "fuzz.json");
  }
  for (const auto& e : r.errors) Check(!e.message.empty());

  {
    const std::string json(input);
    Check(invar::policy::skip_walk::WalkDocument(json, /*fast=*/true) ==
          invar::policy::skip_walk::WalkDocument(json, /*fast=*/false));
  }

  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(input);
  {
    // The admission pointer, resolved by at_pointer() and decoded on demand,
    // with DecodeObjectJson's error mapping (decode.h).
    constexpr std::string_view kPointer = "/request/object";
    invar::Result<Workload> expected{std::in_place};
    simdjson::ondemand::document pdoc;
    simdjson::ondemand::value pvalue;
    if (auto e = parser.iterate(padded).get(pdoc)) {
      expected = invar::Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(e));
    } else if (auto pe = pdoc.at_pointer(kPointer).get(pvalue)) {
      if (pe == simdjson::NO_SUCH_FIELD || pe == simdjson::INDEX_OUT_OF_BOUNDS || pe == simdjson::INCORRECT_TYPE ||
          pe == simdjson::INVALID_JSON_POINTER) {
        expected = invar::Status::NotFound(std::string(kPointer) + ": not found");
      } else {
        expected = invar::Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(pe));
      }
    } else {
      expected = DecodeObjectOnDemand(pvalue, limits.max_depth);
    }
    for (JsonKernel kernel : {JsonKernel::kGeneric, JsonKernel::kAvx2}) {
      ObjectDecodeOptions options;
      options.max_depth = limits.max_depth;
      options.kernel = kernel;
      options.pointer = kPointer;
      invar::Result<Workload> b = DecodeObjectJson(input, input.size(), options);
      Check(b.ok() == expected.ok());
      if (b.ok()) Check(*b == *expected);
      if (!b.ok()) Check(b.status().ToString() == expected.status().ToString());
    }
  }
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return 0;
  simdjson::ondemand::json_type type;
  if (doc.type().get(type) != simdjson::SUCCESS || type != simdjson::ondemand::json_type::object) return 0;
  simdjson::ondemand::value value;
  if (doc.get_value().get(value) != simdjson::SUCCESS) return 0;
  invar::Result<Workload> w = DecodeObjectOnDemand(value, limits.max_depth);
  {
    // DecodeObject() (structural-index walk, on-demand fallback) on a fresh
    // iteration must agree, and embedded as request.object the iteration
    // must go on after it as after the on-demand walk.
    simdjson::ondemand::document again;
    simdjson::ondemand::value fresh;
    Check(parser.iterate(padded).get(again) == simdjson::SUCCESS);
    Check(again.get_value().get(fresh) == simdjson::SUCCESS);
    invar::Result<Workload> f = DecodeObject(fresh, limits.max_depth);
    Check(f.ok() == w.ok());
    if (f.ok()) Check(*f == *w);
    if (!f.ok()) Check(f.status().ToString() == w.status().ToString());
    const std::string embedded =
        "{\"object\": " + std::string(input) + ", \"r\": [1, {\"k\": [2]}], \"s\": 3}";
    Check(invar::policy::skip_walk::WalkDocument(embedded, /*fast=*/true) ==
          invar::policy::skip_walk::WalkDocument(embedded, /*fast=*/false));
  }
  for (JsonKernel kernel : {JsonKernel::kGeneric, JsonKernel::kAvx2}) {
    ObjectDecodeOptions options;
    options.max_depth = limits.max_depth;
    options.kernel = kernel;
    invar::Result<Workload> b = DecodeObjectJson(input, input.size(), options);
    Check(b.ok() == w.ok());
    if (b.ok()) Check(*b == *w);
    if (!b.ok()) Check(b.status().message() == w.status().message());
  }
  if (w.ok()) {
    Check(!w->kind.empty());
    Check(!w->spec_path.empty());
  } else {
    Check(!w.status().message().empty());
  }
  return 0;
}
