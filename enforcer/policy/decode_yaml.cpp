// SPDX-License-Identifier: Apache-2.0
// DecodeYaml(): a YAML stream -> Workloads, with yaml-cpp.
//
// Who calls it: `invar report` for every manifest file (through Decode()).
// Pure function; thread-safe (yaml-cpp keeps no global state).
//
// How it mirrors kubectl. kubectl reads manifests with sigs.k8s.io/yaml, whose
// YAMLToJSON runs go-yaml v2 (YAML 1.1 resolution) into interface{} and
// marshals the result to JSON; the API server then decodes that JSON into
// typed structs. So what matters is the JSON type each scalar becomes:
//   - plain (unquoted) scalars are resolved the go-yaml v2 way: y/Y/yes/Yes/
//     YES/on/On/ON/true/True/TRUE are boolean true, n/N/no/No/NO/off/Off/OFF/
//     false/False/FALSE boolean false, ""/~/null/Null/NULL null, Go-syntax
//     integers (0x.., 0o.., 0b.., leading-0 octal, '_' separators) and YAML
//     floats are numbers, everything else (including timestamps) a string.
//     `privileged: yes` therefore means privileged: true, exactly as
//     `kubectl apply` sends it, and `image: 1.0` is a number (an error, as
//     the API server would say).
//   - quoted and block scalars are always strings: `privileged: "yes"` is a
//     type error.
//   - a float with an integral value (`runAsUser: 1e3`) is marshalled by Go
//     as `1000` and accepted for integer fields; other floats are not.
//   - merge keys (`<<: *base`) are applied in document order (go-yaml v2).
//   - plain mapping keys that resolve to booleans/null become "true"/"false"/
//     "null", as YAMLToJSON does; numeric keys keep their text.
//
// Error recovery: yaml-cpp stops at the first parse error of a stream, so the
// stream is split at document markers (`---` at the start of a line), as
// kubectl's YAML reader does, and the first document of each part is parsed
// on its own (a document after `...` without `---` is ignored, as by kubectl); a malformed document is reported with file and
// line and the documents after it are still decoded. Limitation: a line that
// starts with `---` inside a top-level block scalar (the only place YAML lets
// one appear unindented) is taken as a document marker.
//
// Bounds: max_bytes per input, max_documents per stream, yaml-cpp's own
// nesting guard (DeepRecursion at depth 2000) plus a flow-nesting pre-scan at
// max_depth, and a budget of visited nodes per document so alias bombs
// ("billion laughs") cannot expand without limit.
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "decode_extract.h"
#include "invar/policy/decode.h"

namespace invar::policy {
namespace {

using decode_internal::JType;
using decode_internal::ResultSink;

// The JSON value a scalar becomes under go-yaml v2 resolution.
struct Scalar {
  JType type = JType::kString;
  bool b = false;
  bool is_int = false;    // integer that fits int64
  bool int_overflow = false;
  int64_t i = 0;
  double f = 0;
};

bool OneOf(std::string_view s, std::initializer_list<std::string_view> list) {
  for (auto x : list) {
    if (s == x) return true;
  }
  return false;
}

// strconv.ParseInt(s, 0, 64) / ParseUint semantics after '_' removal.
bool ParseGoInt(const std::string& s, int64_t* out, bool* overflow) {
  if (s.empty()) return false;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return false;
  int base = 10;
  if (s[i] == '0' && i + 1 < s.size()) {
    char p = s[i + 1];
    if (p == 'x' || p == 'X') {
      base = 16;
      i += 2;
    } else if (p == 'o' || p == 'O') {
      base = 8;
      i += 2;
    } else if (p == 'b' || p == 'B') {
      base = 2;
      i += 2;
    } else {
      base = 8;
      i += 1;
    }
  }
  if (i >= s.size()) return false;
  unsigned __int128 v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return false;
    }
    if (d >= base) return false;
    v = v * base + d;
    if (v > (static_cast<unsigned __int128>(1) << 64)) {
      *overflow = true;  // keep validating digits
      v = static_cast<unsigned __int128>(1) << 64;
    }
  }
  const unsigned __int128 kMax = static_cast<unsigned __int128>(INT64_MAX);
  if (neg ? v > kMax + 1 : v > kMax) {
    *overflow = true;
    return true;
  }
  *out = neg ? static_cast<int64_t>(-static_cast<__int128>(v)) : static_cast<int64_t>(v);
  return true;
}

// go-yaml v2's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool IsYamlFloat(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  } else {
    if (!digits()) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

