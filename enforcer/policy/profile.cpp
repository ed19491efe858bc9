// SPDX-License-Identifier: Apache-2.0
// Profiles: the four built-ins, ProfileSet, the `profiles:` config parser and
// GlobMatch. Called at startup (config) by the webhook and the report, and by
// Evaluate() (ProfileMask) on the hot path. Value types, thread-compatible;
// the parser works on a string and does no I/O.
#include "invar/policy/profile.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <string>

#include "check_index.h"
#include "profile_internal.h"

namespace invar::policy {
namespace {

constexpr std::array<std::string_view, 4> kBuiltinNames = {"privileged", "baseline", "restricted",
                                                           "immutable"};

bool ParseLevel(std::string_view name, Level* out) {
  for (Level l : {Level::kPrivileged, Level::kBaseline, Level::kRestricted, Level::kImmutable}) {
    if (LevelName(l) == name) {
      *out = l;
      return true;
    }
  }
  return false;
}

bool IsBuiltinName(std::string_view name) {
  return std::find(kBuiltinNames.begin(), kBuiltinNames.end(), name) != kBuiltinNames.end();
}

bool Listed(const std::vector<std::string>& ids, std::string_view id) {
  for (const auto& s : ids) {
    if (s == id) return true;
  }
  return false;
}

// requireDigest defaults to true; only an explicit "false" turns it off.
bool RequireDigest(const Profile& p) {
  auto it = p.params.find("requireDigest");
  return it == p.params.end() || it->second != "false";
}

}  // namespace

bool Profile::Runs(const CheckInfo& check) const {
  if (Listed(disabled, check.id)) return false;
  if (Listed(enabled, check.id)) return true;
  if (check.level == Level::kPrivileged || check.level > base) return false;
  if (check.id == "imageDigest") return RequireDigest(*this);
  if (check.id == "imageTag") return !RequireDigest(*this);
  return true;
}

namespace {
// The checks each level runs with no enable/disable/params, computed once.
struct LevelMasks {
  std::array<CheckMask, 4> by_level{};
  LevelMasks() {
    for (Level l : {Level::kPrivileged, Level::kBaseline, Level::kRestricted, Level::kImmutable}) {
      Profile p;
      p.base = l;
      auto catalogue = Catalogue();
      for (size_t i = 0; i < catalogue.size(); ++i) {
        if (p.Runs(catalogue[i])) by_level[static_cast<size_t>(l)] |= Bit(static_cast<CheckIndex>(i));
      }
    }
  }
};

CheckMask IdBit(std::string_view id) {
  auto catalogue = Catalogue();
  for (size_t i = 0; i < catalogue.size(); ++i) {
    if (catalogue[i].id == id) return Bit(static_cast<CheckIndex>(i));
  }
  return 0;
}
}  // namespace

CheckMask ProfileMask(const Profile& profile) {
  // Hot path (every admission request): built-in profiles have no
  // enable/disable lists and no params, so this is one table load.
  static const LevelMasks kLevelMasks;
  CheckMask mask = kLevelMasks.by_level[static_cast<size_t>(profile.base)];
  if (!profile.params.empty() && !RequireDigest(profile) && profile.base >= Level::kImmutable) {
    mask = (mask & ~Bit(kImageDigest)) | Bit(kImageTag);
  }
  for (const auto& id : profile.enabled) mask |= IdBit(id);
  for (const auto& id : profile.disabled) mask &= ~IdBit(id);
  return mask;
}

CheckMask GateByVersion(CheckMask mask, int minor) {
  // Which checks exist at each policy version, computed once.
  static const std::array<CheckMask, PssVersion::kLatestMinor + 1> kExisting = [] {
    std::array<CheckMask, PssVersion::kLatestMinor + 1> t{};
    auto catalogue = Catalogue();
    for (int m = 0; m <= PssVersion::kLatestMinor; ++m) {
      for (size_t i = 0; i < catalogue.size(); ++i) {
        if (!catalogue[i].pss || catalogue[i].since_minor <= m) t[m] |= Bit(static_cast<CheckIndex>(i));
      }
    }
    return t;
  }();
  if (minor < 0) minor = 0;
  if (minor > PssVersion::kLatestMinor) minor = PssVersion::kLatestMinor;
  mask &= kExisting[static_cast<size_t>(minor)];
  struct Override {
    CheckIndex restricted, baseline;
  };
  static constexpr std::array<Override, 4> kOverrides = {{
      {kRestrictedVolumes, kHostPathVolumes},
      {kSeccompProfileRestricted, kSeccompProfileBaseline},
      {kCapabilitiesRestricted, kCapabilitiesBaseline},
      {kProcMountRestricted, kProcMount},
  }};
  for (const auto& o : kOverrides) {
    // `mask` is already version-gated, so the override applies exactly at the
    // versions where the restricted revision exists, as PSA's does.
    if (mask & Bit(o.restricted)) mask &= ~Bit(o.baseline);
  }
  return mask;
}

Result<Profile> BuiltinProfile(std::string_view name, PssVersion version) {
  Level level;
  if (!IsBuiltinName(name) || !ParseLevel(name, &level)) {
    return Status::NotFound("unknown profile \"" + std::string(name) +
                            "\" (built-in: privileged, baseline, restricted, immutable)");
  }
  Profile p;
  p.name = std::string(name);
  p.base = level;
  p.version = version;
  return p;
}

ProfileSet::ProfileSet() {
  for (auto name : kBuiltinNames) {
    profiles_.emplace(std::string(name), *BuiltinProfile(name));
  }
}

const Profile* ProfileSet::Find(std::string_view name) const {
  auto it = profiles_.find(name);
  return it == profiles_.end() ? nullptr : &it->second;
}

Result<Profile> ProfileSet::Get(std::string_view name, std::optional<PssVersion> version) const {
  auto it = profiles_.find(name);
  if (it == profiles_.end()) {
    std::string known;
    for (const auto& [n, p] : profiles_) known += (known.empty() ? "" : ", ") + n;
    return Status::NotFound("unknown profile \"" + std::string(name) + "\" (known: " + known + ")");
  }
  Profile p = it->second;
  if (version) p.version = *version;
  return p;
}

Status ProfileSet::Add(Profile p) {
  if (IsBuiltinName(p.name)) return Status::AlreadyExists("profile \"" + p.name + "\" is built in");
  if (p.name.empty()) return Status::InvalidArgument("profile name is empty");
  auto [it, inserted] = profiles_.emplace(p.name, p);
  if (!inserted) return Status::AlreadyExists("profile \"" + p.name + "\" is defined twice");
  return Status::Ok();
}

std::vector<std::string> ProfileSet::Names() const {
  std::vector<std::string> names;
  for (const auto& [n, p] : profiles_) names.push_back(n);
  return names;
}

// ---- config parsing ----

namespace {

class ErrorList {
 public:
  void Add(const YAML::Node& at, std::string message) {
    int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    errors_.push_back(line > 0 ? "line " + std::to_string(line) + ": " + message : message);
  }
  bool empty() const { return errors_.empty(); }
  std::string Joined() const {
    std::string s;
    for (const auto& e : errors_) s += (s.empty() ? "" : "\n") + e;
    return s;
  }

