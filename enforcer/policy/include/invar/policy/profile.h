// SPDX-License-Identifier: Apache-2.0
// Profiles: which checks run, at which PSS version, with which parameters and
// exemptions. Built-in: privileged, baseline, restricted, immutable (the
// default: restricted + readOnlyRootFilesystem + imageDigest). Custom
// profiles come from a YAML config document (parsed here from a string: this
// library does no I/O). Value types, thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invar/platform/status.h"
#include "invar/policy/checks.h"

namespace invar::policy {

struct ProfileExemption {
  std::vector<std::string> checks;  // check ids; empty = every check
  std::string container_name;       // glob ("*" and "?"), empty = any
  std::string image;                // glob, empty = any
  std::string reason;
};

struct Profile {
  std::string name;          // "immutable"
  Level base = Level::kImmutable;
  PssVersion version;        // PSS version the PSS checks run at
  std::vector<std::string> enabled;   // check ids switched on beyond the base
  std::vector<std::string> disabled;  // check ids switched off
  // Parameters: "requireDigest" (bool, immutable: true) — when false, the
  // imageTag check (tag present and not "latest") runs instead of imageDigest.
  std::map<std::string, std::string> params;
  std::vector<ProfileExemption> exemptions;

  // Whether `check` runs under this profile (base level, enabled/disabled, params).
  bool Runs(const CheckInfo& check) const;
};

// A built-in profile by name ("privileged", "baseline", "restricted",
// "immutable"), at `version`. NotFound for any other name.
Result<Profile> BuiltinProfile(std::string_view name, PssVersion version = PssVersion::Latest());

// Built-in and custom profiles by name.
class ProfileSet {
 public:
  ProfileSet();  // the four built-ins
  // Looks up `name`, at `version` (a custom profile keeps its own version
  // unless `version` is given explicitly, as a namespace label's -version does).
  Result<Profile> Get(std::string_view name, std::optional<PssVersion> version = std::nullopt) const;
  // The profile called `name` at its own version, without a copy; nullptr if none.
  const Profile* Find(std::string_view name) const;
  Status Add(Profile p);  // AlreadyExists for a built-in name
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, Profile, std::less<>> profiles_;
};

// Parses the `profiles:` section of an invar config document:
//
//   profiles:
//     - name: web
//       base: immutable          # privileged | baseline | restricted | immutable | <earlier custom>
//       version: v1.30           # optional, default latest
//       disable: [imageDigest]
//       enable: [imageTag]
//       params: {requireDigest: "false"}
//       exemptions:
//         - checks: [runAsNonRoot]
//           image: "registry.example.com/legacy/*"
//           reason: "vendor image runs as root, ticket SEC-12"
//
// Every error (unknown check id, unknown base, bad version, wrong type) is
// reported with its line, all of them, not just the first.
Result<ProfileSet> ParseProfiles(std::string_view yaml);

// Shell-style glob: '*' matches any run (including '/'), '?' one character.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace invar::policy
