// Liveness: the challenge's sequence logic on landmark measurements, blink and turn measures on
// real photos, the engine on real frames, the passive model and its error rates, the policy.
#include <chrono>
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/file.h"
#include "liveness/challenge.h"
#include "liveness/engine.h"
#include "liveness/pad.h"
#include "liveness/passive_lbp.h"
#include "match/match.h"
#include "policy/liveness_policy.h"
#include "registry/service.h"
#include "registry_helpers.h"
#include "test_helpers.h"

namespace simkyc {
namespace {

using test::data;

// ---- synthetic sequences ------------------------------------------------------------------

constexpr float kOpen = 0.30f, kClosed = 0.12f;

FrameMeasure frame(std::int64_t ts, float ear = kOpen, float yaw = 0.f, float pitch = 0.f) {
  FrameMeasure m;
  m.ts_ms = ts;
  m.face = true;
  m.faces = 1;
  m.ear = ear;
  m.pose.yaw = yaw;
  m.pose.pitch = pitch;
  return m;
}

// A customer facing the camera, then doing `moves` in turn ('b' blink, 'l' turn left, 'r' turn
// right, 'n' nod), each surrounded by frontal frames; 100 ms per frame.
std::vector<FrameMeasure> sequence(const std::string& moves, std::int64_t step = 100) {
  std::vector<FrameMeasure> f;
  std::int64_t t = 1000;
  auto push = [&](float ear, float yaw, float pitch) { f.push_back(frame(t += step, ear, yaw, pitch)); };
  for (int i = 0; i < 4; ++i) push(kOpen + 0.01f * static_cast<float>(i % 2), 1.f, 0.f);
  for (char m : moves) {
    switch (m) {
      case 'b': push(0.2f, 0, 0); push(kClosed, 0, 0); push(kClosed, 0, 0); push(0.22f, 0, 0); break;
      case 'l': for (float y : {10.f, 22.f, 28.f, 20.f}) push(kOpen, y, 0); break;
      case 'r': for (float y : {-10.f, -22.f, -28.f, -20.f}) push(kOpen, y, 0); break;
      case 'n': for (float p : {8.f, 16.f, 18.f, 9.f}) push(kOpen, 0, p); break;
      default: break;
    }
    for (int i = 0; i < 4; ++i) push(kOpen, 0.f, 0.f);
  }
  return f;
}

ChallengeSpec spec(std::vector<Action> actions) {
  ChallengeSpec s;
  s.actions = std::move(actions);
  s.nonce = "n";
  return s;
}

bool has(const std::vector<Reason>& rs, Reason r) { return std::find(rs.begin(), rs.end(), r) != rs.end(); }

TEST(LivenessChallenge, PassesWhenActionsHappenInOrder) {
  const auto f = sequence("blr");
  const auto r = evaluate_challenge(f, spec({Action::kBlink, Action::kTurnLeft, Action::kTurnRight}), ChallengeConfig{});
  EXPECT_TRUE(r.passed);
  EXPECT_TRUE(r.reasons.empty());
  ASSERT_EQ(r.action_frames.size(), 3u);
  EXPECT_LT(r.action_frames[0], r.action_frames[1]);
  EXPECT_LT(r.action_frames[1], r.action_frames[2]);
  // Natural extra blinks do not matter.
  EXPECT_TRUE(evaluate_challenge(sequence("blbrb"), spec({Action::kTurnLeft, Action::kTurnRight}), ChallengeConfig{}).passed);
}

TEST(LivenessChallenge, EachFailureHasItsReason) {
  const ChallengeConfig cfg;
  auto r = evaluate_challenge(sequence("lb"), spec({Action::kBlink, Action::kTurnLeft}), cfg);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.reasons, std::vector<Reason>{Reason::kLivenessWrongOrder});
  r = evaluate_challenge(sequence("l"), spec({Action::kTurnLeft, Action::kBlink}), cfg);
  EXPECT_EQ(r.reasons, std::vector<Reason>{Reason::kLivenessBlinkMissing});
  r = evaluate_challenge(sequence("r"), spec({Action::kTurnLeft}), cfg);
  EXPECT_EQ(r.reasons, std::vector<Reason>{Reason::kLivenessTurnLeftMissing});
  r = evaluate_challenge(sequence("l"), spec({Action::kTurnRight}), cfg);
  EXPECT_EQ(r.reasons, std::vector<Reason>{Reason::kLivenessTurnRightMissing});
  r = evaluate_challenge(sequence("b"), spec({Action::kNod}), cfg);
  EXPECT_EQ(r.reasons, std::vector<Reason>{Reason::kLivenessNodMissing});
  EXPECT_TRUE(evaluate_challenge(sequence("n"), spec({Action::kNod}), cfg).passed);
  // A turn held from the first frame never started from facing the camera.
  std::vector<FrameMeasure> held;
  for (int i = 0; i < 10; ++i) held.push_back(frame(100 * i, kOpen, i < 5 ? 30.f : 29.f));
  for (int i = 10; i < 20; ++i) held.push_back(frame(100 * i, kOpen, 0.f));
  EXPECT_FALSE(evaluate_challenge(held, spec({Action::kTurnLeft}), cfg).passed);
  // A mirrored client: the same frames are the other direction.
  ChallengeConfig mirrored;
  mirrored.mirrored = true;
  EXPECT_TRUE(evaluate_challenge(sequence("r"), spec({Action::kTurnLeft}), mirrored).passed);
}

TEST(LivenessChallenge, BlinkNeedsEyesOpenAgain) {
  auto f = sequence("");
  for (int i = 0; i < 3; ++i) f.push_back(frame(f.back().ts_ms + 100, kClosed));
  EXPECT_EQ(evaluate_challenge(f, spec({Action::kBlink}), ChallengeConfig{}).reasons,
            std::vector<Reason>{Reason::kLivenessBlinkMissing});
  f.push_back(frame(f.back().ts_ms + 100, kOpen));
  EXPECT_TRUE(evaluate_challenge(f, spec({Action::kBlink}), ChallengeConfig{}).passed);
}

TEST(LivenessChallenge, TimingAndFrames) {
  const ChallengeConfig cfg;   // max 20 s, gaps <= 2 s
  auto slow = sequence("bl", 1500);
  EXPECT_TRUE(has(evaluate_challenge(slow, spec({Action::kBlink, Action::kTurnLeft}), cfg).reasons, Reason::kLivenessTooSlow));
  auto f = sequence("bl");
  for (auto& m : f) m.ts_ms += 1'700'000'000'000;   // Unix ms, as clients send them
  auto s = spec({Action::kBlink, Action::kTurnLeft});
  EXPECT_TRUE(evaluate_challenge(f, s, cfg).passed);
  s.deadline_ms = f.back().ts_ms - cfg.clock_skew_ms - 1;
  EXPECT_TRUE(has(evaluate_challenge(f, s, cfg).reasons, Reason::kLivenessTooSlow));
  s = spec({Action::kBlink, Action::kTurnLeft});
  s.issued_ms = f.front().ts_ms + cfg.clock_skew_ms + 1;   // captured before the challenge existed
  EXPECT_TRUE(has(evaluate_challenge(f, s, cfg).reasons, Reason::kLivenessFramesInvalid));
  auto back = f;
  std::swap(back[3].ts_ms, back[4].ts_ms);
  EXPECT_TRUE(has(evaluate_challenge(back, spec({Action::kBlink}), cfg).reasons, Reason::kLivenessFramesInvalid));
  auto gap = f;
  for (std::size_t i = 5; i < gap.size(); ++i) gap[i].ts_ms += 5000;
  EXPECT_TRUE(has(evaluate_challenge(gap, spec({Action::kBlink}), cfg).reasons, Reason::kLivenessFramesInvalid));
  const std::vector<FrameMeasure> few(f.begin(), f.begin() + 3);
  EXPECT_TRUE(has(evaluate_challenge(few, spec({Action::kBlink}), cfg).reasons, Reason::kLivenessFramesInvalid));
}

TEST(LivenessChallenge, SamePersonAndOneFace) {
  const ChallengeConfig cfg;
  auto f = sequence("b");
  Descriptor a(128, 0.f), b(128, 0.f);
  a[0] = 1.f;
  b[1] = 1.f;
  f.front().descriptor = a;
  f[5].descriptor = a;
  EXPECT_TRUE(evaluate_challenge(f, spec({Action::kBlink}), cfg).passed);
  f.back().descriptor = b;
  auto r = evaluate_challenge(f, spec({Action::kBlink}), cfg);
  EXPECT_EQ(r.reasons, std::vector<Reason>{Reason::kLivenessFaceChanged});
  EXPECT_LT(r.min_similarity, 0.5f);
  f = sequence("b");
  f[2].faces = 2;
  EXPECT_TRUE(has(evaluate_challenge(f, spec({Action::kBlink}), cfg).reasons, Reason::kLivenessMultipleFaces));
  f = sequence("b");
  for (std::size_t i = 0; i < f.size() / 2; ++i) f[i * 2].face = false;
  EXPECT_TRUE(has(evaluate_challenge(f, spec({Action::kBlink}), cfg).reasons, Reason::kLivenessNoFace));
}

TEST(LivenessChallenge, ActionNames) {
  for (Action a : {Action::kBlink, Action::kTurnLeft, Action::kTurnRight, Action::kNod})
    EXPECT_EQ(action_from_string(to_string(a)), a);
  EXPECT_FALSE(action_from_string("wink"));
}

TEST(LivenessFrames, DigestAndPerceptualHash) {
  const auto bytes = read_file_limited(data("liveness/orl-s8-1.pgm"), 1u << 20);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(frame_digest(*bytes).size(), 64u);
  EXPECT_EQ(frame_digest(*bytes), frame_digest(*bytes));
  const cv::Mat a = test::load_bgr(data("liveness/orl-s8-1.pgm"));
  const cv::Mat other = test::load_bgr(data("liveness/orl-s8-7.pgm"));
  std::vector<std::uint8_t> jpeg;
  cv::imencode(".jpg", a, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80});
  const cv::Mat reencoded = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  EXPECT_NE(frame_digest(jpeg), frame_digest(*bytes));                         // bytes differ ...
  EXPECT_LE(hamming(perceptual_hash(a), perceptual_hash(reencoded)), 5);       // ... the picture does not
  EXPECT_GT(hamming(perceptual_hash(a), perceptual_hash(other)), 5);
}

