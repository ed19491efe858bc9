// SPDX-License-Identifier: Apache-2.0
// Output template compiler and renderer (see output.h).
#include "output.h"

#include <cctype>

namespace invar::rules::internal {
namespace {

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

}  // namespace

void Sanitize(std::string* s) {
  for (char& c : *s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '.';
  }
}

std::optional<OutputTemplate> CompileOutput(std::string_view text, OutputError* error) {
  OutputTemplate t;
  std::string literal;
  size_t i = 0;
  auto read_name = [&](size_t* pos) {
    size_t start = *pos;
    while (*pos < text.size() && IsNameChar(text[*pos])) ++*pos;
    // A sentence-ending '.' is not part of the field: "%proc.name." -> proc.name
    while (*pos > start && text[*pos - 1] == '.') --*pos;
    return std::string(text.substr(start, *pos - start));
  };
  while (i < text.size()) {
    char c = text[i];
    if (c != '%' || i + 1 >= text.size() || !IsNameStart(text[i + 1])) {
      literal.push_back(c);
      ++i;
      continue;
    }
    size_t pos = i + 1;
    std::string name = read_name(&pos);
    FieldRef ref;
    if (pos < text.size() && text[pos] == '(' && FindTransformer(name)) {
      ref.transformer = *FindTransformer(name);
      ++pos;
      std::string inner = read_name(&pos);
      ref.info = FindField(inner);
      if (ref.info == nullptr) {
        error->message = "invalid formatting token " + inner;
        error->unknown_field = true;
        return std::nullopt;
      }
      if (ref.info->takes_arg && pos < text.size() && text[pos] == '[') {
        size_t close = text.find(']', pos);
        if (close == std::string_view::npos) {
          error->message = "missing ']' in output field " + inner;
          return std::nullopt;
        }
        ref.arg = std::string(text.substr(pos + 1, close - pos - 1));
        pos = close + 1;
      }
      if (pos >= text.size() || text[pos] != ')') {
        error->message = "missing ')' after transformed output field " + inner;
        return std::nullopt;
      }
      ++pos;
      if (ref.info->type != FieldType::kString) {
        error->message = "can't add field transformer: '" + std::string(TransformerName(ref.transformer)) +
                         "' supports only string fields, not '" + inner + "'";
        return std::nullopt;
      }
    } else {
      ref.info = FindField(name);
      if (ref.info == nullptr) {
        error->message = "invalid formatting token " + name;
        error->unknown_field = true;
        return std::nullopt;
      }
      if (pos < text.size() && text[pos] == '[') {
        size_t close = text.find(']', pos);
        if (close == std::string_view::npos) {
          error->message = "missing ']' in output field " + name;
          return std::nullopt;
        }
        if (!ref.info->takes_arg) {
          error->message = "filter " + name + " does not take an argument";
          return std::nullopt;
        }
        ref.arg = std::string(text.substr(pos + 1, close - pos - 1));
        pos = close + 1;
      }
    }
    if (ref.info->takes_arg && ref.arg.empty()) {
      error->message = "filter " + std::string(ref.info->name) + " requires an argument: " +
                       std::string(ref.info->name) + "[key]";
      return std::nullopt;
    }
    t.segments.push_back({std::move(literal), ref});
    literal.clear();
    bool seen = false;
    for (const auto& f : t.fields) {
      if (f.ToString() == ref.ToString()) seen = true;
    }
    if (!seen) t.fields.push_back(ref);
    i = pos;
  }
  if (!literal.empty()) t.segments.push_back({std::move(literal), std::nullopt});
  return t;
}

std::string RenderOutput(const OutputTemplate& t, const Event& e) {
  std::string out;
  out.reserve(128);
  std::string value;
  for (const auto& seg : t.segments) {
    out += seg.literal;
    if (!seg.field) continue;
    if (RenderField(e, *seg.field, &value)) {
      Sanitize(&value);
      out += value;
    } else {
      out += "<NA>";
    }
  }
  return out;
}

}  // namespace invar::rules::internal
