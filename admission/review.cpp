// SPDX-License-Identifier: Apache-2.0
// AdmissionReview codec (see review.h). simdjson on-demand indexes and walks
// the body once in document order; a CREATE's request.object is decoded into
// the policy model in that walk (policy::DecodeObject), every object is also
// kept as a view of its raw JSON. The nesting of the whole body is bounded:
// the object's decode checks the bound on the bytes it walks, and a SIMD
// scan (AVX2+PCLMUL where the CPU has them, else SSE2, else bytewise) checks
// the rest, or the whole body when the object was not decoded that way.
// The encoder escapes the reply's long texts 16 bytes at a time. Called by
// the webhook server (one reused ReviewRequest per worker), tests and the
// fuzzer. Thread-safe: one parser and one escape buffer per thread.
#include "invar/admission/review.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "invar/platform/json_escape.h"
#include "invar/policy/json_object.h"

namespace invar::admission {
namespace {

namespace od = simdjson::ondemand;

static_assert(kReviewPadding == simdjson::SIMDJSON_PADDING, "review.h's kReviewPadding must match simdjson");

Status Bad(std::string msg) { return Status::InvalidArgument(std::move(msg)); }

std::string ErrorText(simdjson::error_code e) { return simdjson::error_message(e); }

// The parser's depth is the body's bound plus the object decode's own
// (kMaxObjectDepth, from the object's level 3): the nesting is checked after
// the walk now, so the walk may meet a body that nests deeper than the bound
// (simdjson checks its depth only in its development-checks builds, and the
// parser must then be deep enough for whatever the walk descends into).
od::parser& ThreadParser(int max_depth) {
  thread_local od::parser parser;
  thread_local int depth = -1;
  if (depth != max_depth) {
    // Capacity grows on demand inside iterate(); max_depth is kept.
    const size_t parser_depth = static_cast<size_t>(std::max(max_depth, 0)) + kMaxObjectDepth + 8;
    if (parser.allocate(64u << 10, parser_depth) == simdjson::SUCCESS) depth = max_depth;
  }
  return parser;
}

// Reads a string field; `path` names it in errors.
Status GetString(od::value v, std::string_view path, std::string* out) {
  std::string_view s;
  if (auto e = v.get_string().get(s); e) {
    return Bad(fmt::format("{}: expected string ({})", path, ErrorText(e)));
  }
  out->assign(s);
  return Status::Ok();
}

Status GetString(od::value v, std::string_view path, std::string_view* out) {
  if (auto e = v.get_string().get(*out); e) {
    return Bad(fmt::format("{}: expected string ({})", path, ErrorText(e)));
  }
  return Status::Ok();
}

// Where the body's bytes end for the parser (body + readable bytes): the
// views of objects inside it can be parsed in place up to there.
struct Buffer {
  const char* end = nullptr;
};

// The part of the body whose nesting the decode of request.object checked
// (policy::DecodeObject with a NestingCheck): the object's bytes and the
// level of its '{'. Used only when exactly one object was decoded that way
// and checked (a body with duplicate keys may decode more than one).
struct CheckedObject {
  std::string_view span;
  int depth = 0;
  int decoded = 0;  // objects decoded with the check, checked or not
};

Status ExpectObjectOrNull(od::value& v, std::string_view path, bool* is_null) {
  if (auto e = v.is_null().get(*is_null); e) return Bad(fmt::format("{}: {}", path, ErrorText(e)));
  if (*is_null) return Status::Ok();
  od::json_type type;
  if (auto e = v.type().get(type); e) return Bad(fmt::format("{}: {}", path, ErrorText(e)));
  if (type != od::json_type::object) {
    return Bad(fmt::format("{}: expected object ({})", path, ErrorText(simdjson::INCORRECT_TYPE)));
  }
  return Status::Ok();
}

Status KeepRaw(od::value v, std::string_view path, const Buffer& buf, RawJson* out) {
  bool is_null = false;
  INVAR_RETURN_IF_ERROR(ExpectObjectOrNull(v, path, &is_null));
  if (is_null) {
    *out = {};
    return Status::Ok();
  }
  od::object obj;
  if (auto e = v.get_object().get(obj); e) {
    return Bad(fmt::format("{}: expected object ({})", path, ErrorText(e)));
  }
  std::string_view raw;
  if (auto e = obj.raw_json().get(raw); e) return Bad(fmt::format("{}: {}", path, ErrorText(e)));
  out->json = raw;
  out->readable = static_cast<size_t>(buf.end - raw.data());
  return Status::Ok();
}

template <typename F>
Status ForEachField(od::value v, std::string_view path, F&& f) {
  od::object obj;
  if (auto e = v.get_object().get(obj); e) {
    return Bad(fmt::format("{}: expected object ({})", path, ErrorText(e)));
  }
  for (auto field : obj) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return Bad(fmt::format("{}: {}", path, ErrorText(e)));
    od::value value;
    if (auto e = field.value().get(value); e) return Bad(fmt::format("{}.{}: {}", path, key, ErrorText(e)));
    INVAR_RETURN_IF_ERROR(f(key, value));
  }
  return Status::Ok();
}

Status DecodeRequest(od::value v, const ReviewLimits& limits, const Buffer& buf, ReviewRequest* r,
                     bool* has_object, CheckedObject* checked) {
  return ForEachField(v, "request", [&](std::string_view key, od::value value) -> Status {
    if (key == "uid") return GetString(value, "request.uid", &r->uid);
    if (key == "kind") {
      return ForEachField(value, "request.kind", [&](std::string_view k, od::value x) -> Status {
        if (k == "group") return GetString(x, "request.kind.group", &r->kind.group);
        if (k == "version") return GetString(x, "request.kind.version", &r->kind.version);
        if (k == "kind") return GetString(x, "request.kind.kind", &r->kind.kind);
        return Status::Ok();
      });
    }
    if (key == "resource") {
      return ForEachField(value, "request.resource", [&](std::string_view k, od::value x) -> Status {
        if (k == "group") return GetString(x, "request.resource.group", &r->resource.group);
        if (k == "version") return GetString(x, "request.resource.version", &r->resource.version);
        if (k == "resource") return GetString(x, "request.resource.resource", &r->resource.resource);
        return Status::Ok();
      });
    }
    if (key == "subResource") return GetString(value, "request.subResource", &r->sub_resource);
    if (key == "name") return GetString(value, "request.name", &r->name);
    if (key == "namespace") return GetString(value, "request.namespace", &r->namespace_);
    if (key == "operation") return GetString(value, "request.operation", &r->operation);
    if (key == "dryRun") {
      bool b = false;
      if (value.get_bool().get(b)) return Bad("request.dryRun: expected boolean");
      r->dry_run = b;
      return Status::Ok();
    }
    if (key == "userInfo") {
      return ForEachField(value, "request.userInfo", [&](std::string_view k, od::value x) -> Status {
        if (k == "username") return GetString(x, "request.userInfo.username", &r->user.username);
        if (k == "uid") return GetString(x, "request.userInfo.uid", &r->user.uid);
        if (k == "groups") {
          od::array arr;
          if (x.get_array().get(arr)) return Bad("request.userInfo.groups: expected array");
          for (auto item : arr) {
            std::string_view g;
            if (item.get_string().get(g)) return Bad("request.userInfo.groups: expected strings");
            r->user.groups.emplace_back(g);
          }
        }
        return Status::Ok();
      });
    }
    if (key == "object") {
      // A CREATE (operation and resource already read, as the API server
      // orders them) is decoded right here: one parse serves the review and
      // the object. Decide() routes it; kinds it does not judge just carry an
      // unused result. Anything else keeps the raw view for Decide().
      if (limits.decode_workload && r->operation == "CREATE" && !r->resource.resource.empty()) {
        bool is_null = false;
        INVAR_RETURN_IF_ERROR(ExpectObjectOrNull(value, "request.object", &is_null));
        if (is_null) return Status::Ok();
        *has_object = true;
        policy::NestingCheck nesting;
        nesting.max_depth = limits.max_depth;
        r->workload.Set(policy::DecodeObjectInto(value, kMaxObjectDepth, r->workload.Storage(), &nesting));
        if (checked->decoded++ == 0) {
          checked->span = nesting.checked;
          checked->depth = nesting.depth;
        }
        return Status::Ok();
      }
      INVAR_RETURN_IF_ERROR(KeepRaw(value, "request.object", buf, &r->object));
      *has_object = !r->object.empty();
      return Status::Ok();
    }
    if (key == "oldObject") return KeepRaw(value, "request.oldObject", buf, &r->old_object);
    return Status::Ok();  // requestKind, options, userInfo.extra, ...: skipped
  });
}

// Maximum nesting of objects/arrays, outside strings. simdjson on-demand
// skips unread values without a depth check, so the bound is enforced here.
// 64 bytes at a time with SSE2 (every x86-64 CPU has it), the way simdjson's
// stage 1 finds strings: bitmasks of quotes, backslashes and brackets; a
// character after an unescaped backslash is escaped; the prefix XOR of the
// unescaped quotes marks the bytes inside strings; brackets outside strings
// move the depth. A block can only exceed the bound when depth + its opening
// brackets does, and only then are its brackets walked in order. ~6k
// instructions for the 5 KB bench review (the byte loop it replaces: ~30k).
#if defined(__SSE2__)
struct BlockMasks {
  uint64_t quote = 0, backslash = 0, open = 0, close = 0;
};

BlockMasks Classify(const char* p) {
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  // '[' | 0x20 == '{' and ']' | 0x20 == '}'; no other byte maps to these.
  const __m128i case_bit = _mm_set1_epi8(0x20), open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}');
  BlockMasks m;
  for (int i = 0; i < 4; ++i) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    __m128i folded = _mm_or_si128(v, case_bit);
    auto bits = [&](__m128i eq) { return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(eq))) << (16 * i); };
    m.quote |= bits(_mm_cmpeq_epi8(v, quote));
    m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
    m.open |= bits(_mm_cmpeq_epi8(folded, open));
    m.close |= bits(_mm_cmpeq_epi8(folded, close));
  }
  return m;
}

