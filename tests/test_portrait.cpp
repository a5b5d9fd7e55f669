// Document portraits: chip-size photos and card scans give one face or a clear reason.
#include <opencv2/imgproc.hpp>

#include "document/portrait.h"
#include "face/batch.h"
#include "match/match.h"
#include "test_helpers.h"

using namespace simkyc;
using simkyc::test::analyzer;
using simkyc::test::face;
using simkyc::test::load_bgr;

TEST(Portrait, ChipSizedPortraitMatchesTheFullPhoto) {
  const cv::Mat full = load_bgr(face("jolie-1.jpg"));
  const cv::Mat chip = simulate_chip_photo(full);   // 102x126, JPEG quality 75
  ASSERT_EQ(chip.cols, 102);
  ASSERT_EQ(chip.rows, 126);
  auto p = document::extract_portrait(chip, analyzer());
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_GT(p->crop.cols, 40);
  const auto live = analyzer().analyze(load_bgr(face("jolie-2.jpg")));
  const auto other = analyzer().analyze(load_bgr(face("other-13.jpg")));
  ASSERT_TRUE(live.ok() && other.ok());
  EXPECT_GT(similarity(p->face.descriptor, live->descriptor), similarity(p->face.descriptor, other->descriptor) + 0.05f);
}

TEST(Portrait, CardScanWithOneFaceGivesACrop) {
  // A card-like scan: the portrait on the left of a light card.
  cv::Mat card(540, 856, CV_8UC3, cv::Scalar(225, 230, 235));
  cv::Mat photo = load_bgr(face("jolie-2.jpg")), small;
  cv::resize(photo, small, cv::Size(320, 240));
  small.copyTo(card(cv::Rect(40, 150, 320, 240)));
  cv::putText(card, "RESIDENT IDENTITY CARD", {400, 200}, cv::FONT_HERSHEY_SIMPLEX, 0.8, {40, 40, 40}, 2);
  auto p = document::extract_portrait(card, analyzer());
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_LT(p->crop.cols, 400);
}

TEST(Portrait, NoFaceSeveralFacesAndTooSmall) {
  const cv::Mat blank(126, 102, CV_8UC3, cv::Scalar(200, 200, 200));
  EXPECT_EQ(document::extract_portrait(blank, analyzer()).error().reason, Reason::kNoFace);
  cv::Mat a = load_bgr(face("jolie-2.jpg")), b = load_bgr(face("other-13.jpg")), both;
  cv::resize(b, b, a.size());
  cv::hconcat(a, b, both);
  EXPECT_EQ(document::extract_portrait(both, analyzer()).error().reason, Reason::kMultipleFaces);
  document::PortraitConfig strict;
  strict.min_inter_eye_px = 500;
  EXPECT_EQ(document::extract_portrait(a, analyzer(), strict).error().reason, Reason::kFaceTooSmall);
}
