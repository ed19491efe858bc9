// SPDX-License-Identifier: Apache-2.0
// The JSON decoder's body, compiled twice (runtime dispatch, see
// docs/decoders.md): decode_json.cpp includes it with the default flags
// (simdjson's builtin on-demand implementation is then `fallback`: runs on any
// x86-64) and decode_json_avx2.cpp with -mavx2 -mbmi -mbmi2 -mpclmul -mlzcnt
// -mpopcnt (builtin `haswell`). The includer defines INVAR_JSON_KERNEL (the
// namespace of its entry points, `generic` or `avx2`) and includes this file
// exactly once. decode_json.cpp checks the CPU once and calls one of the two.
//
// Why the two copies cannot mix (ODR), which is what makes the AVX2 build
// safe to link into a binary that must run on any x86-64:
//  - Everything simdjson compiles differently per ISA is in its
//    implementation namespace (simdjson::fallback::ondemand vs
//    simdjson::haswell::ondemand); our adapter over it is in an inline
//    namespace named after that implementation (decode_json_adapter.h), so
//    Extractor<kernel_haswell::JsonAdapter> and every lambda in it are
//    distinct symbols from the generic ones; the entry points are in
//    json_kernel::avx2 / json_kernel::generic; helpers below are in an
//    unnamed namespace (internal linkage).
//  - What remains shared by name is inline code from headers: libstdc++
//    (std::string, std::vector<Container>::_M_realloc_insert, ...), the model
//    types' implicit members, decode_extract.h's non-template helpers and
//    simdjson's top-level (non-implementation) inline functions. Compiled
//    with -mavx2 these are NOT ISA-neutral (GCC VEX-encodes every SSE move
//    and may vectorize loops), and the linker keeps one copy of each
//    COMDAT/weak definition for the whole program: if it kept the AVX2 TU's
//    copy, generic code on an old CPU would execute AVX2 and die with SIGILL.
//    So the AVX2 TU is compiled with GCC's -fno-weak, which gives such
//    functions internal linkage in that TU (its own private copies), while
//    static data inside inline functions stays one shared definition. The
//    ctest policy_json_avx2_symbols checks the object file: it must define
//    no global or weak code symbol outside the avx2 / kernel_haswell /
//    simdjson::haswell namespaces.
//  - clang has no -fno-weak: with clang the AVX2 build is only enabled for
//    fuzzing builds (INVAR_FUZZ), whose binaries run on the developer's
//    machine; see enforcer/policy/CMakeLists.txt.
//  - decode_json.cpp calls into the avx2 namespace only after
//    __builtin_cpu_supports/cpuid confirm AVX2, BMI1, BMI2, PCLMUL, LZCNT and
//    POPCNT (GCC's and clang's checks include the OS's XSAVE/YMM support).
// Thread-safe: each call uses its own or a thread_local parser.
#ifndef INVAR_JSON_KERNEL
#error "define INVAR_JSON_KERNEL (generic or avx2) before including decode_json_kernel.h"
#endif

#include <simdjson.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "decode_extract.h"
#include "decode_json_adapter.h"
#include "invar/policy/decode.h"
#include "json_kernels.h"

namespace invar::policy::json_kernel::INVAR_JSON_KERNEL {
namespace {

using decode_internal::JsonAdapter;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// One top-level value found by the scanner: [begin, end) and its max nesting.
struct Span {
  size_t begin = 0;
  size_t end = 0;
  int depth = 0;
  bool unterminated = false;
};

// Finds the end of the value starting at `pos` (not whitespace). Containers
// end where their bracket depth returns to zero outside strings; scalars end
// at whitespace or at the next container. An unbalanced container runs to the
// end of the input (it is reported as one error).
Span ScanValue(std::string_view s, size_t pos) {
  Span span;
  span.begin = pos;
  const size_t n = s.size();
  char c = s[pos];
  if (c == '{' || c == '[') {
    int depth = 0;
    bool in_string = false;
    for (size_t i = pos; i < n; ++i) {
      char ch = s[i];
      if (in_string) {
        if (ch == '\\') {
          ++i;
        } else if (ch == '"') {
          in_string = false;
        }
        continue;
      }
      if (ch == '"') {
        in_string = true;
      } else if (ch == '{' || ch == '[') {
        if (++depth > span.depth) span.depth = depth;
      } else if (ch == '}' || ch == ']') {
        if (--depth == 0) {
          span.end = i + 1;
          return span;
        }
      }
    }
    span.end = n;
    span.unterminated = true;
    return span;
  }
  if (c == '"') {
    for (size_t i = pos + 1; i < n; ++i) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        span.end = i + 1;
        return span;
      }
    }
    span.end = n;
    span.unterminated = true;
    return span;
  }
  size_t i = pos;
  while (i < n && !IsSpace(s[i]) && s[i] != '{' && s[i] != '[') ++i;
  span.end = i == pos ? pos + 1 : i;  // always make progress
  return span;
}