 private:
  std::vector<std::string> errors_;
};

bool Scalar(const YAML::Node& n, std::string_view what, ErrorList* errors, std::string* out) {
  if (!n.IsScalar()) {
    errors->Add(n, std::string(what) + " must be a string");
    return false;
  }
  *out = n.Scalar();
  return true;
}

// A list of check ids; every unknown id is an error.
std::vector<std::string> CheckIds(const YAML::Node& n, std::string_view what, bool allow_star,
                                  ErrorList* errors) {
  std::vector<std::string> ids;
  if (!n.IsSequence()) {
    errors->Add(n, std::string(what) + " must be a list of check ids");
    return ids;
  }
  for (const auto& item : n) {
    std::string id;
    if (!Scalar(item, what, errors, &id)) continue;
    if (allow_star && id == "*") {
      ids.push_back(id);
      continue;
    }
    if (FindCheck(id) == nullptr) {
      errors->Add(item, "unknown check id \"" + id + "\" in " + std::string(what));
      continue;
    }
    ids.push_back(id);
  }
  return ids;
}

void ParseExemption(const YAML::Node& n, ErrorList* errors, Profile* p) {
  if (!n.IsMap()) {
    errors->Add(n, "each exemption must be a mapping (checks, container, image, reason)");
    return;
  }
  ProfileExemption ex;
  for (const auto& kv : n) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const YAML::Node& v = kv.second;
    if (key == "checks") {
      ex.checks = CheckIds(v, "exemption checks", /*allow_star=*/true, errors);
    } else if (key == "container") {
      Scalar(v, "exemption container", errors, &ex.container_name);
    } else if (key == "image") {
      Scalar(v, "exemption image", errors, &ex.image);
    } else if (key == "reason") {
      Scalar(v, "exemption reason", errors, &ex.reason);
    } else {
      errors->Add(kv.first,
                  "unknown exemption field \"" + key + "\" (expected checks, container, image, reason)");
    }
  }
  if (ex.reason.empty()) errors->Add(n, "exemption needs a reason");
  if (ex.checks.empty() && ex.container_name.empty() && ex.image.empty()) {
    errors->Add(n, "exemption must name checks, a container or an image (it would exempt everything)");
  }
  p->exemptions.push_back(std::move(ex));
}

void ParseProfile(const YAML::Node& n, const ProfileSet& known, ErrorList* errors, ProfileSet* set) {
  if (!n.IsMap()) {
    errors->Add(n, "each profile must be a mapping");
    return;
  }
  Profile p;
  bool ok = true;
  auto fail = [&](const YAML::Node& at, std::string msg) {
    errors->Add(at, std::move(msg));
    ok = false;
  };
  // The base comes first so enable/disable/exemptions add to it.
  if (const YAML::Node base = n["base"]) {
    std::string base_name;
    if (Scalar(base, "base", errors, &base_name)) {
      auto b = known.Get(base_name);
      if (!b.ok()) {
        fail(base, "unknown base profile \"" + base_name +
                       "\" (privileged, baseline, restricted, immutable or an earlier custom profile)");
      } else {
        p = *b;
      }
    } else {
      ok = false;
    }
  } else {
    p = *BuiltinProfile("immutable");
  }
  p.name.clear();
  for (const auto& kv : n) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const YAML::Node& v = kv.second;
    if (key == "name") {
      std::string name;
      if (!Scalar(v, "name", errors, &name)) {
        ok = false;
      } else if (name.empty()) {
        fail(v, "profile name is empty");
      } else if (IsBuiltinName(name)) {
        fail(v, "profile \"" + name + "\" is a built-in name");
      } else if (known.Get(name).ok()) {
        fail(v, "profile \"" + name + "\" is defined twice");
      } else {
        p.name = name;
      }
    } else if (key == "base") {
      // handled above
    } else if (key == "version") {
      std::string text;
      PssVersion version;
      if (!Scalar(v, "version", errors, &text)) {
        ok = false;
      } else if (!ParsePssVersion(text, &version)) {
        fail(v, "bad version \"" + text + "\" (expected latest or v1.N)");
      } else {
        p.version = version;
      }
    } else if (key == "enable" || key == "disable") {
      auto ids = CheckIds(v, key, /*allow_star=*/false, errors);
      auto& add_to = key == "enable" ? p.enabled : p.disabled;
      auto& remove_from = key == "enable" ? p.disabled : p.enabled;
      for (auto& id : ids) {
        std::erase(remove_from, id);
        if (!Listed(add_to, id)) add_to.push_back(std::move(id));
      }
    } else if (key == "params") {
      if (!v.IsMap()) {
        fail(v, "params must be a mapping");
        continue;
      }
      for (const auto& param : v) {
        std::string pname = param.first.IsScalar() ? param.first.Scalar() : "";
        std::string value;
        if (pname != "requireDigest") {
          fail(param.first, "unknown parameter \"" + pname + "\" (known: requireDigest)");
        } else if (!Scalar(param.second, "requireDigest", errors, &value)) {
          ok = false;
        } else if (value != "true" && value != "false") {
          fail(param.second, "requireDigest must be true or false, not \"" + value + "\"");
        } else {
          p.params[pname] = value;
        }
      }
    } else if (key == "exemptions") {
      if (!v.IsSequence()) {
        fail(v, "exemptions must be a list");
        continue;
      }
      for (const auto& e : v) ParseExemption(e, errors, &p);
    } else {
      fail(kv.first, "unknown profile field \"" + key +
                         "\" (expected name, base, version, enable, disable, params, exemptions)");
    }
  }
  if (p.name.empty()) {
    if (!n["name"]) fail(n, "profile has no name");
    return;
  }
  if (ok) (void)set->Add(std::move(p));
}

}  // namespace

