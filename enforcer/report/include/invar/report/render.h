// SPDX-License-Identifier: Apache-2.0
// Renderers: Report -> text in one of the output formats of `invar report`
// (table, wide, json, yaml, sarif, junit, policyreport), and the check
// catalogue for `invar checks` (table, json, markdown). Pure functions over
// the data model (no clock, no environment, no Kubernetes client), so the
// golden tests pin their output byte for byte. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "invar/report/report.h"

namespace invar::report {

enum class Format { kTable, kWide, kJson, kYaml, kSarif, kJunit, kPolicyReport };
// "table", "wide", ...; false for anything else.
bool ParseFormat(std::string_view name, Format* out);
std::string_view FormatName(Format f);
inline constexpr std::string_view kFormatNames = "table|wide|json|yaml|sarif|junit|policyreport";

struct RenderOptions {
  bool color = false;   // ANSI colours in table/wide
  bool headers = true;  // --no-headers: table rows only, no header line and no summary
  // Directory SARIF artifact URIs are made relative to (the repository
  // root); absolute paths outside it become file:// URIs.
  std::string base_dir;
};

std::string Render(const Report& report, Format format, const RenderOptions& options);

// One renderer each (Render dispatches).
std::string RenderTable(const Report& report, bool wide, const RenderOptions& options);
std::string RenderJson(const Report& report);
std::string RenderYaml(const Report& report);
std::string RenderSarif(const Report& report, const RenderOptions& options);
std::string RenderJunit(const Report& report);
std::string RenderPolicyReport(const Report& report);

// `invar checks`.
enum class CatalogueFormat { kTable, kJson, kMarkdown };
bool ParseCatalogueFormat(std::string_view name, CatalogueFormat* out);
std::string RenderCatalogue(CatalogueFormat format, const RenderOptions& options);

}  // namespace invar::report
