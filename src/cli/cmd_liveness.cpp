// simkyc liveness eval | calibrate | check | challenge
#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/plot.h"
#include "cli/progress.h"
#include "core/file.h"
#include "liveness/engine.h"

namespace simkyc::cli {
namespace {

namespace fs = std::filesystem;

struct LabelledImage {
  fs::path path;
  bool attack = false;
  std::string type;      // attack type ("print", "screen"), "" for live or unknown
  std::string subject;   // the folder holding the image below live/ or attack/<type>/, "" if none
};

bool is_image(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* x : {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".webp", ".jp2"})
    if (e == x) return true;
  return false;
}

// Label and groups from a path's components: .../live/[subject/]file or
// .../attack/[type/[subject/]]file.  nullopt when neither live/ nor attack/ is in the path.
std::optional<LabelledImage> label_of(const fs::path& rel) {
  std::vector<std::string> parts;
  for (const auto& c : rel) parts.push_back(c.string());
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] != "live" && parts[i] != "attack") continue;
    LabelledImage li;
    li.attack = parts[i] == "attack";
    const std::vector<std::string> dirs(parts.begin() + static_cast<std::ptrdiff_t>(i) + 1, parts.end() - 1);
    if (li.attack && !dirs.empty()) li.type = dirs[0];
    const std::size_t subject_at = li.attack ? 1 : 0;
    if (dirs.size() > subject_at) li.subject = dirs.back();
    return li;
  }
  return std::nullopt;
}

// A folder (live/ and attack/ anywhere below) or a list file ("live|attack PATH" lines, PATH
// relative to `root`, default the list's folder).  Errors: kUsage, kIoError.
Result<std::vector<LabelledImage>> collect(const std::string& source, const std::string& root) {
  std::vector<LabelledImage> out;
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    for (auto it = fs::recursive_directory_iterator(source, fs::directory_options::follow_directory_symlink, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file() || !is_image(it->path())) continue;
      auto li = label_of(it->path().lexically_relative(source));
      if (!li) continue;
      li->path = it->path();
      out.push_back(std::move(*li));
    }
    if (ec) return make_error(Reason::kIoError, source + ": " + ec.message());
  } else {
    auto text = read_text_file(source, 64u << 20);
    if (!text) return text.error();
    const fs::path base = root.empty() ? fs::path(source).parent_path() : fs::path(root);
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string label, rel;
      ls >> label >> rel;
      if ((label != "live" && label != "attack") || rel.empty()) return make_error(Reason::kUsage, "bad list line: " + line);
      LabelledImage li = label_of(rel).value_or(LabelledImage{});
      li.attack = label == "attack";
      li.path = base / rel;
      out.push_back(std::move(li));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  if (out.empty()) return make_error(Reason::kUsage, source + ": no images under live/ or attack/");
  return out;
}

struct LivenessArgs {
  std::string source, root, plot, calibration_out, model = "lbp_svm_v1", calibration;
  double bpcer = 0.05;
  float threshold = -1.f;
  int threads = 0;
  bool json = false;
  // check / challenge
  std::string image, actions;
  std::vector<std::string> frames;
  std::vector<std::int64_t> ts;
  double fps = 10;
};

LivenessConfig engine_config(const LivenessArgs& a, bool need_threshold) {
  LivenessConfig c;
  c.passive.model = a.model;
  c.passive.target_bpcer = a.bpcer;
  c.passive.threshold = need_threshold ? a.threshold : 0.5f;
  c.passive.calibration = a.calibration;
  return c;
}

std::string key2(double x) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

struct Scores {
  std::vector<float> live, attack;
};

nlohmann::json rates_json(const Scores& s, float t) {
  const auto m = compute_pad_metrics(s.live, s.attack, t, {});
  nlohmann::json j = {{"live", m.live}, {"attack", m.attack}};
  if (m.attack) j["apcer"] = m.apcer;
  if (m.live) j["bpcer"] = m.bpcer;
  if (m.attack && m.live) j["acer"] = m.acer;
  return j;
}