// ---- real photos --------------------------------------------------------------------------

struct Measured {
  float ear;
  HeadPose pose;
};

Measured measure68(const std::string& path) {
  static auto lm = make_dlib_landmarker(test::model_dir(), 68);
  EXPECT_TRUE(lm.ok());
  const cv::Mat img = test::load_bgr(path);
  auto boxes = test::analyzer().detect(img);
  EXPECT_TRUE(boxes.ok() && !boxes->empty()) << path;
  if (!boxes.ok() || boxes->empty()) return {};
  auto l = (*lm)->locate(img, boxes->front());
  EXPECT_TRUE(l.ok());
  return {eye_aspect_ratio(*l), pose_from_68(*l)};
}

TEST(LivenessRealPhotos, ClosedEyesHaveALowEyeAspectRatio) {
  // ORL s8: photo 7 has the eyes closed, 2 and 6 open (see tests/data/SOURCES.md).
  const ChallengeConfig cfg;
  const float open2 = measure68(data("liveness/orl-s8-2.pgm")).ear;
  const float open6 = measure68(data("liveness/orl-s8-6.pgm")).ear;
  const float closed = measure68(data("liveness/orl-s8-7.pgm")).ear;
  EXPECT_LT(closed, cfg.ear_closed_ratio * std::min(open2, open6)) << closed << " vs " << open2 << ", " << open6;
  EXPECT_GE(std::min(open2, open6), cfg.ear_min_baseline);
}

