#include "liveness/pad.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "liveness/passive_lbp.h"

namespace simkyc {

Result<float> PadCalibration::threshold_for(double bpcer) const {
  if (points.empty()) return make_error(Reason::kCalibrationMissing, "empty liveness calibration");
  if (!(bpcer > 0 && bpcer < 1)) return make_error(Reason::kCalibrationMissing, "bpcer must be in (0,1)");
  constexpr double kEps = 1e-9;
  for (const auto& p : points)
    if (std::abs(std::log10(p.bpcer) - std::log10(bpcer)) < kEps) return p.threshold;
  for (std::size_t i = 0; i + 1 < points.size(); ++i) {
    const auto& lo = points[i];       // smaller bpcer, higher threshold
    const auto& hi = points[i + 1];
    if (bpcer >= lo.bpcer && bpcer <= hi.bpcer) {
      const double t = (std::log10(bpcer) - std::log10(lo.bpcer)) / (std::log10(hi.bpcer) - std::log10(lo.bpcer));
      return static_cast<float>(lo.threshold + t * (hi.threshold - lo.threshold));
    }
  }
  char buf[80];
  std::snprintf(buf, sizeof buf, "bpcer %.3g outside the liveness table [%.3g, %.3g]", bpcer, points.front().bpcer,
                points.back().bpcer);
  return make_error(Reason::kCalibrationMissing, buf);
}

nlohmann::json to_json(const PadCalibration& c) {
  nlohmann::json pts = nlohmann::json::array();
  for (const auto& p : c.points) pts.push_back({{"bpcer", p.bpcer}, {"threshold", p.threshold}, {"apcer", p.apcer}});
  return {{"model", c.model}, {"data", c.data}, {"command", c.command}, {"created", c.created},
          {"live", c.live},   {"attack", c.attack}, {"points", pts}};
}

Result<PadCalibration> pad_calibration_from_json(const nlohmann::json& j) {
  try {
    PadCalibration c;
    c.model = j.at("model").get<std::string>();
    c.data = j.value("data", "");
    c.command = j.value("command", "");
    c.created = j.value("created", "");
    c.live = j.value("live", 0LL);
    c.attack = j.value("attack", 0LL);
    for (const auto& p : j.at("points"))
      c.points.push_back({p.at("bpcer").get<double>(), p.at("threshold").get<float>(), p.value("apcer", 0.0)});
    std::sort(c.points.begin(), c.points.end(), [](const auto& a, const auto& b) { return a.bpcer < b.bpcer; });
    for (const auto& p : c.points)
      if (!(p.bpcer > 0 && p.bpcer < 1)) return make_error(Reason::kConfigError, "liveness calibration: bpcer outside (0,1)");
    return c;
  } catch (const nlohmann::json::exception& e) {
    return make_error(Reason::kConfigError, std::string("liveness calibration: ") + e.what());
  }
}

Result<PadCalibration> load_pad_calibration(const std::filesystem::path& file) {
  auto text = read_text_file(file, 1u << 20);
  if (!text) return text.error();
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return make_error(Reason::kConfigError, file.string() + ": not JSON");
  return pad_calibration_from_json(j);
}

std::filesystem::path default_pad_calibration_path(const std::filesystem::path& model_dir, const std::string& model_id) {
  return model_dir / "liveness" / (model_id + ".calibration.json");
}

namespace {
// Share of `v` (sorted ascending) that is >= t.
double share_at_or_above(const std::vector<float>& v, float t) {
  if (v.empty()) return 0;
  return static_cast<double>(v.end() - std::lower_bound(v.begin(), v.end(), t)) / static_cast<double>(v.size());
}
double share_below(const std::vector<float>& v, float t) { return v.empty() ? 0 : 1.0 - share_at_or_above(v, t); }

// The threshold refusing at most floor(bpcer * n) of the sorted live scores.
float threshold_at_bpcer(const std::vector<float>& live_sorted, double bpcer) {
  const auto n = live_sorted.size();
  const auto k = static_cast<std::size_t>(std::floor(bpcer * static_cast<double>(n) + 1e-9));
  if (k >= n) return live_sorted.front();
  // Just above the (k+1)-th highest live score: it and everything below stay live.
  return std::nextafter(live_sorted[n - 1 - k], std::numeric_limits<float>::infinity());
}
}  // namespace

PadCalibration make_pad_calibration(const std::string& model, const std::vector<float>& live,
                                    const std::vector<float>& attack, const std::vector<double>& bpcers) {
  PadCalibration c;
  c.model = model;
  c.live = static_cast<long long>(live.size());
  c.attack = static_cast<long long>(attack.size());
  std::vector<float> l = live, a = attack;
  std::sort(l.begin(), l.end());
  std::sort(a.begin(), a.end());
  if (l.empty()) return c;
  for (double b : bpcers) {
    const float t = threshold_at_bpcer(l, b);
    c.points.push_back({b, t, share_below(a, t)});
  }
  std::sort(c.points.begin(), c.points.end(), [](const auto& x, const auto& y) { return x.bpcer < y.bpcer; });
  return c;
}

PadMetrics compute_pad_metrics(const std::vector<float>& live, const std::vector<float>& attack, float threshold,
                               const std::vector<double>& apcer_targets) {
  PadMetrics m;
  std::vector<float> l = live, a = attack;
  std::sort(l.begin(), l.end());
  std::sort(a.begin(), a.end());
  m.live = static_cast<long long>(l.size());
  m.attack = static_cast<long long>(a.size());
  m.threshold = threshold;
  m.apcer = share_below(a, threshold);
  m.bpcer = share_at_or_above(l, threshold);
  m.acer = (m.apcer + m.bpcer) / 2;
  // Every distinct score is a candidate threshold (plus one above all).
  std::vector<float> ts(l.begin(), l.end());
  ts.insert(ts.end(), a.begin(), a.end());
  std::sort(ts.begin(), ts.end());
  ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
  if (!ts.empty()) ts.push_back(std::nextafter(ts.back(), std::numeric_limits<float>::infinity()));
  double best = 2;
  for (float t : ts) {
    const double ap = share_below(a, t), bp = share_at_or_above(l, t);
    m.det.emplace_back(ap, bp);
    if (std::abs(ap - bp) < best) {
      best = std::abs(ap - bp);
      m.eer = (ap + bp) / 2;
      m.eer_threshold = t;
    }
  }
  for (double target : apcer_targets) {
    BpcerAtApcer r;
    r.apcer_target = target;
    r.supported = static_cast<double>(a.size()) * target >= 1.0;
    if (!a.empty()) {
      // The highest threshold with APCER <= target: exactly k attacks fall below a[k].
      const auto k = std::min(a.size() - 1, static_cast<std::size_t>(std::floor(target * static_cast<double>(a.size()) + 1e-9)));
      r.threshold = a[k];
      r.bpcer = share_at_or_above(l, r.threshold);
    }
    m.bpcer_at_apcer.push_back(r);
  }
  return m;
}

Result<std::unique_ptr<LivenessModel>> make_liveness_model(const std::filesystem::path& model_dir, const std::string& id) {
  if (id.rfind("lbp_", 0) == 0) return make_lbp_liveness_model(model_dir, id);
  return make_dnn_liveness_model(model_dir, id);
}

Result<float> passive_threshold(const std::filesystem::path& model_dir, const PassiveConfig& cfg) {
  if (cfg.threshold >= 0) return cfg.threshold;
  auto table = load_pad_calibration(cfg.calibration.empty() ? default_pad_calibration_path(model_dir, cfg.model)
                                                            : std::filesystem::path(cfg.calibration));
  if (!table) return table.error();
  if (table->model != cfg.model)
    return make_error(Reason::kConfigError, "liveness calibration is for " + table->model + ", not " + cfg.model);
  return table->threshold_for(cfg.target_bpcer);
}

}  // namespace simkyc
