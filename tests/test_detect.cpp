// Issue 12: fr_detect_v1, its small-face second pass, the plain dlib recipe, and analysis of
// huge images in bounded memory.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "face/batch.h"
#include "face/detector.h"
#include "face/landmarks_fr.h"
#include "test_helpers.h"

namespace simkyc {
namespace {

using test::face;
using test::load_bgr;
using test::model_dir;

std::unique_ptr<Detector> detector(const std::string& id, const DetectorConfig& cfg = {}) {
  auto d = make_detector(model_dir(), id, cfg);
  EXPECT_TRUE(d.ok()) << id << ": " << (d.ok() ? "" : d.error().describe());
  return d.ok() ? std::move(d.value()) : nullptr;
}

const char* kPhotos[] = {"jolie-1.jpg", "jolie-2.jpg", "other-8.jpg", "other-13.jpg", "arin-1.jpg", "chorong-1.jpg", "amy-1.png"};

// On real photos fr_detect finds the one face HOG finds, in HOG's geometry (the mapping the dlib
// landmarkers need): centre inside HOG's box, side within x1.5 of HOG's (HOG's box of the tight
// 160x160 crop arin-1 reaches far outside the image).
TEST(FrDetect, FindsTheFaceHogFindsInHogGeometry) {
  auto fr = detector("fr_detect");
  auto hog = detector("hog");
  ASSERT_TRUE(fr && hog);
  EXPECT_EQ(fr->name(), "fr_detect");
  for (const char* name : kPhotos) {
    const cv::Mat img = load_bgr(face(name));
    auto f = fr->detect(img);
    auto h = hog->detect(img);
    ASSERT_TRUE(f.ok() && h.ok()) << name;
    ASSERT_FALSE(f->empty()) << name;
    ASSERT_FALSE(h->empty()) << name;
    const cv::Rect2f b = f->front().rect, r = h->front().rect;
    EXPECT_TRUE(r.contains((b.tl() + b.br()) / 2)) << name << " " << b << " vs HOG " << r;
    EXPECT_LT(std::max(b.width / r.width, r.width / b.width), 1.5f) << name << " " << b << " vs HOG " << r;
    EXPECT_GE(f->front().confidence, 0.7f) << name;
    EXPECT_EQ(f->front().source, "fr_detect");
  }
}

// A document chip portrait (102x126, JPEG quality 75) and ORL's 92x112 grey photo.
TEST(FrDetect, FindsChipSizeFaces) {
  auto fr = detector("fr_detect");
  ASSERT_TRUE(fr);
  for (const char* name : kPhotos) {
    const cv::Mat chip = simulate_chip_photo(load_bgr(face(name)));
    ASSERT_EQ(chip.size(), cv::Size(102, 126));
    auto f = fr->detect(chip);
    ASSERT_TRUE(f.ok());
    ASSERT_FALSE(f->empty()) << name << " as a 102x126 chip";
    const cv::Point2f c = (f->front().rect.tl() + f->front().rect.br()) / 2;
    EXPECT_TRUE(cv::Rect2f(15, 15, 72, 96).contains(c)) << name << " " << f->front().rect;
  }
  for (const char* name : {"orl-s1-1.pgm", "arin-2.jpg"}) {   // HOG misses arin-2 (a turned head)
    auto f = fr->detect(load_bgr(face(name)));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->size(), 1u) << name;
  }
}

// A face about 55 px wide in a 2560x1920 photo: about 7 px when the whole image is shrunk to
// 320x240 (the network's smallest prior is 10 px), found by the tiled second pass, at the right place.
TEST(FrDetect, SmallFaceInALargePhotoIsFoundByTheTiledPass) {
  const cv::Mat photo = load_bgr(face("jolie-1.jpg"));
  const cv::Mat big = simulate_small_face(photo, {2560, 1920}, 120);
  // Where the photo was put (simulate_small_face: a third across, half way down).
  const double s = 120.0 / std::max(photo.cols, photo.rows);
  const cv::Rect2f placed(2560 / 3.f, 960 - static_cast<float>(photo.rows * s) / 2, static_cast<float>(photo.cols * s),
                          static_cast<float>(photo.rows * s));
  DetectorConfig one_pass;
  one_pass.fr_max_tile_grid = 1;
  auto fast = detector("fr_detect", one_pass);
  auto tiled = detector("fr_detect");
  ASSERT_TRUE(fast && tiled);
  auto a = fast->detect(big);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->empty()) << "the whole-image pass alone should not see a face this small";
  auto b = tiled->detect(big);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  const cv::Rect2f r = b->front().rect;
  EXPECT_TRUE(placed.contains((r.tl() + r.br()) / 2)) << r << " not in " << placed;
  EXPECT_GT(r.width, 25.f);
  EXPECT_LT(r.width, 90.f);
}

