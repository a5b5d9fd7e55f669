// simkyc detect | quality | compare | verify
#include <iomanip>
#include <iostream>

#include "cli/commands.h"
#include "cli/format.h"
#include "core/clock.h"
#include "core/file.h"
#include "face/analyzer.h"
#include "image/image.h"
#include "policy/verifier.h"

namespace simkyc::cli {
namespace {

struct ImageArg {
  std::string path;
  bool json = false;
};

Result<FaceAnalyzer> load_analyzer(const Context& ctx, bool fallback = true, const std::string& detector = {}) {
  AnalyzerConfig cfg;
  cfg.detector.mmod_fallback = fallback;
  if (!detector.empty()) cfg.detector_id = detector;
  return FaceAnalyzer::load(ctx.model_dir, cfg);
}

void print_reasons_text(const std::vector<Reason>& reasons) {
  for (Reason r : reasons) std::cout << "  - " << code(r) << ": " << info(r).hint << "\n";
}

int run_detect(const Context& ctx, const ImageArg& a, bool fallback, const std::string& detector) {
  auto img = load_image(a.path);
  if (!img) return report_error(img.error(), a.json);
  auto an = load_analyzer(ctx, fallback, detector);
  if (!an) return report_error(an.error(), a.json);
  Stopwatch sw;
  auto faces = an->detect(img->bgr);
  const double ms = sw.elapsed_ms();
  if (!faces) return report_error(faces.error(), a.json);
  if (a.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& f : *faces)
      arr.push_back({{"x", f.rect.x}, {"y", f.rect.y}, {"width", f.rect.width}, {"height", f.rect.height},
                     {"confidence", f.confidence}, {"detector", f.source}});
    print_json({{"image", {{"width", img->bgr.cols}, {"height", img->bgr.rows}, {"format", to_string(img->format)}}},
                {"faces", arr}, {"timings_ms", {{"detect", ms}}}});
  } else {
    std::cout << faces->size() << " face(s) in " << img->bgr.cols << "x" << img->bgr.rows << " image ("
              << std::fixed << std::setprecision(1) << ms << " ms)\n";
    for (const auto& f : *faces)
      std::cout << "  " << f.source << " box x=" << f.rect.x << " y=" << f.rect.y << " w=" << f.rect.width
                << " h=" << f.rect.height << " confidence=" << f.confidence << "\n";
  }
  return faces->empty() ? 1 : 0;
}

int run_quality(const Context& ctx, const ImageArg& a) {
  auto img = load_image(a.path);
  if (!img) return report_error(img.error(), a.json);
  auto an = load_analyzer(ctx);
  if (!an) return report_error(an.error(), a.json);
  auto fa = an->analyze(img->bgr, /*embed=*/false);
  if (!fa) {
    if (fa.error().reason != Reason::kNoFace) return report_error(fa.error(), a.json);
    if (a.json) print_json({{"ok", false}, {"reasons", reasons_json({Reason::kNoFace})}});
    else std::cout << "not usable\n  - NO_FACE: " << info(Reason::kNoFace).hint << "\n";
    return 1;
  }
  if (a.json) {
    auto j = analysis_json(*fa);
    j["ok"] = fa->quality.ok();
    j["timings_ms"] = fa->timings_ms;
    print_json(j);
  } else {
    const auto& q = fa->quality;
    std::cout << (q.ok() ? "usable" : "not usable") << std::fixed << std::setprecision(1)
              << "\n  inter-eye " << q.inter_eye_px << " px, sharpness " << q.sharpness << ", brightness "
              << q.brightness << ", yaw " << q.pose.yaw << ", pitch " << q.pose.pitch << ", roll " << q.pose.roll
              << "\n";
    print_reasons_text(q.reasons);
  }
  return fa->quality.ok() ? 0 : 1;
}

Result<Verifier> load_verifier(const Context& ctx, const MatchOptions& m) {
  VerifierConfig cfg;
  cfg.policy.target_fmr = m.fmr;
  cfg.policy.review_fmr = std::max(cfg.policy.review_fmr, m.fmr);
  cfg.calibration = m.calibration;
  cfg.analyzer.embedder_id = m.embedder;
  cfg.analyzer.detector_id = m.detector;
  return Verifier::load(ctx.model_dir, cfg);
}

int run_verify(const Context& ctx, const std::string& id_photo, const std::string& live, const MatchOptions& m,
               bool json) {
  Stopwatch total;
  ImageLimits limits;
  auto doc_bytes = read_file_limited(id_photo, limits.max_bytes);
  if (!doc_bytes) return report_error(doc_bytes.error(), json);
  auto live_bytes = read_file_limited(live, limits.max_bytes);
  if (!live_bytes) return report_error(live_bytes.error(), json);
  Stopwatch load_sw;
  auto v = load_verifier(ctx, m);
  if (!v) return report_error(v.error(), json);
  const double load_ms = load_sw.elapsed_ms();
  auto out = v->verify(*doc_bytes, *live_bytes);
  if (!out) return report_error(out.error(), json);
  out->timings_ms["model_load"] = load_ms;
  out->timings_ms["wall"] = total.elapsed_ms();
  if (json) {
    nlohmann::json j = {{"decision", to_string(out->decision)},
                        {"reasons", reasons_json(out->reasons)},
                        {"score", out->score ? nlohmann::json(*out->score) : nlohmann::json(nullptr)},
                        {"threshold", out->threshold},
                        {"fmr", out->target_fmr},
                        {"model", v->calibration().model},
                        {"timings_ms", out->timings_ms}};
    if (out->document) j["document"] = analysis_json(*out->document);
    if (out->live) j["live"] = analysis_json(*out->live);
    print_json(j);
  } else {
    std::cout << to_string(out->decision) << std::fixed << std::setprecision(3);
    if (out->score) std::cout << "  score " << *out->score << " (threshold " << out->threshold << " at FMR "
                              << std::scientific << std::setprecision(0) << out->target_fmr << ")";
    std::cout << std::fixed << std::setprecision(1) << "\n";
    print_reasons_text(out->reasons);
    std::cout << "timings (ms):";
    for (const auto& [k, ms] : out->timings_ms) std::cout << " " << k << "=" << ms;
    std::cout << "\n";
  }
  return out->decision == Decision::kPass ? 0 : 1;
}

int run_compare(const Context& ctx, const std::string& a, const std::string& b, const MatchOptions& m, bool json) {
  auto ia = load_image(a);
  if (!ia) return report_error(ia.error(), json);
  auto ib = load_image(b);
  if (!ib) return report_error(ib.error(), json);
  auto v = load_verifier(ctx, m);
  if (!v) return report_error(v.error(), json);
  const VerifyOutcome out = v->verify(*ia, *ib);
  if (!out.score) {
    if (json) print_json({{"match", false}, {"reasons", reasons_json(out.reasons)}});
    else print_reasons_text(out.reasons);
    return 1;
  }
  const bool match = *out.score >= out.threshold;
  if (json) {
    print_json({{"score", *out.score}, {"threshold", out.threshold}, {"fmr", m.fmr}, {"match", match},
                {"model", v->calibration().model}});
  } else {
    std::cout << (match ? "same person" : "different people") << std::fixed << std::setprecision(3) << " (score "
              << *out.score << ", threshold " << out.threshold << ")\n";
  }
  return match ? 0 : 1;
}

}  // namespace

