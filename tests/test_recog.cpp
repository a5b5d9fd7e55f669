// Recognition models of issue 11: ArcFace alignment (src/face/align.cpp) and the 112x112
// ArcFace-chip embedders (fr_feature_v1), on real photos.
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/model_manifest.h"
#include "face/embedder.h"
#include "face/landmarks.h"
#include "core/file.h"
#include "match/match.h"
#include "policy/verifier.h"
#include "registry/service.h"
#include "registry/store.h"
#include "registry_helpers.h"
#include "test_helpers.h"

namespace simkyc {
namespace {

cv::Point2f apply(const cv::Matx23d& m, const cv::Point2f& p) {
  return {static_cast<float>(m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2)),
          static_cast<float>(m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2))};
}

// One analyzer that also gives the ArcFace points (68-point landmarks), default embedder.
FaceAnalyzer& arcface_analyzer() {
  static FaceAnalyzer a = [] {
    AnalyzerConfig cfg;
    cfg.arcface_points = true;
    auto r = FaceAnalyzer::load(test::model_dir(), cfg);
    if (!r) throw std::runtime_error(r.error().describe());
    return std::move(r.value());
  }();
  return a;
}

TEST(Align, SimilarityTransformRecoversAKnownOne) {
  // The template turned by 20 degrees, scaled by 2.5 and moved: the fit must undo it exactly.
  const double a = 2.5 * std::cos(0.349), b = 2.5 * std::sin(0.349);
  const cv::Matx23d known(a, -b, 40, b, a, -7);
  std::vector<cv::Point2f> moved;
  for (const auto& p : arcface_template()) moved.push_back(apply(known, p));
  const cv::Matx23d m = similarity_transform(moved, arcface_template());
  for (std::size_t i = 0; i < moved.size(); ++i) EXPECT_LT(cv::norm(apply(m, moved[i]) - arcface_template()[i]), 1e-3);
  // Least squares, not an exact fit of the first points: one point moved by 5 px moves the
  // others less than it.
  moved[4] += cv::Point2f(5.f * static_cast<float>(a), 0.f);
  const cv::Matx23d m2 = similarity_transform(moved, arcface_template());
  const double r4 = cv::norm(apply(m2, moved[4]) - arcface_template()[4]);
  EXPECT_GT(r4, 2.0);
  EXPECT_LT(r4, 5.0);
  EXPECT_LT(cv::norm(apply(m2, moved[0]) - arcface_template()[0]), 2.0);
  // Degenerate input: identity.
  const cv::Matx23d id = similarity_transform({{1, 1}, {1, 1}}, {{0, 0}, {5, 5}});
  EXPECT_EQ(id(0, 0), 1.0);
  EXPECT_EQ(id(0, 2), 0.0);
}

TEST(Align, ArcfacePointsLandOnTheTemplateOnRealPhotos) {
  // Near-frontal photos: the eyes within 4 px, nose and mouth within 8 px of the template.
  // arin-2 has the head turned (a similarity cannot undo a turn): 12 px.
  const std::map<std::string, std::pair<double, double>> bound = {
      {"arin-1.jpg", {4, 8}}, {"arin-2.jpg", {12, 12}}, {"chorong-1.jpg", {4, 8}},
      {"jolie-1.jpg", {4, 8}}, {"other-8.jpg", {4, 8}}, {"orl-s1-1.pgm", {4, 8}}};
  for (const auto& [f, b] : bound) {
    SCOPED_TRACE(f);
    const cv::Mat img = test::load_bgr(test::face(f));
    auto fa = arcface_analyzer().analyze(img, /*embed=*/false);
    ASSERT_TRUE(fa.ok()) << fa.error().describe();
    const auto& five = fa->landmarks.arcface;
    ASSERT_EQ(five.size(), 5u);
    // The 68-point eye centres agree with the 5-point model's (mid eye corners): the same eyes,
    // in the same image-left / image-right order.
    const double ied = fa->landmarks.inter_eye_distance();
    EXPECT_LT(cv::norm(five[0] - fa->landmarks.left_eye()), 0.12 * ied);
    EXPECT_LT(cv::norm(five[1] - fa->landmarks.right_eye()), 0.12 * ied);
    EXPECT_LT(five[3].x, five[4].x);        // mouth corners, image-left first
    EXPECT_GT(five[3].y, five[2].y);        // below the nose tip
    // Mapped by the fitted similarity, the eye centres land within a few pixels of the template.
    const cv::Matx23d m = similarity_transform(five, arcface_template());
    for (int i = 0; i < 2; ++i)
      EXPECT_LT(cv::norm(apply(m, five[static_cast<std::size_t>(i)]) - arcface_template()[static_cast<std::size_t>(i)]), b.first);
    for (int i = 2; i < 5; ++i)
      EXPECT_LT(cv::norm(apply(m, five[static_cast<std::size_t>(i)]) - arcface_template()[static_cast<std::size_t>(i)]), b.second);
    // The chip is that warp of the image: the pixel at the template's nose tip is the image's
    // pixel at the nose tip (bilinear, so compare with a tolerance).
    const FaceChip chip = align_arcface(img, five, 112);
    ASSERT_EQ(chip.bgr.size(), cv::Size(112, 112));
    ASSERT_EQ(chip.bgr.type(), CV_8UC3);
    cv::Matx23d inv;
    cv::invertAffineTransform(m, inv);
    const cv::Point2f src = apply(inv, arcface_template()[2]);
    const cv::Vec3b at_chip = chip.bgr.at<cv::Vec3b>(72, 56);
    const cv::Vec3b at_img = img.at<cv::Vec3b>(static_cast<int>(std::lround(src.y)), static_cast<int>(std::lround(src.x)));
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(at_chip[c], at_img[c], 40);
  }
}

