// SPDX-License-Identifier: Apache-2.0
// DecodeJson(): a file's bytes -> Workloads. Accepts one JSON value, a
// top-level array of objects, or concatenated values (NDJSON, `kubectl get -o
// json` output piped together). Each top-level value is located with a small
// byte scanner (strings and escapes aware), checked against
// DecodeLimits::max_depth, then parsed on its own with simdjson on-demand, so
// a malformed value is reported with its line and the values after it are
// still decoded. Also Decode(), which sniffs JSON vs YAML.
// Pure function; thread-safe (each call owns its parser).
#include <simdjson.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "decode_extract.h"
#include "decode_json_adapter.h"
#include "invar/policy/decode.h"

namespace invar::policy {
namespace {

using decode_internal::JsonAdapter;
using decode_internal::JType;

class ResultSink final : public decode_internal::Sink {
 public:
  explicit ResultSink(DecodeResult& r) : r_(r) {}
  void OnWorkload(Workload w) override { r_.workloads.push_back(std::move(w)); }
  void OnSkipped(SkippedObject s) override { r_.skipped.push_back(std::move(s)); }
  void OnError(DecodeError e) override { r_.errors.push_back(std::move(e)); }

 private:
  DecodeResult& r_;
};

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
  ResultSink sink(result);
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

DecodeResult Decode(std::string_view data, std::string_view file, const DecodeLimits& limits) {
  size_t i = 0;
  // A UTF-8 byte order mark is not content.
  if (data.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
  while (i < data.size() && IsSpace(data[i])) ++i;
  if (i < data.size() && (data[i] == '{' || data[i] == '[')) return DecodeJson(data, file, limits);
  return DecodeYaml(data, file, limits);
}

}  // namespace invar::policy