void add_face_commands(CLI::App& app, Context& ctx) {
  static ImageArg detect_arg, quality_arg;
  static bool no_fallback = false;
  auto* det = app.add_subcommand("detect", "Find faces in an image (dlib HOG, MMOD fallback)");
  det->add_option("image", detect_arg.path, "Image file")->required();
  det->add_flag("--json", detect_arg.json, "Print JSON");
  static std::string detector;
  det->add_flag("--no-fallback", no_fallback, "HOG only, no MMOD CNN fallback");
  det->add_option("--detector", detector,
                  "Detector instead of the default: hog, mmod, blazeface, blazeface_xnn_v1, fr_detect, dlib_recipe, or a cascade FIRST+FALLBACK (e.g. fr_detect+mmod)");
  det->callback([&ctx] { ctx.exit_code = run_detect(ctx, detect_arg, !no_fallback, detector); });

  auto* q = app.add_subcommand("quality", "Check whether the main face in an image is usable");
  q->add_option("image", quality_arg.path, "Image file")->required();
  q->add_flag("--json", quality_arg.json, "Print JSON");
  q->callback([&ctx] { ctx.exit_code = run_quality(ctx, quality_arg); });

  static std::string cmp_a, cmp_b;
  static MatchOptions cmp_opts;
  static bool cmp_json = false;
  auto* c = app.add_subcommand("compare", "Compare the faces in two images (score and threshold)");
  c->add_option("image1", cmp_a, "First image")->required();
  c->add_option("image2", cmp_b, "Second image")->required();
  add_match_options(c, cmp_opts);
  c->add_flag("--json", cmp_json, "Print JSON");
  c->callback([&ctx] { ctx.exit_code = run_compare(ctx, cmp_a, cmp_b, cmp_opts, cmp_json); });

  static std::string id_photo, live;
  static MatchOptions ver_opts;
  static bool ver_json = false;
  auto* v = app.add_subcommand("verify",
                               "Verify a live photo against an ID document portrait.\n"
                               "Exit code: 0 PASS, 1 FAIL or REVIEW, 2 usage or input error");
  v->add_option("--id-photo", id_photo, "Document portrait (chip photo or card crop)")->required();
  v->add_option("--live", live, "Live capture of the customer")->required();
  add_match_options(v, ver_opts);
  v->add_flag("--json", ver_json, "Print JSON (decision, reasons, score, threshold, timings_ms)");
  v->callback([&ctx] { ctx.exit_code = run_verify(ctx, id_photo, live, ver_opts, ver_json); });
}

}  // namespace simkyc::cli