TEST(FrDetect, NothingInBlankOrNoiseImages) {
  auto fr = detector("fr_detect");
  ASSERT_TRUE(fr);
  cv::Mat grey(960, 1280, CV_8UC3, cv::Scalar::all(128)), noise(480, 640, CV_8UC3);
  cv::randu(noise, 0, 255);
  for (const cv::Mat& m : {grey, noise}) {
    auto f = fr->detect(m);
    ASSERT_TRUE(f.ok());
    EXPECT_TRUE(f->empty()) << f->size();
  }
  EXPECT_FALSE(fr->detect(cv::Mat()).ok());
}

TEST(FrDetect, NamesAndTheDlibRecipe) {
  for (const char* id : {"fr_detect_v1", "fr_detect_raw", "fr_detect+mmod", "dlib_recipe", "hog_up1", "mmod_up2"})
    EXPECT_TRUE(detector(id) != nullptr) << id;
  EXPECT_EQ(detector("fr_detect+mmod")->name(), "fr_detect+mmod");
  EXPECT_EQ(detector("dlib_recipe")->name(), "hog+mmod");
  // HOG upsampled once finds ORL's small grey face at twice the resolution, as face_recognition does.
  auto f = detector("hog_up1")->detect(load_bgr(face("orl-s1-1.pgm")));
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->size(), 1u);
  EXPECT_GT(f->front().rect.width, 30.f);
  EXPECT_LT(f->front().rect.width, 92.f);
}

// A 6000x4500 photo (27 MP, within the image guard's 40 MP) is scaled down before the detector
// sees it; the box and landmarks come back in the photo's own coordinates.
TEST(HugeImages, AreAnalysedOnABoundedCopyInTheirOwnCoordinates) {
  const cv::Mat photo = load_bgr(face("jolie-1.jpg"));
  cv::Mat huge;
  cv::resize(photo, huge, cv::Size(6000, 6000 * photo.rows / photo.cols), 0, 0, cv::INTER_LINEAR);
  auto small = test::analyzer().analyze(photo, false);
  ASSERT_TRUE(small.ok()) << small.error().describe();
  const auto t0 = std::chrono::steady_clock::now();
  auto big = test::analyzer().analyze(huge, false);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(big.ok()) << big.error().describe();
  const double k = 6000.0 / photo.cols;
  EXPECT_NEAR(big->box.rect.x / k, small->box.rect.x, 0.1 * small->box.rect.width);
  EXPECT_NEAR(big->box.rect.width / k, small->box.rect.width, 0.1 * small->box.rect.width);
  EXPECT_NEAR(big->landmarks.left_eye().x / k, small->landmarks.left_eye().x, 0.05 * small->box.rect.width);
  EXPECT_TRUE(big->timings_ms.count("downscale"));
  EXPECT_LT(ms, 5000.0);
  auto boxes = test::analyzer().detect(huge);
  ASSERT_TRUE(boxes.ok());
  ASSERT_FALSE(boxes->empty());
  EXPECT_NEAR(boxes->front().rect.width / k, small->box.rect.width, 0.1 * small->box.rect.width);
}

