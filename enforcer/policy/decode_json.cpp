// SPDX-License-Identifier: Apache-2.0
// DecodeJson(): a file's bytes -> Workloads. Accepts one JSON value, a
// top-level array of objects, or concatenated values (NDJSON, `kubectl get -o
// json` output piped together); DecodeObjectJson(): one object (the admission
// hot path); Decode(), which sniffs JSON vs YAML.
//
// This file is also the `generic` build of the JSON decoder
// (decode_json_kernel.h, default flags) and the runtime dispatcher: the first
// call checks the CPU once and from then on every call goes to the `avx2`
// build (decode_json_avx2.cpp) when it is linked in (INVAR_JSON_AVX2) and the
// CPU has AVX2, BMI1, BMI2, PCLMUL, LZCNT and POPCNT; to `generic` otherwise.
// Pure functions; thread-safe (the choice is a function-local static).
#define INVAR_JSON_KERNEL generic
#include "decode_json_kernel.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace invar::policy {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool CpuHasAvx2Kernel() {
#if defined(INVAR_JSON_AVX2) && defined(__x86_64__)
  __builtin_cpu_init();
  // __builtin_cpu_supports("avx2") is false unless the OS saves YMM state.
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("bmi") || !__builtin_cpu_supports("bmi2") ||
      !__builtin_cpu_supports("pclmul") || !__builtin_cpu_supports("popcnt")) {
    return false;
  }
  // LZCNT (CPUID 0x80000001 ECX bit 5): clang's __builtin_cpu_supports has no name for it.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0x80000001u, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & (1u << 5)) != 0;
#else
  return false;
#endif
}

bool UseAvx2(JsonKernel requested) {
  static const bool kCpuOk = CpuHasAvx2Kernel();
  return requested != JsonKernel::kGeneric && kCpuOk;
}

}  // namespace

std::string_view ActiveJsonKernel() { return UseAvx2(JsonKernel::kAuto) ? "avx2" : "generic"; }

bool JsonKernelAvailable(JsonKernel kernel) { return kernel != JsonKernel::kAvx2 || UseAvx2(kernel); }

DecodeResult DecodeJson(std::string_view json, std::string_view file, const DecodeLimits& limits) {
#if defined(INVAR_JSON_AVX2)
  if (UseAvx2(limits.json_kernel)) return json_kernel::avx2::DecodeJson(json, file, limits);
#endif
  return json_kernel::generic::DecodeJson(json, file, limits);
}

Result<Workload> DecodeObjectJson(std::string_view json, size_t readable, const ObjectDecodeOptions& options) {
  // Decoded in place in the result, and every return names `result` so that
  // it is constructed in the caller's slot (NRVO): a Workload has ~40 members,
  // and the move plus destroying the moved-from object was ~0.7k instructions
  // per review.
  Result<Workload> result{std::in_place};
  Status status = DecodeObjectJsonInto(json, readable, options, &*result);
  if (!status.ok()) result = std::move(status);
  return result;
}

Status DecodeObjectJsonInto(std::string_view json, size_t readable, const ObjectDecodeOptions& options,
                            Workload* out) {
  simdjson::padded_string copy;
  const char* data = json.data();
  size_t capacity = readable;
  if (readable < json.size() + simdjson::SIMDJSON_PADDING) {
    copy = simdjson::padded_string(json);
    data = copy.data();
    capacity = copy.size() + simdjson::SIMDJSON_PADDING;
  }
#if defined(INVAR_JSON_AVX2)
  if (UseAvx2(options.kernel)) {
    return json_kernel::avx2::DecodeObjectJsonInto(data, json.size(), capacity, options.pointer,
                                                   options.max_depth, out);
  }
#endif
  return json_kernel::generic::DecodeObjectJsonInto(data, json.size(), capacity, options.pointer,
                                                    options.max_depth, out);
}

DecodeResult Decode(std::string_view data, std::string_view file, const DecodeLimits& limits) {
  size_t i = 0;
  // A UTF-8 byte order mark is not content.
  if (data.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
  while (i < data.size() && IsSpace(data[i])) ++i;
  if (i < data.size() && (data[i] == '{' || data[i] == '[')) return DecodeJson(data, file, limits);
  return DecodeYaml(data, file, limits);
}

}  // namespace invar::policy
