// SPDX-License-Identifier: Apache-2.0
// AppendJsonEscaped (see json_escape.h). Bytes that need no escape are found
// eight at a time (SWAR) and appended as one run; a word holding a byte to
// escape is finished byte by byte with a lookup table. Thread-safe.
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

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
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
    auto c = static_cast<unsigned char>(*p++);
    char e = kEscape[c];
    if (e == 'u') {
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out.append(u, 6);
    } else {
      const char named[2] = {'\\', e};
      out.append(named, 2);
    }
  }
}

}  // namespace invar
