// SPDX-License-Identifier: Apache-2.0
// The admission decision (see decide.h): routing by resource, exemptions,
// namespace modes, pod-spec change detection, evaluation and the words of
// the response. Thread-safe; one simdjson parser per thread.
#include "invar/admission/decide.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <exception>

#include "invar/platform/log.h"
#include "invar/policy/decode.h"
#include "invar/policy/evaluate.h"

namespace invar::admission {
namespace {

namespace od = simdjson::ondemand;
using policy::Finding;
using policy::Profile;
using policy::Verdict;

constexpr size_t kMaxWarnings = 20;
constexpr size_t kMaxAuditValueBytes = 8192;
constexpr std::string_view kFallbackProfile = "immutable";

od::parser& ObjectParser() {
  thread_local od::parser parser;
  thread_local bool init = false;
  if (!init) init = parser.allocate(64u << 10, kMaxObjectDepth) == simdjson::SUCCESS;
  return parser;
}

// Raw objects are views into the padded review body, so they parse in place;
// a view without padding after it (a caller's own string) is copied first.
template <typename F>
auto WithDocument(const RawJson& json, F&& f) {
  od::parser& parser = ObjectParser();
  simdjson::padded_string copy;
  simdjson::padded_string_view view(json.json.data(), json.json.size(), json.readable);
  if (json.readable < json.json.size() + simdjson::SIMDJSON_PADDING) {
    copy = simdjson::padded_string(json.json);
    view = copy;
  }
  od::document doc;
  auto err = parser.iterate(view).get(doc);
  return f(err, doc);
}

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

const std::string* FirstCommon(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const auto& x : a) {
    if (Contains(b, x)) return &x;
  }
  return nullptr;
}

std::string JoinQuoted(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += '"' + v[i] + '"';
  }
  return out;
}

// "Deployment \"web\"" — with generateName "pod \"web-*\"" when not named yet.
// `Pod "web"` for messages, into `out` (a reused string).
void AssignObjectLabel(const ReviewRequest& r, const policy::Workload* w, std::string* out) {
  out->assign(r.kind.kind.empty() ? r.resource.resource : r.kind.kind);
  *out += " \"";
  if (!r.name.empty() || w == nullptr) {
    *out += r.name;
  } else if (w->metadata.name.empty()) {
    *out += w->metadata.generate_name;
    *out += '*';
  } else {
    *out += w->metadata.name;
  }
  *out += '"';
}

std::string ObjectLabel(const ReviewRequest& r, const policy::Workload* w) {
  std::string s;
  AssignObjectLabel(r, w, &s);
  return s;
}

struct Route {
  enum Kind { kSkip, kWorkload, kEphemeral, kConnect } kind = kSkip;
};

Route RouteOf(const ReviewRequest& r) {
  const std::string& res = r.resource.resource;
  const std::string& g = r.resource.group;
  const std::string& sub = r.sub_resource;
  bool create_or_update = r.operation == "CREATE" || r.operation == "UPDATE";
  if (g.empty() && res == "pods") {
    if (sub.empty() && create_or_update) return {Route::kWorkload};
    if (sub == "ephemeralcontainers" && r.operation == "UPDATE") return {Route::kEphemeral};
    if ((sub == "exec" || sub == "attach") && r.operation == "CONNECT") return {Route::kConnect};
    return {};
  }
  if (!sub.empty() || !create_or_update) return {};
  bool known = (g.empty() && (res == "replicationcontrollers" || res == "podtemplates")) ||
               (g == "apps" && (res == "replicasets" || res == "deployments" || res == "statefulsets" ||
                                res == "daemonsets")) ||
               (g == "batch" && (res == "jobs" || res == "cronjobs"));
  return {known ? Route::kWorkload : Route::kSkip};
}

// Findings of a verdict that count (not exempted); for ephemeral-container
// updates only those of the newly added ephemeral containers. Into `out`, a
// reused vector.
void Failing(const Verdict& v, const std::vector<std::string>* only_containers,
             std::vector<const Finding*>* out) {
  out->clear();
  out->reserve(v.findings.size());  // one allocation, not one per doubling
  for (const auto& f : v.findings) {
    if (f.exempted) continue;
    if (only_containers && !Contains(*only_containers, f.container)) continue;
    out->push_back(&f);
  }
}