int run_eval(const Context& ctx, const LivenessArgs& a, bool calibrate) {
  auto items = collect(a.source, a.root);
  if (!items) return report_error(items.error(), a.json);
  auto engine = LivenessEngine::load(ctx.model_dir, engine_config(a, !calibrate));
  if (!engine) return report_error(engine.error(), a.json);
  const int threads = a.threads > 0 ? a.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::optional<float>> score(items->size());
  std::vector<std::string> failure(items->size());
  {
    ProgressBar bar("scoring " + std::to_string(items->size()) + " images");
    std::atomic<std::size_t> next{0}, done{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        for (std::size_t i; (i = next++) < items->size();) {
          auto img = load_image((*items)[i].path);
          if (!img) failure[i] = std::string(img.error().code());
          else if (auto s = (*engine)->attack_score(img->bgr); s) score[i] = *s;
          else failure[i] = std::string(s.error().code());
          bar.update(++done, items->size());
        }
      });
    for (auto& t : pool) t.join();
  }
  Scores all;
  std::map<std::string, Scores> by_type, by_subject, by_folder;
  long long fail_live = 0, fail_attack = 0;
  const fs::path base = fs::is_directory(a.source) ? fs::path(a.source)
                        : a.root.empty()           ? fs::path(a.source).parent_path()
                                                   : fs::path(a.root);
  nlohmann::json failures = nlohmann::json::array();
  for (std::size_t i = 0; i < items->size(); ++i) {
    const auto& it = (*items)[i];
    if (!score[i]) {
      (it.attack ? fail_attack : fail_live) += 1;
      failures.push_back({{"image", it.path.string()}, {"code", failure[i]}});
      continue;
    }
    const float s = *score[i];
    (it.attack ? all.attack : all.live).push_back(s);
    if (it.attack && !it.type.empty()) by_type[it.type].attack.push_back(s);
    if (!it.subject.empty()) (it.attack ? by_subject[it.subject].attack : by_subject[it.subject].live).push_back(s);
    const std::string folder = it.path.parent_path().lexically_relative(base).string();
    (it.attack ? by_folder[folder].attack : by_folder[folder].live).push_back(s);
  }
  const float t = (*engine)->threshold();
  const auto m = compute_pad_metrics(all.live, all.attack, t, {0.01, 0.05, 0.10});
  const std::string model = (*engine)->model_info().name;

  if (calibrate || !a.calibration_out.empty()) {
    const std::string out = a.calibration_out;
    PadCalibration cal = make_pad_calibration(model, all.live, all.attack, {0.01, 0.02, 0.05, 0.1, 0.2});
    cal.data = a.source;
    cal.command = "simkyc liveness calibrate " + a.source + (a.root.empty() ? "" : " --root " + a.root);
    cal.created = today();
    std::ofstream f(out);
    if (!(f << to_json(cal).dump(2) << "\n")) return report_error(make_error(Reason::kIoError, "cannot write " + out), a.json);
  }
  if (!a.plot.empty()) {
    std::vector<Series> series;
    Series det{model + " (EER " + std::to_string(m.eer).substr(0, 5) + ")", {}};
    const double x_min = all.attack.empty() ? 1e-3 : std::pow(10.0, std::floor(std::log10(1.0 / static_cast<double>(all.attack.size()))));
    for (const auto& [ap, bp] : m.det) det.points.emplace_back(std::max(ap, x_min), bp);
    series.push_back(det);
    if (by_type.size() > 1)
      for (const auto& [type, s] : by_type) {
        const auto mt = compute_pad_metrics(all.live, s.attack, t, {});
        Series st{"attack type " + type, {}};
        for (const auto& [ap, bp] : mt.det) st.points.emplace_back(std::max(ap, x_min), bp);
        series.push_back(st);
      }
    PlotSpec spec{"DET: " + a.source, "APCER (attacks accepted)", "BPCER (real faces refused)", true, x_min, 1.0, 0.0, 1.0};
    if (auto st = write_plot(a.plot, spec, series); !st) return report_error(st.error(), a.json);
  }

  nlohmann::json at = nlohmann::json::object();
  for (const auto& r : m.bpcer_at_apcer)
    at[key2(r.apcer_target)] = {{"bpcer", r.bpcer}, {"threshold", r.threshold}, {"supported", r.supported}};
  nlohmann::json types = nlohmann::json::object(), subjects = nlohmann::json::object(), folders = nlohmann::json::object();
  double apcer_max = 0;
  for (const auto& [k, s] : by_type) {
    types[k] = rates_json({all.live, s.attack}, t);
    types[k].erase("live");
    types[k].erase("bpcer");
    types[k].erase("acer");
    apcer_max = std::max(apcer_max, types[k].value("apcer", 0.0));
  }
  for (const auto& [k, s] : by_subject) subjects[k] = rates_json(s, t);
  for (const auto& [k, s] : by_folder) folders[k] = rates_json(s, t);
  const nlohmann::json j = {
      {"data", a.source}, {"model", model}, {"threshold", t},
      {"threshold_from", a.threshold >= 0 ? "--threshold" : "calibration at target BPCER " + std::to_string(a.bpcer)},
      {"live", m.live}, {"attack", m.attack},
      {"no_face", {{"live", fail_live}, {"attack", fail_attack}, {"failures", failures}}},
      {"apcer", m.apcer}, {"bpcer", m.bpcer}, {"acer", m.acer}, {"apcer_max_type", apcer_max},
      {"eer", m.eer}, {"eer_threshold", m.eer_threshold}, {"bpcer_at_apcer", at},
      {"by_attack_type", types}, {"by_subject", subjects}, {"by_folder", folders}};
  if (a.json) {
    print_json(j);
    return 0;
  }
  std::cout << std::fixed << std::setprecision(4) << "data: " << a.source << "\nmodel: " << model << "\nimages: "
            << m.live << " live, " << m.attack << " attack; no face: " << fail_live << " live, " << fail_attack
            << " attack\nthreshold: " << t << " (" << j["threshold_from"].get<std::string>() << ")\n"
            << "APCER " << m.apcer << "  BPCER " << m.bpcer << "  ACER " << m.acer << "  EER " << m.eer << "\n";
  for (const auto& r : m.bpcer_at_apcer)
    std::cout << "BPCER at APCER " << key2(r.apcer_target) << ": " << r.bpcer << (r.supported ? "" : " (too few attacks)") << "\n";
  auto print_group = [](const std::string& title, const nlohmann::json& g) {
    if (g.empty()) return;
    std::cout << title << ":\n";
    for (const auto& [k, v] : g.items()) {
      std::cout << "  " << std::left << std::setw(24) << k << std::right;
      for (const char* f : {"live", "attack", "apcer", "bpcer", "acer"})
        if (v.contains(f)) std::cout << "  " << f << " " << v[f].dump();
      std::cout << "\n";
    }
  };
  print_group("by attack type", types);
  print_group("by subject", subjects);
  return 0;
}

