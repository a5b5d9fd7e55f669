// src/policy/decision.h — PASS / REVIEW / FAIL for one verification, always with reasons.
#pragma once
#include <optional>
#include <string_view>
#include <vector>

#include "core/reason.h"
#include "face/quality.h"

namespace simkyc {

enum class Decision { kPass, kReview, kFail };
std::string_view to_string(Decision d);

struct PolicyConfig {
  double target_fmr = 1e-4;          // operator's chosen false-match rate for PASS
  // Scores between the threshold for review_fmr and the PASS threshold go to REVIEW
  // (a clerk looks) instead of FAIL.  Must be >= target_fmr; equal disables the band.
  double review_fmr = 1e-3;
  // A face that fails a quality check (small, blurred, turned, dark, several faces) makes the
  // decision REVIEW rather than PASS or FAIL: the comparison cannot be trusted either way.
  bool quality_to_review = true;
};

struct MatchInput {
  // Quality reasons of each face (empty when usable).
  std::vector<Reason> document_quality;
  std::vector<Reason> live_quality;
  float score = 0;                 // similarity
  float pass_threshold = 0;        // threshold for target_fmr
  float review_threshold = 0;      // threshold for review_fmr (<= pass_threshold)
};

struct PolicyResult {
  Decision decision = Decision::kFail;
  std::vector<Reason> reasons;     // why; empty only for a clean PASS
};

// Requires: review_threshold <= pass_threshold.
// Ensures: PASS only when the score reaches the pass threshold and both faces are usable.
PolicyResult decide(const MatchInput& in, const PolicyConfig& cfg);

}  // namespace simkyc