std::string_view CheckId(const Finding& f) { return f.check ? f.check->id : std::string_view("unknown"); }

// status.message of an enforce denial: every failed check, each offending
// field with its path, and the fix once per check.
// Built with appends (no format parsing): it is on every denial's path.
// Appended to `out` (the reused decision's message: no allocation once its
// capacity has grown to the usual size).
void AppendDenyMessage(const std::string& object, const std::string& ns, const ModeProfile& mode,
                       const std::vector<const Finding*>& failing, std::string& out) {
  size_t size = 128 + object.size() + mode.label.size() + ns.size() + mode.note.size();
  for (const Finding* f : failing) size += 32 + f->path.size() + f->message.size();
  out.reserve(out.size() + size);
  using namespace std::string_view_literals;  // appends of literals without strlen
  out += object;
  out += " violates invar profile \""sv;
  out += mode.label;
  out += "\" enforced on namespace \""sv;
  out += ns;
  out += "\" ("sv;
  const fmt::format_int count(failing.size());
  out.append(count.data(), count.size());
  out += failing.size() == 1 ? " finding):"sv : " findings):"sv;
  size_t i = 0;
  while (i < failing.size()) {
    std::string_view id = CheckId(*failing[i]);
    out += "\n- "sv;
    out += id;
    out += ':';
    size_t j = i;
    for (; j < failing.size() && CheckId(*failing[j]) == id; ++j) {
      out += "\n    "sv;
      out += failing[j]->path.empty() ? std::string_view("(pod)") : std::string_view(failing[j]->path);
      out += ": "sv;
      out += failing[j]->message;
    }
    if (failing[i]->check && !failing[i]->check->remediation.empty()) {
      out += "\n    fix: "sv;
      out += failing[i]->check->remediation;
    }
    i = j;
  }
  if (!mode.note.empty()) {
    out += "\n("sv;
    out += mode.note;
    out += ')';
  }
}

void AddWarnings(const ModeProfile& mode, const std::vector<const Finding*>& failing, std::vector<std::string>* out) {
  for (const Finding* f : failing) {
    if (out->size() + 1 >= kMaxWarnings && failing.size() > 1) {
      out->push_back(TruncateUtf8(
          fmt::format("invar {}: {} more finding(s); run `invar report` for all", mode.label,
                      failing.size() - (out->size())),
          kMaxWarningBytes));
      return;
    }
    out->push_back(TruncateUtf8(fmt::format("invar {}: {}: {}", mode.label, f->path, f->message), kMaxWarningBytes));
  }
}

std::string AuditValue(const ModeProfile& mode, const std::vector<const Finding*>& failing) {
  std::string out = mode.label + ":";
  for (size_t i = 0; i < failing.size(); ++i) {
    out += i ? ", " : " ";
    out += CheckId(*failing[i]);
    out += " (";
    out += failing[i]->path;
    out += ')';
  }
  return TruncateUtf8(out, kMaxAuditValueBytes);
}

void Allow(Decision& d, std::string decision) {
  d.response.allowed = true;
  d.response.code = 0;
  d.info.decision = std::move(decision);
}

// A denial; the caller appends status.message (empty until then).
void Deny(Decision& d, int code, std::string_view reason) {
  d.response.allowed = false;
  d.response.code = code;
  d.response.reason.assign(reason);
  d.response.message.clear();
  d.info.decision = code == 403 ? "deny" : "error";
}

void Deny(Decision& d, int code, std::string_view reason, std::string_view message) {
  Deny(d, code, reason);
  d.response.message.assign(message);
}

// Exemption of the request by namespace, user or group; "" when none.
std::string RequestExemption(const ReviewRequest& r, const Config& c) {
  if (!r.namespace_.empty() && Contains(c.exempt_namespaces, r.namespace_)) {
    return fmt::format("namespace \"{}\" is exempt (config exemptions.namespaces)", r.namespace_);
  }
  if (!r.user.username.empty() && Contains(c.exempt_usernames, r.user.username)) {
    return fmt::format("user \"{}\" is exempt (config exemptions.usernames)", r.user.username);
  }
  if (const std::string* g = FirstCommon(r.user.groups, c.exempt_groups)) {
    return fmt::format("group \"{}\" is exempt (config exemptions.groups)", *g);
  }
  return "";
}

