// src/policy/liveness_policy.h — what liveness each channel requires, and how a failed or
// missing liveness check changes the decision: FAIL or REVIEW as configured, never PASS.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/reason.h"
#include "policy/decision.h"

namespace simkyc {

struct LivenessRequirement {
  bool passive = true;      // passive attack check on the live capture
  bool challenge = false;   // active challenge (frames with the asked actions)
};

struct LivenessPolicy {
  // Channels not listed require the passive check only.
  std::map<std::string, LivenessRequirement> channels = {{"counter", {true, false}}, {"online", {true, true}}};
  Decision on_fail = Decision::kFail;   // kFail or kReview when liveness fails
  LivenessRequirement required(const std::string& channel) const;
};

// What the liveness checks found for one verification.
struct LivenessOutcome {
  bool passive_run = false, passive_ok = false;
  bool challenge_run = false, challenge_ok = false;
  std::vector<Reason> reasons;   // liveness reasons (LIVENESS_*), each with a customer hint
};

// Ensures: when a check `req` asks for was not run, or any check that ran failed, pr is not PASS:
// it becomes on_fail unless it is already stricter (FAIL stays FAIL); out.reasons are appended
// (plus LIVENESS_CHALLENGE_REQUIRED when a required challenge was not run).  Otherwise unchanged.
void apply_liveness(PolicyResult& pr, const LivenessOutcome& out, const LivenessRequirement& req, Decision on_fail);

}  // namespace simkyc