TEST(Align, ArcfaceChipNeedsFivePoints) {
  const cv::Mat img = test::load_bgr(test::face("arin-1.jpg"));
  EXPECT_TRUE(align_arcface(img, {{1, 1}, {2, 2}}, 112).bgr.empty());
  auto emb = make_embedder(test::model_dir(), "fr_feature_v1");
  ASSERT_TRUE(emb.ok()) << emb.error().describe();
  EXPECT_TRUE((*emb)->info().needs_arcface_points);
  auto fa = test::analyzer().analyze(img, /*embed=*/false);   // 5-point only
  ASSERT_TRUE(fa.ok());
  EXPECT_TRUE(fa->landmarks.arcface.empty());
  auto d = (*emb)->embed_face(img, fa->box, fa->landmarks);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().describe().find("ArcFace points"), std::string::npos);
}

// fr_feature_v1 through the whole analysis (the analyzer runs the 68-point model for it): 512
// unit-length dims, and every same-person pair above every different-person pair.
TEST(Recog, FrFeatureSeparatesPeopleOnRealPhotos) {
  AnalyzerConfig cfg;
  cfg.embedder_id = "fr_feature_v1";
  auto a = FaceAnalyzer::load(test::model_dir(), cfg);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(a->embedder_info().dims, 512);
  EXPECT_EQ(a->embedder_info().chip, "arcface");
  std::map<std::string, Descriptor> d;
  for (const char* f : {"arin-1.jpg", "arin-2.jpg", "chorong-1.jpg", "jolie-1.jpg", "jolie-2.jpg", "other-13.jpg",
                        "other-8.jpg"}) {
    auto fa = a->analyze(test::load_bgr(test::face(f)));
    ASSERT_TRUE(fa.ok()) << f << ": " << fa.error().describe();
    ASSERT_EQ(fa->descriptor.size(), 512u);
    double n = 0;
    for (float x : fa->descriptor) n += static_cast<double>(x) * x;
    EXPECT_NEAR(n, 1.0, 1e-4);
    EXPECT_GT(fa->timings_ms.count("landmarks68"), 0u);
    d[f] = fa->descriptor;
  }
  const float arin = similarity(d["arin-1.jpg"], d["arin-2.jpg"]);
  const float jolie = similarity(d["jolie-1.jpg"], d["jolie-2.jpg"]);
  float worst_impostor = -1.f;
  for (const char* x : {"arin-1.jpg", "arin-2.jpg"})
    for (const char* y : {"chorong-1.jpg", "jolie-1.jpg", "other-13.jpg"}) worst_impostor = std::max(worst_impostor, similarity(d[x], d[y]));
  for (const char* x : {"jolie-1.jpg", "jolie-2.jpg"})
    for (const char* y : {"other-13.jpg", "other-8.jpg", "chorong-1.jpg"}) worst_impostor = std::max(worst_impostor, similarity(d[x], d[y]));
  EXPECT_GT(std::min(arin, jolie), worst_impostor + 0.1f) << "arin " << arin << " jolie " << jolie << " impostor " << worst_impostor;
}