std::string TypeName(simdjson::ondemand::json_type t) {
  switch (t) {
    case simdjson::ondemand::json_type::array: return "array";
    case simdjson::ondemand::json_type::object: return "object";
    case simdjson::ondemand::json_type::number: return "number";
    case simdjson::ondemand::json_type::string: return "string";
    case simdjson::ondemand::json_type::boolean: return "boolean";
    case simdjson::ondemand::json_type::null: return "null";
  }
  return "unknown";
}

}  // namespace


DecodeResult DecodeJson(std::string_view json, std::string_view file, const DecodeLimits& limits) {
  DecodeResult result;
  decode_internal::ResultSink sink(result);
  SourceLocation file_loc;
  file_loc.file = std::string(file);
  if (json.size() > limits.max_bytes) {
    file_loc.line = 1;
    result.errors.push_back({file_loc, "input is " + std::to_string(json.size()) + " bytes, more than the limit of " +
                                           std::to_string(limits.max_bytes)});
    return result;
  }
  // One padded copy of the input; every value is parsed in place from it.
  simdjson::padded_string padded(json);
  const char* base = padded.data();
  simdjson::ondemand::parser parser;
  JsonAdapter line_counter(base);

  size_t pos = json.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // a UTF-8 byte order mark
  int document = 0;
  while (true) {
    while (pos < json.size() && IsSpace(json[pos])) ++pos;
    if (pos >= json.size()) break;
    Span span = ScanValue(json, pos);
    pos = span.end;
    SourceLocation loc = file_loc;
    loc.document = document++;
    loc.line = line_counter.LineAt(base + span.begin);
    if (static_cast<size_t>(document) > limits.max_documents) {
      result.errors.push_back({loc, "more than " + std::to_string(limits.max_documents) + " JSON values"});
      break;
    }
    const char first = json[span.begin];
    if (std::string_view("{[\"-0123456789tfn").find(first) == std::string_view::npos) {
      char shown[8];
      std::snprintf(shown, sizeof shown, first >= 0x20 && first < 0x7f ? "'%c'" : "0x%02x",
                    static_cast<unsigned char>(first));
      result.errors.push_back({loc, std::string("invalid JSON: unexpected ") + shown});
      // Resynchronise at the next line: NDJSON keeps one value per line.
      size_t eol = json.find('\n', span.begin);
      pos = eol == std::string_view::npos ? json.size() : eol + 1;
      continue;
    }
    if (span.depth > limits.max_depth) {
      result.errors.push_back({loc, "nesting deeper than " + std::to_string(limits.max_depth)});
      continue;
    }
    if (span.unterminated) {
      result.errors.push_back({loc, "invalid JSON: unterminated value"});
      continue;
    }
    const size_t len = span.end - span.begin;
    simdjson::ondemand::document doc;
    if (auto e = parser.iterate(base + span.begin, len, padded.size() + simdjson::SIMDJSON_PADDING - span.begin)
                     .get(doc)) {
      result.errors.push_back({loc, std::string("invalid JSON: ") + simdjson::error_message(e)});
      continue;
    }
    simdjson::ondemand::json_type type;
    if (auto e = doc.type().get(type)) {
      result.errors.push_back({loc, std::string("invalid JSON: ") + simdjson::error_message(e)});
      continue;
    }
    if (type == simdjson::ondemand::json_type::null) continue;  // `null`: no object
    if (type != simdjson::ondemand::json_type::object && type != simdjson::ondemand::json_type::array) {
      result.errors.push_back({loc, "expected object, got " + TypeName(type)});
      continue;
    }
    simdjson::ondemand::value root;
    if (auto e = doc.get_value().get(root)) {
      result.errors.push_back({loc, std::string("invalid JSON: ") + simdjson::error_message(e)});
      continue;
    }
    JsonAdapter adapter(base);
    decode_internal::Extractor<JsonAdapter> extractor(adapter, limits.max_depth);
    if (type == simdjson::ondemand::json_type::object) {
      JsonAdapter::Node node{root};
      extractor.DecodeTop(node, loc, sink);
      continue;
    }
    // A top-level array: each element is an object of its own.
    simdjson::ondemand::array arr;
    if (auto e = root.get_array().get(arr)) {
      result.errors.push_back({loc, std::string("invalid JSON: ") + simdjson::error_message(e)});
      continue;
    }
    int index = 0;
    for (auto element : arr) {
      simdjson::ondemand::value v;
      if (auto e = std::move(element).get(v)) {
        result.errors.push_back({loc, std::string("invalid JSON: ") + simdjson::error_message(e)});
        break;
      }
      SourceLocation item_loc = loc;
      item_loc.item = "[" + std::to_string(index++) + "]";
      JsonAdapter::Node node{v};
      if (!extractor.DecodeTop(node, std::move(item_loc), sink)) break;
    }
  }
  return result;
}

