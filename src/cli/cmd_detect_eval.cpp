// simkyc detect-eval: detectors side by side on folders of photos (issue 12): how many photos
// each finds no face in, its time per photo, and its box geometry against a reference detector.
#include <algorithm>
#include <atomic>
#include <iomanip>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/format.h"
#include "core/clock.h"
#include "core/file.h"
#include "face/batch.h"
#include "face/detector.h"
#include "image/image.h"

namespace simkyc::cli {
namespace {

struct DetectEvalArgs {
  std::vector<std::string> folders;
  std::vector<std::string> detectors = {"hog+mmod"};
  std::string reference;
  std::string variant = "full";
  int threads = 0;
  bool json = false;
};

bool is_image(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* x : {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".webp", ".jp2"})
    if (e == x) return true;
  return false;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

struct PerImage {
  bool decoded = false;
  std::vector<std::optional<FaceBox>> main;   // per detector: the largest face, if any
  std::vector<double> ms;                     // per detector
};

int run_detect_eval(const Context& ctx, const DetectEvalArgs& a) {
  if (a.variant != "full" && a.variant != "chip" && a.variant != "small")
    return report_error(make_error(Reason::kUsage, "--variant: full, chip or small"), a.json);
  std::vector<std::filesystem::path> files;
  for (const auto& f : a.folders)
    for (const auto& e : std::filesystem::recursive_directory_iterator(f))
      if (e.is_regular_file() && is_image(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> ids = a.detectors;
  if (!a.reference.empty()) ids.push_back(a.reference);
  std::vector<std::unique_ptr<Detector>> dets;
  for (const auto& id : ids) {
    auto d = make_detector(ctx.model_dir, id, DetectorConfig{});
    if (!d) return report_error(d.error(), a.json);
    dets.push_back(std::move(d.value()));
  }
  const int threads = a.threads > 0 ? a.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<PerImage> out(files.size());
  std::atomic<std::size_t> next{0};
  auto work = [&](std::vector<std::unique_ptr<Detector>> mine) {
    for (std::size_t i; (i = next.fetch_add(1)) < files.size();) {
      auto bytes = read_file_limited(files[i], ImageLimits{}.max_bytes);
      auto img = bytes ? decode_image(*bytes) : Result<Image>(bytes.error());
      if (!img) continue;
      const cv::Mat m = a.variant == "chip" ? simulate_chip_photo(img->bgr)
                        : a.variant == "small" ? simulate_small_face(img->bgr)
                                               : img->bgr;
      out[i].decoded = true;
      for (auto& d : mine) {
        Stopwatch sw;
        auto r = d->detect(m);
        out[i].ms.push_back(sw.elapsed_ms());
        out[i].main.push_back(r && !r->empty() ? std::optional<FaceBox>(r->front()) : std::nullopt);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    std::vector<std::unique_ptr<Detector>> c;
    for (const auto& d : dets) c.push_back(d->clone());
    pool.emplace_back(work, std::move(c));
  }
  work(std::move(dets));
  for (auto& t : pool) t.join();

  nlohmann::json rows = nlohmann::json::array();
  long long decoded = 0;
  for (const auto& p : out) decoded += p.decoded ? 1 : 0;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    long long none = 0;
    std::vector<double> ms, size, dx, dy, aspect;
    nlohmann::json missed = nlohmann::json::array();
    for (std::size_t i = 0; i < out.size(); ++i) {
      const auto& p = out[i];
      if (!p.decoded) continue;
      ms.push_back(p.ms[k]);
      if (!p.main[k]) {
        ++none;
        missed.push_back(files[i].string());
        continue;
      }
      if (a.reference.empty() || k + 1 == ids.size() || !p.main.back()) continue;
      const cv::Rect2f d = p.main[k]->rect, r = p.main.back()->rect;
      const float inter = (d & r).area();
      if (inter < 0.3f * std::min(d.area(), r.area())) continue;   // not the same face
      // Reference geometry in units of this detector's box height (fr_geometry.h's FrBoxMap).
      size.push_back(r.height / d.height);
      dx.push_back((r.x + r.width / 2 - d.x - d.width / 2) / d.height);
      dy.push_back((r.y + r.height / 2 - d.y - d.height / 2) / d.height);
      aspect.push_back(d.width / d.height);
    }
    nlohmann::json row = {{"detector", ids[k]},
                          {"variant", a.variant},
                          {"images", decoded},
                          {"no_face", none},
                          {"no_face_rate", decoded > 0 ? static_cast<double>(none) / static_cast<double>(decoded) : 0.0},
                          {"ms_median", quantile(ms, 0.5)},
                          {"ms_p90", quantile(ms, 0.9)},
                          {"ms_max", quantile(ms, 1.0)},
                          {"missed", missed}};
    if (!size.empty())
      row["geometry_vs_reference"] = {{"reference", a.reference}, {"matched", size.size()},
                                      {"size", quantile(size, 0.5)}, {"dx", quantile(dx, 0.5)},
                                      {"dy", quantile(dy, 0.5)}, {"aspect", quantile(aspect, 0.5)}};
    rows.push_back(row);
  }
  if (a.json) {
    print_json({{"folders", a.folders}, {"threads", threads}, {"detectors", rows}});
  } else {
    std::cout << decoded << " images (" << a.variant << "), " << threads << " threads\n";
    for (const auto& r : rows) {
      std::cout << std::left << std::setw(24) << r["detector"].get<std::string>() << std::right << " no face "
                << r["no_face"].get<long long>() << std::fixed << std::setprecision(2) << " ("
                << 100 * r["no_face_rate"].get<double>() << "%), ms median " << r["ms_median"].get<double>() << " p90 "
                << r["ms_p90"].get<double>();
      if (r.contains("geometry_vs_reference")) {
        const auto& g = r["geometry_vs_reference"];
        std::cout << std::setprecision(3) << "; vs " << a.reference << " (" << g["matched"].get<std::size_t>()
                  << "): size " << g["size"].get<double>() << " dx " << g["dx"].get<double>() << " dy "
                  << g["dy"].get<double>() << " aspect " << g["aspect"].get<double>();
      }
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace

void add_detect_eval_commands(CLI::App& app, Context& ctx) {
  static DetectEvalArgs a;
  auto* c = app.add_subcommand("detect-eval",
                               "Detectors side by side on folders of photos: photos with no face found, time per photo, "
                               "box geometry against a reference detector");
  c->add_option("folders", a.folders, "Folders (searched recursively for images)")->required()->check(CLI::ExistingDirectory);
  c->add_option("--detector", a.detectors, "Detectors (make_detector names; repeat or list)")->capture_default_str();
  c->add_option("--reference", a.reference, "Also run this detector and report each one's box geometry against it");
  c->add_option("--variant", a.variant,
                "full: the photos as they are; chip: 102x126 JPEG-75 chip copies; small: each photo's longer side "
                "at 240 px inside a 1280x960 frame")
      ->capture_default_str();
  c->add_option("--threads", a.threads, "Worker threads (default: all cores); times are per photo on one thread");
  c->add_flag("--json", a.json, "Print JSON");
  c->callback([&ctx] { ctx.exit_code = run_detect_eval(ctx, a); });
}

}  // namespace simkyc::cli