Scalar ResolvePlain(const std::string& s) {
  Scalar r;
  if (OneOf(s, {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})) {
    r.type = JType::kBool;
    r.b = true;
    return r;
  }
  if (OneOf(s, {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})) {
    r.type = JType::kBool;
    return r;
  }
  if (OneOf(s, {"", "~", "null", "Null", "NULL"})) {
    r.type = JType::kNull;
    return r;
  }
  if (OneOf(s, {".nan", ".NaN", ".NAN"})) {
    r.type = JType::kNumber;
    r.f = std::nan("");
    return r;
  }
  if (OneOf(s, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"})) {
    r.type = JType::kNumber;
    r.f = s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
    return r;
  }
  char c = s[0];
  if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
    std::string plain;
    plain.reserve(s.size());
    for (char ch : s) {
      if (ch != '_') plain += ch;
    }
    bool overflow = false;
    int64_t v = 0;
    if (ParseGoInt(plain, &v, &overflow)) {
      r.type = JType::kNumber;
      r.is_int = !overflow;
      r.int_overflow = overflow;
      r.i = v;
      return r;
    }
    if (IsYamlFloat(plain)) {
      errno = 0;
      r.type = JType::kNumber;
      r.f = std::strtod(plain.c_str(), nullptr);
      return r;
    }
    return r;  // a timestamp or text: string
  }
  if (c == '.' && IsYamlFloat(s)) {
    r.type = JType::kNumber;
    r.f = std::strtod(s.c_str(), nullptr);
  }
  return r;
}

class YamlAdapter {
 public:
  using Node = YAML::Node;

  YamlAdapter(int line_offset, size_t node_budget) : line_offset_(line_offset), budget_(node_budget) {}

  bool Type(Node& n, JType* t) {
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: *t = JType::kNull; return true;
      case YAML::NodeType::Sequence: *t = JType::kArray; return true;
      case YAML::NodeType::Map: *t = JType::kObject; return true;
      case YAML::NodeType::Scalar: break;
    }
    Scalar s;
    if (!Resolve(n, &s)) return false;
    *t = s.type;
    return true;
  }

  bool Bool(Node& n, bool* out) {
    Scalar s;
    if (!Resolve(n, &s)) return false;
    *out = s.b;
    return true;
  }

  bool Int(Node& n, int64_t* out) {
    Scalar s;
    if (!Resolve(n, &s)) return false;
    if (s.is_int) {
      *out = s.i;
      return true;
    }
    if (s.int_overflow) return Fail(n, "integer out of range for int64");
    // Go marshals an integral float64 below 1e21 without a fraction or
    // exponent, so the API server reads it as an integer.
    if (std::isfinite(s.f) && std::trunc(s.f) == s.f && std::fabs(s.f) < 1e21) {
      if (std::fabs(s.f) >= 9.2233720368547758e18) return Fail(n, "integer out of range for int64");
      *out = static_cast<int64_t>(s.f);
      return true;
    }
    return Fail(n, "expected integer, got number");
  }

  bool Str(Node& n, std::string* out) {
    *out = n.Scalar();
    return true;
  }

  template <typename F>
  bool Fields(Node& n, F&& f) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!Visit(n)) return false;
      Node key(it->first);
      Node value(it->second);
      if (key.Type() != YAML::NodeType::Scalar) {
        if (key.Type() == YAML::NodeType::Null) {
          if (!f("null", value)) return false;
          continue;
        }
        return Fail(key, "mapping keys must be strings");
      }
      const std::string& text = key.Scalar();
      const std::string& tag = key.Tag();
      const bool plain = tag == "?" || tag.empty();
      if (plain && text == "<<") {
        if (!Merge(value, f)) return false;
        continue;
      }
      if (plain) {
        Scalar s = ResolvePlain(text);
        if (s.type == JType::kBool) {
          if (!f(s.b ? "true" : "false", value)) return false;
          continue;
        }
        if (s.type == JType::kNull) {
          if (!f("null", value)) return false;
          continue;
        }
      }
      if (!f(std::string_view(text), value)) return false;
    }
    return true;
  }

  template <typename F>
  bool Elements(Node& n, F&& f) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!Visit(n)) return false;
      Node child(*it);
      if (!f(child)) return false;
    }
    return true;
  }

  int Line(const Node& n) {
    YAML::Mark m = n.Mark();
    return m.is_null() ? 0 : m.line + 1 + line_offset_;
  }

  const std::string& error() const { return error_; }
  int error_line() const { return error_line_; }
  bool syntax_error() const { return fatal_; }
  bool budget_exceeded() const { return fatal_; }

 private:
  template <typename F>
  bool Merge(Node& value, F&& f) {
    if (value.Type() == YAML::NodeType::Map) return Fields(value, f);
    if (value.Type() == YAML::NodeType::Sequence) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!Visit(value)) return false;
        Node m(*it);
        if (m.Type() != YAML::NodeType::Map) return Fail(m, "merge key (<<) needs a mapping or a list of mappings");
        if (!Fields(m, f)) return false;
      }
      return true;
    }
    return Fail(value, "merge key (<<) needs a mapping or a list of mappings");
  }

  bool Resolve(const Node& n, Scalar* s) {
    const std::string& tag = n.Tag();
    const std::string& text = n.Scalar();
    if (tag == "?" || tag.empty()) {
      *s = ResolvePlain(text);
      return true;
    }
    if (tag == "!" || tag == "tag:yaml.org,2002:str") {
      *s = Scalar();
      return true;
    }
    // Explicit core tags: the text must fit the tag (go-yaml errors otherwise).
    Scalar r = ResolvePlain(text);
    if (tag == "tag:yaml.org,2002:bool" && r.type == JType::kBool) return (*s = r, true);
    if (tag == "tag:yaml.org,2002:null" && r.type == JType::kNull) return (*s = r, true);
    if ((tag == "tag:yaml.org,2002:int" && r.type == JType::kNumber && (r.is_int || r.int_overflow)) ||
        (tag == "tag:yaml.org,2002:float" && r.type == JType::kNumber)) {
      *s = r;
      return true;
    }
    if (tag.rfind("tag:yaml.org,2002:", 0) == 0) {
      return Fail(n, "cannot decode " + tag.substr(18) + " `" + text.substr(0, 64) + "`");
    }
    // Local tags (`!foo`) are ignored by YAMLToJSON: resolve as plain.
    *s = r;
    return true;
  }

  bool Visit(const Node& n) {
    if (++visited_ <= budget_) return true;
    fatal_ = true;
    return Fail(n, "document expands to more than " + std::to_string(budget_) +
                       " nodes (alias expansion is bounded)");
  }

  bool Fail(const Node& n, std::string msg) {
    error_ = std::move(msg);
    error_line_ = Line(n);
    return false;
  }

  int line_offset_;
  size_t budget_;
  size_t visited_ = 0;
  std::string error_;
  int error_line_ = 0;
  bool fatal_ = false;
};

