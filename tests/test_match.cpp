// Similarity, calibration tables, pair lists and accuracy metrics.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "match/evaluation.h"
#include "match/match.h"
#include "policy/decision.h"
#include "test_helpers.h"

using namespace simkyc;
namespace fs = std::filesystem;

TEST(Similarity, CosineOfUnitVectors) {
  EXPECT_FLOAT_EQ(similarity({1, 0}, {1, 0}), 1.f);
  EXPECT_FLOAT_EQ(similarity({1, 0}, {0, 1}), 0.f);
  EXPECT_FLOAT_EQ(similarity({1, 0}, {-1, 0}), -1.f);
  EXPECT_FLOAT_EQ(similarity({1, 0}, {1, 0, 0}), -1.f);   // size mismatch never matches
  EXPECT_FLOAT_EQ(similarity({0, 0}, {1, 0}), -1.f);
}

TEST(Calibration, ExactAndInterpolatedThresholdsAndOutOfRange) {
  CalibrationTable t;
  t.model = "m";
  t.points = {{1e-2, 0.90f, 1000000, 0.9}, {1e-3, 0.94f, 1000000, 0.8}, {1e-4, 0.96f, 1000000, 0.6}};
  EXPECT_FLOAT_EQ(*t.threshold_for(1e-3), 0.94f);
  const float mid = *t.threshold_for(std::sqrt(1e-3 * 1e-4));   // halfway in log space
  EXPECT_NEAR(mid, 0.95f, 1e-4);
  auto out = t.threshold_for(1e-6);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().reason, Reason::kCalibrationMissing);
  auto round = calibration_from_json(to_json(t));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->points.size(), 3u);
  EXPECT_FALSE(calibration_from_json(nlohmann::json{{"model", "m"}, {"points", nlohmann::json::array()}}).ok());
  EXPECT_FALSE(calibration_from_json(nlohmann::json{{"points", 3}}).ok());
}

TEST(Calibration, ShippedTableCoversTheOperatorRates) {
  auto t = load_calibration(default_calibration_path(test::model_dir(), "dlib_resnet_v1"));
  ASSERT_TRUE(t.ok()) << t.error().describe();
  float prev = -1;
  for (double fmr : {1e-2, 1e-3, 1e-4, 1e-5}) {
    auto th = t->threshold_for(fmr);
    ASSERT_TRUE(th.ok()) << fmr;
    EXPECT_GT(*th, prev);   // a lower FMR needs a higher threshold
    prev = *th;
  }
  EXPECT_FALSE(t->data.empty());
}

TEST(Metrics, PerfectSeparationAndKnownOverlap) {
  const auto perfect = compute_metrics({0.9f, 0.8f, 0.95f}, {0.1f, 0.2f, 0.3f, 0.4f});
  EXPECT_NEAR(perfect.eer, 0.0, 1e-9);
  EXPECT_NEAR(perfect.best_accuracy, 1.0, 1e-9);
  // 10 genuine 0.1..1.0, 10 impostor 0.05..0.95: heavy overlap.
  std::vector<float> g, i;
  for (int k = 1; k <= 10; ++k) {
    g.push_back(k / 10.f);
    i.push_back(k / 10.f - 0.05f);
  }
  const auto m = compute_metrics(g, i, {0.1});
  EXPECT_GT(m.eer, 0.3);
  EXPECT_LT(m.eer, 0.6);
  ASSERT_EQ(m.tar_at_far.size(), 1u);
  EXPECT_TRUE(m.tar_at_far[0].supported);
  // FAR 0.1 of 10 impostors lets one through: the threshold sits just above the second highest
  // impostor (0.85), so genuine 0.9 and 1.0 pass.
  EXPECT_NEAR(m.tar_at_far[0].tar, 0.2, 1e-9);
}

TEST(Metrics, TooFewImpostorsIsMarkedUnsupported) {
  const auto m = compute_metrics({0.9f}, {0.1f, 0.2f}, {1e-3});
  EXPECT_FALSE(m.tar_at_far[0].supported);
  EXPECT_EQ(m.tar_at_far[0].impostor_pairs, 2);
  const auto t = make_calibration("m", {0.9f}, {0.1f, 0.2f}, {1e-3});
  EXPECT_TRUE(t.points.empty());
}

