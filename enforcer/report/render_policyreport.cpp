// SPDX-License-Identifier: Apache-2.0
// `-o policyreport`: wgpolicyk8s.io/v1alpha2 PolicyReport objects, one per
// namespace, as a YAML stream `kubectl apply -f -` accepts. Every pod-spec
// kind is namespaced, so no ClusterPolicyReport is needed; objects whose
// manifest sets no namespace go into a PolicyReport without
// metadata.namespace (it lands where kubectl applies it, like the manifests
// themselves). Results: pass per (resource, check) that passed, fail per
// finding, skip per exempted finding, and fail for flagged exec requests.
// No timestamps, so the output is reproducible. Pure; thread-safe.
#include <map>
#include <nlohmann/json.hpp>

#include "invar/report/render.h"
#include "render_util.h"

namespace invar::report {
namespace {

using Json = nlohmann::ordered_json;

struct NamespaceReport {
  Json results = Json::array();
  int pass = 0, fail = 0, warn = 0, error = 0, skip = 0;
};

Json ResourceRef(const ResourceResult& r) {
  Json ref = Json::object();
  ref["apiVersion"] = r.api_version;
  ref["kind"] = r.kind;
  if (!r.namespace_.empty()) ref["namespace"] = r.namespace_;
  ref["name"] = r.name;
  if (!r.uid.empty()) ref["uid"] = r.uid;
  return ref;
}

std::string Category(const policy::CheckInfo& c) {
  if (c.pss) return "Pod Security Standards (" + std::string(policy::LevelName(c.level)) + ")";
  return "Immutability";
}

Json Result(const ResourceResult& r, const policy::CheckInfo& c, std::string_view result, std::string message,
            const policy::Finding* f) {
  Json j = Json::object();
  j["source"] = "invar";
  j["policy"] = "invar";
  j["rule"] = c.id;
  j["category"] = Category(c);
  j["severity"] = internal::LowerSeverity(c.severity);
  j["result"] = result;
  j["scored"] = true;
  j["message"] = std::move(message);
  j["resources"] = Json::array({ResourceRef(r)});
  Json props = Json::object();
  props["profile"] = r.profile;
  props["pssVersion"] = r.pss_version;
  if (f != nullptr) {
    if (!f->container.empty()) props["container"] = f->container;
    props["path"] = f->path;
    if (f->exempted) props["exemption"] = f->exemption;
  }
  j["properties"] = std::move(props);
  return j;
}

}  // namespace

std::string RenderPolicyReport(const Report& report) {
  std::map<std::string, NamespaceReport> by_ns;
  for (const auto& r : report.resources) {
    auto& ns = by_ns[r.namespace_];
    for (const auto* check : r.applicable) {
      bool any = false;
      for (const auto& f : r.findings) {
        if (f.check != check) continue;
        any = true;
        if (f.exempted) {
          ++ns.skip;
          ns.results.push_back(Result(r, *check, "skip", "exempted (" + f.exemption + "): " + f.message, &f));
        } else {
          ++ns.fail;
          ns.results.push_back(Result(r, *check, "fail", f.message, &f));
        }
      }
      if (!any) {
        ++ns.pass;
        ns.results.push_back(Result(r, *check, "pass", std::string(check->title) + ": passed", nullptr));
      }
    }
  }
  for (const auto& e : report.execs) {
    if (!e.IsFinding()) continue;
    auto& ns = by_ns[e.namespace_];
    Json j = Json::object();
    j["source"] = "invar";
    j["policy"] = "invar";
    j["rule"] = internal::kExecRuleId;
    j["category"] = "Audit";
    j["severity"] = internal::LowerSeverity(e.Severity());
    j["result"] = e.allowed ? "fail" : "pass";
    (e.allowed ? ns.fail : ns.pass)++;
    std::string message = e.user + " " + e.subresource + " into " + e.Target() +
                          (e.allowed ? " allowed" : " denied") + " at " + e.time + " (" + e.flag_reason + ")";
    j["message"] = message;
    j["scored"] = true;
    j["resources"] = Json::array(
        {Json{{"apiVersion", "v1"}, {"kind", "Pod"}, {"namespace", e.namespace_}, {"name", e.pod}}});
    Json props = Json::object();
    props["auditID"] = e.audit_id;
    props["user"] = e.user;
    if (!e.container.empty()) props["container"] = e.container;
    if (!e.command.empty()) props["command"] = internal::ShellJoin(e.command);
    j["properties"] = std::move(props);
    ns.results.push_back(std::move(j));
  }
  std::string out;
  for (auto& [name, ns] : by_ns) {
    Json doc = Json::object();
    doc["apiVersion"] = "wgpolicyk8s.io/v1alpha2";
    doc["kind"] = "PolicyReport";
    Json meta = Json::object();
    meta["name"] = name.empty() ? "invar" : "invar-" + name;
    if (!name.empty()) meta["namespace"] = name;
    meta["labels"] = Json{{"app.kubernetes.io/managed-by", "invar"}};
    doc["metadata"] = std::move(meta);
    doc["summary"] =
        Json{{"pass", ns.pass}, {"fail", ns.fail}, {"warn", ns.warn}, {"error", ns.error}, {"skip", ns.skip}};
    doc["results"] = std::move(ns.results);
    out += "---\n" + internal::JsonToYaml(doc);
  }
  return out;
}

}  // namespace invar::report
