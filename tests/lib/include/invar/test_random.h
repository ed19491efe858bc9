// SPDX-License-Identifier: Apache-2.0
// XorShift64: the small deterministic generator of the randomized tests
// (the same sequence on every run, compiler and standard library, unlike
// the <random> distributions). Header-only; one per test, not thread-safe.
#pragma once

#include <cstdint>

namespace invar::test_support {

class XorShift64 {
 public:
  explicit XorShift64(uint64_t seed) : state_(seed) {}
  uint64_t operator()() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }

 private:
  uint64_t state_;
};

}  // namespace invar::test_support
