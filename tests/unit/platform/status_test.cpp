// SPDX-License-Identifier: Apache-2.0
#include "invar/platform/status.h"

#include <gtest/gtest.h>

namespace invar {
namespace {

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, ErrnoMapsToCodes) {
  EXPECT_EQ(ErrnoStatus("open x", ENOENT).code(), Status::Code::kNotFound);
  EXPECT_EQ(ErrnoStatus("open x", EACCES).code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus("read", EAGAIN).code(), Status::Code::kUnavailable);
  EXPECT_EQ(ErrnoStatus("open x", ENOENT).message(), "open x: No such file or directory");
}

TEST(Status, WithContextPrefixes) {
  Status s = Status::InvalidArgument("bad").WithContext("loading config");
  EXPECT_EQ(s.message(), "loading config: bad");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(Result, HoldsValueOrError) {
  Result<int> a = 3;
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 3);
  Result<int> b = Status::NotFound("nope");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(b.value_or(7), 7);
}

TEST(Result, OkStatusIsNotAValue) {
  Result<int> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
}

}  // namespace
}  // namespace invar