TEST(LivenessRealPhotos, HeadTurnsHaveTheirDirection) {
  // ORL photos of one person facing the camera and turned to their own left / right.
  const ChallengeConfig cfg;
  const float front = measure68(data("liveness/orl-turn-front.pgm")).pose.yaw;
  const float left = measure68(data("liveness/orl-turn-left.pgm")).pose.yaw;
  const float right = measure68(data("liveness/orl-turn-right.pgm")).pose.yaw;
  EXPECT_GE(left - front, cfg.turn_yaw_deg) << front << " " << left;
  EXPECT_LE(right - front, -cfg.turn_yaw_deg) << front << " " << right;
}

LivenessEngine& engine() {
  static std::unique_ptr<LivenessEngine> e = [] {
    auto r = LivenessEngine::load(test::model_dir(), LivenessConfig{});
    if (!r) throw std::runtime_error(r.error().describe());
    return std::move(r.value());
  }();
  return *e;
}

TEST(LivenessEngineTest, ChallengeOnRealPhotos) {
  // A blink and a turn built from real photos of one person (ORL s8 and the turn set are
  // different people, so one set per test): open, open, closed, open, open.
  std::vector<TimedFrame> frames;
  std::int64_t t = 0;
  for (const char* f : {"orl-s8-6", "orl-s8-2", "orl-s8-6", "orl-s8-7", "orl-s8-2", "orl-s8-6", "orl-s8-2"})
    frames.push_back({test::load_bgr(data(std::string("liveness/") + f + ".pgm")), t += 200});
  auto rep = engine().check_challenge(std::span<const TimedFrame>(frames), spec({Action::kBlink}));
  ASSERT_TRUE(rep.ok()) << rep.error().describe();
  EXPECT_EQ(rep->result.action_frames, std::vector<int>{3});
  EXPECT_FALSE(has(rep->result.reasons, Reason::kLivenessBlinkMissing));
  EXPECT_FALSE(has(rep->result.reasons, Reason::kLivenessFaceChanged));
  EXPECT_GT(rep->result.min_similarity, ChallengeConfig{}.min_same_person);
  rep = engine().check_challenge(std::span<const TimedFrame>(frames), spec({Action::kTurnLeft}));
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(has(rep->result.reasons, Reason::kLivenessTurnLeftMissing));

  std::vector<TimedFrame> turn;
  t = 0;
  for (const char* f : {"orl-turn-front", "orl-turn-front2", "orl-turn-left", "orl-turn-front", "orl-turn-front2", "orl-turn-right", "orl-turn-front"})
    turn.push_back({test::load_bgr(data(std::string("liveness/") + f + ".pgm")), t += 200});
  rep = engine().check_challenge(std::span<const TimedFrame>(turn), spec({Action::kTurnLeft, Action::kTurnRight}));
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->result.action_frames, (std::vector<int>{2, 5}));
  rep = engine().check_challenge(std::span<const TimedFrame>(turn), spec({Action::kTurnRight, Action::kTurnLeft}));
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(has(rep->result.reasons, Reason::kLivenessWrongOrder));
  // A different person half-way: FACE_CHANGED.
  auto mixed = turn;
  mixed[5].bgr = test::load_bgr(data("liveness/orl-s8-1.pgm"));
  rep = engine().check_challenge(std::span<const TimedFrame>(mixed), spec({Action::kTurnLeft}));
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(has(rep->result.reasons, Reason::kLivenessFaceChanged));
}