// What the scans share, inlined into each (callers may be compiled for a
// wider target: these use nothing beyond the default one).
struct ScanState {
  int64_t depth = 0;
  bool escape_next = false;  // the previous block ended in an unescaped backslash
  uint64_t in_string = 0;    // all ones when the previous block ended inside a string
};

// The block at `at`, or the short last block padded with spaces in `tail`.
__attribute__((always_inline)) inline const char* BlockAt(std::string_view s, size_t at, char (&tail)[64]) {
  if (s.size() - at >= 64) return s.data() + at;
  std::memset(tail, ' ', sizeof tail);
  std::memcpy(tail, s.data() + at, s.size() - at);
  return tail;
}

// The block's quotes that no backslash escapes.
__attribute__((always_inline)) inline uint64_t UnescapedQuotes(const BlockMasks& m, ScanState& st) {
  uint64_t escaped = 0;
  uint64_t bs = m.backslash;
  if (st.escape_next) {
    escaped = 1;
    bs &= ~uint64_t{1};
  }
  st.escape_next = false;
  while (bs != 0) {
    int i = __builtin_ctzll(bs);
    if (i == 63) {
      st.escape_next = true;
      break;
    }
    escaped |= uint64_t{2} << i;
    bs &= ~(uint64_t{3} << i);  // the escaped character is no escape itself
  }
  return m.quote & ~escaped;
}

