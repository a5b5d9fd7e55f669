// train_liveness — trains the passive liveness model "lbp_svm_v1" (src/liveness/passive_lbp.h):
// colour-texture LBP features of each face crop, a linear SVM (dlib svm_c_linear_trainer) with
// C chosen by subject-disjoint cross-validation, and a Platt map of the SVM output to [0, 1]
// fitted on the cross-validated scores.  The calibration table (BPCER -> threshold) is also made
// from the cross-validated scores, so it does not rest on scores of images the model was fit to.
//
//   train_liveness --models models --root DATA --list tools/liveness/nuaa-dev-train.txt
//       --out models/liveness/lbp_svm_v1.json --calibration-out models/liveness/lbp_svm_v1.calibration.json
//
// List file: one image per line, "live PATH" or "attack PATH", PATH relative to --root; the
// subject (for the cross-validation folds) is the name of the image's folder.  '#' comments.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <dlib/svm.h>
#include <nlohmann/json.hpp>

#include "face/detector.h"
#include "image/image.h"
#include "liveness/pad.h"
#include "liveness/passive_lbp.h"

namespace {

using namespace simkyc;
using Sample = dlib::matrix<double, 0, 1>;

struct Item {
  std::string path, subject;
  bool attack = false;
  std::vector<float> x;   // empty: no face found
};

Result<std::vector<Item>> read_list(const std::string& list, const std::string& root) {
  std::ifstream f(list);
  if (!f) return make_error(Reason::kIoError, "cannot read " + list);
  std::vector<Item> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string label, rel;
    in >> label >> rel;
    if ((label != "live" && label != "attack") || rel.empty()) return make_error(Reason::kUsage, "bad line: " + line);
    Item it;
    it.path = (std::filesystem::path(root) / rel).string();
    it.subject = std::filesystem::path(rel).parent_path().filename().string();
    it.attack = label == "attack";
    out.push_back(std::move(it));
  }
  return out;
}

struct Standardizer {
  std::vector<float> mean, inv_std;
};

Standardizer fit_standardizer(const std::vector<const Item*>& items) {
  const std::size_t d = lbp_feature_length();
  std::vector<double> s(d, 0), s2(d, 0);
  for (const auto* it : items)
    for (std::size_t i = 0; i < d; ++i) {
      s[i] += it->x[i];
      s2[i] += static_cast<double>(it->x[i]) * it->x[i];
    }
  Standardizer z;
  const double n = std::max<double>(1, static_cast<double>(items.size()));
  for (std::size_t i = 0; i < d; ++i) {
    const double m = s[i] / n, var = std::max(0.0, s2[i] / n - m * m);
    z.mean.push_back(static_cast<float>(m));
    z.inv_std.push_back(static_cast<float>(1.0 / std::sqrt(var + 1e-6)));
  }
  return z;
}

Sample to_sample(const Item& it, const Standardizer& z) {
  Sample s(static_cast<long>(it.x.size()));
  for (std::size_t i = 0; i < it.x.size(); ++i) s(static_cast<long>(i)) = (it.x[i] - z.mean[i]) * z.inv_std[i];
  return s;
}

struct Linear {
  Standardizer z;
  std::vector<float> w;
  float bias = 0;
  double score(const Item& it) const {
    double s = bias;
    for (std::size_t i = 0; i < w.size(); ++i) s += static_cast<double>(w[i]) * (it.x[i] - z.mean[i]) * z.inv_std[i];
    return s;
  }
};

// Attack = +1.  Classes weighted so each carries the same total C.
Linear train(const std::vector<const Item*>& items, double c) {
  Linear m;
  m.z = fit_standardizer(items);
  std::vector<Sample> xs;
  std::vector<double> ys;
  double attacks = 0;
  for (const auto* it : items) {
    xs.push_back(to_sample(*it, m.z));
    ys.push_back(it->attack ? 1.0 : -1.0);
    attacks += it->attack ? 1 : 0;
  }
  const double lives = static_cast<double>(items.size()) - attacks;
  dlib::svm_c_linear_trainer<dlib::linear_kernel<Sample>> trainer;
  trainer.set_c_class1(c * static_cast<double>(items.size()) / (2 * std::max(1.0, attacks)));
  trainer.set_c_class2(c * static_cast<double>(items.size()) / (2 * std::max(1.0, lives)));
  trainer.set_epsilon(1e-4);
  trainer.set_max_iterations(20000);
  const auto df = trainer.train(xs, ys);
  const Sample& w = df.basis_vectors(0);
  for (long i = 0; i < w.size(); ++i) m.w.push_back(static_cast<float>(w(i) * df.alpha(0)));
  m.bias = static_cast<float>(-df.b);
  return m;
}

