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

// Limits that keep hostile input bounded.
struct DecodeLimits {
  size_t max_bytes = 64u << 20;   // per input
  int max_depth = 256;            // nesting of objects/arrays
  size_t max_documents = 100000;  // per YAML stream / JSON values per input
  // YAML nodes the decoder may visit per document, counting every alias
  // expansion: bounds "billion laughs" documents (a 5 KB Pod visits ~300).
  size_t max_yaml_nodes = 1000000;
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

}  // namespace invar::policy
