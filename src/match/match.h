// src/match/match.h — comparing two descriptors and turning a target false-match rate into a
// score threshold with a calibration table.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/result.h"
#include "face/types.h"

namespace simkyc {

// Cosine similarity of two unit-length descriptors, in [-1, 1]; higher means more alike.
// Requires: a.size() == b.size() > 0.  Ensures: NaN-free.
float similarity(const Descriptor& a, const Descriptor& b);

struct CalibrationPoint {
  double fmr = 0;              // target false-match rate, e.g. 1e-4
  float threshold = 0;         // scores >= threshold are matches
  long long impostor_pairs = 0;   // how many impostor pairs the estimate rests on
  double tar = 0;              // true-accept rate reached on the calibration data at that threshold
};

// FMR -> threshold table for one model, made by `simkyc calibrate` / `simkyc eval --calibrate-out`.
struct CalibrationTable {
  std::string model;            // model id it is valid for, e.g. "dlib_resnet_v1"
  std::string score = "cosine";
  std::string data;             // which data made it
  std::string command;          // the command that made it
  std::string created;          // date
  std::vector<CalibrationPoint> points;   // sorted by fmr, descending

  // Requires: 0 < fmr < 1.
  // Ensures: the threshold for `fmr`, interpolated log-linearly between neighbouring points.
  // Errors: kCalibrationMissing when fmr is outside the table's range, or the table is empty.
  Result<float> threshold_for(double fmr) const;
};

nlohmann::json to_json(const CalibrationTable& t);
// Errors: kConfigError when the JSON is not a valid table.
Result<CalibrationTable> calibration_from_json(const nlohmann::json& j);
// Errors: kIoError, kConfigError.
Result<CalibrationTable> load_calibration(const std::filesystem::path& file);
// The shipped table for a model: <model_dir>/calibration/<scores_model(model id)>.json (a model
// run by another runtime shares its table).
std::filesystem::path default_calibration_path(const std::filesystem::path& model_dir,
                                               const std::string& model_id);
// Whether `t` was made for the scores of embedder `model_id` (the same model on any runtime).
bool table_fits(const CalibrationTable& t, const std::string& model_id);

}  // namespace simkyc