// Moves the depth by the block's brackets outside strings; `quote_parity`
// is the prefix XOR of its unescaped quotes. True when the depth passed `max_depth`.
__attribute__((always_inline)) inline bool DepthStep(const BlockMasks& m, uint64_t quote_parity,
                                                     ScanState& st, int max_depth) {
  const uint64_t inside = quote_parity ^ st.in_string;
  st.in_string = static_cast<uint64_t>(static_cast<int64_t>(inside) >> 63);
  const uint64_t opens = m.open & ~inside, closes = m.close & ~inside;
  const int n_open = __builtin_popcountll(opens);
  if (st.depth + n_open <= max_depth) {
    st.depth += n_open - __builtin_popcountll(closes);
    return false;
  }
  for (uint64_t all = opens | closes; all != 0; all &= all - 1) {
    const uint64_t bit = all & (~all + 1);
    if (opens & bit) {
      if (++st.depth > max_depth) return true;
    } else {
      --st.depth;
    }
  }
  return false;
}

// With a popcnt clone where the CPU has the instruction (x86-64-v2); the
// default clone calls libgcc's table-free popcount.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("popcnt", "default")))
#endif
bool DepthExceedsSse2(std::string_view s, int max_depth) {
  ScanState st;
  char tail[64];
  for (size_t at = 0; at < s.size(); at += 64) {
    const BlockMasks m = Classify(BlockAt(s, at, tail));
    uint64_t x = UnescapedQuotes(m, st);  // prefix XOR: bit i = parity of quotes at 0..i
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    if (DepthStep(m, x, st, max_depth)) return true;
  }
  return false;
}