TEST(LivenessEngineTest, DescribeIsInTheFramesDescriptorSpace) {
  // The service compares the still capture with the challenge frames through describe(), so the
  // check holds whatever embedder the service matches with (e.g. fusion_z_v1).
  std::vector<TimedFrame> frames;
  std::int64_t t = 0;
  for (const char* f : {"orl-s8-6", "orl-s8-2", "orl-s8-6", "orl-s8-7", "orl-s8-2", "orl-s8-6", "orl-s8-2"})
    frames.push_back({test::load_bgr(data(std::string("liveness/") + f + ".pgm")), t += 200});
  auto rep = engine().check_challenge(std::span<const TimedFrame>(frames), spec({Action::kBlink}));
  ASSERT_TRUE(rep.ok());
  ASSERT_FALSE(rep->frames.front().descriptor.empty());
  const auto same = engine().describe(test::load_bgr(data("liveness/orl-s8-2.pgm")));
  const auto other = engine().describe(test::load_bgr(test::face("jolie-2.jpg")));
  ASSERT_TRUE(same.ok() && other.ok());
  ASSERT_EQ(same->size(), rep->frames.front().descriptor.size());
  const float min_same = engine().config().challenge.min_same_person;
  EXPECT_GE(similarity(rep->frames.front().descriptor, *same), min_same);
  EXPECT_LT(similarity(rep->frames.front().descriptor, *other), min_same);
  EXPECT_EQ(engine().describe(cv::Mat(200, 200, CV_8UC3, cv::Scalar::all(128))).error().reason, Reason::kNoFace);
}

