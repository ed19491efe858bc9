// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the AdmissionReview decoder and the decision on whatever
// it accepts (standalone config, one enforced namespace). Must never crash,
// leak or hang; a decoded review must always get an answer with its uid.
// Each input is also decoded into one ReviewRequest reused across inputs (as
// the server does): it must agree with the fresh decode, and the reply's
// escaper must agree with the platform's on the denial message. The nesting
// bound, which the decode checks partly in request.object's walk and partly
// with a byte scan of the rest, must give the verdict of a scan of the whole
// body, at the default bound and at bounds around the input's own nesting.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "invar/admission/config.h"
#include "invar/admission/decide.h"
#include "invar/admission/review.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace invar::admission;
  static const Config* config = [] {
    auto c = ParseConfig("breakGlass: {groups: [bg]}\nexemptions: {namespaces: [kube-system]}\n");
    return new Config(std::move(*c));
  }();
  static FixedNamespaceSource* ns = [] {
    auto* s = new FixedNamespaceSource();
    invar::policy::StringMap labels;
    labels.Set("invar.dev/enforce", "immutable");
    labels.Set("invar.dev/warn", "restricted");
    labels.Set("invar.dev/audit", "baseline");
    s->Set("prod", labels);
    return s;
  }();
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto review = DecodeReview(body);
  // The decode's nesting verdict is a whole-body scan's: at the default
  // bound, and at the body's own nesting and one less (a valid CREATE then
  // has its object's bytes checked by the policy walk and only the rest
  // scanned; one less fails in the object or outside it), and at 5.
  auto nesting_error = [](const invar::Status& st, int max_depth) {
    return !st.ok() && st.message() == "JSON nesting deeper than " + std::to_string(max_depth) + " levels";
  };
  if (size <= ReviewLimits{}.max_bytes) {
    const int default_depth = ReviewLimits{}.max_depth;
    if (nesting_error(review.status(), default_depth) != NestingDeeperThan(body, default_depth)) std::abort();
    int needed = 0;
    while (needed < default_depth && NestingDeeperThan(body, needed)) ++needed;
    for (int max_depth : {needed - 1, needed, 5}) {
      if (max_depth < 0 || max_depth == default_depth) continue;
      ReviewLimits limits;
      limits.max_depth = max_depth;
      if (nesting_error(DecodeReview(body, limits).status(), max_depth) !=
          NestingDeeperThan(body, max_depth)) {
        std::abort();
      }
    }
  }
  static ReviewRequest* reused = new ReviewRequest();
  const invar::Status s = DecodeReviewInto(body, {}, 0, *reused);
  if (s.ok() != review.ok()) std::abort();
  if (!review.ok()) {
    if (s.message() != review.status().message()) std::abort();
    return 0;
  }
  if (reused->uid != review->uid || reused->operation != review->operation ||
      reused->user.groups != review->user.groups || reused->object.json != review->object.json ||
      reused->workload.has_value() != review->workload.has_value()) {
    std::abort();
  }
  Decision d = Decide(*review, *config, *ns);
  if (d.response.uid != review->uid) std::abort();
  (void)EncodeReview(d.response);
  std::string fast, reference;
  AppendJsonStringForReply(fast, d.response.message);
  AppendJsonString(reference, d.response.message);
  if (fast != reference) std::abort();
  return 0;
}
