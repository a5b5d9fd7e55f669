// src/match/fusion_fit.h — fitting score models on labelled descriptors (issue 7): linear
// projections (PCA, WCCN, LDA), the impostor-score spread that z-score fusion weights by, and
// adaptive S-norm against a cohort.  Used by tools/fusion (experiments, fitting the shipped
// models); the fitted projection is applied at run time by FusionModel (src/face/fusion_model.h).
#pragma once
#include <string>
#include <vector>

#include "core/result.h"
#include "face/fusion_model.h"
#include "face/types.h"

namespace simkyc {

struct ProjectionConfig {
  // "pca": centre + principal axes; "wccn": PCA, then whitening of the within-person scatter;
  // "lda": WCCN, then the principal axes of the (whitened) between-person scatter.
  std::string kind = "lda";
  int pca_dims = 256;        // kept principal axes (capped by the data's rank)
  int out_dims = 128;        // lda: kept discriminant axes (capped by people - 1)
  double within_shrink = 0.1;   // within scatter += shrink * mean eigenvalue * I
};

// Requires: x.size() == person.size() >= 2, all x the same length; at least two people.
// Ensures: a projection with in_dims = x[0].size().  Errors: kUsage on bad input.
Result<LinearProjection> fit_projection(const std::vector<Descriptor>& x, const std::vector<int>& person,
                                        const ProjectionConfig& cfg);

// Unit-length projection of one descriptor (as FusionModel applies it).
Descriptor project(const LinearProjection& p, const Descriptor& x);

// Standard deviation of the cosine scores of all different-person pairs (at most max_pairs,
// evenly spread).  Requires: x unit-length.
double impostor_score_sd(const std::vector<Descriptor>& x, const std::vector<int>& person,
                         std::size_t max_pairs = 2'000'000);

// Adaptive S-norm: per probe, mean and standard deviation of its top_k cosine scores against a
// cohort; s' = ((s - m_a) / sd_a + (s - m_b) / sd_b) / 2.
struct CohortStats {
  float mean = 0, sd = 1;
};
CohortStats cohort_stats(const Descriptor& probe, const std::vector<Descriptor>& cohort, int top_k);
float as_norm(float score, const CohortStats& a, const CohortStats& b);

}  // namespace simkyc
