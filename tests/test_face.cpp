// Face analysis on real photos: detection, landmarks, alignment, embedding, quality codes.
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "match/match.h"
#include "test_helpers.h"

using namespace simkyc;
using simkyc::test::analyzer;
using simkyc::test::face;
using simkyc::test::load_bgr;

namespace {

FaceAnalysis analyze_ok(const cv::Mat& img) {
  auto r = analyzer().analyze(img);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().describe());
  return r.ok() ? r.value() : FaceAnalysis{};
}

bool has(const std::vector<Reason>& v, Reason r) { return std::find(v.begin(), v.end(), r) != v.end(); }

float score(const std::string& a, const std::string& b) {
  return similarity(analyze_ok(load_bgr(face(a))).descriptor, analyze_ok(load_bgr(face(b))).descriptor);
}

}  // namespace

TEST(FaceAnalysis, FindsOneFaceWithLandmarksChipAndUnitDescriptor) {
  const cv::Mat img = load_bgr(face("jolie-1.jpg"));
  const auto fa = analyze_ok(img);
  EXPECT_EQ(fa.faces_found, 1);
  ASSERT_EQ(fa.landmarks.points.size(), 5u);
  EXPECT_GT(fa.landmarks.inter_eye_distance(), 40.f);
  EXPECT_EQ(fa.chip.bgr.cols, 150);
  EXPECT_EQ(fa.chip.bgr.rows, 150);
  ASSERT_EQ(fa.descriptor.size(), 128u);
  double n = 0;
  for (float x : fa.descriptor) n += x * x;
  EXPECT_NEAR(std::sqrt(n), 1.0, 1e-4);
  EXPECT_TRUE(fa.quality.ok()) << fa.quality.reasons.size();
  for (const char* k : {"detect", "landmarks", "align", "quality", "embed"}) EXPECT_TRUE(fa.timings_ms.count(k)) << k;
}

TEST(FaceAnalysis, SamePersonScoresHigherThanDifferentPeople) {
  const float same = score("jolie-1.jpg", "jolie-2.jpg");
  const float diff1 = score("jolie-1.jpg", "other-13.jpg");
  const float diff2 = score("jolie-1.jpg", "other-8.jpg");
  EXPECT_GT(same, diff1 + 0.05f);
  EXPECT_GT(same, diff2 + 0.05f);
  const float ea_same = score("arin-1.jpg", "arin-2.jpg");
  const float ea_diff = score("arin-1.jpg", "chorong-1.jpg");
  EXPECT_GT(ea_same, ea_diff);
}

TEST(FaceAnalysis, SmallGreyOrlPhotoAndChipSizedPortraitWork) {
  const auto orl = analyze_ok(load_bgr(face("orl-s1-1.pgm")));   // 92x112 grey
  EXPECT_EQ(orl.descriptor.size(), 128u);
  cv::Mat chip;   // a document chip photo is about 102x126
  const cv::Mat full = load_bgr(face("jolie-2.jpg"));
  cv::resize(full(cv::Rect(200, 40, 260, 320)), chip, cv::Size(102, 126), 0, 0, cv::INTER_AREA);
  const auto small = analyze_ok(chip);
  ASSERT_EQ(small.descriptor.size(), 128u);
  EXPECT_GT(similarity(small.descriptor, analyze_ok(full).descriptor), 0.93f);
}

TEST(FaceAnalysis, NoFaceInABlankImage) {
  const cv::Mat blank(480, 640, CV_8UC3, cv::Scalar(120, 130, 140));
  auto r = analyzer().analyze(blank);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kNoFace);
}

TEST(FaceQuality, TwoPeopleGiveMultipleFaces) {
  cv::Mat a = load_bgr(face("jolie-2.jpg")), b = load_bgr(face("other-13.jpg")), both;
  cv::resize(b, b, cv::Size(a.cols, a.rows));
  cv::hconcat(a, b, both);
  const auto fa = analyze_ok(both);
  EXPECT_EQ(fa.faces_found, 2);
  EXPECT_TRUE(has(fa.quality.reasons, Reason::kMultipleFaces));
}