struct ExecOptions {
  std::string container;
  std::vector<std::string> command;
};

ExecOptions ParseExecOptions(const RawJson& json) {
  ExecOptions o;
  WithDocument(json, [&](simdjson::error_code err, od::document& doc) {
    if (err) return 0;
    od::object obj;
    if (doc.get_object().get(obj)) return 0;
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return 0;
      if (key == "container") {
        std::string_view s;
        if (!field.value().get_string().get(s)) o.container.assign(s);
      } else if (key == "command") {
        od::array arr;
        if (field.value().get_array().get(arr)) continue;
        for (auto item : arr) {
          std::string_view s;
          if (item.get_string().get(s)) break;
          o.command.emplace_back(s);
        }
      }
    }
    return 0;
  });
  return o;
}

void DecideConnect(const ReviewRequest& r, const Config& c, const NamespaceModes& modes,
                   const std::string& exemption, Decision& d) {
  ExecOptions opts = ParseExecOptions(r.object);
  const ModeProfile& enforce = modes.modes[static_cast<int>(Mode::kEnforce)];
  bool immutable = enforce.set && enforce.profile.base == policy::Level::kImmutable;
  const std::string* glass = FirstCommon(r.user.groups, c.break_glass_groups);
  std::string decision;
  if (!exemption.empty()) {
    decision = "allowed: " + exemption;
    Allow(d, "exempt");
  } else if (!immutable) {
    decision = "allowed";
    Allow(d, "allow");
  } else if (glass) {
    decision = fmt::format("allowed: break-glass group \"{}\"", *glass);
    Allow(d, "allow");
    d.response.warnings.push_back(TruncateUtf8(
        fmt::format("invar: break-glass {} into an immutable pod; this is audited", r.sub_resource), kMaxWarningBytes));
  } else {
    decision = fmt::format("denied: namespace enforces \"{}\"", enforce.label);
    std::string how = c.break_glass_groups.empty()
                          ? std::string("no break-glass group is configured (config breakGlass.groups)")
                          : fmt::format("members of a break-glass group ({}) may, and are audited",
                                        JoinQuoted(c.break_glass_groups));
    Deny(d, 403, "Forbidden",
         fmt::format("{} into pod \"{}\"{} is denied: namespace \"{}\" enforces invar profile \"{}\", which forbids "
                     "pods/exec and pods/attach so that running containers stay as built. "
                     "To debug, use `kubectl debug --copy-to` on a copy of the pod, or ask for break-glass access: {}.",
                     r.sub_resource, r.name, opts.container.empty() ? "" : fmt::format(" (container \"{}\")", opts.container),
                     r.namespace_, enforce.label, how));
  }
  if (enforce.set) {
    d.info.mode = "enforce";
    d.info.profile = enforce.profile.name;
  }
  // Always audited, allowed or not.
  std::string audit = "{\"user\":";
  AppendJsonString(audit, r.user.username);
  audit += ",\"groups\":[";
  for (size_t i = 0; i < r.user.groups.size(); ++i) {
    if (i) audit += ",";
    AppendJsonString(audit, r.user.groups[i]);
  }
  audit += "],\"subresource\":";
  AppendJsonString(audit, r.sub_resource);
  audit += ",\"pod\":";
  AppendJsonString(audit, r.namespace_ + "/" + r.name);
  audit += ",\"container\":";
  AppendJsonString(audit, opts.container);
  audit += ",\"command\":[";
  for (size_t i = 0; i < opts.command.size(); ++i) {
    if (i) audit += ",";
    AppendJsonString(audit, opts.command[i]);
  }
  audit += "],\"decision\":";
  AppendJsonString(audit, decision);
  audit += "}";
  d.response.audit_annotations.emplace_back("exec", TruncateUtf8(audit, kMaxAuditValueBytes));
}

// Names of ephemeral containers in `object` that are not in `old_object`.
std::vector<std::string> NewEphemeralNames(const policy::Workload& now, const policy::Workload* before) {
  std::vector<std::string> out;
  for (const auto& c : now.spec.ephemeral_containers) {
    bool existed = false;
    if (before) {
      for (const auto& o : before->spec.ephemeral_containers) existed = existed || o.name == c.name;
    }
    if (!existed) out.push_back(c.name);
  }
  return out;
}

