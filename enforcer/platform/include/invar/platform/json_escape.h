// SPDX-License-Identifier: Apache-2.0
// JSON string escaping for the hand-built JSON on hot paths (the webhook's
// AdmissionReview response, JSON log lines). Escapes exactly what RFC 8259
// requires — '"', '\\' and the control characters U+0000..U+001F (\n, \r, \t
// by name, the rest as \u00XX) — and copies every other byte unchanged, in
// runs, so UTF-8 passes through. Pure functions: thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace invar {

// Appends `s` escaped for use inside a JSON string literal (no quotes).
void AppendJsonEscaped(std::string& out, std::string_view s);

// Appends `s` as a complete JSON string literal: '"' + escaped + '"'.
inline void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  AppendJsonEscaped(out, s);
  out.push_back('"');
}

}  // namespace invar
