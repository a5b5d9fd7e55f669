#include "policy/liveness_policy.h"

#include <algorithm>

namespace simkyc {

LivenessRequirement LivenessPolicy::required(const std::string& channel) const {
  const auto it = channels.find(channel);
  return it == channels.end() ? LivenessRequirement{} : it->second;
}

void apply_liveness(PolicyResult& pr, const LivenessOutcome& out, const LivenessRequirement& req, Decision on_fail) {
  std::vector<Reason> why = out.reasons;
  auto add = [&](Reason r) {
    if (std::find(why.begin(), why.end(), r) == why.end()) why.push_back(r);
  };
  bool failed = (out.passive_run && !out.passive_ok) || (out.challenge_run && !out.challenge_ok);
  if (req.passive && !out.passive_run) {
    failed = true;
    add(Reason::kLivenessAttackSuspected);   // no evidence of a live face
  }
  if (req.challenge && !out.challenge_run) {
    failed = true;
    add(Reason::kLivenessChallengeRequired);
  }
  if (!failed) return;
  if (why.empty()) why.push_back(Reason::kLivenessAttackSuspected);
  for (Reason r : why)
    if (std::find(pr.reasons.begin(), pr.reasons.end(), r) == pr.reasons.end()) pr.reasons.push_back(r);
  const Decision target = on_fail == Decision::kReview ? Decision::kReview : Decision::kFail;
  if (pr.decision == Decision::kPass || (pr.decision == Decision::kReview && target == Decision::kFail)) pr.decision = target;
}

}  // namespace simkyc
