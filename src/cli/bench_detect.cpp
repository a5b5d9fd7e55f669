#include "cli/bench_detect.h"

#include <algorithm>
#include <map>

#include <opencv2/imgproc.hpp>

#include "core/clock.h"
#include "face/detector.h"
#include "policy/verifier.h"

namespace simkyc::cli {
namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

Result<DetectorBench> detector_bench_rows(const std::filesystem::path& model_dir, const cv::Mat& live,
                                          std::span<const std::uint8_t> id_bytes,
                                          std::span<const std::uint8_t> live_bytes, int n) {
  DetectorBench out;
  for (cv::Size size : {cv::Size(640, 480), cv::Size(1280, 960)}) {
    cv::Mat img;
    cv::resize(live, img, size, 0, 0, cv::INTER_LINEAR);
    const std::string sz = std::to_string(size.width) + "x" + std::to_string(size.height);
    for (const char* id : {"hog", "fr_detect", "fr_hog", "blazeface_xnn_v1", kDefaultDetector, "hog_up1", "dlib_recipe"}) {
      auto det = make_detector(model_dir, id, DetectorConfig{});
      if (!det) continue;
      const bool slow = std::string(id) == "hog_up1" || std::string(id) == "dlib_recipe";
      TimedRow row{std::string("detect ") + id + (std::string(id) == kDefaultDetector ? " (default)" : ""), sz, {}};
      (void)(*det)->detect(img);   // warm-up
      for (int i = 0; i < (slow ? std::max(1, n / 4) : n); ++i) {
        Stopwatch sw;
        auto r = (*det)->detect(img);
        row.ms.push_back(sw.elapsed_ms());
        if (!r || r->empty()) return make_error(Reason::kNoFace, std::string(id) + " on the bench photo at " + sz);
      }
      out.rows.push_back(std::move(row));
    }
  }
  // The default pipeline (detector, decision embedder) and the plain dlib recipe, alternately.
  VerifierConfig fast, plain;
  fast.analyzer.embedder_id = kDecisionEmbedder;
  plain.analyzer.detector_id = "dlib_recipe";
  plain.analyzer.embedder_id = "dlib_resnet_v1";
  auto vf = Verifier::load(model_dir, fast);
  if (!vf) return vf.error();
  auto vp = Verifier::load(model_dir, plain);
  if (!vp) return vp.error();
  TimedRow rf{std::string("verify default: ") + kDefaultDetector + " + " + kDecisionEmbedder + " (2 threads)", "2 photos", {}};
  TimedRow rp{"verify plain dlib recipe: dlib_recipe + dlib_resnet_v1 (2 threads)", "2 photos", {}};
  (void)vf->verify(id_bytes, live_bytes);
  (void)vp->verify(id_bytes, live_bytes);
  // The default pipeline's own stages (VerifyOutcome::timings_ms: summed over the two photos,
  // which run on two threads, so they add up to more than the wall time).
  std::map<std::string, TimedRow> stages;
  for (int i = 0; i < n; ++i) {
    for (auto* p : {&rf, &rp}) {
      Stopwatch sw;
      auto r = (p == &rf ? *vf : *vp).verify(id_bytes, live_bytes);
      p->ms.push_back(sw.elapsed_ms());
      if (!r || !r->score) return make_error(Reason::kNoFace, "bench photos: " + p->stage);
      if (p != &rf) continue;
      for (const auto& [k, ms] : r->timings_ms) {
        auto& row = stages[k];
        if (row.stage.empty()) row = {"  default pipeline stage: " + k + " (both photos)", "2 photos", {}};
        row.ms.push_back(ms);
      }
    }
  }
  out.verify_ratio = median_of(rp.ms) / std::max(1e-9, median_of(rf.ms));
  out.rows.push_back(std::move(rf));
  for (auto& [k, row] : stages) out.rows.push_back(std::move(row));
  out.rows.push_back(std::move(rp));
  return out;
}

}  // namespace simkyc::cli
