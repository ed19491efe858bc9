// SPDX-License-Identifier: Apache-2.0
// Decoders: bytes -> Workloads. JSON goes through simdjson (on-demand), YAML
// through yaml-cpp (multi-document streams). Both find the pod spec inside
// every kind PodSpecKinds() lists, flatten `v1 List` and `*List` objects, and
// never throw or crash on input: malformed documents become DecodeErrors with
// file and line, and the rest of the input is still decoded.
// Pure functions: no I/O, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "invar/policy/model.h"
#include "invar/platform/status.h"

namespace invar::policy {

// Which build of the JSON decoder runs (see docs/decoders.md, "Runtime
// dispatch"). kAuto picks once per process: kAvx2 when the binary has it and
// the CPU has AVX2, BMI1/2, PCLMUL, LZCNT and POPCNT (AMD/Intel since 2013),
// else kGeneric, which runs on any x86-64. Both give identical results.
enum class JsonKernel { kAuto, kGeneric, kAvx2 };

// Limits that keep hostile input bounded.
struct DecodeLimits {
  size_t max_bytes = 64u << 20;   // per input
  int max_depth = 256;            // nesting of objects/arrays
  size_t max_documents = 100000;  // per YAML stream / JSON values per input
  // YAML nodes the decoder may visit per document, counting every alias
  // expansion: bounds "billion laughs" documents (a 5 KB Pod visits ~300).
  size_t max_yaml_nodes = 1000000;
  // Not a limit: the JSON kernel to use. Tests and benchmarks force one;
  // forcing kAvx2 where it is unavailable falls back to kGeneric.
  JsonKernel json_kernel = JsonKernel::kAuto;
};

struct DecodeError {
  SourceLocation where;
  std::string message;  // "line 12: mapping values are not allowed here"
};

// An object that was read but carries no pod spec (Service, ConfigMap, an
// unknown kind). Reported so nothing disappears silently.
struct SkippedObject {
  SourceLocation where;
  std::string api_version;
  std::string kind;
  std::string name;
  std::string namespace_;
};

struct DecodeResult {
  std::vector<Workload> workloads;
  std::vector<SkippedObject> skipped;
  std::vector<DecodeError> errors;
};

// `file` is only used to label SourceLocations.
DecodeResult DecodeJson(std::string_view json, std::string_view file = "", const DecodeLimits& limits = {});
DecodeResult DecodeYaml(std::string_view yaml, std::string_view file = "", const DecodeLimits& limits = {});
// Sniffs: a first non-space byte of '{' or '[' means JSON, anything else YAML.
DecodeResult Decode(std::string_view data, std::string_view file = "", const DecodeLimits& limits = {});

// The admission hot path from bytes: decodes the object at JSON Pointer
// `pointer` (RFC 6901; "" is the root, "/request/object" the object of an
// AdmissionReview) of `json` into a Workload, through the dispatched kernel.
// `readable` is how many bytes may be read from json.data(): when it is at
// least json.size() + 64 (simdjson's padding; e.g. a std::string's capacity)
// the bytes are parsed in place, else they are copied once. Errors as
// DecodeObject() (json_object.h): InvalidArgument with the path, NotFound for
// kinds without a pod spec or when nothing is at the pointer (a missing key,
// an index past the end, a key asked of an array or of a scalar);
// InvalidArgument "invalid JSON pointer" only for a pointer that is not
// RFC 6901 syntax. Duplicate keys resolve to the first; pointer tokens are
// compared with keys as written (not unescaped). Uses a parser per thread
// (kept between calls for objects up to 1 MiB). Thread-safe.
struct ObjectDecodeOptions {
  std::string_view pointer;
  int max_depth = 256;
  JsonKernel kernel = JsonKernel::kAuto;
};
Result<Workload> DecodeObjectJson(std::string_view json, size_t readable, const ObjectDecodeOptions& options = {});
// The same decode into a Workload the caller keeps across calls (a webhook
// worker, a benchmark loop): `out` is reset first (it need not be empty) and
// its strings, vectors and maps keep their capacity, so a steady stream of
// similar objects decodes without allocating. On success `out` equals what
// DecodeObjectJson() returns; on error the status is DecodeObjectJson()'s and
// `out` holds an unspecified partial decode (the next call resets it).
Status DecodeObjectJsonInto(std::string_view json, size_t readable, const ObjectDecodeOptions& options,
                            Workload* out);

// The kernel kAuto resolves to in this process ("avx2" or "generic"), and
// whether `kernel` can run here (kAvx2: built in and supported by the CPU).
std::string_view ActiveJsonKernel();
bool JsonKernelAvailable(JsonKernel kernel);

}  // namespace invar::policy
