// SPDX-License-Identifier: Apache-2.0
// spdlog-backed implementation of invar::log. The only file that includes spdlog.
#include "invar/platform/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <regex>

#include "invar/platform/json_escape.h"

namespace invar::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::once_flag g_once;
std::shared_ptr<spdlog::logger> g_logger;
std::atomic<Format> g_format{Format::kText};

spdlog::level::level_enum ToSpd(Level l) {
  switch (l) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

spdlog::logger& Logger() {
  std::call_once(g_once, [] {
    g_logger = std::make_shared<spdlog::logger>("invar", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    g_logger->set_level(ToSpd(g_level.load()));
    g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  });
  return *g_logger;
}

}  // namespace

void Init(Level level, Format format) {
  g_level = level;
  g_format = format;
  auto& l = Logger();
  l.set_level(ToSpd(level));
  if (format == Format::kJson) {
    l.set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  } else {
    l.set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
}

bool ParseLevel(std::string_view name, Level* out) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"trace", Level::kTrace}, {"debug", Level::kDebug}, {"info", Level::kInfo},
      {"warn", Level::kWarn},   {"warning", Level::kWarn}, {"error", Level::kError},
      {"off", Level::kOff}};
  for (const auto& [n, l] : kNames) {
    if (n == name) {
      *out = l;
      return true;
    }
  }
  return false;
}

Level CurrentLevel() { return g_level.load(std::memory_order_relaxed); }

void Write(Level level, std::string_view message) {
  std::string safe = Redact(message);
  if (g_format.load() == Format::kJson) {
    // The pattern set in Init() supplies the braces around this field.
    std::string msg = "\"msg\":";
    AppendJsonString(msg, safe);
    Logger().log(ToSpd(level), "{}", msg);
  } else {
    Logger().log(ToSpd(level), "{}", safe);
  }
}

std::string Redact(std::string_view text) {
  // Cheap pre-check: most lines carry nothing secret.
  if (text.find("earer") == std::string_view::npos && text.find("-----BEGIN") == std::string_view::npos &&
      text.find("token") == std::string_view::npos && text.find("password") == std::string_view::npos &&
      text.find("-data") == std::string_view::npos) {
    return std::string(text);
  }
  static const std::regex kBearer(R"((Bearer|bearer)\s+[A-Za-z0-9._~+/=-]+)");
  static const std::regex kPem(R"(-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----)");
  static const std::regex kKv(
      R"re(((?:token|password|client-key-data|client-certificate-data|certificate-authority-data)"?\s*[:=]\s*"?)[^\s",}]+)re");
  std::string out(text);
  out = std::regex_replace(out, kPem, "<redacted PEM>");
  out = std::regex_replace(out, kBearer, "$1 <redacted>");
  out = std::regex_replace(out, kKv, "$1<redacted>");
  return out;
}

}  // namespace invar::log
