#include "match/match.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "face/embedder.h"

namespace simkyc {

float similarity(const Descriptor& a, const Descriptor& b) {
  if (a.size() != b.size() || a.empty()) return -1.f;
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (!(na > 0 && nb > 0)) return -1.f;
  return static_cast<float>(std::clamp(dot / std::sqrt(na * nb), -1.0, 1.0));
}

Result<float> CalibrationTable::threshold_for(double fmr) const {
  if (points.empty()) return make_error(Reason::kCalibrationMissing, "empty table");
  if (!(fmr > 0 && fmr < 1)) return make_error(Reason::kCalibrationMissing, "fmr must be in (0,1)");
  constexpr double kEps = 1e-9;
  for (const auto& p : points)
    if (std::abs(std::log10(p.fmr) - std::log10(fmr)) < kEps) return p.threshold;
  for (std::size_t i = 0; i + 1 < points.size(); ++i) {
    const auto& hi = points[i];      // larger fmr, lower threshold
    const auto& lo = points[i + 1];
    if (fmr <= hi.fmr && fmr >= lo.fmr) {
      const double t = (std::log10(hi.fmr) - std::log10(fmr)) / (std::log10(hi.fmr) - std::log10(lo.fmr));
      return static_cast<float>(hi.threshold + t * (lo.threshold - hi.threshold));
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "fmr %.1e outside table [%.1e, %.1e]", fmr, points.back().fmr, points.front().fmr);
  return make_error(Reason::kCalibrationMissing, buf);
}

nlohmann::json to_json(const CalibrationTable& t) {
  nlohmann::json pts = nlohmann::json::array();
  for (const auto& p : t.points)
    pts.push_back({{"fmr", p.fmr}, {"threshold", p.threshold}, {"impostor_pairs", p.impostor_pairs}, {"tar", p.tar}});
  return {{"model", t.model}, {"score", t.score}, {"data", t.data}, {"command", t.command},
          {"created", t.created}, {"points", pts}};
}

Result<CalibrationTable> calibration_from_json(const nlohmann::json& j) {
  try {
    CalibrationTable t;
    t.model = j.at("model").get<std::string>();
    t.score = j.value("score", "cosine");
    t.data = j.value("data", "");
    t.command = j.value("command", "");
    t.created = j.value("created", "");
    for (const auto& p : j.at("points")) {
      CalibrationPoint c;
      c.fmr = p.at("fmr").get<double>();
      c.threshold = p.at("threshold").get<float>();
      c.impostor_pairs = p.value("impostor_pairs", 0LL);
      c.tar = p.value("tar", 0.0);
      if (!(c.fmr > 0 && c.fmr < 1) || !std::isfinite(c.threshold))
        return make_error(Reason::kConfigError, "calibration point out of range");
      t.points.push_back(c);
    }
    std::sort(t.points.begin(), t.points.end(), [](auto& a, auto& b) { return a.fmr > b.fmr; });
    if (t.points.empty()) return make_error(Reason::kConfigError, "calibration has no points");
    return t;
  } catch (const nlohmann::json::exception& e) {
    return make_error(Reason::kConfigError, std::string("calibration: ") + e.what());
  }
}

Result<CalibrationTable> load_calibration(const std::filesystem::path& file) {
  auto text = read_text_file(file, 1u << 20);
  if (!text) return make_error(Reason::kIoError, "cannot read calibration " + file.string());
  try {
    return calibration_from_json(nlohmann::json::parse(*text));
  } catch (const nlohmann::json::exception& e) {
    return make_error(Reason::kConfigError, std::string("calibration: ") + e.what());
  }
}

std::filesystem::path default_calibration_path(const std::filesystem::path& model_dir,
                                               const std::string& model_id) {
  return model_dir / "calibration" / (scores_model(model_id) + ".json");
}

bool table_fits(const CalibrationTable& t, const std::string& model_id) {
  return scores_model(t.model) == scores_model(model_id);
}

}  // namespace simkyc