TEST(LivenessEngineTest, EncodedFramesRepeatedAreReused) {
  const auto a = read_file_limited(data("liveness/orl-s8-1.pgm"), 1u << 20);
  const auto b = read_file_limited(data("liveness/orl-s8-2.pgm"), 1u << 20);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<EncodedFrame> frames;
  for (int i = 0; i < 8; ++i) frames.push_back({i % 2 ? *a : *b, 100 * i});
  auto rep = engine().check_challenge(std::span<const EncodedFrame>(frames), spec({Action::kBlink}));
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(has(rep->result.reasons, Reason::kLivenessFramesReused));
  EXPECT_EQ(rep->digests.size(), frames.size());
}

TEST(LivenessPassive, RealStillPhotosPass) {
  // The counter channel's passive check must let real customers' photos through.
  for (const char* f : {"jolie-1.jpg", "jolie-2.jpg", "arin-1.jpg", "chorong-1.jpg"}) {
    auto r = engine().check_passive(test::load_bgr(test::face(f)));
    ASSERT_TRUE(r.ok()) << f;
    EXPECT_FALSE(r->attack) << f << " score " << r->score << " threshold " << r->threshold;
  }
}

TEST(LivenessPassive, ModelFileAndFeatures) {
  auto m = make_lbp_liveness_model(test::model_dir(), "lbp_svm_v1");
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ((*m)->info().sha256.size(), 64u);
  const cv::Mat img = test::load_bgr(data("liveness/orl-s8-1.pgm"));
  const auto f = lbp_features(img);
  ASSERT_EQ(f.size(), lbp_feature_length());
  for (float v : f) ASSERT_TRUE(v >= 0.f && v <= 1.f);
  auto s = (*m)->attack_score(img);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(*s >= 0.f && *s <= 1.f);
  EXPECT_FALSE(make_liveness_model(test::model_dir(), "no_such_model").ok());
}

// ---- error rates and calibration ----------------------------------------------------------