Result<ProfileSet> ParseProfiles(std::string_view yaml) {
  ProfileSet set;
  ErrorList errors;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's depth guard (it labels this "bad file"): say what it is.
    return Status::InvalidArgument(
        (e.mark.line >= 0 ? "line " + std::to_string(e.mark.line + 1) + ": " : std::string()) +
        "nesting deeper than " + std::to_string(e.depth()) + " levels");
  } catch (const YAML::Exception& e) {
    std::string msg = e.msg;
    return Status::InvalidArgument(
        (e.mark.line >= 0 ? "line " + std::to_string(e.mark.line + 1) + ": " : std::string()) + msg);
  }
  try {
    if (!root || root.IsNull()) return set;
    if (!root.IsMap()) {
      errors.Add(root, "config must be a mapping with a profiles: list");
      return Status::InvalidArgument(errors.Joined());
    }
    const YAML::Node profiles = root["profiles"];
    if (!profiles || profiles.IsNull()) return set;
    if (!profiles.IsSequence()) {
      errors.Add(profiles, "profiles must be a list");
      return Status::InvalidArgument(errors.Joined());
    }
    for (const auto& n : profiles) ParseProfile(n, set, &errors, &set);
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports type errors on access by exception; keep them as data.
    errors.Add(root, e.what());
  }
  if (!errors.empty()) return Status::InvalidArgument(errors.Joined());
  return set;
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative wildcard match with one backtrack point: O(|p|·|t|) worst case,
  // no recursion, so hostile patterns cannot blow the stack.
  size_t p = 0, t = 0, star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace invar::policy