// The later path for objects DecodeReview did not decode in its own pass.
Result<policy::Workload> DecodeWorkload(const RawJson& json) {
  policy::ObjectDecodeOptions options;
  options.max_depth = kMaxObjectDepth;
  return policy::DecodeObjectJson(json.json, json.readable, options);
}

void DecideWorkload(const ReviewRequest& r, const Config& c, const NamespaceModes& modes, bool ephemeral,
                    Decision& d) {
  const ModeProfile& enforce = modes.modes[static_cast<int>(Mode::kEnforce)];
  const ModeProfile& warn = modes.modes[static_cast<int>(Mode::kWarn)];
  const ModeProfile& audit = modes.modes[static_cast<int>(Mode::kAudit)];
  for (Mode m : kModes) {
    const ModeProfile& mp = modes.modes[static_cast<int>(m)];
    if (mp.set && d.info.mode == "none") {
      d.info.mode = std::string(ModeName(m));
      d.info.profile = mp.profile.name;
    }
  }
  if (!enforce.set && !warn.set && !audit.set) {
    Allow(d, "allow");
    return;
  }
  // UPDATEs that leave the pod spec alone (labels, annotations, finalizers,
  // status) are not re-evaluated: existing pods stay manageable.
  if (!ephemeral && r.operation == "UPDATE") {
    const policy::PodSpecLocation* loc = policy::FindPodSpecLocation(r.kind.kind);
    if (loc && PodSpecUnchanged(r.object, r.old_object, loc->spec_path)) {
      Allow(d, "unchanged");
      return;
    }
  }
  // A CREATE's object was decoded in the review's own pass.
  std::optional<Result<policy::Workload>> decoded;
  if (ephemeral || !r.workload) decoded.emplace(DecodeWorkload(r.object));
  if (decoded ? !decoded->ok() : !r.workload->ok()) {
    const Status& status = decoded ? decoded->status() : r.workload->status();
    std::string what = fmt::format("invar could not decode {} for evaluation: {}", ObjectLabel(r, nullptr),
                                   status.message());
    if (enforce.set) {
      Deny(d, 500, "InternalError",
           what + fmt::format(". Denied because namespace \"{}\" enforces invar profile \"{}\"; "
                              "invar never admits what it could not check.",
                              r.namespace_, enforce.label));
    } else {
      Allow(d, "error");
      d.response.warnings.push_back(TruncateUtf8(what, kMaxWarningBytes));
      d.response.audit_annotations.emplace_back("error", TruncateUtf8(what, kMaxAuditValueBytes));
    }
    return;
  }
  const policy::Workload& w = decoded ? **decoded : **r.workload;
  if (!w.spec.runtime_class_name.empty() && Contains(c.exempt_runtime_classes, w.spec.runtime_class_name)) {
    Allow(d, "exempt");
    d.response.audit_annotations.emplace_back(
        "exempt", fmt::format("runtimeClassName \"{}\" is exempt (config exemptions.runtimeClassNames)",
                              w.spec.runtime_class_name));
    return;
  }
  std::vector<std::string> only;
  if (ephemeral) {
    std::optional<policy::Workload> before;
    if (!r.old_object.empty()) {
      auto old = DecodeWorkload(r.old_object);
      if (old.ok()) before = std::move(*old);
    }
    only = NewEphemeralNames(w, before ? &*before : nullptr);
  }
  const std::vector<std::string>* filter = ephemeral ? &only : nullptr;

  // Evaluate each distinct profile once, into the Decision's reused verdicts.
  std::array<std::vector<const Finding*>, 3>& failing = d.scratch.failing;
  std::array<Verdict, 3>& verdicts = d.scratch.verdicts;
  for (int i = 0; i < 3; ++i) {
    failing[i].clear();
    const ModeProfile& mp = modes.modes[i];
    if (!mp.set) continue;
    int same = -1;
    for (int j = 0; j < i; ++j) {
      if (modes.modes[j].set && modes.modes[j].label == mp.label && modes.modes[j].profile.name == mp.profile.name) {
        same = j;
      }
    }
    if (same < 0) policy::EvaluateInto(w, mp.profile, &verdicts[i]);
    Failing(same < 0 ? verdicts[i] : verdicts[same], filter, &failing[i]);
  }
  std::string& object = d.scratch.object;
  AssignObjectLabel(r, &w, &object);
  const auto& enforce_failing = failing[static_cast<int>(Mode::kEnforce)];
  const auto& warn_failing = failing[static_cast<int>(Mode::kWarn)];
  const auto& audit_failing = failing[static_cast<int>(Mode::kAudit)];
  bool denied = enforce.set && !enforce_failing.empty();
  if (denied) {
    Deny(d, 403, "Forbidden");
    AppendDenyMessage(object, r.namespace_, enforce, enforce_failing, d.response.message);
  } else {
    Allow(d, "allow");
  }
  // Warn, unless the same profile already denied (PSA does the same).
  if (warn.set && !warn_failing.empty() && !(denied && warn.label == enforce.label)) {
    AddWarnings(warn, warn_failing, &d.response.warnings);
    if (!denied) d.info.decision = "warn";
  }
  for (int i = 0; i < 3; ++i) {
    if (modes.modes[i].set && !modes.modes[i].note.empty()) {
      d.response.warnings.push_back(TruncateUtf8("invar: " + modes.modes[i].note, kMaxWarningBytes));
    }
  }
  if (audit.set && !audit_failing.empty()) {
    d.response.audit_annotations.emplace_back("audit-violations", AuditValue(audit, audit_failing));
  }
}

}  // namespace

