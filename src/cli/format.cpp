#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/format.h"

namespace simkyc::cli {

nlohmann::json reasons_json(const std::vector<Reason>& reasons) {
  nlohmann::json a = nlohmann::json::array();
  for (Reason r : reasons) {
    const auto& i = info(r);
    a.push_back({{"code", i.code}, {"message", i.message}, {"hint", i.hint}});
  }
  return a;
}

nlohmann::json analysis_json(const FaceAnalysis& fa) {
  const auto& q = fa.quality;
  const auto& r = fa.box.rect;
  return {{"box", {{"x", r.x}, {"y", r.y}, {"width", r.width}, {"height", r.height},
                   {"confidence", fa.box.confidence}, {"detector", fa.box.source}}},
          {"faces_found", fa.faces_found},
          {"quality", {{"ok", q.ok()}, {"inter_eye_px", q.inter_eye_px}, {"sharpness", q.sharpness},
                       {"brightness", q.brightness}, {"outside_fraction", q.outside_fraction},
                       {"yaw_deg", q.pose.yaw}, {"pitch_deg", q.pose.pitch}, {"roll_deg", q.pose.roll},
                       {"reasons", reasons_json(q.reasons)}}}};
}

int report_error(const Error& e, bool json) {
  if (json) {
    print_json({{"error", {{"code", e.code()}, {"message", e.describe()}, {"hint", info(e.reason).hint}}}});
  } else {
    std::cerr << "error: " << e.describe() << "\n";
  }
  return 2;
}

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

void add_match_options(CLI::App* cmd, MatchOptions& opts) {
  cmd->add_option("--fmr", opts.fmr, "Target false-match rate (e.g. 1e-3, 1e-4, 1e-5)")
      ->capture_default_str()
      ->check(CLI::Range(1e-7, 0.5));
  cmd->add_option("--calibration", opts.calibration,
                  "Calibration table (JSON from `simkyc calibrate`); default: the shipped one")
      ->check(CLI::ExistingFile);
  cmd->add_option("--embedder", opts.embedder,
                  "Descriptor: dlib_resnet_v1, dlib_resnet_onnx_v1, dlib_resnet_xnn_v1, faceres_v1, faceres_xnn_v1, or a fusion model (fusion_v1, "
                  "docs/accuracy.md); the shipped table is models/calibration/<embedder>.json")
      ->capture_default_str();
  cmd->add_option("--detector", opts.detector,
                  "Face detector: fr_hog+mmod, fr_detect+mmod, fr_detect, hog+mmod, blazeface_xnn_v1, dlib_recipe, any FIRST+FALLBACK (docs/accuracy.md, Detectors)")
      ->capture_default_str();
}

}  // namespace simkyc::cli
