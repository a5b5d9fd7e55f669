#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/reason.h"
#include "core/result.h"

using namespace simkyc;

TEST(Reason, CodesAreUniqueUpperSnakeAndRoundTrip) {
  std::set<std::string> seen;
  for (const auto& r : all_reasons()) {
    std::string c(r.code);
    EXPECT_TRUE(seen.insert(c).second) << "duplicate code " << c;
    for (char ch : c) EXPECT_TRUE((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_') << c;
    ASSERT_TRUE(reason_from_code(c).has_value());
    EXPECT_EQ(*reason_from_code(c), r.reason);
    EXPECT_FALSE(r.message.empty()) << c;
    if (r.reason != Reason::kOk) {
      EXPECT_FALSE(r.hint.empty()) << c;
    }
  }
  EXPECT_FALSE(reason_from_code("NO_SUCH_CODE").has_value());
}

TEST(Result, HoldsValueOrError) {
  Result<int> a = 3;
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 3);
  Result<int> b = make_error(Reason::kFaceTooSmall, "12 px");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), "FACE_TOO_SMALL");
  EXPECT_NE(b.error().describe().find("12 px"), std::string::npos);
}