#if defined(__GNUC__) && defined(__x86_64__)
#define INVAR_NESTING_AVX2 1
// The same scan with AVX2 (two 32-byte loads per block) and the prefix XOR
// as one carry-less multiply by all ones, the way simdjson's haswell kernel
// finds strings: ~2.5x fewer instructions than the SSE2 version.
__attribute__((target("avx2,pclmul,popcnt"))) inline uint64_t Bits64(__m256i lo, __m256i hi) {
  return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(lo))) |
         static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(hi))) << 32;
}

__attribute__((target("avx2,pclmul,popcnt"))) inline BlockMasks ClassifyAvx2(const char* p) {
  const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\');
  const __m256i case_bit = _mm256_set1_epi8(0x20), open = _mm256_set1_epi8('{'), close = _mm256_set1_epi8('}');
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
  const __m256i flo = _mm256_or_si256(lo, case_bit), fhi = _mm256_or_si256(hi, case_bit);
  BlockMasks m;
  m.quote = Bits64(_mm256_cmpeq_epi8(lo, quote), _mm256_cmpeq_epi8(hi, quote));
  m.backslash = Bits64(_mm256_cmpeq_epi8(lo, backslash), _mm256_cmpeq_epi8(hi, backslash));
  m.open = Bits64(_mm256_cmpeq_epi8(flo, open), _mm256_cmpeq_epi8(fhi, open));
  m.close = Bits64(_mm256_cmpeq_epi8(flo, close), _mm256_cmpeq_epi8(fhi, close));
  return m;
}

__attribute__((target("avx2,pclmul,popcnt"))) bool DepthExceedsAvx2(std::string_view s, int max_depth) {
  ScanState st;
  char tail[64];
  for (size_t at = 0; at < s.size(); at += 64) {
    const BlockMasks m = ClassifyAvx2(BlockAt(s, at, tail));
    const __m128i q = _mm_set_epi64x(0, static_cast<long long>(UnescapedQuotes(m, st)));
    const auto x = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_clmulepi64_si128(q, _mm_set1_epi8(-1), 0)));
    if (DepthStep(m, x, st, max_depth)) return true;
  }
  return false;
}
#endif
#endif  // __SSE2__

