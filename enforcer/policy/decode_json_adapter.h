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
#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "decode_extract.h"

#define INVAR_JSON_KERNEL_NS_CAT(a, b) a##b
#define INVAR_JSON_KERNEL_NS_EXPAND(impl) INVAR_JSON_KERNEL_NS_CAT(kernel_, impl)
// kernel_fallback, kernel_haswell, ...: the simdjson builtin of this TU.
#define INVAR_JSON_ADAPTER_NS INVAR_JSON_KERNEL_NS_EXPAND(SIMDJSON_BUILTIN_IMPLEMENTATION)

namespace invar::policy::decode_internal {
inline namespace INVAR_JSON_ADAPTER_NS {

namespace ondemand = simdjson::SIMDJSON_BUILTIN_IMPLEMENTATION::ondemand;

// SkipContainer() below steps over a value on simdjson's structural index
// itself. It needs the value's json_iterator and the index's end, which
// on-demand keeps protected: these two classes only form pointers to those
// members (a derived class may name a protected member of its base; the
// pointer then applies to any object of the base). Nothing is ever derived
// or instantiated. Written against simdjson 3.0.1 (Debian 12); the tests and
// fuzzers compare every decode with simdjson's own skipping.
static_assert(simdjson::SIMDJSON_VERSION_MAJOR == 3, "SkipContainer() follows simdjson 3's on-demand internals");
struct ValueInternals : ondemand::value {
  static ondemand::value_iterator& Iter(ondemand::value& v) { return v.*(&ValueInternals::iter); }
};
struct JsonIteratorInternals : ondemand::json_iterator {
  static ondemand::token_position End(const ondemand::json_iterator& it) {
    return (it.*(&JsonIteratorInternals::end_position))();
  }
  // Where unescape() writes next in the parser's string buffer.
  static uint8_t*& StringBufLoc(ondemand::json_iterator& it) { return it.*(&JsonIteratorInternals::_string_buf_loc); }
};

// Nesting change per structural character: +1 for { and [, -1 for } and ].
struct BracketDeltas {
  int8_t delta[256] = {};
  constexpr BracketDeltas() {
    delta[static_cast<unsigned char>('{')] = 1;
    delta[static_cast<unsigned char>('[')] = 1;
    delta[static_cast<unsigned char>('}')] = -1;
    delta[static_cast<unsigned char>(']')] = -1;
  }
};
// Not inline: decode_json_avx2.cpp is compiled with -fno-weak (see kMaxPathSegments).
constexpr BracketDeltas kBracketDeltas;

// What a token's first byte makes of a value IndexAdapter steps over: one
// token, a container, or a structural character where a value belongs.
struct ValueStarts {
  enum Kind : uint8_t { kScalar, kContainer, kBad };
  Kind kind[256] = {};
  constexpr ValueStarts() {
    kind[static_cast<unsigned char>('{')] = kContainer;
    kind[static_cast<unsigned char>('[')] = kContainer;
    kind[static_cast<unsigned char>('}')] = kBad;
    kind[static_cast<unsigned char>(']')] = kBad;
    kind[static_cast<unsigned char>(',')] = kBad;
    kind[static_cast<unsigned char>(':')] = kBad;
  }
};
constexpr ValueStarts kValueStarts;

// No nesting bound (MatchingClose's default): the on-demand skip and the
// callers that bound nothing. (Not inline, as kBracketDeltas.)
constexpr int kNoNestingBound = INT_MAX;

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
    Store(s, out);
    return true;
  }

  // Into an empty string (every field of a fresh or reset Workload) append
  // when it fits (a reused Workload's string keeps its capacity), else
  // construct and move (one exact allocation): string::assign goes through
  // _M_replace's aliasing checks, ~70 instructions per call under callgrind.
  // Shared with IndexAdapter.
  static void Store(std::string_view s, std::string* out) {
    if (out->empty()) {
      if (s.size() <= out->capacity()) {
        out->append(s.data(), s.size());
      } else {
        *out = std::string(s);
      }
    } else {
      out->assign(s.data(), s.size());
    }
  }