std::string_view ModeName(Mode m) {
  switch (m) {
    case Mode::kEnforce: return "enforce";
    case Mode::kWarn: return "warn";
    case Mode::kAudit: return "audit";
  }
  return "unknown";
}

std::string TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  constexpr std::string_view kEllipsis = "...";
  size_t cut = max_bytes > kEllipsis.size() ? max_bytes - kEllipsis.size() : 0;
  // Back up to the start of a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + std::string(kEllipsis);
}

NamespaceModes ResolveModes(const policy::StringMap& labels, const Config& config) {
  NamespaceModes out;
  ResolveModesInto(labels, config, &out);
  return out;
}

void ResolveModesInto(const policy::StringMap& labels, const Config& config, NamespaceModes* modes) {
  // The label keys, indexed by Mode (static_asserted below); the origin of
  // a setting is only spelled out when a note needs it.
  static constexpr std::string_view kKeys[] = {"invar.dev/enforce", "invar.dev/warn", "invar.dev/audit"};
  static constexpr std::string_view kVersionKeys[] = {"invar.dev/enforce-version", "invar.dev/warn-version",
                                                      "invar.dev/audit-version"};
  static_assert(static_cast<int>(Mode::kEnforce) == 0 && static_cast<int>(Mode::kWarn) == 1 &&
                static_cast<int>(Mode::kAudit) == 2);
  NamespaceModes& out = *modes;
  for (Mode m : kModes) {
    int i = static_cast<int>(m);
    // Each mode starts unset; the profile and label keep their storage.
    out.modes[i].set = false;
    out.modes[i].note.clear();
    const std::string_view key = kKeys[i];
    std::optional<ModeSetting> setting;
    bool from_label = false;
    auto origin = [&] {
      return from_label ? "label " + std::string(key) : "config defaults." + std::string(ModeName(m));
    };
    if (const std::string* v = labels.Find(key)) {
      setting = ModeSetting{*v, std::nullopt};
      from_label = true;
      if (const std::string* ver = labels.Find(kVersionKeys[i])) {
        policy::PssVersion pv;
        if (policy::ParsePssVersion(*ver, &pv)) {
          setting->version = pv;
        } else {
          out.modes[i].note = fmt::format("label {}-version=\"{}\" is not a version (v1.N or latest); using latest",
                                          key, *ver);
          setting->version = policy::PssVersion::Latest();
        }
      }
    } else if (config.defaults[i]) {
      setting = config.defaults[i];
    }
    if (!setting || setting->profile.empty()) continue;
    ModeProfile& mp = out.modes[i];
    // Found without a copy, then copy-assigned into the reused profile (its
    // strings, vectors and map nodes are reused): ProfileSet::Get's copy
    // allocated per review.
    const Profile* p = config.profiles.Find(setting->profile);
    if (p == nullptr) {
      // Fail closed: an unknown profile name is treated as the strictest built-in.
      mp.note = fmt::format("{}=\"{}\" names no profile; using \"{}\"", origin(), setting->profile, kFallbackProfile);
      p = config.profiles.Find(kFallbackProfile);
      if (p == nullptr) continue;
    }
    mp.set = true;
    mp.profile = *p;
    if (setting->version) mp.profile.version = *setting->version;
    mp.label.assign(mp.profile.name);
    mp.label += ':';
    mp.label += mp.profile.version.ToString();
  }
}