TEST(PairList, ReadsBothFormatsAndReportsBadLines) {
  const fs::path dir = fs::temp_directory_path() / "simkyc-pairs";
  fs::create_directories(dir);
  for (const char* f : {"a.jpg", "b.jpg", "c.jpg"}) std::ofstream(dir / f) << "x";
  std::ofstream(dir / "list.txt") << "# comment\na.jpg b.jpg 1\na.jpg c.jpg 0\n";
  std::ofstream(dir / "list.csv") << "file_x,file_y,Decision\nsub/a.jpg,b.jpg,Yes\nb.jpg,c.jpg,No\n";
  std::ofstream(dir / "bad.txt") << "a.jpg b.jpg 1\na.jpg b.jpg maybe\n";
  std::ofstream(dir / "missing.txt") << "a.jpg nope.jpg 1\n";
  auto txt = read_pair_list(dir / "list.txt");
  ASSERT_TRUE(txt.ok()) << txt.error().describe();
  EXPECT_EQ(txt->images.size(), 3u);
  ASSERT_EQ(txt->pairs.size(), 2u);
  EXPECT_TRUE(txt->pairs[0].same);
  EXPECT_FALSE(txt->pairs[1].same);
  auto csv = read_pair_list(dir / "list.csv");   // sub/a.jpg falls back to a.jpg by file name
  ASSERT_TRUE(csv.ok()) << csv.error().describe();
  EXPECT_EQ(csv->pairs.size(), 2u);
  auto bad = read_pair_list(dir / "bad.txt");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find(":2:"), std::string::npos);
  EXPECT_FALSE(read_pair_list(dir / "missing.txt").ok());
  EXPECT_EQ(read_pair_list(dir / "nope.txt").error().reason, Reason::kIoError);
  fs::remove_all(dir);
}

TEST(PairList, FoldersGiveAllGenuineAndImpostorPairs) {
  const fs::path dir = fs::temp_directory_path() / "simkyc-folders";
  fs::create_directories(dir / "p1");
  fs::create_directories(dir / "p2");
  for (const char* f : {"p1/1.jpg", "p1/2.jpg", "p1/3.jpg", "p2/1.png", "p2/2.png", "loose.jpg"})
    std::ofstream(dir / f) << "x";
  auto l = pairs_from_folders(dir);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->images.size(), 5u);   // loose.jpg is not a person
  int same = 0, diff = 0;
  for (const auto& p : l->pairs) (p.same ? same : diff)++;
  EXPECT_EQ(same, 3 + 1);
  EXPECT_EQ(diff, 3 * 2);
  fs::remove_all(dir);
}

TEST(Policy, DecisionsAndReasons) {
  PolicyConfig cfg;
  MatchInput in{{}, {}, 0.97f, 0.96f, 0.94f};
  auto r = decide(in, cfg);
  EXPECT_EQ(r.decision, Decision::kPass);
  EXPECT_TRUE(r.reasons.empty());
  in.score = 0.95f;
  r = decide(in, cfg);
  EXPECT_EQ(r.decision, Decision::kReview);
  EXPECT_EQ(r.reasons, std::vector<Reason>{Reason::kMatchBorderline});
  in.score = 0.5f;
  r = decide(in, cfg);
  EXPECT_EQ(r.decision, Decision::kFail);
  EXPECT_EQ(r.reasons, std::vector<Reason>{Reason::kMatchBelowThreshold});
  // A blurred live face never passes: it goes to a clerk.
  in = MatchInput{{}, {Reason::kFaceBlurred}, 0.99f, 0.96f, 0.94f};
  r = decide(in, cfg);
  EXPECT_EQ(r.decision, Decision::kReview);
  EXPECT_EQ(r.reasons, (std::vector<Reason>{Reason::kFaceBlurred, Reason::kQualityReview}));
  cfg.quality_to_review = false;
  EXPECT_EQ(decide(in, cfg).decision, Decision::kFail);
  EXPECT_EQ(to_string(Decision::kReview), "REVIEW");
}
