// Fusion models (issue 7): fitting (src/match/fusion_fit.h), the model file
// (src/face/fusion_model.h) and the shipped fusion_v1 embedder.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "core/model_manifest.h"
#include "face/embedder.h"
#include "face/fusion_model.h"
#include "match/fusion_fit.h"
#include "match/match.h"
#include "test_helpers.h"

namespace simkyc {
namespace {

Descriptor unit(Descriptor d) {
  double n = 0;
  for (float x : d) n += static_cast<double>(x) * x;
  for (float& x : d) x = static_cast<float>(x / std::sqrt(n));
  return d;
}

// 30 people, 6 samples each, 24 dims: identity lives in dims 0-3 (small spread), dims 4-23 hold
// large within-person noise.  Raw cosine barely separates people; a fitted LDA must.
struct Synthetic {
  std::vector<Descriptor> x;
  std::vector<int> person;
};
Synthetic synthetic(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01(0.f, 1.f);
  Synthetic s;
  for (int p = 0; p < 30; ++p) {
    Descriptor centre(24, 0.f);
    for (int k = 0; k < 4; ++k) centre[static_cast<std::size_t>(k)] = n01(rng);
    for (int i = 0; i < 6; ++i) {
      Descriptor d = centre;
      for (int k = 0; k < 4; ++k) d[static_cast<std::size_t>(k)] += 0.1f * n01(rng);
      for (int k = 4; k < 24; ++k) d[static_cast<std::size_t>(k)] = 1.5f * n01(rng);
      s.x.push_back(unit(d));
      s.person.push_back(p);
    }
  }
  return s;
}

// The share of
// impostor pairs scoring above the median genuine score.
double impostors_above_median_genuine(const std::vector<Descriptor>& x, const std::vector<int>& person) {
  std::vector<float> g, im;
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t j = i + 1; j < x.size(); ++j) (person[i] == person[j] ? g : im).push_back(similarity(x[i], x[j]));
  std::nth_element(g.begin(), g.begin() + static_cast<long>(g.size() / 2), g.end());
  const float med = g[g.size() / 2];
  return static_cast<double>(std::count_if(im.begin(), im.end(), [&](float v) { return v >= med; })) /
         static_cast<double>(im.size());
}

TEST(FusionFit, LdaLearnsTheIdentitySubspaceOnHeldOutPeople) {
  const Synthetic train = synthetic(1), test = synthetic(2);   // different people
  auto lda = fit_projection(train.x, train.person, ProjectionConfig{"lda", 24, 8, 0.01});
  ASSERT_TRUE(lda.ok()) << lda.error().describe();
  EXPECT_EQ(lda->in_dims, 24);
  EXPECT_EQ(lda->out_dims, 8);
  std::vector<Descriptor> projected;
  for (const auto& d : test.x) projected.push_back(project(*lda, d));
  const double raw = impostors_above_median_genuine(test.x, test.person);
  const double fitted = impostors_above_median_genuine(projected, test.person);
  EXPECT_GT(raw, 0.05);      // the noise dims hide identity from plain cosine
  EXPECT_LT(fitted, 0.01);   // the projection recovers it, on people it never saw
}

TEST(FusionFit, RejectsBadInput) {
  EXPECT_FALSE(fit_projection({}, {}, ProjectionConfig{}).ok());
  EXPECT_FALSE(fit_projection({{1.f, 0.f}, {0.f, 1.f}}, {1, 1}, ProjectionConfig{}).ok());   // one person
  EXPECT_FALSE(fit_projection({{1.f, 0.f}, {0.f, 1.f}}, {1, 2}, ProjectionConfig{"plda"}).ok());
}

TEST(FusionFit, AsNormIsZeroForAScoreAtBothCohortMeans) {
  const CohortStats a{0.2f, 0.1f}, b{0.4f, 0.2f};
  EXPECT_FLOAT_EQ(as_norm(0.3f, a, b), 0.5f * (1.f - 0.5f));
  const std::vector<Descriptor> cohort = {{1.f, 0.f}, {0.f, 1.f}, {-1.f, 0.f}};
  const CohortStats s = cohort_stats({1.f, 0.f}, cohort, 2);   // top 2 scores: 1 and 0
  EXPECT_FLOAT_EQ(s.mean, 0.5f);
  EXPECT_NEAR(s.sd, 0.5f, 1e-6);
}

FusionModel small_model() {
  FusionModel m;
  m.id = "fusion_test";
  m.parts = {{"dlib_resnet_v1", -1, true, 1.5f}, {"faceres_v1", 0.6, true, 0.75f}};
  m.part_dims = {2, 3};
  m.projection.in_dims = 5;
  m.projection.out_dims = 2;
  m.projection.mean = {0.1f, -0.2f, 0.3f, 1e-7f, -3.25f};
  m.projection.matrix = {1.f, 0.f, 0.f, 1.f, 0.5f, 0.5f, -1.f / 3.f, 2.f, 0.f, 0.f};
  return m;
}

TEST(FusionModel, JsonRoundTripIsBitExact) {
  const FusionModel m = small_model();
  auto back = fusion_model_from_json(nlohmann::json::parse(to_json(m).dump()));
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->projection.matrix, m.projection.matrix);
  EXPECT_EQ(back->projection.mean, m.projection.mean);
  EXPECT_EQ(back->parts[1].box_margin, 0.6);
  EXPECT_TRUE(back->parts[1].flip);
  const std::vector<Descriptor> in = {unit({1.f, 2.f}), unit({0.f, 1.f, -1.f})};
  auto a = m.combine(in), b = back->combine(in);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NEAR(similarity(*a, *a), 1.0, 1e-6);
  EXPECT_FALSE(m.combine({unit({1.f, 2.f})}).ok());   // a part missing
}