TEST(FaceQuality, BlurDarkBrightSmallAndTurnedAreFlagged) {
  const cv::Mat img = load_bgr(face("jolie-2.jpg"));
  cv::Mat blurred, dark, bright, small, rotated;
  cv::GaussianBlur(img, blurred, cv::Size(0, 0), 5.0);
  EXPECT_TRUE(has(analyze_ok(blurred).quality.reasons, Reason::kFaceBlurred));
  img.convertTo(dark, -1, 0.18, 0);
  EXPECT_TRUE(has(analyze_ok(dark).quality.reasons, Reason::kFaceTooDark));
  img.convertTo(bright, -1, 1.0, 120);
  EXPECT_TRUE(has(analyze_ok(bright).quality.reasons, Reason::kFaceTooBright));
  // A face far from the camera: the same photo as a small part of a big frame.
  cv::resize(img, small, cv::Size(), 0.22, 0.22, cv::INTER_AREA);
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(90, 90, 90));
  small.copyTo(frame(cv::Rect(200, 150, small.cols, small.rows)));
  auto far = analyzer().analyze(frame);
  if (far.ok()) {
    EXPECT_TRUE(has(far->quality.reasons, Reason::kFaceTooSmall)) << far->quality.inter_eye_px;
  } else {
    EXPECT_EQ(far.error().reason, Reason::kNoFace);
  }
  // Head tilted by 40 degrees (roll).
  const cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(img.cols / 2.f, img.rows / 2.f), 40, 1.0);
  cv::warpAffine(img, rotated, rot, img.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  auto tilted = analyzer().analyze(rotated);
  if (tilted.ok()) {
    EXPECT_TRUE(has(tilted->quality.reasons, Reason::kFaceTurned)) << tilted->quality.pose.roll;
    EXPECT_GT(std::abs(tilted->quality.pose.roll), 30.f);
  }
  // The clean photo has none of these.
  EXPECT_TRUE(analyze_ok(img).quality.ok());
}

TEST(FaceQuality, YawSignFollowsTheNose) {
  Landmarks lm;
  lm.points = {{100, 100}, {120, 100}, {180, 100}, {160, 100}, {140, 150}};   // frontal
  EXPECT_NEAR(estimate_pose(lm).yaw, 0.f, 1.f);
  EXPECT_NEAR(estimate_pose(lm).roll, 0.f, 1.f);
  lm.points[4] = {165, 150};   // nose towards the image's right
  EXPECT_GT(estimate_pose(lm).yaw, 20.f);
  lm.points[4] = {115, 150};
  EXPECT_LT(estimate_pose(lm).yaw, -20.f);
}

TEST(Detector, HogFindsTheFaceAndMmodIsTheFallback) {
  auto hog = make_hog_detector(DetectorConfig{});
  ASSERT_TRUE(hog.ok());
  const cv::Mat img = load_bgr(face("jolie-2.jpg"));
  auto boxes = (*hog)->detect(img);
  ASSERT_TRUE(boxes.ok());
  ASSERT_EQ(boxes->size(), 1u);
  EXPECT_EQ(boxes->front().source, "hog");
  // arin-2 is a turned face that HOG misses; the cascade finds it with MMOD.
  const cv::Mat turned = load_bgr(face("arin-2.jpg"));
  EXPECT_TRUE((*hog)->detect(turned)->empty());
  auto cascade = make_cascade_detector(simkyc::test::model_dir(), DetectorConfig{});
  ASSERT_TRUE(cascade.ok());
  auto found = (*cascade)->detect(turned);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().source, "mmod");
}

TEST(Detector, CascadesAreNamedFirstPlusFallback) {
  // hog+blazeface: HOG first; BlazeFace (ms, not MMOD's second) only when HOG finds nothing.
  auto cascade = make_detector(simkyc::test::model_dir(), "hog+blazeface", DetectorConfig{});
  ASSERT_TRUE(cascade.ok()) << cascade.error().describe();
  EXPECT_EQ((*cascade)->name(), "hog+blazeface");
  auto frontal = (*cascade)->detect(load_bgr(face("jolie-2.jpg")));
  ASSERT_TRUE(frontal.ok());
  ASSERT_EQ(frontal->size(), 1u);
  EXPECT_EQ(frontal->front().source, "hog");
  auto turned = (*cascade)->detect(load_bgr(face("arin-2.jpg")));
  ASSERT_TRUE(turned.ok());
  ASSERT_EQ(turned->size(), 1u);
  EXPECT_EQ(turned->front().source, "blazeface");
  EXPECT_EQ(make_detector(simkyc::test::model_dir(), "hog+mmod+blazeface", DetectorConfig{}).error().reason,
            Reason::kModelError);
  EXPECT_EQ(make_detector(simkyc::test::model_dir(), "hog+nothing", DetectorConfig{}).error().reason,
            Reason::kModelError);
}

TEST(Models, MissingModelDirectoryIsAModelError) {
  auto r = FaceAnalyzer::load("/nonexistent-model-dir", AnalyzerConfig{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kModelError);
}
