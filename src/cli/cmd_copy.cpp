// simkyc copy-check — how alike two face photos are as pictures (not as people): the pixel
// correlation of their aligned face chips (src/match/copy_check.h).  Measures the threshold that
// refuses a copy of the document portrait as the live capture (LIVE_IS_DOCUMENT_COPY).
//   simkyc copy-check A B            one pair
//   simkyc copy-check --variants A   A against copies of itself: resized, JPEG re-encoded, cropped
//   simkyc copy-check --pairs FILE   one "A B" pair per line (different photos: genuine pairs)
#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/commands.h"
#include "cli/format.h"
#include "face/analyzer.h"
#include "image/image.h"
#include "match/copy_check.h"

namespace simkyc::cli {
namespace {

struct CopyArgs {
  std::vector<std::string> images;
  std::string pairs, variants;
  bool json = false;
};

Result<ChipPrint> print_of(FaceAnalyzer& an, const cv::Mat& bgr) {
  auto fa = an.analyze(bgr, /*embed=*/false);
  if (!fa) return fa.error();
  return chip_print(fa->chip.bgr);
}

Result<ChipPrint> print_of_file(FaceAnalyzer& an, const std::string& path) {
  auto img = load_image(path);
  if (!img) return img.error();
  return print_of(an, img->bgr);
}

// Copies of one picture as someone might make them: resized, re-encoded, cropped.
std::vector<std::pair<std::string, cv::Mat>> variants_of(const cv::Mat& src) {
  std::vector<std::pair<std::string, cv::Mat>> out;
  auto jpeg = [](const cv::Mat& m, int q) {
    std::vector<std::uint8_t> buf;
    cv::imencode(".jpg", m, buf, {cv::IMWRITE_JPEG_QUALITY, q});
    return cv::imdecode(buf, cv::IMREAD_COLOR);
  };
  auto resized = [](const cv::Mat& m, double f) {
    cv::Mat r;
    cv::resize(m, r, cv::Size(), f, f, f < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
    return r;
  };
  auto crop = [](const cv::Mat& m, double keep) {
    const int w = static_cast<int>(m.cols * keep), h = static_cast<int>(m.rows * keep);
    return m(cv::Rect((m.cols - w) / 2, (m.rows - h) / 3, w, h)).clone();
  };
  out.emplace_back("same", src.clone());
  for (double f : {0.5, 0.35, 1.6}) out.emplace_back("resize_" + std::to_string(f).substr(0, 4), resized(src, f));
  for (int q : {90, 60, 30}) out.emplace_back("jpeg_q" + std::to_string(q), jpeg(src, q));
  for (double k : {0.85, 0.7}) out.emplace_back("crop_" + std::to_string(k).substr(0, 4), crop(src, k));
  out.emplace_back("crop_0.7_resize_0.6_jpeg_q50", jpeg(resized(crop(src, 0.7), 0.6), 50));
  cv::Mat brighter;
  src.convertTo(brighter, -1, 1.1, 12);
  out.emplace_back("brighter_jpeg_q70", jpeg(brighter, 70));
  return out;
}

int run_copy_check(const Context& ctx, const CopyArgs& a) {
  AnalyzerConfig cfg;
  auto an = FaceAnalyzer::load(ctx.model_dir, cfg);
  if (!an) return report_error(an.error(), a.json);
  nlohmann::json rows = nlohmann::json::array();
  auto add = [&](const std::string& x, const std::string& y, const Result<ChipPrint>& px, const Result<ChipPrint>& py) {
    nlohmann::json r = {{"a", x}, {"b", y}};
    if (!px) r["error"] = std::string(code(px.error().reason));
    else if (!py) r["error"] = std::string(code(py.error().reason));
    else {
      const float c = chip_correlation(*px, *py);
      r["correlation"] = c;
      r["copy"] = c >= kCopyMinCorrelation;
    }
    rows.push_back(r);
  };
  if (!a.variants.empty()) {
    auto img = load_image(a.variants);
    if (!img) return report_error(img.error(), a.json);
    const auto base = print_of(*an, img->bgr);
    for (const auto& [name, m] : variants_of(img->bgr)) add(a.variants, name, base, print_of(*an, m));
  }
  std::map<std::string, Result<ChipPrint>> cache;   // a photo in many pairs is analysed once
  auto cached = [&](const std::string& path) -> const Result<ChipPrint>& {
    auto it = cache.find(path);
    if (it == cache.end()) it = cache.emplace(path, print_of_file(*an, path)).first;
    return it->second;
  };
  if (!a.pairs.empty()) {
    std::ifstream in(a.pairs);
    if (!in) return report_error(make_error(Reason::kIoError, a.pairs), a.json);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string x, y;
      if (!(ls >> x >> y) || x[0] == '#') continue;
      add(x, y, cached(x), cached(y));
    }
  }
  if (a.images.size() == 2) add(a.images[0], a.images[1], print_of_file(*an, a.images[0]), print_of_file(*an, a.images[1]));
  else if (!a.images.empty()) return report_error(make_error(Reason::kUsage, "give two images, --variants or --pairs"), a.json);
  int copies = 0, compared = 0;
  float lo = 1, hi = -1;
  for (const auto& r : rows)
    if (r.contains("correlation")) {
      ++compared;
      copies += r["copy"].get<bool>();
      lo = std::min(lo, r["correlation"].get<float>());
      hi = std::max(hi, r["correlation"].get<float>());
    }
  if (a.json) {
    print_json({{"threshold", kCopyMinCorrelation}, {"pairs", rows}, {"compared", compared}, {"copies", copies},
                {"min", compared ? nlohmann::json(lo) : nlohmann::json(nullptr)},
                {"max", compared ? nlohmann::json(hi) : nlohmann::json(nullptr)}});
  } else {
    for (const auto& r : rows) {
      std::cout << r["a"].get<std::string>() << "  " << r["b"].get<std::string>() << "  ";
      if (r.contains("error")) std::cout << r["error"].get<std::string>() << "\n";
      else std::cout << std::fixed << std::setprecision(4) << r["correlation"].get<float>() << (r["copy"].get<bool>() ? "  COPY" : "") << "\n";
    }
    std::cout << compared << " compared, " << copies << " at or above " << kCopyMinCorrelation << " (min "
              << lo << ", max " << hi << ")\n";
  }
  return 0;
}

}  // namespace

void add_copy_commands(CLI::App& app, Context& ctx) {
  static CopyArgs a;
  auto* c = app.add_subcommand("copy-check",
                               "Pixel correlation of two photos' aligned face chips: is one a copy of the other "
                               "(resized, re-encoded, cropped)? Refuses a document copy as the live capture.");
  c->add_option("images", a.images, "Two photos to compare");
  c->add_option("--variants", a.variants, "Compare a photo with resized, JPEG re-encoded and cropped copies of itself");
  c->add_option("--pairs", a.pairs, "File of \"A B\" lines: pairs of different photos");
  c->add_flag("--json", a.json, "JSON output");
  c->callback([&ctx] { ctx.exit_code = run_copy_check(ctx, a); });
}

}  // namespace simkyc::cli
