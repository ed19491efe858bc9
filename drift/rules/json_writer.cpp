// SPDX-License-Identifier: Apache-2.0
// JSON string escaping for the alert writer (json_writer.h).
#include "json_writer.h"

namespace invar::rules::internal {

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    // Fast path: a run of printable ASCII that needs no escape, appended at once.
    std::size_t run = i;
    while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') ++run;
    if (run > i) {
      out->append(reinterpret_cast<const char*>(p + i), run - i);
      i = run;
      continue;
    }
    const unsigned char ch = p[i];
    if (ch < 0x80) {
      switch (ch) {
        case '"': *out += "\\\""; break;
        case '\\': *out += "\\\\"; break;
        case '\n': *out += "\\n"; break;
        case '\r': *out += "\\r"; break;
        case '\t': *out += "\\t"; break;
        default:
          *out += "\\u00";
          out->push_back(kHex[ch >> 4]);
          out->push_back(kHex[ch & 15]);
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: copied when well formed (no overlongs, no surrogates,
    // nothing above U+10FFFF), else one U+FFFD per bad byte.
    const std::size_t len = ch >= 0xf0 && ch <= 0xf4 ? 4 : ch >= 0xe0 ? 3 : ch >= 0xc2 && ch <= 0xdf ? 2 : 0;
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xc0) == 0x80;
    if (ok && len == 3) {
      const unsigned cp = ((ch & 0x0fu) << 12) | ((p[i + 1] & 0x3fu) << 6);
      ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
    }
    if (ok && len == 4) {
      const unsigned cp = ((ch & 0x07u) << 18) | ((p[i + 1] & 0x3fu) << 12);
      ok = cp >= 0x10000 && cp <= 0x10ffff;
    }
    if (ok) {
      out->append(reinterpret_cast<const char*>(p + i), len);
      i += len;
    } else {
      *out += "\\ufffd";
      ++i;
    }
  }
  out->push_back('"');
}

}  // namespace invar::rules::internal