TEST(LivenessMetrics, RatesAtThresholdAndAtApcer) {
  const std::vector<float> live = {0.1f, 0.2f, 0.3f, 0.4f, 0.9f};
  const std::vector<float> attack = {0.35f, 0.6f, 0.7f, 0.8f, 0.95f};
  const auto m = compute_pad_metrics(live, attack, 0.5f, {0.2, 0.5});
  EXPECT_DOUBLE_EQ(m.apcer, 0.2);   // 0.35 accepted
  EXPECT_DOUBLE_EQ(m.bpcer, 0.2);   // 0.9 refused
  EXPECT_DOUBLE_EQ(m.acer, 0.2);
  ASSERT_EQ(m.bpcer_at_apcer.size(), 2u);
  EXPECT_DOUBLE_EQ(m.bpcer_at_apcer[0].bpcer, 0.2);   // threshold 0.6: 0.35 accepted, 0.9 refused
  EXPECT_DOUBLE_EQ(m.bpcer_at_apcer[1].bpcer, 0.2);   // threshold 0.8
  EXPECT_NEAR(m.eer, 0.2, 1e-9);
  const auto cal = make_pad_calibration("m", live, attack, {0.2, 0.4});
  ASSERT_EQ(cal.points.size(), 2u);
  EXPECT_DOUBLE_EQ(compute_pad_metrics(live, attack, cal.points[0].threshold).bpcer, 0.2);
  EXPECT_DOUBLE_EQ(compute_pad_metrics(live, attack, cal.points[1].threshold).bpcer, 0.4);
  auto t = cal.threshold_for(0.3);
  ASSERT_TRUE(t.ok());
  EXPECT_LT(*t, cal.points[0].threshold);
  EXPECT_GT(*t, cal.points[1].threshold);
  EXPECT_FALSE(cal.threshold_for(0.5).ok());
  auto back = pad_calibration_from_json(to_json(cal));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->points.size(), 2u);
}

