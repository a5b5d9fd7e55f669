// tools/fusion/experiments.h — the `cv` and `fit` subcommands of fusion_tool.
#pragma once
#include <string>
#include <vector>

namespace simkyc::fusion {

struct DescriptorSet;

// People -> folds (the identity-disjoint split every `cv` uses; also tools/finetune): by number of
// photos, so that the many-photo people spread over the folds, ties in a seeded random order.
// Returns fold_of[person] (-1 for people not in `people`).
std::vector<int> assign_folds(const DescriptorSet& s, const std::vector<int>& people, int folds, unsigned seed);

struct CvOptions {
  std::string data;
  std::vector<std::string> extra;    // more variants of the same images (merged into data)
  std::vector<std::string> others;   // NAME=FILE
  int folds = 5;
  unsigned seed = 7;
  std::vector<std::string> methods;  // empty: all
  std::string json_out;
};
int run_cv(const CvOptions& o);

struct FitOptions {
  std::string data, method, id, out;
  std::vector<std::string> extra;
};
int run_fit(const FitOptions& o);

// A calibration table (FMR -> threshold) from the pooled out-of-fold scores of a method's
// identity-disjoint cross-validation: thresholds for people the model was not fitted on.
struct CalibrateCvOptions {
  std::string data, method, id, out;
  std::vector<std::string> extra;
};
int run_calibrate_cv(const CalibrateCvOptions& o);

}  // namespace simkyc::fusion