// Logistic fit p = 1/(1+exp(-(a s + b))) to labels y by Newton's method (Platt scaling).
std::pair<double, double> fit_platt(const std::vector<double>& s, const std::vector<int>& y) {
  double a = 1, b = 0;
  for (int iter = 0; iter < 100; ++iter) {
    double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const double p = 1 / (1 + std::exp(-(a * s[i] + b)));
      const double e = p - y[i], v = p * (1 - p);
      ga += e * s[i];
      gb += e;
      haa += v * s[i] * s[i];
      hab += v * s[i];
      hbb += v;
    }
    const double det = haa * hbb - hab * hab;
    if (std::abs(det) < 1e-12) break;
    const double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (std::abs(da) + std::abs(db) < 1e-9) break;
  }
  return {a, b};
}

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train the passive liveness model lbp_svm_v1 (see docs/liveness.md)"};
  std::string models = "models", root, list, out, cal_out;
  int threads = 2;
  std::vector<double> cs = {0.001, 0.01, 0.1, 1.0};
  app.add_option("--models", models, "Model directory (face detector)")->capture_default_str();
  app.add_option("--root", root, "Folder the list's paths are relative to")->required();
  app.add_option("--list", list, "Training list: 'live|attack PATH' lines")->required();
  app.add_option("--out", out, "Weights to write (JSON)")->required();
  app.add_option("--calibration-out", cal_out, "Calibration table to write (JSON)");
  app.add_option("--threads", threads, "Worker threads")->capture_default_str();
  app.add_option("--c", cs, "SVM C values tried by cross-validation")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto items = read_list(list, root);
  if (!items) {
    std::cerr << items.error().describe() << "\n";
    return 2;
  }
  auto det = make_cascade_detector(models, DetectorConfig{});
  if (!det) {
    std::cerr << det.error().describe() << "\n";
    return 2;
  }
  // Features, in parallel.
  std::atomic<std::size_t> next{0}, done{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t)
    pool.emplace_back([&, d = (*det)->clone()] {
      for (std::size_t i; (i = next++) < items->size();) {
        auto& it = (*items)[i];
        auto img = load_image(it.path);
        if (img) {
          auto boxes = d->detect(img->bgr);
          if (boxes && !boxes->empty()) it.x = lbp_features(face_crop(img->bgr, boxes->front()));
        }
        if (++done % 100 == 0) std::cerr << "features " << done << "/" << items->size() << "\n";
      }
    });
  for (auto& t : pool) t.join();
  std::vector<const Item*> usable;
  std::map<std::string, int> subjects;
  for (const auto& it : *items)
    if (!it.x.empty()) {
      usable.push_back(&it);
      ++subjects[it.subject];
    }
  constexpr std::size_t kFolds = 6;
  std::map<std::string, std::size_t> fold_of;
  for (const auto& [subject, count] : subjects) fold_of[subject] = fold_of.size() % kFolds;
  const std::size_t folds = std::min(kFolds, subjects.size());
  std::cerr << usable.size() << " of " << items->size() << " images with a face, " << subjects.size() << " subjects\n";
  if (subjects.size() < 2) {
    std::cerr << "need at least two subjects for cross-validation\n";
    return 2;
  }

  // Subject-disjoint cross-validation for each C: subjects (sorted by name) are dealt round-robin
// into at most kFolds folds, so every subject's images are scored by a model that never saw them
// (with <= kFolds subjects this is leave-one-subject-out).
  double best_eer = 2, best_c = cs.front();
  std::vector<double> best_scores;
  std::vector<int> labels;
  for (const auto* it : usable) labels.push_back(it->attack ? 1 : 0);
  for (double c : cs) {
    std::vector<double> scores(usable.size());
    for (std::size_t fold = 0; fold < folds; ++fold) {
      std::vector<const Item*> tr;
      for (const auto* it : usable)
        if (fold_of[it->subject] != fold) tr.push_back(it);
      const Linear m = train(tr, c);
      for (std::size_t i = 0; i < usable.size(); ++i)
        if (fold_of[usable[i]->subject] == fold) scores[i] = m.score(*usable[i]);
    }
    std::vector<float> live, attack;
    for (std::size_t i = 0; i < usable.size(); ++i) (labels[i] ? attack : live).push_back(static_cast<float>(scores[i]));
    const auto pm = compute_pad_metrics(live, attack, 0.f);
    std::cerr << "C=" << c << "  cross-validated EER " << pm.eer << "  ACER@0 " << pm.acer << "  BPCER@APCER5% "
              << pm.bpcer_at_apcer[1].bpcer << "\n";
    if (pm.eer < best_eer - 1e-9) {
      best_eer = pm.eer;
      best_c = c;
      best_scores = scores;
    }
  }
  const auto [pa, pb] = fit_platt(best_scores, labels);
  std::cerr << "chosen C=" << best_c << " (EER " << best_eer << "), Platt a=" << pa << " b=" << pb << "\n";

  const Linear final_model = train(usable, best_c);
  LinearPadWeights w;
  w.id = "lbp_svm_v1";
  w.version = "1";
  w.trained_on = std::filesystem::path(list).filename().string() + " (" + std::to_string(usable.size()) + " images, " +
                 std::to_string(subjects.size()) + " subjects)";
  w.command = "train_liveness --root DATA --list " + list + " --out " + out;
  w.mean = final_model.z.mean;
  w.inv_std = final_model.z.inv_std;
  w.w = final_model.w;
  w.bias = final_model.bias;
  w.platt_a = static_cast<float>(pa);
  w.platt_b = static_cast<float>(pb);
  {
    std::ofstream f(out);
    if (!(f << to_json(w).dump() << "\n")) {
      std::cerr << "cannot write " << out << "\n";
      return 2;
    }
  }
  if (!cal_out.empty()) {
    std::vector<float> live, attack;
    for (std::size_t i = 0; i < usable.size(); ++i) {
      const float p = static_cast<float>(1 / (1 + std::exp(-(pa * best_scores[i] + pb))));
      (labels[i] ? attack : live).push_back(p);
    }
    PadCalibration cal = make_pad_calibration(w.id, live, attack, {0.01, 0.02, 0.05, 0.1, 0.2});
    cal.data = std::filesystem::path(list).filename().string() + " (subject-disjoint cross-validated scores)";
    cal.command = "train_liveness --list " + list + " --calibration-out " + cal_out;
    cal.created = today();
    std::ofstream f(cal_out);
    if (!(f << to_json(cal).dump(2) << "\n")) {
      std::cerr << "cannot write " << cal_out << "\n";
      return 2;
    }
  }
  std::cerr << "wrote " << out << "\n";
  return 0;
}
