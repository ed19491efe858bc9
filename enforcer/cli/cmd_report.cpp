// SPDX-License-Identifier: Apache-2.0
// `invar report` and `invar checks`: flags, mode selection (manifests, live
// cluster, audit logs), colour detection, stderr diagnostics and exit codes.
// Everything else lives in invar_report (model, inputs, renderers) and
// invar_report_live (the cluster collector). Main thread only.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "invar/kube/client.h"
#include "invar/kube/config.h"
#include "invar/policy/checks.h"
#include "invar/policy/profile.h"
#include "invar/report/audit.h"
#include "invar/report/inputs.h"
#include "invar/report/live.h"
#include "invar/report/render.h"
#include "invar/report/report.h"

#ifndef INVAR_VERSION
#define INVAR_VERSION "dev"
#endif

namespace invar::cli {
namespace {

struct ReportFlags {
  std::vector<std::string> files;
  bool recursive = false;
  std::vector<std::string> kustomizations;
  std::string profile = "immutable";
  std::string pss_version = "latest";
  std::string config;
  std::string output = "table";
  std::string fail_on = "low";
  bool no_headers = false;
  bool no_color = false;
  std::vector<std::string> audit_logs;
  std::vector<std::string> immutable_namespaces;
  // Client flags.
  std::string kubeconfig;
  std::string context;
  std::string namespace_;
  bool all_namespaces = false;
  std::string selector;
  std::string request_timeout;
  // Set after parsing: which flags the user gave.
  bool profile_given = false;
  bool version_given = false;
  bool client_flag_given = false;
};

struct ChecksFlags {
  std::string output = "table";
  bool no_headers = false;
  bool no_color = false;
};

bool ColorWanted(bool no_color) {
  if (no_color) return false;
  const char* nc = std::getenv("NO_COLOR");
  if (nc != nullptr && nc[0] != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return report::kExitUsageOrInput;
}

void Print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// "30s", "2m", "1500ms", "10" (seconds), "0" (default) -> milliseconds, as
// kubectl's --request-timeout accepts them.
bool ParseDuration(const std::string& text, std::chrono::milliseconds* out) {
  if (text.empty()) return false;
  size_t pos = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  if (pos == 0 || pos > 9) return false;
  long long n = std::stoll(text.substr(0, pos));
  std::string unit = text.substr(pos);
  if (unit.empty() || unit == "s") {
    *out = std::chrono::seconds(n);
  } else if (unit == "ms") {
    *out = std::chrono::milliseconds(n);
  } else if (unit == "m") {
    *out = std::chrono::minutes(n);
  } else if (unit == "h") {
    *out = std::chrono::hours(n);
  } else {
    return false;
  }
  return true;
}

Result<std::unique_ptr<kube::KubeClient>> Connect(const ReportFlags& f) {
  kube::ClientOptions opts;
  opts.kubeconfig = f.kubeconfig;
  opts.context = f.context;
  opts.namespace_ = f.namespace_;
  if (!f.request_timeout.empty()) {
    std::chrono::milliseconds timeout{0};
    if (!ParseDuration(f.request_timeout, &timeout)) {
      return Status::InvalidArgument("--request-timeout " + f.request_timeout +
                                     ": expected a duration such as 30s, 1m or 500ms");
    }
    opts.request_timeout = timeout;
  }
  auto config = kube::LoadConfig(opts);
  if (!config.ok()) return config.status();
  return kube::NewKubeClient(std::move(*config));
}

std::vector<std::string> SplitCommas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      std::string part = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

int RunReport(const ReportFlags& f) {
  report::Format format;
  if (!report::ParseFormat(f.output, &format)) {
    return UsageError("unknown output format \"" + f.output + "\" (want one of " +
                      std::string(report::kFormatNames) + ")");
  }
  policy::Severity fail_on;
  if (!policy::ParseSeverity(f.fail_on, &fail_on)) {
    return UsageError("unknown --fail-on severity \"" + f.fail_on +
                      "\" (want info, low, medium, high or critical)");
  }
  policy::PssVersion version;
  if (!policy::ParsePssVersion(f.pss_version, &version)) {
    return UsageError("invalid --pss-version \"" + f.pss_version + "\" (want latest or v1.N, e.g. v1.30)");
  }
  policy::ProfileSet profiles;
  if (!f.config.empty()) {
    auto loaded = report::LoadProfileConfig(f.config);
    if (!loaded.ok()) return UsageError(loaded.status().message());
    profiles = std::move(*loaded);
  }
  auto profile = profiles.Get(f.profile, f.version_given ? std::optional(version) : std::nullopt);
  if (!profile.ok()) {
    std::string known;
    for (const auto& n : profiles.Names()) known += (known.empty() ? "" : ", ") + n;
    return UsageError("unknown --profile \"" + f.profile + "\" (known: " + known + ")");
  }

  bool manifests = !f.files.empty() || !f.kustomizations.empty();
  bool cluster = f.client_flag_given || (!manifests && f.audit_logs.empty());
  if (manifests && f.client_flag_given) {
    return UsageError(
        "-f/-k read manifests; --kubeconfig/--context/-n/-A/-l/--request-timeout read a cluster: "
        "use one or the other");
  }

  report::Report rep;
  rep.tool_version = INVAR_VERSION;
  rep.pss_version = f.version_given ? version.ToString() : profile->version.ToString();
  std::unique_ptr<kube::KubeClient> client;
  if (cluster) {
    auto connected = Connect(f);
    if (!connected.ok()) return UsageError("connecting to the cluster: " + connected.status().message());
    client = std::move(*connected);
  }

  if (manifests) {
    rep.source = "manifests";
    rep.profile = profile->name;
    report::ManifestInputs in;
    in.files = f.files;
    in.recursive = f.recursive;
    in.kustomizations = f.kustomizations;
    auto loaded = report::LoadManifests(in);
    for (const auto& w : loaded.workloads) {
      rep.resources.push_back(report::EvaluateWorkload(w, *profile, "--profile"));
    }
    rep.skipped = std::move(loaded.skipped);
    rep.errors = std::move(loaded.errors);
  } else if (cluster) {
    rep.source = "cluster";
    rep.profile = f.profile_given ? profile->name : "per-namespace";
    report::LiveOptions lo;
    lo.namespace_ = f.namespace_.empty() ? client->config().namespace_ : f.namespace_;
    lo.all_namespaces = f.all_namespaces;
    lo.label_selector = f.selector;
    if (f.profile_given) lo.profile = f.profile;
    if (f.version_given) lo.version = version;
    lo.profiles = &profiles;
    Status st = report::CollectLive(*client, lo, &rep);
    if (!st.ok()) return UsageError("reading the cluster: " + st.message());
  } else {
    rep.source = "audit";
    rep.profile = profile->name;
  }

  if (!f.audit_logs.empty()) {
    report::AuditOptions ao;
    for (const auto& ns : SplitCommas(f.immutable_namespaces))
      ao.immutable_namespaces[ns] = "--immutable-namespaces";
    if (client) {
      auto live = report::ImmutableNamespaces(*client, profiles);
      if (live.ok()) {
        for (auto& [ns, why] : *live) ao.immutable_namespaces.emplace(ns, why);
      } else {
        std::fprintf(
            stderr,
            "warning: cannot read namespace modes from the cluster (%s); using --immutable-namespaces\n",
            live.status().message().c_str());
      }
    }
    report::AuditReader reader(std::move(ao));
    for (const auto& path : f.audit_logs) reader.AddFile(path);
    auto audit = reader.Finish();
    rep.audit = true;
    rep.execs = std::move(audit.execs);
    for (auto& e : audit.errors) rep.errors.push_back(std::move(e));
  }

  for (const auto& e : rep.errors) std::fprintf(stderr, "error: %s\n", e.ToString().c_str());

  report::RenderOptions ro;
  ro.color = ColorWanted(f.no_color);
  ro.headers = !f.no_headers;
  std::error_code ec;
  ro.base_dir = std::filesystem::current_path(ec).string();
  Print(report::Render(rep, format, ro));
  return report::ExitCode(rep, fail_on);
}

int RunChecks(const ChecksFlags& f) {
  report::CatalogueFormat format;
  if (!report::ParseCatalogueFormat(f.output, &format)) {
    return UsageError("unknown output format \"" + f.output + "\" (want table, json or markdown)");
  }
  report::RenderOptions ro;
  ro.color = ColorWanted(f.no_color);
  ro.headers = !f.no_headers;
  Print(report::RenderCatalogue(format, ro));
  return 0;
}

}  // namespace

void RegisterReport(CLI::App& app, RunFn* run) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* cmd =
      app.add_subcommand("report", "Compliance report over manifests, a live cluster or audit logs");
  cmd->footer(
      "Exit codes: 0 compliant, 1 findings at or above --fail-on, 2 usage or input errors (input errors "
      "win).\n"
      "Without -f/-k/--audit-log, or with any client flag, the live cluster is read.\n"
      "See docs/report.md.");
  // Repeatable options take one value per occurrence, as kubectl's do: in
  // `-f a b`, `b` is an unexpected argument (an error), not a second file.
  cmd->add_option("-f,--filename", flags->files,
                  "Manifest FILE, DIR (its *.yaml, *.yml, *.json) or - for stdin; repeatable")
      ->allow_extra_args(false);
  cmd->add_flag("-R,--recursive", flags->recursive, "Recurse into subdirectories of -f DIR");
  cmd->add_option("-k,--kustomize", flags->kustomizations,
                  "Render DIR with `kubectl kustomize` and report on it; repeatable")
      ->allow_extra_args(false);
  auto* profile = cmd->add_option(
      "--profile", flags->profile,
      "Profile: privileged|baseline|restricted|immutable or one from --config (default immutable)");
  auto* version =
      cmd->add_option("--pss-version", flags->pss_version, "Pod Security Standards version: latest or v1.N");
  cmd->add_option("--config", flags->config, "Config file with custom `profiles:`");
  cmd->add_option("-o,--output", flags->output,
                  "Output format: table|wide|json|yaml|sarif|junit|policyreport");
  cmd->add_option(
      "--fail-on", flags->fail_on,
      "Exit 1 on a finding at or above this severity: info|low|medium|high|critical (default low)");
  cmd->add_flag("--no-headers", flags->no_headers, "Print finding rows only (table, wide)");
  cmd->add_flag("--no-color", flags->no_color,
                "No ANSI colours (also NO_COLOR, and when stdout is not a terminal)");
  cmd->add_option("--audit-log", flags->audit_logs,
                  "Kubernetes audit log (JSON lines, plain or gzip); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--immutable-namespaces", flags->immutable_namespaces,
                  "Comma-separated namespaces in immutable mode, for --audit-log without a cluster");
  std::vector<CLI::Option*> client_opts = {
      cmd->add_option("--kubeconfig", flags->kubeconfig, "Path to the kubeconfig file"),
      cmd->add_option("--context", flags->context, "Kubeconfig context to use"),
      cmd->add_option("-n,--namespace", flags->namespace_, "Namespace to report on"),
      cmd->add_flag("-A,--all-namespaces", flags->all_namespaces, "Report on every namespace"),
      cmd->add_option("-l,--selector", flags->selector, "Label selector for pods and controllers"),
      cmd->add_option("--request-timeout", flags->request_timeout,
                      "Timeout of each API request (30s, 1m, 500ms)"),
  };
  cmd->callback([flags, run, profile, version, client_opts]() {
    flags->profile_given = profile->count() > 0;
    flags->version_given = version->count() > 0;
    for (auto* o : client_opts) {
      if (o->count() > 0) flags->client_flag_given = true;
    }
    *run = [flags]() { return RunReport(*flags); };
  });

  auto cflags = std::make_shared<ChecksFlags>();
  CLI::App* checks = app.add_subcommand("checks", "List the check catalogue");
  checks->add_option("-o,--output", cflags->output, "Output format: table|json|markdown");
  checks->add_flag("--no-headers", cflags->no_headers, "No header line (table)");
  checks->add_flag("--no-color", cflags->no_color, "No ANSI colours");
  checks->callback([cflags, run]() { *run = [cflags]() { return RunChecks(*cflags); }; });
}

}  // namespace invar::cli
