// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point for the YAML decoder (and the JSON/YAML sniffing of
// Decode()). Besides "no crash, no hang": every workload has a kind and a
// spec path, every error a message and a line within the input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "invar/policy/decode.h"

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
  limits.max_yaml_nodes = 20000;
  const int lines = static_cast<int>(std::count(input.begin(), input.end(), '\n')) + 1;
  for (bool sniff : {false, true}) {
    DecodeResult r = sniff ? Decode(input, "fuzz", limits) : DecodeYaml(input, "fuzz", limits);
    for (const auto& w : r.workloads) {
      Check(!w.kind.empty());
      Check(!w.spec_path.empty());
      Check(w.source.line >= 0 && w.source.line <= lines);
    }
    for (const auto& e : r.errors) {
      Check(!e.message.empty());
      Check(e.where.line >= 0 && e.where.line <= lines);
    }
  }
  return 0;
}