// Portable version: strings are skipped with memchr to their closing quote.
bool DepthExceedsPortable(std::string_view s, int max_depth) {
  const char* p = s.data();
  const char* const end = p + s.size();
  int depth = 0;
  while (p < end) {
    char c = *p++;
    if (c == '"') {
      // The closing quote is the first one preceded by an even number of
      // backslashes. Unterminated: the parser reports the malformed JSON.
      for (;;) {
        const auto* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
        if (q == nullptr) return false;
        const char* b = q;
        while (b > p && b[-1] == '\\') --b;
        p = q + 1;
        if (((q - b) & 1) == 0) break;
      }
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

}  // namespace

bool NestingDeeperThan(std::string_view s, int max_depth, NestingScan scan) {
#if defined(INVAR_NESTING_AVX2)
  static const bool kHasAvx2 =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("popcnt");
  if (scan == NestingScan::kBest) scan = kHasAvx2 ? NestingScan::kAvx2 : NestingScan::kSse2;
  if (scan == NestingScan::kAvx2 && kHasAvx2) return DepthExceedsAvx2(s, max_depth);
#endif
#if defined(__SSE2__)
  if (scan != NestingScan::kPortable) return DepthExceedsSse2(s, max_depth);
#endif
  return DepthExceedsPortable(s, max_depth);
}

namespace {
bool DepthExceeds(std::string_view s, int max_depth) { return NestingDeeperThan(s, max_depth, NestingScan::kBest); }

// Everything DecodeReviewInto does after the size checks and before the
// nesting verdict: parse, walk, validate. On success `range` gets the
// object's bytes as offsets into the body [begin, end) and the level of its
// '{' when its decode checked them (valid), else stays invalid.
struct CheckedRange {
  size_t begin = 0, end = 0;
  int depth = 0;
  bool valid = false;
};
Status ParseReview(std::string_view body, const ReviewLimits& limits, size_t readable_bytes, ReviewRequest& r,
                   CheckedRange* range);
}  // namespace

std::string_view ReviewApiVersion(ReviewVersion v) {
  return v == ReviewVersion::kV1 ? "admission.k8s.io/v1" : "admission.k8s.io/v1beta1";
}

Result<ReviewRequest> DecodeReview(std::string_view body, const ReviewLimits& limits, size_t readable_bytes) {
  ReviewRequest r;
  INVAR_RETURN_IF_ERROR(DecodeReviewInto(body, limits, readable_bytes, r));
  return r;
}

void ResetForReuse(ReviewRequest& r) {
  r.version = ReviewVersion::kV1;
  r.uid.clear();
  r.kind.group.clear();
  r.kind.version.clear();
  r.kind.kind.clear();
  r.resource.group.clear();
  r.resource.version.clear();
  r.resource.resource.clear();
  r.sub_resource.clear();
  r.name.clear();
  r.namespace_.clear();
  r.operation.clear();
  r.user.username.clear();
  r.user.uid.clear();
  r.user.groups.clear();
  r.dry_run = false;
  r.object = {};
  r.old_object = {};
  r.workload.Reset();
  r.storage.reset();
}

void DecodedWorkload::Reset() {
  has_value_ = false;
  outcome_.status_ = Status::Ok();
  // Typical objects have a handful of containers, volumes, labels and
  // annotations, and annotations of a few KiB at most (kubectl's
  // last-applied-configuration is the object itself): past these bounds the
  // storage is released.
  constexpr size_t kKeepEntries = 64;
  constexpr size_t kKeepAnnotationBytes = 64 * 1024;
  const policy::Workload& w = outcome_.workload_;
  const policy::PodSpec& s = w.spec;
  bool release = s.init_containers.capacity() > kKeepEntries || s.containers.capacity() > kKeepEntries ||
                 s.ephemeral_containers.capacity() > kKeepEntries || s.volumes.capacity() > kKeepEntries;
  size_t annotation_bytes = 0;
  for (const policy::StringMap* m :
       {&w.metadata.labels, &w.metadata.annotations, &w.pod_labels, &w.pod_annotations}) {
    if (m->size() > kKeepEntries) release = true;
    for (const auto& [key, value] : m->entries()) annotation_bytes += key.size() + value.size();
  }
  if (release || annotation_bytes > kKeepAnnotationBytes) outcome_.workload_ = policy::Workload();
}

Status DecodeReviewInto(std::string_view body, const ReviewLimits& limits, size_t readable_bytes, ReviewRequest& r) {
  ResetForReuse(r);
  if (body.size() > limits.max_bytes) {
    return Status::ResourceExhausted(fmt::format("body of {} bytes exceeds the limit of {}", body.size(), limits.max_bytes));
  }
  if (body.empty()) return Bad("empty body: expected an AdmissionReview JSON object");
  // The nesting bound, checked after the parse but before any other verdict,
  // so that a body too deep is always rejected for that (as when it was
  // scanned first): a body that fails to parse or validate is scanned whole;
  // a valid one only outside the object's bytes when the object's decode
  // checked those (its walk visits every token of the object, and the tokens
  // are exactly the brackets outside strings the scan counts). The object
  // starts and ends at a bracket outside any string, so the rest scans from
  // its start (level 0) and from the object's end, where its enclosing
  // containers are depth - 1 levels deep.
  CheckedRange range;
  const Status status = ParseReview(body, limits, readable_bytes, r, &range);
  bool too_deep;
  if (status.ok() && range.valid) {
    too_deep = DepthExceeds(body.substr(0, range.begin), limits.max_depth) ||
               DepthExceeds(body.substr(range.end), limits.max_depth - (range.depth - 1));
  } else {
    too_deep = DepthExceeds(body, limits.max_depth);
  }
  if (too_deep) return Bad(fmt::format("JSON nesting deeper than {} levels", limits.max_depth));
  return status;
}

namespace {
Status ParseReview(std::string_view body, const ReviewLimits& limits, size_t readable_bytes, ReviewRequest& r,
                   CheckedRange* range) {
  // Parse in place when the caller's buffer has simdjson's padding after the
  // body; otherwise copy it into storage the request owns (its views point there).
  std::shared_ptr<std::string> storage;
  if (readable_bytes < body.size() + simdjson::SIMDJSON_PADDING) {
    storage = std::make_shared<std::string>();
    storage->reserve(body.size() + simdjson::SIMDJSON_PADDING);
    storage->assign(body);
    body = *storage;
    readable_bytes = storage->capacity();
  }
  simdjson::padded_string_view view(body.data(), body.size(), readable_bytes);
  const Buffer buf{body.data() + readable_bytes};
  od::parser& parser = ThreadParser(limits.max_depth);
  od::document doc;
  if (auto e = parser.iterate(view).get(doc); e) return Bad(fmt::format("malformed JSON: {}", ErrorText(e)));
  od::object root;
  if (auto e = doc.get_object().get(root); e) {
    return Bad(fmt::format("malformed JSON or not an object: {}", ErrorText(e)));
  }
  r.storage = std::move(storage);
  std::string_view api_version, kind;  // in the parser's string buffer, valid until its next document
  bool has_request = false, has_object = false;
  CheckedObject checked;
  for (auto field : root) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key); e) return Bad(fmt::format("malformed JSON: {}", ErrorText(e)));
    od::value value;
    if (auto e = field.value().get(value); e) return Bad(fmt::format("malformed JSON: {}", ErrorText(e)));
    if (key == "apiVersion") {
      INVAR_RETURN_IF_ERROR(GetString(value, "apiVersion", &api_version));
    } else if (key == "kind") {
      INVAR_RETURN_IF_ERROR(GetString(value, "kind", &kind));
    } else if (key == "request") {
      has_request = true;
      INVAR_RETURN_IF_ERROR(DecodeRequest(value, limits, buf, &r, &has_object, &checked));
    }
  }
  // A truncated or trailing-garbage document must not pass as a review.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) return Bad("malformed JSON: trailing content after the AdmissionReview object");
  if (api_version == "admission.k8s.io/v1") {
    r.version = ReviewVersion::kV1;
  } else if (api_version == "admission.k8s.io/v1beta1") {
    r.version = ReviewVersion::kV1beta1;
  } else if (api_version.empty()) {
    return Bad("apiVersion: missing (expected admission.k8s.io/v1 or admission.k8s.io/v1beta1)");
  } else {
    return Bad(fmt::format("apiVersion: \"{}\" is not supported (expected admission.k8s.io/v1 or v1beta1)", api_version));
  }
  if (kind != "AdmissionReview") {
    return Bad(kind.empty() ? std::string("kind: missing (expected AdmissionReview)")
                            : fmt::format("kind: \"{}\" is not AdmissionReview", kind));
  }
  if (!has_request) return Bad("request: missing");
  if (r.uid.empty()) return Bad("request.uid: missing");
  if (r.operation.empty()) return Bad("request.operation: missing");
  if (r.resource.resource.empty()) return Bad("request.resource.resource: missing");
  if (!has_object && (r.operation == "CREATE" || r.operation == "UPDATE" || r.operation == "CONNECT")) {
    return Bad(fmt::format("request.object: missing (required for {})", r.operation));
  }
  if (r.operation == "UPDATE" && r.old_object.empty() && r.sub_resource.empty()) {
    return Bad("request.oldObject: missing (required for UPDATE)");
  }
  if (checked.decoded == 1 && checked.span.data() != nullptr && checked.depth >= 1) {
    range->begin = static_cast<size_t>(checked.span.data() - body.data());
    range->end = range->begin + checked.span.size();
    range->depth = checked.depth;
    range->valid = range->end <= body.size();
  }
  return Status::Ok();
}
}  // namespace

