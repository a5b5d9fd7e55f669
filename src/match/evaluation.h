// src/match/evaluation.h — accuracy figures from genuine and impostor scores, and the pair lists
// they come from.  Used by `simkyc eval` and `simkyc calibrate`.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "match/match.h"

namespace simkyc {

struct Pair {
  int a = 0, b = 0;     // indices into PairList::images
  bool same = false;    // genuine (same person) or impostor
};

struct PairList {
  std::vector<std::filesystem::path> images;   // each distinct image once
  std::vector<Pair> pairs;
};

// Reads a pair list: lines `path1 path2 label` (label 1/0, same/different, yes/no, true/false;
// '#' comments), or CSV with a header whose first three columns are file_x,file_y,Decision (Yes/No),
// as in deepface.  Relative paths are relative to the list's folder; a path that does not exist
// there is tried by its file name in that folder.
// Errors: kIoError (cannot read), kUsage (a malformed line, with its number; an unknown label;
// a listed image that does not exist; no pairs).
Result<PairList> read_pair_list(const std::filesystem::path& file);

// All genuine pairs within each sub-folder and all impostor pairs across sub-folders of `dir`
// (one sub-folder per person; image files directly in `dir` are ignored).
// Errors: kIoError, kUsage (fewer than two people).
Result<PairList> pairs_from_folders(const std::filesystem::path& dir);

struct TarAtFar {
  double far = 0;              // target false-accept rate
  double tar = 0;              // true-accept rate at the threshold reaching it
  float threshold = 0;
  long long impostor_pairs = 0;
  bool supported = false;      // false when impostor_pairs * far < 1: too few pairs to measure
};

struct RocPoint {
  double far = 0, tar = 0;
  float threshold = 0;
};

struct Metrics {
  long long genuine = 0, impostor = 0;
  double eer = 0;
  float eer_threshold = 0;
  double best_accuracy = 0;
  float best_accuracy_threshold = 0;
  std::vector<TarAtFar> tar_at_far;
  std::vector<RocPoint> roc;   // thinned curve, FAR descending
};

// Requires: scores of genuine and impostor pairs (NaN not allowed; a pair that could not be
// scored should be given -infinity so it counts as a rejection).
// Ensures: EER by interpolation between thresholds; TAR at each FAR in `fars` using the
// threshold whose impostor acceptance does not exceed it.
Metrics compute_metrics(std::vector<float> genuine, std::vector<float> impostor,
                        const std::vector<double>& fars = {1e-2, 1e-3, 1e-4});

// A calibration table from impostor (and genuine, for TAR) scores at the given FMRs.
CalibrationTable make_calibration(const std::string& model, std::vector<float> genuine,
                                  std::vector<float> impostor, const std::vector<double>& fmrs);

}  // namespace simkyc