int run_check(const Context& ctx, const LivenessArgs& a) {
  auto img = load_image(a.image);
  if (!img) return report_error(img.error(), a.json);
  auto engine = LivenessEngine::load(ctx.model_dir, engine_config(a, true));
  if (!engine) return report_error(engine.error(), a.json);
  auto r = (*engine)->check_passive(img->bgr);
  if (!r) return report_error(r.error(), a.json);
  const std::vector<Reason> reasons = r->attack ? std::vector<Reason>{Reason::kLivenessAttackSuspected} : std::vector<Reason>{};
  if (a.json) {
    print_json({{"live", !r->attack}, {"attack_score", r->score}, {"threshold", r->threshold},
                {"model", (*engine)->model_info().name}, {"reasons", reasons_json(reasons)}});
  } else {
    std::cout << (r->attack ? "ATTACK" : "LIVE") << "  score " << r->score << "  threshold " << r->threshold << "\n";
  }
  return r->attack ? 1 : 0;
}

int run_challenge(const Context& ctx, const LivenessArgs& a) {
  ChallengeSpec spec;
  std::stringstream ss(a.actions);
  for (std::string tok; std::getline(ss, tok, ',');) {
    auto act = action_from_string(tok);
    if (!act) return report_error(make_error(Reason::kUsage, "unknown action '" + tok + "' (blink, turn_left, turn_right, nod)"), a.json);
    spec.actions.push_back(*act);
  }
  if (!a.ts.empty() && a.ts.size() != a.frames.size())
    return report_error(make_error(Reason::kUsage, "--ts needs one timestamp per frame"), a.json);
  std::vector<Bytes> bytes;
  std::vector<EncodedFrame> frames;
  for (std::size_t i = 0; i < a.frames.size(); ++i) {
    auto b = read_file_limited(a.frames[i], 20u << 20);
    if (!b) return report_error(b.error(), a.json);
    bytes.push_back(std::move(b.value()));
  }
  for (std::size_t i = 0; i < bytes.size(); ++i)
    frames.push_back({bytes[i], a.ts.empty() ? static_cast<std::int64_t>(std::llround(static_cast<double>(i) * 1000.0 / a.fps)) : a.ts[i]});
  auto engine = LivenessEngine::load(ctx.model_dir, engine_config(a, true));
  if (!engine) return report_error(engine.error(), a.json);
  auto rep = (*engine)->check_challenge(std::span<const EncodedFrame>(frames), spec);
  if (!rep) return report_error(rep.error(), a.json);
  const auto& r = rep->result;
  if (a.json) {
    nlohmann::json fr = nlohmann::json::array();
    for (const auto& f : rep->frames)
      fr.push_back({{"ts_ms", f.ts_ms}, {"face", f.face}, {"ear", f.ear}, {"yaw_deg", f.pose.yaw}, {"pitch_deg", f.pose.pitch}});
    nlohmann::json acts = nlohmann::json::array();
    for (std::size_t i = 0; i < spec.actions.size(); ++i)
      acts.push_back({{"action", to_string(spec.actions[i])}, {"frame", r.action_frames[i]}});
    print_json({{"passed", r.passed}, {"reasons", reasons_json(r.reasons)}, {"actions", acts},
                {"passive", {{"attack_score", rep->passive.score}, {"threshold", rep->passive.threshold}, {"frames", rep->passive.frames}}},
                {"ear_baseline", r.ear_baseline}, {"yaw_median", r.yaw_median}, {"min_similarity", r.min_similarity},
                {"frames", fr}, {"ms", rep->ms}});
  } else {
    std::cout << (r.passed ? "PASSED" : "FAILED") << "\n";
    for (std::size_t i = 0; i < spec.actions.size(); ++i)
      std::cout << "  " << to_string(spec.actions[i]) << ": " << (r.action_frames[i] >= 0 ? "frame " + std::to_string(r.action_frames[i]) : "not found") << "\n";
    for (Reason x : r.reasons) std::cout << "  " << code(x) << ": " << info(x).hint << "\n";
  }
  return r.passed ? 0 : 1;
}