std::string EncodeReview(const ReviewResponse& response) {
  std::string out;
  out.reserve(256 + response.message.size());
  AppendReview(response, out);
  return out;
}

#if defined(__SSE2__)
namespace {

// Bit i set when byte i of the 16 at p needs a JSON escape: '"', '\\' or a
// control character (< 0x20).
inline uint32_t EscapeMask16(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
  const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
  return static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))));
}

// Writes the escape of c (one of EscapeMask16's bytes) at w; returns the end.
inline char* WriteEscape(char* w, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  w[0] = '\\';
  switch (c) {
    case '"': w[1] = '"'; return w + 2;
    case '\\': w[1] = '\\'; return w + 2;
    case '\n': w[1] = 'n'; return w + 2;
    case '\r': w[1] = 'r'; return w + 2;
    case '\t': w[1] = 't'; return w + 2;
    default:
      w[1] = 'u';
      w[2] = '0';
      w[3] = '0';
      w[4] = kHex[c >> 4];
      w[5] = kHex[c & 0xf];
      return w + 6;
  }
}

}  // namespace

// 16 bytes at a time, one pass, into a per-thread scratch buffer sized for
// the worst case (6 bytes per input byte): each block is stored whole with
// one 16-byte store; a block holding escapes is stored again from each
// escaped byte on, shifted past the escape. Then one append. (Growing `out`
// to the worst case instead costs a memset of 6x the text.) The platform's
// AppendJsonEscaped (8-byte SWAR, one append per run and per escape) spent
// ~8k instructions on the bench review's denial. Texts over 8 KiB take the
// platform's path, so the scratch buffer stays small.
void AppendJsonStringForReply(std::string& out, std::string_view s) {
  constexpr size_t kMaxFast = 8u << 10;
  if (s.size() > kMaxFast) return AppendJsonString(out, s);
  thread_local std::unique_ptr<char[]> scratch(new char[6 * kMaxFast + 32]);
  const char* const p = s.data();
  const size_t n = s.size();
  char* const start = scratch.get();
  char* w = start;
  *w++ = '"';
  alignas(16) char block[32] = {};  // one block of input, then 16 bytes the stores may read
  for (size_t i = 0; i < n; i += 16) {
    const size_t len = std::min<size_t>(16, n - i);
    const char* src = p + i;
    uint32_t mask;
    if (len == 16) {
      mask = EscapeMask16(src);
    } else {  // the tail, padded with bytes that need no escape
      std::memset(block, 'a', 16);
      std::memcpy(block, src, len);
      src = block;
      mask = EscapeMask16(block);
    }
    const __m128i whole = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(w), whole);
    if (mask != 0) {
      if (src != block) _mm_store_si128(reinterpret_cast<__m128i*>(block), whole);
      // Bytes [at, 16) of the block belong at w + at.
      while (mask != 0) {
        const auto j = static_cast<size_t>(__builtin_ctz(mask));
        mask &= mask - 1;
        w = WriteEscape(w + j, static_cast<unsigned char>(block[j])) - (j + 1);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(w + j + 1),
                         _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + j + 1)));
      }
    }
    w += len;
  }
  *w++ = '"';
  out.append(start, static_cast<size_t>(w - start));
}
#else
void AppendJsonStringForReply(std::string& out, std::string_view s) { AppendJsonString(out, s); }
#endif

