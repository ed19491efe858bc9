// SPDX-License-Identifier: Apache-2.0
// `-o junit`: JUnit XML for CI dashboards. One <testsuite> per resource, one
// <testcase> per check the profile ran on it (failure = non-exempted
// findings, skipped = only exempted findings), an "input" suite for decode
// errors and an "audit" suite for flagged exec requests. No timestamps, so
// the output is reproducible. Pure; thread-safe.
#include <cctype>
#include <map>

#include "invar/report/render.h"
#include "render_util.h"

namespace invar::report {
namespace {

using internal::XmlEscape;

struct Counts {
  int tests = 0, failures = 0, errors = 0, skipped = 0;
};

std::string Attr(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + XmlEscape(value) + "\"";
}

std::string Suite(const std::string& name, const Counts& c, const std::string& body,
                  const std::string& extra = "") {
  std::string out = "  <testsuite" + Attr("name", name) + Attr("tests", std::to_string(c.tests)) +
                    Attr("failures", std::to_string(c.failures)) + Attr("errors", std::to_string(c.errors)) +
                    Attr("skipped", std::to_string(c.skipped)) + Attr("time", "0") + extra + ">\n";
  out += body;
  out += "  </testsuite>\n";
  return out;
}

}  // namespace

std::string RenderJunit(const Report& report) {
  Counts total;
  std::string suites;
  for (const auto& r : report.resources) {
    Counts c;
    std::string body;
    std::string suite_name = (r.namespace_.empty() ? "" : r.namespace_ + "/") + r.DisplayName();
    for (const auto* check : r.applicable) {
      std::vector<const policy::Finding*> failed, exempted;
      for (const auto& f : r.findings) {
        if (f.check != check) continue;
        (f.exempted ? exempted : failed).push_back(&f);
      }
      ++c.tests;
      std::string tc = "    <testcase" + Attr("name", check->id) + Attr("classname", suite_name);
      if (!r.source.file.empty()) {
        tc += Attr("file", r.source.file);
        if (r.source.line > 0) tc += Attr("line", std::to_string(r.source.line));
      }
      tc += Attr("time", "0");
      if (failed.empty() && exempted.empty()) {
        body += tc + "/>\n";
        continue;
      }
      tc += ">\n";
      if (!failed.empty()) {
        ++c.failures;
        std::string message, details;
        for (const auto* f : failed) {
          if (!message.empty()) message += "; ";
          message += f->message;
          details += f->path + ": " + f->message + "\n";
        }
        details += "Remediation: " + std::string(check->remediation);
        tc += "      <failure" + Attr("message", message) +
              Attr("type", policy::SeverityName(check->severity)) + ">" + XmlEscape(details) + "</failure>\n";
      } else {
        ++c.skipped;
        std::string message;
        for (const auto* f : exempted) {
          if (!message.empty()) message += "; ";
          message += "exempted (" + f->exemption + "): " + f->message;
        }
        tc += "      <skipped" + Attr("message", message) + "/>\n";
      }
      body += tc + "    </testcase>\n";
    }
    std::string extra;
    if (!r.source.file.empty()) extra = Attr("file", r.source.file);
    std::string props = "    <properties>\n      <property" + Attr("name", "profile") +
                        Attr("value", r.profile) + "/>\n      <property" + Attr("name", "pssVersion") +
                        Attr("value", r.pss_version) + "/>\n      <property" + Attr("name", "score") +
                        Attr("value", internal::FormatPercent(r.Score())) + "/>\n    </properties>\n";
    suites += Suite(suite_name, c, props + body, extra);
    total.tests += c.tests;
    total.failures += c.failures;
    total.skipped += c.skipped;
  }
  if (!report.errors.empty()) {
    Counts c;
    std::string body;
    for (const auto& e : report.errors) {
      ++c.tests;
      ++c.errors;
      body += "    <testcase" + Attr("name", e.ToString()) + Attr("classname", "input") +
              (e.file.empty() ? std::string() : Attr("file", e.file)) + Attr("time", "0") +
              ">\n      <error" + Attr("message", e.message) + Attr("type", "InputError") +
              "/>\n    </testcase>\n";
    }
    suites += Suite("input", c, body);
    total.tests += c.tests;
    total.errors += c.errors;
  }
  if (report.audit) {
    Counts c;
    std::string body;
    for (const auto& e : report.execs) {
      ++c.tests;
      std::string name = e.subresource + " " + e.Target() + " by " + e.user + " at " + e.time;
      body += "    <testcase" + Attr("name", name) + Attr("classname", "audit") +
              Attr("file", e.source_file) + Attr("line", std::to_string(e.source_line)) + Attr("time", "0");
      if (e.IsFinding() && e.allowed) {
        ++c.failures;
        std::string msg = e.flag_reason;
        if (!e.command.empty()) msg += "; command: " + internal::ShellJoin(e.command);
        body += ">\n      <failure" + Attr("message", msg) +
                Attr("type", policy::SeverityName(e.Severity())) + "/>\n    </testcase>\n";
      } else {
        body += "/>\n";
      }
    }
    suites += Suite("audit", c, body);
    total.tests += c.tests;
    total.failures += c.failures;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites" + Attr("name", "invar") + Attr("tests", std::to_string(total.tests)) +
         Attr("failures", std::to_string(total.failures)) + Attr("errors", std::to_string(total.errors)) +
         Attr("skipped", std::to_string(total.skipped)) + Attr("time", "0") + ">\n";
  out += suites;
  out += "</testsuites>\n";
  return out;
}

}  // namespace invar::report
