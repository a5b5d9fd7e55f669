// src/liveness/passive_lbp.h — the passive attack model trained by this project ("lbp_svm_v1"):
// colour-texture histograms (uniform LBP on grey, YCrCb and HSV channels) of the face crop and
// a linear SVM trained by dlib, with a logistic (Platt) map of its output to [0, 1].
//
// The weights are a small JSON file in the repository (models/liveness/<id>.json, listed with
// its SHA-256 in models/manifest.json as "in_repo": true).  tools/train_liveness.cpp makes it;
// docs/liveness.md says how to retrain.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>

#include "core/result.h"
#include "liveness/passive.h"

namespace simkyc {

// Length of the feature vector lbp_features() returns.
std::size_t lbp_feature_length();

// Requires: face_bgr non-empty 8UC3 (face_crop of a detector box; any size, resized inside).
// Ensures: lbp_feature_length() values; each histogram L1-normalised, then square-rooted
// (Hellinger), so every value is in [0, 1].
std::vector<float> lbp_features(const cv::Mat& face_bgr);

// The trained weights: standardise ((x - mean) * inv_std), linear score w.x + bias (positive:
// attack), then attack_score = 1 / (1 + exp(-(platt_a * score + platt_b))).
struct LinearPadWeights {
  std::string id = "lbp_svm_v1";
  std::string version = "1";
  std::string trained_on;      // data list and split it was trained on
  std::string command;         // the command that made it
  std::vector<float> mean, inv_std, w;
  float bias = 0.f, platt_a = 1.f, platt_b = 0.f;

  // Requires: vectors of lbp_feature_length().  Ensures: the raw linear score.
  double raw_score(const std::vector<float>& x) const;
  // Ensures: in [0, 1], higher = more likely an attack.
  float attack_probability(const std::vector<float>& x) const;
};

nlohmann::json to_json(const LinearPadWeights& m);
// Errors: kModelError (missing fields, wrong vector lengths).
Result<LinearPadWeights> lbp_weights_from_json(const nlohmann::json& j);

// A LivenessModel over given weights (tests, the training tool).
std::unique_ptr<LivenessModel> make_lbp_liveness_model(LinearPadWeights weights);

// The shipped model: looks `id` up in model_dir/manifest.json (an "in_repo" entry whose "file"
// is relative to model_dir), checks the file's SHA-256 against the manifest, loads it.
// Errors: kModelError (not in the manifest, missing file, checksum mismatch, bad file).
Result<std::unique_ptr<LivenessModel>> make_lbp_liveness_model(const std::filesystem::path& model_dir,
                                                               const std::string& id = "lbp_svm_v1");

}  // namespace simkyc
