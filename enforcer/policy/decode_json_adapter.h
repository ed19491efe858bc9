// SPDX-License-Identifier: Apache-2.0
// The simdjson on-demand node adapter for Extractor<> (decode_extract.h).
// Forward-only iteration: values the schema does not need are skipped by
// simdjson without being parsed. A top-level object can be iterated twice
// (object::reset) for the rare object whose `kind` follows its `spec`.
// Private to enforcer/policy; thread-compatible (one per parse).
//
// The adapter is compiled once per simdjson implementation a translation unit
// builds as its builtin (`fallback` with the default flags, `haswell` in
// decode_json_avx2.cpp, see decode_json_kernel.h): it lives in an inline
// namespace named after that implementation, so the two copies are distinct
// classes (kernel_fallback::JsonAdapter, kernel_haswell::JsonAdapter) and
// the linker can never merge one with the other.
#pragma once

#include <simdjson.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "decode_extract.h"

#define INVAR_JSON_KERNEL_NS_CAT(a, b) a##b
#define INVAR_JSON_KERNEL_NS_EXPAND(impl) INVAR_JSON_KERNEL_NS_CAT(kernel_, impl)
// kernel_fallback, kernel_haswell, ...: the simdjson builtin of this TU.
#define INVAR_JSON_ADAPTER_NS INVAR_JSON_KERNEL_NS_EXPAND(SIMDJSON_BUILTIN_IMPLEMENTATION)

namespace invar::policy::decode_internal {
inline namespace INVAR_JSON_ADAPTER_NS {

class JsonAdapter {
 public:
  struct Node {
    simdjson::ondemand::value v;
    simdjson::ondemand::object obj{};
    bool opened = false;
    bool bool_value = false;  // read by Type(), which validates the atom
  };

  // `base` is the start of the parsed buffer (for line numbers), or nullptr
  // when unknown (admission requests have no lines worth reporting).
  explicit JsonAdapter(const char* base = nullptr) : base_(base) {}

  bool Type(Node& n, JType* t) {
    simdjson::ondemand::json_type jt;
    if (auto e = n.v.type().get(jt)) return Syntax(n, e);
    switch (jt) {
      case simdjson::ondemand::json_type::array: *t = JType::kArray; break;
      case simdjson::ondemand::json_type::object: *t = JType::kObject; break;
      case simdjson::ondemand::json_type::number: *t = JType::kNumber; break;
      case simdjson::ondemand::json_type::string: *t = JType::kString; break;
      case simdjson::ondemand::json_type::boolean:
        // type() only looks at the first byte: read the atom now so that
        // `tru` is a syntax error and not "got boolean".
        if (auto e = n.v.get_bool().get(n.bool_value)) return Syntax(n, e);
        *t = JType::kBool;
        break;
      case simdjson::ondemand::json_type::null:
        // type() only looks at the first byte: make sure it really is null.
        bool is_null = false;
        if (auto e = n.v.is_null().get(is_null)) return Syntax(n, e);
        if (!is_null) return Syntax(n, simdjson::N_ATOM_ERROR);
        *t = JType::kNull;
        break;
    }
    return true;
  }

  bool Bool(Node& n, bool* out) {  // only after Type() said kBool
    *out = n.bool_value;
    return true;
  }

  bool Int(Node& n, int64_t* out) {
    int line = Line(n);
    std::string_view token = n.v.raw_json_token();
    auto e = n.v.get_int64().get(*out);
    if (e == simdjson::SUCCESS) return true;
    if (e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_OUT_OF_RANGE || e == simdjson::NUMBER_ERROR) {
      const bool is_float = token.find_first_of(".eE") != std::string_view::npos;
      if (is_float) return Semantic(line, "expected integer, got number");
      if (e != simdjson::NUMBER_ERROR) return Semantic(line, "integer out of range for int64");
    }
    return Syntax(n, e);
  }

  bool Str(Node& n, std::string* out) {
    std::string_view s;
    if (auto e = n.v.get_string().get(s)) return Syntax(n, e);
    out->assign(s.data(), s.size());
    return true;
  }

  template <typename F>
  bool Fields(Node& n, F&& f) {
    if (!n.opened) {
      if (auto e = n.v.get_object().get(n.obj)) return Syntax(n, e);
      n.opened = true;
    } else {
      bool unused;
      if (auto e = n.obj.reset().get(unused)) return Syntax(n, e);
    }
    for (auto field_result : n.obj) {
      simdjson::ondemand::field field;
      if (auto e = std::move(field_result).get(field)) return Syntax(n, e);
      std::string_view key = RawKey(field);
      if (key.data() == nullptr) {
        // The key has escapes: unescape it into the parser's string buffer.
        if (auto e = field.unescaped_key().get(key)) return Syntax(n, e);
      }
      Node child{field.value()};
      if (!f(key, child)) return false;
    }
    return true;
  }

  template <typename F>
  bool Elements(Node& n, F&& f) {
    simdjson::ondemand::array arr;
    if (auto e = n.v.get_array().get(arr)) return Syntax(n, e);
    for (auto element_result : arr) {
      simdjson::ondemand::value v;
      if (auto e = std::move(element_result).get(v)) return Syntax(n, e);
      Node child{v};
      if (!f(child)) return false;
    }
    return true;
  }

  // The key as written, without copying it, when it has no escapes (every
  // key of a real object); a null view otherwise. Stage 1 has validated that
  // every string is closed, so the scan stops at the closing quote. Scanned
  // 16 bytes at a time (SSE2, in every x86-64): a byte-wise loop was ~5k
  // instructions per 5 KB review. Reading up to 15 bytes past the quote is
  // safe: every parsed buffer has SIMDJSON_PADDING (64) readable bytes after
  // the document, and the key is followed by at least ':' and a value.
  static std::string_view RawKey(simdjson::ondemand::field& field) {
    const char* begin = field.key().raw();
    const char* p = begin;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    while (true) {
      const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const unsigned q = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, quote)));
      const unsigned b = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, backslash)));
      if (q != 0) {
        const unsigned before_quote = (q & (0u - q)) - 1u;  // bits below the first quote
        // A backslash before the first quote: an escape (maybe of that quote).
        if ((b & before_quote) != 0) return {};
        return {begin, static_cast<size_t>(p - begin) + static_cast<size_t>(__builtin_ctz(q))};
      }
      if (b != 0) return {};
      p += 16;
    }