TEST(LivenessCli, EvalJsonHasTheRates) {
  const auto r = test::run(std::string(SIMKYC_BINARY) + " --models " + test::model_dir() + " liveness eval " +
                           data("liveness/pad") + " --json --threads 2 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  for (const char* k : {"apcer", "bpcer", "acer", "bpcer_at_apcer", "by_attack_type", "by_subject"}) EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"0.01", "0.05", "0.10"}) EXPECT_TRUE(j["bpcer_at_apcer"].contains(k)) << k;
  EXPECT_EQ(j["live"].get<int>() + j["no_face"]["live"].get<int>(), 2);
  EXPECT_TRUE(j["by_attack_type"].contains("print"));
}

// ---- policy -------------------------------------------------------------------------------

TEST(LivenessPolicyTest, FailedOrMissingLivenessIsNeverPass) {
  const LivenessPolicy pol;
  EXPECT_TRUE(pol.required("online").challenge);
  EXPECT_FALSE(pol.required("counter").challenge);
  EXPECT_TRUE(pol.required("counter").passive);
  PolicyResult pass{Decision::kPass, {}};
  LivenessOutcome ok{true, true, true, true, {}};
  auto pr = pass;
  apply_liveness(pr, ok, pol.required("online"), Decision::kFail);
  EXPECT_EQ(pr.decision, Decision::kPass);
  // Online without challenge frames.
  pr = pass;
  apply_liveness(pr, LivenessOutcome{true, true, false, false, {}}, pol.required("online"), Decision::kFail);
  EXPECT_EQ(pr.decision, Decision::kFail);
  EXPECT_TRUE(has(pr.reasons, Reason::kLivenessChallengeRequired));
  // Counter: the passive check alone suffices; when it fails, REVIEW if so configured.
  pr = pass;
  apply_liveness(pr, LivenessOutcome{true, true, false, false, {}}, pol.required("counter"), Decision::kFail);
  EXPECT_EQ(pr.decision, Decision::kPass);
  pr = pass;
  apply_liveness(pr, LivenessOutcome{true, false, false, false, {Reason::kLivenessAttackSuspected}}, pol.required("counter"),
                 Decision::kReview);
  EXPECT_EQ(pr.decision, Decision::kReview);
  EXPECT_TRUE(has(pr.reasons, Reason::kLivenessAttackSuspected));
  // A failed optional challenge still counts; FAIL stays FAIL.
  pr = PolicyResult{Decision::kFail, {Reason::kMatchBelowThreshold}};
  apply_liveness(pr, LivenessOutcome{true, true, true, false, {Reason::kLivenessBlinkMissing}}, pol.required("counter"),
                 Decision::kReview);
  EXPECT_EQ(pr.decision, Decision::kFail);
  EXPECT_TRUE(has(pr.reasons, Reason::kLivenessBlinkMissing));
}

// ---- the service: channel rules, frames against the session, reuse across sessions ---------

TEST(LivenessService, OnlineNeedsTheChallengeAndFramesAreNotReused) {
  test::TempDir dir("live");
  auto store = open_sqlite_store(dir.file("s.db"));
  ASSERT_TRUE(store.ok());
  auto vault = Vault::from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  ASSERT_TRUE(vault.ok());
  auto cal = load_calibration(default_calibration_path(test::model_dir(), "dlib_resnet_v1"));
  ASSERT_TRUE(cal.ok());
  ServiceConfig cfg;
  cfg.channel_fmr = {{"counter", 1e-3}, {"online", 1e-3}};
  // Liveness required but no engine: refused at start-up.
  EXPECT_EQ(Service::create(**store, *vault, test::analyzer(), *cal, cfg).error().reason, Reason::kConfigError);
  std::shared_ptr<LivenessEngine> eng;
  {
    auto e = LivenessEngine::load(test::model_dir(), LivenessConfig{});
    ASSERT_TRUE(e.ok());
    eng = std::move(e.value());
  }
  auto svc = Service::create(**store, *vault, test::analyzer(), *cal, cfg, {}, eng);
  ASSERT_TRUE(svc.ok()) << svc.error().describe();
  auto key = (*svc)->create_key(std::nullopt, "op", Role::kClerk);
  ASSERT_TRUE(key.ok());
  auto caller = (*svc)->authenticate(*key);
  ASSERT_TRUE(caller.ok());
  const auto portrait = read_file_limited(test::face("jolie-1.jpg"), 10u << 20);
  const auto live = read_file_limited(test::face("jolie-2.jpg"), 10u << 20);
  ASSERT_TRUE(portrait.ok() && live.ok());
  auto session = [&](const std::string& channel, const std::string& device) {
    auto s = (*svc)->start_session(*caller, channel, device);
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE((*svc)->record_consent(*caller, s->id, cfg.consent_version).ok());
    auto d = (*svc)->submit_document(*caller, s->id, DocumentInput{"11010519491231002X", "", *portrait});
    EXPECT_TRUE(d.ok()) << d.error().describe();
    return s->id;
  };
  // Counter: the passive check on the still photo suffices.
  auto r = (*svc)->submit_live(*caller, session("counter", "d1"), *live);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->decision, "PASS");
  // Online without challenge frames: never PASS; an incomplete request, not a decision (issue 14).
  r = (*svc)->submit_live(*caller, session("online", "d2"), *live);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kLivenessChallengeRequired);
  // Frames of someone else doing nothing asked: FAIL with the challenge's reasons; the same frames
  // again in another session: reused.
  std::vector<Bytes> bytes;
  for (const char* f : {"orl-s8-6", "orl-s8-2", "orl-s8-6", "orl-s8-7", "orl-s8-2", "orl-s8-6", "orl-s8-2"}) {
    auto b = read_file_limited(data(std::string("liveness/") + f + ".pgm"), 1u << 20);
    ASSERT_TRUE(b.ok());
    bytes.push_back(*b);
    bytes.back().push_back(static_cast<std::uint8_t>(bytes.size()));   // trailing byte: each frame's bytes its own
  }
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<EncodedFrame> frames;
  for (std::size_t i = 0; i < bytes.size(); ++i) frames.push_back({bytes[i], now_ms + 200 * static_cast<std::int64_t>(i)});
  r = (*svc)->submit_live(*caller, session("online", "d3"), *live, frames);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->decision, "FAIL");
  EXPECT_TRUE(has(r->reasons, Reason::kLivenessFaceChanged));   // the still is not the person in the frames
  EXPECT_FALSE(has(r->reasons, Reason::kLivenessFramesReused));
  r = (*svc)->submit_live(*caller, session("online", "d4"), *live, frames);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->decision, "FAIL");
  EXPECT_TRUE(has(r->reasons, Reason::kLivenessFramesReused));
}

}  // namespace
}  // namespace simkyc
