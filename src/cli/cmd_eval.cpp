// simkyc eval | calibrate
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <thread>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/plot.h"
#include "cli/progress.h"
#include "face/batch.h"
#include "match/evaluation.h"
#include "policy/decision.h"
#include "registry/service.h"

namespace simkyc::cli {
namespace {

struct EvalArgs {
  std::string pairs, folders, plot, calibration_out, calibration;
  // The decision embedder and the default detector (issues 11, 12: one command measures what ships).
  std::string embedder = kDecisionEmbedder, detector = kDefaultDetector;
  bool json = false;
  int threads = 0;
  std::vector<double> fars = {1e-2, 1e-3, 1e-4};
  bool id_portrait = false;   // first image of each pair as a 102x126 JPEG-75 chip photo
};

std::string far_key(double far) {
  const int e = static_cast<int>(std::lround(std::log10(far)));
  if (std::abs(std::pow(10.0, e) - far) < 1e-12) return "1e" + std::to_string(e);
  std::ostringstream o;
  o << far;
  return o.str();
}

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

struct Scored {
  PairList list;
  std::vector<BatchItem> items;
  std::vector<float> genuine, impostor;
  std::vector<bool> genuine_flagged, impostor_flagged;   // either face failed a quality check
  std::string model, data;
  long long fte = 0;
  long long fte_chip = 0;   // with --id-portrait: chip-size copies that failed to enrol
};

Result<Scored> score_pairs(const Context& ctx, const EvalArgs& a) {
  Scored s;
  if (a.pairs.empty() == a.folders.empty())
    return make_error(Reason::kUsage, "give either a pair list or --folders DIR");
  auto list = a.folders.empty() ? read_pair_list(a.pairs) : pairs_from_folders(a.folders);
  if (!list) return list.error();
  s.list = std::move(list.value());
  s.data = a.folders.empty() ? a.pairs : a.folders;
  AnalyzerConfig acfg;
  acfg.embedder_id = a.embedder;
  acfg.detector_id = a.detector;
  auto analyzer = FaceAnalyzer::load(ctx.model_dir, acfg);
  if (!analyzer) return analyzer.error();
  s.model = analyzer->embedder_info().name;
  const int threads = a.threads > 0 ? a.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  ProgressBar bar("embedding " + std::to_string(s.list.images.size()) + " images");
  s.items = analyze_files(s.list.images, *analyzer, threads, [&](std::size_t d, std::size_t t) { bar.update(d, t); });
  std::vector<BatchItem> chips;
  if (a.id_portrait) {
    ProgressBar chip_bar("embedding chip-size copies");
    chips = analyze_files(s.list.images, *analyzer, threads, [&](std::size_t d, std::size_t t) { chip_bar.update(d, t); },
                          ImageLimits{}, [](const cv::Mat& m) { return simulate_chip_photo(m); });
  }
  for (const auto& it : s.items) s.fte += it.descriptor ? 0 : 1;
  for (const auto& it : chips) s.fte_chip += it.descriptor ? 0 : 1;
  constexpr float kRejected = -std::numeric_limits<float>::infinity();
  for (const auto& p : s.list.pairs) {
    const auto& x = (a.id_portrait ? chips : s.items)[static_cast<std::size_t>(p.a)];
    const auto& y = s.items[static_cast<std::size_t>(p.b)];
    const float score = (x.descriptor && y.descriptor) ? similarity(*x.descriptor, *y.descriptor) : kRejected;
    (p.same ? s.genuine : s.impostor).push_back(score);
    (p.same ? s.genuine_flagged : s.impostor_flagged).push_back(!x.quality.empty() || !y.quality.empty());
  }
  return s;
}

nlohmann::json metrics_json(const Scored& s, const Metrics& m) {
  nlohmann::json tar = nlohmann::json::object();
  for (const auto& r : m.tar_at_far)
    tar[far_key(r.far)] = {{"tar", r.tar}, {"threshold", r.threshold}, {"impostor_pairs", r.impostor_pairs},
                           {"supported", r.supported}};
  nlohmann::json failures = nlohmann::json::array();
  for (std::size_t i = 0; i < s.items.size(); ++i)
    if (!s.items[i].descriptor)
      failures.push_back({{"image", s.list.images[i].string()}, {"code", s.items[i].error ? s.items[i].error->code() : "UNKNOWN"}});
  const auto images = static_cast<double>(s.items.size());
  // How often each quality check fires on this data (what routing to REVIEW would cost).
  nlohmann::json by_reason = nlohmann::json::object();
  long long flagged = 0;
  for (const auto& it : s.items) {
    flagged += it.quality.empty() ? 0 : 1;
    for (Reason r : it.quality) by_reason[std::string(code(r))] = by_reason.value(std::string(code(r)), 0) + 1;
  }
  return {{"quality", {{"flagged_images", flagged}, {"by_reason", by_reason}}},
          {"fte_chip_copies", s.fte_chip},
          {"data", s.data},
          {"model", s.model},
          {"pairs", {{"total", m.genuine + m.impostor}, {"genuine", m.genuine}, {"impostor", m.impostor}}},
          {"images", s.items.size()},
          {"fte", {{"count", s.fte}, {"rate", images > 0 ? static_cast<double>(s.fte) / images : 0.0}, {"failures", failures}}},
          {"eer", m.eer},
          {"eer_threshold", m.eer_threshold},
          {"best_accuracy", m.best_accuracy},
          {"best_accuracy_threshold", m.best_accuracy_threshold},
          {"tar_at_far", tar}};
}

void print_metrics_text(const Scored& s, const Metrics& m) {
  std::cout << "data: " << s.data << "\nmodel: " << s.model << "\n"
            << "images: " << s.items.size() << ", failure to enrol: " << s.fte << " (" << std::fixed
            << std::setprecision(2) << (s.items.empty() ? 0.0 : 100.0 * s.fte / s.items.size()) << "%)\n"
            << "quality flags: " << [&] {
                 long long n = 0;
                 for (const auto& it : s.items) n += it.quality.empty() ? 0 : 1;
                 return n;
               }() << " images\n"
            << "pairs: " << m.genuine << " genuine, " << m.impostor << " impostor\n"
            << std::setprecision(4) << "EER: " << m.eer << " (threshold " << m.eer_threshold << ")\n"
            << "best accuracy: " << m.best_accuracy << " (threshold " << m.best_accuracy_threshold << ")\n";
  std::cout << "  FAR       TAR      threshold  impostor pairs\n";
  for (const auto& r : m.tar_at_far)
    std::cout << "  " << std::left << std::setw(9) << far_key(r.far) << std::right << std::setw(7) << std::setprecision(4)
              << r.tar << "  " << std::setw(9) << r.threshold << "  " << r.impostor_pairs
              << (r.supported ? "" : "  (too few impostor pairs to measure)") << "\n";
}

int run_eval(const Context& ctx, const EvalArgs& a) {
  auto s = score_pairs(ctx, a);
  if (!s) return report_error(s.error(), a.json);
  const Metrics m = compute_metrics(s->genuine, s->impostor, a.fars);
  if (!a.plot.empty()) {
    Series roc{s->model + " (EER " + std::to_string(m.eer).substr(0, 6) + ")", {}};
    for (const auto& p : m.roc) roc.points.emplace_back(p.far, p.tar);
    const double min_far = m.impostor > 0 ? std::max(1e-6, 1.0 / static_cast<double>(m.impostor)) : 1e-4;
    PlotSpec spec{"ROC: " + s->data, "false accept rate", "true accept rate", true,
                  std::pow(10.0, std::floor(std::log10(min_far))), 1.0, 0.0, 1.0};
    if (auto st = write_plot(a.plot, spec, {roc}); !st) return report_error(st.error(), a.json);
  }
  if (!a.calibration_out.empty()) {
    CalibrationTable t = make_calibration(s->model, s->genuine, s->impostor, {1e-2, 1e-3, 1e-4, 1e-5});
    t.data = s->data;
    t.command = "simkyc calibrate --embedder " + a.embedder + " " +
                (a.folders.empty() ? a.pairs : "--folders " + a.folders);
    t.created = today();
    std::ofstream f(a.calibration_out);
    if (!(f << to_json(t).dump(2) << "\n"))
      return report_error(make_error(Reason::kIoError, "cannot write " + a.calibration_out), a.json);
  }
  // Operating points at the thresholds of a calibration table (default: the shipped one): the
  // false-match rate actually reached on this data (NISTIR 8280's demographic differential), and
  // what routing pairs with a quality problem to REVIEW costs and gains.
  nlohmann::json ops = nlohmann::json::array();
  auto table = load_calibration(a.calibration.empty() ? default_calibration_path(ctx.model_dir, s->model)
                                                      : std::filesystem::path(a.calibration));
  if (table && table_fits(*table, s->model)) {
    for (double fmr : {1e-3, 1e-4}) {
      auto t = table->threshold_for(fmr);
      if (!t) continue;
      auto rate = [&](const std::vector<float>& v, const std::vector<bool>& flagged, bool skip_flagged) {
        long long n = 0, hit = 0;
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (skip_flagged && flagged[i]) continue;
          ++n;
          hit += v[i] >= *t ? 1 : 0;
        }
        return n > 0 ? static_cast<double>(hit) / static_cast<double>(n) : 0.0;
      };
      const auto flagged_share = [](const std::vector<bool>& f) {
        return f.empty() ? 0.0 : static_cast<double>(std::count(f.begin(), f.end(), true)) / static_cast<double>(f.size());
      };
      ops.push_back({{"target_fmr", fmr},
                     {"threshold", *t},
                     {"fmr_reached", rate(s->impostor, s->impostor_flagged, false)},
                     {"tar", rate(s->genuine, s->genuine_flagged, false)},
                     {"with_quality_review",
                      {{"fmr", rate(s->impostor, s->impostor_flagged, true)},
                       {"tar", rate(s->genuine, s->genuine_flagged, true)},
                       {"review_rate_genuine", flagged_share(s->genuine_flagged)},
                       {"review_rate_impostor", flagged_share(s->impostor_flagged)}}}});
    }
  }
  // Straight-through rate (issue 11): what the service's policy (src/policy/decision.h) decides for
  // each pair with the shipped defaults: PASS at the channel's FMR (counter 1e-4, online 1e-5),
  // REVIEW between that and the 1e-3 review threshold or when either face fails a quality check,
  // FAIL below (liveness and document rules aside).  Pairs with a face not found count as FAIL.
  nlohmann::json straight = nlohmann::json::object();
  if (table && table_fits(*table, s->model)) {
    const ServiceConfig defaults;   // simkyc serve's defaults
    auto review_t = table->threshold_for(defaults.review_fmr);
    for (const auto& [channel, fmr] : defaults.channel_fmr) {
      auto pass_t = table->threshold_for(fmr);
      if (!pass_t || !review_t) continue;
      PolicyConfig pc;
      pc.target_fmr = fmr;
      pc.review_fmr = std::max(defaults.review_fmr, fmr);
      auto shares = [&](const std::vector<float>& v, const std::vector<bool>& flagged) {
        double n[3] = {0, 0, 0};
        for (std::size_t i = 0; i < v.size(); ++i) {
          MatchInput mi;
          if (flagged[i]) mi.live_quality = {Reason::kQualityReview};
          mi.score = v[i];
          mi.pass_threshold = *pass_t;
          mi.review_threshold = std::min(*pass_t, *review_t);
          n[static_cast<int>(decide(mi, pc).decision)] += 1;
        }
        const double total = std::max<double>(1, static_cast<double>(v.size()));
        return nlohmann::json{{"pass", n[0] / total}, {"review", n[1] / total}, {"fail", n[2] / total}};
      };
      straight[channel] = {{"target_fmr", fmr}, {"review_fmr", pc.review_fmr}, {"pass_threshold", *pass_t},
                           {"review_threshold", std::min(*pass_t, *review_t)},
                           {"genuine", shares(s->genuine, s->genuine_flagged)},
                           {"impostor", shares(s->impostor, s->impostor_flagged)}};
    }
  }
  if (a.json) {
    auto j = metrics_json(*s, m);
    j["calibrated"] = {{"table", table ? table->data : ""}, {"points", ops}};
    j["straight_through"] = straight;
    print_json(j);
  } else {
    print_metrics_text(*s, m);
    for (const auto& o : ops)
      std::cout << "at the calibrated threshold for FMR " << o["target_fmr"].get<double>() << ": FMR reached "
                << o["fmr_reached"].get<double>() << ", TAR " << o["tar"].get<double>() << "\n";
    for (const auto& [channel, st] : straight.items())
      std::cout << "straight-through, " << channel << " (PASS at FMR " << st["target_fmr"].get<double>()
                << ", REVIEW from " << st["review_fmr"].get<double>() << "): genuine PASS "
                << st["genuine"]["pass"].get<double>() << " REVIEW " << st["genuine"]["review"].get<double>()
                << " FAIL " << st["genuine"]["fail"].get<double>() << "; impostor PASS "
                << st["impostor"]["pass"].get<double>() << "\n";
  }
  return 0;
}

void add_source_options(CLI::App* c, EvalArgs& a) {
  c->add_option("pairs", a.pairs, "Pair list: `path1 path2 label` lines or file_x,file_y,Decision CSV");
  c->add_option("--embedder", a.embedder, "Embedder model id (dlib_resnet_v1, dlib_resnet_onnx_v1, dlib_resnet_xnn_v1, faceres_v1, faceres_xnn_v1, mobilefacenet_v1, fr_feature_v1, mfn_expo_v1, fusion_...; default: the one decisions are made with)")
      ->capture_default_str();
  c->add_option("--detector", a.detector, "Detector: hog, mmod, blazeface, blazeface_xnn_v1, fr_detect, dlib_recipe (the face_recognition baseline), or a cascade FIRST+FALLBACK (fr_detect+mmod, hog+mmod)")->capture_default_str();
  c->add_option("--folders", a.folders, "Folder with one sub-folder per person: all genuine and impostor pairs")
      ->check(CLI::ExistingDirectory);
  c->add_option("--threads", a.threads, "Worker threads (default: all cores)");
  c->add_option("--calibration", a.calibration, "Calibration table for the operating points (default: the shipped one)")
      ->check(CLI::ExistingFile);
}

}  // namespace

