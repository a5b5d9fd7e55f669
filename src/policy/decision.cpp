#include "policy/decision.h"

#include <algorithm>

namespace simkyc {

std::string_view to_string(Decision d) {
  switch (d) {
    case Decision::kPass: return "PASS";
    case Decision::kReview: return "REVIEW";
    case Decision::kFail: return "FAIL";
  }
  return "FAIL";
}

PolicyResult decide(const MatchInput& in, const PolicyConfig& cfg) {
  PolicyResult r;
  auto add = [&](Reason x) {
    if (std::find(r.reasons.begin(), r.reasons.end(), x) == r.reasons.end()) r.reasons.push_back(x);
  };
  for (Reason q : in.document_quality) add(q);
  for (Reason q : in.live_quality) add(q);
  const bool quality_ok = r.reasons.empty();

  if (in.score >= in.pass_threshold) {
    r.decision = Decision::kPass;
  } else if (in.score >= in.review_threshold) {
    r.decision = Decision::kReview;
    add(Reason::kMatchBorderline);
  } else {
    r.decision = Decision::kFail;
    add(Reason::kMatchBelowThreshold);
  }
  if (!quality_ok) {
    if (cfg.quality_to_review) {
      r.decision = Decision::kReview;
      add(Reason::kQualityReview);
    } else if (r.decision == Decision::kPass) {
      r.decision = Decision::kFail;
    }
  }
  return r;
}

}  // namespace simkyc
