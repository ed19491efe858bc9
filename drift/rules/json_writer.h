// SPDX-License-Identifier: Apache-2.0
// A minimal JSON object writer for the alerts the engine formats (one per
// matching event on the agent's dispatcher thread): appends straight into a
// string. Strings go through the platform escaper in its UTF-8-sanitising
// mode (invar/platform/json_escape.h, Utf8::kSanitize): RFC 8259 escapes, and
// invalid UTF-8 replaced with U+FFFD, so any path or command line the kernel
// gives prints as valid JSON. Hand-written because building and dumping an
// nlohmann DOM was the agent's top CPU cost per alert. Private to
// invar_drift_rules. Not thread-safe (one writer per string).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "invar/platform/json_escape.h"

namespace invar::rules::internal {

// Appends `s` as a quoted JSON string, invalid UTF-8 replaced.
inline void AppendJsonString(std::string* out, std::string_view s) {
  ::invar::AppendJsonString(*out, s, ::invar::Utf8::kSanitize);
}

// Writes the members of one JSON object; Close() before using the string.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  void Key(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    AppendJsonString(out_, key);
    out_->push_back(':');
  }
  void String(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(out_, value);
  }
  void Int(std::string_view key, std::int64_t value) {
    Key(key);
    *out_ += std::to_string(value);
  }
  void Bool(std::string_view key, bool value) {
    Key(key);
    *out_ += value ? "true" : "false";
  }
  void Null(std::string_view key) {
    Key(key);
    *out_ += "null";
  }
  void Close() { out_->push_back('}'); }

 private:
  std::string* out_;
  bool first_ = true;
};

}  // namespace invar::rules::internal