// A piece of the stream between document markers.
struct Chunk {
  std::string_view text;
  int first_line = 0;  // 0-based line of text[0]
};

bool IsDocumentMarker(std::string_view line) {
  if (line.size() < 3 || line.substr(0, 3) != "---") return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

std::vector<Chunk> SplitDocuments(std::string_view s) {
  std::vector<Chunk> chunks;
  size_t start = 0;
  int start_line = 0;
  int line = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t eol = s.find('\n', pos);
    size_t end = eol == std::string_view::npos ? s.size() : eol;
    if (pos != start && IsDocumentMarker(s.substr(pos, end - pos))) {
      chunks.push_back({s.substr(start, pos - start), start_line});
      start = pos;
      start_line = line;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
    ++line;
  }
  chunks.push_back({s.substr(start), start_line});
  return chunks;
}

// Deepest flow nesting ([ and { outside quotes and comments). yaml-cpp
// recurses once per level; its own guard stops at 2000, which is deeper than
// a sanitizer-instrumented stack should go, so deep flow nesting is refused
// before parsing. Overcounts brackets inside plain scalars, which only matters
// for input that is hostile anyway.
int FlowDepth(std::string_view s) {
  int depth = 0, max_depth = 0;
  char quote = 0;
  bool comment = false;
  bool escaped = false;
  char prev = '\n';
  for (char c : s) {
    if (comment) {
      if (c == '\n') comment = false;
    } else if (quote != 0) {
      if (escaped) {
        escaped = false;
      } else if (quote == '"' && c == '\\') {
        escaped = true;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '#' && (prev == ' ' || prev == '\t' || prev == '\n')) {
      comment = true;
    } else if ((c == '"' || c == '\'') && (prev == ' ' || prev == '\t' || prev == '\n' || prev == '[' ||
                                           prev == '{' || prev == ',' || prev == ':')) {
      quote = c;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) max_depth = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
    prev = c;
  }
  return max_depth;
}

// 1-based line (within `s`) of a ',' that begins the document's root node
// (after directives, the `---` marker, comments and node properties), or 0.
// yaml-cpp 0.7 loops forever on such input when reading a stream, and reads it
// as an empty document otherwise; go-yaml rejects it.
int LeadingFlowEntryLine(std::string_view s) {
  int line = 1;
  size_t i = 0;
  bool line_start = true;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\n') {
      ++line;
      ++i;
      line_start = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    const bool directive = line_start && c == '%';
    const bool marker = line_start && s.substr(i, 3) == "---";
    line_start = false;
    if (c == '#' || directive) {
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    if (marker) {
      i += 3;
      continue;
    }
    if (c == '&' || c == '!') {  // an anchor or a tag: skip the property
      while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != ',') ++i;
      continue;
    }
    return c == ',' ? line : 0;
  }
  return 0;
}

// Deepest block nesting, measured as the widest run of indentation and of
// compact block indicators ("- ", "? ", ": ") at the start of a line (each
// indicator opens a level: "- - - x" is three nested sequences).
int BlockDepth(std::string_view s) {
  int max_depth = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t eol = s.find('\n', pos);
    size_t end = eol == std::string_view::npos ? s.size() : eol;
    int width = 0;
    size_t i = pos;
    while (i < end) {
      char c = s[i];
      if (c == ' ') {
        ++width;
        ++i;
      } else if ((c == '-' || c == '?' || c == ':') && (i + 1 == end || s[i + 1] == ' ')) {
        width += 2;
        i += 2;
      } else {
        break;
      }
    }
    if (width > max_depth) max_depth = width;
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return max_depth;
}

}  // namespace