TEST(FusionModel, NoProjectionIsZScoreFusionOfTheParts) {
  // cos of [w1 a1, w2 a2] and [w1 b1, w2 b2] = (w1^2 s1 + w2^2 s2) / (w1^2 + w2^2).
  FusionModel m;
  m.id = "fusion_z";
  m.parts = {{"a", -1, false, 2.f}, {"b", -1, false, 1.f}};
  m.part_dims = {2, 2};
  const Descriptor a1 = unit({1.f, 0.f}), b1 = unit({1.f, 1.f}), a2 = unit({0.f, 1.f}), b2 = unit({1.f, -2.f});
  auto x = m.combine({a1, a2}), y = m.combine({b1, b2});
  ASSERT_TRUE(x.ok() && y.ok());
  const double s1 = similarity(a1, b1), s2 = similarity(a2, b2);
  EXPECT_NEAR(similarity(*x, *y), (4 * s1 + s2) / 5, 1e-6);
}

TEST(FusionModel, ChecksumAndCorruptionAreRejected) {
  const auto file = std::filesystem::temp_directory_path() / ("fusion-test-" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream f(file);
    f << to_json(small_model()).dump();
  }
  EXPECT_TRUE(load_fusion_model(file).ok());
  auto wrong = load_fusion_model(file, std::string(64, '0'));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().reason, Reason::kModelError);
  auto j = to_json(small_model());
  j["projection"]["matrix"] = j["projection"]["matrix"].get<std::string>().substr(4);   // 1 float short... and misaligned
  EXPECT_FALSE(fusion_model_from_json(j).ok());
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace simkyc

namespace simkyc {
namespace {

// The shipped fusion models: listed in the manifest with the file's SHA-256, loadable, with their
// own calibration table, and ranking real pairs from tests/data/faces the right way round.
class ShippedFusion : public ::testing::TestWithParam<const char*> {};

TEST_P(ShippedFusion, LoadsVerifiesAndSeparatesRealPairs) {
  const std::string id = GetParam();
  auto file = find_model(test::model_dir(), id);
  ASSERT_TRUE(file.ok()) << file.error().describe();
  EXPECT_EQ(file->sha256.size(), 64u);
  auto model = load_fusion_model(file->path, file->sha256);   // checksum verified
  ASSERT_TRUE(model.ok()) << model.error().describe();
  EXPECT_EQ(model->id, id);
  EXPECT_FALSE(load_fusion_model(file->path, std::string(64, 'f')).ok());

  auto table = load_calibration(default_calibration_path(test::model_dir(), id));
  ASSERT_TRUE(table.ok()) << table.error().describe();
  EXPECT_EQ(table->model, id);
  auto t3 = table->threshold_for(1e-3);
  ASSERT_TRUE(t3.ok());

  AnalyzerConfig cfg;
  cfg.embedder_id = id;
  // The issue-7 fusions' tables were made on hog+mmod faces (docs/accuracy.md); their pairs are
  // checked on the faces their tables were made on (jolie sits 1e-4 below t3 on fr_hog+mmod's).
  if (std::string(id) != "fusion_fr_mfn_v1") cfg.detector_id = "hog+mmod";
  auto an = FaceAnalyzer::load(test::model_dir(), cfg);
  ASSERT_TRUE(an.ok()) << an.error().describe();
  EXPECT_EQ(an->embedder_info().name, id);
  EXPECT_EQ(an->embedder_info().dims, model->dims());
  std::map<std::string, Descriptor> d;
  for (const char* f : {"arin-1.jpg", "arin-2.jpg", "chorong-1.jpg", "jolie-1.jpg", "jolie-2.jpg"}) {
    auto fa = an->analyze(test::load_bgr(test::face(f)));
    ASSERT_TRUE(fa.ok()) << f << ": " << fa.error().describe();
    ASSERT_EQ(static_cast<int>(fa->descriptor.size()), model->dims());
    d[f] = fa->descriptor;
  }
  const float arin = similarity(d["arin-1.jpg"], d["arin-2.jpg"]);
  const float jolie = similarity(d["jolie-1.jpg"], d["jolie-2.jpg"]);
  const float arin_chorong = similarity(d["arin-1.jpg"], d["chorong-1.jpg"]);   // same group, different people
  const float jolie_arin = similarity(d["jolie-1.jpg"], d["arin-1.jpg"]);
  EXPECT_GT(arin, arin_chorong);
  EXPECT_GT(jolie, jolie_arin);
  EXPECT_LT(arin_chorong, *t3) << "an East Asian impostor pair must not match at FMR 1e-3";
  EXPECT_LT(jolie_arin, *t3);
  EXPECT_GE(jolie, *t3);
}

INSTANTIATE_TEST_SUITE_P(Fusion, ShippedFusion, ::testing::Values("fusion_v1", "fusion_z_v1", "fusion_fr_mfn_v1"));

}  // namespace
}  // namespace simkyc