  // Str() without the Type() probe, for Extractor::ReadString: kStrNotString
  // when the value is not a string (nothing consumed: simdjson checks the
  // first byte before advancing), kStrFailed after Syntax() for a string that
  // does not parse (the same error Str() reports).
  enum TryStrResult : uint8_t { kStrRead, kStrNotString, kStrFailed };
  TryStrResult TryStr(Node& n, std::string* out) {
    std::string_view s;
    const auto e = n.v.get_string().get(s);
    if (e == simdjson::INCORRECT_TYPE) return kStrNotString;
    if (e) {
      Syntax(n, e);
      return kStrFailed;
    }
    Store(s, out);
    return kStrRead;
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
      SkipContainer(child.v);
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
      SkipContainer(child.v);
    }
    return true;
  }

  // Steps over an object or array the schema did not read (managedFields,
  // status, env, resources, ...), leaving the iterator exactly where
  // simdjson's own skip (json_iterator::skip_child, which the field and
  // element iterators call next) would: after the matching close bracket, at
  // the parent's depth. simdjson's loop re-reads the index's end and
  // switches on every token (~11 instructions per token); MatchingClose()
  // sums a +1/-1 table, four tokens per step while the nesting is deeper than
  // four. (An AVX2 gather of eight tokens per step was 2.5k instructions per
  // review fewer under callgrind but ~10% slower in wall time on this EPYC.) Brackets are counted, not matched, as skip_child does.
  // Values that were read, scalars, and containers that run past the last
  // token (left for skip_child to report) are not touched.
  static void SkipContainer(ondemand::value& v) {
    ondemand::value_iterator& vi = ValueInternals::Iter(v);
    if (!vi.at_start()) return;
    ondemand::json_iterator& it = vi.json_iter();
    ondemand::token_position pos = it.position();
    const uint8_t* first = it.peek(pos);
    if (*first != '{' && *first != '[') return;
    pos = MatchingClose(first - *pos, pos + 1, JsonIteratorInternals::End(it));
    if (pos == nullptr) return;  // unbalanced: skip_child reports it
    LeaveBefore(it, pos);
  }

  // Moves the iterator, which is at the start of a value, to `pos` (the
  // token after that value) at the parent's depth: the value's depth is its
  // parent's + 1; the same moves skip_child makes.
  static void LeaveBefore(ondemand::json_iterator& it, ondemand::token_position pos) {
    const ondemand::depth_t depth = it.depth();
    it.ascend_to(depth - 1);
    it.reenter_child(pos, depth);
    it.ascend_to(depth - 1);
  }

  // The token after the bracket that closes the container whose first token
  // is just before `pos` (nesting 1), or nullptr when the tokens run out or,
  // with kBounded, the nesting inside the container passes `allowance` (the
  // container itself is nesting 1; an allowance below 1 refuses any
  // container).
  template <bool kBounded = false>
  static ondemand::token_position MatchingClose(const uint8_t* buf, ondemand::token_position pos,
                                                ondemand::token_position end,
                                                int allowance = kNoNestingBound) {
    int nest = 1;
    const int8_t* const delta = kBracketDeltas.delta;
    while (true) {
      ondemand::token_position stop = end;
      if constexpr (kBounded) {
        if (nest > allowance) return nullptr;
        // The nesting moves by one per token, so for the next allowance -
        // nest tokens it cannot pass the allowance: a run of that many tokens
        // (or to the last one) needs no check of its own, and the bound costs
        // nothing per token (a run is ~120 tokens in the webhook's walk).
        if (allowance - nest < end - pos) stop = pos + (allowance - nest);
      }
      // Four tokens per step: the nesting after each of them, and the step
      // continues only when none of them reached zero (it moves by one per
      // token, so the first that does not stay positive is the close).
      while (stop - pos >= 4) {
        const int s1 = nest + delta[buf[pos[0]]];
        const int s2 = s1 + delta[buf[pos[1]]];
        const int s3 = s2 + delta[buf[pos[2]]];
        const int s4 = s3 + delta[buf[pos[3]]];
        if (std::min(std::min(s1, s2), std::min(s3, s4)) > 0) {
          nest = s4;
          pos += 4;
          continue;
        }
        if (s1 == 0) return pos + 1;
        if (s2 == 0) return pos + 2;
        if (s3 == 0) return pos + 3;
        return pos + 4;
      }
      // The last tokens of the run, one at a time (a bound is checked above).
      if (pos >= end) return nullptr;
      nest += delta[buf[*pos++]];
      if (nest == 0) return pos;
    }
  }

  // The key as written, without copying it, when it has no escapes (every
  // key of a real object); a null view otherwise. Stage 1 has validated that
  // every string is closed, so the scan stops at the closing quote. Scanned
  // 16 bytes at a time (SSE2, in every x86-64): a byte-wise loop was ~5k
  // instructions per 5 KB review. Reading up to 15 bytes past the quote is
  // safe: every parsed buffer has SIMDJSON_PADDING (64) readable bytes after
  // the document, and the key is followed by at least ':' and a value.
  static std::string_view RawKey(simdjson::ondemand::field& field) { return RawString(field.key().raw()); }

  // The same scan for any string: `begin` is the byte after the opening quote.
  static std::string_view RawString(const char* begin) {
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

// The fast path of DecodeObjectJson: the same Extractor walk, but over
// simdjson's structural index directly (token positions into the document)
// instead of on-demand's value/object/field iterators, whose per-field
// bookkeeping (depth tracking, skip_child, iterator state checks) was most of
// the walk's cost. It checks the structure of every container it iterates
// (keys are strings followed by ':', values are followed by ',' or the close
// bracket, nothing runs past the last token), steps over unread containers by
// counting brackets (MatchingClose(), as skip_child does) and reads scalars
// with the same simdjson routines on-demand uses (parse_integer, the atom
// checks, json_iterator::unescape for strings with escapes; strings without a
// backslash are copied from the document, which is what parse_string does
// with them).
//
// It never reports an error of its own: any failure (a syntax error, a wrong
// type, a missing kind, anything the walk would report) makes
// DecodeObjectJson decode the value again with JsonAdapter, which gives the
// error exactly as before. So it only needs to be at least as strict as
// on-demand: whatever it accepts, on-demand accepts with the same result
// (fuzz_decode_json compares the two on every input). It is stricter in a
// few malformed shapes on-demand's skip tolerates (a structural character
// where a skipped value should be); those take the fallback.
//
// The walk does not move the on-demand iterator; Restore() puts back the
// parser's string-buffer position (strings with escapes are unescaped into
// it) so that the fallback has the whole buffer.
//
// kBounded (BoundedIndexAdapter, DecodeObject's walk for the webhook): the
// walk also bounds the nesting of the whole document, see the constructor.
// Without it (IndexAdapter, DecodeObjectJson) nodes carry no depth and no
// bound is checked: the code is the same as before the bound existed.
template <bool kBounded>
class IndexAdapterT {
  struct NoDepth {};
  // A node's nesting level in the document (its root is 1), when bounded.
  using Depth = std::conditional_t<kBounded, int, NoDepth>;

 public:
  struct Node {
    ondemand::token_position tok;             // the value's first token
    ondemand::token_position after = nullptr;  // past the container, once read to its end
    bool bool_value = false;                  // set by Type()
    [[no_unique_address]] Depth depth{};      // the level of the value's brackets (kBounded)
  };

  // `v` must not have been read yet (usable() says so). kBounded: the walk
  // also bounds the nesting of the document's objects and arrays: every
  // container it opens (Fields, Elements) or steps over (Skip) must nest no
  // deeper than max_depth levels, counted from the document's root
  // (on-demand's depth of `v` is its level); anything deeper fails the walk.
  // A successful walk from Root() that steps past it (StepPast) has then
  // checked every token of the value: see CheckedSpan().
  explicit IndexAdapterT(ondemand::value& v, int max_depth = kNoNestingBound) : max_depth_(max_depth) {
    ondemand::value_iterator& vi = ValueInternals::Iter(v);
    usable_ = vi.at_start();
    it_ = &vi.json_iter();
    start_ = it_->position();
    end_ = JsonIteratorInternals::End(*it_);
    buf_ = it_->peek(start_) - *start_;
    string_buf_loc_ = JsonIteratorInternals::StringBufLoc(*it_);
    if constexpr (kBounded) root_depth_ = static_cast<int>(it_->depth());
  }

  bool usable() const { return usable_ && start_ < end_; }
  Node Root() const { return Node{start_, nullptr, false, RootDepth()}; }
  void Restore() { JsonIteratorInternals::StringBufLoc(*it_) = string_buf_loc_; }

  // After a successful walk from Root(): leaves on-demand's iterator after
  // the value, where reading it (or skip_child) would have left it, so the
  // caller's on-demand iteration of the enclosing object goes on from there.
  // False (iterator untouched) when the value's end is not known.
  bool StepPast(const Node& root) {
    const ondemand::token_position after = root.after != nullptr ? root.after : Skip(root.tok, root.depth);
    if (after == nullptr || after > end_) return false;
    JsonAdapter::LeaveBefore(*it_, after);
    stepped_past_ = after;
    return true;
  }

  // After StepPast(Root()) with a container root: the root's bytes, from its
  // open bracket to past its close bracket, all nested within max_depth (a
  // null view otherwise). The walk visited every token in it, each either
  // read (Fields/Elements checked the container's level) or stepped over
  // (Skip bounded the nesting inside); the tokens are exactly the brackets
  // outside strings, so this is the same bound a byte scan of the span
  // starting at the root's parent level would apply.
  std::string_view CheckedSpan() const {
    if (stepped_past_ == nullptr || stepped_past_ <= start_) return {};
    const char* first = reinterpret_cast<const char*>(buf_ + *start_);
    const char* last = reinterpret_cast<const char*>(buf_ + stepped_past_[-1]);
    if (*first != '{' && *first != '[') return {};
    return {first, static_cast<size_t>(last + 1 - first)};
  }
  int root_depth() const { return root_depth_; }  // kBounded only

  // Resolves an RFC 6901 pointer from the root as doc.at_pointer() does
  // (keys compared as written, the first of duplicate keys), into `node`.
  // False for anything it does not handle the same way for sure (a root or
  // step that is not an object, tokens with '~', a backslash or '"', a key not
  // found, damaged structure): the caller then asks at_pointer().
  bool Resolve(std::string_view pointer, Node* node) const {
    // at_pointer() starts the root object with started_root_object(): the
    // last token must be its '}', and a '}' right after the document makes
    // it check the whole document's balance, which is left to it.
    if (buf_[*start_] != '{' || buf_[end_[-1]] != '}' || buf_[*end_] == '}') return false;
    ondemand::token_position v = start_;
    Depth depth = RootDepth();
    while (!pointer.empty()) {
      if (pointer[0] != '/') return false;
      pointer.remove_prefix(1);
      const size_t slash = pointer.find('/');
      const std::string_view token = pointer.substr(0, slash);
      pointer = slash == std::string_view::npos ? std::string_view() : pointer.substr(slash);
      if (token.find_first_of("~\\\"") != std::string_view::npos) return false;
      v = FindField(v, depth, token);
      if (v == nullptr) return false;
      depth = Deeper(depth);
    }
    *node = Node{v, nullptr, false, depth};
    return true;
  }

  bool Type(Node& n, JType* t) {
    if (n.tok >= end_) return false;
    const uint8_t* p = buf_ + *n.tok;
    switch (*p) {
      case '{': *t = JType::kObject; return true;
      case '[': *t = JType::kArray; return true;
      case '"': *t = JType::kString; return true;
      case 't':
        if (!simdjson::SIMDJSON_BUILTIN_IMPLEMENTATION::atomparsing::is_valid_true_atom(p)) return false;
        n.bool_value = true;
        *t = JType::kBool;
        return true;
      case 'f':
        if (!simdjson::SIMDJSON_BUILTIN_IMPLEMENTATION::atomparsing::is_valid_false_atom(p)) return false;
        n.bool_value = false;
        *t = JType::kBool;
        return true;
      case 'n':
        if (!simdjson::SIMDJSON_BUILTIN_IMPLEMENTATION::atomparsing::is_valid_null_atom(p)) return false;
        *t = JType::kNull;
        return true;
      case '-': case '0': case '1': case '2': case '3': case '4':
      case '5': case '6': case '7': case '8': case '9':
        *t = JType::kNumber;
        return true;
      default:
        return false;
    }
  }

  bool Bool(Node& n, bool* out) {  // only after Type() said kBool
    *out = n.bool_value;
    return true;
  }

  bool Int(Node& n, int64_t* out) {
    if (n.tok >= end_) return false;
    return simdjson::SIMDJSON_BUILTIN_IMPLEMENTATION::numberparsing::parse_integer(buf_ + *n.tok).get(*out) ==
           simdjson::SUCCESS;
  }

  bool Str(Node& n, std::string* out) {
    std::string_view s;
    if (!String(n, &s)) return false;
    JsonAdapter::Store(s, out);
    return true;
  }

  enum TryStrResult : uint8_t { kStrRead, kStrNotString, kStrFailed };
  TryStrResult TryStr(Node& n, std::string* out) {
    if (n.tok >= end_) return kStrFailed;
    if (buf_[*n.tok] != '"') return kStrNotString;
    return Str(n, out) ? kStrRead : kStrFailed;
  }

  template <typename F>
  bool Fields(Node& n, F&& f) {
    ondemand::token_position p = n.tok;
    if (p >= end_ || buf_[*p] != '{' || TooDeep(n.depth)) return false;
    if (++p >= end_) return false;
    if (buf_[*p] == '}') {
      n.after = p + 1;
      return true;
    }
    while (true) {
      if (end_ - p < 3) return false;  // a key, ':' and a value
      const uint8_t* k = buf_ + *p;
      if (*k != '"' || buf_[p[1]] != ':') return false;
      std::string_view key = JsonAdapter::RawString(reinterpret_cast<const char*>(k + 1));
      if (key.data() == nullptr && !Unescape(k + 1, &key)) return false;
      Node child{p + 2, nullptr, false, Deeper(n.depth)};
      if (!f(key, child)) return false;
      p = child.after != nullptr ? child.after : Skip(p + 2, child.depth);
      if (p == nullptr || p >= end_) return false;
      const uint8_t c = buf_[*p];
      if (c == ',') {
        ++p;
        continue;
      }
      if (c != '}') return false;
      n.after = p + 1;
      return true;
    }
  }

  template <typename F>
  bool Elements(Node& n, F&& f) {
    ondemand::token_position p = n.tok;
    if (p >= end_ || buf_[*p] != '[' || TooDeep(n.depth)) return false;
    if (++p >= end_) return false;
    if (buf_[*p] == ']') {
      n.after = p + 1;
      return true;
    }
    while (true) {
      Node child{p, nullptr, false, Deeper(n.depth)};
      if (!f(child)) return false;
      p = child.after != nullptr ? child.after : Skip(p, child.depth);
      if (p == nullptr || p >= end_) return false;
      const uint8_t c = buf_[*p];
      if (c == ',') {
        if (++p >= end_) return false;
        continue;
      }
      if (c != ']') return false;
      n.after = p + 1;
      return true;
    }
  }

  // Lines are not tracked: DecodeObjectJson's errors carry none, and every
  // error is reported by the fallback anyway.
  int Line(Node&) { return 0; }
  const std::string& error() const { return error_; }
  int error_line() const { return 0; }
  bool syntax_error() const { return false; }

 private:
  // The token after the value at `v` (at nesting level `depth`), or
  // nullptr: a scalar is one token, a container ends after its matching
  // close (brackets counted as skip_child does) and fails when it nests
  // deeper than max_depth. A structural character where a value belongs is
  // refused (the fallback then reports it as on-demand does).
  // Inline for the common case (a scalar: one token); containers go to
  // MatchingClose() out of line.
  ondemand::token_position Skip(ondemand::token_position v, Depth depth) const {
    if (v >= end_) return nullptr;
    const uint8_t c = buf_[*v];
    switch (kValueStarts.kind[c]) {
      case ValueStarts::kScalar: return v + 1;
      case ValueStarts::kContainer:
        return SkipContainerAt(v, depth);
      default: return nullptr;
    }
  }
  [[gnu::noinline]] ondemand::token_position SkipContainerAt(ondemand::token_position v, Depth depth) const {
    if constexpr (kBounded) {
      // The container's own bracket is nesting 1 of MatchingClose and level
      // `depth` of the document.
      return JsonAdapter::MatchingClose<true>(buf_, v + 1, end_, max_depth_ - depth + 1);
    } else {
      return JsonAdapter::MatchingClose(buf_, v + 1, end_);
    }
  }

  Depth RootDepth() const {
    if constexpr (kBounded) {
      return root_depth_;
    } else {
      return {};
    }
  }
  static Depth Deeper(Depth d) {
    if constexpr (kBounded) {
      return d + 1;
    } else {
      return d;
    }
  }
  bool TooDeep(Depth d) const {
    if constexpr (kBounded) {
      return d > max_depth_;
    } else {
      return false;
    }
  }

  // The value of the first field of the object at `open` whose key is
  // written exactly as `key`, or nullptr.
  ondemand::token_position FindField(ondemand::token_position open, Depth depth, std::string_view key) const {
    ondemand::token_position p = open;
    if (p >= end_ || buf_[*p] != '{' || TooDeep(depth)) return nullptr;
    if (++p >= end_ || buf_[*p] == '}') return nullptr;
    while (true) {
      if (end_ - p < 3) return nullptr;
      const uint8_t* k = buf_ + *p;
      if (*k != '"' || buf_[p[1]] != ':') return nullptr;
      const std::string_view raw = JsonAdapter::RawString(reinterpret_cast<const char*>(k + 1));
      if (raw.data() != nullptr && raw == key) return p + 2;
      p = Skip(p + 2, Deeper(depth));
      if (p == nullptr || p >= end_ || buf_[*p] != ',') return nullptr;
      ++p;
    }
  }

  bool String(Node& n, std::string_view* s) {
    if (n.tok >= end_) return false;
    const uint8_t* p = buf_ + *n.tok;
    if (*p != '"') return false;
    *s = JsonAdapter::RawString(reinterpret_cast<const char*>(p + 1));
    return s->data() != nullptr || Unescape(p + 1, s);
  }

  // A string with escapes, unescaped into the parser's string buffer (as
  // on-demand's get_string does).
  bool Unescape(const uint8_t* after_quote, std::string_view* s) {
    return it_->unescape(simdjson::SIMDJSON_BUILTIN_IMPLEMENTATION::ondemand::raw_json_string(after_quote)).get(*s) ==
           simdjson::SUCCESS;
  }

  ondemand::json_iterator* it_;
  ondemand::token_position start_;
  ondemand::token_position end_;
  const uint8_t* buf_;
  uint8_t* string_buf_loc_;
  int max_depth_;                                    // kBounded only
  int root_depth_ = 0;                               // kBounded only
  ondemand::token_position stepped_past_ = nullptr;  // set by StepPast()
  bool usable_ = false;
  std::string error_;
};

using IndexAdapter = IndexAdapterT<false>;
using BoundedIndexAdapter = IndexAdapterT<true>;

// Where DecodeOnIndexBounded checked the nesting bound.
struct IndexNesting {
  int max_depth = kNoNestingBound;  // in
  std::string_view span;            // out: the checked bytes, or null
  int depth = 0;                    // out: the level of the span's first bracket
};

// The Extractor over the structural index from `v`, which must not have been
// read yet; `pointer` (if not empty) is resolved on the index. True with *out
// filled (and, with step_past, on-demand's iterator left after the value);
// false with the parser's string buffer restored and *out reset, for the
// caller's on-demand walk to decode again and report what it always did.
template <typename Adapter>
inline bool DecodeOnIndexWith(Adapter& fast, std::string_view pointer, int max_depth, bool step_past,
                              typename Adapter::Node* node, Workload* out) {
  *node = fast.Root();
  if (!fast.usable() || (!pointer.empty() && !fast.Resolve(pointer, node))) return false;
  Extractor<Adapter> extractor(fast, max_depth);
  if (extractor.DecodeSingle(*node, out).ok() && (!step_past || fast.StepPast(*node))) return true;
  fast.Restore();
  *out = Workload();
  return false;
}

// The fast path of both JSON entry points (DecodeObjectJson, DecodeObject),
// without a nesting bound.
inline bool DecodeOnIndex(ondemand::value& v, std::string_view pointer, int max_depth, bool step_past,
                          Workload* out) {
  IndexAdapter fast(v);
  IndexAdapter::Node node;
  return DecodeOnIndexWith(fast, pointer, max_depth, step_past, &node, out);
}

// DecodeObject's fast path (no pointer, on-demand's iterator left after the
// value): the walk also bounds the document's nesting at nesting->max_depth
// levels (a deeper value fails the walk) and, on success, reports the value's
// bytes it checked (BoundedIndexAdapter::CheckedSpan).
inline bool DecodeOnIndexBounded(ondemand::value& v, int max_depth, Workload* out, IndexNesting* nesting) {
  BoundedIndexAdapter fast(v, nesting->max_depth);
  BoundedIndexAdapter::Node node;
  if (!DecodeOnIndexWith(fast, "", max_depth, /*step_past=*/true, &node, out)) return false;
  nesting->span = fast.CheckedSpan();
  nesting->depth = fast.root_depth();
  return true;
}

}  // namespace INVAR_JSON_ADAPTER_NS
}  // namespace invar::policy::decode_internal
