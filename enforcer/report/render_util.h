// SPDX-License-Identifier: Apache-2.0
// Private helpers shared by the renderers: a kubectl-style column writer,
// escaping, colours and small formatting helpers. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "invar/policy/checks.h"
#include "invar/report/report.h"

namespace invar::report::internal {

// ANSI SGR sequences; empty strings when colour is off.
struct Palette {
  explicit Palette(bool on) : on_(on) {}
  std::string_view Red() const { return on_ ? "\x1b[31m" : ""; }
  std::string_view BoldRed() const { return on_ ? "\x1b[1;31m" : ""; }
  std::string_view Yellow() const { return on_ ? "\x1b[33m" : ""; }
  std::string_view Cyan() const { return on_ ? "\x1b[36m" : ""; }
  std::string_view Green() const { return on_ ? "\x1b[32m" : ""; }
  std::string_view Dim() const { return on_ ? "\x1b[2m" : ""; }
  std::string_view Reset() const { return on_ ? "\x1b[0m" : ""; }
  std::string_view ForSeverity(policy::Severity s) const;
  bool on() const { return on_; }

 private:
  bool on_;
};

// A cell: its visible text and an optional colour around it.
struct Cell {
  std::string text;
  std::string_view color;  // "" for none
};

// Columns as kubectl prints them (text/tabwriter with minwidth 6, padding 3,
// no borders, upper-case headers); colour codes do not count towards widths.
// The last column is not padded.
class Columns {
 public:
  Columns(std::vector<std::string> headers, bool print_headers, const Palette& palette);
  void AddRow(std::vector<Cell> row);
  std::string Render() const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  bool print_headers_;
  const Palette& palette_;
  std::vector<std::vector<Cell>> rows_;
};

// Display width of UTF-8 text (code points; no wide-character tables).
size_t DisplayWidth(std::string_view text);
// Replaces control characters (tabs, newlines, ESC) with spaces so that one
// hostile field cannot break the table or inject terminal sequences.
std::string Sanitize(std::string_view text);
// "<none>" for empty, as kubectl prints missing values.
std::string OrNone(std::string_view text);

std::string XmlEscape(std::string_view text);           // also drops characters XML 1.0 forbids
std::string LowerSeverity(policy::Severity s);          // "high"
std::string SinceText(const policy::CheckInfo& check);  // "v1.0", "invar"
std::string FormatPercent(double value);                // "72.5%", "100%"
std::string FormatDouble(double value);                 // "72.5", "100"
// FNV-1a 64-bit, as 16 hex digits: stable fingerprints without a crypto dependency.
std::string Fnv1a64Hex(std::string_view text);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
// Shell-like rendering of an argv ("sh -c 'echo hi'").
std::string ShellJoin(const std::vector<std::string>& argv);

// Walks a JSON tree into yaml-cpp's emitter (block style, two-space indent,
// ambiguous strings double-quoted); ends with a newline.
std::string JsonToYaml(const nlohmann::ordered_json& j);

// The id used for flagged exec/attach requests in every format.
inline constexpr std::string_view kExecRuleId = "shellAccessInImmutableNamespace";
inline constexpr std::string_view kExecRuleTitle = "Shell access to a pod in an immutable namespace";

}  // namespace invar::report::internal