// Item 7 of issue 11: a stored portrait template records its model; a service deciding with another
// model (the default changed, or another instance) refuses it with DOCUMENT_REQUIRED and a reason
// naming both models, and decides normally once the document is submitted again.  The same network
// on another runtime (dlib_resnet_xnn_v1 for dlib_resnet_v1) gives the same scores: accepted.
TEST(Recog, TemplateOfAnotherModelIsRefusedNotCompared) {
  test::TempDir dir("recog");
  auto store = open_sqlite_store(dir.file("s.db"));
  ASSERT_TRUE(store.ok());
  auto vault = Vault::from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  ASSERT_TRUE(vault.ok());
  ServiceConfig cfg;
  cfg.channel_fmr = {{"counter", 1e-3}, {"online", 1e-3}};
  cfg.liveness.channels = {{"counter", {false, false}}, {"online", {false, false}}};
  auto service = [&](const std::string& embedder) {
    AnalyzerConfig ac;
    ac.embedder_id = embedder;
    auto a = FaceAnalyzer::load(test::model_dir(), ac);
    EXPECT_TRUE(a.ok()) << a.error().describe();
    auto cal = load_calibration(default_calibration_path(test::model_dir(), scores_model(embedder)));
    EXPECT_TRUE(cal.ok()) << embedder;
    auto s = Service::create(**store, *vault, *a, *cal, cfg);
    EXPECT_TRUE(s.ok()) << s.error().describe();
    return std::move(s.value());
  };
  auto dlib = service("dlib_resnet_v1");
  auto same_network = service("dlib_resnet_xnn_v1");
  auto old_default = service("fusion_z_v1");        // the default before issue 11
  auto new_default = service(kDecisionEmbedder);
  auto key = dlib->create_key(std::nullopt, "op", Role::kClerk);
  ASSERT_TRUE(key.ok());
  auto caller = dlib->authenticate(*key);
  ASSERT_TRUE(caller.ok());
  const auto portrait = read_file_limited(test::face("jolie-1.jpg"), 10u << 20);
  const auto live = read_file_limited(test::face("jolie-2.jpg"), 10u << 20);
  ASSERT_TRUE(portrait.ok() && live.ok());
  auto session_with_document = [&](Service& svc) {
    auto s = svc.start_session(*caller, "counter", "d1");
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(svc.record_consent(*caller, s->id, cfg.consent_version).ok());
    auto d = svc.submit_document(*caller, s->id, DocumentInput{"11010519491231002X", "", *portrait});
    EXPECT_TRUE(d.ok()) << d.error().describe();
    return s->id;
  };
  // Same network, other runtime: decided.
  auto r = same_network->submit_live(*caller, session_with_document(*dlib), *live);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->decision, "PASS");
  // The default changed between document and live photo: refused, with both models named.
  const std::string sid = session_with_document(*old_default);
  r = new_default->submit_live(*caller, sid, *live);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kDocumentRequired);
  EXPECT_NE(r.error().detail.find("fusion_z_v1"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find(kDecisionEmbedder), std::string::npos) << r.error().detail;
  // The session stays open: the document again (re-embedded by the new model), then decided.
  auto d = new_default->submit_document(*caller, sid, DocumentInput{"11010519491231002X", "", *portrait});
  ASSERT_TRUE(d.ok()) << d.error().describe();
  r = new_default->submit_live(*caller, sid, *live);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->decision, "PASS");
  // A template from before templates recorded their model (a bare descriptor): refused too.
  const std::string legacy = session_with_document(*dlib);
  auto rec = (*store)->get_session(caller->operator_id, legacy);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  SessionRecord sr = **rec;
  sr.template_sealed = vault->seal(nlohmann::json(Descriptor(128, 0.088f)).dump(), "portrait:" + legacy);
  ASSERT_TRUE((*store)->save_document(sr).ok());
  r = dlib->submit_live(*caller, legacy, *live);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kDocumentRequired);
  EXPECT_NE(r.error().detail.find("records no model"), std::string::npos) << r.error().detail;
}

}  // namespace
}  // namespace simkyc
