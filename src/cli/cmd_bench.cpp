// simkyc bench — per-stage timings (median, p90), end-to-end verify, peak RSS.
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/bench_detect.h"
#include "cli/bench_inference.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "core/clock.h"
#include "core/file.h"
#include "liveness/engine.h"
#include "policy/verifier.h"

namespace simkyc::cli {
namespace {

struct BenchArgs {
  std::string id_photo = std::string(SIMKYC_SOURCE_DIR) + "/bench/data/id-640x480.jpg";
  std::string live = std::string(SIMKYC_SOURCE_DIR) + "/bench/data/live-640x480.jpg";
  int iterations = 20;
  bool json = false;
  bool detectors_only = false;   // only the detector rows and verify default vs dlib recipe (issue 12)
};

struct Row {
  std::string stage, size;
  double median = 0, p90 = 0;
  int n = 0;
};

Row summarize(std::string stage, std::string size, std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  Row r{std::move(stage), std::move(size), 0, 0, static_cast<int>(ms.size())};
  if (!ms.empty()) {
    r.median = ms[ms.size() / 2];
    r.p90 = ms[std::min(ms.size() - 1, static_cast<std::size_t>(0.9 * static_cast<double>(ms.size())))];
  }
  return r;
}

template <class F>
std::vector<double> repeat(int n, F&& f) {
  std::vector<double> out;
  f();   // warm-up
  for (int i = 0; i < n; ++i) {
    Stopwatch sw;
    f();
    out.push_back(sw.elapsed_ms());
  }
  return out;
}

// Liveness rows (issue 5): the passive check of one face, and a full challenge evaluation over
// 30 frames at 640x480 (the live photo, each frame slightly shifted so every frame is its own).
Status add_liveness_rows(const Context& ctx, const cv::Mat& live, int n, std::vector<Row>& rows) {
  auto engine = LivenessEngine::load(ctx.model_dir, LivenessConfig{});
  if (!engine) return engine.error();
  cv::Mat img;
  cv::resize(live, img, cv::Size(640, 480));
  auto det = make_hog_detector(DetectorConfig{});
  if (!det) return det.error();
  auto boxes = (*det)->detect(img);
  if (!boxes || boxes->empty()) return make_error(Reason::kNoFace, "bench image");
  const FaceBox box = boxes->front();
  rows.push_back(summarize("liveness passive (" + (*engine)->model_info().name + ", per frame)", "640x480",
                           repeat(n, [&] { (void)(*engine)->check_passive(img, box); })));
  std::vector<TimedFrame> frames;
  for (int i = 0; i < 30; ++i) {
    cv::Mat shifted;
    const cv::Mat m = (cv::Mat_<double>(2, 3) << 1, 0, i % 5, 0, 1, i / 5);
    cv::warpAffine(img, shifted, m, img.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    frames.push_back({shifted, 100 * i});
  }
  ChallengeSpec spec;
  spec.actions = {Action::kBlink, Action::kTurnLeft};
  rows.push_back(summarize("liveness challenge (30 frames, full evaluation)", "640x480",
                           repeat(std::max(1, n / 4), [&] { (void)(*engine)->check_challenge(std::span<const TimedFrame>(frames), spec); })));
  return ok_status();
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

int run_bench(const Context& ctx, const BenchArgs& a) {
  auto id_bytes = read_file_limited(a.id_photo, 20u << 20);
  if (!id_bytes) return report_error(id_bytes.error(), a.json);
  auto live_bytes = read_file_limited(a.live, 20u << 20);
  if (!live_bytes) return report_error(live_bytes.error(), a.json);
  auto live = decode_image(*live_bytes);
  if (!live) return report_error(live.error(), a.json);
  std::vector<Row> rows;
  const int n = a.iterations;
  double recipe_ratio = 0;
  const auto add_detector_rows = [&]() -> Status {
    auto d = detector_bench_rows(ctx.model_dir, live->bgr, *id_bytes, *live_bytes, n);
    if (!d) return d.error();
    for (auto& r : d->rows) rows.push_back(summarize(r.stage, r.size, std::move(r.ms)));
    recipe_ratio = d->verify_ratio;
    return ok_status();
  };
  if (a.detectors_only) {
    if (auto st = add_detector_rows(); !st) return report_error(st.error(), a.json);
    if (a.json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& r : rows) j.push_back({{"stage", r.stage}, {"size", r.size}, {"median_ms", r.median}, {"p90_ms", r.p90}, {"n", r.n}});
      print_json({{"rows", j}, {"verify_dlib_recipe_over_default", recipe_ratio}, {"peak_rss_mb", peak_rss_mb()}, {"iterations", n}});
      return 0;
    }
    std::cout << std::left << std::setw(76) << "stage" << std::setw(11) << "size" << std::right << std::setw(11) << "median ms"
              << std::setw(10) << "p90 ms" << std::setw(6) << "n" << "\n" << std::fixed << std::setprecision(2);
    for (const auto& r : rows)
      std::cout << std::left << std::setw(76) << r.stage.substr(0, 75) << std::setw(11) << r.size << std::right
                << std::setw(11) << r.median << std::setw(10) << r.p90 << std::setw(6) << r.n << "\n";
    std::cout << "verify, plain dlib recipe / default pipeline (medians, same run): " << recipe_ratio << "x\n"
              << "peak RSS (every detector and both pipelines loaded): " << std::setprecision(0) << peak_rss_mb() << " MB\n";
    return 0;
  }
  auto an = FaceAnalyzer::load(ctx.model_dir, AnalyzerConfig{});
  if (!an) return report_error(an.error(), a.json);
  auto det = make_hog_detector(DetectorConfig{});
  auto lm = make_dlib_landmarker(ctx.model_dir, 5);
  auto emb = make_dlib_resnet_embedder(ctx.model_dir);
  if (!det || !lm || !emb) return report_error(make_error(Reason::kModelError, "cannot load models"), a.json);

  for (int scale : {1, 2}) {
    cv::Mat img;
    cv::resize(live->bgr, img, cv::Size(), scale, scale, cv::INTER_LINEAR);
    std::vector<std::uint8_t> jpeg;
    cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
    const std::string size = std::to_string(img.cols) + "x" + std::to_string(img.rows);
    rows.push_back(summarize("decode", size, repeat(n, [&] { (void)decode_image(jpeg); })));
    std::vector<FaceBox> boxes;
    rows.push_back(summarize("detect (HOG)", size, repeat(n, [&] { boxes = *(*det)->detect(img); })));
    if (boxes.empty()) return report_error(make_error(Reason::kNoFace, "bench image"), a.json);
    Landmarks l;
    rows.push_back(summarize("landmarks (5 pt)", size, repeat(n, [&] { l = *(*lm)->locate(img, boxes[0]); })));
    FaceChip chip;
    rows.push_back(summarize("align", size, repeat(n, [&] { chip = align_face(img, l); })));
    rows.push_back(summarize("quality", size, repeat(n, [&] { (void)assess_quality(img, boxes[0], l, chip, QualityConfig{}); })));
    Descriptor d;
    rows.push_back(summarize("embed (dlib ResNet)", size, repeat(n, [&] { d = *(*emb)->embed(chip); })));
    rows.push_back(summarize("compare", size, repeat(n, [&] { (void)similarity(d, d); })));
  }
  // End-to-end verification with the default (dlib) pipeline, and its memory before any other
  // backend is loaded.
  for (bool parallel : {false, true}) {
    VerifierConfig vc;
    vc.parallel = parallel;
    auto v = Verifier::load(ctx.model_dir, vc);
    if (!v) return report_error(v.error(), a.json);
    rows.push_back(summarize(parallel ? "verify end-to-end (2 threads)" : "verify end-to-end (1 thread, baseline)",
                             "2 photos", repeat(n, [&] { (void)v->verify(*id_bytes, *live_bytes); })));
  }
  const double ratio = rows[rows.size() - 2].median / std::max(1e-9, rows.back().median);
  const double rss_default = peak_rss_mb();
  if (auto st = add_liveness_rows(ctx, live->bgr, n, rows); !st) return report_error(st.error(), a.json);
  // Inference backends side by side (issue 6; src/cli/bench_inference.cpp).
  auto inference = inference_bench_rows(ctx.model_dir, live->bgr, *id_bytes, *live_bytes, n);
  if (!inference) return report_error(inference.error(), a.json);
  for (auto& r : *inference) rows.push_back(summarize(r.stage, r.size, std::move(r.ms)));
  if (auto st = add_detector_rows(); !st) return report_error(st.error(), a.json);
  const double rss = peak_rss_mb();
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rows) j.push_back({{"stage", r.stage}, {"size", r.size}, {"median_ms", r.median}, {"p90_ms", r.p90}, {"n", r.n}});
    print_json({{"rows", j}, {"verify_speedup_vs_baseline", ratio}, {"peak_rss_mb", rss},
                {"peak_rss_mb_default_pipeline", rss_default},
                {"verify_dlib_recipe_over_default", recipe_ratio}, {"iterations", n}});
    return 0;
  }
  std::cout << std::left << std::setw(68) << "stage" << std::setw(11) << "size" << std::right << std::setw(11)
            << "median ms" << std::setw(10) << "p90 ms" << std::setw(6) << "n" << "\n"
            << std::string(106, '-') << "\n" << std::fixed << std::setprecision(2);
  for (const auto& r : rows)
    std::cout << std::left << std::setw(68) << r.stage.substr(0, 67) << std::setw(11) << r.size << std::right
              << std::setw(11) << r.median << std::setw(10) << r.p90 << std::setw(6) << r.n << "\n";
  std::cout << std::string(106, '-') << "\nverify speed-up, 2 threads vs 1-thread baseline: " << ratio << "x\n"
            << "verify, plain dlib recipe / default pipeline (medians, same run): " << recipe_ratio << "x\n"
            << "peak RSS: " << std::setprecision(0) << rss_default << " MB with the default pipeline, " << rss
            << " MB after loading every backend\n";
  return 0;
}

}  // namespace

void add_bench_commands(CLI::App& app, Context& ctx) {
  static BenchArgs a;
  auto* b = app.add_subcommand("bench", "Benchmark each stage and end-to-end verify; prints a table");
  b->add_option("--id-photo", a.id_photo, "Document photo (640x480)")->capture_default_str();
  b->add_option("--live", a.live, "Live photo (640x480); also scaled x2 to 1280x960")->capture_default_str();
  b->add_option("--iterations,-n", a.iterations, "Timed runs per stage")->capture_default_str()->check(CLI::Range(1, 100000));
  b->add_flag("--json", a.json, "Print JSON");
  b->add_flag("--detectors", a.detectors_only,
              "Only the detectors at 640x480 and 1280x960 and verify of the default pipeline against the plain dlib recipe");
  b->callback([&ctx] { ctx.exit_code = run_bench(ctx, a); });
}

}  // namespace simkyc::cli
