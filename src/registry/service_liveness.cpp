// Service::check_liveness — the liveness part of submit_live (issue 5): the passive check of the
// live capture, the active challenge on the session's frames, and frame reuse across sessions.
#include <algorithm>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "registry/service.h"

namespace simkyc {

namespace {
// Challenge frames already used are remembered in the store's event counters under this scope
// (per operator, by SHA-256 of the frame bytes): a frame seen once is refused in any later session.
std::string frame_scope(const std::string& operator_id, const std::string& digest) {
  return "liveness-frame:" + operator_id + ":" + digest;
}
}  // namespace

Result<LivenessOutcome> Service::check_liveness(const SessionRecord& s, const cv::Mat& live, const FaceAnalysis& fa,
                                                std::span<const EncodedFrame> frames) {
  LivenessOutcome out;
  if (!liveness_) return out;   // create() refused configurations that require it
  const auto req = cfg_.liveness.required(s.channel);
  if (req.passive || req.challenge) {
    auto p = liveness_->check_passive(live, fa.box);
    if (!p) return p.error();
    out.passive_run = true;
    out.passive_ok = !p->attack;
    if (p->attack) out.reasons.push_back(Reason::kLivenessAttackSuspected);
  }
  if (frames.empty()) return out;

  const auto ch = nlohmann::json::parse(s.challenge_json, nullptr, false);
  ChallengeSpec spec;
  spec.nonce = s.nonce;
  spec.issued_ms = s.created * 1000;
  spec.deadline_ms = s.expires * 1000;
  if (ch.is_object() && ch.contains("actions") && ch["actions"].is_array())
    for (const auto& a : ch["actions"])
      if (auto act = a.is_string() ? action_from_string(a.get<std::string>()) : std::nullopt) spec.actions.push_back(*act);
  auto rep = liveness_->check_challenge(frames, spec);
  if (!rep) return rep.error();
  out.challenge_run = true;
  std::vector<Reason> rs = rep->result.reasons;
  // The still capture must be the person who did the challenge, compared in the liveness engine's
  // own descriptor space (the service may match with another embedder, e.g. a fusion).
  if (!rep->frames.empty() && !rep->frames.front().descriptor.empty()) {
    auto still = liveness_->describe(live);
    if (!still && still.error().reason != Reason::kNoFace) return still.error();
    if (!still || similarity(rep->frames.front().descriptor, *still) < liveness_->config().challenge.min_same_person)
      rs.push_back(Reason::kLivenessFaceChanged);
  }
  // Reuse: a frame seen in any earlier session of this operator.  Every frame is remembered.
  bool reused = false;
  const auto now = now_();
  for (const auto& digest : rep->digests) {
    const auto scope = frame_scope(s.operator_id, digest);
    auto seen = store_.count_failures(scope, 0);
    if (!seen) return seen.error();
    reused = reused || *seen > 0;
    if (auto st = store_.record_failure(scope, now); !st) return st.error();
  }
  if (reused) rs.push_back(Reason::kLivenessFramesReused);
  for (Reason r : rs)
    if (std::find(out.reasons.begin(), out.reasons.end(), r) == out.reasons.end()) out.reasons.push_back(r);
  out.challenge_ok = rs.empty();
  spdlog::info("liveness session={} frames={} challenge_ok={} passive_ok={} ms={:.0f}", s.id, frames.size(),
               out.challenge_ok, out.passive_ok, rep->ms);
  return out;
}

}  // namespace simkyc
