// SPDX-License-Identifier: Apache-2.0
// `-o sarif`: SARIF 2.1.0 as GitHub code scanning ingests it. One rule per
// catalogue check (ruleIndex stable across runs) plus one for flagged shell
// access; one result per finding at the file and line of the offending
// object; exempted findings as results with an inSource suppression; input
// errors as tool execution notifications. Pure; thread-safe.
#include <nlohmann/json.hpp>

#include "invar/report/render.h"
#include "render_util.h"

namespace invar::report {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kSarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";
constexpr std::string_view kInformationUri = "https://invar.dev";

std::string_view SarifLevel(policy::Severity s) {
  switch (s) {
    case policy::Severity::kCritical:
    case policy::Severity::kHigh:
      return "error";
    case policy::Severity::kMedium:
      return "warning";
    case policy::Severity::kLow:
    case policy::Severity::kInfo:
      return "note";
  }
  return "warning";
}

// GitHub maps security-severity > 9.0 to critical, 7.0-8.9 high, 4.0-6.9
// medium, 0.1-3.9 low.
std::string_view SecuritySeverity(policy::Severity s) {
  switch (s) {
    case policy::Severity::kCritical:
      return "9.5";
    case policy::Severity::kHigh:
      return "8.0";
    case policy::Severity::kMedium:
      return "5.5";
    case policy::Severity::kLow:
      return "3.0";
    case policy::Severity::kInfo:
      return "0.0";
  }
  return "5.5";
}

std::string RuleName(std::string_view id) {
  std::string name(id);
  if (!name.empty()) name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  std::string out;
  for (char c : name) {
    if (c != '_') out.push_back(c);
  }
  return out;
}

// Percent-encodes what RFC 3986 does not allow in a path.
std::string UriEncodePath(std::string_view path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    bool keep = std::isalnum(c) ||
                std::string_view("-._~/!$&'()*+,;=:@").find(static_cast<char>(c)) != std::string_view::npos;
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// The artifactLocation of a file: relative to base_dir (uriBaseId
// %SRCROOT%) when it can be, a file:// URI otherwise.
Json ArtifactLocation(std::string file, const std::string& base_dir) {
  if (file == "-") return Json{{"uri", "stdin"}};
  constexpr std::string_view kKustomize = "kustomize:";
  if (file.rfind(kKustomize, 0) == 0) {
    file = file.substr(kKustomize.size());
    if (!file.empty() && file.back() != '/') file += '/';
    file += "kustomization.yaml";
  }
  while (file.rfind("./", 0) == 0) file.erase(0, 2);
  if (!file.empty() && file[0] == '/') {
    std::string base = base_dir;
    if (!base.empty() && base.back() != '/') base += '/';
    if (!base.empty() && file.rfind(base, 0) == 0) {
      file = file.substr(base.size());
    } else {
      return Json{{"uri", "file://" + UriEncodePath(file)}};
    }
  }
  return Json{{"uri", UriEncodePath(file)}, {"uriBaseId", "%SRCROOT%"}};
}

Json Location(const std::string& file, int line, bool kustomize_line_unknown, const std::string& base_dir) {
  Json physical = Json::object();
  physical["artifactLocation"] = ArtifactLocation(file, base_dir);
  int start = (kustomize_line_unknown || line <= 0) ? 1 : line;
  physical["region"] = Json{{"startLine", start}};
  return Json{{"physicalLocation", std::move(physical)}};
}

Json Rule(std::string_view id, std::string_view title, std::string_view rationale,
          std::string_view remediation, policy::Severity severity, std::vector<std::string> tags) {
  Json r = Json::object();
  r["id"] = id;
  r["name"] = RuleName(id);
  r["shortDescription"] = Json{{"text", title}};
  r["fullDescription"] = Json{{"text", rationale}};
  r["help"] = Json{{"text", remediation},
                   {"markdown", "**" + std::string(title) + "**\n\n" + std::string(rationale) +
                                    "\n\n**Remediation:** " + std::string(remediation)}};
  r["defaultConfiguration"] = Json{{"level", SarifLevel(severity)}};
  r["properties"] =
      Json{{"tags", std::move(tags)},
           {"precision", "very-high"},
           {"problem.severity", SarifLevel(severity) == "note" ? "recommendation" : SarifLevel(severity)},
           {"security-severity", SecuritySeverity(severity)}};
  return r;
}

}  // namespace

std::string RenderSarif(const Report& report, const RenderOptions& options) {
  auto catalogue = policy::Catalogue();
  Json rules = Json::array();
  for (const auto& c : catalogue) {
    std::vector<std::string> tags = {"security", "kubernetes", std::string(policy::LevelName(c.level))};
    if (c.pss) tags.emplace_back("pod-security-standards");
    if (c.level == policy::Level::kImmutable) tags.emplace_back("immutability");
    rules.push_back(Rule(c.id, c.title, c.rationale, c.remediation, c.severity, std::move(tags)));
  }
  const int exec_rule_index = static_cast<int>(catalogue.size());
  rules.push_back(
      Rule(internal::kExecRuleId, internal::kExecRuleTitle,
           "An exec, attach, port-forward or ephemeral-container request reached a pod in a namespace "
           "whose containers are meant to be immutable; a shell is the usual way drift starts.",
           "Deny pods/exec and pods/attach in immutable namespaces (invar webhook) and grant break-glass "
           "access only through the configured group; investigate the session.",
           policy::Severity::kHigh, {"security", "kubernetes", "audit", "immutability"}));

  Json results = Json::array();
  for (const auto& r : report.resources) {
    bool kustomize = r.source.file.rfind("kustomize:", 0) == 0;
    for (const auto& f : r.findings) {
      if (f.check == nullptr) continue;
      int index = static_cast<int>(f.check - catalogue.data());
      if (index < 0 || index >= static_cast<int>(catalogue.size())) continue;
      Json res = Json::object();
      res["ruleId"] = f.check->id;
      res["ruleIndex"] = index;
      res["level"] = SarifLevel(f.check->severity);
      std::string text = r.DisplayName();
      if (!r.namespace_.empty()) text = r.namespace_ + "/" + text;
      text += ": " + f.message;
      res["message"] = Json{{"text", text}};
      Json locations = Json::array();
      Json loc = r.source.file.empty() ? Json::object()
                                       : Location(r.source.file, r.source.line, kustomize, options.base_dir);
      std::string logical = r.namespace_ + "/" + r.DisplayName() + "/" + f.path;
      loc["logicalLocations"] =
          Json::array({Json{{"name", r.DisplayName()}, {"fullyQualifiedName", logical}, {"kind", "object"}}});
      locations.push_back(std::move(loc));
      res["locations"] = std::move(locations);
      res["partialFingerprints"] =
          Json{{"invarFinding/v1",
                internal::Fnv1a64Hex(r.kind + "|" + r.namespace_ + "|" + r.name + "|" +
                                     std::string(f.check->id) + "|" + f.container + "|" + f.path)}};
      if (f.exempted) {
        res["suppressions"] = Json::array({Json{{"kind", "inSource"}, {"justification", f.exemption}}});
      }
      res["properties"] = Json{{"severity", policy::SeverityName(f.check->severity)},
                               {"namespace", r.namespace_},
                               {"kind", r.kind},
                               {"name", r.name},
                               {"container", f.container},
                               {"path", f.path},
                               {"profile", r.profile}};
      results.push_back(std::move(res));
    }
  }
  for (const auto& e : report.execs) {
    if (!e.IsFinding()) continue;
    Json res = Json::object();
    res["ruleId"] = internal::kExecRuleId;
    res["ruleIndex"] = exec_rule_index;
    res["level"] = SarifLevel(e.Severity());
    std::string verb = e.allowed ? " was allowed " : " was denied ";
    std::string text = e.user + " " + e.subresource + " into " + e.Target() + verb + "at " + e.time;
    if (!e.command.empty()) text += ": " + internal::ShellJoin(e.command);
    text += " (" + e.flag_reason + ")";
    res["message"] = Json{{"text", text}};
    res["locations"] = Json::array({Location(e.source_file, e.source_line, false, options.base_dir)});
    res["partialFingerprints"] =
        Json{{"invarExec/v1", internal::Fnv1a64Hex(e.audit_id + "|" + e.subresource)}};
    res["properties"] = Json{{"severity", policy::SeverityName(e.Severity())},
                             {"auditID", e.audit_id},
                             {"user", e.user},
                             {"namespace", e.namespace_},
                             {"pod", e.pod},
                             {"container", e.container},
                             {"allowed", e.allowed}};
    results.push_back(std::move(res));
  }

  Json notifications = Json::array();
  for (const auto& err : report.errors) {
    Json n = Json::object();
    n["level"] = "error";
    n["message"] = Json{{"text", err.ToString()}};
    if (!err.file.empty()) {
      n["locations"] = Json::array({Location(err.file, err.line, false, options.base_dir)});
    }
    notifications.push_back(std::move(n));
  }

  Json driver = Json::object();
  driver["name"] = "invar";
  driver["version"] = report.tool_version;
  driver["semanticVersion"] = report.tool_version;
  driver["informationUri"] = kInformationUri;
  driver["rules"] = std::move(rules);

  Json run = Json::object();
  run["tool"] = Json{{"driver", std::move(driver)}};
  run["invocations"] = Json::array({Json{{"executionSuccessful", report.errors.empty()},
                                         {"toolExecutionNotifications", std::move(notifications)}}});
  run["columnKind"] = "utf16CodeUnits";
  run["results"] = std::move(results);
  run["properties"] = Json{{"profile", report.profile}, {"pssVersion", report.pss_version}};

  Json doc = Json::object();
  doc["$schema"] = kSarifSchema;
  doc["version"] = "2.1.0";
  doc["runs"] = Json::array({std::move(run)});
  return doc.dump(2) + "\n";
}

}  // namespace invar::report
