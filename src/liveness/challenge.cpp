#include "liveness/challenge.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/file.h"

namespace simkyc {
namespace {

float dist(const cv::Point2f& a, const cv::Point2f& b) { return static_cast<float>(cv::norm(a - b)); }

float ear_of(const std::vector<cv::Point2f>& p, std::size_t o) {
  const float w = dist(p[o], p[o + 3]);
  if (w < 1e-3f) return 0.f;
  return (dist(p[o + 1], p[o + 5]) + dist(p[o + 2], p[o + 4])) / (2.f * w);
}

// Cosine similarity of two descriptors (the match stage's measure; liveness sits left of match).
float cosine(const Descriptor& a, const Descriptor& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? static_cast<float>(ab / std::sqrt(aa * bb)) : 0.f;
}

float median(std::vector<float> v) {
  if (v.empty()) return 0.f;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

float percentile(std::vector<float> v, double q) {
  if (v.empty()) return 0.f;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::lround(q * static_cast<double>(v.size() - 1)));
  return v[std::min(i, v.size() - 1)];
}

// What a frame shows, for the sequence logic.
enum class State { kNoFace, kFrontal, kOther, kClosed, kLeft, kRight, kDown };

std::optional<Action> action_of(State s) {
  switch (s) {
    case State::kClosed: return Action::kBlink;
    case State::kLeft: return Action::kTurnLeft;
    case State::kRight: return Action::kTurnRight;
    case State::kDown: return Action::kNod;
    default: return std::nullopt;
  }
}

struct Event {
  Action action;
  int start, end;
};

void add(std::vector<Reason>& rs, Reason r) {
  if (std::find(rs.begin(), rs.end(), r) == rs.end()) rs.push_back(r);
}

}  // namespace

std::string_view to_string(Action a) {
  switch (a) {
    case Action::kBlink: return "blink";
    case Action::kTurnLeft: return "turn_left";
    case Action::kTurnRight: return "turn_right";
    case Action::kNod: return "nod";
  }
  return "?";
}

std::optional<Action> action_from_string(std::string_view s) {
  for (Action a : {Action::kBlink, Action::kTurnLeft, Action::kTurnRight, Action::kNod})
    if (to_string(a) == s) return a;
  return std::nullopt;
}

Reason missing_reason(Action a) {
  switch (a) {
    case Action::kBlink: return Reason::kLivenessBlinkMissing;
    case Action::kTurnLeft: return Reason::kLivenessTurnLeftMissing;
    case Action::kTurnRight: return Reason::kLivenessTurnRightMissing;
    case Action::kNod: return Reason::kLivenessNodMissing;
  }
  return Reason::kInternal;
}

float eye_aspect_ratio(const Landmarks& lm) {
  if (lm.points.size() != 68) return 0.f;
  return (ear_of(lm.points, 36) + ear_of(lm.points, 42)) / 2.f;
}

HeadPose pose_from_68(const Landmarks& lm) {
  if (lm.points.size() != 68) return {};
  const auto& p = lm.points;
  Landmarks five;
  five.points = {p[36], p[39], p[42], p[45], p[33]};
  return estimate_pose(five);
}

ChallengeResult evaluate_challenge(std::span<const FrameMeasure> f, const ChallengeSpec& spec,
                                   const ChallengeConfig& cfg) {
  ChallengeResult r;
  r.action_frames.assign(spec.actions.size(), -1);
  const int n = static_cast<int>(f.size());
  const auto at = [&](int i) -> const FrameMeasure& { return f[static_cast<std::size_t>(i)]; };

  // Framing: count, timestamps, deadline.
  bool invalid = n < cfg.min_frames || n > cfg.max_frames;
  for (int i = 1; i < n; ++i) {
    const auto gap = at(i).ts_ms - at(i - 1).ts_ms;
    if (gap <= 0 || gap > cfg.max_gap_ms) invalid = true;
  }
  if (n > 0 && spec.issued_ms > 0 && at(0).ts_ms < spec.issued_ms - cfg.clock_skew_ms) invalid = true;
  if (invalid) add(r.reasons, Reason::kLivenessFramesInvalid);
  if (n > 0 && (at(n - 1).ts_ms - at(0).ts_ms > cfg.max_duration_ms ||
                (spec.deadline_ms > 0 && at(n - 1).ts_ms > spec.deadline_ms + cfg.clock_skew_ms)))
    add(r.reasons, Reason::kLivenessTooSlow);
  if (n == 0) return r;

  // The face: present, alone, the same person throughout.
  std::vector<float> ears, yaws, pitches;
  const Descriptor* ref = nullptr;
  for (const auto& m : f) {
    if (!m.face) continue;
    ++r.frames_with_face;
    ears.push_back(m.ear);
    yaws.push_back(m.pose.yaw);
    pitches.push_back(m.pose.pitch);
    if (m.faces > 1) add(r.reasons, Reason::kLivenessMultipleFaces);
    if (m.descriptor.empty()) continue;
    if (!ref) ref = &m.descriptor;
    else if (m.descriptor.size() == ref->size()) r.min_similarity = std::min(r.min_similarity, cosine(*ref, m.descriptor));
  }
  if (!at(0).face || static_cast<float>(n - r.frames_with_face) > cfg.max_no_face_fraction * static_cast<float>(n))
    add(r.reasons, Reason::kLivenessNoFace);
  if (r.min_similarity < cfg.min_same_person) add(r.reasons, Reason::kLivenessFaceChanged);
  if (r.frames_with_face == 0) {
    for (Action a : spec.actions) add(r.reasons, missing_reason(a));
    return r;
  }

  // Each frame's state, relative to the customer's own baselines.
  r.ear_baseline = percentile(ears, 0.8);
  r.yaw_median = median(yaws);
  r.pitch_median = median(pitches);
  const bool eyes_usable = r.ear_baseline >= cfg.ear_min_baseline;
  std::vector<State> st(static_cast<std::size_t>(n), State::kNoFace);
  std::vector<bool> open(static_cast<std::size_t>(n), false);
  for (int i = 0; i < n; ++i) {
    const auto& m = at(i);
    if (!m.face) continue;
    float dyaw = m.pose.yaw - r.yaw_median;
    if (cfg.mirrored) dyaw = -dyaw;
    const float dpitch = m.pose.pitch - r.pitch_median;
    const bool closed = eyes_usable && m.ear < cfg.ear_closed_ratio * r.ear_baseline && std::abs(dyaw) <= cfg.blink_max_yaw_deg;
    const auto ui = static_cast<std::size_t>(i);
    open[ui] = m.ear >= cfg.ear_open_ratio * r.ear_baseline;
    State s = State::kOther;
    if (dyaw >= cfg.turn_yaw_deg) s = State::kLeft;        // towards the image's right: the customer's left
    else if (dyaw <= -cfg.turn_yaw_deg) s = State::kRight;
    else if (dpitch >= cfg.nod_pitch_deg) s = State::kDown;
    else if (closed) s = State::kClosed;
    else if (std::abs(dyaw) < cfg.frontal_yaw_deg && open[ui]) s = State::kFrontal;
    st[ui] = s;
  }

  // Events: runs of one action state, each after a frame facing the camera with open eyes
  // (since the previous event); a blink also needs open eyes again afterwards.
  std::vector<Event> events;
  bool armed = false;
  for (int i = 0; i < n;) {
    const State s = st[static_cast<std::size_t>(i)];
    if (s == State::kFrontal) armed = true;
    const auto a = action_of(s);
    if (!a) {
      ++i;
      continue;
    }
    int j = i;
    while (j + 1 < n && st[static_cast<std::size_t>(j + 1)] == s) ++j;
    bool ok = armed;
    if (ok && *a == Action::kBlink) {
      ok = false;
      for (int k = j + 1; k < n && !ok; ++k) ok = open[static_cast<std::size_t>(k)];
    }
    if (ok) {
      events.push_back({*a, i, j});
      armed = false;
    }
    i = j + 1;
  }

  // The asked actions, in order.
  int pos = -1;
  bool out_of_order = false;
  std::vector<Reason> missing;
  for (std::size_t k = 0; k < spec.actions.size(); ++k) {
    const Action want = spec.actions[k];
    const auto it = std::find_if(events.begin(), events.end(), [&](const Event& e) { return e.action == want && e.start > pos; });
    if (it != events.end()) {
      r.action_frames[k] = it->start;
      pos = it->end;
      continue;
    }
    const bool anywhere = std::any_of(events.begin(), events.end(), [&](const Event& e) { return e.action == want; });
    if (anywhere) out_of_order = true;
    else add(missing, missing_reason(want));
  }
  for (Reason m : missing) add(r.reasons, m);
  if (out_of_order) add(r.reasons, Reason::kLivenessWrongOrder);
  r.passed = r.reasons.empty();
  return r;
}

std::string frame_digest(std::span<const std::uint8_t> encoded) { return sha256_hex(encoded); }

std::uint64_t perceptual_hash(const cv::Mat& bgr) {
  if (bgr.empty()) return 0;
  cv::Mat grey, small;
  if (bgr.channels() == 3) cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  else grey = bgr;
  cv::resize(grey, small, cv::Size(9, 8), 0, 0, cv::INTER_AREA);
  std::uint64_t h = 0;
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) h = (h << 1) | (small.at<std::uint8_t>(y, x) > small.at<std::uint8_t>(y, x + 1) ? 1u : 0u);
  return h;
}

int hamming(std::uint64_t a, std::uint64_t b) { return std::popcount(a ^ b); }

}  // namespace simkyc