// RFC 6901 syntax: "" or '/'-separated tokens in which '~' is only ever
// followed by '0' or '1'.
inline bool ValidJsonPointer(std::string_view pointer) {
  if (pointer.empty()) return true;
  if (pointer[0] != '/') return false;
  for (size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '~' && (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))) return false;
  }
  return true;
}

inline std::string_view ScalarTypeName(simdjson::ondemand::json_type type) {
  switch (type) {
    case simdjson::ondemand::json_type::number: return "number";
    case simdjson::ondemand::json_type::string: return "string";
    case simdjson::ondemand::json_type::boolean: return "boolean";
    case simdjson::ondemand::json_type::null: return "null";
    case simdjson::ondemand::json_type::array: return "array";
    case simdjson::ondemand::json_type::object: return "object";
  }
  return "unknown";
}

Status DecodeObjectJsonInto(const char* data, size_t size, size_t capacity, std::string_view pointer,
                            int max_depth, Workload* out) {
  // One parser per thread, reused: its buffers grow to the largest object
  // seen, so objects above 1 MiB get a parser of their own.
  constexpr size_t kReuseLimit = 1u << 20;
  thread_local simdjson::ondemand::parser reused;
  simdjson::ondemand::parser own;
  simdjson::ondemand::parser& parser = size <= kReuseLimit ? reused : own;
  simdjson::ondemand::document doc;
  if (auto e = parser.iterate(data, size, capacity).get(doc)) {
    return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(e));
  }
  if (!ValidJsonPointer(pointer))
    return Status::InvalidArgument("invalid JSON pointer " + std::string(pointer));
  // The walk over the structural index first (decode_json_adapter.h,
  // IndexAdapter), which resolves the pointer itself; on any failure, or when
  // the object is not a pod-spec kind, at_pointer() and the on-demand walk
  // below decode it again and report exactly what they always did. Neither
  // get_value() nor the fast walk moves the document's iterator.
  simdjson::ondemand::value object;
  if (doc.get_value().get(object) == simdjson::SUCCESS &&
      decode_internal::DecodeOnIndex(object, pointer, max_depth, /*step_past=*/false, out)) {
    return Status::Ok();
  }
  auto e = pointer.empty() ? doc.get_value().get(object) : doc.at_pointer(pointer).get(object);
  if (e == simdjson::SCALAR_DOCUMENT_AS_VALUE) {
    // A valid document that is a lone scalar: the same message as a scalar
    // found through a pointer.
    simdjson::ondemand::json_type type{};
    if (doc.type().get(type) == simdjson::SUCCESS) {
      return Status::InvalidArgument("expected object, got " + std::string(ScalarTypeName(type)));
    }
  }
  if (e == simdjson::NO_SUCH_FIELD || e == simdjson::INDEX_OUT_OF_BOUNDS || e == simdjson::INCORRECT_TYPE ||
      e == simdjson::INVALID_JSON_POINTER) {
    // The pointer is well formed (checked above), so each of these means
    // "nothing there": a missing key, an index past the end or written with
    // a leading zero, "-", a key asked of an array or anything asked of a
    // scalar. (simdjson reports the last ones as INCORRECT_TYPE or
    // INVALID_JSON_POINTER, which read as if the JSON or the pointer were bad.)
    return Status::NotFound(std::string(pointer) + ": not found");
  }
  if (e) return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(e));
  JsonAdapter adapter;
  decode_internal::Extractor<JsonAdapter> extractor(adapter, max_depth);
  JsonAdapter::Node node{object};
  return extractor.DecodeSingle(node, out);
}

}  // namespace invar::policy::json_kernel::INVAR_JSON_KERNEL
