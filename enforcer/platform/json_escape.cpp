// SPDX-License-Identifier: Apache-2.0
// AppendJsonEscaped (see json_escape.h). Bytes that need no escape are found
// eight at a time (SWAR) and appended as one run; a word holding a byte to
// escape (or, when sanitizing UTF-8, a byte >= 0x80) is finished byte by byte
// with a lookup table; a multi-byte sequence is checked against RFC 3629's
// table of well-formed byte sequences. Thread-safe.
#include "invar/platform/json_escape.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace invar {
namespace {

// 0: copy; 'u': \u00XX; otherwise the letter after the backslash.
constexpr std::array<char, 256> kEscape = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 'u';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  t['"'] = '"';
  t['\\'] = '\\';
  return t;
}();

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// True when some byte of `w` is < 0x20, '"' or '\\' (exact as a boolean).
inline bool NeedsEscape(uint64_t w) {
  uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighs;
  uint64_t q = w ^ (kOnes * '"');
  uint64_t quote = (q - kOnes) & ~q & kHighs;
  uint64_t b = w ^ (kOnes * '\\');
  uint64_t backslash = (b - kOnes) & ~b & kHighs;
  return (below_space | quote | backslash) != 0;
}

// The length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or
// 0 when it is not one (RFC 3629 section 4, "UTF8-2" .. "UTF8-4").
inline size_t WellFormedLength(const unsigned char* p, size_t avail) {
  const unsigned char c = p[0];
  auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
    return i < avail && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const bool second = c == 0xe0 ? cont(1, 0xa0) : c == 0xed ? cont(1, 0x80, 0x9f) : cont(1);
    return second && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const bool second = c == 0xf0 ? cont(1, 0x90) : c == 0xf4 ? cont(1, 0x80, 0x8f) : cont(1);
    return second && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;  // 80..BF (continuation), C0, C1 (overlong), F5..FF (above U+10FFFF)
}

inline void AppendEscape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char e = kEscape[c];
  if (e == 'u') {
    const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
    out.append(u, 6);
  } else {
    const char named[2] = {'\\', e};
    out.append(named, 2);
  }
}

void AppendSanitized(std::string& out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  out.reserve(out.size() + s.size() + 2);
  while (p < end) {
    const unsigned char* run = p;
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & kHighs) != 0 || NeedsEscape(w)) break;
      p += 8;
    }
    while (p < end && *p < 0x80 && kEscape[*p] == 0) ++p;
    out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
    if (p == end) break;
    if (*p < 0x80) {
      AppendEscape(out, *p++);
      continue;
    }
    const size_t len = WellFormedLength(p, static_cast<size_t>(end - p));
    if (len == 0) {
      out.append("\\ufffd", 6);
      ++p;
    } else {
      out.append(reinterpret_cast<const char*>(p), len);
      p += len;
    }
  }
}

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view s, Utf8 utf8) {
  if (utf8 == Utf8::kSanitize) {
    AppendSanitized(out, s);
  } else {
    AppendJsonEscaped(out, s);
  }
}

void AppendJsonEscaped(std::string& out, std::string_view s) {
  const char* p = s.data();
  const char* const end = p + s.size();
  out.reserve(out.size() + s.size() + 2);
  while (p < end) {
    const char* run = p;
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (NeedsEscape(w)) break;
      p += 8;
    }
    while (p < end && kEscape[static_cast<unsigned char>(*p)] == 0) ++p;
    out.append(run, static_cast<size_t>(p - run));
    if (p == end) break;
    AppendEscape(out, static_cast<unsigned char>(*p++));
  }
}

}  // namespace invar
