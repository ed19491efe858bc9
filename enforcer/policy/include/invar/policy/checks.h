// SPDX-License-Identifier: Apache-2.0
// The check catalogue: every check invar runs, with a stable id, its level,
// severity, rationale and remediation. The 19 Pod Security Standards checks
// keep PSA's ids (hostNamespaces, runAsNonRoot, ...); invar's immutability
// checks add readOnlyRootFilesystem, imageDigest and imageTag.
// Static, immutable data: thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace invar::policy {

enum class Level : uint8_t { kPrivileged, kBaseline, kRestricted, kImmutable };
enum class Severity : uint8_t { kInfo, kLow, kMedium, kHigh, kCritical };

std::string_view LevelName(Level l);        // "baseline"
std::string_view SeverityName(Severity s);  // "HIGH"
bool ParseSeverity(std::string_view name, Severity* out);  // case-insensitive

// A Pod Security Standards policy version, as PSA spells it: "v1.0" ...
// "v1.37", or "latest" (= the newest version invar knows, kLatestMinor).
struct PssVersion {
  static constexpr int kLatestMinor = 37;
  int minor = kLatestMinor;  // major is always 1
  bool latest = true;
  static PssVersion Latest() { return {}; }
  static PssVersion V1(int minor) { return {minor, false}; }
  // The minor version the checks compare against: kLatestMinor for latest
  // and for versions newer than invar knows (PSA clamps them the same way).
  int Effective() const { return latest || minor > kLatestMinor ? kLatestMinor : minor; }
  std::string ToString() const;  // "latest", "v1.25"
  friend bool operator==(const PssVersion&, const PssVersion&) = default;
};
// Accepts "latest", "v1.N" (0 <= N), as PSA does; versions newer than
// kLatestMinor evaluate as latest. Returns false on anything else.
bool ParsePssVersion(std::string_view text, PssVersion* out);

struct CheckInfo {
  std::string_view id;           // stable: "runAsNonRoot", "readOnlyRootFilesystem"
  std::string_view title;        // "Running as Non-root"
  Level level;                   // the lowest profile that includes it
  Severity severity;
  int since_minor;               // PSS: first policy version (1.N) that has it; invar checks: 0
  bool pss;                      // one of the Pod Security Standards checks
  std::string_view rationale;    // why it matters, one or two sentences
  std::string_view remediation;  // what to change, in words a person can act on
};

// Every check, in a stable order (PSS baseline, PSS restricted, immutability).
std::span<const CheckInfo> Catalogue();
// nullptr for an unknown id.
const CheckInfo* FindCheck(std::string_view id);

}  // namespace invar::policy
