// SPDX-License-Identifier: Apache-2.0
// The report data model's derived values: scores, summaries, exit codes and
// kubectl-style names. Pure; thread-safe.
#include "invar/report/report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "invar/policy/applicability.h"

namespace invar::report {
namespace {

double Percent(int passed, int applicable) {
  if (applicable <= 0) return 100.0;
  return std::round(1000.0 * passed / applicable) / 10.0;
}

}  // namespace

std::string KubectlResourceName(std::string_view kind, std::string_view api_version) {
  std::string out;
  out.reserve(kind.size() + 16);
  for (char c : kind) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto slash = api_version.find('/');
  if (slash != std::string_view::npos) {
    out.push_back('.');
    out.append(api_version.substr(0, slash));
  }
  return out;
}

std::string ResourceResult::DisplayName() const {
  return KubectlResourceName(kind, api_version) + "/" + (name.empty() ? "<unnamed>" : name);
}

int ResourceResult::FailedChecks() const {
  std::set<std::string_view> failed;
  for (const auto& f : findings) {
    if (!f.exempted && f.check != nullptr) failed.insert(f.check->id);
  }
  return static_cast<int>(failed.size());
}

double ResourceResult::Score() const { return Percent(PassedChecks(), static_cast<int>(applicable.size())); }

std::string InputError::ToString() const {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": " + message;
  return out;
}

policy::Severity ExecEntry::Severity() const {
  return allowed ? policy::Severity::kHigh : policy::Severity::kInfo;
}

std::string ExecEntry::Target() const {
  std::string out = namespace_ + "/" + pod;
  if (!container.empty()) out += "/" + container;
  return out;
}

ResourceResult EvaluateWorkload(const policy::Workload& workload, const policy::Profile& profile,
                                std::string profile_source) {
  ResourceResult r;
  r.api_version = workload.api_version;
  r.kind = workload.kind;
  r.name = workload.metadata.name.empty() ? workload.metadata.generate_name : workload.metadata.name;
  r.namespace_ = workload.metadata.namespace_;
  r.uid = workload.metadata.uid;
  r.source = workload.source;
  r.profile = profile.name;
  r.pss_version = profile.version.ToString();
  r.profile_source = std::move(profile_source);
  // Checks that do not exist at the profile's version, that a restricted
  // revision overrides, or that PSA relaxes for this pod (Windows, hostUsers:
  // false) neither pass nor fail: they are not in the score.
  r.applicable = policy::ApplicableChecks(workload, profile);
  r.findings = policy::Evaluate(workload, profile).findings;
  return r;
}

Summary Summarize(const Report& report) {
  Summary s;
  std::map<std::string_view, Summary::CheckCount> counts;
  for (const auto& r : report.resources) {
    ++s.resources;
    if (r.Compliant()) ++s.compliant_resources;
    s.applicable_checks += static_cast<int>(r.applicable.size());
    s.passed_checks += r.PassedChecks();
    if (r.drift.Any()) ++s.drifted_resources;
    std::set<std::string_view> failing;
    for (const auto& f : r.findings) {
      if (f.check == nullptr) continue;
      auto& c = counts[f.check->id];
      c.check = f.check;
      if (f.exempted) {
        ++s.exempted;
        ++c.exempted;
      } else {
        ++s.findings;
        ++c.findings;
        ++s.by_severity[f.check->severity];
        failing.insert(f.check->id);
      }
    }
    for (auto id : failing) ++counts[id].resources;
  }
  s.score = Percent(s.passed_checks, s.applicable_checks);
  for (const auto& check : policy::Catalogue()) {
    auto it = counts.find(check.id);
    if (it != counts.end()) s.by_check.push_back(it->second);
  }
  s.skipped = static_cast<int>(report.skipped.size());
  s.errors = static_cast<int>(report.errors.size());
  s.execs = static_cast<int>(report.execs.size());
  for (const auto& e : report.execs) {
    if (e.flagged) ++s.flagged_execs;
  }
  return s;
}

int ExitCode(const Report& report, policy::Severity fail_on) {
  if (!report.errors.empty()) return kExitUsageOrInput;
  for (const auto& r : report.resources) {
    for (const auto& f : r.findings) {
      if (!f.exempted && f.check != nullptr && f.check->severity >= fail_on) return kExitFindings;
    }
  }
  for (const auto& e : report.execs) {
    if (e.IsFinding() && e.Severity() >= fail_on) return kExitFindings;
  }
  return kExitCompliant;
}

}  // namespace invar::report