void AppendReview(const ReviewResponse& response, std::string& out) {
  using namespace std::string_view_literals;  // appends of literals without strlen
  out += R"({"apiVersion":")"sv;
  out += ReviewApiVersion(response.version);
  out += R"(","kind":"AdmissionReview","response":{"uid":)"sv;
  AppendJsonString(out, response.uid);
  out += response.allowed ? R"(,"allowed":true)"sv : R"(,"allowed":false)"sv;
  if (response.code != 0 || !response.message.empty()) {
    out += R"(,"status":{)"sv;
    bool first = true;
    if (response.code != 0) {
      out += R"("code":)"sv;
      const fmt::format_int code(response.code);
      out.append(code.data(), code.size());
      first = false;
    }
    if (!response.reason.empty()) {
      if (!first) out += ',';
      out += R"("reason":)"sv;
      AppendJsonString(out, response.reason);
      first = false;
    }
    if (!response.message.empty()) {
      if (!first) out += ',';
      out += R"("message":)"sv;
      AppendJsonStringForReply(out, response.message);
    }
    out += '}';
  }
  if (!response.warnings.empty()) {
    out += R"(,"warnings":[)"sv;
    for (size_t i = 0; i < response.warnings.size(); ++i) {
      if (i) out += ',';
      AppendJsonStringForReply(out, response.warnings[i]);
    }
    out += ']';
  }
  if (!response.audit_annotations.empty()) {
    out += R"(,"auditAnnotations":{)"sv;
    for (size_t i = 0; i < response.audit_annotations.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, response.audit_annotations[i].first);
      out += ':';
      AppendJsonStringForReply(out, response.audit_annotations[i].second);
    }
    out += '}';
  }
  out += "}}"sv;
}

}  // namespace invar::admission
