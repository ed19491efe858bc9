// SPDX-License-Identifier: Apache-2.0
// `-o table` and `-o wide`: kubectl-style columns. First the findings (one
// row per finding, exempted ones marked), then the per-resource scores, the
// counts by check, audit-log execs, and a few summary lines. With
// --no-headers only the finding rows are printed (for scripts, like
// `kubectl get --no-headers`). Pure; thread-safe.
#include <string>

#include "invar/report/render.h"
#include "render_util.h"

namespace invar::report {
namespace {

using internal::Cell;
using internal::Columns;
using internal::OrNone;
using internal::Palette;

std::string SourceText(const policy::SourceLocation& s) {
  if (s.file.empty()) return "";
  std::string out = s.file;
  if (s.line > 0) out += ":" + std::to_string(s.line);
  if (!s.item.empty()) out += " (" + s.item + ")";
  return out;
}

std::string DriftText(const DriftState& d) {
  if (!d.Any()) return "-";
  std::string out;
  if (d.count > 0) out = std::to_string(d.count) + (d.count == 1 ? " change" : " changes");
  if (d.events > 0) {
    if (!out.empty()) out += ", ";
    out += std::to_string(d.events) + (d.events == 1 ? " event" : " events");
  }
  if (!d.first_path.empty())
    out += " (first: " + (d.first_op.empty() ? "" : d.first_op + " ") + d.first_path + ")";
  if (out.empty()) out = "drifted";
  return out;
}

std::string_view ScoreColor(const Palette& p, double score) {
  if (score >= 100.0) return p.Green();
  if (score >= 80.0) return p.Yellow();
  return p.Red();
}

std::string SeverityCounts(const Summary& s) {
  std::string out;
  for (auto it = s.by_severity.rbegin(); it != s.by_severity.rend(); ++it) {
    if (!out.empty()) out += ", ";
    out += std::to_string(it->second) + " " + std::string(policy::SeverityName(it->first));
  }
  return out;
}

}  // namespace

std::string RenderTable(const Report& report, bool wide, const RenderOptions& options) {
  Palette p(options.color);
  Summary summary = Summarize(report);
  bool cluster = report.source == "cluster";
  std::string out;

  // Findings.
  std::vector<std::string> headers = {"NAMESPACE", "KIND/NAME", "CONTAINER", "CHECK", "SEVERITY", "MESSAGE"};
  if (wide) {
    headers.insert(headers.end(), {"PATH", "SOURCE", "REMEDIATION"});
  }
  Columns findings(headers, options.headers, p);
  for (const auto& r : report.resources) {
    for (const auto& f : r.findings) {
      if (f.check == nullptr) continue;
      std::string message = f.message;
      std::string_view row_color;
      if (f.exempted) {
        message = "(exempted: " + f.exemption + ") " + message;
        row_color = p.Dim();
      }
      std::vector<Cell> row = {
          {OrNone(r.namespace_), row_color},
          {r.DisplayName(), row_color},
          {f.container.empty() ? "-" : f.container, row_color},
          {std::string(f.check->id), row_color},
          {std::string(policy::SeverityName(f.check->severity)),
           f.exempted ? p.Dim() : p.ForSeverity(f.check->severity)},
          {message, row_color},
      };
      if (wide) {
        row.push_back({f.path, row_color});
        row.push_back({OrNone(SourceText(r.source)), row_color});
        row.push_back({std::string(f.check->remediation), row_color});
      }
      findings.AddRow(std::move(row));
    }
  }
  if (!options.headers) return findings.Render();

  if (!findings.empty()) {
    out += findings.Render();
  } else if (!report.resources.empty()) {
    out += "No findings.\n";
  }

  // Resources and their scores.
  if (!report.resources.empty()) {
    std::vector<std::string> rh = {"NAMESPACE", "KIND/NAME", "PROFILE", "VERSION",
                                   "SCORE",     "PASSED",    "FAILED",  "EXEMPTED"};
    if (cluster) rh.insert(rh.end(), {"PODS", "DRIFT"});
    if (wide) rh.push_back(cluster ? "NOTE" : "SOURCE");
    Columns resources(rh, true, p);
    for (const auto& r : report.resources) {
      int exempted = 0;
      for (const auto& f : r.findings) exempted += f.exempted ? 1 : 0;
      std::vector<Cell> row = {
          {OrNone(r.namespace_), {}},
          {r.DisplayName(), {}},
          {r.profile, {}},
          {r.pss_version, {}},
          {internal::FormatPercent(r.Score()), ScoreColor(p, r.Score())},
          {std::to_string(r.PassedChecks()) + "/" + std::to_string(r.applicable.size()), {}},
          {std::to_string(r.FailedChecks()), {}},
          {std::to_string(exempted), {}},
      };
      if (cluster) {
        row.push_back({std::to_string(r.pods.size()), {}});
        row.push_back({DriftText(r.drift), r.drift.Any() ? p.Red() : std::string_view()});
      }
      if (wide) row.push_back({cluster ? OrNone(r.note) : OrNone(SourceText(r.source)), {}});
      resources.AddRow(std::move(row));
    }
    out += "\n" + resources.Render();
  }

  // Counts by check.
  if (!summary.by_check.empty()) {
    Columns checks({"CHECK", "SEVERITY", "FINDINGS", "EXEMPTED", "RESOURCES", "TITLE"}, true, p);
    for (const auto& c : summary.by_check) {
      checks.AddRow({{std::string(c.check->id), {}},
                     {std::string(policy::SeverityName(c.check->severity)), p.ForSeverity(c.check->severity)},
                     {std::to_string(c.findings), {}},
                     {std::to_string(c.exempted), {}},
                     {std::to_string(c.resources), {}},
                     {std::string(c.check->title), {}}});
    }
    out += "\n" + checks.Render();
  }

  // Audit log: exec, attach, port-forward, ephemeral containers.
  if (!report.execs.empty()) {
    std::vector<std::string> eh = {"TIME",      "USER",    "ACTION", "NAMESPACE", "POD",
                                   "CONTAINER", "COMMAND", "RESULT", "FLAGGED"};
    if (wide) eh.insert(eh.end(), {"GROUPS", "REASON", "SOURCE"});
    Columns execs(eh, true, p);
    for (const auto& e : report.execs) {
      std::string result = e.allowed ? "allowed" : "denied";
      if (e.code != 0) result += " (" + std::to_string(e.code) + ")";
      std::string command = !e.command.empty() ? internal::ShellJoin(e.command)
                            : !e.ports.empty() ? "ports " + internal::Join(e.ports, ",")
                                               : std::string("-");
      std::vector<Cell> row = {
          {e.time, {}},
          {e.user, {}},
          {e.subresource, {}},
          {e.namespace_, {}},
          {e.pod, {}},
          {e.container.empty() ? "-" : e.container, {}},
          {command, {}},
          {result, e.allowed ? p.Yellow() : p.Green()},
          {e.flagged ? std::string(policy::SeverityName(e.Severity())) : std::string("-"),
           e.flagged ? p.ForSeverity(e.Severity()) : std::string_view()},
      };
      if (wide) {
        row.push_back({OrNone(internal::Join(e.groups, ",")), {}});
        row.push_back(
            {OrNone(e.flagged ? e.flag_reason + (e.reason.empty() ? "" : "; " + e.reason) : e.reason), {}});
        row.push_back({e.source_file + ":" + std::to_string(e.source_line), {}});
      }
      execs.AddRow(std::move(row));
    }
    out += "\n" + execs.Render();
  }

  // Summary lines.
  out += "\n";
  if (!report.resources.empty()) {
    out += "Compliance: ";
    out += p.on() ? std::string(ScoreColor(p, summary.score)) : std::string();
    out += internal::FormatPercent(summary.score);
    out += p.Reset();
    out += " (" + std::to_string(summary.passed_checks) + " of " + std::to_string(summary.applicable_checks) +
           " checks passed); " + std::to_string(summary.compliant_resources) + " of " +
           std::to_string(summary.resources) + (summary.resources == 1 ? " resource" : " resources") +
           " compliant";
    out += "\n";
    out += "Findings: " + std::to_string(summary.findings);
    if (!summary.by_severity.empty()) out += " (" + SeverityCounts(summary) + ")";
    out += ", " + std::to_string(summary.exempted) + " exempted\n";
  } else if (report.source != "audit") {
    out += "No workloads evaluated.\n";
  }
  if (summary.drifted_resources > 0) {
    out += "Drift: " + std::to_string(summary.drifted_resources) +
           (summary.drifted_resources == 1 ? " resource has" : " resources have") + " drifted containers\n";
  }
  if (report.audit) {
    out += "Audit log: " + std::to_string(summary.execs) +
           (summary.execs == 1 ? " exec/attach/port-forward request, "
                               : " exec/attach/port-forward requests, ") +
           std::to_string(summary.flagged_execs) + " flagged\n";
  }
  if (summary.skipped > 0) {
    out += std::to_string(summary.skipped) + (summary.skipped == 1 ? " object" : " objects") +
           " without a pod spec skipped\n";
  }
  for (const auto& w : report.warnings) out += "warning: " + internal::Sanitize(w) + "\n";
  if (summary.errors > 0) {
    out += std::to_string(summary.errors) + (summary.errors == 1 ? " input error" : " input errors") +
           " (printed on stderr)\n";
  }
  return out;
}

}  // namespace invar::report