// The same analysis in a child process whose address space is capped at 64 MB above what it uses
// once the models are loaded and warm: whole-image copies of the 27 MP photo (81 MB in BGR) could
// not be made there.
TEST(HugeImagesDeathTest, AnalysisMemoryStaysBounded) {
  const std::string old_style = GTEST_FLAG_GET(death_test_style);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto run = [] {
    FaceAnalyzer& a = test::analyzer();
    const cv::Mat photo = load_bgr(face("jolie-1.jpg"));
    cv::Mat huge;
    cv::resize(photo, huge, cv::Size(6000, 6000 * photo.rows / photo.cols), 0, 0, cv::INTER_LINEAR);
    if (!a.analyze(photo, false).ok()) std::_Exit(6);   // warm: threads, arenas
    long pages = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    const rlim_t cap = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + (64u << 20);
    const rlimit lim{cap, cap};
    if (pages == 0 || setrlimit(RLIMIT_AS, &lim) != 0) std::_Exit(3);
    try {
      cv::Mat copy(huge.size(), CV_8UC3);   // the cap bites on one whole-image copy
      std::_Exit(4);
    } catch (...) {
    }
    try {
      auto r = a.analyze(huge, false);
      std::_Exit(r.ok() ? 0 : 5);
    } catch (...) {
      std::_Exit(7);
    }
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(0), "");
  GTEST_FLAG_SET(death_test_style, old_style);
}

}  // namespace
}  // namespace simkyc

namespace simkyc {
namespace {

// fr_landmark's 68 points against dlib's 68 on the same HOG boxes: mean distance under 10% of
// the inter-ocular distance on real photos, and its 5 points give the same eye centres.
TEST(FrLandmark, AgreesWithDlib68OnRealPhotos) {
  auto fr = make_fr_landmarker(model_dir());
  auto d68 = make_dlib_landmarker(model_dir(), 68);
  auto hog = detector("hog");
  ASSERT_TRUE(fr.ok() && d68.ok() && hog) << (fr.ok() ? "" : fr.error().describe());
  EXPECT_EQ((*fr)->num_points(), 68);
  for (const char* name : kPhotos) {
    const cv::Mat img = load_bgr(face(name));
    auto boxes = hog->detect(img);
    ASSERT_TRUE(boxes.ok() && !boxes->empty()) << name;
    auto a = (*fr)->locate(img, boxes->front());
    auto b = (*d68)->locate(img, boxes->front());
    ASSERT_TRUE(a.ok() && b.ok()) << name;
    ASSERT_EQ(a->points.size(), 68u);
    const float iod = b->inter_eye_distance();
    double err = 0;
    for (std::size_t i = 0; i < 68; ++i) err += cv::norm(a->points[i] - b->points[i]);
    EXPECT_LT(err / 68 / iod, 0.10) << name;
    const Landmarks five = five_from_68(*a);
    ASSERT_EQ(five.points.size(), 5u);
    EXPECT_LT(cv::norm(five.left_eye() - b->left_eye()) / iod, 0.1) << name;
  }
}

}  // namespace
}  // namespace simkyc

namespace simkyc {
namespace {

// fr_hog (the default's first detector): fr_detect finds the face, HOG on its crop gives the box
// the dlib landmarkers were made for, close to HOG's own box on the whole photo.
TEST(FrDetect, FrHogGivesHogBoxesWhereHogFindsTheFace) {
  auto frh = detector("fr_hog");
  auto hog = detector("hog");
  ASSERT_TRUE(frh && hog);
  EXPECT_EQ(frh->name(), "fr_hog");
  EXPECT_EQ(std::string(kDefaultDetector), "fr_hog+mmod");
  for (const char* name : {"jolie-1.jpg", "jolie-2.jpg", "other-8.jpg", "chorong-1.jpg"}) {
    const cv::Mat img = load_bgr(face(name));
    auto f = frh->detect(img);
    auto h = hog->detect(img);
    ASSERT_TRUE(f.ok() && h.ok() && !f->empty() && !h->empty()) << name;
    EXPECT_EQ(f->front().source, "fr_detect/hog") << name;
    const cv::Rect2f a = f->front().rect, b = h->front().rect;
    // HOG on the crop runs at another scale than on the photo: its box can be one pyramid step
    // (x1.2) off (chorong-1: IoU 0.63).
    EXPECT_GT((a & b).area() / (a | b).area(), 0.55f) << name << " " << a << " vs HOG " << b;
  }
}

}  // namespace
}  // namespace simkyc