void add_eval_commands(CLI::App& app, Context& ctx) {
  static EvalArgs ev;
  auto* e = app.add_subcommand("eval", "Accuracy on a pair list or labelled folders: FTE, EER, TAR at FAR, ROC");
  add_source_options(e, ev);
  e->add_option("--plot", ev.plot, "Write the ROC curve (.svg or .png)");
  e->add_option("--far", ev.fars, "FARs at which to report TAR")->capture_default_str();
  e->add_option("--calibration-out", ev.calibration_out, "Also write a calibration table (JSON)");
  e->add_flag("--id-portrait", ev.id_portrait,
              "Use the first image of each pair as a document chip photo (102x126, JPEG quality 75)");
  e->add_flag("--json", ev.json, "Print JSON (pairs, fte, eer, best_accuracy, tar_at_far)");
  e->callback([&ctx] { ctx.exit_code = run_eval(ctx, ev); });

  static EvalArgs cal;
  auto* c = app.add_subcommand("calibrate",
                               "Make a FMR->threshold calibration table (1e-2..1e-5) from a pair list or folders");
  add_source_options(c, cal);
  c->add_option("--out", cal.calibration_out, "Table to write (JSON)")->required();
  c->add_flag("--json", cal.json, "Print the evaluation as JSON");
  c->callback([&ctx] { ctx.exit_code = run_eval(ctx, cal); });
}

}  // namespace simkyc::cli
