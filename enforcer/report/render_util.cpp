// SPDX-License-Identifier: Apache-2.0
// Helpers for the renderers (see render_util.h). Pure; thread-safe.
#include "render_util.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace invar::report::internal {

std::string_view Palette::ForSeverity(policy::Severity s) const {
  switch (s) {
    case policy::Severity::kCritical:
      return BoldRed();
    case policy::Severity::kHigh:
      return Red();
    case policy::Severity::kMedium:
      return Yellow();
    case policy::Severity::kLow:
      return Cyan();
    case policy::Severity::kInfo:
      return "";
  }
  return "";
}

Columns::Columns(std::vector<std::string> headers, bool print_headers, const Palette& palette)
    : headers_(std::move(headers)), print_headers_(print_headers), palette_(palette) {}

void Columns::AddRow(std::vector<Cell> row) {
  row.resize(headers_.size());
  for (auto& c : row) c.text = Sanitize(c.text);
  rows_.push_back(std::move(row));
}

std::string Columns::Render() const {
  constexpr size_t kMinWidth = 6, kPadding = 3;
  std::vector<size_t> width(headers_.size(), 0);
  auto measure = [&](size_t i, std::string_view text) { width[i] = std::max(width[i], DisplayWidth(text)); };
  if (print_headers_) {
    for (size_t i = 0; i < headers_.size(); ++i) measure(i, headers_[i]);
  }
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) measure(i, row[i].text);
  }
  for (auto& w : width) w = std::max(kMinWidth, w + kPadding);
  std::string out;
  auto emit = [&](const std::vector<Cell>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const auto& cell = row[i];
      bool colored = !cell.color.empty() && palette_.on() && !cell.text.empty();
      if (colored) line.append(cell.color);
      line.append(cell.text);
      if (colored) line.append(palette_.Reset());
      if (i + 1 < row.size()) line.append(width[i] - DisplayWidth(cell.text), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out.append(line);
    out.push_back('\n');
  };
  if (print_headers_) {
    std::vector<Cell> header;
    for (const auto& h : headers_) header.push_back(Cell{h, {}});
    emit(header);
  }
  for (const auto& row : rows_) emit(row);
  return out;
}

size_t DisplayWidth(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string Sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(c < 0x20 || c == 0x7F ? ' ' : ch);
  }
  return out;
}

std::string OrNone(std::string_view text) { return text.empty() ? std::string("<none>") : std::string(text); }

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\t':
        out += "&#9;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        // XML 1.0 forbids every other C0 control character, even escaped.
        if (c < 0x20) {
          out += "\xEF\xBF\xBD";  // U+FFFD
        } else {
          out.push_back(ch);
        }
    }
  }
  return out;
}

std::string LowerSeverity(policy::Severity s) {
  std::string out(policy::SeverityName(s));
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string SinceText(const policy::CheckInfo& check) {
  return check.pss ? "v1." + std::to_string(check.since_minor) : std::string("invar");
}

std::string FormatDouble(double value) {
  char buf[32];
  double rounded = std::round(value * 10.0) / 10.0;
  if (rounded == std::floor(rounded)) {
    std::snprintf(buf, sizeof buf, "%.0f", rounded);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", rounded);
  }
  return buf;
}

std::string FormatPercent(double value) { return FormatDouble(value) + "%"; }

std::string Fnv1a64Hex(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(sep);
    out.append(parts[i]);
  }
  return out;
}

std::string ShellJoin(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) out.push_back(' ');
    const auto& a = argv[i];
    bool plain = !a.empty() && a.find_first_not_of(
                                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                   "-_./=:,@%+") == std::string::npos;
    if (plain) {
      out += a;
    } else {
      out.push_back('\'');
      for (char c : a) {
        if (c == '\'') {
          out += "'\\''";
        } else {
          out.push_back(c);
        }
      }
      out.push_back('\'');
    }
  }
  return out;
}

}  // namespace invar::report::internal