DecodeResult DecodeYaml(std::string_view yaml, std::string_view file, const DecodeLimits& limits) {
  DecodeResult result;
  SourceLocation file_loc;
  file_loc.file = std::string(file);
  if (yaml.size() > limits.max_bytes) {
    file_loc.line = 1;
    result.errors.push_back({file_loc, "input is " + std::to_string(yaml.size()) + " bytes, more than the limit of " +
                                           std::to_string(limits.max_bytes)});
    return result;
  }
  if (yaml.substr(0, 3) == "\xEF\xBB\xBF") yaml.remove_prefix(3);
  int document = 0;
  for (const Chunk& chunk : SplitDocuments(yaml)) {
    SourceLocation loc = file_loc;
    loc.line = chunk.first_line + 1;
    loc.document = document;
    if (FlowDepth(chunk.text) > limits.max_depth || BlockDepth(chunk.text) > 2 * limits.max_depth + 64) {
      ++document;
      result.errors.push_back({loc, "nesting deeper than " + std::to_string(limits.max_depth)});
      continue;
    }
    if (int line = LeadingFlowEntryLine(chunk.text); line > 0) {
      ++document;
      SourceLocation l = loc;
      l.line = chunk.first_line + line;
      result.errors.push_back({l, "invalid YAML: unexpected ',' where a document should start"});
      continue;
    }
    std::vector<YAML::Node> docs;
    try {
      // One document per part, like kubectl (its reader splits at `---` and
      // go-yaml reads one document from each part). Not LoadAll: yaml-cpp
      // 0.7's LoadAll never ends on some malformed input (a document that
      // starts with ','), producing empty documents until memory runs out.
      docs.push_back(YAML::Load(std::string(chunk.text)));
    } catch (const YAML::Exception& e) {
      ++document;
      SourceLocation l = loc;
      if (!e.mark.is_null()) l.line = chunk.first_line + e.mark.line + 1;
      result.errors.push_back({l, "invalid YAML: " + e.msg});
      continue;
    } catch (const std::exception& e) {
      ++document;
      result.errors.push_back({loc, std::string("invalid YAML: ") + e.what()});
      continue;
    }
    for (YAML::Node& doc : docs) {
      SourceLocation doc_loc = loc;
      doc_loc.document = document++;
      if (static_cast<size_t>(document) > limits.max_documents) {
        result.errors.push_back({doc_loc, "more than " + std::to_string(limits.max_documents) + " YAML documents"});
        return result;
      }
      YamlAdapter adapter(chunk.first_line, limits.max_yaml_nodes);
      decode_internal::Extractor<YamlAdapter> extractor(adapter, limits.max_depth);
      // Per document, so that a document over the node budget fails as a
      // whole instead of leaving the part decoded before the budget ran out.
      DecodeResult part;
      ResultSink part_sink(part);
      try {
        extractor.DecodeTop(doc, doc_loc, part_sink);
      } catch (const std::exception& e) {
        // yaml-cpp throws on zombie nodes; nothing valid input can reach.
        part.errors.push_back({doc_loc, std::string("invalid YAML: ") + e.what()});
      }
      if (adapter.budget_exceeded()) {
        part.workloads.clear();
        part.skipped.clear();
        if (part.errors.size() > 1) part.errors.erase(part.errors.begin(), part.errors.end() - 1);
      }
      for (auto& w : part.workloads) result.workloads.push_back(std::move(w));
      for (auto& s : part.skipped) result.skipped.push_back(std::move(s));
      for (auto& e : part.errors) result.errors.push_back(std::move(e));
    }
  }
  return result;
}

}  // namespace invar::policy