#else
    while (*p != '"') {
      if (*p == '\\') return {};
      ++p;
    }
    return {begin, static_cast<size_t>(p - begin)};
#endif
  }

  // 1-based line of the value's first byte, 0 when unknown. Lines are counted
  // incrementally: the decoder mostly moves forward.
  int Line(Node& n) {
    if (base_ == nullptr) return 0;
    const char* p = nullptr;
    if (n.v.current_location().get(p) != simdjson::SUCCESS || p < base_) return 0;
    return LineAt(p);
  }
  int LineAt(const char* p) {
    if (p < line_pos_) {
      line_pos_ = base_;
      line_ = 1;
    }
    line_ += static_cast<int>(std::count(line_pos_, p, '\n'));
    line_pos_ = p;
    return line_;
  }

  const std::string& error() const { return error_; }
  int error_line() const { return error_line_; }
  bool syntax_error() const { return syntax_; }

 private:
  bool Syntax(Node& n, simdjson::error_code e) {
    error_ = std::string("invalid JSON: ") + simdjson::error_message(e);
    error_line_ = Line(n);
    syntax_ = true;
    return false;
  }
  bool Semantic(int line, std::string msg) {
    error_ = std::move(msg);
    error_line_ = line;
    return false;
  }

  const char* base_;
  const char* line_pos_ = base_;
  int line_ = 1;
  std::string error_;
  int error_line_ = 0;
  bool syntax_ = false;
};

}  // namespace INVAR_JSON_ADAPTER_NS
}  // namespace invar::policy::decode_internal
