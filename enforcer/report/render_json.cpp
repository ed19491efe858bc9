// SPDX-License-Identifier: Apache-2.0
// `-o json` and `-o yaml`: the versioned report document
// (apiVersion invar.dev/report/v1, documented in docs/report.md). One tree is
// built with nlohmann::ordered_json (keys in schema order) and printed as JSON,
// or walked into yaml-cpp's emitter. Pure; thread-safe.
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "invar/report/render.h"
#include "render_util.h"

namespace invar::report {
namespace {

using Json = nlohmann::ordered_json;

Json SourceJson(const policy::SourceLocation& s) {
  Json j = Json::object();
  j["file"] = s.file;
  j["line"] = s.line;
  j["document"] = s.document;
  if (!s.item.empty()) j["item"] = s.item;
  return j;
}

Json FindingJson(const policy::Finding& f) {
  Json j = Json::object();
  j["check"] = f.check->id;
  j["title"] = f.check->title;
  j["level"] = policy::LevelName(f.check->level);
  j["severity"] = policy::SeverityName(f.check->severity);
  j["container"] = f.container;
  j["path"] = f.path;
  j["message"] = f.message;
  j["exempted"] = f.exempted;
  if (f.exempted) j["exemption"] = f.exemption;
  j["remediation"] = f.check->remediation;
  return j;
}

Json DriftJson(const DriftState& d) {
  Json j = Json::object();
  j["drifted"] = d.Any();
  j["changes"] = d.count;
  if (!d.first_time.empty() || !d.first_path.empty()) {
    j["first"] = Json{{"time", d.first_time}, {"path", d.first_path}, {"op", d.first_op}};
  }
  j["events"] = d.events;
  if (!d.last_event_time.empty()) j["lastEventTime"] = d.last_event_time;
  if (!d.last_event_message.empty()) j["lastEventMessage"] = d.last_event_message;
  j["pods"] = d.pods;
  return j;
}

Json ResourceJson(const ResourceResult& r, bool cluster) {
  Json j = Json::object();
  j["apiVersion"] = r.api_version;
  j["kind"] = r.kind;
  j["namespace"] = r.namespace_;
  j["name"] = r.name;
  if (!r.uid.empty()) j["uid"] = r.uid;
  if (!r.source.file.empty()) j["source"] = SourceJson(r.source);
  j["profile"] = r.profile;
  j["pssVersion"] = r.pss_version;
  j["profileSource"] = r.profile_source;
  j["compliant"] = r.Compliant();
  j["score"] = r.Score();
  j["applicableChecks"] = r.applicable.size();
  j["passedChecks"] = r.PassedChecks();
  j["failedChecks"] = r.FailedChecks();
  Json findings = Json::array();
  for (const auto& f : r.findings) {
    if (f.check != nullptr) findings.push_back(FindingJson(f));
  }
  j["findings"] = std::move(findings);
  if (cluster) {
    j["pods"] = r.pods;
    if (!r.note.empty()) j["note"] = r.note;
    j["drift"] = DriftJson(r.drift);
  }
  return j;
}

Json ExecJson(const ExecEntry& e) {
  Json j = Json::object();
  j["auditID"] = e.audit_id;
  j["stage"] = e.stage;
  j["time"] = e.time;
  j["stageTime"] = e.stage_time;
  j["user"] = e.user;
  j["groups"] = e.groups;
  j["verb"] = e.verb;
  j["subresource"] = e.subresource;
  j["namespace"] = e.namespace_;
  j["pod"] = e.pod;
  j["container"] = e.container;
  j["command"] = e.command;
  if (!e.ports.empty()) j["ports"] = e.ports;
  j["allowed"] = e.allowed;
  j["code"] = e.code;
  j["decision"] = e.decision;
  j["reason"] = e.reason;
  if (!e.invar_annotation.empty()) j["invarAnnotation"] = e.invar_annotation;
  j["flagged"] = e.flagged;
  if (e.flagged) {
    j["flagReason"] = e.flag_reason;
    j["severity"] = policy::SeverityName(e.Severity());
  }
  j["source"] = Json{{"file", e.source_file}, {"line", e.source_line}};
  return j;
}

Json ReportJson(const Report& report) {
  Summary s = Summarize(report);
  bool cluster = report.source == "cluster";
  Json j = Json::object();
  j["apiVersion"] = kReportApiVersion;
  j["kind"] = "Report";
  j["metadata"] = Json{{"tool", "invar"},
                       {"version", report.tool_version},
                       {"source", report.source},
                       {"profile", report.profile},
                       {"pssVersion", report.pss_version}};
  Json summary = Json::object();
  summary["resources"] = s.resources;
  summary["compliantResources"] = s.compliant_resources;
  summary["applicableChecks"] = s.applicable_checks;
  summary["passedChecks"] = s.passed_checks;
  summary["score"] = s.score;
  summary["findings"] = s.findings;
  summary["exempted"] = s.exempted;
  Json sev = Json::object();
  for (auto level : {policy::Severity::kCritical, policy::Severity::kHigh, policy::Severity::kMedium,
                     policy::Severity::kLow, policy::Severity::kInfo}) {
    auto it = s.by_severity.find(level);
    sev[std::string(policy::SeverityName(level))] = it == s.by_severity.end() ? 0 : it->second;
  }
  summary["bySeverity"] = std::move(sev);
  Json by_check = Json::array();
  for (const auto& c : s.by_check) {
    by_check.push_back(Json{{"check", c.check->id},
                            {"severity", policy::SeverityName(c.check->severity)},
                            {"findings", c.findings},
                            {"exempted", c.exempted},
                            {"resources", c.resources}});
  }
  summary["byCheck"] = std::move(by_check);
  summary["skipped"] = s.skipped;
  summary["errors"] = s.errors;
  if (cluster) summary["driftedResources"] = s.drifted_resources;
  if (report.audit) {
    summary["execs"] = s.execs;
    summary["flaggedExecs"] = s.flagged_execs;
  }
  j["summary"] = std::move(summary);

  Json resources = Json::array();
  for (const auto& r : report.resources) resources.push_back(ResourceJson(r, cluster));
  j["resources"] = std::move(resources);

  Json skipped = Json::array();
  for (const auto& sk : report.skipped) {
    skipped.push_back(Json{{"apiVersion", sk.api_version},
                           {"kind", sk.kind},
                           {"namespace", sk.namespace_},
                           {"name", sk.name},
                           {"source", SourceJson(sk.where)}});
  }
  j["skipped"] = std::move(skipped);

  Json errors = Json::array();
  for (const auto& e : report.errors) {
    errors.push_back(Json{{"file", e.file}, {"line", e.line}, {"message", e.message}});
  }
  j["errors"] = std::move(errors);
  j["warnings"] = report.warnings;

  if (report.audit) {
    Json execs = Json::array();
    for (const auto& e : report.execs) execs.push_back(ExecJson(e));
    j["execs"] = std::move(execs);
  }
  return j;
}

// Strings a YAML 1.1 or 1.2 reader would take for something else (bool,
// null, number) are double-quoted, so the YAML reads back as the JSON.
bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  static const char* const kWords[] = {"y",  "Y",    "yes",  "Yes",  "YES",   "n",     "N",     "no", "No",
                                       "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
                                       "ON", "off",  "Off",  "OFF",  "null",  "Null",  "NULL",  "~"};
  for (const char* w : kWords) {
    if (s == w) return true;
  }
  char c = s[0];
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.';
}

void EmitYaml(YAML::Emitter& out, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, value] : j.items()) {
        out << YAML::Key << key << YAML::Value;
        EmitYaml(out, value);
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      if (j.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      out << YAML::BeginSeq;
      for (const auto& v : j) EmitYaml(out, v);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (NeedsQuotes(s)) out << YAML::DoubleQuoted;
      out << s;
      break;
    }
    case Json::value_t::boolean:
      out << (j.get<bool>() ? "true" : "false");
      break;
    case Json::value_t::number_integer:
      out << j.get<int64_t>();
      break;
    case Json::value_t::number_unsigned:
      out << j.get<uint64_t>();
      break;
    case Json::value_t::number_float:
      out << internal::FormatDouble(j.get<double>());
      break;
    case Json::value_t::null:
    default:
      out << YAML::Null;
      break;
  }
}

}  // namespace

