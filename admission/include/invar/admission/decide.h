// SPDX-License-Identifier: Apache-2.0
// The admission decision: one decoded AdmissionReview request, the current
// config and the namespace labels in; the AdmissionReview response out.
// Workloads are decoded in DecodeReview's single pass (CREATE) or by
// policy::DecodeObjectJson, then go through policy::Evaluate: the same
// code path `invar report` uses, so the two never disagree.
//
// Fail-closed: the response starts as allowed=false and is only switched to
// allowed on an explicit allow path; an object that cannot be decoded or
// evaluated in a namespace with an enforce mode is denied (code 500) with a
// message saying why. Pure apart from logging; thread-safe (one simdjson
// parser per thread inside).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "invar/admission/config.h"
#include "invar/admission/namespace_source.h"
#include "invar/admission/review.h"
#include "invar/policy/evaluate.h"

namespace invar::admission {

// Labels for metrics and logs.
struct DecisionInfo {
  std::string kind;      // request.kind.kind: "Pod", "Deployment", "PodExecOptions"
  std::string decision;  // allow | deny | warn | skip | exempt | unchanged | error
  std::string mode;      // the strongest mode that applied: enforce | warn | audit | none
  std::string profile;   // that mode's profile, "" for none
};

// The resolved profile of each mode for a namespace (labels over defaults).
struct ModeProfile {
  bool set = false;
  policy::Profile profile;
  std::string label;  // "immutable:latest", as shown to users
  std::string note;   // a problem with the label ("unknown profile \"x\", using immutable")
};
struct NamespaceModes {
  ModeProfile modes[3];  // indexed by Mode
};
struct Decision {
  ReviewResponse response;
  DecisionInfo info;
  // Not part of the decision: working storage DecideInto() reuses from one
  // review to the next (the namespace's modes, each mode's verdict, its
  // findings that count, the object's label), so a worker's reused Decision
  // decides without allocating. Released by ResetForReuse() when it grew far
  // past a usual review's. Meaningless outside DecideInto() (`failing`
  // points into `verdicts`, also in a copy).
  struct Scratch {
    NamespaceModes modes;  // ResolveModesInto's
    std::array<policy::Verdict, 3> verdicts;
    std::array<std::vector<const policy::Finding*>, 3> failing;
    std::string object;  // "Pod \"web\"" for messages
  } scratch;
};

Decision Decide(const ReviewRequest& request, const Config& config, const NamespaceSource& namespaces);
// The same into a Decision the caller reuses (the server keeps one per worker
// thread): every field is reset first (ResetForReuse), strings and vectors
// keep their capacity, so a denial's multi-KiB message is not allocated again
// for every review.
void DecideInto(const ReviewRequest& request, const Config& config, const NamespaceSource& namespaces, Decision& out);
// Sets every field of `d` to its default, keeping string and vector capacity.
void ResetForReuse(Decision& d);

NamespaceModes ResolveModes(const policy::StringMap& labels, const Config& config);
// The same into `out`, whose profiles' and labels' storage is reused (the
// webhook resolves the modes of every review into its worker's Decision).
void ResolveModesInto(const policy::StringMap& labels, const Config& config, NamespaceModes* out);

// True when the pod spec at `spec_path` ("spec", "spec.template.spec", ...) is
// byte-identical after minification in both objects (raw JSON as in
// ReviewRequest). False on any parse problem (then the update is evaluated).
bool PodSpecUnchanged(const RawJson& object, const RawJson& old_object, std::string_view spec_path);

// Helpers shared with the tests: the status.message of a denial, and one
// warning line, truncated to kMaxWarningBytes on a UTF-8 boundary.
inline constexpr size_t kMaxWarningBytes = 120;
std::string TruncateUtf8(std::string_view s, size_t max_bytes);

}  // namespace invar::admission
