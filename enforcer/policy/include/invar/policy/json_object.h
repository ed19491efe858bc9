// SPDX-License-Identifier: Apache-2.0
// The admission hot path: decode one Kubernetes object straight from a
// simdjson on-demand value into a Workload, with no intermediate DOM. Only the
// webhook's AdmissionReview codec and the JSON decoder include this header
// (simdjson.h is heavy). Thread-compatible: one parser per thread.
#pragma once

#include <simdjson.h>

#include <string_view>

#include "invar/platform/status.h"
#include "invar/policy/model.h"

namespace invar::policy {

// Decodes `object` (a JSON object with apiVersion/kind/metadata/spec). Returns
// InvalidArgument with a clear message on wrong types ("spec.containers[0].
// securityContext.privileged: expected boolean, got string") and NotFound when
// the kind carries no pod spec. `kind_hint` is used when the object has no
// `kind` field (AdmissionReview objects always have one).
// On success the caller's iterator is past the object, as after reading it.
// `max_depth` bounds the nesting the decode reads, counted from the object.
//
// `nesting` (optional) asks the walk to also check a nesting bound of the
// whole enclosing document on the object's bytes, on the way (the webhook
// bounds its whole body, see admission/review.cpp). It never changes the
// result: it only reports which bytes were checked, so that the caller scans
// just the rest.
struct NestingCheck {
  // In: objects and arrays may nest this many levels, counted from the
  // document's root (level 1), as a byte scan of the document outside
  // strings counts them.
  int max_depth = 0;
  // Out: the object's bytes, from its '{' to past its '}', when every one of
  // them was checked and nests within max_depth; a null view when they were
  // not checked (the on-demand walk decoded the object: an error, a kind
  // without a pod spec, or nesting past the bound), and the caller must
  // check the object itself.
  std::string_view checked;
  // Out, with `checked`: the level of the object's '{' (the enclosing
  // containers are level - 1 deep at the end of `checked`).
  int depth = 0;
};
Result<Workload> DecodeObject(simdjson::ondemand::value object, int max_depth = 256,
                              NestingCheck* nesting = nullptr);

// The same decode into a Workload the caller keeps across calls (the
// webhook's per-worker request): `out` is reset first and keeps the capacity
// of its strings, vectors and maps (as DecodeObjectJsonInto, decode.h). On
// success `out` equals what DecodeObject() returns; on error the status is
// DecodeObject()'s and `out` holds an unspecified partial decode.
// `nesting` as for DecodeObject().
Status DecodeObjectInto(simdjson::ondemand::value object, int max_depth, Workload* out,
                        NestingCheck* nesting = nullptr);

// The same decode with on-demand's iterators only. DecodeObject() walks
// simdjson's structural index first and falls back to this on any failure
// (so every error is this one's); tests and fuzzers compare the two.
Result<Workload> DecodeObjectOnDemand(simdjson::ondemand::value object, int max_depth = 256);

}  // namespace invar::policy
