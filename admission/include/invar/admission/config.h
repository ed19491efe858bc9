// SPDX-License-Identifier: Apache-2.0
// The webhook's configuration file (--config): cluster-wide default modes,
// exemptions, break-glass groups, custom profiles, and (for --standalone, no
// cluster) the labels of each namespace. Parsed from a YAML string here; the
// server reads the file and reloads it when it changes. A parsed Config is
// immutable and shared between threads through shared_ptr<const Config>.
//
//   defaults:                      # used when a namespace has no invar.dev/<mode> label
//     enforce: immutable
//     enforce-version: latest
//     warn: restricted
//     audit: immutable
//   exemptions:
//     namespaces: [kube-system]
//     usernames: [system:serviceaccount:kube-system:replicaset-controller]
//     groups: []
//     runtimeClassNames: [kata]
//   breakGlass:
//     groups: [invar:break-glass]
//   namespaces:                    # --standalone only: labels per namespace
//     payments: {invar.dev/enforce: immutable}
//   profiles: [...]                # see invar/policy/profile.h
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invar/platform/status.h"
#include "invar/policy/model.h"
#include "invar/policy/profile.h"

namespace invar::admission {

enum class Mode { kEnforce, kWarn, kAudit };
std::string_view ModeName(Mode m);  // "enforce"
inline constexpr Mode kModes[] = {Mode::kEnforce, Mode::kWarn, Mode::kAudit};

// A mode's profile name and optional PSS version, as a label or the defaults set it.
struct ModeSetting {
  std::string profile;
  std::optional<policy::PssVersion> version;
};

struct Config {
  std::optional<ModeSetting> defaults[3];  // indexed by Mode
  std::vector<std::string> exempt_namespaces;
  std::vector<std::string> exempt_usernames;
  std::vector<std::string> exempt_groups;
  std::vector<std::string> exempt_runtime_classes;
  std::vector<std::string> break_glass_groups;
  std::map<std::string, policy::StringMap, std::less<>> namespace_labels;  // standalone mode
  policy::ProfileSet profiles;
  std::string source;  // file path, for messages
};

// Parses a config document. Every error is reported (with its line where
// yaml-cpp gives one), joined in one InvalidArgument message. An empty
// document is a valid config: no defaults, no exemptions, built-in profiles.
Result<Config> ParseConfig(std::string_view yaml, std::string_view source = "");

}  // namespace invar::admission