std::string internal::JsonToYaml(const nlohmann::ordered_json& j) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  EmitYaml(out, j);
  std::string text = out.c_str();
  text.push_back('\n');
  return text;
}

std::string RenderJson(const Report& report) { return ReportJson(report).dump(2) + "\n"; }

std::string RenderYaml(const Report& report) { return internal::JsonToYaml(ReportJson(report)); }

bool ParseFormat(std::string_view name, Format* out) {
  static const std::pair<std::string_view, Format> kFormats[] = {{"table", Format::kTable},
                                                                 {"wide", Format::kWide},
                                                                 {"json", Format::kJson},
                                                                 {"yaml", Format::kYaml},
                                                                 {"sarif", Format::kSarif},
                                                                 {"junit", Format::kJunit},
                                                                 {"policyreport", Format::kPolicyReport}};
  for (const auto& [n, f] : kFormats) {
    if (n == name) {
      *out = f;
      return true;
    }
  }
  return false;
}

std::string_view FormatName(Format f) {
  switch (f) {
    case Format::kTable:
      return "table";
    case Format::kWide:
      return "wide";
    case Format::kJson:
      return "json";
    case Format::kYaml:
      return "yaml";
    case Format::kSarif:
      return "sarif";
    case Format::kJunit:
      return "junit";
    case Format::kPolicyReport:
      return "policyreport";
  }
  return "table";
}

std::string Render(const Report& report, Format format, const RenderOptions& options) {
  switch (format) {
    case Format::kTable:
      return RenderTable(report, false, options);
    case Format::kWide:
      return RenderTable(report, true, options);
    case Format::kJson:
      return RenderJson(report);
    case Format::kYaml:
      return RenderYaml(report);
    case Format::kSarif:
      return RenderSarif(report, options);
    case Format::kJunit:
      return RenderJunit(report);
    case Format::kPolicyReport:
      return RenderPolicyReport(report);
  }
  return {};
}

}  // namespace invar::report