void add_model_options(CLI::App* c, LivenessArgs& a) {
  c->add_option("--model", a.model, "Passive model id (lbp_svm_v1, antispoof_v1)")->capture_default_str();
  c->add_option("--bpcer", a.bpcer, "Target BPCER: the threshold comes from the model's calibration table")
      ->capture_default_str()->check(CLI::Range(1e-4, 0.5));
  c->add_option("--threshold", a.threshold, "Attack-score threshold (overrides --bpcer)");
  c->add_option("--calibration", a.calibration, "Calibration table (default: the model's shipped one)");
  c->add_flag("--json", a.json, "Print JSON");
}

}  // namespace

void add_liveness_commands(CLI::App& app, Context& ctx) {
  auto* l = app.add_subcommand("liveness", "Liveness: passive attack detection and the active challenge");
  l->require_subcommand(1);

  static LivenessArgs ev;
  auto* e = l->add_subcommand("eval", "APCER, BPCER, ACER, BPCER at APCER 1/5/10%, DET plot, per attack type and subject");
  e->add_option("source", ev.source, "Folder with live/ and attack/ anywhere below, or a list file ('live|attack PATH')")->required();
  e->add_option("--root", ev.root, "List file: folder its paths are relative to (default: the list's folder)");
  e->add_option("--plot", ev.plot, "Write the DET curve (.svg or .png)");
  e->add_option("--calibration-out", ev.calibration_out, "Also write a calibration table (BPCER -> threshold)");
  e->add_option("--threads", ev.threads, "Worker threads (default: all cores)");
  add_model_options(e, ev);
  e->callback([&ctx] { ctx.exit_code = run_eval(ctx, ev, false); });

  static LivenessArgs cal;
  auto* c = l->add_subcommand("calibrate", "Make a BPCER -> threshold table for the passive model from labelled data");
  c->add_option("source", cal.source, "Folder with live/ and attack/ below, or a list file")->required();
  c->add_option("--root", cal.root, "List file: folder its paths are relative to");
  c->add_option("--out", cal.calibration_out, "Table to write (JSON)")->required();
  c->add_option("--threads", cal.threads, "Worker threads (default: all cores)");
  add_model_options(c, cal);
  c->callback([&ctx] { ctx.exit_code = run_eval(ctx, cal, true); });

  static LivenessArgs ck;
  auto* k = l->add_subcommand("check", "Passive check of one image: exit 0 live, 1 attack");
  k->add_option("image", ck.image, "Image")->required();
  add_model_options(k, ck);
  k->callback([&ctx] { ctx.exit_code = run_check(ctx, ck); });

  static LivenessArgs ch;
  auto* h = l->add_subcommand("challenge", "Evaluate challenge frames against asked actions: exit 0 passed, 1 failed");
  h->add_option("--actions", ch.actions, "Asked actions in order, e.g. blink,turn_left")->required();
  h->add_option("--ts", ch.ts, "Capture time of each frame, ms (default: from --fps)")->delimiter(',');
  h->add_option("--fps", ch.fps, "Frame rate when --ts is not given")->capture_default_str()->check(CLI::Range(0.1, 120.0));
  h->add_option("frames", ch.frames, "Frames in capture order")->required();
  add_model_options(h, ch);
  h->callback([&ctx] { ctx.exit_code = run_challenge(ctx, ch); });
}

}  // namespace simkyc::cli