bool PodSpecUnchanged(const RawJson& object, const RawJson& old_object, std::string_view spec_path) {
  if (object.empty() || old_object.empty()) return false;
  std::string pointer = "/";
  for (char ch : spec_path) pointer += ch == '.' ? '/' : ch;
  auto minified_spec = [&](const RawJson& json, std::string* out) {
    return WithDocument(json, [&](simdjson::error_code err, od::document& doc) {
      if (err) return false;
      od::value v;
      if (doc.at_pointer(pointer).get(v)) return false;
      od::object obj;
      if (v.get_object().get(obj)) return false;
      std::string_view raw;
      if (obj.raw_json().get(raw)) return false;
      out->resize(raw.size());
      size_t len = 0;
      if (simdjson::minify(raw.data(), raw.size(), out->data(), len)) return false;
      out->resize(len);
      return true;
    });
  };
  std::string a, b;
  return minified_spec(object, &a) && minified_spec(old_object, &b) && a == b;
}

Decision Decide(const ReviewRequest& r, const Config& c, const NamespaceSource& namespaces) {
  Decision d;
  DecideInto(r, c, namespaces, d);
  return d;
}

namespace {

// Drops the reused verdicts of a review with far more findings than usual, so
// one huge object does not pin its memory to a worker's Decision.
void TrimScratch(Decision::Scratch& s) {
  constexpr size_t kKeepFindings = 256;
  for (int i = 0; i < 3; ++i) {
    if (s.verdicts[i].findings.capacity() > kKeepFindings) s.verdicts[i] = Verdict();
    if (s.failing[i].capacity() > kKeepFindings) s.failing[i] = std::vector<const Finding*>();
  }
}

}  // namespace

void ResetForReuse(Decision& d) {
  d.response.version = ReviewVersion::kV1;
  d.response.uid.clear();
  d.response.allowed = false;
  d.response.code = 0;
  d.response.reason.clear();
  d.response.message.clear();
  d.response.warnings.clear();
  d.response.audit_annotations.clear();
  d.info.kind.clear();
  d.info.decision.clear();
  d.info.mode.clear();
  d.info.profile.clear();
  TrimScratch(d.scratch);
}

void DecideInto(const ReviewRequest& r, const Config& c, const NamespaceSource& namespaces, Decision& d) {
  ResetForReuse(d);
  d.response.version = r.version;
  d.response.uid = r.uid;
  d.response.allowed = false;
  d.info.kind = r.kind.kind;
  d.info.mode = "none";
  d.info.decision = "error";
  Route route = RouteOf(r);
  if (route.kind == Route::kSkip) {
    log::Debug("admission: {} {}/{}{}{} in \"{}\": not a kind invar judges, allowed", r.operation, r.resource.group,
               r.resource.resource, r.sub_resource.empty() ? "" : "/", r.sub_resource, r.namespace_);
    Allow(d, "skip");
    return;
  }
  std::string exemption = RequestExemption(r, c);
  policy::StringMap labels;
  if (!r.namespace_.empty()) {
    if (auto l = namespaces.Labels(r.namespace_)) labels = std::move(*l);
  }
  NamespaceModes& modes = d.scratch.modes;
  ResolveModesInto(labels, c, &modes);
  if (route.kind == Route::kConnect) {
    DecideConnect(r, c, modes, exemption, d);
    return;
  }
  if (!exemption.empty()) {
    Allow(d, "exempt");
    d.response.audit_annotations.emplace_back("exempt", exemption);
    return;
  }
  DecideWorkload(r, c, modes, route.kind == Route::kEphemeral, d);
  return;
}

}  // namespace invar::admission
