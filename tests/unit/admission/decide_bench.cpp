// SPDX-License-Identifier: Apache-2.0
// Google Benchmark of the webhook's CPU work per review, without network or
// TLS: decode review-5k.json, decide (immutable enforced: a denial with its
// message), encode. Compare with FACTS.md's parse-only numbers (simdjson
// on-demand 1.6 us, nlohmann 56 us) and PSA's 4.8 us evaluation.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "invar/admission/config.h"
#include "invar/admission/decide.h"
#include "invar/admission/review.h"

namespace invar::admission {
namespace {

std::string LoadReview() {
  for (const char* p : {INVAR_SOURCE_DIR "/tests/data/review-5k.json", "/work/shared/bench/review-5k.json"}) {
    std::ifstream in(p);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  return "";
}

void BM_DecodeReview(benchmark::State& state) {
  std::string body = LoadReview();
  for (auto _ : state) {
    auto r = DecodeReview(body);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_DecodeReview);

// The same with a depth limit above the bracket count: no nesting scan.
void BM_DecodeReviewWithoutNestingScan(benchmark::State& state) {
  std::string body = LoadReview();
  ReviewLimits limits;
  limits.max_depth = 100000;
  for (auto _ : state) {
    auto r = DecodeReview(body, limits);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_DecodeReviewWithoutNestingScan);

void BM_DecodeDecideEncode(benchmark::State& state) {
  std::string body = LoadReview();
  auto cfg = ParseConfig("");
  FixedNamespaceSource ns;
  policy::StringMap labels;
  labels.Set("invar.dev/enforce", "immutable");
  ns.Set("shop", labels);
  for (auto _ : state) {
    auto r = DecodeReview(body);
    Decision d = Decide(*r, *cfg, ns);
    std::string out = EncodeReview(d.response);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_DecodeDecideEncode);

}  // namespace
}  // namespace invar::admission

BENCHMARK_MAIN();
