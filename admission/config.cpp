// SPDX-License-Identifier: Apache-2.0
// ParseConfig (see config.h): the webhook's YAML config, parsed with yaml-cpp.
// Sections owned by other components (agent:, ...) are ignored; unknown keys
// inside the webhook's sections are errors, so a typo never silently turns
// an exemption off. Pure; thread-safe.
#include "invar/admission/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <exception>

namespace invar::admission {
namespace {

struct Errors {
  std::vector<std::string> list;
  void Add(const YAML::Node& n, std::string msg) {
    if (n.IsDefined() && n.Mark().line >= 0 && !n.Mark().is_null()) {
      list.push_back(fmt::format("line {}: {}", n.Mark().line + 1, msg));
    } else {
      list.push_back(std::move(msg));
    }
  }
};

void StringList(const YAML::Node& n, std::string_view path, std::vector<std::string>* out, Errors* errs) {
  if (!n || n.IsNull()) return;
  if (!n.IsSequence()) {
    errs->Add(n, fmt::format("{}: expected a list of strings", path));
    return;
  }
  for (const auto& item : n) {
    if (!item.IsScalar()) {
      errs->Add(item, fmt::format("{}: expected a string", path));
      continue;
    }
    out->push_back(item.Scalar());
  }
}

void CheckKeys(const YAML::Node& n, std::string_view path, std::initializer_list<std::string_view> known,
               Errors* errs) {
  for (const auto& kv : n) {
    std::string k = kv.first.Scalar();
    bool ok = false;
    for (auto x : known) ok = ok || x == k;
    if (!ok) errs->Add(kv.first, fmt::format("{}: unknown key \"{}\"", path, k));
  }
}

}  // namespace

Result<Config> ParseConfig(std::string_view yaml, std::string_view source) {
  Config c;
  c.source = std::string(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}: {}", source.empty() ? "config" : source, e.what()));
  }
  if (!root || root.IsNull()) return c;
  if (!root.IsMap()) return Status::InvalidArgument(fmt::format("{}: expected a YAML mapping", source));
  Errors errs;
  try {
    if (YAML::Node d = root["defaults"]; d && !d.IsNull()) {
      if (!d.IsMap()) {
        errs.Add(d, "defaults: expected a mapping");
      } else {
        CheckKeys(d, "defaults",
                  {"enforce", "warn", "audit", "version", "enforce-version", "warn-version", "audit-version"}, &errs);
        std::optional<policy::PssVersion> common;
        if (YAML::Node v = d["version"]; v && !v.IsNull()) {
          policy::PssVersion pv;
          if (!v.IsScalar() || !policy::ParsePssVersion(v.Scalar(), &pv)) {
            errs.Add(v, "defaults.version: expected latest or v1.N");
          } else {
            common = pv;
          }
        }
        for (Mode m : kModes) {
          std::string name(ModeName(m));
          YAML::Node p = d[name];
          if (!p || p.IsNull()) continue;
          if (!p.IsScalar()) {
            errs.Add(p, fmt::format("defaults.{}: expected a profile name", name));
            continue;
          }
          if (p.Scalar().empty()) continue;
          ModeSetting s{p.Scalar(), common};
          if (YAML::Node v = d[name + "-version"]; v && !v.IsNull()) {
            policy::PssVersion pv;
            if (!v.IsScalar() || !policy::ParsePssVersion(v.Scalar(), &pv)) {
              errs.Add(v, fmt::format("defaults.{}-version: expected latest or v1.N", name));
            } else {
              s.version = pv;
            }
          }
          c.defaults[static_cast<int>(m)] = s;
        }
      }
    }
    if (YAML::Node e = root["exemptions"]; e && !e.IsNull()) {
      if (!e.IsMap()) {
        errs.Add(e, "exemptions: expected a mapping");
      } else {
        CheckKeys(e, "exemptions", {"namespaces", "usernames", "groups", "runtimeClassNames"}, &errs);
        StringList(e["namespaces"], "exemptions.namespaces", &c.exempt_namespaces, &errs);
        StringList(e["usernames"], "exemptions.usernames", &c.exempt_usernames, &errs);
        StringList(e["groups"], "exemptions.groups", &c.exempt_groups, &errs);
        StringList(e["runtimeClassNames"], "exemptions.runtimeClassNames", &c.exempt_runtime_classes, &errs);
      }
    }
    if (YAML::Node b = root["breakGlass"]; b && !b.IsNull()) {
      if (!b.IsMap()) {
        errs.Add(b, "breakGlass: expected a mapping");
      } else {
        CheckKeys(b, "breakGlass", {"groups"}, &errs);
        StringList(b["groups"], "breakGlass.groups", &c.break_glass_groups, &errs);
      }
    }
    if (YAML::Node n = root["namespaces"]; n && !n.IsNull()) {
      if (!n.IsMap()) {
        errs.Add(n, "namespaces: expected a mapping of namespace name to labels");
      } else {
        for (const auto& kv : n) {
          std::string ns = kv.first.Scalar();
          policy::StringMap labels;
          if (!kv.second.IsNull() && !kv.second.IsMap()) {
            errs.Add(kv.second, fmt::format("namespaces.{}: expected a mapping of labels", ns));
            continue;
          }
          for (const auto& l : kv.second) {
            if (!l.second.IsScalar()) {
              errs.Add(l.second, fmt::format("namespaces.{}.{}: expected a string", ns, l.first.Scalar()));
              continue;
            }
            labels.Set(l.first.Scalar(), l.second.Scalar());
          }
          c.namespace_labels[ns] = std::move(labels);
        }
      }
    }
  } catch (const YAML::Exception& e) {
    errs.list.push_back(e.what());
  }
  Result<policy::ProfileSet> profiles = policy::ParseProfiles(yaml);
  if (!profiles.ok()) {
    errs.list.push_back(profiles.status().message());
  } else {
    c.profiles = std::move(*profiles);
  }
  // A default naming a profile that does not exist is a startup error.
  for (Mode m : kModes) {
    const auto& d = c.defaults[static_cast<int>(m)];
    if (d && profiles.ok() && !c.profiles.Get(d->profile, d->version).ok()) {
      errs.list.push_back(fmt::format("defaults.{}: unknown profile \"{}\"", ModeName(m), d->profile));
    }
  }
  if (!errs.list.empty()) {
    std::string msg = fmt::format("{}: {} error{}", source.empty() ? "config" : source, errs.list.size(),
                                  errs.list.size() == 1 ? "" : "s");
    for (const auto& e : errs.list) msg += "\n  " + e;
    return Status::InvalidArgument(msg);
  }
  return c;
}

}  // namespace invar::admission
