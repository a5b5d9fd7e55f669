// src/liveness/pad.h — presentation-attack detection (PAD) around a LivenessModel: choosing the
// model, its threshold from a target BPCER (a calibration table per model), and the ISO/IEC
// 30107-3 error rates used to evaluate and calibrate it.
//
// Decision rule everywhere: a face is an attack when attack_score >= threshold.
//   APCER: share of attack presentations accepted as live (score < threshold).
//   BPCER: share of bona fide (live) presentations refused as attacks (score >= threshold).
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/result.h"
#include "liveness/passive.h"

namespace simkyc {

struct PadCalibrationPoint {
  double bpcer = 0;        // target BPCER
  float threshold = 0;     // attack when score >= threshold
  double apcer = 0;        // APCER reached on the calibration data at that threshold
};

// BPCER -> threshold table for one model, made by `simkyc liveness calibrate` or the training tool.
struct PadCalibration {
  std::string model, data, command, created;
  long long live = 0, attack = 0;            // how many scores it rests on
  std::vector<PadCalibrationPoint> points;   // sorted by bpcer, ascending

  // Requires: 0 < bpcer < 1.  Ensures: the threshold, interpolated log-linearly between points.
  // Errors: kCalibrationMissing when bpcer is outside the table or the table is empty.
  Result<float> threshold_for(double bpcer) const;
};

nlohmann::json to_json(const PadCalibration& c);
// Errors: kConfigError.
Result<PadCalibration> pad_calibration_from_json(const nlohmann::json& j);
// Errors: kIoError, kConfigError.
Result<PadCalibration> load_pad_calibration(const std::filesystem::path& file);
// The shipped table: <model_dir>/liveness/<model id>.calibration.json.
std::filesystem::path default_pad_calibration_path(const std::filesystem::path& model_dir, const std::string& model_id);

// Requires: live non-empty; every bpcer in (0, 1).
// Ensures: one point per bpcer, the threshold the smallest score value that refuses at most
// floor(bpcer * live) live scores.
PadCalibration make_pad_calibration(const std::string& model, const std::vector<float>& live,
                                    const std::vector<float>& attack, const std::vector<double>& bpcers);

struct BpcerAtApcer {
  double apcer_target = 0;
  double bpcer = 0;        // at the highest threshold whose APCER <= apcer_target
  float threshold = 0;
  bool supported = false;  // enough attack scores: attack * apcer_target >= 1
};

struct PadMetrics {
  long long live = 0, attack = 0;
  float threshold = 0;
  double apcer = 0, bpcer = 0, acer = 0;     // at `threshold`
  double eer = 0;
  float eer_threshold = 0;
  std::vector<BpcerAtApcer> bpcer_at_apcer;
  std::vector<std::pair<double, double>> det;   // (APCER, BPCER) over all thresholds
};

// Requires: nothing (empty inputs give zero rates).  Ensures: rates in [0, 1].
PadMetrics compute_pad_metrics(const std::vector<float>& live, const std::vector<float>& attack, float threshold,
                               const std::vector<double>& apcer_targets = {0.01, 0.05, 0.10});

// A LivenessModel by id: "lbp_svm_v1" (this project's, in the repo) or "antispoof_v1" (converted
// network, see passive.h).  Errors: kModelError.
Result<std::unique_ptr<LivenessModel>> make_liveness_model(const std::filesystem::path& model_dir, const std::string& id);

struct PassiveConfig {
  std::string model = "lbp_svm_v1";
  double target_bpcer = 0.05;     // the operator's chosen share of real customers refused
  float threshold = -1.f;         // >= 0: use this score threshold instead of the calibration
  std::string calibration;        // "" = the model's shipped table (default_pad_calibration_path)
};

// Ensures: cfg.threshold when >= 0, else the calibration table's threshold for target_bpcer.
// Errors: kCalibrationMissing, kConfigError, kIoError.
Result<float> passive_threshold(const std::filesystem::path& model_dir, const PassiveConfig& cfg);

}  // namespace simkyc
