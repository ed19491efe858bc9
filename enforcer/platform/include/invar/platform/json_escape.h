// SPDX-License-Identifier: Apache-2.0
// JSON string escaping for the hand-built JSON on hot paths: the webhook's
// AdmissionReview response, JSON log lines, and the drift agent's Falco
// alerts (drift/rules). Escapes exactly what RFC 8259 requires — '"', '\\'
// and the control characters U+0000..U+001F (\n, \r, \t by name, the rest as
// \u00XX) — and copies every other byte in runs found eight at a time.
//
// Bytes >= 0x80 are handled per `Utf8`:
//   kPassThrough  copied unchanged (the default: the webhook's and the logs'
//                 text is UTF-8 already, and this is the fast path);
//   kSanitize     well-formed UTF-8 (RFC 3629) is copied; every byte that is
//                 not part of a well-formed sequence — a stray continuation
//                 byte, an overlong form (C0, C1, E0 80..9F, F0 80..8F), a
//                 surrogate (ED A0..BF), a code point above U+10FFFF (F4
//                 90.., F5..FF), a truncated sequence — becomes one \ufffd.
//                 The result is always valid UTF-8: for text from hostile
//                 sources (file names, command lines in alerts).
// Pure functions: thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace invar {

enum class Utf8 : unsigned char { kPassThrough, kSanitize };

// Appends `s` escaped for use inside a JSON string literal (no quotes).
void AppendJsonEscaped(std::string& out, std::string_view s);  // Utf8::kPassThrough
void AppendJsonEscaped(std::string& out, std::string_view s, Utf8 utf8);

// Appends `s` as a complete JSON string literal: '"' + escaped + '"'.
inline void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  AppendJsonEscaped(out, s);
  out.push_back('"');
}
inline void AppendJsonString(std::string& out, std::string_view s, Utf8 utf8) {
  out.push_back('"');
  AppendJsonEscaped(out, s, utf8);
  out.push_back('"');
}

}  // namespace invar
