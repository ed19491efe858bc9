// SPDX-License-Identifier: Apache-2.0
// Process-wide logging, backed by spdlog in log.cpp so that spdlog's headers
// stay out of every translation unit. Thread-safe. Never pass tokens, keys or
// certificate data to it: use Redact() for anything that could hold them.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace invar::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

enum class Format { kText, kJson };

// Configures the process logger (stderr). Safe to call again.
void Init(Level level, Format format = Format::kText);
// Parses "trace|debug|info|warn|error|off"; returns false on an unknown name.
bool ParseLevel(std::string_view name, Level* out);
Level CurrentLevel();
void Write(Level level, std::string_view message);

// "Bearer eyJ..." -> "Bearer <redacted>"; PEM blocks and token=... values too.
std::string Redact(std::string_view text);

template <typename... Args>
void Trace(fmt::format_string<Args...> f, Args&&... args) {
  if (CurrentLevel() <= Level::kTrace) Write(Level::kTrace, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Debug(fmt::format_string<Args...> f, Args&&... args) {
  if (CurrentLevel() <= Level::kDebug) Write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Info(fmt::format_string<Args...> f, Args&&... args) {
  if (CurrentLevel() <= Level::kInfo) Write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(fmt::format_string<Args...> f, Args&&... args) {
  if (CurrentLevel() <= Level::kWarn) Write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Error(fmt::format_string<Args...> f, Args&&... args) {
  if (CurrentLevel() <= Level::kError) Write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace invar::log
